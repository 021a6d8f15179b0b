"""Kashiwamura, Sakata & Imaizumi (2024) beyond the paper: the equilibrium checked by Monte Carlo.

Parallel-tempering Monte Carlo (:mod:`replica.mc`) samples the very Gibbs measure the replica
theory describes, so it checks the theory where AMP cannot (AMP reaches a TAP state, which is
the equilibrium only where RS is stable). Uniform endpoints grid, Gaussian teacher ρ = 1,
σ² = 0.1, β = 5, ladder ``replica.mc.ladder(5, L)``; instance ``(N, s)`` is
``replica.amp.generate(model, N, seed=(SEED, N, s))``.

Four points, each an ensemble over sizes N and instances, extrapolated as x∞ + c/N
(weighted least squares on the per-size means over instances; standard errors over instances):

* ``rs_b1`` (b = 1, ω = 0.5, α = 2; AT = 0.24) and ``rs_b2`` (b = 2, ω = 1.5; AT = 0.46): RS
  phase, compared with :func:`replica.solve_rs`;
* ``rsb`` (b = 2, ω = 2.7, α = 2; AT = 1.35): compared with RS and 1RSB
  (:func:`replica.solve_1rsb`); for the 1RSB Gibbs-mean error both the q₀ form
  ``ρ − 2m + q₀`` (column ``rsb_mse``; ``RSBSolution.mse`` used it until these data showed
  it off) and ``ρ − 2m + q̄`` (``rsb_mse_qbar``, what ``RSBSolution.mse`` is now) with the mean overlap ``q̄ = x q₀ + (1 − x) q₁`` of
  P(q) = x δ(q − q₀) + (1 − x) δ(q − q₁) (which is what ``‖⟨w⟩‖²/N`` averages to) are listed;
* ``crisis`` (b = 1, ω = 3, α = 0.6; RS entropy −0.179 < 0): the measured entropy against RS,
  zero and the frozen 1RSB (when :func:`replica.rsb.solve_frozen_1rsb` exists).

A scan over ω at b = 1 and 2 (α = 2) puts RS, 1RSB, frozen 1RSB and TAP (when
:func:`replica.tap.solve_tap` exists) next to Monte Carlo at one N and AMP.

Tables (``figures/data/kashiwamura2024_mc/``): ``size_means.csv``, ``extrapolation.csv``,
``pq.csv``, ``diagnostics.csv``, ``scan_theory.csv``, ``scan_points.csv``, ``train_sizes.csv``,
``train_extrapolation.csv`` (the training errors at ``rsb``: Gibbs mean ``‖y − X⟨w⟩‖²/M``, a
Gibbs sample ``⟨‖y − Xw‖²⟩/M`` and their per-instance difference, against RS, 1RSB and the
1RSB Gibbs-mean form ``E₀/b²`` that ``RSBSolution.train_error`` used before these data), each
with a ``.meta.json`` record. Figures: ``mc_validation.png``, ``mc_phase_omega.png``,
``mc_train_error.png``.
"""

from __future__ import annotations

import functools
import importlib
import math
import shutil
from pathlib import Path

import numpy as np

from replica import mc
from replica.io import load_csv, metadata, save_csv
from replica.quantizers import Quantizer
from replica.regression import QuantizedRegression, solve_rs

from ._figures import save_figure

TITLE = "Kashiwamura, Sakata & Imaizumi (2024): Monte-Carlo equilibrium vs RS / 1RSB / frozen"
#: seconds of `replica repro --quick kashiwamura2024_mc` (both steps), measured on 2 shared CPU cores (load ~6)
QUICK_SECONDS = 18

BETA, NOISE, RHO = 5.0, 0.1, 1.0
SEED = 2024
POINTS = {  # name: (bits, width, alpha)
    "rs_b1": (1, 0.5, 2.0),
    "rs_b2": (2, 1.5, 2.0),
    "rsb": (2, 2.7, 2.0),
    "crisis": (1, 3.0, 0.6),
}
QUANTITIES = ("energy", "mse", "mse_sample", "q", "Q", "free_entropy", "entropy")


