"""Exact Gibbs measure of a small instance by enumerating all ``K^N`` weight configurations.

The configurations are split into a prefix of ``N₁`` sites and a suffix of ``N₂`` sites
(``K^{N₂}`` at most a few thousand). With ``H(u, v) = H₁(u) + H₂(v) + uᵀG₁₂v`` the energies of
a block of prefixes against all suffixes are one matrix product, so the enumeration runs at BLAS
speed in bounded memory (blocks of about a million energies), and the partition sums of every β
are accumulated with a running minimum energy as the shift (no overflow at any β).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import check
from ..results import CONVERGED, Result
from ._common import betas_of, energy_terms, instance, levels_of

__all__ = ["MAX_CONFIGS", "EnumerationResult", "enumerate"]

#: default largest number of configurations :func:`enumerate` accepts (≈ 10 s on one core)
MAX_CONFIGS = 20_000_000

_BLOCK = 1 << 20  # energies per block (8 MiB)


@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class EnumerationResult(Result):
    """Exact Gibbs averages on one instance, per inverse temperature.

    Every array has one entry per β of ``beta`` (``gibbs_mean`` one row).

    Attributes
    ----------
    beta : (B,) array
    energy : (B,) array
        ``⟨½‖y − Xw‖² + ½λ‖w‖²⟩/N``.
    energy_var : (B,) array
        ``Var(H)/N`` (so that ``d energy/dβ = −energy_var``).
    free_entropy : (B,) array
        ``φ = ln Z/N`` with ``Z = Σ_w e^{−βH(w)}`` (``ln K`` at β = 0).
    entropy : (B,) array
        ``s = φ + β·energy`` (the Gibbs entropy per weight, ``≥ 0``).
    Q : (B,) array
        ``⟨‖w‖²⟩/N``.
    q : (B,) array
        ``‖⟨w⟩‖²/N``, the overlap of two independent replicas.
    train, train_sample : (B,) arrays
        ``‖y − X⟨w⟩‖²/M`` (Gibbs mean) and ``⟨‖y − Xw‖²⟩/M`` (one Gibbs sample).
    m, mse, mse_sample : (B,) arrays or None
        ``⟨w⟩·w⁰/N``, ``‖⟨w⟩ − w⁰‖²/N`` (Gibbs mean) and ``⟨‖w − w⁰‖²⟩/N`` (one Gibbs sample);
        None without a teacher.
    gibbs_mean : (B, N) array
    ground_energy : float
        ``min_w H(w)/N``; ``ground_state`` the minimiser (the first one found on ties).
    n_configs : int
        ``K^N``. ``status`` is ``"converged"`` (exact), ``n_iter = n_configs``, ``residual = 0``.
    """

    beta: np.ndarray
    energy: np.ndarray
    energy_var: np.ndarray
    free_entropy: np.ndarray
    entropy: np.ndarray
    Q: np.ndarray
    q: np.ndarray
    m: np.ndarray | None
    mse: np.ndarray | None
    mse_sample: np.ndarray | None
    train: np.ndarray
    train_sample: np.ndarray
    gibbs_mean: np.ndarray
    ground_energy: float
    ground_state: np.ndarray
    n_configs: int

    def __repr__(self) -> str:
        b = self.beta[-1]
        extra = "" if self.mse is None else f", mse={self.mse[-1]:.6g}"
        return (f"EnumerationResult(N={self.gibbs_mean.shape[1]}, n_configs={self.n_configs}, "
                f"beta={b:g}: energy={self.energy[-1]:.6g}, q={self.q[-1]:.6g}{extra}, "
                f"entropy={self.entropy[-1]:.6g}; {len(self.beta)} beta)")  # fmt: skip


def _configs(levels: np.ndarray, n: int, start: int, stop: int) -> np.ndarray:
    """Rows ``start … stop−1`` of the lexicographic list of ``n``-site configurations."""
    K = levels.size
    idx = np.arange(start, stop, dtype=np.int64)
    digits = np.empty((idx.size, n), dtype=np.int64)
    for j in range(n - 1, -1, -1):  # last site varies fastest
        digits[:, j] = idx % K
        idx //= K
    return levels[digits]


def enumerate(  # the name; it shadows the builtin only inside this module
    X, y, quantizer, beta, ridge: float = 0.0, teacher=None, max_configs: int = MAX_CONFIGS
) -> EnumerationResult:
    """Exact Gibbs averages of ``P(w) ∝ exp(−β[½‖y − Xw‖² + ½λ‖w‖²])`` over all of ``Q^N``.

    Parameters
    ----------
    X : (M, N) array
        Design (e.g. from :func:`replica.amp.generate`).
    y : (M,) array
        Labels.
    quantizer : Quantizer or (K,) array
        The grid.
    beta : float or (B,) array
        Finite inverse temperatures ``≥ 0`` (any order; results follow it).
    ridge : float
        ``λ ≥ 0``.
    teacher : (N,) array, optional
        ``w⁰`` for ``m``, ``mse`` and ``mse_sample``.
    max_configs : int
        Refuse (``ValueError``, before allocating anything) when ``K^N`` exceeds it. The
        default, 2·10⁷, is binary weights up to N = 24 or 4 levels up to N = 12.

    Returns
    -------
    EnumerationResult
    """
    X, y, lam, w0 = instance(X, y, ridge, teacher)
    lv = levels_of(quantizer)
    betas = betas_of(beta)
    check(isinstance(max_configs, (int, np.integer)) and max_configs >= 1, "max_configs",
          "an integer >= 1", max_configs)  # fmt: skip
    N = X.shape[1]
    K = lv.size
    n_conf = K**N  # exact Python integer
    check(n_conf <= max_configs, "X", f"an instance with at most max_configs={max_configs} "
          f"configurations K^N (K={K} levels); use replica.mc.sample for larger N",
          f"N={N} weights, K^N={float(n_conf):.3g}")  # fmt: skip
    G, b, c0 = energy_terms(X, y)
    n2 = N if K == 1 else min(N, max(1, int(math.log(4096) / math.log(K))))
    n1 = N - n2
    K1, K2 = K**n1, K**n2
    V = _configs(lv, n2, 0, K2)  # (K2, n2)
    Gv, Guv, Gu = G[n1:, n1:], G[:n1, n1:], G[:n1, :n1]
    Hv = -V @ b[n1:] + 0.5 * np.einsum("kj,kj->k", V @ (Gv + lam * np.eye(n2)), V)
    Qv = np.einsum("kj,kj->k", V, V)
    B = betas.size
    s0, s1, s2 = np.zeros(B), np.zeros(B), np.zeros(B)
    sw = np.zeros((B, N))
    sQ = np.zeros(B)
    ref = None  # the running minimum energy: every accumulator is relative to e^{−β(H − ref)}
    gs_E, gs_state = math.inf, None
    rows = max(1, _BLOCK // K2)
    for start in range(0, K1, rows):
        stop = min(K1, start + rows)
        U = _configs(lv, n1, start, stop)  # (r, n1), possibly n1 = 0
        Hu = c0 - U @ b[:n1] + 0.5 * np.einsum("kj,kj->k", U @ (Gu + lam * np.eye(n1)), U)
        H = Hu[:, None] + Hv[None, :] + (U @ Guv) @ V.T  # (r, K2)
        k = int(np.argmin(H))
        hmin = float(H.flat[k])
        if hmin < gs_E:
            gs_E = hmin
            iu, iv = divmod(k, K2)
            gs_state = np.concatenate([U[iu], V[iv]])
        if ref is None or hmin < ref:
            if ref is not None:
                scale = np.exp(-betas * (ref - hmin))
                s0 *= scale
                s1 *= scale
                s2 *= scale
                sQ *= scale
                sw *= scale[:, None]
            ref = hmin
        D = H - ref  # >= 0
        Qu = np.einsum("kj,kj->k", U, U)
        for j, bt in np.ndenumerate(betas):
            P = np.exp(-bt * D)
            rs, cs = P.sum(axis=1), P.sum(axis=0)
            PD = P * D
            s0[j] += rs.sum()
            s1[j] += PD.sum()
            s2[j] += np.einsum("kl,kl->", PD, D)
            sQ[j] += rs @ Qu + cs @ Qv
            sw[j, :n1] += rs @ U
            sw[j, n1:] += cs @ V
    mean_D = s1 / s0
    energy = (ref + mean_D) / N
    energy_var = np.maximum(s2 / s0 - mean_D**2, 0.0) / N
    free_entropy = (np.log(s0) - betas * ref) / N
    gmean = sw / s0[:, None]
    Q = sQ / s0 / N
    q = np.einsum("bi,bi->b", gmean, gmean) / N
    resid = y[None, :] - gmean @ X.T
    train = np.einsum("bm,bm->b", resid, resid) / y.size
    train_sample = 2.0 * N * (energy - 0.5 * lam * Q) / y.size
    m = mse = mse_sample = None
    if w0 is not None:
        rho = float(w0 @ w0) / N
        m = gmean @ w0 / N
        mse = np.einsum("bi,bi->b", gmean - w0, gmean - w0) / N
        mse_sample = rho - 2.0 * m + Q
    return EnumerationResult(
        status=CONVERGED, n_iter=int(n_conf), residual=0.0, beta=betas, energy=energy,
        energy_var=energy_var, free_entropy=free_entropy, entropy=free_entropy + betas * energy,
        Q=Q, q=q, m=m, mse=mse, mse_sample=mse_sample, train=train, train_sample=train_sample,
        gibbs_mean=gmean,
        ground_energy=gs_E / N, ground_state=gs_state, n_configs=int(n_conf),
    )  # fmt: skip
