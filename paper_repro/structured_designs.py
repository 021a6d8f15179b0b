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
   and both spectra, with the optimal widths of :func:`replica.optimal_width`;
3. ``structured_real_data`` — real inputs: 16×16 patches of the photograph bundled with
   matplotlib (``grace_hopper.jpg``, no download), standardised per pixel. The spectrum of their
   covariance, the RS prediction of ε_g(ω) for that spectrum (and for i.i.d. inputs), and VAMP on
   the *real* design (M = αN patches drawn at random, a synthetic Gaussian teacher) — next to
   VAMP on the same design rotated by a Haar matrix (same spectrum, generic eigenvectors), which
   isolates the effect of the real eigenvectors.

Full run (committed data, 243 s on the shared cores): VAMP converged on all 48 instances
(N = 500, 1000, 2000; 8 each). Extrapolated ``mse∞`` against RS: power-law 0.2561 ± 0.0073 vs
0.2507 (z = 0.73), two-level 0.1879 ± 0.0065 vs 0.1773 (z = 1.63); at N = 2000 both are within
one standard error (0.2546 ± 0.0054, 0.1810 ± 0.0053).

Real data (N = 256 pixels, M = 512 patches per draw, 8 draws per width, all VAMP runs
converged): the patch spectrum is steep (λ₁ ≈ 194, mean 1, smallest ≈ 5e-4). RS for that
spectrum predicts ε_g ≈ 0.119 at the optimal width ≈ 1.75, against 0.241 for i.i.d. inputs;
VAMP on the real X measures 0.122–0.142, 1–6 % above the prediction over ω ∈ [0.5, 3] (a
finite-size offset of the size seen in the synthetic ensembles at N = 500, plus
non-Gaussian, overlapping rows), with its minimum in the same flat region (ω ≈ 1.75–2.25).
Real and Haar-rotated designs differ by ≤ 6e-4: for these delocalised (Fourier-like)
eigenvectors and a Gaussian teacher, the generic-eigenvector assumption holds. Gibbs sampling
(parallel tempering, 8 × 8 patches, N = 64, 4 instances per width, 1000 sweeps): at ω = 1.0 and
1.75 the equilibrated Gibbs mean has the test error of VAMP on the same instance (differences
≤ 0.005, within the RS theory's finite-size scatter); at ω = 3.0 no run equilibrated
(``short_run`` / ``not_equilibrated``) and its errors exceed VAMP's — shown, flagged.

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
QUICK_SECONDS = 10  # measured 8.0 s

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
    p = 8 if quick else 16
    draws = 2 if quick else 8
    real_widths = np.linspace(0.5, 3.0, 4 if quick else 11)
    table, spec = real_data(real_widths, draws, p=p)
    meta = metadata(params={**params, "patch": p, "draws": draws, "image": "grace_hopper.jpg"},
                    seed=SEED)  # fmt: skip
    save_csv(data_dir / "real_data.csv", table, meta)
    save_csv(data_dir / "real_spectrum.csv", spec, meta)
    _real_gibbs(data_dir, quick, params)


def _real_gibbs(data_dir, quick, params):
    widths, n_inst, sweeps = ((1.5,), 1, 200) if quick else ((1.0, 1.75, 3.0), 4, 1000)
    gib = real_data_gibbs(widths, n_inst, p=8, sweeps=sweeps)
    meta = metadata(params={**params, "patch": 8, "instances": n_inst, "sweeps": sweeps,
                            "image": "grace_hopper.jpg"}, seed=SEED)  # fmt: skip
    save_csv(data_dir / "real_gibbs.csv", gib, meta)


def image_patches(p: int = 16, stride: int = 4) -> np.ndarray:
    """Standardised ``p × p`` patches (rows) of matplotlib's bundled grayscale photograph."""
    from matplotlib import cbook, image

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        gray = image.imread(f).astype(float).mean(axis=2)
    win = np.lib.stride_tricks.sliding_window_view(gray, (p, p))[::stride, ::stride]
    Z = win.reshape(-1, p * p)
    return (Z - Z.mean(axis=0)) / Z.std(axis=0)


def real_data(widths, n_draws: int, p: int = 16, seed: int = SEED) -> tuple[dict, dict]:
    """Theory and VAMP on image patches: ``(per-width table, spectrum table)``.

    The covariance eigenvalues are those of all standardised patches (used as given); each draw
    takes ``M = αN`` patches at random as the rows of ``X`` (scaled by ``1/√N``), a teacher
    ``w⁰ ~ N(0, 1)`` and label noise σ². ``gen_error`` of a VAMP run is
    ``(w⁰ − ŵ)ᵀΣ̂(w⁰ − ŵ)/N + σ²`` with Σ̂ the covariance of all patches; the rotated control
    uses ``X O`` with ``O`` Haar."""
    from replica.amp import vamp
    from replica.designs import _haar

    Z = image_patches(p)
    N = p * p
    M = round(ALPHA * N)
    cov = Z.T @ Z / Z.shape[0]
    lam = np.clip(np.linalg.eigvalsh(cov)[::-1], 0.0, None)
    design = CovarianceDesign(eigenvalues=lam)
    rng = np.random.default_rng(seed)
    cols = {k: [] for k in ("width", "kind", "draw", "mse", "gen_error", "converged")}

    def add(w, kind, d, mse, gen, ok):
        for k, v in zip(cols, (w, kind, d, mse, gen, ok)):
            cols[k].append(v)

    for w in widths:
        q = Quantizer.uniform(BITS, float(w))
        for kind, dsg in (("theory", design), ("theory-iid", GaussianDesign())):
            sol = solve_rs(model(dsg, width=float(w)), throw=False)
            add(float(w), kind, -1, sol.mse, sol.gen_error, int(sol.converged))
        for d in range(n_draws):
            rows = rng.choice(Z.shape[0], M, replace=False)
            X = Z[rows] / np.sqrt(N)
            w0 = rng.standard_normal(N)
            y = X @ w0 + np.sqrt(NOISE) * rng.standard_normal(M)
            O = _haar(N, rng)
            for kind, XX, sigma, w_true in (
                ("vamp-real", X, cov, w0),
                ("vamp-rotated", X @ O, O.T @ cov @ O, O.T @ w0),
            ):
                # the rotated control keeps y: X O (Oᵀ w⁰) = X w⁰; its teacher is Oᵀw⁰, not
                # i.i.d. on the grid's axes (a Gaussian teacher is rotation invariant in law)
                res = vamp(XX, y, q, BETA, teacher=w_true, max_iter=500, throw=False)
                e = w_true - res.estimate
                add(float(w), kind, d, float(e @ e / N), float(e @ sigma @ e / N + NOISE),
                    int(res.converged))  # fmt: skip
    spec = {"rank": np.arange(1, N + 1), "eigenvalue": lam}
    return cols, spec


def real_data_gibbs(widths, n_inst: int, p: int = 8, sweeps: int = 1000,
                    seed: int = SEED) -> dict:  # fmt: skip
    """Equilibrium on small real designs: parallel-tempering Gibbs sampling
    (:func:`replica.mc.sample`, ladder up to β) next to VAMP on the same instance and the RS
    prediction for the patch spectrum (``p × p`` patches, ``N = p²``, ``M = αN``)."""
    from replica import mc
    from replica.amp import vamp

    Z = image_patches(p)
    N = p * p
    M = round(ALPHA * N)
    cov = Z.T @ Z / Z.shape[0]
    design = CovarianceDesign(eigenvalues=np.clip(np.linalg.eigvalsh(cov)[::-1], 0.0, None))
    rng = np.random.default_rng((seed, 1))
    cols = {k: [] for k in ("width", "kind", "instance", "mse", "gen_error", "status")}

    def add(*vals):
        for k, v in zip(cols, vals):
            cols[k].append(v)

    for w in widths:
        q = Quantizer.uniform(BITS, float(w))
        sol = solve_rs(model(design, width=float(w)), throw=False)
        add(float(w), "theory", -1, sol.mse, sol.gen_error, sol.status)
        for i in range(n_inst):
            rows = rng.choice(Z.shape[0], M, replace=False)
            X = Z[rows] / np.sqrt(N)
            w0 = rng.standard_normal(N)
            y = X @ w0 + np.sqrt(NOISE) * rng.standard_normal(M)
            res = vamp(X, y, q, BETA, teacher=w0, max_iter=500, throw=False)
            gib = mc.sample(X, y, q, mc.ladder(BETA), teacher=w0, sweeps=sweeps,
                            seed=(seed, i), throw=False)  # fmt: skip
            for kind, est, status in (("vamp-real", res.estimate, res.status),
                                      ("gibbs-real", gib.gibbs_mean[-1], gib.status)):  # fmt: skip
                e = w0 - est
                add(float(w), kind, i, float(e @ e / N), float(e @ cov @ e / N + NOISE), status)
    return cols


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
    out.append(plot_real_data(data_dir, fig_dir))
    return out


def plot_real_data(data_dir: Path, fig_dir: Path | None = None):
    """Figure 3 from the real-data tables (returned as a figure when ``fig_dir`` is None)."""
    import matplotlib.pyplot as plt

    tab, _ = load_csv(data_dir / "real_data.csv")
    spec, _ = load_csv(data_dir / "real_spectrum.csv")
    gib_path = data_dir / "real_gibbs.csv"
    gib = load_csv(gib_path)[0] if gib_path.exists() else None
    fig, axes = plt.subplots(1, 3 if gib is not None else 2, figsize=(15 if gib else 10, 4))
    a1, a2 = axes[0], axes[1]
    a1.loglog(spec["rank"], spec["eigenvalue"], ".", ms=3)
    a1.set_xlabel("rank i")
    a1.set_ylabel("eigenvalue λ_i of the patch covariance")
    a1.set_title("standardised image patches")
    widths = np.unique(tab["width"])
    for kind, style in (("theory", "-"), ("theory-iid", "--")):
        sel = tab["kind"] == kind
        a2.plot(
            tab["width"][sel],
            tab["gen_error"][sel],
            style,
            color="k",
            label={"theory": "RS, patch spectrum", "theory-iid": "RS, i.i.d. inputs"}[kind],
        )
    for kind, c in (("vamp-real", "C0"), ("vamp-rotated", "C1")):
        mean, se = [], []
        for w in widths:
            sel = (tab["kind"] == kind) & (tab["width"] == w) & (tab["converged"] == 1)
            g = tab["gen_error"][sel]
            mean.append(g.mean() if g.size else np.nan)
            se.append(g.std(ddof=1) / np.sqrt(g.size) if g.size > 1 else np.nan)
        a2.errorbar(
            widths,
            mean,
            se,
            fmt="o",
            color=c,
            ms=4,
            label={"vamp-real": "VAMP, real X", "vamp-rotated": "VAMP, X·O (generic)"}[kind],
        )
    a2.set_xlabel("width ω")
    a2.set_ylabel("test error ε_g")
    a2.set_title(f"b={BITS}, α={ALPHA:g}, β={BETA:g}, σ²={NOISE:g}")
    a2.legend(fontsize=8)
    if gib is not None:
        a3 = axes[2]
        for i, w in enumerate(np.unique(gib["width"])):
            v = (gib["kind"] == "vamp-real") & (gib["width"] == w)
            g = (gib["kind"] == "gibbs-real") & (gib["width"] == w)
            eq = gib["status"][g] == "equilibrated"
            a3.plot(gib["gen_error"][v][eq], gib["gen_error"][g][eq], "o", color=f"C{i}",
                    label=f"ω={w:g}" if eq.any() else None)  # fmt: skip
            a3.plot(gib["gen_error"][v][~eq], gib["gen_error"][g][~eq], "x", color=f"C{i}",
                    label=f"ω={w:g}, MC not equilibrated" if (~eq).any() else None)  # fmt: skip
        lim = [gib["gen_error"].min() * 0.97, gib["gen_error"].max() * 1.03]
        a3.plot(lim, lim, "k:", lw=0.8)
        a3.set_xlabel("VAMP test error (real X, N = 64)")
        a3.set_ylabel("Gibbs-mean test error (parallel tempering)")
        a3.set_title("same instances: algorithm vs equilibrium")
        a3.legend(fontsize=7)
    if fig_dir is None:
        return fig
    return save_figure(fig, fig_dir / "structured_real_data.png")
