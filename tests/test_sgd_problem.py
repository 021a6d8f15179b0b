"""SGDProblem validation, step schedules and the exact recursion's identities and limits."""

from __future__ import annotations

import numpy as np
import pytest

from replica.errors import ConvergenceError
from replica.noise import Additive, FloatRounding, IntRounding, Multiplicative
from replica.sgd import (
    SGDProblem,
    StepSizeWarning,
    exact_risk,
    exact_risk_dense,
    geometric_decay,
    limit_risk,
)

QUANT = [
    {},
    {"data": Additive(eps=0.05)},
    {"data": Multiplicative(eps=0.05)},
    {"data": Multiplicative(eps=0.05, mode="coordinate")},
    {
        "params": Multiplicative(eps=0.1, mode="coordinate"),
        "labels": Multiplicative(eps=0.1),
        "activations": Additive(eps=0.1),
        "gradients": Multiplicative(eps=0.2),
    },
    {
        "data": Multiplicative(eps=0.1, mode="coordinate"),
        "params": Additive(eps=0.01),
        "labels": Additive(eps=0.1),
        "activations": Multiplicative(eps=0.1, mode="coordinate"),
        "gradients": Additive(eps=0.2),
    },
    {"params": Multiplicative(eps=0.1), "data": Additive(eps=0.02)},
]


@pytest.mark.parametrize("quant", QUANT)
@pytest.mark.parametrize("averaging", ["last", "iterate", "tail"])
def test_diagonal_recursion_equals_dense(quant, averaging):
    # Identity: the O(d) diagonal recursion is the diagonal of the full d×d covariance recursion
    # (matrix forms of the moments, independent code path). Agreement to 1e-12 relative
    # (floating-point round-off over 60 steps; the two differ only in operation order).
    w_star = np.random.default_rng(1).standard_normal(6)
    p = SGDProblem.power_law(
        6, 1.0, step=0.05, steps=60, batch=3, w_star=w_star, quantization=quant, averaging=averaging
    )
    for test in ("full", "quantized"):
        a = exact_risk(p, test=test)
        b = exact_risk_dense(p, test=test)
        np.testing.assert_allclose(a.risk, b.risk, rtol=1e-12)
        np.testing.assert_allclose(a.risk, a.bias + a.variance + a.approximation, rtol=1e-12)


def test_one_dimensional_closed_form():
    # d = 1, σ = 0, last iterate: E(1 − w_t)² obeys e' = (1 − 2γλ + 3γ²λ²) e (Gaussian x⁴ = 3λ²).
    g = 0.3
    p = SGDProblem(spectrum=[1.0], w_star=1.0, noise=0.0, step=g, steps=20, averaging="last")
    expect = (1 - 2 * g + 3 * g * g) ** np.arange(1, 21)
    np.testing.assert_allclose(exact_risk(p).risk, expect, rtol=1e-13)  # round-off only


def test_full_precision_lyapunov_limit():
    # Full precision, last iterate, long run: the stationary covariance solves
    # C = (1−γh)²C + γ²(h² C + h tr(HC) + σ² h) (diagonal part, B = 1),
    # so C_i = γ(σ² + s)/(2 − 2γ h_i) with s = tr(HC) ⇒ s = Σ h_i γ(σ² + s)/(2 − 2γh_i).
    # Tolerance 1e-9 relative:
    # the recursion has converged geometrically (rate (1−γh_min)² ≈ 0.97 over 3000 steps).
    h = np.array([1.0, 0.5, 0.25])
    g, s2 = 0.1, 1.0
    p = SGDProblem(spectrum=h, w_star=0.0, noise=s2, step=g, steps=3000, averaging="last")
    a = float(np.sum(h * g / (2 - 2 * g * h)))  # s = a(σ² + s)
    s = a * s2 / (1 - a)
    # excess risk: tr(HC) = s (w* = 0 means no bias beyond the transient)
    assert exact_risk(p).final == pytest.approx(s, rel=1e-9)


def test_schedule_and_constant_step_agree():
    # A constant schedule array is the same problem as the scalar step (exact equality of inputs).
    p1 = SGDProblem.power_law(5, step=0.1, steps=30)
    p2 = SGDProblem.power_law(5, step=np.full(30, 0.1))
    np.testing.assert_array_equal(exact_risk(p1).risk, exact_risk(p2).risk)
    assert geometric_decay(1.0, 5, 2).tolist() == [1.0, 1.0, 0.5, 0.5, 0.25]


def test_real_quantizers_use_their_noise_models():
    # Exact theory of a real rounding quantizer = theory of its effective noise model (by design).
    q_int, q_fp = IntRounding(bits=4), FloatRounding(mantissa_bits=2)
    p1 = SGDProblem.power_law(5, step=0.1, steps=20, quantization={"data": q_int, "labels": q_fp})
    p2 = SGDProblem.power_law(
        5,
        step=0.1,
        steps=20,
        quantization={"data": q_int.noise_model(), "labels": q_fp.noise_model()},
    )
    np.testing.assert_array_equal(exact_risk(p1).risk, exact_risk(p2).risk)


