"""Findings over an ensemble: summary and Monte Carlo error, verdicts, drivers, PRIM,
headline sentences, and run_experiment over an ensemble."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import InvalidParameterError
from toolkit.sensitivity import (
    CANNOT_TELL,
    Contrast,
    combine_seeds,
    headline_sentence,
    model_contrasts,
    model_contrasts_many,
    sign_boxes,
    spread_drivers,
    summarise_models,
)

NEARLY_ALL, MOST = "nearly all plausible models agree", "most plausible models agree"


def _ensemble(n: int, seed: int, lows=(0.0, 0.0, 0.0), highs=(1.0, 1.0, 1.0)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.uniform(lows, highs, size=(n, 3)), columns=["x", "y", "w"])


def _differences(
    params: pd.DataFrame, mean, *, replicates: int = 20, noise: float = 0.05, seed: int = 0
) -> pd.DataFrame:
    """Per model and replicate: the model's true contrast plus replicate noise."""
    rng = np.random.default_rng(seed + 1000)
    mu = mean(params)
    d = mu[:, None] + noise * rng.standard_normal((len(params), replicates))
    m, r = np.meshgrid(np.arange(len(params)), np.arange(replicates), indexing="ij")
    return pd.DataFrame({"model": m.ravel(), "replicate": r.ravel(), "difference": d.ravel()})


def positive(p):
    return 0.5 + 0.5 * p["y"].to_numpy()


def sign_by_x(p):
    return p["x"].to_numpy() - 0.5 + 0.1 * (p["y"].to_numpy() - 0.5)


def test_positive_in_every_model_gets_nearly_all_agree():
    params = _ensemble(300, seed=1)
    f = summarise_models(_differences(params, positive), seed=1)
    assert f.verdict == NEARLY_ALL and f.direction == "positive" and not f.borderline
    assert f.summary["share_positive"] == 1.0
    assert f.summary["q05"] > 0 and f.summary["q05"] < f.summary["median"] < f.summary["q95"]
    assert f.mc_check["small"]
    assert "nearly all plausible models agree: 100%" in f.verdict_text


def test_sign_set_by_one_input_cannot_tell_and_prim_finds_it():
    params = _ensemble(400, seed=2)
    d = _differences(params, sign_by_x)
    f = summarise_models(d, seed=2)
    assert f.verdict == CANNOT_TELL
    est = f.per_model["estimate"].to_numpy()
    drivers = spread_drivers(params, est, seed=0)
    assert drivers["parameter"][0] == "x"
    assert drivers["share_of_spread"][0] > 0.5 > drivers["share_of_spread"][1:].max()
    assert drivers["citation"][0].startswith("PAWN: Pianosi & Wagener 2015")
    box = sign_boxes(params, est, sign="positive")
    assert box["parameter"].tolist()[0] == "x"
    assert box["lower_restricted"][0] and 0.3 < box["low"][0] < 0.6
    assert box["density"][0] >= 0.8 and box["coverage"][0] >= 0.5
    assert box["text"][0].startswith("x is above 0.")
    small = params.iloc[:60]
    delta = spread_drivers(small, est[:60], method="delta", resamples=3)
    assert delta["parameter"][0] == "x" and "Borgonovo 2007" in delta["citation"][0]


def test_narrowing_the_deciding_input_moves_the_verdict():
    wide = _ensemble(300, seed=3)
    narrow = _ensemble(300, seed=3, lows=(0.6, 0.0, 0.0))  # x only above its flip point
    before = summarise_models(_differences(wide, sign_by_x), seed=3)
    after = summarise_models(_differences(narrow, sign_by_x), seed=3)
    assert before.verdict == CANNOT_TELL
    assert after.verdict == NEARLY_ALL and after.direction == "positive"
    half = _ensemble(300, seed=3, lows=(0.3, 0.0, 0.0))  # mostly above: "most"
    assert summarise_models(_differences(half, sign_by_x), seed=3).verdict == MOST


def test_clear_cut_verdict_is_the_same_under_five_sampling_seeds():
    runs = [
        summarise_models(_differences(_ensemble(200, seed=s), positive, seed=s), seed=s)
        for s in range(5)
    ]
    combined = combine_seeds(runs)
    assert len(set(combined.seed_verdicts)) == 1 and not combined.borderline


