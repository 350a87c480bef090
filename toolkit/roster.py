"""Real rosters: read, validate and turn into a :class:`~toolkit.cohort.Cohort`.

A roster is a UTF-8 CSV file, one person per row. Column names ignore case and spacing
(``Skill AI Tools`` is ``skill_ai_tools``).

Required: ``id`` (or ``participant_id``), ``role`` (``mentor`` or ``mentee``).

Optional (default when the column is absent or the cell is blank):

=========================== ===================================================== ==================
column                      meaning                                               default
=========================== ===================================================== ==================
name, email, gender         kept, never scored (names leave only on request)      "" / "unspecified"
level                       job level 1-8, not scored                             the role's typical
department, location        for surface similarity and constraints                "unspecified"
generation (or age)         Boomer, Gen X, Millennial, Gen Z...                   from age, else
                                                                                  "unspecified"
utc_offset                  hours, in [-12, 14]                                   0
availability                hours per month the person can give (>= 0)            4 (no limit)
skill_<digital domain>      digital skill in [0, 1], or a ``skills`` ;-list       unanswered
lead_<leadership domain>    leadership skill in [0, 1], or a ``leadership`` list  unanswered
goals                       ;-list of domains to learn (digital for mentees,     every domain of
                            leadership for mentors)                               the side
interests                   ;-list of anything (case and spacing ignored)         none
trait_<Big Five>, value_*   in [0, 1]                                             unanswered
manager_id                  id of the person's manager (reporting-line rule)      none
=========================== ===================================================== ==================

``skills`` / ``leadership`` lists look like ``data_analytics=0.8;ai_tools:0.6``. Domain
names in ``skills``, ``leadership`` and ``goals`` and the words of ``interests`` ignore
case and spacing alike (``AI Tools``, ``ai  tools`` and ``ai_tools`` are one domain).
A skill, trait or value left blank is *unanswered*: the person's ``unanswered`` column
lists it and compatibility leaves it out of the component (the simulation still needs a
skill level, so the participants table holds 0.5 there). Age, level, tenure, country,
locale and work mode, which matching does not use, get the role's typical values
(mentor 27 years, level 2; mentee 53, level 7) unless given.

Headers from an HR export are mapped with a :class:`~toolkit._columns.ColumnMapping`
(``--column "Employee ID=id"``, ``--value "role:Reverse Mentor=mentor"`` or a mapping
file); well-known HR headers and near misses are suggested. Every problem of a roster is
reported at once (up to 20), each with its line and column; a message shows a cell only
of a non-personal column (role, department, location, domains and numbers), bounded and
escaped, never an id, name, e-mail, gender, age, manager or interest. What the reader
leaves out is never silent: :func:`load_roster` returns the warnings (ignored columns
with "did you mean", mapping entries that matched nothing, a component resting on few
answered items) and notes (whether the reporting-line rule is active and on which
column); :func:`read_roster` issues the warnings as :class:`RosterWarning`.

>>> import io
>>> text = "id,role,department,skills,goals\\nA,mentor,IT,ai_tools=0.9,strategy\\nB,mentee,HR,,ai_tools\\n"
>>> cohort = read_roster(io.StringIO(text))
>>> cohort.participants[["participant_id", "role", "skill_ai_tools"]].values.tolist()
[['A', 'mentor', 0.9], ['B', 'mentee', 0.5]]
"""

from __future__ import annotations

import csv
import io
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit._columns import (
    ColumnMapping,
    looks_like_value,
    normalise_name,
    normalise_value,
    resolve_header,
    snippet,
)
from toolkit._io import unescape_cell
from toolkit._validation import one_line, quote
from toolkit.cohort import COLUMN_ORDER_HEAD as _HEAD
from toolkit.cohort import (
    DIGITAL_DOMAINS,
    GENERATIONS,
    LEADERSHIP_DOMAINS,
    TRAITS,
    WORK_VALUES,
    Cohort,
)
from toolkit.errors import RosterError

__all__ = [
    "ROSTER_DEFAULTS",
    "RosterReading",
    "RosterWarning",
    "load_roster",
    "read_forbidden_pairs",
    "read_roster",
    "roster_to_cohort",
    "score_spread_warning",
]

