"""Study ``checkin_cadence``: how should a coordinator watch over the pairs?

Check-in schedules (none, monthly check-ins, surveys at 30 then every 60 days) and
trigger rules (no first meeting by a given week; a run of weeks without a meeting),
crossed with what the coordinator does when a pair is flagged (coach it, rematch the
mentee, or close the pair). The schedule ``none`` flags nobody, so it is one arm, the
reference. All arms share the cohort, the matching and every per-pair random draw
(common random numbers).

>>> study = CheckinCadence(schedules=["none", "monthly", "no_first_meeting"],
...                        actions=["coach", "close"])
>>> list(study.arms())
['none', 'monthly+coach', 'monthly+close', 'no_first_meeting+coach', 'no_first_meeting+close']
>>> study.arms()["no_first_meeting+close"].design.no_first_meeting_week
4
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from toolkit.errors import InvalidParameterError
from toolkit.studies._base import BaseStudy, Headline
from toolkit.studies._common import (
    compare_outcomes,
    contrast_summary,
    contrast_table,
    contrasts,
    forest_figures,
    must_be_compared,
)
from toolkit.studies._params import (
    Cadence,
    Capacity,
    CohortGroup,
    Policy,
    RobustnessGroup,
    RosterGroup,
)

__all__ = ["SCHEDULES", "STUDY", "CheckinCadence", "CheckinResult", "Parameters"]

Schedule = Literal["none", "monthly", "survey_30_60", "no_first_meeting", "no_meeting_streak"]
SCHEDULES = typing.get_args(Schedule)
Action = Literal["coach", "rematch", "close"]
SCHEDULE_TEXT = {"none": "no check-ins", "monthly": "monthly check-ins",
                 "survey_30_60": "30/60-day surveys",
                 "no_first_meeting": "the no-first-meeting rule",
                 "no_meeting_streak": "the no-meeting-streak rule"}
ACTION_TEXT = {"coach": "coaching", "rematch": "rematching", "close": "closing"}
OUTCOMES = {"completed": "completion", "mean_quality": "relationship quality",
            "hours_coordinator": "coordinator hours per pair"}


class Parameters(RobustnessGroup, RosterGroup, CohortGroup):
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
    capacity: Capacity = 1
    replicates: int = Field(50, ge=1, le=2000, description="Simulated programs per arm.")

    @model_validator(mode="after")
    def _consistent(self) -> Parameters:
        must_be_compared(self.study, "reference", self.reference, self.schedules, "schedules")
        if self.reference != "none":
            must_be_compared(self.study, "reference_action", self.reference_action, self.actions,
                             "actions")
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
    rows = [{"arm": "none", "schedule": "none", "action": "none"} if schedule == "none" else
            {"arm": f"{schedule}+{action}", "schedule": schedule, "action": action}
            for schedule in params.schedules
            for action in (["none"] if schedule == "none" else params.actions)]
    ref = reference_arm(params)
    rows.sort(key=lambda r: r["arm"] != ref)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class CheckinResult:
    """Per-pair outcomes and the coordinator's events (no participant ids)."""

    outcomes: pd.DataFrame
    events: pd.DataFrame


def _label(arm: str) -> str:
    if "+" not in arm:
        return SCHEDULE_TEXT.get(arm, arm)
    schedule, action = arm.split("+")
    return f"{SCHEDULE_TEXT[schedule]} + {ACTION_TEXT[action]}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


