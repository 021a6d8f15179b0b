"""Kashiwamura, Sakata & Imaizumi (2024), claim 5: AMP at finite N against the replica theory.

Three figures (uniform endpoints grid, Gaussian teacher ρ = 1, α = 2, β = 5, σ² = 0.1):

1. ``eps_vs_width_amp`` — ε_g(ω) of the RS theory for b = 1, 2, 3 (solid where AT < 1) with
   undamped AMP at N = 2000 (mean ± standard error over 10 instances; filled where every run
   converged, open where some did not: there the last iterate is shown);
2. ``amp_convergence`` — the fraction of non-converging undamped AMP runs across the (b, ω)
   plane next to the AT = 1 line (Brent's method on the RS AT quantity), and the fraction
   converging against AT;
3. ``amp_rsb_damped`` — in the RSB phase (b = 2), damped AMP (η = 0.7) converges to fixed
   points that RS does not describe: MSE trajectories at ω = 2.7 and the damped fixed points
   against ω and N, next to the RS and 1RSB predictions (1RSB from :mod:`replica.rsb` when
   available).

The TAP branch (issue 17; :func:`replica.solve_tap`, a conjecture) adds a line to figure 1 (with
damped-AMP points extrapolated to N → ∞) and three figures:

4. ``amp_phase`` — what AMP does over (b, ω) with ``damping="auto"``: the undamped stage
   converges (RS), only a damped stage converges (TAP branch), or none;
5. ``tap_validation`` — damped AMP at :data:`TAP_POINTS` (b = 1, 2, 3; several α, β, σ²):
   MSE and training error per size relative to ``solve_tap``, the extrapolation ``x∞ + c/N``
   and the z-scores of mse, training error, q, V, A;
6. ``tap_fields_damping`` — the histogram of AMP's field against the predicted non-Gaussian
   density (and a Gaussian with the same Δ), and the smallest damping from the spectral radius
   of the linearised AMP map against trial runs (the theory itself predicts no damping).

The compute step writes tidy CSV tables with metadata (parameters and seeds); the plot step only
reads them. Instance ``(b, ω, s)`` is drawn with seed ``(SEED, b, round(1000 ω), s)``.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np

from replica.amp import experiment, generate, run
from replica.io import load_csv, metadata, save_csv
from replica.quantizers import Quantizer
from replica.regression import QuantizedRegression, solve_rs

from ._figures import save_figure

TITLE = "Kashiwamura, Sakata & Imaizumi (2024): AMP vs the replica theory (claim 5)"
#: seconds of `replica repro --quick kashiwamura2024_amp` (both steps), measured on 2 shared CPU cores (load ~6)
QUICK_SECONDS = 40  # measured 47 s wall, 9.4 s CPU, at load ~9 (TAP-branch tables included)

ALPHA, BETA, NOISE, RHO = 2.0, 5.0, 0.1, 1.0
SEED = 2024
RSB_POINT = (2, 2.7)  # the card's damped-AMP example (RS mse 0.322, AT 1.35)
DAMPING = 0.7


def _sizes(quick: bool) -> dict:
    if quick:
        return {"bits": (1, 2), "widths": (0.5, 1.0, 2.0, 3.0), "n": 200, "inst": 2,
                "n_curve": 30, "rsb_runs": ((2.7, 200),), "rsb_traj": (2.7, 200), "rsb_inst": 2,
                "rsb_iter": 300}  # fmt: skip
    return {"bits": (1, 2, 3),
            "widths": (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.25, 2.5, 2.75, 3.0, 3.5),
            "n": 2000, "inst": 10, "n_curve": 150, "rsb_runs": ((2.7, 750), (2.7, 1500), (2.7, 3000), (2.4, 1500), (3.0, 1500)),
            "rsb_traj": (2.7, 1500), "rsb_inst": 5, "rsb_iter": 1000}  # fmt: skip


# RSB points (AT > 1) where damped AMP is compared with the TAP branch (replica.solve_tap):
# (name, b, ω, α, β, σ²); instance (point, N, s) is drawn with seed (SEED, 17, k, N, s)
TAP_POINTS = (
    ("P1", 2, 2.7, 2.0, 5.0, 0.1),
    ("P2", 2, 3.5, 2.0, 5.0, 0.1),
    ("P3", 1, 1.5, 2.0, 5.0, 0.1),
    ("P4", 3, 5.0, 1.5, 15.0, 0.05),
    ("P5", 1, 1.2, 3.0, 3.0, 0.2),
    ("P6", 2, 2.5, 2.5, 8.0, 0.05),
)
TAP_COLUMNS = ("point", "bits", "width", "alpha", "beta", "noise", "n", "seed", "status",
               "n_iter", "damping", "mse", "m", "q", "V", "A", "train_error", "rho_emp",
               "noise_emp", "seconds")  # fmt: skip


def _tap_plan(quick: bool):
    """``(points, {N: instances}, max_iter)`` of the TAP ensemble."""
    if quick:
        return TAP_POINTS[:1], {150: 2, 300: 2}, 3000
    return TAP_POINTS, {500: 16, 1000: 16, 2000: 8, 4000: 8}, 12000


def tap_model(point) -> QuantizedRegression:
    """The model of one entry of :data:`TAP_POINTS`."""
    _, b, w, a, be, s2 = point
    return QuantizedRegression(quantizer=Quantizer.uniform(b, w), alpha=a, beta=be, noise=s2)


def tap_ensemble(path: Path, quick: bool, budget_s: float | None = None) -> bool:
    """AMP with ``damping="auto"`` on the instances of :func:`_tap_plan`, one row per instance
    appended to the scratch table ``path`` (resumable: finished rows are skipped). Returns True
    when every instance is done (False when ``budget_s`` seconds ran out first).

    Per instance: status, iterations, the damping that converged, ``mse``, ``m``, ``q``,
    ``V = mean(v)``, AMP's own precision ``A``, the training error ``‖y − Xŵ‖²/M`` and the
    empirical ``‖w⁰‖²/N``, ``‖ξ‖²/M`` (control variates)."""
    import csv
    import time

    path = Path(path)
    done = set()
    if path.exists():
        with path.open() as fh:
            for row in csv.DictReader(fh):
                done.add((row["point"], int(row["n"]), int(row["seed"])))
    points, plan, max_iter = _tap_plan(quick)
    start = time.perf_counter()
    new_file = not path.exists()
    with path.open("a", newline="") as fh:
        out = csv.writer(fh)
        if new_file:
            out.writerow(TAP_COLUMNS)
        for n, count in plan.items():  # small sizes first: a partial run is still usable
            for k, point in enumerate(points):
                model = tap_model(point)
                for s in range(count):
                    if (point[0], n, s) in done:
                        continue
                    if budget_s is not None and time.perf_counter() - start > budget_s:
                        return False
                    t0 = time.perf_counter()
                    inst = generate(model, n, seed=(SEED, 17, k, n, s))
                    res = run(inst.X, inst.y, model.quantizer, model.beta, damping="auto",
                              max_iter=max_iter, tol=1e-7, teacher=inst.w0, throw=False)  # fmt: skip
                    resid = inst.y - inst.X @ res.estimate
                    xi = inst.y - inst.X @ inst.w0
                    row = (*point, n, s, res.status, res.n_iter, res.damping, res.mse, res.m,
                           res.q, float(np.mean(res.variance)), float(res.A),
                           float(resid @ resid) / resid.size, float(inst.w0 @ inst.w0) / n,
                           float(xi @ xi) / xi.size, time.perf_counter() - t0)  # fmt: skip
                    out.writerow([repr(float(x)) if isinstance(x, float) else x for x in row])
                    fh.flush()
    return True


TAP_QUANTITIES = ("mse", "train_error", "q", "V", "A")


def tap_summary(rows: dict) -> tuple[dict, dict]:
    """Finite-size extrapolation of the TAP ensemble against :func:`replica.solve_tap`.

    ``rows``: the per-instance table of :func:`tap_ensemble` (columns as arrays). Per point and
    quantity (``mse``, ``train_error``, ``q``, ``V``, ``A``), over converged instances: per-size
    means with the control variates ``‖w⁰‖²/N − ρ`` and ``‖ξ‖²/M − σ²``
    (:func:`replica.amp.size_means`), the weighted fit ``x(N) = x∞ + c/N``
    (:func:`replica.amp.extrapolate`) and ``z = (x∞ − theory)/se(x∞)`` with the theory computed
    now. Returns ``(summary, per_size)`` tables (dicts of lists).
    """
    from replica.amp import extrapolate, size_means
    from replica.tap import solve_tap

    summary = {k: [] for k in ("point", "bits", "width", "alpha", "beta", "noise", "at",
                               "quantity", "theory", "amp_inf", "amp_inf_se", "z", "fit_chi2",
                               "fit_dof", "n_instances", "n_converged", "largest_n")}  # fmt: skip
    per_size = {k: [] for k in ("point", "quantity", "n", "mean", "sem", "count")}
    names = np.asarray(rows["point"]).astype(str)
    for point in TAP_POINTS:
        sel = names == point[0]
        if not np.any(sel):
            continue
        model = tap_model(point)
        th = solve_tap(model)
        conv = sel & (np.asarray(rows["status"]).astype(str) == "converged")
        n = np.asarray(rows["n"], dtype=float)[conv].astype(int)
        controls = np.stack([np.asarray(rows["rho_emp"], dtype=float)[conv] - model.rho,
                             np.asarray(rows["noise_emp"], dtype=float)[conv] - model.noise],
                            axis=1)  # fmt: skip
        for qty in TAP_QUANTITIES:
            x = np.asarray(rows[qty], dtype=float)[conv]
            lab, mean, sem, cnt, _ = size_means(x, n, controls)
            fit = extrapolate(lab, mean, sem)
            theory = float(getattr(th, qty))
            for k, v in zip(("point", "bits", "width", "alpha", "beta", "noise"), point):
                summary[k].append(v)
            for k, v in (("at", th.at), ("quantity", qty), ("theory", theory),
                         ("amp_inf", fit.mse_inf), ("amp_inf_se", fit.mse_inf_se),
                         ("z", (fit.mse_inf - theory) / fit.mse_inf_se),
                         ("fit_chi2", fit.chi2), ("fit_dof", fit.dof),
                         ("n_instances", int(sel.sum())), ("n_converged", int(conv.sum())),
                         ("largest_n", int(lab.max()) if lab.size else 0)):  # fmt: skip
                summary[k].append(v)
            for a, b, c, d in zip(lab, mean, sem, cnt):
                for k, v in (("point", point[0]), ("quantity", qty), ("n", int(a)),
                             ("mean", float(b)), ("sem", float(c)), ("count", int(d))):  # fmt: skip
                    per_size[k].append(v)
    return summary, per_size


def _model(bits, width):
    return QuantizedRegression(
        quantizer=Quantizer.uniform(bits, float(width)), alpha=ALPHA, beta=BETA, noise=NOISE
    )


def _params(quick, **extra):
    return {"alpha": ALPHA, "beta": BETA, "noise": NOISE, "rho": RHO, "quick": quick,
            "teacher": "Gaussian N(0, rho)", "grid": "uniform endpoints", **extra}  # fmt: skip


def _at_line(bits, w_max):
    """ω where AT = 1 for each b (NaN where AT < 1 on the whole plotted range)."""
    try:
        from replica.phase import at_boundary
    except ImportError:  # pragma: no cover - phase.py is part of the package
        at_boundary = None
    rows = {"bits": [], "width_at": [], "method": []}
    for b in bits:
        model = _model(b, 1.0)

        def f(w, b=b):
            return solve_rs(_model(b, w)).at - 1.0

        ws = np.linspace(0.05, w_max, 60)
        vals = np.array([f(w) for w in ws])
        cross = np.flatnonzero(np.sign(vals[1:]) != np.sign(vals[:-1]))
        if cross.size == 0:
            rows["bits"].append(b)
            rows["width_at"].append(math.nan)
            rows["method"].append("no crossing below the largest width")
            continue
        lo, hi = ws[cross[0]], ws[cross[0] + 1]
        if at_boundary is not None:
            w_at = at_boundary(model, "width", bracket=(lo, hi)).value
            how = "replica.phase.at_boundary (Brent)"
        else:  # pragma: no cover
            from scipy.optimize import brentq

            w_at, how = brentq(f, lo, hi, xtol=1e-8), "brentq on solve_rs(...).at - 1"
        rows["bits"].append(b)
        rows["width_at"].append(float(w_at))
        rows["method"].append(how)
    return rows


def _rsb_theory(widths):
    """RS and (when :mod:`replica.rsb` is available) 1RSB predictions at b = 2."""
    rows = {"width": [], "rs_mse": [], "rs_at": [], "rsb_mse": [], "rsb_state_mse": [],
            "rsb_status": []}  # fmt: skip
    try:
        from replica.rsb import solve_1rsb
    except ImportError:
        solve_1rsb = None
    for w in widths:
        model = _model(RSB_POINT[0], w)
        rs = solve_rs(model)
        rows["width"].append(float(w))
        rows["rs_mse"].append(rs.mse)
        rows["rs_at"].append(rs.at)
        if solve_1rsb is None:
            rows["rsb_mse"].append(math.nan)
            rows["rsb_state_mse"].append(math.nan)
            rows["rsb_status"].append("replica.rsb not available")
            continue
        try:
            sol = solve_1rsb(model, rs=rs, throw=False)
        except Exception as exc:  # the 1RSB solver is optional here: record why it failed
            rows["rsb_mse"].append(math.nan)
            rows["rsb_state_mse"].append(math.nan)
            rows["rsb_status"].append(f"failed: {type(exc).__name__}")
            continue
        # Gibbs mean (overlap q0) and the mean within one pure state (self-overlap q1)
        ok = sol.status in ("converged", "collapsed_to_rs")
        rows["rsb_mse"].append(sol.mse if ok else math.nan)
        rows["rsb_state_mse"].append(RHO - 2.0 * sol.m + sol.q1 if ok else math.nan)
        rows["rsb_status"].append(sol.status)
    return rows


def compute(data_dir: Path, quick: bool) -> None:
    """Run AMP ensembles and the theory; write tidy tables under ``data_dir``."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    s = _sizes(quick)

    # RS curves ε_g(ω)
    curve = {"bits": [], "width": [], "gen_error": [], "mse": [], "at": []}
    for b in s["bits"]:
        for w in np.linspace(0.1, max(s["widths"]) + 0.25, s["n_curve"]):
            sol = solve_rs(_model(b, w))
            for k, v in (("bits", b), ("width", w), ("gen_error", sol.gen_error),
                         ("mse", sol.mse), ("at", sol.at)):  # fmt: skip
                curve[k].append(v)
    save_csv(data_dir / "rs_curves.csv", curve, metadata(_params(quick), seed=None))

    # undamped AMP over the (b, ω) plane
    amp_kw = {"max_iter": 300 if quick else 1000, "tol": 1e-7, "patience": 50, "damping": 0.0}
    rows = {k: [] for k in ("bits", "width", "seed", "n", "mse", "gen_error", "converged",
                            "n_iter", "rs_mse", "rs_at")}  # fmt: skip
    for b in s["bits"]:
        for w in s["widths"]:
            model = _model(b, w)
            ds = experiment(model, sizes=[s["n"]], seeds=s["inst"],
                            base_seed=SEED * 10_000 + 100 * b + round(100 * w),
                            control_variates=False, **amp_kw)  # fmt: skip
            for j, seed in enumerate(ds.seed.values):
                one = ds.isel(size=0, seed=j)
                for k, v in (("bits", b), ("width", w), ("seed", int(seed)), ("n", s["n"]),
                             ("mse", float(one["mse"])), ("gen_error", float(one["gen_error"])),
                             ("converged", int(one["converged"])),
                             ("n_iter", int(one["n_iter"])), ("rs_mse", float(ds["rs_mse"])),
                             ("rs_at", float(ds["rs_at"]))):  # fmt: skip
                    rows[k].append(v)
    save_csv(data_dir / "amp_points.csv", rows,
             metadata(_params(quick, n=s["n"], instances=s["inst"], **amp_kw),
                      seed={"base_seed": f"{SEED}*10000 + 100 b + round(100 w)",
                            "instances": "generate(model, n, seed=(base_seed, n, s))"}))  # fmt: skip
    save_csv(data_dir / "at_line.csv", _at_line(s["bits"], max(s["widths"]) + 0.25),
             metadata(_params(quick), seed=None))  # fmt: skip

    # damped AMP in the RSB phase
    b = RSB_POINT[0]
    traj = {"width": [], "n": [], "damping": [], "seed": [], "iteration": [], "mse": []}
    fin = {"width": [], "n": [], "damping": [], "seed": [], "mse": [], "converged": [],
           "n_iter": []}  # fmt: skip
    for w, n in s["rsb_runs"]:
        model = _model(b, w)
        for seed in range(s["rsb_inst"]):
            inst = generate(model, n, seed=(SEED, b, round(1000 * w), n, seed))
            for eta in (DAMPING, 0.0):
                it = s["rsb_iter"] if eta > 0 else 200
                res = run(inst.X, inst.y, model.quantizer, BETA, damping=eta, max_iter=it,
                          tol=1e-7, teacher=inst.w0, throw=False)  # fmt: skip
                final = res.mse if res.converged else float(res.trajectory.mse[-50:].mean())
                for k, v in (("width", w), ("n", n), ("damping", eta), ("seed", seed),
                             ("mse", final), ("converged", int(res.converged)),
                             ("n_iter", res.n_iter)):  # fmt: skip
                    fin[k].append(v)
                if (w, n) == s["rsb_traj"]:
                    m = res.trajectory.mse
                    traj["width"] += [w] * m.size
                    traj["n"] += [n] * m.size
                    traj["damping"] += [eta] * m.size
                    traj["seed"] += [seed] * m.size
                    traj["iteration"] += list(range(m.size))
                    traj["mse"] += m.tolist()
    meta = metadata(_params(quick, damping=DAMPING, bits=b, tol=1e-7,
                            note="non-converged runs: mean MSE of the last 50 iterates"),
                    seed={"instances": f"({SEED}, b, round(1000 w), n, s)"})  # fmt: skip
    save_csv(data_dir / "rsb_damped_final.csv", fin, meta)
    save_csv(data_dir / "rsb_damped_trajectories.csv", traj, meta)
    save_csv(data_dir / "rsb_theory.csv",
             _rsb_theory(np.union1d(np.linspace(2.0, 3.2, 3 if quick else 17),
                                    [w for w, _ in s["rsb_runs"]])),
             metadata(_params(quick, bits=b), seed=None))  # fmt: skip
    compute_tap(data_dir, quick)


