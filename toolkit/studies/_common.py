"""Small pieces the study modules share (no study logic of their own)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pandas as pd

__all__ = ["CADENCES", "POLICIES", "Cadence", "Policy", "check_contrast", "contrast_summary",
           "contrast_table", "contrasts", "notebook_path", "one_cohort", "robustness_table",
           "robustness_text", "sweep_rows"]

Policy = Literal["random", "greedy", "optimal", "stable", "mentee_choice", "maximin",
                 "max_participation", "diverse"]
POLICIES: tuple[str, ...] = ("random", "greedy", "optimal", "stable", "mentee_choice", "maximin",
                             "max_participation", "diverse")
Cadence = Literal["weekly", "biweekly", "every_3_weeks", "monthly", "front_loaded"]
CADENCES: tuple[str, ...] = ("weekly", "biweekly", "every_3_weeks", "monthly", "front_loaded")


def notebook_path(name: str) -> Path:
    """``studies/<name>.ipynb`` of the source tree."""
    return Path(__file__).resolve().parents[2] / "studies" / f"{name}.ipynb"


def one_cohort(roster: str | None, n_mentors: int, n_mentees: int, seed: int):
    """The study's one cohort: the roster's people, or a synthetic cohort drawn from the
    ``cohort`` stream of the study seed."""
    from toolkit._seeding import int_seed
    from toolkit.cohort import CohortSpec, generate_cohort
    from toolkit.roster import read_roster

    if roster is not None:
        return read_roster(roster)
    return generate_cohort(CohortSpec(n_mentors=n_mentors, n_mentees=n_mentees,
                                      seed=int_seed(seed, "study", "cohort")))


def contrasts(estimates: pd.DataFrame, outcome: str, effect: str, **equal: Any) -> pd.DataFrame:
    """The contrast rows (with a reference) of one outcome and effect, filtered by columns."""
    keep = ((estimates.outcome == outcome) & (estimates.effect == effect)
            & estimates.reference.notna())
    for column, value in equal.items():
        keep &= estimates[column] == value
    return estimates[keep]


def sweep_rows(rows: pd.DataFrame, name: str, scale: float = 1.0) -> pd.DataFrame:
    """The sweep table's columns (estimate_name, estimate, ci_low, ci_high) from contrast rows;
    ``name`` is a format string over the row's columns (``{group}``, ``{reference}``...)."""
    records = rows.to_dict("records")
    return pd.DataFrame({
        "estimate_name": [name.format(**r) for r in records],
        "estimate": rows.estimate.to_numpy(float) * scale,
        "ci_low": rows.ci_low.to_numpy(float) * scale,
        "ci_high": rows.ci_high.to_numpy(float) * scale})


def robustness_text(result: object, *, what: str = "the headline contrast",
                    enabled: bool = True) -> str:
    """The robustness sentence shown with the findings: the verdict of
    :func:`toolkit.sensitivity.robustness` on ``what`` (e.g. "the completion difference
    between A and B"), that the check was switched off, or that this version has none."""
    from toolkit.studies._base import ROBUSTNESS_UNAVAILABLE

    if result is None:
        if not enabled:
            return ("Robustness check not run (robustness=false): the findings hold for the "
                    "model's default assumptions only.")
        return ROBUSTNESS_UNAVAILABLE
    verdict = {"robust": "holds over", "no effect": "shows no effect anywhere in",
               "depends on assumptions": "depends on"}.get(result.verdict, result.verdict)
    return (f"Robustness: {what} {verdict} the plausible ranges of the model's "
            f"{len(result.ranges)} assumption parameters ({len(result.points) - 1} sampled "
            f"points, Morris screening). Details: {result.sentence()}")


def check_contrast(spec, arm: str, reference: str, outcome: str, *, trajectories: int,
                   seed: int, enabled: bool = True):
    """The robustness of ``arm`` minus ``reference`` on ``outcome`` over the assumption
    ranges (:func:`toolkit.studies.robustness_check` on a two-arm copy of ``spec``), or None
    when switched off or when this version has no robustness analysis."""
    if not enabled:
        return None
    from toolkit.experiment import ExperimentSpec
    from toolkit.studies._base import robustness_check

    try:
        from toolkit.sensitivity import Contrast
    except ImportError:
        return None
    two = ExperimentSpec(cohort=spec.cohort, arms={reference: spec.arms[reference],
                                                   arm: spec.arms[arm]},
                         replicates=spec.replicates, seed=spec.seed, behavior=spec.behavior)
    return robustness_check(two, Contrast(arm, reference, outcome), trajectories=trajectories,
                            seed=seed)


def robustness_table(result: object) -> pd.DataFrame | None:
    """The robustness check's parameter indices with ranges and drivers (None if not run)."""
    return None if result is None else result.to_frame()


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
