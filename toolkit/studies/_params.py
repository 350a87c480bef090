"""Typed study parameters: declared once per study, checked once per process.

Parameters are declared once per study as a pydantic model deriving from
:class:`StudyParameters` (frozen, strict types, unknown names refused, every field with a
one-line ``description``). The same declaration checks values given in Python, on the
command line (``-p key=value``, strings), in a YAML/JSON file, and inside the kernel when
plain papermill runs the notebook (:meth:`StudyParameters.from_notebook`). Every refusal
is one sentence raised as :class:`~toolkit.errors.InvalidParameterError`.

>>> from typing import Literal
>>> from pydantic import Field
>>> class Demo(StudyParameters):
...     study = "demo"
...     replicates: int = Field(10, ge=1, le=1000, description="Replicates per arm.")
...     arms: tuple[Literal["weekly", "monthly"], ...] = Field(
...         ("weekly",), description="Cadences to compare.")
>>> Demo.from_strings(["replicates=5", "arms=weekly,monthly"]).arms
('weekly', 'monthly')
>>> Demo.from_values({"replicates": 0})
Traceback (most recent call last):
...
toolkit.errors.InvalidParameterError: The 'replicates' parameter of study demo must be an int in the range [1, 1000]; got 0.
>>> Demo.from_values({"arms": ["weekly", "fortnightly"]})
Traceback (most recent call last):
...
toolkit.errors.InvalidParameterError: The 'arms' parameter of study demo must be a list of values each one of 'weekly', 'monthly'; got 'fortnightly' (item 2 of ['weekly', 'fortnightly']).
>>> Demo.from_values({"replicate": 5})
Traceback (most recent call last):
...
toolkit.errors.InvalidParameterError: Study demo has no parameter 'replicate'; its parameters are 'seed', 'replicates', 'arms'.

A notebook's first code cell (tagged ``parameters``) assigns the defaults; the next cell
validates them, so the notebook has no logic of its own::

    study_params = meeting_cadence.Parameters.from_notebook(globals())
"""

from __future__ import annotations

import enum
import functools
import hashlib
import json
import operator
import os
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import annotated_types as at
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from toolkit._seeding import MAX_SEED
from toolkit._validation import fail
from toolkit.errors import InvalidParameterError

__all__ = ["Cadence", "Capacity", "Choice", "CohortGroup", "Policy", "RobustnessGroup",
           "RosterGroup", "StudyParameters", "cadences", "canonical_json", "choice", "cli_text",
           "is_list_annotation", "parse_value", "policies"]


def canonical_json(value: Any) -> str:
    """Canonical JSON (sorted keys, no spaces, ASCII) used for fingerprints."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(annotation without Optional, whether None is allowed)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        return functools.reduce(operator.or_, args), optional
    return annotation, False


def is_list_annotation(annotation: Any) -> bool:
    """Whether a field's annotation is a list/tuple type (optionally Optional)."""
    return typing.get_origin(_unwrap(annotation)[0]) in (tuple, list)


def _item_type(annotation: Any) -> Any:
    args = typing.get_args(_unwrap(annotation)[0])
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


def _allowed_text(info: Any) -> str:
    """What a field accepts, in words ("an int in the range [1, 1000]")."""
    annotation, optional = _unwrap(info.annotation)
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


def _type_text(info: Any) -> str:
    """Short type name for help listings ("int", "list of str", "str or none")."""
    annotation, optional = _unwrap(info.annotation)
    if is_list_annotation(annotation):
        item = _item_type(annotation)
        name = "list of " + ("str" if _options(item) is not None else getattr(item, "__name__", "value"))
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
    base, optional = _unwrap(annotation)
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


