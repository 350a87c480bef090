"""Plain-language findings from estimate rows, number formatting, and the HTML page.

This module owns the one page template and its CSS (:func:`page`): study reports, sweep
reports, the study index and the teaching pages all use it, so they look alike and
load nothing from the internet. :func:`figure_html` embeds a figure as a data URI with
its alt text and caption.

All numbers a report shows go through :func:`fmt_number`, :func:`fmt_ci` and
:func:`fmt_p`, so one change of style changes every report.

>>> from toolkit.report import sentence
>>> row = {"effect": "risk_difference", "group": "optimal", "reference": "random",
...        "estimate": 0.091, "ci_low": 0.042, "ci_high": 0.140, "outcome": "completed"}
>>> sentence(row, labels={"optimal": "Optimal matching"}, outcome="completion")
'Optimal matching raised completion by 9.1 points (95% CI 4.2 to 14.0) over random.'
>>> sentence({**row, "ci_low": -0.01}, labels={"optimal": "Optimal matching"}, outcome="completion")
'There was no clear difference in completion between optimal matching and random (9.1 points, 95% CI -1.0 to 14.0).'
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

__all__ = [
    "DIFFERENCE_EFFECTS",
    "RATIO_EFFECTS",
    "PAGE_CSS",
    "figure_html",
    "findings_html",
    "fmt_ci",
    "fmt_number",
    "fmt_p",
    "page",
    "sentence",
    "sentences",
    "table_html",
]

DIFFERENCE_EFFECTS = (
    "difference",
    "risk_difference",
    "hedges_g",
    "slope_difference",
    "difference_at_end",
)
RATIO_EFFECTS = ("odds_ratio", "hazard_ratio")
LEVEL_EFFECTS = ("mean", "proportion", "survival", "slope", "gain")
# Default display scale and unit per effect (risk differences read as percentage points).
_DEFAULT_UNITS = {
    "risk_difference": (100.0, "points"),
    "proportion": (100.0, "%"),
    "survival": (100.0, "%"),
    "hedges_g": (1.0, "standard deviations"),
}
_RATIO_NAMES = {"odds_ratio": ("odds", "OR"), "hazard_ratio": ("hazard", "HR")}


def fmt_number(x: Any, digits: int = 1) -> str:
    """A number with ``digits`` decimals and thousands separators; '-' for missing.

    >>> fmt_number(1234.567), fmt_number(-0.04), fmt_number(float("nan"))
    ('1,234.6', '0.0', '-')
    """
    if x is None or (isinstance(x, float) and math.isnan(x)) or pd.isna(x):
        return "-"
    text = f"{float(x):,.{digits}f}"
    # "-0.0" reads as a claim of a negative value; it is zero at this precision.
    return text[1:] if text.startswith("-") and float(text.replace(",", "")) == 0 else text


def fmt_ci(low: Any, high: Any, digits: int = 1, level: float = 95) -> str:
    """'95% CI 4.2 to 14.0' (words, not a dash, so negative bounds stay readable)."""
    return f"{level:g}% CI {fmt_number(low, digits)} to {fmt_number(high, digits)}"


def fmt_p(p: Any) -> str:
    """'p < 0.001', 'p = 0.003', 'p = 0.04', 'p = 0.27'."""
    if p is None or pd.isna(p):
        return "p not available"
    p = float(p)
    if p < 0.001:
        return "p < 0.001"
    if p < 0.01:
        return f"p = {p:.3f}"
    return f"p = {p:.2f}"


def _get(row: Any, key: str, default: Any = None) -> Any:
    value = row.get(key, default) if isinstance(row, Mapping) else getattr(row, key, default)
    return default if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def _label(value: Any, labels: Mapping[Any, str] | None) -> str:
    return str(labels.get(value, value)) if labels else str(value)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _with_unit(text: str, unit: str) -> str:
    if not unit:
        return text
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}"


def sentence(
    row: Any,
    *,
    outcome: str | None = None,
    labels: Mapping[Any, str] | None = None,
    unit: str | None = None,
    scale: float | None = None,
    digits: int = 1,
    level: float = 95,
) -> str:
    """One plain-language sentence for one estimate row of :mod:`toolkit.analysis`.

    Differences say "raised"/"lowered" only when the CI excludes zero and "no clear
    difference" otherwise; ratios (odds, hazard) compare against 1 the same way.
    ``scale`` and ``unit`` default per effect (risk differences: x100, "points").
    """
    effect = _get(row, "effect", "difference")
    est, lo, hi = (_get(row, k, math.nan) for k in ("estimate", "ci_low", "ci_high"))
    what = outcome or str(_get(row, "outcome", "the outcome"))
    group = _label(_get(row, "group", "this arm"), labels)
    ref = _label(_get(row, "reference", "the reference"), labels)
    d_scale, d_unit = _DEFAULT_UNITS.get(effect, (1.0, ""))
    scale = d_scale if scale is None else scale
    unit = d_unit if unit is None else unit
    if effect in RATIO_EFFECTS:
        return _ratio_sentence(effect, est, lo, hi, what, group, ref, digits, level)
    if effect == "logrank":
        clear = "a clear" if _get(row, "p_value", 1.0) <= 0.05 else "no clear"
        return (
            f"The log-rank test found {clear} difference in {what} across arms "
            f"(chi-square {fmt_number(est, digits)}, {fmt_p(_get(row, 'p_value'))})."
        )
    e, lo_s, hi_s = est * scale, lo * scale, hi * scale
    ci = fmt_ci(lo_s, hi_s, digits, level)
    if effect in LEVEL_EFFECTS and effect != "gain":
        name = {
            "mean": f"mean {what}",
            "proportion": what,
            "survival": f"share still active (free of {what})",
            "slope": f"the weekly change in {what}",
        }[effect]
        return _cap(f"{group}: {name} {_with_unit(fmt_number(e, digits), unit)} ({ci}).")
    # When the verb carries the sign ("lowered", "fell"), the number and its interval are
    # magnitudes: "fell by 5.0 (95% CI 1.0 to 9.0)", never "(95% CI -9.0 to -1.0)".
    magnitude_ci = ci if est > 0 else fmt_ci(-hi_s, -lo_s, digits, level)
    if effect == "gain":
        if lo > 0 or hi < 0:
            verb = "rose" if est > 0 else "fell"
            return _cap(
                f"{what} {verb} by {_with_unit(fmt_number(abs(e), digits), unit)} from pre to "
                f"post in {group} ({magnitude_ci})."
            )
        return _cap(
            f"There was no clear change in {what} from pre to post in {group} "
            f"({_with_unit(fmt_number(e, digits), unit)}, {ci})."
        )
    if lo > 0 or hi < 0:
        verb = "raised" if est > 0 else "lowered"
        if effect == "slope_difference":
            what = f"the weekly change in {what}"
        elif effect == "difference_at_end":
            what = f"{what} by the end of follow-up"
        versus = "over" if est > 0 else "compared with"
        return _cap(
            f"{group} {verb} {what} by {_with_unit(fmt_number(abs(e), digits), unit)} "
            f"({magnitude_ci}) {versus} {ref}."
        )
    return _cap(
        f"There was no clear difference in {what} between {group[:1].lower() + group[1:]} "
        f"and {ref} ({_with_unit(fmt_number(e, digits), unit)}, {ci})."
    )


def _ratio_sentence(effect, est, lo, hi, what, group, ref, digits, level) -> str:
    noun, abbr = _RATIO_NAMES[effect]
    ratio_digits = max(digits, 2)
    ci = fmt_ci(lo, hi, ratio_digits, level)
    stat = f"{abbr} {fmt_number(est, ratio_digits)}, {ci}"
    if lo > 1 or hi < 1:
        change = (est - 1) * 100
        direction = "higher" if est > 1 else "lower"
        return _cap(
            f"{group} had {fmt_number(abs(change), 0)}% {direction} {noun} of {what} than "
            f"{ref} ({stat})."
        )
    return _cap(
        f"There was no clear difference in the {noun} of {what} between "
        f"{group[:1].lower() + group[1:]} and {ref} ({stat})."
    )


def sentences(
    frame: pd.DataFrame,
    *,
    effects: Iterable[str] = (
        "difference",
        "risk_difference",
        "hazard_ratio",
        "slope_difference",
        "gain",
    ),
    **kwargs: Any,
) -> list[str]:
    """Sentences for the rows of ``frame`` whose effect is in ``effects``."""
    wanted = set(effects)
    return [sentence(r, **kwargs) for r in frame.to_dict("records") if r.get("effect") in wanted]


def findings_html(findings: Iterable[str], *, title: str | None = "Findings") -> str:
    """An HTML list of plain-language findings (escaped), with an optional heading."""
    items = "".join(f"<li>{html.escape(s)}</li>" for s in findings)
    head = f"<h2>{html.escape(title)}</h2>" if title else ""
    return f'{head}<ul class="findings">{items}</ul>'


def table_html(
    frame: pd.DataFrame,
    *,
    digits: int = 2,
    caption: str | None = None,
    columns: Iterable[str] | None = None,
) -> str:
    """A plain HTML table; numbers formatted by :func:`fmt_number`, p-values by :func:`fmt_p`.

    An estimate frame's ``ci_low``/``ci_high`` pair is shown as one "95% CI" column.
    """
    df = frame.loc[:, list(columns)] if columns is not None else frame
    if {"ci_low", "ci_high"} <= set(df.columns):
        ci = [
            f"{fmt_number(a, digits)} to {fmt_number(b, digits)}"
            for a, b in zip(df.ci_low, df.ci_high, strict=True)
        ]
        pos = list(df.columns).index("ci_low")
        df = df.drop(columns=["ci_low", "ci_high"])
        df.insert(pos, "95% CI", ci)

    def cell(col: str, v: Any) -> str:
        if col.startswith("p_value"):
            if v is None or pd.isna(v):
                return "-"
            return fmt_p(v).removeprefix("p = ").replace("p < ", "< ")
        if isinstance(v, bool) or not isinstance(v, int | float):
            return "-" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)
        return str(v) if isinstance(v, int) else fmt_number(v, digits)

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(cell(str(c), v))}</td>" for c, v in zip(df.columns, r, strict=True)
        )
        + "</tr>"
        for r in df.itertuples(index=False)
    )
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (
        f'<table class="estimates">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


# --------------------------------------------------------------------------- the page

PAGE_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
 color:#1a1a1a;background:#fff;margin:0;line-height:1.5}
main{max-width:960px;margin:0 auto;padding:1.5rem 1.5rem 4rem}
h1{font-size:1.8rem;margin:.5rem 0 1rem}h2{font-size:1.35rem;margin-top:2rem;
 border-bottom:1px solid #ddd;padding-bottom:.2rem}h3{font-size:1.05rem;margin-bottom:.2rem}
a.anchor-link{display:none}
#findings{background:#f3f7fb;border-left:4px solid #0072B2;padding:.4rem 1.2rem 1rem;margin:1rem 0}
#findings h2{border:none;margin-top:.6rem}ul.findings li{margin:.35rem 0}
p.robustness{font-style:italic;color:#444}
details{margin:.4rem 0}summary{cursor:pointer;font-weight:600;margin:.3rem 0}
figure.rmt-figure{margin:1.2rem 0}figure.rmt-figure img{max-width:100%;height:auto}
figcaption{font-size:.9rem;color:#444;margin-top:.3rem}
table.estimates{border-collapse:collapse;font-size:.85rem;margin:1rem 0;display:block;
 overflow-x:auto;max-width:100%}
table.estimates caption{text-align:left;font-weight:600;padding:.3rem 0;caption-side:top}
table.estimates th,table.estimates td{border-bottom:1px solid #e3e3e3;padding:.25rem .6rem;white-space:nowrap;
 text-align:left;vertical-align:top}
table.params td{white-space:normal}
table.estimates th{background:#f6f6f6;white-space:normal;vertical-align:bottom}
pre{background:#f6f6f6;padding:.8rem;overflow-x:auto;white-space:pre-wrap}
footer{margin-top:3rem;font-size:.8rem;color:#666}
"""
# Rules only executed teaching notebooks need (their code and prompts stay visible).
_NOTEBOOK_CSS = """
.jp-InputPrompt,.jp-OutputPrompt{display:none}
.jp-Notebook img{max-width:100%;height:auto}
.jp-OutputArea table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0}
.jp-OutputArea th,.jp-OutputArea td{border-bottom:1px solid #e0e0e0;padding:.25rem .6rem;
 text-align:right}
p.warning{background:#fff7e6;border-left:4px solid #E69F00;padding:.5rem 1rem}
"""


