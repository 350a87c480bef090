"""Verify a run: re-run it from its manifest in a temporary folder and compare every table.

Versions that differ from the manifest's are said first. Input files are found by the
name the manifest keeps (in the current folder, or where ``inputs`` says) and must have
the recorded checksum. Tables agree when integers and text are equal and numbers are
within :data:`~toolkit.runs.manifest.RTOL` / :data:`~toolkit.runs.manifest.ATOL`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from toolkit._io import sha256_file
from toolkit.errors import InvalidParameterError
from toolkit.runs.manifest import TableCheck, compare_table, read_manifest, version_notes
from toolkit.runs.plan import find_study, plan_run
from toolkit.runs.run import run_planned

__all__ = ["VerifyResult", "verify_run"]


@dataclass(frozen=True)
class VerifyResult:
    """Per table (relative path): how it compares with the re-run; ``passed`` when all agree."""

    run: Path
    version_notes: list[str]
    tables: dict[str, TableCheck]
    passed: bool

    @property
    def identical(self) -> bool:
        """Whether every table has the same cells as the re-run (no tolerance used)."""
        return self.passed and all(c.largest == 0.0 for c in self.tables.values())


def _input_path(name: str, meta: Mapping[str, str], given: Mapping[str, str | os.PathLike]) -> Path:
    p = Path(given[name]) if name in given else Path(meta["file"])
    if not p.is_file():
        raise InvalidParameterError(
            f"The input file {meta['file']!r} ({name}) of the run is not in the current folder; "
            f"give it with --input {name}=PATH."
        )
    if sha256_file(p) != meta.get("sha256"):
        raise InvalidParameterError(
            f"The input file {str(p)!r} ({name}) differs from the one the run used (its sha256 "
            "differs from the manifest's); give the original file."
        )
    return p


def verify_run(
    run_dir: str | os.PathLike,
    *,
    inputs: Mapping[str, str | os.PathLike] | None = None,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> VerifyResult:
    """Re-run a run from its manifest into a temporary folder; compare every table."""
    run = Path(run_dir)
    manifest = read_manifest(run)
    if manifest is None:
        raise InvalidParameterError(
            f"The folder {str(run)!r} is not a study run (no readable manifest.json)."
        )
    study = find_study(manifest.get("study"))
    notes = version_notes(manifest)
    for note in notes:
        echo(f"version differs: {note}")
    params = dict(manifest["parameters"])
    for name, meta in (manifest.get("inputs") or {}).items():
        if name in study.inputs and params.get(name) is not None:
            params[name] = str(_input_path(name, meta, inputs or {}))
    with tempfile.TemporaryDirectory(prefix="rmt-verify-") as tmp:
        plan = plan_run(study, study.parameters.from_values(params), out=tmp)
        fresh = run_planned(plan, progress=progress).path
        mine = {p.relative_to(run / "tables").as_posix() for p in (run / "tables").glob("*")}
        theirs = {p.relative_to(fresh / "tables").as_posix() for p in (fresh / "tables").glob("*")}
        tables: dict[str, TableCheck] = {}
        for t in sorted(mine | theirs):
            if t not in mine:
                tables[t] = TableCheck(False, note="missing from the run")
            elif t not in theirs:
                tables[t] = TableCheck(False, note="not produced by the re-run")
            else:
                tables[t] = compare_table(run / "tables" / t, fresh / "tables" / t)
    return VerifyResult(run, notes, tables, all(c.agrees for c in tables.values()))
