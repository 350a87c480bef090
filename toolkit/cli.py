"""The ``rmt`` command line.

Every deliberate error (:class:`toolkit.errors.ToolkitError`) prints one sentence to
stderr and exits with status 2; nothing is half-written (outputs are written to a
temporary file and renamed).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from toolkit._version import __version__
from toolkit.errors import ToolkitError

app = typer.Typer(
    name="rmt",
    help="Reverse-mentoring toolkit: generate cohorts, match, simulate and analyse programs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rmt {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Reverse-mentoring toolkit."""


def clean_errors(func):
    """Turn toolkit errors into one line on stderr and exit status 2 (1 for a study that
    failed while running)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from toolkit.errors import StudyExecutionError

        try:
            return func(*args, **kwargs)
        except StudyExecutionError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code=1) from None
        except ToolkitError as exc:
            from toolkit._validation import one_line

            typer.echo(f"error: {one_line(str(exc))}", err=True)
            raise typer.Exit(code=2) from None

    return wrapper


def stops_cleanly(func):
    """Ctrl-C (SIGINT) and SIGTERM end the command with one line and exit status 130 or
    143: the unfinished run's temporary folder is removed, the kernels and pool workers
    this process started are stopped, runs already finished are kept."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        import signal

        from toolkit.runs.run import interruptible, stop_children

        try:
            with interruptible():
                return func(*args, **kwargs)
        except KeyboardInterrupt as exc:
            for sig in (signal.SIGINT, signal.SIGTERM):  # nothing interrupts the clean-up
                signal.signal(sig, signal.SIG_IGN)
            signum = int(getattr(exc, "signum", signal.SIGINT))
            stop_children()
            how = "Ctrl-C (SIGINT)" if signum == signal.SIGINT else signal.Signals(signum).name
            typer.echo(
                f"error: stopped by {how}; finished runs are kept, the unfinished run "
                "and its temporary folder were removed.",
                err=True,
            )
            # Everything is cleaned up; leave without the interpreter's shutdown, where the
            # abandoned notebook client's tasks would print their lost kernel.
            import os

            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(128 + signum)

    return wrapper


@app.command()
@clean_errors
def cohort(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file: .csv or .parquet.")],
    mentors: Annotated[
        int, typer.Option("--mentors", help="Number of mentors (junior staff).")
    ] = 120,
    mentees: Annotated[
        int, typer.Option("--mentees", help="Number of mentees (senior leaders).")
    ] = 100,
    seed: Annotated[int, typer.Option("--seed", help="Root seed.")] = 0,
    locale: Annotated[
        list[str] | None,
        typer.Option("--locale", help="Faker locale; repeat for an international program."),
    ] = None,
    department: Annotated[
        list[str] | None,
        typer.Option(
            "--department", help="Department name; repeat for several (default: eight common ones)."
        ),
    ] = None,
) -> None:
    """Generate a synthetic reverse-mentoring cohort and write its participants table."""
    from toolkit._io import check_output_path, write_table
    from toolkit.cohort import CohortSpec, generate_cohort

    check_output_path(out)
    kwargs: dict[str, Any] = {"n_mentors": mentors, "n_mentees": mentees, "seed": seed}
    if locale:
        kwargs["locales"] = tuple(locale)
    if department:
        kwargs["departments"] = tuple(department)
    result = generate_cohort(CohortSpec(**kwargs))
    write_table(result.participants, out)
    typer.echo(f"wrote {len(result.participants)} participants to {out}", err=True)


