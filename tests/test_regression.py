"""RS theory of weight-quantized regression: reference values, identities and limits."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from replica import ConvergenceError, Quantizer
from replica.channel import channel_averages
from replica.regression import (
    NO_RS_SOLUTION,
    QuantizedRegression,
    _bracketed_start,
    rs_map,
    solve_rs,
    solve_rs_all,
)
from replica.teachers import DiscreteTeacher, GaussianMixtureTeacher, GaussianTeacher


def model(bits=2, width=1.5, **kw):
    kw = {"alpha": 2.0, "beta": 5.0, "noise": 0.1, **kw}
    return QuantizedRegression(quantizer=Quantizer.uniform(bits, width), **kw)


# Paper card reference values (uniform grid, ρ = 1, σ² = 0.1, α = 2, β = 5), printed to 3
# decimals for ε_g and 2 for AT: compare to 1e-3 (ε_g) and 5e-3 (AT, rounding of the table).
@pytest.mark.parametrize(
    "bits, width, eps_g, at",
    [(1, 0.5, 0.624, 0.24), (2, 1.5, 0.253, 0.46), (2, 3.0, 0.535, 1.67), (3, 2.0, 0.207, 0.44)],
)
def test_card_reference_values(bits, width, eps_g, at):
    s = solve_rs(model(bits, width))
    assert s.converged and s.residual < 1e-10
    assert s.gen_error == pytest.approx(eps_g, abs=1e-3)
    assert s.at == pytest.approx(at, abs=5e-3)
    assert s.rs_stable == (at < 1)


@pytest.mark.parametrize("beta", [0.5, 5.0, 1e3, 1e6, math.inf])
@pytest.mark.parametrize("bits", [1, 3, 8])
def test_stein_identity_m_equals_rho_D(beta, bits):
    # Gaussian teacher: m = E[w0 f] = ρ E[f'] = ρD (Stein). Both sides are computed by
    # independent quadrature sums; 1e-10 is the accuracy of the channel quadrature.
    s = solve_rs(model(bits, 2.0, beta=beta, teacher=GaussianTeacher(rho=1.3)))
    assert s.m == pytest.approx(1.3 * s.D, abs=1e-10)


@pytest.mark.parametrize("bits, width, alpha", [(1, 1.0, 1.5), (2, 1.5, 1.3), (3, 1.2, 0.9)])
def test_nishimori_at_bayes_optimal_point(bits, width, alpha):
    # Teacher uniform on the grid, β = 1/σ², no ridge: m = q and Q = ρ exactly (Nishimori).
    q = Quantizer.uniform(bits, width)
    noise = 0.2
    m = QuantizedRegression(quantizer=q, alpha=alpha, beta=1 / noise, noise=noise,
                            teacher=DiscreteTeacher.on_grid(q))  # fmt: skip
    for s in solve_rs_all(m):
        assert s.converged
        assert s.m == pytest.approx(s.q, abs=1e-8)
        assert s.Q == pytest.approx(m.rho, abs=1e-8)


def _ridge_closed_form(alpha, lam, rho, noise):
    """Ridge regression by random-matrix theory (independent of the replica computation):
    g = (1/N) tr(XᵀX + λ)^{-1} solves g = 1/(λ + α/(1 + g)) (Marchenko–Pastur), and
    mse = λ²ρ g' + σ²(g − λ g') with g' = g²/(1 − α g²/(1 + g)²)."""
    g = (-(alpha + lam - 1) + math.sqrt((alpha + lam - 1) ** 2 + 4 * lam)) / (2 * lam)
    gp = g * g / (1 - alpha * g * g / (1 + g) ** 2)
    return g, lam**2 * rho * gp + noise * (g - lam * gp)


@pytest.mark.parametrize("alpha, lam", [(0.7, 0.5), (2.0, 0.1), (1.0, 1.0)])
def test_ridge_limit_fine_grid(alpha, lam):
    # A fine, wide uniform grid approaches continuous Gaussian weights. Grid error: the
    # posterior (sd ≳ 0.7) is sampled with spacing 24/2047 ≈ 0.012, so the Poisson-summation
    # error is ~exp(−2π² sd²/Δq²) ≈ 0; truncation at ±12 leaves < 1e-25 of the mass. The
    # tolerance 1e-10 is the solver/quadrature accuracy.
    q = Quantizer.uniform(11, 12.0)
    s = solve_rs(QuantizedRegression(quantizer=q, alpha=alpha, beta=1.0, noise=0.2, ridge=lam))
    g, mse = _ridge_closed_form(alpha, lam, 1.0, 0.2)
    assert lam * s.chi**2 + (alpha + lam - 1) * s.chi - 1 == pytest.approx(0, abs=1e-10)
    assert s.chi == pytest.approx(g, rel=1e-10)
    assert s.mse == pytest.approx(mse, rel=1e-9)
    assert s.gen_error == pytest.approx(mse + 0.2, rel=1e-9)


