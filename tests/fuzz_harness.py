"""Shared machinery of the property-based fuzz tests (issue: hardening).

Every public constructor/solver call made by a fuzz target must end in exactly one of:

* ``raised``    — a ``ValueError`` whose message names the parameter ("<name>: expected …, got …");
* ``converged`` — a result with ``status == "converged"``, ``residual`` below its tolerance and
  every numeric field finite (documented infinities excepted, e.g. ``at`` at β = ∞);
* ``flagged``   — a result whose ``status`` says it did not converge (its fields still carry no
  NaN).

Anything else (another exception type, a silent NaN, a "converged" result with a large residual)
fails the test. Outcome counts are accumulated in :data:`COUNTS` and printed at the end of the
session by ``conftest.py``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter

import numpy as np

COUNTS: dict[str, Counter] = {}

_MESSAGE = re.compile(r"^[\w\-\[\]./ ,'()]+: expected .+, got .+", re.S)


def _numeric_fields(result):
    if dataclasses.is_dataclass(result):
        for f in dataclasses.fields(result):
            yield f.name, getattr(result, f.name)
    elif isinstance(result, dict):
        yield from result.items()


def _bad_values(value) -> tuple[bool, bool]:
    """(has_nan, has_inf) of a number or array-like (other types: (False, False))."""
    if isinstance(value, (bool, str)) or value is None:
        return False, False
    if isinstance(value, (int, float, np.number)):
        v = float(value)
        return math.isnan(v), math.isinf(v)
    if isinstance(value, np.ndarray) and value.dtype.kind in "fc":
        return bool(np.isnan(value).any()), bool(np.isinf(value).any())
    return False, False


def classify(target: str, call, *, tol: float | None = None, allow_inf=()) -> str:
    """Run ``call()`` and classify the outcome (see module docstring); record it in COUNTS."""
    counter = COUNTS.setdefault(target, Counter())
    try:
        result = call()
    except ValueError as exc:
        assert _MESSAGE.match(str(exc)), f"{target}: unclear ValueError message {exc!s:.200}"
        counter["raised"] += 1
        return "raised"
    status = getattr(result, "status", "converged")
    for name, value in _numeric_fields(result):
        nan, inf = _bad_values(value)
        assert not nan, f"{target}: field {name} is NaN (status {status})"
        if status == "converged":
            assert not inf or name in allow_inf, f"{target}: field {name} is inf"
    if status == "converged":
        if tol is not None:
            assert result.residual <= tol, f"{target}: converged with residual {result.residual}"
        counter["converged"] += 1
        return "converged"
    counter["flagged"] += 1
    return "flagged"
