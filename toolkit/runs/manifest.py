"""The manifest of a run, and how verification compares a re-run's tables with a run's.

``manifest.json`` records what a run was made from (study, parameters with input files by
name, fingerprint, seed, toolkit, Python and package versions, input and output
checksums, the command) and, apart, how long it took. Everything except ``timing`` and
``git_commit`` is the same when the run is reproduced.

Tables are compared cell by cell (:func:`compare_table`): integers, booleans and text
exactly; floating-point numbers within ``|a - b| <= ATOL + RTOL * |b|``, because a sum
can differ in its last bits across BLAS builds. Each table's result names the number of
differing cells and the largest difference.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit._io import replace_text, sha256_file

__all__ = [
    "ATOL",
    "MANIFEST",
    "PACKAGES",
    "RTOL",
    "TableCheck",
    "check_manifest",
    "compare_table",
    "installed_versions",
    "read_manifest",
    "version_notes",
    "write_manifest",
]

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 2
# Packages whose versions can change a number; recorded in every manifest.
PACKAGES = (
    "numpy",
    "scipy",
    "pandas",
    "statsmodels",
    "matplotlib",
    "seaborn",
    "faker",
    "pyarrow",
    "papermill",
    "nbconvert",
    "nbclient",
    "ipykernel",
    "pydantic",
    "threadpoolctl",
    "dask",
    "distributed",
)
# Manifest keys that must be identical when a run is reproduced (everything except timing).
REPRODUCIBLE_KEYS = (
    "format",
    "study",
    "run_id",
    "fingerprint",
    "parameters",
    "seed",
    "inputs",
    "outputs",
    "toolkit_version",
    "python",
    "packages",
    "command",
)
# Run contents whose checksums the manifest records.
CHECKSUMMED = ("tables", "figures", "findings.json", "report.html")
# Tolerance for floating-point cells: |a - b| <= ATOL + RTOL * |b| (numpy.isclose).
RTOL = 1e-9
ATOL = 1e-12


# A manifest is a few kilobytes; a larger file is not one (and is not read whole).
MAX_MANIFEST_BYTES = 4 * 2**20


def read_manifest(run_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The manifest of a run folder, or None if it has none (or an unreadable one).

    Only a regular file of at most :data:`MAX_MANIFEST_BYTES` is read (a FIFO named
    ``manifest.json`` would block the reader)."""
    import stat

    path = Path(run_dir) / MANIFEST
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_MANIFEST_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


_HEX64 = frozenset("0123456789abcdef")


def check_manifest(manifest: Mapping[str, Any], run: str | os.PathLike) -> None:
    """Refuse, in one sentence, a manifest whose fields have the wrong types.

    What verification reads: ``study`` (text), ``parameters`` (a mapping of names),
    ``inputs`` (a mapping of name to ``{file, sha256}``), ``outputs`` (a mapping of
    relative path to sha256) and, when present, ``packages`` (name to version text).
    """
    from toolkit._validation import quote
    from toolkit.errors import InvalidParameterError

    where = f"The manifest of {quote(str(run))}"

    def bad(field: str, value: Any, allowed: str) -> InvalidParameterError:
        return InvalidParameterError(
            f"{where} has a {field!r} of type {type(value).__name__}; {allowed} is allowed "
            "there (the manifest was changed by hand or is not a run's)."
        )

    def is_sha(v: Any) -> bool:
        return isinstance(v, str) and len(v) == 64 and set(v) <= _HEX64

    study = manifest.get("study")
    if not isinstance(study, str):
        raise bad("study", study, "a study name (text)")
    params = manifest.get("parameters")
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        raise bad("parameters", params, "a mapping of parameter names to values")
    inputs = manifest.get("inputs", {})
    if not isinstance(inputs, dict) or not all(
        isinstance(m, dict) and isinstance(m.get("file"), str) and is_sha(m.get("sha256"))
        for m in inputs.values()
    ):
        raise bad("inputs", inputs, "a mapping of names to {file, sha256}")
    outputs = manifest.get("outputs")
    if not isinstance(outputs, dict) or not all(
        isinstance(k, str) and is_sha(v) for k, v in outputs.items()
    ):
        raise bad("outputs", outputs, "a mapping of relative paths to sha256 digests")
    packages = manifest.get("packages", {})
    if not isinstance(packages, dict) or not all(
        isinstance(v, str | None) for v in packages.values()
    ):
        raise bad("packages", packages, "a mapping of package names to versions")
    for key in ("toolkit_version", "python"):
        if not isinstance(manifest.get(key, ""), str):
            raise bad(key, manifest.get(key), "text")


def installed_versions() -> dict[str, Any]:
    """Toolkit, Python and package versions of this environment."""
    from importlib import metadata

    from toolkit._version import __version__

    packages: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "toolkit_version": __version__,
        "python": platform.python_version(),
        "packages": packages,
    }


def version_notes(manifest: Mapping[str, Any]) -> list[str]:
    """What differs between the versions a manifest records and those installed."""
    now = installed_versions()
    notes = []
    if manifest.get("toolkit_version") != now["toolkit_version"]:
        notes.append(
            f"toolkit {manifest.get('toolkit_version')} in the manifest, "
            f"{now['toolkit_version']} installed"
        )
    if manifest.get("python") != now["python"]:
        notes.append(f"Python {manifest.get('python')} in the manifest, {now['python']} installed")
    for pkg, v in (manifest.get("packages") or {}).items():
        if now["packages"].get(pkg) != v:
            notes.append(f"{pkg} {v} in the manifest, {now['packages'].get(pkg)} installed")
    return notes


