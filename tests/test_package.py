"""The package's shape: public modules, lazy names, an acyclic import graph, no private seams."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import types
from pathlib import Path

import pytest

import toolkit

PKG = Path(toolkit.__file__).parent
ROOT = PKG.parent


@pytest.mark.parametrize("name", toolkit.PUBLIC_MODULES)
def test_import_as_gives_the_module(name):
    module = importlib.import_module(f"toolkit.{name}")
    assert isinstance(module, types.ModuleType)
    # the attribute of the package is the module too (no function shadows its module)
    assert getattr(toolkit, name) is module


def test_public_names_are_the_modules_all_and_resolve():
    expected = {"__version__", *toolkit.PUBLIC_MODULES}
    for name in toolkit.PUBLIC_MODULES:
        expected |= set(importlib.import_module(f"toolkit.{name}").__all__)
    assert set(toolkit.__all__) == expected
    for name in toolkit.__all__:
        assert getattr(toolkit, name) is not None


def test_import_toolkit_loads_no_heavy_module():
    code = ("import sys, toolkit; heavy = [m for m in ('pandas', 'scipy', 'statsmodels', "
            "'matplotlib', 'faker', 'toolkit.simulation') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _imports(path: Path) -> set[str]:
    """Toolkit modules a file imports anywhere (top level or inside functions)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "toolkit":
                found |= {f"toolkit.{a.name}" for a in node.names
                          if (PKG / f"{a.name}.py").exists() or (PKG / a.name).is_dir()}
            elif node.module.startswith("toolkit."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("toolkit.")}
    return found


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _graph() -> dict[str, set[str]]:
    graph = {}
    for path in PKG.rglob("*.py"):
        name = _module_name(path)
        if name == "toolkit":
            continue   # the lazy re-export layer sits above everything
        graph[name] = {m for m in _imports(path) if m != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if state.get(nxt) is None and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if state.get(node) is None and (found := visit(node)):
            return found
    return None


def test_import_graph_has_no_cycle():
    cycle = _cycle(_graph())
    assert cycle is None, " -> ".join(cycle)


def test_cycle_finder_finds_a_cycle():
    """The check above can fail."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_imports_another_modules_private_names():
    offenders = []
    for path in PKG.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("toolkit"):
                # private modules (toolkit._engine, toolkit._seeding) are shared seams;
                # private *names* inside a module are that module's business
                private = [a.name for a in node.names if a.name.startswith("_")
                           and not a.name.startswith("__")
                           and not (node.module == "toolkit" and (PKG / f"{a.name}.py").exists())]
                if private:
                    offenders.append(f"{path.name}: from {node.module} import {private}")
    assert offenders == []


def test_the_stub_lists_exactly_the_public_modules_names():
    stub = ast.parse((PKG / "__init__.pyi").read_text())
    listed: dict[str, set[str]] = {}
    for node in stub.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module != "_version":
            listed[node.module] = {a.name for a in node.names}
    for name in toolkit.PUBLIC_MODULES:
        assert listed[name] == set(importlib.import_module(f"toolkit.{name}").__all__), name


def test_nothing_refers_to_files_outside_the_repository():
    bad = []
    for path in [*PKG.rglob("*.py"), *ROOT.glob("tests/*.py"), ROOT / "README.md",
                 *ROOT.glob("docs/*.md")]:
        text = path.read_text()
        # spelled in pieces so this file does not itself match the search
        for needle in ("DESIGN" + ".md", "shared" + "/calibration", ".." + "/shared"):
            if needle in text and path.name != "test_package.py":
                bad.append(f"{path.relative_to(ROOT)}: {needle}")
    assert bad == []
