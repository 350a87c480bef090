"""Real rosters: read, validate and turn into a :class:`~toolkit.cohort.Cohort`.

A roster is a UTF-8 CSV file, one person per row. Column names are case-insensitive.

Required: ``id`` (or ``participant_id``), ``role`` (``mentor`` or ``mentee``).

Optional (default when the column is absent or the cell is blank):

=========================== ===================================================== ==================
column                      meaning                                               default
=========================== ===================================================== ==================
name, email, gender         kept, never scored (names leave only on request)      "" / "unspecified"
department, location        for surface similarity and constraints                "unspecified"
generation (or age)         Boomer, Gen X, Millennial, Gen Z...                   from age, else
                                                                                  "unspecified"
utc_offset                  hours, in [-12, 14]                                   0
availability                hours per month the person can give (>= 0)            4 (no limit)
skill_<digital domain>      digital skill in [0, 1], or a ``skills`` ;-list       0.5
lead_<leadership domain>    leadership skill in [0, 1], or a ``leadership`` list  0.5
goals                       ;-list of domains to learn (digital for mentees,     every domain of
                            leadership for mentors)                               the side
interests                   ;-list of anything (case and spacing ignored)         none
trait_<Big Five>, value_*   in [0, 1]                                             0.5
manager_id                  id of the person's manager (reporting-line rule)      none
=========================== ===================================================== ==================

``skills`` / ``leadership`` lists look like ``data_analytics=0.8;ai_tools:0.6``. The
defaults are neutral: a value missing for everyone is the same for every pair, so it
changes no ranking. Age, level, tenure, country, locale and work mode, which matching
does not use, get the role's typical values (mentor 27 years, level 2; mentee 53,
level 7). Every error names the file line and the column.

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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

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

__all__ = ["ROSTER_DEFAULTS", "read_forbidden_pairs", "read_roster", "roster_to_cohort"]

ROSTER_DEFAULTS: dict[str, Any] = {
    "department": "unspecified", "location": "unspecified", "generation": "unspecified",
    "gender": "unspecified", "utc_offset": 0.0, "availability_hours_month": 4.0,
    "skill": 0.5, "lead": 0.5, "trait": 0.5, "value": 0.5,
    "goals": "every domain of the person's side", "interests": "",
}
_ROLE_TYPICAL = {"mentor": {"age": 27, "level": 2, "tenure_years": 2.5},
                 "mentee": {"age": 53, "level": 7, "tenure_years": 12.0}}
_ALIASES = {"participant_id": "id", "availability_hours_month": "availability",
            "goal_domains": "goals"}
_REFERENCE_YEAR = 2026
_SKILL_WORDS = {"skill": "digital skill", "lead": "leadership skill"}


def _text(source: str | os.PathLike | io.TextIOBase, what: str) -> str:
    """The file's text, refusing binary and non-UTF-8 input with one sentence."""
    if isinstance(source, io.TextIOBase):
        return source.read()
    path = Path(source)
    if not path.is_file():
        raise RosterError(f"The {what} {quote(str(path))} does not exist or is not a file.")
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise RosterError(f"The {what} {quote(str(path))} is a binary file, not a UTF-8 CSV text "
                          "file.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterError(
            f"The {what} {quote(str(path))} is not UTF-8 text (byte 0x{data[exc.start]:02x} at "
            f"position {exc.start}); save it as UTF-8 CSV.") from None


def _cell(text: str) -> str:
    """A cell as the toolkit reads it: trimmed, without the one leading apostrophe that
    marks text in a spreadsheet (and that the toolkit's own CSV output adds)."""
    return unescape_cell(text.strip()).strip()


