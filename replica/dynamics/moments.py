"""Closure moments of the quantized weights and their derivatives.

The order-parameter ODEs need ``m_ψ = E[w* ψ_w(ŵ)]``, ``C_ψ = E[ŵ ψ_w(ŵ)]`` and
``q_ψ = E[ψ_w(ŵ)²]`` as functions of ``m = E[w* ŵ]`` and ``Q = E[ŵ²]``. Without weight
quantization they are exact (``m_ψ = m``, ``C_ψ = q_ψ = Q``); otherwise they are closed by the
isotropic Gaussian assumption

    ŵ | w* ~ N(m w*/ρ, Q − m²/ρ),

which for a Gaussian teacher gives ``m_ψ = κ_ψ(Q) m``, ``C_ψ = Q κ_ψ(Q)``, ``q_ψ = γ_ψ(Q)`` with
``κ_ψ(v) = E[z ψ(√v z)]/√v`` and ``γ_ψ(v) = E[ψ(√v z)²]`` (per-cell closed forms), and the
non-centred moments otherwise. The derivatives in the mean and variance (for the Jacobian of the
ODE) follow from the jumps of the staircase at its thresholds (card, "Quantizer moments" and
"Limit dynamics").

References
----------
.. [1] Y. Ichikawa, S. Kashiwamura, A. Sakata, "High-Dimensional Learning Dynamics of Quantized
   Models with Straight-Through Estimator", arXiv:2510.10693 (2025); paper card
   ``ichikawa2025-ste-dynamics``.
"""

from __future__ import annotations

import math

import numpy as np

from .. import gauss
from ..errors import check
from ..quantizers import Quantizer
from .problem import STEProblem

__all__ = ["closure_moments", "moment_derivatives"]


def _staircase_parts(q: Quantizer, mean, var):
    """u_k, φ(u_k), √s and the jumps of ψ and ψ² at the thresholds (trailing threshold axis)."""
    mean = np.asarray(mean, dtype=float)[..., None]
    sd = np.sqrt(np.asarray(var, dtype=float))[..., None]
    u = (q.thresholds - mean) / sd
    return u, gauss.norm_pdf(u), sd, np.diff(q.levels), np.diff(q.levels**2)


def moment_derivatives(transform, mean, var) -> dict[str, np.ndarray]:
    """Non-centred moments of ``ψ(u)``, ``u ~ N(mean, var)``, and their mean/var derivatives.

    Returns a dict with ``F1 = E ψ``, ``F2 = E ψ²``, ``X = E[u ψ(u)]`` and the partial derivatives
    ``F1_mu, F1_s, F2_mu, F2_s, X_mu, X_s`` (``s`` = var > 0 required).

    Notes
    -----
    For a staircase with jumps ``Δ_k`` at thresholds ``θ_k`` and ``u_k = (θ_k − μ)/√s``:
    ``∂_μ E ψ = Σ Δ_k φ(u_k)/√s``, ``∂_s E ψ = Σ Δ_k φ(u_k) u_k/(2s)``; with the Stein term
    ``S = √s Σ Δ_k φ(u_k)`` (so ``X = μ F1 + S``): ``∂_μ S = Σ Δ_k φ(u_k) u_k``,
    ``∂_s S = Σ Δ_k φ(u_k)(1 + u_k²)/(2√s)``. Smooth transforms use Gauss–Hermite with
    ``∂_μ E f = E[z f]/√s`` and ``∂_s E f = E[(z² − 1) f]/(2s)``.
    """
    mean = np.asarray(mean, dtype=float)
    var = np.asarray(var, dtype=float)
    check(bool(np.all(var > 0)), "var", "> 0 for moment derivatives", var)
    mom = transform.gaussian_moments(mean, var)
    out = {"F1": mom.first, "F2": mom.second, "X": mom.cross}
    if isinstance(transform, Quantizer):
        if transform.n_levels == 1:
            z = np.zeros(np.broadcast_shapes(mean.shape, var.shape))
            out.update(F1_mu=z, F1_s=z, F2_mu=z, F2_s=z, X_mu=mom.first + z, X_s=z)
            return out
        u, ph, sd, d1, d2 = _staircase_parts(transform, mean, var)
        sd0, v0 = sd[..., 0], sd[..., 0] ** 2
        out["F1_mu"] = (d1 * ph).sum(-1) / sd0
        out["F1_s"] = (d1 * ph * u).sum(-1) / (2 * v0)
        out["F2_mu"] = (d2 * ph).sum(-1) / sd0
        out["F2_s"] = (d2 * ph * u).sum(-1) / (2 * v0)
        S_mu = (d1 * ph * u).sum(-1)
        S_s = (d1 * ph * (1 + u * u)).sum(-1) / (2 * sd0)
    else:
        x, w = gauss.hermite_rule(transform.order)
        mu_, sd_ = mean[..., None], np.sqrt(var)[..., None]
        f = transform(mu_ + sd_ * x)
        sd0, v0 = sd_[..., 0], sd_[..., 0] ** 2

        def d_mu(g):
            return (x * g * w).sum(-1) / sd0

        def d_s(g):
            return ((x * x - 1) * g * w).sum(-1) / (2 * v0)

        out["F1_mu"], out["F1_s"] = d_mu(f), d_s(f)
        out["F2_mu"], out["F2_s"] = d_mu(f * f), d_s(f * f)
        # X = E[u f(u)] is itself an expectation of a function of u
        u = mu_ + sd_ * x
        out["X_mu"], out["X_s"] = d_mu(u * f), d_s(u * f)
        return out
    out["X_mu"] = out["F1"] + mean * out["F1_mu"] + S_mu
    out["X_s"] = mean * out["F1_s"] + S_s
    return out


