"""docs/model.md's numeric claims, each tied to a computed value.

Every claim in the text carries a marker ``<!-- claim NAME VALUE TOLERANCE -->``; this
test computes NAME and checks it lies within TOLERANCE of VALUE, and that every claim it
knows is in the text (so a claim cannot be dropped silently or added untested).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import pytest

from toolkit import _engine
from toolkit.behavior import BehaviorModel
from toolkit.calibration import simulate_targets
from toolkit.cohort import CohortSpec, generate_cohort
from toolkit.matching import match
from toolkit.program import ProgramDesign

DOC = (Path(__file__).resolve().parents[1] / "docs" / "model.md").read_text()
CLAIMS = {
    m[0]: (float(m[1]), float(m[2]))
    for m in re.findall(r"<!-- claim (\w+) ([-\d.]+) ([\d.]+) -->", DOC)
}


@functools.cache
def _matching_figures() -> dict[str, float]:
    gains, sds, below = [], [], []
    for seed in range(5):
        c = generate_cohort(CohortSpec(seed=seed))
        rnd = match(c, "random", seed=seed)
        opt = match(c, "optimal", seed=seed)
        r = rnd.pairs["score_deep_similarity"]
        gains.append(opt.pairs["score_deep_similarity"].mean() - r.mean())
        sds.append(r.std())
        f = _engine.cohort_features(c).pair(rnd.mentee_index, rnd.mentor_index)
        b = _engine._Params(BehaviorModel().to_dict())
        fixed = _engine._fit_fixed(b, ProgramDesign(), f, np.zeros(len(rnd.mentee_index)))
        below.append(float((fixed < b.quality_base).mean()))
    return {
        "deep_similarity_sd": float(np.mean(sds)),
        "optimal_deep_gain": float(np.mean(gains)),
        "share_fit_below_base": float(np.mean(below)),
    }


@functools.cache
def _calibration_figures() -> dict[str, float]:
    t = simulate_targets([BehaviorModel()], replicates=12).set_index("target_id")["value"]
    out = {k: float(v) for k, v in t.items()}
    out["rating_screen_lr"] = out["rating_screen_sensitivity"] / (
        1 - out["rating_screen_specificity"]
    )
    return out


COMPUTED = {
    "deep_similarity_sd": lambda: _matching_figures()["deep_similarity_sd"],
    "optimal_deep_gain": lambda: _matching_figures()["optimal_deep_gain"],
    "share_fit_below_base": lambda: _matching_figures()["share_fit_below_base"],
    **{
        k: (lambda k=k: _calibration_figures()[k])
        for k in (
            "early_closure",
            "closure_within_12_months_star",
            "closure_mentor_attributed_star",
            "rating_screen_sensitivity",
            "rating_screen_specificity",
            "rating_screen_lr",
        )
    },
}


def test_every_claim_is_known_and_present():
    assert set(CLAIMS) == set(COMPUTED)


@pytest.mark.parametrize("name", sorted(COMPUTED))
def test_claim_matches_the_computed_value(name):
    value, tolerance = CLAIMS[name]
    got = COMPUTED[name]()
    assert abs(got - value) <= tolerance, (name, got, value)


def test_doc_states_the_calibration_ranges_of_the_table():
    from toolkit.calibration import calibration_targets

    t = calibration_targets().set_index("target_id")
    for target, text in [
        ("deep_similarity_quality", "r = .38-.59"),
        ("frequency_support", "r = .15-.35"),
        ("quality_satisfaction", "r = .28-.60"),
        ("early_closure", "15-35%"),
        ("premature_closure_programs", "15-40%"),
        ("closure_within_12_months_star", "26-36%"),
        ("closure_mentor_attributed_star", "40-80%"),
        ("rating_screen_sensitivity", "sensitivity .25-.65"),
        ("rating_screen_specificity", "specificity .60-.90"),
        ("mentoring_effect", "g = .10-.40"),
    ]:
        assert text in DOC.replace("\n  ", " ").replace("\n", " "), text
        lo, hi = re.findall(r"\.?\d+", text.split("= ")[-1].split(" ")[-1])[:2]
        scale = 100 if "%" in text else 1
        assert float(lo) / scale == pytest.approx(t.loc[target, "low"]), target
        assert float(hi) / scale == pytest.approx(t.loc[target, "high"]), target
