"""The zhang2025 reproduction in quick mode: data written, bound above exact, MC agrees."""

from __future__ import annotations

import numpy as np
import pytest

import paper_repro
from replica.io import load_csv


@pytest.mark.slow
def test_zhang2025_quick(tmp_path):
    figs = paper_repro.run("zhang2025", tmp_path, quick=True)
    assert len(figs) == 5 and all(f.stat().st_size > 0 for f in figs)
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
