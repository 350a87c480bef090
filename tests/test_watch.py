"""The watch list: what a coordinator sees, the check-in counterfactual, baselines, Brier."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import InvalidParameterError
from toolkit.fitting import EXAMPLE_TRUTH, ProgramShape, fit_prior, simulate_programs
from toolkit.history_matching import prior_sample
from toolkit.logs import ProgramTables, read_logs
from toolkit.watch import BASELINES, RiskModel, load_risk, visible, watch_list

EXAMPLE = Path(__file__).resolve().parents[1] / "synthetic_data" / "program_logs"


def test_visible_reads_what_a_coordinator_sees_by_hand():
    pairs = pd.DataFrame(
        {
            "program": 0,
            "pair": [0, 1, 2],
            "cadence": ["weekly", "weekly", "biweekly"],
            "observed_weeks": [8, 3, 8],
            "closed_week": [0, 3, 0],
            "reason": ["", "outside_event", ""],
        }
    )
    meetings = pd.DataFrame(
        {
            "program": 0,
            "pair": [0] * 6 + [1] * 3 + [2] * 3,
            "week": [1, 2, 3, 4, 5, 6, 1, 2, 3, 1, 3, 5],
            "held": [1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0],
        }
    )
    meetings["held"] = meetings["held"].astype(bool)
    checkins = pd.DataFrame(
        {"program": 0, "pair": [0, 0, 2], "week": [4, 8, 4], "rating": [2.0, 5.0, 4.0]}
    )
    seen = visible(ProgramTables(pairs, meetings, checkins), 5).set_index("pair")
    assert list(seen.index) == [0, 2]  # pair 1 ended in week 3
    assert seen.loc[0, "weeks_since_meeting"] == 2  # last held week 3
    assert seen.loc[0, "missed_last3"] == 2  # weeks 3, 4, 5: held, missed, missed
    assert seen.loc[0, "held_share"] == pytest.approx(3.5 / 6)
    assert seen.loc[0, "last_rating"] == 2.0 and seen.loc[0, "low_rating"] == 1.0  # week 8 unseen
    assert seen.loc[2, "weeks_since_meeting"] == 4 and seen.loc[2, "missed_last3"] == 2
    assert seen.loc[2, "cadence_gap"] == 2
    assert seen.loc[0, "missed_run"] == 2 and seen.loc[2, "missed_run"] == 2  # since last held
    assert seen.loc[0, "lowest_rating"] == 2.0 and seen.loc[2, "lowest_rating"] == 4.0


def test_a_checkin_now_leaves_every_earlier_week_unchanged():
    shape = ProgramShape(cadence=("biweekly",) * 30, observed_weeks=(20,) * 30)
    points = prior_sample(fit_prior(), 5, seed=2)
    base = simulate_programs(shape, points, seed=9)
    coached = simulate_programs(shape, points, seed=9, coach_weeks=(10,))
    before = base.meetings[base.meetings["week"] <= 10].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        before, coached.meetings[coached.meetings["week"] <= 10].reset_index(drop=True)
    )
    early = base.pairs["closed_week"].between(1, 10)
    assert (coached.pairs["closed_week"][early] == base.pairs["closed_week"][early]).all()
    # and it changes something afterwards
    assert not base.meetings.equals(coached.meetings)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:  # the trained risk model is cached here
        mp.setenv("RMT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        logs = read_logs(EXAMPLE, today=dt.date(2026, 12, 1))
        models = prior_sample(fit_prior(), 40, seed=3)
        models = models.assign(
            **{k: v for k, v in EXAMPLE_TRUTH.items() if k in ("closure_outside", "meet_base")}
        )
        yield logs, watch_list(logs, models, week=14, programs=12, seed=1)


def test_the_watch_list_ranks_active_pairs_with_probabilities_and_reasons(result):
    logs, res = result
    t = res.table
    assert t["probability"].between(0, 1).all()
    assert t["probability"].is_monotonic_decreasing
    assert set(t["pair"]) <= set(logs.pair_ids)
    ended = logs.pairs.loc[
        logs.pairs["end"].notna() & (logs.pairs["end"] <= dt.date(2026, 4, 12)), "pair"
    ]
    assert not set(t["pair"]) & set(ended)
    assert t["why"].str.len().gt(0).all()
    assert t["checkin_prevents"].between(0, 1).all()
    assert np.isfinite(t["expected_change"]).all()


def test_baselines_are_scored_with_brier_and_reliability_on_held_out_programs(result):
    _, res = result
    assert list(res.scores["score"]) == ["model", *BASELINES]
    assert (res.scores["brier"] > 0).all() and (res.scores["brier"] < 0.25).all()
    rel = res.reliability
    assert set(rel["score"]) == {"model", *BASELINES}
    model = rel[rel["score"] == "model"]
    assert model["pairs"].sum() == res.scores.loc[0, "pairs"]
    # a probability that is not calibrated at all would miss the base rate by far
    assert (
        abs(
            (model["predicted"] * model["pairs"]).sum() / model["pairs"].sum()
            - res.scores.loc[0, "base_rate"]
        )
        < 0.03
    )


def test_a_week_outside_the_logs_is_refused():
    logs = read_logs(EXAMPLE, today=dt.date(2026, 12, 1))
    models = prior_sample(fit_prior(), 5, seed=3)
    with pytest.raises(InvalidParameterError, match="week for watch_list must be between 1"):
        watch_list(logs, models, week=40)


def test_the_risk_model_is_trained_once_and_a_saved_one_gives_the_same_list(
    result, tmp_path, monkeypatch
):
    import toolkit.watch as watch

    logs, res = result
    models = prior_sample(fit_prior(), 40, seed=3).assign(
        **{k: v for k, v in EXAMPLE_TRUTH.items() if k in ("closure_outside", "meet_base")}
    )

    def no_simulation(*args, **kwargs):
        raise AssertionError("the risk model was trained again")

    monkeypatch.setattr(watch, "simulate_programs", no_simulation)
    again = watch_list(logs, models, week=14, programs=12, seed=1)  # from the cache
    pd.testing.assert_frame_equal(again.table, res.table)
    # another week of the same program uses the same trained model
    later = watch_list(logs, models, week=18, programs=12, seed=1)
    assert len(later.table) and later.scores.equals(again.scores)
    # saved as risk.json (what rmt fit writes) and read back: the same list, no cache
    risk = watch.train_risk(
        watch.ProgramShape.from_logs(logs), models, programs=12, seed=1, cache=True
    )
    (tmp_path / "risk.json").write_text(risk.to_json())
    saved = load_risk(tmp_path / "risk.json")
    monkeypatch.setenv("RMT_CACHE_DIR", str(tmp_path / "empty"))
    from_file = watch_list(logs, models, week=14, programs=12, seed=1, risk=saved, cache=False)
    pd.testing.assert_frame_equal(from_file.table, res.table)
    # a saved model of other models is not used: it would be trained again
    other = models.assign(meet_base=models["meet_base"] + 0.1)
    with pytest.raises(AssertionError, match="trained again"):
        watch_list(logs, other, week=14, programs=12, seed=1, risk=saved, cache=False)


def test_a_risk_model_of_another_format_is_refused(result):
    _, res = result
    bad = '{"format": 1, "features": []}'
    with pytest.raises(InvalidParameterError, match="another version of the watch list"):
        RiskModel.from_json(bad)
