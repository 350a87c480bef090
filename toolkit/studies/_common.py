"""Small pieces the study modules share (no study logic of their own)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["as_strings", "compare_outcomes", "contrast_summary", "contrast_table", "contrasts",
           "forest_figures", "must_be_compared", "read_roster_once", "se_span", "sweep_rows",
           "synthetic_cohort"]


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


def synthetic_cohort(n_mentors: int, n_mentees: int, seed: int) -> Any:
    """One synthetic cohort drawn from the ``("study", "cohort")`` stream of the study seed."""
    from toolkit._seeding import int_seed
    from toolkit.cohort import CohortSpec, generate_cohort

    return generate_cohort(CohortSpec(n_mentors=n_mentors, n_mentees=n_mentees,
                                      seed=int_seed(seed, "study", "cohort")))


def se_span(se: Any) -> str:
    """The range of standard errors (percentage points) in words."""
    from toolkit.report import fmt_number

    se = np.asarray(se, float)
    return (f"{fmt_number(se.min(), 2)} to {fmt_number(se.max(), 2)} points" if len(se)
            else "not available")


def contrasts(estimates: pd.DataFrame, outcome: str, effect: str, **equal: Any) -> pd.DataFrame:
    """The contrast rows (with a reference) of one outcome and effect, filtered by columns."""
    keep = ((estimates.outcome == outcome) & (estimates.effect == effect)
            & estimates.reference.notna())
    for column, value in equal.items():
        keep &= estimates[column] == value
    return estimates[keep]


def sweep_rows(rows: pd.DataFrame, name: str, scale: Any = 1.0) -> pd.DataFrame:
    """The sweep table's columns (estimate_name, estimate, ci_low, ci_high) from contrast rows;
    ``name`` is a format string over the row's columns (``{group}``, ``{reference}``...)."""
    records = rows.to_dict("records")
    return pd.DataFrame({
        "estimate_name": [name.format(**r) for r in records],
        "estimate": rows.estimate.to_numpy(float) * scale,
        "ci_low": rows.ci_low.to_numpy(float) * scale,
        "ci_high": rows.ci_high.to_numpy(float) * scale})


def contrast_table(estimates: pd.DataFrame, reference: str, *, label: str = "arm",
                   names: dict[str, str] | None = None, outcomes: dict[str, str] | None = None,
                   effects: tuple[str, ...] = ("risk_difference", "difference", "hazard_ratio")
                   ) -> pd.DataFrame:
    """Each arm against ``reference``, readable: estimate and 95% CI as text (risk
    differences in percentage points), Holm-adjusted p. ``names`` relabel the arms,
    ``outcomes`` the outcomes (an outcome not in it is left out when given)."""
    from toolkit.report import fmt_number, fmt_p

    keep = estimates[(estimates.reference == reference) & estimates.effect.isin(effects)]
    if outcomes is not None:
        keep = keep[keep.outcome.isin(list(outcomes))]
    scale = keep.effect.map({"risk_difference": 100.0}).fillna(1.0).to_numpy()
    digits = [1 if e == "risk_difference" else 2 if e == "hazard_ratio" else 3
              for e in keep.effect]
    names, outcomes = names or {}, outcomes or {}

    def what(o: str, e: str) -> str:
        if e == "hazard_ratio":
            return "closing early (hazard ratio)"
        text = outcomes.get(o, o.replace("_", " "))
        return f"{text} (points)" if e == "risk_difference" else text

    return pd.DataFrame({
        label: keep.group.map(lambda g: names.get(g, g)).to_numpy(),
        "outcome": [what(o, e) for o, e in zip(keep.outcome, keep.effect, strict=True)],
        "estimate": [fmt_number(v, d) for v, d in zip(keep.estimate * scale, digits, strict=True)],
        "95% CI": [f"{fmt_number(a, d)} to {fmt_number(b, d)}" for a, b, d in
                   zip(keep.ci_low * scale, keep.ci_high * scale, digits, strict=True)],
        "p (Holm)": [fmt_p(p).removeprefix("p = ").replace("p < ", "< ") for p in keep.p_value],
    })


