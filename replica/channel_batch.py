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
  per-point code, and the level reductions run in the same order, so the results agree with it
  to rounding (the tests check ≤ 1e-13; on the requests of the benchmark's phase diagrams they
  are bit-identical). The one deliberate difference: relative logits below −600 are floored
  before ``exp`` (weights below 1e-260, invisible in any sum), where ``exp`` would be 10–60×
  slower.

Where numba is installed (the ``fast`` extra) and the environment variable ``REPLICA_NUMBA`` is
not ``"0"``, the posterior and sums of the clustered rule and of the large-A windows run in the
compiled kernels of :mod:`replica._kernels` (one fused loop per task, no tables; the whole call
~1.8× faster, equal to this path to ~1e-14); ``REPLICA_NUMBA=0`` forces the numpy path, which
is also the fallback without numba.

Batches of fewer than 12 requests (numpy path only), grids of more than 16 levels (the banded
posterior), single-level or unsorted grids and degenerate rules (coincident bounds, a density
narrower than the spacing of doubles) take the per-point path.
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections import defaultdict

import numpy as np

from . import gauss
from .channel import _SHARP, _WINDOW, ChannelAverages, channel_averages, legendre01
from .errors import check

__all__ = ["channel_averages_many"]

# finer grids use the banded posterior of the per-point path
_MAX_LEVELS = 16
# elements of the largest array of a block ((levels or integrands) × points × nodes)
_BLOCK = 1 << 17
# the same for the (4, P, S, 2n) tables of the large-A path, a dozen of them allocated per block
_BLOCK_SPLIT = 1 << 15
# fewer requests than this take the per-point path (measured crossover: 8-16 requests)
_MIN_BATCH = 12
# Gauss–Legendre nodes per half-window of the large-A path (as in channel._split_component)
_N_SPLIT = 48
# relative logits are floored here before exp, which is 10-60x slower where its result is
# subnormal or 0 (as are products that underflow further on): weights e^-600 ≈ 3e-261 relative
# to the largest (1) change no sum by more than 1e-250 in absolute terms
_FLOOR = -600.0
_HAS_NUMBA = []


def _backend() -> str:
    """``"numba"`` where the compiled kernels of :mod:`replica._kernels` run the clustered rule:
    numba is installed and the environment variable ``REPLICA_NUMBA`` is not ``"0"`` (read at
    each call); else ``"numpy"``."""
    if os.environ.get("REPLICA_NUMBA", "").strip() == "0":
        return "numpy"
    if not _HAS_NUMBA:
        _HAS_NUMBA.append(importlib.util.find_spec("numba") is not None)
    return "numba" if _HAS_NUMBA[0] else "numpy"


