"""``rmt calibrate``: rebuild the ensemble of plausible models (a typer command function).

The lead registers it in :mod:`toolkit.cli` with ``app.command("calibrate")(calibrate_command)``.
It runs :func:`toolkit.calibration.calibrate` (history matching of the calibration targets
over the priors) with a progress bar on stderr and writes the ensemble atomically. Every
deliberate error (:class:`toolkit.errors.ToolkitError`) prints one sentence to stderr and
exits with status 2, before anything is written.

``--prior FILE`` (CSV: parameter, low, high and optionally distribution and reason)
replaces the prior of the parameters it names; ``--targets FILE`` replaces the target
table (the layout of ``toolkit/data/calibration_targets.csv``; rows of kind ``check`` are
dropped). So a researcher can change a prior or add a target and rebuild.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from toolkit.errors import ToolkitError

__all__ = ["calibrate_command", "read_prior_overrides"]

_OWNER = "rmt calibrate"


def read_prior_overrides(path: Path):
    """The default calibration prior with the rows of the CSV at ``path`` put in place of
    the parameters they name (columns parameter, low, high; optional distribution, reason)."""
    import pandas as pd

    from toolkit._validation import fail
    from toolkit.calibration import calibration_prior
    from toolkit.history_matching import check_prior

    new = _read_csv(path, "--prior")
    need = {"parameter", "low", "high"}
    if not need <= set(new.columns):
        raise fail("--prior", _OWNER, "a CSV with columns parameter, low, high", list(new.columns))
    prior = calibration_prior().set_index("parameter")
    new = new.assign(
        distribution=new.get("distribution", "uniform"),
        reason=new.get("reason", f"set by the user in {path}"),
    )
    new = new.set_index("parameter")
    known = set(prior.index)
    extra = new.loc[[p not in known for p in new.index]]
    prior.update(
        new.loc[[p in known for p in new.index], ["distribution", "low", "high", "reason"]]
    )
    table = pd.concat([prior, extra.reindex(columns=prior.columns)]).reset_index()
    return check_prior(table, _OWNER)


def _read_csv(path: Path, option: str):
    import pandas as pd

    from toolkit._validation import fail

    try:
        return pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise fail(
            option, _OWNER, "a readable CSV file", f"{path} ({type(exc).__name__})"
        ) from None


def calibrate_command(
    points: Annotated[
        int, typer.Option("--points", "-n", help="Prior points per wave (Latin hypercube).")
    ] = 20_000,
    seed: Annotated[
        int, typer.Option("--seed", "-s", help="Root seed; the same seed gives the same bytes.")
    ] = 2026,
    workers: Annotated[int, typer.Option("--workers", "-w", help="Local worker processes.")] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler", help="Dask scheduler address (tcp://HOST:8786) or scheduler file."
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to reach the scheduler.")
    ] = 10.0,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Ensemble file (.parquet), written atomically.")
    ] = Path("ensemble.parquet"),
    waves: Annotated[
        int, typer.Option("--waves", help="History-matching waves (more than 1 refocuses).")
    ] = 1,
    replicates: Annotated[
        int,
        typer.Option("--replicates", help="Replicates per point (at least 2: Monte Carlo error)."),
    ] = 4,
    prior: Annotated[
        Path | None,
        typer.Option(
            "--prior", help="CSV of prior rows (parameter, low, high) replacing the defaults."
        ),
    ] = None,
    targets: Annotated[
        Path | None, typer.Option("--targets", help="Target table CSV replacing the packaged one.")
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")
    ] = True,
) -> None:
    """Rebuild the ensemble of plausible models: history matching of the calibration
    targets over the priors (Vernon et al. 2010; Andrianakis et al. 2015)."""
    try:
        from toolkit._validation import check_int
        from toolkit.calibration import calibrate, history_targets

        check_int(points, "--points", _OWNER, low=1)
        table = None if prior is None else read_prior_overrides(prior)
        goals = None if targets is None else history_targets(_read_csv(targets, "--targets"))
        ens = calibrate(
            points=points,
            seed=seed,
            workers=workers,
            scheduler=scheduler,
            timeout=timeout,
            out=out,
            waves=waves,
            replicates=replicates,
            prior=table,
            targets=goals,
            progress=progress,
        )
    except ToolkitError as exc:
        from toolkit._validation import one_line

        typer.echo(f"error: {one_line(str(exc))}", err=True)
        raise typer.Exit(code=2) from None
    summary = ens.summary()
    narrowed = summary.loc[summary["share_of_prior_range"] < 0.8, "parameter"].tolist()
    typer.echo(
        f"{len(ens)} models kept of {points * waves} points; narrowed by the evidence "
        f"(90% of models within < 80% of the prior range): "
        f"{', '.join(narrowed) or 'none'}; ensemble {out} (fingerprint "
        f"{ens.fingerprint[:12]})",
        err=True,
    )
