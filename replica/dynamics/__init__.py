"""Learning dynamics of quantized models trained with the straight-through estimator.

* :mod:`replica.dynamics.ste`: the high-dimensional limit (order-parameter ODEs, the
  per-coordinate PDE, fixed points, stability, plateaus);
* :mod:`replica.dynamics.simulate`: finite-d STE training, vectorised over seeds.
"""

from __future__ import annotations

from .simulate import Simulation, simulate
from .ste import (
    Elementwise,
    FixedPoint,
    PDESolution,
    Plateau,
    STEProblem,
    Trajectory,
    closure_moments,
    drift,
    fixed_points,
    gibbs_density,
    jacobian,
    max_stable_lr,
    moment_derivatives,
    ode,
    pde,
    plateau,
)

__all__ = [
    "Elementwise",
    "FixedPoint",
    "PDESolution",
    "Plateau",
    "STEProblem",
    "Simulation",
    "Trajectory",
    "closure_moments",
    "drift",
    "fixed_points",
    "gibbs_density",
    "jacobian",
    "max_stable_lr",
    "moment_derivatives",
    "ode",
    "pde",
    "plateau",
    "simulate",
]
