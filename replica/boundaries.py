"""Phase boundaries of weight-quantized regression: the AT line and the interpolation threshold.

* :func:`at_boundary` — the RS/RSB boundary ``AT = 1`` located by Brent's method along one
  parameter (width ω, α, β, σ² or λ) to ``1e-8`` in that parameter, never read off a grid;
* :func:`interpolation_threshold` — at β = ∞ and λ = 0 the equilibrium RS branch reaches zero
  training energy at ``α_c`` with ``D(α_c) = α_c`` (the shifted double-descent peak,
  ``α_c < 1`` for any finite grid; the largest such root where several branches end), also
  for a covariance design (:mod:`replica.structured` at β = ∞, ``D(α_c)`` at the rank limit α;
  with zero eigenvalues the rank limit ``min(α, 1 − z)`` can end the RS range at ``alpha_max``);
* :func:`with_width`, :func:`with_parameter` — a model moved along one of :data:`VARY`.

The phase diagram over a grid (:func:`replica.phase.phase_diagram`) sits above the sweep, which
uses these functions on each line; this module imports neither.

References
----------
S. Kashiwamura, A. Sakata, M. Imaizumi, "Effect of Weight Quantization on Learning Models by
Typical Case Analysis", arXiv:2401.17269 (ISIT 2024): AT condition (RSB at few bits and large
width) and the shift of the interpolation threshold by quantization.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import optimize

from .channel import channel_averages
from .errors import ConvergenceError, check
from .quantizers import Quantizer
from .regression import QuantizedRegression, RSSolution, solve_rs
from .results import CONVERGED, Result, finish

__all__ = [
    "AT_JUMP",
    "ENTROPY_JUMP",
    "NO_THRESHOLD",
    "RS_UNSOLVED",
    "VARY",
    "ATBoundary",
    "EntropyBoundary",
    "InterpolationThreshold",
    "at_boundary",
    "entropy_boundary",
    "interpolation_threshold",
    "with_parameter",
    "with_width",
]

#: status of :func:`at_boundary` (``throw=False``) when the RS saddle point could not be solved
#: at a point Brent's method needed
RS_UNSOLVED = "rs_unsolved"
#: status of :func:`at_boundary` when AT − 1 changes sign across a jump between RS branches
#: (Brent's root has ``|AT − 1| > 1e-6``): no AT = 1 point in the bracket
AT_JUMP = "at_jump"
#: status of :func:`interpolation_threshold` (``alpha_c = inf``) when no RS solution exists at
#: any α: a covariance design with zero eigenvalues at σ² = 0 whose ``D(Δ)`` stays at or above
#: the rank limit ``min(α, 1 − z)`` (the ground state interpolates at every α)
NO_THRESHOLD = "no_threshold"
#: status of :func:`entropy_boundary` when the RS entropy changes sign across a jump between
#: RS branches (a first-order transition of the equilibrium branch): no zero in the bracket
ENTROPY_JUMP = "entropy_jump"
_AT_TOL = 1e-6
#: parameters along which :func:`at_boundary` can locate the AT line
VARY = ("width", "alpha", "beta", "noise", "ridge")
# default search ranges (geometric scan for the first AT = 1 crossing) when no bracket is given
_DEFAULT_RANGE = {
    "width": (1e-2, 20.0),
    "alpha": (1e-2, 100.0),
    "beta": (1e-2, 1e6),
    "noise": (1e-4, 100.0),
    "ridge": (1e-6, 100.0),
}


def with_width(quantizer: Quantizer, width: float) -> Quantizer:
    """The same grid shape scaled so that its largest absolute level is ``width``.

    Every family of :class:`~replica.quantizers.Quantizer` (uniform, Gaussian-quantile, power,
    power-of-two) is linear in its width, so rescaling the levels gives the same family. Here
    ``width`` is always the largest absolute level, which is the family's width parameter except
    for the mid-rise uniform grid (largest level ``ω(K − 1)/K``).
    """
    ok = isinstance(width, (int, float, np.floating, np.integer)) and not isinstance(width, bool)
    check(ok and math.isfinite(width) and width > 0, "width", "a finite number > 0", width)
    scale = float(width) / quantizer.width
    name = re.sub(r"width=[^,)]*", f"width={float(width):g}", quantizer.name)
    return Quantizer(levels=quantizer.levels * scale, name=name)


def with_parameter(model: QuantizedRegression, name: str, value: float) -> QuantizedRegression:
    """``model`` with one of :data:`VARY` set to ``value`` (``width`` rescales the grid)."""
    check(name in VARY, "vary", f"one of {VARY}", name)
    if name == "width":
        return model.replace(quantizer=with_width(model.quantizer, value))
    return model.replace(**{name: float(value)})


def _value(model: QuantizedRegression, name: str) -> float:
    return model.quantizer.width if name == "width" else float(getattr(model, name))


@dataclass(frozen=True, kw_only=True)
class ATBoundary(Result):
    """Location of the AT line ``AT = 1`` along one parameter.

    Attributes
    ----------
    parameter : str
        The varied parameter (one of :data:`VARY`).
    value : float
        Its value on the AT line (to ``xtol``).
    bracket : tuple of float
        The bracket ``(lo, hi)`` with a sign change of ``AT − 1`` that was refined.
    at_lo, at_hi : float
        AT at the two ends of the bracket.
    solution : RSSolution
        The RS saddle point at ``value``.
    residual : float
        ``|AT(value) − 1|``.
    """

    parameter: str
    value: float
    bracket: tuple
    at_lo: float
    at_hi: float
    solution: RSSolution


def _at_function(model, vary, init, level=lambda sol: sol.at - 1.0, name="at_boundary"):
    """``level(solution at x)`` (default AT(x) − 1) with warm starts from the last converged
    solution (continuation)."""
    state = {"init": init, "n": 0, "memo": {}}

    def fn(x):
        # a point is solved once: Brent re-evaluating a bracket end found by the scan must see
        # the same AT (a warm start from elsewhere can land on another branch: no sign change)
        if x in state["memo"]:
            state["last"] = (x, state["memo"][x])
            return level(state["memo"][x])
        state["n"] += 1
        state["x"] = x
        # the equilibrium branch, with the last solution as one more start (continuation)
        sol = solve_rs(with_parameter(model, vary, x), continuation=state["init"], throw=False)
        finish(sol, True, f"{name}: solve_rs at {vary}={x!r}")
        state["init"] = sol
        state["last"] = (x, sol)
        state["memo"][x] = sol
        return level(sol)

    return fn, state


def _scan(fn, lo, hi, n=49):
    """First sign change of ``fn`` between consecutive solved points of a geometric grid of
    ``[lo, hi]`` (points where the RS saddle point cannot be solved are gaps). Returns
    ``(bracket or None, f_lo, f_hi, n_unsolved)``."""
    prev_x, prev_f, last_f, unsolved = None, None, math.nan, 0
    for x in np.geomspace(lo, hi, n):
        try:
            fx = fn(x)
        except ConvergenceError:
            prev_x, prev_f, unsolved = None, None, unsolved + 1
            continue
        if prev_f is not None and np.sign(fx) != np.sign(prev_f):
            return (float(prev_x), float(x)), prev_f, fx, unsolved
        prev_x, prev_f, last_f = x, fx, fx
    return None, last_f, last_f, unsolved


def at_boundary(
    model: QuantizedRegression,
    vary: str = "width",
    bracket: tuple[float, float] | None = None,
    xtol: float = 1e-8,
    init: RSSolution | None = None,
    throw: bool = True,
) -> ATBoundary:
    """Locate the RS/RSB boundary ``AT = 1`` along one parameter by Brent's method.

    Parameters
    ----------
    model : QuantizedRegression
        Fixes every parameter except ``vary`` (its current value of ``vary`` is ignored).
    vary : {"width", "alpha", "beta", "noise", "ridge"}
        The parameter to vary. ``"width"`` rescales the model's grid (same shape, largest level
        ``±width``).
    bracket : (lo, hi), optional
        An interval on which ``AT − 1`` changes sign. Default: the first sign change on a
        49-point geometric scan of a default range (width 1e-2…20, α 1e-2…100, β 1e-2…1e6,
        σ² 1e-4…100, λ 1e-6…100).
    xtol : float
        Absolute tolerance on the boundary value (default ``1e-8``).
    init : RSSolution, optional
        Warm start for the first solve (continuation from a nearby point).
    throw : bool
        Raise :class:`~replica.ConvergenceError` if Brent's method does not converge.

    Returns
    -------
    ATBoundary
        ``status`` ``"converged"``, ``"max_iter"``, ``"at_jump"`` (AT − 1 changes sign across
        a jump of the RS solution, ``|AT − 1| > 1e-6`` at the root) or, with ``throw=False``,
        ``"rs_unsolved"``
        (the RS saddle point could not be solved at ``value``, a point Brent's method needed;
        ``residual`` inf).

    Raises
    ------
    ValueError
        If ``AT − 1`` does not change sign on the bracket (or between consecutive solved points
        of the default scan; points where RS cannot be solved are skipped there).
    ConvergenceError
        With ``throw=True``, if the RS saddle point cannot be solved at a point of the bracket.

    References
    ----------
    Kashiwamura et al., arXiv:2401.17269: AT condition ``(1/α) E[(∂_r f)²] < 1``.

    Examples
    --------
    >>> from replica import Quantizer
    >>> from replica.regression import QuantizedRegression
    >>> m = QuantizedRegression(quantizer=Quantizer.uniform(2, 1.0), alpha=2, beta=5, noise=0.1)
    >>> round(at_boundary(m, "width", bracket=(1.5, 3.0)).value, 4)
    2.3213
    """
    out = _locate(model, vary, bracket, xtol, init, throw, _AT_LINE)
    result = ATBoundary(parameter=vary, value=out["value"], bracket=out["bracket"],
                        at_lo=out["lo"] + 1.0, at_hi=out["hi"] + 1.0, solution=out["solution"],
                        status=out["status"], n_iter=out["n"], residual=out["residual"])  # fmt: skip
    return finish(result, throw, f"at_boundary(vary={vary!r})")


class _Line(NamedTuple):
    """What a boundary locates: the level function of an RS solution whose zero is the line,
    its name in messages, the label of a jump, and the tolerance on |level| at a true root."""

    level: Callable
    label: str
    jump: str
    tol: float
    name: str
    crossing: str


_AT_LINE = _Line(lambda sol: sol.at - 1.0, "AT - 1", AT_JUMP, _AT_TOL, "at_boundary",
                 "an AT = 1 crossing")  # fmt: skip
_ENTROPY_LINE = _Line(lambda sol: sol.entropy, "the RS entropy", ENTROPY_JUMP, 1e-8,
                      "entropy_boundary", "a zero of the RS entropy")  # fmt: skip


def _locate(model, vary, bracket, xtol, init, throw, line: _Line) -> dict:
    """Brent's method on ``line.level`` along ``vary`` (shared by :func:`at_boundary` and
    :func:`entropy_boundary`): the bracket (given, or the first sign change of a scan), the
    root, and its status."""
    check(vary in VARY, "vary", f"one of {VARY}", vary)
    check(xtol > 0, "xtol", "a number > 0", xtol)
    fn, state = _at_function(model, vary, init, line.level, line.name)
    if bracket is None:
        lo, hi = _DEFAULT_RANGE[vary]
        found, f_lo, f_hi, unsolved = _scan(fn, lo, hi)
        got = (f"{line.label} of one sign (last {f_hi:+.3g}); RS unsolved at {unsolved} of 49 "
               "points" if not math.isnan(f_hi) else
               "no point of the scan with a converged RS solution")  # fmt: skip
        check(found is not None, "bracket", f"{line.crossing} in the default {vary} "
              f"range [{lo:g}, {hi:g}] (pass a bracket)", got)  # fmt: skip
        lo, hi = found
    else:
        check(len(bracket) == 2 and 0 < bracket[0] < bracket[1] and math.isfinite(bracket[1]),
              "bracket", "(lo, hi) with 0 < lo < hi < inf", bracket)  # fmt: skip
        lo, hi = (float(v) for v in bracket)
        f_lo = f_hi = math.inf
    try:
        if bracket is not None:
            f_lo = fn(lo)
            f_hi = fn(hi)
            check(np.sign(f_lo) != np.sign(f_hi), "bracket",
                  f"an interval on which {line.label} changes sign",
                  (lo, hi, f"{line.label} = {f_lo:.6g}, {f_hi:.6g}"))  # fmt: skip
        root, info = optimize.brentq(fn, lo, hi, xtol=xtol, rtol=4 * np.finfo(float).eps,
                                     full_output=True, disp=False)  # fmt: skip
    except ConvergenceError as err:
        if throw:
            raise
        # the RS saddle point could not be solved at an evaluation point: flagged, reported at
        # that point (the level of an end of the bracket not yet evaluated: inf)
        return {"value": float(state["x"]), "bracket": (lo, hi), "lo": float(f_lo),
                "hi": float(f_hi), "solution": err.result, "status": RS_UNSOLVED,
                "n": int(state["n"]), "residual": math.inf}  # fmt: skip
    last_x, sol = state["last"]
    if last_x != root:  # brentq returns its best iterate, not always the last evaluation
        fn(root)
        sol = state["last"][1]
    # Brent also "converges" onto a jump between two RS branches (a sign change without a
    # zero, e.g. a first-order transition of the equilibrium branch): only a root where the
    # level is within line.tol of 0 counts as the line
    status = CONVERGED if info.converged else "max_iter"
    residual = abs(line.level(sol))
    if status == CONVERGED and not residual <= line.tol:
        status = line.jump
    return {"value": float(root), "bracket": (lo, hi), "lo": float(f_lo), "hi": float(f_hi),
            "solution": sol, "status": status, "n": int(state["n"]), "residual": residual}  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class EntropyBoundary(Result):
    """Location of the zero-entropy line of the RS solution along one parameter.

    Attributes
    ----------
    parameter : str
        The varied parameter (one of :data:`VARY`).
    value : float
        Its value on the line (to ``xtol``).
    bracket : tuple of float
        The bracket ``(lo, hi)`` with a sign change of the RS entropy that was refined.
    entropy_lo, entropy_hi : float
        The RS entropy at the two ends of the bracket.
    solution : RSSolution
        The RS saddle point at ``value``.
    residual : float
        ``|s(value)|``.
    """

    parameter: str
    value: float
    bracket: tuple
    entropy_lo: float
    entropy_hi: float
    solution: RSSolution


def entropy_boundary(
    model: QuantizedRegression,
    vary: str = "width",
    bracket: tuple[float, float] | None = None,
    xtol: float = 1e-8,
    init: RSSolution | None = None,
    throw: bool = True,
) -> EntropyBoundary:
    """Locate the zero-entropy line of the RS solution along one parameter by Brent's method.

    On a discrete grid the entropy of the Gibbs measure cannot be negative; where the RS
    entropy is, RS is wrong even with AT < 1 (the entropy crisis of a random-first-order,
    freezing transition: frozen 1RSB, :mod:`replica.rsb`). Same signature, search and statuses
    as :func:`at_boundary`, on the level ``s`` instead of ``AT − 1``.

    Parameters
    ----------
    model : QuantizedRegression
        Fixes every parameter except ``vary``.
    vary : {"width", "alpha", "beta", "noise", "ridge"}
    bracket : (lo, hi), optional
        An interval on which the RS entropy changes sign. Default: the first sign change on a
        49-point geometric scan of the default range of :func:`at_boundary`.
    xtol : float
        Absolute tolerance on the boundary value (default ``1e-8``).
    init : RSSolution, optional
        Warm start for the first solve (continuation from a nearby point).
    throw : bool
        Raise :class:`~replica.ConvergenceError` if Brent's method does not converge.

    Returns
    -------
    EntropyBoundary
        ``status`` ``"converged"`` (``|s| ≤ 1e-8`` at the root), ``"max_iter"``,
        ``"entropy_jump"`` (the entropy changes sign across a jump of the equilibrium RS
        branch: a first-order transition, not a zero) or, with ``throw=False``,
        ``"rs_unsolved"``.

    Raises
    ------
    ValueError
        If the entropy does not change sign on the bracket (or on the default scan).
    ConvergenceError
        With ``throw=True``, if the RS saddle point cannot be solved at a point of the bracket.

    Examples
    --------
    >>> from replica import Quantizer
    >>> from replica.regression import QuantizedRegression
    >>> m = QuantizedRegression(quantizer=Quantizer.uniform(1, 3.0), alpha=0.6, beta=5, noise=0.1)
    >>> r = entropy_boundary(m, "alpha", bracket=(0.3, 0.6))
    >>> r.converged and abs(r.solution.entropy) < 1e-8
    True
    """
    out = _locate(model, vary, bracket, xtol, init, throw, _ENTROPY_LINE)
    result = EntropyBoundary(parameter=vary, value=out["value"], bracket=out["bracket"],
                             entropy_lo=out["lo"], entropy_hi=out["hi"],
                             solution=out["solution"], status=out["status"], n_iter=out["n"],
                             residual=out["residual"])  # fmt: skip
    return finish(result, throw, f"entropy_boundary(vary={vary!r})")


def has_interpolation_threshold(design) -> bool:
    """Whether :func:`interpolation_threshold` covers ``design``: the Gaussian design or a
    covariance design (not a :class:`~replica.designs.SpectralDesign`, whose law of ``XᵀX``
    does not depend on α)."""
    from .designs import CovarianceDesign

    return design.gaussian or isinstance(design, CovarianceDesign)


@dataclass(frozen=True, kw_only=True)
class InterpolationThreshold(Result):
    """The interpolation threshold of the ridgeless ground state (β = ∞, λ = 0).

    Attributes
    ----------
    alpha_c : float
        RS solutions exist for ``α_c < α < alpha_max`` only; ``α_c = D(α_c)`` (0 for a one-level
        grid). When the status is ``"no_bracket"``: 0 if ``g ≥ 0`` already at the smallest Δ (an
        error-free state at σ² = 0), ``inf`` if no sign change was found; ``inf`` with
        :data:`NO_THRESHOLD` (no RS solution at any α).
    delta : float
        Channel variance Δ at the threshold (the limit ``α → α_c⁺``).
    mse, gen_error : float
        Weight MSE and generalization error in the limit ``α → α_c⁺`` (finite, unlike the
        unquantized divergence ``σ²α/(α − 1)``); ``gen_error`` follows the model's
        ``include_noise`` convention.
    residual : float
        ``|Δ D(Δ) − mse(Δ) − σ²|`` at the threshold.
    other_roots : tuple of float
        ``α = D(Δ)`` at every other root of ``g`` found (where another RS branch reaches
        ``χ → ∞``, the thresholds of non-equilibrium branches, all ``< alpha_c``), increasing;
        empty when the Δ curve has a single root (every uniform grid with a Gaussian teacher
        we scanned).
    alpha_max : float
        Upper end of the RS range: ``inf`` unless the design has a fraction ``z > 0`` of zero
        eigenvalues and the branch ends again on the ``α > 1 − z`` side (the part of the data
        inside the range of X, of rank ``(1 − z)N``, is interpolated beyond it). There
        ``Δ → Δ_L`` (``D(Δ_L) = 1 − z``), ``mse → mse(Δ_L)``, the training error tends to
        ``σ²(α − 1 + z)/α`` (the noise outside the range) and the generalization error to the
        least-squares one on the range, ``σ²(1 − z)/(α_max − 1 + z)`` (+ σ² with
        ``include_noise``).
    """

    alpha_c: float
    delta: float
    mse: float
    gen_error: float
    other_roots: tuple = ()
    alpha_max: float = math.inf


def interpolation_threshold(model: QuantizedRegression, throw: bool = True):
    """Interpolation threshold ``α_c`` of the ground state (β = ∞, λ = 0) on the model's grid.

    At β = ∞ and λ = 0 the denoiser is the nearest-level staircase, whose averages depend on the
    channel variance Δ only. A fixed point at α satisfies ``αΔ = mse(Δ) + σ²`` and exists while
    ``D(Δ) < α``: every RS solution, of every branch, is a point of the curve
    ``α(Δ) = (mse(Δ) + σ²)/Δ`` where

        g(Δ) = Δ D(Δ) − mse(Δ) − σ²  < 0,

    with ``D = Σ_k (q_{k+1} − q_k) p_r(t_k)`` (exact per cell). Its ground-state energy (the
    β = ∞ free energy :func:`~replica.regression.solve_rs` compares branches by) is
    ``e = (α − D)²Δ/2 = g(Δ)²/(2Δ) ≥ 0``: it vanishes exactly at the roots of ``g``, where a
    branch reaches ``χ → ∞`` (interpolation, zero training error) at ``α = D(Δ)``.

    **The equilibrium rule.** The threshold is that of the equilibrium branch: the largest
    ``α`` at which the lowest-energy RS solution reaches zero training energy,

        α_c = max over the roots Δ_r of g of D(Δ_r),   Δ_c the maximising root.

    Just above ``α_c`` the branch ending at ``Δ_c`` has ``e → 0``, so it is the lowest-energy
    (equilibrium) branch there whatever other branches coexist, and the reported ``mse`` and
    ``gen_error`` are its limits; no first-order jump can sit at ``α_c`` (the energy is
    continuous, 0, along the ending branch). Below ``α_c`` other RS fixed points may still
    exist (``solve_rs`` returns them, e.g. perfect recovery in the Bayes-optimal binary model),
    but an interpolating state exists for every ``α < α_c`` (fewer constraints), so they are
    not the ground state. The other roots are listed in ``other_roots``. Where ``g`` has a
    single root (the usual case) this is the first root of ``g``, the threshold of the branch
    reached from large ``α`` (the rule before the branch enumeration); irregular grids can
    have three or more roots, with the largest ``D`` at a later one. Roots are bracketed on a
    logarithmic scan of Δ (12 points per decade): two roots closer than one scan step are not
    resolved. The model's ``alpha`` and ``beta`` are not used.

    **Structured designs** (a :class:`~replica.designs.CovarianceDesign` with all ``λ > 0``;
    :mod:`replica.structured` at β = ∞). A fixed point ``χR(−χ) = D`` reaches ``χ → ∞`` where
    ``D`` reaches the rank limit ``lim χR(−χ) = α`` (full column rank of the law at every α:
    :attr:`~replica.designs.SpectralLaw.rank_limit`), so again ``α_c = D(Δ_c)``, with the
    spectral law taken at each candidate ``α = D``. With ``χR(−χ) = α − y∞(α)/χ + o(1/χ)``,
    ``y∞`` the root of ``E[1/(yλ + 1 − α)] = 1`` (:func:`~replica.designs.threshold_constant`),
    the channel variance ``Δ = [σ²Φ'(χ) + mse R']/R²`` tends to ``(α mse + y∞σ²)/α²``, so

        g(Δ) = Δ D(Δ) − mse(Δ) − σ² y∞(D)/D     (y∞(α) = α for i.i.d. inputs: the g above).

    The ground-state energy ``e`` tends to 0 along the ending branch (zero training error), so
    the equilibrium rule is unchanged. The error at the threshold is the ``χ → ∞`` limit of the
    structured β = ∞ error, ``gen = mse·D/y∞ + σ²[D E(u²)/(y∞ P) − 1]`` (+ σ² with
    ``include_noise``), ``u = 1/(y∞λ + 1 − D)``, ``P = E[λu²]`` (``mse`` for i.i.d. inputs). A
    :class:`~replica.designs.SpectralDesign` fixes the law of ``XᵀX`` whatever α (no threshold
    in α: :func:`~replica.solve_rs` reports ``no_rs_solution`` where ``D ≥ 1 − ν({0})``) and is
    refused.

    **Zero eigenvalues** (a fraction ``0 < z < 1`` of the λ): ``X = ZΣ^{1/2}`` has rank
    ``min(M, (1 − z)N)`` and the rank limit is ``min(α, 1 − z)``. On the side ``α < 1 − z`` the
    rank is the sample count and everything above holds, the zero eigenvalues included in
    ``y∞`` (their terms ``1/(1 − α)``; a root iff ``α < 1 − z``); ``y∞(D) → ∞`` as
    ``D → 1 − z``, so for σ² > 0 ``g → −∞`` there and ``α_c < 1 − z`` always exists. Roots with
    ``D ≥ 1 − z`` (σ² = 0) are no endpoints. On the side ``α > 1 − z`` the covariance caps the
    rank: with ``y = (α − D)χ → ∞`` the Silverstein equation ``z/(1 − D) + (1 − z)E₊[1/(yλ + 1
    − D)] = 1`` gives ``χR(−χ) = 1 − z − c/χ``, ``c = z(1 − z)E₊[1/λ]/(α − 1 + z)``, and
    ``Δ → [(1 − z)mse + cσ²]/(1 − z)²``. A branch ends there only at ``Δ_L`` with
    ``D(Δ_L) = 1 − z``, at ``α_max = 1 − z + σ²zE₊[1/λ]/k`` if ``k = (1 − z)Δ_L − mse(Δ_L) >
    0`` (none if ``k ≤ 0``). Beyond ``α_max`` no RS solution exists (reported as ``alpha_max``;
    with σ² = 0 and ``k > 0``, ``α_max = 1 − z``: the condition ``D < 1 − z`` does not depend on
    α there). With σ² = 0 and no root below ``1 − z``, no RS solution exists at any α (status
    :data:`NO_THRESHOLD`, ``alpha_c = inf``; raised with ``throw``). As ``z → 0``, ``α_c`` and
    its limits move by O(z) (tested); ``α_max`` tends to ``∞`` where ``D(Δ) < 1`` for all Δ,
    but to 1 where ``D(Δ) ≥ 1`` somewhere with ``k > 0``: the atom at 0 keeps ``s > 0``, while
    ``D > 1`` needs ``s < 0`` (a full-rank ``XᵀX``), so that limit is not the ``z = 0`` answer.

    Parameters
    ----------
    model : QuantizedRegression
        Must have ``ridge = 0``; ``design`` Gaussian or a covariance design.
    throw : bool
        Raise :class:`~replica.ConvergenceError` if the root cannot be bracketed or there is no
        RS solution at any α.

    Returns
    -------
    InterpolationThreshold

    References
    ----------
    Kashiwamura et al., arXiv:2401.17269 (quantization moves the interpolation peak to
    ``α_c < 1``); paper card: ``D = Σ_k Δ_k p_r(t_k)`` and ``α_c = D(α_c)``.

    Examples
    --------
    >>> from replica import Quantizer
    >>> from replica.regression import QuantizedRegression
    >>> m = QuantizedRegression(quantizer=Quantizer.uniform(1, 1.0), alpha=1, beta=1, noise=0.1)
    >>> round(interpolation_threshold(m).alpha_c, 3)
    0.367
    """
    from .designs import threshold_constant

    design = model.design
    structured = not design.gaussian
    z, cap = 0.0, math.inf  # fraction of zero eigenvalues; rank cap 1 − z of the α ≥ 1 − z side
    if structured:
        check(has_interpolation_threshold(design), "model.design", "GaussianDesign() or a "
              "CovarianceDesign (a SpectralDesign fixes the law of XᵀX whatever alpha: no "
              "threshold in alpha)", design)  # fmt: skip
        lam = np.asarray(design.eigenvalues)
        z = float(np.mean(lam == 0))
        cap = 1.0 - z if z > 0 else math.inf
    check(model.ridge == 0.0, "ridge", "0 (the threshold is defined for the ridgeless model)",
          model.ridge)  # fmt: skip
    levels = model.quantizer.levels
    mix = model.teacher.mixture()
    s2 = model.noise

    def channel(delta):
        return channel_averages(levels, mix, delta, math.inf, 0.0)

    def g(log_delta):
        delta = math.exp(log_delta)
        avg = channel(delta)
        if not structured:
            return delta * avg.D - avg.mse - s2
        if avg.D >= cap:
            # no endpoint with α = D here; for σ² > 0, g → −∞ as D → 1 − z (y∞ → ∞): continued
            # by −σ²·(that branch's sign), no sign change at D = 1 − z
            return -s2 if s2 > 0 else delta * avg.D - avg.mse
        if s2 == 0:
            return delta * avg.D - avg.mse
        # y∞(D)/D → 1/E[λ] as D → 0
        factor = threshold_constant(design, avg.D) / avg.D if avg.D > 0 else 1.0 / lam.mean()
        return delta * avg.D - avg.mse - s2 * factor

    def done(alpha_c, delta, status, n, residual, others=(), alpha_max=math.inf):
        avg = channel(delta)
        gen = avg.mse + (s2 if model.include_noise else 0.0)
        if structured and alpha_c > 0 and math.isfinite(alpha_c):
            D = alpha_c
            y = threshold_constant(design, D)
            u = 1.0 / (y * lam + (1.0 - D))
            P = float(np.mean(lam * u * u))
            ratio = D * float(np.mean(u * u)) / (y * P)
            gen += avg.mse * (D / y - 1.0) + s2 * (ratio - 1.0)
        res = InterpolationThreshold(alpha_c=alpha_c, delta=delta, mse=avg.mse, gen_error=gen,
                                     status=status, n_iter=n, residual=residual,
                                     other_roots=others, alpha_max=alpha_max)  # fmt: skip
        what = f"interpolation_threshold({model.quantizer.name})"
        if throw and status == NO_THRESHOLD:
            raise ConvergenceError(
                f"{what}: no RS solution at any alpha (status {NO_THRESHOLD!r}): with noise = 0 "
                f"the ground state interpolates at every alpha, since D(Delta) >= min(alpha, "
                f"1 - z) = rank limit wherever the fixed-point equations hold (z = {z:g}, the "
                "fraction of zero covariance eigenvalues); use a finite beta",
                res,
            )
        return finish(res, throw, what)

    if levels.size == 1:  # D = 0 < α for every α: a solution always exists
        return done(0.0, (channel(1.0).mse + model.noise), CONVERGED, 0, 0.0)
    # g < 0 as Δ → 0 (when mse(0) + σ² > 0) and g ~ √Δ → +∞ as Δ → ∞: every sign change on a
    # fine logarithmic scan (12 points per decade) brackets a root. For Δ ≫ ω², ΔD ≈
    # (q_K − q_1)√(Δ/2π) while mse + σ² ≤ (√ρ + ω)² + σ², so g > 0 beyond the upper end below
    # (with a safety factor 100; 1e8 unless ω is tiny): no root lies beyond it
    cmax = float(np.max(np.abs(levels)))
    # (structured: σ² y∞(D)/D → σ²/E[λ] at the small D of large Δ)
    scale = max(1.0, 1.0 / float(lam.mean())) if structured else 1.0
    bound = ((math.sqrt(model.rho) + cmax) ** 2 + model.noise * scale) / (levels[-1] - levels[0])
    hi = max(1e8, 100.0 * 2.0 * math.pi * bound**2)
    logs = np.linspace(math.log(1e-12), math.log(hi), round(12 * math.log10(hi / 1e-12)) + 1)
    vals = np.array([g(x) for x in logs])
    pos = np.flatnonzero(vals >= 0.0)
    if pos.size == 0 or pos[0] == 0:
        # not bracketed (g ≥ 0 already at Δ = 1e-12: an error-free state at σ² = 0, or no sign
        # change at all): flagged, alpha_c = 0 or inf, residual inf
        a_c = math.inf if pos.size == 0 else 0.0
        return done(a_c, 1e-12, "no_bracket", logs.size, math.inf)
    n_calls, roots = logs.size, []  # (D, Δ, |g|, Brent converged) at every root
    for i in np.flatnonzero((vals[:-1] >= 0.0) != (vals[1:] >= 0.0)):
        root, info = optimize.brentq(g, logs[i], logs[i + 1], xtol=1e-15, rtol=1e-15,
                                     full_output=True, disp=False)  # fmt: skip
        n_calls += info.function_calls
        delta = math.exp(root)
        D = float(channel(delta).D)
        if D < cap:  # (zero eigenvalues: a root with D ≥ 1 − z is no endpoint, σ² = 0 only)
            roots.append((D, delta, abs(g(root)), info.converged))
    alpha_max, n = _rank_capped_end(channel, logs, z, cap, s2, lam if z > 0 else None)
    n_calls += n
    if not roots:  # σ² = 0 (σ² > 0 has a root with D < 1 − z: g → −∞ there, +∞ at large Δ)
        return done(math.inf, 1e-12, NO_THRESHOLD, n_calls, math.inf)
    best = max(roots)  # the equilibrium rule: the largest α = D(Δ_r)
    others = tuple(sorted(r[0] for r in roots if r is not best))
    status = CONVERGED if best[3] else "max_iter"
    return done(best[0], best[1], status, n_calls, best[2], others, alpha_max)


def _rank_capped_end(channel, logs, z, cap, s2, lam):
    """``(α_max, evaluations)``: where the RS branch of a covariance design with a fraction
    ``z > 0`` of zero eigenvalues ends on the ``α > 1 − z`` side (``inf`` if it does not;
    ``z = 0``: ``inf``). There ``χR(−χ) = 1 − z − c/χ + o(1/χ)``, ``c = z(1 − z)E₊[1/λ]/(α − 1 + z)``
    (``E₊`` over the non-zero λ), so at ``χ → ∞`` ``D(Δ_L) = 1 − z`` and
    ``(1 − z)²Δ_L = (1 − z)mse + cσ²``: with ``k = (1 − z)Δ_L − mse(Δ_L) > 0`` the end is
    ``α_max = 1 − z + σ² z E₊[1/λ]/k`` (the smallest over the roots Δ_L), and ``1 − z`` at
    ``σ² = 0`` (no RS solution at any ``α ≥ 1 − z``: the existence does not depend on α there)."""
    if not z > 0:
        return math.inf, 0
    Ds = np.array([channel(math.exp(x)).D for x in logs])
    inv_mean = float(np.mean(1.0 / lam[lam > 0]))
    ends, n = [], logs.size
    for i in np.flatnonzero((Ds[:-1] >= cap) != (Ds[1:] >= cap)):
        x, info = optimize.brentq(lambda x: channel(math.exp(x)).D - cap, logs[i], logs[i + 1],
                                  xtol=1e-15, rtol=1e-15, full_output=True, disp=False)  # fmt: skip
        n += info.function_calls
        k = cap * math.exp(x) - channel(math.exp(x)).mse
        if k > 0:
            ends.append(cap + s2 * z * inv_mean / k)
    return min(ends, default=math.inf), n
