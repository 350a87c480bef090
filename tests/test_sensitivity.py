"""Robustness of a contrast over the assumption ranges (toolkit.sensitivity)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

import toolkit.sensitivity as sens
from toolkit.behavior import BehaviorModel
from toolkit.errors import InvalidParameterError
from toolkit.experiment import ExperimentSpec, run_experiment
from toolkit.plots import alt_text
from toolkit.sensitivity import VERDICTS, Contrast, RobustnessResult, robustness

WEEKS = 12


def _other_assumption(*avoid: str) -> str:
    """An assumption parameter read from the table (names may change), not in ``avoid``."""
    table = BehaviorModel.plausible_ranges()
    return next(p for p in table["parameter"] if p not in avoid)


@pytest.fixture(scope="module")
def spec() -> ExperimentSpec:
    # coach: check-ins every 4 weeks, every one flags (rating <= 5) and is coached.
    # survey: a check-in every week that (almost) never flags (rating <= 1).
    # Their coordinator-hours difference is n_coach * (minutes/60 + coach_hours) -
    # n_survey * minutes/60: its sign is set by coach_hours against checkin_minutes.
    return ExperimentSpec.from_dict({
        "cohort": {"n_mentors": 60, "n_mentees": 50},
        "arms": {
            "coach": {"design": {"checkins": "monthly", "flag_rating": 5.0,
                                 "duration_weeks": WEEKS}},
            "survey": {"design": {"checkins": list(range(1, WEEKS + 1)), "flag_rating": 1.0,
                                  "duration_weeks": WEEKS}},
            "coach_again": {"design": {"checkins": "monthly", "flag_rating": 5.0,
                                       "duration_weeks": WEEKS}},
            "none": {"design": {"duration_weeks": WEEKS}}},
        "replicates": 5, "seed": 3})


HOURS = Contrast("coach", "survey", "hours_coordinator")


def _run(spec, contrast=HOURS, **kw):
    kw.setdefault("trajectories", 4)
    kw.setdefault("progress", False)
    return robustness(spec, contrast, **kw)


# --------------------------------------------------------------------------- verdicts

def test_verdict_flips_when_the_driving_parameter_is_narrowed_to_one_side(spec):
    # a second parameter that does not touch coordinator hours (read from the table)
    names = list(BehaviorModel.plausible_ranges()["parameter"])
    other = "learn_mentor" if "learn_mentor" in names else _other_assumption("coach_hours")
    wide = _run(spec, parameters=["coach_hours", other], ranges={"coach_hours": (0.0, 2.0)})
    assert wide.verdict == "depends on assumptions"
    assert wide.drivers[0] == "coach_hours"
    assert wide.flips["parameter"].iloc[0] == "coach_hours"
    # coaching is cheap below the cut: the weekly surveys cost more; above it, coaching does
    flip = wide.flips.iloc[0]
    assert (flip.below, flip.above) == ("negative", "positive")
    assert 0.0 < flip.threshold < 2.0
    assert "coach_hours" in wide.sentence() and wide.sentence().startswith("depends on")

    # narrowed to either side of the cut the wide run found, the verdict becomes robust
    cut = flip.threshold
    high = _run(spec, parameters=["coach_hours", other],
                ranges={"coach_hours": (2 * cut, 3 * cut)})
    low = _run(spec, parameters=["coach_hours", other],
               ranges={"coach_hours": (0.0, cut / 3)})
    assert high.verdict == low.verdict == "robust"
    assert (high.points["estimate"][1:] > 0).all() and (low.points["estimate"][1:] < 0).all()
    assert "stays positive" in high.sentence() and "stays negative" in low.sentence()
    assert not low.default_in_range


def test_robust_for_a_contrast_that_holds_everywhere(spec):
    # monthly check-ins cost coordinator time that no check-ins never do, at any minutes > 0
    res = _run(spec, Contrast("coach", "none", "hours_coordinator"),
               parameters=["checkin_minutes", _other_assumption("checkin_minutes")],
               ranges={"checkin_minutes": (1.0, 30.0)})
    assert res.verdict == "robust"
    assert res.sentence().startswith("robust: coach minus none hours_coordinator stays "
                                     "positive over the whole explored range of 2 assumptions")
    assert res.flips.empty


def test_no_effect_for_identical_arms(spec):
    res = _run(spec, Contrast("coach", "coach_again", "completed"),
               parameters=["coach_hours", "quality_approach"])
    assert res.verdict == "no effect"
    assert (res.points["estimate"] == 0).all()
    assert res.sentence().startswith("no effect:")
    assert res.verdict in VERDICTS


def test_verdict_rule_on_hand_made_points():
    pts = pd.DataFrame({"estimate": [1.0, 2.0, 3.0], "mcse": [0.1, 0.1, 0.1]})
    zero_ci = pd.Series({"ci_low": -1.0, "ci_high": 1.0})
    assert sens._verdict(pts, zero_ci, 2.0) == "robust"
    assert sens._verdict(pts.assign(estimate=[1.0, -2.0, 3.0]), zero_ci, 2.0) == \
        "depends on assumptions"
    assert sens._verdict(pts.assign(estimate=[1.0, 0.1, 3.0]), zero_ci, 2.0) == \
        "depends on assumptions"   # a sign lost in Monte Carlo error is not robust
    assert sens._verdict(pts.assign(estimate=[0.1, -0.1, 0.0]), zero_ci, 2.0) == "no effect"
    assert sens._verdict(pts.assign(estimate=[0.1, -0.1, 0.0]),
                         pd.Series({"ci_low": 0.1, "ci_high": 1.0}), 2.0) == \
        "depends on assumptions"


# --------------------------------------------------------------------------- numbers

def test_default_estimate_equals_a_hand_computed_difference(spec):
    res = _run(spec, parameters=["coach_hours", "quality_approach"])
    o = run_experiment(spec, tables=("outcomes",), progress=False).outcomes
    per = o.groupby(["replicate", o["arm"].astype(str)])["hours_coordinator"].mean().unstack()
    diff = per["coach"] - per["survey"]
    d = res.default.iloc[0]
    assert d.estimate == pytest.approx(diff.mean())
    assert d.mcse == pytest.approx(diff.std(ddof=1) / np.sqrt(len(diff)))
    assert d.ci_low < d.estimate < d.ci_high
    assert res.points.loc[0, "estimate"] == pytest.approx(diff.mean())


def test_points_hold_every_varied_parameter_and_stay_in_range(spec):
    res = _run(spec, parameters=["coach_hours", "quality_approach"], trajectories=3)
    assert list(res.points.columns) == ["point", "coach_hours", "quality_approach",
                                        "estimate", "mcse"]
    assert len(res.points) == 1 + 3 * (2 + 1)
    table = BehaviorModel.plausible_ranges().set_index("parameter")
    for p in ("coach_hours", "quality_approach"):
        x = res.points[p][1:]
        assert x.min() >= table.loc[p, "low"] and x.max() <= table.loc[p, "high"]
    assert set(res.indices.columns) == {"parameter", "mu_star", "mu_star_conf", "sigma", "mu"}
    assert res.indices["mu_star"].is_monotonic_decreasing
    frame = res.to_frame()
    assert set(frame["parameter"]) == {"coach_hours", "quality_approach"}


def test_default_varies_every_assumption_read_from_the_table():
    tiny = ExperimentSpec.from_dict({
        "cohort": {"n_mentors": 12, "n_mentees": 10},
        "arms": {"a": {"design": {"duration_weeks": 4, "cadence": "weekly"}},
                 "b": {"design": {"duration_weeks": 4}}}, "replicates": 2, "seed": 1})
    res = robustness(tiny, Contrast("a", "b", "meetings_held"), trajectories=2,
                     progress=False)
    names = list(BehaviorModel.plausible_ranges()["parameter"])
    assert list(res.ranges["parameter"]) == names
    assert len(res.points) == 1 + 2 * (len(names) + 1)


def test_chunked_points_give_the_same_numbers(spec, monkeypatch):
    kw = {"parameters": ["coach_hours", "quality_approach"], "trajectories": 2}
    whole = _run(spec, **kw)
    monkeypatch.setattr(sens, "_MAX_PAIR_WEEKS", 1)   # one point per run_experiment call
    chunked = _run(spec, **kw)
    pd.testing.assert_frame_equal(whole.points, chunked.points)


def test_reproducible_from_the_seed(spec):
    kw = {"parameters": ["coach_hours", "quality_approach"], "trajectories": 3}
    a, b = _run(spec, seed=5, **kw), _run(spec, seed=5, **kw)
    pd.testing.assert_frame_equal(a.points, b.points)
    pd.testing.assert_frame_equal(a.indices, b.indices)
    assert a.verdict == b.verdict
    c = _run(spec, seed=6, **kw)
    assert not a.points[["coach_hours", "quality_approach"]].equals(
        c.points[["coach_hours", "quality_approach"]])


def test_sobol_gives_first_order_and_total_indices(spec):
    res = robustness(spec, HOURS, parameters=["coach_hours", "quality_approach"],
                     ranges={"coach_hours": (0.0, 2.0)}, method="sobol", samples=16,
                     progress=False)
    assert len(res.points) == 1 + 16 * (2 + 2)
    assert {"S1", "ST"} <= set(res.indices.columns)
    assert res.indices["parameter"].iloc[0] == "coach_hours"
    assert res.drivers[0] == "coach_hours"


def test_figure_has_alt_text(spec):
    res = _run(spec, parameters=["coach_hours", "quality_approach"],
               ranges={"coach_hours": (0.0, 2.0)})
    fig = res.figure()
    assert alt_text(fig).startswith("Morris screening scatter")
    assert "coach_hours" in alt_text(fig)
    assert isinstance(res, RobustnessResult)


# --------------------------------------------------------------------------- bad input

def _calibrated_parameter() -> str:
    d = BehaviorModel().describe()
    return d.loc[~d["source"].str.startswith("assumption"), "parameter"].iloc[0]


@pytest.mark.parametrize(("kwargs", "contrast", "needle"), [
    ({"ranges": {"coach_hours": (2.0, 1.0)}}, HOURS, "ranges['coach_hours']"),
    ({"ranges": {"coach_hours": (-1.0, 1.0)}}, HOURS, "allowed range"),
    ({"parameters": ["coach_hours", "no_such_thing"]}, HOURS, "'parameters'"),
    ({"ranges": {"no_such_thing": (0, 1)}}, HOURS, "'ranges'"),
    ({}, Contrast("coach", "nobody", "completed"), "'reference'"),
    ({}, Contrast("coach", "survey", "happiness"), "'outcome'"),
    ({}, Contrast("coach", "survey", "arm"), "'outcome'"),
    ({"trajectories": 1}, HOURS, "'trajectories'"),
    ({"levels": 3}, HOURS, "'levels'"),
    ({"method": "sobol", "samples": 24}, HOURS, "'samples'"),
    ({"method": "sobol", "samples": 8}, HOURS, "'samples'"),
    ({"method": "fast"}, HOURS, "'method'"),
])
def test_bad_input_is_one_sentence(spec, kwargs, contrast, needle):
    kwargs = {"parameters": ["coach_hours", "quality_approach"], **kwargs}
    if "ranges" in kwargs and "no_such_thing" in kwargs["ranges"]:
        kwargs.pop("parameters")
    with pytest.raises(InvalidParameterError) as err:
        robustness(spec, contrast, progress=False, **kwargs)
    msg = str(err.value)
    assert needle in msg
    assert "\n" not in msg and msg.endswith(".") and msg.count("; got ") == 1


def test_unknown_names_list_the_valid_ones(spec):
    with pytest.raises(InvalidParameterError, match="quality_approach"):
        robustness(spec, HOURS, parameters=["nope"], progress=False)
    with pytest.raises(InvalidParameterError, match="'coach', 'survey'"):
        robustness(spec, Contrast("nobody", "survey", "completed"), progress=False)
    with pytest.raises(InvalidParameterError, match="mentee_gain"):
        robustness(spec, Contrast("coach", "survey", "happiness"), progress=False)
    p = _calibrated_parameter()
    with pytest.raises(InvalidParameterError, match="not an assumption"):
        robustness(spec, HOURS, parameters=[p], progress=False)


def test_contrast_checks_its_own_fields():
    with pytest.raises(InvalidParameterError, match="'reference'"):
        Contrast("a", "a", "completed")
    with pytest.raises(InvalidParameterError, match="'statistic'"):
        Contrast("a", "b", "completed", statistic="median")


def test_the_control_arm_counts_as_an_arm(spec):
    with_control = spec.replace(control=True)
    res = _run(with_control, Contrast("coach", "control", "mentee_gain"),
               parameters=["coach_hours", "quality_approach"], trajectories=2)
    assert res.verdict in VERDICTS
    with pytest.raises(InvalidParameterError, match="'control'"):
        robustness(with_control, Contrast("coach", "nobody", "completed"),
                   parameters=["coach_hours"], progress=False)
