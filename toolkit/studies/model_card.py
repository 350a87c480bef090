"""Study ``model_card``: how far can the model be trusted?

Four parts, each computed, none hard-coded:

- the model's default against the calibration table
  (:func:`toolkit.calibration.calibration_report`): the **targets** (statistics of the
  model with their Monte Carlo error) apart from the **checks** (a preset's definition
  against the program it copies, which cannot fail by simulation);
- for every parameter the ensemble varies, its **prior against the accepted models**
  (:meth:`toolkit.ensemble.Ensemble.summary`): how much the evidence narrowed it;
- the **procedure** that built the ensemble (its recorded name and citation);
- the headline contrasts of the other studies over every plausible model (the study contract's
  across-model run, :attr:`BaseStudy.across`) and the list of those whose verdict is
  "the evidence cannot tell": the answers the evidence cannot settle.

>>> card = ModelCard(contrasts=["optimal_vs_random"])
>>> list(card.spec.arms), card.spec.replicates
(['optimal', 'random'], 20)
"""

from __future__ import annotations

import os
import typing
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field

from toolkit.studies._base import BaseStudy, Headline, read_parameters
from toolkit.studies._common import pairs_cohort
from toolkit.studies._params import CohortGroup, ModelsGroup

__all__ = [
    "CONTRASTS",
    "STUDY",
    "ModelCard",
    "Parameters",
    "unsettled",
]

ContrastName = Literal["weekly_vs_biweekly", "optimal_vs_random", "monthly_checkins_vs_none"]
# name -> (arm, its policy and design; reference arm, its; words), each on completion
CONTRASTS: dict[str, tuple] = {
    "weekly_vs_biweekly": (
        ("weekly", "random", {"cadence": "weekly"}),
        ("biweekly", "random", {"cadence": "biweekly"}),
        "weekly rather than biweekly meetings (completion)",
    ),
    "optimal_vs_random": (
        ("optimal", "optimal", {}),
        ("random", "random", {}),
        "optimal rather than random matching (completion)",
    ),
    "monthly_checkins_vs_none": (
        ("monthly_checkins", "random", {"checkins": "monthly"}),
        ("no_checkins", "random", {}),
        "monthly check-ins with coaching rather than none (completion)",
    ),
}
SWEEP = {"median": "estimate", "q05": "ci_low", "q95": "ci_high"}  # across_models -> sweep
#: The calibration figures, one per kind of row: kind -> (name, unit, title, caption).
CALIBRATION_FIGURES = {
    "target": (
        "calibration_targets",
        "correlation, proportion or effect size",
        "The default model against the targets",
        "Each calibration target: the published range (grey bar) and the default model's "
        "simulated value (point; green inside, orange outside).",
    ),
    "check": (
        "calibration_checks",
        "sessions, weeks or days",
        "Preset checks against the programs they copy",
        "Each preset check (a published program's sessions, meeting interval, survey timing, "
        "inactivity rule): the published value or range (grey) and the preset's (point). A "
        "check of a definition, not evidence.",
    ),
}


class Parameters(ModelsGroup, CohortGroup):
    """Parameters of the model_card study."""

    study = "model_card"

    calibration_replicates: int = Field(
        12, ge=2, le=500, description="Simulated programs per calibration check."
    )
    contrasts: tuple[ContrastName, ...] = Field(
        typing.get_args(ContrastName),
        description="Headline contrasts run over every plausible model.",
    )
    contrast_pairs: int = Field(
        80, ge=10, le=2000, description="Mentees per cohort in each contrast."
    )


def _mc_error_sentence(cal: pd.DataFrame) -> str:
    """How the targets fare judged with their Monte Carlo error (``within_mc_error`` of
    ``calibration_report``: the range widened by 2 Monte Carlo SE); empty without it."""
    if "within_mc_error" not in cal:
        return ""
    from toolkit.calibration import MC_SE_TOLERANCE

    tgt = cal[cal["kind"].astype(str) == "target"]
    within = tgt["within_mc_error"].astype(bool)
    beyond = tgt.loc[~within, "target_id"].astype(str).tolist()
    return (
        f" Judged with Monte Carlo error (the published range widened by "
        f"{MC_SE_TOLERANCE:g} Monte Carlo standard errors each side), it is consistent "
        f"with {int(within.sum())} of {len(tgt)}"
        + (f"; beyond that error on {', '.join(beyond)}." if beyond else ".")
    )


def unsettled(across: Any) -> list[str]:
    """The contrasts (their words) whose verdict over the plausible models is "the evidence
    cannot tell" (from the computed findings of ``across``; never a fixed list)."""
    from toolkit.sensitivity import CANNOT_TELL

    return [
        h.text
        for h, f in zip(across.headlines, across.findings, strict=True)
        if f.verdict == CANNOT_TELL
    ]


