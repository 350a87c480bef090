"""Run studies: checked parameters, papermill execution, self-contained reports, manifests,
verification and sweeps (local processes or a Dask cluster).

A run of study ``S`` with parameters ``p`` lives in ``<out>/S/<run_id>/`` (or, for the
canonical run of ``make reports``, in ``reports/S/``)::

    notebook.ipynb   the executed notebook
    report.html      self-contained report (code hidden, images embedded, no outside requests)
    findings.json    the headline findings the notebook showed
    tables/          tidy tables (Parquet; CSV too for small ones)
    figures/         PNG figures
    manifest.json    study, parameters, fingerprint, seed, versions, input and output checksums

The run id is the first 12 hex digits of the fingerprint (sha256 of the canonical JSON of
the study, its validated parameters and the checksums of its input files), so running the
same parameters again finds the earlier run. Parameters are checked before any kernel
starts; a run is written to a temporary folder and renamed into place, so a failed run
leaves nothing at the run path (its partial notebook is kept in ``failed-<run_id>/``).
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit.errors import (
    InvalidParameterError,
    OutputPathError,
    SchedulerError,
    StudyExecutionError,
)
from toolkit.studies import get_study

__all__ = ["RunResult", "SweepResult", "VerifyResult", "check_parameters", "expand_grid",
           "render_report", "run_reports", "run_study", "run_sweep", "verify_run"]

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
# Packages whose versions can change a number; recorded in every manifest.
PACKAGES = ("numpy", "scipy", "pandas", "statsmodels", "matplotlib", "seaborn", "faker",
            "pyarrow", "papermill", "nbconvert", "nbclient", "ipykernel", "pydantic",
            "threadpoolctl", "dask", "distributed")
# Manifest keys that must be identical when a run is reproduced (everything except timing).
REPRODUCIBLE_KEYS = ("format", "study", "run_id", "fingerprint", "parameters", "seed", "inputs",
                     "outputs", "toolkit_version", "python", "packages", "command")
# Run contents whose checksums the manifest records.
_CHECKSUMMED = ("tables", "figures", "findings.json", "report.html")
_CANONICAL_FILES = ("notebook.ipynb", "report.html", "findings.json", "tables", "figures",
                    MANIFEST)


# --------------------------------------------------------------------------- parameters

def check_parameters(study: str, params: Any = None, *, file: str | os.PathLike | None = None
                     ) -> Any:
    """Validated parameters of ``study`` from a StudyParameters, a mapping, ``key=value``
    strings, and/or a YAML/JSON file (strings override the file). No kernel is started."""
    cls = get_study(study).parameters
    if isinstance(params, cls):
        if file is not None:
            raise InvalidParameterError("Give parameters either as an object or with a file, not both.")
        return params
    if file is not None:
        return cls.from_file(file, overrides=_assignments(params))
    if params is None:
        return cls()
    if isinstance(params, Mapping):
        return cls.from_strings(params) if all(isinstance(v, str) for v in params.values()) \
            else cls.from_values(params)
    return cls.from_strings(_assignments(params))


def _assignments(params: Any) -> list[str]:
    if params is None:
        return []
    if isinstance(params, Mapping):
        return [f"{k}={v}" for k, v in params.items()]
    if isinstance(params, str):
        return [params]
    return list(params)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _resolve_inputs(study: Any, params: Any) -> tuple[Any, dict[str, dict[str, str]]]:
    """Absolute paths for input-file parameters (validated, e.g. a roster read through
    toolkit.roster), and their checksums."""
    inputs: dict[str, dict[str, str]] = {}
    changes: dict[str, str] = {}
    for name in study.inputs:
        value = getattr(params, name, None)
        if value is None:
            continue
        p = Path(value).expanduser()
        if not p.is_file():
            raise InvalidParameterError(
                f"The {name!r} parameter of study {study.name} must be an existing file; got {value!r}.")
        if name == "roster":
            from toolkit.roster import read_roster

            read_roster(p)  # the roster's own one-sentence error, before any kernel starts
        changes[name] = str(p.resolve())
        inputs[name] = {"file": p.name, "sha256": _sha256(p)}
    if changes:
        params = type(params).from_values({**params.to_dict(), **changes})
    return params, inputs


def fingerprint(study: str, params: Any, inputs: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of the study, its parameters and its input checksums.

    Input-file parameters count by content (their checksum), not by path."""
    from toolkit.studies._base import canonical_json

    values = params.to_dict()
    for name in inputs:
        values[name] = None
    payload = {"study": study, "parameters": values,
               "inputs": {k: v["sha256"] for k, v in sorted(inputs.items())}}
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