def test_borderline_when_the_category_changes_across_seeds():
    # a share near 75%: x above 0.25 in about three models out of four
    def near(p):
        return p["x"].to_numpy() - 0.25

    runs = [
        summarise_models(_differences(_ensemble(60, seed=s), near, seed=s), seed=s)
        for s in range(5)
    ]
    combined = combine_seeds(runs)
    cats = {r.verdict for r in runs}
    assert combined.borderline == (len(cats) > 1 or any(r.borderline for r in runs))
    assert len(cats) > 1 or any(r.borderline for r in runs)


def test_monte_carlo_error_and_check():
    params = _ensemble(200, seed=4)
    noisy = summarise_models(_differences(params, sign_by_x, noise=2.0, replicates=5), seed=4)
    assert not noisy.mc_check["small"]
    assert "not small" in noisy.mc_check["text"] and noisy.mc_check["replicates_needed"] > 5
    calm = summarise_models(_differences(params, sign_by_x, noise=0.01), seed=4)
    assert calm.mc_check["small"]
    # Monte Carlo error shrinks with less replicate noise and is 0 without any
    assert calm.summary["median_mc_error"] < noisy.summary["median_mc_error"]
    exact = summarise_models(_differences(params, sign_by_x, noise=0.0), seed=4)
    assert exact.summary["share_agree_mc_error"] == pytest.approx(0.0, abs=1e-12)
    # the bootstrap error of the median is near its sampling SD across noise draws
    meds = [
        summarise_models(_differences(params, sign_by_x, noise=0.5, seed=s), seed=s)
        for s in range(12)
    ]
    sd = np.std([m.summary["median"] for m in meds], ddof=1)
    boot = np.mean([m.summary["median_mc_error"] for m in meds])
    assert 0.4 * sd < boot < 2.5 * sd


def test_bad_input_is_refused():
    with pytest.raises(InvalidParameterError, match="model, replicate"):
        summarise_models(pd.DataFrame({"a": [1]}))
    with pytest.raises(InvalidParameterError, match="one row per model and replicate"):
        summarise_models(
            pd.DataFrame({"model": [0, 0], "replicate": [1, 1], "difference": [0.1, 0.2]})
        )
    assert spread_drivers(_ensemble(30, 0).assign(x=1.0, y=1.0, w=1.0), np.arange(30.0)).empty
    with pytest.raises(InvalidParameterError, match="at least 20 models"):
        spread_drivers(_ensemble(5, 0), np.zeros(5))
    with pytest.raises(InvalidParameterError, match="one number per row"):
        sign_boxes(_ensemble(30, 0), np.zeros(4))


def test_headline_sentence_reads_like_the_issue():
    params = _ensemble(400, seed=2)
    f = summarise_models(_differences(params, lambda p: 0.3 * sign_by_x(p) - 0.04), seed=2)
    est = f.per_model["estimate"].to_numpy()
    text = headline_sentence(
        f,
        arm="weekly hour-long meetings",
        reference="biweekly",
        more="keep more pairs",
        less="keep fewer pairs",
        drivers=spread_drivers(params, est),
        box=sign_boxes(params, est),
    )
    assert text.startswith(
        "Across the 400 models consistent with the evidence, weekly "
        "hour-long meetings keep fewer pairs than biweekly in "
    )
    assert "in 90% of them. Which way it goes depends mostly on x" in text
    assert ": if x is above 0." in text and "weekly hour-long meetings wins" in text
    assert "CI" not in text and "p =" not in text and "p-value" not in text


