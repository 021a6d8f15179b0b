"""The HTML API reference: pdoc over every public module, plus checks of the docstrings.

Build it from a checkout with ``python -m replica._apidoc [OUT]`` (needs the ``docs`` extra,
pdoc). Settings come from ``[tool.replica.apidoc]`` in pyproject.toml: ``output`` (default
``build/apidoc``, ignored by git) and ``exclude`` (module names not to document). The build
also copies the notebooks (``notebooks/*.py``) next to the pages and lists them on
``notebooks.html``, linked from the package page.

:func:`check` is what CI asserts (tests/test_apidoc.py): every public function, class, method
and property has a docstring, and every Sphinx-style cross-reference in a docstring
(``:func:`solve_rs```, ``:class:`~replica.results.Result``` …) names an object that exists.
"""

from __future__ import annotations

import html
import importlib
import importlib.util
import inspect
import pkgutil
import re
import shutil
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|exc|obj):`~?([^`<>]+?)`")


def config() -> dict:
    """``[tool.replica.apidoc]`` of the checkout's pyproject.toml (empty when not found)."""
    path = ROOT / "pyproject.toml"
    if not path.is_file() or sys.version_info < (3, 11):
        return {}
    import tomllib

    data = tomllib.loads(path.read_text())
    return data.get("tool", {}).get("replica", {}).get("apidoc", {})


def public_modules(exclude=()) -> list[str]:
    """Names of the modules to document: ``replica`` and every submodule without a leading
    underscore in its path, except ``exclude``."""
    import replica

    names = ["replica"]
    for info in pkgutil.walk_packages(replica.__path__, "replica."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        if info.name in exclude:
            continue
        names.append(info.name)
    return names


def _listed_by_parent(name: str) -> bool:
    """Whether pdoc documents ``name`` by itself as a submodule of its package: the ones the
    package lists in ``__all__``, or all of them when the package has no ``__all__``."""
    parent, _, leaf = name.rpartition(".")
    if not parent:
        return False
    names = getattr(importlib.import_module(parent), "__all__", None)
    return names is None or leaf in names


def _members(module):
    """``(qualified name, object)`` of a module's public API (``__all__``) and of the public
    methods and properties of its classes."""
    out = []
    for name in getattr(module, "__all__", ()):
        obj = getattr(module, name, None)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        out.append((f"{module.__name__}.{name}", obj))
        if inspect.isclass(obj) and obj.__module__ == module.__name__:
            for attr, value in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if isinstance(value, property) or inspect.isfunction(
                    getattr(value, "__func__", value)
                ):
                    out.append((f"{module.__name__}.{name}.{attr}", (obj, attr, value)))
    return out


def _doc(obj) -> str | None:
    if isinstance(obj, tuple):  # (class, attribute, raw value): inherited docs count
        cls, attr, value = obj
        if isinstance(value, property):
            for base in cls.__mro__:
                prop = vars(base).get(attr)
                if isinstance(prop, property) and prop.__doc__:
                    return prop.__doc__
            return None
        return inspect.getdoc(getattr(cls, attr))
    return inspect.getdoc(obj)


def _resolves(target: str, module, owner=None) -> bool:
    """Whether a cross-reference names an existing object: absolute, relative to the module,
    to the owning class, or to the package."""
    import builtins
    import dataclasses

    target = target.strip().rstrip("()")
    if hasattr(builtins, target):
        return True
    bases = [module.__name__]
    if owner is not None:
        bases.insert(0, owner.__module__)
        if dataclasses.is_dataclass(owner) and target in {f.name for f in dataclasses.fields(owner)}:
            return True
    for base in list(bases):  # the enclosing packages too (re-exported names)
        parts = base.split(".")
        bases += [".".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]
    candidates = [target, *(f"{b}.{target}" for b in dict.fromkeys(bases))]
    if owner is not None:
        candidates.insert(0, f"{owner.__module__}.{owner.__qualname__}.{target}")
    for cand in candidates:
        parts = cand.split(".")
        for i in range(len(parts), 0, -1):
            if "__main__" in parts[:i]:  # a `python -m` entry point runs on import: find it only
                if i == len(parts) and importlib.util.find_spec(".".join(parts)) is not None:
                    return True
                continue
            try:
                obj = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            try:
                for j, attr in enumerate(parts[i:]):
                    last = j == len(parts[i:]) - 1
                    if (last and dataclasses.is_dataclass(obj) and
                            attr in {f.name for f in dataclasses.fields(obj)}):  # fmt: skip
                        return True
                    obj = getattr(obj, attr)
            except AttributeError:
                break
            return True
    return False


def check(modules=None) -> list[str]:
    """Problems of the docstrings: public objects without one, and cross-references to objects
    that do not exist. An empty list means the reference is complete."""
    problems = []
    for name in modules or public_modules(config().get("exclude", ())):
        module = importlib.import_module(name)
        texts = [(name, module.__doc__ or "", None)]
        if not (module.__doc__ or "").strip():
            problems.append(f"{name}: module without a docstring")
        for qual, obj in _members(module):
            doc = _doc(obj)
            if not doc:
                problems.append(f"{qual}: public object without a docstring")
                continue
            owner = obj[0] if isinstance(obj, tuple) else obj
            texts.append((qual, doc, owner))
        for qual, text, owner in texts:
            home = sys.modules.get(getattr(owner, "__module__", ""), module)
            cls = owner if inspect.isclass(owner) else None
            for target in ROLE.findall(text):
                if not (_resolves(target, module, cls) or _resolves(target, home, cls)):
                    problems.append(f"{qual}: cross-reference to {target!r} does not resolve")
    return sorted(set(problems))


def _notebooks_page(out: Path) -> list[Path]:
    notebooks = sorted((ROOT / "notebooks").glob("*.py"))
    target = out / "notebooks"
    target.mkdir(parents=True, exist_ok=True)
    items = []
    for nb in notebooks:
        shutil.copy2(nb, target / nb.name)
        title = next((ln.lstrip("# ").strip() for ln in nb.read_text().splitlines()
                      if ln.startswith("# # ")), nb.stem)  # fmt: skip
        items.append(f"<li><a href='notebooks/{nb.name}'>{html.escape(nb.stem)}</a>: "
                     f"{html.escape(title)}</li>")  # fmt: skip
    (out / "notebooks.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>replica notebooks</title>"
        "</head><body><h1>Notebooks</h1><p>jupytext percent-format notebooks (open them in "
        "JupyterLab with jupytext, see the README), one per theory:</p><ul>"
        + "".join(items)
        + "</ul><p><a href='replica.html'>API reference</a></p></body></html>"
    )
    return notebooks


def build(out=None) -> list[str]:
    """Write the HTML reference to ``out`` (default from pyproject.toml, else build/apidoc);
    return the warnings pdoc emitted (unresolved names, failed imports)."""
    import pdoc
    import pdoc.render

    import replica

    cfg = config()
    out = Path(out or cfg.get("output", ROOT / "build" / "apidoc"))
    exclude = cfg.get("exclude", ())
    # names a package imports lazily (module __getattr__) are put where pdoc looks for them
    for name in public_modules(exclude):
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", ()):
            if attr not in vars(module):
                setattr(module, attr, getattr(module, attr))
    pdoc.render.configure(docformat="numpy", show_source=False,
                          footer_text=f"replica {replica.__version__}")  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # every public module once: pdoc adds by itself the submodules a package lists in
        # its __all__
        modules = [m for m in public_modules(exclude) if not _listed_by_parent(m)]
        pdoc.pdoc(*modules, output_directory=out)
    _notebooks_page(out)
    problems = []
    for w in caught:
        text = str(w.message)
        if not (w.filename and "pdoc" in w.filename):
            continue
        # pdoc cannot evaluate the postponed annotations of generated __init__ methods
        # (NamedTuple, dataclass) when a name is imported for type checking only: the
        # signature is shown as written, nothing is unresolved in the reference itself
        if text.startswith("Error parsing type annotation") and ".__init__." in text:
            continue
        problems.append(text)
    return problems


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    problems = check()
    issues = build(argv[0] if argv else None)
    for line in problems + issues:
        print(line)
    return 1 if problems or issues else 0


if __name__ == "__main__":
    sys.exit(main())
