"""Replica-symmetric theory of weight-quantized linear regression.

Model (paper card, Kashiwamura et al. 2024): ``y = X w⁰ + ξ`` with ``X`` of size ``M × N``
(entries N(0, 1/N)), ``M = αN``, ``ξ ~ N(0, σ²)``; the student is the Gibbs measure
``P(w) ∝ exp(−β[½‖y − Xw‖² + ½λ‖w‖²])`` over ``w ∈ Q^N`` for a quantizer grid ``Q``.

The RS saddle point reduces to the scalar channel ``r = w⁰ + √Δ z`` at precision ``A``
(:mod:`replica.channel`), i.e. to the two-variable fixed point

    Δ = (mse + σ²)/α,      χ = β E[v(r; A)],      A = αβ/(1 + χ),

(equivalently ``1 + χ = α/(α − D)``, ``D = E[∂_r f]``), solved here in the variables
``(ln Δ, ln χ)`` by a short damped iteration, then Newton's method with the Jacobian that the
channel integrates on its own quadrature nodes (finite β), or Broyden's method where it has
none (β = ∞, the large-precision staircase path).

The model :class:`QuantizedRegression`, the result records :class:`RSSolution` and
:class:`RSBranch`, the statuses and the helpers shared with :mod:`replica.structured` live in
:mod:`replica.model`, below both solvers; every name is re-exported here (the same objects).

References
----------
S. Kashiwamura, A. Sakata, M. Imaizumi, "Effect of Weight Quantization on Learning Models by
Typical Case Analysis", arXiv:2401.17269 (ISIT 2024): RS free energy, saddle point, AT line.
"""

from __future__ import annotations

import math
import struct
from dataclasses import replace

import numpy as np
from scipy import optimize

from . import stability
from .channel import ChannelAverages, channel_averages
from .errors import check, integer, real
from .model import (
    ESTIMATORS,  # noqa: F401  (re-exported: replica.regression.ESTIMATORS)
    NO_RS_SOLUTION,
    STALLED,
    QuantizedRegression,
    RSBranch,
    RSSolution,
    _branch_record,
    _prior_start,
    _select,
    _start,
)
from .results import CONVERGED, MAX_ITER, finish

__all__ = [
    "NO_RS_SOLUTION",
    "QuantizedRegression",
    "RSBranch",
    "RSSolution",
    "rs_map",
    "solve_rs",
    "solve_rs_all",
]

# box for the solver's variables (ln Δ, ln χ), wide enough for Δ ~ 1e300 (huge noise or width,
# tiny α) and χ ~ β ≲ 1e300; at β = ∞, χ beyond e^{40} means D → α (no RS solution)
_LOG_LO, _LOG_HI = -700.0, 700.0
_LOG_HI_CHI_INF = 40.0
_TINY = math.exp(_LOG_LO)
# map evaluations without halving the residual after which the solver stops (status max_iter)
_STALL = 60
# the same for the enumeration's further starts (they search for other branches)
_STALL_OTHER = 15
# undamped Picard steps before the damped / Newton phases, and Newton's step cap in ln Δ, ln χ
_PICARD = 20
_NEWTON_CAP = 8.0


def rs_map(
    model: QuantizedRegression, delta: float, chi: float, derivatives: bool = False
) -> tuple[float, float, ChannelAverages]:
    """One application of the saddle-point map ``(Δ, χ) → (Δ', χ')`` and the channel averages.

    At β = ∞, ``χ' = D/(α − D)`` (``inf`` when ``D ≥ α``: no RS solution). ``derivatives``
    asks the channel for ``avg.jac`` (see :func:`~replica.channel.channel_averages`).
    """
    levels, mix, delta, A, ridge_precision, derivatives = _channel_request(
        model, delta, chi, derivatives
    )
    avg = channel_averages(levels, mix, delta, A, ridge_precision, derivatives=derivatives)
    return _map_values(model, chi, A, avg)


