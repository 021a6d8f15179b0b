"""Input designs of the regression model and the spectral law of ``XᵀX`` they induce.

The replica theory of :mod:`replica.regression` assumes i.i.d. Gaussian inputs. This module
describes *right-rotationally invariant* designs ``X = U S Vᵀ`` (``V`` Haar), for which the RS
theory depends on the design only through the limiting spectral law ``ν`` of ``XᵀX`` (an
``N × N`` matrix; ``M = αN``):

* :class:`GaussianDesign` — rows ``x_μ ~ N(0, I/N)`` (the default; ``ν`` is Marchenko–Pastur);
* :class:`CovarianceDesign` — rows ``x_μ ~ N(0, Σ/N)``, ``Σ = O diag(λ) Oᵀ`` with the user's
  eigenvalues ``λ`` (used as given, no normalisation) and generic (Haar) eigenvectors ``O``;
  ``ν`` is the generalised Marchenko–Pastur law (Silverstein's equation, solved numerically);
* :class:`SpectralDesign` — ``ν`` given directly as a (weighted) list of eigenvalues of
  ``XᵀX``, e.g. from the singular values of a data matrix, or an orthogonal design.

Everything the theory needs is the Stieltjes transform on the negative axis,
``G(s) = ∫ ν(dμ)/(μ + s)``, and the R-transform ``R`` at ``−χ`` (:class:`SpectralLaw`): with
``G(s) = χ``, ``R(−χ) = 1/χ − s`` and ``R'(−χ) = 1/χ² + 1/G'(s)``. For the covariance design
``G`` follows from the eigenvalues ``λ`` alone (no matrix is sampled),

    G(s) = E_λ[1/(κλ + s)],   κ = α − 1 + s G(s)   (equivalently κ = α/(1 + E_λ[λ/(κλ + s)])),

the deterministic equivalent ``(XᵀX + s)⁻¹ ≃ (κΣ + s)⁻¹``; the density of ``ν`` is the same
equation at complex ``s = −x − iη``, η → 0.

Bringing real data: standardise the features (zero mean, unit variance per column), take the
eigenvalues of the empirical covariance ``XᵀX/M`` of the standardised ``M × N`` data as ``λ``
(so that ``x_μ ~ N(0, Σ/N)`` means features of variance ~1 scaled by ``1/√N`` as in the i.i.d.
model). *Generic eigenvectors* means that the teacher ``w⁰`` (i.i.d. from its prior) has no
preferred alignment with the principal directions of Σ — true when Σ's eigenvectors are
delocalised with respect to the weight basis and the teacher is drawn independently of them;
false when, e.g., the signal sits on the top principal components, or Σ is diagonal in the
weight basis and the prior is not Gaussian (then ``O`` is not generic for a grid-valued student).

References
----------
J. W. Silverstein, Z. D. Bai, "On the empirical distribution of eigenvalues of a class of large
dimensional random matrices", J. Multivar. Anal. 54, 175 (1995) (the generalised MP equation);
A. M. Tulino, S. Verdú, "Random matrix theory and wireless communications" (2004) (R- and
η-transforms); A. Guionnet, M. Maïda, J. Funct. Anal. 222, 435 (2005) (rank-one spherical
integrals, the integrated R-transform in the energetic term).
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .errors import check
from .results import Compact

__all__ = [
    "CovarianceDesign",
    "Design",
    "GaussianDesign",
    "SpectralDesign",
    "SpectralLaw",
    "spectral_law",
]


class Design(Compact, abc.ABC):
    """Base class of input designs: the spectral law of ``XᵀX`` and a sampler."""

    gaussian = False

    def law(self, alpha: float) -> SpectralLaw:
        """The limiting spectral law of ``XᵀX`` at ``M/N = alpha`` (cached per design)."""
        return spectral_law(self, float(alpha))

    @abc.abstractmethod
    def sample(self, M: int, N: int, rng: np.random.Generator) -> np.ndarray:
        """Draw an ``M × N`` design matrix from ``rng``."""


def _haar(n: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-distributed ``n × n`` orthogonal matrix (QR of a Gaussian matrix, signs fixed)."""
    Z = rng.standard_normal((n, n))
    Q, R = np.linalg.qr(Z)
    return Q * np.sign(np.diag(R))


def _eig_tuple(values, name) -> tuple:
    arr = np.asarray(values, dtype=float).ravel() if not isinstance(values, str) else None
    check(arr is not None and arr.size >= 1 and bool(np.all(np.isfinite(arr))), name,
          "a non-empty 1-D array of finite numbers", values)  # fmt: skip
    check(bool(np.all(arr >= 0)), name, "non-negative eigenvalues", float(arr.min()))
    check(bool(np.any(arr > 0)), name, "at least one positive eigenvalue", values)
    return tuple(float(v) for v in np.sort(arr)[::-1])


def _summary(vals: tuple) -> str:
    a = np.asarray(vals)
    return f"<{a.size} values in [{a.min():.4g}, {a.max():.4g}], mean {a.mean():.4g}>"


