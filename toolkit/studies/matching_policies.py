"""Study ``matching_policies``: which matching policy should a program use?

The eight policies of :data:`toolkit.matching.POLICIES` match one cohort (a synthetic one
drawn from the study seed, or the people of a real roster) and run one program design.
Every replicate re-matches the same people (the random policy draws new pairs; the others
break ties anew) and re-runs the program, with common random numbers across policies.

Names, e-mails and free text of a roster never reach a table or the report: the tables
carry no participant columns, and example pairs from a roster are shown by position
("mentee 3", "mentor 12"), never by id or name.

The notebook ``studies/matching_policies.ipynb`` calls :func:`simulate`, :func:`analyse`,
:func:`findings`, then the tables and figures.

>>> p = Parameters.from_values(policies=["random", "optimal"], replicates=2)
>>> sorted(arms(p))
['optimal', 'random']
>>> arms(p)["optimal"].match.capacity
1
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import Field, model_validator

from toolkit.errors import InvalidParameterError
from toolkit.studies._base import Study, StudyParameters
from toolkit.studies._common import (
    POLICIES,
    Cadence,
    Policy,
    check_contrast,
    contrast_summary,
    contrast_table,
    contrasts,
    notebook_path,
    one_cohort,
    robustness_table,
    sweep_rows,
)

__all__ = ["STUDY", "MatchingResult", "Parameters", "analyse", "arms", "check_robustness",
           "contrasts_for_report", "estimates_for_sweep", "example_pairs", "fairness_gaps",
           "fairness_table", "figures", "findings", "headline_contrast", "limitations",
           "matching_table", "mechanism_text", "more_findings", "performance_text",
           "robustness_table", "robustness_text", "simulate", "spec", "summary_table"]

OUTCOMES = {"completed": "completion", "mean_quality": "relationship quality",
            "satisfaction_mentee": "the mentee's satisfaction",
            "satisfaction_mentor": "the mentor's satisfaction",
            "mentee_gain": "the mentee's digital gain",
            "mentor_gain": "the mentor's leadership gain"}
COMPONENT_COLUMNS = ("score_complementarity_mentee", "score_complementarity_mentor",
                     "score_deep_similarity", "score_surface_similarity",
                     "score_shared_interests", "score_schedule_fit")
GroupColumn = Literal["gender", "generation", "department", "location"]


class Parameters(StudyParameters):
    """Parameters of the matching_policies study."""

    study = "matching_policies"

    policies: tuple[Policy, ...] = Field(
        POLICIES, min_length=2, description="Matching policies to compare (toolkit.matching.POLICIES).")
    reference: Policy = Field("random", description="Policy every other one is compared with.")
    weights: Literal["balanced", "skills_first", "similarity_first", "diversity"] = Field(
        "balanced", description="Compatibility weight profile every policy scores pairs with.")
    capacity: int = Field(1, ge=1, le=10, description="Most mentees a mentor may have at once.")
    cadence: Cadence = Field("biweekly", description="Meeting schedule of the one program design.")
    duration_weeks: int = Field(26, ge=4, le=104, description="Program length in weeks.")
    n_mentors: int = Field(120, ge=2, le=5000, description="Mentors in the synthetic cohort.")
    n_mentees: int = Field(100, ge=2, le=5000, description="Mentees in the synthetic cohort.")
    replicates: int = Field(50, ge=1, le=2000,
                            description="Simulated programs per policy (the same people each time).")
    group_by: GroupColumn = Field("gender", description="Mentee groups compared for fairness.")
    examples: int = Field(2, ge=0, le=20, description="Explained example pairs shown per policy.")
    roster: str | None = Field(None, description="Roster CSV of real people instead of a synthetic cohort.")
    robustness: bool = Field(True, description="Check the headline contrast over the model's "
                             "assumption ranges (Morris screening).")
    robustness_trajectories: int = Field(2, ge=2, le=50, description="Morris trajectories of the "
                                         "robustness check (more: finer, slower).")

    @model_validator(mode="after")
    def _reference_is_compared(self) -> Parameters:
        if self.reference not in self.policies:
            raise InvalidParameterError(
                f"The 'reference' parameter of study matching_policies must be one of the "
                f"compared policies ({', '.join(map(repr, self.policies))}); got {self.reference!r}.")
        return self


def _order(params: Parameters) -> list[str]:
    return [params.reference, *[p for p in params.policies if p != params.reference]]


def arms(params: Parameters) -> dict:
    """The experiment's arms (policy name -> Arm), the reference first."""
    from toolkit.experiment import Arm, MatchSpec
    from toolkit.program import ProgramDesign

    design = ProgramDesign(cadence=params.cadence, duration_weeks=params.duration_weeks)
    return {p: Arm(MatchSpec(p, weights=params.weights, capacity=params.capacity), design)
            for p in _order(params)}


