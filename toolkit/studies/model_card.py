"""Study ``model_card``: how far can the model be trusted?

Four parts, each computed, none hard-coded:

- the model's default against the calibration table
  (:func:`toolkit.calibration.calibration_report`): the **targets** (statistics of the
  model with their Monte Carlo error) apart from the **checks** (a preset's definition
  against the program it copies, which cannot fail by simulation);
- for every parameter the ensemble varies, its **prior against the accepted models**
  (:meth:`toolkit.ensemble.Ensemble.summary`): how much the evidence narrowed it;
- the **procedure** that built the ensemble (its recorded name and citation);
- the headline contrasts of the other studies over every plausible model
  (:func:`toolkit.sensitivity.ensemble_contrast`) and the list of those whose verdict is
  "the evidence cannot tell": the answers the evidence cannot settle.

>>> card = ModelCard(contrasts=["optimal_vs_random"])
>>> s = card.contrast_spec(card.headlines()[0])
>>> list(s.arms), s.replicates
(['random', 'optimal'], 6)
"""

from __future__ import annotations

import os
import typing
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from toolkit.studies._base import BaseStudy, Headline
from toolkit.studies._common import first_models as load_models
from toolkit.studies._params import CohortGroup

__all__ = [
    "CONTRASTS",
    "STUDY",
    "ModelCard",
    "Parameters",
    "load_models",
    "narrowing_table",
    "parameter_summary",
    "target_count",
    "unsettled",
]

ContrastName = Literal["weekly_vs_biweekly", "optimal_vs_random", "monthly_checkins_vs_none"]
# name -> (arm, its design and policy; reference arm, its design and policy; outcome; words)
CONTRASTS: dict[str, tuple] = {
    "weekly_vs_biweekly": (
        ("weekly", "random", {"cadence": "weekly"}),
        ("biweekly", "random", {"cadence": "biweekly"}),
        "completed",
        "weekly rather than biweekly meetings (completion)",
    ),
    "optimal_vs_random": (
        ("optimal", "optimal", {}),
        ("random", "random", {}),
        "completed",
        "optimal rather than random matching (completion)",
    ),
    "monthly_checkins_vs_none": (
        ("monthly_checkins", "random", {"checkins": "monthly"}),
        ("no_checkins", "random", {}),
        "completed",
        "monthly check-ins with coaching rather than none (completion)",
    ),
}
NARROWED = 0.5  # a parameter is "narrowed" when its accepted 90% range is under half its prior


class Parameters(CohortGroup):
    """Parameters of the model_card study."""

    study = "model_card"
    # the ensemble file is an input the host side checksums, like a roster
    input_files: ClassVar[tuple[str, ...]] = ("models",)

    calibration_replicates: int = Field(
        12, ge=2, le=500, description="Simulated programs per calibration check."
    )
    contrasts: tuple[ContrastName, ...] = Field(
        typing.get_args(ContrastName),
        description="Headline contrasts run over every plausible model.",
    )
    models: str | None = Field(
        None,
        description="Ensemble file of plausible models (Parquet); "
        "none: the ensemble shipped with the toolkit.",
    )
    n_models: int = Field(
        200, ge=2, le=100_000, description="Plausible models used (the ensemble's first ones)."
    )
    seeds: int = Field(5, ge=1, le=20, description="Sampling seeds each verdict is checked under.")
    contrast_replicates: int = Field(
        6, ge=2, le=200, description="Replicates per model of each contrast."
    )
    contrast_pairs: int = Field(
        80, ge=10, le=2000, description="Mentees per cohort in each contrast."
    )


def parameter_summary(table: pd.DataFrame) -> dict[str, int]:
    """How many parameters are calibrated against the literature and how many are assumptions."""
    kind = table["source"].astype(str).str.split(r"[:( ]", n=1, regex=True).str[0]
    return {
        "parameters": len(table),
        "calibrated": int((kind == "calibrated").sum()),
        "assumptions": int((kind == "assumption").sum()),
        "other": int((~kind.isin(["calibrated", "assumption"])).sum()),
    }


