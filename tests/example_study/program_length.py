"""The example study of CONTRIBUTING.md: does a longer program keep more pairs going?

A whole study on the contract: parameters from the shared groups plus two of its own, two
arms, one headline contrast, an analysis, findings and one figure. Everything else
(the spec, simulation, the headline over the plausible models, sweep rows, limitations, the standard sections) comes
from :class:`toolkit.studies.BaseStudy`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import Field

from toolkit.studies import BaseStudy, Cadence, CohortGroup, Headline, ModelsGroup


class Parameters(ModelsGroup, CohortGroup):
    """Parameters of the program_length study."""

    study = "program_length"

    cadence: Cadence = Field("biweekly", description="Meeting schedule of both arms.")
    short_weeks: int = Field(13, ge=4, le=52, description="Length of the short program, weeks.")
    replicates: int = Field(20, ge=1, le=2000, description="Simulated programs per arm.")


class ProgramLength(BaseStudy):
    """Does a longer program keep more pairs going?"""

    name = "program_length"
    title = "Does a longer program keep more pairs going?"
    question = "Do more pairs complete a 26-week program than a short one?"
    Parameters = Parameters
    notebook = Path(__file__).with_suffix(".ipynb")
    model_limitation = "completion over a longer program is measured over more weeks."

    def arms(self) -> dict[str, Any]:
        from toolkit.experiment import Arm
        from toolkit.program import ProgramDesign

        p = self.params
        return {
            "short": Arm("random", ProgramDesign(cadence=p.cadence, duration_weeks=p.short_weeks)),
            "long": Arm("random", ProgramDesign(cadence=p.cadence, duration_weeks=26)),
        }

    def headlines(self) -> list[Headline]:
        return [
            Headline(
                "long",
                "short",
                text="the completion difference between the long and the short program",
            )
        ]

    def analyse(self, outcomes: pd.DataFrame) -> pd.DataFrame:
        from toolkit.analysis import compare_arms

        data = outcomes.assign(arm=pd.Categorical(outcomes.arm, categories=["short", "long"]))
        return compare_arms(data, "completed", reference="short")

    def findings(self, estimates: pd.DataFrame) -> list[str]:
        from toolkit.report import sentence

        rows = estimates[estimates.effect == "risk_difference"]
        return [sentence(r, outcome="completion") for r in rows.to_dict("records")]

    def figures(self, estimates: pd.DataFrame) -> list[tuple]:
        from toolkit.plots import forest_plot

        rows = estimates[estimates.effect == "risk_difference"]
        return [
            (
                forest_plot(
                    rows,
                    effect="risk_difference",
                    outcome_label="completion",
                    title="Long against short programs",
                ),
                "completion",
                "Difference in completion, long minus short program, with its 95% CI.",
            )
        ]

    def mechanism_text(self) -> str:
        p = self.params
        return (
            f"{p.replicates} simulated programs per arm, each with {self.cohort_words()}, "
            f"meeting {p.cadence} for {p.short_weeks} or 26 weeks."
        )


STUDY = ProgramLength.record()
