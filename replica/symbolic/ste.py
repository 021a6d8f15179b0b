"""Symbolic STE dynamics: drift of (m, Q), Jacobian, fixed point and stability bound.

The drift of the order parameters (card ``ichikawa2025-ste-dynamics``) is written with the
quantized moments as abstract functions ``m_ψ(m, Q)``, ``C_ψ(m, Q)``, ``q_ψ(m, Q)``:

    dm/dτ = η(κ_x ρ − γ_x m_ψ − λ R_m),   dQ/dτ = 2η(κ_x m − γ_x C_ψ − λ R_Q) + η² γ_x e,
    e = ρ + σ² − 2κ_x m_ψ + γ_x q_ψ,

with ``(R_m, R_Q) = (m, Q)`` (ridge on the latent weights) or ``(m_ψ, C_ψ)`` (ridge on the quantized
weights). Three closures are provided: ``"identity"`` (no weight quantization: m_ψ = m,
C_ψ = q_ψ = Q), ``"gaussian"`` (isotropic closure with a Gaussian teacher: m_ψ = m κ_w(Q),
C_ψ = Q κ_w(Q), q_ψ = γ_w(Q)) and ``"generic"`` (the abstract functions themselves).

References
----------
.. [1] Y. Ichikawa, S. Kashiwamura, A. Sakata, arXiv:2510.10693 (2025).
"""

from __future__ import annotations

from types import SimpleNamespace

import sympy as sp

from . import register_latex_names

__all__ = [
    "CLOSURES",
    "critical_learning_rate",
    "drift",
    "input_only_fixed_point",
    "jacobian",
    "lambdified_jacobian",
    "stability_condition",
    "symbols",
]

CLOSURES = ("identity", "gaussian", "generic")


def symbols() -> SimpleNamespace:
    """The symbols of the derivation (positive where the model says so)."""
    pos = {"positive": True}
    ns = SimpleNamespace(
        m=sp.Symbol("m", real=True),
        Q=sp.Symbol("Q", **pos),
        eta=sp.Symbol("eta", **pos),
        lam=sp.Symbol("lambda", nonnegative=True),
        rho=sp.Symbol("rho", **pos),
        sigma2=sp.Symbol("sigma2", nonnegative=True),
        kx=sp.Symbol("kappa_x", **pos),
        gx=sp.Symbol("gamma_x", **pos),
        # values of the weight moments and their derivatives (after differentiation)
        kw=sp.Symbol("kappa_w", **pos),
        dkw=sp.Symbol("kappa_w'", real=True),
        gw=sp.Symbol("gamma_w", **pos),
        dgw=sp.Symbol("gamma_w'", real=True),
    )
    ns.kappa_w = sp.Function("kappa_w")
    ns.gamma_w = sp.Function("gamma_w")
    ns.m_psi = sp.Function("m_psi")
    ns.C_psi = sp.Function("C_psi")
    ns.q_psi = sp.Function("q_psi")
    return ns


_S = symbols()
register_latex_names(
    {
        _S.sigma2: r"\sigma^{2}",
        _S.kx: r"\kappa_x",
        _S.gx: r"\gamma_x",
        _S.kw: r"\kappa_w",
        _S.dkw: r"\kappa_w'",
        _S.gw: r"\gamma_w",
        _S.dgw: r"\gamma_w'",
    }
)


def _moments(closure: str, s=_S):
    m, Q = s.m, s.Q
    if closure == "identity":
        return m, Q, Q
    if closure == "gaussian":
        return m * s.kappa_w(Q), Q * s.kappa_w(Q), s.gamma_w(Q)
    if closure == "generic":
        return s.m_psi(m, Q), s.C_psi(m, Q), s.q_psi(m, Q)
    raise ValueError(f"closure: expected one of {CLOSURES}, got {closure!r}")


