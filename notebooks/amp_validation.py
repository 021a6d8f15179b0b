# %% [markdown]
# # Checking the replica theory against finite-size AMP runs
#
# The replica-symmetric (RS) prediction for weight-quantized regression (Kashiwamura et al. 2024)
# is an N → ∞ statement. Approximate message passing (AMP) is an algorithm you can run at finite N
# whose fixed points are the RS saddle points, and its state evolution (SE) predicts each
# iterate. `replica.amp` uses the *same* grid denoiser as the RS solver
# (`replica.channel.grid_posterior`), so any mismatch comes from finite size or from the
# theory, never from a second implementation. This notebook compares four things:
#
# 1. the SE fixed point with the RS solution;
# 2. one AMP run with SE, iterate by iterate;
# 3. an ensemble over sizes and seeds, extrapolated as mse(N) = mse∞ + c/N, with RS;
# 4. what happens where RS is unstable (AT > 1): damped AMP against the TAP branch.
#
# With `REPLICA_NOTEBOOK_QUICK=1` the sizes are small and the agreement is rougher.

# %%
import os

import matplotlib.pyplot as plt

from replica import Quantizer, amp, solve_tap
from replica.regression import QuantizedRegression, solve_rs
from replica.teachers import DiscreteTeacher

QUICK = os.environ.get("REPLICA_NOTEBOOK_QUICK") == "1"
N = 400 if QUICK else 4000
sizes = (200, 400) if QUICK else (1000, 2000, 4000)
n_seeds = 6 if QUICK else 8
print("backends available:", amp.backend.available())

# %% [markdown]
# ## 1. State evolution converges to the RS saddle point
# Card point: b = 2 bits, width ω = 1.5, α = 2, β = 5, σ² = 0.1 (AT ≈ 0.46, RS is stable).
# SE is the Picard iteration of the RS map. Started from the prior, it must end at the solution
# that `solve_rs` finds by Newton's method.

# %%
model = QuantizedRegression(quantizer=Quantizer.uniform(2, 1.5), alpha=2.0, beta=5.0, noise=0.1)
rs = solve_rs(model)
se = amp.state_evolution(model)
print(f"RS: mse = {rs.mse:.10f}  AT = {rs.at:.4f}  ({rs.n_iter} map evaluations)")
print(f"SE: mse = {se.mse:.10f}  ({se.n_iter} iterations, status {se.status})")
print(f"|SE - RS| = {abs(se.mse - rs.mse):.2e}")

# %% [markdown]
# ## 2. One AMP run against SE, iterate by iterate
# One instance with N weights and M = αN samples, undamped AMP started from ŵ = 0. The spread of
# a single instance around SE is O(1/√N).

# %%
inst = amp.generate(model, N, seed=1)
res = amp.run(inst.X, inst.y, model.quantizer, model.beta, teacher=inst.w0, max_iter=300)
T = min(len(res.trajectory.mse), len(se.trajectory.mse), 25)
print(f"AMP: status {res.status} after {res.n_iter} iterations, final mse {res.mse:.4f}")
for t in (1, 2, 5, 10, T - 1):
    print(f"t = {t:2d}: AMP {res.trajectory.mse[t]:.4f}   SE {se.trajectory.mse[t]:.4f}")

fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(range(T), se.trajectory.mse[:T], "k-", label="state evolution")
ax.plot(range(T), res.trajectory.mse[:T], "o", ms=3, label=f"AMP, N = {N}")
ax.axhline(rs.mse, color="C3", ls=":", label="RS fixed point")
ax.set_xlabel("iteration t")
ax.set_ylabel("mse")
ax.legend()
fig.tight_layout()

# %% [markdown]
# ## 3. Ensemble over sizes, extrapolated to N = ∞
# `experiment` runs independent instances (seeded per (N, seed), checkpointable), estimates the
# per-size means with control variates (the empirical ‖w⁰‖²/N and noise power, which have known
# means) and fits mse(N) = mse∞ + c/N. `z_rs` is the distance to the RS prediction in standard
# errors of the extrapolation.

# %%
ds = amp.experiment(model, sizes=sizes, seeds=n_seeds, max_iter=200)
print(ds[["mse_cv", "mse_cv_sem", "n_converged"]].to_dataframe())
print(f"fit: {ds.attrs['fit_status']}; mse_inf = {float(ds.mse_inf):.4f} ± "
      f"{float(ds.mse_inf_se):.4f}   RS = {float(ds.rs_mse):.4f}   z = {float(ds.z_rs):+.2f}")  # fmt: skip

