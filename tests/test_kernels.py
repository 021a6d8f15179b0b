"""The compiled (numba) channel kernels equal the numpy path and the per-point call.

Kind of truth: identity (compiled = vectorised = scalar loop). :mod:`replica._kernels` evaluates
the posterior and integrand sums of :func:`replica.channel_batch.channel_averages_many` (the
clustered rule and the large-A windows) in one fused loop per task, with the numpy path's
formulas term by term;
only the order of the additions differs (eight interleaved partial sums per integrand over
~400 nodes instead of a blocked matrix product) and ``exp`` and ``log`` are polynomials within
1 and 2 ulp of libm's. Tolerances: the values 1e-13 relative (1e-15 absolute at zero), a few
hundred ulps (measured ≤ 4.7e-15: reordered sums of ~10³ positive and mixed-sign terms); the
derivative averages 1e-13·max(1, |value|), because they are differences of sums of O(1) terms
that cancel to ~1e-4 (g² + E[κ e²] − 2g/√τ E[e u]), so their rounding scales with the terms,
not with the result (measured ≤ 1.1e-14).
``REPLICA_NUMBA=0`` selects the numpy path; without numba these tests skip, except under
``REPLICA_REQUIRE_NUMBA=1`` (set by .ci/run, which installs numba), where they fail.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

if os.environ.get("REPLICA_REQUIRE_NUMBA") == "1":
    import numba  # noqa: F401  (.ci/run installs numba and sets this: a missing numba fails)
else:
    pytest.importorskip("numba")

from test_channel_batch import RTOL, _assert_values, _requests

from replica import _kernels, channel_batch
from replica.channel import channel_averages
from replica.channel_batch import channel_averages_many


def _assert_close(got, want, where):
    _assert_values(got, want, where)
    if want.jac is None:
        assert got.jac is None, where
    else:
        err = np.abs(got.jac - want.jac)
        assert np.all(err <= RTOL * np.maximum(1.0, np.abs(want.jac))), (where, got.jac, want.jac)


def test_switch_selects_the_backend(monkeypatch):
    monkeypatch.setenv("REPLICA_NUMBA", "0")
    assert channel_batch._backend() == "numpy"
    monkeypatch.setenv("REPLICA_NUMBA", "1")
    assert channel_batch._backend() == "numba"
    monkeypatch.delenv("REPLICA_NUMBA")
    assert channel_batch._backend() == "numba"


def test_kernel_equals_the_numpy_path_and_the_per_point_call(monkeypatch):
    reqs = _requests()
    calls = {"kernel": 0, "split kernel": 0, "numpy": 0, "split numpy": 0}
    for mod, name, key in ((_kernels, "clustered_sums", "kernel"),
                           (_kernels, "split_sums", "split kernel"),
                           (channel_batch, "_clustered_sums", "numpy"),
                           (channel_batch, "_split_many", "split numpy")):  # fmt: skip
        orig = getattr(mod, name)

        def counted(*a, _orig=orig, _key=key, **k):
            calls[_key] += 1
            return _orig(*a, **k)

        monkeypatch.setattr(mod, name, counted)
    monkeypatch.setenv("REPLICA_NUMBA", "1")
    fast = channel_averages_many(reqs)
    assert calls["kernel"] > 0 and calls["split kernel"] > 0, calls
    assert calls["numpy"] == calls["split numpy"] == 0, calls
    monkeypatch.setenv("REPLICA_NUMBA", "0")
    slow = channel_averages_many(reqs)
    assert calls["numpy"] > 0 and calls["split numpy"] > 0, calls
    for i, (req, a, b) in enumerate(zip(reqs, fast, slow)):
        levels, mix, delta, A, ridge, der = req
        where = (i, levels.size, delta, A, ridge, der)
        _assert_close(a, b, ("numpy path", *where))
        want = channel_averages(levels, mix, delta, A, ridge, derivatives=der)
        _assert_close(a, want, ("per-point", *where))


def test_blocks_do_not_change_the_kernel_values(monkeypatch):
    """Blocks of a few tasks (many kernel calls) give the values of whole blocks."""
    monkeypatch.setenv("REPLICA_NUMBA", "1")
    reqs = _requests()[::3]
    whole = channel_averages_many(reqs)
    monkeypatch.setattr(channel_batch, "_BLOCK", 3000)
    for i, (a, b) in enumerate(zip(channel_averages_many(reqs), whole)):
        _assert_close(a, b, ("blocked", i))


def test_exp_is_within_one_ulp_of_libm():
    """The kernel's exp (a polynomial so that its loops vectorise) over its whole domain
    [−700, 0], on 10⁶ points and at the ends: ≤ 1 ulp from ``math.exp`` (glibc's is
    correctly rounded in practice), exact at 0."""
    t = np.concatenate([np.linspace(-700.0, 0.0, 10**6), [-700.0, -1e-300, -0.0, 0.0]])
    got = _kernels.exp_many(t)
    want = np.array([math.exp(x) for x in t])
    assert np.all(np.abs(got - want) <= np.spacing(want)), np.max(np.abs(got - want) / want)
    assert got[-1] == 1.0


def test_log_is_within_two_ulp_of_libm():
    """The kernel's log (range reduction to [√½, √2) and the atanh series) on the partition
    sums' range [1, 17], close above 1 and over all magnitudes: ≤ 2 ulp from ``math.log``."""
    z = np.concatenate([np.linspace(1.0, 17.0, 10**6), 1.0 + np.geomspace(1e-16, 1e-2, 10**4),
                        np.geomspace(1e-300, 1e300, 10**4), [1.0, 2.0, math.sqrt(2.0)]])  # fmt: skip
    got = _kernels.log_many(z)
    want = np.array([math.log(x) for x in z])
    assert np.all(np.abs(got - want) <= 2.0 * np.spacing(np.abs(want))), z[np.argmax(got != want)]
    assert got[-3] == 0.0
