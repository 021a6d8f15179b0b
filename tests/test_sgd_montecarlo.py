"""Exact risk recursion vs Monte-Carlo quantized SGD (statistical tests with fixed seeds).

Each setting compares the exact curve with the Monte-Carlo mean at the final step, within 3
standard errors of the Monte-Carlo mean (SE = std/√repeats over independent runs; about 0.3%
two-sided false-alarm probability per comparison under the CLT). Each quantized setting also
checks *power*: the quantization changes the exact risk by more than 5 SE, so a wrong treatment
of the site would be detected.
"""

from __future__ import annotations

import numpy as np
import pytest

from replica.noise import Additive, FloatRounding, IntRounding, Multiplicative
from replica.sgd import SGDProblem, exact_risk, simulate

# The settings deliberately use steps beyond the bound's condition γ < 1/(α_B tr H^(q)) (the exact
# recursion does not need it); the warning is expected.
pytestmark = pytest.mark.filterwarnings("ignore::replica.sgd.StepSizeWarning")

LAM = np.linspace(1.0, 0.2, 6)
# Flat spectrum with λ ≥ 1 so that Gaussian inputs spread over several INT grid steps (step 0.5):
# the rounding variance then averages to the model's step²/6.
LAM_INT = np.linspace(1.0, 3.0, 6)
REPEATS = 20000

SETTINGS = {
    "data additive, B=2, last": (LAM, {"data": Additive(eps=0.1)}, 2, "last", 0.1),
    "data multiplicative rank-one, iterate": (
        LAM,
        {"data": Multiplicative(eps=0.3)},
        1,
        "iterate",
        0.1,
    ),
    "data multiplicative coordinate, tail": (
        LAM,
        {"data": Multiplicative(eps=0.3, mode="coordinate")},
        1,
        "tail",
        0.1,
    ),
    "labels rank-one + activations additive, B=4": (
        LAM,
        {"labels": Multiplicative(eps=0.3), "activations": Additive(eps=0.1)},
        4,
        "last",
        0.1,
    ),
    "params additive, B=2": (LAM, {"params": Additive(eps=0.05)}, 2, "last", 0.1),
    "params rank-one, B=2": (LAM, {"params": Multiplicative(eps=0.3)}, 2, "last", 0.1),
    "params coordinate, B=2": (
        LAM,
        {"params": Multiplicative(eps=0.3, mode="coordinate")},
        2,
        "last",
        0.1,
    ),
    "gradients rank-one, B=4": (LAM, {"gradients": Multiplicative(eps=0.3)}, 4, "last", 0.1),
    "gradients additive, B=4": (LAM, {"gradients": Additive(eps=0.3)}, 4, "last", 0.1),
    "activations coordinate, B=3": (
        LAM,
        {"activations": Multiplicative(eps=0.3, mode="coordinate")},
        3,
        "last",
        0.1,
    ),
    "all five sites mixed, B=3, iterate": (
        LAM,
        {
            "data": Multiplicative(eps=0.2, mode="coordinate"),
            "params": Multiplicative(eps=0.1),
            "labels": Additive(eps=0.1),
            "activations": Multiplicative(eps=0.2, mode="coordinate"),
            "gradients": Multiplicative(eps=0.2),
        },
        3,
        "iterate",
        0.1,
    ),
    # Real stochastic rounding, matched through its effective eps (noise_model()).
    "real INT rounding (data, labels, gradients), B=2": (
        LAM_INT,
        {s: IntRounding(bits=3, scale=2.0) for s in ("data", "labels", "gradients")},
        2,
        "last",
        0.03,
    ),
    "real FP rounding m=2 (data, labels, activations, gradients), B=2": (
        LAM,
        {s: FloatRounding(mantissa_bits=2) for s in ("data", "labels", "activations", "gradients")},
        2,
        "last",
        0.1,
    ),
    "real FP rounding m=1 (params), B=2": (
        LAM,
        {"params": FloatRounding(mantissa_bits=1)},
        2,
        "last",
        0.1,
    ),
}


def _problem(lam, quant, batch, averaging, step):
    return SGDProblem(
        spectrum=lam,
        w_star=1.0,
        noise=0.5,
        step=step,
        steps=60,
        batch=batch,
        quantization=quant,
        averaging=averaging,
    )


