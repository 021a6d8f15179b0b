"""Solvers of the one-step RSB (1RSB) of weight-quantized regression at finite β.

The functional is :mod:`replica.rsb_free_entropy` (the card's 1RSB free entropy ``−βf₁`` of
the paper card ``kashiwamura2024-quantized-regression``, section "1RSB (beyond the paper)"; its
names are re-exported here). This module finds its stationary points.

:func:`solve_1rsb` solves the fixed point ``u = T(u)`` in ``u = (m, q₀, q₁, Q)``, with ``T`` the
entropic averages (:func:`rsb_entropic`) at the conjugates of the energetic equations
(:func:`rsb_energetic`), ``m̂ = αβ/b``, ``Q̂ = αβ/a``, ``q̂₀ = αβ²E₀/b²``,
``q̂₁ = q̂₀ + (αβ/x)(1/a − 1/b)``, together with ``∂(−βf₁)/∂x = 0`` (or at a fixed ``x``):
damped iteration and MINPACK ``hybr`` at fixed ``x``, ``(u, x)`` solved jointly at a rough
quadrature and polished by quasi-Newton steps at full size, and where that fails a regula-falsi
search for the root of ``∂_x(−βf₁)`` along the branch of fixed points. The start is the RS
solution (the continuous 1RSB that branches off RS where AT > 1) or the frozen guess (the
discontinuous 1RSB of the entropy crisis, where the RS entropy is negative although AT < 1).
It reports the two 1RSB replicons ``λ₁ = αβ²/a² · E[⟨(w − ⟨w⟩)²⟩²]`` and
``λ₀ = αx²β²/b² · E_{z₀}[(Var_{z₁}⟨w⟩)²]``.

:func:`solve_frozen_1rsb` is the frozen 1RSB in closed form (states are single configurations,
``q₁ = Q``; derived in :func:`replica.symbolic.rsb.frozen_derivation`): the RS solution at the
freezing point ``β_f`` where the RS entropy vanishes, ``s_RS(β_f) = 0``, ``x = β_f/β``. It is a
boundary point (``q₁ = Q``) of the 1RSB functional, not one of its stationary points: the
stationary point that :func:`solve_1rsb` finds from it keeps a small intra-state susceptibility
(``χ₁ ≈ 0.003–0.008`` at b = 1, ω = 3, α = 0.6, σ² = 0.1), a small positive entropy (3e-4 near
β_f, 7e-6 at β = 50) and a free energy above the frozen one by 6e-7 (near β_f) to 4e-5 (β = 50);
its ``x = 1`` point, the static transition, is at β ≈ 2.645, just below β_f = 2.648.

References
----------
S. Kashiwamura, A. Sakata, M. Imaizumi, arXiv:2401.17269 (2024), card "1RSB (beyond the paper)";
M. Mézard, G. Parisi, M. A. Virasoro, *Spin Glass Theory and Beyond* (1987).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import optimize

from .errors import check
from .regression import QuantizedRegression, RSSolution, solve_rs
from .results import CONVERGED, MAX_ITER, Result, finish
from .rsb_free_entropy import (
    RSBEntropic,
    _energetic_terms,  # noqa: F401  (re-exported: replica.rsb._energetic_terms, tests)
    _energy,
    _train_error,
    _x_derivative,
    rsb_energetic,
    rsb_entropic,
    rsb_free_entropy,
)

__all__ = [
    "COLLAPSED",
    "DEGENERATE",
    "RSBEntropic",
    "RSBSolution",
    "rsb_energetic",
    "rsb_entropic",
    "rsb_free_entropy",
    "solve_1rsb",
    "solve_frozen_1rsb",
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
        Errors of the Gibbs mean ⟨w⟩, whose overlap with itself is the mean of P(q),
        ``q̄ = x q₀ + (1 − x) q₁`` (two replicas of one sample lie in the same state with
        probability ``E Σ_s W_s² = 1 − x``): ``mse = ρ − 2m + q̄``, ``gen_error = mse + σ²`` (or
        without σ², as the model says); ``train_error = E₀/b² + (1 − x)(q₁ − q₀)/(ab)``
        (``E₀ = ρ − 2m + q₀ + σ²``, ``a = 1 + χ₁``, ``b = a + xβ(q₁ − q₀)``; the same-state
        pairs add the spread of the state means; derived in
        :func:`replica.symbolic.rsb.training_error_derivation`). For ``estimator="sample"``
        the thermal variances are added: ``Q − q̄`` to the generalization error; the training
        error is ``E₀/b² + (Q − q₁)/a + (q₁ − q₀)/(ab)`` (``(2/α)(e − λQ/2)``). All reduce to
        :class:`~replica.RSSolution`'s at ``q₁ = q₀``.
    free_entropy, free_energy : float
        ``−βf₁`` and ``f₁``.
    energy, entropy : float
        ``e = ∂(βf₁)/∂β`` (explicit β dependence at the saddle point) and ``s = β(e − f₁)``
        (reduce to :class:`~replica.RSSolution`'s at ``q₁ = q₀``; the frozen 1RSB has ``s = 0``).
    x_residual : float
        ``|∂(−βf₁)/∂x|`` at the solution.
    replicon_intra, replicon_inter : float
        Replicon eigenvalues of the 1RSB solution (stable iff both < 1), in the units of the RS
        AT quantity: intra-state ``λ₁ = αβ²/a² · E[⟨(w − ⟨w⟩)²⟩²]`` (the ``z₁`` average tilted
        by ``Z^x``; fluctuations of the overlaps inside a state) and inter-state
        ``λ₀ = αx²β²/b² · E_{z₀}[(Var_{z₁}⟨w⟩)²]`` (fluctuations of the overlaps between states,
        ``Var_{z₁}`` the tilted variance of the state means), ``a = 1 + χ₁``,
        ``b = a + xβ(q₁ − q₀)``. At ``q₁ = q₀``, ``λ₁`` is the RS AT value and ``λ₀ = 0``.
        ``λ₁ > 1`` says that the states themselves break further (toward full RSB). For frozen
        states (``q₁ = Q``, :func:`solve_frozen_1rsb`) ``λ₁ = 0`` and ``λ₀`` is the RS AT value at
        the freezing point ``β_f = xβ`` (the frozen 1RSB is RS at ``β_f``; this fixes the ``x²``).
    start : str
        The start the solution was reached from (``"rs"`` or ``"frozen"``; ``"closed_form"``
        for :func:`solve_frozen_1rsb`).
    beta_f : float or None
        The freezing inverse temperature of :func:`solve_frozen_1rsb` (``None`` elsewhere).
    rs : RSSolution
        The RS solution of the same model (the starting point).

    References
    ----------
    E. Gardner, Nucl. Phys. B 257, 747 (1985) (stability of the one-step solution: the replicon
    of the innermost and outer blocks).
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
    energy: float
    entropy: float
    x_residual: float
    replicon_intra: float
    replicon_inter: float
    start: str
    rs: RSSolution
    beta_f: float | None = None

    #: shown first by the compact repr: the Parisi parameter, whether 1RSB is itself stable,
    #: and where it came from
    _headline = ("x", "replicon_intra", "replicon_inter", "start")

    @property
    def collapsed(self) -> bool:
        """True when the 1RSB solution is the RS one."""
        return self.status == COLLAPSED

    @property
    def rsb_stable(self) -> bool:
        """Both 1RSB replicons below 1 (the one-step solution is locally stable)."""
        return self.replicon_intra < 1.0 and self.replicon_inter < 1.0


class _Unphysical(Exception):
    """Internal: an iterate outside the physical domain of the 1RSB equations."""


class _Budget(Exception):
    """Internal: the budget of evaluations of the entropic averages is spent."""


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


class _Point(NamedTuple):
    """One evaluation of the 1RSB map at ``(u, x)``: ``new = T_x(u)``, conjugates, averages."""

    u: np.ndarray
    x: float
    new: np.ndarray
    hats: tuple
    ent: RSBEntropic
    size: tuple

    @property
    def res(self) -> float:
        return float(np.max(np.abs(self.new - self.u)))

    @property
    def gap(self) -> float:
        return float(self.u[2] - self.u[1])


class _Evaluator:
    """The map ``(u, x) → T_x(u)`` with a budget of evaluations (``_Budget`` when spent) that
    refuses unphysical iterates (``_Unphysical``) and keeps the best physical point per
    quadrature size (smallest residual, ``q₁ > q₀`` preferred)."""

    def __init__(self, model, budget):
        self.model, self.budget, self.n, self.best, self.last = model, budget, 0, None, None

    def __call__(self, u, x, size) -> _Point:
        if not _physical(self.model, u, x):
            raise _Unphysical(u)
        last = self.last  # MINPACK evaluates its start twice: answer the repeat from memory
        if last is not None and last.x == x and last.size == tuple(size):
            if np.array_equal(last.u, u):
                return last
        if self.n >= self.budget:
            raise _Budget
        self.n += 1
        hats = rsb_energetic(self.model, *u, x)
        ent = rsb_entropic(self.model, hats[3], hats[0], hats[1], hats[2], x, size)
        p = _Point(np.array(u, float), float(x), np.array(ent[:4]), hats, ent, tuple(size))
        if self.best is None or _key(p) < _key(self.best):
            self.best = p
        self.last = p
        return p


def _key(p: _Point):
    return (_collapsed(p) or p.gap <= 0, p.res)


def _collapsed(p: _Point) -> bool:
    return abs(p.gap) < 1e-7 * max(1.0, abs(p.u[3]))


def _fixed_point(ev, x, u0, tol, size) -> _Point:
    """Solve ``u = T_x(u)`` for ``u = (m, q₀, q₁, Q)`` at fixed ``x``: damped iteration, then
    MINPACK ``hybr`` on the residual. Returns the last physical point (with its honest
    residual) when a ``hybr`` step leaves the (convex) physical domain; raises
    :class:`_Unphysical` when ``u0`` itself is outside it."""
    last = None

    def T(u):
        nonlocal last
        last = ev(u, x, size)
        return last.new

    u = np.asarray(u0, float)
    try:
        for _ in range(30):  # damped steps into the basin of hybr
            new = T(u)
            if np.max(np.abs(new - u)) < 1e-2:
                break
            u = 0.5 * u + 0.5 * new
        sol = optimize.root(lambda u: T(u) - u, u, method="hybr", tol=tol * 1e-2,
                            options={"maxfev": 60})  # fmt: skip
        if not np.array_equal(last.u, sol.x):
            T(sol.x)
    except _Unphysical:
        if last is None:
            raise
    return last


def _logit(x):
    return math.log(x / (1.0 - x)) if x < 1.0 else 8.0


def _joint_residual(ev, y, size):
    """``(T_x(u) − u, ∂_x(−βf₁))`` at ``y = (u, t)``, ``x = 1/(1 + e^{−t})``, and the point."""
    xv = 1.0 / (1.0 + math.exp(-y[4])) if y[4] > -30 else 0.0
    if not 0.0 < xv < 1.0 - 1e-9:  # x < 1e-13 or x = 1 to rounding (where q₁ drops out)
        raise _Unphysical(y)
    q = ev(y[:4], xv, size)
    return np.append(q.new - q.u, _x_derivative(ev.model, q.u, q.hats, q.ent, xv)), q


def _joint(ev, p: _Point, tol, size) -> _Point:
    """Solve ``(u, x)`` together by ``hybr`` on the four fixed-point equations and
    ``∂(−βf₁)/∂x = 0``, with ``x = 1/(1 + e^{−t})`` so that steps stay in ``(0, 1)``
    (``tol``: MINPACK's relative step tolerance). Returns the evaluated point of smallest
    residual that is not collapsed (``p`` when there is none)."""
    best, best_r = None, math.inf

    def F(y):
        nonlocal best, best_r
        out, q = _joint_residual(ev, y, size)
        r = float(np.max(np.abs(out)))
        if r < best_r and not _collapsed(q):
            best, best_r = q, r
        return out

    try:
        optimize.root(F, np.append(p.u, _logit(p.x)), method="hybr", tol=tol,
                      options={"maxfev": 80})  # fmt: skip
    except (_Unphysical, OverflowError):
        pass  # a rescue search: an unphysical step ends it, the best point found so far stands
    return p if best is None else best


def _jacobian(ev, p: _Point, size):
    """Forward-difference Jacobian of :func:`_joint_residual` in ``(u, t)`` at ``p``."""
    y = np.append(p.u, _logit(p.x))
    f0, _ = _joint_residual(ev, y, size)
    jac = np.empty((5, 5))
    for i in range(5):
        h = 1e-7 * max(1.0, abs(y[i]))
        yy = y.copy()
        yy[i] += h
        jac[:, i] = (_joint_residual(ev, yy, size)[0] - f0) / h
    return jac


def _newton(ev, p: _Point, jac, tol, size, steps=8) -> _Point:
    """Quasi-Newton steps in ``(u, t)`` at quadrature ``size``, from the Jacobian ``jac`` of a
    rougher quadrature (close: the averages and their derivatives differ by the quadrature
    error) updated by Broyden's rank-one secant rule. Returns the best point evaluated."""
    y = np.append(p.u, _logit(p.x))
    jac = np.array(jac, float)
    best, best_r, prev = None, math.inf, None
    try:
        for _ in range(steps):
            out, q = _joint_residual(ev, y, size)
            r = float(np.max(np.abs(out)))
            if r < best_r:
                best, best_r = q, r
            if r < 0.1 * tol or r > 10 * best_r:
                break
            if prev is not None:
                dy, df = y - prev[0], out - prev[1]
                jac += np.outer(df - jac @ dy, dy) / (dy @ dy)
            prev = (y, out)
            y = y - np.linalg.solve(jac, out)
    except (_Unphysical, OverflowError, np.linalg.LinAlgError):
        pass  # a rescue search: an unphysical or singular step ends it, the best point stands
    return p if best is None else best


def _xres(model, p: _Point) -> float:
    return abs(_x_derivative(model, p.u, p.hats, p.ent, p.x))


def _search_x(ev, u_start, x_start, tol, size, max_iter):
    """Solve the fixed point and ``∂(−βf₁)/∂x = 0`` together.

    A 1RSB (``q₁ > q₀``) fixed point is first found at a trial ``x`` (``x_start``, then
    0.8, 0.6, 0.4, 0.2) with a rough quadrature (a third of ``size``), ``(u, x)`` are solved
    together (:func:`_joint`) at the rough size and polished by quasi-Newton steps at full
    size (:func:`_polish`). Where that fails (collapse to RS, ``x`` leaving ``(0, 1)``, or no
    convergence) the root of ``∂_x(−βf₁)`` along the branch of rough fixed points is bracketed
    on an ``x`` grid and refined by regula falsi, all warm-started, then polished; the joint
    solve at full size is the last resort.
    Returns the best point found (a collapsed one when no ``q₁ > q₀`` branch was found)."""
    trials = []
    rough = (max(size[0] // 3, 8), max(size[1] // 3, 4))  # only to land in the basin
    for xv in dict.fromkeys((x_start, 0.8, 0.6, 0.4, 0.2)):
        p = _fixed_point(ev, xv, u_start, 1e-4, rough)
        trials.append(p)
        if not _collapsed(p) and p.gap > 100 * p.res and p.res < 1e-4:  # a resolved gap
            break
    else:
        return trials[0]
    q = _polish(ev, p, tol, size, rough)
    if _good(ev.model, q, tol) or ev.n >= ev.budget:
        return q
    # fallback: bracket the root of g(x) = ∂_x(−βf₁) along the branch of rough fixed points
    # (warm-started), refine it by regula falsi, polish
    branch = {}

    def g(xv, u_from):
        r = _fixed_point(ev, xv, u_from, 1e-8, rough)
        if _collapsed(r) or r.gap <= 100 * r.res:
            return r, None
        branch[xv] = r
        return r, _x_derivative(ev.model, r.u, r.hats, r.ent, xv)

    prev, bracket = None, None
    u_from = p.u
    for xv in (0.9, 0.7, 0.5, 0.3, 0.1):
        r, gv = g(xv, u_from)
        if gv is None:
            prev = None
            continue
        u_from = r.u
        if prev is not None and np.sign(gv) != np.sign(prev[1]):
            bracket = (prev, (xv, gv))
            break
        prev = (xv, gv)
    if bracket is None:
        last = _joint(ev, p, tol * 1e-2, size)  # last resort: the full-size joint solve
        return last if not _collapsed(last) else (branch[min(branch)] if branch else q)
    (xa, ga), (xb, gb) = bracket
    best = branch[xb]
    for _ in range(max_iter):  # Illinois regula falsi
        xm = (xa * gb - xb * ga) / (gb - ga)
        if not min(xa, xb) < xm < max(xa, xb):
            xm = 0.5 * (xa + xb)
        r, gm = g(xm, best.u)
        if gm is None:  # the branch ends inside the bracket: shrink toward the known side
            xa = xm
            continue
        best = r
        if abs(gm) < 1e-9 or abs(xa - xb) < 1e-9:
            break
        if np.sign(gm) == np.sign(gb):  # the root lies between xa and xm
            ga *= 0.5
        else:  # between xb and xm
            xa, ga = xb, gb
        xb, gb = xm, gm
    q = _polish(ev, best, tol, size, rough)
    if _good(ev.model, q, tol):
        return q
    q = _joint(ev, best, tol * 1e-2, size)
    if _good(ev.model, q, tol):
        return q
    return _fixed_point(ev, best.x, best.u, tol, size)


def _polish(ev, p: _Point, tol, size, rough) -> _Point:
    """``(u, x)`` solved together at the rough size from ``p``, then quasi-Newton at full size
    from the rough Jacobian (see :func:`_newton`); the best point reached."""
    q = _joint(ev, p, 1e-6, rough)
    if _collapsed(q) or q.gap <= 0 or not q.res < 1e-4:
        return q
    try:
        return _newton(ev, q, _jacobian(ev, q, rough), tol, size)
    except _Unphysical:
        return q


def _good(model, p: _Point, tol) -> bool:
    return p.res < tol and _xres(model, p) < tol and not _collapsed(p) and p.gap > 0


def _rs_start(model, rs, gap):
    """``(m, q₀, q₁, Q)`` a fraction ``gap`` of the RS thermal width ``Q − q`` away from RS
    (the RS point is itself a fixed point for every ``x``)."""
    width = max(rs.Q - rs.q, 1e-12)
    # q₀ starts below q but never so far that E₀ = ρ − 2m + q₀ + σ² would become ≤ 0
    e0 = model.rho - 2.0 * rs.m + rs.q + model.noise
    down = min(0.5 * gap * width, 0.5 * e0)
    return np.array([rs.m, rs.q - down, rs.q + 0.5 * gap * width, rs.Q])


def _frozen_start(frozen):
    """Near the frozen solution: ``q₁`` just below ``Q``."""
    eps = 1e-3 * max(frozen.Q - frozen.q0, 1e-12)
    return np.array([frozen.m, frozen.q0, frozen.Q - eps, frozen.Q])


STARTS = ("auto", "rs", "frozen")


def solve_1rsb(
    model: QuantizedRegression,
    throw: bool = True,
    x: float | None = None,
    rs: RSSolution | None = None,
    tol: float = 1e-10,
    gap: float = 0.3,
    n=(48, 24),
    max_iter: int = 60,
    start: str = "auto",
    max_eval: int = 400,
) -> RSBSolution:
    """Solve the 1RSB saddle point of ``model`` at finite β.

    Parameters
    ----------
    model : QuantizedRegression
        Finite ``beta`` (the β = ∞ 1RSB needs the rescaled ``βx`` and is not implemented).
    throw : bool
        Raise :class:`~replica.ConvergenceError` (carrying the result) if not converged.
    x : float, optional
        Fix the Parisi parameter instead of solving ``∂(−βf₁)/∂x = 0``. The status then
        depends on the fixed-point residual only (``x_residual`` is still reported). Where the
        start from RS falls back to RS, the solution at the equilibrium ``x`` is continued to
        the requested ``x`` (a 1RSB branch can exist at an ``x`` without being reachable from
        the RS start).
    rs : RSSolution, optional
        RS solution to start from (solved with :func:`~replica.solve_rs` if omitted).
    tol : float
        Tolerance on the fixed-point residual in ``(m, q₀, q₁, Q)`` and on ``∂_x(−βf₁)``.
    gap : float
        Initial ``q₁ − q₀`` as a fraction of the RS thermal width ``Q − q`` for the RS start
        (the RS point is itself a fixed point for every ``x``; the iteration starts away
        from it).
    n : (int, int)
        Quadrature sizes of :func:`rsb_entropic` (the search for ``x`` uses two thirds).
    max_iter : int
        Budget of regula-falsi steps on ``x`` (used only where the joint polish fails).
    start : {"auto", "rs", "frozen"}
        ``"rs"``: from the RS solution with ``q₁ − q₀ = gap·(Q − q)`` (finds the continuous
        1RSB that branches from RS). ``"frozen"``: from the frozen 1RSB of
        :func:`solve_frozen_1rsb` (``q₁`` just below ``Q``, ``x = β_f/β``), which finds the
        discontinuous 1RSB of the entropy crisis; where the RS entropy is not negative there is
        no frozen guess and the RS start is used. ``"auto"``: the RS start, then the frozen
        one when the former collapses to RS while the RS entropy is negative.
    max_eval : int
        Budget of evaluations of the entropic averages (each ~10 ms at the default ``n``); when
        spent the best point so far is reported with status ``"max_iter"``.

    Returns
    -------
    RSBSolution
        ``status``: ``"converged"`` (a 1RSB solution with ``q₁ > q₀``), ``"collapsed_to_rs"``
        (the iteration returned to ``q₁ = q₀``: RS is the 1RSB solution; ``x`` is reported as
        1), ``"max_iter"`` (not converged within the budgets, or a Newton step left the
        physical domain ``a, b, E₀ > 0``: the best physical iterate is reported), or
        ``"degenerate"`` (the RS start has ``E₀ ≤ 0``, e.g. exact recovery at σ² = 0: the RS
        values are reported, residual ``inf``). ``n_iter`` counts evaluations of the entropic
        averages. ``replicon_intra`` and ``replicon_inter`` tell whether the 1RSB solution is
        itself stable (both < 1).

    References
    ----------
    Card "1RSB (beyond the paper)".
    """
    from .designs import gaussian_only

    gaussian_only(model, "solve_1rsb")
    check(math.isfinite(model.beta), "model.beta", "a finite inverse temperature for 1RSB",
          model.beta)  # fmt: skip
    check(x is None or 0 < x <= 1, "x", "None or a number in (0, 1]", x)
    check(0 < gap < 1, "gap", "a number in (0, 1)", gap)
    check(start in STARTS, "start", f"one of {STARTS}", start)
    check(max_eval >= 1, "max_eval", "a positive number of evaluations", max_eval)
    if rs is None:
        rs = solve_rs(model, throw=False)
    what = f"solve_1rsb({model.quantizer.name}, alpha={model.alpha:g}, beta={model.beta:g})"
    ev = _Evaluator(model, max_eval)
    coarse = (max(n[0] * 2 // 3, 8), max(n[1] * 2 // 3, 4))
    frozen = None
    crisis = rs.converged and rs.entropy < 0
    if start == "frozen" and crisis:
        frozen = solve_frozen_1rsb(model, throw=False, rs=rs)
    use_frozen = frozen is not None and frozen.converged
    u_rs = _rs_start(model, rs, gap)
    starts = [] if use_frozen else [("rs", u_rs, 0.8)]
    if use_frozen:
        starts.append(("frozen", _frozen_start(frozen), frozen.x))
    elif start == "auto" and crisis:
        starts.append(("frozen", None, None))  # solved only if the RS start does not converge
    if not _physical(model, starts[0][1], 1.0 if x is None else x):
        return finish(_from_rs(model, rs, DEGENERATE), throw, what)
    best, origin = None, starts[0][0]
    share = max(1, max_eval // len(starts))  # each start gets its part of the budget
    for name, u0, x0 in starts:
        if u0 is None:
            frozen = solve_frozen_1rsb(model, throw=False, rs=rs)
            if not frozen.converged:
                break
            u0, x0 = _frozen_start(frozen), frozen.x
        if not _physical(model, u0, 1.0 if x is None else x):
            continue
        ev.budget, ev.best = ev.n + share, None
        try:
            if x is None:
                p = _search_x(ev, u0, x0, tol, n, max_iter)
            else:
                p = _fixed_point(ev, x, u0, tol, n)
                if _collapsed(p) or not p.res < tol:
                    p = _continue_x(ev, p, x, tol, n, coarse, max_iter, u0, x0)
            if p.size != tuple(n):  # a coarse point (a collapsed trial): at full size
                p = _fixed_point(ev, p.x, p.u, tol, n)
        except _Budget:
            p = ev.best
        if p is None:
            continue
        if best is None or _rank(model, p, tol, x) < _rank(model, best, tol, x):
            best, origin = p, name
        if _rank(model, best, tol, x)[0] == 0:
            break
    if best is None:  # pragma: no cover - a budget of >= 1 evaluates at least once
        return finish(_from_rs(model, rs, MAX_ITER), throw, what)
    p = best
    xres = _xres(model, p)
    res = p.res
    m, q0, q1, Q = (float(v) for v in p.u)
    xv = p.x
    if _collapsed(p) and res < tol:
        status = COLLAPSED
        xv, xres = 1.0, 0.0
    elif _collapsed(p) or q1 < q0:
        # not converged, or ended at q₁ < q₀ (no 1RSB state): reported at the x it reached,
        # where the iterate is physical (at x = 1 a q₁ < q₀ iterate can have b < 0)
        status = MAX_ITER
    else:
        ok = res < tol and (x is not None or xres < tol)
        status = CONVERGED if ok else MAX_ITER
    residual = res if (x is not None or status == COLLAPSED) else max(res, xres)
    out = _assemble(model, xv, m, q0, q1, Q, p.hats, p.ent, status, ev.n, residual, xres, rs,
                    origin)  # fmt: skip
    return finish(out, throw and status != COLLAPSED, what)


def _rank(model, p, tol, x):
    """Sort key of candidate points: converged 1RSB first, then collapsed, then the rest."""
    one = not _collapsed(p) and p.gap > 0
    conv = p.res < tol and (x is not None or _xres(model, p) < tol)
    return (0 if (one and conv) else 1 if (conv and _collapsed(p)) else 2, p.res)


def _continue_x(ev, p, x, tol, size, coarse, max_iter, u0, x0):
    """At fixed ``x`` the start fell back to RS: solve the equilibrium 1RSB (free ``x``) and
    continue its branch to ``x`` in steps of at most 0.05, warm-started."""
    eq = _search_x(ev, u0, x0, tol, size, max_iter)
    if _collapsed(eq) or eq.gap <= 0:
        return p
    steps = max(1, math.ceil(abs(x - eq.x) / 0.05))
    r = eq
    for xv in np.linspace(eq.x, x, steps + 1)[1:]:
        r = _fixed_point(ev, float(xv), r.u, tol, coarse if xv != x else size)
        if _collapsed(r) or r.gap <= 0:
            return p
    return r


def _from_rs(model, rs, status):
    """The RS solution as an :class:`RSBSolution` (``q₁ = q₀ = q``, ``x = 1``) with ``status``
    and an unevaluated (``inf``) residual."""
    return RSBSolution(
        status=status, n_iter=0, residual=math.inf, x=1.0, m=rs.m, q0=rs.q, q1=rs.q, Q=rs.Q,
        chi1=rs.chi, m_hat=rs.m_hat, q_hat0=rs.q_hat, q_hat1=rs.q_hat, Q_hat=rs.Q_hat,
        mse=rs.mse, gen_error=rs.gen_error, train_error=rs.train_error,
        free_entropy=-model.beta * rs.free_energy, free_energy=rs.free_energy,
        energy=rs.energy, entropy=rs.entropy, x_residual=math.inf, replicon_intra=rs.at, replicon_inter=0.0, start="rs", rs=rs,
    )  # fmt: skip


def _gibbs_mean_errors(model, x, m, q0, q1, Q):
    """``(mse, gen_error)`` of the estimator the model names, in a 1RSB state.

    The Gibbs mean's self-overlap is the mean of P(q), ``x q₀ + (1 − x) q₁``, not ``q₀``
    (that one is the overlap of two different states, which enters the energetic term ``E₀``);
    a Gibbs sample's is ``Q``. Monte Carlo on the same measure (``replica.mc``) measures the
    former: at b = 2, ω = 2.7, α = 2, β = 5, σ² = 0.1 the q₀ form was 3.4 standard errors off,
    the mean of P(q) within 1.3.
    """
    qbar = x * q0 + (1.0 - x) * q1
    mse = model.rho - 2.0 * m + qbar
    gen = mse + (Q - qbar if model.estimator == "sample" else 0.0)
    return mse, gen + (model.noise if model.include_noise else 0.0)


def _assemble(model, x, m, q0, q1, Q, hats, ent, status, n_iter, residual, xres, rs, start):
    m_hat, q_hat0, q_hat1, Q_hat = hats
    be = model.beta
    a = 1.0 + be * (Q - q1)
    b = a + x * be * (q1 - q0)
    phi = rsb_free_entropy(model, m, q0, q1, Q, m_hat, q_hat0, q_hat1, Q_hat, x, ent.phi1)
    mse, gen = _gibbs_mean_errors(model, x, m, q0, q1, Q)
    train = _train_error(model, x, m, q0, q1, Q)
    energy = _energy(model, x, m, q0, q1, Q)
    return RSBSolution(
        status=status, n_iter=n_iter, residual=float(residual), x=float(x), m=m, q0=q0, q1=q1,
        Q=Q, chi1=be * (Q - q1), m_hat=m_hat, q_hat0=q_hat0, q_hat1=q_hat1, Q_hat=Q_hat, mse=mse,
        gen_error=gen, train_error=train, free_entropy=phi, free_energy=-phi / be,
        energy=energy, entropy=phi + be * energy,
        x_residual=float(xres), replicon_intra=model.alpha * (be / a) ** 2 * ent.v2,
        replicon_inter=model.alpha * (x * be / b) ** 2 * ent.spread2, start=start, rs=rs,
    )  # fmt: skip


def _rs_entropy(model, beta):
    r = solve_rs(model.replace(beta=beta), throw=False)
    return r.entropy if r.converged else math.nan


def solve_frozen_1rsb(
    model: QuantizedRegression, throw: bool = True, rs: RSSolution | None = None,
    xtol: float = 1e-13,
) -> RSBSolution:  # fmt: skip
    """Frozen 1RSB (states are single configurations, ``q₁ = Q``) in closed form.

    With ``q₁ = Q`` the 1RSB free entropy at ``(β, x)`` is ``(1/x)`` times the RS one at
    ``β' = xβ`` (with ``Q̂' = x(Q̂ − x(q̂₁ − q̂₀))``, ``m̂' = xm̂``, ``q̂' = x²q̂₀``; derived in
    :func:`replica.symbolic.rsb.frozen_derivation`), and ``∂_x`` of it vanishes where the RS
    entropy at ``β'`` vanishes (zero complexity of the states). So beyond the freezing point
    ``β_f`` (the root of the RS entropy, found by Brent's method on :func:`~replica.solve_rs`
    in β), ``x = β_f/β``, the order parameters and errors are the RS ones at ``β_f``, and
    ``f = f_RS(β_f)`` does not depend on β: the entropy is 0 (the thermodynamics freezes).

    Parameters
    ----------
    model : QuantizedRegression
        Finite ``beta``.
    throw : bool
        Raise :class:`~replica.ConvergenceError` (carrying the result) if not converged.
    rs : RSSolution, optional
        RS solution at ``model.beta`` (solved if omitted).
    xtol : float
        Absolute tolerance on ``β_f``.

    Returns
    -------
    RSBSolution
        ``status``: ``"converged"`` (frozen, ``x = β_f/β < 1``, ``residual`` is ``|s_RS(β_f)|``),
        ``"collapsed_to_rs"`` (the RS entropy at β is not negative: β ≤ β_f, RS holds; the RS
        values with ``x = 1``), or ``"max_iter"`` (the RS solution or the entropy root could
        not be found; the RS values). ``start`` is ``"closed_form"``, ``beta_f`` the freezing
        point, ``replicon_intra = 0`` and ``replicon_inter`` the RS AT value at ``β_f``.

    References
    ----------
    B. Derrida, Phys. Rev. B 24, 2613 (1981) (freezing of the random energy model);
    W. Krauth, M. Mézard, J. Phys. France 50, 3057 (1989) and O. C. Martin, M. Mézard,
    O. Rivoire, Phys. Rev. Lett. 93, 217205 (2004) (frozen 1RSB with ``q₁ = 1`` and the
    Parisi parameter fixed by zero complexity); card "1RSB (beyond the paper)".
    """
    from .designs import gaussian_only

    gaussian_only(model, "solve_frozen_1rsb")
    check(math.isfinite(model.beta), "model.beta", "a finite inverse temperature for 1RSB",
          model.beta)  # fmt: skip
    check(xtol > 0, "xtol", "a positive tolerance", xtol)
    what = f"solve_frozen_1rsb({model.quantizer.name}, alpha={model.alpha:g}, beta={model.beta:g})"
    if rs is None:
        rs = solve_rs(model, throw=False)
    if not rs.converged:
        return finish(_from_rs(model, rs, MAX_ITER), throw, what)
    if rs.entropy >= 0:
        out = dataclasses.replace(_from_rs(model, rs, COLLAPSED), residual=rs.residual,
                                  n_iter=rs.n_iter, start="closed_form")  # fmt: skip
        return finish(out, False, what)
    # bracket the root below β: s_RS → ln K > 0 as β → 0
    hi, lo, s_lo, calls = model.beta, 0.5 * model.beta, math.nan, 0
    for _ in range(80):
        calls += 1
        s_lo = _rs_entropy(model, lo)
        if not s_lo < 0:
            break
        hi, lo = lo, 0.5 * lo
    if not s_lo > 0:
        return finish(_from_rs(model, rs, MAX_ITER), throw, what)

    def s(b):
        nonlocal calls
        calls += 1
        v = _rs_entropy(model, b)
        if not math.isfinite(v):
            raise _Unphysical(b)
        return v

    try:
        beta_f = optimize.brentq(s, lo, hi, xtol=xtol, rtol=4 * np.finfo(float).eps)
    except (_Unphysical, ValueError, RuntimeError):
        return finish(_from_rs(model, rs, MAX_ITER), throw, what)
    rf = solve_rs(model.replace(beta=beta_f), throw=False)
    x = beta_f / model.beta
    al, be = model.alpha, model.beta
    b = 1.0 + rf.chi  # = 1 + xβ(Q − q₀)
    E0 = model.rho - 2.0 * rf.m + rf.q + model.noise
    q_hat0 = al * be * be * E0 / b**2
    residual = abs(rf.entropy)
    mse, gen = _gibbs_mean_errors(model, x, rf.m, rf.q, rf.Q, rf.Q)
    # an entropy jump (a change of RS branch) is a sign change but not a root
    status = CONVERGED if rf.converged and residual < 1e-8 else MAX_ITER
    out = RSBSolution(
        status=status, n_iter=calls, residual=residual, x=x, m=rf.m, q0=rf.q, q1=rf.Q, Q=rf.Q,
        chi1=0.0, m_hat=al * be / b, q_hat0=q_hat0, q_hat1=q_hat0 + al * be / x * (1.0 - 1.0 / b),
        Q_hat=al * be, mse=mse, gen_error=gen,
        train_error=_train_error(model, x, rf.m, rf.q, rf.Q, rf.Q),
        free_entropy=-be * rf.free_energy, free_energy=rf.free_energy, energy=rf.energy,
        entropy=rf.entropy / x, x_residual=residual / x**2, replicon_intra=0.0,
        replicon_inter=rf.at, start="closed_form", rs=rs, beta_f=beta_f,
    )  # fmt: skip
    return finish(out, throw, what)
