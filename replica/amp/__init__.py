"""Finite-size validation of the replica theory: AMP, its state evolution, ensembles.

* :func:`run` — AMP on one instance (numpy, cupy or torch arrays; results stay on the device);
* :func:`state_evolution` — the SE recursion (Picard iteration of the RS map) and its fixed point;
* :func:`generate`, :func:`experiment` — teacher–student instances and ensembles over sizes and
  seeds with the finite-size extrapolation ``mse(N) = mse∞ + c/N``;
* :mod:`replica.amp.backend` — array backends (the only module naming cupy or torch).
"""

from __future__ import annotations

from . import backend
from .amp import AMPResult, Trajectory, prior_moments, run
from .experiment import Extrapolation, Instance, experiment, extrapolate, generate, size_means
from .state_evolution import SEResult, state_evolution

__all__ = [
    "AMPResult",
    "Extrapolation",
    "Instance",
    "SEResult",
    "Trajectory",
    "backend",
    "experiment",
    "extrapolate",
    "generate",
    "prior_moments",
    "run",
    "size_means",
    "state_evolution",
]
