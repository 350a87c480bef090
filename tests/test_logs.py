"""Program logs: the data contract, its one-sentence problems, column mapping, privacy."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from toolkit._columns import ColumnMapping
from toolkit.errors import InvalidParameterError
from toolkit.logs import MAX_PROBLEMS, MIN_PAIRS, LogsError, read_logs

EXAMPLE = Path(__file__).resolve().parents[1] / "synthetic_data" / "program_logs"
TODAY = dt.date(2026, 12, 1)


def _copy(tmp_path: Path) -> Path:
    out = tmp_path / "logs"
    shutil.copytree(EXAMPLE, out)
    return out


def _frames(folder: Path) -> dict[str, pd.DataFrame]:
    return {
        n: pd.read_csv(folder / f"{n}.csv", dtype=str, keep_default_na=False)
        for n in ("meetings", "checkins", "pairs")
    }


def _write(folder: Path, frames: dict[str, pd.DataFrame]) -> None:
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False)


def test_the_example_logs_read_cleanly_in_weeks():
    logs = read_logs(EXAMPLE, today=TODAY)
    t = logs.tables()
    assert len(t.pairs) == 60 and set(t.pairs["cadence"]) == {"weekly", "biweekly"}
    assert t.pairs["observed_weeks"].between(1, 26).all()
    assert t.meetings["week"].between(1, 26).all()
    assert t.checkins["rating"].between(1, 5).all()
    assert logs.minutes == 60.0
    # a closed pair is observed up to its closing week, and nothing of it comes after
    closed = t.pairs[t.pairs["closed_week"] > 0]
    assert (closed["observed_weeks"] == closed["closed_week"]).all()
    last = t.meetings.groupby("pair")["week"].max()
    assert (last <= t.pairs.set_index("pair")["observed_weeks"].reindex(last.index)).all()


def test_every_problem_is_named_once_in_one_error(tmp_path):
    folder = _copy(tmp_path)
    f = _frames(folder)
    p1, p2 = f["pairs"].loc[0, "pair"], f["pairs"].loc[1, "pair"]
    start1 = dt.date.fromisoformat(f["pairs"].loc[0, "start"])
    f["meetings"].loc[0] = [p1, "2027-05-01", "yes", "60"]  # future
    f["meetings"].loc[1] = [p1, (start1 - dt.timedelta(days=3)).isoformat(), "no", ""]
    f["meetings"].loc[2] = ["NOPE", "2026-02-02", "yes", "60"]  # unknown pair
    f["meetings"].loc[3] = [p2, f["meetings"].loc[4, "date"], "maybe", "60"]  # bad held
    f["checkins"].loc[0, "rating"] = "7"  # off the scale
    f["checkins"] = pd.concat([f["checkins"], f["checkins"].iloc[[1]]], ignore_index=True)
    ended = f["pairs"].index[f["pairs"]["end"] != ""][0]
    f["meetings"].loc[5] = [f["pairs"].loc[ended, "pair"], "2026-06-29", "yes", "60"]
    f["pairs"].loc[2, "cadence"] = "fortnightly"
    _write(folder, f)
    with pytest.raises(LogsError) as err:
        read_logs(folder, today=TODAY)
    problems = err.value.problems
    text = " ".join(problems)
    assert "meetings table, line 2, column 'date': the date 2027-05-01 is in the future" in text
    assert "meetings table, line 3: the date" in text and "before the pair's start" in text
    assert "meetings table, line 4, names a pair that is not in the pairs table" in text
    assert "meetings table, line 5, column 'held'" in text
    assert "checkins table, line 2, column 'rating': '7' is outside the scale 1-5" in text
    assert "repeats the pair and date of an earlier line" in text
    assert "is after the pair's end" in text
    assert "'fortnightly' is not a cadence" in text
    assert all(p.endswith(".") and p.count(". ") == 0 for p in problems)
    assert isinstance(err.value, InvalidParameterError)
    assert str(err.value).startswith(f"The logs have {len(problems)} problems:")


def test_an_empty_table_too_few_pairs_and_a_long_program_are_refused(tmp_path):
    folder = _copy(tmp_path)
    (folder / "checkins.csv").write_text("pair,date,rating\n")
    with pytest.raises(LogsError, match="checkins table .* is empty"):
        read_logs(folder, today=TODAY)
    folder = _copy(tmp_path / "b")
    f = _frames(folder)
    keep = set(f["pairs"]["pair"].iloc[: MIN_PAIRS - 1])
    f = {n: fr[fr["pair"].isin(keep)] for n, fr in f.items()}
    _write(folder, f)
    with pytest.raises(
        LogsError, match=f"lists {MIN_PAIRS - 1} pairs; a fit needs at least {MIN_PAIRS} pairs"
    ):
        read_logs(folder, today=TODAY)
    folder = _copy(tmp_path / "c")
    f = _frames(folder)
    f["pairs"].loc[0, "start"] = "2023-06-01"
    _write(folder, f)
    with pytest.raises(LogsError, match="the model's horizon is 104 weeks"):
        read_logs(folder, today=TODAY)


def test_the_problem_list_is_capped_in_the_message(tmp_path):
    folder = _copy(tmp_path)
    f = _frames(folder)
    f["checkins"]["rating"] = "9"
    _write(folder, f)
    with pytest.raises(LogsError) as err:
        read_logs(folder, today=TODAY)
    n = len(err.value.problems)
    assert n > MAX_PROBLEMS
    assert f"(and {n - MAX_PROBLEMS} more)" in str(err.value)


def _platform_export(folder: Path) -> None:
    """The example logs as a platform would export them: its own headers and words, plus
    personal columns."""
    f = _frames(folder)
    m = f["meetings"].rename(
        columns={
            "pair": "Match ID",
            "date": "Session Date",
            "held": "Status",
            "minutes": "Duration",
        }
    )
    m["Status"] = m["Status"].map({"yes": "Completed", "no": "Cancelled"})
    m["Mentor Name"] = "Ada Lovelace"
    m["Notes"] = "talked about Grace Hopper's compiler"
    c = f["checkins"].rename(
        columns={"pair": "Match ID", "date": "Survey Date", "rating": "Health Score"}
    )
    c["Mentee Email"] = "grace.hopper@example.org"
    p = f["pairs"].rename(
        columns={
            "pair": "Match ID",
            "start": "Matched On",
            "cadence": "Meeting Frequency",
            "end": "Closed On",
            "reason": "Closure Reason",
        }
    )
    p["Meeting Frequency"] = p["Meeting Frequency"].map(
        {"weekly": "Every week", "biweekly": "Every other week"}
    )
    p["Closure Reason"] = p["Closure Reason"].replace({"outside_event": "Moved away"})
    p["Mentee Name"] = "Grace Hopper"
    _write(folder, {"meetings": m, "checkins": c, "pairs": p})


MAPPING = {
    "columns": {
        "Match ID": "pair",
        "Session Date": "date",
        "Survey Date": "date",
        "Status": "held",
        "Duration": "minutes",
        "Health Score": "rating",
        "Matched On": "start",
        "Meeting Frequency": "cadence",
        "Closed On": "end",
        "Closure Reason": "reason",
    },
    "values": {
        "held": {"Completed": "yes", "Cancelled": "no"},
        "cadence": {"Every week": "weekly", "Every other week": "biweekly"},
        "reason": {"Moved away": "outside_event"},
    },
}


def test_platform_headers_read_after_mapping_and_equal_the_canonical_logs(tmp_path):
    folder = _copy(tmp_path)
    _platform_export(folder)
    mapped = read_logs(folder, ColumnMapping.from_dict(MAPPING), today=TODAY)
    plain = read_logs(EXAMPLE, today=TODAY)
    for name in ("pairs", "meetings", "checkins"):
        pd.testing.assert_frame_equal(getattr(mapped.tables(), name), getattr(plain.tables(), name))
    for frame in (mapped.meetings, mapped.checkins, mapped.pairs):
        assert not {"Mentor Name", "Notes", "Mentee Email", "Mentee Name"} & set(frame.columns)
        text = frame.to_csv()
        assert "Lovelace" not in text and "Hopper" not in text and "@" not in text


def test_an_unmapped_required_column_is_named_with_a_suggestion(tmp_path):
    folder = _copy(tmp_path)
    _platform_export(folder)
    with pytest.raises(LogsError) as err:
        read_logs(folder, today=TODAY)
    text = " ".join(err.value.problems)
    assert (
        "The meetings table has no column 'date' (did you mean 'Session Date'? map it "
        'with --column "Session Date=date").'
    ) in err.value.problems
    assert "did you mean 'Match ID'?" in text and "did you mean 'Health Score'?" in text
    assert "Lovelace" not in text and "Hopper" not in text and "@" not in text


def test_no_name_or_email_reaches_a_problem_message(tmp_path):
    folder = _copy(tmp_path)
    _platform_export(folder)
    f = _frames(folder)
    f["meetings"].loc[0, "Match ID"] = "Grace Hopper"  # a name where an id belongs
    f["checkins"].loc[0, "Match ID"] = "grace.hopper@example.org"
    _write(folder, f)
    with pytest.raises(LogsError) as err:
        read_logs(folder, ColumnMapping.from_dict(MAPPING), today=TODAY)
    text = " ".join(err.value.problems)
    assert "names a pair that is not in the pairs table" in text
    assert "Hopper" not in text and "hopper" not in text and "Lovelace" not in text


def test_a_missing_folder_and_file_are_one_sentence_each(tmp_path):
    with pytest.raises(LogsError, match="does not exist or is not a folder"):
        read_logs(tmp_path / "nowhere")
    folder = _copy(tmp_path)
    (folder / "pairs.csv").unlink()
    with pytest.raises(LogsError, match="pairs table .* does not exist"):
        read_logs(folder, today=TODAY)


def test_log_reasons_hold_the_engines_closure_reasons():
    # logs.py writes the engine's reasons out (reading logs does not import the engine)
    from toolkit._engine import CLOSURE_REASONS
    from toolkit.logs import LOG_REASONS

    assert LOG_REASONS == (*CLOSURE_REASONS, "other", "completed")
