"""Issue 17: mechanisms that do not decide the answer in advance, closure causes, early
warning per check-in, common horizons, levers as scenario inputs, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit import _engine
from toolkit.analysis import at_horizon, checkin_warning, closure_reasons
from toolkit.behavior import BehaviorModel
from toolkit.cohort import CohortSpec, generate_cohort
from toolkit.compatibility import pair_components, weighted_score
from toolkit.errors import InvalidParameterError
from toolkit.experiment import Arm, ExperimentSpec, run_experiment
from toolkit.matching import match
from toolkit.program import ProgramDesign, preset
from toolkit.simulation import CLOSURE_REASONS, simulate


def _mean_diff(res, a, b, col="completed"):
    o = res.outcomes
    per = o.groupby(["replicate", "arm"], observed=True)[col].mean().unstack()
    d = (per[a] - per[b]).to_numpy(float)
    return d.mean(), d.std(ddof=1) / np.sqrt(len(d))


def _cadence_run(behavior, replicates=30, n=80, minutes=30):
    # Equal monthly hours (minutes=30): weekly 30-minute meetings against biweekly
    # hour-long ones; minutes=60: equal meeting length, twice the monthly dose.
    arms = {
        "weekly": Arm("random", ProgramDesign(cadence="weekly", meeting_minutes=minutes)),
        "biweekly": Arm("random", ProgramDesign(cadence="biweekly", meeting_minutes=60)),
    }
    spec = ExperimentSpec(
        cohort=CohortSpec(n_mentees=n, n_mentors=n + 10),
        arms=arms,
        replicates=replicates,
        seed=7,
        behavior=behavior.overrides(),
    )
    return run_experiment(spec, progress=False, tables=("outcomes",))


def test_cadence_neutral_without_miss_cost_and_overload():
    """Miss cost, overload, the calendar-time terms and learning's diminishing returns off,
    equal monthly hours: weekly minus biweekly completion is within MC error of zero."""
    neutral = BehaviorModel(
        engagement_miss=0.0,
        engagement_overload=0.0,
        meet_overload=0.0,
        meet_gap=0.0,
        closure_gap=0.0,
    )
    diff, se = _mean_diff(_cadence_run(neutral), "weekly", "biweekly")
    assert abs(diff) < 3 * se + 0.01, (diff, se)
    # Each mechanism moves it in its documented direction. Calendar time since contact
    # (meet_gap, closure_gap) favours the more frequent cadence.
    gap_on = neutral.replace(meet_gap=0.6, closure_gap=0.3)
    assert _mean_diff(_cadence_run(gap_on), "weekly", "biweekly")[0] > diff + 2 * se
    # Miss cost and overload work per hour, so at equal monthly hours they are neutral...
    costly = neutral.replace(
        engagement_miss=0.08,
        meet_overload=2.0,
        engagement_overload=0.06,
        mentee_hours_month=2.0,
        mentor_hours_month=2.0,
    )
    assert abs(_mean_diff(_cadence_run(costly), "weekly", "biweekly")[0] - diff) < 3 * se + 0.02
    # ...and act against the cadence with the larger monthly dose at equal meeting length.
    dose_free = _mean_diff(_cadence_run(neutral, minutes=60), "weekly", "biweekly")[0]
    dose_costly = _mean_diff(_cadence_run(costly, minutes=60), "weekly", "biweekly")[0]
    assert dose_costly < dose_free


def test_meeting_at_typical_fit_does_not_lower_engagement():
    b = BehaviorModel()
    cohort = generate_cohort(CohortSpec(seed=3))
    feats = _engine.cohort_features(cohort)
    m = match(cohort, "random", seed=3)
    f = feats.pair(m.mentee_index, m.mentor_index)
    fixed = _engine._fit_fixed(
        _engine._Params(b.to_dict()), ProgramDesign(), f, np.zeros(len(m.mentee_index))
    )
    median_fit = float(np.median(fixed))
    step = _engine.engagement_step(
        b, np.array([True]), np.array([False]), np.array([median_fit]), np.array([0.0]), 1.0
    )
    assert step[0] >= 0.0
    assert abs(median_fit - b.quality_base) < 0.05  # fit is centred on the typical pair


def test_zero_actual_similarity_effect_makes_matching_irrelevant_to_quality():
    b = BehaviorModel(
        quality_deep=0.0, quality_surface=0.0, quality_interests=0.0, perceived_actual=0.0
    )
    arms = {"random": Arm("random", ProgramDesign()), "optimal": Arm("optimal", ProgramDesign())}
    spec = ExperimentSpec(
        cohort=CohortSpec(n_mentees=60, n_mentors=70),
        arms=arms,
        replicates=30,
        seed=5,
        behavior=b.overrides(),
    )
    res = run_experiment(spec, progress=False, tables=("outcomes",))
    diff, se = _mean_diff(res, "optimal", "random", "mean_quality")
    # schedule fit still differs between matchings (it moves meetings held, hence quality)
    assert abs(diff) < 3 * se + 0.005, (diff, se)
    with_effect = run_experiment(
        spec.replace(behavior={"quality_deep": 0.35}), progress=False, tables=("outcomes",)
    )
    assert _mean_diff(with_effect, "optimal", "random", "mean_quality")[0] > diff + 3 * se


def test_coaching_with_no_effect_costs_hours_only():
    cohort = generate_cohort(CohortSpec(seed=4))
    m = match(cohort, "random", seed=4)
    b = BehaviorModel(coach_engagement=0.0, coach_quality=0.0, coach_contact=0.0)
    coach = simulate(
        cohort, m, ProgramDesign(checkins="monthly", on_flag="coach", flag_rating=3), b, seed=2
    )
    none = simulate(
        cohort, m, ProgramDesign(checkins="monthly", on_flag="none", flag_rating=3), b, seed=2
    )
    assert (coach.events["event"] == "coach").sum() > 0
    for col in (
        "completed",
        "meetings_held",
        "final_quality",
        "mentee_gain",
        "satisfaction_mentee",
    ):
        pd.testing.assert_series_equal(coach.outcomes[col], none.outcomes[col])
    assert coach.outcomes["hours_coordinator"].sum() > none.outcomes["hours_coordinator"].sum()


def test_rematch_takes_the_policys_best_free_mentor():
    """Hand-checked: the flagged mentee's new mentor is the free mentor with the best
    score under the matching's weights."""
    cohort = generate_cohort(CohortSpec(seed=8, n_mentees=6, n_mentors=12))
    feats = _engine.cohort_features(cohort)
    weights = _engine.rematch_weights("optimal")
    stack = _engine.Stack(
        features=[feats],
        replicates=np.array([0]),
        rep=np.zeros(6, np.int64),
        mentee=np.arange(6),
        mentor=np.arange(6),
    )
    load = np.bincount(np.arange(6), minlength=12)
    key = np.random.default_rng(0).random(12)
    new = _engine._choose_mentors(
        stack, np.array([2]), load, 1, np.zeros(12, np.int64), key, weights
    )
    free = np.arange(6, 12)
    scores = weighted_score(pair_components(cohort, np.full(6, 2), free), weights)
    assert new[0] == free[np.argmax(scores)]
    # two mentees wanting the same single free mentor: the better pair wins it
    load2 = np.ones(12, np.int64)
    load2[[7, 9]] = 0
    two = _engine._choose_mentors(
        stack, np.array([0, 1]), load2, 1, np.zeros(12, np.int64), key, weights
    )
    assert sorted(two.tolist()) == [7, 9]
    assert _engine.rematch_weights("random") is None