@app.command("match")
@clean_errors
def match_roster(
    roster: Annotated[Path, typer.Argument(help="Roster CSV (see the README's roster format).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Pairs file: .csv or .parquet.")],
    policy: Annotated[str, typer.Option("--policy", help="Matching policy.")] = "optimal",
    weights: Annotated[str, typer.Option("--weights", help="Weight profile.")] = "balanced",
    capacity: Annotated[int, typer.Option("--capacity", help="Most mentees per mentor.")] = 1,
    forbidden: Annotated[
        Path | None,
        typer.Option("--forbidden", help="CSV of pairs that must not be matched (two id columns)."),
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            help='A roster header and the column it holds, e.g. "Employee ID=id" (repeatable).',
        ),
    ] = None,
    value: Annotated[
        list[str] | None,
        typer.Option(
            "--value",
            help='A value and what it means, e.g. "role:Reverse Mentor=mentor" (repeatable).',
        ),
    ] = None,
    mapping_file: Annotated[
        Path | None,
        typer.Option(
            "--map",
            help="YAML or JSON mapping file with 'columns:' and 'values:' sections "
            "(--column and --value add to it).",
        ),
    ] = None,
    include_names: Annotated[
        bool,
        typer.Option(
            "--include-names",
            help="Add mentee_name and mentor_name columns and name the shared "
            "interests in the reasons.",
        ),
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Root seed (random policy).")] = 0,
) -> None:
    """Match a real roster and write the pairs with scores and reasons (no names by default)."""
    from toolkit._io import check_output_path, write_table
    from toolkit._validation import one_line, quote
    from toolkit.compatibility import Constraints, private_interest_labels, reveal_interests
    from toolkit.matching import match
    from toolkit.roster import load_roster, read_forbidden_pairs, score_spread_warning

    check_output_path(out)
    reading = load_roster(roster, mapping=_roster_mapping(mapping_file, column, value))
    for note in reading.notes:
        typer.echo(f"note: {one_line(note)}", err=True)
    for warning in reading.warnings:
        typer.echo(f"warning: {one_line(warning)}", err=True)
    cohort = reading.cohort
    pairs = read_forbidden_pairs(forbidden, cohort) if forbidden is not None else ()
    result = match(
        cohort,
        policy,
        weights=weights,
        capacity=capacity,
        seed=seed,
        constraints=Constraints(forbidden_pairs=pairs),
    )
    spread = score_spread_warning(result.compat)
    if spread:
        typer.echo(f"warning: {spread}", err=True)
    reasons = result.explain(top=3)["reasons"]
    if include_names:  # names were asked for: the interests people wrote may be shown too
        labels = private_interest_labels(cohort)
        reasons = reasons.map(lambda text: reveal_interests(text, labels))
    table = result.pairs.assign(reasons=reasons.to_numpy())
    # Scores are float32 underneath: four decimals is all they mean, and all a reader wants.
    scores = [c for c in table.columns if c == "score" or c.startswith("score_")]
    table[scores] = table[scores].round(4)
    if include_names:
        names = cohort.participants.set_index("participant_id")["name"]
        table.insert(1, "mentee_name", table["mentee_id"].map(names).to_numpy())
        table.insert(3, "mentor_name", table["mentor_id"].map(names).to_numpy())
    write_table(table, out)
    typer.echo(
        f"wrote {len(table)} pairs to {out} ({policy}, {weights}); "
        f"{len(result.unmatched)} people unmatched",
        err=True,
    )
    for row in result.unmatched.itertuples(index=False):
        # Ids come from the roster: quoted, control characters escaped (one line each).
        typer.echo(
            f"unmatched {row.role} {quote(str(row.participant_id))}: {one_line(row.reason)}",
            err=True,
        )


def _roster_mapping(path: Path | None, columns: list[str] | None, values: list[str] | None):
    """The column mapping of ``rmt match``: the mapping file, then the options on top."""
    from toolkit._columns import ColumnMapping

    base = ColumnMapping.from_file(path) if path is not None else ColumnMapping()
    return base.merged(ColumnMapping.from_options(columns or (), values or ()))


@app.command()
@clean_errors
def data(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the canonical data sets.")
    ] = Path("synthetic_data"),
) -> None:
    """Regenerate the canonical synthetic data sets, their README and checksums."""
    from toolkit.datasets import write_canonical

    for path in write_canonical(out):
        typer.echo(f"wrote {path}", err=True)


