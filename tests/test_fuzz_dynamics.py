"""Property-based fuzzing of :mod:`replica.dynamics` (STE limit dynamics and finite-d STE).

Every call raises a clear ValueError, converges honestly, or flags non-convergence; never a
silent NaN or another exception type (see ``tests/fuzz_harness.py``). Sizes are tiny (d ≤ 24,
a few hundred particles, ≤ 60 cells) so that one generated case stays well below a second.
"""

from __future__ import annotations

import math

import numpy as np
from fuzz_harness import classify, n_examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from replica import Quantizer
from replica.dynamics import (
    Elementwise,
    STEProblem,
    fixed_points,
    max_stable_lr,
    ode,
    pde,
    simulate,
)

widths = st.floats(1e-3, 1e3)


def rarely(special, common):
    """``common`` draws with 1 in 8 from ``special`` (an extreme value such as 0)."""
    return st.integers(0, 7).flatmap(lambda i: special if i == 5 else common)


VALID = {
    "eta": rarely(st.sampled_from([1e-4, 10.0]), st.floats(1e-4, 10.0)),
    "ridge": rarely(st.just(0.0), st.floats(1e-6, 10.0)),
    "noise": rarely(st.just(0.0), st.floats(1e-6, 10.0)),
    "teacher": st.sampled_from(["gaussian", "constant"]),
    "rho": st.floats(1e-3, 1e3),
    "init": rarely(st.just(0.0), st.floats(1e-3, 10.0)),
    "init_align": st.floats(-2.0, 2.0),
    "ridge_on": st.sampled_from(["latent", "quantized"]),
    "ste": rarely(st.just("clipped"), st.just("plain")),
    "error_scale": st.sampled_from([0.5, 1.0]),
    "error_noise": st.booleans(),
}
BAD = {
    "eta": st.sampled_from([0.0, -1.0, math.nan, math.inf, True]),
    "ridge": st.sampled_from([-1.0, math.inf, math.nan]),
    "noise": st.sampled_from([-0.5, math.nan, math.inf]),
    "teacher": st.just("uniform"),
    "rho": st.sampled_from([0.0, -1.0, math.nan, math.inf]),
    "init": st.sampled_from([-1.0, math.inf, math.nan]),
    "init_align": st.sampled_from([math.nan, math.inf, "a"]),
    "ridge_on": st.just("both"),
    "ste": st.just("soft"),
    "error_scale": st.sampled_from([2.0, 0.0]),
    "error_noise": st.sampled_from([1, "yes"]),
    "weight_quantizer": st.sampled_from([3.0, "q", np.tanh]),
    "input_quantizer": st.sampled_from([3.0, Quantizer(levels=[0.0, 1.0])]),
}


@st.composite
def transforms(draw, role):
    """None, a Quantizer (any convention, 1..4 bits, width 1e-3..1e3), an Elementwise map, or
    (rarely) something invalid."""
    kind = draw(st.sampled_from(["none", "none", "uniform", "uniform", "quantile", "tanh"]))
    if kind == "none":
        return None
    w = draw(widths)
    b = draw(st.integers(1, 4))
    if kind == "uniform":
        conv = draw(st.sampled_from(["endpoints", "midrise", "zero"]))
        return Quantizer.uniform(max(b, 2) if conv == "zero" else b, w, conv)
    if kind == "quantile":
        return Quantizer.gaussian_quantile(b, w)
    if kind == "tanh":
        return Elementwise(fn=lambda x, w=w: w * np.tanh(x / w), name="tanh", order=32)


@st.composite
def problems(draw):
    """Valid STEProblem keywords; one in eight cases has one field replaced by an invalid value."""
    kw = {k: draw(v) for k, v in VALID.items()}
    kw["weight_quantizer"] = draw(transforms("w"))
    kw["input_quantizer"] = draw(transforms("x"))
    if draw(st.integers(0, 7)) == 5:
        name = draw(st.sampled_from(sorted(BAD, key=lambda k: k[::-1])))
        kw[name] = draw(BAD[name])
    return kw


@settings(max_examples=n_examples(40, 800), deadline=None, suppress_health_check=list(HealthCheck))
@given(kw=problems(), m=st.floats(-1e3, 1e3), q=st.floats(0.0, 1e3))
def test_fuzz_ste_problem(kw, m, q):
    def call():
        p = STEProblem(**kw)
        w = np.array([-1e3, -1.0, 0.0, 0.5, 1e3])
        return {
            "kappa_x": p.kappa_x,
            "gamma_x": p.gamma_x,
            "m0": p.m0,
            "Q0": p.Q0,
            "psi_w": p.psi_w(w),
            "e": p.residual(m, q),
            "eg": p.generalization_error(m, q),
        }

    classify("STEProblem", call)


