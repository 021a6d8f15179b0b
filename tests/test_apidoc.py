"""The HTML API reference (pdoc, configured from pyproject.toml): every public object has a
docstring, every cross-reference resolves, and the build emits no warning."""

from __future__ import annotations

import types

import pytest

from replica import _apidoc


def test_every_public_object_is_documented_and_every_reference_resolves():
    problems = _apidoc.check()
    assert problems == [], "\n".join(problems)


def test_the_check_catches_what_it_should(monkeypatch):
    import sys

    mod = types.ModuleType("replica._fake_docs")
    mod.__doc__ = "See :func:`replica.solve_rs` and :class:`Quantizer`."

    def documented():
        """Uses :func:`no_such_function` and :class:`~replica.results.Result`."""

    def undocumented():
        pass

    documented.__module__ = undocumented.__module__ = mod.__name__
    mod.documented, mod.undocumented = documented, undocumented
    mod.__all__ = ["documented", "undocumented"]
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    problems = _apidoc.check([mod.__name__])
    assert problems == [
        "replica._fake_docs.documented: cross-reference to 'no_such_function' does not resolve",
        "replica._fake_docs.undocumented: public object without a docstring",
    ]


def test_settings_come_from_pyproject():
    cfg = _apidoc.config()
    if not cfg:
        pytest.skip("needs Python >= 3.11 (tomllib) and the checkout's pyproject.toml")
    assert cfg["output"] == "build/apidoc" and cfg["exclude"] == []


@pytest.mark.slow
def test_reference_builds_without_warnings_and_links_the_notebooks(tmp_path):
    pytest.importorskip("pdoc")
    warnings = _apidoc.build(tmp_path)
    assert warnings == [], "\n".join(warnings)
    assert (tmp_path / "replica.html").is_file()
    for name in ("regression", "phase", "sweep", "results", "amp/amp", "dynamics/ode", "sgd/risk"):
        assert (tmp_path / "replica" / f"{name}.html").is_file(), name
    assert 'href="notebooks.html"' in (tmp_path / "replica.html").read_text()
    page = (tmp_path / "notebooks.html").read_text()
    for nb in sorted((_apidoc.ROOT / "notebooks").glob("*.py")):
        assert f"notebooks/{nb.name}" in page and (tmp_path / "notebooks" / nb.name).is_file()
