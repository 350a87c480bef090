"""Study ``meeting_cadence``: how often should pairs meet?

Weekly, biweekly, every 3 weeks, monthly, front-loaded and The Hartford's preset, compared
at their usual meeting length (unmatched hours) and with the meeting length scaled so
every arm plans the same monthly hours as the reference (matched hours). All arms share
the cohort, the matching and every per-pair random draw (common random numbers).

The notebook ``studies/meeting_cadence.ipynb`` calls these functions in order:
:func:`simulate`, :func:`analyse`, :func:`findings`, then the figures.

>>> p = Parameters.from_values(cadences=["weekly", "biweekly", "monthly"], hours="matched")
>>> plan_table(p)[["arm", "meeting_minutes"]].values.tolist()
[['biweekly', 60.0], ['weekly_matched', 30.0], ['monthly_matched', 111.4]]
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import Field, model_validator

from toolkit.errors import InvalidParameterError
from toolkit.studies._base import Study, StudyParameters

__all__ = ["CADENCE_ARMS", "STUDY", "Parameters", "analyse", "arms", "cohort",
           "check_robustness", "contrasts_for_report", "experiment", "headline_contrast",
           "robustness_for_report", "robustness_table", "estimates_for_sweep", "figures", "findings",
           "learning_findings", "limitations", "mechanism_text", "summary_for_report",
           "performance_text", "plan_table", "robustness_text", "simulate", "summary_table"]

Cadence = Literal["weekly", "biweekly", "every_3_weeks", "monthly", "front_loaded", "hartford"]
CADENCE_ARMS: tuple[str, ...] = ("weekly", "biweekly", "every_3_weeks", "monthly",
                                 "front_loaded", "hartford")
Policy = Literal["random", "greedy", "optimal", "stable", "mentee_choice", "maximin",
                 "max_participation", "diverse"]
LABELS = {"weekly": "weekly meetings", "biweekly": "biweekly meetings",
          "every_3_weeks": "meetings every 3 weeks", "monthly": "monthly meetings",
          "front_loaded": "front-loaded meetings (weekly for 4 weeks, then biweekly)",
          "hartford": "the Hartford preset (7 sessions every 3 weeks)"}
OUTCOMES = {"completed": "completion", "mentee_gain": "the mentee's digital gain",
            "mentor_gain": "the mentor's leadership gain", "hours_mentee": "hours spent per pair",
            "mean_quality": "relationship quality"}


class Parameters(StudyParameters):
    """Parameters of the meeting_cadence study."""

    study = "meeting_cadence"

    cadences: tuple[Cadence, ...] = Field(
        CADENCE_ARMS, min_length=2,
        description="Meeting schedules to compare (hartford = 7 sessions every 3 weeks, 21 weeks).")
    reference: Cadence = Field("biweekly", description="Schedule every other one is compared with.")
    hours: Literal["both", "unmatched", "matched"] = Field(
        "both", description="Compare at usual meeting length, at the reference's monthly hours, or both.")
    meeting_minutes: float = Field(60.0, gt=0, le=240,
                                   description="Meeting length of the reference schedule, minutes.")
    duration_weeks: int = Field(26, ge=4, le=104, description="Program length in weeks (hartford keeps 21).")
    n_mentors: int = Field(120, ge=2, le=5000, description="Mentors per synthetic cohort.")
    n_mentees: int = Field(100, ge=2, le=5000, description="Mentees per synthetic cohort (pairs).")
    replicates: int = Field(50, ge=1, le=2000, description="Simulated programs per schedule.")
    policy: Policy = Field("random", description="Matching policy used by every arm.")
    roster: str | None = Field(None, description="Roster CSV of real people instead of a synthetic cohort.")
    robustness: bool = Field(True, description="Check the headline contrast over the model's "
                             "assumption ranges (Morris screening).")
    robustness_trajectories: int = Field(2, ge=2, le=50, description="Morris trajectories of the "
                                         "robustness check (more: finer, slower).")

    @model_validator(mode="after")
    def _reference_is_compared(self) -> Parameters:
        if self.reference not in self.cadences:
            raise InvalidParameterError(
                f"The 'reference' parameter of study meeting_cadence must be one of the compared "
                f"cadences ({', '.join(map(repr, self.cadences))}); got {self.reference!r}.")
        plan_table(self)  # refuses a matched meeting length above 240 minutes
        return self


def _design(cadence: str, params: Parameters, minutes: float | None = None):
    from toolkit.program import ProgramDesign, preset

    if cadence == "hartford":
        return preset("hartford") if minutes is None else preset("hartford", meeting_minutes=minutes)
    return ProgramDesign(cadence=cadence, duration_weeks=params.duration_weeks,
                         meeting_minutes=params.meeting_minutes if minutes is None else minutes)


def _monthly_hours(design) -> float:
    from toolkit.program import program_schedule

    meetings = len(program_schedule(design).meeting_week_numbers())
    return meetings * design.meeting_minutes / 60 / design.duration_weeks * 52 / 12


def plan_table(params: Parameters) -> pd.DataFrame:
    """One row per arm: cadence, hours mode, planned meetings, minutes, planned monthly hours.

    Matched arms scale ``meeting_minutes`` so planned monthly hours equal the reference's
    (rounded to 0.1 minute); a matched length above 240 minutes is refused.
    """
    from toolkit.program import program_schedule

    ref = _design(params.reference, params)
    target = _monthly_hours(ref)
    rows = []
    modes = ["unmatched", "matched"] if params.hours == "both" else [params.hours]
    for mode in modes:
        for cadence in params.cadences:
            if mode == "matched" and cadence == params.reference:
                if params.hours == "both":
                    continue  # the reference arm is the same in both modes
                design, arm = ref, cadence
            elif mode == "matched":
                base = _design(cadence, params)
                minutes = round(base.meeting_minutes * target / _monthly_hours(base), 1)
                if minutes > 240:
                    raise InvalidParameterError(
                        f"The 'meeting_minutes' parameter of study meeting_cadence must be small "
                        f"enough that matched {cadence} meetings last at most 240 minutes; got "
                        f"{params.meeting_minutes!r} ({minutes:g} minutes per meeting).")
                design, arm = _design(cadence, params, minutes), f"{cadence}_matched"
            else:
                design, arm = _design(cadence, params), cadence
            rows.append({"arm": arm, "cadence": cadence, "hours": mode,
                         "planned_meetings": len(program_schedule(design).meeting_week_numbers()),
                         "meeting_minutes": float(design.meeting_minutes),
                         "duration_weeks": design.duration_weeks,
                         "planned_monthly_hours": round(_monthly_hours(design), 3)})
    if params.hours == "both":  # the shared reference sits first among the matched arms too
        rows.sort(key=lambda r: (r["hours"] == "matched", r["arm"] != params.reference))
    else:
        rows.sort(key=lambda r: r["arm"] != params.reference)
    return pd.DataFrame(rows)


def arms(params: Parameters) -> dict:
    """The experiment's arms (name -> Arm), in plan order."""
    from toolkit.experiment import Arm

    plan = plan_table(params)
    out = {}
    for row in plan.itertuples(index=False):
        minutes = None if row.hours == "unmatched" or row.arm == params.reference else row.meeting_minutes
        out[row.arm] = Arm(params.policy, _design(row.cadence, params, minutes))
    return out


