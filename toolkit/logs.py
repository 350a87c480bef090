"""A program's own logs: meetings, check-ins and pairs, read, checked and put in weeks.

A mentoring platform (or a spreadsheet) exports three tables; :func:`read_logs` reads them
from a folder holding ``meetings.csv``, ``checkins.csv`` and ``pairs.csv``:

=========  ==========================================================================
table      columns (canonical names; map others with ``--column "Session Date=date"``)
=========  ==========================================================================
meetings   pair, date, held (yes/no, true/false, 1/0, held/missed), minutes (optional)
checkins   pair, date, rating (on the five-point scale 1-5)
pairs      pair, start, cadence (weekly, biweekly, every_3_weeks, monthly), end
           (optional: the date a pair ended), reason (optional: why it ended)
=========  ==========================================================================

``reason`` takes the model's closure reasons (:data:`LOG_REASONS`: outside_event,
low_quality, lost_engagement, missed_contact, coordinator_close, declined_rematch),
``other`` (ended early, reason not recorded) or ``completed`` (the pair finished the
program: not an early ending). A platform's own words are mapped with ``--value
"reason:Moved away=outside_event"`` or a mapping file (:mod:`toolkit._columns`, shared
with the roster reader).

Every problem is found in one pass and reported in one :class:`LogsError` (its
``problems`` list holds one sentence each; the message shows the first
:data:`MAX_PROBLEMS`). Any column that is not canonical (names, e-mails, notes) is dropped
on reading and never reaches a message, a table or a report: a message names a row by its
table and line, and shows a cell only from a column that holds no personal text (dates,
ratings, cadences, reasons).

Days become weeks of each pair's own program: day ``d`` after its start (day 0) falls
in week ``d // 7 + 1``, so week 1 is the pair's first week, as in the simulation.
:class:`ProgramTables` is that week form, the one form summaries read, whether the
tables came from logs (:meth:`ProgramLogs.tables`) or from a simulation
(:func:`from_simulation`); :func:`to_logs` and :func:`write_logs` turn a simulation's
tables back into dated logs, which is how the summaries are proved identical on both.

>>> import datetime as dt
>>> tables = ProgramTables(
...     pairs=pd.DataFrame({"program": [0], "pair": [0], "cadence": ["weekly"],
...                         "observed_weeks": [3], "closed_week": [0], "reason": [""]}),
...     meetings=pd.DataFrame({"program": [0] * 3, "pair": [0] * 3, "week": [1, 2, 3],
...                            "held": [True, False, True]}),
...     checkins=pd.DataFrame({"program": [0], "pair": [0], "week": [3], "rating": [4.0]}))
>>> logs = to_logs(tables, start=dt.date(2026, 1, 5))
>>> list(logs["meetings"]["date"].astype(str))
['2026-01-07', '2026-01-14', '2026-01-21']
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit._columns import ColumnMapping, normalise_name, normalise_value, resolve_header, snippet
from toolkit._io import staged_folder, write_table
from toolkit._validation import quote
from toolkit.errors import InvalidParameterError
from toolkit.program import LIKERT_MAX, LIKERT_MIN

__all__ = [
    "LOG_CADENCES",
    "LOG_HEADERS",
    "LOG_REASONS",
    "MAX_PROBLEMS",
    "MAX_WEEKS",
    "MIN_PAIRS",
    "SCHEMAS",
    "LogsError",
    "ProgramLogs",
    "ProgramTables",
    "from_simulation",
    "read_logs",
    "to_logs",
    "write_logs",
]

#: Planned cadences a pairs table may name (the model's fixed cadences).
LOG_CADENCES = ("weekly", "biweekly", "every_3_weeks", "monthly")
# The engine's closure reasons (``toolkit._engine.CLOSURE_REASONS``, equal by a test),
# written out so that reading logs does not import the engine and the matching.
_CLOSURE_REASONS = (
    "low_quality",
    "lost_engagement",
    "missed_contact",
    "outside_event",
    "coordinator_close",
    "declined_rematch",
)
#: Reasons a pairs table may give for an ending: the model's closure reasons, ``other``
#: (an early ending with no recorded reason) and ``completed`` (not an early ending).
LOG_REASONS = (*_CLOSURE_REASONS, "other", "completed")
#: The fewest pairs a fit accepts: below it the summaries are too noisy to say anything
#: (each closure-hazard bin would rest on a handful of pair-weeks).
MIN_PAIRS = 20
#: The model's horizon: no calibration target or check covers programs beyond two years.
MAX_WEEKS = 104
#: How many problems a LogsError message shows (all are in ``.problems``).
MAX_PROBLEMS = 20

#: table -> (required columns, optional columns). Columns holding no personal text
#: (whose cells a message may show) are every column except ``pair``.
SCHEMAS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "meetings": (("pair", "date", "held"), ("minutes",)),
    "checkins": (("pair", "date", "rating"), ()),
    "pairs": (("pair", "start", "cadence"), ("end", "reason")),
}
_ALIASES = {"pair_id": "pair", "start_date": "start", "end_date": "end"}
#: Headers mentoring platforms and spreadsheets often use for a canonical column (as
#: normalise_name writes them), offered as "did you mean" when that column is missing.
#: Written by hand: no library publishes these exports' headers.
LOG_HEADERS: dict[str, tuple[str, ...]] = {
    "pair": (
        "match_id",
        "pairing_id",
        "relationship_id",
        "mentorship_id",
        "connection_id",
        "match",
        "pairing",
        "mentorship",
    ),
    "date": (
        "session_date",
        "meeting_date",
        "check_in_date",
        "checkin_date",
        "survey_date",
        "submitted_at",
        "scheduled_for",
        "date_of_session",
        "when",
    ),
    "held": ("status", "session_status", "attended", "attendance", "completed", "outcome"),
    "minutes": ("duration", "duration_minutes", "duration_min", "length", "length_minutes"),
    "rating": ("score", "health_score", "satisfaction", "check_in_score", "rating_1_5"),
    "start": ("matched_on", "match_date", "created_at", "started_on", "start_on"),
    "end": ("closed_on", "closure_date", "ended_on", "end_on"),
    "reason": ("closure_reason", "end_reason", "reason_for_closure", "reason_closed"),
    "cadence": ("meeting_frequency", "frequency", "planned_cadence", "cadence_planned"),
}
_HELD = {
    "yes": True,
    "y": True,
    "true": True,
    "1": True,
    "held": True,
    "met": True,
    "no": False,
    "n": False,
    "false": False,
    "0": False,
    "missed": False,
    "cancelled": False,
    "canceled": False,
    "no_show": False,
}
# Days into a week at which exported rows fall (a meeting midweek, a check-in on the
# Thursday, an ending on the last day of its week).
_MEETING_DAY, _CHECKIN_DAY, _END_DAY = 2, 3, 6


class LogsError(InvalidParameterError):
    """The logs have problems; ``problems`` holds one sentence per problem."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        shown = self.problems[:MAX_PROBLEMS]
        more = len(self.problems) - len(shown)
        head = (
            shown[0]
            if len(self.problems) == 1
            else f"The logs have {len(self.problems)} problems: "
            + " ".join(shown)
            + (f" (and {more} more)" if more else "")
        )
        super().__init__(head)


