"""``rmt fit`` and ``rmt watch``: a program's own logs on the command line.

The functions are plain typer command functions; ``toolkit.cli`` registers them
(``app.command("fit")(clean_errors(fit))``), so every toolkit error is one line on stderr
and exit status 2, and nothing is written (outputs go through a staged folder).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["fit", "watch", "watch_page_html"]

_COLUMN_HELP = (
    'A table header and the column it holds, e.g. "Session Date=date" '
    "(repeatable; applies to every table)."
)
_VALUE_HELP = (
    'A value and what it means, e.g. "held:Cancelled=no" or '
    '"cadence:Every other week=biweekly" (repeatable).'
)
_MAP_HELP = (
    "YAML or JSON mapping file with 'columns:' and 'values:' sections (--column and "
    "--value add to it)."
)


def _mapping(path: Path | None, columns: list[str] | None, values: list[str] | None):
    from toolkit._columns import ColumnMapping

    base = ColumnMapping.from_file(path) if path is not None else ColumnMapping()
    return base.merged(ColumnMapping.from_options(columns or (), values or ()))


def _as_of(text: str | None) -> dt.date | None:
    from toolkit.errors import InvalidParameterError

    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidParameterError(
            f"The --as-of option must be a date YYYY-MM-DD; got {text!r}."
        ) from None


def fit(
    logs: Annotated[
        Path, typer.Argument(help="Folder with meetings.csv, checkins.csv and pairs.csv.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder for the fit.")],
    column: Annotated[list[str] | None, typer.Option("--column", help=_COLUMN_HELP)] = None,
    value: Annotated[list[str] | None, typer.Option("--value", help=_VALUE_HELP)] = None,
    mapping_file: Annotated[Path | None, typer.Option("--map", help=_MAP_HELP)] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="The date the logs run to (default: their latest date)."),
    ] = None,
    points: Annotated[
        int,
        typer.Option(
            "--points", help="Prior simulations in the reference table (built once, cached)."
        ),
    ] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Root seed.")] = 0,
) -> None:
    """Fit the model to a program's logs; write the report, parameters and models.parquet
    (and risk.json, the watch list's risk model trained on it)."""
    from toolkit._io import write_text
    from toolkit._validation import check_int, one_line
    from toolkit.fitting import ProgramShape, fit_program, write_fit
    from toolkit.logs import read_logs
    from toolkit.watch import train_risk

    check_int(points, "points", "rmt fit", low=1_000, high=1_000_000)
    data = read_logs(logs, _mapping(mapping_file, column, value), as_of=_as_of(as_of))
    result = fit_program(data, points=points, seed=seed)
    write_fit(result, out)
    for message in result.messages:
        typer.echo(one_line(message), err=True)
    written = "models.parquet, risk.json, " if result.ensemble is not None else ""
    risk_file = Path(out) / "risk.json"
    if result.ensemble is not None:  # the watch list's risk model, trained once per fit
        risk = train_risk(ProgramShape.from_logs(data), result.ensemble, seed=seed)
        write_text(risk.to_json(), risk_file, formats=(".json",))
    else:
        risk_file.unlink(missing_ok=True)
    typer.echo(
        f"wrote {written}report.html, parameters.csv, summaries.csv and calibration.csv to {out}",
        err=True,
    )


def watch_page_html(res) -> str:
    """The watch list page: the ranked pairs, and how well the risk is calibrated."""
    import base64
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from toolkit.report import findings_html, table_html

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for name, part in res.reliability.groupby("score", sort=False):
        ax.plot(part["predicted"], part["observed"], "o-", label=name, ms=3)
    top = float(max(res.reliability["predicted"].max(), res.reliability["observed"].max(), 0.05))
    ax.plot([0, top], [0, top], color="grey", lw=0.8, ls="--")
    ax.set_xlabel("predicted probability of ending")
    ax.set_ylabel("share that ended")
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    img = base64.b64encode(buf.getvalue()).decode()
    best_rule = res.scores[res.scores["score"] != "model"].sort_values("brier").iloc[0]
    model = res.scores[res.scores["score"] == "model"].iloc[0]
    findings = [
        f"{len(res.table)} pairs are active at the end of week {res.week}; the list ranks "
        f"them by the fitted model's probability of ending within {res.lead_weeks} weeks.",
        "On held-out simulated programs (every pair-week of the program pooled) "
        f"the model's Brier score is {model['brier']:.4f} "
        f"against {best_rule['brier']:.4f} for the best rule ({best_rule['score']}) and a "
        f"base rate of {model['base_rate']:.3f} (lower is better).",
        "The expected change from a check-in now rests on the model's assumed effect of "
        "coaching (a prior, not fitted to your logs).",
    ]
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Watch list</title>"
        "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}"
        "table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd}"
        "</style></head><body><h1>Pairs to watch</h1>"
        + findings_html(findings)
        + table_html(res.table, digits=3)
        + "<h2>How well is the risk calibrated?</h2>"
        f'<img alt="reliability" src="data:image/png;base64,{img}">'
        + table_html(res.scores, digits=4)
        + "</body></html>"
    )


