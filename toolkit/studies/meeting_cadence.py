"""Study ``meeting_cadence``: how often should pairs meet?

Every cadence of ``toolkit.program.CADENCES`` and The Hartford's preset, compared at their
usual meeting length (unmatched hours) and with the meeting length scaled so every arm
plans the same monthly hours as the reference (matched hours). All arms share the cohort,
the matching and every per-pair random draw (common random numbers).

>>> study = MeetingCadence(cadences=["weekly", "biweekly", "monthly"], hours="matched")
>>> study.plan[["arm", "meeting_minutes"]].values.tolist()
[['biweekly', 60.0], ['weekly_matched', 30.0], ['monthly_matched', 111.4]]
"""

from __future__ import annotations

import functools
from functools import cached_property
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import AfterValidator, Field, model_validator

from toolkit.errors import InvalidParameterError
from toolkit.studies._base import BaseStudy, Headline
from toolkit.studies._common import (
    as_strings,
    compare_outcomes,
    contrast_table,
    contrasts,
    default_sentence,
    must_be_compared,
)
from toolkit.studies._params import (
    Choice,
    CohortGroup,
    ModelsGroup,
    Policy,
    RosterGroup,
    cadences,
)

__all__ = ["STUDY", "MeetingCadence", "Parameters", "plan_table"]

LABELS = {
    "weekly": "weekly meetings",
    "biweekly": "biweekly meetings",
    "every_3_weeks": "meetings every 3 weeks",
    "monthly": "monthly meetings",
    "front_loaded": "front-loaded meetings (weekly for 4 weeks, then biweekly)",
    "hartford": "the Hartford preset (7 sessions every 3 weeks)",
}
SHORT = {
    "weekly": "weekly",
    "biweekly": "biweekly",
    "every_3_weeks": "every 3 weeks",
    "monthly": "monthly",
    "front_loaded": "front-loaded",
    "hartford": "Hartford",
}
OUTCOMES = {
    "completed": "completion",
    "mentee_gain": "the mentee's digital gain",
    "mentor_gain": "the mentor's leadership gain",
    "hours_mentee": "hours spent per pair",
    "mean_quality": "relationship quality",
}
MAX_MINUTES = 240
#: The two estimands, by hours mode.
ESTIMANDS = {"unmatched": "monthly dose", "matched": "frequency at equal monthly hours"}


def schedules() -> tuple[str, ...]:
    """The program's cadences, then the Hartford preset (a schedule of its own)."""
    return (*cadences(), "hartford")


_SCHEDULE = Choice("schedule", schedules)
Schedule = Annotated[str, AfterValidator(_SCHEDULE), _SCHEDULE]


class Parameters(ModelsGroup, RosterGroup, CohortGroup):
    """Parameters of the meeting_cadence study."""

    study = "meeting_cadence"

    cadences: tuple[Schedule, ...] = Field(
        schedules(),
        min_length=2,
        description="Meeting schedules to compare (hartford = 7 sessions every 3 weeks, 21 weeks).",
    )
    reference: Schedule = Field(
        "biweekly", description="Schedule every other one is compared with."
    )
    hours: Literal["both", "unmatched", "matched"] = Field(
        "both",
        description="Compare at usual meeting length, at the reference's monthly hours, or both.",
    )
    meeting_minutes: float = Field(
        60.0, gt=0, le=MAX_MINUTES, description="Meeting length of the reference schedule, minutes."
    )
    duration_weeks: int = Field(
        26, ge=4, le=104, description="Program length in weeks (hartford keeps 21)."
    )
    replicates: int = Field(50, ge=1, le=2000, description="Simulated programs per schedule.")
    policy: Policy = Field("random", description="Matching policy used by every arm.")

    @model_validator(mode="after")
    def _reference_is_compared(self) -> Parameters:
        must_be_compared(self.study, "reference", self.reference, self.cadences, "cadences")
        plan_table(self)  # refuses a matched meeting length above MAX_MINUTES
        return self