@dataclass(frozen=True)
class _Plan:
    study: Any
    params: Any
    inputs: dict
    fingerprint: str
    run_id: str
    path: Path
    canonical: bool


def _plan(name: str, params: Any, out: str | os.PathLike, canonical: bool, file: Any = None) -> _Plan:
    study = get_study(name)
    params = check_parameters(name, params, file=file)
    params, inputs = _resolve_inputs(study, params)
    fp = fingerprint(name, params, inputs)
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise OutputPathError(f"The output folder {str(root)!r} is an existing file.")
    path = root / name if canonical else root / name / fp[:12]
    return _Plan(study, params, inputs, fp, fp[:12], path, canonical)


def read_manifest(run_dir: str | os.PathLike) -> dict | None:
    """The manifest of a run folder, or None if it has none (or an unreadable one)."""
    p = Path(run_dir) / MANIFEST
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _existing(plan: _Plan) -> dict | None:
    """The manifest already at the run path, refusing a folder that is not a run of this study."""
    p = plan.path
    if not p.exists():
        return None
    if not p.is_dir():
        raise OutputPathError(f"The run path {str(p)!r} is an existing file, not a run of study "
                              f"{plan.study.name}.")
    manifest = read_manifest(p)
    if manifest is None:
        if plan.canonical and not any(c.exists() for c in (p / f for f in _CANONICAL_FILES)):
            return None  # the study's folder holding only other runs
        raise OutputPathError(f"The output folder {str(p)!r} exists and is not a run of study "
                              f"{plan.study.name} (no readable manifest.json); choose another --out.")
    if manifest.get("study") != plan.study.name:
        raise OutputPathError(f"The output folder {str(p)!r} holds a run of study "
                              f"{manifest.get('study')!r}, not {plan.study.name!r}; choose another --out.")
    return manifest


# --------------------------------------------------------------------------- running

@dataclass(frozen=True)
class RunResult:
    """Where a run is, its id and fingerprint, and whether it was found rather than run."""

    study: str
    path: Path
    run_id: str
    fingerprint: str
    skipped: bool = False
    wall_seconds: float = 0.0


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def installed_versions() -> dict[str, Any]:
    """Toolkit, Python and package versions of this environment."""
    import platform
    from importlib import metadata

    import toolkit

    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {"toolkit_version": toolkit.__version__, "python": platform.python_version(),
            "packages": packages}


def _checksums(folder: Path) -> dict[str, str]:
    out = {}
    for entry in _CHECKSUMMED:
        p = folder / entry
        files = sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p] if p.is_file() else []
        for f in files:
            out[f.relative_to(folder).as_posix()] = _sha256(f)
    return out


def _kernel_name() -> str:
    # "python3" is ipykernel's native spec; jupyter_client runs it with sys.executable, so
    # the kernel imports the same toolkit as this process.
    return "python3"


def _failure_message(exc: Exception) -> str:
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = str(getattr(exc, "evalue", exc)).strip().splitlines()
    cell = getattr(exc, "exec_count", None)
    where = f"cell {cell}" if cell is not None else "a cell"
    return f"{where}: {ename}: {evalue[0] if evalue else ''}".rstrip(": ")


def _replace_canonical(tmp: Path, path: Path) -> None:
    """Move a finished canonical run into ``path``, keeping other runs stored beneath it."""
    if not path.exists():
        os.replace(tmp, path)
        return
    old = Path(tempfile.mkdtemp(prefix=f".old-{path.name}-", dir=path.parent))
    for entry in _CANONICAL_FILES:
        if (path / entry).exists():
            os.replace(path / entry, old / entry)
    for entry in _CANONICAL_FILES:
        if (tmp / entry).exists():
            os.replace(tmp / entry, path / entry)
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)


