"""Quantized SGD in high-dimensional linear regression (Zhang, Su & Zou 2025).

* :class:`SGDProblem` — the problem (spectrum, target, noise, batch, step or schedule, steps,
  averaging, one noise model per quantization site); :func:`geometric_decay` step schedules;
* :func:`exact_risk` — exact expected risk curve by the O(d)-per-step second-moment recursion
  (:func:`exact_risk_dense` is the O(d²) reference); :func:`limit_risk` — its N → ∞ limit for
  averaged iterates (the quantization floor);
* :func:`simulate` — Monte-Carlo quantized SGD (noise models or real INT/FP rounding);
* :func:`bounds` — the paper's bound terms; :func:`quantized_hessian`, :func:`spectral_distortion`;
* sketched regression (Zhang et al. 2026): :class:`SketchedProblem`, :func:`sketched_risk`
  (exact, decomposed), :func:`simulate_sketched`; scaling-law fits :func:`fit_power_law`,
  :func:`effective_size`, :func:`compute_optimal`.

See the module docstrings of :mod:`replica.sgd.risk` and :mod:`replica.sgd.problem` for the
conventions.
"""

from __future__ import annotations

from .bounds import Bounds, SpectralDistortion, bounds, quantized_hessian, spectral_distortion
from .problem import AVERAGING, SITES, SGDProblem, StepSizeWarning, geometric_decay
from .risk import TESTS, RiskCurve, exact_risk, exact_risk_dense, limit_risk
from .scaling import PowerLawFit, compute_optimal, effective_size, fit_power_law
from .simulate import MonteCarlo, simulate
from .sketched import (
    SketchedProblem,
    SketchedRisk,
    simulate_sketched,
    sketched_risk,
    sketched_sweep,
)

__all__ = [
    "AVERAGING",
    "SITES",
    "TESTS",
    "Bounds",
    "MonteCarlo",
    "PowerLawFit",
    "RiskCurve",
    "SGDProblem",
    "SketchedProblem",
    "SketchedRisk",
    "SpectralDistortion",
    "StepSizeWarning",
    "bounds",
    "compute_optimal",
    "effective_size",
    "exact_risk",
    "exact_risk_dense",
    "fit_power_law",
    "geometric_decay",
    "limit_risk",
    "quantized_hessian",
    "simulate",
    "simulate_sketched",
    "sketched_risk",
    "sketched_sweep",
    "spectral_distortion",
]
