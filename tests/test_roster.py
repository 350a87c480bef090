"""Roster import: the documented format, neutral defaults, and one-sentence errors."""

from __future__ import annotations

import io

import numpy as np
import pytest

from toolkit import RosterError, generate_cohort, match, read_forbidden_pairs, read_roster

GOOD = """id,role,name,department,location,utc_offset,availability,skills,leadership,goals,interests
m1,mentor,Ann,IT,Paris,1,6,ai_tools=0.9;data_analytics=0.8,strategy=0.2,strategy,running;music
m2,Mentor,Bob,HR,Lyon,1,3,social_media:0.7,,people_management,music
e1,mentee,Cat,IT,Paris,1,5,ai_tools=0.2,strategy=0.9,ai_tools,running
e2,mentee,Dan,Sales,Berlin,-5,,,decision_making=0.8,,
"""


def _read(text):
    return read_roster(io.StringIO(text))


def test_good_roster_has_generator_columns():
    cohort = _read(GOOD)
    generated = generate_cohort(n_mentors=2, n_mentees=2, seed=1).participants
    assert list(cohort.participants.columns) == list(generated.columns)
    for col in generated.columns:  # same kinds of values (numbers stay numbers)
        assert (cohort.participants[col].dtype.kind in "iuf") == (
            generated[col].dtype.kind in "iuf"), col
    p = cohort.participants.set_index("participant_id")
    assert p.loc["m1", "skill_ai_tools"] == 0.9 and p.loc["m2", "skill_social_media"] == 0.7
    assert p.loc["e2", "skill_ai_tools"] == 0.5  # neutral default
    assert p.loc["e2", "goal_domains"].count(";") == 4  # no goals given: every domain
    assert p.loc["m2", "role"] == "mentor"
    assert p.loc["e2", "availability_hours_month"] == 4.0
    assert len(match(cohort, "optimal").pairs) == 2