def scenario_inputs() -> list[str]:
    """The behaviour model's levers: scenario inputs set by the user, never findings."""
    from toolkit.behavior import BehaviorModel

    return list(BehaviorModel.scenario_inputs())


def _design(cadence: str, params: Parameters, minutes: float | None = None) -> Any:
    from toolkit.program import ProgramDesign, preset

    if cadence == "hartford":
        return (
            preset("hartford") if minutes is None else preset("hartford", meeting_minutes=minutes)
        )
    return ProgramDesign(
        cadence=cadence,
        duration_weeks=params.duration_weeks,
        meeting_minutes=params.meeting_minutes if minutes is None else minutes,
    )


def _meetings(design: Any) -> int:
    from toolkit.program import program_schedule

    return len(program_schedule(design).meeting_week_numbers())


def _monthly_hours(design: Any) -> float:
    return _meetings(design) * design.meeting_minutes / 60 / design.duration_weeks * 52 / 12


@functools.lru_cache(maxsize=32)
def plan_table(params: Parameters) -> pd.DataFrame:
    """One row per arm: cadence, hours mode, planned meetings, minutes, planned monthly hours
    (built once per parameters and process).

    Matched arms scale ``meeting_minutes`` so planned monthly hours equal the reference's
    (rounded to 0.1 minute); a matched length above 240 minutes is refused.
    """
    ref = _design(params.reference, params)
    target = _monthly_hours(ref)
    rows = []
    for mode in ["unmatched", "matched"] if params.hours == "both" else [params.hours]:
        for cadence in params.cadences:
            if mode == "matched" and cadence == params.reference:
                if params.hours == "both":
                    continue  # the reference arm is the same in both modes
                design, arm = ref, cadence
            elif mode == "matched":
                base = _design(cadence, params)
                minutes = round(base.meeting_minutes * target / _monthly_hours(base), 1)
                if minutes > MAX_MINUTES:
                    raise InvalidParameterError(
                        f"The 'meeting_minutes' parameter of study meeting_cadence must be small "
                        f"enough that matched {cadence} meetings last at most {MAX_MINUTES} "
                        f"minutes; got {params.meeting_minutes!r} ({minutes:g} minutes per meeting)."
                    )
                design, arm = _design(cadence, params, minutes), f"{cadence}_matched"
            else:
                design, arm = _design(cadence, params), cadence
            rows.append(
                {
                    "arm": arm,
                    "cadence": cadence,
                    "hours": mode,
                    "planned_meetings": _meetings(design),
                    "meeting_minutes": float(design.meeting_minutes),
                    "duration_weeks": design.duration_weeks,
                    "planned_monthly_hours": round(_monthly_hours(design), 3),
                }
            )
    if params.hours == "both":  # the shared reference sits first among the matched arms too
        rows.sort(key=lambda r: (r["hours"] == "matched", r["arm"] != params.reference))
    else:
        rows.sort(key=lambda r: r["arm"] != params.reference)
    return pd.DataFrame(rows)


def _label(arm: str) -> str:
    if arm.endswith("_matched"):
        return LABELS[arm.removesuffix("_matched")] + " at equal monthly hours"
    return LABELS.get(arm, arm)


def _short(arm: str) -> str:
    if arm.endswith("_matched"):
        return SHORT[arm.removesuffix("_matched")] + " (equal monthly hours)"
    return SHORT.get(arm, arm)


def _words(arm: str) -> str:
    """An arm as a singular noun phrase: "the weekly schedule (equal monthly hours)"."""
    base = arm.removesuffix("_matched")
    noun = "the Hartford preset" if base == "hartford" else f"the {SHORT.get(base, base)} schedule"
    return noun + (" at equal monthly hours" if arm.endswith("_matched") else "")


