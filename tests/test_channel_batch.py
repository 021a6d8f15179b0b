"""The batched channel averages equal the per-point ones.

Kind of truth: identity (vectorised = scalar loop). :func:`replica.channel_batch.
channel_averages_many` builds the same quadrature nodes and integrands as
:func:`replica.channel.channel_averages` with the same floating-point operations, summed in
blocks (a batched matrix product instead of one per point), so the two agree to rounding: the
tolerance is 1e-13 relative (1e-15 absolute for values at zero), a few hundred ulps of headroom
for a different order of the final sums (on this machine they were bit-identical; another BLAS
may sum the batched products in another order).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from replica import channel_batch
from replica.channel import channel_averages
from replica.channel_batch import channel_averages_many
from replica.quantizers import Quantizer
from replica.teachers import DiscreteTeacher, GaussianMixtureTeacher, GaussianTeacher

FIELDS = ("m", "q", "Q", "V", "D", "at_sum", "log_z", "mse", "rho", "entropy")
RTOL, ATOL = 1e-13, 1e-15


@pytest.fixture(autouse=True)
def _numpy_path():
    """These tests check the numpy path; tests/test_kernels.py checks the compiled one (a
    MonkeyPatch of its own: the tests' ``monkeypatch.undo()`` keeps it)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REPLICA_NUMBA", "0")
        yield


def _requests():
    """A seeded grid over every path: β = ∞ with a shift, large A (staircase + windows),
    the clustered rule (merged coincident points, edges, sharp switches), K = 2 … 16 and 64
    (banded, per-point), ridge > 0, derivatives on and off, Gaussian, mixture and discrete
    teachers, Δ down to 1e-150 and A up to 1e200."""
    rng = np.random.default_rng(20261130)
    out = []
    for bits in (1, 2, 3, 4, 6):
        for width in (0.1, 0.7, 2.0):
            q = Quantizer.uniform(bits, width)
            teachers = [GaussianTeacher(), GaussianTeacher(rho=0.3), DiscreteTeacher.on_grid(q),
                        GaussianMixtureTeacher(weights=[0.3, 0.7], means=[-0.5, 0.4],
                                               variances=[0.2, 0.0])]  # fmt: skip
            for teacher in teachers:
                mix = teacher.mixture()
                for _ in range(6):
                    delta = float(10.0 ** rng.uniform(-4, 1))
                    A = float(10.0 ** rng.uniform(-1, 6))
                    ridge = float(rng.choice([0.0, 10.0 ** rng.uniform(-3, 1)]))
                    out.append((q.levels, mix, delta, A, ridge, bool(rng.integers(2))))
                out.append((q.levels, mix, 1e-150, 1e4, 0.0, True))
                out.append((q.levels, mix, 0.05, 1e200, 0.5, True))
                out.append((q.levels, mix, 0.05, math.inf, 0.3, True))
                out.append((q.levels, mix, 0.3, math.inf, 0.0, False))
    return out


def _assert_values(got, want, where):
    """Every scalar field equal to RTOL (ATOL near 0); NaN and inf exactly where they are."""
    for name in FIELDS:
        a, b = getattr(got, name), getattr(want, name)
        if math.isnan(b) or math.isinf(b):
            assert a == b or (math.isnan(a) and math.isnan(b)), (where, name, a, b)
        else:
            assert abs(a - b) <= max(RTOL * abs(b), ATOL), (where, name, a, b)


def _assert_same(got, want, where):
    _assert_values(got, want, where)
    if want.jac is None:
        assert got.jac is None, where
    else:
        np.testing.assert_allclose(got.jac, want.jac, rtol=RTOL, atol=ATOL, err_msg=str(where))


def test_many_equals_the_per_point_call_on_every_path(monkeypatch):
    reqs = _requests()
    # the per-point path may serve only the banded grids (K > 16) and the empty rules of point
    # masses at Δ = 1e-150 (μ ± 13√Δ rounds to μ): count who falls back
    fallback = []
    monkeypatch.setattr(channel_batch, "channel_averages",
                        lambda levels, mix, delta, *a, **k: fallback.append((levels.size, delta))
                        or channel_averages(levels, mix, delta, *a, **k))  # fmt: skip
    calls = {"split": 0, "clustered": 0, "hard": 0}
    for name, key in (("_split_many", "split"), ("_clustered_sums", "clustered"),
                      ("_hard_many", "hard")):  # fmt: skip
        orig = getattr(channel_batch, name)

        def counted(*a, _orig=orig, _key=key, **k):
            calls[_key] += 1
            return _orig(*a, **k)

        monkeypatch.setattr(channel_batch, name, counted)
    got = channel_averages_many(reqs)
    assert len(got) == len(reqs)
    assert {k for k, d in fallback if d != 1e-150} == {64}, fallback
    n_fine = sum(r[0].size <= 16 for r in reqs)
    assert sum(k <= 16 for k, _ in fallback) < 0.02 * n_fine, "the common case is vectorised"
    assert all(calls.values()), calls
    for i, (req, g) in enumerate(zip(reqs, got)):
        levels, mix, delta, A, ridge, der = req
        want = channel_averages(levels, mix, delta, A, ridge, derivatives=der)
        _assert_same(g, want, (i, levels.size, delta, A, ridge, der))


def test_blocks_and_batch_size_do_not_change_the_values(monkeypatch):
    """Blocks of a few rows (the tables split in many pieces), batches of 15 and the per-point
    path below ``_MIN_BATCH`` requests give the values of one whole batch."""
    reqs = _requests()[::3]
    whole = channel_averages_many(reqs)
    monkeypatch.setattr(channel_batch, "_BLOCK", 3000)
    monkeypatch.setattr(channel_batch, "_BLOCK_SPLIT", 500)
    blocked = channel_averages_many(reqs)
    monkeypatch.undo()
    chunks = [a for i in range(0, len(reqs), 15) for a in channel_averages_many(reqs[i : i + 15])]
    assert 1 < channel_batch._MIN_BATCH <= 15
    small = [channel_averages_many([r])[0] for r in reqs[:20]]
    for i, a in enumerate(whole):
        _assert_same(blocked[i], a, ("blocked", i))
        _assert_same(chunks[i], a, ("chunks of 15", i))
        if i < len(small):
            _assert_same(small[i], a, ("one request", i))
    assert channel_averages_many([]) == []


def test_n_is_the_clustered_rule_order():
    q = Quantizer.uniform(2, 1.0)
    reqs = [(q.levels, GaussianTeacher().mixture(), 0.2, float(A), 0.1, True)
            for A in np.geomspace(1.0, 300.0, 20)]  # fmt: skip
    for req, got in zip(reqs, channel_averages_many(reqs, n=24)):
        _assert_same(got, channel_averages(*req[:5], n=24, derivatives=True), req[3])


def test_odd_requests_in_a_batch_equal_the_per_point_call(monkeypatch):
    """A single level and unsorted levels take the per-point path; Δ = 1e300, βλ = 1e300 and a
    zero-weight mixture component stay on the array path; all agree with the per-point call."""
    mix = GaussianTeacher().mixture()
    two = (np.array([0.5, 0.5]), np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    zero_weight = (np.array([0.0, 1.0]), np.array([0.3, 0.0]), np.array([0.0, 1.0]))
    lv = np.array([-1.0, 1.0])
    reqs = [(np.array([0.5]), mix, 0.1, 3.0, 0.0, True), (lv[::-1].copy(), mix, 0.1, 3.0, 0.0, True),
            (lv, mix, 1e300, 3.0, 0.0, True), (lv, mix, 0.1, 3.0, 1e300, True),
            (lv, two, 0.1, math.inf, 0.2, True), (lv, zero_weight, 0.1, 3.0, 0.0, True),
            (lv, zero_weight, 0.1, 3.0, 0.0, False)]  # fmt: skip
    reqs += _requests()[:20]
    fallback = []
    monkeypatch.setattr(channel_batch, "channel_averages",
                        lambda levels, *a, **k: fallback.append(levels.tolist())
                        or channel_averages(levels, *a, **k))  # fmt: skip
    many = channel_averages_many(reqs)
    assert fallback == [[0.5], [1.0, -1.0]]
    for i, (req, got) in enumerate(zip(reqs, many)):
        levels, mixture, delta, A, ridge, der = req
        _assert_same(got, channel_averages(levels, mixture, delta, A, ridge, derivatives=der), i)


@pytest.mark.parametrize(
    "requests, match",
    [
        (5, "requests"),
        ("abc", "requests"),
        ([(np.array([-1.0, 1.0]), GaussianTeacher().mixture(), 0.1, 2.0, 0.0)], r"requests\[0\]"),
        (
            [[np.array([-1.0, 1.0]), GaussianTeacher().mixture(), 0.1, 2.0, 0.0, True, 1]],
            r"requests\[0\]",
        ),
        (
            [(np.ones((2, 2)), GaussianTeacher().mixture(), 0.1, 2.0, 0.0, True)],
            r"requests\[0\] levels",
        ),
        (
            [(np.array([-1.0, 1.0]), ([1.0], [0.0]), 0.1, 2.0, 0.0, True)],
            r"requests\[0\] teacher_mixture",
        ),
        (
            [(np.array([-1.0, 1.0]), GaussianTeacher().mixture(), "0.1", 2.0, 0.0, True)],
            r"requests\[0\] delta",
        ),
        (
            [(np.array([-1.0, 1.0]), GaussianTeacher().mixture(), 0.1, 2.0, 0.0, "yes")],
            r"requests\[0\] derivatives",
        ),
        ([(["a", "b"], GaussianTeacher().mixture(), 0.1, 2.0, 0.0, True)], r"requests\[0\]"),
    ],
)
def test_bad_requests_are_refused(requests, match):
    with pytest.raises(ValueError, match=match):
        channel_averages_many(requests)


def test_bad_n_is_refused():
    with pytest.raises(ValueError, match="n: expected an integer >= 1"):
        channel_averages_many([], n=0)
