"""AT (de Almeida–Thouless) / replicon stability of a replica-symmetric solution.

RS is locally stable against replica-symmetry-breaking fluctuations iff

    AT ≡ (1/α) E[(∂_r f(r; A))²] = (A²/α) E[v(r; A)²] < 1,

the product of the energetic term's curvature in the replicon direction, α/(1+χ)²·β², and the
entropic one, E[(∂²_h ln Z)²]/β². At β = ∞ on a discrete grid ``∂_r f`` is a sum of delta
functions, so ``AT = ∞`` (RS is never stable in the ground state of a discrete model).

References
----------
J. R. L. de Almeida, D. J. Thouless, J. Phys. A 11, 983 (1978); Kashiwamura et al.,
arXiv:2401.17269 (AT condition for quantized regression).
"""

from __future__ import annotations

import math

__all__ = ["at_from_averages", "at_quantity"]


def at_from_averages(avg, alpha: float) -> float:
    """AT quantity from the channel averages (``avg.at_sum = E[(∂_r f)²]``)."""
    return avg.at_sum / alpha if math.isfinite(avg.at_sum) else math.inf


def at_quantity(model, delta: float, A: float) -> float:
    """AT quantity of ``model`` at the channel ``(Δ, A)`` (``A = inf`` for β = ∞)."""
    from .designs import gaussian_only

    gaussian_only(model, "at_quantity")
    from .channel import channel_averages

    ridge = model.beta * model.ridge if math.isfinite(A) else 0.0
    avg = channel_averages(model.quantizer.levels, model.teacher.mixture(), delta, A, ridge)
    return at_from_averages(avg, model.alpha)
