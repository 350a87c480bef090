"""`rmt simulate`: writes the four tables; bad input exits 2 and writes nothing."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from toolkit.cli import app

runner = CliRunner()


def test_simulate_writes_four_tables(tmp_path):
    out = tmp_path / "sim"
    result = runner.invoke(app, ["simulate", "--mentors", "24", "--mentees", "20", "--seed", "3",
                                 "--preset", "bbbs_checkins", "--weeks", "12", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["events.csv", "outcomes.csv",
                                                     "surveys.csv", "weeks.csv"]
    outcomes = pd.read_csv(out / "outcomes.csv")
    weeks = pd.read_csv(out / "weeks.csv")
    assert len(outcomes) == 20 and len(weeks) == 20 * 12
    assert set(outcomes["arm"]) == {"bbbs_checkins"}
    # Monthly check-ins happened (weeks 4, 8, 12) and were recorded as events.
    events = pd.read_csv(out / "events.csv")
    assert set(events.loc[events["event"] == "checkin", "week"]) <= {4, 8, 12}


def test_simulate_same_seed_same_bytes(tmp_path):
    for name in ("a", "b"):
        runner.invoke(app, ["simulate", "--mentors", "12", "--mentees", "10", "--seed", "5",
                            "--weeks", "8", "--out", str(tmp_path / name)])
    for table in ("weeks", "outcomes", "surveys", "events"):
        assert (tmp_path / "a" / f"{table}.csv").read_bytes() == \
            (tmp_path / "b" / f"{table}.csv").read_bytes()


@pytest.mark.parametrize(("args", "words"), [
    (["--preset", "hartfort"], "'hartfort'"),
    (["--cadence", "daily"], "'daily'"),
    (["--weeks", "0"], "'duration_weeks'"),
    (["--format", "xlsx"], "'format'"),
    (["--policy", "best"], "'policy'"),
    (["--mentees", "0"], "'n_mentees'"),
])
def test_simulate_bad_input_exits_2_and_writes_nothing(tmp_path, args, words):
    out = tmp_path / "sim"
    result = runner.invoke(app, ["simulate", "--mentors", "6", "--mentees", "5", *args,
                                 "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert words in result.stderr and result.stderr.count("\n") == 1
    assert not out.exists()
