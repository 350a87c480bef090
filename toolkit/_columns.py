"""Column and value mapping for tables people bring (rosters now, program logs later).

A table exported from an HR system or a survey tool rarely uses the toolkit's column
names. A :class:`ColumnMapping` says which of its columns is which (``"Employee ID" ->
id``) and which of its values mean what (``role: "Reverse Mentor" -> mentor``). It comes
from ``--column "Employee ID=id"`` / ``--value "role:Reverse Mentor=mentor"`` options
(:meth:`ColumnMapping.from_options`) or a YAML (or JSON) file
(:meth:`ColumnMapping.from_file`)::

    columns:
      Employee ID: id
      Program Role: role
    values:
      role:
        Reverse Mentor: mentor
        Executive Mentee: mentee

Names and values are compared after :func:`normalise_name` / :func:`normalise_value`
(case, spacing, hyphens and underscores ignored), so ``"employee id"`` in a mapping
matches the header ``Employee  ID``. :func:`resolve_header` maps a header onto the
canonical names of a table kind, and for the columns it cannot place says what they
probably are: a well-known HR header (:data:`HR_HEADERS`: employee id, full name, work
e-mail, manager id, office or location, job level) or, for near misses such as
``skill_ai_tool``, the closest canonical name ("did you mean"). Near misses come from
:func:`difflib.get_close_matches` (standard library, Ratcliff-Obershelp similarity);
the table of HR headers is written by hand because no library publishes one.

Values of a table never reach a message unless the caller says the column is not
personal (:func:`snippet` bounds and escapes what is shown).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from toolkit._validation import quote
from toolkit.errors import InvalidParameterError

__all__ = [
    "HR_HEADERS",
    "ColumnMapping",
    "HeaderResolution",
    "looks_like_value",
    "normalise_name",
    "normalise_value",
    "resolve_header",
    "snippet",
]

_MAPPING_BYTES = 1 << 20  # a mapping file is a few lines; anything over 1 MB is not one
_SNIPPET = 40  # characters of a non-personal cell shown in a message
_SEPARATORS = re.compile(r"[\s_\-.]+")

# Well-known headers of HR exports for the canonical column they usually hold, written
# as normalise_name gives them (lower case, words joined by "_").
HR_HEADERS: dict[str, tuple[str, ...]] = {
    "id": (
        "employee_id",
        "employee_number",
        "employee_no",
        "emp_id",
        "emp_no",
        "staff_id",
        "staff_number",
        "person_id",
        "personnel_number",
        "worker_id",
        "user_id",
        "eid",
        "badge_id",
    ),
    "name": (
        "full_name",
        "employee_name",
        "display_name",
        "preferred_name",
        "legal_name",
        "person_name",
    ),
    "email": (
        "work_email",
        "e_mail",
        "email_address",
        "work_email_address",
        "business_email",
        "work_e_mail",
        "corporate_email",
        "mail",
    ),
    "manager_id": (
        "manager_employee_id",
        "manager",
        "manager_number",
        "supervisor_id",
        "supervisor",
        "reports_to",
        "reports_to_id",
        "line_manager",
        "line_manager_id",
        "manager_emp_id",
        "direct_manager_id",
    ),
    "location": (
        "office",
        "office_location",
        "site",
        "work_location",
        "city",
        "work_site",
        "campus",
    ),
    "level": (
        "job_level",
        "grade",
        "job_grade",
        "band",
        "pay_grade",
        "career_level",
        "seniority_level",
    ),
    "role": (
        "program_role",
        "mentoring_role",
        "participant_role",
        "programme_role",
        "mentor_or_mentee",
    ),
    "department": ("dept", "division", "business_unit", "function", "org_unit", "team"),
    "utc_offset": ("time_zone_offset", "timezone_offset", "utc"),
}
_HR_LOOKUP = {alias: canonical for canonical, aliases in HR_HEADERS.items() for alias in aliases}


def normalise_name(text: str) -> str:
    """A column name as compared: lower case, runs of spaces, ``_``, ``-`` and ``.`` as one ``_``.

    >>> normalise_name("  Manager Employee-ID ")
    'manager_employee_id'
    """
    return _SEPARATORS.sub("_", str(text).strip().lower()).strip("_")


def normalise_value(text: str) -> str:
    """A categorical value as compared: lower case, single spaces (``_`` and ``-`` count as spaces).

    >>> normalise_value("Reverse  Mentor")
    'reverse mentor'
    """
    return " ".join(re.split(r"[\s_\-]+", str(text).strip().lower())).strip()


def looks_like_value(header: str) -> bool:
    """True when a header cell looks like data rather than a column name (an e-mail
    address, a number, a date): the sign of a table exported without its header row."""
    text = str(header).strip()
    return bool(re.search(r"@|^[+-]?\d[\d\s.,:/-]*$", text))


def snippet(value: str) -> str:
    """A cell of a non-personal column as a message shows it: quoted, escaped, bounded."""
    text = str(value)
    return quote(text if len(text) <= _SNIPPET else text[: _SNIPPET - 3] + "...")


@dataclass(frozen=True)
class ColumnMapping:
    """Which source column is which canonical column, and which source values mean what.

    ``columns`` maps a source header (normalised) to a canonical name; ``values`` maps a
    canonical column to ``{source value (normalised): canonical value}``. ``origin`` says
    where the mapping came from, for messages.
    """

    columns: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    origin: str = "--column"

    @classmethod
    def from_options(cls, columns: Sequence[str] = (), values: Sequence[str] = ()) -> ColumnMapping:
        """From ``"SOURCE=canonical"`` column options and ``"column:SOURCE=canonical"`` value options."""
        cols: dict[str, str] = {}
        for option in columns:
            source, sep, target = str(option).rpartition("=")
            if not sep or not source.strip() or not target.strip():
                raise InvalidParameterError(
                    f'The --column option must look like "Employee ID=id" (the table\'s header, '
                    f"'=', the toolkit's column name); got {quote(option)}."
                )
            cols[normalise_name(source)] = normalise_name(target)
        vals: dict[str, dict[str, str]] = {}
        for option in values:
            column, colon, rest = str(option).partition(":")
            source, sep, target = rest.rpartition("=")
            if (
                not colon
                or not sep
                or not column.strip()
                or not source.strip()
                or not target.strip()
            ):
                raise InvalidParameterError(
                    'The --value option must look like "role:Reverse Mentor=mentor" (column, '
                    f"':', the table's value, '=', the toolkit's value); got {quote(option)}."
                )
            vals.setdefault(normalise_name(column), {})[normalise_value(source)] = target.strip()
        return cls(columns=cols, values=vals, origin="--column")

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> ColumnMapping:
        """From a YAML or JSON file with ``columns:`` and ``values:`` sections (see the module),
        read with the bounds of :func:`toolkit._userfiles.read_yaml_file` (at most 1 MB)."""
        from toolkit._userfiles import read_yaml_file

        path = Path(path)
        loaded = read_yaml_file(path, "mapping file", max_bytes=_MAPPING_BYTES)
        return cls.from_dict(loaded, origin=f"mapping file {quote(str(path))}")

    @classmethod
    def from_dict(cls, data: object, origin: str = "mapping") -> ColumnMapping:
        """From ``{"columns": {source: canonical}, "values": {column: {source: canonical}}}``."""
        where = f"The {origin}"
        if data is None:
            data = {}
        if not isinstance(data, dict) or set(data) - {"columns", "values"}:
            extra = (
                sorted(map(str, set(data) - {"columns", "values"}))
                if isinstance(data, dict)
                else []
            )
            got = f"the section {quote(extra[0])}" if extra else f"a {type(data).__name__}"
            raise InvalidParameterError(
                f"{where} must be a mapping with the sections 'columns' and 'values'; got {got}."
            )
        columns = data.get("columns") or {}
        values = data.get("values") or {}
        if not isinstance(columns, dict) or not _all_text(columns.items()):
            raise InvalidParameterError(
                f"{where}: 'columns' must map each header to a column name (text: text), for "
                "example 'Employee ID: id'."
            )
        if not isinstance(values, dict) or not all(
            isinstance(k, str) and isinstance(v, dict) and _all_text(v.items())
            for k, v in values.items()
        ):
            raise InvalidParameterError(
                f"{where}: 'values' must map a column to its value mapping (text: text), for "
                "example 'role: {Reverse Mentor: mentor}'."
            )
        return cls(
            columns={normalise_name(k): normalise_name(v) for k, v in columns.items()},
            values={
                normalise_name(c): {normalise_value(k): str(v).strip() for k, v in m.items()}
                for c, m in values.items()
            },
            origin=origin,
        )

    def merged(self, other: ColumnMapping) -> ColumnMapping:
        """This mapping with ``other``'s entries added (``other`` wins where both map a name)."""
        values = {c: dict(m) for c, m in self.values.items()}
        for c, m in other.values.items():
            values.setdefault(c, {}).update(m)
        origin = (
            self.origin
            if not other.columns and not other.values
            else (
                other.origin
                if not self.columns and not self.values
                else f"{self.origin} and {other.origin}"
            )
        )
        return ColumnMapping(
            columns={**self.columns, **other.columns}, values=values, origin=origin
        )

    def __bool__(self) -> bool:
        return bool(self.columns or self.values)


