"""Every Gaussian expectation used by :mod:`replica`, in one place.

Three kinds of integrals appear in the theories of this package:

* expectations of *piecewise-constant* functions (the quantizer staircase) of a Gaussian
  variable, which are exact finite sums of normal tail probabilities (:func:`staircase_mean`,
  :func:`staircase_stein`);
* expectations of *smooth* functions, by Gauss–Hermite quadrature of configurable order
  (:func:`hermite_rule`, :func:`expect`);
* a high-precision :mod:`mpmath` reference (:func:`mp_expect`), used by the tests to check the
  two fast paths independently.

All fast paths broadcast over ``mean`` and ``var``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np
from scipy import special

__all__ = [
    "expect",
    "hermite_rule",
    "mp_expect",
    "norm_cdf",
    "norm_pdf",
    "norm_sf",
    "staircase_mean",
    "staircase_stein",
]

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def norm_pdf(u):
    """Standard normal density φ(u)."""
    u = np.asarray(u, dtype=float)
    with np.errstate(over="ignore"):  # u² overflows only where φ(u) underflows to 0 anyway
        return _INV_SQRT_2PI * np.exp(-0.5 * u * u)


def norm_cdf(u):
    """Standard normal distribution function Φ(u), accurate in the lower tail."""
    return special.ndtr(u)


def norm_sf(u):
    """Standard normal survival function 1 − Φ(u), accurate in the upper tail."""
    return special.ndtr(-np.asarray(u, dtype=float))


def _standardized(thresholds, mean, var):
    """Thresholds standardised by N(mean, var), with the degenerate var = 0 case resolved.

    Returns ``(u, sd, above)`` with trailing axis over thresholds: ``u = (t − mean)/sd`` and
    ``above = mean >= t`` (the mean lies on or above the threshold; at var = 0 a point exactly
    on a threshold belongs to the upper cell, matching :meth:`Quantizer.__call__`).
    """
    t = np.asarray(thresholds, dtype=float)
    mean = np.asarray(mean, dtype=float)[..., None]
    var = np.asarray(var, dtype=float)[..., None]
    sd = np.sqrt(var)
    above = mean >= t
    with np.errstate(divide="ignore", invalid="ignore"):
        u = (t - mean) / sd
    u = np.where(sd > 0, u, np.where(above, -np.inf, np.inf))
    return u, sd, above


def staircase_mean(values, thresholds, mean, var):
    """E[g(z)] for a staircase g and z ~ N(mean, var), exactly.

    ``g`` equals ``values[k]`` on the k-th cell ``[thresholds[k-1], thresholds[k])``. The sum is
    anchored at the cell that contains the mean, so each term is a small tail probability
    computed directly (no cancellation between probabilities close to 1).

    Parameters
    ----------
    values : (K,) array_like
        Value of g on each of the K cells.
    thresholds : (K-1,) array_like
        Increasing cell boundaries.
    mean, var : array_like
        Broadcastable Gaussian parameters, ``var >= 0``.
    """
    values = np.asarray(values, dtype=float)
    if values.shape[0] == 1:
        return np.broadcast_to(values[0], np.broadcast_shapes(np.shape(mean), np.shape(var))) + 0.0
    u, _, above = _standardized(thresholds, mean, var)
    jumps = np.diff(values)
    # Anchor at the cell j containing the mean: g_j + Σ_{k≥j} Δ_k P(z ≥ t_k) − Σ_{k<j} Δ_k P(z < t_k)
    terms = np.where(above, -jumps * norm_cdf(u), jumps * norm_sf(u))
    anchor = values[np.sum(above, axis=-1)]
    return anchor + terms.sum(axis=-1)


def staircase_stein(values, thresholds, mean, var):
    """E[(z − mean) g(z)] for a staircase g and z ~ N(mean, var), exactly.

    By Gaussian integration by parts this is ``var · E[g'(z)] = sd Σ_k Δg_k φ(u_k)``, the jumps of
    ``g`` weighted by the density at each threshold.
    """
    values = np.asarray(values, dtype=float)
    if values.shape[0] == 1:
        return np.zeros(np.broadcast_shapes(np.shape(mean), np.shape(var)))
    u, sd, _ = _standardized(thresholds, mean, var)
    return (sd * np.diff(values) * norm_pdf(u)).sum(axis=-1)


@lru_cache(maxsize=32)
def _hermite(order: int):
    x, w = np.polynomial.hermite_e.hermegauss(order)
    w = w / w.sum()
    x.setflags(write=False)
    w.setflags(write=False)
    return x, w


def hermite_rule(order: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights with ``Σ w f(x) ≈ E f(z)`` for z ~ N(0, 1) (probabilists' Hermite).

    Exact for polynomials of degree ``< 2·order``; read-only arrays, cached.
    """
    if not (isinstance(order, (int, np.integer)) and order >= 1):
        raise ValueError(f"order: expected an integer >= 1, got {order!r}")
    return _hermite(int(order))


def expect(f: Callable, mean=0.0, var=1.0, order: int = 64):
    """E[f(z)] for z ~ N(mean, var) by Gauss–Hermite quadrature of the given order.

    ``f`` must be vectorised; it receives an array with a trailing node axis. Use for smooth
    integrands only (staircases have the exact :func:`staircase_mean`).
    """
    x, w = hermite_rule(order)
    mean = np.asarray(mean, dtype=float)[..., None]
    sd = np.sqrt(np.asarray(var, dtype=float))[..., None]
    return (f(mean + sd * x) * w).sum(axis=-1)


def mp_expect(
    f: Callable, mean: float, var: float, breakpoints: Sequence[float] = (), dps: int = 30
):
    """High-precision reference E[f(z)], z ~ N(mean, var), by adaptive mpmath quadrature.

    The integration range is split at ``breakpoints`` (e.g. quantizer thresholds) so that
    piecewise integrands are integrated exactly on each smooth piece. ``f`` receives an
    ``mpmath.mpf`` and must return one. Slow; meant for tests.
    """
    import mpmath

    with mpmath.workdps(dps):
        mu = mpmath.mpf(mean)
        sd = mpmath.sqrt(mpmath.mpf(var))
        # integrate in the standardised variable u = (z − mean)/sd, split at the (standardised)
        # breakpoints and at a few fixed points so the Gaussian bulk is always resolved
        cuts = {mpmath.mpf(c) for c in (-8, -4, -2, 0, 2, 4, 8)}
        if sd > 0:
            cuts |= {(mpmath.mpf(b) - mu) / sd for b in breakpoints}
        pts = [-mpmath.inf, *sorted(cuts), mpmath.inf]

        def integrand(u):
            return f(mu + sd * u) * mpmath.npdf(u)

        return mpmath.quad(integrand, pts)
