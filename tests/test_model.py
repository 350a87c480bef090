"""The model's mechanisms (issue 9): contact not schedule, what a coordinator sees, fading
pairs, early-warning evaluation, endings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit import (
    Arm,
    CohortSpec,
    ExperimentSpec,
    ProgramDesign,
    early_warning,
    run_experiment,
)
from toolkit.analysis import checkin_warning

COHORT = CohortSpec(n_mentors=60, n_mentees=50)


def _closure_difference(behavior: dict, replicates: int = 40) -> tuple[float, float]:
    """Weekly 30-minute minus biweekly 60-minute early closure (equal monthly hours)."""
    spec = ExperimentSpec(
        cohort=COHORT,
        replicates=replicates,
        seed=21,
        behavior=behavior,
        arms={
            "weekly30": Arm("random", ProgramDesign(cadence="weekly", meeting_minutes=30)),
            "biweekly60": Arm("random", ProgramDesign()),
        },
    )
    o = run_experiment(spec, progress=False, tables=("outcomes",)).outcomes
    closed = (~o["completed"]).groupby([o["replicate"], o["arm"].astype(str)]).mean().unstack()
    diff = closed["weekly30"] - closed["biweekly60"]
    return float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(len(diff)))


def test_equal_hours_cadences_differ_only_through_named_contact_parameters():
    # With the calendar-time contact effects off (decay of quality in weeks without a
    # meeting, and the gap effects on meetings and closure), equal monthly hours give
    # equal closure within Monte Carlo error: frequency itself does nothing else.
    est, mcse = _closure_difference({"meet_gap": 0.0, "closure_gap": 0.0, "quality_decay": 0.0})
    assert abs(est) < 3 * mcse + 0.005, (est, mcse)
    # With them on, the difference is governed by them: more frequent contact keeps
    # the gaps short, and stronger gap effects make the weekly advantage larger.
    strong, strong_se = _closure_difference(
        {"meet_gap": 1.0, "closure_gap": 0.6, "quality_decay": 0.0}
    )
    assert strong < est - 3 * max(strong_se, mcse), (strong, est)


def test_inactive_but_open_occurs_and_inactivity_rule_changes_outcomes():
    spec = ExperimentSpec(
        cohort=COHORT,
        replicates=10,
        seed=4,
        arms={
            "plain": Arm("random", ProgramDesign()),
            "guider": Arm("random", ProgramDesign(no_meeting_weeks=6, on_flag="close")),
        },
    )
    res = run_experiment(spec, progress=False, tables=("weeks", "outcomes", "events"))
    plain = res.weeks[res.weeks["arm"] == "plain"]
    assert (plain["state"] == "inactive_open").any()
    # inactive but open: formally open, no meeting for six weeks or more
    inactive = plain[plain["state"] == "inactive_open"]
    assert inactive["active"].all()
    o = res.outcomes
    closed = (~o["completed"]).groupby(o["arm"].astype(str)).mean()
    assert closed["guider"] > closed["plain"]
    ev = res.events
    rule_closures = ev[(ev["arm"] == "guider") & (ev["reason"] == "coordinator_close")]
    assert len(rule_closures) > 0
    assert not (ev[(ev["arm"] == "plain")]["reason"] == "coordinator_close").any()


def _observed_run(replicates=12, seed=8):
    design = ProgramDesign(checkins="monthly", on_flag="none", flag_rule="rating_or_log")
    spec = ExperimentSpec(
        cohort=COHORT, replicates=replicates, seed=seed, arms={"observe": Arm("random", design)}
    )
    return run_experiment(spec, progress=False, tables=("weeks", "outcomes", "events"))


def test_a_flag_rule_reading_the_meeting_log_beats_the_base_rate():
    """Per check-in (person-period), where a rule's exposure does not grow with the time a
    pair stays open: a long gap in the meeting log raises the chance of closing soon."""
    res = _observed_run(replicates=20)
    table = checkin_warning(
        res.events,
        res.outcomes,
        {"gap6": ("weeks_since_meeting", 6)},
        weeks=res.weeks,
        lead_weeks=8,
    ).iloc[0]
    assert table["n_flagged"] > 20 and table["n_positive"] > 0
    assert table["ppv"] > table["base_rate"], table.to_dict()
    assert table["lr_positive"] > 1.0


def test_early_warning_numbers_equal_a_hand_count():
    res = _observed_run(replicates=2, seed=3)
    w, o, ev = res.weeks, res.outcomes, res.events
    table = early_warning(
        w, o, {"gap3": ("weeks_since_meeting", 3), "low": ("rating", 3)}, events=ev, at="every_week"
    )
    table = table.set_index("rule")
    # hand count, pair by pair, with plain Python
    counts = {"gap3": [0, 0, []], "low": [0, 0, []]}  # flagged, true positives, leads
    n_closed = 0
    ratings = {
        (r.replicate, r.pair_id, r.week): r.rating
        for r in ev[(ev["event"] == "checkin")].itertuples()
        if not pd.isna(r.rating)
    }
    for (rep, pid), rows in w.groupby(["replicate", "pair_id"]):
        out = o[(o["replicate"] == rep) & (o["pair_id"] == pid)].iloc[0]
        closed = not out["completed"]
        cw = int(out["closed_week"]) if closed else 10**9
        n_closed += closed
        last, alarms = 0, {"gap3": None, "low": None}
        for r in rows.sort_values("week").itertuples():
            if r.met:
                last = r.week
            if not r.active or r.week >= cw:
                continue
            if alarms["gap3"] is None and r.week - last >= 3:
                alarms["gap3"] = r.week
            rating = ratings.get((rep, pid, r.week))
            if alarms["low"] is None and rating is not None and rating <= 3:
                alarms["low"] = r.week
        for rule, first in alarms.items():
            if first is not None:
                counts[rule][0] += 1
                if closed:
                    counts[rule][1] += 1
                    counts[rule][2].append(cw - first)
    for rule, (flagged, tp, leads) in counts.items():
        row = table.loc[rule]
        assert row["n_closed"] == n_closed
        assert row["n_flagged"] == flagged and row["true_positives"] == tp
        assert row["precision"] == pytest.approx(tp / flagged if flagged else np.nan, nan_ok=True)
        assert row["median_lead_weeks"] == pytest.approx(
            np.median(leads) if leads else np.nan, nan_ok=True
        )


def test_early_warning_bad_rules_are_refused():
    res = _observed_run(replicates=1)
    with pytest.raises(Exception, match="'rules' parameter of early_warning"):
        early_warning(res.weeks, res.outcomes, {"x": ("crystal_ball", 1)})
    with pytest.raises(Exception, match="'events' parameter of early_warning"):
        early_warning(res.weeks, res.outcomes, {"x": ("rating", 2)})


def test_endings_lower_satisfaction_and_can_leave_a_setback():
    spec = ExperimentSpec(
        cohort=COHORT, replicates=10, seed=2, arms={"a": Arm("random", ProgramDesign())}
    )
    soft = run_experiment(
        spec.replace(
            behavior={
                "ending_satisfaction": 0.0,
                "ending_setback": 0.0,
                "ending_gain_retention": 1.0,
            }
        ),
        progress=False,
        tables=("outcomes",),
    ).outcomes
    hard = run_experiment(
        spec.replace(behavior={"ending_satisfaction": 1.0, "ending_setback": 0.02}),
        progress=False,
        tables=("outcomes",),
    ).outcomes
    ended = ~hard["completed"]
    assert ended.any()
    assert (
        hard.loc[ended, "satisfaction_mentee"].astype(float).mean()
        < soft.loc[ended, "satisfaction_mentee"].astype(float).mean()
    )
    assert (hard.loc[ended, "mentee_gain"] < 0).any()
    assert (soft["mentee_gain"] >= 0).all()
    # completed pairs are untouched by what endings do
    pd.testing.assert_series_equal(hard.loc[~ended, "mentee_gain"], soft.loc[~ended, "mentee_gain"])


def test_deep_similarity_varies_as_the_traits_imply():
    from toolkit import generate_cohort, match
    from toolkit.compatibility import score_components

    c = generate_cohort(CohortSpec(n_mentors=120, n_mentees=100, seed=1))
    deep = score_components(c)["deep_similarity"]
    assert 0.12 < deep.std() < 0.2 and abs(deep.mean() - 0.5) < 0.03
    best = match(c, "optimal", weights={"deep_similarity": 1}, seed=1).pairs
    assert best["score_deep_similarity"].mean() > deep.mean() + 0.2
