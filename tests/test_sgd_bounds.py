"""Bounds, effective constants, quantized Hessian and spectral distortion."""

from __future__ import annotations

import numpy as np
import pytest

from replica.noise import Additive, IntRounding, Multiplicative
from replica.sgd import (
    SITES,
    SGDProblem,
    bounds,
    exact_risk,
    quantized_hessian,
    spectral_distortion,
)


@pytest.mark.parametrize("batch", [1, 2, 8])
def test_full_precision_constants(batch):
    # Closed forms: σ_G² = σ²/B (Var(g | w*) = σ²H/B) and α_B = 3/B + (1 − 1/B); round-off only.
    p = SGDProblem.power_law(30, step=0.05, steps=100, noise=0.7, batch=batch)
    b = bounds(p)
    assert b.sigma_g2 == pytest.approx(0.7 / batch, rel=1e-10)
    assert b.alpha_b == pytest.approx(1 + 2 / batch, rel=1e-14)
    assert b.approx_err == 0.0


def test_approximation_error_closed_forms():
    # Card: multiplicative ε/(1+ε)‖w*‖²_H; additive Σ ε λ_i w*_i²/(λ_i + ε) (round-off only).
    lam = np.arange(1, 41) ** -2.0
    w = np.linspace(0.5, 1.5, 40)
    for q, expect in [
        (Multiplicative(eps=0.01), 0.01 / 1.01 * np.sum(lam * w * w)),
        (Additive(eps=0.01), np.sum(0.01 * lam * w * w / (lam + 0.01))),
    ]:
        p = SGDProblem(spectrum=lam, w_star=w, step=0.05, steps=10, quantization={"data": q})
        assert bounds(p).approx_err == pytest.approx(expect, rel=1e-12)
        assert exact_risk(p, test="quantized").approximation == pytest.approx(expect, rel=1e-12)


SETTINGS = [
    {},
    {"data": Additive(eps=0.01)},
    {"data": Multiplicative(eps=0.01)},
    {s: Additive(eps=0.01) for s in SITES},
    {s: Multiplicative(eps=0.01) for s in SITES},
]


@pytest.mark.parametrize("quant", SETTINGS)
@pytest.mark.parametrize("test", ["full", "quantized"])
@pytest.mark.parametrize("batch", [1, 4])
def test_bound_above_exact_risk(quant, test, batch):
    # The bound must dominate the exact risk at every N (no tolerance: an inequality).
    p = SGDProblem.power_law(60, 2.0, step=0.05, steps=3000, batch=batch, quantization=quant)
    exact = exact_risk(p, test=test).risk
    n = np.unique(np.geomspace(1, 3000, 30).astype(int))
    b = bounds(p, steps=n, test=test)
    assert b.valid
    assert np.all(b.total >= exact[n - 1])


def test_bound_invalid_step_is_inf_and_setting_checked():
    with pytest.warns(UserWarning):
        p = SGDProblem.power_law(10, 1.0, step=0.3, steps=10)
    b = bounds(p)
    assert not b.valid and np.isinf(b.total).all()
    with pytest.raises(ValueError, match="averaging"):
        bounds(SGDProblem.power_law(10, step=0.01, steps=10, averaging="last"))


def test_quantized_hessian_forms():
    lam = np.array([1.0, 0.1, 0.001])
    np.testing.assert_allclose(quantized_hessian(lam, Additive(eps=0.01)), lam + 0.01, rtol=1e-15)
    np.testing.assert_allclose(
        quantized_hessian(lam, Multiplicative(eps=0.01)), 1.01 * lam, rtol=1e-15
    )
    np.testing.assert_array_equal(quantized_hessian(lam), lam)
    q = IntRounding(bits=4)
    np.testing.assert_allclose(quantized_hessian(lam, q), lam + q.effective_eps, rtol=1e-15)


@pytest.mark.parametrize("data", [Additive(eps=0.01), Multiplicative(eps=0.05)])
def test_spectral_distortion_matches_theory(data):
    # Empirical eigenvalues of the quantized sample covariance (n = 40000, d = 20) vs theory.
    # Tolerance: sampling fluctuation of sample-covariance eigenvalues, relative √(2/n) ≈ 0.7%
    # per isolated eigenvalue plus Marchenko–Pastur spreading 2√(d/n) ≈ 4.5% where eigenvalues
    # cluster near the additive floor; we allow 3× the sum (15%).
    lam = np.arange(1, 21) ** -2.0
    n = 40_000
    sd = spectral_distortion(lam, data, samples=n, seed=2)
    tol = 3 * (np.sqrt(2 / n) + 2 * np.sqrt(20 / n))
    np.testing.assert_allclose(sd.empirical, sd.theory, rtol=tol)
    if isinstance(data, Additive):  # the floor: smallest eigenvalue ≈ ε ≫ λ_min = 1/400
        assert sd.empirical[-1] > 0.8 * data.eps > 3 * lam[-1]