@dataclass(frozen=True)
class GaussianDesign(Design):
    """i.i.d. Gaussian design, entries ``X_{μi} ~ N(0, 1/N)`` (the default): ``XᵀX`` has the
    Marchenko–Pastur law of ratio α, ``R(t) = α/(1 − t)``."""

    gaussian = True

    def sample(self, M, N, rng):
        """Draw an ``M × N`` design matrix from ``rng`` (see the class)."""
        return rng.standard_normal((M, N)) / math.sqrt(N)


@dataclass(frozen=True, kw_only=True, repr=False)
class CovarianceDesign(Design):
    """Rows ``x_μ ~ N(0, Σ/N)``, ``Σ = O diag(λ) Oᵀ`` with ``O`` Haar.

    Parameters
    ----------
    eigenvalues : array_like
        The eigenvalues λ of Σ (≥ 0, at least one > 0), used as given (no normalisation;
        ``λ ≡ 1`` is the i.i.d. design). Their empirical distribution is the law of λ in the
        theory; an instance with ``N`` weights uses the ``N`` quantiles of that distribution
        (the list itself when it has ``N`` entries).
    """

    eigenvalues: tuple

    def __post_init__(self):
        object.__setattr__(self, "eigenvalues", _eig_tuple(self.eigenvalues, "eigenvalues"))

    def __repr__(self):
        return f"CovarianceDesign(eigenvalues={_summary(self.eigenvalues)})"

    def eigenvalues_at(self, N: int) -> np.ndarray:
        """The ``N`` eigenvalues of Σ used at size ``N``: quantiles of the given list."""
        lam = np.asarray(self.eigenvalues)
        if lam.size == N:
            return lam.copy()
        idx = np.floor((np.arange(N) + 0.5) * lam.size / N).astype(int)
        return lam[idx]

    def sample(self, M, N, rng):
        """Draw an ``M × N`` design matrix from ``rng`` (see the class)."""
        lam = self.eigenvalues_at(N)
        O = _haar(N, rng)
        Z = rng.standard_normal((M, N))
        return (Z * np.sqrt(lam)) @ O.T / math.sqrt(N)


@dataclass(frozen=True, kw_only=True, repr=False)
class SpectralDesign(Design):
    """A right-rotationally invariant design given by the law of ``XᵀX``.

    ``X = U diag(√μ) Vᵀ`` with ``U``, ``V`` Haar and ``μ`` drawn from the given law.

    Parameters
    ----------
    xtx_eigenvalues : array_like
        Atoms of the law of the eigenvalues of ``XᵀX`` (``N × N``, zeros included), ≥ 0.
    weights : array_like, optional
        Their probabilities (default: equal). At most ``min(1, α)`` of the mass may sit on
        positive eigenvalues (``XᵀX`` has rank ≤ M); checked when the law is used with a model.
    """

    xtx_eigenvalues: tuple
    weights: tuple | None = None

    def __post_init__(self):
        mu = np.asarray(self.xtx_eigenvalues, dtype=float).ravel()
        check(mu.size >= 1 and bool(np.all(np.isfinite(mu))) and bool(np.all(mu >= 0)),
              "xtx_eigenvalues", "a non-empty 1-D array of finite numbers >= 0",
              self.xtx_eigenvalues)  # fmt: skip
        if self.weights is None:
            w = np.full(mu.size, 1.0 / mu.size)
        else:
            w = np.asarray(self.weights, dtype=float).ravel()
            check(w.shape == mu.shape and bool(np.all(w >= 0)) and abs(w.sum() - 1) < 1e-12,
                  "weights", f"{mu.size} probabilities >= 0 summing to 1", self.weights)  # fmt: skip
        check(
            bool(np.any((mu > 0) & (w > 0))),
            "xtx_eigenvalues",
            "at least one positive eigenvalue with positive weight",
            self.xtx_eigenvalues,
        )
        object.__setattr__(self, "xtx_eigenvalues", tuple(mu.tolist()))
        object.__setattr__(self, "weights", tuple(w.tolist()))

    def __repr__(self):
        return f"SpectralDesign(xtx_eigenvalues={_summary(self.xtx_eigenvalues)})"

    @classmethod
    def from_singular_values(cls, singular_values, n_weights: int) -> SpectralDesign:
        """The design whose ``X`` (``M × N``, ``N = n_weights``) has these singular values (the
        other ``N − len`` eigenvalues of ``XᵀX`` are 0)."""
        s = np.asarray(singular_values, dtype=float).ravel()
        check(isinstance(n_weights, (int, np.integer)) and n_weights >= s.size, "n_weights",
              f"an integer >= the number of singular values ({s.size})", n_weights)  # fmt: skip
        mu = np.concatenate([s * s, np.zeros(int(n_weights) - s.size)])
        return cls(xtx_eigenvalues=mu)

    @classmethod
    def orthogonal(cls, alpha: float, scale: float | None = None) -> SpectralDesign:
        """Row-orthogonal (α ≤ 1: ``XXᵀ = c I_M``) or column-orthogonal (α ≥ 1: ``XᵀX = c I_N``)
        design; ``scale`` is ``c``, by default ``max(α, 1)`` so that ``Tr XᵀX/N = α`` as for
        the i.i.d. design."""
        check(isinstance(alpha, (int, float)) and alpha > 0, "alpha", "a number > 0", alpha)
        c = max(alpha, 1.0) if scale is None else scale
        check(c > 0, "scale", "a number > 0", scale)
        if alpha >= 1:
            return cls(xtx_eigenvalues=(c,))
        return cls(xtx_eigenvalues=(c, 0.0), weights=(alpha, 1.0 - alpha))

    def eigenvalues_at(self, N: int) -> np.ndarray:
        """``N`` eigenvalues of ``XᵀX``: the quantiles of the law."""
        mu = np.asarray(self.xtx_eigenvalues)
        w = np.asarray(self.weights)
        order = np.argsort(mu)[::-1]
        cdf = np.cumsum(w[order])
        idx = np.searchsorted(cdf, (np.arange(N) + 0.5) / N)
        return mu[order][np.minimum(idx, mu.size - 1)]

    def sample(self, M, N, rng):
        """Draw an ``M × N`` design matrix from ``rng`` (see the class)."""
        mu = self.eigenvalues_at(N)
        k = min(M, N)
        check(int(np.count_nonzero(mu)) <= k, "xtx_eigenvalues",
              f"at most min(M, N) = {k} positive eigenvalues at M={M}, N={N}",
              int(np.count_nonzero(mu)))  # fmt: skip
        U = _haar(M, rng)[:, :k]
        V = _haar(N, rng)[:, :k]
        return (U * np.sqrt(mu[:k])) @ V.T


