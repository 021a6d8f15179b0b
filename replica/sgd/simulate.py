"""Monte-Carlo quantized SGD, vectorised over independent repetitions.

:func:`simulate` runs the update of :class:`~replica.sgd.SGDProblem` (five quantization sites,
full-precision master copy of ``w``) for ``repeats`` independent runs at once and returns the
mean and standard error of the excess risk of the output (same ``averaging`` and step indexing
as :func:`~replica.sgd.exact_risk`). The risk of each run's output is evaluated analytically over
the test distribution (no test sampling): ``(w − w*)ᵀH(w − w*)`` for ``test="full"`` and
``(w − w^(q)*)ᵀH^(q)(w − w^(q)*) + ApproxErr`` (the noise model's ``H^(q)``) for
``test="quantized"``.

Real rounding quantizers (:class:`~replica.noise.IntRounding`, :class:`~replica.noise.FloatRounding`)
are applied as given; ``quantizer="model"`` replaces them by their noise models. They match their
models' second moments when the rounded values spread over many grid steps (integer grid) or
over many binades (floats); a quantity concentrated at one value (e.g. parameters near a fixed
``w*`` with small fluctuations, or activations of ``w₀ = 0``) has a rounding variance set by its
position on the grid instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import check, check_memory
from ..noise import FloatRounding, IntRounding
from ..results import CONVERGED, DIVERGED, Result, finish
from .problem import SITES, SGDProblem
from .risk import _test_weights

__all__ = ["MonteCarlo", "simulate"]

QUANTIZER_CHOICES = ("given", "model")


@dataclass(frozen=True, kw_only=True)
class MonteCarlo(Result):
    """Monte-Carlo estimate of the excess-risk curve.

    Attributes
    ----------
    steps : ndarray of int
        Recorded step counts ``n``.
    mean, se : ndarray
        Mean excess risk over the runs and its standard error ``std/√repeats``.
    repeats, seed : int
    test : str
    """

    steps: np.ndarray
    mean: np.ndarray
    se: np.ndarray
    repeats: int
    seed: int
    test: str


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def simulate(
    problem: SGDProblem,
    *,
    repeats: int,
    seed: int,
    quantizer: str = "given",
    test: str = "full",
    record=None,
    chunk: int | None = None,
    throw: bool = True,
) -> MonteCarlo:
    """Monte-Carlo quantized SGD: mean and standard error of the excess risk.

    Parameters
    ----------
    problem : SGDProblem
    repeats : int
        Number of independent runs (``≥ 2``).
    seed : int
        Seed of the run's ``numpy.random.default_rng``.
    quantizer : {"given", "model"}
        ``"given"`` applies each site's object as given (noise-model samplers or real rounding);
        ``"model"`` replaces real rounding quantizers by their :meth:`noise_model`.
    test : {"full", "quantized"}
        Risk convention (see :func:`~replica.sgd.exact_risk`).
    record : array_like of int, optional
        Step counts ``1 ≤ n ≤ N`` to record (default: every step).
    chunk : int, optional
        Runs simulated at once (default: as many as keep one batch below ~2·10⁶ numbers).
    throw : bool
        Raise :class:`~replica.errors.ConvergenceError` when a run overflows.

    Returns
    -------
    MonteCarlo

    References
    ----------
    D. Zhang, J. Su, D. Zou, arXiv:2510.18259 (2025), Sec. 2 (quantized update).
    """
    check(isinstance(problem, SGDProblem), "problem", "an SGDProblem", problem)
    check(_is_int(repeats) and repeats >= 2, "repeats", "an integer >= 2", repeats)
    check(_is_int(seed) and seed >= 0, "seed", "an integer >= 0", seed)
    check(quantizer in QUANTIZER_CHOICES, "quantizer", f"one of {QUANTIZER_CHOICES}", quantizer)
    weights, target, approx = _test_weights(problem, test)
    N = problem.steps
    if record is None:
        rec = np.arange(1, N + 1)
    else:
        rec = np.unique(np.asarray(record))
        check(
            rec.size >= 1 and np.issubdtype(rec.dtype, np.integer) and rec[0] >= 1 and rec[-1] <= N,
            "record",
            f"integers in [1, {N}]",
            record,
        )
    per_run = problem.batch * problem.dim
    if chunk is None:
        chunk = max(1, min(int(repeats), 2_000_000 // per_run))
    check(_is_int(chunk) and chunk >= 1, "chunk", "an integer >= 1", chunk)
    r = min(int(chunk), int(repeats))
    # per chunk: the batch X, its quantized copy and a product (r·B·d each), the iterate, its
    # running average and the update (r·d each), the recorded risks (r·len(record)); the step
    # schedule (N) and the running sums (2·len(record))
    n_floats = 3 * r * per_run + 3 * r * problem.dim + r * rec.size + N + 2 * rec.size
    check_memory(
        8.0 * n_floats,
        "repeats, chunk, record",
        f"d={problem.dim}, batch={problem.batch}, {r} runs at once, {rec.size} recorded steps",
    )

    models = {}
    for s in SITES:
        q = problem.quantization.get(s)
        if quantizer == "model" and isinstance(q, (IntRounding, FloatRounding)):
            q = q.noise_model()
        models[s] = q
    rng = np.random.default_rng(seed)
    total = np.zeros(rec.size)
    total_sq = np.zeros(rec.size)
    ok = True
    done = 0
    while done < repeats:
        r = min(chunk, repeats - done)
        risks, finite = _run_chunk(problem, models, r, rng, rec, weights, target)
        ok &= finite
        total += risks.sum(axis=0)
        total_sq += (risks * risks).sum(axis=0)
        done += r
    mean = total / repeats
    var = np.maximum(total_sq / repeats - mean * mean, 0.0) * repeats / (repeats - 1)
    res = MonteCarlo(
        status=CONVERGED if ok else DIVERGED,
        n_iter=N,
        residual=0.0 if ok else float("inf"),
        steps=rec,
        mean=mean + approx,
        se=np.sqrt(var / repeats),
        repeats=int(repeats),
        seed=int(seed),
        test=test,
    )
    return finish(res, throw, "Monte-Carlo SGD (step size too large?)")


def _apply(q, u, rng):
    return u if q is None else q.quantize(u, rng)


def _run_chunk(p: SGDProblem, models, R, rng, rec, weights, target):
    d, B = p.dim, p.batch
    sqrt_h = np.sqrt(p.spectrum)
    sigma = math.sqrt(p.noise)
    w_star = p.w_star
    gam = p.step_array
    w = np.broadcast_to(p.w0, (R, d)).copy()
    acc = np.zeros((R, d))
    count = 0
    start = 0 if p.averaging == "iterate" else (p.tail_start or 0)
    out_risk = np.empty((R, rec.size))
    k = 0
    finite = True
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(p.steps):
            if p.averaging != "last" and t >= start:
                acc += w
                count += 1
            X = rng.standard_normal((R, B, d)) * sqrt_h
            y = X @ w_star + sigma * rng.standard_normal((R, B))
            Xq = _apply(models["data"], X, rng)
            wq = _apply(models["params"], w, rng)
            yq = _apply(models["labels"], y, rng)
            a = np.einsum("rbd,rd->rb", Xq, wq)
            aq = _apply(models["activations"], a, rng)
            res = _apply(models["gradients"], yq - aq, rng)
            n = t + 1
            if n == rec[k]:
                if p.averaging == "last":
                    out = w + (gam[t] / B) * np.einsum("rbd,rb->rd", Xq, res)
                elif t < start:
                    out = w
                else:
                    out = acc / count
                out_risk[:, k] = ((out - target) ** 2) @ weights
                k += 1
            w = w + (gam[t] / B) * np.einsum("rbd,rb->rd", Xq, res)
            if not np.all(np.isfinite(w)):
                finite = False
                out_risk[:, k:] = np.inf
                break
            if k == rec.size:
                break
    return out_risk, finite