def _settings(quick: bool) -> dict:
    if quick:
        return {"points": dict.fromkeys(POINTS, ((8, 12), 4, 150, 10)), "replicas": 2,
                "sweeps": 150, "ladder": 10, "scan": {1: (0.5, 2.0), 2: (1.5, 2.7)},
                "scan_n": 10, "scan_seeds": 3, "amp_n": 300, "amp_seeds": 2,
                "rsb_scan": {2: (2.7,)}, "theory_points": 12,
                "train": ((8, 12), 4, 150, 10)}  # fmt: skip
    # per point: sizes, instances per size, measured sweeps (burn-in half of it), ladder points;
    # the entropy-crisis chains are the slowest (tau ~ 90 sweeps at N = 48 with 16 points)
    return {"points": {"rs_b1": ((16, 24, 32, 48, 64), 32, 600, 12),
                       "rs_b2": ((16, 24, 32, 48, 64), 32, 600, 12),
                       "rsb": ((16, 24, 32, 48), 32, 1000, 16),
                       "crisis": ((12, 16, 24, 32), 24, 4000, 24)},
            "replicas": 4, "sweeps": 1000, "ladder": 16,
            "scan": {1: (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0),
                     2: (0.5, 1.0, 1.5, 2.0, 2.5, 2.7, 3.0)},
            "scan_n": 32, "scan_seeds": 12, "amp_n": 1000, "amp_seeds": 4,
            "rsb_scan": {1: (1.0, 1.5, 2.0), 2: (2.2, 2.5, 2.7, 3.0)},
            "theory_points": 60, "train": ((12, 16, 24, 32, 48), 64, 1000, 16)}  # fmt: skip


def _model(bits, width, alpha=2.0, **kw):
    return QuantizedRegression(quantizer=Quantizer.uniform(bits, float(width)), alpha=alpha,
                               beta=BETA, noise=NOISE, **kw)  # fmt: skip


def _params(quick, **extra):
    return {"beta": BETA, "noise": NOISE, "rho": RHO, "quick": quick, "grid": "uniform endpoints",
            "teacher": "Gaussian N(0, rho)", **extra}  # fmt: skip


def _optional(module: str, name: str):
    """A solver that other work may not have landed yet (None when absent). A solver that
    raises is recorded as missing at that point (its values NaN), not allowed to stop the
    reproduction: the Monte-Carlo data are the subject here."""
    try:
        fn = getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None
    if fn is None:
        return None

    def guarded(*args, **kw):
        try:
            return fn(*args, **kw)
        except Exception as exc:  # recorded, see above
            FAILURES.append(f"{module}.{name}: {type(exc).__name__}: {exc}"[:200])
            return None

    return guarded


FAILURES: list[str] = []


@functools.cache
def _theory(bits, width, alpha, with_1rsb=True) -> dict:
    """RS, 1RSB (energy from the Gibbs-sample training error, entropy s = φ + βe), frozen 1RSB
    and TAP values at one point; NaN where a solver is absent or did not converge."""
    nan = math.nan
    model = _model(bits, width, alpha)
    rs = solve_rs(model, throw=False)
    out = {"rs_at": rs.at}
    if rs.converged:
        out.update(rs_energy=rs.energy, rs_mse=rs.mse, rs_mse_sample=rs.mse + rs.Q - rs.q,
                   rs_q=rs.q, rs_Q=rs.Q, rs_free_entropy=-BETA * rs.free_energy,
                   rs_entropy=rs.entropy)  # fmt: skip
    solve_1rsb = _optional("replica.rsb", "solve_1rsb") if with_1rsb else None
    if solve_1rsb is not None:
        s = solve_1rsb(model, rs=rs, throw=False)
        ok = s is not None and s.status in ("converged", "collapsed_to_rs")
        e_sample = solve_1rsb(model.replace(estimator="sample"), rs=rs, throw=False) if ok else None
        if e_sample is not None:
            energy = 0.5 * alpha * e_sample.train_error + 0.5 * model.ridge * s.Q
            qbar = s.x * s.q0 + (1.0 - s.x) * s.q1
            out.update(rsb_status=s.status, rsb_x=s.x, rsb_q0=s.q0, rsb_q1=s.q1, rsb_Q=s.Q,
                       rsb_energy=energy, rsb_mse=RHO - 2 * s.m + s.q0, rsb_mse_qbar=RHO - 2 * s.m + qbar,
                       rsb_mse_sample=RHO - 2 * s.m + s.Q, rsb_q=qbar,
                       rsb_free_entropy=s.free_entropy,
                       rsb_entropy=s.free_entropy + BETA * energy)  # fmt: skip
        else:
            out["rsb_status"] = "failed" if s is None else s.status
    frozen = _optional("replica.rsb", "solve_frozen_1rsb")
    if frozen is not None:
        f = frozen(model, throw=False)
        if f is not None and f.status in ("converged", "collapsed_to_rs"):
            out.update(frozen_status=f.status, frozen_mse=f.mse, frozen_free_entropy=f.free_entropy,
                       frozen_entropy=0.0 if f.status == "converged" else rs.entropy,
                       frozen_energy=f.free_energy if f.status == "converged" else rs.energy,
                       frozen_q=f.x * f.q0 + (1.0 - f.x) * f.q1,
                       frozen_mse_qbar=RHO - 2 * f.m + f.x * f.q0 + (1.0 - f.x) * f.q1)  # fmt: skip
    tap = _optional("replica.tap", "solve_tap")
    if tap is not None:
        t = tap(model, throw=False)
        if t is not None and t.converged:
            out["tap_mse"] = t.mse
    return {k: (nan if v is None else v) for k, v in out.items()}


