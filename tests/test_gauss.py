"""Gaussian expectations: closed forms vs Gauss–Hermite vs mpmath."""

from __future__ import annotations

import math

import numpy as np
import pytest

from replica import gauss


def test_hermite_integrates_polynomials_exactly():
    # E z^{2k} = (2k−1)!!; a rule of order n is exact to degree 2n − 1 (rounding ~1e-13 relative)
    for k in range(6):
        m = gauss.expect(lambda z, k=k: z ** (2 * k), 0.0, 1.0, order=8)
        assert m == pytest.approx(math.prod(range(1, 2 * k, 2)), rel=1e-12)


def test_hermite_entire_function_closed_form_and_mpmath():
    # E[cos z] = exp(−var/2) cos(mean) exactly; Gauss–Hermite converges geometrically for entire
    # integrands (order 64 reaches rounding, ~1e-15); mpmath checks the reference path itself.
    import mpmath

    exact = math.exp(-1.0) * math.cos(0.3)
    assert gauss.expect(np.cos, 0.3, 2.0, order=64) == pytest.approx(exact, rel=1e-13)
    assert float(gauss.mp_expect(mpmath.cos, 0.3, 2.0)) == pytest.approx(exact, rel=1e-15)


def test_staircase_vs_direct_cell_sum():
    values = np.array([-2.0, -0.5, 1.0, 4.0])
    th = np.array([-1.0, 0.2, 1.5])
    mean, var = 0.4, 0.7
    sd = math.sqrt(var)
    edges = np.concatenate([[-np.inf], th, [np.inf]])
    probs = np.diff(gauss.norm_cdf((edges - mean) / sd))
    assert gauss.staircase_mean(values, th, mean, var) == pytest.approx(probs @ values, rel=1e-14)
    # Stein: E[(z−μ)g(z)] = sd Σ Δg φ(u)
    pdf_diff = -np.diff(gauss.norm_pdf((edges - mean) / sd))
    assert gauss.staircase_stein(values, th, mean, var) == pytest.approx(
        sd * (pdf_diff @ values), rel=1e-13
    )


def test_staircase_far_tail_accuracy():
    # mean 30 sd above every threshold: the answer is the top value to full precision
    values = np.array([0.0, 1.0, 2.0])
    assert gauss.staircase_mean(values, [-1.0, 0.0], 30.0, 1.0) == 2.0
    # a tiny tail probability is resolved, not lost to cancellation: P(z < -1) for z ~ N(9, 1)
    p = gauss.staircase_mean([1.0, 0.0], [-1.0], 9.0, 1.0)
    assert p == pytest.approx(gauss.norm_cdf(-10.0), rel=1e-13)


def test_hermite_rule_rejects_bad_order():
    with pytest.raises(ValueError, match="order: expected an integer >= 1"):
        gauss.hermite_rule(0)
