"""Table output: safe CSV cells that read back exactly, file modes, staged folders."""

from __future__ import annotations

import csv
import os
import stat

import numpy as np
import pandas as pd
import pytest

from toolkit._io import (
    FORMULA_TRIGGERS,
    check_output_path,
    read_table,
    staged_folder,
    write_table,
    write_text,
)
from toolkit.errors import OutputPathError

HOSTILE = [
    "=cmd|' /C calc'!A0",
    "+m2",
    "-2+3",
    "@e1",
    "\tx",
    "\ry",
    '=HYPERLINK("http://example.org")',
    "'quoted",
    "''twice",
    "plain",
    "a=b",
]


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": HOSTILE,
            "score": np.linspace(-1, 1, len(HOSTILE)),
            "n": np.arange(-5, len(HOSTILE) - 5),
        }
    )


def test_csv_text_cells_cannot_start_a_formula(tmp_path):
    path = write_table(_frame(), tmp_path / "t.csv")
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    for row in rows[1:]:
        assert not row[0].startswith(FORMULA_TRIGGERS), row
    ids = [row[0] for row in rows[1:]]
    assert ids[0] == "'=cmd|' /C calc'!A0" and ids[-2:] == ["plain", "a=b"]
    # Numbers are untouched: negative values stay numbers, not text.
    assert [row[2] for row in rows[1:3]] == ["-5", "-4"]
    assert rows[1][1].startswith("-1")


def test_reading_back_gives_the_original_text(tmp_path):
    frame = _frame()
    back = read_table(write_table(frame, tmp_path / "t.csv"))
    assert back["id"].tolist() == HOSTILE
    pd.testing.assert_series_equal(back["n"], frame["n"])
    np.testing.assert_allclose(back["score"], frame["score"])


def test_parquet_keeps_raw_values(tmp_path):
    frame = _frame()
    back = read_table(write_table(frame, tmp_path / "t.parquet"))
    assert back["id"].tolist() == HOSTILE


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_written_files_get_the_mode_of_a_plain_write(tmp_path, ext):
    old = os.umask(0o022)
    try:
        path = write_table(_frame(), tmp_path / f"t.{ext}")
        text = write_text("{}", tmp_path / "t.json", formats=(".json",))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert stat.S_IMODE(text.stat().st_mode) == 0o644


def test_mode_follows_the_umask(tmp_path):
    old = os.umask(0o077)
    try:
        path = write_table(_frame(), tmp_path / "t.csv")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_unwritable_folder_is_found_by_creating_a_file(tmp_path):
    """/proc exists and is a folder, yet accepts no new file: say so, not 'no such file'."""
    with pytest.raises(OutputPathError) as info:
        check_output_path("/proc/rmt-x.csv")
    message = str(info.value)
    assert "'/proc' does not accept new files" in message
    assert "no such file" not in message.lower()


def test_staged_folder_leaves_nothing_behind_on_failure(tmp_path):
    target = tmp_path / "new" / "out"
    with pytest.raises(RuntimeError), staged_folder(target) as stage:
        write_table(_frame(), stage / "a.csv")
        raise RuntimeError("the second table failed")
    assert list(tmp_path.iterdir()) == []

    existing = tmp_path / "old"
    existing.mkdir()
    (existing / "keep.txt").write_text("x")
    with pytest.raises(RuntimeError), staged_folder(existing) as stage:
        write_table(_frame(), stage / "a.csv")
        raise RuntimeError("boom")
    assert [p.name for p in existing.iterdir()] == ["keep.txt"]


def test_staged_folder_moves_every_file_at_once(tmp_path):
    old = os.umask(0o022)
    try:
        with staged_folder(tmp_path / "a" / "b") as stage:
            write_table(_frame(), stage / "x.csv")
            write_table(_frame(), stage / "y.csv")
            assert not (tmp_path / "a").exists()  # nothing visible until all is written
    finally:
        os.umask(old)
    out = tmp_path / "a" / "b"
    assert sorted(p.name for p in out.iterdir()) == ["x.csv", "y.csv"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
