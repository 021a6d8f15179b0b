"""Packaging and first-contact documents: what a wheel installs, LICENSE, README claims."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_wheel_lists_every_subpackage_and_no_generic_top_level_name():
    st = _pyproject()["tool"]["setuptools"]
    packages = set(st["packages"])
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "replica").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    # every subpackage of replica/ ships (a new one must be added to the explicit list)
    assert on_disk <= packages, sorted(on_disk - packages)
    # paper_repro/ is installed as replica._repro, never as a top-level package
    assert {p.split(".")[0] for p in packages} == {"replica"}
    assert st["package-dir"] == {"replica._repro": "paper_repro"}
    assert (ROOT / "paper_repro" / "__init__.py").is_file()


def test_repro_modules_import_relatively():
    # installed as replica._repro, an absolute `paper_repro` import would fail
    for path in (ROOT / "paper_repro").glob("*.py"):
        assert not re.search(r"^(from|import) paper_repro\b", path.read_text(), re.M), path


def test_license_and_readme_claims():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License") and "2026, replica developers" in text
    assert _pyproject()["project"]["license"] == "BSD-3-Clause"
    readme = (ROOT / "README.md").read_text()
    # not published on a registry: no `pip install replica-theory`, an install from the checkout
    assert not re.search(r"pip install\s+(-\S+\s+)*replica-theory", readme)
    assert "pip install ." in readme


def test_committed_data_are_the_full_versions():
    # every metadata record says whether it is quick; the committed figures/ holds full ones
    import json

    from replica import io

    data = ROOT / "figures" / "data"
    metas = sorted(data.glob("*/*.meta.json"))
    ncs = sorted(data.glob("*/*.nc"))
    assert metas and ncs
    for path in metas:
        assert json.loads(path.read_text()).get("quick") is False, path
    for path in ncs:
        assert io.load_netcdf(path).attrs["meta"].get("quick") is False, path
