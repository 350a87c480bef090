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
    arm_means,
    as_strings,
    compare_outcomes,
    contrast_table,
    contrasts,
    readable,
)
from toolkit.studies._params import Choice, CohortGroup, ModelsGroup, Policy, RosterGroup, cadences
from toolkit.studies._words import default_sentences, outcome_names

__all__ = ["STUDY", "MeetingCadence", "Parameters", "plan_table"]

SHORT = {c: c.replace("_", " ") for c in ("weekly", "biweekly", "every_3_weeks", "monthly")}
SHORT.update(front_loaded="front-loaded", hartford="Hartford")
LABELS = {k: f"{v} meetings" for k, v in SHORT.items()} | {
    "every_3_weeks": "meetings every 3 weeks",
    "front_loaded": "front-loaded meetings (weekly for 4 weeks, then biweekly)",
    "hartford": "the Hartford preset (7 sessions every 3 weeks)",
}
OUTCOMES = outcome_names("completed", "mentee_gain", "mentor_gain", "hours_mentee", "mean_quality")
MAX_MINUTES = 240
HARTFORD = " (a 21-week program: see the outcomes at week 21)"
#: Outcome -> words in the readable contrasts ("": the retention rows under their own name).
REPORT_OUTCOMES = {"completed": "completion", "mentee_gain": "mentee gain"}
REPORT_OUTCOMES |= {"mentor_gain": "mentor gain", "hours_mentee": "mentee hours"}
REPORT_OUTCOMES |= {"mean_quality": "quality", "closed early (not completed)": ""}
#: The readable summary: column -> (header, digits; None: as text).
SUMMARY_COLUMNS = {
    "arm": ("schedule", None),
    "planned_meetings": ("meetings planned", None),
    "meeting_minutes": ("minutes each", 0),
    "planned_monthly_hours": ("planned hours / month", 2),
    "completion": ("completed (%)", 1),
    "meetings_held": ("meetings held", 1),
    "hours_mentee": ("mentee hours", 1),
    "mentee_gain": ("mentee gain", 3),
    "mentor_gain": ("mentor gain", 3),
    "mean_quality": ("quality", 2),
}
MEANS = tuple(SUMMARY_COLUMNS)[4:]  # the summary's means over pairs
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

    compared = {"reference": "cadences"}

    @model_validator(mode="after")
    def _matched_minutes(self) -> Parameters:
        plan_table(self)  # refuses a matched meeting length above MAX_MINUTES
        return self


def _design(cadence: str, params: Parameters, minutes: float | None = None) -> Any:
    from toolkit.program import ProgramDesign, preset

    if cadence == "hartford":
        return preset("hartford", **({} if minutes is None else {"meeting_minutes": minutes}))
    minutes = params.meeting_minutes if minutes is None else minutes
    return ProgramDesign(
        cadence=cadence, duration_weeks=params.duration_weeks, meeting_minutes=minutes
    )


def _meetings(design: Any) -> int:
    from toolkit.program import program_schedule

    return len(program_schedule(design).meeting_week_numbers())


def _monthly_hours(design: Any) -> float:
    return _meetings(design) * design.meeting_minutes / 60 / design.duration_weeks * 52 / 12


@functools.lru_cache(maxsize=32)
def plan_table(params: Parameters) -> pd.DataFrame:
    """One row per arm: cadence, hours mode, planned meetings, minutes, planned monthly hours
    (built once per parameters and process). Matched arms scale ``meeting_minutes`` so planned
    monthly hours equal the reference's (to 0.1 minute); above 240 minutes is refused."""
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
    # the reference first (in "both" mode also first among the matched arms: it is shared)
    rows.sort(key=lambda r: (r["hours"] == "matched", r["arm"] != params.reference))
    return pd.DataFrame(rows)


def _label(arm: str, names: dict = LABELS, matched: str = " at equal monthly hours") -> str:
    base = arm.removesuffix("_matched")
    return names.get(base, base) + (matched if base != arm else "")


