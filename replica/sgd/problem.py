"""The quantized-SGD linear-regression problem (Zhang, Su & Zou 2025).

:class:`SGDProblem` holds everything that defines the algorithm and its data: the diagonal data
covariance ``H = diag(spectrum)``, the target ``w*``, the label-noise variance ``σ²``, the batch
size ``B``, the step size (a constant or a per-step schedule), the number of steps ``N``, the
output (last iterate, iterate average or tail average) and one noise model per quantization site.

The quantized update (card, "Quantized update") is ::

    w_t = w_{t-1} + (γ_t/B) Q_d(X_t)ᵀ Q_o( Q_l(y_t) − Q_a( Q_d(X_t) Q_p(w_{t-1}) ) )

with ``X_t`` the ``B × d`` batch (rows ``x ~ N(0, H)``), ``y_t = X_t w* + ξ``, ``ξ ~ N(0, σ² I)``.
The sites are ``"data"`` (Q_d, acts on each row of ``X``), ``"labels"`` (Q_l, on the B labels),
``"params"`` (Q_p, on ``w``; a full-precision master copy is kept), ``"activations"`` (Q_a, on the
B pre-outputs) and ``"gradients"`` (Q_o, on the B residuals). The vector axis of a quantizer is
the sample axis for the three B-vectors: a rank-one :class:`~replica.noise.Multiplicative` error
on labels/activations/gradients is one relative error shared by the whole batch (no ``1/B``
averaging), ``mode="coordinate"`` draws one per sample.

References
----------
D. Zhang, J. Su, D. Zou, "Learning under Quantization for High-Dimensional Linear Regression",
arXiv:2510.18259 (2025), Sec. 2 (setting, quantized update, noise models).
"""

from __future__ import annotations

import math
import types
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..errors import check
from ..noise import Additive, FloatRounding, IntRounding, Multiplicative
from ..results import Compact

__all__ = ["AVERAGING", "SITES", "SGDProblem", "StepSizeWarning", "geometric_decay"]

SITES = ("data", "labels", "params", "activations", "gradients")
AVERAGING = ("iterate", "last", "tail")
_NOISE_TYPES = (Additive, Multiplicative, IntRounding, FloatRounding)


class StepSizeWarning(UserWarning):
    """The step size violates the bound's condition ``γ < 1/(α_B tr H^(q))``."""


@dataclass(frozen=True)
class SiteNoise:
    """Second-moment description of one site: additive ``eps_add``, multiplicative ``eps_mult``
    (exactly one of them may be non-zero) and whether the multiplicative error is rank-one."""

    eps_add: float = 0.0
    eps_mult: float = 0.0
    rank_one: bool = False


def _site_noise(q) -> SiteNoise:
    if q is None:
        return SiteNoise()
    model = q.noise_model() if isinstance(q, (IntRounding, FloatRounding)) else q
    if isinstance(model, Additive):
        return SiteNoise(eps_add=model.eps)
    return SiteNoise(eps_mult=model.eps, rank_one=model.mode == "rank_one")


