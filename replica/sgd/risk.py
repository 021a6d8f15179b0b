"""Exact expected risk of quantized SGD by the second-moment recursion.

Public entry point (also used by the sketched-regression module)::

    exact_risk(problem: SGDProblem, *, test="full", throw=True) -> RiskCurve

``RiskCurve`` is a frozen :class:`~replica.results.Result` and array-like: ``np.asarray(curve)``
(or ``curve.risk``) is the expected excess risk after ``n = 1, …, N`` steps, ``curve.final`` its
last entry, and ``curve.bias`` / ``curve.variance`` / ``curve.approximation`` its decomposition
(``risk = bias + variance + approximation`` at every step).

Risk conventions (``test``):

* ``"full"``: ``E[(w − w*)ᵀ H (w − w*)]``, the excess risk on full-precision test inputs
  (``bias = Σ λ_i (E w_i − w*_i)²``, ``variance = Σ λ_i Var w_i``, ``approximation = 0``);
* ``"quantized"``: ``E[(y − Q_d(x)ᵀ w)²] − σ²`` on quantized test inputs minus the full-precision
  optimum, which equals ``E[(w − w^(q)*)ᵀ H^(q) (w − w^(q)*)] + ApproxErr`` exactly
  (``bias``/``variance`` with ``H^(q)``, ``w^(q)*``; ``approximation = ‖w*‖²_H − w*ᵀH(H^(q))⁻¹Hw*``).

The risk depends on ``w*`` only through ``w*_i²`` (sign symmetry of the Gaussian coordinates), so
the average over a random target with ``E[w*_i²] = s_i`` is ``exact_risk`` at ``w_star = √s``.

Derivation (Gaussian ``x ~ N(0, H)``, ``H`` diagonal; quantization errors conditionally unbiased
with the noise model's second moment, Gaussian higher moments for the model samplers). With
``g = (1/B) Q_d(X)ᵀ r̃`` the stochastic gradient, the update is affine in ``w`` with random
coefficients, so::

    E[g | w] = H w* − H^(q) w,
    Var(g | w) = (1/B)(M₂(w) − μμᵀ) + (1 − 1/B)(K(w) − μμᵀ),

where ``M₂ = E[r̃² x̃x̃ᵀ]`` is the single-sample second moment and ``K = E[μ_S μ_Sᵀ]`` the second
moment of the batch-conditional mean given the variables shared by the batch (``Q_p(w)`` and the
rank-one relative errors of the B-vectors). ``M₂`` needs the fourth moments of the quantized
data, ``T1 = E[x̃x̃ᵀ(xᵀw*)²]``, ``T2 = E[x̃x̃ᵀ(xᵀw*)(x̃ᵀw)]``, ``T3(W) = E[x̃x̃ᵀ x̃ᵀWx̃]``, computed
exactly by Isserlis' theorem for ``x̃ = x + e`` (additive; jointly Gaussian), ``x̃ = c x`` (rank-one
multiplicative, ``E c³ = 1 + 3ε``, ``E c⁴ = 1 + 6ε + 3ε²``) and ``x̃_i = c_i x_i`` (coordinate-wise).
For diagonal ``H`` the diagonal of ``Var(g | w)`` depends on ``w`` only through ``w_i``, ``w_i²``
and the scalars ``Σ λ_j w*_j w_j``, ``Σ g_j w_j²``, so the diagonal of the iterate covariance obeys
a closed recursion (O(d) per step)::

    μ_{t} = (1 − γ_t h^q) μ_{t−1} + γ_t h w*,
    C_{t} = (1 − γ_t h^q)² C_{t−1} + γ_t² E[diag Var(g | w_{t−1})].

Averaged iterates use ``Cov(w_t, w_s) = Π_{u=s+1}^{t}(I − γ_u H^(q)) Cov(w_s)`` (O(dN) in total).
:func:`exact_risk_dense` evolves the full ``d × d`` covariance with the same moments (reference
and benchmark). Every combination of sites and noise models closes exactly; nothing is
approximated except that real rounding quantizers enter through their :meth:`~replica.noise.IntRounding.noise_model`.

References
----------
D. Zhang, J. Su, D. Zou, arXiv:2510.18259 (2025), Sec. 2-3 (quantized SGD, H^(q), w^(q)*,
ApproxErr); D. Zou, J. Wu, V. Braverman, Q. Gu, S. Kakade, "Benign overfitting of
constant-stepsize SGD for linear regression", COLT 2021, Sec. 4 (second-moment operators,
``E[xxᵀAxxᵀ] = 2HAH + tr(HA)H`` for Gaussian data).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import check, check_memory
from ..results import CONVERGED, DIVERGED, Result, finish
from .problem import SGDProblem

__all__ = ["TESTS", "RiskCurve", "exact_risk", "exact_risk_dense", "limit_risk"]

TESTS = ("full", "quantized")
# A risk above this is reported as divergence (the recursion is linear, so it grows geometrically).
_DIVERGED_AT = 1e150


@dataclass(frozen=True, kw_only=True)
class RiskCurve(Result):
    """Exact expected excess-risk curve; array-like (``np.asarray(curve)`` is :attr:`risk`).

    Attributes
    ----------
    risk, bias, variance : ndarray, shape (n_iter,)
        Entry ``n − 1`` is the value after ``n`` steps (output as set by ``averaging``).
    approximation : float
        Constant approximation error (0 for ``test="full"``).
    test : str
        Risk convention, ``"full"`` or ``"quantized"``.
    mean, variance_diag : ndarray, shape (d,)
        Mean and per-coordinate variance of the final output.
    """

    risk: np.ndarray
    bias: np.ndarray
    variance: np.ndarray
    approximation: float
    test: str
    mean: np.ndarray
    variance_diag: np.ndarray

    @property
    def steps(self) -> np.ndarray:
        """Step counts ``1, …, n_iter`` matching :attr:`risk`."""
        return np.arange(1, self.risk.size + 1)

    @property
    def final(self) -> float:
        """Risk after the last step."""
        return float(self.risk[-1])

    def __array__(self, dtype=None, copy=None):
        return np.array(self.risk, dtype=dtype, copy=True)

    def __len__(self) -> int:
        return self.risk.size

    def __getitem__(self, i):
        return self.risk[i]


# ---------------------------------------------------------------------------- moments
@dataclass(frozen=True)
class _Coefficients:
    """Per-coordinate coefficients of ``E[diag Var(g | w)]`` as a function of ``μ = E w``,
    ``P = E[w_i²]`` and the two scalars ``s_H = Σ λ_j w*_j μ_j``, ``s_G = Σ g_j P_j``::

        V = v0 + v_mu μ + v_p P + v_s s_H + v_g s_G.
    """

    v0: np.ndarray
    v_mu: np.ndarray
    v_p: np.ndarray
    v_s: np.ndarray
    v_g: np.ndarray
    g: np.ndarray


def _factors(p: SGDProblem) -> dict:
    """Scalar factors of the five sites (names follow the module docstring)."""
    sd, sl, sp, sa, so = (
        p.site(k) for k in ("data", "labels", "params", "activations", "gradients")
    )
    return {
        "sd": sd,
        # κ'_o: single-sample factor of Q_o; κ_x: E[c_x²] of a rank-one (batch-shared) error.
        "kp_o": 1.0 + so.eps_mult,
        "k_o": 1.0 + (so.eps_mult if so.rank_one else 0.0),
        "k_l": 1.0 + (sl.eps_mult if sl.rank_one else 0.0),
        "k_a": 1.0 + (sa.eps_mult if sa.rank_one else 0.0),
        "lm": sl.eps_mult,
        "la": sl.eps_add,
        "am": sa.eps_mult,
        "aa": sa.eps_add,
        "pm": sp.eps_mult,
        "pa": sp.eps_add,
        "p_rank_one": sp.rank_one,
        "oa": so.eps_add,
    }


def _data_diag(p: SGDProblem):
    """Diagonal fourth moments of the quantized data:
    ``T1_i = c1_i``, ``T2_i(w) = t2a_i s_H(w) + t2b_i w*_i w_i``,
    ``T3_i(W) = t3a_i Σ_j g_j W_jj + t3b_i W_ii``."""
    h, hq, ws = p.spectrum, p.hessian_q, p.w_star
    nh = float(np.sum(h * ws * ws))
    base1 = h * nh + 2 * h * h * ws * ws
    sd = p.site("data")
    e = sd.eps_mult
    if sd.eps_add > 0:
        return hq * nh + 2 * h * h * ws * ws, hq, 2 * h * hq, hq, hq, 2 * hq * hq
    if e > 0 and sd.rank_one:
        k3, k4 = 1 + 3 * e, 1 + 6 * e + 3 * e * e
        return (1 + e) * base1, k3 * h, 2 * k3 * h * h, k4 * h, h, 2 * k4 * h * h
    if e > 0:
        return (
            (1 + e) * base1,
            (1 + e) * h,
            (2 + 8 * e) * h * h,
            (1 + e) ** 2 * h,
            h,
            (2 + 16 * e + 8 * e * e) * h * h,
        )
    return base1, h, 2 * h * h, h, h, 2 * h * h


def _coefficients(p: SGDProblem) -> _Coefficients:
    f = _factors(p)
    h, hq, ws, s2, B = p.spectrum, p.hessian_q, p.w_star, p.noise, p.batch
    c1, t2a, t2b, t3a, g, t3b = _data_diag(p)
    hw = h * ws
    kp = f["kp_o"]
    pm, pa = f["pm"], f["pa"]
    # W_ii = (1 + ε_p^m) P_i + ε_p^a  and  Σ g_j W_jj = (1 + ε_p^m) s_G + ε_p^a Σ g_j
    m2_const = (
        kp
        * (
            (1 + f["lm"]) * (c1 + s2 * hq)
            + (f["la"] + f["aa"]) * hq
            + (1 + f["am"]) * (t3b * pa + t3a * pa * float(np.sum(g)))
        )
        + f["oa"] * hq
    )
    m2_mu = -2 * kp * t2b * ws
    m2_s = -2 * kp * t2a
    m2_g = kp * (1 + f["am"]) * (1 + pm) * t3a
    m2_p = kp * (1 + f["am"]) * (1 + pm) * t3b
    ko, kl, ka = f["k_o"], f["k_l"], f["k_a"]
    w = 1.0 - 1.0 / B
    # (M2 − E μμᵀ)/B + (1 − 1/B)(K − E μμᵀ), with E μ(w)² = (hw)² − 2 h hq w* μ + hq² P
    v0 = (m2_const - hw * hw) / B + w * ((ko * kl - 1) * hw * hw + hq * hq * ko * ka * pa)
    v_mu = (m2_mu + 2 * h * hq * ws) / B - w * 2 * (ko - 1) * h * hq * ws
    v_p = (m2_p - hq * hq) / B + w * hq * hq * (ko * ka * (1 + pm) - 1)
    return _Coefficients(v0=v0, v_mu=v_mu, v_p=v_p, v_s=m2_s / B, v_g=m2_g / B, g=g)


def _test_weights(p: SGDProblem, test: str):
    check(test in TESTS, "test", f"one of {TESTS}", test)
    if test == "full":
        return p.spectrum, p.w_star, 0.0
    h, hq, ws = p.spectrum, p.hessian_q, p.w_star
    approx = float(np.sum(h * ws * ws) - np.sum(h * h * ws * ws / hq))
    return hq, p.w_q_star, max(approx, 0.0)


class _Output:
    """Turns the per-step moments (μ_t, C_t) of the iterates into the risk of the output."""

    def __init__(self, p: SGDProblem, test: str):
        self.weights, self.target, self.approx = _test_weights(p, test)
        self.hq = p.hessian_q
        self.avg = p.averaging
        self.start = 0 if p.averaging == "iterate" else (p.tail_start or 0)
        d = p.dim
        self.S = np.zeros(d)  # Σ_t C_t over the window
        self.X = np.zeros(d)  # Σ_{s<t} Π ρ C_s over the window
        self.D = np.zeros(d)  # Σ_{s<t} Π_{u=s+1}^{t} ρ_u C_s at the current t
        self.M = np.zeros(d)  # Σ_t μ_t over the window
        self.count = 0

    def parts(self, mean, var):
        bias = float(np.sum(self.weights * (mean - self.target) ** 2))
        return bias, float(np.sum(self.weights * var))

    def add(self, t, mu, C, rho_next):
        """Iterate ``t`` (before update ``t + 1``, whose contraction is ``rho_next``) joins the
        running window; returns the (mean, var) of the output ``n = t + 1`` for averaged
        outputs, or None."""
        if self.avg == "last":
            return None
        if t < self.start:
            return mu, C
        self.X += self.D
        self.S += C
        self.M += mu
        self.count += 1
        self.D = rho_next * (self.D + C)
        n = self.count
        return self.M / n, (self.S + 2 * self.X) / (n * n)


def _run(p: SGDProblem, test: str, throw: bool, init, step_fn, diag_of) -> RiskCurve:
    N = p.steps
    # the step schedule and the risk/bias/variance curves (N each) and ~10 vectors of length d
    # (the dense reference: a few d × d matrices)
    d = p.dim
    n_floats = 4 * N + (10 * d if diag_of is not np.diag else 6 * d * d)
    check_memory(8.0 * n_floats, "steps", f"N={N} steps at d={d}")
    out = _Output(p, test)
    gam = p.step_array
    risk, bias, var = np.empty(N), np.empty(N), np.empty(N)
    mu, C = init
    status, n_done = CONVERGED, N
    mean_f, var_f = mu, diag_of(C)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(N):
            rho = 1.0 - gam[t] * p.hessian_q
            got = out.add(t, mu, diag_of(C), rho)
            mu, C = step_fn(mu, C, gam[t], rho)
            mean_f, var_f = (mu, diag_of(C)) if got is None else got
            b, v = out.parts(mean_f, var_f)
            bias[t], var[t] = b, v
            risk[t] = b + v + out.approx
            if not np.isfinite(risk[t]) or risk[t] > _DIVERGED_AT:
                status, n_done = DIVERGED, t + 1
                break
    res = RiskCurve(
        status=status,
        n_iter=n_done,
        residual=0.0 if status == CONVERGED else float("inf"),
        risk=risk[:n_done],
        bias=bias[:n_done],
        variance=var[:n_done],
        approximation=out.approx,
        test=test,
        mean=np.array(mean_f, dtype=float),
        variance_diag=np.array(var_f, dtype=float),
    )
    return finish(res, throw, "exact SGD risk recursion (step size too large?)")


def exact_risk(problem: SGDProblem, *, test: str = "full", throw: bool = True) -> RiskCurve:
    """Exact expected excess risk after ``n = 1, …, N`` steps (O(d) per step).

    Parameters
    ----------
    problem : SGDProblem
        The quantized SGD problem (diagonal ``H``, any step schedule, any output averaging).
    test : {"full", "quantized"}
        Risk convention (module docstring).
    throw : bool
        Raise :class:`~replica.errors.ConvergenceError` (carrying the truncated curve) when the
        recursion diverges; with ``False`` the curve is returned with ``status="diverged"``.

    Returns
    -------
    RiskCurve
        Array-like risk curve with its bias/variance/approximation decomposition.

    References
    ----------
    D. Zhang, J. Su, D. Zou, arXiv:2510.18259 (2025), Sec. 2 (update, noise models), with the
    second-moment operators of Zou et al., COLT 2021, Sec. 4.

    Examples
    --------
    >>> from replica.sgd import SGDProblem, exact_risk
    >>> p = SGDProblem(spectrum=[1.0], w_star=1.0, noise=0.0, step=0.5, steps=2, averaging="last")
    >>> exact_risk(p).risk.round(4).tolist()  # E(1 − w)²: 1 − 2γ + 3γ² per step from 1
    [0.75, 0.5625]
    """
    check(isinstance(problem, SGDProblem), "problem", "an SGDProblem", problem)
    k = _coefficients(problem)
    hw = problem.spectrum * problem.w_star
    w0 = np.array(problem.w0, dtype=float)

    def step(mu, C, gam, rho):
        P = C + mu * mu
        V = k.v0 + k.v_mu * mu + k.v_p * P + k.v_s * float(hw @ mu) + k.v_g * float(k.g @ P)
        return rho * mu + gam * hw, rho * rho * C + gam * gam * V

    return _run(problem, test, throw, (w0, np.zeros(problem.dim)), step, lambda C: C)


def limit_risk(problem: SGDProblem, *, test: str = "full") -> float:
    """Excess risk of the averaged iterate as ``N → ∞`` at a constant step: the quantization floor.

    The mean iterate obeys ``μ_t = (I − γH^(q))μ_{t−1} + γHw*`` for every site and noise model
    (the errors are unbiased), so ``w̄_N → w^(q)* = (H^(q))⁻¹Hw*``, while the average's variance
    decays like ``1/N`` when the second moments are stable (:func:`exact_risk` reports divergence
    otherwise). Only the data quantizer survives the limit::

        full:       Σ_i λ_i (w^(q)*_i − w*_i)²  = Σ_i λ_i w*_i² (1 − λ_i/λ^(q)_i)²,
        quantized:  ApproxErr = Σ_i λ_i w*_i² (λ^(q)_i − λ_i)/λ^(q)_i,

    e.g. additive (INT) ``Σ λ_i w*_i² ε²/(λ_i + ε)²`` and multiplicative (FP)
    ``(ε/(1 + ε))² ‖w*‖²_H`` on full-precision test inputs.

    Parameters
    ----------
    problem : SGDProblem
        Constant step and an averaged output (``averaging="iterate"`` or ``"tail"``): the last
        iterate keeps a stationary variance of order γ, which this limit does not contain.
    test : {"full", "quantized"}
        Risk convention (module docstring).

    References
    ----------
    D. Zhang, J. Su, D. Zou, arXiv:2510.18259 (2025), Sec. 3 (``H^(q)``, ``w^(q)*``, ApproxErr).

    Examples
    --------
    >>> from replica.noise import Additive
    >>> p = SGDProblem(spectrum=[1.0, 0.1], steps=10, quantization={"data": Additive(eps=0.1)})
    >>> round(limit_risk(p), 6)  # 1·(0.1/1.1)² + 0.1·(0.1/0.2)²
    0.033264
    """
    check(isinstance(problem, SGDProblem), "problem", "an SGDProblem", problem)
    check(test in TESTS, "test", f"one of {TESTS}", test)
    check(problem.averaging in ("iterate", "tail"), "averaging",
          "'iterate' or 'tail' (the last iterate keeps a stationary variance)",
          problem.averaging)  # fmt: skip
    check(np.ndim(problem.step) == 0, "step",
          "a constant step (a schedule changes the limit of the average)", "a schedule")  # fmt: skip
    h, hq, ws = problem.spectrum, problem.hessian_q, problem.w_star
    shrink = (hq - h) / hq  # 1 − λ/λ^(q), exact without cancellation for tiny ε
    if test == "full":
        return float(np.sum(h * ws * ws * shrink * shrink))
    return float(np.sum(h * ws * ws * shrink))


# ---------------------------------------------------------------------------- dense reference
def _dense_variance(p: SGDProblem, mu: np.ndarray, P: np.ndarray) -> np.ndarray:
    """``E[Var(g | w)]`` as a ``d × d`` matrix for ``E w = mu``, ``E wwᵀ = P``."""
    f = _factors(p)
    h, hq, ws, s2, B = p.spectrum, p.hessian_q, p.w_star, p.noise, p.batch
    H, Hq = np.diag(h), np.diag(hq)
    hw = h * ws
    nh = float(hw @ ws)
    sH = float(hw @ mu)
    # parameter error: Σ_p(P) = ε_p^a I + ε_p^m (P or Diag P)
    W = P + f["pa"] * np.eye(p.dim)
    if f["pm"] > 0:
        W = W + f["pm"] * (P if f["p_rank_one"] else np.diag(np.diag(P)))
    T1 = 2 * np.outer(hw, hw) + nh * H
    T2 = np.outer(hw, h * mu) + np.outer(h * mu, hw) + sH * H
    T3 = 2 * np.outer(h, h) * W + float(h @ np.diag(W)) * H
    sd = f["sd"]
    e = sd.eps_mult
    if sd.eps_add > 0:
        T1 = 2 * np.outer(hw, hw) + nh * Hq
        T2 = np.outer(hw, hq * mu) + np.outer(hq * mu, hw) + sH * Hq
        T3 = 2 * np.outer(hq, hq) * W + float(hq @ np.diag(W)) * Hq
    elif e > 0 and sd.rank_one:
        T1, T2, T3 = (1 + e) * T1, (1 + 3 * e) * T2, (1 + 6 * e + 3 * e * e) * T3
    elif e > 0:
        T1 = T1 + e * np.diag(np.diag(T1))
        T2 = (1 + e) * T2 + 6 * e * np.diag(h * h * ws * mu)
        T3 = (1 + e) ** 2 * T3 + (12 * e + 6 * e * e) * np.diag(h * h * np.diag(W))
    M2 = (
        f["kp_o"]
        * ((1 + f["lm"]) * (T1 + s2 * Hq) - 2 * T2 + (1 + f["am"]) * T3 + (f["la"] + f["aa"]) * Hq)
        + f["oa"] * Hq
    )
    cross = np.outer(hw, hq * mu) + np.outer(hq * mu, hw)
    Emu = np.outer(hw, hw) - cross + np.outer(hq, hq) * P
    K = f["k_o"] * (f["k_l"] * np.outer(hw, hw) - cross + f["k_a"] * np.outer(hq, hq) * W)
    return (M2 - Emu) / B + (1 - 1 / B) * (K - Emu)


def exact_risk_dense(problem: SGDProblem, *, test: str = "full", throw: bool = True) -> RiskCurve:
    """Same as :func:`exact_risk` but evolving the full ``d × d`` covariance (O(d²) per step).

    A reference implementation (matrix forms of the same moments, e.g.
    ``T3(W) = 2HWH + tr(HW)H``) used to check that the diagonal recursion closes, and the
    baseline of the ``sgd`` benchmark.
    """
    check(isinstance(problem, SGDProblem), "problem", "an SGDProblem", problem)
    d = problem.dim
    # the covariance, the second moment, the variance and the products of one step (d × d each)
    check_memory(8.0 * 8 * d * d, "spectrum", f"dense d x d covariances at d={d}")
    hw = problem.spectrum * problem.w_star
    w0 = np.array(problem.w0, dtype=float)

    def step(mu, C, gam, rho):
        V = _dense_variance(problem, mu, C + np.outer(mu, mu))
        return rho * mu + gam * hw, np.outer(rho, rho) * C + gam * gam * V

    return _run(problem, test, throw, (w0, np.zeros((problem.dim,) * 2)), step, np.diag)