def compute_tap(data_dir: Path, quick: bool, parts=("curves", "ensemble", "phase", "fields",
                                                    "damping")) -> None:  # fmt: skip
    """The TAP-branch tables (issue 17): ``tap_curves`` (solve_tap over ω), ``tap_ensemble`` /
    ``tap_summary`` / ``tap_sizes`` (damped AMP at :data:`TAP_POINTS` extrapolated in N),
    ``amp_phase`` (what AMP does over (b, ω)), ``tap_fields`` (histogram of AMP's field) and
    ``tap_damping`` (smallest damping: linearised map vs trial runs)."""
    data_dir = Path(data_dir)
    if "curves" in parts:
        _tap_curves(data_dir, quick)
    if "ensemble" in parts:
        scratch = data_dir / "tap_ensemble_rows.csv"
        tap_ensemble(scratch, quick)
        _finish_ensemble(scratch, data_dir, quick)
    if "phase" in parts:
        _amp_phase(data_dir, quick)
    if "fields" in parts:
        _tap_fields(data_dir, quick)
    if "damping" in parts:
        _tap_damping(data_dir, quick)


def _tap_curves(data_dir, quick):
    from replica.tap import solve_tap

    s = _sizes(quick)
    cols = {k: [] for k in ("bits", "width", "branch", "status", "gen_error", "mse",
                            "train_error", "at", "replicon", "A", "B")}  # fmt: skip
    for b in s["bits"]:
        for w in np.linspace(0.1, max(s["widths"]) + 0.25, 20 if quick else 80):
            sol = solve_tap(_model(b, w), throw=False)
            for k in cols:
                cols[k].append(b if k == "bits" else w if k == "width" else getattr(sol, k))
    save_csv(data_dir / "tap_curves.csv", cols,
             metadata(_params(quick, theory="replica.solve_tap (conjecture, issue 17)"),
                      seed=None))  # fmt: skip


