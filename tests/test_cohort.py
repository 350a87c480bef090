"""toolkit.cohort: determinism, documented columns, realism, locales, bad input."""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from toolkit import CohortSpec, InvalidParameterError, RoleProfile, generate_cohort
from toolkit._io import write_table
from toolkit.cohort import GENERATIONS, INTERESTS, MENTEE_PROFILE, WORK_MODES, _locale_pools


def test_same_seed_gives_identical_frame_and_file_bytes(tmp_path):
    spec = CohortSpec(n_mentors=40, n_mentees=35, seed=3, locales=("en_US", "de_DE"))
    a, b = generate_cohort(spec), generate_cohort(spec)
    pd.testing.assert_frame_equal(a.participants, b.participants)
    for ext in ("csv", "parquet"):
        write_table(a.participants, tmp_path / f"a.{ext}")
        write_table(b.participants, tmp_path / f"b.{ext}")
        assert (tmp_path / f"a.{ext}").read_bytes() == (tmp_path / f"b.{ext}").read_bytes()
    assert a.fingerprint == b.fingerprint


def test_different_seed_gives_different_cohort():
    a = generate_cohort(n_mentors=40, n_mentees=35, seed=3)
    b = generate_cohort(n_mentors=40, n_mentees=35, seed=4)
    assert not a.participants.equals(b.participants)
    assert a.fingerprint != b.fingerprint
    assert (a.participants["name"] != b.participants["name"]).mean() > 0.5


def test_sides_are_independent_streams():
    """Changing the number of mentees leaves the mentors' traits unchanged."""
    a = generate_cohort(n_mentors=20, n_mentees=10, seed=9).mentors
    b = generate_cohort(n_mentors=20, n_mentees=50, seed=9).mentors
    numeric = [c for c in a.columns if c.startswith(("skill_", "lead_", "trait_", "age"))]
    pd.testing.assert_frame_equal(a[numeric], b[numeric])


def test_every_documented_column_present_with_type_and_range(small_cohort):
    people = small_cohort.participants
    dictionary = small_cohort.data_dictionary()
    assert list(dictionary["column"]) == list(people.columns)
    for row in dictionary.itertuples(index=False):
        col = people[row.column]
        assert col.notna().all(), row.column
        if row.type == "integer":
            assert pd.api.types.is_integer_dtype(col), row.column
        elif row.type == "float":
            assert pd.api.types.is_float_dtype(col), row.column
        else:
            assert pd.api.types.is_string_dtype(col) or col.dtype == object, row.column
        if row.unit_or_allowed == "[0, 1]":
            assert col.between(0, 1).all(), row.column
    assert people["participant_id"].is_unique
    assert people["participant_id"].str.fullmatch(r"P\d{6}").all()
    assert set(people["role"]) == {"mentor", "mentee"}
    assert people["level"].between(1, 8).all()
    assert set(people["work_mode"]) <= set(WORK_MODES)
    assert set(people["generation"]) <= {g for g, _, _ in GENERATIONS} | {"Silent", "Gen Alpha"}
    assert (people["tenure_years"] >= 0).all()
    assert (people["tenure_years"] < people["age"] - 16).all()
    assert people["utc_offset"].between(-12, 14).all()
    assert (people["availability_hours_month"] >= 1).all()
    assert people["email"].str.fullmatch(r"[a-z0-9.]+@example\.com").all()
    assert people["email"].is_unique
    for text in people["interests"]:
        assert set(text.split(";")) <= set(INTERESTS)


