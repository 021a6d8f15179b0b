"""High-dimensional limit of online training of a quantized linear model with the STE.

Model (Ichikawa, Kashiwamura & Sakata 2025, card ``ichikawa2025-ste-dynamics``): inputs
``x ~ N(0, I_d)``, teacher ``y = w*·x/√d + ε``, student ``ŷ = ψ_w(ŵ)·ψ_x(x)/√d`` on latent
weights ``ŵ``, one fresh sample per step and the straight-through update

    ŵ ← ŵ + (η/√d)(y − ŷ) ψ_x(x) ⊙ g(ŵ) − (ηλ/d) r(ŵ),

with ``g ≡ 1`` (plain STE) or ``g = 1{c_1 ≤ ŵ ≤ c_K}`` (clipped STE) and ``r(ŵ) = ŵ`` (ridge on
the latent weights) or ``ψ_w(ŵ) g(ŵ)`` (ridge on the quantized weights). In time ``τ = t/d`` each
coordinate follows the McKean–Vlasov SDE

    dŵ = η g(ŵ) (κ_x w* − γ_x ψ_w(ŵ)) dτ − ηλ r(ŵ) dτ + η g(ŵ) √(γ_x e(τ)) dB,
    e(τ) = ρ + σ² − 2κ_x E[w* ψ_w(ŵ)] + γ_x E[ψ_w(ŵ)²],

whose order parameters ``m = E[w* ŵ]``, ``Q = E[ŵ²]`` obey

    dm/dτ = η(κ_x ρ − γ_x m_ψ − λ R_m),   dQ/dτ = 2η(κ_x m − γ_x C_ψ − λ R_Q) + η² γ_x e,

closed and exact without weight quantization, and closed by the isotropic Gaussian assumption
``ŵ | w* ~ N(m w*/ρ, Q − m²/ρ)`` otherwise.

This module holds the problem definition (:class:`STEProblem`), the order-parameter ODEs
(:func:`ode`), the per-coordinate law (:func:`pde`, particles or finite volumes), the fixed points
with their stability (:func:`fixed_points`, :func:`max_stable_lr`) and plateau detection
(:func:`plateau`). Finite-d training lives in :mod:`replica.dynamics.simulate`.

References
----------
.. [1] Y. Ichikawa, S. Kashiwamura, A. Sakata, "High-Dimensional Learning Dynamics of Quantized
   Models with Straight-Through Estimator", arXiv:2510.10693 (2025).
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import integrate, linalg, optimize, special

from .. import gauss
from ..errors import check, check_memory
from ..quantizers import GaussianMoments, Quantizer
from ..results import CONVERGED, DIVERGED, MAX_ITER, Result, finish

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

    Uniform grids use arithmetic rounding (ties to the upper level, like
    :meth:`Quantizer.__call__`); other grids a binary search on the thresholds.
    """
    if t is None:
        return lambda x: x
    if not isinstance(t, Quantizer):
        return lambda x: xp.asarray(t(np.asarray(x)))
    levels = xp.asarray(t.levels)
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
    th = xp.asarray(t.thresholds)

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

        def num(v):
            return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)

        check(num(self.eta) and math.isfinite(self.eta) and self.eta > 0, "eta", "> 0", self.eta)
        check(num(self.ridge) and 0 <= self.ridge < math.inf, "ridge", ">= 0", self.ridge)
        check(num(self.noise) and 0 <= self.noise < math.inf, "noise", ">= 0", self.noise)
        check(self.teacher in TEACHERS, "teacher", f"one of {TEACHERS}", self.teacher)
        check(num(self.rho) and 0 < self.rho < math.inf, "rho", "> 0", self.rho)
        check(num(self.init) and 0 <= self.init < math.inf, "init", ">= 0", self.init)
        check(num(self.init_align) and math.isfinite(self.init_align), "init_align", "finite", 0)
        check(self.ridge_on in RIDGE_ON, "ridge_on", f"one of {RIDGE_ON}", self.ridge_on)
        check(self.ste in STE_KINDS, "ste", f"one of {STE_KINDS}", self.ste)
        check(self.error_scale in (0.5, 1.0), "error_scale", "0.5 or 1.0", self.error_scale)
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


# ---------------------------------------------------------------------------- moments
def _staircase_parts(q: Quantizer, mean, var):
    """u_k, φ(u_k), √s and the jumps of ψ and ψ² at the thresholds (trailing threshold axis)."""
    mean = np.asarray(mean, dtype=float)[..., None]
    sd = np.sqrt(np.asarray(var, dtype=float))[..., None]
    u = (q.thresholds - mean) / sd
    return u, gauss.norm_pdf(u), sd, np.diff(q.levels), np.diff(q.levels**2)


def moment_derivatives(transform, mean, var) -> dict[str, np.ndarray]:
    """Non-centred moments of ``ψ(u)``, ``u ~ N(mean, var)``, and their mean/var derivatives.

    Returns a dict with ``F1 = E ψ``, ``F2 = E ψ²``, ``X = E[u ψ(u)]`` and the partial derivatives
    ``F1_mu, F1_s, F2_mu, F2_s, X_mu, X_s`` (``s`` = var > 0 required).

    Notes
    -----
    For a staircase with jumps ``Δ_k`` at thresholds ``θ_k`` and ``u_k = (θ_k − μ)/√s``:
    ``∂_μ E ψ = Σ Δ_k φ(u_k)/√s``, ``∂_s E ψ = Σ Δ_k φ(u_k) u_k/(2s)``; with the Stein term
    ``S = √s Σ Δ_k φ(u_k)`` (so ``X = μ F1 + S``): ``∂_μ S = Σ Δ_k φ(u_k) u_k``,
    ``∂_s S = Σ Δ_k φ(u_k)(1 + u_k²)/(2√s)``. Smooth transforms use Gauss–Hermite with
    ``∂_μ E f = E[z f]/√s`` and ``∂_s E f = E[(z² − 1) f]/(2s)``.
    """
    mean = np.asarray(mean, dtype=float)
    var = np.asarray(var, dtype=float)
    check(bool(np.all(var > 0)), "var", "> 0 for moment derivatives", var)
    mom = transform.gaussian_moments(mean, var)
    out = {"F1": mom.first, "F2": mom.second, "X": mom.cross}
    if isinstance(transform, Quantizer):
        if transform.n_levels == 1:
            z = np.zeros(np.broadcast_shapes(mean.shape, var.shape))
            out.update(F1_mu=z, F1_s=z, F2_mu=z, F2_s=z, X_mu=mom.first + z, X_s=z)
            return out
        u, ph, sd, d1, d2 = _staircase_parts(transform, mean, var)
        sd0, v0 = sd[..., 0], sd[..., 0] ** 2
        out["F1_mu"] = (d1 * ph).sum(-1) / sd0
        out["F1_s"] = (d1 * ph * u).sum(-1) / (2 * v0)
        out["F2_mu"] = (d2 * ph).sum(-1) / sd0
        out["F2_s"] = (d2 * ph * u).sum(-1) / (2 * v0)
        S_mu = (d1 * ph * u).sum(-1)
        S_s = (d1 * ph * (1 + u * u)).sum(-1) / (2 * sd0)
    else:
        x, w = gauss.hermite_rule(transform.order)
        mu_, sd_ = mean[..., None], np.sqrt(var)[..., None]
        f = transform(mu_ + sd_ * x)
        sd0, v0 = sd_[..., 0], sd_[..., 0] ** 2

        def d_mu(g):
            return (x * g * w).sum(-1) / sd0

        def d_s(g):
            return ((x * x - 1) * g * w).sum(-1) / (2 * v0)

        out["F1_mu"], out["F1_s"] = d_mu(f), d_s(f)
        out["F2_mu"], out["F2_s"] = d_mu(f * f), d_s(f * f)
        # X = E[u f(u)] is itself an expectation of a function of u
        u = mu_ + sd_ * x
        out["X_mu"], out["X_s"] = d_mu(u * f), d_s(u * f)
        return out
    out["X_mu"] = out["F1"] + mean * out["F1_mu"] + S_mu
    out["X_s"] = mean * out["F1_s"] + S_s
    return out


