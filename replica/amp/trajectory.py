"""The per-iteration record of order parameters shared by AMP and its state evolution.

AMP (:func:`replica.amp.run`) measures ``mse_t = ‖w⁰ − ŵ_t‖²/N``, ``m_t = w⁰·ŵ_t/N``,
``q_t = ‖ŵ_t‖²/N``, ``V_t`` and ``A_t`` on one instance; state evolution
(:func:`replica.amp.state_evolution`) predicts the same quantities as averages over the scalar
channel. Both return them as a :class:`Trajectory`, so that the two can be compared entry by
entry; this module sits below both.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Trajectory"]


class Trajectory(NamedTuple):
    """Per-iteration order parameters, shared by AMP and state evolution.

    Entry ``t`` describes the state after ``t`` iterations (``t = 0``: the initialisation):
    ``mse_t = ‖w⁰ − ŵ_t‖²/N``, ``m_t = w⁰·ŵ_t/N``, ``q_t = ‖ŵ_t‖²/N``, ``V_t = mean(v_t)`` and
    ``A_t`` the (mean) precision computed from that state, the one used in the next update. For
    state evolution these are the corresponding averages. ``residual[t]`` is the size of update
    ``t + 1`` (one entry fewer than the others).
    """

    mse: np.ndarray
    m: np.ndarray
    q: np.ndarray
    V: np.ndarray
    A: np.ndarray
    residual: np.ndarray
