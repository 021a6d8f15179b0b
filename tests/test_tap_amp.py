"""AMP in the RSB phase against the TAP branch: amp.run(damping="auto") (fast), and the committed
AMP ensemble of paper_repro/kashiwamura2024_amp against solve_tap computed now."""

from __future__ import annotations

import math

import numpy as np
import pytest

from replica import Quantizer
from replica.amp import generate, run
from replica.amp.amp import AUTO_DAMPINGS
from replica.regression import QuantizedRegression


def model(bits=2, width=2.7, **kw):
    kw = {"alpha": 2.0, "beta": 5.0, "noise": 0.1, **kw}
    return QuantizedRegression(quantizer=Quantizer.uniform(bits, width), **kw)


def test_auto_damping_is_undamped_where_rs_is_stable():
    m = model(2, 1.5)  # AT = 0.46
    inst = generate(m, 400, seed=3)
    res = run(inst.X, inst.y, m.quantizer, m.beta, damping="auto", teacher=inst.w0)
    assert res.converged and res.damping == 0.0
    assert res.stages == ((0.0, res.n_iter, res.stages[0][2], "converged", "initial"),)
    plain = run(inst.X, inst.y, m.quantizer, m.beta, teacher=inst.w0)
    assert res.n_iter == plain.n_iter and np.array_equal(res.estimate, plain.estimate)
    assert plain.damping == 0.0 and plain.stages == ()


@pytest.mark.parametrize(
    "m",
    [model(2, 2.7), model(1, 1.2, alpha=3.0, beta=3.0, noise=0.2)],
    ids=["b2-w2.7", "b1-w1.2-a3"],
)
def test_auto_damping_converges_where_undamped_does_not(m):
    inst = generate(m, 400, seed=0)
    auto = run(inst.X, inst.y, m.quantizer, m.beta, damping="auto", max_iter=4000,
               teacher=inst.w0)  # fmt: skip
    assert auto.converged and auto.damping > 0 and auto.damping in AUTO_DAMPINGS
    first = auto.stages[0]
    assert first[0] == 0.0 and first[3] == "stalled"  # the undamped stage gave up first
    assert [s[0] for s in auto.stages] == list(AUTO_DAMPINGS[: len(auto.stages)])
    assert [s[4] for s in auto.stages] == ["initial"] + ["best"] * (len(auto.stages) - 1)
    assert sum(s[1] for s in auto.stages) == auto.n_iter
    # undamped AMP with the same budget does not converge (RSB phase, AT > 1)
    plain = run(inst.X, inst.y, m.quantizer, m.beta, max_iter=4000, patience=400,
                teacher=inst.w0, throw=False)  # fmt: skip
    assert not plain.converged
    # the damped fixed point is an undamped fixed point: one undamped update from it moves
    # ŵ by the reported residual (< tol = 1e-7), independent of the damping
    g_check = run(inst.X, inst.y, m.quantizer, m.beta, damping=auto.damping, max_iter=4000,
                  teacher=inst.w0)  # fmt: skip
    assert g_check.converged
    assert np.max(np.abs(g_check.estimate - auto.estimate)) < 1e-4


def test_auto_damping_backtracks_to_the_best_iterate():
    m = model(2, 3.5)
    inst = generate(m, 300, seed=1)
    res = run(inst.X, inst.y, m.quantizer, m.beta, damping="auto", max_iter=4000,
              teacher=inst.w0)  # fmt: skip
    assert res.converged and len(res.stages) >= 2
    # the state after the first stage is the iterate with the smallest residual of that stage
    # (the trajectory records the restored iterate right after the abandoned update)
    n0 = res.stages[0][1]
    traj = res.trajectory
    best = int(np.argmin(traj.residual[: n0 - 1]))
    assert traj.mse[n0] == traj.mse[best]
    assert traj.residual[best] == pytest.approx(res.stages[0][2], rel=1e-12)


