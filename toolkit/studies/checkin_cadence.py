"""Study ``checkin_cadence``: how should a coordinator watch over the pairs?

Check-in schedules (none, monthly check-ins, surveys at 30 then every 60 days) and
trigger rules (no first meeting by a given week; a run of weeks without a meeting),
crossed with what the coordinator does when a pair is flagged (coach it, rematch the
mentee, or close the pair). The schedule ``none`` flags nobody, so it is one arm, the
reference. All arms share the cohort, the matching and every per-pair random draw
(common random numbers).

The notebook ``studies/checkin_cadence.ipynb`` calls :func:`simulate`, :func:`analyse`,
:func:`findings`, then the tables and figures.

>>> p = Parameters.from_values(schedules=["none", "monthly", "no_first_meeting"],
...                            actions=["coach", "close"])
>>> list(arms(p))
['none', 'monthly+coach', 'monthly+close', 'no_first_meeting+coach', 'no_first_meeting+close']
>>> arms(p)["no_first_meeting+close"].design.no_first_meeting_week
4
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from toolkit.errors import InvalidParameterError
from toolkit.studies._base import Study, StudyParameters
from toolkit.studies._common import (
    Cadence,
    Policy,
    check_contrast,
    contrast_summary,
    contrast_table,
    contrasts,
    notebook_path,
    robustness_table,
    sweep_rows,
)

__all__ = ["EARLY_WARNING_UNAVAILABLE", "SCHEDULES", "STUDY", "CheckinResult", "Parameters",
           "analyse", "arms", "check_robustness", "contrasts_for_report", "cost_table",
           "early_warning_table", "estimates_for_sweep", "figures", "findings",
           "headline_contrast", "limitations", "mechanism_text", "more_findings",
           "performance_text", "plan_table", "robustness_table", "robustness_text", "simulate",
           "spec", "summary_table"]

Schedule = Literal["none", "monthly", "survey_30_60", "no_first_meeting", "no_meeting_streak"]
SCHEDULES: tuple[str, ...] = ("none", "monthly", "survey_30_60", "no_first_meeting",
                              "no_meeting_streak")
Action = Literal["coach", "rematch", "close"]
EARLY_WARNING_UNAVAILABLE = "Early-warning evaluation not available in this version."
SCHEDULE_TEXT = {"none": "no check-ins", "monthly": "monthly check-ins",
                 "survey_30_60": "30/60-day surveys",
                 "no_first_meeting": "the no-first-meeting rule",
                 "no_meeting_streak": "the no-meeting-streak rule"}
ACTION_TEXT = {"coach": "coaching", "rematch": "rematching", "close": "closing"}
OUTCOMES = {"completed": "completion", "mean_quality": "relationship quality",
            "hours_coordinator": "coordinator hours per pair"}


class Parameters(StudyParameters):
    """Parameters of the checkin_cadence study."""

    study = "checkin_cadence"

    schedules: tuple[Schedule, ...] = Field(
        SCHEDULES, min_length=2,
        description="Check-in schedules and trigger rules to compare (none = no check-ins).")
    actions: tuple[Action, ...] = Field(
        ("coach", "rematch", "close"), min_length=1,
        description="What the coordinator does when a pair is flagged.")
    reference: Schedule = Field("none", description="Schedule every arm is compared with.")
    reference_action: Action = Field(
        "coach", description="Action of the reference arm when the reference schedule is not none.")
    flag_rating: float = Field(2.0, ge=1, le=5,
                               description="A check-in rating at or below this flags the pair.")
    first_meeting_week: int = Field(
        4, ge=1, le=52, description="no_first_meeting rule: flag a pair with no meeting by this week.")
    no_meeting_weeks: int = Field(
        6, ge=1, le=52, description="no_meeting_streak rule: flag a pair this many weeks without a meeting.")
    cadence: Cadence = Field("biweekly", description="Meeting schedule of every arm.")
    duration_weeks: int = Field(26, ge=4, le=104, description="Program length in weeks.")
    policy: Policy = Field("random", description="Matching policy of every arm.")
    capacity: int = Field(1, ge=1, le=10,
                          description="Most mentees a mentor may have at once (also in rematches).")
    n_mentors: int = Field(120, ge=2, le=5000, description="Mentors per synthetic cohort.")
    n_mentees: int = Field(100, ge=2, le=5000, description="Mentees per synthetic cohort (pairs).")
    replicates: int = Field(50, ge=1, le=2000, description="Simulated programs per arm.")
    roster: str | None = Field(None, description="Roster CSV of real people instead of a synthetic cohort.")
    robustness: bool = Field(True, description="Check the headline contrast over the model's "
                             "assumption ranges (Morris screening).")
    robustness_trajectories: int = Field(2, ge=2, le=50, description="Morris trajectories of the "
                                         "robustness check (more: finer, slower).")

    @model_validator(mode="after")
    def _consistent(self) -> Parameters:
        if self.reference not in self.schedules:
            raise InvalidParameterError(
                f"The 'reference' parameter of study checkin_cadence must be one of the compared "
                f"schedules ({', '.join(map(repr, self.schedules))}); got {self.reference!r}.")
        if self.reference != "none" and self.reference_action not in self.actions:
            raise InvalidParameterError(
                f"The 'reference_action' parameter of study checkin_cadence must be one of the "
                f"compared actions ({', '.join(map(repr, self.actions))}); got "
                f"{self.reference_action!r}.")
        for name in ("first_meeting_week", "no_meeting_weeks"):
            if getattr(self, name) > self.duration_weeks:
                raise InvalidParameterError(
                    f"The {name!r} parameter of study checkin_cadence must be at most "
                    f"duration_weeks ({self.duration_weeks}); got {getattr(self, name)!r}.")
        return self


def _rule(schedule: str, params: Parameters) -> dict:
    if schedule in ("monthly", "survey_30_60"):
        return {"checkins": schedule}
    if schedule == "no_first_meeting":
        return {"no_first_meeting_week": params.first_meeting_week}
    if schedule == "no_meeting_streak":
        return {"no_meeting_weeks": params.no_meeting_weeks}
    return {}


def reference_arm(params: Parameters) -> str:
    """The name of the reference arm."""
    return "none" if params.reference == "none" else f"{params.reference}+{params.reference_action}"


def plan_table(params: Parameters) -> pd.DataFrame:
    """One row per arm: arm name, schedule, action on a flag (none for no check-ins)."""
    rows = []
    for schedule in params.schedules:
        if schedule == "none":
            rows.append({"arm": "none", "schedule": "none", "action": "none"})
            continue
        for action in params.actions:
            rows.append({"arm": f"{schedule}+{action}", "schedule": schedule, "action": action})
    ref = reference_arm(params)
    rows.sort(key=lambda r: r["arm"] != ref)
    return pd.DataFrame(rows)


def arms(params: Parameters) -> dict:
    """The experiment's arms (name -> Arm), the reference first."""
    from toolkit.experiment import Arm, MatchSpec
    from toolkit.program import ProgramDesign

    match = MatchSpec(params.policy, capacity=params.capacity)
    out = {}
    for row in plan_table(params).itertuples(index=False):
        design = ProgramDesign(cadence=params.cadence, duration_weeks=params.duration_weeks,
                               flag_rating=params.flag_rating,
                               on_flag="coach" if row.action == "none" else row.action,
                               **_rule(row.schedule, params))
        out[row.arm] = Arm(match, design)
    return out


