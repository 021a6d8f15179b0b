"""Monte Carlo on the Gibbs measure (replica.mc): exact enumeration and parallel tempering.

Kinds of truth:
- identities: enumeration = brute force over all configurations (to rounding); the
  thermodynamic identities dφ/dβ = −e, de/dβ = −Var(H)/N, φ(0) = ln K, s ≥ 0 (central
  differences, tolerance from their O(h²) error);
- statistical tests with fixed seeds: the sampler equals the exact enumeration of the same
  instance in the RS phase, in the RSB phase and in the entropy-crisis region. Tolerance:
  3 standard errors, each the jackknife over 16 independent replicas (so the autocorrelation
  of the chains is accounted for, and the standard error has 15 degrees of freedom);
- error paths and the not-equilibrated status.
The larger runs (ensembles over N and the comparison with the replica theory) are in
tests/test_mc_slow.py and paper_repro/kashiwamura2024_mc.py.
"""

from __future__ import annotations

import itertools
import math
import subprocess
import sys

import numpy as np
import pytest

from replica import ConvergenceError, QuantizedRegression, Quantizer, mc
from replica.amp import generate


def model_at(bits, width, alpha=2.0, beta=5.0):
    return QuantizedRegression(quantizer=Quantizer.uniform(bits, width), alpha=alpha, beta=beta,
                               noise=0.1)  # fmt: skip


def small_instance(seed=0, N=6, M=9):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((M, N)) / math.sqrt(N)
    w0 = rng.standard_normal(N)
    return X, X @ w0 + 0.3 * rng.standard_normal(M), w0


# --------------------------------------------------------------------------------- enumeration
@pytest.mark.parametrize("levels,ridge", [([-1.0, 1.0], 0.0), ([-1.5, -0.5, 0.5, 1.5], 0.3),
                                          ([-2.0, 0.0, 0.7], 0.0)])  # fmt: skip
def test_enumerate_equals_brute_force(levels, ridge):
    X, y, w0 = small_instance(N=7)
    betas = [0.0, 0.7, 5.0, 40.0]
    r = mc.enumerate(X, y, levels, betas, ridge=ridge, teacher=w0)
    W = np.array(list(itertools.product(levels, repeat=7)))
    H = 0.5 * np.sum((y - W @ X.T) ** 2, axis=1) + 0.5 * ridge * np.sum(W**2, axis=1)
    for j, b in enumerate(betas):
        p = np.exp(-b * (H - H.min()))
        Z = p.sum()
        p /= Z
        gm = p @ W
        # rounding only: sums of 2187 positive terms in a different order
        tol = dict(rel=1e-10, abs=1e-12)
        assert r.energy[j] == pytest.approx(p @ H / 7, **tol)
        assert r.energy_var[j] == pytest.approx((p @ H**2 - (p @ H) ** 2) / 7, rel=1e-8, abs=1e-12)
        assert r.free_entropy[j] == pytest.approx((math.log(Z) - b * H.min()) / 7, **tol)
        np.testing.assert_allclose(r.gibbs_mean[j], gm, rtol=1e-10, atol=1e-12)
        assert r.Q[j] == pytest.approx(p @ np.sum(W**2, axis=1) / 7, **tol)
        assert r.q[j] == pytest.approx(gm @ gm / 7, **tol)
        assert r.mse[j] == pytest.approx(np.mean((gm - w0) ** 2), **tol)
        assert r.mse_sample[j] == pytest.approx(p @ np.mean((W - w0) ** 2, axis=1), **tol)
        res2 = np.sum((y - W @ X.T) ** 2, axis=1) / y.size
        assert r.train_sample[j] == pytest.approx(p @ res2, **tol)
        assert r.train[j] == pytest.approx(np.sum((y - X @ gm) ** 2) / y.size, **tol)
    assert r.ground_energy == pytest.approx(H.min() / 7, rel=1e-12)
    assert r.n_configs == len(levels) ** 7


def test_enumerate_thermodynamic_identities():
    X, y, w0 = small_instance(seed=1, N=10, M=12)
    lv = Quantizer.uniform(1, 1.0)
    b, h = 2.0, 1e-4
    r = mc.enumerate(X, y, lv, [0.0, b - h, b, b + h], teacher=w0)
    assert r.free_entropy[0] == pytest.approx(math.log(2), abs=1e-14)
    assert r.entropy[0] == pytest.approx(math.log(2), abs=1e-14)
    # central differences: O(h²) ≈ 1e-8 relative error
    assert (r.free_entropy[3] - r.free_entropy[1]) / (2 * h) == pytest.approx(-r.energy[2],
                                                                              rel=1e-6)  # fmt: skip
    assert (r.energy[3] - r.energy[1]) / (2 * h) == pytest.approx(-r.energy_var[2], rel=1e-6)
    assert np.all(r.entropy >= -1e-12) and np.all(r.entropy <= math.log(2) + 1e-12)
    # the prefix/suffix split is invisible: a suffix-only enumeration (N below the split) agrees
    r2 = mc.enumerate(X[:, :5], y, lv, [b])
    r3 = mc.enumerate(X[:, :5], y, lv, [b], max_configs=32)
    assert r2.free_entropy[0] == r3.free_entropy[0]


