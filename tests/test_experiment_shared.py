"""Per-replicate setup shared by the arms of a run (``_engine.Shared``): the same numbers.

The arms of an experiment run on the same replicates, so the engine sets up what does
not depend on the arm (static draws, generators, parameters, ids, pair features) once and
reuses it for every arm. These tests pin the tables of two across-model runs to the last
digit (digests made on main before the sharing, commit 31339a0), and check that an arm
run with the others gives exactly the rows it gives when run alone, however many of the
weekly draws the run keeps for its next arms.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from toolkit import _engine, experiment
from toolkit.experiment import CONTROL_ARM, ExperimentSpec, run_experiment

# Digests of tables written with every float to 17 significant digits (exact), made by
# running this file's two specs on main at commit 31339a0 (before the setup was shared).
# The sharing is meant to change no number: never regenerate these for it.
PINNED = {
    "meeting_cadence_outcomes": "4464f39a0b90ee4b686f8356b19b073d39d4a25915b3f7183ff9b119996424f8",
    "busy_weeks": "d263a1fecbb4fc82bf209c5d8c048ddddc1275084a0318125f6e2f8e87093b05",
    "busy_outcomes": "1e4c9116a4e0b7dffe8909f499e3f692f57538c22e02d8a63db517b1745e0e8a",
    "busy_surveys": "4810ceec145da8c529c3724b4867e5ccc7744f2813c585ef01a1e26fe313cf8e",
    "busy_events": "cc0307371f22d27123db97741ad87ce59d284f2cd880895c27410c3e3e51357e",
    # One model a chunk (also from main at 31339a0). Not the one-pass digest: on main
    # already, a parameter all stacked replicates share is a Python float and one that
    # differs an array, and a few powers then round differently in the last bit.
    "chunked_meeting_cadence_outcomes": (
        "b67640ea7e2ac052d6de8812ae0e7efbea0c4bc25cd89a6f851b0e5defd53a16"
    ),
}


def _digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(frame.to_csv(index=False, float_format="%.17g").encode()).hexdigest()


@pytest.fixture(scope="module")
def cadence():
    """meeting_cadence's across-model spec (as ``_across.across_models`` builds it) at a
    small size, and its models."""
    from toolkit.studies.meeting_cadence import MeetingCadence

    study = MeetingCadence(n_models=6, model_replicates=5, n_mentors=24, n_mentees=20)
    names = {n for h in study.headlines() for n in (h.arm, h.reference)}
    base = study.ensemble_spec()
    arms = {n: a for n, a in base.arms.items() if n in names}
    spec = base.replace(arms=arms, replicates=5, control=CONTROL_ARM in names)
    return spec, study.ensemble


def _busy() -> ExperimentSpec:
    """Two matchings (random, optimal), check-ins, coaching, rematches and a control arm:
    every purpose's generator and both rematch rules."""
    weekly = {"cadence": "weekly", "duration_weeks": 20, "checkins": "monthly"}
    return ExperimentSpec.from_dict(
        {
            "cohort": {"n_mentors": 24, "n_mentees": 20},
            "arms": {
                "plain": {"design": {"cadence": "biweekly", "duration_weeks": 20}},
                "rematch": {
                    "match": {"policy": "optimal"},
                    "design": {**weekly, "on_flag": "rematch", "no_meeting_weeks": 3},
                },
                "coach": {"design": {**weekly, "on_flag": "coach"}},
                "random_rematch": {
                    "design": {**weekly, "cadence": "biweekly", "on_flag": "rematch"}
                },
            },
            "replicates": 3,
            "seed": 7,
            "control": True,
        }
    )


def _across(spec, models, tables=("outcomes",), workers=None):
    return run_experiment(
        spec,
        models=models,
        tables=tables,
        progress=False,
        model_streams="independent",
        workers=workers,
    )


# Bytes of weekly draws a run may keep for its next arms: none, part of the weeks (keeping
# stops mid-run and later arms set the generators back to that week), all of them.
KEEP = [0, 8 * 600 * 25 + 8, None]


@pytest.fixture(params=KEEP, ids=["keep_none", "keep_part", "keep_default"])
def keep(request, monkeypatch):
    if request.param is not None:
        monkeypatch.setattr(experiment, "_KEEP_DRAW_BYTES", request.param)
    return request.param


