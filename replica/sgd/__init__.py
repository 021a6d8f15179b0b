"""Quantized SGD in high-dimensional linear regression (Zhang, Su & Zou 2025).

* :class:`SGDProblem` — the problem (spectrum, target, noise, batch, step or schedule, steps,
  averaging, one noise model per quantization site); :func:`geometric_decay` step schedules;
* :func:`exact_risk` — exact expected risk curve by the O(d)-per-step second-moment recursion
  (:func:`exact_risk_dense` is the O(d²) reference);
* :func:`simulate` — Monte-Carlo quantized SGD (noise models or real INT/FP rounding);
* :func:`bounds` — the paper's bound terms; :func:`quantized_hessian`, :func:`spectral_distortion`.

See the module docstrings of :mod:`replica.sgd.risk` and :mod:`replica.sgd.problem` for the
conventions.
"""

from __future__ import annotations

from .bounds import Bounds, SpectralDistortion, bounds, quantized_hessian, spectral_distortion
from .problem import AVERAGING, SITES, SGDProblem, StepSizeWarning, geometric_decay
from .risk import TESTS, RiskCurve, exact_risk, exact_risk_dense
from .simulate import MonteCarlo, simulate

__all__ = [
    "AVERAGING",
    "SITES",
    "TESTS",
    "Bounds",
    "MonteCarlo",
    "RiskCurve",
    "SGDProblem",
    "SpectralDistortion",
    "StepSizeWarning",
    "bounds",
    "exact_risk",
    "exact_risk_dense",
    "geometric_decay",
    "quantized_hessian",
    "simulate",
    "spectral_distortion",
]
