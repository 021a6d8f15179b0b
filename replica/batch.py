"""Batched RS saddle points: many models solved in lock-step, one channel evaluation per round.

A phase diagram is hundreds of small independent fixed-point problems, each a Python-level
Newton loop over a channel evaluation on a few hundred quadrature nodes, where numpy's per-call
overhead dominates. :func:`solve_rs_many` runs the *same* per-point solver as
:func:`replica.solve_rs` (its branch enumeration and attempts, written as generators in
:mod:`replica.regression` that yield their map requests) for every model at once: each round it
collects the pending request ``(Δ, χ, derivatives)`` of every unfinished point, evaluates all
of them in one batched channel call (:func:`replica.channel_batch.channel_averages_many`) and
sends each point its answer. The control flow of every point (Picard, damped and Newton phases,
trust region, stall, merge into a known branch, the large-χ retry, the bracketing rescue, the
branch rule) is exactly that of :func:`~replica.solve_rs`; only who evaluates the map differs.
So the statuses and branches are those of the per-point solver and the values agree to the
batched channel's agreement with :func:`~replica.channel.channel_averages` (1e-13 relative),
propagated through a converged Newton iteration (tested to 1e-10).

The bracketing rescue (only reached where every start failed) evaluates its map per point.
Models with a non-Gaussian design are solved by :func:`replica.solve_rs` one by one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .channel_batch import channel_averages_many
from .errors import check, integer, real
from .regression import (
    QuantizedRegression,
    RSSolution,
    _channel_request,
    _equilibrium,
    _map_values,
    solve_rs,
)
from .results import finish

__all__ = ["solve_rs_many"]


def solve_rs_many(
    models: Sequence[QuantizedRegression],
    tol: float = 1e-11,
    max_iter: int = 500,
    damping: float = 0.5,
    throw: bool = False,
) -> list[RSSolution]:
    """:func:`replica.solve_rs` (equilibrium branch, ``init=None``) for many models at once.

    Parameters
    ----------
    models : sequence of QuantizedRegression
        The points; any mix of parameters, grids, teachers, finite or infinite β.
    tol, max_iter, damping : as in :func:`replica.solve_rs`
    throw : bool
        Raise :class:`~replica.ConvergenceError` (carrying that point's result) for the first
        point, in the given order, that did not converge. Default ``False`` (sweeps record the
        status per point).

    Returns
    -------
    list of RSSolution
        In the order of ``models``: the same status, branch, branch list and iteration count as
        ``solve_rs(model, throw=False, tol=tol, max_iter=max_iter, damping=damping)`` per point,
        values equal to the batched channel's accuracy (see the module docstring).

    Examples
    --------
    >>> from replica import Quantizer
    >>> from replica.regression import QuantizedRegression
    >>> ms = [QuantizedRegression(quantizer=Quantizer.uniform(2, w), alpha=2, beta=5, noise=0.1)
    ...       for w in (1.0, 1.5, 2.0)]
    >>> [s.status for s in solve_rs_many(ms)]
    ['converged', 'converged', 'converged']
    """
    check(isinstance(models, Sequence) and not isinstance(models, str), "models",
          "a sequence of QuantizedRegression", type(models).__name__)  # fmt: skip
    for m in models:
        check(isinstance(m, QuantizedRegression), "models", "a sequence of QuantizedRegression",
              m)  # fmt: skip
    check(isinstance(throw, bool), "throw", "a bool", throw)
    damping = real(damping, "damping", "a number in [0, 1)", lambda a: 0 <= a < 1)
    tol = real(tol, "tol", "a number > 0", lambda t: t > 0)
    max_iter = integer(max_iter, "max_iter", "an integer >= 1", lambda n: n >= 1)
    results: list[RSSolution | None] = [None] * len(models)
    gens, pending = {}, {}  # point → its generator, its request waiting for an answer

    def advance(i, answer):
        try:
            pending[i] = gens[i].send(answer)
        except StopIteration as stop:
            results[i] = stop.value
            del gens[i]
            pending.pop(i, None)

    for i, m in enumerate(models):
        if not m.design.gaussian:  # replica.structured: its own solver, one point at a time
            results[i] = solve_rs(m, throw=False, tol=tol, max_iter=max_iter, damping=damping)
            continue
        gens[i] = _equilibrium(m, tol, max_iter, damping)
        advance(i, None)
    # each model's levels and teacher mixture, built once, and one object per distinct mixture
    # (sweeps build a teacher per point), which the batched channel recognises by identity
    mixtures, grids = {}, []
    for m in models:
        mix = m.teacher.mixture()
        mix = mixtures.setdefault(tuple(np.asarray(a, dtype=float).tobytes() for a in mix), mix)
        grids.append((m.quantizer.levels, mix))
    while pending:
        idx = list(pending)
        for i, answer in zip(idx, _rs_map_many([models[i] for i in idx], [grids[i] for i in idx],
                                               [pending[i] for i in idx])):  # fmt: skip
            advance(i, answer)
    out = []
    for m, r in zip(models, results):
        what = f"solve_rs({m.quantizer.name}, alpha={m.alpha:g}, beta={m.beta:g})"
        out.append(finish(r, throw, what))
    return out


def _rs_map_many(models, grids, requests):
    """:func:`replica.regression.rs_map` for many ``(model, (Δ, χ, derivatives))`` at once
    (``grids``: each model's ``(levels, teacher_mixture)``)."""
    reqs = [_channel_request(m, d, c, der, g)
            for m, g, (d, c, der) in zip(models, grids, requests)]  # fmt: skip
    avgs = channel_averages_many(reqs)
    return [_map_values(m, c, req[3], avg)
            for m, (_, c, _), req, avg in zip(models, requests, reqs, avgs)]  # fmt: skip
