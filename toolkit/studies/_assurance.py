"""Assurance of study ``design_power``: the tried design's effect under every plausible model
and the pilot's power averaged over them (O'Hagan, Stevens & Campbell 2005, Pharm Stat 4:187;
:func:`toolkit.diagnosis.assurance`). ``params`` is a ``design_power.Parameters``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["arm_effects", "assurance_sentences", "assurance_table", "design", "reference_effect"]


def design(params: Any) -> Any:
    """The SimulatorDesign: treatment and control arms as data, the default cohort's
    mentor-to-mentee ratio, the default behaviour model."""
    from toolkit.diagnosis import SimulatorDesign
    from toolkit.experiment import Arm
    from toolkit.program import ProgramDesign

    def arm(policy: str, cadence: str) -> Arm:
        return Arm(policy, ProgramDesign(cadence=cadence, duration_weeks=params.duration_weeks))

    return SimulatorDesign(
        treatment=arm(params.treatment_policy, params.treatment_cadence),
        control=arm(params.control_policy, params.control_cadence),
        n=params.sizes[0],
    )


def arm_effects(outcomes: pd.DataFrame, outcome: str, arm: str, reference: str) -> pd.DataFrame:
    """Per model (``model`` -1 without a ``model`` column): the effect of ``arm`` over
    ``reference`` on ``outcome`` (mean over replicates of the per-replicate difference, both
    potential outcomes of every pair), its Monte Carlo SE, and the per-pair standard deviation
    of the outcome in each (what a pilot's t test sees)."""
    o = outcomes if "model" in outcomes.columns else outcomes.assign(model=-1)
    y = o[outcome].astype("float64")
    # the arm column as categories (no strings made per row), only the arms present
    arms = o["arm"].astype("category").cat.remove_unused_categories()
    per_rep = y.groupby([o["model"], o["replicate"], arms], observed=True).mean().unstack()
    diff = (per_rep[arm] - per_rep[reference]).groupby(level="model")
    sd = y.groupby([o["model"], arms], observed=True).std(ddof=1).unstack()
    out = pd.DataFrame(
        {
            "effect": diff.mean(),
            "mcse": diff.std(ddof=1) / np.sqrt(diff.size()),
            "sd_treatment": sd[arm],
            "sd_control": sd[reference],
        }
    )
    return out.rename_axis("model").reset_index()


def reference_effect(params: Any) -> pd.DataFrame:
    """:func:`arm_effects` at the reference (default) model: ``effect_pairs`` pairs,
    ``model_replicates`` replicates, common random numbers; one row, ``model`` -1."""
    from toolkit.experiment import ExperimentSpec, run_experiment
    from toolkit.studies._common import pairs_cohort

    d = design(params)
    spec = ExperimentSpec(
        cohort=pairs_cohort(params.effect_pairs),
        arms={"treatment": d.treatment, "comparison": d.control},
        replicates=params.model_replicates,
        seed=params.seed,
    )
    o = run_experiment(spec, tables=("outcomes",), progress=False).outcomes
    return arm_effects(o, params.outcome, "treatment", "comparison")


def assurance_table(
    effects: pd.DataFrame, reference: pd.DataFrame, power: pd.DataFrame, params: Any
) -> pd.DataFrame:
    """Per pilot size: assurance over the plausible models (with its Monte Carlo error and
    the spread of power between models) beside power at the reference model, simulated
    (the power curve) and from the same t-test formula the assurance uses (a check of
    the formula against the simulation)."""
    from toolkit.diagnosis import assurance, t_test_power

    a = assurance(effects, list(params.sizes), alpha=params.alpha, target_power=params.target_power)
    r = reference.iloc[0]
    formula = t_test_power(
        r.effect, r.sd_treatment, r.sd_control, a.n.to_numpy(), alpha=params.alpha
    )
    sim = power.set_index("pairs_total")
    return pd.DataFrame(
        {
            "pairs_total": a.n.to_numpy(),
            "assurance": a.assurance.to_numpy(),
            "assurance_mc_error": a.mc_error.to_numpy(),
            "models": a.models.to_numpy(),
            "share_models_reaching_target": a.share_reaching_target.to_numpy(),
            "power_q05_over_models": a.power_q05.to_numpy(),
            "power_q95_over_models": a.power_q95.to_numpy(),
            "power_at_reference_simulated": sim.loc[a.n, "power"].to_numpy(),
            "power_at_reference_mc_error": sim.loc[a.n, "mcse"].to_numpy(),
            "power_at_reference_formula": formula,
        }
    )


def assurance_sentences(
    assured: pd.DataFrame, effects: pd.DataFrame, params: Any, scale: float, unit: str, digits: int
) -> tuple[str, list[str]]:
    """The findings of :func:`assurance_table` in words: the effect's spread and the largest
    pilot's assurance over the plausible models (the first sentence), then one sentence per
    pilot size. ``scale``, ``unit`` and ``digits`` say how the outcome is written."""
    from toolkit.report import fmt_number

    e5, e95 = np.quantile(effects.effect.to_numpy(float) * scale, [0.05, 0.95])
    big, target = assured.iloc[-1], f"{params.target_power:.0%}"
    first = (
        f"Across {int(big.models)} plausible models the effect lies between "
        f"{fmt_number(e5, digits)} and {fmt_number(e95, digits)} {unit} in 90% of "
        f"them. A pilot of {int(big.pairs_total)} pairs succeeds (its two-sided test "
        f"rejects at level {params.alpha:g}) with probability {big.assurance:.0%} averaged over them (assurance; Monte "
        f"Carlo error {100 * big.assurance_mc_error:.1f} percentage points), against "
        f"power {big.power_at_reference_simulated:.0%} at the reference model; it "
        f"reaches {target} power in {big.share_models_reaching_target:.0%} of the "
        "models."
    )
    each = [
        f"With {int(r.pairs_total)} pairs, assurance is {r.assurance:.0%} (Monte Carlo "
        f"error {100 * r.assurance_mc_error:.1f} points); power ranges from "
        f"{r.power_q05_over_models:.0%} to {r.power_q95_over_models:.0%} over 90% of "
        "the plausible models."
        for r in assured.itertuples(index=False)
    ]
    return first, each