def test_ridge_limit_coarse_grid_converges_with_bits():
    # Error against continuous ridge decreases as the grid refines (discretisation ~ Δq²/12
    # per weight for spacings large against the posterior width).
    _, mse = _ridge_closed_form(2.0, 0.1, 1.0, 0.2)
    errs = [abs(solve_rs(QuantizedRegression(quantizer=Quantizer.uniform(b, 6.0), alpha=2.0,
                beta=50.0, noise=0.2, ridge=0.1)).mse - mse) for b in (3, 4, 5, 6)]  # fmt: skip
    assert all(e2 < e1 for e1, e2 in itertools.pairwise(errs))


def test_ridgeless_continuous_at_equals_inverse_alpha():
    q = Quantizer.uniform(11, 12.0)
    for alpha in (1.5, 3.0):
        s = solve_rs(QuantizedRegression(quantizer=q, alpha=alpha, beta=2.0, noise=0.1))
        # v = 1/A exactly for continuous Gaussian weights ⇒ AT = (A²/α)E[v²] = 1/α
        assert s.at == pytest.approx(1 / alpha, rel=1e-9)


def test_beta_infinity_at_is_infinite_and_limit_is_continuous():
    s_inf = solve_rs(model(3, 2.0, beta=math.inf))
    assert s_inf.at == math.inf and not s_inf.rs_stable
    # the β → ∞ limit of the RS entropy: (α/2)(χ/(1+χ) − ln(1+χ)) < 0 (no posterior entropy
    # left on the staircase); the entropy crisis of RS at zero temperature on a discrete grid
    chi = s_inf.chi
    assert s_inf.entropy == pytest.approx(chi / (1 + chi) - math.log1p(chi), abs=1e-15)
    s_big = solve_rs(model(3, 2.0, beta=1e7), init=s_inf)
    # β = 1e7 vs ∞: corrections are O(1/β) in the order parameters
    assert s_big.gen_error == pytest.approx(s_inf.gen_error, abs=1e-5)
    assert s_big.free_energy == pytest.approx(s_inf.free_energy, abs=1e-5)
    assert s_big.at > 1e3


def test_below_interpolation_threshold_no_rs_solution():
    s = solve_rs(model(1, 1.0, alpha=0.3, beta=math.inf), throw=False)
    assert s.status == NO_RS_SOLUTION and s.D >= 0.3
    with pytest.raises(ConvergenceError) as exc:
        solve_rs(model(1, 1.0, alpha=0.3, beta=math.inf))
    assert exc.value.result.status == NO_RS_SOLUTION
    assert solve_rs(model(1, 1.0, alpha=0.5, beta=math.inf)).converged


@pytest.mark.parametrize("beta", [0.5, 5.0, 50.0])
def test_energy_is_minus_dphi_dbeta(beta):
    # thermodynamic identity e = ∂(βf)/∂β, by a central difference (step 1e-4·β: error
    # O(h²)·|∂³| ≈ 1e-8, plus solver noise 1e-11/h)
    m = model(2, 1.5, beta=beta, ridge=0.05)
    h = 1e-4 * beta
    s = solve_rs(m)
    bf = [b * solve_rs(m.replace(beta=b), init=s).free_energy for b in (beta - h, beta + h)]
    assert (bf[1] - bf[0]) / (2 * h) == pytest.approx(s.energy, abs=1e-6)
    assert s.entropy == pytest.approx(beta * (s.energy - s.free_energy), abs=1e-12)


def test_extreme_beta_and_bits_do_not_overflow():
    for bits in (1, 8):
        for beta in (1e-3, 1e6):
            s = solve_rs(model(bits, 2.0, beta=beta))
            fields = [s.m, s.q, s.Q, s.chi, s.mse, s.gen_error, s.free_energy, s.at]
            assert all(math.isfinite(v) for v in fields)