def _register_run_commands() -> None:
    """`rmt reports`, `run`, `verify` and `sweep` (options in :mod:`toolkit._run_cli`)."""
    from toolkit._run_cli import reports, run, sweep, verify

    app.command("reports")(clean_errors(stops_cleanly(reports)))
    app.command("run", context_settings={"help_option_names": []})(clean_errors(stops_cleanly(run)))
    app.command("verify")(clean_errors(stops_cleanly(verify)))
    app.command("sweep")(clean_errors(stops_cleanly(sweep)))


_register_run_commands()


@app.command()
@clean_errors
def simulate(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Folder for weeks, outcomes, surveys and events tables (created if missing).",
        ),
    ],
    mentors: Annotated[int, typer.Option("--mentors", help="Number of mentors.")] = 120,
    mentees: Annotated[int, typer.Option("--mentees", help="Number of mentees.")] = 100,
    preset: Annotated[
        str | None,
        typer.Option(
            "--preset",
            help="Named design: hartford, bbbs_checkins, mentorloop_surveys, guider_inactivity.",
        ),
    ] = None,
    cadence: Annotated[
        str | None,
        typer.Option("--cadence", help="weekly, biweekly, every_3_weeks, monthly or front_loaded."),
    ] = None,
    checkins: Annotated[
        str | None, typer.Option("--checkins", help="none, monthly or survey_30_60.")
    ] = None,
    weeks: Annotated[int | None, typer.Option("--weeks", help="Program length in weeks.")] = None,
    policy: Annotated[str, typer.Option("--policy", help="Matching policy.")] = "random",
    seed: Annotated[int, typer.Option("--seed", help="Root seed.")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
) -> None:
    """Match a synthetic cohort and simulate one program; write its four tables."""
    from toolkit._io import staged_folder, write_table
    from toolkit._validation import check_option
    from toolkit.cohort import CohortSpec, generate_cohort
    from toolkit.matching import match
    from toolkit.program import ProgramDesign
    from toolkit.program import preset as named_preset
    from toolkit.simulation import simulate as run_simulation

    check_option(fmt, "format", "rmt simulate", ("csv", "parquet"))
    changes: dict[str, Any] = {
        k: v
        for k, v in (("cadence", cadence), ("checkins", checkins), ("duration_weeks", weeks))
        if v is not None
    }
    design = named_preset(preset, **changes) if preset else ProgramDesign(**changes)
    # The four tables are written into a temporary folder, created now (so a bad --out
    # is found before simulating) and moved into place only when all four are written.
    with staged_folder(out) as stage:
        cohort_ = generate_cohort(CohortSpec(n_mentors=mentors, n_mentees=mentees, seed=seed))
        result = run_simulation(
            cohort_,
            match(cohort_, policy=policy, seed=seed),
            design,
            seed=seed,
            arm=preset or "program",
        )
        rows = {}
        for name, table in result.tables().items():
            write_table(table, stage / f"{name}.{fmt}")
            rows[name] = len(table)
    for name, n in rows.items():
        typer.echo(f"wrote {n} rows to {out / f'{name}.{fmt}'}", err=True)


teaching_app = typer.Typer(
    help="Teaching notebooks: student versions and rendered HTML.", no_args_is_help=True
)
app.add_typer(teaching_app, name="teaching")


def _register_teaching_commands() -> None:
    """`rmt teaching build` and `render` (options in :mod:`toolkit._teaching_cli`)."""
    from toolkit._teaching_cli import teaching_build, teaching_render

    teaching_app.command("build")(clean_errors(teaching_build))
    teaching_app.command("render")(clean_errors(stops_cleanly(teaching_render)))


_register_teaching_commands()


def _register_commands() -> None:
    """Commands whose options live in their own modules: `rmt advise`, `rmt calibrate`, `rmt fit`,
    `rmt watch` (each module imports only typer at import time)."""
    from toolkit._advise_cli import advise as _advise_command
    from toolkit._calibrate_cli import calibrate_command
    from toolkit._fit_cli import fit as _fit_command
    from toolkit._fit_cli import watch as _watch_command

    app.command("advise")(clean_errors(_advise_command))
    app.command("calibrate")(clean_errors(calibrate_command))
    app.command("fit")(clean_errors(_fit_command))
    app.command("watch")(clean_errors(_watch_command))


_register_commands()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