def _finish_ensemble(scratch: Path, data_dir: Path, quick: bool, note: str = "") -> None:
    """Tidy table with metadata from the scratch rows of :func:`tap_ensemble`, and the
    summary against :func:`replica.solve_tap`."""
    import csv

    with Path(scratch).open() as fh:
        rows = list(csv.DictReader(fh))
    keyed = {(r["point"], int(r["n"]), int(r["seed"])): r for r in rows}  # dedupe (reruns)
    rows = [keyed[k] for k in sorted(keyed, key=lambda k: (k[1], k[0], k[2]))]
    cols = {}
    for k in TAP_COLUMNS:
        vals = [r[k] for r in rows]
        try:
            cols[k] = np.array([float(v) for v in vals])
        except ValueError:
            cols[k] = np.array(vals)
    points, plan, max_iter = _tap_plan(quick)
    meta = metadata(_params(quick, points=[list(p) for p in points],
                            sizes={str(k): v for k, v in plan.items()}, max_iter=max_iter,
                            damping="auto", tol=1e-7, note=note),
                    seed={"instances": f"generate(model, N, seed=({SEED}, 17, k, N, s)), "
                                       "k the index of the point in TAP_POINTS"})  # fmt: skip
    save_csv(data_dir / "tap_ensemble.csv", cols, meta)
    summary, per_size = tap_summary(cols)
    save_csv(data_dir / "tap_summary.csv", summary,
             metadata(_params(quick, note="theory computed when the summary was written"),
                      seed=None))  # fmt: skip
    save_csv(data_dir / "tap_sizes.csv", per_size, metadata(_params(quick), seed=None))
    if Path(scratch).resolve().parent == Path(data_dir).resolve():
        Path(scratch).unlink()


