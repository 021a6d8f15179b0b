"""Exceptions raised by :mod:`replica`.

Invalid *input* raises the built-in :class:`ValueError` (with a message of the form
``"<name>: expected <range>, got <value>"``), so callers can rely on the standard idiom.
Failures of the *method* raise :class:`ReplicaError` subclasses.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["ConvergenceError", "ReplicaError", "available_memory", "check", "check_memory"]


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


def check(condition: bool, name: str, expected: str, value: Any) -> None:
    """Raise ``ValueError("name: expected <expected>, got <value>")`` unless ``condition``."""
    if not condition:
        raise ValueError(f"{name}: expected {expected}, got {value!r}")


def available_memory() -> int | None:
    """Bytes of physical memory currently available (``None`` where the OS does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_AVPHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(nbytes: float, name: str, what: str) -> None:
    """Raise a clear ``ValueError`` before allocating ``nbytes`` for ``what`` when that exceeds
    the available memory (instead of a ``MemoryError`` or the OS killing the process).

    ``name`` names the parameters to reduce, e.g. ``"d, seeds"``.
    """
    avail = available_memory()
    if avail is not None and nbytes > avail:
        raise ValueError(
            f"{name}: expected sizes whose arrays fit in the available memory "
            f"({avail / 2**30:.3g} GiB), got {what} needing {nbytes / 2**30:.3g} GiB"
        )