def test_roles_differ_in_the_expected_direction_with_overlap(large_cohort):
    mentors, mentees = large_cohort.mentors, large_cohort.mentees
    digital = large_cohort.skill_columns
    lead = large_cohort.lead_columns
    mentor_digital, mentee_digital = mentors[digital].mean(axis=1), mentees[digital].mean(axis=1)
    mentor_lead, mentee_lead = mentors[lead].mean(axis=1), mentees[lead].mean(axis=1)
    assert mentor_digital.mean() - mentee_digital.mean() > 0.15
    assert mentee_lead.mean() - mentor_lead.mean() > 0.2
    assert mentors["level"].mean() < 3 < 6 < mentees["level"].mean()
    assert mentors["age"].mean() + 15 < mentees["age"].mean()
    # Real overlap: some seniors are digital experts, some juniors are not.
    share_expert_mentees = (mentee_digital > mentor_digital.median()).mean()
    share_weak_mentors = (mentor_digital < mentee_digital.median()).mean()
    assert 0.03 < share_expert_mentees < 0.4
    assert 0.03 < share_weak_mentors < 0.4
    mentor_gens = mentors["generation"].value_counts(normalize=True)
    mentee_gens = mentees["generation"].value_counts(normalize=True)
    assert mentor_gens.get("Gen Z", 0) + mentor_gens.get("Millennial", 0) > 0.95
    assert mentee_gens.get("Gen X", 0) + mentee_gens.get("Boomer", 0) > 0.7
    assert mentee_gens.get("Boomer", 0) > 0.02


def test_level_tenure_and_age_are_correlated(large_cohort):
    for _, people in large_cohort.participants.groupby("role"):
        corr = people[["age", "level", "tenure_years"]].corr(method="spearman")
        assert corr.loc["age", "level"] > 0.3
        assert corr.loc["age", "tenure_years"] > 0.3
        assert corr.loc["level", "tenure_years"] > 0.3


def test_leadership_rises_with_level_within_role(large_cohort):
    mentees = large_cohort.mentees
    lead = mentees[large_cohort.lead_columns].mean(axis=1)
    assert stats.spearmanr(mentees["level"], lead).statistic > 0.2


def test_goals_are_drawn_where_the_person_is_weak(large_cohort):
    for role, columns in (
        ("mentee", large_cohort.skill_columns),
        ("mentor", large_cohort.lead_columns),
    ):
        people = large_cohort.mentees if role == "mentee" else large_cohort.mentors
        goals = large_cohort.goal_matrix(role)
        skills = people[columns].to_numpy()
        assert goals.any(axis=1).all()
        assert skills[goals].mean() + 0.05 < skills[~goals].mean()


def test_deep_level_traits_are_independent_of_role(large_cohort):
    mentors, mentees = large_cohort.mentors, large_cohort.mentees
    deep = [c for c in large_cohort.participants.columns if c.startswith(("trait_", "value_"))]
    for column in deep:
        # Same distribution on both sides: the two-sample KS test does not reject.
        assert stats.ks_2samp(mentors[column], mentees[column]).pvalue > 1e-3, column


def test_locales_are_honoured():
    locales = ("en_US", "de_DE", "ja_JP", "pt_BR")
    spec = CohortSpec(
        n_mentors=400, n_mentees=400, seed=2, locales=locales, locale_weights=(4, 2, 1, 1)
    )
    people = generate_cohort(spec).participants
    shares = people["locale"].value_counts(normalize=True)
    assert shares["en_US"] == pytest.approx(0.5, abs=0.06)
    assert shares["ja_JP"] == pytest.approx(0.125, abs=0.05)
    expected = {
        "en_US": ("United States", {-5.0, -6.0, -7.0, -8.0}),
        "de_DE": ("Germany", {1.0}),
        "ja_JP": ("Japan", {9.0}),
        "pt_BR": ("Brazil", {-3.0, -4.0, -5.0}),
    }
    for locale, group in people.groupby("locale"):
        country, offsets = expected[locale]
        assert (group["country"] == country).all()
        assert set(group["utc_offset"]) <= offsets
        pools = _locale_pools(locale)
        assert set(group["location"]) <= set(pools["cities"])
        last_names = set(pools["last"]["names"])
        if locale == "ja_JP":
            assert all(any(name.startswith(ln) for ln in last_names) for name in group["name"])
            assert group["email"].str.fullmatch(r"p\d{6}@example\.com").all()
        else:
            first_names = set(pools["female"]["names"]) | set(pools["male"]["names"])
            assert all(_splits_into(name, first_names, last_names) for name in group["name"])
    # E-mails are ASCII even for accented names, and accented names do occur.
    assert people["email"].map(str.isascii).all()
    latin = people[people["locale"] != "ja_JP"]["name"]
    assert any(unicodedata.normalize("NFKD", n) != n for n in latin)


