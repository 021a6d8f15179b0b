"""Kashiwamura, Sakata & Imaizumi (2024): weight-quantized linear regression by the replica method.

Five figures from the RS theory (:mod:`replica.regression`) and its phase diagram
(:mod:`replica.phase`, :mod:`replica.optimize`, :mod:`replica.sweep`), Gaussian teacher ρ = 1,
σ² = 0.1, uniform endpoints grid unless stated:

1. RS/RSB phase diagram in (b, ω) at α = 2, β = 5 with the AT line and ω*(b);
2. ε_g(ω) for b = 1…4 with the minima marked;
3. double descent in N/M = 1/α at β = ∞, 10², 10³ for b = 1…4 (ω = 1, 1.5, 2, 2.5) and the
   unquantized ridgeless closed form, interpolation thresholds marked, AT status along the curves;
4. uniform vs Gaussian-quantile vs power (γ = 2) vs optimised levels: ε_g(ω), the RSB onset
   ω_AT and AT at each grid's optimum;
5. the phase diagram in (ω, β) for b = 1, 2 with ω*(β);
6. the phase diagram in (ω, α) for b = 1, 2 at β = 5.

Every phase diagram draws two lines (issue 13): the AT line (AT = 1, local RSB) and the
zero-entropy line of the RS solution (the entropy crisis: RS fails there with AT < 1, a
freezing transition that the AT test cannot see), both located by Brent's method. The RS
solution is the equilibrium branch of :func:`replica.solve_rs` (lowest free energy).

The compute step writes netCDF sweeps (resumable: an interrupted compute continues where it
stopped) and CSV tables, each with a metadata record; the plot step only reads them. The theory
is deterministic: no random numbers are drawn.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from replica.io import load_csv, load_netcdf, metadata, save_csv
from replica.optimize import compare_grids, optimal_width
from replica.phase import interpolation_threshold
from replica.quantizers import Quantizer
from replica.regression import QuantizedRegression
from replica.sweep import run_sweep

from ._figures import save_figure

TITLE = "Kashiwamura, Sakata & Imaizumi (2024): Effect of weight quantization (replica method)"
#: seconds of `replica repro --quick kashiwamura2024` (both steps), measured on 2 shared CPU cores (load ~6)
# (25 s with the (w, alpha) phase diagram of issue 13)
QUICK_SECONDS = 25

ALPHA, BETA, NOISE, RHO = 2.0, 5.0, 0.1, 1.0
W_SCAN = 40.0  # the RSB onset of each grid family is searched for below this width
DD_WIDTHS = {1: 1.0, 2: 1.5, 3: 2.0, 4: 2.5}  # the card's interpolation-threshold examples
FAMILIES = ("uniform", "gaussian_quantile", "power:2")


def _sizes(quick: bool) -> dict:
    if quick:
        return {"bits": (1, 2, 3), "n_w": 14, "w_max": 14.0, "n_lin": 16, "dd_bits": (1, 2),
                "n_alpha": 14, "grid_bits": (2,), "n_wb": 10, "n_beta": 6, "wb_bits": (1,),
                "wb_opt": 2, "n_wa": 6}  # fmt: skip
    return {"bits": (1, 2, 3, 4, 5), "n_w": 90, "w_max": 30.0, "n_lin": 100,
            "dd_bits": (1, 2, 3, 4), "n_alpha": 90, "grid_bits": (2, 3, 4), "n_wb": 60,
            "n_beta": 36, "wb_bits": (1, 2), "wb_opt": 12, "n_wa": 30}  # fmt: skip


def _model(bits=1, width=1.0, **kw):
    kw = {"alpha": ALPHA, "beta": BETA, "noise": NOISE, **kw}
    return QuantizedRegression(quantizer=Quantizer.uniform(bits, width), **kw)


def _sweep(data_dir: Path, name: str, model, grid, quick, **kw):
    """A resumable sweep written to ``data_dir/name.nc`` (a finished file is recomputed)."""
    path = data_dir / f"{name}.nc"
    if path.exists():
        path.unlink()
    executor = "serial" if quick else None
    return run_sweep(model, grid, path=path, executor=executor, progress=not quick, **kw)


def _params(quick, **extra):
    return {"alpha": ALPHA, "beta": BETA, "noise": NOISE, "rho": RHO, "quick": quick,
            "teacher": "Gaussian N(0, rho)", "grid": "uniform endpoints", **extra}  # fmt: skip


def compute(data_dir: Path, quick: bool) -> None:
    """Run the theory for the five figures and write the data under ``data_dir``."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    s = _sizes(quick)

    # 1 + 2: phase diagram in (b, ω) and ε_g(ω); the optimal widths on top
    widths = np.geomspace(0.1, s["w_max"], s["n_w"])
    _sweep(data_dir, "phase_bits_width", _model(), {"bits": list(s["bits"]), "width": widths},
           quick)  # fmt: skip
    _sweep(data_dir, "eps_vs_width", _model(),
           {"bits": list(s["bits"][:4]), "width": np.linspace(0.1, 6.0, s["n_lin"])}, quick)  # fmt: skip
    rows = {k: [] for k in ("bits", "width", "gen_error", "at", "curvature", "residual")}
    for b in s["bits"]:
        o = optimal_width(_model(b))
        for k, v in zip(rows, (b, o.width, o.gen_error, o.at, o.curvature, o.residual)):
            rows[k].append(v)
    save_csv(data_dir / "optimal_width.csv", rows,
             metadata(_params(quick, bounds=(0.05, 6.0), xtol=1e-6), seed=None))  # fmt: skip

    # 3: double descent in N/M = 1/α
    inv = np.linspace(0.1, 5.0, s["n_alpha"])
    alphas = np.sort(1.0 / inv)[::-1]  # descending α: continuation towards the threshold
    th = {k: [] for k in ("bits", "width", "alpha_c", "n_over_m_c", "gen_error_c")}
    for b in s["dd_bits"]:
        w = DD_WIDTHS[b]
        _sweep(data_dir, f"double_descent_b{b}", _model(b, w),
               {"beta": [1e2, 1e3, math.inf], "alpha": alphas}, quick)  # fmt: skip
        r = interpolation_threshold(_model(b, w))
        for k, v in zip(th, (b, w, r.alpha_c, 1 / r.alpha_c, r.gen_error)):
            th[k].append(v)
    save_csv(data_dir / "double_descent_thresholds.csv", th,
             metadata(_params(quick, beta="inf", ridge=0.0), seed=None))  # fmt: skip
    # unquantized ridgeless closed form (β = ∞ with continuous weights: the minimum-norm
    # interpolator below α = 1): σ²/(1 − α) + ρ(1 − α) for α < 1, σ²α/(α − 1) for α > 1
    x = np.linspace(0.1, 5.0, 491)
    x = x[np.abs(x - 1.0) > 0.02]
    a = 1.0 / x
    eps = np.where(a > 1, NOISE * a / np.where(a > 1, a - 1, 1.0),
                   RHO * (1 - a) + NOISE / np.where(a < 1, 1 - a, 1.0))  # fmt: skip
    save_csv(data_dir / "double_descent_unquantized.csv", {"n_over_m": x, "gen_error": eps},
             metadata(_params(quick, model="continuous ridgeless closed form"), seed=None))  # fmt: skip

    # 4: uniform vs Gaussian-quantile vs power vs optimised levels
    rows4 = {k: [] for k in ("bits", "family", "width", "gen_error", "at", "at_width")}
    lv_rows = {"bits": [], "k": [], "level": []}
    for b in s["grid_bits"]:
        cmp = compare_grids(_model(b), at_range=(0.05, W_SCAN))
        for fam, v in cmp.items():
            o = v["optimum"]
            for k, val in zip(rows4, (b, fam, o.width, o.gen_error, o.at, v["at_width"])):
                rows4[k].append(val)
        opt_levels = cmp["optimal"]["quantizer"].levels
        for k, lv in enumerate(opt_levels):
            lv_rows["bits"].append(b)
            lv_rows["k"].append(k)
            lv_rows["level"].append(lv)
        ws = np.linspace(0.1, 6.0, s["n_lin"])
        _sweep(data_dir, f"grids_b{b}", _model(b), {"grid": list(FAMILIES), "width": ws}, quick)
        shape = Quantizer(levels=opt_levels, name="optimal")
        _sweep(data_dir, f"grids_b{b}_optimal", _model(b).replace(quantizer=shape),
               {"width": ws}, quick)  # fmt: skip
    meta4 = metadata(_params(quick, families=[*FAMILIES, "optimal"], bounds=(0.05, 6.0)),
                     seed=None)  # fmt: skip
    save_csv(data_dir / "grids_optimal.csv", rows4, meta4)
    save_csv(data_dir / "grids_levels.csv", lv_rows, meta4)

    # 5: phase diagram in (ω, β)
    betas = np.geomspace(0.5, 1e4, s["n_beta"])
    rows5 = {k: [] for k in ("bits", "beta", "width", "gen_error", "at")}
    for b in s["wb_bits"]:
        _sweep(data_dir, f"phase_width_beta_b{b}", _model(b),
               {"beta": betas, "width": np.geomspace(0.1, 6.0, s["n_wb"])}, quick)  # fmt: skip
        for beta in np.geomspace(0.5, 1e4, s["wb_opt"]):
            o = optimal_width(_model(b, beta=float(beta)), throw=False)
            for k, v in zip(rows5, (b, beta, o.width, o.gen_error, o.at)):
                rows5[k].append(v)
    save_csv(data_dir / "phase_width_beta_optimal.csv", rows5,
             metadata(_params(quick, beta="varied"), seed=None))  # fmt: skip

    # 6: phase diagram in (ω, α), with the AT and zero-entropy lines along ω per α
    for b in s["wb_bits"]:
        _sweep(data_dir, f"phase_width_alpha_b{b}", _model(b),
               {"alpha": np.geomspace(0.2, 5.0, s["n_wa"]),
                "width": np.geomspace(0.1, 6.0, s["n_wb"])}, quick, along="width")  # fmt: skip


