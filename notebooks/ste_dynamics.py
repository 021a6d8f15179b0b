# %% [markdown]
# # STE learning dynamics of a quantized linear model
#
# Online training of `ŷ = ψ_w(ŵ)·ψ_x(x)/√d` with the straight-through estimator
# (Ichikawa, Kashiwamura & Sakata 2025). As `d → ∞` each latent weight follows a
# McKean–Vlasov SDE; its order parameters `(m, Q)` obey closed ODEs without weight
# quantization, and an isotropic Gaussian closure with it. This notebook compares the
# three levels of description — ODE, PDE and finite-d STE — and the stability bound.

# %%
import os

import matplotlib.pyplot as plt

from replica import Quantizer
from replica.dynamics import (
    STEProblem,
    fixed_points,
    max_stable_lr,
    ode,
    pde,
    plateau,
    simulate,
)

QUICK = os.environ.get("REPLICA_NOTEBOOK_QUICK") == "1"
D, SEEDS, T = (200, range(3), 4.0) if QUICK else (2000, range(8), 10.0)

# %% [markdown]
# ## Input-only quantization: exact ODE and the critical learning rate
# The Jacobian at the fixed point has eigenvalues `−η(γ_x+λ)` and `−2η(γ_x+λ)+η²γ_x²`,
# so training is stable iff `η < η_c = 2(γ_x+λ)/γ_x²`; sympy derives the same bound.

# %%
for b in (1, 2, 3, 4):
    p = STEProblem(input_quantizer=Quantizer.uniform(b, 2.0), eta=0.1)
    print(f"b_x={b}: kappa_x={p.kappa_x:.4f} gamma_x={p.gamma_x:.4f} eta_c={max_stable_lr(p):.3f}")

from replica.symbolic import ste as sym

print("symbolic eta_c =", sym.critical_learning_rate())

# %% [markdown]
# ## Weight quantization: closure vs PDE vs finite-d STE

# %%
p = STEProblem(weight_quantizer=Quantizer.uniform(2, 1.0), eta=0.5, ridge=0.5)
tr = ode(p, T, n_points=41)
grid = pde(p, T, method="grid", n_points=21, n_cells=1000 if QUICK else 4000)
sim = simulate(p, D, T, seeds=SEEDS, n_points=6)
for t, c, s in zip(sim.tau, sim.eg_mean, sim.eg_sem):
    print(f"tau={t:5.1f}  STE={c:.4f} ± {s:.4f}")

fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(tr.tau, tr.eg, "-", label="ODE (isotropic closure)")
ax.plot(grid.tau, grid.eg, "--", label="PDE (exact law)")
ax.errorbar(sim.tau, sim.eg_mean, yerr=sim.eg_sem, fmt="o", ms=4,
            label=f"finite-d STE, d = {D}, {len(SEEDS)} seeds")  # fmt: skip
ax.set_xlabel("time τ")
ax.set_ylabel("generalisation error ε_g")
ax.set_title("2-bit weights, η = 0.5, λ = 0.5", fontsize=9)
ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# ## Fixed points: Gibbs law of the PDE vs the closure's roots
# The stationary law is `∝ exp(−U/T)` with `U = γ_xΨ(ŵ) − κ_x w* ŵ + λŵ²/2`, `Ψ' = ψ_w`,
# `T = ηγ_x e*/2` and `e*` self-consistent. The closure typically has a saddle and a node.

# %%
for fp in fixed_points(p) + fixed_points(p, kind="isotropic"):
    print(fp.kind, fp.classification, f"eg={fp.eg:.4f}")

# %% [markdown]
# ## Plateau detection on a theory curve

# %%
p3 = STEProblem(weight_quantizer=Quantizer.uniform(3, 1.0), eta=0.04, ridge=1.0)
curve = ode(p3, 60.0 if QUICK else 200.0, n_points=301)
pl = plateau(curve)
print(pl)

fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(curve.tau, curve.eg, "k-", label="ODE, 3-bit weights, η = 0.04, λ = 1")
if pl.found:  # the detected plateau
    ax.axvspan(pl.start, pl.end, color="C1", alpha=0.2, label=f"plateau, length {pl.length:.3g}")
ax.set_xlabel("time τ")
ax.set_ylabel("ε_g")
ax.set_yscale("log")
ax.legend(fontsize=8)
fig.tight_layout()
