"""Compiled (numba) kernels for the hot path of :mod:`replica.channel_batch`.

This module imports numba at the top; :mod:`replica.channel_batch` imports it lazily, only where
`replica.channel_batch._backend()` says so, so ``import replica`` never imports numba.

The numpy path of :func:`~replica.channel_batch.channel_averages_many` builds ``(levels, points,
nodes)`` posterior tables and a dozen integrand rows per block of tasks: ~45 passes over memory
per node at numpy's per-element cost. :func:`clustered_sums` does the clustered-rule part of one
task (request × teacher component) in one compiled call: the posterior over the levels on a
``(levels, nodes)`` table that stays in the L1/L2 cache (the same max-shifted logits, the same
−600 floor on the relative ones, ``exp``, the normalised weights, the centred moments, the level
sums in the same order) and every integrand weighted and summed in one pass over the nodes.
:func:`split_sums` does the same for the large-A path (staircase + windows around isolated
switches, ``channel._split_component``), on each window's band of four levels.

``exp`` and ``log`` are polynomials (:func:`_exp_parts`, :func:`_log_into`; ≤ 1 and ≤ 2 ulp
from libm's, checked in the tests): libm's are scalar calls that stop the loops around them from
vectorising (they were 60 % of the kernel's time). The sums over the nodes run in eight
interleaved partial sums instead of numpy's blocked matrix product. The results agree with the
numpy path to rounding: ≤ 4.7e-15 relative on the values, ≤ 1.1e-14 absolute on the derivative
averages (differences of O(1) sums) on the requests of tests/test_kernels.py. Used where numba
is installed (``pip install "replica-theory[fast]"``) and ``REPLICA_NUMBA`` is not ``"0"``.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["clustered_sums", "exp_many", "log_many", "split_sums"]

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # 32 significant bits: n · _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)  # as gauss._INV_SQRT_2PI
# 1/(2k + 1), the coefficients of atanh(s)/s − 1 in s²: 1/3 … 1/21
_L3, _L5, _L7, _L9, _L11, _L13, _L15, _L17, _L19, _L21 = (1.0 / k for k in range(3, 23, 2))
_E3, _E4, _E5, _E6, _E7, _E8, _E9, _E10, _E11, _E12, _E13 = (
    1.0 / math.factorial(i) for i in range(3, 14)
)


@numba.njit(cache=True, fastmath=False, error_model="numpy", inline="always")
def _exp_parts(t):
    """``(e, n)`` with ``exp(t) = e · 2^n``: ``x = t − n ln 2`` in ``[−ln2/2, ln2/2]`` (Cody–Waite:
    ln 2 in two parts, ``n · _LN2_HI`` exact), ``exp(x)`` by its Taylor polynomial to ``x^13``
    (remainder < 4e-18 relative). libm's ``exp`` is a scalar call that stops the loops around
    it from vectorising (4.6 ns of the kernel's 7 ns per level and node); this is 1 ulp."""
    n = math.floor(t * _LOG2E + 0.5)
    x = (t - n * _LN2_HI) - n * _LN2_LO
    e = _E13
    e = e * x + _E12
    e = e * x + _E11
    e = e * x + _E10
    e = e * x + _E9
    e = e * x + _E8
    e = e * x + _E7
    e = e * x + _E6
    e = e * x + _E5
    e = e * x + _E4
    e = e * x + _E3
    e = e * x + 0.5
    e = e * x + 1.0
    return e * x + 1.0, n


@numba.njit(cache=True, fastmath=False, error_model="numpy", inline="always")
def _weights_into(rel, mx, p, z, bits, two_n, floor):
    """The unnormalised posterior weights of both kernels: row by row, ``rel −= mx`` (floored
    at ``floor``), ``p = exp(rel)`` by :func:`_exp_parts` times ``2^n`` built in ``bits`` (whose
    float view is ``two_n``), summed into ``z``. Inlined, so the loops vectorise as before."""
    N = z.size
    z[:] = 0.0
    for k in range(rel.shape[0]):
        pk = p[k]
        for j in range(N):
            t = max(rel[k, j] - mx[j], floor)
            rel[k, j] = t
            pk[j], e = _exp_parts(t)
            bits[j] = (np.int64(e) + 1023) << 52  # 2^e: e >= -866 here (t >= -600)
        for j in range(N):
            w = pk[j] * two_n[j]
            pk[j] = w
            z[j] += w


@numba.njit(cache=True, fastmath=False, error_model="numpy", inline="always")
def _sum8(x):
    """``x.sum()`` in eight interleaved partial sums (so that the loop vectorises without
    reassociation by the compiler), added pairwise at the end."""
    n = x.size
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
    m = n - n % 8
    for j in range(0, m, 8):
        a0 += x[j]
        a1 += x[j + 1]
        a2 += x[j + 2]
        a3 += x[j + 3]
        a4 += x[j + 4]
        a5 += x[j + 5]
        a6 += x[j + 6]
        a7 += x[j + 7]
    for j in range(m, n):
        a0 += x[j]
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))