def spec(params: Parameters):
    """The ExperimentSpec of the study (a synthetic CohortSpec or the roster, as data)."""
    from toolkit.cohort import CohortSpec
    from toolkit.experiment import ExperimentSpec, RosterSource

    cohort = (RosterSource(params.roster) if params.roster is not None
              else CohortSpec(n_mentors=params.n_mentors, n_mentees=params.n_mentees))
    return ExperimentSpec(cohort=cohort, arms=arms(params), replicates=params.replicates,
                          seed=params.seed)


@dataclass(frozen=True)
class CheckinResult:
    """Per-pair outcomes and the coordinator's events (no participant ids)."""

    outcomes: pd.DataFrame
    events: pd.DataFrame


def simulate(params: Parameters) -> CheckinResult:
    """Run every arm over the replicates; outcomes and events without participant ids."""
    from toolkit.experiment import run_experiment

    res = run_experiment(spec(params), progress=False, tables=("outcomes", "events"))
    outcomes = res.outcomes.drop(columns=["mentee_id", "mentor_id"])
    outcomes["arm"] = outcomes["arm"].astype(str)
    events = res.events.drop(columns=["mentor_id", "new_mentor_id"])
    events["arm"] = events["arm"].astype(str)
    return CheckinResult(outcomes=outcomes, events=events)