def _ensembles(data_dir: Path, quick: bool, s: dict) -> None:
    ckpt = data_dir / "_checkpoints"
    means = {k: [] for k in ("point", "bits", "width", "alpha", "n", "quantity", "mean", "sem",
                             "n_used")}  # fmt: skip
    ext = {k: [] for k in ("point", "bits", "width", "alpha", "quantity", "inf", "inf_se", "chi2",
                           "dof", "n_min", "n_max", "rs", "z_rs", "rsb", "z_rsb", "rsb_qbar",
                           "z_rsb_qbar", "frozen", "z_frozen", "frozen_qbar", "z_frozen_qbar",
                           "rs_at", "rsb_x", "rsb_q0",
                           "rsb_q1", "n_instances")}  # fmt: skip
    pq = {k: [] for k in ("point", "n", "q", "density")}
    diag = {k: [] for k in ("point", "n", "equilibrated", "short_run", "not_equilibrated",
                            "swap_min", "tau_max", "hot_cold_z_max")}  # fmt: skip
    # the crisis point is summarised twice from the same runs: over equilibrated instances and
    # over all (many large-N crisis instances are flagged, and leaving them out selects the easy
    # ones)
    every = ("equilibrated", "short_run", "not_equilibrated")
    runs = [(name, name, ("equilibrated",)) for name in POINTS] + [("crisis_all", "crisis", every)]
    for name, base, use in runs:
        bits, width, alpha = POINTS[base]
        model = _model(bits, width, alpha)
        sizes_, seeds_, sweeps_, ladder_ = s["points"][base]
        ds = mc.experiment(model, sizes=sizes_, seeds=seeds_, betas=mc.ladder(BETA, ladder_),
                           sweeps=sweeps_, replicas=s["replicas"], base_seed=SEED, batch=16,
                           checkpoint=ckpt / f"{base}.nc", use=use)  # fmt: skip
        th = _theory(bits, width, alpha, with_1rsb=base in ("rsb", "crisis") or not quick)
        sizes = ds["size"].values
        for k in QUANTITIES:
            for j, n in np.ndenumerate(sizes):
                for col, v in (("point", name), ("bits", bits), ("width", width),
                               ("alpha", alpha), ("n", int(n)), ("quantity", k),
                               ("mean", float(ds[f"{k}_mean"].values[j][-1])),
                               ("sem", float(ds[f"{k}_sem"].values[j][-1])),
                               ("n_used", int(ds["n_used"].values[j]))):  # fmt: skip
                    means[col].append(v)
            inf, se = float(ds[f"{k}_inf"].values[-1]), float(ds[f"{k}_inf_se"].values[-1])

            def z(ref, inf=inf, se=se):
                return (inf - ref) / se if se > 0 else math.nan

            ref = {src: th.get(f"{src}_{k}", math.nan) for src in ("rs", "rsb", "frozen")}
            qbar = th.get("rsb_mse_qbar", math.nan) if k == "mse" else ref["rsb"]
            fqbar = th.get("frozen_mse_qbar", math.nan) if k == "mse" else ref["frozen"]
            for col, v in (("point", name), ("bits", bits), ("width", width), ("alpha", alpha),
                           ("quantity", k), ("inf", inf), ("inf_se", se),
                           ("chi2", float(ds[f"{k}_fit_chi2"].values[-1])),
                           ("dof", int(ds.attrs["fit_dof"])), ("n_min", int(sizes.min())),
                           ("n_max", int(sizes.max())), ("rs", ref["rs"]), ("z_rs", z(ref["rs"])),
                           ("rsb", ref["rsb"]), ("z_rsb", z(ref["rsb"])), ("rsb_qbar", qbar),
                           ("z_rsb_qbar", z(qbar)), ("frozen", ref["frozen"]),
                           ("z_frozen", z(ref["frozen"])), ("frozen_qbar", fqbar),
                           ("z_frozen_qbar", z(fqbar)), ("rs_at", th["rs_at"]),
                           ("rsb_x", th.get("rsb_x", math.nan)),
                           ("rsb_q0", th.get("rsb_q0", math.nan)),
                           ("rsb_q1", th.get("rsb_q1", math.nan)),
                           ("n_instances", int(ds.attrs["n_instances"]))):  # fmt: skip
                ext[col].append(v)
        if name != base:
            continue
        big = int(sizes.max())
        ok = ds["status"].sel(size=big).values == 1
        dens = ds["pq"].sel(size=big).values[ok].mean(axis=0) if ok.any() else ds["q"] * math.nan
        for qv, dv in zip(ds["q"].values, np.asarray(dens)):
            for col, v in (("point", name), ("n", big), ("q", float(qv)), ("density", float(dv))):
                pq[col].append(v)
        for n in sizes:
            st = ds["status"].sel(size=n).values
            for col, v in (("point", name), ("n", int(n)), ("equilibrated", int((st == 1).sum())),
                           ("short_run", int((st == 0).sum())),
                           ("not_equilibrated", int((st == -1).sum())),
                           ("swap_min", float(ds["swap_min"].sel(size=n).min())),
                           ("tau_max", float(ds["tau"].sel(size=n).max())),
                           ("hot_cold_z_max", float(ds["hot_cold_z"].sel(size=n).max()))):  # fmt: skip
                diag[col].append(v)
    run = {"points": {k: {"sizes": list(v[0]), "seeds": v[1], "sweeps": v[2],
                          "burn_in": v[2] // 2, "ladder": f"replica.mc.ladder({BETA}, {v[3]})"}
                      for k, v in s["points"].items()},
           "replicas": s["replicas"],
           "instance_seed": "(SEED, N, s)", "fit": "x(N) = x_inf + c/N, weighted least squares"}  # fmt: skip
    meta = metadata(_params(quick, **run, solver_failures=FAILURES), seed={"SEED": SEED})
    save_csv(data_dir / "size_means.csv", means, meta)
    save_csv(data_dir / "extrapolation.csv", ext, meta)
    save_csv(data_dir / "pq.csv", pq, meta)
    save_csv(data_dir / "diagnostics.csv", diag, meta)
    shutil.rmtree(ckpt, ignore_errors=True)


def _scan(data_dir: Path, quick: bool, s: dict) -> None:
    from replica.amp import experiment as amp_experiment

    theory = {k: [] for k in ("bits", "width", "source", "mse", "entropy", "at")}

    def add_theory(b, w, src, mse, ent, at):
        for col, v in (("bits", b), ("width", w), ("source", src), ("mse", mse),
                       ("entropy", ent), ("at", at)):  # fmt: skip
            theory[col].append(v)

    for b in (1, 2):
        for w in np.linspace(0.2, 3.1, s["theory_points"]):
            th = _theory(b, w, 2.0, with_1rsb=False)
            add_theory(b, float(w), "rs", th.get("rs_mse", math.nan),
                       th.get("rs_entropy", math.nan), th["rs_at"])  # fmt: skip
            if "frozen_mse" in th:
                add_theory(b, float(w), "frozen_1rsb", th["frozen_mse"], th["frozen_entropy"],
                           th["rs_at"])  # fmt: skip
                add_theory(b, float(w), "frozen_1rsb_qbar", th["frozen_mse_qbar"],
                           th["frozen_entropy"], th["rs_at"])  # fmt: skip
            if "tap_mse" in th:
                add_theory(b, float(w), "tap", th["tap_mse"], math.nan, th["rs_at"])
        for w in s["rsb_scan"].get(b, ()):
            th = _theory(b, w, 2.0)
            if "rsb_mse" in th:
                add_theory(b, float(w), "1rsb_q0", th["rsb_mse"], th["rsb_entropy"], th["rs_at"])
                add_theory(b, float(w), "1rsb_qbar", th["rsb_mse_qbar"], th["rsb_entropy"],
                           th["rs_at"])  # fmt: skip
    pts = {k: [] for k in ("bits", "width", "source", "n", "mse", "mse_se", "entropy",
                           "entropy_se", "n_ok", "n_runs")}  # fmt: skip
    for b, widths in s["scan"].items():
        for w in widths:
            model = _model(b, w)
            ds = mc.experiment(model, sizes=(s["scan_n"],), seeds=s["scan_seeds"],
                               betas=mc.ladder(BETA, s["ladder"]), sweeps=s["sweeps"],
                               replicas=s["replicas"], base_seed=SEED, batch=16)  # fmt: skip
            row = {"bits": b, "width": float(w), "source": "mc", "n": s["scan_n"],
                   "mse": float(ds["mse_mean"].values[0, -1]),
                   "mse_se": float(ds["mse_sem"].values[0, -1]),
                   "entropy": float(ds["entropy_mean"].values[0, -1]),
                   "entropy_se": float(ds["entropy_sem"].values[0, -1]),
                   "n_ok": int(ds["n_equilibrated"].values[0]), "n_runs": s["scan_seeds"]}  # fmt: skip
            for k, v in row.items():
                pts[k].append(v)
            amp = amp_experiment(model, sizes=(s["amp_n"],), seeds=s["amp_seeds"], base_seed=SEED,
                                 max_iter=500, patience=50)  # fmt: skip
            row = {"bits": b, "width": float(w), "source": "amp", "n": s["amp_n"],
                   "mse": float(amp["mse_cv"].values[0]), "mse_se": float(amp["mse_cv_sem"].values[0]),
                   "entropy": math.nan, "entropy_se": math.nan,
                   "n_ok": int(amp["n_converged"].values[0]), "n_runs": s["amp_seeds"]}  # fmt: skip
            for k, v in row.items():
                pts[k].append(v)
    meta = metadata(_params(quick, alpha=2.0, mc_n=s["scan_n"], mc_seeds=s["scan_seeds"],
                            sweeps=s["sweeps"], replicas=s["replicas"], amp_n=s["amp_n"],
                            amp_seeds=s["amp_seeds"], amp="undamped, max_iter 500, patience 50; "
                            "mean over converged instances", solver_failures=FAILURES),
                    seed={"SEED": SEED})  # fmt: skip
    save_csv(data_dir / "scan_theory.csv", theory, meta)
    save_csv(data_dir / "scan_points.csv", pts, meta)


def _train_theory() -> dict:
    """RS and 1RSB training errors at ``rsb`` (Gibbs mean, Gibbs sample, their difference);
    ``rsb_q0form``: the Gibbs mean's ``E₀/b²`` without the same-state term ``(1 − x)(q₁ −
    q₀)/(ab)`` (``RSBSolution.train_error`` before these data; its sample form was right)."""
    from replica.rsb import solve_1rsb

    model = _model(*POINTS["rsb"])
    rs = solve_rs(model)
    rsb = {e: solve_1rsb(model.replace(estimator=e), rs=rs) for e in ("mean", "sample")}
    s = rsb["mean"]
    a = 1.0 + BETA * (s.Q - s.q1)
    b = a + s.x * BETA * (s.q1 - s.q0)
    old = (RHO - 2 * s.m + s.q0 + NOISE) / b**2
    rs_mean = (rs.mse + NOISE) / (1.0 + rs.chi) ** 2
    rs_sample = rs_mean + (rs.Q - rs.q) / (1.0 + rs.chi)
    new = {k: v.train_error for k, v in rsb.items()}
    return {"train": {"rs": rs_mean, "rsb": new["mean"], "rsb_q0form": old},
            "train_sample": {"rs": rs_sample, "rsb": new["sample"], "rsb_q0form": new["sample"]},
            "train_thermal": {"rs": rs_sample - rs_mean, "rsb": new["sample"] - new["mean"],
                              "rsb_q0form": new["sample"] - old}}  # fmt: skip


def _train_errors(data_dir: Path, quick: bool, s: dict) -> None:
    """Training errors at ``rsb`` extrapolated in N (equilibrated instances, control
    variates, fit x∞ + c/N) next to RS and 1RSB (:func:`_train_theory`)."""
    from replica.amp.experiment import extrapolate, size_means

    sizes_, seeds_, sweeps_, ladder_ = s["train"]
    model = _model(*POINTS["rsb"])
    ds = mc.experiment(model, sizes=sizes_, seeds=seeds_, betas=mc.ladder(BETA, ladder_),
                       sweeps=sweeps_, replicas=s["replicas"], base_seed=SEED, batch=16)  # fmt: skip
    top = ds.sizes["beta"] - 1
    ok = (ds["status"].values == 1).ravel()
    n_of = np.broadcast_to(ds["size"].values[:, None], ds["status"].shape).ravel()[ok]
    cv = np.stack([ds["rho_emp"].values.ravel() - RHO,
                   ds["noise_emp"].values.ravel() - NOISE], axis=1)[ok]  # fmt: skip
    per = {k: ds[k].values[..., top] for k in ("train", "train_sample")}
    per["train_thermal"] = per["train_sample"] - per["train"]
    theory = _train_theory()
    sizes = {k: [] for k in ("quantity", "n", "mean", "sem", "n_used")}
    ext = {k: [] for k in ("quantity", "inf", "inf_se", "chi2", "dof", "n_min", "n_max", "rs",
                           "z_rs", "rsb", "z_rsb", "rsb_q0form", "z_rsb_q0form", "n_instances")}  # fmt: skip
    for k, vals in per.items():
        lab, mu, se, _, _ = size_means(vals.ravel()[ok], n_of, cv)
        for n, m_, e_ in zip(lab, mu, se):
            for col, v in (("quantity", k), ("n", int(n)), ("mean", float(m_)), ("sem", float(e_)),
                           ("n_used", int(np.sum(n_of == n)))):  # fmt: skip
                sizes[col].append(v)
        f = extrapolate(lab, mu, se)
        th = theory[k]
        row = {"quantity": k, "inf": f.mse_inf, "inf_se": f.mse_inf_se, "chi2": f.chi2,
               "dof": f.dof, "n_min": int(min(lab)), "n_max": int(max(lab)),
               "n_instances": int(ok.sum())}  # fmt: skip
        for src in ("rs", "rsb", "rsb_q0form"):
            row[src], row[f"z_{src}"] = th[src], (f.mse_inf - th[src]) / f.mse_inf_se
        for col in ext:
            ext[col].append(row[col])
    run = {"point": "rsb", "bits_width_alpha": list(POINTS["rsb"]), "sizes": list(sizes_),
           "seeds": seeds_, "sweeps": sweeps_, "burn_in": sweeps_ // 2,
           "ladder": f"replica.mc.ladder({BETA}, {ladder_})", "replicas": s["replicas"],
           "instance_seed": "(SEED, N, s)", "estimator": "replica pairs (y - Xw^a).(y - Xw^b)/M",
           "fit": "x(N) = x_inf + c/N, weighted least squares, control variates rho_emp, "
                  "noise_emp"}  # fmt: skip
    meta = metadata(_params(quick, **run), seed={"SEED": SEED})
    save_csv(data_dir / "train_sizes.csv", sizes, meta)
    save_csv(data_dir / "train_extrapolation.csv", ext, meta)


def compute(data_dir: Path, quick: bool, only: str | None = None) -> None:
    """Run the Monte-Carlo ensembles, the ω scan, the training errors and the theory; write
    tidy tables (``only="train"``: the training-error tables alone)."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    s = _settings(quick)
    if only is None:
        _ensembles(data_dir, quick, s)
        _scan(data_dir, quick, s)
    _train_errors(data_dir, quick, s)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot(data_dir: Path, fig_dir: Path) -> list[Path]:
    """Draw ``mc_validation.png`` and ``mc_phase_omega.png`` from the tables."""
    plt = _plt()
    data_dir, fig_dir = Path(data_dir), Path(fig_dir)
    means, _ = load_csv(data_dir / "size_means.csv")
    ext, _ = load_csv(data_dir / "extrapolation.csv")
    pq, _ = load_csv(data_dir / "pq.csv")
    out = []

    def series(point, k):
        sel = (means["point"] == point) & (means["quantity"] == k)
        return means["n"][sel], means["mean"][sel], means["sem"][sel]

    def fit(point, k):
        sel = np.flatnonzero((ext["point"] == point) & (ext["quantity"] == k))[0]
        return {c: ext[c][sel] for c in ext}

    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    ax = axes[0, 0]
    for point, k, c in (("rs_b1", "mse", "C0"), ("rs_b2", "mse", "C1"), ("rs_b1", "q", "C2"),
                        ("rs_b2", "q", "C3")):  # fmt: skip
        n, m, e = series(point, k)
        f = fit(point, k)
        b, w = POINTS[point][:2]
        ax.errorbar(1 / n, m, e, fmt="o", color=c, ms=4, capsize=2,
                    label=f"{k}, b={b} ω={w}: {f['inf']:.3f}±{f['inf_se']:.3f} (RS {f['rs']:.3f})")  # fmt: skip
        xs = np.linspace(0, 1 / n.min(), 20)
        slope = (m - f["inf"]) * n
        ax.plot(xs, f["inf"] + np.mean(slope) * xs, color=c, lw=0.7, alpha=0.6)
        ax.plot([0], [f["rs"]], marker="*", color=c, ms=10, ls="none")
    ax.set_xlabel("1/N")
    ax.set_title("RS phase: MC → N = ∞ (★ RS theory)", fontsize=9)
    ax.legend(fontsize=6)
    ax = axes[0, 1]
    for point, c in (("rs_b2", "C1"), ("rsb", "C3"), ("crisis", "C4")):
        sel = pq["point"] == point
        b, w, a = POINTS[point]
        ax.plot(pq["q"][sel], pq["density"][sel], drawstyle="steps-mid", color=c,
                label=f"{point}: b={b} ω={w} α={a}, N={int(pq['n'][sel][0])}")  # fmt: skip
        f = fit(point, "q")
        if np.isfinite(f["rs"]):
            ax.axvline(f["rs"], color=c, ls="--", lw=0.8)
        if point == "rsb" and np.isfinite(f["rsb_q0"]):
            ax.axvline(f["rsb_q0"], color=c, ls=":", lw=1)
            ax.axvline(f["rsb_q1"], color=c, ls=":", lw=1)
    ax.set_xlabel("overlap q between replicas (β = 5)")
    ax.set_ylabel("P(q)")
    ax.set_yscale("log")
    ax.set_title("overlap distribution (-- RS q, ··· 1RSB q₀, q₁)", fontsize=9)
    ax.legend(fontsize=6)
    ax = axes[1, 0]
    for k, c in (("mse", "C3"), ("energy", "C0")):
        n, m, e = series("rsb", k)
        f = fit("rsb", k)
        ax.errorbar(1 / n, m, e, fmt="o", color=c, ms=4, capsize=2,
                    label=f"MC {k}: {f['inf']:.3f}±{f['inf_se']:.3f}")  # fmt: skip
        ax.axhline(f["rs"], color=c, ls="--", lw=1, label=f"RS {k} {f['rs']:.3f}")
        if np.isfinite(f["rsb"]):
            ax.axhline(f["rsb"], color=c, ls=":", lw=1.2, label=f"1RSB {k} {f['rsb']:.3f}")
        if k == "mse" and np.isfinite(f["rsb_qbar"]):
            ax.axhline(f["rsb_qbar"], color=c, ls="-.", lw=1,
                       label=f"1RSB ρ−2m+q̄ {f['rsb_qbar']:.3f}")  # fmt: skip
    ax.set_xlabel("1/N")
    ax.set_title("RSB phase b=2, ω=2.7, α=2 (AT = 1.35)", fontsize=9)
    ax.legend(fontsize=6)
    ax = axes[1, 1]
    for point, c in (("crisis", "C4"), ("crisis_all", "C5"), ("rs_b1", "C0")):
        n, m, e = series(point, "entropy")
        f = fit(point, "entropy")
        ax.errorbar(1 / n, m, e, fmt="o", color=c, ms=4, capsize=2,
                    label=f"{point} MC: {f['inf']:.3f}±{f['inf_se']:.3f}")  # fmt: skip
        if point != "crisis_all":
            ax.axhline(f["rs"], color=c, ls="--", lw=1, label=f"{point} RS {f['rs']:.3f}")
        if point == "crisis" and np.isfinite(f["rsb"]):
            ax.axhline(f["rsb"], color=c, ls="-.", lw=1, label=f"1RSB {f['rsb']:.4f}")
        if point == "crisis" and np.isfinite(f["frozen"]):
            ax.axhline(f["frozen"], color=c, ls=":", lw=1.2, label="frozen 1RSB (0)")
    ax.axhline(0.0, color="k", lw=0.5)
    ax.set_xlabel("1/N")
    ax.set_ylabel("entropy per weight (β = 5)")
    ax.set_title("entropy crisis b=1, ω=3, α=0.6", fontsize=9)
    ax.legend(fontsize=6)
    out.append(save_figure(fig, fig_dir / "mc_validation.png"))

    th, _ = load_csv(data_dir / "scan_theory.csv")
    pts, _ = load_csv(data_dir / "scan_points.csv")
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5), sharex=True)
    styles = {"rs": ("k", "-", "RS"), "1rsb_q0": ("C2", "-", "1RSB ρ−2m+q₀"),
              "1rsb_qbar": ("C2", "--", "1RSB ρ−2m+q̄"),
              "frozen_1rsb": ("C4", "-", "frozen 1RSB ρ−2m+q₀"),
              "frozen_1rsb_qbar": ("C4", "--", "frozen 1RSB ρ−2m+q̄"),
              "tap": ("C1", "-", "TAP branch")}  # fmt: skip
    for j, b in enumerate((1, 2)):
        for row, key in ((0, "mse"), (1, "entropy")):
            ax = axes[row, j]
            for src, (c, ls, lab) in styles.items():
                sel = (th["bits"] == b) & (th["source"] == src)
                if key == "entropy" and src.endswith("qbar"):
                    continue  # the same entropy as the q₀ line
                if not np.any(sel) or not np.any(np.isfinite(th[key][sel])):
                    continue
                x, y = th["width"][sel], th[key][sel]
                if src == "rs":
                    stable = th["at"][sel] < 1
                    # the two segments share the crossing interval so the line is unbroken
                    stable_ext = stable | np.concatenate([[False], stable[:-1]])
                    ax.plot(x, np.where(stable_ext, y, np.nan), color=c, ls="-",
                            label="RS (AT < 1)")  # fmt: skip
                    ax.plot(x, np.where(stable, np.nan, y), color=c, ls=":", label="RS (AT > 1)")
                else:
                    if key == "entropy":  # one entropy per theory, whatever the overlap
                        lab = lab.replace(" ρ−2m+q₀", "")
                    ax.plot(x, y, color=c, ls=ls, marker="s" if x.size < 8 else None, ms=3,
                            label=lab)  # fmt: skip
            for src, c, mk in (("mc", "C3", "o"), ("amp", "C0", "x")):
                sel = (pts["bits"] == b) & (pts["source"] == src)
                if key == "entropy" and src == "amp":
                    continue
                ax.errorbar(pts["width"][sel], pts[key][sel], pts[f"{key}_se"][sel], fmt=mk,
                            color=c, capsize=2, ms=5,
                            label=f"{'Monte Carlo' if src == 'mc' else 'AMP (undamped)'} "
                                  f"N = {int(pts['n'][sel][0])}")  # fmt: skip
            if key == "entropy":
                ax.axhline(0, color="k", lw=0.5)
            ax.set_ylabel("Gibbs-mean MSE" if key == "mse" else "entropy per weight")
            ax.set_title(f"b = {b}, α = 2, β = 5, σ² = 0.1", fontsize=9)
            if key == "mse":
                ax.set_ylim(0, 1.5 if b == 2 else 3.0)
            ax.legend(fontsize=6)
        axes[1, j].set_xlabel(r"width $\omega$")
    out.append(save_figure(fig, fig_dir / "mc_phase_omega.png"))
    if (data_dir / "train_extrapolation.csv").exists():
        out.append(_plot_train(plt, data_dir, fig_dir))
    return out


def _plot_train(plt, data_dir: Path, fig_dir: Path) -> Path:
    """``mc_train_error.png``: the training errors at ``rsb`` against 1/N with RS, 1RSB and
    the 1RSB Gibbs-mean form ``E₀/b²`` used before these data."""
    sizes, _ = load_csv(data_dir / "train_sizes.csv")
    ext, _ = load_csv(data_dir / "train_extrapolation.csv")
    names = {"train": "Gibbs mean ‖y − X⟨w⟩‖²/M", "train_sample": "Gibbs sample ⟨‖y − Xw‖²⟩/M",
             "train_thermal": "difference (sample − mean)"}  # fmt: skip
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    for ax, (k, title) in zip(axes, names.items()):
        sel = sizes["quantity"] == k
        n = sizes["n"][sel]
        f = {c: ext[c][np.flatnonzero(ext["quantity"] == k)[0]] for c in ext}
        ax.errorbar(1 / n, sizes["mean"][sel], sizes["sem"][sel], fmt="o", color="C3", ms=4,
                    capsize=2, label="Monte Carlo")  # fmt: skip
        ax.errorbar([0], [f["inf"]], [f["inf_se"]], fmt="s", color="C3", ms=5, capsize=3,
                    label=f"N → ∞: {f['inf']:.4f} ± {f['inf_se']:.4f}")  # fmt: skip
        ax.axhline(f["rs"], color="k", ls="--", lw=1, label=f"RS {f['rs']:.4f}")
        ax.axhline(
            f["rsb"], color="C2", lw=1.2, label=f"1RSB {f['rsb']:.4f} (z = {f['z_rsb']:.1f})"
        )
        if k != "train_sample":
            ax.axhline(f["rsb_q0form"], color="C2", ls=":", lw=1.2,
                       label=f"1RSB without (1−x)(q₁−q₀)/(ab): {f['rsb_q0form']:.4f} "
                             f"(z = {f['z_rsb_q0form']:.1f})")  # fmt: skip
        ax.set_xlabel("1/N")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=6)
    fig.suptitle("training error, b = 2, ω = 2.7, α = 2, β = 5, σ² = 0.1 (AT = 1.35)", fontsize=10)
    return save_figure(fig, fig_dir / "mc_train_error.png")


if __name__ == "__main__":  # pragma: no cover - use `replica repro kashiwamura2024_mc`
    import sys

    import paper_repro

    root = Path(__file__).resolve().parents[1] / "figures"
    print(paper_repro.run("kashiwamura2024_mc", root, quick="--quick" in sys.argv))
