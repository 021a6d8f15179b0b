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

import numpy as np
from scipy import special

from ..errors import check
from ..noise import Additive
from ..results import Compact
from .sketch import (  # the sketch and its spectral set-up, below the problem
    SCHEDULES,
    SITES,
    TESTS,
    VECTOR_SITES,
    SketchSpectrum,
    _check_sketch_memory,
    _freeze_quantization,
    _is_int,
    _is_real,
    _noise_model,
    _rotation_invariant,
    approximation_error,
    effective_samples,
    irreducible_error,
    quantized_floor,
    quantized_spectrum,
    sketch,
    sketch_spectrum,
    sketched_hessian,
    sketched_quantized_hessian,
    sketched_target,
    step_schedule,
)

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
