"""The ``replica`` command.

Every subcommand is a thin layer over the Python API. Invalid input prints one line
``replica: error: …`` and exits with status 2 (bad usage); a computation that fails exits with 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __version__
from .errors import ReplicaError

GRIDS = ("uniform", "gaussian_quantile", "power", "power_of_two")


def _quantizer_from_args(args):
    from .quantizers import Quantizer

    if args.levels is not None:
        return Quantizer(levels=[float(v) for v in args.levels.split(",")])
    if args.bits is None or args.width is None:
        raise ValueError("--bits and --width: expected both (or --levels), got none")
    if args.grid == "uniform":
        return Quantizer.uniform(args.bits, args.width, args.convention)
    if args.grid == "power":
        return Quantizer.power(args.bits, args.width, args.gamma)
    return getattr(Quantizer, args.grid)(args.bits, args.width)


def _cmd_quantizer(args) -> int:
    q = _quantizer_from_args(args)
    print(q.describe(args.mean, args.var))
    return 0


def _cmd_rs(args) -> int:
    import math

    from .regression import QuantizedRegression, solve_rs

    model = QuantizedRegression(
        quantizer=_quantizer_from_args(args),
        alpha=args.alpha,
        beta=math.inf if args.beta == "inf" else float(args.beta),
        noise=args.noise,
        ridge=args.ridge,
    )
    sol = solve_rs(model, throw=False, init=args.init)
    print(f"model       {model.quantizer.name}, alpha={model.alpha:g}, beta={model.beta:g}, "
          f"noise={model.noise:g}, ridge={model.ridge:g}")  # fmt: skip
    print(
        f"status      {sol.status} after {sol.n_iter} map evaluations, residual {sol.residual:.2e}"
    )
    if sol.status == "no_rs_solution":
        print(f"no RS solution: D = {sol.D:.6g} >= alpha at beta = inf (below the interpolation "
              "threshold; use a finite --beta)")  # fmt: skip
        return 1
    for name in ("gen_error", "train_error", "mse", "m", "q", "Q", "chi", "D", "free_energy",
                 "entropy", "at"):  # fmt: skip
        print(f"{name:<11s} {getattr(sol, name):.10g}")
    verdict = (
        "RS stable (AT < 1)"
        if sol.rs_stable
        else "RS unstable (AT >= 1): replica symmetry breaking"
    )
    print(f"stability   {verdict}")
    return 0 if sol.converged else 1


def _cmd_advise(args) -> int:
    import math

    from .dynamics import STEProblem, max_stable_lr
    from .optimize import optimal_width
    from .quantizers import Quantizer
    from .regression import QuantizedRegression

    model = QuantizedRegression(
        quantizer=Quantizer.uniform(args.bits, 1.0),
        alpha=args.alpha,
        beta=math.inf if args.beta == "inf" else float(args.beta),
        noise=args.noise,
        ridge=args.ridge,
    )
    opt = optimal_width(model, throw=False)
    print(f"{args.bits}-bit weights, uniform grid, alpha={model.alpha:g}, beta={model.beta:g}, "
          f"noise={model.noise:g}, ridge={model.ridge:g}")  # fmt: skip
    print(f"  optimal width      {opt.width:.6g}   (status {opt.status})")
    print(f"  gen. error there   {opt.gen_error:.6g}")
    stable = "stable (AT < 1)" if opt.at < 1 else "UNSTABLE (AT >= 1: replica symmetry breaking)"
    print(f"  RS stability       AT = {opt.at:.4g}: {stable}")
    q_in = Quantizer.uniform(args.bits, args.input_width)
    eta_c = max_stable_lr(STEProblem(input_quantizer=q_in, eta=1.0, ridge=args.ridge))
    eta_0 = max_stable_lr(STEProblem(eta=1.0, ridge=args.ridge))
    print(
        f"STE training with {args.bits}-bit inputs on [-{args.input_width:g}, {args.input_width:g}]:"
    )
    print(f"  max stable learning rate  {eta_c:.6g}   (unquantized {eta_0:.6g})")
    print("  with quantized weights only, the STE limit dynamics cannot blow up (bounded drift)")
    return 0 if opt.converged else 1


def _cmd_repro(args) -> int:
    import paper_repro

    mods = paper_repro.available()
    if not mods:
        print("replica repro: no paper reproductions are available yet (paper_repro/ is empty)")
        return 0
    names = args.names or list(mods)
    unknown = [n for n in names if n not in mods]
    if unknown:
        raise ValueError(f"NAME: expected one of {sorted(mods)}, got {unknown}")
    steps = ("compute", "plot") if args.step == "all" else (args.step,)
    for name in names:
        print(
            f"[{name}] {mods[name].TITLE}  ({'quick' if args.quick else 'full'}; {'+'.join(steps)})"
        )
        for fig in paper_repro.run(name, Path(args.out), args.quick, steps):
            print(f"  wrote {fig}")
    return 0


def _cmd_bench(args) -> int:
    from . import bench

    bench.run(args.names, quick=args.quick)
    return 0


def _add_grid_args(p) -> None:
    p.add_argument("--bits", type=int, help="bits b (2^b levels)")
    p.add_argument("--width", type=float, help="largest level (grid spans [-width, width])")
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
        choices=("uninformative", "informative"),
        default="uninformative",
        help="branch to start from (default uninformative)",
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
    ad.set_defaults(func=_cmd_advise)

    r = sub.add_parser(
        "repro",
        help="regenerate the paper figures (compute data, then plot)",
        description="Run the paper reproductions in paper_repro/: the compute step writes tidy data "
        "with metadata under OUT/data/NAME/, the plot step writes OUT/NAME/*.png.",
    )
    r.add_argument("names", nargs="*", metavar="NAME", help="reproductions to run (default: all)")
    r.add_argument("--quick", action="store_true", help="coarse grids and few seeds (seconds)")
    r.add_argument("--out", default="figures", help="output folder (default ./figures)")
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
        description="Each benchmark measures a method against its baseline side by side in one run "
        "and prints the ratio with its target.",
    )
    b.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all)")
    b.add_argument("--quick", action="store_true", help="smaller problem sizes")
    b.set_defaults(func=_cmd_bench)
    return p


def main(argv=None) -> int:
    parser = build_parser()
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
