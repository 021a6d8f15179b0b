"""Vector AMP for the Gibbs posterior of weight-quantized regression on any design.

VAMP (Rangan, Schniter, Fletcher 2019) splits the posterior
``P(w) ∝ exp(−β[½‖y − Xw‖² + ½λ‖w‖²])``, ``w ∈ Q^N``, into two modules exchanging Gaussian
messages ``(r, γ)``:

* the denoiser (grid prior with log prior ``−βλq²/2``, :func:`replica.channel.grid_posterior`)
  at ``(r₁, γ₁)``: ``ŵ₁ = f(r₁; γ₁)``, ``α₁ = ⟨∂_r f⟩ = γ₁⟨v⟩``, then
  ``γ₂ = γ₁(1 − α₁)/α₁``, ``r₂ = (ŵ₁ − α₁r₁)/(1 − α₁)``;
* the LMMSE module with the Gaussian likelihood at noise precision β, through one SVD
  ``X = U S Vᵀ`` (computed once): ``ŵ₂ = (βXᵀX + γ₂)⁻¹(βXᵀy + γ₂r₂)``,
  ``α₂ = (γ₂/N) Tr(βXᵀX + γ₂)⁻¹``, then ``γ₁ = γ₂(1 − α₂)/α₂``, ``r₁ = (ŵ₂ − α₂r₂)/(1 − α₂)``.

For right-rotationally invariant designs its iterates follow the state evolution of
:func:`replica.structured.vamp_state_evolution`, whose fixed point is the RS saddle point of
:func:`replica.structured.solve_rs_structured`; for i.i.d. Gaussian designs it reaches the same
fixed point as :func:`replica.amp.run`.

References
----------
S. Rangan, P. Schniter, A. K. Fletcher, "Vector approximate message passing", IEEE Trans. Inf.
Theory 65, 6664 (2019), Algorithm 1 (and its SVD form, Algorithm 2).
"""

from __future__ import annotations

import math

import numpy as np

from ..channel import grid_posterior
from ..results import CONVERGED, DIVERGED, MAX_ITER, finish
from . import backend as bk
from .amp import STALLED, AMPResult, _inputs, _Schedule, _trajectory
from .denoiser import prior_moments

__all__ = ["vamp"]


