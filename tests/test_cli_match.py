"""`rmt match`: pairs with reasons, names only on request, exit 2 and nothing written."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from toolkit.cli import app

ROSTER = """id,role,name,department,skills,leadership,goals,interests
m1,mentor,Ann Ames,IT,ai_tools=0.9,strategy=0.2,strategy,running
m2,mentor,Bob Bell,HR,social_media=0.7,,people_management,music
m3,mentor,Cy Cole,Sales,data_analytics=0.9,,strategy,music
e1,mentee,Cat Cruz,IT,ai_tools=0.2,strategy=0.9,ai_tools,running
e2,mentee,Dan Dorr,Sales,,decision_making=0.8,,
e3,mentee,Eve Eng,HR,,people_management=0.9,social_media,music
"""


@pytest.fixture
def roster(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER, encoding="utf-8")
    return path


def _run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_match_writes_pairs_without_names(roster, tmp_path):
    out = tmp_path / "pairs.csv"
    result = _run(
        "match",
        roster,
        "--policy",
        "optimal",
        "--weights",
        "skills_first",
        "--capacity",
        "2",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    pairs = pd.read_csv(out)
    assert len(pairs) == 3
    assert {"mentee_id", "mentor_id", "score", "mentee_rank", "reasons"} <= set(pairs.columns)
    text = out.read_text()
    for name in ("Ann", "Cat", "Eve"):
        assert name not in text
    # Scores are written to four decimals (float32 noise is not information).
    score_columns = [c for c in pairs.columns if c.startswith("score")]
    assert (pairs[score_columns].round(4) == pairs[score_columns]).all().all()


def test_include_names_and_forbidden(roster, tmp_path):
    forbid = tmp_path / "forbid.csv"
    forbid.write_text("mentee_id,mentor_id\ne1,m1\n")
    out = tmp_path / "pairs.csv"
    result = _run(
        "match",
        roster,
        "--policy",
        "stable",
        "--forbidden",
        forbid,
        "--include-names",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    pairs = pd.read_csv(out)
    assert {"mentee_name", "mentor_name"} <= set(pairs.columns)
    assert ("e1", "m1") not in set(zip(pairs["mentee_id"], pairs["mentor_id"], strict=True))
    names = dict(zip(pairs["mentee_id"], pairs["mentee_name"], strict=True))
    assert names and all(
        names[k] == {"e1": "Cat Cruz", "e2": "Dan Dorr", "e3": "Eve Eng"}[k] for k in names
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--policy", "best"], "'policy' parameter of match must be one of"),
        (["--weights", "fast"], "'weights' parameter"),
        (["--capacity", "0"], "'capacity' parameter of match must be an int in the range [1, 100]"),
    ],
)
def test_bad_options_exit_2_nothing_written(roster, tmp_path, args, message):
    out = tmp_path / "pairs.csv"
    result = _run("match", roster, "--out", out, *args)
    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [roster]


def test_bad_roster_and_infeasible_exit_2(tmp_path):
    out = tmp_path / "pairs.csv"
    bad = tmp_path / "bad.csv"
    bad.write_text("id,role\na,mentor\na,mentee\n")
    result = _run("match", bad, "--out", out)
    assert result.exit_code == 2 and "repeats the id of line 2" in result.output
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\x00\x01\x02")
    result = _run("match", binary, "--out", out)
    assert result.exit_code == 2 and "binary file" in result.output
    forbid = tmp_path / "forbid.csv"
    forbid.write_text("x,y\nb,a\n")
    ok = tmp_path / "ok.csv"
    ok.write_text("id,role\na,mentor\nb,mentee\n")
    result = _run("match", ok, "--forbidden", forbid, "--out", out)
    assert result.exit_code == 2
    assert "1 of 1 mentees have no admissible mentor" in result.output
    assert not out.exists()


def test_formula_cells_are_neutralised_and_read_back(tmp_path):
    """Ids, names and departments a spreadsheet would run as formulas are written as text."""
    import csv

    from toolkit._io import FORMULA_TRIGGERS, read_table

    roster = tmp_path / "hostile.csv"
    roster.write_text(
        "id,role,name,department\n"
        '"=cmd|\' /C calc\'!A0",mentor,"=HYPERLINK(""http://example.org"")",@ops\n'
        "+m2,mentor,-Bob,IT\n"
        "@e1,mentee,+Cat,\"=cmd|' /C calc'!A0\"\n"
        "-e2,mentee,@Dan,IT\n",
        encoding="utf-8",
    )
    out = tmp_path / "pairs.csv"
    result = _run("match", roster, "--include-names", "--out", out)
    assert result.exit_code == 0, result.output
    with open(out, newline="", encoding="utf-8") as fh:
        cells = [cell for row in csv.reader(fh) for cell in row]
    assert not [c for c in cells if c.startswith(FORMULA_TRIGGERS)]
    back = read_table(out)
    assert set(back["mentee_id"]) == {"@e1", "-e2"}
    assert set(back["mentor_id"]) == {"=cmd|' /C calc'!A0", "+m2"}
    assert set(back["mentor_name"]) == {'=HYPERLINK("http://example.org")', "-Bob"}
    # The output file is itself a valid input: ids survive a round trip through a roster.
    again = tmp_path / "again.csv"
    back_roster = tmp_path / "roster2.csv"
    from toolkit._io import write_table

    write_table(
        pd.DataFrame(
            {
                "id": back["mentee_id"].tolist() + back["mentor_id"].tolist(),
                "role": ["mentee"] * 2 + ["mentor"] * 2,
            }
        ),
        back_roster,
    )
    result = _run("match", back_roster, "--out", again)
    assert result.exit_code == 0, result.output
    assert set(read_table(again)["mentor_id"]) == {"=cmd|' /C calc'!A0", "+m2"}


def test_an_id_with_a_newline_cannot_forge_a_line_on_stderr(tmp_path):
    roster = tmp_path / "forged.csv"
    roster.write_text(
        'id,role\nm1,mentor\ne1,mentee\n"x\nerror: forged line",mentee\n', encoding="utf-8"
    )
    out = tmp_path / "pairs.csv"
    result = _run("match", roster, "--out", out)
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert not any(line.startswith("error: forged") for line in lines)
    unmatched = [line for line in lines if line.startswith("unmatched")]
    assert len(unmatched) == 1 and "'x\\nerror: forged line'" in unmatched[0]


def test_a_roster_too_large_for_memory_is_refused_before_scoring(roster, tmp_path, monkeypatch):
    import toolkit.matching

    monkeypatch.setattr(toolkit.matching, "_available_memory", lambda: 1000)
    out = tmp_path / "pairs.csv"
    result = _run("match", roster, "--out", out)
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "split the roster by department or site" in errors[0]
    assert all(
        line.startswith(("note:", "warning:", "error:")) for line in result.stderr.splitlines()
    )
    assert not out.exists()


HR_EXPORT = """Employee ID,Full Name,Work Email,Department,Job Level,Office,Hire Date,Manager Employee ID,Program Role,Gender
E100,Alma Ortiz,alma.ortiz@example.com,Finance,7,Paris,2004-03-01,,Executive Mentee,woman
E101,Bert Lang,bert.lang@example.com,IT,2,Paris,2021-06-01,E100,Reverse Mentor,man
E102,Cora Diaz,cora.diaz@example.com,Sales,8,Lyon,1999-01-10,,Executive Mentee,woman
E103,Dev Patel,dev.patel@example.com,Sales,1,Lyon,2023-09-01,E102,Reverse Mentor,man
E104,Eli Moss,eli.moss@example.com,HR,6,Lyon,2008-02-01,,Executive Mentee,nonbinary
E105,Fay Chen,fay.chen@example.com,IT,3,Paris,2020-01-15,E104,Reverse Mentor,woman
"""


def test_an_hr_export_is_refused_once_with_every_problem_then_matches_with_a_mapping(tmp_path):
    roster = tmp_path / "export.csv"
    roster.write_text(HR_EXPORT, encoding="utf-8")
    out = tmp_path / "pairs.csv"
    result = _run("match", roster, "--out", out)
    assert result.exit_code == 2 and not out.exists()
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: The roster has 4 problems:")
    for part in (
        '--column "Employee ID=id"',
        '--column "Program Role=role"',
        '--value "role:Executive Mentee=mentee"',
        '--value "role:Reverse Mentor=mentor"',
    ):
        assert part in line
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        "columns:\n  Employee ID: id\n  Program Role: role\n  Manager Employee ID: manager_id\n",
        encoding="utf-8",
    )
    result = _run(
        "match",
        roster,
        "--map",
        mapping,
        "--value",
        "role:Reverse Mentor=mentor",
        "--value",
        "role:Executive Mentee=mentee",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    pairs = set(zip(*pd.read_csv(out)[["mentee_id", "mentor_id"]].T.values, strict=True))
    assert len(pairs) == 3 and not pairs & {("E100", "E101"), ("E102", "E103"), ("E104", "E105")}
    assert (
        "note: The reporting-line rule is active on the column 'Manager Employee ID'"
        in result.stderr
    )
    assert "'Full Name' (did you mean 'name'?)" in result.stderr
    assert "warning: The roster carries too little information to tell pairs apart" in result.stderr


def test_an_unrecognised_manager_column_is_named_on_stderr(tmp_path):
    roster = tmp_path / "export.csv"
    roster.write_text(HR_EXPORT, encoding="utf-8")
    out = tmp_path / "pairs.csv"
    result = _run(
        "match",
        roster,
        "--column",
        "Employee ID=id",
        "--column",
        "Program Role=role",
        "--value",
        "role:Reverse Mentor=mentor",
        "--value",
        "role:Executive Mentee=mentee",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    assert (
        "warning: The reporting-line rule is off: the roster has no manager_id column, but "
        "'Manager Employee ID' looks like one"
    ) in result.stderr


FREE_TEXT = """id,role,name,email,department,skills,goals,interests
m1,mentor,Ann Ames,ann@example.com,IT,ai_tools=0.9,strategy,Zorbing Club;Grief Support
m2,mentor,Bob Bell,bob@example.com,HR,data_analytics=0.8,strategy,quilting circle
e1,mentee,Cat Cruz,cat@example.com,IT,ai_tools=0.1,ai_tools,zorbing  club;grief support
e2,mentee,Dan Dorr,dan@example.com,Sales,data_analytics=0.2,data_analytics,Quilting Circle
"""


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_free_text_interests_never_reach_the_outputs_of_match(tmp_path, fmt):
    roster = tmp_path / "roster.csv"
    roster.write_text(FREE_TEXT, encoding="utf-8")
    out = tmp_path / f"pairs.{fmt}"
    result = _run("match", roster, "--weights", "similarity_first", "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out) if fmt == "csv" else pd.read_parquet(out)
    cells = " ".join(map(str, table.to_numpy().ravel())) + out.read_bytes().decode("latin-1")
    everything = (cells + result.stdout + result.stderr).lower()
    assert "shared interests: interest #" in everything
    for word in ("zorbing", "grief", "quilting", "ann ames", "ann@", "example.com"):
        assert word not in everything
    # Asked for by name, the names and the interests they wrote are shown.
    result = _run("match", roster, "--weights", "similarity_first", "--include-names", "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out) if fmt == "csv" else pd.read_parquet(out)
    assert "Ann Ames" in set(table["mentor_name"])
    assert any("grief support" in r for r in table["reasons"])


def test_bad_mapping_options_exit_2_and_write_nothing(roster, tmp_path):
    out = tmp_path / "pairs.csv"
    result = _run("match", roster, "--column", "nonsense", "--out", out)
    assert result.exit_code == 2 and "--column option must look like" in result.stderr
    result = _run("match", roster, "--column", "Badge=nothing", "--out", out)
    assert result.exit_code == 2
    assert (
        "The roster cannot use the mapping of 'badge' to 'nothing' (--column): 'nothing' "
        "is not a roster column"
    ) in result.stderr
    assert not out.exists()
