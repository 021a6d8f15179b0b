"""Property-based fuzzing of the public API: every call raises a clear ValueError, converges
honestly, or flags non-convergence; never a silent NaN or another exception type.

Targets live in ``tests/test_fuzz*.py`` (named ``test_fuzz_<target>``) and use
``tests/fuzz_harness.py``. The default suite runs ~100 derandomized cases per file. The slow
``test_fuzz_campaign`` reruns all targets in a subprocess with ``REPLICA_HYPOTHESIS_PROFILE=fuzz``
at ``REPLICA_FUZZ_SCALE`` (0.1 in CI: 10³ random cases; 1 by hand: the 10⁴-case campaign).
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from fuzz_harness import SCALE, classify, maybe_bad, n_examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from replica import Quantizer
from replica.regression import QuantizedRegression, solve_rs
from replica.teachers import DiscreteTeacher, GaussianTeacher

bits = maybe_bad(st.integers(1, 8), st.one_of(st.integers(-3, 0), st.floats(0.5, 3.5)))
widths = maybe_bad(
    st.floats(1e-3, 1e3),
    st.one_of(st.just(0.0), st.just(-1.0), st.just(math.nan), st.just(math.inf)),
)
alphas = maybe_bad(st.floats(1e-3, 1e3), st.one_of(st.just(0.0), st.just(-2.0), st.just(math.nan)))
betas = maybe_bad(
    st.one_of(st.floats(1e-3, 1e6), st.just(math.inf)), st.one_of(st.just(0.0), st.just(-1.0))
)
noises = maybe_bad(st.one_of(st.just(0.0), st.floats(1e-6, 10.0)), st.just(-0.5))
ridges = maybe_bad(st.one_of(st.just(0.0), st.floats(1e-6, 10.0)), st.just(math.inf))
grids = st.sampled_from(["endpoints", "midrise", "zero", "gaussian_quantile", "power", "pow2"])


def make_quantizer(kind, b, w):
    if kind in ("endpoints", "midrise", "zero"):
        return Quantizer.uniform(b, w, kind)
    if kind == "gaussian_quantile":
        return Quantizer.gaussian_quantile(b, w)
    if kind == "power":
        return Quantizer.power(b, w, 2.0)
    return Quantizer.power_of_two(b, w)


@settings(max_examples=n_examples(40, 1500), deadline=None, suppress_health_check=list(HealthCheck))
@given(kind=grids, b=bits, w=widths, mean=st.floats(-1e3, 1e3), var=st.floats(0, 1e3))
def test_fuzz_quantizer(kind, b, w, mean, var):
    def call():
        q = make_quantizer(kind, b, w)
        m = q.gaussian_moments(mean, var)
        return {"first": m.first, "second": m.second, "cross": m.cross, "x": q(mean)}

    classify("Quantizer", call)


@settings(max_examples=n_examples(60, 2500), deadline=None, suppress_health_check=list(HealthCheck))
@given(
    kind=grids, b=bits, w=widths, alpha=alphas, beta=betas, noise=noises, ridge=ridges,
    teacher=st.sampled_from(["gauss", "grid"]), init=st.sampled_from([None, "informative"]),
)  # fmt: skip
def test_fuzz_solve_rs(kind, b, w, alpha, beta, noise, ridge, teacher, init):
    def call():
        q = make_quantizer(kind, b, w)
        t = GaussianTeacher() if teacher == "gauss" else DiscreteTeacher.on_grid(q)
        model = QuantizedRegression(quantizer=q, alpha=alpha, beta=beta, noise=noise, ridge=ridge,
                                    teacher=t)  # fmt: skip
        return solve_rs(model, throw=False, init=init)

    classify("solve_rs", call, tol=1e-10, allow_inf=("at", "A", "m_hat", "q_hat", "Q_hat"))


@pytest.mark.slow
def test_fuzz_campaign():
    """Run every fuzz target (tests/test_fuzz*.py) at campaign size in a subprocess and check the
    total number of generated cases (per-target counts are printed in the log)."""
    import glob
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    files = sorted(glob.glob(os.path.join(root, "tests", "test_fuzz*.py")))
    env = {**os.environ, "REPLICA_HYPOTHESIS_PROFILE": "fuzz", "REPLICA_FUZZ_SCALE": str(SCALE)}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files,
         "-k", "fuzz_ and not campaign"],
        capture_output=True, text=True, env=env, cwd=root,
    )  # fmt: skip
    print(out.stdout[-4000:])
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    total = sum(int(n) for n in __import__("re").findall(r"fuzz-total (\d+)", out.stdout))
    assert total >= 0.9 * 10_000 * SCALE, out.stdout[-2000:]


def test_classify_detects_nan():
    # the harness itself must be able to fail
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class R:
        status: str
        residual: float
        x: float

    with pytest.raises(AssertionError, match="NaN"):
        classify("self-test", lambda: R("converged", 0.0, float("nan")))
    with pytest.raises(AssertionError, match="unclear ValueError"):
        classify("self-test", lambda: (_ for _ in ()).throw(ValueError("oops")))
    assert classify("self-test", lambda: R("max_iter", 1.0, 2.0)) == "flagged"
    assert np.isfinite(1.0)