def test_run_experiment_over_an_ensemble_end_to_end():
    from toolkit.behavior import BehaviorModel
    from toolkit.ensemble import Ensemble
    from toolkit.experiment import ExperimentSpec, run_experiment
    from toolkit.history_matching import prior_sample

    prior = BehaviorModel.priors().query("parameter in ['quality_base', 'meet_base']")
    ens = Ensemble(
        prior_sample(prior, 5, seed=1),
        prior,
        pd.DataFrame({"target_id": ["none"]}),
        {"name": "test"},
        1,
    )
    spec = ExperimentSpec.from_dict(
        {
            "cohort": {"n_mentors": 14, "n_mentees": 12},
            "arms": {
                "weekly": {"design": {"cadence": "weekly", "duration_weeks": 10}},
                "monthly": {"design": {"cadence": "monthly", "duration_weeks": 10}},
            },
            "replicates": 3,
            "seed": 2,
        }
    )
    res = run_experiment(spec, models=ens, progress=False, tables=("outcomes",))
    assert sorted(res.outcomes["model"].unique()) == list(range(5))
    # model 3 is exactly the single-model run with its parameters (common random numbers)
    alone = run_experiment(
        spec.replace(behavior=ens.to_behaviors()[3].overrides()),
        progress=False,
        tables=("outcomes",),
    ).outcomes
    mine = res.outcomes[res.outcomes["model"] == 3].drop(columns="model")
    pd.testing.assert_frame_equal(
        mine.reset_index(drop=True), alone[mine.columns].reset_index(drop=True)
    )
    d = model_contrasts(res.outcomes, Contrast("weekly", "monthly", "meetings_held"))
    assert d.shape == (15, 3)
    f = summarise_models(d)
    assert f.summary["models"] == 5 and f.direction == "positive"
    with pytest.raises(InvalidParameterError, match="'models' parameter of run_experiment"):
        run_experiment(spec, models=ens, behaviors=ens.to_behaviors(), progress=False)
    # outcome_columns: the keys and the chosen columns, the same numbers, in any pass
    for workers in (None, 2):
        few = run_experiment(
            spec,
            models=ens,
            progress=False,
            tables=("outcomes",),
            outcome_columns=["meetings_held", "completed"],
            workers=workers,
        ).outcomes
        assert list(few.columns) == [
            "model", "replicate", "arm", "pair_id", "meetings_held", "completed"
        ]  # fmt: skip
        pd.testing.assert_frame_equal(few, res.outcomes[few.columns])
    one = run_experiment(spec, progress=False, tables=("outcomes",), outcome_columns="completed")
    assert list(one.outcomes.columns) == ["replicate", "arm", "pair_id", "completed"]
    with pytest.raises(InvalidParameterError, match="'outcome_columns' parameter.*got 'score'"):
        run_experiment(spec, models=ens, progress=False, outcome_columns=["score"])


def _grouped(outcomes: pd.DataFrame, c: Contrast) -> pd.DataFrame:
    """The contrast by a plain pandas grouping (what model_contrasts_many must equal)."""
    o = outcomes[outcomes["arm"].isin([c.arm, c.reference])]
    keys = [o["model"], o["replicate"], o["arm"].astype(str)]
    wide = o[c.outcome].astype("float64").groupby(keys).mean().unstack("arm")
    return (wide[c.arm] - wide[c.reference]).rename("difference").reset_index()


@pytest.mark.parametrize("seed", range(6))
def test_model_contrasts_many_equals_a_plain_grouping(seed):
    """Bit for bit, whatever the row order, the keys' types, missing rows and values."""
    rng = np.random.default_rng(seed)
    models, reps, arms = rng.integers(1, 6), rng.integers(1, 5), ["a", "b", "c", "d"]
    m, r, a, _ = np.meshgrid(
        np.arange(models) * 3 + 7, np.arange(reps), arms, np.arange(4), indexing="ij"
    )
    o = pd.DataFrame(
        {
            "model": m.ravel().astype(np.int32),
            "replicate": r.ravel() if seed % 2 else r.ravel().astype(str),
            "arm": pd.Categorical(a.ravel(), categories=["d", "c", "b", "a", "unused"])
            if seed % 3
            else a.ravel(),
            "x": rng.normal(size=m.size) * 10.0 ** rng.integers(-3, 9, size=m.size),
            "done": rng.random(m.size) < 0.5,
        }
    )
    o.loc[rng.random(len(o)) < 0.1, "x"] = np.nan
    o = o.sample(frac=0.8, random_state=seed)  # shuffled, some groups gone
    contrasts = [
        Contrast(p, q, y) for p, q in [("a", "b"), ("c", "a"), ("d", "b")] for y in "x done".split()
    ]
    present = set(o["arm"].astype(str))
    contrasts = [c for c in contrasts if {c.arm, c.reference} <= present]
    for c, got in zip(contrasts, model_contrasts_many(o, contrasts), strict=True):
        pd.testing.assert_frame_equal(got, _grouped(o, c), check_exact=True)
    with pytest.raises(InvalidParameterError, match="rows of arm 'unused'"):
        model_contrasts(o, Contrast("unused", "a", "x"))