def contrast_summary(rows: pd.DataFrame, *, what: str, reference: str,
                     names: dict[str, str] | None = None, digits: int = 3, scale: float = 1.0,
                     unit: str = "", everyone: str = "every other arm") -> str:
    """One sentence for many arms against one reference: which clearly raised or lowered
    ``what`` (and by how much, the range over them), which showed no clear difference,
    and the largest difference with its 95% CI. When more than two arms all go the same
    way they are called ``everyone``.

    >>> rows = pd.DataFrame({"group": ["a", "b", "c"], "estimate": [0.2, 0.3, 0.01],
    ...                      "ci_low": [0.1, 0.2, -0.05], "ci_high": [0.3, 0.4, 0.07]})
    >>> contrast_summary(rows, what="quality", reference="the control", digits=2)
    'Against the control, a and b raised quality by 0.20 to 0.30 (largest: b, 0.30, 95% CI 0.20 to 0.40); c showed no clear difference.'
    """
    from toolkit.report import fmt_ci, fmt_number

    names = names or {}
    if rows.empty:
        return f"No contrast of {what} with {reference} could be estimated."
    u = f" {unit}" if unit else ""

    def join(items: list[str]) -> str:
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

    parts = []
    for verb, keep in (("raised", rows.ci_low > 0), ("lowered", rows.ci_high < 0)):
        sel = rows[keep]
        if sel.empty:
            continue
        mag = (sel.estimate.abs() * scale)
        span = (fmt_number(mag.iloc[0], digits) if len(sel) == 1 else
                f"{fmt_number(mag.min(), digits)} to {fmt_number(mag.max(), digits)}")
        top = sel.loc[mag.idxmax()]
        label = names.get(top.group, top.group)
        who = (everyone if len(sel) == len(rows) > 2 else
               join([names.get(g, g) for g in sel.group]))
        parts.append(f"{who} {verb} {what} by {span}{u} "
                     f"(largest: {label}, {fmt_number(top.estimate * scale, digits)}, "
                     f"{fmt_ci(top.ci_low * scale, top.ci_high * scale, digits)})")
    unclear = rows[(rows.ci_low <= 0) & (rows.ci_high >= 0)]
    if len(unclear):
        parts.append(f"{join([names.get(g, g) for g in unclear.group])} showed no clear "
                     "difference")
    return f"Against {reference}, " + "; ".join(parts) + "."


def compare_outcomes(outcomes: pd.DataFrame, order: list[str], reference: str,
                     names: Any) -> pd.DataFrame:
    """``toolkit.analysis.compare_arms`` of each outcome in ``names`` that varies, arms in
    ``order`` against ``reference`` (Holm-adjusted within each outcome); ``group`` and
    ``reference`` as strings."""
    from toolkit.analysis import compare_arms

    data = outcomes.copy()
    data["arm"] = pd.Categorical(data["arm"], categories=order)
    frame = pd.concat([compare_arms(data, o, reference=reference) for o in names
                       if data[o].astype(float).nunique() > 1], ignore_index=True)
    return as_strings(frame)


def as_strings(frame: pd.DataFrame, columns: tuple[str, ...] = ("group", "reference")
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
            f"({', '.join(map(repr, options))}); got {value!r}.")


def forest_figures(estimates: pd.DataFrame, reference: str, items: Any, *, whom: str,
                   each: str, adjusted: str = "Holm-adjusted",
                   unit: str = "skill points (0-1 scale)", more: str = "more than the reference",
                   relabel: Any = None) -> list[tuple]:
    """(figure, name, caption) of a forest plot per (outcome, effect, words) in ``items``:
    each arm against ``reference`` (risk differences in percentage points)."""
    from toolkit.plots import forest_plot

    out = []
    for outcome, effect, what in items:
        rows = contrasts(estimates, outcome, effect, reference=reference)
        if rows.empty:
            continue
        if relabel is not None:
            rows = rows.assign(group=rows.group.map(relabel), reference=rows.reference.map(relabel))
        shown = unit
        if effect == "risk_difference":
            rows = rows.assign(estimate=rows.estimate * 100, ci_low=rows.ci_low * 100,
                               ci_high=rows.ci_high * 100)
            shown = "percentage points"
        fig = forest_plot(rows, effect=effect, outcome_label=what, unit=shown,
                          title=f"Difference in {what} from {whom}")
        out.append((fig, f"{outcome}_{effect}",
                    f"Difference in {what} of each {each} from {whom}, with 95% confidence "
                    f"intervals ({adjusted}). A point right of the dashed line means {more}."))
    return out
