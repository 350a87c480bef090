"""Study ``model_card``: how far can the model be trusted?

The model against every calibration target of the literature
(:func:`toolkit.calibration.calibration_report`, :func:`toolkit.plots.calibration_plot`),
the table of every behaviour parameter with its source
(:meth:`toolkit.behavior.BehaviorModel.describe`), and the robustness of the headline
contrasts over the assumptions' plausible ranges (``toolkit.sensitivity``).

>>> card = ModelCard(contrasts=["optimal_vs_random"])
>>> s = card.robustness_spec(card.headlines()[0])
>>> list(s.arms), s.replicates
(['random', 'optimal'], 6)
"""

from __future__ import annotations

import os
import typing
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field

from toolkit.studies._base import BaseStudy, Headline
from toolkit.studies._params import CohortGroup

__all__ = ["CONTRASTS", "STUDY", "ModelCard", "Parameters", "parameter_summary"]

ContrastName = Literal["weekly_vs_biweekly", "optimal_vs_random", "monthly_checkins_vs_none"]
# name -> (arm, its design and policy; reference arm, its design and policy; outcome; words)
CONTRASTS: dict[str, tuple] = {
    "weekly_vs_biweekly": (("weekly", "random", {"cadence": "weekly"}),
                           ("biweekly", "random", {"cadence": "biweekly"}), "completed",
                           "weekly rather than biweekly meetings (completion)"),
    "optimal_vs_random": (("optimal", "optimal", {}), ("random", "random", {}), "completed",
                          "optimal rather than random matching (completion)"),
    "monthly_checkins_vs_none": (("monthly_checkins", "random", {"checkins": "monthly"}),
                                 ("no_checkins", "random", {}), "completed",
                                 "monthly check-ins with coaching rather than none "
                                 "(completion)"),
}


class Parameters(CohortGroup):
    """Parameters of the model_card study."""

    study = "model_card"

    calibration_replicates: int = Field(12, ge=2, le=500,
                                        description="Simulated programs per calibration check.")
    contrasts: tuple[ContrastName, ...] = Field(
        typing.get_args(ContrastName), description="Headline contrasts whose robustness is checked.")
    robustness_trajectories: int = Field(
        3, ge=2, le=100, description="Morris trajectories over the assumptions (robustness).")
    robustness_replicates: int = Field(
        6, ge=2, le=200, description="Replicates per point of the robustness analysis.")
    robustness_pairs: int = Field(
        80, ge=10, le=2000, description="Mentees per cohort in the robustness analysis.")




def parameter_summary(table: pd.DataFrame) -> dict[str, int]:
    """How many parameters are calibrated against the literature and how many are assumptions."""
    kind = table["source"].astype(str).str.split(r"[:( ]", n=1, regex=True).str[0]
    return {"parameters": len(table), "calibrated": int((kind == "calibrated").sum()),
            "assumptions": int((kind == "assumption").sum()),
            "other": int((~kind.isin(["calibrated", "assumption"])).sum())}


