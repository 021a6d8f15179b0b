"""The scalar Gaussian channel of the replica / state-evolution theory, on a quantizer grid.

With ``m̂ = Q̂`` the replica-symmetric single-site problem is a scalar channel
``r = w⁰ + √Δ z`` observed at precision ``A``: the student's posterior on the grid is
``p(q_k | r) ∝ exp(A r q_k − (A + βλ) q_k²/2)``. This module holds its three layers:

* :func:`grid_posterior` — the denoiser ``f(r; A)`` (posterior mean) and variance ``v(r; A)``
  for any array namespace (numpy, cupy, torch): the *same* code serves the RS solver, state
  evolution and AMP;
* :func:`channel_averages` — the averages over ``w⁰`` and ``z`` that enter the saddle point,
  reduced to 1-D integrals over ``r`` per teacher mixture component: exact per cell at β = ∞,
  and at finite β a quadrature whose nodes cluster (sinh map) at each transition between levels,
  so that transitions as sharp as ``1/(A Δq) ~ 1e-9`` are resolved;
* :func:`transitions` — where the posterior switches level.

References
----------
S. Kashiwamura, A. Sakata, M. Imaizumi, "Effect of Weight Quantization on Learning Models by
Typical Case Analysis", arXiv:2401.17269 (scalar-channel form of the RS saddle point).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from . import gauss

__all__ = [
    "ChannelAverages",
    "channel_averages",
    "clustered_rule",
    "grid_posterior",
    "legendre01",
    "log_partition",
    "transitions",
]


def grid_posterior(r, A, levels, log_prior=None, xp=None):
    """Posterior mean ``f`` and variance ``v`` of ``w ∈ levels`` given the channel output ``r``.

    ``p(q_k | r) ∝ exp(A r q_k − A q_k²/2 + log_prior_k)``, computed with a log-sum-exp shift so
    that any ``A`` (up to ~1e300) and any number of levels are safe.

    Parameters
    ----------
    r : array
        Channel outputs (any shape); the level axis is appended last.
    A : float or array broadcastable to ``r``
        Precision (``A > 0``).
    levels : (K,) array
    log_prior : (K,) array, optional
        Log prior weights of the levels, e.g. ``−βλ q_k²/2`` for a ridge term.
    xp : array namespace, optional
        numpy (default), cupy or torch (via array-api-compat); the result stays on ``r``'s
        device.

    Returns
    -------
    f, v : arrays shaped like ``r``. ``∂f/∂r = A v``.
    """
    xp = np if xp is None else xp
    r = xp.asarray(r)
    lv = xp.asarray(levels, dtype=r.dtype) if hasattr(r, "dtype") else xp.asarray(levels)
    A = A if isinstance(A, (int, float)) else xp.asarray(A)[..., None]
    logits = A * (r[..., None] * lv - 0.5 * lv * lv)
    if log_prior is not None:
        logits = logits + xp.asarray(log_prior, dtype=logits.dtype)
    logits = logits - xp.max(logits, axis=-1, keepdims=True)
    p = xp.exp(logits)
    p = p / xp.sum(p, axis=-1, keepdims=True)
    f = xp.sum(p * lv, axis=-1)
    dev = lv - f[..., None]
    v = xp.sum(p * dev * dev, axis=-1)
    return f, v


def log_partition(r, A, levels, log_prior):
    """``ln Σ_k exp(A r q_k − A q_k²/2 + log_prior_k)`` with a log-sum-exp shift (numpy)."""
    logits = A * (r[..., None] * levels - 0.5 * levels * levels) + log_prior
    mx = logits.max(axis=-1)
    return mx + np.log(np.exp(logits - mx[..., None]).sum(axis=-1))


def transitions(levels, A, ridge_precision=0.0):
    """Points ``r_k`` where the posterior weight passes from level k to k+1 and their widths.

    The logits of neighbouring levels are equal at ``r_k = (1 + βλ/A)(q_k + q_{k+1})/2``; the
    switch has the logistic width ``1/(A Δq_k)``. ``ridge_precision`` is ``βλ`` (finite β) and
    the returned widths are 0 when ``A = inf`` (hard staircase, where ``βλ/A → λ/(α − D)`` must be
    passed as ``ridge_precision/A`` through ``shift``).
    """
    levels = np.asarray(levels, dtype=float)
    mid = 0.5 * (levels[1:] + levels[:-1])
    if math.isinf(A):
        return mid * (1.0 + ridge_precision), np.zeros(mid.size)
    return mid * (1.0 + ridge_precision / A), 1.0 / (A * (levels[1:] - levels[:-1]))


class ChannelAverages(NamedTuple):
    """Averages over ``w⁰ ~ P₀`` and ``z ~ N(0, 1)`` of the scalar channel at ``(Δ, A)``.

    ``m = E[w⁰ f]``, ``q = E[f²]``, ``Q = E[f² + v]``, ``V = E[v]``, ``D = E[∂_r f] = A·V``,
    ``at_sum = E[(∂_r f)²] = A²E[v²]``, ``log_z = E[ln Σ_k exp(…)]`` (entropic term), ``mse =
    E[(w⁰ − f)²]``, ``rho = E[(w⁰)²]``. At ``A = inf``: ``V = 0``, ``D`` is the jump sum and
    ``at_sum = inf``.
    """

    m: float
    q: float
    Q: float
    V: float
    D: float
    at_sum: float
    log_z: float
    mse: float
    rho: float


@lru_cache(maxsize=8)
def legendre01(n: int):
    """Gauss–Legendre nodes and weights on [0, 1] (cached)."""
    x, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * (x + 1.0), 0.5 * w  # on [0, 1]


def clustered_rule(points, scales, lo, hi, n=64):
    """Quadrature nodes and weights for ∫_lo^hi g(r) dr where ``g`` varies on the length
    ``scales[i]`` near ``points[i]`` and smoothly elsewhere.

    Each interval between consecutive points is split at its midpoint; each half is integrated
    by Gauss–Legendre in the variable ``s`` of ``r = point ± scale·sinh(s)``, which puts nodes
    densely near the point and geometrically sparser away from it. It converges geometrically
    for the logistic-times-Gaussian integrands of the channel (``n = 64`` gives ~1e-14
    relative accuracy, checked in the tests).
    """
    order = np.argsort(points)
    pts = np.asarray(points, float)[order]
    sc = np.asarray(scales, float)[order]
    keep = (pts > lo) & (pts < hi)
    pts, sc = pts[keep], sc[keep]
    if pts.size > 1:  # merge coincident points, keeping the finer scale
        new = np.concatenate([[True], pts[1:] > pts[:-1]])
        sc = np.minimum.reduceat(sc, np.flatnonzero(new))
        pts = pts[new]
    if pts.size == 0:
        pts, sc = np.array([0.5 * (lo + hi)]), np.array([(hi - lo) / 16])
    edges = np.concatenate([[lo], 0.5 * (pts[1:] + pts[:-1]), [hi]])
    center = np.repeat(pts, 2)
    length = np.stack([edges[:-1] - pts, edges[1:] - pts], axis=1).ravel()
    scale = np.minimum(np.repeat(sc, 2), np.abs(length))
    ok = length != 0.0
    center, length, scale = center[ok], length[ok], scale[ok]
    x, w = legendre01(n)
    s_max = np.arcsinh(np.abs(length) / scale)[:, None]
    s = x[None, :] * s_max
    nodes = center[:, None] + np.sign(length)[:, None] * scale[:, None] * np.sinh(s)
    weights = w[None, :] * s_max * scale[:, None] * np.cosh(s)
    return nodes.ravel(), weights.ravel()


def channel_averages(levels, teacher_mixture, delta, A, ridge_precision=0.0, n=64):
    """Averages of the scalar channel ``r = w⁰ + √Δ z`` observed at precision ``A``.

    The teacher mixture is integrated component by component: for a component N(μ, s) of
    ``w⁰``, ``r ~ N(μ, s + Δ)`` with ``E[w⁰ | r] = μ + g(r − μ)``, ``g = s/(s + Δ)``, so each is a
    1-D integral over ``r`` with its own quadrature rule (point-mass components of a discrete
    teacher have density peaks of width √Δ, as sharp as 1e-150 near perfect recovery).

    Parameters
    ----------
    levels : (K,) array
        Quantizer levels.
    teacher_mixture : tuple
        ``(weights, means, variances)`` of the teacher prior (see :mod:`replica.teachers`).
    delta : float
        Channel noise variance Δ > 0.
    A : float
        Precision (``inf`` for the zero-temperature staircase).
    ridge_precision : float
        ``βλ`` at finite β; at ``A = inf`` pass ``λ/(α − D)`` (the ratio βλ/A).
    n : int
        Gauss–Legendre nodes per half-interval of the clustered rule (finite β).

    Returns
    -------
    ChannelAverages
        ``mse`` is integrated directly as ``E[Var(w⁰|r) + (E[w⁰|r] − f)²]`` (no cancellation,
        accurate relative to itself when tiny).
    """
    levels = np.asarray(levels, dtype=float)
    pi, mu, s = (np.asarray(a, dtype=float) for a in teacher_mixture)
    rho = float(np.sum(pi * (mu * mu + s)))
    acc = np.zeros(7)  # m, q, V, D, at_sum, log_z, mse
    for p_j, mu_j, s_j in zip(pi, mu, s):
        if p_j > 0:
            acc += p_j * np.asarray(_component(levels, mu_j, s_j, delta, A, ridge_precision, n))
    m, q, V, D, at_sum, log_z, mse = (float(v) for v in acc)
    if math.isinf(A):
        V, at_sum, log_z = 0.0, (math.inf if levels.size > 1 else 0.0), math.nan
    return ChannelAverages(
        m=m, q=q, Q=q + V, V=V, D=D, at_sum=at_sum, log_z=log_z, mse=mse, rho=rho
    )


def _component(levels, mu, s, delta, A, ridge_precision, n):
    """(m, q, V, D, at_sum, log_z, mse) for one Gaussian component N(μ, s) of the teacher."""
    tau = s + delta
    sd = math.sqrt(tau)
    g = s / tau
    post_var = s * delta / tau  # Var(w0 | r)
    if math.isinf(A):
        return _hard_component(levels, mu, tau, g, post_var, ridge_precision)
    r_k, widths = transitions(levels, A, ridge_precision)
    gaps = np.concatenate([[np.inf], r_k[1:] - r_k[:-1], [np.inf]])
    nbr = np.minimum(gaps[:-1], gaps[1:])  # distance to the nearest other switch
    near = np.abs(r_k - mu) < 13.0 * sd + _WINDOW * widths
    # staircase + windows when every switch near the density is isolated and narrow against it
    if np.all(2.0 * _WINDOW * widths[near] < np.minimum(nbr[near], 4.0 * sd)):
        return _split_component(levels, mu, tau, g, post_var, A, ridge_precision, r_k, widths)
    # isolated switches (narrower than twice the distance to their neighbours and than a tenth
    # of the density's scale) get their own node cluster; wider ones are resolved by the rule
    # around the mean, and overlapping ones make f smooth (ripples ~ Δq·exp(−π² width/Δq))
    sharp = widths < np.minimum(2.0 * nbr, _SHARP * sd)
    # the posterior mean saturates at the outermost levels on the scale of the posterior width
    # 1/√A: resolve those two kinks too (they matter for dense grids, where no switch is sharp)
    edges = levels[[0, -1]] * (1.0 + ridge_precision / A)
    if sharp.size and sharp[0] and sharp[-1]:
        edges = edges[:0]  # coarse grid: the outermost switches already resolve the kinks
    pts = np.concatenate([r_k[sharp], [mu], edges])
    scl = np.concatenate([widths[sharp], [sd], np.full(edges.size, 1.0 / math.sqrt(A))])
    r, w = clustered_rule(pts, scl, mu - 13.0 * sd, mu + 13.0 * sd, n)
    p_r = gauss.norm_pdf((r - mu) / sd) / sd * w
    mean_w0 = mu + g * (r - mu)
    f, v, lnz = _posterior_stats(r, A, levels, ridge_precision)
    V = float(p_r @ v)
    return (
        float(p_r @ (mean_w0 * f)),
        float(p_r @ (f * f)),
        V,
        A * V,
        A * A * float(p_r @ (v * v)),
        float(p_r @ lnz),
        post_var + float(p_r @ (mean_w0 - f) ** 2),
    )


# switches wider than this fraction of the density's scale are resolved by the global rule
_SHARP = 0.1

# logits this far below the largest one are dropped (e^{-40} ≈ 4e-18 relative weight)
_LOGIT_CUT = 40.0


def _posterior_stats(r, A, levels, ridge_precision):
    """Posterior mean, variance and log-partition at nodes ``r`` (numpy), restricted to the
    band of levels whose logit is within ``_LOGIT_CUT`` of the best one when that band is
    narrower than the grid (large A on fine grids)."""
    K = levels.size
    log_prior = -0.5 * ridge_precision * levels**2
    # logit_j − logit_best ≤ −(A + βλ)/2 · (|q_j − q_best| − gap)²: beyond ``reach`` negligible
    B = K
    if K > 16:  # banding only pays on fine grids
        reach = math.sqrt(2.0 * _LOGIT_CUT / (A + ridge_precision)) + float(
            np.max(np.diff(levels), initial=0.0)
        )
        lo_idx = np.searchsorted(levels, levels - reach, side="left")
        hi_idx = np.searchsorted(levels, levels + reach, side="right")
        B = int(np.max(np.maximum(np.arange(K) - lo_idx, hi_idx - 1 - np.arange(K)), initial=0))
    if 2 * B + 1 >= K:
        lv = levels[None, :]
        logits = A * (r[:, None] * lv - 0.5 * lv * lv) + log_prior
    else:
        th = 0.5 * (levels[1:] + levels[:-1])
        j0 = np.searchsorted(th, r / (1.0 + ridge_precision / A), side="right")
        band = j0[:, None] + np.arange(-B, B + 1)[None, :]
        valid = (band >= 0) & (band < K)
        band = np.clip(band, 0, K - 1)
        lv = levels[band]
        logits = A * (r[:, None] * lv - 0.5 * lv * lv) + log_prior[band]
        logits = np.where(valid, logits, -np.inf)
    mx = logits.max(axis=1, keepdims=True)
    p = np.exp(logits - mx)
    z = p.sum(axis=1, keepdims=True)
    p /= z
    f = (p * lv).sum(axis=1)
    v = (p * (lv - f[:, None]) ** 2).sum(axis=1)
    return f, v, mx[:, 0] + np.log(z[:, 0])


# half-width of the window around a sharp switch, in logistic widths: e^{-36} ≈ 2e-16
_WINDOW = 36.0


def _split_component(levels, mu, tau, g, post_var, A, ridge_precision, r_k, widths, n=48):
    """Large-A path: every switch is isolated, so f = staircase + corrections that vanish
    (below 1e-16) outside ``r_k ± 36·width``. The staircase part is exact (per-cell sums), the
    corrections are Gauss–Legendre integrals on each side of each switch."""
    hm, hq, _, _, _, _, hmse = _hard_component(levels, mu, tau, g, post_var, ridge_precision / A)
    sd = math.sqrt(tau)
    keep = np.abs(r_k - mu) < 13.0 * sd + _WINDOW * widths  # windows with non-negligible mass
    idx = np.flatnonzero(keep)
    t, wt = legendre01(n)
    half = _WINDOW * widths[idx]
    # local offsets x = r − r_k on [−half, 0] and [0, half], exact in floating point even when
    # half ~ 1e-15 (absolute r would lose the switch to rounding at large A)
    x = np.concatenate([(t - 1.0)[None, :] * half[:, None], t[None, :] * half[:, None]], axis=1)
    wx = np.concatenate([wt[None, :] * half[:, None]] * 2, axis=1)
    k = idx[:, None]
    # only levels k−1 … k+2 matter in the window of switch k: isolation (72 widths < the
    # distance between switches) puts every other logit ≥ 36 below the largest one
    band = np.clip(k + np.arange(-1, 3)[None, :], 0, levels.size - 1)  # (S, 4)
    lv = levels[band]
    dq = lv - levels[k]  # q_j − q_k
    # logits relative to level k: A(q_j − q_k)x + (A + βλ)(q_j − q_k)(q_{k+1} − q_j)/2
    base = 0.5 * (A + ridge_precision) * dq * (levels[k + 1] - lv)
    logits = A * dq[:, None, :] * x[..., None] + base[:, None, :]  # (S, 2n, 4)
    # clipped duplicates of an end level must count once
    dup = np.concatenate([np.zeros((band.shape[0], 1), bool), np.diff(band, axis=1) == 0], axis=1)
    logits = np.where(dup[:, None, :], -np.inf, logits)
    mx = np.max(logits, axis=-1, keepdims=True)
    p = np.exp(logits - mx)
    zsum = p.sum(axis=-1, keepdims=True)
    p /= zsum
    lv3 = lv[:, None, :]
    f = (p * lv3).sum(axis=-1)
    v = (p * (lv3 - f[..., None]) ** 2).sum(axis=-1)
    upper = x >= 0
    fh = np.where(upper, levels[k + 1], levels[k])
    hard_logit = np.where(upper, A * (levels[k + 1] - levels[k]) * x, 0.0)
    dlogz = (mx[..., 0] + np.log(zsum[..., 0])) - hard_logit  # ln Z − max logit, ≥ 0
    r = r_k[k] + x
    p_r = gauss.norm_pdf((r - mu) / sd) / sd * wx
    mean_w0 = mu + g * (r - mu)
    # staircase part of the entropic term: A E[r f_h] − (A + βλ) E[f_h²]/2, exactly
    erfh = mu * float(gauss.staircase_mean(levels, r_k, mu, tau)) + float(
        gauss.staircase_stein(levels, r_k, mu, tau)
    )
    log_z_hard = A * erfh - 0.5 * (A + ridge_precision) * hq
    V = float(np.sum(p_r * v))
    return (
        hm + float(np.sum(p_r * mean_w0 * (f - fh))),
        hq + float(np.sum(p_r * (f * f - fh * fh))),
        V,
        float(np.sum(p_r * (A * v))),
        float(np.sum(p_r * (A * v) ** 2)),
        log_z_hard + float(np.sum(p_r * dlogz)),
        hmse + float(np.sum(p_r * ((mean_w0 - f) ** 2 - (mean_w0 - fh) ** 2))),
    )


def _hard_component(levels, mu, tau, g, post_var, shift):
    """β = ∞ (or the staircase part at large A) for one component: f is the staircase with
    jumps at ``(1 + shift) t_k``; every average is an exact sum of normal tail probabilities
    and densities per cell (:mod:`replica.gauss`). Returns the same 7-tuple as
    :func:`_component` (V, at_sum and log_z are placeholders: 0)."""
    r_k = 0.5 * (levels[1:] + levels[:-1]) * (1.0 + shift)
    ef = float(gauss.staircase_mean(levels, r_k, mu, tau))
    q = float(gauss.staircase_mean(levels**2, r_k, mu, tau))
    stein = float(gauss.staircase_stein(levels, r_k, mu, tau))  # E[(r − μ) f]
    m = mu * ef + g * stein
    sd = math.sqrt(tau)
    D = float(np.sum(np.diff(levels) * gauss.norm_pdf((r_k - mu) / sd) / sd))
    # E[(μ + g(r−μ) − f)²] = g²τ − 2g·stein + E[(μ − f)²], with g²τ + Var(w0|r) = s
    mse = (
        post_var
        + g * g * tau
        - 2.0 * g * stein
        + float(gauss.staircase_mean((mu - levels) ** 2, r_k, mu, tau))
    )
    return m, q, 0.0, D, 0.0, 0.0, mse