def page(title: str, body: str, footer: str = "", *, notebook: bool = False) -> str:
    """A self-contained HTML page: ``body`` (already escaped markup) in the toolkit's CSS.

    ``notebook=True`` adds the rules a rendered notebook with visible code needs.

    >>> html_text = page("A & B", "<p>hi</p>", footer="made here")
    >>> "<title>A &amp; B</title>" in html_text, "<footer>made here</footer>" in html_text
    (True, True)
    """
    foot = f"<footer>{footer}</footer>" if footer else ""
    css = PAGE_CSS + (_NOTEBOOK_CSS if notebook else "")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{css}</style></head>"
        f"<body><main>{body}{foot}</main></body></html>\n"
    )


def figure_html(fig: Any, caption: str, alt: str | None = None) -> str:
    """A ``<figure>`` with the image embedded as a data URI, alt text and a caption.

    The alt text is ``alt``, else the figure's own description
    (:func:`toolkit.plots.alt_text`), else the caption; no caption, no ``<figcaption>``.
    """
    import base64
    import io

    from toolkit.plots import alt_text

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None}, bbox_inches="tight")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    alt = alt or alt_text(fig) or caption
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (
        f'<figure class="rmt-figure"><img src="data:image/png;base64,{data}" '
        f'alt="{html.escape(alt, quote=True)}">{cap}</figure>'
    )