def watch(
    logs: Annotated[
        Path, typer.Argument(help="Folder with meetings.csv, checkins.csv and pairs.csv.")
    ],
    week: Annotated[int, typer.Option("--week", help="Program week (from the first start).")],
    models: Annotated[
        Path | None,
        typer.Option("--models", help="models.parquet from rmt fit (default: fit the logs now)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Folder for watch.csv, scores.csv, reliability.csv and watch.html."
        ),
    ] = None,
    lead: Annotated[int, typer.Option("--lead", help="Weeks ahead to watch.")] = 8,
    column: Annotated[list[str] | None, typer.Option("--column", help=_COLUMN_HELP)] = None,
    value: Annotated[list[str] | None, typer.Option("--value", help=_VALUE_HELP)] = None,
    mapping_file: Annotated[Path | None, typer.Option("--map", help=_MAP_HELP)] = None,
    seed: Annotated[int, typer.Option("--seed", help="Root seed.")] = 0,
) -> None:
    """Rank the active pairs by their probability of ending soon; say what a check-in is worth."""
    from toolkit._io import staged_folder, write_table, write_text
    from toolkit._validation import check_int
    from toolkit.ensemble import Ensemble
    from toolkit.fitting import fit_program
    from toolkit.logs import read_logs
    from toolkit.watch import load_risk, watch_list

    check_int(lead, "lead", "rmt watch", low=1, high=52)
    data = read_logs(logs, _mapping(mapping_file, column, value))
    risk = None
    if models is not None:
        ensemble = Ensemble.load(models)
        saved = models.parent / "risk.json"
        risk = load_risk(saved) if saved.is_file() else None  # used if its fingerprint matches
    else:
        result = fit_program(data, seed=seed)
        if result.ensemble is None:
            from toolkit.errors import InvalidParameterError

            raise InvalidParameterError(result.messages[0])
        ensemble = result.ensemble
    res = watch_list(data, ensemble, week=week, lead_weeks=lead, seed=seed, risk=risk)
    shown = res.table.head(20)
    for r in shown.itertuples(index=False):
        typer.echo(f"{r.pair}\t{r.probability:.3f}\t{r.expected_change:+.3f}\t{r.why}")
    if out is not None:
        with staged_folder(out, what="watch folder") as stage:
            write_table(res.table, stage / "watch.csv")
            write_table(res.scores, stage / "scores.csv")
            write_table(res.reliability, stage / "reliability.csv")
            write_text(watch_page_html(res), stage / "watch.html", formats=(".html",))
        typer.echo(
            f"wrote watch.csv, scores.csv, reliability.csv and watch.html to {out}", err=True
        )