def cohort(params: Parameters):
    """A CohortSpec (synthetic, a fresh cohort per replicate) or the roster file."""
    from toolkit.cohort import CohortSpec
    from toolkit.experiment import RosterSource

    if params.roster is not None:
        return RosterSource(params.roster)
    return CohortSpec(n_mentors=params.n_mentors, n_mentees=params.n_mentees)


def experiment(params: Parameters):
    """The study's :class:`~toolkit.experiment.ExperimentSpec` (cohort, arms, replicates, seed)."""
    from toolkit.experiment import ExperimentSpec

    return ExperimentSpec(cohort=cohort(params), arms=arms(params),
                          replicates=params.replicates, seed=params.seed)


def simulate(params: Parameters) -> pd.DataFrame:
    """Run every arm over the replicates; the outcomes table without participant ids."""
    from toolkit.experiment import run_experiment

    res = run_experiment(experiment(params), progress=False, tables=("outcomes",))
    out = res.outcomes.drop(columns=["mentee_id", "mentor_id"])
    out["arm"] = out["arm"].astype(str)
    return out


def _mode_sets(params: Parameters, plan: pd.DataFrame) -> dict[str, list[str]]:
    sets = {}
    for mode in ("unmatched", "matched"):
        names = plan.loc[plan.hours == mode, "arm"].tolist()
        if names:
            if params.reference not in names:
                names = [params.reference, *names]
            sets[mode] = names
    return sets


