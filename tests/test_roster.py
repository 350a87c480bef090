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
    # The generator's columns, plus the list of each person's unanswered scored items.
    assert list(cohort.participants.columns) == [*generated.columns, "unanswered"]
    for col in generated.columns:  # same kinds of values (numbers stay numbers)
        assert (cohort.participants[col].dtype.kind in "iuf") == (
            generated[col].dtype.kind in "iuf"
        ), col
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
    with pytest.raises(
        RosterError, match="line 2, column 'b' names someone who is not in the roster"
    ):
        read_forbidden_pairs(forbid, cohort)


def test_reporting_line_column_is_honoured():
    text = GOOD.replace("interests\n", "interests,manager_id\n", 1)
    lines = text.strip().split("\n")
    lines = [lines[0]] + [
        line + ("," + ("m2" if line.startswith("e2") else "")) for line in lines[1:]
    ]
    cohort = _read("\n".join(lines) + "\n")
    m = match(cohort, "optimal")
    assert ("e2", "m2") not in set(zip(m.pairs["mentee_id"], m.pairs["mentor_id"], strict=True))


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "is empty"),
        ("id,role\n", "no rows"),
        ("id,role\na,mentor\na,mentee\n", "line 3, column 'id' repeats the id of line 2"),
        (
            "id,role\na,mentor\nb,boss\n",
            "line 3, column 'role' must be 'mentor' or 'mentee'; got 'boss'",
        ),
        ("id,department\na,IT\n", "lacks the required column 'role'"),
        (
            "id,role,skill_ai_tools\na,mentor,high\nb,mentee,0.1\n",
            "line 2, column 'skill_ai_tools' must be a number in \\[0, 1\\]; got 'high'",
        ),
        (
            "id,role,skill_ai_tools\na,mentor,0.3\nb,mentee,1.5\n",
            "line 3, column 'skill_ai_tools' must be a number in \\[0, 1\\]; got '1.5'",
        ),
        ("id,role,skills\na,mentor,ai_tools=2\nb,mentee,\n", "line 2, column 'skills'"),
        ("id,role,skills\na,mentor,juggling=0.2\nb,mentee,\n", "domains among"),
        (
            "id,role,goals\na,mentor,ai_tools\nb,mentee,\n",
            "line 2, column 'goals' must list leadership domains",
        ),
        ("id,role,utc_offset\na,mentor,20\nb,mentee,0\n", "column 'utc_offset'"),
        ("id,role\na,mentor\nb,mentor\n", "at least one mentor and one mentee"),
        ("id,role\n,mentor\nb,mentee\n", "line 2, column 'id' is empty"),
    ],
)
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


@pytest.mark.parametrize(
    ("header", "name", "where"),
    [
        ("id,role,skill_ai_tools,skill_ai_tools", "skill_ai_tools", "columns 3 and 4"),
        ("id,role,Department,department", "department", "columns 3 ('Department') and 4"),
        ("participant_id,role,id", "id", "columns 1 ('participant_id') and 3 ('id')"),
    ],
)
def test_a_column_given_twice_is_refused_naming_both_positions(header, name, where):
    """pandas would silently rename an exact duplicate to 'skill_ai_tools.1'."""
    n_cols = header.count(",") + 1
    text = (
        header
        + "\n"
        + "a,mentor"
        + ",0.5" * (n_cols - 2)
        + "\n"
        + "b,mentee"
        + ",0.4" * (n_cols - 2)
        + "\n"
    )
    with pytest.raises(RosterError) as info:
        _read(text)
    message = str(info.value)
    assert f"the column '{name}' twice" in message and where in message


def test_interests_are_free_tokens_normalised_for_case_and_spacing():
    text = (
        "id,role,interests\n"
        "m1,mentor,Chess;  Rock   Climbing ;running\n"
        "e1,mentee,chess;rock climbing\n"
        "e2,mentee,knitting\n"
    )
    cohort = _read(text)
    interests = dict(
        zip(cohort.participants["participant_id"], cohort.participants["interests"], strict=True)
    )
    assert interests == {
        "m1": "chess;rock climbing;running",
        "e1": "chess;rock climbing",
        "e2": "knitting",
    }
    assert set(cohort.interest_names) >= {"chess", "rock climbing", "knitting", "running"}
    m = match(cohort, "optimal", weights={"shared_interests": 1})
    pairs = m.pairs.set_index("mentee_id")
    # Jaccard on what people wrote: e1 shares 2 of 3 interests with m1, e2 none.
    assert pairs.loc["e1", "score_shared_interests"] == pytest.approx(2 / 3)
    reasons = m.explain(top=1).set_index("mentee_id")["reasons"]
    # What people wrote stays in the roster: interests outside the generator's categories
    # are named by their index among the cohort's own interests (chess, knitting, rock
    # climbing), never by their text.
    assert reasons["e1"] == "shared interests: interest #1, interest #3"


