"""ProgramDesign: cadences, check-in plans, presets, validation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolkit.errors import InvalidParameterError
from toolkit.program import PRESETS, ProgramDesign, preset, program_schedule


@pytest.mark.parametrize(
    ("cadence", "weeks"),
    [
        ("weekly", list(range(1, 11))),
        ("biweekly", [1, 3, 5, 7, 9]),
        ("every_3_weeks", [1, 4, 7, 10]),
        ("monthly", [1, 5, 9]),
        ("front_loaded", [1, 2, 3, 4, 6, 8, 10]),
        ((2, 9, 5), [2, 5, 9]),
    ],
)
def test_cadence_weeks(cadence, weeks):
    design = ProgramDesign(duration_weeks=10, cadence=cadence)
    assert program_schedule(design).meeting_week_numbers() == weeks


def test_checkin_plans():
    assert program_schedule(
        ProgramDesign(duration_weeks=13, checkins="monthly")
    ).checkin_week_numbers() == [4, 8, 12]
    s = program_schedule(ProgramDesign(duration_weeks=52, checkins="survey_30_60"))
    assert s.checkin_days == (30, 90, 150, 210, 270, 330)
    assert s.checkin_week_numbers() == [5, 13, 22, 30, 39, 48]
    assert not program_schedule(ProgramDesign()).checkin.any()


def test_presets_follow_their_sources():
    hartford = program_schedule(preset("hartford")).meeting_week_numbers()
    assert hartford == [1, 4, 7, 10, 13, 16, 19]
    assert preset("hartford").meeting_minutes == 45
    assert program_schedule(preset("bbbs_checkins")).checkin_week_numbers() == [
        4,
        8,
        12,
        16,
        20,
        24,
    ]
    assert preset("mentorloop_surveys").checkins == "survey_30_60"
    guider = preset("guider_inactivity")
    assert (guider.no_meeting_weeks, guider.on_flag) == (14, "close")
    assert preset("bbbs_checkins", duration_weeks=52).duration_weeks == 52


def test_unknown_preset_lists_valid_ones():
    with pytest.raises(InvalidParameterError) as err:
        preset("mentoring_deluxe")
    for name in PRESETS:
        assert name in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"duration_weeks": 0}, ["duration_weeks", "got 0"]),
        ({"duration_weeks": 10, "cadence": (1, 11)}, ["cadence", "[1, 10]", "got 11"]),
        ({"duration_weeks": 10, "checkins": (12,)}, ["checkins", "got 12"]),
        ({"cadence": "fortnightly"}, ["cadence", "'weekly'", "fortnightly"]),
        ({"checkins": "weekly"}, ["checkins", "'survey_30_60'"]),
        ({"flag_rating": 0.5}, ["flag_rating", "[1, 5]"]),
        ({"flag_rating": 6}, ["flag_rating", "got 6"]),
        ({"no_meeting_weeks": 30}, ["no_meeting_weeks", "got 30"]),
        ({"no_first_meeting_week": 0}, ["no_first_meeting_week"]),
        ({"on_flag": "fire"}, ["on_flag", "'rematch'"]),
        ({"meeting_minutes": -30}, ["meeting_minutes"]),
        ({"n_sessions": 40}, ["n_sessions"]),
        ({"virtual": "yes"}, ["virtual", "True or False"]),
        ({"cadence": (3, 3)}, ["cadence", "distinct"]),
    ],
)
def test_bad_input_names_parameter_and_value(kwargs, words):
    with pytest.raises(InvalidParameterError) as err:
        ProgramDesign(**kwargs)
    message = str(err.value)
    assert message.startswith("The ") and message.endswith(".")
    for w in words:
        assert w in message


def test_frozen():
    design = ProgramDesign()
    with pytest.raises(AttributeError):
        design.duration_weeks = 3  # type: ignore[misc]
    assert design.replace(cadence="weekly").cadence == "weekly"


@given(duration=st.integers(1, 60), data=st.data())
def test_explicit_weeks_round_trip(duration, data):
    weeks = data.draw(st.sets(st.integers(1, duration), min_size=1))
    s = program_schedule(
        ProgramDesign(duration_weeks=duration, cadence=tuple(weeks), checkins=tuple(weeks))
    )
    assert s.meeting_week_numbers() == sorted(weeks) == s.checkin_week_numbers()
    assert s.meeting.shape == (duration,)