def _header(text: str, what: str) -> list[str]:
    """The header's column names (normalised), refusing a name given twice in any case.

    Read here because pandas renames a repeated name (``x``, ``x.1``) without a word.
    """
    raw = next(csv.reader(io.StringIO(text), skipinitialspace=True), [])
    names = [_ALIASES.get(n, n) for n in (_cell(c).lower() for c in raw)]
    first: dict[str, int] = {}
    for k, name in enumerate(names):
        if name in first:
            j = first[name]
            shown = (f"columns {j + 1} and {k + 1}" if raw[j].strip() == raw[k].strip() else
                     f"columns {j + 1} ({quote(raw[j].strip())}) and {k + 1} "
                     f"({quote(raw[k].strip())})")
            raise RosterError(f"The {what} has the column {quote(name)} twice ({shown}); "
                              "give each column once.")
        first[name] = k
    return names


def _frame(text: str, what: str) -> pd.DataFrame:
    if not text.strip():
        raise RosterError(f"The {what} is empty; it needs a header and at least one row.")
    try:
        names = _header(text, what)
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                            skipinitialspace=True)
    except (pd.errors.ParserError, csv.Error) as exc:
        raise RosterError(f"The {what} is not a valid CSV file "
                          f"({one_line(str(exc).strip())}).") from None
    frame.columns = names[:frame.shape[1]] + list(frame.columns[len(names):])
    if frame.empty:
        raise RosterError(f"The {what} has a header but no rows; it needs at least one person.")
    return frame.apply(_cells)


def _cells(col: pd.Series) -> pd.Series:
    """:func:`_cell` for a whole column, vectorised."""
    col = col.str.strip()
    marked = col.str.startswith("'")
    return col.where(~marked, col.str[1:].str.strip()) if marked.any() else col


def _line(k: int) -> int:
    return k + 2  # the header is line 1


def _numbers(frame: pd.DataFrame, col: str, low: float, high: float, default: float,
             allowed: str) -> np.ndarray:
    """A numeric column; blank cells take the default; errors name line and column."""
    raw = frame[col]
    values = pd.to_numeric(raw.where(raw != ""), errors="coerce")
    bad = (raw != "") & (values.isna() | ~values.between(low, high))
    if bad.any():
        k = int(np.flatnonzero(bad.to_numpy())[0])
        raise RosterError(f"Roster line {_line(k)}, column {quote(col)} must be {allowed}; got "
                          f"{quote(raw.iloc[k])}.")
    return values.fillna(default).to_numpy(float)


def _list(cell: str) -> list[str]:
    return [x.strip() for x in re.split(r"[;,]", cell) if x.strip()]


def _skill_list(frame: pd.DataFrame, col: str, domains: tuple[str, ...], prefix: str
                ) -> dict[str, np.ndarray]:
    """Parse a ``domain=value;...`` column into one array per domain (NaN = not given)."""
    out = {d: np.full(len(frame), np.nan) for d in domains}
    for k, cell in enumerate(frame[col]):
        for item in _list(cell.replace(",", ";")):
            parts = re.split(r"[=:]", item)
            if len(parts) != 2 or parts[0].strip() not in out:
                raise RosterError(
                    f"Roster line {_line(k)}, column {quote(col)} must list entries like "
                    f"{domains[0]}=0.7 with domains among {', '.join(domains)}; got {quote(item)}.")
            try:
                value = float(parts[1])
            except ValueError:
                value = np.nan
            if not 0 <= value <= 1:
                raise RosterError(f"Roster line {_line(k)}, column {quote(col)}: each "
                                  f"{_SKILL_WORDS[prefix]} must be a number in [0, 1]; got "
                                  f"{quote(item)}.")
            out[parts[0].strip()][k] = value
    return out


def normalise_interest(text: str) -> str:
    """An interest as a token: lower case, single spaces (real people write anything).

    >>> normalise_interest("  Rock   Climbing ")
    'rock climbing'
    """
    return " ".join(text.lower().split())


