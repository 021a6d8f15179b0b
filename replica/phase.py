"""Phase diagram of weight-quantized regression over any Cartesian grid of parameters.

:func:`phase_diagram` labels each point RS / RSB / no RS solution (AT < 1 or > 1 at the RS saddle
point) through the sweep (:func:`replica.sweep.run_sweep`), with the boundary curves as
coordinates. The boundaries themselves, located to ``1e-8`` and never read off a grid, live in
:mod:`replica.boundaries` and are re-exported here:

* :func:`at_boundary` — the RS/RSB boundary ``AT = 1`` by Brent's method along one parameter
  (width ω, α, β, σ² or λ);
* :func:`entropy_boundary` — the zero-entropy line of the RS solution (the entropy crisis,
  where RS fails with AT < 1), by the same method;
* :func:`interpolation_threshold` — at β = ∞ and λ = 0 the equilibrium RS branch reaches zero
  training energy at ``α_c`` with ``D(α_c) = α_c`` (the shifted double-descent peak,
  ``α_c < 1`` for any finite grid).

Layering: ``boundaries`` (physics) → ``sweep`` (grids of RS solutions on the sweep engine) →
``phase`` (this module); nothing below imports it.

References
----------
S. Kashiwamura, A. Sakata, M. Imaizumi, "Effect of Weight Quantization on Learning Models by
Typical Case Analysis", arXiv:2401.17269 (ISIT 2024): AT condition (RSB at few bits and large
width) and the shift of the interpolation threshold by quantization.
"""

from __future__ import annotations

from .boundaries import (
    AT_JUMP,
    ENTROPY_JUMP,
    RS_UNSOLVED,
    VARY,
    ATBoundary,
    EntropyBoundary,
    InterpolationThreshold,
    at_boundary,
    entropy_boundary,
    interpolation_threshold,
    with_parameter,
    with_width,
)
from .regression import QuantizedRegression
from .sweep import run_sweep

__all__ = [
    "AT_JUMP",
    "ENTROPY_JUMP",
    "RS_UNSOLVED",
    "VARY",
    "ATBoundary",
    "EntropyBoundary",
    "InterpolationThreshold",
    "at_boundary",
    "entropy_boundary",
    "interpolation_threshold",
    "phase_diagram",
    "with_parameter",
    "with_width",
]


def phase_diagram(model: QuantizedRegression, *, along=None, executor=None, path=None,
                  progress=True, max_workers=None, **grid):  # fmt: skip
    """RS / RSB phase diagram over any Cartesian grid of parameters.

    A thin front end of :func:`replica.sweep.run_sweep`: ``grid`` maps parameter names
    (``bits``, ``width``, ``alpha``, ``beta``, ``noise``, ``ridge``, ``grid`` — the grid family)
    to 1-D sequences of values; the other parameters are those of ``model``. ``executor``
    and ``max_workers`` as in :func:`~replica.sweep.run_sweep`: by default serial for small
    diagrams and a reused process pool for large ones (a script without an
    ``if __name__ == "__main__":`` guard runs serially, with one warning).

    Returns
    -------
    xarray.Dataset
        ``gen_error``, ``train_error``, ``at``, ``entropy``, ``phase`` ("RS", "RSB" (AT ≥ 1),
        "entropy crisis" (AT < 1 but entropy < 0), "no RS solution", "unconverged"),
        ``status``, ``residual`` … per point (the equilibrium RS branch of
        :func:`~replica.solve_rs`, per point); the AT line along the
        continuation axis (``at_boundary_<axis>``) and, when the grid contains β = ∞ and λ = 0,
        the interpolation threshold ``alpha_c`` and the upper end ``alpha_max`` of the RS range
        of the ground state (``inf`` unless the design has zero eigenvalues) as coordinates.

    Examples
    --------
    >>> import numpy as np
    >>> from replica import Quantizer
    >>> from replica.regression import QuantizedRegression
    >>> m = QuantizedRegression(quantizer=Quantizer.uniform(1, 1.0), alpha=2, beta=5, noise=0.1)
    >>> ds = phase_diagram(m, bits=[1, 2], width=np.linspace(0.5, 3, 6), executor="serial",
    ...                    progress=False)
    >>> ds.phase.sel(bits=1).values.tolist()
    ['RS', 'RSB', 'RSB', 'RSB', 'RSB', 'RSB']
    """
    return run_sweep(model, grid, along=along, executor=executor, path=path, progress=progress,
                     max_workers=max_workers)  # fmt: skip
