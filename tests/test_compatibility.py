"""Compatibility components: ranges, exact pair agreement, weights, constraints, speed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolkit import (
    COMPONENTS,
    WEIGHT_PROFILES,
    CohortSpec,
    Constraints,
    InvalidParameterError,
    compatibility_matrix,
    generate_cohort,
    pair_components,
)
from toolkit.cohort import Cohort
from toolkit.compatibility import admissible_mask, pair_scores, resolve_weights, score_components


def test_components_in_unit_interval_and_shaped(small_cohort):
    comps = score_components(small_cohort)
    assert set(comps) == set(COMPONENTS)
    for name, m in comps.items():
        assert m.shape == (len(small_cohort.mentees), len(small_cohort.mentors)), name
        assert m.min() >= 0 and m.max() <= 1, name
        assert m.std() > 0, name  # every component varies across pairs


@given(seed=st.integers(0, 10_000), n=st.integers(1, 40))
def test_pair_components_equal_matrix_exactly(small_cohort, seed, n):
    comps = score_components(small_cohort)
    rng = np.random.default_rng(seed)
    i = rng.integers(0, len(small_cohort.mentees), n)
    j = rng.integers(0, len(small_cohort.mentors), n)
    pairs = pair_components(small_cohort, i, j)
    for name in COMPONENTS:
        np.testing.assert_array_equal(pairs[name], comps[name][i, j])
    compat = compatibility_matrix(small_cohort, weights="diversity")
    np.testing.assert_array_equal(
        pair_scores(small_cohort, i, j, weights="diversity"), compat.scores[i, j]
    )


def test_component_meanings_on_hand_made_pair(small_cohort):
    people = small_cohort.participants.copy()
    mentor = people.index[people["role"] == "mentor"][0]
    mentee = people.index[people["role"] == "mentee"][0]
    skills = small_cohort.skill_columns
    people.loc[mentee, "goal_domains"] = "data_analytics"
    people.loc[mentee, skills] = 0.2
    people.loc[mentor, skills] = 0.9
    for col in ("department", "location", "generation", "utc_offset", "interests"):
        people.loc[mentor, col] = people.loc[mentee, col]
    cohort = Cohort(participants=people)
    comps = pair_components(cohort, np.array([0]), np.array([0]))
    assert comps["complementarity_mentee"][0] == pytest.approx(0.7, abs=1e-6)
    assert comps["surface_similarity"][0] == pytest.approx(1.0)
    assert comps["shared_interests"][0] == pytest.approx(1.0)
    people.loc[mentor, "utc_offset"] = people.loc[mentee, "utc_offset"] + 12
    far = pair_components(Cohort(participants=people), np.array([0]), np.array([0]))
    assert far["schedule_fit"][0] == pytest.approx(0.0, abs=1e-6)


def test_weights_profiles_and_user_weights(small_cohort):
    for name in WEIGHT_PROFILES:
        w = resolve_weights(name)
        assert sum(w.values()) == pytest.approx(1.0)
    comps = score_components(small_cohort)
    only = compatibility_matrix(small_cohort, weights={"deep_similarity": 2.0})
    np.testing.assert_allclose(only.scores, comps["deep_similarity"], atol=1e-6)
    diverse = compatibility_matrix(small_cohort, weights={"surface_difference": 1.0})
    np.testing.assert_allclose(diverse.scores, 1 - comps["surface_similarity"], atol=1e-6)


@pytest.mark.parametrize(
    "weights, match",
    [
        ({"deep_similarity": -1.0}, "non-negative"),
        ({"deep_similarity": 0.0, "schedule_fit": 0}, "positive sum"),
        ({"charisma": 1.0}, "keys are among"),
        ("fastest", "must be one of"),
        ({"schedule_fit": float("nan")}, "non-negative finite"),
    ],
)
def test_bad_weights_refused(small_cohort, weights, match):
    with pytest.raises(InvalidParameterError, match=match):
        compatibility_matrix(small_cohort, weights=weights)


def test_constraints(small_cohort):
    mentees, mentors = small_cohort.mentees, small_cohort.mentors
    same = mentees["department"].to_numpy()[:, None] == mentors["department"].to_numpy()[None]
    np.testing.assert_array_equal(
        admissible_mask(small_cohort, Constraints(same_department="forbidden")), ~same
    )
    np.testing.assert_array_equal(
        admissible_mask(small_cohort, Constraints(same_department="required")), same
    )
    loc = mentees["location"].to_numpy()[:, None] == mentors["location"].to_numpy()[None]
    np.testing.assert_array_equal(
        admissible_mask(small_cohort, Constraints(cross_location=True)), ~loc
    )
    e_id, r_id = mentees["participant_id"].iloc[2], mentors["participant_id"].iloc[3]
    mask = admissible_mask(small_cohort, Constraints(forbidden_pairs=((r_id, e_id),)))
    assert not mask[2, 3] and mask.sum() == mask.size - 1
    with pytest.raises(InvalidParameterError, match="one mentee and one mentor"):
        admissible_mask(small_cohort, Constraints(forbidden_pairs=(("nobody", e_id),)))
    with pytest.raises(InvalidParameterError, match="same_department"):
        Constraints(same_department="sometimes")


def test_reporting_line_is_transitive(small_cohort):
    people = small_cohort.participants.copy()
    mentors = people.index[people["role"] == "mentor"]
    mentees = people.index[people["role"] == "mentee"]
    people["manager_id"] = ""
    # mentor 0 -> mentor 1 -> mentee 0 (chain); mentee 1 manages mentee 2's ... nobody else
    people.loc[mentors[0], "manager_id"] = people.loc[mentors[1], "participant_id"]
    people.loc[mentors[1], "manager_id"] = people.loc[mentees[0], "participant_id"]
    cohort = Cohort(participants=people)
    mask = admissible_mask(cohort)
    assert not mask[0, 0] and not mask[0, 1]  # mentee 0 is above both mentors
    assert mask.sum() == mask.size - 2
    assert admissible_mask(cohort, Constraints(reporting_line="allowed")).all()


def test_not_a_cohort_refused():
    with pytest.raises(InvalidParameterError, match="Cohort"):
        compatibility_matrix(pd.DataFrame())
    with pytest.raises(InvalidParameterError, match="positions"):
        pair_components(
            generate_cohort(CohortSpec(n_mentors=2, n_mentees=2, seed=1)),
            np.array([0, 5]),
            np.array([0, 1]),
        )


def test_matrices_on_demand_equal_precomputed(small_cohort):
    eager = compatibility_matrix(small_cohort, weights="skills_first")
    lazy = compatibility_matrix(small_cohort, weights="skills_first", precompute=())
    assert not {"scores", "mentee_view", "mentor_view"} & set(lazy._cache)
    for name in ("mentor_view", "scores", "mentee_view"):  # one at a time, any order
        np.testing.assert_array_equal(getattr(lazy, name), getattr(eager, name))
    both = compatibility_matrix(
        small_cohort, weights="skills_first", precompute=("mentee_view", "mentor_view")
    )
    assert "scores" not in both._cache
    np.testing.assert_array_equal(both.mentor_view, eager.mentor_view)
    with pytest.raises(InvalidParameterError, match="precompute"):
        compatibility_matrix(small_cohort, precompute="scores")


def test_threaded_blocks_equal_pairwise_scores():
    # Large enough for the threaded block path (BLAS held to one thread inside it).
    cohort = generate_cohort(CohortSpec(n_mentors=800, n_mentees=700, seed=8))
    compat = compatibility_matrix(cohort, weights="diversity")
    rng = np.random.default_rng(3)
    i, j = rng.integers(0, 700, 500), rng.integers(0, 800, 500)
    np.testing.assert_array_equal(
        pair_scores(cohort, i, j, weights="diversity"), compat.scores[i, j]
    )


def test_features_do_not_depend_on_row_interleaving_and_unknowns_count_half(small_cohort):
    people = small_cohort.participants.copy()
    e_rows = people.index[people["role"] == "mentee"]
    r_rows = people.index[people["role"] == "mentor"]
    people.loc[e_rows[:3], "department"] = [None, " Unknown ", "unspecified"]
    people.loc[r_rows[:3], "department"] = ["", np.nan, "UNKNOWN"]
    by_role = people.sort_values("role", kind="stable").reset_index(drop=True)
    a = compatibility_matrix(Cohort(participants=people), weights="similarity_first")
    b = compatibility_matrix(Cohort(participants=by_role), weights="similarity_first")
    np.testing.assert_array_equal(a.scores, b.scores)
    np.testing.assert_array_equal(a.mentor_view, b.mentor_view)
    # An unknown department counts 0.5 where a different known one counts 0.
    known = people.copy()
    known.loc[e_rows[:3], "department"] = "Nowhere"
    unknown_s = score_components(Cohort(participants=people))["surface_similarity"]
    known_s = score_components(Cohort(participants=known))["surface_similarity"]
    np.testing.assert_allclose(unknown_s[:3, 3:] - known_s[:3, 3:], 0.5 / 3, atol=1e-6)
    np.testing.assert_array_equal(unknown_s[:3, :3], known_s[:3, :3])  # mentor unknown
    np.testing.assert_array_equal(unknown_s[3:], known_s[3:])


# --------------------------------------------------------------------------- real rosters


def _roster(text):
    import io
    import warnings

    from toolkit.roster import read_roster

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_roster(io.StringIO(text))


TWO_TRAITS = """id,role,trait_openness,trait_extraversion,value_autonomy
m1,mentor,0.9,0.2,
m2,mentor,0.1,0.8,0.9
e1,mentee,0.8,0.3,
e2,mentee,0.2,,0.1
"""


def test_unanswered_traits_are_left_out_of_deep_similarity_not_filled():
    cohort = _roster(TWO_TRAITS)
    deep = score_components(cohort)["deep_similarity"]
    # e1 and m1 answered the same two items, both on the same side of 0.5: the cosine
    # over those two items, with nothing filled in for the nine they left blank.
    a, b = np.array([0.3, -0.2]), np.array([0.4, -0.3])
    cos = a @ b / np.linalg.norm(a) / np.linalg.norm(b)
    assert deep[0, 0] == pytest.approx((1 + cos) / 2, abs=1e-6)
    # e2 and m2 share openness and autonomy (extraversion is e2's blank).
    a, b = np.array([-0.3, -0.4]), np.array([-0.4, 0.4])
    cos = a @ b / np.linalg.norm(a) / np.linalg.norm(b)
    assert deep[1, 1] == pytest.approx((1 + cos) / 2, abs=1e-6)
    # Filling blanks with 0.5 would give m2's unshared extraversion weight in the norm.
    filled = np.array([-0.4, 0.3, 0.4])
    e2 = np.array([-0.3, 0.0, -0.4])
    assert deep[1, 1] != pytest.approx(
        (1 + e2 @ filled / np.linalg.norm(e2) / np.linalg.norm(filled)) / 2, abs=1e-3
    )


def test_unanswered_skills_are_left_out_of_complementarity():
    cohort = _roster(
        "id,role,skill_ai_tools,skill_data_analytics,goals\n"
        "m1,mentor,0.9,,\n"
        "e1,mentee,0.2,0.1,ai_tools;data_analytics\n"
    )
    comps = score_components(cohort)
    # Only ai_tools was answered by both: (0.9 - 0.2) / 1, not averaged with a made-up 0.5.
    assert comps["complementarity_mentee"][0, 0] == pytest.approx(0.7)
    assert cohort.participants.set_index("participant_id").loc["m1", "skill_data_analytics"] == 0.5


@given(seed=st.integers(0, 10_000), n=st.integers(1, 30))
def test_pair_components_equal_matrix_exactly_with_unanswered_items(seed, n):
    rng = np.random.default_rng(seed)
    rows = [
        "id,role,skill_ai_tools,skill_cybersecurity,lead_strategy,trait_openness,"
        "trait_agreeableness,value_status,goals"
    ]
    for k in range(12):
        cells = [f"{v:.3f}" if rng.random() < 0.6 else "" for v in rng.random(6)]
        role = "mentor" if k % 2 else "mentee"
        goal = "strategy" if role == "mentor" else "ai_tools;cybersecurity"
        rows.append(f"p{k},{role}," + ",".join(cells) + f",{goal}")
    cohort = _roster("\n".join(rows) + "\n")
    comps = score_components(cohort)
    i = rng.integers(0, len(cohort.mentees), n)
    j = rng.integers(0, len(cohort.mentors), n)
    pairs = pair_components(cohort, i, j)
    for name in COMPONENTS:
        np.testing.assert_array_equal(pairs[name], comps[name][i, j])
        assert np.isfinite(comps[name]).all() and comps[name].min() >= 0


def test_explanations_say_when_items_were_left_out():
    from toolkit import match

    m = match(_roster(TWO_TRAITS), "optimal", weights={"deep_similarity": 1})
    reasons = " ".join(m.explain(top=1)["reasons"])
    assert "of 11 items both answered; the others are left out" in reasons


def test_explanations_of_a_roster_never_show_the_interests_people_wrote():
    from toolkit import match
    from toolkit.compatibility import private_interest_labels, reveal_interests

    cohort = _roster(
        "id,role,interests\n"
        "m1,mentor,Grief Counselling;running\n"
        "m2,mentor,knitting\n"
        "e1,mentee,grief counselling;Running\n"
        "e2,mentee,Knitting\n"
    )
    m = match(cohort, "optimal", weights={"shared_interests": 1})
    reasons = m.explain(top=1).set_index("mentee_id")["reasons"]
    assert reasons["e1"] == "shared interests: running, interest #1"  # a category, an index
    assert reasons["e2"] == "shared interests: interest #2"
    assert "grief" not in " ".join(reasons).lower()
    labels = private_interest_labels(cohort)
    assert reveal_interests(reasons["e1"], labels) == "shared interests: running, grief counselling"
    # A generated cohort's interests are the generator's categories: named as before.
    generated = generate_cohort(CohortSpec(n_mentors=30, n_mentees=30, seed=2))
    text = " ".join(
        match(generated, "optimal", weights={"shared_interests": 1}).explain(top=1)["reasons"]
    )
    assert "interest #" not in text and "shared interests: " in text


@given(
    seed=st.integers(0, 10_000),
    names=st.lists(st.sampled_from(COMPONENTS), min_size=1, max_size=6, unique=True),
)
def test_components_by_name_equal_the_full_set_exactly(small_cohort, seed, names):
    """Asking for some components (as the engine does) gives exactly their values in the
    full set, for pairs and for a grid; an unknown name is refused."""
    from toolkit.compatibility import grid_components

    rng = np.random.default_rng(seed)
    i = rng.integers(0, len(small_cohort.mentees), 25)
    j = rng.integers(0, len(small_cohort.mentors), 25)
    full, some = (
        pair_components(small_cohort, i, j),
        pair_components(small_cohort, i, j, names=names),
    )
    assert list(some) == [c for c in COMPONENTS if c in names]
    for name in names:
        np.testing.assert_array_equal(some[name], full[name])
    e, m = np.unique(i), np.unique(j)
    grid_full, grid_some = (
        grid_components(small_cohort, e, m),
        grid_components(small_cohort, e, m, names=names),
    )
    for name in names:
        np.testing.assert_array_equal(grid_some[name], grid_full[name])
    with pytest.raises(InvalidParameterError, match="'names'"):
        pair_components(small_cohort, i, j, names=("deep_similarity", "charm"))
