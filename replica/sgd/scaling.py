"""Scaling-law fits and effective sizes for (quantized) sketched SGD.

* :func:`fit_power_law` — least squares of ``log y = log c + s log x`` with standard errors; for a
  stack of curves (one per sketch) the exponent's uncertainty combines the residual scatter with
  the sketch-to-sketch scatter of the per-curve exponents.
* :func:`effective_size` — invert a full-precision reference curve ``x ↦ y_ref(x)`` (decreasing):
  the size ``x_eff`` at which full precision reaches the same value. Used for the effective model
  size ``M_eff`` (curves in ``M`` at ``N = ∞``) and the effective data size ``N_eff^(q)`` (curves of
  the ``N``-dependent part of the risk in ``N_eff``). Inside the reference range the curve is
  interpolated linearly in log–log coordinates, outside it is continued by the power law fitted
  to its last ``tail`` points.
* :func:`compute_optimal` — the split ``M·N = C`` minimising a risk model ``R(M, N)``.

References
----------
L. Lin, J. Wu, S. M. Kakade, P. L. Bartlett, J. D. Lee, "Scaling Laws in Linear Regression:
Compute, Parameters, and Data", NeurIPS 2024, Thm. 4.1 (exponents −(a−1) in M, −(a−1)/a in N_eff)
and Sec. 5 (compute-optimal ``M* ≍ C^{1/(a+1)}``).
D. Zhang, X. Tang, Y. Liang, D. Zou, "Scaling Laws for Precision in High-Dimensional Linear
Regression", arXiv:2602.19241 (effective model and data sizes under quantization).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import check
from ..results import Compact

__all__ = ["PowerLawFit", "compute_optimal", "effective_size", "fit_power_law"]


@dataclass(frozen=True, kw_only=True)
class PowerLawFit(Compact):
    """``y ≈ prefactor · x^exponent`` fitted in log–log coordinates.

    Attributes
    ----------
    exponent, exponent_se : float
        Fitted slope and its standard error.
    log_prefactor, log_prefactor_se : float
        Fitted intercept ``log c`` and its standard error.
    residual : float
        Root-mean-square residual of ``log y`` (a measure of curvature of the data in log–log).
    n : int
        Number of points.
    curves : int
        Number of curves averaged (``1`` for a single curve).
    offset, offset_se : float
        Constant ``y_∞`` of the law ``y ≈ y_∞ + c x^s`` (0 unless fitted with ``offset=True``).
    """

    exponent: float
    exponent_se: float
    log_prefactor: float
    log_prefactor_se: float
    residual: float
    n: int
    curves: int = 1
    offset: float = 0.0
    offset_se: float = 0.0

    @property
    def prefactor(self) -> float:
        """The fitted prefactor ``exp(log_prefactor)``."""
        return math.exp(self.log_prefactor)

    def __call__(self, x) -> np.ndarray:
        return self.offset + self.prefactor * np.asarray(x, dtype=float) ** self.exponent

    def inverse(self, y) -> np.ndarray:
        """``x`` with ``offset + prefactor · x^exponent = y``."""
        y = np.asarray(y, dtype=float) - self.offset
        check(bool(np.all(y > 0)), "y", f"values above the offset {self.offset:.4g}", y)
        return (y / self.prefactor) ** (1.0 / self.exponent)

    def deviation(self, expected: float) -> float:
        """``|exponent − expected|`` in units of ``exponent_se`` (``inf`` for a zero error)."""
        diff = abs(self.exponent - expected)
        if self.exponent_se == 0:
            return 0.0 if diff == 0 else math.inf
        return diff / self.exponent_se


def _ols(lx: np.ndarray, ly: np.ndarray):
    X = np.column_stack([np.ones_like(lx), lx])
    coef, *_ = np.linalg.lstsq(X, ly, rcond=None)
    resid = ly - X @ coef
    dof = lx.size - 2
    s2 = float(resid @ resid) / dof
    cov = s2 * np.linalg.inv(X.T @ X)
    return coef, np.sqrt(np.diag(cov)), math.sqrt(float(resid @ resid) / lx.size)


def fit_power_law(x, y, offset: bool = False) -> PowerLawFit:
    """Least-squares power law in log–log coordinates with classical standard errors.

    ``offset=False``: ordinary least squares of ``log y`` on ``log x`` (``y ≈ c x^s``).
    ``offset=True``: nonlinear least squares of ``log y`` against ``log(y_∞ + c x^s)`` — the
    additive form of the scaling laws (a constant from the other terms plus a power law); the
    standard errors come from the Jacobian at the optimum, ``s²(JᵀJ)^{−1}``.

    ``y`` may be a 1-D curve or a 2-D stack ``(K, n)`` of curves (e.g. one per sketch). For a
    stack, the mean curve is fitted and the exponent's standard error is
    ``sqrt(se_resid² + se_K²)``, where ``se_K`` is the standard error of the mean of the ``K``
    per-curve exponents (the sketch-to-sketch uncertainty).

    Raises
    ------
    ValueError
        Too few points (3, or 4 with an offset), non-positive or non-finite values.

    References
    ----------
    Lin et al. (2024), Thm. 4.1: ``E R = σ² + Θ(M^{−(a−1)}) + Θ((N_eff γ)^{−(a−1)/a})``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    need = 4 if offset else 3
    check(x.ndim == 1 and x.size >= need, "x", f"a 1-D array of >= {need} points", x.shape)
    check(
        y.shape[-1:] == x.shape and y.ndim in (1, 2),
        "y",
        f"shape (n,) or (K, n), n={x.size}",
        y.shape,
    )
    check(bool(np.all(np.isfinite(x)) and np.all(x > 0)), "x", "finite positive numbers", x)
    check(bool(np.all(np.isfinite(y)) and np.all(y > 0)), "y", "finite positive numbers", y)
    fit = _fit_offset if offset else _fit_plain
    curves = 1 if y.ndim == 1 else y.shape[0]
    out = fit(x, y if y.ndim == 1 else y.mean(axis=0))
    if curves > 1:
        slopes = np.array([fit(x, row).exponent for row in y])
        se = math.hypot(out.exponent_se, float(slopes.std(ddof=1)) / math.sqrt(curves))
        out = dataclasses.replace(out, exponent_se=se, curves=int(curves))
    return out


