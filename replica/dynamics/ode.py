"""Order-parameter ODEs of the STE limit, their Jacobian and integration.

For ``m = E[w* ŵ]`` and ``Q = E[ŵ²]`` (card ``ichikawa2025-ste-dynamics``, "Limit dynamics")

    dm/dτ = η(κ_x ρ − γ_x m_ψ − λ R_m),
    dQ/dτ = 2η(κ_x m − γ_x C_ψ − λ R_Q) + η² γ_x e,
    e = ρ + σ² − 2κ_x m_ψ + γ_x q_ψ,

with ``(R_m, R_Q) = (m, Q)`` for the ridge on the latent weights and ``(m_ψ, C_ψ)`` for the ridge
on the quantized weights; closed and exact without weight quantization, closed by the isotropic
assumption of :mod:`~replica.dynamics.moments` otherwise. :func:`drift` is the right-hand side,
:func:`jacobian` its derivative (from the moments' derivatives, used by the fixed points) and
:func:`ode` integrates it (DOP853) into a :class:`Trajectory`.

References
----------
.. [1] Y. Ichikawa, S. Kashiwamura, A. Sakata, "High-Dimensional Learning Dynamics of Quantized
   Models with Straight-Through Estimator", arXiv:2510.10693 (2025); paper card
   ``ichikawa2025-ste-dynamics``.
"""

from __future__ import annotations

import math
import types
from dataclasses import dataclass, field

import numpy as np
from scipy import integrate

from ..errors import check, check_memory, integer, real
from ..results import CONVERGED, DIVERGED, MAX_ITER, Result, finish
from .moments import closure_moments
from .problem import _BLOWUP, STEProblem

__all__ = ["Trajectory", "drift", "jacobian", "ode"]


# ---------------------------------------------------------------------------- right-hand side
def _check_closure(problem: STEProblem):
    if problem.weight_quantized:
        check(
            problem.ste == "plain",
            "ste",
            "'plain' for the order-parameter ODE with quantized weights (the clipped STE is "
            "handled by pde(method='particles') and simulate)",
            problem.ste,
        )


def drift(problem: STEProblem, m, Q):
    """Right-hand side ``(dm/dτ, dQ/dτ)`` of the order-parameter ODEs (closure if quantized).

    References
    ----------
    .. [1] Ichikawa, Kashiwamura & Sakata (2025), order-parameter ODEs (card, "Limit dynamics").
    """
    _check_closure(problem)
    m_psi, C_psi, q_psi = closure_moments(problem, m, Q)
    eta, lam, kx, gx = problem.eta, problem.ridge, problem.kappa_x, problem.gamma_x
    Rm, RQ = (m, Q) if problem.ridge_on == "latent" else (m_psi, C_psi)
    e = problem.residual(m_psi, q_psi)
    dm = eta * (kx * problem.rho - gx * m_psi - lam * Rm)
    # η·η, not η**2: a float product overflows to inf (flagged by ode), a power raises
    dQ = 2 * eta * (kx * m - gx * C_psi - lam * RQ) + eta * eta * gx * e
    return dm, dQ


def jacobian(problem: STEProblem, m, Q) -> np.ndarray:
    """Jacobian ``∂(dm/dτ, dQ/dτ)/∂(m, Q)`` of :func:`drift`, from the moments' derivatives."""
    _check_closure(problem)
    _, D = closure_moments(problem, m, Q, derivatives=True)
    eta, lam, kx, gx = problem.eta, problem.ridge, problem.kappa_x, problem.gamma_x
    dmpsi, dC, dq = D[..., 0, :], D[..., 1, :], D[..., 2, :]
    eye_m = np.array([1.0, 0.0])
    eye_Q = np.array([0.0, 1.0])
    dRm, dRQ = (eye_m, eye_Q) if problem.ridge_on == "latent" else (dmpsi, dC)
    de = -2 * kx * dmpsi + gx * dq
    row_m = eta * (-gx * dmpsi - lam * dRm)
    row_Q = 2 * eta * (kx * eye_m - gx * dC - lam * dRQ) + eta * eta * gx * de
    return np.stack([row_m, row_Q], -2)


