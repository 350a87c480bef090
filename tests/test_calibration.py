"""The calibration table: packaged, every target inside its published range, and a check that can fail."""

from __future__ import annotations

import numpy as np

from toolkit.behavior import BehaviorModel
from toolkit.calibration import calibration_report, calibration_targets


def test_calibration_targets_are_packaged():
    t = calibration_targets()
    assert {"target_id", "low", "high", "point", "how_to_check"} <= set(t.columns)
    assert len(t) == 16
    new = {
        "premature_closure_programs",
        "closure_within_12_months_star",
        "closure_mentor_attributed_star",
        "rating_screen_sensitivity",
        "rating_screen_specificity",
        "actual_vs_perceived_similarity",
    }
    assert new <= set(t["target_id"])
    # every new row says whose evidence it is
    rows = t.set_index("target_id").loc[sorted(new)]
    assert rows["population"].str.contains("YOUTH|neither youth").all()


def test_calibration_report_all_inside_within_monte_carlo_error():
    report = calibration_report()
    assert list(report.columns) == [
        "target_id",
        "statistic",
        "low",
        "high",
        "simulated",
        "mcse",
        "inside",
        "how",
        "kind",
        "within_mc_error",
    ]
    assert set(report["target_id"]) == set(calibration_targets()["target_id"])
    outside = report.loc[
        ~report["within_mc_error"], ["target_id", "low", "high", "simulated", "mcse"]
    ]
    assert outside.empty, outside.to_string()
    # strictly inside implies inside within Monte Carlo error; a check has no MC error
    assert (report["within_mc_error"] | ~report["inside"]).all()
    checks = report[report["kind"] == "check"]
    assert (checks["within_mc_error"] == checks["inside"]).all()


def test_presets_are_checks_not_targets():
    report = calibration_report(replicates=2).set_index("target_id")
    checks = report[report["kind"] == "check"].index
    assert set(checks) == {
        "cadence_hartford",
        "cadence_bbbs",
        "cadence_mentorloop",
        "inactivity_close",
    }


def test_simulate_targets_is_stacked_and_matches_the_one_point_view():
    from toolkit.calibration import simulate_targets

    points = [BehaviorModel(), BehaviorModel(closure_base=-4.0)]
    sim = simulate_targets(points, replicates=3)
    assert list(sim.columns) == ["point", "target_id", "value", "mc_var"]
    wide = sim.pivot(index="point", columns="target_id", values="value")
    assert wide.loc[1, "early_closure"] > wide.loc[0, "early_closure"]
    # point 0 of the stack equals the same model run alone (common random numbers)
    alone = simulate_targets(points[:1], replicates=3).pivot(
        index="point", columns="target_id", values="value"
    )
    assert np.allclose(alone.loc[0].to_numpy(float), wide.loc[0].to_numpy(float), equal_nan=True)
    assert (sim["mc_var"].dropna() >= 0).all()


def test_calibration_report_can_fail():
    """The check is not vacuous: a model with almost no learning misses the effect size,
    and one with frequent outside events misses the closure targets, by more than their
    Monte Carlo error."""
    report = calibration_report(BehaviorModel(learn_mentee=0.0), replicates=4).set_index(
        "target_id"
    )
    assert not report.loc["mentoring_effect", "inside"]
    assert not report.loc["mentoring_effect", "within_mc_error"]
    moves = calibration_report(BehaviorModel(closure_outside=-4.0), replicates=4)
    missed = set(moves.loc[~moves["within_mc_error"], "target_id"])
    assert {"closure_within_12_months_star", "early_closure"} <= missed, moves.to_string()


def test_a_target_is_judged_within_two_monte_carlo_standard_errors():
    from toolkit.calibration import MC_SE_TOLERANCE, _within

    assert MC_SE_TOLERANCE == 2.0
    # the model card's seed-0 misses at 12 replicates (value, low, high, mcse)
    assert _within(0.330, 0.38, 0.59, 0.033)  # 1.5 MC SE below low
    assert _within(0.367, 0.26, 0.36, 0.018)  # 0.4 MC SE above high
    # the same values with the MC error of thousands of replicates are misses
    assert not _within(0.330, 0.38, 0.59, 0.002)
    assert not _within(0.367, 0.26, 0.36, 0.0015)
    assert _within(0.36, 0.26, 0.36, 0.0) and not _within(0.3601, 0.26, 0.36, 0.0)
    assert not _within(0.37, 0.26, 0.36, float("nan"))  # no MC error: strict


