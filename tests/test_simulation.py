"""simulate(): invariants, determinism, sanity, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolkit import CohortSpec, generate_cohort, match
from toolkit.behavior import BehaviorModel
from toolkit.errors import InvalidParameterError
from toolkit.program import CADENCES, FLAG_ACTIONS, ProgramDesign, program_schedule
from toolkit.simulation import EVENT_TYPES, REASONS, simulate

B = BehaviorModel()


@pytest.fixture(scope="module")
def cohort():
    return generate_cohort(CohortSpec(n_mentors=50, n_mentees=40, seed=21))


def random_pairs(cohort, seed=0, n=None):
    g = np.random.default_rng(seed)
    n = n or len(cohort.mentees)
    return pd.DataFrame(
        {
            "mentee_id": cohort.mentees["participant_id"].to_numpy()[:n],
            "mentor_id": g.permutation(cohort.mentors["participant_id"].to_numpy())[:n],
        }
    )


BUSY = ProgramDesign(
    duration_weeks=20,
    cadence="weekly",
    checkins="monthly",
    flag_rating=3,
    no_first_meeting_week=2,
    no_meeting_weeks=3,
    goal_setting=True,
    structured_agenda=True,
    mentor_training=True,
)


def check_invariants(res, design, b=B, capacity=1):
    w, o, ev = res.weeks, res.outcomes, res.events
    n_weeks = design.duration_weeks
    assert len(w) == len(o) * n_weeks
    w = w.sort_values(["pair_id", "week"])
    active = w["active"].to_numpy().reshape(len(o), n_weeks)
    # a closed pair stays closed
    assert (np.diff(active.astype(int), axis=1) <= 0).all()
    # no meetings (or check-ins, or schedule) while inactive; meetings only in cadence weeks
    assert not (w["met"] & ~w["active"]).any()
    assert not (w["scheduled"] & ~w["active"]).any()
    assert not (w["checkin"] & ~w["active"]).any()
    assert not (w["met"] & ~w["scheduled"]).any()
    sched = program_schedule(design)
    assert set(w.loc[w["scheduled"], "week"]) <= set(sched.meeting_week_numbers())
    for col in ("quality", "engagement", "mentee_skill", "mentor_skill"):
        assert w[col].between(0, 1).all(), col
    # gains are never negative for a completed pair; an early ending may leave a setback
    done = o["completed"].to_numpy()
    assert (o.loc[done, "mentee_gain"] >= 0).all() and (o.loc[done, "mentor_gain"] >= 0).all()
    assert (o["mentee_gain"] >= -b.ending_setback - 1e-12).all()
    # the state column: closed exactly when no longer active at the end of the week
    assert set(w["state"].astype(str)) <= {"active", "inactive_open", "closed"}
    # check-ins only when scheduled or triggered, each with its event and reason
    ck = ev[ev["event"] == "checkin"]
    assert len(ck) == int(w["checkin"].sum())
    planned = set(sched.checkin_week_numbers())
    assert ck.loc[ck["reason"] == "scheduled", "week"].isin(planned).all()
    assert ck["reason"].isin(["scheduled", "no_first_meeting", "no_meeting_streak"]).all()
    trig_first = ck[ck["reason"] == "no_first_meeting"]
    assert (trig_first["week"] == design.no_first_meeting_week).all()
    met_by = w.groupby("pair_id")["met"].cumsum()
    held_before = dict(zip(zip(w["pair_id"], w["week"], strict=True), met_by, strict=True))
    assert all(
        held_before[(p, k)] == 0
        for p, k in zip(trig_first["pair_id"], trig_first["week"], strict=True)
    )
    # every event has a known reason
    assert ev["reason"].notna().all() and ev["event"].notna().all()
    assert set(ev["event"].astype(str)) <= set(EVENT_TYPES)
    assert set(ev["reason"].astype(str)) <= set(REASONS)
    # closures: one event per closed pair, at its closed week, and never a later row active
    closures = ev[ev["event"] == "closure"].set_index("pair_id")["week"]
    closed = o.loc[~o["completed"]].set_index("pair_id")["closed_week"]
    assert closures.sort_index().astype(int).equals(closed.sort_index().astype(int))
    assert (o["weeks_active"] == active.sum(1)).all()
    assert (o["meetings_held"].to_numpy() == w.groupby("pair_id")["met"].sum().to_numpy()).all()
    # hours add up from meetings, check-ins and interventions
    n_ck = ck.groupby("pair_id").size().reindex(o["pair_id"], fill_value=0).to_numpy()
    n_coach = (
        ev[ev["event"] == "coach"]
        .groupby("pair_id")
        .size()
        .reindex(o["pair_id"], fill_value=0)
        .to_numpy()
    )
    rem = ev[(ev["event"] == "rematch") & (ev["reason"] == "new_mentor")]
    n_rem = rem.groupby("pair_id").size().reindex(o["pair_id"], fill_value=0).to_numpy()
    n_close = (
        ev[(ev["event"] == "closure") & (ev["reason"] == "coordinator_close")]
        .groupby("pair_id")
        .size()
        .reindex(o["pair_id"], fill_value=0)
        .to_numpy()
    )
    meet_h = design.meeting_minutes / 60
    prep_h = b.agenda_prep_minutes / 60 * design.structured_agenda
    survey_h = b.survey_minutes / 60
    # participants answer a survey at planned check-ins only (triggers read the log)
    n_survey = (
        ck[ck["reason"] == "scheduled"]
        .groupby("pair_id")
        .size()
        .reindex(o["pair_id"], fill_value=0)
        .to_numpy()
    )
    m = o["meetings_held"].to_numpy()
    np.testing.assert_allclose(
        o["hours_mentee"],
        m * (meet_h + prep_h) + n_survey * survey_h + n_coach * b.coach_participant_hours,
    )
    np.testing.assert_allclose(
        o["hours_mentor"],
        m * meet_h
        + n_survey * survey_h
        + n_coach * b.coach_participant_hours
        + b.training_hours * design.mentor_training,
    )
    np.testing.assert_allclose(
        o["hours_coordinator"],
        n_ck * b.checkin_minutes / 60
        + n_coach * b.coach_hours
        + n_rem * b.rematch_hours
        + n_close * b.close_hours,
    )
    # rematches honour capacity: final active load per mentor within capacity
    load = o.loc[o["completed"], "mentor_id"].astype(object).value_counts()
    assert (load <= capacity).all()


@pytest.mark.parametrize("on_flag", FLAG_ACTIONS)
def test_invariants_with_coordinator(cohort, on_flag):
    design = BUSY.replace(on_flag=on_flag)
    res = simulate(cohort, random_pairs(cohort), design, seed=4)
    check_invariants(res, design)
    assert (res.events["event"] == "flag").any()
    if on_flag == "rematch":
        rem = res.events[res.events["event"] == "rematch"]
        assert (rem["reason"] == "new_mentor").any()
        moved = rem.loc[rem["reason"] == "new_mentor"]
        assert (moved["mentor_id"].astype(object) != moved["new_mentor_id"].astype(object)).all()


def test_rematch_with_no_free_mentor_is_recorded():
    c = generate_cohort(CohortSpec(n_mentors=20, n_mentees=20, seed=3))
    design = BUSY.replace(on_flag="rematch", flag_rating=5)  # every pair flagged at once
    b = BehaviorModel(rematch_acceptance=1.0)
    res = simulate(c, random_pairs(c), design, b, seed=2)
    rem = res.events[res.events["event"] == "rematch"]
    assert (rem["reason"] == "no_mentor_available").any()
    check_invariants(res, design, b)


def test_inactivity_rule_closes_after_exactly_n_weeks(cohort):
    design = ProgramDesign(
        duration_weeks=26, cadence="monthly", no_meeting_weeks=6, on_flag="close"
    )
    res = simulate(cohort, random_pairs(cohort), design, BehaviorModel(meet_base=-1.0), seed=1)
    closed = res.events[
        (res.events["event"] == "closure") & (res.events["reason"] == "coordinator_close")
    ]
    assert len(closed) > 0
    w = res.weeks
    for pid, week in zip(closed["pair_id"], closed["week"], strict=True):
        met_weeks = w.loc[(w["pair_id"] == pid) & w["met"], "week"]
        assert week - (met_weeks.max() if len(met_weeks) else 0) == 6


def test_deterministic_by_seed(cohort):
    pairs = random_pairs(cohort)
    a = simulate(cohort, pairs, BUSY, seed=7)
    b = simulate(cohort, pairs, BUSY, seed=7)
    c = simulate(cohort, pairs, BUSY, seed=8)
    for name, table in a.tables().items():
        pd.testing.assert_frame_equal(table, b.tables()[name])
    assert not a.outcomes["meetings_held"].equals(c.outcomes["meetings_held"])


def test_no_meetings_means_no_learning(cohort):
    res = simulate(
        cohort, random_pairs(cohort), ProgramDesign(), BehaviorModel(meet_base=-60.0), seed=3
    )
    o = res.outcomes
    assert o["meetings_held"].sum() == 0
    # nothing learned: zero for completed pairs, only the ending's setback for the others
    expected = np.where(o["completed"], 0.0, -BehaviorModel().ending_setback)
    np.testing.assert_allclose(o["mentee_gain"], expected)
    np.testing.assert_allclose(o["mentor_gain"], expected)
    assert (res.weeks.groupby("pair_id")["mentee_skill"].nunique() == 1).all()


def test_more_frequent_meetings_mean_more_meetings(cohort):
    pairs = random_pairs(cohort)
    held = [
        simulate(cohort, pairs, ProgramDesign(cadence=c), seed=5).outcomes["meetings_held"].mean()
        for c in ("weekly", "biweekly", "every_3_weeks", "monthly")
    ]
    assert held == sorted(held, reverse=True) and held[0] > held[-1] + 3


def test_tables_have_design_columns(cohort):
    res = simulate(cohort, random_pairs(cohort, n=30), ProgramDesign(duration_weeks=5), seed=0)
    assert list(res.weeks.columns) == [
        "replicate",
        "arm",
        "pair_id",
        "week",
        "scheduled",
        "met",
        "quality",
        "engagement",
        "mentee_skill",
        "mentor_skill",
        "checkin",
        "flagged",
        "intervention",
        "active",
        "state",
    ]
    for col in (
        "replicate",
        "arm",
        "pair_id",
        "mentee_id",
        "mentor_id",
        "meetings_held",
        "weeks_active",
        "completed",
        "closed_week",
        "final_quality",
        "mentee_gain",
        "mentor_gain",
        "satisfaction_mentee",
        "satisfaction_mentor",
        "hours_mentee",
        "hours_mentor",
        "hours_coordinator",
    ):
        assert col in res.outcomes.columns, col
    assert len(res.outcomes) == 30 and res.weeks["week"].max() == 5
    s = res.surveys
    assert s["value"].between(1, 5).all()
    assert set(s["phase"].astype(str)) == {"pre", "post"}


def test_matching_from_another_cohort_is_refused(cohort):
    other = generate_cohort(CohortSpec(n_mentors=50, n_mentees=40, seed=99))
    pairs = random_pairs(other).assign(mentee_id=lambda d: "X" + d["mentee_id"])
    with pytest.raises(InvalidParameterError, match="'matching' parameter of simulate.*X"):
        simulate(cohort, pairs, ProgramDesign())
    with pytest.raises(InvalidParameterError, match="mentee_id and mentor_id"):
        simulate(cohort, pd.DataFrame({"a": [1]}), ProgramDesign())
    dup = random_pairs(cohort).iloc[[0, 0]]
    with pytest.raises(InvalidParameterError, match="at most once"):
        simulate(cohort, dup, ProgramDesign())


def test_matching_of_another_cohort_is_refused(cohort):
    other = generate_cohort(CohortSpec(n_mentors=12, n_mentees=10, seed=99))
    with pytest.raises(InvalidParameterError, match="fingerprint"):
        simulate(cohort, match(other, "random", seed=1), ProgramDesign())


def test_an_object_that_only_looks_like_a_matching_is_refused(cohort):
    class LooksLikeMatching:  # duck typing at the seam is not accepted
        pairs = random_pairs(cohort)

    with pytest.raises(InvalidParameterError, match="'matching' parameter of simulate"):
        simulate(cohort, LooksLikeMatching(), ProgramDesign())


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"design": "weekly"}, "design"),
        ({"behavior": {"a": 1}}, "behavior"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_arguments(cohort, kwargs, name):
    args = {"design": ProgramDesign(), **kwargs}
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of simulate"):
        simulate(cohort, random_pairs(cohort), **args)


@given(
    duration=st.integers(1, 16),
    cadence=st.sampled_from(CADENCES),
    checkins=st.sampled_from(["none", "monthly", "survey_30_60"]),
    on_flag=st.sampled_from(FLAG_ACTIONS),
    flag_rating=st.floats(1, 5),
    gap=st.one_of(st.none(), st.integers(1, 16)),
    levers=st.lists(st.booleans(), min_size=5, max_size=5),
    minutes=st.floats(15, 120),
    seed=st.integers(0, 2**32),
)
def test_invariants_property(
    cohort, duration, cadence, checkins, on_flag, flag_rating, gap, levers, minutes, seed
):
    design = ProgramDesign(
        duration_weeks=duration,
        cadence=cadence,
        checkins=checkins,
        on_flag=on_flag,
        flag_rating=flag_rating,
        no_meeting_weeks=None if gap is None else min(gap, duration),
        meeting_minutes=minutes,
        goal_setting=levers[0],
        structured_agenda=levers[1],
        mentor_training=levers[2],
        recognition=levers[3],
        virtual=levers[4],
    )
    check_invariants(simulate(cohort, random_pairs(cohort, seed % 7), design, seed=seed), design)


def test_simulate_tables_selection_matches_the_full_run():
    from toolkit import CohortSpec, ProgramDesign, generate_cohort, match, simulate

    cohort = generate_cohort(CohortSpec(n_mentors=20, n_mentees=18, seed=2))
    pairs = match(cohort, policy="random", seed=2)
    design = ProgramDesign(checkins="monthly", on_flag="coach")
    full = simulate(cohort, pairs, design, seed=5)
    lean = simulate(cohort, pairs, design, seed=5, tables=["outcomes", "surveys"])
    pd.testing.assert_frame_equal(lean.outcomes, full.outcomes)
    pd.testing.assert_frame_equal(lean.surveys, full.surveys)
    assert lean.weeks is None and lean.events is None
    # A Matching and its pairs frame give the same positions, hence the same outcomes.
    from_frame = simulate(cohort, pairs.pairs[["mentor_id", "mentee_id"]], design, seed=5)
    pd.testing.assert_frame_equal(from_frame.outcomes, full.outcomes)
