"""Quantized SGD in high-dimensional linear regression (Zhang, Su & Zou 2025).

* :class:`SGDProblem` — the problem (spectrum, target, noise, batch, step or schedule, steps,
  averaging, one noise model per quantization site); :func:`geometric_decay` step schedules;
* :func:`exact_risk` — exact expected risk curve by the O(d)-per-step second-moment recursion
  (:func:`exact_risk_dense` is the O(d²) reference);

See the module docstrings of :mod:`replica.sgd.risk` and :mod:`replica.sgd.problem` for the
conventions.
"""

from __future__ import annotations

from .problem import AVERAGING, SITES, SGDProblem, StepSizeWarning, geometric_decay
from .risk import TESTS, RiskCurve, exact_risk, exact_risk_dense

__all__ = [
    "AVERAGING",
    "SITES",
    "TESTS",
    "RiskCurve",
    "SGDProblem",
    "StepSizeWarning",
    "exact_risk",
    "exact_risk_dense",
    "geometric_decay",
]