def test_estimator_and_noise_conventions():
    base = solve_rs(model(2, 1.5))
    sample = solve_rs(model(2, 1.5, estimator="sample"))
    clean = solve_rs(model(2, 1.5, include_noise=False))
    assert sample.gen_error == pytest.approx(base.gen_error + base.Q - base.q, abs=1e-12)
    assert clean.gen_error == pytest.approx(base.gen_error - 0.1, abs=1e-12)
    # training error of the Gibbs mean: card's ε_t = ε_g (α − D)²/α²
    assert base.train_error == pytest.approx(base.gen_error * (2 - base.D) ** 2 / 4, abs=1e-12)


def test_mixture_teacher_equals_gaussian_when_single_component():
    g = solve_rs(model(2, 1.5, teacher=GaussianTeacher(rho=0.7)))
    mix = GaussianMixtureTeacher(weights=[0.5, 0.5], means=[0.0, 0.0], variances=[0.7, 0.7])
    h = solve_rs(model(2, 1.5, teacher=mix))
    assert h.gen_error == pytest.approx(g.gen_error, abs=1e-12)


def test_channel_quadrature_converges():
    # the two finite-β paths (clustered rule and staircase + windows) agree where both apply
    lv = Quantizer.uniform(2, 1.5).levels
    mix = (np.array([1.0]), np.array([0.0]), np.array([1.0]))
    a40 = channel_averages(lv, mix, 0.3, 60.0, 0.0)  # default n
    a200 = channel_averages(lv, mix, 0.3, 60.0, 0.0, n=200)
    assert a40.mse == pytest.approx(a200.mse, abs=1e-11)
    assert a40.log_z == pytest.approx(a200.log_z, rel=1e-12)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"alpha": 0.0}, "alpha: expected a finite number > 0"),
        ({"alpha": math.nan}, "alpha: expected"),
        ({"beta": -1.0}, "beta: expected a number > 0 or math.inf"),
        ({"noise": -0.1}, "noise: expected a finite variance >= 0"),
        ({"ridge": math.inf}, "ridge: expected a finite number >= 0"),
        ({"estimator": "map"}, "estimator: expected one of"),
        ({"teacher": 3}, "teacher: expected an object with sample"),
    ],
)
def test_invalid_model_raises(kw, match):
    with pytest.raises(ValueError, match=match):
        model(**kw)


def test_invalid_init_raises():
    with pytest.raises(ValueError, match="init: expected"):
        solve_rs(model(), init="bogus")


@pytest.mark.parametrize("bits", [1, 3, 5, 8])
def test_channel_accuracy_sweep(bits):
    # Over precisions A ∈ [0.1, 1e4] and channel noises Δ ∈ {1e-3, 0.2, 3}: the default rule
    # agrees with a 4× denser one to 1e-12 and satisfies Stein (m = ρD) to 1e-12, i.e. the
    # quadrature error is at the rounding level whichever path (global, clustered, windows) runs.
    lv = Quantizer.uniform(bits, 2.0).levels
    mix = (np.array([1.0]), np.array([0.0]), np.array([1.0]))
    for A in np.logspace(-1, 4, 11):
        for delta in (1e-3, 0.2, 3.0):
            a = channel_averages(lv, mix, delta, A, 0.0)
            ref = channel_averages(lv, mix, delta, A, 0.0, n=256)
            assert a.mse == pytest.approx(ref.mse, abs=1e-12)
            assert a.m == pytest.approx(a.D, abs=1e-12)


def test_prior_start_reaches_the_large_chi_solution():
    # large β below α_c: χ ~ 0.6β at the solution. The prior start (state evolution's, χ = β·var)
    # reaches it directly; the former start χ = 1 stalled there (it now serves as a user start)
    m = model(1, 1.0, alpha=0.3, beta=1e5)
    s = solve_rs(m)
    assert s.converged and s.chi > 100
    assert s.branches[0].start == "uninformative" and s.branches[0].status == "converged"
    assert solve_rs(m, init=(m.rho + 1.0, 1.0), throw=False).status != "converged"