def _phase_plan(quick):
    if quick:
        return (1, 2), (0.5, 2.7), 150, 1, 2000
    return (1, 2, 3), (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5), 500, 2, 20000


def _amp_phase(data_dir, quick):
    """Per (b, ω) and instance: did undamped AMP converge (first stage of ``damping="auto"``),
    did a damped stage converge (which damping), or neither; with the RS AT and the TAP
    prediction."""
    from replica.tap import solve_tap

    bits, widths, n, inst, max_iter = _phase_plan(quick)
    cols = {k: [] for k in ("bits", "width", "seed", "n", "outcome", "damping", "status",
                            "n_iter", "mse", "rs_at", "rs_mse", "tap_mse", "tap_branch")}  # fmt: skip
    for b in bits:
        for w in widths:
            model = _model(b, w)
            tap = solve_tap(model, throw=False)
            rs = solve_rs(model, throw=False)
            for s in range(inst):
                x = generate(model, n, seed=(SEED, 170, b, round(1000 * w), s))
                res = run(x.X, x.y, model.quantizer, BETA, damping="auto", max_iter=max_iter,
                          tol=1e-7, teacher=x.w0, throw=False)  # fmt: skip
                if not res.converged:
                    outcome = "none"
                elif res.damping == 0.0:
                    outcome = "undamped"
                else:
                    outcome = "damped"
                for k, v in (("bits", b), ("width", w), ("seed", s), ("n", n),
                             ("outcome", outcome), ("damping", res.damping),
                             ("status", res.status), ("n_iter", res.n_iter), ("mse", res.mse),
                             ("rs_at", rs.at), ("rs_mse", rs.mse), ("tap_mse", tap.mse),
                             ("tap_branch", tap.branch)):  # fmt: skip
                    cols[k].append(v)
    save_csv(data_dir / "amp_phase.csv", cols,
             metadata(_params(quick, n=n, instances=inst, max_iter=max_iter, damping="auto",
                              outcome="undamped: the undamped stage converged; damped: a damped "
                                      "stage converged; none: no stage converged"),
                      seed={"instances": f"({SEED}, 170, b, round(1000 w), s)"}))  # fmt: skip