@dataclass(frozen=True)
class ProgramTables:
    """Programs in weeks: the one form every summary reads.

    ``pairs``: program, pair (0..n-1 within a program), cadence, observed_weeks (weeks of
    the pair seen by the end of the logs or by its ending), closed_week (the week it ended
    early, 0 if it did not), reason (``""`` if open or completed). ``meetings``: program,
    pair, week, held (scheduled meetings only). ``checkins``: program, pair, week, rating.
    Several programs stack on the ``program`` column (how a reference table is summarised
    in one pass).
    """

    pairs: pd.DataFrame
    meetings: pd.DataFrame
    checkins: pd.DataFrame

    @property
    def n_programs(self) -> int:
        return int(self.pairs["program"].max()) + 1 if len(self.pairs) else 0


@dataclass(frozen=True)
class ProgramLogs:
    """Checked logs of one program (canonical columns only; no personal column survives).

    ``as_of`` is the date the logs run to; ``minutes`` the median length of a held
    meeting (60 when the meetings table has no minutes).
    """

    meetings: pd.DataFrame
    checkins: pd.DataFrame
    pairs: pd.DataFrame
    as_of: dt.date
    minutes: float = 60.0

    def tables(self, as_of: dt.date | None = None) -> ProgramTables:
        """The logs in weeks (see :class:`ProgramTables`); ``as_of`` cuts them at a date."""
        cut = self.as_of if as_of is None else as_of
        pairs = self.pairs[self.pairs["start"] <= cut].reset_index(drop=True)
        code = pd.Series(np.arange(len(pairs)), index=pairs["pair"].to_numpy())
        start = pd.Series(pairs["start"].to_numpy(), index=pairs["pair"].to_numpy())
        ended = pairs["end"].notna() & (pairs["end"] <= cut)
        early = ended & (pairs["reason"] != "completed")
        end_week = _weeks(pairs["start"], pairs["end"].where(ended, cut))
        seen = np.minimum(_weeks(pairs["start"], pd.Series([cut] * len(pairs))), MAX_WEEKS)
        observed = np.where(ended, end_week, seen)

        def in_weeks(frame: pd.DataFrame) -> pd.DataFrame:
            frame = frame[frame["pair"].isin(code.index) & (frame["date"] <= cut)]
            week = _weeks(frame["pair"].map(start), frame["date"])
            return pd.DataFrame(
                {"program": 0, "pair": frame["pair"].map(code).to_numpy(), "week": week},
                index=frame.index,
            )

        m = in_weeks(self.meetings)
        m["held"] = self.meetings.loc[m.index, "held"].astype(bool)
        c = in_weeks(self.checkins)
        c["rating"] = self.checkins.loc[c.index, "rating"].astype(float)
        out = pd.DataFrame(
            {
                "program": 0,
                "pair": np.arange(len(pairs)),
                "cadence": pairs["cadence"].to_numpy(),
                "observed_weeks": observed.astype(np.int64),
                "closed_week": np.where(early, end_week, 0).astype(np.int64),
                "reason": np.where(early, pairs["reason"].fillna("other"), ""),
            }
        )
        return ProgramTables(
            pairs=out,
            meetings=m.sort_values(["pair", "week"]).reset_index(drop=True),
            checkins=c.sort_values(["pair", "week"]).reset_index(drop=True),
        )

    @property
    def pair_ids(self) -> list[str]:
        """The programs' own pair ids, in the order of :meth:`tables`' pair codes."""
        return [str(p) for p in self.pairs["pair"]]