def _short(arm: str) -> str:
    return _label(arm, SHORT, " (equal monthly hours)")


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
        "they are as good as its assumptions about how often meetings happen, how quality and "
        "learning grow with each meeting, and how pairs fade and close."
    )
    notes = (
        "Completion means still active at the end of the program; the Hartford preset's program is "
        "21 weeks, so it is compared with the others at a common horizon (outcomes at week 21: the "
        "share of pairs still open after week 21), never by completion at different program ends.",
        "Matched-hours arms change the meeting length only; the model treats a long meeting "
        "like a short one in every respect other than hours spent.",
    )

    @cached_property
    def plan(self) -> pd.DataFrame:
        return plan_table(self.params)

    @cached_property
    def labels(self) -> dict[str, str]:
        return {a: _label(a) for a in self.plan["arm"]}  # names in the headlines

    def arms(self) -> dict[str, Any]:
        from toolkit.experiment import Arm

        p, plan = self.params, self.plan
        scaled = (plan.hours == "matched") & (plan.arm != p.reference)
        return {  # matched arms other than the reference at their scaled length
            r.arm: Arm(p.policy, _design(r.cadence, p, r.meeting_minutes if m else None))
            for r, m in zip(plan.itertuples(index=False), scaled, strict=True)
        }

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
        return [self.headline(a, p.reference, outcome=self._outcome(a)) for a in order]

    derive_inputs = ("closed_week",)

    def derive(self, outcomes: pd.DataFrame) -> pd.DataFrame:
        """The outcomes with the share still open at the common horizon (a column)."""
        closed = outcomes["closed_week"].astype("float").fillna(float("inf"))
        return outcomes.assign(**{f"open_at_week_{self.horizon}": closed > self.horizon})

    def arm_words(self, arm: str) -> str:
        return _words(arm)

    @staticmethod
    def outcome_words(headline: Any) -> dict[str, Any]:
        words = dict(BaseStudy.outcome_words(headline))
        if headline.outcome.startswith("open_at_week_"):  # a share of pairs, like completion
            week = headline.outcome.removeprefix("open_at_week_")
            words.update(unit="points", scale=100.0, higher_is_better=True)
            words.update(more=f"keeps more pairs open at week {week}")
            words.update(less=f"keeps fewer pairs open at week {week}")
        return words

    def simulate_tables(self) -> Any:
        """The ExperimentResult with the outcomes, events and weeks tables."""
        return self.run(("outcomes", "events", "weeks"))

    def horizon_table(self, result: Any) -> pd.DataFrame:
        """Outcomes at week ``horizon`` per arm (``toolkit.analysis.at_horizon``): the share
        still open, closures per 100 pair-weeks and meetings held by then."""
        from toolkit.analysis import at_horizon

        outcomes = result.outcomes.assign(arm=result.outcomes["arm"].astype(str))
        out = at_horizon(outcomes, self.horizon, durations=self.durations, weeks=result.weeks)
        out["arm"] = out["arm"].astype(str)
        return out

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
        means = arm_means(outcomes, "arm", *MEANS, pairs=("completed", "size"))
        return self.plan.merge(means.reset_index(), on="arm", how="left")

    def findings(self, estimates: pd.DataFrame) -> list[str]:
        """The default model's answers: completion of each schedule against the reference,
        first the monthly dose (usual meeting lengths), then frequency at equal monthly
        hours (a 21-week Hartford arm points to the outcomes at week 21)."""
        ref, out = self.params.reference, []
        for mode in ESTIMANDS:
            for arm in contrasts(
                estimates, "completed", "risk_difference", hours=mode, reference=ref
            ).group:
                what = {"completed": "completion" + HARTFORD * arm.startswith("hartford")}
                out += default_sentences(estimates, what, _words, ref, hours=mode, group=arm)
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
        gains = {o: OUTCOMES[o] for o in ("mentee_gain", "mentor_gain")}
        out = {
            f"Two-way learning, {e} (default model)": default_sentences(
                estimates, gains, _words, self.params.reference, hours=mode
            )
            for mode, e in ESTIMANDS.items()
        }
        return {k: v for k, v in out.items() if v}

    @staticmethod
    def summary_for_report(summary: pd.DataFrame) -> pd.DataFrame:
        """The per-schedule summary with readable labels and rounding (text cells)."""
        return readable(
            summary.assign(arm=summary.arm.map(_short), completion=summary.completion * 100),
            SUMMARY_COLUMNS,
        )

    def contrasts_for_report(self, estimates: pd.DataFrame) -> pd.DataFrame:
        """Each schedule against the reference: the differences and hazard ratios, readable."""
        return contrast_table(
            estimates,
            self.params.reference,
            label="schedule",
            names={a: _short(a) for a in self.plan.arm},
            outcomes=REPORT_OUTCOMES,
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
            "scale the meeting length so planned monthly hours equal the reference's. "
            f"{self.models_words('arm')} {self.levers_words()} Experiment specification "
            f"fingerprint: {self.spec.fingerprint}."
        )

    def performance_text(self, estimates: pd.DataFrame) -> str:
        """Monte Carlo error of the default model's completion contrasts, in words."""
        p = self.params
        pairs = f"{p.n_mentees} pairs" if p.roster is None else "the roster's pairs"
        return self.completion_error_text(
            estimates,
            f"of {pairs} per schedule",
            " (four times the replicates halves it). It describes the default model's "
            "answers only.",
        )


STUDY = MeetingCadence.record()