def amp_fields(model, res, X, y) -> np.ndarray:
    """AMP's field ``s = ŵ + Xᵀg/A`` at a fixed point, where the Onsager memory is
    ``g = β(y − Xŵ)``."""
    w = np.asarray(res.estimate)
    return w + model.beta * (X.T @ (y - X @ w)) / float(res.A)


def _tap_fields(data_dir, quick):
    """Histogram of AMP's field at the damped fixed points of P1 (pooled instances) with the
    expected counts of the TAP density (:func:`replica.tap.field_density`) and of the
    Gaussian law of ``r = w⁰ + √Δ z`` at the same Δ."""
    from scipy import integrate

    from replica.tap import field_density, solve_tap

    point = TAP_POINTS[0]
    model = tap_model(point)
    sol = solve_tap(model)
    n, inst = (300, 1) if quick else (2000, 3)
    fields, used = [], 0
    for s in range(inst):
        x = generate(model, n, seed=(SEED, 171, n, s))
        res = run(x.X, x.y, model.quantizer, model.beta, damping="auto", max_iter=12000,
                  tol=1e-7, teacher=x.w0, throw=False)  # fmt: skip
        if res.converged:
            fields.append(amp_fields(model, res, x.X, x.y))
            used += 1
    f = np.concatenate(fields)
    edges = np.linspace(-4.5, 4.5, 31)
    counts = np.histogram(f, bins=edges)[0]
    tot = f.size
    tau = model.rho + sol.delta
    tap_p = [integrate.quad(lambda u: float(field_density(model, sol, u)), a, b)[0]
             for a, b in itertools.pairwise(edges)]  # fmt: skip
    gauss_p = [integrate.quad(lambda u: math.exp(-0.5 * u * u / tau)
                              / math.sqrt(2 * math.pi * tau), a, b)[0]
               for a, b in itertools.pairwise(edges)]  # fmt: skip
    cols = {"lo": edges[:-1], "hi": edges[1:], "count": counts,
            "tap_expected": tot * np.array(tap_p), "gauss_expected": tot * np.array(gauss_p)}  # fmt: skip
    save_csv(data_dir / "tap_fields.csv", cols,
             metadata(_params(quick, point=list(point), n=n, instances_used=used,
                              fields=int(tot), tap_A=sol.A, tap_B=sol.B, tap_delta=sol.delta,
                              field="s = w + beta X^T (y - X w) / A at the fixed point"),
                      seed={"instances": f"({SEED}, 171, n, s)"}))  # fmt: skip


