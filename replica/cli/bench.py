"""``replica bench``: run the benchmarks of :mod:`replica.bench` against their targets."""

from __future__ import annotations

import argparse


def _cmd_bench(args) -> int:
    from .. import bench

    results = bench.run(args.names, quick=args.quick, target_scale=args.target_scale)
    return 0 if all(m.met for m in results) else 1


def _bench_names():
    from ..bench import DESCRIPTIONS

    return DESCRIPTIONS.items()


def register(sub) -> None:
    """Add the ``bench`` subcommand."""
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
