"""The study contract: typed parameters, the Study record, and the helpers a notebook calls.

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
import hashlib
import html
import json
import os
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import annotated_types as at
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolkit._seeding import MAX_SEED
from toolkit._validation import fail
from toolkit.errors import InvalidParameterError

__all__ = [
    "FINDINGS_FILE",
    "ROBUSTNESS_UNAVAILABLE",
    "Study",
    "StudyParameters",
    "canonical_json",
    "cli_text",
    "figure_html",
    "is_list_annotation",
    "output_dir",
    "parse_value",
    "read_findings",
    "robustness_check",
    "save_figure",
    "save_table",
    "show_figure",
    "show_findings",
    "show_html",
    "show_limitations",
    "show_methods",
    "show_parameters",
    "show_reproduce",
    "show_robustness",
    "show_table",
]

FINDINGS_FILE = "findings.json"
ROBUSTNESS_UNAVAILABLE = ("Robustness check not available in this version: the findings "
                          "hold for the model's default assumptions only.")
# Tables with at most this many rows are written as CSV too (readable in a spreadsheet).
SMALL_TABLE_ROWS = 5_000


# --------------------------------------------------------------------------- parameters

from toolkit._spec import canonical_json  # noqa: E402  re-export; the lead removes it after merging


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(annotation without Optional, whether None is allowed)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        return (args[0] if len(args) == 1 else typing.Union[tuple(args)]), optional
    return annotation, False


def is_list_annotation(annotation: Any) -> bool:
    """Whether a field's annotation is a list/tuple type (optionally Optional)."""
    return typing.get_origin(_unwrap(annotation)[0]) in (tuple, list)


def _item_type(annotation: Any) -> Any:
    args = typing.get_args(_unwrap(annotation)[0])
    return args[0] if args else str