def _splits_into(name: str, first_names: set, last_names: set) -> bool:
    parts = name.split(" ")
    return any(
        " ".join(parts[:k]) in first_names and " ".join(parts[k:]) in last_names
        for k in range(1, len(parts))
    )


def test_first_names_agree_with_gender():
    spec = CohortSpec(n_mentors=300, n_mentees=300, seed=4, gender_shares=(0.5, 0.5, 0.0))
    people = generate_cohort(spec).participants
    pools = _locale_pools("en_US")
    female, male = set(pools["female"]["names"]), set(pools["male"]["names"])
    first = people["name"].str.split(" ").str[0]
    assert first[people["gender"] == "woman"].isin(female).all()
    assert first[people["gender"] == "man"].isin(male).all()


@given(n_mentors=st.integers(1, 25), n_mentees=st.integers(1, 25), seed=st.integers(0, 2**63 - 1))
def test_any_valid_spec_gives_a_consistent_cohort(n_mentors, n_mentees, seed):
    cohort = generate_cohort(CohortSpec(n_mentors=n_mentors, n_mentees=n_mentees, seed=seed))
    people = cohort.participants
    assert len(cohort.mentors) == n_mentors and len(cohort.mentees) == n_mentees
    assert people["participant_id"].is_unique and people["email"].is_unique
    assert people[cohort.skill_columns + cohort.lead_columns].stack().between(0, 1).all()


BAD_SPECS = [
    ({"n_mentors": 0}, "n_mentors", "0"),
    ({"n_mentees": -3}, "n_mentees", "-3"),
    ({"n_mentors": 2.5}, "n_mentors", "2.5"),
    ({"n_mentors": True}, "n_mentors", "True"),
    ({"seed": -1}, "seed", "-1"),
    ({"locales": ("xx_YY",)}, "locales", "xx_YY"),
    ({"locales": ()}, "locales", "()"),
    ({"locales": ("en",)}, "locales", "en"),
    ({"departments": ()}, "departments", "()"),
    ({"departments": ("Sales", "Sales")}, "departments", "Sales"),
    ({"locales": ("en_US", "de_DE"), "locale_weights": (1, -1)}, "locale_weights", "-1"),
    ({"gender_shares": (0.6, 0.6, 0.0)}, "gender_shares", "sum to 1.2"),
    ({"gender_shares": (1.5, -0.5, 0.0)}, "gender_shares", "1.5"),
    ({"email_domain": "gmail.com"}, "email_domain", "gmail.com"),
    ({"digital_domains": ("AI Tools",)}, "digital_domains", "AI Tools"),
]


@pytest.mark.parametrize(("kwargs", "name", "shown"), BAD_SPECS)
def test_bad_spec_is_refused_with_one_sentence(kwargs, name, shown):
    with pytest.raises(InvalidParameterError) as info:
        CohortSpec(**kwargs)
    message = str(info.value)
    assert f"'{name}'" in message and shown in message
    assert message.count("\n") == 0 and message.endswith(".")


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"level_probs": (0.5, 0.6, 0, 0, 0, 0, 0, 0)}, "level_probs"),
        ({"level_probs": (1.0,)}, "level_probs"),
        ({"work_mode_probs": (0.2, 0.2, -0.1)}, "work_mode_probs"),
        ({"digital_skill_mean": 1.0}, "digital_skill_mean"),
        ({"age_mean": 90.0}, "age_mean"),
    ],
)
def test_bad_role_profile_is_refused(kwargs, name):
    base = {f: getattr(MENTEE_PROFILE, f) for f in MENTEE_PROFILE.__dataclass_fields__}
    with pytest.raises(InvalidParameterError, match=re.escape(f"'{name}'")):
        RoleProfile(**{**base, **kwargs})


def test_spec_is_frozen():
    spec = CohortSpec()
    with pytest.raises(AttributeError):
        spec.n_mentors = 5  # type: ignore[misc]


