"""Architecture: the import graph of ``replica`` is acyclic, infrastructure imports no physics,
the public API only grows, and no module is a monolith.

Kind of truth: structural identities of the source tree (read with :mod:`ast`, nothing is
executed except the imports of the ``__all__`` check).

The import graph counts **every** import statement in a module, at module level and inside
functions alike (a function-level import is a deferred dependency, not an absent one), plus the
modules named in tables and imported by string at run time: the names packages re-export lazily
(``_LAZY``, resolved by their ``__getattr__``). The package/submodule relation itself never counts: importing a
submodule runs its parent packages first, and a package makes its submodules reachable as
attributes (``_SUBPACKAGES``, ``_SUBMODULES``); that is the normal layout, not a dependency.
"""

from __future__ import annotations

import ast
import functools
import importlib
import pkgutil
from pathlib import Path

import pytest

import replica

ROOT = Path(replica.__file__).parent

#: infrastructure modules and the only package modules each may import (``io`` records the
#: package version); they run physics handed in by their callers and never import it
INFRASTRUCTURE = {
    "replica.engine": {"replica._executor", "replica.errors", "replica.io", "replica._version"},
    "replica._executor": set(),
    "replica.io": {"replica.errors", "replica._version"},
    "replica.errors": set(),
    "replica._version": set(),
}

#: import edges that close a known cycle, each with its owner and the way out; the acyclicity
#: test ignores only these edges (any other cycle fails), and an entry whose edge no longer closes
#: a cycle fails too, so the list cannot go stale
KNOWN_CYCLES: dict[tuple[str, str], str] = {}

#: files allowed over MAX_LINES, each with the reason (a file that reads better whole, or a split
#: that is pending and owned)
MAX_LINES = 800
LONG_FILES: dict[str, str] = {}


# ----------------------------------------------------------------------------- the graph
def _modules() -> dict[str, tuple[Path, bool]]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = ["replica", *path.relative_to(ROOT).with_suffix("").parts]
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_pkg)
    return out


def _resolve(name: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _lazy(name: str, is_pkg: bool, tree: ast.Module) -> set[str]:
    """Submodules a package re-exports names from lazily (``_LAZY``: name → submodule, resolved
    by its ``__getattr__``). A package's table of its own submodules (``_SUBPACKAGES``,
    ``_SUBMODULES``) only makes ``package.submodule`` reachable before it is imported: that is
    the package/submodule relation, which never counts (see the module docstring)."""
    out = set()
    for node in tree.body if is_pkg else ():
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name) and target.id == "_LAZY" and node.value is not None:
            out |= {f"{name}.{m}" for m in ast.literal_eval(node.value).values()}
    return out


@functools.cache
def import_graph() -> dict[str, set[str]]:
    """``module -> modules of replica it imports`` (module- and function-level imports)."""
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for name, (path, is_pkg) in mods.items():
        deps = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.split(".")[0] == "replica"}
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(name, is_pkg, node)
                if target.split(".")[0] != "replica":
                    continue
                for a in node.names:
                    sub = f"{target}.{a.name}"
                    deps.add(sub if sub in mods else target)
        # a table entry naming no module fails on access, not on import, and cannot close a
        # cycle: it is left out here (the package's own tests own that check)
        deps |= _lazy(name, is_pkg, tree) & set(mods)
        unknown = {d for d in deps if d not in mods}
        assert not unknown, f"{name} imports modules that do not exist: {sorted(unknown)}"
        deps.discard(name)
        graph[name] = deps
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a closed path ``[a, b, …, a]``, or None (iterative DFS)."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    for start in sorted(graph):
        if colour[start] != WHITE:
            continue
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        colour[start] = GREY
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                colour[node] = BLACK
                stack.pop()
                path.pop()
            elif colour.get(child, BLACK) == GREY:
                return [*path[path.index(child) :], child]
            elif colour.get(child) == WHITE:
                colour[child] = GREY
                stack.append((child, iter(sorted(graph[child]))))
                path.append(child)
    return None


def _closure(graph, start):
    seen, todo = set(), [start]
    while todo:
        for d in graph[todo.pop()]:
            if d not in seen:
                seen.add(d)
                todo.append(d)
    return seen


# ----------------------------------------------------------------------------- tests
def test_cycle_finder_finds_a_planted_cycle_and_accepts_a_dag():
    dag = {"a": {"b", "c"}, "b": {"c"}, "c": set()}
    assert find_cycle(dag) is None
    cyclic = {**dag, "c": {"d"}, "d": {"b"}}
    cycle = find_cycle(cyclic)
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"b", "c", "d"}