def vamp(
    X,
    y,
    quantizer,
    beta: float,
    ridge: float = 0.0,
    damping: float | str = 0.0,
    max_iter: int = 500,
    tol: float | None = None,
    teacher=None,
    patience: int | None = None,
    throw: bool = True,
) -> AMPResult:
    """Run VAMP on one instance ``(X, y)`` (any design).

    Parameters
    ----------
    X : (M, N) array
        Design matrix (numpy, cupy or torch; float64/float32).
    y : (M,) array
        Labels, same backend and device as ``X``.
    quantizer : Quantizer or (K,) array
        The grid of allowed weights.
    beta : float
        Inverse temperature (finite, > 0): the noise precision of the LMMSE module.
    ridge : float
        ``λ ≥ 0``.
    damping : float or "auto"
        ``η ∈ [0, 1)``: weight of the old message ``(r₁, γ₁)`` (in ``r₁`` and ``ln γ₁``) in each
        update of the denoiser's input; 0 is the algorithm state evolution describes.
        ``"auto"``: the schedule of :func:`replica.amp.run` (:data:`~replica.amp.amp.AUTO_DAMPINGS`
        0, 0.5, 0.7, … 0.98, each stage left after ``max(100, 30/(1 − η))`` iterations without
        a new minimum of the residual (or ``patience``), a residual above 10× that minimum, or a
        non-finite iterate or precision; the state ``(r₂, γ₂, r₁, γ₁)`` then goes back to the
        start of the stage's best iteration, and after the whole schedule once more from the
        initial state). Where undamped VAMP converges, ``"auto"`` is undamped VAMP (same
        iterates); ``result.damping`` and ``result.stages`` report what was used. On the RSB
        side it helps only near the AT line (measured at N = 300-400, β = 5: power-law design,
        2 bits, ω = 4, AT 1.07: converged on 4 of 6 instances, undamped on none; ω = 4.5,
        AT 1.34: 0 of 6; i.i.d. design, ω = 2.7, AT 1.35: 0 of 4, where ``amp.run``'s
        ``"auto"`` converges on 4 of 4), so non-convergence there is reported, not hidden.
    max_iter : int
        Iteration budget (of all stages together with ``"auto"``).
    tol : float, optional
        Converged when the residual ``‖ŵ₁ − ŵ₁_prev‖/(√N (1 − η))`` is below ``tol``: the RMS
        change of the estimate, divided by the damping's step fraction ``1 − η`` so that it
        estimates the undamped update and a strong damping cannot pass a slow drift as
        converged (the same meaning as :func:`replica.amp.run`'s residual). Default
        :func:`~replica.amp.amp.default_tol` of the array's dtype (1e-7 in float64,
        ``32·eps ≈ 3.8e-6`` in float32, whose residual has a rounding floor of a few 1e-7).
    teacher : (N,) array, optional
        ``w⁰``; when given, ``mse`` and ``m`` are recorded at every iteration.
    patience : int, optional
        Stop with status ``"stalled"`` after this many iterations without a new minimum of
        the residual (None: run to ``max_iter``); with ``"auto"`` the patience of each stage.
    throw : bool
        Raise :class:`~replica.ConvergenceError` (carrying the result) when not converged.

    Returns
    -------
    AMPResult
        As :func:`replica.amp.run`: ``estimate`` = ``ŵ₁`` (the denoiser's posterior mean, on the
        grid's convex hull), ``variance`` its posterior variances, ``A`` = ``γ₁``; statuses
        ``"converged"``, ``"max_iter"``, ``"stalled"``, ``"diverged"`` (a non-finite iterate or
        a precision ``γ`` that left ``(0, ∞)``); ``damping`` the damping of the last iteration
        and ``stages`` (``"auto"`` only) ``(damping, iterations, best residual, outcome, start)``
        per stage, as in :func:`replica.amp.run`. The trajectory has one row per iteration;
        with ``"auto"``, an iteration whose LMMSE step gave a precision outside ``(0, ∞)``
        (then backtracked) has no denoising step and its row is NaN (residual ``inf``).
    """
    (M, N, be, xp, beta, ridge, damping, max_iter, tol, patience, levels_np, log_prior_np, levels,
     log_prior, w0) = _inputs(X, y, quantizer, beta, ridge, damping, max_iter, tol, teacher,
                              patience, throw, "VAMP")  # fmt: skip

    # one thin SVD; the LMMSE module is then O(MN) per iteration
    U, S, Vh = xp.linalg.svd(X, full_matrices=False)
    k = int(S.shape[0])
    bS = beta * S
    bS2 = beta * S * S
    Uty = U.T @ y
    sqrt_n = math.sqrt(N)

    mean0, var0 = prior_moments(levels_np, log_prior_np)
    r2 = be.asarray(np.full(N, mean0))
    g2 = 1.0 / max(var0, 1e-300)  # the prior's precision: the denoiser at γ₁ → 0
    rows = {key: [] for key in ("mse", "m", "q", "V", "A")}
    residuals = []
    w_prev, r1, g1 = None, None, None
    status, it, resid = MAX_ITER, 0, math.inf
    sched = _Schedule(damping, patience, (r2, g2, r1, g1, w_prev))
    f = v = None
    for it in range(1, max_iter + 1):
        start = (r2, g2, r1, g1, w_prev)  # where a backtrack of "auto" returns to
        eta = sched.eta
        # LMMSE module
        inv = 1.0 / (bS2 + g2)
        Vr = Vh @ r2
        w2 = r2 + Vh.T @ (bS * (Uty - S * Vr) * inv)
        a2 = g2 * (bk.scalar(xp.sum(inv)) + (N - k) / g2) / N
        g1_new = g2 * (1.0 - a2) / a2
        r1_new = (w2 - a2 * r2) / (1.0 - a2)
        if r1 is not None and eta > 0.0 and g1_new > 0 and g1 > 0:
            r1 = eta * r1 + (1.0 - eta) * r1_new
            g1 = math.exp(eta * math.log(g1) + (1.0 - eta) * math.log(g1_new))
            denom = (1.0 - eta) * sqrt_n
        else:
            r1, g1 = r1_new, g1_new
            denom = sqrt_n
        # the denoiser needs a positive precision
        ok = math.isfinite(g1) and g1 > 0 and math.isfinite(a2)
        step = None  # this iteration's residual (none before the second denoising step)
        if ok:  # denoiser module
            f, v = grid_posterior(r1, g1, levels, log_prior, xp=xp)
            Vbar = bk.scalar(xp.sum(v)) / N
            a1 = g1 * Vbar
            rows["q"].append(bk.scalar(f @ f) / N)
            rows["V"].append(Vbar)
            rows["A"].append(g1)
            if w0 is not None:
                e = w0 - f
                rows["mse"].append(bk.scalar(e @ e) / N)
                rows["m"].append(bk.scalar(w0 @ f) / N)
            if w_prev is not None:
                d = f - w_prev
                step = bk.scalar(d @ d) ** 0.5 / denom
            # α₁ ≥ 1 (a negative message precision γ₂) is allowed, as in expectation
            # propagation; only a non-finite iterate or α₁ ∈ {0, 1} (a division by zero) stops
            ok = math.isfinite(a1) and a1 not in (0.0, 1.0)
        if sched.failed(step if ok else math.nan, start):
            if len(rows["q"]) < it:  # no denoising step this iteration: a NaN row, said so
                for key in rows if w0 is not None else ("q", "V", "A"):
                    rows[key].append(math.nan)
            residuals.append(step if ok and step is not None else math.inf)
            r2, g2, r1, g1, w_prev = sched.next_stage(it, step if ok else math.nan)
            continue
        if not ok or (step is not None and not math.isfinite(step)):
            if len(rows["q"]) == it:
                residuals.append(math.inf if step is None else step)
            status = DIVERGED
            break
        resid = math.inf if step is None else step
        w_prev = f
        residuals.append(resid)
        if resid < tol:
            status = CONVERGED
            break
        if sched.stalled():
            status = STALLED
            break
        g2 = g1 * (1.0 - a1) / a1
        r2 = (f - a1 * r1) / (1.0 - a1)
    stages = sched.close(it, status)
    traj = _trajectory(rows, residuals)
    if f is None:  # diverged before the first denoising step
        f, v = r2, r2 * 0.0
    result = AMPResult(
        status=status, n_iter=it, residual=resid, estimate=f, variance=v,
        A=math.nan if g1 is None else g1,  # None: stopped right after a restart ("auto")
        trajectory=traj, mse=float(traj.mse[-1]) if w0 is not None and traj.mse.size else None,
        m=float(traj.m[-1]) if w0 is not None and traj.m.size else None,
        q=float(traj.q[-1]) if traj.q.size else math.nan, damping=sched.eta, stages=stages,
    )  # fmt: skip
    how = "auto" if sched.auto else f"{damping:g}"
    return finish(result, throw, f"amp.vamp(N={N}, M={M}, beta={beta:g}, damping={how})")