def test_enumerate_refuses_large_instances_before_allocating():
    X = np.zeros((2, 40))  # 2^40 configurations: refused from the shape alone
    with pytest.raises(
        ValueError, match=r"X: expected an instance with at most max_configs=20000000"
    ):
        mc.enumerate(X, np.zeros(2), [-1.0, 1.0], 1.0)
    with pytest.raises(ValueError, match="max_configs"):
        mc.enumerate(np.zeros((2, 5)), np.zeros(2), [-1.0, 1.0], 1.0, max_configs=31)


@pytest.mark.parametrize("kw,match", [
    ({"beta": -1.0}, "beta: expected"),
    ({"beta": math.inf}, "beta: expected"),
    ({"ridge": -0.1}, "ridge: expected"),
    ({"teacher": np.zeros(3)}, "teacher: expected"),
    ({"quantizer": [1.0, -1.0]}, "quantizer: expected"),
])  # fmt: skip
def test_enumerate_bad_input(kw, match):
    X, y, _ = small_instance()
    args = {"X": X, "y": y, "quantizer": [-1.0, 1.0], "beta": 1.0} | kw
    with pytest.raises(ValueError, match=match):
        mc.enumerate(**args)


# ------------------------------------------------------------------- sampler = enumeration
FIELDS = ("energy", "mse", "mse_sample", "q", "Q", "free_entropy", "entropy", "train",
          "train_sample")  # fmt: skip


def compare(res, ex, where):
    """Every field at the ladder points ``where``: |MC − exact| ≤ 3 SE (+ rounding where the
    field is constant, e.g. Q for ±ω weights, whose SE is exactly 0)."""
    for k in FIELDS:
        for t in where:
            got, want, se = getattr(res, k)[t], getattr(ex, k)[t], getattr(res, k + "_se")[t]
            assert abs(got - want) <= 3 * se + 1e-12, (k, res.beta[t], got, want, se)


# (bits, width, alpha, N): RS phase (card points, AT = 0.24 and 0.46), RSB phase (AT > 1) and the
# entropy-crisis region (RS entropy < 0)
CASES = {
    "rs_b1": (1, 0.5, 2.0, 14),
    "rs_b2": (2, 1.5, 2.0, 8),
    "rsb": (2, 2.7, 2.0, 10),
    "crisis": (1, 3.0, 0.6, 16),
}


@pytest.mark.parametrize("case", list(CASES))
def test_sampler_equals_enumeration(case):
    bits, width, alpha, N = CASES[case]
    model = model_at(bits, width, alpha)
    inst = generate(model, N, seed=2)
    lad = mc.ladder(5.0, 12)
    ex = mc.enumerate(inst.X, inst.y, model.quantizer, lad, teacher=inst.w0)
    res = mc.sample(inst.X, inst.y, model.quantizer, lad, teacher=inst.w0, sweeps=2000,
                    replicas=16, seed=3)  # fmt: skip
    assert res.status == "equilibrated" and res.converged
    assert np.all(res.swap_rate > 0.2)
    assert np.all(np.isfinite(res.tau_replicas)) and np.all(res.tau_replicas >= 0)
    compare(res, ex, where=[5, 11])  # the middle and the top of the ladder
    if case == "crisis":
        # the measured entropy at β = 5 is ≥ 0 within error (RS predicts −0.18 at N = ∞)
        assert res.entropy[-1] + 3 * res.entropy_se[-1] >= 0
    # P(q) is a normalised density
    assert np.sum(res.pq[-1] * np.diff(res.pq_edges)) == pytest.approx(1.0, abs=1e-12)


def test_sampler_reproducible_and_thermodynamic_integration():
    model = model_at(1, 0.5)
    inst = generate(model, 12, seed=5)
    lad = mc.ladder(5.0, 24)  # dense: the quadrature error of the integration is small
    kw = dict(teacher=inst.w0, sweeps=400, replicas=4, seed=11, throw=False)
    a = mc.sample(inst.X, inst.y, model.quantizer, lad, **kw)
    b = mc.sample(inst.X, inst.y, model.quantizer, lad, **kw)
    assert np.array_equal(a.energy, b.energy) and np.array_equal(a.pq, b.pq)
    # the two estimators of φ agree within their errors plus the quadrature bound
    gap = np.abs(a.free_entropy_ti - a.free_entropy)
    assert np.all(gap <= 3 * (a.free_entropy_se + a.free_entropy_ti_se) + a.ti_error + 1e-12)
    assert a.beta[0] == 0.0 and a.free_entropy[0] == math.log(2)
    # β = 0 is prepended to a ladder that does not start there
    c = mc.sample(inst.X, inst.y, model.quantizer, [1.0, 5.0], sweeps=20, replicas=2, throw=False)
    assert c.beta.tolist() == [0.0, 1.0, 5.0] and c.mse is None


