"""Results files: tidy tables and labelled datasets with a metadata record, never pickle.

Every file written by :mod:`replica` (sweeps, paper reproductions) carries the package version,
the parameters and the seeds that produced it. Writes are atomic (write to a temporary file in the
same directory, then :func:`os.replace`), so a killed process never leaves a half-written file,
and the new file gets the permissions of any file the user creates (``0666`` less the umask).

Integrity: every file also carries a SHA-256 checksum of its data (the ``replica_checksum``
attribute of a netCDF file, the ``sha256`` entry of a table's ``.meta.json``). The loaders verify
it and raise :class:`~replica.errors.CorruptFileError` naming the file on a mismatch (a flipped
bit) or when the file cannot be read at all (truncated, garbage, empty). Files written before
checksums existed carry none and are read unchecked.

Resume keys: a resumable computation (:func:`replica.sweep.run_sweep`,
:func:`replica.amp.experiment`) stores :func:`resume_key` of *all* its arguments that can change
the result, together with the package version, and refuses (or recomputes) work stored under a
different key.
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import dataclasses
import datetime as _dt
import hashlib
import inspect
import io as _io
import json
import math
import os
import platform
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import _version
from .errors import CorruptFileError

__all__ = [
    "atomic_write",
    "canonical",
    "check_output_path",
    "checksum",
    "context",
    "load_csv",
    "load_netcdf",
    "metadata",
    "output_lock",
    "resume_key",
    "save_csv",
    "save_netcdf",
]


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


_CONTEXT: contextvars.ContextVar[dict | None] = contextvars.ContextVar("replica_io", default=None)


@contextlib.contextmanager
def context(*, on_write=None, **fields):
    """Within the block, every metadata record also carries ``fields`` (for example
    ``quick=True``: whether the data are the coarse or the full version) and ``on_write(path)``
    is called after each file is written (progress reports)."""
    outer = _CONTEXT.get() or {}
    token = _CONTEXT.set({"fields": {**outer.get("fields", {}), **fields},
                          "on_write": on_write or outer.get("on_write")})  # fmt: skip
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def metadata(params: Mapping[str, Any] | None = None, seed: Any = None, **extra) -> dict:
    """Metadata record: package version, time, platform, parameters and seed(s), and the fields
    of an enclosing :func:`context`. Whether the data are the coarse version (``quick``) is
    recorded at the top level also when only ``params`` says it (a compute step called outside
    ``replica repro``)."""
    ctx = _CONTEXT.get() or {}
    extra = {**ctx.get("fields", {}), **extra}
    if "quick" not in extra and params is not None and "quick" in params:
        extra["quick"] = bool(params["quick"])
    return _jsonable(
        {
            "package": "replica-theory",
            "version": _version.__version__,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "params": dict(params or {}),
            "seed": seed,
            **extra,
        }
    )


# ----------------------------------------------------------------------------- resume keys
def _float(x: float):
    # exact and JSON-safe: 0.1 and 0.1 + 1e-17 differ, -0.0 and NaN/inf are spelled out
    return x if math.isfinite(x) and x != 0.0 else {"float": float.hex(x)}


def canonical(value: Any) -> Any:
    """A JSON-able, exact description of ``value`` for :func:`resume_key`.

    Numbers keep their exact value (Python and numpy ints and floats of equal value are equal;
    bools stay bools), arrays their dtype, shape and every element, dataclasses their class and
    every field, other objects their class and attributes. An object that cannot be described
    exactly (no attributes, e.g. a function) raises ``TypeError``: a key that silently ignored it
    could mix up results.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _float(float(value))
    if isinstance(value, complex):
        return {"complex": [_float(value.real), _float(value.imag)]}
    if isinstance(value, np.ndarray):
        return {"array": value.dtype.str, "shape": list(value.shape),
                "data": [canonical(x) for x in value.ravel().tolist()]}  # fmt: skip
    if isinstance(value, Mapping):
        return {"mapping": [[canonical(k), canonical(v)] for k, v in value.items()]}
    if isinstance(value, (list, tuple, range)):
        return [canonical(x) for x in value]
    if isinstance(value, (set, frozenset)):
        return {"set": sorted(json.dumps(canonical(x), sort_keys=True) for x in value)}
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    cls = f"{type(value).__module__}.{type(value).__qualname__}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"class": cls, "fields": fields}
    state = getattr(value, "__dict__", None)
    if state:
        return {"class": cls, "fields": {k: canonical(v) for k, v in sorted(state.items())}}
    raise TypeError(f"resume key: cannot describe a {cls} exactly ({value!r:.80})")


