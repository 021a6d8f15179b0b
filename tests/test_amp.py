"""AMP, state evolution and ensembles (fast checks; the statistical ones are in test_amp_slow.py).

Kinds of truth: identities (SE = Picard iteration of the RS map, SE fixed point = RS solution,
AMP fixed points independent of the damping, one shared grid denoiser), exact algebra (the
two-size extrapolation), error paths, and checkpoint/resume bookkeeping.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from replica import ConvergenceError, Quantizer, channel
from replica.amp import (
    amp,
    backend,
    experiment,
    extrapolate,
    generate,
    prior_moments,
    run,
    state_evolution,
)
from replica.amp.experiment import size_means
from replica.io import load_netcdf
from replica.regression import QuantizedRegression, rs_map, solve_rs

CARD_POINTS = [(1, 0.5), (2, 1.5), (2, 3.0), (3, 2.0)]


def card_model(bits, width, **kw):
    kw = {"alpha": 2.0, "beta": 5.0, "noise": 0.1} | kw
    return QuantizedRegression(quantizer=Quantizer.uniform(bits, width), **kw)


# --------------------------------------------------------------------------------------------
# state evolution
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("bits", "width"), CARD_POINTS)
def test_se_fixed_point_is_rs_solution(bits, width):
    model = card_model(bits, width)
    se = state_evolution(model)
    rs = solve_rs(model, tol=1e-12)
    assert se.converged
    # both are fixed points of the same map solved to relative steps <= 1e-12..1e-13; the map
    # is a contraction near them, so the order parameters agree to ~1e-12 (asked: 1e-10)
    for name in ("mse", "m", "q", "Q", "chi", "delta", "A", "D", "at", "gen_error"):
        assert getattr(se, name) == pytest.approx(getattr(rs, name), rel=1e-10, abs=1e-10), name


def test_se_is_picard_iteration_of_rs_map():
    model = card_model(2, 1.5, ridge=0.05)
    se = state_evolution(model, max_iter=6, throw=False)
    tr = se.trajectory
    b, a = model.beta, model.alpha
    for t in range(5):
        _, c_new, avg = rs_map(model, (tr.mse[t] + model.noise) / a, b * tr.V[t])
        # identity: the SE step is one rs_map application (same floating-point operations)
        assert tr.mse[t + 1] == pytest.approx(avg.mse, rel=1e-14)
        assert tr.V[t + 1] == pytest.approx(avg.V, rel=1e-14)
        assert tr.A[t + 1] == pytest.approx(a * b / (1.0 + c_new), rel=1e-14)
    assert se.status == "max_iter" and se.n_iter == 6
    with pytest.raises(ConvergenceError) as err:
        state_evolution(model, max_iter=3)
    assert err.value.result.n_iter == 3


def test_se_initial_state_is_the_grid_prior():
    q = Quantizer.power(2, 1.2, 0.5)  # asymmetric-in-spacing but symmetric grid
    model = QuantizedRegression(quantizer=q, alpha=1.5, beta=3.0, noise=0.2, ridge=0.3)
    se = state_evolution(model)
    mean0, var0 = prior_moments(q.levels, -0.5 * 3.0 * 0.3 * q.levels**2)
    assert se.trajectory.V[0] == pytest.approx(var0, rel=1e-15)
    assert se.trajectory.mse[0] == pytest.approx(model.rho + mean0**2, rel=1e-15)
    assert se.trajectory.A[0] == pytest.approx(1.5 * 3.0 / (1.0 + 3.0 * var0), rel=1e-15)


def test_se_rejects_zero_temperature():
    with pytest.raises(ValueError, match="beta"):
        state_evolution(card_model(2, 1.5, beta=math.inf))


# --------------------------------------------------------------------------------------------
# AMP
# --------------------------------------------------------------------------------------------


def test_amp_uses_the_shared_grid_denoiser():
    # one implementation of f and v for RS, SE and AMP (design rule)
    assert amp.grid_posterior is channel.grid_posterior


@pytest.fixture(scope="module")
def stable_instance():
    model = card_model(2, 1.5)
    return model, generate(model, 600, seed=3)


def test_amp_converges_and_reports(stable_instance):
    model, inst = stable_instance
    res = run(inst.X, inst.y, model.quantizer, model.beta, teacher=inst.w0, tol=1e-9)
    assert res.converged and res.residual < 1e-9
    tr = res.trajectory
    assert tr.mse.size == res.n_iter + 1 == tr.residual.size + 1
    w0, w = inst.w0, res.estimate
    assert res.mse == pytest.approx(float(np.mean((w0 - w) ** 2)), rel=1e-12)
    assert res.m == pytest.approx(float(w0 @ w) / w.size, rel=1e-12)
    assert res.q == pytest.approx(float(w @ w) / w.size, rel=1e-12)
    # the estimate is a posterior mean on the grid: inside the convex hull of the levels
    assert np.all(w >= -1.5) and np.all(w <= 1.5)
    # RS theory mse = 0.153 (card); at N = 600 one instance scatters by ~10 % (card, AMP)
    assert res.mse == pytest.approx(solve_rs(model).mse, rel=0.3)


def test_amp_fixed_point_does_not_depend_on_damping(stable_instance):
    model, inst = stable_instance
    kw = {"teacher": inst.w0, "tol": 1e-11, "max_iter": 2000}
    undamped = run(inst.X, inst.y, model.quantizer, model.beta, **kw)
    damped = run(inst.X, inst.y, model.quantizer, model.beta, damping=0.6, **kw)
    assert undamped.converged and damped.converged
    assert damped.n_iter > undamped.n_iter
    # the fixed-point equations do not contain η; both stop within tol = 1e-11 of the same
    # point, amplified by 1/(1 − contraction) ~ 10
    np.testing.assert_allclose(damped.estimate, undamped.estimate, atol=1e-9)


def test_amp_fixed_point_is_a_denoiser_fixed_point(stable_instance):
    model, inst = stable_instance
    res = run(inst.X, inst.y, model.quantizer, model.beta, tol=1e-12, max_iter=2000)
    X, y, w, v = inst.X, inst.y, res.estimate, res.variance
    N, M = w.size, y.size
    V = float(np.mean(v))
    # at the fixed point g = (y − Xŵ + V g)/(1/β + V)  ⇔  g = (y − Xŵ)/(1/β)
    g = (y - X @ w) * model.beta
    A = (M / N) / (1.0 / model.beta + V)
    f, vv = channel.grid_posterior(w + X.T @ g / A, A, model.quantizer.levels)
    np.testing.assert_allclose(f, w, atol=1e-10)  # tol 1e-12 RMS, ×~10 for the contraction
    np.testing.assert_allclose(vv, v, atol=1e-10)


def test_amp_full_variance_matches_scalar(stable_instance):
    model, inst = stable_instance
    kw = {"teacher": inst.w0, "tol": 1e-9}
    sc = run(inst.X, inst.y, model.quantizer, model.beta, **kw)
    full = run(inst.X, inst.y, model.quantizer, model.beta, variance="full", **kw)
    assert full.converged
    assert np.shape(full.A) == (600,)
    # Σ_μ X²_μi v and Σ_μ X²_μi differ from their means by O(1/√N) relative fluctuations that
    # average out in the MSE: the two fixed points differ by O(1/N) ~ 2e-3 of the MSE
    assert full.mse == pytest.approx(sc.mse, rel=1e-2)


def test_amp_with_ridge_runs_and_shrinks(stable_instance):
    model, inst = stable_instance
    plain = run(inst.X, inst.y, model.quantizer, model.beta, teacher=inst.w0)
    ridged = run(inst.X, inst.y, model.quantizer, model.beta, ridge=2.0, teacher=inst.w0)
    assert ridged.converged
    # the log prior −βλq²/2 favours the inner levels: the estimate's norm decreases
    assert ridged.q < plain.q


def test_amp_nonconvergence_is_a_status():
    model = card_model(2, 3.0)  # AT = 1.67: undamped AMP wanders (card)
    inst = generate(model, 400, seed=1)
    res = run(inst.X, inst.y, model.quantizer, model.beta, max_iter=40, throw=False)
    assert res.status == "max_iter" and res.n_iter == 40
    assert res.mse is None and res.m is None  # no teacher given: nothing to report
    stalled = run(inst.X, inst.y, model.quantizer, model.beta, patience=5, throw=False)
    assert stalled.status == "stalled" and stalled.n_iter < 300
    with pytest.raises(ConvergenceError) as err:
        run(inst.X, inst.y, model.quantizer, model.beta, max_iter=10)
    assert err.value.result.n_iter == 10


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"beta": math.inf}, "beta"),
        ({"beta": -1.0}, "beta"),
        ({"damping": 1.0}, "damping"),
        ({"damping": -0.1}, "damping"),
        ({"max_iter": 0}, "max_iter"),
        ({"tol": 0.0}, "tol"),
        ({"ridge": -1.0}, "ridge"),
        ({"variance": "diag"}, "variance"),
        ({"patience": 0}, "patience"),
        ({"teacher": np.zeros(3)}, "teacher"),
        ({"quantizer": [[1.0]]}, "quantizer"),
    ],
)
def test_amp_rejects_bad_input(kwargs, match):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 10)) / math.sqrt(10), rng.standard_normal(20)
    args = {"quantizer": Quantizer.uniform(1, 1.0), "beta": 2.0} | kwargs
    with pytest.raises(ValueError, match=match):
        run(X, y, **args)


def test_amp_rejects_bad_shapes():
    X = np.zeros((20, 10))
    with pytest.raises(ValueError, match="X"):
        run(np.zeros(10), np.zeros(10), Quantizer.uniform(1, 1.0), 2.0)
    with pytest.raises(ValueError, match="y"):
        run(X, np.zeros(19), Quantizer.uniform(1, 1.0), 2.0)
    with pytest.raises(ValueError, match="y"):
        run(X, np.zeros(20, dtype=np.float32), Quantizer.uniform(1, 1.0), 2.0)


# --------------------------------------------------------------------------------------------
# instances
# --------------------------------------------------------------------------------------------


def test_generate_statistics_and_reproducibility():
    model = card_model(2, 1.5, alpha=1.7)
    inst = generate(model, 700, seed=11)
    M = round(1.7 * 700)
    assert inst.X.shape == (M, 700) and inst.y.shape == (M,) and inst.w0.shape == (700,)
    again = generate(model, 700, seed=11)
    np.testing.assert_array_equal(inst.X, again.X)
    np.testing.assert_array_equal(inst.y, again.y)
    other = generate(model, 700, seed=(11, 1))
    assert not np.array_equal(inst.X, other.X)
    # N·E[X²] = 1: mean of 833k squared normals has relative standard error √(2/833k) = 1.5e-3
    assert float(np.mean(inst.X**2)) * 700 == pytest.approx(1.0, abs=5 * 1.5e-3)
    # residual noise variance 0.1 from M = 1190 draws: relative s.e. √(2/1190) = 0.041
    xi = inst.y - inst.X @ inst.w0
    assert float(np.mean(xi**2)) == pytest.approx(0.1, rel=5 * 0.041)
    f32 = generate(model, 50, seed=1, dtype="float32")
    assert f32.X.dtype == np.float32 and f32.y.dtype == np.float32


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"n": 0}, "n"), ({"seed": -1}, "seed"), ({"seed": 1.5}, "seed"),
     ({"backend": "jax"}, "backend"), ({"dtype": "float16"}, "dtype")],
)  # fmt: skip
def test_generate_rejects_bad_input(kwargs, match):
    args = {"model": card_model(1, 1.0), "n": 10, "seed": 0} | kwargs
    with pytest.raises(ValueError, match=match):
        generate(**args)


# --------------------------------------------------------------------------------------------
# backends
# --------------------------------------------------------------------------------------------


def test_backend_resolution_numpy():
    be = backend.resolve("numpy")
    assert be.name == "numpy" and be.device == "cpu" and be.dtype == "float64"
    x = be.asarray([1.0, 2.0])
    assert isinstance(x, np.ndarray) and backend.backend_of(x) == be
    assert backend.device_of(x) == "cpu"
    assert backend.to_numpy(x) is x
    assert backend.scalar(np.float64(2.5)) == 2.5
    assert "numpy" in backend.available()
    for bad in ("numpy:cuda", "jax", 3):
        with pytest.raises(ValueError, match="backend"):
            backend.resolve(bad)
    with pytest.raises(ValueError, match="array"):
        backend.backend_of([1.0])


def test_torch_cpu_matches_numpy():
    torch = pytest.importorskip("torch")
    model = card_model(2, 1.5)
    inst = generate(model, 300, seed=5)
    be = backend.resolve("torch:cpu")
    X, y, w0 = (be.asarray(a) for a in inst)
    ref = run(inst.X, inst.y, model.quantizer, model.beta, teacher=inst.w0, variance="full")
    res = run(X, y, model.quantizer, model.beta, teacher=w0, variance="full")
    assert isinstance(res.estimate, torch.Tensor) and res.estimate.device.type == "cpu"
    assert res.n_iter == ref.n_iter
    # same float64 arithmetic up to BLAS summation order: rounding-level agreement
    np.testing.assert_allclose(backend.to_numpy(res.estimate), ref.estimate, atol=1e-10)
    tinst = generate(model, 300, seed=5, backend="torch:cpu")
    assert isinstance(tinst.X, torch.Tensor) and tinst.X.shape == (600, 300)


# the GPU checks, also run on torch's CPU build (installed in CI, .ci/run) so that the array-API
# path of the same test runs everywhere; N = 2000 on a GPU, 1000 on the CPU (test time)
GPU = pytest.mark.gpu


@pytest.mark.parametrize(("spec", "n"), [pytest.param("cupy", 2000, marks=GPU),
                                         pytest.param("torch:cuda", 2000, marks=GPU),
                                         ("torch:cpu", 1000)])  # fmt: skip
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_backend_matches_numpy(spec, n, dtype):
    pytest.importorskip(spec.partition(":")[0])
    model = card_model(2, 1.5)
    inst = generate(model, n, seed=7)
    be = backend.resolve(spec, dtype)
    X, y, w0 = (be.asarray(a) for a in inst)
    ref = run(inst.X, inst.y, model.quantizer, model.beta, teacher=inst.w0)
    res = run(X, y, model.quantizer, model.beta, teacher=w0)
    on = backend.backend_of(res.estimate)  # torch names the device "cuda:0" where be says "cuda"
    assert (on.name, on.dtype) == (be.name, dtype) and on.device.startswith(be.device)
    assert res.converged
    # float64: rounding-level differences (BLAS order); float32: single precision of the
    # mat-vecs (~1e-7 relative) propagated through ~40 contracting iterations
    tol = 1e-9 if dtype == "float64" else 1e-4
    np.testing.assert_allclose(backend.to_numpy(res.estimate), ref.estimate, atol=tol)
    dev = generate(model, n, seed=7, backend=spec, dtype=dtype)
    assert backend.backend_of(dev.X).device.startswith(be.device)
    out = run(dev.X, dev.y, model.quantizer, model.beta, teacher=dev.w0)
    # an independent instance: the card's ±10 % per-instance scatter at N ~ 2000 (±15 % at 1000)
    assert out.mse == pytest.approx(solve_rs(model).mse, rel=0.3)


# --------------------------------------------------------------------------------------------
# extrapolation and experiments
# --------------------------------------------------------------------------------------------


def test_extrapolate_two_sizes_is_exact_algebra():
    N1, N2, y1, y2, s1, s2 = 500.0, 2000.0, 0.31, 0.30, 0.004, 0.002
    fit = extrapolate([N1, N2], [y1, y2], [s1, s2])
    # two points: the line through them, with propagated errors
    assert fit.mse_inf == pytest.approx((N2 * y2 - N1 * y1) / (N2 - N1), rel=1e-13)
    se = math.hypot(N2 * s2, N1 * s1) / (N2 - N1)
    assert fit.mse_inf_se == pytest.approx(se, rel=1e-12)
    assert fit.dof == 0 and fit.chi2 == pytest.approx(0.0, abs=1e-20)
    three = extrapolate([250, 500, 1000], [0.2 + 3 / 250, 0.2 + 3 / 500, 0.2 + 3 / 1000],
                        [0.01, 0.01, 0.01])  # fmt: skip
    assert (three.mse_inf, three.c) == pytest.approx((0.2, 3.0), rel=1e-12)
    assert extrapolate([100], [0.3], [0.01]).status != "ok"


def test_size_means_control_variate_removes_explained_variance():
    rng = np.random.default_rng(4)
    groups = np.repeat([100, 200], 400)
    u = rng.standard_normal(800)
    noise = 0.01 * rng.standard_normal(800)
    vals = 1.0 + 0.5 * u + noise
    _, _, plain_se, _, _ = size_means(vals, groups)
    _, cv, cv_se, counts, kappa = size_means(vals, groups, u[:, None])
    assert counts.tolist() == [400, 400]
    # κ recovers 0.5 up to s.e. 0.01/√800 = 3.5e-4
    assert kappa[0] == pytest.approx(0.5, abs=5 * 3.5e-4)
    # the remaining s.e. is that of the noise alone: 0.01/√400 = 5e-4 (±10 % sampling)
    assert cv_se == pytest.approx([5e-4, 5e-4], rel=0.15)
    assert np.all(plain_se > 20 * cv_se)
    assert cv == pytest.approx([1.0, 1.0], abs=5 * 5e-4)


def test_experiment_dataset_and_resume(tmp_path, monkeypatch):
    model = card_model(2, 1.5)
    ck = tmp_path / "ck.nc"
    calls = []
    real_run = run

    def counting_run(*args, **kwargs):
        calls.append(args[0].shape[1])
        return real_run(*args, **kwargs)

    # the package attribute ``experiment`` is the function: patch the module itself
    monkeypatch.setattr(sys.modules["replica.amp.experiment"], "run", counting_run)
    ds = experiment(model, sizes=[200, 400], seeds=4, checkpoint=ck)
    assert len(calls) == 8
    assert ds["mse"].shape == (2, 4) and ds["converged"].dtype == bool
    assert ds["n_converged"].values.tolist() == ds["converged"].sum("seed").values.tolist()
    assert np.all(ds["n_iter"].values >= 1) and np.all(np.isfinite(ds["mse"].values))
    assert ds.attrs["fit_status"] == "ok" and ds.attrs["rs_status"] == "converged"
    assert float(ds["rs_mse"]) == pytest.approx(float(ds["se_mse"]), rel=1e-10)
    saved = load_netcdf(ck)
    assert saved.attrs["meta"]["params"]["alpha"] == 2.0
    np.testing.assert_array_equal(saved["mse"].values, ds["mse"].values)
    # restart with one more seed and one more size: only the 2 + 5 missing instances run
    calls.clear()
    ds2 = experiment(model, sizes=[200, 400, 300], seeds=5, checkpoint=ck)
    assert sorted(calls) == [200, 300, 300, 300, 300, 300, 400]
    np.testing.assert_array_equal(ds2["mse"].sel(seed=[0, 1, 2, 3], size=[200, 400]), ds["mse"])
    with pytest.raises(ValueError, match="checkpoint"):
        experiment(model.replace(alpha=3.0), sizes=[100], seeds=1, checkpoint=ck)


def test_experiment_rejects_bad_input():
    model = card_model(2, 1.5)
    with pytest.raises(ValueError, match="sizes"):
        experiment(model, sizes=[100, 100])
    with pytest.raises(ValueError, match="seeds"):
        experiment(model, sizes=[100], seeds=0)
    with pytest.raises(ValueError, match="seeds"):
        experiment(model, sizes=[100], seeds=[1, 1])


def test_generate_refuses_a_matrix_that_cannot_fit_in_memory():
    # issue 7: N up to the memory limit with a clear error. M × N = 2e7 × 1e7 float64 is 1.5 PB:
    # refused before anything is allocated (it used to raise numpy's MemoryError)
    with pytest.raises(
        ValueError, match=r"^n: expected .*fits in memory.*GiB needed.*got 10000000"
    ):
        generate(card_model(1, 1.0), 10**7, seed=0)
    be = backend.resolve("numpy")
    free = be.free_memory()
    assert free is None or free > 0
    # just above the available memory is refused too; a small instance still works
    if free is not None:
        n = math.isqrt(free // (2 * 8)) + 1000  # α = 2: M·N·8 bytes > free
        with pytest.raises(ValueError, match="fits in memory"):
            generate(card_model(1, 1.0), n, seed=0)
    assert generate(card_model(1, 1.0), 10, seed=0).X.shape == (20, 10)


def test_experiment_without_converged_instances_is_flagged_not_a_crash():
    # fuzz (issue 7): with no converged instance the control-variate matrix has 0 rows and
    # size_means raised "cannot reshape array of size 0"; now the means are NaN with
    # n_converged = 0 and fit_status says why
    ds = experiment(card_model(2, 1.5), sizes=[10, 20], seeds=2, max_iter=1)
    assert ds["n_converged"].values.tolist() == [0, 0]
    assert np.isnan(ds["mse_cv"].values).all() and ds.attrs["fit_status"] != "ok"
    labels, means, sems, counts, kappa = size_means([], [], np.zeros((0, 2)))
    assert labels.size == means.size == sems.size == counts.size == kappa.size == 0


def test_state_evolution_at_exact_recovery():
    # fuzz (issue 7): σ² = 0 with the teacher on the grid: mse_t underflows to 0, so Δ_t = 0 was
    # passed to the channel (0/0: RuntimeWarning), and Δ = 0 vs the previous tiny Δ made the
    # relative change 1 forever (max_iter). Δ is floored at 1e-300 (a fixed point representing 0).
    from replica.teachers import DiscreteTeacher

    q = Quantizer.power(4, 433.25758269352235, 2.0)
    model = QuantizedRegression(quantizer=q, alpha=431.3, beta=64565.7, noise=0.0,
                                teacher=DiscreteTeacher.on_grid(q))  # fmt: skip
    se = state_evolution(model, max_iter=440, tol=1e-10)
    assert se.converged and se.mse == 0.0 and np.isfinite(se.trajectory.mse).all()


@pytest.mark.parametrize("bits", [1, 2, 5])
@pytest.mark.parametrize("A", [1e-3, 0.7, 40.0, 1e6])
def test_numpy_denoiser_path_equals_array_api_path(bits, A):
    # grid_posterior takes a numpy-only path (levels-first layout, logits floored at -600) for
    # a scalar A; a 0-d array A takes the array-API path. The two round the logits differently
    # (A·(r c − c²/2) vs (A c) r − A c²/2): an error δ ≤ 4 eps |logit| moves f by at most
    # spread·δ (∂f/∂logit_k = p_k (c_k − f)) and v by spread²·δ; plus 1e-13 of the scale for
    # the summation order (weights below e^-600 cannot change a double sum)
    from replica import channel

    lv = Quantizer.uniform(bits, 1.5).levels
    rng = np.random.default_rng(bits)
    r = np.concatenate([3.0 * rng.standard_normal(200 - lv.size), [-50.0, 0.0, 50.0, 1.0], lv])
    r = r.reshape(2, -1)
    for log_prior in (None, -0.3 * lv**2):
        f, v = channel.grid_posterior(r, A, lv, log_prior)
        f_ref, v_ref = channel.grid_posterior(r, np.asarray(A), lv, log_prior)
        assert f.shape == v.shape == r.shape
        spread = lv[-1] - lv[0] if lv.size > 1 else 1.0
        delta = 4 * np.finfo(float).eps * A * (np.abs(r).max() * 1.5 + 1.5**2 / 2 + 0.3 * 1.5**2)
        np.testing.assert_allclose(f, f_ref, rtol=0, atol=1e-13 * 1.5 + spread * delta)
        np.testing.assert_allclose(v, v_ref, rtol=1e-12, atol=1e-13 * 1.5**2 + spread**2 * delta)
