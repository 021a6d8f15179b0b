"""End-to-end: every notebook executes (small sizes); the paper reproductions follow their
contract (their --quick runs are executed by tests/test_first_run.py through the README command).

Notebooks are jupytext percent-format ``.py`` files; they are converted and executed with
nbclient in a real kernel, with ``REPLICA_NOTEBOOK_QUICK=1`` so that each finishes in seconds.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import paper_repro

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, monkeypatch, tmp_path):
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("REPLICA_NOTEBOOK_QUICK", "1")
    # the kernel's own inline backend, as in Jupyter: figures become image outputs
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = jupytext.read(path)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors
    # every notebook tells its story with figures shown inline
    images = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    ]
    assert images, f"{path.name}: no figure shown inline"


def test_repro_discovery_contract():
    for name, mod in paper_repro.available().items():
        assert isinstance(mod.TITLE, str) and mod.TITLE, name


def test_notebooks_quick_flag_documented():
    for path in NOTEBOOKS:
        text = path.read_text()
        assert "REPLICA_NOTEBOOK_QUICK" in text, path.name
        # figures show inline: no non-interactive backend, no closing figures before display
        assert 'matplotlib.use("Agg")' not in text and "plt.close(" not in text, path.name
    assert os.environ.get("REPLICA_NOTEBOOK_QUICK") in (None, "0", "1")