def closure_moments(problem: STEProblem, m, Q, derivatives: bool = False):
    """``(m_ψ, C_ψ, q_ψ)`` as functions of ``(m, Q)``: exact without weight quantization,
    isotropic Gaussian closure ``ŵ | w* ~ N(m w*/ρ, Q − m²/ρ)`` otherwise.

    With ``derivatives=True`` also returns the 3×2 array of partials ``∂(m_ψ, C_ψ, q_ψ)/∂(m, Q)``
    (stacked on a trailing pair of axes).

    References
    ----------
    .. [1] Ichikawa, Kashiwamura & Sakata (2025), isotropic closure (card, "Limit dynamics").
    """
    m = np.asarray(m, dtype=float)
    Q = np.asarray(Q, dtype=float)
    if not problem.weight_quantized:
        vals = (m, Q, Q)
        if not derivatives:
            return vals
        one, zero = np.ones_like(m + Q), np.zeros_like(m + Q)
        D = np.stack(
            [np.stack([one, zero], -1), np.stack([zero, one], -1), np.stack([zero, one], -1)], -2
        )
        return vals, D
    t, rho = problem.weight_quantizer, problem.rho
    if problem.teacher == "gaussian":
        # Stein: E[w* ψ(ŵ)] = (m/Q) E[ŵ ψ(ŵ)] for jointly Gaussian (w*, ŵ) with E ŵ² = Q
        if not derivatives:
            mom = t.gaussian_moments(0.0, Q)
            kap = mom.cross / Q
            return (m * kap, Q * kap, mom.second)
        d = moment_derivatives(t, 0.0, Q)
        kap = d["X"] / Q
        kap_v = d["X_s"] / Q - d["X"] / Q**2
        vals = (m * kap, Q * kap, d["F2"])
        zero = np.zeros_like(m + Q)
        D = np.stack(
            [
                np.stack([kap + zero, m * kap_v], -1),
                np.stack([zero, kap + Q * kap_v], -1),
                np.stack([zero, d["F2_s"] + zero], -1),
            ],
            -2,
        )
        return vals, D
    a = math.sqrt(rho)
    mu, s = m / a, np.maximum(Q - m * m / rho, 0.0)
    if not derivatives:
        mom = t.gaussian_moments(mu, s)
        return (a * mom.first, mom.cross, mom.second)
    d = moment_derivatives(t, mu, s)
    vals = (a * d["F1"], d["X"], d["F2"])
    # chain rule through μ = m/a, s = Q − m²/ρ
    dmu_dm, ds_dm = 1.0 / a, -2.0 * m / rho

    def row(f, scale=1.0):
        return np.stack(
            [scale * (d[f + "_mu"] * dmu_dm + d[f + "_s"] * ds_dm), scale * d[f + "_s"]], -1
        )

    D = np.stack([row("F1", a), row("X"), row("F2")], -2)
    return vals, D


def _check_closure(problem: STEProblem):
    if problem.weight_quantized:
        check(
            problem.ste == "plain",
            "ste",
            "'plain' for the order-parameter ODE with quantized weights (the clipped STE is "
            "handled by pde(method='particles') and simulate)",
            problem.ste,
        )


def drift(problem: STEProblem, m, Q):
    """Right-hand side ``(dm/dτ, dQ/dτ)`` of the order-parameter ODEs (closure if quantized).

    References
    ----------
    .. [1] Ichikawa, Kashiwamura & Sakata (2025), order-parameter ODEs (card, "Limit dynamics").
    """
    _check_closure(problem)
    m_psi, C_psi, q_psi = closure_moments(problem, m, Q)
    eta, lam, kx, gx = problem.eta, problem.ridge, problem.kappa_x, problem.gamma_x
    Rm, RQ = (m, Q) if problem.ridge_on == "latent" else (m_psi, C_psi)
    e = problem.residual(m_psi, q_psi)
    dm = eta * (kx * problem.rho - gx * m_psi - lam * Rm)
    dQ = 2 * eta * (kx * m - gx * C_psi - lam * RQ) + eta**2 * gx * e
    return dm, dQ


def jacobian(problem: STEProblem, m, Q) -> np.ndarray:
    """Jacobian ``∂(dm/dτ, dQ/dτ)/∂(m, Q)`` of :func:`drift`, from the moments' derivatives."""
    _check_closure(problem)
    _, D = closure_moments(problem, m, Q, derivatives=True)
    eta, lam, kx, gx = problem.eta, problem.ridge, problem.kappa_x, problem.gamma_x
    dmpsi, dC, dq = D[..., 0, :], D[..., 1, :], D[..., 2, :]
    eye_m = np.array([1.0, 0.0])
    eye_Q = np.array([0.0, 1.0])
    dRm, dRQ = (eye_m, eye_Q) if problem.ridge_on == "latent" else (dmpsi, dC)
    de = -2 * kx * dmpsi + gx * dq
    row_m = eta * (-gx * dmpsi - lam * dRm)
    row_Q = 2 * eta * (kx * eye_m - gx * dC - lam * dRQ) + eta**2 * gx * de
    return np.stack([row_m, row_Q], -2)


# ---------------------------------------------------------------------------- ODE
@dataclass(frozen=True, kw_only=True)
class Trajectory(Result):
    """Order-parameter trajectory on a time grid (status ``diverged`` when Q blew up).

    Attributes
    ----------
    tau, m, Q, m_psi, q_psi, eg : numpy.ndarray
        Time and order parameters; ``eg`` is the generalization error in the problem's
        convention. ``residual`` is the final ``|dQ/dτ| + |dm/dτ|``.
    closure : str
        ``"exact"`` or ``"isotropic"``.
    """

    tau: np.ndarray
    m: np.ndarray
    Q: np.ndarray
    m_psi: np.ndarray
    q_psi: np.ndarray
    eg: np.ndarray
    closure: str
    problem: STEProblem = field(repr=False)

    def to_dataset(self):
        """Labelled :class:`xarray.Dataset` over ``tau``."""
        import xarray as xr

        data = {k: ("tau", getattr(self, k)) for k in ("m", "Q", "m_psi", "q_psi", "eg")}
        return xr.Dataset(
            data, coords={"tau": self.tau}, attrs={"closure": self.closure, "status": self.status}
        )


