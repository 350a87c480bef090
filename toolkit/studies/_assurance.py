"""Assurance of study ``design_power``: the tried design's effect under every plausible model
and the pilot's power averaged over them (O'Hagan, Stevens & Campbell 2005, Pharm Stat 4:187;
:func:`toolkit.diagnosis.assurance`). ``params`` is a ``design_power.Parameters``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["assurance_table", "design", "model_effects"]


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


def model_effects(params: Any, models: Any = None) -> pd.DataFrame:
    """Per model: the effect of the tried design over the usual one on the outcome (both
    potential outcomes of every pair, ``effect_pairs`` pairs, ``assurance_replicates``
    replicates, common random numbers), its Monte Carlo SE, and the per-pair standard
    deviation of the outcome in each design (what a pilot's t test sees). ``models``
    None: one row for the reference (default) model, ``model`` = -1."""
    from toolkit.cohort import CohortSpec
    from toolkit.experiment import ExperimentSpec, run_experiment

    d = design(params)
    n = params.effect_pairs
    spec = ExperimentSpec(
        cohort=CohortSpec(n_mentors=round(n * 1.2), n_mentees=n),
        arms={"treatment": d.treatment, "comparison": d.control},
        replicates=params.assurance_replicates,
        seed=params.seed,
    )
    o: pd.DataFrame = run_experiment(
        spec, models=models, tables=("outcomes",), progress=False
    ).outcomes
    if "model" not in o.columns:
        o = o.assign(model=-1)
    y = o[params.outcome].astype("float64")
    arm = o["arm"].astype(str)
    per_rep = y.groupby([o["model"], o["replicate"], arm]).mean().unstack()
    diff = (per_rep["treatment"] - per_rep["comparison"]).groupby(level="model")
    sd = y.groupby([o["model"], arm]).std(ddof=1).unstack()
    out = pd.DataFrame(
        {
            "effect": diff.mean(),
            "mcse": diff.std(ddof=1) / np.sqrt(diff.size()),
            "sd_treatment": sd["treatment"],
            "sd_control": sd["comparison"],
        }
    )
    return out.rename_axis("model").reset_index()


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
