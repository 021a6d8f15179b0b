"""AMP ensembles over sizes and seeds, with finite-size scaling.

:func:`experiment` runs AMP on ``len(seeds)`` independent instances at each size ``N``, collects
the per-instance MSE, convergence and iteration counts in an :class:`xarray.Dataset`, fits

    mse(N) = mse∞ + c/N

by weighted least squares on the per-size means (weights from the per-size standard errors), and
compares ``mse∞`` with the replica-symmetric and state-evolution predictions. Most of the
instance-to-instance scatter of the MSE comes from the empirical teacher norm ``‖w⁰‖²/N`` (and,
less, the empirical noise level), whose expectations are known exactly: the per-size means use
them as control variates (:func:`size_means`), which cuts the standard errors by a factor of
up to ~2 at the card's points. With a
``checkpoint`` path each finished instance is written (atomically, netCDF) as it completes, and
a restarted experiment computes only the instances the file does not hold yet. The instances
themselves are drawn by :func:`replica.amp.instances.generate` (re-exported here).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .. import io
from ..errors import ArgumentTypeError, check, integer
from ..regression import QuantizedRegression, solve_rs
from . import backend as bk
from .amp import default_tol, run
from .instances import Instance, generate
from .state_evolution import state_evolution
from .vamp import vamp

__all__ = ["Extrapolation", "Instance", "experiment", "extrapolate", "generate", "size_means"]


class Extrapolation(NamedTuple):
    """Weighted least-squares fit ``mse(N) = mse_inf + c/N`` with standard errors.

    ``chi2`` is the weighted residual sum of squares, ``dof`` its degrees of freedom
    (``n_sizes − 2``); ``status`` is ``"ok"`` or says why no fit was possible (then the
    numbers are NaN).
    """

    mse_inf: float
    mse_inf_se: float
    c: float
    c_se: float
    chi2: float
    dof: int
    status: str


def extrapolate(sizes, means, sems) -> Extrapolation:
    """Fit ``mean(N) = mse_inf + c/N`` to per-size means with standard errors ``sems``.

    Weighted least squares with weights ``1/sem²``; the covariance of the coefficients is
    ``(AᵀWA)⁻¹`` (errors propagated from the per-size standard errors, not rescaled by χ²).
    """
    N = np.asarray(sizes, dtype=float)
    y = np.asarray(means, dtype=float)
    s = np.asarray(sems, dtype=float)
    ok = np.isfinite(y) & np.isfinite(s) & (s > 0)
    nan = math.nan
    if np.count_nonzero(ok) < 2 or np.unique(N[ok]).size < 2:
        return Extrapolation(
            nan,
            nan,
            nan,
            nan,
            nan,
            0,
            "fewer than two sizes with enough converged runs for a standard error",
        )
    N, y, s = N[ok], y[ok], s[ok]
    A = np.stack([np.ones_like(N), 1.0 / N], axis=1)
    W = 1.0 / s**2
    cov = np.linalg.inv(A.T @ (W[:, None] * A))
    coef = cov @ (A.T @ (W * y))
    chi2 = float(np.sum(W * (y - A @ coef) ** 2))
    return Extrapolation(
        mse_inf=float(coef[0]), mse_inf_se=float(math.sqrt(cov[0, 0])), c=float(coef[1]),
        c_se=float(math.sqrt(cov[1, 1])), chi2=chi2, dof=int(N.size - 2), status="ok",
    )  # fmt: skip


def _config(model, backend, dtype, damping, max_iter, tol, variance, patience) -> dict:
    """What identifies an instance's result apart from (size, seed): checked on resume."""
    return {
        "levels": [float(x) for x in model.quantizer.levels],
        "alpha": model.alpha, "beta": model.beta, "noise": model.noise, "ridge": model.ridge,
        "teacher": repr(model.teacher), "backend": bk.resolve(backend, dtype).name,
        "dtype": dtype, "damping": damping, "max_iter": int(max_iter), "tol": tol,
        "variance": variance, "patience": patience,
    } | ({} if model.design.gaussian else {"design": repr(model.design)})  # fmt: skip