def test_ensemble_run_is_the_same_in_chunks(monkeypatch):
    from toolkit import experiment
    from toolkit.behavior import BehaviorModel
    from toolkit.ensemble import Ensemble
    from toolkit.history_matching import prior_sample

    prior = BehaviorModel.priors().query("parameter in ['quality_base', 'closure_base']")
    ens = Ensemble(
        prior_sample(prior, 4, seed=2),
        prior,
        pd.DataFrame({"target_id": ["none"]}),
        {"name": "test"},
        1,
    )
    spec = experiment.ExperimentSpec.from_dict(
        {
            "cohort": {"n_mentors": 12, "n_mentees": 10},
            "control": True,
            "arms": {
                "a": {"design": {"cadence": "weekly", "duration_weeks": 8}},
                "b": {"design": {"cadence": "biweekly", "duration_weeks": 8}},
            },
            "replicates": 2,
            "seed": 3,
        }
    )
    one = experiment.run_experiment(spec, models=ens, progress=False)
    monkeypatch.setattr(experiment, "_MODEL_PAIR_WEEKS", 1)
    chunked = experiment.run_experiment(spec, models=ens, progress=False)
    for k in ("weeks", "outcomes", "surveys", "events", "pairs"):
        pd.testing.assert_frame_equal(getattr(one, k), getattr(chunked, k))


def test_ensemble_contrast_runs_five_seeds():
    from toolkit.behavior import BehaviorModel
    from toolkit.ensemble import Ensemble
    from toolkit.experiment import ExperimentSpec
    from toolkit.history_matching import prior_sample
    from toolkit.sensitivity import ensemble_contrast

    prior = BehaviorModel.priors().query("parameter in ['quality_base', 'meet_base']")
    ens = Ensemble(
        prior_sample(prior, 4, seed=1),
        prior,
        pd.DataFrame({"target_id": ["none"]}),
        {"name": "test"},
        1,
    )
    spec = ExperimentSpec.from_dict(
        {
            "cohort": {"n_mentors": 14, "n_mentees": 12},
            "arms": {
                "weekly": {"design": {"cadence": "weekly", "duration_weeks": 10}},
                "monthly": {"design": {"cadence": "monthly", "duration_weeks": 10}},
                "other": {"design": {"cadence": "biweekly", "duration_weeks": 10}},
            },
            "replicates": 3,
            "seed": 2,
        }
    )
    f = ensemble_contrast(spec, Contrast("weekly", "monthly", "meetings_held"), ens, progress=False)
    assert len(f.seed_verdicts) == 5 and f.summary["models"] == 4
    assert f.verdict == NEARLY_ALL and not f.borderline  # weekly holds more meetings
    with pytest.raises(InvalidParameterError, match="arm"):
        ensemble_contrast(spec, Contrast("weekly", "nope", "meetings_held"), ens)


def test_independent_model_streams_differ_between_models_and_not_between_chunks(monkeypatch):
    from toolkit import experiment
    from toolkit.behavior import BehaviorModel
    from toolkit.ensemble import Ensemble
    from toolkit.history_matching import prior_sample

    prior = BehaviorModel.priors().query("parameter in ['quality_base', 'closure_base']")
    one = prior_sample(prior, 1, seed=2)
    ens = Ensemble(
        pd.concat([one] * 3, ignore_index=True),  # three identical models
        prior,
        pd.DataFrame({"target_id": ["none"]}),
        {"name": "test"},
        1,
    )
    spec = experiment.ExperimentSpec.from_dict(
        {
            "cohort": {"n_mentors": 12, "n_mentees": 10},
            "arms": {
                "a": {"design": {"cadence": "weekly", "duration_weeks": 8}},
                "b": {"design": {"cadence": "biweekly", "duration_weeks": 8}},
            },
            "replicates": 2,
            "seed": 3,
        }
    )

    def run():
        return experiment.run_experiment(
            spec, models=ens, progress=False, tables=("outcomes",), model_streams="independent"
        ).outcomes

    out = run()
    held = out.groupby("model")["meetings_held"].apply(lambda s: tuple(s))
    assert held[0] != held[1] and held[1] != held[2]  # same model, its own draws
    common = experiment.run_experiment(spec, models=ens, progress=False, tables=("outcomes",))
    same = common.outcomes.groupby("model")["meetings_held"].apply(lambda s: tuple(s))
    assert same[0] == same[1] == same[2]
    monkeypatch.setattr(experiment, "_MODEL_PAIR_WEEKS", 1)
    pd.testing.assert_frame_equal(out, run())
    with pytest.raises(InvalidParameterError, match="'model_streams'"):
        experiment.run_experiment(spec, models=ens, progress=False, model_streams="shared")


