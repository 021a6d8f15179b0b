"""Ichikawa, Kashiwamura & Sakata (2025): STE learning dynamics of quantized linear models.

Five experiments of the card (``ichikawa2025-ste-dynamics``) plus a check of claim 6:

1. ``exp1_ode_vs_ste.csv``: ε_g(τ) for weight-only quantization, b ∈ {2, 3, 4, 5}, ω = 1, λ = 1,
   η = 0.04: isotropic ODE, grid PDE and finite-d STE (mean ± s.e. over seeds, d = 900).
2. ``exp2_plateau.csv``: plateau length vs ω at b = 3 (mid-tread grid, small initialisation;
   ODE and PDE curves, :func:`plateau`).
3. ``exp3_input_weight.csv``: input (b_x ∈ {3, 4, 5}) × weight (b ∈ {3, 4}) quantization.
4. ``exp4_density.csv``: density of ŵ (w* = 1) at τ ∈ {10, 25, 50, 100}, d = 3000, b = ω = 2
   for inputs and weights: STE histogram vs grid PDE.
5. ``exp5_stability.csv``: η_c vs b and ω (input quantization) and the stationary error vs b
   and ω (Gibbs fixed point and isotropic closure).
6. ``exp6_nonlinear.csv``: tanh weights and inputs: grid PDE vs finite-d STE.

η and λ of experiments 3–4 are not stated by the paper; the values used are in the metadata.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from replica import Quantizer
from replica.dynamics import (
    Elementwise,
    STEProblem,
    fixed_points,
    max_stable_lr,
    ode,
    pde,
    plateau,
    simulate,
)
from replica.io import load_csv, metadata, save_csv

from ._figures import save_figure

TITLE = "Ichikawa, Kashiwamura & Sakata (2025): high-dimensional STE dynamics of quantized models"
#: seconds of `replica repro --quick ichikawa2025` (both steps), measured on 2 shared CPU cores (load ~6)
QUICK_SECONDS = 12


def _save(data_dir, name, cols, params, seeds=None):
    save_csv(Path(data_dir) / f"{name}.csv", cols, metadata(params, seeds))


def _exp1(data_dir, quick):
    bits = (2, 4) if quick else (2, 3, 4, 5)
    d, t_max, seeds = (200, 20.0, range(2)) if quick else (900, 100.0, range(6))
    n_points = 11 if quick else 26
    rows = {k: [] for k in ("bits", "tau", "source", "eg", "se")}

    def add(b, tau, src, eg, se=None):
        n = len(tau)
        rows["bits"] += [b] * n
        rows["tau"] += list(tau)
        rows["source"] += [src] * n
        rows["eg"] += list(eg)
        rows["se"] += list(np.zeros(n) if se is None else se)

    for b in bits:
        p = STEProblem(weight_quantizer=Quantizer.uniform(b, 1.0), eta=0.04, ridge=1.0, init=1.0)
        tr = ode(p, t_max, n_points=n_points)
        g = pde(
            p,
            t_max,
            method="grid",
            n_points=n_points,
            n_cells=1500 if quick else 4000,
            n_teacher=24 if quick else 48,
        )
        sim = simulate(p, d, t_max, seeds=seeds, n_points=n_points)
        add(b, tr.tau, "ode", tr.eg)
        add(b, g.tau, "pde", g.eg)
        add(b, sim.tau, "ste", sim.eg_mean, sim.eg_sem)
    _save(
        data_dir,
        "exp1_ode_vs_ste",
        rows,
        dict(
            omega=1.0,
            ridge=1.0,
            eta=0.04,
            d=d,
            t_max=t_max,
            bits=bits,
            init=1.0,
            teacher="gaussian",
        ),
        list(seeds),
    )


def _exp2(data_dir, quick):
    # a plateau needs a dead zone: the mid-tread grid (zero level) and a small initialisation,
    # so that ψ_w(ŵ) = 0 until the latent weights cross the first threshold ω/(2^b − 2)
    omegas = (0.25, 1.0, 1.5) if quick else (0.25, 0.5, 1.0, 1.25, 1.5)
    t_max, init = 20.0, 1e-4
    rows = {k: [] for k in ("omega", "source", "length", "drop_time", "level", "final")}
    curves = {k: [] for k in ("omega", "source", "tau", "eg")}
    for om in omegas:
        p = STEProblem(
            weight_quantizer=Quantizer.uniform(3, om, "zero"), eta=0.04, ridge=1.0, init=init
        )
        for src, sol in (
            ("ode", ode(p, t_max, n_points=801)),
            (
                "pde",
                pde(
                    p,
                    t_max,
                    method="grid",
                    n_points=401,
                    n_cells=1500 if quick else 4000,
                    n_teacher=24 if quick else 48,
                ),
            ),
        ):
            pl = plateau(sol)
            for k, v in (
                ("omega", om),
                ("source", src),
                ("length", pl.length),
                ("drop_time", pl.drop_time),
                ("level", pl.level),
                ("final", sol.eg[-1]),
            ):
                rows[k].append(v)
            curves["omega"] += [om] * sol.tau.size
            curves["source"] += [src] * sol.tau.size
            curves["tau"] += list(sol.tau)
            curves["eg"] += list(sol.eg)
    params = dict(
        bits=3,
        convention="zero",
        omegas=omegas,
        eta=0.04,
        ridge=1.0,
        init=init,
        t_max=t_max,
        criterion="replica.dynamics.plateau(flat=0.1)",
    )
    _save(data_dir, "exp2_plateau", rows, params)
    _save(data_dir, "exp2_curves", curves, params)


def _exp3(data_dir, quick):
    bxs = (3, 5) if quick else (3, 4, 5)
    bws = (3,) if quick else (3, 4)
    t_max = 30.0 if quick else 100.0
    base = dict(eta=0.04, ridge=1.0, init=1.0)
    rows = {k: [] for k in ("bx", "bw", "source", "tau", "eg")}
    cases = [(bx, None) for bx in bxs] + [(None, bw) for bw in bws]
    cases += [(bx, bw) for bx in bxs for bw in bws] + [(None, None)]
    for bx, bw in cases:
        p = STEProblem(
            input_quantizer=None if bx is None else Quantizer.uniform(bx, 2.0),
            weight_quantizer=None if bw is None else Quantizer.uniform(bw, 1.0),
            **base,
        )
        sols = [("ode", ode(p, t_max, n_points=201))]
        if bw is not None:
            sols.append(
                (
                    "pde",
                    pde(
                        p,
                        t_max,
                        method="grid",
                        n_points=201,
                        n_cells=1500 if quick else 3000,
                        n_teacher=24 if quick else 48,
                    ),
                )
            )
        for src, sol in sols:
            n = sol.tau.size
            rows["bx"] += [0 if bx is None else bx] * n
            rows["bw"] += [0 if bw is None else bw] * n
            rows["source"] += [src] * n
            rows["tau"] += list(sol.tau)
            rows["eg"] += list(sol.eg)
    _save(
        data_dir,
        "exp3_input_weight",
        rows,
        dict(omega_x=2.0, omega_w=1.0, t_max=t_max, bx=bxs, bw=bws, note="0 = unquantized", **base),
    )


def _exp4(data_dir, quick):
    times = (2.0, 5.0) if quick else (10.0, 25.0, 50.0, 100.0)
    d = 500 if quick else 3000
    q = Quantizer.uniform(2, 2.0)
    p = STEProblem(
        weight_quantizer=q, input_quantizer=q, eta=0.2, ridge=0.0, teacher="constant", init=1.0
    )
    edges = np.linspace(-3.0, 3.5, 131)
    sim = simulate(p, d, max(times), seeds=(0,), n_points=11, density_times=times, edges=edges)
    sol = pde(
        p,
        max(times),
        method="grid",
        n_points=11,
        density_times=times,
        edges=edges,
        n_cells=2000 if quick else 6000,
    )
    x = 0.5 * (edges[1:] + edges[:-1])
    rows = {k: [] for k in ("tau", "x", "ste", "pde")}
    for i, t in enumerate(times):
        rows["tau"] += [t] * x.size
        rows["x"] += list(x)
        rows["ste"] += list(sim.density[i])
        rows["pde"] += list(sol.density[i])
    (fp,) = fixed_points(p)
    _save(
        data_dir,
        "exp4_density",
        rows,
        dict(
            bits=2,
            omega=2.0,
            eta=0.2,
            ridge=0.0,
            teacher="constant w*=1",
            d=d,
            times=times,
            gibbs_e=fp.e,
            gibbs_T=fp.temperature,
        ),
        [0],
    )


def _exp5(data_dir, quick):
    bits = (1, 2, 3, 4) if quick else (1, 2, 3, 4, 5, 6, 8)
    omegas = (1.0, 2.0) if quick else (0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
    lam = 0.0
    rows = {
        k: []
        for k in (
            "bits",
            "omega",
            "eta_c",
            "eta_c_unquantized",
            "eg_gibbs",
            "eg_isotropic",
            "eg_unquantized",
        )
    }
    ref = STEProblem(eta=0.04, ridge=lam)
    eg_ref = fixed_points(ref)[0].eg
    for b in bits:
        for om in omegas:
            pin = STEProblem(input_quantizer=Quantizer.uniform(b, om), eta=0.04, ridge=lam)
            pw = STEProblem(weight_quantizer=Quantizer.uniform(b, om), eta=0.04, ridge=lam)
            gib = fixed_points(pw, n_teacher=1001 if quick else 4001)
            iso = [f for f in fixed_points(pw, kind="isotropic") if f.stable]
            rows["bits"].append(b)
            rows["omega"].append(om)
            rows["eta_c"].append(max_stable_lr(pin))
            rows["eta_c_unquantized"].append(2 * (1 + lam))
            rows["eg_gibbs"].append(gib[0].eg if gib else math.inf)
            rows["eg_isotropic"].append(iso[0].eg if iso else math.inf)
            rows["eg_unquantized"].append(eg_ref)
    _save(
        data_dir,
        "exp5_stability",
        rows,
        dict(bits=bits, omegas=omegas, ridge=lam, eta_for_errors=0.04, rho=1.0, noise=0.0),
    )


def _exp6(data_dir, quick):
    d, t_max, seeds = (300, 4.0, range(3)) if quick else (2000, 8.0, range(8))
    p = STEProblem(
        weight_quantizer=Elementwise(fn=np.tanh, name="tanh"),
        input_quantizer=Elementwise(fn=np.tanh, name="tanh"),
        eta=0.5,
        ridge=0.2,
    )
    sim = simulate(p, d, t_max, seeds=seeds, n_points=9)
    g = pde(p, t_max, method="grid", n_points=9, n_cells=1000 if quick else 3000)
    tr = ode(p, t_max, n_points=9)
    _save(
        data_dir,
        "exp6_nonlinear",
        dict(tau=sim.tau, ste=sim.eg_mean, se=sim.eg_sem, pde=g.eg, ode=tr.eg),
        dict(transform="tanh (weights and inputs)", eta=0.5, ridge=0.2, d=d, t_max=t_max),
        list(seeds),
    )


def compute(data_dir: Path, quick: bool) -> None:
    """Run all six experiments and write tidy CSV tables (+ metadata) to ``data_dir``."""
    for fn in (_exp1, _exp2, _exp3, _exp4, _exp5, _exp6):
        fn(data_dir, quick)


def plot(data_dir: Path, fig_dir: Path) -> list[Path]:
    """Figures from the tables written by :func:`compute`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data_dir, fig_dir = Path(data_dir), Path(fig_dir)
    out = []

    def save(fig, name):
        out.append(save_figure(fig, fig_dir / f"{name}.png"))

    from matplotlib.lines import Line2D

    c, meta1 = load_csv(data_dir / "exp1_ode_vs_ste.csv")
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for i, b in enumerate(np.unique(c["bits"])):
        col = f"C{i}"
        for src, ls in (("ode", "--"), ("pde", "-")):
            sel = (c["bits"] == b) & (c["source"] == src)
            ax.plot(c["tau"][sel], c["eg"][sel], ls, color=col,
                    label=f"b = {int(b)}" if src == "pde" else None)  # fmt: skip
        sel = (c["bits"] == b) & (c["source"] == "ste")
        ax.errorbar(c["tau"][sel], c["eg"][sel], c["se"][sel], fmt="o", ms=3, color=col)
    ax.set(xlabel="τ", ylabel="ε_g", yscale="log",
           title="weight quantization: PDE, ODE closure and finite-d STE")  # fmt: skip
    colours = ax.legend(fontsize=7, loc="upper right", title="weight bits", title_fontsize=7)
    ax.add_artist(colours)
    d1 = meta1.get("params", {}).get("d", "")
    ax.legend(handles=[Line2D([], [], color="k", ls="-", label="PDE (exact law)"),
                       Line2D([], [], color="k", ls="--", label="ODE (isotropic closure)"),
                       Line2D([], [], color="k", marker="o", ls="", ms=3,
                              label=f"STE simulation, d = {d1}")],
              fontsize=7, loc="lower left")  # fmt: skip
    save(fig, "exp1_ode_vs_ste")

    c, _ = load_csv(data_dir / "exp2_curves.csv")
    pl, _ = load_csv(data_dir / "exp2_plateau.csv")
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.6))
    for i, om in enumerate(np.unique(c["omega"])):
        sel = (c["omega"] == om) & (c["source"] == "pde")
        a1.plot(c["tau"][sel], c["eg"][sel], color=f"C{i}", label=f"ω={om:g}")
        sel = (c["omega"] == om) & (c["source"] == "ode")
        a1.plot(c["tau"][sel], c["eg"][sel], "--", color=f"C{i}")
    a1.set(xlabel="τ", ylabel="ε_g", title="b = 3 mid-tread: PDE (—), ODE (--)")
    a1.legend(fontsize=7)
    for src, mk in (("pde", "o-"), ("ode", "s--")):
        sel = pl["source"] == src
        a2.plot(pl["omega"][sel], pl["length"][sel], mk, label=src)
    a2.set(xlabel="ω", ylabel="plateau length (τ)", title="plateau length vs range")
    a2.legend()
    save(fig, "exp2_plateau")

    c, _ = load_csv(data_dir / "exp3_input_weight.csv")
    fig, ax = plt.subplots(figsize=(5.5, 4))
    keys = sorted({(int(a), int(b)) for a, b in zip(c["bx"], c["bw"])})
    # colour = input bits, line style = weight bits (0 = unquantized, drawn as ∞)
    bxs = sorted({k[0] for k in keys}, key=lambda v: v or 99)
    bws = sorted({k[1] for k in keys}, key=lambda v: v or 99)
    col = {bx: f"C{i}" for i, bx in enumerate(bxs)}
    sty = dict(zip(bws, ("-", "--", "-.", ":")))
    for bx, bw in keys:
        src = "pde" if bw else "ode"
        sel = (c["bx"] == bx) & (c["bw"] == bw) & (c["source"] == src)
        ax.plot(c["tau"][sel], c["eg"][sel], color=col[bx], ls=sty[bw], lw=1.4)
    ax.set(xlabel="τ", ylabel="ε_g", yscale="log",
           title="input × weight quantization (PDE; ODE where weights are continuous)")  # fmt: skip
    ax.title.set_fontsize(9)
    first = ax.legend(handles=[Line2D([], [], color=col[b], label=f"{b or '∞'}") for b in bxs],
                      title="input bits", fontsize=7, title_fontsize=7, loc="upper right")  # fmt: skip
    ax.add_artist(first)
    ax.legend(handles=[Line2D([], [], color="k", ls=sty[b], label=f"{b or '∞'}") for b in bws],
              title="weight bits", fontsize=7, title_fontsize=7, loc="lower left")  # fmt: skip
    save(fig, "exp3_input_weight")

    c, meta4 = load_csv(data_dir / "exp4_density.csv")
    p4 = meta4.get("params", {})
    times = np.unique(c["tau"])
    fig, axes = plt.subplots(1, len(times), figsize=(3 * len(times), 3.3), sharey=True)
    for ax, t in zip(np.atleast_1d(axes), times):
        sel = c["tau"] == t
        ax.bar(c["x"][sel], c["ste"][sel], width=np.diff(c["x"][sel])[0], alpha=0.5,
               label=f"STE, d = {p4.get('d', '')}")  # fmt: skip
        ax.plot(c["x"][sel], c["pde"][sel], "k-", label="PDE")
        ax.set(title=f"τ = {t:g}", xlabel="latent weight ŵ")
    np.atleast_1d(axes)[0].set_ylabel("density of ŵ")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.suptitle(f"{p4.get('bits', 2)}-bit uniform quantizer on [−{p4.get('omega', 2):g}, "
                 f"{p4.get('omega', 2):g}] for inputs and weights, η = {p4.get('eta', '')}, "
                 f"λ = {p4.get('ridge', '')}, teacher w* = 1", fontsize=9)  # fmt: skip
    save(fig, "exp4_density")

    c, _ = load_csv(data_dir / "exp5_stability.csv")
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.6))
    for i, om in enumerate(np.unique(c["omega"])):
        sel = c["omega"] == om
        a1.plot(c["bits"][sel], c["eta_c"][sel], "o-", color=f"C{i}", label=f"ω={om:g}")
        a2.plot(c["bits"][sel], c["eg_gibbs"][sel], "o-", color=f"C{i}", label=f"ω={om:g}")
        a2.plot(c["bits"][sel], c["eg_isotropic"][sel], "x:", color=f"C{i}")
    a1.axhline(c["eta_c_unquantized"][0], color="k", ls="--", label="unquantized 2(1+λ)")
    a1.set(xlabel="input bits b", ylabel="η_c", title="max stable learning rate")
    a1.legend(fontsize=7, loc="center right")
    # the unquantized stationary error is 0 here (noise-free teacher, λ = 0): stated in the
    # title, not drawn (a line at 0 would stretch the log axis down to 1e-16)
    eg_all = np.concatenate([c["eg_gibbs"], c["eg_isotropic"]])
    eg_pos = eg_all[np.isfinite(eg_all) & (eg_all > 0)]
    a2.set(xlabel="weight bits b", ylabel="stationary ε_g", yscale="log",
           ylim=(0.5 * eg_pos.min(), 2.0 * eg_pos.max()),
           title=f"stationary error (unquantized: ε_g = {c['eg_unquantized'][0]:g})")  # fmt: skip
    a2.title.set_fontsize(9)
    a2.legend(handles=[Line2D([], [], color="k", marker="o", ls="-",
                              label="Gibbs law of the PDE (exact)"),
                       Line2D([], [], color="k", marker="x", ls=":",
                              label="isotropic closure (stable root;\nnone for small ω)")],
              fontsize=7, loc="lower left")  # fmt: skip
    save(fig, "exp5_stability")

    c, _ = load_csv(data_dir / "exp6_nonlinear.csv")
    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    ax.plot(c["tau"], c["pde"], "-", label="PDE")
    ax.plot(c["tau"], c["ode"], "--", label="ODE closure")
    ax.errorbar(c["tau"], c["ste"], c["se"], fmt="o", ms=3, label="STE")
    ax.set(xlabel="τ", ylabel="ε_g", title="tanh weights and inputs")
    ax.legend()
    save(fig, "exp6_nonlinear")
    return out


__all__ = ["TITLE", "compute", "plot"]