_FIELDS = {  # per-instance variables and their missing-value markers
    "mse": np.nan,
    "m": np.nan,
    "q": np.nan,
    "residual": np.nan,
    "rho_emp": np.nan,
    "noise_emp": np.nan,
    "n_iter": -1,
    "converged": -1,
}


def _empty(sizes, seeds):
    import xarray as xr

    shape = (len(sizes), len(seeds))
    data = {}
    for k, miss in _FIELDS.items():
        dt = np.float64 if isinstance(miss, float) else (np.int8 if k == "converged" else np.int32)
        data[k] = (("size", "seed"), np.full(shape, miss, dtype=dt))
    return xr.Dataset(data, coords={"size": np.asarray(sizes, dtype=np.int64),
                                    "seed": np.asarray(seeds, dtype=np.int64)})  # fmt: skip


#: arguments of :func:`experiment` that do not change a stored instance's result: the instance
#: (N, s) is indexed by its size and seed, and the summary is recomputed on every call
_NOT_IN_KEY = {
    "sizes": "instances are stored per size",
    "seeds": "instances are stored per seed",
    "checkpoint": "where instances are stored",
    "control_variates": "summary only, recomputed from the instances",
    "progress": "display only",
}


def _resume(ds, path: Path, config: dict, key: str):
    """Copy the finished instances of a checkpoint with the same resume key into ``ds``."""
    old = io.load_netcdf(path)  # a damaged file: CorruptFileError naming it
    if old.attrs.get("resume_key") != key:
        got = old.attrs.get("amp_config", "no configuration")
        raise ValueError(
            f"checkpoint: expected a file of this experiment (configuration {config}, package "
            f"version, base_seed and all other arguments), got {path} written by another "
            f"(configuration {got}); remove it or choose another path"
        )
    io._copy_instances(ds, old, lambda old, n, s: int(old["n_iter"].sel(size=n, seed=s)) >= 0,
                       _FIELDS)  # fmt: skip
    return ds