def analyse(outcomes: pd.DataFrame, params: Parameters) -> pd.DataFrame:
    """Estimates per hours mode: compare_arms for each outcome and retention, against the
    reference (Holm-adjusted within each outcome and mode; clustered by replicate)."""
    from toolkit.analysis import compare_arms, retention

    plan = plan_table(params)
    parts = []
    for mode, names in _mode_sets(params, plan).items():
        sub = outcomes[outcomes.arm.isin(names)].copy()
        sub["arm"] = pd.Categorical(sub["arm"], categories=names)
        for outcome in OUTCOMES:
            if sub[outcome].nunique() < 2:
                continue
            est = compare_arms(sub, outcome, reference=params.reference)
            parts.append(est.assign(hours=mode))
        if (~sub.completed).any():
            parts.append(retention(sub, reference=params.reference).assign(hours=mode))
    frame = pd.concat(parts, ignore_index=True)
    frame["group"] = frame["group"].astype("string")
    frame["reference"] = frame["reference"].astype("string")
    return frame


def summary_table(outcomes: pd.DataFrame, params: Parameters) -> pd.DataFrame:
    """Per arm: the plan, then mean completion, gains, hours and quality."""
    means = (outcomes.groupby("arm", sort=False)
             .agg(pairs=("completed", "size"), completion=("completed", "mean"),
                  meetings_held=("meetings_held", "mean"), hours_mentee=("hours_mentee", "mean"),
                  mentee_gain=("mentee_gain", "mean"), mentor_gain=("mentor_gain", "mean"),
                  mean_quality=("mean_quality", "mean"))
             .reset_index())
    return plan_table(params).merge(means, on="arm", how="left")


def _label(arm: str) -> str:
    if arm.endswith("_matched"):
        return LABELS[arm.removesuffix("_matched")] + " at matched hours"
    return LABELS.get(arm, arm)


SHORT = {"weekly": "weekly", "biweekly": "biweekly", "every_3_weeks": "every 3 weeks",
         "monthly": "monthly", "front_loaded": "front-loaded", "hartford": "Hartford"}


def _short(arm: str) -> str:
    if arm.endswith("_matched"):
        return SHORT[arm.removesuffix("_matched")] + " (matched hours)"
    return SHORT.get(arm, arm)


def _labels(params: Parameters) -> dict[str, str]:
    names = plan_table(params)["arm"].tolist()
    return {a: _label(a) for a in names}


def _contrasts(estimates: pd.DataFrame, outcome: str, effect: str, mode: str,
               reference: str) -> pd.DataFrame:
    """Rows of one effect of one outcome in one hours mode, each arm against the reference."""
    return estimates[(estimates.outcome == outcome) & (estimates.effect == effect)
                     & (estimates.hours == mode) & (estimates.reference == reference)]


def findings(estimates: pd.DataFrame, params: Parameters) -> list[str]:
    """The headline: completion of each schedule against the reference, first at usual
    meeting lengths, then at matched monthly hours."""
    from toolkit.report import sentence

    labels = _labels(params)
    out = []
    for mode in ("unmatched", "matched"):
        rows = _contrasts(estimates, "completed", "risk_difference", mode, params.reference)
        out += [sentence(r, outcome="completion", labels=labels) for r in rows.to_dict("records")]
    if not out:
        out.append("Completion could not be compared: every schedule had the same completion "
                   "in every simulated pair (too few pairs or replicates to tell them apart).")
    return out