# ----------------------------------------------------------------------------- plotting
def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _segments(ax, x, y, stable, color, label=None, **kw):
    """Solid where RS is stable, dashed where AT ≥ 1 (an RS estimate only)."""
    y_s = np.where(stable, y, np.nan)
    y_u = np.where(~stable, y, np.nan)
    # connect the two styles at the switch points
    sw = np.flatnonzero(np.diff(stable.astype(int)) != 0)
    for i in sw:
        y_u[i] = y_u[i] if not np.isnan(y_u[i]) else y[i]
        y_u[i + 1] = y_u[i + 1] if not np.isnan(y_u[i + 1]) else y[i + 1]
    ax.plot(x, y_s, "-", color=color, label=label, **kw)
    ax.plot(x, y_u, "--", color=color, **kw)


def plot(data_dir: Path, fig_dir: Path) -> list[Path]:
    """Draw the five figures from the data written by :func:`compute`."""
    plt = _plt()
    data_dir, fig_dir = Path(data_dir), Path(fig_dir)
    fig_dir.mkdir(parents=True, exist_ok=True)
    out = []
    cmap = plt.get_cmap("viridis")

    def colors(x):
        return cmap(0.85 * x)  # avoid the pale yellow end

    # 1: phase diagram (b, ω)
    ds = load_netcdf(data_dir / "phase_bits_width.nc")
    opt, _ = load_csv(data_dir / "optimal_width.csv")
    fig, ax = plt.subplots(figsize=(6, 4.2))
    bits = ds["bits"].values
    w = ds["width"].values
    at = np.log10(np.clip(ds["at"].values, 1e-3, 1e3))
    mesh = ax.pcolormesh(w, bits, at, cmap="coolwarm", vmin=-1.5, vmax=1.5, shading="nearest")
    fig.colorbar(mesh, ax=ax, label=r"$\log_{10}$ AT  (RSB where AT $> 1$)")
    for i, (b, wb) in enumerate(zip(bits, ds["at_boundary_width"].values)):
        ax.plot([wb, wb], [b - 0.5, b + 0.5], "k-", lw=2.5,
                label=r"AT $=1$ (Brent)" if i == 0 else None)  # fmt: skip
    _entropy_marks(ax, ds, bits)
    ax.plot(opt["width"], opt["bits"], "w*", ms=12, mec="k", label=r"$\omega^*(b)$")
    ax.set_xscale("log")
    ax.set_xlabel(r"width $\omega$")
    ax.set_ylabel("bits $b$")
    ax.set_yticks(bits)
    ax.set_title(rf"RS/RSB phase diagram, $\alpha={ALPHA:g}$, $\beta={BETA:g}$, "
                 rf"$\sigma^2={NOISE:g}$")  # fmt: skip
    ax.text(0.97, 0.05, "RSB", transform=ax.transAxes, ha="right", fontsize=12)
    ax.text(0.03, 0.9, "RS", transform=ax.transAxes, fontsize=12)
    # below the axes: inside, it hid the b = 5 AT line
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=8, frameon=False)
    out.append(save_figure(fig, fig_dir / "phase_bits_width.png"))

    # 2: ε_g(ω)
    ds = load_netcdf(data_dir / "eps_vs_width.nc")
    fig, ax = plt.subplots(figsize=(6, 4.2))
    nb = ds.sizes["bits"]
    for i, b in enumerate(ds["bits"].values):
        line = ds.sel(bits=b)
        c = colors(i / max(nb - 1, 1))
        _segments(ax, line["width"].values, line["gen_error"].values,
                  line["at"].values < 1, c, label=f"b = {b}")  # fmt: skip
        j = np.flatnonzero(opt["bits"] == b)
        if j.size:
            ax.plot(opt["width"][j], opt["gen_error"][j], "o", color=c, mec="k")
    ax.set_xlabel(r"width $\omega$")
    ax.set_ylabel(r"$\varepsilon_g$")
    ax.set_ylim(0.15, 1.2)
    ax.set_title(r"$\varepsilon_g(\omega)$: minima $\omega^*(b)$ (dots); dashed: AT $\geq 1$"
                 "\n"
                 rf"$\alpha={ALPHA:g}$, $\beta={BETA:g}$, $\sigma^2={NOISE:g}$, "
                 rf"$\rho={RHO:g}$, uniform grids", fontsize=10)  # fmt: skip
    ax.legend(fontsize=8)
    out.append(save_figure(fig, fig_dir / "eps_vs_width.png"))

    # 3: double descent
    th, _ = load_csv(data_dir / "double_descent_thresholds.csv")
    un, _ = load_csv(data_dir / "double_descent_unquantized.csv")
    betas = [math.inf, 1e3, 1e2]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), sharey=True)
    for ax, beta in zip(axes, betas):
        ax.plot(un["n_over_m"], un["gen_error"], "k-", lw=1, label="unquantized (closed form)")
        for i, b in enumerate(th["bits"].astype(int)):
            ds = load_netcdf(data_dir / f"double_descent_b{b}.nc").sel(beta=beta)
            c = colors(i / max(len(th["bits"]) - 1, 1))
            x = 1.0 / ds["alpha"].values
            _segments(ax, x, ds["gen_error"].values, ds["at"].values < 1, c,
                      label=f"b = {b}, ω = {th['width'][i]:g}")  # fmt: skip
            ax.axvline(th["n_over_m_c"][i], color=c, ls=":", lw=1)
        ax.axvline(1.0, color="k", ls=":", lw=1)
        ax.set_xlabel("N/M = 1/α")
        ax.set_ylim(0, 2.0)
        name = r"\infty" if math.isinf(beta) else f"10^{round(math.log10(beta))}"
        note = " (RS never AT-stable: RS estimate)" if math.isinf(beta) else ""
        ax.set_title(rf"$\beta = {name}${note}", fontsize=10)
    axes[0].set_ylabel(r"$\varepsilon_g$")
    axes[0].legend(fontsize=7, loc="upper left")
    fig.suptitle("Double descent: quantization moves the peak to N/M = 1/α_c > 1 (dotted) and "
                 "lowers it; dashed: AT ≥ 1", fontsize=10)  # fmt: skip
    out.append(save_figure(fig, fig_dir / "double_descent.png"))

    # 4: grid families
    g4, _ = load_csv(data_dir / "grids_optimal.csv")
    gb = sorted(set(g4["bits"].astype(int)))
    # two rows (ε_g per bits on top, onset and AT below): a 1 × 5 strip was unreadable
    ncol = max(len(gb), 2)
    fig, grid = plt.subplots(2, ncol, figsize=(4.6 * ncol, 8.4), squeeze=False)
    axes = [*grid[0, : len(gb)], grid[1, 0], grid[1, 1]]
    for extra in [*grid[0, len(gb) :], *grid[1, 2:]]:
        extra.axis("off")
    fam_names = [*FAMILIES, "optimal"]
    fam_col = dict(zip(fam_names, ("C0", "C1", "C2", "C3")))
    for ax, b in zip(axes[: len(gb)], gb):
        ds = load_netcdf(data_dir / f"grids_b{b}.nc")
        dso = load_netcdf(data_dir / f"grids_b{b}_optimal.nc")
        for fam in FAMILIES:
            line = ds.sel(grid=fam)
            _segments(ax, line["width"].values, line["gen_error"].values,
                      line["at"].values < 1, fam_col[fam], label=fam)  # fmt: skip
        _segments(ax, dso["width"].values, dso["gen_error"].values, dso["at"].values < 1,
                  fam_col["optimal"], label="optimised shape")  # fmt: skip
        sel = g4["bits"] == b
        for fam, wv, ev in zip(g4["family"][sel], g4["width"][sel], g4["gen_error"][sel]):
            ax.plot(wv, ev, "o", color=fam_col[fam], mec="k")
        ax.set_ylim(0.15, 0.8)
        ax.set_xlabel(r"width $\omega$ (largest level)")
        ax.set_title(f"b = {b}: dashed = RSB (AT ≥ 1)")
    axes[0].set_ylabel(r"$\varepsilon_g$")
    axes[0].legend(fontsize=7)
    ax, ax2 = axes[-2], axes[-1]
    for fam in fam_names:
        sel = g4["family"] == fam
        x, y = g4["bits"][sel], g4["at_width"][sel]
        ax.plot(x, y, "o-", color=fam_col[fam], label=fam)
        # no crossing below ω = 40 (the scanned range): a marker on that limit
        ax.plot(x[np.isnan(y)], np.full(np.isnan(y).sum(), W_SCAN), "^", color=fam_col[fam],
                ms=10, mec="k")  # fmt: skip
        ax2.plot(x, g4["at"][sel], "o-", color=fam_col[fam], label=fam)
    ax.axhline(W_SCAN, color="0.5", ls=":", lw=1)
    ax.text(gb[0], W_SCAN * 1.08, rf"scan limit $\omega = {W_SCAN:g}$", fontsize=8, color="0.3")
    ax.set_xlabel("bits b")
    ax.set_ylabel(r"RSB onset $\omega_{AT}$ (RSB for $\omega > \omega_{AT}$)")
    ax.set_yscale("log")
    ax.set_ylim(0.7 * np.nanmin(g4["at_width"]), W_SCAN * 1.6)
    ax.set_xticks(gb)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(rf"RSB onset ($\blacktriangle$: none below $\omega = {W_SCAN:g}$)", fontsize=10)
    ax2.set_xlabel("bits b")
    ax2.set_ylabel(r"AT at the grid's optimum $\omega^*$")
    ax2.set_xticks(gb)
    ax2.set_title("distance from the AT line at the optimum", fontsize=10)
    out.append(save_figure(fig, fig_dir / "grids.png"))

    # 5: (ω, β) phase diagrams
    o5, _ = load_csv(data_dir / "phase_width_beta_optimal.csv")
    bb = sorted(set(o5["bits"].astype(int)))
    fig, axes = plt.subplots(1, len(bb), figsize=(5.5 * len(bb), 4.2), squeeze=False)
    for ax, b in zip(axes[0], bb):
        ds = load_netcdf(data_dir / f"phase_width_beta_b{b}.nc")
        at = np.log10(np.clip(ds["at"].values, 1e-3, 1e3))
        mesh = ax.pcolormesh(ds["width"].values, ds["beta"].values, at, cmap="coolwarm",
                             vmin=-1.5, vmax=1.5, shading="nearest")  # fmt: skip
        ax.plot(ds["at_boundary_width"].values, ds["beta"].values, "k-", label="AT = 1")
        if "entropy_boundary_width" in ds.coords:
            ax.plot(ds["entropy_boundary_width"].values, ds["beta"].values, "m--", lw=2,
                    label="RS entropy = 0")  # fmt: skip
        sel = o5["bits"] == b
        ax.plot(o5["width"][sel], o5["beta"][sel], "w*-", mec="k", ms=8, label=r"$\omega^*$")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"width $\omega$")
        ax.set_ylabel(r"$\beta$")
        ax.set_title(rf"b = {b}, $\alpha = {ALPHA:g}$: RSB right of / above the AT line")
        ax.legend(fontsize=8, loc="lower left")
        fig.colorbar(mesh, ax=ax, label=r"$\log_{10}$ AT")
    out.append(save_figure(fig, fig_dir / "phase_width_beta.png"))

    # 6: (ω, α) phase diagrams
    fig, axes = plt.subplots(1, len(bb), figsize=(5.5 * len(bb), 4.2), squeeze=False)
    for ax, b in zip(axes[0], bb):
        path = data_dir / f"phase_width_alpha_b{b}.nc"
        if not path.exists():
            continue
        ds = load_netcdf(path)
        at = np.log10(np.clip(ds["at"].values, 1e-3, 1e3))
        mesh = ax.pcolormesh(ds["width"].values, ds["alpha"].values, at, cmap="coolwarm",
                             vmin=-1.5, vmax=1.5, shading="nearest")  # fmt: skip
        crisis = (ds["at"].values < 1) & (ds["entropy"].values < 0)
        if crisis.any():
            ax.contourf(ds["width"].values, ds["alpha"].values, crisis.astype(float),
                        levels=[0.5, 1.5], colors="none", hatches=["//"])  # fmt: skip
        ax.plot(ds["at_boundary_width"].values, ds["alpha"].values, "k-", label="AT = 1")
        ax.plot(ds["entropy_boundary_width"].values, ds["alpha"].values, "m--", lw=2,
                label="RS entropy = 0")  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"width $\omega$")
        ax.set_ylabel(r"$\alpha = M/N$")
        ax.set_title(rf"b = {b}, $\beta = {BETA:g}$: hatched = entropy crisis (AT < 1, s < 0)",
                     fontsize=9)  # fmt: skip
        ax.legend(fontsize=8, loc="lower left")
        fig.colorbar(mesh, ax=ax, label=r"$\log_{10}$ AT")
    out.append(save_figure(fig, fig_dir / "phase_width_alpha.png"))
    return out


def _entropy_marks(ax, ds, bits):
    """The zero-entropy line of each bits row (dashed), where the data has it."""
    if "entropy_boundary_width" not in ds.coords:
        return
    for i, (b, wb) in enumerate(zip(bits, ds["entropy_boundary_width"].values)):
        if np.isfinite(wb):
            ax.plot([wb, wb], [b - 0.5, b + 0.5], "m--", lw=2.5,
                    label="RS entropy $= 0$" if i == 0 else None)  # fmt: skip
