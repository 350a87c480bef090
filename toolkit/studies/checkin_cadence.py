"""Study ``checkin_cadence``: how should a coordinator watch over the pairs?

Check-in schedules (none, monthly, surveys at 30 then every 60 days) and trigger rules (no
first meeting by a given week; a run of weeks without a meeting), crossed with what the
coordinator does when a pair is flagged (coach, rematch, close). ``none`` flags nobody: one
arm, the reference. Under the default model each contrast is a per-replicate paired difference
with its Monte Carlo error (no p-values). Early warning is in ``_checkin_warning``. What a rule
does by definition (closing on a flag closes flagged pairs) is a cost of the rule, not a finding.

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
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

import toolkit.studies._paired as paired
from toolkit.studies._base import BaseStudy, Headline
from toolkit.studies._checkin_warning import EarlyWarning
from toolkit.studies._common import arm_means, contrasts, must_be_compared, scaled
from toolkit.studies._params import Cadence, Capacity, CohortGroup, ModelsGroup, Policy, RosterGroup
from toolkit.studies._words import cap, outcome_names

__all__ = ["SCHEDULES", "STUDY", "CheckinCadence", "CheckinResult", "Parameters"]

Schedule = Literal["none", "monthly", "survey_30_60", "no_first_meeting", "no_meeting_streak"]
SCHEDULES = typing.get_args(Schedule)
Action = Literal["coach", "rematch", "close"]
ACTIONS = typing.get_args(Action)
Week = Annotated[int, Field(ge=1, le=52)]
SCHEDULE_TEXT = {
    "none": "no check-ins",
    "monthly": "monthly check-ins",
    "survey_30_60": "30/60-day surveys",
    "no_first_meeting": "the no-first-meeting rule",
    "no_meeting_streak": "the no-meeting-streak rule",
}
MEANS = ("completion", "mean_quality", "hours_coordinator", "meetings_held")
#: Events counted per pair (a closure by its reason): event -> column name.
EVENTS = {"checkin": "checkins", "flag": "flags", "coach": "coachings", "rematch": "rematches"}
EVENTS["coordinator_close"] = "closed_by_coordinator"
ACTION_TEXT = {"coach": "coaching", "rematch": "rematching", "close": "closing"}
OUTCOMES = outcome_names("completed", "mean_quality", "hours_coordinator")


BEST = "Most completed pairs in this simulation: {}, "
NONE_BETTER = "No arm completed more pairs than {1} in this simulation; the closest, {0}, "
RULE_COST = (
    "Cost of the rule, not a finding: closing on a flag closes flagged pairs; under {} the "
    "coordinator closed {}% of pairs."
)
FOREST = (
    "Difference in completion of each arm from {}, with 95% Monte Carlo intervals (simulation "
    "noise only, not uncertainty about programs). A point right of the dashed line means more "
    "completed pairs than the reference."
)
TRADEOFF = (
    "Share of pairs completing against the coordinator's hours per pair, one point per arm, "
    "coloured by what the coordinator does on a flag (none: no check-ins)."
)


class Parameters(ModelsGroup, RosterGroup, CohortGroup):
    """Parameters of the checkin_cadence study."""

    study = "checkin_cadence"

    schedules: tuple[Schedule, ...] = Field(
        SCHEDULES,
        min_length=2,
        description="Check-in schedules and trigger rules to compare (none = no check-ins).",
    )
    actions: tuple[Action, ...] = Field(
        ACTIONS, min_length=1, description="What the coordinator does when a pair is flagged."
    )
    reference: Schedule = Field("none", description="Schedule every arm is compared with.")
    reference_action: Action = Field(
        "coach", description="Action of the reference arm when the reference schedule is not none."
    )
    flag_rating: float = Field(
        2.0, ge=1, le=5, description="A check-in rating at or below this flags the pair."
    )
    first_meeting_week: Week = Field(
        4, description="no_first_meeting rule: flag a pair with no meeting by this week."
    )
    no_meeting_weeks: Week = Field(
        6, description="no_meeting_streak rule: flag a pair this many weeks without a meeting."
    )
    cadence: Cadence = Field("biweekly", description="Meeting schedule of every arm.")
    duration_weeks: int = Field(26, ge=4, le=104, description="Program length in weeks.")
    policy: Policy = Field("random", description="Matching policy of every arm.")
    capacity: Capacity = 1
    replicates: int = Field(50, ge=1, le=2000, description="Simulated programs per arm.")

    compared = {"reference": "schedules"}
    at_most = {"first_meeting_week": "duration_weeks", "no_meeting_weeks": "duration_weeks"}

    @model_validator(mode="after")
    def _reference_action(self) -> Parameters:
        if self.reference != "none":  # "none" flags nobody: it has no action
            action, actions = self.reference_action, self.actions
            must_be_compared(self.study, "reference_action", action, actions, "actions")
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
    rows = [
        {"arm": "none", "schedule": "none", "action": "none"}
        if schedule == "none"
        else {"arm": f"{schedule}+{action}", "schedule": schedule, "action": action}
        for schedule in params.schedules
        for action in (["none"] if schedule == "none" else params.actions)
    ]
    ref = reference_arm(params)
    rows.sort(key=lambda r: r["arm"] != ref)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class CheckinResult:
    """Per-pair outcomes and the coordinator's events (no participant ids)."""

    outcomes: pd.DataFrame
    events: pd.DataFrame