@pytest.mark.parametrize(
    "levels, mix, delta, A, ridge",
    [
        (Quantizer.uniform(1, 0.5).levels, ([1.0], [0.0], [1.0]), 0.31, 8.3, 0.0),
        (Quantizer.uniform(3, 2.0).levels, ([1.0], [0.0], [1.0]), 0.1, 5.0, 0.7),
        # mixture with a point mass (s = 0: the r-density is the only Δ-dependence)
        (Quantizer.uniform(3, 2.0).levels, ([0.3, 0.7], [0.5, -0.2], [0.0, 0.4]), 0.05, 40.0, 0.0),
        (Quantizer.uniform(8, 4.0).levels, ([1.0], [0.0], [1.0]), 0.05, 400.0, 0.0),  # banded
        # large A: staircase + windows path (analytic staircase part), with ridge and mixtures
        (Quantizer.uniform(1, 2.0).levels, ([1.0], [0.0], [1.0]), 0.31, 20.0, 0.0),
        (Quantizer.uniform(2, 2.0).levels, ([1.0], [0.0], [1.0]), 0.2, 500.0, 3.0),
        (Quantizer.uniform(3, 2.0).levels, ([0.3, 0.7], [0.5, -0.2], [0.0, 0.4]), 0.05, 4e3, 0.0),
        (Quantizer.uniform(8, 4.0).levels, ([1.0], [0.0], [1.0]), 0.01, 1e7, 10.0),
        # huge A: the window formulas must not lose the O(1/A) derivatives to rounding
        (Quantizer.uniform(2, 1.5).levels, ([1.0], [0.0], [1.0]), 0.2, 1e40, 1e39),
    ],
)
def test_channel_jacobian_matches_central_differences(levels, mix, delta, A, ridge):
    # The analytic ∂(mse, D)/∂(Δ, ln A) used by Newton, against central differences with
    # relative step h = 1e-6: truncation O(h²) ≈ 1e-12; the averages are exact to ~1e-14 but
    # their nodes move with (Δ, A), so the difference quotient carries ~1e-14/1e-6 = 1e-8 of
    # noise relative to entries of order one: they must agree to 1e-8 relative to the largest
    mix = tuple(np.array(a, dtype=float) for a in mix)
    jac = channel_averages(levels, mix, delta, A, ridge, derivatives=True).jac
    fd = np.empty((2, 2))
    for j, (dd, dlog) in enumerate([(delta * 1e-6, 0.0), (0.0, 1e-6)]):
        hi = channel_averages(levels, mix, delta + dd, A * math.exp(dlog), ridge)
        lo = channel_averages(levels, mix, delta - dd, A * math.exp(-dlog), ridge)
        fd[:, j] = [(hi.mse - lo.mse) / (2 * (dd + dlog)), (hi.D - lo.D) / (2 * (dd + dlog))]
    assert jac is not None
    assert np.max(np.abs(jac - fd)) < 1e-8 * np.max(np.abs(jac))


@pytest.mark.parametrize(
    "levels, mix, delta, shift",
    [
        (Quantizer.uniform(1, 2.0).levels, ([1.0], [0.0], [1.0]), 0.31, 0.0),
        (Quantizer.uniform(2, 2.0).levels, ([1.0], [0.0], [1.0]), 0.2, 0.3),
        (Quantizer.uniform(3, 2.0).levels, ([0.3, 0.7], [0.5, -0.2], [0.0, 0.4]), 0.05, 0.1),
        (Quantizer.uniform(8, 4.0).levels, ([1.0], [0.0], [1.0]), 0.01, 0.05),
    ],
)
def test_staircase_jacobian_matches_central_differences(levels, mix, delta, shift):
    # β = ∞: ∂(mse, D)/∂(Δ, shift) as exact sums against central differences (step 1e-6 on
    # sums exact to ~1e-15: noise ~1e-9 relative, truncation ~1e-12): agree to 1e-8
    mix = tuple(np.array(a, dtype=float) for a in mix)
    jac = channel_averages(levels, mix, delta, math.inf, shift, derivatives=True).jac
    fd = np.empty((2, 2))
    for j, (dd, ds) in enumerate([(delta * 1e-6, 0.0), (0.0, 1e-6)]):
        hi = channel_averages(levels, mix, delta + dd, math.inf, shift + ds)
        lo = channel_averages(levels, mix, delta - dd, math.inf, shift - ds)
        fd[:, j] = [(hi.mse - lo.mse) / (2 * (dd + ds)), (hi.D - lo.D) / (2 * (dd + ds))]
    assert jac is not None
    assert np.max(np.abs(jac - fd)) < 1e-8 * np.max(np.abs(jac))


