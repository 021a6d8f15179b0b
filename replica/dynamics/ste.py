"""Former home of the STE limit, kept so that ``replica.dynamics.ste.<name>`` still works.

The limit now lives one concept per module: :mod:`~replica.dynamics.problem` (the problem and
its transforms), :mod:`~replica.dynamics.moments` (closure moments), :mod:`~replica.dynamics.ode`
(order-parameter ODEs), :mod:`~replica.dynamics.pde` (per-coordinate law),
:mod:`~replica.dynamics.fixed_points` (fixed points, stability, η_c, Gibbs law) and
:mod:`~replica.dynamics.plateau`. Import from :mod:`replica.dynamics`; nothing inside the
package imports this module.
"""

from __future__ import annotations

from .fixed_points import FixedPoint, fixed_points, gibbs_density, max_stable_lr
from .moments import closure_moments, moment_derivatives
from .ode import Trajectory, drift, jacobian, ode
from .pde import PDESolution, pde
from .plateau import Plateau, plateau
from .problem import Elementwise, STEProblem

__all__ = [
    "Elementwise",
    "FixedPoint",
    "PDESolution",
    "Plateau",
    "STEProblem",
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
]
