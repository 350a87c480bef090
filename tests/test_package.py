"""The package's shape: public modules, lazy names, an acyclic import graph, no private seams."""

from __future__ import annotations

import ast
import importlib
import re
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
    expected = {"__version__", *toolkit.PUBLIC_MODULES, *toolkit.STUDY_LAYER}
    for name in toolkit.PUBLIC_MODULES:
        expected |= set(importlib.import_module(f"toolkit.{name}").__all__)
    expected -= set(toolkit.NOT_TOP_LEVEL)
    for names in toolkit.STUDY_LAYER.values():
        expected |= set(names)
    assert set(toolkit.__all__) == expected
    for name in toolkit.__all__:
        assert getattr(toolkit, name) is not None


def test_the_run_api_is_top_level_and_maintenance_helpers_are_not():
    from toolkit.runs import run_study, run_sweep, verify_run
    from toolkit.studies import get_study

    assert (toolkit.run_study, toolkit.run_sweep, toolkit.verify_run, toolkit.get_study) == (
        run_study,
        run_sweep,
        verify_run,
        get_study,
    )
    for name in ("update_model_doc", "fmt_number", "fmt_p", "table_html", "score_components"):
        assert name not in toolkit.__all__ and not hasattr(toolkit, name), name
    from toolkit.compatibility import score_components  # noqa: F401  still importable there
    from toolkit.report import fmt_number  # noqa: F401


