"""replica: statistical-physics theory of learning under quantization.

Public API (see README.md for a tour):

* input designs (:mod:`replica.designs`): :class:`GaussianDesign` (default),
  :class:`CovarianceDesign`, :class:`SpectralDesign`; the RS theory for them is
  :mod:`replica.structured` (``solve_rs`` dispatches on ``model.design``);
* quantizers and noise models: :class:`Quantizer`, :class:`Additive`, :class:`Multiplicative`,
  :class:`IntRounding`, :class:`FloatRounding`;
* Gaussian expectations: :mod:`replica.gauss`;
* errors and results: :class:`ReplicaError`, :class:`ConvergenceError`, :class:`Result`.

Subpackages (imported on first access, so ``import replica`` stays light and never imports sympy
or a GPU library): ``replica.symbolic``, ``replica.dynamics``, ``replica.sgd``, ``replica.amp``,
``replica.mc`` (Monte Carlo and exact enumeration of the Gibbs measure).

Notebooks: one per theory, in ``notebooks/`` (jupytext percent format); the HTML reference lists
them on [notebooks.html](notebooks.html) (``python -m replica._apidoc`` builds it).
"""

from __future__ import annotations

import importlib

from . import gauss
from ._version import __version__
from .designs import CovarianceDesign, GaussianDesign, SpectralDesign
from .errors import ConvergenceError, ReplicaError
from .noise import Additive, FloatRounding, IntRounding, Multiplicative
from .quantizers import GaussianMoments, Quantizer
from .regression import QuantizedRegression, RSSolution, solve_rs, solve_rs_all
from .results import Result
from .teachers import DiscreteTeacher, GaussianMixtureTeacher, GaussianTeacher

_SUBPACKAGES = (
    "symbolic", "dynamics", "sgd", "amp", "bench", "io", "phase", "optimize", "sweep", "rsb",
    "mc", "tap", "designs", "structured",
)  # fmt: skip

# functions imported on first access (they pull in scipy.optimize, dask hooks, …)
_LAZY = {
    "at_boundary": "phase",
    "entropy_boundary": "phase",
    "interpolation_threshold": "phase",
    "phase_diagram": "phase",
    "optimal_width": "optimize",
    "optimal_levels": "optimize",
    "compare_grids": "optimize",
    "run_sweep": "sweep",
    "solve_1rsb": "rsb",
    "solve_frozen_1rsb": "rsb",
    "RSBSolution": "rsb",
    "solve_tap": "tap",
    "TAPSolution": "tap",
}

__all__ = [
    "Additive",
    "ConvergenceError",
    "CovarianceDesign",
    "DiscreteTeacher",
    "FloatRounding",
    "GaussianDesign",
    "GaussianMixtureTeacher",
    "GaussianMoments",
    "GaussianTeacher",
    "IntRounding",
    "Multiplicative",
    "QuantizedRegression",
    "Quantizer",
    "RSBSolution",
    "RSSolution",
    "ReplicaError",
    "Result",
    "SpectralDesign",
    "TAPSolution",
    "__version__",
    "at_boundary",
    "compare_grids",
    "entropy_boundary",
    "gauss",
    "interpolation_threshold",
    "optimal_levels",
    "optimal_width",
    "phase_diagram",
    "run_sweep",
    "solve_1rsb",
    "solve_frozen_1rsb",
    "solve_rs",
    "solve_rs_all",
    "solve_tap",
]


def __getattr__(name):
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'replica' has no attribute {name!r}")


def __dir__():
    return sorted(set(__all__) | set(_SUBPACKAGES) | set(_LAZY))
