"""Optimal quantization through the RS theory: the best width ω*(b) and the best levels.

* :func:`optimal_width` — ω* minimising the generalization error of a grid family (the shape of
  the model's grid, scaled), by a scan followed by bounded Brent minimisation to ``1e-6`` in ω;
  reports the minimum, the curvature and whether RS is stable there (AT < 1);
* :func:`optimal_levels` — all levels optimised (symmetric or not) by quasi-Newton minimisation
  of the RS generalization error, started from the optimal uniform grid;
* :func:`compare_grids` — uniform, Gaussian-quantile, power and optimised grids side by side.

References
----------
S. Kashiwamura, A. Sakata, M. Imaizumi, "Effect of Weight Quantization on Learning Models by
Typical Case Analysis", arXiv:2401.17269 (ISIT 2024): existence of an optimal width ω*(b) and
the effect of non-uniform level placement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .boundaries import at_boundary, with_width
from .errors import ConvergenceError, check
from .quantizers import Quantizer
from .regression import QuantizedRegression, RSSolution, solve_rs
from .results import CONVERGED, Result, finish

#: status of :func:`optimal_width` (``throw=False``) when RS could not be solved at a width
RS_UNSOLVED = "rs_unsolved"
#: status of :func:`optimal_width` when ε_g has no positive curvature at ω* (flat: no minimum
#: resolvable to ``xtol``)
FLAT = "flat"

__all__ = ["OptimalLevels", "OptimalWidth", "compare_grids", "optimal_levels", "optimal_width"]

# inner saddle-point tolerance: ε_g is then reproducible to ~1e-14, which the finite-difference
# derivatives below need (noise/h with h ~ 1e-4)
_SOLVE_TOL = 1e-13


class _Objective:
    """ε_g(model with some change) with warm starts from the last converged solution."""

    def __init__(self, model: QuantizedRegression):
        self.model = model
        self.init = None
        self.n = 0
        self.cache: dict = {}

    def solve(self, model: QuantizedRegression) -> RSSolution:
        self.last = model
        key = model.quantizer.levels.tobytes()
        if key in self.cache:
            return self.cache[key]
        self.n += 1
        # the equilibrium branch (every start, lowest free energy) with the last solution as
        # one more start; then the solver's default tolerance
        sol = solve_rs(model, throw=False, continuation=self.init, tol=_SOLVE_TOL)
        if not sol.converged:
            sol = solve_rs(model, throw=False, continuation=self.init)
        finish(sol, True, f"optimize: solve_rs({model.quantizer.name})")
        self.init = sol
        if len(self.cache) > 64:
            self.cache.clear()
        self.cache[key] = sol
        return sol


@dataclass(frozen=True, kw_only=True)
class OptimalWidth(Result):
    """Width ω* of a grid family that minimises the RS generalization error.

    Attributes
    ----------
    width : float
        ω* (largest absolute level).
    gen_error : float
        ε_g at ω*.
    at : float
        AT quantity at ω*; ``rs_stable`` is ``at < 1`` (otherwise the minimum is only an RS
        estimate).
    curvature : float
        d²ε_g/dω² at ω* (central second difference).
    quantizer : Quantizer
        The optimal grid.
    solution : RSSolution
        The RS saddle point at ω*.
    bounds : tuple
        The search interval.
    residual : float
        Newton-step estimate of the distance to the exact minimum, ``|ε_g'| / ε_g''`` (in ω).
    """

    width: float
    gen_error: float
    at: float
    curvature: float
    quantizer: Quantizer
    solution: RSSolution
    bounds: tuple

    @property
    def rs_stable(self) -> bool:
        """Whether the RS solution at the optimum is AT-stable (``at < 1``)."""
        return self.at < 1.0


def optimal_width(
    model: QuantizedRegression,
    bounds: tuple[float, float] = (0.05, 6.0),
    xtol: float = 1e-6,
    n_scan: int = 25,
    throw: bool = True,
) -> OptimalWidth:
    """Width ω*(b) minimising the generalization error of the model's grid shape.

    The grid is ``with_width(model.quantizer, ω)`` (for every named family this is the family at
    width ω). A scan of ``n_scan`` equally spaced widths (warm-started in order) brackets the
    best minimum; bounded Brent minimisation then refines it to ``xtol``.

    Parameters
    ----------
    model : QuantizedRegression
    bounds : (lo, hi)
        Search interval in ω (``0 < lo < hi``).
    xtol : float
        Absolute tolerance in ω (default ``1e-6``).
    n_scan : int
        Points of the initial scan (at least 3).
    throw : bool
        Raise :class:`~replica.ConvergenceError` if the minimisation fails.

    Returns
    -------
    OptimalWidth
        ``status`` is ``"converged"``, or ``"at_bound"`` when the minimum lies on a bound, or
        (``throw=False``) ``"rs_unsolved"`` when the RS saddle point could not be solved at a
        width the search needed (reported at that width; ``curvature`` and ``residual`` inf),
        or ``"flat"`` when ε_g does not curve upward at ω* (``residual`` inf).

    References
    ----------
    Kashiwamura et al., arXiv:2401.17269: an optimal width ω*(b) exists.

    Examples
    --------
    >>> from replica import Quantizer
    >>> from replica.regression import QuantizedRegression
    >>> m = QuantizedRegression(quantizer=Quantizer.uniform(2, 1.0), alpha=2, beta=5, noise=0.1)
    >>> round(optimal_width(m).width, 4)
    1.7304
    """
    check(len(bounds) == 2 and 0 < bounds[0] < bounds[1] and math.isfinite(bounds[1]), "bounds",
          "(lo, hi) with 0 < lo < hi < inf", bounds)  # fmt: skip
    check(xtol > 0, "xtol", "a number > 0", xtol)
    check(int(n_scan) >= 3, "n_scan", "an integer >= 3", n_scan)
    obj = _Objective(model)

    def eps(w):
        return obj.solve(model.replace(quantizer=with_width(model.quantizer, float(w)))).gen_error

    lo, hi = (float(b) for b in bounds)
    try:
        return _optimal_width(model, obj, eps, lo, hi, xtol, n_scan, throw)
    except ConvergenceError as err:
        if throw:
            raise
        # the RS saddle point could not be solved at a width the search needed: flagged there
        sol, q = err.result, obj.last.quantizer
        return OptimalWidth(
            width=q.width, gen_error=sol.gen_error, at=sol.at, curvature=math.inf, quantizer=q,
            solution=sol, bounds=(lo, hi), status=RS_UNSOLVED, n_iter=obj.n, residual=math.inf,
        )  # fmt: skip


def _optimal_width(model, obj, eps, lo, hi, xtol, n_scan, throw):
    xs = np.linspace(lo, hi, int(n_scan))
    vals = np.array([eps(x) for x in xs])
    i = int(np.argmin(vals))
    a, b = xs[max(i - 1, 0)], xs[min(i + 1, xs.size - 1)]
    # coarse: bounded Brent on ε_g itself. Near a flat minimum ε_g changes by only
    # ε''·δω²/2 ~ 1e-14 over δω = 1e-6, below what values can resolve, so the fine step
    # finds the root of the central-difference derivative instead (noise ~1e-14/h, bias ~h²)
    res = optimize.minimize_scalar(eps, bounds=(a, b), method="bounded",
                                   options={"xatol": 1e-4, "maxiter": 500})  # fmt: skip
    w = float(res.x)
    h = 2e-4 * (hi - lo) / 6.0

    def slope(x):
        return (eps(x + h) - eps(x - h)) / (2 * h)

    status = CONVERGED if res.success else "max_iter"
    step, lo_f, hi_f = 1e-3 * (hi - lo), max(lo, a), min(hi, b)
    x0, x1 = max(w - step, lo_f + h), min(w + step, hi_f - h)
    while x0 < x1 and slope(x0) * slope(x1) > 0 and (x0 > lo_f + h or x1 < hi_f - h):
        step *= 4
        x0, x1 = max(w - step, lo_f + h), min(w + step, hi_f - h)
    if x0 < x1 and slope(x0) * slope(x1) <= 0:
        w = float(optimize.brentq(slope, x0, x1, xtol=xtol / 10, rtol=1e-15))
    else:  # no stationary point inside: the minimum is on a bound of the search interval
        w = float(xs[i])
        status = "at_bound"
    hc = 1e-3 * (hi - lo) / 6.0
    w_c = min(max(w, lo + hc), hi - hc)
    curv = (eps(w_c + hc) - 2 * eps(w_c) + eps(w_c - hc)) / hc**2
    grad = slope(w) if lo + h <= w <= hi - h else math.nan
    q = with_width(model.quantizer, w)
    sol = obj.solve(model.replace(quantizer=q))
    residual = abs(grad / curv) if curv > 0 and math.isfinite(grad) else math.inf
    if status == CONVERGED and not math.isfinite(residual):
        status = FLAT  # ε_g does not curve upward at ω* (e.g. α → 0): no resolvable minimum
    result = OptimalWidth(
        width=w, gen_error=sol.gen_error, at=sol.at, curvature=float(curv), quantizer=q,
        solution=sol, bounds=(lo, hi), status=status, n_iter=obj.n, residual=residual,
    )  # fmt: skip
    return finish(result, throw and status != "at_bound", "optimal_width")


@dataclass(frozen=True, kw_only=True)
class OptimalLevels(Result):
    """Grid levels minimising the RS generalization error.

    Attributes
    ----------
    quantizer : Quantizer
        The optimised grid (``name`` ``"optimal(...)"``).
    gen_error, at : float
        ε_g and the AT quantity of the optimised grid (``rs_stable``: ``at < 1``).
    start : OptimalWidth
        The optimal grid of the model's family (uniform by default) the search started from.
    solution : RSSolution
    residual : float
        Norm of the gradient of ε_g with respect to the optimised levels.
    """

    quantizer: Quantizer
    gen_error: float
    at: float
    start: OptimalWidth
    solution: RSSolution

    @property
    def rs_stable(self) -> bool:
        """Whether the RS solution at the optimum is AT-stable (``at < 1``)."""
        return self.at < 1.0


def _levels(u: np.ndarray, K: int, symmetric: bool) -> np.ndarray:
    """Levels from unconstrained parameters: log-gaps keep them sorted and distinct."""
    if symmetric:
        pos = np.cumsum(np.exp(u))
        if K % 2:
            return np.concatenate([-pos[::-1], [0.0], pos])
        # u[0] is the log of the half-gap around 0
        return np.concatenate([-pos[::-1], pos])
    return u[0] + np.concatenate([[0.0], np.cumsum(np.exp(u[1:]))])


def _params(levels: np.ndarray, symmetric: bool) -> np.ndarray:
    K = levels.size
    if symmetric:
        pos = levels[K // 2 + (K % 2) :]
        return np.log(np.diff(np.concatenate([[0.0], pos])))
    return np.concatenate([[levels[0]], np.log(np.diff(levels))])


def optimal_levels(
    model: QuantizedRegression,
    symmetric: bool = True,
    bounds: tuple[float, float] = (0.05, 6.0),
    gtol: float = 1e-7,
    max_iter: int = 200,
    throw: bool = True,
) -> OptimalLevels:
    """Optimise all levels of the model's grid (same number of levels) through the RS theory.

    Starts from the optimal width of the model's grid family (:func:`optimal_width`), then
    minimises ε_g over all levels by BFGS with central-difference gradients, in variables that
    keep the levels sorted (log-gaps). ``symmetric=True`` constrains the grid to ``−Q = Q``
    (``K/2`` free parameters; the natural choice for a symmetric teacher).

    Parameters
    ----------
    model : QuantizedRegression
    symmetric : bool
    bounds : (lo, hi)
        Width search interval of the starting point.
    gtol : float
        Gradient-norm tolerance.
    max_iter : int
        BFGS iterations.
    throw : bool
        Raise :class:`~replica.ConvergenceError` if BFGS does not reach ``gtol``.

    Returns
    -------
    OptimalLevels

    References
    ----------
    Kashiwamura et al., arXiv:2401.17269: non-uniform level placement.
    """
    check(isinstance(symmetric, bool), "symmetric", "a bool", symmetric)
    start = optimal_width(model, bounds=bounds, throw=False)
    K = model.quantizer.n_levels
    check(K >= 2, "quantizer", "at least 2 levels to optimise", K)
    if symmetric:
        lv = start.quantizer.levels
        check(bool(np.allclose(lv, -lv[::-1], rtol=0, atol=1e-12 * start.width)), "quantizer",
              "a symmetric grid for symmetric=True", lv.tolist())  # fmt: skip
    obj = _Objective(model)
    obj.init = start.solution

    def build(u):
        lv = _levels(np.asarray(u, float), K, symmetric)
        return model.replace(quantizer=Quantizer(levels=lv, name=f"optimal(levels={K})"))

    def eps(u):
        return obj.solve(build(u)).gen_error

    h = 1e-6

    def grad(u):
        g = np.empty_like(u)
        for j in range(u.size):
            e = np.zeros_like(u)
            e[j] = h
            g[j] = (eps(u + e) - eps(u - e)) / (2 * h)
        return g

    u0 = _params(start.quantizer.levels, symmetric)
    res = optimize.minimize(eps, u0, jac=grad, method="BFGS",
                            options={"gtol": gtol, "maxiter": max_iter})  # fmt: skip
    u = res.x if res.fun <= start.gen_error else u0
    best = build(u)
    sol = obj.solve(best)
    gnorm = float(np.max(np.abs(grad(u))))
    status = CONVERGED if gnorm < max(gtol, 1e-6) else ("max_iter" if not res.success else
                                                        CONVERGED)  # fmt: skip
    result = OptimalLevels(
        quantizer=best.quantizer, gen_error=sol.gen_error, at=sol.at, start=start, solution=sol,
        status=status, n_iter=obj.n + start.n_iter, residual=gnorm,
    )  # fmt: skip
    return finish(result, throw, "optimal_levels")


def compare_grids(
    model: QuantizedRegression,
    families: dict | None = None,
    bounds: tuple[float, float] = (0.05, 6.0),
    optimal: bool = True,
    boundary: bool = True,
    at_range: tuple[float, float] = (0.05, 40.0),
) -> dict:
    """Uniform vs non-uniform grids with the model's number of levels, each at its optimal width.

    Parameters
    ----------
    model : QuantizedRegression
        Fixes α, β, σ², λ, the teacher and the number of levels ``K = 2^b``.
    families : dict, optional
        Name → quantizer of the family at any width. Default: uniform, Gaussian-quantile and
        power (γ = 2) grids with the model's number of bits.
    bounds : (lo, hi)
        Width search interval.
    optimal : bool
        Also optimise all levels (:func:`optimal_levels`); its *shape* then forms one more
        family (``"optimal"``) scaled in width.
    boundary : bool
        Locate, for each family, the width ``ω_AT`` above which RS is unstable: the first AT = 1
        crossing on a geometric scan of ``at_range``, refined by :func:`~replica.boundaries.at_boundary`
        (``nan`` when RS is stable on the whole range).
    at_range : (lo, hi)
        Width range of that scan.

    Returns
    -------
    dict
        Family name → ``{"optimum": OptimalWidth, "at_width": float, "quantizer": Quantizer}``
        (plus ``"levels": OptimalLevels`` for ``"optimal"``).
    """
    K = model.quantizer.n_levels
    bits = round(math.log2(K))
    if families is None:
        check(2**bits == K, "quantizer", "2^b levels for the default families", K)
        families = {
            "uniform": Quantizer.uniform(bits, 1.0),
            "gaussian_quantile": Quantizer.gaussian_quantile(bits, 1.0),
            "power:2": Quantizer.power(bits, 1.0, 2.0),
        }
    out = {}
    extra = {}
    if optimal:
        lv = optimal_levels(model.replace(quantizer=families.get("uniform", model.quantizer)),
                            bounds=bounds, throw=False)  # fmt: skip
        families = {**families, "optimal": lv.quantizer}
        extra["optimal"] = lv
    for name, q in families.items():
        m = model.replace(quantizer=q)
        opt = optimal_width(m, bounds=bounds, throw=False)
        at_w = math.nan
        if boundary:
            at_w = _first_at_width(m, at_range)
        entry = {"optimum": opt, "at_width": at_w, "quantizer": opt.quantizer}
        if name in extra:
            entry["levels"] = extra[name]
        out[name] = entry
    return out


def _first_at_width(model, at_range, n=60):
    """First AT = 1 crossing in width on ``at_range`` (nan if none), refined to 1e-8."""
    xs = np.geomspace(at_range[0], at_range[1], n)
    prev, prev_at = None, None
    init = None
    for x in xs:
        s = solve_rs(model.replace(quantizer=with_width(model.quantizer, float(x))),
                     continuation=init, throw=False)  # fmt: skip
        if not s.converged:
            prev = None
            continue
        init = s
        if prev is not None and (prev_at - 1.0) * (s.at - 1.0) < 0:
            return at_boundary(model, "width", bracket=(prev, float(x))).value
        prev, prev_at = float(x), s.at
    return math.nan