def _independent(mu: np.ndarray, noise: float, replicates: int, seed: int) -> pd.DataFrame:
    """Each model its own replicate noise (independent streams per model)."""
    rng = np.random.default_rng(seed)
    d = mu[:, None] + noise * rng.standard_normal((len(mu), replicates))
    m, r = np.meshgrid(np.arange(len(mu)), np.arange(replicates), indexing="ij")
    return pd.DataFrame({"model": m.ravel(), "replicate": r.ravel(), "difference": d.ravel()})


def test_share_mc_error_is_small_in_a_clear_cut_case_and_reported_when_not():
    rng = np.random.default_rng(5)
    # clear cut: 200 models, 70% well above zero and 30% well below, little noise
    mu = np.where(rng.uniform(size=200) < 0.7, 0.1, -0.1) * rng.uniform(0.5, 1.5, 200)
    clear = summarise_models(_independent(mu, 0.05, 10, seed=1), seed=1)
    assert clear.summary["share_positive_mc_error"] <= 0.02
    assert clear.summary["share_agree_mc_error"] <= 0.02
    # the same shares under five independent simulation seeds stay within a few errors
    shares = [
        summarise_models(_independent(mu, 0.05, 10, seed=s), seed=s).summary["share_positive"]
        for s in range(5)
    ]
    assert np.ptp(shares) <= 4 * 0.02
    # noise as large as the spread: the error is above 2 points and the check says so
    vague = summarise_models(_independent(rng.normal(0, 0.02, 200), 0.2, 10, seed=2), seed=2)
    assert vague.summary["share_positive_mc_error"] > 0.02
    assert not vague.mc_check["small"] and "not small" in vague.mc_check["text"]


def test_sentences_name_parameters_by_their_labels():
    from toolkit.behavior import BehaviorModel

    params = _ensemble(400, seed=2).rename(columns={"x": "closure_engagement", "y": "meet_base"})
    f = summarise_models(_differences(params.set_axis(["x", "y", "w"], axis=1), sign_by_x), seed=2)
    est = f.per_model["estimate"].to_numpy()
    box = sign_boxes(params, est, sign="positive")
    text = headline_sentence(
        f,
        arm="weekly",
        reference="biweekly",
        more="keeps more pairs",
        less="keeps fewer pairs",
        drivers=spread_drivers(params, est),
        box=box,
    )
    label = BehaviorModel.label("closure_engagement")
    assert f"depends mostly on {label}" in text
    assert box["text"][0].startswith(f"{label} is above 0.")
    assert "closure_engagement" not in text and "meet_base" not in text


def test_detail_line_says_when_the_share_error_is_above_two_points():
    from toolkit.studies._across import _noise_detail

    rng = np.random.default_rng(5)
    mu = np.where(rng.uniform(size=200) < 0.7, 0.1, -0.1) * rng.uniform(0.5, 1.5, 200)
    clear = summarise_models(_independent(mu, 0.05, 10, seed=1), seed=1)
    assert _noise_detail(clear, 10) == ""  # small noise, share error under 2 points
    vague = summarise_models(_independent(rng.normal(0, 0.02, 200), 0.2, 10, seed=2), seed=2)
    text = _noise_detail(vague, 10)
    error = vague.summary["share_agree_mc_error"]
    assert text.startswith(" Simulation noise is not small here")
    assert f"The share's Monte Carlo error ({100 * error:.1f} points) is above 2 points" in text
    assert "more models and more simulated programs per model (now 200 x 10)" in text