@settings(max_examples=n_examples(30, 800), deadline=None, suppress_health_check=list(HealthCheck))
@given(
    kw=problems(),
    t_max=rarely(st.sampled_from([0.0, -1.0, math.inf, math.nan]), st.floats(1e-3, 5.0)),
    closure=rarely(st.just("gaussian"), st.just("isotropic")),
    n_points=st.integers(2, 21),
)
def test_fuzz_ste_ode(kw, t_max, closure, n_points):
    def call():
        p = STEProblem(**kw)
        return ode(p, t_max, closure=closure, n_points=n_points, throw=False, max_nfev=10_000)

    classify("ste.ode", call)


@settings(max_examples=n_examples(20, 500), deadline=None, suppress_health_check=list(HealthCheck))
@given(
    kw=problems(),
    kind=rarely(st.just("rs"), st.sampled_from(["auto", "auto", "exact", "isotropic", "gibbs"])),
    q_lo=st.floats(1e-4, 1.0),
    n_teacher=rarely(st.integers(0, 400), st.integers(401, 801)),
)
def test_fuzz_ste_fixed_points(kw, kind, q_lo, n_teacher):
    def call():
        p = STEProblem(**kw)
        fps = fixed_points(p, kind, q_range=(q_lo, 1e3), n_teacher=n_teacher)
        out = {"max_stable_lr": max_stable_lr(p), "n": len(fps)}
        for i, fp in enumerate(fps):
            # every root found is a converged stationary point with a tiny drift
            assert fp.status == "converged" and fp.residual <= 1e-6 * (1 + abs(fp.e)), fp
            for name in ("m", "Q", "m_psi", "q_psi", "e", "eg", "temperature"):
                v = getattr(fp, name)
                if v is not None:
                    out[f"{name}[{i}]"] = v
            if fp.eigenvalues is not None:
                out[f"eigenvalues[{i}]"] = np.array(fp.eigenvalues)
        return out

    # max_stable_lr is inf for bounded (quantized) weights: documented; Q is inf at exactly
    # η = η_c (the exact fixed point is at infinity)
    classify("ste.fixed_points", call, allow_inf=("max_stable_lr", "Q[0]", "q_psi[0]", "e[0]",
                                                  "eg[0]"))  # fmt: skip


@settings(max_examples=n_examples(20, 500), deadline=None, suppress_health_check=list(HealthCheck))
@given(
    kw=problems(),
    d=rarely(st.sampled_from([0, -3, 2.5]), st.integers(1, 24)),
    t_max=rarely(st.sampled_from([0.0, math.nan]), st.floats(0.05, 3.0)),
    seeds=st.lists(st.integers(0, 2**31), min_size=1, max_size=3),
    n_points=st.integers(2, 9),
    chunk=st.integers(1, 64),
)
def test_fuzz_ste_simulate(kw, d, t_max, seeds, n_points, chunk):
    def call():
        p = STEProblem(**kw)
        sim = simulate(p, d, t_max, seeds=seeds, n_points=n_points, chunk=chunk, throw=False)
        # a seed that blew up is flagged (status, per-seed mask), never silently
        assert (sim.status == "diverged") == bool(sim.diverged.any())
        return sim

    classify("ste.simulate", call, allow_inf=("diverged_at", "residual"))


@settings(max_examples=n_examples(20, 400), deadline=None, suppress_health_check=list(HealthCheck))
@given(
    kw=problems(),
    method=rarely(st.just("spectral"), st.sampled_from(["particles", "grid"])),
    t_max=rarely(st.sampled_from([0.0, math.inf]), st.floats(0.01, 2.0)),
    n_points=st.integers(2, 6),
    n_particles=rarely(st.just(10), st.integers(100, 400)),
    n_cells=rarely(st.just(3), st.integers(10, 60)),
    n_teacher=st.integers(1, 8),
    seed=st.integers(0, 2**31),
)
def test_fuzz_ste_pde(kw, method, t_max, n_points, n_particles, n_cells, n_teacher, seed):
    def call():
        p = STEProblem(**kw)
        # keep the number of time steps (≈ 100 η(γ_x + λ) t_max) small per case
        dt = max(0.01 / (p.eta * (p.gamma_x + p.ridge)), t_max / 400)
        return pde(p, t_max, method=method, n_points=n_points, dt=dt, density_times=(t_max,),
                   n_particles=n_particles, n_cells=n_cells, n_teacher=n_teacher, seed=seed,
                   throw=False)  # fmt: skip

    classify("ste.pde", call)
