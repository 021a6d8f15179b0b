"""Input checks and small helpers shared by the exact enumeration and the sampler."""

from __future__ import annotations

import math

import numpy as np

from ..errors import check
from ..quantizers import Quantizer


def levels_of(quantizer) -> np.ndarray:
    """The grid as a float array (a :class:`~replica.Quantizer` or a 1-D array of levels)."""
    if isinstance(quantizer, Quantizer):
        return np.asarray(quantizer.levels, dtype=float)
    try:
        lv = np.asarray(quantizer, dtype=float)
    except (TypeError, ValueError):
        lv = None
    ok = lv is not None and lv.ndim == 1 and lv.size >= 1 and bool(np.all(np.isfinite(lv)))
    check(ok and bool(np.all(np.diff(lv) > 0)), "quantizer",
          "a Quantizer or a 1-D array of strictly increasing finite levels", quantizer)  # fmt: skip
    return lv


def instance(X, y, ridge, teacher):
    """Validated numpy copies ``(X, y, ridge, w0 or None)``."""
    check(getattr(X, "ndim", None) == 2, "X", "a 2-D (M, N) numpy array", getattr(X, "shape", X))
    X = np.asarray(X, dtype=float)
    M, N = X.shape
    check(M >= 1 and N >= 1, "X", "a non-empty (M, N) array", X.shape)
    check(bool(np.all(np.isfinite(X))), "X", "finite entries", "an array with NaN/inf")
    y = np.asarray(y, dtype=float)
    check(y.shape == (M,), "y", f"an array of shape ({M},)", y.shape)
    check(bool(np.all(np.isfinite(y))), "y", "finite entries", "an array with NaN/inf")
    ok = isinstance(ridge, (int, float, np.integer, np.floating)) and not isinstance(ridge, bool)
    check(ok and math.isfinite(ridge) and ridge >= 0, "ridge", "a finite number >= 0", ridge)
    w0 = None
    if teacher is not None:
        w0 = np.asarray(teacher, dtype=float)
        check(w0.shape == (N,), "teacher", f"an array of shape ({N},) or None", w0.shape)
        check(bool(np.all(np.isfinite(w0))), "teacher", "finite entries", "an array with NaN/inf")
    return X, y, float(ridge), w0


def betas_of(beta, name: str = "beta", increasing: bool = False) -> np.ndarray:
    """Finite inverse temperatures ``>= 0`` as a 1-D array (strictly increasing if asked)."""
    try:
        b = np.atleast_1d(np.asarray(beta, dtype=float))
    except (TypeError, ValueError):
        b = None
    ok = b is not None and b.ndim == 1 and b.size >= 1 and bool(np.all(np.isfinite(b)))
    check(ok and bool(np.all(b >= 0)), name,
          "finite inverse temperatures >= 0 (a number or a 1-D array)", beta)  # fmt: skip
    if increasing:
        check(bool(np.all(np.diff(b) > 0)), name, "a strictly increasing ladder of inverse "
              "temperatures", b.tolist())  # fmt: skip
    return b


def energy_terms(X, y):
    """``G = XᵀX``, ``b = Xᵀy`` and ``c = ½‖y‖²``: ``½‖y − Xw‖² = c − w·b + ½ wᵀGw``."""
    return X.T @ X, X.T @ y, 0.5 * float(y @ y)