def spec(params: Parameters, cohort=None):
    """The ExperimentSpec: the one cohort (a roster as data; a synthetic cohort in memory)."""
    from toolkit.experiment import ExperimentSpec, RosterSource

    if cohort is None:
        cohort = (RosterSource(params.roster) if params.roster is not None
                  else one_cohort(None, params.n_mentors, params.n_mentees, params.seed))
    return ExperimentSpec(cohort=cohort, arms=arms(params), replicates=params.replicates,
                          seed=params.seed)


@dataclass(frozen=True)
class MatchingResult:
    """What :func:`simulate` returns: per-pair outcomes and matched pairs over replicates
    (with the mentee's group instead of any id), and one matching per policy."""

    outcomes: pd.DataFrame
    pairs: pd.DataFrame
    matchings: dict


def _groups(cohort, column: str) -> pd.Series:
    people = cohort.mentees
    if column not in people.columns:
        return pd.Series("unspecified", index=people["participant_id"].astype(str))
    return pd.Series(people[column].astype(str).to_numpy(),
                     index=people["participant_id"].astype(str).to_numpy())


def simulate(params: Parameters) -> MatchingResult:
    """Match and run every policy over the replicates; one matching per policy on the cohort
    (for matching metrics and explained pairs). Tables hold no participant ids."""
    from toolkit._seeding import int_seed
    from toolkit.experiment import run_experiment
    from toolkit.matching import match

    cohort = one_cohort(params.roster, params.n_mentors, params.n_mentees, params.seed)
    res = run_experiment(spec(params, cohort), progress=False, tables=("outcomes", "pairs"))
    group = _groups(cohort, params.group_by)
    outcomes = res.outcomes.assign(
        group=group.reindex(res.outcomes["mentee_id"].astype(str)).to_numpy(),
        arm=res.outcomes["arm"].astype(str)).drop(columns=["mentee_id", "mentor_id"])
    pairs = res.pairs.assign(group=group.reindex(res.pairs["mentee_id"].astype(str)).to_numpy(),
                             policy=res.pairs["matching"].astype(str).str.split(" ").str[0])
    pairs = pairs.drop(columns=["mentee_id", "mentor_id", "matching"])
    matchings = {p: match(cohort, p, weights=params.weights, capacity=params.capacity,
                          seed=int_seed(params.seed, "study", "example_matching"),
                          strict=False, group_by=params.group_by
                          if params.group_by in cohort.mentees.columns else None)
                 for p in _order(params)}
    return MatchingResult(outcomes=outcomes, pairs=pairs, matchings=matchings)


def analyse(result: MatchingResult, params: Parameters) -> pd.DataFrame:
    """compare_arms of every outcome (policies against the reference, Holm-adjusted within
    each outcome, clustered by replicate when there are 10 or more)."""
    from toolkit.analysis import compare_arms

    data = result.outcomes.copy()
    data["arm"] = pd.Categorical(data["arm"], categories=_order(params))
    parts = [compare_arms(data, outcome, reference=params.reference)
             for outcome in OUTCOMES if data[outcome].astype(float).nunique() > 1]
    frame = pd.concat(parts, ignore_index=True)
    frame["group"] = frame["group"].astype("string")
    frame["reference"] = frame["reference"].astype("string")
    return frame