def test_newton_converges_in_few_evaluations():
    # with the channel's Jacobian (clustered rule; staircase + windows at large A) Newton needs
    # a handful of map evaluations; Broyden from a finite-difference Jacobian needed 9–11 at
    # these points (at β = ∞ a longer damped phase comes first: not counted here)
    # (from the start mse = ρ + mean q², χ = 1; the enumeration's starts differ)
    for b, w, beta in [(1, 0.5, 5.0), (1, 2.0, 5.0), (2, 2.0, 1e6)]:
        m = model(b, w, beta=beta)
        start = (m.rho + float(np.mean(m.quantizer.levels**2)), 1.0)
        s = solve_rs(m, tol=1e-10, init=start)
        assert s.converged and s.n_iter <= 8, (b, w, beta, s.n_iter)


def test_bracketing_rescue_where_newton_stalls():
    # b = 1, ω = 3, α = 0.6, β = 100: ln χ' − ln χ has a positive local minimum near χ ~ 40
    # that traps Newton from both default starts; the solution (χ ≈ 824) is found by
    # bracketing the reduced 1-D problem. Independent check: plain damped Picard (weight 0.1
    # on the new iterate, ~830 iterations) converges to the same point; both to 1e-11 in
    # log-variables, so mse and χ agree to 1e-9 relative
    # (the prior start of the enumeration now reaches it too; the rescue is tested directly)
    m = model(1, 3.0, alpha=0.6, beta=100.0)
    start, n_used = _bracketed_start(m, 500)
    s = solve_rs(m, init=start)
    assert s.converged and n_used < 300
    assert solve_rs(m).chi == pytest.approx(s.chi, rel=1e-9)
    y = np.array([math.log((m.rho + m.noise) / m.alpha), 0.0])
    for _ in range(3000):
        d, c, _ = rs_map(m, math.exp(y[0]), math.exp(y[1]))
        res = np.array([math.log(d) - y[0], math.log(c) - y[1]])
        y = y + 0.1 * res
        if np.max(np.abs(res)) < 1e-12:
            break
    assert np.max(np.abs(res)) < 1e-12
    assert s.delta == pytest.approx(math.exp(y[0]), rel=1e-9)
    assert s.chi == pytest.approx(math.exp(y[1]), rel=1e-9)


def test_bracketing_reaches_perfect_recovery_at_the_floor():
    # fuzz case: 3 levels ±11.68 and 0, teacher on the grid, σ² = 2.6e-3. The only fixed point
    # is perfect recovery (errors ~e^{-6000}: mse and V are 0 in floating point, χ sits at the
    # floor e^{-690} that stands for 0); Newton from both starts is trapped by a local maximum
    # of ln Δ' − ln Δ. The bracketing rescue accepts the root at the box edge: Δ = σ²/α exactly
    q = Quantizer.uniform(2, 11.6831, "zero")
    m = QuantizedRegression(quantizer=q, alpha=1.0231, beta=11.98, noise=2.6208e-3,
                            ridge=2.57e-5, teacher=DiscreteTeacher.on_grid(q))  # fmt: skip
    start, _ = _bracketed_start(m, 500)
    s = solve_rs(m, init=start)
    assert s.converged and s.mse == solve_rs(m).mse
    assert s.mse == 0.0 and s.delta == pytest.approx(m.noise / m.alpha, rel=1e-12)
    assert s.chi < 1e-290


# ----------------------------------------------------------------------------- thermodynamics
THERMO_CASES = [
    # (bits, width, alpha, beta, noise, ridge, teacher on grid)
    (2, 1.5, 2.0, 5.0, 0.1, 0.0, False),  # card point
    (1, 3.0, 0.6, 5.0, 0.1, 0.0, False),  # entropy crisis: s < 0 while AT < 1 (issue 13)
    (2, 1.5, 2.0, 3.0, 0.1, 0.05, False),  # ridge
    (3, 1.2, 0.9, 5.0, 0.2, 0.0, True),  # teacher on the grid (Bayes-optimal at β = 1/σ²)
]


def _thermo_model(bits, width, alpha, beta, noise, ridge, on_grid):
    q = Quantizer.uniform(bits, width)
    teacher = DiscreteTeacher.on_grid(q) if on_grid else GaussianTeacher()
    return QuantizedRegression(quantizer=q, alpha=alpha, beta=beta, noise=noise, ridge=ridge,
                               teacher=teacher)  # fmt: skip


