"""Reliability: no mixed-up data, no silently accepted damaged file, no lost work (issue 14).

Each test is named after the failure it guards against. The fuzz targets of the same classes
(every argument changes a resume key, random corruptions) are in ``tests/test_fuzz_reliability.py``.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import json
import os
import re
import sys
import warnings

import numpy as np
import pytest

import replica
from replica import io
from replica.amp import experiment
from replica.designs import CovarianceDesign
from replica.errors import CheckpointWarning, CorruptFileError
from replica.phase import phase_diagram
from replica.quantizers import Quantizer
from replica.regression import QuantizedRegression
from replica.sweep import run_sweep
from replica.teachers import DiscreteTeacher

MODEL = QuantizedRegression(quantizer=Quantizer.uniform(1, 1.0), alpha=2.0, beta=5.0, noise=0.1)


# ----------------------------------------------------------------------------- resume keys
class _Stop(Exception):
    pass


def captured_key(monkeypatch, call):
    """Run ``call`` until it computes its resume key; return ``(key, func, exempt)``."""
    real = io.resume_key
    got = []

    def spy(func, arguments, exempt, extra=None):
        got.append((real(func, arguments, exempt, extra), func, dict(exempt)))
        raise _Stop

    monkeypatch.setattr(io, "resume_key", spy)
    with pytest.raises(_Stop):
        call()
    monkeypatch.setattr(io, "resume_key", real)
    return got[0]


#: one changed value per model field (each changes what the theory or AMP computes)
MODEL_CHANGES = {
    "quantizer": Quantizer.uniform(2, 1.0),
    "alpha": 2.5,
    "beta": 6.0,
    "noise": 0.2,
    "ridge": 0.1,
    "teacher": DiscreteTeacher(values=[-1.0, 1.0]),
    "estimator": "sample",
    "include_noise": False,
    "design": CovarianceDesign(eigenvalues=[0.5, 1.5]),
}
#: model fields a resumable function refuses instead of keying (documented there); run_sweep
#: carries a structured design in its spec since issue 20
REFUSED: set = set()

SWEEP_BASE = {"model": MODEL, "grid": {"width": [0.5, 1.0], "noise": [0.1, 0.2]},
              "along": None, "boundaries": True}  # fmt: skip
SWEEP_CHANGES = {
    "grid": {"width": [0.5, 1.1], "noise": [0.1, 0.2]},
    "along": "noise",
    "boundaries": False,
}
EXPERIMENT_BASE = {"model": MODEL}
EXPERIMENT_CHANGES = {
    "backend": replica.amp.backend.Backend(name="torch", device="cpu"),
    "dtype": "float32",
    "damping": 0.3,
    "max_iter": 301,
    "tol": 1e-8,
    "variance": "full",
    "patience": 10,
    "base_seed": 1,
}

RESUMABLE = {
    "run_sweep": (run_sweep, SWEEP_BASE, SWEEP_CHANGES),
    "experiment": (experiment, EXPERIMENT_BASE, EXPERIMENT_CHANGES),
}


def _call(func, kwargs):
    kw = dict(kwargs)
    model, grid = kw.pop("model"), kw.pop("grid", None)
    return lambda: func(model, grid, **kw) if grid is not None else func(model, **kw)


@pytest.mark.parametrize("name", sorted(RESUMABLE))
def test_resume_key_changes_with_every_argument(name, monkeypatch):
    """Issue 14.1: the key holds every argument that can change the result. The parameters are
    read from the signature, so an argument added later without a key entry (or a documented
    exemption) fails here."""
    func, base, changes = RESUMABLE[name]
    key0, keyed_func, exempt = captured_key(monkeypatch, _call(func, base))
    assert keyed_func is func
    params = [n for n in inspect.signature(func).parameters if n not in exempt]
    untested = sorted(set(params) - set(changes) - {"model"})
    assert not untested, f"{name}: add a changed value for the new arguments {untested}"
    for p in params:
        if p == "model":
            continue
        k, *_ = captured_key(monkeypatch, _call(func, {**base, p: changes[p]}))
        assert k != key0, f"{name}: argument {p} does not change the resume key"
    for field in dataclasses.fields(QuantizedRegression):
        assert field.name in MODEL_CHANGES, f"add a changed value for model.{field.name}"
        model = dataclasses.replace(MODEL, **{field.name: MODEL_CHANGES[field.name]})
        if (name, field.name) in REFUSED:
            with pytest.raises(ValueError, match=r"^model: expected"):
                _call(func, {**base, "model": model})()
            continue
        k, *_ = captured_key(monkeypatch, _call(func, {**base, "model": model}))
        assert k != key0, f"{name}: model.{field.name} does not change the resume key"
    # the same arguments give the same key (in another spelling: numpy scalars, tuples)
    same = {**base, "model": MODEL.replace(alpha=np.float64(2.0))}
    assert captured_key(monkeypatch, _call(func, same))[0] == key0


def test_resume_key_changes_with_the_package_version(monkeypatch):
    key0 = captured_key(monkeypatch, _call(run_sweep, SWEEP_BASE))[0]
    # the version has one source, replica._version (replica.__version__ re-exports it)
    monkeypatch.setattr(replica._version, "__version__", replica.__version__ + ".post1")
    assert captured_key(monkeypatch, _call(run_sweep, SWEEP_BASE))[0] != key0


def test_phase_diagram_arguments_reach_the_resume_key(monkeypatch):
    """phase_diagram resumes through run_sweep: its axes and model must reach the key."""
    two = {"width": [0.5, 1.0], "alpha": [1.0, 2.0]}
    key0, _, exempt = captured_key(monkeypatch, lambda: phase_diagram(MODEL, **two))
    changed = {
        "model": lambda: phase_diagram(MODEL.replace(noise=0.3), **two),
        "grid": lambda: phase_diagram(MODEL, **{**two, "width": [0.5, 1.1]}),
        "along": lambda: phase_diagram(MODEL, along="alpha", **two),
    }
    for name, call in changed.items():
        assert captured_key(monkeypatch, call)[0] != key0, name
    untested = set(inspect.signature(phase_diagram).parameters) - set(changed) - set(exempt)
    assert not untested, f"phase_diagram: add a changed value for {sorted(untested)}"


def test_resume_key_refuses_an_argument_it_cannot_describe():
    with pytest.raises(TypeError, match="resume key"):
        io.canonical(lambda: 0)
    with pytest.raises(RuntimeError, match="missing"):
        io.resume_key(run_sweep, {"model": 1}, {})


def test_experiment_checkpoint_of_another_base_seed_is_refused(tmp_path):
    """Issue 14.1: a base_seed=0 checkpoint was silently reused (and relabelled) by a
    base_seed=1 run."""
    ck = tmp_path / "ck.nc"
    a = experiment(MODEL, sizes=[20], seeds=2, checkpoint=ck, max_iter=20)
    with pytest.raises(ValueError, match="checkpoint: expected a file of this experiment"):
        experiment(MODEL, sizes=[20], seeds=2, checkpoint=ck, max_iter=20, base_seed=1)
    with pytest.raises(ValueError, match="checkpoint"):
        experiment(MODEL, sizes=[20], seeds=2, checkpoint=ck, max_iter=20, dtype="float32")
    # and base_seed does change the instances (so a mix-up would have changed the numbers)
    b = experiment(MODEL, sizes=[20], seeds=2, max_iter=20, base_seed=1)
    assert not np.array_equal(a["rho_emp"].values, b["rho_emp"].values)


# ----------------------------------------------------------------------------- damaged files
def truncate(path, frac=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * frac)])


def garbage(path):
    path.write_bytes(np.random.default_rng(1).bytes(max(64, path.stat().st_size)))


def empty(path):
    path.write_bytes(b"")


def flip_float(path, value: float):
    """Flip the lowest mantissa bit of the stored big-endian float64 ``value`` (netCDF-3 data):
    a one-bit change of a number, the hardest damage to notice."""
    data = bytearray(path.read_bytes())
    needle = np.array(value, dtype=">f8").tobytes()
    at = data.find(needle)
    assert at >= 0, "value not found in the file"
    data[at + 7] ^= 1
    path.write_bytes(bytes(data))


DAMAGE = {"truncated": truncate, "garbage": garbage, "empty": empty}

SWEEP_GRID = {"width": [0.5, 1.0, 2.0], "noise": [0.1, 0.2]}


@pytest.fixture(scope="module")
def sweep_ref():
    return run_sweep(MODEL, SWEEP_GRID, executor="serial", progress=False)


def _data_equal(a, b):
    for k in ("gen_error", "mse", "at", "status"):
        np.testing.assert_array_equal(a[k].values, b[k].values)


@pytest.mark.parametrize("damage", [*DAMAGE, "bit flip"])
def test_damaged_checkpoint_part_is_recomputed_with_a_warning(tmp_path, damage, sweep_ref):
    """Issue 14.4: a damaged part (a cache) is recomputed, and the user is told which."""
    path = tmp_path / "s.nc"

    class Stop(Exception):
        pass

    from replica import sweep as sweep_mod

    real = sweep_mod._solve_line
    n = {"lines": 0}

    def second_fails(task):
        n["lines"] += 1
        if n["lines"] == 2:
            raise Stop
        return real(task)

    import unittest.mock as um

    with um.patch.object(sweep_mod, "_solve_line", second_fails), pytest.raises(Stop):
        run_sweep(MODEL, SWEEP_GRID, executor="serial", progress=False, path=path)
    parts = sorted((tmp_path / "s.nc.parts").glob("line-*.nc"))
    assert len(parts) == 1
    part = parts[0]
    if damage == "bit flip":
        saved = io.load_netcdf(part)
        flip_float(part, float(saved["gen_error"].values[0]))
    else:
        DAMAGE[damage](part)
    with pytest.warns(CheckpointWarning, match=rf"{part.name}.*recomputing"):
        ds = run_sweep(MODEL, SWEEP_GRID, executor="serial", progress=False, path=path)
    _data_equal(ds, sweep_ref)


@pytest.mark.parametrize("damage", [*DAMAGE, "bit flip"])
def test_damaged_final_results_file_is_a_clear_error_naming_it(tmp_path, damage):
    """Issue 14.4: a damaged results file the user passed in is never accepted silently nor a
    67-line traceback: one CorruptFileError (a ValueError) naming the file."""
    path = tmp_path / "s.nc"
    ds = run_sweep(MODEL, SWEEP_GRID, executor="serial", progress=False, path=path)
    if damage == "bit flip":
        flip_float(path, float(ds["gen_error"].values[1, 0]))
    else:
        DAMAGE[damage](path)
    with pytest.raises(CorruptFileError, match=rf"{path}: expected a results file") as err:
        run_sweep(MODEL, SWEEP_GRID, executor="serial", progress=False, path=path)
    assert isinstance(err.value, ValueError) and "\n" not in str(err.value)


@pytest.mark.parametrize("damage", [*DAMAGE, "bit flip"])
def test_damaged_experiment_checkpoint_is_a_clear_error_naming_it(tmp_path, damage):
    ck = tmp_path / "ck.nc"
    ds = experiment(MODEL, sizes=[20], seeds=2, checkpoint=ck, max_iter=20)
    if damage == "bit flip":
        flip_float(ck, float(ds["mse"].values[0, 1]))
    else:
        DAMAGE[damage](ck)
    with pytest.raises(CorruptFileError, match=str(ck)):
        experiment(MODEL, sizes=[20], seeds=2, checkpoint=ck, max_iter=20)


@pytest.mark.parametrize("damage", ["truncated", "bit flip", "garbage"])
def test_damaged_csv_table_is_a_clear_error_naming_it(tmp_path, damage):
    path = tmp_path / "t.csv"
    io.save_csv(path, {"x": [0.125, 0.5], "y": [1.0, 2.0]}, {"what": "test"})
    cols, meta = io.load_csv(path)
    assert cols["x"].tolist() == [0.125, 0.5] and meta["what"] == "test"
    data = bytearray(path.read_bytes())
    if damage == "bit flip":
        data[data.find(b"0.125") + 4] ^= 1  # 0.125 -> 0.124
        path.write_bytes(bytes(data))
    else:
        DAMAGE[damage](path)
    with pytest.raises(CorruptFileError, match=str(path)):
        io.load_csv(path)


def test_files_without_a_checksum_are_still_read(tmp_path):
    """Files written before checksums existed (the committed figure data) stay readable."""
    import xarray as xr

    path = tmp_path / "old.nc"
    xr.Dataset({"a": ("x", [1.0, 2.0])}).to_netcdf(path, engine="scipy")
    assert io.load_netcdf(path)["a"].values.tolist() == [1.0, 2.0]


def test_checksum_survives_the_netcdf_round_trip(tmp_path):
    import xarray as xr

    ds = xr.Dataset(
        {"f": ("x", [0.1, np.nan]), "i": ("x", np.array([1, -1], dtype=np.int8)),
         "s": ("x", np.array(["RS", "RSB"], dtype=object))},
        coords={"x": np.array([100, 200], dtype=np.int64)},
    )  # fmt: skip
    io.save_netcdf(ds, tmp_path / "a.nc", {"k": 1})
    back = io.load_netcdf(tmp_path / "a.nc")
    assert back.attrs["meta"] == {"k": 1}
    assert back["s"].values.tolist() == ["RS", "RSB"]


def test_results_files_respect_the_umask(tmp_path):
    """Issue 14 CLI: files were created 0600 by mkstemp; they must get 0666 & ~umask."""
    old = os.umask(0o022)
    try:
        io.save_csv(tmp_path / "t.csv", {"x": [1.0]}, {})
        io.save_netcdf(__import__("xarray").Dataset({"a": ("x", [1.0])}), tmp_path / "a.nc")
        os.umask(0o002)
        io.save_csv(tmp_path / "u.csv", {"x": [1.0]}, {})
    finally:
        os.umask(old)
    mode = lambda p: (tmp_path / p).stat().st_mode & 0o777  # noqa: E731
    assert mode("t.csv") == 0o644 and mode("t.meta.json") == 0o644 and mode("a.nc") == 0o644
    assert mode("u.csv") == 0o664


def test_corrupt_file_error_is_one_line_naming_the_file(tmp_path):
    err = CorruptFileError(path=tmp_path / "x.nc", reason="why")
    assert str(tmp_path / "x.nc") in str(err) and isinstance(err, ValueError)
    assert isinstance(err, replica.errors.ReplicaError)
    assert "\n" not in str(err)


# ----------------------------------------------------------------------------- divergence
def test_sgd_simulate_divergence_is_flagged_and_raises():
    """Issue 14.2: spectrum i^-2, d = 50, step 1.98 overflowed to inf mean / NaN s.e. and still
    said 'converged' (and did not raise with throw=True); exact_risk says 'diverged'."""
    from replica.errors import ConvergenceError
    from replica.sgd import SGDProblem, StepSizeWarning, exact_risk, simulate

    p = SGDProblem(spectrum=np.arange(1, 51) ** -2.0, steps=2000, step=1.98)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StepSizeWarning)
        assert exact_risk(p, throw=False).status == "diverged"
        mc = simulate(p, repeats=4, seed=0, throw=False)
        assert mc.status == "diverged" and not mc.converged
        assert not np.isnan(mc.mean).any() and not np.isnan(mc.se).any()
        with pytest.raises(ConvergenceError, match="diverged") as err:
            simulate(p, repeats=4, seed=0)
    assert err.value.result.status == "diverged"


# ----------------------------------------------------------------------------- determinism
def test_sgd_simulate_does_not_depend_on_chunk():
    """Issue 14.8: the result changed with ``chunk`` by up to 0.018. Each run now has its own
    random streams: bit-identical for every chunk size (same machine and thread count)."""
    from replica.noise import Additive, IntRounding
    from replica.sgd import SGDProblem, simulate

    p = SGDProblem(spectrum=np.arange(1, 9) ** -1.5, steps=40, step=0.2, batch=2,
                   quantization={"data": IntRounding(bits=4, scale=3.0),
                                 "gradients": Additive(eps=0.1)})  # fmt: skip
    ref = simulate(p, repeats=12, seed=3)
    for chunk in (1, 5, np.int64(12), 100):
        r = simulate(p, repeats=12, seed=3, chunk=chunk)
        np.testing.assert_array_equal(r.mean, ref.mean)
        np.testing.assert_array_equal(r.se, ref.se)
    # the first runs of a larger ensemble are the same runs
    more = simulate(p, repeats=24, seed=3, record=[40], chunk=7)
    assert more.mean[-1] != ref.mean[-1]
    other = simulate(p, repeats=12, seed=4)
    assert not np.array_equal(other.mean, ref.mean)


def test_sgd_simulate_checks_memory_before_allocating_the_steps():
    """Issue 14 resources: steps=10**10 ran np.arange(steps) before the memory check."""
    from replica.sgd import SGDProblem, simulate

    p = SGDProblem(spectrum=np.ones(3), steps=10**10, step=0.1)
    with pytest.raises(ValueError, match="steps: expected sizes whose arrays fit"):
        simulate(p, repeats=4, seed=0)


@pytest.mark.parametrize("eta", [8.0, 1e160, 1e300])
def test_ste_simulate_divergence_is_flagged_and_raises(eta):
    """Issue 14.2/14.3: dynamics.simulate had no ``throw`` (a blow-up never raised), and at
    η ≥ 1e160 the state overflowed to Q = inf with status 'converged' (the NaN error escaped the
    blow-up test)."""
    from replica.dynamics import STEProblem, simulate
    from replica.errors import ConvergenceError

    p = STEProblem(eta=eta, noise=0.0, init=0.0)  # η = 8 ≫ η_c = 2: every run blows up
    sim = simulate(p, 7, 3.0, seeds=(3, 4), n_points=3, throw=False)
    assert sim.status == "diverged" and sim.diverged.all()
    for name in ("m", "Q", "m_psi", "q_psi", "eg"):
        assert not np.isnan(getattr(sim, name)).any(), name
    assert np.isposinf(sim.Q[:, -1]).all()
    with pytest.raises(ConvergenceError, match="diverged") as err:
        simulate(p, 7, 3.0, seeds=(3, 4), n_points=3)
    assert err.value.result.diverged.all()


# ----------------------------------------------------------------------------- validation
def test_numbers_accept_numpy_scalars_and_0d_arrays_never_bools():
    """Issue 14.3: one helper for every number: Python/numpy ints and floats and 0-d arrays are
    numbers, bools/None/strings are not (ArgumentTypeError, also a ValueError), and the message
    names the argument the user passed."""
    from replica.errors import ArgumentTypeError, integer, real

    for v in (5, 5.0, np.int64(5), np.float32(5.0), np.array(5.0), np.array(5)):
        assert real(v, "beta") == 5.0
    for v in (5, np.int64(5), np.array(5, dtype=np.int32)):
        assert integer(v, "n") == 5
    for bad in (True, np.bool_(False), None, "5", [5.0], np.array([5.0])):
        with pytest.raises(ArgumentTypeError, match=r"^beta: expected"):
            real(bad, "beta")
    for bad in (100.7, 2.0, np.float64(3.0)):  # never truncated
        with pytest.raises(ValueError, match=r"^sizes: expected"):
            integer(bad, "sizes")
    with pytest.raises(ValueError, match=r"^tol: expected a number > 0, got nan"):
        real(float("nan"), "tol", "a number > 0", lambda t: t > 0)
    assert issubclass(ArgumentTypeError, TypeError) and issubclass(ArgumentTypeError, ValueError)


def test_amp_run_validates_beta_types_and_non_finite_data():
    """Issue 14.3: beta=np.int64(5) was rejected and beta=True accepted; a NaN teacher gave a
    NaN result; an M x 0 matrix raised ZeroDivisionError; damping='x' an internal TypeError."""
    from replica.amp import generate, run

    card = QuantizedRegression(quantizer=Quantizer.uniform(2, 1.5), alpha=2.0, beta=5.0,
                               noise=0.1)  # fmt: skip
    inst = generate(card, 200, seed=0)
    q = card.quantizer
    assert run(inst.X, inst.y, q, np.int64(5), teacher=inst.w0).converged
    with pytest.raises(TypeError, match=r"^beta: expected"):
        run(inst.X, inst.y, q, True)
    with pytest.raises(ValueError, match=r"^damping: expected"):
        run(inst.X, inst.y, q, 5.0, damping="x")
    for bad in (np.nan, np.inf):
        w0 = inst.w0.copy()
        w0[3] = bad
        with pytest.raises(ValueError, match=r"^teacher: expected finite entries"):
            run(inst.X, inst.y, q, 5.0, teacher=w0)
        X = inst.X.copy()
        X[0, 0] = bad
        with pytest.raises(ValueError, match=r"^X: expected finite entries"):
            run(X, inst.y, q, 5.0)
    with pytest.raises(ValueError, match=r"^X: expected an \(M, N\) design"):
        run(np.zeros((5, 0)), np.zeros(5), q, 5.0)


def test_experiment_refuses_fractional_sizes_and_seeds():
    """Issue 14.3: sizes=[100.7] silently ran N = 100, seeds=[0.5, 1.5] became [0, 1]."""
    with pytest.raises(ValueError, match=r"^sizes: expected"):
        experiment(MODEL, sizes=[100.7], seeds=1)
    with pytest.raises(ValueError, match=r"^seeds: expected"):
        experiment(MODEL, sizes=[10], seeds=[0.5, 1.5])
    with pytest.raises(TypeError, match=r"^base_seed: expected"):
        experiment(MODEL, sizes=[10], seeds=1, base_seed=True)


def test_float32_amp_default_tolerance_scales_with_the_dtype():
    """Issue 14.3: with tol=1e-7, float32 AMP never converged (rounding floor ~3e-7):
    n_converged [0, 0, 0] and mse_inf NaN. The default is max(1e-7, 32 eps)."""
    from replica.amp.amp import default_tol

    assert default_tol("float64") == 1e-7
    assert default_tol("float32") == pytest.approx(32 * np.finfo(np.float32).eps, rel=1e-12)
    model = QuantizedRegression(quantizer=Quantizer.uniform(2, 1.5), alpha=2.0, beta=5.0,
                                noise=0.1)  # fmt: skip
    ds = experiment(model, sizes=[200, 400], seeds=5, dtype="float32")
    assert ds["n_converged"].values.tolist() == [5, 5]  # as in float64 at these sizes
    assert np.isfinite(float(ds["mse_inf"]))


def test_generate_with_a_missing_gpu_library_says_which_extra_to_install():
    if importlib.util.find_spec("cupy") is not None:
        pytest.skip("cupy is installed: the missing-library message cannot be provoked")
    from replica.amp import generate

    with pytest.raises(ImportError, match=r"pip install 'replica-theory\[gpu\]'"):
        generate(MODEL, 10, seed=0, backend="cupy")


def test_ste_simulate_accepts_numpy_integers():
    """Issue 14.3: simulate rejected numpy integers for chunk and n_points."""
    from replica.dynamics import STEProblem, simulate

    p = STEProblem(eta=0.5)
    a = simulate(p, np.int64(20), 0.5, seeds=(1, 2), n_points=np.int64(3), chunk=np.int32(4))
    b = simulate(p, 20, 0.5, seeds=(1, 2), n_points=3, chunk=4)
    np.testing.assert_array_equal(a.eg, b.eg)
    with pytest.raises(TypeError, match=r"^chunk: expected"):
        simulate(p, 20, 0.5, chunk=True)


def test_wrong_types_name_the_parameter():
    """Issue 14.3: None, strings and objects gave AttributeError/TypeError from inside."""
    from replica.dynamics import STEProblem, ode
    from replica.regression import solve_rs

    with pytest.raises(ValueError, match=r"^model: expected a QuantizedRegression"):
        solve_rs(None)
    with pytest.raises(ValueError, match=r"^t_max: expected"):
        ode(STEProblem(eta=1.0), "5")
    with pytest.raises(ValueError, match=r"^rtol: expected"):
        ode(STEProblem(eta=1.0), 1.0, rtol=float("nan"))
    with pytest.raises(ValueError, match=r"^damping: expected"):
        solve_rs(MODEL, damping="x")
    with pytest.raises(ValueError, match=r"^init_align: expected a finite number, got nan"):
        STEProblem(eta=1.0, init_align=float("nan"))


def test_extreme_values_name_the_parameter_the_user_passed():
    """Issue 14.3: Quantizer.uniform(2, 1e308) named 'levels', SketchedProblem(exponent=1e308)
    named 'spectrum'; Quantizer(levels=[-1e308, 1e308]).gaussian_moments() was inf/NaN."""
    from replica.sgd import SketchedProblem

    with pytest.raises(ValueError, match=r"^width: expected"):
        Quantizer.uniform(2, 1e308)
    with pytest.raises(ValueError, match=r"^levels: expected values of magnitude"):
        Quantizer(levels=[-1e308, 1e308])
    m = Quantizer(levels=[-1e150, 1e150]).gaussian_moments(0.0, 1.0)
    assert np.isfinite([m.first, m.second, m.cross]).all()
    with pytest.raises(ValueError, match=r"^exponent: expected"):
        SketchedProblem(exponent=1e308, dim=10, model_size=5, samples=10)
    with pytest.raises(ValueError, match=r"^alpha: expected"):
        QuantizedRegression(quantizer=MODEL.quantizer, alpha=5e-324, beta=5.0, noise=0.1)


def test_fixed_points_teacher_grid_and_q_range_are_checked():
    """Issue 14.3: n_teacher=0 gave eps_g = 1.0 (true 0.286), 3 gave 1.021, 1-2 gave ();
    a reversed q_range returned () silently."""
    from replica.dynamics import STEProblem, fixed_points

    p = STEProblem(eta=1.0, weight_quantizer=Quantizer.uniform(1, 1.0), init=1.0)
    for n in (0, 1, 2, 3, 400, 2.5):
        with pytest.raises(ValueError, match=r"^n_teacher: expected"):
            fixed_points(p, n_teacher=n)
    with pytest.raises(ValueError, match=r"^q_range: expected"):
        fixed_points(p, kind="gibbs", q_range=(1e3, 1e-4))
    # 401 nodes (the minimum) against 20001: the documented 1e-4 relative accuracy
    coarse = fixed_points(p, n_teacher=np.int64(401))[0].eg
    fine = fixed_points(p, n_teacher=20001)[0].eg
    assert coarse == pytest.approx(fine, rel=1e-4)


@pytest.mark.parametrize("eta", [1e300, 1e-300])
def test_ode_and_fixed_points_at_extreme_learning_rates(eta):
    """Issue 14 resources: η = 1e300 raised OverflowError in ode, η = 1e-300 gave scipy's
    'function value is NaN' in fixed_points: now a flagged result or a clear ValueError."""
    from replica.dynamics import STEProblem, fixed_points, ode

    p = STEProblem(eta=eta, weight_quantizer=Quantizer.uniform(1, 1.0), init=1.0)
    tr = ode(p, 1.0, throw=False)
    assert tr.status in ("converged", "diverged")
    assert not np.isnan(tr.eg).any()
    if eta > 1:
        assert tr.status == "diverged"
    try:
        fps = fixed_points(p)
    except ValueError as exc:
        assert str(exc).startswith("eta: expected")
    else:
        assert all(np.isfinite(fp.eg) for fp in fps)


# ----------------------------------------------------------------------------- processes
def _descendants(pid: int) -> set[int]:
    """Live descendants of ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rpartition(")")[2].split()
            except OSError:
                continue
            if fields[0] != "Z":
                children.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.add(c)
            todo.append(c)
    return out


