"""Sketched linear regression: identities of the exact reduction, Monte Carlo, error paths.

Identities are checked to 1e-9 relative (float64 rounding of O(M²d) sums, well above 1e-16·d
accumulation and far below any modelling error). Monte-Carlo comparisons use fixed seeds and
3 standard errors of the Monte-Carlo mean (the issue's criterion; a correct implementation fails
with probability ~0.3% per comparison, a few-percent modelling error is detected at these sizes).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from replica import Additive, IntRounding, Multiplicative
from replica.sgd import SGDProblem, exact_risk
from replica.sgd.sketched import (
    SketchedProblem,
    approximation_error,
    effective_samples,
    quantized_floor,
    quantized_spectrum,
    simulate_sketched,
    sketch,
    sketch_spectrum,
    sketched_hessian,
    sketched_quantized_hessian,
    sketched_risk,
    sketched_target,
    step_schedule,
)

REL = 1e-9  # float64 rounding of O(M²d) sums


def _small(M=6, d=40, a=2.0, seed=3):
    lam = np.arange(1, d + 1, dtype=float) ** -a
    return sketch(M, d, seed), lam


def test_sketch_entries_have_variance_one_over_m():
    S = sketch(50, 400, 7)
    np.testing.assert_array_equal(S, sketch(50, 400, 7))  # reproducible from the seed
    x = S.ravel() ** 2 * 50  # unit-variance chi-square(1) draws: mean 1, sd √2
    se = math.sqrt(2.0 / x.size)
    assert abs(x.mean() - 1.0) < 5 * se  # 5 standard errors, fixed seed
    assert abs(S.mean()) < 5 / math.sqrt(50 * x.size)


def test_approximation_error_three_ways():
    S, lam = _small()
    G = sketched_hessian(S, lam)
    direct = lam.sum() - np.trace(np.linalg.solve(G, (S * lam**2) @ S.T))  # card formula
    assert approximation_error(S, lam) == pytest.approx(direct, rel=REL)
    assert sketch_spectrum(S, lam).approximation == pytest.approx(direct, rel=REL)
    # prior average = sum over the basis targets e_j (Approx is a quadratic form in w*)
    basis = sum(approximation_error(S, lam, w_star=e) for e in np.eye(lam.size))
    assert basis == pytest.approx(direct, rel=REL)


def test_approximation_error_for_given_target_is_residual_risk():
    S, lam = _small()
    w = np.random.default_rng(0).standard_normal(lam.size)
    v = sketched_target(S, lam, w)
    e = w - S.T @ v
    assert approximation_error(S, lam, w_star=w) == pytest.approx(e @ (lam * e), rel=REL)
    # v* is the least-squares optimum: the residual is orthogonal to the features Sx
    np.testing.assert_allclose(S @ (lam * e), 0.0, atol=1e-12)


def test_sketch_spectrum_target_moments_in_eigenbasis():
    S, lam = _small()
    prior = np.arange(1, lam.size + 1, dtype=float) ** -0.5
    spec = sketch_spectrum(S, lam, prior)
    G = sketched_hessian(S, lam)
    mu, U = np.linalg.eigh(G)
    np.testing.assert_allclose(spec.mu, mu[::-1], rtol=REL)
    V = np.array([sketched_target(S, lam, e) for e in np.eye(lam.size)])  # v*(e_j)
    second = (V.T * prior) @ V  # E[v* v*ᵀ] = Σ_j π_j v*(e_j) v*(e_j)ᵀ
    np.testing.assert_allclose(spec.target_sq, np.diag(U.T @ second @ U)[::-1], rtol=1e-7)
    assert spec.signal == pytest.approx(float(lam @ prior), rel=REL)
    assert spec.approximation + spec.captured == pytest.approx(spec.signal, rel=REL)


def test_step_schedules():
    N = 1000
    n_eff = effective_samples(N)
    assert n_eff == int(N / math.log(N)) == 144
    g = step_schedule(N, 0.2)
    assert g[0] == g[n_eff - 1] == 0.2 and g[n_eff] == 0.1 and g[-1] == 0.2 / 2 ** (999 // 144)
    np.testing.assert_array_equal(step_schedule(N, 0.2, "constant"), 0.2)
    assert effective_samples(N, "constant") == N


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (Additive(eps=0.1), lambda G, mu: mu + 0.1),
        (Multiplicative(eps=0.1), lambda G, mu: 1.1 * mu),
    ],
)
def test_quantized_sketched_hessian_spectrum(model, expected):
    S, lam = _small()
    G = sketched_hessian(S, lam)
    mu = np.linalg.eigvalsh(G)
    got = np.linalg.eigvalsh(sketched_quantized_hessian(G, model))
    np.testing.assert_allclose(got, expected(G, mu), rtol=REL)
    np.testing.assert_allclose(quantized_spectrum(mu, model), expected(G, mu), rtol=REL)


def test_coordinate_multiplicative_is_not_rotation_invariant():
    S, lam = _small()
    G = sketched_hessian(S, lam)
    model = Multiplicative(eps=0.1, mode="coordinate")
    Gq = sketched_quantized_hessian(G, model)
    np.testing.assert_allclose(Gq, G + 0.1 * np.diag(np.diag(G)), rtol=REL)
    mu = np.linalg.eigvalsh(G)
    # not (1 + ε)G: the eigenvalues are not a function of μ alone
    assert np.max(np.abs(np.linalg.eigvalsh(Gq) - 1.1 * mu)) > 1e-4
    with pytest.raises(ValueError, match="rotation-invariant"):
        quantized_spectrum(mu, model)
    p = SketchedProblem(
        exponent=2.0, dim=40, model_size=6, samples=50, quantization={"data": model}
    )
    with pytest.raises(ValueError, match="rotation-invariant"):
        sketched_risk(p)
    # in the eigenbasis the model is a different (diagonal) quantizer: allowed on request
    assert sketched_risk(p, basis="eigen").quantization > 0


@pytest.mark.parametrize("model", [Additive(eps=0.05), Multiplicative(eps=0.2)])
@pytest.mark.parametrize("test", ["full", "quantized"])
def test_quantized_floor_matches_quantized_target(model, test):
    S, lam = _small()
    G = sketched_hessian(S, lam)
    Gq = sketched_quantized_hessian(G, model)
    floor = 0.0
    for e in np.eye(lam.size):  # prior average as a sum over the basis targets
        v = sketched_target(S, lam, e)
        vq = np.linalg.solve(Gq, G @ v)  # fixed point of the mean quantized update
        if test == "full":
            floor += (vq - v) @ G @ (vq - v)
        else:  # E(y − Q(z)ᵀv_q)² − E(y − zᵀv*)²
            floor += (vq - v) @ G @ (vq - v) + vq @ (Gq - G) @ vq
    got = quantized_floor(sketch_spectrum(S, lam), model, test)
    assert got == pytest.approx(floor, rel=1e-7)


def _problem(**kw):
    base = dict(exponent=2.0, dim=40, model_size=6, samples=120, noise=0.5, step=0.1, seed=2)
    base.update(kw)
    return SketchedProblem(**base)


def test_decomposition_adds_up_and_full_precision_has_no_quantization():
    p = _problem()
    r = sketched_risk(p, sketches=2)
    assert r.quantization == 0.0 and r.sketches == 2
    assert r.total == pytest.approx(
        r.noise + r.approximation + r.bias + r.variance + r.quantization, rel=1e-12
    )
    # linearity: bias (noise off) + variance (target off) = one full-precision run
    spec = p.sketch_spectrum(0)
    one = exact_risk(
        SGDProblem(
            spectrum=spec.mu,
            w_star=np.sqrt(spec.target_sq),
            noise=p.noise + spec.approximation,
            step=p.steps(),
            averaging="last",
        )
    ).final
    r0 = sketched_risk(p)
    assert r0.bias + r0.variance == pytest.approx(one, rel=1e-10)
    # ε = 0 quantizers change nothing
    z = sketched_risk(_problem(quantization={"data": Additive(eps=0.0), "labels": Additive(eps=0)}))
    assert z.total == pytest.approx(r0.total, rel=1e-12)
    assert abs(z.quantization) < 1e-12


def test_prior_average_equals_average_over_basis_targets():
    """The prior-averaged risk is the risk of the target √E[(Uᵀv*)²] with noise σ² + E[Approx]:
    check against the sum of exact runs over the basis targets w* = √π_j e_j."""
    p = _problem(source=0.7, quantization={"data": Multiplicative(eps=0.1)})
    S, lam, prior = p.sketch(0), p.spectrum, p.prior
    G = sketched_hessian(S, lam)
    _, U = np.linalg.eigh(G)
    mu = np.linalg.eigvalsh(G)
    total = 0.0
    for j in range(p.dim):
        w = np.sqrt(prior[j]) * np.eye(p.dim)[j]
        u = U.T @ sketched_target(S, lam, w)
        approx = approximation_error(S, lam, w_star=w)
        sgd = SGDProblem(
            spectrum=mu,
            w_star=u,
            noise=approx,  # σ² enters once below, not once per basis target
            step=p.steps(),
            averaging="last",
            quantization=dict(p.quantization),
        )
        total += approx + exact_risk(sgd).final
    noise_only = SGDProblem(
        spectrum=mu,
        w_star=0.0,
        noise=p.noise,
        step=p.steps(),
        averaging="last",
        quantization=dict(p.quantization),
    )
    total += exact_risk(noise_only).final
    assert sketched_risk(p).excess == pytest.approx(total, rel=1e-9)


MC_CASES = [
    dict(),
    dict(schedule="constant"),
    dict(quantization={"data": Additive(eps=0.05)}),
    dict(quantization={"data": Multiplicative(eps=0.2)}, test="quantized"),
    dict(
        quantization={
            "params": Additive(eps=0.01),
            "labels": Multiplicative(eps=0.1),
            "activations": Additive(eps=0.02),
            "gradients": Multiplicative(eps=0.1, mode="coordinate"),
        }
    ),
    dict(quantization={"data": IntRounding(bits=4, scale=1.0)}),
]


@pytest.mark.parametrize("case", range(len(MC_CASES)))
def test_exact_risk_matches_monte_carlo(case):
    """Monte Carlo in the original d-dimensional space (w* ~ prior, x ~ N(0, H), z = Sx,
    quantizers in the basis of Sx) against the exact reduced recursion."""
    p = _problem(dim=30, model_size=5, samples=80, step=0.12, **MC_CASES[case])
    exact = sketched_risk(p).excess
    mc = simulate_sketched(p, repeats=3000, seed=100 + case)
    assert abs(mc.mean - exact) < 3 * mc.stderr, (exact, mc)  # 3 Monte-Carlo standard errors


def test_monte_carlo_sees_the_sketch_training_part():
    """Guard that the MC comparison is sensitive to training: the SGD part of the excess risk
    (bias + variance) is many standard errors wide at the MC sizes above."""
    p = _problem(dim=30, model_size=5, samples=80, step=0.12)
    r = sketched_risk(p)
    mc = simulate_sketched(p, repeats=3000, seed=7)
    assert r.bias + r.variance > 10 * mc.stderr


def test_coordinate_data_quantizer_in_sketch_basis_differs_from_eigen_model():
    """Coordinate-wise relative errors on Sx (the physical float-like quantizer, simulated) are
    not the diagonal model of the eigen-features (basis="eigen", exact): at ε = 0.3 the two
    risks differ by many Monte-Carlo standard errors, which is why the exact path refuses the
    coordinate model in the sketch basis."""
    kw = dict(dim=30, model_size=5, samples=80, step=0.12)
    p = _problem(quantization={"data": Multiplicative(eps=0.3, mode="coordinate")}, **kw)
    with pytest.raises(ValueError, match="rotation-invariant"):
        sketched_risk(p)
    eigen = sketched_risk(p, basis="eigen").excess
    mc = simulate_sketched(p, repeats=8000, seed=9)
    # measured gap ≈ 0.036 ≈ 8 standard errors at this size; 4 SE leaves margin for the seed
    assert abs(mc.mean - eigen) > 4 * mc.stderr, (eigen, mc)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        (dict(exponent=1.0), "exponent"),
        (dict(exponent=float("nan")), "exponent"),
        (dict(dim=0), "dim"),
        (dict(model_size=41), "model_size"),
        (dict(model_size=2.0), "model_size"),
        (dict(samples=1), "samples"),
        (dict(noise=-1.0), "noise"),
        (dict(step=0.0), "step"),
        (dict(step=5.0), "step"),
        (dict(schedule="cosine"), "schedule"),
        (dict(quantization={"weights": Additive(eps=0.1)}), "quantization"),
        (dict(quantization={"data": 0.1}), "quantization"),
        (dict(seed=-1), "seed"),
        (dict(source=float("inf")), "source"),
        (dict(test="train"), "test"),
        (dict(quantization={"data": Additive(eps=2.0)}, step=0.1), "step"),
    ],
)
def test_invalid_problems(kw, match):
    with pytest.raises(ValueError, match=match):
        _problem(**kw)


def test_invalid_calls():
    S, lam = _small()
    with pytest.raises(ValueError, match="sketches"):
        sketched_risk(_problem(), sketches=0)
    with pytest.raises(ValueError, match="basis"):
        sketched_risk(_problem(), basis="other")
    with pytest.raises(ValueError, match="spectrum"):
        sketch_spectrum(S, -lam)
    with pytest.raises(ValueError, match="w_star"):
        approximation_error(S, lam, w_star=np.ones(3))
    with pytest.raises(ValueError, match="S"):
        approximation_error(S.T, lam[:6])
    with pytest.raises(ValueError, match="repeats"):
        simulate_sketched(_problem(), repeats=1, seed=0)


def test_sketched_risk_does_not_warn_about_the_sgd_bound_condition():
    # fuzz: every sketched_risk with a step between 1/(α_B tr) and the problem's own limit
    # 1/tr emitted StepSizeWarning from an internal SGDProblem (irrelevant to the exact risk)
    import warnings

    base = SketchedProblem(exponent=1.5, dim=20, model_size=8, samples=30, step=1e-3)
    p = SketchedProblem(exponent=1.5, dim=20, model_size=8, samples=30,
                        step=0.9 * base.max_step())  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = sketched_risk(p)
    assert math.isfinite(r.total) and r.total >= r.noise
