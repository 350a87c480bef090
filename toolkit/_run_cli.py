"""``rmt run``, ``rmt verify``, ``rmt sweep`` and ``rmt reports``: studies on the command line.

Plain typer command functions; ``toolkit.cli`` registers them behind its one-line errors
and its clean stop on Ctrl-C/SIGTERM (``clean_errors(stops_cleanly(run))``). Only typer is
imported at import time; the run layer loads when a command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["reports", "run", "sweep", "verify"]


def reports(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder of the canonical reports.")
    ] = Path("reports"),
    study: Annotated[
        list[str] | None,
        typer.Option("--study", help="Only this study (repeat for several); default: every study."),
    ] = None,
) -> None:
    """Run every study at its defaults into reports/<study>/ and write reports/index.html."""
    from toolkit.runs import run_reports

    index = run_reports(out, study or None, echo=lambda m: typer.echo(m, err=True))
    typer.echo(f"wrote {index}", err=True)


def _print_study_help(name: str) -> None:
    from toolkit.runs.plan import find_study

    study = find_study(name)
    typer.echo(f"Usage: rmt run {name} [-p KEY=VALUE]... [-f PARAMS.yaml] [--out DIR]\n")
    typer.echo(f"{study.title}\n{study.question}\n")
    typer.echo("Parameters (-p key=value; lists as a,b or [a, b]):")
    for row in study.parameters.describe():
        typer.echo(f"  {row['name']:<16} {row['type']:<14} default {row['default']}")
        typer.echo(f"      {row['help']}")
        typer.echo(f"      allowed: {row['allowed']}")


_PARAM_HELP = "Study parameter as key=value (repeatable); lists as a,b or [a, b]."


def run(
    ctx: typer.Context,
    study: Annotated[
        str | None, typer.Argument(help="Study name (rmt run STUDY --help lists its parameters).")
    ] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help=_PARAM_HELP)] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", "-f", help="YAML or JSON file of parameters (-p values override it)."
        ),
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Runs go to OUT/STUDY/RUN_ID/ (rmt reports writes the canonical reports/).",
        ),
    ] = Path("runs"),
    force: Annotated[
        bool, typer.Option("--force", help="Run again even if this run exists.")
    ] = False,
    show_help: Annotated[
        bool,
        typer.Option(
            "--help", "-h", help="Show this message (with a STUDY: its parameters) and exit."
        ),
    ] = False,
) -> None:
    """Run a study: check its parameters, execute its notebook, write a run folder with the
    report, tables, figures and manifest."""
    if show_help or study is None:
        if study is None:
            from toolkit.studies import list_studies

            typer.echo(ctx.get_help())
            typer.echo(f"\nStudies: {', '.join(list_studies())}")
        else:
            _print_study_help(study)
        raise typer.Exit()
    from toolkit.runs import run_study

    res = run_study(study, param or [], out=out, file=file, force=force)
    if res.skipped:
        typer.echo(
            f"found an earlier run with the same parameters: {res.path} (--force runs it again)",
            err=True,
        )
    else:
        typer.echo(
            f"wrote {res.path} in {res.wall_seconds:.1f} s; report: {res.path / 'report.html'}",
            err=True,
        )
    typer.echo(str(res.path))


def verify(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (with manifest.json).")],
    input_file: Annotated[
        list[str] | None,
        typer.Option(
            "--input",
            "-i",
            help="NAME=PATH of an input file of the run (default: its file name "
            "in the current folder).",
        ),
    ] = None,
) -> None:
    """Re-run a run from its manifest and compare every table (exit 1 if one differs).

    Integers and text must be equal; numbers within a relative tolerance of 1e-9 (plus
    1e-12 absolute). Each table's line names the cells that differ and the largest
    difference."""
    from toolkit.errors import InvalidParameterError
    from toolkit.runs import verify_run
    from toolkit.runs.manifest import ATOL, RTOL

    given = {}
    for item in input_file or []:
        if "=" not in item:
            raise InvalidParameterError(f"An --input of rmt verify is NAME=PATH; got {item!r}.")
        key, value = item.split("=", 1)
        given[key.strip()] = value
    res = verify_run(run_dir, inputs=given, echo=lambda m: typer.echo(m, err=True))
    for table, check in res.tables.items():
        typer.echo(f"{table}: {check}")
    if res.checksums:
        typer.echo(
            f"error: {len(res.checksums)} file(s) of the run differ from the checksums "
            "its manifest records (the run or its manifest was changed after it was "
            f"written): {', '.join(p.split(':')[0] for p in res.checksums)}",
            err=True,
        )
        raise typer.Exit(code=1)
    if not res.passed:
        bad = [t for t, c in res.tables.items() if not c.agrees]
        typer.echo(
            f"error: {len(bad)} table(s) differ from the re-run beyond the tolerance "
            f"(rtol {RTOL:g}, atol {ATOL:g}): {', '.join(bad)}",
            err=True,
        )
        raise typer.Exit(code=1)
    typer.echo(
        f"all {len(res.tables)} tables agree (integers and text exactly, numbers within "
        f"rtol {RTOL:g}, atol {ATOL:g})",
        err=True,
    )


def sweep(
    study: Annotated[str, typer.Argument(help="Study name.")],
    grid: Annotated[
        list[str],
        typer.Option(
            "--grid",
            "-g",
            help="key=v1,v2 (repeatable; the runs are every combination; list values: a,b;c,d).",
        ),
    ],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help=_PARAM_HELP)] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Runs go to OUT/STUDY/RUN_ID/.")] = Path(
        "runs"
    ),
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", "-w", help="Local processes (default and maximum: the number of cores)."
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler", help="Dask scheduler address (tcp://HOST:8786) or scheduler file."
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to reach the scheduler.")
    ] = 10.0,
) -> None:
    """Run a parameter grid, one run per parameter set, resuming where it stopped."""
    from toolkit.runs import run_sweep

    res = run_sweep(
        study,
        grid,
        base=param or [],
        out=out,
        workers=workers,
        scheduler=scheduler,
        timeout=timeout,
        echo=lambda m: typer.echo(m, err=True),
    )
    typer.echo(
        f"{res.ran} run(s) ran, {res.skipped} found; sweep table {res.table}; report {res.report}",
        err=True,
    )