def _alive(pids) -> set[int]:
    from replica._executor import _alive as alive

    return {p for p in pids if alive(p)}


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to list child processes")
@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM"])
def test_killed_phase_sweep_leaves_no_process_behind(tmp_path, sig):
    """Issue 14.6: after kill -9 (or SIGTERM) of ``replica phase`` with the process pool, the
    forkserver, the resource tracker and two ~90 MB workers stayed alive for good. Workers now
    watch their parent; SIGTERM unwinds like Ctrl-C. No descendant may survive 5 s."""
    import signal
    import subprocess
    import time

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "replica.cli", "phase", "--bits", "1,2,3,4",
           "--width", "0.2:8:300:log", "--alpha", "0.5:3:8", "--workers", "2", "--quiet",
           "--out", str(tmp_path / "p.nc")]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    kids: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            kids |= _descendants(proc.pid)
            if len(kids) >= 3:  # forkserver (or tracker) and the two workers are up
                time.sleep(1.0)
                kids |= _descendants(proc.pid)
                break
            time.sleep(0.2)
        assert proc.poll() is None and len(kids) >= 3, f"pool never started: {kids}"
        proc.send_signal(getattr(signal, sig))
        proc.wait(timeout=30)
        if sig == "SIGTERM":
            assert proc.returncode == 143, proc.stderr.read().decode()[-2000:]
        t0 = time.monotonic()
        while _alive(kids) and time.monotonic() - t0 < 5.0:
            time.sleep(0.1)
        assert not _alive(kids), f"processes left behind after {sig}: {sorted(_alive(kids))}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for p in _alive(kids | _descendants(proc.pid)):  # never leave our processes behind
            os.kill(p, signal.SIGKILL)


