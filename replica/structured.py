"""Replica-symmetric theory of quantized regression for right-rotationally invariant designs.

For a design ``X = U S Vᵀ`` with ``V`` Haar (:mod:`replica.designs`) the replicated energetic
term is a rank-``n`` spherical integral over the law ``ν`` of ``XᵀX``; in RS, with
``χ = β(Q − q)`` and ``e = ρ − 2m + q`` (the weight MSE of the Gibbs mean),

    G_E = ½𝓡(−χ) − (β/2)(e − χσ²) R(−χ) − αβσ²/2,      𝓡(x) = ∫₀ˣ R(t) dt,

with ``R`` the R-transform of ``ν`` (Marchenko–Pastur, ``R(t) = α/(1 − t)``, gives back the
i.i.d. energetic term of :mod:`replica.regression`). The entropic term is the scalar channel of
:mod:`replica.channel`, now with precision and noise that are no longer tied by the i.i.d.
relations:

    A = β R(−χ),    Δ = [σ² R + (e − χσ²) R'] / R²,    χ = β E[v] = D / R     (R, R' at −χ)

(derived with ``R`` kept abstract in :mod:`replica.symbolic.designs`). The same fixed
point is that of VAMP's state evolution with the grid-posterior denoiser at noise precision β
(:func:`vamp_state_evolution`): ``A = γ₁``, ``Δ = τ₁``, and ``α₁ = D``, ``α₂ = 1 − D``.

Thermodynamics (per weight, ``f = e − s/β``, every term O(1)):

    s = E[H(p(·|r))] + ½[𝓡(−χ) + χR(−χ)],
    e = VR/2 + ½(e_w − 2χσ²)R − (χ/2)(e_w − χσ²)R' + ασ²/2 + λQ/2,

and the AT (replicon) quantity ``AT = (R'(−χ)/R(−χ)²) E[(∂_r f)²]`` (``1/α`` times
``E[(∂_r f)²]`` for i.i.d. inputs). ``e = ∂(βf)/∂β``, ``s = β²∂f/∂β`` and the AT quantity are
derived with ``R``, ``𝓡`` abstract by :func:`replica.symbolic.designs.thermodynamics_derivation`
and :func:`replica.symbolic.designs.replicon_derivation` (``e_w`` is the mse, ``V = E[v]``;
the test-suite checks these formulas against the derivation, symbolically and at solved
points). Errors on a fresh input ``x ~ N(0, Σ/N)``: the estimate is
VAMP's LMMSE output ``ŵ − w⁰ = (XᵀX + s)⁻¹(Xᵀξ + s q₂)``, ``q₂ ~ N(0, τ₂)`` isotropic, so

    gen = σ²(δ + sδ') − s²τ₂δ' (+ σ² noise),   δ(s) = Tr[Σ(XᵀX + s)⁻¹]/N.

β = ∞ (the ground state) is the limit ``A = βR(−χ) → ∞`` at fixed ``χ``: the channel is the
staircase with the ridge shift ``βλ/A = λ/R(−χ)``, ``D`` its jump sum, and ``χ = D/R`` becomes
``χR(−χ) = D`` (Marchenko–Pastur: ``χ = D/(α − D)``, :func:`replica.regression.rs_map`); Δ is
unchanged; ``f = e`` (the energy above with ``V = 0``), ``s`` keeps its energetic part
``½[χR − ∫₀^χ R(−u)du]`` (the posterior entropy of the staircase is 0), the thermal parts of
the errors vanish. ``χR(−χ) = ∫μ/(μ + s)ν(dμ)`` increases to the rank limit
(:attr:`~replica.designs.SpectralLaw.rank_limit`, ``1 − ν({0})`` where ν has an atom at 0); at
``D`` beyond it there is no RS solution (status ``"no_rs_solution"``); the Marchenko–Pastur
reduction of these limits and the χ → ∞ ones behind the interpolation threshold are checked
in :func:`replica.symbolic.designs.beta_inf_derivation`. At β = ∞ a discrete
grid is never RS-stable (``at = ∞``): the ground state is a reference, not an equilibrium
claim. VAMP's state evolution (:func:`vamp_state_evolution`) runs at finite β only.

References
----------
Y. Kabashima, "Inference from correlated patterns: a unified theory for perceptron learning and
linear vector channels", J. Phys. Conf. Ser. 95, 012001 (2008) (rotationally invariant designs
in the replica method); S. Rangan, P. Schniter, A. K. Fletcher, "Vector approximate message
passing", IEEE Trans. Inf. Theory 65, 6664 (2019) (VAMP and its state evolution);
T. Takahashi, Y. Kabashima, "Macroscopic analysis of vector approximate message passing in a
model mismatch setting", ISIT 2020 (mismatched VAMP state evolution = RS saddle point).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from scipy import optimize

from .channel import ChannelAverages, channel_averages
from .designs import CovarianceDesign, GaussianDesign, SpectralDesign
from .errors import check
from .model import (
    NO_RS_SOLUTION,
    STALLED,
    QuantizedRegression,
    RSSolution,
    _branch_record,
    _prior_start,
    _select,
    _start,
)
from .results import CONVERGED, MAX_ITER, finish

__all__ = ["rs_map_structured", "solve_rs_structured", "vamp_state_evolution"]

_LOG_LO, _LOG_HI = -700.0, 700.0
# at β = ∞, χ beyond e^{40} stands for χ → ∞ (D at the rank limit: no RS solution), as in
# replica.regression
_LOG_HI_CHI_INF = 40.0
_TINY = math.exp(_LOG_LO)


def _check_model(model, finite_beta=False):
    check(isinstance(model, QuantizedRegression), "model", "a QuantizedRegression", model)
    if finite_beta:
        check(math.isfinite(model.beta), "model.beta",
              "a finite inverse temperature (VAMP's state evolution runs at noise precision β)",
              model.beta)  # fmt: skip


def _spectral(model, chi):
    return model.design.law(model.alpha).point(chi)[:3]


def rs_map_structured(model: QuantizedRegression, delta: float, chi: float,
                      derivatives: bool = False):  # fmt: skip
    """One application of the saddle-point map ``(Δ, χ) → (Δ', χ')`` for ``model.design``.

    Returns ``(Δ', χ', avg, (s, R, R'))``; with the i.i.d. design this is the map of
    :func:`replica.regression.rs_map` (the same iterates, not only the same fixed point).

    At β = ∞ the channel is the staircase (``A = βR → ∞``) with the ridge shift
    ``βλ/A = λ/R(−χ)``, and ``χ'`` solves ``χ'R(−χ') = D`` (:meth:`~replica.designs.SpectralLaw.chi_of_d`;
    ``inf`` where ``D ≥`` the rank limit: no RS solution), the finite-β ``χ' = D/R(−χ)`` solved
    for its fixed point as :func:`~replica.regression.rs_map` solves ``χ' = D/(α − D)``."""
    s, R, dR = _spectral(model, chi)
    if not R > 0:
        return math.nan, math.nan, None, (s, R, dR)
    levels, mix = model.quantizer.levels, model.teacher.mixture()
    if math.isinf(model.beta):
        avg = channel_averages(levels, mix, delta, math.inf, model.ridge / R,
                               derivatives=derivatives)  # fmt: skip
        chi_new = model.design.law(model.alpha).chi_of_d(avg.D)[0]
    else:
        avg = channel_averages(levels, mix, delta, model.beta * R, model.beta * model.ridge,
                               derivatives=derivatives)  # fmt: skip
        chi_new = avg.D / R
    d_new = _delta_map(model, chi, R, dR, avg.mse)
    return d_new, chi_new, avg, (s, R, dR)


def _delta_map(model, chi, R, dR, mse):
    """``Δ' = [σ²R + (mse − χσ²)R']/R² = [σ²Φ'(χ) + mse·R']/R²`` with ``Φ' = R − χR'``, taken
    from :meth:`~replica.designs.SpectralLaw.phi_prime` where the difference would lose more
    than three digits (large χ: near the interpolation threshold, at β = ∞)."""
    phi_p = R - chi * dR
    if not phi_p > 1e-3 * R:
        phi_p = model.design.law(model.alpha).phi_prime(chi)
    return (model.noise * phi_p + mse * dR) / (R * R)


def _initial(model, init):
    name, mse, chi = _start(model, init)
    # Δ of the map at this (mse, χ)
    _, R, dR = _spectral(model, chi)
    delta = _delta_map(model, chi, R, dR, mse)
    return name, max(delta, 1e-300), max(chi, 1e-300)


def solve_rs_structured(
    model: QuantizedRegression,
    throw: bool = True,
    init=None,
    tol: float = 1e-11,
    max_iter: int = 300,
    damping: float = 0.5,
    continuation=None,
) -> RSSolution:
    """RS saddle point of ``model`` for its (right-rotationally invariant) design.

    Same contract as :func:`replica.solve_rs`: with ``init=None`` the uninformative (state
    evolution's) and informative starts are both run and the converged branch of lowest free
    energy is returned, the others listed in ``branches`` (``continuation``, a nearby
    solution or ``(mse, chi)``, is one more start). ``tol`` is on
    ``max(|ln Δ' − ln Δ|, |ln χ' − ln χ|)``. Statuses ``converged``, ``max_iter``, ``stalled``.

    For the i.i.d. design it reproduces :func:`replica.solve_rs` (test: ≤ 1e-10); ``at`` is the
    replicon quantity ``(R'/R²) E[(∂_r f)²]``.

    At β = ∞ (the ground state) the fixed point is ``χR(−χ) = D`` with the staircase channel
    (:func:`rs_map_structured`); where ``D`` reaches the rank limit ``lim χR(−χ)``
    (:attr:`~replica.designs.SpectralLaw.rank_limit`, ``α`` for i.i.d. inputs) there is no
    finite χ: status ``"no_rs_solution"``, as :func:`replica.solve_rs` reports ``D ≥ α``. Near
    that threshold ``ln χ'`` is very sensitive to Δ and the iteration can stall at the box edge
    ``χ = e^{40}``: where no start converges, the fixed point is bracketed instead (nested
    Brent, :func:`_bracketed_inf`): ``Δ*(χ)`` solves the Δ-equation at fixed χ and
    ``g(ln χ) = ln χ'(Δ*(χ), χ) − ln χ`` is positive at small χ; a sign change below the edge
    is the solution (polished by Newton, ``branch="bracketed"``), none (``g > 0`` at the edge:
    ``χ' > e^{40}``) is ``"no_rs_solution"``.
    """
    _check_model(model)
    what = f"solve_rs_structured({model.design!r}, alpha={model.alpha:g}, beta={model.beta:g})"
    starts = [init] if init is not None else ["uninformative", "informative"]
    if init is None and continuation is not None:
        starts.append(continuation)
    attempts = []
    for st in starts:
        sol = _solve_one(model, st, tol, max_iter, damping)
        attempts.append(sol)
    if init is None and math.isinf(model.beta) and not any(a.converged for a in attempts):
        start, n_used = _bracketed_inf(model, max(max_iter, 600))
        if start is not None:
            sol = _solve_one(model, start, tol, max_iter, damping)
            attempts.append(replace(sol, branch="bracketed", n_iter=sol.n_iter + n_used))
    best, distinct = _select(attempts)
    n_total = sum(a.n_iter for a in attempts)
    records = tuple(_branch_record(a) for a in distinct) if init is None else ()
    return finish(replace(best, n_iter=n_total, branches=records), throw, what)


def _solve_one(model, init, tol, max_iter, damping) -> RSSolution:
    check(0 <= damping < 1, "damping", "a number in [0, 1)", damping)
    name, delta, chi = _initial(model, init)
    n_eval = 0
    cache = {}
    inf_beta = math.isinf(model.beta)
    hi = np.array([_LOG_HI, _LOG_HI_CHI_INF if inf_beta else _LOG_HI])

    def residual(y, jac=True):
        nonlocal n_eval
        n_eval += 1
        y = np.clip(y, _LOG_LO, hi)
        d, c = math.exp(y[0]), math.exp(y[1])
        d_new, c_new, avg, spec = rs_map_structured(model, d, c, derivatives=jac)
        # Δ' or χ' can underflow to 0 (perfect recovery; a one-level grid has D = 0): the floor
        # e^{_LOG_LO} stands for 0. χ' = ∞ (β = ∞, D at the rank limit): χ is pushed to the
        # box edge, where the status says so
        if avg is None or not (d_new >= 0 and c_new >= 0):
            return np.array([math.inf, math.inf]), None
        cache[y.tobytes()] = (avg, spec, c_new)
        log_c = math.log(max(c_new, _TINY)) if math.isfinite(c_new) else hi[1] + 1.0
        out = np.array([math.log(max(d_new, _TINY)) - y[0], log_c - y[1]])
        if not math.isfinite(c_new) and y[1] >= hi[1] and abs(out[0]) < tol:
            raise _NoSolution(y, out)  # Δ converged at the edge with D at the rank limit
        if not jac:
            J = None
        elif inf_beta:
            J = _log_jacobian_inf(model, d, c, c_new, avg, spec)
        else:
            J = _log_jacobian(model, d, c, avg, spec)
        return out, J

    def box(v):  # iterates stay in the box (at β = ∞ χ' = ∞ pushes ln χ to its edge, e^{40})
        return np.clip(v, _LOG_LO, hi)

    y = np.array([math.log(delta), math.log(chi)])
    try:
        y, res, stalled = _iterate(residual, box, y, tol, max_iter, damping, inf_beta,
                                   lambda: n_eval)  # fmt: skip
    except _NoSolution as stop:
        y, res = stop.args
        stalled = False
    y = np.clip(y, _LOG_LO, hi)
    delta, chi = math.exp(y[0]), math.exp(y[1])
    got = cache.get(y.tobytes())
    if got is None:
        _, chi_new, avg, spec = rs_map_structured(model, delta, chi)
    else:
        avg, spec, chi_new = got
    resid = float(np.max(np.abs(res)))
    finite = math.isfinite(resid) and avg is not None
    status = CONVERGED if finite and resid < tol else (STALLED if stalled else MAX_ITER)
    if inf_beta and avg is not None and math.isinf(chi_new):
        status = NO_RS_SOLUTION
    if avg is None:
        raise ValueError(f"model: R(-chi) <= 0 at chi={chi:g} for {model.design!r}")
    return _assemble(model, delta, chi, avg, spec, status=status, n_iter=n_eval,
                     residual=resid, branch=name)  # fmt: skip


def _bracketed_inf(model, budget):
    """``((mse, χ), n_eval)``: the β = ∞ fixed point bracketed by nested Brent solves in
    ``(ln Δ, ln χ)`` (see :func:`solve_rs_structured`), or the edge ``χ = e^{40}`` with its
    ``Δ*`` where ``g > 0`` there (no RS solution); ``(None, n_eval)`` if the budget ran out or
    no sign change was found."""
    levels, mix, s2 = model.quantizer.levels, model.teacher.mixture(), model.noise
    law = model.design.law(model.alpha)
    n_eval = 0
    u_prev = [math.log(max((model.rho + s2) / model.alpha, 1e-300))]

    def delta_star(lc):
        chi = math.exp(lc)
        _, R, dR = _spectral(model, chi)
        phi_p = R - chi * dR
        if not phi_p > 1e-3 * R:
            phi_p = law.phi_prime(chi)
        shift = model.ridge / R

        def avg_at(u):
            nonlocal n_eval
            n_eval += 1
            if n_eval > budget:
                raise _Budget
            return channel_averages(levels, mix, math.exp(u), math.inf, shift)

        def h(u):  # ln Δ' − ln Δ at fixed χ: +∞ as Δ → 0, −∞ as Δ → ∞ (Δ' is bounded)
            d_new = (s2 * phi_p + avg_at(u).mse * dR) / (R * R)
            return math.log(max(d_new, _TINY)) - u

        u = optimize.brentq(h, *_sign_bracket(h, u_prev[0]), xtol=1e-13, rtol=1e-15)
        u_prev[0] = u
        return u, avg_at(u)

    def g(lc):
        u, avg = delta_star(lc)
        c_new = law.chi_of_d(avg.D)[0]
        log_c = math.log(max(c_new, _TINY)) if math.isfinite(c_new) else _LOG_HI_CHI_INF + 1.0
        return log_c - lc, u, avg

    def start(u, lc, avg):
        return (avg.mse, math.exp(lc)), n_eval

    try:
        top = g(_LOG_HI_CHI_INF)
        if top[0] > 0:  # χ' > e^{40} at the edge: no solution in the box
            return start(top[1], _LOG_HI_CHI_INF, top[2])
        lo, step = 0.0, 1.0
        while g(lo)[0] <= 0:
            if lo <= _LOG_LO:
                return None, n_eval
            lo, step = max(lo - step, _LOG_LO), 2.0 * step
        lc = optimize.brentq(lambda x: g(x)[0], lo, _LOG_HI_CHI_INF, xtol=1e-12, rtol=1e-15)
        val, u, avg = g(lc)
    except (_Budget, ValueError, RuntimeError):
        return None, n_eval
    return start(u, lc, avg) if abs(val) < 1e-6 else (None, n_eval)


class _Budget(Exception):
    """Internal: the evaluation budget of :func:`_bracketed_inf` ran out."""


def _sign_bracket(fun, x0, step=1.0):
    """``(a, b)`` with ``fun(a) > 0 ≥ fun(b)`` for a function positive far left and negative far
    right, searched outwards from ``x0`` in doubling steps within ``[_LOG_LO, _LOG_HI]``."""
    f0 = fun(x0)
    direction = 1.0 if f0 > 0 else -1.0
    while True:
        x = min(max(x0 + direction * step, _LOG_LO), _LOG_HI)
        fx = fun(x)
        if not (math.isfinite(f0) and math.isfinite(fx)):
            raise ValueError("non-finite value while bracketing")
        if (fx > 0) != (f0 > 0):
            return (x0, x) if direction > 0 else (x, x0)
        if x in (_LOG_LO, _LOG_HI):
            raise ValueError("no sign change in the box")
        x0, f0, step = x, fx, 2.0 * step


class _NoSolution(Exception):
    """Internal: β = ∞, Δ converged at the box edge of χ with ``χ' = ∞``."""


def _iterate(residual, box, y, tol, max_iter, damping, inf_beta, n_used):
    """Picard, damped, then trust-region Newton steps on ``residual`` from ``y``; returns
    ``(y, res, stalled)``."""
    stalled = False
    res, J = residual(y)
    # state evolution (Picard) while it contracts fast, then damped steps, then Newton
    for _ in range(20):
        if not (np.max(np.abs(res)) >= 1e-2 and n_used() < max_iter):
            break
        r_try, j_try = residual(box(y + res))
        ratio = np.max(np.abs(r_try)) / np.max(np.abs(res))
        if not ratio < 1.0:
            break
        y, res, J = box(y + res), r_try, j_try
        if ratio > 0.5:
            break
    # (at β = ∞ the χ-map is singular where D reaches the rank limit: damp longer, as solve_rs)
    damped_until = 0.3 if inf_beta else 1.0
    while np.max(np.abs(res)) >= damped_until and n_used() < min(60, max_iter):
        y = box(y + (1.0 - damping) * res)
        res, J = residual(y)
    trust, best, best_at, stalled = 1.0, np.max(np.abs(res)), n_used(), False
    while np.max(np.abs(res)) >= tol and n_used() + 2 <= max_iter:
        cur = np.max(np.abs(res))
        if cur < 0.5 * best:
            best, best_at = cur, n_used()
        elif n_used() - best_at > 60:
            stalled = True
            break
        step = None
        if J is not None and np.all(np.isfinite(J)):
            try:
                step = -np.linalg.solve(J, res)
            except np.linalg.LinAlgError:
                step = None
        if step is None or not np.all(np.isfinite(step)):
            step = (1.0 - damping) * res
        step = np.clip(step, -trust, trust)
        r_try, j_try = residual(box(y + step))
        if np.max(np.abs(r_try)) < cur:
            y, res, J = box(y + step), r_try, j_try
            trust = min(2.0 * trust, 8.0)
        else:
            trust = max(0.25 * trust, 0.05)
            y = box(y + (1.0 - damping) * res * (0.5 if np.isfinite(res).all() else 0.0))
            res, J = residual(y)
    return y, res, stalled


def _log_jacobian(model, delta, chi, avg: ChannelAverages, spec):
    """Jacobian of ``G(y) − y`` in ``y = (ln Δ, ln χ)``: the channel's derivatives (``avg.jac``)
    and the spectral ones (``d ln R/d ln χ`` exactly, ``R''`` by a central difference)."""
    if avg.jac is None:
        return None
    _, R, dR = spec
    s2 = model.noise
    ddR_dlnchi = model.design.law(model.alpha).point(chi)[3]  # dR'(−χ)/d ln χ
    dlnR = -chi * dR / R  # d ln R(−χ)/d ln χ
    (dm_dd, dm_dlnA), (dD_dd, dD_dlnA) = avg.jac
    num = s2 * R + (avg.mse - chi * s2) * dR
    if not (num > 0 and avg.D > 0):
        return None
    # ln Δ' = ln num − 2 ln R
    dnum_dlnchi = (s2 * R * dlnR + (-chi * s2) * dR + (avg.mse - chi * s2) * ddR_dlnchi
                   + dR * dm_dlnA * dlnR)  # fmt: skip
    J = np.array([
        [delta * dR * dm_dd / num - 1.0, dnum_dlnchi / num - 2.0 * dlnR],
        [delta * dD_dd / avg.D, dD_dlnA * dlnR / avg.D - dlnR - 1.0],
    ])  # fmt: skip
    return J if np.all(np.isfinite(J)) else None


def _log_jacobian_inf(model, delta, chi, chi_new, avg: ChannelAverages, spec):
    """The same Jacobian at β = ∞: ``ln χ' = ln Φ⁻¹(D)`` (``d ln χ'/dD`` from
    :meth:`~replica.designs.SpectralLaw.chi_of_d`), the channel's derivatives in Δ and in the
    staircase shift ``λ/R(−χ)``; where ``χ' = ∞`` the χ-row is that of the push to the box edge
    (``(0, −1)``), so that Newton still solves Δ there; None where ``χ' = 0``."""
    if avg.jac is None or not chi_new > 0:
        return None
    _, R, dR = spec
    s2 = model.noise
    law = model.design.law(model.alpha)
    ddR_dlnchi = law.point(chi)[3]
    dlnR = -chi * dR / R
    dshift = model.ridge * chi * dR / (R * R)  # d(λ/R(−χ))/d ln χ
    dlnchi_dD = law.chi_of_d(avg.D)[1] if math.isfinite(chi_new) else 0.0
    (dm_dd, dm_dx), (dD_dd, dD_dx) = avg.jac
    num = s2 * R + (avg.mse - chi * s2) * dR
    if not (num > 0 and math.isfinite(dlnchi_dD)):
        return None
    dnum_dlnchi = (s2 * R * dlnR - chi * s2 * dR + (avg.mse - chi * s2) * ddR_dlnchi
                   + dR * dm_dx * dshift)  # fmt: skip
    if not math.isfinite(chi_new):
        dnum_dlnchi, dlnR = 0.0, 0.0  # χ stays at the box edge: only the Δ-row matters
    J = np.array([
        [delta * dR * dm_dd / num - 1.0, dnum_dlnchi / num - 2.0 * dlnR],
        [delta * dD_dd * dlnchi_dD, dD_dx * dshift * dlnchi_dD - 1.0],
    ])  # fmt: skip
    return J if np.all(np.isfinite(J)) else None


def _delta_sigma(model, s):
    """``(δ(s), δ'(s))``, ``δ = Tr[Σ(XᵀX + s)⁻¹]/N`` for the population covariance Σ of a fresh
    input (covariance design); ``Σ = (Tr XᵀX/(αN)) I`` otherwise (isotropic fresh input)."""
    law = model.design.law(model.alpha)
    sa = np.array([s])
    if isinstance(model.design, CovarianceDesign):
        lam = np.asarray(model.design.eigenvalues)
        G, dG = law.stieltjes(sa) if s > 0 else (None, None)
        if G is None:  # s ≤ 0 (below the lower edge): the branch through κ = α − 1 + sG
            raise ValueError("internal: s <= 0 for the covariance design's generalisation error")
        k = model.alpha - 1.0 + s * G[0]
        dk = G[0] + s * dG[0]
        den = k * lam + s
        return float(np.mean(lam / den)), float(-np.mean(lam * (dk * lam + 1.0) / den**2))
    if isinstance(model.design, GaussianDesign):
        c = 1.0
    else:
        c = law.mean / model.alpha
    G, dG = _stieltjes_any(model, s)
    return c * G, c * dG


def _stieltjes_any(model, s):
    """``(G(s), G'(s))`` at any real ``s`` on the branch used by the saddle point."""
    law = model.design.law(model.alpha)
    if isinstance(model.design, SpectralDesign):
        G, dG = law.stieltjes_any(np.array([s]))
        return float(G[0]), float(dG[0])
    if isinstance(model.design, GaussianDesign) and s <= 0:
        # closed form of the MP branch continued below the edge: κ solves κ² + (s+1−α)κ − αs = 0
        b = s + 1.0 - model.alpha
        k = 0.5 * (-b + math.sqrt(b * b + 4.0 * model.alpha * s))
        G = 1.0 / (k + s)
        dk = G + 0.0
        p = r = G * G
        dG = -(p * G + r) / (1.0 + s * p)
        del dk
        return G, dG
    G, dG = law.stieltjes(np.array([s]))
    return float(G[0]), float(dG[0])


def _assemble(model, delta, chi, avg: ChannelAverages, spec, **meta) -> RSSolution:
    s, R, dR = spec
    a, b, lam, s2 = model.alpha, model.beta, model.ridge, model.noise
    law = model.design.law(a)
    mse, D, V, Q = avg.mse, avg.D, avg.V, avg.Q
    # V = 0 on the β = ∞ staircase (V R = D/β)
    energy = (0.5 * V * R + 0.5 * (mse - 2 * chi * s2) * R - 0.5 * chi * (mse - chi * s2) * dR
              + 0.5 * a * s2 + 0.5 * lam * Q)  # fmt: skip
    entropy = avg.entropy + 0.5 * (chi * R - law.integrated_r(chi))
    if math.isinf(b):
        return _assemble_inf(model, delta, chi, avg, spec, energy, entropy, **meta)
    A = b * R
    free_energy = energy - entropy / b
    q_hat = A * A * delta
    # LMMSE view of the estimate: ŵ − w⁰ = (XᵀX + s)⁻¹(Xᵀξ + s q₂), q₂ ~ N(0, τ₂)
    one_d = 1.0 - D
    tau2 = (mse - D * D * delta) / (one_d * one_d) if one_d != 0 else math.nan
    G, dG = chi, _dG_on_branch(model, s, chi)
    dlt, ddlt = _delta_sigma_branch(model, s, chi, dG)
    gen_mean = s2 * (dlt + s * ddlt) - s * s * tau2 * ddlt
    thermal_gen = dlt / b
    train_mean = (s * s / a) * (s2 * (-dG + (a - 1.0) / (s * s)) + tau2 * (G + s * dG))
    thermal_train = D / (a * b)
    sample = model.estimator == "sample"
    gen = gen_mean + (thermal_gen if sample else 0.0) + (s2 if model.include_noise else 0.0)
    train = train_mean + (thermal_train if sample else 0.0)
    at = (dR / (R * R)) * avg.at_sum if math.isfinite(avg.at_sum) else math.inf
    return RSSolution(
        m=avg.m, q=avg.q, Q=Q, chi=chi, m_hat=A, q_hat=q_hat, Q_hat=A, delta=delta, A=A, D=D,
        mse=mse, gen_error=gen, train_error=train, free_energy=free_energy, energy=energy,
        entropy=entropy, at=at, **meta,
    )  # fmt: skip


def _assemble_inf(model, delta, chi, avg, spec, energy, entropy, **meta) -> RSSolution:
    """The β = ∞ limit of :func:`_assemble` at a fixed point ``χR(−χ) = D``.

    ``f = e`` (``s/β → 0``); ``e`` is the finite-β energy with ``V = 0``; ``s`` keeps its O(1)
    energetic part ``½[χR − ∫₀^χ R(−u)du]`` (the channel's posterior entropy is 0 on the
    staircase), the limit of the finite-β entropy, as :func:`replica.solve_rs` reports it.
    ``A = m̂ = Q̂ = q̂ = ∞``; the thermal parts of the errors (``δ/β``, ``D/(αβ)``) vanish; the
    mean parts by :func:`_errors_inf`. Where there is no RS solution (``χ' = ∞``, status
    ``"no_rs_solution"``) the errors are undefined: ``nan`` (the other fields are those at the
    edge ``χ = e^{40}`` of the solver's box, as in :func:`replica.solve_rs`)."""
    s, R, dR = spec
    mse, D = avg.mse, avg.D
    if meta.get("status") == NO_RS_SOLUTION:
        gen = train = math.nan
    else:
        gen, train = _errors_inf(model, s, chi, D, delta, mse)
        gen += model.noise if model.include_noise else 0.0
    at = (dR / (R * R)) * avg.at_sum if math.isfinite(avg.at_sum) else math.inf
    inf = math.inf
    return RSSolution(
        m=avg.m, q=avg.q, Q=avg.Q, chi=chi, m_hat=inf, q_hat=inf, Q_hat=inf, delta=delta, A=inf,
        D=D, mse=mse, gen_error=gen, train_error=train, free_energy=energy, energy=energy,
        entropy=entropy, at=at, **meta,
    )  # fmt: skip


def _errors_inf(model, s, chi, D, delta, mse):
    """``(gen, train)`` (mean parts, without the label noise of ``gen``) at a β = ∞ fixed point.

    The finite-β forms ``σ²(δ + sδ') − s²τ₂δ'`` and ``[σ²(α − 1 − s²G') + s²τ₂(G + sG')]/α``
    have terms O(χ) that cancel near the interpolation threshold (χ → ∞); here they are
    rewritten without cancellation. ``s = γ₂/β = R(1 − D)/D = 1/χ − R`` and, since ``1 − D = sχ``
    at the fixed point, ``s²τ₂ = (mse − D²Δ)/χ²`` (no ``0/0`` at ``D = 1``). For a covariance
    design (the Gaussian one: ``λ ≡ 1``) with ``κ = α − D``, ``y = κχ``,
    ``u = 1/(yλ + 1 − D)`` (``E[u] = 1``), ``P = E[λu²]``, ``den = 1 + χ(1 − D)P``:
    ``δ + sδ' = χyE[λ²u²]/den``, ``−δ' = χ²(κ'E[λ²u²] + P)`` so that
    ``−s²τ₂δ' = (mse − D²Δ)P(D/κ + 1)/den``, ``G + sG' = χyP/den``,
    ``−s²G' = (1 − D)²(κ'P + E[u²])`` with ``κ' = χyP/den`` (identities of the Silverstein
    equation, ``E[(yλ + 1 − D)uᵏ] = E[uᵏ⁻¹]``). An atomic law: ``G + sG' = Σwμ/(μ + s)²``,
    ``G' = −Σw/(μ + s)²``, each a sum of positive terms."""
    a, s2 = model.alpha, model.noise
    d = model.design
    s2tau2 = (mse - D * D * delta) / (chi * chi)
    if isinstance(d, SpectralDesign):
        law = d.law(a)
        mu, w = np.asarray(d.xtx_eigenvalues), np.asarray(d.weights)
        inv = 1.0 / (mu + s)
        g_sg = float((mu * inv * inv) @ w)  # G + sG'
        dG = -float((inv * inv) @ w)
        c = law.mean / a
        gen = c * (s2 * g_sg - s2tau2 * dG)
        train = (s2 * (a - 1.0 - s * s * dG) + s2tau2 * g_sg) / a
        return gen, train
    lam = np.asarray(d.eigenvalues) if isinstance(d, CovarianceDesign) else np.ones(1)
    kappa = a - D
    y = kappa * chi
    u = 1.0 / (y * lam + (1.0 - D))
    P = float(np.mean(lam * u * u))
    Q2 = float(np.mean(lam * lam * u * u))
    den = 1.0 + chi * (1.0 - D) * P
    dk = chi * y * P / den  # κ'(s)
    gen = (s2 * chi * y * Q2 + (mse - D * D * delta) * P * (D / kappa + 1.0)) / den
    s2_dG = -((1.0 - D) ** 2) * (dk * P + float(np.mean(u * u)))  # s²G'
    train = (s2 * (a - 1.0 - s2_dG) + s2tau2 * chi * y * P / den) / a
    return gen, train


def _dG_on_branch(model, s, chi):
    """``G'(s)`` on the saddle point's branch (``G(s) = χ``): ``1/(R' − 1/χ²)``."""
    _, _, dR = _spectral(model, chi)
    return 1.0 / (dR - 1.0 / (chi * chi))


def _delta_sigma_branch(model, s, chi, dG):
    """``(δ(s), δ'(s))`` on the saddle point's branch (``G(s) = χ``, ``G'(s) = dG``)."""
    d = model.design
    if isinstance(d, CovarianceDesign):
        lam = np.asarray(d.eigenvalues)
        k = model.alpha - 1.0 + s * chi
        dk = chi + s * dG
        den = k * lam + s
        return float(np.mean(lam / den)), float(-np.mean(lam * (dk * lam + 1.0) / den**2))
    c = 1.0 if isinstance(d, GaussianDesign) else d.law(model.alpha).mean / model.alpha
    return c * chi, c * dG


# ----------------------------------------------------------------------------- VAMP SE
def vamp_state_evolution(
    model: QuantizedRegression, max_iter: int = 500, tol: float = 1e-10, damping: float = 0.0,
    throw: bool = True,
):  # fmt: skip
    """State evolution of VAMP with the grid-posterior denoiser at noise precision β.

    Module 1 (denoiser) at ``(τ₁, γ₁)``: ``E₁ = mse``, ``α₁ = D``; ``γ₂ = γ₁(1 − α₁)/α₁``,
    ``τ₂ = (E₁ − α₁²τ₁)/(1 − α₁)²``. Module 2 (LMMSE, ``s = γ₂/β``): ``α₂ = sG(s)``,
    ``E₂ = σ²(G + sG') − s²τ₂G'``; ``γ₁ = γ₂(1 − α₂)/α₂``, ``τ₁ = (E₂ − α₂²τ₂)/(1 − α₂)²``.
    Started from the grid prior (``γ₁`` small). Returns an :class:`RSSolution` assembled at the
    last ``(Δ = τ₁, χ = βD/γ₁)``, whose fixed point is the RS saddle point.

    References
    ----------
    Rangan, Schniter, Fletcher (2019), Theorem 1 (state evolution for non-MMSE denoisers).
    """
    _check_model(model, finite_beta=True)
    b, s2 = model.beta, model.noise
    levels, mix = model.quantizer.levels, model.teacher.mixture()
    mse0, chi0 = _prior_start(model)
    _, R0, dR0 = _spectral(model, chi0)
    tau1 = (s2 * R0 + (mse0 - chi0 * s2) * dR0) / (R0 * R0)
    g1 = b * R0
    status, n_it, resid = MAX_ITER, 0, math.inf
    for n_it in range(1, max_iter + 1):  # noqa: B007 (reported as n_iter)
        avg = channel_averages(levels, mix, tau1, g1, b * model.ridge)
        a1 = avg.D
        g2 = g1 * (1.0 - a1) / a1
        tau2 = (avg.mse - a1 * a1 * tau1) / (1.0 - a1) ** 2
        s = g2 / b
        G, dG = _stieltjes_any(model, s)
        a2 = s * G
        E2 = s2 * (G + s * dG) - s * s * tau2 * dG
        g1_new = g2 * (1.0 - a2) / a2
        tau1_new = (E2 - a2 * a2 * tau2) / (1.0 - a2) ** 2
        resid = max(abs(math.log(g1_new / g1)), abs(math.log(tau1_new / tau1)))
        g1 = math.exp(damping * math.log(g1) + (1 - damping) * math.log(g1_new))
        tau1 = math.exp(damping * math.log(tau1) + (1 - damping) * math.log(tau1_new))
        if not math.isfinite(resid):
            break
        if resid < tol:
            status = CONVERGED
            break
    avg = channel_averages(levels, mix, tau1, g1, b * model.ridge)
    chi = b * avg.D / g1
    spec = _spectral(model, chi)
    sol = _assemble(model, tau1, chi, avg, spec, status=status if math.isfinite(resid)
                    else "diverged", n_iter=n_it, residual=resid, branch="vamp-se")  # fmt: skip
    return finish(sol, throw, "vamp_state_evolution")


_ = NO_RS_SOLUTION  # re-exported status names stay importable from here
