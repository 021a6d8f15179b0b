"""Results print compactly: every public result type, discovered automatically.

The classes are found by walking the package (any dataclass deriving from
:class:`replica.results.Compact`, which :class:`~replica.results.Result` does, and every public
dataclass in a module's ``__all__``), so a result type added later is checked without editing
this file. Each gets a worst-case synthetic instance (large arrays in every array field, long
tuples, dicts of arrays; built without running ``__init__``) and must print in under 800
characters on one line, without array elements, with a ``_repr_html_`` table. A few real
results from the solvers are checked as well.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import math
import pkgutil

import numpy as np
import pytest

import replica
from replica.results import Compact, Result

MAX_REPR = 800
# parameter specifications (not results) whose field-by-field repr is their reconstruction
SPECS = {"Quantizer", "QuantizedRegression", "STEProblem", "Elementwise", "GaussianTeacher",
         "GaussianMixtureTeacher", "DiscreteTeacher", "Additive", "Multiplicative",
         "IntRounding", "FloatRounding", "SiteNoise", "Backend", "ScalarChannel"}  # fmt: skip
SENTINEL = 0.123456789  # the value of every array element: must never be printed


def _modules():
    for info in pkgutil.walk_packages(replica.__path__, "replica."):
        if info.name.startswith("replica.symbolic"):
            continue  # derivations (sympy expressions), not results
        if info.name.rsplit(".", 1)[-1] == "__main__":
            continue  # `python -m` entry points run on import
        try:
            yield importlib.import_module(info.name)
        except ImportError:  # an optional dependency (GPU, dask) missing
            continue


def _result_classes():
    found = {}
    for mod in _modules():
        public = set(getattr(mod, "__all__", ()))
        for name, obj in vars(mod).items():
            if not (inspect.isclass(obj) and dataclasses.is_dataclass(obj)):
                continue
            if not obj.__module__.startswith("replica") or obj.__name__.startswith("_"):
                continue
            if obj in (Compact, Result) or obj.__name__ in SPECS:
                continue
            if issubclass(obj, Compact) or name in public:
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return dict(sorted(found.items()))


CLASSES = _result_classes()


def _value(annotation: str):
    a = str(annotation)
    if any(k in a for k in ("ndarray", "Array", "array")):
        return np.full(1000, SENTINEL)
    if a.startswith(("dict", "Mapping")):
        return {f"key{i}": np.full(100, SENTINEL) for i in range(10)}
    if a.startswith(("tuple", "list", "Sequence")):
        return tuple(np.full(300, SENTINEL))
    if a.startswith("float"):
        return math.pi
    if a.startswith("int"):
        return 123456
    if a.startswith("bool"):
        return True
    if a.startswith("str"):
        return "converged"
    return np.full(1000, SENTINEL)  # anything else: the worst case


def _real_mc(kind):
    from replica import Quantizer, mc

    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 6)) / np.sqrt(6)
    y = X @ rng.choice([-1.0, 1.0], 6)
    if kind == "enumerate":
        return mc.enumerate(X, y, Quantizer.uniform(1, 1.0), beta=[1.0, 2.0])
    return mc.sample(X, y, Quantizer.uniform(1, 1.0), betas=[1.0, 2.0], sweeps=40, replicas=2,
                     throw=False)  # fmt: skip


# classes whose hand-written __repr__ reads consistent arrays: a real instance (the others get
# the synthetic one)
REAL = {"EnumerationResult": lambda: _real_mc("enumerate"), "MCResult": lambda: _real_mc("sample")}


def _synthetic(cls):
    obj = object.__new__(cls)
    for f in dataclasses.fields(cls):
        object.__setattr__(obj, f.name, _value(f.type))
    return obj


def test_discovery_finds_the_result_types():
    names = {c.__name__ for c in CLASSES.values()}
    expected = {"RSSolution", "RSBSolution", "Trajectory", "Bounds", "RiskCurve", "AMPResult",
                "SEResult", "OptimalWidth", "ATBoundary", "PDESolution", "SketchedRisk"}  # fmt: skip
    assert expected <= names, sorted(expected - names)


@pytest.mark.parametrize("cls", list(CLASSES.values()), ids=list(CLASSES))
def test_repr_is_compact(cls):
    own_repr = cls.__repr__ is not Compact.__repr__
    if own_repr and cls.__name__ in REAL:  # a hand-written repr that needs consistent arrays
        obj = REAL[cls.__name__]()
    else:
        obj = _synthetic(cls)
    text = repr(obj)
    assert len(text) < MAX_REPR, (len(text), text[:300])
    assert "\n" not in text
    if not own_repr:
        assert "0.123457" not in text and "0.123456789" not in text, text  # no array elements
    html = type(obj)._repr_html_(obj) if hasattr(obj, "_repr_html_") else None
    assert html is not None and html.startswith("<table>") and cls.__name__ in html


def test_real_results_print_their_headline():
    from replica import QuantizedRegression, Quantizer, dynamics, sgd

    model = QuantizedRegression(quantizer=Quantizer.uniform(2, 1.5), alpha=2.0, beta=5.0,
                                noise=0.1)  # fmt: skip
    sol = replica.solve_rs(model)
    text = repr(sol)
    assert text.startswith("RSSolution(status='converged', n_iter=")
    assert f"gen_error={sol.gen_error:.6g}" in text and f"at={sol.at:.6g}" in text
    traj = dynamics.ode(dynamics.STEProblem(weight_quantizer=Quantizer.uniform(3, 1.0),
                                            eta=0.04, ridge=1.0), t_max=5)  # fmt: skip
    assert f"tau=<ndarray ({traj.tau.size},) float64>" in repr(traj)
    p = sgd.SGDProblem(spectrum=np.arange(1, 201.0) ** -2, w_star=np.ones(200), noise=1.0,
                       batch=1, step=0.05, steps=200)  # fmt: skip
    for obj in (p, sgd.bounds(p), sgd.exact_risk(p)):
        assert len(repr(obj)) < MAX_REPR, repr(obj)[:300]
        assert "<ndarray (200,) float64>" in repr(obj) or "<ndarray" in repr(obj)
    # the full content stays available
    assert dataclasses.asdict(sol)["gen_error"] == sol.gen_error


def test_zero_prints_as_zero():
    from replica.results import compact_repr

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class R(Result):
        mean: float

    assert compact_repr(R(status="converged", n_iter=1, residual=0.0, mean=-0.0)).endswith(
        "residual=0, mean=0)"
    )


def test_symmetric_grid_prints_exact_zeros():
    # `replica quantizer --bits 3 --width 2`: the middle threshold and E[psi] are 0 by symmetry
    from replica import Quantizer

    q = Quantizer.uniform(3, 2.0)
    assert q.thresholds[3] == 0.0
    text = q.describe()
    assert "e-16" not in text and "e-17" not in text
    assert "E[psi(z)]     = 0\n" in text
    assert np.array_equal(q.levels, -q.levels[::-1])
