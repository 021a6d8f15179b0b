"""Monte-Carlo ensembles over sizes and seeds, extrapolated in ``1/N`` and compared with RS.

:func:`experiment` samples ``len(seeds)`` independent instances at each size ``N`` (the very
instances :func:`replica.amp.experiment` draws with the same ``base_seed``), records per
instance and per β of the ladder the energy, errors, overlaps and entropies, averages them over
instances (with the zero-mean control variates ``‖w⁰‖²/N − ρ`` and ``‖ξ‖²/M − σ²`` of
:func:`replica.amp.experiment.size_means`) and fits

    x(N) = x∞ + c/N

by weighted least squares (:func:`replica.amp.extrapolate`) for every quantity and β. The RS
prediction at every β of the ladder is stored next to it with the z-score
``(x∞ − x_RS)/se(x∞)``. With a ``checkpoint`` path the finished instances are written
(atomically, netCDF, with a resume key over every argument that changes them) after every batch,
and a restarted experiment computes only the missing ones.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .. import io
from ..errors import check
from ..regression import QuantizedRegression, solve_rs
from .sampler import EQUILIBRATED, NOT_EQUILIBRATED, SHORT_RUN, _check_int, _ladder, _run_batch

__all__ = ["QUANTITIES", "experiment"]

#: per-instance, per-β quantities that are averaged and extrapolated
QUANTITIES = ("energy", "mse", "mse_sample", "m", "q", "Q", "free_entropy", "entropy", "train",
              "train_sample")  # fmt: skip
_PER_BETA = (*QUANTITIES, "energy_se", "mse_se", "q_se", "entropy_se", "tau")
_STATUS_CODE = {EQUILIBRATED: 1, SHORT_RUN: 0, NOT_EQUILIBRATED: -1}  # -2: not run yet

_NOT_IN_KEY = {
    "sizes": "instances are stored per size",
    "seeds": "instances are stored per seed",
    "checkpoint": "where instances are stored",
    "batch": "each instance has its own generators: batching does not change it",
    "control_variates": "summary only, recomputed from the instances",
    "use": "summary only, recomputed from the instances",
    "progress": "display only",
}


def _empty(sizes, seeds, betas, n_bins):
    import xarray as xr

    S, D, T = len(sizes), len(seeds), betas.size
    data = {k: (("size", "seed", "beta"), np.full((S, D, T), np.nan)) for k in _PER_BETA}
    for k in ("rho_emp", "noise_emp", "swap_min", "hot_cold_z"):
        data[k] = (("size", "seed"), np.full((S, D), np.nan))
    data["status"] = (("size", "seed"), np.full((S, D), -2, dtype=np.int8))
    data["pq"] = (("size", "seed", "q_bin"), np.full((S, D, n_bins), np.nan))
    return xr.Dataset(data, coords={"size": np.asarray(sizes, dtype=np.int64),
                                    "seed": np.asarray(seeds, dtype=np.int64),
                                    "beta": betas})  # fmt: skip


def _resume(ds, path: Path, key: str):
    old = io.load_netcdf(path)
    if old.attrs.get("resume_key") != key:
        raise ValueError(
            f"checkpoint: expected a file of this Monte-Carlo experiment (same model, ladder, "
            f"sweeps, replicas, base_seed and package version), got {path} written by another; "
            "remove it or choose another path"
        )
    io._copy_instances(ds, old, lambda old, n, s: int(old["status"].sel(size=n, seed=s)) > -2,
                       [k for k in ds.data_vars])  # fmt: skip
    return ds


def experiment(
    model: QuantizedRegression,
    sizes: Sequence[int] = (8, 12, 16, 24),
    seeds: int | Sequence[int] = 16,
    betas=None,
    sweeps: int = 2000,
    burn_in: int | None = None,
    replicas: int = 8,
    n_bins: int = 41,
    checkpoint: str | Path | None = None,
    base_seed: int = 0,
    batch: int = 8,
    control_variates: bool = True,
    use: Sequence[str] = (EQUILIBRATED,),
    progress: bool = False,
):
    """Parallel-tempering Monte Carlo on independent instances over sizes and seeds.

    Parameters
    ----------
    model : QuantizedRegression
        Finite β (the top of the default ladder).
    sizes : sequence of int
        Numbers of weights ``N`` (distinct, ≥ 2).
    seeds : int or sequence of int
        Instance labels (``k`` means ``range(k)``); instance ``(N, s)`` is
        ``replica.amp.generate(model, N, seed=(base_seed, N, s))`` and its chains use
        ``default_rng((base_seed, N, s, 1))``: reproducible one by one.
    betas : array, optional
        The ladder (strictly increasing; β = 0 prepended when absent). Default
        ``replica.mc.ladder(model.beta, 12)``. It must contain ``model.beta``.
    sweeps, burn_in, replicas, n_bins :
        Passed to :func:`replica.mc.sample`.
    checkpoint : path, optional
        netCDF file updated atomically after every batch; a restart with the same arguments
        computes only the missing instances (other arguments: ``ValueError``).
    base_seed : int
    batch : int
        Instances of one size sampled together (vectorised; the results do not depend on it).
    control_variates : bool
        Use ``‖w⁰‖²/N − ρ`` and ``‖ξ‖²/M − σ²`` as control variates in the per-size means.
    use : sequence of str
        Statuses of the instances that enter the means (default only ``"equilibrated"``).
        Leaving out the others can bias the means toward easy instances where many are not
        equilibrated; ``("equilibrated", "short_run", "not_equilibrated")`` uses all of them
        (rerun with a checkpoint to get both summaries from one set of runs).
    progress : bool
        tqdm progress bar over batches.

    Returns
    -------
    xarray.Dataset
        Per instance and β (dims ``size, seed, beta``): the :data:`QUANTITIES`, ``energy_se``,
        ``mse_se``, ``q_se``, ``entropy_se`` (within-instance) and ``tau``; per instance:
        ``status`` (1 equilibrated, 0 short run, −1 not equilibrated), ``swap_min``,
        ``hot_cold_z`` (max |z|), ``rho_emp``, ``noise_emp`` and ``pq`` (the overlap histogram at
        ``model.beta``, dim ``q_bin`` with coordinate ``q`` at the bin centres). Per size and β,
        over the instances whose status is in ``use``: ``<x>_mean`` and ``<x>_sem``,
        ``n_used``; ``n_equilibrated``. Per β:
        ``<x>_inf``, ``<x>_inf_se`` (fit ``x∞ + c/N``), ``<x>_fit_chi2``, the RS prediction
        ``rs_<x>`` and ``z_<x> = (x∞ − rs_<x>)/se``; ``rs_at``. ``attrs``: ``fit_dof``,
        ``n_instances``, ``resume_key`` and a metadata record.
    """
    check(isinstance(model, QuantizedRegression), "model", "a QuantizedRegression", model)
    check(math.isfinite(model.beta), "model", "a model with finite beta", model.beta)
    sizes = [_check_int(n, "sizes", 2) for n in sizes]
    check(len(sizes) >= 1 and len(set(sizes)) == len(sizes), "sizes", "distinct integers >= 2",
          sizes)  # fmt: skip
    if np.ndim(seeds) == 0:
        seeds = list(range(_check_int(seeds, "seeds", 1)))
    seeds = [_check_int(s, "seeds", 0) for s in seeds]
    check(len(seeds) >= 1 and len(set(seeds)) == len(seeds), "seeds",
          "distinct non-negative integers", seeds)  # fmt: skip
    from .sampler import ladder

    ladder_ = _ladder(ladder(model.beta, 12) if betas is None else betas)
    check(bool(np.any(np.isclose(ladder_, model.beta, rtol=1e-12, atol=0))), "betas",
          f"a ladder containing model.beta = {model.beta}", ladder_.tolist())  # fmt: skip
    sweeps = _check_int(sweeps, "sweeps", 1)
    burn = sweeps // 2 if burn_in is None else _check_int(burn_in, "burn_in", 0)
    replicas = _check_int(replicas, "replicas", 2)
    n_bins = _check_int(n_bins, "n_bins", 1)
    base_seed = _check_int(base_seed, "base_seed", 0)
    batch = _check_int(batch, "batch", 1)
    check(not isinstance(use, str) and len(use) >= 1 and set(use) <= set(_STATUS_CODE), "use",
          f"a non-empty sequence of statuses from {tuple(_STATUS_CODE)}", use)  # fmt: skip
    codes = sorted(_STATUS_CODE[u] for u in use)
    key = io.resume_key(
        experiment,
        {"model": model, "betas": ladder_, "sweeps": sweeps, "burn_in": burn,
         "replicas": replicas, "n_bins": n_bins, "base_seed": base_seed},
        _NOT_IN_KEY,
    )  # fmt: skip
    config = {"levels": [float(x) for x in model.quantizer.levels], "alpha": model.alpha,
              "beta": model.beta, "noise": model.noise, "ridge": model.ridge,
              "teacher": repr(model.teacher), "betas": ladder_.tolist(), "sweeps": sweeps,
              "burn_in": burn, "replicas": replicas}  # fmt: skip
    ds = _empty(sizes, seeds, ladder_, n_bins)
    path = Path(checkpoint) if checkpoint is not None else None
    if path is not None and path.exists():
        ds = _resume(ds, path, key)
    meta = io.metadata(params=config, seed={"base_seed": base_seed, "seeds": seeds}, sizes=sizes,
                       resume_key=key)  # fmt: skip
    save = io._checkpoint_saver(path, meta, "mc_config", config, key)

    from ..amp.experiment import generate

    top = int(np.flatnonzero(np.isclose(ladder_, model.beta, rtol=1e-12, atol=0))[0])
    jobs = []
    for n in sizes:
        todo = [s for s in seeds if int(ds["status"].sel(size=n, seed=s)) == -2]
        jobs += [(n, todo[i : i + batch]) for i in range(0, len(todo), batch)]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), desc="mc batches")
    for n, group in jobs:
        insts = [generate(model, n, seed=(base_seed, n, s)) for s in group]
        rngs = [np.random.default_rng((base_seed, n, s, 1)) for s in group]
        results = _run_batch([i.X for i in insts], [i.y for i in insts], np.asarray(
            model.quantizer.levels, dtype=float), ladder_, model.ridge, [i.w0 for i in insts],
            sweeps, burn, replicas, rngs, n_bins)  # fmt: skip
        for s, inst, res in zip(group, insts, results):
            at = {"size": n, "seed": s}
            for k in _PER_BETA:
                ds[k].loc[at] = getattr(res, k)
            xi = inst.y - inst.X @ inst.w0
            ds["rho_emp"].loc[at] = float(inst.w0 @ inst.w0) / n
            ds["noise_emp"].loc[at] = float(xi @ xi) / xi.size
            ds["swap_min"].loc[at] = float(np.min(res.swap_rate)) if res.swap_rate.size else 1.0
            ds["hot_cold_z"].loc[at] = res.residual
            ds["status"].loc[at] = _STATUS_CODE[res.status]
            ds["pq"].loc[at] = res.pq[top]
        if path is not None:
            save(ds)
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    edges = results[0].pq_edges if jobs else None
    return _summarise(ds, model, ladder_, key, meta, control_variates, edges, n_bins, codes)


def _summarise(ds, model, betas, key, meta, control_variates, edges, n_bins, codes):
    from ..amp.experiment import extrapolate, size_means

    out = ds.copy()
    if edges is None:
        qmax = float(np.max(np.asarray(model.quantizer.levels) ** 2))
        edges = np.linspace(-qmax, qmax, n_bins + 1)
    out = out.assign_coords(q=("q_bin", 0.5 * (edges[1:] + edges[:-1])))
    ok = np.isin(ds["status"].values, codes).ravel()
    sizes = np.broadcast_to(ds["size"].values[:, None], ds["status"].shape).ravel()
    controls = None
    if control_variates:
        controls = np.stack([ds["rho_emp"].values.ravel() - model.rho,
                             ds["noise_emp"].values.ravel() - model.noise], axis=1)[ok]  # fmt: skip
    S, T = ds["size"].size, betas.size
    rs = [_rs_values(model, b) for b in betas]
    for k in QUANTITIES:
        mean, sem = np.full((S, T), np.nan), np.full((S, T), np.nan)
        for t in range(T):
            vals = ds[k].values[:, :, t].ravel()
            good = ok & np.isfinite(vals)
            if not np.any(good):
                continue
            cv = None if controls is None else controls[good[ok]]
            lab, mu, se, _, _ = size_means(vals[good], sizes[good], cv)
            for j, n in np.ndenumerate(ds["size"].values):
                hit = np.flatnonzero(lab == n)
                if hit.size:
                    mean[j, t], sem[j, t] = mu[hit[0]], se[hit[0]]
        out[f"{k}_mean"] = (("size", "beta"), mean)
        out[f"{k}_sem"] = (("size", "beta"), sem)
        fits = [extrapolate(ds["size"].values, mean[:, t], sem[:, t]) for t in range(T)]
        out[f"{k}_inf"] = ("beta", np.array([f.mse_inf for f in fits]))
        out[f"{k}_inf_se"] = ("beta", np.array([f.mse_inf_se for f in fits]))
        out[f"{k}_fit_chi2"] = ("beta", np.array([f.chi2 for f in fits]))
        theory = np.array([r[k] for r in rs])
        out[f"rs_{k}"] = ("beta", theory)
        out[f"z_{k}"] = ("beta", (out[f"{k}_inf"].values - theory) / out[f"{k}_inf_se"].values)
    out["rs_at"] = ("beta", np.array([r["at"] for r in rs]))
    out["n_equilibrated"] = ("size", (ds["status"].values == 1).sum(axis=1).astype(np.int32))
    out["n_used"] = ("size", np.isin(ds["status"].values, codes).sum(axis=1).astype(np.int32))
    out.attrs.update(resume_key=key, fit_dof=int(S - 2), n_instances=int(ds["seed"].size),
                     used_statuses=json.dumps([k for k, c in _STATUS_CODE.items() if c in codes]),
                     replica_meta=json.dumps(meta))  # fmt: skip
    return out


def _rs_values(model, beta) -> dict:
    """The RS predictions of the MC quantities at ``beta`` (NaN at β = 0 or when RS did not
    converge); ``free_entropy = −βf``."""
    rs = solve_rs(model.replace(beta=float(beta)), throw=False) if beta > 0 else None
    if rs is None or not rs.converged:
        return dict.fromkeys((*QUANTITIES, "at"), math.nan)
    train = (rs.mse + model.noise) / (1.0 + rs.chi) ** 2  # the Gibbs mean's, E/(1 + χ)²
    return {"energy": rs.energy, "mse": rs.mse, "mse_sample": rs.mse + rs.Q - rs.q, "m": rs.m,
            "q": rs.q, "Q": rs.Q, "free_entropy": -beta * rs.free_energy,
            "entropy": rs.entropy, "train": train,
            "train_sample": train + (rs.Q - rs.q) / (1.0 + rs.chi), "at": rs.at}  # fmt: skip