class CheckinCadence(BaseStudy):
    """How should a coordinator check in on pairs?"""

    name = "checkin_cadence"
    title = "How should a coordinator check in on pairs?"
    question = ("Which check-in schedule or trigger rule, and which response to a flag (coach, "
                "rematch or close), keeps the most pairs going, and at what cost in coordinator "
                "hours per retained pair?")
    Parameters = Parameters
    model_limitation = ("what coaching or a rematch does for a struggling pair, and how honest "
                        "check-in ratings are, are model assumptions.")
    notes = ("Coordinator hours count check-ins, coaching, rematches and closures at the "
             "behaviour model's time costs; other coordinator work is not counted.",
             "Closing a flagged pair lowers completion by definition; it may still be the right "
             "call for a pair that is not working, which completion alone does not show.")

    @cached_property
    def plan(self) -> pd.DataFrame:
        return plan_table(self.params)

    @cached_property
    def reference(self) -> str:
        return reference_arm(self.params)

    @cached_property
    def labels(self) -> dict[str, str]:
        return {a: _label(a) for a in self.plan["arm"]}

    def _design(self, **rule: Any) -> Any:
        from toolkit.program import ProgramDesign

        p = self.params
        return ProgramDesign(cadence=p.cadence, duration_weeks=p.duration_weeks,
                             flag_rating=p.flag_rating, **rule)

    def arms(self) -> dict[str, Any]:
        from toolkit.experiment import Arm, MatchSpec

        match = MatchSpec(self.params.policy, capacity=self.params.capacity)
        return {r.arm: Arm(match, self._design(on_flag="coach" if r.action == "none" else r.action,
                                               **_rule(r.schedule, self.params)))
                for r in self.plan.itertuples(index=False)}

    def headlines(self) -> list[Headline]:
        """Completion of every arm against the reference; first the first arm of the plan."""
        return [Headline(a, self.reference, text=f"the completion difference between "
                         f"{_label(a)} and {_label(self.reference)}") for a in self.plan.arm[1:]]

    def simulate(self) -> CheckinResult:
        """Run every arm over the replicates; outcomes and events without participant ids."""
        res = self.run(("outcomes", "events"))
        return CheckinResult(outcomes=self.without_ids(res.outcomes),
                             events=self.without_ids(res.events, "mentor_id", "new_mentor_id"))

    def analyse(self, result: CheckinResult) -> pd.DataFrame:
        """compare_arms of completion, quality and coordinator hours, every arm against the
        reference (Holm-adjusted within each outcome; clustered by replicate)."""
        return compare_outcomes(result.outcomes, self.plan["arm"].tolist(), self.reference, OUTCOMES)

    def cost_table(self, result: CheckinResult) -> pd.DataFrame:
        """Per arm: coordinator hours per completed ("retained") pair, the mean over replicates
        of (coordinator hours) / (completed pairs), with a 95% t interval over replicates."""
        from scipy import stats

        per_rep = (result.outcomes.groupby(["arm", "replicate"], sort=False)
                   .agg(hours=("hours_coordinator", "sum"), retained=("completed", "sum")))
        per_rep["cost"] = per_rep.hours / per_rep.retained.where(per_rep.retained > 0)
        rows = []
        for arm in self.plan["arm"]:
            cost = per_rep.loc[arm, "cost"].dropna().to_numpy(float)
            n = len(cost)
            mean = float(cost.mean()) if n else np.nan
            half = (float(stats.t.ppf(0.975, n - 1) * cost.std(ddof=1) / np.sqrt(n))
                    if n > 1 else np.nan)
            rows.append({"arm": arm, "hours_per_retained_pair": mean, "ci_low": mean - half,
                         "ci_high": mean + half, "replicates": n})
        return pd.DataFrame(rows)

    def summary_table(self, result: CheckinResult) -> pd.DataFrame:
        """Per arm: the plan, completion, quality, coordinator hours, flags and actions per
        pair, and the coordinator hours per retained pair."""
        o, ev = result.outcomes, result.events
        pairs = o.groupby("arm", sort=False).size()
        means = (o.groupby("arm", sort=False)
                 .agg(completion=("completed", "mean"), mean_quality=("mean_quality", "mean"),
                      coordinator_hours=("hours_coordinator", "mean"),
                      meetings_held=("meetings_held", "mean")))
        kinds = ["checkin", "flag", "coach", "rematch"]
        counts = (ev[ev.event.isin(kinds)].groupby(["arm", "event"], observed=True).size()
                  .unstack(fill_value=0).reindex(columns=kinds, fill_value=0))
        closures = ev[(ev.event == "closure") & (ev.reason == "coordinator_close")].groupby(
            "arm", observed=True).size().rename("closed_by_coordinator")
        counts = counts.join(closures, how="outer").fillna(0)
        per_pair = counts.div(pairs, axis=0).reindex(means.index).fillna(0.0)
        names = {"checkin": "checkins", "flag": "flags", "coach": "coachings",
                 "rematch": "rematches", "closed_by_coordinator": "closed_by_coordinator"}
        per_pair.columns = [f"{names[c]}_per_pair" for c in per_pair.columns]
        cost = self.cost_table(result).set_index("arm")["hours_per_retained_pair"]
        out = means.join(per_pair).join(cost).reset_index()
        return self.plan.merge(out, on="arm", how="left")

    def early_warning_table(self) -> pd.DataFrame | None:
        """Each rule's early warning of early closure (``toolkit.analysis.early_warning``):
        sensitivity, precision against the base rate, median lead time in weeks. Judged on the
        same cohorts and matchings in arms that record flags and do nothing about them
        (``on_flag="none"``), one per check-in plan the rules need. None with no rule."""
        from toolkit.analysis import early_warning
        from toolkit.experiment import Arm, ExperimentSpec, MatchSpec

        p = self.params
        plan = {"monthly": "monthly", "survey_30_60": "survey_30_60",
                "no_first_meeting": "none", "no_meeting_streak": "none"}
        rules = {"monthly": ("rating", p.flag_rating), "survey_30_60": ("rating", p.flag_rating),
                 "no_first_meeting": ("no_first_meeting", p.first_meeting_week),
                 "no_meeting_streak": ("weeks_since_meeting", p.no_meeting_weeks)}
        watched = [s for s in p.schedules if s != "none"]
        if not watched:
            return None
        match = MatchSpec(p.policy, capacity=p.capacity)
        watch = {f"watch+{c}": Arm(match, self._design(checkins=c, on_flag="none"))
                 for c in dict.fromkeys(plan[s] for s in watched)}
        res = self.run(("weeks", "outcomes", "events"),
                       spec=ExperimentSpec(cohort=self.spec.cohort, arms=watch,
                                           replicates=p.replicates, seed=p.seed))
        rows = []
        for schedule in watched:
            at = "checkins" if plan[schedule] != "none" else "every_week"
            arm = f"watch+{plan[schedule]}"
            pick = [t[t["arm"].astype(str) == arm] for t in (res.weeks, res.outcomes, res.events)]
            table = early_warning(pick[0], pick[1], {schedule: rules[schedule]}, events=pick[2],
                                  at=at)
            rows.append(table.drop(columns=["arm"]).assign(
                evaluated=("at planned check-ins" if at == "checkins" else "every week")))
        return pd.concat(rows, ignore_index=True).rename(columns={"rule": "schedule"})

    def findings(self, estimates: pd.DataFrame, cost: pd.DataFrame) -> list[str]:
        """The headline: the arm with the most completed pairs and what it cost the
        coordinator, then completion of every arm against the reference."""
        from toolkit.report import fmt_number, sentence

        labels, ref = self.labels, self.reference
        rows = contrasts(estimates, "completed", "risk_difference", reference=ref)
        out = []
        if len(rows):
            best = rows.loc[rows.estimate.idxmax()]
            c = cost.set_index("arm")
            out.append(f"Most completed pairs: {labels[best.group]} "
                       f"({fmt_number(best.estimate * 100, 1)} points over {labels[ref]}), at "
                       f"{fmt_number(c.loc[best.group, 'hours_per_retained_pair'], 2)} coordinator "
                       "hours per completed pair.")
        return out + [sentence(r, outcome="completion", labels=labels) for r in rows.to_dict("records")]

    def more_findings(self, estimates: pd.DataFrame, cost: pd.DataFrame,
                      early_warning: pd.DataFrame | None = None) -> dict[str, list[str]]:
        """Further findings by heading: coordinator time and cost per retained pair; quality;
        the early warning of each rule."""
        from toolkit.report import fmt_ci, fmt_number

        labels, ref = self.labels, self.reference
        extra = contrasts(estimates, "hours_coordinator", "difference", reference=ref).set_index("group")
        hours = []
        for r in cost.itertuples(index=False):
            if r.arm not in extra.index or not np.isfinite(r.hours_per_retained_pair):
                continue
            d = extra.loc[r.arm]
            word = "more" if d.estimate >= 0 else "fewer"
            hours.append(f"{_cap(labels[r.arm])}: {fmt_number(abs(d.estimate), 2)} coordinator "
                         f"hours per pair {word} than {labels[ref]} (difference "
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
                f"{_cap(SCHEDULE_TEXT[r.schedule])} flagged {fmt_number(r.sensitivity * 100, 0)}% "
                f"of the pairs that later closed early (sensitivity); "
                f"{fmt_number(r.precision * 100, 0)}% of the pairs it flagged closed early "
                f"(precision, against a base rate of {fmt_number(r.base_rate * 100, 0)}%), a "
                f"median of {fmt_number(r.median_lead_weeks, 0)} weeks before they closed."
                for r in early_warning.itertuples(index=False)]
        return out

    def contrasts_for_report(self, estimates: pd.DataFrame) -> pd.DataFrame:
        """Every arm against the reference, readable (completion in percentage points)."""
        return contrast_table(estimates, self.reference, names=self.labels, outcomes=OUTCOMES)

    def figures(self, result: CheckinResult, estimates: pd.DataFrame) -> list[tuple]:
        """(figure, name, caption) for each figure of the report."""
        from toolkit.plots import tradeoff_plot

        out = forest_figures(estimates, self.reference, [("completed", "risk_difference",
                                                          "completion")],
                             whom=_label(self.reference), each="arm",
                             more="more completed pairs than the reference")
        summary = self.summary_table(result)
        points = summary.assign(completed=summary.completion * 100,
                                rule=summary.schedule.str.replace("_", " "))
        fig = tradeoff_plot(points, x="coordinator_hours", y="completed", by="action", label="rule",
                            x_label="coordinator hours per pair", y_label="completed pairs (%)",
                            title="Completion against coordinator time")
        out.append((fig, "completion_vs_hours",
                    "Share of pairs completing against the coordinator's hours per pair, one "
                    "point per arm, coloured by what the coordinator does on a flag (none: no "
                    "check-ins)."))
        return out

    def mechanism_text(self) -> str:
        p = self.params
        return (f"{p.replicates} simulated programs per arm, each with {self.cohort_words()}, "
                f"matched by the {p.policy} policy (at most {p.capacity} mentee(s) per mentor, "
                f"also in rematches), meeting {p.cadence.replace('_', ' ')} for "
                f"{p.duration_weeks} weeks. At a check-in every active pair rates the "
                f"relationship; a rating at or below {p.flag_rating:g} flags the pair. The "
                f"no_first_meeting rule flags a pair with no meeting by week "
                f"{p.first_meeting_week}; the no_meeting_streak rule flags a pair after "
                f"{p.no_meeting_weeks} weeks without a meeting. A flag triggers coaching, a "
                "rematch with a mentor who has free capacity, or closing the pair, each costing "
                "coordinator time as the behaviour model says. Every arm runs on the same "
                "cohort, matching and random draws (common random numbers).")

    def performance_text(self, estimates: pd.DataFrame) -> str:
        """Monte Carlo error of the completion contrasts, in words."""
        se = contrasts(estimates, "completed", "risk_difference", reference=self.reference).se
        return self.mc_error_text(se.to_numpy() * 100, "per arm", ". Cost per retained pair has "
                                  "a t interval over replicates.")


STUDY = CheckinCadence.record()
