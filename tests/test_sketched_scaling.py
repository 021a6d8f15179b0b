"""Scaling-law fits, effective sizes, and Lin et al.'s exponents at ε = 0 (issue 6 checks).

Fits of exact power laws are compared to 1e-10 (float64 least squares); noisy fits to 3
standard errors of the fitted exponent (fixed seed). The exponent checks of Lin et al. compare
fitted exponents of exact (deterministic) risk curves to theory within 3 fit uncertainties, the
uncertainty combining the statistical one (residuals, sketch-to-sketch scatter) with the
pre-asymptotic drift (half the difference of the exponents on the two halves of the range).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from paper_repro.zhang2026 import exponent_fit, problem
from replica import Additive, Multiplicative
from replica.sgd.scaling import compute_optimal, effective_size, fit_power_law
from replica.sgd.sketched import (
    SketchedProblem,
    effective_samples,
    irreducible_error,
    quantized_floor,
    sketched_risk,
    sketched_sweep,
)


def test_fit_recovers_exact_power_law():
    x = np.array([2.0, 4, 8, 16, 32])
    f = fit_power_law(x, 3.0 * x**-0.7)
    assert f.exponent == pytest.approx(-0.7, abs=1e-10)
    assert f.prefactor == pytest.approx(3.0, rel=1e-10)
    assert f.exponent_se < 1e-10
    np.testing.assert_allclose(f.inverse(f(x)), x, rtol=1e-10)


def test_fit_with_offset_recovers_constant():
    x = np.geomspace(10, 1e4, 9)
    f = fit_power_law(x, 0.05 + 2.0 * x**-0.5, offset=True)
    assert f.exponent == pytest.approx(-0.5, abs=1e-6)  # nonlinear LSQ converged to 1e-15 tol
    assert f.offset == pytest.approx(0.05, rel=1e-6)


def test_noisy_fit_within_three_standard_errors(rng):
    x = np.geomspace(1, 1000, 12)
    y = 2.0 * x**-1.3 * np.exp(0.05 * rng.standard_normal((6, x.size)))  # 6 noisy curves
    f = fit_power_law(x, y)
    assert f.curves == 6
    assert abs(f.exponent + 1.3) < 3 * f.exponent_se  # 3 standard errors, fixed seed
    assert f.exponent_se < 0.02  # the error bar is informative at this noise level


def test_effective_size_inverts_reference_and_extrapolates():
    x = np.array([8.0, 16, 32, 64])
    y = 0.5 * x**-1.0
    got = effective_size([0.5 / 20, 0.5 / 4, 0.5 / 200], x, y)
    np.testing.assert_allclose(got, [20, 4, 200], rtol=1e-10)  # inside, above, below the range
    with pytest.raises(ValueError, match="y_ref"):
        effective_size([0.1], x, y[::-1])
    with pytest.raises(ValueError, match="values"):
        effective_size([-0.1], x, y)


def test_compute_optimal_split_of_separable_law():
    """R = M^{−α} + N^{−β} at C = MN is minimised at M ∝ C^{β/(α+β)}."""
    alpha, beta = 1.0, 0.5
    C = np.logspace(4, 10, 7)
    M = np.geomspace(1, 1e6, 4000)  # grid spacing 0.35%: exponent error << 1e-2
    m_star, _ = compute_optimal(lambda m, n: m**-alpha + n**-beta, C, M)
    f = fit_power_law(C, m_star)
    assert f.exponent == pytest.approx(beta / (alpha + beta), abs=1e-2)


def test_invalid_fits():
    with pytest.raises(ValueError, match="x"):
        fit_power_law([1, 2], [1, 2])
    with pytest.raises(ValueError, match="y"):
        fit_power_law([1, 2, 3], [1, -2, 3])
    with pytest.raises(ValueError, match="x"):
        fit_power_law([1, 2, 3], [1, 2, 3], offset=True)


def test_sweep_matches_pointwise_risk():
    p = SketchedProblem(exponent=2.0, dim=60, model_size=8, samples=100, step=0.1)
    sw = sketched_sweep(p, sketches=2, samples=[100, 300])
    r = sketched_risk(SketchedProblem(exponent=2.0, dim=60, model_size=8, samples=300, step=0.1), 2)
    assert sw["total"][:, 1].mean() == pytest.approx(r.total, rel=1e-12)
    assert sw["excess"].shape == (2, 2)


def test_large_n_limit_reaches_the_quantization_floor():
    """With only data quantization, geometric-decay SGD converges to the quantized target: the
    quantization part of the risk approaches the floor as N grows (gap shrinks by > 4x)."""
    for model in (Additive(eps=0.02), Multiplicative(eps=0.2)):
        gaps = []
        for N in (1000, 16000):
            p = SketchedProblem(
                exponent=2.0,
                dim=60,
                model_size=10,
                samples=N,
                step=0.1,
                noise=0.0,
                quantization={"data": model},
            )
            r = sketched_risk(p)
            floor = quantized_floor(p.sketch_spectrum(0), model)
            gaps.append(abs(r.excess - r.approximation - floor))
        assert gaps[1] < gaps[0] / 4


def test_irreducible_part_of_floor():
    p = SketchedProblem(exponent=2.0, dim=200, model_size=32, samples=10)
    spec = p.sketch_spectrum(0)
    mult = Multiplicative(eps=0.1)
    # multiplicative: uniform loss, the whole floor is irreducible (effective model size M)
    assert irreducible_error(spec, mult) == pytest.approx(quantized_floor(spec, mult), rel=1e-12)
    assert quantized_floor(spec, mult) == pytest.approx((0.1 / 1.1) ** 2 * spec.captured)
    add = Additive(eps=1e-3)
    # additive: the strongest direction loses ≈ (ε/μ₁)², the floor is a model-size deficit
    assert irreducible_error(spec, add) < 1e-3 * quantized_floor(spec, add)


@pytest.mark.slow
@pytest.mark.parametrize("a", [1.5, 2.0])
def test_lin_exponent_in_model_size(a):
    """ε = 0, N = ∞: R − σ² = E[Approx] ∝ M^{−(a−1)} (d = 8000 ≫ M ≤ 256, 4 sketches)."""
    Ms = [16, 32, 64, 128, 256]
    ys = np.array(
        [[problem(a, 8000, M, 10).sketch_spectrum(k).approximation for M in Ms] for k in range(4)]
    )
    fit, _, se, sigmas = exponent_fit(np.array(Ms, float), ys, 1.0 - a)
    assert sigmas < 3, (fit.exponent, se)
    assert se < 0.1  # an informative error bar


@pytest.mark.slow
@pytest.mark.parametrize("a", [1.5, 2.0])
def test_lin_exponent_in_effective_samples(a):
    """ε = 0, M = 500 ≫ (N_eff γ)^{1/a}: R − σ² ∝ N_eff^{−(a−1)/a} (d = 2000, N ≤ 32000)."""
    Ns = [2000, 4000, 8000, 16000, 32000]
    sw = sketched_sweep(problem(a, 2000, 500, Ns[0]), sketches=1, samples=Ns)
    x = np.array([effective_samples(N) for N in Ns], float)
    fit, _, se, sigmas = exponent_fit(x, sw["excess"], (1.0 - a) / a)
    assert sigmas < 3, (fit.exponent, se)
    assert se < 0.05
    assert math.isfinite(fit.exponent)


def test_repro_quick_writes_figures_and_tidy_data(tmp_path):
    import paper_repro
    from replica.io import load_csv

    figs = paper_repro.run("zhang2026", tmp_path, quick=True)
    assert len(figs) == 4 and all(f.stat().st_size > 1000 for f in figs)
    eff, meta = load_csv(tmp_path / "data" / "zhang2026" / "effective_model_size.csv")
    assert meta["seed"] == 2026 and meta["params"]["a"] == 2.0
    top = eff["M"] == eff["M"].max()
    mult = top & (eff["scheme"] == "multiplicative")
    add = top & (eff["scheme"] == "additive") & (eff["eps"] == 0.01)
    # multiplicative: uniform loss → M_eff = M (log–log interpolation of an exact inverse, 1e-9)
    np.testing.assert_allclose(eff["M_eff"][mult], eff["M"][mult], rtol=1e-9)
    # additive ε = 1e-2 saturates near ε^{-1/2} = 10 ≪ M = 64
    assert eff["M_eff"][add][0] < 0.5 * eff["M"][add][0]
