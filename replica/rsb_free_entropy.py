"""The one-step RSB (1RSB) free entropy of weight-quantized regression and its terms.

The functional of the card (paper card ``kashiwamura2024-quantized-regression``, section
"1RSB (beyond the paper)"; derived symbolically in :mod:`replica.symbolic.rsb`):

    −βf₁ = −(α/2)(1 − 1/x) ln a − (α/2x) ln b − αβE₀/(2b)
           + Q̂Q/2 − q̂₁(Q − q₁)/2 − x(q̂₁q₁ − q̂₀q₀)/2 − m̂m + φ₁(Q̂, m̂, q̂₀, q̂₁, x),

with ``a = 1 + β(Q − q₁) = 1 + χ₁``, ``b = a + xβ(q₁ − q₀)``, ``E₀ = ρ − 2m + q₀ + σ²`` and the
nested single-site (entropic) term ``φ₁ = E_{w⁰,z₀} (1/x) ln E_{z₁}[Z(h)^x]``,
``h = m̂w⁰ + √q̂₀ z₀ + √(q̂₁−q̂₀) z₁``, ``Z(h) = Σ_k exp(h c_k − (Q̂ + βλ)c_k²/2)`` (the card's
energy, conjugate and entropy terms; it reduces to the RS free entropy at ``q₁ = q₀``).

- :func:`rsb_energetic`: the energetic stationarity equations, closed form,
  ``m̂ = αβ/b``, ``Q̂ = αβ/a``, ``q̂₀ = αβ²E₀/b²``, ``q̂₁ = q̂₀ + (αβ/x)(1/a − 1/b)``
  (hand-written and tested against the sympy derivation).
- :func:`rsb_entropic`: the entropic ones, the nested Gaussian averages
  ``Q = E⟨w²⟩``, ``q₁ = E[⟨w⟩²]``, ``q₀ = E[⟨⟨w⟩⟩²]``, ``m = E[w⁰⟨⟨w⟩⟩]`` (the ``z₁`` average
  tilted by ``Z^x``), with ``φ₁``, ``∂φ₁/∂x`` and the entropic factors of the two replicons;
  Gauss–Legendre rules in sinh-mapped variables clustered at the level switches.
- :func:`rsb_free_entropy`: ``−βf₁`` itself; ``_x_derivative`` its partial derivative in ``x``
  (the equation ``∂(−βf₁)/∂x = 0`` that fixes the equilibrium Parisi parameter) and ``_energy``
  its explicit β derivative ``e = ∂(βf₁)/∂β``.

The solvers built on it are in :mod:`replica.rsb`.

References
----------
S. Kashiwamura, A. Sakata, M. Imaizumi, arXiv:2401.17269 (2024), card "1RSB (beyond the paper)";
M. Mézard, G. Parisi, M. A. Virasoro, *Spin Glass Theory and Beyond* (1987).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import gauss
from .channel import clustered_rule, legendre01, transitions
from .regression import QuantizedRegression

__all__ = [
    "RSBEntropic",
    "rsb_energetic",
    "rsb_entropic",
    "rsb_free_entropy",
]


def rsb_energetic(model: QuantizedRegression, m, q0, q1, Q, x):
    """Energetic stationarity equations: ``(m̂, q̂₀, q̂₁, Q̂)`` from ``(m, q₀, q₁, Q, x)``.

    ``m̂ = αβ/b``, ``Q̂ = αβ/a``, ``q̂₀ = αβ²E₀/b²``, ``q̂₁ = q̂₀ + (αβ/x)(1/a − 1/b)``.

    References
    ----------
    Card "1RSB (beyond the paper)"; derived in
    :func:`replica.symbolic.rsb.rsb_derivation` (``energetic_solution_ab``).
    """
    al, be = model.alpha, model.beta
    a = 1.0 + be * (Q - q1)
    b = a + x * be * (q1 - q0)
    E0 = model.rho - 2.0 * m + q0 + model.noise
    q_hat0 = al * be * be * E0 / (b * b)
    return al * be / b, q_hat0, q_hat0 + al * be / x * (1.0 / a - 1.0 / b), al * be / a


def _energetic_terms(model, m, q0, q1, Q, x):
    """Energetic part of ``−βf₁`` and its partial derivative in ``x``."""
    al, be = model.alpha, model.beta
    a = 1.0 + be * (Q - q1)
    b = a + x * be * (q1 - q0)
    E0 = model.rho - 2.0 * m + q0 + model.noise
    la, lb = math.log(a), math.log(b)
    G = -0.5 * al * ((1.0 - 1.0 / x) * la + lb / x + be * E0 / b)
    db = be * (q1 - q0)
    dG = -0.5 * al * ((la - lb) / x**2 + db / (x * b) - be * E0 * db / b**2)
    return G, dG


class RSBEntropic(NamedTuple):
    """Nested single-site averages at ``(Q̂, m̂, q̂₀, q̂₁, x)``.

    ``Q = E⟨w²⟩``, ``q1 = E[⟨w⟩²]``, ``q0 = E[(⟨⟨w⟩⟩)²]``, ``m = E[w⁰⟨⟨w⟩⟩]`` where ``⟨·⟩`` is the
    single-state Gibbs average and the outer average over ``z₁`` is tilted by ``Z^x``; ``phi1`` is
    ``φ₁`` and ``dphi1_dx`` its partial derivative in ``x``. ``v2 = E[⟨(w − ⟨w⟩)²⟩²]`` (tilted, the
    entropic factor of the intra-state replicon) and ``spread2 = E_{z₀}[(Var_{z₁}⟨w⟩)²]`` (the
    squared variance of the state means under the tilted ``z₁`` measure, inter-state replicon).
    """

    m: float
    q0: float
    q1: float
    Q: float
    phi1: float
    dphi1_dx: float
    v2: float = 0.0
    spread2: float = 0.0


def _batched_rule(points, scales, half_width, n):
    """Per-row quadrature on ``[−L, L]`` clustered at ``points`` (rows sorted): each interval
    between neighbouring points is split at its midpoint and each half integrated by
    Gauss–Legendre in ``s`` with ``z = point ± scale·sinh(s)`` (as
    :func:`replica.channel.clustered_rule`, batched over rows). Returns ``(nodes, weights)`` of
    shape ``(B, 2·P·n)``; clipped, coincident points give zero-weight nodes."""
    L = half_width[:, None]
    pts = np.clip(points, -L, L)
    edges = np.concatenate([-L, 0.5 * (pts[:, 1:] + pts[:, :-1]), L], axis=1)
    length = np.stack([edges[:, :-1] - pts, edges[:, 1:] - pts], axis=-1)  # (B, P, 2)
    alen = np.abs(length)
    scale = np.minimum(scales[..., None], np.where(alen > 0, alen, 1.0))
    s_max = np.arcsinh(alen / scale)
    x, w = legendre01(n)
    s = s_max[..., None] * x
    nodes = pts[..., None, None] + (np.sign(length) * scale)[..., None] * np.sinh(s)
    weights = w * (s_max * scale)[..., None] * np.cosh(s)
    B = points.shape[0]
    return nodes.reshape(B, -1), weights.reshape(B, -1)


def rsb_entropic(model: QuantizedRegression, Q_hat, m_hat, q_hat0, q_hat1, x, n=(48, 24)):
    """Nested Gaussian averages of the 1RSB single-site problem.

    The outer average over ``h₀ = m̂w⁰ + √q̂₀ z₀`` is taken per teacher mixture component
    (``E[w⁰ | h₀]`` is linear in ``h₀``) and the inner one over ``z₁``; ``Z^x`` is handled in
    the log domain (log-sum-exp). Both integrands switch between levels on the logistic width
    ``1/Δc`` in ``h`` at ``h_k = (Q̂ + βλ)(c_k + c_{k+1})/2``, which is sharp against the
    Gaussian scales at large β, so Gauss–Hermite is not used: both rules are Gauss–Legendre
    in sinh-mapped variables clustered at the switches and at the (tilted) Gaussian centres
    (:func:`replica.channel.clustered_rule` for the outer one, a batched version inside).

    Parameters
    ----------
    n : (int, int)
        Gauss–Legendre nodes per half-interval of the outer and inner rules. The defaults agree
        with twice as many nodes to ~1e-12 at the points of ``tests/test_rsb.py`` (β = 5) and
        reproduce the RS channel averages of :mod:`replica.channel` to ~1e-12 at ``q̂₁ = q̂₀``.

    References
    ----------
    Card "1RSB (beyond the paper)", entropic term.
    """
    levels = model.quantizer.levels
    A = Q_hat
    ridge = model.beta * model.ridge
    # logits of level k at field h: h c_k + bias_k (the Q̂ and ridge terms do not depend on h)
    bias = -0.5 * (A + ridge) * levels**2
    r_k, widths = transitions(levels, A, ridge)
    h_k, w_h = A * r_k, A * widths  # switches and their widths in h = A r
    s1 = math.sqrt(max(q_hat1 - q_hat0, 0.0))
    cmax = float(np.max(np.abs(levels)))
    out = np.zeros(8)
    for pi, mu, s in zip(*model.teacher.mixture()):
        tau = m_hat * m_hat * s + q_hat0
        c, sd = m_hat * mu, math.sqrt(tau)
        reach = 13.0 * sd + s1 * (x * cmax + 13.0)
        h0, wo = clustered_rule(
            np.concatenate([h_k, [c]]), np.concatenate([w_h, [sd]]), c - reach, c + reach, n[0]
        )
        wo = wo * gauss.norm_pdf((h0 - c) / sd) / sd
        if s1 == 0.0:
            lz, f, v = _site(h0, levels, bias, h_k)
            T1, T2, TQ, L, Lz, V2 = f, f * f, f * f + v, x * lz, lz, v * v
        else:
            # inner rule in z1: switches at (h_k − h0)/s1 (width w_h/s1); the Gaussian tilted by
            # Z^x ~ e^{x c_k s1 z1} in cell k peaks between x c_1 s1 and x c_K s1
            sw = (h_k[None, :] - h0[:, None]) / s1
            centres = np.broadcast_to(x * s1 * np.array([levels[0], 0.0, levels[-1]]), (h0.size, 3))
            pts = np.concatenate([sw, centres], axis=1)
            scl = np.concatenate(
                [np.broadcast_to(w_h / s1, sw.shape), np.ones(centres.shape)], axis=1
            )
            idx = np.argsort(pts, axis=1)
            pts = np.take_along_axis(pts, idx, axis=1)
            scl = np.take_along_axis(scl, idx, axis=1)
            z1, wi = _batched_rule(pts, scl, np.full(h0.size, 13.0 + x * cmax * s1), n[1])
            lz, f, v = _site(h0[:, None] + s1 * z1, levels, bias, h_k)
            with np.errstate(divide="ignore"):  # zero-weight (clipped) nodes: log 0 = −inf
                logits = np.log(wi) - 0.5 * z1 * z1 - 0.5 * math.log(2.0 * math.pi) + x * lz
            top = logits.max(axis=1)
            W = np.exp(logits - top[:, None])
            norm = W.sum(axis=1)
            L = top + np.log(norm)  # ln E_{z1} Z^x
            W /= norm[:, None]  # tilted weights over z1
            T1 = np.einsum("ij,ij->i", W, f)
            T2 = np.einsum("ij,ij->i", W, f * f)
            TQ = T2 + np.einsum("ij,ij->i", W, v)
            Lz = np.einsum("ij,ij->i", W, lz)
            V2 = np.einsum("ij,ij->i", W, v * v)
        ew0 = mu + (m_hat * s / tau) * (h0 - c)  # E[w0 | h0]
        spread = np.maximum(T2 - T1 * T1, 0.0)  # variance of the state means over z1
        out += pi * np.array(
            [
                wo @ (ew0 * T1),
                wo @ (T1 * T1),
                wo @ T2,
                wo @ TQ,
                wo @ L / x,
                wo @ (Lz - L / x) / x,
                wo @ V2,
                wo @ (spread * spread),
            ]
        )
    return RSBEntropic(*(float(v) for v in out))


def _site(h, levels, bias, switches):
    """``ln Z``, mean and variance of the single-state measure ``∝ exp(h c_k + bias_k)`` on the
    grid, in one pass over the logits (one exp per node and level).

    The logits are concave in the level (``bias_k = −(Q̂ + βλ)c_k²/2``), so the largest one
    is that of the level whose cell ``switches`` (the ``h_k``) contains ``h``: the log-sum-exp
    shift costs a ``searchsorted`` instead of a reduction over the level axis. The variance is
    ``E c² − f²``; its rounding error (~1e-16 c²) is that of ``Q`` and ``q₁`` themselves."""
    j = np.searchsorted(switches, h)
    mx = h * levels[j] + bias[j]
    logits = h[..., None] * levels + bias
    logits -= mx[..., None]
    p = np.exp(logits, out=logits)
    z = p.sum(axis=-1)
    f = (p @ levels) / z
    v = np.maximum((p @ (levels * levels)) / z - f * f, 0.0)
    return mx + np.log(z), f, v


def rsb_free_entropy(model, m, q0, q1, Q, m_hat, q_hat0, q_hat1, Q_hat, x, phi1):
    """``−βf₁`` of the card at the given order parameters, conjugates and ``φ₁``.

    References
    ----------
    Card "1RSB (beyond the paper)".
    """
    G, _ = _energetic_terms(model, m, q0, q1, Q, x)
    conj = 0.5 * Q_hat * Q - 0.5 * q_hat1 * (Q - q1) - 0.5 * x * (q_hat1 * q1 - q_hat0 * q0)
    return G + conj - m_hat * m + phi1


def _x_derivative(model, u, hats, ent, x):
    _, dG = _energetic_terms(model, *u, x)
    _, q_hat0, q_hat1, _ = hats
    return dG - 0.5 * (q_hat1 * u[2] - q_hat0 * u[1]) + ent.dphi1_dx


def _energy(model, x, m, q0, q1, Q):
    """``e = −∂(−βf₁)/∂β`` at fixed order parameters and conjugates (the saddle point makes
    the total derivative the explicit one): the energetic term through ``a``, ``b`` and
    ``βE₀/b``, the ridge prior ``−βλw²/2`` of the single-site measure through ``−λQ/2``."""
    al, be = model.alpha, model.beta
    d1 = Q - q1
    d2 = d1 + x * (q1 - q0)
    a, b = 1.0 + be * d1, 1.0 + be * d2
    E0 = model.rho - 2.0 * m + q0 + model.noise
    thermal = (1.0 - 1.0 / x) * d1 / a + d2 / (x * b)
    return 0.5 * al * (thermal + E0 / b - be * E0 * d2 / b**2) + 0.5 * model.ridge * Q


def _train_error(model, x, m, q0, q1, Q):
    """Training error ``E(y − x·ŵ)²`` per sample of the estimator the model names.

    Derived in :func:`replica.symbolic.rsb.training_error_derivation`: the residuals of ``n``
    replicas have the Parisi covariance ``C`` and the sample's Boltzmann factor tilts it to
    ``K = C(I + βC)⁻¹``, whose diagonal (a Gibbs sample) is ``E₀/b² + (Q − q₁)/a +
    (q₁ − q₀)/(ab)`` and whose pair average (the Gibbs mean: same state with weight ``1 − x``,
    different states ``x``) is ``E₀/b² + (1 − x)(q₁ − q₀)/(ab)``, ``a = 1 + β(Q − q₁)``,
    ``b = a + xβ(q₁ − q₀)``. Both reduce to :class:`~replica.RSSolution`'s at ``q₁ = q₀`` and
    at ``x = 1``; the sample's is ``(2/α)(e − λQ/2)`` with ``e`` of :func:`_energy`."""
    be = model.beta
    a = 1.0 + be * (Q - q1)
    b = a + x * be * (q1 - q0)
    E0 = model.rho - 2.0 * m + q0 + model.noise
    spread = (q1 - q0) / (a * b)  # variance of the tilted state means' residuals
    if model.estimator == "sample":
        return E0 / b**2 + (Q - q1) / a + spread
    return E0 / b**2 + (1.0 - x) * spread
