"""Declared parameter checks with scikit-learn style messages.

Each check raises :class:`~toolkit.errors.InvalidParameterError` with one sentence:
"The 'n_mentors' parameter of CohortSpec must be an int >= 1; got 0."
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from numbers import Integral, Real
from typing import Any, cast

import numpy as np

from toolkit.errors import InvalidParameterError

# The one upper bound on a mentor's capacity (mentees at once): match(), MatchSpec and every
# study's capacity parameter check against it (toolkit.matching.MAX_CAPACITY).
MAX_CAPACITY = 100

# Control characters (C0, DEL, C1), line and paragraph separators, and the format
# characters that reorder text (bidi controls): none may reach a message unescaped.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LONGEST = 300  # characters of a quoted value shown before it is cut with "..."


def one_line(text: str) -> str:
    r"""``text`` with every control character escaped, so it prints as one line.

    >>> print(one_line("x\nerror: forged line"))
    x\nerror: forged line
    """

    def escape(m: re.Match) -> str:
        c = m.group()
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(c, f"\\u{ord(c):04x}")

    return _CONTROL.sub(escape, str(text))


def quote(value: Any) -> str:
    r"""``repr(value)`` on one line (control characters escaped), cut after 300 characters.

    The way every message shows a value the user gave (ids, cells, parameters).

    >>> print(quote("A\r\nB"), quote(0.5))
    'A\r\nB' 0.5
    """
    text = one_line(repr(value))
    return text if len(text) <= _LONGEST else text[: _LONGEST - 3] + "..."


def fail(name: str, owner: str, allowed: str, value: Any) -> InvalidParameterError:
    """Build the one-sentence error for parameter ``name`` of ``owner``."""
    return InvalidParameterError(
        f"The {name!r} parameter of {owner} must be {allowed}; got {quote(value)}."
    )


def _bounds_text(low: float | None, high: float | None, closed: str) -> str:
    left = ">=" if closed in ("both", "left") else ">"
    right = "<=" if closed in ("both", "right") else "<"
    if low is not None and high is not None:
        lb = "[" if closed in ("both", "left") else "("
        rb = "]" if closed in ("both", "right") else ")"
        return f"in the range {lb}{low}, {high}{rb}"
    if low is not None:
        return f"{left} {low}"
    if high is not None:
        return f"{right} {high}"
    return "any value"


def check_int(
    value: Any, name: str, owner: str, *, low: int | None = None, high: int | None = None
) -> int:
    """Return ``value`` as int if it is an integer within [low, high]."""
    allowed = (
        f"an int {_bounds_text(low, high, 'both')}" if (low, high) != (None, None) else "an int"
    )
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise fail(name, owner, allowed, value)
    number = cast(int, value)  # an Integral: compared as it is, not converted
    if (low is not None and number < low) or (high is not None and number > high):
        raise fail(name, owner, allowed, value)
    return int(value)


def check_real(
    value: Any,
    name: str,
    owner: str,
    *,
    low: float | None = None,
    high: float | None = None,
    closed: str = "both",
) -> float:
    """Return ``value`` as float if it is a finite real number within the interval."""
    allowed = (
        "a finite number"
        if low is None and high is None
        else f"a finite number {_bounds_text(low, high, closed)}"
    )
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise fail(name, owner, allowed, value)
    number = cast(float, value)  # a Real: compared as it is, not converted
    lo_ok = low is None or (number >= low if closed in ("both", "left") else number > low)
    hi_ok = high is None or (number <= high if closed in ("both", "right") else number < high)
    if not (lo_ok and hi_ok):
        raise fail(name, owner, allowed, value)
    return float(value)


def check_option(value: Any, name: str, owner: str, options: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``options``."""
    options = list(options)
    if value not in options:
        raise fail(name, owner, "one of " + ", ".join(repr(o) for o in options), value)
    return value


def check_bool(value: Any, name: str, owner: str) -> bool:
    """Return ``value`` as bool if it is True or False (numpy bools included)."""
    if not isinstance(value, bool | np.bool_):
        raise fail(name, owner, "True or False", value)
    return bool(value)


def check_instance(
    value: Any, cls: type | tuple[type, ...], name: str, owner: str, *, allowed: str | None = None
) -> Any:
    """Return ``value`` if it is an instance of ``cls`` (the error names the type got)."""
    if not isinstance(value, cls):
        if allowed is None:
            classes = cls if isinstance(cls, tuple) else (cls,)
            allowed = " or ".join(f"a {c.__name__}" for c in classes)
        raise fail(name, owner, allowed, type(value).__name__)
    return value


def check_probability(value: Any, name: str, owner: str) -> float:
    """Return ``value`` as float if it is a probability in [0, 1]."""
    return check_real(value, name, owner, low=0.0, high=1.0)


def check_probabilities(
    values: Any, name: str, owner: str, *, size: int | None = None, normalize: bool = False
) -> tuple[float, ...]:
    """Validate a probability vector: each entry in [0, 1], summing to 1 (or renormalised).

    With ``normalize=True`` non-negative weights with a positive sum are accepted and
    rescaled; without it the entries must be in [0, 1] and sum to 1 within 1e-6.
    """
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise fail(name, owner, "a sequence of probabilities", values) from None
    what = f"{size} " if size is not None else ""
    if arr.ndim != 1 or arr.size == 0 or (size is not None and arr.size != size):
        raise fail(name, owner, f"a sequence of {what}probabilities", values)
    if not np.all(np.isfinite(arr)):
        raise fail(name, owner, "finite probabilities", values)
    if normalize:
        if np.any(arr < 0) or arr.sum() <= 0:
            raise fail(name, owner, "non-negative weights with a positive sum", values)
        arr = arr / arr.sum()
    else:
        if np.any(arr < 0) or np.any(arr > 1):
            raise fail(name, owner, "probabilities each in [0, 1]", values)
        if abs(arr.sum() - 1.0) > 1e-6:
            raise fail(
                name, owner, f"probabilities summing to 1 (they sum to {arr.sum():.6g})", values
            )
    return tuple(float(x) for x in arr)


def check_nonempty_strings(
    values: Any, name: str, owner: str, *, unique: bool = True
) -> tuple[str, ...]:
    """Validate a non-empty sequence of non-empty strings (unique unless told otherwise)."""
    if isinstance(values, str) or not isinstance(values, Sequence | tuple | list):
        raise fail(name, owner, "a non-empty list of names", values)
    out = tuple(values)
    if not out or not all(isinstance(v, str) and v.strip() for v in out):
        raise fail(name, owner, "a non-empty list of non-empty names", values)
    if unique and len(set(out)) != len(out):
        raise fail(name, owner, "a list of distinct names", values)
    return out
