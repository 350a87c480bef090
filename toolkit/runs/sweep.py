"""Sweeps: every combination of a parameter grid as its own run, through one executor loop.

The executor is this process (one worker), a local process pool (``workers`` capped at
the number of cores) or a Dask cluster (``scheduler``: an address or a scheduler file);
each gives futures, and one loop collects them. A run depends only on its parameters, so
the executor changes no number. Runs already on disk are skipped, so a sweep resumes.
Grid conventions follow Mesa's ``batch_run`` and DeclareDesign's ``expand_design``: the
first key varies slowest, every result row repeats its parameters.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit.errors import StudyExecutionError
from toolkit.runs.executors import (
    Here,
    check_timeout,
    executor,
    ignoring_sigint,
    remote_task,
    scheduler_address,
    worker_count,
)
from toolkit.runs.grid import expand_grid, grid_keys
from toolkit.runs.plan import Plan, check_assignments, find_study, plan_run
from toolkit.runs.run import RunResult, existing_run, run_planned
from toolkit.runs.sweep_report import write_sweep

__all__ = [
    "SweepResult",
    "check_timeout",
    "expand_grid",
    "grid_keys",
    "run_sweep",
    "scheduler_address",
    "worker_count",
]


@dataclass(frozen=True)
class SweepResult:
    """The runs of a sweep (in grid order), how many ran now, and the sweep's table and report."""

    study: str
    runs: list[RunResult]
    ran: int
    skipped: int
    table: Path
    report: Path
    grid_keys: list[str] = field(default_factory=list)


def run_sweep(
    name: str,
    grid: Iterable[str] | Mapping[str, Sequence[Any]],
    *,
    base: Iterable[str] = (),
    out: str | os.PathLike = "runs",
    workers: int | None = None,
    scheduler: str | None = None,
    timeout: float = 10.0,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> SweepResult:
    """Run every parameter set of the grid as its own run; skip those already done.

    Writes ``<out>/<name>/sweeps/<sweep_id>/``: ``sweep.parquet`` (+ CSV, one row per run
    with its parameters and headline estimates) and ``report.html`` with a comparison figure.
    """
    study = find_study(name)
    if scheduler:
        timeout = check_timeout(timeout)
        scheduler_address(scheduler)
    grid = grid if isinstance(grid, Mapping) else check_assignments(grid, study.name)
    sets = expand_grid(study, grid, check_assignments(base, study.name))
    plans = [plan_run(study, p, out=out) for p in sets]
    n = worker_count(workers, echo) if not scheduler else 0
    todo: dict[str, Plan] = {}
    for plan in plans:
        manifest = existing_run(plan)
        if manifest is None or manifest.get("fingerprint") != plan.fingerprint:
            todo.setdefault(plan.run_id, plan)
    if len({p.run_id for p in plans}) < len(plans):
        echo("note: some grid points have identical parameters; each is run once")
    echo(f"sweep of {len(plans)} runs: {len(plans) - len(todo)} already done, {len(todo)} to run")
    failures: list[str] = []
    if todo:
        root = str(Path(out).resolve())
        with executor(min(n, len(todo)) if n else 0, scheduler, timeout) as pool:
            if isinstance(pool, Here):  # the plans made above, run in this process
                futures = [pool.submit(_run_plan_here, p) for p in todo.values()]
            else:  # another process plans its run again from the checked values
                # Workers start while SIGINT is ignored, so they start ignoring it (a
                # Ctrl-C at the terminal is for the sweep, which stops them).
                quiet = ignoring_sigint() if n else contextlib.nullcontext()
                with quiet:
                    futures = [
                        pool.submit(remote_task, name, p.params.to_dict(), root)
                        for p in todo.values()
                    ]
            for fut in futures:  # each finished run is on disk whatever the order
                try:
                    echo(f"done {fut.result()}")
                except StudyExecutionError as exc:
                    failures.append(str(exc))
    if failures:
        raise StudyExecutionError(
            f"{len(failures)} of {len(todo)} runs of the sweep failed; the first: {failures[0]}"
        )
    runs = [RunResult(name, p.path, p.run_id, p.fingerprint) for p in plans]
    keys = grid_keys(grid)
    table, report = write_sweep(study, sets, runs, keys, Path(out))
    return SweepResult(name, runs, len(todo), len(plans) - len(todo), table, report, keys)


def _run_plan_here(plan: Plan) -> str:
    return str(run_planned(plan, progress=False).path)
