"""The zhang2025 reproduction in quick mode: data written, bound above exact, MC agrees."""

from __future__ import annotations

import numpy as np
import pytest

import paper_repro
from paper_repro.zhang2025 import _crossing, risk_floor
from replica.io import load_csv
from replica.noise import FloatRounding, IntRounding
from replica.sgd import SGDProblem, exact_risk


@pytest.mark.slow
def test_zhang2025_quick(tmp_path):
    figs = paper_repro.run("zhang2025", tmp_path, quick=True)
    assert len(figs) == 6 and all(f.stat().st_size > 0 for f in figs)
    data = tmp_path / "data" / "zhang2025"
    for name in ("risk_vs_n", "risk_vs_d"):
        t, meta = load_csv(data / f"{name}.csv")
        assert meta["params"]["step"] == 0.05
        assert np.all(t["bound"] >= t["exact"])  # an inequality, no tolerance
    mc, _ = load_csv(data / "mc_points.csv")
    # 32 correlated comparisons (4 curves × 8 steps): Bonferroni for a 0.3% family-wise false
    # alarm rate gives 4 standard errors per point.
    assert np.all(np.abs(mc["z"]) < 4)
    batch, _ = load_csv(data / "batch.csv")
    add = (batch["sites"] == "noise sites") & (batch["model"] == "additive")
    # additive noise-site errors are averaged by the batch: excess ∝ 1/B (slope −1 within 0.1,
    # the residual coupling through the 1/B-independent bias of the average being small)
    slope = np.polyfit(np.log(batch["B"][add]), np.log(batch["excess"][add]), 1)[0]
    assert abs(slope + 1) < 0.1
    long, _ = load_csv(data / "fp_vs_int_long.csv")
    ok = long["bracketed"] == 1
    assert np.any(ok)
    # the integer m* is the grid point just above the continuous crossing (exact arithmetic)
    assert np.array_equal(long["m_star"][ok], np.ceil(long["m_cont"][ok]))


def test_crossing_interpolates_geometric_excess():
    # FP excess ∝ 2^{−2m} exactly: log-linear interpolation is exact (float rounding only)
    m = np.arange(0, 8)
    m_star, m_c, ok = _crossing(m, 2.0 ** (-2 * m), 2.0 ** (-2 * 3.3))
    assert ok and m_star == 4 and abs(m_c - 3.3) < 1e-12
    assert _crossing(m, 2.0 ** (-2 * m), 1e-9)[2] is False  # crossing beyond the grid


@pytest.mark.parametrize(
    "q", [IntRounding(bits=6, scale=4.0), FloatRounding(mantissa_bits=2)], ids=["INT6", "FP2"]
)
def test_risk_floor_is_the_long_horizon_limit(q):
    """Closed-form N → ∞ floor (bias of w^(q)*) = limit of the exact averaged-iterate risk."""
    d, ratio, step = 4, 50, 0.05  # N γ λ_d = 50
    n = round(ratio * d**2 / step)
    p = SGDProblem.power_law(d, 2.0, noise=1.0, step=step, steps=n, quantization={"data": q})
    r = exact_risk(p).risk
    floor = risk_floor(d, q)[0]
    gap = r[n - 1] / floor - 1
    # at this N the learning term (bias of the mean ∝ 1/(Nγλ), variance ∝ 1/N) still exceeds the
    # floor, so the raw risk alone could not confirm it
    assert gap > 1
    # R(N) = F + c₁/N + c₂/N² + O(N⁻³): the Richardson combination removes the first two orders;
    # the remainder is the learning term times O((Nγλ_d)⁻²)
    rich = (8 * r[n - 1] - 6 * r[n // 2 - 1] + r[n // 4 - 1]) / 3
    assert abs(rich / floor - 1) < gap / ratio**2
