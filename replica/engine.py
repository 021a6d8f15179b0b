"""The sweep engine: independent tasks on any executor, with per-task checkpoints and resume.

Generic infrastructure, below the physics it runs: a sweep hands in its tasks as JSON text and
a module-level function ``solve(task_json) -> result_json`` (the per-line function), and gets
back the results as they complete. Nothing but text crosses process boundaries, and checkpoint
files are netCDF: no pickle is written anywhere. Where tasks run follows
:mod:`replica._executor` by default (this process for small sweeps, a reused local process pool,
never fork, when it pays off), or ``"serial"``, ``"processes"``, any
:class:`concurrent.futures.Executor` or a ``dask.distributed.Client``.

Checkpoint and resume (:func:`run_tasks` with ``path``): every finished task is written
atomically to ``<path>.parts/line-<index>.nc`` as it completes; a run killed at any moment (even
by SIGKILL) and started again with the same key loads the finished tasks, recomputes only the
missing ones and writes the same final dataset to ``path``. A damaged checkpoint is a cache
miss: it is removed with a :class:`~replica.errors.CheckpointWarning` and its task recomputed.

A result is a JSON object ``{"fields": {name: [one value per point]}, <scalar>: value, …}``;
its checkpoint stores strings as text, integers as int32 and other numbers as float64. This
module imports no theory module (a test in ``tests/test_architecture.py`` keeps it so): what a
task means is the caller's business, e.g. :mod:`replica.sweep` for grids of RS solutions.
"""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, as_completed
from pathlib import Path

import numpy as np

from . import _executor, io
from .errors import CheckpointWarning, CorruptFileError, check

__all__ = ["execute", "run_tasks"]

#: a task: ``(index, position, task JSON)``; the position is the caller's (e.g. in a grid)
Task = tuple[int, tuple, str]


# ----------------------------------------------------------------------------- execution
def execute(
    tasks: list[Task],
    solve: Callable[[str], str],
    solve_chunk: Callable[[list[str]], list[str]],
    executor,
    max_workers,
) -> Iterator[tuple[int, dict]]:
    """Yield ``(index, result)`` as tasks complete.

    ``solve`` (one task) and ``solve_chunk`` (a list of tasks, for the local pool) must be
    module-level functions: they are sent to worker processes by name. ``executor``: None (the
    default rules of :mod:`replica._executor`: serial unless a pool pays off), ``"serial"``,
    ``"processes"``, a :class:`concurrent.futures.Executor` or a ``dask.distributed.Client``.
    """
    if executor is None:  # the default rules of replica._executor: serial unless it pays off
        local = _executor.run_local([(idx, task) for idx, _, task in tasks], solve,
                                    solve_chunk, max_workers, "replica sweep")  # fmt: skip
        for idx, res in local:
            yield idx, json.loads(res)
        return
    if isinstance(executor, str):
        check(executor in ("serial", "processes"), "executor",
              "None, 'serial', 'processes', an Executor or a dask Client", executor)  # fmt: skip
        workers = 1 if executor == "serial" else (max_workers or _executor.available_cpus())
        local = _executor.run_local([(idx, task) for idx, _, task in tasks], solve,
                                    solve_chunk, workers, "replica sweep")  # fmt: skip
        for idx, res in local:
            yield idx, json.loads(res)
        return
    if hasattr(executor, "get_executor"):  # dask.distributed.Client
        ex = executor.get_executor()
    else:
        check(isinstance(executor, Executor), "executor",
              "None, 'serial', 'processes', a concurrent.futures.Executor or a dask Client",
              executor)  # fmt: skip
        ex = executor
    futures = {ex.submit(solve, task): idx for idx, _, task in tasks}
    for fut in as_completed(futures):
        yield futures[fut], json.loads(fut.result())


# ----------------------------------------------------------------------------- checkpoints
def _parts_dir(path: Path) -> Path:
    return path.with_name(path.name + ".parts")


def _result_ds(result: dict):
    """A task's result as a dataset (strings as text, integers as int32, numbers as float)."""
    import xarray as xr

    def dtype(v):
        if isinstance(v, str):
            return object
        return np.int32 if isinstance(v, int) and not isinstance(v, bool) else float

    data = {}
    for k, v in result["fields"].items():
        data[k] = ("point", np.array(v, dtype=dtype(v[0]) if v else float))
    for k, v in result.items():
        if k != "fields":
            data[k] = ((), np.int32(v) if dtype(v) is np.int32 else float(v))
    return xr.Dataset(data)


def _ds_result(ds) -> dict:
    fields, scalars = {}, {}
    for k in ds.data_vars:
        v = ds[k].values
        if ds[k].ndim == 0:
            scalars[k] = int(v) if v.dtype.kind == "i" else float(v)
            continue
        fields[k] = [str(s) for s in v] if v.dtype == object else v.tolist()
    return {"fields": fields, **scalars}


