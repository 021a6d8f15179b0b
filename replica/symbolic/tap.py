"""Symbolic derivation of the two-precision TAP-landscape equations (:mod:`replica.tap`).

**Status: the algebra here is derived and checked; that damped AMP reaches the point it
describes is a conjecture** (see :mod:`replica.tap`).

Steps, each derived by sympy (:func:`tap_derivation`):

1. *Landscape.* For ``ρ_A(w) = φ_A*(w) − Aw²/2`` (``φ_A`` the log-partition of the grid posterior
   with ridge, on an explicit 3-level grid), ``ρ_A'(f_A(s)) = A(s − f_A(s))``: differentiating
   ``ρ_A(f_A(s)) = A s f_A − φ_A(As) − A f_A²/2`` in ``s`` gives ``A(s − f_A) f_A'``. So
   ``∇Ψ_A(w) = 0`` is AMP's fixed-point equation ``s = w + βXᵀ(y − Xw)/A``.
2. *Proximal map at precision B.* Stationarity of ``B(w − r)²/2 + ρ_A(w)`` at ``w = f_A(s)``
   solved for ``r``: ``r(s) = (A/B)s + (1 − A/B)f_A(s)``; with ``f_A' = A v_A``,
   ``r'(s) = (A/B)(1 + (B − A)v_A)`` and ``prox' = f_A'/r' = B v_A/(1 + (B − A)v_A)``.
3. *M-estimation saddle point.* The RS energetic saddle point of
   :func:`replica.symbolic.regression.rs_derivation` at inverse temperature ``γβ`` with
   ``Q − q = χ̃/γ``, in the zero-temperature limit ``γ → ∞`` of the landscape's Gibbs measure
   ``exp(−γΨ_A)``: ``m̂/γ = Q̂/γ = B = αβ/(1 + βχ̃)``, ``Δ = (q̂/γ²)/B² = (mse + σ²)/α``, and
   ``χ = γβ(Q − q) → βχ̃`` in the training error ``E/(1 + χ)²``. The single-site susceptibility
   is ``χ̃ = E[prox']/B = V_B``, so ``B(1/β + V_B) = α``: equation (2).
4. *RS reduction.* At ``B = A``: ``r(s) = s``, ``r' = 1``, ``prox' = f_A'`` (so ``λ_M`` = AT and
   (2) = (1)).
5. *Bifurcation.* Along ``B = A e^t`` with (1), (3) imposed, the residual ``G`` of (2)
   (``ln[B(1/β + V_B)/α]``) has ``dG/dt = 1 − AT`` at ``t = 0``: the derivatives are taken at
   fixed ``r`` (the Gaussian variable), with ``∂_B s|_r = −∂_B r/r'``; the integrand of
   ``∂_B(e₂ − e₁)`` at ``B = A`` is ``1/β + v − A v²`` (the ``v'`` terms cancel), the diagonal
   derivative ``(∂_A + ∂_B)(e₂ − e₁)`` vanishes, and (1) turns ``E[1/β + v − Av²]`` into
   ``(α/A)(1 − AT)``.

References
----------
S. Kashiwamura, A. Sakata, M. Imaizumi, arXiv:2401.17269 (RS theory, AMP); the construction is
this project's conjecture (issue 17).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from . import regression as R

__all__ = ["TAPDerivation", "lambdify_tap", "tap_derivation"]

A, B, s, r = sp.symbols("A B s r", real=True)
v_s = sp.Symbol("v", positive=True)  # v_A(s) as a plain symbol
chi_t = sp.Symbol("chitilde", positive=True)  # χ̃ = lim γ(Q − q)
gamma = sp.Symbol("gamma", positive=True)
V, V_B, mse_s, delta = sp.symbols("V V_B mse Delta", positive=True)
at_s = sp.Symbol("AT", positive=True)
ev2 = sp.Symbol("Ev2", positive=True)  # E[v_A²]
alpha, beta, sigma2 = R.alpha, R.beta, R.sigma2


@dataclass(frozen=True)
class TAPDerivation:
    """The TAP-landscape equations, derived by sympy (each ``*_check`` simplifies to 0).

    Attributes
    ----------
    landscape_check : sympy.Expr
        ``d/ds ρ_A(f_A(s)) − A(s − f_A)f_A'`` on a 3-level grid with ridge.
    r_of_s, r_prime, prox_prime : sympy.Expr
        ``r(s)``, ``r'(s)`` and ``∂prox/∂r`` in terms of ``s, f_A, v`` (``v = v_A(s)``).
    B_energetic : sympy.Expr
        ``lim m̂/γ`` (= ``lim Q̂/γ``): ``αβ/(1 + βχ̃)``.
    delta : sympy.Expr
        ``lim (q̂/γ²)/(m̂/γ)²`` in terms of ``mse``.
    train_error : sympy.Expr
        ``E/(1 + χ)²`` with ``χ = γβ(Q − q) → βV_B``.
    equations : tuple
        Residuals of (1), (2), (3) in terms of ``A, B, V, V_B, mse, Δ``.
    mhat_minus_Qhat, rs_r_check, rs_prox_check, rs_replicon_check : sympy.Expr
        ``m̂ − Q̂`` in the limit, ``r(s) − s``, ``prox' − f_A'`` and ``prox'² − (A v)²`` at ``B = A``.
    diagonal_check : sympy.Expr
        Integrand of ``(∂_A + ∂_B)(e₂ − e₁)`` at fixed ``r`` and ``B = A``.
    slope_integrand : sympy.Expr
        Integrand of ``∂_B(e₂ − e₁)`` at fixed ``r`` and ``B = A``: ``1/β + v − A v²``.
    bifurcation_slope : sympy.Expr
        ``dG/dt`` at ``t = 0`` after using (1) and ``AT = A²E[v²]/α``: ``1 − AT``.
    """

    landscape_check: sp.Expr
    r_of_s: sp.Expr
    r_prime: sp.Expr
    prox_prime: sp.Expr
    B_energetic: sp.Expr
    delta: sp.Expr
    train_error: sp.Expr
    equations: tuple
    mhat_minus_Qhat: sp.Expr
    rs_r_check: sp.Expr
    rs_prox_check: sp.Expr
    rs_replicon_check: sp.Expr
    diagonal_check: sp.Expr
    slope_integrand: sp.Expr
    bifurcation_slope: sp.Expr

    def rows(self) -> dict:
        """LaTeX label → expression (for tables of the derivation)."""
        return {
            "r(s)": self.r_of_s,
            "r'(s)": self.r_prime,
            r"\mathrm{prox}'": self.prox_prime,
            "B": self.B_energetic,
            r"\Delta": self.delta,
            r"\varepsilon_t": self.train_error,
            "(1)": self.equations[0],
            "(2)": self.equations[1],
            "(3)": self.equations[2],
            r"\partial_t G|_{0}": self.bifurcation_slope,
        }


def _landscape_check():
    """``d/ds ρ_A(f_A(s)) − A(s − f_A) f_A'`` for an explicit 3-level grid with ridge."""
    c = sp.symbols("c1:4", real=True)
    h = sp.Symbol("h", real=True)
    lam_b = R.beta * R.lam
    phi_h = sp.log(sum(sp.exp(h * ck - (A + lam_b) * ck**2 / 2) for ck in c))
    f_h = sp.diff(phi_h, h)  # posterior mean as a function of the field h = A s
    f = f_h.subs(h, A * s)
    rho_of_f = A * s * f - phi_h.subs(h, A * s) - A * f**2 / 2  # Legendre: h w − φ(h) − Aw²/2
    return sp.simplify(sp.diff(rho_of_f, s) - A * (s - f) * sp.diff(f, s))


