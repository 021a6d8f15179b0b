"""Approximate message passing for the Gibbs posterior of weight-quantized regression.

The algorithm of the paper card (Kashiwamura et al. 2024, "AMP") for

    P(w) ∝ exp(−β[½‖y − Xw‖² + ½λ‖w‖²]),   w ∈ Q^N,

with ``X`` of size ``M × N`` and entries of variance ``1/N``. One iteration, from the estimate
``ŵ``, its posterior variances ``v`` and the previous residual ``g``:

    V = (1/N) Σ_i v_i                         (or V_μ = ((X∘X) v)_μ)
    ω = X ŵ − V g                             (Onsager-corrected prediction)
    g = (y − ω) / (1/β + V)
    A = α / (1/β + V)                         (or A_i = ((X∘X)ᵀ 1/(1/β + V))_i)
    r = ŵ + Xᵀ g / A
    ŵ ← η ŵ + (1 − η) f(r; A),   v ← η v + (1 − η) v(r; A),

where ``f`` and ``v`` are the posterior mean and variance on the grid
(:func:`replica.channel.grid_posterior`, the same function the replica and state-evolution
averages use) with log prior ``−βλq²/2``. The scalar-variance form costs two matrix–vector
products per iteration; the full form four (with ``X∘X`` formed once).

Undamped (η = 0), the iterates are described by state evolution
(:func:`replica.amp.state_evolution`): ``mse_t`` follows the Picard iteration of the RS map.

References
----------
S. Kashiwamura, A. Sakata, M. Imaizumi, "Effect of Weight Quantization on Learning Models by
Typical Case Analysis", arXiv:2401.17269 (ISIT 2024), and the paper card's AMP section;
S. Rangan, "Generalized approximate message passing for estimation with random linear mixing",
ISIT 2011 (the scalar- and full-variance GAMP forms with a Gaussian output channel).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..channel import _grid_posterior_numpy, grid_posterior
from ..errors import check, check_memory, integer, real
from ..quantizers import Quantizer
from ..results import CONVERGED, DIVERGED, MAX_ITER, Result, finish
from . import backend as bk
from .denoiser import prior_moments
from .trajectory import Trajectory

__all__ = ["AUTO_DAMPINGS", "STALLED", "AMPResult", "Trajectory", "default_tol", "prior_moments",
           "run"]  # fmt: skip

#: status of :func:`run` stopped by ``patience`` (no new minimum of the residual)
STALLED = "stalled"

VARIANCES = ("scalar", "full")


@dataclass(frozen=True, kw_only=True, eq=False)
class AMPResult(Result):
    """Outcome of :func:`run`.

    Attributes
    ----------
    estimate : array
        ``ŵ`` (posterior mean on the grid), on the input's backend and device.
    variance : array
        ``v`` (posterior variances), same backend.
    A : float or array
        The last precision (array in the full-variance form).
    trajectory : Trajectory
        Per-iteration ``mse``, ``m``, ``q``, ``V``, ``A``, ``residual`` as numpy arrays
        (``mse``, ``m`` are NaN-free only when the teacher was given; without it they are empty).
    mse, m, q : float or None
        Of the final estimate; ``mse`` and ``m`` are None without a teacher.
    """

    estimate: Any
    variance: Any
    A: Any
    trajectory: Trajectory
    mse: float | None
    m: float | None
    q: float
    damping: float = 0.0
    stages: tuple = ()


#: damping schedule of ``run(damping="auto")``: undamped first (the algorithm state evolution
#: describes), then stronger damping each time a stage stops making progress
AUTO_DAMPINGS = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98)


def _stage_patience(eta: float) -> int:
    """Iterations without a new best residual after which ``damping="auto"`` gives up on the
    damping ``eta``: damping slows the contraction by the factor ``1 − η``, so the patience
    grows as ``1/(1 − η)``."""
    return max(100, math.ceil(30.0 / (1.0 - eta)))


def _check_damping(damping) -> float | str:
    """``damping`` of :func:`run` and :func:`~replica.amp.vamp.vamp`: a number in [0, 1) or
    ``"auto"``."""
    if isinstance(damping, str):
        check(damping == "auto", "damping", "a number in [0, 1) or 'auto'", damping)
        return damping
    return real(damping, "damping", "a number in [0, 1) or 'auto'", lambda a: 0.0 <= a < 1.0)


class _Schedule:
    """The damping of one run of :func:`run` or :func:`~replica.amp.vamp.vamp`: a fixed ``η``,
    or the ``"auto"`` schedule of :data:`AUTO_DAMPINGS` with backtracking (see :func:`run`).

    The algorithm passes each iteration's residual and the state that iteration started from
    to :meth:`failed`; when it answers True, :meth:`next_stage` returns the state to continue
    from with the next damping :attr:`eta`. The state is opaque here (a tuple of arrays).
    """

    __slots__ = ("_best_state", "_init_state", "_patience", "_restarted", "_stage_start", "_start",
                 "_todo", "auto", "best", "eta", "patience", "since_best", "stages")  # fmt: skip

    def __init__(self, damping, patience: int | None, init_state):
        self.auto = isinstance(damping, str)
        self._todo = list(AUTO_DAMPINGS) if self.auto else [float(damping)]
        self.eta = self._todo.pop(0)
        self._patience = patience
        self.patience = (patience or _stage_patience(self.eta)) if self.auto else patience
        self.best, self.since_best = math.inf, 0
        self.stages = []
        self._best_state, self._init_state = None, init_state
        self._stage_start, self._start = 0, "initial"
        self._restarted = False  # the second pass: every damping from the initial state

    def failed(self, resid: float | None, state) -> bool:
        """Record the residual of an iteration (None: none yet) that started from ``state``;
        True when ``"auto"`` must leave the current damping: a non-finite residual, one above
        10× the stage's best, or ``patience`` iterations without a new best."""
        if resid is not None and resid < self.best:  # False for NaN
            self.best, self.since_best = resid, 0
            if self.auto:  # where a backtrack returns to
                self._best_state = state
            return False
        self.since_best += 1
        if not self.auto or not (self._todo or not self._restarted):
            return False
        if resid is not None and (not math.isfinite(resid) or resid > 10.0 * self.best):
            return True
        return self.since_best >= self.patience

    def next_stage(self, it: int, resid: float | None):
        """Close the failed stage at iteration ``it`` and return the state to continue from: the
        stage's best (``"best"``) or, on the second pass, the initial one (``"initial"``)."""
        bad = resid is not None and not math.isfinite(resid)
        self.stages.append((self.eta, it - self._stage_start, self.best,
                            "diverged" if bad else STALLED, self._start))  # fmt: skip
        if not self._todo:
            # backtracking led nowhere (the best iterates can sit near a point the damped map
            # does not contract to): once more, each damping from the initial state
            self._restarted, self._todo = True, list(AUTO_DAMPINGS[1:])
        self.eta = self._todo.pop(0)
        if self._restarted or self._best_state is None:
            state, self._start = self._init_state, "initial"
        else:  # back to the best iterate of this stage, damp more
            state, self._start = self._best_state, "best"
        self._stage_start, self.since_best = it, 0
        self.patience = self._patience or _stage_patience(self.eta)
        self.best, self._best_state = math.inf, None
        return state

    def stalled(self) -> bool:
        """``patience`` iterations without a new best (the run stops as ``"stalled"``)."""
        return self.patience is not None and self.since_best >= self.patience

    def close(self, it: int, status: str) -> tuple:
        """The stages of an ``"auto"`` run, the last ending with ``status`` at ``it``."""
        if self.auto:
            self.stages.append((self.eta, it - self._stage_start, self.best, status, self._start))
        return tuple(self.stages)


