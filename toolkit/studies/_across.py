"""Every headline of a study over the ensemble of plausible models (issue 18).

:func:`across_models` runs the arms of all of a study's declared headlines under every model
of the ensemble (``run_experiment(..., models=...)``: common random numbers, one stacked
pass) and, for each headline, gives what a reader needs first: the median over models, the
90% interval over models and the share of models on each side of zero, each with its Monte
Carlo error (``toolkit.sensitivity.summarise_models``), the verdict on the share that agree,
what drives the spread between models (``spread_drivers``) and where the answer flips
(``sign_boxes``, PRIM), in the plain sentence of ``headline_sentence``.

Every model has its own random-number streams (``model_streams="independent"``): common
random numbers across the arms within a model, which is what a contrast needs, but not across
models, so the Monte Carlo errors of different models are independent and the error of a share
of models is about sqrt(sum p_i (1 - p_i)) / N (p_i: the chance that model i's mean lands above
zero) instead of moving with shared draws. A verdict is flagged borderline only when its
category is unstable under another seed: when the share is within two Monte Carlo errors of a
category boundary (75% or 95%).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "AcrossModels",
    "across_models",
    "across_report",
    "across_table",
    "methods_text",
]

#: Fewest models for the spread drivers and PRIM boxes (SALib's given-data estimators need 20).
MIN_MODELS_FOR_DRIVERS = 20
#: Fewest models on the minority side before PRIM looks for where the answer flips.
MIN_FLIPS_FOR_BOX = 5
#: PRIM searches the inputs with the largest PAWN index only: over all ~70 inputs of 200
#: models it peels on noise (measured: a box of density 0.26 on unrelated inputs where the
#: top 8 gave the true one at 0.81) and is 4x slower.
BOX_INPUTS = 8
#: Bootstrap resamples of the drivers' confidence half-widths (the indices do not depend on
#: it; 100 took 3 s per headline over 200 models and 69 inputs).
DRIVER_RESAMPLES = 10
#: Least density (share of a box's models on the flipped side) for a box named in a sentence.
BOX_DENSITY = 0.8

#: Issue 18: the Monte Carlo error of a reported share of models should be at most 2 points;
#: a sentence whose share misses it says so.
SHARE_MC_TARGET = 0.02


@dataclass(frozen=True)
class AcrossModels:
    """What :func:`across_models` found: per headline (in the study's order) its finding
    (``EnsembleFinding``), drivers, PRIM box and sentence; the ensemble's size and
    fingerprint, and the replicates per model."""

    headlines: list[Any]
    findings: list[Any]
    drivers: list[pd.DataFrame]
    boxes: list[pd.DataFrame]
    sentences: list[str]
    models: int
    replicates: int
    fingerprint: str
    procedure: str
    timing: dict[str, float]  # wall seconds: the run, the drivers, the PRIM boxes
    differences: list[pd.DataFrame]  # per headline: model, replicate, difference
    held: tuple[str, ...] = ()  # scenario inputs the ensemble file varies, held by the study
    details: tuple[str, ...] = ()  # per headline: the verdict with its Monte Carlo error

    def per_model(self) -> pd.DataFrame:
        """Every model's answer to every headline: headline, arm, reference, model, estimate,
        mc_se (Monte Carlo standard error over the model's replicates)."""
        parts = [
            f.per_model.assign(headline=i, arm=h.arm, reference=h.reference)
            for i, (h, f) in enumerate(zip(self.headlines, self.findings, strict=True))
        ]
        out = pd.concat(parts, ignore_index=True)
        return out[["headline", "arm", "reference", "model", "estimate", "mc_se", "replicates"]]

    def drivers_table(self) -> pd.DataFrame:
        """The spread drivers of every headline (one row per headline and input)."""
        parts = [
            d.assign(headline=i, arm=h.arm, reference=h.reference)
            for i, (h, d) in enumerate(zip(self.headlines, self.drivers, strict=True))
            if not d.empty
        ]
        return (
            pd.concat(parts, ignore_index=True)
            if parts
            else pd.DataFrame(
                columns=["headline", "arm", "reference", "parameter", "index", "share_of_spread"]
            )
        )

    def boxes_table(self) -> pd.DataFrame:
        """The PRIM box of every headline where the answer flips (one row per restricted
        input)."""
        parts = [
            b.assign(headline=i, arm=h.arm, reference=h.reference)
            for i, (h, b) in enumerate(zip(self.headlines, self.boxes, strict=True))
            if not b.empty
        ]
        return (
            pd.concat(parts, ignore_index=True)
            if parts
            else pd.DataFrame(
                columns=["headline", "arm", "reference", "parameter", "low", "high", "text"]
            )
        )

    def records(self) -> list[dict[str, Any]]:
        """JSON-ready numbers of each headline (``findings.json``'s ``across_models``)."""
        table = across_table(self).astype(object)
        return table.where(table.notna(), None).to_dict("records")


def across_models(study: Any, *, boot: int = 400) -> AcrossModels:
    """Run every declared headline of ``study`` over its ensemble of plausible models (one
    stacked pass over all the headlines' arms) and summarise each; see the module
    docstring."""
    from toolkit.experiment import CONTROL_ARM, OUTCOME_COLUMNS, run_experiment
    from toolkit.sensitivity import (
        Contrast,
        headline_sentence,
        model_contrasts_many,
        sign_boxes,
        spread_drivers,
        summarise_models,
    )
    from toolkit.studies._common import load_models

    heads = study.headlines()
    ens = study.ensemble
    names = {n for h in heads for n in (h.arm, h.reference)}
    base = study.ensemble_spec()
    arms = {n: a for n, a in base.arms.items() if n in names}
    spec = base.replace(
        arms=arms, replicates=study.params.model_replicates, control=CONTROL_ARM in names
    )
    read = {h.outcome for h in heads} | set(study.derive_inputs)
    import time

    t0 = time.perf_counter()
    res = run_experiment(
        spec,
        models=ens,
        tables=("outcomes",),
        progress=False,
        model_streams="independent",
        # chunks of models on a local pool of the study's workers (at most the cores; the
        # same bytes as one process), a fresh one: reusing the workers that had just run
        # design_power's power curve made this run slower (38 s instead of 30 s, measured)
        workers=min(int(study.params.workers), os.cpu_count() or 1),
        # only the columns the headlines and derive() read: a fraction of the table to send
        # back from the workers and put together
        outcome_columns=[c for c in OUTCOME_COLUMNS if c in read],
    )
    timing = {"run": time.perf_counter() - t0, "drivers": 0.0, "boxes": 0.0}
    outcomes = study.derive(res.outcomes)
    params = ens.models
    findings, drivers, boxes, sentences, differences, details = [], [], [], [], [], []
    seed = int(study.params.seed)
    contrasts = [Contrast(h.arm, h.reference, h.outcome) for h in heads]
    for h, diffs in zip(heads, model_contrasts_many(outcomes, contrasts), strict=True):
        finding = summarise_models(diffs, label=h.text, boot=boot, seed=seed)
        est = finding.per_model.estimate.to_numpy()
        x = params.iloc[finding.per_model.model.to_numpy()].reset_index(drop=True)
        enough = len(est) >= MIN_MODELS_FOR_DRIVERS and x.nunique().gt(1).any()
        t0 = time.perf_counter()
        drv = (
            spread_drivers(x, est, seed=seed, resamples=DRIVER_RESAMPLES)
            if enough
            else pd.DataFrame()
        )
        timing["drivers"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        flips = int(min((est > 0).sum(), (est < 0).sum()))
        top = list(drv["parameter"][:BOX_INPUTS]) if not drv.empty else []
        box = sign_boxes(x[top], est) if top and flips >= MIN_FLIPS_FOR_BOX else pd.DataFrame()
        timing["boxes"] += time.perf_counter() - t0
        # the box is named in the sentence only when PRIM found one dense enough (>= 80% of
        # its models on the flipped side); the table keeps whatever PRIM found
        said = box if not box.empty and box["density"].iloc[0] >= BOX_DENSITY else None
        words = study.outcome_words(h)
        text = headline_sentence(
            finding,
            arm=study.arm_words(h.arm),
            reference=study.arm_words(h.reference),
            more=words["more"],
            less=words["less"],
            unit=words["unit"],
            scale=words["scale"],
            drivers=drv,
            box=said,
            higher_is_better=words["higher_is_better"],
        )
        text += f" Verdict: {finding.verdict}" + (" (borderline)." if finding.borderline else ".")
        detail = f"{study.arm_words(h.arm)} vs {study.arm_words(h.reference)}: "
        detail += f"{finding.verdict_text}."
        detail += _noise_detail(finding, int(study.params.model_replicates))
        findings.append(finding)
        differences.append(diffs)
        drivers.append(drv)
        boxes.append(box)
        sentences.append(text)
        details.append(detail)
    return AcrossModels(
        headlines=heads,
        findings=findings,
        drivers=drivers,
        boxes=boxes,
        sentences=sentences,
        details=tuple(details),
        models=len(ens),
        replicates=int(study.params.model_replicates),
        fingerprint=ens.fingerprint,
        procedure=str(ens.procedure.get("name", "")),
        timing=timing,
        differences=differences,
        held=tuple(study.held_inputs(load_models(study.params.models))),
    )


def _noise_detail(finding: Any, replicates: int) -> str:
    """What the detail line says about simulation noise: when a model's noise is not small
    beside the spread between models, and when the share's Monte Carlo error is above the
    2-point target. Empty when neither."""
    out = ""
    if not finding.mc_check["small"]:  # say when noise, not models, may set the share
        out += (
            f" Simulation noise is not small here (its variance is "
            f"{finding.mc_check['share']:.0%} of the variance between models), so "
            "part of the spread and of the share is noise."
        )
    share_error = finding.summary["share_agree_mc_error"]
    if share_error > SHARE_MC_TARGET:
        models = int(finding.summary["models"])
        out += (
            (" Simulation noise is not small for the share: its" if not out else " The share's")
            + f" Monte Carlo error ({100 * share_error:.1f} points) is above "
            f"{100 * SHARE_MC_TARGET:.0f} points, so the share could move in a run with "
            f"more models and more simulated programs per model (now {models} x {replicates})."
        )
    return out


def across_table(result: AcrossModels) -> pd.DataFrame:
    """One row per headline: the numbers across plausible models with their Monte Carlo
    errors, the verdict, the Monte Carlo check, the top drivers and the PRIM box."""
    rows = []
    for i, (h, f, d, b) in enumerate(
        zip(result.headlines, result.findings, result.drivers, result.boxes, strict=True)
    ):
        s = f.summary
        rows.append(
            {
                "headline": i,
                "arm": h.arm,
                "reference": h.reference,
                "outcome": h.outcome,
                "models": int(s["models"]),
                "replicates_per_model": int(s["replicates"]),
                **{k: float(s[k]) for k in SUMMARY_KEYS},
                **{f"{k}_mc_error": float(s[f"{k}_mc_error"]) for k in SUMMARY_KEYS},
                "verdict": f.verdict,
                "direction": f.direction,
                "borderline": bool(f.borderline),
                "borderline_reason": f.borderline_reason,
                "mc_variance_share": float(f.mc_check["share"]),
                "mc_small": bool(f.mc_check["small"]),
                "drivers": ", ".join(d["parameter"][:3]) if not d.empty else "",
                "flips_where": b["text"].iloc[0] if not b.empty else "",
                "box_coverage": float(b["coverage"].iloc[0]) if not b.empty else np.nan,
                "box_density": float(b["density"].iloc[0]) if not b.empty else np.nan,
                "sentence": result.sentences[i],
                "detail": result.details[i] if result.details else "",
            }
        )
    return pd.DataFrame(rows)


#: The numbers of a headline over models saved per row (each also with its Monte Carlo error);
#: ``share_agree`` is the larger of the two shares, the one the verdict quotes.
SUMMARY_KEYS = ("median", "q05", "q95", "share_positive", "share_negative", "share_agree")


def across_report(result: AcrossModels, words: Any, scale: Any) -> pd.DataFrame:
    """The across-model table, readable (text cells): per headline the median, the 90%
    interval over models and the share of models above zero, each with its Monte Carlo
    error, and the verdict. ``words(arm)`` names an arm, ``scale(headline)`` the unit scale."""
    from toolkit.report import fmt_number

    out = []
    for h, f in zip(result.headlines, result.findings, strict=True):
        s, k = f.summary, scale(h)

        def num(key: str, digits: int = 1, s: Any = s, k: float = k) -> str:
            return (
                f"{fmt_number(s[key] * k, digits)} "
                f"(± {fmt_number(s[key + '_mc_error'] * k, digits)})"
            )

        out.append(
            {
                "contrast": f"{words(h.arm)} vs {words(h.reference)}",
                "median over models": num("median"),
                "90% of models between": f"{fmt_number(s['q05'] * k, 1)} and "
                f"{fmt_number(s['q95'] * k, 1)}",
                "share of models above zero (%)": num("share_positive", 1, s, 100.0),
                "verdict": f.verdict + (" (borderline)" if f.borderline else ""),
            }
        )
    return pd.DataFrame(out)


def methods_text(result: AcrossModels) -> str:
    """How the across-model findings were computed, with the Monte Carlo check, in words."""
    shares = [f.mc_check["share"] for f in result.findings]
    share_err = max(
        f.summary[f"{k}_mc_error"]
        for f in result.findings
        for k in ("share_positive", "share_negative", "share_agree")
    )
    small = sum(bool(f.mc_check["small"]) for f in result.findings)
    return (
        f"Across plausible models: every headline contrast ran under each of the "
        f"{result.models} models of the ensemble ({result.procedure or 'plausible models'}; "
        f"fingerprint {result.fingerprint[:12]}), {result.replicates} simulated programs per "
        "arm and model, the arms of a model on common random numbers and every model on its "
        "own random-number streams, in one stacked pass. The estimand is the share of models "
        "whose contrast is positive; a model's answer is the mean over its replicates, so "
        "per-model simulation noise can put a model near zero on the wrong side: the Monte "
        "Carlo error of every number (the standard deviation over 400 bootstrap resamples of "
        "the replicates) counts it, and it is simulation noise, not an interval about "
        "programs. "
        f"Monte Carlo check: the Monte Carlo variance of a model's answer is "
        f"{min(shares):.0%} to {max(shares):.0%} of the variance between models "
        f"({small} of {len(shares)} headlines under the 10% the methods ask for); the largest "
        f"Monte Carlo error of a share of models is {100 * share_err:.1f} percentage points "
        f"(the target is {100 * SHARE_MC_TARGET:.0f}; a headline above it says so"
        + (
            ": more models and more simulated programs per model bring it down; the "
            "programs of a replicate share their cohort across models, so more models "
            "alone stop helping once that shared draw dominates"
            if share_err > SHARE_MC_TARGET
            else ""
        )
        + "). "
        "Verdicts: 'nearly all plausible models agree' when at least 95% of models put the "
        "contrast on one side of zero, 'most' at 75%, otherwise 'the evidence cannot tell'; a "
        "verdict is borderline when the share is within two Monte Carlo errors of 75% or 95%, "
        "that is when another seed could give another category. What "
        "drives the spread: PAWN (Pianosi & Wagener 2015) "
        "and the first-order share of the variance between models S1 (Plischke, Borgonovo & "
        "Smith 2013), from the ensemble as sampled (SALib); where the answer flips: PRIM "
        "(Friedman & Fisher 1999; scenario discovery, Bryant & Lempert 2010; EMA Workbench)."
        + (
            " The ensemble file also varies scenario inputs ("
            + ", ".join(result.held)
            + "); they are the user's to set, so every model holds them at the design's values."
            if result.held
            else ""
        )
    )
