"""Unbiased stochastic quantization: noise models and real stochastic-rounding quantizers.

The SGD theories (Zhang, Su & Zou 2025; Zhang et al. 2026) only use the first two conditional
moments of the quantization error ``e = Q(u) − u``: ``E[e | u] = 0`` and

* additive (integer-like):          ``E[e eᵀ | u] = ε I``;
* multiplicative (float-like):      ``E[e eᵀ | u] = ε u uᵀ`` (``mode="rank_one"``) or
                                    ``ε diag(u_i²)`` (``mode="coordinate"``).

:class:`Additive` and :class:`Multiplicative` are these models, with Gaussian samplers that have
exactly these moments. :class:`IntRounding` and :class:`FloatRounding` are real stochastic-
rounding quantizers (b-bit integers with a scale, floats with m mantissa bits); they are unbiased,
report their exact conditional variance, and an *effective* ε that maps them onto the models.

The vector axis is the last axis of ``u``.

References
----------
D. Zhang, J. Su, D. Zou, "Learning under Quantization for High-Dimensional Linear Regression",
arXiv:2510.18259, Sec. 2 (noise models).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import check

__all__ = ["Additive", "FloatRounding", "IntRounding", "Multiplicative"]

MULTIPLICATIVE_MODES = ("rank_one", "coordinate")


def _check_eps(eps) -> float:
    ok = isinstance(eps, (int, float, np.floating, np.integer)) and not isinstance(eps, bool)
    check(ok and math.isfinite(eps) and eps >= 0, "eps", "a finite number >= 0", eps)
    return float(eps)


def _as_array(u) -> np.ndarray:
    u = np.asarray(u, dtype=float)
    if not np.all(np.isfinite(u)):
        raise ValueError("u: expected finite numbers, got an array containing NaN or inf")
    return u


class _Unbiased:
    """Shared interface: ``sample`` draws the error, ``quantize`` returns ``u + error``."""

    def sample(self, u, rng: np.random.Generator) -> np.ndarray:  # pragma: no cover - abstract
        """The error ``e`` of one quantization of ``u``, with ``E[e | u] = 0``."""
        raise NotImplementedError

    def quantize(self, u, rng: np.random.Generator) -> np.ndarray:
        """Quantized value ``u + e`` with ``E[e | u] = 0``."""
        u = _as_array(u)
        return u + self.sample(u, rng)


@dataclass(frozen=True, kw_only=True)
class Additive(_Unbiased):
    """Additive noise model, ``E[e eᵀ | u] = ε I`` (integer-like quantization).

    Examples
    --------
    >>> Additive(eps=1e-2).conditional_variance([3.0, -1.0]).tolist()
    [0.01, 0.01]
    """

    eps: float

    def __post_init__(self):
        object.__setattr__(self, "eps", _check_eps(self.eps))

    @property
    def kind(self) -> str:
        """``"additive"`` or ``"multiplicative"``: which noise model of the theory this is."""
        return "additive"

    def conditional_variance(self, u) -> np.ndarray:
        """Diagonal of ``E[e eᵀ | u]``."""
        return np.full(np.shape(u), self.eps)

    def second_moment(self, u) -> np.ndarray:
        """Full conditional covariance ``E[e eᵀ | u]`` over the last axis of ``u``."""
        u = _as_array(u)
        d = u.shape[-1]
        return np.broadcast_to(self.eps * np.eye(d), (*u.shape[:-1], d, d)).copy()

    def sample(self, u, rng: np.random.Generator) -> np.ndarray:
        """Gaussian error N(0, ε) per coordinate."""
        return math.sqrt(self.eps) * rng.standard_normal(np.shape(u))


@dataclass(frozen=True, kw_only=True)
class Multiplicative(_Unbiased):
    """Multiplicative noise model (floating-point-like quantization).

    ``mode="rank_one"``: ``E[e eᵀ | u] = ε u uᵀ`` (one relative error per vector);
    ``mode="coordinate"``: ``E[e eᵀ | u] = ε diag(u_i²)`` (independent relative errors).
    """

    eps: float
    mode: str = "rank_one"

    def __post_init__(self):
        object.__setattr__(self, "eps", _check_eps(self.eps))
        check(
            self.mode in MULTIPLICATIVE_MODES, "mode", f"one of {MULTIPLICATIVE_MODES}", self.mode
        )

    @property
    def kind(self) -> str:
        """``"additive"`` or ``"multiplicative"``: which noise model of the theory this is."""
        return "multiplicative"

    def conditional_variance(self, u) -> np.ndarray:
        """Diagonal of ``E[e eᵀ | u]`` (the same for both modes)."""
        u = _as_array(u)
        return self.eps * u * u

    def second_moment(self, u) -> np.ndarray:
        """Full conditional covariance ``E[e eᵀ | u]`` over the last axis of ``u``."""
        u = _as_array(u)
        if self.mode == "rank_one":
            return self.eps * u[..., :, None] * u[..., None, :]
        d = u.shape[-1]
        return self.eps * (u * u)[..., :, None] * np.eye(d)

    def sample(self, u, rng: np.random.Generator) -> np.ndarray:
        """``u·√ε·ξ`` with ξ standard normal, shared along the last axis for ``rank_one``."""
        u = _as_array(u)
        shape = u.shape if self.mode == "coordinate" else (*u.shape[:-1], 1)
        return u * math.sqrt(self.eps) * rng.standard_normal(shape)


def _stochastic_round(x: np.ndarray, step, rng: np.random.Generator) -> np.ndarray:
    """Round ``x`` to a multiple of ``step`` (broadcastable), up with probability equal to the
    fractional part: unbiased, conditional variance ``step² p(1 − p)``."""
    scaled = x / step
    low = np.floor(scaled)
    up = rng.random(np.shape(x)) < (scaled - low)
    return (low + up) * step


@dataclass(frozen=True, kw_only=True)
class IntRounding(_Unbiased):
    """Stochastic rounding to a b-bit integer grid with step ``scale·2^{1−b}``.

    The ``2^b`` codes cover [−scale, scale); values outside are rounded on the same (extended)
    grid, so the quantizer stays exactly unbiased (no clipping). Conditional variance is
    ``step²·p(1 − p)`` with ``p`` the fractional position of ``u`` between grid points.

    The matching noise model is :class:`Additive` with ``eps = step²/6``, the average of
    ``step² p(1 − p)`` over a uniformly distributed fractional part (``≈ 2^{−2b}·(2/3)·scale²``).
    """

    bits: int
    scale: float = 1.0

    def __post_init__(self):
        ok = isinstance(self.bits, (int, np.integer)) and not isinstance(self.bits, bool)
        check(ok and 1 <= self.bits <= 52, "bits", "an integer in [1, 52]", self.bits)
        s = self.scale
        ok = isinstance(s, (int, float, np.floating, np.integer)) and not isinstance(s, bool)
        check(ok and math.isfinite(s) and s > 0, "scale", "a finite number > 0", s)

    @property
    def kind(self) -> str:
        """``"additive"`` or ``"multiplicative"``: which noise model of the theory this is."""
        return "additive"

    @property
    def step(self) -> float:
        """Spacing of the integer grid, ``scale · 2^(1 − bits)``."""
        return float(self.scale) * 2.0 ** (1 - self.bits)

    @property
    def effective_eps(self) -> float:
        """ε of the equivalent noise model (the same average second moment of the error)."""
        return self.step**2 / 6.0

    def noise_model(self) -> Additive:
        """The additive noise model with the same average second moment."""
        return Additive(eps=self.effective_eps)

    def conditional_variance(self, u) -> np.ndarray:
        """Diagonal of ``E[e eᵀ | u]`` (stochastic rounding: ``step² p(1 − p)``, p the fractional position)."""
        u = _as_array(u)
        p = u / self.step - np.floor(u / self.step)
        return self.step**2 * p * (1.0 - p)

    def quantize(self, u, rng: np.random.Generator) -> np.ndarray:
        """Stochastically rounded ``u`` (unbiased: ``E[Q(u) | u] = u``)."""
        return _stochastic_round(_as_array(u), self.step, rng)

    def sample(self, u, rng: np.random.Generator) -> np.ndarray:
        u = _as_array(u)
        return _stochastic_round(u, self.step, rng) - u


# E over a log-uniform mantissa 1+f, f ∈ [0, 1), of (1+f)^{-2}: (1/ln 2)∫₀¹(1+f)^{-3} df = 3/(8 ln 2)
_LOG_UNIFORM_INV_SQ = 3.0 / (8.0 * math.log(2.0))


@dataclass(frozen=True, kw_only=True)
class FloatRounding(_Unbiased):
    """Stochastic rounding of floats to ``mantissa_bits`` explicit mantissa bits.

    ``u = 2^e(1 + f)`` is rounded to a multiple of ``2^{e − m}`` (unbounded exponent range, so
    there is no overflow or underflow and the rounding is exactly unbiased); zero stays zero.
    The relative conditional variance is at most ``2^{−2m}/4``.

    The matching noise model is :class:`Multiplicative` (``mode="coordinate"``) with
    ``eps = 2^{−2m}·(1/6)·3/(8 ln 2)``: the relative variance averaged over a uniform fractional
    position and a log-uniform mantissa (``≈ 0.090·2^{−2m}``).
    """

    mantissa_bits: int

    def __post_init__(self):
        m = self.mantissa_bits
        ok = isinstance(m, (int, np.integer)) and not isinstance(m, bool)
        check(ok and 0 <= m <= 52, "mantissa_bits", "an integer in [0, 52]", m)

    @property
    def kind(self) -> str:
        """``"additive"`` or ``"multiplicative"``: which noise model of the theory this is."""
        return "multiplicative"

    @property
    def effective_eps(self) -> float:
        """ε of the equivalent noise model (the same average second moment of the error)."""
        return 2.0 ** (-2 * self.mantissa_bits) / 6.0 * _LOG_UNIFORM_INV_SQ

    def noise_model(self) -> Multiplicative:
        """The coordinate-wise multiplicative model with the same average relative variance."""
        return Multiplicative(eps=self.effective_eps, mode="coordinate")

    def _step(self, u: np.ndarray) -> np.ndarray:
        _, e = np.frexp(u)  # u = frac·2^e with frac ∈ [0.5, 1): leading bit is 2^(e-1)
        return np.ldexp(1.0, e - 1 - self.mantissa_bits)

    def conditional_variance(self, u) -> np.ndarray:
        """Diagonal of ``E[e eᵀ | u]`` (stochastic rounding: ``step² p(1 − p)``, p the fractional position)."""
        u = _as_array(u)
        step = self._step(u)
        p = u / step - np.floor(u / step)
        return np.where(u == 0, 0.0, step**2 * p * (1.0 - p))

    def quantize(self, u, rng: np.random.Generator) -> np.ndarray:
        """Stochastically rounded ``u`` (unbiased: ``E[Q(u) | u] = u``)."""
        u = _as_array(u)
        return _stochastic_round(u, self._step(u), rng)

    def sample(self, u, rng: np.random.Generator) -> np.ndarray:
        u = _as_array(u)
        return self.quantize(u, rng) - u