def ode(
    problem: STEProblem,
    t_max: float,
    closure: str = "isotropic",
    n_points: int = 401,
    t_eval=None,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    throw: bool = True,
    max_nfev: int = 200_000,
) -> Trajectory:
    """Integrate the order-parameter ODEs from ``(m(0), Q(0))`` to ``τ = t_max``.

    Parameters
    ----------
    problem : STEProblem
    t_max : float
        Final time ``τ`` (units of d samples).
    closure : {"isotropic"}
        Closure for quantized weights; without weight quantization the ODE is exact and
        ``closure`` is ignored (the trajectory's ``closure`` reads ``"exact"``).
    n_points, t_eval :
        Output grid (uniform with ``n_points`` points unless ``t_eval`` is given).
    rtol, atol : float
        Tolerances of the DOP853 integrator.
    throw : bool
        Raise :class:`~replica.errors.ConvergenceError` when the solution diverges or the
        integrator fails.
    max_nfev : int
        Budget of right-hand-side evaluations; a stiff case (e.g. a coarse grid much wider
        than √Q with a ridge on the quantized weights) that needs more stops there with status
        ``"max_iter"`` and the trajectory computed so far.

    Returns
    -------
    Trajectory

    References
    ----------
    .. [1] Ichikawa, Kashiwamura & Sakata (2025), order-parameter ODEs (card, "Limit dynamics").
    """
    check(closure == "isotropic", "closure", "'isotropic'", closure)
    check(math.isfinite(t_max) and t_max > 0, "t_max", "> 0", t_max)
    check(isinstance(max_nfev, int) and max_nfev >= 1, "max_nfev", "an integer >= 1", max_nfev)
    if problem.weight_quantized:
        _check_closure(problem)
        check(problem.init > 0, "init", "> 0 for the isotropic closure", problem.init)
    if t_eval is None:
        check(isinstance(n_points, int) and n_points >= 2, "n_points", "an integer >= 2", n_points)
    tev = np.linspace(0.0, t_max, n_points) if t_eval is None else np.asarray(t_eval, float)
    check(
        tev.ndim == 1 and tev.size >= 1 and bool(np.all(np.diff(tev) > 0))
        and bool(tev[0] >= 0) and bool(tev[-1] <= t_max),
        "t_eval",
        "increasing times in [0, t_max]",
        t_eval,
    )  # fmt: skip

    def rhs(_t, y):
        return np.array(drift(problem, y[0], max(y[1], 1e-300)), dtype=float)

    # the DOP853 steps of solve_ivp, driven here so that the evaluation budget can stop them
    solver = integrate.DOP853(rhs, 0.0, [problem.m0, problem.Q0], t_max, rtol=rtol, atol=atol)
    ts, ys = [], []
    k = 0
    if tev.size and tev[0] <= 0.0:
        ts.append(0.0)
        ys.append(np.array([problem.m0, problem.Q0]))
        k = 1
    status = CONVERGED
    while solver.status == "running":
        t_old = solver.t
        solver.step()
        if solver.status == "failed":
            status = MAX_ITER
            break
        hi = int(np.searchsorted(tev, solver.t, side="right"))
        if hi > k:
            dense = solver.dense_output()
            for j in range(k, hi):
                y = dense(tev[j]) if tev[j] > t_old else dense(t_old)
                ts.append(float(tev[j]))
                ys.append(y)
            k = hi
        if not abs(solver.y[1]) < _BLOWUP:
            status = DIVERGED
            break
        if solver.nfev > max_nfev and solver.status == "running":
            status = MAX_ITER
            break
    ok = [i for i, y in enumerate(ys) if abs(y[1]) < _BLOWUP]
    ys_arr = np.array([ys[i] for i in ok]).reshape(-1, 2).T
    sol = types.SimpleNamespace(t=np.array([ts[i] for i in ok]), y=ys_arr, nfev=solver.nfev)
    if status == CONVERGED and sol.t.size != tev.size:
        status = MAX_ITER
    n = sol.t.size
    m, Q = sol.y[0], sol.y[1]
    if n:
        m_psi, _, q_psi = closure_moments(problem, m, np.maximum(Q, 1e-300))
        dm, dQ = drift(problem, m[-1], max(Q[-1], 1e-300))
        res = float(abs(dm) + abs(dQ))
    else:
        m_psi = q_psi = np.empty(0)
        res = math.inf
    traj = Trajectory(
        status=status,
        n_iter=int(sol.nfev),
        residual=res,
        tau=sol.t,
        m=m,
        Q=Q,
        m_psi=np.asarray(m_psi, float),
        q_psi=np.asarray(q_psi, float),
        eg=np.asarray(problem.generalization_error(m_psi, q_psi), float),
        closure="isotropic" if problem.weight_quantized else "exact",
        problem=problem,
    )
    return finish(traj, throw, "ode")


# ---------------------------------------------------------------------------- PDE
@dataclass(frozen=True, kw_only=True)
class PDESolution(Result):
    """Solution of the limiting per-coordinate law.

    Attributes
    ----------
    tau, m, Q, m_psi, q_psi, e, eg : numpy.ndarray
        Time grid, order parameters, mean-square residual ``e`` and generalization error.
    density_tau : numpy.ndarray
        Times at which ``density`` was recorded.
    edges : numpy.ndarray
        Bin edges of the density (``len(edges) − 1`` bins).
    density : numpy.ndarray
        ``(len(density_tau), len(edges) − 1)`` density of ŵ (mixture over the teacher).
    method : str
        ``"particles"`` or ``"grid"``.
    """

    tau: np.ndarray
    m: np.ndarray
    Q: np.ndarray
    m_psi: np.ndarray
    q_psi: np.ndarray
    e: np.ndarray
    eg: np.ndarray
    density_tau: np.ndarray
    edges: np.ndarray
    density: np.ndarray
    method: str

    def to_dataset(self):
        """Labelled :class:`xarray.Dataset` (``tau`` and ``density_tau``/``x`` dimensions)."""
        import xarray as xr

        data = {k: ("tau", getattr(self, k)) for k in ("m", "Q", "m_psi", "q_psi", "e", "eg")}
        x = 0.5 * (self.edges[1:] + self.edges[:-1])
        data["density"] = (("density_tau", "x"), self.density)
        return xr.Dataset(
            data,
            coords={"tau": self.tau, "density_tau": self.density_tau, "x": x},
            attrs={"method": self.method, "status": self.status},
        )


def _psi_bound(problem: STEProblem) -> float:
    t = problem.weight_quantizer
    if isinstance(t, Quantizer):
        return float(np.max(np.abs(t.levels)))
    return float(np.max(np.abs(t(np.linspace(-50, 50, 2001)))))


def _time_grid(t_max, dt, n_points, density_times):
    """Steps of size ≈ dt landing exactly on the output times."""
    tau = np.linspace(0.0, t_max, n_points)
    per = max(1, math.ceil((tau[1] - tau[0]) / dt))
    h = (tau[1] - tau[0]) / per
    dens = np.asarray(sorted(density_times), dtype=float)
    check(bool(np.all((dens >= 0) & (dens <= t_max))), "density_times", "in [0, t_max]", dens)
    dens_steps = np.rint(dens / h).astype(int)
    return tau, per, h, dens_steps