def test_across_model_run_of_meeting_cadence_is_unchanged_to_the_last_digit(cadence, keep):
    spec, models = cadence
    assert len(spec.arms) == 11 and len(models.models) == 6
    res = _across(spec, models)
    assert len(res.outcomes) == 11 * 6 * 5 * 20
    assert _digest(res.outcomes) == PINNED["meeting_cadence_outcomes"]


def test_across_model_run_with_checkins_and_rematches_is_unchanged(cadence, keep):
    _, models = cadence
    res = _across(_busy(), models.take(3), tables=("weeks", "outcomes", "surveys", "events"))
    events = res.events.groupby(["arm", "event"], observed=True).size()
    assert events["rematch", "rematch"] > 0 and events["random_rematch", "rematch"] > 0
    assert events["coach", "coach"] > 0
    for table in ("weeks", "outcomes", "surveys", "events"):
        assert _digest(getattr(res, table)) == PINNED["busy_" + table], table


@pytest.mark.parametrize("arm", ["monthly_matched", "hartford", "weekly"])
def test_an_arm_run_with_the_others_equals_the_arm_run_alone(cadence, arm, keep):
    """What the arms share is set up by the first arm and reused (generators reset to
    their start state): an arm's rows are those of a run of that arm alone."""
    spec, models = cadence
    together = _across(spec, models).outcomes
    alone = _across(spec.replace(arms={arm: spec.arms[arm]}, control=False), models).outcomes
    mine = together[together["arm"] == arm].reset_index(drop=True)
    mine["arm"] = mine["arm"].cat.remove_unused_categories()
    pd.testing.assert_frame_equal(mine, alone, check_exact=True)


def test_a_shared_setup_refuses_a_stack_of_other_replicates(small_cohort):
    feats = [_engine.cohort_features(small_cohort)]

    def stack(replicate: int, shared: _engine.Shared) -> _engine.Stack:
        return _engine.Stack(
            features=feats,
            replicates=np.array([replicate]),
            rep=np.zeros(3, np.int64),
            mentee=np.arange(3),
            mentor=np.arange(3),
            shared=shared,
        )

    shared = _engine.Shared()
    first = stack(0, shared)
    assert shared.bind(first) is shared
    assert shared.bind(stack(0, shared)) is shared  # the same replicates, another matching
    with pytest.raises(ValueError, match="same replicates"):
        shared.bind(stack(1, shared))


def test_pair_features_of_repeated_pairs_equal_each_pair_computed_alone(small_cohort):
    """_gather computes each distinct pair of a cohort once; every slot gets exactly the
    values of its own pair."""
    feats = _engine.cohort_features(small_cohort)
    g = np.random.default_rng(0)
    mentee = g.integers(0, feats.n_mentees, 60)
    mentor = g.integers(0, feats.n_mentors, 60)
    mentee[30:], mentor[30:] = mentee[:30], mentor[:30]  # every pair twice
    stack = _engine.Stack(
        features=[feats, feats],
        replicates=np.array([0, 1]),
        rep=np.repeat([0, 1], 30),
        mentee=mentee,
        mentor=mentor,
    )
    got = stack.pair_features()
    assert stack.pair_features() is got  # computed once per stack
    for k, v in feats.pair(mentee, mentor).items():
        np.testing.assert_array_equal(got[k], v, err_msg=k)
        assert not got[k].flags.writeable


@pytest.mark.parametrize("workers", [None, 2], ids=["serial", "two_processes"])
def test_chunked_across_model_runs_are_unchanged_to_the_last_digit(cadence, monkeypatch, workers):
    """Chunks of 1 (cadence) and 2 models (busy: 1,200 pair-weeks a model): the chunks'
    rows are put in the canonical order (by arm, then model) by concatenating arm blocks,
    sorting a block by model where it is not (surveys, events), and every table still
    equals its pin (made on main, which sorted the concatenated chunks), whether the
    chunks run here or on two local processes."""
    spec, models = cadence
    monkeypatch.setattr(experiment, "_MODEL_PAIR_WEEKS", 2400)
    outcomes = _across(spec, models, workers=workers).outcomes
    assert _digest(outcomes) == PINNED["chunked_meeting_cadence_outcomes"]
    res = _across(
        _busy(),
        models.take(3),
        tables=("weeks", "outcomes", "surveys", "events"),
        workers=workers,
    )
    for table in ("weeks", "outcomes", "surveys", "events"):
        assert _digest(getattr(res, table)) == PINNED["busy_" + table], table