def test_not_equilibrated_is_reported():
    # no tempering ladder, 50 sweeps, a rugged instance (wide binary grid, alpha < 1): the hot
    # starts stay in other valleys than the cold (quenched least-squares) start
    model = model_at(1, 3.0, alpha=0.6)
    inst = generate(model, 24, seed=0)
    res = mc.sample(inst.X, inst.y, model.quantizer, [5.0], teacher=inst.w0, sweeps=50,
                    replicas=8, seed=3, throw=False)  # fmt: skip
    assert res.status == "not_equilibrated" and not res.converged
    assert res.residual > 4.0
    with pytest.raises(ConvergenceError, match="not_equilibrated") as err:
        mc.sample(inst.X, inst.y, model.quantizer, [5.0], sweeps=50, replicas=8, seed=3)
    assert err.value.result.status == "not_equilibrated"


@pytest.mark.parametrize("kw,match", [
    ({"betas": [0.0, 2.0, 1.0]}, "betas: expected a strictly increasing"),
    ({"betas": [1.0, 1.0]}, "betas: expected a strictly increasing"),
    ({"betas": [0.0, math.inf]}, "betas: expected"),
    ({"sweeps": 0}, "sweeps: expected an integer >= 1"),
    ({"sweeps": -5}, "sweeps: expected an integer >= 1"),
    ({"replicas": 1}, "replicas: expected an integer >= 2"),
    ({"burn_in": -1}, "burn_in: expected"),
    ({"y": np.zeros(3)}, "y: expected an array of shape"),
])  # fmt: skip
def test_sample_bad_input(kw, match):
    X, y, _ = small_instance()
    args = {"X": X, "y": y, "quantizer": [-1.0, 1.0], "betas": [0.0, 1.0], "sweeps": 5} | kw
    with pytest.raises(ValueError, match=match):
        mc.sample(**args)
    with pytest.raises(ValueError, match="power: expected"):
        mc.ladder(5.0, 4, power=-1.0)


def test_import_is_light():
    code = ("import sys, replica; from replica import mc; "
            "print(sorted(m for m in sys.modules if m.startswith('replica.mc.')))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------------------- ensembles
def test_experiment_checkpoint_resume_and_bookkeeping(tmp_path):
    model = model_at(1, 0.5)
    path = tmp_path / "mc.nc"
    kw = dict(sizes=(6, 8), seeds=3, sweeps=60, replicas=2, batch=2, checkpoint=path)
    ds = mc.experiment(model, **kw)
    assert path.exists()
    assert ds["status"].shape == (2, 3) and np.all(ds["status"].values >= -1)
    assert ds["beta"].values[0] == 0.0 and ds["beta"].values[-1] == 5.0
    # the instances are those of amp.experiment; the batch does not change any of them
    one = mc.experiment(model, sizes=(8,), seeds=[2], sweeps=60, replicas=2, batch=1)
    np.testing.assert_array_equal(one["energy"].values[0, 0], ds["energy"].sel(size=8).values[2])
    # a rerun loads every instance instead of recomputing (identical values)
    every = ("equilibrated", "short_run", "not_equilibrated")
    again = mc.experiment(model, **kw, use=every)  # the summary options are not in the key
    np.testing.assert_array_equal(again["energy"].values, ds["energy"].values)
    assert again["n_used"].values.tolist() == [3, 3]
    assert np.all(ds["n_used"].values == ds["n_equilibrated"].values)
    # RS predictions at every beta > 0 of the ladder; z-scores defined where a fit exists
    rs = ds["rs_energy"].values
    assert np.isnan(rs[0]) and np.all(np.isfinite(rs[1:]))
    assert ds.attrs["fit_dof"] == 0
    # another configuration on the same file is refused
    with pytest.raises(ValueError, match="checkpoint: expected a file of this Monte-Carlo"):
        mc.experiment(model, **(kw | {"sweeps": 61}))


@pytest.mark.parametrize("kw,match", [
    ({"sizes": (1,)}, "sizes: expected an integer >= 2"),
    ({"sizes": (8, 8)}, "sizes: expected distinct"),
    ({"seeds": 0}, "seeds: expected an integer >= 1"),
    ({"betas": [0.0, 1.0, 2.0]}, "betas: expected a ladder containing model.beta"),
    ({"betas": [0.0, 5.0, 3.0]}, "betas: expected a strictly increasing"),
    ({"sweeps": 0}, "sweeps: expected an integer >= 1"),
    ({"use": ("converged",)}, "use: expected a non-empty sequence of statuses"),
])  # fmt: skip
def test_experiment_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        mc.experiment(model_at(1, 0.5), **({"sizes": (6,), "seeds": 1, "sweeps": 5} | kw))