def test_every_closure_has_a_reason_and_outside_events_occur():
    cohort = generate_cohort(CohortSpec(seed=9, n_mentees=300, n_mentors=330))
    r = simulate(cohort, match(cohort, "random", seed=9), ProgramDesign(), seed=9)
    closures = r.events[r.events["event"] == "closure"]
    assert len(closures) == int((~r.outcomes["completed"]).sum())
    assert set(closures["reason"].astype(str)) <= set(CLOSURE_REASONS)
    assert (closures["reason"] == "outside_event").sum() > 0
    table = closure_reasons(r.events)
    assert abs(table["share"].sum() - 1) < 1e-12
    with pytest.raises(InvalidParameterError, match="reasons"):
        closure_reasons(r.events, reasons=["abducted_by_aliens"])


def test_time_pressure_raises_outside_events():
    cohort = generate_cohort(CohortSpec(seed=9, n_mentees=300, n_mentors=330))
    m = match(cohort, "random", seed=9)
    shares = []
    for pressure in (0.0, 3.0):
        b = BehaviorModel(closure_outside_pressure=pressure, closure_outside=-4.0)
        ev = simulate(cohort, m, ProgramDesign(), b, seed=9).events
        shares.append(int(((ev["event"] == "closure") & (ev["reason"] == "outside_event")).sum()))
    assert shares[1] > shares[0]


def _small_checkin_run():
    cohort = generate_cohort(CohortSpec(seed=11, n_mentees=200, n_mentors=220))
    return simulate(
        cohort,
        match(cohort, "random", seed=11),
        ProgramDesign(duration_weeks=52, checkins="monthly", on_flag="none"),
        seed=11,
    )


def test_checkin_warning_equals_a_hand_count():
    r = _small_checkin_run()
    got = checkin_warning(r.events, r.outcomes, {"low": ("rating", 2)}, lead_weeks=8).iloc[0]
    ev, o = r.events, r.outcomes.set_index("pair_id")
    hand = {"tp": 0, "fp": 0, "pos": 0, "neg": 0}
    for row in ev[(ev["event"] == "checkin") & (ev["reason"] == "scheduled")].itertuples():
        cw = o.loc[row.pair_id, "closed_week"]
        cw = np.inf if pd.isna(cw) else cw
        pos, neg = row.week < cw <= row.week + 8, cw > row.week + 8
        flag = row.rating <= 2
        hand["pos"] += pos
        hand["neg"] += neg
        hand["tp"] += pos and flag
        hand["fp"] += neg and flag
    assert got["n_positive"] == hand["pos"]
    assert got["sensitivity"] == pytest.approx(hand["tp"] / hand["pos"])
    assert got["specificity"] == pytest.approx(1 - hand["fp"] / hand["neg"])
    assert got["ppv"] == pytest.approx(hand["tp"] / (hand["tp"] + hand["fp"]))
    assert got["lr_positive"] == pytest.approx(got["sensitivity"] / (1 - got["specificity"]))
    assert got["lr_positive"] > 1.2 and got["auc"] > 0.55


