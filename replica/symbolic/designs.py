"""Symbolic RS theory of quantized regression for right-rotationally invariant designs.

The design enters only through the R-transform ``R`` of the limiting spectral law of ``XᵀX``
and its integral ``𝓡(x) = ∫₀ˣ R(t) dt``, both kept abstract here (undefined sympy functions,
``d𝓡/dx = R``). Steps, each derived by sympy:

* :func:`energetic_term` — the ``n``-replica energetic term. After the Gaussian average over the
  label noise, ``Π_a exp(−β‖Xu^a + ξ‖²/2)`` (``u^a = w⁰ − w^a``) is ``(1 + nβσ²)^{−M/2}
  exp(−½ Tr[K UᵀXᵀXU])`` with ``K = βI − β²σ²/(1 + nβσ²) 11ᵀ``; for a right-rotationally
  invariant ``X`` its average is the rank-``n`` spherical integral ``½ Σ_i 𝓡(−θ_i)`` over the
  eigenvalues ``θ_i`` of ``G K`` (``G`` the Gram matrix of the ``u^a``, RS). The eigenvalues are
  computed from the explicit ``n = 3`` and ``n = 4`` matrices, continued in ``n``, and the
  ``n → 0`` limit of ``1/n`` times the term is taken by differentiation;
* :func:`rs_derivation` — the RS free entropy with the entropic term ``φ(Q̂, m̂, q̂)`` abstract,
  its energetic saddle point (``m̂ = Q̂ = βR(−χ)``, ``q̂ = β²[σ²R + (e − χσ²)R']``) and the
  scalar channel ``A = Q̂``, ``Δ = q̂/Q̂²``;
* :func:`marchenko_pastur_reduction` — substituting ``R(t) = α/(1 − t)`` gives back the i.i.d.
  energetic term and saddle point of :mod:`replica.symbolic.regression` (checked: differences
  simplify to 0);
* :func:`replicon_factor` — the energetic curvature in the replicon direction, ``β²R'(−χ)``
  (second-order perturbation of the ``(n − 1)``-fold degenerate eigenvalue ``χ`` of ``GK``),
  so ``AT = (R'/R²) E[(∂_r f)²]``; Marchenko–Pastur gives the card's ``(1/α) E[(∂_r f)²]``.

References
----------
A. Guionnet, M. Maïda, J. Funct. Anal. 222, 435 (2005) (rank-one spherical integrals and the
integrated R-transform); Y. Kabashima, J. Phys. Conf. Ser. 95, 012001 (2008) (replica analysis
with rotationally invariant matrices); Kashiwamura et al., arXiv:2401.17269 (the i.i.d. case).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

__all__ = [
    "DesignDerivation",
    "energetic_term",
    "lambdify_channel",
    "marchenko_pastur_reduction",
    "replicon_factor",
    "rs_derivation",
]

alpha, beta, sigma2, rho = sp.symbols("alpha beta sigma2 rho", positive=True)
chi, e, n = sp.symbols("chi e n", positive=True)
m, q, Q = sp.symbols("m q Q", real=True)
Q_hat, q_hat, m_hat = sp.symbols("Qhat qhat mhat", real=True)
t = sp.Symbol("t")
R = sp.Function("R")


class IntR(sp.Function):
    """The integrated R-transform ``𝓡(x) = ∫₀ˣ R(t) dt`` (abstract; ``𝓡' = R``)."""

    def fdiff(self, argindex=1):
        return R(self.args[0])


phi = sp.Function("phi")  # the entropic (single-site) term φ(Q̂, m̂, q̂)


def _gk_eigenvalues(n_explicit: int):
    """Eigenvalues of ``G K`` for ``n_explicit`` replicas in RS: ``G = (d − o)I + o11ᵀ`` with
    ``d − o = χ/β`` (``d = ρ − 2m + Q``, ``o = e = ρ − 2m + q``), ``K = βI − c11ᵀ``."""
    d_minus_o = chi / beta
    c = beta**2 * sigma2 / (1 + n_explicit * beta * sigma2)
    one = sp.ones(n_explicit, n_explicit)
    G = d_minus_o * sp.eye(n_explicit) + e * one
    K = beta * sp.eye(n_explicit) - c * one
    return {sp.simplify(k): v for k, v in (G * K).eigenvals().items()}


@lru_cache(maxsize=1)
def energetic_term() -> sp.Expr:
    """The RS energetic term per weight, ``lim_{n→0} (1/n)[½Σ_i 𝓡(−θ_i) − (α/2)ln(1 + nβσ²)]``.

    The eigenvalues of ``GK`` at ``n = 3, 4`` are ``χ`` (multiplicity ``n − 1``) and
    ``(χ + nβe)/(1 + nβσ²)``; this form, checked at both sizes, is continued to real ``n``."""
    theta_1 = (chi + n * beta * e) / (1 + n * beta * sigma2)
    for k in (3, 4):
        eig = _gk_eigenvalues(k)
        want = {sp.simplify(chi): k - 1, sp.simplify(theta_1.subs(n, k)): 1}
        assert {sp.simplify(a - b) for a in eig for b in want if sp.simplify(a - b) == 0}, eig
        assert sorted(eig.values()) == sorted(want.values()), (eig, want)
    total = sp.Rational(1, 2) * ((n - 1) * IntR(-chi) + IntR(-theta_1))
    total -= alpha / 2 * sp.log(1 + n * beta * sigma2)
    # value at n = 0 is 0; the 1/n limit is the n-derivative there
    return sp.simplify(sp.diff(total, n).subs(n, 0).doit())


@dataclass(frozen=True)
class DesignDerivation:
    """RS free entropy for a rotationally invariant design and its saddle point.

    ``free_entropy`` (``−βf``) in ``(Q, q, m)`` and conjugates with ``φ`` abstract; ``conjugates``
    the energetic saddle point solved for ``(Q̂, q̂, m̂)``; ``channel`` the scalar channel
    ``{A, Δ}``."""

    energetic: sp.Expr
    free_entropy: sp.Expr
    conjugates: dict
    channel: dict

    def rows(self) -> dict:
        """Named expressions for :func:`replica.symbolic.latex`."""
        return {"G_E": self.energetic, **{str(k): v for k, v in self.conjugates.items()},
                **self.channel}  # fmt: skip


@lru_cache(maxsize=1)
def rs_derivation() -> DesignDerivation:
    """The RS free entropy and its energetic saddle point (``φ`` abstract)."""
    GE = energetic_term().subs({chi: beta * (Q - q), e: rho - 2 * m + q}, simultaneous=True)
    free = GE + Q_hat * Q / 2 - q_hat * (Q - q) / 2 - m_hat * m + phi(Q_hat, m_hat, q_hat)
    eqs = [sp.diff(free, v) for v in (Q, q, m)]
    sol = sp.solve(eqs, [Q_hat, q_hat, m_hat], dict=True)[0]
    back = {Q - q: chi / beta}
    conj = {}
    for k, v in sol.items():
        v = sp.simplify(v.doit())
        v = v.subs(Q, q + chi / beta)
        v = sp.simplify(v.subs(rho - 2 * m + q, e).subs(rho, e + 2 * m - q))
        conj[k] = v
    del back
    A = conj[Q_hat]
    delta = sp.simplify(conj[q_hat] / A**2)
    return DesignDerivation(
        energetic=energetic_term(), free_entropy=free, conjugates=conj,
        channel={"A": A, "Delta": delta},
    )  # fmt: skip


def _mp(expr):
    """Substitute the Marchenko–Pastur law of ratio α: ``R(t) = α/(1 − t)``,
    ``𝓡(x) = −α ln(1 − x)``."""
    expr = expr.replace(IntR, lambda x: -alpha * sp.log(1 - x))
    expr = expr.replace(R, lambda x: alpha / (1 - x))
    return sp.simplify(expr.doit())


def marchenko_pastur_reduction() -> dict:
    """Differences between the MP-substituted design theory and the i.i.d. one of the card;
    every value simplifies to 0 (the check is in the test-suite)."""
    d = rs_derivation()
    iid_energy = -alpha / 2 * sp.log(1 + chi) - alpha * beta / 2 * (e + sigma2) / (1 + chi)
    iid_A = alpha * beta / (1 + chi)
    iid_delta = (e + sigma2) / alpha
    return {
        "energetic": sp.simplify(_mp(d.energetic) - iid_energy),
        "m_hat - Q_hat": sp.simplify(d.conjugates[m_hat] - d.conjugates[Q_hat]),
        "A": sp.simplify(_mp(d.channel["A"]) - iid_A),
        "Delta": sp.simplify(_mp(d.channel["Delta"]) - iid_delta),
        "replicon": sp.simplify(_mp(replicon_factor()) - alpha * beta**2 / (1 + chi) ** 2),
    }


def replicon_factor() -> sp.Expr:
    """Energetic curvature in the replicon direction, ``β²R'(−χ)``.

    A replicon perturbation ``δG`` (zero row sums) lives in the ``(n − 1)``-dimensional
    eigenspace of ``GK`` with the degenerate eigenvalue ``χ`` (there ``K`` acts as ``β``), so by
    second-order perturbation theory of a degenerate eigenvalue the change of
    ``½Σ_i 𝓡(−θ_i)`` is ``½ · ½ d²𝓡(−θ)/dθ² |_{θ=χ} β² Tr δG² = (β²/4) R'(−χ) Tr δG²``: the
    i.i.d. factor ``αβ²/(1+χ)²`` with ``α/(1 + χ)² → R'(−χ)``."""
    theta = sp.Symbol("theta", positive=True)
    second = sp.diff(IntR(-theta), theta, 2).subs(theta, chi).doit()
    return sp.simplify(beta**2 * second)


def lambdify_channel():
    """Numeric ``(A, Δ)(R, dR, e, chi, sigma2, beta)`` from the derived channel, with
    ``R = R(−χ)`` and ``dR = R'(−χ)`` given as numbers (the link to
    :func:`replica.structured.rs_map_structured`, tested)."""
    R0, dR0 = sp.symbols("R dR")
    d = rs_derivation()

    def plain(expr):
        expr = expr.replace(
            lambda x: isinstance(x, sp.Subs) and isinstance(x.expr, sp.Derivative), lambda x: dR0
        )
        return expr.subs(R(-chi), R0)

    args = (R0, dR0, e, chi, sigma2, beta)
    return sp.lambdify(args, [plain(d.channel["A"]), plain(d.channel["Delta"])], "math")
