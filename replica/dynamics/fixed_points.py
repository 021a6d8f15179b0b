"""Fixed points of the STE limit, their stability and the maximal stable learning rate.

Card ``ichikawa2025-ste-dynamics``, "Fixed points and stability":

* without weight quantization (exact): ``m* = κ_x ρ/(γ_x + λ)``, Jacobian eigenvalues
  ``−η(γ_x + λ)`` and ``−2η(γ_x + λ) + η²γ_x²``, hence stable iff
  ``0 < η < η_c = 2(γ_x + λ)/γ_x²`` (:func:`max_stable_lr`);
* isotropic closure: roots of the closed (m, Q) ODE by scanning ``Q``, classified by the trace
  and determinant of the Jacobian;
* quantized weights (exact limit): the stationary PDE law is the Gibbs measure

      p(ŵ | w*) ∝ exp(−U(ŵ)/T),   U = γ_x Ψ(ŵ) − κ_x w* ŵ + λŵ²/2,   Ψ' = ψ_w,
      T = η γ_x e*/2,   e* = ρ + σ² − 2κ_x m_ψ(e*) + γ_x q_ψ(e*) self-consistent,

  normalized exactly by per-cell Gaussian (or exponential) integrals in log space
  (:func:`gibbs_density`); a root is attracting when the map ``e ↦ F(e)`` has slope < 1.

References
----------
.. [1] Y. Ichikawa, S. Kashiwamura, A. Sakata, "High-Dimensional Learning Dynamics of Quantized
   Models with Straight-Through Estimator", arXiv:2510.10693 (2025); paper card
   ``ichikawa2025-ste-dynamics``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from .. import gauss
from ..errors import check, check_memory, integer, real
from ..quantizers import Quantizer
from ..results import CONVERGED, Result
from .moments import closure_moments
from .ode import _check_closure, drift, jacobian
from .problem import STEProblem

__all__ = ["FixedPoint", "fixed_points", "gibbs_density", "max_stable_lr"]


@dataclass(frozen=True, kw_only=True)
class FixedPoint(Result):
    """A stationary point of the limit dynamics.

    Attributes
    ----------
    kind : str
        ``"exact"`` (no weight quantization, closed form), ``"isotropic"`` (root of the closed
        ODE) or ``"gibbs"`` (self-consistent stationary law of the PDE).
    m, Q : float or None
        Order parameters (``None`` for ``"gibbs"``, which only needs the quantized moments).
    m_psi, q_psi, e, eg : float
        Quantized moments, mean-square residual and generalization error.
    eigenvalues : tuple of complex or None
        Jacobian eigenvalues of the (m, Q) ODE (``None`` for ``"gibbs"``).
    stable : bool
        Linear stability (``"gibbs"``: the self-consistency map ``e ↦ F(e)`` has slope < 1).
    classification : str
        ``"stable node"``, ``"stable focus"``, ``"saddle"``, ``"unstable"`` or, for ``"gibbs"``,
        ``"attracting"``/``"repelling"``.
    temperature : float or None
        ``T = η γ_x e/2`` of the Gibbs law.
    """

    kind: str
    m: float | None
    Q: float | None
    m_psi: float
    q_psi: float
    e: float
    eg: float
    eigenvalues: tuple | None
    stable: bool
    classification: str
    temperature: float | None = None


def _classify(J: np.ndarray):
    ev = np.linalg.eigvals(J)
    tr, det = float(np.trace(J)), float(np.linalg.det(J))
    if det < 0:
        cls = "saddle"
    elif tr < 0 and det > 0:
        cls = "stable focus" if tr * tr < 4 * det else "stable node"
    else:
        cls = "unstable"
    return tuple(complex(v) for v in ev), bool(np.all(ev.real < 0)), cls


def _exact_fixed_point(problem: STEProblem) -> FixedPoint:
    eta, lam, kx, gx, rho = (
        problem.eta,
        problem.ridge,
        problem.kappa_x,
        problem.gamma_x,
        problem.rho,
    )
    m = kx * rho / (gx + lam)
    den = 2 * (gx + lam) - eta * gx * gx
    Q = (2 * kx * m + eta * gx * (rho + problem.noise - 2 * kx * m)) / den if den != 0 else math.inf
    J = jacobian(problem, m, Q if math.isfinite(Q) else 1.0)
    ev, stable, cls = _classify(J)
    e = problem.residual(m, Q)
    return FixedPoint(
        status=CONVERGED,
        n_iter=0,
        residual=0.0,
        kind="exact",
        m=m,
        Q=Q,
        m_psi=m,
        q_psi=Q,
        e=float(e),
        eg=float(problem.generalization_error(m, Q)),
        eigenvalues=ev,
        stable=stable and Q > 0,
        classification=cls if Q > 0 else "unphysical (Q < 0)",
    )


def _isotropic_m_of_Q(problem: STEProblem, Q: float) -> float | None:
    """Root in m of dm/dτ = 0 at fixed Q (closed form for the Gaussian teacher)."""
    kx, gx, lam, rho = problem.kappa_x, problem.gamma_x, problem.ridge, problem.rho
    if problem.teacher == "gaussian":
        kap = float(problem.weight_quantizer.gaussian_moments(0.0, Q).cross) / Q
        den = gx * kap + lam if problem.ridge_on == "latent" else (gx + lam) * kap
        # a root far outside the closure's domain |m| <= √(ρQ) (e.g. a coarse grid whose levels
        # are all beyond the scale √Q, kap ≈ 0) is no fixed point; this also avoids an overflow
        if not den > kx * rho / (1e100 * math.sqrt(rho * Q)):
            return None
        return kx * rho / den
    bound = math.sqrt(rho * Q) * (1 - 1e-12)
    f = lambda m: float(drift(problem, m, Q)[0])  # noqa: E731
    ms = np.linspace(-bound, bound, 81)
    vals = np.asarray(drift(problem, ms, Q)[0], dtype=float)  # vectorised over the scan
    idx = np.nonzero(np.sign(vals[:-1]) * np.sign(vals[1:]) <= 0)[0]
    if idx.size == 0:
        return None
    k = int(idx[-1])
    return float(optimize.brentq(f, ms[k], ms[k + 1], xtol=1e-14, rtol=1e-13))


def _isotropic_fixed_points(problem: STEProblem, q_range) -> list[FixedPoint]:
    _check_closure(problem)

    def h(Q):
        m = _isotropic_m_of_Q(problem, Q)
        return math.nan if m is None else float(drift(problem, m, Q)[1])

    Qs = np.geomspace(*q_range, 400)
    vals = np.array([h(Q) for Q in Qs])
    out = []
    for k in range(Qs.size - 1):
        a, b = vals[k], vals[k + 1]
        if not (math.isfinite(a) and math.isfinite(b)) or a * b > 0:
            continue
        Q = optimize.brentq(h, Qs[k], Qs[k + 1], xtol=1e-14, rtol=1e-13)
        m = _isotropic_m_of_Q(problem, Q)
        if m is None or abs(m) > math.sqrt(problem.rho * Q * (1 + 1e-9)):
            continue  # violates Cauchy–Schwarz m² <= ρQ: outside the closure's domain
        dm, dQ = drift(problem, m, Q)
        m_psi, _, q_psi = closure_moments(problem, m, Q)
        ev, stable, cls = _classify(jacobian(problem, m, Q))
        out.append(
            FixedPoint(
                status=CONVERGED,
                n_iter=0,
                residual=float(abs(dm) + abs(dQ)),
                kind="isotropic",
                m=float(m),
                Q=float(Q),
                m_psi=float(m_psi),
                q_psi=float(q_psi),
                e=float(problem.residual(m_psi, q_psi)),
                eg=float(problem.generalization_error(m_psi, q_psi)),
                eigenvalues=ev,
                stable=stable,
                classification=cls,
            )
        )
    return out


def _log1mexp(x):
    """log(1 − eˣ) for x ≤ 0 (−inf at x = 0: a cell of zero mass)."""
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    small = x > -math.log(2.0)
    with np.errstate(divide="ignore"):  # x = 0 exactly means an empty cell: log 0 = −inf
        out[small] = np.log(-np.expm1(x[small]))
    out[~small] = np.log1p(-np.exp(x[~small]))
    return out


def _log_cell_integral(A: float, B, a, b):
    """log ∫_a^b exp(−A x² − B x) dx, elementwise over B, a, b (A >= 0; ±inf ends allowed).

    ``+inf`` signals a non-normalizable cell (A = 0 with the exponent growing at an infinite end).
    """
    B, a, b = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (B, a, b)))
    if A > 0:
        sd = 1.0 / math.sqrt(2 * A)
        mu = -B / (2 * A)
        al, be = (a - mu) / sd, (b - mu) / sd
        upper = al > 0
        lo_ = np.where(upper, special.log_ndtr(-be), special.log_ndtr(al))
        hi_ = np.where(upper, special.log_ndtr(-al), special.log_ndtr(be))
        return math.log(math.sqrt(2 * math.pi) * sd) + B * B / (4 * A) + hi_ + _log1mexp(lo_ - hi_)
    out = np.empty(B.shape)
    pos, neg, zer = B > 0, B < 0, B == 0
    with np.errstate(invalid="ignore"):  # inf − inf only where flagged non-normalizable below
        Bp, ap, bp = B[pos], a[pos], b[pos]
        out[pos] = -Bp * ap + _log1mexp(np.minimum(-Bp * (bp - ap), 0.0)) - np.log(Bp)
        out[pos & np.isneginf(a)] = math.inf
        Bn, an, bn = B[neg], a[neg], b[neg]
        out[neg] = -Bn * bn + _log1mexp(np.minimum(Bn * (bn - an), 0.0)) - np.log(-Bn)
        out[neg & np.isposinf(b)] = math.inf
        out[zer] = np.log(b[zer] - a[zer])
    return out


def _gibbs_cells(problem: STEProblem, T: float, ws):
    """Log mass of each quantizer cell under the Gibbs law, per teacher value: (n_w, K)."""
    q = problem.weight_quantizer
    c, th = q.levels, q.thresholds
    kx, gx, lam = problem.kappa_x, problem.gamma_x, problem.ridge
    gq = gx + (lam if problem.ridge_on == "quantized" else 0.0)
    lat = lam if problem.ridge_on == "latent" else 0.0
    # Ψ(x) = ∫ψ = c_j x + d_j on cell j, continuous: d_j = −Σ_{k<j} Δ_k θ_k
    d = -np.concatenate([[0.0], np.cumsum(np.diff(c) * th)])
    a = np.concatenate([[-math.inf], th])
    b = np.concatenate([th, [math.inf]])
    ws = np.asarray(ws, dtype=float)[:, None]
    B = (gq * c - kx * ws) / T
    logz = -gq * d / T + _log_cell_integral(lat / (2 * T), B, a, b)
    # a coordinate whose law is not normalizable escapes to ±inf through an outer cell: its
    # quantized value saturates there (all the mass on that cell)
    esc = np.isposinf(logz)
    if esc.any():
        rows = esc.any(axis=1)
        logz[rows] = np.where(esc[rows], 0.0, -np.inf)
    return logz


def _teacher_grid(problem: STEProblem, n: int = 4001):
    if problem.teacher == "constant":
        return np.array([math.sqrt(problem.rho)]), np.array([1.0])
    s = math.sqrt(problem.rho)
    ws = np.linspace(-9 * s, 9 * s, n)
    w = gauss.norm_pdf(ws / s)
    return ws, w / w.sum()


def _gibbs_moments(problem: STEProblem, e: float, ws, wq):
    T = problem.eta * problem.gamma_x * e / 2
    logz = _gibbs_cells(problem, T, ws)
    p = np.exp(logz - special.logsumexp(logz, axis=1, keepdims=True))
    c = problem.weight_quantizer.levels
    m_psi = float(wq @ (ws * (p @ c)))
    q_psi = float(wq @ (p @ (c * c)))
    return m_psi, q_psi


def gibbs_density(problem: STEProblem, x, w_star: float, e: float):
    """Stationary density of ŵ given ``w*`` at residual ``e``: ∝ exp(−U(ŵ)/T).

    ``U = γ_x Ψ(ŵ) − κ_x w* ŵ + λŵ²/2`` (ridge on the latent weights; ``(γ_x + λ)Ψ`` for the
    ridge on the quantized weights), ``Ψ' = ψ_w``, ``T = η γ_x e/2``; exact normalization by
    per-cell Gaussian (or exponential) integrals.

    References
    ----------
    .. [1] Ichikawa, Kashiwamura & Sakata (2025), stationary law (card, "Fixed points").
    """
    q = problem.weight_quantizer
    check(isinstance(q, Quantizer), "weight_quantizer", "a Quantizer", q)
    check(problem.ste == "plain", "ste", "'plain' (the clipped STE has no unique law)", problem.ste)
    x = np.asarray(x, dtype=float)
    T = problem.eta * problem.gamma_x * e / 2
    kx, gx, lam = problem.kappa_x, problem.gamma_x, problem.ridge
    gq = gx + (lam if problem.ridge_on == "quantized" else 0.0)
    lat = lam if problem.ridge_on == "latent" else 0.0
    c, th = q.levels, q.thresholds
    d = -np.concatenate([[0.0], np.cumsum(np.diff(c) * th)])
    j = q.index(x)
    U = gq * (c[j] * x + d[j]) - kx * w_star * x + 0.5 * lat * x * x
    cells = _gibbs_cells(problem, T, [w_star])[0]
    check(
        not np.any(cells == 0.0) or np.all(np.isfinite(cells)),
        "w_star",
        "a teacher value with a normalizable stationary law (ridge > 0 or |kappa_x w*| < "
        "gamma_x max|level|)",
        w_star,
    )
    logZ = special.logsumexp(cells)
    return np.exp(-U / T - logZ)


def _gibbs_fixed_points(problem: STEProblem, n_teacher: int) -> list[FixedPoint]:
    q = problem.weight_quantizer
    check(isinstance(q, Quantizer), "weight_quantizer", "a Quantizer for kind='gibbs'", q)
    check(problem.ste == "plain", "ste", "'plain' for kind='gibbs'", problem.ste)
    n_w = 1 if problem.teacher == "constant" else n_teacher
    # the (teacher node × cell) tables of one evaluation and their temporaries
    check_memory(8.0 * 8 * n_w * (q.levels.size + 1), "n_teacher", f"n_teacher={n_teacher}")
    ws, wq = _teacher_grid(problem, n_teacher)
    cmax = float(np.max(np.abs(q.levels)))
    kx, gx = problem.kappa_x, problem.gamma_x
    e_hi = problem.rho + problem.noise + 2 * kx * cmax * math.sqrt(problem.rho) + gx * cmax**2
    # the scan's lowest temperature T = η γ_x e/2 at e = 1e-9 e_hi: below ~1e-250 the Gibbs
    # exponents (levels/T) overflow and the scan would be NaN
    t_min = problem.eta * gx * 1e-9 * e_hi / 2
    check(t_min > 1e-250, "eta", "a learning rate whose Gibbs temperature eta*gamma_x*e/2 "
          f"stays above 1e-250 on the scan (eta > {2e-250 / (gx * 1e-9 * e_hi):.3g})",
          problem.eta)  # fmt: skip

    def F(e):
        return problem.residual(*_gibbs_moments(problem, e, ws, wq))

    def G(e):
        return e - F(e)

    es = np.geomspace(1e-9 * e_hi, e_hi * (1 + 1e-9), 60)
    vals = np.array([G(e) for e in es])
    out = []
    for k in range(es.size - 1):
        if vals[k] * vals[k + 1] > 0:
            continue
        e = optimize.brentq(G, es[k], es[k + 1], xtol=1e-15, rtol=1e-13)
        m_psi, q_psi = _gibbs_moments(problem, e, ws, wq)
        de = 1e-6 * e
        slope = (F(e + de) - F(e - de)) / (2 * de)
        out.append(
            FixedPoint(
                status=CONVERGED,
                n_iter=0,
                residual=float(abs(G(e))),
                kind="gibbs",
                m=None,
                Q=None,
                m_psi=m_psi,
                q_psi=q_psi,
                e=float(e),
                eg=float(problem.generalization_error(m_psi, q_psi)),
                eigenvalues=None,
                stable=bool(slope < 1),
                classification="attracting" if slope < 1 else "repelling",
                temperature=problem.eta * gx * e / 2,
            )
        )
    return out


#: fewest teacher nodes of the "gibbs" quadrature (see ``n_teacher``)
_MIN_TEACHER = 401


def fixed_points(
    problem: STEProblem, kind: str = "auto", q_range=(1e-4, 1e3), n_teacher: int = 4001
) -> tuple[FixedPoint, ...]:
    """Stationary points of the limit dynamics with their stability.

    Parameters
    ----------
    problem : STEProblem
    kind : {"auto", "exact", "isotropic", "gibbs"}
        ``"exact"``: closed form without weight quantization, ``m* = κ_x ρ/(γ_x + λ)``,
        Jacobian eigenvalues ``−η(γ_x + λ)`` and ``−2η(γ_x + λ) + η² γ_x²``.
        ``"gibbs"``: the stationary law of the PDE is the Gibbs measure
        ``∝ exp(−U(ŵ)/T)`` with ``T = η γ_x e*/2`` and ``e*`` self-consistent (scalar roots found
        by scanning ``e`` and bisection); quantizer weights and plain STE.
        ``"isotropic"``: roots of the closed (m, Q) ODE by scanning ``Q`` over ``q_range``, each
        classified from its Jacobian. ``"auto"``: exact without weight quantization, gibbs for a
        quantizer, isotropic for a smooth :class:`Elementwise` transform.
    q_range : (float, float)
        Scan range of ``Q`` for ``"isotropic"``.
    n_teacher : int
        Teacher grid size for ``"gibbs"`` with a Gaussian teacher (trapezoid rule on ±9√ρ),
        at least 401. The per-teacher law saturates on an outer cell beyond a threshold
        ``|w*|``, a kink the trapezoid rule resolves only to ``O(1/n_teacher)``: measured
        relative error of ε_g ≤ 1e-4 at 401 nodes and ~1e-5 at the default 4001 (1–3 bits,
        η = 0.1 and 1, against 20001 nodes); 3 nodes were off by a factor 2–20.

    Returns
    -------
    tuple of FixedPoint
        All roots found, by increasing ``Q`` (isotropic) or ``e`` (gibbs).

    References
    ----------
    .. [1] Ichikawa, Kashiwamura & Sakata (2025), fixed points and stability (card).
    """
    kinds = ("auto", "exact", "isotropic", "gibbs")
    check(isinstance(problem, STEProblem), "problem", "an STEProblem", problem)
    check(isinstance(kind, str) and kind in kinds, "kind", f"one of {kinds}", kind)
    n_teacher = integer(n_teacher, "n_teacher", f"an integer >= {_MIN_TEACHER}",
                        lambda n: n >= _MIN_TEACHER)  # fmt: skip
    check(isinstance(q_range, (tuple, list, np.ndarray)) and len(q_range) == 2, "q_range",
          "two numbers (lo, hi) with 0 < lo < hi < inf", q_range)  # fmt: skip
    q_lo = real(q_range[0], "q_range", "two numbers (lo, hi) with 0 < lo < hi < inf",
                lambda v: 0 < v < math.inf)  # fmt: skip
    q_hi = real(q_range[1], "q_range", "two numbers (lo, hi) with 0 < lo < hi < inf",
                lambda v: q_lo < v < math.inf)  # fmt: skip
    q_range = (q_lo, q_hi)
    if kind == "auto":
        if not problem.weight_quantized:
            kind = "exact"
        else:
            kind = "gibbs" if isinstance(problem.weight_quantizer, Quantizer) else "isotropic"
    if kind == "exact":
        check(
            not problem.weight_quantized, "kind", "'exact' only without weight quantization", kind
        )
        return (_exact_fixed_point(problem),)
    if kind == "isotropic":
        if not problem.weight_quantized:
            return (_exact_fixed_point(problem),)
        return tuple(_isotropic_fixed_points(problem, q_range))
    return tuple(_gibbs_fixed_points(problem, n_teacher))


def max_stable_lr(problem: STEProblem) -> float:
    """Largest stable learning rate η_c of the limit dynamics.

    Without weight quantization (unquantized or input-only): ``η_c = 2(γ_x + λ)/γ_x²``
    (unquantized ``2(1 + λ)``), from the Jacobian eigenvalue ``−2η(γ_x + λ) + η²γ_x²``. With
    quantizer weights the drift and the residual are bounded, so the limit never blows up:
    ``inf``.

    References
    ----------
    .. [1] Ichikawa, Kashiwamura & Sakata (2025), input-quantized stability bound (card).
    """
    if not problem.weight_quantized:
        return 2 * (problem.gamma_x + problem.ridge) / problem.gamma_x**2
    check(
        isinstance(problem.weight_quantizer, Quantizer),
        "weight_quantizer",
        "a Quantizer (bounded) or None",
        problem.weight_quantizer,
    )
    return math.inf
