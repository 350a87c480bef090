"""The engine's speed-ups change no number: the week recorder's block size, the
per-pair constants computed once, the repeat check without np.unique, the bit select of
masked updates, the Arrow id lookup and the lazily gathered pair fields."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit import _engine
from toolkit.behavior import BehaviorModel
from toolkit.cohort import CohortSpec, generate_cohort
from toolkit.program import ProgramDesign
from toolkit.simulation import simulate


@pytest.fixture(scope="module")
def small():
    cohort = generate_cohort(CohortSpec(n_mentors=40, n_mentees=30, seed=4))
    pairs = pd.DataFrame(
        {
            "mentee_id": cohort.mentees["participant_id"].to_numpy(),
            "mentor_id": cohort.mentors["participant_id"].to_numpy()[:30],
        }
    )
    return cohort, pairs


@pytest.mark.parametrize("block", [1, 5, 13, 60])
def test_the_weeks_table_does_not_depend_on_the_recorder_block(small, monkeypatch, block):
    cohort, pairs = small
    design = ProgramDesign(duration_weeks=27, checkins="monthly", on_flag="coach")
    want = simulate(cohort, pairs, design, seed=3).weeks
    original = _engine._WeekRecorder.__init__

    def with_block(self, n, n_weeks, *, keep=True, block_=block):
        original(self, n, n_weeks, keep=keep, block=block_)

    monkeypatch.setattr(_engine._WeekRecorder, "__init__", with_block)
    got = simulate(cohort, pairs, design, seed=3).weeks
    pd.testing.assert_frame_equal(got, want)
    # rows are pair-major: each pair's weeks 1..27 in order
    assert (got["week"].to_numpy().reshape(30, 27) == np.arange(1, 28)).all()
    assert got["intervention"].astype(str).isin(["none", "coach"]).all()


def test_the_recorder_keeps_no_columns_when_no_weeks_table_is_wanted():
    rec = _engine._WeekRecorder(10, 8, keep=False)
    assert rec.columns == {}
    rows = rec.week(0)
    rows["quality"][...] = 0.5
    rec.end_week(0)  # nothing to copy into, no error
    kept = _engine._WeekRecorder(4, 3, block=2)
    for t in range(3):
        row = kept.week(t)
        row["quality"][...] = t + np.arange(4)
        row["intervention"][t % 4] = 1
        kept.end_week(t)
    assert (kept.columns["quality"] == np.arange(4)[:, None] + np.arange(3)).all()
    # the intervention row is reset each week: only that week's flags remain
    assert kept.columns["intervention"].tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]]


def test_closure_step_with_a_precomputed_outside_probability_is_the_same():
    b = _engine._Params(BehaviorModel().to_dict())
    g = np.random.default_rng(0)
    q, e, gap, pressure, u = (
        g.random(1000),
        g.random(1000),
        g.integers(0, 5, 1000),
        g.random(1000),
        g.random(1000),
    )
    closes, why = _engine.closure_step(b, q, e, gap, pressure, u)
    closes2, why2 = _engine.closure_step(
        b, q, e, gap, pressure, u, p_out=_engine.outside_probability(b, pressure)
    )
    assert np.array_equal(closes, closes2) and np.array_equal(why, why2)
    assert closes.any() and (why[~closes] == -1).all()
    names = np.array(_engine.REASONS)[why[closes]]
    assert set(names) <= {"low_quality", "lost_engagement", "missed_contact", "outside_event"}
    # the reason of a closing pair is the largest relationship term, or an outside event
    tq = b.closure_quality * (0.5 - q)
    te = b.closure_engagement * (0.5 - e)
    tg = b.closure_gap * gap
    largest = np.array(["low_quality", "lost_engagement", "missed_contact"])[
        np.argmax(np.stack([tq, te, tg]), axis=0)
    ]
    outside = u < _engine.outside_probability(b, pressure)
    want = np.where(outside, "outside_event", largest)[closes]
    assert (names == want).all()


def test_put_copies_the_masked_values_bit_for_bit():
    g = np.random.default_rng(1)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -1e308])
    dst = np.concatenate([g.normal(size=993), special])
    src = np.concatenate([g.normal(size=993), special[::-1]])
    mask = g.random(1000) < 0.5
    want = np.where(mask, src, dst)
    _engine._put(dst, src, _engine._bits(mask, np.empty(1000, np.int64)), np.empty(1000))
    assert np.array_equal(dst.view(np.int64), want.view(np.int64))


def test_positions_of_ids_equal_the_pandas_lookup_for_every_kind_of_column(small):
    cohort, _ = small
    feats = _engine.cohort_features(cohort)
    ids = cohort.mentors["participant_id"].to_numpy(dtype=object)
    asked = np.concatenate([ids[::-1], ["not an id", "", ids[3]]])
    column = pd.Series(asked, dtype="str")
    column[len(ids)] = None  # a missing id
    want = feats.mentor_index.get_indexer(column.to_numpy(dtype=object))
    assert (want[: len(ids)] == np.arange(len(ids))[::-1]).all()
    assert want[len(ids) :].tolist() == [-1, -1, 3]
    for kind in ("str", object, "category", "string[python]"):
        got = feats.positions("mentor", column.astype(kind))
        assert np.array_equal(got, want), kind
    mentees = cohort.mentees["participant_id"].astype("str")
    assert (feats.positions("mentee", mentees) == np.arange(len(mentees))).all()  # in order
    same_length = pd.Series(np.roll(mentees.to_numpy(object), 1), dtype="str")
    assert (feats.positions("mentee", same_length) == np.roll(np.arange(len(mentees)), 1)).all()


def test_ids_that_are_not_distinct_strings_use_the_pandas_lookup(small):
    cohort, _ = small
    feats = _engine.CohortFeatures(cohort)
    feats.mentor_ids = np.arange(len(feats.mentor_ids)).astype(object)  # integer ids
    assert feats.arrow_ids[1] is None and feats.arrow_ids[0] is not None
    column = pd.Series(["3", "1"], dtype="str")
    assert feats.positions("mentor", column).tolist() == [-1, -1]  # "3" is not 3
    assert feats.positions("mentor", pd.Series([3, 1])).tolist() == [3, 1]
    odd = _engine.CohortFeatures(cohort)
    odd.mentor_ids = np.array(["a", "b\udcff"] + list(odd.mentor_ids[2:]), dtype=object)
    assert odd.arrow_ids[1] is None  # no UTF-8 for a lone surrogate: not looked up by Arrow


def test_pair_components_read_lazily_equal_the_eager_take(small):
    from toolkit import compatibility as C

    cohort, _ = small
    mentees, mentors = C._features(cohort)
    g = np.random.default_rng(2)
    i, j = g.integers(0, 30, 200), g.integers(0, 40, 200)
    lazy = C._Rows(mentors, j)
    eager = mentors.take(j, column=False)
    assert list(lazy) == list(eager) and len(lazy) == len(eager)
    for name in eager:
        assert np.array_equal(lazy[name], eager[name]), name
    got = C._components(C._Rows(mentees, i), C._Rows(mentors, j))
    want = C._components(mentees.take(i, column=False), eager)
    for name, value in want.items():
        assert np.array_equal(got[name], value), name
    with pytest.raises(KeyError):
        lazy["no such field"]


def test_comparisons_with_the_fast_expit_equal_those_with_scipys_expit():
    """On a million logits (typical, extreme and infinite) and uniforms placed at, just
    below and just above the exact threshold, _below decides as scipy's expit does."""
    from scipy.special import expit

    g = np.random.default_rng(3)
    x = np.concatenate(
        [
            g.normal(0, 3, 400_000),
            g.uniform(-40, 40, 400_000),
            g.uniform(-800, 800, 199_990),
            [0.0, -0.0, 1e-300, -1e-300, 709.8, -709.8, 746.0, -746.0, np.inf, -np.inf],
        ]
    )
    exact = expit(x)
    close = _engine._expit_close(x, np.empty(len(x)))
    assert np.abs(close - exact).max() < 1e-15
    assert (close != exact).any()  # why _below exists: not equal to the last bit
    for u in (
        g.random(len(x)),
        exact,  # u equal to the threshold: not below
        np.nextafter(exact, 0.0),  # just below
        np.nextafter(exact, 1.0),  # just above
    ):
        got = _engine._below(u, close, lambda i: expit(x[i]))
        assert np.array_equal(got, u < exact)


