"""``replica phase``: RS/RSB phase diagrams over a parameter grid, checkpointed."""

from __future__ import annotations

from pathlib import Path


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

    from .. import io
    from ..phase import phase_diagram
    from ..regression import QuantizedRegression
    from ..sweep import make_quantizer

    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers: expected an integer >= 1, got {args.workers}")
    if args.out is not None:
        io.check_output_path(args.out, "--out")
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

        try:  # a bad address: one line within seconds, not dask's 30 s wait and traceback
            executor = Client(args.scheduler, timeout="5s")
        except Exception as exc:
            why = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise ValueError(
                f"--scheduler: expected the address of a running dask scheduler, got "
                f"{args.scheduler!r} ({why})"
            ) from None
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
                    f", grid={families[0]}" if families != ["uniform"] else ""
                )
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


def register(sub) -> None:
    """Add the ``phase`` subcommand."""
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
