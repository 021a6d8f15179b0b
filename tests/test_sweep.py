"""Sweeps: same dataset on every executor, continuation = independent solves, checkpoint files
with metadata (no pickle), SIGKILL-and-resume, a Dask LocalCluster."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import Executor, Future
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from replica import Quantizer, io
from replica.phase import at_boundary, interpolation_threshold
from replica.regression import QuantizedRegression, solve_rs
from replica.sweep import PHASES, make_quantizer, run_sweep

# the sweep of the kill-and-resume test, shared with its subprocess (24 lines of 12 points)
SETUP = textwrap.dedent(
    """
    import numpy as np
    from replica import Quantizer
    from replica.regression import QuantizedRegression
    model = QuantizedRegression(quantizer=Quantizer.uniform(1, 1.0), alpha=2.0, beta=5.0,
                                noise=0.1)
    grid = {"bits": [1, 2, 3], "noise": [0.05, 0.1, 0.2, 0.3], "alpha": [1.5, 3.0],
            "width": np.linspace(0.3, 4.0, 12)}
    """
)


def setup():
    ns: dict = {}
    exec(SETUP, ns)
    return ns["model"], ns["grid"]


def base(**kw):
    kw = {"quantizer": Quantizer.uniform(1, 1.0), "alpha": 2.0, "beta": 5.0, "noise": 0.1, **kw}
    return QuantizedRegression(**kw)


def data_equal(a: xr.Dataset, b: xr.Dataset):
    """Exact equality of values, coordinates and variable attributes; the metadata records
    agree except for their creation time."""
    xr.testing.assert_identical(a.drop_attrs(deep=False), b.drop_attrs(deep=False))
    ma, mb = dict(a.attrs["meta"]), dict(b.attrs["meta"])
    ma.pop("created"), mb.pop("created")
    assert ma == mb


class CountingExecutor(Executor):
    """Runs tasks inline and counts them (to check what a resumed sweep recomputes)."""

    def __init__(self):
        self.n = 0

    def submit(self, fn, *args, **kwargs):
        self.n += 1
        fut = Future()
        fut.set_result(fn(*args, **kwargs))
        return fut


def test_sweep_matches_independent_solves_and_labels():
    grid = {"bits": [1, 2], "width": [0.5, 1.0, 2.0, 3.0], "beta": [5.0, math.inf]}
    ds = run_sweep(base(), grid, executor="serial", progress=False)
    assert ds["gen_error"].dims == ("bits", "width", "beta")
    for b in grid["bits"]:
        for w in grid["width"]:
            for beta in grid["beta"]:
                s = solve_rs(base(quantizer=Quantizer.uniform(b, w), beta=beta))
                pt = ds.sel(bits=b, width=w, beta=beta)
                # continuation reaches the same (unique) saddle point as a cold start: the two
                # agree to the solver tolerance (1e-11 relative on Δ, χ)
                assert float(pt.gen_error) == pytest.approx(s.gen_error, rel=1e-9)
                assert float(pt.train_error) == pytest.approx(s.train_error, rel=1e-9)
                assert pt.status.item() == s.status == "converged"
                assert float(pt.at) == pytest.approx(s.at, rel=1e-8) or math.isinf(s.at)
                assert pt.phase.item() == ("RS" if s.at < 1 else "RSB")
    # β = ∞ on a discrete grid is always RSB (AT = ∞)
    assert set(ds["phase"].sel(beta=math.inf).values.ravel()) == {"RSB"}
    assert set(ds["phase"].values.ravel()) <= set(PHASES)
    # the AT line along the continuation axis (width) at β = 5 is the bracketed root
    assert ds["at_boundary_width"].sel(bits=1, beta=5.0) == pytest.approx(
        at_boundary(base(), "width", bracket=(0.5, 1.0)).value, abs=1e-8
    )


def test_sweep_below_threshold_reports_no_rs_solution_and_alpha_c():
    grid = {"alpha": [0.2, 0.3, 0.5, 1.0], "beta": [math.inf], "bits": [1, 2]}
    ds = run_sweep(base(), grid, executor="serial", progress=False)
    for b in (1, 2):
        ac = interpolation_threshold(base(quantizer=Quantizer.uniform(b, 1.0))).alpha_c
        assert float(ds["alpha_c"].sel(bits=b)) == ac  # the same deterministic computation
        line = ds.sel(bits=b, beta=math.inf)
        below = line["alpha"].values < ac
        assert np.all(line["phase"].values[below] == "no RS solution")
        assert np.all(line["status"].values[below] == "no_rs_solution")
        # no order parameters without a solution: NaN there, explained by status and phase
        assert np.all(np.isnan(line["gen_error"].values[below]))
        assert np.all(np.isfinite(line["gen_error"].values[~below]))


def test_sweep_grid_families_and_unswept_coordinates():
    grid = {"grid": ["uniform", "gaussian_quantile", "power:2"], "width": [1.0, 2.0]}
    ds = run_sweep(base(quantizer=Quantizer.uniform(2, 1.0)), grid, executor="serial",
                   progress=False)  # fmt: skip
    s = solve_rs(base(quantizer=make_quantizer("gaussian_quantile", 2, 2.0)))
    assert float(ds["gen_error"].sel(grid="gaussian_quantile", width=2.0)) == pytest.approx(
        s.gen_error, rel=1e-9
    )
    assert int(ds["bits"]) == 2 and float(ds["alpha"]) == 2.0  # scalar coordinates


def test_sweep_invalid_input():
    with pytest.raises(ValueError, match="grid"):
        run_sweep(base(), {"temperature": [1.0]}, executor="serial", progress=False)
    with pytest.raises(ValueError, match="along"):
        run_sweep(base(), {"width": [1.0, 2.0]}, along="alpha", executor="serial")
    with pytest.raises(ValueError, match="alpha"):
        run_sweep(base(), {"alpha": [1.0, -1.0]}, executor="serial")
    with pytest.raises(ValueError, match="grid"):
        run_sweep(base(), {"grid": ["lloyd"]}, executor="serial")
    with pytest.raises(ValueError, match="distinct"):
        run_sweep(base(), {"width": [1.0, 1.0]}, executor="serial")
    custom = base(quantizer=Quantizer(levels=[-1.0, 0.2, 1.5]))
    with pytest.raises(ValueError, match="bits"):
        run_sweep(custom, {"bits": [1, 2]}, executor="serial")
    # a custom grid can still be swept in width (rescaled shape)
    ds = run_sweep(custom, {"width": [1.5, 3.0]}, executor="serial", progress=False)
    s = solve_rs(custom.replace(quantizer=Quantizer(levels=[-2.0, 0.4, 3.0])))
    assert float(ds["gen_error"].sel(width=3.0)) == pytest.approx(s.gen_error, rel=1e-9)
    with pytest.raises(ValueError, match="executor"):
        run_sweep(base(), {"width": [1.0]}, executor="threads")


def test_results_file_metadata_and_reload(tmp_path):
    path = tmp_path / "sweep.nc"
    grid = {"bits": [1, 2], "width": [0.5, 1.5, 2.5]}
    ds = run_sweep(base(), grid, executor="serial", progress=False, path=path)
    assert path.read_bytes()[:3] == b"CDF"  # netCDF, not pickle
    assert not (tmp_path / "sweep.nc.parts").exists()  # checkpoints removed on completion
    meta = ds.attrs["meta"]
    assert meta["version"] and meta["seed"] is None
    assert meta["params"]["dims"] == [["bits", [1, 2]], ["width", [0.5, 1.5, 2.5]]]
    assert meta["params"]["base"]["alpha"] == 2.0
    # the file holds what the in-memory sweep returns; a second call just loads it
    data_equal(ds, run_sweep(base(), grid, executor="serial", progress=False))
    counter = CountingExecutor()
    again = run_sweep(base(), grid, executor=counter, progress=False, path=path)
    assert counter.n == 0
    data_equal(ds, again)
    with pytest.raises(ValueError, match="different sweep"):
        run_sweep(base(alpha=3.0), grid, executor="serial", progress=False, path=path)


class InterruptingExecutor(Executor):
    """Runs the first ``limit`` tasks inline; the others fail as if the run had been stopped."""

    def __init__(self, limit):
        self.limit, self.n = limit, 0

    def submit(self, fn, *args, **kwargs):
        self.n += 1
        fut = Future()
        if self.n <= self.limit:
            fut.set_result(fn(*args, **kwargs))
        else:
            fut.set_exception(KeyboardInterrupt("stopped"))
        return fut


def test_resume_recomputes_only_missing_lines(tmp_path):
    path = tmp_path / "sweep.nc"
    grid = {"bits": [1, 2, 3], "width": [0.5, 1.5, 2.5]}  # 3 lines along width
    ref = run_sweep(base(), grid, executor="serial", progress=False)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(base(), grid, executor=InterruptingExecutor(limit=2), progress=False,
                  path=path)  # fmt: skip
    parts = tmp_path / "sweep.nc.parts"
    saved = _count_parts(parts)
    assert not path.exists() and 0 <= saved <= 2
    # a write interrupted by a kill leaves a temporary file: it is discarded on resume
    (parts / ".line-000002.nc.abc.partial").write_bytes(b"CDF\x01 truncated")
    counter = CountingExecutor()
    ds = run_sweep(base(), grid, executor=counter, progress=False, path=path)
    assert counter.n == 3 - saved  # only the missing lines
    assert not parts.exists()
    data_equal(ds, ref)


def test_checkpoints_of_an_older_layout_are_refused(tmp_path, monkeypatch):
    # parts and final files written before lines recorded alpha_max (layout 2) lack that field:
    # the layout is in the resume key, so they are refused with a message that names it, not
    # assembled into a dataset without alpha_max
    import replica.sweep as sweep

    def stop(*args):
        raise KeyboardInterrupt("stopped after the last part was written")

    path, final = tmp_path / "sweep.nc", tmp_path / "final.nc"
    grid = {"bits": [1, 2], "width": [0.5, 1.5]}
    monkeypatch.setattr(sweep, "_FORMAT", 2)
    run_sweep(base(), grid, executor="serial", progress=False, path=final)
    monkeypatch.setattr(sweep, "_assemble", stop)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(base(), grid, executor="serial", progress=False, path=path)
    assert _count_parts(tmp_path / "sweep.nc.parts") == 2 and not path.exists()
    monkeypatch.undo()
    with pytest.raises(ValueError, match=r"different sweep .*checkpoint layout"):
        run_sweep(base(), grid, executor="serial", progress=False, path=path)
    with pytest.raises(ValueError, match=r"different sweep .*file layout"):
        run_sweep(base(), grid, executor="serial", progress=False, path=final)


def _count_parts(parts: Path) -> int:
    return len(list(parts.glob("line-*.nc"))) if parts.is_dir() else 0


@pytest.mark.slow
def test_sigkill_and_resume_gives_the_uninterrupted_dataset(tmp_path):
    model, grid = setup()
    ref = run_sweep(model, grid, executor="serial", progress=False)
    n_lines = ref.sizes["bits"] * ref.sizes["noise"] * ref.sizes["alpha"]
    script = tmp_path / "run.py"
    script.write_text(
        SETUP
        + textwrap.dedent(
            """
            import sys
            from replica.sweep import run_sweep
            if __name__ == "__main__":
                run_sweep(model, grid, path=sys.argv[1], max_workers=2, progress=False)
            """
        )
    )
    path = tmp_path / "sweep.nc"
    parts = tmp_path / "sweep.nc.parts"
    # own session: SIGKILL goes to the sweep and its worker processes at once
    proc = subprocess.Popen([sys.executable, str(script), str(path)], start_new_session=True)
    try:
        t0 = time.monotonic()
        while _count_parts(parts) < 3 and proc.poll() is None and time.monotonic() - t0 < 120:
            time.sleep(0.005)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the sweep finished before it could be killed"
    assert not path.exists()
    finished = _count_parts(parts)
    assert 3 <= finished < n_lines
    counter = CountingExecutor()
    ds = run_sweep(model, grid, executor=counter, progress=False, path=path)
    assert counter.n == n_lines - finished  # only the missing lines were recomputed
    data_equal(ds, ref)
    data_equal(ds, io.load_netcdf(path))
    meta = json.loads(json.dumps(ds.attrs["meta"]))
    assert meta["params"]["along"] == "width"


@pytest.mark.slow
def test_default_process_pool_and_dask_local_cluster_give_the_same_dataset():
    distributed = pytest.importorskip("distributed")
    grid = {"bits": [1, 2], "width": [0.5, 1.0, 2.0, 3.0]}
    serial = run_sweep(base(), grid, executor="serial", progress=False)
    pool = run_sweep(base(), grid, max_workers=2, progress=False)
    data_equal(pool, serial)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:  # fmt: skip
        with distributed.Client(cluster) as client:
            dask = run_sweep(base(), grid, executor=client, progress=False)
    data_equal(dask, pool)
