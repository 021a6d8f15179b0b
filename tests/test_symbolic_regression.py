"""Symbolic RS theory of quantized regression (replica.symbolic.regression): derived identities,
closed-form limits, and symbolic = numeric against the hand-written solver (replica.regression)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from scipy import integrate

import replica
from replica.channel import ChannelAverages, channel_averages
from replica.regression import QuantizedRegression, _assemble, rs_map, solve_rs
from replica.symbolic import latex
from replica.symbolic import regression as S

a, b, r, s2, lam, chi = S.alpha, S.beta, S.rho, S.sigma2, S.lam, S.chi


def _zero(expr):
    return sp.simplify(expr) == 0


def test_energetic_term_from_replicas_is_the_cards():
    energetic, det_check = S.energetic_from_replicas(4)
    assert det_check == 0
    card = -(a / 2) * sp.log(1 + b * (S.Q - S.q)) - a * b / 2 * (r - 2 * S.m + S.q + s2) / (
        1 + b * (S.Q - S.q)
    )
    assert _zero(energetic - card)


def test_energetic_saddle_point_is_the_cards():
    sol = S.rs_derivation().energetic_solution
    one_chi = 1 + b * (S.Q - S.q)
    assert _zero(sol[S.m_hat] - a * b / one_chi)
    assert _zero(sol[S.Q_hat] - a * b / one_chi)
    assert _zero(sol[S.q_hat] - a * b**2 * (r - 2 * S.m + S.q + s2) / one_chi**2)


def test_entropic_saddle_point_is_moment_form():
    sol = S.rs_derivation().entropic_solution
    f = S.phi(S.Q_hat, S.m_hat, S.q_hat)
    assert sol[S.Q] == -2 * sp.Derivative(f, S.Q_hat)
    assert sol[S.m] == sp.Derivative(f, S.m_hat)
    assert _zero(sol[S.Q] - sol[S.q] - 2 * sp.Derivative(f, S.q_hat))


def test_scalar_channel_reduction():
    sc = S.scalar_channel()
    assert sc.m_hat_minus_Q_hat == 0
    assert _zero(sc.delta - (S.mse + s2) / a)
    assert sc.completed_square == 0
    assert _zero(sc.precision - b * (a - S.D))
    assert _zero(sc.one_plus_chi - a / (a - S.D))
    assert sc.dfdr_minus_Av == 0


def test_at_condition_from_replicon():
    at = S.at_condition()
    assert _zero(at.lambda_energetic - a * b**2 / (1 + chi) ** 2)
    for n in (4, 5, 6):  # the replicon eigenvalue does not depend on the number of replicas
        assert _zero(S._energetic_replicon(n) - at.lambda_energetic)
    assert at.lambda_entropic_minus_Ev2 == 0
    assert at.replicon_hessian == sp.Matrix([[sp.Symbol("lambda_E", positive=True), -1],
                                             [-1, sp.Symbol("lambda_S", positive=True)]])  # fmt: skip
    assert _zero(at.loop_gain - a * b**2 * S.E_v2 / (1 + chi) ** 2)
    assert at.gain_minus_card == 0
    with pytest.raises(ValueError, match="n: expected"):
        S.replicon_perturbation(3)


def test_replicon_perturbation_has_zero_row_sums():
    d = S.replicon_perturbation(5)
    assert d == d.T and all(d[i, i] == 0 for i in range(5))
    assert all(sum(d[i, :]) == 0 for i in range(5))


# ---------------------------------------------------------------------------- ridge limit
def test_ridge_chi_is_marchenko_pastur():
    rid = S.ridge_limit()
    mp = lam * chi**2 + (a + lam - 1) * chi - 1
    assert _zero(rid.chi_equation + mp) or _zero(rid.chi_equation - mp)


def test_ridge_risk_matches_random_matrix_formula():
    rid = S.ridge_limit()
    P = lam * chi**2 + (a + lam - 1) * chi - 1
    # g = (1/N) tr (XᵀX + λ)⁻¹ solves P = 0; g' = dg/dλ by implicit differentiation;
    # mse = λ²ρ ∫dμ/(s+λ)² + σ² ∫ s dμ/(s+λ)² = −ρλ² g' + σ²(g + λ g')
    dg = -sp.diff(P, lam) / sp.diff(P, chi)
    rmt = -r * lam**2 * dg + s2 * (chi + lam * dg)
    num = sp.numer(sp.together(rid.mse - rmt))
    assert sp.rem(sp.Poly(sp.expand(num), chi), sp.Poly(P, chi)).is_zero


def test_ridgeless_limits():
    rid = S.ridge_limit()
    # λ → 0: χ → 1/(α − 1) for α > 1 (OLS: mse = σ²/(α − 1)); AT = 1/α
    over = {lam: 0, chi: 1 / (a - 1)}
    assert _zero(rid.mse.subs(over) - s2 / (a - 1))
    assert _zero(rid.at.subs(lam, 0) - 1 / a)
    # α < 1, λ → 0: χ ~ (1 − α)/λ; min-norm interpolation mse = ρ(1 − α) + σ²α/(1 − α)
    eps = sp.Symbol("eps", positive=True)
    chi_small = (1 - a) / eps + a / (1 - a)  # χ(λ = eps) to O(1)
    lim = sp.limit(rid.mse.subs(chi, chi_small).subs(lam, eps), eps, 0)
    assert _zero(lim - (r * (1 - a) + s2 * a / (1 - a)))


def test_ridge_bayes_optimal_nishimori():
    # β = 1/σ², λ = σ²/ρ: the Gibbs measure is the posterior, so m = q and Q = ρ
    rid = S.ridge_limit()
    vals = {a: sp.Rational(3, 2), r: sp.Rational(13, 10), s2: sp.Rational(1, 5)}
    vals[lam] = vals[s2] / vals[r]
    P = lam * chi**2 + (a + lam - 1) * chi - 1
    (root,) = [x for x in sp.solve(P.subs(vals), chi) if x.is_positive]
    q = rid.q.subs(vals).subs(chi, root)
    assert sp.simplify(rid.m.subs(vals).subs(chi, root) - q) == 0
    assert sp.simplify(q + root * vals[s2] - vals[r]) == 0  # Q = q + χ/β with β = 1/σ²


@pytest.mark.parametrize("alpha", [2.0, 0.5])
def test_ridge_free_entropy_matches_gaussian_integral(alpha):
    beta, rho, sigma2, ridge = 1.7, 1.3, 0.2, 0.3
    chi_v = (-(alpha + ridge - 1) + math.sqrt((alpha + ridge - 1) ** 2 + 4 * ridge)) / (2 * ridge)
    lo, hi = (1 - math.sqrt(alpha)) ** 2, (1 + math.sqrt(alpha)) ** 2
    # (1/N) E ln det(XᵀX + λ) over the Marchenko–Pastur law (atom (1 − α) at 0 when α < 1)
    logdet, err = integrate.quad(lambda s: math.log(s + ridge) / (2 * math.pi * s), lo, hi,
                                 weight="alg", wvar=(0.5, 0.5), epsabs=1e-14, epsrel=1e-13)  # fmt: skip
    if alpha < 1:
        logdet += (1 - alpha) * math.log(ridge)
    # −βf = ½ln(2π/β) − ½∫ln(s+λ)dμ − (β/2N)λ E yᵀ(XXᵀ+λ)⁻¹y  (Gaussian integral over w)
    direct = (0.5 * math.log(2 * math.pi / beta) - 0.5 * logdet
              - 0.5 * beta * (rho * ridge * (1 - ridge * chi_v)
                              + sigma2 * (ridge * chi_v + alpha - 1)))  # fmt: skip
    f = sp.lambdify((a, b, r, s2, lam, chi), S.ridge_limit().free_entropy)
    # tolerance: quad's error estimate (~1e-14) plus rounding of the lambdified expression
    assert f(alpha, beta, rho, sigma2, ridge, chi_v) == pytest.approx(direct, abs=1e-11)
    assert err < 1e-12


def test_latex_renders_every_derived_object():
    for obj in (S.rs_derivation(), S.scalar_channel(), S.at_condition(), S.ridge_limit()):
        tex = latex(obj)
        assert tex.startswith(r"\begin{aligned}") and "E[" not in tex
    assert r"\hat{Q}" in latex(S.rs_free_entropy())
    assert r"\sigma^{2}" in latex(S.scalar_channel().delta)
    assert latex([S.Q_hat, S.q_hat]).count("&") == 2


# ---------------------------------------------------------------------------- symbolic = numeric
POINTS = [(1, 0.5), (2, 1.5), (2, 3.0), (3, 2.0)]


def _model(bits, width, **kw):
    kw = {"alpha": 2.0, "beta": 5.0, "noise": 0.1, **kw}
    return QuantizedRegression(quantizer=replica.Quantizer.uniform(bits, width), **kw)


@pytest.mark.parametrize(("bits", "width"), POINTS)
def test_symbolic_gradient_vanishes_at_numeric_fixed_point(bits, width):
    model = _model(bits, width)
    sol = solve_rs(model)
    avg = channel_averages(model.quantizer.levels, model.teacher.mixture(), sol.delta, sol.A, 0.0)
    grad = S.lambdify_gradient()(
        model.alpha, model.beta, model.rho, model.noise, sol.m, sol.q, sol.Q,
        sol.m_hat, sol.q_hat, sol.Q_hat, -avg.Q / 2, avg.m, avg.V / 2,
    )  # fmt: skip
    # the solver stops at relative residual 1e-11 in (Δ, χ); the gradient components are O(1)
    # multiples of it (conjugates of size αβ = 10 enter), hence 1e-9
    assert np.max(np.abs(grad)) < 1e-9


@pytest.mark.parametrize(("bits", "width"), POINTS)
def test_symbolic_at_equals_numeric(bits, width):
    sol = solve_rs(_model(bits, width))
    ev2 = sol.at * 2.0 / sol.A**2  # E[v²] = α·AT/A² with α = 2
    gain = sp.lambdify((a, b, chi, S.E_v2), S.at_condition().loop_gain)
    # same double-precision quantities on both sides: rounding only
    assert gain(2.0, 5.0, sol.chi, ev2) == pytest.approx(sol.at, rel=1e-12)


def test_handwritten_equations_equal_symbolic_at_random_points():
    rng = np.random.default_rng(7)
    energ = S.lambdify_energetic()
    free = S.lambdify_free_entropy()
    checked = 0
    for _ in range(20):
        bits = int(rng.integers(1, 4))
        model = _model(bits, float(rng.uniform(0.3, 3.0)), alpha=float(rng.uniform(0.3, 4.0)),
                       beta=float(rng.uniform(0.5, 20.0)), noise=float(rng.uniform(0.0, 1.0)),
                       ridge=float(rng.uniform(0.0, 1.0)))  # fmt: skip
        delta, chi_v = float(rng.uniform(0.01, 2.0)), float(rng.uniform(0.01, 5.0))
        al, be, rho, s2_ = model.alpha, model.beta, model.rho, model.noise
        # the map (Δ, χ) → (Δ', χ') of the solver against the derived equations
        d_new, c_new, avg = rs_map(model, delta, chi_v)
        A_sym = energ(al, be, rho, s2_, 0.0, 0.0, chi_v / be)[2]  # Q̂ at Q − q = χ/β
        assert A_sym == pytest.approx(al * be / (1 + chi_v), rel=1e-13)
        sc = S.scalar_channel()
        delta_sym = float(sc.delta.subs({S.mse: avg.mse, s2: s2_, a: al}))
        ent = S.rs_derivation().entropic_solution
        f = S.phi(S.Q_hat, S.m_hat, S.q_hat)
        chi_sym = float(
            (be * (ent[S.Q] - ent[S.q])).subs(sp.Derivative(f, S.q_hat), avg.V / 2).doit()
        )
        # rounding only (a handful of flops on each side)
        assert d_new == pytest.approx(delta_sym, rel=1e-12)
        assert c_new == pytest.approx(chi_sym, rel=1e-12)
        # conjugates and free energy assembled by the solver, at a consistent random point
        fake = ChannelAverages(m=float(rng.uniform(-1, 1)), q=float(rng.uniform(0, 2)),
                               Q=0.0, V=0.0, D=0.0, at_sum=1.0,
                               log_z=float(rng.normal()), mse=0.0, rho=rho)  # fmt: skip
        fake = fake._replace(Q=fake.q + chi_v / be, V=chi_v / be, mse=rho - 2 * fake.m + fake.q)
        res = _assemble(model, delta, chi_v, fake, status="converged", n_iter=0, residual=0.0,
                        branch="test")  # fmt: skip
        mh, qh, Qh = energ(al, be, rho, s2_, fake.m, fake.q, fake.Q)
        assert (res.m_hat, res.q_hat, res.Q_hat) == pytest.approx((mh, qh, Qh), rel=1e-12)
        # The solver assembles f = e − s/β from O(1) terms (the posterior entropy instead of
        # log Z), which equals the textbook free entropy only at a saddle point: compare there.
        sol = solve_rs(model, throw=False)
        if not sol.converged:
            continue
        log_z = rs_map(model, sol.delta, sol.chi)[2].log_z
        phi_sym = free(al, be, rho, s2_, sol.m, sol.q, sol.Q, sol.m_hat, sol.q_hat, sol.Q_hat,
                       log_z)  # fmt: skip
        checked += 1
        # the two assemblies differ by terms that vanish at the fixed point (solved to ~1e-12)
        # and by the cancellation of O(β) terms in the textbook form (β ≤ 20 here): 1e-9
        assert -sol.free_energy * be == pytest.approx(phi_sym, rel=1e-9, abs=1e-9)
    assert checked >= 15


def test_entropic_derivatives_are_the_moments():
    # φ(Q̂, m̂, q̂) for a Gaussian teacher depends on (m̂, q̂) through h = m̂w⁰ + √q̂ z; evaluate it
    # as the channel's log-partition at A = Q̂ with r = h/Q̂ and check its derivatives by
    # central differences against the moments used by lambdify_gradient
    model = _model(2, 1.5)
    levels, rho = model.quantizer.levels, model.rho

    def avg(Qh, mh, qh):
        return channel_averages(levels, ([1.0], [0.0], [mh * mh * rho / Qh**2]), qh / Qh**2, Qh)

    def phi(Qh, mh, qh):
        return avg(Qh, mh, qh).log_z

    Qh, mh, qh = 7.0, 6.0, 4.0
    av = avg(Qh, mh, qh)
    # the mixture trick keeps r's law but E[w⁰ f] refers to w⁰' = m̂w⁰/Q̂: rescale back
    moments = (-(av.Q) / 2, av.m * Qh / mh, av.V / 2)
    h = 1e-4
    for i, want in enumerate(moments):
        e = np.zeros(3)
        e[i] = h
        p = np.array([Qh, mh, qh])
        fd = (-phi(*(p + 2 * e)) + 8 * phi(*(p + e)) - 8 * phi(*(p - e)) + phi(*(p - 2 * e))) / (
            12 * h
        )
        # 4th-order stencil: truncation ~h⁴ ~ 1e-16, quadrature noise ~1e-13/h ~ 1e-9
        assert fd == pytest.approx(want, abs=1e-7)
