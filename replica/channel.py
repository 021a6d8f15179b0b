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
from .errors import check_memory

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
    if isinstance(r, np.ndarray) and isinstance(A, (int, float)) and 0.0 < A < 1e100:
        return _grid_posterior_numpy(r, float(A), levels, log_prior)
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


def _grid_posterior_numpy(r, A, levels, log_prior):
    """:func:`grid_posterior` for a numpy ``r`` and a scalar ``A`` (AMP's hot path at small N):
    layout (levels, nodes), so that the reductions run over the short leading axis and the
    posterior mean is one matrix–vector product; the variance stays the centred sum
    ``Σ p_k (q_k − f)²`` (no cancellation)."""
    shape = r.shape
    r1 = r.reshape(-1)
    lv = np.asarray(levels, dtype=r.dtype)
    const = (-0.5 * A) * lv * lv
    if log_prior is not None:
        const = const + np.asarray(log_prior, dtype=r.dtype)
    p = np.multiply.outer(A * lv, r1)  # logits A r q_k − A q_k²/2 + log_prior_k
    p += const[:, None]
    p -= p.max(axis=0)
    # weights below e^-600 (relative to the largest, 1) cannot change a double-precision sum,
    # and exp is 6-30x slower where its result underflows: floor the logits there
    np.maximum(p, -600.0, out=p)
    np.exp(p, out=p)
    p /= p.sum(axis=0)
    f = lv @ p
    dev = lv[:, None] - f
    dev *= dev
    dev *= p
    return f.reshape(shape), dev.sum(axis=0).reshape(shape)


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
    E[(w⁰ − f)²]``, ``rho = E[(w⁰)²]``, ``entropy = E[H(p(·|r))]`` the mean Shannon entropy of the
    posterior on the grid (``ln K`` at ``A = 0``, ``O(1/A)`` at large A; it is
    ``log_z − A E[r f] + (A + βλ)Q/2`` without the cancellation of the ``O(A)`` terms). At
    ``A = inf``: ``V = 0``, ``entropy = 0``, ``D`` is the jump sum and ``at_sum = inf``. ``jac``
    (only when asked for) is ``[[∂mse/∂Δ, A ∂mse/∂A], [∂D/∂Δ, A ∂D/∂A]]`` at finite A (derivatives
    in ``ln A``, and of ``D = AV`` rather than V, so that they neither underflow nor overflow up
    to ``A ~ 1e300``) and ``[[∂mse/∂Δ, ∂mse/∂s], [∂D/∂Δ, ∂D/∂s]]`` at ``A = inf`` (``s`` the
    staircase shift passed as ``ridge_precision``), else ``None``.
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
    jac: np.ndarray | None = None
    entropy: float = math.nan


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
    pts = np.asarray(points, dtype=float)
    sc = np.asarray(scales, dtype=float)
    keep = (pts > lo) & (pts < hi)
    pts, sc = pts[keep], sc[keep]
    if pts.size > 1:
        order = np.argsort(pts)
        pts, sc = pts[order], sc[order]
        new = pts[1:] > pts[:-1]
        if not new.all():  # merge coincident points, keeping the finer scale
            new = np.concatenate([[True], new])
            sc = np.minimum.reduceat(sc, np.flatnonzero(new))
            pts = pts[new]
    if pts.size == 0:
        pts, sc = np.array([0.5 * (lo + hi)]), np.array([(hi - lo) / 16])
    # each point gets a lower and an upper half-interval, reaching the midpoints between points
    bounds = np.empty(pts.size + 1)
    bounds[0], bounds[-1] = lo, hi
    bounds[1:-1] = 0.5 * (pts[1:] + pts[:-1])
    center = np.repeat(pts, 2)
    length = np.empty(2 * pts.size)
    length[0::2] = bounds[:-1] - pts
    length[1::2] = bounds[1:] - pts
    ok = length != 0.0
    if not ok.all():
        center, length, sc = center[ok], length[ok], np.repeat(sc, 2)[ok]
    else:
        sc = np.repeat(sc, 2)
    span = np.abs(length)
    scale = np.minimum(sc, span)
    x, w = legendre01(n)
    s_max = np.arcsinh(span / scale)[:, None]
    s = x * s_max
    scale = scale[:, None]
    nodes = center[:, None] + np.copysign(scale, length[:, None]) * np.sinh(s)
    weights = (w * s_max) * scale * np.cosh(s)
    return nodes.ravel(), weights.ravel()


