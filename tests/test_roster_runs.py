"""The runner's roster pre-check: the roster's notes and warnings as one-line messages."""

from __future__ import annotations

import warnings

from toolkit.runs.plan import plan_run

ROSTER = (
    "id,role,department,manager_id,skill_ai_tool,favourite_colour\n"
    + "".join(f"R{k},mentor,IT,,0.5,blue\n" for k in range(6))
    + "".join(f"E{k},mentee,Sales,R{k % 6},0.4,green\n" for k in range(5))
)


def test_run_planning_prints_roster_warnings_and_notes_once_as_lines(tmp_path, capsys):
    roster = tmp_path / "people.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RosterWarning through the warnings module fails
        for replicates in (2, 3):  # two points of a sweep: the roster is told about once
            plan_run(
                "meeting_cadence",
                [f"roster={roster}", f"replicates={replicates}"],
                out=tmp_path / "runs",
            )
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert lines, "the pre-check said nothing about a roster with ignored columns"
    assert all(line.startswith(("note: ", "warning: ")) for line in lines), err
    assert "RosterWarning" not in err
    ignored = [line for line in lines if "favourite_colour" in line]
    assert len(ignored) == 1 and ignored[0].startswith("warning: ")
    assert "skill_ai_tool" in ignored[0] and "did you mean" in ignored[0]
    rule = [line for line in lines if "reporting-line rule" in line]
    assert len(rule) == 1 and rule[0].startswith("note: ") and "'manager_id'" in rule[0]
    # a changed file is a new roster: told again
    roster.write_text(ROSTER.replace("blue", "red"), encoding="utf-8")
    plan_run("meeting_cadence", [f"roster={roster}"], out=tmp_path / "runs")
    assert sum("favourite_colour" in line for line in capsys.readouterr().err.splitlines()) == 1
