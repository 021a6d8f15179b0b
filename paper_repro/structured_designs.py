"""Structured designs (issue 20): the RS theory for covariance spectra against VAMP ensembles.

Model: uniform 2-bit grid (ω = 1.5), Gaussian teacher ρ = 1, α = 2, β = 5, σ² = 0.1, rows
``x_μ ~ N(0, Σ/N)`` with generic eigenvectors and two spectra (eigenvalues used as given):

* ``power-law`` — ``λ_i ∝ 1/i`` (300 values, scaled by this script to mean 1);
* ``two-level`` — half the eigenvalues 3.0, half 0.5.

Figures:

1. ``structured_vamp`` — VAMP's MSE per size (mean ± standard error over instances, control
   variates as in :func:`replica.amp.experiment`) against ``1/N``, the extrapolation
   ``mse∞ + c/N`` and the RS prediction of :func:`replica.solve_rs` for the design (RS is
   stable at both points: AT 0.41 and 0.50);
2. ``structured_width`` — the RS generalisation error against the width ω for the i.i.d. design
   and both spectra, with the optimal widths of :func:`replica.optimal_width`.

Full run (committed data, 243 s on the shared cores): VAMP converged on all 48 instances
(N = 500, 1000, 2000; 8 each). Extrapolated ``mse∞`` against RS: power-law 0.2561 ± 0.0073 vs
0.2507 (z = 0.73), two-level 0.1879 ± 0.0065 vs 0.1773 (z = 1.63); at N = 2000 both are within
one standard error (0.2546 ± 0.0054, 0.1810 ± 0.0053).

Instance ``(spectrum, N, s)``: ``generate(model, N, seed=(SEED, N, s))`` with ``base_seed =
SEED + index of the spectrum``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from replica.amp import experiment
from replica.designs import CovarianceDesign, GaussianDesign
from replica.io import load_csv, metadata, save_csv
from replica.quantizers import Quantizer
from replica.regression import QuantizedRegression, solve_rs

from ._figures import save_figure

TITLE = "Structured designs: RS theory for covariance spectra vs VAMP (issue 20)"
#: seconds of `replica repro --quick structured_designs` (both steps), measured on 2 shared cores
QUICK_SECONDS = 6  # measured 3.7 s

ALPHA, BETA, NOISE, BITS, WIDTH = 2.0, 5.0, 0.1, 2, 1.5
SEED = 2020


def spectra() -> dict:
    """The two covariance spectra (eigenvalues of Σ, normalised here to mean 1)."""
    lam = 1.0 / np.arange(1, 301)
    return {"power-law": lam * (lam.size / lam.sum()),
            "two-level": np.r_[np.full(150, 3.0), np.full(150, 0.5)]}  # fmt: skip


def model(design=None, width=WIDTH) -> QuantizedRegression:
    return QuantizedRegression(quantizer=Quantizer.uniform(BITS, width), alpha=ALPHA, beta=BETA,
                               noise=NOISE, design=design or GaussianDesign())  # fmt: skip


def compute(data_dir: Path, quick: bool) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    sizes = (150, 300) if quick else (500, 1000, 2000)
    seeds = 3 if quick else 8
    params = {"alpha": ALPHA, "beta": BETA, "noise": NOISE, "bits": BITS, "width": WIDTH,
              "sizes": list(sizes), "seeds": seeds, "quick": quick}  # fmt: skip
    inst = {k: [] for k in ("spectrum", "N", "seed", "mse", "converged", "n_iter")}
    summ = {k: [] for k in ("spectrum", "N", "mse_cv", "mse_cv_sem", "n_converged")}
    theory = {k: [] for k in ("spectrum", "rs_mse", "rs_at", "se_mse", "mse_inf", "mse_inf_se",
                              "z_rs")}  # fmt: skip
    for i, (name, lam) in enumerate(spectra().items()):
        m = model(CovarianceDesign(eigenvalues=lam))
        ds = experiment(m, sizes=sizes, seeds=seeds, base_seed=SEED + i, max_iter=500)
        for n in ds.size.values:
            for s in ds.seed.values:
                sel = {"size": n, "seed": s}
                for k, v in (("spectrum", name), ("N", int(n)), ("seed", int(s)),
                             ("mse", float(ds["mse"].sel(sel))),
                             ("converged", int(ds["converged"].sel(sel))),
                             ("n_iter", int(ds["n_iter"].sel(sel)))):  # fmt: skip
                    inst[k].append(v)
            for k, v in (("spectrum", name), ("N", int(n)),
                         ("mse_cv", float(ds["mse_cv"].sel(size=n))),
                         ("mse_cv_sem", float(ds["mse_cv_sem"].sel(size=n))),
                         ("n_converged", int(ds["n_converged"].sel(size=n)))):  # fmt: skip
                summ[k].append(v)
        for k in theory:
            theory[k].append(name if k == "spectrum" else float(ds[k]))
    meta = metadata(params=params, seed={"base_seed": SEED})
    save_csv(data_dir / "vamp_instances.csv", inst, meta)
    save_csv(data_dir / "vamp_sizes.csv", summ, meta)
    save_csv(data_dir / "vamp_theory.csv", theory, meta)
    _width_curves(data_dir, quick, params)


def _width_curves(data_dir, quick, params):
    from replica.optimize import optimal_width

    widths = np.linspace(0.3, 3.0, 10 if quick else 46)
    designs = {"iid": GaussianDesign(),
               **{k: CovarianceDesign(eigenvalues=v) for k, v in spectra().items()}}  # fmt: skip
    cols = {k: [] for k in ("design", "width", "gen_error", "at")}
    best = {k: [] for k in ("design", "width", "gen_error")}
    for name, d in designs.items():
        for w in widths:
            sol = solve_rs(model(d, width=float(w)), throw=False)
            for k, v in (("design", name), ("width", float(w)), ("gen_error", sol.gen_error),
                         ("at", sol.at)):  # fmt: skip
                cols[k].append(v)
        opt = optimal_width(model(d))
        for k, v in (("design", name), ("width", opt.width), ("gen_error", opt.gen_error)):
            best[k].append(v)
    meta = metadata(params=params)
    save_csv(data_dir / "width_curves.csv", cols, meta)
    save_csv(data_dir / "optimal_widths.csv", best, meta)


def plot(data_dir: Path, fig_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes, _ = load_csv(data_dir / "vamp_sizes.csv")
    theory, _ = load_csv(data_dir / "vamp_theory.csv")
    out = []
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for i, name in enumerate(theory["spectrum"]):
        c = f"C{i}"
        sel = sizes["spectrum"] == name
        x = 1.0 / sizes["N"][sel]
        ax.errorbar(x, sizes["mse_cv"][sel], sizes["mse_cv_sem"][sel], fmt="o", color=c,
                    label=f"VAMP, {name}")  # fmt: skip
        xx = np.linspace(0, x.max() * 1.05, 20)
        slope = np.polyfit(x, sizes["mse_cv"][sel] - theory["mse_inf"][i], 1)[0] if x.size > 1 \
            else 0.0  # fmt: skip
        ax.plot(xx, theory["mse_inf"][i] + slope * xx, ":", color=c)
        ax.axhline(theory["rs_mse"][i], color=c, lw=1, label=f"RS theory, {name}")
    ax.set_xlabel("1/N")
    ax.set_ylabel("weight MSE")
    ax.set_title("b=2, ω=1.5, α=2, β=5, σ²=0.1")
    ax.legend(fontsize=7)
    out.append(save_figure(fig, fig_dir / "structured_vamp.png"))

    curves, _ = load_csv(data_dir / "width_curves.csv")
    best, _ = load_csv(data_dir / "optimal_widths.csv")
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for i, name in enumerate(best["design"]):
        sel = curves["design"] == name
        ax.plot(curves["width"][sel], curves["gen_error"][sel], color=f"C{i}", label=name)
        ax.plot(best["width"][i], best["gen_error"][i], "*", color=f"C{i}", ms=10)
    ax.set_xlabel("width ω")
    ax.set_ylabel("generalisation error ε_g (RS)")
    ax.set_title("b=2, α=2, β=5: optimal width per design (stars)")
    ax.legend(fontsize=8)
    out.append(save_figure(fig, fig_dir / "structured_width.png"))
    return out