def run_study(name: str, params: Any = None, *, out: str | os.PathLike = "reports",
              file: str | os.PathLike | None = None, canonical: bool = False,
              force: bool = False, progress: bool = True,
              echo: Callable[[str], None] | None = None) -> RunResult:
    """Run study ``name`` with ``params``; return where the run is.

    ``params``: a StudyParameters, a mapping, or ``key=value`` strings (``file``: YAML or
    JSON, overridden by the strings). Everything is validated before a kernel starts
    (:class:`~toolkit.errors.InvalidParameterError`). A run with the same fingerprint
    already at the run path is found and returned (``skipped=True``) unless ``force``;
    ``canonical`` writes to ``<out>/<name>/`` and always runs. A failing cell raises
    :class:`~toolkit.errors.StudyExecutionError`, leaves nothing at the run path and keeps
    the partial notebook in ``failed-<run_id>/`` beside it.
    """
    import papermill

    plan = _plan(name, params, out, canonical, file)
    existing = _existing(plan)
    if existing is not None and not (canonical or force) \
            and existing.get("fingerprint") == plan.fingerprint:
        return RunResult(name, plan.path, plan.run_id, plan.fingerprint, skipped=True)
    if existing is not None and not (canonical or force):
        raise OutputPathError(f"The run folder {str(plan.path)!r} holds a run of study {name} "
                              "with other parameters; remove it or run with --force.")
    notebook = Path(plan.study.notebook)
    if not notebook.is_file():
        raise OutputPathError(f"The notebook of study {name} is missing: {str(notebook)!r}.")

    parent = plan.path.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{plan.run_id}-", dir=parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; a run folder is as readable as any other
    start = time.perf_counter()
    try:
        (tmp / "tables").mkdir()
        (tmp / "figures").mkdir()
        try:
            papermill.execute_notebook(
                str(notebook), str(tmp / "notebook.ipynb"), parameters=plan.params.to_dict(),
                cwd=str(tmp), kernel_name=_kernel_name(), progress_bar=progress,
                log_output=False, report_mode=False,
                # the kernel's own start-up warnings (plain-TCP transport) are not the user's
                # business; its errors still show
                extra_arguments=["--IPKernelApp.log_level=ERROR"])
        except papermill.PapermillExecutionError as exc:
            failed = parent / f"failed-{plan.run_id}"
            shutil.rmtree(failed, ignore_errors=True)
            os.replace(tmp, failed)
            raise StudyExecutionError(
                f"Study {name} failed in {_failure_message(exc)}. The partial notebook is in "
                f"{failed / 'notebook.ipynb'}.") from None
        _strip_run_times(tmp / "notebook.ipynb")
        render_report(tmp / "notebook.ipynb", tmp / "report.html", plan.study, plan.params,
                      run_id=plan.run_id)
        wall = time.perf_counter() - start
        manifest = {
            "format": MANIFEST_FORMAT, "study": name, "run_id": plan.run_id,
            "fingerprint": plan.fingerprint, "parameters": plan.params.to_dict(),
            "seed": plan.params.seed,
            "inputs": {"notebook": {"file": notebook.name, "sha256": _sha256(notebook)},
                       **plan.inputs},
            "outputs": _checksums(tmp), **installed_versions(),
            "git_commit": _git_commit(), "command": plan.params.command(),
            "reproducible_keys": list(REPRODUCIBLE_KEYS),
            "timing": {"wall_seconds": round(wall, 3),
                       "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        if canonical:
            _replace_canonical(tmp, plan.path)
        else:
            if plan.path.exists():  # --force over an earlier run of this study
                old = Path(tempfile.mkdtemp(prefix=f".old-{plan.run_id}-", dir=parent))
                os.replace(plan.path, old / "run")
                os.replace(tmp, plan.path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, plan.path)
        shutil.rmtree(parent / f"failed-{plan.run_id}", ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return RunResult(name, plan.path, plan.run_id, plan.fingerprint, wall_seconds=wall)


# --------------------------------------------------------------------------- reports

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
 color:#1a1a1a;background:#fff;margin:0;line-height:1.5}
main{max-width:960px;margin:0 auto;padding:1.5rem 1.5rem 4rem}
h1{font-size:1.8rem;margin:.5rem 0 1rem}h2{font-size:1.35rem;margin-top:2rem;
 border-bottom:1px solid #ddd;padding-bottom:.2rem}h3{font-size:1.05rem;margin-bottom:.2rem}
a.anchor-link{display:none}
#findings{background:#f3f7fb;border-left:4px solid #0072B2;padding:.4rem 1.2rem 1rem;margin:1rem 0}
#findings h2{border:none;margin-top:.6rem}ul.findings li{margin:.35rem 0}
p.robustness{font-style:italic;color:#444}
details{margin:.4rem 0}summary{cursor:pointer;font-weight:600;margin:.3rem 0}
figure.rmt-figure{margin:1.2rem 0}figure.rmt-figure img{max-width:100%;height:auto}
figcaption{font-size:.9rem;color:#444;margin-top:.3rem}
table.estimates{border-collapse:collapse;font-size:.85rem;margin:1rem 0;display:block;
 overflow-x:auto;max-width:100%}
table.estimates caption{text-align:left;font-weight:600;padding:.3rem 0;caption-side:top}
table.estimates th,table.estimates td{border-bottom:1px solid #e3e3e3;padding:.25rem .6rem;white-space:nowrap;
 text-align:left;vertical-align:top}
table.params td{white-space:normal}
table.estimates th{background:#f6f6f6;white-space:normal;vertical-align:bottom}
pre{background:#f6f6f6;padding:.8rem;overflow-x:auto;white-space:pre-wrap}
footer{margin-top:3rem;font-size:.8rem;color:#666}
"""


def _page(title: str, body: str, footer: str = "") -> str:
    foot = f"<footer>{footer}</footer>" if footer else ""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
            f"<body><main>{body}{foot}</main></body></html>\n")


def _strip_run_times(path: Path) -> None:
    """Make the executed notebook a pure function of the parameters: drop execution
    timestamps (the manifest keeps the wall time) and give papermill's injected cell a
    fixed id instead of a random one, so a re-run gives the same notebook and report."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    meta = nb.metadata.get("papermill", {})
    for key in ("start_time", "end_time", "duration"):
        meta.pop(key, None)
    # the temporary run folder and the checkout's location are not part of the result
    for key in ("input_path", "output_path"):
        if meta.get(key):
            meta[key] = Path(meta[key]).name
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for key in ("start_time", "end_time", "duration"):
            cell.metadata.get("papermill", {}).pop(key, None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.id = "injected-parameters"
    nbformat.write(nb, str(path))


def render_report(notebook: str | os.PathLike, target: str | os.PathLike, study: Any,
                  params: Any, *, run_id: str = "") -> Path:
    """Render an executed study notebook as a self-contained HTML report.

    nbconvert's ``basic`` template (cells only: no CDN require.js, MathJax or web fonts)
    with the input cells, prompts, stream output (logs, warnings) and bare return values
    removed, wrapped in a page with its own CSS.
    """
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs
                            if o.get("output_type") in ("display_data",)]
    exporter = HTMLExporter(template_name="basic", exclude_input=True,
                            exclude_input_prompt=True, exclude_output_prompt=True,
                            embed_images=True)
    body, _ = exporter.from_notebook_node(nb)
    footer = (f"Study {html.escape(study.name)}"
              + (f", run {html.escape(run_id)}" if run_id else "")
              + ". Generated by the reverse-mentoring toolkit; numbers are simulated.")
    target = Path(target)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(_page(study.title, body, footer), encoding="utf-8")
    os.replace(tmp, target)
    return target


def run_reports(out: str | os.PathLike = "reports", studies: Sequence[str] | None = None, *,
                progress: bool = True, echo: Callable[[str], None] = print) -> Path:
    """Run every registered study (or ``studies``) at its defaults into ``<out>/<study>/``
    and write ``<out>/index.html``; returns the index path."""
    from toolkit.studies import list_studies

    names = list(studies) if studies else list_studies()
    for name in names:
        get_study(name)
    root = Path(out)
    for name in names:
        echo(f"running {name} ...")
        res = run_study(name, None, out=root, canonical=True, progress=progress)
        echo(f"wrote {res.path / 'report.html'} ({res.wall_seconds:.1f} s)")
    # the index lists every study, also when only some were re-run just now
    return write_index(root, list_studies())


def write_index(root: Path, names: Iterable[str]) -> Path:
    """``index.html``: each study's question and headline findings, linking its report."""
    esc = html.escape
    items = []
    for name in names:
        study = get_study(name)
        path = root / name
        headline = study.headline(path) if (path / MANIFEST).exists() else []
        found = "".join(f"<li>{esc(s)}</li>" for s in headline[:3]) or "<li>Not run yet.</li>"
        if len(headline) > 3:
            found += (f'<li><a href="{esc(name)}/report.html">{len(headline) - 3} more findings, '
                      "figures and methods in the report</a></li>")
        link = f'<a href="{esc(name)}/report.html">{esc(study.title)}</a>'
        items.append(f'<section class="study"><h2>{link}</h2><p><strong>Question.</strong> '
                     f"{esc(study.question)}</p><ul class=\"findings\">{found}</ul></section>")
    body = ("<h1>Reverse-mentoring design studies</h1><p>Each study simulates programs that "
            "differ in one design lever and reports what changed, with its uncertainty. "
            "Open a study for its figures, methods, limitations and the command that "
            "reproduces it.</p>" + "".join(items))
    if (root / "teaching" / "index.html").exists():
        body += ('<section class="study"><h2><a href="teaching/index.html">Teaching notebooks'
                 "</a></h2><p>A short course on mentoring design in five notebooks, rendered "
                 "for reading away from Jupyter.</p></section>")
    target = root / "index.html"
    root.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(".index.html.tmp")
    tmp.write_text(_page("Reverse-mentoring design studies", body), encoding="utf-8")
    os.replace(tmp, target)
    return target


# --------------------------------------------------------------------------- verify

@dataclass(frozen=True)
class VerifyResult:
    """Per table: identical or the number of differing cells (or a shape note)."""

    run: Path
    version_notes: list[str]
    tables: dict[str, str]
    identical: bool


def _version_notes(manifest: Mapping[str, Any]) -> list[str]:
    now = installed_versions()
    notes = []
    if manifest.get("toolkit_version") != now["toolkit_version"]:
        notes.append(f"toolkit {manifest.get('toolkit_version')} in the manifest, "
                     f"{now['toolkit_version']} installed")
    if manifest.get("python") != now["python"]:
        notes.append(f"Python {manifest.get('python')} in the manifest, {now['python']} installed")
    for pkg, v in (manifest.get("packages") or {}).items():
        if now["packages"].get(pkg) != v:
            notes.append(f"{pkg} {v} in the manifest, {now['packages'].get(pkg)} installed")
    return notes


def _compare_table(a: Path, b: Path) -> str:
    if a.read_bytes() == b.read_bytes():
        return "identical"
    import pandas as pd

    read = pd.read_parquet if a.suffix == ".parquet" else pd.read_csv
    try:
        x, y = read(a), read(b)
    except Exception as exc:  # an unreadable table differs, whatever it holds
        return f"differs (unreadable: {type(exc).__name__})"
    if x.shape != y.shape or list(x.columns) != list(y.columns):
        return f"differs in shape ({x.shape[0]}x{x.shape[1]} vs {y.shape[0]}x{y.shape[1]})"
    cells = 0
    for col in x.columns:
        u, v = x[col].reset_index(drop=True), y[col].reset_index(drop=True)
        same = (u == v).fillna(False).to_numpy(bool) | (u.isna() & v.isna()).to_numpy(bool)
        cells += int((~same).sum())
    if cells == 0:
        return "differs in bytes only (same cells; types or metadata differ)"
    return f"differs in {cells} cell{'s' if cells != 1 else ''}"


def verify_run(run_dir: str | os.PathLike, *, progress: bool = True,
               echo: Callable[[str], None] = print) -> VerifyResult:
    """Re-run a run from its manifest into a temporary folder; compare every table."""
    run = Path(run_dir)
    manifest = read_manifest(run)
    if manifest is None:
        raise InvalidParameterError(f"The folder {str(run)!r} is not a study run (no readable "
                                    "manifest.json).")
    study = get_study(manifest.get("study"))
    notes = _version_notes(manifest)
    for note in notes:
        echo(f"version differs: {note}")
    params = dict(manifest["parameters"])
    for name, meta in (manifest.get("inputs") or {}).items():
        if name in study.inputs and params.get(name):
            p = Path(params[name])
            if not p.is_file():
                raise InvalidParameterError(f"The input file {params[name]!r} ({name}) of the run "
                                            "no longer exists; it cannot be re-run.")
            if _sha256(p) != meta.get("sha256"):
                echo(f"input differs: {name} file {p.name} changed since the run")
    with tempfile.TemporaryDirectory(prefix="rmt-verify-") as tmp:
        fresh = run_study(study.name, study.parameters.from_values(params), out=tmp,
                          progress=progress)
        mine = {p.relative_to(run / "tables").as_posix() for p in (run / "tables").glob("*")}
        theirs = {p.relative_to(fresh.path / "tables").as_posix()
                  for p in (fresh.path / "tables").glob("*")}
        tables = {}
        for t in sorted(mine | theirs):
            if t not in mine:
                tables[t] = "missing from the run"
            elif t not in theirs:
                tables[t] = "not produced by the re-run"
            else:
                tables[t] = _compare_table(run / "tables" / t, fresh.path / "tables" / t)
    identical = all(v == "identical" for v in tables.values())
    return VerifyResult(run, notes, tables, identical)


# --------------------------------------------------------------------------- sweeps

def expand_grid(study: str, grid: Iterable[str] | Mapping[str, Sequence[Any]],
                base: Iterable[str] = ()) -> list[Any]:
    """Every combination of the grid's values (first key slowest), validated.

    ``grid`` holds ``key=v1,v2`` strings (for a list-valued parameter separate the values
    with ``;``: ``cadences=weekly,biweekly;weekly,monthly``) or a mapping of key to values.
    """
    import itertools

    cls = get_study(study).parameters
    axes: dict[str, list[str]] = {}
    items = grid.items() if isinstance(grid, Mapping) else None
    if items is None:
        for item in grid:
            if "=" not in item:
                raise InvalidParameterError(f"A --grid of study {study} is key=v1,v2; got {item!r}.")
            key, values = item.split("=", 1)
            key = key.strip()
            cls._refuse_unknown([key])
            from toolkit.studies._base import is_list_annotation

            sep = ";" if is_list_annotation(cls.model_fields[key].annotation) else ","
            axes[key] = [v.strip() for v in values.split(sep) if v.strip()]
    else:
        for key, values in items:
            cls._refuse_unknown([key])
            if isinstance(values, str) or not isinstance(values, Iterable):
                values = [values]
            axes[key] = [v if isinstance(v, str) else json.dumps(v) for v in values]
    for key, values in axes.items():
        if not values:
            raise InvalidParameterError(f"The grid of study {study} gives no values for {key!r}.")
    base = list(base)
    out = []
    for combo in itertools.product(*axes.values()):
        out.append(cls.from_strings(base + [f"{k}={v}" for k, v in zip(axes, combo, strict=True)]))
    return out


@dataclass(frozen=True)
class SweepResult:
    """The runs of a sweep (in grid order), which ran now, and the sweep's table and report."""

    study: str
    runs: list[RunResult]
    ran: int
    skipped: int
    table: Path
    report: Path
    grid_keys: list[str] = field(default_factory=list)


def _sweep_task(name: str, values: dict, out: str) -> tuple[str, str, str, float]:
    """One run of a sweep (runs in a pool process or on a Dask worker)."""
    res = run_study(name, values, out=out, progress=False)
    return str(res.path), res.run_id, res.fingerprint, res.wall_seconds


def _connect(scheduler: str, timeout: float):
    from distributed import Client

    target = Path(scheduler)
    try:
        if "://" in scheduler:
            return Client(scheduler, timeout=timeout, set_as_default=False)
        if not target.is_file():
            raise SchedulerError(f"The scheduler {scheduler!r} is neither an address "
                                 "(tcp://HOST:8786) nor an existing scheduler file.")
        return Client(scheduler_file=str(target), timeout=timeout, set_as_default=False)
    except SchedulerError:
        raise
    except (OSError, TimeoutError, ValueError) as exc:
        raise SchedulerError(f"The Dask scheduler {scheduler!r} could not be reached within "
                             f"{timeout:g} s ({type(exc).__name__}).") from None


def run_sweep(name: str, grid: Iterable[str] | Mapping[str, Sequence[Any]], *,
              base: Iterable[str] = (), out: str | os.PathLike = "reports",
              workers: int | None = None, scheduler: str | None = None,
              timeout: float = 10.0, progress: bool = True,
              echo: Callable[[str], None] = print) -> SweepResult:
    """Run every parameter set of the grid as its own run; skip those already done.

    Local process pool by default (``workers`` capped at the number of cores), or the Dask
    cluster at ``scheduler`` (an address or a scheduler file). The results do not depend
    on the executor: each run depends only on its parameters. Writes
    ``<out>/<name>/sweeps/<sweep_id>/``: ``sweep.parquet`` (+ CSV, one row per run with
    its parameters and headline estimates) and ``report.html`` with a comparison figure.
    """
    from toolkit._validation import check_int

    study = get_study(name)
    sets = expand_grid(name, grid, base)
    plans = [_plan(name, p, out, False) for p in sets]
    if len({p.run_id for p in plans}) < len(plans):
        echo("note: some grid points have identical parameters; each is run once")
    todo, seen = [], set()
    for plan in plans:
        manifest = _existing(plan)
        if manifest is not None and manifest.get("fingerprint") == plan.fingerprint:
            continue
        if plan.run_id not in seen:
            seen.add(plan.run_id)
            todo.append(plan)
    echo(f"sweep of {len(plans)} runs: {len(plans) - len(todo)} already done, {len(todo)} to run")
    root = Path(out).resolve()
    failures: list[str] = []
    if todo:
        args = [(name, p.params.to_dict(), str(root)) for p in todo]
        if scheduler:
            client = _connect(scheduler, timeout)
            try:
                futures = client.map(_sweep_task, *zip(*args, strict=True), pure=False)
                for fut in futures:  # each finished run is on disk whatever the order
                    try:
                        path, *_ = fut.result()
                        echo(f"done {path}")
                    except StudyExecutionError as exc:
                        failures.append(str(exc))
            finally:
                client.close()
        else:
            cores = os.cpu_count() or 1
            n = check_int(workers if workers is not None else cores, "workers", "rmt sweep", low=1)
            if n > cores:
                echo(f"note: {n} workers asked, {cores} cores available; using {cores}")
                n = cores
            n = min(n, len(todo))
            if n == 1:
                for a in args:
                    try:
                        path, *_ = _sweep_task(*a)
                        echo(f"done {path}")
                    except StudyExecutionError as exc:
                        failures.append(str(exc))
            else:
                import multiprocessing as mp
                from concurrent.futures import ProcessPoolExecutor, as_completed

                with ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("spawn")) as pool:
                    futs = [pool.submit(_sweep_task, *a) for a in args]
                    for fut in as_completed(futs):
                        try:
                            path, *_ = fut.result()
                            echo(f"done {path}")
                        except StudyExecutionError as exc:
                            failures.append(str(exc))
    if failures:
        raise StudyExecutionError(f"{len(failures)} of {len(todo)} runs of the sweep failed; the "
                                  f"first: {failures[0]}")
    runs = [RunResult(name, p.path, p.run_id, p.fingerprint) for p in plans]
    keys = list(expand_keys(grid))
    table, report = _write_sweep(study, sets, runs, keys, Path(out))
    return SweepResult(name, runs, len(todo), len(plans) - len(todo), table, report, keys)


def expand_keys(grid: Iterable[str] | Mapping[str, Any]) -> list[str]:
    if isinstance(grid, Mapping):
        return list(grid)
    return [g.split("=", 1)[0].strip() for g in grid]


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")


def _write_sweep(study: Any, sets: list[Any], runs: list[RunResult], keys: list[str],
                 out: Path) -> tuple[Path, Path]:
    import pandas as pd

    from toolkit._io import write_table
    from toolkit.studies._base import canonical_json, cli_text, figure_html

    rows, long = [], []
    for params, run in zip(sets, runs, strict=True):
        label = ", ".join(f"{k}={cli_text(getattr(params, k))}" for k in keys)
        row = {"run_id": run.run_id, "label": label}
        row.update({k: cli_text(getattr(params, k)) for k in keys})
        est = study.estimates(run.path)
        for r in est.to_dict("records"):
            s = _slug(str(r["estimate_name"]))
            row[s], row[f"{s}_ci_low"], row[f"{s}_ci_high"] = r["estimate"], r["ci_low"], r["ci_high"]
            long.append({"label": label, **r})
        rows.append(row)
    table = pd.DataFrame(rows)
    sweep_id = hashlib.sha256(canonical_json([r.fingerprint for r in runs]).encode()).hexdigest()[:12]
    folder = out / study.name / "sweeps" / sweep_id
    folder.mkdir(parents=True, exist_ok=True)
    path = write_table(table, folder / "sweep.parquet")
    write_table(table, folder / "sweep.csv")
    esc = html.escape
    figure = ""
    if long:
        from toolkit.plots import sweep_plot

        fig = sweep_plot(pd.DataFrame(long))
        figure = figure_html(fig, "Headline estimates of each run of the sweep, with 95% "
                                  "confidence intervals.")
        import matplotlib.pyplot as plt

        fig.savefig(folder / "comparison.png", dpi=110, metadata={"Software": None})
        plt.close(fig)
    from toolkit.report import table_html

    shown = table.drop(columns=[c for c in table.columns if c.endswith(("_ci_low", "_ci_high"))])
    body = (f"<h1>Sweep of {esc(study.title)}</h1><p><strong>Question.</strong> "
            f"{esc(study.question)}</p><p>{len(runs)} runs varying "
            f"{esc(', '.join(keys))}; each run has its own report in "
            f"<code>{esc(study.name)}/&lt;run_id&gt;/</code>.</p>{figure}"
            + table_html(shown, digits=1, caption="One row per run: its parameters and headline "
                         "estimates")
            + f"<h2>Reproduce this</h2><pre><code>{esc(_sweep_command(study.name, keys, sets))}"
            "</code></pre>")
    report = folder / "report.html"
    tmp = folder / ".report.html.tmp"
    tmp.write_text(_page(f"Sweep: {study.title}", body), encoding="utf-8")
    os.replace(tmp, report)
    return path, report


def _sweep_command(name: str, keys: list[str], sets: list[Any]) -> str:
    import shlex

    from toolkit.studies._base import cli_text, is_list_annotation

    parts = ["rmt", "sweep", name]
    if sets:
        cls = type(sets[0])
        for k in keys:
            sep = ";" if is_list_annotation(cls.model_fields[k].annotation) else ","
            values = list(dict.fromkeys(cli_text(getattr(s, k)) for s in sets))
            parts += ["--grid", f"{k}={sep.join(values)}"]
        fixed = {k: v for k, v in sets[0].changed().items() if k not in keys}
        for k, v in fixed.items():
            parts += ["-p", f"{k}={cli_text(v)}"]
    return shlex.join(parts)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use the rmt command")