def roster_to_cohort(frame: pd.DataFrame, *, digital_domains: tuple[str, ...] = DIGITAL_DOMAINS,
                     leadership_domains: tuple[str, ...] = LEADERSHIP_DOMAINS,
                     what: str = "roster") -> Cohort:
    """Validate a roster table (all cells as strings) and build the cohort."""
    frame = frame.rename(columns=_ALIASES)
    for col in ("id", "role"):
        if col not in frame.columns:
            raise RosterError(f"The {what} lacks the required column {quote(col)} (columns found: "
                              f"{one_line(', '.join(map(str, frame.columns))) or 'none'}).")
    n = len(frame)
    ids = frame["id"]
    blank = ids == ""
    if blank.any():
        k = int(np.flatnonzero(blank.to_numpy())[0])
        raise RosterError(f"Roster line {_line(k)}, column 'id' is empty; every person needs "
                          "an id.")
    dup = ids.duplicated()
    if dup.any():
        k = int(np.flatnonzero(dup.to_numpy())[0])
        first = int(np.flatnonzero((ids == ids.iloc[k]).to_numpy())[0])
        raise RosterError(f"Roster line {_line(k)}, column 'id' repeats the id {quote(ids.iloc[k])} "
                          f"of line {_line(first)}; ids must be unique.")
    role = frame["role"].str.lower()
    bad = ~role.isin(["mentor", "mentee"])
    if bad.any():
        k = int(np.flatnonzero(bad.to_numpy())[0])
        raise RosterError(f"Roster line {_line(k)}, column 'role' must be 'mentor' or "
                          f"'mentee'; got {quote(frame['role'].iloc[k])}.")
    if role.nunique() < 2:
        raise RosterError(f"The {what} must have at least one mentor and one mentee; it has "
                          f"only {role.iloc[0]}s.")
    is_mentor = (role == "mentor").to_numpy()

    data: dict[str, Any] = {"participant_id": ids.to_numpy(object),
                            "role": role.to_numpy(object)}

    def text(col: str, default: str) -> np.ndarray:
        if col not in frame.columns:
            return np.full(n, default, dtype=object)
        return frame[col].where(frame[col] != "", default).to_numpy(object)

    data["name"] = text("name", "")
    data["gender"] = text("gender", "unspecified")
    data["email"] = text("email", "")
    data["locale"] = np.full(n, "", dtype=object)
    typical = {k: np.where(is_mentor, _ROLE_TYPICAL["mentor"][k], _ROLE_TYPICAL["mentee"][k])
               for k in ("age", "level", "tenure_years")}
    age = (_numbers(frame, "age", 16, 100, np.nan, "an age in years between 16 and 100")
           if "age" in frame.columns else np.full(n, np.nan))
    generation = text("generation", "")
    birth = _REFERENCE_YEAR - age
    for label, first, last in GENERATIONS:
        fill = (generation == "") & (birth >= first) & (birth <= last)
        generation[fill] = label
    generation[generation == ""] = "unspecified"
    data["age"] = np.where(np.isnan(age), typical["age"], age).astype(np.int64)
    data["generation"] = generation
    data["level"] = typical["level"].astype(np.int64)
    data["tenure_years"] = typical["tenure_years"].astype(float)
    data["department"] = text("department", "unspecified")
    data["location"] = text("location", "unspecified")
    data["country"] = text("country", "unspecified")
    data["utc_offset"] = (_numbers(frame, "utc_offset", -12, 14, 0.0,
                                   "a UTC offset in hours between -12 and 14")
                          if "utc_offset" in frame.columns else np.zeros(n))
    data["work_mode"] = text("work_mode", "hybrid")

    for prefix, list_col, domains in (("skill", "skills", digital_domains),
                                      ("lead", "leadership", leadership_domains)):
        from_list = (_skill_list(frame, list_col, domains, prefix)
                     if list_col in frame.columns else {})
        for d in domains:
            col = f"{prefix}_{d}"
            values = (_numbers(frame, col, 0, 1, np.nan, "a number in [0, 1]")
                      if col in frame.columns else np.full(n, np.nan))
            if d in from_list:
                values = np.where(np.isnan(values), from_list[d], values)
            data[col] = np.where(np.isnan(values), 0.5, values)

    goals = np.empty(n, dtype=object)
    raw_goals = frame["goals"] if "goals" in frame.columns else pd.Series([""] * n)
    for k, cell in enumerate(raw_goals):
        side = leadership_domains if is_mentor[k] else digital_domains
        items = [g.lower().replace(" ", "_") for g in _list(cell)]
        unknown = [g for g in items if g not in side]
        if unknown:
            raise RosterError(
                f"Roster line {_line(k)}, column 'goals' must list "
                f"{'leadership' if is_mentor[k] else 'digital'} domains for a "
                f"{'mentor' if is_mentor[k] else 'mentee'} ({', '.join(side)}); got "
                f"{quote(unknown[0])}.")
        goals[k] = ";".join(dict.fromkeys(items)) if items else ";".join(side)
    data["goal_domains"] = goals
    interests = np.empty(n, dtype=object)
    raw_interests = (frame["interests"] if "interests" in frame.columns
                     else pd.Series([""] * n))
    for k, cell in enumerate(raw_interests):
        interests[k] = ";".join(dict.fromkeys(normalise_interest(x) for x in _list(cell)))
    data["interests"] = interests
    for col in [f"trait_{t}" for t in TRAITS] + [f"value_{v}" for v in WORK_VALUES]:
        data[col] = (_numbers(frame, col, 0, 1, 0.5, "a number in [0, 1]")
                     if col in frame.columns else np.full(n, 0.5))
    data["availability_hours_month"] = (
        _numbers(frame, "availability", 0, 744, 4.0, "hours per month between 0 and 744")
        if "availability" in frame.columns else np.full(n, 4.0))
    if "manager_id" in frame.columns:
        data["manager_id"] = frame["manager_id"].to_numpy(object)

    order = list(_HEAD) + [k for k in data if k not in _HEAD]
    participants = pd.DataFrame({k: data[k] for k in order})
    # Mentors first, then mentees, as the generator does; roster order within a role.
    participants = participants.iloc[np.argsort(~is_mentor, kind="stable")].reset_index(drop=True)
    return Cohort(participants=participants, digital_domains=tuple(digital_domains),
                  leadership_domains=tuple(leadership_domains))


