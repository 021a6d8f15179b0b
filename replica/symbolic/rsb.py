"""Symbolic one-step replica-symmetry-breaking (1RSB) theory of weight-quantized regression.

The 1RSB free entropy of the card with the nested single-site term kept abstract,
``φ₁(Q̂, m̂, q̂₀, q̂₁, x) = E_{w⁰,z₀} (1/x) ln E_{z₁}[Z^x]``; the energetic term is derived from
the n-replica determinant with a Parisi overlap matrix; the stationarity equations (nine of them,
the Parisi parameter ``x`` included) are obtained by differentiation; the reductions to RS
(``q₁ = q₀``) and at ``x = 1`` are derived. :func:`training_error_derivation` derives the
training errors of a Gibbs sample and of the Gibbs mean from the replicated residual measure.

References
----------
S. Kashiwamura, A. Sakata, M. Imaizumi, arXiv:2401.17269 (2024), card section "1RSB (beyond the
paper)"; M. Mézard, G. Parisi, M. A. Virasoro, *Spin Glass Theory and Beyond* (1987), ch. III
(one-step Parisi ansatz).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from . import register_latex_names
from . import regression as rs
from .regression import Q, Q_hat, alpha, beta, m, m_hat, rho, sigma2

__all__ = [
    "FrozenDerivation",
    "RSBDerivation",
    "TrainingErrorDerivation",
    "energetic_from_replicas",
    "frozen_derivation",
    "lambdify_energetic",
    "lambdify_free_entropy",
    "lambdify_gradient",
    "lambdify_training_error",
    "rsb_derivation",
    "training_error_derivation",
]

q0, q1 = sp.symbols("q_0 q_1", real=True)
q_hat0, q_hat1 = sp.symbols("qhat_0 qhat_1", positive=True)
x = sp.Symbol("x", positive=True)
#: eigenvalues of the 1RSB energetic matrix, a = 1 + β(Q − q₁), b = a + xβ(q₁ − q₀), and E₀
a_sym, b_sym, E0_sym = sp.symbols("a b E_0", positive=True)
#: abstract nested single-site term φ₁(Q̂, m̂, q̂₀, q̂₁, x)
phi1 = sp.Function("phi_1")
phi1_0, phi1_Q, phi1_m, phi1_q0, phi1_q1, phi1_x = sp.symbols(
    "phi1_0 phi1_Qhat phi1_mhat phi1_qhat0 phi1_qhat1 phi1_x", real=True
)

PARAMETERS = (alpha, beta, rho, sigma2)
ORDER_PARAMETERS = (m, q0, q1, Q)
CONJUGATES = (m_hat, q_hat0, q_hat1, Q_hat)
VARIABLES = (*ORDER_PARAMETERS, *CONJUGATES, x)

register_latex_names(
    {
        phi1_0: r"\phi_1",
        phi1_Q: r"\partial_{\hat{Q}}\phi_1",
        phi1_m: r"\partial_{\hat{m}}\phi_1",
        phi1_q0: r"\partial_{\hat{q}_0}\phi_1",
        phi1_q1: r"\partial_{\hat{q}_1}\phi_1",
        phi1_x: r"\partial_{x}\phi_1",
    }
)


def _phi1_call():
    return phi1(Q_hat, m_hat, q_hat0, q_hat1, x)


def _phi1_numeric_subs():
    f = _phi1_call()
    return {
        sp.Derivative(f, Q_hat): phi1_Q,
        sp.Derivative(f, m_hat): phi1_m,
        sp.Derivative(f, q_hat0): phi1_q0,
        sp.Derivative(f, q_hat1): phi1_q1,
        sp.Derivative(f, x): phi1_x,
        f: phi1_0,
    }


def _E0():
    return rho - 2 * m + q0 + sigma2


def _parisi_error_covariance(n: int, block: int) -> sp.Matrix:
    """Residual covariance ``ρ + σ² − 2m + Q_ab`` for a 1RSB overlap matrix: ``Q`` on the
    diagonal, ``q₁`` inside diagonal blocks of size ``block``, ``q₀`` elsewhere."""

    def entry(a, b):
        if a == b:
            return Q
        return q1 if a // block == b // block else q0

    return sp.Matrix(n, n, lambda a, b: rho + sigma2 - 2 * m + entry(a, b))


def energetic_from_replicas(n_explicit: int = 4, block: int = 2):
    """The 1RSB energetic term from the n-replica determinant ``det(I + βC)^{−α/2}``.

    The Parisi matrix ``I + βC`` has eigenvalues ``a = 1 + χ₁`` (multiplicity ``n − n/x``),
    ``b = a + xβ(q₁ − q₀)`` (multiplicity ``n/x − 1``) and ``b + nβE₀``, ``E₀ = ρ − 2m + q₀ + σ²``;
    the determinant identity is checked on an explicit matrix (``n_explicit`` replicas in blocks
    of ``block = x``), then the continuation in ``n`` is differentiated at ``n = 0``.

    Returns
    -------
    energetic : sympy.Expr
    det_check : sympy.Expr
        ``det − a^{n−n/x} b^{n/x−1} (b + nβE₀)`` on the explicit matrix (simplifies to 0).
    """
    if n_explicit % block:
        raise ValueError(f"block: expected a divisor of n_explicit={n_explicit}, got {block!r}")
    a = 1 + beta * (Q - q1)
    b = a + block * beta * (q1 - q0)
    M = sp.eye(n_explicit) + beta * _parisi_error_covariance(n_explicit, block)
    nb = n_explicit // block
    det_check = sp.simplify(
        M.det(method="berkowitz")
        - a ** (n_explicit - nb) * b ** (nb - 1) * (b + n_explicit * beta * _E0())
    )
    n = rs.n_rep
    a = 1 + beta * (Q - q1)
    b = a + x * beta * (q1 - q0)
    G = -(alpha / 2) * (
        (n - n / x) * sp.log(a) + (n / x - 1) * sp.log(b) + sp.log(b + n * beta * _E0())
    )
    energetic = sp.diff(G, n).subs(n, 0)
    return energetic, det_check


@dataclass(frozen=True)
class RSBDerivation:
    """The 1RSB free entropy and its stationarity equations, derived by sympy.

    Attributes
    ----------
    energetic, conjugate, entropic, free_entropy : sympy.Expr
    gradient : dict
        ``{v: ∂(−βf_1RSB)/∂v}`` for ``m, q₀, q₁, Q, m̂, q̂₀, q̂₁, Q̂, x``.
    energetic_solution : dict
        ``∂/∂(m, q₀, q₁, Q) = 0`` solved for ``(m̂, q̂₀, q̂₁, Q̂)``.
    energetic_solution_ab : dict
        The same in terms of ``a = 1 + χ₁``, ``b = a + xβ(q₁ − q₀)``, ``E₀ = ρ − 2m + q₀ + σ²``:
        ``m̂ = αβ/b``, ``Q̂ = αβ/a``, ``q̂₀ = αβ²E₀/b²``, ``q̂₁ = q̂₀ + (αβ/x)(1/a − 1/b)``.
    entropic_solution : dict
        ``∂/∂(m̂, q̂₀, q̂₁, Q̂) = 0`` solved for ``(m, q₀, q₁, Q)`` in terms of ``∂φ₁``.
    rs_difference : sympy.Expr
        ``−βf_1RSB − (−βf_RS)`` at ``q₁ = q₀, q̂₁ = q̂₀`` with ``φ₁ → φ`` (0).
    x1_difference : sympy.Expr
        ``−βf_1RSB(x = 1) − (−βf_RS)(Q̂ − (q̂₁ − q̂₀), m̂, q̂₀; m, q₀, Q)`` using
        ``φ₁(Q̂, m̂, q̂₀, q̂₁, 1) = φ(Q̂ − q̂₁ + q̂₀, m̂, q̂₀)`` (0): at ``x = 1`` the 1RSB functional
        is the RS one and does not depend on ``q₁``.
    gaussian_identity : sympy.Expr
        ``E_{z₁} e^{s z₁ w} − e^{s² w²/2}`` (0): the identity behind the ``x = 1`` reduction.
    """

    energetic: sp.Expr
    conjugate: sp.Expr
    entropic: sp.Expr
    free_entropy: sp.Expr
    gradient: dict
    energetic_solution: dict
    energetic_solution_ab: dict
    entropic_solution: dict
    rs_difference: sp.Expr
    x1_difference: sp.Expr
    gaussian_identity: sp.Expr

    def rows(self) -> dict:
        """LaTeX label → expression (for tables of the derivation)."""
        rows = rs._gradient_rows(r"-\beta f_{\mathrm{1RSB}}", self.free_entropy, self.gradient)
        rows.update(self.energetic_solution_ab)
        rows.update(self.entropic_solution)
        return rows


@lru_cache(maxsize=1)
def rsb_derivation() -> RSBDerivation:
    """Derive the 1RSB free entropy, its stationarity equations and its RS reductions (cached).

    References
    ----------
    Kashiwamura et al. (2024), card "1RSB (beyond the paper)".
    """
    energetic, _ = energetic_from_replicas()
    conjugate = (
        Q_hat * Q / 2 - q_hat1 * (Q - q1) / 2 - x * (q_hat1 * q1 - q_hat0 * q0) / 2 - m_hat * m
    )
    entropic = _phi1_call()
    free = energetic + conjugate + entropic
    grad = {v: sp.diff(free, v) for v in VARIABLES}
    # the energetic equations are rational in the eigenvalues a = 1 + χ₁, b = a + xβ(q₁ − q₀):
    # solve them in (a, b, E₀) coordinates, where sympy's cancellation is cheap
    back = {Q: q1 + (a_sym - 1) / beta, q0: q1 - (b_sym - a_sym) / (x * beta)}
    eqs = [sp.together(grad[v].subs(back)) for v in ORDER_PARAMETERS]
    mat, rhs = sp.linear_eq_to_matrix(eqs, list(CONJUGATES))
    sol_ab = mat.LUsolve(rhs)
    m_of_E0 = (rho + back[q0] + sigma2 - E0_sym) / 2
    esol_ab = {k: sp.factor(sp.cancel(v.subs(m, m_of_E0))) for k, v in zip(CONJUGATES, sol_ab)}
    forward = {a_sym: 1 + beta * (Q - q1), b_sym: 1 + beta * (Q - q1) + x * beta * (q1 - q0)}
    forward[E0_sym] = _E0()
    esol = {k: v.subs(forward) for k, v in esol_ab.items()}
    ssol = rs._solve_entropic(grad, _phi1_numeric_subs(), CONJUGATES, ORDER_PARAMETERS)

    # RS reduction: q1 = q0, q̂1 = q̂0, and then φ₁ = (1/x) ln E_z1[Z^x] = ln Z = φ
    rs_free = rs.rs_derivation().free_entropy.subs({rs.q: q0, rs.q_hat: q_hat0})
    red = free.subs({q1: q0, q_hat1: q_hat0}).subs(
        phi1(Q_hat, m_hat, q_hat0, q_hat0, x), rs.phi(Q_hat, m_hat, q_hat0)
    )
    rs_diff = sp.simplify(red - rs_free)

    # x = 1: E_z1[Z] integrates the z1 field exactly (Gaussian identity), shifting Q̂
    s, w, z1 = sp.symbols("s w z_1", real=True)
    gauss = sp.integrate(
        sp.exp(s * z1 * w) * sp.exp(-(z1**2) / 2) / sp.sqrt(2 * sp.pi), (z1, -sp.oo, sp.oo)
    )
    gauss_id = sp.simplify(gauss - sp.exp(s**2 * w**2 / 2))
    shifted = Q_hat - (q_hat1 - q_hat0)
    at_x1 = free.subs(x, 1).subs(
        phi1(Q_hat, m_hat, q_hat0, q_hat1, 1), rs.phi(shifted, m_hat, q_hat0)
    )
    rs_x1 = rs_free.subs(Q_hat, shifted)
    x1_diff = sp.simplify(at_x1 - rs_x1)
    return RSBDerivation(
        energetic=energetic,
        conjugate=conjugate,
        entropic=entropic,
        free_entropy=free,
        gradient=grad,
        energetic_solution=esol,
        energetic_solution_ab=esol_ab,
        entropic_solution=ssol,
        rs_difference=rs_diff,
        x1_difference=x1_diff,
        gaussian_identity=gauss_id,
    )


# ---------------------------------------------------------------------------- lambdify
_NUMERIC_ARGS = (*PARAMETERS, *VARIABLES, phi1_Q, phi1_m, phi1_q0, phi1_q1, phi1_x)


@lru_cache(maxsize=1)
def lambdify_gradient():
    """Numeric 1RSB stationarity residual from the derived gradient.

    Returns
    -------
    callable
        ``F(alpha, beta, rho, sigma2, m, q0, q1, Q, m_hat, q_hat0, q_hat1, Q_hat, x,
        phi1_Qhat, phi1_mhat, phi1_qhat0, phi1_qhat1, phi1_x) -> (9,) array`` of
        ``∂(−βf_1RSB)/∂(m, q₀, q₁, Q, m̂, q̂₀, q̂₁, Q̂, x)``.
    """
    der = rsb_derivation()
    sub = _phi1_numeric_subs()
    exprs = [der.gradient[v].subs(sub) for v in VARIABLES]
    return rs._stacked(sp.lambdify(_NUMERIC_ARGS, exprs, "numpy"))


@lru_cache(maxsize=1)
def lambdify_energetic():
    """Numeric ``(m̂, q̂₀, q̂₁, Q̂)(alpha, beta, rho, sigma2, m, q0, q1, Q, x)`` from the
    derived energetic stationarity equations."""
    der = rsb_derivation()
    exprs = [der.energetic_solution[k] for k in CONJUGATES]
    return sp.lambdify((*PARAMETERS, *ORDER_PARAMETERS, x), exprs, "numpy")


@lru_cache(maxsize=1)
def lambdify_free_entropy():
    """Numeric ``−βf_1RSB(alpha, beta, rho, sigma2, m, q0, q1, Q, m_hat, q_hat0, q_hat1, Q_hat,
    x, phi1_0)`` with ``phi1_0`` the numeric nested single-site term."""
    der = rsb_derivation()
    expr = der.free_entropy.subs(_phi1_call(), phi1_0)
    return sp.lambdify((*PARAMETERS, *VARIABLES, phi1_0), expr, "numpy")


# ---------------------------------------------------------------------------- frozen 1RSB
@dataclass(frozen=True)
class FrozenDerivation:
    """Frozen 1RSB: states are single configurations (``q₁ = Q``), derived from the 1RSB
    free entropy.

    In a block of ``x`` replicas with ``q₁ = Q`` all replicas sit on the same configuration, so
    ``E_{z₁}[Z_s^x]`` of a one-configuration state is a Gaussian integral (the identity below,
    the ``q̂₁ → ∞`` limit of ``φ₁`` at fixed ``Q̂ − x(q̂₁ − q̂₀)``), and the single-site term
    becomes the RS one at rescaled conjugates,
    ``φ₁ → (1/x) φ(Q̂', m̂', q̂')`` with ``Q̂' = x(Q̂ − x(q̂₁ − q̂₀))``, ``m̂' = xm̂``, ``q̂' = x²q̂₀``
    (a ridge ``−βλw²/2`` rescales the same way, to ``−xβλw²/2``).

    Attributes
    ----------
    gaussian_identity : sympy.Expr
        ``E_{z₁} e^{x s z₁ w} − e^{x² s² w²/2}`` (0).
    free_entropy : sympy.Expr
        ``−βf`` of the frozen ansatz (``q₁ = Q`` in the 1RSB free entropy, ``φ₁`` frozen).
    rs_identity : sympy.Expr
        ``−βf_frozen(β, x) − (1/x)(−β'f_RS)(β' = xβ; Q̂', m̂', q̂'; m, q₀, Q)`` (0): the frozen
        1RSB at ``(β, x)`` is RS at the inverse temperature ``xβ``.
    x_stationarity : sympy.Expr
        ``x² ∂_x(−βf_frozen) + s_RS(xβ)`` with ``s_RS = Φ − β'∂_{β'}Φ`` (``Φ = −β'f_RS``, the
        conjugate chain terms vanishing at the RS saddle point): 0, so ``∂_x = 0`` is the zero
        complexity condition ``s_RS(xβ) = 0`` and ``xβ = β_f``.
    rs_entropy_identity : sympy.Expr
        ``s_RS − β'(e − f)`` with ``e = −∂_{β'}Φ``, ``f = −Φ/β'`` (0): the ``s_RS`` above is the
        RS entropy of :class:`~replica.RSSolution`.
    """

    gaussian_identity: sp.Expr
    free_entropy: sp.Expr
    rs_identity: sp.Expr
    x_stationarity: sp.Expr
    rs_entropy_identity: sp.Expr

    def rows(self) -> dict:
        """LaTeX label → expression (for tables of the derivation)."""
        return {r"-\beta f_{\mathrm{frozen}}": self.free_entropy}


@lru_cache(maxsize=1)
def frozen_derivation() -> FrozenDerivation:
    """Derive the frozen 1RSB from :func:`rsb_derivation` (cached).

    References
    ----------
    Card "1RSB (beyond the paper)"; B. Derrida, Phys. Rev. B 24, 2613 (1981) (freezing);
    O. C. Martin, M. Mézard, O. Rivoire, Phys. Rev. Lett. 93, 217205 (2004) (frozen 1RSB).
    """
    der = rsb_derivation()
    s, w, z1 = sp.symbols("s w z_1", real=True)
    gauss = sp.integrate(
        sp.exp(x * s * z1 * w) * sp.exp(-(z1**2) / 2) / sp.sqrt(2 * sp.pi), (z1, -sp.oo, sp.oo)
    )
    gauss_id = sp.simplify(gauss - sp.exp(x**2 * s**2 * w**2 / 2))
    Qp = x * (Q_hat - x * (q_hat1 - q_hat0))
    mp, qp = x * m_hat, x**2 * q_hat0
    frozen = (der.energetic + der.conjugate).subs(q1, Q) + rs.phi(Qp, mp, qp) / x
    rs_free = rs.rs_derivation().free_entropy
    bp = sp.Symbol("beta_prime", positive=True)
    rs_at = rs_free.subs({beta: bp, rs.q: q0}).subs(
        {Q_hat: Qp, m_hat: mp, rs.q_hat: qp}, simultaneous=True
    )
    ident = sp.simplify(frozen - (rs_at / x).subs(bp, x * beta))
    # ∂_x of (1/x) Φ(β' = xβ) at fixed RS conjugates (the chain terms through Q̂', m̂', q̂' are
    # proportional to ∂Φ/∂(conjugates), zero at the RS saddle point)
    Pq, Pm, PQ = sp.symbols("Pq Pm PQ", positive=True)
    Phi = rs_free.subs({rs.q: q0, rs.q_hat: Pq, m_hat: Pm, Q_hat: PQ}, simultaneous=True)
    entropy = Phi - beta * sp.diff(Phi, beta)  # Φ − β'∂_β'Φ at β' = beta
    dx = sp.diff(Phi.subs(beta, x * beta) / x, x)
    x_stat = sp.simplify(x**2 * dx + entropy.subs(beta, x * beta))
    e = -sp.diff(Phi, beta)
    f = -Phi / beta
    ent_id = sp.simplify(entropy - beta * (e - f))
    return FrozenDerivation(
        gaussian_identity=gauss_id,
        free_entropy=frozen,
        rs_identity=ident,
        x_stationarity=x_stat,
        rs_entropy_identity=ent_id,
    )


# ---------------------------------------------------------------------------- training error
@dataclass(frozen=True)
class TrainingErrorDerivation:
    """Training errors of the 1RSB solution, derived from the replicated residual measure.

    Per sample, the residuals ``u_a = y − x·w^a`` of ``n`` replicas are Gaussian under the
    cavity measure with the Parisi covariance ``C = (Q − q₁)I + (q₁ − q₀)B + E₀J`` (``B``
    the block-diagonal ones of blocks of ``x`` replicas, ``J`` all ones,
    ``E₀ = ρ − 2m + q₀ + σ²``); the sample's Boltzmann factor ``e^{−β|u|²/2}`` tilts it to the
    covariance ``K = C(I + βC)⁻¹``. ``I, B, J`` span a commutative algebra
    (``B² = xB``, ``BJ = xJ``, ``J² = nJ``) in which ``K`` is computed for symbolic ``n, x``
    and continued to ``n → 0``. A Gibbs sample's training error is the diagonal ``K_aa``; the
    Gibbs mean's, ``E(y − x·⟨w⟩)² = E⟨u_a u_b⟩`` (``a ≠ b``), is the average of ``K_ab`` over
    pairs: same block with weight ``(x − 1)/(n − 1) → 1 − x``, different blocks with weight
    ``(n − x)/(n − 1) → x``.

    Attributes
    ----------
    tilted : tuple of sympy.Expr
        ``(k_I, k_B, k_J)`` of ``K = k_I I + k_B B + k_J J`` at ``n = 0``, in ``a``, ``b``,
        ``E₀`` (the symbols ``a_sym``, ``b_sym``, ``E0_sym``): ``((a − 1)/(aβ),
        (b − a)/(abβx), E₀/b²)``.
    sample, mean : sympy.Expr
        ``E₀/b² + (Q − q₁)/a + (q₁ − q₀)/(ab)`` and ``E₀/b² + (1 − x)(q₁ − q₀)/(ab)``, in
        ``Q, q₁, q₀, m, x`` (``a = 1 + β(Q − q₁)``, ``b = a + xβ(q₁ − q₀)``).
    checks : dict
        Expressions that simplify to 0 (each is asserted by ``tests/test_rsb.py``):
        ``inverse`` (the algebra inverse times ``I + βC`` is ``I``, symbolic ``n``),
        ``explicit_n4`` (``(I + βC)K = C`` entrywise on the explicit 4 × 4 Parisi matrix,
        blocks of 2), ``sample_closed_form``, ``mean_closed_form``, ``energy`` (``sample`` is
        ``(2/α)·(−∂_β)`` of the energetic term of :func:`rsb_derivation`: the energy is
        ``(α/2)`` times the Gibbs sample's training error, plus ``λQ/2`` from the prior in φ₁),
        ``rs_sample``/``rs_mean`` (``q₁ = q₀``: the RS ``E/(1 + χ)² + (Q − q)/(1 + χ)`` and
        ``E/(1 + χ)²``), ``x1_sample``/``x1_mean`` (``x = 1``: RS at ``q = q₀``, no ``q₁``),
        ``frozen_sample``/``frozen_mean`` (``q₁ = Q``: the RS errors at ``β' = xβ``, the Gibbs
        mean's plus ``(1 − x)`` times the RS thermal term ``(Q − q)/(1 + χ)``), ``pairs``
        (``Σ_{a≠b}`` weights sum to 1 at every ``n``), ``cavity_sample``/``cavity_mean``
        (the same errors by the cavity method with a reweighted Ruelle cascade of states, an
        independent route: :func:`_cavity_checks`).
    """

    tilted: tuple
    sample: sp.Expr
    mean: sp.Expr
    checks: dict

    def rows(self) -> dict:
        """LaTeX label → expression (for tables of the derivation)."""
        a, b, E0 = a_sym, b_sym, E0_sym
        return {r"\varepsilon_t^{\mathrm{sample}}": E0 / b**2 + (Q - q1) / a + (q1 - q0) / (a * b),
                r"\varepsilon_t^{\mathrm{mean}}": E0 / b**2 + (1 - x) * (q1 - q0) / (a * b)}  # fmt: skip


def _algebra_mul(u, v, n, block):
    """Product of ``u₁I + u₂B + u₃J`` and ``v₁I + v₂B + v₃J`` (``B² = xB``, ``BJ = JB = xJ``,
    ``J² = nJ`` with ``x = block``)."""
    (i1, b1, j1), (i2, b2, j2) = u, v
    return (
        i1 * i2,
        i1 * b2 + b1 * i2 + block * b1 * b2,
        i1 * j2 + j1 * i2 + block * (b1 * j2 + j1 * b2) + n * j1 * j2,
    )


def _algebra_matrix(u, n, block):
    I3, B, J = sp.eye(n), sp.zeros(n, n), sp.ones(n, n)
    for s in range(0, n, block):
        B[s : s + block, s : s + block] = sp.ones(block, block)
    return u[0] * I3 + u[1] * B + u[2] * J


@lru_cache(maxsize=1)
def training_error_derivation() -> TrainingErrorDerivation:
    """Derive the 1RSB training errors of a Gibbs sample and of the Gibbs mean (cached).

    Every expression is rational in the order parameters, so each check is decided by
    ``sympy.cancel`` (a rational function is 0 iff its cancelled numerator is).

    References
    ----------
    Card "1RSB (beyond the paper)" (the energetic term is ``−(α/2n) ln det(I + βC)``);
    M. Mézard, G. Parisi, M. A. Virasoro (1987), ch. III (1RSB pair weights ``1 − x``, ``x``).
    """
    n = rs.n_rep
    zero = sp.cancel
    a, b, E0 = a_sym, b_sym, E0_sym
    # C and I + βC in the eigenvalue coordinates a = 1 + β(Q − q₁), b = a + xβ(q₁ − q₀)
    C = ((a - 1) / beta, (b - a) / (x * beta), E0)
    M = (a, (b - a) / x, beta * E0)
    ki, kb, kj = sp.symbols("k_I k_B k_J")
    prod = _algebra_mul(M, (ki, kb, kj), n, x)
    inv = sp.solve([prod[0] - 1, prod[1], prod[2]], [ki, kb, kj], dict=True)[0]
    Minv = tuple(zero(inv[k]) for k in (ki, kb, kj))
    K_n = tuple(zero(c) for c in _algebra_mul(C, Minv, n, x))
    checks = {"inverse": sum(zero(p - t) ** 2
                             for p, t in zip(_algebra_mul(M, Minv, n, x), (1, 0, 0)))}  # fmt: skip
    # the explicit matrix: n = 4 replicas in blocks of x = 2
    sub4 = {n: 4, x: 2}
    K4 = _algebra_matrix([c.subs(sub4) for c in K_n], 4, 2)
    C4 = _algebra_matrix([c.subs(sub4) for c in C], 4, 2)
    checks["explicit_n4"] = sum(zero(e) ** 2 for e in (sp.eye(4) + beta * C4) * K4 - C4)
    K0 = tuple(zero(c.subs(n, 0)) for c in K_n)
    diag, same, diff = K0[0] + K0[1] + K0[2], K0[1] + K0[2], K0[2]
    w_same, w_diff = (x - 1) / (n - 1), (n - x) / (n - 1)
    checks["pairs"] = zero(w_same + w_diff - 1)
    sample_ab = zero(diag)
    mean_ab = zero(w_same.subs(n, 0) * same + w_diff.subs(n, 0) * diff)
    d1, d0 = C[0], C[1]  # Q − q₁, q₁ − q₀
    checks["sample_closed_form"] = zero(sample_ab - (E0 / b**2 + d1 / a + d0 / (a * b)))
    checks["mean_closed_form"] = zero(mean_ab - (E0 / b**2 + (1 - x) * d0 / (a * b)))
    # back to (m, q₀, q₁, Q)
    forward = {a: 1 + beta * (Q - q1), b: 1 + beta * (Q - q1) + x * beta * (q1 - q0), E0: _E0()}
    sample = sample_ab.subs(forward)
    mean = mean_ab.subs(forward)
    energy = -sp.diff(rsb_derivation().energetic, beta)
    checks["energy"] = zero(sample - 2 * energy / alpha)
    # RS: q₁ = q₀ (b = a, any x) and x = 1 (b = 1 + β(Q − q₀), any q₁): E/(1 + χ)² and
    # E/(1 + χ)² + (Q − q)/(1 + χ) with 1 + χ = b, Q − q = (b − 1)/β
    rs_mean = E0 / b**2
    rs_sample = rs_mean + (b - 1) / (beta * b)
    checks["rs_sample"] = zero(sample_ab.subs(a, b) - rs_sample)
    checks["rs_mean"] = zero(mean_ab.subs(a, b) - rs_mean)
    checks["x1_sample"] = zero(sample_ab.subs(x, 1) - rs_sample)
    checks["x1_mean"] = zero(mean_ab.subs(x, 1) - rs_mean)
    # frozen: q₁ = Q (a = 1), the RS errors at β' = xβ: 1 + χ' = b, Q − q = (b − 1)/(xβ)
    thermal_f = (b - 1) / (x * beta * b)
    checks["frozen_sample"] = zero(sample_ab.subs(a, 1) - (rs_mean + thermal_f))
    checks["frozen_mean"] = zero(mean_ab.subs(a, 1) - (rs_mean + (1 - x) * thermal_f))
    checks.update(_cavity_checks(sample_ab, mean_ab))
    return TrainingErrorDerivation(tilted=K0, sample=sample, mean=mean, checks=checks)


def _cavity_checks(sample_ab, mean_ab) -> dict:
    """The same errors by the cavity method (an independent route, no replicas).

    Without sample μ, its residual ``r = y − h`` is ``N(r_s, Q − q₁)`` inside state ``s``; the
    state residuals ``r_s`` are ``N(r₀, q₁ − q₀)`` (``r₀ ~ N(0, E₀)`` over the disorder) and
    the state weights form a Poisson–Dirichlet (Ruelle) cascade of parameter ``x``. Adding μ
    multiplies state ``s`` by ``∫ N(r; r_s, Q − q₁) e^{−βr²/2} ∝ e^{−βr_s²/(2a)}``: inside the
    state ``r`` has mean ``r_s/a`` and variance ``(Q − q₁)/a``; the cascade reweighted by these
    factors is again one, with the marks ``r_s`` tilted by their ``x``-th power,
    ``e^{−xβr_s²/(2a)}`` (Gaussian, precision ``1/(q₁ − q₀) + xβ/a``). Two replicas lie in the
    same state with probability ``1 − x``. Returns ``{"cavity_sample", "cavity_mean"}``:
    the differences from the replica results (0)."""
    a, b, E0 = a_sym, b_sym, E0_sym
    d1, d0 = (a - 1) / beta, (b - a) / (x * beta)  # Q − q₁, q₁ − q₀
    r0 = sp.Symbol("r_0", real=True)
    prec = 1 / d0 + x * beta / a  # tilted precision of the state residuals
    mean_rs, var_rs = (r0 / d0) / prec, 1 / prec
    u1 = mean_rs / a  # E_t[r_s/a]
    u2 = (mean_rs**2 + var_rs) / a**2  # E_t[(r_s/a)²]
    sample = u2 + d1 / a
    mean = (1 - x) * u2 + x * u1**2

    def disorder(e):  # E over r₀ ~ N(0, E₀) of a polynomial of degree 2 in r₀
        p = sp.Poly(e, r0)
        if p.degree() > 2:  # pragma: no cover - the tilts are Gaussian
            raise AssertionError(f"expected a quadratic in r_0, got degree {p.degree()}")
        return p.coeff_monomial(r0**2) * E0 + p.coeff_monomial(1)

    return {"cavity_sample": sp.cancel(disorder(sample) - sample_ab),
            "cavity_mean": sp.cancel(disorder(mean) - mean_ab)}  # fmt: skip


@lru_cache(maxsize=1)
def lambdify_training_error():
    """Numeric ``(sample, mean)(alpha, beta, rho, sigma2, m, q0, q1, Q, x)`` from
    :func:`training_error_derivation`."""
    der = training_error_derivation()
    return sp.lambdify((*PARAMETERS, *ORDER_PARAMETERS, x), [der.sample, der.mean], "numpy")
