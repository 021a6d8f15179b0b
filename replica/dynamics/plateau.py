"""Plateau-then-drop detection on a generalization-error curve ``ε_g(τ)``.

Card ``ichikawa2025-ste-dynamics``, claim 2: training shows a plateau followed by a sharp drop,
whose length depends on the quantization range ω. :func:`plateau` measures it on the slope
``s(τ) = −dε_g/dτ`` of a smooth (theory) curve; the criterion is stated in its docstring.

References
----------
.. [1] Y. Ichikawa, S. Kashiwamura, A. Sakata, "High-Dimensional Learning Dynamics of Quantized
   Models with Straight-Through Estimator", arXiv:2510.10693 (2025); paper card
   ``ichikawa2025-ste-dynamics``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import check
from ..results import Compact

__all__ = ["Plateau", "plateau"]


@dataclass(frozen=True, kw_only=True)
class Plateau(Compact):
    """Plateau-then-drop summary of an error curve (see :func:`plateau`)."""

    found: bool
    length: float
    start: float
    end: float
    drop_time: float
    level: float
    drop: float


def plateau(trajectory=None, *, tau=None, eg=None, flat: float = 0.1) -> Plateau:
    """Detect a plateau followed by a sharp drop in ``ε_g(τ)``.

    Criterion: ``s(τ) = −dε_g/dτ`` (centred differences). The curve first flattens at the first
    time with ``|s| <= flat · max s`` (this skips an initial transient); the drop time is the
    time of the steepest decrease after that. The plateau is the interval ``[start, end]`` on
    which ``|s| <= flat · s(drop)``, with ``end`` the last such time before the drop and
    ``start`` reached by walking back while the condition holds; ``length = end − start``
    (0 and ``found=False`` when there is none, e.g. an error that only decays). ``level`` is ε_g at the plateau midpoint and ``drop`` the
    decrease of ε_g from the plateau end to the final value. Meant for smooth theory curves.

    Parameters
    ----------
    trajectory : object with ``tau`` and ``eg`` arrays, optional
    tau, eg : array_like, optional
        Used when no trajectory is given.
    flat : float
        Relative slope below which the curve counts as flat.
    """
    if trajectory is not None:
        tau, eg = trajectory.tau, trajectory.eg
    tau, eg = np.asarray(tau, dtype=float), np.asarray(eg, dtype=float)
    check(
        tau.ndim == 1 and tau.size >= 3 and tau.shape == eg.shape,
        "tau, eg",
        "1-D arrays of equal length >= 3",
        (tau.shape, eg.shape),
    )
    check(bool(np.all(np.isfinite(eg))), "eg", "finite values", eg)
    check(0 < flat < 1, "flat", "in (0, 1)", flat)
    s = -np.gradient(eg, tau)
    top = float(np.max(s))
    k0 = int(np.argmax(s))
    none = Plateau(
        found=False,
        length=0.0,
        start=float(tau[k0]),
        end=float(tau[k0]),
        drop_time=float(tau[k0]),
        level=float(eg[k0]),
        drop=float(eg[k0] - eg[-1]),
    )
    if top <= 0:
        return none
    calm0 = np.nonzero(np.abs(s) <= flat * top)[0]
    if calm0.size == 0:
        return none
    a = int(calm0[0])  # the curve first flattens here (after any initial transient)
    k = a + int(np.argmax(s[a:]))  # the steepest decrease after that: the drop
    if s[k] <= 0 or k == a:
        return none
    calm = np.abs(s) <= flat * s[k]
    before = np.nonzero(calm[a:k])[0]
    if before.size == 0:
        return none
    end = a + int(before[-1])
    start = end
    while start > 0 and calm[start - 1]:
        start -= 1
    if tau[end] <= tau[start]:
        return none
    mid = (start + end) // 2
    return Plateau(
        found=True,
        length=float(tau[end] - tau[start]),
        start=float(tau[start]),
        end=float(tau[end]),
        drop_time=float(tau[k]),
        level=float(eg[mid]),
        drop=float(eg[end] - eg[-1]),
    )