def resume_key(
    func,
    arguments: Mapping[str, Any],
    exempt: Mapping[str, str],
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Key of a resumable computation: SHA-256 of the function's name, the package version and
    the exact value (:func:`canonical`) of every argument that can change the result.

    ``arguments`` must name every parameter of ``func`` except those in ``exempt`` (parameter →
    why it cannot change the stored results, e.g. the executor of a deterministic computation):
    a parameter added to ``func`` later and forgotten here is an error, not a silent mix-up.
    ``extra`` holds other determinants (a file-layout version, a resolved dtype …).
    """
    params = [
        n
        for n, p in inspect.signature(func).parameters.items()
        if p.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    missing = sorted(set(params) - set(arguments) - set(exempt))
    both = sorted(set(arguments) & set(exempt))
    if missing or both:  # a programming error in replica, not bad user input
        raise RuntimeError(
            f"resume key of {func.__qualname__}: arguments {missing} missing, {both} both "
            "keyed and exempt"
        )
    record = {
        "function": f"{func.__module__}.{func.__qualname__}",
        "version": _version.__version__,
        "arguments": {k: canonical(v) for k, v in arguments.items()},
        "extra": {k: canonical(v) for k, v in (extra or {}).items()},
    }
    text = json.dumps(record, sort_keys=True, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def check_output_path(path, name: str = "path") -> Path:
    """Validate a results path before anything is computed: a non-empty path that is not a
    directory or a device, in a directory where files can be created (``/dev/null``, ``''``,
    ``/proc/x.nc`` are refused with a ``ValueError`` naming ``name``)."""
    if isinstance(path, (str, bytes)) and not path:
        raise ValueError(f"{name}: expected a file path, got {path!r}")
    try:
        path = Path(os.fsdecode(path))
    except TypeError:
        raise ValueError(f"{name}: expected a file path, got {path!r}") from None
    if path.exists() and not path.is_file():
        kind = "a directory" if path.is_dir() else "not a regular file (a device or a pipe)"
        raise ValueError(f"{name}: expected a regular file path, got {str(path)!r} ({kind})")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        raise ValueError(
            f"{name}: expected a path in a writable directory, got {str(path)!r} "
            f"({exc.strerror or exc})"
        ) from None
    return path


# ----------------------------------------------------------------------------- locks
def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


@contextlib.contextmanager
def output_lock(path):
    """Hold ``<path>.lock`` while this process writes ``path`` (and its checkpoints).

    The lock is an exclusive ``flock`` on the lock file, which records the owner's pid and
    host: the kernel releases it when the owner dies (even by SIGKILL), so a stale lock file
    never blocks a later run. A second process asking for the same output meanwhile gets
    :class:`~replica.errors.OutputLockedError` naming the owner, instead of both writing (and
    deleting) the same checkpoints.
    """
    path = Path(path)
    lock = _lock_path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
        try:
            _flock(fd, lock)
        except BaseException:
            os.close(fd)
            raise
        # the owner before us may have removed the file between our open and our lock: then
        # we hold a lock on a deleted inode; start again on the current file
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": platform.node()}).encode())
        yield lock
    finally:
        try:
            os.unlink(lock)
        except FileNotFoundError:
            pass
        os.close(fd)  # releases the flock


def _flock(fd: int, lock: Path) -> None:
    from .errors import OutputLockedError

    try:
        import fcntl
    except ImportError:  # not POSIX: the open file is the lock (no stale detection needed there)
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            owner = json.loads(os.pread(fd, 4096, 0) or b"{}")
        except (ValueError, OSError):
            owner = {}
        who = f"pid {owner.get('pid', '?')} on {owner.get('host', '?')}"
        raise OutputLockedError(
            f"{lock.with_suffix('') if lock.suffix == '.lock' else lock}: another replica "
            f"process ({who}) is writing these results (lock {lock}); wait for it to finish "
            "or choose another output"
        ) from None


# ----------------------------------------------------------------------------- writing
def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write) -> Path:
    """Call ``write(tmp_path)`` then atomically move the temporary file onto ``path``.

    The file gets mode ``0666 & ~umask``, like any file the user creates (a bare
    :func:`tempfile.mkstemp` would leave it ``0600``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    on_write = (_CONTEXT.get() or {}).get("on_write")
    if on_write is not None:
        on_write(path)
    return path


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save_csv(path, columns: Mapping[str, Any], meta: Mapping[str, Any]) -> Path:
    """Write equal-length ``columns`` as a CSV table and ``meta`` as ``<path>.meta.json``; the
    metadata records the table's SHA-256 (``sha256``)."""
    cols = {k: np.asarray(v).ravel() for k, v in columns.items()}
    lengths = {len(v) for v in cols.values()}
    if len(lengths) > 1:
        raise ValueError(
            f"columns: expected equal lengths, got { ({k: len(v) for k, v in cols.items()}) }"
        )
    buf = _io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(cols)
    for row in zip(*cols.values()):
        w.writerow([repr(float(x)) if isinstance(x, (float, np.floating)) else x for x in row])
    data = buf.getvalue().encode()
    meta = {**meta, "sha256": _sha256_bytes(data)}

    path = Path(path)
    atomic_write(
        path.with_suffix(".meta.json"), lambda t: Path(t).write_text(json.dumps(meta, indent=1))
    )
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def load_csv(path) -> tuple[dict[str, np.ndarray], dict]:
    """Read a table written by :func:`save_csv`: ``(columns, meta)``; numeric columns as floats.

    Raises
    ------
    CorruptFileError
        The table does not match the checksum of its metadata, or cannot be parsed.
    """
    path = Path(path)
    data = path.read_bytes()
    meta_path = path.with_suffix(".meta.json")
    try:
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptFileError(path=meta_path, reason=f"unreadable metadata ({exc})") from None
    want = meta.get("sha256") if isinstance(meta, dict) else None
    if want is not None and want != _sha256_bytes(data):
        raise CorruptFileError(path=path, reason="its data do not match the checksum stored in "
                               f"{meta_path.name}")  # fmt: skip
    try:
        rows = list(csv.reader(data.decode().splitlines()))
        header, body = rows[0], rows[1:]
        if any(len(r) != len(header) for r in body):
            raise ValueError("rows of unequal length")
    except (IndexError, ValueError, UnicodeDecodeError, csv.Error) as exc:
        raise CorruptFileError(path=path, reason=f"not a table ({exc})") from None
    cols = {}
    for j, name in enumerate(header):
        raw = [r[j] for r in body]
        try:
            cols[name] = np.array([float(x) for x in raw])
        except ValueError:
            cols[name] = np.array(raw, dtype=object)
    return cols, meta


# ----------------------------------------------------------------------------- netCDF
def _canonical_array(a: np.ndarray) -> bytes:
    # the bytes of a value independent of how netCDF-3 stores it (int64 may come back int32,
    # strings as object arrays)
    a = np.asarray(a)
    if a.dtype.kind in "biu":
        body = np.ascontiguousarray(a, dtype="<i8").tobytes()
    elif a.dtype.kind == "f":
        body = np.ascontiguousarray(a, dtype="<f8").tobytes()
    else:
        body = json.dumps([str(x) for x in a.ravel().tolist()]).encode()
    return f"{a.dtype.kind in 'biu'}{a.shape}".encode() + body


def checksum(ds) -> str:
    """SHA-256 of a dataset's data: every variable and coordinate (name, dimensions, values) and
    the ``replica_meta`` record."""
    h = hashlib.sha256()
    for name in sorted(map(str, ds.variables)):
        var = ds.variables[name]
        h.update(json.dumps([name, list(map(str, var.dims))]).encode())
        h.update(_canonical_array(var.values))
    h.update(str(ds.attrs.get("replica_meta", "")).encode())
    return h.hexdigest()


def save_netcdf(ds, path, meta: Mapping[str, Any] | None = None) -> Path:
    """Atomically write an :class:`xarray.Dataset` to netCDF (scipy engine, no extra dependency);
    ``meta`` is stored as a JSON string in the ``replica_meta`` attribute and the data's
    :func:`checksum` in ``replica_checksum``."""
    ds = ds.copy()
    ds.attrs.pop("replica_checksum", None)
    if meta is not None:
        ds.attrs["replica_meta"] = json.dumps(_jsonable(meta))
    ds.attrs["replica_checksum"] = checksum(ds)
    return atomic_write(path, lambda tmp: ds.to_netcdf(tmp, engine="scipy"))


def _checkpoint_saver(path, meta: Mapping[str, Any], attr: str, config: Mapping[str, Any],
                      key: str):  # fmt: skip
    """``save(ds)`` of a per-instance experiment checkpoint (:mod:`replica.amp.experiment`,
    :mod:`replica.mc.ensemble`): :func:`save_netcdf` of ``ds`` to ``path`` with ``config`` as
    JSON in ``attrs[attr]`` and the ``resume_key`` that a resumed run must match."""

    def save(ds):
        out = ds.copy()
        out.attrs[attr] = json.dumps(config)
        out.attrs["resume_key"] = key
        save_netcdf(out, path, meta)

    return save


def _copy_instances(ds, old, finished, names) -> None:
    """Copy into ``ds`` the variables ``names`` of every ``(size, seed)`` instance the two
    datasets share that ``finished(old, size, seed)`` says a checkpoint ``old`` holds."""
    for n in np.intersect1d(ds["size"].values, old["size"].values):
        for s in np.intersect1d(ds["seed"].values, old["seed"].values):
            if finished(old, n, s):
                for k in names:
                    ds[k].loc[{"size": n, "seed": s}] = old[k].sel(size=n, seed=s).values


def load_netcdf(path):
    """Load a dataset written by :func:`save_netcdf` fully into memory; ``attrs["meta"]`` holds the
    decoded metadata record.

    Raises
    ------
    CorruptFileError
        The file cannot be read as netCDF (empty, truncated, garbage) or its data do not match
        the stored checksum. The message names the file.
    """
    import xarray as xr

    path = Path(path)
    if path.is_dir():
        raise CorruptFileError(path=path, reason="a directory, not a netCDF file")
    try:
        # from bytes in memory: no memory map left open on a damaged file (results are small)
        data = _io.BytesIO(path.read_bytes())
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise CorruptFileError(path=path, reason=f"unreadable ({_why(exc)})") from None
    try:
        with xr.open_dataset(data, engine="scipy") as ds:
            ds = ds.load()
    except Exception as exc:  # scipy/xarray raise many types on damaged bytes
        raise CorruptFileError(
            path=path, reason=f"not a readable netCDF file ({_why(exc)})"
        ) from None
    want = ds.attrs.pop("replica_checksum", None)
    if want is not None and str(want) != checksum(ds):
        raise CorruptFileError(path=path, reason="its data do not match the stored checksum")
    if "replica_meta" in ds.attrs:
        try:
            ds.attrs["meta"] = json.loads(ds.attrs.pop("replica_meta"))
        except ValueError as exc:
            raise CorruptFileError(path=path, reason=f"unreadable metadata ({_why(exc)})") from None
    return ds


def _why(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:160] if text else type(exc).__name__
