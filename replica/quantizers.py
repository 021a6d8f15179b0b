"""Deterministic nearest-level quantizers: one :class:`Quantizer` for the whole package.

A quantizer is a finite, sorted set of levels ``c_1 < … < c_K``; it maps ``x`` to the nearest
level, i.e. it is the staircase with jumps at the cell midpoints ``t_k = (c_k + c_{k+1})/2``.
Every theory in :mod:`replica` (replica free energy, STE dynamics, AMP) uses this object, and its
Gaussian moments are exact sums over cells (:mod:`replica.gauss`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy import special

from . import gauss
from .errors import check, integer, real

__all__ = ["CONVENTIONS", "GaussianMoments", "Quantizer"]

CONVENTIONS = ("endpoints", "midrise", "zero")


class GaussianMoments(NamedTuple):
    """Moments of ψ(z) for z ~ N(mean, var): ``first`` E[ψ], ``second`` E[ψ²], ``cross`` E[zψ]."""

    first: np.ndarray
    second: np.ndarray
    cross: np.ndarray


#: largest level magnitude: levels, their squares and differences stay finite in float64
MAX_LEVEL = 1e150


def _check_bits(bits) -> int:
    bits = integer(bits, "bits", "an integer >= 1", lambda b: b >= 1)
    check(bits <= 24, "bits", "bits <= 24 (2^bits levels are stored explicitly)", bits)
    return bits


def _check_width(width) -> float:
    expected = f"a finite number > 0 and <= {MAX_LEVEL:g} (levels squared must be finite)"
    return real(width, "width", expected, lambda w: 0 < w <= MAX_LEVEL)


def _uniform_index_rule(levels):
    """``(c₁, 1/h, slack)`` for :meth:`Quantizer.index`'s rounding path on a (nearly) uniform
    grid ``c_k ≈ c₁ + (k − 1)h``, or ``None`` for other grids.

    ``rint((x − c₁)/h)`` is the nearest index whenever ``(x − c₁)/h`` is at least
    ``0.5 − slack`` away from every half-integer: ``0.5 − slack`` bounds the deviation of the
    stored thresholds from the half-integers (the grid's deviation from the arithmetic one plus
    floating-point rounding of the midpoints and of ``(x − c₁)/h``, with a factor 16 to spare).
    """
    K = levels.size
    if K < 2:
        return None
    h = (levels[-1] - levels[0]) / (K - 1)
    inv = 1.0 / h
    if not (h > 0 and math.isfinite(inv) and math.isfinite(float(np.max(np.abs(levels))) * inv)):
        return None
    dev = float(np.max(np.abs(levels - (levels[0] + h * np.arange(K))))) * inv
    margin = dev + 16.0 * np.finfo(float).eps * (float(np.max(np.abs(levels))) * inv + K)
    if not margin < 0.1:
        return None
    return float(levels[0]), inv, 0.5 - margin


@dataclass(frozen=True, kw_only=True, eq=False)
class Quantizer:
    """Nearest-level quantizer on a finite grid.

    Parameters
    ----------
    levels : array_like
        Strictly increasing, finite levels (at least one). Stored as a read-only float array.
    name : str, optional
        Human-readable description of how the grid was built (set by the constructors).

    Attributes
    ----------
    thresholds : numpy.ndarray
        Cell boundaries, the midpoints between consecutive levels (``K − 1`` of them).

    Notes
    -----
    Ties (``x`` exactly on a threshold) go to the upper level, so ``q`` is right-continuous;
    the choice has probability zero under any continuous law and is matched by
    :meth:`gaussian_moments` at ``var = 0``.

    Examples
    --------
    >>> q = Quantizer.uniform(2, 1.5)
    >>> q.levels
    array([-1.5, -0.5,  0.5,  1.5])
    >>> q([0.1, -3.0, 0.5]).tolist()
    [0.5, -1.5, 0.5]
    """

    levels: np.ndarray
    name: str = "custom"
    thresholds: np.ndarray = field(init=False, repr=False)
    _uniform: tuple | None = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        try:
            lv = np.asarray(self.levels, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(
                f"levels: expected a 1-D array of finite numbers, got {self.levels!r}"
            ) from None
        check(lv.ndim == 1 and lv.size >= 1, "levels", "a non-empty 1-D array", self.levels)
        check(bool(np.all(np.isfinite(lv))), "levels", "finite values (no NaN/inf)", lv.tolist())
        check(
            float(np.max(np.abs(lv))) <= MAX_LEVEL,
            "levels",
            f"values of magnitude <= {MAX_LEVEL:g} (their squares and spacings must be finite)",
            lv.tolist() if lv.size <= 8 else f"max |level| {float(np.max(np.abs(lv))):.3g}",
        )
        check(
            bool(np.all(np.diff(lv) > 0)),
            "levels",
            "strictly increasing (sorted, no repeated) values",
            lv.tolist(),
        )
        lv = lv.copy()
        lv.setflags(write=False)
        th = 0.5 * (lv[1:] + lv[:-1])
        th.setflags(write=False)
        object.__setattr__(self, "levels", lv)
        object.__setattr__(self, "thresholds", th)
        object.__setattr__(self, "_uniform", _uniform_index_rule(lv))

    # ------------------------------------------------------------------ constructors
    @classmethod
    def uniform(cls, bits: int, width: float, convention: str = "endpoints") -> Quantizer:
        """Uniform grid with ``2^bits`` levels (``2^bits − 1`` for ``convention="zero"``).

        Conventions
        -----------
        ``"endpoints"``
            ``2^b`` equally spaced levels from ``−width`` to ``width`` (b = 1 gives ±width).
        ``"midrise"``
            levels ``width·(2k − 1 − K)/K``, k = 1…K: mid-rise, cells of size 2·width/K tiling
            [−width, width].
        ``"zero"``
            ``2^b − 1`` equally spaced levels from ``−width`` to ``width``, symmetric and
            containing 0 (mid-tread); needs ``bits >= 2``.
        """
        bits, width = _check_bits(bits), _check_width(width)
        check(convention in CONVENTIONS, "convention", f"one of {CONVENTIONS}", convention)
        K = 2**bits
        if convention == "endpoints":
            lv = np.linspace(-width, width, K)
        elif convention == "midrise":
            lv = width * (2.0 * np.arange(1, K + 1) - 1.0 - K) / K
        else:
            check(bits >= 2, "bits", "bits >= 2 for convention='zero' (2^b - 1 levels)", bits)
            lv = np.linspace(-width, width, K - 1)
        # exactly antisymmetric (linspace is not): the middle threshold is 0, not -1.1e-16
        lv = 0.5 * (lv - lv[::-1])
        return cls(levels=lv, name=f"uniform(bits={bits}, width={width:g}, {convention})")

    @classmethod
    def gaussian_quantile(cls, bits: int, width: float) -> Quantizer:
        """Levels at the standard-normal quantiles ``Φ⁻¹((k − ½)/K)`` (equal probability mass per
        level), rescaled so that the outermost levels are ±width."""
        bits, width = _check_bits(bits), _check_width(width)
        K = 2**bits
        u = special.ndtri((np.arange(1, K + 1) - 0.5) / K)
        return cls(
            levels=width * u / u[-1], name=f"gaussian_quantile(bits={bits}, width={width:g})"
        )

    @classmethod
    def power(cls, bits: int, width: float, gamma: float) -> Quantizer:
        """Companding grid ``width·sign(u)|u|^gamma`` on the uniform endpoints grid u ∈ [−1, 1].

        ``gamma > 1`` concentrates levels near 0, ``gamma < 1`` near ±width, ``gamma = 1`` is
        :meth:`uniform`.
        """
        bits, width = _check_bits(bits), _check_width(width)
        ok = isinstance(gamma, (int, float, np.floating, np.integer)) and not isinstance(
            gamma, bool
        )
        check(ok and math.isfinite(gamma) and gamma > 0, "gamma", "a finite number > 0", gamma)
        u = np.linspace(-1.0, 1.0, 2**bits)
        lv = width * np.sign(u) * np.abs(u) ** gamma
        return cls(levels=lv, name=f"power(bits={bits}, width={width:g}, gamma={gamma:g})")

    @classmethod
    def power_of_two(cls, bits: int, width: float) -> Quantizer:
        """Logarithmic grid ``±width·2^{−j}``, j = 0 … 2^{b−1} − 1 (no zero level)."""
        bits, width = _check_bits(bits), _check_width(width)
        pos = width * 2.0 ** -np.arange(2 ** (bits - 1))
        check(bool(pos[-1] > 0), "bits", "few enough bits that 2^-(2^(b-1)) > 0", bits)
        return cls(
            levels=np.concatenate([-pos, pos[::-1]]),
            name=f"power_of_two(bits={bits}, width={width:g})",
        )

    # ------------------------------------------------------------------ properties
    @property
    def n_levels(self) -> int:
        """Number of levels K."""
        return int(self.levels.size)

    @property
    def width(self) -> float:
        """Largest absolute level."""
        return float(np.max(np.abs(self.levels)))

    @property
    def steps(self) -> np.ndarray:
        """Gaps ``c_{k+1} − c_k`` between consecutive levels (the jumps of the staircase)."""
        return np.diff(self.levels)

    def __eq__(self, other):
        if not isinstance(other, Quantizer):
            return NotImplemented
        return np.array_equal(self.levels, other.levels)

    def __hash__(self):
        return hash(self.levels.tobytes())

    def __repr__(self):
        return f"Quantizer({self.name}, levels={np.array2string(self.levels, precision=4)})"

    # ------------------------------------------------------------------ maps
    def index(self, x) -> np.ndarray:
        """Index of the nearest level for each entry of ``x`` (ties to the upper level).

        On (nearly) uniform grids this is rounding plus clipping; entries too close to a
        threshold for rounding to be certain (ties among them) go to the binary search
        ``searchsorted(thresholds, x, side="right")`` used on other grids, so the result is
        exactly the binary search's.
        """
        x = np.asarray(x, dtype=float)
        rule = self._uniform
        if rule is None:
            if np.isnan(x).any():
                raise ValueError("x: expected numbers, got an array containing NaN")
            return np.searchsorted(self.thresholds, x, side="right")
        c1, inv, slack = rule
        shape, x = x.shape, x.reshape(-1)
        with np.errstate(over="ignore", invalid="ignore"):  # |x| ~ 1e308, ±inf: checked below
            u = x - c1
            u *= inv
            k = np.rint(u)
            u -= k
            np.abs(u, out=u)
        if not u.max(initial=0.0) <= slack:
            # entries next to a threshold (ties), ±inf or NaN: the binary search decides
            near = ~(u <= slack)
            xn = x[near]
            if np.isnan(xn).any():
                raise ValueError("x: expected numbers, got an array containing NaN")
            k[near] = np.searchsorted(self.thresholds, xn, side="right")
        np.clip(k, 0, self.levels.size - 1, out=k)
        return k.astype(np.intp).reshape(shape)

    def __call__(self, x) -> np.ndarray:
        """Nearest level, elementwise, for any array shape (saturating outside the grid)."""
        return self.levels[self.index(x)]

    # ------------------------------------------------------------------ Gaussian averages
    def gaussian_moments(self, mean=0.0, var=1.0) -> GaussianMoments:
        """Exact E[ψ(z)], E[ψ(z)²] and E[z ψ(z)] for z ~ N(mean, var).

        Closed form per quantizer cell (normal tail probabilities and densities at the
        thresholds); broadcasts over ``mean`` and ``var`` (``var >= 0``).
        """
        mean = np.asarray(mean, dtype=float)
        var = np.asarray(var, dtype=float)
        def shown(a):  # -1.0, not array(-1.)
            return repr(a.item()) if a.ndim == 0 else np.array2string(a, threshold=8)

        if np.isnan(mean).any() or not np.all(np.isfinite(mean)):
            raise ValueError(f"mean: expected finite numbers, got {shown(mean)}")
        if np.isnan(var).any() or not np.all((var >= 0) & np.isfinite(var)):
            raise ValueError(f"var: expected finite numbers >= 0, got {shown(var)}")
        first = gauss.staircase_mean(self.levels, self.thresholds, mean, var)
        second = gauss.staircase_mean(self.levels**2, self.thresholds, mean, var)
        cross = mean * first + gauss.staircase_stein(self.levels, self.thresholds, mean, var)
        return GaussianMoments(first, second, cross)

    def describe(self, mean: float = 0.0, var: float = 1.0) -> str:
        """Multi-line human summary: levels, thresholds and Gaussian moments."""
        m = self.gaussian_moments(mean, var)
        first = float(m.first)
        if mean == 0.0 and np.array_equal(self.levels, -self.levels[::-1]):
            first = 0.0  # zero by symmetry (summation leaves ~1e-17)
        fmt = {"float_kind": lambda v: f"{v: .6g}"}
        return "\n".join(
            [
                f"quantizer   {self.name}",
                f"levels      {np.array2string(self.levels, formatter=fmt)}",
                f"thresholds  {np.array2string(self.thresholds, formatter=fmt)}",
                f"z ~ N({mean:g}, {var:g}):",
                f"  E[psi(z)]     = {first:.12g}",
                f"  E[psi(z)^2]   = {float(m.second):.12g}",
                f"  E[z psi(z)]   = {float(m.cross):.12g}",
            ]
        )
