"""The docstring examples are true: every ``>>>`` example in ``replica`` runs and prints what it
shows (an example that drifts from the code misleads the reader first)."""

import doctest
import importlib
import pkgutil

import pytest

import replica

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(replica.__path__, "replica.")
    if not m.name.endswith("__main__")  # runs the CLI when imported
)


def _examples(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    return [t for t in finder.find(module) if t.examples and t.name.startswith(name)]


@pytest.mark.parametrize("name", [n for n in MODULES if _examples(n)])
def test_docstring_examples(name):
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in _examples(name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} failing example(s) in {name} (output above)"