class StudyParameters(BaseModel):
    """Base class of every study's typed parameters (set ``study`` to the study's name).

    Subclasses declare fields with ``Field(default, description=..., ge=..., le=...)``;
    lists are declared as ``tuple[...]`` (frozen) and accept lists from JSON or YAML.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    study: ClassVar[str] = "study"

    seed: int = Field(0, ge=0, le=MAX_SEED, description="Root seed: the same seed gives the same numbers.")

    # -- construction ---------------------------------------------------------------
    @classmethod
    def _owner(cls) -> str:
        return f"study {cls.study}"

    @classmethod
    def _refuse_unknown(cls, names: Iterable[str]) -> None:
        # the host side's old name (toolkit.runner); it moves to refuse_unknown
        cls.refuse_unknown(names)

    @classmethod
    def refuse_unknown(cls, names: Iterable[str]) -> None:
        """Refuse any name that is not a parameter of the study (one sentence)."""
        for name in names:
            if name not in cls.model_fields:
                raise InvalidParameterError(
                    f"Study {cls.study} has no parameter {name!r}; its parameters are "
                    + ", ".join(repr(n) for n in cls.model_fields) + ".")

    @classmethod
    def from_values(cls, values: Mapping[str, Any] | None = None, **more: Any) -> StudyParameters:
        """Validate Python values (lists become tuples); one-sentence error otherwise."""
        merged = {**(dict(values) if values else {}), **more}
        cls.refuse_unknown(merged)
        clean = {}
        for name, value in merged.items():
            if is_list_annotation(cls.model_fields[name].annotation) and isinstance(value, list):
                value = tuple(value)
            clean[name] = value
        try:
            return cls(**clean)
        except ValidationError as exc:
            raise cls._sentence(exc, clean) from None

    @classmethod
    def from_strings(cls, assignments: Iterable[str] | Mapping[str, Any],
                     base: Mapping[str, Any] | None = None) -> StudyParameters:
        """Validate ``key=value`` strings (the CLI's ``-p``) on top of ``base`` values."""
        if isinstance(assignments, Mapping):
            pairs = list(assignments.items())
        else:
            pairs = []
            for item in assignments:
                if not isinstance(item, str) or "=" not in item:
                    raise InvalidParameterError(
                        f"Parameters of study {cls.study} are given as key=value; got {item!r}.")
                key, value = item.split("=", 1)
                pairs.append((key.strip(), value))
        cls.refuse_unknown(k for k, _ in pairs)
        values = dict(base or {})
        for key, value in pairs:
            values[key] = parse_value(value, cls.model_fields[key].annotation)
        return cls.from_values(values)

    @classmethod
    def from_file(cls, path: str | os.PathLike, overrides: Iterable[str] = ()) -> StudyParameters:
        """Values from a YAML or JSON mapping file, then ``key=value`` overrides."""
        import yaml

        p = Path(path)
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InvalidParameterError(
                f"The parameter file {str(p)!r} cannot be read ({exc.strerror or exc}).") from None
        except yaml.YAMLError as exc:
            first = str(exc).splitlines()[0]
            raise InvalidParameterError(
                f"The parameter file {str(p)!r} is not valid YAML or JSON ({first}).") from None
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise InvalidParameterError(
                f"The parameter file {str(p)!r} must hold a mapping of parameter names to "
                f"values; got a {type(data).__name__}.")
        cls.refuse_unknown(data)
        base = {k: parse_value(v, cls.model_fields[k].annotation) if isinstance(v, str) else v
                for k, v in data.items()}
        return cls.from_strings(list(overrides), base=base)

    @classmethod
    def from_notebook(cls, namespace: Mapping[str, Any]) -> StudyParameters:
        """Validate the parameters a notebook's ``parameters`` cell (and papermill) set.

        Papermill passes some values as strings (``-p cadences weekly,monthly``): they are
        parsed like command-line values. Names not declared by the study are ignored
        here (a notebook namespace holds other things); papermill's own check of unknown
        names only logs, so :func:`toolkit.runner.run_study` refuses them beforehand.
        """
        values = {}
        for name, info in cls.model_fields.items():
            if name in namespace:
                value = namespace[name]
                if isinstance(value, str) and _unwrap(info.annotation)[0] is not str:
                    value = parse_value(value, info.annotation)
                values[name] = value
        return cls.from_values(values)

    @classmethod
    def _sentence(cls, exc: ValidationError, values: Mapping[str, Any]) -> InvalidParameterError:
        err = exc.errors(include_url=False)[0]
        loc = err.get("loc", ())
        name = str(loc[0]) if loc else "?"
        if err["type"] == "extra_forbidden":
            cls.refuse_unknown([name])
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, InvalidParameterError):  # a study's own cross-field check
            return cause
        info = cls.model_fields.get(name)
        if info is None:  # a model-level check: its message is already a sentence
            return InvalidParameterError(f"The parameters of {cls._owner()} are inconsistent: "
                                         f"{err['msg']}.")
        allowed = _allowed_text(info)
        value = values.get(name, err.get("input"))
        if len(loc) > 1 and isinstance(loc[1], int) and isinstance(value, tuple | list):
            shown = list(value)
            return InvalidParameterError(
                f"The {name!r} parameter of {cls._owner()} must be {allowed}; got "
                f"{err.get('input')!r} (item {loc[1] + 1} of {shown!r}).")
        if err["type"] in ("value_error", "assertion_error"):
            msg = str(err.get("ctx", {}).get("error", err["msg"]))
            return InvalidParameterError(
                f"The {name!r} parameter of {cls._owner()} must be {allowed}; got {value!r} ({msg}).")
        if isinstance(value, tuple):
            value = list(value)
        return fail(name, cls._owner(), allowed, value)

    # -- views ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (tuples as lists), in declaration order."""
        return self.model_dump(mode="json")

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of ``{"study": ..., "parameters": to_dict()}``."""
        payload = {"study": self.study, "parameters": self.to_dict()}
        return hashlib.sha256(canonical_json(payload).encode()).hexdigest()

    def changed(self) -> dict[str, Any]:
        """The parameters that differ from their declared defaults (JSON-ready)."""
        defaults = type(self).defaults()
        return {k: v for k, v in self.to_dict().items() if defaults.get(k) != v}

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """The declared defaults, JSON-ready (checked once per class and process)."""
        return dict(_defaults(cls))

    @classmethod
    def describe(cls) -> list[dict[str, str]]:
        """One row per parameter: name, type, default, allowed values, help."""
        defaults = cls.defaults()
        return [{"name": n, "type": _type_text(i), "default": cli_text(defaults[n]),
                 "allowed": _allowed_text(i), "help": i.description or ""}
                for n, i in cls.model_fields.items()]

    def cli_args(self) -> list[str]:
        """``-p key=value`` arguments reproducing these parameters (non-defaults only)."""
        out = []
        for key, value in self.changed().items():
            out += ["-p", f"{key}={cli_text(value)}"]
        return out

    def command(self) -> str:
        """The exact ``rmt run`` command for these parameters (shell-quoted)."""
        import shlex

        return shlex.join(["rmt", "run", self.study, *self.cli_args()])


def cli_text(value: Any) -> str:
    """A value as written on the command line (lists as ``a,b``, None as ``none``)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(cli_text(v) for v in value)
    return str(value)



