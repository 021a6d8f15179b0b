"""Fuzz targets of the reliability classes of issue 14: resume keys, damaged files, memory
refusals and numeric types (see ``tests/fuzz_harness.py`` for the outcome classes).

* resume keys: a random change of any one argument of a resumable computation changes its key;
  the same arguments spelled with numpy scalars give the same key;
* damaged files: a results file truncated, overwritten with garbage or with one flipped bit is
  either refused with a ``CorruptFileError`` naming it ("raised") or read back with exactly the
  data that was written (a flip in padding: "converged"); never different data;
* memory refusals: every huge input of ``test_reliability._huge_inputs``, made larger still, is
  refused with a ValueError naming its parameter before 64 MB are allocated;
* numeric types: Python and numpy ints/floats and 0-d arrays are the same number; bools,
  ``None`` and strings are refused naming the parameter.
"""

from __future__ import annotations

import math
import unittest.mock as um

import numpy as np
from fuzz_harness import classify, n_examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_reliability import (
    EXPERIMENT_CHANGES,
    MODEL,
    MODEL_CHANGES,
    REFUSED,
    SWEEP_CHANGES,
    _huge_inputs,
    refused_before_allocating,
)

from replica import io
from replica.amp import experiment
from replica.errors import ArgumentTypeError, CorruptFileError
from replica.sweep import run_sweep

SETTINGS = {"deadline": None, "suppress_health_check": list(HealthCheck)}


class _Stop(Exception):
    pass


def _key(call) -> str:
    """The resume key ``call`` computes (it is stopped right there)."""
    real = io.resume_key
    got = []

    def spy(func, arguments, exempt, extra=None):
        got.append(real(func, arguments, exempt, extra))
        raise _Stop

    with um.patch.object(io, "resume_key", spy):
        try:
            call()
        except _Stop:
            pass
    assert got, "the call computed no resume key"
    return got[0]


# ----------------------------------------------------------------------------- resume keys
@settings(max_examples=n_examples(20, 400), **SETTINGS)
@given(
    func=st.sampled_from(["run_sweep", "experiment"]),
    alpha=st.floats(0.1, 10.0),
    noise=st.floats(0.0, 1.0),
    widths=st.lists(st.floats(0.1, 5.0), min_size=2, max_size=3, unique=True),
    change=st.sampled_from(sorted({*MODEL_CHANGES, *SWEEP_CHANGES, *EXPERIMENT_CHANGES})),
    numpy_spelling=st.booleans(),
)
def test_fuzz_resume_key(func, alpha, noise, widths, change, numpy_spelling):
    model = MODEL.replace(alpha=alpha, noise=noise)
    changes = SWEEP_CHANGES if func == "run_sweep" else EXPERIMENT_CHANGES

    def call_with(model, **kw):
        if func == "run_sweep":
            grid = kw.pop("grid", {"width": widths, "noise": [0.1, 0.2]})
            return lambda: run_sweep(model, grid, **kw)
        return lambda: experiment(model, **kw)

    def outcome():
        key = _key(call_with(model))
        # the same arguments in another spelling: the same key
        spelled = model.replace(alpha=np.float64(alpha), noise=np.float32(noise).item())
        if numpy_spelling and float(np.float32(noise)) == noise:
            assert _key(call_with(spelled)) == key
        if change in MODEL_CHANGES:
            if (func, change) in REFUSED:
                return {"same": 0.0}
            other = model.replace(**{change: MODEL_CHANGES[change]})
            if other == model:
                return {"same": 0.0}
            assert _key(call_with(other)) != key, f"{func}: model.{change} not in the key"
        elif change in changes:
            value = changes[change]
            if change == "grid":
                value = {"width": [*widths, max(widths) + 1.0], "noise": [0.1, 0.2]}
            assert _key(call_with(model, **{change: value})) != key, f"{func}: {change}"
        return {"changed": 1.0}

    classify("resume key", outcome)


# ----------------------------------------------------------------------------- damaged files
def _damage(data: bytes, kind: str, where: float, bit: int, rng_bytes: bytes) -> bytes:
    pos = min(len(data) - 1, int(where * len(data)))
    if kind == "truncate":
        return data[:pos]
    if kind == "empty":
        return b""
    if kind == "garbage":
        return rng_bytes[: len(data)]
    if kind == "garbage tail":
        return data[:pos] + rng_bytes[: len(data) - pos]
    flipped = bytearray(data)
    flipped[pos] ^= 1 << bit
    return bytes(flipped)


