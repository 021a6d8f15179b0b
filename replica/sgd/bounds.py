"""Upper bounds of the paper, the quantized Hessian and the spectral-distortion experiment.

:func:`bounds` evaluates the excess-risk bound of Zhang, Su & Zou (2025): the bound of Zou et al.
(2021, Thm. 2.1) for iterate-averaged SGD applied to the *effective* problem
``(H → H^(q), w* → w^(q)*, σ² → σ_G², α → α_B)``, plus the approximation error::

    excess ≤ 2 BiasErr + 2 VarErr + ApproxErr                       (test="quantized")

    k*      = max{k : λ_k^(q) ≥ 1/(Nγ)},
    BiasErr = ‖e^{−NγH^(q)} η₀‖²_{(H^(q)_{0:k*})⁻¹}/(γ²N²) + ‖η₀‖²_{H^(q)_{k*:∞}},   η₀ = w₀ − w^(q)*,
    VarErr  = [σ_G² + 2α_B(‖η₀‖²_{I_{0:k*}}/(Nγ) + ‖η₀‖²_{H^(q)_{k*:∞}})] / (1 − γα_B tr H^(q))
              · (k*/N + Nγ² Σ_{i>k*} (λ_i^(q))²).

The constants are computed from the exact moments of the quantized update (not the paper's
``≲``): writing the stochastic gradient at ``w = w^(q)* + η`` as ``g = −Ĝη + ζ``,
``σ_G² = λ_max((H^(q))^{−½} E[ζζᵀ] (H^(q))^{−½})`` exactly and ``α_B`` bounds
``E[ĜAĜᵀ] ≼ α_B tr(H^(q)A) H^(q)`` term by term (``1 + 2/B`` at full precision). For
``test="full"`` the bound is ``(√(c·(2 BiasErr + 2 VarErr)) + ‖w^(q)* − w*‖_H)²`` with
``c = max_i λ_i/λ_i^(q)`` (Minkowski). The bound requires ``γ < 1/(α_B tr H^(q))`` and a constant
step; it is reported as ``inf`` otherwise.

References
----------
D. Zhang, J. Su, D. Zou, arXiv:2510.18259 (2025), main theorem (VarErr, BiasErr, ApproxErr,
σ_G², α_B, H^(q), w^(q)*); D. Zou, J. Wu, V. Braverman, Q. Gu, S. Kakade, COLT 2021, Thm. 2.1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import check
from ..noise import Additive, FloatRounding, IntRounding, Multiplicative
from ..results import Compact
from .problem import SGDProblem
from .risk import TESTS, _dense_variance

__all__ = ["Bounds", "SpectralDistortion", "bounds", "quantized_hessian", "spectral_distortion"]


@dataclass(frozen=True, kw_only=True)
class Bounds(Compact):
    """The bound's terms, each a separate number (arrays when evaluated at several ``N``).

    Attributes
    ----------
    steps : ndarray of int
        The ``N`` at which the terms are evaluated.
    var_err, bias_err : ndarray
        ``VarErr`` and ``BiasErr`` (before the factor 2 of the theorem).
    approx_err : float
        ``‖w*‖²_H − w*ᵀH(H^(q))⁻¹Hw*``.
    sigma_g2, alpha_b : float
        Effective noise ``σ_G²`` and fourth-moment constant ``α_B``.
    k_star : ndarray of int
        Effective dimension at each ``N``.
    hessian_q, w_q_star : ndarray
        ``diag H^(q)`` and ``w^(q)*``.
    total : ndarray
        The bound on the excess risk in the chosen convention ``test``.
    valid : bool
        Whether ``γ < 1/(α_B tr H^(q))`` (otherwise ``total`` is ``inf``).
    """

    steps: np.ndarray
    var_err: np.ndarray
    bias_err: np.ndarray
    approx_err: float
    sigma_g2: float
    alpha_b: float
    k_star: np.ndarray
    hessian_q: np.ndarray
    w_q_star: np.ndarray
    total: np.ndarray
    test: str
    valid: bool


def effective_noise(problem: SGDProblem) -> float:
    """``σ_G² = λ_max((H^(q))^{−½} Var(g | w^(q)*) (H^(q))^{−½})`` from the exact gradient
    covariance at the quantized optimum (O(d³); ``σ²/B`` at full precision)."""
    wq = problem.w_q_star
    V = _dense_variance(problem, wq, np.outer(wq, wq))
    s = 1.0 / np.sqrt(problem.hessian_q)
    return float(np.linalg.eigvalsh(s[:, None] * V * s[None, :])[-1])


def bounds(problem: SGDProblem, *, steps=None, test: str = "quantized") -> Bounds:
    """Evaluate the bound terms at ``N = problem.steps`` (or at each of ``steps``).

    Parameters
    ----------
    problem : SGDProblem
        Must use a constant step and ``averaging="iterate"`` (the theorem's setting).
    steps : array_like of int, optional
        Numbers of steps ``N`` at which to evaluate (default ``[problem.steps]``).
    test : {"quantized", "full"}
        Risk convention of ``total`` (see :func:`~replica.sgd.exact_risk`).

    Returns
    -------
    Bounds

    References
    ----------
    Zhang, Su & Zou (2025), main theorem; Zou et al. (2021), Thm. 2.1.
    """
    check(isinstance(problem, SGDProblem), "problem", "an SGDProblem", problem)
    check(
        np.ndim(problem.step) == 0,
        "problem.step",
        "a constant step (bound's setting)",
        "a schedule",
    )
    check(problem.averaging == "iterate", "problem.averaging", "'iterate'", problem.averaging)
    check(test in TESTS, "test", f"one of {TESTS}", test)
    n = np.atleast_1d(np.asarray(problem.steps if steps is None else steps))
    check(
        np.issubdtype(n.dtype, np.integer) and np.all(n >= 1),
        "steps",
        "integers >= 1",
        steps,
    )
    n = n.astype(float)
    h, hq, ws = problem.spectrum, problem.hessian_q, problem.w_star
    order = np.argsort(-hq, kind="stable")
    lam = hq[order]
    wq = problem.w_q_star
    eta = (problem.w0 - wq)[order]
    g = float(problem.step)
    alpha = problem.alpha_b
    s2 = effective_noise(problem)
    tr = float(np.sum(hq))
    approx = max(float(np.sum(h * ws * ws) - np.sum(h * h * ws * ws / hq)), 0.0)
    valid = g * alpha * tr < 1.0
    # k*(N) = #{i : λ_i ≥ 1/(Nγ)} with λ sorted decreasingly
    k = np.searchsorted(-lam, -1.0 / (n * g), side="right")
    head = np.arange(lam.size)[None, :] < k[:, None]  # (len(n), d)
    decay = np.exp(-np.outer(n * g, lam))
    tail_h = np.sum(np.where(head, 0.0, lam * eta**2), axis=1)  # ‖η₀‖²_{H_{k*:∞}}
    bias = np.sum(np.where(head, (decay * eta) ** 2 / lam, 0.0), axis=1) / (g * n) ** 2 + tail_h
    eff_dim = k / n + n * g * g * np.sum(np.where(head, 0.0, lam**2), axis=1)
    bias_noise = 2 * alpha * (np.sum(np.where(head, eta**2, 0.0), axis=1) / (n * g) + tail_h)
    if valid:
        var = (s2 + bias_noise) / (1.0 - g * alpha * tr) * eff_dim
        excess_q = 2 * bias + 2 * var
        if test == "quantized":
            total = excess_q + approx
        else:
            c = float(np.max(h / hq))
            shift = math.sqrt(float(np.sum(h * (wq - ws) ** 2)))
            total = (np.sqrt(c * excess_q) + shift) ** 2
    else:
        var = np.full(n.size, np.inf)
        total = np.full(n.size, np.inf)
    return Bounds(
        steps=n.astype(int),
        var_err=var,
        bias_err=bias,
        approx_err=approx,
        sigma_g2=s2,
        alpha_b=alpha,
        k_star=k.astype(int),
        hessian_q=hq.copy(),
        w_q_star=wq.copy(),
        total=total,
        test=test,
        valid=bool(valid),
    )


# ---------------------------------------------------------------------------- spectral distortion
_DATA_TYPES = (Additive, Multiplicative, IntRounding, FloatRounding)


def quantized_hessian(spectrum, data=None) -> np.ndarray:
    """Theoretical ``diag H^(q) = E[Q_d(x)Q_d(x)ᵀ]`` for ``x ~ N(0, diag(spectrum))``.

    Additive: ``λ + ε`` (a spectral floor); multiplicative: ``(1 + ε)λ`` (shape preserved).
    Real rounding quantizers use their :meth:`~replica.noise.IntRounding.noise_model`.

    Examples
    --------
    >>> quantized_hessian([1.0, 0.01], Additive(eps=0.1)).tolist()
    [1.1, 0.11]
    """
    lam = np.asarray(spectrum, dtype=float)
    check(lam.ndim == 1 and np.all(lam > 0), "spectrum", "a 1-d array of numbers > 0", spectrum)
    check(data is None or isinstance(data, _DATA_TYPES), "data", "a noise model or None", data)
    if data is None:
        return lam.copy()
    model = data.noise_model() if isinstance(data, (IntRounding, FloatRounding)) else data
    if isinstance(model, Additive):
        return lam + model.eps
    return (1.0 + model.eps) * lam


@dataclass(frozen=True, kw_only=True)
class SpectralDistortion(Compact):
    """Eigenvalues (decreasing) of the empirical quantized covariance and of its theory."""

    empirical: np.ndarray
    theory: np.ndarray
    full_precision: np.ndarray
    samples: int
    seed: int


def spectral_distortion(
    spectrum, data, *, samples: int, seed: int, chunk: int = 4096
) -> SpectralDistortion:
    """Empirical eigenvalues of ``(1/n) Σ Q_d(x)Q_d(x)ᵀ`` vs :func:`quantized_hessian`.

    Parameters
    ----------
    spectrum : array_like
        ``λ_i`` of ``H``.
    data : noise model or real rounding quantizer
        The data quantizer ``Q_d`` (applied to each sample vector).
    samples : int
        Number ``n`` of samples (the empirical eigenvalues fluctuate by ``O(√(d/n))``).
    seed : int

    Returns
    -------
    SpectralDistortion
    """
    lam = np.asarray(spectrum, dtype=float)
    theory = quantized_hessian(lam, data)
    check(
        isinstance(samples, (int, np.integer)) and samples >= 2,
        "samples",
        "an integer >= 2",
        samples,
    )
    rng = np.random.default_rng(seed)
    d = lam.size
    cov = np.zeros((d, d))
    done = 0
    while done < samples:
        m = min(chunk, samples - done)
        x = rng.standard_normal((m, d)) * np.sqrt(lam)
        xq = data.quantize(x, rng)
        cov += xq.T @ xq
        done += m
    ev = np.linalg.eigvalsh(cov / samples)[::-1]
    return SpectralDistortion(
        empirical=ev,
        theory=np.sort(theory)[::-1],
        full_precision=np.sort(lam)[::-1],
        samples=int(samples),
        seed=int(seed),
    )