def test_graph_sees_module_and_function_level_imports():
    g = import_graph()
    assert "replica.engine" in g["replica.sweep"]  # module level
    assert "replica.sgd.simulate" in g["replica.bench"]  # inside bench._bench_sgd
    assert "replica.dynamics.fixed_points" in g["replica.dynamics"]  # package re-export
    assert "replica.phase" in g["replica"]  # the root's lazy table
    assert "replica.mc.sampler" in g["replica.mc"]  # a subpackage's lazy table


def test_import_graph_is_acyclic():
    graph = {
        m: deps - {d for (a, d) in KNOWN_CYCLES if a == m} for m, deps in import_graph().items()
    }
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_known_cycles_are_still_cycles():
    g = import_graph()
    stale = [
        f"{a} -> {b}" for a, b in sorted(KNOWN_CYCLES) if not (b in g[a] and a in _closure(g, b))
    ]
    assert not stale, f"KNOWN_CYCLES edges that close no cycle any more (remove them): {stale}"


def test_structured_designs_build_on_the_model_layer_not_on_the_iid_solver():
    # solve_rs dispatches a structured design to replica.structured (function-level import):
    # structured takes the model, results and branch helpers from replica.model, below both
    g = import_graph()
    assert "replica.structured" in g["replica.regression"]
    assert "replica.model" in g["replica.structured"] and "replica.model" in g["replica.regression"]
    assert not {"replica.regression", "replica.structured"} & _closure(g, "replica.model")


#: modules kept only so that old import paths work: nothing in the package may import them
SHIMS = ("replica.dynamics.ste",)


@pytest.mark.parametrize("shim", SHIMS)
def test_compatibility_shims_are_not_imported_inside_the_package(shim):
    users = sorted(name for name, deps in import_graph().items() if shim in deps)
    assert not users, f"{shim} is a compatibility re-export; import the real modules in {users}"


@pytest.mark.parametrize("module", sorted(INFRASTRUCTURE))
def test_infrastructure_imports_no_physics(module):
    reached = _closure(import_graph(), module)
    allowed = INFRASTRUCTURE[module]
    assert reached <= allowed, f"{module} reaches {sorted(reached - allowed)}"


def test_no_module_over_the_line_budget():
    long = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent).as_posix()
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_LINES and rel not in LONG_FILES:
            long[rel] = n
    assert not long, (
        f"modules over {MAX_LINES} lines (split them, or justify in LONG_FILES): {long}"
    )
    for rel in LONG_FILES:  # an allowance for a file that shrank is stale
        assert (ROOT.parent / rel).exists(), f"LONG_FILES names a missing file {rel}"


