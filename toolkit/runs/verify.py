"""Verify a run: re-run it from its manifest in a temporary folder and compare every table.

Versions that differ from the manifest's are said first. The manifest's fields must have
their types, every file of ``tables/`` and ``figures/`` must be a regular file, and every
output must still have the checksum the manifest records (else verification fails; the
re-run still says how the tables differ). Input files are found by the name the manifest keeps (in the current folder,
or where ``inputs`` says) and must have the recorded checksum. Tables agree when integers and text are equal and numbers are
within :data:`~toolkit.runs.manifest.RTOL` / :data:`~toolkit.runs.manifest.ATOL`.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from toolkit._io import sha256_file
from toolkit._validation import quote
from toolkit.errors import InvalidParameterError, StudyExecutionError
from toolkit.runs.manifest import (
    CHECKSUMMED,
    TableCheck,
    check_manifest,
    compare_table,
    read_manifest,
    version_notes,
)
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
    checksums: list[str] = field(default_factory=list)

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


def _regular_outputs(run: Path) -> list[str]:
    """Relative paths of the run's output files; anything there that is not a regular
    file (a FIFO, a device, a link) is refused in one sentence, before anything is read."""
    found = []
    for entry in CHECKSUMMED:
        top = run / entry
        if not os.path.lexists(top):
            continue
        paths = [top] + (sorted(top.rglob("*")) if top.is_dir() and not top.is_symlink() else [])
        for p in paths:
            mode = p.lstat().st_mode
            if stat.S_ISDIR(mode):
                continue
            if not stat.S_ISREG(mode):
                raise InvalidParameterError(
                    f"The run {quote(str(run))} holds {quote(p.relative_to(run).as_posix())}, "
                    "which is not a regular file (a pipe, device or link); a run holds only "
                    "files."
                )
            found.append(p.relative_to(run).as_posix())
    return found


def checksum_problems(run: Path, manifest: Mapping[str, object]) -> list[str]:
    """What differs between the run's output files and the checksums its manifest records
    (a file changed, missing or not recorded); empty when all agree."""
    recorded = dict(manifest["outputs"])  # type: ignore[call-overload]
    present = _regular_outputs(run)
    problems = []
    for rel in sorted(set(recorded) | set(present)):
        if rel not in present:
            problems.append(f"{rel}: recorded in the manifest but missing from the run")
        elif rel not in recorded:
            problems.append(f"{rel}: in the run but not recorded in the manifest")
        elif sha256_file(run / rel) != recorded[rel]:
            problems.append(f"{rel}: its sha256 differs from the one the manifest records")
    return problems


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
    check_manifest(manifest, run)
    study = find_study(manifest.get("study"))
    problems = checksum_problems(run, manifest)
    notes = version_notes(manifest)
    for note in notes:
        echo(f"version differs: {note}")
    for problem in problems:  # the run is not what its manifest says: it fails, and the
        echo(f"checksum: {problem}")  # re-run below still says how its tables differ
    params = dict(manifest["parameters"])
    for name, meta in (manifest.get("inputs") or {}).items():
        if name in study.inputs and params.get(name) is not None:
            params[name] = str(_input_path(name, meta, inputs or {}))
    with tempfile.TemporaryDirectory(prefix="rmt-verify-") as tmp:
        plan = plan_run(study, study.parameters.from_values(params), out=tmp)
        try:
            fresh = run_planned(plan, progress=progress, keep_failed=False).path
        except StudyExecutionError as exc:
            raise StudyExecutionError(f"The re-run failed: {exc}") from None
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
    agree = all(c.agrees for c in tables.values())
    return VerifyResult(run, notes, tables, agree and not problems, problems)
