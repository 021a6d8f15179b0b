"""Exceptions raised by :mod:`replica`.

Invalid *input* raises the built-in :class:`ValueError` (with a message of the form
``"<name>: expected <range>, got <value>"``), so callers can rely on the standard idiom.
Failures of the *method* raise :class:`ReplicaError` subclasses.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = [
    "ArgumentTypeError",
    "CheckpointWarning",
    "ConvergenceError",
    "CorruptFileError",
    "OutputLockedError",
    "ReplicaError",
    "available_memory",
    "check",
    "check_memory",
    "integer",
    "real",
]


class ReplicaError(RuntimeError):
    """Base class for errors raised by a computation of :mod:`replica`."""


class ConvergenceError(ReplicaError):
    """An iterative solver stopped without meeting its tolerance.

    The partial result (with its ``status``, ``n_iter`` and ``residual``) is attached as
    ``.result`` so nothing computed is lost.
    """

    def __init__(self, message: str, result: Any = None):
        super().__init__(message)
        self.result = result


class CorruptFileError(ReplicaError, ValueError):
    """A results or checkpoint file cannot be read, or its data do not match the checksum stored
    with them. The message names the file (``.path``). It is also a :class:`ValueError`: the file
    is the caller's input."""

    def __init__(self, *, path, reason: str):
        self.path = os.fspath(path)
        super().__init__(
            f"{self.path}: expected a results file written by replica, got a damaged file: "
            f"{reason} (remove it to recompute)"
        )


class OutputLockedError(ReplicaError):
    """Another live process holds the lock on the same output (see
    :func:`replica.io.output_lock`)."""


class CheckpointWarning(UserWarning):
    """A checkpoint part was damaged or unreadable and is being recomputed."""


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type (``None``, a string, a bool where a number is expected …).

    Both a :class:`TypeError` (what it is) and a :class:`ValueError` (so the ``except
    ValueError`` idiom for bad input keeps working), like numpy's ``AxisError``.
    """


def check(condition: bool, name: str, expected: str, value: Any) -> None:
    """Raise ``ValueError("name: expected <expected>, got <value>")`` unless ``condition``."""
    if not condition:
        raise ValueError(f"{name}: expected {expected}, got {value!r}")


def _describe(value: Any) -> str:
    text = repr(value)
    text = text if len(text) <= 80 else text[:77] + "..."
    return f"{text} ({type(value).__name__})"


def _scalar(value: Any, name: str, expected: str, kinds: str):
    """``value`` as a numpy scalar of one of the dtype ``kinds`` (0-d arrays unwrapped), else
    :class:`ArgumentTypeError`. bools are never numbers here."""
    import numpy as np

    v = value
    if isinstance(v, np.ndarray) and v.ndim == 0:
        v = v[()]
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ArgumentTypeError(f"{name}: expected {expected}, got {_describe(value)}")
    if isinstance(v, (float, np.floating)) and "f" not in kinds:
        raise ValueError(f"{name}: expected {expected}, got {value!r}")
    return v


def real(value: Any, name: str, expected: str = "a finite number", ok=None) -> float:
    """Validate a real number: Python or numpy ints and floats and 0-d arrays of them (never a
    bool, ``None``, a string …). Returns a Python ``float``.

    ``ok(x)`` is the range condition (default: finite). A value outside it raises
    ``ValueError("name: expected <expected>, got <value>")``; NaN fails every condition written
    as a comparison. The wrong type raises :class:`ArgumentTypeError`.
    """
    import math

    x = float(_scalar(value, name, expected, "if"))
    good = math.isfinite(x) if ok is None else (not math.isnan(x) and ok(x))
    if not good:
        raise ValueError(f"{name}: expected {expected}, got {value!r}")
    return x


def integer(value: Any, name: str, expected: str = "an integer", ok=None) -> int:
    """Validate an integer: Python or numpy ints and 0-d integer arrays (a float such as
    ``100.7`` or ``2.0`` is refused, never truncated). Returns a Python ``int``."""
    n = int(_scalar(value, name, expected, "i"))
    if ok is not None and not ok(n):
        raise ValueError(f"{name}: expected {expected}, got {value!r}")
    return n


def available_memory() -> int | None:
    """Bytes of physical memory currently available (``None`` where the OS does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_AVPHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(nbytes: float, name: str, what: str, available: int | None = None,
                 where: str = "the available memory") -> None:  # fmt: skip
    """Raise a clear ``ValueError`` before allocating ``nbytes`` for ``what`` when that exceeds
    the available memory (instead of a ``MemoryError``, hours of swapping or the OS killing the
    process). The one memory-estimate check of :mod:`replica`: every large allocation is
    estimated by its caller and checked here first.

    ``name`` names the parameters to reduce, e.g. ``"d, seeds"``. ``available`` overrides the
    host's available memory (e.g. a GPU's free memory, described by ``where``).
    """
    avail = available_memory() if available is None else available
    if avail is not None and nbytes > avail:
        raise ValueError(
            f"{name}: expected sizes whose arrays fit in {where} "
            f"({avail / 2**30:.3g} GiB), got {what} needing {nbytes / 2**30:.3g} GiB"
        )
