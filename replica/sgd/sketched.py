"""Sketched linear regression (Lin et al. 2024) under quantized one-pass SGD (Zhang et al. 2026).

Data ``x ~ N(0, H)`` in ``R^d`` with ``H = diag(λ)``, ``λ_i = i^{−a}``; labels ``y = ⟨w*, x⟩ + ξ``,
``ξ ~ N(0, σ²)``; a Gaussian prior ``w* ~ N(0, diag(i^{−s}))`` (``s = 0``: the isotropic prior of
Lin et al.; ``s > 0``: a source condition). A sketch ``S ∈ R^{M×d}`` with iid ``N(0, 1/M)``
entries defines the model ``f_v(x) = ⟨v, Sx⟩``, ``v ∈ R^M``, trained by one-pass SGD from
``v₀ = 0`` on ``N`` samples with the quantizers of the SGD paper inserted with ``Sx`` as the data.

The exact computation (card "Exact computation"): with ``G = SHSᵀ = U diag(μ) Uᵀ`` the residual
``⟨w* − Sᵀv*, x⟩`` of the best sketched predictor ``v* = G^{−1} S H w*`` is Gaussian and
independent of ``Sx``, so the sketched problem is an ``M``-dimensional Gaussian regression with
covariance ``diag(μ)`` (features ``UᵀSx``), target ``Uᵀv*`` and noise variance
``σ² + Approx(S, w*)``, and ``R_M(v) = σ² + Approx + (v − v*)ᵀ G (v − v*)``. With ``C = S H Π H Sᵀ``
(``Π`` the prior covariance):

* ``E_{w*}[(Uᵀv*)_i²] = (UᵀCU)_ii / μ_i²``,
* ``E_{w*}[Approx] = tr(HΠ) − tr(G^{−1}C)`` (card: ``tr H − tr((SHSᵀ)^{−1} S H² Sᵀ)``).

Because the exact recursion for a diagonal
covariance only involves the squares of the target coordinates (and the noise variance enters
linearly), the risk averaged over the prior equals the risk of the target
``√E[(Uᵀv*)_i²]`` with noise ``σ² + E[Approx]``; this is exact, not an approximation.

Rotation and the noise models. Training in the eigenbasis is SGD on ``UᵀSx`` with ``Uᵀv``, which
is the same algorithm exactly when the quantization noise law is rotation invariant: the
additive model (``E[eeᵀ] = εI``) and the rank-one multiplicative model (``E[eeᵀ] = ε uuᵀ``) are;
the scalar sites (labels, activations, gradients) are unaffected by the rotation. The
coordinate-wise multiplicative model ``ε diag(u_i²)`` at the vector sites (data, params) is *not*
rotation invariant: in the basis of ``Sx`` it gives the quantized Hessian ``G + ε diag(G)``, which is
not diagonal in the eigenbasis, and the ``O(M)`` recursion does not apply. :func:`sketched_risk`
therefore rejects it unless ``basis="eigen"`` is passed, in which case the coordinate-wise noise
acts on the eigen-features ``UᵀSx`` (a different quantizer, stated as such); the Monte-Carlo
:func:`simulate_sketched` always quantizes in the basis of ``Sx`` and handles every model.

References
----------
L. Lin, J. Wu, S. M. Kakade, P. L. Bartlett, J. D. Lee, "Scaling Laws in Linear Regression:
Compute, Parameters, and Data", NeurIPS 2024 (sketched model, geometric step decay, Thm. 4.1).
D. Zhang, X. Tang, Y. Liang, D. Zou, "Scaling Laws for Precision in High-Dimensional Linear
Regression", arXiv:2602.19241 (quantized sketched Hessians, effective model and data sizes).
D. Zhang, J. Su, D. Zou, "Learning under Quantization for High-Dimensional Linear Regression",
arXiv:2510.18259 (quantization sites, noise models, quantized target).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from scipy import special

from ..errors import check, check_memory
from ..noise import Additive, FloatRounding, IntRounding, Multiplicative
from ..results import Compact

__all__ = [
    "SCHEDULES",
    "SITES",
    "SketchSpectrum",
    "SketchedProblem",
    "SketchedRisk",
    "SketchedSimulation",
    "approximation_error",
    "effective_samples",
    "irreducible_error",
    "quantized_floor",
    "quantized_spectrum",
    "simulate_sketched",
    "sketch",
    "sketch_spectrum",
    "sketched_hessian",
    "sketched_quantized_hessian",
    "sketched_risk",
    "sketched_sweep",
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


@dataclass(frozen=True, kw_only=True)
class SketchedProblem(Compact):
    """Quantized one-pass SGD on a Gaussian-sketched linear model (validated on construction).

    Parameters
    ----------
    exponent : float
        Spectral exponent ``a > 1``, ``λ_i = i^{−a}``.
    dim : int
        Ambient dimension ``d`` (a large finite ``d`` stands for ``d = ∞``).
    model_size : int
        Sketch size ``M`` (``1 ≤ M ≤ d``).
    samples : int
        Number of samples / SGD steps ``N ≥ 2`` (batch size 1).
    noise : float
        Label noise variance ``σ² ≥ 0``.
    step : float
        Initial step size ``γ > 0``; stability needs roughly ``γ ≲ 1/tr(H^(q))``, see
        :meth:`max_step`.
    schedule : {"geometric", "constant"}
        Geometric decay (last iterate) as in Lin et al., or constant step with iterate averaging.
    quantization : mapping
        Site (``"data"``, ``"labels"``, ``"params"``, ``"activations"``, ``"gradients"``) → noise
        model (:class:`~replica.noise.Additive`, :class:`~replica.noise.Multiplicative`, or a real
        stochastic-rounding quantizer, used through its effective noise model in the exact risk).
        The data are the sketched features ``Sx``.
    seed : int
        Seed of the sketches: sketch ``k`` uses ``default_rng([seed, k])``.
    source : float
        Prior ``w* ~ N(0, diag(i^{−source}))``; ``0`` is the isotropic prior of Lin et al.
    test : {"full", "quantized"}
        Risk on full-precision inputs (default) or on quantized inputs.
    """

    exponent: float
    dim: int
    model_size: int
    samples: int
    noise: float = 1.0
    step: float = 0.1
    schedule: str = "geometric"
    quantization: Mapping = field(default_factory=dict)
    seed: int = 0
    source: float = 0.0
    test: str = "full"

    def __post_init__(self):
        a = self.exponent
        check(_is_real(a) and math.isfinite(a) and a > 1, "exponent", "a finite number > 1", a)
        check(_is_int(self.dim) and self.dim >= 1, "dim", "an integer >= 1", self.dim)
        # λ_d = d^(−a) and the prior d^(−source) must be representable (no 0 or inf eigenvalue)
        log_d = math.log(self.dim) if self.dim > 1 else 0.0
        check(a * log_d < 690, "exponent", f"a finite number > 1 with dim^-exponent > 1e-300 "
              f"(exponent < {690 / log_d if log_d else math.inf:.4g} at dim={self.dim})", a)  # fmt: skip
        M = self.model_size
        check(_is_int(M) and 1 <= M <= self.dim, "model_size", f"an integer in [1, {self.dim}]", M)
        check(
            _is_int(self.samples) and self.samples >= 2, "samples", "an integer >= 2", self.samples
        )
        s2 = self.noise
        check(_is_real(s2) and math.isfinite(s2) and s2 >= 0, "noise", "a finite number >= 0", s2)
        g = self.step
        check(_is_real(g) and math.isfinite(g) and g > 0, "step", "a finite number > 0", g)
        check(self.schedule in SCHEDULES, "schedule", f"one of {SCHEDULES}", self.schedule)
        check(_is_int(self.seed) and self.seed >= 0, "seed", "an integer >= 0", self.seed)
        s = self.source
        check(_is_real(s) and math.isfinite(s) and abs(s) * log_d < 690, "source",
              f"a finite number with dim^-source in (1e-300, 1e300) at dim={self.dim}", s)  # fmt: skip
        check(self.test in TESTS, "test", f"one of {TESTS}", self.test)
        object.__setattr__(self, "quantization", _freeze_quantization(self.quantization))
        if self.step * self._trace_bound() >= 1.0:
            raise ValueError(
                f"step: expected < {1.0 / self._trace_bound():.4g} (1/tr of the quantized "
                f"Hessian, expected over sketches), got {self.step!r}"
            )

    # The sketch is E[SᵀS] = I, so E tr(SHSᵀ) = tr H: a sketch-independent stability scale.
    def _trace_bound(self) -> float:
        if self.dim <= 10**6:
            tr = float(np.sum(self.spectrum))
        else:  # Σ_{i≤d} i^(−a) = ζ(a) − ζ(a, d + 1) (Hurwitz): no d-sized array at construction
            a = float(self.exponent)
            tr = float(special.zeta(a, 1.0) - special.zeta(a, self.dim + 1.0))
        model = _noise_model(self.quantization.get("data"))
        if isinstance(model, Additive):
            tr = tr + self.model_size * model.eps
        elif model is not None:
            tr = (1.0 + model.eps) * tr
        return tr

    def max_step(self, safety: float = 1.0) -> float:
        """``safety / E tr(H^(q))``: the step-size scale of the stability condition
        ``γ < 1/(α tr H^(q))`` (quantized Hessian of the data site, trace averaged over
        sketches)."""
        return safety / self._trace_bound()

    @property
    def spectrum(self) -> np.ndarray:
        """``λ_i = i^{−a}``, ``i = 1 … d``."""
        return np.arange(1, self.dim + 1, dtype=float) ** (-float(self.exponent))

    @property
    def prior(self) -> np.ndarray:
        """Prior variances ``E[w*_i²] = i^{−source}``."""
        return np.arange(1, self.dim + 1, dtype=float) ** (-float(self.source))

    @property
    def effective_samples(self) -> int:
        """``N_eff`` of the schedule (``N/ln N`` geometric, ``N`` constant)."""
        return effective_samples(self.samples, self.schedule)

    def steps(self) -> np.ndarray:
        """The per-step step sizes ``γ_t``."""
        return step_schedule(self.samples, self.step, self.schedule)

    def sketch(self, k: int = 0) -> np.ndarray:
        """Sketch number ``k`` (``N(0, 1/M)`` entries, seeded by ``[seed, k]``)."""
        check(_is_int(k) and k >= 0, "k", "an integer >= 0", k)
        return sketch(self.model_size, self.dim, [self.seed, int(k)])

    def sketch_spectrum(self, k: int = 0) -> SketchSpectrum:
        """:func:`sketch_spectrum` of sketch ``k`` under the problem's prior (cached: sweeps over
        ``samples``, ``step`` or the quantizers reuse the ``O(M²d)`` diagonalisation)."""
        check(_is_int(k) and k >= 0, "k", "an integer >= 0", k)
        return _cached_spectrum(
            float(self.exponent), self.dim, self.model_size, self.seed, int(k), float(self.source)
        )


@functools.lru_cache(maxsize=256)
def _cached_spectrum(exponent, dim, model_size, seed, k, source) -> SketchSpectrum:
    _check_sketch_memory(model_size, dim)  # before the d-sized spectrum arrays, too
    i = np.arange(1, dim + 1, dtype=float)
    spec = sketch_spectrum(sketch(model_size, dim, [seed, k]), i**-exponent, i**-source)
    spec.mu.flags.writeable = False
    spec.target_sq.flags.writeable = False
    return spec


# --------------------------------------------------------------------------------------------
# exact risk


@dataclass(frozen=True, kw_only=True)
class SketchedRisk(Compact):
    """Exact expected risk ``E R_M(v_N)`` of sketched SGD and its decomposition (means over
    sketches; ``*_se`` are standard errors over the sketches, zero for one sketch).

    ``total = noise + approximation + bias + variance + quantization``:

    * ``approximation`` — ``E[Approx]``, the error of the best sketched predictor ``v*``;
    * ``bias`` — full-precision SGD started at 0 with no label noise;
    * ``variance`` — full-precision SGD started at the optimum with noise ``σ² + Approx``;
    * ``quantization`` — what the quantizers add on top (exact risk with the quantizers minus the
      full-precision exact risk: irreducible floor plus slower, noisier transient).

    ``excess = total − σ²`` is the quantity of the scaling laws.
    """

    total: float
    approximation: float
    bias: float
    variance: float
    quantization: float
    noise: float
    total_se: float
    sketches: int

    @property
    def excess(self) -> float:
        """Excess risk ``total − noise``."""
        return self.total - self.noise


def _check_exact_sites(problem: SketchedProblem, basis: str) -> None:
    check(basis in ("sketch", "eigen"), "basis", "'sketch' or 'eigen'", basis)
    if basis == "eigen":
        return
    for site in VECTOR_SITES:
        model = problem.quantization.get(site)
        if model is not None and not _rotation_invariant(_noise_model(model)):
            raise ValueError(
                f"quantization[{site!r}]: expected a rotation-invariant model for the exact "
                f"risk (Additive or rank-one Multiplicative), got {model!r}; the coordinate-wise "
                "model in the basis of Sx has the non-diagonal quantized Hessian G + eps*diag(G). "
                "Pass basis='eigen' to quantize the eigen-features instead, or use "
                "simulate_sketched"
            )


def sketched_risk(problem: SketchedProblem, sketches: int = 1, basis: str = "sketch"):
    """Exact expected risk of quantized sketched SGD, averaged over ``sketches`` sketches.

    Each sketch is diagonalised (:func:`sketch_spectrum`); the ``M``-dimensional Gaussian problem
    with spectrum ``μ``, target ``√E[(Uᵀv*)_i²]`` and noise ``σ² + E[Approx]`` is handed to the
    exact second-moment recursion :func:`replica.sgd.exact_risk` (last iterate for the geometric
    schedule, iterate average for the constant one). The decomposition uses the linearity of the
    full-precision recursion in (target², noise): ``bias`` is the run with noise switched off,
    ``variance`` the run with the target switched off, and ``quantization`` the run with the
    quantizers minus the two (three calls per sketch; two without quantizers).

    Parameters
    ----------
    problem : SketchedProblem
    sketches : int
        Number ``K`` of independent sketches (``0 … K−1``) to average.
    basis : {"sketch", "eigen"}
        Basis of coordinate-wise quantizers at the vector sites (see the module docstring).

    Returns
    -------
    SketchedRisk

    References
    ----------
    Zhang et al. (2026), card "Exact computation"; Lin et al. (2024), Thm. 4.1 (decomposition).
    """
    check(_is_int(sketches) and sketches >= 1, "sketches", "an integer >= 1", sketches)
    _check_exact_sites(problem, basis)
    rows = np.array([_one_sketch(problem, k) for k in range(sketches)])
    mean = rows.mean(axis=0)
    se = rows[:, 0].std(ddof=1) / math.sqrt(sketches) if sketches > 1 else 0.0
    total, approx, bias, var, quant = (float(v) for v in mean)
    return SketchedRisk(
        total=total,
        approximation=approx,
        bias=bias,
        variance=var,
        quantization=quant,
        noise=float(problem.noise),
        total_se=float(se),
        sketches=int(sketches),
    )


def _one_sketch(problem: SketchedProblem, k: int) -> tuple[float, ...]:
    spec = problem.sketch_spectrum(k)
    target = np.sqrt(spec.target_sq)
    noise = float(problem.noise) + spec.approximation
    bias = _exact_final(problem, spec.mu, target, 0.0, quantized=False)
    var = _exact_final(problem, spec.mu, np.zeros_like(target), noise, quantized=False)
    quant = 0.0
    if problem.quantization:
        quant = _exact_final(problem, spec.mu, target, noise, quantized=True) - bias - var
    total = float(problem.noise) + spec.approximation + bias + var + quant
    return (total, spec.approximation, bias, var, quant)


def _exact_final(problem, mu, target, noise, quantized: bool) -> float:
    from .problem import StepSizeWarning
    from .risk import exact_risk

    geometric = problem.schedule == "geometric"
    with warnings.catch_warnings():
        # the sketched problem has its own step condition (checked on construction); the SGD
        # bound's stricter γ < 1/(α_B tr H^(q)) is irrelevant to the exact risk computed here
        warnings.simplefilter("ignore", StepSizeWarning)
        sgd = _sgd_problem(problem, mu, target, noise, quantized, geometric)
    return exact_risk(sgd, test=problem.test).final


def _sgd_problem(problem, mu, target, noise, quantized, geometric):
    from .problem import SGDProblem

    return SGDProblem(
        spectrum=mu,
        w_star=target,
        noise=noise,
        batch=1,
        step=problem.steps() if geometric else float(problem.step),
        steps=problem.samples,
        averaging="last" if geometric else "iterate",
        quantization=dict(problem.quantization) if quantized else {},
    )


FIELDS = ("total", "approximation", "bias", "variance", "quantization")


def sketched_sweep(problem: SketchedProblem, sketches: int = 1, basis: str = "sketch", **grid):
    """Exact risk over a one-dimensional grid of one problem field, per sketch.

    Exactly one keyword names the swept field (e.g. ``model_size=[8, 16, 32]`` or
    ``samples=[...]``); the other fields are those of ``problem`` (rebuilt and validated with
    :func:`dataclasses.replace`). Sketch spectra are cached, so sweeps over ``samples``, ``step``
    or the quantizers diagonalise each sketch once.

    Returns
    -------
    dict
        ``{field: ndarray (sketches, n)}`` for ``total``, ``approximation``, ``bias``,
        ``variance`` and ``quantization``, plus ``"excess"`` (``total − σ²``) and the grid itself
        under its name.
    """
    check(len(grid) == 1, "grid", "exactly one swept field", sorted(grid))
    ((name, values),) = grid.items()
    check(_is_int(sketches) and sketches >= 1, "sketches", "an integer >= 1", sketches)
    values = list(values)
    check(len(values) >= 1, name, "a non-empty sequence", values)
    rows = np.empty((len(FIELDS), sketches, len(values)))
    for j, value in enumerate(values):
        p = dataclasses.replace(problem, **{name: value})
        _check_exact_sites(p, basis)
        for k in range(sketches):
            rows[:, k, j] = _one_sketch(p, k)
    out = {f: rows[i] for i, f in enumerate(FIELDS)}
    noises = [dataclasses.replace(problem, **{name: v}).noise for v in values]
    out["excess"] = out["total"] - np.asarray(noises, dtype=float)
    out[name] = np.asarray(values)
    return out


# --------------------------------------------------------------------------------------------
# Monte Carlo


@dataclass(frozen=True, kw_only=True)
class SketchedSimulation(Compact):
    """Monte-Carlo estimate of ``E R_M(v_N) − σ²`` for one sketch (prior, data and quantizer
    noise averaged over ``repeats`` independent runs)."""

    mean: float
    stderr: float
    repeats: int
    sketch: int


def _apply(model, u, rng):
    return u if model is None else model.quantize(u, rng)


def simulate_sketched(
    problem: SketchedProblem, repeats: int, seed: int, sketch: int = 0, chunk: int = 2048
) -> SketchedSimulation:
    """Monte-Carlo quantized sketched SGD in the original ``d``-dimensional space.

    Each run draws ``w* ~ N(0, Π)``, fresh samples ``x ~ N(0, H)``, ``y = ⟨w*, x⟩ + ξ``, and runs
    ``v ← v + γ_t Q_d(z) Q_o(Q_l(y) − Q_a(⟨Q_d(z), Q_p(v)⟩))`` with ``z = Sx`` (vector quantizers
    act in the basis of ``Sx``); the output (last iterate for the geometric schedule, iterate
    average ``(1/N) Σ_{t<N} v_t`` for the constant one) is scored by the exact conditional excess
    ``(w* − Sᵀv)ᵀ H (w* − Sᵀv) = Approx + (v − v*)ᵀG(v − v*)`` (``test="full"``), plus
    ``E‖e_d‖²``-type input-noise terms ``E[(Q_d(z) − z)ᵀv]²`` for ``test="quantized"``.
    Vectorised over runs; ``O(N·d·M)`` per run, for small sizes.

    References
    ----------
    Zhang, Su & Zou (2025), card "Quantized update" (five sites); Lin et al. (2024), Sec. 2.
    """
    check(_is_int(repeats) and repeats >= 2, "repeats", "an integer >= 2", repeats)
    check(_is_int(chunk) and chunk >= 1, "chunk", "an integer >= 1", chunk)
    rng = np.random.default_rng(seed)
    S = problem.sketch(sketch)
    lam = problem.spectrum
    sqrt_lam = np.sqrt(lam)
    sqrt_pi = np.sqrt(problem.prior)
    sigma = math.sqrt(problem.noise)
    gammas = problem.steps()
    q = problem.quantization
    qd, ql, qp, qa, qo = (q.get(s) for s in SITES)
    average = problem.schedule == "constant"
    out = []
    done = 0
    while done < repeats:
        r = min(chunk, repeats - done)
        w = sqrt_pi * rng.standard_normal((r, problem.dim))
        v = np.zeros((r, problem.model_size))
        acc = np.zeros_like(v)
        for g in gammas:
            if average:
                acc += v
            x = sqrt_lam * rng.standard_normal((r, problem.dim))
            y = np.einsum("rj,rj->r", x, w) + sigma * rng.standard_normal(r)
            z = _apply(qd, x @ S.T, rng)
            pre = np.einsum("rm,rm->r", z, _apply(qp, v, rng))
            pre = _apply(qa, pre[:, None], rng)[:, 0]
            lab = _apply(ql, y[:, None], rng)[:, 0]
            res = _apply(qo, (lab - pre)[:, None], rng)[:, 0]
            v = v + g * res[:, None] * z
        if average:
            v = acc / len(gammas)
        e = w - v @ S
        risk = np.einsum("rj,rj->r", e * lam, e)
        if problem.test == "quantized" and qd is not None:
            risk = risk + _input_noise(_noise_model(qd), v, S, lam)
        out.append(risk)
        done += r
    risk = np.concatenate(out)
    return SketchedSimulation(
        mean=float(risk.mean()),
        stderr=float(risk.std(ddof=1) / math.sqrt(repeats)),
        repeats=int(repeats),
        sketch=int(sketch),
    )


def _input_noise(model, v, S, lam):
    """``E[(eᵀv)² | v]`` for the data-quantization error ``e`` of ``z = Sx``, ``x ~ N(0, H)``."""
    if isinstance(model, Additive):
        return model.eps * np.einsum("rm,rm->r", v, v)
    G = (S * lam) @ S.T
    if model.mode == "rank_one":
        return model.eps * np.einsum("rm,mn,rn->r", v, G, v)
    return model.eps * np.einsum("rm,m,rm->r", v, np.diag(G), v)