def channel_averages(levels, teacher_mixture, delta, A, ridge_precision=0.0, n=64,
                     derivatives=False):  # fmt: skip
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
    derivatives : bool
        Also integrate the derivatives of ``mse`` and ``D`` with respect to Δ and ln A on the
        same nodes (``jac``; the Newton step of :func:`replica.solve_rs`); at ``A = inf`` those of
        ``mse`` and ``D`` with respect to Δ and the shift, as exact sums. Δ enters through the
        density of ``r`` (``∂_τ N(r; μ, τ) = N·((r−μ)²/τ − 1)/(2τ)``) and through ``E[w⁰|r]``;
        A through the posterior, ``∂_A f = (r − f)v − κ₃/2`` and ``∂_A v = (r − f)κ₃ −
        (κ₄ − v²)/2`` with the posterior central moments ``κ₃, κ₄`` (so ``∂_r f = A v``'s
        companion needs no extra pass).

    Returns
    -------
    ChannelAverages
        ``mse`` is integrated directly as ``E[Var(w⁰|r) + (E[w⁰|r] − f)²]`` (no cancellation,
        accurate relative to itself when tiny).
    """
    levels = np.asarray(levels, dtype=float)
    # the clustered rule has 2n nodes per transition and the posterior tables scale with them:
    # measured peak ~24 kB per level at n = 64 (bits 8, 10, 12); 20 bits would need ~24 GB
    check_memory(8.0 * 48 * n * levels.size, "quantizer",
                 f"a grid of {levels.size} levels (2^{math.log2(levels.size):.3g})")  # fmt: skip
    pi, mu, s = (np.asarray(a, dtype=float) for a in teacher_mixture)
    rho = float(np.sum(pi * (mu * mu + s)))
    # m, q, V, D, at_sum, log_z, mse, entropy, then d(mse, D)/d(Δ, ln A)
    acc = [0.0] * 12
    has_jac = derivatives
    for p_j, mu_j, s_j in zip(pi.tolist(), mu.tolist(), s.tolist()):
        if p_j > 0:
            out = _component(levels, mu_j, s_j, delta, A, ridge_precision, n, derivatives)
            has_jac = has_jac and len(out) == 12
            acc[: len(out)] = [a + p_j * o for a, o in zip(acc, out)]
    m, q, V, D, at_sum, log_z, mse, ent = (float(v) for v in acc[:8])
    if math.isinf(A):
        V, at_sum, log_z = 0.0, (math.inf if levels.size > 1 else 0.0), math.nan
    jac = np.array(acc[8:]).reshape(2, 2) if has_jac else None
    return ChannelAverages(m=m, q=q, Q=q + V, V=V, D=D, at_sum=at_sum, log_z=log_z, mse=mse,
                           rho=rho, jac=jac, entropy=ent)  # fmt: skip


def _component(levels, mu, s, delta, A, ridge_precision, n, derivatives=False):
    """(m, q, V, D, at_sum, log_z, mse, entropy) for one Gaussian component N(μ, s) of the
    teacher, and when ``derivatives`` (finite A) ∂mse/∂Δ, A ∂mse/∂A, ∂D/∂Δ, A ∂D/∂A."""
    tau = s + delta
    sd = math.sqrt(tau)
    g = s / tau
    post_var = s * delta / tau  # Var(w0 | r)
    if math.isinf(A):
        return _hard_component(levels, mu, tau, g, post_var, ridge_precision, derivatives)
    r_k, widths = transitions(levels, A, ridge_precision)
    gaps = np.concatenate([[np.inf], r_k[1:] - r_k[:-1], [np.inf]])
    nbr = np.minimum(gaps[:-1], gaps[1:])  # distance to the nearest other switch
    near = np.abs(r_k - mu) < 13.0 * sd + _WINDOW * widths
    # staircase + windows when every switch near the density is isolated and narrow against it
    if np.all(2.0 * _WINDOW * widths[near] < np.minimum(nbr[near], 4.0 * sd)):
        return _split_component(levels, mu, tau, g, post_var, A, ridge_precision, r_k, widths,
                                derivatives=derivatives)  # fmt: skip
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
    u = (r - mu) / sd  # |u| <= 13: no under/overflow in the density
    p_r = np.exp(-0.5 * u * u) * w * (1.0 / (sd * math.sqrt(2.0 * math.pi)))
    mean_w0 = mu + (g * sd) * u
    f, v, lnz, ent, k3, k4 = _posterior_stats(r, A, levels, ridge_precision, derivatives)
    err = mean_w0 - f
    av = A * v  # ∂_r f
    rows = [mean_w0 * f, f * f, v, av, av * av, lnz, err * err, ent]
    if derivatives:
        # ∂_τ log N(r; μ, τ) = (u² − 1)/(2τ); A ∂_A f and A ∂_A v from the posterior moments
        kernel = (u * u - 1.0) / (2.0 * tau)
        rows += [kernel * rows[6], err * u, err * (A * ((r - f) * v - 0.5 * k3)), kernel * av,
                 A * ((r - f) * k3 - 0.5 * (k4 - v * v))]  # fmt: skip
    sums = (np.stack(rows) @ p_r).tolist()  # one pass over the nodes for every average
    Ef, Ef2, V, D, at_sum, Elnz, Eerr2, Eent = sums[:8]
    out = (Ef, Ef2, V, D, at_sum, Elnz, post_var + Eerr2, Eent)
    if not derivatives:
        return out
    c = s / tau
    d_mse_dd = c * c + sums[8] - 2.0 * c / sd * sums[9]
    # A ∂D/∂A = A V + A² ∂V/∂A
    return (*out, d_mse_dd, -2.0 * sums[10], sums[11], D + A * sums[12])


# switches wider than this fraction of the density's scale are resolved by the global rule
_SHARP = 0.1

# logits this far below the largest one are dropped (e^{-40} ≈ 4e-18 relative weight)
_LOGIT_CUT = 40.0


def _posterior_stats(r, A, levels, ridge_precision, moments=False):
    """Posterior mean, variance and log-partition at nodes ``r`` (numpy), restricted to the
    band of levels whose logit is within ``_LOGIT_CUT`` of the best one when that band is
    narrower than the grid (large A on fine grids), and the posterior's Shannon entropy
    ``H = ln z − Σ_k p_k (logit_k − max)`` (no O(A) terms); with ``moments`` also the third and
    fourth central moments (else ``None``)."""
    K = levels.size
    lin = A * levels  # logit_k = A r q_k − (A + βλ) q_k²/2
    const = -0.5 * (A + ridge_precision) * levels * levels
    # relative to the largest: where βλ ≫ A the common part would swamp A r q_k in rounding
    c0 = float(const.max())
    const = const - c0
    # logit_j − logit_best ≤ −(A + βλ)/2 · (|q_j − q_best| − gap)²: beyond ``reach`` negligible
    B = K
    if K > 16:  # banding only pays on fine grids
        reach = math.sqrt(2.0 * _LOGIT_CUT / (A + ridge_precision)) + float(
            np.max(np.diff(levels), initial=0.0)
        )
        lo_idx = np.searchsorted(levels, levels - reach, side="left")
        hi_idx = np.searchsorted(levels, levels + reach, side="right")
        B = int(np.max(np.maximum(np.arange(K) - lo_idx, hi_idx - 1 - np.arange(K)), initial=0))
    # layout (levels, nodes): reductions over the short leading axis are row-wise and fast
    if 2 * B + 1 >= K:
        lv = levels[:, None]
        logits = lin[:, None] * r + const[:, None]
    else:
        th = 0.5 * (levels[1:] + levels[:-1])
        j0 = np.searchsorted(th, r / (1.0 + ridge_precision / A), side="right")
        band = j0 + np.arange(-B, B + 1)[:, None]
        valid = (band >= 0) & (band < K)
        band = np.clip(band, 0, K - 1)
        lv = levels[band]
        logits = np.where(valid, lin[band] * r + const[band], -np.inf)
    mx = logits.max(axis=0)
    rel = logits - mx
    p = np.exp(rel)
    z = p.sum(axis=0)
    p /= z
    f = (p * lv).sum(axis=0)
    dev = lv - f
    pdev2 = p * dev * dev
    v = pdev2.sum(axis=0)
    log_z_rel = np.log(z)
    lnz = (mx + c0) + log_z_rel
    if 2 * B + 1 >= K:
        prel = p * rel
    else:
        with np.errstate(invalid="ignore"):  # 0·(−inf) outside the band, masked
            prel = np.where(p > 0.0, p * rel, 0.0)
    ent = log_z_rel - prel.sum(axis=0)
    if not moments:
        return f, v, lnz, ent, None, None
    pdev3 = pdev2 * dev
    return f, v, lnz, ent, pdev3.sum(axis=0), (pdev3 * dev).sum(axis=0)


# half-width of the window around a sharp switch, in logistic widths: e^{-36} ≈ 2e-16
_WINDOW = 36.0


def _split_component(levels, mu, tau, g, post_var, A, ridge_precision, r_k, widths, n=48,
                     derivatives=False):  # fmt: skip
    """Large-A path: every switch is isolated, so f = staircase + corrections that vanish
    (below 1e-16) outside ``r_k ± 36·width``. The staircase part is exact (per-cell sums), the
    corrections are Gauss–Legendre integrals on each side of each switch.

    The derivatives (``derivatives``) split the same way. ∂_A acts only near the switches (the
    window integrals of :func:`_component`'s formulas). ∂_Δ of the staircase part uses
    ``∂_τ E[h] = E[h''] / 2`` for the piecewise quadratic ``h = (E[w⁰|r] − f_h)²``: ``g²`` from
    inside the cells plus, at each switch, its jump ``Δq_k(q_k + q_{k+1} − 2a_k)`` (``a_k`` the
    posterior mean of w⁰ there) and the jump ``−2gΔq_k`` of its slope, weighted by the density.
    """
    hm, hq, _, _, _, _, hmse, _ = _hard_component(levels, mu, tau, g, post_var,
                                                  ridge_precision / A)  # fmt: skip
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
    # distance between switches) puts every other logit ≥ 36 below the largest one. Layout
    # (4 levels, S switches, 2n nodes): the reductions run over the short leading axis
    band = np.clip(idx + np.arange(-1, 3)[:, None], 0, levels.size - 1)  # (4, S)
    lv = levels[band]
    dq = lv - levels[idx]  # q_j − q_k
    # logits relative to level k: A(q_j − q_k)x + (A + βλ)(q_j − q_k)(q_{k+1} − q_j)/2
    base = 0.5 * (A + ridge_precision) * dq * (levels[idx + 1] - lv)
    logits = (A * dq)[..., None] * x + base[..., None]  # (4, S, 2n)
    logits[1:][band[1:] == band[:-1]] = -np.inf  # clipped duplicates of an end level count once
    mx = logits.max(axis=0)
    rel = logits - mx
    p = np.exp(rel)
    zsum = p.sum(axis=0)
    p /= zsum
    # posterior entropy ln z − Σ p (logit − max): O(1) in the window, no O(A) terms
    with np.errstate(invalid="ignore"):  # 0·(−inf) of the dropped duplicates, masked
        ent = np.log(zsum) - np.where(p > 0.0, p * rel, 0.0).sum(axis=0)
    lv3 = lv[..., None]
    f = (p * lv3).sum(axis=0)
    dev = lv3 - f
    pdev2 = p * dev * dev
    v = pdev2.sum(axis=0)
    upper = x >= 0
    fh = np.where(upper, levels[k + 1], levels[k])
    hard_logit = np.where(upper, A * (levels[k + 1] - levels[k]) * x, 0.0)
    dlogz = (mx + np.log(zsum)) - hard_logit  # ln Z − max logit, ≥ 0
    r = r_k[k] + x
    p_r = gauss.norm_pdf((r - mu) / sd) / sd * wx
    mean_w0 = mu + g * (r - mu)
    # staircase part of the entropic term: A E[r f_h] − (A + βλ) E[f_h²]/2, exactly
    stein = float(gauss.staircase_stein(levels, r_k, mu, tau))  # E[(r − μ) f_h]
    erfh = mu * float(gauss.staircase_mean(levels, r_k, mu, tau)) + stein
    log_z_hard = A * erfh - 0.5 * (A + ridge_precision) * hq
    err, err_h = mean_w0 - f, mean_w0 - fh
    V = float(np.sum(p_r * v))
    av = A * v  # ∂_r f; p_r·(A v) is O(1) per window even at A ~ 1e300 (p_r ∝ width ~ 1/A)
    pav = p_r * av
    out = (
        hm + float(np.sum(p_r * mean_w0 * (f - fh))),
        hq + float(np.sum(p_r * (f * f - fh * fh))),
        V,
        float(np.sum(pav)),
        float(np.sum(pav * av)),
        log_z_hard + float(np.sum(p_r * dlogz)),
        hmse + float(np.sum(p_r * (err * err - err_h * err_h))),
        float(np.sum(p_r * ent)),
    )
    if not derivatives:
        return out
    kernel = p_r * (((r - mu) ** 2 / tau - 1.0) / (2.0 * tau))  # ∂_τ of the density of r
    # staircase: ∂_τ E[(a − f_h)²] at fixed g, a = μ + g(r − μ), over all switches
    dq_dens = np.diff(levels) * gauss.norm_pdf((r_k - mu) / sd) / sd
    jump_h = (levels[1:] + levels[:-1] - 2.0 * (mu + g * (r_k - mu))) * dq_dens
    d_stair = _staircase_dtau(jump_h, dq_dens, r_k, mu, tau, g)
    # ∂Var(w⁰|r)/∂Δ = g², ∂g/∂Δ = −g/τ, and E[(a − f)(r − μ)] = gτ − E[(r − μ) f_h] + windows
    cross = g * tau - stein + float(np.sum(p_r * (fh - f) * (r - mu)))
    d_mse_dd = (
        g * g
        + d_stair
        + float(np.sum(kernel * (err * err - err_h * err_h)))
        - 2.0 * g / tau * cross
    )
    # A ∂_A f = A Cov(q, ∂_A logit) with ∂_A(logit_j − logit_k) = (q_j − q_k)(r − (q_j + q_k)/2)
    # written as (q_j − q_k)(x + t_k βλ/A + (q_{k+1} − q_j)/2): O(x) ~ 1/A without the
    # cancellation of r − f against κ₃ that the global formula (r − f)v − κ₃/2 suffers here
    t_mid = 0.5 * (levels[idx] + levels[idx + 1])
    shift = (ridge_precision / A) * t_mid  # r_k − t_k
    c = shift + 0.5 * (levels[idx + 1] - lv)  # (4, S)
    a_g = (A * dq)[..., None] * (x + c[..., None])  # A ∂_A(logit_j − logit_k)
    a_df = (p * dev * a_g).sum(axis=0)  # A ∂_A f
    # A ∂D/∂A = ∫ p_r (A v + A² ∂_A v) dr. In the window v depends on A through A(r − r_k(A))
    # only (the other levels weigh e^{-36}), so A² ∂_A v = A ∂_x(x v)·… and an integration by
    # parts leaves ∫ p_r (A v)(r − μ)/τ (x + r_k − t_k) dr: no cancellation of A V against
    # A² ∂V/∂A (which loses everything at A ≳ 1e16)
    dd_dlog_a = float(np.sum(pav * ((r - mu) / tau) * (x + shift[:, None])))
    return (
        *out,
        d_mse_dd,
        -2.0 * float(np.sum(p_r * err * a_df)),
        float(np.sum(kernel * av)),
        dd_dlog_a,
    )


def _hard_component(levels, mu, tau, g, post_var, shift, derivatives=False):
    """β = ∞ (or the staircase part at large A) for one component: f is the staircase with
    jumps at ``(1 + shift) t_k``; every average is an exact sum of normal tail probabilities
    and densities per cell (:mod:`replica.gauss`). Returns the same 8-tuple as
    :func:`_component` (V, at_sum, log_z and entropy: 0), and with ``derivatives``
    ∂mse/∂Δ, ∂mse/∂shift, ∂D/∂Δ, ∂D/∂shift (exact sums too)."""
    mid = 0.5 * (levels[1:] + levels[:-1])
    r_k = mid * (1.0 + shift)
    ef = float(gauss.staircase_mean(levels, r_k, mu, tau))
    q = float(gauss.staircase_mean(levels**2, r_k, mu, tau))
    stein = float(gauss.staircase_stein(levels, r_k, mu, tau))  # E[(r − μ) f]
    m = mu * ef + g * stein
    sd = math.sqrt(tau)
    # |u| beyond 1e6 has density exactly 0; the clip keeps u² finite when τ ~ 1e-300
    u = np.clip((r_k - mu) / sd, -1e6, 1e6)
    dq_dens = np.diff(levels) * gauss.norm_pdf(u) / sd  # jump × density at each switch
    D = float(np.sum(dq_dens))
    # E[(μ + g(r−μ) − f)²] = g²τ − 2g·stein + E[(μ − f)²], with g²τ + Var(w0|r) = s
    mse = (
        post_var
        + g * g * tau
        - 2.0 * g * stein
        + float(gauss.staircase_mean((mu - levels) ** 2, r_k, mu, tau))
    )
    out = (m, q, 0.0, D, 0.0, 0.0, mse, 0.0)
    if not derivatives:
        return out
    # moving switch k up by dr trades level q_{k+1} for q_k there: d mse = −Δh_k p(r_k) dr with
    # Δh_k = Δq_k (q_k + q_{k+1} − 2a_k), a_k = E[w⁰ | r_k]; ∂p(r_k)/∂r_k = −u_k p(r_k)/sd
    jump_h = (levels[1:] + levels[:-1] - 2.0 * (mu + g * (r_k - mu))) * dq_dens
    d_mse_dd = (
        g * g
        + _staircase_dtau(jump_h, dq_dens, r_k, mu, tau, g)
        - 2.0 * g / tau * (g * tau - stein)
    )
    return (
        *out,
        d_mse_dd,
        -float(np.sum(jump_h * mid)),
        float(np.sum(dq_dens * (u * u - 1.0))) / (2.0 * tau),
        -float(np.sum(dq_dens * u * mid)) / sd,
    )


def _staircase_dtau(jump_h, dq_dens, r_k, mu, tau, g):
    """``∂_τ E[(a − f_h)²]`` at fixed ``g`` for the staircase ``f_h`` and ``a = μ + g(r − μ)``,
    by ``∂_τ E[h] = E[h''] / 2``: ``g²`` from inside the cells plus, at each switch, the jump of
    ``h`` (``jump_h`` = Δh_k p(r_k)) and the jump ``−2gΔq_k`` of its slope (``dq_dens`` =
    Δq_k p(r_k)), weighted by the density."""
    return g * g + float(np.sum(jump_h * (r_k - mu) / (2.0 * tau) - g * dq_dens))