# ----------------------------------------------------------------------------- spectral law
class SpectralLaw:
    """The limiting spectral law ``ν`` of ``XᵀX`` for a design at ``α = M/N``.

    Methods evaluate the Stieltjes transform ``G(s) = ∫ν(dμ)/(μ + s)`` and its derivative on
    the real axis, the R-transform at ``−χ``, and the density / distribution function of ``ν``
    (:meth:`density`, :meth:`cdf`), all without sampling a matrix.
    """

    def __init__(self, design: Design, alpha: float):
        self.design = design
        self.alpha = alpha
        self._lam = None
        self._mu = None
        if isinstance(design, CovarianceDesign):
            self._lam = np.asarray(design.eigenvalues)
        elif isinstance(design, SpectralDesign):
            self._mu = np.asarray(design.xtx_eigenvalues)
            self._w = np.asarray(design.weights)
            pos = float(self._w[self._mu > 0].sum())
            check(pos <= min(1.0, alpha) + 1e-12, "design",
                  f"a law of XᵀX with at most min(1, alpha) = {min(1.0, alpha):g} of its mass on "
                  "positive eigenvalues (rank XᵀX <= M)", pos)  # fmt: skip
        elif not isinstance(design, GaussianDesign):
            raise TypeError(f"design: expected a replica.designs.Design, got {design!r}")
        self._cdf_table = None
        self._table = None
        # direct solves outside the table's range, by χ (the β = ∞ solver revisits the edge of
        # its box, χ = e^{40}, many times): bounded, cleared when full
        self._direct = {}
        self._r_prime_zero = None

    # --- the mean of ν, the first free cumulant: R(0)
    @property
    def mean(self) -> float:
        """``∫ μ ν(dμ) = Tr XᵀX / N``."""
        if self._lam is not None:
            return self.alpha * float(self._lam.mean())
        if self._mu is not None:
            return float(self._w @ self._mu)
        return self.alpha

    @property
    def zero_mass(self) -> float:
        """Mass of ν at 0: ``1 − rank(XᵀX)/N = 1 − min(α, 1 − z)`` for a covariance design with a
        fraction ``z`` of zero eigenvalues (``max(0, 1 − α)`` when all ``λ > 0``)."""
        if self._mu is not None:
            return float(self._w[self._mu == 0].sum())
        z = float(np.mean(self._lam == 0)) if self._lam is not None else 0.0
        return max(1.0 - min(self.alpha, 1.0 - z), 0.0)

    # --- the β = ∞ limit: Φ(χ) = χR(−χ) and its inverse
    @property
    def rank_limit(self) -> float:
        """``L = lim_{χ→∞} χR(−χ)``, the largest ``D`` with a finite root of ``χR(−χ) = D``.

        ``Φ(χ) = χR(−χ) = 1 − sG(s) = ∫ μ/(μ + s) ν(dμ)`` (``G(s) = χ``) increases with χ. Where ν
        has an atom at 0, ``s → 0⁺`` as ``χ → ∞`` and ``L = 1 − ν({0})``, the fraction of
        non-zero eigenvalues of ``XᵀX`` (rank/N). Where it has none (a full-rank ``XᵀX``,
        ``α ≥ 1``), L depends on the law near its lower edge, on the branch continued below it:
        ``L = α`` for a covariance design with all ``λ > 0`` (Marchenko–Pastur: ``αχ/(1 + χ) → α``;
        ``Φ = α − κ`` and ``κ → 0``), ``L = ∞`` for an atomic law whose smallest eigenvalue is
        ``> 0`` (``s → −min μ``, ``Φ → ∞``: every ``D`` has a root). For a covariance design with a
        fraction ``z`` of zero eigenvalues, ``L = min(α, 1 − z)`` (``= 1 − ν({0})``). Checked against
        ``χR(−χ)`` at large χ in the tests.
        """
        a = self.alpha
        if self._mu is not None:
            nu0 = float(self._w[self._mu == 0].sum())
            return 1.0 - nu0 if nu0 > 0 else math.inf
        if self._lam is not None:
            z = float(np.mean(self._lam == 0))
            return min(a, 1.0 - z) if z > 0 else a
        return a

    def chi_of_d(self, D: float) -> tuple[float, float]:
        """``(χ, d ln χ/dD)`` with ``χR(−χ) = D`` (the β = ∞ susceptibility equation); ``(inf,
        inf)`` when ``D ≥`` :attr:`rank_limit` (no finite root), ``(0, inf)`` at ``D = 0``.

        Solved without the R-transform table, to rounding: Marchenko–Pastur ``χ = D/(α − D)``;
        covariance design ``κ = α − D``, ``χ = y/κ`` with ``E[1/(yλ + 1 − D)] = 1`` (the
        Silverstein equation at ``s = (1 − D)/χ``); atomic law ``Σ w μ/(μ + s) = D``, ``χ = G(s)``.
        """
        D = float(D)
        if not D > 0:
            return 0.0, math.inf
        if not D < self.rank_limit:
            return math.inf, math.inf
        a = self.alpha
        if self._mu is not None:
            pos = (self._mu > 0) & (self._w > 0)
            mu, w = self._mu[pos], self._w[pos]
            nu0 = 1.0 - float(w.sum())

            def h(x):
                inv = 1.0 / (mu[None, :] + x[:, None])
                return (mu[None, :] * inv) @ w - D, -((mu[None, :] * inv * inv) @ w)

            lo = 0.0 if nu0 > 0 else -float(mu.min())
            s = float(_decreasing_root(h, np.array([lo]), np.array([float(mu @ w) / D]))[0])
            inv = 1.0 / (mu + s)
            chi = nu0 / s + float(inv @ w) if nu0 > 0 else float(inv @ w)
            si = s * inv  # s/(μ + s) ∈ (0, 1]: the ratio below scaled by s² (no underflow)
            dchi_dD = (nu0 + float((si * si) @ w)) / float((mu * si * si) @ w)
            return chi, dchi_dD / chi
        if self._lam is None:
            return D / (a - D), a / (D * (a - D))
        y, u = _y_root(self._lam, D)
        kappa = a - D
        lam = self._lam
        dy_dD = float(np.mean(u * u)) / float(np.mean(lam * u * u))
        return y / kappa, dy_dD / y + 1.0 / kappa

    def threshold_constant(self) -> float:
        """``y∞ = −lim_{χ→∞} χ[χR(−χ) − α]`` for a covariance design at ``α < 1 − z`` (``z`` its
        fraction of zero eigenvalues; the Gaussian design: ``y∞ = α``): the root of
        ``E[1/(yλ + 1 − α)] = 1``, zero eigenvalues included. With it the β = ∞
        channel variance at ``χ → ∞`` solves ``Δα² = mse·α + y∞σ²`` (used by
        :func:`replica.boundaries.interpolation_threshold`)."""
        return threshold_constant(self.design, self.alpha)

    # --- real axis
    def _kappa(self, s):
        """κ(s) for the covariance design at real ``s > 0`` (array), by bisection + Newton on
        ``κ (1 + E[λ/(κλ + s)]) = α`` (increasing in κ, root in (0, α])."""
        s = np.atleast_1d(np.asarray(s, dtype=float))
        lam = self._lam
        lo = np.zeros_like(s)
        hi = np.full_like(s, self.alpha)
        k = 0.5 * hi
        for _ in range(200):
            den = k[:, None] * lam + s[:, None]
            e1 = np.mean(lam / den, axis=1)
            e2 = np.mean(lam * lam / den**2, axis=1)
            F = k * (1.0 + e1) - self.alpha
            dF = 1.0 + e1 - k * e2
            lo = np.where(F < 0, k, lo)
            hi = np.where(F > 0, k, hi)
            step = k - F / dF
            bad = ~((step > lo) & (step < hi))
            k_new = np.where(bad, 0.5 * (lo + hi), step)
            if np.all(np.abs(k_new - k) <= 1e-15 * np.maximum(k, 1e-300)):
                k = k_new
                break
            k = k_new
        return k

    def stieltjes(self, s):
        """``(G(s), G'(s))`` with ``G(s) = ∫ν(dμ)/(μ + s)`` at real ``s > 0`` (arrays)."""
        s = np.atleast_1d(np.asarray(s, dtype=float))
        if self._mu is not None:
            den = self._mu[None, :] + s[:, None]
            return (1.0 / den) @ self._w, -(1.0 / den**2) @ self._w
        if self._lam is None:
            lam = np.ones(1)
            k = self._kappa_mp(s)
        else:
            lam = self._lam
            k = self._kappa(s)
        den = k[:, None] * lam + s[:, None]
        G = np.mean(1.0 / den, axis=1)
        p = np.mean(lam / den**2, axis=1)
        r = np.mean(1.0 / den**2, axis=1)
        return G, -(p * G + r) / (1.0 + s * p)

    def _kappa_mp(self, s):
        # κ(1 + 1/(κ + s)) = α  ⇔  κ² + (s + 1 − α)κ − αs = 0 (positive root)
        b = s + 1.0 - self.alpha
        return 0.5 * (-b + np.sqrt(b * b + 4.0 * self.alpha * s))

    def at_chi(self, chi):
        """``(s, R(−χ), R'(−χ))`` at ``χ > 0`` (arrays): ``s`` solves ``G(s) = χ`` (continued
        analytically below the spectrum's lower edge through the λ-form of the equation).

        Served from the cached Chebyshev table (:meth:`table`) inside its range, else solved."""
        chi = np.atleast_1d(np.asarray(chi, dtype=float))
        if self._lam is None and self._mu is None:
            R = self.alpha / (1.0 + chi)
            return 1.0 / chi - R, R, R / (1.0 + chi)
        tab = self.table()
        if tab is not None:
            u = np.log(chi)
            if np.all((u >= _U_LO) & (u <= _U_HI)):
                R = np.exp(tab[0](u))
                return 1.0 / chi - R, R, np.exp(tab[1](u))
            if np.all(u < _U_LO):
                return self._below_table(chi, tab)[:3]
        return self._solve_at_chi(chi)

    def _below_table(self, chi, tab):
        """``(s, R, R', dR'/d ln χ)`` at ``χ < χ₀ = e^{U_LO}`` (arrays) by the expansion at 0,
        ``R(−χ) = R(0) − χR'(0) + O(χ²)`` with ``R(0)`` the mean of ν and ``R'(0)`` solved once
        at ``χ = 1e-20`` (cached), ``R'(−χ)`` linear between ``R'(0)`` and the table's
        ``R'(−χ₀)`` (errors O(χχ₀) relative, < 1e-20 for laws with moderate cumulants): the
        direct solve underflows at the ``χ ~ e^{−700}`` of perfect recovery, and the table's
        derivative at its end is too noisy for a Taylor step."""
        if self._r_prime_zero is None:
            self._r_prime_zero = float(self._solve_at_chi(np.array([1e-20]))[2][0])
        c0, d0 = math.exp(_U_LO), self._r_prime_zero
        slope = (math.exp(float(tab[1](_U_LO))) - d0) / c0  # dR'(−χ)/dχ on [0, χ₀]
        R = self.mean - chi * d0
        dR = d0 + chi * slope
        with np.errstate(over="ignore"):  # s = 1/χ − R overflows to inf at χ ~ 1e-308
            s = 1.0 / chi - R
        return s, R, dR, chi * slope

    def table(self):
        """The one-time spectral set-up (cached): Chebyshev interpolants in ``u = ln χ`` on
        ``[−25, 25]`` of ``ln R(−χ)``, ``ln R'(−χ)`` and of ``∫ χR(−χ) du`` (the integrated
        R-transform), with a degree raised until 64 random checks against the direct solution
        agree to 1e-12 relative; None (direct solves) if that fails or ``R, R' ≤ 0``."""
        if self._table is False:
            return None
        if self._table is not None:
            return self._table
        self._table = False
        from numpy.polynomial import Chebyshev

        rng = np.random.default_rng(0)
        u_test = rng.uniform(_U_LO, _U_HI, 64)
        _, R_t, dR_t = self._solve_at_chi(np.exp(u_test))
        if not (np.all(R_t > 0) and np.all(dR_t > 0)):
            return None
        for deg in (128, 256, 512):
            nodes = np.cos(math.pi * (np.arange(deg + 1) + 0.5) / (deg + 1))
            u = 0.5 * (_U_HI - _U_LO) * nodes + 0.5 * (_U_HI + _U_LO)
            _, R, dR = self._solve_at_chi(np.exp(u))
            if not (np.all(R > 0) and np.all(dR > 0)):
                return None
            fit = [Chebyshev.fit(u, y, deg, domain=[_U_LO, _U_HI])
                   for y in (np.log(R), np.log(dR), np.exp(u) * R)]  # fmt: skip
            err = max(float(np.max(np.abs(fit[0](u_test) - np.log(R_t)))),
                      float(np.max(np.abs(fit[1](u_test) - np.log(dR_t)))))  # fmt: skip
            if err < 1e-12:
                integral = fit[2].integ(lbnd=_U_LO)
                n = deg + 2
                C = np.zeros((4, n))
                for i, c in enumerate((fit[0], fit[1], fit[1].deriv(), integral)):
                    C[i, : c.coef.size] = c.coef
                # d/du of the fit in its own domain variable: chain rule factor 2/(U_HI − U_LO)
                self._table = (fit[0], fit[1], integral, C, np.arange(n))
                return self._table
        return None

    def point(self, chi: float) -> tuple[float, float, float, float]:
        """``(s, R(−χ), R'(−χ), dR'(−χ)/d ln χ)`` at one ``χ > 0`` (the saddle-point solver's
        fast path: one vectorised evaluation of the cached Chebyshev table)."""
        if self._lam is None and self._mu is None:
            R = self.alpha / (1.0 + chi)
            dR = R / (1.0 + chi)
            return 1.0 / chi - R, R, dR, -2.0 * dR * chi / (1.0 + chi)
        tab = self.table()
        u = math.log(chi)
        if tab is not None and u < _U_LO:
            return tuple(float(np.ravel(v)[0]) for v in self._below_table(np.array([chi]), tab))
        if tab is not None and _U_LO <= u <= _U_HI:
            C, k = tab[3], tab[4]
            x = (2.0 * u - (_U_HI + _U_LO)) / (_U_HI - _U_LO)
            ln_R, ln_dR, dln_dR, _ = C @ np.cos(k * math.acos(min(max(x, -1.0), 1.0)))
            R, dR = math.exp(ln_R), math.exp(ln_dR)
            return 1.0 / chi - R, R, dR, dR * dln_dR
        key = ("point", float(chi))
        if key not in self._direct:
            h = 1e-5
            s, R, dR = (float(v[0]) for v in self._solve_at_chi(np.array([chi])))
            dRp = float(self._solve_at_chi(np.array([chi * (1 + h)]))[2][0])
            dRm = float(self._solve_at_chi(np.array([chi * (1 - h)]))[2][0])
            self._remember(key, (s, R, dR, (dRp - dRm) / (2 * h)))
        return self._direct[key]

    def _remember(self, key, value):
        if len(self._direct) >= 512:
            self._direct.clear()
        self._direct[key] = value

    def phi_prime(self, chi: float) -> float:
        """``Φ'(χ) = d[χR(−χ)]/dχ = R(−χ) − χR'(−χ)`` at one ``χ > 0`` without the cancellation
        of that difference at large χ (``Φ' ~ 1/χ²`` while ``R ~ 1/χ``): Marchenko–Pastur
        ``α/(1 + χ)²``; covariance design ``κ E[λ/den²]/E[(χλ + 1)/den²]`` (``Φ = α − κ``,
        ``den = κλ + s``); atomic law ``Σ wμ/(μ + s)² / Σ w/(μ + s)²``."""
        if self._lam is None and self._mu is None:
            return self.alpha / (1.0 + chi) ** 2
        key = ("phi_prime", float(chi))
        if key not in self._direct:
            value = self._solve_at_chi(np.array([float(chi)]), phi_prime=True)[0]
            self._remember(key, float(value))
        return self._direct[key]

    def _solve_at_chi(self, chi, phi_prime=False):
        """``(s, R(−χ), R'(−χ))`` by a root solve per χ (vectorised). The covariance design is
        solved for ``κ ∈ (κ_min, α]`` (``s = (κ + 1 − α)/χ``: no cancellation at large or small
        χ), an atomic law for ``s ∈ (−min μ, 1/χ]``. With ``phi_prime``: ``Φ'(χ)`` instead (see
        :meth:`phi_prime`)."""
        if self._mu is not None:
            w, mu = self._w, self._mu

            def h(x):
                inv = 1.0 / (mu[None, :] + x[:, None])
                return inv @ w - chi, -(inv * inv) @ w

            lo = -float(mu.min()) * np.ones_like(chi)
            s = _decreasing_root(h, lo, 1.0 / chi)
            inv = 1.0 / (mu[None, :] + s[:, None])
            if phi_prime:
                return ((mu[None, :] * inv * inv) @ w) / ((inv * inv) @ w)
            G = inv @ w
            m2 = (inv * inv) @ w
            # m₂ − G² = Var(1/(μ + s)), with 1/(μ_i + s) − G = inv_i (E[μ inv] − μ_i G) (no
            # cancellation at small χ, where all inv_i ≈ χ)
            e_mu = (mu[None, :] * inv) @ w
            var = ((inv * (e_mu[:, None] - mu[None, :] * G[:, None])) ** 2) @ w
            R = e_mu / chi  # (1 − sG)/χ = E[μ/(μ + s)]/χ
        else:
            lam, a = self._lam, self.alpha

            def h(k):
                inv = 1.0 / (k[:, None] * lam + ((k + 1.0 - a) / chi)[:, None])
                return inv.mean(axis=1) - chi, -((lam + 1.0 / chi[:, None]) * inv * inv).mean(1)

            lo = np.max((a - 1.0) / (1.0 + chi[:, None] * lam), axis=1)
            k = _decreasing_root(h, lo, np.full_like(chi, a))
            s = (k + 1.0 - a) / chi
            inv = 1.0 / (k[:, None] * lam + s[:, None])
            if phi_prime:
                inv2 = inv * inv
                return k * (lam * inv2).mean(axis=1) / ((chi[:, None] * lam + 1.0) * inv2).mean(1)
            G = inv.mean(axis=1)
            e_lam = (lam * inv).mean(axis=1)
            p = (lam * inv * inv).mean(axis=1)
            m2 = ((inv * inv).mean(axis=1) + p * G) / (1.0 + s * p)
            # m₂ − G² = [Var_λ(1/den) + pG(1 − sG)]/(1 + sp), 1 − sG = κE[λ/den] ≥ 0
            # (Var_λ(1/den) = κ² E[inv² (E[λ inv] − λG)²]: no cancellation at small χ)
            var_inv = (k**2) * ((inv * (e_lam[:, None] - lam * G[:, None])) ** 2).mean(axis=1)
            var = (var_inv + p * G * k * e_lam) / (1.0 + s * p)
            R = k * e_lam / chi  # α − κ = κE[λ/den]: R = (1 − sχ)/χ = (α − κ)/χ
        # R' = 1/χ² + 1/G'(s) = (m₂ − χ²)/(χ² m₂), m₂ = −G'(s), without cancellation
        dR = var / (G * G * m2)
        return s, R, dR

    def stieltjes_any(self, s):
        """``(G(s), G'(s))`` of an atomic law (:class:`SpectralDesign`) at any real
        ``s > −min μ``."""
        den = self._mu[None, :] + s[:, None]
        return (1.0 / den) @ self._w, -(1.0 / den**2) @ self._w

    def _stieltjes_at(self, s, chi):
        """G and G' of the covariance design at ``s`` on the branch where ``G(s) = χ``."""
        lam = self._lam
        k = self.alpha - 1.0 + s * chi
        den = k[:, None] * lam + s[:, None]
        G = np.mean(1.0 / den, axis=1)
        p = np.mean(lam / den**2, axis=1)
        r = np.mean(1.0 / den**2, axis=1)
        return G, -(p * G + r) / (1.0 + s * p)

    def integrated_r(self, chi, n: int = 128):
        """``∫₀^χ R(−u) du`` (so that the integrated R-transform is ``𝓡(−χ) = −`` this).

        Gauss–Legendre in ``t = ln(1 + u)`` with ``n`` nodes (exact closed form for the i.i.d.
        design: ``α ln(1 + χ)``)."""
        if self._lam is None and self._mu is None:
            return self.alpha * math.log1p(chi)
        tab = self.table()
        if tab is not None and math.log(chi) < _U_LO:
            # R(−u) = R(0) − uR'(0) + O(u²): ∫₀^χ = mean·χ − R'(0)χ²/2
            R_prime_0 = float(self._below_table(np.array([chi]), tab)[2][0])
            return self.mean * chi - 0.5 * R_prime_0 * chi * chi
        if tab is not None and _U_LO <= math.log(chi) <= _U_HI:
            # ∫₀^{e^{U_LO}} R(−u) du ≈ R(0)e^{U_LO} (R(0) = mean of ν; the rest is O(e^{2 U_LO}))
            return float(tab[2](math.log(chi))) + self.mean * math.exp(_U_LO)
        x, wq = np.polynomial.legendre.leggauss(n)
        T = math.log1p(chi)
        t = 0.5 * T * (x + 1.0)
        u = np.expm1(t)
        _, R, _ = self.at_chi(u)
        return float(0.5 * T * np.sum(wq * R * np.exp(t)))

    # --- density of ν (complex Silverstein equation)
    def density(self, x, eta: float = 1e-10) -> np.ndarray:
        """Density of the absolutely continuous part of ν at ``x > 0`` (array), from the
        Stieltjes transform at ``−x − iη`` solved by η-continuation (no sampling)."""
        x = np.atleast_1d(np.asarray(x, dtype=float))
        if self._mu is not None:
            raise ValueError("design: a SpectralDesign's law is atomic (no density)")
        lam = np.ones(1) if self._lam is None else self._lam
        a = self.alpha
        scale = max(self.mean, 1e-300)
        out = np.empty(x.size)
        for lo in range(0, x.size, 512):
            xs = x[lo : lo + 512]
            k = np.full(xs.size, a, dtype=complex)
            for et in np.geomspace(scale, eta * scale, 24):
                z = -xs - 1j * et
                for _ in range(60):
                    den = k[:, None] * lam + z[:, None]
                    e1 = np.mean(lam / den, axis=1)
                    e2 = np.mean(lam * lam / den**2, axis=1)
                    F = k * (1.0 + e1) - a
                    dF = 1.0 + e1 - k * e2
                    step = F / dF
                    k = k - step
                    if np.all(np.abs(step) <= 1e-14 * np.abs(k) + 1e-300):
                        break
            G = np.mean(1.0 / (k[:, None] * lam - xs[:, None] - 1j * eta * scale), axis=1)
            out[lo : lo + 512] = np.abs(G.imag) / math.pi
        return out

    def support_max(self) -> float:
        """An upper bound on the support of ν."""
        if self._mu is not None:
            return float(self._mu.max())
        lam_max = 1.0 if self._lam is None else float(self._lam.max())
        return lam_max * (1.0 + math.sqrt(self.alpha)) ** 2 * 1.05

    def cdf(self, x) -> np.ndarray:
        """Distribution function of ν at ``x`` (array), the density integrated on a fine
        grid (cached) plus the atom at 0."""
        x = np.asarray(x, dtype=float)
        if self._mu is not None:
            return np.array([self._w[self._mu <= xi].sum() for xi in np.atleast_1d(x)])
        if self._cdf_table is None:
            top = self.support_max()
            # Chebyshev-like clustering at both ends and a uniform core: edges are √-singular
            u = np.linspace(0.0, 1.0, 4001)
            grid = top * 0.5 * (1.0 - np.cos(math.pi * u))
            dens = self.density(grid[1:])
            dens = np.concatenate([[0.0], dens])
            cum = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(grid))])
            self._cdf_table = (grid, cum)
        grid, cum = self._cdf_table
        return self.zero_mass * (x >= 0) + np.interp(x, grid, cum)


