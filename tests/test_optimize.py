"""Optimal quantization through the RS theory: ω*(b) against a dense grid search, interior
minima, optimised levels against the uniform / Gaussian-quantile / power grids."""

from __future__ import annotations

import numpy as np
import pytest

from replica import Quantizer
from replica.optimize import compare_grids, optimal_levels, optimal_width
from replica.phase import with_width
from replica.regression import QuantizedRegression, solve_rs


def model(bits=2, width=1.0, quantizer=None, **kw):
    kw = {"alpha": 2.0, "beta": 5.0, "noise": 0.1, **kw}
    return QuantizedRegression(quantizer=quantizer or Quantizer.uniform(bits, width), **kw)


def _eps(m, widths):
    out, init = [], None
    for w in widths:
        s = solve_rs(m.replace(quantizer=with_width(m.quantizer, float(w))), init=init)
        init = s
        out.append(s.gen_error)
    return np.array(out)


@pytest.mark.parametrize("bits", [1, 2, 3])
def test_optimal_width_agrees_with_dense_grid_search(bits):
    m = model(bits)
    opt = optimal_width(m)
    assert opt.converged and opt.residual < 1e-6
    # dense grid search: a coarse pass (spacing 0.05) then spacing 1e-3 around its best point;
    # the grids are not centred on ω*, so this is an independent search. Agreement to the grid
    # spacing is the check of the issue; ε_g(ω*) must not exceed the grid minimum (beyond the
    # ~1e-13 precision of the saddle point)
    coarse = np.arange(0.2, 4.0, 0.05)
    c = coarse[np.argmin(_eps(m, coarse))]
    dense = np.arange(c - 0.05, c + 0.05 + 1e-12, 1e-3)
    e = _eps(m, dense)
    assert abs(opt.width - dense[np.argmin(e)]) <= 1e-3
    assert opt.gen_error <= e.min() + 1e-12


def test_optimal_width_is_interior_for_every_bits():
    # claim 2 of the card (α = 2, β = 5, σ² = 0.1): ω*(b) is an interior minimum of ε_g(ω)
    # (positive curvature, not on the search bounds 0.05…6) for b = 1…4; ω* = 0.777, 1.730,
    # 2.634, 2.672 with ε_g = 0.5394, 0.2412, 0.1988, 0.1976 and RS stable there
    res = [optimal_width(model(b)) for b in (1, 2, 3, 4)]
    for r in res:
        assert r.status == "converged" and r.curvature > 0 and r.rs_stable
        assert 0.05 + 0.1 < r.width < 6.0 - 0.1
        # to 1e-6 in ω: Newton-step distance to the stationary point of ε_g
        assert r.residual < 1e-6
    # 4-decimal regression values (the minima themselves are located to 1e-6)
    assert [r.width for r in res] == pytest.approx([0.7766, 1.7304, 2.6344, 2.6716], abs=1e-4)
    assert np.all(np.diff([r.gen_error for r in res]) < 0)  # more bits, lower error


def test_optimal_width_reports_a_minimum_on_the_bound():
    r = optimal_width(model(2), bounds=(0.2, 1.0))  # ε_g decreases up to ω* = 1.73 > 1.0
    assert r.status == "at_bound" and r.width == pytest.approx(1.0)
    with pytest.raises(ValueError, match="bounds"):
        optimal_width(model(2), bounds=(1.0, 0.5))


def test_optimal_levels_one_bit_is_the_optimal_width():
    # with two symmetric levels ±c the only freedom is the width: the two optimisations agree
    # (BFGS gradient tolerance 1e-7 and curvature 2.45 give |δc| < 1e-6)
    lv = optimal_levels(model(1))
    assert lv.converged
    assert lv.quantizer.levels == pytest.approx([-lv.start.width, lv.start.width], abs=1e-6)


def test_optimal_levels_beat_the_uniform_grid():
    lv = optimal_levels(model(2))
    assert lv.converged and lv.residual < 1e-6
    levels = lv.quantizer.levels
    assert levels == pytest.approx(-levels[::-1], abs=1e-14)  # symmetric by construction
    # strictly better than the best uniform grid (0.23912 vs 0.24121), and AT stays < 1
    assert lv.gen_error < lv.start.gen_error - 1e-3
    assert lv.rs_stable
    # the inner gap shrinks relative to uniform (levels pulled towards the Gaussian bulk)
    assert levels[2] / levels[3] < 1 / 3
    # not a local artefact: non-symmetric optimisation from the same start finds no better grid
    # (beyond the gradient tolerance: 1e-9 in ε_g)
    free = optimal_levels(model(2), symmetric=False)
    assert free.gen_error >= lv.gen_error - 1e-9


def test_compare_grids_two_bits():
    out = compare_grids(model(2), boundary=True)
    assert set(out) == {"uniform", "gaussian_quantile", "power:2", "optimal"}
    e = {k: v["optimum"].gen_error for k, v in out.items()}
    # the optimised levels are the best grid with 4 levels; each family at its own ω*
    assert e["optimal"] <= min(e.values()) + 1e-12
    # the uniform family's RSB onset is the AT line of the phase diagram (ω_AT(2) = 2.3213)
    assert out["uniform"]["at_width"] == pytest.approx(2.3213299, abs=1e-6)
    for v in out.values():
        assert v["optimum"].converged


def test_optimal_width_where_rs_cannot_be_solved_is_flagged():
    # fuzz (issue 7): optimal_width(throw=False) raised ConvergenceError when the RS saddle
    # point failed at a width of its scan (here β = ∞ at α = 0.5 below the interpolation
    # threshold of wide 2-bit grids: no RS solution). Now flagged "rs_unsolved" at that width.
    import math

    from replica import ConvergenceError
    from replica.optimize import RS_UNSOLVED

    m = model(2, 1.0, alpha=0.5, beta=math.inf)
    r = optimal_width(m, bounds=(0.5, 3.0), throw=False)
    assert r.status == RS_UNSOLVED and r.residual == math.inf
    assert 0.5 <= r.width <= 3.0 and r.solution.status == "no_rs_solution"
    assert math.isfinite(r.gen_error)
    with pytest.raises(ConvergenceError):
        optimal_width(m, bounds=(0.5, 3.0))


def test_optimal_width_flat_error_is_not_reported_converged():
    # fuzz (issue 7): α = 1e-3 (almost no data): ε_g ≈ ρ + … is flat in ω, the curvature is 0
    # and the residual |ε'|/ε'' is inf, yet the status said "converged". Now "flat".
    import math

    from replica.optimize import FLAT

    m = QuantizedRegression(quantizer=Quantizer.gaussian_quantile(4, 310.0), alpha=0.001,
                            beta=16401.905564671368, noise=0.0)  # fmt: skip
    r = optimal_width(m, bounds=(66.9837898974613, 457.786630464779), n_scan=7, throw=False)
    assert r.status == FLAT and r.residual == math.inf and not r.curvature > 0