def target_count(cal: pd.DataFrame) -> dict[str, Any]:
    """Counts of the calibration table by kind: targets (statistics that can miss) and
    checks (a preset's definitions); only targets count as evidence the model meets."""
    kind = cal["kind"].astype(str)
    inside = cal["inside"].astype(bool)
    tgt, chk = kind == "target", kind == "check"
    return {
        "targets": int(tgt.sum()),
        "targets_inside": int((tgt & inside).sum()),
        "targets_outside": cal.loc[tgt & ~inside, "target_id"].astype(str).tolist(),
        "checks": int(chk.sum()),
        "checks_matching": int((chk & inside).sum()),
        "checks_differing": cal.loc[chk & ~inside, "target_id"].astype(str).tolist(),
    }


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


def narrowing_table(summary: pd.DataFrame) -> pd.DataFrame:
    """``Ensemble.summary()`` with a plain verdict per parameter: "narrowed" (the accepted
    90% range is under half the prior range) or "left near its prior"; most narrowed first."""
    out = summary.sort_values("share_of_prior_range", kind="stable").reset_index(drop=True)
    out["evidence"] = np.where(
        out.share_of_prior_range < NARROWED, "narrowed", "left near its prior"
    )
    return out


def unsettled(results: dict[str, Any]) -> list[str]:
    """Names of the contrasts whose verdict over the plausible models is "the evidence
    cannot tell" (from the computed findings; never a fixed list)."""
    from toolkit.sensitivity import CANNOT_TELL

    return [name for name, f in results.items() if f.verdict == CANNOT_TELL]