def _default_edges(problem: STEProblem, span):
    lo, hi = span
    return np.linspace(lo, hi, 161)


def _teacher_nodes(problem: STEProblem, n: int):
    if problem.teacher == "constant":
        return np.array([math.sqrt(problem.rho)]), np.array([1.0])
    x, w = gauss.hermite_rule(n)
    return math.sqrt(problem.rho) * x, np.asarray(w)


def _domain(problem: STEProblem, ws, t_max, pad: float):
    """Per-teacher-node interval holding the law up to ``t_max`` (drift bounds + noise margin).

    The noise scale is taken from the initial residual; :func:`pde` checks that no mass reaches
    the ends, so an optimistic guess fails loudly instead of silently.
    """
    eta, kx, gx, lam = problem.eta, problem.kappa_x, problem.gamma_x, problem.ridge
    sd0 = math.sqrt(problem.init)
    lo0, hi0 = problem.init_align * ws - 7 * sd0, problem.init_align * ws + 7 * sd0
    m_psi0, _, q_psi0 = closure_moments(problem, problem.m0, problem.Q0)
    e_est = 2 * max(float(problem.residual(m_psi0, q_psi0)), problem.rho + problem.noise)
    T = eta * gx * e_est / 2  # temperature scale of the law
    walk = 5 * math.sqrt(eta * eta * gx * e_est * t_max)  # free diffusion over [0, t_max]
    if not problem.weight_quantized:
        restore = gx + lam
        margin = min(walk, 5 * math.sqrt(T / restore)) + pad
        target = kx * ws / restore
        return np.minimum(lo0, target) - margin, np.maximum(hi0, target) + margin
    c_lo = float(np.min(problem.psi_w([-1e300])))
    c_hi = float(np.max(problem.psi_w([1e300])))
    if problem.ridge_on == "latent" and lam > 0:
        # the drift points inwards outside [(κw* − γ c_K)/λ, (κw* − γ c_1)/λ]
        margin = min(walk, 5 * math.sqrt(T / lam)) + pad
        lo = np.minimum(lo0, (kx * ws - gx * c_hi) / lam) - margin
        hi = np.maximum(hi0, (kx * ws - gx * c_lo) / lam) + margin
        return np.minimum(lo, c_lo - pad), np.maximum(hi, c_hi + pad)
    # bounded drift: beyond the outer levels it is the constant η(κ_x w* − γ' c_{1,K}); where it
    # points inwards the tail is exponential with length T/slope, otherwise the law drifts out
    gq = gx + (lam if problem.ridge_on == "quantized" else 0.0)
    s_hi, s_lo = gq * c_hi - kx * ws, kx * ws - gq * c_lo
    with np.errstate(divide="ignore"):
        hi = np.where(
            s_hi > 0,
            np.maximum(hi0, c_hi) + 25 * T / np.maximum(s_hi, 0),
            np.maximum(hi0, c_hi) + eta * np.maximum(-s_hi, 0) * t_max + walk,
        )
        lo = np.where(
            s_lo > 0,
            np.minimum(lo0, c_lo) - 25 * T / np.maximum(s_lo, 0),
            np.minimum(lo0, c_lo) - eta * np.maximum(-s_lo, 0) * t_max - walk,
        )
    return lo - pad, hi + pad


def _bernoulli(z):
    """B(z) = z/(e^z − 1), stable for all z (B(0) = 1)."""
    z = np.asarray(z, dtype=float)
    out = np.ones_like(z)
    pos, neg = z > 0, z < 0
    zp = z[pos]
    out[pos] = zp * np.exp(-zp) / -np.expm1(-zp)
    zn = z[neg]
    out[neg] = zn / np.expm1(zn)
    return out


def _histogram_density(w, edges):
    """Density of the empirical law of ``w`` on the bins (mass outside ``edges`` is not
    renormalized away, as for the grid method; no 0/0 when every sample is outside)."""
    w = np.asarray(w)
    counts = np.histogram(w, edges)[0]
    return counts / (w.size * np.diff(edges))


def _pde_particles(problem, tau, per, h, dens_steps, edges, n_particles, seed, record):
    rng = np.random.default_rng(seed)
    eta, kx, gx, lam = problem.eta, problem.kappa_x, problem.gamma_x, problem.ridge
    n = n_particles
    if problem.teacher == "constant":
        ws = np.full(n, math.sqrt(problem.rho))
    else:
        # stratified teacher sample: exact Gaussian quantiles remove the w* sampling noise
        ws = math.sqrt(problem.rho) * special.ndtri((np.arange(n) + 0.5) / n)
    w = problem.init_align * ws + math.sqrt(problem.init) * rng.standard_normal(n)
    lo, hi = problem.clip
    clipped = problem.ste == "clipped" and problem.weight_quantized
    n_steps = per * (tau.size - 1)
    out = {k: np.empty(tau.size) for k in ("m", "Q", "m_psi", "q_psi", "e")}
    dens = []
    psi_w = _mapper(problem.weight_quantizer, np)
    for step in range(n_steps + 1):
        psi = psi_w(w)
        m_psi, q_psi = float(np.vecdot(ws, psi)) / n, float(np.vecdot(psi, psi)) / n
        e = problem.residual(m_psi, q_psi)
        if step % per == 0:
            i = step // per
            out["m"][i], out["Q"][i] = float(np.vecdot(ws, w)) / n, float(np.vecdot(w, w)) / n
            out["m_psi"][i], out["q_psi"][i], out["e"][i] = m_psi, q_psi, e
            if not math.isfinite(e) or abs(out["Q"][i]) > _BLOWUP:
                return out, dens, DIVERGED, i
        if not abs(e) <= _BLOWUP:
            # checked at every step, not only at output times: between two outputs an unstable
            # run (η beyond η_c) would otherwise overflow the particles
            return out, dens, DIVERGED, step // per
        if step in record:
            dens.extend([_histogram_density(w, edges)] * record[step])
        if step == n_steps:
            break
        g = ((w >= lo) & (w <= hi)).astype(float) if clipped else 1.0
        r = w if problem.ridge_on == "latent" else psi * g
        a = eta * g * (kx * ws - gx * psi) - eta * lam * r
        w = w + a * h + eta * g * math.sqrt(gx * max(e, 0.0) * h) * rng.standard_normal(n)
    return out, dens, CONVERGED, tau.size - 1