def _channel_request(model: QuantizedRegression, delta, chi, derivatives, grid=None):
    """The arguments ``(levels, teacher_mixture, Δ, A, ridge_precision, derivatives)`` of
    :func:`~replica.channel.channel_averages` for :func:`rs_map` at ``(Δ, χ)`` (the batched
    solver :mod:`replica.batch` evaluates many of them at once, passing each model's
    ``grid = (levels, teacher_mixture)`` once built)."""
    levels, mix = grid or (model.quantizer.levels, model.teacher.mixture())
    A = _precision(model, chi)
    if math.isinf(A):
        shift = model.ridge * (1.0 + chi) / model.alpha  # λ/(α − D)
        return levels, mix, delta, A, shift, derivatives
    return levels, mix, delta, A, model.beta * model.ridge, derivatives


def _map_values(model: QuantizedRegression, chi, A, avg: ChannelAverages):
    """``(Δ', χ', avg)`` of :func:`rs_map` from the channel averages at precision ``A``."""
    if math.isinf(A):
        chi_new = avg.D / (model.alpha - avg.D) if avg.D < model.alpha else math.inf
    else:
        # χ' = βV = (1 + χ)D/α (D = AV): no underflow of V ~ 1/β at β up to ~1e300
        chi_new = (1.0 + chi) * avg.D / model.alpha
    return (avg.mse + model.noise) / model.alpha, chi_new, avg


def _drive(model: QuantizedRegression, gen):
    """Run a solver generator of this module (:func:`_attempt`, :func:`_equilibrium`) for one
    point: each request ``(Δ, χ, derivatives)`` it yields is answered by :func:`rs_map`; its
    return value is returned. :func:`replica.batch.solve_rs_many` drives many at once."""
    try:
        request = next(gen)
        while True:
            request = gen.send(rs_map(model, *request))
    except StopIteration as stop:
        return stop.value


def _precision(model: QuantizedRegression, chi: float) -> float:
    """``A = αβ/(1 + χ)``; ``inf`` at β = ∞ and where the product overflows (then the channel is
    the β = ∞ staircase, whose corrections are below ``1/A ~ 1e-308``)."""
    if math.isinf(model.beta):
        return math.inf
    A = model.alpha * (model.beta / (1.0 + chi))
    return A if math.isfinite(A) else math.inf


class _Merged(Exception):
    """Internal: an attempt of the enumeration reached an already-found branch."""


# an attempt within this distance of a found branch (in ln Δ, ln χ), with a residual below it,
# is in Newton's quadratic basin of that fixed point: the same branch, no need to finish it
_MERGE = 1e-3


class _NoSolution(Exception):
    """Internal: the β = ∞ iteration reached D ≥ α (no RS solution)."""


def _initial(model: QuantizedRegression, init, prior=None) -> tuple[str, float, float]:
    """``(name, Δ, χ)`` of a start; ``prior``: the model's ``_prior_start`` when known."""
    name, mse, chi = _start(model, init, prior)
    return name, max((mse + model.noise) / model.alpha, 1e-300), max(chi, 1e-300)