def read_roster(source: str | os.PathLike | io.TextIOBase, *,
                digital_domains: tuple[str, ...] = DIGITAL_DOMAINS,
                leadership_domains: tuple[str, ...] = LEADERSHIP_DOMAINS) -> Cohort:
    """Read and validate a roster CSV (see the module docstring); return its Cohort."""
    return roster_to_cohort(_frame(_text(source, "roster"), "roster"),
                            digital_domains=digital_domains,
                            leadership_domains=leadership_domains)


def read_forbidden_pairs(source: str | os.PathLike | io.TextIOBase, cohort: Cohort
                         ) -> tuple[tuple[str, str], ...]:
    """Read a forbidden-pairs CSV: a header and two id columns, one pair per row.

    Each pair must name one mentee and one mentor of ``cohort`` (either order).
    """
    frame = _frame(_text(source, "forbidden-pairs file"), "forbidden-pairs file")
    if frame.shape[1] < 2:
        raise RosterError("The forbidden-pairs file needs two id columns (for example "
                          "mentee_id,mentor_id); it has one.")
    roles = dict(zip(cohort.participants["participant_id"].astype(str),
                     cohort.participants["role"], strict=True))
    pairs = []
    cols = list(frame.columns[:2])
    for k, (a, b) in enumerate(frame[cols].itertuples(index=False)):
        for col, value in zip(cols, (a, b), strict=True):
            if value not in roles:
                raise RosterError(f"Forbidden-pairs line {_line(k)}, column {quote(col)} names "
                                  f"{quote(value)}, who is not in the roster.")
        if roles[a] == roles[b]:
            raise RosterError(f"Forbidden-pairs line {_line(k)} pairs two {roles[a]}s "
                              f"({quote(a)}, {quote(b)}); a pair is one mentee and one mentor.")
        pairs.append((a, b))
    return tuple(pairs)
