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

    study = MeetingCadence.from_notebook(globals())
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, ClassVar, Literal  # noqa: F401  (Literal: the docstring example)

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from toolkit._seeding import MAX_SEED
from toolkit._userfiles import read_parameter_file
from toolkit._validation import MAX_CAPACITY, fail
from toolkit.errors import InvalidParameterError
from toolkit.studies._fields import (
    Choice,
    allowed_text,
    canonical_json,
    choice,
    cli_text,
    is_list_annotation,
    parse_value,
    type_text,
    unwrap,
)

__all__ = [
    "Cadence",
    "Capacity",
    "Choice",
    "CohortGroup",
    "Policy",
    "RosterGroup",
    "StudyParameters",
    "cadences",
    "canonical_json",
    "choice",
    "cli_text",
    "is_list_annotation",
    "parse_value",
    "policies",
]


class StudyParameters(BaseModel):
    """Base class of every study's typed parameters (set ``study`` to the study's name).

    Subclasses declare fields with ``Field(default, description=..., ge=..., le=...)``;
    lists are declared as ``tuple[...]`` (frozen) and accept lists from JSON or YAML.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    study: ClassVar[str] = "study"

    #: Declared checks: a reference parameter -> the parameter listing the values it must be
    #: one of; a parameter -> the parameter it may not exceed.
    compared: ClassVar[dict[str, str]] = {}
    at_most: ClassVar[dict[str, str]] = {}

    seed: int = Field(
        0, ge=0, le=MAX_SEED, description="Root seed: the same seed gives the same numbers."
    )

    @model_validator(mode="after")
    def _declared_checks(self) -> StudyParameters:
        from toolkit.studies._common import must_be_compared

        for name, among in self.compared.items():
            must_be_compared(self.study, name, getattr(self, name), getattr(self, among), among)
        for name, bound in self.at_most.items():
            if getattr(self, name) > getattr(self, bound):
                raise InvalidParameterError(
                    f"The {name!r} parameter of study {self.study} must be at most {bound} "
                    f"({getattr(self, bound)}); got {getattr(self, name)!r}."
                )
        return self

    # -- construction ---------------------------------------------------------------
    @classmethod
    def _owner(cls) -> str:
        return f"study {cls.study}"

    @classmethod
    def refuse_unknown(cls, names: Iterable[str]) -> None:
        """Refuse any name that is not a parameter of the study (one sentence)."""
        for name in names:
            if name not in cls.model_fields:
                raise InvalidParameterError(
                    f"Study {cls.study} has no parameter {name!r}; its parameters are "
                    + ", ".join(repr(n) for n in cls.model_fields)
                    + "."
                )

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
    def from_strings(
        cls, assignments: Iterable[str] | Mapping[str, Any], base: Mapping[str, Any] | None = None
    ) -> StudyParameters:
        """Validate ``key=value`` strings (the CLI's ``-p``) on top of ``base`` values."""
        if isinstance(assignments, Mapping):
            pairs = list(assignments.items())
        else:
            pairs = []
            for item in assignments:
                if not isinstance(item, str) or "=" not in item:
                    raise InvalidParameterError(
                        f"Parameters of study {cls.study} are given as key=value; got {item!r}."
                    )
                key, value = item.split("=", 1)
                pairs.append((key.strip(), value))
        cls.refuse_unknown(k for k, _ in pairs)
        values = dict(base or {})
        for key, value in pairs:
            values[key] = parse_value(value, cls.model_fields[key].annotation)
        return cls.from_values(values)

    @classmethod
    def from_file(cls, path: str | os.PathLike, overrides: Iterable[str] = ()) -> StudyParameters:
        """Values from a YAML or JSON mapping file, then ``key=value`` overrides.

        The file is read with the bounds of :func:`toolkit._userfiles.read_parameter_file`
        (size, text, depth, no YAML aliases, lengths of values), as the host reads ``-f``.
        """
        data = read_parameter_file(path)
        cls.refuse_unknown(data)
        base = {
            k: parse_value(v, cls.model_fields[k].annotation) if isinstance(v, str) else v
            for k, v in data.items()
        }
        return cls.from_strings(list(overrides), base=base)

    @classmethod
    def from_notebook(cls, namespace: Mapping[str, Any]) -> StudyParameters:
        """Validate the parameters a notebook's ``parameters`` cell (and papermill) set.

        Papermill passes some values as strings (``-p cadences weekly,monthly``): they are
        parsed like command-line values. Names not declared by the study are ignored
        here (a notebook namespace holds other things); papermill's own check of unknown
        names only logs, so :func:`toolkit.runs.run_study` refuses them beforehand.
        """
        values = {}
        for name, info in cls.model_fields.items():
            if name in namespace:
                value = namespace[name]
                if isinstance(value, str) and unwrap(info.annotation)[0] is not str:
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
            return InvalidParameterError(
                f"The parameters of {cls._owner()} are inconsistent: {err['msg']}."
            )
        allowed = allowed_text(info)
        value = values.get(name, err.get("input"))
        if len(loc) > 1 and isinstance(loc[1], int) and isinstance(value, tuple | list):
            shown = list(value)
            return InvalidParameterError(
                f"The {name!r} parameter of {cls._owner()} must be {allowed}; got "
                f"{err.get('input')!r} (item {loc[1] + 1} of {shown!r})."
            )
        if err["type"] in ("value_error", "assertion_error"):
            msg = str(err.get("ctx", {}).get("error", err["msg"]))
            return InvalidParameterError(
                f"The {name!r} parameter of {cls._owner()} must be {allowed}; got {value!r} ({msg})."
            )
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
        return [
            {
                "name": n,
                "type": type_text(i),
                "default": cli_text(defaults[n]),
                "allowed": allowed_text(i),
                "help": i.description or "",
            }
            for n, i in cls.model_fields.items()
        ]

    def cli_args(self, **shown: Any) -> list[str]:
        """``-p key=value`` arguments reproducing these parameters (non-defaults only);
        ``shown`` replaces how a value is written (a roster's file name for its path)."""
        out = []
        for key, value in self.changed().items():
            out += ["-p", f"{key}={cli_text(shown.get(key, value))}"]
        return out

    def command(self, **shown: Any) -> str:
        """The exact ``rmt run`` command for these parameters (shell-quoted)."""
        import shlex

        return shlex.join(["rmt", "run", self.study, *self.cli_args(**shown)])


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


_POLICY, _CADENCE = Choice("policy", policies), Choice("cadence", cadences)
Policy = Annotated[str, AfterValidator(_POLICY), _POLICY]
Cadence = Annotated[str, AfterValidator(_CADENCE), _CADENCE]
Capacity = Annotated[
    int, Field(ge=1, le=MAX_CAPACITY, description="Most mentees a mentor may have at once.")
]


# --------------------------------------------------------------------------- shared groups
# A study's Parameters derives from the groups it needs; their fields come first, in the
# order seed, cohort, roster, models, then the study's own.


class CohortGroup(StudyParameters):
    """The synthetic cohort's size."""

    n_mentors: int = Field(120, ge=2, le=5000, description="Mentors per synthetic cohort.")
    n_mentees: int = Field(100, ge=2, le=5000, description="Mentees per synthetic cohort (pairs).")


class RosterGroup(StudyParameters):
    """A roster of real people instead of the synthetic cohort."""

    input_files: ClassVar[tuple[str, ...]] = ("roster",)  # checksummed by the host side
    roster: str | None = Field(
        None, description="Roster CSV of real people instead of a synthetic cohort."
    )


#: Seed streams of the across-model run: the verdict is checked on each of them.
SEED_STREAMS = 5


class ModelsGroup(StudyParameters):
    """The plausible models every headline contrast runs over (``toolkit.ensemble``)."""

    input_files: ClassVar[tuple[str, ...]] = ("models",)  # checksummed by the host side
    models: str | None = Field(
        None,
        description="Ensemble file of plausible models (written by "
        "rmt calibrate, or a fitted program's posterior); default: the "
        "committed ensemble.",
    )
    n_models: int = Field(
        500,
        ge=1,
        le=100_000,
        description="How many plausible models (the "
        "ensemble's first ones) every headline contrast runs over.",
    )
    model_replicates: int = Field(
        20,
        ge=SEED_STREAMS,
        le=1000,
        description="Simulated programs "
        "per arm and model in the across-model run (split into five "
        "seed streams).",
    )
    workers: int = Field(
        2,
        ge=1,
        le=64,
        description="Local processes running the simulations, at most the "
        "machine's cores (no effect on results).",
    )

    @model_validator(mode="after")
    def _models_file(self) -> ModelsGroup:
        from toolkit.studies._common import load_models

        if self.models is not None and self.models.strip().isdigit():
            raise InvalidParameterError(
                f"The 'models' parameter of {type(self)._owner()} must be an ensemble file "
                f"(a Parquet file written by rmt calibrate); got {self.models!r}: the number "
                "of models is set by n_models (at least 1)."
            )
        if self.models is not None:  # the default (committed) ensemble is read when used
            n = len(load_models(self.models))
            if self.n_models > n:
                raise InvalidParameterError(
                    f"The 'n_models' parameter of {type(self)._owner()} must be at most the "
                    f"{n} models of {self.models!r}; got {self.n_models}."
                )
        return self
