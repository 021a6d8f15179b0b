"""Reproductions of the papers' figures, one module per paper.

Each module ``paper_repro/<name>.py`` defines

* ``TITLE`` — one line naming the paper;
* ``compute(data_dir: Path, quick: bool) -> None`` — runs the theory/simulations and writes tidy
  data with a metadata record under ``data_dir`` (``figures/data/<name>/``);
* ``plot(data_dir: Path, fig_dir: Path) -> list[Path]`` — only reads that data and writes the
  figures (``figures/<name>/``).

``replica repro`` discovers the modules with :func:`available`; a new paper needs no registration.
A module may also define ``QUICK_SECONDS``, the measured duration of its quick run (both steps, on
2 CPU cores), which ``replica repro --quick`` prints as its estimate.

Installed from a wheel, this folder is the subpackage ``replica._repro`` (no generic top-level
name enters the user's environment); in a checkout it is importable as ``paper_repro``.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from pathlib import Path
from types import ModuleType

__all__ = ["available", "names", "run"]


def names() -> list[str]:
    """Names of the reproduction modules, without importing them (for help texts)."""
    return sorted(i.name for i in pkgutil.iter_modules(__path__) if not i.name.startswith("_"))


def available() -> dict[str, ModuleType]:
    """Reproduction modules found in this package, by name (sorted)."""
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        if callable(getattr(mod, "compute", None)) and callable(getattr(mod, "plot", None)):
            found[info.name] = mod
    return found


def run(name: str, out: Path, quick: bool, steps=("compute", "plot"), echo=None) -> list[Path]:
    """Run the compute and/or plot step of one reproduction; return the figure paths.

    Every metadata record written by the compute step says ``"quick": true/false``. With
    ``echo`` (e.g. ``print``), each data file is reported as it is written, with the seconds
    since the step started (a progress line per step of the computation).
    """
    from replica import io

    mods = available()
    if name not in mods:
        raise ValueError(f"name: expected one of {sorted(mods)}, got {name!r}")
    mod = mods[name]
    out = Path(out)
    data_dir = out / "data" / name
    fig_dir = out / name
    t0 = time.perf_counter()

    def report(path):
        path = Path(path)
        if echo is None or path.name.endswith(".meta.json") or path.parent.name.endswith(".parts"):
            return
        try:
            shown = path.relative_to(out)
        except ValueError:
            shown = path
        echo(f"  {time.perf_counter() - t0:6.1f} s  {shown}")

    if "compute" in steps:
        data_dir.mkdir(parents=True, exist_ok=True)
        with io.context(quick=bool(quick), on_write=report):
            mod.compute(data_dir, quick=quick)
    figs: list[Path] = []
    if "plot" in steps:
        if echo is not None:
            echo(f"  {time.perf_counter() - t0:6.1f} s  plotting into {fig_dir}")
        fig_dir.mkdir(parents=True, exist_ok=True)
        figs = list(mod.plot(data_dir, fig_dir))
    return figs