def _levels(quantizer) -> np.ndarray:
    if isinstance(quantizer, Quantizer):
        return np.asarray(quantizer.levels, dtype=float)
    lv = np.asarray(quantizer, dtype=float)
    check(lv.ndim == 1 and lv.size >= 1 and bool(np.all(np.isfinite(lv))), "quantizer",
          "a Quantizer or a 1-D array of finite levels", quantizer)  # fmt: skip
    return lv


def _inputs(X, y, quantizer, beta, ridge, damping, max_iter, tol, teacher, patience, throw,
            algorithm):  # fmt: skip
    """The checked arguments of :func:`run` and :func:`~replica.amp.vamp.vamp` (``algorithm``
    names the caller in the messages), with the grid and its log prior on ``X``'s backend:
    ``(M, N, be, xp, beta, ridge, damping, max_iter, tol, patience, levels_np, log_prior_np,
    levels, log_prior, w0)``."""
    check(getattr(X, "ndim", None) == 2, "X", "a 2-D (M, N) array", getattr(X, "shape", X))
    M, N = (int(s) for s in X.shape)
    check(M >= 1 and N >= 1, "X", "an (M, N) design with M >= 1 samples and N >= 1 weights",
          (M, N))  # fmt: skip
    be = bk.backend_of(X)
    xp = bk.namespace(X)
    check(getattr(y, "shape", None) is not None and tuple(y.shape) == (M,), "y",
          f"an array of shape ({M},)", getattr(y, "shape", y))  # fmt: skip
    check(bk.backend_of(y) == be, "y", f"an array on the same backend as X ({be})",
          bk.backend_of(y))  # fmt: skip
    beta = real(beta, "beta", f"a finite number > 0 ({algorithm} needs a finite temperature)",
                lambda b: math.isfinite(b) and b > 0)  # fmt: skip
    ridge = real(ridge, "ridge", "a finite number >= 0", lambda r: math.isfinite(r) and r >= 0)
    damping = _check_damping(damping)
    max_iter = integer(max_iter, "max_iter", "an integer >= 1", lambda n: n >= 1)
    if tol is None:
        tol = default_tol(be.dtype)
    tol = real(tol, "tol", "a number > 0", lambda t: t > 0)
    if patience is not None:
        patience = integer(patience, "patience", "None or an integer >= 1", lambda n: n >= 1)
    check(isinstance(throw, bool), "throw", "a bool", throw)
    # a NaN or inf in the data would come back as a NaN result: refuse it here, naming the array
    for name, arr in (("X", X), ("y", y)):
        check(bool(xp.all(xp.isfinite(arr))), name, "finite entries", "NaN or inf entries")
    levels_np = _levels(quantizer)
    # the (N, K) posterior tables of each iteration (logits, weights, products): 20-bit grids
    # at N = 2000 would need ~16 GB
    free = be.free_memory()
    check_memory(8.0 * 6 * N * levels_np.size, "quantizer",
                 f"{levels_np.size} levels x {N} weights per iteration", free,
                 f"the memory available on {be.name}:{be.device}")  # fmt: skip
    log_prior_np = -0.5 * beta * ridge * levels_np**2
    levels = be.asarray(levels_np)
    log_prior = be.asarray(log_prior_np) if ridge > 0 else None
    w0 = None
    if teacher is not None:
        w0 = be.asarray(teacher)
        check(tuple(w0.shape) == (N,), "teacher", f"an array of shape ({N},)", tuple(w0.shape))
        check(bool(xp.all(xp.isfinite(w0))), "teacher", "finite entries", "NaN or inf entries")
    return (M, N, be, xp, beta, ridge, damping, max_iter, tol, patience, levels_np,
            log_prior_np, levels, log_prior, w0)  # fmt: skip