def _weeks(start: pd.Series, date: pd.Series) -> np.ndarray:
    days = (
        pd.to_datetime(pd.Series(date).to_numpy()) - pd.to_datetime(pd.Series(start).to_numpy())
    ).days
    return np.asarray(days, np.int64) // 7 + 1


# --------------------------------------------------------------------------- reading


def _read_csv(path: Path, table: str, problems: list[str]) -> pd.DataFrame | None:
    if not path.is_file():
        problems.append(
            f"The {table} table {quote(str(path))} does not exist; the logs folder "
            f"must hold meetings.csv, checkins.csv and pairs.csv."
        )
        return None
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=True)
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError):
        problems.append(f"The {table} table {quote(str(path))} is not a readable UTF-8 CSV file.")
        return None
    if frame.empty:
        problems.append(
            f"The {table} table {quote(str(path))} is empty; it needs a header "
            "row and at least one row."
        )
        return None
    return frame


def _canonical(
    frame: pd.DataFrame, table: str, mapping: ColumnMapping, problems: list[str]
) -> pd.DataFrame | None:
    """Keep and rename the canonical columns; name each missing required one with a hint."""
    required, optional = SCHEMAS[table]
    known = (*required, *optional)
    res = resolve_header(list(frame.columns), known, aliases=_ALIASES, mapping=mapping)
    missing = [c for c in required if c not in res.source]
    for col in missing:
        hint = next(
            (h for _, h, _s in res.ignored if normalise_name(h) in LOG_HEADERS[col]),
            next((h for _, h, s in res.ignored if s == col), None),
        )
        fix = (
            f' (did you mean {quote(hint)}? map it with --column "{hint}={col}")'
            if hint
            else f' (map the column that holds it with --column "HEADER={col}")'
        )
        problems.append(f"The {table} table has no column {quote(col)}{fix}.")
    if missing:
        return None
    keep = {i: n for i, n in enumerate(res.names) if n is not None}
    out = frame.iloc[:, list(keep)].copy()
    out.columns = list(keep.values())
    out = out.loc[:, ~out.columns.duplicated()]
    for col in optional:
        if col not in out:
            out[col] = ""
    values = {c: m for c, m in mapping.values.items() if c in out}
    for col, m in values.items():
        norm = out[col].map(normalise_value)
        out[col] = norm.map(m).fillna(out[col])
    out.index = np.arange(2, len(out) + 2)  # the file line of each row (header is line 1)
    return out