def test_closure_step_decides_as_with_scipys_expit():
    from scipy.special import expit

    b = _engine._Params(BehaviorModel().to_dict())
    g = np.random.default_rng(4)
    n = 200_000
    q, e, gap, pressure = g.random(n), g.random(n), g.integers(0, 9, n), g.random(n)
    p_out = _engine.outside_probability(b, pressure)
    logit = (
        b.closure_quality * (0.5 - q) + b.closure_engagement * (0.5 - e) + b.closure_gap * gap
    ) + b.closure_base
    threshold = 1.0 - (1.0 - expit(logit)) * (1.0 - p_out)
    for u in (g.random(n), threshold, np.nextafter(threshold, 0.0)):
        closes, why = _engine.closure_step(b, q, e, gap, pressure, u, p_out=p_out)
        assert np.array_equal(closes, u < threshold)
        assert (why[closes] >= 0).all() and (why[~closes] == -1).all()


def test_a_skipped_week_of_uniforms_leaves_the_generators_where_drawing_would(small):
    cohort, pairs = small
    stack = _engine.Stack(
        features=[_engine.cohort_features(cohort)] * 2,
        replicates=np.array([0, 1]),
        rep=np.repeat([0, 1], 30),
        mentee=np.tile(np.arange(30), 2),
        mentor=np.tile(np.arange(30), 2),
    )
    purposes = {"meet": "uniform", "quality": "normal"}
    drawn, skipped = _engine._Draws(7, stack, purposes), _engine._Draws(7, stack, purposes)
    want = []  # (both share the stack's streams: the second rewinds them to week 0)
    for _ in range(4):
        drawn.next_week()
        want.append({p: drawn[p].copy() for p in purposes})
    for week in range(4):
        skipped.next_week(skip=("meet",) if week in (0, 2) else ())
        assert np.array_equal(skipped["quality"], want[week]["quality"])  # never skipped
        if week in (0, 2):
            assert skipped["meet"] is None
        else:
            assert np.array_equal(skipped["meet"], want[week]["meet"])
