"""Parallel-tempering heat-bath sampling of the Gibbs measure of weight-quantized regression.

State and cost
--------------
Each chain holds its weights ``w`` and the field ``F = Xᵀ(y − Xw) = b − Gw`` (``G = XᵀX``,
``b = Xᵀy``). A heat-bath move at site ``i`` draws the new level from

    p_k ∝ exp(−β[½(G_ii + λ) q_k² − h_i q_k]),   h_i = F_i + G_ii w_i,

(the exact conditional of ``w_i`` given the other weights) and updates the field in ``O(N)``:
``F ← F − (w_i' − w_i) G_{:, i}``. All chains (replicas × temperatures × instances) update the
same site at once, so a sweep is ``N`` vectorised steps over arrays of ``chains × N`` numbers
and the numpy call overhead is shared. The field is recomputed exactly every 50 sweeps so
rounding errors cannot accumulate. The energy is read from the field without a matrix
product: ``H = ½‖y‖² − ½w·(b + F) + ½λ‖w‖²``.

Parallel tempering
------------------
After every sweep, neighbouring temperatures of the ladder (even pairs, then odd pairs on the
next sweep) exchange configurations with probability ``min(1, exp[(β_{t+1} − β_t)(H_{t+1} −
H_t)])``. The ladder always starts at β = 0 (prepended when absent): it is the exactly mixed end
of the ladder and the start of the thermodynamic integration

    φ(β) = ln Z/N = ln K − ∫₀^β e(β') dβ',   de/dβ = −Var(H)/N,

done with the cubic Hermite (end-corrected trapezoid) rule on the measured ``e`` and
``Var(H)/N`` at the ladder points (``free_entropy_ti``; its difference from the plain trapezoid
rule is reported as ``ti_error``). The reported ``free_entropy`` uses the same ladder without
quadrature error: bridge sampling between neighbours, ``Z_{t+1}/Z_t =
⟨e^{−Δβ H/2}⟩_t / ⟨e^{+Δβ H/2}⟩_{t+1}`` (C. H. Bennett, J. Comput. Phys. 22, 245 (1976)).

Replicas and standard errors
----------------------------
``replicas`` independent ladders run side by side: half start from uniformly random weights
("hot"), half from a zero-temperature quench of the rounded least-squares solution ("cold").
Overlaps ``q = w^a·w^b/N`` are measured between distinct replicas at the same temperature (so
``q = ‖⟨w⟩‖²/N`` is estimated without bias, and the Gibbs-mean error ``ρ̂ − 2m + q`` too). Every
``*_se`` is the jackknife standard error over replicas: each replica's run is one independent
sample, so autocorrelation is accounted for whatever its length. The integrated
autocorrelation time of the energy (Sokal's window, ``c = 5``) and the hot/cold agreement
decide the status.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import check, check_memory
from ..results import Result, finish
from ._common import betas_of, energy_terms, instance, levels_of

__all__ = ["EQUILIBRATED", "NOT_EQUILIBRATED", "SHORT_RUN", "MCResult", "ladder", "sample"]

#: hot and cold starts agree (|z| ≤ ``HOT_COLD_Z`` at every β) and the run is ≥ ``MIN_TAUS``
#: autocorrelation times long
EQUILIBRATED = "equilibrated"
#: hot and cold starts disagree at some β: the measured averages depend on the start
NOT_EQUILIBRATED = "not_equilibrated"
#: the starts agree but the run is shorter than ``MIN_TAUS`` autocorrelation times at some β
SHORT_RUN = "short_run"

HOT_COLD_Z = 4.0
MIN_TAUS = 50.0
_REFRESH = 50  # sweeps between exact recomputations of the field F = b − Gw


@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class MCResult(Result):
    """Monte-Carlo estimates on one instance, per temperature of the ladder.

    Arrays have one entry per β of ``beta`` (the ladder, starting at 0). ``*_se`` are jackknife
    standard errors over the independent replicas.

    Attributes
    ----------
    beta : (T,) array
    energy, energy_se : (T,) arrays
        ``⟨½‖y − Xw‖² + ½λ‖w‖²⟩/N``.
    energy_var : (T,) array
        ``Var(H)/N`` (``= −d energy/dβ``).
    mse, mse_se : (T,) arrays or None
        Error of the Gibbs mean, ``‖⟨w⟩ − w⁰‖²/N``, estimated without bias as ``ρ̂ − 2m + q``
        (``ρ̂ = ‖w⁰‖²/N``); None without a teacher.
    mse_sample, mse_sample_se : (T,) arrays or None
        ``⟨‖w − w⁰‖²⟩/N = ρ̂ − 2m + Q``.
    m, m_se : (T,) arrays or None
        ``⟨w⟩·w⁰/N``.
    train, train_se : (T,) arrays
        Training error of the Gibbs mean, ``‖y − X⟨w⟩‖²/M``, estimated without bias from the
        residual overlaps ``(y − Xw^a)·(y − Xw^b)/M`` of distinct replicas (as ``q``).
    train_sample, train_sample_se : (T,) arrays
        ``⟨‖y − Xw‖²⟩/M`` (one Gibbs sample; ``(2N/M)(energy − λQ/2)``).
    q, q_se, Q, Q_se : (T,) arrays
        Replica overlap ``⟨w^a·w^b⟩/N`` (a ≠ b) and self-overlap ``⟨‖w‖²⟩/N``.
    free_entropy, free_entropy_se : (T,) arrays
        ``φ = ln Z/N`` from ``ln K`` at β = 0 by bridge sampling between neighbouring ladder
        points, ``ln Z_{t+1}/Z_t = ln⟨e^{−Δβ H/2}⟩_t − ln⟨e^{+Δβ H/2}⟩_{t+1}`` (exact in the
        limit of many samples: no quadrature error, whatever the ladder spacing).
    entropy, entropy_se : (T,) arrays
        ``φ + β·energy``.
    free_entropy_ti, free_entropy_ti_se : (T,) arrays
        The same by thermodynamic integration of the energy (cubic Hermite rule); it carries a
        quadrature error on coarse ladders, bounded by ``ti_error`` (Hermite minus trapezoid,
        not included in the ``_se``).
    pq_edges : (n_bins + 1,) array and pq : (T, n_bins) array
        Histogram (a density) of the instantaneous overlaps ``w^a·w^b/N`` between all pairs of
        replicas, per temperature.
    gibbs_mean : (T, N) array
    energy_min : (T,) array
        Lowest energy per weight visited at each temperature.
    tau : (T,) array
        Integrated autocorrelation time of the energy at each temperature, in sweeps (Sokal's
        window); it sets the standard error of the hot/cold test.
    tau_replicas : (T,) array
        The autocorrelation time the scatter between replicas implies,
        ``n·R·energy_se²/(2 Var(e))``. Much larger than ``tau`` means slow modes (hopping
        between valleys through the ladder) that the windowed estimate misses; the ``*_se``
        include them, the hot/cold test may then flag a run whose averages are right.
    swap_rate : (T − 1,) array
        Acceptance rate of the exchanges between temperatures ``t`` and ``t + 1``.
    hot_cold_z : (T,) array
        ``(e_hot − e_cold)/se`` with ``se`` from the within-run variance and ``tau``.
    n_samples, burn_in, replicas : int
        Measured sweeps per chain, discarded sweeps, independent ladders.
    status : str
        ``"equilibrated"``, ``"not_equilibrated"`` (hot and cold starts disagree: some
        ``|hot_cold_z| > 4``) or ``"short_run"`` (fewer than 50 autocorrelation times at some β).
    n_iter : int
        Sweeps per chain (burn-in included). ``residual``: ``max |hot_cold_z|``.
    """

    beta: np.ndarray
    energy: np.ndarray
    energy_se: np.ndarray
    energy_var: np.ndarray
    mse: np.ndarray | None
    mse_se: np.ndarray | None
    mse_sample: np.ndarray | None
    mse_sample_se: np.ndarray | None
    train: np.ndarray
    train_se: np.ndarray
    train_sample: np.ndarray
    train_sample_se: np.ndarray
    m: np.ndarray | None
    m_se: np.ndarray | None
    q: np.ndarray
    q_se: np.ndarray
    Q: np.ndarray
    Q_se: np.ndarray
    free_entropy: np.ndarray
    free_entropy_se: np.ndarray
    entropy: np.ndarray
    entropy_se: np.ndarray
    free_entropy_ti: np.ndarray
    free_entropy_ti_se: np.ndarray
    ti_error: np.ndarray
    pq_edges: np.ndarray
    pq: np.ndarray
    gibbs_mean: np.ndarray
    energy_min: np.ndarray
    tau: np.ndarray
    tau_replicas: np.ndarray
    swap_rate: np.ndarray
    hot_cold_z: np.ndarray
    n_samples: int
    burn_in: int
    replicas: int

    @property
    def converged(self) -> bool:
        """True when equilibrated (the sampler's notion of a trustworthy result)."""
        return self.status == EQUILIBRATED

    def index(self, beta: float) -> int:
        """Position of ``beta`` in the ladder (``ValueError`` when it is not a ladder point)."""
        hit = np.flatnonzero(np.isclose(self.beta, beta, rtol=1e-12, atol=0.0))
        check(hit.size == 1, "beta", f"a point of the ladder {self.beta.tolist()}", beta)
        return int(hit[0])

    def at(self, beta: float) -> dict:
        """Every per-β scalar (and its standard error) at one ladder point, as a dict."""
        t = self.index(beta)
        out = {"beta": float(self.beta[t])}
        for k in ("energy", "energy_se", "energy_var", "mse", "mse_se", "mse_sample",
                  "mse_sample_se", "m", "m_se", "q", "q_se", "Q", "Q_se", "free_entropy",
                  "free_entropy_se", "entropy", "entropy_se", "free_entropy_ti",
                  "free_entropy_ti_se", "ti_error", "energy_min", "tau", "tau_replicas",
                  "hot_cold_z"):  # fmt: skip
            v = getattr(self, k)
            out[k] = None if v is None else float(v[t])
        return out

    def __repr__(self) -> str:
        d = self.at(self.beta[-1])
        mse = "" if d["mse"] is None else f", mse={d['mse']:.5g}±{d['mse_se']:.2g}"
        return (f"MCResult(status={self.status!r}, N={self.gibbs_mean.shape[1]}, "
                f"beta={d['beta']:g}: energy={d['energy']:.5g}±{d['energy_se']:.2g}, "
                f"q={d['q']:.5g}±{d['q_se']:.2g}{mse}, entropy={d['entropy']:.4g}"
                f"±{d['entropy_se']:.2g}; {self.replicas} replicas x {self.n_samples} sweeps, "
                f"tau_max={np.max(self.tau):.3g}, max|z_hot-cold|={self.residual:.3g})")  # fmt: skip


# --------------------------------------------------------------------------- the kernel
class _Chains:
    """All chains of ``I`` instances of the same size: arrays ``(I, C, N)`` with chain
    ``c = r·T + t`` (replica ``r``, temperature ``t``)."""

    def __init__(self, G, b, c0, lv, betas, ridge, w):
        self.G, self.b, self.c0, self.lv = G, b, c0, lv
        self.I, self.N = b.shape
        self.T = betas.size
        self.C = w.shape[1]
        self.R = self.C // self.T
        self.betas = betas
        self.bc = np.tile(betas, self.R)[None, :]  # (1, C)
        self.ridge = ridge
        self.Gd = np.einsum("inn->in", G).copy()
        self.a = self.Gd + ridge
        self.w = w
        self.refresh()

    def refresh(self):
        self.F = self.b[:, None, :] - self.w @ self.G  # G symmetric

    def energy(self):
        w = self.w
        H = self.c0[:, None] - 0.5 * np.einsum("icn,icn->ic", w, self.b[:, None, :] + self.F)
        if self.ridge:
            H = H + 0.5 * self.ridge * np.einsum("icn,icn->ic", w, w)
        return H

    def sweep(self, U, greedy=False):
        """One heat-bath sweep (sites in order) with uniforms ``U`` of shape ``(I, C, N)``;
        ``greedy``: zero-temperature moves (the best level) instead."""
        lv, G, F, w, Gd, a = self.lv, self.G, self.F, self.w, self.Gd, self.a
        K = lv.size
        half = 0.5 * lv**2
        bc = self.bc
        binary = K == 2 and not greedy
        lvk, halfk = lv[:, None, None], half[:, None, None]
        if binary:
            dl, dh = lv[1] - lv[0], half[1] - half[0]
        for i in range(self.N):
            h = F[:, :, i] + w[:, :, i] * Gd[:, i, None]  # (I, C)
            if binary:
                # p(upper) = 1/(1 + e^{−x}), x = β(h Δq − a_i Δ(q²/2)); clipped against overflow
                x = np.clip(bc * (h * dl - a[:, i, None] * dh), -700.0, 700.0)
                new = np.where(U[:, :, i] * (1.0 + np.exp(-x)) < 1.0, lv[1], lv[0])
            else:
                # −βH_i(q_k) up to a constant, levels first: reductions over k are then
                # elementwise operations between K contiguous slabs (4x faster than over a
                # short last axis)
                lg = lvk * h - a[:, i, None] * halfk  # (K, I, C)
                if greedy:
                    new = lv[np.argmax(lg, axis=0)]
                else:
                    lg *= bc
                    lg -= lg.max(axis=0)
                    np.exp(lg, out=lg)
                    np.cumsum(lg, axis=0, out=lg)
                    k = np.count_nonzero(lg < U[:, :, i] * lg[-1], axis=0)
                    new = lv[k]
            d = new - w[:, :, i]
            F -= d[..., None] * G[:, None, i, :]
            w[:, :, i] = new

    def swap(self, E, u, parity):
        """Replica-exchange step between neighbouring temperatures; returns the accepted pairs
        ``(I, R, P)`` and the pair positions ``t``."""
        I, R, T = self.I, self.R, self.T
        t = np.arange(parity, T - 1, 2)
        if t.size == 0:
            return None, t
        E4 = E.reshape(I, R, T)
        x = (self.betas[t + 1] - self.betas[t]) * (E4[..., t + 1] - E4[..., t])
        acc = np.log(u[..., : t.size]) < x  # log 0 = -inf accepts; numpy warns only for < 0
        perm = np.broadcast_to(np.arange(T), (I, R, T)).copy()
        perm[..., t] = np.where(acc, t + 1, t)
        perm[..., t + 1] = np.where(acc, t, t + 1)
        flat = (perm + T * np.arange(R)[None, :, None]).reshape(I, R * T)
        self.w = np.take_along_axis(self.w, flat[..., None], axis=1)
        self.F = np.take_along_axis(self.F, flat[..., None], axis=1)
        E[:] = np.take_along_axis(E, flat, axis=1)
        return acc, t


def _tau(x: np.ndarray, c: float = 5.0) -> float:
    """Integrated autocorrelation time of the series ``x`` (``(R, n)``: replicas averaged),
    with Sokal's self-consistent window ``W ≥ c·τ(W)``; ``inf`` when no window fits."""
    n = x.shape[1]
    xc = x - x.mean(axis=1, keepdims=True)
    if n < 2 or not np.any(xc):
        return 0.5
    f = np.fft.rfft(xc, n=2 * n, axis=1)
    acf = np.fft.irfft(f * f.conj(), axis=1)[:, :n].mean(axis=0)
    rho = acf / acf[0]
    taus = 0.5 + np.cumsum(rho[1:])
    ok = np.flatnonzero(np.arange(1, n) >= c * taus)
    return float(max(taus[ok[0]], 0.5)) if ok.size else math.inf


def _integrate(betas, e, de):
    """``∫₀^{β_t} e`` at every ladder point: cubic Hermite and plain trapezoid."""
    h = np.diff(betas)
    trap = 0.5 * h * (e[..., 1:] + e[..., :-1])
    herm = trap + h**2 / 12.0 * (de[..., :-1] - de[..., 1:])
    z = np.zeros((*e.shape[:-1], 1))
    return (np.concatenate([z, np.cumsum(herm, axis=-1)], axis=-1),
            np.concatenate([z, np.cumsum(trap, axis=-1)], axis=-1))  # fmt: skip


class _Tally:
    """Running sums of one batch of instances during the measured sweeps."""

    def __init__(self, I, R, T, N, n, w0, n_bins, qmax, b, c0, M):
        self.sE = np.zeros((I, R, T))
        self.sE2 = np.zeros((I, R, T))
        self.sQ = np.zeros((I, R, T))
        self.sm = np.zeros((I, R, T))
        self.sW = np.zeros((I, R, T, N))
        self.sq = np.zeros((I, R, R, T))
        self.sr = np.zeros((I, R, R, T))  # residual overlaps (y − Xw^a)·(y − Xw^b)
        self.b, self.c0, self.M = b, c0, M
        self.trace = np.zeros((I, R, T, n))
        self.Emin = np.full((I, T), np.inf)
        self.hist = np.zeros((I, T, n_bins), dtype=np.int64)
        self.w0 = w0
        self.n_bins, self.qmax = n_bins, qmax
        self.n = 0

    def add(self, w, E, F):
        I, R, T, N = w.shape
        E4 = E.reshape(I, R, T)
        self.sE += E4
        self.sE2 += E4 * E4
        self.trace[..., self.n] = E4
        self.Emin = np.minimum(self.Emin, E4.min(axis=1))
        self.sQ += np.einsum("irtn,irtn->irt", w, w) / N
        if self.w0 is not None:
            self.sm += np.einsum("irtn,in->irt", w, self.w0) / N
        self.sW += w
        qab = np.einsum("iatn,ibtn->iabt", w, w) / N
        self.sq += qab
        # (y − Xw^a)·(y − Xw^b) = 2c − b·w^b − w^a·F^b with F = b − Gw (no matrix product)
        own = 2.0 * self.c0[:, None, None] - np.einsum("irtn,in->irt", w, self.b)
        self.sr += own[:, None] - np.einsum("iatn,ibtn->iabt", w, F)
        a, bb = np.triu_indices(R, k=1)
        if a.size:
            qp = qab[:, a, bb, :]  # (I, P, T)
            nb = self.n_bins
            k = np.clip(((qp + self.qmax) / (2 * self.qmax) * nb).astype(np.int64), 0, nb - 1)
            flat = (np.arange(I)[:, None, None] * T + np.arange(T)[None, None, :]) * nb + k
            self.hist += np.bincount(flat.ravel(), minlength=I * T * nb).reshape(I, T, nb)
        self.n += 1


def _bridge_terms(trace, betas):
    """Per replica, ``ln Σ_s e^{−Δβ_t H_t(s)/2}`` at temperature ``t`` and
    ``ln Σ_s e^{+Δβ_t H_{t+1}(s)/2}`` at ``t + 1`` (``trace``: ``(R, T, n)`` energies)."""
    from scipy.special import logsumexp

    h = 0.5 * np.diff(betas)[None, :, None]
    return (logsumexp(-h * trace[:, :-1, :], axis=2),
            logsumexp(h * trace[:, 1:, :], axis=2))  # fmt: skip


def _estimates(tl: _Tally, i, betas, N, K, rho, keep, bridge):
    """Estimates from the replicas ``keep`` (boolean mask) of instance ``i``."""
    from scipy.special import logsumexp

    n = tl.n
    r = np.flatnonzero(keep)
    e_r = tl.sE[i, r] / n / N  # (R', T)
    # Var(H)/N, clipped at 0 against cancellation when H hardly varies (frozen chains)
    var_r = np.maximum(tl.sE2[i, r] / n - (tl.sE[i, r] / n) ** 2, 0.0) / N
    e, var = e_r.mean(axis=0), var_r.mean(axis=0)
    Q = tl.sQ[i, r].mean(axis=0) / n
    sub = tl.sq[i][np.ix_(r, r)]  # (R', R', T)
    P = r.size * (r.size - 1)
    q = (sub.sum(axis=(0, 1)) - np.einsum("aat->t", sub)) / P / n if P else np.full_like(e, np.nan)
    sub = tl.sr[i][np.ix_(r, r)] / (n * tl.M)
    diag = np.einsum("aat->t", sub)
    train = (sub.sum(axis=(0, 1)) - diag) / P if P else np.full_like(e, np.nan)
    herm, trap = _integrate(betas, e, -var)
    lo, hi = bridge
    norm = math.log(n * r.size)
    steps = (logsumexp(lo[r], axis=0) - norm) - (logsumexp(hi[r], axis=0) - norm)
    phi = math.log(K) + np.concatenate([[0.0], np.cumsum(steps)]) / N
    out = {"energy": e, "energy_var": var, "Q": Q, "q": q, "free_entropy": phi,
           "entropy": phi + betas * e, "free_entropy_ti": math.log(K) - herm,
           "ti_error": np.abs(herm - trap), "train": train,
           "train_sample": diag / r.size}  # fmt: skip
    if tl.w0 is not None:
        m = tl.sm[i, r].mean(axis=0) / n
        out.update(m=m, mse=rho - 2.0 * m + q, mse_sample=rho - 2.0 * m + Q)
    return out


def _result(tl: _Tally, i, betas, N, K, rho, n_hot, burn, sweeps, swap_rate, edges):
    R = tl.sE.shape[1]
    bridge = _bridge_terms(tl.trace[i], betas)
    full = _estimates(tl, i, betas, N, K, rho, np.ones(R, bool), bridge)
    jack = [_estimates(tl, i, betas, N, K, rho, np.arange(R) != j, bridge) for j in range(R)]
    se = {}
    for k in full:
        if k in ("ti_error", "energy_var"):
            continue
        arr = np.stack([j[k] for j in jack])
        se[k + "_se"] = np.sqrt((R - 1) / R * np.sum((arr - arr.mean(axis=0)) ** 2, axis=0))
    T = betas.size
    tau = np.array([_tau(tl.trace[i, :, t, :]) for t in range(T)])
    # hot vs cold: difference of the group means over its standard error from the within-run
    # variance and the autocorrelation time (many degrees of freedom, unlike a 2-replica SD)
    n = tl.n
    z = np.zeros(T)
    if 0 < n_hot < R:
        e_r = tl.sE[i] / n / N  # (R, T)
        v = full["energy_var"] / N  # Var(H/N) per sample
        t_eff = np.where(np.isfinite(tau), tau, n / 2.0)
        se_one = np.sqrt(v * 2.0 * t_eff / n)
        se_diff = se_one * math.sqrt(1.0 / n_hot + 1.0 / (R - n_hot))
        diff = e_r[:n_hot].mean(axis=0) - e_r[n_hot:].mean(axis=0)
        z = np.where(se_diff > 0, diff / np.where(se_diff > 0, se_diff, 1.0), 0.0)
        z = np.where((se_diff == 0) & (np.abs(diff) > 1e-12), np.inf, z)
    zmax = float(np.max(np.abs(z)))
    var_e = full["energy_var"] / N  # Var(H/N) per sample
    tau_rep = np.where(
        var_e > 0, n * R * se["energy_se"] ** 2 / (2.0 * np.where(var_e > 0, var_e, 1.0)), 0.5
    )
    if zmax > HOT_COLD_Z:
        status = NOT_EQUILIBRATED
    elif np.any(n < MIN_TAUS * tau):
        status = SHORT_RUN
    else:
        status = EQUILIBRATED
    pq = tl.hist[i] / np.maximum(tl.hist[i].sum(axis=1, keepdims=True), 1) / np.diff(edges)
    none = {k: None for k in ("m", "m_se", "mse", "mse_se", "mse_sample", "mse_sample_se")}
    return MCResult(
        status=status, n_iter=int(burn + sweeps), residual=zmax, beta=betas.copy(),
        **{**none, **full, **se}, pq_edges=edges, pq=pq,
        gibbs_mean=tl.sW[i].sum(axis=0) / (R * n), energy_min=tl.Emin[i] / N, tau=tau,
        tau_replicas=tau_rep,
        swap_rate=swap_rate, hot_cold_z=z, n_samples=int(n), burn_in=int(burn), replicas=int(R),
    )  # fmt: skip


def ladder(beta: float, n: int = 12, power: float = 3.0) -> np.ndarray:
    """A β ladder ``β·(t/(n − 1))^power``, ``t = 0 … n − 1``: dense near β = 0.

    The energy varies fastest near β = 0 (the uniform measure over a wide grid has a large
    energy variance), where exchanges need small steps; ``power = 3`` keeps the exchange rates
    of the card's instances (N ≲ 30) between about 0.3 and 0.9 with 12 points. Use more points
    for larger N (the rates fall as the energy distributions narrow relative to their
    separation, like ``Δβ √N``), and check ``MCResult.swap_rate``.
    """
    ok = isinstance(beta, (int, float, np.integer, np.floating)) and not isinstance(beta, bool)
    check(ok and math.isfinite(beta) and beta > 0, "beta", "a finite number > 0", beta)
    n = _check_int(n, "n", 2)
    check(isinstance(power, (int, float)) and math.isfinite(power) and power > 0, "power",
          "a finite number > 0", power)  # fmt: skip
    return float(beta) * np.linspace(0.0, 1.0, n) ** power


def _check_int(v, name, lo):
    ok = isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= lo
    check(ok, name, f"an integer >= {lo}", v)
    return int(v)


def _ladder(betas):
    b = betas_of(betas, "betas", increasing=True)
    return b if b[0] == 0.0 else np.concatenate([[0.0], b])


def _run_batch(Xs, ys, lv, betas, ridge, w0s, sweeps, burn, replicas, rngs, n_bins):
    """Sample ``I`` instances of the same shape together (each with its own generator, so an
    instance's result does not depend on the batch it ran in). Returns a list of MCResult."""
    I = len(Xs)
    N = Xs[0].shape[1]
    T, R, K = betas.size, replicas, lv.size
    C = R * T
    check_memory(8.0 * I * (C * (sweeps / T + 4 * N + R) + N * N), "sweeps, replicas",
                 f"{I} instance(s) x {C} chains x {sweeps} sweeps")  # fmt: skip
    G = np.empty((I, N, N))
    b = np.empty((I, N))
    c0 = np.empty(I)
    for j, (X, y) in enumerate(zip(Xs, ys)):
        G[j], b[j], c0[j] = energy_terms(X, y)
    n_hot = (R + 1) // 2
    w = np.empty((I, R, T, N))
    for j, rng in enumerate(rngs):
        w[j] = lv[rng.integers(0, K, size=(R, T, N))]
    cold = R - n_hot
    if cold:
        # the cold start: ridge-regularised least squares rounded to the grid, then quenched
        # by zero-temperature sweeps (a low-energy state, far from the hot starts)
        quench = _Chains(G, b, c0, lv, np.ones(1), ridge, np.zeros((I, 1, N)))
        ls = np.linalg.solve(G + (ridge + 1e-3) * np.eye(N), b[..., None])[..., 0]
        quench.w = lv[np.clip(np.searchsorted((lv[1:] + lv[:-1]) / 2, ls), 0, K - 1)][:, None]
        quench.refresh()
        zero = np.zeros((I, 1, N))
        for _ in range(10):
            quench.sweep(zero, greedy=True)
        w[:, n_hot:] = quench.w[:, :, None, :]
    ch = _Chains(G, b, c0, lv, betas, ridge, w.reshape(I, C, N))
    qmax = float(np.max(lv**2))
    edges = np.linspace(-qmax, qmax, n_bins + 1)
    w0 = None if w0s[0] is None else np.stack(w0s)
    tally = _Tally(I, R, T, N, sweeps, w0, n_bins, qmax, b, c0, Xs[0].shape[0])
    acc = np.zeros((I, max(T - 1, 0)))
    tries = np.zeros(max(T - 1, 0))
    n_swap = R * (T // 2)
    for s in range(burn + sweeps):
        draws = np.stack([rng.random(C * N + n_swap) for rng in rngs])
        ch.sweep(draws[:, : C * N].reshape(I, C, N))
        if (s + 1) % _REFRESH == 0:
            ch.refresh()
        E = ch.energy()
        if T > 1:
            ok, t = ch.swap(E, draws[:, C * N :].reshape(I, R, -1), s % 2)
            if ok is not None:
                acc[:, t] += ok.sum(axis=1)
                tries[t] += R
        if s >= burn:
            tally.add(ch.w.reshape(I, R, T, N), E, ch.F.reshape(I, R, T, N))
    out = []
    for j in range(I):
        rho = None if w0 is None else float(w0[j] @ w0[j]) / N
        rate = acc[j] / np.maximum(tries, 1)
        out.append(_result(tally, j, betas, N, K, rho, n_hot if cold else R, burn, sweeps,
                           rate, edges))  # fmt: skip
    return out


def sample(
    X,
    y,
    quantizer,
    betas,
    ridge: float = 0.0,
    teacher=None,
    sweeps: int = 2000,
    burn_in: int | None = None,
    replicas: int = 8,
    seed=0,
    n_bins: int = 41,
    throw: bool = True,
) -> MCResult:
    """Parallel-tempering heat-bath Monte Carlo of ``P(w) ∝ exp(−β[½‖y − Xw‖² + ½λ‖w‖²])``.

    Parameters
    ----------
    X : (M, N) array
        Design (e.g. from :func:`replica.amp.generate`).
    y : (M,) array
        Labels.
    quantizer : Quantizer or (K,) array
        The grid.
    betas : float or (T,) array
        Strictly increasing finite inverse temperatures; β = 0 is prepended when the ladder
        does not start there (the thermodynamic integration starts at ``ln K``). Results are
        reported at every ladder point; exchanges need neighbouring energies to overlap, so
        use a ladder dense enough for ``swap_rate`` to stay well above 0 (≳ 0.2).
    ridge : float
        ``λ ≥ 0``.
    teacher : (N,) array, optional
        ``w⁰`` for ``m``, ``mse`` and ``mse_sample``.
    sweeps : int
        Measured sweeps per chain (≥ 1); one sweep is one heat-bath move per site.
    burn_in : int, optional
        Sweeps discarded first (default ``sweeps // 2``).
    replicas : int
        Independent ladders (≥ 2; half start hot, half cold). Standard errors are jackknife
        over replicas, so use 8 or more for trustworthy ones.
    seed : int or sequence of int
        Entropy for ``numpy.random.default_rng``.
    n_bins : int
        Bins of the overlap histogram ``pq`` over ``[−max q_k², max q_k²]``.
    throw : bool
        Raise :class:`~replica.ConvergenceError` (carrying the result) unless the status is
        ``"equilibrated"``.

    Returns
    -------
    MCResult
    """
    X, y, lam, w0 = instance(X, y, ridge, teacher)
    lv = levels_of(quantizer)
    ladder = _ladder(betas)
    sweeps = _check_int(sweeps, "sweeps", 1)
    burn = sweeps // 2 if burn_in is None else _check_int(burn_in, "burn_in", 0)
    replicas = _check_int(replicas, "replicas", 2)
    n_bins = _check_int(n_bins, "n_bins", 1)
    rng = np.random.default_rng(seed)
    res = _run_batch([X], [y], lv, ladder, lam, [w0], sweeps, burn, replicas, [rng], n_bins)[0]
    return finish(res, throw, "replica.mc.sample")