def _dates(
    frame: pd.DataFrame, col: str, table: str, problems: list[str], *, optional: bool = False
) -> pd.Series:
    text = frame[col].str.strip()
    parsed = pd.to_datetime(text, errors="coerce", format="mixed", dayfirst=False)
    bad = parsed.isna() & ~(optional & (text == ""))
    for line in frame.index[bad]:
        problems.append(
            f"The {table} table, line {line}, column {quote(col)}: "
            f"{snippet(frame.at[line, col])} is not a date (use YYYY-MM-DD)."
        )
    return parsed.dt.date.where(parsed.notna(), None)


def read_logs(
    folder: str | os.PathLike,
    mapping: ColumnMapping | None = None,
    *,
    as_of: dt.date | None = None,
    today: dt.date | None = None,
) -> ProgramLogs:
    """Read and check a program's logs from ``folder`` (see the module for the tables).

    ``as_of`` is the date the logs run to (default: the latest date in them); ``today``
    the date after which a date is "in the future" (default: today). Raises one
    :class:`LogsError` listing every problem found.
    """
    mapping = mapping or ColumnMapping()
    folder = Path(folder)
    problems: list[str] = []
    if not folder.is_dir():
        raise LogsError(
            [f"The logs folder {quote(str(folder))} does not exist or is not a folder."]
        )
    today = dt.date.today() if today is None else today
    raw = {t: _read_csv(folder / f"{t}.csv", t, problems) for t in SCHEMAS}
    found = {t: _canonical(f, t, mapping, problems) for t, f in raw.items() if f is not None}
    frames = {t: f for t, f in found.items() if f is not None}
    if len(frames) < len(SCHEMAS):
        raise LogsError(problems)
    pairs, meetings, checkins = frames["pairs"], frames["meetings"], frames["checkins"]

    # pairs
    pairs["pair"] = pairs["pair"].str.strip()
    dup = pairs["pair"].duplicated(keep="first") & (pairs["pair"] != "")
    for line in pairs.index[dup]:
        first = pairs.index[(pairs["pair"] == pairs.at[line, "pair"]) & ~dup][0]
        problems.append(f"The pairs table, line {line}, repeats the pair of line {first}.")
    for line in pairs.index[pairs["pair"] == ""]:
        problems.append(f"The pairs table, line {line}, has no pair id.")
    pairs["start"] = _dates(pairs, "start", "pairs", problems)
    pairs["end"] = _dates(pairs, "end", "pairs", problems, optional=True)
    cad = pairs["cadence"].map(normalise_name)
    for line in pairs.index[~cad.isin(LOG_CADENCES)]:
        problems.append(
            f"The pairs table, line {line}, column 'cadence': "
            f"{snippet(pairs.at[line, 'cadence'])} is not a cadence; allowed are "
            f"{', '.join(LOG_CADENCES)} (map others with --value "
            f'"cadence:Every other week=biweekly").'
        )
    pairs["cadence"] = cad
    reason = pairs["reason"].map(lambda v: normalise_name(v) if v.strip() else "")
    for line in pairs.index[(reason != "") & ~reason.isin(LOG_REASONS)]:
        problems.append(
            f"The pairs table, line {line}, column 'reason': "
            f"{snippet(pairs.at[line, 'reason'])} is not a closure reason; allowed "
            f"are {', '.join(LOG_REASONS)} (map others with --value "
            f'"reason:Moved away=outside_event").'
        )
    pairs["reason"] = reason.where(pairs["end"].notna() | (reason == ""), reason)
    for line in pairs.index[(reason != "") & pairs["end"].isna()]:
        problems.append(f"The pairs table, line {line}, gives a reason but no end date.")
    pairs["reason"] = np.where(pairs["end"].notna() & (reason == ""), "other", reason)
    ok_dates = pairs["start"].notna() & pairs["end"].notna()
    before = ok_dates & (pairs["end"].where(ok_dates) < pairs["start"].where(ok_dates))
    for line in pairs.index[before.fillna(False).astype(bool)]:
        problems.append(
            f"The pairs table, line {line}: the end {pairs.at[line, 'end']} is "
            f"before the start {pairs.at[line, 'start']}."
        )
    known = set(pairs["pair"])
    start = dict(zip(pairs["pair"], pairs["start"], strict=True))
    end = dict(zip(pairs["pair"], pairs["end"], strict=True))

    def check_rows(frame: pd.DataFrame, table: str) -> None:
        frame["pair"] = frame["pair"].str.strip()
        frame["date"] = _dates(frame, "date", table, problems)
        unknown = ~frame["pair"].isin(known)
        for line in frame.index[unknown]:
            problems.append(
                f"The {table} table, line {line}, names a pair that is not in the pairs table."
            )
        ok = ~unknown & frame["date"].notna()
        s = frame["pair"].map(start)
        e = frame["pair"].map(end)
        early = ok & s.notna() & (frame["date"].where(ok) < s.where(ok))
        for line in frame.index[early.fillna(False).astype(bool)]:
            problems.append(
                f"The {table} table, line {line}: the date {frame.at[line, 'date']} "
                f"is before the pair's start {s[line]}."
            )
        late = ok & e.notna() & (frame["date"].where(ok) > e.where(ok))
        for line in frame.index[late.fillna(False).astype(bool)]:
            problems.append(
                f"The {table} table, line {line}: the date {frame.at[line, 'date']} "
                f"is after the pair's end {e[line]}."
            )
        dup = frame.duplicated(["pair", "date"], keep="first") & ok
        for line in frame.index[dup]:
            problems.append(
                f"The {table} table, line {line}, repeats the pair and date of an earlier line."
            )

    check_rows(meetings, "meetings")
    check_rows(checkins, "checkins")
    held = meetings["held"].map(lambda v: _HELD.get(normalise_name(v)))
    for line in meetings.index[held.isna()]:
        problems.append(
            f"The meetings table, line {line}, column 'held': "
            f"{snippet(meetings.at[line, 'held'])} is not yes/no (allowed: yes, no, "
            "true, false, 1, 0, held, missed)."
        )
    meetings["held"] = held.fillna(False).astype(bool)
    minutes = pd.to_numeric(meetings["minutes"].str.strip().replace("", np.nan), errors="coerce")
    bad_min = meetings["minutes"].str.strip().ne("") & ~minutes.between(1, 240)
    for line in meetings.index[bad_min]:
        problems.append(
            f"The meetings table, line {line}, column 'minutes': "
            f"{snippet(meetings.at[line, 'minutes'])} is not a number of minutes in "
            "[1, 240]."
        )
    meetings["minutes"] = minutes
    rating = pd.to_numeric(checkins["rating"].str.strip(), errors="coerce")
    bad_rating = ~rating.between(LIKERT_MIN, LIKERT_MAX)
    for line in checkins.index[bad_rating]:
        problems.append(
            f"The checkins table, line {line}, column 'rating': "
            f"{snippet(checkins.at[line, 'rating'])} is outside the scale "
            f"{LIKERT_MIN}-{LIKERT_MAX}."
        )
    checkins["rating"] = rating

    all_dates = pd.concat([pairs["start"], pairs["end"], meetings["date"], checkins["date"]])
    all_dates = all_dates[all_dates.notna()]
    future = [
        (t, f, c)
        for t, f, cols in (
            ("pairs", pairs, ("start", "end")),
            ("meetings", meetings, ("date",)),
            ("checkins", checkins, ("date",)),
        )
        for c in cols
    ]
    for table, frame, col in future:
        col_ok = frame[col].notna()
        ahead = col_ok & (frame[col].where(col_ok) > today)
        for line in frame.index[ahead.fillna(False).astype(bool)]:
            problems.append(
                f"The {table} table, line {line}, column {quote(col)}: the date "
                f"{frame.at[line, col]} is in the future (after {today})."
            )
    last = max(all_dates) if len(all_dates) else today
    as_of = last if as_of is None else as_of
    n_pairs = int((pairs["pair"] != "").sum() - dup.sum())
    if n_pairs < MIN_PAIRS:
        problems.append(
            f"The pairs table lists {n_pairs} pairs; a fit needs at least {MIN_PAIRS} pairs."
        )
    starts = pairs["start"].dropna()
    if len(starts):
        span = (as_of - min(starts)).days // 7 + 1
        if span > MAX_WEEKS:
            problems.append(
                f"The logs run {span} weeks from the first start to {as_of}; the "
                f"model's horizon is {MAX_WEEKS} weeks."
            )
    if problems:
        raise LogsError(problems)
    held_minutes = meetings.loc[meetings["held"], "minutes"].dropna()
    return ProgramLogs(
        meetings=meetings[["pair", "date", "held", "minutes"]].reset_index(drop=True),
        checkins=checkins[["pair", "date", "rating"]].reset_index(drop=True),
        pairs=pairs[["pair", "start", "cadence", "end", "reason"]].reset_index(drop=True),
        as_of=as_of,
        minutes=float(held_minutes.median()) if len(held_minutes) else 60.0,
    )