#: relative error of the noise model itself, where it is not exact. FloatRounding of the
#: parameters: they stay near w* = 1 (one binade), where the rounding variance is set by the
#: position on the grid, not by the model's eps (module docstring of replica.sgd.simulate).
#: Measured: MC − exact = −0.55 % ± 0.15 % (12 seeds, 20000 runs each, two random-stream
#: layouts, issue 14); allowed 1 %.
MODEL_ERROR = {"real FP rounding m=1 (params), B=2": 0.01}


@pytest.mark.parametrize("name", list(SETTINGS))
def test_exact_matches_monte_carlo(name):
    lam, quant, batch, averaging, step = SETTINGS[name]
    p = _problem(lam, quant, batch, averaging, step)
    test = "quantized" if "params" in name else "full"  # both conventions are exercised
    exact = exact_risk(p, test=test)
    mc = simulate(p, repeats=REPEATS, seed=7, record=[p.steps], test=test)
    diff = mc.mean[-1] - exact.final
    assert abs(diff) < 3 * mc.se[-1] + MODEL_ERROR.get(name, 0.0) * exact.final, (
        f"{name}: MC {mc.mean[-1]:.5g} ± {mc.se[-1]:.2g}, exact {exact.final:.5g}"
    )
    full = exact_risk(_problem(lam, {}, batch, averaging, step), test=test)
    assert abs(exact.final - full.final) > 5 * mc.se[-1], f"{name}: no power"


@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("averaging", ["iterate", "last"])
def test_full_precision_matches_monte_carlo(batch, averaging):
    # ε = 0 (no quantizer, and quantizers with eps = 0) reproduces full-precision SGD; checked at
    # three steps, each within 3 SE (SE as above).
    p = _problem(LAM, {}, batch, averaging, 0.1)
    zero = _problem(
        LAM, {s: Additive(eps=0.0) for s in ("data", "labels", "params")}, batch, averaging, 0.1
    )
    np.testing.assert_array_equal(exact_risk(p).risk, exact_risk(zero).risk)
    mc = simulate(p, repeats=REPEATS, seed=11, record=[10, 30, 60])
    exact = exact_risk(p).risk[mc.steps - 1]
    assert np.all(np.abs(mc.mean - exact) < 3 * mc.se)


def test_step_schedule_matches_monte_carlo():
    # Geometric step decay (per-step schedule) with quantization, last iterate; within 3 SE.
    from replica.sgd import geometric_decay

    p = SGDProblem(
        spectrum=LAM,
        noise=0.5,
        step=geometric_decay(0.2, 60, 20),
        averaging="last",
        quantization={"data": Additive(eps=0.1), "gradients": Multiplicative(eps=0.3)},
    )
    mc = simulate(p, repeats=REPEATS, seed=3, record=[60])
    assert abs(mc.mean[-1] - exact_risk(p).final) < 3 * mc.se[-1]


def test_simulate_is_reproducible_and_chunking_invariant():
    # Same seed ⇒ identical numbers; chunking changes the stream, so only the statistics agree.
    p = _problem(LAM, {"data": Additive(eps=0.1)}, 1, "last", 0.1)
    a = simulate(p, repeats=50, seed=5, record=[60])
    b = simulate(p, repeats=50, seed=5, record=[60])
    assert a.mean[-1] == b.mean[-1] and a.se[-1] == b.se[-1]


def test_simulate_rejects_bad_input():
    p = _problem(LAM, {}, 1, "last", 0.1)
    with pytest.raises(ValueError, match="repeats"):
        simulate(p, repeats=1, seed=0)
    with pytest.raises(ValueError, match="record"):
        simulate(p, repeats=4, seed=0, record=[0])
    with pytest.raises(ValueError, match="quantizer"):
        simulate(p, repeats=4, seed=0, quantizer="real")


def test_simulate_too_large_for_memory_raises_clear_valueerror():
    # d = 10⁵ with batch 10⁵ is 10¹⁰ numbers per run (80 GB per batch matrix): refused up front
    # with a ValueError naming the sizes, instead of a MemoryError or the OS killing the process
    p = SGDProblem(spectrum=np.full(100_000, 1e-6), batch=100_000, step=0.1, steps=2)
    with pytest.raises(
        ValueError, match=r"^repeats, chunk, record, steps: expected sizes whose arrays"
    ):
        simulate(p, repeats=4, seed=0)
