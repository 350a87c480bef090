"""Small pieces the study modules share (no study logic of their own)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "COMMITTED_ENSEMBLE",
    "first_models",
    "as_strings",
    "compare_outcomes",
    "contrast_summary",
    "contrast_table",
    "contrasts",
    "default_sentence",
    "load_models",
    "must_be_compared",
    "read_roster_once",
    "se_span",
    "sweep_rows",
    "synthetic_cohort",
]

# the one loader of plausible models (re-exported here for the studies)
from toolkit.ensemble import COMMITTED_ENSEMBLE, load_models  # noqa: E402


def read_roster_once(path: str) -> Any:
    """The roster's people (``toolkit.roster.read_roster``), read once per process and file
    version (keyed by the resolved path, size and modification time)."""
    p = Path(path).expanduser().resolve()
    st = p.stat()
    return _read_roster(str(p), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _read_roster(path: str, size: int, mtime: int) -> Any:
    from toolkit.roster import read_roster

    return read_roster(path)


def first_models(params: Any) -> Any:
    """The ensemble ``params.models`` (None: the committed one, :func:`load_models`), cut to
    its first ``params.n_models`` models."""
    ens = load_models(params.models)
    return ens.take(min(int(params.n_models), len(ens)))


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


def synthetic_cohort(n_mentors: int, n_mentees: int, seed: int) -> Any:
    """One synthetic cohort drawn from the ``("study", "cohort")`` stream of the study seed."""
    from toolkit._seeding import int_seed
    from toolkit.cohort import CohortSpec, generate_cohort

    return generate_cohort(
        CohortSpec(n_mentors=n_mentors, n_mentees=n_mentees, seed=int_seed(seed, "study", "cohort"))
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


def contrasts(estimates: pd.DataFrame, outcome: str, effect: str, **equal: Any) -> pd.DataFrame:
    """The contrast rows (with a reference) of one outcome and effect, filtered by columns."""
    keep = (
        (estimates.outcome == outcome) & (estimates.effect == effect) & estimates.reference.notna()
    )
    for column, value in equal.items():
        keep &= estimates[column] == value
    return estimates[keep]


def sweep_rows(rows: pd.DataFrame, name: str, scale: Any = 1.0) -> pd.DataFrame:
    """The sweep table's columns (estimate_name, estimate, ci_low, ci_high) from contrast rows;
    ``name`` is a format string over the row's columns (``{group}``, ``{reference}``...)."""
    records = rows.to_dict("records")
    return pd.DataFrame(
        {
            "estimate_name": [name.format(**r) for r in records],
            "estimate": rows.estimate.to_numpy(float) * scale,
            "ci_low": rows.ci_low.to_numpy(float) * scale,
            "ci_high": rows.ci_high.to_numpy(float) * scale,
        }
    )


def contrast_table(
    estimates: pd.DataFrame,
    reference: str,
    *,
    label: str = "arm",
    names: dict[str, str] | None = None,
    outcomes: dict[str, str] | None = None,
    effects: tuple[str, ...] = ("risk_difference", "difference", "hazard_ratio"),
) -> pd.DataFrame:
    """Each arm against ``reference`` under the default model, readable: the estimate and
    its Monte Carlo error (standard error over replicates) as text (risk differences in
    percentage points). No confidence interval and no p-value: the only uncertainty in one
    model's answer is simulation noise. ``names`` relabel the arms, ``outcomes`` the outcomes
    (an outcome not in it is left out when given)."""
    from toolkit.report import fmt_number

    keep = estimates[(estimates.reference == reference) & estimates.effect.isin(effects)]
    if outcomes is not None:
        keep = keep[keep.outcome.isin(list(outcomes))]
    scale = keep.effect.map({"risk_difference": 100.0}).fillna(1.0).to_numpy()
    digits = [1 if e == "risk_difference" else 2 if e == "hazard_ratio" else 3 for e in keep.effect]
    names, outcomes = names or {}, outcomes or {}

    def what(o: str, e: str) -> str:
        if e == "hazard_ratio":
            return "closing early (hazard ratio)"
        text = outcomes.get(o, o.replace("_", " "))
        return f"{text} (points)" if e == "risk_difference" else text

    return pd.DataFrame(
        {
            label: keep.group.map(lambda g: names.get(g, g)).to_numpy(),
            "outcome": [what(o, e) for o, e in zip(keep.outcome, keep.effect, strict=True)],
            "default model's estimate": [
                fmt_number(v, d) for v, d in zip(keep.estimate * scale, digits, strict=True)
            ],
            "Monte Carlo error (SE)": [
                fmt_number(v, d) for v, d in zip(keep.se * scale, digits, strict=True)
            ],
        }
    )


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


def compare_outcomes(
    outcomes: pd.DataFrame, order: list[str], reference: str, names: Any
) -> pd.DataFrame:
    """``toolkit.analysis.compare_arms`` of each outcome in ``names`` that varies, arms in
    ``order`` against ``reference`` (Holm-adjusted within each outcome); ``group`` and
    ``reference`` as strings."""
    from toolkit.analysis import compare_arms

    data = outcomes.copy()
    data["arm"] = pd.Categorical(data["arm"], categories=order)
    frame = pd.concat(
        [
            compare_arms(data, o, reference=reference)
            for o in names
            if data[o].astype(float).nunique() > 1
        ],
        ignore_index=True,
    )
    return as_strings(frame)


def as_strings(
    frame: pd.DataFrame, columns: tuple[str, ...] = ("group", "reference")
) -> pd.DataFrame:
    """``columns`` of an estimates table as the pandas string dtype."""
    for column in columns:
        frame[column] = frame[column].astype("string")
    return frame


def must_be_compared(study: str, name: str, value: Any, options: Any, what: str) -> None:
    """Refuse a reference that is not among the compared values (one sentence)."""
    from toolkit.errors import InvalidParameterError

    if value is not None and value not in options:
        raise InvalidParameterError(
            f"The {name!r} parameter of study {study} must be one of the compared {what} "
            f"({', '.join(map(repr, options))}); got {value!r}."
        )