def test_many_distinct_interests_score_exactly():
    """More than 64 distinct tokens take several bit-mask words; the Jaccard stays exact."""
    tokens = [f"hobby {k}" for k in range(150)]
    rows = [
        "id,role,interests",
        "m1,mentor," + ";".join(tokens[:100]),
        "e1,mentee," + ";".join(tokens[50:150]),
        "e2,mentee," + ";".join(tokens[140:150]),
    ]
    cohort = _read("\n".join(rows) + "\n")
    from toolkit import pair_components
    from toolkit.compatibility import score_components

    matrix = score_components(cohort)["shared_interests"]
    assert matrix[0, 0] == pytest.approx(50 / 150) and matrix[1, 0] == 0
    pairs = pair_components(cohort, np.array([0, 1]), np.array([0, 0]))["shared_interests"]
    assert pairs.tolist() == matrix[:, 0].tolist()


def test_a_leading_apostrophe_marks_text_and_is_dropped():
    """The spreadsheet convention (and what the toolkit's own CSV output adds)."""
    text = (
        "id,role,name,department,skill_ai_tools\n"
        "'=m1,mentor,'@Ann,'-HR,'0.5\n"
        "''e1,mentee,Bob,IT,0.2\n"
    )
    people = _read(text).participants.set_index("participant_id")
    assert list(people.index) == ["=m1", "'e1"]
    assert people.loc["=m1", "name"] == "@Ann" and people.loc["=m1", "department"] == "-HR"
    assert people.loc["=m1", "skill_ai_tools"] == 0.5


def test_skills_error_names_the_kind_of_skill_once():
    with pytest.raises(RosterError) as info:
        _read("id,role,skills,leadership\na,mentor,ai_tools=2,\nb,mentee,,\n")
    assert "skill skill" not in str(info.value)
    assert "must give each digital skill as a number in [0, 1]" in str(info.value)
    with pytest.raises(RosterError, match="each leadership skill as a number"):
        _read("id,role,skills,leadership\na,mentor,,strategy=7\nb,mentee,,\n")


def test_user_text_in_messages_is_one_line():
    text = 'id,role\na,"mentor\nerror: forged line"\nb,mentee\n'
    with pytest.raises(RosterError) as info:
        _read(text)
    message = str(info.value)
    assert "\n" not in message and "'mentor\\nerror: forged line'" in message


# --------------------------------------------------------------------------- HR exports

HR_HEADER = (
    "Employee ID,Full Name,Work Email,Department,Job Level,Office,Hire Date,"
    "Manager Employee ID,Program Role,Gender"
)
HR_MAPPING = """columns:
  Employee ID: id
  Full Name: name
  Work Email: email
  Job Level: level
  Office: location
  Manager Employee ID: manager_id
  Program Role: role
values:
  role:
    Reverse Mentor: mentor
    Executive Mentee: mentee
"""


def _hr_export(n_pairs=6):
    """An HR export: each mentor reports to the mentee of the same number."""
    rows = [HR_HEADER]
    for k in range(n_pairs):
        dept = ("Finance", "IT", "Sales")[k % 3]
        rows.append(
            f"E{k:03d},Exec Person{k},exec{k}@example.com,{dept},7,Paris,2001-01-0{k % 9 + 1},"
            f",Executive Mentee,woman"
        )
        rows.append(
            f"J{k:03d},Junior Person{k},junior{k}@example.com,{dept},2,Paris,2022-02-0"
            f"{k % 9 + 1},E{k:03d},Reverse Mentor,man"
        )
    return "\n".join(rows) + "\n"


