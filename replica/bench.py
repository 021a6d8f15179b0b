"""Benchmarks, run by ``replica bench``: each reports *ratios* measured side by side in one run.

A benchmark is a function ``(quick: bool) -> list[Measurement]`` registered in
:data:`BENCHMARKS` by name, as ``"module:function"`` so that running one benchmark imports only
what it needs. Absolute times are printed for context; the ratio is the result, compared with its
target (never asserted in the test suite).
"""

from __future__ import annotations

import importlib
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


BENCHMARKS: dict[str, str] = {
    "quantizer": "replica.bench:_bench_quantizer",
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
