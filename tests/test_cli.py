"""The `rmt` command line: help, version, cohort, data; bad input exits 2, writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from toolkit import __version__
from toolkit.cli import app

runner = CliRunner()


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("cohort", "data", "reports"):
        assert command in result.output


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"rmt {__version__}"


def test_console_script_is_installed():
    rmt = os.path.join(os.path.dirname(sys.executable), "rmt")
    out = subprocess.run([rmt, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"rmt {__version__}"


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_cohort_writes_table(tmp_path, ext):
    out = tmp_path / f"cohort.{ext}"
    result = runner.invoke(
        app, ["cohort", "--mentors", "12", "--mentees", "10", "--seed", "7", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out) if ext == "csv" else pd.read_parquet(out)
    assert (frame["role"] == "mentor").sum() == 12 and (frame["role"] == "mentee").sum() == 10
    assert list(tmp_path.iterdir()) == [out]


def test_cohort_same_seed_same_bytes(tmp_path):
    for name in ("a.csv", "b.csv"):
        runner.invoke(
            app,
            [
                "cohort",
                "--mentors",
                "9",
                "--mentees",
                "9",
                "--seed",
                "3",
                "--locale",
                "de_DE",
                "--locale",
                "pt_BR",
                "--out",
                str(tmp_path / name),
            ],
        )
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--mentors", "0"], ["'n_mentors'", "0"]),
        (["--mentees", "-2"], ["'n_mentees'", "-2"]),
        (["--locale", "xx_YY"], ["'locales'", "xx_YY"]),
        (["--department", ""], ["'departments'"]),
        (["--seed", "-5"], ["'seed'", "-5"]),
    ],
)
def test_cohort_bad_input_exits_2_with_one_sentence(tmp_path, args, words):
    out = tmp_path / "c.csv"
    result = runner.invoke(app, ["cohort", *args, "--out", str(out)])
    assert result.exit_code == 2
    message = result.stderr.strip()
    assert message.startswith("error: ") and message.count("\n") == 0
    for word in words:
        assert word in message
    assert list(tmp_path.iterdir()) == []


def test_cohort_bad_output_paths_exit_2_and_write_nothing(tmp_path):
    folder = tmp_path / "existing"
    folder.mkdir()
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    before = sorted(p.name for p in tmp_path.iterdir())
    cases = [
        (str(folder), "extension"),
        (str(tmp_path / "dir.csv"), "existing directory"),
        (str(tmp_path / "out.xlsx"), ".xlsx"),
        (str(blocker / "out.csv"), "which is a file"),
        ("/proc/rmt-cannot-write.csv", "cannot be written"),
    ]
    (tmp_path / "dir.csv").mkdir()
    before.append("dir.csv")
    for path, words in cases:
        result = runner.invoke(app, ["cohort", "--mentors", "3", "--mentees", "3", "--out", path])
        assert result.exit_code == 2, (path, result.output)
        assert words in result.stderr, (path, result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before)
    assert list(folder.iterdir()) == []


def test_unknown_option_exits_2():
    result = runner.invoke(app, ["cohort", "--mentorz", "3", "--out", "x.csv"])
    assert result.exit_code == 2


def test_reports_refuses_an_unknown_study_before_running_any(tmp_path):
    result = runner.invoke(app, ["reports", "--out", str(tmp_path), "--study", "nope"])
    assert result.exit_code == 2
    from toolkit.studies import list_studies

    assert f"Unknown study 'nope'; the studies are: {', '.join(list_studies())}." in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_cohort_department_cannot_become_a_formula(tmp_path):
    import csv

    from toolkit._io import FORMULA_TRIGGERS, read_table

    out = tmp_path / "c.csv"
    evil = "=cmd|' /C calc'!A0"
    result = runner.invoke(
        app,
        [
            "cohort",
            "--mentors",
            "4",
            "--mentees",
            "4",
            "--department",
            evil,
            "--department",
            "+Sales",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    column = rows[0].index("department")
    assert {row[column] for row in rows[1:]} <= {"'" + evil, "'+Sales"}

    def number(cell):
        try:
            float(cell)
        except ValueError:
            return False
        return True

    # Only numbers (utc_offset -6.0) may start with a sign: they are left as they are.
    assert not [c for row in rows for c in row if c.startswith(FORMULA_TRIGGERS) and not number(c)]
    assert set(read_table(out)["department"]) <= {evil, "+Sales"}


def test_cohort_output_mode_follows_the_umask(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        result = runner.invoke(
            app, ["cohort", "--mentors", "3", "--mentees", "3", "--out", str(tmp_path / "c.csv")]
        )
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((tmp_path / "c.csv").stat().st_mode) == 0o644