@numba.njit(cache=True, fastmath=False, error_model="numpy", inline="always")
def _log_into(z, out, zbits, mbits, mant):
    """``out = log(z)`` for positive normal ``z`` (``zbits``/``mbits`` int64 views, ``mant`` the
    float64 view of ``mbits``): ``z = m · 2^e`` with ``m`` in ``[√½, √2)``, ``log m = 2 atanh(s)``,
    ``s = (m − 1)/(m + 1)``, ``|s| ≤ 0.172``, by its series to ``s^21`` (remainder < 3e-17
    relative); ``e ln 2`` in two parts. Written out so that the loops vectorise."""
    n = z.size
    for j in range(n):
        b = zbits[j]
        mbits[j] = (b & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000
        out[j] = float((b >> 52) - 1023)
    for j in range(n):
        m = mant[j]
        e = out[j]
        if m > _SQRT2:
            m *= 0.5
            e += 1.0
        t = (m - 1.0) / (m + 1.0)
        t2 = t * t
        q = _L21
        q = q * t2 + _L19
        q = q * t2 + _L17
        q = q * t2 + _L15
        q = q * t2 + _L13
        q = q * t2 + _L11
        q = q * t2 + _L9
        q = q * t2 + _L7
        q = q * t2 + _L5
        q = q * t2 + _L3
        out[j] = e * _LN2_HI + (2.0 * t + (2.0 * t * t2 * q + e * _LN2_LO))


@numba.njit(cache=True, fastmath=False, error_model="numpy")
def log_many(z):
    """``log`` of an array of positive normal numbers, as the kernel computes it (for tests)."""
    out = np.empty(z.size)
    mbits = np.empty(z.size, np.int64)
    _log_into(z, out, z.view(np.int64), mbits, mbits.view(np.float64))
    return out


@numba.njit(cache=True, fastmath=False, error_model="numpy")
def exp_many(t):
    """``exp`` of an array of values in ``[−700, 0]``, as the kernel computes it (for tests)."""
    out = np.empty(t.size)
    bits = np.empty(t.size, np.int64)
    for j in range(t.size):
        out[j], n = _exp_parts(t[j])
        bits[j] = (np.int64(n) + 1023) << 52
    two_n = bits.view(np.float64)
    for j in range(t.size):
        out[j] *= two_n[j]
    return out


@numba.njit(cache=True, fastmath=False, nogil=True, error_model="numpy")
def clustered_sums(sinh_s, center, length, scale, s_max, w, lev, mu, sd, tau, g, post_var, A,
                   ridge, der, floor):  # fmt: skip
    """The averages of ``channel._component`` on the clustered rule, for P tasks.

    Parameters
    ----------
    sinh_s : ndarray, shape (P, H·n)
        ``sinh(x s_max)`` (numpy's) for every half-interval of each task's rule
        (:func:`replica.channel.clustered_rule`) and Gauss–Legendre node ``x`` on [0, 1].
    center, length, scale, s_max : ndarray, shape (P, H)
        Per half-interval: its point, signed length, node scale and ``arcsinh(|length| /
        scale)``. The nodes are ``center + copysign(scale, length) · sinh_s`` (the operations
        of the rule: the integrands are steep at large A, and nodes built here from the
        polynomial ``exp``, ≤ 3 ulp, moved a derivative average by 8e-13), the weights ``w
        s_max scale cosh(x s_max)`` with ``cosh = √(1 + sinh²)`` (≤ 2 ulp from numpy's; a
        weight's relative error is the sum's).
    w : ndarray, shape (n,)
        Gauss–Legendre weights on [0, 1].
    lev : ndarray, shape (P, K)
        Each task's levels.
    mu, sd, tau, g, post_var, A, ridge : ndarray, shape (P,)
        The teacher component N(μ, s) (its √τ, τ = s + Δ, g = s/τ, the posterior variance
        sΔ/τ), A and βλ.
    der : bool
        Also the four derivative averages.
    floor : float
        Relative logits are floored here before ``exp`` (as ``channel_batch._FLOOR``).

    Returns
    -------
    ndarray, shape (P, 12 if der else 8)
        ``(m, q, V, D, at_sum, log_z, mse, entropy)`` and with ``der`` ``(∂mse/∂Δ, A ∂mse/∂A,
        ∂D/∂Δ, A ∂D/∂A)``, as ``channel_batch._clustered_sums`` returns them.
    """
    P, H = center.shape
    nw = w.size
    N = H * nw
    K = lev.shape[1]
    out = np.empty((P, 12 if der else 8))
    r = np.empty(N)
    weights = np.empty(N)
    rel = np.empty((K, N))  # relative logits, then p · (q_k − f)^j
    p = np.empty((K, N))
    mx = np.empty(N)
    z = np.empty(N)
    f = np.empty(N)
    es = np.empty(N)
    v = np.empty(N)
    k3 = np.empty(N)
    k4 = np.empty(N)
    p_r = np.empty(N)
    log_z = np.empty(N)
    nr = 13 if der else 8
    rows = np.empty((nr, N))
    sums = np.empty(nr)
    lin = np.empty(K)
    cst = np.empty(K)
    bits = np.empty(N, np.int64)
    two_n = bits.view(np.float64)
    z_bits = z.view(np.int64)
    floor = max(floor, -700.0)  # keeps 2^n normal
    for i in range(P):
        a = A[i]
        for h in range(H):  # the rule's nodes and weights
            ctr, sc, sm = center[i, h], scale[i, h], s_max[i, h]
            sg = math.copysign(sc, length[i, h])
            for jj in range(nw):
                sh = sinh_s[i, h * nw + jj]
                r[h * nw + jj] = ctr + sg * sh
                ch = math.sqrt(1.0 + sh * sh) if sh < 1e8 else sh  # sh ≥ 0
                weights[h * nw + jj] = (w[jj] * sm) * sc * ch
        c0 = -math.inf
        for k in range(K):
            q = lev[i, k]
            lin[k] = a * q
            cst[k] = -0.5 * (a + ridge[i]) * q * q
            c0 = max(c0, cst[k])
        for k in range(K):
            cst[k] -= c0
        # the posterior over the levels at every node: logits, their max, exp, sums over k
        mx[:] = -math.inf
        for k in range(K):
            lk, ck = lin[k], cst[k]
            for j in range(N):
                t = lk * r[j] + ck
                rel[k, j] = t
                mx[j] = max(mx[j], t)
        _weights_into(rel, mx, p, z, bits, two_n, floor)
        f[:] = 0.0
        es[:] = 0.0
        for k in range(K):
            q = lev[i, k]
            for j in range(N):
                pk = p[k, j] / z[j]
                p[k, j] = pk
                f[j] += pk * q
                es[j] += pk * rel[k, j]
        v[:] = 0.0
        k3[:] = 0.0
        k4[:] = 0.0
        for k in range(K):
            q = lev[i, k]
            for j in range(N):
                dev = q - f[j]
                t = p[k, j] * dev * dev
                v[j] += t
                if der:
                    t *= dev
                    k3[j] += t
                    k4[j] += t * dev
        # the integrands, weighted by the teacher density times the rule's weight, summed
        m_i, sd_i, tau_i = mu[i], sd[i], tau[i]
        gsd = g[i] * sd_i
        norm = 1.0 / (sd_i * math.sqrt(2.0 * math.pi))
        c_ln = c0
        for j in range(N):  # the teacher density (|u| <= 13: exp's argument >= -84.5)
            u = (r[j] - m_i) / sd_i
            p_r[j], e = _exp_parts(-0.5 * u * u)
            bits[j] = (np.int64(e) + 1023) << 52
        for j in range(N):
            p_r[j] = p_r[j] * two_n[j] * weights[j] * norm
        _log_into(z, log_z, z_bits, bits, two_n)
        for j in range(N):  # the integrands times the weights, one row each
            rj, fj, vj, lz, pj = r[j], f[j], v[j], log_z[j], p_r[j]
            u = (rj - m_i) / sd_i
            mean_w0 = m_i + gsd * u
            err = mean_w0 - fj
            av = a * vj
            err2 = err * err
            rows[0, j] = mean_w0 * fj * pj
            rows[1, j] = fj * fj * pj
            rows[2, j] = vj * pj
            rows[3, j] = av * pj
            rows[4, j] = av * av * pj
            rows[5, j] = ((mx[j] + c_ln) + lz) * pj
            rows[6, j] = err2 * pj
            rows[7, j] = (lz - es[j]) * pj
        if der:
            for j in range(N):
                rj, fj, vj, pj = r[j], f[j], v[j], p_r[j]
                u = (rj - m_i) / sd_i
                err = (m_i + gsd * u) - fj
                av = a * vj
                kern = (u * u - 1.0) / (2.0 * tau_i)
                rf = rj - fj
                rows[8, j] = kern * (err * err) * pj
                rows[9, j] = err * u * pj
                rows[10, j] = err * (a * (rf * vj - 0.5 * k3[j])) * pj
                rows[11, j] = kern * av * pj
                rows[12, j] = a * (rf * k3[j] - 0.5 * (k4[j] - vj * vj)) * pj
        for c in range(nr):
            sums[c] = _sum8(rows[c])
        s3, s6 = sums[3], sums[6]
        out[i, 0], out[i, 1], out[i, 2], out[i, 3] = sums[0], sums[1], sums[2], s3
        out[i, 4], out[i, 5], out[i, 7] = sums[4], sums[5], sums[7]
        out[i, 6] = post_var[i] + s6
        if der:
            gi = g[i]
            out[i, 8] = gi * gi + sums[8] - 2.0 * gi / sd_i * sums[9]
            out[i, 9] = -2.0 * sums[10]
            out[i, 10] = sums[11]
            out[i, 11] = s3 + a * sums[12]
    return out


@numba.njit(cache=True, fastmath=False, nogil=True, error_model="numpy")
def split_sums(lev, mu, tau, g, A, ridge, r_k, widths, idx, der, stair, t, wt, window, floor):
    """The averages of ``channel._split_component`` (large A: staircase + windows around the
    isolated switches) for P tasks with S windows each, as ``channel_batch._split_many``.

    Parameters
    ----------
    lev : ndarray, shape (P, K)
        Each task's levels.
    mu, tau, g, A, ridge : ndarray, shape (P,)
        The teacher component's mean, τ = s + Δ, g = s/τ, A and βλ.
    r_k, widths : ndarray, shape (P, K − 1)
        The switches and their logistic widths.
    idx : ndarray of int, shape (P, S)
        The switches that get a window.
    der : bool
        Also the four derivative averages.
    stair : ndarray, shape (P, ≥ 10)
        The staircase part (``_hard_many`` at the shift βλ/A: columns 0, 1, 6 m, q, mse; then
        ``stein`` and ``E f`` in columns 8 and 9).
    t, wt : ndarray, shape (n,)
        Gauss–Legendre nodes and weights on [0, 1] (each half-window).
    window : float
        Half-width of a window in logistic widths (``channel._WINDOW``).
    floor : float
        Relative logits are floored here before ``exp``.

    Returns
    -------
    ndarray, shape (P, 12 if der else 8)
    """
    P, K = lev.shape
    S = idx.shape[1]
    n = t.size
    N = 2 * n
    B = 4 if K >= 4 else K  # levels k−1 … k+2 (clipped, duplicates masked), or all of them
    floor = max(floor, -700.0)
    out = np.empty((P, 12 if der else 8))
    x = np.empty(N)
    wx = np.empty(N)
    rel = np.empty((B, N))
    p = np.empty((B, N))
    mx = np.empty(N)
    z = np.empty(N)
    log_z = np.empty(N)
    f = np.empty(N)
    es = np.empty(N)
    v = np.empty(N)
    adf = np.empty(N)
    p_r = np.empty(N)
    bits = np.empty(N, np.int64)
    two_n = bits.view(np.float64)
    z_bits = z.view(np.int64)
    bq = np.empty(B)
    bdq = np.empty(B)
    bbase = np.empty(B)
    bmask = np.empty(B, np.bool_)
    for i in range(P):
        a, lam, m_i, tau_i, g_i = A[i], ridge[i], mu[i], tau[i], g[i]
        sd_i = math.sqrt(tau_i)
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = s8 = s9 = s10 = s11 = s_cross = 0.0
        for w in range(S):
            k = idx[i, w]
            half = window * widths[i, k]
            lk, lk1, rk = lev[i, k], lev[i, k + 1], r_k[i, k]
            for j in range(n):
                x[j] = (t[j] - 1.0) * half
                x[n + j] = t[j] * half
                wx[j] = wt[j] * half
                wx[n + j] = wt[j] * half
            for b in range(B):
                if K >= 4:
                    lb = min(max(k - 1 + b, 0), K - 1)
                    bmask[b] = b > 0 and lb == min(max(k - 2 + b, 0), K - 1)
                else:
                    lb = b
                    bmask[b] = False
                q = lev[i, lb]
                bq[b] = q
                bdq[b] = q - lk
                bbase[b] = 0.5 * (a + lam) * bdq[b] * (lk1 - q)
            # the posterior over the band: logits relative to level k, max, exp, sums
            mx[:] = -math.inf
            for b in range(B):
                adq, base = a * bdq[b], bbase[b]
                if bmask[b]:
                    for j in range(N):
                        rel[b, j] = -math.inf
                else:
                    for j in range(N):
                        lg = adq * x[j] + base
                        rel[b, j] = lg
                        mx[j] = max(mx[j], lg)
            _weights_into(rel, mx, p, z, bits, two_n, floor)
            f[:] = 0.0
            es[:] = 0.0
            for b in range(B):
                q = bq[b]
                for j in range(N):
                    pk = p[b, j] / z[j]
                    p[b, j] = pk
                    f[j] += pk * q
                    es[j] += pk * rel[b, j] if pk > 0.0 else 0.0
            _log_into(z, log_z, z_bits, bits, two_n)
            v[:] = 0.0
            adf[:] = 0.0
            t_mid = 0.5 * (lk + lk1)
            shift = (lam / a) * t_mid
            for b in range(B):
                q = bq[b]
                adq = a * bdq[b]
                c = shift + 0.5 * (lk1 - q)
                for j in range(N):
                    dev = q - f[j]
                    pd = p[b, j] * dev
                    v[j] += pd * dev
                    if der:
                        adf[j] += pd * (adq * (x[j] + c))
            # the teacher density at r = r_k + x (|u| ≤ 13 + window offsets: exp's argument
            # ≥ −700 where it matters; below, its weight is 0 to double precision anyway)
            for j in range(N):
                u = ((rk + x[j]) - m_i) / sd_i
                p_r[j], e = _exp_parts(max(-0.5 * u * u, -700.0))
                bits[j] = (np.int64(e) + 1023) << 52
            for j in range(N):
                p_r[j] = _INV_SQRT_2PI * (p_r[j] * two_n[j]) / sd_i * wx[j]
            dlk = a * (lk1 - lk)
            for j in range(N):
                xj, fj, vj, pj = x[j], f[j], v[j], p_r[j]
                upper = xj >= 0.0
                fh = lk1 if upper else lk
                hard_logit = dlk * xj if upper else 0.0
                r = rk + xj
                mean_w0 = m_i + g_i * (r - m_i)
                err, err_h = mean_w0 - fj, mean_w0 - fh
                av = a * vj
                pav = pj * av
                d_err = err * err - err_h * err_h
                s0 += pj * mean_w0 * (fj - fh)
                s1 += pj * (fj * fj - fh * fh)
                s2 += pj * vj
                s3 += pav
                s4 += pav * av
                s5 += pj * ((mx[j] + log_z[j]) - hard_logit)
                s6 += pj * d_err
                s7 += pj * (log_z[j] - es[j])
                if der:
                    kern = pj * (((r - m_i) ** 2 / tau_i - 1.0) / (2.0 * tau_i))
                    s8 += kern * d_err
                    s_cross += pj * (fh - fj) * (r - m_i)
                    s9 += pj * err * adf[j]
                    s10 += kern * av
                    s11 += pav * ((r - m_i) / tau_i) * (xj + shift)
        hm, hq, hmse, stein, ef = stair[i, 0], stair[i, 1], stair[i, 6], stair[i, 8], stair[i, 9]
        erfh = m_i * ef + stein
        out[i, 0] = hm + s0
        out[i, 1] = hq + s1
        out[i, 2] = s2
        out[i, 3] = s3
        out[i, 4] = s4
        out[i, 5] = (a * erfh - 0.5 * (a + lam) * hq) + s5
        out[i, 6] = hmse + s6
        out[i, 7] = s7
        if der:
            # ∂_τ of the staircase part: the jumps at every switch, weighted by the density
            d_terms = 0.0
            for k in range(K - 1):
                uk = (r_k[i, k] - m_i) / sd_i
                dens = (lev[i, k + 1] - lev[i, k]) * (_INV_SQRT_2PI * math.exp(-0.5 * uk * uk))
                dens = dens / sd_i
                jump = (lev[i, k + 1] + lev[i, k] - 2.0 * (m_i + g_i * (r_k[i, k] - m_i))) * dens
                d_terms += jump * (r_k[i, k] - m_i) / (2.0 * tau_i) - g_i * dens
            d_stair = g_i * g_i + d_terms
            cross = g_i * tau_i - stein + s_cross
            out[i, 8] = g_i * g_i + d_stair + s8 - 2.0 * g_i / tau_i * cross
            out[i, 9] = -2.0 * s9
            out[i, 10] = s10
            out[i, 11] = s11
    return out
