"""`rmt simulate`: writes the four tables; bad input exits 2 and writes nothing."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from toolkit.cli import app

runner = CliRunner()


def test_simulate_writes_four_tables(tmp_path):
    out = tmp_path / "sim"
    result = runner.invoke(
        app,
        [
            "simulate",
            "--mentors",
            "24",
            "--mentees",
            "20",
            "--seed",
            "3",
            "--preset",
            "bbbs_checkins",
            "--weeks",
            "12",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "events.csv",
        "outcomes.csv",
        "surveys.csv",
        "weeks.csv",
    ]
    outcomes = pd.read_csv(out / "outcomes.csv")
    weeks = pd.read_csv(out / "weeks.csv")
    assert len(outcomes) == 20 and len(weeks) == 20 * 12
    assert set(outcomes["arm"]) == {"bbbs_checkins"}
    # Monthly check-ins happened (weeks 4, 8, 12) and were recorded as events.
    events = pd.read_csv(out / "events.csv")
    assert set(events.loc[events["event"] == "checkin", "week"]) <= {4, 8, 12}


def test_simulate_same_seed_same_bytes(tmp_path):
    for name in ("a", "b"):
        runner.invoke(
            app,
            [
                "simulate",
                "--mentors",
                "12",
                "--mentees",
                "10",
                "--seed",
                "5",
                "--weeks",
                "8",
                "--out",
                str(tmp_path / name),
            ],
        )
    for table in ("weeks", "outcomes", "surveys", "events"):
        assert (tmp_path / "a" / f"{table}.csv").read_bytes() == (
            tmp_path / "b" / f"{table}.csv"
        ).read_bytes()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--preset", "hartfort"], "'hartfort'"),
        (["--cadence", "daily"], "'daily'"),
        (["--weeks", "0"], "'duration_weeks'"),
        (["--format", "xlsx"], "'format'"),
        (["--policy", "best"], "'policy'"),
        (["--mentees", "0"], "'n_mentees'"),
    ],
)
def test_simulate_bad_input_exits_2_and_writes_nothing(tmp_path, args, words):
    out = tmp_path / "sim"
    result = runner.invoke(
        app, ["simulate", "--mentors", "6", "--mentees", "5", *args, "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    assert words in result.stderr and result.stderr.count("\n") == 1
    assert not out.exists()


def _never_simulate(monkeypatch):
    import toolkit.simulation

    def boom(*args, **kwargs):
        raise AssertionError("simulated although the output location is bad")

    monkeypatch.setattr(toolkit.simulation, "simulate", boom)


def test_out_under_a_regular_file_exits_2_before_simulating(tmp_path, monkeypatch):
    _never_simulate(monkeypatch)
    blocker = tmp_path / "f.txt"
    blocker.write_text("x")
    result = runner.invoke(
        app, ["simulate", "--mentors", "6", "--mentees", "5", "--out", str(blocker / "sub")]
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "which is a file" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"] and blocker.read_text() == "x"


def test_out_in_a_folder_that_refuses_files_exits_2_before_simulating(tmp_path, monkeypatch):
    """Permission is tested by creating the temporary folder (os.access lies to root)."""
    import errno
    import tempfile

    _never_simulate(monkeypatch)
    locked = tmp_path / "locked"
    locked.mkdir()
    real = tempfile.mkdtemp

    def refuse(*args, dir=None, **kwargs):
        if dir is not None and str(dir).startswith(str(locked)):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    result = runner.invoke(
        app, ["simulate", "--mentors", "6", "--mentees", "5", "--out", str(locked / "sim")]
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "is not writable" in result.stderr
    assert list(locked.iterdir()) == []
    # And for real: /proc exists but accepts no new folder.
    result = runner.invoke(
        app, ["simulate", "--mentors", "6", "--mentees", "5", "--out", "/proc/rmt-sim"]
    )
    assert result.exit_code == 2 and "does not accept new files" in result.stderr


@pytest.mark.parametrize("existing", [False, True])
def test_a_table_that_fails_to_write_leaves_nothing_new(tmp_path, monkeypatch, existing):
    import toolkit._io
    from toolkit.errors import OutputPathError

    real = toolkit._io.write_table

    def fail_on_surveys(frame, path):
        if "surveys" in str(path):
            raise OutputPathError("The output path cannot be written: the disk is full.")
        return real(frame, path)

    monkeypatch.setattr(toolkit._io, "write_table", fail_on_surveys)
    out = tmp_path / "sim"
    if existing:
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    result = runner.invoke(
        app, ["simulate", "--mentors", "6", "--mentees", "5", "--weeks", "4", "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    assert "disk is full" in result.stderr
    if existing:
        assert [p.name for p in out.iterdir()] == ["notes.txt"]
    else:
        assert list(tmp_path.iterdir()) == []