def _positive_number(v) -> bool:
    ok = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
    return ok and math.isfinite(v) and v > 0


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def geometric_decay(step: float, steps: int, block: int) -> np.ndarray:
    """Step schedule ``γ_t = step / 2^ℓ`` on the ℓ-th block of ``block`` consecutive steps.

    Parameters
    ----------
    step : float
        Initial step ``γ > 0``.
    steps : int
        Total number of steps ``N``.
    block : int
        Block length (e.g. ``N / log N`` for the decay of Lin et al. 2024).

    Returns
    -------
    ndarray, shape (steps,)
        ``γ_t`` for the updates ``t = 1, …, N``; usable as ``SGDProblem(step=...)``.

    Examples
    --------
    >>> geometric_decay(1.0, 5, 2).tolist()
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """
    check(_positive_number(step), "step", "a finite number > 0", step)
    check(_is_int(steps) and steps >= 1, "steps", "an integer >= 1", steps)
    check(_is_int(block) and block >= 1, "block", "an integer >= 1", block)
    return float(step) * 0.5 ** (np.arange(int(steps)) // int(block))


@dataclass(frozen=True, kw_only=True)
class SGDProblem(Compact):
    """One-pass minibatch SGD on Gaussian linear regression with quantization.

    Parameters
    ----------
    spectrum : array_like, shape (d,)
        Eigenvalues ``λ_i > 0`` of the diagonal data covariance ``H`` (any order). Use
        :meth:`power_law` for ``λ_i = i^{−a}``.
    w_star : float or array_like, shape (d,)
        Target ``w*`` (a scalar is broadcast). Default: all ones (the paper's experiments).
    noise : float
        Label-noise variance ``σ² ≥ 0``.
    batch : int
        Batch size ``B ≥ 1``.
    step : float or array_like, shape (N,)
        Constant step ``γ`` or the schedule ``γ_1, …, γ_N`` (see :func:`geometric_decay`).
    steps : int, optional
        Number of updates ``N``; required for a constant step, and must equal ``len(step)``
        when given with a schedule.
    averaging : {"iterate", "last", "tail"}
        Output after ``n`` steps: ``"last"`` → ``w_n``; ``"iterate"`` →
        ``(1/n) Σ_{t=0}^{n−1} w_t`` (the card's ``w̄_n``, Zou et al. 2021); ``"tail"`` →
        ``(1/(n−s)) Σ_{t=s}^{n−1} w_t`` with ``s = tail_start`` (for ``n ≤ s`` the window
        degenerates to the single iterate ``w_{n−1}``).
    tail_start : int, optional
        Start ``s`` of the tail average (default ``N // 2``); only with ``averaging="tail"``.
    quantization : mapping, optional
        ``{site: model}`` with site in ``SITES`` and model an :class:`~replica.noise.Additive`,
        :class:`~replica.noise.Multiplicative`, :class:`~replica.noise.IntRounding` or
        :class:`~replica.noise.FloatRounding` (real rounders enter the exact theory through their
        :meth:`~replica.noise.IntRounding.noise_model`); absent sites (or ``None``) are full precision.
    w0 : float or array_like, shape (d,)
        Initial iterate (default 0).

    Raises
    ------
    ValueError
        On any invalid input, or when ``γ_t λ_max(H^(q)) ≥ 2`` (the mean iterate diverges).

    Warns
    -----
    StepSizeWarning
        When ``max_t γ_t ≥ 1/(α_B tr H^(q))``, the condition of the paper's bound (the exact
        recursion is still computed and reports divergence honestly).

    References
    ----------
    D. Zhang, J. Su, D. Zou, arXiv:2510.18259 (2025), Sec. 2 and the step-size condition of their
    main theorem; D. Zou et al., "Benign overfitting of constant-stepsize SGD for linear
    regression", COLT 2021, Thm. 2.1 (``γ < 1/(α tr H)``).
    """

    spectrum: np.ndarray
    w_star: np.ndarray | float = 1.0
    noise: float = 1.0
    batch: int = 1
    step: float | np.ndarray = 0.1
    steps: int | None = None
    averaging: str = "iterate"
    tail_start: int | None = None
    quantization: Mapping = field(default_factory=dict)
    w0: np.ndarray | float = 0.0

    def __post_init__(self):
        set_ = object.__setattr__
        lam = np.asarray(self.spectrum, dtype=float)
        check(
            lam.ndim == 1 and lam.size >= 1 and np.all(np.isfinite(lam)) and np.all(lam > 0),
            "spectrum",
            "a non-empty 1-d array of finite numbers > 0",
            self.spectrum,
        )
        d = lam.size
        lam = lam.copy()
        lam.flags.writeable = False
        set_(self, "spectrum", lam)
        for name in ("w_star", "w0"):
            v = np.asarray(getattr(self, name), dtype=float)
            ok = v.ndim == 0 or v.shape == (d,)
            check(ok and np.all(np.isfinite(v)), name, f"a finite scalar or shape ({d},)", v)
            v = np.broadcast_to(v, (d,)).copy()
            v.flags.writeable = False
            set_(self, name, v)
        s2 = self.noise
        ok = isinstance(s2, (int, float, np.integer, np.floating)) and not isinstance(s2, bool)
        check(ok and math.isfinite(s2) and s2 >= 0, "noise", "a finite number >= 0", s2)
        set_(self, "noise", float(s2))
        check(_is_int(self.batch) and self.batch >= 1, "batch", "an integer >= 1", self.batch)
        set_(self, "batch", int(self.batch))

        if np.ndim(self.step) == 0:
            check(_positive_number(self.step), "step", "a finite number > 0", self.step)
            check(
                _is_int(self.steps) and self.steps >= 1,
                "steps",
                "an integer >= 1 (required with a constant step)",
                self.steps,
            )
            set_(self, "step", float(self.step))
        else:
            g = np.asarray(self.step, dtype=float)
            check(
                g.ndim == 1 and g.size >= 1 and np.all(np.isfinite(g)) and np.all(g > 0),
                "step",
                "a finite number > 0 or a 1-d schedule of them",
                self.step,
            )
            if self.steps is None:
                set_(self, "steps", int(g.size))
            check(
                _is_int(self.steps) and self.steps == g.size,
                "steps",
                f"None or len(step) = {g.size}",
                self.steps,
            )
            g = g.copy()
            g.flags.writeable = False
            set_(self, "step", g)
        set_(self, "steps", int(self.steps))
        n = self.steps

        check(self.averaging in AVERAGING, "averaging", f"one of {AVERAGING}", self.averaging)
        if self.averaging == "tail":
            s = n // 2 if self.tail_start is None else self.tail_start
            check(_is_int(s) and 0 <= s < n, "tail_start", f"an integer in [0, {n})", s)
            set_(self, "tail_start", int(s))
        else:
            check(
                self.tail_start is None,
                "tail_start",
                "None unless averaging='tail'",
                self.tail_start,
            )

        q = self.quantization
        check(isinstance(q, Mapping), "quantization", "a mapping {site: noise model}", q)
        bad = [k for k in q if k not in SITES]
        check(not bad, "quantization", f"keys from {SITES}", bad)
        for k, v in q.items():
            check(
                v is None or isinstance(v, _NOISE_TYPES),
                f"quantization[{k!r}]",
                "None, Additive, Multiplicative, IntRounding or FloatRounding",
                v,
            )
        set_(
            self,
            "quantization",
            types.MappingProxyType({k: v for k, v in q.items() if v is not None}),
        )

        # not via step_array: a constant step must not allocate N numbers (N may be huge)
        gmax = float(self.step) if np.ndim(self.step) == 0 else float(np.max(self.step))
        hq_max = float(np.max(self.hessian_q))
        check(
            gmax * hq_max < 2.0,
            "step",
            f"max γ_t < 2/λ_max(H^(q)) = {2.0 / hq_max:.6g} (otherwise the mean iterate diverges)",
            gmax,
        )
        limit = 1.0 / (self.alpha_b * float(np.sum(self.hessian_q)))
        if gmax >= limit:
            warnings.warn(
                f"step: max γ_t = {gmax:.6g} violates the bound's condition γ < 1/(α_B tr H^(q)) "
                f"= {limit:.6g}; the bounds do not apply (exact_risk may report divergence)",
                StepSizeWarning,
                stacklevel=3,
            )

    # ------------------------------------------------------------------ constructors
    @classmethod
    def power_law(cls, dim: int, exponent: float = 2.0, **kwargs) -> SGDProblem:
        """Problem with ``λ_i = i^{−a}``, ``i = 1, …, dim`` (the paper uses ``a = 2``).

        Examples
        --------
        >>> SGDProblem.power_law(3, 2.0, step=0.1, steps=10).spectrum.tolist()
        [1.0, 0.25, 0.1111111111111111]
        """
        check(_is_int(dim) and dim >= 1, "dim", "an integer >= 1", dim)
        check(_positive_number(exponent), "exponent", "a finite number > 0", exponent)
        return cls(spectrum=np.arange(1, int(dim) + 1, dtype=float) ** (-float(exponent)), **kwargs)

    # ------------------------------------------------------------------ derived quantities
    @property
    def dim(self) -> int:
        """Dimension d (length of the spectrum)."""
        return int(self.spectrum.size)

    @property
    def step_array(self) -> np.ndarray:
        """Step sizes ``γ_1, …, γ_N`` as an array of length ``N``."""
        if np.ndim(self.step) == 0:
            return np.full(self.steps, self.step)
        return np.asarray(self.step)

    def site(self, name: str) -> SiteNoise:
        """Second-moment description of a quantization site (zeros when full precision)."""
        check(name in SITES, "site", f"one of {SITES}", name)
        return _site_noise(self.quantization.get(name))

    @property
    def hessian_q(self) -> np.ndarray:
        """Diagonal of ``H^(q) = E[Q_d(x) Q_d(x)ᵀ]``: ``λ + ε_d`` (additive), ``(1 + ε_d) λ``
        (multiplicative, both modes)."""
        s = self.site("data")
        return self.spectrum * (1.0 + s.eps_mult) + s.eps_add

    @property
    def w_q_star(self) -> np.ndarray:
        """Quantized target ``w^(q)* = (H^(q))^{−1} H w*``, the fixed point of the mean update."""
        return self.spectrum * self.w_star / self.hessian_q

    @property
    def alpha_b(self) -> float:
        """Fourth-moment constant ``α_B`` of the quantized update (see :func:`fourth_moment_terms`):
        ``E[Ĝ A Ĝᵀ] ≼ α_B tr(H^(q) A) H^(q)`` for PSD ``A``; ``3/B + (1 − 1/B) = 1 + 2/B`` at
        full precision (the card's ``1 + α/B`` with ``α = 3`` is looser)."""
        return float(sum(c for _, c in fourth_moment_terms(self)))


def fourth_moment_terms(p: SGDProblem) -> list[tuple[str, float]]:
    """Term-by-term constants whose sum ``α_B`` bounds the quadratic part of ``E[g gᵀ | η]``.

    With ``g = −Ĝ η + ζ`` the stochastic gradient at ``w = w^(q)* + η``, the quadratic part is

        Q(A) = f_M T3(A + Σ_p(A)) + f_K H^(q)(A + Σ_p(A))H^(q),
        f_M = κ'_o (1 + ε_a^m)/B,   f_K = (1 − 1/B) κ_o κ_a,

    with ``T3(W) = E[x̃x̃ᵀ x̃ᵀW x̃]`` of the quantized data and ``Σ_p`` the parameter-error
    covariance. Each term is bounded by Cauchy–Schwarz: ``DAD ≼ max(D/h^q)² tr(H^qA)H^q``,
    ``tr(D₂A)D₃ ≼ max(D₂/h^q)max(D₃/h^q) tr(H^qA)H^q`` and
    ``Diag(d ∘ diag A) ≼ max(d/(h^q)²) tr(H^qA)H^q``.

    Returns
    -------
    list of (name, constant)
    """
    h, hq = p.spectrum, p.hessian_q
    B = p.batch
    sd, _, sp, sa, so = (p.site(k) for k in SITES)
    kap_o = 1.0 + (so.eps_mult if so.rank_one else 0.0)
    kap_a = 1.0 + (sa.eps_mult if sa.rank_one else 0.0)
    f_m = (1.0 + so.eps_mult) * (1.0 + sa.eps_mult) / B
    f_k = (1.0 - 1.0 / B) * kap_o * kap_a

    def sand(dd):
        return float(np.max(dd / hq) ** 2)

    def trace(d2, d3):
        return float(np.max(d2 / hq) * np.max(d3 / hq))

    def diag(d4):
        return float(np.max(d4 / hq**2))

    e = sd.eps_mult
    if sd.eps_add > 0:
        t_a, dmat, t_b = 1.0, hq, 0.0
    elif e > 0 and sd.rank_one:
        t_a, dmat, t_b = 1.0 + 6 * e + 3 * e * e, h, 0.0
    elif e > 0:
        t_a, dmat, t_b = (1.0 + e) ** 2, h, 12 * e + 6 * e * e
    else:
        t_a, dmat, t_b = 1.0, h, 0.0
    # T3(A) = t_a (2 D A D + tr(DA) D) + t_b Diag(h² ∘ diag A)
    t3_a = 2 * t_a * sand(dmat) + t_a * trace(dmat, dmat) + t_b * diag(h**2)
    k_a = sand(hq)
    terms = []
    # Σ_p(A) = ε_p A (rank-one), ε_p Diag(A) (coordinate), 0 (additive: goes to the noise)
    grow = 1.0 + (sp.eps_mult if sp.rank_one else 0.0)
    terms.append(("data fourth moment (per sample)", f_m * grow * t3_a))
    terms.append(("batch mean", f_k * grow * k_a))
    if sp.eps_mult > 0 and not sp.rank_one:
        t3_diag = 2 * t_a * diag(dmat**2) + t_a * trace(dmat, dmat) + t_b * diag(h**2)
        terms.append(("coordinate parameter error (per sample)", f_m * sp.eps_mult * t3_diag))
        terms.append(("coordinate parameter error (batch mean)", f_k * sp.eps_mult * diag(hq**2)))
    return terms
