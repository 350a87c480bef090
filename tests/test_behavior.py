"""BehaviorModel: documented parameters and validation."""

from __future__ import annotations

from dataclasses import fields

import pytest

from toolkit.behavior import BehaviorModel
from toolkit.errors import InvalidParameterError


def test_every_parameter_has_unit_meaning_and_source():
    table = BehaviorModel().describe()
    assert list(table["parameter"]) == [f.name for f in fields(BehaviorModel)]
    for col in ("unit", "meaning", "source"):
        assert (table[col].str.len() > 0).all(), col
    assert table["source"].str.contains("Eby et al. 2013").any()
    assert (
        BehaviorModel(learn_mentee=0.05)
        .describe()
        .set_index("parameter")
        .loc["learn_mentee", "value"]
        == 0.05
    )


@pytest.mark.parametrize(
    "name",
    [
        "learn_mentee",
        "quality_decay",
        "closure_gap",
        "engagement_miss",
        "coach_hours",
        "satisfaction_noise_sd",
    ],
)
def test_negative_rates_are_refused(name):
    with pytest.raises(
        InvalidParameterError, match=f"'{name}' parameter of BehaviorModel.*got -0.1"
    ):
        BehaviorModel(**{name: -0.1})


def test_shares_above_one_and_non_numbers_are_refused():
    with pytest.raises(InvalidParameterError, match="quality_approach"):
        BehaviorModel(quality_approach=1.5)
    with pytest.raises(InvalidParameterError, match="meet_base"):
        BehaviorModel(meet_base=float("nan"))
    assert BehaviorModel(closure_base=-7).closure_base == -7.0  # log-odds may be negative


def test_model_doc_agrees_with_describe():
    """docs/model.md's parameter table is BehaviorModel.describe(): they cannot drift."""
    from pathlib import Path

    from toolkit.behavior import parameter_table_markdown

    doc = (Path(__file__).resolve().parents[1] / "docs" / "model.md").read_text()
    assert parameter_table_markdown() in doc
    for name in BehaviorModel().to_dict():
        assert f"`{name}`" in doc, name


def test_every_assumption_has_a_plausible_range_inside_its_allowed_range():
    ranges = BehaviorModel.plausible_ranges()
    assert set(ranges["parameter"]) == set(BehaviorModel.assumptions())
    table = BehaviorModel().describe().set_index("parameter")
    for r in ranges.itertuples():
        assert r.low <= r.default <= r.high, r.parameter
        lo, hi = table.loc[r.parameter, "allowed"].strip("[]").split(", ")
        assert float(lo) <= r.low and r.high <= float(hi), r.parameter


def test_every_parameter_has_one_plain_label():
    labels = {f.name: f.metadata["label"] for f in fields(BehaviorModel)}
    names = list(labels)  # one declaration per parameter: the label sits in its field
    for name in names:
        label = BehaviorModel.label(name)
        assert label and label != name and "_" not in label, name
        assert label[0].islower(), name  # reads inside a sentence
    assert len(set(labels.values())) == len(labels)  # no two parameters read alike
    assert BehaviorModel.label("closure_engagement") == (
        "how strongly lost engagement drives closure"
    )
    assert BehaviorModel.label("not_a_parameter") == "not_a_parameter"
