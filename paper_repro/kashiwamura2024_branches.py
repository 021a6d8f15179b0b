"""Equilibrium vs algorithmic branch of the Bayes-optimal binary model (issue 13).

Binary weights (b = 1, levels ±1), a teacher uniform on the grid, β = 1/σ², no ridge: the
Bayes-optimal setting, where the RS free energy is the replica potential and its global minimum
is the equilibrium. At high signal-to-noise two RS branches coexist on an interval of α:

* the **algorithmic** branch, reached by state evolution (:func:`replica.amp.state_evolution`)
  from the prior, i.e. by AMP: a large mse, until its spinodal ``alpha_alg`` where it ends;
* the **informative** branch (near perfect recovery), from its own spinodal ``alpha_sp`` up.

:func:`replica.solve_rs` returns the one of lowest free energy: the informative branch beyond the
first-order transition ``alpha_it`` where the two free energies cross. Between ``alpha_it`` and
``alpha_alg`` the equilibrium is informative while AMP is stuck on the other branch: the
statistical-to-computational gap (``SEResult.gap``). The three points are located by root
finding (bisection on the existence of each branch to 1e-7 in α; Brent's method on the
free-energy difference), never read off the grid.

The figure: mse of both branches against α at σ² = 0.01, the equilibrium marked, with
the two spinodals and the transition.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy import optimize

from replica.amp import state_evolution
from replica.io import load_csv, metadata, save_csv
from replica.quantizers import Quantizer
from replica.regression import QuantizedRegression, solve_rs
from replica.teachers import DiscreteTeacher

from ._figures import save_figure

TITLE = "Bayes-optimal binary regression: equilibrium vs algorithmic RS branch (issue 13)"
#: seconds of `replica repro --quick kashiwamura2024_branches` (both steps), 2 shared CPU cores
QUICK_SECONDS = 16

NOISES = (0.01,)
ALPHA_RANGE = (0.08, 0.6)
# an mse above this is the uninformative branch (its mse is 0.4-0.95 here, the other's < 2e-3)
_HIGH = 0.1
# bisection tolerance of the spinodals: state evolution's plateau near alpha_alg (5000 iterations)
# resolves the edge to ~1e-6 in α, no further
_XTOL = 1e-6


def model(alpha: float, noise: float) -> QuantizedRegression:
    """The Bayes-optimal binary model at (α, σ²)."""
    q = Quantizer.uniform(1, 1.0)
    return QuantizedRegression(quantizer=q, alpha=float(alpha), beta=1.0 / noise, noise=noise,
                               teacher=DiscreteTeacher.on_grid(q))  # fmt: skip


def algorithmic(alpha: float, noise: float):
    """State evolution's fixed point and its RS solution (free energy): ``(mse, RSSolution)``.

    Near the spinodal state evolution slows down (a plateau of ~(α_alg − α)^{-1/2} iterations):
    5000 iterations, and the RS solution polished by Newton from where it stopped."""
    m = model(alpha, noise)
    se = state_evolution(m, max_iter=5000, throw=False, equilibrium=False)
    sol = solve_rs(m, init=(se.mse, max(se.chi, 1e-300)), throw=False)
    return (sol.mse if sol.converged else se.mse), sol


def informative(alpha: float, noise: float):
    """The branch reached from near the teacher: ``(mse, RSSolution)`` (mse inf if unsolved)."""
    sol = solve_rs(model(alpha, noise), init="informative", throw=False)
    return (sol.mse if sol.converged else math.inf), sol


def transitions(noise: float, lo: float = ALPHA_RANGE[0], hi: float = ALPHA_RANGE[1]) -> dict:
    """The spinodals and the first-order transition on ``[lo, hi]``.

    Returns ``{"alpha_sp": …, "alpha_it": …, "alpha_alg": …}``: the informative branch exists for
    α > alpha_sp, the algorithmic one (state evolution from the prior) for α < alpha_alg, and
    their free energies cross at alpha_it (the equilibrium jumps there). Existence edges by
    bisection to 1e-6 in α, the crossing by Brent's method to 1e-10.
    """

    def alg_high(a):  # +1 while state evolution stays on the uninformative branch
        return 1.0 if algorithmic(a, noise)[0] > _HIGH else -1.0

    def inf_low(a):  # +1 where the informative branch exists
        return 1.0 if informative(a, noise)[0] < _HIGH else -1.0

    alpha_alg = optimize.bisect(alg_high, lo, hi, xtol=_XTOL)
    alpha_sp = optimize.bisect(inf_low, lo, hi, xtol=_XTOL)

    def df(a):
        return algorithmic(a, noise)[1].free_energy - informative(a, noise)[1].free_energy

    # both branches exist strictly inside (alpha_sp, alpha_alg)
    a0, a1 = alpha_sp + 1e-6, alpha_alg - 1e-6
    alpha_it = optimize.brentq(df, a0, a1, xtol=1e-10)
    return {"alpha_sp": alpha_sp, "alpha_it": alpha_it, "alpha_alg": alpha_alg}


def compute(data_dir: Path, quick: bool) -> None:
    """Both branches on a grid of α and the three transition points, per noise level."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    n = 12 if quick else 80
    rows = {k: [] for k in ("noise", "alpha", "branch", "mse", "free_energy", "equilibrium")}
    trows = {k: [] for k in ("noise", "alpha_sp", "alpha_it", "alpha_alg")}
    for noise in NOISES:
        t = transitions(noise)
        for k in trows:
            trows[k].append(noise if k == "noise" else t[k])
        for a in np.linspace(*ALPHA_RANGE, n):
            eq = solve_rs(model(a, noise))
            mse_a, sol_a = algorithmic(a, noise)
            mse_i, sol_i = informative(a, noise)
            for name, mse, sol in (("algorithmic", mse_a, sol_a), ("informative", mse_i, sol_i)):
                if name == "informative" and not mse < _HIGH:
                    continue  # the informative start fell to the other branch: not this one
                if name == "algorithmic" and not mse > _HIGH:
                    continue  # state evolution reached the informative branch
                rows["noise"].append(noise)
                rows["alpha"].append(float(a))
                rows["branch"].append(name)
                rows["mse"].append(mse)
                rows["free_energy"].append(sol.free_energy)
                rows["equilibrium"].append(abs(sol.mse - eq.mse) <= 1e-9 + 1e-6 * eq.mse)
    meta = metadata({"model": "b=1 levels +-1, teacher uniform on the grid, beta=1/noise",
                     "noises": list(NOISES), "quick": quick}, seed=None)  # fmt: skip
    save_csv(data_dir / "branches.csv", rows, meta)
    save_csv(data_dir / "transitions.csv", trows, meta)