def _int_list(values, name: str, expected: str) -> list[int]:
    """A sequence of integers (never truncated floats or bools)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ArgumentTypeError(f"{name}: expected {expected}, got {values!r}")
    return [integer(v, name, expected) for v in values]


def experiment(
    model: QuantizedRegression,
    sizes: Sequence[int] = (500, 1000, 2000),
    seeds: int | Sequence[int] = 10,
    backend="numpy",
    dtype: str = "float64",
    damping: float = 0.0,
    max_iter: int = 300,
    tol: float | None = None,
    variance: str = "scalar",
    patience: int | None = None,
    checkpoint: str | Path | None = None,
    base_seed: int = 0,
    control_variates: bool = True,
    progress: bool = False,
):
    """AMP on independent instances over sizes and seeds, with finite-size extrapolation.

    For a structured ``model.design`` (:mod:`replica.designs`) the instances are drawn from it
    and solved by :func:`replica.amp.vamp`; ``se_mse`` is then VAMP's state evolution and the
    TAP prediction is not applicable (NaN).

    Parameters
    ----------
    model : QuantizedRegression
        Finite β.
    sizes : sequence of int
        Numbers of weights ``N`` (distinct).
    seeds : int or sequence of int
        Instance labels: ``k`` means ``range(k)``. The instance ``(N, s)`` is drawn with
        ``generate(model, N, seed=(base_seed, N, s))``, so instances are independent across
        sizes and reproducible one by one.
    backend, dtype :
        See :func:`generate`.
    damping, max_iter, tol, variance, patience :
        Passed to :func:`replica.amp.run`, or to :func:`replica.amp.vamp` for a structured
        design (``variance`` does not apply there); neither raises here: non-convergence is
        recorded. ``damping="auto"`` works for both. ``tol=None``: :func:`replica.amp.amp.default_tol` of ``dtype`` (1e-7 in
        float64, ``32·eps ≈ 3.8e-6`` in float32, whose residual has a rounding floor ≈ 3e-7).
    checkpoint : path, optional
        netCDF file updated atomically after every instance, locked against a second process
        (:func:`replica.io.output_lock`); a damaged file is a
        :class:`~replica.errors.CorruptFileError` naming it. On restart, the instances it
        holds are not recomputed, provided its resume key (every argument that can change an
        instance, ``base_seed``, ``dtype`` and the package version) is this call's; else
        ``ValueError``.
    base_seed : int
        First entropy word of every instance seed.
    control_variates : bool
        Estimate the per-size means with the control variates ``‖w⁰‖²/N − ρ`` and
        ``‖ξ‖²/M − σ²`` (exactly zero-mean; they carry most of the instance-to-instance
        variance of the MSE, see :func:`size_means`). The extrapolation uses these means.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    xarray.Dataset
        Per instance (dims ``size``, ``seed``): ``mse``, ``m``, ``q``, ``gen_error``,
        ``residual``, ``n_iter``, ``converged`` (bool), ``rho_emp = ‖w⁰‖²/N`` and
        ``noise_emp = ‖ξ‖²/M``. Per size, over converged instances: ``mse_mean`` and
        ``mse_sem`` (plain), ``mse_cv`` and ``mse_cv_sem`` (with control variates when
        enabled, else equal to the plain ones), ``n_converged``. Scalars: ``mse_inf``, ``mse_inf_se``,
        ``slope`` (c), ``slope_se``, ``fit_chi2``; ``rs_mse``, ``rs_at``, ``se_mse`` (the RS and
        state-evolution predictions) and ``z_rs = (mse_inf − rs_mse)/mse_inf_se``; ``tap_mse``
        and ``z_tap``: the same for :func:`replica.solve_tap` (the RS value where AT < 1, the
        TAP branch, which damped AMP reaches, where AT > 1; NaN if unsolved). ``attrs``
        holds the configuration, ``fit_status``, ``control_variates`` (the coefficients κ),
        ``rs_status``, ``se_status``, ``tap_status``, ``tap_branch`` and a metadata record.
    """
    check(isinstance(model, QuantizedRegression), "model", "a QuantizedRegression", model)
    sizes = _int_list(sizes, "sizes", "distinct integers >= 1")
    check(len(sizes) >= 1 and len(set(sizes)) == len(sizes) and min(sizes) >= 1, "sizes",
          "distinct integers >= 1", sizes)  # fmt: skip
    if isinstance(seeds, (int, np.integer, np.ndarray)) and np.ndim(seeds) == 0:
        seeds = list(range(integer(seeds, "seeds", "an integer >= 1 or a sequence of seeds",
                                   lambda k: k >= 1)))  # fmt: skip
    seeds = _int_list(seeds, "seeds", "distinct non-negative integers")
    check(len(seeds) >= 1 and len(set(seeds)) == len(seeds) and min(seeds) >= 0, "seeds",
          "distinct non-negative integers", seeds)  # fmt: skip
    base_seed = integer(base_seed, "base_seed", "a non-negative integer", lambda s: s >= 0)
    if tol is None:  # resolved here, so that the resume key holds the tolerance used
        tol = default_tol(dtype)
    config = _config(model, backend, dtype, damping, max_iter, tol, variance, patience)
    key = io.resume_key(
        experiment,
        {"model": model, "backend": bk.resolve(backend, dtype), "dtype": dtype,
         "damping": damping, "max_iter": max_iter, "tol": tol, "variance": variance,
         "patience": patience, "base_seed": base_seed},
        _NOT_IN_KEY,
    )  # fmt: skip
    path = io.check_output_path(checkpoint, "checkpoint") if checkpoint is not None else None
    args = (model, sizes, seeds, backend, dtype, damping, max_iter, tol, variance, patience,
            base_seed, progress, config, key, path)  # fmt: skip
    if path is None:
        ds, meta = _run_instances(*args)
    else:  # one process per checkpoint file
        with io.output_lock(path):
            ds, meta = _run_instances(*args)
    return _summarise(ds, model, config, meta, control_variates)


def _run_instances(model, sizes, seeds, backend, dtype, damping, max_iter, tol, variance,
                   patience, base_seed, progress, config, key, path):  # fmt: skip
    """The instances of :func:`experiment` not yet in the checkpoint ``path``."""
    ds = _empty(sizes, seeds)
    if path is not None and path.exists():
        ds = _resume(ds, path, config, key)
    meta = io.metadata(params=config, seed={"base_seed": base_seed, "seeds": seeds}, sizes=sizes,
                       resume_key=key)  # fmt: skip
    save = io._checkpoint_saver(path, meta, "amp_config", config, key)

    todo = [(n, s) for n in sizes for s in seeds
            if int(ds["n_iter"].sel(size=n, seed=s)) < 0]  # fmt: skip
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="amp instances")
    for n, s in todo:
        inst = generate(model, n, seed=(int(base_seed), n, s), backend=backend, dtype=dtype)
        if model.design.gaussian:
            res = run(inst.X, inst.y, model.quantizer, model.beta, ridge=model.ridge,
                      damping=damping, max_iter=max_iter, tol=tol, teacher=inst.w0,
                      variance=variance, patience=patience, throw=False)  # fmt: skip
        else:  # structured designs: VAMP (its state evolution is the RS saddle point)
            res = vamp(inst.X, inst.y, model.quantizer, model.beta, ridge=model.ridge,
                       damping=damping, max_iter=max_iter, tol=tol, teacher=inst.w0,
                       patience=patience, throw=False)  # fmt: skip
        xi = inst.y - inst.X @ inst.w0
        vals = {"mse": res.mse, "m": res.m, "q": res.q, "residual": res.residual,
                "rho_emp": bk.scalar(inst.w0 @ inst.w0) / n,
                "noise_emp": bk.scalar(xi @ xi) / xi.shape[0],
                "n_iter": res.n_iter, "converged": int(res.converged)}  # fmt: skip
        del inst, xi
        for k, v in vals.items():
            ds[k].loc[{"size": n, "seed": s}] = v
        if path is not None:
            save(ds)
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    return ds, meta


def size_means(values, groups, controls=None):
    """Per-group means of ``values`` and their standard errors, optionally with control
    variates.

    With ``controls`` (columns of zero-mean quantities, e.g. ``‖w⁰‖²/N − ρ``), the estimator is
    ``mean(values − controls·κ)`` where ``κ`` is the pooled within-group least-squares
    coefficient: unbiased because the controls have mean zero, and with a variance reduced by
    the fraction of the instance-to-instance variance the controls explain. Controls with no
    within-group variance are dropped.

    Parameters
    ----------
    values : (n,) array
    groups : (n,) array
        Group label of each value (e.g. the size N).
    controls : (n, k) array, optional

    Returns
    -------
    labels, means, sems, counts : arrays over the sorted distinct labels; ``sems`` is NaN for
    groups with fewer than ``2 + k`` values. ``kappa`` : the control coefficients used.
    """
    values = np.asarray(values, dtype=float)
    groups = np.asarray(groups)
    labels = np.unique(groups)
    idx = [np.flatnonzero(groups == g) for g in labels]
    kappa = np.zeros(0)
    adj = values
    if controls is not None:
        U = np.asarray(controls, dtype=float)
        U = U[:, None] if U.ndim == 1 else U  # (n, k), also for n = 0
        Uc = np.concatenate([U[i] - U[i].mean(axis=0) for i in idx]) if idx else U
        vc = np.concatenate([values[i] - values[i].mean() for i in idx]) if idx else values
        keep = np.ptp(Uc, axis=0) > 0 if Uc.shape[0] else np.zeros(U.shape[1], bool)
        U, Uc = U[:, keep], Uc[:, keep]
        if U.shape[1] and Uc.shape[0] > U.shape[1] + len(labels):
            kappa = np.linalg.lstsq(Uc, vc, rcond=None)[0]
            order = np.concatenate(idx)
            adj = values.copy()
            adj[order] = values[order] - U[order] @ kappa
    k = kappa.size
    counts = np.array([i.size for i in idx], dtype=int)
    means = np.array([adj[i].mean() if i.size else np.nan for i in idx])
    sems = np.array([adj[i].std(ddof=1 + k) / math.sqrt(i.size) if i.size >= 2 + k
                     else np.nan for i in idx])  # fmt: skip
    return labels, means, sems, counts, kappa


def _summarise(ds, model, config, meta, control_variates=True):
    """Per-size statistics, the extrapolation and the theory predictions."""
    conv = (ds["converged"].values == 1).ravel()
    sizes = np.broadcast_to(ds.size.values[:, None], ds["mse"].shape).ravel()
    mse = ds["mse"].values.ravel()
    raw = size_means(mse[conv], sizes[conv])
    controls = None
    if control_variates:
        controls = np.stack([ds["rho_emp"].values.ravel() - model.rho,
                             ds["noise_emp"].values.ravel() - model.noise], axis=1)[conv]  # fmt: skip
    labels, means, sems, _, kappa = size_means(mse[conv], sizes[conv], controls)
    n_conv = (ds["converged"].values == 1).sum(axis=1)

    def per_size(lab, arr):
        out = np.full(ds.size.size, np.nan)
        for j, n in enumerate(ds.size.values):
            hit = np.flatnonzero(lab == n)
            if hit.size:
                out[j] = arr[hit[0]]
        return out

    means, sems = per_size(labels, means), per_size(labels, sems)
    fit = extrapolate(ds.size.values, means, sems)
    rs = solve_rs(model, throw=False)
    if model.design.gaussian:
        se = state_evolution(model, throw=False)
        tap = _tap_prediction(model)
    else:
        from ..structured import vamp_state_evolution

        se = vamp_state_evolution(model, throw=False)
        tap = _NoTap(mse=math.nan, status="not applicable (structured design)", branch="none")
    extra = model.noise if model.include_noise else 0.0
    out = ds.copy()
    out["converged"] = ds["converged"] == 1
    out["gen_error"] = ds["mse"] + extra
    out["mse_mean"] = ("size", per_size(raw[0], raw[1]))
    out["mse_sem"] = ("size", per_size(raw[0], raw[2]))
    out["mse_cv"] = ("size", means)
    out["mse_cv_sem"] = ("size", sems)
    out["n_converged"] = ("size", n_conv.astype(np.int32))
    for k, v in (("mse_inf", fit.mse_inf), ("mse_inf_se", fit.mse_inf_se), ("slope", fit.c),
                 ("slope_se", fit.c_se), ("fit_chi2", fit.chi2), ("rs_mse", rs.mse),
                 ("rs_at", rs.at), ("se_mse", se.mse),
                 ("z_rs", (fit.mse_inf - rs.mse) / fit.mse_inf_se), ("tap_mse", tap.mse),
                 ("z_tap", (fit.mse_inf - tap.mse) / fit.mse_inf_se)):  # fmt: skip
        out[k] = ((), float(v))
    out.attrs.update(
        amp_config=json.dumps(config), fit_status=fit.status, fit_dof=fit.dof,
        control_variates=json.dumps([float(x) for x in kappa]),
        rs_status=rs.status, se_status=se.status, replica_meta=json.dumps(meta),
        tap_status=tap.status, tap_branch=tap.branch,
    )  # fmt: skip
    return out


def _tap_prediction(model):
    """:func:`replica.solve_tap` (what AMP reaches: RS where AT < 1, the TAP branch where
    AT > 1 — a conjecture, see :mod:`replica.tap`), or a NaN record where it does not apply."""
    from ..tap import solve_tap

    if not math.isfinite(model.beta):
        return _NoTap(mse=math.nan, status="not applicable (beta = inf)", branch="none")
    if model.estimator != "mean":
        return _NoTap(mse=math.nan, status="not applicable (estimator='sample')", branch="none")
    sol = solve_tap(model, throw=False)
    return sol if sol.converged else _NoTap(mse=math.nan, status=sol.status, branch=sol.branch)


class _NoTap(NamedTuple):
    mse: float
    status: str
    branch: str
