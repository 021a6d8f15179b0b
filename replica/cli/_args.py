"""Argument helpers shared by the subcommands: quantizer grids, β, positive numbers."""

from __future__ import annotations

GRIDS = ("uniform", "gaussian_quantile", "power", "power_of_two")


def _quantizer_from_args(args):
    from ..quantizers import Quantizer

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