def _trajectory(rows: dict, residuals: list) -> Trajectory:
    """The :class:`Trajectory` of the per-iteration ``rows`` and ``residuals`` of a run."""
    return Trajectory(
        **{k: np.asarray(val, dtype=float) for k, val in rows.items()},
        residual=np.asarray(residuals, dtype=float),
    )


def default_tol(dtype) -> float:
    """Default AMP tolerance for arrays of ``dtype``: ``max(1e-7, 32·eps)``.

    1e-7 in float64. In float32 the RMS update cannot go below its rounding floor (≈ 3e-7 at
    the card's points, a few ``eps = 1.19e-7``), so a fixed 1e-7 never converges there; the
    scaled default is ``32·eps ≈ 3.8e-6``.
    """
    check(str(dtype) in ("float64", "float32"), "dtype", "'float64' or 'float32'", dtype)
    return max(1e-7, 32.0 * float(np.finfo(np.dtype(str(dtype))).eps))


def run(
    X,
    y,
    quantizer,
    beta: float,
    ridge: float = 0.0,
    damping: float | str = 0.0,
    max_iter: int = 300,
    tol: float | None = None,
    teacher=None,
    variance: str = "scalar",
    patience: int | None = None,
    throw: bool = True,
) -> AMPResult:
    """Run AMP on one instance ``(X, y)``.

    Parameters
    ----------
    X : (M, N) array
        Design matrix with entries of variance ``1/N`` (numpy, cupy or torch; float64/float32).
    y : (M,) array
        Labels, same backend and device as ``X``.
    quantizer : Quantizer or (K,) array
        The grid of allowed weights.
    beta : float
        Inverse temperature of the Gibbs posterior (finite, > 0).
    ridge : float
        ``λ ≥ 0``.
    damping : float or "auto"
        ``η ∈ [0, 1)``: weight of the old ``ŵ, v`` in each update. 0 is the algorithm state
        evolution describes. ``"auto"`` runs through :data:`AUTO_DAMPINGS` (0, 0.5, 0.7, …,
        0.98): each stage continues until the residual has not reached a new minimum for
        ``max(100, 30/(1 − η))`` iterations (or ``patience``, when given) or grows above 10× its
        minimum; then the state (``ŵ, v`` and the Onsager memory) is *backtracked* to the
        iterate with the smallest residual of that stage and the next damping is tried. If the
        whole schedule fails, it is run once more with every damped stage started from the
        initial state (rarely needed: 1 of 16 instances at N = 400 in the tests). Where RS is stable
        the undamped stage converges; in the RSB phase a damped stage reaches the TAP branch's
        fixed point (:func:`replica.solve_tap`). ``max_iter`` is the budget of all stages
        together; the damping used is reported in ``result.damping`` and every stage in
        ``result.stages``.
    max_iter : int
        Iteration budget.
    tol : float, optional
        Converged when the RMS size of the undamped update, ``‖f(r; A) − ŵ‖/√N``, is below
        ``tol`` (independent of the damping). Default :func:`default_tol` of the array's dtype:
        1e-7 in float64; in float32 the residual has a rounding floor of ≈ 3e-7, so the default
        is ``32·eps(float32) ≈ 3.8e-6``.
    teacher : (N,) array, optional
        ``w⁰``; when given, ``mse`` and ``m`` are recorded at every iteration.
    variance : {"scalar", "full"}
        Scalar variances (two mat-vecs per iteration) or the full ``X∘X`` form.
    patience : int, optional
        Stop with status ``"stalled"`` when the residual has not reached a new minimum for
        ``patience`` consecutive iterations (an iterate wandering without converging, as
        undamped AMP does where RS is unstable). None (default) runs to ``max_iter``. With
        ``damping="auto"`` it is the patience of each stage (default: see ``damping``).
    throw : bool
        Raise :class:`~replica.ConvergenceError` (carrying the result) when not converged;
        sweeps pass ``False`` and read ``status``.

    Returns
    -------
    AMPResult
        ``status`` is ``"converged"``, ``"max_iter"``, ``"stalled"`` (see ``patience``; with
        ``"auto"``: the last damping stalled too) or ``"diverged"`` (a non-finite iterate).
        ``damping`` is the damping of the last iteration; ``stages`` (``"auto"`` only) holds
        ``(damping, iterations, best residual, outcome, start)`` per stage, ``start`` being
        ``"initial"`` or ``"best"`` (the backtracked iterate). After a backtrack the
        trajectory continues from the restored iterate.

    References
    ----------
    Kashiwamura et al., arXiv:2401.17269, paper card "AMP (finite-size validator)".
    """
    check(isinstance(variance, str) and variance in VARIANCES, "variance",
          f"one of {VARIANCES}", variance)  # fmt: skip
    (M, N, be, xp, beta, ridge, damping, max_iter, tol, patience, levels_np, log_prior_np, levels,
     log_prior, w0) = _inputs(X, y, quantizer, beta, ridge, damping, max_iter, tol, teacher,
                              patience, throw, "AMP")  # fmt: skip

    alpha = M / N
    inv_beta = 1.0 / beta
    mean0, var0 = prior_moments(levels_np, log_prior_np)
    w = be.asarray(np.full(N, mean0))
    v = be.asarray(np.full(N, var0))
    g = be.asarray(np.zeros(M))
    X2 = X * X if variance == "full" else None
    sqrt_n = math.sqrt(N)
    rows = {k: [] for k in ("mse", "m", "q", "V", "A")}
    residuals = []

    def record(w, Vbar, A_mean):
        q = bk.scalar(w @ w) / N
        rows["q"].append(q)
        rows["V"].append(Vbar)
        rows["A"].append(A_mean)
        if w0 is not None:
            m = bk.scalar(w0 @ w) / N
            rows["m"].append(m)
            e = w0 - w
            rows["mse"].append(bk.scalar(e @ e) / N)

    def precision(v):
        """(V, A, mean V, mean A): scalars in the scalar form, arrays in the full form."""
        if X2 is None:
            # v.sum(), not xp.sum / xp.mean: the same reduction without the wrappers' cost,
            # which shows at N ~ 1e3 (numpy, torch and cupy arrays all have .sum())
            Vs = bk.scalar(v.sum()) / N
            return Vs, alpha / (inv_beta + Vs), Vs, alpha / (inv_beta + Vs)
        Vm = X2 @ v
        A = X2.T @ (1.0 / (inv_beta + Vm))
        return Vm, A, bk.scalar(xp.mean(v)), bk.scalar(xp.mean(A))

    V, A, Vbar, A_mean = precision(v)
    record(w, Vbar, A_mean)
    status, it, resid = MAX_ITER, 0, math.inf
    sched = _Schedule(damping, patience, (w, v, g))
    eta = sched.eta
    # numpy with scalar variances: the denoiser's numpy kernel directly (grid_posterior's
    # dispatch is ~2 us a call); the same function grid_posterior calls for these arguments
    numpy_scalar = be.name == "numpy" and X2 is None
    for it in range(1, max_iter + 1):
        g_old = g
        # in place where a temporary would be made: the same floating-point operations (and
        # bits) as g = (y − (Xw − Vg))/(1/β + V), r = w + Xᵀg/A, with fewer allocations
        omega = X @ w
        omega -= V * g
        g = y - omega
        g /= inv_beta + V
        r = X.T @ g
        r /= A
        r += w
        if numpy_scalar and 0.0 < A < 1e100:
            f, vv = _grid_posterior_numpy(r, A, levels, log_prior)
        else:
            f, vv = grid_posterior(r, A, levels, log_prior, xp=xp)
        d = f - w
        resid = bk.scalar(d @ d) ** 0.5 / sqrt_n
        # the state this update started from: where a backtrack of "auto" returns to
        if sched.failed(resid, (w, v, g_old)):
            w, v, g = sched.next_stage(it, resid)
            eta = sched.eta
            V, A, Vbar, A_mean = precision(v)
            residuals.append(resid if math.isfinite(resid) else math.inf)
            record(w, Vbar, A_mean)
            continue
        if not math.isfinite(resid):
            status = DIVERGED
            break
        if eta > 0.0:
            w = eta * w + (1.0 - eta) * f
            v = eta * v + (1.0 - eta) * vv
        else:
            w, v = f, vv
        V, A, Vbar, A_mean = precision(v)
        record(w, Vbar, A_mean)
        residuals.append(resid)
        if resid < tol:
            status = CONVERGED
            break
        if sched.stalled():
            status = STALLED
            break
    stages = sched.close(it, status)
    traj = _trajectory(rows, residuals)
    result = AMPResult(
        status=status,
        n_iter=it,
        residual=resid,
        estimate=w,
        variance=v,
        A=A,
        trajectory=traj,
        mse=float(traj.mse[-1]) if w0 is not None else None,
        m=float(traj.m[-1]) if w0 is not None else None,
        q=float(traj.q[-1]),
        damping=eta,
        stages=stages,
    )
    how = "auto" if sched.auto else f"{damping:g}"
    return finish(result, throw, f"amp.run(N={N}, M={M}, beta={beta:g}, damping={how})")