def test_membership_matrices_match_lists(small_cohort):
    goals = small_cohort.goal_matrix("mentee")
    for row, text in zip(goals, small_cohort.mentees["goal_domains"], strict=True):
        chosen = {d for d, on in zip(small_cohort.digital_domains, row, strict=True) if on}
        assert chosen == set(text.split(";"))
    assert small_cohort.interest_matrix("mentor").sum(axis=1).tolist() == [3] * 30
    with pytest.raises(InvalidParameterError):
        small_cohort.goal_matrix("coach")
    assert np.all(goals.sum(axis=1) <= 3)


@given(
    n_mentors=st.integers(1, 30),
    n_mentees=st.integers(1, 30),
    seeds=st.lists(st.integers(0, 2**63 - 1), min_size=1, max_size=4),
    locales=st.sampled_from([("en_US",), ("ja_JP", "de_DE", "pt_BR")]),
)
def test_generate_cohorts_equals_one_cohort_at_a_time(n_mentors, n_mentees, seeds, locales):
    """A batch of cohorts of one spec has exactly the numbers (and fingerprints) of
    generating each seed's cohort on its own; only the shaping work is shared."""
    from dataclasses import replace

    from toolkit.cohort import generate_cohorts

    spec = CohortSpec(n_mentors=n_mentors, n_mentees=n_mentees, locales=locales)
    for seed, cohort in zip(seeds, generate_cohorts(spec, seeds), strict=True):
        one = generate_cohort(replace(spec, seed=seed))
        pd.testing.assert_frame_equal(cohort.participants, one.participants, check_exact=True)
        assert cohort.fingerprint == one.fingerprint and cohort.spec == one.spec
        pd.testing.assert_frame_equal(cohort.mentees, one.mentees)


def test_generate_cohorts_refuses_bad_seeds():
    from toolkit.cohort import generate_cohorts

    with pytest.raises(InvalidParameterError, match="'seeds'"):
        generate_cohorts(CohortSpec(), [])
    with pytest.raises(InvalidParameterError, match="'seeds'"):
        generate_cohorts(CohortSpec(), [-1])


@pytest.mark.parametrize("locales", [("en_US",), ("en_US", "en_GB", "ja_JP")])
def test_factorized_equals_pandas_factorize_of_every_text_column(locales):
    """A generated cohort's Cohort.factorized comes from its draws (no text read back); it
    must equal pd.factorize of the column (codes, first-appearance order), as it does for a
    cohort that only has its table."""
    from dataclasses import replace as replace_fields

    from toolkit.cohort import generate_cohorts

    spec = CohortSpec(n_mentors=45, n_mentees=40, locales=locales)
    for cohort in generate_cohorts(spec, [3, 4]):
        table_only = replace_fields(cohort, _cache={})
        text = [c for c in cohort.participants.columns if cohort.participants[c].dtype == "str"]
        assert {"goal_domains", "interests", "location", "participant_id"} <= set(text)
        for column in text:
            want_codes, want = pd.factorize(cohort.participants[column], use_na_sentinel=False)
            for source in (cohort, table_only):
                codes, distinct = source.factorized(column)
                assert np.array_equal(codes, want_codes), column
                assert distinct.tolist() == np.asarray(want, dtype=object).tolist(), column
        for role in ("mentee", "mentor"):
            assert np.array_equal(cohort.goal_matrix(role), table_only.goal_matrix(role))
            assert np.array_equal(cohort.interest_matrix(role), table_only.interest_matrix(role))


def test_join_lists_joins_each_selection_in_name_order():
    """';'-lists built once per distinct selection equal joining row by row, with more
    names than an int64 key holds too."""
    from toolkit.cohort import _join_lists

    rng = np.random.default_rng(0)
    for n_names in (3, 16, 70):
        names = tuple(f"n{k}" for k in range(n_names))
        mask = rng.random((200, n_names)) < 0.1
        mask[0] = False  # nothing selected: the empty text
        got = _join_lists(mask, names)
        want = [";".join(n for n, on in zip(names, row, strict=True) if on) for row in mask]
        assert got.texts[got.codes].tolist() == want
        assert pd.Series(got.column()).tolist() == want