def test_import_toolkit_loads_no_heavy_module():
    code = (
        "import sys, toolkit; heavy = [m for m in ('pandas', 'scipy', 'statsmodels', "
        "'matplotlib', 'faker', 'toolkit.simulation') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _stub_names() -> dict[str, str]:
    """Top-level toolkit name -> the module defining it (from the stub)."""
    out = {}
    for node in ast.parse((PKG / "__init__.pyi").read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 1:
            for a in node.names:
                out[a.name] = f"toolkit.{node.module}"
        elif isinstance(node, ast.ImportFrom) and node.module is None:
            for a in node.names:
                out[a.name] = f"toolkit.{a.name}"
    return out


def _facade_functions(tree: ast.AST) -> set[str]:
    """Functions that import ``toolkit`` and return it (``def _tk(): import toolkit; return toolkit``)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            imports = any(
                isinstance(n, ast.Import) and any(a.name == "toolkit" for a in n.names)
                for n in ast.walk(node)
            )
            returns = any(
                isinstance(n, ast.Return)
                and isinstance(n.value, ast.Name)
                and n.value.id == "toolkit"
                for n in ast.walk(node)
            )
            if imports and returns:
                found.add(node.name)
    return found


def _package_facades() -> set[str]:
    """Names of the package's functions that return the ``toolkit`` namespace."""
    return set().union(*(_facade_functions(ast.parse(p.read_text())) for p in PKG.rglob("*.py")))


def imports_of(
    source: str,
    pkg: Path = PKG,
    names: dict[str, str] | None = None,
    facades: set[str] | None = None,
) -> set[str]:
    """Toolkit modules a file imports anywhere: import statements (top level or inside
    functions), ``importlib.import_module("toolkit....")`` with a literal name, and
    attribute use of the ``toolkit`` namespace (``toolkit.x``, ``tk.x`` after ``import
    toolkit as tk`` or ``tk = _tk()`` where ``_tk`` returns the package)."""
    names = _stub_names() if names is None else names
    tree = ast.parse(source)

    def module_of(attr: str) -> str | None:
        if (pkg / f"{attr}.py").exists() or (pkg / attr).is_dir():
            return f"toolkit.{attr}"
        return names.get(attr)

    found: set[str] = set()
    facades = _facade_functions(tree) | (facades or set())
    aliases = (
        {"toolkit"}
        if any(
            isinstance(n, ast.Import)
            and any(a.name == "toolkit" and a.asname is None for a in n.names)
            for n in ast.walk(tree)
        )
        else set()
    )
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("toolkit."):
                    found.add(a.name)
                elif a.name == "toolkit" and a.asname:
                    aliases.add(a.asname)
        elif (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id in facades
        ):
            aliases |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "toolkit":
                found |= {m for a in node.names if (m := module_of(a.name))}
            elif node.module.startswith("toolkit."):
                found.add(node.module)
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if (
                name == "import_module"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and str(node.args[0].value).startswith("toolkit.")
            ):
                found.add(str(node.args[0].value))
        elif isinstance(node, ast.Attribute):
            base = node.value
            through = (isinstance(base, ast.Name) and base.id in aliases) or (
                isinstance(base, ast.Call)
                and isinstance(base.func, ast.Name)
                and base.func.id in facades
            )
            if through and (m := module_of(node.attr)):
                found.add(m)
    return found


_FACADES: set[str] = set()


def _imports(path: Path) -> set[str]:
    if not _FACADES:
        _FACADES.update(_package_facades())
    return imports_of(path.read_text(), facades=_FACADES)


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
            continue  # the lazy re-export layer sits above everything
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
                return stack[stack.index(nxt) :] + [nxt]
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


def layer_ranks(doc: str) -> dict[str, int]:
    """Module (or ``package/``) -> row of the layer table in docs/architecture.md."""
    section = doc.split("## Layers", 1)[1].split("\n## ", 1)[0]
    ranks: dict[str, int] = {}
    row = 0
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if (
            len(cells) < 3
            or not line.startswith("|")
            or set(cells[0]) <= {"-"}
            and set(cells[1]) <= {"-"}
            or cells[1] == "module"
        ):
            continue
        for name in re.findall(r"`([\w/]+)`", cells[1]):
            ranks[name] = row
        row += 1
    return ranks


def rank_of(module: str, ranks: dict[str, int]) -> int | None:
    """The row of a dotted module: its own entry, ``pkg/mod``, else its package's ``pkg/``."""
    parts = module.split(".")[1:]
    for key in ("/".join(parts), *(("/".join(parts[:k]) + "/") for k in range(len(parts), 0, -1))):
        if key in ranks:
            return ranks[key]
    return None


def layer_violations(graph: dict[str, set[str]], ranks: dict[str, int]) -> list[str]:
    """Imports of a lower row than the importer's, and modules missing from the table."""
    bad = []
    for module, deps in sorted(graph.items()):
        own = rank_of(module, ranks)
        if own is None:
            own = rank_of(module + ".__init__", ranks)
        if own is None:
            bad.append(f"{module} is not in the layer table")
            continue
        for dep in sorted(deps):
            theirs = rank_of(dep, ranks)
            if theirs is None:
                theirs = rank_of(dep + ".__init__", ranks)
            if theirs is not None and theirs > own:
                bad.append(f"{module} imports {dep}, a lower layer")
    return bad


def _package_graph() -> dict[str, set[str]]:
    graph = {}
    for path in PKG.rglob("*.py"):
        name = _module_name(path)
        if name == "toolkit":
            continue
        if path.name == "__init__.py":
            name += ".__init__"
        graph[name] = {m for m in _imports(path) if m != name.removesuffix(".__init__")}
    return graph


def test_imports_follow_the_layers_written_in_the_architecture_doc():
    ranks = layer_ranks((ROOT / "docs" / "architecture.md").read_text())
    assert {"errors", "studies/", "runs/kernel", "runs/sweep", "teaching/", "cli"} <= set(ranks)
    graph = _package_graph()
    # teaching reaches the toolkit through its facade: those uses are in the graph
    assert {"toolkit.matching", "toolkit.analysis"} <= graph["toolkit.teaching.programs"] | graph[
        "toolkit.teaching.examples"
    ]
    assert layer_violations(_package_graph(), ranks) == []


def test_layer_check_sees_importlib_and_the_lazy_facade(tmp_path):
    """A fixture package: a low module importing a high one through importlib, or
    through ``import toolkit`` + attribute use, is reported; the same import the other
    way round is not."""
    doc = (
        "## Layers\n\n| layer | module | job |\n|---|---|---|\n| low | `low` | base |\n"
        "| high | `high` | top |\n\n## Next\n"
    )
    ranks = layer_ranks(doc)
    assert ranks == {"low": 0, "high": 1}
    pkg = tmp_path / "toolkit"
    pkg.mkdir()
    for name in ("low", "high"):
        (pkg / f"{name}.py").write_text("")
    sneaky = "import importlib\n\ndef f():\n    return importlib.import_module('toolkit.high')\n"
    facade = (
        "def _tk():\n    import toolkit\n    return toolkit\n\n"
        "def g():\n    tk = _tk()\n    return tk.top_function()\n"
    )
    # the facade defined in one module and used in another
    imported = "from toolkit.low_helpers import api\n\ndef h():\n    return api().top_function()\n"
    names = {"top_function": "toolkit.high"}
    for source, facades in ((sneaky, set()), (facade, set()), (imported, {"api"})):
        graph = {
            "toolkit.low": imports_of(source, pkg, names, facades) - {"toolkit.low_helpers"},
            "toolkit.high": set(),
        }
        assert layer_violations(graph, ranks) == ["toolkit.low imports toolkit.high, a lower layer"]
    upward = {
        "toolkit.high": imports_of(sneaky.replace("high", "low"), pkg, names),
        "toolkit.low": set(),
    }
    assert upward["toolkit.high"] == {"toolkit.low"}
    assert layer_violations(upward, ranks) == []
    assert layer_violations({"toolkit.other": set()}, ranks) == [
        "toolkit.other is not in the layer table"
    ]


def test_the_host_uses_only_public_names_of_the_study_side():
    """toolkit.runs imports nothing private from toolkit.studies, and the study side
    never imports the host."""
    for path in (PKG / "runs").glob("*.py"):
        for m in _imports(path):
            assert not (m.startswith("toolkit.studies.") and m.split(".")[-1].startswith("_")), (
                f"{path.name} imports {m}"
            )
        assert "._" not in "".join(
            re.findall(r"from toolkit\.studies[\w.]* import", path.read_text())
        )
    for path in (PKG / "studies").glob("*.py"):
        assert not {m for m in _imports(path) if m.startswith("toolkit.runs")}, path.name


def test_cycle_finder_finds_a_cycle():
    """The check above can fail."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_imports_another_modules_private_names():
    offenders = []
    for path in PKG.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("toolkit")
            ):
                # private modules (toolkit._engine, toolkit._seeding) are shared seams;
                # private *names* inside a module are that module's business
                private = [
                    a.name
                    for a in node.names
                    if a.name.startswith("_")
                    and not a.name.startswith("__")
                    and not (node.module == "toolkit" and (PKG / f"{a.name}.py").exists())
                ]
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
        assert listed[name] == set(importlib.import_module(f"toolkit.{name}").__all__) - set(
            toolkit.NOT_TOP_LEVEL
        ), name
    for name, names in toolkit.STUDY_LAYER.items():
        assert listed[name] == set(names), name
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from generate_stub import stub_text
    finally:
        sys.path.pop(0)
    assert (PKG / "__init__.pyi").read_text() == stub_text()


def test_nothing_refers_to_files_outside_the_repository():
    bad = []
    for path in [
        *PKG.rglob("*.py"),
        *ROOT.glob("tests/*.py"),
        ROOT / "README.md",
        *ROOT.glob("docs/*.md"),
    ]:
        text = path.read_text()
        # spelled in pieces so this file does not itself match the search
        for needle in ("DESIGN" + ".md", "shared" + "/calibration", ".." + "/shared"):
            if needle in text and path.name != "test_package.py":
                bad.append(f"{path.relative_to(ROOT)}: {needle}")
    assert bad == []
