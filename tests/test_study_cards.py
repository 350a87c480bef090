"""model_card, design_power and checkin_cadence: the ensemble parts (issue 18) and the
check-in wiring (issue 17). Tiny sizes and few models; the ensemble is a small prior
sample made here (kept out of git), not the committed one."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import ToolkitError


@pytest.fixture(scope="module")
def dev_ensemble(tmp_path_factory):
    """A small ensemble: a prior sample over the assumption parameters (nothing ruled out)
    plus one parameter narrowed by hand, saved as a file."""
    from toolkit.behavior import BehaviorModel
    from toolkit.ensemble import Ensemble
    from toolkit.history_matching import prior_sample

    prior = BehaviorModel.priors()
    prior = prior[prior.parameter.isin(BehaviorModel.assumptions())].reset_index(drop=True)
    models = prior_sample(prior, 16, seed=3)
    first = prior.iloc[0]
    models[first.parameter] = first.low + 0.1 * (first.high - first.low) * np.linspace(0, 1, 16)
    ens = Ensemble(
        models,
        prior=prior,
        targets=pd.DataFrame({"target_id": ["dev"]}),
        procedure={"name": "dev prior sample", "citation": "none"},
        seed=3,
    )
    return ens.save(tmp_path_factory.mktemp("ens") / "dev.parquet"), first.parameter


def _finding(values_by_model):
    from toolkit.sensitivity import summarise_models

    rows = [
        {"model": m, "replicate": r, "difference": v}
        for m, vals in enumerate(values_by_model)
        for r, v in enumerate(vals)
    ]
    return summarise_models(pd.DataFrame(rows), boot=50, seed=0)


# --------------------------------------------------------------------------- assurance


def test_t_test_power_matches_simulated_pilots():
    from toolkit.diagnosis import DifferenceInMeans, TwoArmNormal, diagnose, t_test_power

    d = diagnose(
        TwoArmNormal(n=32, effect=0.6),
        DifferenceInMeans(),
        sims=400,
        seed=2,
        executor="serial",
        progress=False,
    )
    row = d.diagnosands.set_index("diagnosand").loc["power"]
    formula = float(t_test_power(0.6, 1.0, 1.0, 64))
    assert abs(formula - row.estimate) < 3 * row.mcse + 0.01


def test_assurance_is_power_averaged_over_models():
    from toolkit.diagnosis import assurance, t_test_power

    same = pd.DataFrame({"effect": [0.3] * 4, "sd_treatment": 1.0, "sd_control": 1.0})
    a = assurance(same, [100, 400])
    assert a.assurance.to_numpy() == pytest.approx(t_test_power(0.3, 1, 1, np.array([100, 400])))
    assert (a.mc_error == 0).all() and (a.models == 4).all()
    spread = pd.DataFrame(
        {"effect": [-0.1, 0.0, 0.3, 0.6], "sd_treatment": [1, 1, 2, 1], "sd_control": 1.0}
    )
    b = assurance(spread, [100], target_power=0.8)
    each = t_test_power(spread.effect, spread.sd_treatment, spread.sd_control, 100)
    assert b.assurance.iloc[0] == pytest.approx(each.mean())
    assert b.mc_error.iloc[0] == pytest.approx(each.std(ddof=1) / 2)
    assert b.share_reaching_target.iloc[0] == pytest.approx((each >= 0.8).mean())
    # with no effect anywhere the pilot "succeeds" at the test's level only
    null = assurance(same.assign(effect=0.0), [50], alpha=0.05)
    assert null.assurance.iloc[0] == pytest.approx(0.05, abs=1e-6)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((pd.DataFrame({"effect": [0.1]}), [100]), ["'per_model'", "sd_treatment"]),
        ((pd.DataFrame(columns=["effect", "sd_treatment", "sd_control"]), [100]), ["at least one"]),
        ((pd.DataFrame({"effect": [0.1], "sd_treatment": 1, "sd_control": 1}), [2]), ["'sizes'"]),
    ],
)
def test_assurance_refuses_bad_input_in_one_sentence(args, words):
    from toolkit.diagnosis import assurance

    with pytest.raises(ToolkitError) as info:
        assurance(*args)
    msg = str(info.value)
    assert "\n" not in msg and all(w in msg for w in words)


def test_design_power_assurance_over_models(dev_ensemble):
    from toolkit.studies import design_power as dp

    path, _ = dev_ensemble
    p = dp.Parameters.from_values(
        sizes=[20, 200],
        sims=10,
        effect_pairs=30,
        effect_replicates=2,
        workers=1,
        models=str(path),
        n_models=6,
        model_replicates=5,
    )
    study = dp.DesignPower(p)
    effects = study.model_effects  # from the study contract's across-model run
    assert effects.model.tolist() == list(range(6))
    per_model = study.across.findings[0].per_model
    assert effects.effect.to_numpy() == pytest.approx(per_model.estimate.to_numpy())
    ref = dp.reference_effect(p)
    assert ref.model.tolist() == [-1]
    # the reference run is the study's own population effect design at these sizes
    power = pd.DataFrame({"pairs_total": [20, 200], "power": [0.1, 0.3], "mcse": [0.05, 0.1]})
    table = dp.assurance_table(effects, ref, power, p)
    from toolkit.diagnosis import t_test_power

    expect = t_test_power(
        effects.effect.to_numpy()[:, None],
        effects.sd_treatment.to_numpy()[:, None],
        effects.sd_control.to_numpy()[:, None],
        np.array([20, 200]),
    ).mean(axis=0)
    assert table.assurance.to_numpy() == pytest.approx(expect)
    assert table.power_at_reference_simulated.tolist() == [0.1, 0.3]
    text = dp.findings(
        power.assign(mc_low=0.0, mc_high=0.5, sims=10),
        pd.DataFrame({"pairs_total": [200], "mde": [0.2]}),
        {"effect": 0.01, "mcse": 0.01},
        {"reached": False, "normal_approximation": 9e4},
        p,
        table,
        effects,
        study.across,
    )
    assert any("assurance" in s and "6 plausible models" in s for s in text)
    assert study.across.sentences[0] in text
    assert not any("95% CI" in s or re.search(r"\bp = ", s) for s in text)


# --------------------------------------------------------------------------- model card


def test_model_card_counts_only_targets_and_lists_what_the_evidence_cannot_settle():
    from toolkit.calibration import narrowing_table, target_count
    from toolkit.studies import model_card as mc

    cal = pd.DataFrame(
        {
            "target_id": ["a", "b", "c", "preset1", "preset2"],
            "kind": ["target", "target", "target", "check", "check"],
            "inside": [True, False, True, True, True],
        }
    )
    assert target_count(cal) == {
        "targets": 3,
        "targets_inside": 2,
        "targets_outside": ["b"],
        "checks": 2,
        "checks_matching": 2,
        "checks_differing": [],
    }
    clear = _finding([[0.05, 0.06]] * 20)  # positive in every model
    split = _finding([[0.05, 0.05]] * 10 + [[-0.05, -0.05]] * 10)  # half and half
    card = mc.ModelCard(contrasts=["optimal_vs_random", "weekly_vs_biweekly"])
    across = SimpleNamespace(
        headlines=card.headlines(), findings=[clear, split], sentences=["Clear.", "Split."]
    )
    assert clear.verdict == "nearly all plausible models agree"
    assert mc.unsettled(across) == ["weekly rather than biweekly meetings (completion)"]
    narrowing = narrowing_table(
        pd.DataFrame(
            {
                "parameter": ["x", "y"],
                "prior_low": [0, 0],
                "prior_high": [1, 1],
                "q05": [0.1, 0.05],
                "median": [0.2, 0.5],
                "q95": [0.3, 0.95],
                "share_of_prior_range": [0.2, 0.9],
            }
        )
    )
    assert narrowing.evidence.tolist() == ["narrowed", "left near its prior"]
    table = pd.DataFrame({"source": ["calibrated: x", "assumption"]})
    text = mc.ModelCard.findings(cal, table, narrowing, across, "history matching")
    assert text[0].startswith(
        "At its default parameters the model falls inside the published "
        "range on 2 of 3 calibration targets; outside on b."
    )
    assert "narrowed 1 of the 2" in text[1]
    assert text[3:5] == [
        "Optimal rather than random matching (completion): Clear.",
        "Weekly rather than biweekly meetings (completion): Split.",
    ]
    cannot = [s for s in text if s.startswith("Answers the evidence cannot settle")]
    assert cannot == [
        "Answers the evidence cannot settle: weekly rather than biweekly meetings (completion)."
    ]
    assert not any("95% CI" in s for s in text)


def test_prior_accepted_plot_names_the_narrowed_parameters():
    import matplotlib

    matplotlib.use("Agg")
    from toolkit.errors import AnalysisInputError
    from toolkit.plots import prior_accepted_plot

    s = pd.DataFrame(
        {
            "parameter": ["x", "y"],
            "prior_low": [0, 10],
            "prior_high": [1, 20],
            "q05": [0.1, 10.5],
            "median": [0.2, 15],
            "q95": [0.3, 19.5],
            "share_of_prior_range": [0.2, 0.9],
        }
    )
    fig = prior_accepted_plot(s)
    assert "Narrowed to under half the prior range: x." in fig.alt_text
    with pytest.raises(AnalysisInputError):
        prior_accepted_plot(s.drop(columns=["q05"]))


def test_model_card_over_a_small_ensemble(dev_ensemble):
    from toolkit.calibration import narrowing_table
    from toolkit.studies.model_card import ModelCard

    path, narrowed = dev_ensemble
    card = ModelCard(
        models=str(path),
        n_models=6,
        model_replicates=5,
        contrast_pairs=12,
        contrasts=["optimal_vs_random"],
    )
    assert len(card.ensemble) == 6
    table = narrowing_table(card.ensemble.summary())
    assert table.parameter.iloc[0] == narrowed and table.evidence.iloc[0] == "narrowed"
    # the contrasts run on the study contract's across-model path, like every other study
    a = card.across
    assert [h.where() for h in a.headlines] == [{"contrast": "optimal_vs_random"}]
    assert int(a.findings[0].summary["models"]) == 6 and a.replicates == 5
    out = card.across_tables()["across_models"]
    assert out[["arm", "reference"]].values.tolist() == [["optimal", "random"]]
    assert out.q05.iloc[0] <= out["median"].iloc[0] <= out.q95.iloc[0]
    assert "dev prior sample" in card.procedure_text()


def test_model_card_refuses_a_bad_ensemble_size_in_one_sentence():
    from toolkit.studies.model_card import Parameters

    with pytest.raises(ToolkitError) as info:
        Parameters.from_values(n_models=0)
    assert "'n_models'" in str(info.value) and "\n" not in str(info.value)


# --------------------------------------------------------------------------- checkin cadence


def _outcomes():
    # 2 arms x 3 replicates x 2 pairs; hand-made
    rows = []
    for arm, done, hours in (
        ("none", [[1, 0], [1, 1], [0, 0]], [[0, 0]] * 3),
        ("monthly+coach", [[1, 1], [1, 1], [1, 0]], [[2, 1], [1, 1], [3, 0]]),
    ):
        for r in range(3):
            for k in range(2):
                rows.append(
                    {
                        "arm": arm,
                        "replicate": r,
                        "pair_id": k,
                        "completed": bool(done[r][k]),
                        "hours_coordinator": hours[r][k],
                        "mean_quality": 0.5 + 0.1 * done[r][k],
                    }
                )
    return pd.DataFrame(rows)


def test_paired_contrasts_are_per_replicate_differences_with_their_mc_error():
    from toolkit.studies._paired import paired_contrasts

    est = paired_contrasts(_outcomes(), "none", {"completed": "c", "hours_coordinator": "h"})
    comp = est[est.outcome == "completed"].iloc[0]
    per_rep = np.array([1.0, 1.0, 0.5]) - np.array([0.5, 1.0, 0.0])  # arm minus none
    assert comp.effect == "risk_difference" and comp.group == "monthly+coach"
    assert comp.estimate == pytest.approx(per_rep.mean())
    assert comp.mc_se == pytest.approx(per_rep.std(ddof=1) / np.sqrt(3))
    assert comp.ci_low == pytest.approx(comp.estimate - 1.96 * comp.mc_se)
    assert "p_value" not in est.columns


def test_marginal_cost_is_extra_hours_over_extra_completed_pairs():
    from toolkit.studies._paired import marginal_cost

    o = _outcomes()
    m = marginal_cost(o, "none", boot=50).set_index("arm")
    extra_h = np.array([3, 2, 3]).mean()
    extra_done = (np.array([2, 2, 1]) - np.array([1, 2, 0])).mean()
    assert m.loc["monthly+coach", "hours_per_additional_completed_pair"] == pytest.approx(
        extra_h / extra_done
    )
    assert "none" not in m.index and m.mc_error.iloc[0] > 0
    worse = o.assign(completed=np.where(o.arm == "none", True, o.completed))
    w = marginal_cost(worse, "none", boot=50)
    assert np.isnan(w.hours_per_additional_completed_pair.iloc[0])


@pytest.fixture(scope="module")
def checkin_study():
    from toolkit.studies.checkin_cadence import CheckinCadence

    study = CheckinCadence(
        replicates=2,
        n_mentors=24,
        n_mentees=20,
        schedules=["none", "monthly", "no_meeting_streak"],
        actions=["coach", "close"],
    )
    return study, study.simulate()


def test_checkin_warning_is_per_checkin_on_arms_that_do_nothing(checkin_study):
    study, _ = checkin_study
    assert {a.design.on_flag for a in study.watch_arms().values()} == {"none"}
    w = study.checkin_warning_table()
    rules = w.rule.tolist()
    assert rules[0] == "rating <= 2" and rules[1] == "no meeting for 6 weeks"
    rating, rand = w.iloc[0], w.iloc[2]
    assert rules[2] == f"random at {rating.n_flagged / rating.n_checkins:.0%}"
    assert (w.n_checkins == rating.n_checkins).all()
    assert (w.true_positives <= w.n_flagged).all() and (w.true_positives <= w.n_positive).all()
    assert rand.n_flagged == pytest.approx(rating.n_flagged, rel=0.5)


def test_checkin_findings_state_costs_of_rules_and_no_p_values(checkin_study):
    study, result = checkin_study
    est = study.analyse(result)
    summary = study.summary_table(result)
    text = study.findings(est, study.marginal_table(result), summary)
    closing = [
        s
        for s in text
        if s.startswith("Cost of the rule, not a finding: closing on a flag closes flagged pairs")
    ]
    assert len(closing) == 2  # one per arm that closes on a flag
    share = summary.set_index("arm").loc["monthly+close", "closed_by_coordinator_per_pair"]
    assert (
        f"monthly check-ins + closing the coordinator closed {100 * share:.0f}% of pairs"
        in closing[0]
    )
    more = study.more_findings(
        est, study.cost_table(result), study.checkin_warning_table(), study.closure_table(result)
    )
    everything = text + [s for v in more.values() for s in v]
    assert not any("95% CI" in s or re.search(r"\bp [=<]", s) or "Holm" in s for s in everything)
    assert any("Monte Carlo SE" in s for s in text)
    reasons = study.closure_table(result)
    close = reasons[(reasons.arm == "monthly+close")]
    assert close.share.sum() == pytest.approx(1.0)
    assert "coordinator_close" in set(close.reason)


def test_scenario_note_names_levers_only_when_an_arm_uses_one():
    from toolkit.program import ProgramDesign
    from toolkit.studies._words import scenario_note

    assert "no arm here switches a lever on" in scenario_note([ProgramDesign()])
    assert "the arms here use mentor_training" in scenario_note(
        [ProgramDesign(mentor_training=True)]
    )


# --------------------------------------------------------------------------- notebooks


@pytest.fixture(scope="module")
def card_runs(dev_ensemble, tmp_path_factory):
    from toolkit.runs import run_study

    path, _ = dev_ensemble
    out = tmp_path_factory.mktemp("card-runs")
    return {
        "model_card": run_study(
            "model_card",
            [
                "calibration_replicates=2",
                "n_mentors=24",
                "n_mentees=20",
                f"models={path}",
                "n_models=4",
                "model_replicates=5",
                "contrast_pairs=12",
                "contrasts=optimal_vs_random",
            ],
            out=out,
            progress=False,
        ),
        "design_power": run_study(
            "design_power",
            [
                "sizes=20,40",
                "sims=10",
                "effect_pairs=30",
                "effect_replicates=2",
                "workers=1",
                f"models={path}",
                "n_models=4",
                "model_replicates=5",
            ],
            out=out,
            progress=False,
        ),
    }


def test_model_card_notebook_runs_on_an_ensemble(card_runs):
    from toolkit.studies import get_study

    run = card_runs["model_card"].path
    tables = {p.stem for p in (run / "tables").glob("*.parquet")}
    assert {"calibration", "parameters", "prior_vs_accepted", "across_models"} <= tables
    cal = pd.read_parquet(run / "tables" / "calibration.parquet")
    findings = json.loads((run / "findings.json").read_text())["findings"]
    tgt = cal[cal.kind == "target"]
    assert findings[0].startswith(
        f"At its default parameters the model falls inside the "
        f"published range on {int(tgt.inside.sum())} of {len(tgt)} "
        "calibration targets"
    )
    assert any(s.startswith("Answers the evidence cannot settle") for s in findings)
    assert "95% CI" not in (run / "report.html").read_text(encoding="utf-8")
    sweep = get_study("model_card").estimates(run)
    assert (sweep.ci_low <= sweep.estimate).all() and (sweep.estimate <= sweep.ci_high).all()


def test_design_power_notebook_reports_assurance(card_runs):
    run = card_runs["design_power"].path
    a = pd.read_parquet(run / "tables" / "assurance.parquet")
    assert a.pairs_total.tolist() == [20, 40] and (a.models == 4).all()
    assert a.assurance.between(0, 1).all()
    findings = json.loads((run / "findings.json").read_text())["findings"]
    assert any("(assurance; Monte Carlo error" in s for s in findings)
    from toolkit.studies import get_study

    sweep = get_study("design_power").estimates(run)
    assert sweep.estimate_name.tolist()[-2:] == [
        "assurance with 20 pairs",
        "assurance with 40 pairs",
    ]
    assert sweep.estimate.tolist()[-2:] == pytest.approx(a.assurance.tolist())