@lru_cache(maxsize=1)
def tap_derivation() -> TAPDerivation:
    """Derive the TAP-landscape equations (cached).

    References
    ----------
    Issue 17 of this project (conjecture); Kashiwamura et al., arXiv:2401.17269 (RS theory).
    """
    f_fun, v_fun = sp.Function("f"), sp.Function("v")
    f = f_fun(s)
    # 2. prox of ρ_A at precision B: B(w − r) + ρ_A'(w) = 0 with w = f(s), ρ_A'(w) = A(s − w)
    (r_of_s,) = sp.solve(sp.Eq(B * (f - r) + A * (s - f), 0), r)
    r_of_s = sp.expand(r_of_s)
    fprime = A * v_fun(s)  # ∂_r f = A v (replica.symbolic.regression.scalar_channel)
    r_prime = sp.factor(sp.diff(r_of_s, s).subs(sp.Derivative(f, s), fprime))
    prox_prime = sp.simplify(fprime / r_prime)

    # 3. zero-temperature limit of the RS energetic saddle point at inverse temperature γβ
    esol = R.rs_derivation().energetic_solution
    sub = {R.beta: gamma * beta}
    q_sub = {R.q: R.Q - chi_t / gamma}
    m_hat = sp.limit(esol[R.m_hat].subs(sub).subs(q_sub) / gamma, gamma, sp.oo)
    Q_hat = sp.limit(esol[R.Q_hat].subs(sub).subs(q_sub) / gamma, gamma, sp.oo)
    q_hat = sp.limit(esol[R.q_hat].subs(sub).subs(q_sub) / gamma**2, gamma, sp.oo)
    m_hat, Q_hat, q_hat = (sp.simplify(x) for x in (m_hat, Q_hat, q_hat))
    # m = (ρ + Q − mse)/2 defines mse = ρ − 2m + Q (q → Q in the limit)
    E = mse_s + sigma2
    delta_expr = sp.simplify((q_hat / m_hat**2).subs(R.m, (R.rho + R.Q - mse_s) / 2))
    chi_limit = sp.limit((gamma * beta) * (chi_t / gamma), gamma, sp.oo)
    train = sp.simplify(E / (1 + chi_limit.subs(chi_t, V_B)) ** 2)
    eqs = (
        sp.expand(A * (1 / beta + V) - alpha),
        sp.expand(sp.simplify(-(m_hat - B).subs(chi_t, V_B) * (1 / beta + V_B))),
        sp.simplify(delta_expr - delta),
    )

    # 4. RS reduction at B = A
    v = v_s
    rs_r = sp.simplify(r_of_s.subs(B, A) - s)
    pp = prox_prime.subs(v_fun(s), v)
    rs_prox = sp.simplify(pp.subs(B, A) - A * v)
    rs_repl = sp.simplify(pp.subs(B, A) ** 2 - (A * v) ** 2)

    # 5. bifurcation: derivatives at fixed r, with s = s(r; A, B)
    e1 = A * (1 / beta + v_fun(s))
    e2 = B * (1 / beta + v_fun(s) / (1 + (B - A) * v_fun(s)))
    r_s = sp.diff(r_of_s, s).subs(sp.Derivative(f, s), fprime)

    def d_at_fixed_r(expr, var):
        ds = -sp.diff(r_of_s, var) / r_s  # implicit function: ∂_var s at fixed r
        return sp.diff(expr, var) + ds * sp.diff(expr, s)

    diff21 = e2 - e1
    diag = (d_at_fixed_r(diff21, A) + d_at_fixed_r(diff21, B)).subs(B, A)
    slope = d_at_fixed_r(diff21, B).subs(B, A)
    plain = {sp.Derivative(v_fun(s), s): sp.Symbol("vprime"), v_fun(s): v}
    diag = sp.simplify(diag.subs(plain))
    slope = sp.simplify(slope.subs(plain))
    # G = ln(e₂/α): dG/dt = (1/α)·A·E[∂_B(e₂ − e₁)] at t = 0 (e₁ ≡ α along the path, the
    # A- and Δ-shifts cancel by the diagonal identity); E[v] = α/A − 1/β by (1), E[v²] = α AT/A²
    moments = {0: sp.Integer(1), 1: V, 2: ev2}  # E[v^k]; the integrand is a polynomial in v
    poly = sp.Poly(sp.expand(slope), v)
    expectation = sum(c * moments[k] for (k,), c in poly.terms())
    bif = sp.simplify(
        (A / alpha * sp.expand(expectation))
        .subs(V, alpha / A - 1 / beta)
        .subs(ev2, alpha * at_s / A**2)
    )
    return TAPDerivation(
        landscape_check=_landscape_check(),
        r_of_s=r_of_s.subs(f, sp.Symbol("f_A")),
        r_prime=r_prime.subs(v_fun(s), v),
        prox_prime=pp,
        B_energetic=sp.simplify(m_hat),
        delta=delta_expr,
        train_error=train,
        equations=eqs,
        mhat_minus_Qhat=sp.simplify(m_hat - Q_hat),
        rs_r_check=rs_r,
        rs_prox_check=rs_prox,
        rs_replicon_check=rs_repl,
        diagonal_check=diag,
        slope_integrand=slope,
        bifurcation_slope=bif,
    )


@lru_cache(maxsize=1)
def lambdify_tap():
    """Numeric residuals of equations (1)–(3) and the training error from the derivation.

    Returns
    -------
    callable
        ``F(alpha, beta, sigma2, A, B, V, V_B, mse, Delta) -> (e1, e2, e3, train_error)`` where
        ``V, V_B, mse`` are numeric averages (e.g. :func:`replica.tap.tap_averages`); the
        residuals are in the derived (non-logarithmic) form: ``A(1/β + V) − α``,
        ``B(1/β + V_B) − α`` and
        ``(mse + σ²)/α − Δ``.
    """
    der = tap_derivation()
    args = (alpha, beta, sigma2, A, B, V, V_B, mse_s, delta)
    return sp.lambdify(args, [*der.equations, der.train_error], modules="numpy")
