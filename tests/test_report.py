"""Plain-language sentences: sign, intervals crossing zero or one, units, number formatting."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit.report import findings_html, fmt_ci, fmt_number, fmt_p, sentence, sentences, table_html

ROW = {
    "effect": "risk_difference",
    "group": "optimal",
    "reference": "random",
    "estimate": 0.091,
    "ci_low": 0.042,
    "ci_high": 0.140,
    "outcome": "completed",
}
LABELS = {"optimal": "Optimal matching"}


def test_issue_example_sentence():
    assert (
        sentence(ROW, labels=LABELS, outcome="completion")
        == "Optimal matching raised completion by 9.1 points (95% CI 4.2 to 14.0) over random."
    )


def test_negative_effect_says_lowered_with_magnitude():
    row = {**ROW, "estimate": -0.05, "ci_low": -0.09, "ci_high": -0.01}
    assert (
        sentence(row, labels=LABELS, outcome="completion")
        == "Optimal matching lowered completion by 5.0 points (95% CI 1.0 to 9.0) compared with random."
    )


def test_negative_gain_reports_the_interval_of_the_magnitude():
    row = {
        "effect": "gain",
        "group": "control",
        "estimate": -0.3,
        "ci_low": -0.5,
        "ci_high": -0.1,
        "outcome": "digital skill",
    }
    s = sentence(row, unit="Likert points")
    assert (
        s
        == "Digital skill fell by 0.3 Likert points from pre to post in control (95% CI 0.1 to 0.5)."
    )


@pytest.mark.parametrize("low, high", [(-0.01, 0.14), (-0.2, -0.0), (0.0, 0.1)])
def test_interval_touching_or_crossing_zero_is_no_clear_difference(low, high):
    s = sentence({**ROW, "ci_low": low, "ci_high": high}, labels=LABELS, outcome="completion")
    assert s.startswith(
        "There was no clear difference in completion between optimal matching and random"
    )
    assert "raised" not in s and "lowered" not in s


def test_units_and_scale_for_continuous_outcomes():
    row = {
        "effect": "difference",
        "group": "weekly",
        "reference": "biweekly",
        "estimate": 0.123,
        "ci_low": 0.05,
        "ci_high": 0.2,
        "outcome": "final_quality",
    }
    assert (
        sentence(row, outcome="relationship quality", unit="points on a 0-1 scale", digits=2)
        == "Weekly raised relationship quality by 0.12 points on a 0-1 scale (95% CI 0.05 to 0.20) over biweekly."
    )
    assert "by 12.3 percentage points" in sentence(row, scale=100, unit="percentage points")


def test_ratios_compare_against_one():
    hr = {
        "effect": "hazard_ratio",
        "group": "monthly check-ins",
        "reference": "none",
        "estimate": 0.65,
        "ci_low": 0.5,
        "ci_high": 0.85,
        "outcome": "early closure",
    }
    assert sentence(hr) == (
        "Monthly check-ins had 35% lower hazard of early closure than none "
        "(HR 0.65, 95% CI 0.50 to 0.85)."
    )
    crossing = sentence({**hr, "ci_high": 1.2})
    assert crossing.startswith("There was no clear difference in the hazard of early closure")
    odds = sentence(
        {
            **hr,
            "effect": "odds_ratio",
            "estimate": 1.8,
            "ci_low": 1.2,
            "ci_high": 2.7,
            "outcome": "completion",
        }
    )
    assert odds.startswith("Monthly check-ins had 80% higher odds of completion than none (OR 1.80")


def test_gain_and_logrank_and_level_sentences():
    gain = {
        "effect": "gain",
        "group": "mentees",
        "estimate": 0.4,
        "ci_low": 0.2,
        "ci_high": 0.6,
        "outcome": "digital confidence",
    }
    assert (
        sentence(gain, unit="Likert points")
        == "Digital confidence rose by 0.4 Likert points from pre to post in mentees (95% CI 0.2 to 0.6)."
    )
    assert "no clear change" in sentence({**gain, "ci_low": -0.1})
    lr = {"effect": "logrank", "estimate": 12.34, "p_value": 0.0004, "outcome": "early closure"}
    assert (
        sentence(lr)
        == "The log-rank test found a clear difference in early closure across arms (chi-square 12.3, p < 0.001)."
    )
    prop = {
        "effect": "proportion",
        "group": "random",
        "estimate": 0.55,
        "ci_low": 0.5,
        "ci_high": 0.6,
        "outcome": "completion",
    }
    assert sentence(prop) == "Random: completion 55.0% (95% CI 50.0 to 60.0)."


def test_number_formatting_in_one_place():
    assert fmt_number(1234.567) == "1,234.6"
    assert fmt_number(-0.04) == "0.0"
    assert fmt_number(float("nan")) == "-"
    assert fmt_ci(-1, 2.345, digits=2) == "95% CI -1.00 to 2.35"
    assert [fmt_p(p) for p in (0.0001, 0.0042, 0.04, 0.5)] == [
        "p < 0.001",
        "p = 0.004",
        "p = 0.04",
        "p = 0.50",
    ]


def test_sentences_and_html_helpers_escape():
    frame = pd.DataFrame([ROW, {**ROW, "effect": "mean"}])
    assert sentences(frame, effects=("risk_difference",), outcome="completion") == [
        sentence(ROW, outcome="completion")
    ]
    html = findings_html(["A <b> & C"])
    assert "<li>A &lt;b&gt; &amp; C</li>" in html and html.startswith("<h2>Findings</h2>")
    table = table_html(pd.DataFrame([{**ROW, "p_value": 0.0001}]), caption="Completion")
    assert (
        "<th>95% CI</th>" in table
        and "<td>0.04 to 0.14</td>" in table
        and "<td>&lt; 0.001</td>" in table
    )


def test_roster_text_in_rendered_html_shows_as_text():
    """A name such as <script>...</script> from a roster is shown, never run."""
    evil = "<script>alert('x')</script>"
    row = {**ROW, "group": evil}
    page = findings_html(
        [sentence(row, labels={evil: evil}, outcome="completion")], title=evil
    ) + table_html(pd.DataFrame({"name": [evil], evil: [1.0]}), caption=evil)
    assert "<script>" not in page
    assert page.count("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;") >= 4
