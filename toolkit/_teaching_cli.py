"""``rmt teaching build`` and ``rmt teaching render``: the course's notebooks.

Plain typer command functions; ``toolkit.cli`` registers them in its ``teaching`` group.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["teaching_build", "teaching_render"]

# the --source option both commands take
SourceOption = Annotated[
    Path | None,
    typer.Option(
        "--source",
        help="Folder of solution notebooks (default: the ones shipped with the toolkit).",
    ),
]


def teaching_build(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the student versions.")
    ] = Path("build") / "teaching",
    source: SourceOption = None,
) -> None:
    """Write student versions: solution cells become blank answer cells, outputs removed."""
    from toolkit.teaching import TEACHING_NOTEBOOKS, build_student_versions

    for path in build_student_versions(source or TEACHING_NOTEBOOKS, out):
        typer.echo(f"wrote {path}", err=True)


def teaching_render(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the HTML files.")] = Path(
        "reports"
    )
    / "teaching",
    source: SourceOption = None,
) -> None:
    """Execute each teaching notebook in a fresh kernel and write it as HTML (plus index.html)."""
    from toolkit.teaching import TEACHING_NOTEBOOKS, render_notebooks

    for path, seconds in render_notebooks(source or TEACHING_NOTEBOOKS, out):
        typer.echo(f"wrote {path} (ran in {seconds:.1f} s)", err=True)