def test_random_rule_has_lr_one_per_checkin():
    r = _small_checkin_run()
    rows = pd.concat(
        [
            checkin_warning(r.events, r.outcomes, {"coin": ("random", 0.3)}, seed=s)
            for s in range(20)
        ]
    )
    assert abs(rows["lr_positive"].mean() - 1.0) < 0.1
    assert abs(rows["auc"].mean() - 0.5) < 0.03


def test_designs_of_different_length_compared_at_a_common_horizon():
    arms = {
        "hartford": Arm("random", preset("hartford")),
        "biweekly": Arm("random", ProgramDesign()),
    }
    spec = ExperimentSpec(
        cohort=CohortSpec(n_mentees=60, n_mentors=70), arms=arms, replicates=3, seed=2
    )
    res = run_experiment(spec, progress=False, tables=("outcomes", "weeks"))
    durations = {"hartford": 21, "biweekly": 26}
    t = at_horizon(res.outcomes, 21, durations=durations, weeks=res.weeks).set_index("arm")
    o = res.outcomes
    for arm in durations:
        cw = o.loc[o["arm"] == arm, "closed_week"].astype(float)
        assert t.loc[arm, "closed_by_horizon"] == pytest.approx((cw <= 21).mean())
    hart = o[o["arm"] == "hartford"]
    assert t.loc["hartford", "open_at_horizon"] == pytest.approx(hart["completed"].mean())
    with pytest.raises(InvalidParameterError, match="horizon"):
        at_horizon(res.outcomes, 26, durations=durations)


@pytest.mark.parametrize(
    "changes",
    [
        {"mentee_hours_month": -1.0},
        {"mentor_hours_month": float("nan")},
        {"quality_training": 0.5},
        {"engagement_goals": -0.3},
    ],
)
def test_bad_behaviour_input_is_one_sentence(changes):
    with pytest.raises(InvalidParameterError) as err:
        BehaviorModel(**changes)
    msg = str(err.value)
    assert next(iter(changes)) in msg and msg.count(". ") == 0


def test_levers_are_labelled_scenario_inputs():
    names = BehaviorModel.scenario_inputs()
    assert {
        "quality_training",
        "quality_agenda",
        "engagement_goals",
        "engagement_recognition",
        "learn_goals",
        "meet_agenda",
    } <= set(names)
    table = BehaviorModel().describe().set_index("parameter")
    assert table.loc[names, "source"].str.startswith("scenario input").all()
    assert not set(names) & set(BehaviorModel.assumptions())


def test_availability_means_move_the_pairs_hours():
    cohort = generate_cohort(CohortSpec(seed=2))
    m = match(cohort, "random", seed=2)
    feats = _engine.cohort_features(cohort)
    f = feats.pair(m.mentee_index, m.mentor_index)
    lo, _ = _engine._availability(
        _engine._Params(BehaviorModel(mentee_hours_month=2.0, mentor_hours_month=2.0).to_dict()), f
    )
    hi, _ = _engine._availability(
        _engine._Params(BehaviorModel(mentee_hours_month=8.0, mentor_hours_month=8.0).to_dict()), f
    )
    assert np.allclose(hi, 4 * lo)


def test_a_roster_gives_real_hours_that_override_the_means():
    from toolkit.cohort import Cohort

    synthetic = generate_cohort(CohortSpec(seed=2, n_mentees=30, n_mentors=30))
    roster_like = Cohort(participants=synthetic.participants, spec=None)
    m = match(synthetic, "random", seed=2)
    f = _engine.cohort_features(roster_like).pair(m.mentee_index, m.mentor_index)
    b = _engine._Params(BehaviorModel(mentee_hours_month=11.0).to_dict())
    hours, _ = _engine._availability(b, f)
    e = synthetic.mentees["availability_hours_month"].to_numpy(float)[m.mentee_index]
    r = synthetic.mentors["availability_hours_month"].to_numpy(float)[m.mentor_index]
    assert np.allclose(hours, np.minimum(e, r))


def test_perceived_similarity_grows_with_contact():
    cohort = generate_cohort(CohortSpec(seed=6))
    m = match(cohort, "random", seed=6)
    out = {}
    for cadence in ("weekly", "monthly"):
        out[cadence] = (
            simulate(cohort, m, ProgramDesign(cadence=cadence), seed=6, tables="outcomes")
            .outcomes["perceived_similarity"]
            .mean()
        )
    assert out["weekly"] > out["monthly"]
    still = (
        simulate(
            cohort,
            m,
            ProgramDesign(cadence="weekly"),
            BehaviorModel(perceived_growth=0.0),
            seed=6,
            tables="outcomes",
        )
        .outcomes["perceived_similarity"]
        .mean()
    )
    assert still < out["weekly"]