def _load_parts(parts: Path, key: str, n_tasks: int) -> dict[int, dict]:
    done = {}
    if not parts.is_dir():
        return done
    for stale in parts.glob(".line-*.partial"):  # a write interrupted by a kill
        stale.unlink()
    for file in sorted(parts.glob("line-*.nc")):
        try:
            ds = io.load_netcdf(file)
        except CorruptFileError as exc:  # a checkpoint is a cache: recompute the task
            warnings.warn(f"{exc}; recomputing that line", CheckpointWarning, stacklevel=4)
            file.unlink()
            continue
        meta = ds.attrs.get("meta", {})
        if meta.get("sweep_key") != key:
            raise ValueError(
                f"path: expected checkpoints of this sweep in {parts}, got {file.name} from a "
                "different sweep (another resume key: other arguments, another package version "
                "or checkpoint layout; remove the directory or choose another path)"
            )
        idx = int(meta["line"])
        if 0 <= idx < n_tasks:
            done[idx] = _ds_result(ds)
    return done


# ----------------------------------------------------------------------------- entry point
def run_tasks(
    tasks: list[Task],
    solve: Callable[[str], str],
    solve_chunk: Callable[[list[str]], list[str]],
    assemble: Callable[[dict[int, dict]], object],
    *,
    key: str,
    meta: dict,
    path=None,
    executor=None,
    max_workers: int | None = None,
    progress: bool = True,
    points: int = 1,
):
    """Run ``solve`` on every task, with checkpoints, and assemble the results.

    Parameters
    ----------
    tasks : list of (index, position, task JSON)
    solve, solve_chunk : callable
        Module-level functions ``task JSON -> result JSON`` and the same on a list of tasks
        (the local pool receives chunks).
    assemble : callable
        ``{index: result} -> xarray.Dataset`` once every task is done.
    key : str
        Identity of the run (e.g. :func:`replica.io.resume_key` of its arguments): checkpoints
        and a final file from another key are refused.
    meta : dict
        Metadata record (:func:`replica.io.metadata`) written with the final dataset.
    path : path-like, optional
        Checkpoint/results file (netCDF), see the module docstring. An existing final file of
        the same key is loaded and returned without computing anything.
    executor, max_workers :
        See :func:`execute`.
    progress : bool
        Show a tqdm progress bar, counting ``points`` per task.

    Returns
    -------
    xarray.Dataset
        ``assemble(done)`` (reloaded from ``path`` when one is given).

    Raises
    ------
    OutputLockedError
        Another live process is running on the same ``path`` (:func:`replica.io.output_lock`).
    """
    if path is None:
        return _run(tasks, solve, solve_chunk, assemble, key, meta, None, executor, max_workers,
                    progress, points)  # fmt: skip
    path = io.check_output_path(path, "path")
    # one process per output: a second one would write (and remove) the same checkpoints
    with io.output_lock(path):
        return _run(tasks, solve, solve_chunk, assemble, key, meta, path, executor, max_workers,
                    progress, points)  # fmt: skip


def _run(tasks, solve, solve_chunk, assemble, key, meta, path, executor, max_workers, progress,
         points):  # fmt: skip
    from tqdm.auto import tqdm

    done: dict[int, dict] = {}
    parts = None
    if path is not None:
        if path.exists():
            ds = io.load_netcdf(path)
            if ds.attrs.get("meta", {}).get("sweep_key") != key:
                raise ValueError(
                    f"path: expected no file or the results of this sweep, got {path} from a "
                    "different sweep (another resume key: other arguments, another package "
                    "version or file layout; remove it or choose another path)"
                )
            if _parts_dir(path).is_dir():  # killed after the final write: tidy up
                shutil.rmtree(_parts_dir(path))
            return ds
        parts = _parts_dir(path)
        done = _load_parts(parts, key, len(tasks))
        parts.mkdir(parents=True, exist_ok=True)
    todo = [t for t in tasks if t[0] not in done]
    with tqdm(total=len(tasks) * points, initial=len(done) * points, disable=not progress,
              desc="sweep", unit="pt") as bar:  # fmt: skip
        for idx, result in execute(todo, solve, solve_chunk, executor, max_workers):
            done[idx] = result
            if parts is not None:
                io.save_netcdf(_result_ds(result), parts / f"line-{idx:06d}.nc",
                               {"sweep_key": key, "line": idx})  # fmt: skip
            bar.update(points)
    ds = assemble(done)
    if path is not None:
        out = ds.copy()
        out.attrs = {}
        io.save_netcdf(out, path, meta)
        shutil.rmtree(parts)
        return io.load_netcdf(path)
    return ds