def solve_rs(
    model: QuantizedRegression,
    throw: bool = True,
    init=None,
    tol: float = 1e-11,
    max_iter: int = 500,
    damping: float = 0.5,
    continuation=None,
) -> RSSolution:
    """Solve the RS saddle point of ``model``: the equilibrium branch, with the others listed.

    Parameters
    ----------
    model : QuantizedRegression
        A non-Gaussian ``model.design`` is solved by
        :func:`replica.structured.solve_rs_structured` (finite β and β = ∞).
    throw : bool
        Raise :class:`~replica.ConvergenceError` (carrying the result) if not converged.
    init : None, "uninformative", "informative", RSSolution or (mse, chi)
        ``None`` (default): the equilibrium branch, found by the rule below. Anything else: a
        single attempt from that start (the branch it reaches, no enumeration).
    tol : float
        Convergence criterion on ``max(|ln Δ' − ln Δ|, |ln χ' − ln χ|)`` (relative precision of
        Δ and χ).
    max_iter : int
        Budget of map evaluations per attempt.
    damping : float
        Weight of the old iterate in the damped phase of an attempt.
    continuation : RSSolution or (mse, chi), optional
        A nearby solution (sweeps pass the previous point): one more start of the enumeration.

    Returns
    -------
    RSSolution
        ``status`` is ``"converged"``, ``"max_iter"``, ``"stalled"`` (no progress in 60 map
        evaluations: the map's quadrature noise exceeds ``tol``, e.g. on grids whose levels span
        many orders of magnitude) or ``"no_rs_solution"`` (β = ∞ and ``D ≥ α``: below the
        interpolation threshold there is no RS solution). ``branches`` lists every attempt
        (:class:`RSBranch`: start, status, free energy, AT, entropy, mse); ``branch`` names the
        start the returned solution was reached from.

    Notes
    -----
    **The branch rule.** The RS equations can have several solutions (metastability, a
    statistical-to-computational gap). With ``init=None`` every attempt runs from its own start:
    the grid prior (``"uninformative"``: state evolution's initialisation, so this attempt is
    the algorithmic branch), an informative start (``mse = 1e-4 ρ``, near the teacher), the
    ``continuation`` when given (tried first); where none of these converges, a large
    susceptibility (``χ ~ β``, ``"large-chi"``, where it differs from the prior's), and then
    (finite β) the bracketing rescue below. Converged attempts within 1e-7 in ``(ln Δ, ln χ)`` are one
    branch; an attempt that comes within 1e-3 of a branch already found, with a residual below
    1e-3 (Newton's quadratic basin), is stopped there as that branch. The result is the
    converged branch of **lowest free energy f** (ties within 1e-12 keep the earlier start):
    the global minimum of the RS free energy, which at a Bayes-optimal point is the minimum of
    the replica potential. Unstable fixed points (saddles of the potential) lie above the
    minima they separate, so they are never selected over them.

    Each attempt: a few undamped Picard steps (state evolution in log variables, fast where it
    contracts and where χ collapses towards perfect recovery), a damped phase if still far,
    then Newton with the channel's Jacobian (steps capped at ±8 in the log variables).

    At finite β a solution always exists: for fixed χ the Δ-map is bounded, and the reduced
    function ``ln χ'(Δ*(χ), χ) − ln χ`` goes from +∞ (χ → 0, where ``χ' → βV > 0``) to −∞
    (``χ' ≤ β·spread²/4``). When every start fails, ``solve_rs`` brackets that root by
    Brent's method (with an inner Brent solve for ``Δ*``; ~10² map evaluations) and polishes it
    by Newton: ``branch="bracketed"``.
    """
    check(isinstance(model, QuantizedRegression), "model", "a QuantizedRegression", model)
    check(isinstance(throw, bool), "throw", "a bool", throw)
    if not model.design.gaussian:  # a structured design: replica.structured (same contract)
        from .structured import solve_rs_structured

        return solve_rs_structured(model, throw=throw, init=init, tol=tol, max_iter=max_iter,
                                   damping=damping, continuation=continuation)  # fmt: skip
    what = f"solve_rs({model.quantizer.name}, alpha={model.alpha:g}, beta={model.beta:g})"
    if init is not None:
        result = _solve_rs(model, init, tol, max_iter, damping)
        return finish(replace(result, branches=(_branch_record(result),)), throw, what)
    return finish(_drive(model, _equilibrium(model, tol, max_iter, damping, continuation)),
                  throw, what)  # fmt: skip