# %% [markdown]
# ## 4. Where RS is unstable: the TAP branch
# At ω = 3 (AT ≈ 1.67 > 1) the RS saddle point is not the right description. Undamped AMP
# follows its SE towards the RS fixed point and then does not settle: `patience` stops it and
# reports `stalled`. Damped AMP (`damping="auto"` tries 0, 0.5, 0.7, … and reports the damping
# it used) converges, to a fixed point below RS (and below the 1RSB Gibbs mean).
# `replica.solve_tap` predicts that point: the RS statistics of the minimum of AMP's TAP
# landscape at AMP's precision A, seen through a second precision B (see `replica.tap`). It is a
# **conjecture** with no fitted parameter; the committed ensemble in
# `figures/kashiwamura2024_amp/tap_validation.png` (6 RSB points, N up to 4000) agrees with it
# within its standard errors. Here: one instance, and its conditional prediction at its own A.

# %%
unstable = model.replace(quantizer=Quantizer.uniform(2, 3.0))
rs_u = solve_rs(unstable)
tap_u = solve_tap(unstable)
inst_u = amp.generate(unstable, N, seed=2)
plain = amp.run(inst_u.X, inst_u.y, unstable.quantizer, unstable.beta, teacher=inst_u.w0,
                max_iter=400, patience=50, throw=False)  # fmt: skip
damped = amp.run(inst_u.X, inst_u.y, unstable.quantizer, unstable.beta, teacher=inst_u.w0,
                 damping="auto", max_iter=12000, throw=False)  # fmt: skip
print(f"RS: mse {rs_u.mse:.4f}, AT {rs_u.at:.3f}")
print(f"TAP branch: mse {tap_u.mse:.4f}, A {tap_u.A:.3f}, B {tap_u.B:.3f}, "
      f"replicon {tap_u.replicon:.3f} ({tap_u.branch})")  # fmt: skip
print(f"undamped AMP: {plain.status} after {plain.n_iter} iterations")
print(f"damped AMP (auto, used {damped.damping}): {damped.status}, mse {damped.mse:.4f}, "
      f"A {float(damped.A):.3f}")  # fmt: skip
if damped.converged:
    cond = solve_tap(unstable, A=float(damped.A))
    print(f"TAP prediction at this instance's own A: mse {cond.mse:.4f} "
          f"(AMP - prediction {damped.mse - cond.mse:+.4f})")  # fmt: skip

# %% [markdown]
# ## 5. Where AMP is not the equilibrium: the statistical-to-computational gap
# In the Bayes-optimal binary model (levels ±1, teacher uniform on them, β = 1/σ²) at high
# signal-to-noise, state evolution (hence AMP) from the prior stays on an uninformative RS
# branch while `solve_rs` returns the branch of lowest free energy, near perfect recovery.
# `state_evolution` says so (`gap`). The spinodals and the first-order transition are located
# by root finding in `paper_repro/kashiwamura2024_branches.py` (figure
# `figures/kashiwamura2024_branches/branches.png`): at σ² = 0.01 the informative branch exists
# for α > 0.1241, AMP's branch for α < 0.4949, and the equilibrium jumps at α_IT = 0.3124.

# %%
q1 = Quantizer.uniform(1, 1.0)
bayes = QuantizedRegression(quantizer=q1, alpha=0.4, beta=100.0, noise=0.01,
                            teacher=DiscreteTeacher.on_grid(q1))  # fmt: skip
se_b = amp.state_evolution(bayes)
print(f"alpha = 0.4, sigma^2 = 0.01: state evolution mse {se_b.mse:.4f}, equilibrium mse "
      f"{se_b.equilibrium_mse:.2e}, gap: {se_b.gap}")  # fmt: skip
for br in solve_rs(bayes).branches:
    print(" ", br)

# %% [markdown]
# ## On a GPU
# The same calls take cupy or torch arrays: `amp.generate(model, N, seed, backend="torch:cuda")`
# draws X on the device, and `amp.run` keeps every iterate there. The float32 path is
# `dtype="float32"`. `replica bench amp` compares one iteration with the two bare mat-vecs it
# needs.