def _pde_grid(problem, tau, per, h, dens_steps, edges, n_cells, n_teacher, pad, record):
    check(problem.ste == "plain", "ste", "'plain' for method='grid' (use 'particles')", problem.ste)
    check(problem.init > 0, "init", "> 0 for method='grid'", problem.init)
    t = problem.weight_quantizer
    n_th = t.thresholds.size if isinstance(t, Quantizer) else 0
    check(n_cells >= n_th + 1, "n_cells", f">= number of thresholds + 1 = {n_th + 1}", n_cells)
    eta, kx, gx, lam = problem.eta, problem.kappa_x, problem.gamma_x, problem.ridge
    ws, wq = _teacher_nodes(problem, n_teacher)
    M = ws.size
    lo, hi = _domain(problem, ws, tau[-1], pad)
    t = problem.weight_quantizer
    th = t.thresholds if isinstance(t, Quantizer) else np.empty(0)
    faces, psi_c, a_face, xc, hc = [], [], [], [], []
    for j in range(M):
        f = np.linspace(lo[j], hi[j], n_cells + 1)
        hh = f[1] - f[0]
        inside = th[(th > lo[j]) & (th < hi[j])]
        if inside.size:
            near = np.min(np.abs(f[:, None] - inside[None, :]), axis=1) < 0.25 * hh
            near[[0, -1]] = False
            f = np.union1d(f[~near], inside)
        # the inserted thresholds can exceed the cell budget: merge the smallest pairs of cells
        # across non-threshold faces (truncating the array would cut off the end of the domain)
        while f.size > n_cells + 1:
            free = np.nonzero(~np.isin(f[1:-1], inside))[0] + 1
            pair = np.diff(f)[free - 1] + np.diff(f)[free]
            f = np.delete(f, free[int(np.argmin(pair))])
        # keep a fixed number of cells per node so the blocks stack (pad by splitting the widest)
        while f.size < n_cells + 1:
            k = int(np.argmax(np.diff(f)))
            f = np.insert(f, k + 1, 0.5 * (f[k] + f[k + 1]))
        x = 0.5 * (f[1:] + f[:-1])
        pc = problem.psi_w(x)
        fi = f[1:-1]
        pf = problem.psi_w(fi)
        if inside.size:
            at = np.isin(fi, inside)
            # the drift jumps at the face: its mean between the two centres (half-cell weights)
            # makes the zero-flux state exact for a piecewise-constant drift
            hl, hr = np.diff(f)[:-1], np.diff(f)[1:]
            pf = np.where(at, (hl * pc[:-1] + hr * pc[1:]) / (hl + hr), pf)
        r = fi if problem.ridge_on == "latent" else pf
        faces.append(f)
        psi_c.append(pc)
        xc.append(x)
        hc.append(np.diff(f))
        a_face.append(eta * (kx * ws[j] - gx * pf) - eta * lam * r)
    faces, psi_c, xc, hc, a_face = map(np.array, (faces, psi_c, xc, hc, a_face))
    delta = np.diff(xc, axis=1)  # distance between neighbouring centres
    # initial cell masses of N(a w*, init), exact
    cdf = special.ndtr((faces - problem.init_align * ws[:, None]) / math.sqrt(problem.init))
    mass = np.diff(cdf, axis=1)
    mass /= mass.sum(axis=1, keepdims=True)
    p = mass / hc
    out = {k: np.empty(tau.size) for k in ("m", "Q", "m_psi", "q_psi", "e")}
    dens = []

    def moments(p):
        mc = p * hc
        m_psi = float(wq @ (ws * (mc * psi_c).sum(1)))
        q_psi = float(wq @ (mc * psi_c**2).sum(1))
        m = float(wq @ (ws * (mc * xc).sum(1)))
        Q = float(wq @ (mc * (xc**2 + hc**2 / 12)).sum(1))
        return m, Q, m_psi, q_psi, problem.residual(m_psi, q_psi)

    def operator(e):
        kd = max(0.5 * eta * eta * gx * e, 1e-300)
        pe = a_face * delta / kd
        bp, bm = _bernoulli(pe), _bernoulli(-pe)
        c = kd / delta
        # flux J_{i+1/2} = c (B(-Pe) p_i − B(Pe) p_{i+1}); dp_i/dt = −(J_{i+1/2} − J_{i−1/2})/h_i
        up = np.zeros((M, n_cells))
        low = np.zeros((M, n_cells))
        dg = np.zeros((M, n_cells))
        up[:, 1:] = c * bp / hc[:, :-1]  # coefficient of p_{i+1} in row i, stored at column i+1
        low[:, :-1] = c * bm / hc[:, 1:]  # coefficient of p_{i} in row i+1, stored at column i
        dg[:, :-1] -= c * bm / hc[:, :-1]
        dg[:, 1:] -= c * bp / hc[:, 1:]
        return up.ravel(), dg.ravel(), low.ravel()

    n_steps = per * (tau.size - 1)
    e_prev = None
    p_prev = None
    status, last = CONVERGED, tau.size - 1
    for step in range(n_steps + 1):
        m, Q, m_psi, q_psi, e = moments(p)
        if step % per == 0:
            i = step // per
            edge_mass = float(wq @ (p[:, :2] * hc[:, :2] + p[:, -2:] * hc[:, -2:]).sum(1))
            if edge_mass > 1e-6:
                return out, dens, "domain", i - 1
            out["m"][i], out["Q"][i], out["m_psi"][i], out["q_psi"][i], out["e"][i] = (
                m,
                Q,
                m_psi,
                q_psi,
                e,
            )
        if step in record:
            dens_now = np.zeros(edges.size - 1)
            for j in range(M):
                cm = np.concatenate([[0.0], np.cumsum(p[j] * hc[j])])
                dens_now += wq[j] * np.diff(np.interp(edges, faces[j], cm)) / np.diff(edges)
            dens.extend([dens_now] * record[step])
        if step == n_steps:
            break
        # BDF2 with the mean-field coupling extrapolated to the new time level
        e_new = e if e_prev is None else max(2 * e - e_prev, 0.0)
        up, dg, low = operator(e_new)
        if p_prev is None:
            ab = np.array([-h * up, 1 - h * dg, -h * low])  # backward Euler start
            rhs = p.ravel()
        else:
            ab = np.array([-2 * h * up, 3 - 2 * h * dg, -2 * h * low])
            rhs = (4 * p - p_prev).ravel()
        p_new = linalg.solve_banded((1, 1), ab, rhs, check_finite=False).reshape(M, n_cells)
        p_prev, p, e_prev = p, p_new, e
        if not np.all(np.isfinite(p)):
            status, last = DIVERGED, step // per
            break
    return out, dens, status, last


