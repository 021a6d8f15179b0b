"""Property-based fuzzing of :mod:`replica.sgd` (quantized SGD theory, Monte Carlo, bounds,
sketched regression).

Every call raises a clear ValueError, converges honestly, or flags non-convergence; never a
silent NaN or another exception type (see ``tests/fuzz_harness.py``). Sizes are tiny (d ≤ 12,
N ≤ 60, a handful of repeats) so that one generated case stays well below a second.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from fuzz_harness import classify, n_examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from replica.noise import Additive, FloatRounding, IntRounding, Multiplicative
from replica.sgd import (
    SITES,
    SGDProblem,
    SketchedProblem,
    StepSizeWarning,
    bounds,
    exact_risk,
    geometric_decay,
    simulate,
    sketched_risk,
)


def rarely(special, common):
    """``common`` draws with 1 in 16 from ``special`` (an extreme or invalid value)."""
    return st.integers(0, 15).flatmap(lambda i: special if i == 5 else common)


eps = rarely(st.sampled_from([0.0, 1.0]), st.floats(1e-6, 1.0))
noise_models = st.one_of(
    st.builds(Additive, eps=eps),
    st.builds(Multiplicative, eps=eps, mode=st.sampled_from(["rank_one", "coordinate"])),
    st.builds(IntRounding, bits=st.integers(1, 16), scale=st.floats(1e-3, 1e3)),
    st.builds(FloatRounding, mantissa_bits=st.integers(0, 23)),
)
BAD_MODELS = st.sampled_from([0.1, "int8", Additive])


@st.composite
def quantizations(draw, allow_bad=True):
    sites = draw(st.lists(st.sampled_from(SITES), unique=True, max_size=5))
    q = {s: draw(st.one_of(st.none(), noise_models)) for s in sites}
    if allow_bad and draw(st.integers(0, 15)) == 5:
        q[draw(st.sampled_from(["weights", *SITES]))] = draw(BAD_MODELS)
    return q


@st.composite
def spectra(draw):
    d = draw(st.integers(1, 12))
    kind = draw(st.sampled_from(["power", "power", "flat", "random", "bad"]))
    if kind == "power":
        a = draw(st.floats(0.1, 4.0))
        return np.arange(1, d + 1, dtype=float) ** -a
    if kind == "flat":
        return np.full(d, draw(st.floats(1e-3, 1e3)))
    if kind == "random":
        return np.array(draw(st.lists(st.floats(1e-3, 1e3), min_size=d, max_size=d)))
    if draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from([[], [1.0, -1.0], [math.nan], [[1.0]], [0.0], [math.inf]]))
    return np.arange(1, d + 1, dtype=float) ** -2.0


@st.composite
def sgd_problems(draw):
    """Keyword arguments of a (mostly valid) SGDProblem; the step is a fraction of the stable
    limit 2/λ_max(H^(q)) (sometimes beyond it), constant or a schedule."""
    lam = draw(spectra())
    d = np.asarray(lam).size if np.ndim(lam) == 1 else 1
    n = draw(st.integers(1, 60))
    kw = dict(spectrum=lam, noise=draw(rarely(st.just(0.0), st.floats(1e-6, 10.0))))
    kw["batch"] = draw(rarely(st.sampled_from([0, 2.5, True]), st.integers(1, 8)))
    kw["w_star"] = draw(st.one_of(st.floats(-10, 10), st.just(1.0),
                                  st.lists(st.floats(-10, 10), min_size=d, max_size=d)))  # fmt: skip
    kw["w0"] = draw(rarely(st.just(math.nan), st.one_of(st.just(0.0), st.floats(-5, 5))))
    kw["quantization"] = draw(quantizations())
    frac = draw(rarely(st.floats(2.0, 4.0), st.floats(1e-4, 1.0)))
    lmax = float(np.max(lam)) if np.ndim(lam) == 1 and np.size(lam) else 1.0
    if not math.isfinite(lmax) or lmax <= 0:
        lmax = 1.0
    gamma = frac / lmax
    sched = draw(st.sampled_from(["constant", "constant", "geometric", "array", "bad"]))
    if sched == "constant":
        kw.update(step=gamma, steps=n)
    elif sched == "geometric":
        kw.update(step=geometric_decay(gamma, n, draw(st.integers(1, n))))
    elif sched == "array":
        kw.update(step=gamma * np.array(draw(st.lists(st.floats(0.01, 1.0), min_size=n,
                                                      max_size=n))))  # fmt: skip
    else:
        kw.update(draw(st.sampled_from([dict(step=-gamma, steps=n), dict(step=gamma),
                                        dict(step=[gamma, math.nan]), dict(step=gamma, steps=0),
                                        dict(step=[gamma] * 3, steps=4)])))  # fmt: skip
    avg = draw(rarely(st.just("mean"), st.sampled_from(["iterate", "last", "tail"])))
    kw["averaging"] = avg
    if avg == "tail" and draw(st.booleans()):
        kw["tail_start"] = draw(st.integers(-1, n))
    return kw


def build(kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StepSizeWarning)  # documented warning, not an error
        return SGDProblem(**kw)


@settings(max_examples=n_examples(40, 900), deadline=None, suppress_health_check=list(HealthCheck))
@given(kw=sgd_problems())
def test_fuzz_sgd_problem(kw):
    def call():
        p = build(kw)
        return {
            "hessian_q": p.hessian_q,
            "w_q_star": p.w_q_star,
            "alpha_b": p.alpha_b,
            "step_array": p.step_array,
        }

    classify("SGDProblem", call)


@settings(max_examples=n_examples(40, 900), deadline=None, suppress_health_check=list(HealthCheck))
@given(kw=sgd_problems(), test=rarely(st.just("train"), st.sampled_from(["full", "quantized"])))
def test_fuzz_sgd_exact_risk(kw, test):
    def call():
        curve = exact_risk(build(kw), test=test, throw=False)
        assert curve.status in ("converged", "diverged")
        if curve.status == "converged":
            # the decomposition adds up and each part is a non-negative expectation
            # (tolerance: rounding of sums of O(d) terms)
            np.testing.assert_allclose(
                curve.risk, curve.bias + curve.variance + curve.approximation, rtol=1e-12
            )
            assert np.all(curve.bias >= 0) and np.all(curve.variance >= -1e-12 * curve.risk)
        return curve

    classify("sgd.exact_risk", call, tol=0.0)


@settings(max_examples=n_examples(20, 500), deadline=None, suppress_health_check=list(HealthCheck))
@given(
    kw=sgd_problems(),
    repeats=rarely(st.sampled_from([1, 0, 2.0]), st.integers(2, 6)),
    seed=rarely(st.just(-1), st.integers(0, 2**31)),
    quantizer=rarely(st.just("real"), st.sampled_from(["given", "model"])),
    test=st.sampled_from(["full", "quantized"]),
    record=rarely(st.sampled_from([[0], [1.5], []]), st.one_of(st.none(), st.just([1]))),
)
def test_fuzz_sgd_simulate(kw, repeats, seed, quantizer, test, record):
    def call():
        return simulate(build(kw), repeats=repeats, seed=seed, quantizer=quantizer, test=test,
                        record=record, throw=False)  # fmt: skip

    # a run that overflowed is flagged (status diverged, mean/se inf), never NaN
    classify("sgd.simulate", call, tol=0.0)


@settings(max_examples=n_examples(20, 300), deadline=None, suppress_health_check=list(HealthCheck))
@given(
    kw=sgd_problems(),
    steps=rarely(st.sampled_from([[0], [2.5]]), st.one_of(st.none(), st.just([1, 10, 100]))),
    test=rarely(st.just("train"), st.sampled_from(["full", "quantized"])),
    setting=st.integers(0, 3),
)
def test_fuzz_sgd_bounds(kw, steps, test, setting):
    if setting and np.ndim(kw.get("step")) == 1 and len(kw["step"]) >= 1:
        # mostly the theorem's setting: a constant step and the iterate average
        kw = kw | dict(step=float(np.max(kw["step"])), steps=len(kw["step"]))
    if setting:
        kw = kw | dict(averaging="iterate", tail_start=None)

    def call():
        b = bounds(build(kw), steps=steps, test=test)
        # documented: an invalid step condition reports the bound as inf
        assert b.valid or np.all(np.isinf(b.total))
        return {k: v for k, v in vars(b).items() if k not in ("var_err", "total")} | {
            "var_err": b.var_err if b.valid else 0.0,
            "total": b.total if b.valid else 0.0,
        }

    classify("sgd.bounds", call)


@settings(max_examples=n_examples(20, 400), deadline=None, suppress_health_check=list(HealthCheck))
@given(
    exponent=rarely(st.sampled_from([1.0, 0.5, math.nan]), st.floats(1.01, 4.0)),
    dim=rarely(st.just(0), st.integers(1, 24)),
    m_frac=st.floats(0.0, 1.0),
    samples=rarely(st.just(1), st.integers(2, 60)),
    noise=rarely(st.sampled_from([0.0, -1.0]), st.floats(1e-6, 10.0)),
    step_frac=rarely(st.sampled_from([1.0, 2.0, 0.0]), st.floats(1e-3, 0.99)),
    schedule=rarely(st.just("cosine"), st.sampled_from(["geometric", "constant"])),
    quantization=quantizations(),
    source=st.floats(-1.0, 3.0),
    test=st.sampled_from(["full", "quantized"]),
    basis=rarely(st.just("fourier"), st.sampled_from(["sketch", "eigen"])),
    sketches=st.integers(1, 2),
    seed=st.integers(0, 2**31),
)
def test_fuzz_sgd_sketched(exponent, dim, m_frac, samples, noise, step_frac, schedule,
                           quantization, source, test, basis, sketches, seed):  # fmt: skip
    def call():
        M = max(1, round(m_frac * dim)) if isinstance(dim, int) else 1
        base = SketchedProblem(exponent=exponent, dim=dim, model_size=M, samples=samples,
                               noise=noise, step=1e-3, schedule=schedule,
                               quantization=quantization, seed=seed, source=source, test=test)  # fmt: skip
        step = step_frac * base.max_step()
        p = SketchedProblem(exponent=exponent, dim=dim, model_size=M, samples=samples,
                            noise=noise, step=step, schedule=schedule, quantization=quantization,
                            seed=seed, source=source, test=test)  # fmt: skip
        return sketched_risk(p, sketches=sketches, basis=basis)

    classify("sgd.sketched_risk", call)