def learning_findings(estimates: pd.DataFrame, params: Parameters) -> dict[str, list[str]]:
    """Two-way learning against the reference: {heading: sentences} per hours mode."""
    from toolkit.report import sentence

    labels = _labels(params)
    out = {}
    titles = {"unmatched": "Two-way learning at usual meeting lengths",
              "matched": "Two-way learning at matched monthly hours"}
    for mode in ("unmatched", "matched"):
        found = []
        for outcome in ("mentee_gain", "mentor_gain"):
            rows = _contrasts(estimates, outcome, "difference", mode, params.reference)
            found += [sentence(r, outcome=OUTCOMES[outcome], labels=labels, digits=3)
                      for r in rows.to_dict("records")]
        if found:
            out[titles[mode]] = found
    return out


def summary_for_report(summary: pd.DataFrame) -> pd.DataFrame:
    """The per-schedule summary with readable labels and rounding (text cells)."""
    from toolkit.report import fmt_number

    return pd.DataFrame({
        "schedule": summary.arm.map(_short), "meetings planned": summary.planned_meetings.astype(str),
        "minutes each": summary.meeting_minutes.map(lambda v: fmt_number(v, 0)),
        "planned hours / month": summary.planned_monthly_hours.map(lambda v: fmt_number(v, 2)),
        "completed (%)": (summary.completion * 100).map(lambda v: fmt_number(v, 1)),
        "meetings held": summary.meetings_held.map(lambda v: fmt_number(v, 1)),
        "mentee hours": summary.hours_mentee.map(lambda v: fmt_number(v, 1)),
        "mentee gain": summary.mentee_gain.map(lambda v: fmt_number(v, 3)),
        "mentor gain": summary.mentor_gain.map(lambda v: fmt_number(v, 3)),
        "quality": summary.mean_quality.map(lambda v: fmt_number(v, 2)),
    })


def contrasts_for_report(estimates: pd.DataFrame, params: Parameters) -> pd.DataFrame:
    """Each schedule against the reference: the differences and hazard ratios, readable."""
    from toolkit.report import fmt_number, fmt_p

    keep = estimates[(estimates.reference == params.reference)
                     & estimates.effect.isin(["risk_difference", "difference", "hazard_ratio"])]
    scale = keep.effect.map({"risk_difference": 100.0}).fillna(1.0).to_numpy()
    digits = [1 if e == "risk_difference" else 2 if e == "hazard_ratio" else 3 for e in keep.effect]
    what = {"completed": "completion (points)", "mentee_gain": "mentee gain",
            "mentor_gain": "mentor gain", "hours_mentee": "mentee hours",
            "mean_quality": "quality"}
    return pd.DataFrame({
        "schedule": keep.group.map(_short).to_numpy(),
        "outcome": [("closing early (hazard ratio)" if e == "hazard_ratio" else what.get(o, o))
                    for o, e in zip(keep.outcome, keep.effect, strict=True)],
        "estimate": [fmt_number(v, d) for v, d in zip(keep.estimate * scale, digits, strict=True)],
        "95% CI": [f"{fmt_number(a, d)} to {fmt_number(b, d)}" for a, b, d in
                   zip(keep.ci_low * scale, keep.ci_high * scale, digits, strict=True)],
        "p (Holm)": [fmt_p(p).removeprefix("p = ").replace("p < ", "< ") for p in keep.p_value],
    })


