"""Base class of the frozen result records returned by iterative computations.

Every solver in :mod:`replica` returns a subclass of :class:`Result`: a frozen, keyword-only
dataclass carrying the iterate together with how it was obtained (``status``, ``n_iter``,
``residual``). ``status`` is one of the strings in :data:`STATUSES` or a solver-specific one
documented by that solver.

Results print compactly (:class:`Compact`): ``repr`` shows the status, the scalar numbers and
the shapes of arrays (never their elements), and Jupyter shows the same as an HTML table
(``_repr_html_``). Every dataclass deriving from :class:`Result` or :class:`Compact` gets both
automatically, unless it defines its own ``__repr__``; ``to_dict()``, ``dataclasses.asdict``
and the ``to_dataset()`` methods keep the full content.
"""

from __future__ import annotations

import dataclasses
import html
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ConvergenceError

__all__ = ["CONVERGED", "DIVERGED", "MAX_ITER", "STATUSES", "Compact", "Result", "finish"]

CONVERGED = "converged"
MAX_ITER = "max_iter"
DIVERGED = "diverged"
STATUSES = (CONVERGED, MAX_ITER, DIVERGED)


# ----------------------------------------------------------------------------- compact display
_MAX_ITEMS = 14  # fields shown by repr (the rest are summarised as "+N more")
_MAX_STR = 60
_LEAD = ("status", "n_iter", "residual")
#: names shown first when a result has them (its headline numbers)
_HEADLINE = ("gen_error", "train_error", "mse", "at", "free_energy", "entropy", "value", "width",
             "alpha_c", "risk", "final", "total", "branch")  # fmt: skip


def _is_scalar(v) -> bool:
    return isinstance(v, (bool, int, float, complex, np.number, np.bool_)) or (
        isinstance(v, np.ndarray) and v.ndim == 0
    )


def _fmt_number(v) -> str:
    if isinstance(v, np.ndarray):
        v = v[()]
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (complex, np.complexfloating)):
        return f"{complex(v):.6g}"
    x = float(v)
    return "0" if x == 0.0 else f"{x:.6g}"  # -0.0 prints as 0


def _fmt_value(v) -> str:
    """A short text for one field: numbers to 6 digits, arrays by shape, objects by name."""
    if v is None:
        return "None"
    if _is_scalar(v):
        return _fmt_number(v)
    if isinstance(v, str):
        return repr(v) if len(v) <= _MAX_STR else repr(v[: _MAX_STR - 3] + "...")
    shape = getattr(v, "shape", None)
    if shape is not None and getattr(v, "dtype", None) is not None:  # numpy, cupy, torch
        return f"<{type(v).__name__} {tuple(shape)} {getattr(v.dtype, 'name', v.dtype)}>"
    if isinstance(v, (list, tuple)):
        if len(v) <= 4 and all(_is_scalar(x) for x in v):
            inner = ", ".join(_fmt_number(x) for x in v)
            return f"[{inner}]" if isinstance(v, list) else f"({inner}{',' if len(v) == 1 else ''})"
        return f"<{type(v).__name__} of {len(v)}>"
    if isinstance(v, dict):
        keys = ", ".join(map(str, list(v)[:4])) + (", ..." if len(v) > 4 else "")
        return f"<dict of {len(v)}: {keys}>"
    if isinstance(v, Result):
        return f"<{type(v).__name__} {v.status}>"
    name = getattr(v, "name", None)
    if isinstance(name, str) and len(name) <= _MAX_STR:  # a Quantizer, a grid
        return f"<{type(v).__name__} {name}>"
    text = repr(v)
    return text if len(text) <= _MAX_STR else f"<{type(v).__name__}>"


def _items(obj) -> list[tuple[str, Any]]:
    if dataclasses.is_dataclass(obj):
        names = [f.name for f in dataclasses.fields(obj) if f.repr]
    else:
        names = [k for k in vars(obj) if not k.startswith("_")]
    items = [(n, getattr(obj, n, None)) for n in names]
    # the headline first: status, how it was obtained, the errors and stability (a class may
    # name its own in ``_headline``), then the other numbers, then everything else
    first = (*_LEAD, *getattr(type(obj), "_headline", ()), *_HEADLINE)

    def rank(kv):
        name, v = kv
        if name in first:
            return (0, first.index(name))
        return (1, 0) if _is_scalar(v) else (2, 0)

    items.sort(key=rank)
    return items


def compact_repr(obj) -> str:
    """``Name(status='converged', n_iter=7, ..., x=<ndarray (200,) float64>)``, at most
    ``_MAX_ITEMS`` fields (the rest counted)."""
    items = _items(obj)
    shown = [f"{k}={_fmt_value(v)}" for k, v in items[:_MAX_ITEMS]]
    if len(items) > _MAX_ITEMS:
        shown.append(f"+{len(items) - _MAX_ITEMS} more")
    return f"{type(obj).__name__}({', '.join(shown)})"


def compact_html(obj) -> str:
    """Every field as a two-column HTML table (arrays by shape, numbers to 6 digits)."""
    rows = "".join(
        f"<tr><td style='text-align:left'><code>{html.escape(k)}</code></td>"
        f"<td style='text-align:left'>{html.escape(_fmt_value(v))}</td></tr>"
        for k, v in _items(obj)
    )
    return (f"<table><thead><tr><th colspan='2' style='text-align:left'>"
            f"{html.escape(type(obj).__name__)}</th></tr></thead><tbody>{rows}</tbody></table>")  # fmt: skip


class Compact:
    """Mixin: compact ``__repr__`` and a ``_repr_html_`` table for a result dataclass.

    A subclass gets the compact ``__repr__`` even when it is decorated with ``@dataclass``
    (which would otherwise write a field-by-field one), unless it defines ``__repr__`` itself.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__repr__" not in cls.__dict__:
            # set before @dataclass runs: it keeps a __repr__ found in the class namespace
            cls.__repr__ = Compact.__repr__

    def __repr__(self) -> str:
        return compact_repr(self)

    def _repr_html_(self) -> str:
        return compact_html(self)


@dataclass(frozen=True, kw_only=True)
class Result(Compact):
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
        """Whether ``status == "converged"``."""
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
