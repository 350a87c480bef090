"""Column and value mapping (toolkit._columns): options, files, HR headers, near misses."""

from __future__ import annotations

import pytest

from toolkit._columns import (
    ColumnMapping,
    looks_like_value,
    normalise_name,
    normalise_value,
    resolve_header,
    suggest,
)
from toolkit.errors import InvalidParameterError
from toolkit.roster import roster_columns

KNOWN = roster_columns()


def test_options_and_file_give_the_same_mapping(tmp_path):
    options = ColumnMapping.from_options(
        ["Employee ID=id", "Program  Role = role"], ["role:Reverse Mentor=mentor"]
    )
    path = tmp_path / "map.yaml"
    path.write_text(
        "columns:\n  employee id: id\n  Program Role: role\n"
        "values:\n  Role:\n    reverse  mentor: mentor\n",
        encoding="utf-8",
    )
    from_file = ColumnMapping.from_file(path)
    assert options.columns == from_file.columns == {"employee_id": "id", "program_role": "role"}
    assert options.values == from_file.values == {"role": {"reverse mentor": "mentor"}}
    merged = from_file.merged(ColumnMapping.from_options(["Office=location"]))
    assert merged.columns["office"] == "location" and merged.columns["employee_id"] == "id"


@pytest.mark.parametrize(
    ("columns", "values", "message"),
    [
        (["Employee ID"], [], "--column option must look like"),
        (["=id"], [], "--column option must look like"),
        ([], ["role=mentor"], "--value option must look like"),
        ([], ["role:=mentor"], "--value option must look like"),
    ],
)
def test_malformed_options_are_refused_in_one_sentence(columns, values, message):
    with pytest.raises(InvalidParameterError, match=message) as info:
        ColumnMapping.from_options(columns, values)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "must be a mapping with the sections"),
        ("columns:\n  a: [1, 2]\n", "'columns' must map each header"),
        ("values:\n  role: mentor\n", "'values' must map a column"),
        ("colums:\n  a: id\n", "got the section 'colums'"),
        ("columns: {a: id\n", "is not valid YAML"),
        ("a: &a [x, y]\nb: &b [*a, *a]\n", "uses a YAML alias"),
        ("columns: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than 4 levels"),
    ],
)
def test_bad_mapping_files_are_refused_in_one_sentence(tmp_path, text, message):
    path = tmp_path / "map.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidParameterError, match=message) as info:
        ColumnMapping.from_file(path)
    assert "\n" not in str(info.value)


def test_binary_or_missing_mapping_files(tmp_path):
    path = tmp_path / "map.yaml"
    path.write_bytes(b"\x00\x01columns")
    with pytest.raises(InvalidParameterError, match="not a text file"):
        ColumnMapping.from_file(path)
    with pytest.raises(InvalidParameterError, match="must be an existing file"):
        ColumnMapping.from_file(tmp_path / "none.yaml")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Employee ID", "id"),
        ("Full Name", "name"),
        ("Work Email", "email"),
        ("Manager Employee ID", "manager_id"),
        ("Office", "location"),
        ("Job Level", "level"),
        ("Program Role", "role"),
        ("skill_ai_tool", "skill_ai_tools"),
        ("trait_opennes", "trait_openness"),
        ("Hire Date", None),
    ],
)
def test_well_known_hr_headers_and_near_misses_are_suggested(header, expected):
    assert suggest(header, KNOWN) == expected


def test_resolve_header_applies_mapping_aliases_and_case_and_spacing():
    headers = ["Employee ID", "Program Role", "Skill AI Tools", "participant id", "Hire Date"]
    mapping = ColumnMapping.from_options(["Employee ID=id", "Program Role=role", "Badge=id"])
    res = resolve_header(headers, KNOWN, aliases={"participant_id": "id"}, mapping=mapping)
    assert res.names[:3] == ("id", "role", "skill_ai_tools")
    assert res.names[3] == "id"  # an alias; the caller refuses the duplicate
    assert [(h, s) for _, h, s in res.ignored] == [("Hire Date", None)]
    assert res.unused == (("badge", None),)
    assert res.source["id"] == "Employee ID"


def test_normalisation_and_value_detection():
    assert normalise_name(" Work-E.mail ") == "work_e_mail"
    assert normalise_value("EXECUTIVE_mentee ") == "executive mentee"
    assert looks_like_value("ann@example.com") and looks_like_value("2021-06-01")
    assert looks_like_value("E 100") is False and looks_like_value("Full Name") is False