def _equilibrium(model, tol, max_iter, damping, continuation=None):
    """The branch enumeration of :func:`solve_rs` (``init=None``) as a generator: yields the
    map requests of its attempts (see :func:`_attempt`) and returns the unfinished result."""
    tol, max_iter, damping = _check_controls(tol, max_iter, damping)
    starts = [("uninformative", "uninformative"), ("informative", "informative")]
    prior = _prior_start(model)  # the uninformative start, and where large χ differs from it
    if continuation is not None:  # first: a sweep's neighbour is usually the answer
        starts.insert(0, ("continuation", continuation))
    if math.isfinite(model.beta):
        big = (model.rho, min(model.beta, 1e6))
        if abs(math.log(big[1]) - math.log(prior[1])) > 1.0:
            starts.append(("large-chi", big))
    else:
        starts.append(("large-chi", (model.rho, 1e3)))
    attempts, known, n_merged = [], [], 0
    for i, (name, start) in enumerate(starts):
        if name == "large-chi" and any(a.converged for a in attempts):
            continue  # the large-χ start is the retry for where the others fail (χ ~ β)
        # the other starts only look for further branches: a shorter patience when they stall,
        # and they stop once in the basin of a branch already found
        sol = yield from _attempt(model, start, tol, max_iter, damping,
                                  stall=None if i == 0 else _STALL_OTHER, known=tuple(known),
                                  prior=prior, checked=True)  # fmt: skip
        if isinstance(sol, int):
            n_merged += sol
            continue
        attempts.append(_with(sol, branch=name))
        if sol.converged:
            known.append(np.clip(np.log([max(sol.delta, _TINY), max(sol.chi, _TINY)]),
                                 _LOG_LO, _LOG_HI))  # fmt: skip
    if not any(a.converged for a in attempts) and math.isfinite(model.beta):
        # every start failed (Newton can stall where ln χ' − ln χ has a positive local
        # minimum): bracket the root of the reduced 1-D problem in χ instead, then polish
        start, n_used = _bracketed_start(model, max_iter)
        if start is not None:
            sol = yield from _attempt(model, start, tol, max_iter, damping, checked=True)
            attempts.append(_with(sol, branch="bracketed", n_iter=sol.n_iter + n_used))
    n_total = sum(a.n_iter for a in attempts) + n_merged
    # no converged attempt: the prior start's outcome, unless another got further
    best, distinct = _select(attempts)
    records = tuple(_branch_record(a) for a in distinct)
    return _with(best, n_iter=n_total, branches=records)


def _bracketed_start(model, max_iter):
    """``((mse, χ), n_eval)`` at the root of the reduced problem in ``ln χ`` (finite β), found by
    nested bracketing; ``(None, n_eval)`` if the budget ``max_iter`` ran out or a value was not
    finite."""
    n_eval = 0
    u_prev = [math.log((model.rho + model.noise) / model.alpha)]

    def run_map(u, lc):
        nonlocal n_eval
        if n_eval >= max_iter:
            raise _Budget
        n_eval += 1
        return rs_map(model, math.exp(u), math.exp(lc))

    def delta_star(lc):
        def h(u):  # ln Δ' − ln Δ at fixed χ: +∞ as Δ → 0, −∞ as Δ → ∞ (Δ' is bounded)
            return math.log(max(run_map(u, lc)[0], _TINY)) - u

        u = optimize.brentq(h, *_bracket(h, u_prev[0]), xtol=1e-13, rtol=1e-15)
        u_prev[0] = u
        return u

    def g(lc):
        u = delta_star(lc)
        return math.log(max(run_map(u, lc)[1], _TINY)) - lc

    try:
        lc = optimize.brentq(g, *_bracket(g, 0.0), xtol=1e-12, rtol=1e-15)
        u = delta_star(lc)
    except (_Budget, ValueError, RuntimeError):  # budget, no bracket, Brent not converged
        return None, n_eval
    return (max(math.exp(u) * model.alpha - model.noise, 0.0), math.exp(lc)), n_eval


class _Budget(Exception):
    """Internal: the evaluation budget of :func:`_bracketed_start` ran out."""


def _bracket(fun, x0, step=1.0):
    """``(a, b)`` with ``fun(a) > 0 ≥ fun(b)`` for a function that is positive far left and
    negative far right in the box ``[_LOG_LO, _LOG_HI]``, searched outwards from ``x0`` in
    doubling steps."""
    f0 = fun(x0)
    if not math.isfinite(f0):
        raise ValueError("non-finite value while bracketing")
    direction = 1.0 if f0 > 0 else -1.0
    while True:
        x = min(max(x0 + direction * step, _LOG_LO), _LOG_HI)
        fx = fun(x)
        if not math.isfinite(fx):
            raise ValueError("non-finite value while bracketing")
        # a zero at the box edge is a root too: there the floor e^{_LOG_LO} stands for 0 (e.g.
        # χ' = βV with V underflowing at perfect recovery), a fixed point of the solver
        if fx == 0.0 or (fx > 0) != (f0 > 0):
            return (x0, x) if direction > 0 else (x, x0)
        if x in (_LOG_LO, _LOG_HI):
            raise ValueError("no sign change in the box")
        x0, f0, step = x, fx, 2.0 * step


