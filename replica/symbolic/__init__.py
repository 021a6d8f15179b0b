"""Symbolic (sympy) derivations: the only part of :mod:`replica` that imports sympy.

Submodules are imported on first access (``replica.symbolic.regression``, ...), so importing
this package is cheap. :func:`latex` renders any derived object for notebooks.
"""

from __future__ import annotations

import importlib

__all__ = ["latex", "register_latex_names"]

_SUBMODULES = ("regression", "rsb", "ste", "tap", "designs")

# sympy symbols whose LaTeX form is not derivable from their name (e.g. ``sigma2`` -> σ²);
# submodules register theirs with :func:`register_latex_names`
_LATEX_NAMES: dict = {}


def register_latex_names(names: dict) -> None:
    """Register ``{symbol: latex_string}`` overrides used by :func:`latex`."""
    _LATEX_NAMES.update(names)


def latex(obj) -> str:
    """LaTeX for a derived object: a sympy expression or equation, a mapping of named
    expressions (rendered as an ``aligned`` block, one ``name = value`` per row), a sequence,
    or any object with a ``rows()`` method returning such a mapping."""
    import sympy as sp

    def one(x):
        if isinstance(x, str):
            return x
        return sp.latex(x, symbol_names=_LATEX_NAMES)

    if hasattr(obj, "rows"):
        obj = obj.rows()
    if isinstance(obj, dict):
        lines = [rf"{one(k)} &= {one(v)}" for k, v in obj.items()]
        return r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}"
    if isinstance(obj, (list, tuple)):
        return r"\begin{aligned}" + r" \\ ".join(f"&{one(v)}" for v in obj) + r"\end{aligned}"
    return one(obj)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'replica.symbolic' has no attribute {name!r}")


def __dir__():
    return sorted(set(__all__) | set(_SUBMODULES))
