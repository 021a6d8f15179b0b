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

from ..errors import check, check_memory, integer
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
        Root of the runs' random streams: run ``r`` uses
        ``numpy.random.SeedSequence(seed, spawn_key=(r, purpose, method))`` for each purpose
        (data, label noise, each site's quantizer).
    quantizer : {"given", "model"}
        ``"given"`` applies each site's object as given (noise-model samplers or real rounding);
        ``"model"`` replaces real rounding quantizers by their :meth:`~replica.noise.IntRounding.noise_model`.
    test : {"full", "quantized"}
        Risk convention (see :func:`~replica.sgd.exact_risk`).
    record : array_like of int, optional
        Step counts ``1 ≤ n ≤ N`` to record (default: every step).
    chunk : int, optional
        Runs simulated at once (default: as many as keep one batch below ~2·10⁶ numbers). A
        memory/speed knob only: run ``r`` draws from its own random streams (spawned from
        ``seed``), so the result does not depend on ``chunk`` (bit for bit on one machine with
        one BLAS thread count; see the README's "Reproducibility").
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
    per_run = problem.batch * problem.dim
    if chunk is None:
        chunk = max(1, min(int(repeats), 2_000_000 // per_run))
    chunk = integer(chunk, "chunk", "an integer >= 1", lambda c: c >= 1)
    r = min(chunk, int(repeats))
    # memory first (np.arange(steps) itself can be the allocation that does not fit): per chunk
    # the batch X, its quantized copy and a product (r·B·d each), the iterate, its running
    # average and the update (r·d each); the step schedule (N); every run's recorded risks and
    # the temporaries of their mean and spread (3·repeats·len(record))
    n_rec = N if record is None else int(np.size(record))
    n_floats = 3 * r * per_run + 3 * r * problem.dim + N + 3 * int(repeats) * n_rec
    check_memory(
        8.0 * n_floats,
        "repeats, chunk, record, steps",
        f"d={problem.dim}, batch={problem.batch}, {r} runs at once, {repeats} runs, "
        f"{n_rec} recorded steps",
    )
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

    models = {}
    for s in SITES:
        q = problem.quantization.get(s)
        if quantizer == "model" and isinstance(q, (IntRounding, FloatRounding)):
            q = q.noise_model()
        models[s] = q
    risks = np.empty((repeats, rec.size))
    done = 0
    while done < repeats:
        r = min(chunk, repeats - done)
        risks[done : done + r] = _run_chunk(problem, models, done, r, seed, rec, weights, target)
        done += r
    with np.errstate(over="ignore", invalid="ignore"):
        mean = risks.mean(axis=0)
        se = risks.std(axis=0, ddof=1) / math.sqrt(repeats)
    # a run that overflowed (or whose risk is too large to square) has diverged: never a
    # "converged" result carrying inf or NaN
    ok = bool(np.all(np.isfinite(mean)) and np.all(np.isfinite(se)))
    se = np.where(np.isfinite(se), se, math.inf)
    res = MonteCarlo(
        status=CONVERGED if ok else DIVERGED,
        n_iter=N,
        residual=0.0 if ok else float("inf"),
        steps=rec,
        mean=mean + approx,
        se=se,
        repeats=int(repeats),
        seed=int(seed),
        test=test,
    )
    return finish(res, throw, "Monte-Carlo SGD (step size too large?)")


def _apply(q, u, rng):
    return u if q is None else q.quantize(u, rng)


#: the random purposes of one step; each run has its own stream per purpose and method
_PURPOSES = ("data", "label_noise", *(f"quantize:{s}" for s in SITES))
_METHODS = ("standard_normal", "random")
#: numbers buffered per purpose and method over all runs of a chunk (at least 16 steps)
_BUFFER = 1 << 20


class _RunStreams:
    """The random numbers of one purpose for runs ``first … first + R − 1``.

    Run ``r`` draws from its own generator ``SeedSequence(seed, spawn_key=(r, purpose,
    method))`` and consumes it in order, so its numbers do not depend on which runs share its
    chunk (the result is independent of ``chunk``). Draws of shape ``(R, …)`` give run ``r`` the
    next numbers of its stream; they are generated in blocks of several steps per run (one
    generator call per run and block) to keep the per-step cost vectorised.
    """

    def __init__(self, seed: int, first: int, R: int, purpose: int, steps: int):
        self._keys = (seed, first, R, purpose)
        self._steps = steps
        self._gens: dict[str, list] = {}
        self._buf: dict[str, np.ndarray] = {}
        self._pos: dict[str, int] = {}

    def _draw(self, method: str, shape) -> np.ndarray:
        seed, first, R, purpose = self._keys
        shape = tuple(int(s) for s in shape)
        if not shape or shape[0] != R:
            raise RuntimeError(f"per-run draws need a leading axis of {R} runs, got {shape}")
        n = math.prod(shape[1:])
        buf, pos = self._buf.get(method), self._pos.get(method, 0)
        if buf is None or buf.shape[1] - pos < n:
            if method not in self._gens:
                m = _METHODS.index(method)
                self._gens[method] = [
                    np.random.Generator(np.random.PCG64(
                        np.random.SeedSequence(seed, spawn_key=(first + r, purpose, m))))
                    for r in range(R)
                ]  # fmt: skip
            # whole steps per refill: at least 16 (bounded by the run's length), more while the
            # buffer stays below _BUFFER numbers; the content does not depend on it
            block = n * min(self._steps, max(16, _BUFFER // (R * max(n, 1))))
            new = np.stack([getattr(g, method)(block) for g in self._gens[method]])
            buf = new if buf is None else np.concatenate([buf[:, pos:], new], axis=1)
            pos = 0
        self._buf[method], self._pos[method] = buf, pos + n
        return buf[:, pos : pos + n].reshape(shape)

    def standard_normal(self, shape) -> np.ndarray:
        return self._draw("standard_normal", shape)

    def random(self, shape) -> np.ndarray:
        return self._draw("random", shape)


def _dot(a, b):
    # a contraction over the last axis whose rounding does not depend on how many runs share
    # the array (one BLAS call on the whole (R, d) matrix would block by R: the results would
    # change with ``chunk`` in the last bit). The stacked products (R, B, d) @ … run one BLAS
    # call per run, the same for every R.
    return (a * b).sum(axis=-1)


def _run_chunk(p: SGDProblem, models, first, R, seed, rec, weights, target):
    d, B = p.dim, p.batch
    rng = {name: _RunStreams(seed, first, R, i, p.steps) for i, name in enumerate(_PURPOSES)}
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
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(p.steps):
            if p.averaging != "last" and t >= start:
                acc += w
                count += 1
            X = rng["data"].standard_normal((R, B, d)) * sqrt_h
            y = X @ w_star + sigma * rng["label_noise"].standard_normal((R, B))
            Xq = _apply(models["data"], X, rng["quantize:data"])
            wq = _apply(models["params"], w, rng["quantize:params"])
            yq = _apply(models["labels"], y, rng["quantize:labels"])
            a = (Xq @ wq[:, :, None])[:, :, 0]
            aq = _apply(models["activations"], a, rng["quantize:activations"])
            res = _apply(models["gradients"], yq - aq, rng["quantize:gradients"])
            n = t + 1
            if n == rec[k]:
                if p.averaging == "last":
                    out = w + (gam[t] / B) * (res[:, None, :] @ Xq)[:, 0, :]
                elif t < start:
                    out = w
                else:
                    out = acc / count
                out_risk[:, k] = _dot((out - target) ** 2, weights)
                k += 1
            w = w + (gam[t] / B) * (res[:, None, :] @ Xq)[:, 0, :]
            if not np.all(np.isfinite(w)):
                out_risk[:, k:] = np.inf
                break
            if k == rec.size:
                break
    return out_risk
