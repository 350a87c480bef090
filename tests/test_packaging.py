"""pyproject.toml and environment.yml declare the same runtime dependencies."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# conda-forge splits some PyPI packages (dask[distributed] -> dask + distributed).
EXTRAS_AS_PACKAGES = {"dask[distributed]": {"dask", "distributed"}}


def _name(requirement: str) -> set[str]:
    base = re.split(r"[<>=!~ ;]", requirement.strip(), maxsplit=1)[0].lower()
    return EXTRAS_AS_PACKAGES.get(base, {re.sub(r"\[.*\]", "", base)})


def pyproject_runtime() -> set[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set().union(*(_name(r) for r in data["project"]["dependencies"]))


def environment_conda() -> tuple[set[str], list[str]]:
    names, pip = set(), []
    in_deps = in_pip = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        stripped = line.split("#", 1)[0].rstrip()
        if not stripped:
            continue
        if re.match(r"^dependencies:", stripped):
            in_deps = True
            continue
        if in_deps and re.match(r"^\S", stripped):
            in_deps = False
        if not in_deps:
            continue
        item = stripped.strip()
        if item == "- pip:":
            in_pip = True
            continue
        if in_pip and line.startswith("      - "):
            pip.append(item[2:])
            continue
        in_pip = False
        names |= _name(item[2:])
    names -= {"python", "pip"}
    return names, pip


def test_environment_yml_mirrors_pyproject_runtime_dependencies():
    conda, pip = environment_conda()
    runtime = pyproject_runtime()
    assert conda == runtime, (f"only in pyproject: {sorted(runtime - conda)}; "
                              f"only in environment.yml: {sorted(conda - runtime)}")
    assert "-e ." in pip


def test_parser_sees_a_missing_dependency(tmp_path, monkeypatch):
    """The sync check can fail: drop one package from a copy and it reports the gap."""
    text = (ROOT / "environment.yml").read_text().replace("  - seaborn>=0.13\n", "")
    fake_root = tmp_path
    (fake_root / "environment.yml").write_text(text)
    (fake_root / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    monkeypatch.setattr(__import__(__name__), "ROOT", fake_root)
    conda, _ = environment_conda()
    assert pyproject_runtime() - conda == {"seaborn"}


def test_console_script_and_python_floor():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert data["project"]["name"] == "reverse-mentoring-toolkit"
    assert data["project"]["scripts"]["rmt"] == "toolkit.cli:app"
    assert data["project"]["requires-python"] == ">=3.11"


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_public_api_has_no_name_exported_twice():
    """No two public modules export the same name (the lazy stub would keep only one)."""
    import importlib

    import toolkit

    seen: dict[str, str] = {}
    for module in toolkit.PUBLIC_MODULES:
        mod = importlib.import_module(f"toolkit.{module}")
        for name in mod.__all__:
            assert name not in seen, f"{name} exported by {seen.get(name)} and {module}"
            seen[name] = module
            assert getattr(toolkit, name) is getattr(mod, name)


def test_license_is_an_spdx_string_that_setuptools_builds_without_warning():
    """A TOML table for project.license is deprecated (builds stop in 2027); the SPDX
    string needs setuptools >= 77."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert data["project"]["license"] == "MIT"
    assert not any("License ::" in c for c in data["project"].get("classifiers", []))
    floors = [r for r in data["build-system"]["requires"] if r.startswith("setuptools")]
    assert floors and int(re.search(r">=\s*(\d+)", floors[0]).group(1)) >= 77
