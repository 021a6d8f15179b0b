# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Precision scaling laws in sketched linear regression
#
# Lin et al. (2024) train a sketched linear model $f_v(x) = \langle v, Sx\rangle$,
# $S \in \mathbb{R}^{M\times d}$ with $N(0, 1/M)$ entries, by one-pass SGD with geometric step
# decay on $N$ samples of $x \sim N(0, H)$, $\lambda_i = i^{-a}$. Their law:
# $\mathbb{E}R - \sigma^2 = \Theta(M^{-(a-1)}) + \Theta((N_{\rm eff}\gamma)^{-(a-1)/a})$ with
# $N_{\rm eff} = N/\ln N$. Zhang et al. (2026) insert unbiased quantizers (additive,
# integer-like; multiplicative, float-like) and claim: both add an irreducible error and shrink the
# effective data size; multiplicative keeps the effective model size $M$; additive shrinks it.
#
# `replica.sgd.sketched` computes the **exact** expected risk: diagonalise
# $SHS^\top = U\,\mathrm{diag}(\mu)U^\top$, and the sketched problem is an $M$-dimensional
# Gaussian regression with spectrum $\mu$, target $U^\top v^*$ and noise
# $\sigma^2 + \mathrm{Approx}$, handed to the exact SGD recursion of `replica.sgd.exact_risk`.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from replica import Additive, Multiplicative
from replica.sgd.scaling import fit_power_law
from replica.sgd.sketched import (
    SketchedProblem,
    quantized_floor,
    simulate_sketched,
    sketched_risk,
    sketched_sweep,
)

QUICK = os.environ.get("REPLICA_NOTEBOOK_QUICK") == "1"
d = 300 if QUICK else 2000
a = 2.0

# %% [markdown]
# ## One problem, its decomposition, and a Monte-Carlo check
# `sketched_risk` returns `approximation`, `bias`, `variance`, `quantization` and `total`
# (averaged over sketches). `simulate_sketched` runs SGD in the original $d$-dimensional space
# with the quantizers acting on $Sx$; it agrees within its standard error.

# %%
small = SketchedProblem(
    exponent=a,
    dim=40,
    model_size=6,
    samples=100,
    step=0.12,
    noise=0.5,
    quantization={"data": Additive(eps=0.05)},
)
r = sketched_risk(small)
mc = simulate_sketched(small, repeats=1000 if QUICK else 5000, seed=1)
print(r)
print(f"exact excess {r.excess:.4f}  Monte Carlo {mc.mean:.4f} ± {mc.stderr:.4f}")

# %% [markdown]
# ## Risk vs model size at $N = \infty$
# At $N=\infty$ the risk is the approximation error plus the floor of data quantization
# (`quantized_floor`). Additive noise floors the sketched spectrum at $\varepsilon$, so
# directions with $\mu_i \lesssim \varepsilon$ are lost: the curve saturates near
# $M \approx \varepsilon^{-1/a}$. Multiplicative noise loses the same fraction of every direction:
# a constant offset, the $M$-dependence is untouched.

# %%
Ms = [8, 16, 32, 64] if QUICK else [8, 16, 32, 64, 128, 256, 512]
fig, ax = plt.subplots(figsize=(5, 3.5))
for eps, color in ((1e-3, "C1"), (1e-2, "C2")):
    for model, ls in ((Additive(eps=eps), "-"), (Multiplicative(eps=eps), "--")):
        curve = []
        for M in Ms:
            spec = SketchedProblem(exponent=a, dim=d, model_size=M, samples=10).sketch_spectrum(0)
            curve.append(spec.approximation + quantized_floor(spec, model))
        ax.loglog(Ms, curve, ls, color=color, label=f"{type(model).__name__} ε={eps:g}")
approx = [
    SketchedProblem(exponent=a, dim=d, model_size=M, samples=10).sketch_spectrum(0).approximation
    for M in Ms
]
ax.loglog(Ms, approx, "k-", label="full precision")
ax.set_xlabel("M")
ax.set_ylabel("R − σ² at N = ∞")
ax.legend(fontsize=7)
print("full-precision exponent in M:", fit_power_law(Ms, approx).exponent, "theory", 1 - a)

# %% [markdown]
# ## Risk vs data size at fixed $M$
# `sketched_sweep` reuses the diagonalisation across $N$. The fitted exponent in
# $N_{\rm eff}$ approaches $-(a-1)/a$ once $M \gg (N_{\rm eff}\gamma)^{1/a}$.

# %%
Ns = [250, 500, 1000, 2000] if QUICK else [1000, 2000, 4000, 8000, 16000]
M = 100 if QUICK else 500
base = SketchedProblem(exponent=a, dim=d, model_size=M, samples=Ns[0], step=0.13)
sw = sketched_sweep(base, samples=Ns)
neff = np.array([N / np.log(N) for N in Ns])
fit = fit_power_law(neff, sw["excess"][0])
print(f"exponent in N_eff: {fit.exponent:.3f} ± {fit.exponent_se:.3f}  (theory {(1 - a) / a:.3f})")
sw_add = sketched_sweep(
    SketchedProblem(
        exponent=a,
        dim=d,
        model_size=M,
        samples=Ns[0],
        step=0.1,
        quantization={"data": Additive(eps=1e-2), "params": Additive(eps=1e-2)},
    ),
    samples=Ns,
)
plt.figure(figsize=(5, 3.5))
plt.loglog(neff, sw["excess"][0], "o-", label="full precision")
plt.loglog(neff, sw_add["excess"][0], "s-", label="additive ε=1e-2 (data, params)")
plt.xlabel("N_eff")
plt.ylabel("R − σ²")
plt.legend(fontsize=8)

# %% [markdown]
# The figures of `paper_repro/zhang2026.py` (``replica repro zhang2026``) extend this to all five
# quantization sites, the effective model and data sizes and the compute-optimal split.