# --------------------------------------------------------------------------- simulation


def from_simulation(
    weeks: pd.DataFrame,
    events: pd.DataFrame,
    *,
    cadence: str | Sequence[str],
    observed_weeks: Sequence[int] | np.ndarray | None = None,
    program: str = "replicate",
) -> ProgramTables:
    """A simulation's ``weeks`` and ``events`` tables as :class:`ProgramTables`.

    ``program`` names the column that tells programs apart (``replicate`` or ``point``);
    pairs are numbered by ``pair_id`` within it. ``cadence`` is the planned cadence of
    every pair (one value) or one per pair of a program. ``observed_weeks`` (one per pair,
    as the pairs table of logs would show them) cuts each pair at that week, as logs run
    to a date: meetings, check-ins and endings after it are not seen.
    """
    prog = weeks[program].to_numpy(np.int64)
    progs, prog = np.unique(prog, return_inverse=True)
    pair = weeks["pair_id"].to_numpy(np.int64)
    n_pairs = int(pair.max()) + 1
    wk = weeks["week"].to_numpy(np.int64)
    horizon = int(wk.max())
    seen = (
        np.full(n_pairs, horizon, np.int64)
        if observed_weeks is None
        else np.asarray(observed_weeks, np.int64)
    )
    ev_prog = np.searchsorted(progs, events[program].to_numpy(np.int64))
    closure = (events["event"] == "closure").to_numpy()
    closed = np.zeros((len(progs), n_pairs), np.int64)
    reasons = np.full((len(progs), n_pairs), "", dtype=object)
    ev_pair = events["pair_id"].to_numpy(np.int64)
    ev_week = events["week"].to_numpy(np.int64)
    closed[ev_prog[closure], ev_pair[closure]] = ev_week[closure]
    reasons[ev_prog[closure], ev_pair[closure]] = events["reason"].astype(str).to_numpy()[closure]
    within = (closed > 0) & (closed <= seen[None, :])
    observed = np.where(within, closed, np.minimum(seen[None, :], horizon))
    cad = np.broadcast_to(np.asarray(cadence, dtype=object), (n_pairs,))
    pairs = pd.DataFrame(
        {
            "program": np.repeat(np.arange(len(progs)), n_pairs),
            "pair": np.tile(np.arange(n_pairs), len(progs)),
            "cadence": np.tile(cad, len(progs)),
            "observed_weeks": observed.ravel(),
            "closed_week": np.where(within, closed, 0).ravel(),
            "reason": np.where(within, reasons, "").ravel(),
        }
    )
    limit = observed[prog, pair]
    sched = weeks["scheduled"].to_numpy(bool) & (wk <= limit)
    meetings = pd.DataFrame(
        {
            "program": prog[sched],
            "pair": pair[sched],
            "week": wk[sched],
            "held": weeks["met"].to_numpy(bool)[sched],
        }
    )
    ck = (events["event"] == "checkin").to_numpy() & events["rating"].notna().to_numpy()
    ck &= ev_week <= observed[ev_prog, ev_pair]
    checkins = pd.DataFrame(
        {
            "program": ev_prog[ck],
            "pair": ev_pair[ck],
            "week": ev_week[ck],
            "rating": events["rating"].to_numpy(float)[ck],
        }
    )
    return ProgramTables(
        pairs=pairs,
        meetings=meetings.sort_values(["program", "pair", "week"], kind="stable").reset_index(
            drop=True
        ),
        checkins=checkins.sort_values(["program", "pair", "week"], kind="stable").reset_index(
            drop=True
        ),
    )


