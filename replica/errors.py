"""Exceptions raised by :mod:`replica`.

Invalid *input* raises the built-in :class:`ValueError` (with a message of the form
``"<name>: expected <range>, got <value>"``), so callers can rely on the standard idiom.
Failures of the *method* raise :class:`ReplicaError` subclasses.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ConvergenceError", "ReplicaError", "check"]


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
