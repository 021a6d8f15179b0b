"""Monte Carlo ensembles against the replica-symmetric theory (slow, sized for 2 cores).

Truth checked: in the RS phase (card point b = 1, ω = 0.5, α = 2, β = 5, σ² = 0.1, AT = 0.24)
the equilibrium averages extrapolated in N agree with :func:`replica.solve_rs`.
Method: 16 instances at each of N = 16, 24, 32, 48 (the instances of ``amp.experiment`` with
base_seed 0); per size the mean over instances with the control variates ‖w⁰‖²/N − ρ and
‖ξ‖²/M − σ²; weighted least-squares fit x(N) = x∞ + c/N. Tolerance: |x∞ − x_RS| ≤ 3 se(x∞),
se from the per-size standard errors over instances (each instance's Monte-Carlo error is part
of the instance-to-instance scatter, autocorrelation included). The larger run (N up to 64,
32 instances, and the RSB and entropy-crisis points) is paper_repro/kashiwamura2024_mc.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from replica import QuantizedRegression, Quantizer, mc


@pytest.mark.slow
def test_rs_phase_extrapolation_agrees_with_solve_rs():
    model = QuantizedRegression(quantizer=Quantizer.uniform(1, 0.5), alpha=2.0, beta=5.0,
                                noise=0.1)  # fmt: skip
    ds = mc.experiment(model, sizes=(16, 24, 32, 48), seeds=16, sweeps=400, replicas=4,
                       batch=16)  # fmt: skip
    assert np.all(ds["n_equilibrated"].values == 16)
    top = -1  # beta = 5
    for k in ("energy", "mse", "mse_sample", "q", "free_entropy", "entropy", "train",
              "train_sample"):  # fmt: skip
        z = float(ds[f"z_{k}"].values[top])
        assert np.isfinite(z) and abs(z) <= 3.0, (k, float(ds[f"{k}_inf"][top]),
                                                  float(ds[f"{k}_inf_se"][top]),
                                                  float(ds[f"rs_{k}"][top]))  # fmt: skip