def figures(estimates: pd.DataFrame, params: Parameters) -> list[tuple]:
    """(figure, name, caption) for each figure of the report."""
    from toolkit.plots import forest_plot

    out = []
    labels = _labels(params)
    for outcome, effect, unit, what in (("completed", "risk_difference", "", "completion"),
                                        ("mentee_gain", "difference", "skill points", "mentee gain")):
        rows = estimates[(estimates.outcome == outcome) & (estimates.effect == effect)
                         & estimates.reference.notna() & (estimates.reference == params.reference)]
        if rows.empty:
            continue
        rows = rows.assign(group=rows.group.map(_short), reference=rows.reference.map(_short))
        if effect == "risk_difference":
            rows = rows.assign(estimate=rows.estimate * 100, ci_low=rows.ci_low * 100,
                               ci_high=rows.ci_high * 100)
            unit = "percentage points"
        fig = forest_plot(rows, effect=effect, outcome_label=what, unit=unit,
                          title=f"Difference in {what} from {labels[params.reference]}")
        out.append((fig, f"{outcome}_{effect}",
                    f"Difference in {what} of each schedule from {labels[params.reference]}, "
                    "with 95% confidence intervals (Holm-adjusted within each hours mode). "
                    "A point right of the dashed line means more than the reference."))
    return out


def estimates_for_sweep(run_dir: str | Path) -> pd.DataFrame:
    """Headline numbers of a run for a sweep: completion difference of each arm from the
    reference (percentage points), with 95% CIs."""
    import json

    run_dir = Path(run_dir)
    reference = json.loads((run_dir / "manifest.json").read_text())["parameters"]["reference"]
    est = pd.read_parquet(run_dir / "tables" / "estimates.parquet")
    rows = est[(est.outcome == "completed") & (est.effect == "risk_difference")
               & (est.reference == reference)]
    return pd.DataFrame({
        "estimate_name": [f"completion: {g} vs {r} (points)" for g, r in zip(rows.group, rows.reference, strict=True)],
        "estimate": rows.estimate.to_numpy() * 100, "ci_low": rows.ci_low.to_numpy() * 100,
        "ci_high": rows.ci_high.to_numpy() * 100})


def headline_contrast(params: Parameters) -> tuple[str, str]:
    """(arm, reference) of the contrast the robustness check examines: the first compared
    schedule at usual meeting lengths (matched hours when only those are run)."""
    plan = plan_table(params)
    others = plan[plan.arm != params.reference]
    first = others[others.hours == ("matched" if params.hours == "matched" else "unmatched")]
    return str(first.arm.iloc[0]), params.reference


def check_robustness(params: Parameters):
    """Completion of the headline contrast across the assumption ranges
    (:func:`toolkit.sensitivity.robustness` on the two arms), or None when switched off
    or unavailable in this version."""
    if not params.robustness:
        return None
    from toolkit.experiment import ExperimentSpec
    from toolkit.studies._base import robustness_check

    arm, reference = headline_contrast(params)
    full = experiment(params)
    spec = ExperimentSpec(cohort=full.cohort, arms={reference: full.arms[reference],
                                                    arm: full.arms[arm]},
                          replicates=params.replicates, seed=params.seed)
    try:
        from toolkit.sensitivity import Contrast
    except ImportError:
        return None
    return robustness_check(spec, Contrast(arm, reference, "completed"),
                            trajectories=params.robustness_trajectories, seed=params.seed)


def robustness_text(result: object, params: Parameters | None = None) -> str:
    """The robustness sentence shown with the findings."""
    from toolkit.studies._base import ROBUSTNESS_UNAVAILABLE

    if result is None:
        if params is not None and not params.robustness:
            return ("Robustness check not run (robustness=false): the findings hold for the "
                    "model's default assumptions only.")
        return ROBUSTNESS_UNAVAILABLE
    arm, reference = result.contrast.arm, result.contrast.reference
    verdict = {"robust": "holds over", "no effect": "shows no effect anywhere in",
               "depends on assumptions": "depends on"}.get(result.verdict, result.verdict)
    lead = (f"Robustness: the completion difference between {_label(arm)} and "
            f"{_label(reference)} {verdict} the plausible ranges of the model's "
            f"{len(result.ranges)} assumption parameters ({len(result.points) - 1} sampled "
            "points, Morris screening).")
    return f"{lead} Details: {result.sentence()}"