# ---------------------------------------------------------------------------- integration
@dataclass(frozen=True, kw_only=True)
class Trajectory(Result):
    """Order-parameter trajectory on a time grid (status ``diverged`` when Q blew up).

    Attributes
    ----------
    tau, m, Q, m_psi, q_psi, eg : numpy.ndarray
        Time and order parameters; ``eg`` is the generalization error in the problem's
        convention. ``residual`` is the final ``|dQ/dτ| + |dm/dτ|``.
    closure : str
        ``"exact"`` or ``"isotropic"``.
    """

    tau: np.ndarray
    m: np.ndarray
    Q: np.ndarray
    m_psi: np.ndarray
    q_psi: np.ndarray
    eg: np.ndarray
    closure: str
    problem: STEProblem = field(repr=False)

    def to_dataset(self):
        """Labelled :class:`xarray.Dataset` over ``tau``."""
        import xarray as xr

        data = {k: ("tau", getattr(self, k)) for k in ("m", "Q", "m_psi", "q_psi", "eg")}
        return xr.Dataset(
            data, coords={"tau": self.tau}, attrs={"closure": self.closure, "status": self.status}
        )


#: most output times of one ode() call
_MAX_POINTS = 10**6


def ode(
    problem: STEProblem,
    t_max: float,
    closure: str = "isotropic",
    n_points: int = 401,
    t_eval=None,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    throw: bool = True,
    max_nfev: int = 200_000,
) -> Trajectory:
    """Integrate the order-parameter ODEs from ``(m(0), Q(0))`` to ``τ = t_max``.

    Parameters
    ----------
    problem : STEProblem
    t_max : float
        Final time ``τ`` (units of d samples).
    closure : {"isotropic"}
        Closure for quantized weights; without weight quantization the ODE is exact and
        ``closure`` is ignored (the trajectory's ``closure`` reads ``"exact"``).
    n_points, t_eval :
        Output grid (uniform with ``n_points`` points unless ``t_eval`` is given).
    rtol, atol : float
        Tolerances of the DOP853 integrator.
    throw : bool
        Raise :class:`~replica.errors.ConvergenceError` when the solution diverges or the
        integrator fails.
    max_nfev : int
        Budget of right-hand-side evaluations; a stiff case (e.g. a coarse grid much wider
        than √Q with a ridge on the quantized weights) that needs more stops there with status
        ``"max_iter"`` and the trajectory computed so far.

    Returns
    -------
    Trajectory

    References
    ----------
    .. [1] Ichikawa, Kashiwamura & Sakata (2025), order-parameter ODEs (card, "Limit dynamics").
    """
    check(isinstance(problem, STEProblem), "problem", "an STEProblem", problem)
    check(isinstance(closure, str) and closure == "isotropic", "closure", "'isotropic'", closure)
    t_max = real(t_max, "t_max", "a finite time > 0", lambda t: math.isfinite(t) and t > 0)
    rtol = real(rtol, "rtol", "a relative tolerance in [1e-14, 1)", lambda r: 1e-14 <= r < 1)
    atol = real(atol, "atol", "an absolute tolerance in (0, inf)", lambda a: 0 < a < math.inf)
    max_nfev = integer(max_nfev, "max_nfev", "an integer >= 1", lambda n: n >= 1)
    check(isinstance(throw, bool), "throw", "a bool", throw)
    if problem.weight_quantized:
        _check_closure(problem)
        check(problem.init > 0, "init", "> 0 for the isotropic closure", problem.init)
    if t_eval is None:
        # the dense output is evaluated point by point (~5 µs each): 1e8 points took minutes
        n_points = integer(n_points, "n_points", f"an integer in [2, {_MAX_POINTS:.0e}]",
                           lambda n: 2 <= n <= _MAX_POINTS)  # fmt: skip
        # the output grid and its trajectory arrays (τ, m, Q, m_ψ, q_ψ, ε_g and temporaries)
        check_memory(8.0 * 12 * n_points, "n_points", f"n_points={n_points}")
    tev = np.linspace(0.0, t_max, n_points) if t_eval is None else np.asarray(t_eval, float)
    check(tev.size <= _MAX_POINTS, "t_eval", f"at most {_MAX_POINTS:.0e} times", tev.size)
    check(
        tev.ndim == 1 and tev.size >= 1 and bool(np.all(np.diff(tev) > 0))
        and bool(tev[0] >= 0) and bool(tev[-1] <= t_max),
        "t_eval",
        "increasing times in [0, t_max]",
        t_eval,
    )  # fmt: skip

    def rhs(_t, y):
        try:
            return np.array(drift(problem, y[0], max(y[1], 1e-300)), dtype=float)
        except OverflowError:  # e.g. η² at η = 1e300: an infinite drift, flagged below
            return np.array([math.inf, math.inf])

    # the DOP853 steps of solve_ivp, driven here so that the evaluation budget can stop them
    y0 = [problem.m0, problem.Q0]
    if np.all(np.isfinite(rhs(0.0, np.array(y0)))):
        with np.errstate(over="ignore", invalid="ignore"):
            solver = integrate.DOP853(rhs, 0.0, y0, t_max, rtol=rtol, atol=atol)
    else:  # an infinite drift at the start (η so large that η² overflows): no step to take
        solver = types.SimpleNamespace(status="blown up", nfev=1, y=np.array(y0, float))
    ts, ys = [], []
    k = 0
    if tev.size and tev[0] <= 0.0:
        ts.append(0.0)
        ys.append(np.array([problem.m0, problem.Q0]))
        k = 1
    status = CONVERGED if solver.status == "running" else DIVERGED
    while solver.status == "running":
        t_old = solver.t
        if not np.all(np.isfinite(solver.f)):  # the drift overflowed: the dynamics blow up
            status = DIVERGED
            break
        with np.errstate(over="ignore", invalid="ignore"):
            solver.step()
        if not np.all(np.isfinite(solver.y)):
            status = DIVERGED
            break
        if solver.status == "failed":
            status = MAX_ITER
            break
        hi = int(np.searchsorted(tev, solver.t, side="right"))
        if hi > k:
            dense = solver.dense_output()
            for j in range(k, hi):
                y = dense(tev[j]) if tev[j] > t_old else dense(t_old)
                ts.append(float(tev[j]))
                ys.append(y)
            k = hi
        if not abs(solver.y[1]) < _BLOWUP:
            status = DIVERGED
            break
        if solver.nfev > max_nfev and solver.status == "running":
            status = MAX_ITER
            break
    ok = [i for i, y in enumerate(ys) if abs(y[1]) < _BLOWUP]
    ys_arr = np.array([ys[i] for i in ok]).reshape(-1, 2).T
    sol = types.SimpleNamespace(t=np.array([ts[i] for i in ok]), y=ys_arr, nfev=solver.nfev)
    if status == CONVERGED and sol.t.size != tev.size:
        status = MAX_ITER
    n = sol.t.size
    m, Q = sol.y[0], sol.y[1]
    if n:
        m_psi, _, q_psi = closure_moments(problem, m, np.maximum(Q, 1e-300))
        dm, dQ = drift(problem, m[-1], max(Q[-1], 1e-300))
        res = float(abs(dm) + abs(dQ))
    else:
        m_psi = q_psi = np.empty(0)
        res = math.inf
    traj = Trajectory(
        status=status,
        n_iter=int(sol.nfev),
        residual=res,
        tau=sol.t,
        m=m,
        Q=Q,
        m_psi=np.asarray(m_psi, float),
        q_psi=np.asarray(q_psi, float),
        eg=np.asarray(problem.generalization_error(m_psi, q_psi), float),
        closure="isotropic" if problem.weight_quantized else "exact",
        problem=problem,
    )
    return finish(traj, throw, "ode")