def plot(data_dir: Path, fig_dir: Path) -> list[Path]:
    """mse of both branches against α, the equilibrium drawn bold, the transitions marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data_dir, fig_dir = Path(data_dir), Path(fig_dir)
    fig_dir.mkdir(parents=True, exist_ok=True)
    rows, _ = load_csv(data_dir / "branches.csv")
    tr, _ = load_csv(data_dir / "transitions.csv")
    fig, axes = plt.subplots(1, len(tr["noise"]), figsize=(5.6 * len(tr["noise"]), 4.2),
                             squeeze=False)  # fmt: skip
    for ax, noise, a_sp, a_it, a_alg in zip(axes[0], tr["noise"], tr["alpha_sp"],
                                            tr["alpha_it"], tr["alpha_alg"]):  # fmt: skip
        for name, color in (("algorithmic", "C3"), ("informative", "C0")):
            sel = (rows["noise"] == noise) & (rows["branch"] == name)
            x, y = rows["alpha"][sel], np.maximum(rows["mse"][sel], 1e-16)
            eq = rows["equilibrium"][sel].astype(str) == "True"
            ax.plot(x, y, "-", color=color, lw=1, alpha=0.6,
                    label=f"{name} branch" + (" (state evolution / AMP)"
                                              if name == "algorithmic" else ""))  # fmt: skip
            ax.plot(x[eq], y[eq], "o", color=color, ms=3)
        ax.axvline(a_sp, color="C0", ls=":", label=rf"spinodal $\alpha_{{sp}}$ = {a_sp:.4f}")
        ax.axvline(a_it, color="k", ls="--", label=rf"first order $\alpha_{{IT}}$ = {a_it:.4f}")
        ax.axvline(a_alg, color="C3", ls=":", label=rf"spinodal $\alpha_{{alg}}$ = {a_alg:.4f}")
        ax.axvspan(a_it, a_alg, color="0.85", zorder=0)
        ax.set_yscale("log")
        ax.set_ylim(1e-16, 3.0)
        ax.set_xlabel(r"$\alpha = M/N$")
        ax.set_ylabel("weight mse")
        ax.set_title(rf"$\sigma^2 = {noise:g}$, $\beta = 1/\sigma^2$: dots = equilibrium; "
                     "grey = statistical-to-computational gap", fontsize=8)  # fmt: skip
        ax.legend(fontsize=7, loc="lower left")
    return [save_figure(fig, fig_dir / "branches.png")]
