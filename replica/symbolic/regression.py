"""Symbolic replica-symmetric theory of weight-quantized regression.

Everything here is *derived* by sympy from two inputs, the energetic term (obtained from the
``n``-replica Gaussian integral, :func:`energetic_from_replicas`) and the single-site (entropic)
term, kept as an undefined function ``φ(Q̂, m̂, q̂)`` so that the derivation holds for any weight
grid, ridge and teacher prior:

* :func:`rs_derivation` — the RS free entropy of the card, its six saddle-point equations (the
  gradient, obtained by differentiation), the energetic half solved for the conjugates and the
  entropic half solved for the order parameters;
* :func:`scalar_channel` — the reduction ``m̂ = Q̂``, ``Δ = q̂/Q̂²``, ``A = β(α − D)``,
  ``1 + χ = α/(α − D)`` and ``∂_r f = A·v``;
* :func:`at_condition` — the replicon (AT) eigenvalues of the energetic and entropic Hessians in
  the replica off-diagonal direction, computed on an explicit replicon perturbation with ``n = 4``
  and ``n = 5`` replicas, their loop gain and its reduction to the card's ``(1/α) E[(∂_r f)²]``;
* :func:`ridge_limit` — continuous weights with a Gaussian (ridge) prior, where ``φ`` is closed
  form: the saddle point reproduces the Marchenko–Pastur equation for ``χ`` and the ridge risk;
* :func:`lambdify_gradient`, :func:`lambdify_energetic`, :func:`lambdify_free_entropy` — numeric
  functions of the derived expressions, given numeric values of ``φ`` and of its derivatives.

Every derived object renders with :func:`replica.symbolic.latex`.

References
----------
S. Kashiwamura, A. Sakata, M. Imaizumi, "Effect of Weight Quantization on Learning Models by
Typical Case Analysis", arXiv:2401.17269 (ISIT 2024): RS free energy, scalar channel, AT line.
J. R. L. de Almeida, D. J. Thouless, "Stability of the Sherrington–Kirkpatrick solution of a spin
glass model", J. Phys. A 11, 983 (1978): the replicon eigenvalue.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from . import register_latex_names

__all__ = [
    "ATDerivation",
    "RSDerivation",
    "RidgeDerivation",
    "ScalarChannel",
    "at_condition",
    "energetic_from_replicas",
    "lambdify_energetic",
    "lambdify_free_entropy",
    "lambdify_gradient",
    "replicon_perturbation",
    "ridge_limit",
    "rs_derivation",
    "rs_free_entropy",
    "scalar_channel",
]

# ---------------------------------------------------------------------------- symbols
alpha, beta, rho, sigma2, lam = sp.symbols("alpha beta rho sigma2 lam", positive=True)
m, q, Q = sp.symbols("m q Q", real=True)
m_hat, q_hat, Q_hat = sp.symbols("mhat qhat Qhat", positive=True)
#: the abstract single-site (entropic) term φ(Q̂, m̂, q̂) = E ln Σ_w exp[−(Q̂+βλ)w²/2 + (m̂w⁰ + √q̂ z)w]
phi = sp.Function("phi")
#: numeric stand-ins for φ and its first derivatives (arguments of the lambdified functions)
phi_0, phi_Q, phi_m, phi_q = sp.symbols("phi_0 phi_Qhat phi_mhat phi_qhat", real=True)
#: derived scalar-channel quantities
D, A, Delta, v, mse = sp.symbols("D A Delta v mse", positive=True)
chi = sp.Symbol("chi", positive=True)
n_rep = sp.Symbol("n", positive=True)

PARAMETERS = (alpha, beta, rho, sigma2)
ORDER_PARAMETERS = (m, q, Q)
CONJUGATES = (m_hat, q_hat, Q_hat)
VARIABLES = ORDER_PARAMETERS + CONJUGATES

register_latex_names({sigma2: r"\sigma^{2}", lam: r"\lambda", n_rep: "n"})


def _phi_call():
    return phi(Q_hat, m_hat, q_hat)


def _phi_numeric_subs():
    """Map φ and its first derivatives to the plain symbols used by the lambdified functions."""
    f = _phi_call()
    return {
        sp.Derivative(f, Q_hat): phi_Q,
        sp.Derivative(f, m_hat): phi_m,
        sp.Derivative(f, q_hat): phi_q,
        f: phi_0,
    }


def _chi():
    return beta * (Q - q)


def _error_energy():
    """ρ − 2m + q + σ²: the generalization error of the Gibbs mean (card)."""
    return rho - 2 * m + q + sigma2


# ---------------------------------------------------------------------------- energetic term
def replicon_perturbation(n: int) -> sp.Matrix:
    """A symmetric ``n×n`` perturbation with zero diagonal and zero row sums (``n ≥ 4``): an
    eigenvector of the replicon sector of any replica-symmetric Hessian.

    The pattern ``δ₁₂ = δ₃₄ = 1, δ₁₃ = δ₂₄ = −1`` (all others 0) is the smallest one.
    """
    if n < 4:
        raise ValueError(f"n: expected an integer >= 4 (the replicon needs 4 replicas), got {n!r}")
    d = sp.zeros(n, n)
    for (a, b), s in {(0, 1): 1, (2, 3): 1, (0, 2): -1, (1, 3): -1}.items():
        d[a, b] = d[b, a] = s
    return d


def _rs_error_covariance(n: int) -> sp.Matrix:
    """Covariance of the residuals ``e_a = y − x·w^a`` of n replicas under RS:
    ``C_ab = ρ + σ² − 2m + Q_ab`` with ``Q_aa = Q``, ``Q_ab = q``."""
    E = _error_energy()
    return sp.Matrix(n, n, lambda a, b: E + (Q - q if a == b else 0))


def energetic_from_replicas(n_explicit: int = 4):
    """The energetic term derived from the n-replica Gaussian integral.

    For one sample, ``E exp(−β/2 Σ_a e_a²) = det(I + βC)^{−1/2}`` with ``C`` the residual
    covariance. Under RS, ``C = (Q − q)I + E·J`` has the eigenvalue ``1 + χ`` (multiplicity
    ``n − 1``) and ``1 + χ + nβE``. The determinant identity is checked on an explicit
    ``n_explicit × n_explicit`` matrix, then the analytic continuation
    ``G(n) = −(α/2)[(n − 1) ln(1 + χ) + ln(1 + χ + nβE)]`` is differentiated at ``n = 0``.

    Returns
    -------
    energetic : sympy.Expr
        ``∂_n G(n)|_{n=0}`` in terms of ``m, q, Q``.
    det_check : sympy.Expr
        ``det(I + βC) − (1+χ)^{n−1}(1+χ+nβE)`` at ``n = n_explicit``, simplified (0).
    """
    E, ch = _error_energy(), _chi()
    C = _rs_error_covariance(n_explicit)
    M = sp.eye(n_explicit) + beta * C
    det_check = sp.simplify(
        M.det(method="berkowitz") - (1 + ch) ** (n_explicit - 1) * (1 + ch + n_explicit * beta * E)
    )
    G = -(alpha / 2) * ((n_rep - 1) * sp.log(1 + ch) + sp.log(1 + ch + n_rep * beta * E))
    energetic = sp.diff(G, n_rep).subs(n_rep, 0)
    return energetic, det_check


def _gradient_rows(label: str, free, gradient: dict) -> dict:
    """LaTeX label → expression rows of a free entropy (under ``label``) and its gradient."""
    rows = {label: free}
    rows.update({rf"\partial_{{{sp.latex(k)}}}": g for k, g in gradient.items()})
    return rows


def _solve_entropic(gradient: dict, sub: dict, conjugates, order_parameters) -> dict:
    """Solve ``∂/∂(conjugates) = 0`` for ``order_parameters`` in terms of the derivatives of
    the single-site term: ``sub`` maps those derivatives to plain symbols for the solve (and
    back after it)."""
    (sol,) = sp.solve(
        [gradient[v].subs(sub) for v in conjugates], list(order_parameters), dict=True,
        check=False,
    )  # fmt: skip
    inv = {val: key for key, val in sub.items()}
    return {k: sp.simplify(sol[k]).subs(inv) for k in order_parameters}


def _stacked(f):
    """``f`` (a lambdified list of expressions) returning one stacked, broadcast float array."""
    import numpy as np

    def stacked(*args):
        out = f(*args)
        return np.stack(np.broadcast_arrays(*[np.asarray(o, dtype=float) for o in out]))

    return stacked


# ---------------------------------------------------------------------------- RS derivation
@dataclass(frozen=True)
class RSDerivation:
    """The RS free entropy and its saddle point, derived by sympy.

    Attributes
    ----------
    energetic, conjugate, entropic, free_entropy : sympy.Expr
        ``−βf_RS = energetic + conjugate + entropic`` (before extremisation); ``entropic`` is
        the abstract ``φ(Q̂, m̂, q̂)``.
    gradient : dict
        ``{v: ∂(−βf_RS)/∂v}`` for the six variables ``m, q, Q, m̂, q̂, Q̂``: the saddle-point
        equations are ``gradient[v] = 0``.
    energetic_solution : dict
        The three equations ``∂/∂(m, q, Q) = 0`` solved for ``(m̂, q̂, Q̂)``.
    entropic_solution : dict
        The three equations ``∂/∂(m̂, q̂, Q̂) = 0`` solved for ``(m, q, Q)`` in terms of the
        derivatives of φ.
    """

    energetic: sp.Expr
    conjugate: sp.Expr
    entropic: sp.Expr
    free_entropy: sp.Expr
    gradient: dict
    energetic_solution: dict
    entropic_solution: dict

    def rows(self) -> dict:
        """LaTeX label → expression (for tables of the derivation)."""
        rows = _gradient_rows(r"-\beta f_{\mathrm{RS}}", self.free_entropy, self.gradient)
        rows.update(self.energetic_solution)
        rows.update(self.entropic_solution)
        return rows


def rs_free_entropy() -> sp.Expr:
    """``−βf_RS(m, q, Q, m̂, q̂, Q̂)`` of the card with the abstract single-site term φ.

    References
    ----------
    Kashiwamura et al. (2024), card "Replica-symmetric free energy".
    """
    return rs_derivation().free_entropy


@lru_cache(maxsize=1)
def rs_derivation() -> RSDerivation:
    """Derive the RS free entropy and its saddle-point equations (cached).

    References
    ----------
    Kashiwamura et al. (2024), card "Replica-symmetric free energy" and "Energetic saddle point".
    """
    energetic, _ = energetic_from_replicas()
    conjugate = Q_hat * Q / 2 - q_hat * (Q - q) / 2 - m_hat * m
    entropic = _phi_call()
    free = energetic + conjugate + entropic
    grad = {x: sp.diff(free, x) for x in VARIABLES}
    (esol,) = sp.solve([grad[m], grad[q], grad[Q]], list(CONJUGATES), dict=True, check=False)
    esol = {k: sp.factor(sp.simplify(esol[k])) for k in CONJUGATES}
    ssol = _solve_entropic(grad, _phi_numeric_subs(), CONJUGATES, ORDER_PARAMETERS)
    return RSDerivation(
        energetic=energetic,
        conjugate=conjugate,
        entropic=entropic,
        free_entropy=free,
        gradient=grad,
        energetic_solution=esol,
        entropic_solution=ssol,
    )


# ---------------------------------------------------------------------------- scalar channel
@dataclass(frozen=True)
class ScalarChannel:
    """The scalar-channel reduction of the RS saddle point, each entry derived by sympy.

    Attributes
    ----------
    m_hat_minus_Q_hat : sympy.Expr
        ``m̂ − Q̂`` at the energetic saddle point (simplifies to 0).
    delta : sympy.Expr
        ``Δ = q̂/Q̂²`` at the energetic saddle point, in terms of ``mse = ρ − 2m + q``.
    completed_square : sympy.Expr
        ``[−Q̂w²/2 + (Q̂w⁰ + √q̂ z)w] − [−A(w − r)²/2 + A r²/2]`` with ``A = Q̂``,
        ``r = w⁰ + √Δ z`` (0): the single-site measure is the channel posterior.
    precision : sympy.Expr
        ``A = Q̂`` solved from ``Q̂ = αβ/(1 + χ)`` with ``χ = β(Q − q) = βE[v] = βD/A``:
        ``β(α − D)``.
    one_plus_chi : sympy.Expr
        ``1 + χ`` in terms of ``D``: ``α/(α − D)``.
    dfdr_minus_Av : sympy.Expr
        ``∂_r f − A v`` for the posterior on an explicit 3-level grid with ridge (0).
    """

    m_hat_minus_Q_hat: sp.Expr
    delta: sp.Expr
    completed_square: sp.Expr
    precision: sp.Expr
    one_plus_chi: sp.Expr
    dfdr_minus_Av: sp.Expr

    def rows(self) -> dict:
        """LaTeX label → expression (for tables of the derivation)."""
        return {
            r"\hat{m} - \hat{Q}": self.m_hat_minus_Q_hat,
            Delta: self.delta,
            A: self.precision,
            1 + chi: self.one_plus_chi,
            r"\partial_r f - A v": self.dfdr_minus_Av,
        }


def _grid_posterior_symbolic(K: int = 3):
    """Posterior mean and variance of ``w`` on ``K`` symbolic levels for the channel ``r`` at
    precision ``A`` with a ridge prior; returns ``(r, f, v)``."""
    r = sp.Symbol("r", real=True)
    levels = sp.symbols(f"c1:{K + 1}", real=True)
    weights = [sp.exp(A * r * c - (A + beta * lam) * c**2 / 2) for c in levels]
    Z = sum(weights)
    f = sum(c * w for c, w in zip(levels, weights)) / Z
    f2 = sum(c**2 * w for c, w in zip(levels, weights)) / Z
    return r, f, f2 - f**2


@lru_cache(maxsize=1)
def scalar_channel() -> ScalarChannel:
    """Derive the scalar-channel form of the RS saddle point (cached).

    References
    ----------
    Kashiwamura et al. (2024), card "Scalar-channel form".
    """
    der = rs_derivation()
    sol = der.energetic_solution
    mh_qh = sp.simplify(sol[m_hat] - sol[Q_hat])
    delta = sp.simplify((sol[q_hat] / sol[Q_hat] ** 2).subs(m, (rho + q - mse) / 2))

    w, w0, z = sp.symbols("w w0 z", real=True)
    r = w0 + sp.sqrt(q_hat) / Q_hat * z
    lhs = -Q_hat * w**2 / 2 + (Q_hat * w0 + sp.sqrt(q_hat) * z) * w
    rhs = -Q_hat * (w - r) ** 2 / 2 + Q_hat * r**2 / 2
    completed = sp.simplify(sp.expand(lhs - rhs))

    # Q − q = E[v] and D = E[∂_r f] = A E[v]  =>  χ = β D / A; solve Q̂(1 + χ) = αβ for A = Q̂
    chi_of_A = beta * D / A
    eq = sp.Eq(A, sol[Q_hat].subs(Q - q, chi_of_A / beta).subs(Q, q + chi_of_A / beta))
    (prec,) = sp.solve(eq, A)
    prec = sp.factor(prec)
    one_plus_chi = sp.factor(sp.simplify(1 + chi_of_A.subs(A, prec)))

    rr, f, var = _grid_posterior_symbolic(3)
    dfdr = sp.simplify(sp.diff(f, rr) - A * var)
    return ScalarChannel(
        m_hat_minus_Q_hat=mh_qh,
        delta=delta,
        completed_square=completed,
        precision=prec,
        one_plus_chi=one_plus_chi,
        dfdr_minus_Av=dfdr,
    )


# ---------------------------------------------------------------------------- AT / replicon
@dataclass(frozen=True)
class ATDerivation:
    """The AT (replicon) stability condition, derived on explicit replicon perturbations.

    Attributes
    ----------
    lambda_energetic : sympy.Expr
        Replicon eigenvalue of the Hessian of the energetic term ``−(α/2) ln det(I + βC)`` with
        respect to the off-diagonal overlaps ``q_ab``: ``αβ²/(1 + χ)²`` (checked equal for
        ``n = 4`` and ``n = 5`` replicas, i.e. independent of ``n``).
    lambda_entropic : sympy.Expr
        Replicon eigenvalue of the Hessian of the single-site term with respect to ``q̂_ab``
        (the covariance of ``w_a w_b`` and ``w_c w_d``) in the limit ``n → 0``, written with the
        moment symbols ``E[μ₂²]``, ``E[μ₂μ₁²]``, ``E[μ₁⁴]`` of the single-site Gibbs measure
        (``μ_k = ⟨w^k⟩``).
    lambda_entropic_minus_Ev2 : sympy.Expr
        ``lambda_entropic − E[(μ₂ − μ₁²)²]`` expanded (0): the entropic eigenvalue is ``E[v²]``.
    replicon_hessian : sympy.Matrix
        The 2×2 Hessian of ``−βf`` along ``(δq, δq̂) = (ε, η)·δ`` for the replicon ``δ``, divided
        by ``Σ_{a<b} δ_ab²``: ``[[λ_E, −1], [−1, λ_S]]``.
    loop_gain : sympy.Expr
        ``λ_E λ_S``; RS is stable iff ``λ_E λ_S < 1`` (``det`` of the Hessian changes sign at 1).
    card_form : sympy.Expr
        ``(1/α) E[(∂_r f)²]`` (the card's AT quantity), with ``E[(∂_r f)²] = A² E[v²]``.
    gain_minus_card : sympy.Expr
        ``loop_gain − card_form`` after substituting ``1 + χ = α/(α − D)`` and ``A = β(α − D)``
        (0).

    Notes
    -----
    Sign convention: for ``n < 1`` the replicon sector has a negative number
    ``n(n − 3)/2`` of modes, which turns the saddle's required curvature around; the standard
    consequence (de Almeida–Thouless) is the condition ``λ_E λ_S < 1`` used here. This sign
    argument is stated, not derived by sympy. Everything else (the two eigenvalues, that the
    perturbation is an eigenvector, the product and its reduction) is computed.
    """

    lambda_energetic: sp.Expr
    lambda_entropic: sp.Expr
    lambda_entropic_minus_Ev2: sp.Expr
    replicon_hessian: sp.Matrix
    loop_gain: sp.Expr
    card_form: sp.Expr
    gain_minus_card: sp.Expr

    def rows(self) -> dict:
        """LaTeX label → expression (for tables of the derivation)."""
        return {
            r"\lambda_E": self.lambda_energetic,
            r"\lambda_S": self.lambda_entropic,
            r"H_{\mathrm{replicon}}": self.replicon_hessian,
            r"\lambda_E \lambda_S": self.loop_gain,
            r"\mathrm{AT}": self.card_form,
        }


# moments of the single-site Gibbs measure given (w⁰, z): μ₁ = ⟨w⟩, μ₂ = ⟨w²⟩
mu1, mu2 = sp.symbols("mu_1 mu_2", real=True)
E_v2, E_dfdr2 = sp.symbols("E_v2 E_dfdr2", positive=True)
register_latex_names({E_v2: r"\mathbb{E}[v^{2}]", E_dfdr2: r"\mathbb{E}[(\partial_r f)^{2}]"})


def _expectation(poly_expr):
    """The linear functional E[·] on polynomials in ``μ₁, μ₂``: each monomial ``μ₁^i μ₂^j``
    becomes the symbol ``E[mu1^i mu2^j]``."""
    poly = sp.Poly(sp.expand(poly_expr), mu1, mu2)
    out = 0
    for (i, j), c in poly.terms():
        if (i, j) == (0, 0):
            out += c
            continue
        sym = sp.Symbol(f"E_mu1_{i}_mu2_{j}")
        tex = " ".join(t for t in (_power(r"\mu_1", i), _power(r"\mu_2", j)) if t)
        register_latex_names({sym: rf"\mathbb{{E}}[{tex}]"})
        out += c * sym
    return out


def _power(base, k):
    return "" if k == 0 else (base if k == 1 else f"{base}^{{{k}}}")


def _pairs(n):
    return list(itertools.combinations(range(n), 2))


def _energetic_replicon(n: int) -> sp.Expr:
    """Second derivative of ``−(α/2) ln det(I + β(C + εδ))`` at ε = 0, per ``Σ_{a<b} δ_ab²``.

    ``I + βC = (1 + χ)I + βE·J`` is written with two symbols ``a = 1 + χ``, ``b = βE`` so the
    determinant is a small polynomial in ``ε`` (fast for any ``n``).
    """
    eps, a, b = sp.symbols("epsilon a b")
    d = replicon_perturbation(n)
    M = sp.Matrix(n, n, lambda i, j: b + (a if i == j else 0)) + beta * eps * d
    G = -(alpha / 2) * sp.log(sp.expand(M.det(method="berkowitz")))
    second = sp.diff(G, eps, 2).subs(eps, 0)
    norm = sum(d[i, j] ** 2 for i, j in _pairs(n))
    return sp.factor(sp.simplify(second / norm)).subs(a, 1 + chi)


def _entropic_replicon(n: int):
    """Replicon eigenvalue of the Hessian ``H[(ab),(cd)] = Cov(w_a w_b, w_c w_d)`` in the n-replica
    RS single-site measure. Its entries depend only on how the pairs overlap (same pair, one
    shared replica, disjoint); the perturbation is checked to be an eigenvector."""
    # n → 0 limit: the Gibbs weights E_z[Z^n ·]/E_z[Z^n] become E_z[·]; ⟨w_a w_b⟩ = E[μ₁²] etc.
    # The subtracted product ⟨w_a w_b⟩⟨w_c w_d⟩ is averaged over the teacher outside, and is the
    # same symbol `c` for every entry (it cancels in the replicon combination).
    c = sp.Symbol("c_disc")
    M_same = _expectation(mu2**2) - c
    M_one = _expectation(mu2 * mu1**2) - c
    M_disjoint = _expectation(mu1**4) - c
    pairs = _pairs(n)
    d = replicon_perturbation(n)
    dvec = sp.Matrix([d[a, b] for a, b in pairs])

    def entry(p1, p2):
        shared = len(set(p1) & set(p2))
        return {2: M_same, 1: M_one, 0: M_disjoint}[shared]

    H = sp.Matrix(len(pairs), len(pairs), lambda i, j: entry(pairs[i], pairs[j]))
    Hd = H * dvec
    i0 = next(i for i in range(len(pairs)) if dvec[i] != 0)
    lam_S = sp.expand(Hd[i0] / dvec[i0])
    eigen_check = sp.simplify(Hd - lam_S * dvec)
    return lam_S, eigen_check


@lru_cache(maxsize=1)
def at_condition() -> ATDerivation:
    """Derive the AT condition ``(1/α) E[(∂_r f)²] < 1`` from the replicon second variation.

    The replica functional contains ``G_E({q_ab}) − Σ_{a<b} q̂_ab q_ab + φ_n({q̂_ab})``. Along
    ``q_ab = q + εδ_ab``, ``q̂_ab = q̂ + ηδ_ab`` with a replicon ``δ`` (symmetric, zero row
    sums) the quadratic form is ``½Σδ²·(λ_E ε² − 2εη + λ_S η²)``; its determinant
    ``λ_E λ_S − 1`` changes sign when the linear replicon response ``δq̂ = λ_E δq``,
    ``δq = λ_S δq̂`` has loop gain one.

    References
    ----------
    de Almeida & Thouless (1978); Kashiwamura et al. (2024), card "AT stability".
    """
    lam_E = _energetic_replicon(4)
    lam_E5 = _energetic_replicon(5)
    if sp.simplify(lam_E - lam_E5) != 0:  # pragma: no cover - a derivation error
        raise AssertionError("energetic replicon eigenvalue depends on n")
    lam_S, check = _entropic_replicon(4)
    if any(sp.simplify(e) != 0 for e in check):  # pragma: no cover
        raise AssertionError("replicon perturbation is not an eigenvector of the entropic Hessian")
    lam_S_minus = sp.expand(lam_S - _expectation((mu2 - mu1**2) ** 2))

    # the 2x2 replicon Hessian from the explicit n = 4 functional (per Σ δ²)
    eps, eta = sp.symbols("epsilon eta")
    d = replicon_perturbation(4)
    norm = sum(d[a, b] ** 2 for a, b in _pairs(4))
    lE, lS = sp.symbols("lambda_E lambda_S", positive=True)
    coupling = -sum((q_hat + eta * d[a, b]) * (q + eps * d[a, b]) for a, b in _pairs(4))
    form = lE * norm * eps**2 / 2 + coupling + lS * norm * eta**2 / 2
    H = sp.hessian(form, (eps, eta)) / norm
    det = sp.expand(H.det())
    gain = sp.expand(det + 1).subs({lE: lam_E, lS: E_v2})  # det = λ_E λ_S − 1

    card = E_dfdr2 / alpha
    reduced = gain.subs(chi, alpha / (alpha - D) - 1).subs(E_v2, E_dfdr2 / A**2)
    reduced = reduced.subs(A, beta * (alpha - D))
    return ATDerivation(
        lambda_energetic=lam_E,
        lambda_entropic=lam_S,
        lambda_entropic_minus_Ev2=lam_S_minus,
        replicon_hessian=H,
        loop_gain=sp.factor(gain),
        card_form=card,
        gain_minus_card=sp.simplify(reduced - card),
    )


# ---------------------------------------------------------------------------- ridge limit
@dataclass(frozen=True)
class RidgeDerivation:
    """Continuous weights with the ridge prior: the entropic term in closed form.

    Attributes
    ----------
    entropic : sympy.Expr
        ``φ = ∫dw exp[−(Q̂+βλ)w²/2 + (m̂w⁰ + √q̂z)w]`` averaged: ``½ ln(2π/(Q̂+βλ)) +
        (m̂²ρ + q̂)/(2(Q̂+βλ))``.
    chi_equation : sympy.Expr
        The saddle point reduced to one polynomial equation in ``χ`` (``= 0``).
    m, q, mse : sympy.Expr
        Order parameters and weight MSE at the saddle point, as functions of ``χ``.
    free_entropy : sympy.Expr
        ``−βf_RS`` at the saddle point, as a function of ``χ``.
    at : sympy.Expr
        ``(1/α) E[(∂_r f)²]`` with ``f(r) = A r/(A + βλ)``.
    """

    entropic: sp.Expr
    chi_equation: sp.Expr
    m: sp.Expr
    q: sp.Expr
    mse: sp.Expr
    free_entropy: sp.Expr
    at: sp.Expr

    def rows(self) -> dict:
        """LaTeX label → expression (for tables of the derivation)."""
        return {
            r"\phi_{\mathrm{ridge}}": self.entropic,
            "0": self.chi_equation,
            m: self.m,
            q: self.q,
            mse: self.mse,
            r"-\beta f": self.free_entropy,
            r"\mathrm{AT}": self.at,
        }


@lru_cache(maxsize=1)
def ridge_limit() -> RidgeDerivation:
    """Solve the RS saddle point for continuous Gaussian-prior (ridge) weights in closed form.

    The single-site integral is Gaussian; substituting it for φ in the *same* free entropy and
    solving the derived equations gives ``λχ² + (α + λ − 1)χ − 1 = 0``, the Marchenko–Pastur
    Stieltjes equation for ``χ = (1/N) tr (XᵀX + λ)⁻¹``.

    References
    ----------
    Kashiwamura et al. (2024), card "Checks with no free parameters" (ridge limit).
    """
    der = rs_derivation()
    w, h = sp.symbols("w h", real=True)
    P = sp.Symbol("P", positive=True)
    # ln ∫dw exp(−P w²/2 + h w), then averaged over h = m̂w⁰ + √q̂ z: only E h² = m̂²ρ + q̂ enters
    integral = sp.simplify(sp.integrate(sp.exp(-P * w**2 / 2 + h * w), (w, -sp.oo, sp.oo)))
    log_int = sp.expand(sp.expand_log(sp.log(integral), force=True))
    ent = log_int.subs(h**2, m_hat**2 * rho + q_hat).subs(P, Q_hat + beta * lam)
    free = der.free_entropy.subs(_phi_call(), ent).doit()
    grad = {x: sp.diff(free, x) for x in VARIABLES}
    (ssol,) = sp.solve(
        [grad[x] for x in CONJUGATES], list(ORDER_PARAMETERS), dict=True, check=False
    )
    # χ = β(Q − q) from the entropic side, Q̂ from the energetic side
    chi_ent = sp.simplify(beta * (ssol[Q] - ssol[q]))
    Qh_of_chi = der.energetic_solution[Q_hat].subs(Q, q + chi / beta)
    chi_eq = sp.factor(sp.numer(sp.together(chi - chi_ent.subs(Q_hat, Qh_of_chi))))
    # order parameters as functions of χ: Q̂ + βλ = β/χ on the saddle point
    hats = {k: der.energetic_solution[k].subs(Q, q + chi / beta) for k in CONJUGATES}
    m_val = sp.simplify(ssol[m].subs(hats))
    q_eq = sp.Eq(q, ssol[q].subs(hats).subs(m, m_val))
    (q_val,) = sp.solve(q_eq, q, check=False, simplify=False)
    q_val = sp.factor(sp.cancel(q_val))
    mse_val = sp.simplify(rho - 2 * m_val + q_val)
    at_val = sp.simplify((hats[Q_hat] / (hats[Q_hat] + beta * lam)) ** 2 / alpha)
    point = {m: m_val, q: q_val, Q: q_val + chi / beta}
    point.update({k: val.subs(point) for k, val in hats.items()})
    f_val = free.subs({k: point[k] for k in CONJUGATES}).subs(point)
    return RidgeDerivation(
        entropic=ent,
        chi_equation=chi_eq,
        m=m_val,
        q=q_val,
        mse=mse_val,
        free_entropy=f_val,
        at=sp.simplify(at_val.subs(q, q_val)),
    )


# ---------------------------------------------------------------------------- lambdify
_NUMERIC_ARGS = (*PARAMETERS, *VARIABLES, phi_Q, phi_m, phi_q)


@lru_cache(maxsize=1)
def lambdify_gradient():
    """Numeric saddle-point residual from the derived gradient.

    Returns
    -------
    callable
        ``F(alpha, beta, rho, sigma2, m, q, Q, m_hat, q_hat, Q_hat, phi_Qhat, phi_mhat,
        phi_qhat) -> (6,) array`` of ``∂(−βf_RS)/∂(m, q, Q, m̂, q̂, Q̂)``, where ``phi_*`` are
        numeric values of the derivatives of the single-site term at ``(Q̂, m̂, q̂)``. For a grid
        posterior these are ``−E⟨w²⟩/2``, ``E[w⁰⟨w⟩]`` and ``E[⟨w²⟩ − ⟨w⟩²]/2``. Broadcasts.
    """
    der = rs_derivation()
    sub = _phi_numeric_subs()
    exprs = [der.gradient[x].subs(sub) for x in VARIABLES]
    return _stacked(sp.lambdify(_NUMERIC_ARGS, exprs, modules="numpy"))


@lru_cache(maxsize=1)
def lambdify_energetic():
    """Numeric energetic saddle point ``(m̂, q̂, Q̂)(alpha, beta, rho, sigma2, m, q, Q)`` from the
    derived solution (a function returning a tuple of three arrays)."""
    der = rs_derivation()
    exprs = [der.energetic_solution[k] for k in CONJUGATES]
    return sp.lambdify((*PARAMETERS, *ORDER_PARAMETERS), exprs, modules="numpy")


@lru_cache(maxsize=1)
def lambdify_free_entropy():
    """Numeric ``−βf_RS(alpha, beta, rho, sigma2, m, q, Q, m_hat, q_hat, Q_hat, phi_0)`` where
    ``phi_0`` is the numeric value of the single-site term."""
    der = rs_derivation()
    expr = der.free_entropy.subs(_phi_call(), phi_0)
    return sp.lambdify((*PARAMETERS, *VARIABLES, phi_0), expr, modules="numpy")
