"""The grid prior of the scalar denoiser shared by AMP and its state evolution.

AMP and state evolution both apply the posterior mean and variance of the scalar channel
``r = w + z/√A`` with ``w`` on the quantizer's grid and log prior ``−βλq²/2``
(:func:`replica.channel.grid_posterior`, the same function the replica averages use). At zero
precision ``A = 0`` the channel carries no information and the denoiser returns the moments of
the prior itself,

    ŵ_0 = Σ_k p_k c_k,   v_0 = Σ_k p_k (c_k − ŵ_0)²,   p_k ∝ exp(log_prior_k),

which is the common initialisation of both iterations (:func:`prior_moments`).

References
----------
S. Kashiwamura, A. Sakata, M. Imaizumi, arXiv:2401.17269 (ISIT 2024), paper card "AMP
(finite-size validator)": AMP and state evolution started from the grid prior.
"""

from __future__ import annotations

import numpy as np

__all__ = ["prior_moments"]


def prior_moments(levels, log_prior=None) -> tuple[float, float]:
    """Mean and variance of the grid prior ``∝ exp(log_prior)`` (uniform by default): AMP's
    and state evolution's initial ``ŵ`` and ``v``."""
    levels = np.asarray(levels, dtype=float)
    lp = np.zeros(levels.size) if log_prior is None else np.asarray(log_prior, dtype=float)
    p = np.exp(lp - lp.max())
    p /= p.sum()
    mean = float(p @ levels)
    return mean, float(p @ (levels - mean) ** 2)