@pytest.mark.parametrize("case", THERMO_CASES)
def test_entropy_equals_beta_squared_dfdbeta(case):
    # s = β² ∂f/∂β, with ∂f/∂β by the fourth-order central difference (step h = 1e-3 β:
    # truncation h⁴ f^(5) ~ 1e-12 β⁴·β², noise 1e-15/h·β² ~ 1e-11 at β = 5), against the entropy
    # assembled from O(1) terms: to 1e-7 (the issue's tolerance; observed ~1e-11)
    m = _thermo_model(*case)
    s = solve_rs(m)
    b = m.beta
    h = 1e-3 * b

    def f(beta):
        return solve_rs(m.replace(beta=beta), init=s, tol=1e-14, throw=False).free_energy

    dfdb = (-f(b + 2 * h) + 8 * f(b + h) - 8 * f(b - h) + f(b - 2 * h)) / (12 * h)
    assert s.entropy == pytest.approx(b * b * dfdb, abs=1e-7)
    assert s.entropy == pytest.approx(b * (s.energy - s.free_energy), abs=1e-12)


@pytest.mark.parametrize("case", THERMO_CASES)
def test_entropy_by_thermodynamic_integration(case):
    # −βf(β) = ln K − ∫₀^β e(b) db (at β = 0 the Gibbs measure is uniform on the K levels), so
    # s = βe − ∫₀^β e db + ln K. The RS energy e(b) is smooth along the branch continued from
    # b → 0: 80-point Gauss–Legendre is exact to ~1e-13 here. To 1e-7 (the issue's tolerance)
    m = _thermo_model(*case)
    s = solve_rs(m)
    x, w = np.polynomial.legendre.leggauss(80)
    prev, energies = None, []
    for b in 0.5 * m.beta * (x + 1.0):
        prev = solve_rs(m.replace(beta=float(b)), init=prev)
        energies.append(prev.energy)
    integral = 0.5 * m.beta * float(np.dot(w, energies))
    s_ti = m.beta * s.energy - integral + math.log(m.quantizer.levels.size)
    assert s.entropy == pytest.approx(s_ti, abs=1e-7)


def test_entropy_crisis_example_of_the_issue():
    # issue 13: b = 1, ω = 3, α = 0.6, β = 5, σ² = 0.1: entropy −0.179 with AT 0.58 (printed
    # to 3 and 2 digits)
    s = solve_rs(model(1, 3.0, alpha=0.6, beta=5.0))
    assert s.entropy == pytest.approx(-0.179, abs=5e-4)
    assert s.at == pytest.approx(0.58, abs=5e-3)


@pytest.mark.parametrize(
    "bits, width, kw",
    [
        (2, 1.5, {}),
        (1, 1.0, {"alpha": 1.2, "ridge": 0.1}),
        (8, 3.0, {"teacher": GaussianTeacher(rho=0.5)}),
    ],
)
def test_large_beta_sweep_tends_to_ground_state(bits, width, kw):
    # f, e and s on β = 1 … 1e300 (and ∞): finite, converged, and tending to the β = ∞ values.
    # The corrections are O(1/(βΔq²)) (each posterior switch has width 1/(AΔq) and there are
    # ~1/Δq of them per unit of r); the observed coefficients are ≤ 0.3 (f, e) and ≤ 3 (s) in
    # units of 1/(βΔq²), so bounds 1/(βΔq²) and 10/(βΔq²) hold with margin, plus 1e-12 (the
    # solver's tolerance, 1e-11 in ln Δ and ln χ, moves f, e and s by ≲ 1e-12)
    m = model(bits, width, **kw)
    dq2 = float(np.min(np.diff(m.quantizer.levels))) ** 2
    inf = solve_rs(m.replace(beta=math.inf))
    assert math.isfinite(inf.entropy) and inf.entropy < 0
    prev = None
    for beta in 10.0 ** np.arange(0, 301, 10):
        # continued along β (one attempt from the previous point: the thermodynamics, not the
        # branch enumeration, is under test here)
        s = solve_rs(m.replace(beta=float(beta)), init=prev)
        prev = s
        vals = (s.free_energy, s.energy, s.entropy, s.mse, s.chi, s.at)
        assert all(math.isfinite(v) for v in vals), (beta, vals)
        if beta >= 1e2:
            assert abs(s.free_energy - inf.free_energy) <= 1.0 / (beta * dq2) + 1e-12, beta
            assert abs(s.entropy - inf.entropy) <= 10.0 / (beta * dq2) + 1e-12, beta
            assert abs(s.energy - inf.energy) <= 1.0 / (beta * dq2) + 1e-12, beta


