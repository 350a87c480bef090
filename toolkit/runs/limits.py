"""Bounds on what a run is given, on the host side: the bounded, safe reader of parameter
files and the size checks live in :mod:`toolkit._userfiles` (the studies' ``from_file`` uses
the same ones); this module adds the bound on ``-p key=value`` assignments and the way
messages show a path. Everything here refuses with one sentence before a kernel starts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from toolkit._userfiles import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_ITEMS,
    MAX_NODES,
    MAX_TEXT,
    check_sizes,
    read_parameter_file,
    regular_file,
    shown_path,
)
from toolkit._validation import quote
from toolkit.errors import InvalidParameterError

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_ITEMS",
    "MAX_NODES",
    "MAX_TEXT",
    "check_assignments",
    "check_sizes",
    "read_parameter_file",
    "regular_file",
    "shown_path",
]


def check_assignments(items: Iterable[Any], study: str) -> list[Any]:
    """``key=value`` strings, each refused in one sentence if longer than allowed."""
    items = list(items)
    limit = 4 * MAX_TEXT
    for item in items:
        if isinstance(item, str) and len(item) > limit:
            raise InvalidParameterError(
                f"A parameter of study {study} is {len(item):,} characters long "
                f"({quote(item[:40])}...); at most {limit:,} are allowed."
            )
    return items
