"""One-step replica-symmetry breaking (1RSB) of weight-quantized regression at finite β.

The 1RSB free entropy of the card (derived symbolically in :mod:`replica.symbolic.rsb`),

    −βf₁ = −(α/2)(1 − 1/x) ln a − (α/2x) ln b − αβE₀/(2b)
           + Q̂Q/2 − q̂₁(Q − q₁)/2 − x(q̂₁q₁ − q̂₀q₀)/2 − m̂m + φ₁(Q̂, m̂, q̂₀, q̂₁, x),

with ``a = 1 + β(Q − q₁)``, ``b = a + xβ(q₁ − q₀)``, ``E₀ = ρ − 2m + q₀ + σ²`` and the nested
single-site term ``φ₁ = E_{w⁰,z₀} (1/x) ln E_{z₁}[Z(h)^x]``, ``h = m̂w⁰ + √q̂₀ z₀ + √(q̂₁−q̂₀) z₁``,
``Z(h) = Σ_k exp(h c_k − (Q̂ + βλ)c_k²/2)``.

Its energetic stationarity equations are closed form (:func:`rsb_energetic`, hand-written and
tested against the sympy derivation); the entropic ones are nested Gaussian averages
(:func:`rsb_entropic`) computed with Gauss–Hermite rules from :mod:`replica.gauss` and the grid
posterior of :mod:`replica.channel`. :func:`solve_1rsb` solves the fixed point in
``(m, q₀, q₁, Q)`` for each Parisi parameter ``x`` and finds ``x`` from ``∂(−βf₁)/∂x = 0``.

References
----------
S. Kashiwamura, A. Sakata, M. Imaizumi, arXiv:2401.17269 (2024), card "1RSB (beyond the paper)";
M. Mézard, G. Parisi, M. A. Virasoro, *Spin Glass Theory and Beyond* (1987).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import optimize
from scipy.special import logsumexp

from . import gauss
from .channel import clustered_rule, grid_posterior, legendre01, log_partition, transitions
from .errors import check
from .regression import QuantizedRegression, RSSolution, solve_rs
from .results import CONVERGED, MAX_ITER, Result, finish

__all__ = [
    "COLLAPSED",
    "DEGENERATE",
    "RSBEntropic",
    "RSBSolution",
    "rsb_energetic",
    "rsb_entropic",
    "rsb_free_entropy",
    "solve_1rsb",
]

#: status of :func:`solve_1rsb` when the 1RSB fixed point is the RS one (``q₁ = q₀``)
COLLAPSED = "collapsed_to_rs"
#: status of :func:`solve_1rsb` when the RS start has ``E₀ = ρ − 2m + q + σ² ≤ 0`` (an
#: error-free state at σ² = 0, to rounding): the outer Gaussian average is singular there
DEGENERATE = "degenerate"


@dataclass(frozen=True, kw_only=True)
class RSBSolution(Result):
    """One-step RSB saddle point of :class:`~replica.QuantizedRegression`.

    Attributes
    ----------
    x : float
        Parisi parameter (``1.0`` when collapsed to RS, where the free energy does not depend
        on it).
    m, q0, q1, Q : float
        Teacher overlap, inter-state and intra-state replica overlaps, self-overlap.
    chi1 : float
        ``β(Q − q₁)``.
    m_hat, q_hat0, q_hat1, Q_hat : float
        Conjugates.
    mse, gen_error, train_error : float
        Errors of the Gibbs mean (whose overlap with itself is ``q₀``): ``mse = ρ − 2m + q₀``,
        ``gen_error = mse + σ²`` (or without σ², as the model says), ``train_error = E₀/b²``
        with ``b = 1 + χ₁ + xβ(q₁ − q₀)``. For ``estimator="sample"`` the thermal variances are
        added: ``Q − q₀`` to the generalization error, ``(Q − q₁)/a + (q₁ − q₀)/(ab)`` to the
        training error (both reduce to :class:`~replica.RSSolution`'s at ``q₁ = q₀``).
    free_entropy, free_energy : float
        ``−βf₁`` and ``f₁``.
    x_residual : float
        ``|∂(−βf₁)/∂x|`` at the solution.
    rs : RSSolution
        The RS solution of the same model (the starting point).
    """

    x: float
    m: float
    q0: float
    q1: float
    Q: float
    chi1: float
    m_hat: float
    q_hat0: float
    q_hat1: float
    Q_hat: float
    mse: float
    gen_error: float
    train_error: float
    free_entropy: float
    free_energy: float
    x_residual: float
    rs: RSSolution

    @property
    def collapsed(self) -> bool:
        """True when the 1RSB solution is the RS one."""
        return self.status == COLLAPSED


def rsb_energetic(model: QuantizedRegression, m, q0, q1, Q, x):
    """Energetic stationarity equations: ``(m̂, q̂₀, q̂₁, Q̂)`` from ``(m, q₀, q₁, Q, x)``.

    ``m̂ = αβ/b``, ``Q̂ = αβ/a``, ``q̂₀ = αβ²E₀/b²``, ``q̂₁ = q̂₀ + (αβ/x)(1/a − 1/b)``.

    References
    ----------
    Card "1RSB (beyond the paper)"; derived in
    :func:`replica.symbolic.rsb.rsb_derivation` (``energetic_solution_ab``).
    """
    al, be = model.alpha, model.beta
    a = 1.0 + be * (Q - q1)
    b = a + x * be * (q1 - q0)
    E0 = model.rho - 2.0 * m + q0 + model.noise
    q_hat0 = al * be * be * E0 / (b * b)
    return al * be / b, q_hat0, q_hat0 + al * be / x * (1.0 / a - 1.0 / b), al * be / a


def _energetic_terms(model, m, q0, q1, Q, x):
    """Energetic part of ``−βf₁`` and its partial derivative in ``x``."""
    al, be = model.alpha, model.beta
    a = 1.0 + be * (Q - q1)
    b = a + x * be * (q1 - q0)
    E0 = model.rho - 2.0 * m + q0 + model.noise
    la, lb = math.log(a), math.log(b)
    G = -0.5 * al * ((1.0 - 1.0 / x) * la + lb / x + be * E0 / b)
    db = be * (q1 - q0)
    dG = -0.5 * al * ((la - lb) / x**2 + db / (x * b) - be * E0 * db / b**2)
    return G, dG


class RSBEntropic(NamedTuple):
    """Nested single-site averages at ``(Q̂, m̂, q̂₀, q̂₁, x)``.

    ``Q = E⟨w²⟩``, ``q1 = E[⟨w⟩²]``, ``q0 = E[(⟨⟨w⟩⟩)²]``, ``m = E[w⁰⟨⟨w⟩⟩]`` where ``⟨·⟩`` is the
    single-state Gibbs average and the outer average over ``z₁`` is tilted by ``Z^x``; ``phi1`` is
    ``φ₁`` and ``dphi1_dx`` its partial derivative in ``x``.
    """

    m: float
    q0: float
    q1: float
    Q: float
    phi1: float
    dphi1_dx: float


def _batched_rule(points, scales, half_width, n):
    """Per-row quadrature on ``[−L, L]`` clustered at ``points`` (rows sorted): each interval
    between neighbouring points is split at its midpoint and each half integrated by
    Gauss–Legendre in ``s`` with ``z = point ± scale·sinh(s)`` (as
    :func:`replica.channel.clustered_rule`, batched over rows). Returns ``(nodes, weights)`` of
    shape ``(B, 2·P·n)``; clipped, coincident points give zero-weight nodes."""
    L = half_width[:, None]
    pts = np.clip(points, -L, L)
    edges = np.concatenate([-L, 0.5 * (pts[:, 1:] + pts[:, :-1]), L], axis=1)
    length = np.stack([edges[:, :-1] - pts, edges[:, 1:] - pts], axis=-1)  # (B, P, 2)
    alen = np.abs(length)
    scale = np.minimum(scales[..., None], np.where(alen > 0, alen, 1.0))
    s_max = np.arcsinh(alen / scale)
    x, w = legendre01(n)
    s = s_max[..., None] * x
    nodes = pts[..., None, None] + (np.sign(length) * scale)[..., None] * np.sinh(s)
    weights = w * (s_max * scale)[..., None] * np.cosh(s)
    B = points.shape[0]
    return nodes.reshape(B, -1), weights.reshape(B, -1)


def rsb_entropic(model: QuantizedRegression, Q_hat, m_hat, q_hat0, q_hat1, x, n=(48, 24)):
    """Nested Gaussian averages of the 1RSB single-site problem.

    The outer average over ``h₀ = m̂w⁰ + √q̂₀ z₀`` is taken per teacher mixture component
    (``E[w⁰ | h₀]`` is linear in ``h₀``) and the inner one over ``z₁``; ``Z^x`` is handled in
    the log domain (log-sum-exp). Both integrands switch between levels on the logistic width
    ``1/Δc`` in ``h`` at ``h_k = (Q̂ + βλ)(c_k + c_{k+1})/2``, which is sharp against the
    Gaussian scales at large β, so Gauss–Hermite is not used: both rules are Gauss–Legendre
    in sinh-mapped variables clustered at the switches and at the (tilted) Gaussian centres
    (:func:`replica.channel.clustered_rule` for the outer one, a batched version inside).

    Parameters
    ----------
    n : (int, int)
        Gauss–Legendre nodes per half-interval of the outer and inner rules. The defaults agree
        with twice as many nodes to ~1e-12 at the points of ``tests/test_rsb.py`` (β = 5) and
        reproduce the RS channel averages of :mod:`replica.channel` to ~1e-12 at ``q̂₁ = q̂₀``.

    References
    ----------
    Card "1RSB (beyond the paper)", entropic term.
    """
    levels = model.quantizer.levels
    A = Q_hat
    ridge = model.beta * model.ridge
    log_prior = -0.5 * ridge * levels**2
    r_k, widths = transitions(levels, A, ridge)
    h_k, w_h = A * r_k, A * widths  # switches and their widths in h = A r
    s1 = math.sqrt(max(q_hat1 - q_hat0, 0.0))
    cmax = float(np.max(np.abs(levels)))
    out = np.zeros(6)
    for pi, mu, s in zip(*model.teacher.mixture()):
        tau = m_hat * m_hat * s + q_hat0
        c, sd = m_hat * mu, math.sqrt(tau)
        reach = 13.0 * sd + s1 * (x * cmax + 13.0)
        h0, wo = clustered_rule(
            np.concatenate([h_k, [c]]), np.concatenate([w_h, [sd]]), c - reach, c + reach, n[0]
        )
        wo = wo * gauss.norm_pdf((h0 - c) / sd) / sd
        if s1 == 0.0:
            lz = log_partition(h0 / A, A, levels, log_prior)
            f, v = grid_posterior(h0 / A, A, levels, log_prior)
            T1, T2, TQ, L, Lz = f, f * f, f * f + v, x * lz, lz
        else:
            # inner rule in z1: switches at (h_k − h0)/s1 (width w_h/s1); the Gaussian tilted by
            # Z^x ~ e^{x c_k s1 z1} in cell k peaks between x c_1 s1 and x c_K s1
            sw = (h_k[None, :] - h0[:, None]) / s1
            centres = np.broadcast_to(x * s1 * np.array([levels[0], 0.0, levels[-1]]), (h0.size, 3))
            pts = np.concatenate([sw, centres], axis=1)
            scl = np.concatenate(
                [np.broadcast_to(w_h / s1, sw.shape), np.ones(centres.shape)], axis=1
            )
            idx = np.argsort(pts, axis=1)
            pts = np.take_along_axis(pts, idx, axis=1)
            scl = np.take_along_axis(scl, idx, axis=1)
            z1, wi = _batched_rule(pts, scl, np.full(h0.size, 13.0 + x * cmax * s1), n[1])
            h = h0[:, None] + s1 * z1
            lz = log_partition(h / A, A, levels, log_prior)
            f, v = grid_posterior(h / A, A, levels, log_prior)
            with np.errstate(divide="ignore"):  # zero-weight (clipped) nodes: log 0 = −inf
                logits = np.log(wi) - 0.5 * z1 * z1 - 0.5 * math.log(2.0 * math.pi) + x * lz
            L = logsumexp(logits, axis=1)  # ln E_{z1} Z^x
            W = np.exp(logits - L[:, None])  # tilted weights over z1
            T1 = (W * f).sum(axis=1)
            T2 = (W * f * f).sum(axis=1)
            TQ = T2 + (W * v).sum(axis=1)
            Lz = (W * lz).sum(axis=1)
        ew0 = mu + (m_hat * s / tau) * (h0 - c)  # E[w0 | h0]
        out += pi * np.array(
            [
                wo @ (ew0 * T1),
                wo @ (T1 * T1),
                wo @ T2,
                wo @ TQ,
                wo @ L / x,
                wo @ (Lz - L / x) / x,
            ]
        )
    return RSBEntropic(*(float(v) for v in out))


def rsb_free_entropy(model, m, q0, q1, Q, m_hat, q_hat0, q_hat1, Q_hat, x, phi1):
    """``−βf₁`` of the card at the given order parameters, conjugates and ``φ₁``.

    References
    ----------
    Card "1RSB (beyond the paper)".
    """
    G, _ = _energetic_terms(model, m, q0, q1, Q, x)
    conj = 0.5 * Q_hat * Q - 0.5 * q_hat1 * (Q - q1) - 0.5 * x * (q_hat1 * q1 - q_hat0 * q0)
    return G + conj - m_hat * m + phi1


def _x_derivative(model, u, hats, ent, x):
    _, dG = _energetic_terms(model, *u, x)
    _, q_hat0, q_hat1, _ = hats
    return dG - 0.5 * (q_hat1 * u[2] - q_hat0 * u[1]) + ent.dphi1_dx


class _Unphysical(Exception):
    """Internal: an iterate outside the physical domain of the 1RSB equations."""


def _physical(model, u, x) -> bool:
    """Whether ``u = (m, q₀, q₁, Q)`` at ``x`` lies where the 1RSB free entropy is defined:
    ``a = 1 + β(Q − q₁) > 0``, ``b = a + xβ(q₁ − q₀) > 0``, ``E₀ = ρ − 2m + q₀ + σ² > 0`` (the
    Gaussian of the outer average has variance ∝ E₀) and ``0 < x <= 1``."""
    m, q0, q1, Q = (float(v) for v in u)
    a = 1.0 + model.beta * (Q - q1)
    b = a + x * model.beta * (q1 - q0)
    E0 = model.rho - 2.0 * m + q0 + model.noise
    ok = all(math.isfinite(v) for v in (m, q0, q1, Q, a, b, E0, x))
    return ok and a > 0 and b > 0 and E0 > 0 and 0 < x <= 1


def _fixed_point(model, x, u0, tol, n):
    """Solve ``u = T_x(u)`` for ``u = (m, q₀, q₁, Q)`` at fixed ``x``: damped iteration, then
    MINPACK ``hybr`` on the residual. Returns ``(u, residual, n_eval, hats, ent)``.

    The damped iterates stay in the (convex) physical domain; a ``hybr`` step outside it stops
    the polish and the last physical iterate is returned with its (honest) residual. Raises
    :class:`_Unphysical` when ``u0`` itself is outside the domain."""
    n_eval = 0
    last = None  # the last physical iterate and its map

    def T(u):
        nonlocal n_eval, last
        if not _physical(model, u, x):
            raise _Unphysical(u)
        n_eval += 1
        hats = rsb_energetic(model, *u, x)
        ent = rsb_entropic(model, hats[3], hats[0], hats[1], hats[2], x, n)
        new = np.array([ent.m, ent.q0, ent.q1, ent.Q])
        last = (np.array(u, float), new, hats, ent)
        return new, hats, ent

    u = np.asarray(u0, float)
    try:
        for _ in range(30):
            new = T(u)[0]
            if np.max(np.abs(new - u)) < 1e-2:
                break
            u = 0.5 * u + 0.5 * new
        sol = optimize.root(lambda u: T(u)[0] - u, u, method="hybr", tol=tol * 1e-2)
        u = sol.x
        new, hats, ent = T(u)
    except _Unphysical:
        if last is None:
            raise
        u, new, hats, ent = last
    return u, float(np.max(np.abs(new - u))), n_eval, hats, ent


def solve_1rsb(
    model: QuantizedRegression,
    throw: bool = True,
    x: float | None = None,
    rs: RSSolution | None = None,
    tol: float = 1e-10,
    gap: float = 0.3,
    n=(48, 24),
    max_iter: int = 60,
) -> RSBSolution:
    """Solve the 1RSB saddle point of ``model`` at finite β.

    Parameters
    ----------
    model : QuantizedRegression
        Finite ``beta`` (the β = ∞ 1RSB needs the rescaled ``βx`` and is not implemented).
    throw : bool
        Raise :class:`~replica.ConvergenceError` (carrying the result) if not converged.
    x : float, optional
        Fix the Parisi parameter instead of solving ``∂(−βf₁)/∂x = 0``.
    rs : RSSolution, optional
        RS solution to start from (solved with :func:`~replica.solve_rs` if omitted).
    tol : float
        Tolerance on the fixed-point residual in ``(m, q₀, q₁, Q)`` and on ``∂_x(−βf₁)``.
    gap : float
        Initial ``q₁ − q₀`` as a fraction of the RS thermal width ``Q − q`` (the RS point is
        itself a fixed point for every ``x``; the iteration starts away from it).
    n : (int, int)
        Quadrature sizes of :func:`rsb_entropic`.
    max_iter : int
        Budget of outer iterations on ``x``.

    Returns
    -------
    RSBSolution
        ``status``: ``"converged"`` (a 1RSB solution with ``q₁ > q₀``), ``"collapsed_to_rs"``
        (the iteration returned to ``q₁ = q₀``: RS is the 1RSB solution; ``x`` is reported as
        1), ``"max_iter"`` (also when a Newton step left the physical domain ``a, b, E₀ > 0``:
        the last physical iterate is reported), or ``"degenerate"`` (the RS start has
        ``E₀ ≤ 0``, e.g. exact recovery at σ² = 0: the RS values are reported, residual
        ``inf``). ``n_iter`` counts evaluations of the entropic averages.

    References
    ----------
    Card "1RSB (beyond the paper)".
    """
    check(math.isfinite(model.beta), "model.beta", "a finite inverse temperature for 1RSB",
          model.beta)  # fmt: skip
    check(x is None or 0 < x <= 1, "x", "None or a number in (0, 1]", x)
    check(0 < gap < 1, "gap", "a number in (0, 1)", gap)
    if rs is None:
        rs = solve_rs(model, throw=False)
    width = max(rs.Q - rs.q, 1e-12)
    # q₀ starts below q but never so far that E₀ = ρ − 2m + q₀ + σ² would become ≤ 0
    e0 = model.rho - 2.0 * rs.m + rs.q + model.noise
    down = min(0.5 * gap * width, 0.5 * e0)
    u0 = np.array([rs.m, rs.q - down, rs.q + 0.5 * gap * width, rs.Q])
    what = f"solve_1rsb({model.quantizer.name}, alpha={model.alpha:g}, beta={model.beta:g})"
    if not _physical(model, u0, 1.0 if x is None else x):
        return finish(_from_rs(model, rs, DEGENERATE), throw, what)
    n_total = 0

    def inner(xv, u_start, size):
        nonlocal n_total
        u, res, k, hats, ent = _fixed_point(model, xv, u_start, tol, size)
        n_total += k
        return u, res, hats, ent

    if x is not None:
        u, res, hats, ent = inner(x, u0, n)
        xv, xres = x, abs(_x_derivative(model, u, hats, ent, x))
    else:
        # ∂_x(−βf₁) along the branch of fixed points: bracket its root on a coarse x grid with
        # a coarse quadrature, refine by Brent, then polish (u, x) together by hybr at full
        # quadrature size
        coarse = (max(n[0] * 2 // 3, 8), max(n[1] * 2 // 3, 4))
        cache = {}
        u_prev = u0

        def g(xv):
            nonlocal u_prev
            u, _, hats, ent = inner(xv, u_prev, coarse)
            cache[xv] = u
            if u[2] - u[1] > 1e-7 * max(1.0, abs(u[3])):
                u_prev = u
            return _x_derivative(model, u, hats, ent, xv)

        grid = (0.9, 0.7, 0.5, 0.3, 0.1)
        bracket, prev = None, None
        for xv in grid:
            gv = g(xv)
            u = cache[xv]
            if u[2] - u[1] <= 1e-7 * max(1.0, abs(u[3])):
                prev = None
                continue
            if prev is not None and np.sign(gv) != np.sign(prev[1]):
                bracket = (prev[0], xv)
                break
            prev = (xv, gv)
        if bracket is None:
            xv = grid[-1]
            u, res, hats, ent = inner(xv, cache[xv], n)
        else:
            xv = optimize.brentq(g, bracket[1], bracket[0], xtol=1e-6, maxiter=max_iter)
            u5 = np.append(cache[xv], xv)

            def full(y):
                nonlocal n_total
                if not _physical(model, y[:4], y[4]):
                    raise _Unphysical(y)
                n_total += 1
                hats = rsb_energetic(model, *y[:4], y[4])
                ent = rsb_entropic(model, hats[3], hats[0], hats[1], hats[2], y[4], n)
                new = np.array([ent.m, ent.q0, ent.q1, ent.Q])
                return np.append(new - y[:4], _x_derivative(model, y[:4], hats, ent, y[4]))

            try:
                sol = optimize.root(full, u5, method="hybr", tol=tol * 1e-2)
                xv = float(sol.x[4])
                u = sol.x[:4]
                hats = rsb_energetic(model, *u, xv)
                ent = rsb_entropic(model, hats[3], hats[0], hats[1], hats[2], xv, n)
                res = float(np.max(np.abs(np.array([ent.m, ent.q0, ent.q1, ent.Q]) - u)))
            except _Unphysical:  # a polish step left the domain: the Brent root, full size
                u, res, hats, ent = inner(xv, cache[xv], n)
        xres = abs(_x_derivative(model, u, hats, ent, xv))
    m, q0, q1, Q = (float(v) for v in u)
    collapsed = abs(q1 - q0) < 1e-7 * max(1.0, abs(Q))
    if collapsed and res < tol:
        status = COLLAPSED
        xv, xres = 1.0, 0.0
    elif collapsed or q1 < q0:
        # not converged, or ended at q₁ < q₀ (no 1RSB state): reported at the x it reached,
        # where the iterate is physical (at x = 1 a q₁ < q₀ iterate can have b < 0)
        status = MAX_ITER
    else:
        status = CONVERGED if (res < tol and xres < tol) else MAX_ITER
    return finish(
        _assemble(model, xv, m, q0, q1, Q, hats, ent, status, n_total, max(res, xres), xres, rs),
        throw and status != COLLAPSED,
        what,
    )


def _from_rs(model, rs, status):
    """The RS solution as an :class:`RSBSolution` (``q₁ = q₀ = q``, ``x = 1``) with ``status``
    and an unevaluated (``inf``) residual."""
    return RSBSolution(
        status=status, n_iter=0, residual=math.inf, x=1.0, m=rs.m, q0=rs.q, q1=rs.q, Q=rs.Q,
        chi1=rs.chi, m_hat=rs.m_hat, q_hat0=rs.q_hat, q_hat1=rs.q_hat, Q_hat=rs.Q_hat,
        mse=rs.mse, gen_error=rs.gen_error, train_error=rs.train_error,
        free_entropy=-model.beta * rs.free_energy, free_energy=rs.free_energy,
        x_residual=math.inf, rs=rs,
    )  # fmt: skip


def _assemble(model, x, m, q0, q1, Q, hats, ent, status, n_iter, residual, xres, rs):
    m_hat, q_hat0, q_hat1, Q_hat = hats
    be = model.beta
    a = 1.0 + be * (Q - q1)
    b = a + x * be * (q1 - q0)
    E0 = model.rho - 2.0 * m + q0 + model.noise
    phi = rsb_free_entropy(model, m, q0, q1, Q, m_hat, q_hat0, q_hat1, Q_hat, x, ent.phi1)
    sample = model.estimator == "sample"
    mse = model.rho - 2.0 * m + q0
    gen = E0 + ((Q - q0) if sample else 0.0) - (0.0 if model.include_noise else model.noise)
    # training residual of a sample point: the cavity field is N(ω_s, Q − q₁) within a state and
    # the state means ω_s ~ N(ω, q₁ − q₀) are tilted by Z_s^x; the mean residual is (y − ω)/b and
    # a Gibbs sample adds the within-state (Q − q₁)/a and between-state (q₁ − q₀)/(ab) variances
    train = E0 / b**2 + ((Q - q1) / a + (q1 - q0) / (a * b) if sample else 0.0)
    return RSBSolution(
        status=status, n_iter=n_iter, residual=float(residual), x=float(x), m=m, q0=q0, q1=q1,
        Q=Q, chi1=be * (Q - q1), m_hat=m_hat, q_hat0=q_hat0, q_hat1=q_hat1, Q_hat=Q_hat, mse=mse,
        gen_error=gen, train_error=train, free_entropy=phi, free_energy=-phi / be,
        x_residual=float(xres), rs=rs,
    )  # fmt: skip