def _solve_rs(model, init, tol, max_iter, damping, stall=None, known=()) -> RSSolution | int:
    """One attempt of :func:`solve_rs` from one starting point (never raises on
    non-convergence)."""
    return _drive(model, _attempt(model, init, tol, max_iter, damping, stall, known))


def _attempt(model, init, tol, max_iter, damping, stall=None, known=(), prior=None, checked=False):
    """:func:`_solve_rs` as a generator: yields each map request ``(Δ, χ, derivatives)`` and
    receives :func:`rs_map`'s ``(Δ', χ', avg)`` through ``send``; returns the attempt's
    :class:`RSSolution`, or the number of evaluations used when it merged into a branch of
    ``known``. The control flow does not depend on who answers the requests.

    The iterate ``y = (ln Δ, ln χ)``, the residual and the Jacobian are Python floats (the
    per-evaluation cost of the control flow is that of the channel call on small grids, so no
    2-element numpy arrays); every operation is the elementwise one of the array form.
    ``checked``: ``tol``, ``max_iter`` and ``damping`` were validated by the caller
    (:func:`_equilibrium`, once for all its attempts)."""
    if not checked:
        tol, max_iter, damping = _check_controls(tol, max_iter, damping)
    name, delta, chi = _initial(model, init, prior)
    hi1 = _LOG_HI_CHI_INF if math.isinf(model.beta) else _LOG_HI
    known = [k.tolist() for k in known]
    keep = 1.0 - damping
    n_eval = 0
    stalled = False
    cache = {}  # the map at the last iterate is reused for the result (no extra evaluation)

    def residual(y0, y1):
        """``(G(y) − y, its Jacobian or None)`` in ``y = (ln Δ, ln χ)``."""
        nonlocal n_eval
        n_eval += 1
        y0, y1 = _clip(y0, _LOG_LO, _LOG_HI), _clip(y1, _LOG_LO, hi1)
        delta, chi = math.exp(y0), math.exp(y1)
        d_new, c_new, avg = yield delta, chi, True
        cache[_pack(y0, y1)] = (c_new, avg)
        # χ' = ∞ (β = ∞ with D ≥ α): push χ towards the box edge, where it is reported
        # Δ' or χ' can underflow to 0 (perfect recovery: σ² = 0 and a teacher on the grid);
        # the floor e^{_LOG_LO} ≈ 1e-300 is then a fixed point that represents 0
        log_c = math.log(max(c_new, _TINY)) if math.isfinite(c_new) else hi1 + 1.0
        out = (math.log(max(d_new, _TINY)) - y0, log_c - y1)
        if not math.isfinite(c_new) and abs(out[0]) < tol:
            raise _NoSolution(y0, y1)  # Δ converged with D ≥ α: nothing left to iterate
        if known and _norm(*out) < _MERGE:
            if any(_norm(y0 - k0, y1 - k1) < _MERGE for k0, k1 in known):
                raise _Merged
        return out, _log_jacobian(model, delta, chi, avg)

    y = (math.log(delta), math.log(chi))
    try:
        res, jac = yield from residual(*y)
        # a few undamped Picard steps (the state-evolution iteration in log variables): fast
        # where the map contracts strongly (high signal-to-noise, where the solution sits at
        # ln χ ~ −40 and Newton's local model is poor); kept only while they halve the residual
        prev_ratio = None
        for _ in range(_PICARD):
            # Newton finishes from a residual of 1e-2 in two or three steps (quadratic)
            if not (1e-2 <= _norm(*res) and n_eval < max_iter):
                break
            y_try = (y[0] + res[0], y[1] + res[1])
            r_try, j_try = yield from residual(*y_try)
            ratio = _norm(*r_try) / _norm(*res)
            # a monotone sequence of Δ whose steps grow is progress too: state evolution
            # escaping a plateau towards the informative fixed point, where χ then collapses by
            # tens of e-folds in one step. Stop on a growing oscillation or a linear creep
            # (contraction ratio ≥ 0.5 and not increasing: Newton's job)
            monotone = (r_try[0] * res[0] > 0.0 and math.isfinite(r_try[0])
                        and math.isfinite(r_try[1]))  # fmt: skip
            accelerating = monotone and (
                ratio >= 1.0 or (prev_ratio is not None and ratio > 1.25 * prev_ratio)
            )
            if ratio < 1.0 or accelerating:
                y, res, jac = y_try, r_try, j_try
            if not (ratio < 0.5 or accelerating or (prev_ratio is None and ratio < 1.0)):
                break
            prev_ratio = ratio
        # damped iteration: cheap, globally robust, brings the iterate into Newton's basin
        # (at β = ∞ the χ-map is singular where D → α: iterate longer before trusting Newton)
        damped_until = 0.3 if math.isinf(model.beta) else 1.0
        while _norm(*res) >= damped_until and n_eval < min(60, max_iter):
            y = (y[0] + keep * res[0], y[1] + keep * res[1])
            res, jac = yield from residual(*y)
        # Newton on G(y) − y with the Jacobian the channel integrates on its nodes; where it
        # has none (β = ∞, the large-A staircase path) quasi-Newton: a forward-difference
        # Jacobian once (2 evaluations), then Broyden rank-one updates. A step that does not
        # reduce the residual is replaced by a damped step (and the Jacobian rebuilt)
        # trust region on the Newton step in the log variables: ±1 at first, doubled after
        # each accepted step up to ±8 (the perfect-recovery solutions sit at ln χ ~ −40)
        J, trust = None, 1.0
        best, best_at = _norm(*res), n_eval
        while _norm(*res) >= tol and n_eval + 3 <= max_iter:
            if _norm(*res) < 0.5 * best:
                best, best_at = _norm(*res), n_eval
            elif n_eval - best_at > (_STALL if stall is None else stall):
                stalled = True
                break  # no progress: the map is not smooth at this tolerance (reported)
            if jac is not None:
                J = jac
            elif J is None:
                h = 1e-7
                r_d = (yield from residual(y[0] + h, y[1] + 0.0))[0]
                r_c = (yield from residual(y[0] + 0.0, y[1] + h))[0]
                J = ((r_d[0] - res[0]) / h, (r_c[0] - res[0]) / h,
                     (r_d[1] - res[1]) / h, (r_c[1] - res[1]) / h)  # fmt: skip
            step = _newton_step(J, res, trust)
            if step is None:  # singular Jacobian
                step = (keep * res[0], keep * res[1])
            res_trial, jac_trial = yield from residual(y[0] + step[0], y[1] + step[1])
            if _norm(*res_trial) < _norm(*res):
                if jac_trial is None:
                    J = _broyden(J, res, res_trial, step)
                y, res, jac = (y[0] + step[0], y[1] + step[1]), res_trial, jac_trial
                trust = min(2.0 * trust, _NEWTON_CAP)
            else:
                trust = max(0.25 * trust, 0.25)
                y = (y[0] + keep * res[0], y[1] + keep * res[1])
                (res, jac), J = (yield from residual(*y)), None
    except _NoSolution as stop:
        y, res = stop.args, (0.0, math.inf)
    except _Merged:
        return n_eval  # the enumeration's caller counts the evaluations and drops the attempt
    y0, y1 = _clip(y[0], _LOG_LO, _LOG_HI), _clip(y[1], _LOG_LO, hi1)
    delta, chi = math.exp(y0), math.exp(y1)
    hit = cache.get(_pack(y0, y1))
    chi_new, avg = hit if hit is not None else (yield delta, chi, False)[1:]
    resid = float(_norm(*res))
    if math.isinf(model.beta) and not math.isfinite(chi_new):
        status = NO_RS_SOLUTION
    else:
        status = CONVERGED if resid < tol else (STALLED if stalled else MAX_ITER)
    result = _assemble(
        model, delta, chi, avg, status=status, n_iter=n_eval, residual=resid, branch=name
    )
    return result