def pde(
    problem: STEProblem,
    t_max: float,
    method: str = "particles",
    n_points: int = 101,
    dt: float | None = None,
    density_times=(),
    edges=None,
    n_particles: int = 100_000,
    seed: int = 0,
    n_cells: int = 4000,
    n_teacher: int = 48,
    pad: float = 0.5,
    throw: bool = True,
) -> PDESolution:
    """Limiting law of one latent coordinate: McKean–Vlasov SDE by particles or its
    Fokker–Planck equation by finite volumes.

    Parameters
    ----------
    problem : STEProblem
    t_max : float
        Final time ``τ``.
    method : {"particles", "grid"}
        ``"particles"``: Euler–Maruyama for ``n_particles`` interacting particles (the teacher
        values are exact Gaussian quantiles). ``"grid"``: finite volumes with the
        Scharfetter–Gummel flux (exact for a piecewise-constant drift between cell centres,
        positivity preserving) on a grid whose faces include the quantizer thresholds, one
        block per Gauss–Hermite teacher node (``n_teacher``), BDF2 in time with the
        mean-field residual ``e(τ)`` extrapolated; plain STE only.
    n_points : int
        Output grid ``linspace(0, t_max, n_points)``.
    dt : float, optional
        Time step (default ``0.01/(η (γ_x + λ))`` for particles, 4× that for the grid); rounded
        down so that every output time is a step.
    density_times : sequence of float
        Times at which the density of ŵ is stored (on ``edges``).
    edges : array_like, optional
        Bin edges for the density (default: 160 bins over the initial law and quantizer range).
    n_particles, seed :
        Particle method: number of particles and the seed of its generator.
    n_cells, n_teacher, pad :
        Grid method: cells per teacher node, teacher nodes (Gaussian teacher) and extra margin
        added to the automatically chosen domain.
    throw : bool
        Raise :class:`~replica.errors.ConvergenceError` when the solution diverges (status
        ``"diverged"``) or, for the grid, when more than 1e-6 of the mass reaches the ends of
        the automatically chosen domain (status ``"domain"``: increase ``pad``).

    Returns
    -------
    PDESolution

    References
    ----------
    .. [1] Ichikawa, Kashiwamura & Sakata (2025), per-coordinate limit (card, "Limit dynamics").
    .. [2] D. L. Scharfetter, H. K. Gummel, IEEE Trans. Electron Devices 16, 64 (1969).
    """
    check(method in ("particles", "grid"), "method", "'particles' or 'grid'", method)
    check(math.isfinite(t_max) and t_max > 0, "t_max", "> 0", t_max)
    check(isinstance(n_points, int) and n_points >= 2, "n_points", "an integer >= 2", n_points)
    rate = problem.eta * (problem.gamma_x + problem.ridge)
    if dt is None:
        dt = (0.01 if method == "particles" else 0.04) / rate
    check(dt > 0, "dt", "> 0", dt)
    tau, per, h, dens_steps = _time_grid(t_max, dt, n_points, density_times)
    record: dict[int, int] = {}
    for s in dens_steps:
        record[int(s)] = record.get(int(s), 0) + 1
    if edges is None:
        cmax = _psi_bound(problem) if problem.weight_quantized else 0.0
        sd = math.sqrt(problem.init)
        span = max(cmax, abs(problem.init_align) * math.sqrt(problem.rho) + 4 * sd) + 0.5
        edges = _default_edges(problem, (-span, span))
    edges = np.asarray(edges, dtype=float)
    check(
        edges.ndim == 1 and edges.size >= 2 and bool(np.all(np.diff(edges) > 0)),
        "edges",
        "increasing bin edges",
        edges,
    )
    if method == "particles":
        check(
            isinstance(n_particles, int) and n_particles >= 100,
            "n_particles",
            ">= 100",
            n_particles,
        )
        # teacher values, weights, their quantized values, drift, noise and a mask per particle
        check_memory(8.0 * 8 * n_particles, "n_particles", f"n_particles={n_particles}")
        out, dens, status, last = _pde_particles(
            problem, tau, per, h, dens_steps, edges, n_particles, seed, record
        )
        n_iter = per * last
    else:
        check(isinstance(n_cells, int) and n_cells >= 10, "n_cells", ">= 10", n_cells)
        check(isinstance(n_teacher, int) and n_teacher >= 1, "n_teacher", ">= 1", n_teacher)
        n_blocks = 1 if problem.teacher == "constant" else n_teacher
        # about a dozen (teacher node × cell) arrays: faces, centres, drift, banded operator, p
        check_memory(
            8.0 * 16 * n_blocks * (n_cells + 1), "n_cells, n_teacher", f"{n_blocks}×{n_cells} cells"
        )
        out, dens, status, last = _pde_grid(
            problem, tau, per, h, dens_steps, edges, n_cells, n_teacher, pad, record
        )
        n_iter = per * max(last, 0)
    k = last + 1
    out = {key: v[:k] for key, v in out.items()}
    eg = problem.generalization_error(out["m_psi"], out["q_psi"])
    res = float(abs(out["e"][-1] - out["e"][-2])) if k >= 2 else math.inf
    sol = PDESolution(
        status=status,
        n_iter=n_iter,
        residual=res,
        tau=tau[:k],
        eg=np.asarray(eg, float),
        density_tau=np.asarray(sorted(density_times), float)[: len(dens)],
        edges=edges,
        density=np.array(dens).reshape(len(dens), edges.size - 1),
        method=method,
        **out,
    )
    return finish(sol, throw, f"pde(method={method!r})")


# ---------------------------------------------------------------------------- fixed points
@dataclass(frozen=True, kw_only=True)
class FixedPoint(Result):
    """A stationary point of the limit dynamics.

    Attributes
    ----------
    kind : str
        ``"exact"`` (no weight quantization, closed form), ``"isotropic"`` (root of the closed
        ODE) or ``"gibbs"`` (self-consistent stationary law of the PDE).
    m, Q : float or None
        Order parameters (``None`` for ``"gibbs"``, which only needs the quantized moments).
    m_psi, q_psi, e, eg : float
        Quantized moments, mean-square residual and generalization error.
    eigenvalues : tuple of complex or None
        Jacobian eigenvalues of the (m, Q) ODE (``None`` for ``"gibbs"``).
    stable : bool
        Linear stability (``"gibbs"``: the self-consistency map ``e ↦ F(e)`` has slope < 1).
    classification : str
        ``"stable node"``, ``"stable focus"``, ``"saddle"``, ``"unstable"`` or, for ``"gibbs"``,
        ``"attracting"``/``"repelling"``.
    temperature : float or None
        ``T = η γ_x e/2`` of the Gibbs law.
    """

    kind: str
    m: float | None
    Q: float | None
    m_psi: float
    q_psi: float
    e: float
    eg: float
    eigenvalues: tuple | None
    stable: bool
    classification: str
    temperature: float | None = None


def _classify(J: np.ndarray):
    ev = np.linalg.eigvals(J)
    tr, det = float(np.trace(J)), float(np.linalg.det(J))
    if det < 0:
        cls = "saddle"
    elif tr < 0 and det > 0:
        cls = "stable focus" if tr * tr < 4 * det else "stable node"
    else:
        cls = "unstable"
    return tuple(complex(v) for v in ev), bool(np.all(ev.real < 0)), cls


def _exact_fixed_point(problem: STEProblem) -> FixedPoint:
    eta, lam, kx, gx, rho = (
        problem.eta,
        problem.ridge,
        problem.kappa_x,
        problem.gamma_x,
        problem.rho,
    )
    m = kx * rho / (gx + lam)
    den = 2 * (gx + lam) - eta * gx * gx
    Q = (2 * kx * m + eta * gx * (rho + problem.noise - 2 * kx * m)) / den if den != 0 else math.inf
    J = jacobian(problem, m, Q if math.isfinite(Q) else 1.0)
    ev, stable, cls = _classify(J)
    e = problem.residual(m, Q)
    return FixedPoint(
        status=CONVERGED,
        n_iter=0,
        residual=0.0,
        kind="exact",
        m=m,
        Q=Q,
        m_psi=m,
        q_psi=Q,
        e=float(e),
        eg=float(problem.generalization_error(m, Q)),
        eigenvalues=ev,
        stable=stable and Q > 0,
        classification=cls if Q > 0 else "unphysical (Q < 0)",
    )


