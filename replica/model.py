"""The weight-quantized regression model and the records of its replica-symmetric solutions.

:class:`QuantizedRegression` is the model every theory and validator of the package takes (RS,
1RSB, TAP, AMP/VAMP, Monte Carlo); :class:`RSSolution` is an RS saddle point of it and
:class:`RSBranch` one entry of the list of RS fixed points that the enumeration of
:func:`replica.regression.solve_rs` found, with their statuses and the helpers that both RS
solvers (:mod:`replica.regression` for i.i.d. Gaussian inputs, :mod:`replica.structured` for
right-rotationally invariant designs) share: the state-evolution start from the grid prior, the
test of two attempts reaching one branch and the branch record.

Layering: this module sits below both solvers, which import it; it imports neither (the
solvers' numerics stay in their modules). :mod:`replica.regression` re-exports every name.

References
----------
S. Kashiwamura, A. Sakata, M. Imaizumi, "Effect of Weight Quantization on Learning Models by
Typical Case Analysis", arXiv:2401.17269 (ISIT 2024): the model and its RS order parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from .designs import Design, GaussianDesign
from .errors import check, real
from .quantizers import Quantizer
from .results import CONVERGED, Compact, Result
from .teachers import (
    DiscreteTeacher,
    GaussianMixtureTeacher,
    GaussianTeacher,
    TeacherPrior,
    second_moment,
)

__all__ = [
    "ESTIMATORS",
    "NO_RS_SOLUTION",
    "STALLED",
    "QuantizedRegression",
    "RSBranch",
    "RSSolution",
]

#: status of :func:`solve_rs` below the interpolation threshold at β = ∞ (``D ≥ α``)
NO_RS_SOLUTION = "no_rs_solution"
#: status of :func:`solve_rs` when the residual stopped decreasing above the tolerance
STALLED = "stalled"
ESTIMATORS = ("mean", "sample")
#: the package's teacher priors (they implement :class:`~replica.teachers.TeacherPrior`)
_TEACHERS = (GaussianTeacher, GaussianMixtureTeacher, DiscreteTeacher)
# the floor e^{-700} that stands for 0 in ln Δ, ln χ: the lower edge of the RS solvers' box
# (``_LOG_LO`` of replica.regression and replica.structured)
_TINY = math.exp(-700.0)


def _number(x, name, expected, ok):
    return real(x, name, expected, ok)


@dataclass(frozen=True, kw_only=True)
class QuantizedRegression:
    """Teacher–student linear regression with a student on a quantizer grid.

    Parameters
    ----------
    quantizer : Quantizer
        The grid ``Q`` of allowed weights.
    alpha : float
        Samples per weight ``M/N`` (> 0).
    beta : float
        Inverse temperature (> 0, or ``math.inf`` for the ground state).
    noise : float
        Label-noise variance ``σ² ≥ 0``.
    ridge : float
        ``λ ≥ 0``.
    teacher : TeacherPrior
        Default ``GaussianTeacher(rho=1)``; also :class:`~replica.teachers.DiscreteTeacher` or any
        object with ``sample`` and ``mixture``.
    estimator : {"mean", "sample"}
        Which student the reported errors refer to: the Gibbs mean ``⟨w⟩`` (default) or one Gibbs
        sample.
    include_noise : bool
        Whether ``gen_error`` includes the label noise σ² (default True: ``E(y − x·ŵ)²``).
    design : Design
        The input design (:mod:`replica.designs`): ``GaussianDesign()`` (default, entries
        N(0, 1/N)), ``CovarianceDesign(eigenvalues=λ)`` or ``SpectralDesign(...)``. Non-Gaussian
        designs are solved by :func:`replica.structured.solve_rs_structured`.
    """

    quantizer: Quantizer
    alpha: float
    beta: float
    noise: float
    ridge: float = 0.0
    teacher: TeacherPrior = field(default_factory=GaussianTeacher)
    estimator: str = "mean"
    include_noise: bool = True
    design: Design = field(default_factory=GaussianDesign)

    def __post_init__(self):
        check(
            isinstance(self.quantizer, Quantizer),
            "quantizer",
            "a replica.Quantizer",
            self.quantizer,
        )
        object.__setattr__(self, "alpha", _number(self.alpha, "alpha", "a finite number > 0 (>= 1e-300: 1/alpha must be finite)",
                                                  lambda a: math.isfinite(a) and a >= 1e-300))  # fmt: skip
        object.__setattr__(self, "beta", _number(self.beta, "beta", "a number > 0 or math.inf",
                                                 lambda b: b > 0))  # fmt: skip
        object.__setattr__(self, "noise", _number(self.noise, "noise", "a finite variance >= 0",
                                                  lambda s: math.isfinite(s) and s >= 0))  # fmt: skip
        object.__setattr__(self, "ridge", _number(self.ridge, "ridge", "a finite number >= 0",
                                                  lambda s: math.isfinite(s) and s >= 0))  # fmt: skip
        # the package's teachers first: a runtime Protocol check costs ~5 us (sweeps build a
        # model per point)
        check(type(self.teacher) in _TEACHERS or isinstance(self.teacher, TeacherPrior), "teacher",
              "an object with sample(n, rng) and mixture()", self.teacher)  # fmt: skip
        check(self.estimator in ESTIMATORS, "estimator", f"one of {ESTIMATORS}", self.estimator)
        check(isinstance(self.include_noise, bool), "include_noise", "a bool", self.include_noise)
        check(isinstance(self.design, Design), "design",
              "a replica.designs.Design (GaussianDesign, CovarianceDesign, SpectralDesign)",
              self.design)  # fmt: skip

    @property
    def rho(self) -> float:
        """Teacher second moment ρ = E[(w⁰)²]."""
        return second_moment(self.teacher)

    def replace(self, **changes) -> QuantizedRegression:
        """Copy with some fields changed (validated), e.g. ``model.replace(alpha=3.0)``."""
        return replace(self, **changes)


@dataclass(frozen=True, kw_only=True)
class RSBranch(Compact):
    """One RS fixed point (or failed attempt) found by :func:`solve_rs`'s enumeration: the start
    it was reached from, its status, free energy, AT quantity, entropy, weight MSE, and its
    ``(delta, chi)`` (pass ``init=(mse, chi)`` to :func:`solve_rs` to get the full solution)."""

    start: str
    status: str
    free_energy: float
    at: float
    entropy: float
    mse: float
    delta: float
    chi: float

    def __repr__(self) -> str:
        return (f"RSBranch({self.start}: {self.status}, f={self.free_energy:.10g}, "
                f"at={self.at:.4g}, s={self.entropy:.4g}, mse={self.mse:.4g})")  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class RSSolution(Result):
    """Replica-symmetric saddle point of :class:`QuantizedRegression`.

    Order parameters ``m`` (teacher overlap), ``q`` (overlap of two replicas = ‖⟨w⟩‖²/N), ``Q``
    (self-overlap), ``chi = β(Q − q)``; conjugates ``m_hat = Q_hat = αβ/(1+χ)`` and ``q_hat``; the
    channel ``delta`` (Δ) and precision ``A``; ``D = E[∂_r f]``; errors (see
    :class:`QuantizedRegression` for the conventions); ``free_energy`` f (per weight, ``−φ/β``),
    ``energy`` e and ``entropy`` s with ``f = e − s/β``. The entropy is assembled from O(1)
    terms only,

        s = E[H(p(·|r))] + (α/2)[χ/(1 + χ) − ln(1 + χ)],

    the mean Shannon entropy of the channel posterior on the grid plus the energetic term (the
    O(β) terms of ``−βf`` cancel analytically), so f, e and s are exact at any β up to ~1e300
    and tend to their β = ∞ values; at β = ∞ ``s`` is that limit, ``(α/2)[χ/(1+χ) − ln(1+χ)]``
    (negative: RS is wrong in the ground state of a discrete grid). ``q_hat`` overflows to
    ``inf`` beyond β ~ 1e154 (it is ∝ β²), as at β = ∞. ``at``: the AT quantity
    ``(1/α)E[(∂_r f)²]`` (RS locally stable iff ``at < 1``; ``inf`` at β = ∞ for a discrete grid).
    ``branch`` names the initialisation the solution was reached from; ``branches`` lists every
    RS fixed point :func:`solve_rs` found (:class:`RSBranch`); ``equilibrium`` says whether this
    one has the lowest free energy among them.
    """

    m: float
    q: float
    Q: float
    chi: float
    m_hat: float
    q_hat: float
    Q_hat: float
    delta: float
    A: float
    D: float
    mse: float
    gen_error: float
    train_error: float
    free_energy: float
    energy: float
    entropy: float
    at: float
    branch: str
    branches: tuple = ()

    @property
    def rs_stable(self) -> bool:
        """RS is the right thermodynamics: AT condition ``at < 1`` (local stability against
        replicon fluctuations) **and** entropy ``≥ 0`` (a Gibbs measure on a discrete grid has
        non-negative entropy; ``s < 0`` with ``at < 1`` is the entropy crisis of a
        random-first-order, freezing transition that the local AT test cannot see)."""
        return self.at < 1.0 and self.entropy >= 0.0

    @property
    def instability(self) -> str:
        """Why RS is not stable: ``"AT"``, ``"entropy"``, ``"AT and entropy"``, or ``""``."""
        why = [w for w, bad in (("AT", not self.at < 1.0), ("entropy", self.entropy < 0.0)) if bad]
        return " and ".join(why)

    @property
    def equilibrium(self) -> bool:
        """This is the lowest-free-energy converged branch among ``branches`` (True when it
        was solved from an explicit ``init``, which has no alternatives)."""
        return all(self.free_energy <= b.free_energy + 1e-12 * (1.0 + abs(b.free_energy))
                   for b in self.branches if b.status == CONVERGED)  # fmt: skip


def _prior_start(model: QuantizedRegression) -> tuple[float, float]:
    """``(mse, χ)`` of the grid prior ``∝ exp(−βλq²/2)``: state evolution's initialisation
    (``ŵ`` its mean, ``χ = β·``its variance), so that Picard iteration from here is state
    evolution and reaches the algorithmic branch. At β = ∞ the uniform prior and ``χ = 1``."""
    levels = model.quantizer.levels
    finite = math.isfinite(model.beta)
    lp = -0.5 * model.beta * model.ridge * levels**2 if finite else np.zeros(levels.size)
    p = np.exp(lp - lp.max())
    p /= p.sum()
    mean = float(p @ levels)
    var = float(p @ (levels - mean) ** 2)
    pi, mu, _ = model.teacher.mixture()
    mse = model.rho - 2.0 * mean * float(np.sum(pi * mu)) + mean * mean
    chi = model.beta * var if finite else 1.0
    return max(mse, 0.0), (chi if chi > 0 else 1.0)


def _start(model: QuantizedRegression, init, prior=None) -> tuple[str, float, float]:
    """``(name, mse, χ)`` of an RS solver's start ``init`` (None, ``"uninformative"``,
    ``"informative"``, an :class:`RSSolution` or ``(mse, chi)``); ``prior``: the model's
    :func:`_prior_start` when known. Each solver turns ``mse`` into its own ``Δ``."""
    if init is None or init == "uninformative":
        mse, chi = prior or _prior_start(model)
        name = "uninformative"
    elif init == "informative":
        mse, chi, name = 1e-4 * model.rho, 1e-2, "informative"
    elif isinstance(init, RSSolution):
        mse, chi, name = init.mse, init.chi, init.branch
    elif isinstance(init, (tuple, list)) and len(init) == 2:
        mse, chi = (float(v) for v in init)
        check(mse >= 0 and chi > 0 and math.isfinite(mse) and math.isfinite(chi), "init",
              "(mse >= 0, chi > 0) finite", init)  # fmt: skip
        name = "user"
    else:
        raise ValueError(
            "init: expected None, 'uninformative', 'informative', an RSSolution or (mse, chi), "
            f"got {init!r}"
        )
    return name, mse, chi


def _same_branch(a: RSSolution, b: RSSolution) -> bool:
    """Two attempts found the same fixed point (both converged, within 1e-7 in ln Δ, ln χ), or
    failed the same way at the same place."""
    if a.converged != b.converged:
        return False
    if not a.converged and a.status != b.status:
        return False
    dd = abs(math.log(max(a.delta, _TINY)) - math.log(max(b.delta, _TINY)))
    dc = abs(math.log(max(a.chi, _TINY)) - math.log(max(b.chi, _TINY)))
    return dd <= 1e-7 and dc <= 1e-7


def _select(attempts: list[RSSolution]) -> tuple[RSSolution, list[RSSolution]]:
    """``(best, distinct)`` of an RS solver's attempts: ``distinct`` keeps the first of each
    branch (:func:`_same_branch`); ``best`` is the converged one of lowest free energy (ties
    within 1e-12 keep the earlier start) or, where none converged, the one that got furthest (a
    ``"no_rs_solution"`` at β = ∞ is a definite answer and is preferred)."""
    distinct = []
    for a in attempts:
        if not any(_same_branch(a, b) for b in distinct):
            distinct.append(a)
    converged = [a for a in distinct if a.converged]
    if converged:
        best = converged[0]
        for a in converged[1:]:
            if a.free_energy < best.free_energy - 1e-12 * (1.0 + abs(best.free_energy)):
                best = a
    else:
        best = min(attempts, key=lambda a: (a.status != NO_RS_SOLUTION, a.residual))
    return best, distinct


def _branch_record(sol: RSSolution) -> RSBranch:
    return RSBranch(start=sol.branch, status=sol.status, free_energy=sol.free_energy, at=sol.at,
                    entropy=sol.entropy, mse=sol.mse, delta=sol.delta, chi=sol.chi)  # fmt: skip