def _kernels():
    """The module :mod:`replica._kernels` where :func:`_backend` is ``"numba"``, else None."""
    if _backend() != "numba":
        return None
    from . import _kernels as kernels

    return kernels


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
        summed in blocks. On the numpy path, batches of fewer than 12 requests are answered by
        that call; with the compiled kernels every batch takes the array path, so that a result
        does not depend on the batch it came in.
    """
    check(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1, "n",
          "an integer >= 1", n)  # fmt: skip
    levels, mix_of, mixes, delta, A, ridge, der = _parse(requests)
    R = len(levels)
    # below _MIN_BATCH the fixed cost of the array path exceeds the loop's. The numpy path equals
    # the loop bit for bit; the compiled kernels only to ~1e-14, so with them every batch takes
    # the array path: a result must not depend on the batch it came in (a sweep resumed or run
    # in a pool groups its lines differently from a serial run)
    if R < _MIN_BATCH and _backend() == "numpy":
        return [channel_averages(lv, mixes[mi][:3], d, a, lam, n, derivatives=dd)
                for lv, mi, d, a, lam, dd in zip(levels, mix_of, delta, A, ridge, der)]  # fmt: skip
    delta, A, ridge = np.array(delta), np.array(A), np.array(ridge)
    der = np.array(der, dtype=bool)
    K = np.array([lv.size for lv in levels])
    # grids above 16 levels (banded posterior) and odd parameters take the per-point path
    slow = ~((K > 1) & (K <= _MAX_LEVELS) & (delta > 0.0) & (delta < math.inf) & (A > 0.0)
             & (ridge >= 0.0) & (ridge < math.inf))  # fmt: skip
    # sums over the teacher components, in their order, as the per-point call adds them
    acc = np.zeros((R, 12))
    groups = defaultdict(list)
    for i in np.flatnonzero(~slow).tolist():
        groups[K[i], mix_of[i]].append(i)
    for (_, mi), rows in groups.items():
        rows = np.array(rows)
        pi, mu, s = mixes[mi][:3]
        comps = [j for j in range(pi.size) if pi[j] > 0]
        if not comps:
            continue
        lev = np.array([levels[i] for i in rows.tolist()])
        # the array path assumes what quantizers and teachers guarantee: sorted distinct
        # finite levels, finite weights and means, variances >= 0
        ok = np.all(np.isfinite(lev), axis=1) & np.all(lev[:, 1:] > lev[:, :-1], axis=1)
        mix_ok = all(math.isfinite(pi[j]) and math.isfinite(mu[j]) and 0.0 <= s[j] < math.inf
                     for j in comps)  # fmt: skip
        if not (mix_ok and ok.all()):
            slow[rows[~ok] if mix_ok else rows] = True
            rows, lev = (rows[ok], lev[ok]) if mix_ok else (rows[:0], lev[:0])
            if not rows.size:
                continue
        P = rows.size
        reps = len(comps)
        vals, bad = _solve_tasks(np.tile(lev, (reps, 1)), np.repeat(mu[comps], P),
                                 np.repeat(s[comps], P), np.tile(delta[rows], reps),
                                 np.tile(A[rows], reps), np.tile(ridge[rows], reps),
                                 np.tile(der[rows], reps), n)  # fmt: skip
        for c, j in enumerate(comps):
            acc[rows] = acc[rows] + float(pi[j]) * vals[c * P : (c + 1) * P]
        slow[rows] = bad.reshape(reps, P).any(axis=0)
    m, q, V, D, at_sum, log_z, mse, ent = acc[:, :8].T.copy()
    hard = np.isinf(A)
    V[hard], at_sum[hard], log_z[hard] = 0.0, math.inf, math.nan
    rho = np.array([mixes[mi][3] for mi in mix_of])
    table = np.column_stack([m, q, q + V, V, D, at_sum, log_z, mse, rho, ent]).tolist()
    jacs = acc[:, 8:].reshape(R, 2, 2)
    out = [ChannelAverages(*row[:9], jacs[i] if d else None, row[9])
           for i, (row, d) in enumerate(zip(table, der.tolist()))]  # fmt: skip
    for i in np.flatnonzero(slow).tolist():
        out[i] = channel_averages(levels[i], mixes[mix_of[i]][:3], float(delta[i]), float(A[i]),
                                  float(ridge[i]), n, derivatives=bool(der[i]))  # fmt: skip
    return out


def _real(x, i, label):
    check(isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool),
          f"requests[{i}] {label}", "a real number", x)  # fmt: skip
    return float(x)


def _levels(lv, i):
    name = f"requests[{i}] levels"
    try:
        lv = np.asarray(lv, dtype=float)
    except (TypeError, ValueError):
        check(False, name, "an array of numbers", lv)
    check(lv.ndim == 1 and lv.size >= 1, name, "a non-empty 1-D array", lv.shape)
    return lv


def _mixture(mix, i):
    if type(mix) is tuple and len(mix) == 3:
        a, b, c = mix
        if (type(a) is np.ndarray and type(b) is np.ndarray and type(c) is np.ndarray
                and a.dtype == b.dtype == c.dtype == np.float64 and a.ndim == 1
                and a.shape == b.shape == c.shape):  # fmt: skip
            return mix
    name = f"requests[{i}] teacher_mixture"
    try:
        arrs = tuple(np.asarray(a, dtype=float) for a in mix)
    except (TypeError, ValueError):
        check(False, name, "(weights, means, variances) of numbers", mix)
    check(len(arrs) == 3 and all(a.ndim == 1 and a.shape == arrs[0].shape for a in arrs), name,
          "(weights, means, variances): three 1-D arrays of one length",
          [a.shape for a in arrs])  # fmt: skip
    return arrs


def _parse(requests):
    """Requests as columns: levels (float arrays), the index of each one's teacher mixture in
    the list of distinct mixtures ``(pi, mu, s, rho)``, Δ, A, βλ and the derivatives flags
    (plain checks first: this loop is most of the per-request cost that is not numpy's)."""
    check(not isinstance(requests, (str, bytes)) and hasattr(requests, "__len__")
          and hasattr(requests, "__getitem__"), "requests", "a sequence of " + _FORM + "s",
          type(requests).__name__)  # fmt: skip
    levels, mix_of, deltas, As, ridges, ders = [], [], [], [], [], []
    by_id, by_value, mixes, held = {}, {}, [], []
    f64, arr = np.float64, np.ndarray
    for i, req in enumerate(requests):
        if not (type(req) is tuple or isinstance(req, (tuple, list))) or len(req) != 6:
            check(False, f"requests[{i}]", _FORM, req)
        lv, mix, delta, A, ridge, der = req
        if type(lv) is not arr or lv.dtype != f64 or lv.ndim != 1 or not lv.size:
            lv = _levels(lv, i)
        mi = by_id.get(id(mix))
        if mi is None:
            arrs = _mixture(mix, i)
            key = tuple(a.tobytes() for a in arrs)
            mi = by_value.get(key)
            if mi is None:
                pi, mu, s = arrs
                mi = by_value[key] = len(mixes)
                mixes.append((pi, mu, s, float(np.sum(pi * (mu * mu + s)))))
            by_id[id(mix)] = mi
            held.append(mix)  # so that its id is not reused during this call
        if type(der) is not bool:
            check(isinstance(der, np.bool_), f"requests[{i}] derivatives", "True or False", der)
        levels.append(lv)
        mix_of.append(mi)
        deltas.append(delta if type(delta) is float else _real(delta, i, "delta"))
        As.append(A if type(A) is float else _real(A, i, "A"))
        ridges.append(ridge if type(ridge) is float else _real(ridge, i, "ridge_precision"))
        ders.append(bool(der))
    return levels, mix_of, mixes, deltas, As, ridges, ders


def _solve_tasks(lev, mu, s, delta, A, ridge, der, n):
    """Averages of single teacher components N(μ, s) on grids of one size (rows of ``lev``):
    each one's path decided on ``(T, K − 1)`` arrays, then each group of equal structure
    evaluated at once. Returns ``(T, 12)`` values (8 without derivatives, then NaN) and the
    mask of the tasks left to the per-point path."""
    T = lev.shape[0]
    tau = s + delta
    sd = np.sqrt(tau)
    g = s / tau
    post_var = s * delta / tau
    results = np.full((T, 12), np.nan)
    failed = np.zeros(T, dtype=bool)

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
        if split.any():  # their staircase parts at once, (P, K) arrays
            s_all = fin[split]
            stair = np.zeros((T, 10))
            hard_s, (stein_s, ef_s) = _hard_many(lev[s_all], mu[s_all], tau[s_all], g[s_all],
                                                 post_var[s_all], ridge[s_all] / A[s_all],
                                                 False)  # fmt: skip
            stair[s_all, :8], stair[s_all, 8], stair[s_all, 9] = hard_s, stein_s, ef_s
        kernels = _kernels() if split.any() else None
        for key in set(zip(n_win[split].tolist(), der[fin][split].tolist())):
            sel = np.flatnonzero(split & (n_win == key[0]) & (der[fin] == key[1]))
            step = max(1, _BLOCK_SPLIT // (8 * _N_SPLIT * max(key[0], 1)))
            if kernels is not None:  # no tables: all at once
                step = sel.size
            for b in range(0, sel.size, step):
                part = sel[b : b + step]
                rows = fin[part]
                idx = np.nonzero(near[part])[1].reshape(part.size, key[0])
                if kernels is not None:
                    t, wt = legendre01(_N_SPLIT)
                    vals = kernels.split_sums(lev[rows], mu[rows], tau[rows], g[rows], A[rows],
                                              ridge[rows], r_k[part], widths[part], idx, key[1],
                                              stair[rows], t, wt, _WINDOW, _FLOOR)  # fmt: skip
                else:
                    vals = _split_many(lev[rows], mu[rows], tau[rows], g[rows], A[rows],
                                       ridge[rows], r_k[part], widths[part], idx, key[1],
                                       stair[rows])  # fmt: skip
                store(rows, vals)
        sel = np.flatnonzero(~split)
        if sel.size:
            _clustered_tasks(fin[sel], lev, mu, sd, tau, g, post_var, A, ridge, der,
                             r_k[sel], widths[sel], nbr[sel], n, store, failed)  # fmt: skip
    return results, failed


def _clustered_tasks(rows, lev, mu, sd, tau, g, post_var, A, ridge, der, r_k, widths, nbr, n,
                     store, failed):  # fmt: skip
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
    failed[rows[bad]] = True
    dflag = der[rows]
    for M in set(count[~bad].tolist()):
        for d in (False, True):
            sel = np.flatnonzero((count == M) & (dflag == d))
            if not sel.size:
                continue
            take = first[sel][:, None] + np.arange(M)
            _clustered_group(rows[sel], pts_f[take], scl_f[take], lo[sel], hi[sel], lev, mu,
                             sd, tau, g, post_var, A, ridge, d, n, K, store, failed)  # fmt: skip


def _clustered_group(rows, pts, sc, lo, hi, lev, mu, sd, tau, g, post_var, A, ridge, der, n, K,
                     store, failed):  # fmt: skip
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
        failed[rows[zero]] = True
        ok = ~zero
        rows, center, length, sc = rows[ok], center[ok], length[ok], sc[ok]
        P = rows.size
    sc = np.repeat(sc, 2, axis=1)
    span = np.abs(length)
    scale = np.minimum(sc, span)
    s_max = np.arcsinh(span / scale)
    x, w = legendre01(n)
    kernels = _kernels()  # one compiled call per block: posterior and every sum, no tables
    N = 2 * M * n
    nr = 13 if der else 8  # integrands
    # the kernel keeps no tables: blocks of nodes and weights (P, N) that stay in the L2 cache
    step = max(1, _BLOCK // ((max(K, nr) if kernels is None else 4) * N))
    # the posterior tables and the integrands, reused by every block (no allocation per block)
    work = np.empty((3, K * min(step, P) * N))
    rowbuf = np.empty(min(step, P) * nr * N)
    for b in range(0, P, step):
        blk = slice(b, b + step)
        sm = s_max[blk][..., None]
        s = x * sm
        scl = scale[blk][..., None]
        r = rows[blk]
        if kernels is not None:  # numpy's sinh (vectorised), the rest in the kernel
            vals = kernels.clustered_sums(np.sinh(s).reshape(-1, N), center[blk], length[blk],
                                          scale[blk], s_max[blk], w, lev[r], mu[r], sd[r], tau[r],
                                          g[r], post_var[r], A[r], ridge[r], der,
                                          _FLOOR)  # fmt: skip
            store(r, vals)
            continue
        nodes = center[blk][..., None] + np.copysign(scl, length[blk][..., None]) * np.sinh(s)
        weights = (w * sm) * scl * np.cosh(s)
        vals = _clustered_sums(nodes.reshape(-1, N), weights.reshape(-1, N), lev[r], mu[r], sd[r],
                               tau[r], g[r], post_var[r], A[r], ridge[r], der, work,
                               rowbuf)  # fmt: skip
        store(r, vals)


def _clustered_sums(r, w, lev, mu, sd, tau, g, post_var, A, ridge, der, work, rowbuf):
    """The averages of ``_component`` on the nodes ``r`` and weights ``w`` (P, N)."""
    P, N = r.shape
    mu_, sd_, A_ = mu[:, None], sd[:, None], A[:, None]
    u = (r - mu_) / sd_
    p_r = np.exp(-0.5 * u * u) * w * (1.0 / (sd_ * math.sqrt(2.0 * math.pi)))
    mean_w0 = mu_ + (g * sd)[:, None] * u
    nr = 13 if der else 8
    rows = rowbuf[: P * nr * N].reshape(P, nr, N)  # the integrands, one row each
    f, v, k3, k4 = _posterior_many(r, A, lev, ridge, der, rows[:, 5], rows[:, 7], work,
                                   np.abs(mu) + 13.0 * sd)  # fmt: skip
    err = mean_w0 - f
    av = np.multiply(A_, v, out=rows[:, 3])
    np.multiply(mean_w0, f, out=rows[:, 0])
    np.multiply(f, f, out=rows[:, 1])
    rows[:, 2] = v
    np.multiply(av, av, out=rows[:, 4])
    np.multiply(err, err, out=rows[:, 6])
    if der:
        kernel = (u * u - 1.0) / (2.0 * tau)[:, None]
        np.multiply(kernel, rows[:, 6], out=rows[:, 8])
        np.multiply(err, u, out=rows[:, 9])
        rf = r - f
        np.multiply(err, A_ * (rf * v - 0.5 * k3), out=rows[:, 10])
        np.multiply(kernel, av, out=rows[:, 11])
        np.multiply(A_, rf * k3 - 0.5 * (k4 - v * v), out=rows[:, 12])
    sums = np.matmul(rows, p_r[..., None])[..., 0]  # (P, rows)
    out = sums[:, :8].copy()
    out[:, 6] = post_var + sums[:, 6]
    if not der:
        return out
    c = g
    d_mse_dd = c * c + sums[:, 8] - 2.0 * c / sd * sums[:, 9]
    return np.column_stack([out, d_mse_dd, -2.0 * sums[:, 10], sums[:, 11],
                            sums[:, 3] + A * sums[:, 12]])  # fmt: skip


def _posterior_many(r, A, lev, ridge, moments, lnz, ent, work, r_max):
    """``channel._posterior_stats`` (unbanded) for rows of nodes ``r`` (P, N) with their own
    ``A``, levels and ``βλ``, on (K, P, N) tables, with the same operations in place; ``lnz``
    and ``ent`` are written into the given arrays, the tables into ``work`` (3, ≥ K·P·N);
    ``r_max`` bounds ``|r|`` per row."""
    lin = (A[:, None] * lev).T[:, :, None]
    const = -0.5 * (A + ridge)[:, None] * lev * lev
    c0 = const.max(axis=1)
    const = (const - c0[:, None]).T[:, :, None]
    lv = lev.T[:, :, None]
    shape = (lev.shape[1], *r.shape)
    size = shape[0] * r.size
    rel, p, tmp = (work[i, :size].reshape(shape) for i in range(3))
    np.multiply(lin, r, out=rel)
    rel += const  # the logits
    mx = rel.max(axis=0)
    rel -= mx
    # spread of the logits over the nodes (|r| ≤ |μ| + 13√τ): the floor only where it can bite
    sq = lev * lev
    spread = A * r_max * (lev[:, -1] - lev[:, 0]) + 0.5 * (A + ridge) * (sq.max(1) - sq.min(1))
    if not np.all(spread < 500.0):  # (a row operand: numpy's maximum with a scalar is 3x slower)
        np.maximum(rel, np.full(r.shape[1], _FLOOR), out=rel)
    np.exp(rel, out=p)
    z = p.sum(axis=0)
    p /= z
    # einsum multiplies and adds over the level axis in one pass, in the order of sum(axis=0)
    f = np.einsum("kpn,pk->pn", p, lev)
    ent_sum = np.einsum("kpn,kpn->pn", p, rel)
    np.log(z, out=z)  # ln z relative to the largest logit
    np.subtract(z, ent_sum, out=ent)
    mx += c0[:, None]
    np.add(mx, z, out=lnz)
    dev = np.subtract(lv, f, out=rel)
    np.multiply(p, dev, out=tmp)
    tmp *= dev
    v = tmp.sum(axis=0)
    if not moments:
        return f, v, None, None
    tmp *= dev
    return f, v, tmp.sum(axis=0), np.einsum("kpn,kpn->pn", tmp, dev)


def _stair_mean(values, tails, above, cell):
    """``gauss.staircase_mean`` for rows of values (P, K): ``tails`` the normal tail beyond
    each threshold on the far side of the mean (Φ(u) above it, 1 − Φ(u) below), ``cell`` the
    index of the cell holding the mean."""
    jumps = np.diff(values, axis=-1)
    terms = np.where(above, -jumps, jumps) * tails
    anchor = np.take_along_axis(values, cell, axis=1)[:, 0]
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
    # the tail probabilities once for the three staircase means
    tails = np.where(above, gauss.norm_cdf(u), gauss.norm_sf(u))
    cell = above.sum(axis=-1)[:, None]
    ef = _stair_mean(lev, tails, above, cell)
    q = _stair_mean(lev**2, tails, above, cell)
    dlev = np.diff(lev, axis=1)
    stein = (sd_ * dlev * gauss.norm_pdf(u)).sum(axis=-1)
    m = mu * ef + g * stein
    uc = np.clip((r_k - mu_) / sd_, -1e6, 1e6)
    dq_dens = dlev * gauss.norm_pdf(uc) / sd_
    D = dq_dens.sum(axis=-1)
    err2 = _stair_mean((mu_ - lev) ** 2, tails, above, cell)  # E[(μ − f)²]
    mse = post_var + g * g * tau - 2.0 * g * stein + err2
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


def _split_many(lev, mu, tau, g, A, ridge, r_k, widths, idx, der, stair):
    """``channel._split_component`` for P tasks with S windows each (``idx`` (P, S) the
    switches kept), on (min(K, 4) levels, P, S, 2·48 nodes) tables; ``stair`` holds the
    staircase part (:func:`_hard_many` at the shift βλ/A, then ``stein`` and ``E f``)."""
    P, K = lev.shape
    S = idx.shape[1]
    hm, hq, hmse, stein, ef = stair[:, 0], stair[:, 1], stair[:, 6], stair[:, 8], stair[:, 9]
    sd = np.sqrt(tau)
    t, wt = legendre01(_N_SPLIT)
    rix = np.arange(P)[:, None]
    half = (_WINDOW * widths)[rix, idx]  # (P, S)
    x = np.concatenate([(t - 1.0) * half[..., None], t * half[..., None]], axis=-1)
    wx = np.concatenate([wt * half[..., None]] * 2, axis=-1)
    lk, lk1 = lev[rix, idx], lev[rix, idx + 1]
    if K >= 4:  # levels k-1 … k+2 (the per-point band), clipped duplicates masked below
        band = np.clip(idx + np.arange(-1, 3)[:, None, None], 0, K - 1)  # (4, P, S)
    else:  # the same levels without the duplicates, in the same order
        band = np.broadcast_to(np.arange(K)[:, None, None], (K, P, S))
    lv = lev[rix[None], band]
    dq = lv - lk
    A3, Ap = A[None, :, None], (A + ridge)[None, :, None]
    base = 0.5 * Ap * dq * (lk1 - lv)
    logits = (A3 * dq)[..., None] * x + base[..., None]  # (4, P, S, 2n)
    logits[1:][band[1:] == band[:-1]] = -np.inf
    mx = logits.max(axis=0)
    rel = np.maximum(logits - mx, np.full(x.shape[-1], _FLOOR))
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
    return np.column_stack(cols)