def test_an_hr_export_reports_every_problem_at_once_then_matches_after_a_mapping(tmp_path):
    from toolkit._columns import ColumnMapping
    from toolkit.roster import load_roster

    text = _hr_export()
    with pytest.raises(RosterError) as info:
        _read(text)
    message = str(info.value)
    # One error names the two missing columns with the HR header that holds each, and
    # the role values to map, each with its line and column.
    assert "lacks the required column 'id' (did you mean 'Employee ID'?" in message
    assert "lacks the required column 'role' (did you mean 'Program Role'?" in message
    assert (
        "line 2, column 'Program Role' must be 'mentor' or 'mentee'; got 'Executive Mentee'"
        in message
    )
    assert (
        "line 3, column 'Program Role' must be 'mentor' or 'mentee'; got 'Reverse Mentor'"
        in message
    )
    assert '--value "role:Reverse Mentor=mentor"' in message
    assert len(info.value.problems) == 4 and "\n" not in message
    assert "Person" not in message and "@" not in message  # no name, no e-mail

    path = tmp_path / "map.yaml"
    path.write_text(HR_MAPPING, encoding="utf-8")
    reading = load_roster(io.StringIO(text), mapping=ColumnMapping.from_file(path))
    people = reading.cohort.participants.set_index("participant_id")
    assert (people["role"] == "mentee").sum() == 6 and people.loc["E000", "level"] == 7
    assert people.loc["J001", "location"] == "Paris"
    assert reading.notes[0].startswith(
        "The reporting-line rule is active on the column 'Manager Employee ID'"
    )
    assert any("'Hire Date' is not used" in w for w in reading.warnings)
    m = match(reading.cohort, "optimal")
    pairs = set(zip(m.pairs["mentee_id"], m.pairs["mentor_id"], strict=True))
    assert len(pairs) == 6
    assert not {(f"E{k:03d}", f"J{k:03d}") for k in range(6)} & pairs  # never one's manager


def test_an_unrecognised_manager_column_is_named_in_a_warning():
    from toolkit._columns import ColumnMapping
    from toolkit.roster import RosterWarning, load_roster

    mapping = ColumnMapping.from_options(
        ["Employee ID=id", "Program Role=role"],
        ["role:Reverse Mentor=mentor", "role:Executive Mentee=mentee"],
    )
    reading = load_roster(io.StringIO(_hr_export()), mapping=mapping)
    joined = " ".join(reading.warnings)
    assert (
        "The reporting-line rule is off: the roster has no manager_id column, but "
        "'Manager Employee ID' looks like one" in joined
    )
    assert "'Manager Employee ID' (did you mean 'manager_id'?)" in joined
    assert "'Full Name' (did you mean 'name'?)" in joined and "'Hire Date'" in joined
    with pytest.warns(RosterWarning, match="'Manager Employee ID' looks like one"):
        read_roster(io.StringIO(_hr_export()), mapping=mapping)


def test_a_near_miss_column_is_named_with_did_you_mean():
    from toolkit.roster import RosterWarning

    with pytest.warns(RosterWarning, match=r"'skill_ai_tool' \(did you mean 'skill_ai_tools'\?\)"):
        _read("id,role,skill_ai_tool\na,mentor,0.9\nb,mentee,0.1\n")


def test_every_problem_is_reported_with_line_and_column_up_to_a_limit():
    from toolkit.roster import MAX_PROBLEMS

    rows = ["id,role,skill_ai_tools,utc_offset,goals"]
    rows += [f"p{k},mentor,{2 + k},0,strategy" for k in range(30)]
    rows += ["q,mentee,0.2,99,juggling", "q,boss,0.1,0,"]
    with pytest.raises(RosterError) as info:
        _read("\n".join(rows) + "\n")
    problems = info.value.problems
    message = str(info.value)
    assert len(problems) == 30 + 4  # 30 skills, the offset, the goal, the repeat, the role
    assert message.startswith(
        "The roster has 34 problems: line 2, column 'skill_ai_tools' "
        "must be a number in [0, 1]; got '2'"
    )
    assert message.endswith(f"; and {34 - MAX_PROBLEMS} more.")
    assert "line 32, column 'utc_offset'" in " ".join(problems)
    assert "line 32, column 'goals' must list digital domains" in " ".join(problems)
    assert "line 33, column 'id' repeats the id of line 32" in " ".join(problems)
    assert "line 33, column 'role' must be 'mentor' or 'mentee'; got 'boss'" in " ".join(problems)


@pytest.mark.parametrize(
    "text",
    [
        "Ann Ames,ann.ames@example.com,mentor,IT\nBob Bell,bob@example.com,mentee,HR\n",
        "P1,Ann Ames,ann.ames@example.com,mentor,34\nP2,Bob Bell,bob@example.com,mentee,61\n",
    ],
)
def test_a_roster_without_a_header_row_echoes_no_name_or_email(text):
    with pytest.raises(RosterError) as info:
        _read(text)
    message = str(info.value)
    assert "does not look like a header row" in message
    for word in ("Ann", "Ames", "ann.ames", "example.com", "P1"):
        assert word not in message