def summary_table(result: MatchingResult, params: Parameters) -> pd.DataFrame:
    """Per policy: compatibility and its components, then the mean outcomes of the pairs."""
    comps = (result.pairs.groupby("policy", sort=False)[["score", *COMPONENT_COLUMNS]].mean()
             .rename(columns={"score": "compatibility"}))
    comps.columns = [c.removeprefix("score_") for c in comps.columns]
    outs = (result.outcomes.groupby("arm", sort=False)
            .agg(pairs_per_program=("pair_id", "size"), completion=("completed", "mean"),
                 mean_quality=("mean_quality", "mean"),
                 satisfaction_mentee=("satisfaction_mentee", "mean"),
                 satisfaction_mentor=("satisfaction_mentor", "mean"),
                 mentee_gain=("mentee_gain", "mean"), mentor_gain=("mentor_gain", "mean")))
    outs["pairs_per_program"] = outs["pairs_per_program"] / params.replicates
    out = comps.join(outs, how="outer").reindex(_order(params))
    return out.rename_axis("policy").reset_index()


def contrasts_for_report(estimates: pd.DataFrame, params: Parameters) -> pd.DataFrame:
    """Each policy against the reference, readable (completion in percentage points)."""
    return contrast_table(estimates, params.reference, label="policy",
                          outcomes={"completed": "completion", **{k: v for k, v in
                                    OUTCOMES.items() if k != "completed"}})


def matching_table(result: MatchingResult) -> pd.DataFrame:
    """Matching.metrics of the one matching per policy (no ids)."""
    keys = ("n_pairs", "match_rate", "mean_score", "min_score", "blocking_pairs",
            "mean_mentee_rank", "mean_mentor_rank", "cross_department_share", "score_gap")
    rows = [{"policy": p, **{k: m.metrics[k] for k in keys}} for p, m in result.matchings.items()]
    return pd.DataFrame(rows)


def fairness_table(result: MatchingResult, params: Parameters) -> pd.DataFrame:
    """Per policy and mentee group: pairs, mean compatibility, completion and mentee gain,
    and per policy the gap (largest minus smallest group mean) of each."""
    by = ["arm", "group"]
    outs = (result.outcomes.groupby(by, sort=False)
            .agg(pairs=("pair_id", "size"), completion=("completed", "mean"),
                 mentee_gain=("mentee_gain", "mean"), mean_quality=("mean_quality", "mean")))
    score = (result.pairs.rename(columns={"policy": "arm"}).groupby(by, sort=False)["score"]
             .mean().rename("compatibility"))
    table = outs.join(score).reset_index().rename(columns={"arm": "policy"})
    table["pairs"] = table["pairs"] / params.replicates
    table["policy"] = pd.Categorical(table["policy"], categories=_order(params))
    return table.sort_values(["policy", "group"]).reset_index(drop=True)


def fairness_gaps(fairness: pd.DataFrame) -> pd.DataFrame:
    """Per policy: the largest minus the smallest group mean of each measure."""
    measures = ["compatibility", "completion", "mentee_gain", "mean_quality"]
    g = fairness.groupby("policy", observed=True)[measures]
    return (g.max() - g.min()).add_suffix("_gap").reset_index()


def example_pairs(result: MatchingResult, params: Parameters) -> pd.DataFrame:
    """``examples`` explained pairs per policy (the best-scoring ones), from Matching.explain().
    From a roster the people are named by position among the roster's mentees/mentors."""
    rows = []
    for policy, m in result.matchings.items():
        if params.examples == 0 or not len(m.mentee_index):
            continue
        ex = m.explain().assign(mentee_pos=m.mentee_index + 1, mentor_pos=m.mentor_index + 1)
        ex = ex.sort_values("score", ascending=False, kind="stable").head(params.examples)
        for r in ex.itertuples(index=False):
            who = ((f"mentee {r.mentee_pos}", f"mentor {r.mentor_pos}") if params.roster is not None
                   else (str(r.mentee_id), str(r.mentor_id)))
            rows.append({"policy": policy, "mentee": who[0], "mentor": who[1],
                         "score": float(r.score), "why": r.reasons})
    return pd.DataFrame(rows, columns=["policy", "mentee", "mentor", "score", "why"])


