"""Study ``advise``: which program design to run under a coordinator-hours budget?

The study layer of :mod:`toolkit.advice`: parameters (the program designer's question and
the procedure's settings), the advice, its tables, the what-if panel, the Pareto figure and
the prose of the report. ``rmt run advise`` renders it; ``rmt advise`` is the short form.

>>> study = Advise(coordinator_hours=30, policies=["random", "optimal"])
>>> study.plan().budget, study.plan().policies
(30.0, ('random', 'optimal'))
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field, model_validator

from toolkit.studies._base import BaseStudy, Headline
from toolkit.studies._notebook import output_dir, show_html
from toolkit.studies._params import Cadence, Policy, RosterGroup, cadences, policies

__all__ = ["STUDY", "Advise", "Parameters"]

Outcome = Literal["completion", "learning", "both"]
Checkins = Literal["none", "monthly", "survey_30_60"]
Action = Literal["coach", "rematch", "close", "none"]


class Parameters(RosterGroup):
    """Parameters of the advise study."""

    study = "advise"

    pairs: int = Field(
        30, ge=1, le=5000, description="Pairs in the program (with a roster: its mentees)."
    )
    weeks: int = Field(26, ge=1, le=520, description="Program length in weeks.")
    coordinator_hours: float = Field(
        40.0, gt=0, description="Coordinator hours for the whole program (the budget)."
    )
    availability: float | None = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        description=("Hours a month a senior mentee can give (none: the plausible models' own)."),
    )
    outcome: Outcome = Field("completion", description="What to maximise.")
    delta: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="Indifference zone in outcome "
        "units (0.02 = 2 points; none: 0.02 completion, 0.01 "
        "learning).",
    )
    alpha: float = Field(0.05, gt=0, lt=1, description="Error probability of the selection.")
    quantile: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="0: select on the worst case over "
        "the plausible models; q: on their q-quantile.",
    )
    scenarios: int = Field(
        8, ge=1, le=1000, description="Plausible models the selection is robust over."
    )
    models: str | None = Field(
        None, description="Ensemble file of plausible models (none: the committed ensemble)."
    )
    policies: tuple[Policy, ...] = Field(
        default_factory=policies, description="Matching policies to consider."
    )
    cadences: tuple[Cadence, ...] = Field(
        default_factory=cadences, description="Meeting cadences to consider."
    )
    minutes: tuple[float, ...] = Field(
        (30.0, 60.0), description="Meeting lengths to consider, minutes."
    )
    checkins: tuple[Checkins, ...] = Field(
        ("none", "monthly", "survey_30_60"), description="Check-in schedules to consider."
    )
    actions: tuple[Action, ...] = Field(
        ("coach", "rematch", "close"), description="Actions on a flag to consider."
    )
    n0: int = Field(20, ge=2, le=1000, description="First-stage replications of the selection.")
    change_models: int = Field(
        200,
        ge=2,
        le=100_000,
        description="Plausible models that compare the recommended design with its rival.",
    )
    workers: int = Field(
        2,
        ge=1,
        le=64,
        description="Worker processes, at most the machine's cores (the result does not "
        "depend on it).",
    )

    input_files = ("roster", "models")

    @model_validator(mode="after")
    def _plan_is_valid(self) -> Parameters:
        Advise._plan(self, None)  # one sentence for a plan toolkit.advice refuses
        return self


class Advise(BaseStudy):
    """Which design to run under a coordinator-hours budget (see the module docstring)."""

    name = "advise"
    title = "Which program design should we run?"
    question = (
        "Under a coordinator-hours budget, which matching policy, meeting cadence and "
        "length, check-in schedule and action on a flag keep the most pairs going "
        "(or learning), robustly across the plausible models?"
    )
    Parameters = Parameters
    inputs = ("roster", "models")
    model_limitation = (
        "the recommendation is the best design of this model over the "
        "plausible models tried, not a promise about a real program."
    )
    robustness_note = (
        "Robustness here is the ensemble: the selection is robust over the "
        "first {params.scenarios} plausible models (worst case or a stated "
        "quantile), and 'what would change the advice' looks at more of them."
    )
    notes = (
        "Planned check-in hours (every pair at every planned check-in) filter designs "
        "before simulation, which is conservative: pairs that close early are not "
        "checked in on; simulated hours (check-ins of open pairs, coaching, rematches, "
        "closures) enter the selection as a constraint.",
        "The spread across plausible models (lowest to highest model) is not a "
        "confidence interval; Monte Carlo error is small against it and is in the "
        "designs table (mcse columns).",
    )

    # -- the plan --------------------------------------------------------------------------
    @staticmethod
    def _plan(p: Any, cohort: Any) -> Any:
        from toolkit.advice import AdvicePlan

        return AdvicePlan(
            pairs=len(cohort.mentees) if cohort is not None else p.pairs,
            weeks=p.weeks,
            budget=p.coordinator_hours,
            availability=p.availability,
            outcome=p.outcome,
            delta=p.delta,
            alpha=p.alpha,
            quantile=p.quantile,
            scenarios=p.scenarios,
            policies=p.policies,
            cadences=p.cadences,
            minutes=p.minutes,
            checkins=p.checkins,
            actions=p.actions,
        )

    def plan(self) -> Any:
        """The :class:`toolkit.advice.AdvicePlan` of these parameters (the roster's size
        as the pairs when there is one)."""
        return self._plan(self.params, self.roster_cohort)

    def ensemble(self) -> tuple[Any, bool]:
        """The plausible models and whether they are calibrated."""
        from toolkit.ensemble import from_evidence, load_models

        models = load_models(self.params.models)
        return models, from_evidence(models)

    def advise(self) -> Any:
        """Run the advice (a process pool when ``workers`` > 1: the same numbers)."""
        from concurrent.futures import ProcessPoolExecutor

        from toolkit._pool import worker_setup
        from toolkit.advice import advise

        models, self.calibrated = self.ensemble()
        kw = dict(
            cohort=self.roster_cohort,
            seed=self.params.seed,
            n0=self.params.n0,
            change_models=self.params.change_models,
        )
        workers = min(self.params.workers, os.cpu_count() or 1)
        if workers > 1:
            with ProcessPoolExecutor(workers, initializer=worker_setup) as pool:
                return advise(self.plan(), models, mapper=pool.map, **kw)
        return advise(self.plan(), models, **kw)

    # -- the contract's declarations (no arms: the advice runs its own experiments) ------
    def arms(self) -> dict[str, Any]:
        return {}

    def headlines(self) -> list[Headline]:
        return []

    # -- tables ------------------------------------------------------------------------------
    @staticmethod
    def design_table(advice: Any) -> pd.DataFrame:
        """Every design with its levels, status, selection record and panel metrics."""
        return advice.designs.copy()

    def save_all(self, advice: Any) -> None:
        """Save the tables: designs, selection stages, scenarios, what would change."""
        from toolkit.advice import whatif_data

        self.save_tables(
            designs=self.design_table(advice),
            stages=advice.selection.stages,
            cells=advice.selection.cells,
            scenarios=advice.models,
            change=advice.change if not advice.change.empty else None,
            whatif=whatif_data(advice),
        )

    def findings(self, advice: Any) -> list[str]:
        """The page's first lines; a stand-in ensemble is said first."""
        out = advice.findings()
        if not getattr(self, "calibrated", True):
            out.insert(
                0,
                "Development run: no calibrated ensemble is shipped, so the "
                "'plausible models' are a sample of the prior, not models matched "
                "against evidence.",
            )
        return out

    # -- the page ------------------------------------------------------------------------------
    @staticmethod
    def show_whatif(advice: Any) -> None:
        """The what-if panel inline (Vega-Lite with its scripts inlined: no network), also
        saved as ``figures/whatif.html``."""
        from toolkit._io import write_text
        from toolkit.advice import whatif_chart

        chart = whatif_chart(advice)
        folder = output_dir() / "figures"
        folder.mkdir(exist_ok=True)
        write_text(chart.to_html(inline=True), folder / "whatif.html", formats=(".html",))
        show_html(chart.to_html(inline=True, fullhtml=False, output_div="whatif"))

    @staticmethod
    def figures(advice: Any) -> list[tuple]:
        from toolkit.advice import pareto_figure

        return [
            (
                pareto_figure(advice),
                "pareto",
                "Each design's selection outcome (points) against its mean coordinator "
                "hours; the line joins the Pareto set, the star is the recommended design, "
                "the dashed line the budget.",
            )
        ]

    def show_tables(self, advice: Any) -> None:
        """The shortlist, fitted to the page: the design column wraps (the report's tables
        keep cells on one line, which made this one wider than the page)."""
        from toolkit.advice import shortlist_table
        from toolkit.report import table_html

        markup = table_html(
            shortlist_table(advice),
            caption="The recommended design, the best the selection chose, the designs "
            "statistically indistinguishable from that best, and the Pareto set of outcome "
            "against coordinator hours",
        )
        show_html(markup.replace("<tr><td>", '<tr><td style="white-space:normal;min-width:15rem">'))

    def mechanism_text(self) -> str:
        p = self.params
        cohort = (
            self.cohort_words()
            if p.roster is not None
            else f"a fresh synthetic cohort of {p.pairs} mentees and "
            f"{self.plan().mentors} mentors per replication"
        )
        return (
            f"Every design runs for {p.weeks} weeks with {cohort}; replication r draws "
            "the same cohort, matchings and per-pair random numbers in every design and "
            "every plausible model (common random numbers). A plausible model is a "
            "behaviour model from the ensemble."
        )

    def methods_text(self, advice: Any) -> str:
        sel = advice.selection
        i = sel.inputs
        return (
            "Designs are the product of the registries' policies, cadences, meeting "
            "lengths, check-in schedules and actions on a flag; designs whose planned "
            "check-in hours exceed the budget, or whose planned meeting hours a month "
            "exceed the availability, are dropped before simulation. The selection "
            "(toolkit.selection.select_best) screens (Nelson, Swann, Goldsman & Song 2001) "
            "and then runs Kim & Nelson's fully sequential procedure in its KN++ form "
            "(variances updated every stage; Kim & Nelson 2001, 2006) with common "
            "random numbers, robust over the plausible models (Fan, Hong & Zhang 2020) and "
            "with the simulated coordinator hours as a stochastic constraint (Andradottir "
            "& Kim 2010; Healey, Andradottir & Kim 2014). "
            + sel.guarantee
            + ("" if sel.guarantee_holds else " The guarantee does not hold for this run.")
            + f" It used {sel.total_replications:,} design-model replications "
            f"(first stage n0 = {i['n0']}, h^2 = {i['kn_h2']:.3g} after it). The designs said "
            "to be indistinguishable are those not shown to be more than delta worse than "
            "the chosen best on the replications they share with it (a simultaneous lower "
            "confidence bound on the gap, Bonferroni over designs and scenario pairs; a "
            "description after the fact, not part of the guarantee). The recommendation "
            "rule: run the cheapest of these (least mean coordinator hours on the panel "
            "below; ties: the better objective), and the chosen best when none of them is "
            "cheaper; the chosen best is named beside it. Because being indistinguishable "
            "means only that the data could not show a gap of more than delta, the "
            "recommended design is not guaranteed to be within delta of the best; the "
            "guarantee is the chosen best's. Every design within the budget is then "
            f"evaluated on the same {advice.inputs['panel_replications']} replications of "
            "every model for the tables and the what-if panel; marginal cost is "
            "coordinator hours per additional completed pair against the cheapest design. "
            "What would change the advice compares the recommended design with the "
            f"strongest rival under {advice.change_models} plausible models "
            f"({advice.inputs['change_replications']} replications each) and describes "
            "where the rival wins with a PRIM box (Friedman & Fisher 1999; EMA Workbench)."
        )

    def performance_text(self, advice: Any) -> str:
        d = advice.designs
        ran = d["objective"].notna()
        return (
            f"Monte Carlo standard errors of the designs' mean completion are "
            f"{100 * d.loc[ran, 'completion_mcse'].min():.1f} to "
            f"{100 * d.loc[ran, 'completion_mcse'].max():.1f} points "
            f"({int(d.loc[ran, 'programs'].iloc[0])} simulated programs per design); the "
            "selection's own error is bounded by its guarantee."
        )

    # -- sweeps: the recommended design's numbers ------------------------------------------
    @classmethod
    def sweep_estimates(cls, run_dir: str | os.PathLike) -> pd.DataFrame:
        """Sweep rows of a finished run: the recommended design's completion, learning
        (points) and coordinator hours, each with mean +- 1.96 Monte Carlo SE."""
        run_dir = Path(run_dir)
        json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
        t = pd.read_parquet(run_dir / "tables" / "designs.parquet")
        r = t[t["recommended"]].iloc[0]
        rows = []
        for name, scale in (("completion", 100.0), ("learning", 100.0), ("hours", 1.0)):
            m, se = r[f"{name}_mean"] * scale, r[f"{name}_mcse"] * scale
            rows.append(
                {
                    "estimate_name": f"recommended ({r['label']}): {name}",
                    "estimate": m,
                    "ci_low": m - 1.96 * se,
                    "ci_high": m + 1.96 * se,
                }
            )
        return pd.DataFrame(rows)


STUDY = Advise.record()
