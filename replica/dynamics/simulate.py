"""Finite-d online STE training of the quantized linear student, vectorised over seeds.

Each seed is an independent run owning ``numpy.random.default_rng(seed)``; its stream (teacher,
initial weights, then per chunk of steps the inputs and the label noise) does not depend on the
other seeds, so a seed gives the same run alone or in a batch. The update is exactly the card's

    ŵ ← ŵ + (η/√d)(y − ŷ) ψ_x(x) ⊙ g(ŵ) − (ηλ/d) r(ŵ),

one fresh sample per step, ``τ = t/d`` (see :mod:`replica.dynamics.problem` for ``g`` and ``r``), and
ε_g is evaluated with the population formula from the current weights.

The step loop is written against an array namespace ``xp`` (numpy by default): with an
array-API namespace (e.g. one from ``array_api_compat``) the state lives on that namespace's
device; random numbers are drawn on the host per chunk and moved with ``xp.asarray``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import check, check_memory, integer, real
from ..results import CONVERGED, DIVERGED, Result, finish
from .pde import _histogram_density
from .problem import STEProblem, _mapper

__all__ = ["Simulation", "simulate"]


@dataclass(frozen=True, kw_only=True)
class Simulation(Result):
    """Finite-d STE runs, one row per seed.

    Attributes
    ----------
    tau : numpy.ndarray
        Recording times ``(n_t,)``.
    m, Q, m_psi, q_psi, eg : numpy.ndarray
        ``(n_seeds, n_t)``; after a seed diverged (flagged in ``diverged``) its entries are
        infinite: ``+inf`` for ``Q``, ``q_psi`` and ``eg``, ``±inf`` with the sign of the last
        state for ``m`` and ``m_psi`` (never NaN).
    seeds : tuple of int
    d : int
    diverged : numpy.ndarray
        ``(n_seeds,)`` bool: the run blew up (``|y − ŷ|`` beyond the threshold) and was stopped.
    diverged_at : numpy.ndarray
        Time of divergence per seed (``inf`` when it did not diverge).
    density_tau, edges, density :
        Histograms of ŵ (density, averaged over seeds) at ``density_tau``.

    ``status`` is ``"diverged"`` when any seed diverged, else ``"converged"``; ``n_iter`` is the
    number of SGD steps per seed and ``residual`` the standard error of the final ε_g.
    """

    tau: np.ndarray
    m: np.ndarray
    Q: np.ndarray
    m_psi: np.ndarray
    q_psi: np.ndarray
    eg: np.ndarray
    seeds: tuple
    d: int
    diverged: np.ndarray
    diverged_at: np.ndarray
    density_tau: np.ndarray = field(default_factory=lambda: np.empty(0))
    edges: np.ndarray = field(default_factory=lambda: np.empty(0))
    density: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))

    @property
    def eg_mean(self) -> np.ndarray:
        """Mean ε_g over seeds (``inf`` where a seed had diverged)."""
        return self.eg.mean(axis=0)

    @property
    def eg_sem(self) -> np.ndarray:
        """Standard error of the mean ε_g over seeds (needs >= 2 seeds; ``inf`` where a seed had
        diverged)."""
        n = self.eg.shape[0]
        check(n >= 2, "seeds", "at least 2 seeds for a standard error", n)
        ok = np.isfinite(self.eg).all(axis=0)
        sem = np.full(self.eg.shape[1], math.inf)
        sem[ok] = self.eg[:, ok].std(axis=0, ddof=1) / math.sqrt(n)
        return sem

    def to_dataset(self):
        """Labelled :class:`xarray.Dataset` over ``(seed, tau)``."""
        import xarray as xr

        data = {k: (("seed", "tau"), getattr(self, k)) for k in ("m", "Q", "m_psi", "q_psi", "eg")}
        data["diverged"] = ("seed", self.diverged)
        return xr.Dataset(
            data, coords={"seed": list(self.seeds), "tau": self.tau}, attrs={"d": self.d}
        )


def simulate(
    problem: STEProblem,
    d: int,
    t_max: float,
    seeds=(0,),
    n_points: int = 101,
    density_times=(),
    edges=None,
    chunk: int = 256,
    blowup: float = 1e6,
    xp=None,
    throw: bool = True,
) -> Simulation:
    """Run finite-d online STE training for each seed (vectorised over seeds).

    Parameters
    ----------
    problem : STEProblem
    d : int
        Dimension (``t_max·d`` SGD steps per seed).
    t_max : float
        Final time ``τ``.
    seeds : sequence of int
        One independent run per seed, each with ``numpy.random.default_rng(seed)``.
    n_points : int
        Recording times ``linspace(0, t_max, n_points)``, rounded to whole steps.
    density_times, edges :
        Times at which to histogram ŵ, and the bin edges (required when times are given).
    chunk : int
        Steps whose random inputs are drawn at once.
    blowup : float
        A run is declared diverged (and stopped) when ``|y − ŷ| > blowup·√(ρ + σ² + Q(0) + 1)``.
    xp : array namespace, optional
        Where the state lives (default numpy).
    throw : bool
        Raise :class:`~replica.errors.ConvergenceError` (carrying the result) when a seed
        diverged; pass ``False`` to read ``status`` and ``diverged`` instead.

    Returns
    -------
    Simulation
        ``status`` is ``"diverged"`` when any seed blew up: ``|y − ŷ|`` beyond the threshold,
        or a non-finite error or order parameter (an overflowing state, e.g. η ≥ 1e160).

    References
    ----------
    .. [1] Ichikawa, Kashiwamura & Sakata (2025), arXiv:2510.10693, online STE update (card).
    """
    check(isinstance(problem, STEProblem), "problem", "an STEProblem", problem)
    d = integer(d, "d", "an integer >= 1", lambda v: v >= 1)
    t_max = real(t_max, "t_max", "a finite time > 0", lambda t: math.isfinite(t) and t > 0)
    seeds = np.atleast_1d(seeds)
    check(
        seeds.ndim == 1 and seeds.size >= 1 and np.issubdtype(seeds.dtype, np.integer),
        "seeds",
        "a non-empty sequence of integers >= 0",
        seeds,
    )
    check(bool(np.all(seeds >= 0)), "seeds", "integers >= 0", seeds)
    seeds = tuple(int(s) for s in seeds)
    chunk = integer(chunk, "chunk", "an integer >= 1", lambda c: c >= 1)
    n_points = integer(n_points, "n_points", "an integer >= 2", lambda n: n >= 2)
    blowup = real(blowup, "blowup", "a finite number > 0", lambda b: 0 < b < math.inf)
    check(isinstance(throw, bool), "throw", "a bool", throw)
    xp = np if xp is None else xp
    d = int(d)
    S = len(seeds)
    n_steps = max(1, round(t_max * d))
    dens_t = np.asarray(sorted(density_times), float)
    check(bool(np.all((dens_t >= 0) & (dens_t <= t_max))), "density_times", "in [0, t_max]", dens_t)
    if dens_t.size:
        check(edges is not None, "edges", "bin edges when density_times are given", edges)
        edges = np.asarray(edges, float)
        check(
            edges.ndim == 1 and edges.size >= 2 and bool(np.all(np.diff(edges) > 0)),
            "edges",
            "increasing bin edges",
            edges,
        )
    n_rec = min(n_points, n_steps + 1)
    # state (w*, w⁰, w and its namespace copy), one chunk of inputs and quantized inputs (host
    # and namespace), the records and the histograms, in float64
    n_floats = S * d * (4 + 3 * min(chunk, n_steps)) + 5 * S * n_rec
    n_floats += dens_t.size * (edges.size if dens_t.size else 0)
    check_memory(8.0 * n_floats, "d, seeds, chunk", f"d={d}, {S} seeds, chunk={chunk}")
    rec_steps = np.unique(np.rint(np.linspace(0, n_steps, n_points)).astype(int))
    dens_steps = np.rint(dens_t * d).astype(int)
    rngs = [np.random.default_rng(s) for s in seeds]
    sq = math.sqrt(problem.rho)
    if problem.teacher == "gaussian":
        wstar = np.stack([sq * r.standard_normal(d) for r in rngs])
    else:
        wstar = np.stack([np.full(d, sq) for _ in rngs])
    w0 = np.stack([math.sqrt(problem.init) * r.standard_normal(d) for r in rngs])
    w = xp.asarray(problem.init_align * wstar + w0)
    wstar_x = xp.asarray(wstar)
    psi_w, psi_x = _mapper(problem.weight_quantizer, xp), _mapper(problem.input_quantizer, xp)
    eta, lam, sig = problem.eta, problem.ridge, math.sqrt(problem.noise)
    lr, decay = eta / math.sqrt(d), eta * lam / d
    clipped = problem.ste == "clipped" and problem.weight_quantized
    lo, hi = problem.clip
    limit = blowup * math.sqrt(problem.rho + problem.noise + problem.Q0 + 1.0)
    rec = {k: np.full((S, rec_steps.size), np.nan) for k in ("m", "Q", "m_psi", "q_psi")}
    alive = np.ones(S, dtype=bool)
    diverged_at = np.full(S, math.inf)
    dens = np.zeros((dens_steps.size, max(0, (edges.size - 1) if dens_steps.size else 0)))
    inv_sqrt_d = 1.0 / math.sqrt(d)

    def record(step):
        ps = psi_w(w)
        vals = {
            "m": xp.vecdot(wstar_x, w) / d,
            "Q": xp.vecdot(w, w) / d,
            "m_psi": xp.vecdot(wstar_x, ps) / d,
            "q_psi": xp.vecdot(ps, ps) / d,
        }
        i = int(np.searchsorted(rec_steps, step))
        for k, v in vals.items():
            v = np.asarray(v)
            # a diverged seed's state is frozen at the stop; report the blow-up as infinite
            dead = np.copysign(math.inf, v) if k in ("m", "m_psi") else math.inf
            rec[k][:, i] = np.where(alive, v, dead)
        # a state that overflowed is a blow-up too (never a "converged" inf or NaN)
        bad = alive & ~(np.isfinite(rec["Q"][:, i]) & np.isfinite(rec["q_psi"][:, i]))
        if bad.any():
            alive[bad] = False
            diverged_at[bad] = step / d
            for k in rec:
                rec[k][bad, i] = (
                    math.inf
                    if k in ("Q", "q_psi")
                    else np.copysign(math.inf, np.nan_to_num(rec[k][bad, i], nan=1.0))
                )

    def histogram(step):
        wn = np.asarray(w)
        for k in np.nonzero(dens_steps == step)[0]:
            dens[k] = np.mean([_histogram_density(row, edges) for row in wn], axis=0)

    rec_set, dens_set = set(rec_steps.tolist()), set(dens_steps.tolist())
    # an overflowing state is detected and flagged (diverged), not warned about step by step
    with np.errstate(over="ignore", invalid="ignore"):
        t = 0
        if rec_steps[0] == 0:
            record(0)
        if dens_steps.size and 0 in dens_steps:
            histogram(0)
        while t < n_steps:
            n = min(chunk, n_steps - t)
            x_h = np.empty((S, n, d))
            for s, r in enumerate(rngs):
                r.standard_normal(out=x_h[s])
            noise_h = np.stack([r.standard_normal(n) for r in rngs]) if sig > 0 else None
            x = xp.asarray(x_h)
            # the teacher's labels and the quantized inputs for the whole chunk at once
            y = xp.vecdot(x, wstar_x[:, None, :]) * inv_sqrt_d
            if noise_h is not None:
                y = y + sig * xp.asarray(noise_h)
            px = psi_x(x)
            for j in range(n):
                ps = psi_w(w)
                err = y[:, j] - xp.vecdot(ps, px[:, j]) * inv_sqrt_d
                # NaN or inf errors (an overflowed state) count as a blow-up
                bad = ~np.asarray(xp.abs(err) <= limit) & alive
                if bad.any():
                    alive &= ~bad
                    diverged_at[bad] = (t + j) / d
                coef = xp.where(xp.asarray(alive), lr * err, 0.0)[:, None]
                if clipped:
                    g = xp.astype((w >= lo) & (w <= hi), w.dtype)
                    ridge_term = w if problem.ridge_on == "latent" else ps * g
                    w = w + coef * px[:, j] * g - decay * ridge_term
                elif problem.ridge_on == "latent":
                    w = (1.0 - decay) * w + coef * px[:, j]
                else:
                    w = w + coef * px[:, j] - decay * ps
                step = t + j + 1
                if step in rec_set:
                    record(step)
                if step in dens_set:
                    histogram(step)
            t += n
    eg = np.full(rec["m"].shape, math.inf)
    ok = np.isfinite(rec["q_psi"])
    eg[ok] = problem.generalization_error(rec["m_psi"][ok], rec["q_psi"][ok])
    final = eg[:, -1]
    ok = S > 1 and bool(np.all(np.isfinite(final)))
    res = float(np.std(final, ddof=1) / math.sqrt(S)) if ok else math.inf
    result = Simulation(
        status=DIVERGED if (~alive).any() else CONVERGED,
        n_iter=n_steps,
        residual=res if math.isfinite(res) else math.inf,
        tau=rec_steps / d,
        eg=eg,
        seeds=seeds,
        d=d,
        diverged=~alive,
        diverged_at=diverged_at,
        density_tau=dens_steps / d,
        edges=edges if edges is not None else np.empty(0),
        density=dens,
        **rec,
    )
    return finish(result, throw, "finite-d STE simulation (learning rate too large?)")
