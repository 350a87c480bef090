"""Program designs: meeting cadence, coordinator check-ins, flag actions and levers.

A :class:`ProgramDesign` says what the program *does*; how people respond to it lives in
:class:`toolkit.behavior.BehaviorModel`. Weeks are numbered from 1 (the first week of the
program) to ``duration_weeks``; day ``d`` falls in week ``ceil(d / 7)``.

>>> from toolkit.program import ProgramDesign, preset, program_schedule
>>> design = ProgramDesign(duration_weeks=8, cadence="biweekly", checkins="monthly")
>>> program_schedule(design).meeting_week_numbers()
[1, 3, 5, 7]
>>> program_schedule(design).checkin_week_numbers()
[4, 8]
>>> preset("hartford").n_sessions
7
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from numbers import Integral
from typing import Any

import numpy as np

from toolkit._spec import Spec
from toolkit._validation import check_bool, check_int, check_option, check_real, fail

__all__ = [
    "CADENCES",
    "CHECKIN_PLANS",
    "FLAG_ACTIONS",
    "FLAG_RULES",
    "LIKERT_MAX",
    "LIKERT_MIN",
    "PRESETS",
    "ProgramDesign",
    "ProgramSchedule",
    "preset",
    "program_schedule",
]

CADENCES = ("weekly", "biweekly", "every_3_weeks", "monthly", "front_loaded")
CHECKIN_PLANS = ("none", "monthly", "survey_30_60")
FLAG_RULES = ("rating", "log", "rating_or_log")
FLAG_ACTIONS = ("coach", "rematch", "close", "none")
# Every survey in the toolkit (check-in ratings, satisfaction, self-rated skill) uses
# one five-point Likert scale, so a rating threshold must lie on it.
LIKERT_MIN, LIKERT_MAX = 1, 5
_OWNER = "ProgramDesign"
# Cadence gaps in weeks; "monthly" means every four weeks (the BBBS "monthly" contact
# and the calibration table's weeks_between = 4).
_GAPS = {"weekly": 1, "biweekly": 2, "every_3_weeks": 3, "monthly": 4}
_FRONT_LOADED_WEEKS = 4


@dataclass(frozen=True)
class ProgramDesign(Spec):
    """What the program does. Frozen and validated on construction.

    Parameters
    ----------
    duration_weeks : int >= 1
        Program length; pairs still active after the last week have *completed*.
    cadence : str or tuple of int
        Planned meeting weeks: ``weekly``, ``biweekly``, ``every_3_weeks``, ``monthly``
        (every 4 weeks), ``front_loaded`` (weekly for 4 weeks, then biweekly), or an
        explicit tuple of week numbers in ``[1, duration_weeks]``.
    n_sessions : int >= 1 or None
        Cap on planned sessions: only the first ``n_sessions`` cadence weeks are kept
        (The Hartford's 7 sessions). None keeps them all.
    meeting_minutes : float in (0, 240]
        Planned length of one meeting.
    checkins : str or tuple of int
        Coordinator check-in plan: ``none``, ``monthly`` (weeks 4, 8, ...),
        ``survey_30_60`` (day 30, then every 60 days) or explicit week numbers. At a
        check-in every active pair answers a short rating survey.
    flag_rating : float in [1, 5]
        A check-in rating at or below this flags the pair (the "survey rating <= r" rule).
    flag_rule : str
        What a planned check-in flags on: ``rating`` (the survey rating, which reflects
        relationship quality and engagement with error), ``log`` (the meeting log: no
        meeting for ``flag_gap_weeks`` or more) or ``rating_or_log`` (either).
    flag_gap_weeks : int >= 1
        Weeks without a meeting that the ``log`` rule flags at a check-in.
    no_first_meeting_week : int or None
        Trigger: a pair with no meeting by the end of this week is contacted and flagged.
    no_meeting_weeks : int or None
        Trigger: a pair that has gone this many weeks without a meeting is contacted and
        flagged (once per gap).
    on_flag : str
        What a flag triggers: ``coach`` (the coordinator coaches the pair), ``rematch``
        (the mentee gets a new mentor from the mentors with free capacity; capacity is
        the matching's, :class:`toolkit.experiment.MatchSpec`), ``close``, or ``none``
        (flags are recorded and nothing is done: how to evaluate a rule's early warning).
    goal_setting, structured_agenda, mentor_training, recognition, virtual : bool
        Practice levers: written goals, mentee-led agendas, mentor training before the
        first meeting, public recognition, meetings held by video rather than in person.
    """

    duration_weeks: int = 26
    cadence: str | tuple[int, ...] = "biweekly"
    n_sessions: int | None = None
    meeting_minutes: float = 60.0
    checkins: str | tuple[int, ...] = "none"
    flag_rating: float = 2.0
    flag_rule: str = "rating"
    flag_gap_weeks: int = 4
    no_first_meeting_week: int | None = None
    no_meeting_weeks: int | None = None
    on_flag: str = "coach"
    goal_setting: bool = False
    structured_agenda: bool = False
    mentor_training: bool = False
    recognition: bool = False
    virtual: bool = False

    def __post_init__(self) -> None:
        d = check_int(self.duration_weeks, "duration_weeks", _OWNER, low=1, high=520)
        object.__setattr__(self, "cadence", _check_plan(self.cadence, "cadence", CADENCES, d))
        if self.n_sessions is not None:
            check_int(self.n_sessions, "n_sessions", _OWNER, low=1, high=d)
        check_real(self.meeting_minutes, "meeting_minutes", _OWNER, low=0, high=240, closed="right")
        object.__setattr__(
            self, "checkins", _check_plan(self.checkins, "checkins", CHECKIN_PLANS, d)
        )
        check_real(self.flag_rating, "flag_rating", _OWNER, low=LIKERT_MIN, high=LIKERT_MAX)
        if self.no_first_meeting_week is not None:
            check_int(self.no_first_meeting_week, "no_first_meeting_week", _OWNER, low=1, high=d)
        if self.no_meeting_weeks is not None:
            check_int(self.no_meeting_weeks, "no_meeting_weeks", _OWNER, low=1, high=d)
        check_option(self.on_flag, "on_flag", _OWNER, FLAG_ACTIONS)
        check_option(self.flag_rule, "flag_rule", _OWNER, FLAG_RULES)
        check_int(self.flag_gap_weeks, "flag_gap_weeks", _OWNER, low=1, high=520)
        for name in (
            "goal_setting",
            "structured_agenda",
            "mentor_training",
            "recognition",
            "virtual",
        ):
            object.__setattr__(self, name, check_bool(getattr(self, name), name, _OWNER))
        # Canonical types, so equal designs have equal data and fingerprints.
        for name in (
            "duration_weeks",
            "n_sessions",
            "no_first_meeting_week",
            "no_meeting_weeks",
            "flag_gap_weeks",
        ):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, int(getattr(self, name)))
        for name in ("meeting_minutes", "flag_rating"):
            object.__setattr__(self, name, float(getattr(self, name)))

    @property
    def has_triggers(self) -> bool:
        return self.no_first_meeting_week is not None or self.no_meeting_weeks is not None

    def replace(self, **changes: Any) -> ProgramDesign:
        """A validated copy with some fields changed."""
        return replace(self, **changes)


def _check_plan(
    value: Any, name: str, options: tuple[str, ...], duration: int
) -> str | tuple[int, ...]:
    """A named plan, or a sorted tuple of distinct week numbers within the program."""
    if isinstance(value, str):
        return check_option(value, name, _OWNER, options)
    allowed = (
        f"one of {', '.join(repr(o) for o in options)} or a list of week numbers "
        f"in [1, {duration}] (duration_weeks)"
    )
    try:
        weeks = tuple(value)
    except TypeError:
        raise fail(name, _OWNER, allowed, value) from None
    if not weeks or not all(isinstance(w, Integral) and not isinstance(w, bool) for w in weeks):
        raise fail(name, _OWNER, allowed, value)
    bad = [int(w) for w in weeks if not 1 <= w <= duration]
    if bad:
        raise fail(name, _OWNER, f"week numbers in [1, {duration}] (duration_weeks)", bad[0])
    if len(set(weeks)) != len(weeks):
        raise fail(name, _OWNER, "distinct week numbers", value)
    return tuple(sorted(int(w) for w in weeks))


@dataclass(frozen=True)
class ProgramSchedule:
    """Boolean week arrays of a design (index 0 = week 1)."""

    meeting: np.ndarray
    checkin: np.ndarray
    checkin_days: tuple[int, ...]

    def meeting_week_numbers(self) -> list[int]:
        return (np.flatnonzero(self.meeting) + 1).tolist()

    def checkin_week_numbers(self) -> list[int]:
        return (np.flatnonzero(self.checkin) + 1).tolist()


def _meeting_weeks(design: ProgramDesign) -> np.ndarray:
    d = design.duration_weeks
    out = np.zeros(d, dtype=bool)
    if isinstance(design.cadence, tuple):
        out[np.array(design.cadence) - 1] = True
    elif design.cadence == "front_loaded":
        out[:_FRONT_LOADED_WEEKS] = True
        out[_FRONT_LOADED_WEEKS + 1 :: 2] = True
    else:
        out[:: _GAPS[design.cadence]] = True
    if design.n_sessions is not None:
        keep = np.flatnonzero(out)[: design.n_sessions]
        out[:] = False
        out[keep] = True
    return out


def _checkin_days(design: ProgramDesign) -> tuple[int, ...]:
    """Check-in days (day 1 = first day) of a named plan; explicit weeks give their last day."""
    last_day = 7 * design.duration_weeks
    if isinstance(design.checkins, tuple):
        return tuple(7 * w for w in design.checkins)
    if design.checkins == "monthly":
        return tuple(range(28, last_day + 1, 28))
    if design.checkins == "survey_30_60":
        return tuple(range(30, last_day + 1, 60))
    return ()


def program_schedule(design: ProgramDesign) -> ProgramSchedule:
    """Turn a design into boolean arrays of meeting weeks and check-in weeks.

    >>> s = program_schedule(ProgramDesign(duration_weeks=30, checkins="survey_30_60"))
    >>> s.checkin_days, s.checkin_week_numbers()
    ((30, 90, 150, 210), [5, 13, 22, 30])
    """
    if not isinstance(design, ProgramDesign):
        raise fail("design", "program_schedule", "a ProgramDesign", design)
    days = _checkin_days(design)
    checkin = np.zeros(design.duration_weeks, dtype=bool)
    if days:
        checkin[np.ceil(np.array(days) / 7).astype(int) - 1] = True
    return ProgramSchedule(meeting=_meeting_weeks(design), checkin=checkin, checkin_days=days)


# Named presets from the calibration table (toolkit/data/calibration_targets.csv). Each sets
# only what its source describes; everything else keeps the ProgramDesign default.
PRESETS: dict[str, dict[str, Any]] = {
    # The Hartford: 7 one-on-one sessions of 30-60 minutes every 3 weeks (DeAngelis 2013).
    "hartford": {
        "cadence": "every_3_weeks",
        "n_sessions": 7,
        "meeting_minutes": 45.0,
        "duration_weeks": 21,
    },
    # Big Brothers Big Sisters: a caseworker contacts each match monthly in year 1.
    "bbbs_checkins": {"checkins": "monthly", "on_flag": "coach"},
    # Mentorloop: quality survey at 30 days, then every 60 days.
    "mentorloop_surveys": {"checkins": "survey_30_60", "on_flag": "coach"},
    # Guider: no meeting for 90 days (+7 days grace) closes the relationship. The weekly
    # model acts at the first week boundary after 97 days: week ceil(97 / 7) = 14.
    "guider_inactivity": {"no_meeting_weeks": math.ceil((90 + 7) / 7), "on_flag": "close"},
}


def preset(name: str, **overrides: Any) -> ProgramDesign:
    """A named design preset, optionally with fields overridden.

    >>> preset("bbbs_checkins", duration_weeks=52).checkins
    'monthly'
    """
    check_option(name, "name", "preset", PRESETS)
    return ProgramDesign(**{**PRESETS[name], **overrides})
