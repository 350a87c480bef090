"""Specifications as data: to_dict / from_dict / fingerprint for frozen dataclasses.

Every specification of the toolkit (:class:`~toolkit.cohort.CohortSpec`,
:class:`~toolkit.program.ProgramDesign`, :class:`~toolkit.experiment.MatchSpec`,
:class:`~toolkit.experiment.ExperimentSpec`, ...) is a frozen dataclass validated in
``__post_init__``. This module turns any of them into plain JSON/YAML data and back, and
hashes that data into a content fingerprint:

- :func:`to_plain` -- a spec (or any nesting of specs, tuples, dicts, scalars) as plain
  data: dicts with string keys, lists, str, int, float, bool, None;
- :func:`from_plain` -- build a spec from plain data, refusing unknown keys with one
  sentence that says where (``experiment.arms.weekly.design``) and lists the valid keys;
- :func:`fingerprint` -- sha256 of the canonical JSON of the plain data (sorted keys, no
  whitespace): equal specs give equal fingerprints in any process and Python version.

>>> from toolkit.program import ProgramDesign
>>> d = ProgramDesign(cadence="weekly")
>>> from_plain(ProgramDesign, to_plain(d)) == d, fingerprint(d) == fingerprint(ProgramDesign(cadence="weekly"))
(True, True)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from toolkit.errors import InvalidParameterError

# A nested field's decoder: (plain value, where) -> value.
Decoder = Callable[[Any, str], Any]


def to_plain(value: Any) -> Any:
    """Plain JSON-able data for a spec, a nesting of specs, or a scalar."""
    if hasattr(value, "to_dict") and dataclasses.is_dataclass(value):
        return value.to_dict()  # type: ignore[union-attr]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.name.startswith("_")
        }
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [to_plain(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            raise InvalidParameterError(
                f"A specification holds the non-finite number {value!r}; "
                "only finite numbers can be saved."
            )
        return float(value)
    if value is None or isinstance(value, str):
        return value
    raise InvalidParameterError(
        f"A specification holds {type(value).__name__} {value!r}, which cannot be saved as "
        "data; use names, numbers, lists and mappings."
    )


def tuples(value: Any) -> Any:
    """Lists (from JSON/YAML) as tuples, recursively; mappings keep their keys."""
    if isinstance(value, list | tuple):
        return tuple(tuples(v) for v in value)
    if isinstance(value, Mapping):
        return {k: tuples(v) for k, v in value.items()}
    return value


def check_keys(data: Any, cls: type, where: str) -> dict[str, Any]:
    """``data`` as a dict whose keys are all fields of ``cls`` (one sentence otherwise)."""
    valid = [f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")]
    if not isinstance(data, Mapping):
        raise InvalidParameterError(
            f"The {where!r} entry must be a mapping with keys among {', '.join(valid)}; "
            f"got {type(data).__name__} {data!r}."
        )
    unknown = [k for k in data if k not in valid]
    if unknown:
        raise InvalidParameterError(
            f"Unknown key {unknown[0]!r} in {where}; valid keys are {', '.join(valid)}."
        )
    return dict(data)


def from_plain(
    cls: type, data: Any, where: str | None = None, nested: Mapping[str, Decoder] | None = None
) -> Any:
    """Build ``cls`` from plain data: unknown keys refused, lists become tuples, nested
    fields decoded by ``nested[name](value, where.name)``; ``cls`` validates the rest."""
    where = where or cls.__name__
    kwargs = check_keys(data, cls, where)
    nested = nested or {}
    for key, value in kwargs.items():
        kwargs[key] = (
            nested[key](value, f"{where}.{key}")
            if key in nested and value is not None
            else tuples(value)
        )
    try:
        return cls(**kwargs)
    except InvalidParameterError as exc:
        if where == cls.__name__:
            raise
        raise InvalidParameterError(f"In {where}: {exc}") from None


def canonical_json(value: Any) -> str:
    """The canonical JSON text of a spec's plain data (sorted keys, no whitespace)."""
    return json.dumps(
        to_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )


def fingerprint(value: Any) -> str:
    """A 16-hex-digit content hash of a spec: equal specs, equal fingerprints, anywhere."""
    return hashlib.sha256(canonical_json(value).encode("ascii")).hexdigest()[:16]


def dumps(value: Any, fmt: str = "yaml") -> str:
    """A spec as YAML (block style, keys in declaration order) or indented JSON text."""
    plain = to_plain(value)
    if fmt == "json":
        return json.dumps(plain, indent=2, allow_nan=False) + "\n"
    import yaml

    return yaml.safe_dump(plain, sort_keys=False, default_flow_style=False, allow_unicode=True)


def loads(text: str, what: str = "specification") -> Any:
    """Plain data from JSON or YAML text, with one sentence on a syntax error.

    JSON is read as JSON first: YAML 1.1 would read a number such as ``1e-12`` (no dot)
    as a string.
    """
    import yaml

    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InvalidParameterError(f"The {what} is not valid YAML or JSON{at}.") from None


def read_text(path: str | Path, what: str) -> str:
    p = Path(path)
    if not p.is_file():
        raise InvalidParameterError(f"The {what} file {str(p)!r} does not exist.")
    return p.read_text(encoding="utf-8")


class Spec:
    """Mixin for frozen dataclass specs: ``to_dict``, ``from_dict``, ``fingerprint``,
    ``to_yaml``/``to_json``. A subclass names decoders of nested specs in ``_nested``."""

    _nested: dict[str, Decoder] = {}

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON/YAML-able); ``from_dict`` of it gives an equal spec."""
        return {
            f.name: to_plain(getattr(self, f.name))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]  # subclasses are dataclasses
            if not f.name.startswith("_")
        }

    @classmethod
    def from_dict(cls, data: Any, where: str | None = None) -> Any:
        """Build from plain data; unknown keys are refused naming where and the valid keys."""
        return from_plain(cls, data, where, cls._nested_decoders())

    @classmethod
    def _nested_decoders(cls) -> dict[str, Decoder]:
        return dict(cls._nested)

    @property
    def fingerprint(self) -> str:
        """16 hex digits of sha256 over the canonical JSON of ``to_dict()``."""
        return fingerprint(self.to_dict())

    def to_yaml(self) -> str:
        return dumps(self.to_dict(), "yaml")

    def to_json(self) -> str:
        return dumps(self.to_dict(), "json")


def nested(cls: type[Spec]) -> Decoder:
    """A decoder for a nested spec field: an instance passes, plain data is decoded."""

    def decode(value: Any, where: str) -> Any:
        return value if isinstance(value, cls) else cls.from_dict(value, where)

    return decode
