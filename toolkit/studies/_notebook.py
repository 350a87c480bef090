"""The helpers a study notebook calls: save tables and figures, show findings, tables,
figures and the standard sections (methods, parameters, limitations, reproduce).

Everything is written into the kernel's working directory (the run folder), atomically.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from toolkit._validation import fail
from toolkit.report import figure_html  # the one figure template
from toolkit.studies._params import StudyParameters, cli_text

__all__ = [
    "FINDINGS_FILE",
    "figure_html",
    "output_dir",
    "read_findings",
    "save_figure",
    "save_table",
    "show_figure",
    "show_findings",
    "show_html",
    "show_limitations",
    "show_methods",
    "show_parameters",
    "show_reproduce",
    "show_table",
]

FINDINGS_FILE = "findings.json"
# Tables with at most this many rows are written as CSV too (readable in a spreadsheet).
SMALL_TABLE_ROWS = 5_000


def read_findings(run_dir: str | os.PathLike) -> list[str]:
    """The headline findings a run saved (``findings.json``), or [] if none."""
    p = Path(run_dir) / FINDINGS_FILE
    if not p.is_file():
        return []
    return list(json.loads(p.read_text(encoding="utf-8")).get("findings", []))


def output_dir() -> Path:
    """The folder a study writes into: the kernel's working directory (the runner sets it
    to the run folder; with plain papermill it is ``--cwd`` or the current folder)."""
    return Path.cwd()


def show_html(markup: str) -> None:
    """Display raw (already escaped) HTML in the notebook and the report."""
    from IPython.display import HTML, display

    display(HTML(markup))


def save_table(frame: Any, name: str) -> Path:
    """Write a tidy table to ``tables/<name>.parquet`` (and ``.csv`` when small), atomically."""
    from toolkit._io import write_table

    if not name.replace("_", "").isalnum():
        raise fail("name", "save_table", "a snake_case name", name)
    folder = output_dir() / "tables"
    folder.mkdir(exist_ok=True)
    path = write_table(frame, folder / f"{name}.parquet")
    if len(frame) <= SMALL_TABLE_ROWS:
        write_table(frame, folder / f"{name}.csv")
    return path


def save_figure(fig: Any, name: str) -> Path:
    """Write a figure to ``figures/<name>.png`` (deterministic bytes: no timestamp)."""
    folder = output_dir() / "figures"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.png"
    tmp = folder / f".{name}.png.tmp"
    fig.savefig(tmp, format="png", dpi=110, metadata={"Software": None}, bbox_inches="tight")
    os.replace(tmp, path)
    return path


def show_figure(fig: Any, name: str, caption: str, alt: str | None = None) -> Path:
    """Save a figure under ``figures/`` and show it with its caption and alt text."""
    import matplotlib.pyplot as plt

    path = save_figure(fig, name)
    show_html(figure_html(fig, caption, alt))
    plt.close(fig)
    return path


def show_table(
    frame: Any,
    caption: str,
    *,
    digits: int = 2,
    columns: Iterable[str] | None = None,
    save: str | None = None,
) -> None:
    """Show a table as an HTML table (numbers formatted by toolkit.report); optionally save it."""
    from toolkit.report import table_html

    if save:
        save_table(frame, save)
    show_html(table_html(frame, digits=digits, caption=caption, columns=columns))


def show_findings(
    findings: Iterable[str],
    *,
    title: str = "Findings",
    more: Mapping[str, Iterable[str]] | None = None,
    across: list[dict[str, Any]] | None = None,
) -> None:
    """Show the plain-language findings first and save them to ``findings.json``.

    ``findings`` are the headline (the index page shows the first three); ``more`` adds
    titled lists of further findings inside the same section; ``across`` (the numbers of
    each headline over the plausible models, ``AcrossModels.records()``) is saved with
    them as ``across_models``."""
    from toolkit.report import findings_html

    findings = [str(f) for f in findings]
    more_items = {str(k): [str(x) for x in v] for k, v in (more or {}).items()}
    p = output_dir() / FINDINGS_FILE
    tmp = p.with_name(f".{p.name}.tmp")
    payload: dict[str, Any] = {"findings": findings, "more": more_items}
    if across is not None:
        payload["across_models"] = across
    tmp.write_text(
        json.dumps(payload, indent=1, allow_nan=False, default=_plain) + "\n", encoding="utf-8"
    )
    os.replace(tmp, p)
    markup = findings_html(findings, title=title)
    # Further findings fold away (plain HTML, no script), so the headlines are what
    # a reader sees first.
    for heading, items in more_items.items():
        markup += (
            f"<details><summary>{html.escape(heading)} ({len(items)} findings)"
            f"</summary>{findings_html(items, title=None)}</details>"
        )
    show_html(f'<section id="findings">{markup}</section>')


def _plain(value: Any) -> Any:
    """JSON for numpy scalars (the across-model records)."""
    return value.item() if hasattr(value, "item") else str(value)


def show_parameters(params: StudyParameters) -> None:
    """A table of every parameter, its value, and whether it was changed from the default."""
    import pandas as pd

    defaults = type(params).defaults()
    rows = [
        {
            "parameter": k,
            "value": cli_text(v).replace(",", ", "),
            "default": "yes"
            if defaults.get(k) == v
            else f"no (default {cli_text(defaults.get(k))})",
            "meaning": type(params).model_fields[k].description or "",
        }
        for k, v in params.to_dict().items()
        if k != "roster" or v is None
    ]
    if params.to_dict().get("roster") is not None:
        rows.append(
            {
                "parameter": "roster",
                "value": "a real roster file (checksum in the manifest)",
                "default": "no (default none)",
                "meaning": "Participants read from a roster.",
            }
        )
    show_html(_plain_table(pd.DataFrame(rows), "Parameters of this run", css="estimates params"))


def _plain_table(frame: Any, caption: str, css: str = "estimates") -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return (
        f'<table class="{css}"><caption>{html.escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def show_methods(
    *,
    aims: str,
    mechanism: str,
    estimands: Iterable[str],
    methods: str,
    performance: str,
    params: StudyParameters | None = None,
) -> None:
    """The ADEMP methods section (aims, data-generating mechanism, estimands, methods,
    performance), with the parameters changed from their defaults."""
    esc = html.escape
    changed = ""
    if params is not None:
        diff = {k: v for k, v in params.changed().items() if k != "roster"}
        if "roster" in params.changed():
            diff["roster"] = "a real roster"
        changed = (
            "<p>Parameters changed from the defaults: "
            + (esc(", ".join(f"{k} = {cli_text(v)}" for k, v in diff.items())) or "none")
            + ".</p>"
        )
    items = "".join(f"<li>{esc(e)}</li>" for e in estimands)
    show_html(
        '<section id="methods"><h2>Methods (ADEMP)</h2>'
        f"<h3>Aims</h3><p>{esc(aims)}</p>"
        f"<h3>Data-generating mechanism</h3><p>{esc(mechanism)}</p>{changed}"
        f"<h3>Estimands</h3><ul>{items}</ul>"
        f"<h3>Methods</h3><p>{esc(methods)}</p>"
        f"<h3>Performance</h3><p>{esc(performance)}</p></section>"
    )


def show_limitations(limitations: Iterable[str]) -> None:
    """The assumptions the findings depend on, as a list."""
    items = "".join(f"<li>{html.escape(s)}</li>" for s in limitations)
    show_html(f'<section id="limitations"><h2>Limitations</h2><ul>{items}</ul></section>')


def show_reproduce(params: StudyParameters) -> str:
    """The "reproduce this" block: the exact ``rmt run`` command; returns it."""
    import toolkit

    roster = params.to_dict().get("roster")
    # the file name only: a full path can name a person (a home folder)
    cmd = params.command(**({"roster": Path(roster).name} if roster else {}))
    show_html(
        '<section id="reproduce"><h2>Reproduce this</h2>'
        f"<pre><code>{html.escape(cmd)}</code></pre>"
        f"<p>toolkit {html.escape(toolkit.__version__)}; the run's manifest.json lists the "
        "package versions, the specification fingerprint and the checksum of every table. "
        "<code>rmt verify RUN_DIR</code> re-runs it and compares every table.</p></section>"
    )
    return cmd
