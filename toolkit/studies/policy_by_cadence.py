"""Study ``policy_by_cadence``: does the best matching policy depend on how often pairs meet?

A factorial experiment: every matching policy crossed with every meeting cadence, all on
the same cohorts, matchings (one per policy, shared by its cadences) and per-pair random
draws (common random numbers). For each outcome, a joint Wald test of the policy x
cadence interaction (:func:`toolkit.analysis.interaction_test`, on the additive scale,
clustered by replicate) says whether the policy's effect changes with the cadence; the
policy's effect within each cadence is then estimated with
:func:`toolkit.analysis.compare_arms`.

>>> list(PolicyByCadence(policies=["random", "optimal"], cadences=["weekly", "monthly"]).arms())
['random+weekly', 'random+monthly', 'optimal+weekly', 'optimal+monthly']
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pydantic import Field

from toolkit.studies._base import BaseStudy, Headline
from toolkit.studies._common import as_strings, contrast_table, reference_first, scaled
from toolkit.studies._params import Cadence, CohortGroup, ModelsGroup, Policy, RosterGroup
from toolkit.studies._words import cap, default_sentences, outcome_names, se_span

__all__ = ["OUTCOMES", "STUDY", "Parameters", "PolicyByCadence"]

OUTCOMES = outcome_names("completed", "mentee_gain", "mentor_gain", "mean_quality")


class Parameters(ModelsGroup, RosterGroup, CohortGroup):
    """Parameters of the policy_by_cadence study."""

    study = "policy_by_cadence"

    policies: tuple[Policy, ...] = Field(
        ("random", "optimal"), min_length=2, description="Matching policies (one factor)."
    )
    cadences: tuple[Cadence, ...] = Field(
        ("weekly", "biweekly", "monthly"),
        min_length=2,
        description="Meeting cadences (the other factor).",
    )
    reference_policy: Policy | None = Field(
        None, description="Policy the others are compared with (none: the first listed)."
    )
    reference_cadence: Cadence | None = Field(
        None, description="Baseline cadence of the interaction contrasts (none: the first listed)."
    )
    duration_weeks: int = Field(26, ge=4, le=104, description="Program length in weeks.")
    meeting_minutes: float = Field(
        60.0, gt=0, le=240, description="Length of every meeting, minutes."
    )
    replicates: int = Field(40, ge=2, le=2000, description="Simulated programs per cell.")

    compared = {"reference_policy": "policies", "reference_cadence": "cadences"}

    @property
    def policy_ref(self) -> str:
        """The reference policy (the first listed unless one is given)."""
        return self.reference_policy or self.policies[0]

    @property
    def cadence_ref(self) -> str:
        """The baseline cadence (the first listed unless one is given)."""
        return self.reference_cadence or self.cadences[0]


def _policies(params: Parameters) -> list[str]:
    return reference_first(params.policy_ref, params.policies)


def _policy(name: str) -> str:
    return f"the {name} policy"


def _within(cadence: str, text: str) -> str:
    return f"With {cadence.replace('_', ' ')} meetings: {text[:1].lower()}{text[1:]}"


def _interactions(estimates: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """The interaction contrasts (difference in differences per cell) of ``outcome``."""
    return estimates[(estimates.effect == "interaction_contrast") & (estimates.outcome == outcome)]


def _interaction_sentence(row: dict) -> str:
    """The default model's difference in differences of one cell, with its Monte Carlo error
    (never a p-value: the test only says whether the simulation could tell it from noise)."""
    from toolkit.report import fmt_number

    what = OUTCOMES.get(row["outcome"], row["outcome"])
    scale, unit, digits = (100.0, " points", 1) if row["outcome"] == "completed" else (1.0, "", 3)
    return (
        f"Default model's answer: the {row['group']} term of the policy x cadence "
        f"interaction for {what} is {fmt_number(row['estimate'] * scale, digits)}{unit} "
        f"(Monte Carlo error {fmt_number(row['se'] * scale, digits)})."
    )


CELLS = (
    "Mean {} in each policy x cadence cell under the default model, with intervals of Monte "
    "Carlo error only (simulation noise, clustered by replicate; not an interval about "
    "programs). Parallel lines mean the policy's effect is the same at every cadence; lines "
    "that converge or cross mean an interaction."
)


class PolicyByCadence(BaseStudy):
    """Does the best matching policy depend on how often pairs meet?"""

    name = "policy_by_cadence"
    title = "Does the best matching policy depend on how often pairs meet?"
    question = (
        "Across a factorial of matching policies and meeting cadences, does the effect "
        "of the matching policy on completion and two-way learning change with the "
        "cadence (a policy x cadence interaction)?"
    )
    Parameters = Parameters
    sweep_name = "completion: {group} vs {reference} with {cadence} meetings (points)"
    model_limitation = (
        "an interaction appears only if the model lets compatibility and "
        "meeting frequency act together, so 'no clear interaction' may reflect "
        "the model's structure rather than real programs."
    )
    notes = (
        "The interaction is tested on the additive scale (percentage points for "
        "completion); on another scale (odds) the answer can differ.",
    )

    def arms(self) -> dict[str, Any]:
        """One arm per cell, ``<policy>+<cadence>``, policies in order (reference first), then
        cadences in the given order."""
        from toolkit.experiment import Arm
        from toolkit.program import ProgramDesign

        p = self.params
        return {
            f"{x}+{c}": Arm(
                x,
                ProgramDesign(
                    cadence=c, duration_weeks=p.duration_weeks, meeting_minutes=p.meeting_minutes
                ),
            )
            for x in _policies(p)
            for c in p.cadences
        }

    def headlines(self) -> list[Headline]:
        """Completion of every other policy against the reference policy within each cadence;
        first the first other policy at the baseline cadence."""
        p = self.params
        ref, others = p.policy_ref, _policies(p)[1:]
        cells = [(others[0], p.cadence_ref)] + [
            (x, c) for c in p.cadences for x in others if (x, c) != (others[0], p.cadence_ref)
        ]
        return [
            Headline(
                f"{x}+{c}",
                f"{ref}+{c}",
                rows={"group": x, "reference": ref, "cadence": c},
                text=f"the completion difference between the {x} and the {ref} policy "
                f"with {c.replace('_', ' ')} meetings",
            )
            for x, c in cells
        ]

    def arm_words(self, arm: str) -> str:
        policy, _, cadence = arm.partition("+")
        return f"the {policy} policy with {cadence.replace('_', ' ')} meetings"

    def interaction_across(self) -> list[str]:
        """Over the plausible models: does the policy's effect on completion change with the
        cadence? Per model and replicate, the policy's effect at each cadence minus its effect
        at the baseline cadence (common random numbers pair the replicates), summarised like
        a headline."""
        from toolkit.sensitivity import headline_sentence, summarise_models

        a, p = self.across, self.params
        where = {(h.where()["group"], h.where()["cadence"]): i for i, h in enumerate(a.headlines)}
        out = []
        for (x, c), i in where.items():
            base = where.get((x, p.cadence_ref))
            if c == p.cadence_ref or base is None:
                continue
            d = a.differences[i].merge(a.differences[base], on=["model", "replicate"])
            d = d.assign(difference=d.difference_x - d.difference_y)[
                ["model", "replicate", "difference"]
            ]
            f = summarise_models(d, seed=int(p.seed))
            out.append(
                headline_sentence(
                    f,
                    arm=f"the {x} policy's gain in completion with {c.replace('_', ' ')} meetings",
                    reference=f"with {p.cadence_ref.replace('_', ' ')} meetings",
                    more="is larger",
                    less="is smaller",
                )
                + f" Verdict: {f.verdict_text}."
            )
        return out

    def simulate(self) -> pd.DataFrame:
        """Run every cell over the replicates; outcomes with ``policy`` and ``cadence``
        columns and no participant ids."""
        out = self.without_ids(self.run().outcomes)
        parts = out["arm"].str.split("+", n=1, expand=True)
        out["policy"] = pd.Categorical(parts[0], categories=_policies(self.params))
        cadences = reference_first(self.params.cadence_ref, self.params.cadences)
        out["cadence"] = pd.Categorical(parts[1], categories=cadences)
        return out

    def analyse(self, outcomes: pd.DataFrame) -> pd.DataFrame:
        """The interaction test of every outcome, then the policy's effect within each cadence
        (compare_arms by policy, Holm-adjusted within each outcome and cadence); a ``cadence``
        column says which cadence a within-cadence row belongs to."""
        from toolkit.analysis import compare_arms, interaction_test

        p, parts = self.params, []
        for outcome in OUTCOMES:
            if outcomes[outcome].astype(float).nunique() < 2:
                continue
            parts.append(
                interaction_test(
                    outcomes,
                    outcome,
                    factors=["policy", "cadence"],
                    references=[p.policy_ref, p.cadence_ref],
                ).assign(cadence=None)
            )
            for cadence in p.cadences:
                sub = outcomes[outcomes.cadence == cadence]
                if sub[outcome].astype(float).nunique() >= 2:
                    parts.append(
                        compare_arms(sub, outcome, by="policy", reference=p.policy_ref).assign(
                            cadence=cadence
                        )
                    )
        return as_strings(pd.concat(parts, ignore_index=True), ("group", "reference", "cadence"))

    @staticmethod
    def interaction_table(estimates: pd.DataFrame) -> pd.DataFrame:
        """The simulation-noise check of each outcome's interaction under the default model,
        readable: the joint Wald statistic and whether the simulated interaction stands out
        from Monte Carlo noise at this number of replicates (not a test about programs)."""
        from toolkit.report import fmt_number

        rows = estimates[estimates.effect == "interaction"]
        return pd.DataFrame(
            {
                "outcome": rows.outcome.map(lambda o: OUTCOMES.get(o, o)).to_numpy(),
                "Wald statistic": [fmt_number(v, 2) for v in rows.estimate],
                "stands out from simulation noise": [
                    "yes" if p <= 0.05 else "no" for p in rows.p_value
                ],
                "check": rows.method.to_numpy(),
            }
        )

    def within_cadence_table(self, estimates: pd.DataFrame) -> pd.DataFrame:
        """The policy's effect on each outcome within each cadence, readable."""
        ref = self.params.policy_ref
        keep = estimates[
            estimates.cadence.notna()
            & (estimates.reference == ref)
            & estimates.effect.isin(["risk_difference", "difference"])
        ]
        table = contrast_table(keep, ref, label="policy", outcomes=OUTCOMES)
        return table.assign(cadence=keep.cadence.to_numpy())[
            ["cadence", "policy", "outcome", "default model's estimate", "Monte Carlo error (SE)"]
        ]

    def _effects(self, estimates: pd.DataFrame, outcome: str) -> list[str]:
        """The policy's effect on ``outcome`` within each cadence (default model)."""
        p, what = self.params, {outcome: OUTCOMES[outcome]}
        return [
            _within(c, sentence)
            for c in p.cadences
            for sentence in default_sentences(estimates, what, _policy, p.policy_ref, cadence=c)
        ]

    def findings(self, estimates: pd.DataFrame, outcome: str = "completed") -> list[str]:
        """The default model's answers on ``outcome``: its interaction terms, then the
        policy's effect within each cadence."""
        test = _interactions(estimates, outcome).to_dict("records")
        return [_interaction_sentence(r) for r in test] + self._effects(estimates, outcome)

    def more_findings(self, estimates: pd.DataFrame) -> dict[str, list[str]]:
        """Further findings: the interaction tests and within-cadence effects of the other
        outcomes."""
        out = {
            f"{cap(OUTCOMES[o])} (default model)": self.findings(estimates, o)
            for o in ("mentee_gain", "mentor_gain", "mean_quality")
        }
        return {k: v for k, v in out.items() if v}

    def figures(self, outcomes: pd.DataFrame) -> list[tuple]:
        """(figure, name, caption) for each figure of the report."""
        from toolkit.analysis import cell_means
        from toolkit.plots import interaction_plot

        out = []
        for outcome, what, scale in (
            ("completed", "completed pairs (%)", 100.0),
            ("mentee_gain", "mentee digital gain (0-1 scale)", 1.0),
        ):
            if outcomes[outcome].astype(float).nunique() < 2:
                continue
            cells = scaled(cell_means(outcomes, outcome, factors=["policy", "cadence"]), scale)
            cells = cells.assign(
                cadence=pd.Categorical(cells.cadence, categories=list(self.params.cadences)),
                policy=pd.Categorical(cells.policy, categories=_policies(self.params)),
            )
            cells = cells.sort_values(["policy", "cadence"]).assign(
                cadence=lambda d: d.cadence.astype(str), policy=lambda d: d.policy.astype(str)
            )
            fig = interaction_plot(
                cells,
                x="cadence",
                trace="policy",
                y_label=what,
                title=f"{cap(what)} by policy and cadence",
                interval="under the default model, with Monte Carlo error bars",
            )
            out.append(
                (
                    fig,
                    f"{outcome}_cells",
                    CELLS.format(what),
                )
            )
        return out

    def mechanism_text(self) -> str:
        p = self.params
        return (
            f"A {len(p.policies)} x {len(p.cadences)} factorial: the policies "
            f"{', '.join(p.policies)} crossed with {', '.join(p.cadences)} meetings "
            f"of {p.meeting_minutes:g} minutes over {p.duration_weeks} weeks. "
            f"{p.replicates} simulated programs per cell, each with {self.cohort_words()}. "
            "Every cadence of a policy uses the same matching, and every cell the same random "
            "draws (common random numbers), so differences are the design's effect. "
            + self.models_words("cell")
        )

    def performance_text(self, estimates: pd.DataFrame) -> str:
        """Monte Carlo error of the interaction contrasts of completion, in words."""
        se = se_span(_interactions(estimates, "completed").se.to_numpy() * 100)
        return (
            f"The default model's answers carry Monte Carlo error from {self.params.replicates} "
            "replicates per cell. The standard error of the differences in differences for "
            f"completion is {se}; an interaction smaller than about three times that cannot be "
            "told from zero at this number of replicates."
        )


STUDY = PolicyByCadence.record()
