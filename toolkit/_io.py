"""Table output with validated paths and atomic writes (temp file, then rename)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from toolkit.errors import OutputPathError

TABLE_FORMATS = (".csv", ".parquet")


def check_output_path(path: str | os.PathLike, *, formats: tuple[str, ...] = TABLE_FORMATS
                      ) -> Path:
    """Check that ``path`` can be written as a table before any work is done."""
    p = Path(path)
    if p.suffix.lower() not in formats:
        raise OutputPathError(
            f"The output path {str(p)!r} has extension {p.suffix or '(none)'!r}; "
            f"allowed extensions are {', '.join(formats)}."
        )
    if p.is_dir():
        raise OutputPathError(f"The output path {str(p)!r} is an existing directory; give a file name.")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise OutputPathError(f"The output path {str(p)!r} is in a directory that does not exist.")
    if not os.access(parent, os.W_OK):
        raise OutputPathError(f"The output path {str(p)!r} is in a directory that is not writable.")
    return p


def write_text(text: str, path: str | os.PathLike, *, formats: tuple[str, ...]) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically: a temporary file, then rename."""
    p = check_output_path(path, formats=formats)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def write_table(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``frame`` as CSV or Parquet (by extension), atomically.

    The data go to a temporary file beside the target, renamed into place only when
    complete, so an interrupted or failing write leaves nothing half-written.
    """
    p = check_output_path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent or ".")
    except OSError as exc:
        raise OutputPathError(
            f"The output path {str(p)!r} cannot be written ({exc.strerror.lower()})."
        ) from None
    os.close(fd)
    try:
        if p.suffix.lower() == ".csv":
            frame.to_csv(tmp, index=False, lineterminator="\n")
        else:
            frame.to_parquet(tmp, index=False)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p