def test_divergence_is_reported():
    with pytest.warns(StepSizeWarning):
        p = SGDProblem.power_law(50, 0.5, step=0.9, steps=400, averaging="last")
    with pytest.raises(ConvergenceError) as err:
        exact_risk(p)
    assert err.value.result.status == "diverged"
    res = exact_risk(p, throw=False)
    assert res.status == "diverged" and np.all(np.isfinite(res.risk))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"spectrum": [1.0, -1.0]}, "spectrum"),
        ({"spectrum": []}, "spectrum"),
        ({"spectrum": [1.0], "w_star": [1.0, 2.0]}, "w_star"),
        ({"spectrum": [1.0], "noise": -1.0}, "noise"),
        ({"spectrum": [1.0], "batch": 0}, "batch"),
        ({"spectrum": [1.0], "step": 0.1}, "steps"),
        ({"spectrum": [1.0], "step": -0.1, "steps": 3}, "step"),
        ({"spectrum": [1.0], "step": [0.1, 0.1], "steps": 3}, "steps"),
        ({"spectrum": [1.0], "step": 2.5, "steps": 3}, "step"),
        ({"spectrum": [1.0], "steps": 3, "averaging": "mean"}, "averaging"),
        ({"spectrum": [1.0], "steps": 3, "tail_start": 1}, "tail_start"),
        ({"spectrum": [1.0], "steps": 3, "averaging": "tail", "tail_start": 3}, "tail_start"),
        (
            {"spectrum": [1.0], "steps": 3, "quantization": {"weights": Additive(eps=0.1)}},
            "quantization",
        ),
        ({"spectrum": [1.0], "steps": 3, "quantization": {"data": 0.1}}, "quantization"),
    ],
)
def test_invalid_inputs_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SGDProblem(**kwargs)


def test_invalid_test_convention():
    with pytest.raises(ValueError, match="test"):
        exact_risk(SGDProblem.power_law(3, step=0.1, steps=3), test="train")


def test_constant_step_with_huge_steps_does_not_allocate():
    # fuzz/extremes: the step check used step_array (N numbers) even for a constant step, so
    # SGDProblem(steps=10¹²) died with a MemoryError; exact_risk now refuses N that cannot fit
    p = SGDProblem(spectrum=[1.0, 0.5], step=0.1, steps=10**12)
    assert p.steps == 10**12
    with pytest.raises(ValueError, match=r"^steps: expected sizes whose arrays fit"):
        exact_risk(p)


@pytest.mark.parametrize(
    "quant, test",
    [
        ({"data": Additive(eps=0.02)}, "full"),
        (
            {"data": Additive(eps=0.02), "labels": Additive(eps=0.1), "params": Additive(eps=0.01)},
            "full",
        ),
        (
            {
                "data": Multiplicative(eps=0.1, mode="coordinate"),
                "activations": Multiplicative(eps=0.1, mode="coordinate"),
            },
            "full",
        ),
        ({"data": Multiplicative(eps=0.1)}, "quantized"),
        ({"data": Additive(eps=0.02), "gradients": Additive(eps=0.2)}, "quantized"),
    ],
)
def test_limit_risk_is_the_long_run_limit_of_the_recursion(quant, test):
    # The averaged iterate's risk is R(N) = F + c₁/N + c₂/N² + O(N⁻³) (+ e^{−Nγλ_min} terms);
    # Richardson on N/4, N/2, N removes c₁ and c₂. At Nγλ_min = 200 the remaining third-order
    # term is ~(1/200)³ relative to the learning terms: a 1e-6 relative tolerance on the floor.
    # Only the data quantizer may survive the limit (the other sites add variance only).
    p = SGDProblem.power_law(4, 2.0, noise=1.0, step=0.1, steps=32_000, quantization=quant)
    r = exact_risk(p, test=test).risk
    N = p.steps
    extrapolated = (8 * r[N - 1] - 6 * r[N // 2 - 1] + r[N // 4 - 1]) / 3
    floor = limit_risk(p, test=test)
    assert extrapolated == pytest.approx(floor, rel=1e-6)
    assert r[N - 1] > floor * 1.001  # the raw curve is still well above it: the test has teeth


def test_limit_risk_refuses_the_last_iterate_and_schedules():
    p = SGDProblem.power_law(4, 2.0, step=0.2, steps=100, averaging="last")
    with pytest.raises(ValueError, match="averaging: expected 'iterate' or 'tail'"):
        limit_risk(p)
    q = SGDProblem.power_law(4, 2.0, step=geometric_decay(0.2, 100, 10))
    with pytest.raises(ValueError, match="step: expected a constant step"):
        limit_risk(q)
