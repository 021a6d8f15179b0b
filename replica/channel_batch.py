"""The channel averages of :mod:`replica.channel` for many points at once.

A phase diagram asks the scalar channel for thousands of small, independent averages; one call
of :func:`~replica.channel.channel_averages` costs ~150 µs, more than half of it numpy's per-call
overhead on arrays of a few hundred nodes. :func:`channel_averages_many` evaluates a whole block
of requests with the *same* quadrature rules as the per-point call, in a few large array
operations:

* the path of each teacher component (β = ∞ staircase, large-A staircase + windows, clustered
  rule) is decided for all requests of one grid size at once, on ``(P, K − 1)`` arrays;
* requests that share the structure of their rule (number of cluster points or of switch
  windows, grid size, derivatives or not) are evaluated together on ``(K, P, nodes)`` tables,
  the level axis leading so that the reductions over it stay row-wise (the layout of
  :func:`replica.channel._posterior_stats`);
* every node, weight and per-node value is computed by the same floating-point operations as the
  per-point code, so the results agree with it to rounding (the tests check ≤ 1e-13).

Grids of more than 16 levels (the banded posterior), single-level grids and degenerate rules
(coincident bounds, a density narrower than the spacing of doubles) take the per-point path.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from . import gauss
from .channel import _SHARP, _WINDOW, ChannelAverages, channel_averages, legendre01
from .errors import check

__all__ = ["channel_averages_many"]

# finer grids use the banded posterior of the per-point path
_MAX_LEVELS = 16
# elements of one (levels, points, nodes) table: blocks this size stay in the L2 cache
_BLOCK = 1 << 16
# Gauss–Legendre nodes per half-window of the large-A path (as in channel._split_component)
_N_SPLIT = 48
_FORM = "a tuple (levels, teacher_mixture, delta, A, ridge_precision, derivatives)"


def channel_averages_many(requests, n=64) -> list[ChannelAverages]:
    """:func:`~replica.channel.channel_averages` for many points, vectorised across them.

    Parameters
    ----------
    requests : sequence of tuples
        Each ``(levels, teacher_mixture, delta, A, ridge_precision, derivatives)``: the arguments
        of :func:`~replica.channel.channel_averages` (``A = inf`` for the β = ∞ staircase, where
        ``ridge_precision`` is the shift; see there).
    n : int
        Gauss–Legendre nodes per half-interval of the clustered rule (as there).

    Returns
    -------
    list of ChannelAverages
        ``result[i]`` equals ``channel_averages(levels, mixture, delta, A, ridge_precision, n,
        derivatives)`` of ``requests[i]`` to rounding: the same nodes, weights and integrands,
        summed in blocks.
    """
    check(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1, "n",
          "an integer >= 1", n)  # fmt: skip
    reqs = _parse(requests)
    out: list[ChannelAverages | None] = [None] * len(reqs)
    # one task per (request, teacher component with weight > 0), grouped by grid size
    by_k: dict[int, list] = defaultdict(list)
    slow = []
    for i, (levels, pi, mu, s, delta, A, ridge, der) in enumerate(reqs):
        K = levels.size
        if not (1 < K <= _MAX_LEVELS and 0.0 < delta < math.inf and A > 0.0
                and 0.0 <= ridge < math.inf):  # fmt: skip
            slow.append(i)
            continue
        for j in range(pi.size):
            if pi[j] > 0:
                by_k[K].append((i, j, float(pi[j]), float(mu[j]), float(s[j]), levels, delta,
                                A, ridge, der))  # fmt: skip
    comps = {}  # (request, component) -> 8 or 12 values
    failed = set()
    for tasks in by_k.values():
        _solve_tasks(tasks, n, comps, failed)
    for i, (levels, pi, mu, s, _, A, _, der) in enumerate(reqs):
        if i in slow or i in failed:
            continue
        acc = [0.0] * 12
        for j in range(pi.size):
            if pi[j] > 0:
                o = comps[i, j]
                acc[: len(o)] = [a + float(pi[j]) * b for a, b in zip(acc, o)]
        vals = [float(v) for v in acc[:8]]
        m, q, V, D, at_sum, log_z, mse, ent = vals
        if math.isinf(A):
            V, at_sum, log_z = 0.0, (math.inf if levels.size > 1 else 0.0), math.nan
        jac = np.array(acc[8:]).reshape(2, 2) if der else None
        rho = float(np.sum(pi * (mu * mu + s)))
        out[i] = ChannelAverages(m=m, q=q, Q=q + V, V=V, D=D, at_sum=at_sum, log_z=log_z,
                                 mse=mse, rho=rho, jac=jac, entropy=ent)  # fmt: skip
    for i in sorted({*slow, *failed}):
        levels, pi, mu, s, delta, A, ridge, der = reqs[i]
        out[i] = channel_averages(levels, (pi, mu, s), delta, A, ridge, n, derivatives=der)
    return out


def _parse(requests):
    """Requests as ``(levels, pi, mu, s, delta, A, ridge, derivatives)`` with float arrays."""
    check(not isinstance(requests, (str, bytes)) and hasattr(requests, "__len__")
          and hasattr(requests, "__getitem__"), "requests", "a sequence of " + _FORM + "s",
          type(requests).__name__)  # fmt: skip
    out = []
    for i, req in enumerate(requests):
        name = f"requests[{i}]"
        check(isinstance(req, (tuple, list)) and len(req) == 6, name, _FORM, req)
        levels, mix, delta, A, ridge, der = req
        try:
            levels = np.asarray(levels, dtype=float)
            mix = tuple(np.asarray(a, dtype=float) for a in mix)
        except (TypeError, ValueError):
            check(False, name, "levels and a mixture (weights, means, variances) of numbers",
                  (levels, mix))  # fmt: skip
        check(levels.ndim == 1 and levels.size >= 1, f"{name} levels", "a non-empty 1-D array",
              levels.shape)  # fmt: skip
        check(len(mix) == 3 and all(a.ndim == 1 and a.shape == mix[0].shape for a in mix),
              f"{name} teacher_mixture", "(weights, means, variances): three 1-D arrays of one "
              "length", [a.shape for a in mix])  # fmt: skip
        for label, x in (("delta", delta), ("A", A), ("ridge_precision", ridge)):
            check(isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool),
                  f"{name} {label}", "a real number", x)  # fmt: skip
        check(isinstance(der, (bool, np.bool_)), f"{name} derivatives", "True or False", der)
        out.append((levels, *mix, float(delta), float(A), float(ridge), bool(der)))
    return out


def _solve_tasks(tasks, n, comps, failed):
    """Component averages for tasks sharing one grid size: decide each one's path on
    ``(T, K − 1)`` arrays, then evaluate each group of equal structure at once."""
    T = len(tasks)
    req = np.array([t[0] for t in tasks])
    comp = np.array([t[1] for t in tasks])
    mu = np.array([t[3] for t in tasks])
    s = np.array([t[4] for t in tasks])
    lev = np.array([t[5] for t in tasks])
    delta = np.array([t[6] for t in tasks])
    A = np.array([t[7] for t in tasks])
    ridge = np.array([t[8] for t in tasks])
    der = np.array([t[9] for t in tasks], dtype=bool)
    tau = s + delta
    sd = np.sqrt(tau)
    g = s / tau
    post_var = s * delta / tau
    results = np.full((T, 12), np.nan)

    def store(rows, vals):
        results[rows, : vals.shape[1]] = vals

    hard = np.isinf(A)
    for d in (False, True):
        rows = np.flatnonzero(hard & (der == d))
        if rows.size:
            vals, _ = _hard_many(lev[rows], mu[rows], tau[rows], g[rows], post_var[rows],
                                 ridge[rows], d)  # fmt: skip
            store(rows, vals)
    fin = np.flatnonzero(~hard)
    if fin.size:
        f_lev, f_mu, f_sd, f_A, f_ridge = lev[fin], mu[fin], sd[fin], A[fin], ridge[fin]
        mid = 0.5 * (f_lev[:, 1:] + f_lev[:, :-1])
        r_k = mid * (1.0 + f_ridge / f_A)[:, None]
        widths = 1.0 / (f_A[:, None] * (f_lev[:, 1:] - f_lev[:, :-1]))
        inf_col = np.full((fin.size, 1), np.inf)
        gaps = np.concatenate([inf_col, r_k[:, 1:] - r_k[:, :-1], inf_col], axis=1)
        nbr = np.minimum(gaps[:, :-1], gaps[:, 1:])
        near = np.abs(r_k - f_mu[:, None]) < 13.0 * f_sd[:, None] + _WINDOW * widths
        narrow = 2.0 * _WINDOW * widths < np.minimum(nbr, 4.0 * f_sd[:, None])
        split = np.all(narrow | ~near, axis=1)
        # staircase + windows, grouped by the number of windows
        n_win = near.sum(axis=1)
        for key in set(zip(n_win[split].tolist(), der[fin][split].tolist())):
            sel = np.flatnonzero(split & (n_win == key[0]) & (der[fin] == key[1]))
            rows = fin[sel]
            idx = np.nonzero(near[sel])[1].reshape(sel.size, key[0])
            vals = _split_many(lev[rows], mu[rows], tau[rows], g[rows], post_var[rows], A[rows],
                               ridge[rows], r_k[sel], widths[sel], idx, key[1])  # fmt: skip
            store(rows, vals)
        sel = np.flatnonzero(~split)
        if sel.size:
            _clustered_tasks(fin[sel], lev, mu, sd, tau, g, post_var, A, ridge, der,
                             r_k[sel], widths[sel], nbr[sel], n, store, failed, req)  # fmt: skip
    for t in range(T):
        if req[t] not in failed:
            k = 12 if der[t] else 8
            comps[int(req[t]), int(comp[t])] = results[t, :k].tolist()


def _clustered_tasks(rows, lev, mu, sd, tau, g, post_var, A, ridge, der, r_k, widths, nbr, n,
                     store, failed, req):  # fmt: skip
    """The clustered-rule path (:func:`replica.channel._component`) for the tasks ``rows``:
    the rule's points for all at once, merged and grouped by their number."""
    P, K = rows.size, lev.shape[1]
    c_mu, c_sd, c_A, c_ridge = mu[rows], sd[rows], A[rows], ridge[rows]
    sharp = widths < np.minimum(2.0 * nbr, _SHARP * c_sd[:, None])
    edges = lev[rows][:, [0, -1]] * (1.0 + c_ridge / c_A)[:, None]
    use_edges = ~(sharp[:, 0] & sharp[:, -1])
    # candidate points: sharp switches, the mean, the two saturation kinks (inf where absent)
    pts = np.concatenate([np.where(sharp, r_k, np.inf), c_mu[:, None],
                          np.where(use_edges[:, None], edges, np.inf)], axis=1)  # fmt: skip
    scl = np.concatenate([widths, c_sd[:, None], np.broadcast_to(
        (1.0 / np.sqrt(c_A))[:, None], (P, 2))], axis=1)  # fmt: skip
    lo, hi = c_mu - 13.0 * c_sd, c_mu + 13.0 * c_sd
    keep = (pts > lo[:, None]) & (pts < hi[:, None])
    pts = np.where(keep, pts, np.inf)
    order = np.argsort(pts, axis=1)
    pts = np.take_along_axis(pts, order, axis=1)
    scl = np.take_along_axis(scl, order, axis=1)
    kept = np.take_along_axis(keep, order, axis=1)
    # merge coincident points per row, keeping the finer scale (np.minimum.reduceat)
    row_f = np.broadcast_to(np.arange(P)[:, None], pts.shape)[kept]
    pts_f, scl_f = pts[kept], scl[kept]
    new = np.ones(pts_f.size, dtype=bool)
    new[1:] = (pts_f[1:] > pts_f[:-1]) | (row_f[1:] != row_f[:-1])
    starts = np.flatnonzero(new)
    scl_f = np.minimum.reduceat(scl_f, starts) if starts.size else scl_f[:0]
    pts_f, row_f = pts_f[new], row_f[new]
    count = np.bincount(row_f, minlength=P)
    first = np.concatenate([[0], np.cumsum(count)[:-1]])
    bad = count == 0  # empty rule (a density below the spacing of doubles)
    failed.update(req[rows[bad]].tolist())
    dflag = der[rows]
    for M in set(count[~bad].tolist()):
        for d in (False, True):
            sel = np.flatnonzero((count == M) & (dflag == d))
            if not sel.size:
                continue
            take = first[sel][:, None] + np.arange(M)
            _clustered_group(rows[sel], pts_f[take], scl_f[take], lo[sel], hi[sel], lev, mu,
                             sd, tau, g, post_var, A, ridge, d, n, K, store, failed, req)  # fmt: skip


