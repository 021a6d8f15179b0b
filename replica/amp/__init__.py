"""Finite-size validation of the replica theory: AMP, its state evolution, ensembles.

* :func:`vamp` — VAMP on one instance (any design: one SVD, two modules);
* :func:`run` — AMP on one instance (numpy, cupy or torch arrays; results stay on the device);
* :func:`state_evolution` — the SE recursion (Picard iteration of the RS map) and its fixed point;
* :func:`generate` — teacher–student instances (:mod:`replica.amp.instances`, below the
  algorithms);
* :func:`experiment` — ensembles over sizes and seeds with the finite-size extrapolation
  ``mse(N) = mse∞ + c/N``;
* :mod:`replica.amp.backend` — array backends (the only module naming cupy or torch).

Layers, bottom up: ``backend``, ``instances``, ``denoiser`` (grid-prior moments) and
``trajectory`` (the record AMP and SE share); then ``amp`` and ``state_evolution``; then
``experiment``. No module imports one above it.
"""

from __future__ import annotations

from . import backend
from .amp import AMPResult, run
from .denoiser import prior_moments
from .experiment import Extrapolation, experiment, extrapolate, size_means
from .instances import Instance, generate
from .state_evolution import SEResult, state_evolution
from .trajectory import Trajectory
from .vamp import vamp

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
    "vamp",
]