def robustness_for_report(result: object, top: int = 8) -> pd.DataFrame:
    """The most influential assumptions of the robustness check, readable (text cells)."""
    from toolkit.report import fmt_number

    frame = result.to_frame().head(top)
    return pd.DataFrame({
        "assumption": frame.parameter.to_numpy(),
        "range explored": [f"{fmt_number(a, 3)} to {fmt_number(b, 3)}"
                           for a, b in zip(frame.low, frame.high, strict=True)],
        "influence on completion (points, mu*)": (frame.mu_star * 100).map(lambda v: fmt_number(v, 1)).to_numpy(),
        "direction (mu)": ["raises" if m > 0 else "lowers" for m in frame.mu],
        "driver": ["yes" if d else "no" for d in frame.driver],
    })


def robustness_table(result: object) -> pd.DataFrame | None:
    """The robustness check's parameter indices with ranges and drivers (None if not run)."""
    return None if result is None else result.to_frame()


def mechanism_text(params: Parameters) -> str:
    """The data-generating mechanism in words, for the methods section."""
    who = ("the people of a real roster (the same cohort in every replicate, matched anew)"
           if params.roster is not None else
           f"a fresh synthetic cohort of {params.n_mentors} mentors and {params.n_mentees} "
           "mentees per replicate")
    return (f"{params.replicates} simulated programs per schedule, each with {who}, matched by "
            f"the {params.policy} policy. Every schedule runs on the same cohort, matching and "
            "random draws (common random numbers), so differences are the schedule's effect. "
            f"Programs last {params.duration_weeks} weeks (the Hartford preset keeps its 21 weeks "
            f"and 7 sessions); the reference schedule ({params.reference}) meets for "
            f"{params.meeting_minutes:g} minutes. Matched-hours arms scale the meeting length so "
            "planned monthly hours equal the reference's. The week-by-week model (meetings held "
            "or missed, quality, two-way learning, engagement, fading and closure) runs with its "
            "default, calibrated parameters. Experiment specification fingerprint: "
            f"{experiment(params).fingerprint}.")


def performance_text(params: Parameters, estimates: pd.DataFrame) -> str:
    """Monte Carlo error of the completion contrasts, in words."""
    from toolkit.report import fmt_number

    rows = estimates[(estimates.outcome == "completed") & (estimates.effect == "risk_difference")]
    se = rows.se.to_numpy() * 100
    span = (f"{fmt_number(se.min(), 2)} to {fmt_number(se.max(), 2)} points" if len(se)
            else "not available")
    pairs = f"{params.n_mentees} pairs" if params.roster is None else "the roster's pairs"
    return (f"All uncertainty here is Monte Carlo error from {params.replicates} replicates of "
            f"{pairs} per schedule. "
            f"The standard error of the completion differences is {span}; it shrinks with the "
            "square root of the number of replicates (four times the replicates halves it).")


def limitations(params: Parameters) -> list[str]:
    """The assumptions the findings depend on."""
    out = [
        "The numbers come from a simulation model, not from observed programs: they are as "
        "good as its assumptions about how often meetings happen, how quality and learning "
        "grow with each meeting, and how pairs fade and close.",
        "Model parameters where the literature is silent are assumptions with plausible "
        "ranges; the robustness check covers one contrast (the first schedule against the "
        "reference, on completion), not every finding.",
        "Completion means still active at the end of the program; the Hartford preset's "
        "program is 21 weeks, so its completion is measured over a shorter time than the "
        "other schedules'.",
        "Matched-hours arms change the meeting length only; the model treats a long meeting "
        "like a short one in every respect other than hours spent.",
    ]
    if params.roster is not None:
        out.append("With a real roster every replicate uses the same people, so the intervals "
                   "describe this roster, not programs in general.")
    return out


STUDY = Study(
    name="meeting_cadence",
    title="How often should pairs meet?",
    question=("Which meeting schedule (weekly, biweekly, every 3 weeks, monthly, front-loaded, "
              "or the Hartford preset) gives the most completed pairs and the largest two-way "
              "learning, at usual meeting lengths and at matched monthly hours?"),
    parameters=Parameters,
    notebook=Path(__file__).resolve().parents[2] / "studies" / "meeting_cadence.ipynb",
    estimates=estimates_for_sweep,
    inputs=("roster",),
)