class ModelCard(BaseStudy):
    """How far can the model be trusted? Its headline contrasts are the other studies'
    main questions, each run over every plausible model on its own small two-arm spec."""

    name = "model_card"
    title = "How far can the model be trusted?"
    question = (
        "Which published findings does the model reproduce, how far did that evidence "
        "narrow its parameters, and which design answers does the evidence still leave "
        "open?"
    )
    Parameters = Parameters
    sweep_name = "{estimate_name}"
    notes = (
        "Meeting a calibration target shows the model can reproduce a published statistic; "
        "it does not show that every mechanism behind it is right.",
        "The literature's ranges come from different programs, countries and measures; a "
        "real program may sit outside them.",
        "The plausible models are those the calibration targets do not rule out, drawn from "
        "the priors; a parameter the targets do not touch stays as uncertain as its prior, and "
        "a prior range chosen by the toolkit's authors bounds what the ensemble can say.",
        "Each contrast uses small cohorts ({params.contrast_pairs} mentees) and "
        "{params.contrast_replicates} replicates per model to stay quick; its Monte Carlo "
        "check says whether that is enough beside the spread between models.",
    )

    def headlines(self) -> list[Headline]:
        """One per chosen contrast of :data:`CONTRASTS`."""
        return [
            Headline(
                CONTRASTS[n][0][0],
                CONTRASTS[n][1][0],
                CONTRASTS[n][2],
                text=CONTRASTS[n][3],
                rows={"contrast": n},
            )
            for n in self.params.contrasts
        ]

    def arms(self) -> dict[str, Any]:
        from toolkit.experiment import Arm
        from toolkit.program import ProgramDesign

        return {
            label: Arm(policy, ProgramDesign(**design))
            for n in self.params.contrasts
            for label, policy, design in CONTRASTS[n][:2]
        }

    def cohort_source(self) -> Any:  # small synthetic cohorts for the contrasts
        from toolkit.cohort import CohortSpec

        n = self.params.contrast_pairs
        return CohortSpec(n_mentors=round(n * 1.2), n_mentees=n)

    @property
    def replicates(self) -> int:
        return int(self.params.contrast_replicates)

    def contrast_spec(self, headline: Headline) -> Any:
        """The two-arm copy of the spec one headline contrast runs on."""
        from toolkit.experiment import ExperimentSpec

        s = self.ensemble_spec()
        return ExperimentSpec(
            cohort=s.cohort,
            arms={
                headline.reference: s.arms[headline.reference],
                headline.arm: s.arms[headline.arm],
            },
            replicates=s.replicates,
            seed=s.seed,
            behavior=s.behavior,
        )

    # -- the parts of the card --------------------------------------------------------------
    def models(self) -> Any:
        """The ensemble of plausible models (:func:`load_models`)."""
        return load_models(self.params)

    def ensemble_findings(self, models: Any) -> dict[str, Any]:
        """name -> ``EnsembleFinding`` of each headline contrast over ``models``
        (``toolkit.sensitivity.ensemble_contrast``, checked under ``seeds`` seeds)."""
        from toolkit.sensitivity import Contrast, ensemble_contrast

        return {
            h.where()["contrast"]: ensemble_contrast(
                self.contrast_spec(h),
                Contrast(h.arm, h.reference, h.outcome),
                models,
                seeds=self.params.seeds,
                progress=False,
            )
            for h in self.headlines()
        }

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

    @staticmethod
    def procedure_text(models: Any) -> str:
        """The procedure that built the ensemble, as recorded in it."""
        proc = dict(models.procedure)
        name = str(proc.get("name", "unnamed procedure"))
        cite = f" ({proc['citation']})" if proc.get("citation") else ""
        return (
            f"{name}{cite}, seed {models.seed}, {len(models)} models used; ensemble "
            f"fingerprint {models.fingerprint[:12]}"
        )

    @staticmethod
    def ensemble_table(results: dict[str, Any]) -> pd.DataFrame:
        """One row per contrast: median and 90% interval over models (percentage points),
        share of models above zero, verdict, each with its Monte Carlo error."""
        rows = []
        for name, f in results.items():
            s = f.summary
            rows.append(
                {
                    "contrast": name,
                    "models": int(s["models"]),
                    "median_points": 100 * s["median"],
                    "q05_points": 100 * s["q05"],
                    "q95_points": 100 * s["q95"],
                    "share_positive": s["share_positive"],
                    "share_positive_mc_error": s["share_positive_mc_error"],
                    "median_mc_error_points": 100 * s["median_mc_error"],
                    "verdict": f.verdict,
                    "borderline": bool(f.borderline),
                    "seed_verdicts": "; ".join(f.seed_verdicts),
                    "mc_share_of_spread": float(f.mc_check["share"]),
                }
            )
        return pd.DataFrame(rows)

    @staticmethod
    def findings(
        cal: pd.DataFrame,
        table: pd.DataFrame,
        narrowing: pd.DataFrame,
        results: dict[str, Any],
        procedure: str,
    ) -> list[str]:
        """The headline: targets met (targets only), what the evidence narrowed, each
        contrast over the plausible models, and the answers the evidence cannot settle."""
        from toolkit.sensitivity import headline_sentence

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
        for name, f in results.items():
            arm, ref = CONTRASTS[name][0][0], CONTRASTS[name][1][0]
            out.append(
                f"{CONTRASTS[name][3][:1].upper()}{CONTRASTS[name][3][1:]}: "
                + headline_sentence(
                    f,
                    arm=arm.replace("_", " ").replace("checkins", "check-ins"),
                    reference=ref.replace("_", " ").replace("checkins", "check-ins"),
                    more="keeps more pairs",
                    less="keeps fewer pairs",
                )
                + f" Verdict: {f.verdict_text}."
            )
        open_ = unsettled(results)
        noisy = [n for n in open_ if not results[n].mc_check["small"]]
        out.append(
            "Answers the evidence cannot settle: "
            + (
                "; ".join(CONTRASTS[n][3] for n in open_) + "."
                if open_
                else f"none of the {len(results)} headline contrasts examined."
            )
            + (
                f" For {len(noisy)} of them simulation noise is not small beside the "
                "spread between models, so more replicates per model could still move "
                "the verdict (see the Monte Carlo check)."
                if noisy
                else ""
            )
        )
        return out

    @staticmethod
    def more_findings(cal: pd.DataFrame, results: dict[str, Any]) -> dict[str, list[str]]:
        """Each calibration row against its range (targets and checks apart), and each
        contrast's Monte Carlo check."""
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
            "Monte Carlo error of the contrasts": [
                f"{CONTRASTS[n][3][:1].upper()}{CONTRASTS[n][3][1:]}: {f.mc_check['text']}"
                for n, f in results.items()
            ],
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
        stat, preset = frame[kind == "target"], frame[kind == "check"]
        if len(stat):
            out.append(
                (
                    calibration_plot(
                        stat,
                        unit="correlation, proportion or effect size",
                        title="The default model against the targets",
                    ),
                    "calibration_targets",
                    "Each calibration target: the published range (grey bar) and the "
                    "default model's simulated value (point; green inside, orange "
                    "outside).",
                )
            )
        if len(preset):
            out.append(
                (
                    calibration_plot(
                        preset,
                        unit="sessions, weeks or days",
                        title="Preset checks against the programs they copy",
                    ),
                    "calibration_checks",
                    "Each preset check (a published program's sessions, meeting interval, "
                    "survey timing, inactivity rule): the published value or range (grey) "
                    "and the preset's (point). A check of a definition, not evidence.",
                )
            )
        return out

    @classmethod
    def sweep_estimates(cls, run_dir: str | os.PathLike) -> pd.DataFrame:
        """Each contrast's median over the plausible models (percentage points) with its
        90% interval over models (the spread between models, not Monte Carlo error)."""
        t = pd.read_parquet(Path(run_dir) / "tables" / "ensemble_contrasts.parquet")
        return pd.DataFrame(
            {
                "estimate_name": [f"{c}: median over models (points)" for c in t.contrast],
                "estimate": t.median_points.to_numpy(float),
                "ci_low": t.q05_points.to_numpy(float),
                "ci_high": t.q95_points.to_numpy(float),
            }
        )

    def mechanism_text(self) -> str:
        p = self.params
        return (
            f"Calibration table: {p.calibration_replicates} simulated programs of "
            f"{p.n_mentors} mentors and {p.n_mentees} mentees each at the default model "
            "(random matching, 26 weeks, biweekly meetings, plus weekly, every-3-weeks and "
            "monthly arms, a 52-week arm and an unpaired control group), every statistic "
            "measured as the table's how-to-check column says; presets are compared with "
            "their source's definition. Contrasts: each headline contrast runs its two arms "
            f"under each of up to {p.n_models} plausible models with common random numbers, "
            f"{p.contrast_replicates} replicates of {p.contrast_pairs} mentees per model, "
            f"under {p.seeds} sampling seeds."
        )

    def performance_text(self, cal: pd.DataFrame, results: dict[str, Any]) -> str:
        """Monte Carlo error of the calibration statistics and of the contrasts, in words."""
        from toolkit.report import fmt_number

        mc = cal.loc[cal["kind"].astype(str) == "target", "mcse"]
        span = (
            f"{fmt_number(mc.min(), 3)} to {fmt_number(mc.max(), 3)}"
            if len(mc)
            else "not available"
        )
        errs = [100 * f.summary["share_positive_mc_error"] for f in results.values()]
        share = (
            f"; the Monte Carlo error of each share of models above zero is at most "
            f"{max(errs):.1f} percentage points (bootstrap over replicates within "
            "models)"
            if errs
            else ""
        )
        return (
            f"Each simulated calibration statistic is the mean over "
            f"{self.params.calibration_replicates} replicates; its Monte Carlo standard "
            f"error is {span} in the target's unit. Preset checks are exact{share}. Monte "
            "Carlo error is simulation noise, never an interval about programs; the 90% "
            "interval over models is the spread between plausible models."
        )


STUDY = ModelCard.record()