def findings(estimates: pd.DataFrame, summary: pd.DataFrame, params: Parameters) -> list[str]:
    """The headline: which policy gave the most compatible pairs, then the completion of
    each policy against the reference."""
    from toolkit.report import fmt_number, sentence

    top = summary.loc[summary.compatibility.idxmax()]
    ref = summary.set_index("policy").loc[params.reference]
    out = [f"The {top.policy} policy gave the highest mean compatibility "
           f"({fmt_number(top.compatibility, 3)} on the 0-1 scale, against "
           f"{fmt_number(ref.compatibility, 3)} for the {params.reference} policy)."]
    rows = contrasts(estimates, "completed", "risk_difference", reference=params.reference)
    out += [sentence(r, outcome="completion", labels=_labels(params))
            for r in rows.to_dict("records")]
    return out


def _labels(params: Parameters) -> dict[str, str]:
    return {p: f"the {p} policy" for p in params.policies}


def more_findings(estimates: pd.DataFrame, fairness: pd.DataFrame, params: Parameters
                  ) -> dict[str, list[str]]:
    """Further findings by heading: quality, satisfaction and two-way learning of each
    policy against the reference, then fairness between groups."""
    from toolkit.report import fmt_number, sentence

    labels = _labels(params)
    learning = []
    for outcome in ("mean_quality", "satisfaction_mentee", "satisfaction_mentor", "mentee_gain",
                    "mentor_gain"):
        rows = contrasts(estimates, outcome, "difference", reference=params.reference)
        if len(rows) == 1:
            learning.append(sentence(rows.iloc[0].to_dict(), outcome=OUTCOMES[outcome],
                                     labels=labels, digits=3))
        elif len(rows):
            learning.append(contrast_summary(rows, what=OUTCOMES[outcome],
                                             reference=labels[params.reference],
                                             everyone="every other policy"))
    gaps = fairness_gaps(fairness)
    if fairness["group"].nunique() > 1 and len(gaps):
        lo = gaps.loc[gaps.compatibility_gap.idxmin()]
        hi = gaps.loc[gaps.compatibility_gap.idxmax()]
        fair = [f"Between {params.group_by} groups of mentees, the gap in mean compatibility "
                f"ran from {fmt_number(lo.compatibility_gap, 3)} (the {lo.policy} policy) to "
                f"{fmt_number(hi.compatibility_gap, 3)} (the {hi.policy} policy).",
                f"The gap in completion between {params.group_by} groups ran from "
                f"{fmt_number(gaps.completion_gap.min() * 100, 1)} to "
                f"{fmt_number(gaps.completion_gap.max() * 100, 1)} percentage points across "
                "policies (largest minus smallest group mean, no interval)."]
    else:
        fair = [f"Fairness between {params.group_by} groups could not be compared: the cohort "
                "has only one group."]
    return {"Quality, satisfaction and two-way learning": learning,
            "Fairness between groups": fair}


def figures(result: MatchingResult, estimates: pd.DataFrame, params: Parameters) -> list[tuple]:
    """(figure, name, caption) for each figure of the report."""
    from toolkit.plots import forest_plot, score_distribution_plot

    out = []
    scores = result.pairs[["policy", "score"]].rename(columns={"score": "compatibility"})
    fig = score_distribution_plot(scores, score="compatibility", by="policy",
                                  title="Compatibility of the matched pairs by policy")
    out.append((fig, "compatibility_by_policy",
                "Distribution of the compatibility score (0-1) of every matched pair, over all "
                "replicates, by policy; lines mark the quartiles."))
    for outcome, effect, what in (("completed", "risk_difference", "completion"),
                                  ("mentee_gain", "difference", "mentee gain"),
                                  ("mentor_gain", "difference", "mentor gain")):
        rows = contrasts(estimates, outcome, effect, reference=params.reference)
        if rows.empty:
            continue
        unit = "skill points (0-1 scale)"
        if effect == "risk_difference":
            rows = rows.assign(estimate=rows.estimate * 100, ci_low=rows.ci_low * 100,
                               ci_high=rows.ci_high * 100)
            unit = "percentage points"
        fig = forest_plot(rows, effect=effect, outcome_label=what, unit=unit,
                          title=f"Difference in {what} from the {params.reference} policy")
        out.append((fig, f"{outcome}_{effect}",
                    f"Difference in {what} of each policy from the {params.reference} policy, "
                    "with 95% confidence intervals (Holm-adjusted). A point right of the "
                    "dashed line means more than the reference."))
    return out


