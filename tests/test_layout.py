"""The layout: every module imports only from its own room or the rooms below it, no two
modules import each other (directly or round a cycle), every package lists its public
names, and no source file holds two jobs' worth of code.

The documented order, from the bottom up (README "Layout"):

    core  <  qa, calibration  <  coding  <  probes  <  plugin  <  eval  <  the facade

Every import counts, also those inside functions (lazy imports run too) and the module
names of the packages' lazy ``_EXPORTS`` tables.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

ROOMS = ("core", "qa", "calibration", "coding", "probes", "plugin", "eval")
BELOW: dict[str, set[str]] = {
    "core": set(),
    "qa": {"core"},
    "calibration": {"core"},
    "coding": {"core", "qa"},
    "probes": {"core", "qa", "calibration", "coding"},
    "plugin": {"core", "qa", "calibration", "coding", "probes"},
    "eval": {"core", "qa", "calibration", "coding", "probes", "plugin"},
    "facade": {"core", "qa", "calibration", "coding", "probes", "plugin", "eval"},
}
MAX_LINES = 600
DATA_TABLES: set[str] = set()  # source files allowed past MAX_LINES because they hold data


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.submodule_search_locations, name
    return Path(next(iter(spec.submodule_search_locations)))


def all_modules() -> dict[str, Path]:
    """Every module of the howsure distribution: dotted name -> file."""
    out: dict[str, Path] = {}
    roots = {"howsure": package_dir("howsure")} | {
        f"howsure.{room}": package_dir(f"howsure.{room}") for room in ROOMS
    }
    for pkg, folder in roots.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([pkg, *parts])
            if pkg == "howsure" and parts and parts[0] in ROOMS:
                continue  # not reached: the rooms live in their own folders
            out[name] = path
    return out


def room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ROOMS else "facade"


def imports_of(path: Path, known: set[str], module: str = "howsure._") -> set[str]:
    """The howsure modules ``path`` (the module ``module``) imports, everywhere in the file:
    ``import x``, ``from x import y`` (``x.y`` when that is a module, else ``x``), relative
    imports, ``importlib.import_module("x")`` and the lazy ``_EXPORTS`` targets."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, one level up per extra dot
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*up, *([node.module] if node.module else [])])
            for alias in node.names:  # a submodule, else a name from the module itself
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(str(node.args[0].value))
        elif (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets)
            and isinstance(node.value, ast.Dict)
        ):
            found |= {v.value for v in node.value.values if isinstance(v, ast.Constant)}
    return {name for name in found if name in known}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = all_modules()
    known = set(modules)
    return {name: imports_of(path, known, name) - {name} for name, path in modules.items()}


def test_every_room_is_found(graph) -> None:
    rooms = {room(m) for m in graph}
    assert rooms == {*ROOMS, "facade"}
    assert {"howsure.cli", "howsure.demo", "howsure.qa.judge", "howsure.core.checks"} <= set(graph)


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every import of a module from a room that is not its own nor below it."""
    return [
        f"{mod} ({room(mod)}) imports {dep} ({room(dep)})"
        for mod, deps in sorted(graph.items())
        for dep in sorted(deps)
        if room(dep) != room(mod) and room(dep) not in BELOW[room(mod)]
    ]


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components: each with two modules or more is a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in sorted(graph.get(node, ())):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_no_import_runs_up(graph) -> None:
    assert upward_imports(graph) == []


def test_no_import_cycle(graph) -> None:
    assert import_cycles(graph) == []


def test_the_checks_see_an_upward_import_and_a_cycle(tmp_path) -> None:
    """The two checks above fail on the faults they look for."""
    a, b, c = tmp_path / "a.py", tmp_path / "b.py", tmp_path / "c.py"
    a.write_text("def f():\n    from howsure.plugin.wrapper import wrap\n")
    b.write_text("from howsure.probes import collect\n_EXPORTS = {'x': 'howsure.eval.report'}\n")
    c.write_text("from ..plugin import wrapper\nimportlib.import_module('howsure.eval.report')\n")
    known = {
        "howsure.plugin.wrapper",
        "howsure.probes",
        "howsure.probes.collect",
        "howsure.eval.report",
    }
    assert imports_of(a, known) == {"howsure.plugin.wrapper"}  # inside a function too
    assert imports_of(b, known) == {"howsure.probes.collect", "howsure.eval.report"}
    assert imports_of(c, known, "howsure.probes.sweep") == {
        "howsure.plugin.wrapper",  # relative: howsure.probes -> howsure -> howsure.plugin
        "howsure.eval.report",
    }
    up = {"howsure.probes.sweep": {"howsure.plugin.wrapper"}, "howsure.plugin.wrapper": set()}
    assert upward_imports(up) == [
        "howsure.probes.sweep (probes) imports howsure.plugin.wrapper (plugin)"
    ]
    loop = {"howsure.cli": {"howsure.cli.evaluate"}, "howsure.cli.evaluate": {"howsure.cli"}}
    assert import_cycles({**loop, "howsure": {"howsure.cli"}}) == [sorted(loop)]


@pytest.mark.parametrize(
    "package", ["howsure", *(f"howsure.{r}" for r in ROOMS), "howsure.cli", "howsure.demo"]
)
def test_every_package_lists_its_public_names(package: str) -> None:
    module = importlib.import_module(package)
    names = getattr(module, "__all__", None)
    assert names, f"{package} has no __all__"
    missing = [n for n in names if not hasattr(module, n)]
    assert missing == []


def test_every_module_lists_its_public_names() -> None:
    lacking = [
        name
        for name, path in sorted(all_modules().items())
        if "__all__" not in path.read_text(encoding="utf-8")
        and not name.endswith(("__main__", ".version"))
    ]
    assert lacking == []


def test_no_source_file_holds_two_jobs() -> None:
    long = {
        name: n
        for name, path in all_modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
        and name not in DATA_TABLES
    }
    assert long == {}
