"""Small pieces the study modules share (no study logic of their own)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

# the one loader of plausible models (re-exported here for the studies)
from toolkit.ensemble import COMMITTED_ENSEMBLE, load_models

__all__ = [
    "COMMITTED_ENSEMBLE",
    "arm_means",
    "as_strings",
    "compare_outcomes",
    "contrast_table",
    "contrasts",
    "load_models",
    "must_be_compared",
    "pairs_cohort",
    "read_roster_once",
    "readable",
    "reference_first",
    "scaled",
    "sweep_rows",
    "synthetic_cohort",
]


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


def pairs_cohort(n: int) -> Any:
    """A fresh synthetic cohort per replicate of ``n`` mentees and mentors in the default
    6:5 ratio (the cohort a study's own small contrasts run on)."""
    from toolkit.cohort import CohortSpec

    return CohortSpec(n_mentors=round(n * 1.2), n_mentees=n)


def arm_means(frame: pd.DataFrame, by: Any, *means: str, **more: Any) -> pd.DataFrame:
    """Per group of ``by`` (first-seen order): the mean of each column in ``means`` (``completion``
    is the mean of ``completed``), then each named aggregation of ``more``."""
    columns = {m: ("completed" if m == "completion" else m, "mean") for m in means}
    return frame.groupby(by, sort=False).agg(**more, **columns)


def scaled(frame: pd.DataFrame, factor: float) -> pd.DataFrame:
    """``frame`` with its ``estimate``, ``ci_low`` and ``ci_high`` times ``factor``."""
    return frame.assign(**frame[["estimate", "ci_low", "ci_high"]].mul(factor))


def readable(frame: pd.DataFrame, columns: Mapping[str, tuple[str, int | None]]) -> pd.DataFrame:
    """``frame`` as text cells: column -> (header, digits; None: as text), in that order."""
    from toolkit.report import fmt_number

    return pd.DataFrame(
        {
            head: frame[c].astype(str)
            if d is None
            else frame[c].map(lambda v, d=d: fmt_number(v, d))
            for c, (head, d) in columns.items()
        }
    )


def synthetic_cohort(n_mentors: int, n_mentees: int, seed: int) -> Any:
    """One synthetic cohort drawn from the ``("study", "cohort")`` stream of the study seed."""
    from toolkit._seeding import int_seed
    from toolkit.cohort import CohortSpec, generate_cohort

    return generate_cohort(
        CohortSpec(n_mentors=n_mentors, n_mentees=n_mentees, seed=int_seed(seed, "study", "cohort"))
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


def reference_first(reference: str, values: Any) -> list[str]:
    """``values`` with ``reference`` first, the others in their order."""
    return [reference, *[v for v in values if v != reference]]


def must_be_compared(study: str, name: str, value: Any, options: Any, what: str) -> None:
    """Refuse a reference that is not among the compared values (one sentence)."""
    from toolkit.errors import InvalidParameterError

    if value is not None and value not in options:
        raise InvalidParameterError(
            f"The {name!r} parameter of study {study} must be one of the compared {what} "
            f"({', '.join(map(repr, options))}); got {value!r}."
        )
