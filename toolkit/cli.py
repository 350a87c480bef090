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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