_U_LO, _U_HI = -25.0, 25.0  # range of ln χ of the cached Chebyshev table


def _decreasing_root(h, lo, hi):
    """Root in ``(lo, hi]`` of functions decreasing from +∞ (pole at ``lo``) to ``h(hi) ≤ 0``,
    vectorised: Newton (monotone from the left of a convex decreasing function), bisection
    where a step leaves the bracket."""
    lo = np.asarray(lo, dtype=float).copy()
    hi = np.asarray(hi, dtype=float).copy()
    x = hi.copy()
    for _ in range(200):
        # a Newton step can land within rounding of the pole (seen at χ ~ 1e15 for a covariance
        # design with zero eigenvalues): h = +inf there is "left of the root" (lo moves there)
        # and the step is not finite (bisection), so the division warnings are expected
        with np.errstate(divide="ignore", invalid="ignore"):
            f, df = h(x)
            step = x - f / df
        lo = np.where(f > 0, x, lo)
        hi = np.where(f <= 0, x, hi)
        bad = ~((step > lo) & (step <= hi) & np.isfinite(step))
        x_new = np.where(bad, 0.5 * (lo + hi), step)
        scale = np.maximum(np.abs(x_new), 1e-300)
        done = (np.abs(x_new - x) <= 2e-16 * scale) | (f == 0) | (hi - lo <= 2e-16 * scale)
        x = x_new
        if np.all(done):
            break
    return x