# ----------------------------------------------------------------------------- public API
#: ``__all__`` of every public module before the layout of issue 16 (dynamics/ste.py split,
#: amp instances/denoiser/trajectory, phase → boundaries + engine): a refactor may add names and
#: modules, never drop one (a deliberate removal edits this table)
# fmt: off
SNAPSHOT = {
    "replica": (
        "Additive", "ConvergenceError", "DiscreteTeacher", "FloatRounding",
        "GaussianMixtureTeacher", "GaussianMoments", "GaussianTeacher", "IntRounding",
        "Multiplicative", "QuantizedRegression", "Quantizer", "RSBSolution", "RSSolution",
        "ReplicaError", "Result", "__version__", "at_boundary", "compare_grids", "gauss",
        "interpolation_threshold", "optimal_levels", "optimal_width", "phase_diagram",
        "run_sweep", "solve_1rsb", "solve_rs", "solve_rs_all",
    ),
    "replica.amp": (
        "AMPResult", "Extrapolation", "Instance", "SEResult", "Trajectory", "backend",
        "experiment", "extrapolate", "generate", "prior_moments", "run", "size_means",
        "state_evolution",
    ),
    "replica.amp.amp": (
        "AMPResult", "STALLED", "Trajectory", "prior_moments", "run",
    ),
    "replica.amp.backend": (
        "Backend", "available", "backend_of", "device_of", "namespace", "resolve", "scalar",
        "to_numpy",
    ),
    "replica.amp.experiment": (
        "Extrapolation", "Instance", "experiment", "extrapolate", "generate", "size_means",
    ),
    "replica.amp.state_evolution": (
        "SEResult", "state_evolution",
    ),
    "replica.bench": (
        "BENCHMARKS", "Measurement", "best_time", "interleaved", "run",
    ),
    "replica.batch": ("solve_rs_many",),  # issue 18: the batched RS solver
    "replica.channel": (
        "ChannelAverages", "channel_averages", "clustered_rule", "grid_posterior", "legendre01",
        "log_partition", "transitions",
    ),
    "replica.channel_batch": ("channel_averages_many",),
    "replica.dynamics": (
        "Elementwise", "FixedPoint", "PDESolution", "Plateau", "STEProblem", "Simulation",
        "Trajectory", "closure_moments", "drift", "fixed_points", "gibbs_density", "jacobian",
        "max_stable_lr", "moment_derivatives", "ode", "pde", "plateau", "simulate",
    ),
    "replica.dynamics.simulate": (
        "Simulation", "simulate",
    ),
    "replica.dynamics.ste": (
        "Elementwise", "FixedPoint", "PDESolution", "Plateau", "STEProblem", "Trajectory",
        "closure_moments", "drift", "fixed_points", "gibbs_density", "jacobian", "max_stable_lr",
        "moment_derivatives", "ode", "pde", "plateau",
    ),
    "replica.errors": (
        "ConvergenceError", "ReplicaError", "available_memory", "check", "check_memory",
    ),
    "replica.gauss": (
        "expect", "hermite_rule", "mp_expect", "norm_cdf", "norm_pdf", "norm_sf",
        "staircase_mean", "staircase_stein",
    ),
    "replica.io": (
        "atomic_write", "load_csv", "load_netcdf", "metadata", "save_csv", "save_netcdf",
    ),
    "replica.noise": (
        "Additive", "FloatRounding", "IntRounding", "Multiplicative",
    ),
    "replica.optimize": (
        "OptimalLevels", "OptimalWidth", "compare_grids", "optimal_levels", "optimal_width",
    ),
    "replica.phase": (
        "ATBoundary", "AT_JUMP", "InterpolationThreshold", "RS_UNSOLVED", "VARY", "at_boundary",
        "interpolation_threshold", "phase_diagram", "with_parameter", "with_width",
    ),
    "replica.quantizers": (
        "CONVENTIONS", "GaussianMoments", "Quantizer",
    ),
    "replica.regression": (
        "NO_RS_SOLUTION", "QuantizedRegression", "RSSolution", "rs_map", "solve_rs",
        "solve_rs_all",
    ),
    "replica.results": (
        "CONVERGED", "DIVERGED", "MAX_ITER", "Result", "STATUSES", "finish",
    ),
    "replica.rsb": (
        "COLLAPSED", "DEGENERATE", "RSBEntropic", "RSBSolution", "rsb_energetic", "rsb_entropic",
        "rsb_free_entropy", "solve_1rsb",
    ),
    "replica.sgd": (
        "AVERAGING", "Bounds", "MonteCarlo", "PowerLawFit", "RiskCurve", "SGDProblem", "SITES",
        "SketchedProblem", "SketchedRisk", "SpectralDistortion", "StepSizeWarning", "TESTS",
        "bounds", "compute_optimal", "effective_size", "exact_risk", "exact_risk_dense",
        "fit_power_law", "geometric_decay", "limit_risk", "quantized_hessian", "simulate",
        "simulate_sketched", "sketched_risk", "sketched_sweep", "spectral_distortion",
    ),
    "replica.sgd.bounds": (
        "Bounds", "SpectralDistortion", "bounds", "quantized_hessian", "spectral_distortion",
    ),
    "replica.sgd.problem": (
        "AVERAGING", "SGDProblem", "SITES", "StepSizeWarning", "geometric_decay",
    ),
    "replica.sgd.risk": (
        "RiskCurve", "TESTS", "exact_risk", "exact_risk_dense", "limit_risk",
    ),
    "replica.sgd.scaling": (
        "PowerLawFit", "compute_optimal", "effective_size", "fit_power_law",
    ),
    "replica.sgd.simulate": (
        "MonteCarlo", "simulate",
    ),
    "replica.sgd.sketched": (
        "SCHEDULES", "SITES", "SketchSpectrum", "SketchedProblem", "SketchedRisk",
        "SketchedSimulation", "approximation_error", "effective_samples", "irreducible_error",
        "quantized_floor", "quantized_spectrum", "simulate_sketched", "sketch", "sketch_spectrum",
        "sketched_hessian", "sketched_quantized_hessian", "sketched_risk", "sketched_sweep",
        "sketched_target", "step_schedule",
    ),
    "replica.stability": (
        "at_from_averages", "at_quantity",
    ),
    "replica.sweep": (
        "FIELDS", "PARAMETERS", "PHASES", "make_quantizer", "run_sweep",
    ),
    "replica.symbolic": (
        "latex", "register_latex_names",
    ),
    "replica.symbolic.regression": (
        "ATDerivation", "RSDerivation", "RidgeDerivation", "ScalarChannel", "at_condition",
        "energetic_from_replicas", "lambdify_energetic", "lambdify_free_entropy",
        "lambdify_gradient", "replicon_perturbation", "ridge_limit", "rs_derivation",
        "rs_free_entropy", "scalar_channel",
    ),
    "replica.symbolic.rsb": (
        "RSBDerivation", "energetic_from_replicas", "lambdify_energetic", "lambdify_free_entropy",
        "lambdify_gradient", "rsb_derivation",
    ),
    "replica.symbolic.ste": (
        "CLOSURES", "critical_learning_rate", "drift", "input_only_fixed_point", "jacobian",
        "lambdified_jacobian", "stability_condition", "symbols",
    ),
    "replica.teachers": (
        "DiscreteTeacher", "GaussianMixtureTeacher", "GaussianTeacher", "TeacherPrior",
    ),
}
# fmt: on

