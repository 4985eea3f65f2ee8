"""The package stack of ``docs/architecture.md``, checked on the source.

Every module under ``tilsyn/`` is parsed (AST, nothing is imported) and every ``import`` in it is
followed: at module level, inside functions and inside ``if TYPE_CHECKING:`` blocks alike. The
test fails on

(a) an import cycle between modules;
(b) a module importing a package above its own in the stack (:data:`LAYERS`); a package the
    table does not know fails too, so a new package must be placed;
(c) a module over :data:`MAX_LINES` lines.

One exemption, for (a) only: imports under ``if TYPE_CHECKING:`` never run, so they cannot make
an import cycle at run time, and the two ends of an ORM relationship in two modules of the same
layer (``User.units`` / ``Unit.leaders``) name each other's class for the type checker. They
still count for (b): a package may not even name a type of a package above it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tilsyn"
MAX_LINES = 600

#: The stack, lowest first. A module may import modules of its own layer and of lower ones.
LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "settings",
        "extensions",
        "models_base",
        "enums",
        "errors",
        "web",
        "formatting",
        "formutil",
        "tabular",
        "schemes",
        "audit",
        "auth",
        "org",
        "notifications",
        "permissions",
        "stats",
    ),
    ("cases", "catalogue"),
    ("risk",),
    ("sampling",),
    ("rounds",),
    ("reviews",),
    ("quality",),
    ("feedback",),
    ("results",),
    # The top: start pages and navigation, the demo, the command line, the model registry, the
    # app factory (``tilsyn/__init__.py``, named ``tilsyn`` here) and the scheduler process.
    (
        "core",
        "demo",
        "demo_export",
        "demo_commands",
        "commands",
        "cli",
        "models",
        "tilsyn",
        "scheduler",
    ),
)
LAYER_OF: dict[str, int] = {name: i for i, names in enumerate(LAYERS) for name in names}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {
    _module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts
}


def _package(module: str) -> str:
    """The stack entry a module belongs to: ``tilsyn.rounds.views`` -> ``rounds``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _imports(module: str, path: Path) -> Iterator[tuple[str, bool, int]]:
    """``(imported tilsyn module, under TYPE_CHECKING, line)`` for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            guarded.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name
                while name and name not in MODULES:
                    name = name.rpartition(".")[0]
                if name:
                    yield name, id(node) in guarded, node.lineno
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, path.name == "__init__.py", node)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                name = sub if sub in MODULES else target
                while name and name not in MODULES:
                    name = name.rpartition(".")[0]
                if name:
                    yield name, id(node) in guarded, node.lineno


EDGES: dict[str, list[tuple[str, bool, int]]] = {
    module: sorted(set(_imports(module, path))) for module, path in MODULES.items()
}


def test_the_walk_sees_imports_of_every_kind() -> None:
    """The walk itself: module level, inside a function and under TYPE_CHECKING."""
    assert len(MODULES) > 50
    scheduler = {name for name, _guarded, _line in EDGES["tilsyn.scheduler"]}
    assert {"tilsyn", "tilsyn.rounds.scheduled", "tilsyn.reviews.findings"} <= scheduler
    factory = {name for name, _guarded, _line in EDGES["tilsyn"]}
    assert "tilsyn.models" in factory  # imported inside create_app()
    guarded = {name for name, is_guarded, _line in EDGES["tilsyn.org.models"] if is_guarded}
    assert guarded == {"tilsyn.auth.models"}


def test_every_package_has_a_place_in_the_stack() -> None:
    unknown = sorted({_package(m) for m in MODULES} - set(LAYER_OF))
    assert unknown == [], f"Place these packages in LAYERS (docs/architecture.md): {unknown}"


def test_no_package_imports_a_package_above_it() -> None:
    upward = [
        f"{MODULES[module].relative_to(ROOT)}:{line} imports {name} "
        f"({_package(module)} is below {_package(name)})"
        for module, edges in EDGES.items()
        for name, _guarded, line in edges
        if LAYER_OF.get(_package(name), -1) > LAYER_OF.get(_package(module), len(LAYERS))
    ]
    assert upward == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    graph = {
        module: {name for name, guarded, _line in edges if not guarded and name != module}
        for module, edges in EDGES.items()
    }
    assert _cycles(graph) == []


@pytest.mark.parametrize("path", sorted(str(p.relative_to(ROOT)) for p in MODULES.values()))
def test_module_is_at_most_600_lines(path: str) -> None:
    lines = len((ROOT / path).read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path} has {lines} lines; split it along its seams"
