"""State evolution of AMP for weight-quantized regression.

In the large-system limit the undamped AMP iterate ``ŵ_t`` behaves as the output of the scalar
channel ``r = w⁰ + √Δ_t z`` observed at precision ``A_t`` (paper card, "State evolution"):

    Δ_t = (σ² + mse_t)/α,      A_t = αβ/(1 + β V_t),
    mse_{t+1} = E[(w⁰ − f(r; A_t))²],      V_{t+1} = E[v(r; A_t)],

started from the grid prior (``ŵ_0`` its mean, ``v_0`` its variance). With ``χ_t = β V_t`` this
is exactly the Picard iteration ``(Δ_{t+1}, χ_{t+1}) = rs_map(Δ_t, χ_t)`` of the replica-symmetric
saddle-point map (:func:`replica.regression.rs_map`), so its fixed point is the RS solution.

References
----------
S. Kashiwamura, A. Sakata, M. Imaizumi, arXiv:2401.17269 (RS saddle point); paper card
"AMP (finite-size validator)" (state evolution); M. Bayati, A. Montanari, IEEE Trans. Inf.
Theory 57, 764 (2011) (state evolution of AMP).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import check
from ..regression import QuantizedRegression, rs_map, solve_rs
from ..results import CONVERGED, DIVERGED, MAX_ITER, Result, finish
from ..stability import at_from_averages
from .denoiser import prior_moments
from .trajectory import Trajectory

__all__ = ["SEResult", "state_evolution"]

# Δ underflows to 0 at exact recovery (σ² = 0, teacher on the grid); the channel needs Δ > 0, and
# this floor is a fixed point that represents 0 (as in replica.regression.solve_rs)
_DELTA_FLOOR = 1e-300


@dataclass(frozen=True, kw_only=True, eq=False)
class SEResult(Result):
    """State-evolution trajectory and its last iterate (the fixed point when converged).

    Attributes
    ----------
    trajectory : Trajectory
        ``mse``, ``m``, ``q``, ``V``, ``A`` per iteration (entry 0: the initialisation), the
        same names and indexing as :attr:`replica.amp.AMPResult.trajectory`; ``residual[t]``
        is ``max(|Δ_{t+1}/Δ_t − 1|, |χ_{t+1}/χ_t − 1|)``.
    mse, m, q, Q, V, chi, delta, A, D : float
        Order parameters at the last iterate (``Q = q + V``, ``χ = βV``, ``D = A·V``).
    gen_error : float
        Generalization error with the conventions of the model (``include_noise``, ``estimator``).
    at : float
        AT quantity ``(1/α) E[(∂_r f)²]`` at the last iterate.
    equilibrium_mse, equilibrium_free_energy : float
        Weight MSE and free energy of the equilibrium RS branch (:func:`replica.solve_rs`, the
        lowest free energy; ``None`` when not computed or not converged).
    gap : bool
        The fixed point state evolution reached (the algorithmic branch) is not the
        equilibrium one: a statistical-to-computational gap (a metastable algorithmic branch,
        as in the hard phase of the Bayes-optimal binary model).
    """

    trajectory: Trajectory
    mse: float
    m: float
    q: float
    Q: float
    V: float
    chi: float
    delta: float
    A: float
    D: float
    gen_error: float
    at: float
    equilibrium_mse: float | None = None
    equilibrium_free_energy: float | None = None
    gap: bool = False


def _rel(new: float, old: float) -> float:
    if new == old:
        return 0.0
    return abs(new - old) / max(abs(old), 1e-300)


def state_evolution(
    model: QuantizedRegression,
    max_iter: int = 2000,
    tol: float = 1e-13,
    throw: bool = True,
    equilibrium: bool = True,
) -> SEResult:
    """Iterate the state evolution of undamped AMP for ``model`` until it stops moving.

    Parameters
    ----------
    model : QuantizedRegression
        Finite β (AMP's output channel has variance ``1/β``).
    max_iter : int
        Iteration budget.
    tol : float
        Converged when the relative change of ``Δ`` and ``χ`` in one step is below ``tol``.
    throw : bool
        Raise :class:`~replica.ConvergenceError` (carrying the result) when not converged.
    equilibrium : bool
        Also solve for the equilibrium RS branch (:func:`replica.solve_rs`, continued from the
        state-evolution fixed point) and report whether it differs (``gap``). State evolution
        itself always follows the algorithmic branch, the one reached from the prior.

    Returns
    -------
    SEResult

    References
    ----------
    Paper card (Kashiwamura et al., arXiv:2401.17269), "AMP": state evolution
    ``Δ_t = (σ² + mse_t)/α``, ``A_t = αβ/(1 + β E[v])``, ``mse_{t+1} = E[(w⁰ − f)²]``.
    """
    from ..designs import gaussian_only

    gaussian_only(model, "state_evolution")
    check(isinstance(model, QuantizedRegression), "model", "a QuantizedRegression", model)
    check(math.isfinite(model.beta), "beta", "a finite inverse temperature for state evolution",
          model.beta)  # fmt: skip
    check(isinstance(max_iter, (int, np.integer)) and max_iter >= 1, "max_iter",
          "an integer >= 1", max_iter)  # fmt: skip
    check(tol > 0, "tol", "a number > 0", tol)
    a, b = model.alpha, model.beta
    levels = model.quantizer.levels
    mean0, var0 = prior_moments(levels, -0.5 * b * model.ridge * levels**2)
    pi, mu, _ = model.teacher.mixture()
    ew0 = float(np.sum(pi * mu))
    rho = model.rho
    rows = {"mse": [rho - 2.0 * mean0 * ew0 + mean0**2], "m": [mean0 * ew0], "q": [mean0**2],
            "V": [var0], "A": [a * b / (1.0 + b * var0)]}  # fmt: skip
    residuals = []
    delta, chi = max((rows["mse"][0] + model.noise) / a, _DELTA_FLOOR), b * var0
    status, avg, it = MAX_ITER, None, 0
    for it in range(1, max_iter + 1):  # noqa: B007 (n_iter)
        d_new, c_new, avg = rs_map(model, delta, chi)
        d_new = max(d_new, _DELTA_FLOOR)
        for k, val in (("mse", avg.mse), ("m", avg.m), ("q", avg.q), ("V", avg.V)):
            rows[k].append(val)
        rows["A"].append(a * b / (1.0 + c_new))
        res = max(_rel(d_new, delta), _rel(c_new, chi))
        residuals.append(res)
        delta, chi = d_new, c_new
        if not (math.isfinite(delta) and math.isfinite(chi)):
            status = DIVERGED
            break
        if res < tol:
            status = CONVERGED
            break
    traj = Trajectory(**{k: np.asarray(v, dtype=float) for k, v in rows.items()},
                      residual=np.asarray(residuals, dtype=float))  # fmt: skip
    V = float(traj.V[-1])
    mse = float(traj.mse[-1])
    gen = mse + (model.noise if model.include_noise else 0.0)
    gen += V if model.estimator == "sample" else 0.0
    eq_mse = eq_f = None
    gap = False
    if equilibrium and status == CONVERGED:
        eq = solve_rs(model, throw=False, continuation=(mse, max(b * V, 1e-300)))
        if eq.converged:
            eq_mse, eq_f = eq.mse, eq.free_energy
            # the same fixed point to the accuracy of the two solvers (1e-13 vs 1e-11 in the
            # log variables): mse agrees to ~1e-9 relative; distinct branches differ by far more
            gap = abs(eq_mse - mse) > 1e-6 * max(abs(eq_mse), abs(mse)) + 1e-8
    result = SEResult(
        status=status, n_iter=it, residual=float(residuals[-1]), trajectory=traj, mse=mse,
        m=float(traj.m[-1]), q=float(traj.q[-1]), Q=float(traj.q[-1]) + V, V=V, chi=b * V,
        delta=(mse + model.noise) / a, A=float(traj.A[-1]), D=avg.D,
        gen_error=gen, at=at_from_averages(avg, a), equilibrium_mse=eq_mse,
        equilibrium_free_energy=eq_f, gap=gap,
    )  # fmt: skip
    return finish(
        result, throw, f"state_evolution({model.quantizer.name}, alpha={a:g}, beta={b:g})"
    )