def analyse(result: CheckinResult, params: Parameters) -> pd.DataFrame:
    """compare_arms of completion, quality and coordinator hours, every arm against the
    reference (Holm-adjusted within each outcome; clustered by replicate)."""
    from toolkit.analysis import compare_arms

    names = plan_table(params)["arm"].tolist()
    data = result.outcomes.copy()
    data["arm"] = pd.Categorical(data["arm"], categories=names)
    parts = [compare_arms(data, outcome, reference=reference_arm(params))
             for outcome in OUTCOMES if data[outcome].astype(float).nunique() > 1]
    frame = pd.concat(parts, ignore_index=True)
    frame["group"] = frame["group"].astype("string")
    frame["reference"] = frame["reference"].astype("string")
    return frame


def cost_table(result: CheckinResult, params: Parameters) -> pd.DataFrame:
    """Per arm: coordinator hours per completed ("retained") pair, the mean over replicates
    of (coordinator hours) / (completed pairs), with a 95% t interval over replicates."""
    from scipy import stats

    per_rep = (result.outcomes.groupby(["arm", "replicate"], sort=False)
               .agg(hours=("hours_coordinator", "sum"), retained=("completed", "sum")))
    per_rep["cost"] = per_rep.hours / per_rep.retained.where(per_rep.retained > 0)
    rows = []
    for arm in plan_table(params)["arm"]:
        cost = per_rep.loc[arm, "cost"].dropna().to_numpy(float)
        n = len(cost)
        mean = float(cost.mean()) if n else np.nan
        half = (float(stats.t.ppf(0.975, n - 1) * cost.std(ddof=1) / np.sqrt(n))
                if n > 1 else np.nan)
        rows.append({"arm": arm, "hours_per_retained_pair": mean, "ci_low": mean - half,
                     "ci_high": mean + half, "replicates": n})
    return pd.DataFrame(rows)


def summary_table(result: CheckinResult, params: Parameters) -> pd.DataFrame:
    """Per arm: the plan, completion, quality, coordinator hours, flags and actions per pair,
    and the coordinator hours per retained pair."""
    o = result.outcomes
    pairs = o.groupby("arm", sort=False).size()
    means = (o.groupby("arm", sort=False)
             .agg(completion=("completed", "mean"), mean_quality=("mean_quality", "mean"),
                  coordinator_hours=("hours_coordinator", "mean"),
                  meetings_held=("meetings_held", "mean")))
    ev = result.events
    counts = (ev[ev.event.isin(["checkin", "flag", "coach", "rematch"])]
              .groupby(["arm", "event"], observed=True).size().unstack(fill_value=0))
    counts = counts.reindex(columns=["checkin", "flag", "coach", "rematch"], fill_value=0)
    closures = ev[(ev.event == "closure") & (ev.reason == "coordinator_close")].groupby(
        "arm", observed=True).size().rename("closed_by_coordinator")
    counts = counts.join(closures, how="outer").fillna(0)
    per_pair = counts.div(pairs, axis=0).reindex(means.index).fillna(0.0)
    names = {"checkin": "checkins", "flag": "flags", "coach": "coachings", "rematch": "rematches",
             "closed_by_coordinator": "closed_by_coordinator"}
    per_pair.columns = [f"{names[c]}_per_pair" for c in per_pair.columns]
    cost = cost_table(result, params).set_index("arm")["hours_per_retained_pair"]
    out = means.join(per_pair).join(cost).reset_index()
    return plan_table(params).merge(out, on="arm", how="left")


