"""The two-precision TAP-landscape branch (replica.tap): RS reduction, branch point on the AT
line, symbolic = numeric, the branch on every grid / teacher / ridge, error paths."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

import replica
from replica import ConvergenceError, Quantizer
from replica.channel import channel_averages
from replica.phase import at_boundary
from replica.regression import QuantizedRegression, solve_rs
from replica.tap import (
    NO_BRANCH,
    TAPSolution,
    branch_scan,
    field_density,
    solve_tap,
    tap_averages,
    tap_residual,
)
from replica.teachers import DiscreteTeacher, GaussianMixtureTeacher


def model(bits=2, width=2.7, **kw):
    kw = {"alpha": 2.0, "beta": 5.0, "noise": 0.1, **kw}
    return QuantizedRegression(quantizer=Quantizer.uniform(bits, width), **kw)


MIXTURE = GaussianMixtureTeacher(weights=[0.3, 0.7], means=[-0.5, 0.4], variances=[0.2, 0.6])

# RS-stable points (AT < 1) over grids, teachers, ridge and temperatures
RS_POINTS = [
    model(1, 0.5),
    model(2, 1.5),
    model(3, 2.0),
    model(2, 1.5, ridge=0.3),
    model(3, 1.0, beta=1.0, alpha=0.7),
    model(2, 1.0, teacher=DiscreteTeacher.on_grid(Quantizer.uniform(2, 1.0)), beta=10.0),
    model(2, 1.2, teacher=MIXTURE, noise=0.3),
    QuantizedRegression(quantizer=Quantizer.uniform(6, 2.0), alpha=1.5, beta=20.0, noise=0.05),
]


@pytest.mark.parametrize("m", RS_POINTS, ids=lambda m: f"{m.quantizer.name}-b{m.beta:g}")
def test_rs_branch_reproduces_solve_rs(m):
    # where AT < 1 the answer is the RS solution, solved here in the TAP equations on this
    # module's own quadrature (in s, with Jacobian r'(s) = 1): the issue's check, 1e-10
    # relative (solve_rs converges to 1e-11 in ln Δ, ln χ; both quadratures are ~1e-13)
    rs = solve_rs(m)
    s = solve_tap(m)
    assert rs.at < 1 and s.is_rs and s.B == s.A and s.converged and s.residual < 1e-12
    for a, b in ((s.A, rs.A), (s.delta, rs.delta), (s.mse, rs.mse), (s.q, rs.q), (s.m, rs.m),
                 (s.gen_error, rs.gen_error), (s.train_error, rs.train_error),
                 (s.replicon, rs.at), (s.at, rs.at)):  # fmt: skip
        assert a == pytest.approx(b, rel=1e-10, abs=1e-14)
    assert s.V == pytest.approx(rs.chi / m.beta, rel=1e-10)


@pytest.mark.parametrize("m", [*RS_POINTS[:4], model(2, 2.7), model(1, 1.5)],
                         ids=lambda m: m.quantizer.name)  # fmt: skip
def test_averages_at_equal_precisions_are_the_channel_averages(m):
    # B = A: r(s) = s, so the s-quadrature must give the channel's averages (two independent
    # node sets; both ~1e-14, compared at 1e-12)
    rs = solve_rs(m)
    avg = tap_averages(m, rs.A, rs.A, rs.delta)
    ch = channel_averages(m.quantizer.levels, m.teacher.mixture(), rs.delta, rs.A,
                          m.beta * m.ridge)  # fmt: skip
    assert avg.norm == pytest.approx(1.0, abs=1e-12)
    for k in ("V", "mse", "m", "q"):
        assert getattr(avg, k) == pytest.approx(getattr(ch, k), rel=1e-12, abs=1e-15)
    assert avg.at == pytest.approx(ch.at_sum / m.alpha, rel=1e-12)
    assert avg.V_B == avg.V and avg.replicon == avg.at


def test_issue_reference_values():
    # values of the study that proposed the theory (issue 17), printed to 4 decimals: agree to
    # half a unit of the last digit (an independent implementation of the same equations)
    for (bits, width), mse in (((2, 2.7), 0.1819), ((2, 3.5), 0.1503), ((1, 1.5), 0.1920)):
        s = solve_tap(model(bits, width))
        assert s.branch == "tap" and s.converged and s.residual < 1e-12
        assert s.mse == pytest.approx(mse, abs=5e-5)
        assert s.B > s.A and s.replicon < 1 < s.at  # the branch is replicon-stable


def test_branch_point_is_the_at_line():
    # t* = ln(B/A) of the branch, extrapolated to 0 from three widths just inside the RSB
    # phase (quadratic fit, error ~δ³ ≈ 1e-9), vanishes on the AT line: the issue's 1e-6
    m = model(2, 1.0)
    w_at = at_boundary(m, "width", bracket=(1.5, 3.0), xtol=1e-12).value
    ds = np.array([1e-3, 2e-3, 3e-3])
    ts = [solve_tap(m.replace(quantizer=Quantizer.uniform(2, w_at + d))).log_ratio for d in ds]
    assert all(t > 0 for t in ts)
    c = np.polyfit(ds, ts, 2)
    root = min(np.roots(c), key=abs)
    assert abs(root) < 1e-6
    below = solve_tap(m.replace(quantizer=Quantizer.uniform(2, w_at - 1e-3)))
    assert below.is_rs and below.at < 1


@pytest.mark.parametrize("m", RS_POINTS[:5], ids=lambda m: m.quantizer.name)
def test_no_branch_where_rs_is_stable(m):
    # the issue's claim "the B ≠ A branch does not exist where AT < 1", checked on the scan
    # t ∈ (1e-6, 6] (B/A up to e^6): G > 0 throughout, so no root B > A
    sc = branch_scan(m)
    assert np.all(sc["inner_residual"] < 1e-9)
    assert np.all(sc["G"] > 0)


def test_bifurcation_slope_is_one_minus_at():
    # symbolic: dG/dt|₀ = 1 − AT; numeric: the continuation at t = h, 2h (B < A leaves the
    # scan, so no central difference) with Richardson extrapolation: error c·h² (c ≈ 200 at
    # the b = 1 point, measured at h = 1e-4) ≈ 1e-7 at h = 2e-5, plus G's own precision / h
    # ≈ 1e-8: compared at 1e-6
    from replica.symbolic import tap as ST

    assert ST.tap_derivation().bifurcation_slope == 1 - ST.at_s
    for m in (model(2, 2.7), model(2, 1.5), model(1, 1.5, ridge=0.2)):
        rs = solve_rs(m)
        h = 2e-5
        g1, g2 = branch_scan(m, ts=[h, 2 * h])["G"]
        assert 2 * g1 / h - g2 / (2 * h) == pytest.approx(1 - rs.at, abs=1e-6)


def test_symbolic_checks_vanish():
    from replica.symbolic import tap as ST

    d = ST.tap_derivation()
    for k in ("landscape_check", "mhat_minus_Qhat", "rs_r_check", "rs_prox_check",
              "rs_replicon_check", "diagonal_check"):  # fmt: skip
        assert getattr(d, k) == 0, k
    assert d.r_prime.equals((ST.A / ST.B) * (1 + (ST.B - ST.A) * ST.v_s))
    assert d.prox_prime.equals(ST.B * ST.v_s / (1 + (ST.B - ST.A) * ST.v_s))
    assert d.B_energetic.equals(ST.alpha * ST.beta / (1 + ST.beta * ST.chi_t))
    assert d.delta.equals((ST.mse_s + ST.sigma2) / ST.alpha)
    assert "r(s)" in replica.symbolic.latex(d) or "r(s)" in str(d.rows())


@pytest.mark.parametrize("m", [model(2, 2.7), model(1, 1.5, ridge=0.2), model(2, 3.0, teacher=MIXTURE)],
                         ids=["b2", "b1-ridge", "mixture"])  # fmt: skip
def test_symbolic_equals_numeric(m):
    # the lambdified derived equations, fed the numeric averages, give the numeric residuals
    # and training error (1e-12: the same floating-point numbers through different formulas)
    from replica.symbolic.tap import lambdify_tap

    s = solve_tap(m)
    res, avg = tap_residual(m, s.A, s.B * 1.01, s.delta * 0.97)  # off the solution too
    e1, e2, e3, _ = lambdify_tap()(m.alpha, m.beta, m.noise, s.A, s.B * 1.01, avg.V,
                                       avg.V_B, avg.mse, s.delta * 0.97)  # fmt: skip
    a = m.alpha
    assert math.log1p(e1 / a) == pytest.approx(res[0], abs=1e-12)
    assert math.log1p(e2 / a) == pytest.approx(res[1], abs=1e-12)
    assert -math.log1p(e3 / (s.delta * 0.97)) == pytest.approx(-res[2], abs=1e-12)
    f = lambdify_tap()
    t_sol = f(a, m.beta, m.noise, s.A, s.B, s.V, s.V_B, s.mse, s.delta)[3]
    assert t_sol == pytest.approx(s.train_error, rel=1e-12)


BRANCH_POINTS = [
    model(2, 2.7),
    model(3, 5.0, alpha=1.5, beta=15.0, noise=0.05),
    model(1, 1.2, alpha=3.0, beta=3.0, noise=0.2),
    model(2, 2.7, ridge=0.1),
    model(2, 2.5, teacher=MIXTURE),
    model(2, 2.5, teacher=DiscreteTeacher(values=[-1.0, 0.0, 1.0]), noise=0.05),
    QuantizedRegression(
        quantizer=Quantizer.gaussian_quantile(2, 3.0), alpha=2.0, beta=6.0, noise=0.1
    ),
]


@pytest.mark.parametrize("m", BRANCH_POINTS, ids=lambda m: f"{m.quantizer.name}-a{m.alpha:g}")
def test_tap_branch_everywhere_rsb(m):
    s = solve_tap(m)
    assert s.at > 1 and s.branch == "tap" and s.converged and s.residual < 1e-12
    assert s.B > s.A and math.isfinite(s.mse) and 0 < s.log_ratio < 6
    # the outputs satisfy the three equations at the reported residual, and the training
    # error is below the generalization error (an M-estimator fits its own data better)
    res, avg = tap_residual(m, s.A, s.B, s.delta)
    assert np.max(np.abs(res)) == pytest.approx(s.residual, abs=1e-15)
    assert avg.norm == pytest.approx(1.0, abs=1e-10)
    assert s.train_error < s.mse + m.noise
    assert s.gen_error == pytest.approx(s.mse + m.noise, rel=1e-15)


def test_conditional_prediction():
    m = model(2, 2.7)
    s = solve_tap(m)
    same = solve_tap(m, A=s.A)  # at the branch's own A the conditional solution is the branch
    assert same.branch == "conditional" and same.converged
    assert same.B == pytest.approx(s.B, rel=1e-10) and same.mse == pytest.approx(s.mse, rel=1e-9)
    other = solve_tap(m, A=1.05 * s.A)
    assert other.converged and other.A == 1.05 * s.A and other.mse != pytest.approx(s.mse)
    res, _ = tap_residual(m, other.A, other.B, other.delta)
    assert np.max(np.abs(res[1:])) < 1e-12  # (2) and (3) hold, (1) is not imposed
    assert abs(res[0]) > 1e-4


def test_field_density():
    m = model(2, 2.7)
    s = solve_tap(m)
    total, _ = integrate.quad(lambda x: field_density(m, s, x), -12, 12, limit=400,
                              points=[-0.9 * 3, -0.9, 0.9, 2.7])  # fmt: skip
    assert total == pytest.approx(1.0, abs=1e-8)
    # on the TAP branch the density exceeds the Gaussian of the same variance at the grid's
    # switches (the pile-up the issue reports, ≈ 1.45× at the middle switch)
    rs = solve_tap(model(2, 1.5))
    x = np.linspace(-3, 3, 7)
    gauss = np.exp(-0.5 * x**2 / (1 + rs.delta)) / math.sqrt(2 * math.pi * (1 + rs.delta))
    assert np.allclose(field_density(model(2, 1.5), rs, x), gauss, rtol=1e-12)
    assert field_density(m, s, 0.0) > 1.2 * np.exp(0) / math.sqrt(2 * math.pi * (1 + s.delta))


def test_error_paths():
    with pytest.raises(ValueError, match=r"model.beta"):
        solve_tap(model(beta=math.inf))
    with pytest.raises(ValueError, match=r"model.estimator"):
        solve_tap(model(estimator="sample"))
    with pytest.raises(ValueError, match=r"^model"):
        solve_tap("not a model")
    with pytest.raises(ValueError, match=r"^A"):
        solve_tap(model(), A=-1.0)
    with pytest.raises(ValueError, match=r"^tol"):
        solve_tap(model(), tol=0)
    with pytest.raises(ValueError, match=r"^t_max"):
        solve_tap(model(), t_max=math.inf)
    with pytest.raises(ValueError, match=r"^ts"):
        branch_scan(model(), ts=[0.2, 0.1])
    with pytest.raises(ValueError, match=r"^sol"):
        field_density(model(), "x", 0.0)


def test_no_branch_status_and_throw():
    # t_max too small to reach the root: reported, never a silent RS answer
    m = model(2, 3.5)
    s = solve_tap(m, throw=False, t_max=0.2)
    assert s.status == NO_BRANCH and not s.converged and s.is_rs
    with pytest.raises(ConvergenceError) as err:
        solve_tap(m, t_max=0.2)
    assert isinstance(err.value.result, TAPSolution)


def test_public_api():
    assert replica.solve_tap is solve_tap and replica.TAPSolution is TAPSolution
    assert "solve_tap" in replica.__all__ and "TAPSolution" in replica.__all__
