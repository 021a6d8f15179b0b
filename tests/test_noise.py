"""Stochastic quantizers: unbiasedness and second moments, tested statistically.

Each statistical check uses a fixed seed and a tolerance of 5 standard errors of the sample mean
(standard error estimated from the same sample): a correct implementation fails with probability
< 1e-6 per check, while a bias or variance error of a few percent is detected at these sizes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from replica import Additive, FloatRounding, IntRounding, Multiplicative

Z = 5.0  # standard errors


def _assert_mean(samples, expected, axis=0):
    """Sample mean along ``axis`` within Z standard errors of ``expected`` (elementwise)."""
    n = samples.shape[axis]
    mean = samples.mean(axis=axis)
    se = samples.std(axis=axis, ddof=1) / math.sqrt(n)
    assert np.all(np.abs(mean - expected) <= Z * se + 1e-15), (mean, expected, se)


U = np.array([0.0, 0.3, -1.7, 2.25, 5.123, -0.0071])


@pytest.mark.parametrize(
    "model",
    [
        Additive(eps=0.01),
        Multiplicative(eps=0.02, mode="coordinate"),
        Multiplicative(eps=0.02, mode="rank_one"),
        IntRounding(bits=3, scale=2.0),
        FloatRounding(mantissa_bits=2),
    ],
    ids=lambda m: type(m).__name__ + getattr(m, "mode", ""),
)
def test_unbiased_with_stated_second_moment(model, rng):
    n = 200_000
    e = model.sample(np.broadcast_to(U, (n, U.size)), rng)
    _assert_mean(e, 0.0)
    _assert_mean(e**2, model.conditional_variance(U))
    np.testing.assert_array_equal(
        model.quantize(U, np.random.default_rng(1)), U + model.sample(U, np.random.default_rng(1))
    )


def test_rank_one_cross_moment(rng):
    model = Multiplicative(eps=0.05, mode="rank_one")
    n = 200_000
    e = model.sample(np.broadcast_to(U, (n, U.size)), rng)
    full = model.second_moment(U)
    _assert_mean(e[:, 1] * e[:, 2], full[1, 2])
    assert full[1, 2] == pytest.approx(0.05 * U[1] * U[2])
    coord = Multiplicative(eps=0.05, mode="coordinate").second_moment(U)
    assert coord[1, 2] == 0.0 and coord[2, 2] == pytest.approx(0.05 * U[2] ** 2)
    np.testing.assert_allclose(Additive(eps=0.3).second_moment(U), 0.3 * np.eye(U.size))


def test_real_quantizers_land_on_their_grids(rng):
    u = rng.standard_normal(1000) * 3
    q = IntRounding(bits=4, scale=1.0).quantize(u, rng)
    np.testing.assert_allclose(q / 2.0**-3, np.round(q / 2.0**-3), atol=1e-9)
    f = FloatRounding(mantissa_bits=3).quantize(u, rng)
    mant, _ = np.frexp(f[f != 0])
    np.testing.assert_allclose(mant * 16, np.round(mant * 16), atol=1e-12)  # 1 + 3 bits


def test_effective_eps_matches_average_second_moment(rng):
    # INT: averaged over a uniformly distributed fractional part, step² p(1−p) → step²/6.
    q = IntRounding(bits=5, scale=1.0)
    u = rng.uniform(-1, 1, 400_000)
    _assert_mean(q.conditional_variance(u)[:, None], q.effective_eps)
    # FP: relative variance averaged over a log-uniform magnitude.
    f = FloatRounding(mantissa_bits=4)
    u = np.exp(rng.uniform(-6, 6, 400_000))
    _assert_mean((f.conditional_variance(u) / u**2)[:, None], f.effective_eps)
    assert f.noise_model() == Multiplicative(eps=f.effective_eps, mode="coordinate")
    assert q.noise_model() == Additive(eps=q.effective_eps)
    # hardware mapping of the card: INT ε ≈ 2^{-2b}, FP ε ≈ 2^{-2m}, up to O(1) constants
    assert 0.5 < q.effective_eps / 2.0 ** (-2 * 5) < 1.0
    assert 0.05 < f.effective_eps / 2.0 ** (-2 * 4) < 0.2


@given(
    eps=st.one_of(
        st.floats(max_value=-1e-300), st.just(math.nan), st.just(math.inf), st.text(max_size=1)
    )
)
def test_bad_eps_raise(eps):
    for make in (lambda: Additive(eps=eps), lambda: Multiplicative(eps=eps)):
        with pytest.raises(ValueError, match="eps: expected a finite number >= 0"):
            make()


def test_other_bad_inputs():
    with pytest.raises(ValueError, match="mode: expected one of"):
        Multiplicative(eps=0.1, mode="diag")
    with pytest.raises(ValueError, match="bits: expected an integer in"):
        IntRounding(bits=0)
    with pytest.raises(ValueError, match="scale: expected a finite number > 0"):
        IntRounding(bits=4, scale=-1.0)
    with pytest.raises(ValueError, match="mantissa_bits: expected an integer in"):
        FloatRounding(mantissa_bits=-1)
    with pytest.raises(ValueError, match="u: expected finite numbers"):
        Additive(eps=0.1).quantize([np.nan], np.random.default_rng(0))
