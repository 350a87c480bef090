"""Messages: user text on one line, plain wording."""

from __future__ import annotations

import pytest

from toolkit._validation import check_real, fail, one_line, quote
from toolkit.errors import InvalidParameterError


@pytest.mark.parametrize(
    "text",
    [
        "x\nerror: forged line",
        "a\rb",
        "tab\there",
        "nul\x00",
        "esc\x1b[31m",
        "line\u2028sep",
        "bidi\u202eevil",
        "c1\x85",
    ],
)
def test_control_characters_never_reach_a_message(text):
    message = str(fail("id", "read_roster", "unique", text))
    assert message.count("\n") == 0 and one_line(message) == message
    assert not any(ch in message for ch in "\r\t\x00\x1b\u2028\u202e\x85")


def test_quote_cuts_very_long_values():
    shown = quote("x" * 10_000)
    assert len(shown) == 300 and shown.endswith("...")


def test_an_unbounded_number_message_reads_plainly():
    with pytest.raises(InvalidParameterError) as info:
        check_real("1e-12", "meet_base", "BehaviorModel")
    assert str(info.value) == (
        "The 'meet_base' parameter of BehaviorModel must be a finite number; got '1e-12'."
    )