def closure_moments(problem: STEProblem, m, Q, derivatives: bool = False):
    """``(m_ψ, C_ψ, q_ψ)`` as functions of ``(m, Q)``: exact without weight quantization,
    isotropic Gaussian closure ``ŵ | w* ~ N(m w*/ρ, Q − m²/ρ)`` otherwise.

    With ``derivatives=True`` also returns the 3×2 array of partials ``∂(m_ψ, C_ψ, q_ψ)/∂(m, Q)``
    (stacked on a trailing pair of axes).

    References
    ----------
    .. [1] Ichikawa, Kashiwamura & Sakata (2025), isotropic closure (card, "Limit dynamics").
    """
    m = np.asarray(m, dtype=float)
    Q = np.asarray(Q, dtype=float)
    if not problem.weight_quantized:
        vals = (m, Q, Q)
        if not derivatives:
            return vals
        one, zero = np.ones_like(m + Q), np.zeros_like(m + Q)
        D = np.stack(
            [np.stack([one, zero], -1), np.stack([zero, one], -1), np.stack([zero, one], -1)], -2
        )
        return vals, D
    t, rho = problem.weight_quantizer, problem.rho
    if problem.teacher == "gaussian":
        # Stein: E[w* ψ(ŵ)] = (m/Q) E[ŵ ψ(ŵ)] for jointly Gaussian (w*, ŵ) with E ŵ² = Q
        if not derivatives:
            mom = t.gaussian_moments(0.0, Q)
            kap = mom.cross / Q
            return (m * kap, Q * kap, mom.second)
        d = moment_derivatives(t, 0.0, Q)
        kap = d["X"] / Q
        kap_v = d["X_s"] / Q - d["X"] / Q**2
        vals = (m * kap, Q * kap, d["F2"])
        zero = np.zeros_like(m + Q)
        D = np.stack(
            [
                np.stack([kap + zero, m * kap_v], -1),
                np.stack([zero, kap + Q * kap_v], -1),
                np.stack([zero, d["F2_s"] + zero], -1),
            ],
            -2,
        )
        return vals, D
    a = math.sqrt(rho)
    mu, s = m / a, np.maximum(Q - m * m / rho, 0.0)
    if not derivatives:
        mom = t.gaussian_moments(mu, s)
        return (a * mom.first, mom.cross, mom.second)
    d = moment_derivatives(t, mu, s)
    vals = (a * d["F1"], d["X"], d["F2"])
    # chain rule through μ = m/a, s = Q − m²/ρ
    dmu_dm, ds_dm = 1.0 / a, -2.0 * m / rho

    def row(f, scale=1.0):
        return np.stack(
            [scale * (d[f + "_mu"] * dmu_dm + d[f + "_s"] * ds_dm), scale * d[f + "_s"]], -1
        )

    D = np.stack([row("F1", a), row("X"), row("F2")], -2)
    return vals, D