def threshold_constant(design: Design, alpha: float) -> float:
    """``y∞(α)``, the root of ``E[1/(yλ + 1 − α)] = 1``, for a covariance design (at ``α < 1 − z``
    if a fraction ``z > 0`` of its eigenvalues are 0, whose terms are ``1/(1 − α)``: a root exists
    iff ``z/(1 − α) < 1``; ``α`` for the Gaussian design), without building a :class:`SpectralLaw`
    (the interpolation threshold evaluates it at hundreds of α): ``χ[χR(−χ) − α] → −y∞``."""
    if isinstance(design, GaussianDesign):
        return float(alpha)
    check(isinstance(design, CovarianceDesign), "design", "GaussianDesign or a CovarianceDesign",
          design)  # fmt: skip
    lam = np.asarray(design.eigenvalues)
    z = float(np.mean(lam == 0))
    check(z == 0 or alpha < 1.0 - z, "alpha", f"< 1 - z = {1.0 - z!r} (z: the design's fraction of zero "
          "eigenvalues; no finite y at or above it)", alpha)  # fmt: skip
    return _y_root(lam, float(alpha))[0]


def _y_root(lam, D):
    """``(y, u)``: the root ``y`` of ``E[1/(yλ + 1 − D)] = 1`` on the branch where every
    ``yλ + 1 − D > 0`` (decreasing in y from +∞ or ``D/(1 − D) > 0``), and ``u = 1/(yλ + 1 − D)``."""
    lam_pos = lam[lam > 0]
    lo = max(0.0, (D - 1.0) / float(lam_pos.min()))

    def h(y):  # E[1/den] − 1 = E[(D − yλ)/den]: no cancellation at small D, y
        inv = 1.0 / (y[:, None] * lam + (1.0 - D))
        return ((D - y[:, None] * lam) * inv).mean(axis=1), -(lam * inv * inv).mean(axis=1)

    # start near the root (≈ D/E[λ] at small D: a bracket of the right scale, so that the
    # iteration reaches relative precision even for D ~ 1e-300)
    hi = max(2.0 * lo, D / float(lam.mean()))
    while h(np.array([hi]))[0][0] > 0:
        hi *= 2.0
        if hi > 1e300:
            raise ValueError(f"internal: no root of E[1/(y lam + 1 - D)] = 1 at D={D!r}")
    y = float(_decreasing_root(h, np.array([lo]), np.array([hi]))[0])
    return y, 1.0 / (y * lam + (1.0 - D))


