"""The ``rmt`` command line.

Every deliberate error (:class:`toolkit.errors.ToolkitError`) prints one sentence to
stderr and exits with status 2; nothing is half-written (outputs are written to a
temporary file and renamed).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated

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
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """Reverse-mentoring toolkit."""


def clean_errors(func):
    """Turn toolkit errors into one line on stderr and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ToolkitError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code=2) from None

    return wrapper


@app.command()
@clean_errors
def cohort(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file: .csv or .parquet.")],
    mentors: Annotated[int, typer.Option("--mentors", help="Number of mentors (junior staff).")] = 120,
    mentees: Annotated[int, typer.Option("--mentees", help="Number of mentees (senior leaders).")] = 100,
    seed: Annotated[int, typer.Option("--seed", help="Root seed.")] = 0,
    locale: Annotated[list[str] | None, typer.Option(
        "--locale", help="Faker locale; repeat for an international program.")] = None,
    department: Annotated[list[str] | None, typer.Option(
        "--department", help="Department name; repeat for several (default: eight common ones).")] = None,
) -> None:
    """Generate a synthetic reverse-mentoring cohort and write its participants table."""
    from toolkit._io import check_output_path, write_table
    from toolkit.cohort import CohortSpec, generate_cohort

    check_output_path(out)
    kwargs = {"n_mentors": mentors, "n_mentees": mentees, "seed": seed}
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
    forbidden: Annotated[Path | None, typer.Option(
        "--forbidden", help="CSV of pairs that must not be matched (two id columns).")] = None,
    include_names: Annotated[bool, typer.Option(
        "--include-names", help="Add mentee_name and mentor_name columns.")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Root seed (random policy).")] = 0,
) -> None:
    """Match a real roster and write the pairs with scores and reasons (no names by default)."""
    from toolkit._io import check_output_path, write_table
    from toolkit.compatibility import Constraints
    from toolkit.matching import match
    from toolkit.roster import read_forbidden_pairs, read_roster

    check_output_path(out)
    cohort = read_roster(roster)
    pairs = read_forbidden_pairs(forbidden, cohort) if forbidden is not None else ()
    result = match(cohort, policy, weights=weights, capacity=capacity, seed=seed,
                   constraints=Constraints(forbidden_pairs=pairs))
    table = result.pairs.assign(reasons=result.explain(top=3)["reasons"].to_numpy())
    # Scores are float32 underneath: four decimals is all they mean, and all a reader wants.
    scores = [c for c in table.columns if c == "score" or c.startswith("score_")]
    table[scores] = table[scores].round(4)
    if include_names:
        names = cohort.participants.set_index("participant_id")["name"]
        table.insert(1, "mentee_name", table["mentee_id"].map(names).to_numpy())
        table.insert(3, "mentor_name", table["mentor_id"].map(names).to_numpy())
    write_table(table, out)
    typer.echo(f"wrote {len(table)} pairs to {out} ({policy}, {weights}); "
               f"{len(result.unmatched)} people unmatched", err=True)
    for row in result.unmatched.itertuples(index=False):
        typer.echo(f"unmatched {row.role} {row.participant_id}: {row.reason}", err=True)


@app.command()
@clean_errors
def data(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the canonical data sets.")
                   ] = Path("synthetic_data"),
) -> None:
    """Regenerate the canonical synthetic data sets, their README and checksums."""
    from toolkit.datasets import write_canonical

    for path in write_canonical(out):
        typer.echo(f"wrote {path}", err=True)


@app.command()
@clean_errors
def reports(
    studies: Annotated[Path, typer.Option("--studies", help="Folder of study notebooks.")
                       ] = Path("studies"),
) -> None:
    """Render the canonical study reports into reports/ (after `rmt data`)."""
    notebooks = sorted(p for p in studies.glob("*.ipynb") if not p.name.startswith("_"))
    if not notebooks:
        typer.echo(f"No study notebooks in {studies}/ yet, so no study report exists; "
                   "the canonical data in synthetic_data/ were regenerated.")
        return
    raise ToolkitError(
        f"Found {len(notebooks)} study notebook(s) in {studies}/ but the study runner "
        "is not available in this version; no report was rendered."
    )


@app.command()
@clean_errors
def simulate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for weeks, outcomes, surveys "
                                      "and events tables (created if missing).")],
    mentors: Annotated[int, typer.Option("--mentors", help="Number of mentors.")] = 120,
    mentees: Annotated[int, typer.Option("--mentees", help="Number of mentees.")] = 100,
    preset: Annotated[str | None, typer.Option(
        "--preset", help="Named design: hartford, bbbs_checkins, mentorloop_surveys, "
        "guider_inactivity.")] = None,
    cadence: Annotated[str | None, typer.Option(
        "--cadence", help="weekly, biweekly, every_3_weeks, monthly or front_loaded.")] = None,
    checkins: Annotated[str | None, typer.Option(
        "--checkins", help="none, monthly or survey_30_60.")] = None,
    weeks: Annotated[int | None, typer.Option("--weeks", help="Program length in weeks.")] = None,
    policy: Annotated[str, typer.Option("--policy", help="Matching policy.")] = "random",
    seed: Annotated[int, typer.Option("--seed", help="Root seed.")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
) -> None:
    """Match a synthetic cohort and simulate one program; write its four tables."""
    from toolkit._io import write_table
    from toolkit._validation import check_option
    from toolkit.cohort import CohortSpec, generate_cohort
    from toolkit.errors import OutputPathError
    from toolkit.matching import match
    from toolkit.program import ProgramDesign
    from toolkit.program import preset as named_preset
    from toolkit.simulation import simulate as run_simulation

    check_option(fmt, "format", "rmt simulate", ("csv", "parquet"))
    changes = {k: v for k, v in (("cadence", cadence), ("checkins", checkins),
                                 ("duration_weeks", weeks)) if v is not None}
    design = named_preset(preset, **changes) if preset else ProgramDesign(**changes)
    if out.exists() and not out.is_dir():
        raise OutputPathError(f"The output folder {str(out)!r} is an existing file.")
    cohort_ = generate_cohort(CohortSpec(n_mentors=mentors, n_mentees=mentees, seed=seed))
    result = run_simulation(cohort_, match(cohort_, policy=policy, seed=seed), design, seed=seed,
                            arm=preset or "program")
    out.mkdir(parents=True, exist_ok=True)
    for name, table in result.tables().items():
        path = write_table(table, out / f"{name}.{fmt}")
        typer.echo(f"wrote {len(table)} rows to {path}", err=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
