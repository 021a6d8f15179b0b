"""Base class of the frozen result records returned by iterative computations.

Every solver in :mod:`replica` returns a subclass of :class:`Result`: a frozen, keyword-only
dataclass carrying the iterate together with how it was obtained (``status``, ``n_iter``,
``residual``). ``status`` is one of the strings in :data:`STATUSES` or a solver-specific one
documented by that solver.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from .errors import ConvergenceError

__all__ = ["CONVERGED", "DIVERGED", "MAX_ITER", "STATUSES", "Result", "finish"]

CONVERGED = "converged"
MAX_ITER = "max_iter"
DIVERGED = "diverged"
STATUSES = (CONVERGED, MAX_ITER, DIVERGED)


@dataclass(frozen=True, kw_only=True)
class Result:
    """Outcome of an iterative computation.

    Attributes
    ----------
    status : str
        ``"converged"`` when the stopping criterion was met; otherwise why it stopped.
    n_iter : int
        Iterations (or function evaluations) used.
    residual : float
        Final value of the stopping criterion (``inf`` when it could not be evaluated).
    """

    status: str
    n_iter: int
    residual: float

    @property
    def converged(self) -> bool:
        return self.status == CONVERGED

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict view (numbers and strings only) for tidy output files."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, (int, float, str, bool)) or v is None:
                out[f.name] = v
        return out


def finish(result: Result, throw: bool, what: str) -> Result:
    """Return ``result``, or raise :class:`ConvergenceError` carrying it when ``throw`` is set
    and it did not converge."""
    if throw and not result.converged:
        res = result.residual
        res_s = f"{res:.3g}" if math.isfinite(res) else str(res)
        raise ConvergenceError(
            f"{what} did not converge: status={result.status!r} after {result.n_iter} "
            f"iterations, residual {res_s}",
            result,
        )
    return result
