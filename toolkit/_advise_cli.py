"""``rmt advise``: the advise study from a program designer's options.

A typer function; ``toolkit.cli`` registers it (``app.command("advise")(clean_errors(advise))``).
Everything that can be refused without simulating is refused before a kernel starts (one
sentence, exit 2, nothing written): the study's parameters (pairs, weeks, budget,
availability, outcome, policies, delta, alpha), a roster (its own validation error), an
ensemble file, and a budget or availability that no design meets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["advise"]


def advise(
    pairs: Annotated[
        int, typer.Option(help="Pairs in the program (with --roster: its mentees).")
    ] = 30,
    weeks: Annotated[int, typer.Option(help="Program length in weeks.")] = 26,
    coordinator_hours: Annotated[
        float, typer.Option("--coordinator-hours", help="Coordinator hours for the whole program.")
    ] = 40.0,
    roster: Annotated[Path | None, typer.Option(help="Roster CSV of the real people.")] = None,
    availability: Annotated[
        float | None, typer.Option(help="Hours a month a senior mentee can give.")
    ] = None,
    outcome: Annotated[str, typer.Option(help="completion, learning or both.")] = "completion",
    models: Annotated[
        Path | None,
        typer.Option(help="Ensemble file of plausible models (default: the committed ensemble)."),
    ] = None,
    delta: Annotated[
        float | None, typer.Option(help="Indifference zone in outcome units (0.02 = 2 points).")
    ] = None,
    alpha: Annotated[float, typer.Option(help="Error probability of the selection.")] = 0.05,
    seed: Annotated[int, typer.Option(help="Root seed.")] = 0,
    workers: Annotated[int, typer.Option(help="Worker processes (same result).")] = 2,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="Further parameter of the advise study as key=value "
            "(rmt run advise --help lists them).",
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Runs go to OUT/advise/RUN_ID/.")] = Path(
        "runs"
    ),
    force: Annotated[
        bool, typer.Option("--force", help="Run again even if this run exists.")
    ] = False,
) -> None:
    """Recommend a program design under a coordinator-hours budget and write its page
    (the advise study): the design, its expected outcome across plausible models, its hours
    and chance of exceeding the budget, the designs indistinguishable from it, what would
    change the advice, and a what-if panel."""
    import json

    from toolkit.runs.plan import plan_run
    from toolkit.runs.run import run_planned

    values = [
        f"pairs={pairs}",
        f"weeks={weeks}",
        f"coordinator_hours={coordinator_hours}",
        f"outcome={outcome}",
        f"alpha={alpha}",
        f"seed={seed}",
        f"workers={workers}",
    ]
    values += [f"availability={availability}"] if availability is not None else []
    values += [f"delta={delta}"] if delta is not None else []
    values += [f"roster={roster}"] if roster is not None else []
    values += [f"models={models}"] if models is not None else []
    plan = plan_run("advise", [*values, *(param or [])], out=out)  # checks every parameter
    precheck(plan.params)
    res = run_planned(plan, force=force)
    if res.skipped:
        typer.echo(
            f"found an earlier run with the same parameters: {res.path} (--force runs it again)",
            err=True,
        )
    findings = json.loads((res.path / "findings.json").read_text(encoding="utf-8"))
    for line in findings.get("findings", [])[:6]:
        typer.echo(line)
    typer.echo(str(res.path / "report.html"))


def precheck(params: Any) -> None:
    """What the advice would refuse before simulating, refused now (nothing written)."""
    from toolkit.advice import check_plan
    from toolkit.ensemble import load_models
    from toolkit.studies.advise import Advise

    study = Advise(params)
    models = load_models(study.params.models)
    check_plan(study.plan(), models)
