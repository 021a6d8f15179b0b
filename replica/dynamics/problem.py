"""The online STE problem of a quantized linear model, and its element-wise transforms.

Model (Ichikawa, Kashiwamura & Sakata 2025, card ``ichikawa2025-ste-dynamics``, "Model"): inputs
``x ~ N(0, I_d)``, teacher ``y = w*·x/√d + ε``, student ``ŷ = ψ_w(ŵ)·ψ_x(x)/√d`` on latent
weights ``ŵ``, one fresh sample per step and the straight-through update

    ŵ ← ŵ + (η/√d)(y − ŷ) ψ_x(x) ⊙ g(ŵ) − (ηλ/d) r(ŵ),

with ``g ≡ 1`` (plain STE) or ``g = 1{c_1 ≤ ŵ ≤ c_K}`` (clipped STE) and ``r(ŵ) = ŵ`` (ridge on
the latent weights) or ``ψ_w(ŵ) g(ŵ)`` (ridge on the quantized weights); time ``τ = t/d``. The
input transform enters the limit only through ``κ_x = E[z ψ_x(z)]`` and ``γ_x = E[ψ_x(z)²]``,
and the generalization error is ``ε_g = ρ + σ² − 2κ_x m_ψ + γ_x q_ψ`` (configurable factor and
σ² term).

This module holds :class:`STEProblem`, the smooth transforms :class:`Elementwise` (card claim
6) and the array-namespace maps of a transform shared by the PDE particles and the finite-d
simulation. The limit itself lives in :mod:`~replica.dynamics.moments` (closure),
:mod:`~replica.dynamics.ode`, :mod:`~replica.dynamics.pde`, :mod:`~replica.dynamics.fixed_points`
and :mod:`~replica.dynamics.plateau`.

References
----------
.. [1] Y. Ichikawa, S. Kashiwamura, A. Sakata, "High-Dimensional Learning Dynamics of Quantized
   Models with Straight-Through Estimator", arXiv:2510.10693 (2025); paper card
   ``ichikawa2025-ste-dynamics``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import gauss
from ..errors import check, real
from ..quantizers import GaussianMoments, Quantizer

__all__ = ["Elementwise", "STEProblem"]

TEACHERS = ("gaussian", "constant")
RIDGE_ON = ("latent", "quantized")
STE_KINDS = ("plain", "clipped")
_BLOWUP = 1e12  # order parameters beyond this are reported as divergence


# ---------------------------------------------------------------------------- transforms
@dataclass(frozen=True, kw_only=True, eq=False)
class Elementwise:
    """A smooth element-wise transform used in place of a quantizer (card claim 6).

    Parameters
    ----------
    fn : callable
        Vectorised real function, e.g. ``numpy.tanh``.
    name : str
        Label for reports.
    bounds : (float, float), optional
        Clipping range used by the clipped STE (default: the whole line).
    order : int
        Gauss–Hermite order of :meth:`gaussian_moments` (the function must be smooth).
    """

    fn: Callable
    name: str = "elementwise"
    bounds: tuple = (-math.inf, math.inf)
    order: int = 96

    def __post_init__(self):
        check(callable(self.fn), "fn", "a callable", self.fn)
        check(
            isinstance(self.order, int) and self.order >= 8, "order", "an integer >= 8", self.order
        )
        lo, hi = self.bounds
        check(lo < hi, "bounds", "lo < hi", self.bounds)

    def __call__(self, x):
        return np.asarray(self.fn(np.asarray(x, dtype=float)), dtype=float)

    def gaussian_moments(self, mean=0.0, var=1.0) -> GaussianMoments:
        """E[f(z)], E[f(z)²], E[z f(z)] for z ~ N(mean, var) by Gauss–Hermite quadrature."""
        first = gauss.expect(self, mean, var, self.order)
        second = gauss.expect(lambda u: self(u) ** 2, mean, var, self.order)
        cross = gauss.expect(lambda u: u * self(u), mean, var, self.order)
        return GaussianMoments(first, second, cross)


def _clip_range(t) -> tuple[float, float]:
    if t is None:
        return (-math.inf, math.inf)
    if isinstance(t, Quantizer):
        return (float(t.levels[0]), float(t.levels[-1]))
    return tuple(float(b) for b in getattr(t, "bounds", (-math.inf, math.inf)))


def _check_transform(t, name):
    ok = t is None or (callable(t) and hasattr(t, "gaussian_moments"))
    check(ok, name, "None, a Quantizer or an Elementwise transform", t)


def _mapper(t, xp):
    """Array-namespace element-wise map for a transform (identity for ``None``).

    numpy: :meth:`Quantizer.__call__` itself. Other namespaces: uniform grids use arithmetic
    rounding (ties to the upper level, like :meth:`Quantizer.__call__`); other grids a binary
    search on the thresholds.
    """
    if t is None:
        return lambda x: x
    if not isinstance(t, Quantizer):
        return lambda x: xp.asarray(t(np.asarray(x)))
    if xp is np or getattr(xp, "__name__", "") == "array_api_compat.numpy":
        # Quantizer.__call__: rounding + clipping on uniform grids with the binary search only
        # next to thresholds (exact ties), ~2x faster than the two-sided fix-up below
        return t
    levels = xp.asarray(np.array(t.levels))  # writable copy: torch warns on read-only arrays
    K = t.n_levels
    if K == 1:
        return lambda x: x * 0 + float(t.levels[0])
    steps = np.diff(t.levels)
    if np.allclose(steps, steps[0], rtol=1e-12, atol=0):
        c0, inv = float(t.levels[0]), 1.0 / float(steps[0])

        th_pad = xp.asarray(np.concatenate([[-np.inf], t.thresholds, [np.inf]]))

        def uniform(x):
            idx = xp.clip(xp.floor((x - c0) * inv + 0.5), 0, K - 1)
            idx = xp.astype(idx, xp.int64).reshape(-1)
            xf = x.reshape(-1)
            # arithmetic rounding can be one cell off within an ulp of a threshold: fix it so
            # that ties go to the upper level exactly as in Quantizer.__call__
            idx = idx + xp.astype(xf >= xp.take(th_pad, idx + 1), xp.int64)
            idx = idx - xp.astype(xf < xp.take(th_pad, idx), xp.int64)
            return xp.take(levels, idx).reshape(x.shape)

        return uniform
    th = xp.asarray(np.array(t.thresholds))

    def general(x):
        idx = xp.searchsorted(th, x.reshape(-1), side="right")
        return xp.take(levels, idx).reshape(x.shape)

    return general


# ---------------------------------------------------------------------------- problem
@dataclass(frozen=True, kw_only=True)
class STEProblem:
    """Online STE training of a (weight- and/or input-) quantized linear student.

    Parameters
    ----------
    weight_quantizer, input_quantizer : Quantizer or Elementwise or None
        ``ψ_w`` and ``ψ_x``; ``None`` is the identity (unquantized). The input transform must be
        odd in distribution (``E ψ_x(z) = 0``), otherwise the limit is not O(1).
    eta : float
        Learning rate ``η > 0`` (the update is ``(η/√d)`` per sample, time ``τ = t/d``).
    ridge : float
        ``λ >= 0``.
    noise : float
        Label-noise variance ``σ² >= 0``.
    teacher : {"gaussian", "constant"}
        ``w*_i ~ N(0, ρ)`` or ``w*_i = √ρ``.
    rho : float
        Teacher second moment ``ρ = E w*² > 0``.
    init : float
        Variance of the random part of the initial latent weights, ``ŵ⁰ = a w* + √init z``.
    init_align : float
        The coefficient ``a`` above (0: initialisation independent of the teacher).
    ridge_on : {"latent", "quantized"}
        Penalty ``(λ/2d)‖ŵ‖²`` or ``(λ/2d)‖ψ_w(ŵ)‖²`` (configurable in the card).
    ste : {"plain", "clipped"}
        ``∂ψ_w/∂ŵ ≡ 1`` or ``1{c_1 ≤ ŵ ≤ c_K}`` (configurable in the card).
    error_scale : {1.0, 0.5}
        Factor in front of the generalization error (the card's "factor ½").
    error_noise : bool
        Whether the generalization error includes ``σ²``.

    References
    ----------
    .. [1] Ichikawa, Kashiwamura & Sakata (2025), arXiv:2510.10693, model and ε_g formula.
    """

    weight_quantizer: Any = None
    input_quantizer: Any = None
    eta: float
    ridge: float = 0.0
    noise: float = 0.0
    teacher: str = "gaussian"
    rho: float = 1.0
    init: float = 1.0
    init_align: float = 0.0
    ridge_on: str = "latent"
    ste: str = "plain"
    error_scale: float = 1.0
    error_noise: bool = True
    kappa_x: float = field(init=False, repr=False)
    gamma_x: float = field(init=False, repr=False)

    def __post_init__(self):
        _check_transform(self.weight_quantizer, "weight_quantizer")
        _check_transform(self.input_quantizer, "input_quantizer")

        fin = math.isfinite
        for name, expected, ok in (
            ("eta", "a finite number > 0", lambda v: fin(v) and v > 0),
            ("ridge", "a finite number >= 0", lambda v: fin(v) and v >= 0),
            ("noise", "a finite number >= 0", lambda v: fin(v) and v >= 0),
            ("rho", "a finite number > 0", lambda v: fin(v) and v > 0),
            ("init", "a finite number >= 0", lambda v: fin(v) and v >= 0),
            ("init_align", "a finite number", fin),
        ):
            object.__setattr__(self, name, real(getattr(self, name), name, expected, ok))
        check(isinstance(self.teacher, str) and self.teacher in TEACHERS, "teacher",
              f"one of {TEACHERS}", self.teacher)  # fmt: skip
        check(self.ridge_on in RIDGE_ON, "ridge_on", f"one of {RIDGE_ON}", self.ridge_on)
        check(self.ste in STE_KINDS, "ste", f"one of {STE_KINDS}", self.ste)
        es = real(self.error_scale, "error_scale", "0.5 or 1.0", lambda v: v in (0.5, 1.0))
        object.__setattr__(self, "error_scale", es)
        check(isinstance(self.error_noise, bool), "error_noise", "a bool", self.error_noise)
        if self.input_quantizer is None:
            kx, gx, mx = 1.0, 1.0, 0.0
        else:
            mom = self.input_quantizer.gaussian_moments(0.0, 1.0)
            kx, gx, mx = float(mom.cross), float(mom.second), float(mom.first)
        check(
            abs(mx) <= 1e-10 * (1.0 + gx),
            "input_quantizer",
            "a transform with E psi_x(z) = 0 for z ~ N(0, 1) (e.g. symmetric levels)",
            self.input_quantizer,
        )
        # γ_x enters squared (η_c = 2(γ_x + λ)/γ_x²): a transform that is 0 on all but a
        # negligible fraction of inputs (e.g. a 'zero' grid with its first threshold at 30σ)
        # carries no signal and would underflow
        check(
            gx > 1e-100,
            "input_quantizer",
            "a transform with E psi_x(z)^2 > 1e-100 (it must not be 0 for almost every input)",
            self.input_quantizer,
        )
        object.__setattr__(self, "kappa_x", kx)
        object.__setattr__(self, "gamma_x", gx)

    # ------------------------------------------------------------------ derived quantities
    @property
    def weight_quantized(self) -> bool:
        """Whether the weights are quantized (a ``weight_quantizer`` is set)."""
        return self.weight_quantizer is not None

    @property
    def m0(self) -> float:
        """Initial overlap ``m(0) = a ρ``."""
        return self.init_align * self.rho

    @property
    def Q0(self) -> float:
        """Initial squared norm ``Q(0) = a² ρ + init``."""
        return self.init_align**2 * self.rho + self.init

    @property
    def clip(self) -> tuple[float, float]:
        """Interval where the clipped STE passes gradients (whole line for the plain STE)."""
        if self.ste == "plain":
            return (-math.inf, math.inf)
        return _clip_range(self.weight_quantizer)

    def psi_w(self, w):
        """Quantized weights ``ψ_w(ŵ)``."""
        w = np.asarray(w, dtype=float)
        return w if self.weight_quantizer is None else self.weight_quantizer(w)

    def residual(self, m_psi, q_psi):
        """Mean-square residual ``e = ρ + σ² − 2κ_x m_ψ + γ_x q_ψ`` (drives the STE noise)."""
        return self.rho + self.noise - 2.0 * self.kappa_x * m_psi + self.gamma_x * q_psi

    def generalization_error(self, m_psi, q_psi):
        """ε_g = s·(ρ + [σ²] − 2κ_x m_ψ + γ_x q_ψ) with the configured factor ``s`` and σ² flag.

        References
        ----------
        .. [1] Ichikawa, Kashiwamura & Sakata (2025), generalization-error formula (card).
        """
        e = self.residual(m_psi, q_psi) - (0.0 if self.error_noise else self.noise)
        return self.error_scale * e
