"""The default model's answers in words: one contrast, every contrast of some outcomes, many
arms in one sentence, a range of Monte Carlo errors, and which lever effects enter a run."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from toolkit.studies._common import contrasts

__all__ = [
    "OUTCOME_NAMES",
    "OUTCOME_UNITS",
    "cap",
    "contrast_summary",
    "default_sentence",
    "default_sentences",
    "outcome_names",
    "scenario_note",
    "se_span",
]

#: Every outcome column the studies report, in words: the one source a study picks from.
OUTCOME_NAMES = {
    "completed": "completion",
    "mentee_gain": "the mentee's digital gain",
    "mentor_gain": "the mentor's leadership gain",
    "mean_quality": "relationship quality",
    "satisfaction_mentee": "the mentee's satisfaction",
    "satisfaction_mentor": "the mentor's satisfaction",
    "hours_mentee": "hours spent per pair",
    "hours_coordinator": "coordinator hours per pair",
}

#: The scale and unit an outcome's difference is written in (a share of pairs in points).
OUTCOME_UNITS = {
    "completed": (100.0, "percentage points"),
    "mentee_gain": (1.0, "skill points (0-1 scale)"),
    "mentor_gain": (1.0, "skill points (0-1 scale)"),
    "mean_quality": (1.0, "quality points (0-1 scale)"),
}


def outcome_names(*outcomes: str) -> dict[str, str]:
    """``outcomes`` (in that order) with their words from :data:`OUTCOME_NAMES`."""
    return {o: OUTCOME_NAMES[o] for o in outcomes}


def cap(text: str) -> str:
    """``text`` with its first letter upper-case."""
    return text[:1].upper() + text[1:]


def scenario_note(designs: Any) -> str:
    """Which lever effects (scenario inputs a user sets, never findings) the arms use."""
    from toolkit.behavior import BehaviorModel

    levers = {"goal_setting", "structured_agenda", "mentor_training", "recognition", "virtual"}
    used = sorted({k for d in designs for k in levers if getattr(d, k, False)})
    names = ", ".join(BehaviorModel.scenario_inputs())
    return (
        "Lever effects ("
        + names
        + ") are scenario inputs set by the user, not findings; "
        + (
            f"the arms here use {', '.join(used)}, so their results carry those inputs."
            if used
            else "no arm here switches a lever on, so none enters these results."
        )
    )


def se_span(se: Any) -> str:
    """The range of standard errors (percentage points) in words."""
    from toolkit.report import fmt_number

    se = np.asarray(se, float)
    return (
        f"{fmt_number(se.min(), 2)} to {fmt_number(se.max(), 2)} points"
        if len(se)
        else "not available"
    )


def default_sentence(
    row: Any,
    *,
    arm: str,
    reference: str,
    what: str = "completion",
    scale: float = 100.0,
    unit: str = "points",
    digits: int = 1,
) -> str:
    """The default model's answer to one contrast, labelled as such, with its Monte Carlo
    error (never an interval about programs).

    >>> default_sentence({"estimate": -0.031, "se": 0.008}, arm="weekly",
    ...                  reference="biweekly")
    "Default model's answer: weekly minus biweekly, completion -3.1 points (Monte Carlo error 0.8)."
    """
    from toolkit.report import fmt_number

    est, se = float(row["estimate"]) * scale, float(row["se"]) * scale
    return (
        f"Default model's answer: {arm} minus {reference}, {what} "
        f"{fmt_number(est, digits) if est < 0 else '+' + fmt_number(est, digits)}"
        f"{' ' + unit if unit else ''} (Monte Carlo error {fmt_number(se, digits)})."
    )


def default_sentences(
    estimates: pd.DataFrame,
    outcomes: Mapping[str, str],
    labels: Mapping[str, str] | Callable[[str], str],
    reference: str,
    **where: Any,
) -> list[str]:
    """:func:`default_sentence` of every contrast of each outcome with ``reference`` (rows whose
    columns equal ``where``): completion as a risk difference in points, any other outcome as
    a difference in means (3 digits). ``outcomes``: outcome -> words; ``labels`` names arms."""
    name = labels if callable(labels) else labels.__getitem__
    out = []
    for outcome, what in outcomes.items():
        effect = "risk_difference" if outcome == "completed" else "difference"
        style: dict[str, Any] = {"scale": 1.0, "unit": "", "digits": 3}
        style = {} if outcome == "completed" else style
        rows = contrasts(estimates, outcome, effect, reference=reference, **where)
        out += [
            default_sentence(r, arm=name(r["group"]), reference=name(reference), what=what, **style)
            for r in rows.to_dict("records")
        ]
    return out


def contrast_summary(
    rows: pd.DataFrame,
    *,
    what: str,
    reference: str,
    names: dict[str, str] | None = None,
    digits: int = 3,
    scale: float = 1.0,
    unit: str = "",
    everyone: str = "every other arm",
) -> str:
    """One sentence on the default model's answer for many arms against one reference: which
    raised or lowered ``what`` by more than twice its Monte Carlo error (and by how much, the
    range over them), which stayed within simulation noise, and the largest difference with
    its Monte Carlo error. When more than two arms all go the same way they are called
    ``everyone``.

    >>> rows = pd.DataFrame({"group": ["a", "b", "c"], "estimate": [0.2, 0.3, 0.01],
    ...                      "se": [0.05, 0.05, 0.03]})
    >>> contrast_summary(rows, what="quality", reference="the control", digits=2)
    "Default model's answer: against the control, a and b raised quality by 0.20 to 0.30 (largest: b, 0.30, Monte Carlo error 0.05); c stayed within simulation noise."
    """
    from toolkit.report import fmt_number

    names = names or {}
    if rows.empty:
        return f"No contrast of {what} with {reference} could be estimated."
    u = f" {unit}" if unit else ""

    def join(items: list[str]) -> str:
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

    parts = []
    low, high = rows.estimate - 2 * rows.se, rows.estimate + 2 * rows.se
    for verb, keep in (("raised", low > 0), ("lowered", high < 0)):
        sel = rows[keep]
        if sel.empty:
            continue
        mag = sel.estimate.abs() * scale
        span = (
            fmt_number(mag.iloc[0], digits)
            if len(sel) == 1
            else f"{fmt_number(mag.min(), digits)} to {fmt_number(mag.max(), digits)}"
        )
        top = sel.loc[mag.idxmax()]
        label = names.get(top.group, top.group)
        who = everyone if len(sel) == len(rows) > 2 else join([names.get(g, g) for g in sel.group])
        parts.append(
            f"{who} {verb} {what} by {span}{u} "
            f"(largest: {label}, {fmt_number(top.estimate * scale, digits)}, "
            f"Monte Carlo error {fmt_number(top.se * scale, digits)})"
        )
    unclear = rows[(low <= 0) & (high >= 0)]
    if len(unclear):
        parts.append(
            f"{join([names.get(g, g) for g in unclear.group])} stayed within simulation noise"
        )
    return f"Default model's answer: against {reference}, " + "; ".join(parts) + "."