def test_second_process_on_the_same_output_is_refused_clearly(tmp_path):
    """Issue 14.5: two runs on one --out crashed each other (FileNotFoundError from rmtree).
    The lock is a flock on <out>.lock naming its owner: a second writer is refused."""
    from replica.errors import OutputLockedError

    path = tmp_path / "s.nc"
    with io.output_lock(path) as lock:
        assert json.loads(lock.read_text())["pid"] == os.getpid()
        with pytest.raises(OutputLockedError, match=rf"pid {os.getpid()} .*s\.nc\.lock"):
            run_sweep(MODEL, SWEEP_GRID, executor="serial", progress=False, path=path)
        with pytest.raises(OutputLockedError):
            experiment(MODEL, sizes=[20], seeds=1, checkpoint=path, max_iter=5)
    assert not lock.exists()  # released and removed
    # a lock file left by a dead process (SIGKILL) holds no flock: it is stale and taken over
    lock.write_text(json.dumps({"pid": 999999999, "host": "gone"}))
    ds = run_sweep(MODEL, SWEEP_GRID, executor="serial", progress=False, path=path)
    assert ds["gen_error"].shape == (3, 2) and not lock.exists()


def test_cli_second_phase_run_on_the_same_out_exits_1_with_one_line(tmp_path, capsys):
    from replica.cli import main

    out = tmp_path / "p.nc"
    with io.output_lock(out):
        rc = main(["phase", "--bits", "1", "--width", "0.5,1", "--quiet", "--executor",
                   "serial", "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and "another replica process" in err[0]


# ----------------------------------------------------------------------------- CLI
PHASE = ["phase", "--bits", "1", "--width", "0.5,1", "--quiet", "--executor", "serial"]


@pytest.mark.parametrize(
    "extra, what",
    [
        (["--out", "/dev/null"], "--out: expected a regular file path"),
        (["--out", ""], "--out: expected a file path"),
        (["--out", "/proc/x.nc"], "--out: expected a path in a writable directory"),
        (["--workers", "0"], "--workers: expected an integer >= 1"),
        (["--workers", "-1"], "--workers: expected an integer >= 1"),
        (["--scheduler", "nonsense"], "--scheduler: expected the address"),
    ],
)
def test_cli_bad_output_workers_or_scheduler_is_one_line_exit_2(extra, what, capsys):
    """Issue 14 CLI: these were accepted silently, crashed with a traceback, or waited 30 s."""
    from replica.cli import main

    rc = main(PHASE + extra)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and what in err[0], err


# ----------------------------------------------------------------------------- resources
def _huge_inputs(scale: float = 1.0):
    """Calls that would exhaust memory or run for hours, each with the parameter its refusal
    must name. ``scale`` (>= 1) makes them larger still (fuzz target)."""
    from replica.amp import generate, run
    from replica.dynamics import STEProblem, fixed_points, ode, pde
    from replica.dynamics import simulate as ste_simulate
    from replica.regression import solve_rs
    from replica.sgd import SGDProblem, SketchedProblem, sketched_risk
    from replica.sgd import simulate as sgd_simulate
    from replica.sgd.risk import exact_risk_dense

    k = max(1.0, scale)
    grid20 = Quantizer.uniform(20, 1.0)
    X = np.random.default_rng(0).standard_normal((200, 1000)) / 32.0  # N = 1000 weights
    return {
        "solve_rs 20-bit grid": (
            "quantizer",
            lambda: solve_rs(QuantizedRegression(quantizer=grid20, alpha=2.0, beta=5.0, noise=0.1)),
        ),
        "amp.run 20-bit grid": (
            "quantizer",
            lambda: run(X, np.ones(200), grid20, 5.0),
        ),
        "amp.generate": ("n", lambda: generate(MODEL, int(1e7 * k), seed=0)),
        "SketchedProblem(dim=1e6, model_size=1e5)": (
            "dim, model_size",
            lambda: sketched_risk(
                SketchedProblem(exponent=2.0, dim=int(1e6 * k), model_size=int(1e5 * k), samples=10)
            ),
        ),
        "exact_risk_dense(d=2e5)": (
            "spectrum",
            lambda: exact_risk_dense(
                SGDProblem(spectrum=np.ones(int(2e5 * min(k, 2.0))), steps=2, step=1e-7)
            ),
        ),
        "sgd.simulate(steps=1e10)": (
            "repeats, chunk, record, steps",
            lambda: sgd_simulate(
                SGDProblem(spectrum=np.ones(3), steps=int(1e10 * k), step=0.1), repeats=4, seed=0
            ),
        ),
        "fixed_points(n_teacher=1e9)": (
            "n_teacher",
            lambda: fixed_points(
                STEProblem(eta=1.0, weight_quantizer=Quantizer.uniform(1, 1.0)),
                n_teacher=int(1e9 * k),
            ),
        ),
        "ode(n_points=1e8)": (
            "n_points",
            lambda: ode(STEProblem(eta=1.0), 1.0, n_points=int(1e8 * k)),
        ),
        "pde(eta=1e6)": ("dt", lambda: pde(STEProblem(eta=1e6 * k), 1.0)),
        "dynamics.simulate(d=1e9)": (
            "d, seeds, chunk",
            lambda: ste_simulate(STEProblem(eta=0.5), int(1e9 * k), 1.0, seeds=range(4)),
        ),
    }


def refused_before_allocating(name, call, what):
    """``call`` raises a ValueError naming ``name`` and allocates < 64 MB on the way (the
    refusal comes before the big arrays; tracemalloc sees numpy's allocations)."""
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=rf"^{re.escape(name)}: expected") as err:
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"{what}: {peak / 2**20:.0f} MB allocated before the refusal"
    return err.value


@pytest.mark.parametrize("what", list(_huge_inputs()))
def test_huge_inputs_are_refused_before_allocating(what):
    """Issue 14 resources: each took minutes or exhausted memory before failing. One helper
    (errors.check_memory) checks every estimate first; pde caps its work."""
    name, call = _huge_inputs()[what]
    refused_before_allocating(name, call, what)
