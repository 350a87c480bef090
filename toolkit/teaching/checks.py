"""Exercise checks: an answer against the value computed from the toolkit, with a hint,
never the answer; a wrong type or shape gets a sentence, never a traceback."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

# --------------------------------------------------------------------------- checks
from toolkit.teaching.exercises import EXERCISES, Exercise
from toolkit.teaching.programs import (
    NoDesign,
    try_design,
)


@dataclass(frozen=True)
class Feedback:
    """The verdict of a check cell: ``correct`` and a message (never the answer)."""

    key: str
    correct: bool
    message: str

    def __repr__(self) -> str:
        return self.message

    def _repr_html_(self) -> str:
        color = "#e6f4ea" if self.correct else "#fdecea"
        border = "#009E73" if self.correct else "#D55E00"
        return (
            f'<div class="rmt-check" style="background:{color};border-left:4px solid '
            f'{border};padding:6px 10px;margin:4px 0">{html.escape(self.message)}</div>'
        )

    def __bool__(self) -> bool:
        return self.correct


class _Unanswered(Exception):
    """Internal: the answer is still the blank placeholder."""


class _WrongForm(Exception):
    """Internal: the answer has the wrong type or shape; the message is for the student."""


def _is_blank(answer: Any) -> bool:
    return answer is ... or answer is None or (isinstance(answer, str) and not answer.strip())


def _as_number(answer: Any, integer: bool = False) -> float:
    what = "a whole number" if integer else "a number"
    if isinstance(answer, bool):
        raise _WrongForm(f"this answer should be {what}, not True or False.")
    if isinstance(answer, np.ndarray) and answer.size == 1:
        answer = answer.item()
    if isinstance(answer, pd.Series | pd.DataFrame | np.ndarray | list | tuple | dict | set):
        raise _WrongForm(
            f"this answer should be a single number, not a "
            f"{type(answer).__name__} of several values; pick out the one "
            "number asked for."
        )
    if isinstance(answer, str):
        raise _WrongForm(
            f"this answer should be {what}, not text in quotes; write it "
            "without quotes, e.g. answer = 0.42."
        )
    if not isinstance(answer, Real) or not math.isfinite(float(answer)):
        raise _WrongForm(f"this answer should be {what}; got a {type(answer).__name__}.")
    value = float(answer)
    if integer and value != round(value):
        raise _WrongForm("this answer should be a whole number (a count), not a fraction.")
    return value


def _as_choice(answer: Any, options: Sequence[str]) -> str:
    letters = ", ".join(repr(o) for o in options)
    if not isinstance(answer, str):
        raise _WrongForm(
            f"this answer should be one letter in quotes ({letters}); got a "
            f"{type(answer).__name__}."
        )
    text = answer.strip().strip(").").strip().lower()
    if text not in options:
        raise _WrongForm(f"this answer should be one of {letters}; got {answer!r}.")
    return text


def _as_name(answer: Any, options: Sequence[str]) -> str:
    names = ", ".join(repr(o) for o in options)
    if not isinstance(answer, str):
        raise _WrongForm(
            f"this answer should be a name in quotes, one of {names}; got a "
            f"{type(answer).__name__}."
        )
    text = answer.strip().strip("'\"").lower().replace(" ", "_")
    if text not in options:
        raise _WrongForm(f"this answer should be one of {names}; got {answer!r}.")
    return text


def _as_yes_no(answer: Any) -> bool:
    if isinstance(answer, bool | np.bool_):
        return bool(answer)
    if isinstance(answer, str) and answer.strip().lower() in ("yes", "no"):
        return answer.strip().lower() == "yes"
    raise _WrongForm(f"this answer should be 'yes' or 'no' (or True or False); got {answer!r}.")


def _verdict(ex: Exercise, answer: Any, policy: Any) -> tuple[bool, str]:
    if ex.kind == "design":
        result = try_design(answer, policy)
        if isinstance(result, NoDesign):
            raise _WrongForm(result.message[0].lower() + result.message[1:])
        if not result.within_budget:
            return False, (
                f"your design needs {result.hours_per_program:.1f} coordinator "
                f"hours per program, over the budget of {result.budget:g}."
            )
        if not result.gain_difference.ci_low > 0:
            return False, (
                "your design is within the budget, but its mentee gain is not "
                "clearly above the baseline's (the interval includes 0)."
            )
        if result.completion_difference.ci_high < 0:
            return False, (
                "your design raises learning within the budget, but clearly more "
                "pairs end early than under the baseline."
            )
        return True, ""
    # Read the answer first: a wrong type or shape needs no simulation to be told so.
    if ex.kind in ("number", "count"):
        value = _as_number(answer, integer=ex.kind == "count")
        expected = float(ex.value())
        if abs(value - expected) <= ex.tolerance + 1e-12:
            return True, ""
        if ex.share and 1 < value <= 100:
            return False, (
                "that looks like a percentage; give it as a share between 0 and "
                "1 (e.g. 0.25 for 25%)."
            )
        side = "high" if value > expected else "low"
        return False, f"that is too {side}."
    if ex.kind == "choice":
        return _as_choice(answer, ex.options) == ex.value(), "that is not the best option."
    if ex.kind == "name":
        return _as_name(answer, ex.options) == ex.value(), "that is not the one."
    if ex.kind == "yes_no":
        return _as_yes_no(answer) == bool(ex.value()), "look again at the interval."
    raise ValueError(f"unknown exercise kind {ex.kind!r}")


def check_answer(key: str, answer: Any, *, policy: Any = "optimal") -> Feedback:
    """Check ``answer`` to exercise ``key``; a Feedback that says right or not, with a hint.

    ``policy`` is the matching policy of a proposed design (notebook 5 only).

    Never raises for a student's answer: a blank, a wrong type or shape, or a value the
    check cannot read all come back as a sentence. An unknown ``key`` is the notebook's
    mistake and also comes back as a sentence.

    >>> check_answer("nb1_q1", "0.5").message.startswith("Not yet: this answer should be")
    True
    """
    ex = EXERCISES.get(key) if isinstance(key, str) else None
    if ex is None:
        return Feedback(
            str(key),
            False,
            f"There is no exercise called {key!r}; the check "
            f"cell may have been edited. Exercises: {', '.join(EXERCISES)}.",
        )
    if _is_blank(answer):
        return Feedback(
            key,
            False,
            "Not yet: there is no answer here. Replace ... with your "
            "answer in the cell above, run it, then run this check again.",
        )
    try:
        correct, why_not = _verdict(ex, answer, policy)
    except _WrongForm as exc:
        return Feedback(key, False, f"Not yet: {exc} Hint: {ex.hint}")
    except Exception as exc:  # noqa: BLE001 - a check cell must never show a traceback
        return Feedback(
            key,
            False,
            f"Not yet: the check could not read this answer "
            f"({type(exc).__name__}). Hint: {ex.hint}",
        )
    if correct:
        return Feedback(key, True, f"Correct! {ex.why}".strip())
    return Feedback(key, False, f"Not yet: {why_not} Hint: {ex.hint}")
