"""Study ``matching_policies``: which matching policy should a program use?

The policies of :data:`toolkit.matching.POLICIES` (any registered at run time too) match one
cohort (a synthetic one drawn from the study seed, or the people of a real roster) and run one
program design. Every replicate re-matches the same people (the random policy draws new pairs;
the others break ties anew) and re-runs the program, with common random numbers across policies.

Names, e-mails and free text of a roster never reach a table or the report: the tables
carry no participant columns, and example pairs from a roster are shown by position
("mentee 3", "mentor 12"), never by id or name.

>>> study = MatchingPolicies(policies=["random", "optimal"], replicates=2)
>>> sorted(study.arms()), study.arms()["optimal"].match.capacity
(['optimal', 'random'], 1)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import pandas as pd
from pydantic import Field

from toolkit.studies._base import BaseStudy, Headline
from toolkit.studies._common import (
    arm_means,
    compare_outcomes,
    contrast_table,
    contrasts,
    read_roster_once,
    reference_first,
    synthetic_cohort,
)
from toolkit.studies._params import (
    Cadence,
    Capacity,
    CohortGroup,
    ModelsGroup,
    Policy,
    RosterGroup,
    policies,
)
from toolkit.studies._words import contrast_summary, default_sentences, outcome_names

__all__ = ["STUDY", "MatchingPolicies", "MatchingResult", "Parameters"]

OUTCOMES = outcome_names("completed", "mean_quality", "satisfaction_mentee", "satisfaction_mentor")
OUTCOMES |= outcome_names("mentee_gain", "mentor_gain")
#: Matching.metrics shown per policy.
METRICS: tuple[str, ...] = ("n_pairs", "match_rate", "mean_score", "min_score", "blocking_pairs")
METRICS += ("mean_mentee_rank", "mean_mentor_rank", "cross_department_share", "score_gap")
GroupColumn = Literal["gender", "generation", "department", "location"]


class Parameters(ModelsGroup, RosterGroup, CohortGroup):
    """Parameters of the matching_policies study."""

    study = "matching_policies"

    policies: tuple[Policy, ...] = Field(
        policies(),
        min_length=2,
        description="Matching policies to compare (toolkit.matching.POLICIES).",
    )
    reference: Policy = Field("random", description="Policy every other one is compared with.")
    weights: Literal["balanced", "skills_first", "similarity_first", "diversity"] = Field(
        "balanced", description="Compatibility weight profile every policy scores pairs with."
    )
    capacity: Capacity = 1
    cadence: Cadence = Field("biweekly", description="Meeting schedule of the one program design.")
    duration_weeks: int = Field(26, ge=4, le=104, description="Program length in weeks.")
    replicates: int = Field(
        50, ge=1, le=2000, description="Simulated programs per policy (the same people each time)."
    )
    group_by: GroupColumn = Field("gender", description="Mentee groups compared for fairness.")
    examples: int = Field(2, ge=0, le=20, description="Explained example pairs shown per policy.")

    compared = {"reference": "policies"}


@dataclass(frozen=True)
class MatchingResult:
    """What :meth:`MatchingPolicies.simulate` returns: per-pair outcomes and matched pairs over
    replicates (with the mentee's group instead of any id), and one matching per policy."""

    outcomes: pd.DataFrame
    pairs: pd.DataFrame
    matchings: dict


class MatchingPolicies(BaseStudy):
    """Which matching policy should a program use?"""

    name = "matching_policies"
    title = "Which matching policy should a program use?"
    question = (
        "How do the eight matching policies compare on one cohort and one design: "
        "compatibility, relationship quality, both sides' satisfaction, completion, "
        "two-way learning, and fairness between groups?"
    )
    Parameters = Parameters
    model_limitation = (
        "how much compatibility matters depends on the model's assumed link "
        "between pair similarity, relationship quality and closure."
    )
    notes = (
        "Compatibility is the toolkit's score; a real program's coordinators may know things "
        "about people that no score captures.",
        "Fairness is compared on one mentee attribute at a time, by group means with no "
        "interval; small groups give noisy means.",
    )
    roster_note = (
        "With a real roster the findings describe these people; example pairs are "
        "shown by position in the roster, never by name."
    )

    @cached_property
    def order(self) -> list[str]:
        return reference_first(self.params.reference, self.params.policies)

    @cached_property
    def cohort(self) -> Any:
        """The one cohort: the roster's people (read once) or one synthetic cohort."""
        p = self.params
        if p.roster is not None:
            return read_roster_once(p.roster)
        return synthetic_cohort(p.n_mentors, p.n_mentees, p.seed)

    def cohort_source(self) -> Any:
        from toolkit.experiment import RosterSource

        return RosterSource(self.params.roster) if self.params.roster is not None else self.cohort

    def arms(self) -> dict[str, Any]:
        from toolkit.experiment import Arm, MatchSpec
        from toolkit.program import ProgramDesign

        p = self.params
        design = ProgramDesign(cadence=p.cadence, duration_weeks=p.duration_weeks)
        return {
            x: Arm(MatchSpec(x, weights=p.weights, capacity=p.capacity), design) for x in self.order
        }

    def headlines(self) -> list[Headline]:
        """Completion of every policy against the reference; optimal matching first when it
        is compared."""
        others = self.order[1:]
        first = "optimal" if "optimal" in others else others[0]
        ref = self.params.reference
        text = "the completion difference between the {} and the {} policy"
        return [Headline(x, ref, text=text.format(x, ref)) for x in reference_first(first, others)]

    def arm_words(self, arm: str) -> str:
        return f"the {arm} policy"

    def _groups(self) -> pd.Series:
        people, column = self.cohort.mentees, self.params.group_by
        ids = people["participant_id"].astype(str)
        if column not in people.columns:
            return pd.Series("unspecified", index=ids)
        return pd.Series(people[column].astype(str).to_numpy(), index=ids.to_numpy())

    def simulate(self) -> MatchingResult:
        """Match and run every policy over the replicates; one matching per policy on the
        cohort (for matching metrics and explained pairs). Tables hold no participant ids."""
        from toolkit._seeding import int_seed
        from toolkit.matching import match

        p, cohort = self.params, self.cohort
        res = self.run(("outcomes", "pairs"))
        groups = self._groups()

        def group(frame: pd.DataFrame) -> Any:  # the mentee's group instead of the id
            return groups.reindex(frame["mentee_id"].astype(str)).to_numpy()

        outcomes = self.without_ids(res.outcomes.assign(group=group(res.outcomes)))
        policy = res.pairs["matching"].astype(str).str.split(" ").str[0]
        pairs = res.pairs.assign(group=group(res.pairs), policy=policy)
        pairs = pairs.drop(columns=["mentee_id", "mentor_id", "matching"])
        by = p.group_by if p.group_by in cohort.mentees.columns else None
        matchings = {
            x: match(
                cohort,
                x,
                weights=p.weights,
                capacity=p.capacity,
                strict=False,
                seed=int_seed(p.seed, "study", "example_matching"),
                group_by=by,
            )
            for x in self.order
        }
        return MatchingResult(outcomes=outcomes, pairs=pairs, matchings=matchings)

    def analyse(self, result: MatchingResult) -> pd.DataFrame:
        """compare_arms of every outcome (policies against the reference, Holm-adjusted within
        each outcome, clustered by replicate when there are 10 or more)."""
        return compare_outcomes(result.outcomes, self.order, self.params.reference, OUTCOMES)

    def summary_table(self, result: MatchingResult) -> pd.DataFrame:
        """Per policy: compatibility and its components, then the mean outcomes of the pairs."""
        from toolkit.compatibility import COMPONENTS

        comps = (
            result.pairs.groupby("policy", sort=False)[
                ["score", *(f"score_{c}" for c in COMPONENTS)]
            ]
            .mean()
            .rename(columns={"score": "compatibility"})
        )
        comps.columns = [c.removeprefix("score_") for c in comps.columns]
        means = ("completion", *list(OUTCOMES)[1:])
        outs = arm_means(result.outcomes, "arm", *means, pairs_per_program=("pair_id", "size"))
        outs["pairs_per_program"] = outs["pairs_per_program"] / self.params.replicates
        out = comps.join(outs, how="outer").reindex(self.order)
        return out.rename_axis("policy").reset_index()

    def contrasts_for_report(self, estimates: pd.DataFrame) -> pd.DataFrame:
        """Each policy against the reference, readable (completion in percentage points)."""
        return contrast_table(estimates, self.params.reference, label="policy", outcomes=OUTCOMES)

    @staticmethod
    def matching_table(result: MatchingResult) -> pd.DataFrame:
        """Matching.metrics of the one matching per policy (no ids)."""
        return pd.DataFrame(
            [
                {"policy": x, **{k: m.metrics[k] for k in METRICS}}
                for x, m in result.matchings.items()
            ]
        )

    def fairness_table(self, result: MatchingResult) -> pd.DataFrame:
        """Per policy and mentee group: pairs, mean compatibility, completion and mentee gain."""
        by = ["arm", "group"]
        means = ("completion", "mentee_gain", "mean_quality")
        outs = arm_means(result.outcomes, by, *means, pairs=("pair_id", "size"))
        score = (
            result.pairs.rename(columns={"policy": "arm"})
            .groupby(by, sort=False)["score"]
            .mean()
            .rename("compatibility")
        )
        table = outs.join(score).reset_index().rename(columns={"arm": "policy"})
        table["pairs"] = table["pairs"] / self.params.replicates
        table["policy"] = pd.Categorical(table["policy"], categories=self.order)
        return table.sort_values(["policy", "group"]).reset_index(drop=True)

    @staticmethod
    def fairness_gaps(fairness: pd.DataFrame) -> pd.DataFrame:
        """Per policy: the largest minus the smallest group mean of each measure."""
        g = fairness.groupby("policy", observed=True)[
            ["compatibility", "completion", "mentee_gain", "mean_quality"]
        ]
        return (g.max() - g.min()).add_suffix("_gap").reset_index()

    def example_pairs(self, result: MatchingResult) -> pd.DataFrame:
        """``examples`` explained pairs per policy (the best-scoring ones), from
        Matching.explain(). From a roster people are named by position, never by id or name."""
        p, rows = self.params, []
        for policy, m in result.matchings.items():
            if p.examples == 0 or not len(m.mentee_index):
                continue
            ex = m.explain().assign(mentee_pos=m.mentee_index + 1, mentor_pos=m.mentor_index + 1)
            ex = ex.sort_values("score", ascending=False, kind="stable").head(p.examples)
            for r in ex.itertuples(index=False):
                who = (
                    (f"mentee {r.mentee_pos}", f"mentor {r.mentor_pos}")
                    if p.roster is not None
                    else (str(r.mentee_id), str(r.mentor_id))
                )
                rows.append(
                    {
                        "policy": policy,
                        "mentee": who[0],
                        "mentor": who[1],
                        "score": float(r.score),
                        "why": r.reasons,
                    }
                )
        return pd.DataFrame(rows, columns=["policy", "mentee", "mentor", "score", "why"])

    def findings(self, estimates: pd.DataFrame, summary: pd.DataFrame) -> list[str]:
        """Which policy gave the most compatible pairs (a property of the matchings), then
        the default model's completion of each policy against the reference."""
        from toolkit.report import fmt_number

        ref = self.params.reference
        top = summary.loc[summary.compatibility.idxmax()]
        base = summary.set_index("policy").loc[ref]
        out = [
            f"The {top.policy} policy gave the highest mean compatibility "
            f"({fmt_number(top.compatibility, 3)} on the 0-1 scale, against "
            f"{fmt_number(base.compatibility, 3)} for the {ref} policy)."
        ]
        return out + default_sentences(estimates, {"completed": "completion"}, self.labels, ref)

    def more_findings(
        self, estimates: pd.DataFrame, fairness: pd.DataFrame
    ) -> dict[str, list[str]]:
        """Further findings by heading: the default model's quality, satisfaction and two-way
        learning of each policy against the reference, then fairness between groups."""
        from toolkit.report import fmt_number

        p, labels, learning = self.params, self.labels, []
        for outcome, what in list(OUTCOMES.items())[1:]:  # one sentence per outcome
            rows = contrasts(estimates, outcome, "difference", reference=p.reference)
            if len(rows) == 1:
                learning += default_sentences(estimates, {outcome: what}, labels, p.reference)
            elif len(rows):
                ref, everyone = labels[p.reference], "every other policy"
                learning.append(contrast_summary(rows, what=what, reference=ref, everyone=everyone))
        gaps = self.fairness_gaps(fairness)
        if fairness["group"].nunique() > 1 and len(gaps):
            lo = gaps.loc[gaps.compatibility_gap.idxmin()]
            hi = gaps.loc[gaps.compatibility_gap.idxmax()]
            fair = [
                f"Between {p.group_by} groups of mentees, the gap in mean compatibility "
                f"ran from {fmt_number(lo.compatibility_gap, 3)} (the {lo.policy} policy) to "
                f"{fmt_number(hi.compatibility_gap, 3)} (the {hi.policy} policy).",
                f"The gap in completion between {p.group_by} groups ran from "
                f"{fmt_number(gaps.completion_gap.min() * 100, 1)} to "
                f"{fmt_number(gaps.completion_gap.max() * 100, 1)} percentage points across "
                "policies (largest minus smallest group mean, no interval).",
            ]
        else:
            fair = [
                f"Fairness between {p.group_by} groups could not be compared: the cohort "
                "has only one group."
            ]
        return {
            "Quality, satisfaction and two-way learning (default model)": learning,
            "Fairness between groups": fair,
        }

    def figures(self, result: MatchingResult, estimates: pd.DataFrame) -> list[tuple]:
        """(figure, name, caption) for each figure of the report (the across-model figure is
        :meth:`show_across`'s)."""
        from toolkit.plots import score_distribution_plot

        scores = result.pairs[["policy", "score"]].rename(columns={"score": "compatibility"})
        return [
            (
                score_distribution_plot(
                    scores,
                    score="compatibility",
                    by="policy",
                    title="Compatibility of the matched pairs by policy",
                ),
                "compatibility_by_policy",
                "Distribution of the compatibility score (0-1) of every matched pair, over all "
                "replicates, by policy; lines mark the quartiles.",
            )
        ]

    def cohort_words(self) -> str:
        p = self.params
        return (
            "the people of a real roster"
            if p.roster is not None
            else f"one synthetic cohort of {p.n_mentors} mentors and {p.n_mentees} mentees "
            "drawn from the study seed"
        )

    def mechanism_text(self) -> str:
        p = self.params
        return (
            f"{p.replicates} simulated programs per policy, all with {self.cohort_words()}. "
            f"Each policy scores pairs with the {p.weights} weight profile and lets a mentor "
            f"take at most {p.capacity} mentee(s); the random policy draws new pairs in every "
            "replicate, the others re-solve the same problem. Every policy's pairs then run "
            f"the same design ({p.cadence} meetings over {p.duration_weeks} weeks) on the "
            "same random draws (common random numbers), so differences are the matching's "
            f"effect. {self.models_words('policy')} Matching metrics and explained pairs come "
            "from one matching per policy."
        )

    def performance_text(self, estimates: pd.DataFrame) -> str:
        """Monte Carlo error of the default model's completion contrasts, in words."""
        return self.completion_error_text(
            estimates,
            "of the same people per policy",
            ". Because the people are the "
            "same in every replicate, the default model's answers describe this cohort, not "
            "programs in general. Fairness gaps are shown without intervals.",
            reference=self.params.reference,
        )


STUDY = MatchingPolicies.record()
