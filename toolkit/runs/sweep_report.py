"""A sweep's results: one table (Parquet and CSV, a row per run with its parameters and
headline estimates) and a page comparing the runs, with the command that reproduces it.
"""

from __future__ import annotations

import html
import re
import shlex
from pathlib import Path
from typing import Any

from toolkit._io import replace_text, sha256_text
from toolkit._spec import canonical_json
from toolkit.runs.grid import is_list_parameter
from toolkit.runs.run import RunResult

__all__ = ["write_sweep"]


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")


def write_sweep(
    study: Any, sets: list[Any], runs: list[RunResult], keys: list[str], out: Path
) -> tuple[Path, Path]:
    import pandas as pd

    from toolkit._io import write_table
    from toolkit.report import figure_html, page, table_html
    from toolkit.studies import cli_text

    rows, long = [], []
    for params, run in zip(sets, runs, strict=True):
        label = ", ".join(f"{k}={cli_text(getattr(params, k))}" for k in keys)
        row = {"run_id": run.run_id, "label": label}
        row.update({k: cli_text(getattr(params, k)) for k in keys})
        for r in study.estimates(run.path).to_dict("records"):
            s = _slug(str(r["estimate_name"]))
            row[s], row[f"{s}_ci_low"], row[f"{s}_ci_high"] = (
                r["estimate"],
                r["ci_low"],
                r["ci_high"],
            )
            long.append({"label": label, **r})
        rows.append(row)
    table = pd.DataFrame(rows)
    sweep_id = sha256_text(canonical_json([r.fingerprint for r in runs]))[:12]
    folder = out / study.name / "sweeps" / sweep_id
    folder.mkdir(parents=True, exist_ok=True)
    path = write_table(table, folder / "sweep.parquet")
    write_table(table, folder / "sweep.csv")
    esc = html.escape
    figure = ""
    if long:
        import matplotlib.pyplot as plt

        from toolkit.plots import sweep_plot

        fig = sweep_plot(pd.DataFrame(long))
        figure = figure_html(
            fig, "Headline estimates of each run of the sweep, with 95% confidence intervals."
        )
        fig.savefig(folder / "comparison.png", dpi=110, metadata={"Software": None})
        plt.close(fig)
    shown = table.drop(columns=[c for c in table.columns if c.endswith(("_ci_low", "_ci_high"))])
    body = (
        f"<h1>Sweep of {esc(study.title)}</h1><p><strong>Question.</strong> "
        f"{esc(study.question)}</p><p>{len(runs)} runs varying {esc(', '.join(keys))}; each "
        f"run has its own report in <code>{esc(study.name)}/&lt;run_id&gt;/</code>.</p>{figure}"
        + table_html(
            shown, digits=1, caption="One row per run: its parameters and headline estimates"
        )
        + f"<h2>Reproduce this</h2><pre><code>{esc(_sweep_command(study.name, keys, sets))}"
        "</code></pre>"
    )
    report = replace_text(folder / "report.html", page(f"Sweep: {study.title}", body))
    return path, report


def _sweep_command(name: str, keys: list[str], sets: list[Any]) -> str:
    from toolkit.studies import cli_text

    parts = ["rmt", "sweep", name]
    if sets:
        cls = type(sets[0])
        for k in keys:
            sep = ";" if is_list_parameter(cls, k) else ","
            values = list(dict.fromkeys(cli_text(getattr(s, k)) for s in sets))
            parts += ["--grid", f"{k}={sep.join(values)}"]
        for k, v in sets[0].changed().items():
            if k not in keys:
                parts += ["-p", f"{k}={cli_text(v)}"]
    return shlex.join(parts)
