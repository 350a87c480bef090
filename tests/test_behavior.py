"""BehaviorModel: documented parameters, validation, calibration inside every range."""

from __future__ import annotations

from dataclasses import fields

import pytest

from toolkit.behavior import BehaviorModel, calibration_report, calibration_targets
from toolkit.errors import InvalidParameterError


def test_every_parameter_has_unit_meaning_and_source():
    table = BehaviorModel().describe()
    assert list(table["parameter"]) == [f.name for f in fields(BehaviorModel)]
    for col in ("unit", "meaning", "source"):
        assert (table[col].str.len() > 0).all(), col
    assert table["source"].str.contains("Eby et al. 2013").any()
    assert BehaviorModel(learn_mentee=0.05).describe().set_index("parameter").loc[
        "learn_mentee", "value"] == 0.05


@pytest.mark.parametrize("name", ["learn_mentee", "quality_decay", "closure_streak",
                                  "engagement_miss", "coach_hours", "satisfaction_noise_sd"])
def test_negative_rates_are_refused(name):
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of BehaviorModel.*got -0.1"):
        BehaviorModel(**{name: -0.1})


def test_shares_above_one_and_non_numbers_are_refused():
    with pytest.raises(InvalidParameterError, match="quality_approach"):
        BehaviorModel(quality_approach=1.5)
    with pytest.raises(InvalidParameterError, match="meet_base"):
        BehaviorModel(meet_base=float("nan"))
    assert BehaviorModel(closure_base=-7).closure_base == -7.0   # log-odds may be negative


def test_calibration_targets_are_packaged():
    t = calibration_targets()
    assert {"target_id", "low", "high", "point", "how_to_check"} <= set(t.columns)
    assert len(t) == 10


def test_calibration_report_all_inside():
    report = calibration_report()
    assert list(report.columns[:7]) == ["target_id", "statistic", "low", "high", "simulated",
                                        "mcse", "inside"]
    assert set(report["target_id"]) == set(calibration_targets()["target_id"])
    outside = report.loc[~report["inside"], ["target_id", "low", "high", "simulated"]]
    assert outside.empty, outside.to_string()


def test_calibration_report_can_fail():
    """The check is not vacuous: a model with almost no learning misses the effect size."""
    report = calibration_report(BehaviorModel(learn_mentee=0.0), replicates=4).set_index(
        "target_id")
    assert not report.loc["mentoring_effect", "inside"]