def test_file_and_forbidden_pairs(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text(GOOD, encoding="utf-8")
    cohort = read_roster(path)
    forbid = tmp_path / "forbid.csv"
    forbid.write_text("mentee_id,mentor_id\ne1,m1\nm2,e1\n", encoding="utf-8")
    assert read_forbidden_pairs(forbid, cohort) == (("e1", "m1"), ("m2", "e1"))
    forbid.write_text("a,b\ne1,e2\n", encoding="utf-8")
    with pytest.raises(RosterError, match="line 2 pairs two mentees"):
        read_forbidden_pairs(forbid, cohort)
    forbid.write_text("a,b\ne1,zz\n", encoding="utf-8")
    with pytest.raises(RosterError, match="line 2, column 'b' names 'zz'"):
        read_forbidden_pairs(forbid, cohort)


def test_reporting_line_column_is_honoured():
    text = GOOD.replace("interests\n", "interests,manager_id\n", 1)
    lines = text.strip().split("\n")
    lines = [lines[0]] + [line + ("," + ("m2" if line.startswith("e2") else "")) for line in lines[1:]]
    cohort = _read("\n".join(lines) + "\n")
    m = match(cohort, "optimal")
    assert ("e2", "m2") not in set(zip(m.pairs["mentee_id"], m.pairs["mentor_id"], strict=True))


@pytest.mark.parametrize("text, message", [
    ("", "is empty"),
    ("id,role\n", "no rows"),
    ("id,role\na,mentor\na,mentee\n", "line 3, column 'id' repeats the id 'a' of line 2"),
    ("id,role\na,mentor\nb,boss\n", "line 3, column 'role' must be 'mentor' or 'mentee'; got 'boss'"),
    ("id,department\na,IT\n", "lacks the required column 'role'"),
    ("id,role,skill_ai_tools\na,mentor,high\nb,mentee,0.1\n",
     "line 2, column 'skill_ai_tools' must be a number in \\[0, 1\\]; got 'high'"),
    ("id,role,skill_ai_tools\na,mentor,0.3\nb,mentee,1.5\n",
     "line 3, column 'skill_ai_tools' must be a number in \\[0, 1\\]; got '1.5'"),
    ("id,role,skills\na,mentor,ai_tools=2\nb,mentee,\n", "line 2, column 'skills'"),
    ("id,role,skills\na,mentor,juggling=0.2\nb,mentee,\n", "domains among"),
    ("id,role,goals\na,mentor,ai_tools\nb,mentee,\n",
     "line 2, column 'goals' must list leadership domains"),
    ("id,role,utc_offset\na,mentor,20\nb,mentee,0\n", "column 'utc_offset'"),
    ("id,role\na,mentor\nb,mentor\n", "at least one mentor and one mentee"),
    ("id,role\n,mentor\nb,mentee\n", "line 2, column 'id' is empty"),
])
def test_bad_rosters_one_sentence(text, message):
    with pytest.raises(RosterError, match=message) as info:
        _read(text)
    assert str(info.value).count(". ") == 0 and str(info.value).endswith(".")


def test_binary_and_non_utf8_files(tmp_path):
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(RosterError, match="binary file"):
        read_roster(binary)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("id,role,name\na,mentor,Jos\u00e9\nb,mentee,X\n".encode("latin-1"))
    with pytest.raises(RosterError, match="not UTF-8 text"):
        read_roster(latin)
    with pytest.raises(RosterError, match="does not exist"):
        read_roster(tmp_path / "missing.csv")


def test_roster_defaults_are_neutral():
    # Without skills, traits or interests every pair gets the same value of those components.
    cohort = _read("id,role\na,mentor\nb,mentor\nc,mentee\nd,mentee\n")
    from toolkit.compatibility import score_components

    for name, m in score_components(cohort).items():
        assert np.unique(m).size == 1, name


@pytest.mark.parametrize(("header", "name", "where"), [
    ("id,role,skill_ai_tools,skill_ai_tools", "skill_ai_tools", "columns 3 and 4"),
    ("id,role,Department,department", "department", "columns 3 ('Department') and 4"),
    ("participant_id,role,id", "id", "columns 1 ('participant_id') and 3 ('id')"),
])
def test_a_column_given_twice_is_refused_naming_both_positions(header, name, where):
    """pandas would silently rename an exact duplicate to 'skill_ai_tools.1'."""
    n_cols = header.count(",") + 1
    text = header + "\n" + "a,mentor" + ",0.5" * (n_cols - 2) + "\n" \
        + "b,mentee" + ",0.4" * (n_cols - 2) + "\n"
    with pytest.raises(RosterError) as info:
        _read(text)
    message = str(info.value)
    assert f"the column '{name}' twice" in message and where in message


def test_interests_are_free_tokens_normalised_for_case_and_spacing():
    text = ("id,role,interests\n"
            "m1,mentor,Chess;  Rock   Climbing ;running\n"
            "e1,mentee,chess;rock climbing\n"
            "e2,mentee,knitting\n")
    cohort = _read(text)
    interests = dict(zip(cohort.participants["participant_id"],
                         cohort.participants["interests"], strict=True))
    assert interests == {"m1": "chess;rock climbing;running", "e1": "chess;rock climbing",
                         "e2": "knitting"}
    assert set(cohort.interest_names) >= {"chess", "rock climbing", "knitting", "running"}
    m = match(cohort, "optimal", weights={"shared_interests": 1})
    pairs = m.pairs.set_index("mentee_id")
    # Jaccard on what people wrote: e1 shares 2 of 3 interests with m1, e2 none.
    assert pairs.loc["e1", "score_shared_interests"] == pytest.approx(2 / 3)
    reasons = m.explain(top=1).set_index("mentee_id")["reasons"]
    assert reasons["e1"] == "shared interests: chess, rock climbing"


def test_many_distinct_interests_score_exactly():
    """More than 64 distinct tokens take several bit-mask words; the Jaccard stays exact."""
    tokens = [f"hobby {k}" for k in range(150)]
    rows = ["id,role,interests",
            "m1,mentor," + ";".join(tokens[:100]),
            "e1,mentee," + ";".join(tokens[50:150]),
            "e2,mentee," + ";".join(tokens[140:150])]
    cohort = _read("\n".join(rows) + "\n")
    from toolkit import pair_components
    from toolkit.compatibility import score_components

    matrix = score_components(cohort)["shared_interests"]
    assert matrix[0, 0] == pytest.approx(50 / 150) and matrix[1, 0] == 0
    pairs = pair_components(cohort, np.array([0, 1]), np.array([0, 0]))["shared_interests"]
    assert pairs.tolist() == matrix[:, 0].tolist()


def test_a_leading_apostrophe_marks_text_and_is_dropped():
    """The spreadsheet convention (and what the toolkit's own CSV output adds)."""
    text = ("id,role,name,department,skill_ai_tools\n"
            "'=m1,mentor,'@Ann,'-HR,'0.5\n"
            "''e1,mentee,Bob,IT,0.2\n")
    people = _read(text).participants.set_index("participant_id")
    assert list(people.index) == ["=m1", "'e1"]
    assert people.loc["=m1", "name"] == "@Ann" and people.loc["=m1", "department"] == "-HR"
    assert people.loc["=m1", "skill_ai_tools"] == 0.5


def test_skills_error_names_the_kind_of_skill_once():
    with pytest.raises(RosterError) as info:
        _read("id,role,skills,leadership\na,mentor,ai_tools=2,\nb,mentee,,\n")
    assert "skill skill" not in str(info.value)
    assert "each digital skill must be a number in [0, 1]" in str(info.value)
    with pytest.raises(RosterError, match="each leadership skill must be"):
        _read("id,role,skills,leadership\na,mentor,,strategy=7\nb,mentee,,\n")


def test_user_text_in_messages_is_one_line():
    text = 'id,role\n"x\nerror: forged line",mentor\n"x\nerror: forged line",mentee\n'
    with pytest.raises(RosterError) as info:
        _read(text)
    message = str(info.value)
    assert "\n" not in message and "'x\\nerror: forged line'" in message