ROSTER_DEFAULTS: dict[str, Any] = {
    "department": "unspecified",
    "location": "unspecified",
    "generation": "unspecified",
    "gender": "unspecified",
    "utc_offset": 0.0,
    "availability_hours_month": 4.0,
    "skill": 0.5,
    "lead": 0.5,
    "trait": 0.5,
    "value": 0.5,
    "goals": "every domain of the person's side",
    "interests": "",
}
MAX_PROBLEMS = 20  # problems listed in one error; the rest are counted
_ROLE_TYPICAL = {
    "mentor": {"age": 27, "level": 2, "tenure_years": 2.5},
    "mentee": {"age": 53, "level": 7, "tenure_years": 12.0},
}
_ALIASES = {
    "participant_id": "id",
    "availability_hours_month": "availability",
    "goal_domains": "goals",
}
_PLAIN = (
    "id",
    "role",
    "name",
    "email",
    "gender",
    "department",
    "location",
    "country",
    "work_mode",
    "generation",
    "age",
    "level",
    "utc_offset",
    "availability",
    "skills",
    "leadership",
    "goals",
    "interests",
    "manager_id",
)
# Columns whose cells are personal (or free text): never shown in a message.
_PERSONAL = frozenset({"id", "name", "email", "gender", "age", "level", "manager_id", "interests"})
_REFERENCE_YEAR = 2026
_SKILL_WORDS = {"skill": "digital skill", "lead": "leadership skill"}
# Score spread below which a roster cannot tell pairs apart (SD of the weighted score on
# [0, 1] over admissible pairs): under a quarter of the spread between the pairs of a
# generated cohort (SD 0.074-0.116 across the four weight profiles, 120 x 100, seeds 1-2).
_LOW_SPREAD = 0.02


class RosterWarning(UserWarning):
    """Something in a roster was left out or rests on little information."""


def roster_columns(
    digital_domains: tuple[str, ...] = DIGITAL_DOMAINS,
    leadership_domains: tuple[str, ...] = LEADERSHIP_DOMAINS,
) -> tuple[str, ...]:
    """Every column name a roster may use (its aliases aside)."""
    return (
        *_PLAIN,
        *(f"skill_{d}" for d in digital_domains),
        *(f"lead_{d}" for d in leadership_domains),
        *(f"trait_{t}" for t in TRAITS),
        *(f"value_{v}" for v in WORK_VALUES),
    )


def normalise_domain(text: str) -> str:
    """A domain name as compared: case, spaces, hyphens and underscores ignored.

    >>> normalise_domain(" AI  Tools ")
    'ai_tools'
    """
    return normalise_name(text)


def normalise_interest(text: str) -> str:
    """An interest as a token: lower case, single spaces (real people write anything).

    >>> normalise_interest("  Rock   Climbing ")
    'rock climbing'
    """
    return " ".join(text.lower().split())


# --------------------------------------------------------------------------- problems


class _Problems:
    """Every problem of a file, reported together in one error (up to MAX_PROBLEMS)."""

    def __init__(self, what: str, lead: str) -> None:
        self.what = what  # "roster": "The roster lacks ..."
        self.lead = lead  # "Roster": "Roster line 3, column 'role' must be ..."
        self.items: list[tuple[str, str]] = []  # (scope, text): scope "file" or "cell"
        self._lines: list[int] = []  # 0 for the file, else the line
        self.lines: np.ndarray | None = None  # each row's line in the file (header: 1)

    def file(self, text: str) -> None:
        self.items.append(("file", text))
        self._lines.append(0)

    def cell(self, k: int, column: str | None, text: str) -> None:
        """A problem in the row at position ``k`` (its line from :attr:`lines`)."""
        where = f", column {quote(column)}" if column is not None else ""
        self.items.append(("cell", f"line {self.line(k)}{where} {text}"))
        self._lines.append(self.line(k))

    def line(self, k: int) -> int:
        return int(self.lines[k]) if self.lines is not None else k + 2

    def check(self) -> None:
        """Raise one RosterError with every problem, the file's first and then line by
        line (its ``problems`` attribute lists them all)."""
        if not self.items:
            return
        order = np.argsort(self._lines, kind="stable")
        self.items = [self.items[k] for k in order]
        if len(self.items) == 1:
            scope, text = self.items[0]
            error = RosterError(
                f"The {self.what} {text}." if scope == "file" else f"{self.lead} {text}."
            )
        else:
            shown = [
                text if scope == "cell" else f"it {text}"
                for scope, text in self.items[:MAX_PROBLEMS]
            ]
            more = len(self.items) - len(shown)
            tail = f"; and {more} more" if more else ""
            error = RosterError(
                f"The {self.what} has {len(self.items)} problems: {'; '.join(shown)}{tail}."
            )
        error.problems = [text for _, text in self.items]
        raise error


