"""The symbolic RS theory for rotationally invariant designs (replica.symbolic.designs): its
Marchenko–Pastur reduction and its link to the numeric map of replica.structured."""

import numpy as np
import pytest

from replica import QuantizedRegression, Quantizer
from replica.designs import CovarianceDesign
from replica.structured import rs_map_structured
from replica.symbolic import designs as sd


def test_marchenko_pastur_reduces_to_the_iid_theory():
    # every difference (energetic term, m̂ − Q̂, A, Δ, replicon factor) simplifies to exactly 0
    diffs = sd.marchenko_pastur_reduction()
    assert all(v == 0 for v in diffs.values()), diffs


def test_energetic_saddle_point_has_the_scalar_channel_form():
    d = sd.rs_derivation()
    assert d.conjugates[sd.m_hat] == d.conjugates[sd.Q_hat] == sd.beta * sd.R(-sd.chi)


def test_symbolic_channel_matches_the_numeric_map():
    # the lambdified Δ of the derivation, fed with the spectral law's R and R', against
    # rs_map_structured's Δ' (same formula written by hand): agreement to rounding (1e-13)
    lam = 1.0 / np.arange(1, 201)
    model = QuantizedRegression(quantizer=Quantizer.uniform(2, 1.5), alpha=2.0, beta=5.0,
                                noise=0.1, design=CovarianceDesign(eigenvalues=lam))  # fmt: skip
    fun = sd.lambdify_channel()
    for delta, chi in ((0.3, 0.8), (0.05, 3.0)):
        d_new, _, avg, (_, R, dR) = rs_map_structured(model, delta, chi)
        A, D = fun(R, dR, avg.mse, chi, model.noise, model.beta)
        assert A == pytest.approx(model.beta * R, rel=1e-13)
        assert D == pytest.approx(d_new, rel=1e-13)
