"""The array-API (torch) code paths (replica.amp, dynamics.simulate), run on torch's CPU build.

CI installs the CPU build of torch (.ci/run), so these run in every CI run (there, with
REPLICA_REQUIRE_TORCH=1, a missing torch is an error); elsewhere they skip without torch.
Kind of truth: identities between backends, the numpy path being the reference: the same
arithmetic in float64 (agreement to rounding, BLAS summation order aside), single precision in
float32 (agreement to its rounding propagated through a contracting iteration). The GPU
versions of the AMP checks are test_amp.py::test_backend_matches_numpy.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from replica import QuantizedRegression, Quantizer, amp, channel
from replica.amp import backend
from replica.amp.amp import default_tol
from replica.designs import CovarianceDesign

if os.environ.get("REPLICA_REQUIRE_TORCH") == "1":
    import torch  # .ci/run installs torch and sets this: there a missing torch fails, not skips
else:
    torch = pytest.importorskip("torch")

CPU = backend.resolve("torch:cpu")
CPU32 = backend.resolve("torch:cpu", "float32")


def model(design=None, bits=2, width=1.5, **kw):
    kw = {"alpha": 2.0, "beta": 5.0, "noise": 0.1} | kw
    if design is not None:
        kw["design"] = design
    return QuantizedRegression(quantizer=Quantizer.uniform(bits, width), **kw)


def power_law(L=300):
    lam = 1.0 / np.arange(1, L + 1)
    return lam * (L / lam.sum())


def on_torch_cpu(x, dtype="float64"):
    return (
        isinstance(x, torch.Tensor) and x.device.type == "cpu" and str(x.dtype) == f"torch.{dtype}"
    )


@pytest.mark.parametrize("log_prior", [False, True])
def test_grid_posterior_torch_matches_numpy(log_prior):
    rng = np.random.default_rng(1)
    lv = Quantizer.uniform(3, 2.0).levels
    lp = -0.5 * 5.0 * 0.1 * lv**2 if log_prior else None
    r = 1.5 * rng.standard_normal(500)
    A_vec = rng.uniform(0.1, 50.0, 500)  # the full-variance form: one precision per weight
    xp = CPU.xp
    for A in (3.7, A_vec):
        f, v = channel.grid_posterior(r, A, lv, lp)
        tA = A if isinstance(A, float) else CPU.asarray(A)
        tf, tv = channel.grid_posterior(CPU.asarray(r), tA, CPU.asarray(lv),
                                        None if lp is None else CPU.asarray(lp), xp=xp)  # fmt: skip
        assert on_torch_cpu(tf) and on_torch_cpu(tv)
        # the numpy path (scalar A) uses another layout and summation order: 1e-13 absolute on
        # values of order 1 is a few hundred ulps of headroom over the rounding differences
        np.testing.assert_allclose(backend.to_numpy(tf), f, rtol=0, atol=1e-13)
        np.testing.assert_allclose(backend.to_numpy(tv), v, rtol=0, atol=1e-13)
        sf, sv = channel.grid_posterior(CPU32.asarray(r), A if isinstance(A, float)
                                        else CPU32.asarray(A), CPU32.asarray(lv),
                                        None if lp is None else CPU32.asarray(lp), xp=xp)  # fmt: skip
        assert on_torch_cpu(sf, "float32")
        # float32: eps = 1.2e-7 on logits up to A·|r q| ~ 1e2 (A ≤ 50): ~1e-5 in the weights
        np.testing.assert_allclose(backend.to_numpy(sf), f, rtol=0, atol=1e-4)
        np.testing.assert_allclose(backend.to_numpy(sv), v, rtol=0, atol=1e-4)


def test_amp_float32_and_auto_on_torch_cpu():
    m = model()
    inst = amp.generate(m, 500, seed=2)
    ref = amp.run(inst.X, inst.y, m.quantizer, m.beta, teacher=inst.w0)
    X, y, w0 = (CPU32.asarray(a) for a in inst)
    res = amp.run(X, y, m.quantizer, m.beta, teacher=w0)
    # float32's default tolerance 32·eps = 3.8e-6 (its residual has a rounding floor ~3e-7)
    assert res.converged and res.residual < default_tol("float32")
    assert on_torch_cpu(res.estimate, "float32") and on_torch_cpu(res.variance, "float32")
    # the float64 fixed point to float32 accuracy: 1e-7 relative rounding per mat-vec carried
    # through ~40 contracting iterations, plus the looser tolerance (3.8e-6 vs 1e-7)
    np.testing.assert_allclose(backend.to_numpy(res.estimate), ref.estimate, atol=1e-4)
    assert res.mse == pytest.approx(ref.mse, abs=1e-5)
    # damping="auto" on torch: where undamped AMP converges it is undamped AMP
    X, y, w0 = (CPU.asarray(a) for a in inst)
    auto = amp.run(X, y, m.quantizer, m.beta, teacher=w0, damping="auto")
    assert auto.converged and auto.damping == 0.0 and auto.n_iter == ref.n_iter
    assert len(auto.stages) == 1 and auto.stages[0][3] == "converged"
    np.testing.assert_allclose(backend.to_numpy(auto.estimate), ref.estimate, atol=1e-10)


@pytest.mark.parametrize("damping", [0.0, "auto"])
def test_vamp_torch_cpu_matches_numpy(damping):
    m = model(CovarianceDesign(eigenvalues=power_law()))
    inst = amp.generate(m, 300, seed=3)
    ref = amp.vamp(inst.X, inst.y, m.quantizer, m.beta, teacher=inst.w0, tol=1e-11,
                   damping=damping)  # fmt: skip
    X, y, w0 = (CPU.asarray(a) for a in inst)
    res = amp.vamp(X, y, m.quantizer, m.beta, teacher=w0, tol=1e-11, damping=damping)
    assert ref.converged and res.converged and res.n_iter == ref.n_iter
    assert on_torch_cpu(res.estimate) and on_torch_cpu(res.variance)
    # torch's SVD (its own LAPACK call) differs from numpy's by rounding and by the signs of
    # singular vectors, to which the LMMSE module is invariant; the iteration contracts, so the
    # fixed points agree to rounding: measured 3e-14, tolerance 1e-10
    np.testing.assert_allclose(backend.to_numpy(res.estimate), ref.estimate, rtol=0, atol=1e-10)
    assert res.mse == pytest.approx(ref.mse, abs=1e-12)
    assert res.A == pytest.approx(ref.A, rel=1e-10)
    assert res.damping == ref.damping == 0.0
    assert [st[0] for st in res.stages] == [st[0] for st in ref.stages]
    # float32 on torch: converges with the dtype's default tolerance (a fixed 1e-7 cannot: the
    # residual's rounding floor is a few 1e-7) to the float64 fixed point within 1e-4
    X, y, w0 = (CPU32.asarray(a) for a in inst)
    r32 = amp.vamp(X, y, m.quantizer, m.beta, teacher=w0, damping=damping)
    assert r32.converged and on_torch_cpu(r32.estimate, "float32")
    np.testing.assert_allclose(backend.to_numpy(r32.estimate), ref.estimate, rtol=0, atol=1e-4)


def test_generate_on_torch_cpu():
    # a structured design is drawn with numpy and moved: the same instance as on numpy
    m = model(CovarianceDesign(eigenvalues=power_law()))
    ref = amp.generate(m, 200, seed=1)
    inst = amp.generate(m, 200, seed=1, backend="torch:cpu")
    assert all(on_torch_cpu(a) for a in inst)
    np.testing.assert_array_equal(backend.to_numpy(inst.X), ref.X)
    np.testing.assert_array_equal(backend.to_numpy(inst.w0), ref.w0)
    # y = X w⁰ + ξ is computed on the backend: torch's mat-vec sums in another order (measured
    # 1.3e-15 on entries of order 1)
    np.testing.assert_allclose(backend.to_numpy(inst.y), ref.y, rtol=0, atol=1e-13)
    i32 = amp.generate(m, 200, seed=1, backend="torch:cpu", dtype="float32")
    assert all(on_torch_cpu(a, "float32") for a in i32)
    # the Gaussian design is drawn on the device by torch's generator: same seed, same draw;
    # entries N(0, 1/N): N·var = 1 within 5 % (80 000 entries: s.e. of the variance 0.5 %)
    g = amp.generate(model(), 200, seed=5, backend="torch:cpu")
    again = amp.generate(model(), 200, seed=5, backend="torch:cpu")
    assert on_torch_cpu(g.X) and tuple(g.X.shape) == (400, 200)
    assert torch.equal(g.X, again.X) and torch.equal(g.y, again.y)
    assert abs(float(torch.var(g.X)) * 200 - 1.0) < 0.05
    # y = X w⁰ + ξ with ξ ~ N(0, σ² = 0.1): the noise's empirical variance within 20 % (M = 400)
    xi = g.y - g.X @ g.w0
    assert float(xi @ xi) / 400 == pytest.approx(0.1, rel=0.2)


def test_experiment_on_torch_cpu():
    # VAMP ensembles of a structured design on torch: the instances are numpy's, moved, so the
    # per-instance MSEs equal numpy's to rounding (1e-10, as in the VAMP comparison above)
    m = model(CovarianceDesign(eigenvalues=power_law()))
    ref = amp.experiment(m, sizes=(100, 150), seeds=2, damping="auto")
    ds = amp.experiment(m, sizes=(100, 150), seeds=2, damping="auto", backend="torch:cpu")
    assert bool(ds["converged"].all())
    np.testing.assert_allclose(ds["mse"].values, ref["mse"].values, rtol=0, atol=1e-10)
    assert int(ds["n_iter"].sum()) == int(ref["n_iter"].sum())
    # AMP ensembles of the i.i.d. design on torch (X drawn by torch's generator): converged,
    # finite MSEs, and the float32 dtype honoured end to end
    g = amp.experiment(model(), sizes=(200,), seeds=2, backend="torch:cpu", dtype="float32")
    assert bool(g["converged"].all()) and bool(np.isfinite(g["mse"]).all())


def test_ste_simulation_on_torch_cpu():
    # dynamics.simulate's step loop in the torch namespace (its xp argument): the random inputs
    # are drawn on the host and moved, so both runs see the same data; measured difference of
    # the errors 1e-15 (BLAS summation order), tolerance 1e-12
    import array_api_compat.torch as xt

    from replica.dynamics import STEProblem, simulate

    p = STEProblem(weight_quantizer=Quantizer.uniform(2, 1.0), eta=0.5, ridge=0.1, noise=0.2,
                   input_quantizer=Quantizer.uniform(2, 2.0))  # fmt: skip
    ref = simulate(p, 100, 2.0, seeds=(3, 4), n_points=5)
    res = simulate(p, 100, 2.0, seeds=(3, 4), n_points=5, xp=xt)
    assert ref.converged and res.converged
    for name in ("eg", "m", "Q", "m_psi", "q_psi"):
        np.testing.assert_allclose(getattr(res, name), getattr(ref, name), rtol=0, atol=1e-12)
