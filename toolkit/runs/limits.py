"""Bounds on what a run is given: parameter files read safely, texts, lists and nesting
kept to sizes no check, message or kernel has trouble with, and input paths that must be
regular files. Everything here refuses with one sentence before a kernel starts.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from toolkit._spec import canonical_json
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

# Bounds on what a parameter file and a value may hold: far above any real study (the
# longest real list has a dozen items), low enough that no check, message or kernel
# meets a value it cannot handle quickly.
MAX_FILE_BYTES = 64 * 1024
MAX_DEPTH = 4  # a mapping of lists of scalars (or of small mappings) is all a study takes
MAX_NODES = 5_000
MAX_TEXT = 1_000  # characters of one value (a -p assignment may be 4 times longer)
MAX_ITEMS = 100  # items of one list


def shown_path(path: object) -> str:
    """A path as messages show it: quoted, one line, cut after 300 characters."""
    return quote(str(path))


def regular_file(path: Path, what: str) -> os.stat_result:
    """``stat`` of ``path``, refused in one sentence unless it is an existing regular file
    (a FIFO or a device would block the reader; a too-long name raises in the OS)."""
    try:
        st = path.stat()
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            got = f"a name of {len(str(path)):,} characters, more than the file system allows"
        elif exc.errno in (errno.ENOENT, errno.ENOTDIR):
            got = shown_path(path)
        else:
            got = f"{shown_path(path)} ({(exc.strerror or type(exc).__name__).lower()})"
        raise InvalidParameterError(f"The {what} must be an existing file; got {got}.") from None
    if not stat.S_ISREG(st.st_mode):
        raise InvalidParameterError(
            f"The {what} must be a regular file; got {shown_path(path)}, which is a folder, pipe "
            "or device."
        )
    return st


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


def check_sizes(name: str, value: Any, study: str, *, owner: str | None = None) -> None:
    """Refuse a text longer than :data:`MAX_TEXT`, a list longer than :data:`MAX_ITEMS`,
    a list repeating an item, or values nested deeper than a study takes."""
    where = f"The {name!r} parameter of {owner or 'study ' + study}"

    def walk(v: Any, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise InvalidParameterError(
                f"{where} is nested more than {MAX_DEPTH} levels deep; a parameter is a "
                "value or a list of values."
            )
        if isinstance(v, str) and len(v) > MAX_TEXT:
            raise InvalidParameterError(
                f"{where} holds a text of {len(v):,} characters ({quote(v[:40])}...); at most "
                f"{MAX_TEXT:,} are allowed."
            )
        if isinstance(v, list | tuple):
            if len(v) > MAX_ITEMS:
                raise InvalidParameterError(
                    f"{where} lists {len(v):,} items; at most {MAX_ITEMS} are allowed."
                )
            for item in v:
                walk(item, depth + 1)
            seen: set[str] = set()
            for item in v:
                key = canonical_json(item)
                if key in seen:
                    raise InvalidParameterError(
                        f"{where} lists {quote(item)} more than once; give each item once."
                    )
                seen.add(key)
        elif isinstance(v, Mapping):
            if len(v) > MAX_ITEMS:
                raise InvalidParameterError(
                    f"{where} has {len(v):,} keys; at most {MAX_ITEMS} are allowed."
                )
            for k, item in v.items():
                walk(k, depth + 1)
                walk(item, depth + 1)

    walk(value, 1)


def read_parameter_file(path: str | os.PathLike) -> dict[str, Any]:
    """The mapping a YAML or JSON parameter file holds, read safely.

    Refused in one sentence, before anything is built from it: a path that is not a
    regular file, more than :data:`MAX_FILE_BYTES` bytes, bytes that are not UTF-8 text,
    YAML aliases (``*name``: the "billion laughs" expansion), nesting deeper than
    :data:`MAX_DEPTH` or more than :data:`MAX_NODES` values, and texts and lists over
    the bounds of :func:`check_sizes`. The YAML event stream is read first (PyYAML's
    parser keeps a stack, not recursion, so a deep file costs nothing); only a file that
    passes is loaded with ``yaml.safe_load``. Written by hand because PyYAML offers no
    limit on aliases or depth.
    """
    import yaml

    p = Path(path)
    what = "parameter file"
    st = regular_file(p, "parameter file (-f)")
    if st.st_size > MAX_FILE_BYTES:
        raise InvalidParameterError(
            f"The {what} {shown_path(p)} has {st.st_size:,} bytes; at most {MAX_FILE_BYTES:,} are "
            "allowed."
        )
    try:
        with p.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise InvalidParameterError(
            f"The {what} {shown_path(p)} cannot be read: {(exc.strerror or str(exc)).lower()}."
        ) from None
    try:
        if b"\0" in raw or len(raw) > MAX_FILE_BYTES:
            raise UnicodeError
        text = raw.decode("utf-8")
    except UnicodeError:
        raise InvalidParameterError(
            f"The {what} {shown_path(p)} is not a text file (YAML or JSON in UTF-8)."
        ) from None
    depth = nodes = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise InvalidParameterError(
                    f"The {what} {shown_path(p)} uses a YAML alias (*name); parameter files "
                    "may not, write each value out."
                )
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise InvalidParameterError(
                        f"The {what} {shown_path(p)} is nested more than {MAX_DEPTH} levels deep; "
                        "it holds a mapping of parameter names to values or lists."
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.ScalarEvent):
                nodes += 1
                if nodes > MAX_NODES:
                    raise InvalidParameterError(
                        f"The {what} {shown_path(p)} holds more than {MAX_NODES:,} values."
                    )
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidParameterError(
            f"The {what} {shown_path(p)} is not valid YAML or JSON ({quote(first)[1:-1]})."
        ) from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise InvalidParameterError(
            f"The {what} {shown_path(p)} must hold a mapping of parameter names to values; got "
            f"a {type(data).__name__}."
        )
    for key, value in data.items():
        if not isinstance(key, str):
            raise InvalidParameterError(
                f"The {what} {shown_path(p)} has the key {quote(key)}; parameter names are text."
            )
        check_sizes(key, value, "", owner=f"the {what} {shown_path(p)}")
    return dict(data)
