"""Study ``design_power``: how many pairs does a pilot need to tell two designs apart?

A pilot splits ``n`` pairs at random between two program designs (each a matching policy
and a meeting cadence) and compares an outcome with a two-sample t test.
:func:`toolkit.diagnosis.power_curve` simulates that pilot on the real simulator
(:class:`toolkit.diagnosis.SimulatorDesign`) ``sims`` times at each size: power with its
Monte Carlo error, and from the simulated standard errors the minimum detectable effect
at the target power. The population effect between the two designs (both potential
outcomes of every pair, many pairs) says what the pilot is trying to detect.

Power at the reference (default) model assumes one true effect. **Assurance** (O'Hagan,
Stevens & Campbell 2005, :func:`toolkit.diagnosis.assurance`) is the probability that the
pilot succeeds averaged over every plausible model of an ensemble: the study contract's
across-model run (:attr:`BaseStudy.across`) runs both designs under every model (common random
numbers within a model), and the t test's power in each model is averaged. Power and the
detectable effect are about the pilot's own data; their Monte Carlo error (from simulating) is
labelled as such and is not a confidence interval.

>>> d = design(Parameters.from_values(sizes=[40, 80], sims=20))
>>> d.treatment.design.cadence, d.control.design.cadence
('weekly', 'biweekly')
>>> Parameters.from_values(sizes=[40, 81])
Traceback (most recent call last):
...
toolkit.errors.InvalidParameterError: The 'sizes' parameter of study design_power must be a list of even numbers of pairs (split equally between the two designs); got 81 (item 2 of [40, 81]).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field, model_validator

from toolkit.errors import InvalidParameterError
from toolkit.studies._assurance import (
    arm_effects,
    assurance_sentences,
    assurance_table,
    design,
    reference_effect,
)
from toolkit.studies._base import BaseStudy, Headline
from toolkit.studies._common import pairs_cohort
from toolkit.studies._params import Cadence, ModelsGroup, Policy
from toolkit.studies._words import OUTCOME_NAMES, OUTCOME_UNITS

__all__ = [
    "STUDY",
    "DesignPower",
    "Parameters",
    "assurance_table",
    "design",
    "diagnosand_table",
    "figures",
    "findings",
    "pilot_tables",
    "population_effect",
    "reference_effect",
    "simulate",
]

Outcome = Literal["completed", "mentee_gain", "mentor_gain", "mean_quality"]
TOTAL = "pairs_total"  # the pilot's size: pairs in total, half in each design


class Parameters(ModelsGroup):
    """Parameters of the design_power study."""

    study = "design_power"

    treatment_cadence: Cadence = Field("weekly", description="Meeting cadence of the design tried.")
    treatment_policy: Policy = Field("random", description="Matching policy of the design tried.")
    control_cadence: Cadence = Field("biweekly", description="Meeting cadence of the usual design.")
    control_policy: Policy = Field("random", description="Matching policy of the usual design.")
    outcome: Outcome = Field("completed", description="Outcome the pilot compares.")
    sizes: tuple[int, ...] = Field(
        (100, 200, 400, 600, 800),
        min_length=2,
        max_length=12,
        description="Pilot sizes: pairs in total, half in each design.",
    )
    sims: int = Field(1000, ge=10, le=10000, description="Simulated pilots per size.")
    target_power: float = Field(0.8, gt=0, lt=1, description="Power the pilot should reach.")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="Two-sided significance level.")
    duration_weeks: int = Field(26, ge=4, le=104, description="Program length in weeks.")
    effect_pairs: int = Field(
        400, ge=20, le=20000, description="Pairs per replicate for the population effect."
    )
    effect_replicates: int = Field(
        20, ge=2, le=1000, description="Replicates for the population effect."
    )

    @model_validator(mode="after")
    def _check(self) -> Parameters:
        for k, n in enumerate(self.sizes):
            if n < 4 or n > 20000 or n % 2:
                raise InvalidParameterError(
                    f"The 'sizes' parameter of study design_power must be a list of even numbers "
                    f"of pairs (split equally between the two designs)"
                    f"{'' if n % 2 else ' from 4 to 20000'}; got {n} (item {k + 1} of "
                    f"{list(self.sizes)})."
                )
        if list(self.sizes) != sorted(set(self.sizes)):
            raise InvalidParameterError(
                f"The 'sizes' parameter of study design_power must list increasing sizes with no "
                f"repeats; got {list(self.sizes)}."
            )
        if (self.treatment_cadence, self.treatment_policy) == (
            self.control_cadence,
            self.control_policy,
        ):
            raise InvalidParameterError(
                "The 'treatment_cadence' and 'treatment_policy' parameters of study design_power "
                "must differ from the control design in at least one; got the same design twice "
                f"({self.treatment_policy} matching, {self.treatment_cadence} meetings)."
            )
        return self


def _designs(p: Parameters) -> dict[str, str]:
    """The design tried and the usual one, in words."""
    return {
        arm: f"{policy} matching with {cadence.replace('_', ' ')} meetings"
        for arm, policy, cadence in (
            ("tried", p.treatment_policy, p.treatment_cadence),
            ("usual", p.control_policy, p.control_cadence),
        )
    }


def simulate(params: Parameters, effect: dict | None = None) -> pd.DataFrame:
    """The power curve: every diagnosand at every size (``n`` is the pilot's total pairs).
    With the population ``effect`` (:func:`population_effect`) as the estimand, bias, RMSE,
    coverage, type-S rate and exaggeration are filled in too."""
    from toolkit.diagnosis import DifferenceInMeans, power_curve

    workers = min(params.workers, os.cpu_count() or 1)
    estimator = DifferenceInMeans(params.outcome, alpha=params.alpha)  # two-sample t test
    curve = power_curve(
        design(params),
        estimator,
        sizes=list(params.sizes),
        sims=params.sims,
        seed=params.seed,
        alpha=params.alpha,
        estimand=None if effect is None else effect["effect"],
        bootstrap=200,
        executor="serial" if workers == 1 else "process",
        workers=workers,
        progress=False,
    )
    return curve.assign(pairs_per_design=curve.n // 2)


def population_effect(params: Parameters) -> dict:
    """The effect the pilot tries to detect: mean treatment-minus-control difference of the
    outcome, from both potential outcomes of every pair, with its Monte Carlo error."""
    est, mcse = design(params).population_effect(
        params.outcome, n=params.effect_pairs, replicates=params.effect_replicates, seed=params.seed
    )
    return {
        "outcome": params.outcome,
        "effect": est,
        "mcse": mcse,
        "pairs": params.effect_pairs,
        "replicates": params.effect_replicates,
    }


def pilot_tables(
    curve: pd.DataFrame, effect: dict, params: Parameters
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The power curve's tables by total pairs (:mod:`toolkit.diagnosis`): power with the pairs
    per design, the minimum detectable effect at the target power and level, and the pairs
    needed to detect the population ``effect`` (:func:`population_effect`)."""
    from toolkit import diagnosis as dg

    power = dg.power_table(curve, size=TOTAL)
    power.insert(1, "pairs_per_design", power.pairs_total // 2)
    alpha, target = params.alpha, params.target_power
    mde = dg.mde_table(curve, alpha=alpha, power=target, size=TOTAL)
    need = dg.required_size(
        power, mde, effect["effect"], alpha=alpha, target_power=target, size=TOTAL
    )
    return power, mde, need


def diagnosand_table(curve: pd.DataFrame) -> pd.DataFrame:
    """Every diagnosand but power by total pairs (:func:`toolkit.diagnosis.diagnosand_table`)."""
    from toolkit import diagnosis as dg

    return dg.diagnosand_table(curve, size=TOTAL)


def findings(
    power: pd.DataFrame,
    mde: pd.DataFrame,
    effect: dict,
    need: dict,
    params: Parameters,
    assured: pd.DataFrame | None = None,
    effects: pd.DataFrame | None = None,
    across: Any = None,
) -> list[str]:
    """The headline: the effect between the designs, the pairs needed, the MDE at the
    largest size, power at each size, and (given ``assured``, :func:`assurance_table`, and
    ``effects``, :attr:`DesignPower.model_effects`) the assurance over the plausible models;
    ``across`` (:attr:`BaseStudy.across`) adds the headline over the models."""
    from toolkit.report import fmt_number

    what, (scale, unit) = OUTCOME_NAMES[params.outcome], OUTCOME_UNITS[params.outcome]
    t, c = _designs(params).values()
    e, m = effect["effect"] * scale, effect["mcse"] * scale
    digits = 1 if scale == 100 else 3
    out = [
        f"The population effect of {t} over {c} on {what} is {fmt_number(e, digits)} "
        f"{unit} (Monte Carlo SE {fmt_number(m, digits + 1)})."
    ]
    target = f"{params.target_power:.0%}"
    if need["reached"]:
        out.append(
            f"A pilot needs about {fmt_number(math.ceil(need['from_curve'] / 2) * 2, 0)} "
            f"pairs in total (half in each design) to detect it with {target} power at "
            f"the {params.alpha:g} level (read off the simulated power curve)."
        )
    else:
        out.append(
            f"None of the pilot sizes simulated (up to {max(params.sizes)} pairs) reaches "
            f"{target} power; the normal approximation suggests about "
            f"{fmt_number(math.ceil(need['normal_approximation'] / 2) * 2, 0)} pairs."
        )
    last = mde.iloc[-1]
    out.append(
        f"With {int(last.pairs_total)} pairs the minimum detectable effect at {target} "
        f"power is {fmt_number(last.mde * scale, digits)} {unit}."
    )
    out += [
        f"With {int(r.pairs_total)} pairs, power at the reference model is {r.power:.0%} "
        f"(95% Monte Carlo interval {r.mc_low:.0%} to {r.mc_high:.0%} from {int(r.sims)} "
        "simulated pilots: simulation noise, not uncertainty about programs)."
        for r in power.itertuples(index=False)
    ]
    if assured is not None and effects is not None:
        first, each = assurance_sentences(assured, effects, params, scale, unit, digits)
        out.insert(1, first)
        out += each
    if across is not None:  # the headline over the models, after the assurance sentence
        out[2:2] = across.sentences
    return out


def figures(curve: pd.DataFrame, mde: pd.DataFrame, params: Parameters) -> list[tuple]:
    """(figure, name, caption) for each figure of the report."""
    from toolkit.plots import power_curve_plot

    t, c = _designs(params).values()
    fig = power_curve_plot(
        curve,
        target=params.target_power,
        n_unit="pairs in total",
        title=f"Power to tell {t} from {c}",
    )
    return [
        (
            fig,
            "power_curve",
            f"Simulated power of a two-arm pilot against its total number of pairs, with a 95% "
            f"Monte Carlo band ({params.sims} simulated pilots per size); the dashed line is "
            f"the {params.target_power:.0%} target.",
        )
    ]


class DesignPower(BaseStudy):
    """How many pairs does a pilot need? The analysis is in this module's functions
    (:func:`population_effect`, :func:`simulate`, :func:`pilot_tables`, ...)."""

    name = "design_power"
    title = "How many pairs does a pilot need?"
    question = (
        "How many pairs must a pilot randomise between two program designs to tell them "
        "apart on an outcome, and what is the smallest effect it can detect?"
    )
    Parameters = Parameters
    model_limitation = (
        "the effect between the designs, and so the pairs needed, are as good "
        "as the model's assumptions."
    )
    notes = (
        "The pilot is analysed with a two-sample t test on individual pairs; a pilot that "
        "randomises whole groups or sites needs more pairs.",
        "Power is estimated from {params.sims} simulated pilots per size; the interpolated "
        "size between two simulated sizes is approximate.",
    )

    def arms(self) -> dict[str, Any]:
        d = design(self.params)
        return {"usual": d.control, "tried": d.treatment}

    def headlines(self) -> list[Headline]:
        """The design tried against the usual one on the chosen outcome."""
        p, (t, c) = self.params, _designs(self.params).values()
        return [
            Headline(
                "tried",
                "usual",
                p.outcome,
                effect="difference",
                text=f"the difference in {OUTCOME_NAMES[p.outcome]} between {t} and {c}",
            )
        ]

    def arm_words(self, arm: str) -> str:
        return _designs(self.params)[arm]

    def derive(self, outcomes: pd.DataFrame) -> pd.DataFrame:
        """The across-model run's outcomes, unchanged; keeps each model's effect, its Monte
        Carlo SE and the per-pair spread in each design (:func:`arm_effects`), which the
        assurance needs, as :attr:`model_effects`."""
        self._effects = arm_effects(outcomes, self.params.outcome, "tried", "usual")
        return outcomes

    @property
    def model_effects(self) -> pd.DataFrame:
        """Per plausible model: the tried design's effect over the usual one, its Monte Carlo
        SE and the per-pair standard deviation in each design (from :attr:`across`)."""
        _ = self.across  # the across-model run (once) fills it in through derive()
        return self._effects

    def cohort_source(self) -> Any:  # the population effect's cohorts
        return pairs_cohort(self.params.effect_pairs)

    @property
    def replicates(self) -> int:
        return int(self.params.effect_replicates)

    @classmethod
    def sweep_estimates(cls, run_dir: str | os.PathLike) -> pd.DataFrame:
        """Power at the reference model at each size, with its 95% Monte Carlo interval, then
        the assurance at each size with estimate -/+ 1.96 Monte Carlo errors (simulation
        noise only in both)."""
        from toolkit.studies._common import sweep_rows

        tables = Path(run_dir) / "tables"
        power = pd.read_parquet(tables / "power.parquet")
        out = [sweep_rows(power.rename(columns=MC_INTERVAL), "power with {pairs_total} pairs")]
        if (tables / "assurance.parquet").is_file():
            a = pd.read_parquet(tables / "assurance.parquet")
            half = 1.96 * a.assurance_mc_error.fillna(0)
            a = a.assign(ci_low=a.assurance - half, ci_high=a.assurance + half)
            out.append(sweep_rows(a.rename(columns={"assurance": "estimate"}), ASSURED))
        return pd.concat(out, ignore_index=True)

    def mechanism_text(self) -> str:
        p, (t, c) = self.params, _designs(self.params).values()
        return (
            f"Each simulated pilot draws a fresh synthetic cohort of n mentees (and mentors "
            f"in the default 6:5 ratio), runs both designs ({t}; {c}; {p.duration_weeks} "
            "weeks) on the same pairs and random draws, then assigns half the pairs at random "
            "to each design and keeps only each pair's assigned outcome, as a real pilot "
            f"observes. {p.sims} pilots per size; pilot i uses the same seed at every size. "
            "The week-by-week model runs with its default, calibrated parameters. The "
            f"population effect uses both outcomes of every pair in {p.effect_replicates} "
            f"replicates of {p.effect_pairs} pairs."
        )

    def performance_text(self, power: pd.DataFrame, assured: pd.DataFrame | None = None) -> str:
        """Monte Carlo error of the power estimates (and of the assurance), in words."""
        p = self.params
        extra = (
            ""
            if assured is None
            else f" Assurance is the mean over {int(assured.models.iloc[0])} plausible models of "
            "the t test's power given each model's effect and per-pair spread; its Monte "
            "Carlo error (the SD of power over models / sqrt(models)) is at most "
            f"{100 * assured.assurance_mc_error.max():.1f} percentage points. Each model's "
            f"effect comes from {p.model_replicates} replicates of {p.effect_pairs} "
            "pairs; its noise makes an effect near zero look slightly larger, so assurance "
            "is, if anything, a little high where effects are small. The same formula at "
            "the reference model is shown beside the simulated power as a check."
        )
        return (
            f"Power at each size is the share of {p.sims} simulated pilots with p < "
            f"{p.alpha:g}; its Monte Carlo standard error is at most {power.mcse.max():.3f} "
            f"here (at most 0.5 / sqrt({p.sims}) = {0.5 / math.sqrt(p.sims):.3f}). Four times "
            "the simulations halve it. The minimum detectable effect uses the normal "
            "approximation (z_{1-alpha/2} + z_power) x SE with the mean simulated SE." + extra
        )


#: The power table's columns as sweep columns (the 95% Monte Carlo interval), and the
#: assurance rows' name.
MC_INTERVAL = {"power": "estimate", "mc_low": "ci_low", "mc_high": "ci_high"}
ASSURED = "assurance with {pairs_total} pairs"

STUDY = DesignPower.record()
