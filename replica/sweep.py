"""Parameter sweeps of the RS theory: Cartesian grids → :class:`xarray.Dataset`, on any executor,
with checkpoint and resume.

A sweep is cut into *lines* along one continuation axis (``along``: width, α, β, σ² or λ). The
points of a line are solved together by :func:`replica.batch.solve_rs_many` (each point by
:func:`replica.solve_rs`'s own rule, with one batched channel evaluation per round; a point that
fails on its own is retried from the previous converged point of the line), and the AT line
``AT = 1`` between consecutive points is located by Brent's method
(:func:`replica.boundaries.at_boundary`). Lines are independent tasks, run by the sweep engine
(:mod:`replica.engine`) to which this module hands its per-line function :func:`_solve_line`:
on any :class:`concurrent.futures.Executor`: by default this process for small sweeps and a reused local
process pool for large ones (never slower than serial, see ``executor`` of :func:`run_sweep`), a
``dask.distributed.Client`` when given one, or ``"serial"`` in this process. Tasks and results
cross process boundaries as JSON text, and results files are netCDF: no pickle is written
anywhere.

Checkpoint and resume: with ``path``, every finished line is written atomically to
``<path>.parts/line-<index>.nc`` as it completes; a sweep killed at any moment (even by SIGKILL)
and started again with the same arguments loads the finished lines, recomputes only the missing
ones and writes the same final dataset to ``path`` (a line is a deterministic function of its
parameters, whichever process computes it). The final file carries the metadata record of
:func:`replica.io.metadata` (package version, parameters, seeds: the theory uses none).

Layering: ``engine`` (infrastructure, no physics) and ``boundaries`` (physics) below, this
module above both, :mod:`replica.phase` (phase diagrams) above it.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Mapping

import numpy as np

from . import io
from .batch import solve_rs_many
from .boundaries import (
    VARY,
    at_boundary,
    entropy_boundary,
    has_interpolation_threshold,
    interpolation_threshold,
    with_width,
)
from .designs import design_from_spec, design_spec
from .engine import run_tasks
from .errors import ConvergenceError, check
from .model import STALLED
from .quantizers import Quantizer
from .regression import QuantizedRegression, solve_rs
from .results import MAX_ITER
from .teachers import GaussianMixtureTeacher, GaussianTeacher

__all__ = [
    "FIELDS",
    "PARAMETERS",
    "PHASES",
    "make_quantizer",
    "run_sweep",
]

#: parameters a sweep can vary (``grid`` is the grid family, see :func:`make_quantizer`)
PARAMETERS = ("bits", "width", "alpha", "beta", "noise", "ridge", "grid")
#: continuation axes, in the order of preference for the default ``along``
CONTINUATION = ("width", "alpha", "beta", "noise", "ridge")
#: phase labels of a point
PHASES = ("RS", "RSB", "no RS solution", "unconverged", "entropy crisis")
#: per-point numeric outputs (from :class:`~replica.regression.RSSolution`)
FIELDS = ("gen_error", "train_error", "mse", "m", "q", "Q", "chi", "delta", "D", "at",
          "free_energy", "entropy", "residual")  # fmt: skip
_FORMAT = 3  # version of the checkpoint layout (3: a line records alpha_max)


# ----------------------------------------------------------------------------- grid families
def make_quantizer(family: str, bits: int, width: float, levels=None) -> Quantizer:
    """Quantizer of a named grid family.

    Families: ``"uniform"`` (endpoints convention), ``"uniform:midrise"``, ``"uniform:zero"``,
    ``"gaussian_quantile"``, ``"power_of_two"``, ``"power:<gamma>"`` (companding grid, e.g.
    ``"power:2"``) and ``"custom"`` (the array ``levels`` rescaled to ``width``).
    """
    check(isinstance(family, str), "grid", "a grid family name (str)", family)
    if family == "custom":
        check(levels is not None, "levels", "the levels of the custom grid", levels)
        return with_width(Quantizer(levels=levels), width)
    if family == "uniform" or family.startswith("uniform:"):
        conv = family.partition(":")[2] or "endpoints"
        return Quantizer.uniform(bits, width, conv)
    if family in ("gaussian_quantile", "power_of_two"):
        return getattr(Quantizer, family)(bits, width)
    if family.startswith("power:"):
        try:
            gamma = float(family.partition(":")[2])
        except ValueError:
            gamma = math.nan
        check(math.isfinite(gamma) and gamma > 0, "grid", "'power:<gamma>' with gamma > 0", family)
        return Quantizer.power(bits, width, gamma)
    raise ValueError(
        "grid: expected one of 'uniform', 'uniform:midrise', 'uniform:zero', "
        f"'gaussian_quantile', 'power_of_two', 'power:<gamma>', got {family!r}"
    )


def _infer_family(q: Quantizer) -> tuple[str, int | None, float]:
    """Family, bits and width parameter of a quantizer built by a named constructor (else
    ``"custom"``, no bits, and its largest level)."""
    m = re.match(r"(\w+)\(bits=(\d+)", q.name)
    if m:
        name, bits = m.group(1), int(m.group(2))
        family = name
        if name == "uniform":
            conv = re.search(r", (endpoints|midrise|zero)\)", q.name)
            family = "uniform" if conv is None or conv.group(1) == "endpoints" else f"uniform:{conv.group(1)}"  # fmt: skip
        elif name == "power":
            g = re.search(r"gamma=([^)]+)\)", q.name)
            family = f"power:{g.group(1)}" if g else "custom"
        try:
            # the family parameter ω is proportional to the largest level (ω(K−1)/K midrise)
            width = q.width / make_quantizer(family, bits, 1.0).width
            rebuilt = make_quantizer(family, bits, width)
            if rebuilt.levels.size == q.levels.size and np.allclose(
                rebuilt.levels, q.levels, rtol=1e-13, atol=0.0
            ):
                return family, bits, width
        except ValueError:
            pass
    return "custom", None, q.width


def _teacher_spec(teacher) -> dict:
    if isinstance(teacher, GaussianTeacher):
        return {"rho": teacher.rho}
    w, mu, s = teacher.mixture()  # the theory only uses the mixture form
    return {"weights": list(map(float, w)), "means": list(map(float, mu)),
            "variances": list(map(float, s))}  # fmt: skip


def _teacher(spec: dict):
    if "rho" in spec:
        return GaussianTeacher(rho=spec["rho"])
    return GaussianMixtureTeacher(weights=spec["weights"], means=spec["means"],
                                  variances=spec["variances"])  # fmt: skip


def _model(base: dict, point: Mapping, quantizers: dict | None = None) -> QuantizedRegression:
    """The model at one grid point: ``base`` with the swept values of ``point``. ``quantizers``
    (optional) memoises the grids of one line by their parameters (a line along α, β, σ² or λ
    has one grid; quantizers are immutable)."""
    p = {**base, **point}
    if quantizers is None:
        q = make_quantizer(p["grid"], p["bits"], p["width"], p.get("levels"))
    else:
        args = (p["grid"], p["bits"], p["width"])
        q = quantizers.get(args)
        if q is None:
            q = quantizers[args] = make_quantizer(*args, p.get("levels"))
    return QuantizedRegression(
        quantizer=q, alpha=p["alpha"], beta=p["beta"], noise=p["noise"], ridge=p["ridge"],
        teacher=_teacher(p["teacher"]), estimator=p["estimator"],
        include_noise=p["include_noise"], design=design_from_spec(p.get("design")),
    )  # fmt: skip


# ----------------------------------------------------------------------------- the spec
def _values(name, values) -> list:
    vals = np.asarray(values).ravel().tolist() if not isinstance(values, str) else [values]
    check(len(vals) >= 1, name, "a non-empty sequence of values", values)
    if name == "bits":
        ok = all(isinstance(v, int) and not isinstance(v, bool) for v in vals)
        check(ok, "bits", "integers >= 1", vals)
    elif name == "grid":
        check(all(isinstance(v, str) for v in vals), "grid", "grid family names", vals)
    else:
        ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals)
        check(ok, name, "numbers", vals)
        vals = [float(v) for v in vals]
    check(len(set(vals)) == len(vals), name, "distinct values", vals)
    return vals


def _spec(
    model: QuantizedRegression, grid: Mapping, along, boundaries: bool, built: dict | None = None
) -> dict:
    """The normalised sweep, every value validated by building its model once. ``built``
    (optional): receives ``"first"``, the models of the first line (every other parameter at
    its first value), which the validation builds anyway (see :data:`_PREBUILT`)."""
    check(isinstance(model, QuantizedRegression), "model", "a QuantizedRegression", model)
    check(isinstance(grid, Mapping) and len(grid) > 0, "grid",
          f"a mapping of one or more of {PARAMETERS} to values", grid)  # fmt: skip
    for name in grid:
        check(name in PARAMETERS, "grid", f"parameter names from {PARAMETERS}", name)
    family, bits, width = _infer_family(model.quantizer)
    base = {
        "grid": family, "bits": bits, "width": width, "alpha": model.alpha,
        "beta": model.beta, "noise": model.noise, "ridge": model.ridge,
        "teacher": _teacher_spec(model.teacher), "estimator": model.estimator,
        "include_noise": model.include_noise,
    }  # fmt: skip
    if family == "custom":
        base["levels"] = model.quantizer.levels.tolist()
    if not model.design.gaussian:  # the lines rebuild each point's model from this spec
        base["design"] = design_spec(model.design)
    dims = [[name, _values(name, vals)] for name, vals in grid.items()]
    swept = dict((n, v) for n, v in dims)
    if family == "custom" and ("bits" in swept) != ("grid" in swept):
        raise ValueError(
            "grid: expected both 'bits' and 'grid' (family) when sweeping either for a model "
            f"whose quantizer is not from a named family ({model.quantizer.name}), got "
            f"{sorted(swept)}"
        )
    if along is None:
        cands = [n for n in CONTINUATION if n in swept and len(swept[n]) > 1]
        along = cands[0] if cands else dims[-1][0]
    check(along in swept, "along", f"one of the swept parameters {sorted(swept)}", along)
    # validate every value (and every bits × grid combination) by building its model once
    first = {n: v[0] for n, v in dims}
    for name, vals in dims:
        models = [_model(base, {**first, name: v}) for v in vals]
        if name == along and built is not None:
            built["first"] = models
    if "bits" in swept and "grid" in swept:
        for b, g in itertools.product(swept["bits"], swept["grid"]):
            _model(base, {**first, "bits": b, "grid": g})
    return {"format": _FORMAT, "base": base, "dims": dims, "along": along,
            "boundaries": bool(boundaries)}  # fmt: skip


#: arguments of :func:`run_sweep` that cannot change its results (a line is a deterministic
#: function of its parameters, whichever process computes it)
_NOT_IN_KEY = {
    "executor": "where lines run",
    "path": "where results are stored",
    "progress": "display only",
    "max_workers": "size of the default pool",
}


def _key(spec: dict) -> str:
    """Resume key: the normalised spec (every parameter of every point, the continuation axis
    and whether boundaries are located) and the package version."""
    args = {"model": spec["base"], "grid": spec["dims"], "along": spec["along"],
            "boundaries": spec["boundaries"]}  # fmt: skip
    return io.resume_key(run_sweep, args, _NOT_IN_KEY, extra={"format": spec["format"]})


def _lines(spec: dict) -> list[tuple[int, tuple, str]]:
    """The tasks: ``(index, position of the line among the other dims, task JSON)``."""
    dims, along = spec["dims"], spec["along"]
    others = [(n, v) for n, v in dims if n != along]
    along_vals = dict((n, v) for n, v in dims)[along]
    out = []
    ranges = [range(len(v)) for _, v in others]
    for i, pos in enumerate(itertools.product(*ranges)):
        fixed = {n: v[j] for (n, v), j in zip(others, pos)}
        task = {"base": spec["base"], "fixed": fixed, "along": along, "values": along_vals,
                "boundaries": spec["boundaries"]}  # fmt: skip
        out.append((i, pos, json.dumps(task, sort_keys=True)))
    return out


# ----------------------------------------------------------------------------- the worker
def _phase(sol) -> str:
    if sol.status == "no_rs_solution":
        return PHASES[2]
    if not sol.converged:
        return PHASES[3]
    if not sol.at < 1.0:
        return PHASES[1]  # AT ≥ 1 (with or without negative entropy)
    # AT < 1 but a negative entropy on a discrete grid: RS is wrong there too (freezing)
    return PHASES[0] if sol.entropy >= 0.0 else PHASES[4]


def _solve_points(models: list, sols: list | None = None) -> list:
    """The equilibrium RS branch at every point of a line (:func:`replica.solve_rs`'s rule:
    every start, the lowest free energy), solved in lock-step by
    :func:`replica.batch.solve_rs_many` (the per-point solver, with one batched channel
    evaluation per round) unless given as ``sols``. Where a point fails (``max_iter`` or
    ``stalled``), the previous converged point of the line is tried as one more start
    (``solve_rs(continuation=...)``); that result replaces the point's only if it converged, so
    the rescue can only turn a failure into a solution: every other point is exactly the
    per-point ``solve_rs`` result, whatever its neighbours. ``no_rs_solution`` (β = ∞,
    ``D ≥ α``) is an answer, not a failure.
    """
    sols = solve_rs_many(models) if sols is None else list(sols)
    prev = None
    for i, model in enumerate(models):
        if sols[i].status in (MAX_ITER, STALLED) and prev is not None:
            rescued = solve_rs(model, throw=False, continuation=prev)
            if rescued.converged:
                sols[i] = rescued
        if sols[i].converged:
            prev = sols[i]
    return sols


#: task JSON → the models of that line, already built by :func:`_spec`'s validation (the first
#: line of a sweep, during :func:`run_sweep` in this process; taken once). The same
#: parameters as the task's (JSON round-trips them exactly), so the same models
_PREBUILT: dict[str, list] = {}


def _line_models(task_json: str) -> tuple[dict, list]:
    task = json.loads(task_json)
    models = _PREBUILT.pop(task_json, None)
    if models is None:
        along, quantizers = task["along"], {}
        models = [_model(task["base"], {**task["fixed"], along: x}, quantizers)
                  for x in task["values"]]  # fmt: skip
    return task, models


def _solve_line(task_json: str) -> str:
    """Solve one line of the sweep (JSON in, JSON out: nothing but text crosses processes)."""
    task, models = _line_models(task_json)
    return _line_result(task, models, _solve_points(models))


def _solve_lines(tasks: list[str]) -> list[str]:
    """A chunk of lines, in one task of the local pool: the points of all of them solved in one
    batch (:func:`replica.batch.solve_rs_many`), then each line as :func:`_solve_line`."""
    lines = [_line_models(t) for t in tasks]
    sols = solve_rs_many([m for _, models in lines for m in models])
    out, start = [], 0
    for task, models in lines:
        part = sols[start : start + len(models)]
        out.append(_line_result(task, models, _solve_points(models, part)))
        start += len(models)
    return out


def _line_result(task: dict, models: list, sols: list) -> str:
    """The JSON result of one line from its models and solutions: the per-point fields, the
    interpolation threshold (β = ∞, λ = 0) and the boundary crossings along the line."""
    along = task["along"]
    fields = {k: [] for k in (*FIELDS, "n_iter", "status", "phase", *_THRESHOLD)}
    thresholds = {}
    for model, sol in zip(models, sols):
        for k in FIELDS:
            # a point without a converged RS solution has no order parameters: its status
            # (and phase) say why the values are NaN; the residual is kept
            ok = sol.converged or k == "residual"
            fields[k].append(float(getattr(sol, k)) if ok else math.nan)
        fields["n_iter"].append(int(sol.n_iter))
        fields["status"].append(sol.status)
        fields["phase"].append(_phase(sol))
        ends = (math.nan, math.nan)
        # (NaN for a design without a threshold in α: boundaries.has_interpolation_threshold)
        if (
            math.isinf(model.beta)
            and model.ridge == 0.0
            and has_interpolation_threshold(model.design)
        ):
            key = model.quantizer.levels.tobytes() + repr(model.noise).encode()
            if key not in thresholds:
                thr = interpolation_threshold(model, throw=False)
                thresholds[key] = (thr.alpha_c, thr.alpha_max)
            ends = thresholds[key]
        for name, value in zip(_THRESHOLD, ends):
            fields[name].append(value)
    out = {"fields": fields}
    for key, level, locate in _LINES:
        out[key], out[key.replace("boundary", "crossings")] = _first_crossing(
            task, along, sols, models, level, locate
        )
    return json.dumps(out)


#: the ends of the RS range of the ridgeless ground state recorded per point (NaN unless β = ∞,
#: λ = 0 and the design has a threshold in α): fields of boundaries.InterpolationThreshold
_THRESHOLD = ("alpha_c", "alpha_max")


def _at_level(sol):
    return sol.at - 1.0


def _entropy_level(sol):
    return sol.entropy


# the boundary lines of a sweep: (result key, level whose zero is the line, locator)
_LINES = (("boundary", _at_level, at_boundary),
          ("entropy_boundary", _entropy_level, entropy_boundary))  # fmt: skip


def _first_crossing(task, along, sols, models, level, locate):
    """``(value, crossings)``: the first zero of ``level`` along the line, refined by ``locate``
    in the cell where it changes sign between converged points (NaN if none or if the locator
    reports a jump), and the number of sign changes."""
    boundary, crossings = math.nan, 0
    if not (task["boundaries"] and along in VARY):
        return boundary, crossings
    for i in range(len(sols) - 1):
        a, b = sols[i], sols[i + 1]
        if not (a.converged and b.converged):
            continue
        la, lb = level(a), level(b)
        if not (math.isfinite(la) and math.isfinite(lb)) or la * lb >= 0.0:
            continue
        crossings += 1
        if crossings > 1:
            continue
        x0, x1 = task["values"][i], task["values"][i + 1]
        # the locator's width is the largest level, c·ω for a family with parameter ω
        c = models[i].quantizer.width / x0 if along == "width" else 1.0
        try:
            res = locate(models[i], along, bracket=(c * min(x0, x1), c * max(x0, x1)), init=a,
                         throw=False)  # fmt: skip
            boundary = res.value / c if res.converged else math.nan
        except (ConvergenceError, ValueError):
            boundary = math.nan
    return boundary, crossings


# ----------------------------------------------------------------------------- assembly
def _assemble(spec, lines, done, meta):
    import xarray as xr

    dims = [n for n, _ in spec["dims"]]
    values = dict((n, v) for n, v in spec["dims"])
    along = spec["along"]
    others = [n for n in dims if n != along]
    shape_o = tuple(len(values[n]) for n in others)
    n_al = len(values[along])
    order = [*others, along]

    def gather(key, dtype):
        arr = np.empty((*shape_o, n_al), dtype=dtype)
        for idx, pos, _ in lines:
            arr[pos] = np.array(done[idx]["fields"][key], dtype=dtype)
        return arr

    data = {}
    for k in (*FIELDS, "n_iter", "status", "phase"):
        dt = object if k in ("status", "phase") else (np.int32 if k == "n_iter" else float)
        data[k] = (order, gather(k, dt))
    ds = xr.Dataset(data).transpose(*dims)
    coords = {}
    for n in dims:
        v = values[n]
        coords[n] = np.array(
            v, dtype=np.int32 if n == "bits" else (object if n == "grid" else float)
        )
    ds = ds.assign_coords(coords)
    # unswept parameters as scalar coordinates
    base = spec["base"]
    for n in PARAMETERS:
        if n not in values and base.get(n) is not None:
            val = base[n]
            val = np.int32(val) if n == "bits" else val
            ds = ds.assign_coords({n: np.array(val, dtype=object) if n == "grid" else val})
    if spec["boundaries"] and along in CONTINUATION:
        bnd = np.empty(shape_o)
        cnt = np.empty(shape_o, dtype=np.int32)
        for idx, pos, _ in lines:
            bnd[pos] = done[idx]["boundary"]
            cnt[pos] = done[idx]["crossings"]
        ds = ds.assign_coords({f"at_boundary_{along}": (others, bnd),
                               f"at_crossings_{along}": (others, cnt)})  # fmt: skip
        ds[f"at_boundary_{along}"].attrs["description"] = (
            f"first AT = 1 crossing along {along} (Brent, xtol 1e-8); NaN where AT - 1 does not "
            f"change sign in the swept range (at_crossings_{along} = 0)"
        )
        ebnd = np.full(shape_o, np.nan)
        ecnt = np.zeros(shape_o, dtype=np.int32)
        for idx, pos, _ in lines:
            ebnd[pos] = done[idx].get("entropy_boundary", math.nan)
            ecnt[pos] = done[idx].get("entropy_crossings", 0)
        ds = ds.assign_coords({f"entropy_boundary_{along}": (others, ebnd),
                               f"entropy_crossings_{along}": (others, ecnt)})  # fmt: skip
        ds[f"entropy_boundary_{along}"].attrs["description"] = (
            f"first zero of the RS entropy along {along} (Brent, xtol 1e-8): the entropy crisis "
            f"line; NaN where the entropy does not change sign (entropy_crossings_{along} = 0)"
        )
    ac_dims = [n for n in dims if n in ("bits", "width", "noise", "grid")]
    descriptions = {
        "alpha_c": "interpolation threshold of the ridgeless ground state (beta = inf, ridge = 0)",
        "alpha_max": "upper end of the alpha range of the ridgeless ground state (beta = inf, "
        "ridge = 0): inf unless the design has zero eigenvalues",
    }
    # alpha_max where alpha_c is recorded (NaN at the same points: those not at β = ∞, λ = 0)
    if np.isfinite(gather("alpha_c", float)).any():
        for name in _THRESHOLD:
            full = xr.DataArray(gather(name, float), dims=order).transpose(
                *ac_dims, *[n for n in dims if n not in ac_dims]
            )
            # the ends do not depend on α, β, λ: take them from the β = ∞, λ = 0 points (NaN
            # elsewhere, equal at all of them)
            flat = full.values.reshape(*full.shape[: len(ac_dims)], -1)
            ds = ds.assign_coords({name: (ac_dims, np.fmax.reduce(flat, axis=-1))})
            ds[name].attrs["description"] = descriptions[name]
    ds["phase"].attrs["labels"] = ", ".join(PHASES)
    ds.attrs["meta"] = meta
    return ds


# ----------------------------------------------------------------------------- entry point
def run_sweep(
    model: QuantizedRegression,
    grid: Mapping,
    *,
    along: str | None = None,
    executor=None,
    path=None,
    progress: bool = True,
    max_workers: int | None = None,
    boundaries: bool = True,
):
    """Solve the RS theory on a Cartesian grid of parameters.

    Parameters
    ----------
    model : QuantizedRegression
        The base model: parameters not in ``grid`` are taken from it. Its quantizer fixes the
        grid family unless ``grid`` is swept (a quantizer that is not from a named family can
        only be rescaled in width).
    grid : mapping
        Parameter name → 1-D sequence of values, for any of :data:`PARAMETERS` (``bits``,
        ``width``, ``alpha``, ``beta``, ``noise``, ``ridge``, ``grid``: family names of
        :func:`make_quantizer`). The dataset's dimensions follow the mapping's order.
    along : str, optional
        Continuation axis: lines along it are solved together (a point that fails on its own is
        retried from the previous converged point of the line), their boundaries located, and
        are the unit of work and of checkpointing. Default: the first swept of width, α, β,
        σ², λ (else the last swept parameter).
    executor : None, "serial", "processes", concurrent.futures.Executor or dask.distributed.Client
        Where lines run. Default (None): never slower than serial. The first line runs in this
        process and is timed; the others go to a local process pool only when their estimated
        serial time pays for it (a few seconds for a new pool, well under one for a running
        one). The pool (forkserver/spawn, never fork) is started once and reused by later calls,
        and receives the lines in chunks. A script that calls this from top-level code without
        an ``if __name__ == "__main__":`` guard runs serially, with one warning saying how to
        enable processes. ``"serial"``: this process only; ``"processes"``: the local pool
        whatever the size. An executor or Dask client (the opt-in engine for clusters) passed
        in receives one task per line and is not shut down.
    path : path-like, optional
        Checkpoint/results file (netCDF). Finished lines are written atomically to
        ``<path>.parts/``; a restarted sweep recomputes only missing lines. On completion the
        dataset is written to ``path`` and the parts are removed; a later call with the same
        arguments just loads it. Stored work is reused only under the same resume key (every
        argument except ``executor``, ``path``, ``progress``, ``max_workers``, and the package
        version); each file carries a checksum: a damaged part is recomputed (with a
        :class:`~replica.errors.CheckpointWarning`), a damaged final file raises
        :class:`~replica.errors.CorruptFileError`. ``<path>.lock`` keeps a second process out
        (:class:`~replica.errors.OutputLockedError`).
    progress : bool
        Show a tqdm progress bar (points).
    max_workers : int, optional
        Processes of the local pool (default: the CPUs available). Given explicitly, it
        overrides the size rule: 1 runs serially, more uses a pool of that size.
    boundaries : bool
        Locate the AT line along ``along`` (default True).

    Returns
    -------
    xarray.Dataset
        Per point: ``gen_error``, ``train_error``, ``mse``, ``m``, ``q``, ``Q``, ``chi``,
        ``delta``, ``D``, ``at``, ``free_energy``, ``residual``, ``n_iter``, ``status`` and
        ``phase`` (one of :data:`PHASES`). Coordinates: the swept parameters, the unswept ones
        (scalars), ``at_boundary_<along>`` / ``at_crossings_<along>`` (the AT line, first
        crossing per line), ``entropy_boundary_<along>`` / ``entropy_crossings_<along>`` (the
        zero-entropy line, the same way) and, when the grid contains β = ∞ with λ = 0, ``alpha_c``
        and ``alpha_max`` (the RS range ``alpha_c < α < alpha_max`` of the ground state, from
        :func:`~replica.boundaries.interpolation_threshold`; ``alpha_max = inf`` unless the design
        has zero eigenvalues). The metadata record is ``ds.attrs["meta"]``.

    Raises
    ------
    ValueError
        On invalid parameters, or when ``path`` holds the results of a different sweep.
    """
    built = {}
    spec = _spec(model, grid, along, boundaries, built)
    key = _key(spec)
    lines = _lines(spec)
    n_al = len(dict((n, v) for n, v in spec["dims"])[spec["along"]])
    meta = io.metadata(params=spec, seed=None, sweep_key=key,
                       note="deterministic theory: no random numbers are used")  # fmt: skip
    first = lines[0][2]
    _PREBUILT[first] = built["first"]
    try:
        return run_tasks(lines, _solve_line, _solve_lines,
                         lambda done: _assemble(spec, lines, done, meta), key=key, meta=meta,
                         path=path, executor=executor, max_workers=max_workers,
                         progress=progress, points=n_al)  # fmt: skip
    finally:
        _PREBUILT.pop(first, None)