@functools.cache
def _defaults(cls: type[StudyParameters]) -> dict[str, Any]:
    return cls.model_validate({}).to_dict()


# --------------------------------------------------------------------------- vocabularies

def policies() -> tuple[str, ...]:
    """The matching policies registered now (``toolkit.matching.POLICIES``)."""
    from toolkit.matching import POLICIES

    return tuple(POLICIES)


def cadences() -> tuple[str, ...]:
    """The meeting cadences of ``toolkit.program.CADENCES``."""
    from toolkit.program import CADENCES

    return tuple(CADENCES)


def _max_capacity() -> int:
    from toolkit.matching import MAX_CAPACITY

    return MAX_CAPACITY


_POLICY, _CADENCE = Choice("policy", policies), Choice("cadence", cadences)
Policy = Annotated[str, AfterValidator(_POLICY), _POLICY]
Cadence = Annotated[str, AfterValidator(_CADENCE), _CADENCE]
Capacity = Annotated[int, Field(ge=1, le=_max_capacity(),
                                description="Most mentees a mentor may have at once.")]


# --------------------------------------------------------------------------- shared groups
# A study's Parameters derives from the groups it needs; their fields come first, in the
# order seed, cohort, roster, robustness, then the study's own.

class CohortGroup(StudyParameters):
    """The synthetic cohort's size."""

    n_mentors: int = Field(120, ge=2, le=5000, description="Mentors per synthetic cohort.")
    n_mentees: int = Field(100, ge=2, le=5000, description="Mentees per synthetic cohort (pairs).")


class RosterGroup(StudyParameters):
    """A roster of real people instead of the synthetic cohort."""

    roster: str | None = Field(None, description="Roster CSV of real people instead of a "
                               "synthetic cohort.")


class RobustnessGroup(StudyParameters):
    """The robustness check of the headline contrast (``toolkit.sensitivity``)."""

    robustness: bool = Field(True, description="Check the headline contrast over the model's "
                             "assumption ranges (Morris screening).")
    robustness_trajectories: int = Field(2, ge=2, le=50, description="Morris trajectories of the "
                                         "robustness check (more: finer, slower).")
