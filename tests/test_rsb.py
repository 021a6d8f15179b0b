"""1RSB of quantized regression: symbolic derivation (replica.symbolic.rsb) and numeric solver
(replica.rsb): reductions to RS, hand-written = symbolic, quadrature accuracy, RS collapse where
AT < 1 and a genuine q₁ > q₀ solution where AT > 1."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import sympy as sp

import replica
from replica.channel import channel_averages
from replica.regression import QuantizedRegression, solve_rs
from replica.rsb import (
    COLLAPSED,
    _energetic_terms,
    _x_derivative,
    rsb_energetic,
    rsb_entropic,
    solve_1rsb,
)
from replica.symbolic import latex
from replica.symbolic import rsb as S


def _model(bits, width, **kw):
    kw = {"alpha": 2.0, "beta": 5.0, "noise": 0.1, **kw}
    return QuantizedRegression(quantizer=replica.Quantizer.uniform(bits, width), **kw)


# ---------------------------------------------------------------------------- symbolic
@pytest.mark.parametrize(
    ("n", "block"),
    [
        (4, 2),
        pytest.param(6, 3, marks=pytest.mark.slow),
        pytest.param(6, 2, marks=pytest.mark.slow),
    ],
)
def test_parisi_determinant(n, block):
    assert S.energetic_from_replicas(n, block)[1] == 0


def test_rsb_reduces_to_rs():
    der = S.rsb_derivation()
    assert der.rs_difference == 0
    assert der.x1_difference == 0
    assert der.gaussian_identity == 0
    # at x = 1 the energetic term does not depend on q1
    assert sp.simplify(sp.diff(der.energetic.subs(S.x, 1), S.q1)) == 0


def test_rsb_energetic_solution_forms():
    sol = S.rsb_derivation().energetic_solution_ab
    al, be, a, b, E0, x = S.alpha, S.beta, S.a_sym, S.b_sym, S.E0_sym, S.x
    assert sp.simplify(sol[S.m_hat] - al * be / b) == 0
    assert sp.simplify(sol[S.Q_hat] - al * be / a) == 0
    assert sp.simplify(sol[S.q_hat0] - al * be**2 * E0 / b**2) == 0
    assert sp.simplify(sol[S.q_hat1] - sol[S.q_hat0] - al * be / x * (1 / a - 1 / b)) == 0
    assert latex(S.rsb_derivation()).startswith(r"\begin{aligned}")


def test_handwritten_energetic_equals_symbolic_at_random_points():
    rng = np.random.default_rng(11)
    energ = S.lambdify_energetic()
    grad = S.lambdify_gradient()
    for _ in range(25):
        model = _model(2, 1.0, alpha=float(rng.uniform(0.3, 4)), beta=float(rng.uniform(0.5, 20)),
                       noise=float(rng.uniform(0, 1)))  # fmt: skip
        m, q0 = float(rng.uniform(-1, 1)), float(rng.uniform(0, 1))
        q1 = q0 + float(rng.uniform(0, 1))
        Q = q1 + float(rng.uniform(0.01, 1))
        x = float(rng.uniform(0.05, 1))
        args = (model.alpha, model.beta, model.rho, model.noise)
        hand = rsb_energetic(model, m, q0, q1, Q, x)
        # rounding only: a few flops on each side
        assert hand == pytest.approx(tuple(energ(*args, m, q0, q1, Q, x)), rel=1e-12)
        # ∂/∂x of energetic + conjugate terms (φ₁ derivative set to a random number)
        dphi = float(rng.normal())
        ent = type("E", (), {"dphi1_dx": dphi})()
        g = grad(*args, m, q0, q1, Q, *hand, x, 0.0, 0.0, 0.0, 0.0, dphi)
        assert _x_derivative(model, (m, q0, q1, Q), hand, ent, x) == pytest.approx(
            g[8], rel=1e-11, abs=1e-12
        )
        # energetic stationarity holds exactly at the hand-written conjugates
        assert np.max(np.abs(g[:4])) < 1e-10 * model.alpha * model.beta**2
        G, _ = _energetic_terms(model, m, q0, q1, Q, x)
        Gs = float(S.rsb_derivation().energetic.subs(
            dict(zip((S.alpha, S.beta, S.rho, S.sigma2, S.m, S.q0, S.q1, S.Q, S.x),
                     (*args, m, q0, q1, Q, x)))))  # fmt: skip
        assert G == pytest.approx(Gs, rel=1e-12)


# ---------------------------------------------------------------------------- entropic averages
def test_entropic_at_rs_point_equals_channel_averages():
    model = _model(2, 1.5)
    rs = solve_rs(model)
    ent = rsb_entropic(model, rs.Q_hat, rs.m_hat, rs.q_hat, rs.q_hat, 0.4)
    avg = channel_averages(model.quantizer.levels, model.teacher.mixture(), rs.delta, rs.A)
    # two independent quadratures of the same smooth 1-D integrals: ~1e-13 each
    assert (ent.m, ent.q0, ent.q1, ent.Q) == pytest.approx((avg.m, avg.q, avg.q, avg.Q), abs=1e-11)
    assert ent.phi1 == pytest.approx(avg.log_z, abs=1e-11)
    assert ent.dphi1_dx == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(("bits", "width"), [(2, 3.0), (1, 0.5)])
def test_entropic_quadrature_converged_and_derivatives(bits, width):
    model = _model(bits, width)
    rs = solve_rs(model)
    point = (rs.Q_hat, rs.m_hat, rs.q_hat, rs.q_hat + 3.0, 0.5)
    ent = rsb_entropic(model, *point)
    fine = rsb_entropic(model, *point, n=(96, 48))
    # default sizes vs doubled: geometric convergence, observed ~1e-9 at worst
    assert np.max(np.abs(np.subtract(ent, fine))) < 1e-8
    # ∂φ₁/∂x and the moment identities by central differences of φ₁ (h = 1e-4, 4th order:
    # truncation ~1e-15, quadrature noise 1e-9/h dominates -> 1e-5 tolerance)
    h = 1e-4

    def d(i):
        def phi(t):
            p = list(point)
            p[i] += t
            return rsb_entropic(model, *p, n=(96, 48)).phi1

        return (-phi(2 * h) + 8 * phi(h) - 8 * phi(-h) + phi(-2 * h)) / (12 * h)

    x = point[4]
    assert d(4) == pytest.approx(fine.dphi1_dx, abs=1e-5)
    assert d(0) == pytest.approx(-fine.Q / 2, abs=1e-5)  # ∂φ₁/∂Q̂ = −Q/2
    assert d(2) == pytest.approx(-x * fine.q0 / 2, abs=1e-5)  # ∂φ₁/∂q̂₀ = −x q₀/2
    assert d(3) == pytest.approx((fine.Q - fine.q1 + x * fine.q1) / 2, abs=1e-5)


# ---------------------------------------------------------------------------- solver
def test_collapses_to_rs_where_at_below_one():
    model = _model(1, 0.5)
    rs = solve_rs(model)
    assert rs.at < 1 and rs.entropy > 0  # no AT instability, no entropy crisis
    sol = solve_1rsb(model, rs=rs)  # start="auto" (the frozen start needs s_RS < 0)
    assert sol.status == COLLAPSED and sol.collapsed
    # collapsed fixed point = RS fixed point; both solved to ~1e-11 with ~1e-13 quadratures
    assert (sol.m, sol.q0, sol.q1, sol.Q) == pytest.approx((rs.m, rs.q, rs.q, rs.Q), abs=1e-9)
    assert sol.free_energy == pytest.approx(rs.free_energy, abs=1e-9)
    assert sol.gen_error == pytest.approx(rs.gen_error, abs=1e-9)
    assert sol.train_error == pytest.approx(rs.train_error, abs=1e-9)


def test_breaks_replica_symmetry_where_at_above_one():
    model = _model(2, 3.0)
    rs = solve_rs(model)
    assert rs.at == pytest.approx(1.6676, abs=1e-3)
    sol = solve_1rsb(model, rs=rs)
    assert sol.converged
    assert sol.q1 - sol.q0 > 0.1 and 0 < sol.x < 1
    # stationarity of the derived 1RSB functional, with φ₁'s derivatives from the moments
    ent = rsb_entropic(model, sol.Q_hat, sol.m_hat, sol.q_hat0, sol.q_hat1, sol.x)
    x = sol.x
    g = S.lambdify_gradient()(
        model.alpha, model.beta, model.rho, model.noise, sol.m, sol.q0, sol.q1, sol.Q,
        sol.m_hat, sol.q_hat0, sol.q_hat1, sol.Q_hat, x,
        -ent.Q / 2, ent.m, -x * ent.q0 / 2, (ent.Q - ent.q1 + x * ent.q1) / 2, ent.dphi1_dx,
    )  # fmt: skip
    # solver tolerance 1e-10 on (m, q0, q1, Q) and ∂_x, times conjugates of size αβ² = 50
    assert np.max(np.abs(g)) < 1e-8
    free = S.lambdify_free_entropy()(
        model.alpha, model.beta, model.rho, model.noise, sol.m, sol.q0, sol.q1, sol.Q,
        sol.m_hat, sol.q_hat0, sol.q_hat1, sol.Q_hat, x, ent.phi1,
    )  # fmt: skip
    assert sol.free_entropy == pytest.approx(free, rel=1e-12)
    # the RSB free energy lies above the (unstable) RS one, errors differ from RS
    assert sol.free_energy > rs.free_energy
    # the Gibbs mean's self-overlap is the mean of P(q): mse = ρ − 2m + x q₀ + (1 − x) q₁
    # (0.4153 here; the q₀ form, 0.2907, is the overlap of two different states)
    assert sol.mse == pytest.approx(model.rho - 2 * sol.m + x * sol.q0 + (1 - x) * sol.q1,
                                    rel=1e-14)  # fmt: skip
    assert sol.mse == pytest.approx(0.4153, abs=1e-3)
    assert sol.gen_error == pytest.approx(sol.mse + 0.1, abs=1e-12)


def test_invalid_inputs():
    with pytest.raises(ValueError, match=r"model\.beta"):
        solve_1rsb(_model(1, 0.5, beta=math.inf))
    with pytest.raises(ValueError, match="x: expected"):
        solve_1rsb(_model(1, 0.5), x=1.5)
    with pytest.raises(ValueError, match="gap: expected"):
        solve_1rsb(_model(1, 0.5), gap=0.0)


def test_error_free_start_is_flagged_degenerate_not_a_crash():
    # fuzz (issue 7): σ² = 0 with the teacher on the grid and large α·β recovers the teacher
    # exactly (RS mse 0), so E₀ = ρ − 2m + q + σ² = 0 and the 1RSB outer Gaussian has zero
    # variance; this used to raise "math domain error" (math.sqrt of a rounding-negative E₀)
    from replica.rsb import DEGENERATE
    from replica.teachers import DiscreteTeacher

    q = replica.Quantizer.uniform(1, 1.0)
    model = QuantizedRegression(quantizer=q, alpha=10.0, beta=1e6, noise=0.0,
                                teacher=DiscreteTeacher.on_grid(q))  # fmt: skip
    sol = solve_1rsb(model, throw=False, n=(16, 8))
    assert sol.status == DEGENERATE and sol.residual == math.inf
    assert sol.mse == sol.rs.mse == 0.0 and sol.q0 == sol.q1 == sol.rs.q
    with pytest.raises(replica.ConvergenceError, match="degenerate"):
        solve_1rsb(model, n=(16, 8))


def test_start_keeps_e0_positive_and_collapses_where_rs_is_stable():
    # fuzz (issue 7): b = 1, ω = 1, α = 1, β = 2, σ² = 0, teacher on the grid. The start
    # q₀ = q − gap·(Q − q)/2 = q − 0.069 lay below q − mse = q − 0.026, i.e. E₀ < 0 (math domain
    # error). RS is stable there (AT = 0.14), so 1RSB must collapse to it, to the solver's tol.
    from replica.teachers import DiscreteTeacher

    q = replica.Quantizer.uniform(1, 1.0)
    model = QuantizedRegression(quantizer=q, alpha=1.0, beta=2.0, noise=0.0,
                                teacher=DiscreteTeacher.on_grid(q))  # fmt: skip
    assert solve_rs(model).at < 1.0
    sol = solve_1rsb(model, throw=False)
    assert sol.status == COLLAPSED and sol.residual < 1e-10
    assert sol.mse == pytest.approx(sol.rs.mse, abs=1e-9)  # the RS point (to the tolerance)


def test_newton_step_out_of_the_domain_is_reported_not_raised():
    # fuzz (issue 7): α = 1e3, b = 2, ω = 2.7 — the (u, x) polish by hybr stepped to b < 0 and
    # math.log raised "math domain error"; now the last physical iterate is reported
    model = _model(2, 2.7, alpha=1e3)
    sol = solve_1rsb(model, throw=False, n=(16, 8))
    assert sol.status in ("converged", COLLAPSED, "max_iter")
    fields = [sol.m, sol.q0, sol.q1, sol.Q, sol.free_energy, sol.residual, sol.x]
    assert all(math.isfinite(v) for v in fields)
    assert 0 < sol.x <= 1 and sol.q0 <= sol.q1 <= sol.Q


def test_iterate_ending_below_q0_is_reported_where_physical():
    # fuzz (issue 7): power grid b = 1, ω = 0.09, α = 859, β = 5.6e5, σ² = λ = 0.09. The
    # iteration ended (unconverged) at q₁ < q₀, which counted as "collapsed" and was reported at
    # x = 1, where b = a + β(q₁ − q₀) < 0: math.log raised "math domain error"
    q = replica.Quantizer.power(1, 0.08984955344527862, 2.0)
    model = QuantizedRegression(quantizer=q, alpha=858.9122679645479, beta=558935.1154997845,
                                noise=0.08984955344527862, ridge=0.08984955344527862)  # fmt: skip
    sol = solve_1rsb(model, throw=False, n=(16, 8), max_iter=20)
    # since the x search of issue 18 the iteration returns to an RS fixed point (residual
    # < tol at this coarse n); either way it must be reported at a physical x
    assert sol.status in ("max_iter", COLLAPSED) and 0 < sol.x <= 1
    assert all(math.isfinite(v) for v in (sol.free_energy, sol.train_error, sol.residual))


# ---------------------------------------------------------------------------- issue 13 §4, 18
# (m, q0, q1, Q, x, f) of the solver before the speed-up of issue 18 (brentq over a coarse x
# grid, separate log_partition / grid_posterior passes), solved to residual 1e-10
_PREVIOUS = {
    (2, 3.0): (1.0009105333792259, 1.2925472793308062, 1.559776067075276, 1.6174663284747823,
               0.5339031215116046, 0.2419008196840884),
    (2, 2.7): (0.9939107751685112, 1.2402444072666214, 1.4211339679862367, 1.5017545049291166,
               0.6465741547171552, 0.20471173288208852),
}  # fmt: skip


@pytest.mark.parametrize("point", sorted(_PREVIOUS))
def test_same_solution_as_before_the_speedup(point):
    sol = solve_1rsb(_model(*point))
    assert sol.converged and sol.start == "rs"
    m, q0, q1, Q, x, f = _PREVIOUS[point]
    # both solved to 1e-10 in (m, q0, q1, Q) and d_x; the 5x5 system is well conditioned
    # (x moves by ~1e-14 between the runs): 1e-9 absolute
    assert (sol.m, sol.q0, sol.q1, sol.Q, sol.x, sol.free_energy) == pytest.approx(
        (m, q0, q1, Q, x, f), abs=1e-9
    )
    # evaluations of the entropic averages (deterministic; was 163-177): guards the x search
    assert sol.n_iter < 100


def test_fixed_x_status_ignores_the_x_derivative_and_continues_from_equilibrium():
    model = _model(2, 2.7)
    eq = solve_1rsb(model)
    # at x* the RS start falls back to RS; continuation from the equilibrium finds the branch
    at = solve_1rsb(model, x=eq.x)
    assert at.converged and not at.collapsed
    assert (at.q0, at.q1, at.Q, at.free_energy) == pytest.approx(
        (eq.q0, eq.q1, eq.Q, eq.free_energy), abs=1e-9
    )
    # away from x*: a converged fixed point with ∂_x(−βf₁) ≠ 0 is "converged", not max_iter
    off = solve_1rsb(model, x=0.5)
    assert off.converged and off.residual < 1e-10 and off.q1 - off.q0 > 0.1
    assert off.x_residual > 1e-4
    # the 1RSB free energy is extremal in x, a maximum of f (n → 0 inverts min and max)
    assert off.free_energy <= eq.free_energy + 1e-12


def test_replicons():
    # issue 13 §4: at the card point b = 2, ω = 2.7 the equilibrium 1RSB has λ₁ ≈ 1.02 > 1
    sol = solve_1rsb(_model(2, 2.7))
    assert sol.replicon_intra == pytest.approx(1.0243, abs=1e-3)
    assert 0 < sol.replicon_inter < 1 and not sol.rsb_stable
    # collapsed: the intra-state replicon is the RS AT value (same average, E[v²]), λ₀ = 0
    model = _model(1, 0.5)
    col = solve_1rsb(model)
    assert col.collapsed
    assert col.replicon_intra == pytest.approx(col.rs.at, abs=1e-10)
    assert col.replicon_inter == pytest.approx(0.0, abs=1e-12)


def test_entropy_is_beta_squared_df_dbeta():
    # s = β(e − f) with e from the explicit β derivative, against β² ∂f/∂β by central
    # differences of independent solves (h = 1e-3: truncation ~1e-7, solves 1e-10/h)
    model = _model(2, 3.0)
    sol = solve_1rsb(model)
    h = 1e-3
    fp = solve_1rsb(model.replace(beta=5.0 + h)).free_energy
    fm = solve_1rsb(model.replace(beta=5.0 - h)).free_energy
    assert sol.entropy == pytest.approx(25.0 * (fp - fm) / (2 * h), abs=1e-5)
    assert sol.entropy > 0 > sol.rs.entropy  # the RS entropy is negative there


def test_throw_false_returns_a_status_within_the_budget():
    # issue 13 §4: 2 bits, width 3, alpha = 2, beta = 1e4 raised scipy's "f(a) and f(b) must
    # have different signs" and took up to 150 s; now a status within max_eval evaluations
    model = _model(2, 3.0, beta=1e4)
    sol = solve_1rsb(model, throw=False, n=(16, 8), max_eval=60)
    assert sol.status in ("converged", COLLAPSED, "max_iter")
    assert sol.n_iter <= 60
    assert all(math.isfinite(v) for v in (sol.m, sol.q0, sol.q1, sol.Q, sol.free_energy))
    with pytest.raises(ValueError, match="max_eval: expected"):
        solve_1rsb(model, max_eval=0)
    with pytest.raises(ValueError, match="start: expected"):
        solve_1rsb(model, start="cold")


# ---------------------------------------------------------------------------- frozen 1RSB (§2)
def _crisis(beta=5.0):
    # issue 13 §2: RS entropy −0.179 with AT 0.58 at β = 5 (entropy crisis, AT blind to it)
    return _model(1, 3.0, alpha=0.6, beta=beta)


def test_frozen_derivation():
    der = S.frozen_derivation()
    assert der.gaussian_identity == 0  # E_z1 e^{x s z1 w} = e^{x² s² w²/2}
    assert der.rs_identity == 0  # frozen 1RSB at (β, x) = (1/x) RS at xβ
    assert der.x_stationarity == 0  # ∂_x = 0  <=>  s_RS(xβ) = 0
    assert der.rs_entropy_identity == 0


def test_frozen_closed_form_freezes():
    sols = [replica.solve_frozen_1rsb(_crisis(b)) for b in (5.0, 10.0, 20.0)]
    f0 = sols[0].free_energy
    for beta, sol in zip((5.0, 10.0, 20.0), sols):
        assert sol.converged and sol.start == "closed_form"
        assert sol.rs.entropy < 0 and sol.rs.at < 1
        # β_f is the root of the RS entropy (Brent, xtol 1e-13); s_RS(β_f) is the residual
        assert sol.beta_f == pytest.approx(sols[0].beta_f, abs=1e-10)
        assert sol.x == pytest.approx(sol.beta_f / beta, rel=1e-14)
        rf = solve_rs(_crisis(sol.beta_f))
        assert abs(rf.entropy) < 1e-10 and sol.residual < 1e-10
        # entropy 0 and f constant beyond freezing (f_RS is flat at β_f: s = β²∂f/∂β = 0)
        assert abs(sol.entropy) < 1e-9 and sol.energy == pytest.approx(sol.free_energy, abs=1e-10)
        assert sol.free_energy == pytest.approx(f0, abs=1e-10)
        assert sol.free_energy > sol.rs.free_energy  # RS at β lies below: its entropy is < 0
        # the frozen point maps onto the RS conjugates at β_f: Q̂' = x(Q̂ − x(q̂₁ − q̂₀)) etc.
        Qp = sol.x * (sol.Q_hat - sol.x * (sol.q_hat1 - sol.q_hat0))
        assert (Qp, sol.x * sol.m_hat, sol.x**2 * sol.q_hat0) == pytest.approx(
            (rf.Q_hat, rf.m_hat, rf.q_hat), rel=1e-10
        )
        assert sol.q1 == sol.Q and sol.replicon_intra == 0.0
        assert sol.replicon_inter == pytest.approx(rf.at, abs=1e-9)
    # below β_f the RS entropy is positive: no freezing, RS holds
    low = replica.solve_frozen_1rsb(_crisis(1.0))
    assert low.status == COLLAPSED and low.x == 1.0 and low.rs.entropy > 0


@functools.lru_cache(maxsize=1)
def _crisis_1rsb():
    model = _crisis()
    return solve_1rsb(model), replica.solve_frozen_1rsb(model), solve_1rsb(model, start="rs")


def test_frozen_start_finds_the_discontinuous_1rsb():
    sol, frozen, from_rs = _crisis_1rsb()
    # AT < 1: the RS start falls back to RS (continuous 1RSB does not exist here) ...
    assert from_rs.status == COLLAPSED and from_rs.rs.at < 1
    # ... the frozen start finds a discontinuous 1RSB: q1 − q0 is ~the whole Q − q0
    assert sol.converged and sol.start == "frozen"
    assert sol.q1 - sol.q0 > 0.99 * (sol.Q - sol.q0)
    # near the frozen closed form but not on it: states keep a small intra-state
    # susceptibility chi1 ≈ 0.005 (the q1 = Q ansatz is a boundary point, not a stationary
    # point of the card's 1RSB functional). Observed |Δf| 3.3e-5, s 9.0e-5, |Δx|/x 3e-3
    assert sol.free_energy == pytest.approx(frozen.free_energy, abs=1e-4)
    assert sol.x == pytest.approx(frozen.x, rel=1e-2)
    assert 0 <= sol.entropy < 1e-3 < -sol.rs.entropy
    assert 0 < sol.chi1 < 0.01
    assert sol.replicon_inter == pytest.approx(frozen.replicon_inter, abs=1e-3)
    assert sol.rsb_stable  # λ₁ 0.077, λ₀ 0.554
    # a genuine stationary point of the derived 1RSB functional (all nine equations, x
    # included; observed 5e-14), so the gap to the closed form is not a solver artefact
    # (doubling n moves f by 3e-11)
    ent = rsb_entropic(model := _crisis(), sol.Q_hat, sol.m_hat, sol.q_hat0, sol.q_hat1, sol.x)
    x = sol.x
    g = S.lambdify_gradient()(
        model.alpha, model.beta, model.rho, model.noise, sol.m, sol.q0, sol.q1, sol.Q,
        sol.m_hat, sol.q_hat0, sol.q_hat1, sol.Q_hat, x,
        -ent.Q / 2, ent.m, -x * ent.q0 / 2, (ent.Q - ent.q1 + x * ent.q1) / 2, ent.dphi1_dx,
    )  # fmt: skip
    assert np.max(np.abs(g)) < 1e-8


@pytest.mark.xfail(
    strict=True,
    reason="issue 13 §2 asks both code paths to agree to 1e-8, but solve_1rsb's stationary "
    "point keeps chi1 = beta(Q - q1) ~ 0.003-0.005 (beta = 5..20): f differs from the frozen "
    "closed form by 3e-5 to 4e-5 and its entropy is 9e-5 to 1e-5, not 0",
)
def test_frozen_paths_agree_to_1e8():
    sol, frozen, _ = _crisis_1rsb()
    assert sol.free_energy == pytest.approx(frozen.free_energy, abs=1e-8)
    assert abs(sol.entropy) < 1e-8


# ---------------------------------------------------------------------------- training errors
def test_training_error_derivation():
    der = S.training_error_derivation()
    # every check is an expression that sympy simplifies to exactly 0 (see the docstring)
    assert set(der.checks) >= {"inverse", "explicit_n4", "energy", "rs_mean", "rs_sample",
                               "x1_mean", "x1_sample", "frozen_mean", "frozen_sample", "cavity_mean",
                               "cavity_sample"}  # fmt: skip
    assert {k: v for k, v in der.checks.items() if v != 0} == {}
    assert latex(der).startswith(r"\begin{aligned}")


def test_train_error_handwritten_equals_symbolic_and_limits():
    from replica.rsb_free_entropy import _energy, _train_error

    rng = np.random.default_rng(13)
    f = S.lambdify_training_error()
    for _ in range(20):
        model = _model(2, 1.0, alpha=float(rng.uniform(0.3, 4)), beta=float(rng.uniform(0.5, 20)),
                       noise=float(rng.uniform(0, 1)), ridge=float(rng.uniform(0, 1)))  # fmt: skip
        m, q0 = float(rng.uniform(-1, 1)), float(rng.uniform(0, 1))
        q1 = q0 + float(rng.uniform(0, 1))
        Q = q1 + float(rng.uniform(0.01, 1))
        x = float(rng.uniform(0.05, 1))
        sample, mean = f(model.alpha, model.beta, model.rho, model.noise, m, q0, q1, Q, x)
        # rounding only: a few flops on each side
        assert _train_error(model, x, m, q0, q1, Q) == pytest.approx(mean, rel=1e-12)
        smodel = model.replace(estimator="sample")
        assert _train_error(smodel, x, m, q0, q1, Q) == pytest.approx(sample, rel=1e-12)
        # the energy is (α/2) times a Gibbs sample's training error plus the ridge term
        assert _energy(model, x, m, q0, q1, Q) == pytest.approx(
            0.5 * model.alpha * sample + 0.5 * model.ridge * Q, rel=1e-12
        )
    # RS limit q1 = q0 (any x) at RS solutions: regression._assemble's train_error to 1e-12
    # (E = mse + σ² there is integrated without cancellation; here ρ − 2m + q + σ²)
    for bits, width in ((2, 1.5), (2, 3.0), (1, 0.5)):
        for est in ("mean", "sample"):
            model = _model(bits, width, estimator=est, ridge=0.1)
            rs = solve_rs(model)
            for x in (0.3, 1.0):
                got = _train_error(model, x, rs.m, rs.q, rs.q, rs.Q)
                assert got == pytest.approx(rs.train_error, rel=1e-12, abs=1e-12)


def test_train_error_of_the_1rsb_and_frozen_solutions():
    model = _model(2, 2.7)
    mean, sample = (solve_1rsb(model.replace(estimator=e)) for e in ("mean", "sample"))
    a = 1 + model.beta * (mean.Q - mean.q1)
    b = a + mean.x * model.beta * (mean.q1 - mean.q0)
    E0 = model.rho - 2 * mean.m + mean.q0 + model.noise
    # the Gibbs mean: E0/b² plus the same-state pairs' (1 − x)(q1 − q0)/(ab) = 0.0229 (the
    # 1RSB value 0.1121 against 0.0892 without it; RS says 0.1068)
    assert mean.train_error == pytest.approx(
        E0 / b**2 + (1 - mean.x) * (mean.q1 - mean.q0) / (a * b), rel=1e-14
    )
    assert mean.train_error == pytest.approx(0.11210, abs=1e-5)
    # a sample: the energy identity e = (α/2)·train (λ = 0)
    assert sample.energy == pytest.approx(0.5 * model.alpha * sample.train_error, rel=1e-13)
    # frozen 1RSB (q1 = Q): the RS errors at β_f, the Gibbs mean's plus (1 − x)(Q − q)/(1 + χ)
    for est in ("mean", "sample"):
        fr = replica.solve_frozen_1rsb(_crisis().replace(estimator=est))
        rf = solve_rs(_crisis(fr.beta_f).replace(estimator=est))
        extra = (1 - fr.x) * (rf.Q - rf.q) / (1 + rf.chi) if est == "mean" else 0.0
        assert fr.converged and fr.train_error == pytest.approx(rf.train_error + extra, rel=1e-12)


@functools.lru_cache(maxsize=1)
def _train_data():
    """Committed data of ``paper_repro/kashiwamura2024_mc.py`` (full mode, ``train_*`` tables):
    b = 2, ω = 2.7, α = 2, β = 5, σ² = 0.1; 64 instances at each of N = 12, 16, 24, 32, 48
    (319 equilibrated), extrapolated as x∞ + c/N with control variates. ``train``: Gibbs mean
    ``‖y − X⟨w⟩‖²/M`` (replica-pair estimator), ``train_sample``: ``⟨‖y − Xw‖²⟩/M``,
    ``train_thermal``: their per-instance difference. ``z_*`` = (x∞ − theory)/se(x∞), se over
    instances (each instance's MC error is part of the scatter)."""
    from pathlib import Path

    from replica.io import load_csv

    root = Path(__file__).resolve().parents[1] / "figures" / "data" / "kashiwamura2024_mc"
    ext, meta = load_csv(root / "train_extrapolation.csv")
    assert meta["params"]["quick"] is False
    return {q: {c: ext[c][i] for c in ext} for i, q in enumerate(ext["quantity"])}


def test_train_error_monte_carlo_tells_the_forms_apart():
    row = _train_data()
    model = _model(2, 2.7)
    mean, sample = (solve_1rsb(model.replace(estimator=e)) for e in ("mean", "sample"))
    # the committed theory columns are the current solver's (converged to 1e-10)
    assert row["train"]["rsb"] == pytest.approx(mean.train_error, abs=1e-9)
    assert row["train_sample"]["rsb"] == pytest.approx(sample.train_error, abs=1e-9)
    # the thermal part (sample − mean) isolates the same-state term (1 − x)(q1 − q0)/(ab):
    # MC 0.0925 ± 0.0061; with it 0.0994 (z = −1.1), without it 0.1223 (z = −4.9)
    assert abs(row["train_thermal"]["z_rsb"]) <= 3.0
    assert abs(row["train_thermal"]["z_rsb_q0form"]) > 3.0
    # a Gibbs sample (= 2e/α, the sample form was right): 0.2200 ± 0.0031 vs 0.2115 (z = 2.7)
    assert abs(row["train_sample"]["z_rsb"]) <= 3.0
    # the Gibbs mean: the E0/b² form is rejected (0.0892, z = 8.4); the derived one is closer
    assert abs(row["train"]["z_rsb_q0form"]) > 3.0
    assert abs(row["train"]["z_rsb"]) < abs(row["train"]["z_rsb_q0form"])


@pytest.mark.xfail(
    strict=True,
    reason="MC 0.1269 +- 0.0045 for the Gibbs mean's training error against 1RSB 0.1121 "
    "(z = 3.3; RS 0.1068, z = 4.5): the sample's (z = 2.7) and the MC entropy (0.050 +- 0.006 "
    "vs 0.034) lie above 1RSB the same way, and the 1RSB solution is itself unstable there "
    "(intra-state replicon 1.024 > 1), so a further step of RSB is the likely cause",
)
def test_train_error_of_the_gibbs_mean_agrees_with_monte_carlo():
    assert abs(_train_data()["train"]["z_rsb"]) <= 3.0