def _isotropic_m_of_Q(problem: STEProblem, Q: float) -> float | None:
    """Root in m of dm/dτ = 0 at fixed Q (closed form for the Gaussian teacher)."""
    kx, gx, lam, rho = problem.kappa_x, problem.gamma_x, problem.ridge, problem.rho
    if problem.teacher == "gaussian":
        kap = float(problem.weight_quantizer.gaussian_moments(0.0, Q).cross) / Q
        den = gx * kap + lam if problem.ridge_on == "latent" else (gx + lam) * kap
        # a root far outside the closure's domain |m| <= √(ρQ) (e.g. a coarse grid whose levels
        # are all beyond the scale √Q, kap ≈ 0) is no fixed point; this also avoids an overflow
        if not den > kx * rho / (1e100 * math.sqrt(rho * Q)):
            return None
        return kx * rho / den
    bound = math.sqrt(rho * Q) * (1 - 1e-12)
    f = lambda m: float(drift(problem, m, Q)[0])  # noqa: E731
    ms = np.linspace(-bound, bound, 81)
    vals = np.asarray(drift(problem, ms, Q)[0], dtype=float)  # vectorised over the scan
    idx = np.nonzero(np.sign(vals[:-1]) * np.sign(vals[1:]) <= 0)[0]
    if idx.size == 0:
        return None
    k = int(idx[-1])
    return float(optimize.brentq(f, ms[k], ms[k + 1], xtol=1e-14, rtol=1e-13))


def _isotropic_fixed_points(problem: STEProblem, q_range) -> list[FixedPoint]:
    _check_closure(problem)

    def h(Q):
        m = _isotropic_m_of_Q(problem, Q)
        return math.nan if m is None else float(drift(problem, m, Q)[1])

    Qs = np.geomspace(*q_range, 400)
    vals = np.array([h(Q) for Q in Qs])
    out = []
    for k in range(Qs.size - 1):
        a, b = vals[k], vals[k + 1]
        if not (math.isfinite(a) and math.isfinite(b)) or a * b > 0:
            continue
        Q = optimize.brentq(h, Qs[k], Qs[k + 1], xtol=1e-14, rtol=1e-13)
        m = _isotropic_m_of_Q(problem, Q)
        if m is None or abs(m) > math.sqrt(problem.rho * Q * (1 + 1e-9)):
            continue  # violates Cauchy–Schwarz m² <= ρQ: outside the closure's domain
        dm, dQ = drift(problem, m, Q)
        m_psi, _, q_psi = closure_moments(problem, m, Q)
        ev, stable, cls = _classify(jacobian(problem, m, Q))
        out.append(
            FixedPoint(
                status=CONVERGED,
                n_iter=0,
                residual=float(abs(dm) + abs(dQ)),
                kind="isotropic",
                m=float(m),
                Q=float(Q),
                m_psi=float(m_psi),
                q_psi=float(q_psi),
                e=float(problem.residual(m_psi, q_psi)),
                eg=float(problem.generalization_error(m_psi, q_psi)),
                eigenvalues=ev,
                stable=stable,
                classification=cls,
            )
        )
    return out


def _log1mexp(x):
    """log(1 − eˣ) for x ≤ 0 (−inf at x = 0: a cell of zero mass)."""
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    small = x > -math.log(2.0)
    with np.errstate(divide="ignore"):  # x = 0 exactly means an empty cell: log 0 = −inf
        out[small] = np.log(-np.expm1(x[small]))
    out[~small] = np.log1p(-np.exp(x[~small]))
    return out


def _log_cell_integral(A: float, B, a, b):
    """log ∫_a^b exp(−A x² − B x) dx, elementwise over B, a, b (A >= 0; ±inf ends allowed).

    ``+inf`` signals a non-normalizable cell (A = 0 with the exponent growing at an infinite end).
    """
    B, a, b = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (B, a, b)))
    if A > 0:
        sd = 1.0 / math.sqrt(2 * A)
        mu = -B / (2 * A)
        al, be = (a - mu) / sd, (b - mu) / sd
        upper = al > 0
        lo_ = np.where(upper, special.log_ndtr(-be), special.log_ndtr(al))
        hi_ = np.where(upper, special.log_ndtr(-al), special.log_ndtr(be))
        return math.log(math.sqrt(2 * math.pi) * sd) + B * B / (4 * A) + hi_ + _log1mexp(lo_ - hi_)
    out = np.empty(B.shape)
    pos, neg, zer = B > 0, B < 0, B == 0
    with np.errstate(invalid="ignore"):  # inf − inf only where flagged non-normalizable below
        Bp, ap, bp = B[pos], a[pos], b[pos]
        out[pos] = -Bp * ap + _log1mexp(np.minimum(-Bp * (bp - ap), 0.0)) - np.log(Bp)
        out[pos & np.isneginf(a)] = math.inf
        Bn, an, bn = B[neg], a[neg], b[neg]
        out[neg] = -Bn * bn + _log1mexp(np.minimum(Bn * (bn - an), 0.0)) - np.log(-Bn)
        out[neg & np.isposinf(b)] = math.inf
        out[zer] = np.log(b[zer] - a[zer])
    return out


def _gibbs_cells(problem: STEProblem, T: float, ws):
    """Log mass of each quantizer cell under the Gibbs law, per teacher value: (n_w, K)."""
    q = problem.weight_quantizer
    c, th = q.levels, q.thresholds
    kx, gx, lam = problem.kappa_x, problem.gamma_x, problem.ridge
    gq = gx + (lam if problem.ridge_on == "quantized" else 0.0)
    lat = lam if problem.ridge_on == "latent" else 0.0
    # Ψ(x) = ∫ψ = c_j x + d_j on cell j, continuous: d_j = −Σ_{k<j} Δ_k θ_k
    d = -np.concatenate([[0.0], np.cumsum(np.diff(c) * th)])
    a = np.concatenate([[-math.inf], th])
    b = np.concatenate([th, [math.inf]])
    ws = np.asarray(ws, dtype=float)[:, None]
    B = (gq * c - kx * ws) / T
    logz = -gq * d / T + _log_cell_integral(lat / (2 * T), B, a, b)
    # a coordinate whose law is not normalizable escapes to ±inf through an outer cell: its
    # quantized value saturates there (all the mass on that cell)
    esc = np.isposinf(logz)
    if esc.any():
        rows = esc.any(axis=1)
        logz[rows] = np.where(esc[rows], 0.0, -np.inf)
    return logz


def _teacher_grid(problem: STEProblem, n: int = 4001):
    if problem.teacher == "constant":
        return np.array([math.sqrt(problem.rho)]), np.array([1.0])
    s = math.sqrt(problem.rho)
    ws = np.linspace(-9 * s, 9 * s, n)
    w = gauss.norm_pdf(ws / s)
    return ws, w / w.sum()


def _gibbs_moments(problem: STEProblem, e: float, ws, wq):
    T = problem.eta * problem.gamma_x * e / 2
    logz = _gibbs_cells(problem, T, ws)
    p = np.exp(logz - special.logsumexp(logz, axis=1, keepdims=True))
    c = problem.weight_quantizer.levels
    m_psi = float(wq @ (ws * (p @ c)))
    q_psi = float(wq @ (p @ (c * c)))
    return m_psi, q_psi


