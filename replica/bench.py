"""Benchmarks, run by ``replica bench``: each reports *ratios* measured side by side in one run.

A benchmark is a function ``(quick: bool) -> list[Measurement]`` registered in
:data:`BENCHMARKS` by name, as ``"module:function"`` so that running one benchmark imports only
what it needs. Absolute times are printed for context; the ratio is the result, compared with its
target (never asserted in the test suite).
"""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["BENCHMARKS", "Measurement", "best_time", "run"]


@dataclass(frozen=True, kw_only=True)
class Measurement:
    """One ratio ``baseline_time / time`` (speed-up, higher is better) or a cost ratio.

    ``higher_is_better`` says how to read ``ratio`` against ``target``.
    """

    name: str
    ratio: float
    target: float
    higher_is_better: bool = True
    detail: str = ""

    @property
    def met(self) -> bool:
        return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target

    def line(self) -> str:
        op = ">=" if self.higher_is_better else "<="
        flag = "ok " if self.met else "MISS"
        return f"{flag} {self.name:<44s} ratio {self.ratio:10.3g}  (target {op} {self.target:g})  {self.detail}"


def best_time(fn: Callable[[], object], repeat: int = 5, min_time: float = 0.05) -> float:
    """Best-of-``repeat`` wall time of ``fn()`` in seconds, looping each sample to ``min_time``."""
    fn()  # warm-up (caches, imports)
    best = float("inf")
    for _ in range(repeat):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            dt = time.perf_counter() - t0
            if dt >= min_time:
                break
        best = min(best, dt / n)
    return best


def _bench_quantizer(quick: bool) -> list[Measurement]:
    """Nearest-level map (binary search on thresholds) vs the brute-force argmin over levels."""
    from .quantizers import Quantizer

    rng = np.random.default_rng(0)
    x = rng.standard_normal(20_000 if quick else 200_000)
    out = []
    for bits in (2, 8):
        q = Quantizer.uniform(bits, 2.0)

        def brute(q=q):
            return q.levels[np.argmin(np.abs(x[:, None] - q.levels), axis=1)]

        assert np.array_equal(brute(), q(x))
        out.append(
            Measurement(
                name=f"quantizer map b={bits} (argmin / searchsorted)",
                ratio=best_time(brute, repeat=3) / best_time(lambda q=q: q(x), repeat=3),
                target=1.0,
                detail=f"n={x.size}",
            )
        )
    return out


def _picard_2d_hermite(model, tol=1e-10, damping=0.5, order=161, max_iter=100_000):
    """Baseline for ``bench rs``: plain damped Picard iteration of the RS map with the averages
    over (w⁰, z) on an ``order × order`` Gauss–Hermite grid (Gaussian teacher)."""
    from .channel import grid_posterior

    x, w = np.polynomial.hermite_e.hermegauss(order)
    w = w / w.sum()
    w0 = math.sqrt(model.rho) * x[:, None]
    z = x[None, :]
    W = w[:, None] * w[None, :]
    levels = model.quantizer.levels
    log_prior = -0.5 * model.beta * model.ridge * levels**2
    delta, chi = (model.rho + model.noise) / model.alpha, 1.0
    for it in range(1, max_iter + 1):
        A = model.alpha * model.beta / (1.0 + chi)
        f, v = grid_posterior(w0 + math.sqrt(delta) * z, A, levels, log_prior)
        mse = float(np.sum(W * (w0 - f) ** 2))
        d_new, c_new = (mse + model.noise) / model.alpha, model.beta * float(np.sum(W * v))
        res = max(abs(math.log(d_new / delta)), abs(math.log(c_new / chi)))
        if res < tol:
            return it, mse
        delta = damping * delta + (1 - damping) * d_new
        chi = damping * chi + (1 - damping) * c_new
    return max_iter, mse


def _bench_rs(quick: bool) -> list[Measurement]:
    """``solve_rs`` (1-D clustered quadrature + Newton) vs damped Picard on a 161×161 2-D
    Gauss–Hermite grid, both to residual 1e-10, at the card's reference points."""
    from .quantizers import Quantizer
    from .regression import QuantizedRegression, solve_rs

    points = [(2, 1.5), (3, 2.0)] if quick else [(1, 0.5), (2, 1.5), (2, 3.0), (3, 2.0)]
    out = []
    for bits, width in points:
        model = QuantizedRegression(
            quantizer=Quantizer.uniform(bits, width), alpha=2.0, beta=5.0, noise=0.1
        )
        ours = best_time(lambda model=model: solve_rs(model, tol=1e-10), repeat=3)
        base = math.inf
        for _ in range(2):  # best of two, like the best-of timing of solve_rs
            t0 = time.perf_counter()
            n_it, mse_base = _picard_2d_hermite(model)
            base = min(base, time.perf_counter() - t0)
        mse = solve_rs(model, tol=1e-10).mse
        out.append(
            Measurement(
                name=f"rs b={bits} w={width} (Picard-2D-GH / solve_rs)",
                ratio=base / ours,
                target=100.0,
                detail=f"{ours * 1e3:.2f} ms vs {base * 1e3:.0f} ms ({n_it} Picard its); "
                f"mse {mse:.6f} vs {mse_base:.6f}",
            )
        )
    return out


BENCHMARKS: dict[str, str] = {
    "rs": "replica.bench:_bench_rs",
    "quantizer": "replica.bench:_bench_quantizer",
    "amp": "replica.amp.amp:_bench",
    "ste": "replica.dynamics.simulate:_bench_seeds",
    "sgd": "replica.sgd.risk:_bench_recursion",
}


def _resolve(spec: str) -> Callable[[bool], list[Measurement]]:
    mod, fn = spec.split(":")
    return getattr(importlib.import_module(mod), fn)


def run(names=None, quick: bool = False, echo=print) -> list[Measurement]:
    """Run the named benchmarks (all when ``names`` is empty) and print one line per ratio."""
    names = list(names or BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise ValueError(f"benchmark: expected names from {sorted(BENCHMARKS)}, got {unknown}")
    results = []
    for name in names:
        echo(f"[{name}]")
        for m in _resolve(BENCHMARKS[name])(quick):
            echo("  " + m.line())
            results.append(m)
    met = sum(m.met for m in results)
    echo(f"{met}/{len(results)} ratios meet their targets")
    return results