@lru_cache(maxsize=64)
def spectral_law(design: Design, alpha: float) -> SpectralLaw:
    """The (cached) :class:`SpectralLaw` of ``design`` at ``M/N = alpha``."""
    return SpectralLaw(design, alpha)


def design_spec(design: Design) -> dict | None:
    """JSON-able description of a design (``None`` for the Gaussian default), inverted by
    :func:`design_from_spec`: how sweeps carry a design to their worker processes."""
    if design.gaussian:
        return None
    if isinstance(design, CovarianceDesign):
        return {"kind": "covariance", "eigenvalues": list(design.eigenvalues)}
    if isinstance(design, SpectralDesign):
        return {"kind": "spectral", "xtx_eigenvalues": list(design.xtx_eigenvalues),
                "weights": list(design.weights)}  # fmt: skip
    raise TypeError(f"design: cannot describe {design!r} for a sweep")


def design_from_spec(spec: dict | None) -> Design:
    """The design described by :func:`design_spec`."""
    if spec is None:
        return GaussianDesign()
    if spec["kind"] == "covariance":
        return CovarianceDesign(eigenvalues=spec["eigenvalues"])
    return SpectralDesign(xtx_eigenvalues=spec["xtx_eigenvalues"], weights=spec["weights"])


def gaussian_only(model, what: str) -> None:
    """Refuse a structured design in a computation that assumes i.i.d. Gaussian inputs (so that
    it never silently returns the i.i.d. answer)."""
    design = getattr(model, "design", None)
    if design is not None and not design.gaussian:
        raise ValueError(
            f"model.design: expected GaussianDesign() for {what} (structured designs are "
            f"supported by solve_rs and what builds on it, structured.vamp_state_evolution and "
            f"amp.vamp), got {design!r}"
        )