def _watch_arms(params: Parameters) -> dict:
    """Arms that record flags and do nothing about them (``on_flag="none"``), one per check-in
    plan the rules need: an early warning is judged on pairs the rule did not change."""
    from toolkit.experiment import Arm, MatchSpec
    from toolkit.program import ProgramDesign

    plans = {"monthly": "monthly", "survey_30_60": "survey_30_60",
             "no_first_meeting": "none", "no_meeting_streak": "none"}
    match = MatchSpec(params.policy, capacity=params.capacity)
    return {f"watch+{plan}": Arm(match, ProgramDesign(
        cadence=params.cadence, duration_weeks=params.duration_weeks,
        flag_rating=params.flag_rating, checkins=plan, on_flag="none"))
        for plan in dict.fromkeys(plans[s] for s in params.schedules if s != "none")}


def _rules(params: Parameters) -> dict[str, tuple]:
    """schedule -> (early_warning rule, when it is evaluated, the watch arm)."""
    return {"monthly": (("rating", params.flag_rating), "checkins", "watch+monthly"),
            "survey_30_60": (("rating", params.flag_rating), "checkins", "watch+survey_30_60"),
            "no_first_meeting": (("no_first_meeting", params.first_meeting_week), "every_week",
                                 "watch+none"),
            "no_meeting_streak": (("weeks_since_meeting", params.no_meeting_weeks), "every_week",
                                  "watch+none")}


def early_warning_table(params: Parameters) -> pd.DataFrame | None:
    """Each rule's early warning of early closure (``toolkit.analysis.early_warning``):
    sensitivity, precision against the base rate, median lead time in weeks. Judged on
    the same cohorts and matchings with flags recorded but not acted on. None when this
    version has no early-warning evaluation (the report then says so)."""
    import importlib

    from toolkit.experiment import ExperimentSpec, run_experiment

    evaluate = getattr(importlib.import_module("toolkit.analysis"), "early_warning", None)
    watch = _watch_arms(params)
    if evaluate is None or not watch:
        return None
    base = spec(params)
    res = run_experiment(ExperimentSpec(cohort=base.cohort, arms=watch,
                                        replicates=params.replicates, seed=params.seed),
                         progress=False, tables=("weeks", "outcomes", "events"))
    rows = []
    for schedule in params.schedules:
        if schedule == "none":
            continue
        rule, at, arm = _rules(params)[schedule]
        pick = [t[t["arm"].astype(str) == arm] for t in (res.weeks, res.outcomes, res.events)]
        table = evaluate(pick[0], pick[1], {schedule: rule}, events=pick[2], at=at)
        rows.append(table.drop(columns=["arm"]).assign(
            evaluated=("at planned check-ins" if at == "checkins" else "every week")))
    out = pd.concat(rows, ignore_index=True)
    return out.rename(columns={"rule": "schedule"})


def _label(arm: str) -> str:
    if "+" not in arm:
        return SCHEDULE_TEXT.get(arm, arm)
    schedule, action = arm.split("+")
    return f"{SCHEDULE_TEXT[schedule]} + {ACTION_TEXT[action]}"


def _labels(params: Parameters) -> dict[str, str]:
    return {a: _label(a) for a in plan_table(params)["arm"]}


def findings(estimates: pd.DataFrame, cost: pd.DataFrame, params: Parameters) -> list[str]:
    """The headline: the arm with the most completed pairs and what it cost the coordinator,
    then completion of every arm against the reference."""
    from toolkit.report import fmt_number, sentence

    labels, ref = _labels(params), reference_arm(params)
    rows = contrasts(estimates, "completed", "risk_difference", reference=ref)
    out = []
    if len(rows):
        best = rows.loc[rows.estimate.idxmax()]
        c = cost.set_index("arm")
        out.append(f"Most completed pairs: {labels[best.group]} "
                   f"({fmt_number(best.estimate * 100, 1)} points over {labels[ref]}), at "
                   f"{fmt_number(c.loc[best.group, 'hours_per_retained_pair'], 2)} coordinator "
                   "hours per completed pair.")
    out += [sentence(r, outcome="completion", labels=labels) for r in rows.to_dict("records")]
    return out