def to_logs(
    tables: ProgramTables,
    *,
    start: dt.date | Sequence[dt.date],
    program: int = 0,
    minutes: float = 60.0,
    prefix: str = "P",
) -> dict[str, pd.DataFrame]:
    """One program of ``tables`` as dated logs (the three tables :func:`read_logs` reads).

    ``start`` is every pair's start date, or one per pair. Rows fall on fixed days of
    their week (meetings on day 2, check-ins on day 3, an ending on day 6), so reading the
    logs back gives the same weeks. Pair ids are ``prefix`` + a number.
    """
    pairs = tables.pairs[tables.pairs["program"] == program].reset_index(drop=True)
    starts = pd.to_datetime(
        pd.Series(np.broadcast_to(np.asarray(start, dtype="datetime64[D]"), (len(pairs),)))
    )
    width = len(str(len(pairs)))
    ids = np.array([f"{prefix}{k + 1:0{width}d}" for k in range(len(pairs))], dtype=object)

    def dated(frame: pd.DataFrame, day: int) -> tuple[np.ndarray, pd.Series]:
        frame = frame[frame["program"] == program]
        code = frame["pair"].to_numpy()
        date = starts.to_numpy()[code] + pd.to_timedelta(
            7 * (frame["week"].to_numpy() - 1) + day, unit="D"
        )
        return ids[code], pd.Series(pd.to_datetime(date).date, index=frame.index)

    m_ids, m_date = dated(tables.meetings, _MEETING_DAY)
    m = tables.meetings[tables.meetings["program"] == program]
    c_ids, c_date = dated(tables.checkins, _CHECKIN_DAY)
    c = tables.checkins[tables.checkins["program"] == program]
    closed = pairs["closed_week"].to_numpy() > 0
    end = starts + pd.to_timedelta(7 * (pairs["closed_week"].to_numpy() - 1) + _END_DAY, unit="D")
    return {
        "meetings": pd.DataFrame(
            {
                "pair": m_ids,
                "date": m_date.to_numpy(),
                "held": np.where(m["held"].to_numpy(), "yes", "no"),
                "minutes": np.where(m["held"].to_numpy(), minutes, np.nan),
            }
        ),
        "checkins": pd.DataFrame(
            {"pair": c_ids, "date": c_date.to_numpy(), "rating": c["rating"].to_numpy()}
        ),
        "pairs": pd.DataFrame(
            {
                "pair": ids,
                "start": starts.dt.date.to_numpy(),
                "cadence": pairs["cadence"].to_numpy(),
                "end": np.where(closed, end.dt.date.to_numpy(), None),
                "reason": np.where(closed, pairs["reason"].to_numpy(), ""),
            }
        ),
    }


def write_logs(logs: dict[str, pd.DataFrame], folder: str | os.PathLike) -> Path:
    """Write dated logs (from :func:`to_logs`) as ``meetings.csv``, ``checkins.csv`` and
    ``pairs.csv`` in ``folder``, all or nothing."""
    with staged_folder(folder, what="logs folder") as stage:
        for name in SCHEMAS:
            write_table(logs[name], stage / f"{name}.csv")
    return Path(folder)
