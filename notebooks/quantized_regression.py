# %% [markdown]
# # Weight-quantized regression by the replica method: phases, optimal width, double descent
#
# Kashiwamura, Sakata & Imaizumi (2024) study linear regression whose weights live on a grid of
# `K = 2^b` levels, learned from `M = αN` noisy samples by a Gibbs measure at inverse
# temperature β. The replica-symmetric (RS) theory reduces everything to a scalar channel
# `r = w⁰ + √Δ z` observed at precision `A`; it is valid where the de Almeida–Thouless (AT)
# quantity `(1/α) E[(∂_r f)²]` is below 1. This notebook walks through the phase diagram, the
# optimal width ω*(b), the interpolation threshold α_c and non-uniform grids with
# `replica.regression`, `replica.phase`, `replica.optimize` and `replica.sweep`.

# %%
import math
import os

import matplotlib.pyplot as plt
import numpy as np

from replica import Quantizer
from replica.optimize import optimal_levels, optimal_width
from replica.phase import at_boundary, interpolation_threshold, phase_diagram
from replica.regression import QuantizedRegression, solve_rs

QUICK = os.environ.get("REPLICA_NOTEBOOK_QUICK") == "1"
n_w = 8 if QUICK else 40
bits_list = [1, 2] if QUICK else [1, 2, 3, 4]

# %% [markdown]
# ## One point of the theory
# Uniform grid ±ω with 2^b levels, Gaussian teacher ρ = 1, noise σ² = 0.1, α = 2, β = 5.

# %%
model = QuantizedRegression(quantizer=Quantizer.uniform(2, 1.5), alpha=2.0, beta=5.0, noise=0.1)
sol = solve_rs(model)
print(f"eps_g = {sol.gen_error:.4f}, train = {sol.train_error:.4f}, AT = {sol.at:.3f}, "
      f"status = {sol.status} after {sol.n_iter} map evaluations")  # fmt: skip

# %% [markdown]
# ## RS/RSB boundary
# `at_boundary` locates AT = 1 by Brent's method (to 1e-8 in the varied parameter), here along
# the width: beyond ω_AT(b) the RS solution is unstable (replica symmetry breaking). The onset
# moves to larger ω with more bits, at an almost constant step 2ω/(2^b − 1).

# %%
for b in bits_list:
    w_at = at_boundary(model.replace(quantizer=Quantizer.uniform(b, 1.0)), "width").value
    print(f"b = {b}: RSB for omega > {w_at:.6f}  (step {2 * w_at / (2**b - 1):.3f})")

# %% [markdown]
# ## Optimal width
# ε_g(ω) has an interior minimum ω*(b), located to 1e-6; `rs_stable` says whether the RS
# prediction can be trusted there.

# %%
for b in bits_list:
    opt = optimal_width(model.replace(quantizer=Quantizer.uniform(b, 1.0)))
    print(f"b = {b}: omega* = {opt.width:.6f}, eps_g = {opt.gen_error:.4f}, AT = {opt.at:.3f}, "
          f"curvature = {opt.curvature:.3g}")  # fmt: skip

# %% [markdown]
# ## A phase diagram as a dataset
# `phase_diagram` solves a Cartesian grid (continuation along the width, any executor; give a
# `path` to checkpoint and resume) and returns an `xarray.Dataset` with the phase per point and
# the AT line as a coordinate.

# %%
ds = phase_diagram(model, bits=bits_list, width=np.geomspace(0.2, 8.0, n_w), executor="serial",
                   progress=False)  # fmt: skip
print(ds["phase"].to_pandas())
print("AT line:", ds["at_boundary_width"].values.round(4))

fig, ax = plt.subplots(figsize=(5, 3))
for b in bits_list:
    line = ds.sel(bits=b)
    ax.plot(line["width"], line["gen_error"], "-o", ms=3, label=f"b = {b}")
ax.set_xscale("log")
ax.set_xlabel("width ω")
ax.set_ylabel("ε_g")
for b, w_at in zip(bits_list, ds["at_boundary_width"].values):
    if np.isfinite(w_at):  # RS -> RSB where AT crosses 1
        ax.axvline(w_at, color=f"C{bits_list.index(b)}", ls=":", lw=1)
ax.set_title("RS error vs width (dotted: AT line, RSB beyond)", fontsize=9)
ax.legend()
fig.tight_layout()

# %% [markdown]
# ## The interpolation threshold
# At β = ∞ (ground state, λ = 0) the RS solution exists only for α > α_c, where the jump sum
# `D = Σ_k (q_{k+1} − q_k) p_r(t_k)` reaches α. For continuous weights α_c = 1; every grid moves
# it below 1, and the error stays finite at the threshold.

# %%
for b, w in [(1, 1.0), (2, 1.5), (3, 2.0), (4, 2.5)][: len(bits_list)]:
    r = interpolation_threshold(model.replace(quantizer=Quantizer.uniform(b, w)))
    print(f"b = {b}, omega = {w}: alpha_c = {r.alpha_c:.4f} (N/M = {1 / r.alpha_c:.3f}), "
          f"eps_g at threshold = {r.gen_error:.3f}")  # fmt: skip

ground = model.replace(quantizer=Quantizer.uniform(1, 1.0), beta=math.inf)
for a in (0.3, 0.4, 1.0):
    s = solve_rs(ground.replace(alpha=a), throw=False)
    print(f"beta = inf, alpha = {a}: status {s.status}, AT = {s.at}")

# %% [markdown]
# ## Non-uniform levels
# `optimal_levels` optimises all levels through the theory (here symmetric, starting from the
# best uniform grid): a lower error, and a different AT value at the optimum.

# %%
lv = optimal_levels(model.replace(quantizer=Quantizer.uniform(2, 1.0)))
print("optimised levels:", lv.quantizer.levels.round(4))
print(f"eps_g {lv.gen_error:.5f} (uniform at its optimum {lv.start.gen_error:.5f}); "
      f"AT {lv.at:.3f} (uniform {lv.start.at:.3f})")  # fmt: skip
