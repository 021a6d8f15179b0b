"""Zhang, Tang, Liang & Zou (2026): precision scaling laws in sketched linear regression.

Exact expected risks of quantized one-pass SGD on a Gaussian-sketched linear model
(:mod:`replica.sgd.sketched`), for ``λ_i = i^{−a}``, isotropic prior, ``σ² = 1`` and the geometric
step decay of Lin et al. (2024). Two schemes quantize all five sites with the same ``ε``:
``additive`` (:class:`~replica.noise.Additive`) and ``multiplicative`` (rank-one
:class:`~replica.noise.Multiplicative`, the rotation-invariant float-like model). The initial step
is ``0.225 / E tr H^(q)`` (``0.9/(α_B tr H^(q))`` with ``α_B = 4`` at full precision): the
admissible step shrinks with the quantized Hessian's trace.

Figures:

1. ``risk_vs_m`` — ``R − σ²`` vs ``M`` at ``N = ∞`` (approximation error plus the data-quantization
   floor) and at a large finite ``N``, several ``ε``; ``M = ε^{−1/a}`` marked;
2. ``risk_vs_n`` — ``R − σ²`` vs ``N_eff`` at fixed ``M``;
3. ``exponents`` — fitted exponents at ``ε = 0`` vs Lin et al.'s ``−(a−1)`` and ``−(a−1)/a``;
4. ``effective_sizes`` — ``M_eff`` and ``N_eff^(q)/N_eff`` vs ``ε`` and the compute-optimal ``M*(C)``.

Definitions (see :mod:`replica.sgd.scaling`): ``M_eff`` matches the ``N = ∞`` risk minus the
direction-uniform irreducible error (:func:`~replica.sgd.sketched.irreducible_error`) to the
full-precision approximation error curve; ``N_eff^(q)`` matches the transient
``R − σ² − Approx − floor`` to the full-precision transient at the same ``M``.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np

from replica import Additive, Multiplicative
from replica.io import load_csv, metadata, save_csv
from replica.sgd.problem import StepSizeWarning
from replica.sgd.scaling import compute_optimal, effective_size, fit_power_law
from replica.sgd.sketched import (
    SketchedProblem,
    effective_samples,
    irreducible_error,
    quantized_floor,
    sketched_sweep,
)

TITLE = "Zhang, Tang, Liang & Zou (2026): precision scaling laws in sketched linear regression"

SCHEMES = ("additive", "multiplicative")
SAFETY = 0.225  # γ = SAFETY / E tr H^(q) = 0.9 / (α_B tr H^(q)), α_B = 4 (B = 1, Gaussian)
SEED = 2026


def _config(quick: bool) -> dict:
    if quick:
        return dict(
            a=2.0,
            dim=400,
            m_grid=[4, 8, 16, 32, 64],
            n_big=2000,
            eps=[0.0, 1e-3, 1e-2],
            m_fixed=64,
            n_grid=[250, 500, 1000, 2000],
            sketches=2,
            law_m=dict(dim=600, m_grid=[8, 16, 32, 64], sketches=2),
            law_n=dict(dim=400, model_size=100, n_grid=[500, 1000, 2000, 4000], sketches=1),
        )
    return dict(
        a=2.0,
        dim=4000,
        m_grid=[8, 16, 32, 64, 128, 256, 512],
        n_big=20000,
        eps=[0.0, 1e-4, 1e-3, 1e-2],
        m_fixed=512,
        n_grid=[500, 1000, 2000, 4000, 8000, 16000, 32000],
        sketches=2,
        law_m=dict(dim=8000, m_grid=[16, 32, 64, 128, 256], sketches=4),
        law_n=dict(dim=4000, model_size=1000, n_grid=[4000, 8000, 16000, 32000, 64000], sketches=1),
    )


def quantization(scheme: str, eps: float) -> dict:
    """All five sites quantized with the same ``ε`` (empty at ``ε = 0``)."""
    if eps == 0:
        return {}
    model = Additive(eps=eps) if scheme == "additive" else Multiplicative(eps=eps)
    return dict.fromkeys(("data", "labels", "params", "activations", "gradients"), model)


def problem(a, dim, model_size, samples, scheme="additive", eps=0.0) -> SketchedProblem:
    """The problem of the figures, with the admissible initial step ``SAFETY / E tr H^(q)``."""
    p = SketchedProblem(
        exponent=a,
        dim=dim,
        model_size=model_size,
        samples=samples,
        noise=1.0,
        step=1e-6,
        quantization=quantization(scheme, eps),
        seed=SEED,
    )
    return dataclasses.replace(p, step=p.max_step(SAFETY))


def _infinite_n(p: SketchedProblem, sketches: int):
    """``N = ∞`` risk − σ²: approximation + data-quantization floor, and the irreducible part."""
    model = p.quantization.get("data")
    out = np.zeros((3, sketches))
    for k in range(sketches):
        spec = p.sketch_spectrum(k)
        floor = quantized_floor(spec, model) if model is not None else 0.0
        irr = irreducible_error(spec, model) if model is not None else 0.0
        out[:, k] = spec.approximation, floor, irr
    return out


def _se(x) -> float:
    x = np.asarray(x)
    return float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else 0.0


def compute(data_dir: Path, quick: bool) -> None:
    # The exact recursion is exact for any admissible step; StepSizeWarning concerns the *bounds*
    # of the SGD paper, which this reproduction does not use.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StepSizeWarning)
        _compute(Path(data_dir), quick)


def _compute(data_dir: Path, quick: bool) -> None:
    cfg = _config(quick)
    a, d, K = cfg["a"], cfg["dim"], cfg["sketches"]
    meta = metadata(params=dict(cfg, safety=SAFETY, noise=1.0, schemes=SCHEMES), seed=SEED)

    # 1. risk vs M (N = ∞ and N = n_big)
    rows = {k: [] for k in ("scheme", "eps", "M", "samples", "excess", "excess_se")}
    rows.update(floor=[], irreducible=[], approximation=[])
    for scheme in SCHEMES:
        for eps in cfg["eps"]:
            if eps == 0 and scheme != SCHEMES[0]:
                continue
            name = "full" if eps == 0 else scheme
            for M in cfg["m_grid"]:
                p = problem(a, d, M, cfg["n_big"], scheme, eps)
                inf = _infinite_n(p, K)
                sw = sketched_sweep(p, sketches=K, samples=[cfg["n_big"]])
                for samples, ex in ((np.inf, inf[0] + inf[1]), (cfg["n_big"], sw["excess"][:, 0])):
                    rows["scheme"].append(name)
                    rows["eps"].append(eps)
                    rows["M"].append(M)
                    rows["samples"].append(samples)
                    rows["excess"].append(float(np.mean(ex)))
                    rows["excess_se"].append(_se(ex))
                    rows["approximation"].append(float(inf[0].mean()))
                    rows["floor"].append(float(inf[1].mean()))
                    rows["irreducible"].append(float(inf[2].mean()))
    save_csv(data_dir / "risk_vs_m.csv", rows, meta)

    # 2. risk vs N at fixed M
    rows = {
        k: []
        for k in (
            "scheme",
            "eps",
            "M",
            "N",
            "N_eff",
            "step",
            "excess",
            "approximation",
            "bias",
            "variance",
            "quantization",
            "floor",
        )
    }
    for scheme in SCHEMES:
        for eps in cfg["eps"]:
            if eps == 0 and scheme != SCHEMES[0]:
                continue
            p = problem(a, d, cfg["m_fixed"], cfg["n_grid"][0], scheme, eps)
            sw = sketched_sweep(p, sketches=K, samples=cfg["n_grid"])
            floor = _infinite_n(p, K)[1].mean()
            for j, N in enumerate(cfg["n_grid"]):
                rows["scheme"].append("full" if eps == 0 else scheme)
                rows["eps"].append(eps)
                rows["M"].append(cfg["m_fixed"])
                rows["N"].append(N)
                rows["N_eff"].append(effective_samples(N))
                rows["step"].append(p.step)
                for f in ("excess", "approximation", "bias", "variance", "quantization"):
                    rows[f].append(float(sw[f][:, j].mean()))
                rows["floor"].append(float(floor))
    save_csv(data_dir / "risk_vs_n.csv", rows, meta)

    # 3. exponents at ε = 0 for a ∈ {1.5, 2}
    curves = {k: [] for k in ("a", "law", "x", "y", "y_se")}
    fits = {k: [] for k in ("a", "law", "exponent", "stat_se", "sys_se", "se", "theory", "sigmas")}
    for a_ in (1.5, 2.0):
        lm = cfg["law_m"]
        ys = np.array(
            [_infinite_n(problem(a_, lm["dim"], M, 10), lm["sketches"])[0] for M in lm["m_grid"]]
        ).T  # (K, n): approximation error = R − σ² at N = ∞
        _record(curves, fits, a_, "M", np.array(lm["m_grid"], float), ys, 1.0 - a_)
        ln = cfg["law_n"]
        p = problem(a_, ln["dim"], ln["model_size"], ln["n_grid"][0])
        sw = sketched_sweep(p, sketches=ln["sketches"], samples=ln["n_grid"])
        x = np.array([effective_samples(N) for N in ln["n_grid"]], float)
        _record(curves, fits, a_, "N_eff", x, sw["excess"], (1.0 - a_) / a_)
    save_csv(data_dir / "exponent_curves.csv", curves, meta)
    save_csv(data_dir / "exponents.csv", fits, meta)

    # 4. effective sizes and compute-optimal split
    _effective(data_dir, meta, cfg)


def exponent_fit(x, y, theory):
    """Plain log–log fit with a systematic error: half the difference between the exponents
    fitted on the lower and upper halves of the range (pre-asymptotic drift), combined in
    quadrature with the statistical error (residuals and sketch-to-sketch scatter)."""
    x = np.asarray(x, float)
    y = np.atleast_2d(np.asarray(y, float))
    fit = fit_power_law(x, y if y.shape[0] > 1 else y[0])
    h = (x.size + 2) // 2
    if h >= 3:
        lo = fit_power_law(x[:h], y[:, :h] if y.shape[0] > 1 else y[0, :h]).exponent
        hi = fit_power_law(x[-h:], y[:, -h:] if y.shape[0] > 1 else y[0, -h:]).exponent
        sys_se = abs(lo - hi) / 2
    else:
        sys_se = 0.0
    se = float(np.hypot(fit.exponent_se, sys_se))
    return fit, sys_se, se, abs(fit.exponent - theory) / se if se > 0 else np.inf


def _record(curves, fits, a, law, x, ys, theory):
    fit, sys_se, se, sig = exponent_fit(x, ys, theory)
    for j in range(x.size):
        curves["a"].append(a)
        curves["law"].append(law)
        curves["x"].append(x[j])
        curves["y"].append(float(ys[:, j].mean()))
        curves["y_se"].append(_se(ys[:, j]))
    fits["a"].append(a)
    fits["law"].append(law)
    fits["exponent"].append(fit.exponent)
    fits["stat_se"].append(fit.exponent_se)
    fits["sys_se"].append(sys_se)
    fits["se"].append(se)
    fits["theory"].append(theory)
    fits["sigmas"].append(sig)


def _effective(data_dir, meta, cfg):
    m_cols, _ = load_csv(data_dir / "risk_vs_m.csv")
    n_cols, _ = load_csv(data_dir / "risk_vs_n.csv")
    inf = np.isinf(m_cols["samples"])
    full = inf & (m_cols["scheme"] == "full")
    m_ref, approx_ref = m_cols["M"][full], m_cols["excess"][full]
    nf = n_cols["scheme"] == "full"
    neff_ref = n_cols["N_eff"][nf]
    trans_ref = n_cols["excess"][nf] - n_cols["approximation"][nf]
    rows = {k: [] for k in ("scheme", "eps", "M", "M_eff", "N", "N_eff", "N_eff_q")}
    opt = {k: [] for k in ("scheme", "eps", "C", "M_star", "risk_star")}
    budgets = np.logspace(4, 9, 21)
    n_fit = fit_power_law(neff_ref, trans_ref)
    for scheme in ("full", *SCHEMES):
        for eps in cfg["eps"]:
            if (scheme == "full") != (eps == 0):
                continue
            sel = inf & (m_cols["scheme"] == scheme) & (m_cols["eps"] == eps)
            reducible = m_cols["excess"][sel] - m_cols["irreducible"][sel]
            m_eff = effective_size(reducible, m_ref, approx_ref)
            sn = (n_cols["scheme"] == scheme) & (n_cols["eps"] == eps)
            trans = n_cols["excess"][sn] - n_cols["approximation"][sn] - n_cols["floor"][sn]
            n_eff_q = effective_size(trans, neff_ref, trans_ref)
            for i, M in enumerate(m_cols["M"][sel]):
                j = min(i, trans.size - 1)
                rows["scheme"].append(scheme)
                rows["eps"].append(eps)
                rows["M"].append(M)
                rows["M_eff"].append(float(m_eff[i]))
                rows["N"].append(n_cols["N"][sn][j])
                rows["N_eff"].append(n_cols["N_eff"][sn][j])
                rows["N_eff_q"].append(float(n_eff_q[j]))
            # risk model R − σ² = L_∞(M) + T(N_eff^(q)(N)): the N = ∞ curve in M (log–log
            # interpolation) plus the full-precision transient at the matched effective data size
            ratio = float(np.median(n_eff_q / n_cols["N_eff"][sn]))
            lm, ll = np.log(m_cols["M"][sel]), np.log(m_cols["excess"][sel])

            def risk(M, N, lm=lm, ll=ll, ratio=ratio):
                neff = np.maximum(N / np.log(np.maximum(N, 3.0)), 1.0) * ratio
                return np.exp(np.interp(np.log(M), lm, ll)) + n_fit(neff)

            cand = np.exp(np.linspace(lm[0], lm[-1], 200))
            m_star, r_star = compute_optimal(risk, budgets, cand)
            for c, m, r in zip(budgets, m_star, r_star):
                opt["scheme"].append(scheme)
                opt["eps"].append(eps)
                opt["C"].append(c)
                opt["M_star"].append(m)
                opt["risk_star"].append(r)
    save_csv(data_dir / "effective_sizes.csv", rows, meta)
    save_csv(data_dir / "compute_optimal.csv", opt, meta)


def plot(data_dir: Path, fig_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data_dir, fig_dir = Path(data_dir), Path(fig_dir)
    out = []
    m_cols, meta = load_csv(data_dir / "risk_vs_m.csv")
    a = meta["params"]["a"]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    eps_all = sorted(set(m_cols["eps"]))

    def style(eps):
        return colors[eps_all.index(eps) % len(colors)]

    # 1
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    for ax, scheme in zip(axes, SCHEMES):
        for eps in eps_all:
            name = "full" if eps == 0 else scheme
            for samples, ls in ((np.inf, "-"), (None, "--")):
                sel = (m_cols["scheme"] == name) & (m_cols["eps"] == eps)
                sel &= np.isinf(m_cols["samples"]) if samples else ~np.isinf(m_cols["samples"])
                lab = f"ε={eps:g}" if samples else None
                ax.loglog(
                    m_cols["M"][sel],
                    m_cols["excess"][sel],
                    ls,
                    marker=".",
                    color=style(eps),
                    label=lab,
                )
            if eps > 0:
                ax.axvline(eps ** (-1 / a), color=style(eps), lw=0.7, ls=":")
        ax.set_title(f"{scheme} (solid N=∞, dashed N={int(meta['params']['n_big'])})", fontsize=9)
        ax.set_xlabel("model size M")
    axes[0].set_ylabel("R − σ²")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    out.append(_save(fig, fig_dir / "risk_vs_m.png"))

    # 2
    n_cols, _ = load_csv(data_dir / "risk_vs_n.csv")
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    for ax, scheme in zip(axes, SCHEMES):
        for eps in eps_all:
            sel = (n_cols["scheme"] == ("full" if eps == 0 else scheme)) & (n_cols["eps"] == eps)
            ax.loglog(
                n_cols["N_eff"][sel],
                n_cols["excess"][sel],
                marker=".",
                color=style(eps),
                label=f"ε={eps:g}",
            )
        ax.set_title(f"{scheme}, M={int(n_cols['M'][0])}", fontsize=9)
        ax.set_xlabel("N_eff = N / ln N")
    axes[0].set_ylabel("R − σ²")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    out.append(_save(fig, fig_dir / "risk_vs_n.png"))

    # 3
    cur, _ = load_csv(data_dir / "exponent_curves.csv")
    fits, _ = load_csv(data_dir / "exponents.csv")
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, law in zip(axes, ("M", "N_eff")):
        for i, a_ in enumerate((1.5, 2.0)):
            sel = (cur["law"] == law) & (cur["a"] == a_)
            f = (fits["law"] == law) & (fits["a"] == a_)
            s, se, th = fits["exponent"][f][0], fits["se"][f][0], fits["theory"][f][0]
            x, y = cur["x"][sel], cur["y"][sel]
            ax.loglog(
                x, y, "o", color=colors[i], label=f"a={a_}: {s:.3f}±{se:.3f} (theory {th:.3f})"
            )
            ax.loglog(x, y[0] * (x / x[0]) ** th, "-", color=colors[i], lw=0.8)
        ax.set_xlabel("M (N = ∞)" if law == "M" else "N_eff (large M)")
        ax.set_ylabel("R − σ²")
        ax.legend(fontsize=7)
    fig.suptitle("ε = 0: fitted exponents vs Lin et al. (lines: theory slopes)", fontsize=9)
    fig.tight_layout()
    out.append(_save(fig, fig_dir / "exponents.png"))

    # 4
    eff, _ = load_csv(data_dir / "effective_sizes.csv")
    opt, _ = load_csv(data_dir / "compute_optimal.csv")
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    m_top = eff["M"].max()
    for i, scheme in enumerate(SCHEMES):
        sel = (eff["scheme"] == scheme) & (eff["M"] == m_top)
        axes[0].loglog(eff["eps"][sel], eff["M_eff"][sel], "o-", color=colors[i], label=scheme)
        sel2 = eff["scheme"] == scheme
        e_u = sorted(set(eff["eps"][sel2]))
        r = [
            np.median(
                eff["N_eff_q"][sel2 & (eff["eps"] == e)] / eff["N_eff"][sel2 & (eff["eps"] == e)]
            )
            for e in e_u
        ]
        axes[1].semilogx(e_u, r, "o-", color=colors[i], label=scheme)
    e_line = np.array(sorted(set(eff["eps"][eff["eps"] > 0])))
    axes[0].loglog(e_line, e_line ** (-1 / a), "k:", label="ε^{-1/a}")
    axes[0].axhline(m_top, color="gray", lw=0.7)
    axes[0].set_xlabel("ε")
    axes[0].set_ylabel(f"M_eff at M={int(m_top)} (N = ∞)")
    axes[0].legend(fontsize=7)
    axes[1].axhline(1.0, color="gray", lw=0.7)
    axes[1].set_xlabel("ε")
    axes[1].set_ylabel("median N_eff^(q) / N_eff")
    axes[1].legend(fontsize=7)
    for i, (scheme, eps) in enumerate(
        sorted(set(zip(opt["scheme"], opt["eps"])), key=lambda t: (t[0] != "full", t))
    ):
        sel = (opt["scheme"] == scheme) & (opt["eps"] == eps)
        axes[2].loglog(
            opt["C"][sel],
            opt["M_star"][sel],
            ".-" if scheme != "multiplicative" else "x--",
            color=colors[i % len(colors)],
            label=f"{scheme} ε={eps:g}",
        )
    axes[2].set_xlabel("compute C = M·N")
    axes[2].set_ylabel("compute-optimal M*")
    axes[2].legend(fontsize=6)
    fig.tight_layout()
    out.append(_save(fig, fig_dir / "effective_sizes.png"))
    plt.close("all")
    return out


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    return path
