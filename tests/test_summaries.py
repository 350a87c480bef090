"""Summary statistics: the same numbers on observed logs and on simulated tables."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from toolkit import CohortSpec, ProgramDesign, generate_cohort, match, simulate
from toolkit.fitting import ProgramShape, fit_prior, simulate_programs
from toolkit.history_matching import prior_sample
from toolkit.logs import ProgramTables, from_simulation, read_logs, to_logs, write_logs
from toolkit.summaries import SUMMARIES, summarise, summary_spec


@pytest.fixture(scope="module")
def simulated():
    cohort = generate_cohort(CohortSpec(n_mentors=50, n_mentees=40, seed=4))
    res = simulate(
        cohort,
        match(cohort, policy="random", seed=4),
        ProgramDesign(checkins="monthly", on_flag="none"),
        seed=4,
    )
    observed = np.repeat([26, 24, 22, 21], 10)  # logs that end on one date
    cadence = np.repeat(["biweekly", "biweekly", "weekly", "monthly"], 10)
    return res, observed, cadence


def test_observed_summaries_equal_simulated_summaries_for_a_simulation_exported_as_logs(
    simulated, tmp_path
):
    res, observed, cadence = simulated
    tables = from_simulation(res.weeks, res.events, cadence="biweekly", observed_weeks=observed)
    tables = ProgramTables(tables.pairs.assign(cadence=cadence), tables.meetings, tables.checkins)
    spec = summary_spec(tables)
    direct = summarise(tables, spec)
    first = dt.date(2026, 1, 5)
    starts = [first + dt.timedelta(weeks=int(26 - o)) for o in observed]
    write_logs(to_logs(tables, start=starts), tmp_path / "logs")
    as_of = first + dt.timedelta(days=7 * 25 + 6)
    read = read_logs(tmp_path / "logs", as_of=as_of, today=dt.date(2027, 1, 1)).tables()
    assert summary_spec(read) == spec
    pd.testing.assert_frame_equal(summarise(read, spec), direct)
    # the exported tables carry every closure, meeting and rating the simulation shows
    closures = res.events[res.events["event"] == "closure"]
    seen = closures[closures["week"].to_numpy() <= observed[closures["pair_id"].to_numpy()]]
    assert (read.pairs["closed_week"] > 0).sum() == len(seen)
    assert len(direct.columns) == 24  # 3 weeks + 3 cadences + 2 + 3 + 3 + 4 + 2 + 3 + 1


def test_summaries_match_a_hand_count():
    pairs = pd.DataFrame(
        {
            "program": 0,
            "pair": [0, 1, 2],
            "cadence": "weekly",
            "observed_weeks": [6, 4, 6],
            "closed_week": [0, 4, 0],
            "reason": ["", "outside_event", ""],
        }
    )
    meetings = pd.DataFrame(
        {
            "program": 0,
            "pair": [0] * 6 + [1] * 4 + [2] * 6,
            "week": [*range(1, 7), *range(1, 5), *range(1, 7)],
            "held": [1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1],
        }
    )
    meetings["held"] = meetings["held"].astype(bool)
    checkins = pd.DataFrame(
        {"program": 0, "pair": [0, 1, 2], "week": [2, 2, 2], "rating": [2.0, 1.0, 5.0]}
    )
    t = ProgramTables(pairs, meetings, checkins)
    spec = summary_spec(t, lead_weeks=4)
    s = summarise(t, spec).iloc[0]
    assert spec.edges.tolist() == [0, 2, 4, 6]
    # weeks 1-2: 5 of 6 held; weeks 3-4: 2 of 6; weeks 5-6: 4 of 4
    assert s["adherence_w1"] == pytest.approx(5.5 / 7)
    assert s["adherence_w2"] == pytest.approx(2.5 / 7)
    assert s["adherence_w3"] == pytest.approx(4.5 / 5)
    assert s["missed_run_mean"] == pytest.approx((3 + 2 + 0) / 3)
    assert s["missed_run2_share"] == pytest.approx(2.5 / 4)
    # one ending in weeks 3-4, over 2 + 2 + 2 pair-weeks at risk there
    assert s["closure_w2"] == pytest.approx(1.5 / 7)
    assert s["closure_w1"] == pytest.approx(0.5 / 7)
    assert s["closure_outside_share"] == pytest.approx(1.5 / 2)
    assert s["rating_mean"] == pytest.approx(8 / 3)
    assert s["rating_low_share"] == pytest.approx(2.5 / 4)
    # low ratings (pairs 0, 1): pair 1 ends within 4 weeks; high (pair 2): none does
    assert s["rating_closure_gap"] == pytest.approx(1.5 / 3 - 0.5 / 2)


def test_contact_gap_summaries_match_a_hand_count():
    # pair 0 meets in week 1 only and ends in week 11; pair 1 meets every week; pair 2
    # misses weeks 1-5, then meets every week (weeks before a first meeting count)
    pairs = pd.DataFrame(
        {
            "program": 0,
            "pair": [0, 1, 2],
            "cadence": "weekly",
            "observed_weeks": 12,
            "closed_week": [11, 0, 0],
            "reason": ["missed_contact", "", ""],
        }
    )
    weeks = [*range(1, 12), *range(1, 13), *range(1, 13)]
    held = [w == 1 for w in range(1, 12)] + [True] * 12 + [w >= 6 for w in range(1, 13)]
    meetings = pd.DataFrame(
        {"program": 0, "pair": [0] * 11 + [1] * 12 + [2] * 12, "week": weeks, "held": held}
    )
    checkins = pd.DataFrame({"program": [], "pair": [], "week": [], "rating": []})
    t = ProgramTables(pairs, meetings, checkins)
    s = summarise(t, summary_spec(t)).iloc[0]
    # meetings more than 4 weeks after the last held: pair 0 weeks 7-11 (missed), pair 2
    # week 6 (held)
    assert s["adherence_after_gap"] == pytest.approx(1.5 / 7)
    # pair-weeks more than 4 weeks after the last held: pair 0 weeks 6-11 (ends in 11),
    # pair 2 week 5; more than 8 weeks: pair 0 weeks 10-11
    assert s["closure_after_gap"] == pytest.approx(1.5 / 8)
    assert s["closure_after_long_gap"] == pytest.approx(1.5 / 3)


def test_stacked_programs_summarise_as_each_alone():
    shape = ProgramShape(cadence=("weekly",) * 20 + ("monthly",) * 10, observed_weeks=(12,) * 30)
    points = prior_sample(fit_prior(), 6, seed=1)
    tables = simulate_programs(shape, points, seed=3)
    spec = summary_spec(tables)
    together = summarise(tables, spec, n_programs=6)
    alone = simulate_programs(shape, points.iloc[4:5], seed=3, first=4)
    np.testing.assert_allclose(
        summarise(alone, spec, n_programs=1).to_numpy()[0], together.to_numpy()[4]
    )
    assert together.notna().all().all()
    assert set(SUMMARIES) >= {
        "adherence_by_week",
        "adherence_by_cadence",
        "missed_runs",
        "closure_by_week",
        "closure_by_reason",
        "ratings",
        "rating_closure",
    }


def test_a_program_without_checkins_has_no_rating_summaries():
    pairs = pd.DataFrame(
        {
            "program": 0,
            "pair": [0],
            "cadence": "weekly",
            "observed_weeks": [3],
            "closed_week": [0],
            "reason": [""],
        }
    )
    meetings = pd.DataFrame(
        {"program": 0, "pair": 0, "week": [1, 2, 3], "held": [True, True, False]}
    )
    checkins = pd.DataFrame({"program": [], "pair": [], "week": [], "rating": []})
    t = ProgramTables(pairs, meetings, checkins)
    s = summarise(t, summary_spec(t))
    assert not [c for c in s.columns if c.startswith("rating")]


def test_group_ols_matches_least_squares_per_group():
    from toolkit.summaries import _group_ols

    gen = np.random.default_rng(0)
    group = np.repeat([0, 1], [40, 60])
    x = np.column_stack([np.ones(100), gen.normal(size=100), gen.normal(size=100)])
    y = x @ np.array([0.3, 2.0, -1.0]) + gen.normal(0, 0.1, 100)
    got = _group_ols(group, x, y, 3)
    for g in (0, 1):
        xs, ys = x[group == g], y[group == g]
        # the same ridge: one pseudo-observation on each centred slope
        pen = np.diag([0.0, 1.0, 1.0])
        want = np.linalg.solve(xs.T @ xs + pen, xs.T @ ys)
        np.testing.assert_allclose(got[g], want, atol=1e-6)
        assert got[g][1] == pytest.approx(2.0, abs=0.1)
    # a group with no rows gets finite zeros, not NaN
    np.testing.assert_allclose(got[2], 0.0, atol=1e-6)


def test_hazard_regression_summaries_match_a_hand_count():
    # pair 0 meets in week 1 only, misses weeks 2-10, ends for missed contact in week 10
    # (5 weeks beyond the grace); pair 1 meets every week; pair 2 meets in week 1, misses
    # weeks 2-8, meets from week 9 on
    pairs = pd.DataFrame(
        {
            "program": 0,
            "pair": [0, 1, 2],
            "cadence": "weekly",
            "observed_weeks": 12,
            "closed_week": [10, 0, 0],
            "reason": ["missed_contact", "", ""],
        }
    )
    weeks = [*range(1, 11), *range(1, 13), *range(1, 13)]
    held = (
        [w == 1 for w in range(1, 11)]
        + [True] * 12
        + [w in (1, 9, 10, 11, 12) for w in range(1, 13)]
    )
    meetings = pd.DataFrame(
        {"program": 0, "pair": [0] * 10 + [1] * 12 + [2] * 12, "week": weeks, "held": held}
    )
    checkins = pd.DataFrame({"program": [], "pair": [], "week": [], "rating": []})
    t = ProgramTables(pairs, meetings, checkins)
    s = summarise(t, summary_spec(t)).iloc[0]
    # the one relationship ending in a gap was recorded as missed contact
    assert s["missed_contact_in_gap"] == pytest.approx(1.5 / 2)
    # meetings held fall with the gap before them (pair 0 weeks 6-10 and pair 2 weeks 6-8
    # missed after a gap, pair 2 week 9 held after one): a negative slope
    assert s["meet_gap_slope"] < 0
    # the hazard: the only ending is 5 weeks beyond the grace, so the slope is positive
    assert s["closure_gap_slope"] > 0
    # by hand: the least squares of the 'ends' indicator on [1, weeks beyond, rating 3]
    rows = []
    for pair, end, last in ((0, 10, lambda w: 1), (1, 12, lambda w: w), (2, 12, None)):
        for w in range(1, end + 1):
            if pair == 2:
                lh = 1 if w < 9 else w
            else:
                lh = last(w)
            rows.append((max(min(w - lh - 4, 16), 0), float(pair == 0 and w == 10)))
    x = np.column_stack([np.ones(len(rows)), [r[0] for r in rows], np.full(len(rows), 3.0)])
    y = np.array([r[1] for r in rows])
    pen = np.diag([1e-9, 1.0, 1.0])
    want = np.linalg.solve(x.T @ x + pen, x.T @ y)
    assert s["closure_gap_slope"] == pytest.approx(100 * want[1], rel=1e-6)