def test_history_targets_state_their_uncertainty_and_discrepancy():
    from toolkit.calibration import SIMULATED_TARGETS, history_targets
    from toolkit.history_matching import check_targets, observations

    t = calibration_targets()
    assert set(t.loc[t["kind"] == "check", "target_id"]) == {
        "cadence_hartford",
        "cadence_bbbs",
        "cadence_mentorloop",
        "inactivity_close",
    }
    h = check_targets(history_targets())
    assert set(h["target_id"]) == set(SIMULATED_TARGETS)
    assert (h["discrepancy_sd"] > 0).all()
    assert h["discrepancy_reason"].str.len().gt(40).all()
    obs = observations(h).set_index("target_id")
    # the STAR 12-month share is a proportion of 356 matches: its binomial variance
    assert np.isclose(obs.loc["closure_within_12_months_star", "v_obs"], 0.31 * 0.69 / 356)
    # an interval target: z is its midpoint
    assert np.isclose(obs.loc["early_closure", "z"], 0.25)


FORMERLY_CALIBRATED = (
    "quality_perceived",
    "quality_surface",
    "quality_chemistry_sd",
    "quality_decay",
    "meet_base",
    "closure_base",
    "closure_outside",
    "learn_mentee",
    "rating_noise_sd",
    "satisfaction_noise_sd",
    "support_noise_sd",
)


def test_formerly_calibrated_parameters_have_wide_stated_priors():
    from toolkit.calibration import calibration_prior

    prior = calibration_prior().set_index("parameter")
    default = BehaviorModel()
    for name in FORMERLY_CALIBRATED:
        row, value = prior.loc[name], getattr(default, name)
        assert row["low"] <= value <= row["high"], name
        # at least +-40% of the former hand setting in all
        assert row["high"] - row["low"] >= 0.8 * abs(value), name
        assert "former hand setting" in row["reason"], name
    # lever effects are scenario inputs, never priors
    assert not set(BehaviorModel.scenario_inputs()) & set(prior.index)


def test_the_default_model_is_inside_every_calibration_target_at_the_model_card_settings():
    """Judged with Monte Carlo error. At the card's settings (12 replicates, seed 0) the
    default is strictly outside deep_similarity_quality (0.330, MC SE 0.033, low 0.38)
    and closure_within_12_months_star (0.367, MC SE 0.018, high 0.36), but over 3,600
    replicates (seeds 0, 2024, 1, 2, 3) their expected values are 0.421 (MC SE 0.0014)
    and 0.3555 (MC SE 0.0008): inside, as every other target is (docs/model.md). The seed-0 misses were Monte Carlo noise, which the card's judgement (the
    range widened by 2 MC SE) states and allows for."""
    from toolkit.studies.model_card import Parameters

    p = Parameters()
    report = calibration_report(
        replicates=p.calibration_replicates,
        n_mentees=p.n_mentees,
        n_mentors=p.n_mentors,
        seed=p.seed,
    )
    outside = report.loc[~report["within_mc_error"], "target_id"].tolist()
    assert outside == []


def test_the_model_card_states_the_monte_carlo_judgement():
    import pandas as pd

    from toolkit.studies.model_card import _mc_error_sentence

    cal = pd.DataFrame(
        {
            "target_id": ["a", "b", "c", "preset"],
            "kind": ["target", "target", "target", "check"],
            "inside": [True, False, False, True],
            "within_mc_error": [True, True, False, True],
        }
    )
    assert _mc_error_sentence(cal) == (
        " Judged with Monte Carlo error (the published range widened by 2 Monte Carlo "
        "standard errors each side), it is consistent with 2 of 3; beyond that error on c."
    )
    assert _mc_error_sentence(cal.drop(columns="within_mc_error")) == ""
