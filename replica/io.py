"""Results files: tidy tables and labelled datasets with a metadata record, never pickle.

Every file written by :mod:`replica` (sweeps, paper reproductions) carries the package version,
the parameters and the seeds that produced it. Writes are atomic (write to a temporary file in the
same directory, then :func:`os.replace`), so a killed process never leaves a half-written file.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
import platform
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["atomic_write", "load_csv", "load_netcdf", "metadata", "save_csv", "save_netcdf"]


def _jsonable(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return repr(v)


def metadata(params: Mapping[str, Any] | None = None, seed: Any = None, **extra) -> dict:
    """Metadata record: package version, time, platform, parameters and seed(s)."""
    from . import __version__

    return _jsonable(
        {
            "package": "replica-theory",
            "version": __version__,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "params": dict(params or {}),
            "seed": seed,
            **extra,
        }
    )


def atomic_write(path: str | os.PathLike, write) -> Path:
    """Call ``write(tmp_path)`` then atomically move the temporary file onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def save_csv(path, columns: Mapping[str, Any], meta: Mapping[str, Any]) -> Path:
    """Write equal-length ``columns`` as a CSV table and ``meta`` as ``<path>.meta.json``."""
    cols = {k: np.asarray(v).ravel() for k, v in columns.items()}
    lengths = {len(v) for v in cols.values()}
    if len(lengths) > 1:
        raise ValueError(
            f"columns: expected equal lengths, got { ({k: len(v) for k, v in cols.items()}) }"
        )

    def write_table(tmp):
        with open(tmp, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(cols)
            for row in zip(*cols.values()):
                w.writerow(
                    [repr(float(x)) if isinstance(x, (float, np.floating)) else x for x in row]
                )

    path = Path(path)
    atomic_write(
        path.with_suffix(".meta.json"), lambda t: Path(t).write_text(json.dumps(meta, indent=1))
    )
    return atomic_write(path, write_table)


def load_csv(path) -> tuple[dict[str, np.ndarray], dict]:
    """Read a table written by :func:`save_csv`: ``(columns, meta)``; numeric columns as floats."""
    path = Path(path)
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    cols = {}
    for j, name in enumerate(header):
        raw = [r[j] for r in body]
        try:
            cols[name] = np.array([float(x) for x in raw])
        except ValueError:
            cols[name] = np.array(raw, dtype=object)
    meta_path = path.with_suffix(".meta.json")
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    return cols, meta


def save_netcdf(ds, path, meta: Mapping[str, Any] | None = None) -> Path:
    """Atomically write an :class:`xarray.Dataset` to netCDF (scipy engine, no extra dependency);
    ``meta`` is stored as a JSON string in the ``replica_meta`` attribute."""
    ds = ds.copy()
    if meta is not None:
        ds.attrs["replica_meta"] = json.dumps(_jsonable(meta))
    return atomic_write(path, lambda tmp: ds.to_netcdf(tmp, engine="scipy"))


def load_netcdf(path):
    """Load a dataset written by :func:`save_netcdf` fully into memory; ``attrs["meta"]`` holds the
    decoded metadata record."""
    import xarray as xr

    with xr.open_dataset(path, engine="scipy") as ds:
        ds = ds.load()
    if "replica_meta" in ds.attrs:
        ds.attrs["meta"] = json.loads(ds.attrs.pop("replica_meta"))
    return ds