class ModelCard(BaseStudy):
    """How far can the model be trusted? Its headline contrasts are the other studies'
    main questions, all run over every plausible model in one stacked pass."""

    name = "model_card"
    title = "How far can the model be trusted?"
    question = (
        "Which published findings does the model reproduce, how far did that evidence "
        "narrow its parameters, and which design answers does the evidence still leave "
        "open?"
    )
    Parameters = Parameters
    notes = (
        "Meeting a calibration target shows the model can reproduce a published statistic; "
        "it does not show that every mechanism behind it is right.",
        "The literature's ranges come from different programs, countries and measures; a "
        "real program may sit outside them.",
        "The plausible models are those the calibration targets do not rule out, drawn from "
        "the priors; a parameter the targets do not touch stays as uncertain as its prior, and "
        "a prior range chosen by the toolkit's authors bounds what the ensemble can say.",
        "Each contrast uses small cohorts ({params.contrast_pairs} mentees) and "
        "{params.model_replicates} replicates per model to stay quick; its Monte Carlo "
        "check says whether that is enough beside the spread between models.",
    )

    def headlines(self) -> list[Headline]:
        """One per chosen contrast of :data:`CONTRASTS`."""
        return [
            Headline(arm[0], ref[0], text=text, rows={"contrast": n})
            for n in self.params.contrasts
            for arm, ref, text in [CONTRASTS[n]]
        ]

    def arms(self) -> dict[str, Any]:
        from toolkit.experiment import Arm
        from toolkit.program import ProgramDesign

        return {
            label: Arm(policy, ProgramDesign(**design))
            for n in self.params.contrasts
            for label, policy, design in CONTRASTS[n][:2]
        }

    def arm_words(self, arm: str) -> str:
        return arm.replace("_", " ").replace("checkins", "check-ins")

    def cohort_source(self) -> Any:  # small synthetic cohorts for the contrasts
        return pairs_cohort(self.params.contrast_pairs)

    @property
    def replicates(self) -> int:
        return int(self.params.model_replicates)

    # -- the parts of the card --------------------------------------------------------------
    def calibration(self) -> pd.DataFrame:
        """Every row of the calibration table at the default model (``calibration_report``),
        with its ``kind``: target or check."""
        from toolkit.calibration import calibration_report

        p = self.params
        return calibration_report(
            replicates=p.calibration_replicates,
            n_mentees=p.n_mentees,
            n_mentors=p.n_mentors,
            seed=p.seed,
        )

    def procedure_text(self) -> str:
        """The procedure that built the ensemble, as recorded in it."""
        models = self.ensemble
        proc = dict(models.procedure)
        name = str(proc.get("name", "unnamed procedure"))
        cite = f" ({proc['citation']})" if proc.get("citation") else ""
        return (
            f"{name}{cite}, seed {models.seed}, {len(models)} models used; ensemble "
            f"fingerprint {models.fingerprint[:12]}"
        )

    @staticmethod
    def findings(
        cal: pd.DataFrame, table: pd.DataFrame, narrowing: pd.DataFrame, across: Any, procedure: str
    ) -> list[str]:
        """The headline: targets met (targets only), what the evidence narrowed, each
        contrast over the plausible models (``across``: :attr:`BaseStudy.across`), and the
        answers the evidence cannot settle."""
        from toolkit.calibration import parameter_summary, target_count

        c = target_count(cal)
        out = [
            f"At its default parameters the model falls inside the published range on "
            f"{c['targets_inside']} of {c['targets']} calibration targets"
            + (f"; outside on {', '.join(c['targets_outside'])}." if c["targets_outside"] else ".")
            + _mc_error_sentence(cal)
            + f" The {c['checks']} preset checks compare a preset's definition with the "
            "program it copies; they are not evidence about the model."
        ]
        n = int((narrowing.evidence == "narrowed").sum())
        out.append(
            f"The plausible models come from {procedure}. The evidence narrowed {n} of "
            f"the {len(narrowing)} varied parameters to under half their prior range; "
            "the others it left near their priors."
        )
        s = parameter_summary(table)
        out.append(
            f"Of the {s['parameters']} behaviour parameters, {s['calibrated']} have a "
            f"published anchor and {s['assumptions']} are assumptions with a prior range "
            "(where the literature is silent)."
        )
        out += [
            f"{h.text[:1].upper()}{h.text[1:]}: {sentence}"
            for h, sentence in zip(across.headlines, across.sentences, strict=True)
        ]
        open_ = unsettled(across)
        out.append(
            "Answers the evidence cannot settle: "
            + (
                "; ".join(open_) + "."
                if open_
                else f"none of the {len(across.headlines)} headline contrasts examined."
            )
        )
        return out

    @staticmethod
    def more_findings(cal: pd.DataFrame, across: Any) -> dict[str, list[str]]:
        """Each calibration row against its range (targets and checks apart), and each
        contrast's verdict with its Monte Carlo error."""
        from toolkit.report import fmt_number

        def item(r: Any) -> str:
            rng = (
                fmt_number(r.low, 3)
                if r.low == r.high
                else f"{fmt_number(r.low, 3)} to {fmt_number(r.high, 3)}"
            )
            mc = f" (Monte Carlo SE {fmt_number(r.mcse, 3)})" if r.mcse > 0 else ""
            where = "inside" if r.inside else "outside"
            if not r.inside and getattr(r, "within_mc_error", False):
                where = "outside, by less than 2 Monte Carlo SE,"
            return (
                f"{r.target_id} ({r.statistic}): simulated {fmt_number(r.simulated, 3)}{mc}, "
                f"{where} the published {rng}."
            )

        kind = cal["kind"].astype(str)
        return {
            "Calibration targets one by one": [
                item(r) for r in cal[kind == "target"].itertuples(index=False)
            ],
            "Preset checks (definitions, not evidence)": [
                item(r) for r in cal[kind == "check"].itertuples(index=False)
            ],
            "Each verdict with its Monte Carlo error": list(across.details),
        }

    @staticmethod
    def figures(cal: pd.DataFrame, narrowing: pd.DataFrame) -> list[tuple]:
        """(figure, name, caption) for each figure of the report."""
        from toolkit.plots import calibration_plot, prior_accepted_plot

        frame = cal.rename(columns={"target_id": "target"})
        kind = frame["kind"].astype(str)
        out = [
            (
                prior_accepted_plot(narrowing),
                "prior_vs_accepted",
                "Each varied parameter's prior range (grey, scaled to 0-1) against the 5-95% "
                "range (blue) and median (point) of the plausible models: a short blue bar is a "
                "parameter the evidence narrowed; a bar as long as the grey one was left at its "
                "prior.",
            )
        ]
        for k, (name, unit, title, caption) in CALIBRATION_FIGURES.items():
            rows = frame[kind == k]
            if len(rows):
                out.append((calibration_plot(rows, unit=unit, title=title), name, caption))
        return out

    @classmethod
    def sweep_estimates(cls, run_dir: str | os.PathLike) -> pd.DataFrame:
        """Each contrast's median over the plausible models (percentage points) with its
        90% interval over models (the spread between models, not Monte Carlo error)."""
        from toolkit.studies._common import sweep_rows

        names = read_parameters(run_dir)["contrasts"]  # the headlines' order (as recorded)
        t = pd.read_parquet(Path(run_dir) / "tables" / "across_models.parquet")
        t = t.assign(contrast=[names[i] for i in t.headline]).rename(columns=SWEEP)
        return sweep_rows(t, "{contrast}: median over models (points)", scale=100.0)

    def mechanism_text(self) -> str:
        p = self.params
        return (
            f"Calibration table: {p.calibration_replicates} simulated programs of "
            f"{p.n_mentors} mentors and {p.n_mentees} mentees each at the default model "
            "(random matching, 26 weeks, biweekly meetings, plus weekly, every-3-weeks and "
            "monthly arms, a 52-week arm and an unpaired control group), every statistic "
            "measured as the table's how-to-check column says; presets are compared with "
            "their source's definition. Contrasts: every arm of the headline contrasts runs "
            f"under each of {p.n_models} plausible models with common random numbers, "
            f"{p.model_replicates} replicates of {p.contrast_pairs} mentees per model."
        )

    def performance_text(self, cal: pd.DataFrame) -> str:
        """Monte Carlo error of the calibration statistics, in words (the contrasts' is in
        :meth:`across_methods`)."""
        from toolkit.report import fmt_number

        mc = cal.loc[cal["kind"].astype(str) == "target", "mcse"]
        span = (
            f"{fmt_number(mc.min(), 3)} to {fmt_number(mc.max(), 3)}"
            if len(mc)
            else "not available"
        )
        return (
            f"Each simulated calibration statistic is the mean over "
            f"{self.params.calibration_replicates} replicates; its Monte Carlo standard "
            f"error is {span} in the target's unit. Preset checks are exact. Monte "
            "Carlo error is simulation noise, never an interval about programs; the 90% "
            "interval over models is the spread between plausible models."
        )


STUDY = ModelCard.record()
