"""Matching policies: hypothesis properties, brute force, the `matching` package, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit import (
    COMPONENTS,
    POLICIES,
    CohortSpec,
    Constraints,
    InfeasibleMatchingError,
    InvalidParameterError,
    compatibility_matrix,
    deferred_acceptance,
    generate_cohort,
    match,
)

OPTIONS = {"max_participation": {"min_score": 0.4}}


@st.composite
def instances(draw, max_side=7):
    n_e = draw(st.integers(1, max_side))
    n_r = draw(st.integers(1, max_side))
    seed = draw(st.integers(0, 10_000))
    cohort = generate_cohort(
        CohortSpec(n_mentors=n_r, n_mentees=n_e, seed=seed, departments=("A", "B", "C"))
    )
    weights = draw(st.dictionaries(st.sampled_from(COMPONENTS), st.floats(0.1, 3.0), min_size=1))
    dept = draw(st.sampled_from(["allowed", "forbidden"]))
    rng = np.random.default_rng(seed)
    forbid = tuple(
        (
            cohort.mentees["participant_id"].iloc[rng.integers(n_e)],
            cohort.mentors["participant_id"].iloc[rng.integers(n_r)],
        )
        for _ in range(draw(st.integers(0, 3)))
    )
    compat = compatibility_matrix(
        cohort,
        weights=weights,
        constraints=Constraints(same_department=dept, forbidden_pairs=forbid),
    )
    capacity = draw(st.integers(1, 3))
    return compat, capacity


def _all(compat, capacity, seed=0):
    return {
        p: match(compat, p, capacity=capacity, seed=seed, strict=False, **OPTIONS.get(p, {}))
        for p in POLICIES
    }


def _total(m):
    return float(m.compat.scores[m.mentee_index, m.mentor_index].astype(float).sum())


def _worst(m):
    return float(m.compat.scores[m.mentee_index, m.mentor_index].min())


@given(instances())
def test_every_policy_respects_capacity_and_constraints(inst):
    compat, capacity = inst
    results = _all(compat, capacity)
    for name, m in results.items():
        assert (
            np.bincount(m.mentor_index, minlength=compat.scores.shape[1]).max(initial=0) <= capacity
        ), name
        assert np.unique(m.mentee_index).size == m.mentee_index.size, name
        assert compat.admissible[m.mentee_index, m.mentor_index].all(), name
        pairs = m.pairs
        assert list(pairs.columns[:3]) == ["mentee_id", "mentor_id", "score"]
        assert (pairs["mentee_rank"] >= 1).all() and (pairs["mentor_rank"] >= 1).all()
        unmatched = set(m.unmatched["participant_id"])
        assert unmatched.isdisjoint(pairs["mentee_id"]) and unmatched.isdisjoint(pairs["mentor_id"])
        assert (
            len(unmatched) + pairs["mentee_id"].nunique() + pairs["mentor_id"].nunique()
            == compat.scores.shape[0] + compat.scores.shape[1]
        )
    dept = results["diverse"]
    e, r = compat.cohort.mentees, compat.cohort.mentors
    assert (
        e["department"].to_numpy()[dept.mentee_index]
        != r["department"].to_numpy()[dept.mentor_index]
    ).all()


@given(instances())
def test_optimal_total_and_maximin_worst_dominate(inst):
    compat, capacity = inst
    results = _all(compat, capacity)
    best = _total(results["optimal"])
    for name, m in results.items():
        assert _total(m) <= best + 1e-9, name
    mm = results["maximin"]
    for name, m in results.items():
        # Matching fewer people can always raise the worst pair; compare equal sizes.
        assert m.mentee_index.size <= mm.mentee_index.size, name
        if m.mentee_index.size == mm.mentee_index.size and m.mentee_index.size:
            assert _worst(mm) >= _worst(m), name


def _package_stable(compat, capacity, proposer):
    from matching.games import HospitalResident

    ve, vr, a = compat.mentee_view, compat.mentor_view, compat.admissible
    n_e, n_r = a.shape

    def prefs(values, ok):  # value descending, lower position first on ties
        order = np.lexsort((np.arange(values.size), -values.astype(float)))
        return [int(k) for k in order if ok[k]]

    residents = {f"e{i}": [f"r{j}" for j in prefs(ve[i], a[i])] for i in range(n_e)}
    hospitals = {f"r{j}": [f"e{i}" for i in prefs(vr[:, j], a[:, j])] for j in range(n_r)}
    residents = {k: v for k, v in residents.items() if v}
    hospitals = {k: v for k, v in hospitals.items() if v}
    if not residents:
        return set()
    game = HospitalResident.create_from_dictionaries(
        residents, hospitals, {h: capacity for h in hospitals}
    )
    solution = game.solve(optimal="resident" if proposer == "mentee" else "hospital")
    return {(int(r.name[1:]), int(h.name[1:])) for h, rs in solution.items() for r in rs}


@settings(max_examples=30)
@given(instances(max_side=8), st.sampled_from(["mentee", "mentor"]))
def test_stable_has_no_blocking_pair_and_equals_package(inst, proposer):
    compat, capacity = inst
    m = match(compat, "stable", capacity=capacity, proposer=proposer, strict=False)
    assert m.metrics["blocking_pairs"] == 0
    ours = set(zip(m.mentee_index.tolist(), m.mentor_index.tolist(), strict=True))
    assert ours == _package_stable(compat, capacity, proposer)


def _brute(compat, capacity, admissible=None):
    """Every matching of a tiny instance: (pairs, scores) tuples."""
    a = compat.admissible if admissible is None else admissible
    n_e, n_r = a.shape
    out = []
    for choice in itertools.product(range(-1, n_r), repeat=n_e):
        c = np.array(choice)
        if (np.bincount(c[c >= 0], minlength=n_r) > capacity).any():
            continue
        rows = np.flatnonzero(c >= 0)
        if not a[rows, c[rows]].all():
            continue
        out.append(compat.scores[rows, c[rows]].astype(float))
    return out


@settings(max_examples=25)
@given(instances(max_side=4))
def test_brute_force_agrees_on_tiny_instances(inst):
    compat, capacity = inst
    options = _brute(compat, capacity)
    results = _all(compat, capacity)
    assert _total(results["optimal"]) == pytest.approx(max(s.sum() for s in options), abs=1e-9)
    most = max(s.size for s in options)
    if most:
        best_worst = max(s.min() for s in options if s.size == most)
        mm = results["maximin"]
        assert mm.mentee_index.size == most
        assert _worst(mm) == pytest.approx(best_worst)
        best_total = max(s.sum() for s in options if s.size == most and s.min() >= best_worst)
        assert _total(mm) == pytest.approx(best_total, abs=1e-9)
    floor = np.float32(0.4)
    good = [s for s in options if (s >= floor).all()]
    most_good = max(s.size for s in good)
    mp = results["max_participation"]
    assert mp.mentee_index.size == most_good
    assert _total(mp) == pytest.approx(max(s.sum() for s in good if s.size == most_good), abs=1e-9)


@given(instances())
def test_greedy_equals_sequential_greedy(inst):
    compat, capacity = inst
    s, a = compat.scores, compat.admissible
    n_e, n_r = s.shape
    order = sorted((-float(s[i, j]), i, j) for i in range(n_e) for j in range(n_r) if a[i, j])
    taken, load = {}, np.zeros(n_r, int)
    for _, i, j in order:
        if i not in taken and load[j] < capacity:
            taken[i] = j
            load[j] += 1
    m = match(compat, "greedy", capacity=capacity, strict=False)
    assert dict(zip(m.mentee_index.tolist(), m.mentor_index.tolist(), strict=True)) == taken


@given(instances(), st.integers(0, 2**32))
def test_same_seed_same_result(inst, seed):
    compat, capacity = inst
    for policy in POLICIES:
        a = match(compat, policy, capacity=capacity, seed=seed, strict=False)
        b = match(compat, policy, capacity=capacity, seed=seed, strict=False)
        np.testing.assert_array_equal(a.mentor_index, b.mentor_index)
        np.testing.assert_array_equal(a.mentee_index, b.mentee_index)


def test_random_policy_depends_on_seed(small_cohort):
    runs = {tuple(match(small_cohort, "random", seed=s).mentor_index) for s in range(5)}
    assert len(runs) > 1


def test_deferred_acceptance_textbook():
    # Mentees 0 and 1 both want receiver 0; receiver 0 prefers 1.
    p = np.array([[0.9, 0.1], [0.9, 0.1]], np.float32)
    r = np.array([[0.2, 0.5], [0.8, 0.5]], np.float32)
    e, q = deferred_acceptance(p, r, np.ones((2, 2), bool))
    assert list(zip(e.tolist(), q.tolist(), strict=True)) == [(0, 1), (1, 0)]


def test_matching_result_contents(small_cohort):
    m = match(small_cohort, "optimal", weights="skills_first", capacity=2)
    assert m.cohort_fingerprint == small_cohort.fingerprint
    cols = [
        "mentee_id",
        "mentor_id",
        "score",
        *(f"score_{c}" for c in COMPONENTS),
        "mentee_rank",
        "mentor_rank",
    ]
    assert list(m.pairs.columns) == cols
    assert len(m.pairs) == len(small_cohort.mentees)  # 60 places for 25 mentees
    reasons = m.unmatched.set_index("participant_id")["reason"]
    assert (m.unmatched["role"] == "mentor").all()
    assert reasons.str.contains("every admissible mentee is matched").all()
    metrics = m.metrics
    assert metrics["match_rate"] == 1.0
    assert metrics["total_score"] == pytest.approx(m.pairs["score"].sum())
    assert 0 <= metrics["cross_department_share"] <= 1
    assert metrics["score_gap"] >= 0
    explained = m.explain(top=2)
    assert len(explained) == len(m.pairs)
    # At most two reasons: only components on which the pair beats the typical pair.
    assert explained["reasons"].str.count("; ").le(1).all()
    assert (
        explained["reasons"]
        .str.contains("mentor|mentee|schedule|interest|values|no component stands out")
        .all()
    )


def test_more_mentees_than_places_are_told_why():
    cohort = generate_cohort(CohortSpec(n_mentors=3, n_mentees=5, seed=4))
    m = match(cohort, "optimal")
    assert len(m.pairs) == 3
    assert m.unmatched["reason"].str.contains("at capacity").all()
    assert (m.unmatched["role"] == "mentee").all()


def test_bad_inputs(small_cohort):
    with pytest.raises(InvalidParameterError, match="'optimal'.*'stable'"):
        match(small_cohort, "best")
    with pytest.raises(InvalidParameterError, match="capacity"):
        match(small_cohort, capacity=0)
    with pytest.raises(InvalidParameterError, match="options of this policy: 'proposer'"):
        match(small_cohort, "stable", shortlist=3)
    with pytest.raises(InvalidParameterError, match="proposer"):
        match(small_cohort, "stable", proposer="both")
    with pytest.raises(InvalidParameterError, match="non-negative"):
        match(small_cohort, weights={"schedule_fit": -1})
    compat = compatibility_matrix(small_cohort)
    with pytest.raises(InvalidParameterError, match="left out"):
        match(compat, weights="balanced")


def test_infeasible_constraints_say_how_many_and_why():
    cohort = generate_cohort(CohortSpec(n_mentors=4, n_mentees=4, seed=1, departments=("Only",)))
    with pytest.raises(
        InfeasibleMatchingError,
        match=r"4 of 4 mentees have no admissible mentor .*"
        r"same_department='forbidden' rules out every mentor for 4",
    ):
        match(cohort, constraints=Constraints(same_department="forbidden"))
    with pytest.raises(InfeasibleMatchingError, match="diverse"):
        match(cohort, "diverse")
    m = match(cohort, "optimal", constraints=Constraints(same_department="forbidden"), strict=False)
    assert m.pairs.empty
    assert m.unmatched["reason"].str.contains("no admissible").all()


def _textbook_deferred_acceptance(pv, rv, ok):
    """One proposal at a time (the textbook loop): proposer-optimal, capacities 1."""
    n_p, n_q = ok.shape
    prefs = [
        [q for q in sorted(range(n_q), key=lambda q: (-float(pv[p, q]), q)) if ok[p, q]]
        for p in range(n_p)
    ]
    nxt, holder, free = [0] * n_p, [-1] * n_q, list(range(n_p))
    while free:
        p = free.pop()
        if nxt[p] >= len(prefs[p]):
            continue
        q = prefs[p][nxt[p]]
        nxt[p] += 1
        h = holder[q]
        if h < 0 or (-float(rv[p, q]), p) < (-float(rv[h, q]), h):
            holder[q] = p
            if h >= 0:
                free.append(h)
        else:
            free.append(p)
    return sorted((p, q) for q, p in enumerate(holder) if p >= 0)


@settings(max_examples=60)
@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 4), st.integers(0, 10_000))
def test_one_to_one_deferred_acceptance_equals_textbook(n_p, n_q, levels, seed):
    # Few value levels: many ties (broken by the lower position); some pairs unacceptable.
    rng = np.random.default_rng(seed)
    pv = (rng.integers(0, levels, (n_p, n_q)) / levels).astype(np.float32)
    rv = (rng.integers(0, levels, (n_p, n_q)) / levels).astype(np.float32)
    ok = rng.random((n_p, n_q)) < 0.8
    p, q = deferred_acceptance(pv, rv, ok)
    assert list(zip(p.tolist(), q.tolist(), strict=True)) == _textbook_deferred_acceptance(
        pv, rv, ok
    )


def test_match_computes_only_the_matrices_its_policy_reads(small_cohort):
    cached = {}
    for policy in ("random", "stable", "optimal"):
        m = match(small_cohort, policy)
        cached[policy] = {
            k for k in ("scores", "mentee_view", "mentor_view") if k in m.compat._cache
        }
    assert cached == {
        "random": set(),
        "stable": {"mentee_view", "mentor_view"},
        "optimal": {"scores"},
    }
    m = match(small_cohort, "random", seed=2)
    full = compatibility_matrix(small_cohort)
    assert (
        m.pairs["score"].tolist()
        == full.scores[m.mentee_index, m.mentor_index].astype(float).tolist()
    )


def test_explain_never_cites_a_component_that_is_the_same_for_every_pair(tmp_path):
    """A roster without personality or values gives every pair the same deep similarity:
    that explains nothing, so no reason may cite it."""
    from toolkit.roster import read_roster

    roster = tmp_path / "roster.csv"
    roster.write_text(
        "id,role,department,location,utc_offset,availability,skills,leadership,goals,interests\n"
        "m1,mentor,IT,Paris,1,6,ai_tools=0.9;data_analytics=0.8,strategy=0.2,strategy,running\n"
        "m2,mentor,Sales,Berlin,1,4,social_media=0.9,people_management=0.3,people_management,cooking\n"
        "m3,mentor,IT,Lisbon,0,8,cybersecurity=0.7,strategy=0.3,strategy,travel\n"
        "e1,mentee,Finance,Paris,1,5,ai_tools=0.2,strategy=0.9,ai_tools,running\n"
        "e2,mentee,IT,Berlin,1,3,social_media=0.1,people_management=0.8,social_media,cooking\n",
        encoding="utf-8",
    )
    cohort = read_roster(roster)
    explained = match(cohort, "optimal").explain(top=3)
    assert not explained["reasons"].str.contains("values and personality").any()
    assert explained["reasons"].str.contains("ahead in what the mentee wants").all()


def test_explain_cites_only_components_above_the_typical_pair(small_cohort):
    from toolkit.compatibility import compatibility_matrix, pair_components

    compat = compatibility_matrix(small_cohort, weights="balanced")
    m = match(compat, "random", seed=3)
    explained = m.explain(top=6)
    comps = pair_components(small_cohort, m.mentee_index, m.mentor_index)
    typical = {k: v.mean() for k, v in compat.components.items()}
    phrases = {"deep_similarity": "values and personality", "shared_interests": "interests"}
    for k, text in enumerate(explained["reasons"]):
        for name, words in phrases.items():
            if words in text:
                assert comps[name][k] > typical[name] - 1e-6, (k, name, text)


def _roles_only(n_mentees: int, n_mentors: int):
    """A cohort with only the role column: enough for the memory check, nothing to score."""
    import pandas as pd

    from toolkit.cohort import Cohort

    roles = np.repeat(np.array(["mentee", "mentor"], dtype=object), [n_mentees, n_mentors])
    return Cohort(participants=pd.DataFrame({"role": roles}))


def test_memory_refusal_is_quick_and_allocates_nothing(monkeypatch):
    """The issue's 531,915-person roster: refused from its sizes alone, in one sentence."""
    import time

    import toolkit.matching
    from toolkit.errors import InsufficientMemoryError

    monkeypatch.setattr(toolkit.matching, "_available_memory", lambda: 8 * 10**9)

    def must_not_score(*args, **kwargs):
        raise AssertionError("scoring started before the memory check")

    monkeypatch.setattr(toolkit.matching, "compatibility_matrix", must_not_score)
    cohort = _roles_only(265_000, 266_915)
    start = time.perf_counter()
    with pytest.raises(InsufficientMemoryError) as info:
        match(cohort, "optimal")
    assert time.perf_counter() - start < 2.0
    message = str(info.value)
    assert "\n" not in message
    assert "265,000 mentees with 266,915 mentors" in message
    assert "8.0 GB is available" in message
    assert "split the roster by department or site" in message
    assert isinstance(info.value, MemoryError)


def test_memory_check_suggests_a_lighter_policy_when_one_fits(monkeypatch):
    import toolkit.matching
    from toolkit.errors import InsufficientMemoryError
    from toolkit.matching import memory_needed

    stable = memory_needed("stable", 20_000, 20_000)
    assert stable < memory_needed("optimal", 20_000, 20_000)
    monkeypatch.setattr(toolkit.matching, "_available_memory", lambda: stable + 1)
    with pytest.raises(InsufficientMemoryError, match="'stable'"):
        match(_roles_only(20_000, 20_000), "optimal")


def test_component_means_in_blocks_equal_the_full_matrices():
    from toolkit.compatibility import component_means, score_components

    cohort = generate_cohort(CohortSpec(n_mentors=37, n_mentees=29, seed=4))
    full = score_components(cohort)
    mask = np.random.default_rng(0).random((29, 37)) < 0.3
    for m in (None, mask):
        means = component_means(cohort, m)
        for name, matrix in full.items():
            expected = (
                matrix.mean(dtype=np.float64) if m is None else matrix[m].mean(dtype=np.float64)
            )
            assert means[name] == pytest.approx(expected, rel=1e-12)