def drift(closure: str = "gaussian", ridge_on: str = "latent") -> sp.Matrix:
    """Drift ``(dm/dτ, dQ/dτ)`` as a sympy column.

    References
    ----------
    .. [1] Ichikawa, Kashiwamura & Sakata (2025), order-parameter ODEs (card).
    """
    if ridge_on not in ("latent", "quantized"):
        raise ValueError(f"ridge_on: expected 'latent' or 'quantized', got {ridge_on!r}")
    s = _S
    m_psi, C_psi, q_psi = _moments(closure)
    Rm, RQ = (s.m, s.Q) if ridge_on == "latent" else (m_psi, C_psi)
    e = s.rho + s.sigma2 - 2 * s.kx * m_psi + s.gx * q_psi
    dm = s.eta * (s.kx * s.rho - s.gx * m_psi - s.lam * Rm)
    dQ = 2 * s.eta * (s.kx * s.m - s.gx * C_psi - s.lam * RQ) + s.eta**2 * s.gx * e
    return sp.Matrix([dm, dQ])


def _values(expr):
    """Replace κ_w(Q), γ_w(Q) and their Q-derivatives by plain symbols."""
    s = _S
    return expr.subs(
        {
            sp.Derivative(s.kappa_w(s.Q), s.Q): s.dkw,
            sp.Derivative(s.gamma_w(s.Q), s.Q): s.dgw,
        }
    ).subs({s.kappa_w(s.Q): s.kw, s.gamma_w(s.Q): s.gw})


def jacobian(closure: str = "gaussian", ridge_on: str = "latent") -> sp.Matrix:
    """Jacobian ``∂(dm/dτ, dQ/dτ)/∂(m, Q)``; for the Gaussian closure in terms of the symbols
    ``kappa_w, kappa_w', gamma_w, gamma_w'`` (values of the moments and their Q-derivatives)."""
    J = drift(closure, ridge_on).jacobian([_S.m, _S.Q])
    return _values(J) if closure == "gaussian" else J


JACOBIAN_ARGS = ("m", "Q", "eta", "lam", "rho", "sigma2", "kx", "gx", "kw", "dkw", "gw", "dgw")


def lambdified_jacobian(ridge_on: str = "latent"):
    """Numpy function ``J(m, Q, eta, lam, rho, sigma2, kx, gx, kw, dkw, gw, dgw) -> (2, 2)``
    of the Gaussian-closure Jacobian (``JACOBIAN_ARGS`` gives the argument order)."""
    J = jacobian("gaussian", ridge_on)
    args = [getattr(_S, a) for a in JACOBIAN_ARGS]
    return sp.lambdify(args, J, modules="numpy")


def input_only_fixed_point() -> dict:
    """Exact fixed point ``(m*, Q*)`` without weight quantization (``closure="identity"``)."""
    s = _S
    F = drift("identity")
    sol = sp.solve(list(F), [s.m, s.Q], dict=True)
    if len(sol) != 1:
        raise RuntimeError(f"expected a unique fixed point, got {sol}")
    return {k: sp.simplify(v) for k, v in sol[0].items()}


def stability_condition() -> dict:
    """Eigenvalues of the identity-closure Jacobian and the condition for both to be negative.

    The Jacobian is triangular (dm/dτ does not depend on Q), so its eigenvalues are the
    diagonal entries ``−η(γ_x + λ)`` and ``−2η(γ_x + λ) + η² γ_x²``.
    """
    s = _S
    J = jacobian("identity")
    eig = [sp.factor(v) for v in J.eigenvals()]
    cond = sp.And(*[sp.StrictLessThan(v, 0) for v in eig])
    return {"eigenvalues": eig, "condition": cond, "jacobian": J, "eta": s.eta}


def critical_learning_rate() -> sp.Expr:
    """η_c: the non-zero root in η of the Q-direction eigenvalue; simplifies to
    ``2(γ_x + λ)/γ_x²``.

    References
    ----------
    .. [1] Ichikawa, Kashiwamura & Sakata (2025), input-quantized stability bound (card).
    """
    s = _S
    roots = set()
    for ev in stability_condition()["eigenvalues"]:
        roots |= {r for r in sp.solve(sp.Eq(ev, 0), s.eta) if r != 0}
    if len(roots) != 1:
        raise RuntimeError(f"expected one non-zero critical learning rate, got {roots}")
    return sp.simplify(roots.pop())
