"""pyproject.toml and environment.yml declare the same runtime dependencies."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

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


def pyproject_dev() -> set[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set().union(*(_name(r) for r in data["project"]["optional-dependencies"]["dev"]))


def test_environment_yml_mirrors_pyproject_runtime_dependencies():
    conda, pip = environment_conda()
    runtime = pyproject_runtime()
    tools = {n.replace("types-pyyaml", "types-pyyaml") for n in pyproject_dev()}
    assert runtime <= conda and conda - runtime <= tools, (
        f"only in pyproject: {sorted(runtime - conda)}; "
        f"only in environment.yml: {sorted(conda - runtime - tools)}"
    )
    assert {"ruff", "mypy"} <= conda  # the gates run in a conda environment too
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
    assert conda - pyproject_runtime() - pyproject_dev() == set()


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
            if name not in toolkit.NOT_TOP_LEVEL:
                assert getattr(toolkit, name) is getattr(mod, name)


def test_license_is_an_spdx_string_that_setuptools_builds_without_warning():
    """A TOML table for project.license is deprecated (builds stop in 2027); the SPDX
    string needs setuptools >= 77."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert data["project"]["license"] == "MIT"
    assert not any("License ::" in c for c in data["project"].get("classifiers", []))
    floors = [r for r in data["build-system"]["requires"] if r.startswith("setuptools")]
    assert floors and int(re.search(r">=\s*(\d+)", floors[0]).group(1)) >= 77


def test_ci_runs_the_gates_and_the_tests_in_the_pinned_environment():
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.index("make lint") < ci.index("make test")
    make = (ROOT / "Makefile").read_text()
    lint = make.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "ruff check" in lint and "ruff format --check" in lint and "mypy toolkit" in lint
    assert "-c $(LOCK)" in make and "\nlock:" in make and "pip freeze" in make
    pins = [
        ln
        for ln in (ROOT / "constraints.txt").read_text().splitlines()
        if ln and not ln.startswith("#")
    ]
    assert pins and all("==" in ln for ln in pins)
    names = {ln.split("==")[0].lower().replace("_", "-") for ln in pins}
    assert {n.replace("_", "-") for n in pyproject_runtime()} <= names
    # pyproject keeps open ranges for library users
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert not [r for r in data["project"]["dependencies"] if "==" in r]


def test_the_lint_exclude_covers_only_notebook_and_report_folders():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    excluded = data["tool"]["ruff"]["extend-exclude"]
    assert "studies" not in excluded  # that pattern also matched toolkit/studies/
    # the notebooks, the rendered reports and the generated stub
    assert set(excluded) <= {"studies/*", "reports", "toolkit/data", "toolkit/__init__.pyi"}
    assert (ROOT / "toolkit" / "py.typed").is_file()


_INSTALLED = """
import sys, toolkit
from pathlib import Path
print(Path(toolkit.__file__).resolve().is_relative_to(Path(sys.prefix).resolve()))
"""


@pytest.mark.slow
def test_a_wheel_installed_in_a_fresh_venv_runs_a_study_and_builds_the_course(tmp_path):
    """Not editable, not from the checkout: a wheel built from it, installed in a fresh
    venv, runs a tiny study and `rmt teaching build` from a temporary folder. The
    toolkit's dependencies come from this environment (a .pth line) to keep the test
    off the network; the toolkit itself only from the wheel."""
    import site
    import subprocess
    import sys
    import sysconfig

    # no PYTHONPATH, and never the checkout's folder as the working folder: only the wheel
    env = {k: v for k, v in __import__("os").environ.items() if k != "PYTHONPATH"}
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
        env=env,
    )
    (wheel,) = dist.glob("reverse_mentoring_toolkit-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            "--ignore-installed",
            "--disable-pip-version-check",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,
        env=env,
    )
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    )
    ours = {sysconfig.get_paths()["purelib"], *site.getsitepackages()}
    (Path(purelib.stdout.strip()) / "rmt_test_dependencies.pth").write_text("\n".join(ours) + "\n")
    # nbconvert's templates are data files of this environment's prefix, found by prefix
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    work = tmp_path / "elsewhere"
    work.mkdir()
    check = subprocess.run(
        [str(python), "-c", _INSTALLED], cwd=work, env=env, capture_output=True, text=True
    )
    assert check.stdout.strip() == "True", check.stderr[-2000:]
    rmt = str(venv / "bin" / "rmt")
    run = subprocess.run(
        [
            rmt,
            "run",
            "meeting_cadence",
            "-p",
            "replicates=2",
            "-p",
            "n_mentors=14",
            "-p",
            "n_mentees=12",
            "-p",
            "cadences=weekly,biweekly",
            "-p",
            "n_models=4",
            "-p",
            "model_replicates=5",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    (folder,) = (work / "runs" / "meeting_cadence").iterdir()
    assert (folder / "report.html").is_file() and (folder / "manifest.json").is_file()
    built = subprocess.run(
        [rmt, "teaching", "build", "--out", "student"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    shipped = sorted(p.name for p in (ROOT / "toolkit" / "data" / "teaching").glob("*.ipynb"))
    assert len(shipped) >= 6  # sessions 1-6 of the course
    assert sorted(p.name for p in (work / "student").glob("*.ipynb")) == shipped