def test_personal_cells_never_reach_a_message_but_other_cells_do_bounded():
    text = (
        "id,role,name,email,age,department,skill_ai_tools\n"
        "alice.secret,mentor,Alice Secret,alice@example.com,very old,IT,0.5\n"
        "alice.secret,mentee,Bob,bob@example.com,44,HR," + "x" * 500 + "\n"
    )
    with pytest.raises(RosterError) as info:
        _read(text)
    message = str(info.value)
    assert "alice" not in message.lower() and "very old" not in message
    assert "line 2, column 'age' must be an age in years between 16 and 100" in message
    assert "'" + "x" * 37 + "...'" in message and "x" * 41 not in message


def test_skills_goals_and_interests_ignore_case_and_spacing_alike():
    text = (
        "id,role,skills,goals,leadership,interests\n"
        "m,mentor,AI tools=0.9; Data  Analytics:0.8,Change-Leadership,,Rock  Climbing\n"
        "e,mentee,ai_tools=0.2,AI Tools;data analytics,People Management=0.9,rock climbing\n"
    )
    people = _read(text).participants.set_index("participant_id")
    assert people.loc["m", "skill_ai_tools"] == 0.9
    assert people.loc["m", "skill_data_analytics"] == 0.8
    assert people.loc["m", "goal_domains"] == "change_leadership"
    assert people.loc["e", "goal_domains"] == "ai_tools;data_analytics"
    assert people.loc["e", "lead_people_management"] == 0.9
    assert people.loc["m", "interests"] == people.loc["e", "interests"] == "rock climbing"


def test_a_roster_that_cannot_tell_pairs_apart_is_warned_about_with_the_spread():
    from toolkit import compatibility_matrix
    from toolkit.roster import score_spread_warning

    flat = _read(
        "id,role,department\n"
        + "".join(
            f"m{k},mentor,{'IT' if k % 2 else 'HR'}\ne{k},mentee,{'IT' if k % 3 else 'HR'}\n"
            for k in range(8)
        )
    )
    warning = score_spread_warning(compatibility_matrix(flat))
    assert warning is not None and "too little information to tell pairs apart" in warning
    assert "(SD 0.0" in warning and "span 0." in warning
    informative = generate_cohort(n_mentors=8, n_mentees=8, seed=3)
    assert score_spread_warning(compatibility_matrix(informative)) is None


def test_a_component_resting_on_few_answered_items_is_warned_about():
    from toolkit._columns import ColumnMapping
    from toolkit.roster import load_roster

    text = (
        "id,role,trait_openness,trait_extraversion\n"
        "a,mentor,0.9,0.2\nb,mentor,0.1,0.8\nc,mentee,0.8,0.3\nd,mentee,0.3,0.6\n"
    )
    reading = load_roster(
        io.StringIO(text), mapping=ColumnMapping.from_options(values=["roles:Boss=mentee"])
    )
    assert any(
        "personality and work values (deep_similarity) rest on few answered items: "
        "half the people answered 2 or fewer of the 11" in w
        for w in reading.warnings
    )
    assert not any("digital skills" in w for w in reading.warnings)  # none given: no claim
    assert any(
        "maps values of the column 'roles', which the roster does not have" in w
        for w in reading.warnings
    )
    people = reading.cohort.participants.set_index("participant_id")
    assert people.loc["a", "unanswered"].split(";")[-1] == "value_balance"
    assert "trait_openness" not in people.loc["a", "unanswered"]


def test_lines_are_the_file_lines_with_blank_lines_and_quoted_line_breaks():
    text = (
        "id,role,name,skill_ai_tools\n"
        "\n"
        'a,mentor,"Ann\nAmes",0.5\n'  # lines 3-4
        "b,mentee,Bob,2\n"
    )  # line 5
    with pytest.raises(RosterError, match="Roster line 5, column 'skill_ai_tools'"):
        _read(text)
    with pytest.raises(RosterError) as info:
        _read("id,role\na,mentor,extra\nb,mentee\nc,mentee,x,y\n")
    assert (
        "header names 2 columns but some rows have more cells (line 2 has 3; line 4 "
        "has 4)" in str(info.value)
    )
    assert "extra" not in str(info.value)
