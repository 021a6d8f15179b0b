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
  so ``AT = (R'/R²) E[(∂_r f)²]``; Marchenko–Pastur gives the card's ``(1/α) E[(∂_r f)²]``;
* :func:`thermodynamics_derivation` — the energy ``e = ∂(βf)/∂β`` and entropy
  ``s = β²∂f/∂β`` of the saddle point (envelope theorem checked: the implicit β-dependence
  through the order parameters vanishes by the saddle-point equations), equal to
  :mod:`replica.structured`'s formulas and, for Marchenko–Pastur, to the i.i.d. ones;
* :func:`replicon_derivation` — the AT condition from the exact eigenvalues of ``(G + εδ)K``
  along a replicon ``δ`` (``n = 4, 5``): ``λ_E = β²R'(−χ)``, loop gain
  ``(R'/R²) E[(∂_r f)²]`` (taken from the literature: the rank-``n`` spherical-integral formula
  for a non-RS ``G``, the ``n → 0`` continuation and de Almeida–Thouless' sign argument);
* :func:`lambdify_thermodynamics` — numeric ``(e, s, AT)`` of the derived expressions (tested
  against :func:`replica.structured.solve_rs_structured`).

Each ``*_derivation`` result carries a ``checks`` dict of expressions that simplify to 0.

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
from sympy.core.function import AppliedUndef

from . import register_latex_names

__all__ = [
    "DesignDerivation",
    "RepliconDerivation",
    "ThermoDerivation",
    "beta_inf_derivation",
    "energetic_term",
    "lambdify_channel",
    "lambdify_thermodynamics",
    "marchenko_pastur_reduction",
    "replicon_derivation",
    "replicon_factor",
    "rs_derivation",
    "thermodynamics_derivation",
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
    i.i.d. factor ``αβ²/(1+χ)²`` with ``α/(1 + χ)² → R'(−χ)``. Rederived without a
    perturbation series, from the exact eigenvalues, in :func:`replicon_derivation`."""
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


# ---------------------------------------------------------------------------- thermodynamics
lam = sp.Symbol("lam", positive=True)  # ridge λ
#: numeric stand-ins: the spectral functions at −χ and the scalar channel's averages
R0, dR0, IR0 = sp.symbols("R dR IntR")  # R(−χ), R'(−χ), 𝓡(−χ)
V, D_avg, E_H, Delta_sym = sp.symbols("V D E_H Delta", real=True)
E_v2, E_dfdr2 = sp.symbols("E_v2 E_dfdr2", positive=True)  # as in replica.symbolic.regression
phi_P, phi_m, phi_q, phi_0 = sp.symbols("phi_P phi_mhat phi_qhat phi_0", real=True)
register_latex_names({R0: r"R(-\chi)", dR0: r"R'(-\chi)", IR0: r"\mathcal{R}(-\chi)",
                      E_H: r"\mathbb{E}[H]", lam: r"\lambda", sigma2: r"\sigma^{2}"})  # fmt: skip
_ORDER = (Q, q, m)
_CONJ = (Q_hat, q_hat, m_hat)


def _spectral_symbols(expr):
    """Write ``𝓡(−χ)``, ``R(−χ)`` and ``R'(−χ)`` (sympy's ``Subs(Derivative(R(ξ), ξ), ξ, −χ)``)
    as the plain symbols ``IntR``, ``R``, ``dR`` (no other argument may be left)."""
    expr = expr.replace(
        lambda x: isinstance(x, sp.Subs) and isinstance(x.expr, sp.Derivative)
        and x.expr.expr.func == R and x.point == (-chi,),
        lambda x: dR0,
    )  # fmt: skip
    expr = expr.subs({IntR(-chi): IR0, R(-chi): R0})
    left = expr.atoms(sp.Subs, sp.Derivative, AppliedUndef)
    if any(x.has(R, IntR) for x in left):  # pragma: no cover - a derivation error
        raise AssertionError(f"spectral functions at other arguments left: {left}")
    return expr


def _phi_symbols(expr):
    """Write ``φ(Q̂ + βλ, m̂, q̂)`` and its first derivatives as plain symbols."""
    P = Q_hat + beta * lam
    slot = {0: phi_P, 1: phi_m, 2: phi_q}

    def deriv(x):
        d = x.expr if isinstance(x, sp.Subs) else x
        return isinstance(d, sp.Derivative) and d.expr.func == phi

    def name(x):
        d = x.expr if isinstance(x, sp.Subs) else x
        ((var, k),) = d.variable_count
        if k != 1:  # pragma: no cover
            raise AssertionError(f"second derivative of phi in {x}")
        return slot[d.expr.args.index(var)]

    # the Subs wrappers first (replace works bottom-up and would rename the inner Derivative)
    expr = expr.replace(lambda x: isinstance(x, sp.Subs) and deriv(x), name)
    expr = expr.replace(deriv, name)
    return expr.subs(phi(P, m_hat, q_hat), phi_0)


def _structured_energy():
    """``e`` as :func:`replica.structured._assemble` evaluates it (transcribed, the reference)."""
    return (V * R0 / 2 + (e - 2 * chi * sigma2) * R0 / 2 - chi / 2 * (e - chi * sigma2) * dR0
            + alpha * sigma2 / 2 + lam * Q / 2)  # fmt: skip


def _structured_entropy():
    """``s`` as :func:`replica.structured._assemble` evaluates it (``law.integrated_r(χ)`` is
    ``−𝓡(−χ)``)."""
    return E_H + (IR0 + chi * R0) / 2


@dataclass(frozen=True)
class ThermoDerivation:
    """Energy and entropy of the RS saddle point for a rotationally invariant design.

    Attributes
    ----------
    free_entropy : sympy.Expr
        ``Φ = −βf`` in ``(Q, q, m, Q̂, q̂, m̂)`` with the ridge inside the entropic term,
        ``φ(Q̂ + βλ, m̂, q̂)``.
    saddle : dict
        The saddle point used: the energetic conjugates (``Q̂ = m̂ = βR``, ``q̂``) and the entropic
        equations solved for the derivatives of ``φ`` (``φ_P = −Q/2``, ``φ_m̂ = m``,
        ``φ_q̂ = (Q − q)/2``: the order parameters are the channel's averages).
    partial_beta : sympy.Expr
        ``∂Φ/∂β`` at fixed order parameters, by the chain rule through ``χ = β(Q − q)``.
    energy, entropy : sympy.Expr
        ``e = ∂(βf)/∂β = −∂Φ/∂β`` and ``s = β²∂f/∂β = Φ + βe`` at the saddle point, in the
        symbols ``R, dR, IntR`` (``R(−χ)``, ``R'(−χ)``, ``𝓡(−χ)``), ``e`` (mse), ``V = E[v]``,
        ``Q``, ``E_H = E[H(p(·|r))]`` and the parameters; every ``β(Q − q)`` is written ``χ``
        and every remaining ``Q − q`` is written ``V``.
    energy_iid, entropy_iid : sympy.Expr
        The same with the Marchenko–Pastur law ``R(t) = α/(1 − t)``.
    checks : dict
        Named expressions that simplify to 0 (asserted in the test-suite).
    """

    free_entropy: sp.Expr
    saddle: dict
    partial_beta: sp.Expr
    energy: sp.Expr
    entropy: sp.Expr
    energy_iid: sp.Expr
    entropy_iid: sp.Expr
    checks: dict

    def rows(self) -> dict:
        """Named expressions for :func:`replica.symbolic.latex`."""
        return {
            r"-\beta f": self.free_entropy,
            r"\partial_\beta(\beta f)": self.energy,
            r"\beta^{2}\partial_\beta f": self.entropy,
        }


@lru_cache(maxsize=1)
def thermodynamics_derivation() -> ThermoDerivation:
    """Derive the energy and entropy of the RS saddle point with ``R``, ``𝓡`` abstract (cached).

    Steps (each computed by sympy unless said otherwise):

    1. ``Φ = G_E(χ, e) + Q̂Q/2 − q̂(Q − q)/2 − m̂m + φ(Q̂ + βλ, m̂, q̂)`` with ``χ = β(Q − q)``,
       ``e = ρ − 2m + q``; the ridge enters the single-site term only through ``Q̂ + βλ``
       (``φ = E ln Σ_w exp[−(Q̂ + βλ)w²/2 + (m̂w⁰ + √q̂ z)w]``).
    2. Envelope theorem: with the order parameters as functions of β, ``dΦ/dβ − ∂Φ/∂β =
       Σ_x (∂Φ/∂x) x'(β)`` and every ``∂Φ/∂x`` vanishes at the saddle point (checks
       ``saddle: …`` and ``envelope: …``, for arbitrary rates ``x'(β)``). So ``e = −∂Φ/∂β`` at fixed order parameters, where
       ``∂φ/∂β = λ φ_P = −λQ/2`` by the entropic saddle point.
    3. The chain rule ``∂Φ/∂β = (Q − q) ∂_χG_E + ∂_βG_E|_χ + ∂_βφ`` is checked against sympy's
       derivative of the fully substituted ``Φ``.
    4. ``s = Φ + βe`` needs the value of ``φ``: pointwise in ``r``, for the grid posterior
       ``p_k ∝ exp(A r c_k − (A + βλ)c_k²/2)``, ``ln Z = H(p) + A r f − (A + βλ)⟨w²⟩/2``
       (checked on a symbolic 3-level grid); the single-site exponent is that channel with
       ``A = Q̂ = m̂``, ``r = w⁰ + √Δ z``, ``Δ = q̂/A²`` (completed square, see
       :func:`replica.symbolic.regression.scalar_channel`). Averaging, ``E[r f] = m + √Δ E[z f]
       = m + Δ E[∂_r f] = m + ΔD`` by Gaussian integration by parts (Stein's lemma, used, not
       derived here) and ``D = AV`` (``∂_r f = Av``, derived in ``scalar_channel``), so
       ``φ = E_H + A(m + ΔAV) − (A + βλ)Q/2``.
    5. ``β(Q − q) → χ`` and ``Q − q → V`` (a rewriting only: check ``energy: canonical
       form …`` compares with ``Q − q = χ/β`` everywhere); the entropy uses ``χ = βV`` once more (``q̂V/2``
       against ``βe``), the saddle-point relation ``χ = β E[v]``.

    The results equal :mod:`replica.structured`'s ``e`` and ``s`` identically (checks
    ``energy - structured``, ``entropy - structured``) and, for Marchenko–Pastur, those of
    :func:`replica.regression._assemble`.
    """
    P = Q_hat + beta * lam
    chi_of = beta * (Q - q)
    e_of = rho - 2 * m + q
    GE = energetic_term()  # in (chi, e, beta): ½𝓡(−χ) − (β/2)(e − χσ²)R(−χ) − αβσ²/2
    conj_term = Q_hat * Q / 2 - q_hat * (Q - q) / 2 - m_hat * m
    free = GE.subs({chi: chi_of, e: e_of}, simultaneous=True) + conj_term + phi(P, m_hat, q_hat)

    # saddle point: energetic half → conjugates, entropic half → derivatives of φ
    grad = {x: _phi_symbols(sp.diff(free, x)) for x in _ORDER + _CONJ}
    esol = rs_derivation().conjugates
    (psol,) = sp.solve([grad[x] for x in _CONJ], [phi_P, phi_m, phi_q], dict=True)

    def at_saddle(expr):
        expr = _phi_symbols(expr).subs(psol)
        expr = expr.subs(Q, q + chi / beta)
        expr = expr.subs(rho, e + 2 * m - q).doit()
        expr = _spectral_symbols(expr).subs(
            {k: _spectral_symbols(v) for k, v in esol.items()}
        )  # fmt: skip
        return sp.simplify(expr)

    checks = {}
    # the energetic equations hold at the conjugates of rs_derivation (the ridge is entropic);
    # the entropic ones are solved by psol (they define φ's derivatives as channel averages)
    for x in _ORDER:
        checks[f"saddle: dPhi/d{x}"] = at_saddle(grad[x])
    # envelope: with x = x(β), dΦ/dβ − ∂Φ/∂β|_x = Σ_x (∂Φ/∂x) x'(β), which vanishes at the
    # saddle point for any x'(β)
    fns = {x: sp.Function(f"{x}_of_beta")(beta) for x in _ORDER + _CONJ}
    rates = {x: sp.Symbol(f"d{x}_dbeta") for x in fns}
    total = sp.diff(free.subs(fns, simultaneous=True), beta)
    implicit = (total - sp.diff(free, beta).subs(fns, simultaneous=True)).doit()
    implicit = implicit.subs({sp.Derivative(f, beta): rates[x] for x, f in fns.items()})
    implicit = implicit.subs({f: x for x, f in fns.items()}, simultaneous=True)
    checks["envelope: dPhi/dbeta - dPhi/dbeta|fixed at the saddle point"] = at_saddle(implicit)

    # ∂Φ/∂β at fixed order parameters by the chain rule through χ = β(Q − q), checked
    partial_beta = ((Q - q) * sp.diff(GE, chi) + sp.diff(GE, beta)).subs(
        {chi: chi_of, e: e_of}, simultaneous=True
    ) + sp.diff(phi(P, m_hat, q_hat), beta)
    checks["chain rule: dPhi/dbeta"] = sp.simplify((sp.diff(free, beta) - partial_beta).doit())

    def canonical(expr):
        """At the saddle point, with ``β(Q − q) → χ`` then ``Q − q → V``."""
        expr = _phi_symbols(expr).subs(psol)
        expr = expr.subs(rho, e + 2 * m - q)  # ρ − 2m + q → e
        expr = expr.subs(Q, q + V).doit()  # Q − q → V (so β(Q − q) → βV)
        expr = sp.expand(expr).subs(beta * V, chi)
        return sp.expand(expr.subs(q, Q - V))  # the bare overlap q left (ridge term) is Q − V

    partial_beta = _phi_symbols(partial_beta)
    e_expr = canonical(-partial_beta)
    e_expr = sp.expand(_spectral_symbols(e_expr))
    checks["energy - structured"] = sp.simplify(e_expr - _structured_energy())
    checks["energy: no explicit beta"] = sp.Integer(int(e_expr.has(beta)))
    e_all_chi = -partial_beta.subs(psol).subs(rho, e + 2 * m - q).subs(Q, q + chi / beta)
    e_all_chi = _spectral_symbols(e_all_chi.doit()).subs(q, Q - chi / beta)
    checks["energy: canonical form - (Q - q = chi/beta everywhere)"] = sp.simplify(
        e_expr.subs(V, chi / beta) - e_all_chi
    )

    # the value of φ through the channel averages (step 4)
    r_, A_ = sp.symbols("r A", real=True)
    levels = sp.symbols("c1:4", real=True)
    logits = [A_ * r_ * c - (A_ + beta * lam) * c**2 / 2 for c in levels]
    Z = sum(sp.exp(x) for x in logits)
    p = [sp.exp(x) / Z for x in logits]
    H = -sum(pk * (x - sp.log(Z)) for pk, x in zip(p, logits))
    f1 = sum(pk * c for pk, c in zip(p, levels))
    f2 = sum(pk * c**2 for pk, c in zip(p, levels))
    checks["ln Z - [H + A r f - (A + beta lam)<w^2>/2]"] = sp.simplify(
        sp.log(Z) - (H + A_ * r_ * f1 - (A_ + beta * lam) * f2 / 2)
    )
    A_sp = esol[Q_hat]
    phi_value = E_H + A_sp * (m + Delta_sym * D_avg) - (A_sp + beta * lam) * Q / 2
    phi_value = phi_value.subs({D_avg: A_sp * V, Delta_sym: esol[q_hat] / A_sp**2})
    Phi_at = conj_term + GE.subs(e, rho - 2 * m + q) + phi_0
    Phi_at = Phi_at.subs({Q_hat: esol[Q_hat], m_hat: esol[m_hat], q_hat: esol[q_hat]})
    Phi_at = Phi_at.subs(phi_0, phi_value).subs(rho, e + 2 * m - q)
    Phi_at = Phi_at.subs(q, Q - V)
    s_raw = sp.expand(_spectral_symbols(Phi_at.doit()) + beta * e_expr)
    # the saddle-point relation χ = βV (χ = β(Q − q), Q − q = E[v]) for the q̂V/2 term
    s_expr = sp.simplify(s_raw.subs(V, chi / beta))
    checks["entropy - structured"] = sp.simplify(s_expr - _structured_entropy())

    # Marchenko–Pastur: the i.i.d. thermodynamics of replica.regression._assemble
    mp = {R0: alpha / (1 + chi), dR0: alpha / (1 + chi) ** 2, IR0: -alpha * sp.log(1 + chi)}
    e_iid = sp.simplify(e_expr.subs(mp))
    s_iid = sp.simplify(s_expr.subs(mp))
    want_e = alpha / 2 * (V / (1 + chi) + (e + sigma2) / (1 + chi) ** 2) + lam * Q / 2
    want_s = E_H + alpha / 2 * (chi / (1 + chi) - sp.log(1 + chi))
    checks["MP energy - iid"] = sp.simplify(e_iid - want_e)
    checks["MP entropy - iid"] = sp.simplify(s_iid - want_s)
    return ThermoDerivation(
        free_entropy=free, saddle={**esol, **psol}, partial_beta=partial_beta, energy=e_expr,
        entropy=s_expr, energy_iid=e_iid, entropy_iid=s_iid, checks=checks,
    )  # fmt: skip


# ---------------------------------------------------------------------------- AT / replicon
@dataclass(frozen=True)
class RepliconDerivation:
    """The AT (replicon) condition for a rotationally invariant design.

    Attributes
    ----------
    eigenvalues : dict
        ``{n: {θ: multiplicity}}``, the eigenvalues of ``(G + εδ)K`` for ``n = 4, 5`` replicas
        with the replicon perturbation ``δ`` of
        :func:`replica.symbolic.regression.replicon_perturbation` (``χ ± 2βε``, ``χ`` and the
        ``ε``-independent ``θ₁``).
    lambda_energetic : sympy.Expr
        Second ``ε``-derivative of ``½ Σ_i 𝓡(−θ_i)`` per ``Σ_{a<b} δ_ab²``: ``β²R'(−χ)``.
    loop_gain : sympy.Expr
        ``λ_E λ_S`` with ``λ_S = E[v²]`` (from the replicon Hessian ``[[λ_E, −1], [−1, λ_S]]``
        of :func:`replica.symbolic.regression.at_condition`, design independent).
    at : sympy.Expr
        The loop gain in :mod:`replica.structured`'s form, ``(R'/R²) E[(∂_r f)²]``
        (``∂_r f = Av``, ``A = βR``); RS is stable iff it is below 1.
    at_iid : sympy.Expr
        Marchenko–Pastur: ``E[(∂_r f)²]/α``.
    checks : dict
        Named expressions that simplify to 0.
    """

    eigenvalues: dict
    lambda_energetic: sp.Expr
    loop_gain: sp.Expr
    at: sp.Expr
    at_iid: sp.Expr
    checks: dict

    def rows(self) -> dict:
        """Named expressions for :func:`replica.symbolic.latex`."""
        return {r"\lambda_E": self.lambda_energetic, r"\lambda_E \lambda_S": self.loop_gain,
                r"\mathrm{AT}": self.at}  # fmt: skip


def _matrix_check(M):
    """0 if every entry of ``M`` simplifies to 0, else the simplified matrix (a failed check)."""
    M = M.applyfunc(sp.simplify)
    return sp.Integer(0) if M.is_zero_matrix else M


def _energetic_replicon(n_explicit: int):
    """``(eigenvalues, λ_E, checks)`` of the energetic term ``½ Tr 𝓡(−(G + εδ)K)`` along a
    replicon perturbation ``δ`` of the Gram matrix ``G`` of ``u^a = w⁰ − w^a`` (``δ`` acts on
    the off-diagonal overlaps ``q_ab`` only, ``δG_ab = δq_ab``)."""
    from .regression import replicon_perturbation

    eps, c = sp.symbols("epsilon c", real=True)
    nn = n_explicit
    one = sp.ones(nn, nn)
    G = chi / beta * sp.eye(nn) + e * one
    K = beta * sp.eye(nn) - c * one  # any c; the noise fixes c = β²σ²/(1 + nβσ²)
    d = replicon_perturbation(nn)
    M = (G + eps * d) * K
    eig = M.eigenvals()
    checks = {
        f"n={nn}: delta K - beta delta": _matrix_check(d * K - beta * d),
        f"n={nn}: M - (GK + eps beta delta)": _matrix_check(M - G * K - eps * beta * d),
    }
    theta_1 = (chi + nn * beta * e) / (1 + nn * beta * sigma2)
    c_noise = beta**2 * sigma2 / (1 + nn * beta * sigma2)
    eps_free = [k for k in eig if not k.has(eps) and sp.simplify(k - chi) != 0]
    checks[f"n={nn}: theta_1 - energetic_term's"] = sp.simplify(
        eps_free[0].subs(c, c_noise) - theta_1
    )
    term = sp.Rational(1, 2) * sum(mult * IntR(-k) for k, mult in eig.items())
    second = sp.diff(term, eps, 2).subs(eps, 0).doit()
    norm = sum(d[i, j] ** 2 for i in range(nn) for j in range(i + 1, nn))
    lam_E = sp.simplify(_spectral_symbols(second) / norm)
    return eig, lam_E, checks


@lru_cache(maxsize=1)
def replicon_derivation() -> RepliconDerivation:
    """Derive the replicon eigenvalue of the energetic term and the AT condition (cached).

    For any (not only RS) Gram matrix ``G`` the energetic term is the rank-``n`` spherical
    integral ``½ Σ_i 𝓡(−θ_i) − (α/2) ln(1 + nβσ²)`` over the eigenvalues ``θ_i`` of ``GK``
    (:func:`energetic_term`; the formula is taken from the literature: Guionnet–Maïda 2005 for
    the finite-rank spherical integral, Kabashima 2008 for its use in the replica method). A
    replicon ``δ`` (symmetric, zero diagonal and row sums) satisfies ``δK = βδ`` (checked), so
    ``(G + εδ)K = GK + εβδ`` and, ``δ`` commuting with ``11ᵀ``, the eigenvalues are those of
    the RS matrix shifted by ``εβ`` times those of ``δ`` on ``1⊥``: sympy finds ``χ ± 2βε``,
    ``χ`` and the unperturbed ``θ₁`` for ``n = 4`` and ``5``. No perturbation series is needed:
    ``d²/dε² ½Σ𝓡(−θ_i) = ½β² R'(−χ) Tr δ²``, i.e. ``λ_E = β²R'(−χ)`` per ``Σ_{a<b} δ_ab²``,
    the same at both ``n`` (so it is continued to ``n → 0`` unchanged).

    The entropic (single-site) term is the scalar channel of the i.i.d. theory, so its replicon
    eigenvalue ``λ_S = E[v²]`` and the ``2×2`` replicon Hessian ``[[λ_E, −1], [−1, λ_S]]`` are
    those of :func:`replica.symbolic.regression.at_condition`; RS is stable iff ``λ_E λ_S < 1``
    (the sign argument for ``n < 1`` is de Almeida–Thouless', stated there, not derived).
    With ``E[(∂_r f)²] = A²E[v²]`` and ``A = βR(−χ)``: ``AT = (R'/R²) E[(∂_r f)²]``; for
    Marchenko–Pastur ``R'/R² = 1/α``, the i.i.d. ``E[(∂_r f)²]/α``.

    References
    ----------
    A. Guionnet, M. Maïda, J. Funct. Anal. 222, 435 (2005); Y. Kabashima, J. Phys. Conf. Ser.
    95, 012001 (2008); T. Takahashi, Y. Kabashima, ISIT 2020 (replicon of rotationally invariant
    designs); de Almeida & Thouless, J. Phys. A 11, 983 (1978).
    """
    from . import regression as rs

    eig4, lam4, checks = _energetic_replicon(4)
    eig5, lam5, checks5 = _energetic_replicon(5)
    checks.update(checks5)
    checks["lambda_E(n=4) - lambda_E(n=5)"] = sp.simplify(lam4 - lam5)
    checks["lambda_E - replicon_factor()"] = sp.simplify(
        lam4 - _spectral_symbols(replicon_factor())
    )
    at_iid_der = rs.at_condition()
    lE, lS = sp.symbols("lambda_E lambda_S", positive=True)
    det = sp.expand(at_iid_der.replicon_hessian.subs({lE: lam4, lS: E_v2}).det())
    gain = sp.expand(det + 1)  # det = λ_E λ_S − 1
    at = dR0 / R0**2 * E_dfdr2
    A_ = beta * R0
    checks["loop gain - (R'/R^2) E[(d_r f)^2]"] = sp.simplify(gain.subs(E_v2, E_dfdr2 / A_**2) - at)
    checks["entropic eigenvalue - E[v^2]"] = at_iid_der.lambda_entropic_minus_Ev2
    mp = {R0: alpha / (1 + chi), dR0: alpha / (1 + chi) ** 2}
    at_iid = sp.simplify(at.subs(mp))
    # (the i.i.d. derivation's α, β, χ, E[(∂_r f)²] are the same sympy symbols as these)
    checks["MP lambda_E - iid"] = sp.simplify(lam4.subs(mp) - at_iid_der.lambda_energetic)
    checks["MP AT - iid"] = sp.simplify(at_iid - at_iid_der.card_form)
    return RepliconDerivation(
        eigenvalues={4: eig4, 5: eig5}, lambda_energetic=lam4, loop_gain=gain, at=at,
        at_iid=at_iid, checks=checks,
    )  # fmt: skip


def lambdify_thermodynamics():
    """Numeric ``(energy, entropy, at)`` from the derived expressions.

    Returns ``f(R, dR, IntR, mse, V, Q, chi, E_H, at_sum, sigma2, alpha, lam)`` with the
    spectral functions at ``−χ`` (``IntR = 𝓡(−χ)``) and the scalar channel's averages at the
    saddle point (``E_H`` its mean posterior entropy, ``at_sum = E[(∂_r f)²]``) given as numbers
    (the link to :func:`replica.structured.solve_rs_structured`, tested)."""
    t, r = thermodynamics_derivation(), replicon_derivation()
    args = (R0, dR0, IR0, e, V, Q, chi, E_H, E_dfdr2, sigma2, alpha, lam)
    return sp.lambdify(args, [t.energy, t.entropy, r.at], "math")


# ----------------------------------------------------------------------------- β = ∞
def beta_inf_derivation() -> dict:
    """The ground state (β = ∞) of the structured RS theory, from the derived thermodynamics.

    At fixed χ, ``A = βR(−χ) → ∞``: the channel becomes the staircase, ``V = E[v] = D/A → 0``
    and its posterior entropy ``E_H → 0`` (these two limits are properties of the channel,
    substituted here); ``χ = βV = D/R(−χ)`` becomes ``χR(−χ) = D``; Δ has no β. Returns named
    expressions that simplify to 0 (asserted in the test-suite):

    * ``chi (MP)``: Marchenko–Pastur ``χR(−χ) = D`` solved for χ is ``D/(α − D)`` (the i.i.d.
      β = ∞ map of :func:`replica.regression.rs_map`);
    * ``energy (MP)``, ``entropy (MP)``: the derived ``e``, ``s`` at ``V = E_H = 0`` with MP are
      the i.i.d. ground-state ``α(e + σ²)/(2(1 + χ)²) + λQ/2`` and
      ``(α/2)[χ/(1 + χ) − ln(1 + χ)]``;
    * for a law with ``R(−χ) = L/χ + c/χ² + d/χ³ + …`` as χ → ∞ (the rank limit ``L``, the
      next coefficient ``c``): ``χR → L``, ``χ(χR − L) → c``, the Δ-equation's limit
      ``Δ → (eL − cσ²)/L²`` and the energy's ``e → σ²(α − L)/2`` at λ = 0 (zero training
      energy where ``L = α``: the interpolation threshold of
      :func:`replica.boundaries.interpolation_threshold`, with ``c = −y∞``); MP has ``L = α``,
      ``c = −α``, so ``Δ → (e + σ²)/α``.
    """
    th = thermodynamics_derivation()
    ground = {V: 0, E_H: 0}
    energy = th.energy.subs(ground)
    entropy = th.entropy.subs(ground)
    D = D_avg
    mp = {R0: alpha / (1 + chi), dR0: alpha / (1 + chi) ** 2, IR0: -alpha * sp.log(1 + chi)}
    (chi_mp,) = sp.solve(sp.Eq(chi * mp[R0], D), chi)
    L, c, d = sp.symbols("L c d", real=True)
    x = sp.Symbol("x", positive=True)  # x = 1/χ → 0⁺
    R_inf = L * x + c * x**2 + d * x**3
    dR_inf = L * x**2 + 2 * c * x**3 + 3 * d * x**4  # R'(t) at t = −χ, from R(t) = −L/t + …
    delta = (sigma2 * R0 + (e - chi * sigma2) * dR0) / R0**2
    at_inf = {R0: R_inf, dR0: dR_inf, chi: 1 / x}
    mp_c = sp.limit((chi * (chi * mp[R0] - alpha)).subs(chi, 1 / x), x, 0, "+")
    iid_energy = alpha * (e + sigma2) / (2 * (1 + chi) ** 2) + lam * Q / 2
    iid_entropy = alpha / 2 * (chi / (1 + chi) - sp.log(1 + chi))
    return {
        "chi (MP)": sp.simplify(chi_mp - D / (alpha - D)),
        "energy (MP)": sp.simplify(energy.subs(mp) - iid_energy),
        "entropy (MP)": sp.simplify(entropy.subs(mp) - iid_entropy),
        "rank limit": sp.limit((chi * R0).subs(at_inf), x, 0, "+") - L,
        "next coefficient": sp.limit((chi * (chi * R0 - L)).subs(at_inf), x, 0, "+") - c,
        "Delta at chi -> inf": sp.simplify(
            sp.limit(delta.subs(at_inf), x, 0, "+") - (e * L - c * sigma2) / L**2),
        "energy at chi -> inf": sp.simplify(
            sp.limit(energy.subs(lam, 0).subs(at_inf), x, 0, "+") - sigma2 * (alpha - L) / 2),
        "MP next coefficient": sp.simplify(mp_c + alpha),
    }  # fmt: skip