class ModelCard(BaseStudy):
    """How far can the model be trusted? Its headline contrasts are the robustness
    checks of the other studies' main questions, each on its own small two-arm spec."""

    name = "model_card"
    title = "How far can the model be trusted?"
    question = ("Does the model reproduce every published finding it is calibrated against, "
                "where do its parameters come from, and do the headline contrasts hold over "
                "the plausible range of its assumptions?")
    Parameters = Parameters
    robustness_note = None
    notes = (
        "Meeting a calibration target shows the model can reproduce a published statistic; "
        "it does not show that every mechanism behind it is right.",
        "The literature's ranges come from different programs, countries and measures; a "
        "real program may sit outside them.",
        "Assumption parameters have plausible ranges chosen by the toolkit's authors; the "
        "robustness analysis explores those ranges, not every conceivable value.",
        "The robustness analysis uses small cohorts and few replicates per point to stay "
        "quick; a contrast close to zero may be called 'no effect' or 'depends on "
        "assumptions' where more replicates would find a clear sign.")

    def headlines(self) -> list[Headline]:
        """One per chosen contrast of :data:`CONTRASTS`."""
        return [Headline(CONTRASTS[n][0][0], CONTRASTS[n][1][0], CONTRASTS[n][2],
                         text=CONTRASTS[n][3], rows={"contrast": n}) for n in self.params.contrasts]

    def arms(self) -> dict[str, Any]:
        from toolkit.experiment import Arm
        from toolkit.program import ProgramDesign

        return {label: Arm(policy, ProgramDesign(**design)) for n in self.params.contrasts
                for label, policy, design in CONTRASTS[n][:2]}

    def cohort_source(self) -> Any:  # small synthetic cohorts for the robustness analysis
        from toolkit.cohort import CohortSpec

        n = self.params.robustness_pairs
        return CohortSpec(n_mentors=round(n * 1.2), n_mentees=n)

    @property
    def replicates(self) -> int:
        return int(self.params.robustness_replicates)

    def robustness(self) -> dict[str, Any]:
        """name -> ``toolkit.sensitivity.robustness`` result of each headline contrast."""
        return {h.where()["contrast"]: self.robustness_of(h) for h in self.headlines()}

    def calibration(self) -> pd.DataFrame:
        """Every calibration target, simulated (``calibration_report``), with its range."""
        from toolkit.calibration import calibration_report

        p = self.params
        return calibration_report(replicates=p.calibration_replicates, n_mentees=p.n_mentees,
                                  n_mentors=p.n_mentors, seed=p.seed)

    @staticmethod
    def robustness_table(results: Any) -> pd.DataFrame:
        """One row per contrast: the estimate at the default model, the verdict and drivers."""
        rows = []
        for name, res in results.items():
            d = res.default.iloc[0]
            rows.append({"contrast": name, "estimate_at_default": float(d.estimate),
                         "ci_low": float(d.ci_low), "ci_high": float(d.ci_high),
                         "verdict": res.verdict, "drivers": ", ".join(res.drivers[:5]),
                         "points": len(res.points) - 1})
        return pd.DataFrame(rows)

    @staticmethod
    def findings(cal: pd.DataFrame, table: pd.DataFrame, results: dict) -> list[str]:
        """The headline: calibration targets met, the parameters' sources, the verdicts."""
        inside = cal[cal.inside.astype(bool)]
        outside = cal[~cal.inside.astype(bool)]
        out = [f"The model falls inside the literature's range on {len(inside)} of {len(cal)} "
               "calibration targets" + (f"; outside on {', '.join(outside.target_id)}."
                                        if len(outside) else ".")]
        s = parameter_summary(table)
        out.append(f"Of its {s['parameters']} behaviour parameters, {s['calibrated']} are "
                   f"calibrated against published findings and {s['assumptions']} are "
                   "assumptions with a plausible range (where the literature is silent).")
        for name, res in results.items():
            words = CONTRASTS[name][3]
            out.append(f"{words[:1].upper()}{words[1:]}: {res.sentence()}")
        return out

    @staticmethod
    def more_findings(cal: pd.DataFrame) -> dict[str, list[str]]:
        """Each calibration target's simulated value against its range."""
        from toolkit.report import fmt_number

        items = []
        for r in cal.itertuples(index=False):
            rng = (fmt_number(r.low, 3) if r.low == r.high
                   else f"{fmt_number(r.low, 3)} to {fmt_number(r.high, 3)}")
            mc = f" (Monte Carlo SE {fmt_number(r.mcse, 3)})" if r.mcse > 0 else ""
            items.append(f"{r.target_id} ({r.statistic}): simulated {fmt_number(r.simulated, 3)}"
                         f"{mc}, {'inside' if r.inside else 'outside'} the published {rng}.")
        return {"Calibration targets one by one": items}

    @staticmethod
    def figures(cal: pd.DataFrame, results: dict) -> list[tuple]:
        """(figure, name, caption) for each figure of the report."""
        from toolkit.plots import calibration_plot

        frame = cal.rename(columns={"target_id": "target"})
        out = []
        stat, preset = frame[frame.mcse > 0], frame[frame.mcse == 0]
        if len(stat):
            out.append((calibration_plot(stat, unit="correlation, proportion or effect size",
                                         title="The model against published findings"),
                        "calibration_statistics",
                        "Each statistical calibration target (correlations, proportions, effect "
                        "sizes): the published range (grey bar) and the simulated value (point; "
                        "green inside, orange outside)."))
        if len(preset):
            out.append((calibration_plot(preset, unit="sessions, weeks or days",
                                         title="The presets against the programs they copy"),
                        "calibration_presets",
                        "Each preset target (a published program's sessions, meeting interval, "
                        "survey timing, inactivity rule): the published value or range (grey) "
                        "and the preset's (point)."))
        for name, res in results.items():
            out.append((res.figure(), f"robustness_{name}",
                        f"Robustness of {CONTRASTS[name][3]}: the influence of each assumption "
                        "on the contrast (Morris elementary effects); the most influential are "
                        "labelled."))
        return out

    @classmethod
    def sweep_estimates(cls, run_dir: str | os.PathLike) -> pd.DataFrame:
        """Each calibration target's simulated value with a 95% Monte Carlo interval."""
        cal = pd.read_parquet(Path(run_dir) / "tables" / "calibration.parquet")
        return pd.DataFrame({"estimate_name": cal.target_id.to_numpy(),
                             "estimate": cal.simulated.to_numpy(float),
                             "ci_low": (cal.simulated - 1.96 * cal.mcse).to_numpy(float),
                             "ci_high": (cal.simulated + 1.96 * cal.mcse).to_numpy(float)})

    def mechanism_text(self) -> str:
        p = self.params
        return (f"Calibration: {p.calibration_replicates} simulated programs of {p.n_mentors} "
                f"mentors and {p.n_mentees} mentees each (random matching, 26 weeks, biweekly "
                "meetings, plus weekly, every-3-weeks and monthly arms and an unpaired control "
                "group), every statistic measured as the calibration table's how-to-check column "
                f"says. Robustness: each headline contrast runs on {p.robustness_replicates} "
                f"replicates of {p.robustness_pairs} mentees at every point of a Morris design "
                f"with {p.robustness_trajectories} trajectories over the plausible ranges of the "
                "assumption parameters, with common random numbers across points.")

    def performance_text(self, cal: pd.DataFrame) -> str:
        """Monte Carlo error of the calibration statistics, in words."""
        from toolkit.report import fmt_number

        mc = cal.loc[cal.mcse > 0, "mcse"]
        span = (f"{fmt_number(mc.min(), 3)} to {fmt_number(mc.max(), 3)}" if len(mc)
                else "not available")
        return (f"Each simulated calibration statistic is the mean over "
                f"{self.params.calibration_replicates} replicates; its Monte Carlo standard error "
                f"is {span} in the target's unit. Preset targets (session counts, intervals) are "
                "exact. In the robustness analysis a contrast has a clear sign at a point when it "
                "exceeds a Bonferroni threshold of its Monte Carlo standard error.")


STUDY = ModelCard.record()
