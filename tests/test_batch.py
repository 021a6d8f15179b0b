"""The batched RS solver (replica.batch, issue 18) against the per-point ``solve_rs``.

Identity checked: :func:`~replica.batch.solve_rs_many` runs the per-point solver's own control
flow and only evaluates the saddle-point map for many points at once, so per point it returns
the same status, the same branch and branch list, and the same values. The values are compared
to 1e-10 relative: the batched channel agrees with ``channel_averages`` to 1e-13 relative per
evaluation, and a converged Newton iteration moves its fixed point by that times the
conditioning of the map (well below 1e-10 at these points); 1e-10 is the issue's target.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from replica.batch import solve_rs_many
from replica.designs import SpectralDesign
from replica.errors import ConvergenceError
from replica.phase import phase_diagram
from replica.quantizers import Quantizer
from replica.regression import QuantizedRegression, solve_rs
from replica.sweep import _solve_points, make_quantizer
from replica.teachers import DiscreteTeacher

FIELDS = ("mse", "chi", "delta", "free_energy", "at", "entropy", "gen_error")


def model(bits=2, width=1.5, grid="endpoints", **kw):
    kw = {"alpha": 2.0, "beta": 5.0, "noise": 0.1, **kw}
    return QuantizedRegression(quantizer=Quantizer.uniform(bits, width, grid), **kw)


def bayes_binary(alpha, noise=0.01):
    q = Quantizer.uniform(1, 1.0)
    return QuantizedRegression(quantizer=q, alpha=alpha, beta=1.0 / noise, noise=noise,
                               teacher=DiscreteTeacher.on_grid(q))  # fmt: skip


def close(a, b, rel=1e-10):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= rel * max(abs(a), abs(b)) or a == b


def assert_same(batch, single):
    assert len(batch) == len(single)
    for i, (b, s) in enumerate(zip(batch, single)):
        assert (b.status, b.branch) == (s.status, s.branch), i
        assert [(x.start, x.status) for x in b.branches] == [
            (x.start, x.status) for x in s.branches
        ], i
        for f in FIELDS:
            assert close(getattr(b, f), getattr(s, f)), (i, f, getattr(b, f), getattr(s, f))


# the grid of the check: ordinary points, first-order two-branch points, β = ∞ with and
# without an RS solution, a point only the bracketing rescue solves, a stalled point
POINTS = [
    *(model(b, w) for b in (1, 2, 3) for w in (0.3, 1.0, 2.5)),
    model(2, 1.5, ridge=0.05, beta=3.0),
    # Bayes-optimal binary, σ² = 0.01: two RS branches between the spinodals α ≈ 0.124 and
    # 0.495 (the equilibrium switches at α_IT ≈ 0.312), one outside
    *(bayes_binary(a) for a in (0.1, 0.2, 0.3, 0.35, 0.45)),
    model(2, 1.5, alpha=1.5, beta=math.inf),  # β = ∞, RS solution
    model(1, 1.0, alpha=0.3, beta=math.inf),  # β = ∞ below the threshold: no RS solution
    # every start stalls; the bracketing rescue converges (found by a random scan)
    model(
        2,
        8.240126152689626,
        "zero",
        alpha=0.8563734521877798,
        beta=65.41958724987201,
        noise=0.19777160555107445,
        ridge=1e-4,
    ),
    # every start stalls and the bracketing finds no root within the budget: status stalled
    model(
        2,
        13.443439041847395,
        "zero",
        alpha=0.19206605418350448,
        beta=629.3352971661102,
        noise=0.004425602535857466,
        ridge=1e-4,
    ),
]


def test_batch_equals_the_per_point_solver():
    single = [solve_rs(m, throw=False) for m in POINTS]
    # the grid really contains what it is meant to
    assert {s.status for s in single} == {"converged", "no_rs_solution", "stalled"}
    assert {"informative", "bracketed"} <= {s.branch for s in single}
    assert sum(len(s.branches) == 2 and s.converged for s in single) >= 3
    assert_same(solve_rs_many(POINTS), single)


def test_batch_equals_the_per_point_solver_on_a_small_budget():
    # max_iter = 5: every start of the b = 1, ω = 3, α = 0.6, β = 100 point runs out (the
    # large-χ retry runs and the bracketing rescue exhausts its budget); ordinary points too
    ms = [model(1, 3.0, alpha=0.6, beta=100.0), *POINTS[:4], POINTS[12]]
    single = [solve_rs(m, throw=False, max_iter=5) for m in ms]
    assert "large-chi" in [x.start for x in single[0].branches]
    assert {s.status for s in single} >= {"max_iter"}
    assert_same(solve_rs_many(ms, max_iter=5), single)
    # and a different tolerance and damping reach the solver unchanged
    single = [solve_rs(m, throw=False, tol=1e-13, damping=0.3) for m in ms[1:]]
    assert_same(solve_rs_many(ms[1:], tol=1e-13, damping=0.3), single)


def test_batch_throw_and_structured_designs():
    # throw: the first unconverged point in the given order (the β = ∞ point without a solution)
    with pytest.raises(ConvergenceError) as err:
        solve_rs_many([POINTS[0], POINTS[16], POINTS[18]], throw=True)
    assert err.value.result.status == "no_rs_solution"
    assert err.value.result.mse == solve_rs(POINTS[16], throw=False).mse
    assert solve_rs_many([]) == []
    # a non-Gaussian design goes to replica.structured, one point at a time
    s = model(2, 1.5).replace(design=SpectralDesign(xtx_eigenvalues=[0.5, 1.5]))
    assert_same(solve_rs_many([s, POINTS[0]]), [solve_rs(s, throw=False), solve_rs(POINTS[0])])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"models": "abc"}, "models"),
        ({"models": [1.0]}, "models"),
        ({"tol": 0.0}, "tol"),
        ({"max_iter": 0}, "max_iter"),
        ({"damping": 1.0}, "damping"),
        ({"throw": 1}, "throw"),
    ],
)
def test_batch_rejects_bad_input(kwargs, match):
    kwargs = {"models": [POINTS[0]], **kwargs}
    with pytest.raises(ValueError, match=match):
        solve_rs_many(**kwargs)


def test_phase_diagram_equals_the_per_point_loop():
    base = model(1, 1.0)
    bits, widths = [1, 2], np.linspace(0.3, 3.0, 10)
    ds = phase_diagram(base, bits=bits, width=widths, executor="serial", progress=False)
    for i, b in enumerate(bits):
        for j, w in enumerate(widths):
            s = solve_rs(base.replace(quantizer=make_quantizer("uniform", b, float(w))),
                         throw=False)  # fmt: skip
            assert ds.status.values[i, j] == s.status
            for f in FIELDS:
                assert close(float(ds[f].values[i, j]), getattr(s, f)), (b, w, f)


def test_the_sweep_rescue_only_replaces_a_failure(monkeypatch):
    # a line where the batched solve "fails" at one point (here: a tiny budget for it): the
    # rescue re-solves that point with the previous converged point as a start and keeps the
    # result only because it converged; the other points are the per-point results unchanged
    import replica.sweep as sweep

    # the numpy channel path, which equals the per-point call bit for bit (the compiled kernels
    # agree to ~1e-14 only), so that "unchanged" can be checked exactly
    monkeypatch.setenv("REPLICA_NUMBA", "0")
    ms = [model(2, w) for w in (1.0, 1.1, 1.2)]
    real = sweep.solve_rs_many

    def failing(models):
        out = real(models)
        out[1] = solve_rs(models[1], throw=False, max_iter=2)
        return out

    monkeypatch.setattr(sweep, "solve_rs_many", failing)
    sols = _solve_points(ms)
    assert [s.status for s in sols] == ["converged"] * 3
    rescued = solve_rs(ms[1], throw=False, continuation=sols[0])
    assert sols[1].branch == "continuation" and sols[1].mse == rescued.mse
    assert sols[0].mse == solve_rs(ms[0]).mse and sols[2].mse == solve_rs(ms[2]).mse


def test_the_sweep_rescue_leaves_no_rs_solution_alone(monkeypatch):
    # β = ∞ below the interpolation threshold: "no_rs_solution" is an answer, not a failure
    import replica.sweep as sweep

    def no_rescue(*args, **kwargs):
        raise AssertionError("no_rs_solution must not be re-solved")

    monkeypatch.setattr(sweep, "solve_rs", no_rescue)
    sols = _solve_points([POINTS[15], POINTS[16]])
    assert [s.status for s in sols] == ["converged", "no_rs_solution"]


def test_a_chunk_of_lines_solved_in_one_batch_equals_the_lines_one_by_one():
    # the local pool's chunks: all points of all lines in one batch, then each line as alone
    # (JSON text compared: the same statuses, values, boundaries and thresholds)
    import replica.sweep as sweep

    spec = sweep._spec(model(1, 1.0, beta=math.inf), {"bits": [1, 2], "alpha": [0.3, 1.0, 2.0]},
                       "alpha", True)  # fmt: skip
    tasks = [t for _, _, t in sweep._lines(spec)]
    assert sweep._solve_lines(tasks) == [sweep._solve_line(t) for t in tasks]
