"""Symbolic one-step replica-symmetry-breaking (1RSB) theory of weight-quantized regression.

The 1RSB free entropy of the card with the nested single-site term kept abstract,
``φ₁(Q̂, m̂, q̂₀, q̂₁, x) = E_{w⁰,z₀} (1/x) ln E_{z₁}[Z^x]``; the energetic term is derived from
the n-replica determinant with a Parisi overlap matrix; the stationarity equations (nine of them,
the Parisi parameter ``x`` included) are obtained by differentiation; the reductions to RS
(``q₁ = q₀``) and at ``x = 1`` are derived.

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
    "energetic_from_replicas",
    "frozen_derivation",
    "lambdify_energetic",
    "lambdify_free_entropy",
    "lambdify_gradient",
    "rsb_derivation",
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
        rows = {r"-\beta f_{\mathrm{1RSB}}": self.free_entropy}
        rows.update({rf"\partial_{{{sp.latex(k)}}}": g for k, g in self.gradient.items()})
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
    sub = _phi1_numeric_subs()
    (ssol,) = sp.solve(
        [grad[v].subs(sub) for v in CONJUGATES], list(ORDER_PARAMETERS), dict=True, check=False
    )
    inv = {val: key for key, val in sub.items()}
    ssol = {k: sp.simplify(ssol[k]).subs(inv) for k in ORDER_PARAMETERS}

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
    import numpy as np

    der = rsb_derivation()
    sub = _phi1_numeric_subs()
    f = sp.lambdify(_NUMERIC_ARGS, [der.gradient[v].subs(sub) for v in VARIABLES], "numpy")

    def gradient(*args):
        out = f(*args)
        return np.stack(np.broadcast_arrays(*[np.asarray(o, dtype=float) for o in out]))

    return gradient


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
