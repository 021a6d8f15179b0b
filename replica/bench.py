"""Benchmarks, run by ``replica bench``: each compares a method with what a user would otherwise
run, side by side in one process, and reports the ratio against a target.

Rules every benchmark follows:

* **fair baselines** — the baseline is the tool a user would reach for: an adaptive-quadrature
  (``scipy.integrate.quad``) state evolution and the undamped Picard iteration for the RS
  saddle point, two bare mat-vecs for one AMP iteration, Monte Carlo at equal statistical
  precision for the exact SGD risk, the finite-d simulation at equal error for the STE ODE,
  rounding plus clipping for a uniform quantizer;
* **interleaved timing** — the sides are timed in alternating order (A B, B A, A B …) over
  several rounds, so that drifts of the machine hit both; the ratio is the ratio of the median
  times, and the spread is the min–max of the per-round ratios;
* **accuracy first** — both sides are checked to reach the accuracy the line states; a
  measurement that is fast but wrong is a miss;
* **exit status** — ``replica bench`` exits 1 when any ratio misses its target (or any
  accuracy check fails), 0 otherwise. ``--target-scale S`` makes every target S times harder
  (a forced miss for testing the exit path).

A benchmark is a function ``(quick: bool) -> list[Measurement]`` registered in
:data:`BENCHMARKS` by name. Absolute times are printed for context only; the ratio is the
result. Speed is never asserted in the test suite.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .results import Compact

__all__ = ["BENCHMARKS", "Measurement", "best_time", "interleaved", "run"]


@dataclass(frozen=True, kw_only=True)
class Measurement(Compact):
    """One ratio with its spread, its target and the accuracy check behind it.

    Attributes
    ----------
    name : str
        What was compared (``"method / baseline"`` or ``"baseline / method"``).
    ratio : float
        Ratio of the median times.
    spread : (float, float)
        Min and max of the per-round ratios.
    target : float
        The ratio to reach; ``higher_is_better`` says in which direction.
    accurate : bool
        Both sides reached the accuracy stated in ``accuracy``.
    accuracy : str
        The accuracy check (tolerance and what was achieved).
    detail : str
        Absolute times and sizes, for context.
    """

    name: str
    ratio: float
    spread: tuple[float, float]
    target: float
    higher_is_better: bool = True
    accurate: bool = True
    accuracy: str = ""
    detail: str = ""

    @property
    def fast_enough(self) -> bool:
        """Whether the ratio reaches its target in the direction ``higher_is_better``."""
        if not math.isfinite(self.ratio):
            return False
        return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target

    @property
    def met(self) -> bool:
        """Target reached *and* accuracy checked."""
        return self.accurate and self.fast_enough

    def scaled(self, factor: float) -> Measurement:
        """The same measurement with a target ``factor`` times harder to reach."""
        t = self.target * factor if self.higher_is_better else self.target / factor
        return dataclasses.replace(self, target=t)

    def line(self) -> str:
        """One line of the report: flag, name, ratio with its spread, target and accuracy."""
        op = ">=" if self.higher_is_better else "<="
        flag = "ok  " if self.met else ("INACC" if not self.accurate else "MISS")
        lo, hi = self.spread
        return (
            f"{flag:5s} {self.name:<52s} {self.ratio:9.3g} [{lo:.3g}-{hi:.3g}]  "
            f"(target {op} {self.target:g})\n        accuracy: {self.accuracy}\n"
            f"        {self.detail}"
        )


def _per_call(fn: Callable[[], object], min_time: float) -> float:
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= min_time:
            return dt / n


def best_time(fn: Callable[[], object], repeat: int = 5, min_time: float = 0.05) -> float:
    """Best-of-``repeat`` wall time of ``fn()`` in seconds, each sample looped to ``min_time``
    (one function alone; comparisons use :func:`interleaved`)."""
    fn()
    return min(_per_call(fn, min_time) for _ in range(repeat))


def interleaved(fns: Sequence[Callable[[], object]], rounds: int = 5, min_time: float = 0.02):
    """Time each callable of ``fns`` once per round, in alternating order (A B …, … B A).

    Each sample repeats its call until ``min_time`` has passed and records the time per call.
    One warm-up call each comes first. Returns an array ``(rounds, len(fns))`` of seconds.
    """
    for fn in fns:
        fn()
    out = np.empty((rounds, len(fns)))
    for i in range(rounds):
        order = range(len(fns)) if i % 2 == 0 else reversed(range(len(fns)))
        for j in order:
            out[i, j] = _per_call(fns[j], min_time)
    return out


def _ratio(num: np.ndarray, den: np.ndarray) -> tuple[float, tuple[float, float]]:
    """Ratio of medians and min–max of the per-round ratios."""
    per = num / den
    return float(np.median(num) / np.median(den)), (float(per.min()), float(per.max()))


def _ms(t) -> str:
    return f"{1e3 * float(np.median(t)):.3g} ms"


# ----------------------------------------------------------------------------- quantizer
def _bench_quantizer(quick: bool) -> list[Measurement]:
    """``Quantizer.__call__`` vs rounding plus clipping (uniform grids) and vs the argmin over
    levels (a non-uniform grid). Outputs must be identical on the test array."""
    from .quantizers import Quantizer

    rng = np.random.default_rng(0)
    x = 1.5 * rng.standard_normal(20_000 if quick else 200_000)
    out = []
    for bits in (2, 4, 8):
        q = Quantizer.uniform(bits, 2.0)
        lv, K = q.levels, q.n_levels
        lo, inv = lv[0], (K - 1) / (lv[-1] - lv[0])

        def round_clip(lv=lv, lo=lo, inv=inv, K=K):
            k = np.rint((x - lo) * inv)
            np.clip(k, 0, K - 1, out=k)
            return lv[k.astype(np.intp)]

        same = np.array_equal(round_clip(), q(x))
        t = interleaved([lambda q=q: q(x), round_clip], rounds=5 if quick else 9)
        r, spread = _ratio(t[:, 0], t[:, 1])
        out.append(
            Measurement(
                name=f"quantizer uniform b={bits} (__call__ / round+clip)",
                ratio=r,
                spread=spread,
                target=1.5,
                higher_is_better=False,
                accurate=same,
                accuracy=f"outputs identical on {x.size} N(0, 2.25) draws: {same}",
                detail=f"{_ms(t[:, 0])} vs {_ms(t[:, 1])}",
            )
        )
    q = Quantizer.gaussian_quantile(3, 2.0)

    def argmin(q=q):
        return q.levels[np.argmin(np.abs(x[:, None] - q.levels), axis=1)]

    same = np.array_equal(argmin(), q(x))
    t = interleaved([argmin, lambda: q(x)], rounds=5 if quick else 9)
    r, spread = _ratio(t[:, 0], t[:, 1])
    out.append(
        Measurement(
            name="quantizer gaussian_quantile b=3 (argmin / __call__)",
            ratio=r,
            spread=spread,
            target=1.0,
            accurate=same,
            accuracy=f"outputs identical on {x.size} draws: {same}",
            detail=f"{_ms(t[:, 0])} vs {_ms(t[:, 1])}",
        )
    )
    return out


# ----------------------------------------------------------------------------- rs
def _quad_state_evolution(model, tol=1e-11, max_iter=500, epsrel=1e-11):
    """Baseline of ``bench rs``: undamped state evolution (the Picard iteration of the RS map
    from the grid prior) with every average an adaptive ``scipy.integrate.quad`` over the
    channel output ``r``, given the posterior's switch points as break points — how Tree-AMP,
    GCM and most research code evaluate it. Returns ``(mse, chi, n_iter)``."""
    from scipy import integrate

    from .amp import prior_moments
    from .channel import transitions

    a, b, s2 = model.alpha, model.beta, model.noise
    levels = model.quantizer.levels
    log_prior = -0.5 * b * model.ridge * levels**2
    pi, mus, ss = model.teacher.mixture()
    mean0, var0 = prior_moments(levels, log_prior)
    mse = model.rho - 2.0 * mean0 * float(np.sum(pi * mus)) + mean0**2
    delta, chi = (mse + s2) / a, b * var0

    def posterior(r, A):
        logits = A * (r * levels - 0.5 * levels * levels) + log_prior
        p = np.exp(logits - logits.max())
        p /= p.sum()
        f = float(p @ levels)
        return f, float(p @ (levels - f) ** 2)

    for it in range(1, max_iter + 1):  # noqa: B007 (n_iter)
        A = a * b / (1.0 + chi)
        r_k, _ = transitions(levels, A, b * model.ridge)
        mse_new = V = 0.0
        for p_j, mu, s in zip(pi.tolist(), mus.tolist(), ss.tolist()):
            tau = s + delta
            sd, g = math.sqrt(tau), s / tau
            lo, hi = mu - 12.0 * sd, mu + 12.0 * sd
            pts = [x for x in r_k.tolist() if lo < x < hi]
            norm = 1.0 / math.sqrt(2.0 * math.pi * tau)

            def err2(r, mu=mu, g=g, tau=tau, norm=norm, A=A):
                f, _ = posterior(r, A)
                return norm * math.exp(-0.5 * (r - mu) ** 2 / tau) * (mu + g * (r - mu) - f) ** 2

            def var(r, mu=mu, tau=tau, norm=norm, A=A):
                return norm * math.exp(-0.5 * (r - mu) ** 2 / tau) * posterior(r, A)[1]

            kw = dict(points=pts or None, epsabs=1e-300, epsrel=epsrel, limit=400)
            mse_new += p_j * (s * delta / tau + integrate.quad(err2, lo, hi, **kw)[0])
            V += p_j * integrate.quad(var, lo, hi, **kw)[0]
        d_new, c_new = (mse_new + s2) / a, b * V
        res = max(abs(math.log(d_new / delta)), abs(math.log(c_new / chi)))
        delta, chi, mse = d_new, c_new, mse_new
        if res < tol:
            break
    return mse, chi, it


def _rel(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def _bench_rs(quick: bool) -> list[Measurement]:
    """``solve_rs`` at the card's reference points (Gaussian teacher, α = 2, β = 5, σ² = 0.1) vs
    the quad state evolution and the undamped 1-D Picard iteration (``state_evolution``), all to
    relative step 1e-11; and on the 8 × 8 Bayes-optimal binary grid (teacher ±1 on the
    student's grid, β = 1/σ², α 0.3–3, σ² 1e-3–1) the total cost of ``solve_rs`` against state
    evolution (target ≤ 3)."""
    from .amp import state_evolution
    from .quantizers import Quantizer
    from .regression import QuantizedRegression, solve_rs
    from .teachers import DiscreteTeacher

    out = []
    points = [(2, 1.5)] if quick else [(1, 0.5), (2, 1.5), (3, 2.0)]
    for bits, width in points:
        model = QuantizedRegression(
            quantizer=Quantizer.uniform(bits, width), alpha=2.0, beta=5.0, noise=0.1
        )
        sol = solve_rs(model, throw=False)
        se = state_evolution(model, tol=1e-11, throw=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # quad's IntegrationWarning: checked by the accuracy
            q_mse, q_chi, q_it = _quad_state_evolution(model)
            t = interleaved(
                [
                    lambda m=model: solve_rs(m, throw=False),
                    lambda m=model: _quad_state_evolution(m),
                    lambda m=model: state_evolution(m, tol=1e-11, throw=False),
                ],
                rounds=3 if quick else 5,
                min_time=0.0,
            )
        err_q = max(_rel(sol.mse, q_mse), _rel(sol.chi, q_chi))
        err_se = max(_rel(sol.mse, se.mse), _rel(sol.chi, se.chi))
        ok = sol.converged and se.converged and err_q < 1e-8 and err_se < 1e-8
        acc = (f"all converged, mse and chi agree to 1e-8 rel: quad {err_q:.1e}, "
               f"Picard {err_se:.1e}, solve_rs {sol.status}")  # fmt: skip
        for j, (base, target) in enumerate((("quad SE", 5.0), ("Picard SE", 1.0)), start=1):
            r, spread = _ratio(t[:, j], t[:, 0])
            its = q_it if j == 1 else se.n_iter
            out.append(
                Measurement(
                    name=f"rs b={bits} w={width} ({base} / solve_rs)",
                    ratio=r,
                    spread=spread,
                    target=target,
                    accurate=ok,
                    accuracy=acc,
                    detail=f"solve_rs {_ms(t[:, 0])} ({sol.n_iter} evals) vs {_ms(t[:, j])} "
                    f"({its} its)",
                )
            )
    # the Bayes-optimal grid of the issue: binary teacher on the binary grid, β = 1/σ²
    n = 4 if quick else 8
    grid = Quantizer.uniform(1, 1.0)
    teacher = DiscreteTeacher.on_grid(grid)
    models = [
        QuantizedRegression(
            quantizer=grid, alpha=float(a), beta=1.0 / s2, noise=float(s2), teacher=teacher
        )
        for a in np.geomspace(0.3, 3.0, n)
        for s2 in np.geomspace(1e-3, 1.0, n)
    ]

    def all_rs():
        return [solve_rs(m, throw=False) for m in models]

    def all_se():
        return [state_evolution(m, tol=1e-11, throw=False) for m in models]

    rs, se = all_rs(), all_se()
    conv = sum(s.converged for s in rs), sum(s.converged for s in se)
    differ = sum(_rel(a.mse, b.mse) > 1e-8 for a, b in zip(rs, se) if a.converged and b.converged)
    t = interleaved([all_rs, all_se], rounds=2 if quick else 3, min_time=0.0)
    r, spread = _ratio(t[:, 0], t[:, 1])
    out.append(
        Measurement(
            name=f"rs Bayes-optimal binary {n}x{n} grid (solve_rs / SE)",
            ratio=r,
            spread=spread,
            target=3.0,
            higher_is_better=False,
            accurate=conv == (len(models), len(models)),
            accuracy=f"converged: solve_rs {conv[0]}/{len(models)}, SE {conv[1]}/{len(models)}; "
            f"{differ} points on another branch than SE (mse differs > 1e-8 rel)",
            detail=f"grid total: solve_rs {_ms(t[:, 0])} vs SE {_ms(t[:, 1])}",
        )
    )
    return out


# ----------------------------------------------------------------------------- amp
def _bench_amp(quick: bool) -> list[Measurement]:
    """Time per AMP iteration against its two bare mat-vecs (``X @ ŵ``, ``Xᵀ @ g`` on the same
    arrays), at N = 1000 (target ≤ 1.3, Python overhead shows) and N = 4000 (≤ 1.2). The time
    per iteration is the difference of runs of ``n₀`` and ``n₀ + n`` iterations, so set-up is
    not counted. On a machine with a CUDA device the same ratio is measured for cupy / torch."""
    from .amp import backend as bk
    from .amp import generate, run, state_evolution
    from .quantizers import Quantizer
    from .regression import QuantizedRegression

    model = QuantizedRegression(quantizer=Quantizer.uniform(2, 1.5), alpha=2.0, beta=5.0, noise=0.1)
    cases = [("numpy", "float64", 1000, 1.3), ("numpy", "float64", 2000 if quick else 4000, 1.2)]
    for spec in bk.available():
        if spec in ("cupy", "torch:cuda"):
            n_gpu = 20_000 if quick else 50_000
            cases += [(spec, "float32", n_gpu, 1.2), (spec, "float64", n_gpu, 1.2)]
    se = state_evolution(model, max_iter=40, tol=1e-300, throw=False)
    out = []
    n0, n_it = 2, (10 if quick else 20)
    for spec, dtype, n, target in cases:
        be = bk.resolve(spec, dtype)
        X, y, w0 = generate(model, n, seed=0, backend=be, dtype=dtype)
        g = y * 1.0

        def matvecs(X=X, w0=w0, g=g, be=be):
            X @ w0
            X.T @ g
            be.synchronize()

        def amp(k, X=X, y=y, w0=w0, be=be):
            res = run(X, y, model.quantizer, model.beta, teacher=w0, max_iter=k, tol=1e-300,
                      throw=False)  # fmt: skip
            be.synchronize()
            return res

        t = interleaved([matvecs, lambda: amp(n0), lambda: amp(n0 + n_it)],
                        rounds=5 if quick else 9, min_time=0.05)  # fmt: skip
        per_it = (t[:, 2] - t[:, 1]) / n_it
        r, spread = _ratio(per_it, t[:, 0])
        res = amp(n0 + n_it)
        gap = abs(res.mse - float(se.trajectory.mse[n0 + n_it]))
        ok = res.status != "diverged" and math.isfinite(res.mse)
        out.append(
            Measurement(
                name=f"amp {spec} {dtype} N={n} (iteration / 2 mat-vecs)",
                ratio=r,
                spread=spread,
                target=target,
                higher_is_better=False,
                accurate=ok,
                accuracy=f"AMP iterate finite ({res.status}); |mse - SE mse| after "
                f"{n0 + n_it} its = {gap:.2g} (finite-N, for context)",
                detail=f"{1e3 * np.median(per_it):.3g} ms per iteration vs {_ms(t[:, 0])} for "
                "2 mat-vecs",
            )
        )
        del X, y, w0, g
    return out


# ----------------------------------------------------------------------------- sgd
def _bench_sgd(quick: bool) -> list[Measurement]:
    """Exact O(d) risk recursion vs Monte-Carlo SGD at equal statistical precision: as many
    runs as give a standard error of 1 % of the final risk (sized by a 256-run pilot); the
    Monte-Carlo mean must agree with the exact risk within 3 standard errors."""
    from .noise import Additive
    from .sgd import SGDProblem, exact_risk
    from .sgd.simulate import simulate

    eps = 0.01
    out = []
    for d in (50, 200) if quick else (100, 400):
        p = SGDProblem.power_law(
            d, 2.0, step=0.05, steps=200, quantization={"data": Additive(eps=0.01)}
        )
        exact = float(exact_risk(p).risk[-1])
        pilot = simulate(p, repeats=256, seed=1, record=[p.steps])
        rel_sd = float(pilot.se[0]) * 16.0 / exact
        repeats = max(2, math.ceil(1.1 * (rel_sd / eps) ** 2))  # 10 % spare for the estimate

        def mc(p=p, repeats=repeats):
            return simulate(p, repeats=repeats, seed=0, record=[p.steps])

        res = mc()
        se, mean = float(res.se[0]), float(res.mean[0])
        ok = se <= 1.2 * eps * exact and abs(mean - exact) <= 3.0 * se
        t = interleaved([mc, lambda p=p: exact_risk(p)], rounds=3 if quick else 5, min_time=0.02)
        r, spread = _ratio(t[:, 0], t[:, 1])
        out.append(
            Measurement(
                name=f"sgd risk d={d} (Monte Carlo / exact recursion)",
                ratio=r,
                spread=spread,
                target=10.0,
                accurate=ok,
                accuracy=f"MC {mean:.5f} +- {se:.5f} ({repeats} runs; target se {eps:.0%}, "
                f"within 3 se of exact {exact:.5f}): {ok}",
                detail=f"MC {_ms(t[:, 0])} vs exact {_ms(t[:, 1])}; N={p.steps} steps",
            )
        )
    return out


# ----------------------------------------------------------------------------- ste
def _bench_ste(quick: bool) -> list[Measurement]:
    """Order-parameter ODE vs the finite-d STE simulation at equal error on ε_g(τ = 2): the
    simulation's standard error over seeds is below ``ε`` (relative) and it agrees with the ODE
    within 3 standard errors; the ODE at ``rtol = 1e-6`` is within ``ε/100`` of its
    ``rtol = 1e-11`` value. The ODE is exact here (quantized inputs, unquantized weights)."""
    from .dynamics import STEProblem, ode, simulate
    from .quantizers import Quantizer

    p = STEProblem(input_quantizer=Quantizer.uniform(2, 2.0), eta=0.5, ridge=0.2)
    d, S, eps = (300, 8, 0.06) if quick else (1000, 16, 0.025)
    t_max = 2.0
    ref = float(ode(p, t_max, n_points=2, rtol=1e-11, atol=1e-13).eg[-1])

    def theory():
        return ode(p, t_max, n_points=2, rtol=1e-6, atol=1e-9)

    def sim():
        return simulate(p, d, t_max, seeds=range(S), n_points=2)

    eg_ode = float(theory().eg[-1])
    s = sim()
    mean, sem = float(s.eg_mean[-1]), float(s.eg_sem[-1])
    ok = _rel(eg_ode, ref) < eps / 100 and sem <= eps * ref and abs(mean - ref) <= 3.0 * sem
    t = interleaved([sim, theory], rounds=3 if quick else 5, min_time=0.0)
    r, spread = _ratio(t[:, 0], t[:, 1])
    return [
        Measurement(
            name=f"ste eg(tau=2) (simulation d={d} x {S} seeds / ODE)",
            ratio=r,
            spread=spread,
            target=50.0,
            accurate=ok,
            accuracy=f"sim {mean:.4f} +- {sem:.4f} (target se {eps:.1%}), ODE {eg_ode:.6f} "
            f"(ref {ref:.6f}): {ok}",
            detail=f"simulation {_ms(t[:, 0])} vs ODE {_ms(t[:, 1])}",
        )
    ]


# ----------------------------------------------------------------------------- phase
def _same_points(ds, sols, names=("gen_error", "at", "free_energy", "mse", "chi")):
    """Number of points whose status differs, and the largest relative difference of the
    values, between a phase-diagram dataset and a flat list of per-point solutions."""
    status = ds.status.values.ravel().tolist()
    bad = sum(a != b.status for a, b in zip(status, sols))
    worst = 0.0
    for k in names:
        vals = ds[k].values.ravel()
        for v, s in zip(vals, sols):
            if s.converged and math.isfinite(v):
                worst = max(worst, _rel(float(v), float(getattr(s, k))))
    return bad, worst


def _bench_phase(quick: bool) -> list[Measurement]:
    """``phase_diagram`` (serial) over 3 bits × 300 widths (quick: 3 × 40) vs the per-point
    ``solve_rs`` loop over the same points (target ≥ 5, same statuses and values to 1e-10; the
    detail names the batched channel's backend, numba or numpy), and
    the default executor vs ``executor="serial"`` on a small diagram (target ≤ 1.2)."""
    from . import channel_batch
    from .phase import phase_diagram
    from .quantizers import Quantizer
    from .regression import QuantizedRegression, solve_rs
    from .sweep import make_quantizer

    model = QuantizedRegression(quantizer=Quantizer.uniform(1, 1.0), alpha=2.0, beta=5.0,
                                noise=0.1)  # fmt: skip
    bits = [1, 2, 3]
    widths = np.linspace(0.1, 3.0, 40 if quick else 300)

    def diagram(executor="serial", widths=widths, bits=bits):
        return phase_diagram(model, bits=bits, width=widths, executor=executor, progress=False)

    def loop():
        return [
            solve_rs(model.replace(quantizer=make_quantizer("uniform", b, float(w))), throw=False)
            for b in bits
            for w in widths
        ]

    backend = channel_batch._backend()  # numba where installed (the compiled channel kernel)
    ds, sols = diagram(), loop()
    bad, worst = _same_points(ds, sols)
    t = interleaved([loop, diagram], rounds=2 if quick else 3, min_time=0.0)
    r, spread = _ratio(t[:, 0], t[:, 1])
    out = [
        Measurement(
            name=f"phase {len(bits)}x{widths.size} (solve_rs loop / phase_diagram serial)",
            ratio=r,
            spread=spread,
            target=5.0,
            accurate=bad == 0 and worst <= 1e-10,
            accuracy=f"{bad} statuses differ, values agree to {worst:.1e} rel (target 1e-10)",
            detail=f"loop {_ms(t[:, 0])} vs phase_diagram {_ms(t[:, 1])}; batched channel: "
            f"{backend} (REPLICA_NUMBA=0: numpy)",
        )
    ]
    small = np.linspace(0.5, 3.0, 10 if quick else 30)
    a, b = diagram(None, small, [1, 2]), diagram("serial", small, [1, 2])
    same = a.status.values.tolist() == b.status.values.tolist() and np.allclose(
        a.gen_error.values, b.gen_error.values, rtol=0, atol=0, equal_nan=True
    )
    t = interleaved([lambda: diagram(None, small, [1, 2]), lambda: diagram("serial", small, [1, 2])],
                    rounds=2 if quick else 3, min_time=0.0)  # fmt: skip
    r, spread = _ratio(t[:, 0], t[:, 1])
    out.append(
        Measurement(
            name=f"phase 2x{small.size} (default executor / serial)",
            ratio=r,
            spread=spread,
            target=1.2,
            higher_is_better=False,
            accurate=same,
            accuracy=f"identical statuses and gen_error: {same}",
            detail=f"default {_ms(t[:, 0])} vs serial {_ms(t[:, 1])}",
        )
    )
    return out


# ----------------------------------------------------------------------------- rsb
def _bench_rsb(quick: bool) -> list[Measurement]:
    """``solve_1rsb`` vs ``solve_rs`` at a point where RS is unstable (1 bit, ω = 1.5, α = 2,
    β = 5, σ² = 0.1): cost ratio, target ≤ 400."""
    from .quantizers import Quantizer
    from .regression import QuantizedRegression, solve_rs
    from .rsb import solve_1rsb

    model = QuantizedRegression(quantizer=Quantizer.uniform(1, 1.5), alpha=2.0, beta=5.0,
                                noise=0.1)  # fmt: skip
    rs = solve_rs(model, throw=False)
    rsb = solve_1rsb(model, throw=False)
    t = interleaved([lambda: solve_1rsb(model, throw=False), lambda: solve_rs(model, throw=False)],
                    rounds=2 if quick else 3, min_time=0.0)  # fmt: skip
    r, spread = _ratio(t[:, 0], t[:, 1])
    return [
        Measurement(
            name="rsb b=1 w=1.5 (solve_1rsb / solve_rs)",
            ratio=r,
            spread=spread,
            target=400.0,
            higher_is_better=False,
            accurate=rs.converged and rsb.converged,
            accuracy=f"solve_rs {rs.status} (AT {rs.at:.3g}), solve_1rsb {rsb.status} "
            f"(residual {rsb.residual:.1e})",
            detail=f"solve_1rsb {_ms(t[:, 0])} vs solve_rs {_ms(t[:, 1])}",
        )
    ]


def _bench_structured(quick: bool) -> list[Measurement]:
    """One RS point for a structured design (``CovarianceDesign`` with power-law eigenvalues
    ``λ_i ∝ 1/i``, 1500 of them, and a two-level spectrum) against the same point with i.i.d.
    inputs (2 bits, ω = 1.5, α = 2, β = 5, σ² = 0.1), after the design's one-time spectral
    set-up (timed separately): target ≤ 10x."""
    from .designs import CovarianceDesign
    from .quantizers import Quantizer
    from .regression import QuantizedRegression, solve_rs
    from .structured import solve_rs_structured

    base = QuantizedRegression(quantizer=Quantizer.uniform(2, 1.5), alpha=2.0, beta=5.0,
                               noise=0.1)  # fmt: skip
    lam = 1.0 / np.arange(1, 1501)
    spectra = {"power-law 1500": lam * (lam.size / lam.sum()),
               "two-level": np.r_[np.full(100, 3.0), np.full(100, 0.5)]}  # fmt: skip
    iid = solve_rs(base, throw=False)
    # accuracy: the structured code path with λ ≡ 1 reproduces solve_rs
    flat = solve_rs_structured(base.replace(design=CovarianceDesign(eigenvalues=[1.0])),
                               throw=False)  # fmt: skip
    err = max(abs(flat.mse - iid.mse), abs(flat.free_energy - iid.free_energy),
              abs(flat.at - iid.at))  # fmt: skip
    out = []
    for name, ev in spectra.items():
        model = base.replace(design=CovarianceDesign(eigenvalues=ev))
        t0 = time.perf_counter()
        model.design.law(model.alpha).table()
        setup = time.perf_counter() - t0
        sol = solve_rs(model, throw=False)
        t = interleaved([lambda m=model: solve_rs(m, throw=False),
                         lambda: solve_rs(base, throw=False)],
                        rounds=3 if quick else 7, min_time=0.0)  # fmt: skip
        r, spread = _ratio(t[:, 0], t[:, 1])
        out.append(Measurement(
            name=f"structured {name} (solve_rs design / i.i.d.)", ratio=r, spread=spread,
            target=10.0, higher_is_better=False,
            accurate=sol.converged and iid.converged and err < 1e-10,
            accuracy=f"both converged ({sol.status}, {iid.status}); lambda = 1 path vs solve_rs "
            f"{err:.1e} (<= 1e-10)",
            detail=f"{_ms(t[:, 0])} vs {_ms(t[:, 1])}; one-time spectral set-up {setup:.2f} s",
        ))  # fmt: skip
    return out


def _bench_mc(quick: bool) -> list[Measurement]:
    """One parallel-tempering heat-bath sweep of :mod:`replica.mc` against its bare cost: the
    ``N`` field updates ``F −= δ G[i]`` over all chains that any implementation (numpy or a
    compiled kernel) must do. The ratio bounds what a compiled kernel (numba) could save:
    binary weights ≤ 2.5, four levels ≤ 4 (16 instances × 4 replicas × 16 temperatures,
    N = 64). Accuracy: the sweep keeps the incrementally updated field equal to ``b − Gw``."""
    from .amp import generate
    from .mc.sampler import _Chains, ladder
    from .quantizers import Quantizer
    from .regression import QuantizedRegression

    out = []
    n, I, R, T = 64, 16, 4, 16  # quick mode: fewer rounds only (the ratio depends on the size)
    for bits, target in ((1, 2.5), (2, 4.0)):
        model = QuantizedRegression(quantizer=Quantizer.uniform(bits, 1.0), alpha=2.0, beta=5.0,
                                    noise=0.1)  # fmt: skip
        insts = [generate(model, n, seed=s) for s in range(I)]
        G = np.stack([i.X.T @ i.X for i in insts])
        b = np.stack([i.X.T @ i.y for i in insts])
        c0 = np.array([0.5 * float(i.y @ i.y) for i in insts])
        lv = np.asarray(model.quantizer.levels, dtype=float)
        rng = np.random.default_rng(0)
        ch = _Chains(G, b, c0, lv, ladder(5.0, T), 0.0, lv[rng.integers(0, lv.size, (I, R * T, n))])
        U = rng.random((I, R * T, n))
        F = ch.F.copy()

        def sweep(ch=ch, U=U):
            ch.sweep(U)

        def bare(F=F, G=G, U=U, n=n):
            for i in range(n):
                F -= U[:, :, i, None] * G[:, None, i, :]

        t = interleaved([sweep, bare], rounds=5 if quick else 9, min_time=0.05)
        r, spread = _ratio(t[:, 0], t[:, 1])
        drift = float(np.max(np.abs(ch.F - (b[:, None, :] - ch.w @ G))))
        out.append(
            Measurement(
                name=f"mc b={bits} N={n} (heat-bath sweep / bare field updates)",
                ratio=r,
                spread=spread,
                target=target,
                higher_is_better=False,
                accurate=drift < 1e-9,
                accuracy=f"|F − (b − Gw)| after the sweeps = {drift:.1e} (≤ 1e-9)",
                detail=f"{_ms(t[:, 0])} per sweep vs {_ms(t[:, 1])}, {I * R * T} chains",
            )
        )
    return out


BENCHMARKS: dict[str, Callable[[bool], list[Measurement]]] = {
    "rs": _bench_rs,
    "quantizer": _bench_quantizer,
    "amp": _bench_amp,
    "sgd": _bench_sgd,
    "ste": _bench_ste,
    "phase": _bench_phase,
    "rsb": _bench_rsb,
    "mc": _bench_mc,
    "structured": _bench_structured,
}

#: one line per benchmark for ``replica bench --help``
DESCRIPTIONS: dict[str, str] = {
    "rs": "solve_rs vs quad state evolution and undamped Picard; Bayes-optimal grid (<= 3x SE)",
    "quantizer": "Quantizer map vs rounding+clipping (uniform) and argmin (non-uniform)",
    "amp": "one AMP iteration vs two bare mat-vecs (N=1000 <= 1.3x, N=4000 <= 1.2x)",
    "sgd": "exact SGD risk recursion vs Monte Carlo at equal statistical precision",
    "ste": "STE ODE vs finite-d simulation at equal error",
    "phase": "phase_diagram vs per-point solve_rs loop (>= 5x); default executor vs serial",
    "rsb": "solve_1rsb vs solve_rs (<= 400x)",
    "structured": "one RS point for a covariance design vs i.i.d. inputs, after set-up (<= 10x)",
    "mc": "Monte-Carlo sweep vs its bare field updates (b=1 <= 2.5x, b=2 <= 4x)",
}


def run(names=None, quick: bool = False, echo=print, target_scale: float = 1.0):
    """Run the named benchmarks (all when ``names`` is empty) and print one entry per ratio.

    Parameters
    ----------
    names : sequence of str, optional
        Keys of :data:`BENCHMARKS`.
    quick : bool
        Smaller problem sizes and fewer rounds.
    echo : callable
        Where lines go (default ``print``).
    target_scale : float
        Make every target this many times harder (``> 0``; 1 = the stated targets).

    Returns
    -------
    list of Measurement
        A benchmark that raised is reported as a missed measurement with the error.
    """
    names = list(names or BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise ValueError(f"benchmark: expected names from {sorted(BENCHMARKS)}, got {unknown}")
    if not (isinstance(target_scale, (int, float)) and 0 < target_scale < math.inf):
        raise ValueError(f"target_scale: expected a finite number > 0, got {target_scale!r}")
    results = []
    for name in names:
        echo(f"[{name}]")
        try:
            ms = BENCHMARKS[name](quick)
        except Exception as err:  # report and go on: a crashing benchmark is a miss
            ms = [Measurement(name=f"{name} (raised)", ratio=math.nan, spread=(math.nan,) * 2,
                              target=1.0, accurate=False, accuracy=repr(err))]  # fmt: skip
        for m in ms:
            m = m.scaled(target_scale) if target_scale != 1.0 else m
            echo("  " + m.line())
            results.append(m)
    met = sum(m.met for m in results)
    echo(f"{met}/{len(results)} ratios meet their targets")
    return results
