"""The ``replica`` command.

Every subcommand is a thin layer over the Python API. Invalid input prints one line
``replica: error: …`` and exits with status 2 (bad usage); a computation that fails exits with 1.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from ._version import __version__
from .errors import ReplicaError

GRIDS = ("uniform", "gaussian_quantile", "power", "power_of_two")
# an option value that starts with "-" and is a number, a list or a range of numbers
_NEGATIVE = re.compile(r"^-(\d|\.\d|inf\b)")


def _quantizer_from_args(args):
    from .quantizers import Quantizer

    if args.levels is not None:
        try:
            levels = [float(v) for v in args.levels.split(",")]
        except ValueError:
            raise ValueError(
                f"--levels: expected comma-separated numbers (e.g. -1,0,1), got {args.levels!r}"
            ) from None
        return Quantizer(levels=levels)
    missing = [o for o, v in (("--bits", args.bits), ("--width", args.width)) if v is None]
    if missing:
        given = [o for o, v in (("--bits", args.bits), ("--width", args.width)) if v is not None]
        raise ValueError(
            f"{' and '.join(missing)}: expected a value (a grid needs both --bits and --width, "
            f"or --levels alone), got {'only ' + given[0] if given else 'neither'}"
        )
    if args.grid == "uniform":
        return Quantizer.uniform(args.bits, args.width, args.convention)
    if args.grid == "power":
        return Quantizer.power(args.bits, args.width, args.gamma)
    return getattr(Quantizer, args.grid)(args.bits, args.width)


def _beta(text: str) -> float:
    """``--beta``: a number > 0 or ``inf``, named in the error."""
    import math

    try:
        beta = float(text)
    except ValueError:
        beta = math.nan
    if not beta > 0:
        raise ValueError(f"--beta: expected a number > 0 or 'inf', got {text!r}")
    return beta


def _positive(option: str, value: float, what: str = "a number > 0") -> float:
    import math

    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{option}: expected {what}, got {value:g}")
    return value


def _cmd_quantizer(args) -> int:
    import math

    if not (math.isfinite(args.var) and args.var >= 0):
        raise ValueError(f"--var: expected a variance >= 0, got {args.var:g}")
    if not math.isfinite(args.mean):
        raise ValueError(f"--mean: expected a finite number, got {args.mean:g}")
    q = _quantizer_from_args(args)
    print(q.describe(args.mean, args.var))
    return 0


def _cmd_rs(args) -> int:

    from .regression import QuantizedRegression, solve_rs

    model = QuantizedRegression(
        quantizer=_quantizer_from_args(args),
        alpha=args.alpha,
        beta=_beta(args.beta),
        noise=args.noise,
        ridge=args.ridge,
    )
    sol = solve_rs(model, throw=False, init=None if args.init == "auto" else args.init)
    print(f"model       {model.quantizer.name}, alpha={model.alpha:g}, beta={model.beta:g}, "
          f"noise={model.noise:g}, ridge={model.ridge:g}")  # fmt: skip
    print(
        f"status      {sol.status} after {sol.n_iter} map evaluations, residual "
        f"{sol.residual:.2e} (branch: {sol.branch})"
    )
    if sol.status == "no_rs_solution":
        print(f"no RS solution: D = {sol.D:.6g} >= alpha at beta = inf (below the interpolation "
              "threshold; use a finite --beta)")  # fmt: skip
        return 1
    for name in ("gen_error", "train_error", "mse", "m", "q", "Q", "chi", "D", "free_energy",
                 "entropy", "at"):  # fmt: skip
        print(f"{name:<11s} {getattr(sol, name):.10g}")
    found = [b for b in sol.branches if b.status == "converged"]
    if len(found) > 1:
        print(f"branches    {len(found)} RS fixed points; the lowest free energy is returned:")
        for b in found:
            print(f"              {b.start:<13s} f={b.free_energy:.10g}  mse={b.mse:.6g}  "
                  f"at={b.at:.4g}  entropy={b.entropy:.4g}")  # fmt: skip
    print(f"stability   {stability_verdict(sol)}")
    return 0 if sol.converged else 1


def stability_verdict(sol) -> str:
    """One line: whether RS is stable and, if not, why (AT, entropy or both)."""
    if sol.rs_stable:
        return "RS stable (AT < 1, entropy >= 0)"
    return {
        "AT": "RS unstable (AT >= 1): replica symmetry breaking",
        "entropy": "RS unstable (entropy < 0 with AT < 1): entropy crisis, a freezing "
        "(discontinuous) RSB transition that AT cannot see",
        "AT and entropy": "RS unstable (AT >= 1 and entropy < 0): replica symmetry breaking "
        "and entropy crisis",
    }[sol.instability]


def _cmd_advise(args) -> int:
    import math

    import numpy as np

    from .dynamics import STEProblem, max_stable_lr
    from .optimize import optimal_width
    from .quantizers import Quantizer
    from .regression import QuantizedRegression, solve_rs

    # validate everything before printing anything
    _positive("--input-width", args.input_width)
    _positive("--max-width", args.max_width)
    model = QuantizedRegression(
        quantizer=Quantizer.uniform(args.bits, 1.0),
        alpha=args.alpha,
        beta=_beta(args.beta),
        noise=args.noise,
        ridge=args.ridge,
    )
    q_in = Quantizer.uniform(args.bits, args.input_width)
    # a minimum on the search bound is not an answer: widen the search (x4, three times)
    lo, hi = 0.05, args.max_width
    opt = optimal_width(model, bounds=(lo, hi), throw=False)
    for _ in range(3):
        if opt.status != "at_bound":
            break
        if opt.width >= hi * (1 - 1e-6):
            hi *= 4.0
        elif lo > 1e-4:
            lo /= 10.0
        else:
            break
        opt = optimal_width(model, bounds=(lo, hi), throw=False)
    print(f"{args.bits}-bit weights, uniform grid, alpha={model.alpha:g}, beta={model.beta:g}, "
          f"noise={model.noise:g}, ridge={model.ridge:g}")  # fmt: skip
    print(f"  optimal width      {opt.width:.6g}   (status {opt.status}; searched "
          f"[{lo:g}, {hi:g}])")  # fmt: skip
    if opt.status == "at_bound":
        print(f"  the error still decreases at the search bound {opt.width:g}: the optimum lies "
              "beyond it (search further with --max-width)")  # fmt: skip
    print(f"  gen. error there   {opt.gen_error:.6g}")
    sol = opt.solution
    print(f"  RS stability       AT = {opt.at:.4g}, entropy = {sol.entropy:.4g}: "
          f"{stability_verdict(sol)}")  # fmt: skip
    if not opt.at < 1:
        # the width above minimises the RS error; say what a stable choice would be
        widths = np.geomspace(lo, hi, 25)
        ats = []
        for w in widths:
            sol = solve_rs(model.replace(quantizer=Quantizer.uniform(args.bits, w)), throw=False)
            ats.append(sol.at if sol.converged else math.inf)
        ok = [w for w, a in zip(widths, ats) if a < 1]
        if ok:
            best = optimal_width(model, bounds=(min(ok), max(ok)), throw=False)
            edge = "; on the AT line's side" if best.status == "at_bound" else ""
            print(f"  smallest error among RS-stable widths: width {best.width:.6g}, "
                  f"gen. error {best.gen_error:.6g}, AT = {best.at:.4g}\n"
                  f"    (searched [{min(ok):.4g}, {max(ok):.4g}], where AT < 1{edge})")  # fmt: skip
        else:
            why = (" (at beta = inf, AT = inf for the RS ground state of discrete weights)"
                   if math.isinf(model.beta) else "")  # fmt: skip
            print(f"  RS is unstable at every width in [{lo:g}, {hi:g}]{why}.\n"
                  "    The width above minimises the RS prediction, only an approximation "
                  "there:\n    replica.solve_1rsb gives the 1RSB correction; a finite --beta "
                  "may have RS-stable widths")  # fmt: skip
    eta_c = max_stable_lr(STEProblem(input_quantizer=q_in, eta=1.0, ridge=args.ridge))
    eta_0 = max_stable_lr(STEProblem(eta=1.0, ridge=args.ridge))
    print(
        f"STE training with {args.bits}-bit inputs on [-{args.input_width:g}, {args.input_width:g}]:"
    )
    print(f"  max stable learning rate  {eta_c:.6g}   (unquantized {eta_0:.6g})")
    print("  with quantized weights only, the STE limit dynamics cannot blow up (bounded drift)")
    return 0 if opt.converged else 1


def _axis_values(name: str, spec: str):
    """Values of one swept axis: ``"a,b,c"``, ``"lo:hi:n"`` (linear) or ``"lo:hi:n:log"``;
    ``inf`` is allowed for ``beta`` (and in lists)."""
    import numpy as np

    parts = spec.split(":")
    try:
        if len(parts) == 1:
            conv = int if name == "bits" else float
            values = [conv(v) for v in spec.split(",")]
        elif len(parts) in (3, 4) and (len(parts) == 3 or parts[3] == "log"):
            lo, hi, n = float(parts[0]), float(parts[1]), int(parts[2])
            if n < 1 or (len(parts) == 4 and not lo > 0 < hi):
                raise ValueError
            make = np.geomspace if len(parts) == 4 else np.linspace
            values = make(lo, hi, n).tolist()
        else:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"--{name}: expected a comma list or lo:hi:n[:log] (log needs lo, hi > 0), got {spec!r}"
        ) from None
    return values


def _checkpoint_state(out):
    """What a phase run finds at ``--out`` before it starts: ``"finished"`` (the results
    file), the number of checkpointed lines (``<out>.parts/line-*.nc``) or None."""
    if out is None:
        return None
    path = Path(out)
    if path.exists():
        return "finished"
    parts = path.with_name(path.name + ".parts")
    n = len(list(parts.glob("line-*.nc"))) if parts.is_dir() else 0
    return n or None


def _along(axes) -> str | None:
    return next((k for k in ("width", "alpha", "beta", "noise", "ridge") if k in axes), None)


def _cmd_phase(args) -> int:
    import math

    import numpy as np

    from .phase import phase_diagram
    from .regression import QuantizedRegression
    from .sweep import make_quantizer

    values = {n: _axis_values(n, getattr(args, n))
              for n in ("bits", "width", "alpha", "beta", "noise", "ridge")}  # fmt: skip
    families = args.grid.split(",")
    # swept: the parameters given several values (the first of width, α, β, σ², λ among them is
    # the continuation axis, along which the AT line is located); the others fix the base model
    axes = {n: v for n, v in values.items() if len(v) > 1}
    if len(families) > 1 or families != ["uniform"]:
        axes["grid"] = families
    if not axes:
        axes["width"] = values["width"]
    quantizer = make_quantizer(families[0], values["bits"][0], values["width"][0])
    scalar = {k: values[k][0] for k in ("alpha", "beta", "noise", "ridge")}
    model = QuantizedRegression(quantizer=quantizer, **scalar)
    executor = args.executor
    if args.scheduler:
        from dask.distributed import Client

        executor = Client(args.scheduler)
    resumed = _checkpoint_state(args.out)
    ds = phase_diagram(model, executor=executor, path=args.out, progress=not args.quiet,
                       max_workers=args.workers, **axes)  # fmt: skip
    along = _along(axes)
    if resumed is not None:
        lines = int(np.prod([len(v) for k, v in axes.items() if k != along]))
        n_along = len(axes[along]) if along else 1
        if resumed == "finished":
            print(f"resumed {lines * n_along}/{lines * n_along} points from {args.out} "
                  "(finished: nothing recomputed)")  # fmt: skip
        else:
            done = min(resumed, lines)
            print(f"resumed {done * n_along}/{lines * n_along} points from "
                  f"{args.out}.parts (checkpointed lines; the rest computed now)")  # fmt: skip
    print(f"phase diagram over {', '.join(f'{k} ({len(v)})' for k, v in axes.items())}"
          + (f" -> {args.out}" if args.out else ""))  # fmt: skip
    counts = {str(p): int((ds["phase"] == p).sum()) for p in sorted(set(ds["phase"].values.flat))}
    print("points by phase: " + ", ".join(f"{p} {n}" for p, n in counts.items()))
    line = ds.get(f"at_boundary_{along}")
    if line is not None:
        dims = list(line.dims)
        for idx in np.ndindex(*line.shape):
            sel = {d: line[d].values[i] for d, i in zip(dims, idx)}
            label = ", ".join(f"{d}={v:g}" if isinstance(v, float) else f"{d}={v}"
                              for d, v in sel.items())  # fmt: skip
            if not label:  # one line: name its fixed bits (and grid family)
                label = f"bits={values['bits'][0]}" + (
                    f", grid={families[0]}" if families != ["uniform"] else "")
            value = float(line.values[idx])
            if math.isfinite(value):
                where = f"RS -> RSB at {along} = {value:.6g}"
            else:  # no crossing: say which phase the whole line is in
                phases = sorted(set(ds["phase"].sel(sel).values.flat))
                where = f"no AT crossing in range ({'/'.join(map(str, phases))} throughout)"
            eline = ds.get(f"entropy_boundary_{along}")
            if eline is not None and math.isfinite(float(eline.values[idx])):
                where += (f"; entropy crisis (RS entropy = 0) at {along} = "
                          f"{float(eline.values[idx]):.6g}")  # fmt: skip
            print(f"  {label}: {where}")
    return 0 if counts.get("unconverged", 0) == 0 else 1


def _repro_package():
    """The paper reproductions: ``replica._repro`` when installed from a wheel, the checkout's
    top-level ``paper_repro/`` otherwise."""
    try:
        from . import _repro
    except ImportError:
        import paper_repro as _repro
    return _repro


def _repro_names() -> list[str]:
    try:
        return _repro_package().names()
    except ImportError:
        return []


def _cmd_repro(args) -> int:
    import time

    repro = _repro_package()
    mods = repro.available()
    if not mods:
        print("replica repro: no paper reproductions are available yet (paper_repro/ is empty)")
        return 0
    names = args.names or list(mods)
    unknown = [n for n in names if n not in mods]
    if unknown:
        raise ValueError(f"NAME: expected one of {sorted(mods)}, got {unknown}")
    steps = ("compute", "plot") if args.step == "all" else (args.step,)
    # quick (coarse) output never overwrites the committed full figures by default
    out = Path(args.out if args.out is not None else ("figures/quick" if args.quick else "figures"))
    mode = "quick" if args.quick else "full"
    if args.quick and "compute" in steps:
        est = [getattr(mods[n], "QUICK_SECONDS", None) for n in names]
        known = sum(e for e in est if e is not None)
        print(f"replica repro --quick: {len(names)} reproduction(s) into {out}/, "
              f"about {known:.0f} s on 2 CPU cores" + (" (plus some without an estimate)"
                                                       if None in est else ""))  # fmt: skip
    start = time.perf_counter()
    for i, name in enumerate(names, 1):
        est = getattr(mods[name], "QUICK_SECONDS", None) if args.quick else None
        about = f", about {est:.0f} s" if est is not None and "compute" in steps else ""
        print(f"[{i}/{len(names)}] {name}: {mods[name].TITLE}  ({mode}; {'+'.join(steps)}{about})",
              flush=True)  # fmt: skip
        t0 = time.perf_counter()
        figs = repro.run(name, out, args.quick, steps,
                         echo=lambda line: print(line, flush=True))  # fmt: skip
        for fig in figs:
            print(f"  wrote {fig}")
        print(f"  done in {time.perf_counter() - t0:.1f} s", flush=True)
    if len(names) > 1:
        print(f"all done in {time.perf_counter() - start:.1f} s")
    return 0


def _cmd_bench(args) -> int:
    from . import bench

    results = bench.run(args.names, quick=args.quick, target_scale=args.target_scale)
    return 0 if all(m.met for m in results) else 1


def _bench_names():
    from .bench import DESCRIPTIONS

    return DESCRIPTIONS.items()


def _add_grid_args(p) -> None:
    p.add_argument("--bits", type=int, help="bits b (2^b levels)")
    p.add_argument("--width", type=float,
                   help="grid scale w: the largest level for endpoints, zero, gaussian_quantile, "
                   "power and power_of_two; for midrise the cells tile [-w, w], so the largest "
                   "level is w(K-1)/K with K = 2^bits levels")  # fmt: skip
    p.add_argument("--grid", choices=GRIDS, default="uniform", help="grid family (default uniform)")
    p.add_argument(
        "--convention",
        choices=("endpoints", "midrise", "zero"),
        default="endpoints",
        help="uniform-grid convention (default endpoints)",
    )
    p.add_argument(
        "--gamma", type=float, default=2.0, help="exponent of the power grid (default 2)"
    )
    p.add_argument("--levels", help="explicit comma-separated levels (overrides the grid options)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="replica",
        description="Statistical-physics theory of learning under quantization: replica theory of "
        "quantized regression, STE dynamics, quantized SGD and precision scaling laws.",
    )
    p.add_argument("--version", action="version", version=f"replica-theory {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    q = sub.add_parser(
        "quantizer",
        help="print a quantizer's levels, thresholds and exact Gaussian moments",
        description="Build a quantizer grid and print its levels, thresholds and the exact "
        "moments E[psi(z)], E[psi(z)^2], E[z psi(z)] for z ~ N(mean, var).",
    )
    _add_grid_args(q)
    q.add_argument("--mean", type=float, default=0.0, help="mean of z (default 0)")
    q.add_argument("--var", type=float, default=1.0, help="variance of z (default 1)")
    q.set_defaults(func=_cmd_quantizer)

    rs = sub.add_parser(
        "rs",
        help="solve the replica-symmetric theory of weight-quantized regression at one point",
        description="Solve the RS saddle point of quantized linear regression (Kashiwamura et al. "
        "2024) and print errors, order parameters, free energy and AT stability.",
    )
    _add_grid_args(rs)
    rs.add_argument("--alpha", type=float, default=2.0, help="samples per weight M/N (default 2)")
    rs.add_argument("--beta", default="5", help="inverse temperature, or 'inf' (default 5)")
    rs.add_argument("--noise", type=float, default=0.1, help="label-noise variance (default 0.1)")
    rs.add_argument("--ridge", type=float, default=0.0, help="ridge lambda (default 0)")
    rs.add_argument(
        "--init",
        choices=("auto", "uninformative", "informative"),
        default="auto",
        help="auto (default): the equilibrium branch (every start tried, lowest free energy "
        "returned, the others listed); uninformative / informative: one start only",
    )
    rs.set_defaults(func=_cmd_rs)

    ad = sub.add_parser(
        "advise",
        help="with b bits: optimal quantization width, RS stability, maximal stable learning rate",
        description="Practitioner summary for b-bit quantization: the generalization-optimal width "
        "of a uniform weight grid (replica theory), whether replica symmetry holds there (AT), and "
        "the maximal stable STE learning rate with b-bit inputs.",
    )
    ad.add_argument("--bits", type=int, required=True, help="bits b")
    ad.add_argument("--alpha", type=float, default=2.0, help="samples per weight (default 2)")
    ad.add_argument("--beta", default="5", help="inverse temperature or 'inf' (default 5)")
    ad.add_argument("--noise", type=float, default=0.1, help="label-noise variance (default 0.1)")
    ad.add_argument("--ridge", type=float, default=0.0, help="ridge lambda (default 0)")
    ad.add_argument(
        "--input-width", type=float, default=2.0, help="input range for STE (default 2)"
    )
    ad.add_argument("--max-width", type=float, default=6.0,
                    help="upper end of the width search (default 6; widened x4 up to three "
                    "times while the optimum sits on it)")  # fmt: skip
    ad.set_defaults(func=_cmd_advise)

    ph = sub.add_parser(
        "phase",
        help="RS/RSB phase diagram of weight-quantized regression over a parameter grid",
        description="Solve the RS theory on a Cartesian grid (any of --bits, --width, --alpha, "
        "--beta, --noise, --ridge as a comma list or lo:hi:n[:log]), locate the AT line and "
        "print the phase counts. With --out the sweep checkpoints line by line and a rerun of "
        "the same command resumes it.",
    )
    ph.add_argument("--bits", default="1,2,3", help="bits (default 1,2,3)")
    ph.add_argument("--width", default="0.2:8:20:log", help="widths (default 0.2:8:20:log)")
    ph.add_argument("--alpha", default="2", help="samples per weight (default 2)")
    ph.add_argument("--beta", default="5", help="inverse temperature(s), 'inf' allowed (default 5)")
    ph.add_argument("--noise", default="0.1", help="label-noise variance(s) (default 0.1)")
    ph.add_argument("--ridge", default="0", help="ridge lambda(s) (default 0)")
    ph.add_argument("--grid", default="uniform",
                    help="grid families, comma-separated: uniform, uniform:midrise, uniform:zero, "
                    "gaussian_quantile, power:<gamma>, power_of_two (default uniform)")  # fmt: skip
    ph.add_argument("--out", help="netCDF results file (checkpointed; rerun to resume)")
    ph.add_argument("--executor", choices=("serial", "processes"), default=None,
                    help="'serial': this process; 'processes': a local process pool (default: "
                    "serial for small diagrams, the pool when it pays off)")  # fmt: skip
    ph.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes of the local pool (default: the CPUs available)",
    )
    ph.add_argument("--scheduler", help="dask.distributed scheduler address (optional extra)")
    ph.add_argument("--quiet", action="store_true", help="no progress bar")
    ph.set_defaults(func=_cmd_phase)

    repro_names = _repro_names()
    r = sub.add_parser(
        "repro",
        help="regenerate the paper figures (compute data, then plot)",
        description="Run the paper reproductions: the compute step writes tidy data with "
        "metadata under OUT/data/NAME/, the plot step writes OUT/NAME/*.png. Quick runs go to "
        "figures/quick/ (ignored by git) unless --out is given, so they never overwrite the "
        "committed full figures.",
        epilog="available reproductions: " + (", ".join(repro_names) or "none"),
    )
    r.add_argument("names", nargs="*", metavar="NAME",
                   help="reproductions to run (default: all; see the list below)")  # fmt: skip
    r.add_argument("--quick", action="store_true",
                   help="coarse grids and few seeds (about 90 s for all on 2 cores; "
                   "each step prints its progress)")  # fmt: skip
    r.add_argument("--out", default=None,
                   help="output folder (default ./figures, or ./figures/quick with --quick)")  # fmt: skip
    r.add_argument(
        "--step",
        choices=("all", "compute", "plot"),
        default="all",
        help="run only one step (plot re-reads existing data)",
    )
    r.set_defaults(func=_cmd_repro)

    b = sub.add_parser(
        "bench",
        help="run benchmarks and print speed ratios against their targets",
        description="Each benchmark times a method against what a user would otherwise run, "
        "interleaved in one process, checks that both sides reach the stated accuracy, and "
        "prints the median ratio with its min-max spread and target. Exits 1 when a target is "
        "missed.",
        epilog="benchmarks:\n" + "\n".join(f"  {k:<10s} {v}" for k, v in _bench_names()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    b.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all; "
                   "listed below)")  # fmt: skip
    b.add_argument("--quick", action="store_true", help="smaller problem sizes, fewer rounds")
    b.add_argument("--target-scale", type=float, default=1.0, metavar="S",
                   help="make every target S times harder (S > 1 forces misses; default 1)")  # fmt: skip
    b.set_defaults(func=_cmd_bench)
    return p


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--levels -1,0,1`` as ``--levels=-1,0,1``: argparse takes a value starting with ``-``
    that is not a plain number (here a comma list) for an option and refuses it."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        tok = argv[i]
        nxt = argv[i + 1] if i + 1 < len(argv) else None
        if (tok.startswith("--") and "=" not in tok and nxt is not None
                and _NEGATIVE.match(nxt)):  # fmt: skip
            out.append(f"{tok}={nxt}")
            i += 2
            continue
        out.append(tok)
        i += 1
    return out


def main(argv=None) -> int:
    parser = build_parser()
    argv = _join_negative_values(list(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except ValueError as exc:
        print(f"replica: error: {exc}", file=sys.stderr)
        return 2
    except ReplicaError as exc:
        print(f"replica: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("replica: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a pager or `head` that closed early
        # silence the flush of stdout at interpreter exit (Python docs, "Note on SIGPIPE")
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