def _check_controls(tol, max_iter, damping) -> tuple[float, int, float]:
    """``(tol, max_iter, damping)`` of :func:`solve_rs`, validated (numpy scalars accepted)."""
    damping = real(damping, "damping", "a number in [0, 1)", lambda a: 0 <= a < 1)
    tol = real(tol, "tol", "a number > 0", lambda t: t > 0)
    max_iter = integer(max_iter, "max_iter", "an integer >= 1", lambda n: n >= 1)
    return tol, max_iter, damping


def _with(result, **changes):
    """``dataclasses.replace`` for the solver's result records (frozen dataclasses without
    ``__post_init__``: the same field values, copied without the generic machinery; it runs
    several times per point of a sweep)."""
    if hasattr(result, "__post_init__"):  # a record that derives fields: the general path
        return replace(result, **changes)
    new = object.__new__(type(result))
    new.__dict__.update(result.__dict__)
    new.__dict__.update(changes)
    return new


def _clip(x: float, lo: float, hi: float) -> float:
    """``numpy.clip`` of one float (NaN stays NaN)."""
    return lo if x < lo else (hi if x > hi else x)


def _norm(a: float, b: float) -> float:
    """``max(|a|, |b|)`` as ``numpy.max(numpy.abs(...))`` of two floats (NaN if either is)."""
    a, b = abs(a), abs(b)
    if a != a or b != b:
        return math.nan
    return a if a >= b else b


