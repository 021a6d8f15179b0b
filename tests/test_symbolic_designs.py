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


# ---------------------------------------------------------------------------- thermodynamics, AT
def test_thermodynamics_derivation_checks_vanish():
    # envelope theorem (implicit β-dependence vanishes at the saddle point), the chain rule,
    # the grid-posterior identity for ln Z, e and s equal to replica.structured's formulas and
    # their Marchenko–Pastur reduction to replica.regression's: every check simplifies to 0
    t = sd.thermodynamics_derivation()
    assert t.checks and all(v == 0 for v in t.checks.values()), t.checks
    assert not t.energy.has(sd.beta)  # e is O(1): no explicit β once β(Q − q) is written χ
    assert t.entropy == sd.E_H + (sd.IR0 + sd.chi * sd.R0) / 2


def test_replicon_derivation_checks_vanish():
    # δK = βδ, the eigenvalues of (G + εδ)K at n = 4 and 5, λ_E = β²R'(−χ) at both n and
    # equal to replicon_factor(), loop gain = (R'/R²)E[(∂_r f)²], and its MP reduction
    r = sd.replicon_derivation()
    assert r.checks and all(v == 0 for v in r.checks.values()), r.checks
    assert r.lambda_energetic == sd.beta**2 * sd.dR0
    assert r.at_iid == sd.E_dfdr2 / sd.alpha
    for n, eig in r.eigenvalues.items():
        assert eig[sd.chi] == n - 3  # the unperturbed replicon block (δ has rank 2 on 1⊥)


def _two_level_model(**kw):
    lam = np.r_[np.full(100, 0.25), np.full(100, 1.75)]
    return QuantizedRegression(quantizer=Quantizer.uniform(2, 1.5),
                               design=CovarianceDesign(eigenvalues=lam), **kw)  # fmt: skip


@pytest.mark.parametrize(
    "kw",
    [dict(alpha=2.0, beta=5.0, noise=0.1, ridge=0.05),
     dict(alpha=0.7, beta=20.0, noise=0.02),
     dict(alpha=1.3, beta=2.0, noise=0.3, ridge=0.2)],
)  # fmt: skip
def test_symbolic_thermodynamics_match_structured_solution(kw):
    # the derived e, s, AT lambdified and fed with the two-level law's R(−χ), R'(−χ), 𝓡(−χ)
    # and the channel averages at a solved structured point: they and solve_rs_structured
    # evaluate the same closed forms on the same double-precision inputs, so they agree to
    # rounding (observed ≤ 2e-16 relative; 1e-12 leaves room for operation order only)
    from replica.structured import solve_rs_structured

    fun = sd.lambdify_thermodynamics()
    model = _two_level_model(**kw)
    sol = solve_rs_structured(model)
    _, _, avg, (_, R, dR) = rs_map_structured(model, sol.delta, sol.chi)
    int_r = -model.design.law(model.alpha).integrated_r(sol.chi)  # 𝓡(−χ)
    energy, entropy, at = fun(R, dR, int_r, avg.mse, avg.V, avg.Q, sol.chi, avg.entropy,
                              avg.at_sum, model.noise, model.alpha, model.ridge)  # fmt: skip
    assert energy == pytest.approx(sol.energy, rel=1e-12)
    assert entropy == pytest.approx(sol.entropy, rel=1e-12)
    assert at == pytest.approx(sol.at, rel=1e-12)


def test_symbolic_thermodynamics_with_mp_law_match_iid_solver():
    # Marchenko–Pastur R, R', 𝓡 in the derived (design) expressions against replica.solve_rs's
    # i.i.d. formulas at its own saddle point: different closed forms of the same quantities,
    # so agreement to rounding amplified by the cancellations of O(1) terms (1e-12 relative)
    from replica import solve_rs
    from replica.channel import channel_averages

    fun = sd.lambdify_thermodynamics()
    for kw in (dict(alpha=2.0, beta=5.0, noise=0.1, ridge=0.05), dict(alpha=0.7, beta=8.0,
                                                                      noise=0.05)):  # fmt: skip
        model = QuantizedRegression(quantizer=Quantizer.uniform(2, 1.5), **kw)
        sol = solve_rs(model)
        avg = channel_averages(model.quantizer.levels, model.teacher.mixture(), sol.delta,
                               sol.A, model.beta * model.ridge)  # fmt: skip
        c, a = sol.chi, model.alpha
        energy, entropy, at = fun(a / (1 + c), a / (1 + c) ** 2, -a * np.log1p(c), avg.mse,
                                  avg.V, avg.Q, c, avg.entropy, avg.at_sum, model.noise, a,
                                  model.ridge)  # fmt: skip
        assert energy == pytest.approx(sol.energy, rel=1e-12)
        assert entropy == pytest.approx(sol.entropy, rel=1e-12)
        assert at == pytest.approx(sol.at, rel=1e-12)


def test_beta_inf_limit_of_the_structured_theory():
    # the ground state from the derived thermodynamics (V = E_H = 0): the MP reduction to the
    # i.i.d. β = ∞ map, energy and entropy, and the χ → ∞ limits behind the rank limit and the
    # interpolation threshold of a structured design: every expression simplifies to exactly 0
    checks = sd.beta_inf_derivation()
    assert len(checks) == 8 and all(v == 0 for v in checks.values()), checks