def more_findings(estimates: pd.DataFrame, cost: pd.DataFrame, params: Parameters,
                  early_warning: pd.DataFrame | None = None) -> dict[str, list[str]]:
    """Further findings by heading: coordinator time and cost per retained pair; quality;
    the early warning of each rule (or that it is not available)."""
    from toolkit.report import fmt_ci, fmt_number

    labels, ref = _labels(params), reference_arm(params)
    extra = contrasts(estimates, "hours_coordinator", "difference", reference=ref).set_index("group")
    hours = []
    for r in cost.itertuples(index=False):
        if r.arm not in extra.index or not np.isfinite(r.hours_per_retained_pair):
            continue
        d = extra.loc[r.arm]
        word = "more" if d.estimate >= 0 else "fewer"
        hours.append(f"{_cap(labels[r.arm])}: {fmt_number(abs(d.estimate), 2)} coordinator hours "
                     f"per pair {word} than {labels[ref]} (difference "
                     f"{fmt_ci(d.ci_low, d.ci_high, 2)}); "
                     f"{fmt_number(r.hours_per_retained_pair, 2)} hours per completed pair "
                     f"({fmt_ci(r.ci_low, r.ci_high, 2)}).")
    rows = contrasts(estimates, "mean_quality", "difference", reference=ref)
    quality = ([contrast_summary(rows, what="relationship quality", reference=labels[ref],
                                 names=labels)] if len(rows) else [])
    out = {"Coordinator time and cost per retained pair": hours,
           "Relationship quality": quality}
    if early_warning is not None and len(early_warning):
        out["Early warning of early closure"] = [
            f"{_cap(SCHEDULE_TEXT[r.schedule])} flagged {fmt_number(r.sensitivity * 100, 0)}% of "
            f"the pairs that later closed early (sensitivity); "
            f"{fmt_number(r.precision * 100, 0)}% of the pairs it flagged closed early "
            f"(precision, against a base rate of {fmt_number(r.base_rate * 100, 0)}%), a median "
            f"of {fmt_number(r.median_lead_weeks, 0)} weeks before they closed."
            for r in early_warning.itertuples(index=False)]
    else:
        out["Early warning of early closure"] = [EARLY_WARNING_UNAVAILABLE]
    return out


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def contrasts_for_report(estimates: pd.DataFrame, params: Parameters) -> pd.DataFrame:
    """Every arm against the reference, readable (completion in percentage points)."""
    return contrast_table(estimates, reference_arm(params), names=_labels(params),
                          outcomes=OUTCOMES)


def figures(result: CheckinResult, estimates: pd.DataFrame, cost: pd.DataFrame,
            params: Parameters) -> list[tuple]:
    """(figure, name, caption) for each figure of the report."""
    from toolkit.plots import forest_plot, tradeoff_plot

    out = []
    ref = reference_arm(params)
    rows = contrasts(estimates, "completed", "risk_difference", reference=ref)
    if len(rows):
        rows = rows.assign(estimate=rows.estimate * 100, ci_low=rows.ci_low * 100,
                           ci_high=rows.ci_high * 100)
        fig = forest_plot(rows, effect="risk_difference", outcome_label="completion",
                          unit="percentage points",
                          title=f"Difference in completion from {_label(ref)}")
        out.append((fig, "completed_risk_difference",
                    f"Difference in completion of each arm from {_label(ref)}, with 95% "
                    "confidence intervals (Holm-adjusted). A point right of the dashed line "
                    "means more completed pairs than the reference."))
    summary = summary_table(result, params)
    points = summary.assign(completed=summary.completion * 100,
                            rule=summary.schedule.str.replace("_", " "))
    fig = tradeoff_plot(points, x="coordinator_hours", y="completed", by="action", label="rule",
                        x_label="coordinator hours per pair", y_label="completed pairs (%)",
                        title="Completion against coordinator time")
    out.append((fig, "completion_vs_hours",
                "Share of pairs completing against the coordinator's hours per pair, one point "
                "per arm, coloured by what the coordinator does on a flag (none: no check-ins)."))
    return out


def estimates_for_sweep(run_dir: str | Path) -> pd.DataFrame:
    """Headline numbers of a run for a sweep: completion difference of each arm from the
    reference (percentage points), with 95% CIs."""
    est = pd.read_parquet(Path(run_dir) / "tables" / "estimates.parquet")
    ref = est.loc[est.reference.notna(), "reference"].iloc[0]
    return sweep_rows(contrasts(est, "completed", "risk_difference", reference=ref),
                      "completion: {group} vs {reference} (points)", scale=100)