def gibbs_density(problem: STEProblem, x, w_star: float, e: float):
    """Stationary density of ŵ given ``w*`` at residual ``e``: ∝ exp(−U(ŵ)/T).

    ``U = γ_x Ψ(ŵ) − κ_x w* ŵ + λŵ²/2`` (ridge on the latent weights; ``(γ_x + λ)Ψ`` for the
    ridge on the quantized weights), ``Ψ' = ψ_w``, ``T = η γ_x e/2``; exact normalization by
    per-cell Gaussian (or exponential) integrals.

    References
    ----------
    .. [1] Ichikawa, Kashiwamura & Sakata (2025), stationary law (card, "Fixed points").
    """
    q = problem.weight_quantizer
    check(isinstance(q, Quantizer), "weight_quantizer", "a Quantizer", q)
    check(problem.ste == "plain", "ste", "'plain' (the clipped STE has no unique law)", problem.ste)
    x = np.asarray(x, dtype=float)
    T = problem.eta * problem.gamma_x * e / 2
    kx, gx, lam = problem.kappa_x, problem.gamma_x, problem.ridge
    gq = gx + (lam if problem.ridge_on == "quantized" else 0.0)
    lat = lam if problem.ridge_on == "latent" else 0.0
    c, th = q.levels, q.thresholds
    d = -np.concatenate([[0.0], np.cumsum(np.diff(c) * th)])
    j = q.index(x)
    U = gq * (c[j] * x + d[j]) - kx * w_star * x + 0.5 * lat * x * x
    cells = _gibbs_cells(problem, T, [w_star])[0]
    check(
        not np.any(cells == 0.0) or np.all(np.isfinite(cells)),
        "w_star",
        "a teacher value with a normalizable stationary law (ridge > 0 or |kappa_x w*| < "
        "gamma_x max|level|)",
        w_star,
    )
    logZ = special.logsumexp(cells)
    return np.exp(-U / T - logZ)


def _gibbs_fixed_points(problem: STEProblem, n_teacher: int) -> list[FixedPoint]:
    q = problem.weight_quantizer
    check(isinstance(q, Quantizer), "weight_quantizer", "a Quantizer for kind='gibbs'", q)
    check(problem.ste == "plain", "ste", "'plain' for kind='gibbs'", problem.ste)
    ws, wq = _teacher_grid(problem, n_teacher)
    cmax = float(np.max(np.abs(q.levels)))
    kx, gx = problem.kappa_x, problem.gamma_x
    e_hi = problem.rho + problem.noise + 2 * kx * cmax * math.sqrt(problem.rho) + gx * cmax**2

    def F(e):
        return problem.residual(*_gibbs_moments(problem, e, ws, wq))

    def G(e):
        return e - F(e)

    es = np.geomspace(1e-9 * e_hi, e_hi * (1 + 1e-9), 60)
    vals = np.array([G(e) for e in es])
    out = []
    for k in range(es.size - 1):
        if vals[k] * vals[k + 1] > 0:
            continue
        e = optimize.brentq(G, es[k], es[k + 1], xtol=1e-15, rtol=1e-13)
        m_psi, q_psi = _gibbs_moments(problem, e, ws, wq)
        de = 1e-6 * e
        slope = (F(e + de) - F(e - de)) / (2 * de)
        out.append(
            FixedPoint(
                status=CONVERGED,
                n_iter=0,
                residual=float(abs(G(e))),
                kind="gibbs",
                m=None,
                Q=None,
                m_psi=m_psi,
                q_psi=q_psi,
                e=float(e),
                eg=float(problem.generalization_error(m_psi, q_psi)),
                eigenvalues=None,
                stable=bool(slope < 1),
                classification="attracting" if slope < 1 else "repelling",
                temperature=problem.eta * gx * e / 2,
            )
        )
    return out


def fixed_points(
    problem: STEProblem, kind: str = "auto", q_range=(1e-4, 1e3), n_teacher: int = 4001
) -> tuple[FixedPoint, ...]:
    """Stationary points of the limit dynamics with their stability.

    Parameters
    ----------
    problem : STEProblem
    kind : {"auto", "exact", "isotropic", "gibbs"}
        ``"exact"``: closed form without weight quantization, ``m* = κ_x ρ/(γ_x + λ)``,
        Jacobian eigenvalues ``−η(γ_x + λ)`` and ``−2η(γ_x + λ) + η² γ_x²``.
        ``"gibbs"``: the stationary law of the PDE is the Gibbs measure
        ``∝ exp(−U(ŵ)/T)`` with ``T = η γ_x e*/2`` and ``e*`` self-consistent (scalar roots found
        by scanning ``e`` and bisection); quantizer weights and plain STE.
        ``"isotropic"``: roots of the closed (m, Q) ODE by scanning ``Q`` over ``q_range``, each
        classified from its Jacobian. ``"auto"``: exact without weight quantization, gibbs for a
        quantizer, isotropic for a smooth :class:`Elementwise` transform.
    q_range : (float, float)
        Scan range of ``Q`` for ``"isotropic"``.
    n_teacher : int
        Teacher grid size for ``"gibbs"`` with a Gaussian teacher (trapezoid rule on ±9√ρ).

    Returns
    -------
    tuple of FixedPoint
        All roots found, by increasing ``Q`` (isotropic) or ``e`` (gibbs).

    References
    ----------
    .. [1] Ichikawa, Kashiwamura & Sakata (2025), fixed points and stability (card).
    """
    kinds = ("auto", "exact", "isotropic", "gibbs")
    check(kind in kinds, "kind", f"one of {kinds}", kind)
    if kind == "auto":
        if not problem.weight_quantized:
            kind = "exact"
        else:
            kind = "gibbs" if isinstance(problem.weight_quantizer, Quantizer) else "isotropic"
    if kind == "exact":
        check(
            not problem.weight_quantized, "kind", "'exact' only without weight quantization", kind
        )
        return (_exact_fixed_point(problem),)
    if kind == "isotropic":
        if not problem.weight_quantized:
            return (_exact_fixed_point(problem),)
        return tuple(_isotropic_fixed_points(problem, q_range))
    return tuple(_gibbs_fixed_points(problem, n_teacher))


def max_stable_lr(problem: STEProblem) -> float:
    """Largest stable learning rate η_c of the limit dynamics.

    Without weight quantization (unquantized or input-only): ``η_c = 2(γ_x + λ)/γ_x²``
    (unquantized ``2(1 + λ)``), from the Jacobian eigenvalue ``−2η(γ_x + λ) + η²γ_x²``. With
    quantizer weights the drift and the residual are bounded, so the limit never blows up:
    ``inf``.

    References
    ----------
    .. [1] Ichikawa, Kashiwamura & Sakata (2025), input-quantized stability bound (card).
    """
    if not problem.weight_quantized:
        return 2 * (problem.gamma_x + problem.ridge) / problem.gamma_x**2
    check(
        isinstance(problem.weight_quantizer, Quantizer),
        "weight_quantizer",
        "a Quantizer (bounded) or None",
        problem.weight_quantizer,
    )
    return math.inf


# ---------------------------------------------------------------------------- plateau
@dataclass(frozen=True, kw_only=True)
class Plateau:
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