class MeetingCadence(BaseStudy):
    """How often should pairs meet?"""

    name = "meeting_cadence"
    title = "How often should pairs meet?"
    question = (
        "Which meeting schedule (weekly, biweekly, every 3 weeks, monthly, front-loaded, "
        "or the Hartford preset) gives the most completed pairs and the largest two-way "
        "learning, at usual meeting lengths and at matched monthly hours?"
    )
    Parameters = Parameters
    model_limitation = (
        "they are as good as its assumptions about how often meetings happen, "
        "how quality and learning grow with each meeting, and how pairs fade and "
        "close."
    )
    notes = (
        "Completion means still active at the end of the program; the Hartford preset's "
        "program is 21 weeks, so it is compared with the others at a common horizon "
        "(outcomes at week 21: the share of pairs still open after week 21), never by "
        "completion at different program ends.",
        "Matched-hours arms change the meeting length only; the model treats a long meeting "
        "like a short one in every respect other than hours spent.",
    )

    @cached_property
    def plan(self) -> pd.DataFrame:
        return plan_table(self.params)

    @cached_property
    def labels(self) -> dict[str, str]:
        return {a: _label(a) for a in self.plan["arm"]}

    def arms(self) -> dict[str, Any]:
        from toolkit.experiment import Arm

        p = self.params
        out = {}
        for row in self.plan.itertuples(index=False):
            minutes = (
                None if row.hours == "unmatched" or row.arm == p.reference else row.meeting_minutes
            )
            out[row.arm] = Arm(p.policy, _design(row.cadence, p, minutes))
        return out

    @cached_property
    def durations(self) -> dict[str, int]:
        """Each arm's program length in weeks."""
        return dict(zip(self.plan.arm, self.plan.duration_weeks.astype(int), strict=True))

    @property
    def horizon(self) -> int:
        """The common horizon (weeks): the shortest program compared."""
        return int(min(self.durations.values()))

    def _outcome(self, arm: str) -> str:
        same = self.durations[arm] == self.durations[self.params.reference]
        return "completed" if same else f"open_at_week_{self.horizon}"

    def headlines(self) -> list[Headline]:
        """Completion of every other arm against the reference (a program of another length,
        the Hartford preset's 21 weeks, by the share still open at the common horizon);
        first the first schedule at usual meeting lengths (the monthly dose; at equal
        monthly hours when only those are run)."""
        p, plan = self.params, self.plan
        others = plan[plan.arm != p.reference]
        mode = "matched" if p.hours == "matched" else "unmatched"
        order = [*others.arm[others.hours == mode], *others.arm[others.hours != mode]]
        return [
            Headline(
                a,
                p.reference,
                outcome=self._outcome(a),
                text=f"the completion difference between {_label(a)} and {_label(p.reference)}",
            )
            for a in order
        ]

    def derive(self, outcomes: pd.DataFrame) -> pd.DataFrame:
        """The outcomes with the share still open at the common horizon (a column)."""
        closed = outcomes["closed_week"].astype("float").fillna(float("inf"))
        return outcomes.assign(**{f"open_at_week_{self.horizon}": closed > self.horizon})

    def arm_words(self, arm: str) -> str:
        return _words(arm)

    def outcome_words(self, headline: Headline) -> dict[str, Any]:
        words = dict(super().outcome_words(headline))
        if headline.outcome.startswith("open_at_week_"):
            words.update(
                more=f"keeps more pairs open at week {self.horizon}",
                less=f"keeps fewer pairs open at week {self.horizon}",
                unit="points",
                scale=100.0,
                higher_is_better=True,
            )
        return words

    def simulate_tables(self) -> Any:
        """Run every arm with the outcomes, events and weeks tables (no participant ids in
        what is saved): the ExperimentResult."""
        return self.run(("outcomes", "events", "weeks"))

    def horizon_table(self, result: Any) -> pd.DataFrame:
        """Outcomes at week ``horizon`` per arm (``toolkit.analysis.at_horizon``): the share
        still open, closures per 100 pair-weeks and meetings held by then."""
        from toolkit.analysis import at_horizon

        out = at_horizon(
            result.outcomes.assign(arm=result.outcomes["arm"].astype(str)),
            self.horizon,
            durations=self.durations,
            weeks=result.weeks,
        )
        out["arm"] = out["arm"].astype(str)
        return out

    @staticmethod
    def closure_table(result: Any) -> pd.DataFrame:
        """Closures by recorded reason per arm (``toolkit.analysis.closure_reasons``)."""
        from toolkit.analysis import closure_reasons

        events = result.events.assign(arm=result.events["arm"].astype(str))
        return closure_reasons(events)

    def analyse(self, outcomes: pd.DataFrame) -> pd.DataFrame:
        """Estimates per hours mode: compare_arms for each outcome and retention, against the
        reference (Holm-adjusted within each outcome and mode; clustered by replicate)."""
        from toolkit.analysis import retention

        p, parts = self.params, []
        for mode in ("unmatched", "matched"):
            names = self.plan.loc[self.plan.hours == mode, "arm"].tolist()
            if not names:
                continue
            names = names if p.reference in names else [p.reference, *names]
            sub = outcomes[outcomes.arm.isin(names)]
            parts.append(compare_outcomes(sub, names, p.reference, OUTCOMES).assign(hours=mode))
            if (~sub.completed).any():
                sub = sub.assign(arm=pd.Categorical(sub["arm"], categories=names))
                parts.append(retention(sub, reference=p.reference).assign(hours=mode))
        return as_strings(pd.concat(parts, ignore_index=True))

    def summary_table(self, outcomes: pd.DataFrame) -> pd.DataFrame:
        """Per arm: the plan, then mean completion, gains, hours and quality."""
        means = (
            outcomes.groupby("arm", sort=False)
            .agg(
                pairs=("completed", "size"),
                completion=("completed", "mean"),
                meetings_held=("meetings_held", "mean"),
                hours_mentee=("hours_mentee", "mean"),
                mentee_gain=("mentee_gain", "mean"),
                mentor_gain=("mentor_gain", "mean"),
                mean_quality=("mean_quality", "mean"),
            )
            .reset_index()
        )
        return self.plan.merge(means, on="arm", how="left")

    def _rows(self, estimates: pd.DataFrame, outcome: str, effect: str, mode: str) -> pd.DataFrame:
        return contrasts(estimates, outcome, effect, hours=mode, reference=self.params.reference)

    def findings(self, estimates: pd.DataFrame) -> list[str]:
        """The default model's answers: completion of each schedule against the reference,
        first the monthly dose (usual meeting lengths), then frequency at equal monthly
        hours."""
        ref = _words(self.params.reference)
        out = [
            default_sentence(
                r,
                arm=_words(r["group"]),
                reference=ref,
                what="completion"
                + (
                    " (a 21-week program: see the outcomes at week 21)"
                    if r["group"].startswith("hartford")
                    else ""
                ),
            )
            for mode in ("unmatched", "matched")
            for r in self._rows(estimates, "completed", "risk_difference", mode).to_dict("records")
        ]
        return out or [
            "Completion could not be compared: every schedule had the same completion "
            "in every simulated pair (too few pairs or replicates to tell them apart)."
        ]

    def horizon_findings(self, horizon: pd.DataFrame) -> list[str]:
        """The default model's share of pairs still open at the common horizon, per arm."""
        from toolkit.report import fmt_number

        return [
            f"Default model: {fmt_number(100 * r.open_at_horizon, 1)}% of pairs with "
            f"{_words(r.arm)} are still open at week {int(r.horizon)}."
            for r in horizon.itertuples(index=False)
        ]

    def learning_findings(self, estimates: pd.DataFrame) -> dict[str, list[str]]:
        """The default model's two-way learning against the reference: {heading: sentences}
        per estimand (monthly dose; frequency at equal monthly hours)."""
        titles = {m: f"Two-way learning, {e} (default model)" for m, e in ESTIMANDS.items()}
        ref, out = _words(self.params.reference), {}
        for mode, title in titles.items():
            found = [
                default_sentence(
                    r,
                    arm=_words(r["group"]),
                    reference=ref,
                    what=OUTCOMES[o],
                    scale=1.0,
                    unit="",
                    digits=3,
                )
                for o in ("mentee_gain", "mentor_gain")
                for r in self._rows(estimates, o, "difference", mode).to_dict("records")
            ]
            if found:
                out[title] = found
        return out

    @staticmethod
    def summary_for_report(summary: pd.DataFrame) -> pd.DataFrame:
        """The per-schedule summary with readable labels and rounding (text cells)."""
        from toolkit.report import fmt_number

        def num(column: str, digits: int, scale: float = 1.0) -> pd.Series:
            return (summary[column] * scale).map(lambda v: fmt_number(v, digits))

        return pd.DataFrame(
            {
                "schedule": summary.arm.map(_short),
                "meetings planned": summary.planned_meetings.astype(str),
                "minutes each": num("meeting_minutes", 0),
                "planned hours / month": num("planned_monthly_hours", 2),
                "completed (%)": num("completion", 1, 100),
                "meetings held": num("meetings_held", 1),
                "mentee hours": num("hours_mentee", 1),
                "mentee gain": num("mentee_gain", 3),
                "mentor gain": num("mentor_gain", 3),
                "quality": num("mean_quality", 2),
            }
        )

    def contrasts_for_report(self, estimates: pd.DataFrame) -> pd.DataFrame:
        """Each schedule against the reference: the differences and hazard ratios, readable."""
        return contrast_table(
            estimates,
            self.params.reference,
            label="schedule",
            names={a: _short(a) for a in self.plan.arm},
            outcomes={
                "completed": "completion",
                "mentee_gain": "mentee gain",
                "mentor_gain": "mentor gain",
                "hours_mentee": "mentee hours",
                "mean_quality": "quality",
                "closed early (not completed)": "",
            },
        )

    def mechanism_text(self) -> str:
        p = self.params
        return (
            f"{p.replicates} simulated programs per schedule, each with {self.cohort_words()}, "
            f"matched by the {p.policy} policy. Every schedule runs on the same cohort, "
            "matching and random draws (common random numbers), so differences are the "
            f"schedule's effect. Programs last {p.duration_weeks} weeks (the Hartford preset "
            "keeps its 21 weeks and 7 sessions); the reference schedule "
            f"({p.reference}) meets for {p.meeting_minutes:g} minutes. Matched-hours arms "
            "scale the meeting length so planned monthly hours equal the reference's. The "
            "week-by-week model (meetings held or missed, quality, two-way learning, "
            "engagement, fading and closure) runs under every plausible model of the "
            f"ensemble for the headlines ({p.n_models} models, {p.model_replicates} "
            "programs per arm and model) and under its default parameters for everything "
            "else. The program levers (" + ", ".join(scenario_inputs()) + ") are scenario "
            "inputs (set by the user), left at their defaults: no finding here is a "
            "lever's effect. Experiment specification fingerprint: "
            f"{self.spec.fingerprint}."
        )

    def performance_text(self, estimates: pd.DataFrame) -> str:
        """Monte Carlo error of the default model's completion contrasts, in words."""
        p = self.params
        rows = estimates[
            (estimates.outcome == "completed") & (estimates.effect == "risk_difference")
        ]
        pairs = f"{p.n_mentees} pairs" if p.roster is None else "the roster's pairs"
        return self.mc_error_text(
            rows.se.to_numpy() * 100,
            f"of {pairs} per schedule",
            " (four times the replicates halves it). It describes the "
            "default model's answers only.",
        )


STUDY = MeetingCadence.record()