_pack = struct.Struct("dd").pack  # the cache key: the bytes of (ln Δ, ln χ), as ndarray.tobytes


def _newton_step(J, res, cap=_NEWTON_CAP):
    """``−J⁻¹ res`` for the 2×2 system ``J = (a, b, c, d)`` (row-major, Cramer's rule), clipped
    to ±cap in each log-variable; ``None`` if ``J`` is singular."""
    a, b, c, d = J
    det = a * d - b * c
    if not (math.isfinite(det) and abs(det) > 1e-300 * (abs(a * d) + abs(b * c))):
        return None
    r0, r1 = res
    return (_clip((b * r1 - d * r0) / det, -cap, cap), _clip((c * r0 - a * r1) / det, -cap, cap))


def _broyden(J, res, res_trial, step):
    """Broyden's rank-one update of the 2×2 Jacobian ``J`` (row-major tuple) after ``step``
    (numpy's products, as in the array form of the solver)."""
    Jm = np.array(J).reshape(2, 2)
    step, res, res_trial = np.array(step), np.array(res), np.array(res_trial)
    Jm = Jm + np.outer(res_trial - res - Jm @ step, step) / (step @ step)
    return tuple(Jm.ravel().tolist())


def _log_jacobian(model, delta, chi, avg: ChannelAverages):
    """Jacobian of ``G(y) − y`` for ``y = (ln Δ, ln χ)`` from the channel's ``avg.jac`` (a
    row-major tuple ``(a, b, c, d)``), or ``None`` where the channel has none or it is not finite.

    Finite β: ``Δ' = (mse + σ²)/α``, ``χ' = βV = (1 + χ)D/α`` with ``A = αβ/(1 + χ)``. β = ∞
    (or A overflowing): ``χ' = D/(α − D)`` with the staircase shift ``s = λ(1 + χ)/α``."""
    err = avg.mse + model.noise
    if math.isinf(_precision(model, chi)):
        d_var = avg.D * (model.alpha - avg.D) / model.alpha  # d ln χ' = dD/d_var (0 < D < α)
        dx_dlogchi = model.ridge * chi / model.alpha  # ∂s/∂ln χ
        direct = 0.0
    else:
        # χ' = (1 + χ)D/α, jac in ln A: d ln χ' = χ/(1+χ) d ln χ + dD/D, d ln A = −χ/(1+χ) d ln χ
        d_var = avg.D
        dx_dlogchi = -chi / (1.0 + chi)
        direct = chi / (1.0 + chi)
    if avg.jac is None or not (err > _TINY and d_var > _TINY):
        return None
    (dm_dd, dm_dx), (dv_dd, dv_dx) = avg.jac.tolist()
    a, b = delta * dm_dd / err - 1.0, dx_dlogchi * dm_dx / err
    c, d = delta * dv_dd / d_var, direct + dx_dlogchi * dv_dx / d_var - 1.0
    finite = math.isfinite
    return (a, b, c, d) if finite(a) and finite(b) and finite(c) and finite(d) else None


