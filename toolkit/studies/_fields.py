"""How a study parameter's annotation reads and parses: the words of an error or a help
line ("an int in the range [1, 2000]"), command-line strings to values, registry-backed
choices (:class:`Choice`), canonical JSON and command-line text."""

from __future__ import annotations

import enum
import functools
import operator
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import annotated_types as at
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from toolkit._spec import canonical_json  # specs own canonical JSON

__all__ = [
    "Choice",
    "allowed_text",
    "canonical_json",
    "choice",
    "cli_text",
    "is_list_annotation",
    "parse_value",
    "type_text",
    "unwrap",
]


def unwrap(annotation: Any) -> tuple[Any, bool]:
    """(annotation without Optional, whether None is allowed)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        return functools.reduce(operator.or_, args), optional
    return annotation, False


def is_list_annotation(annotation: Any) -> bool:
    """Whether a field's annotation is a list/tuple type (optionally Optional)."""
    return typing.get_origin(unwrap(annotation)[0]) in (tuple, list)


def _item_type(annotation: Any) -> Any:
    args = typing.get_args(unwrap(annotation)[0])
    return args[0] if args else str


@dataclass(frozen=True)
class Choice:
    """A string field whose allowed values come from a registry when a value is checked
    (``toolkit.matching.POLICIES``, ``toolkit.program.CADENCES``), so a policy registered
    at run time is accepted; the error lists the registry as it is then."""

    what: str
    options: Callable[[], Iterable[str]]

    def __call__(self, value: str) -> str:
        if value not in tuple(self.options()):
            raise PydanticCustomError("choice", "not a registered {what}", {"what": self.what})
        return value


def choice(what: str, options: Callable[[], Iterable[str]]) -> Any:
    """``Annotated[str, ...]`` accepting the names ``options()`` gives when checked."""
    marker = Choice(what, options)
    return Annotated[str, AfterValidator(marker), marker]


def _choice(annotation: Any, metadata: Iterable[Any] = ()) -> Choice | None:
    extra = typing.get_args(annotation)[1:] if typing.get_origin(annotation) is Annotated else ()
    return next((m for m in (*metadata, *extra) if isinstance(m, Choice)), None)


def _options(annotation: Any, metadata: Iterable[Any] = ()) -> list[Any] | None:
    marker = _choice(annotation, metadata)
    if marker is not None:
        return list(marker.options())
    if typing.get_origin(annotation) is Literal:
        return list(typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [m.value for m in annotation]
    return None


def _bounds(metadata: Iterable[Any]) -> str:
    low: Any = None
    high: Any = None
    lo_closed = hi_closed = True
    for m in metadata:
        if isinstance(m, at.Ge):
            low = m.ge
        elif isinstance(m, at.Gt):
            low, lo_closed = m.gt, False
        elif isinstance(m, at.Le):
            high = m.le
        elif isinstance(m, at.Lt):
            high, hi_closed = m.lt, False
    if low is not None and high is not None:
        return f" in the range {'[' if lo_closed else '('}{low}, {high}{']' if hi_closed else ')'}"
    if low is not None:
        return f" {'>=' if lo_closed else '>'} {low}"
    if high is not None:
        return f" {'<=' if hi_closed else '<'} {high}"
    return ""


def _scalar_text(annotation: Any, metadata: Iterable[Any] = ()) -> str:
    options = _options(annotation, metadata)
    if options is not None:
        return "one of " + ", ".join(repr(o) for o in options)
    if annotation is bool:
        return "true or false"
    if annotation is int:
        return "an int" + _bounds(metadata)
    if annotation is float:
        return "a number" + _bounds(metadata)
    if annotation is str:
        return "a string"
    return getattr(annotation, "__name__", str(annotation))


def allowed_text(info: Any) -> str:
    """What a field accepts, in words ("an int in the range [1, 1000]")."""
    annotation, optional = unwrap(info.annotation)
    if is_list_annotation(annotation):
        item = _item_type(annotation)
        text = f"a list of values each {_scalar_text(item)}"
        if _options(item) is None:
            text = f"a list of {_scalar_text(item)} values"
        length = [m for m in info.metadata if isinstance(m, at.MinLen)]
        if length and length[0].min_length == 1:
            text = "a non-empty " + text.removeprefix("a ")
        elif length and length[0].min_length > 1:
            text = f"a list of at least {length[0].min_length} " + text.removeprefix("a list of ")
    else:
        text = _scalar_text(annotation, info.metadata)
    return text + (" or none" if optional else "")


def type_text(info: Any) -> str:
    """Short type name for help listings ("int", "list of str", "str or none")."""
    annotation, optional = unwrap(info.annotation)
    if is_list_annotation(annotation):
        item = _item_type(annotation)
        name = "list of " + (
            "str" if _options(item) is not None else getattr(item, "__name__", "value")
        )
    elif _options(annotation, info.metadata) is not None:
        name = "str"
    else:
        name = getattr(annotation, "__name__", str(annotation))
    return name + (" or none" if optional else "")


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _parse_scalar(text: str, annotation: Any) -> Any:
    s = text.strip()
    if annotation is bool:
        if s.lower() in _TRUE:
            return True
        if s.lower() in _FALSE:
            return False
        return text
    if annotation is int:
        try:
            return int(s.replace("_", ""))
        except ValueError:
            return text
    if annotation is float:
        try:
            return float(s)
        except ValueError:
            return text
    return s


def parse_value(text: str, annotation: Any) -> Any:
    """Turn a command-line string into a value of ``annotation``'s shape.

    Lists may be written ``a,b``, as JSON (``["a", "b"]``) or as YAML (``[a, b]``); ``none``
    is None for optional fields. A string that does not parse is returned unchanged, so
    the validator reports it with the expected type.

    >>> parse_value("weekly, monthly", tuple[str, ...])
    ('weekly', 'monthly')
    >>> parse_value('["a", "b"]', tuple[str, ...]), parse_value("[1, 2]", tuple[int, ...])
    (('a', 'b'), (1, 2))
    >>> parse_value("12", int), parse_value("none", int | None), parse_value("x", float)
    (12, None, 'x')
    """
    if not isinstance(text, str):
        return text
    base, optional = unwrap(annotation)
    if optional and text.strip().lower() in ("none", "null", ""):
        return None
    if is_list_annotation(base):
        s = text.strip()
        if s.startswith("["):
            import yaml

            try:
                items = yaml.safe_load(s)
            except yaml.YAMLError:
                return text
            if not isinstance(items, list):
                return text
        else:
            items = [p for p in (q.strip() for q in s.split(",")) if p] if s else []
        item = _item_type(base)
        return tuple(_parse_scalar(i, item) if isinstance(i, str) else i for i in items)
    return _parse_scalar(text, base)


def cli_text(value: Any) -> str:
    """A value as written on the command line (lists as ``a,b``, None as ``none``)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(cli_text(v) for v in value)
    return str(value)