def _all_text(items: Iterable[tuple[object, object]]) -> bool:
    return all(
        isinstance(k, str | int | float)
        and not isinstance(k, bool)
        and isinstance(v, str | int | float)
        and not isinstance(v, bool)
        for k, v in items
    )


@dataclass(frozen=True)
class HeaderResolution:
    """What each header became.

    ``names`` holds the canonical name of each header position (``None``: ignored);
    ``source`` maps a canonical name to the header it came from (as the table wrote it);
    ``ignored`` lists ``(position, header, suggestion or None)``; ``unused`` lists the
    mapping's source names that no header matched, with a suggestion.
    """

    names: tuple[str | None, ...]
    source: dict[str, str]
    ignored: tuple[tuple[int, str, str | None], ...]
    unused: tuple[tuple[str, str | None], ...]
    bad_targets: tuple[tuple[str, str], ...]


def suggest(header: str, canonical: Iterable[str]) -> str | None:
    """The canonical name a header probably means: a well-known HR header, else the
    closest canonical name (similarity at least 0.8), else None.

    >>> suggest("Manager Employee ID", ["id", "manager_id"])
    'manager_id'
    >>> suggest("skill_ai_tool", ["skill_ai_tools", "skill_cybersecurity"])
    'skill_ai_tools'
    """
    key = normalise_name(header)
    known = list(canonical)
    if key in _HR_LOOKUP and _HR_LOOKUP[key] in known:
        return _HR_LOOKUP[key]
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.8)
    return close[0] if close else None