def _fit_plain(x, y) -> PowerLawFit:
    coef, se, rms = _ols(np.log(x), np.log(y))
    return PowerLawFit(
        exponent=float(coef[1]),
        exponent_se=float(se[1]),
        log_prefactor=float(coef[0]),
        log_prefactor_se=float(se[0]),
        residual=rms,
        n=int(x.size),
    )


def _fit_offset(x, y) -> PowerLawFit:
    from scipy.optimize import least_squares

    lx, ly = np.log(x), np.log(y)
    start = _fit_plain(x, y)
    scale = float(np.min(y))

    def model(p):
        return p[0] * scale + np.exp(p[1] + p[2] * lx)

    def resid(p):
        m = model(p)
        return np.log(np.where(m > 0, m, 1e-300)) - ly

    p0 = np.array([0.0, start.log_prefactor, start.exponent])
    sol = least_squares(resid, p0, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15)
    m = model(sol.x)
    check(bool(np.all(m > 0)), "y", "data a power law plus a constant can fit", y)
    r = sol.fun
    dof = x.size - 3
    s2 = float(r @ r) / dof
    cov = s2 * np.linalg.pinv(sol.jac.T @ sol.jac)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return PowerLawFit(
        exponent=float(sol.x[2]),
        exponent_se=float(se[2]),
        log_prefactor=float(sol.x[1]),
        log_prefactor_se=float(se[1]),
        residual=math.sqrt(float(r @ r) / x.size),
        n=int(x.size),
        offset=float(sol.x[0] * scale),
        offset_se=float(se[0] * scale),
    )


