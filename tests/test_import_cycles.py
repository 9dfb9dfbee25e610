"""No import cycle between the modules of ``annotate``, counting imports inside functions too.

A deferred import (inside a function) hides a cycle from Python at import time but not from a
reader: the two modules still need each other. The graph is read with :mod:`ast`, so nothing is
imported and every ``import`` statement counts, wherever it stands.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "annotate"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, name: str, modules: set[str]) -> dict[str, int]:
    """The ``annotate`` modules that module ``name`` (at ``path``) imports, each with its first line."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # `from annotate.models import store` imports the submodule; `from x import f`, module x
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # `import annotate.x.y as z` names a module
                target = target.rpartition(".")[0]
            if target.startswith("annotate") and target != name:
                found.setdefault(target, node.lineno)
    return found


def import_graph() -> dict[str, dict[str, int]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {module_name(p): imported_modules(p, module_name(p), modules) for p in paths}


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle (as a path that returns to its start) through each strongly connected component."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan (1972); the graph has about a hundred modules
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_cycle_in(sorted(c), graph) for c in components]


def _cycle_in(component: list[str], graph: dict[str, dict[str, int]]) -> list[str]:
    """The shortest path from the component's first module back to itself (breadth first)."""
    start, members = component[0], set(component)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for v in frontier:
            for w in sorted(graph[v]):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if w in members and w not in came_from:
                    came_from[w] = v
                    following.append(w)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # unreachable for a strongly connected component


def describe(cycle: list[str], graph: dict[str, dict[str, int]]) -> str:
    steps = [f"{a} (line {graph[a][b]})" for a, b in zip(cycle, cycle[1:], strict=False)]
    return " -> ".join([*steps, cycle[-1]])


def test_the_annotate_package_has_no_import_cycle():
    graph = import_graph()
    found = [describe(c, graph) for c in cycles(graph)]
    if found:
        pytest.fail("import cycles (counting imports inside functions):\n  " + "\n  ".join(found), pytrace=False)


def test_a_cycle_is_named_with_the_line_of_each_import():
    graph = {"a": {"b": 1}, "b": {"c": 3}, "c": {"a": 7, "b": 9}, "d": {"a": 2}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert describe(["a", "b", "c", "a"], graph) == "a (line 1) -> b (line 3) -> c (line 7) -> a"


def test_imports_inside_functions_and_relative_imports_count(tmp_path):
    source = tmp_path / "store.py"
    source.write_text(
        "import json\nfrom . import io\n\ndef save():\n    from annotate.models.train import report_html\n"
        "    import annotate.labels as labels\n    from annotate.models import predict\n"
    )
    modules = {"annotate.io", "annotate.models", "annotate.models.io", "annotate.models.train"}
    modules |= {"annotate.labels", "annotate.models.predict"}
    assert imported_modules(source, "annotate.models.store", modules) == {
        "annotate.models.io": 2,
        "annotate.models.train": 5,
        "annotate.labels": 6,
        "annotate.models.predict": 7,
    }