def test_auto_damping_restarts_when_backtracking_fails():
    # N = 400, seed 5 at b = 2, ω = 2.7: the backtracked iterates stall near residual 1e-3
    # (mse 0.22) for every damping; the second pass from the initial state reaches the fixed
    # point that damping 0.7 from the start reaches (mse 0.1977)
    m = model(2, 2.7)
    inst = generate(m, 400, seed=5)
    res = run(inst.X, inst.y, m.quantizer, m.beta, damping="auto", max_iter=12000,
              teacher=inst.w0)  # fmt: skip
    starts = [s[4] for s in res.stages]
    assert res.converged and "initial" in starts[1:]
    fixed = run(inst.X, inst.y, m.quantizer, m.beta, damping=res.damping, max_iter=4000,
                teacher=inst.w0)  # fmt: skip
    assert res.mse == pytest.approx(fixed.mse, abs=1e-6)


def test_auto_damping_input_errors():
    m = model(2, 1.5)
    inst = generate(m, 50, seed=0)
    for bad in ("fast", "AUTO", math.nan, 1.0):
        with pytest.raises(ValueError, match=r"^damping"):
            run(inst.X, inst.y, m.quantizer, m.beta, damping=bad)


def test_experiment_reports_the_tap_prediction():
    from replica.amp import experiment
    from replica.regression import solve_rs
    from replica.tap import solve_tap

    rsb = model(2, 2.7)
    ds = experiment(rsb, sizes=(150, 300), seeds=5, damping="auto", max_iter=6000)
    assert bool(ds.converged.all()) and ds.attrs["tap_branch"] == "tap"
    assert float(ds.tap_mse) == solve_tap(rsb).mse and math.isfinite(float(ds.z_tap))
    assert float(ds.z_tap) == pytest.approx((float(ds.mse_inf) - float(ds.tap_mse))
                                            / float(ds.mse_inf_se), rel=1e-12)  # fmt: skip
    stable = model(2, 1.5)
    ds = experiment(stable, sizes=(150, 300), seeds=3)
    assert ds.attrs["tap_branch"] == "rs"
    assert float(ds.tap_mse) == pytest.approx(solve_rs(stable).mse, rel=1e-10)


def test_linearised_map_is_amps_iteration_and_locates_the_damping():
    from replica.amp.amp import prior_moments
    from replica.amp.linear import amp_map, fixed_point_state, smallest_damping, spectrum

    m = model(2, 2.7)
    inst = generate(m, 300, seed=2)
    lv = m.quantizer.levels
    # one undamped step of amp_map from AMP's initial state is amp.run's first iterate (the
    # same formulas; equal to rounding)
    mean0, var0 = prior_moments(lv)
    z0 = (np.full(300, mean0), np.full(300, var0), np.zeros(600))
    one = run(inst.X, inst.y, m.quantizer, m.beta, max_iter=1, throw=False)
    assert np.allclose(amp_map(inst.X, inst.y, lv, m.beta, z0)[0], one.estimate, atol=1e-14)
    # at the damped fixed point: T(z*) = z* (to the run's tolerance), the undamped map is
    # unstable (ρ > 1: why undamped AMP does not converge) and a damping η* < 1 stabilises it
    res = run(inst.X, inst.y, m.quantizer, m.beta, damping="auto", max_iter=6000, tol=1e-10,
              teacher=inst.w0)  # fmt: skip
    z = fixed_point_state(inst.X, inst.y, m.beta, res.estimate, res.variance)
    t = amp_map(inst.X, inst.y, lv, m.beta, z)
    assert all(np.max(np.abs(a - b)) < 1e-8 for a, b in zip(t, z))
    eta, rho0, ev = smallest_damping(inst.X, inst.y, lv, m.beta, z, xtol=0.02, k=4)
    assert rho0 > 1.0 and abs(ev[0]) == pytest.approx(rho0) and 0.0 < eta < 0.99
    assert np.abs(spectrum(inst.X, inst.y, lv, m.beta, z, damping=min(eta + 0.03, 0.98),
                           k=4)[0]) < 1.0  # fmt: skip
    # at an RS point the undamped fixed point is attracting: η* = 0
    s = model(2, 1.5)
    inst = generate(s, 300, seed=2)
    res = run(inst.X, inst.y, s.quantizer, s.beta, tol=1e-10, max_iter=2000)
    z = fixed_point_state(inst.X, inst.y, s.beta, res.estimate, res.variance)
    eta, rho0, _ = smallest_damping(inst.X, inst.y, s.quantizer.levels, s.beta, z, k=4)
    assert eta == 0.0 and rho0 < 1.0
