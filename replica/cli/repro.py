"""``replica repro``: regenerate the paper figures (compute data, then plot)."""

from __future__ import annotations

from pathlib import Path


def _repro_package():
    """The paper reproductions: ``replica._repro`` when installed from a wheel, the checkout's
    top-level ``paper_repro/`` otherwise."""
    try:
        from .. import _repro
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


def register(sub) -> None:
    """Add the ``repro`` subcommand."""
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