# --------------------------------------------------------------------------- reading


def _text(source: str | os.PathLike | io.TextIOBase, what: str) -> str:
    """The file's text, refusing binary and non-UTF-8 input with one sentence."""
    if isinstance(source, io.TextIOBase):
        return source.read()
    path = Path(source)
    if not path.is_file():
        raise RosterError(f"The {what} {quote(str(path))} does not exist or is not a file.")
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise RosterError(
            f"The {what} {quote(str(path))} is a binary file, not a UTF-8 CSV text file."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterError(
            f"The {what} {quote(str(path))} is not UTF-8 text (byte 0x{data[exc.start]:02x} at "
            f"position {exc.start}); save it as UTF-8 CSV."
        ) from None


def _cell(text: str) -> str:
    """A cell as the toolkit reads it: trimmed, without the one leading apostrophe that
    marks text in a spreadsheet (and that the toolkit's own CSV output adds)."""
    return unescape_cell(text.strip()).strip()


def _raw_table(text: str, what: str) -> tuple[list[str], pd.DataFrame]:
    """The header cells (as written, trimmed) and the rows (all strings, by position).

    Read with :mod:`csv` rather than pandas: pandas renames a repeated header (``x``,
    ``x.1``) and skips blank lines without a word, and the messages need each record's
    physical line (a quoted cell may span lines). The frame's index is that line.
    A row with more cells than the header is refused (every such line at once); a
    shorter row reads as blank cells, as a spreadsheet writes it.
    """
    if not text.strip():
        raise RosterError(f"The {what} is empty; it needs a header and at least one row.")
    reader = csv.reader(io.StringIO(text), skipinitialspace=True)
    records, lines, last = [], [], 0
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                records.append(row)
                lines.append(last + 1)
            last = reader.line_num
    except csv.Error as exc:
        raise RosterError(
            f"The {what} is not a valid CSV file (line {reader.line_num}: "
            f"{one_line(str(exc).strip())})."
        ) from None
    header = [_cell(c) for c in records[0]]
    width = len(header)
    wide = [
        (line, len(row))
        for line, row in zip(lines[1:], records[1:], strict=True)
        if len(row) > width and any(c.strip() for c in row[width:])
    ]
    if wide:
        shown = "; ".join(f"line {line} has {n}" for line, n in wide[:MAX_PROBLEMS])
        more = f"; and {len(wide) - MAX_PROBLEMS} more" if len(wide) > MAX_PROBLEMS else ""
        raise RosterError(
            f"The {what}'s header names {width} columns but some rows have more "
            f"cells ({shown}{more}); every row needs the header's columns."
        )
    if len(records) < 2:
        raise RosterError(f"The {what} has a header but no rows; it needs at least one person.")
    frame = pd.DataFrame(
        [(row + [""] * width)[:width] for row in records[1:]],
        index=pd.Index(lines[1:], name="line"),
        columns=range(width),
        dtype=str,
    )
    return header, frame.apply(_cells)


def _cells(col: pd.Series) -> pd.Series:
    """:func:`_cell` for a whole column, vectorised."""
    col = col.str.strip()
    marked = col.str.startswith("'")
    return col.where(~marked, col.str[1:].str.strip()) if marked.any() else col


def _shown(header: str) -> str:
    """A header as a message shows it; one that looks like a value (a roster without a
    header row starts with a person) is not shown."""
    return "a column whose name looks like a value" if looks_like_value(header) else quote(header)


@dataclass(frozen=True)
class RosterReading:
    """A roster read: the cohort, which header each column came from, and what to tell.

    ``warnings`` are things left out or resting on little (each one sentence);
    ``notes`` say what is active (the reporting-line rule and its column).
    """

    cohort: Cohort
    columns: dict[str, str]
    warnings: tuple[str, ...]
    notes: tuple[str, ...]


def _resolve(
    header: list[str],
    mapping: ColumnMapping,
    known: tuple[str, ...],
    problems: _Problems,
    what: str,
):
    """Canonical names by position, with every header problem recorded."""
    res = resolve_header(header, known, aliases=_ALIASES, mapping=mapping)
    if not res.source and any(looks_like_value(h) for h in header):
        raise RosterError(
            f"The {what}'s first line does not look like a header row (it holds values such "
            "as an e-mail address or a number, not column names); add a first line naming the "
            "columns, for example id,role,name,department."
        )
    names = list(res.names)
    first: dict[str, int] = {}
    for k, name in enumerate(names):
        if name is None:
            continue
        if name in first:
            j = first[name]
            shown = (
                f"columns {j + 1} and {k + 1}"
                if header[j] == header[k]
                else f"columns {j + 1} ({_shown(header[j])}) and {k + 1} ({_shown(header[k])})"
            )
            problems.file(f"has the column {quote(name)} twice ({shown}); give each column once")
            names[k] = None
        else:
            first[name] = k
    for source, target in res.bad_targets:
        problems.file(
            f"cannot use the mapping of {quote(source)} to {quote(target)} "
            f"({mapping.origin}): {quote(target)} is not a roster column (see the "
            "roster format in the README)"
        )
    for col in ("id", "role"):
        if col in first:
            continue
        candidates = [(k, h) for k, h, s in res.ignored if s == col and names[k] is None]
        if candidates:
            k, h = candidates[0]
            problems.file(
                f"lacks the required column {quote(col)} (did you mean {_shown(h)}? "
                f'map it with --column "{h}={col}")'
            )
            names[k] = col  # checked as if mapped, so its values' problems show now too
            first[col] = k
        else:
            problems.file(
                f"lacks the required column {quote(col)} (no column looks like it; "
                f'name one with --column "HEADER={col}")'
            )
    return res, names


def load_roster(
    source: str | os.PathLike | io.TextIOBase,
    *,
    mapping: ColumnMapping | None = None,
    digital_domains: tuple[str, ...] = DIGITAL_DOMAINS,
    leadership_domains: tuple[str, ...] = LEADERSHIP_DOMAINS,
) -> RosterReading:
    """Read and validate a roster CSV; return the cohort with its warnings and notes.

    Raises :class:`~toolkit.errors.RosterError` listing every problem (up to
    :data:`MAX_PROBLEMS`), each with its line and column.
    """
    mapping = mapping or ColumnMapping()
    header, raw = _raw_table(_text(source, "roster"), "roster")
    known = roster_columns(digital_domains, leadership_domains)
    problems = _Problems("roster", "Roster")
    problems.lines = raw.index.to_numpy()
    res, names = _resolve(header, mapping, known, problems, "roster")
    frame = pd.DataFrame({name: raw[k] for k, name in enumerate(names) if name is not None})
    source_of = {name: header[k] for k, name in enumerate(names) if name is not None}
    for column, values in mapping.values.items():
        column = _ALIASES.get(column, column)
        if column in frame.columns:
            frame[column] = _map_values(frame[column], values)
    built = _build(frame, source_of, problems, digital_domains, leadership_domains)
    problems.check()
    assert built is not None  # check() raised if a required column was missing
    cohort = built

    warns, notes = [], []
    ignored = [(k, h, s) for k, h, s in res.ignored if names[k] is None]
    if ignored:
        parts = [_shown(h) + (f" (did you mean {quote(s)}?)" if s else "") for _, h, s in ignored]
        them = "them" if len(parts) > 1 else "it"
        warns.append(
            f"The roster's column{'s' if len(parts) > 1 else ''} {', '.join(parts)} "
            f"{'are' if len(parts) > 1 else 'is'} not used; map {them} with --column "
            f'"HEADER=column" or leave {them} out.'
        )
    for src, suggestion in res.unused:
        warns.append(
            f"The mapping ({mapping.origin}) names the column {quote(src)}, which "
            "the roster lacks"
            + (f" (did you mean {quote(suggestion)}?)" if suggestion else "")
            + "."
        )
    if "manager_id" in source_of:
        notes.append(
            "The reporting-line rule is active on the column "
            f"{quote(source_of['manager_id'])}: no one is paired with a person in "
            "their chain of managers."
        )
    else:
        looks = [h for _, h, s in ignored if s == "manager_id"]
        if looks:
            warns.append(
                "The reporting-line rule is off: the roster has no manager_id column, "
                f"but {_shown(looks[0])} looks like one (map it with --column "
                f'"{looks[0]}=manager_id").'
            )
        else:
            notes.append("The reporting-line rule is off: the roster has no manager_id column.")
    for column in mapping.values:
        if _ALIASES.get(column, column) not in frame.columns:
            warns.append(
                f"The mapping ({mapping.origin}) maps values of the column "
                f"{quote(column)}, which the roster does not have; those values are "
                "not used."
            )
    warns.extend(_few_items(cohort))
    return RosterReading(
        cohort=cohort, columns=source_of, warnings=tuple(warns), notes=tuple(notes)
    )


def read_roster(
    source: str | os.PathLike | io.TextIOBase,
    *,
    mapping: ColumnMapping | None = None,
    digital_domains: tuple[str, ...] = DIGITAL_DOMAINS,
    leadership_domains: tuple[str, ...] = LEADERSHIP_DOMAINS,
) -> Cohort:
    """Read and validate a roster CSV (see the module docstring); return its Cohort.

    Each warning of :func:`load_roster` is issued as a :class:`RosterWarning`.
    """
    reading = load_roster(
        source,
        mapping=mapping,
        digital_domains=digital_domains,
        leadership_domains=leadership_domains,
    )
    for message in reading.warnings:
        warnings.warn(message, RosterWarning, stacklevel=2)
    return reading.cohort


def roster_to_cohort(
    frame: pd.DataFrame,
    *,
    digital_domains: tuple[str, ...] = DIGITAL_DOMAINS,
    leadership_domains: tuple[str, ...] = LEADERSHIP_DOMAINS,
    what: str = "roster",
) -> Cohort:
    """Validate a roster table (all cells as strings, canonical column names) and build
    the cohort; every problem is reported at once."""
    problems = _Problems(what, what[0].upper() + what[1:])
    header = [str(c) for c in frame.columns]
    known = roster_columns(digital_domains, leadership_domains)
    _, names = _resolve(header, ColumnMapping(), known, problems, what)
    table = pd.DataFrame(
        {
            name: frame.iloc[:, k].fillna("").astype(str)
            for k, name in enumerate(names)
            if name is not None
        }
    )
    source_of = {name: header[k] for k, name in enumerate(names) if name is not None}
    cohort = _build(table, source_of, problems, digital_domains, leadership_domains)
    problems.check()
    assert cohort is not None  # check() raised if a required column was missing
    return cohort


def _map_values(col: pd.Series, values: Mapping[str, str]) -> pd.Series:
    """Mapped values (compared by :func:`normalise_value`); the rest as they were."""
    codes, uniques = pd.factorize(col)
    mapped = np.array([values.get(normalise_value(u), u) for u in uniques], dtype=object)
    return pd.Series(mapped[codes] if len(uniques) else col.to_numpy(object), index=col.index)


# --------------------------------------------------------------------------- cells


def _numbers(
    frame: pd.DataFrame,
    col: str,
    low: float,
    high: float,
    allowed: str,
    problems: _Problems,
    source_of: dict[str, str],
) -> np.ndarray:
    """A numeric column (NaN where blank); each bad cell is a problem naming line and column."""
    raw = frame[col]
    values = pd.to_numeric(raw.where(raw != ""), errors="coerce")
    bad = (raw != "") & (values.isna() | ~values.between(low, high))
    for k in np.flatnonzero(bad.to_numpy()):
        got = "" if col in _PERSONAL else f"; got {snippet(raw.iloc[k])}"
        problems.cell(int(k), source_of.get(col, col), f"must be {allowed}{got}")
    return values.where(~bad).to_numpy(float)


def _list(cell: str) -> list[str]:
    return [x.strip() for x in re.split(r"[;,]", cell) if x.strip()]


def _skill_list(
    frame: pd.DataFrame,
    col: str,
    domains: tuple[str, ...],
    prefix: str,
    problems: _Problems,
    source_of: dict[str, str],
) -> dict[str, np.ndarray]:
    """Parse a ``domain=value;...`` column into one array per domain (NaN = not given).

    Each distinct cell is parsed once (a roster repeats few distinct lists).
    """
    shown = source_of.get(col, col)
    codes, uniques = pd.factorize(frame[col])
    parsed = np.full((len(uniques), len(domains)), np.nan)
    errors: dict[int, str] = {}
    position = {d: j for j, d in enumerate(domains)}
    for u, cell in enumerate(uniques):
        for item in _list(cell.replace(",", ";")):
            parts = re.split(r"[=:]", item)
            key = normalise_domain(parts[0]) if len(parts) == 2 else ""
            if key not in position:
                errors[u] = (
                    f"must list entries like {domains[0]}=0.7 with domains among "
                    f"{', '.join(domains)}; got {snippet(item)}"
                )
                break
            try:
                value = float(parts[1])
            except ValueError:
                value = np.nan
            if not 0 <= value <= 1:
                errors[u] = (
                    f"must give each {_SKILL_WORDS[prefix]} as a number in [0, 1]; "
                    f"got {snippet(item)}"
                )
                break
            parsed[u, position[key]] = value
    for k in np.flatnonzero(np.isin(codes, list(errors))):
        problems.cell(int(k), shown, errors[int(codes[k])])
    rows = parsed[codes] if len(uniques) else np.full((len(frame), len(domains)), np.nan)
    return {d: rows[:, j] for j, d in enumerate(domains)}


def _role_problems(role: pd.Series, problems: _Problems, shown: str) -> None:
    """One problem per distinct bad role value: its first line, how many more, and the
    mapping that would fix it."""
    bad = ~role.str.lower().isin(["mentor", "mentee"])
    if not bad.any():
        return
    values = role[bad]
    for value, rows in values.groupby(values, sort=False).groups.items():
        lines = [role.index.get_loc(r) for r in rows]
        norm = normalise_value(value)
        guess = [r for r in ("mentor", "mentee") if r in norm]
        target = guess[0] if len(guess) == 1 else "mentor"
        more = (
            f" (and on {len(lines) - 1} more line{'s' * (len(lines) > 2)})"
            if len(lines) > 1
            else ""
        )
        fix = (
            f'map it with --value "role:{one_line(value)[:40]}={target}"'
            if value
            else "every person needs a role"
        )
        problems.cell(
            lines[0], shown, f"must be 'mentor' or 'mentee'; got {snippet(value)}{more}; {fix}"
        )


def _build(
    frame: pd.DataFrame,
    source_of: dict[str, str],
    problems: _Problems,
    digital_domains: tuple[str, ...],
    leadership_domains: tuple[str, ...],
) -> Cohort | None:
    """Validate the canonical columns and build the cohort (None if a required column is
    missing); every problem goes to ``problems``."""
    n = len(frame)
    if "id" not in frame.columns or "role" not in frame.columns:
        if "role" in frame.columns:
            _role_problems(frame["role"], problems, source_of["role"])
        return None
    ids = frame["id"]
    for k in np.flatnonzero((ids == "").to_numpy()):
        problems.cell(int(k), source_of["id"], "is empty; every person needs an id")
    dup = (ids != "") & ids.duplicated()
    if dup.any():
        first = pd.Series(np.arange(n)).groupby(ids.to_numpy()).transform("min").to_numpy()
        for k in np.flatnonzero(dup.to_numpy()):
            problems.cell(
                int(k),
                source_of["id"],
                f"repeats the id of line {problems.line(first[k])}; ids must be unique",
            )
    _role_problems(frame["role"], problems, source_of["role"])
    role = frame["role"].str.lower()
    is_mentor = (role == "mentor").to_numpy()
    good_role = role.isin(["mentor", "mentee"])
    if good_role.all() and role.nunique() < 2:
        problems.file(f"must have at least one mentor and one mentee; it has only {role.iloc[0]}s")

    data: dict[str, Any] = {"participant_id": ids.to_numpy(object), "role": role.to_numpy(object)}

    def text(col: str, default: str) -> np.ndarray:
        if col not in frame.columns:
            return np.full(n, default, dtype=object)
        return frame[col].where(frame[col] != "", default).to_numpy(object)

    def numbers(col: str, low: float, high: float, allowed: str) -> np.ndarray:
        if col not in frame.columns:
            return np.full(n, np.nan)
        return _numbers(frame, col, low, high, allowed, problems, source_of)

    data["name"] = text("name", "")
    data["gender"] = text("gender", "unspecified")
    data["email"] = text("email", "")
    data["locale"] = np.full(n, "", dtype=object)
    typical = {
        k: np.where(is_mentor, _ROLE_TYPICAL["mentor"][k], _ROLE_TYPICAL["mentee"][k])
        for k in ("age", "level", "tenure_years")
    }
    age = numbers("age", 16, 100, "an age in years between 16 and 100")
    generation = text("generation", "")
    birth = _REFERENCE_YEAR - age
    for label, first_year, last_year in GENERATIONS:
        fill = (generation == "") & (birth >= first_year) & (birth <= last_year)
        generation[fill] = label
    generation[generation == ""] = "unspecified"
    level = numbers("level", 1, 8, "a whole job level from 1 to 8")
    for k in np.flatnonzero(level != np.round(level)):  # NaN compares unequal: skip those
        if not np.isnan(level[k]):
            problems.cell(int(k), source_of["level"], "must be a whole job level from 1 to 8")
    level = np.where(level == np.round(level), level, np.nan)
    data["age"] = np.where(np.isnan(age), typical["age"], age).astype(np.int64)
    data["generation"] = generation
    data["level"] = np.where(np.isnan(level), typical["level"], level).astype(np.int64)
    data["tenure_years"] = typical["tenure_years"].astype(float)
    data["department"] = text("department", "unspecified")
    data["location"] = text("location", "unspecified")
    data["country"] = text("country", "unspecified")
    data["utc_offset"] = np.nan_to_num(
        numbers("utc_offset", -12, 14, "a UTC offset in hours between -12 and 14")
    )
    data["work_mode"] = text("work_mode", "hybrid")

    unanswered = np.zeros((n, 0), bool)
    unanswered_names: list[str] = []
    for prefix, list_col, domains in (
        ("skill", "skills", digital_domains),
        ("lead", "leadership", leadership_domains),
    ):
        from_list = (
            _skill_list(frame, list_col, domains, prefix, problems, source_of)
            if list_col in frame.columns
            else {}
        )
        for d in domains:
            col = f"{prefix}_{d}"
            values = numbers(col, 0, 1, "a number in [0, 1]")
            if d in from_list:
                values = np.where(np.isnan(values), from_list[d], values)
            data[col] = np.where(np.isnan(values), 0.5, values)
            unanswered = np.column_stack([unanswered, np.isnan(values)])
            unanswered_names.append(col)

    data["goal_domains"] = _goals(
        frame,
        is_mentor,
        good_role.to_numpy(),
        problems,
        source_of,
        digital_domains,
        leadership_domains,
    )
    raw_interests = frame["interests"] if "interests" in frame.columns else pd.Series([""] * n)
    codes, uniques = pd.factorize(raw_interests)
    tokens = np.array(
        [";".join(dict.fromkeys(normalise_interest(x) for x in _list(u))) for u in uniques] or [""],
        dtype=object,
    )
    data["interests"] = tokens[codes] if len(uniques) else np.full(n, "", dtype=object)
    for col in [f"trait_{t}" for t in TRAITS] + [f"value_{v}" for v in WORK_VALUES]:
        values = numbers(col, 0, 1, "a number in [0, 1]")
        data[col] = np.where(np.isnan(values), 0.5, values)
        unanswered = np.column_stack([unanswered, np.isnan(values)])
        unanswered_names.append(col)
    availability = numbers("availability", 0, 744, "hours per month between 0 and 744")
    data["availability_hours_month"] = np.where(np.isnan(availability), 4.0, availability)
    if "manager_id" in frame.columns:
        data["manager_id"] = frame["manager_id"].to_numpy(object)
    if unanswered.any():
        data["unanswered"] = _join_flags(unanswered, unanswered_names)
    if problems.items:
        return None

    order = list(_HEAD) + [k for k in data if k not in _HEAD]
    participants = pd.DataFrame({k: data[k] for k in order})
    # Mentors first, then mentees, as the generator does; roster order within a role.
    participants = participants.iloc[np.argsort(~is_mentor, kind="stable")].reset_index(drop=True)
    return Cohort(
        participants=participants,
        digital_domains=tuple(digital_domains),
        leadership_domains=tuple(leadership_domains),
    )


def _join_flags(flags: np.ndarray, names: list[str]) -> np.ndarray:
    """Each row's flagged names as a ';'-list (each distinct row pattern joined once)."""
    patterns, codes = np.unique(flags, axis=0, return_inverse=True)
    texts = np.array([";".join(np.asarray(names)[p]) for p in patterns], dtype=object)
    return texts[codes.ravel()]


def _goals(
    frame: pd.DataFrame,
    is_mentor: np.ndarray,
    good_role: np.ndarray,
    problems: _Problems,
    source_of: dict[str, str],
    digital: tuple[str, ...],
    leadership: tuple[str, ...],
) -> np.ndarray:
    """The goal domains of each person (of their own side), every domain if blank."""
    out = np.where(is_mentor, ";".join(leadership), ";".join(digital)).astype(object)
    if "goals" not in frame.columns:
        return out
    shown = source_of.get("goals", "goals")
    codes, uniques = pd.factorize(
        pd.Series(frame["goals"].to_numpy(object)) + "\x00" + pd.Series(is_mentor.astype(str))
    )
    for u, key in enumerate(uniques):
        cell, mentor = key.split("\x00")
        rows = np.flatnonzero(codes == u)
        side = leadership if mentor == "True" else digital
        items = [normalise_domain(g) for g in _list(cell)]
        unknown = [g for g in items if g not in side]
        if unknown:
            for k in rows[good_role[rows]]:
                problems.cell(
                    int(k),
                    shown,
                    f"must list {'leadership' if mentor == 'True' else 'digital'} "
                    f"domains for a {'mentor' if mentor == 'True' else 'mentee'} "
                    f"({', '.join(side)}); got {snippet(unknown[0])}",
                )
        elif items:
            out[rows] = ";".join(dict.fromkeys(items))
    return out


def _few_items(cohort: Cohort) -> list[str]:
    """A warning for each component that rests on few answered items for most people."""
    people = cohort.participants
    if "unanswered" not in people.columns:
        return []
    deep = [f"trait_{t}" for t in TRAITS] + [f"value_{v}" for v in WORK_VALUES]
    groups = (
        ("digital skills (complementarity for mentees)", cohort.skill_columns),
        ("leadership skills (complementarity for mentors)", cohort.lead_columns),
        ("personality and work values (deep_similarity)", deep),
    )
    names = [c for _, columns in groups for c in columns]
    # Membership of each name in each person's ';'-list, one distinct list at a time.
    codes, lists = pd.factorize(people["unanswered"].fillna(""))
    flags = np.array([[name in set(text.split(";")) for name in names] for text in lists]).reshape(
        len(lists), len(names)
    )[codes]
    out, start = [], 0
    for label, columns in groups:
        answered = len(columns) - flags[:, start : start + len(columns)].sum(axis=1)
        start += len(columns)
        median = float(np.median(answered))
        if answered.max() > 0 and median < len(columns) / 2:
            out.append(
                f"The roster's {label} rest on few answered items: half the people "
                f"answered {median:g} or fewer of the {len(columns)}; unanswered items "
                "are left out of the component, not filled with a neutral value."
            )
    return out


def score_spread_warning(compat: Any, *, low: float = _LOW_SPREAD) -> str | None:
    """A warning when the scores of admissible pairs barely differ (SD below ``low`` on
    the [0, 1] score): the roster carries too little information to tell pairs apart,
    so any matching is close to arbitrary. Computed on at most 400 evenly spaced mentee
    rows, so a large roster costs no extra (mentees x mentors) matrix.
    """
    from toolkit.compatibility import pair_scores

    n_e, n_r = compat.admissible.shape
    rows = np.unique(np.linspace(0, n_e - 1, min(n_e, 400)).astype(np.intp))
    ii = np.repeat(rows, n_r)
    jj = np.tile(np.arange(n_r), rows.size)
    keep = compat.admissible[ii, jj]
    if keep.sum() < 2:
        return None
    scores = pair_scores(compat.cohort, ii[keep], jj[keep], weights=compat.weights)
    sd = float(np.std(scores, dtype=np.float64))
    if sd >= low:
        return None
    return (
        f"The roster carries too little information to tell pairs apart: the scores of "
        f"admissible pairs span {float(scores.min()):.2f}-{float(scores.max()):.2f} (SD "
        f"{sd:.3f}), so the matching is close to arbitrary; add skills, goals, traits or "
        "interests to the roster."
    )


def read_forbidden_pairs(
    source: str | os.PathLike | io.TextIOBase, cohort: Cohort
) -> tuple[tuple[str, str], ...]:
    """Read a forbidden-pairs CSV: a header and two id columns, one pair per row.

    Each pair must name one mentee and one mentor of ``cohort`` (either order). Every
    problem is reported at once; ids are never shown (line and column say where).
    """
    what = "forbidden-pairs file"
    header, frame = _raw_table(_text(source, what), what)
    if frame.shape[1] < 2:
        raise RosterError(
            "The forbidden-pairs file needs two id columns (for example "
            "mentee_id,mentor_id); it has one."
        )
    roles = pd.Series(
        cohort.participants["role"].to_numpy(object),
        index=cohort.participants["participant_id"].astype(str),
    )
    problems = _Problems(what, "Forbidden-pairs")
    problems.lines = frame.index.to_numpy()
    a, b = frame[0], frame[1]
    ra, rb = a.map(roles), b.map(roles)
    for found, col in ((ra, header[0]), (rb, header[1])):
        for k in np.flatnonzero(found.isna().to_numpy()):
            problems.cell(int(k), col, "names someone who is not in the roster")
    same = (ra == rb) & ra.notna()
    for k in np.flatnonzero(same.to_numpy()):
        problems.cell(int(k), None, f"pairs two {ra.iloc[k]}s; a pair is one mentee and one mentor")
    problems.check()
    return tuple(zip(a.tolist(), b.tolist(), strict=True))