def _assemble(model, delta, chi, avg: ChannelAverages, **meta) -> RSSolution:
    """Order parameters, errors and thermodynamics at a saddle point ``(Δ, χ)``.

    The entropy is assembled from O(1) terms only (see :class:`RSSolution`), the free energy as
    ``f = e − s/β``: no cancellation of the O(β) terms of ``−βf``, so both stay exact up to
    β ~ 1e300 and tend to their β = ∞ limits.
    """
    a, b, lam, s2 = model.alpha, model.beta, model.ridge, model.noise
    m, q = avg.m, avg.q
    E = avg.mse + s2  # E(y − x·⟨w⟩)² = ρ − 2m + q + σ², integrated without cancellation
    Q, V = avg.Q, avg.V  # V = 0 on the β = ∞ staircase
    thermal = V / (1.0 + chi)
    train_mean = E / (1.0 + chi) / (1.0 + chi)  # no overflow of (1 + χ)² at χ ~ 1e300
    energy = 0.5 * a * (thermal + train_mean) + 0.5 * lam * Q
    entropy = avg.entropy + 0.5 * a * _log_term(chi)
    if math.isfinite(b):
        Q_hat = a * b / (1.0 + chi)
        q_hat = Q_hat * (b / (1.0 + chi)) * E  # ∝ β²: overflows to inf beyond β ~ 1e154
        free_energy = energy - entropy / b
    else:
        Q_hat = q_hat = math.inf
        free_energy = energy
    A = Q_hat
    sample = model.estimator == "sample"
    gen = E + ((Q - q) if sample else 0.0) - (0.0 if model.include_noise else s2)
    train = train_mean + (thermal if sample else 0.0)
    return RSSolution(
        m=m, q=q, Q=Q, chi=chi, m_hat=Q_hat, q_hat=q_hat, Q_hat=Q_hat, delta=delta, A=A,
        D=avg.D, mse=avg.mse, gen_error=gen, train_error=train, free_energy=free_energy,
        energy=energy, entropy=entropy, at=stability.at_from_averages(avg, a), **meta,
    )  # fmt: skip


def _log_term(chi: float) -> float:
    """``χ/(1 + χ) − ln(1 + χ)`` (≤ 0), by its series where the two terms cancel."""
    if chi < 1e-3:
        # Σ_{n≥2} (−1)^{n+1} (1 − 1/n) χⁿ, truncated where χ⁶ < 1e-18
        return (
            chi * chi * (-0.5 + chi * (2.0 / 3.0 + chi * (-0.75 + chi * (0.8 - chi * 5.0 / 6.0))))
        )
    return chi / (1.0 + chi) - math.log1p(chi)


def solve_rs_all(model: QuantizedRegression, inits=("uninformative", "informative"), **kwargs):
    """All distinct RS solutions reached from several initialisations, sorted by free energy
    (the first is the thermodynamically dominant RS state). Non-converged attempts are kept
    and sorted last."""
    kwargs.setdefault("throw", False)
    sols = []
    for init in inits:
        s = solve_rs(model, init=init, **kwargs)
        if not any(abs(s.mse - t.mse) < 1e-7 and s.status == t.status for t in sols):
            sols.append(s)
    return sorted(sols, key=lambda s: (not s.converged, s.free_energy))