def effective_size(values, x_ref, y_ref, tail: int = 3) -> np.ndarray:
    """Size at which the full-precision reference curve reaches ``values``.

    ``y_ref`` must be strictly decreasing in ``x_ref`` (a risk curve). Values inside the range
    of ``y_ref`` are matched by linear interpolation in log–log coordinates; values outside by
    the power law fitted to the ``tail`` reference points at the corresponding end.

    Raises
    ------
    ValueError
        Non-positive values, or a reference that is not strictly decreasing.

    References
    ----------
    Zhang et al. (2026): effective model size ``M_eff`` and effective data size ``N_eff^(q)``
    defined by matching to the full-precision law.
    """
    x_ref = np.asarray(x_ref, dtype=float)
    y_ref = np.asarray(y_ref, dtype=float)
    v = np.asarray(values, dtype=float)
    check(
        x_ref.ndim == 1 and x_ref.size >= 3 and x_ref.shape == y_ref.shape,
        "x_ref",
        "a 1-D array of >= 3 points matching y_ref",
        x_ref.shape,
    )
    check(_is_int_between(tail, 2, x_ref.size), "tail", f"an integer in [2, {x_ref.size}]", tail)
    check(bool(np.all(x_ref > 0) and np.all(np.diff(x_ref) > 0)), "x_ref", "increasing > 0", x_ref)
    check(bool(np.all(y_ref > 0) and np.all(np.diff(y_ref) < 0)), "y_ref", "decreasing > 0", y_ref)
    check(bool(np.all(np.isfinite(v)) and np.all(v > 0)), "values", "finite numbers > 0", v)
    lx, ly, lv = np.log(x_ref), np.log(y_ref), np.log(v)
    inside = np.exp(np.interp(lv, ly[::-1], lx[::-1]))
    if tail >= 3:
        lo = fit_power_law(x_ref[-tail:], y_ref[-tail:])
        hi = fit_power_law(x_ref[:tail], y_ref[:tail])
    else:
        lo = _two_point(x_ref[-2:], y_ref[-2:])
        hi = _two_point(x_ref[:2], y_ref[:2])
    out = np.where(lv < ly[-1], lo.inverse(v), inside)
    return np.where(lv > ly[0], hi.inverse(v), out)


def _two_point(x, y) -> PowerLawFit:
    s = float(np.log(y[1] / y[0]) / np.log(x[1] / x[0]))
    c = float(np.log(y[0]) - s * np.log(x[0]))
    return PowerLawFit(
        exponent=s, exponent_se=0.0, log_prefactor=c, log_prefactor_se=0.0, residual=0.0, n=2
    )


def _is_int_between(v, lo, hi) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and lo <= v <= hi


def compute_optimal(risk: Callable, compute, model_sizes) -> tuple[np.ndarray, np.ndarray]:
    """Compute-optimal model size and risk: for each budget ``C``, ``argmin_M risk(M, C/M)`` over
    the candidate ``model_sizes``.

    ``risk(M, N)`` must accept broadcast arrays. Returns ``(M*, risk*)`` per budget.

    References
    ----------
    Lin et al. (2024), Sec. 5: compute ``C = M·N``, ``M* ≍ C^{1/(a+1)}``.
    """
    C = np.asarray(compute, dtype=float)
    M = np.asarray(model_sizes, dtype=float)
    check(bool(np.all(C > 0)), "compute", "numbers > 0", C)
    check(M.ndim == 1 and bool(np.all(M > 0)), "model_sizes", "a 1-D array of numbers > 0", M)
    grid = np.asarray(risk(M[None, :], C[:, None] / M[None, :]), dtype=float)
    check(bool(np.all(np.isfinite(grid))), "risk", "finite values on the grid", "non-finite")
    best = np.argmin(grid, axis=1)
    return M[best], grid[np.arange(C.size), best]
