"""Teacher priors P₀ for the teacher–student models.

A teacher is anything with ``sample(n, rng)`` and a Gaussian-mixture description
``mixture() -> (weights, means, variances)``: the replica and state-evolution averages over
``w⁰`` then reduce to one-dimensional integrals per component (a component of variance 0 is a
point mass, so discrete teachers are mixtures too). Users add a prior by implementing this small
protocol (:class:`TeacherPrior`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from .errors import check

__all__ = ["DiscreteTeacher", "GaussianMixtureTeacher", "GaussianTeacher", "TeacherPrior"]


@runtime_checkable
class TeacherPrior(Protocol):
    """Protocol of a teacher prior: a sampler and a Gaussian-mixture form."""

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` i.i.d. teacher weights."""
        ...

    def mixture(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The prior as a Gaussian mixture ``(weights, means, variances)`` (what the theory uses)."""
        ...


def second_moment(teacher: TeacherPrior) -> float:
    """ρ = E[(w⁰)²] of a teacher, from its mixture form."""
    w, mu, s = teacher.mixture()
    return float(np.sum(w * (mu * mu + s)))


def _finite_pos(x, name, allow_zero=False):
    ok = isinstance(x, (int, float, np.floating, np.integer)) and not isinstance(x, bool)
    ok = ok and math.isfinite(x) and (x >= 0 if allow_zero else x > 0)
    check(ok, name, "a finite number " + (">= 0" if allow_zero else "> 0"), x)
    return float(x)


@dataclass(frozen=True, kw_only=True)
class GaussianTeacher:
    """Gaussian teacher N(0, ρ) (the card's default, ρ = 1)."""

    rho: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "rho", _finite_pos(self.rho, "rho"))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` i.i.d. teacher weights."""
        return math.sqrt(self.rho) * rng.standard_normal(n)

    def mixture(self):
        """The prior as a Gaussian mixture ``(weights, means, variances)`` (what the theory uses)."""
        return np.array([1.0]), np.array([0.0]), np.array([self.rho])


@dataclass(frozen=True, kw_only=True, eq=False)
class GaussianMixtureTeacher:
    """Mixture Σ_j π_j N(μ_j, s_j); components with ``s_j = 0`` are point masses."""

    weights: np.ndarray
    means: np.ndarray
    variances: np.ndarray

    def __post_init__(self):
        w = np.asarray(self.weights, dtype=float)
        mu = np.asarray(self.means, dtype=float)
        s = np.asarray(self.variances, dtype=float)
        check(w.ndim == 1 and w.size >= 1, "weights", "a non-empty 1-D array", self.weights)
        check(mu.shape == w.shape and s.shape == w.shape, "means/variances",
              f"arrays of the same shape as weights {w.shape}", (mu.shape, s.shape))  # fmt: skip
        check(bool(np.all(np.isfinite(w)) and np.all(w >= 0) and w.sum() > 0), "weights",
              "finite non-negative numbers with a positive sum", w.tolist())  # fmt: skip
        check(bool(np.all(np.isfinite(mu))), "means", "finite numbers", mu.tolist())
        check(bool(np.all(np.isfinite(s)) and np.all(s >= 0)), "variances", "finite numbers >= 0",
              s.tolist())  # fmt: skip
        for name, arr in (("weights", w / w.sum()), ("means", mu), ("variances", s)):
            arr = arr.copy()
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` i.i.d. teacher weights."""
        j = rng.choice(self.weights.size, size=n, p=self.weights)
        return self.means[j] + np.sqrt(self.variances[j]) * rng.standard_normal(n)

    def mixture(self):
        """The prior as a Gaussian mixture ``(weights, means, variances)`` (what the theory uses)."""
        return self.weights, self.means, self.variances

    def __eq__(self, other):
        if not isinstance(other, GaussianMixtureTeacher):
            return NotImplemented
        return all(np.array_equal(a, b) for a, b in zip(self.mixture(), other.mixture()))

    def __hash__(self):
        return hash(tuple(a.tobytes() for a in self.mixture()))


@dataclass(frozen=True, kw_only=True, eq=False)
class DiscreteTeacher(GaussianMixtureTeacher):
    """Teacher uniform (or with given ``probs``) on a finite set of ``values``, e.g. the
    student's own grid (the Bayes-optimal setting)."""

    weights: np.ndarray = field(default=None)
    means: np.ndarray = field(default=None)
    variances: np.ndarray = field(default=None)
    values: np.ndarray = field(default=None)
    probs: np.ndarray | None = None

    def __post_init__(self):
        vals = np.asarray(self.values, dtype=float)
        check(vals.ndim == 1 and vals.size >= 1, "values", "a non-empty 1-D array", self.values)
        probs = np.full(vals.size, 1.0 / vals.size) if self.probs is None else self.probs
        object.__setattr__(self, "weights", probs)
        object.__setattr__(self, "means", vals)
        object.__setattr__(self, "variances", np.zeros(vals.size))
        super().__post_init__()
        object.__setattr__(self, "values", self.means)
        object.__setattr__(self, "probs", self.weights)

    @classmethod
    def on_grid(cls, quantizer) -> DiscreteTeacher:
        """Teacher uniform on a quantizer's levels."""
        return cls(values=quantizer.levels)
