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

``exp`` is :func:`_exp_parts` (a polynomial, ≤ 1 ulp from libm's, checked in the tests) so
that the loops vectorise; the sums over the nodes run in one sequence instead of numpy's blocked
matrix product. The results agree with the numpy path to rounding: ≤ 1.4e-14 relative on the
values, ≤ 4e-14 absolute on the derivative averages (differences of O(1) sums) on the requests
of tests/test_kernels.py. Used where numba is installed (``pip install "replica-theory[fast]"``)
and ``REPLICA_NUMBA`` is not ``"0"``.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["clustered_sums", "exp_many"]

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # 32 significant bits: n · _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
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
def clustered_sums(nodes, weights, lev, mu, sd, tau, g, post_var, A, ridge, der, floor):
    """The averages of ``channel._component`` on the clustered rule, for P tasks.

    Parameters
    ----------
    nodes, weights : ndarray, shape (P, N)
        Each task's nodes and weights (:func:`replica.channel.clustered_rule`).
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
    P, N = nodes.shape
    K = lev.shape[1]
    out = np.empty((P, 12 if der else 8))
    rel = np.empty((K, N))  # relative logits, then p · (q_k − f)^j
    p = np.empty((K, N))
    mx = np.empty(N)
    z = np.empty(N)
    f = np.empty(N)
    es = np.empty(N)
    v = np.empty(N)
    k3 = np.empty(N)
    k4 = np.empty(N)
    lin = np.empty(K)
    cst = np.empty(K)
    acc = np.empty(13)
    bits = np.empty(N, np.int64)
    two_n = bits.view(np.float64)
    floor = max(floor, -700.0)  # keeps 2^n normal
    for i in range(P):
        a = A[i]
        r = nodes[i]
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
        z[:] = 0.0
        for k in range(K):
            pk = p[k]
            for j in range(N):
                t = max(rel[k, j] - mx[j], floor)
                rel[k, j] = t
                pk[j], n = _exp_parts(t)
                bits[j] = (np.int64(n) + 1023) << 52  # 2^n: n >= -866 here (t >= -600)
            for j in range(N):
                e = pk[j] * two_n[j]
                pk[j] = e
                z[j] += e
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
        acc[:] = 0.0
        for j in range(N):
            rj, fj, vj = r[j], f[j], v[j]
            lz = math.log(z[j])
            u = (rj - m_i) / sd_i
            p_r = math.exp(-0.5 * u * u) * weights[i, j] * norm
            mean_w0 = m_i + gsd * u
            err = mean_w0 - fj
            av = a * vj
            err2 = err * err
            acc[0] += mean_w0 * fj * p_r
            acc[1] += fj * fj * p_r
            acc[2] += vj * p_r
            acc[3] += av * p_r
            acc[4] += av * av * p_r
            acc[5] += ((mx[j] + c_ln) + lz) * p_r
            acc[6] += err2 * p_r
            acc[7] += (lz - es[j]) * p_r
            if der:
                kern = (u * u - 1.0) / (2.0 * tau_i)
                rf = rj - fj
                acc[8] += kern * err2 * p_r
                acc[9] += err * u * p_r
                acc[10] += err * (a * (rf * vj - 0.5 * k3[j])) * p_r
                acc[11] += kern * av * p_r
                acc[12] += a * (rf * k3[j] - 0.5 * (k4[j] - vj * vj)) * p_r
        for c in range(8):
            out[i, c] = acc[c]
        out[i, 6] = post_var[i] + acc[6]
        if der:
            gi = g[i]
            out[i, 8] = gi * gi + acc[8] - 2.0 * gi / sd_i * acc[9]
            out[i, 9] = -2.0 * acc[10]
            out[i, 10] = acc[11]
            out[i, 11] = acc[3] + a * acc[12]
    return out