@pytest.mark.parametrize(
    "kw",
    [
        {"alpha": 1e100},
        {"alpha": 1e-100},
        {"alpha": 1e100, "beta": 1e300},
        {"noise": 1e100},
        {"ridge": 1e100},
        {"beta": 1e-300},
        {"alpha": 1e300, "beta": 1e300},
    ],
)
def test_huge_parameters_converge_with_finite_thermodynamics(kw):
    # every huge or tiny parameter keeps the solver inside its box (ln Δ and ln χ up to ±700)
    # and the thermodynamics finite: f = e − s/β never forms β·O(1) − β·O(1)
    s = solve_rs(model(2, 1.5, **kw))
    assert s.converged
    assert all(math.isfinite(v) for v in (s.free_energy, s.energy, s.entropy, s.mse, s.chi))
    assert s.entropy <= math.log(4) + 1e-12


# ----------------------------------------------------------------------------- equilibrium branch
def _bayes_binary(alpha, noise):
    q = Quantizer.uniform(1, 1.0)
    return QuantizedRegression(quantizer=q, alpha=alpha, beta=1.0 / noise, noise=noise,
                               teacher=DiscreteTeacher.on_grid(q))  # fmt: skip


@pytest.mark.parametrize("noise", np.geomspace(1e-3, 1.0, 6).tolist())
def test_bayes_optimal_binary_grid_equilibrium_branch(noise):
    # issue 13: α ∈ [0.3, 3] × σ² ∈ [1e-3, 1]. solve_rs returns the converged branch of lowest
    # free energy; at the Bayes-optimal point that is a Nishimori solution (m = q, Q = ρ, to the
    # solver's 1e-11 relative accuracy: 1e-8); where a single fixed point exists it is state
    # evolution's, to 1e-8 absolute / 1e-6 relative in mse (SE stops at 1e-13 relative change,
    # solve_rs at 1e-11 in the log variables); where several exist and SE's is not the
    # equilibrium, SE reports the gap
    from replica.amp import state_evolution

    for alpha in np.linspace(0.3, 3.0, 6):
        m = _bayes_binary(float(alpha), noise)
        s = solve_rs(m)
        assert s.converged and s.equilibrium
        found = [b for b in s.branches if b.status == "converged"]
        assert all(s.free_energy <= b.free_energy + 1e-12 for b in found)
        assert s.m == pytest.approx(s.q, abs=1e-8) and s.Q == pytest.approx(1.0, abs=1e-8)
        se = state_evolution(m)
        if len(found) == 1:
            assert se.mse == pytest.approx(s.mse, abs=1e-8, rel=1e-6), (alpha, noise)
            assert not se.gap
        else:
            assert se.gap == (abs(se.mse - s.mse) > 1e-6 * s.mse + 1e-8), (alpha, noise)
            assert se.equilibrium_mse == pytest.approx(s.mse, abs=1e-8, rel=1e-6)


@pytest.mark.parametrize("alpha, noise", [(0.5, 0.01), (0.6, 0.003), (0.37, 0.005)])
def test_bayes_optimal_binary_issue_points_are_perfect_recovery(alpha, noise):
    # issue 13: solve_rs returned a non-Nishimori (mse 0.35–0.7, AT > 1) or the uninformative
    # (mse ≈ 0.6) solution; the equilibrium is perfect recovery (mse < 1e-11, state evolution
    # agrees where it reaches it; at α = 0.37, σ² = 0.005 it does not: the hard phase)
    from replica.amp import state_evolution

    s = solve_rs(_bayes_binary(alpha, noise))
    assert s.converged and s.mse < 1e-11 and s.at < 1.0 and s.entropy >= 0.0
    se = state_evolution(_bayes_binary(alpha, noise))
    assert se.gap == (alpha == 0.37)
    assert se.equilibrium_mse == pytest.approx(s.mse, abs=1e-8, rel=1e-6)
