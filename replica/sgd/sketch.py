"""The sketch of the sketched-regression model and everything fixed by it: the sketch ``S`` and
its memory check, the sketched Hessian ``G = SHSᵀ`` and target, the approximation error, the
spectrum ``μ`` of ``G`` with the target's energy per eigen-direction (averaged over the prior),
the quantized spectra and the quantization floors, and the step schedules (Lin et al. 2024,
Thm. 4.1; Zhang et al. 2026). :mod:`replica.sgd.sketched` builds the problem, the exact risk,
the sweeps and the Monte Carlo on top of it (see its docstring for the reduction to an
``M``-dimensional Gaussian regression in the eigenbasis of ``G``).

References
----------
L. Lin, J. Wu, S. M. Kakade, P. L. Bartlett, J. D. Lee, "Scaling Laws in Linear Regression:
Compute, Parameters, and Data", NeurIPS 2024 (sketched model, geometric step decay, Thm. 4.1).
D. Zhang, X. Tang, Y. Liang, D. Zou, "Scaling Laws for Precision in High-Dimensional Linear
Regression", arXiv:2602.19241 (quantized sketched Hessians, effective model and data sizes).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from ..errors import check, check_memory
from ..noise import Additive, FloatRounding, IntRounding, Multiplicative
from ..results import Compact

__all__ = [
    "SCHEDULES",
    "SITES",
    "SketchSpectrum",
    "approximation_error",
    "effective_samples",
    "irreducible_error",
    "quantized_floor",
    "quantized_spectrum",
    "sketch",
    "sketch_spectrum",
    "sketched_hessian",
    "sketched_quantized_hessian",
    "sketched_target",
    "step_schedule",
]

SITES = ("data", "labels", "params", "activations", "gradients")
SCHEDULES = ("geometric", "constant")
TESTS = ("full", "quantized")
VECTOR_SITES = ("data", "params")
_MODELS = (Additive, Multiplicative, IntRounding, FloatRounding)


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _is_real(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _rotation_invariant(model) -> bool:
    """Whether the conditional second moment of the model commutes with rotations of ``u``."""
    if isinstance(model, Additive):
        return True
    if isinstance(model, Multiplicative):
        return model.mode == "rank_one"
    return False  # real rounding quantizers act coordinate-wise


# --------------------------------------------------------------------------------------------
# schedules


def effective_samples(samples: int, schedule: str = "geometric") -> int:
    """Effective number of samples: ``N_eff = ⌊N/ln N⌋`` (geometric decay), ``N`` (constant).

    References
    ----------
    Lin et al. (2024), Sec. 2: ``N_eff := N/log N``, the length of one constant-step block.
    """
    check(_is_int(samples) and samples >= 2, "samples", "an integer >= 2", samples)
    check(schedule in SCHEDULES, "schedule", f"one of {SCHEDULES}", schedule)
    if schedule == "constant":
        return int(samples)
    return max(1, int(samples / math.log(samples)))


def step_schedule(samples: int, step: float, schedule: str = "geometric") -> np.ndarray:
    """Per-step step sizes ``γ_t``, ``t = 0 … N−1``.

    ``"geometric"``: ``γ_t = γ / 2^ℓ`` on the ``ℓ``-th block of ``N_eff = ⌊N/ln N⌋`` steps (the
    last block may be shorter); ``"constant"``: ``γ_t = γ``.

    References
    ----------
    Lin et al. (2024), Eq. (4): geometrically decaying step size.
    """
    check(_is_real(step) and math.isfinite(step) and step > 0, "step", "a finite number > 0", step)
    n_eff = effective_samples(samples, schedule)
    t = np.arange(samples)
    if schedule == "constant":
        return np.full(samples, float(step))
    return float(step) * np.exp2(-(t // n_eff).astype(float))


# --------------------------------------------------------------------------------------------
# sketch and its spectral quantities


def _check_sketch_memory(model_size: int, dim: int) -> None:
    # the sketch and the two scaled copies and Gram matrices of sketch_spectrum
    check_memory(8.0 * (3 * model_size * dim + 3 * model_size * model_size),
                 "dim, model_size", f"a {model_size} x {dim} sketch")  # fmt: skip


def sketch(model_size: int, dim: int, seed) -> np.ndarray:
    """Gaussian sketch ``S ∈ R^{M×d}`` with iid ``N(0, 1/M)`` entries from ``default_rng(seed)``."""
    check(_is_int(model_size) and model_size >= 1, "model_size", "an integer >= 1", model_size)
    check(_is_int(dim) and dim >= 1, "dim", "an integer >= 1", dim)
    _check_sketch_memory(model_size, dim)
    rng = np.random.default_rng(seed)
    return rng.standard_normal((model_size, dim)) / math.sqrt(model_size)


def _spectrum_args(S, spectrum):
    S = np.asarray(S, dtype=float)
    lam = np.asarray(spectrum, dtype=float)
    check(S.ndim == 2, "S", "a 2-D array (M, d)", S.shape)
    check(lam.ndim == 1 and lam.size == S.shape[1], "spectrum", f"shape ({S.shape[1]},)", lam.shape)
    check(bool(np.all(np.isfinite(lam)) and np.all(lam > 0)), "spectrum", "positive numbers", lam)
    check(bool(np.all(np.isfinite(S))), "S", "finite entries", "non-finite entries")
    return S, lam


def sketched_hessian(S, spectrum) -> np.ndarray:
    """``G = S H Sᵀ`` for ``H = diag(spectrum)``."""
    S, lam = _spectrum_args(S, spectrum)
    return (S * lam) @ S.T


def sketched_target(S, spectrum, w_star) -> np.ndarray:
    """Best sketched predictor ``v* = (SHSᵀ)^{−1} S H w*`` (population least squares in ``Sx``).

    References
    ----------
    Lin et al. (2024), Sec. 2; Zhang et al. (2026), card "Exact computation".
    """
    S, lam = _spectrum_args(S, spectrum)
    w = np.asarray(w_star, dtype=float)
    check(w.shape == lam.shape, "w_star", f"shape {lam.shape}", w.shape)
    G = (S * lam) @ S.T
    return np.linalg.solve(G, S @ (lam * w))


def approximation_error(S, spectrum, w_star=None, prior=None) -> float:
    """Approximation error ``min_v E(⟨w*, x⟩ − ⟨v, Sx⟩)²`` of the sketched model.

    For a given ``w*``: ``‖(I − P) H^{1/2} w*‖²`` with ``P`` the projection on the row space of
    ``S H^{1/2}``. Otherwise the prior average with prior variances ``prior`` (default: ones),
    ``E_{w*}[Approx] = tr(HΠ) − tr((SHSᵀ)^{−1} S H Π H Sᵀ)``, computed as the non-negative sum
    ``Σ_j λ_j π_j (1 − ‖P e_j‖²)``.

    References
    ----------
    Zhang et al. (2026), card "Exact computation": ``E_w*[Approx] = tr H − tr((SHSᵀ)^{−1}SH²Sᵀ)``;
    Lin et al. (2024), Sec. 2.
    """
    S, lam = _spectrum_args(S, spectrum)
    check(S.shape[0] <= S.shape[1], "S", "at most as many rows as columns (M <= d)", S.shape)
    q, _ = np.linalg.qr((S * np.sqrt(lam)).T)  # orthonormal basis of the row space, (d, M)
    if w_star is not None:
        check(prior is None, "prior", "None when w_star is given", prior)
        w = np.asarray(w_star, dtype=float)
        check(w.shape == lam.shape, "w_star", f"shape {lam.shape}", w.shape)
        r = np.sqrt(lam) * w
        r = r - q @ (q.T @ r)
        return float(r @ r)
    pi = np.ones_like(lam) if prior is None else np.asarray(prior, dtype=float)
    check(pi.shape == lam.shape and bool(np.all(pi >= 0)), "prior", f"shape {lam.shape}, >= 0", pi)
    kept = np.einsum("ji,ji->j", q, q)
    return float(np.sum(lam * pi * np.clip(1.0 - kept, 0.0, None)))


@dataclass(frozen=True, kw_only=True)
class SketchSpectrum(Compact):
    """The sketched problem in the eigenbasis of ``G = SHSᵀ`` (descending ``μ``).

    Attributes
    ----------
    mu : ndarray, shape (M,)
        Eigenvalues of ``SHSᵀ``, descending.
    target_sq : ndarray, shape (M,)
        Prior average of the squared target coordinates ``E[(Uᵀv*)_i²]``.
    approximation : float
        Prior average of the approximation error ``E[Approx]``.
    signal : float
        ``E‖w*‖²_H = tr(HΠ)`` (the total signal, ``= approximation + Σ μ_i target_sq_i``).
    """

    mu: np.ndarray
    target_sq: np.ndarray
    approximation: float
    signal: float

    @property
    def captured(self) -> float:
        """``E‖v*‖²_G = Σ μ_i E[(Uᵀv*)_i²]``, the signal the sketched model can represent."""
        return float(np.sum(self.mu * self.target_sq))


def sketch_spectrum(S, spectrum, prior=None) -> SketchSpectrum:
    """Diagonalise ``SHSᵀ`` and express target and approximation error in its eigenbasis.

    With ``G = SHSᵀ = U diag(μ) Uᵀ`` and ``C = S H Π H Sᵀ``: ``E[(Uᵀv*)_i²] = (UᵀCU)_ii/μ_i²``
    and ``E[Approx] = tr(HΠ) − tr(G^{−1}C) = tr(HΠ) − Σ_i μ_i E[(Uᵀv*)_i²]``; cost ``O(M²d)``
    (two Gram matrices) plus one ``M×M`` eigendecomposition.

    References
    ----------
    Zhang et al. (2026), card "Exact computation"; Lin et al. (2024), Sec. 2.
    """
    S, lam = _spectrum_args(S, spectrum)
    check(S.shape[0] <= S.shape[1], "S", "at most as many rows as columns (M <= d)", S.shape)
    pi = np.ones_like(lam) if prior is None else np.asarray(prior, dtype=float)
    check(pi.shape == lam.shape and bool(np.all(pi >= 0)), "prior", f"shape {lam.shape}, >= 0", pi)
    # Gram matrices by syrk (A Aᵀ): G = SHSᵀ and C = S H Π H Sᵀ, O(M²d); then one M×M eigh.
    a = S * np.sqrt(lam)
    b = S * (lam * np.sqrt(pi))
    mu, u = np.linalg.eigh(a @ a.T)
    mu, u = mu[::-1], u[:, ::-1]
    check(bool(mu[-1] > 0), "S", "a sketch of full row rank", "a rank-deficient sketch")
    c_diag = np.einsum("mi,mn,ni->i", u, b @ b.T, u)  # diag(Uᵀ C U) ≥ 0
    target_sq = np.clip(c_diag, 0.0, None) / (mu * mu)
    h = lam * pi
    # E[Approx] = tr(HΠ) − Σ_i (UᵀCU)_ii/μ_i, each captured term ≤ its share of tr(HΠ); the
    # difference is non-negative up to rounding (relative 1e-13), clipped at zero.
    approx = max(float(h.sum() - np.sum(target_sq * mu)), 0.0)
    return SketchSpectrum(mu=mu, target_sq=target_sq, approximation=approx, signal=float(h.sum()))


def sketched_quantized_hessian(G, model) -> np.ndarray:
    """Quantized sketched Hessian ``E[Q_d(z)Q_d(z)ᵀ]`` for ``z ~ N(0, G)`` (basis of ``Sx``).

    Additive ``G + εI``; multiplicative rank-one ``(1 + ε)G``; multiplicative coordinate-wise
    ``G + ε diag(G)`` (not a function of the spectrum of ``G`` alone); real rounding quantizers via
    their effective noise model. ``None`` means full precision.

    References
    ----------
    Zhang et al. (2026), card "Setting": additive ``SHSᵀ + ε_d I``, multiplicative
    ``(1 + ε_d) SHSᵀ``.
    """
    G = np.asarray(G, dtype=float)
    check(G.ndim == 2 and G.shape[0] == G.shape[1], "G", "a square matrix", G.shape)
    model = _noise_model(model)
    if model is None:
        return G.copy()
    if isinstance(model, Additive):
        return G + model.eps * np.eye(G.shape[0])
    if model.mode == "rank_one":
        return (1.0 + model.eps) * G
    return G + model.eps * np.diag(np.diag(G))


def quantized_spectrum(mu, model) -> np.ndarray:
    """Eigenvalues of the quantized sketched Hessian for a rotation-invariant data model.

    Additive ``μ + ε`` (spectral floor), rank-one multiplicative ``(1 + ε)μ`` (shape kept).
    """
    mu = np.asarray(mu, dtype=float)
    model = _noise_model(model)
    if model is None:
        return mu.copy()
    check(
        _rotation_invariant(model),
        "model",
        "a rotation-invariant model (Additive or rank-one Multiplicative)",
        model,
    )
    if isinstance(model, Additive):
        return mu + model.eps
    return (1.0 + model.eps) * mu


def quantized_floor(spec: SketchSpectrum, model, test: str = "full") -> float:
    """Irreducible error added by data quantization: risk of the quantized target minus the
    risk of ``v*`` (prior average), the ``N → ∞`` limit of the quantization part of the risk when
    only the data are quantized.

    The quantized target is ``v^(q) = (G^(q))^{−1} G v*``. Per eigen-direction the fraction of
    the captured signal ``μ_i E[(Uᵀv*)_i²]`` that is lost is, for ``test="full"``
    (risk on full-precision inputs), ``(1 − μ_i/μ_i^(q))²``, and for ``test="quantized"``
    (risk on quantized inputs minus the full-precision optimum) ``1 − μ_i/μ_i^(q)``: additive
    ``ε/(μ_i + ε)`` (lost where ``μ_i ≲ ε``: the model is effectively smaller), rank-one
    multiplicative ``ε/(1 + ε)`` in every direction (an ``M``-independent fraction).

    References
    ----------
    Zhang, Su & Zou (2025), card "Objects of the theory" (quantized target and approximation
    error); Zhang et al. (2026), card "Expected quantized laws".
    """
    check(test in TESTS, "test", f"one of {TESTS}", test)
    mu_q = quantized_spectrum(spec.mu, model)
    lost = 1.0 - spec.mu / mu_q
    if test == "full":
        lost = lost * lost
    return float(np.sum(lost * spec.mu * spec.target_sq))


def irreducible_error(spec: SketchSpectrum, model, test: str = "full") -> float:
    """The part of :func:`quantized_floor` lost uniformly in every eigen-direction:
    ``min_i f_i · Σ_i μ_i E[(Uᵀv*)_i²]`` with ``f_i`` the lost fraction of direction ``i``.

    This is the error a quantized model keeps even where the model is exact (its strongest
    direction). The rest of the floor, ``Σ_i (f_i − min f) μ_i E[(Uᵀv*)_i²]``, is concentrated on
    the weak directions and acts as a smaller model: rank-one multiplicative quantization has
    ``f_i = ε/(1+ε)`` (or its square) in every direction, so all of its floor is irreducible and
    the effective model size is ``M``; additive quantization has ``f_i = ε/(μ_i + ε)`` (or its
    square), ``≈ 0`` on the strong and ``≈ 1`` on the weak directions, so almost all of its floor
    is a model-size deficit (directions with ``μ_i ≲ ε`` are lost).

    References
    ----------
    Zhang et al. (2026), card claims 1-3 and "Expected quantized laws".
    """
    check(test in TESTS, "test", f"one of {TESTS}", test)
    lost = 1.0 - spec.mu / quantized_spectrum(spec.mu, model)
    if test == "full":
        lost = lost * lost
    return float(np.min(lost) * spec.captured)


# --------------------------------------------------------------------------------------------
# problem


def _noise_model(model):
    if model is None:
        return None
    if isinstance(model, (IntRounding, FloatRounding)):
        return model.noise_model()
    check(isinstance(model, _MODELS), "quantization", "noise models from replica.noise", model)
    return model


def _freeze_quantization(q) -> Mapping:
    check(isinstance(q, Mapping), "quantization", f"a mapping from {SITES}", q)
    out = {}
    for site, model in q.items():
        check(site in SITES, "quantization", f"keys in {SITES}", site)
        if model is None:
            continue
        check(
            isinstance(model, _MODELS),
            f"quantization[{site!r}]",
            "Additive, Multiplicative, IntRounding or FloatRounding",
            model,
        )
        out[site] = model
    return MappingProxyType(dict(sorted(out.items())))