def _options(annotation: Any) -> list[Any] | None:
    if typing.get_origin(annotation) is Literal:
        return list(typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [m.value for m in annotation]
    return None


def _bounds(metadata: Iterable[Any]) -> str:
    low = high = None
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
    options = _options(annotation)
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
    elif _options(annotation) is not None:
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
        for name in names:
            if name not in cls.model_fields:
                raise InvalidParameterError(
                    f"Study {cls.study} has no parameter {name!r}; its parameters are "
                    + ", ".join(repr(n) for n in cls.model_fields) + ".")

    @classmethod
    def from_values(cls, values: Mapping[str, Any] | None = None, **more: Any) -> StudyParameters:
        """Validate Python values (lists become tuples); one-sentence error otherwise."""
        merged = {**(dict(values) if values else {}), **more}
        cls._refuse_unknown(merged)
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
        cls._refuse_unknown(k for k, _ in pairs)
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
        cls._refuse_unknown(data)
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
            cls._refuse_unknown([name])
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
        """The declared defaults, JSON-ready."""
        return cls().to_dict()

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


# --------------------------------------------------------------------------- the record

def read_findings(run_dir: str | os.PathLike) -> list[str]:
    """The headline findings a run saved (``findings.json``), or [] if none."""
    p = Path(run_dir) / FINDINGS_FILE
    if not p.is_file():
        return []
    return list(json.loads(p.read_text(encoding="utf-8")).get("findings", []))


def _no_estimates(run_dir: str | os.PathLike) -> Any:
    import pandas as pd

    return pd.DataFrame(columns=["estimate_name", "estimate", "ci_low", "ci_high"])


@dataclass(frozen=True)
class Study:
    """A registered study.

    ``headline(run_dir)`` gives the plain-language headline findings of a finished run
    (default: the ones the notebook saved with :func:`show_findings`);
    ``estimates(run_dir)`` gives a tidy frame (``estimate_name, estimate, ci_low,
    ci_high``) of the numbers a sweep compares across runs.
    """

    name: str
    title: str
    question: str
    parameters: type[StudyParameters]
    notebook: Path
    headline: Callable[[Path], list[str]] = read_findings
    estimates: Callable[[Path], Any] = _no_estimates
    inputs: tuple[str, ...] = field(default=())  # parameters naming input files (checksummed)


# --------------------------------------------------------------------------- notebook helpers

def output_dir() -> Path:
    """The folder a study writes into: the kernel's working directory (the runner sets it
    to the run folder; with plain papermill it is ``--cwd`` or the current folder)."""
    return Path.cwd()


def show_html(markup: str) -> None:
    """Display raw (already escaped) HTML in the notebook and the report."""
    from IPython.display import HTML, display

    display(HTML(markup))


def save_table(frame: Any, name: str) -> Path:
    """Write a tidy table to ``tables/<name>.parquet`` (and ``.csv`` when small), atomically."""
    from toolkit._io import write_table

    if not name.replace("_", "").isalnum():
        raise fail("name", "save_table", "a snake_case name", name)
    folder = output_dir() / "tables"
    folder.mkdir(exist_ok=True)
    path = write_table(frame, folder / f"{name}.parquet")
    if len(frame) <= SMALL_TABLE_ROWS:
        write_table(frame, folder / f"{name}.csv")
    return path


def save_figure(fig: Any, name: str) -> Path:
    """Write a figure to ``figures/<name>.png`` (deterministic bytes: no timestamp)."""
    folder = output_dir() / "figures"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.png"
    tmp = folder / f".{name}.png.tmp"
    fig.savefig(tmp, format="png", dpi=110, metadata={"Software": None}, bbox_inches="tight")
    os.replace(tmp, path)
    return path


from toolkit.report import figure_html  # noqa: E402  re-export; the lead removes it after merging


def show_figure(fig: Any, name: str, caption: str, alt: str | None = None) -> Path:
    """Save a figure under ``figures/`` and show it with its caption and alt text."""
    import matplotlib.pyplot as plt

    path = save_figure(fig, name)
    show_html(figure_html(fig, caption, alt))
    plt.close(fig)
    return path


def show_table(frame: Any, caption: str, *, digits: int = 2, columns: Iterable[str] | None = None,
               save: str | None = None) -> None:
    """Show a table as an HTML table (numbers formatted by toolkit.report); optionally save it."""
    from toolkit.report import table_html

    if save:
        save_table(frame, save)
    show_html(table_html(frame, digits=digits, caption=caption, columns=columns))


def show_findings(findings: Iterable[str], *, robustness: str | None = None,
                  title: str = "Findings", more: Mapping[str, Iterable[str]] | None = None) -> None:
    """Show the plain-language findings first and save them to ``findings.json``.

    ``findings`` are the headline (the index page shows the first three); ``more`` adds
    titled lists of further findings inside the same section."""
    from toolkit.report import findings_html

    findings = [str(f) for f in findings]
    more = {str(k): [str(x) for x in v] for k, v in (more or {}).items()}
    p = output_dir() / FINDINGS_FILE
    tmp = p.with_name(f".{p.name}.tmp")
    tmp.write_text(json.dumps({"findings": findings, "more": more, "robustness": robustness},
                              indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, p)
    markup = findings_html(findings, title=title)
    if robustness:
        markup += f'<p class="robustness">{html.escape(robustness)}</p>'
    # Further findings fold away (plain HTML, no script), so the headline and its
    # robustness are what a reader sees first.
    for heading, items in more.items():
        markup += (f"<details><summary>{html.escape(heading)} ({len(items)} findings)"
                   f"</summary>{findings_html(items, title=None)}</details>")
    show_html(f'<section id="findings">{markup}</section>')


def robustness_check(spec: Any = None, contrast: Any = None, **kwargs: Any) -> Any:
    """The robustness of a contrast over the model's assumptions
    (:func:`toolkit.sensitivity.robustness`), or None when this version has no robustness
    analysis or no contrast is given. A report then says the check is not available
    rather than invent one."""
    import importlib

    try:
        sensitivity = importlib.import_module("toolkit.sensitivity")
    except ImportError:
        return None
    run = getattr(sensitivity, "robustness", None)
    if run is None or spec is None or contrast is None:
        return None
    return run(spec, contrast, progress=False, **kwargs)


def show_robustness(result: Any) -> str:
    """Show the robustness result (or that it is not available); returns the sentence."""
    text = ROBUSTNESS_UNAVAILABLE if result is None else str(result)
    show_html(f'<p class="robustness">{html.escape(text)}</p>')
    return text


def show_parameters(params: StudyParameters) -> None:
    """A table of every parameter, its value, and whether it was changed from the default."""
    import pandas as pd

    defaults = type(params).defaults()
    rows = [{"parameter": k, "value": cli_text(v).replace(",", ", "),
             "default": "yes" if defaults.get(k) == v else f"no (default {cli_text(defaults.get(k))})",
             "meaning": type(params).model_fields[k].description or ""}
            for k, v in params.to_dict().items() if k != "roster" or v is None]
    if params.to_dict().get("roster") is not None:
        rows.append({"parameter": "roster", "value": "a real roster file (checksum in the manifest)",
                     "default": "no (default none)", "meaning": "Participants read from a roster."})
    show_html(_plain_table(pd.DataFrame(rows), "Parameters of this run", css="estimates params"))


def _plain_table(frame: Any, caption: str, css: str = "estimates") -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return (f'<table class="{css}"><caption>{html.escape(caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def show_methods(*, aims: str, mechanism: str, estimands: Iterable[str], methods: str,
                 performance: str, params: StudyParameters | None = None) -> None:
    """The ADEMP methods section (aims, data-generating mechanism, estimands, methods,
    performance), with the parameters changed from their defaults."""
    esc = html.escape
    changed = ""
    if params is not None:
        diff = {k: v for k, v in params.changed().items() if k != "roster"}
        if "roster" in params.changed():
            diff["roster"] = "a real roster"
        changed = ("<p>Parameters changed from the defaults: "
                   + (esc(", ".join(f"{k} = {cli_text(v)}" for k, v in diff.items())) or "none")
                   + ".</p>")
    items = "".join(f"<li>{esc(e)}</li>" for e in estimands)
    show_html(
        '<section id="methods"><h2>Methods (ADEMP)</h2>'
        f"<h3>Aims</h3><p>{esc(aims)}</p>"
        f"<h3>Data-generating mechanism</h3><p>{esc(mechanism)}</p>{changed}"
        f"<h3>Estimands</h3><ul>{items}</ul>"
        f"<h3>Methods</h3><p>{esc(methods)}</p>"
        f"<h3>Performance</h3><p>{esc(performance)}</p></section>")


def show_limitations(limitations: Iterable[str]) -> None:
    """The assumptions the findings depend on, as a list."""
    items = "".join(f"<li>{html.escape(s)}</li>" for s in limitations)
    show_html(f'<section id="limitations"><h2>Limitations</h2><ul>{items}</ul></section>')


def show_reproduce(params: StudyParameters) -> str:
    """The "reproduce this" block: the exact ``rmt run`` command; returns it."""
    import toolkit

    cmd = params.command()
    roster = params.to_dict().get("roster")
    if roster:  # the file name only: a full path can name a person (a home folder)
        cmd = type(params).from_values({**params.to_dict(), "roster": Path(roster).name}).command()
    show_html('<section id="reproduce"><h2>Reproduce this</h2>'
              f"<pre><code>{html.escape(cmd)}</code></pre>"
              f"<p>toolkit {html.escape(toolkit.__version__)}; the run's manifest.json lists the "
              "package versions, the specification fingerprint and the checksum of every table. "
              "<code>rmt verify RUN_DIR</code> re-runs it and compares every table.</p></section>")
    return cmd