def headline_contrast(params: Parameters) -> tuple[str, str]:
    """(arm, reference) of the contrast the robustness check examines: the first arm of the
    plan after the reference."""
    names = plan_table(params)["arm"].tolist()
    return names[1], names[0]


def check_robustness(params: Parameters):
    """Completion of the headline contrast across the assumption ranges
    (:func:`toolkit.sensitivity.robustness`), or None when switched off or unavailable."""
    arm, reference = headline_contrast(params)
    return check_contrast(spec(params), arm, reference, "completed",
                          trajectories=params.robustness_trajectories, seed=params.seed,
                          enabled=params.robustness)


def robustness_text(result: object, params: Parameters) -> str:
    """The robustness sentence shown with the findings."""
    from toolkit.studies._common import robustness_text as text

    arm, reference = headline_contrast(params)
    what = f"the completion difference between {_label(arm)} and {_label(reference)}"
    return text(result, what=what, enabled=params.robustness)


def mechanism_text(params: Parameters) -> str:
    """The data-generating mechanism in words, for the methods section."""
    who = ("the people of a real roster (the same cohort in every replicate, matched anew)"
           if params.roster is not None else
           f"a fresh synthetic cohort of {params.n_mentors} mentors and {params.n_mentees} "
           "mentees per replicate")
    return (f"{params.replicates} simulated programs per arm, each with {who}, matched by the "
            f"{params.policy} policy (at most {params.capacity} mentee(s) per mentor, also in "
            f"rematches), meeting {params.cadence.replace('_', ' ')} for "
            f"{params.duration_weeks} weeks. At a check-in every active pair rates the "
            f"relationship; a rating at or below {params.flag_rating:g} flags the pair. The "
            f"no_first_meeting rule flags a pair with no meeting by week "
            f"{params.first_meeting_week}; the no_meeting_streak rule flags a pair after "
            f"{params.no_meeting_weeks} weeks without a meeting. A flag triggers coaching, a "
            "rematch with a mentor who has free capacity, or closing the pair, each costing "
            "coordinator time as the behaviour model says. Every arm runs on the same cohort, "
            "matching and random draws (common random numbers).")


def performance_text(params: Parameters, estimates: pd.DataFrame) -> str:
    """Monte Carlo error of the completion contrasts, in words."""
    from toolkit.report import fmt_number

    se = contrasts(estimates, "completed", "risk_difference",
                   reference=reference_arm(params)).se.to_numpy() * 100
    span = (f"{fmt_number(se.min(), 2)} to {fmt_number(se.max(), 2)} points" if len(se)
            else "not available")
    return (f"All uncertainty here is Monte Carlo error from {params.replicates} replicates per "
            f"arm. The standard error of the completion differences is {span}; it shrinks with "
            "the square root of the number of replicates. Cost per retained pair has a t "
            "interval over replicates.")


def limitations(params: Parameters) -> list[str]:
    """The assumptions the findings depend on."""
    out = [
        "The numbers come from a simulation model, not from observed programs: what coaching "
        "or a rematch does for a struggling pair, and how honest check-in ratings are, are "
        "model assumptions.",
        "Coordinator hours count check-ins, coaching, rematches and closures at the behaviour "
        "model's time costs; other coordinator work is not counted.",
        "Closing a flagged pair lowers completion by definition; it may still be the right "
        "call for a pair that is not working, which completion alone does not show.",
        "Model parameters where the literature is silent are assumptions with plausible "
        "ranges; the robustness check covers the headline contrast only, the other findings "
        "hold for the default assumptions.",
    ]
    if params.roster is not None:
        out.append("With a real roster every replicate uses the same people, so the intervals "
                   "describe this roster, not programs in general.")
    return out


STUDY = Study(
    name="checkin_cadence",
    title="How should a coordinator check in on pairs?",
    question=("Which check-in schedule or trigger rule, and which response to a flag (coach, "
              "rematch or close), keeps the most pairs going, and at what cost in coordinator "
              "hours per retained pair?"),
    parameters=Parameters,
    notebook=notebook_path("checkin_cadence"),
    estimates=estimates_for_sweep,
    inputs=("roster",),
)
