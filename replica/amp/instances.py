"""Teacher–student instances of weight-quantized regression, drawn on any array backend.

An instance of a :class:`~replica.regression.QuantizedRegression` with ``N`` weights and
``M = round(α N)`` samples (paper card, "Model"):

    w⁰ ~ P₀ (i.i.d., the model's teacher),   X_{μi} ~ N(0, 1/N),   y = X w⁰ + ξ,   ξ ~ N(0, σ²),

drawn from one seeded ``numpy.random.Generator`` (GPU backends draw ``X`` on the device from a
generator seeded by it). This module sits below the algorithms: AMP, state evolution and the
ensembles of :mod:`replica.amp.experiment` use it, it uses none of them.

References
----------
S. Kashiwamura, A. Sakata, M. Imaizumi, "Effect of Weight Quantization on Learning Models by
Typical Case Analysis", arXiv:2401.17269 (ISIT 2024): the teacher–student model.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ..errors import check
from ..regression import QuantizedRegression
from . import backend as bk

__all__ = ["Instance", "generate"]


class Instance(NamedTuple):
    """One teacher–student instance: design ``X`` (M × N, entries N(0, 1/N)), labels ``y`` and
    teacher weights ``w0``, on one backend."""

    X: Any
    y: Any
    w0: Any


def _seed_ok(seed) -> bool:
    def is_int(s):
        return isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 0

    if is_int(seed):
        return True
    return isinstance(seed, (tuple, list)) and len(seed) > 0 and all(is_int(s) for s in seed)


def generate(
    model: QuantizedRegression, n: int, seed, backend="numpy", dtype: str = "float64"
) -> Instance:
    """Draw an instance of ``model`` with ``N = n`` weights and ``M = round(α n)`` samples.

    ``w⁰ ~ P₀`` (the model's teacher), ``X`` from ``model.design`` (default: entries
    ``N(0, 1/N)``; structured designs of :mod:`replica.designs` are drawn with numpy and moved to
    the backend), ``y = X w⁰ + ξ`` with ``ξ ~ N(0, σ²)``.

    Parameters
    ----------
    model : QuantizedRegression
    n : int
        Number of weights ``N ≥ 1``.
    seed : int or sequence of int
        Entropy for ``numpy.random.default_rng``; the same seed gives the same instance on the
        same backend. GPU backends draw ``X`` on the device from a generator seeded by this one.
    backend : str or Backend
        ``"numpy"`` (default), ``"cupy"``, ``"torch"``, ``"torch:cuda"`` … (see
        :mod:`replica.amp.backend`).
    dtype : {"float64", "float32"}

    Returns
    -------
    Instance

    Raises
    ------
    ValueError
        Invalid input, or an ``M × N`` matrix larger than the memory available on the backend's
        device (checked before anything is allocated).
    """
    check(isinstance(model, QuantizedRegression), "model", "a QuantizedRegression", model)
    check(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1, "n",
          "an integer >= 1", n)  # fmt: skip
    check(_seed_ok(seed), "seed", "a non-negative integer or a sequence of them", seed)
    be = bk.resolve(backend, dtype)
    n = int(n)
    M = max(1, round(model.alpha * n))
    # estimate the footprint before drawing: an allocation that cannot fit is a clear error,
    # not a MemoryError (or the OOM killer) half-way through
    need = M * n * (8 if dtype == "float64" else 4)
    free = be.free_memory()
    check(free is None or need <= free, "n", f"a size whose {M} x {n} {dtype} design matrix "
          f"fits in memory ({need / 2**30:.3g} GiB needed, {(free or 0) / 2**30:.3g} GiB "
          f"available on {be.name}:{be.device})", n)  # fmt: skip
    rng = np.random.default_rng(seed)
    w0_np = np.asarray(model.teacher.sample(n, rng), dtype=float)
    xi_np = math.sqrt(model.noise) * rng.standard_normal(M)
    if model.design.gaussian:
        X = be.standard_normal((M, n), rng)
        X *= 1.0 / math.sqrt(n)
    else:  # a structured design (replica.designs) is drawn on the host, then moved
        X = be.asarray(model.design.sample(M, n, rng))
    w0 = be.asarray(w0_np)
    y = X @ w0 + be.asarray(xi_np)
    return Instance(X=X, y=y, w0=w0)