@settings(max_examples=n_examples(30, 600), **SETTINGS)
@given(
    fmt=st.sampled_from(["netcdf", "netcdf", "csv"]),
    kind=st.sampled_from(["bit flip", "bit flip", "bit flip", "truncate", "garbage",
                          "garbage tail", "empty"]),
    where=st.floats(0.0, 1.0),
    bit=st.integers(0, 7),
    values=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=12),
    seed=st.integers(0, 2**16),
)  # fmt: skip
def test_fuzz_damaged_file(tmp_path_factory, fmt, kind, where, bit, values, seed):
    import xarray as xr

    path = tmp_path_factory.mktemp("damage") / ("r.nc" if fmt == "netcdf" else "r.csv")
    x = np.array(values)
    status = np.array(["RS", "RSB"] * len(values), dtype=object)[: len(values)]
    if fmt == "netcdf":
        ds = xr.Dataset({"v": ("i", x), "phase": ("i", status)}, coords={"i": np.arange(x.size)})
        io.save_netcdf(ds, path, {"case": seed})
        load = io.load_netcdf
    else:
        io.save_csv(path, {"v": x, "phase": status}, {"case": seed})
        load = io.load_csv
    original = path.read_bytes()
    noise = np.random.default_rng(seed).bytes(len(original) + 8)
    damaged = _damage(original, kind, where, bit, noise)
    path.write_bytes(damaged)

    def outcome():
        try:
            back = load(path)
        except CorruptFileError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc)
            raise
        # accepted: only if the data are exactly what was written (a flip in padding)
        if fmt == "netcdf":
            assert back["v"].values.tolist() == x.tolist(), f"{kind} accepted, data changed"
            assert back["phase"].values.tolist() == status.tolist()
            assert back.attrs["meta"] == {"case": seed}
        else:
            cols, meta = back
            assert cols["v"].tolist() == x.tolist() and meta["case"] == seed
        return {"accepted unchanged": 1.0}

    if damaged == original:
        return
    classify(f"damaged {fmt}", outcome)


# ----------------------------------------------------------------------------- memory
HUGE = sorted(_huge_inputs())


@settings(max_examples=n_examples(10, 200), **SETTINGS)
@given(what=st.sampled_from(HUGE), scale=st.floats(1.0, 1e3))
def test_fuzz_memory_refusal(what, scale):
    name, call = _huge_inputs(scale)[what]

    def outcome():
        raise refused_before_allocating(name, call, what)

    classify("memory refusal", outcome)


# ----------------------------------------------------------------------------- numeric types
def _spellings(v):
    """The same number in every accepted spelling."""
    out = [v, np.array(v)]
    if isinstance(v, int):
        out += [np.int64(v), np.int32(v), np.uint16(v) if v >= 0 else np.int16(v)]
    else:
        out += [np.float64(v), np.array(v, dtype=np.float64)]
    return out


def _targets():
    from replica import Quantizer
    from replica.dynamics import STEProblem
    from replica.regression import QuantizedRegression

    q = MODEL.quantizer

    def qr(name):
        return lambda v: getattr(
            QuantizedRegression(quantizer=q, **{"alpha": 2.0, "beta": 5.0, "noise": 0.1,
                                                name: v}), name)  # fmt: skip

    def ste(name):
        return lambda v: getattr(STEProblem(**{"eta": 1.0, name: v}), name)

    return {
        "alpha": (qr("alpha"), 2.5),
        "beta": (qr("beta"), 7.0),
        "noise": (qr("noise"), 0.25),
        "ridge": (qr("ridge"), 0.5),
        "eta": (ste("eta"), 0.75),
        "init_align": (ste("init_align"), -0.5),
        "rho": (ste("rho"), 2.0),
        "bits": (lambda v: Quantizer.uniform(v, 1.0).levels.size, 3),
        "width": (lambda v: float(Quantizer.uniform(2, v).width), 1.5),
        "n_teacher": (lambda v: _n_teacher(v), 401),
    }


def _n_teacher(v):
    from replica import Quantizer
    from replica.dynamics import STEProblem, fixed_points

    p = STEProblem(eta=1.0, weight_quantizer=Quantizer.uniform(1, 1.0))
    return tuple(fp.eg for fp in fixed_points(p, n_teacher=v))


TARGETS = _targets()


@settings(max_examples=n_examples(30, 600), **SETTINGS)
@given(
    name=st.sampled_from(sorted(TARGETS)),
    spelling=st.integers(0, 4),
    bad=st.sampled_from([None, True, False, np.bool_(True), None, "2", "x", [1.0], math.nan]),
    use_bad=st.integers(0, 3),
)
def test_fuzz_numeric_types(name, spelling, bad, use_bad):
    fn, value = TARGETS[name]
    spellings = _spellings(value)
    v = spellings[spelling % len(spellings)]

    def outcome():
        if use_bad == 0:
            try:
                fn(bad)
            except ArgumentTypeError as exc:
                assert isinstance(exc, TypeError) and str(exc).startswith(f"{name}: expected")
                raise
            except ValueError as exc:  # NaN: a number, out of range
                assert isinstance(bad, float) and math.isnan(bad), exc
                raise
            raise AssertionError(f"{name}={bad!r} accepted")
        got = fn(v)
        assert got == fn(value), f"{name}: {type(v).__name__} {v!r} gives {got}"
        return {"value": float(np.sum(got))}

    classify("numeric types", outcome)