def _tap_damping(data_dir, quick):
    """Smallest damping that makes each TAP point's AMP fixed point attracting, from the
    spectral radius of the linearised map (:func:`replica.amp.linear.smallest_damping`),
    against the smallest damping of a trial grid that converges from the initial state."""
    from replica.amp.linear import fixed_point_state, smallest_damping

    points = TAP_POINTS[:1] if quick else TAP_POINTS
    n, inst = (150, 1) if quick else (500, 1)
    trial = (0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
    cols = {k: [] for k in ("point", "seed", "n", "auto_damping", "rho_undamped",
                            "eig_re", "eig_im", "eta_linear", "eta_trial")}  # fmt: skip
    for k, point in enumerate(points):
        model = tap_model(point)
        for s in range(inst):
            x = generate(model, n, seed=(SEED, 172, k, n, s))
            res = run(x.X, x.y, model.quantizer, model.beta, damping="auto", max_iter=12000,
                      tol=1e-9, teacher=x.w0, throw=False)  # fmt: skip
            if not res.converged:
                continue
            state = fixed_point_state(x.X, x.y, model.beta, res.estimate, res.variance)
            eta, rho0, ev = smallest_damping(x.X, x.y, model.quantizer.levels, model.beta,
                                             state, xtol=0.02, k=6)  # fmt: skip
            eta_trial = math.nan
            for e in trial:
                r = run(x.X, x.y, model.quantizer, model.beta, damping=e, max_iter=4000,
                        tol=1e-7, teacher=x.w0, throw=False)  # fmt: skip
                if r.converged and abs(r.mse - res.mse) < 1e-4:
                    eta_trial = e
                    break
            for key, v in (("point", point[0]), ("seed", s), ("n", n),
                           ("auto_damping", res.damping), ("rho_undamped", rho0),
                           ("eig_re", float(ev[0].real)), ("eig_im", float(abs(ev[0].imag))),
                           ("eta_linear", eta), ("eta_trial", eta_trial)):  # fmt: skip
                cols[key].append(v)
    save_csv(data_dir / "tap_damping.csv", cols,
             metadata(_params(quick, n=n, trial_dampings=list(trial),
                              eta_linear="bisection (xtol 0.02) on the spectral radius of the "
                                         "linearised damped AMP map at the fixed point",
                              eta_trial="smallest trial damping converging from the initial "
                                        "state to the same fixed point (|dmse| < 1e-4)"),
                      seed={"instances": f"({SEED}, 172, k, n, s)"}))  # fmt: skip


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _group(cols, keys):
    """Unique key tuples and index arrays of a tidy table."""
    k = np.stack([cols[c] for c in keys], axis=1)
    uniq, inv = np.unique(k, axis=0, return_inverse=True)
    return uniq, [np.flatnonzero(inv.ravel() == i) for i in range(len(uniq))]


def _mean_se(x):
    x = np.asarray(x, dtype=float)
    return x.mean(), (x.std(ddof=1) / math.sqrt(x.size) if x.size > 1 else 0.0)


def plot(data_dir: Path, fig_dir: Path) -> list[Path]:
    """Draw the figures from the tables written by :func:`compute` (the TAP-branch figures
    when their tables exist)."""
    plt = _plt()
    data_dir, fig_dir = Path(data_dir), Path(fig_dir)
    fig_dir.mkdir(parents=True, exist_ok=True)
    out = []
    curve, _ = load_csv(data_dir / "rs_curves.csv")
    pts, pmeta = load_csv(data_dir / "amp_points.csv")
    at_line, _ = load_csv(data_dir / "at_line.csv")
    bits = np.unique(curve["bits"]).astype(int)
    colors = {b: plt.get_cmap("viridis")(0.85 * i / max(1, len(bits) - 1))
              for i, b in enumerate(bits)}  # fmt: skip
    n = int(pmeta["params"]["n"])

    # 1: ε_g(ω), RS and AMP
    fig, ax = plt.subplots(figsize=(6.2, 4.2))
    for b in bits:
        sel = curve["bits"] == b
        w, eps, st = curve["width"][sel], curve["gen_error"][sel], curve["at"][sel] < 1.0
        ax.plot(w, eps, "--", color=colors[b], lw=1)
        ax.plot(w, np.where(st, eps, np.nan), "-", color=colors[b], label=f"RS, b = {b}")
    keys, groups = _group(pts, ["bits", "width"])
    for (b, w), idx in zip(keys, groups):
        m, se = _mean_se(pts["gen_error"][idx])
        allc = bool(np.all(pts["converged"][idx] == 1))
        ax.errorbar(w, m, yerr=se, fmt="o", color=colors[int(b)], ms=5, capsize=2,
                    mfc=colors[int(b)] if allc else "white")  # fmt: skip
    ax.plot([], [], "ko", ms=5, label=f"AMP N = {n} (all converged)")
    ax.plot([], [], "ko", mfc="white", ms=5, label="AMP (some not converged: last iterate)")
    _tap_overlay(ax, data_dir, colors)
    ax.set_xlabel(r"width $\omega$")
    ax.set_ylabel(r"$\varepsilon_g$")
    ax.set_ylim(0, min(1.6, float(np.nanmax(curve["gen_error"])) + 0.05))
    ax.set_title(r"RS theory (dashed: AT $>1$) vs AMP, $\alpha=2,\ \beta=5,\ \sigma^2=0.1$",
                 fontsize=9)  # fmt: skip
    ax.legend(fontsize=7)
    out.append(save_figure(fig, fig_dir / "eps_vs_width_amp.png"))

    # 2: convergence across (b, ω) and against AT
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    frac_nc = np.array([1.0 - pts["converged"][idx].mean() for idx in groups])
    at = np.array([pts["rs_at"][idx[0]] for idx in groups])
    sc = ax1.scatter(keys[:, 1], keys[:, 0], c=frac_nc, cmap="coolwarm", vmin=0, vmax=1,
                     s=140, edgecolors="k", marker="s")  # fmt: skip
    fig.colorbar(sc, ax=ax1, label="fraction of runs not converged")
    for i, (b, wat) in enumerate(zip(at_line["bits"], at_line["width_at"])):
        if np.isfinite(wat):
            ax1.plot([wat, wat], [b - 0.4, b + 0.4], "k-", lw=2.5,
                     label=r"AT $=1$ (RS)" if i == 0 else None)  # fmt: skip
    ax1.set_xlabel(r"width $\omega$")
    ax1.set_ylabel("bits $b$")
    ax1.set_yticks(bits)
    ax1.legend(fontsize=8, loc="lower right")
    ax1.set_title(f"undamped AMP, N = {n}, {int(pmeta['params']['instances'])} runs per point",
                  fontsize=9)  # fmt: skip
    # open markers, one shape per b: overlapping filled dots read as a stray black cross
    for b, mk in zip(bits, "os^Dv"):
        sel = keys[:, 0] == b
        ax2.plot(at[sel], 1.0 - frac_nc[sel], mk, color=colors[b], mfc="none", ms=7, mew=1.5,
                 label=f"b = {b}")  # fmt: skip
    ax2.axvline(1.0, color="k", lw=1, ls=":")
    ax2.axvspan(0.8, 1.2, color="0.9", zorder=0)
    ax2.set_xscale("log")
    ax2.set_xlabel("AT of the RS solution")
    ax2.set_ylabel("fraction converged")
    ax2.legend(fontsize=8)
    out.append(save_figure(fig, fig_dir / "amp_convergence.png"))

    # 3: damped AMP in the RSB phase
    traj, _ = load_csv(data_dir / "rsb_damped_trajectories.csv")
    fin, _ = load_csv(data_dir / "rsb_damped_final.csv")
    th, _ = load_csv(data_dir / "rsb_theory.csv")
    rs_at_point = float(np.interp(RSB_POINT[1], th["width"], th["rs_mse"]))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for (eta, _), idx in zip(*_group(traj, ["damping", "seed"])):
        ax1.plot(traj["iteration"][idx], traj["mse"][idx], lw=0.8,
                 color="C0" if eta > 0 else "C3", alpha=0.8)  # fmt: skip
    ax1.plot([], [], color="C0", label=rf"damped $\eta={DAMPING}$")
    ax1.plot([], [], color="C3", label="undamped")
    ax1.axhline(rs_at_point, color="k", ls="--", label="RS")
    has_rsb = bool(np.any(np.isfinite(th["rsb_mse"])))
    if has_rsb:
        ax1.axhline(float(np.interp(RSB_POINT[1], th["width"], th["rsb_mse"])), color="C2",
                    ls="-.", label="1RSB (Gibbs mean)")  # fmt: skip
    ax1.set_xlabel("iteration")
    ax1.set_ylabel("MSE")
    ax1.set_ylim(0, 0.8)
    ax1.set_title(rf"b = {RSB_POINT[0]}, $\omega$ = {RSB_POINT[1]} (AT > 1), "
                  f"N = {int(traj['n'][0])}", fontsize=9)  # fmt: skip
    ax1.legend(fontsize=7)
    ax2.plot(th["width"], th["rs_mse"], "k--", label="RS")
    if has_rsb:
        ax2.plot(th["width"], th["rsb_mse"], "-.", color="C2", label="1RSB (Gibbs mean)")
        ax2.plot(th["width"], th["rsb_state_mse"], ":", color="C2",
                 label="1RSB (one state)")  # fmt: skip
    else:
        ax2.text(0.98, 0.03, "1RSB not available", transform=ax2.transAxes, fontsize=8,
                 ha="right")  # fmt: skip
    sizes = np.unique(fin["n"]).astype(int)
    for j, n_ in enumerate(sizes):
        for eta, mk in ((DAMPING, "o"), (0.0, "x")):
            sel = (fin["n"] == n_) & (fin["damping"] == eta)
            ws = np.unique(fin["width"][sel])
            stats = [_mean_se(fin["mse"][sel & (fin["width"] == w)]) for w in ws]
            off = (j - (len(sizes) - 1) / 2) * 0.02
            ax2.errorbar(ws + off, [m for m, _ in stats], yerr=[e for _, e in stats], fmt=mk,
                         color=plt.get_cmap("Blues" if eta > 0 else "Reds")(0.4 + 0.5 * j
                                                                             / max(1, len(sizes) - 1)),
                         capsize=2, label=f"{'damped' if eta > 0 else 'undamped'} N = {n_}")  # fmt: skip
    ax2.set_xlabel(r"width $\omega$ (b = 2)")
    ax2.set_ylabel("MSE")
    ax2.legend(fontsize=6, ncol=2)
    out.append(save_figure(fig, fig_dir / "amp_rsb_damped.png"))
    out += _plot_tap(plt, data_dir, fig_dir)
    return out


def _tap_overlay(ax, data_dir, colors):
    """The TAP branch (where AT > 1) and the extrapolated damped-AMP points of the TAP ensemble
    at the panel's (α, β, σ²) on the ε_g(ω) panel."""
    path = Path(data_dir) / "tap_curves.csv"
    if not path.exists():
        return
    tc, _ = load_csv(path)
    for b in colors:
        sel = (tc["bits"] == b) & (np.asarray(tc["branch"]).astype(str) == "tap")
        if np.any(sel):
            ax.plot(tc["width"][sel], tc["gen_error"][sel], "-.", color=colors[b], lw=1.5)
    ax.plot([], [], "k-.", lw=1.5, label="TAP branch (solve_tap, conjecture)")
    spath = Path(data_dir) / "tap_summary.csv"
    if not spath.exists():
        return
    sm, _ = load_csv(spath)
    sel = ((np.asarray(sm["quantity"]).astype(str) == "mse") & (sm["alpha"] == ALPHA)
           & (sm["beta"] == BETA) & (sm["noise"] == NOISE))  # fmt: skip
    for i in np.flatnonzero(sel):
        b = int(sm["bits"][i])
        if b in colors and np.isfinite(sm["amp_inf"][i]):
            ax.errorbar(sm["width"][i], sm["amp_inf"][i] + NOISE, yerr=sm["amp_inf_se"][i],
                        fmt="D", color=colors[b], ms=6, mec="k", capsize=2)  # fmt: skip
    ax.plot([], [], "kD", ms=6, label=r"damped AMP (auto), $N\to\infty$")


def _plot_tap(plt, data_dir, fig_dir) -> list:
    """The TAP-branch figures, each drawn when its table exists."""
    data_dir, out = Path(data_dir), []
    if (data_dir / "amp_phase.csv").exists():
        out.append(_plot_amp_phase(plt, data_dir, fig_dir))
    if (data_dir / "tap_summary.csv").exists():
        out.append(_plot_tap_validation(plt, data_dir, fig_dir))
    if (data_dir / "tap_fields.csv").exists():
        out.append(_plot_fields_damping(plt, data_dir, fig_dir))
    return out


_OUTCOMES = (("undamped", "C2", "o", "undamped AMP converges (RS)"),
             ("damped", "C0", "s", "only damped AMP converges (TAP branch)"),
             ("none", "C3", "X", "no damping converges within max_iter"))  # fmt: skip


def _plot_amp_phase(plt, data_dir, fig_dir):
    ph, meta = load_csv(data_dir / "amp_phase.csv")
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    outcome = np.asarray(ph["outcome"]).astype(str)
    keys, groups = _group(ph, ["bits", "width"])
    for (b, w), idx in zip(keys, groups):
        oc = outcome[idx]
        counts = {o: int(np.sum(oc == o)) for o, *_ in _OUTCOMES}
        top = max(counts, key=counts.get)
        _, color, marker, _ = next(x for x in _OUTCOMES if x[0] == top)
        ax.scatter(w, b, s=170, c=color, marker=marker, edgecolors="k", zorder=3)
        damp = ph["damping"][idx][oc == "damped"]
        label = f"{counts[top]}/{len(idx)}"
        if top == "damped" and damp.size:
            label += rf" $\eta$={np.median(damp):g}"
        ax.annotate(label, (w, b), textcoords="offset points", xytext=(0, 11), ha="center",
                    fontsize=6)  # fmt: skip
    for _, color, marker, lab in _OUTCOMES:
        ax.scatter([], [], s=60, c=color, marker=marker, edgecolors="k", label=lab)
    at = Path(data_dir) / "at_line.csv"
    if at.exists():
        line, _ = load_csv(at)
        for i, (b, wat) in enumerate(zip(line["bits"], line["width_at"])):
            if np.isfinite(wat):
                ax.plot([wat, wat], [b - 0.35, b + 0.35], "k-", lw=2.5,
                        label=r"AT $=1$ (RS)" if i == 0 else None)  # fmt: skip
    bits = np.unique(ph["bits"]).astype(int)
    ax.set_yticks(bits)
    ax.set_ylim(bits.min() - 0.6, bits.max() + 0.8)
    ax.set_xlabel(r"width $\omega$")
    ax.set_ylabel("bits $b$")
    p = meta["params"]
    ax.set_title(f"what AMP does (damping='auto', N = {int(p['n'])}, "
                 f"{int(p['instances'])} instances per point, max_iter = {int(p['max_iter'])}; "
                 "label: majority, damping)", fontsize=7)  # fmt: skip
    ax.legend(fontsize=6, loc="upper left", ncol=2)
    return save_figure(fig, fig_dir / "amp_phase.png")


def _plot_tap_validation(plt, data_dir, fig_dir):
    sm, _ = load_csv(data_dir / "tap_summary.csv")
    sz, _ = load_csv(data_dir / "tap_sizes.csv")
    qty = np.asarray(sm["quantity"]).astype(str)
    names = list(dict.fromkeys(np.asarray(sm["point"]).astype(str)))
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    for ax, q, lab in ((axes[0], "mse", "MSE"), (axes[1], "train_error", "training error")):
        for j, name in enumerate(names):
            i = np.flatnonzero((np.asarray(sm["point"]).astype(str) == name) & (qty == q))[0]
            sel = (np.asarray(sz["point"]).astype(str) == name) & (
                np.asarray(sz["quantity"]).astype(str) == q
            )
            th = sm["theory"][i]
            inv_n = 1.0 / sz["n"][sel]
            ax.errorbar(inv_n * 1e3, sz["mean"][sel] / th, yerr=sz["sem"][sel] / th, fmt="o",
                        color=f"C{j}", ms=3, capsize=1.5)  # fmt: skip
            if np.isfinite(sm["amp_inf"][i]):
                ax.errorbar(0.0, sm["amp_inf"][i] / th, yerr=sm["amp_inf_se"][i] / th, fmt="D",
                            color=f"C{j}", ms=5, capsize=2,
                            label=f"{name}: b={int(sm['bits'][i])}, "
                                  rf"$\omega$={sm['width'][i]:g}, $\alpha$={sm['alpha'][i]:g}, "
                                  rf"$\beta$={sm['beta'][i]:g}, $\sigma^2$={sm['noise'][i]:g}")  # fmt: skip
        ax.axhline(1.0, color="k", lw=1)
        ax.set_xlabel(r"$10^3/N$")
        ax.set_ylabel(f"AMP {lab} / TAP theory")
    axes[0].legend(fontsize=5.5)
    ax = axes[2]
    quantities = ("mse", "train_error", "q", "V", "A")
    for j, name in enumerate(names):
        zs = [sm["z"][np.flatnonzero((np.asarray(sm["point"]).astype(str) == name)
                                     & (qty == q))[0]] for q in quantities]  # fmt: skip
        ax.plot(np.arange(len(quantities)) + 0.08 * (j - len(names) / 2), zs, "o",
                color=f"C{j}", label=name)  # fmt: skip
    ax.axhspan(-3, 3, color="0.9", zorder=0)
    ax.axhline(0, color="k", lw=1)
    ax.set_xticks(range(len(quantities)))
    ax.set_xticklabels(["mse", "train", "q", "V", "A"])
    ax.set_ylabel(r"$z = (x_\infty - x_{\rm TAP}) / {\rm se}$")
    ax.set_title(r"extrapolated ($x_\infty$, fit $x_\infty + c/N$) vs solve_tap", fontsize=8)
    ax.legend(fontsize=6, ncol=2)
    return save_figure(fig, fig_dir / "tap_validation.png")


def _plot_fields_damping(plt, data_dir, fig_dir):
    fl, fmeta = load_csv(data_dir / "tap_fields.csv")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    width = fl["hi"] - fl["lo"]
    tot = float(np.sum(fl["count"]))
    mid = 0.5 * (fl["lo"] + fl["hi"])
    ax1.bar(mid, fl["count"] / (tot * width), width=width, color="0.8", edgecolor="0.5",
            label=f"AMP field s ({int(tot)} values)")  # fmt: skip
    ok = fl["tap_expected"] > 5  # χ² over bins with enough expected counts
    chi = {k: float(np.sum((fl["count"][ok] - fl[k][ok]) ** 2 / fl[k][ok]))
           for k in ("tap_expected", "gauss_expected")}  # fmt: skip
    ax1.step(mid, fl["tap_expected"] / (tot * width), where="mid", color="C0",
             label=rf"TAP density, $\chi^2$ = {chi['tap_expected']:.0f} / {int(ok.sum())} bins")  # fmt: skip
    ax1.step(mid, fl["gauss_expected"] / (tot * width), where="mid", color="C3", ls="--",
             label=rf"Gaussian, same $\Delta$: $\chi^2$ = {chi['gauss_expected']:.0f}")  # fmt: skip
    p = fmeta["params"]
    ax1.set_title(f"AMP field at the damped fixed point, point {p['point'][0]}, "
                  f"N = {int(p['n'])}", fontsize=8)  # fmt: skip
    ax1.set_xlabel("s")
    ax1.set_ylabel("density")
    ax1.legend(fontsize=6)
    if not (data_dir / "tap_damping.csv").exists():
        ax2.text(0.5, 0.5, "tap_damping.csv not computed", ha="center", transform=ax2.transAxes)
        return save_figure(fig, fig_dir / "tap_fields_damping.png")
    dm, _ = load_csv(data_dir / "tap_damping.csv")
    names = list(dict.fromkeys(np.asarray(dm["point"]).astype(str)))
    x = np.arange(len(names))
    for j, name in enumerate(names):
        sel = np.asarray(dm["point"]).astype(str) == name
        ax2.plot(np.full(sel.sum(), j) - 0.1, dm["eta_linear"][sel], "o", color="C0",
                 label="linearised map: spectral radius = 1" if j == 0 else None)  # fmt: skip
        ax2.plot(np.full(sel.sum(), j) + 0.1, dm["eta_trial"][sel], "s", color="C1",
                 label="smallest trial damping converging from the start" if j == 0 else None)  # fmt: skip
        ax2.plot(np.full(sel.sum(), j), dm["auto_damping"][sel], "x", color="k",
                 label="damping='auto' used" if j == 0 else None)  # fmt: skip
        ax2.annotate(rf"$\rho_0$={np.mean(dm['rho_undamped'][sel]):.2f}", (j, 0.02),
                     ha="center", fontsize=6)  # fmt: skip
    ax2.set_xticks(x)
    ax2.set_xticklabels(names)
    ax2.set_ylim(0, 1)
    ax2.set_ylabel(r"damping $\eta$")
    ax2.set_title(r"smallest damping ($\rho_0$: undamped spectral radius; the TAP theory "
                  "gives no damping prediction)", fontsize=7)  # fmt: skip
    ax2.legend(fontsize=6, loc="upper left")
    return save_figure(fig, fig_dir / "tap_fields_damping.png")