def _git_commit() -> str | None:
    """The checkout's commit when the toolkit runs from a git checkout, else None."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def checksums(folder: Path) -> dict[str, str]:
    """sha256 of every output file of a run folder, by relative path."""
    out = {}
    for entry in CHECKSUMMED:
        p = folder / entry
        files = (
            sorted(x for x in p.rglob("*") if x.is_file())
            if p.is_dir()
            else [p]
            if p.is_file()
            else []
        )
        for f in files:
            out[f.relative_to(folder).as_posix()] = sha256_file(f)
    return out


def write_manifest(folder: Path, plan: Any, notebook: Path, wall_seconds: float) -> dict[str, Any]:
    """Write ``manifest.json`` of a finished run in ``folder``; return it."""
    manifest = {
        "format": MANIFEST_FORMAT,
        "study": plan.name,
        "run_id": plan.run_id,
        "fingerprint": plan.fingerprint,
        "parameters": plan.recorded_parameters(),
        "seed": plan.params.seed,
        "inputs": {
            "notebook": {"file": notebook.name, "sha256": sha256_file(notebook)},
            **{k: {"file": v["file"], "sha256": v["sha256"]} for k, v in plan.inputs.items()},
        },
        "outputs": checksums(folder),
        **installed_versions(),
        "git_commit": _git_commit(),
        "command": plan.params.command(),
        "reproducible_keys": list(REPRODUCIBLE_KEYS),
        "timing": {
            "wall_seconds": round(wall_seconds, 3),
            "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    }
    if plan.inputs:  # the command with file names only, like the report's
        manifest["command"] = plan.params.command(**{k: v["file"] for k, v in plan.inputs.items()})
    replace_text(folder / MANIFEST, json.dumps(manifest, indent=1) + "\n")
    return manifest


# --------------------------------------------------------------------------- comparing


@dataclass(frozen=True)
class TableCheck:
    """One table of a run against its re-run: whether it agrees, how many cells differ,
    the largest numeric difference and where."""

    agrees: bool
    cells: int = 0
    largest: float = 0.0
    column: str = ""
    exact_column: str = ""
    note: str = ""

    def __str__(self) -> str:
        if self.note:
            return self.note
        parts = []
        if self.column:
            parts.append(f"largest difference {self.largest:.3g} in column {self.column!r}")
        if self.exact_column:
            parts.append(f"exact values differ in column {self.exact_column!r}")
        where = f" ({'; '.join(parts)})" if parts else ""
        if self.agrees:
            return "identical" if not parts else f"equal within tolerance{where}"
        return f"differs in {self.cells} cell{'s' if self.cells != 1 else ''}{where}"


def compare_table(
    a: str | os.PathLike, b: str | os.PathLike, *, rtol: float = RTOL, atol: float = ATOL
) -> TableCheck:
    """Compare two tables (Parquet or CSV) cell by cell; floats within tolerance.

    >>> import tempfile, pathlib, pandas as pd
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"x": [1.0, 2.0], "n": [1, 2]}).to_csv(d / "a.csv", index=False)
    >>> pd.DataFrame({"x": [1.0 + 1e-14, 2.5], "n": [1, 2]}).to_csv(d / "b.csv", index=False)
    >>> str(compare_table(d / "a.csv", d / "b.csv"))
    "differs in 1 cell (largest difference 0.5 in column 'x')"
    """
    import numpy as np
    import pandas as pd

    a, b = Path(a), Path(b)
    if a.read_bytes() == b.read_bytes():
        return TableCheck(True)
    read = pd.read_parquet if a.suffix == ".parquet" else pd.read_csv
    try:
        x, y = read(a), read(b)
    except Exception as exc:  # an unreadable table differs, whatever it holds
        return TableCheck(False, note=f"differs (unreadable: {type(exc).__name__})")
    if x.shape != y.shape or list(x.columns) != list(y.columns):
        return TableCheck(
            False, note=f"differs in shape ({x.shape[0]}x{x.shape[1]} vs {y.shape[0]}x{y.shape[1]})"
        )
    cells, largest, column, exact = 0, 0.0, "", ""
    for col in x.columns:
        u, v = x[col].reset_index(drop=True), y[col].reset_index(drop=True)
        if pd.api.types.is_float_dtype(u.dtype) and pd.api.types.is_float_dtype(v.dtype):
            p, q = u.to_numpy(float), v.to_numpy(float)
            same = np.isclose(p, q, rtol=rtol, atol=atol, equal_nan=True)
            both = np.isfinite(p) & np.isfinite(q)
            diff = np.abs(p - q)[both]
            if diff.size and diff.max() > largest:
                largest, column = float(diff.max()), str(col)
        else:  # integers, booleans and text: exact
            same = (u == v).fillna(False).to_numpy(bool) | (u.isna() & v.isna()).to_numpy(bool)
            if not same.all() and not exact:
                exact = str(col)
        cells += int((~same).sum())
    if cells == 0 and largest == 0.0:
        return TableCheck(True, note="identical cells (the files differ in types or metadata)")
    return TableCheck(cells == 0, cells, largest, column if largest > 0 else "", exact)
