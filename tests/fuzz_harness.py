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
import os
import re
from collections import Counter

import numpy as np
from hypothesis import strategies as st

COUNTS: dict[str, Counter] = {}

#: the slow campaign (tests/test_fuzz.py::test_fuzz_campaign) sets this profile in a subprocess
FUZZ = os.environ.get("REPLICA_HYPOTHESIS_PROFILE") == "fuzz"
#: fraction of the full 10⁴-case campaign to run (0.1 in CI; 1 by hand)
SCALE = float(os.environ.get("REPLICA_FUZZ_SCALE", "0.1"))


def n_examples(default: int, campaign: int) -> int:
    """Examples per target: ``default`` in the normal suite, ``campaign·SCALE`` in the campaign.
    The ``campaign`` numbers of all targets add up to ≥ 10⁴."""
    return max(1, round(campaign * SCALE)) if FUZZ else default


def maybe_bad(valid, bad):
    """Mostly ``valid`` draws, 1 in 12 from ``bad`` (one_of() would deduplicate equal branches
    and draw the invalid branch half of the time)."""
    return st.integers(0, 11).flatmap(lambda i: bad if i == 0 else valid)


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
