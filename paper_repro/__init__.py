"""Reproductions of the papers' figures, one module per paper.

Each module ``paper_repro/<name>.py`` defines

* ``TITLE`` — one line naming the paper;
* ``compute(data_dir: Path, quick: bool) -> None`` — runs the theory/simulations and writes tidy
  data with a metadata record under ``data_dir`` (``figures/data/<name>/``);
* ``plot(data_dir: Path, fig_dir: Path) -> list[Path]`` — only reads that data and writes the
  figures (``figures/<name>/``).

``replica repro`` discovers the modules with :func:`available`; a new paper needs no registration.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

__all__ = ["available", "run"]


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


def run(name: str, out: Path, quick: bool, steps=("compute", "plot")) -> list[Path]:
    """Run the compute and/or plot step of one reproduction; return the figure paths."""
    mods = available()
    if name not in mods:
        raise ValueError(f"name: expected one of {sorted(mods)}, got {name!r}")
    mod = mods[name]
    data_dir = Path(out) / "data" / name
    fig_dir = Path(out) / name
    if "compute" in steps:
        data_dir.mkdir(parents=True, exist_ok=True)
        mod.compute(data_dir, quick=quick)
    figs: list[Path] = []
    if "plot" in steps:
        fig_dir.mkdir(parents=True, exist_ok=True)
        figs = list(mod.plot(data_dir, fig_dir))
    return figs
