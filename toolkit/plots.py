"""Report figures with one theme and a colour-blind-safe palette.

Every function returns a matplotlib ``Figure`` with a title, axis labels with units, and
alt text for HTML in ``fig.alt_text`` (also returned by :func:`alt_text`). Call
:func:`set_theme` once per notebook; the figures call it themselves too, so they look the
same wherever they are drawn.

>>> import matplotlib; matplotlib.use("Agg")
>>> import pandas as pd
>>> from toolkit.plots import power_curve_plot, alt_text
>>> curve = pd.DataFrame({"n": [20, 50, 100], "diagnosand": "power",
...                       "estimate": [0.2, 0.5, 0.8], "mcse": [0.02, 0.02, 0.02]})
>>> fig = power_curve_plot(curve)
>>> alt_text(fig).startswith("Power curve")
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from toolkit.errors import AnalysisInputError

if TYPE_CHECKING:  # pyplot and its Figure load on first plot, not on `import toolkit`
    from matplotlib.figure import Figure

__all__ = [
    "PALETTE",
    "alt_text",
    "calibration_plot",
    "forest_plot",
    "interaction_plot",
    "km_plot",
    "power_curve_plot",
    "prior_accepted_plot",
    "score_distribution_plot",
    "set_theme",
    "sweep_plot",
    "tradeoff_plot",
    "trajectory_plot",
]

# Okabe & Ito (2008) colour-universal-design palette: distinguishable with the common
# colour-vision deficiencies and in greyscale by lightness order.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


def _subplots(*args, **kwargs):
    # pyplot is imported on first use so `import toolkit` (and the CLI) stays light.
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def set_theme(*, context: str = "notebook", font_scale: float = 1.0) -> tuple[str, ...]:
    """Apply the toolkit theme (seaborn whitegrid, Okabe-Ito colours); returns the palette."""
    import seaborn as sns

    sns.set_theme(
        context=context,
        style="whitegrid",
        palette=list(PALETTE),
        font_scale=font_scale,
        rc={
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "axes.titleweight": "bold",
            "figure.autolayout": False,
        },
    )
    return PALETTE


def alt_text(fig: Figure) -> str:
    """The alt text a figure function attached (for ``<img alt=...>`` in HTML reports)."""
    return getattr(fig, "alt_text", "")


def _finish(fig: Figure, title: str, alt: str) -> Figure:
    fig.suptitle(title)
    fig.alt_text = alt  # type: ignore[attr-defined]  # read back by alt_text()
    fig.tight_layout()
    return fig


def _need(frame: pd.DataFrame, columns: Sequence[str], owner: str) -> None:
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise AnalysisInputError(
            f"{owner} needs a non-empty DataFrame; got {type(frame).__name__}"
            f"{' (empty)' if isinstance(frame, pd.DataFrame) else ''}."
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise AnalysisInputError(
            f"{owner} needs column(s) {', '.join(map(repr, missing))}; available columns are "
            f"{', '.join(map(repr, frame.columns))}."
        )


def _colors(levels: Sequence) -> dict:
    return {lv: PALETTE[i % len(PALETTE)] for i, lv in enumerate(levels)}


def forest_plot(
    estimates: pd.DataFrame,
    *,
    effect: str | None = None,
    outcome_label: str | None = None,
    unit: str = "",
    title: str | None = None,
    interval: str = "95% confidence intervals",
) -> Figure:
    """Contrasts with their CIs, one row each; reference line at 0 (or 1 for ratios, log axis).

    ``estimates`` is a frame from :mod:`toolkit.analysis`; ``effect`` picks the rows
    (default: the first contrast effect present). ``interval`` names what the bars are in
    the alt text (a simulated contrast's bars are Monte Carlo intervals, not CIs).
    """
    set_theme()
    _need(
        estimates, ["effect", "group", "reference", "estimate", "ci_low", "ci_high"], "forest_plot"
    )
    contrasts = estimates[estimates.reference.notna()]
    if contrasts.empty:
        raise AnalysisInputError(
            "forest_plot needs contrast rows (with a reference); the frame has none."
        )
    effect = effect or contrasts.effect.iloc[0]
    rows = contrasts[contrasts.effect == effect].iloc[::-1]
    if rows.empty:
        raise AnalysisInputError(
            f"forest_plot found no rows with effect {effect!r}; effects present are "
            f"{', '.join(map(repr, contrasts.effect.unique()))}."
        )
    ratio = effect in ("odds_ratio", "hazard_ratio")
    what = (
        outcome_label or str(rows.outcome.iloc[0])
        if "outcome" in rows
        else outcome_label or "outcome"
    )
    labels = [f"{g} vs {r}" for g, r in zip(rows.group, rows.reference, strict=True)]
    fig, ax = _subplots(figsize=(7, 1.2 + 0.5 * len(rows)))
    y = np.arange(len(rows))
    est = rows.estimate.to_numpy(float)
    err = np.vstack([est - rows.ci_low.to_numpy(float), rows.ci_high.to_numpy(float) - est])
    ax.errorbar(est, y, xerr=err, fmt="o", color=PALETTE[0], ecolor=PALETTE[0], capsize=4)
    ax.axvline(1.0 if ratio else 0.0, color="0.4", linestyle="--", linewidth=1)
    if ratio:
        from matplotlib.ticker import NullFormatter, ScalarFormatter

        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks(y, labels)
    name = effect.replace("_", " ")
    ax.set_xlabel(
        f"{name}, {what}" + (f" ({unit})" if unit else " (ratio, log scale)" if ratio else "")
    )
    ax.set_ylabel("comparison")
    short = "95% CI" if interval == "95% confidence intervals" else interval.removesuffix("s")
    items = "; ".join(
        f"{lb}: {e:.3g} ({short} {lo:.3g} to {hi:.3g})"
        for lb, e, lo, hi in zip(
            labels[::-1], est[::-1], rows.ci_low[::-1], rows.ci_high[::-1], strict=True
        )
    )
    return _finish(
        fig,
        title or f"{name.capitalize()}: {what}, by comparison",
        f"Forest plot of the {name} in {what} with {interval}, "
        f"reference line at {'1' if ratio else '0'}. {items}.",
    )


def km_plot(
    data: pd.DataFrame,
    *,
    by: str = "arm",
    time: str = "weeks_active",
    event: str | None = None,
    time_unit: str = "weeks",
    title: str | None = None,
) -> Figure:
    """Kaplan-Meier curves by arm with pointwise 95% bands.

    ``data`` is either :func:`toolkit.analysis.km_curves` output or an ``outcomes`` frame
    (curves are then computed with the same arguments).
    """
    from toolkit.analysis import km_curves

    set_theme()
    curves = (
        data
        if {"survival", "group", "time"} <= set(getattr(data, "columns", ()))
        else km_curves(data, time=time, event=event, by=by)
    )
    levels = list(dict.fromkeys(curves.group))
    colors = _colors(levels)
    fig, ax = _subplots(figsize=(7, 4.5))
    summary = []
    for lv in levels:
        c = curves[curves.group == lv]
        ax.step(c.time, c.survival, where="post", color=colors[lv], label=str(lv))
        ax.fill_between(c.time, c.ci_low, c.ci_high, step="post", color=colors[lv], alpha=0.15)
        summary.append(
            f"{lv}: {c.survival.iloc[-1]:.0%} still active at {c.time.iloc[-1]:g} {time_unit}"
        )
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"time in program ({time_unit})")
    ax.set_ylabel("share of pairs still active (proportion)")
    ax.legend(title=by)
    return _finish(
        fig,
        title or "Pair retention by arm (Kaplan-Meier)",
        "Kaplan-Meier curves of the share of pairs still active over time, by "
        f"{by}, with 95% bands. " + "; ".join(summary) + ".",
    )


def trajectory_plot(
    weeks: pd.DataFrame,
    *,
    measures: Sequence[str] = ("quality", "engagement"),
    by: str = "arm",
    time: str = "week",
    units: Sequence[str] | None = None,
    active_only: bool = True,
    title: str | None = None,
) -> Figure:
    """Mean weekly trajectories by arm with 95% bands (mean +/- 1.96 SE across pairs)."""
    set_theme()
    _need(weeks, [by, time, *measures], "trajectory_plot")
    df = weeks[weeks["active"].astype(bool)] if active_only and "active" in weeks.columns else weeks
    units = list(units) if units is not None else ["scale 0-1"] * len(measures)
    levels = sorted(df[by].unique().tolist(), key=str)
    colors = _colors(levels)
    fig, axes = _subplots(1, len(measures), figsize=(5.5 * len(measures), 4.2), squeeze=False)
    summary = []
    for ax, m, u in zip(axes[0], measures, units, strict=True):
        agg = df.groupby([by, time])[m].agg(["mean", "std", "count"]).reset_index()
        agg["se"] = agg["std"] / np.sqrt(agg["count"])
        for lv in levels:
            a = agg[agg[by] == lv]
            ax.plot(a[time], a["mean"], color=colors[lv], label=str(lv))
            ax.fill_between(
                a[time],
                a["mean"] - 1.96 * a.se,
                a["mean"] + 1.96 * a.se,
                color=colors[lv],
                alpha=0.2,
            )
            summary.append(
                f"{m} in {lv} goes from {a['mean'].iloc[0]:.2f} to {a['mean'].iloc[-1]:.2f}"
            )
        ax.set_xlabel(f"{time} of program (weeks)")
        ax.set_ylabel(f"mean {m} ({u})")
        ax.set_title(m.capitalize())
        ax.legend(title=by)
    return _finish(
        fig,
        title or f"{' and '.join(m.capitalize() for m in measures)} over time by {by}",
        f"Line chart of mean weekly {', '.join(measures)} by {by} with 95% bands. "
        + "; ".join(summary)
        + ".",
    )


def score_distribution_plot(
    scores: pd.DataFrame,
    *,
    score: str = "score",
    by: str = "policy",
    unit: str = "compatibility score, 0-1",
    title: str | None = None,
) -> Figure:
    """Distribution of pair scores (e.g. compatibility) by matching policy: violins with quartiles."""
    import seaborn as sns

    set_theme()
    _need(scores, [score, by], "score_distribution_plot")
    levels = list(dict.fromkeys(scores[by]))
    fig, ax = _subplots(figsize=(1.6 * len(levels) + 3, 4.5))
    sns.violinplot(
        data=scores,
        x=by,
        y=score,
        hue=by,
        order=levels,
        hue_order=levels,
        palette=list(PALETTE[: len(levels)]),
        inner="quart",
        cut=0,
        legend=False,
        ax=ax,
    )
    ax.set_xlabel(by.replace("_", " "))
    ax.set_ylabel(f"{score.replace('_', ' ')} ({unit})")
    med = scores.groupby(by)[score].median()
    return _finish(
        fig,
        title or f"{score.replace('_', ' ').capitalize()} by {by.replace('_', ' ')}",
        f"Violin plot of {score} by {by} with quartile lines. Medians: "
        + "; ".join(f"{lv} {med[lv]:.2f}" for lv in levels)
        + ".",
    )


def power_curve_plot(
    curve: pd.DataFrame,
    *,
    target: float = 0.8,
    n_unit: str = "pairs per arm",
    title: str | None = None,
) -> Figure:
    """Power against sample size with a +/- 1.96 MCSE band and the target power line.

    ``curve`` is :func:`toolkit.diagnosis.power_curve` output (the ``power`` rows are used).
    """
    set_theme()
    _need(curve, ["n", "estimate", "mcse"], "power_curve_plot")
    c = curve[curve.diagnosand == "power"] if "diagnosand" in curve.columns else curve
    c = c.sort_values("n")
    fig, ax = _subplots(figsize=(7, 4.5))
    ax.plot(c.n, c.estimate, marker="o", color=PALETTE[0], label="simulated power")
    ax.fill_between(
        c.n,
        np.clip(c.estimate - 1.96 * c.mcse, 0, 1),
        np.clip(c.estimate + 1.96 * c.mcse, 0, 1),
        color=PALETTE[0],
        alpha=0.2,
        label="95% Monte Carlo band",
    )
    ax.axhline(target, color=PALETTE[5], linestyle="--", label=f"target {target:.0%}")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"sample size ({n_unit})")
    ax.set_ylabel("power (probability of a significant result)")
    ax.legend(loc="lower right")
    reach = c[c.estimate >= target]
    where = (
        f"reaches {target:.0%} at about {reach.n.iloc[0]:g} {n_unit}"
        if len(reach)
        else f"stays below {target:.0%} over the sizes simulated"
    )
    return _finish(
        fig,
        title or "Power by sample size",
        f"Power curve: simulated power against sample size from {c.n.min():g} to {c.n.max():g} "
        f"{n_unit} with a 95% Monte Carlo band; power {where}.",
    )


def calibration_plot(
    calibration: pd.DataFrame,
    *,
    name: str = "target",
    simulated: str = "simulated",
    low: str = "low",
    high: str = "high",
    unit: str = "target's own unit",
    title: str | None = None,
) -> Figure:
    """Simulated value of each calibration target against its literature range.

    One row per target: the literature range as a bar, the simulated value as a point,
    coloured by whether it falls inside the range.
    """
    set_theme()
    _need(calibration, [name, simulated, low, high], "calibration_plot")
    df = calibration.iloc[::-1]
    y = np.arange(len(df))
    inside = (df[simulated] >= df[low]) & (df[simulated] <= df[high])
    fig, ax = _subplots(figsize=(7.5, 1.2 + 0.45 * len(df)))
    ax.hlines(y, df[low], df[high], color="0.6", linewidth=6, label="literature range")
    ax.scatter(
        df[simulated],
        y,
        c=np.where(inside, PALETTE[2], PALETTE[5]),
        zorder=3,
        s=40,
        label="simulated",
    )
    ax.set_yticks(y, df[name].astype(str))
    ax.set_xlabel(f"value ({unit})")
    ax.set_ylabel("calibration target")
    # outside the axes: inside, "best" still covered a range bar in the model card
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    outside = df.loc[~inside, name].astype(str).tolist()
    return _finish(
        fig,
        title or "Simulated values against literature ranges",
        f"Calibration plot of {len(df)} targets: {int(inside.sum())} simulated values fall inside "
        "their literature range" + (f"; outside: {', '.join(outside)}." if outside else "."),
    )


def prior_accepted_plot(
    summary: pd.DataFrame,
    *,
    title: str = "What the evidence narrowed: prior against accepted models",
) -> Figure:
    """Each parameter's prior range against the range of the models the evidence kept.

    ``summary`` is :meth:`toolkit.ensemble.Ensemble.summary`: parameter, prior_low,
    prior_high, q05, median, q95, share_of_prior_range. Every parameter is drawn on its
    own prior scaled to 0-1 (its prior range is the full grey bar); the coloured bar is
    the accepted models' 5-95% range and the point their median. Rows are ordered by how
    much the evidence narrowed the parameter (most narrowed at the top).
    """
    set_theme()
    cols = ["parameter", "prior_low", "prior_high", "q05", "median", "q95", "share_of_prior_range"]
    _need(summary, cols, "prior_accepted_plot")
    df = summary.sort_values("share_of_prior_range", ascending=False, kind="stable")
    width = (df.prior_high - df.prior_low).replace(0, np.nan).to_numpy(float)

    def scaled(col: str) -> np.ndarray:
        return (df[col].to_numpy(float) - df.prior_low.to_numpy(float)) / width

    y = np.arange(len(df))
    fig, ax = _subplots(figsize=(7.5, 1.4 + 0.32 * len(df)))
    ax.hlines(y, 0, 1, color="0.8", linewidth=7, label="prior range")
    ax.hlines(
        y,
        scaled("q05"),
        scaled("q95"),
        color=PALETTE[0],
        linewidth=3,
        label="accepted models, 5-95%",
    )
    ax.scatter(scaled("median"), y, color=PALETTE[5], zorder=3, s=18, label="accepted median")
    ax.set_yticks(y, df.parameter.astype(str))
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("position within the prior range (0 = prior low, 1 = prior high)")
    ax.set_ylabel("parameter")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    share = df.share_of_prior_range.to_numpy(float)
    narrowed = df.parameter[share < 0.5].astype(str).tolist()
    return _finish(
        fig,
        title,
        f"Range plot of {len(df)} parameters: each prior range scaled to 0-1 against "
        "the 5-95% range of the accepted models. "
        + (
            f"Narrowed to under half the prior range: {', '.join(narrowed)}."
            if narrowed
            else "No parameter was narrowed to under half its prior range."
        ),
    )


SWEEP_INTERVAL = (
    "the interval each study's sweep rows give (for a simulated contrast of one "
    "model, its Monte Carlo interval; for rows over the plausible models, the "
    "interval holding 90% of them)"
)


def sweep_plot(
    estimates: pd.DataFrame,
    *,
    run: str = "label",
    name: str = "estimate_name",
    title: str = "Headline estimates across the sweep",
    interval: str = SWEEP_INTERVAL,
) -> Figure:
    """One panel per estimate: each run's estimate with its interval (rows are runs).

    ``interval`` names the bars in the alt text: the rows' ``ci_low``/``ci_high`` of a
    simulated contrast are Monte Carlo error, never a confidence interval about programs.

    ``estimates`` is long: ``label`` (the run's parameters), ``estimate_name``,
    ``estimate``, ``ci_low``, ``ci_high``.
    """
    set_theme()
    _need(estimates, [run, name, "estimate", "ci_low", "ci_high"], "sweep_plot")
    names = list(dict.fromkeys(estimates[name]))
    runs = list(dict.fromkeys(estimates[run]))
    ncol = min(3, len(names))
    nrow = -(-len(names) // ncol)
    fig, axes = _subplots(
        nrow,
        ncol,
        figsize=(4.2 * ncol, 1.2 + (0.4 * len(runs) + 0.8) * nrow),
        squeeze=False,
        sharey=True,
    )
    y = {r: i for i, r in enumerate(runs[::-1])}
    parts = []
    for ax, est_name in zip(axes.flat, names, strict=False):
        rows = estimates[estimates[name] == est_name]
        pos = rows[run].map(y).to_numpy(float)
        e = rows.estimate.to_numpy(float)
        err = np.vstack([e - rows.ci_low.to_numpy(float), rows.ci_high.to_numpy(float) - e])
        ax.errorbar(e, pos, xerr=err, fmt="o", color=PALETTE[0], capsize=3)
        ax.axvline(0, color="0.4", linestyle="--", linewidth=1)
        ax.set_title(str(est_name), fontsize=8)
        ax.set_yticks(list(y.values()), list(y.keys()))
        ax.set_xlabel("estimate")
        parts.append(
            f"{est_name}: " + ", ".join(f"{r} {v:.3g}" for r, v in zip(rows[run], e, strict=True))
        )
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    fig = _finish(
        fig,
        title,
        f"Dot plot of each run's headline estimates with {interval}, one "
        "panel per estimate, reference line at 0. " + "; ".join(parts) + ".",
    )
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / fig.get_figheight()))  # room for the title
    return fig


def tradeoff_plot(
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    by: str,
    label: str,
    x_label: str,
    y_label: str,
    title: str = "Outcome against cost",
) -> Figure:
    """One labelled point per row: ``y`` (an outcome) against ``x`` (a cost), coloured by ``by``.

    Used to show completion against coordinator hours, one point per design arm.
    """
    set_theme()
    _need(frame, [x, y, by, label], "tradeoff_plot")
    fig, ax = _subplots(figsize=(7.5, 5))
    groups = list(dict.fromkeys(frame[by]))
    colors = _colors(groups)
    for g in groups:
        part = frame[frame[by] == g]
        ax.scatter(part[x], part[y], s=45, color=colors[g], label=str(g), zorder=3)
        for lx, ly, text in zip(part[x], part[y], part[label], strict=True):
            ax.annotate(str(text), (lx, ly), textcoords="offset points", xytext=(4, 3), fontsize=8)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.legend(loc="best", fontsize=8, title=by.replace("_", " "))
    best = frame.loc[frame[y].idxmax()]
    return _finish(
        fig,
        title,
        f"Scatter plot of {y_label} against {x_label} for {len(frame)} "
        f"arms coloured by {by.replace('_', ' ')}; the highest {y_label}, "
        f"{best[y]:.3g}, is {best[label]} ({best[by]}) at {best[x]:.3g}.",
    )


def interaction_plot(
    frame: pd.DataFrame,
    *,
    x: str,
    trace: str,
    y: str = "estimate",
    y_label: str = "mean",
    title: str = "Cell means",
    interval: str = "95% CIs",
) -> Figure:
    """Cell means of a two-factor design with their intervals: ``x`` levels on the axis, one
    line per ``trace`` level. Roughly parallel lines mean little interaction. ``interval``
    names the bars in the alt text (for simulated cells: Monte Carlo error bars)."""
    set_theme()
    _need(frame, [x, trace, y, "ci_low", "ci_high"], "interaction_plot")
    xs = list(dict.fromkeys(frame[x]))
    traces = list(dict.fromkeys(frame[trace]))
    colors = _colors(traces)
    fig, ax = _subplots(figsize=(1.3 * len(xs) + 4, 4.8))
    pos = {v: i for i, v in enumerate(xs)}
    width = 0.25 / max(len(traces), 1)
    for k, t in enumerate(traces):
        part = frame[frame[trace] == t]
        px = part[x].map(pos).to_numpy(float) + (k - (len(traces) - 1) / 2) * width
        e = part[y].to_numpy(float)
        err = np.vstack([e - part.ci_low.to_numpy(float), part.ci_high.to_numpy(float) - e])
        ax.errorbar(px, e, yerr=err, marker="o", capsize=3, color=colors[t], label=str(t))
    ax.set_xticks(range(len(xs)), [str(v) for v in xs])
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel(y_label)
    ax.legend(loc="best", fontsize=8, title=trace.replace("_", " "))
    spread = frame.groupby(trace, sort=False)[y].agg(lambda s: s.max() - s.min())
    return _finish(
        fig,
        title,
        f"Interaction plot: {y_label} for {len(xs)} levels of "
        f"{x.replace('_', ' ')} (x axis) and {len(traces)} levels of "
        f"{trace.replace('_', ' ')} (lines) with {interval}; the range over "
        f"{x.replace('_', ' ')} is " + ", ".join(f"{t} {v:.3g}" for t, v in spread.items()) + ".",
    )