def resolve_header(
    headers: Sequence[str],
    canonical: Iterable[str],
    *,
    aliases: Mapping[str, str] | None = None,
    mapping: ColumnMapping | None = None,
) -> HeaderResolution:
    """Map each header onto a canonical name (mapping first, then the name itself or an
    alias, compared by :func:`normalise_name`); report the rest with suggestions."""
    known = tuple(canonical)
    aliases = dict(aliases or {})
    mapping = mapping or ColumnMapping()
    names: list[str | None] = []
    source: dict[str, str] = {}
    ignored = []
    matched = set()
    for k, header in enumerate(headers):
        key = normalise_name(header)
        target = mapping.columns.get(key)
        if target is not None:
            matched.add(key)
            target = aliases.get(target, target)
        elif key in known or key in aliases:
            target = aliases.get(key, key)
        names.append(target if target in known else None)
        if target in known:
            source.setdefault(target, str(header).strip())
        elif target is None:
            ignored.append((k, str(header).strip(), suggest(header, known)))
    bad_targets = tuple(
        (src, tgt) for src, tgt in mapping.columns.items() if aliases.get(tgt, tgt) not in known
    )
    unused = tuple(
        (src, suggest(src, [normalise_name(h) for h in headers]))
        for src in mapping.columns
        if src not in matched
    )
    return HeaderResolution(
        names=tuple(names),
        source=source,
        ignored=tuple(ignored),
        unused=unused,
        bad_targets=bad_targets,
    )
