"""Monte Carlo on the Gibbs measure of weight-quantized regression: the equilibrium validator.

The replica theory (:func:`replica.solve_rs`, :func:`replica.solve_1rsb`) describes the Gibbs
measure

    P(w) ∝ exp(−β[½‖y − Xw‖² + ½λ‖w‖²]),   w ∈ Q^N,

at equilibrium. AMP reaches one TAP state, which is the equilibrium only where RS is stable; this
subpackage samples the measure itself, so it checks the theory where AMP cannot:

* :func:`enumerate`: the exact measure by enumerating all ``K^N`` configurations (tiny ``N``),
  the finite-``N`` reference for the sampler on the same instance;
* :func:`sample`: single-site heat-bath sweeps with parallel tempering over a β ladder and
  several independent replicas (overlaps measured between replicas), free entropy by
  thermodynamic integration, standard errors and equilibration diagnostics;
* :func:`experiment`: ensembles of instances over sizes and seeds, extrapolated in ``1/N`` and
  compared with the RS prediction, with checkpoint/resume.

Imports are lazy: ``from replica import mc`` loads nothing heavy.
"""

from __future__ import annotations

import importlib

__all__ = ["EnumerationResult", "MCResult", "enumerate", "experiment", "ladder", "sample"]

_LAZY = {
    "enumerate": "exact",
    "EnumerationResult": "exact",
    "sample": "sampler",
    "MCResult": "sampler",
    "ladder": "sampler",
    "experiment": "ensemble",
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'replica.mc' has no attribute {name!r}")


def __dir__():
    return sorted(set(__all__))