def estimates_for_sweep(run_dir: str | Path) -> pd.DataFrame:
    """Headline numbers of a run for a sweep: completion difference of each policy from the
    reference (percentage points), with 95% CIs."""
    est = pd.read_parquet(Path(run_dir) / "tables" / "estimates.parquet")
    ref = est.loc[est.reference.notna(), "reference"].iloc[0]
    return sweep_rows(contrasts(est, "completed", "risk_difference", reference=ref),
                      "completion: {group} vs {reference} (points)", scale=100)


def headline_contrast(params: Parameters) -> tuple[str, str]:
    """(policy, reference) of the contrast the robustness check examines: optimal matching
    when it is compared, else the first other policy, against the reference."""
    others = [p for p in _order(params) if p != params.reference]
    return ("optimal" if "optimal" in others else others[0]), params.reference


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
    what = f"the completion difference between the {arm} and the {reference} policy"
    return text(result, what=what, enabled=params.robustness)


def mechanism_text(params: Parameters) -> str:
    """The data-generating mechanism in words, for the methods section."""
    who = ("the people of a real roster" if params.roster is not None else
           f"one synthetic cohort of {params.n_mentors} mentors and {params.n_mentees} mentees "
           "drawn from the study seed")
    return (f"{params.replicates} simulated programs per policy, all with {who}. Each policy "
            f"scores pairs with the {params.weights} weight profile and lets a mentor take at "
            f"most {params.capacity} mentee(s); the random policy draws new pairs in every "
            "replicate, the others re-solve the same problem. Every policy's pairs then run the "
            f"same design ({params.cadence} meetings over {params.duration_weeks} weeks) on the "
            "same random draws (common random numbers), so differences are the matching's "
            "effect. The week-by-week model (meetings, quality, two-way learning, engagement, "
            "fading and closure) runs with its default, calibrated parameters. Matching metrics "
            "and explained pairs come from one matching per policy.")


def performance_text(params: Parameters, estimates: pd.DataFrame) -> str:
    """Monte Carlo error of the completion contrasts, in words."""
    from toolkit.report import fmt_number

    se = contrasts(estimates, "completed", "risk_difference", reference=params.reference).se.to_numpy() * 100
    span = (f"{fmt_number(se.min(), 2)} to {fmt_number(se.max(), 2)} points" if len(se)
            else "not available")
    return (f"All uncertainty here is Monte Carlo error from {params.replicates} replicates of "
            f"the same people per policy. The standard error of the completion differences is "
            f"{span}; it shrinks with the square root of the number of replicates. Because the "
            "people are the same in every replicate, the intervals describe this cohort, not "
            "programs in general. Fairness gaps are shown without intervals.")


def limitations(params: Parameters) -> list[str]:
    """The assumptions the findings depend on."""
    out = [
        "The numbers come from a simulation model, not from observed programs: how much "
        "compatibility matters depends on the model's assumed link between pair similarity, "
        "relationship quality and closure.",
        "Compatibility is the toolkit's score; a real program's coordinators may know things "
        "about people that no score captures.",
        "Model parameters where the literature is silent are assumptions with plausible "
        "ranges; the robustness check covers the headline contrast only, the other findings "
        "hold for the default assumptions.",
        "Fairness is compared on one mentee attribute at a time, by group means with no "
        "interval; small groups give noisy means.",
    ]
    if params.roster is not None:
        out.append("With a real roster the findings describe these people; example pairs are "
                   "shown by position in the roster, never by name.")
    return out


STUDY = Study(
    name="matching_policies",
    title="Which matching policy should a program use?",
    question=("How do the eight matching policies compare on one cohort and one design: "
              "compatibility, relationship quality, both sides' satisfaction, completion, "
              "two-way learning, and fairness between groups?"),
    parameters=Parameters,
    notebook=notebook_path("matching_policies"),
    estimates=estimates_for_sweep,
    inputs=("roster",),
)

