"""The calibration table: packaged, every target inside its published range, and a check that can fail."""

from __future__ import annotations

from toolkit.behavior import BehaviorModel
from toolkit.calibration import calibration_report, calibration_targets


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