def _clustered_group(rows, pts, sc, lo, hi, lev, mu, sd, tau, g, post_var, A, ridge, der, n, K,
                     store, failed, req):  # fmt: skip
    """:func:`replica.channel.clustered_rule` and the weighted sums of ``_component`` for
    tasks with ``M`` sorted, distinct points each, in blocks of ``_BLOCK`` table elements."""
    P, M = pts.shape
    bounds = np.empty((P, M + 1))
    bounds[:, 0], bounds[:, -1] = lo, hi
    bounds[:, 1:-1] = 0.5 * (pts[:, 1:] + pts[:, :-1])
    center = np.repeat(pts, 2, axis=1)
    length = np.empty((P, 2 * M))
    length[:, 0::2] = bounds[:, :-1] - pts
    length[:, 1::2] = bounds[:, 1:] - pts
    zero = np.any(length == 0.0, axis=1)  # a dropped half-interval: per-point path
    if zero.any():
        failed.update(req[rows[zero]].tolist())
        ok = ~zero
        rows, center, length, sc = rows[ok], center[ok], length[ok], sc[ok]
        P = rows.size
        if not P:
            return
    sc = np.repeat(sc, 2, axis=1)
    span = np.abs(length)
    scale = np.minimum(sc, span)
    x, w = legendre01(n)
    s_max = np.arcsinh(span / scale)[..., None]
    s = x * s_max
    scale = scale[..., None]
    nodes = center[..., None] + np.copysign(scale, length[..., None]) * np.sinh(s)
    weights = (w * s_max) * scale * np.cosh(s)
    N = 2 * M * n
    nodes, weights = nodes.reshape(P, N), weights.reshape(P, N)
    step = max(1, _BLOCK // (K * N))
    for b in range(0, P, step):
        blk = slice(b, b + step)
        r = rows[blk]
        vals = _clustered_sums(nodes[blk], weights[blk], lev[r], mu[r], sd[r], tau[r], g[r],
                               post_var[r], A[r], ridge[r], der)  # fmt: skip
        store(r, vals)


def _clustered_sums(r, w, lev, mu, sd, tau, g, post_var, A, ridge, der):
    """The averages of ``_component`` on the nodes ``r`` and weights ``w`` (P, N)."""
    mu_, sd_, A_ = mu[:, None], sd[:, None], A[:, None]
    u = (r - mu_) / sd_
    p_r = np.exp(-0.5 * u * u) * w * (1.0 / (sd_ * math.sqrt(2.0 * math.pi)))
    mean_w0 = mu_ + (g * sd)[:, None] * u
    f, v, lnz, ent, k3, k4 = _posterior_many(r, A, lev, ridge, der)
    err = mean_w0 - f
    av = A_ * v
    rows = [mean_w0 * f, f * f, v, av, av * av, lnz, err * err, ent]
    if der:
        kernel = (u * u - 1.0) / (2.0 * tau)[:, None]
        rows += [kernel * rows[6], err * u, err * (A_ * ((r - f) * v - 0.5 * k3)), kernel * av,
                 A_ * ((r - f) * k3 - 0.5 * (k4 - v * v))]  # fmt: skip
    sums = np.matmul(np.stack(rows, axis=1), p_r[..., None])[..., 0]  # (P, rows)
    out = sums[:, :8].copy()
    out[:, 6] = post_var + sums[:, 6]
    if not der:
        return out
    c = g
    d_mse_dd = c * c + sums[:, 8] - 2.0 * c / sd * sums[:, 9]
    return np.column_stack([out, d_mse_dd, -2.0 * sums[:, 10], sums[:, 11],
                            sums[:, 3] + A * sums[:, 12]])  # fmt: skip


def _posterior_many(r, A, lev, ridge, moments):
    """``channel._posterior_stats`` (unbanded) for rows of nodes ``r`` (P, N) with their own
    ``A``, levels and ``βλ``, on (K, P, N) tables."""
    lin = (A[:, None] * lev).T[:, :, None]
    const = -0.5 * (A + ridge)[:, None] * lev * lev
    c0 = const.max(axis=1)
    const = (const - c0[:, None]).T[:, :, None]
    lv = lev.T[:, :, None]
    logits = lin * r + const
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
    lnz = (mx + c0[:, None]) + log_z_rel
    ent = log_z_rel - (p * rel).sum(axis=0)
    if not moments:
        return f, v, lnz, ent, None, None
    pdev3 = pdev2 * dev
    return f, v, lnz, ent, pdev3.sum(axis=0), (pdev3 * dev).sum(axis=0)


def _stair_mean(values, u, above):
    """``gauss.staircase_mean`` for rows of values (P, K) with standardised thresholds."""
    jumps = np.diff(values, axis=-1)
    terms = np.where(above, -jumps * gauss.norm_cdf(u), jumps * gauss.norm_sf(u))
    anchor = np.take_along_axis(values, above.sum(axis=-1)[:, None], axis=1)[:, 0]
    return anchor + terms.sum(axis=-1)


def _hard_many(lev, mu, tau, g, post_var, shift, der):
    """``channel._hard_component`` for rows (P, K); also returns ``(stein, E f)``."""
    mid = 0.5 * (lev[:, 1:] + lev[:, :-1])
    r_k = mid * (1.0 + shift)[:, None]
    mu_ = mu[:, None]
    sd = np.sqrt(tau)
    sd_ = sd[:, None]
    above = mu_ >= r_k
    with np.errstate(divide="ignore", invalid="ignore"):
        u = (r_k - mu_) / sd_
    u = np.where(sd_ > 0, u, np.where(above, -np.inf, np.inf))
    ef = _stair_mean(lev, u, above)
    q = _stair_mean(lev**2, u, above)
    dlev = np.diff(lev, axis=1)
    stein = (sd_ * dlev * gauss.norm_pdf(u)).sum(axis=-1)
    m = mu * ef + g * stein
    uc = np.clip((r_k - mu_) / sd_, -1e6, 1e6)
    dq_dens = dlev * gauss.norm_pdf(uc) / sd_
    D = dq_dens.sum(axis=-1)
    mse = post_var + g * g * tau - 2.0 * g * stein + _stair_mean((mu_ - lev) ** 2, u, above)
    zero = np.zeros_like(m)
    cols = [m, q, zero, D, zero, zero, mse, zero]
    if der:
        jump_h = (lev[:, 1:] + lev[:, :-1] - 2.0 * (mu_ + g[:, None] * (r_k - mu_))) * dq_dens
        d_stair = _staircase_dtau(jump_h, dq_dens, r_k, mu_, tau, g)
        cols += [
            g * g + d_stair - 2.0 * g / tau * (g * tau - stein),
            -(jump_h * mid).sum(axis=-1),
            (dq_dens * (uc * uc - 1.0)).sum(axis=-1) / (2.0 * tau),
            -(dq_dens * uc * mid).sum(axis=-1) / sd,
        ]
    return np.column_stack(cols), (stein, ef)


def _staircase_dtau(jump_h, dq_dens, r_k, mu_, tau, g):
    """``channel._staircase_dtau`` for rows."""
    terms = jump_h * (r_k - mu_) / (2.0 * tau)[:, None] - g[:, None] * dq_dens
    return g * g + terms.sum(axis=-1)


def _split_many(lev, mu, tau, g, post_var, A, ridge, r_k, widths, idx, der):
    """``channel._split_component`` for P tasks with S windows each (``idx`` (P, S) the
    switches kept), on (4 levels, P, S, 2·48 nodes) tables."""
    P, K = lev.shape
    S = idx.shape[1]
    hard, (stein, ef) = _hard_many(lev, mu, tau, g, post_var, ridge / A, False)
    hm, hq, hmse = hard[:, 0], hard[:, 1], hard[:, 6]
    sd = np.sqrt(tau)
    t, wt = legendre01(_N_SPLIT)
    rix = np.arange(P)[:, None]
    half = (_WINDOW * widths)[rix, idx]  # (P, S)
    x = np.concatenate([(t - 1.0) * half[..., None], t * half[..., None]], axis=-1)
    wx = np.concatenate([wt * half[..., None]] * 2, axis=-1)
    lk, lk1 = lev[rix, idx], lev[rix, idx + 1]
    band = np.clip(idx + np.arange(-1, 3)[:, None, None], 0, K - 1)  # (4, P, S)
    lv = lev[rix[None], band]
    dq = lv - lk
    A3, Ap = A[None, :, None], (A + ridge)[None, :, None]
    base = 0.5 * Ap * dq * (lk1 - lv)
    logits = (A3 * dq)[..., None] * x + base[..., None]  # (4, P, S, 2n)
    logits[1:][band[1:] == band[:-1]] = -np.inf
    mx = logits.max(axis=0)
    rel = logits - mx
    p = np.exp(rel)
    zsum = p.sum(axis=0)
    p /= zsum
    with np.errstate(invalid="ignore"):
        ent = np.log(zsum) - np.where(p > 0.0, p * rel, 0.0).sum(axis=0)
    lv3 = lv[..., None]
    f = (p * lv3).sum(axis=0)
    dev = lv3 - f
    pdev2 = p * dev * dev
    v = pdev2.sum(axis=0)
    upper = x >= 0
    A_ = A[:, None, None]
    fh = np.where(upper, lk1[..., None], lk[..., None])
    hard_logit = np.where(upper, (A[:, None] * (lk1 - lk))[..., None] * x, 0.0)
    dlogz = (mx + np.log(zsum)) - hard_logit
    mu_, sd_ = mu[:, None, None], sd[:, None, None]
    r = r_k[rix, idx][..., None] + x
    p_r = gauss.norm_pdf((r - mu_) / sd_) / sd_ * wx
    mean_w0 = mu_ + g[:, None, None] * (r - mu_)
    erfh = mu * ef + stein
    log_z_hard = A * erfh - 0.5 * (A + ridge) * hq
    err, err_h = mean_w0 - f, mean_w0 - fh

    def tot(a):  # np.sum over one task's (S, 2n) values, as the per-point float(np.sum(...))
        return a.reshape(P, -1).sum(axis=-1)

    av = A_ * v
    pav = p_r * av
    cols = [
        hm + tot(p_r * mean_w0 * (f - fh)),
        hq + tot(p_r * (f * f - fh * fh)),
        tot(p_r * v),
        tot(pav),
        tot(pav * av),
        log_z_hard + tot(p_r * dlogz),
        hmse + tot(p_r * (err * err - err_h * err_h)),
        tot(p_r * ent),
    ]
    if not der:
        return np.column_stack(cols)
    tau_ = tau[:, None, None]
    kernel = p_r * (((r - mu_) ** 2 / tau_ - 1.0) / (2.0 * tau_))
    mu2, sd2 = mu[:, None], sd[:, None]
    dq_dens = np.diff(lev, axis=1) * gauss.norm_pdf((r_k - mu2) / sd2) / sd2
    jump_h = (lev[:, 1:] + lev[:, :-1] - 2.0 * (mu2 + g[:, None] * (r_k - mu2))) * dq_dens
    d_stair = _staircase_dtau(jump_h, dq_dens, r_k, mu2, tau, g)
    cross = g * tau - stein + tot(p_r * (fh - f) * (r - mu_))
    d_mse_dd = g * g + d_stair + tot(kernel * (err * err - err_h * err_h)) - 2.0 * g / tau * cross
    t_mid = 0.5 * (lk + lk1)
    shift = (ridge / A)[:, None] * t_mid
    c = shift + 0.5 * (lk1 - lv)
    a_g = (A3 * dq)[..., None] * (x + c[..., None])
    a_df = (p * dev * a_g).sum(axis=0)
    dd_dlog_a = tot(pav * ((r - mu_) / tau_) * (x + shift[..., None]))
    cols += [d_mse_dd, -2.0 * tot(p_r * err * a_df), tot(kernel * av), dd_dlog_a]
    del S
    return np.column_stack(cols)