class CheckinCadence(EarlyWarning, BaseStudy):
    """How should a coordinator check in on pairs?"""

    name = "checkin_cadence"
    title = "How should a coordinator check in on pairs?"
    question = (
        "Which check-in schedule or trigger rule, and which response to a flag (coach, "
        "rematch or close), keeps the most pairs going, and at what cost in coordinator "
        "hours per retained pair?"
    )
    Parameters = Parameters
    model_limitation = (
        "what coaching or a rematch does for a struggling pair, and how honest "
        "check-in ratings are, are model assumptions."
    )
    notes = (
        "Coordinator hours count check-ins, coaching, rematches and closures at the "
        "behaviour model's time costs; other coordinator work is not counted.",
        "Closing a flagged pair lowers completion by definition (a cost of the rule, not "
        "a finding); it may still be the right call for a pair that is not working, which "
        "completion alone does not show.",
        "What coaching and a rematch do, and how many flagged mentees accept a rematch, "
        "are priors of the behaviour model; these results are at its default values.",
    )

    @cached_property
    def plan(self) -> pd.DataFrame:
        return plan_table(self.params)

    @cached_property
    def reference(self) -> str:
        return reference_arm(self.params)

    def _design(self, **rule: Any) -> Any:
        from toolkit.program import ProgramDesign

        p = self.params
        return ProgramDesign(
            cadence=p.cadence, duration_weeks=p.duration_weeks, flag_rating=p.flag_rating, **rule
        )

    def arms(self) -> dict[str, Any]:
        from toolkit.experiment import Arm, MatchSpec

        match = MatchSpec(self.params.policy, capacity=self.params.capacity)

        def arm(r: Any) -> Any:  # "none" flags nobody: its on_flag is never used
            on_flag = "coach" if r.action == "none" else r.action
            return Arm(match, self._design(on_flag=on_flag, **_rule(r.schedule, self.params)))

        return {r.arm: arm(r) for r in self.plan.itertuples(index=False)}

    def arm_words(self, arm: str) -> str:
        schedule, _, action = arm.partition("+")
        if not action:
            return SCHEDULE_TEXT.get(arm, arm)
        return f"{SCHEDULE_TEXT[schedule]} + {ACTION_TEXT[action]}"

    def headlines(self) -> list[Headline]:
        """Completion of every arm against the reference; first the first arm of the plan."""
        return [self.headline(a, self.reference) for a in self.plan.arm[1:]]

    def simulate(self) -> CheckinResult:
        """Run every arm over the replicates; outcomes and events without participant ids."""
        res = self.run(("outcomes", "events"))
        events = self.without_ids(res.events, "mentor_id", "new_mentor_id")
        return CheckinResult(outcomes=self.without_ids(res.outcomes), events=events)

    def analyse(self, result: CheckinResult) -> pd.DataFrame:
        """Completion, quality and coordinator hours of every arm against the reference:
        per-replicate paired differences with their Monte Carlo SE
        (:func:`paired.paired_contrasts`; no p-values, the contrasts are simulated)."""
        return paired.paired_contrasts(result.outcomes, self.reference, OUTCOMES)

    def cost_table(self, result: CheckinResult) -> pd.DataFrame:
        """Per arm: coordinator hours per completed pair, an AVERAGE cost
        (:func:`paired.average_cost`; the marginal cost is :meth:`marginal_table`)."""
        return paired.average_cost(result.outcomes, self.plan["arm"])

    def marginal_table(self, result: CheckinResult) -> pd.DataFrame | None:
        """Coordinator hours per additional completed pair against no check-ins
        (:func:`paired.marginal_cost`); None when ``none`` is not compared."""
        compared = "none" in set(self.plan["arm"])
        return paired.marginal_cost(result.outcomes, seed=self.params.seed) if compared else None

    def summary_table(self, result: CheckinResult) -> pd.DataFrame:
        """Per arm: the plan, completion, quality, coordinator hours, flags and actions per
        pair, and the coordinator hours per retained pair."""
        o, ev = result.outcomes, result.events
        pairs = o.groupby("arm", sort=False).size()
        means = arm_means(o, "arm", *MEANS).rename(
            columns={"hours_coordinator": "coordinator_hours"}
        )
        event = ev.event.astype(str).where(ev.event != "closure", ev.reason.astype(str))
        counts = pd.crosstab(ev.arm.astype(str), event).reindex(columns=list(EVENTS), fill_value=0)
        per_pair = counts.div(pairs, axis=0).reindex(means.index).fillna(0.0)
        per_pair.columns = [f"{name}_per_pair" for name in EVENTS.values()]
        cost = self.cost_table(result).set_index("arm")["hours_per_retained_pair"]
        out = means.join(per_pair).join(cost).reset_index()
        return self.plan.merge(out, on="arm", how="left")

    # -- findings --------------------------------------------------------------------------
    @staticmethod
    def _effect_words(r: Any, scale: float, digits: int, unit: str) -> str:
        from toolkit.report import fmt_number

        finite = np.isfinite(r.mc_se)
        se = f" (Monte Carlo SE {fmt_number(r.mc_se * scale, digits)})" if finite else ""
        return f"{fmt_number(r.estimate * scale, digits)} {unit}{se}"

    def _against(self, estimates: pd.DataFrame, outcome: str, what: str, *style: Any) -> list[str]:
        """ "<Arm>: <what> <effect> against <reference>." per contrast of ``outcome``
        (``style``: scale, digits, unit of :meth:`_effect_words`)."""
        effect = "risk_difference" if outcome == "completed" else "difference"
        rows = contrasts(estimates, outcome, effect, reference=self.reference)
        return [
            f"{cap(self.labels[r.group])}: {what} {self._effect_words(r, *style)} "
            f"against {self.labels[self.reference]}."
            for r in rows.itertuples(index=False)
        ]

    def findings(
        self, estimates: pd.DataFrame, marginal: pd.DataFrame | None, summary: pd.DataFrame
    ) -> list[str]:
        """The headline: completion of every arm against the reference (Monte Carlo SE), the
        marginal coordinator hours per additional completed pair, and the costs of the
        rules stated as costs."""
        from toolkit.report import fmt_number

        labels, ref = self.labels, self.reference
        rows = contrasts(estimates, "completed", "risk_difference", reference=ref)
        out = []
        if len(rows):
            best = rows.loc[rows.estimate.idxmax()]
            out.append(
                (BEST if best.estimate > 0 else NONE_BETTER).format(labels[best.group], labels[ref])
                + f"{self._effect_words(best, 100, 1, 'points')} against {labels[ref]}."
            )
        if marginal is not None and len(marginal):
            out += paired.marginal_sentences(marginal, labels)
        out += self._against(estimates, "completed", "completion", 100, 1, "points")
        closed = summary.set_index("arm").closed_by_coordinator_per_pair * 100
        closing = summary.arm[summary.action == "close"]
        return out + [RULE_COST.format(labels[a], fmt_number(closed[a], 0)) for a in closing]

    def more_findings(
        self, estimates: pd.DataFrame, cost: pd.DataFrame, warning: pd.DataFrame, closures: Any
    ) -> dict[str, list[str]]:
        """Further findings by heading: coordinator time; quality; early warning per
        check-in; closure reasons."""
        from toolkit.report import fmt_number

        labels = self.labels
        hours = self._against(
            estimates, "hours_coordinator", "coordinator hours per pair", 1, 2, "hours"
        )
        hours += [
            f"{cap(labels[r.arm])}: on average {fmt_number(r.hours_per_retained_pair, 2)} "
            "coordinator hours per completed pair (all hours over all completed pairs)."
            for r in cost.itertuples(index=False)
            if np.isfinite(r.hours_per_retained_pair) and r.hours_per_retained_pair > 0
        ]
        quality = self._against(
            estimates, "mean_quality", "relationship quality", 1, 3, "points (0-1 scale)"
        )
        out = {"Coordinator time": hours, "Relationship quality": quality}
        if len(warning):
            heading = "Early warning per check-in (closure within 8 weeks)"
            out[heading] = self.warning_findings(warning)
        if len(closures):
            out["Why pairs closed"] = self.closure_findings(closures)
        return out

    def contrasts_for_report(self, estimates: pd.DataFrame) -> pd.DataFrame:
        """Every arm against the reference, readable (:func:`paired.paired_report`)."""
        return paired.paired_report(estimates, self.labels, OUTCOMES)

    def figures(self, result: CheckinResult, estimates: pd.DataFrame) -> list[tuple]:
        """(figure, name, caption) for each figure of the report."""
        from toolkit.plots import forest_plot, tradeoff_plot

        out, ref = [], self.labels[self.reference]
        rows = contrasts(estimates, "completed", "risk_difference", reference=self.reference)
        if len(rows):
            rows = scaled(rows, 100).assign(group=rows.group.map(self.labels), reference=ref)
            fig = forest_plot(
                rows,
                effect="risk_difference",
                outcome_label="completion",
                unit="percentage points",
                interval="95% Monte Carlo intervals",
                title=f"Difference in completion from {ref}",
            )
            out.append((fig, "completed_risk_difference", FOREST.format(ref)))
        summary = self.summary_table(result)
        rule = summary.schedule.str.replace("_", " ")
        points = summary.assign(completed=summary.completion * 100, rule=rule)
        fig = tradeoff_plot(
            points,
            x="coordinator_hours",
            y="completed",
            by="action",
            label="rule",
            x_label="coordinator hours per pair",
            y_label="completed pairs (%)",
            title="Completion against coordinator time",
        )
        return [*out, (fig, "completion_vs_hours", TRADEOFF)]

    def mechanism_text(self) -> str:
        p = self.params
        return (
            f"{p.replicates} simulated programs per arm, each with {self.cohort_words()}, "
            f"matched by the {p.policy} policy (at most {p.capacity} mentee(s) per mentor, "
            f"also in rematches), meeting {p.cadence.replace('_', ' ')} for "
            f"{p.duration_weeks} weeks. At a check-in every active pair rates the "
            f"relationship; a rating at or below {p.flag_rating:g} flags the pair. The "
            f"no_first_meeting rule flags a pair with no meeting by week "
            f"{p.first_meeting_week}; the no_meeting_streak rule flags a pair after "
            f"{p.no_meeting_weeks} weeks without a meeting. A flag triggers coaching, a "
            "rematch by the matching policy among mentors with free capacity, or closing "
            "the pair, each costing coordinator time as the behaviour model says. Every arm "
            "runs on the same cohort, matching and random draws (common random numbers). "
            "Early warning is judged on extra arms with monthly (and, when compared, "
            "30/60-day) check-ins whose flags change nothing. " + self.levers_words()
        )

    def performance_text(self, estimates: pd.DataFrame) -> str:
        """Monte Carlo error of the completion contrasts, in words."""
        return self.completion_error_text(
            estimates,
            "per arm",
            ". It is simulation noise, not uncertainty about programs; no p-values are given "
            "because the contrasts are simulated. The marginal hours per additional completed "
            "pair have a bootstrap Monte Carlo error over replicates.",
            se="mc_se",
            reference=self.reference,
        )


STUDY = CheckinCadence.record()
