"""Linear stability of an AMP fixed point: the spectrum of the linearised (damped) AMP map.

The state of the scalar-variance AMP iteration (:func:`replica.amp.run`) is ``z = (ŵ, v, g)``
(estimate, posterior variances, Onsager memory). One damped iteration is the map

    T_η(z) = (η ŵ + (1 − η) f(r; A),  η v + (1 − η) v(r; A),  g'),

with ``g' = (y − Xŵ + V g)/(1/β + V)``, ``A = α/(1/β + V)``, ``r = ŵ + Xᵀg'/A`` (the same
formulas as :func:`replica.amp.run`, which the tests check step by step). At a fixed point
``g = β(y − Xŵ)``, so ``z*`` follows from ``(ŵ, v)``. The damped map contracts near ``z*`` iff
the spectral radius of its Jacobian is below 1; the Jacobian is applied matrix-free by forward
differences and its largest eigenvalues found by ARPACK (:func:`scipy.sparse.linalg.eigs`).
:func:`smallest_damping` bisects for the smallest ``η`` that makes the fixed point attracting.

This answers "which damping converges *near* the fixed point"; from the initial state a
larger damping can be needed (the basin), which :func:`replica.amp.run` with
``damping="auto"`` finds by trial.
"""

from __future__ import annotations

import math

import numpy as np

from ..channel import grid_posterior
from ..errors import check

__all__ = ["amp_map", "fixed_point_state", "smallest_damping", "spectrum"]


def amp_map(X, y, levels, beta, state, damping=0.0, ridge=0.0):
    """One damped AMP iteration ``T_η(z)`` on numpy arrays (scalar variances); ``state`` and the
    result are ``(ŵ, v, g)``."""
    w, v, g = state
    M, N = X.shape
    alpha = M / N
    V = float(np.sum(v)) / N
    omega = X @ w - V * g
    g_new = (y - omega) / (1.0 / beta + V)
    A = alpha / (1.0 / beta + V)
    r = w + (X.T @ g_new) / A
    log_prior = -0.5 * beta * ridge * levels**2 if ridge > 0 else None
    f, vv = grid_posterior(r, A, levels, log_prior)
    return (damping * w + (1.0 - damping) * f, damping * v + (1.0 - damping) * vv, g_new)


def fixed_point_state(X, y, beta, estimate, variance):
    """``z* = (ŵ, v, β(y − Xŵ))``: the Onsager memory at a fixed point of AMP."""
    w = np.asarray(estimate, dtype=float)
    return (w, np.asarray(variance, dtype=float), beta * (y - X @ w))


def spectrum(X, y, levels, beta, state, damping=0.0, ridge=0.0, k=6, tol=1e-6):
    """The ``k`` largest-magnitude eigenvalues of the Jacobian of ``T_η`` at ``state``.

    Matrix-free: ``J u ≈ (T(z + h u) − T(z))/h`` with ``h = 1e-6·(1 + ‖z‖)/‖u‖``. Returns a
    complex array sorted by decreasing modulus (when ARPACK does not converge even with a larger
    Krylov space: the eigenvalues that did, or ``[nan]``).
    """
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigs

    X = np.asarray(X, dtype=float)
    levels = np.asarray(levels, dtype=float)
    check(0.0 <= damping < 1.0, "damping", "a number in [0, 1)", damping)
    w, v, g = (np.asarray(a, dtype=float) for a in state)
    N, M = w.size, g.size
    z0 = np.concatenate([w, v, g])
    t0 = np.concatenate(amp_map(X, y, levels, beta, (w, v, g), damping, ridge))
    scale = 1e-6 * (1.0 + float(np.linalg.norm(z0)))

    def matvec(u):
        u = np.asarray(u, dtype=float).ravel()
        nu = float(np.linalg.norm(u))
        if nu == 0.0:
            return np.zeros_like(u)
        h = scale / nu
        z = z0 + h * u
        t = np.concatenate(amp_map(X, y, levels, beta, (z[:N], z[N : 2 * N], z[2 * N :]),
                                   damping, ridge))  # fmt: skip
        return (t - t0) / h

    op = LinearOperator((2 * N + M, 2 * N + M), matvec=matvec, dtype=float)
    v0 = np.random.default_rng(0).standard_normal(2 * N + M)
    try:
        vals = eigs(op, k=k, which="LM", tol=tol, return_eigenvectors=False, v0=v0)
    except ArpackNoConvergence:
        # clustered moduli (many modes near the radius): a larger Krylov space, looser tol
        try:
            vals = eigs(op, k=k, which="LM", tol=max(tol, 1e-4), ncv=max(4 * k + 1, 60),
                        maxiter=5000, return_eigenvectors=False, v0=v0)  # fmt: skip
        except ArpackNoConvergence as exc:
            vals = np.asarray(exc.eigenvalues)  # what converged; NaN when nothing did
            if vals.size == 0:
                return np.array([complex(math.nan)])
    return vals[np.argsort(-np.abs(vals))]


def smallest_damping(X, y, levels, beta, state, ridge=0.0, xtol=5e-3, k=6):
    """The smallest damping ``η`` whose linearised map has spectral radius < 1 at ``state``.

    Bisection on ``[0, 0.99]`` of ``ρ(η) − 1`` (``ρ`` from :func:`spectrum`). Returns
    ``(η, ρ(0), eigenvalues at η = 0)``; ``η = 0`` if the undamped map already contracts and
    ``nan`` if even ``η = 0.99`` does not or a spectrum could not be computed.
    """
    ev0 = spectrum(X, y, levels, beta, state, 0.0, ridge, k)
    rho0 = float(np.abs(ev0[0]))
    if rho0 < 1.0:
        return 0.0, rho0, ev0

    def radius(eta):
        return float(np.abs(spectrum(X, y, levels, beta, state, eta, ridge, k)[0]))

    lo, hi = 0.0, 0.99
    if not radius(hi) < 1.0:
        return math.nan, rho0, ev0
    while hi - lo > xtol:
        mid = 0.5 * (lo + hi)
        rad = radius(mid)
        if math.isnan(rad):
            return math.nan, rho0, ev0  # the spectrum could not be computed: no answer
        if rad < 1.0:
            hi = mid
        else:
            lo = mid
    return hi, rho0, ev0
