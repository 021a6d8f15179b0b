"""Property-based fuzzing of the replica-side solvers and validators (issue 7): 1RSB, the AT line,
the interpolation threshold, the optimal width, phase diagrams, state evolution, AMP and AMP
ensembles. Every call raises a clear ValueError, converges honestly or flags non-convergence;
never a silent NaN/inf or another exception type (see ``tests/fuzz_harness.py``).

Campaign sizes (``n_examples(default, campaign)``) add up to 3000 and are weighted by cost: the
1RSB solver and phase diagrams are the slowest calls and get the fewest cases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from fuzz_harness import classify, maybe_bad, n_examples
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_fuzz import alphas, betas, bits, grids, make_quantizer, noises, ridges, widths

from replica import amp
from replica.optimize import optimal_width
from replica.phase import VARY, at_boundary, interpolation_threshold, phase_diagram
from replica.regression import QuantizedRegression, solve_rs
from replica.rsb import COLLAPSED, DEGENERATE, solve_1rsb
from replica.sweep import FIELDS
from replica.teachers import DiscreteTeacher, GaussianTeacher

SETTINGS = {"deadline": None, "suppress_health_check": list(HealthCheck)}
teachers = st.sampled_from(["gauss", "grid"])
# AMP, state evolution and 1RSB need a finite β (β = ∞ is their invalid input)
finite_betas = maybe_bad(st.floats(1e-3, 1e6), st.one_of(st.just(0.0), st.just(math.inf)))
seeds = maybe_bad(st.integers(0, 2**32), st.one_of(st.just(-1), st.just(1.5), st.just(True)))
# the AT-line scan (49 RS solves), the optimal-width search and phase diagrams cost ~K RS
# solves on 2^b levels: fuzzed up to b = 5 (one case < 1 s); b = 8 is in explicit examples
few_bits = maybe_bad(st.integers(1, 5), st.one_of(st.just(0), st.just(2.5)))
dampings = maybe_bad(st.one_of(st.just(0.0), st.floats(0.0, 0.95)), st.one_of(st.just(1.0),
                                                                            st.just(-0.1)))  # fmt: skip


def make_model(kind, b, w, alpha, beta, noise, ridge=0.0, teacher="gauss"):
    q = make_quantizer(kind, b, w)
    # a teacher on a grid of K levels costs O(K²) per channel average (K mixture components ×
    # K cells): ~6 s per threshold at b = 8, so it is fuzzed up to 32 levels only
    on_grid = teacher == "grid" and q.n_levels <= 32
    t = DiscreteTeacher.on_grid(q) if on_grid else GaussianTeacher()
    return QuantizedRegression(quantizer=q, alpha=alpha, beta=beta, noise=noise, ridge=ridge,
                               teacher=t)  # fmt: skip


@dataclass(frozen=True)
class Summary:
    """A whole dataset as one classifiable outcome (its fields are checked by the target)."""

    status: str
    residual: float


def _finite_or_documented(name, value, allowed_inf=()):
    arr = np.asarray(value, dtype=float)
    assert not np.isnan(arr).any(), f"{name} is NaN"
    assert name in allowed_inf or not np.isinf(arr).any(), f"{name} is inf"


# ------------------------------------------------------------------------------------- 1RSB
@settings(max_examples=n_examples(4, 100), **SETTINGS)
@given(
    kind=grids, b=maybe_bad(st.integers(1, 2), st.just(0)), w=widths, alpha=alphas,
    beta=finite_betas, noise=noises, ridge=ridges, teacher=teachers,
    x=st.one_of(st.none(), maybe_bad(st.floats(0.05, 1.0), st.just(1.5))),
    gap=maybe_bad(st.floats(0.05, 0.9), st.just(1.0)),
)  # fmt: skip
@example("endpoints", 2, 2.7, 2.0, 5.0, 0.1, 0.0, "gauss", None, 0.3)  # RSB phase (AT 1.35)
@example("endpoints", 1, 0.5, 2.0, 5.0, 0.1, 0.0, "gauss", 0.5, 0.3)  # RS phase, fixed x
@example("endpoints", 1, 1.0, 10.0, 1e6, 0.0, 0.0, "grid", None, 0.3)  # error-free state
def test_fuzz_solve_1rsb(kind, b, w, alpha, beta, noise, ridge, teacher, x, gap):
    def call():
        model = make_model(kind, b, w, alpha, beta, noise, ridge, teacher)
        return solve_1rsb(model, throw=False, x=x, gap=gap, n=(16, 8), max_iter=20)

    out = classify("solve_1rsb", call, tol=1e-10)
    if out == "flagged":
        res = call()
        assert res.status in (COLLAPSED, DEGENERATE, "max_iter"), res.status
        # collapsed to RS: the RS point is the fixed point, to the solver's tolerance
        assert res.status != COLLAPSED or res.residual < 1e-10, res.residual


# ------------------------------------------------------------------------------ AT boundary
@settings(max_examples=n_examples(12, 350), **SETTINGS)
@given(
    kind=grids, b=few_bits, w=widths, alpha=alphas, beta=betas, noise=noises, ridge=ridges,
    teacher=teachers, vary=maybe_bad(st.sampled_from(VARY), st.just("bits")),
    bracket=st.one_of(st.none(), st.tuples(st.floats(1e-3, 1e3), st.floats(1.01, 100.0)).map(
        lambda t: (t[0], t[0] * t[1])), st.just((2.0, 1.0))),
)  # fmt: skip
@example("endpoints", 2, 1.5, 2.0, 5.0, 0.1, 0.0, "gauss", "width", None)
@example("endpoints", 2, 1.5, 2.0, 5.0, 0.1, 0.0, "gauss", "beta", None)
@example("midrise", 3, 2.0, 2.0, math.inf, 0.0, 0.0, "gauss", "width", (0.1, 10.0))
def test_fuzz_at_boundary(kind, b, w, alpha, beta, noise, ridge, teacher, vary, bracket):
    def call():
        model = make_model(kind, b, w, alpha, beta, noise, ridge, teacher)
        return at_boundary(model, vary, bracket=bracket, throw=False)

    out = classify("at_boundary", call, tol=1e-6)
    if out == "converged":
        res = call()
        lo, hi = res.bracket
        assert lo <= res.value <= hi


# -------------------------------------------------------------------- interpolation threshold
@settings(max_examples=n_examples(20, 700), **SETTINGS)
@given(
    kind=grids, b=maybe_bad(st.integers(1, 12), st.just(0)), w=widths, noise=noises,
    ridge=maybe_bad(st.just(0.0), st.floats(1e-6, 10.0)), teacher=teachers,
)  # fmt: skip
@example("endpoints", 12, 1.0, 0.1, 0.0, "gauss")  # b = 12 (ridge-limit check of issue 7)
@example("endpoints", 3, 1e-3, 10.0, 0.0, "gauss")  # tiny width, large noise
@example("zero", 2, 1e3, 0.0, 0.0, "grid")  # σ² = 0, teacher on the grid
def test_fuzz_interpolation_threshold(kind, b, w, noise, ridge, teacher):
    def call():
        model = make_model(kind, b, w, 1.0, math.inf, noise, ridge, teacher)
        return interpolation_threshold(model, throw=False)

    # alpha_max = inf is a value, not a failure: no upper end of the RS range (every i.i.d.
    # grid; a finite one needs zero covariance eigenvalues)
    if classify("interpolation_threshold", call, tol=1e-6, allow_inf=("alpha_max",)) == "converged":
        res = call()
        # quantization moves the threshold below 1 (alpha_c < 1 for any finite grid)
        assert 0.0 <= res.alpha_c < 1.0


# ----------------------------------------------------------------------------- optimal width
@settings(max_examples=n_examples(8, 300), **SETTINGS)
@given(
    kind=grids, b=few_bits, w=widths, alpha=alphas, beta=betas, noise=noises, ridge=ridges,
    teacher=teachers, n_scan=maybe_bad(st.integers(3, 7), st.just(2)),
    bounds=maybe_bad(st.tuples(st.floats(1e-3, 1e2), st.floats(1.5, 10.0)).map(
        lambda t: (t[0], t[0] * t[1])), st.just((1.0, 0.5))),
)  # fmt: skip
@example("endpoints", 2, 1.0, 2.0, 5.0, 0.1, 0.0, "gauss", 5, (0.05, 6.0))
@example("gaussian_quantile", 8, 1.0, 1e3, 1e6, 0.0, 0.0, "gauss", 3, (1e-3, 1e3))
def test_fuzz_optimal_width(kind, b, w, alpha, beta, noise, ridge, teacher, n_scan, bounds):
    def call():
        model = make_model(kind, b, w, alpha, beta, noise, ridge, teacher)
        return optimal_width(model, bounds=bounds, n_scan=n_scan, throw=False)

    # the residual is a Newton-step estimate of the distance to the minimum (xtol 1e-6 in ω)
    # "at" is +inf at β = ∞ on a discrete grid (documented)
    classify("optimal_width", call, tol=1e-3 * bounds[1], allow_inf=("residual", "at"))


# ------------------------------------------------------------------------------ phase diagram
def _phase_summary(ds):
    """A phase diagram as one classifiable record: converged when every point has a converged
    RS solution (or, at β = ∞, provably none); numeric fields checked point by point."""
    status = ds["status"].values.ravel()
    ok = np.isin(status, ["converged", "no_rs_solution"])
    conv = status == "converged"
    resid = float(np.max(ds["residual"].values.ravel()[conv], initial=0.0))
    for k in FIELDS:
        vals = ds[k].values.ravel()
        # "at" is +inf at β = ∞ on a discrete grid (documented)
        _finite_or_documented(k, vals[conv], allowed_inf=("at",))
    if "alpha_c" in ds.coords:
        _finite_or_documented("alpha_c", ds["alpha_c"].values)
    return Summary("converged" if ok.all() else "flagged", resid)


@settings(max_examples=n_examples(4, 100), **SETTINGS)
@given(
    kind=grids, b=few_bits, w=widths, alpha=alphas, beta=betas, noise=noises, ridge=ridges,
    axis=st.sampled_from(["width", "alpha", "beta", "noise"]),
    values=st.lists(st.floats(1e-3, 1e3), min_size=2, max_size=3, unique=True),
    bits_axis=st.one_of(st.none(), st.lists(st.integers(1, 8), min_size=1, max_size=2,
                                            unique=True)),
)  # fmt: skip
@example("endpoints", 1, 1.0, 2.0, 5.0, 0.1, 0.0, "width", [0.5, 3.0], [1, 2])
@example("endpoints", 2, 1.5, 2.0, math.inf, 0.1, 0.0, "alpha", [0.1, 1e3], None)
def test_fuzz_phase_diagram(kind, b, w, alpha, beta, noise, ridge, axis, values, bits_axis):
    def call():
        model = make_model(kind, b, w, alpha, beta, noise, ridge)
        grid = {axis: values}
        if bits_axis is not None:
            grid["bits"] = bits_axis
        ds = phase_diagram(model, executor="serial", progress=False, **grid)
        return _phase_summary(ds)

    classify("phase_diagram", call, tol=1e-10)


# ------------------------------------------------------------- solve_rs: branch rule, entropy
@settings(max_examples=n_examples(20, 600), **SETTINGS)
@given(
    kind=grids, b=few_bits, w=widths, alpha=alphas, beta=betas, noise=noises, ridge=ridges,
    teacher=teachers,
)  # fmt: skip
@example("endpoints", 1, 1.0, 0.37, 200.0, 0.005, 0.0, "grid")  # hard phase: 2 branches
@example("endpoints", 1, 3.0, 0.6, 5.0, 0.1, 0.0, "gauss")  # entropy crisis, AT 0.58
@example("endpoints", 2, 1.5, 2.0, 1e300, 0.1, 0.0, "gauss")  # huge β: finite thermodynamics
def test_fuzz_solve_rs_branch_rule(kind, b, w, alpha, beta, noise, ridge, teacher):
    # issue 13: the returned solution is the converged branch of lowest free energy among the
    # listed ones; rs_stable is "AT < 1 and entropy >= 0" and says why not; the entropy of a
    # K-level Gibbs measure is at most ln K (the RS energetic term is <= 0), and s = β(e − f)
    def call():
        model = make_model(kind, b, w, alpha, beta, noise, ridge, teacher)
        sol = solve_rs(model, throw=False)
        found = [br for br in sol.branches if br.status == "converged"]
        if sol.converged:
            for br in found:
                assert sol.free_energy <= br.free_energy + 1e-12 * (1 + abs(br.free_energy))
            assert sol.entropy <= math.log(model.quantizer.n_levels) + 1e-9
            assert sol.rs_stable == (sol.at < 1.0 and sol.entropy >= 0.0)
            why = sol.instability
            assert ("entropy" in why) == (sol.entropy < 0.0) and ("AT" in why) == (sol.at >= 1)
            if math.isfinite(beta) and abs(sol.free_energy) < 1e300:
                # f = e − s/β is formed in floating point: β(e − f) recovers s up to β·ulp(e)
                ref = beta * (sol.energy - sol.free_energy)
                ulp = 4 * np.finfo(float).eps * max(abs(sol.energy), abs(sol.free_energy))
                assert abs(sol.entropy - ref) <= beta * ulp + 1e-12 * (1 + abs(ref))
        return sol

    classify("solve_rs", call, tol=1e-11, allow_inf=("at", "q_hat", "Q_hat", "m_hat", "A"))


# --------------------------------------------------------------------------- state evolution
@settings(max_examples=n_examples(20, 600), **SETTINGS)
@given(
    kind=grids, b=bits, w=widths, alpha=alphas, beta=finite_betas, noise=noises, ridge=ridges,
    teacher=teachers, max_iter=maybe_bad(st.integers(1, 3000), st.just(0)),
    tol=maybe_bad(st.sampled_from([1e-13, 1e-10, 1e-6]), st.just(0.0)),
)  # fmt: skip
@example("endpoints", 2, 1.5, 2.0, 5.0, 0.1, 0.0, "gauss", 2000, 1e-13)
@example("power_of_two", 8, 1e3, 1e-3, 1e6, 0.0, 0.0, "gauss", 2000, 1e-10)
def test_fuzz_state_evolution(kind, b, w, alpha, beta, noise, ridge, teacher, max_iter, tol):
    def call():
        model = make_model(kind, b, w, alpha, beta, noise, ridge, teacher)
        res = amp.state_evolution(model, max_iter=max_iter, tol=tol, throw=False)
        for name, arr in res.trajectory._asdict().items():
            _finite_or_documented(f"trajectory.{name}", arr)
        return res

    classify("state_evolution", call, tol=tol)


# ----------------------------------------------------------------------- AMP: generate + run
@settings(max_examples=n_examples(20, 600), **SETTINGS)
@given(
    kind=grids, b=bits, w=widths, alpha=alphas, beta=finite_betas, noise=noises, ridge=ridges,
    teacher=teachers, n=maybe_bad(st.integers(1, 200), st.one_of(st.just(0), st.just(2.5))),
    seed=seeds, damping=dampings, variance=maybe_bad(st.sampled_from(["scalar", "full"]),
                                                     st.just("diag")),
    max_iter=maybe_bad(st.integers(1, 60), st.just(0)),
    patience=st.one_of(st.none(), maybe_bad(st.integers(1, 10), st.just(0))),
    dtype=st.sampled_from(["float64", "float32"]),
)  # fmt: skip
@example("endpoints", 2, 1.5, 2.0, 5.0, 0.1, 0.0, "gauss", 200, 0, 0.0, "scalar", 60, None,
         "float64")  # fmt: skip
@example("endpoints", 1, 1.0, 1e3, 1e6, 0.0, 1.0, "grid", 6, 1, 0.5, "full", 20, 5, "float32")
def test_fuzz_amp_run(kind, b, w, alpha, beta, noise, ridge, teacher, n, seed, damping, variance,
                      max_iter, patience, dtype):  # fmt: skip
    if isinstance(n, int) and n >= 1 and math.isfinite(alpha) and alpha > 0:
        n = max(1, min(n, int(math.sqrt(4e4 / alpha))))  # keep M·N <= 4e4 (one case < 0.1 s)

    def call():
        model = make_model(kind, b, w, alpha, beta, noise, ridge, teacher)
        inst = amp.generate(model, n, seed=seed, dtype=dtype)
        _finite_or_documented("X", amp.backend.to_numpy(inst.X))
        _finite_or_documented("y", amp.backend.to_numpy(inst.y))
        res = amp.run(inst.X, inst.y, model.quantizer, model.beta, ridge=model.ridge,
                      damping=damping, max_iter=max_iter, teacher=inst.w0, variance=variance,
                      patience=patience, throw=False)  # fmt: skip
        for name, arr in res.trajectory._asdict().items():
            _finite_or_documented(f"trajectory.{name}", arr)
        return res

    # the default tolerance scales with the dtype (1e-7 in float64, 32 eps in float32)
    classify("amp.run", call, tol=amp.amp.default_tol(dtype))


# -------------------------------------------------------------------------- AMP: experiment
@settings(max_examples=n_examples(6, 250), **SETTINGS)
@given(
    kind=grids, b=bits, w=widths, alpha=alphas, beta=finite_betas, noise=noises, teacher=teachers,
    sizes=maybe_bad(st.lists(st.integers(2, 40), min_size=1, max_size=3, unique=True),
                    st.one_of(st.just([0]), st.just([]), st.just([5, 5]))),
    n_seeds=maybe_bad(st.integers(1, 3), st.just(0)), damping=dampings,
    max_iter=st.integers(1, 40), control_variates=st.booleans(),
)  # fmt: skip
@example("endpoints", 2, 1.5, 2.0, 5.0, 0.1, "gauss", [20, 40], 3, 0.0, 40, True)
def test_fuzz_amp_experiment(kind, b, w, alpha, beta, noise, teacher, sizes, n_seeds, damping,
                             max_iter, control_variates):  # fmt: skip
    if (
        math.isfinite(alpha)
        and alpha > 0
        and len(sizes) == len(set(sizes))
        and min(sizes, default=0) > 0
    ):
        cap = max(2, int(math.sqrt(4e4 / alpha)))  # keep M·N <= 4e4 per instance
        sizes = [s for s in sizes if s <= cap] or [cap]

    def call():
        model = make_model(kind, b, w, alpha, beta, noise, teacher=teacher)
        ds = amp.experiment(model, sizes=sizes, seeds=n_seeds, damping=damping,
                            max_iter=max_iter, control_variates=control_variates)  # fmt: skip
        for k in ("mse", "m", "q", "residual", "rho_emp", "noise_emp", "gen_error"):
            _finite_or_documented(k, ds[k].values)
        n_conv = ds["n_converged"].values
        _finite_or_documented("mse_mean", ds["mse_mean"].values[n_conv > 0])
        _finite_or_documented("mse_cv", ds["mse_cv"].values[n_conv > 0])
        # standard errors need >= 2 + (number of controls) converged runs per size
        _finite_or_documented("mse_sem", ds["mse_sem"].values[n_conv >= 4])
        for k in ("rs_mse", "rs_at", "se_mse"):
            _finite_or_documented(k, ds[k].values, allowed_inf=("rs_at",))
        fit_ok = ds.attrs["fit_status"] == "ok"
        if fit_ok:
            for k in ("mse_inf", "mse_inf_se", "slope", "slope_se", "fit_chi2", "z_rs"):
                _finite_or_documented(k, ds[k].values)
        all_conv = bool(ds["converged"].values.all())
        return Summary("converged" if fit_ok and all_conv else "flagged", 0.0)

    classify("amp.experiment", call)
