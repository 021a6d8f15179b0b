"""The two-precision TAP-landscape branch: what damped AMP reaches where RS is unstable (AT > 1).

**Status: conjecture.** This is a candidate theory found by studying damped AMP inside the RSB
phase; it has no fitted parameter and agrees with finite-size AMP ensembles at the points
recorded in ``paper_repro/kashiwamura2024_amp.py`` and in the tests, but it is not derived from
the Gibbs measure and is not known to be exact. What is *proved* (here, symbolically, in
:mod:`replica.symbolic.tap`) is the algebra below; what is *conjectured* is that damped AMP
converges to the stationary point of ``Ψ_A`` that the RS analysis of that M-estimator describes.

Construction
------------
An AMP fixed point at precision ``A`` (:func:`replica.amp.run`) is a stationary point of the
TAP landscape

    Ψ_A(w) = (β/2)‖y − Xw‖² + Σᵢ ρ_A(wᵢ),    ρ_A(w) = φ_A*(w) − A w²/2,

where ``φ_A*`` is the Legendre transform of ``φ_A(h) = ln Σ_k exp(h c_k − (A + βλ) c_k²/2)``
(ridge ``λ`` included): ``ρ_A'(w) = A(s − w)`` at ``w = f_A(s)``, so ``∇Ψ_A = 0`` is AMP's
``s = w + βXᵀ(y − Xw)/A``. Analysed as an M-estimator (RS, zero temperature), the minimiser of
``Ψ_A`` is the proximal map of ``ρ_A`` at a second precision ``B`` applied to a Gaussian field
``r = w⁰ + √Δ z``. Written through AMP's own field ``s`` (``w = f_A(s)``):

    r(s) = (A/B) s + (1 − A/B) f_A(s),     r'(s) = (A/B)(1 + (B − A) v_A(s)),

with ``f_A, v_A`` the mean and variance of the grid posterior ``∝ exp(−A(c_k − s)²/2 − βλc_k²/2)``.
Averages run over the law of ``s``: ``E[g] = ∫ ds r'(s) p(r(s)) g(s)``, ``p`` the law of
``w⁰ + √Δ z``. Three equations fix ``(A, B, Δ)``:

    (1)  A (1/β + E[v_A]) = α                            (AMP's own precision)
    (2)  B (1/β + E[v_A / (1 + (B − A) v_A)]) = α         (the M-estimator's precision)
    (3)  α Δ = E[(w⁰ − f_A)²] + σ²

Outputs: ``mse = E[(w⁰ − f_A)²]``, ``m = E[w⁰ f_A]``, ``q = E[f_A²]``, ``V = E[v_A]``,
``V_B = E[v_A/(1 + (B − A)v_A)]``, training error ``(mse + σ²)/(1 + βV_B)²`` and the replicon
of the M-estimator ``λ_M = (B²/α) E[(v_A/(1 + (B − A)v_A))²]`` (= ``(1/α)E[(prox')²]``).

``B = A`` is exactly the RS saddle point (``r = s``, (1) = (2), ``λ_M`` = AT). Along the
continuation ``B = A e^t`` with (1) and (3) imposed, the residual ``G(t)`` of (2) has
``G'(0) = 1 − AT`` exactly (:func:`replica.symbolic.tap.tap_derivation`), so a branch ``B ≠ A``
bifurcates from RS on the AT line; where ``AT > 1``, ``G < 0`` just above ``t = 0`` and the
solver brackets the first positive root ``t*`` of ``G``. That the branch does not exist where
``AT < 1`` is checked (by scans, in the tests), not assumed.

References
----------
S. Kashiwamura, A. Sakata, M. Imaizumi, arXiv:2401.17269 (the model, RS theory and AMP);
the M-estimation analysis follows the standard RS / AMP treatment of penalised least squares
(e.g. D. L. Donoho, A. Montanari, "High dimensional robust M-estimation", PTRF 166 (2016)).
The two-precision construction is this project's conjecture (issue 17).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .channel import _posterior_stats, clustered_rule, transitions
from .errors import check
from .regression import QuantizedRegression, solve_rs
from .results import CONVERGED, MAX_ITER, Compact, Result, finish

__all__ = [
    "NO_BRANCH",
    "TAPAverages",
    "TAPSolution",
    "branch_scan",
    "field_density",
    "solve_tap",
    "tap_averages",
    "tap_residual",
]

#: status of :func:`solve_tap` where AT > 1 but no root ``B > A`` was found up to ``t_max``
NO_BRANCH = "no_tap_branch"
# where |AT − 1| is below this, RS and the branch coincide to the solver's precision
_AT_EPS = 1e-9
_HALF_WIDTH = 13.0  # the Gaussian density is integrated over ±13 standard deviations
_TINY = 1e-300


@dataclass(frozen=True, kw_only=True)
class TAPAverages(Compact):
    """Averages over the law of AMP's field ``s`` at ``(A, B, Δ)`` (see the module docstring).

    ``norm`` is ``∫ ds r'(s) p(r(s))`` (1 up to quadrature error: a diagnostic), ``V = E[v_A]``,
    ``V_B = E[v_A/(1 + (B − A)v_A)]``, ``mse = E[(w⁰ − f_A)²]``, ``m = E[w⁰ f_A]``,
    ``q = E[f_A²]``, ``at = (A²/α)E[v_A²]`` (the RS AT form, at this ``A``), ``replicon =
    (B²/α)E[(v_A/(1 + (B − A)v_A))²]``.
    """

    norm: float
    V: float
    V_B: float
    mse: float
    m: float
    q: float
    at: float
    replicon: float


def _map(s, A, B, levels, rp):
    """``(r(s), r'(s), f_A(s), v_A(s))`` at nodes ``s``."""
    stats = _posterior_stats(np.atleast_1d(np.asarray(s, dtype=float)), A, levels, rp)
    f, v = stats[0], stats[1]  # mean and variance lead the channel's tuple
    k = A / B
    return k * s + (1.0 - k) * f, k * (1.0 + (B - A) * v), f, v


def _inverse(targets, A, B, levels, rp):
    """``s`` with ``r(s) = target`` for each target (``r`` is increasing for ``B ≥ A``):
    Newton's method safeguarded by bisection, vectorised over the targets."""
    targets = np.asarray(targets, dtype=float)
    if B == A:
        return targets.copy()
    # |r(s) − (A/B)s| ≤ (1 − A/B) max|c_k|, so each root lies in this bracket
    c = float(np.max(np.abs(levels)))
    k = A / B
    lo = (targets - (1.0 - k) * c) / k - 1e-9 * (1.0 + np.abs(targets) / k)
    hi = (targets + (1.0 - k) * c) / k + 1e-9 * (1.0 + np.abs(targets) / k)
    x = targets / k
    for _ in range(200):
        r, dr, _, _ = _map(x, A, B, levels, rp)
        h = r - targets
        lo = np.where(h < 0, x, lo)
        hi = np.where(h > 0, x, hi)
        step = x - h / dr
        bad = ~((step > lo) & (step < hi))
        new = np.where(bad, 0.5 * (lo + hi), step)
        scale = 1.0 + np.abs(x)
        if np.all((np.abs(new - x) <= 1e-15 * scale) | (h == 0)) or np.all(
            hi - lo <= 4e-16 * scale
        ):
            return new
        x = new
    return x


def _nodes(model, A, B, mu, sd):
    """Quadrature nodes and weights in ``s`` for one teacher component N(μ, sd² − Δ)."""
    levels = model.quantizer.levels
    rp = model.beta * model.ridge
    lo, center, hi = _inverse([mu - _HALF_WIDTH * sd, mu, mu + _HALF_WIDTH * sd], A, B, levels,
                              rp).tolist()  # fmt: skip
    slope = float(_map(center, A, B, levels, rp)[1][0])
    sd_s = sd / slope  # the density's width in s near its centre
    r_k, widths = transitions(levels, A, rp)
    gaps = np.concatenate([[np.inf], np.diff(r_k), [np.inf]])
    nbr = np.minimum(gaps[:-1], gaps[1:])
    # switches narrow against the density and their neighbours get their own node cluster
    sharp = widths < np.minimum(2.0 * nbr, 0.1 * sd_s)
    edges = levels[[0, -1]] * (1.0 + rp / A)  # f_A saturates on the scale 1/√A
    pts = np.concatenate([r_k[sharp], [center], edges])
    scl = np.concatenate([widths[sharp], [sd_s], np.full(2, 1.0 / math.sqrt(A))])
    return clustered_rule(pts, scl, lo, hi, 64)


def tap_averages(model: QuantizedRegression, A: float, B: float, delta: float) -> TAPAverages:
    """The averages entering equations (1)–(3) at ``(A, B, Δ)`` (finite β, ``B ≥ A``).

    Each Gaussian component ``N(μ, s_j)`` of the teacher gives ``r ~ N(μ, s_j + Δ)`` with
    ``E[w⁰|r] = μ + g(r − μ)``, ``g = s_j/(s_j + Δ)``; the integral runs in ``s`` with the
    Jacobian ``r'(s)``, on nodes clustered at the posterior's switches (as in
    :func:`replica.channel.channel_averages`, which it reproduces at ``B = A``).
    """
    levels = model.quantizer.levels
    rp = model.beta * model.ridge
    pi, mus, ss = model.teacher.mixture()
    acc = np.zeros(8)
    for p_j, mu, s_j in zip(pi.tolist(), mus.tolist(), ss.tolist()):
        if p_j <= 0:
            continue
        tau = s_j + delta
        sd = math.sqrt(tau)
        g = s_j / tau
        x, w = _nodes(model, A, B, mu, sd)
        r, jac, f, v = _map(x, A, B, levels, rp)
        u = (r - mu) / sd
        dens = np.exp(-0.5 * u * u) * (jac * w / (sd * math.sqrt(2.0 * math.pi)))
        a = mu + g * (r - mu)
        vb = v / (1.0 + (B - A) * v)
        err = a - f
        rows = [np.ones_like(x), v, vb, err * err, a * f, f * f, v * v, vb * vb]
        sums = np.stack(rows) @ dens
        sums[3] += s_j * delta / tau * sums[0]  # Var(w⁰|r), integrated without cancellation
        acc += p_j * sums
    norm, V, V_B, mse, m, q, ev2, evb2 = acc.tolist()
    a = model.alpha
    return TAPAverages(norm=norm, V=V, V_B=V_B, mse=mse, m=m, q=q, at=A * A * ev2 / a,
                       replicon=B * B * evb2 / a)  # fmt: skip


def tap_residual(model: QuantizedRegression, A: float, B: float, delta: float):
    """``(res, avg)``: the logarithmic residuals of equations (1), (2), (3) at ``(A, B, Δ)``,
    ``ln[A(1/β + V)/α]``, ``ln[B(1/β + V_B)/α]``, ``ln[(mse + σ²)/(αΔ)]``, and the averages."""
    avg = tap_averages(model, A, B, delta)
    ib, a = 1.0 / model.beta, model.alpha
    # floors: at perfect recovery (σ² = 0, teacher on the grid) mse and Δ underflow to 0
    res = np.array([math.log(A * (ib + avg.V) / a), math.log(B * (ib + avg.V_B) / a),
                    math.log((avg.mse + model.noise + _TINY) / (a * delta + _TINY))])  # fmt: skip
    return res, avg


@dataclass(frozen=True, kw_only=True)
class TAPSolution(Result):
    """A solution of the two-precision TAP-landscape equations (see :mod:`replica.tap`).

    Attributes
    ----------
    A, B : float
        AMP's precision and the M-estimator's precision (``B = A`` on the RS branch).
    delta : float
        Variance Δ of the Gaussian field ``r = w⁰ + √Δ z``.
    mse, m, q : float
        ``E[(w⁰ − ŵ)²]``, ``E[w⁰ŵ]``, ``E[ŵ²]`` of AMP's estimate ``ŵ = f_A(s)``.
    V, V_B : float
        ``E[v_A]`` (AMP's mean posterior variance) and ``E[v_A/(1 + (B − A)v_A)]``.
    gen_error : float
        ``mse + σ²`` (``mse`` if the model has ``include_noise=False``).
    train_error : float
        ``(mse + σ²)/(1 + βV_B)²`` = ``‖y − Xŵ‖²/M``.
    replicon : float
        ``λ_M = (B²/α) E[(v_A/(1 + (B − A)v_A))²]``; equal to ``at`` on the RS branch.
    at : float
        The AT quantity of the RS solution of the same model (``> 1``: RS unstable).
    branch : str
        ``"rs"`` (``B = A``: where AT ≤ 1 this is the answer), ``"tap"`` (``B > A``) or
        ``"conditional"`` (``A`` fixed by the caller, equation (1) not imposed).
    log_ratio : float
        ``t = ln(B/A)``.
    """

    A: float
    B: float
    delta: float
    mse: float
    m: float
    q: float
    V: float
    V_B: float
    gen_error: float
    train_error: float
    replicon: float
    at: float
    branch: str
    log_ratio: float

    @property
    def is_rs(self) -> bool:
        """Whether this is the RS solution (``B = A``)."""
        return self.branch == "rs"


class _Counter:
    def __init__(self):
        self.n = 0


def _newton(fun, x, tol, max_iter, counter, h=1e-7):
    """Newton's method with a forward-difference Jacobian and step halving on a small system;
    returns ``(x, res)`` (never raises on non-convergence)."""
    res = fun(x)
    counter.n += 1
    for _ in range(max_iter):
        if not np.all(np.isfinite(res)):
            break
        if np.max(np.abs(res)) < tol:
            break
        J = np.empty((res.size, x.size))
        for j in range(x.size):
            e = np.zeros(x.size)
            e[j] = h
            J[:, j] = (fun(x + e) - res) / h
            counter.n += 1
        try:
            step = -np.linalg.solve(J, res)
        except np.linalg.LinAlgError:
            break
        step = np.clip(step, -1.0, 1.0)
        for _ in range(30):  # backtrack until the residual decreases
            trial = fun(x + step)
            counter.n += 1
            if np.all(np.isfinite(trial)) and np.max(np.abs(trial)) < np.max(np.abs(res)):
                break
            step = 0.5 * step
        else:
            break
        x, res = x + step, trial
    return x, res


def _check_model(model):
    check(isinstance(model, QuantizedRegression), "model", "a QuantizedRegression", model)
    check(math.isfinite(model.beta), "model.beta",
          "a finite inverse temperature (the TAP branch describes AMP, which needs β < ∞)",
          model.beta)  # fmt: skip
    check(model.estimator == "mean", "model.estimator",
          "'mean' (the TAP branch describes AMP's estimate ŵ = f_A(s))", model.estimator)  # fmt: skip


def _assemble(model, A, B, delta, res, avg, **meta) -> TAPSolution:
    s2 = model.noise
    gen = avg.mse + (s2 if model.include_noise else 0.0)
    train = (avg.mse + s2) / (1.0 + model.beta * avg.V_B) ** 2
    return TAPSolution(
        A=A, B=B, delta=delta, mse=avg.mse, m=avg.m, q=avg.q, V=avg.V, V_B=avg.V_B,
        gen_error=gen, train_error=train, replicon=avg.replicon, log_ratio=math.log(B / A),
        residual=float(np.max(np.abs(res))) if np.all(np.isfinite(res)) else math.inf, **meta,
    )  # fmt: skip


def _default_ts(t_max):
    """Scan of ``t = ln(B/A)``: geometric near 0 (the branch is born at ``t = 0`` on the AT
    line), then steps of 0.05."""
    small = np.geomspace(1e-6, 0.05, 24)
    big = np.arange(0.1, t_max + 1e-12, 0.05)
    return np.concatenate([small, big])


def solve_tap(
    model: QuantizedRegression,
    throw: bool = True,
    A: float | None = None,
    tol: float = 1e-12,
    t_max: float = 6.0,
    max_iter: int = 60,
) -> TAPSolution:
    """Solve the two-precision TAP-landscape equations of ``model`` (conjecture; see
    :mod:`replica.tap`).

    Parameters
    ----------
    model : QuantizedRegression
        Finite β, ``estimator="mean"``; any grid, teacher and ridge.
    throw : bool
        Raise :class:`~replica.ConvergenceError` (carrying the result) if not converged.
    A : float, optional
        Fix AMP's precision (e.g. one instance's own ``A``) and solve only equations (2) and (3)
        for ``(B, Δ)``: the *conditional* prediction (``branch="conditional"``), started from
        the unconditional solution.
    tol : float
        Convergence criterion on the largest logarithmic residual of the equations (relative
        precision of ``A``, ``B`` and ``Δ``).
    t_max : float
        Largest ``ln(B/A)`` scanned for the branch.
    max_iter : int
        Newton iterations per solve.

    Returns
    -------
    TAPSolution
        Where the RS solution has ``AT ≤ 1``: the RS solution (``branch="rs"``, ``B = A``),
        solved in these equations. Where ``AT > 1``: the branch ``B > A`` (``branch="tap"``).
        ``status`` is ``"converged"``, ``"max_iter"`` (a Newton solve did not reach ``tol``) or
        ``"no_tap_branch"`` (AT > 1 but ``G(t)`` has no sign change on ``(0, t_max]``; the RS
        values are reported). ``n_iter`` counts evaluations of the averages.

    Notes
    -----
    A Newton start from RS falls back to RS (``B = A`` solves (1)–(3) everywhere), so the branch
    is found by continuation in ``t = ln(B/A)``: for each ``t`` (1) and (3) are solved for
    ``(A, Δ)`` (warm start from the previous ``t``); the first sign change of the residual of
    (2) is bracketed, located by Brent's method and polished by Newton on all three equations.
    """
    from .designs import gaussian_only

    gaussian_only(model, "solve_tap")
    _check_model(model)
    check(tol > 0, "tol", "a number > 0", tol)
    check(isinstance(t_max, (int, float)) and math.isfinite(t_max) and t_max > 0, "t_max",
          "a finite number > 0", t_max)  # fmt: skip
    check(A is None or (isinstance(A, (int, float, np.floating)) and math.isfinite(A) and A > 0),
          "A", "None or a finite precision > 0", A)  # fmt: skip
    counter = _Counter()
    rs_sol = _rs_branch(model, tol, max_iter, counter)
    what = f"solve_tap({model.quantizer.name}, alpha={model.alpha:g}, beta={model.beta:g})"
    if A is None:
        if rs_sol.at <= 1.0 + _AT_EPS or not rs_sol.converged:
            return finish(dataclasses.replace(rs_sol, n_iter=counter.n), throw, what)
        sol = _tap_branch(model, rs_sol, tol, t_max, max_iter, counter)
        return finish(dataclasses.replace(sol, n_iter=counter.n), throw, what)
    start = rs_sol if rs_sol.at <= 1.0 + _AT_EPS else _tap_branch(
        model, rs_sol, tol, t_max, max_iter, counter)  # fmt: skip
    A = float(A)

    def fun(y):
        return tap_residual(model, A, math.exp(y[0]), math.exp(y[1]))[0][1:]

    lb = math.log(max(start.B, A))
    y, _ = _newton(fun, np.array([lb, math.log(start.delta)]), tol, max_iter, counter)
    B, delta = math.exp(y[0]), math.exp(y[1])
    res, avg = tap_residual(model, A, B, delta)
    res = res[1:]
    status = CONVERGED if np.max(np.abs(res)) < tol else MAX_ITER
    sol = _assemble(model, A, B, delta, res, avg, status=status, n_iter=counter.n,
                    at=rs_sol.at, branch="conditional")  # fmt: skip
    return finish(sol, throw, what + f" at A={A:g}")


def _rs_branch(model, tol, max_iter, counter) -> TAPSolution:
    """``B = A``: equations (1) and (3) (the RS saddle point) solved on this module's
    quadrature, started from :func:`replica.solve_rs`."""
    rs = solve_rs(model, throw=False)
    counter.n += rs.n_iter

    def fun(y):
        A = math.exp(y[0])
        return tap_residual(model, A, A, math.exp(y[1]))[0][[0, 2]]

    y, _ = _newton(fun, np.array([math.log(rs.A), math.log(rs.delta)]), tol, max_iter, counter)
    A, delta = math.exp(y[0]), math.exp(y[1])
    res, avg = tap_residual(model, A, A, delta)
    status = CONVERGED if np.max(np.abs(res)) < tol else MAX_ITER
    return _assemble(model, A, A, delta, res, avg, status=status, n_iter=counter.n, at=avg.at,
                     branch="rs")  # fmt: skip


def _inner(model, t, y0, max_iter, counter):
    """Equations (1) and (3) solved for ``(ln A, ln Δ)`` at ``B = A e^t``; returns
    ``(x, G, inner residual)`` with ``G`` the residual of equation (2)."""

    def fun(x):
        A = math.exp(x[0])
        return tap_residual(model, A, A * math.exp(t), math.exp(x[1]))[0][[0, 2]]

    x, res = _newton(fun, np.asarray(y0, dtype=float), 1e-13, max_iter, counter)
    A = math.exp(x[0])
    full, _ = tap_residual(model, A, A * math.exp(t), math.exp(x[1]))
    counter.n += 1
    return x, float(full[1]), float(np.max(np.abs(res)))


def branch_scan(model: QuantizedRegression, ts=None, t_max: float = 6.0, max_iter: int = 60):
    """The continuation ``B = A e^t`` from the RS point: for each ``t`` (increasing, > 0),
    equations (1) and (3) solved for ``(A, Δ)`` and the residual ``G(t)`` of equation (2).

    Roots of ``G`` at ``t > 0`` are TAP branches; ``G'(0) = 1 − AT``. Returns a dict of arrays
    ``t, G, A, delta, inner_residual`` (``inner_residual``: how well (1) and (3) were solved).
    """
    _check_model(model)
    ts = _default_ts(t_max) if ts is None else np.asarray(ts, dtype=float)
    check(ts.ndim == 1 and ts.size >= 1 and bool(np.all(ts > 0)) and bool(np.all(np.diff(ts) > 0)),
          "ts", "an increasing 1-D array of t = ln(B/A) > 0", ts)  # fmt: skip
    counter = _Counter()
    rs_sol = _rs_branch(model, 1e-12, max_iter, counter)
    y = np.array([math.log(rs_sol.A), math.log(rs_sol.delta)])
    out = {k: [] for k in ("t", "G", "A", "delta", "inner_residual")}
    for t in ts.tolist():
        y, g, ok = _inner(model, t, y, max_iter, counter)
        for k, val in (("t", t), ("G", g), ("A", math.exp(y[0])), ("delta", math.exp(y[1])),
                       ("inner_residual", ok)):  # fmt: skip
            out[k].append(val)
    return {k: np.asarray(val) for k, val in out.items()}


def _tap_branch(model, rs_sol, tol, t_max, max_iter, counter) -> TAPSolution:
    """Continuation in ``t = ln(B/A)`` from the RS point to the first root of equation (2)."""
    y = np.array([math.log(rs_sol.A), math.log(rs_sol.delta)])
    path = {}
    prev_t = 0.0
    bracket = None
    for t in _default_ts(t_max).tolist():
        y, g, ok = _inner(model, t, y, max_iter, counter)
        if not (math.isfinite(g) and ok < 1e-9):
            break
        path[t] = y
        if g > 0:  # G < 0 just above t = 0 where AT > 1: the first sign change is the branch
            bracket = (prev_t, t) if prev_t > 0 else None
            break
        prev_t = t
    if bracket is None:
        res, avg = tap_residual(model, rs_sol.A, rs_sol.A, rs_sol.delta)
        return _assemble(model, rs_sol.A, rs_sol.A, rs_sol.delta, res, avg, status=NO_BRANCH,
                         n_iter=counter.n, at=rs_sol.at, branch="rs")  # fmt: skip

    def g_only(t):
        near = path[min(path, key=lambda u: abs(u - t))]
        x, g, _ = _inner(model, t, near, max_iter, counter)
        path[t] = x
        return g

    t_star = optimize.brentq(g_only, *bracket, xtol=1e-14, rtol=1e-14)
    x0 = path[min(path, key=lambda u: abs(u - t_star))]

    def full(x):
        return tap_residual(model, math.exp(x[0]), math.exp(x[1]), math.exp(x[2]))[0]

    x, _ = _newton(full, np.array([x0[0], x0[0] + t_star, x0[1]]), tol, max_iter, counter)
    A, B, delta = (math.exp(v) for v in x)
    res, avg = tap_residual(model, A, B, delta)
    status = CONVERGED if np.max(np.abs(res)) < tol and B > A else MAX_ITER
    return _assemble(model, A, B, delta, res, avg, status=status, n_iter=counter.n,
                     at=rs_sol.at, branch="tap")  # fmt: skip


def field_density(model: QuantizedRegression, sol: TAPSolution, s) -> np.ndarray:
    """Predicted density of AMP's field ``s`` (``r = ŵ + Xᵀg/A`` in :func:`replica.amp.run`) at
    the points ``s``: ``r'(s) p(r(s))`` with ``p`` the law of ``w⁰ + √Δ z``. On the RS branch it
    is the Gaussian-mixture law of ``r`` itself; on the TAP branch it piles up at the grid's
    switches (where ``v_A`` peaks)."""
    _check_model(model)
    check(isinstance(sol, TAPSolution), "sol", "a TAPSolution", sol)
    s = np.asarray(s, dtype=float)
    r, jac, _, _ = _map(s.ravel(), sol.A, sol.B, model.quantizer.levels,
                        model.beta * model.ridge)  # fmt: skip
    pi, mus, ss = model.teacher.mixture()
    out = np.zeros_like(r)
    for p_j, mu, s_j in zip(pi.tolist(), mus.tolist(), ss.tolist()):
        tau = s_j + sol.delta
        out += p_j * np.exp(-0.5 * (r - mu) ** 2 / tau) / math.sqrt(2.0 * math.pi * tau)
    return (out * jac).reshape(s.shape)
