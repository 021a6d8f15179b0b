"""Learning dynamics of quantized models trained with the straight-through estimator.

The high-dimensional limit, one concept per module:

* :mod:`replica.dynamics.problem`: the problem (:class:`STEProblem`) and smooth transforms;
* :mod:`replica.dynamics.moments`: closure moments of the quantized weights and derivatives;
* :mod:`replica.dynamics.ode`: order-parameter ODEs, their Jacobian, :class:`Trajectory`;
* :mod:`replica.dynamics.pde`: the per-coordinate law (particles or finite volumes);
* :mod:`replica.dynamics.fixed_points`: fixed points (exact, isotropic, Gibbs), stability, η_c;
* :mod:`replica.dynamics.plateau`: plateau-then-drop detection.

Finite d: :mod:`replica.dynamics.simulate`, STE training vectorised over seeds.
"""

from __future__ import annotations

from .fixed_points import FixedPoint, fixed_points, gibbs_density, max_stable_lr
from .moments import closure_moments, moment_derivatives
from .ode import Trajectory, drift, jacobian, ode
from .pde import PDESolution, pde
from .plateau import Plateau, plateau
from .problem import Elementwise, STEProblem
from .simulate import Simulation, simulate

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
