"""Phase diagram of quantized regression: the AT line (root finding vs a fine grid) and the
interpolation threshold (card reference values, consistency with the RS solver, α_c < 1)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from replica import Quantizer
from replica.phase import (
    RS_UNSOLVED,
    at_boundary,
    entropy_boundary,
    interpolation_threshold,
    phase_diagram,
    with_parameter,
    with_width,
)
from replica.regression import NO_RS_SOLUTION, QuantizedRegression, solve_rs
from replica.sweep import make_quantizer
from replica.teachers import DiscreteTeacher


def model(bits=2, width=1.0, **kw):
    kw = {"alpha": 2.0, "beta": 5.0, "noise": 0.1, **kw}
    return QuantizedRegression(quantizer=Quantizer.uniform(bits, width), **kw)


# ----------------------------------------------------------------------------- interpolation
# Card reference (uniform endpoints grid, ρ = 1, σ² = 0.1), printed to 3 decimals: compare to
# 5e-4 (the rounding of the reference).
@pytest.mark.parametrize(
    "bits, width, alpha_c", [(1, 1.0, 0.367), (2, 1.5, 0.622), (3, 2.0, 0.783), (4, 2.5, 0.868)]
)
def test_interpolation_threshold_card_values(bits, width, alpha_c):
    r = interpolation_threshold(model(bits, width, beta=math.inf))
    assert r.converged
    assert r.alpha_c == pytest.approx(alpha_c, abs=5e-4)
    assert r.other_roots == ()  # one root of g: the only branch that reaches χ = ∞
    # just above α_c the β = ∞ error is finite (no divergence): the card quotes 1.2–1.4 for
    # these grids; the exact limits are 1.365, 1.230, 1.292, 1.533 (checked loosely: < 2)
    assert 1.0 < r.gen_error < 2.0


@pytest.mark.parametrize("bits, width", [(1, 1.0), (2, 1.5), (3, 2.0)])
def test_interpolation_threshold_matches_solver_status(bits, width):
    # α_c is computed from the Δ-parametrised curve, independently of solve_rs: the RS solver
    # must find a solution 1e-6 above it and report no RS solution 1e-6 below it (the
    # threshold itself is accurate to ~1e-14, far inside that margin).
    m = model(bits, width, beta=math.inf)
    r = interpolation_threshold(m)
    above = solve_rs(m.replace(alpha=r.alpha_c + 1e-6), throw=False)
    below = solve_rs(m.replace(alpha=r.alpha_c - 1e-6), throw=False)
    assert above.converged and below.status == NO_RS_SOLUTION
    # the limit values agree with the solver's solution just above the threshold (the error
    # moves by O(1e-6) over 1e-6 in α: tolerance 1e-4)
    assert above.gen_error == pytest.approx(r.gen_error, abs=1e-4)
    assert above.D == pytest.approx(r.alpha_c, abs=1e-4)


@pytest.mark.parametrize(
    "family",
    ["uniform", "uniform:midrise", "uniform:zero", "gaussian_quantile", "power:2", "power:0.5",
     "power_of_two"],
)  # fmt: skip
@pytest.mark.parametrize("bits", [2, 3, 5])
def test_alpha_c_below_one_for_every_quantized_grid(family, bits):
    # claim 3 of the card: quantization moves the interpolation threshold below α = 1
    for width in (0.3, 1.0, 3.0, 10.0):
        m = QuantizedRegression(quantizer=make_quantizer(family, bits, width), alpha=1.0,
                                beta=math.inf, noise=0.1)  # fmt: skip
        r = interpolation_threshold(m)
        assert r.converged and 0.0 < r.alpha_c < 1.0


def test_alpha_c_tends_to_one_in_the_continuous_limit():
    # a fine uniform grid of growing range approaches continuous ridgeless weights (α_c = 1):
    # α_c increases towards 1 and the error at the threshold diverges (σ²α/(α − 1) at α → 1)
    ac = [interpolation_threshold(model(10, w, beta=math.inf)) for w in (2.0, 4.0, 8.0, 16.0)]
    vals = [r.alpha_c for r in ac]
    assert all(np.diff(vals) > 0) and 0.99 < vals[-1] < 1.0
    assert all(np.diff([r.gen_error for r in ac]) > 0) and ac[-1].gen_error > 20


def test_interpolation_threshold_single_root_on_uniform_grids():
    # the search behind the equilibrium rule: on uniform grids (1-3 bits, widths 0.5-5,
    # σ² 0.1 and 1e-3, Gaussian teacher or teacher uniform on the grid) g(Δ) = ΔD − mse − σ²
    # has a single root, so the equilibrium threshold is the first root (the rule before the
    # branch enumeration, whose values the card tests above pin). Several RS branches can still
    # coexist at one α (the Bayes-optimal test below); they meet χ = ∞ at that one root.
    for bits in (1, 2, 3):
        for width in (0.5, 2.0, 5.0):
            q = Quantizer.uniform(bits, width)
            for teacher in (None, DiscreteTeacher.on_grid(q)):
                for noise in (0.1, 1e-3):
                    kw = {} if teacher is None else {"teacher": teacher}
                    m = QuantizedRegression(quantizer=q, alpha=1.0, beta=math.inf, noise=noise,
                                            **kw)  # fmt: skip
                    r = interpolation_threshold(m)
                    assert r.converged and r.other_roots == (), (bits, width, noise, teacher)


def test_interpolation_threshold_bayes_binary_is_the_equilibrium_branch():
    # Bayes-optimal binary model at β = ∞ (teacher uniform on ±1, σ² = 0.01): g has one root
    # (α_c = 0.40122) but the Δ curve folds, so near it solve_rs finds two RS branches, the
    # one ending at α_c (mse 1.09) and perfect recovery (mse ~ 0, training energy ασ²/2 > 0).
    q = Quantizer.uniform(1, 1.0)
    m = QuantizedRegression(quantizer=q, alpha=1.0, beta=math.inf, noise=0.01,
                            teacher=DiscreteTeacher.on_grid(q))  # fmt: skip
    r = interpolation_threshold(m)
    assert r.converged and r.other_roots == ()
    above = solve_rs(m.replace(alpha=r.alpha_c + 1e-6))
    assert sum(b.status == "converged" for b in above.branches) >= 2
    # the equilibrium (lowest ground-state energy) branch is the one ending at α_c: D → α_c,
    # energy → 0 (it is (α − D)²Δ/2 = O(1e-12) at 1e-6 above), and the threshold's limit
    # values are its values (they move by O(1e-6) over 1e-6 in α: tolerance 1e-4)
    assert above.D == pytest.approx(r.alpha_c, abs=1e-4) and above.free_energy < 1e-9
    assert above.gen_error == pytest.approx(r.gen_error, abs=1e-4)
    assert all(above.free_energy < b.free_energy for b in above.branches
               if b.status == "converged" and abs(b.delta - above.delta) > 1e-3)  # fmt: skip
    # 1e-6 below, that branch has ended (its attempt reports no RS solution); only perfect
    # recovery remains, with positive energy (not the ground state: an interpolator exists)
    below = solve_rs(m.replace(alpha=r.alpha_c - 1e-6))
    assert below.converged and below.mse < 1e-6 and below.free_energy > 1e-3
    assert not any(b.status == "converged" and abs(math.log(b.delta / r.delta)) < 0.5
                   for b in below.branches)  # fmt: skip


def test_interpolation_threshold_takes_the_largest_root():
    # irregular grid {−0.25, 0.25, 4}, teacher uniform on it, σ² = 1e-3: g(Δ) has three roots,
    # at α = D = 0.264 (the first, in Δ: the old rule's answer), 0.238 and 0.456 (Δ ≈ 8.4).
    # Just above α = 0.456 the branch ending there has zero training energy, the lowest
    # possible, so it is the equilibrium: α_c = 0.456, the other two are listed
    q = Quantizer(levels=np.array([-0.25, 0.25, 4.0]))
    m = QuantizedRegression(quantizer=q, alpha=1.0, beta=math.inf, noise=1e-3,
                            teacher=DiscreteTeacher.on_grid(q))  # fmt: skip
    r = interpolation_threshold(m)
    assert r.converged and r.residual < 1e-12
    assert len(r.other_roots) == 2 and max(r.other_roots) < r.alpha_c
    # 4-decimal regression values of this implementation (the roots themselves are ~1e-15)
    assert r.alpha_c == pytest.approx(0.4561, abs=1e-4)
    assert r.other_roots == pytest.approx((0.2380, 0.2642), abs=1e-4)
    # the independent solver agrees: 1e-6 above α_c its equilibrium branch (the lowest of >= 2
    # converged ones) is the one ending there (D = α_c, energy ~ 1e-12, same limit values to
    # 1e-4 as above); 1e-6 below, that branch has ended
    above = solve_rs(m.replace(alpha=r.alpha_c + 1e-6))
    assert sum(b.status == "converged" for b in above.branches) >= 2
    assert above.D == pytest.approx(r.alpha_c, abs=1e-4) and above.free_energy < 1e-9
    assert above.gen_error == pytest.approx(r.gen_error, abs=1e-4)
    below = solve_rs(m.replace(alpha=r.alpha_c - 1e-6))
    assert not any(b.status == "converged" and abs(math.log(b.delta / r.delta)) < 0.5
                   for b in below.branches)  # fmt: skip


def test_interpolation_threshold_rejects_ridge():
    with pytest.raises(ValueError, match="ridge"):
        interpolation_threshold(model(ridge=0.1))


# ----------------------------------------------------------------------------- AT line
def _fine_sign_change(m, vary, xs):
    """Bracket of the first sign change of AT − 1 on the grid ``xs`` (warm-started scan)."""
    init, prev = None, None
    for x in xs:
        s = solve_rs(with_parameter(m, vary, x), init=init)
        init = s
        if prev is not None and (prev[1] - 1) * (s.at - 1) < 0:
            return prev[0], x
        prev = (x, s.at)
    raise AssertionError("no sign change on the grid")


@pytest.mark.parametrize(
    "bits, vary, xs",
    [
        (1, "width", np.arange(0.80, 0.90, 1e-3)),
        (2, "width", np.arange(2.28, 2.36, 1e-3)),
        (2, "beta", np.arange(6.70, 6.80, 1e-3)),
        (2, "alpha", np.arange(3.20, 3.26, 1e-3)),
    ],
)
def test_at_boundary_agrees_with_sign_change_on_fine_grid(bits, vary, xs):
    m = model(bits, 2.0 if vary != "width" else 1.0)
    lo, hi = _fine_sign_change(m, vary, xs)
    b = at_boundary(m, vary, bracket=(xs[0], xs[-1]))
    assert b.converged
    # the root lies in the fine-grid cell where AT − 1 changes sign (grid spacing 1e-3)
    assert lo <= b.value <= hi
    # located to 1e-8 in the parameter: AT − 1 has opposite signs 2e-8 either side (AT moves
    # by ~1e-8 there, far above the ~1e-13 precision of the saddle point)
    left = solve_rs(with_parameter(m, vary, b.value - 2e-8), init=b.solution).at - 1
    right = solve_rs(with_parameter(m, vary, b.value + 2e-8), init=b.solution).at - 1
    assert left * right < 0
    assert b.residual < 1e-6


def test_rsb_at_few_bits_and_large_width():
    # claim 1 of the card (α = 2, β = 5, σ² = 0.1): RS is unstable beyond ω_AT(b), and ω_AT
    # grows with the number of bits: 0.846, 2.321, 5.420, 11.614, i.e. the onset is at an
    # almost fixed step 2ω/(2^b − 1) ≈ 1.69, 1.55, 1.55, 1.55
    w = [at_boundary(model(b), "width").value for b in (1, 2, 3, 4)]
    # 4-decimal regression values of this implementation (the roots themselves are 1e-8)
    assert w == pytest.approx([0.8458, 2.3213, 5.4201, 11.6144], abs=1e-4)
    steps = [2 * wb / (2**b - 1) for b, wb in zip((1, 2, 3, 4), w)]
    assert steps[1:] == pytest.approx([1.55] * 3, abs=0.01)
    for b, wb in zip((1, 2, 3, 4), w):
        assert solve_rs(model(b, 1.05 * wb)).at > 1 > solve_rs(model(b, 0.95 * wb)).at


def test_at_boundary_default_scan_and_errors():
    b = at_boundary(model(2), "width")  # default scan of [1e-2, 20]
    assert b.value == pytest.approx(2.3213298677, abs=1e-7)  # same root as the bracketed one
    with pytest.raises(ValueError, match="vary"):
        at_boundary(model(2), "bits")
    with pytest.raises(ValueError, match="bracket"):
        at_boundary(model(2), "width", bracket=(0.5, 1.0))  # AT < 1 on the whole interval
    with pytest.raises(ValueError, match="bracket"):
        at_boundary(model(2), "width", bracket=(2.0, 1.0))


def test_with_width_keeps_the_family():
    # width = largest absolute level (for these families, the family's width parameter)
    for fam in ("uniform", "gaussian_quantile", "power:2", "power_of_two", "uniform:zero"):
        q = make_quantizer(fam, 3, 1.7)
        # rescaling is exact up to rounding of the scale factor (1e-15 relative)
        np.testing.assert_allclose(with_width(q, 2.3).levels, make_quantizer(fam, 3, 2.3).levels,
                                   rtol=1e-14, atol=1e-15)  # fmt: skip
    with pytest.raises(ValueError, match="width"):
        with_width(q, -1.0)


def test_phase_diagram_labels_and_boundary_coordinate():
    ds = phase_diagram(model(1), bits=[1, 2], width=np.linspace(0.5, 3.0, 6), executor="serial",
                       progress=False)  # fmt: skip
    at = ds["at"].values
    phase = ds["phase"].values
    assert np.all((phase == "RS") == (at < 1)) and np.all((phase == "RSB") == (at >= 1))
    # the boundary coordinate is the bracketed root (the same Brent computation, 1e-8)
    assert ds["at_boundary_width"].values == pytest.approx([0.8457824, 2.3213299], abs=1e-6)
    assert ds["at_crossings_width"].values.tolist() == [1, 1]


def test_interpolation_threshold_tiny_width_large_noise():
    # fuzz (issue 7): ω = 1e-3, σ² = 10 — g(Δ) = ΔD − mse − σ² first turns positive at
    # Δ ≈ 1.5e8, beyond the old fixed scan end 1e8, and alpha_c came back as a silent NaN
    # ("no_bracket"). The scan now extends to where g > 0 is guaranteed.
    m = model(3, 1e-3, beta=math.inf, noise=10.0)
    r = interpolation_threshold(m)
    assert r.status == "converged" and math.isfinite(r.alpha_c) and r.delta > 1e8
    # α_c = D(Δ_c) = Σ_k Δq_k p_r(t_k) with r ~ N(0, ρ + Δ_c): for Δ_c ≫ 1 ≫ ω² this is
    # (q_K − q_1)/√(2πΔ_c) up to relative O(ρ/Δ_c) ≈ 1e-8 (rtol 1e-6)
    assert r.alpha_c == pytest.approx(2e-3 / math.sqrt(2 * math.pi * r.delta), rel=1e-6)


def test_at_boundary_where_rs_cannot_be_solved():
    # fuzz (issue 7): with throw=False at_boundary still raised ConvergenceError when the RS
    # saddle point failed at a point it needed (here β = ∞ below the interpolation threshold,
    # α_c = 0.62 for b = 2, ω = 1.5: no RS solution at α = 0.01). Now flagged "rs_unsolved".
    from replica import ConvergenceError
    from replica.phase import RS_UNSOLVED

    m = model(2, 1.5, beta=math.inf)
    r = at_boundary(m, "alpha", bracket=(0.01, 0.3), throw=False)
    assert r.status == RS_UNSOLVED and r.value == 0.01 and r.residual == math.inf
    assert r.solution.status == NO_RS_SOLUTION
    with pytest.raises(ConvergenceError, match=r"alpha=0\.01"):
        at_boundary(m, "alpha", bracket=(0.01, 0.3))
    # the default scan skips unsolved points and says so when no crossing is found (AT = ∞ at
    # β = ∞ on a discrete grid)
    with pytest.raises(ValueError, match=r"^bracket: expected .*RS unsolved at \d+ of 49"):
        at_boundary(m, "alpha")


def test_at_boundary_reports_a_jump_between_rs_branches():
    # fuzz (issue 7): power grid b = 1, ω = 869, β = 2.3e5, σ² = λ = 1.9, teacher on the grid,
    # varying α. AT − 1 changes sign between two scan points because the RS solution jumps
    # branch (AT 0.78 → 8.8e9). Brent then (1) re-solved the bracket ends from other warm starts,
    # landed on another branch and raised scipy's unclear "f(a) and f(b) must have different
    # signs" (now each point is solved once), and (2) "converged" onto the jump with |AT − 1| =
    # 0.22 (now status "at_jump").
    from replica.phase import AT_JUMP
    from replica.teachers import DiscreteTeacher

    q = Quantizer.power(1, 868.5520144570241, 2.0)
    m = QuantizedRegression(quantizer=q, alpha=647.5, beta=226288.6017050555, noise=1.9,
                            ridge=1.9, teacher=DiscreteTeacher.on_grid(q))  # fmt: skip
    # Since solve_rs returns the equilibrium branch (issue 13) the jump is gone: the lowest
    # free energy branch is the same perfect-recovery solution (AT ≈ 0) on the whole scan, so
    # there is no AT = 1 crossing to report (the old upper branch, AT 8.8e9, is metastable)
    assert AT_JUMP == "at_jump"
    with pytest.raises(ValueError, match="AT - 1 of one sign"):
        at_boundary(m, "alpha", throw=False)
    assert solve_rs(m.replace(alpha=647.5)).at < 1.0


# ----------------------------------------------------------------------------- zero-entropy line
def _crisis_model(bits, width, **kw):
    # the entropy-crisis region of issue 13 (α = 0.6, β = 5, σ² = 0.1)
    return model(bits, width, **{"alpha": 0.6, **kw})


def _fine_entropy_sign_change(m, vary, xs):
    prev = None
    for x in xs:
        s = solve_rs(with_parameter(m, vary, float(x)), continuation=prev and prev[2])
        if prev is not None and prev[1] * s.entropy < 0:
            return prev[0], float(x)
        prev = (float(x), s.entropy, s)
    raise AssertionError("no sign change on the grid")


@pytest.mark.parametrize(
    "bits, width, vary, xs, at_below_one",
    [
        (1, 1.0, "width", np.arange(2.100, 2.120, 1e-3), True),
        (1, 3.0, "beta", np.arange(2.640, 2.660, 1e-3), True),
        (2, 3.0, "alpha", np.arange(1.515, 1.530, 1e-3), False),
    ],
)
def test_entropy_boundary_agrees_with_sign_change_on_fine_grid(bits, width, vary, xs,
                                                                at_below_one):  # fmt: skip
    # as for the AT line: the root lies in the fine-grid cell where the RS entropy changes
    # sign, and it is located to 1e-8 in the parameter (s has opposite signs 2e-8 either side;
    # s moves by ~1e-8 there, far above the ~1e-13 precision of the saddle point)
    m = _crisis_model(bits, width)
    lo, hi = _fine_entropy_sign_change(m, vary, xs)
    b = entropy_boundary(m, vary, bracket=(float(xs[0]), float(xs[-1])))
    assert b.converged and lo <= b.value <= hi
    left = solve_rs(with_parameter(m, vary, b.value - 2e-8), init=b.solution).entropy
    right = solve_rs(with_parameter(m, vary, b.value + 2e-8), init=b.solution).entropy
    assert left * right < 0
    assert b.residual < 1e-8 and b.residual == abs(b.solution.entropy)
    # (b = 1) AT < 1 on the line: the crisis is invisible to the AT test
    assert (b.solution.at < 1.0) == at_below_one


def test_entropy_boundary_default_scan_statuses_and_errors():
    b = entropy_boundary(_crisis_model(1, 1.0), "width")  # default scan of [1e-2, 20]
    bb = entropy_boundary(_crisis_model(1, 1.0), "width", bracket=(2.1, 2.12))
    assert b.value == pytest.approx(bb.value, abs=2e-8)  # same root as the bracketed one
    assert b.bracket[0] < b.value < b.bracket[1] and b.entropy_lo * b.entropy_hi < 0
    with pytest.raises(ValueError, match="vary"):
        entropy_boundary(_crisis_model(1, 1.0), "bits")
    with pytest.raises(ValueError, match="bracket: expected an interval on which the RS"):
        entropy_boundary(_crisis_model(1, 1.0), "width", bracket=(0.5, 1.0))  # s > 0 there
    with pytest.raises(ValueError, match="bracket"):
        entropy_boundary(_crisis_model(1, 1.0), "width", bracket=(2.0, 1.0))
    with pytest.raises(ValueError, match="a zero of the RS entropy in the default noise"):
        entropy_boundary(_crisis_model(1, 3.0), "noise")
    # β = ∞ below the interpolation threshold: the RS point cannot be solved, flagged
    m = model(2, 1.5, beta=math.inf)
    r = entropy_boundary(m, "alpha", bracket=(0.01, 0.3), throw=False)
    assert r.status == RS_UNSOLVED and r.value == 0.01 and r.residual == math.inf


def test_phase_diagram_draws_the_entropy_line():
    # data: the zero-entropy line per line of the sweep, the same root entropy_boundary finds
    # (both Brent to 1e-8); labels: "entropy crisis" where AT < 1 but s < 0
    m = _crisis_model(1, 1.0)
    ds = phase_diagram(m, bits=[1], width=np.linspace(0.5, 3.0, 11), executor="serial",
                       progress=False)  # fmt: skip
    line = float(ds["entropy_boundary_width"].sel(bits=1))
    assert line == pytest.approx(entropy_boundary(m, "width").value, abs=2e-8)
    assert int(ds["entropy_crossings_width"].sel(bits=1)) == 1
    phases = ds["phase"].sel(bits=1).values.tolist()
    ent = ds["entropy"].sel(bits=1).values
    assert phases == ["RS" if s >= 0 else "entropy crisis" for s in ent]
    assert "entropy crisis" in phases


def test_at_boundary_reports_a_first_order_jump_of_the_equilibrium_branch():
    # b = 1, α = 0.8466, β = 5, σ² = 0.1, widths 3.3 … 3.8: a second RS branch (mse ≈ 10, AT > 1)
    # is born near ω ≈ 3.58 with a lower free energy than the continued one (mse 0.65, AT 0.83),
    # so the equilibrium branch jumps there and AT − 1 changes sign without a zero: at_jump,
    # not an AT line (both branches have s < 0: the entropy-crisis region, RS is wrong anyway)
    from replica.phase import AT_JUMP

    m = _crisis_model(1, 3.5, alpha=0.8466)
    r = at_boundary(m, "width", bracket=(3.3, 3.8), throw=False)
    assert r.status == AT_JUMP and not r.converged
    assert r.at_lo < 1.0 < r.at_hi and r.residual > 0.1
    assert 3.3 < r.value < 3.8


def test_phase_diagram_follows_the_equilibrium_branch_across_a_first_order_jump():
    # Bayes-optimal binary model, σ² = 0.01 (levels ±1, teacher on them, β = 1/σ²): continued
    # from α = 0.26, the algorithmic branch (mse ≈ 0.7) exists up to α_alg ≈ 0.495, but the
    # sweep returns the equilibrium, which jumps to near perfect recovery at the first-order
    # transition α_IT ≈ 0.3124 (paper_repro/kashiwamura2024_branches.py)
    from replica.teachers import DiscreteTeacher

    q = Quantizer.uniform(1, 1.0)
    m = QuantizedRegression(quantizer=q, alpha=0.3, beta=100.0, noise=0.01,
                            teacher=DiscreteTeacher.on_grid(q))  # fmt: skip
    ds = phase_diagram(m, alpha=np.linspace(0.26, 0.46, 6), executor="serial", progress=False)
    mse = ds["mse"].values
    assert np.all(mse[:2] > 0.5) and np.all(mse[2:] < 1e-7)  # α = 0.26, 0.30 | 0.34 … 0.46
