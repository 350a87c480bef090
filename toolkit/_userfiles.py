"""Small YAML or JSON files people give the toolkit, read with bounds.

Parameter files (``rmt run -f``, ``Parameters.from_file``) and column-mapping files
(``rmt match --map``) are read here and nowhere else. Refused in one sentence, before
anything is built from them: a path that is not a regular file (a FIFO or a device would
block the reader), a file larger than its bound, bytes that are not UTF-8 text, YAML
aliases (``*name``: the "billion laughs" expansion), nesting deeper than
:data:`MAX_DEPTH` or more than :data:`MAX_NODES` values. The YAML event stream is read
first (PyYAML's parser keeps a stack, not recursion, so a deep file costs nothing); only
a file that passes is loaded with ``yaml.safe_load``. Written by hand because PyYAML
offers no limit on aliases or depth. A parameter's value is further bounded by
:func:`check_sizes` (text length, list length, repeated items), wherever it comes from.

>>> import tempfile, os
>>> with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as fh:
...     _ = fh.write("a: &x [1, 2]\\nb: *x\\n")
>>> read_yaml_file(fh.name, "parameter file")
Traceback (most recent call last):
...
toolkit.errors.InvalidParameterError: The parameter file '...' uses a YAML alias (*name); ...
>>> os.unlink(fh.name)
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping
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
    "check_sizes",
    "read_parameter_file",
    "read_yaml_file",
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


def _text(p: Path, what: str, max_bytes: int, st: os.stat_result) -> str:
    """The file's text (UTF-8, a BOM dropped), refused if larger than ``max_bytes``."""
    if st.st_size > max_bytes:
        raise InvalidParameterError(
            f"The {what} {shown_path(p)} has {st.st_size:,} bytes; at most {max_bytes:,} are allowed."
        )
    try:
        with p.open("rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InvalidParameterError(
            f"The {what} {shown_path(p)} cannot be read: {(exc.strerror or str(exc)).lower()}."
        ) from None
    try:
        if b"\0" in raw or len(raw) > max_bytes:
            raise UnicodeError
        return raw.decode("utf-8-sig")
    except UnicodeError:
        raise InvalidParameterError(
            f"The {what} {shown_path(p)} is not a text file (YAML or JSON in UTF-8)."
        ) from None


def _scan(text: str, p: Path, what: str, max_depth: int, max_nodes: int) -> None:
    """Refuse aliases, nesting deeper than ``max_depth`` and more than ``max_nodes``
    values, from the event stream (nothing is built)."""
    import yaml

    depth = nodes = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise InvalidParameterError(
                f"The {what} {shown_path(p)} uses a YAML alias (*name); it may not, write each "
                "value out."
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > max_depth:
                raise InvalidParameterError(
                    f"The {what} {shown_path(p)} is nested more than {max_depth} levels deep; "
                    "it holds a mapping of names to values or lists."
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(event, yaml.ScalarEvent):
            nodes += 1
            if nodes > max_nodes:
                raise InvalidParameterError(
                    f"The {what} {shown_path(p)} holds more than {max_nodes:,} values."
                )


def read_yaml_file(
    path: str | os.PathLike,
    what: str,
    *,
    file_what: str | None = None,
    max_bytes: int = MAX_FILE_BYTES,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_NODES,
) -> Any:
    """What the YAML or JSON file at ``path`` holds, read with the bounds of the module.

    ``what`` names the file in messages ("parameter file"); ``file_what`` names it when
    the path itself is wrong (default ``what``).
    """
    import yaml

    p = Path(path)
    st = regular_file(p, file_what or what)
    text = _text(p, what, max_bytes, st)
    try:
        _scan(text, p, what, max_depth, max_nodes)
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidParameterError(
            f"The {what} {shown_path(p)} is not valid YAML or JSON ({quote(first)[1:-1]})."
        ) from None


def read_parameter_file(
    path: str | os.PathLike, *, file_what: str = "parameter file"
) -> dict[str, Any]:
    """The mapping of parameter names to values a YAML or JSON file holds, read safely
    (:func:`read_yaml_file`), each value within the bounds of :func:`check_sizes`."""
    what = "parameter file"
    p = Path(path)
    data = read_yaml_file(p, what, file_what=file_what)
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
