"""Quantizer grids, the nearest-level map and exact Gaussian moments."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from replica import Quantizer, gauss

# ---------------------------------------------------------------- grids


def test_uniform_conventions():
    np.testing.assert_allclose(Quantizer.uniform(1, 0.5).levels, [-0.5, 0.5])
    np.testing.assert_allclose(Quantizer.uniform(2, 1.5).levels, [-1.5, -0.5, 0.5, 1.5])
    np.testing.assert_allclose(
        Quantizer.uniform(2, 1.0, "midrise").levels, [-0.75, -0.25, 0.25, 0.75]
    )
    np.testing.assert_allclose(Quantizer.uniform(2, 1.0, "zero").levels, [-1, 0, 1])
    q = Quantizer.uniform(3, 2.0, "zero")
    assert q.n_levels == 7 and 0.0 in q.levels
    np.testing.assert_allclose(q.thresholds, 0.5 * (q.levels[1:] + q.levels[:-1]))


@pytest.mark.parametrize("bits", range(1, 9))
def test_nonuniform_grids_are_symmetric_and_span_width(bits):
    for q in (
        Quantizer.gaussian_quantile(bits, 1.7),
        Quantizer.power(bits, 1.7, 2.0),
        Quantizer.power_of_two(bits, 1.7),
    ):
        assert q.n_levels == 2**bits
        np.testing.assert_allclose(q.levels, -q.levels[::-1], atol=1e-15)
        assert q.width == pytest.approx(1.7, rel=1e-15)
    np.testing.assert_allclose(
        Quantizer.power(bits, 2.0, 1.0).levels, Quantizer.uniform(bits, 2.0).levels
    )


def test_levels_are_read_only_and_equality_by_value():
    q = Quantizer(levels=[-1.0, 0.0, 2.0])
    with pytest.raises(ValueError):
        q.levels[0] = 5.0
    assert q == Quantizer(levels=np.array([-1, 0, 2]))
    assert hash(q) == hash(Quantizer(levels=[-1.0, 0.0, 2.0]))


# ---------------------------------------------------------------- map


@given(
    levels=st.lists(st.floats(-50, 50), min_size=1, max_size=20, unique=True).map(sorted),
    x=st.lists(st.floats(-100, 100), min_size=1, max_size=30),
)
def test_map_is_nearest_level(levels, x):
    levels = np.asarray(levels)
    if np.any(np.diff(levels) <= 0):
        return
    q = Quantizer(levels=levels)
    x = np.asarray(x)
    dist = np.abs(q(x) - x)
    assert np.all(dist <= np.min(np.abs(x[:, None] - levels), axis=1) + 1e-12)


def test_map_any_shape_and_ties_go_up():
    q = Quantizer.uniform(2, 1.5)
    x = np.linspace(-3, 3, 24).reshape(2, 3, 4)
    assert q(x).shape == x.shape
    np.testing.assert_array_equal(q(x).ravel(), q(x.ravel()))
    np.testing.assert_array_equal(q([-1.0, 0.0, 1.0]), [-0.5, 0.5, 1.5])
    assert q(0.3).shape == ()


def test_map_rejects_nan():
    with pytest.raises(ValueError, match="NaN"):
        Quantizer.uniform(2, 1.0)([0.0, np.nan])


# ---------------------------------------------------------------- invalid input

bad_bits = st.one_of(
    st.integers(max_value=0), st.floats(allow_nan=True), st.just(True), st.text(max_size=2)
)
bad_width = st.one_of(
    st.floats(max_value=0),
    st.just(math.inf),
    st.just(-math.inf),
    st.just(math.nan),
    st.text(max_size=2),
)


@given(bits=bad_bits)
def test_bad_bits_raise(bits):
    for make in (
        lambda: Quantizer.uniform(bits, 1.0),
        lambda: Quantizer.gaussian_quantile(bits, 1.0),
        lambda: Quantizer.power(bits, 1.0, 2.0),
        lambda: Quantizer.power_of_two(bits, 1.0),
    ):
        with pytest.raises(ValueError, match=r"bits: expected .*, got"):
            make()


@given(width=bad_width)
def test_bad_width_raise(width):
    with pytest.raises(ValueError, match=r"width: expected a finite number > 0.*, got"):
        Quantizer.uniform(2, width)
    with pytest.raises(ValueError, match=r"width: expected"):
        Quantizer.gaussian_quantile(2, width)


@given(levels=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=2, max_size=8))
def test_bad_levels_raise(levels):
    arr = np.asarray(levels)
    # Quantizer also caps |level| at 1e150 (squares and spacings must stay finite)
    valid = np.all(np.isfinite(arr)) and np.all(np.diff(arr) > 0) and np.all(np.abs(arr) <= 1e150)
    if valid:
        Quantizer(levels=levels)
    else:
        with pytest.raises(ValueError, match=r"levels: expected"):
            Quantizer(levels=levels)


def test_other_bad_inputs():
    with pytest.raises(ValueError, match="convention: expected one of"):
        Quantizer.uniform(2, 1.0, "bogus")
    with pytest.raises(ValueError, match="bits: expected bits >= 2 for convention='zero'"):
        Quantizer.uniform(1, 1.0, "zero")
    with pytest.raises(ValueError, match="gamma: expected a finite number > 0"):
        Quantizer.power(2, 1.0, -1.0)
    with pytest.raises(ValueError, match="levels: expected a non-empty"):
        Quantizer(levels=[])
    with pytest.raises(ValueError, match="var: expected finite numbers >= 0"):
        Quantizer.uniform(2, 1.0).gaussian_moments(0.0, -1.0)


# ---------------------------------------------------------------- Gaussian moments


def _mp_moments(q: Quantizer, mean: float, var: float):
    """mpmath reference: adaptive quadrature on every cell within ±14 sd, tails as one piece."""
    sd = math.sqrt(var)
    # cells beyond ±10 sd carry < 1e-23 of the mass, far below the 1e-12 tolerance
    near = [t for t in q.thresholds if abs(t - mean) < 10 * sd]

    def psi(x):
        return mpmath.mpf(float(q(float(x))))

    refs = [
        gauss.mp_expect(lambda x: psi(x), mean, var, near, dps=20),
        gauss.mp_expect(lambda x: psi(x) ** 2, mean, var, near, dps=20),
        gauss.mp_expect(lambda x: x * psi(x), mean, var, near, dps=20),
    ]
    return [float(r) for r in refs]


def _grids(bits):
    out = [Quantizer.uniform(bits, 1.3, c) for c in ("endpoints", "midrise")]
    if bits >= 2:
        out.append(Quantizer.uniform(bits, 1.3, "zero"))
    out += [
        Quantizer.gaussian_quantile(bits, 2.1),
        Quantizer.power(bits, 0.8, 1.7),
        Quantizer.power_of_two(bits, 3.0),
    ]
    return out


# Tolerance: 1e-12 relative to the magnitude of the integrand's scale. Symmetric grids give
# E[ψ] = 0 at mean 0, where a purely relative test is meaningless; the floor 1e-14·(scale) is
# the double-precision rounding of a sum of K terms of size ≤ scale.
def _assert_close(got, ref, scale):
    assert abs(got - ref) <= 1e-12 * abs(ref) + 1e-14 * scale, (got, ref)


@pytest.mark.parametrize("bits", range(1, 9))
def test_moments_match_mpmath(bits):
    rng = np.random.default_rng(bits)
    grids = _grids(bits)
    # means in [-3, 3], variances log-uniform in [1e-4, 10]; the large-b grids get fewer points
    n_points = 2 if bits <= 4 else 1
    for q in grids:
        for mean, var in zip(rng.uniform(-3, 3, n_points), 10 ** rng.uniform(-4, 1, n_points)):
            got = q.gaussian_moments(mean, var)
            ref = _mp_moments(q, mean, var)
            w = q.width
            _assert_close(float(got.first), ref[0], w)
            _assert_close(float(got.second), ref[1], w * w)
            _assert_close(float(got.cross), ref[2], w * (abs(mean) + math.sqrt(var)))


@pytest.mark.slow
@pytest.mark.parametrize("bits", [6, 7, 8])
def test_moments_match_mpmath_dense(bits):
    rng = np.random.default_rng(100 + bits)
    for q in _grids(bits):
        edges = [(0.0, 1e-4), (-3.0, 10.0), (3.0, 1e-4)]
        for mean, var in [*edges, *zip(rng.uniform(-3, 3, 1), 10 ** rng.uniform(-4, 1, 1))]:
            got = q.gaussian_moments(mean, var)
            ref = _mp_moments(q, mean, var)
            w = q.width
            _assert_close(float(got.first), ref[0], w)
            _assert_close(float(got.second), ref[1], w * w)
            _assert_close(float(got.cross), ref[2], w * (abs(mean) + math.sqrt(var)))


def test_moments_card_reference_table():
    # Paper card (Ichikawa et al.), endpoints convention, v = 1: (κ, γ) to the 4 printed decimals.
    table = {
        (1.0, 1): (0.7979, 1.0000), (1.0, 2): (0.6919, 0.5600), (1.0, 3): (0.6843, 0.5240),
        (2.0, 1): (1.5958, 4.0000), (2.0, 2): (0.9693, 1.0931), (2.0, 3): (0.9574, 0.9524),
    }  # fmt: skip
    for (w, b), (kappa, gamma) in table.items():
        m = Quantizer.uniform(b, w).gaussian_moments(0.0, 1.0)
        assert float(m.cross) == pytest.approx(kappa, abs=5e-5)
        assert float(m.second) == pytest.approx(gamma, abs=5e-5)


def test_moments_vectorised_equal_scalar_loop():
    q = Quantizer.gaussian_quantile(3, 1.5)
    mean = np.linspace(-2, 2, 5)[:, None]
    var = np.logspace(-3, 1, 4)[None, :]
    m = q.gaussian_moments(mean, var)
    assert m.first.shape == (5, 4)
    for i in range(5):
        for j in range(4):
            s = q.gaussian_moments(mean[i, 0], var[0, j])
            assert (m.first[i, j], m.second[i, j], m.cross[i, j]) == (s.first, s.second, s.cross)


def test_moments_degenerate_variance_is_the_map():
    q = Quantizer.uniform(3, 1.0)
    x = np.array([-2.0, -0.1, 0.0, q.thresholds[2], 0.7])
    m = q.gaussian_moments(x, 0.0)
    np.testing.assert_array_equal(m.first, q(x))
    np.testing.assert_array_equal(m.second, q(x) ** 2)
    np.testing.assert_array_equal(m.cross, x * q(x))


def test_single_level_quantizer():
    q = Quantizer(levels=[0.25])
    m = q.gaussian_moments(1.0, 2.0)
    assert (float(m.first), float(m.second), float(m.cross)) == (0.25, 0.0625, 0.25)


# ----------------------------------------------------------------------------- uniform fast path
def _argmin_upper(levels, x):
    """Nearest level by brute force, ties to the upper level (argmin over reversed levels)."""
    d = np.abs(np.asarray(x, dtype=float)[..., None] - levels)
    return levels[levels.size - 1 - np.argmin(d[..., ::-1], axis=-1)]


def _binary_search(q, x):
    """The general path: binary search on the stored thresholds (ties to the upper level)."""
    return q.levels[np.searchsorted(q.thresholds, np.asarray(x, dtype=float), side="right")]


@given(
    bits=st.integers(1, 10),
    e=st.integers(-6, 6),
    convention=st.sampled_from(["endpoints", "midrise"]),
    ks=st.lists(st.integers(-(2**13), 2**13), min_size=1, max_size=60),
)
def test_uniform_fast_path_equals_argmin_including_ties(bits, e, convention, ks):
    # dyadic grids: step 2^e, so levels, thresholds and every |x − c| are exact in floating
    # point and x on the lattice 2^(e−3) hits thresholds (ties) and levels often
    K = 2**bits
    width = (K - 1) / 2 * 2.0**e if convention == "endpoints" else K / 2 * 2.0**e
    q = Quantizer.uniform(bits, width, convention)
    assert q._uniform is not None
    x = np.array(ks, dtype=float) * 2.0 ** (e - 3)
    assert np.array_equal(q(x), _argmin_upper(q.levels, x))
    assert np.array_equal(q(q.thresholds), q.levels[1:])  # every tie goes up


@given(
    bits=st.integers(1, 12),
    width=st.floats(1e-6, 1e6),
    convention=st.sampled_from(["endpoints", "midrise", "zero"]),
    x=st.lists(
        st.one_of(st.floats(-1e300, 1e300), st.sampled_from([-math.inf, math.inf])),
        min_size=1,
        max_size=50,
    ),
    scale=st.floats(1e-3, 10.0),
)
def test_uniform_fast_path_equals_binary_search(bits, width, convention, x, scale):
    # any uniform grid, any float (inf, huge, tiny), and the floats next to every threshold:
    # the rounding path gives exactly the binary-search answer (no tolerance: integer indices)
    bits = max(bits, 2) if convention == "zero" else bits
    q = Quantizer.uniform(bits, width, convention)
    th = q.thresholds
    near = np.concatenate([th, np.nextafter(th, -np.inf), np.nextafter(th, np.inf), q.levels])
    xs = np.concatenate([np.array(x) * scale, near])
    assert np.array_equal(q.index(xs), np.searchsorted(th, xs, side="right"))
    assert np.array_equal(q(xs), _binary_search(q, xs))
    # brute force resolves |x − c_k| only where x is within ~1e6 steps of the grid
    # (near-threshold points only on small grids: the brute force is (points × levels))
    xs = xs if q.n_levels <= 64 else np.array(x) * scale
    finite = xs[np.abs(xs) < 1e6 * float(np.min(q.steps, initial=q.width))]
    away = np.min(np.abs(finite[:, None] - th), axis=1, initial=np.inf) > 1e-9 * q.width
    assert np.array_equal(q(finite[away]), _argmin_upper(q.levels, finite[away]))


def test_fast_path_only_on_nearly_uniform_grids_and_shapes_kept():
    assert Quantizer.uniform(3, 1.0)._uniform is not None
    assert Quantizer.gaussian_quantile(3, 1.0)._uniform is None
    assert Quantizer(levels=[2.0])._uniform is None
    # a grid 5 % off uniform still takes the rounding path, and is still exact
    lv = np.linspace(-1, 1, 9) + 0.05 * 0.25 * np.sin(np.arange(9))
    q = Quantizer(levels=lv)
    assert q._uniform is not None
    x = np.random.default_rng(3).uniform(-2, 2, (7, 11))
    assert q(x).shape == (7, 11)
    assert np.array_equal(q(x), _binary_search(q, x))
    assert np.array_equal(q(q.thresholds), lv[1:])
    assert q(np.float64(0.3)).shape == () and q(0.3) == _binary_search(q, 0.3)
    # far from 0 (rounding of x − c₁ dominates the slack) and next to every threshold
    q = Quantizer(levels=1e6 + 1e-3 * np.arange(16))
    assert q._uniform is not None
    th = q.thresholds
    x = np.concatenate([th, np.nextafter(th, 0), np.nextafter(th, np.inf), q.levels])
    assert np.array_equal(q(x), _binary_search(q, x))
    with pytest.raises(ValueError, match="NaN"):
        Quantizer.uniform(2, 1.0)([0.0, math.nan])
    with pytest.raises(ValueError, match="NaN"):
        Quantizer.uniform(2, 1.0)(math.nan)