#: names that moved, with their new home: the old module re-exports the very same object
# fmt: off
MOVED = {
    "replica.dynamics.problem": ("replica.dynamics.ste", ("Elementwise", "STEProblem")),
    "replica.dynamics.moments": ("replica.dynamics.ste", ("closure_moments", "moment_derivatives")),
    "replica.dynamics.ode": ("replica.dynamics.ste", ("Trajectory", "drift", "jacobian", "ode")),
    "replica.dynamics.pde": ("replica.dynamics.ste", ("PDESolution", "pde")),
    "replica.dynamics.fixed_points": (
        "replica.dynamics.ste", ("FixedPoint", "fixed_points", "gibbs_density", "max_stable_lr"),
    ),
    "replica.dynamics.plateau": ("replica.dynamics.ste", ("Plateau", "plateau")),
    "replica.amp.instances": ("replica.amp.experiment", ("Instance", "generate")),
    "replica.amp.denoiser": ("replica.amp.amp", ("prior_moments",)),
    "replica.amp.trajectory": ("replica.amp.amp", ("Trajectory",)),
    "replica.boundaries": (
        "replica.phase",
        (
            "AT_JUMP", "RS_UNSOLVED", "VARY", "ATBoundary", "InterpolationThreshold",
            "at_boundary", "interpolation_threshold", "with_parameter", "with_width",
        ),
    ),
    "replica.rsb_free_entropy": (
        "replica.rsb", ("RSBEntropic", "rsb_energetic", "rsb_entropic", "rsb_free_entropy"),
    ),
    "replica.model": (
        "replica.regression",
        (
            "ESTIMATORS", "NO_RS_SOLUTION", "STALLED", "QuantizedRegression", "RSBranch",
            "RSSolution",
        ),
    ),
    "replica.sgd.sketch": (
        "replica.sgd.sketched",
        (
            "SCHEDULES", "SITES", "SketchSpectrum", "approximation_error", "effective_samples",
            "irreducible_error", "quantized_floor", "quantized_spectrum", "sketch",
            "sketch_spectrum", "sketched_hessian", "sketched_quantized_hessian",
            "sketched_target", "step_schedule",
        ),
    ),
}
# fmt: on


def _public_modules():
    names = ["replica"]
    for info in pkgutil.walk_packages(replica.__path__, "replica."):
        if not any(p.startswith("_") for p in info.name.split(".")):
            names.append(info.name)
    return names


@pytest.mark.parametrize("module", sorted(SNAPSHOT))
def test_public_names_are_kept(module):
    mod = importlib.import_module(module)
    now = set(getattr(mod, "__all__", ()))
    missing = set(SNAPSHOT[module]) - now
    assert not missing, f"{module}.__all__ lost {sorted(missing)}"
    for name in now:
        assert hasattr(mod, name), f"{module}.__all__ lists {name!r}, which it does not define"


def test_every_snapshot_module_is_still_public():
    assert set(SNAPSHOT) <= set(_public_modules())


@pytest.mark.parametrize("new", sorted(MOVED))
def test_moved_names_are_the_same_objects(new):
    old, names = MOVED[new]
    a, b = importlib.import_module(new), importlib.import_module(old)
    for name in names:
        assert name in a.__all__, f"{new}.__all__ lacks {name}"
        assert getattr(a, name) is getattr(b, name), f"{old}.{name} is not {new}.{name}"
