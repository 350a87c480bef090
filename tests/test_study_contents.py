"""The content of the studies beyond meeting_cadence: each runs end to end through the
runner at tiny parameters into a self-contained report, refuses bad parameters with one
sentence, and its numbers are what its tables say they are."""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest
from test_studies import check_report

from toolkit.errors import InvalidParameterError
from toolkit.studies import get_study
from toolkit.studies._base import DEFAULT_ANSWER

ACROSS_STUDIES = ["meeting_cadence", "matching_policies", "policy_by_cadence", "checkin_cadence"]
CONTENT_STUDIES = [
    "matching_policies",
    "checkin_cadence",
    "policy_by_cadence",
    "design_power",
    "model_card",
]
EXPECTED_TABLES = {
    "matching_policies": {
        "estimates",
        "policies",
        "fairness",
        "fairness_gaps",
        "matchings",
        "examples",
        "outcomes",
        "across_models",
        "model_answers",
        "spread_drivers",
        "sign_boxes",
    },
    "checkin_cadence": {
        "estimates",
        "arms",
        "cost_per_retained_pair",
        "outcomes",
        "early_warning",
        "checkin_warning",
        "closure_reasons",
        "marginal_cost",
        "across_models",
        "model_answers",
        "spread_drivers",
        "sign_boxes",
    },
    "policy_by_cadence": {
        "estimates",
        "outcomes",
        "completion_cells",
        "across_models",
        "model_answers",
        "spread_drivers",
        "sign_boxes",
    },
    "design_power": {"power_curve", "power", "minimum_detectable_effect", "assurance"},
    "model_card": {"calibration", "parameters", "prior_vs_accepted", "across_models"},
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_params):
    """Each content study run once through the runner at its tiny parameters."""
    from toolkit.runs import run_study

    out = tmp_path_factory.mktemp("content-runs")
    return {
        name: run_study(name, tiny_params[name], out=out, progress=False)
        for name in CONTENT_STUDIES
    }


@pytest.mark.parametrize("name", CONTENT_STUDIES)
def test_study_runs_into_a_self_contained_report(runs, name):
    run = runs[name].path
    check_report((run / "report.html").read_text(encoding="utf-8"))
    tables = {p.stem for p in (run / "tables").glob("*.parquet")}
    assert EXPECTED_TABLES[name] <= tables
    saved = json.loads((run / "findings.json").read_text())
    assert saved["findings"] and all(s.endswith(".") for s in saved["findings"])
    assert "robustness" not in saved and not (run / "tables" / "robustness.parquet").exists()
    if name in ACROSS_STUDIES:  # the headlines over plausible models lead the findings
        assert saved["across_models"]
    elif name == "model_card":  # the model card's verdicts over the models are its findings
        assert any(s.startswith("Answers the evidence cannot settle") for s in saved["findings"])
    sweep = get_study(name).estimates(run)
    assert list(sweep.columns) == ["estimate_name", "estimate", "ci_low", "ci_high"]
    assert (
        len(sweep)
        and (sweep.ci_low <= sweep.estimate).all()
        and (sweep.estimate <= sweep.ci_high).all()
    )


@pytest.mark.parametrize("name", CONTENT_STUDIES)
def test_sweep_rows_of_a_run_made_from_input_files(runs, name, tmp_path):
    """A manifest names a roster or models file by its file name only (never its folder), so
    the sweep rows are read back without the file (which is not where the run folder is)."""
    run = runs[name].path
    copy = tmp_path / "run"
    shutil.copytree(run / "tables", copy / "tables")
    manifest = json.loads((run / "manifest.json").read_text())
    inputs = get_study(name).inputs
    assert inputs  # every content study reads a roster or a models file
    for field in inputs:
        manifest["parameters"][field] = f"{field}_file_elsewhere.data"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    pd.testing.assert_frame_equal(get_study(name).estimates(copy), get_study(name).estimates(run))


@pytest.mark.parametrize(
    ("name", "values", "words"),
    [
        ("matching_policies", {"policies": ["random", "best"]}, ["'policies'", "'best'", "item 2"]),
        ("matching_policies", {"policies": ["optimal", "stable"]}, ["'reference'", "'random'"]),
        ("matching_policies", {"capacity": 0}, ["'capacity'", "got 0"]),
        ("matching_policies", {"group_by": "name"}, ["'group_by'", "'gender'", "'name'"]),
        ("checkin_cadence", {"actions": ["coach", "ignore"]}, ["'actions'", "'ignore'"]),
        ("checkin_cadence", {"schedules": ["monthly", "survey_30_60"]}, ["'reference'", "'none'"]),
        (
            "checkin_cadence",
            {"first_meeting_week": 30},
            ["'first_meeting_week'", "duration_weeks (26)"],
        ),
        ("checkin_cadence", {"flag_rating": 6}, ["'flag_rating'", "got 6"]),
        ("policy_by_cadence", {"cadences": ["weekly"]}, ["'cadences'", "at least 2"]),
        (
            "policy_by_cadence",
            {"reference_cadence": "monthly", "cadences": ["weekly", "biweekly"]},
            ["'reference_cadence'", "'monthly'"],
        ),
        ("design_power", {"sizes": [40, 81]}, ["'sizes'", "even", "item 2"]),
        ("design_power", {"sizes": [80, 40]}, ["'sizes'", "increasing"]),
        ("design_power", {"treatment_cadence": "biweekly"}, ["same design twice"]),
        ("design_power", {"target_power": 1.5}, ["'target_power'", "1.5"]),
        (
            "model_card",
            {"contrasts": ["weekly_vs_monthly"]},
            ["'contrasts'", "'weekly_vs_monthly'"],
        ),
        ("model_card", {"contrast_pairs": 1}, ["'contrast_pairs'", "got 1"]),
    ],
)
def test_bad_parameters_one_sentence(name, values, words):
    with pytest.raises(InvalidParameterError) as info:
        get_study(name).parameters.from_values(values)
    msg = str(info.value)
    assert "\n" not in msg and msg.endswith(".")
    for w in words:
        assert w in msg


def test_the_morris_robustness_check_is_gone():
    """Issue 18: no shim. The old parameters are refused as unknown, in one sentence."""
    import toolkit.sensitivity as sensitivity
    import toolkit.studies as studies

    for name in ("robustness", "RobustnessResult", "VERDICTS"):
        assert not hasattr(sensitivity, name)
    assert not hasattr(studies, "RobustnessGroup")
    for study in ("checkin_cadence", "design_power", "meeting_cadence"):
        with pytest.raises(InvalidParameterError) as info:
            get_study(study).parameters.from_values({"robustness": False})
        assert "'robustness'" in str(info.value) and "\n" not in str(info.value)


def test_a_policy_registered_at_run_time_is_accepted_by_the_studies():
    """One source per vocabulary: the studies take policy names from the registry."""
    import numpy as np

    from toolkit import matching
    from toolkit.studies.matching_policies import MatchingPolicies
    from toolkit.studies.meeting_cadence import Parameters as Cadences

    with pytest.raises(InvalidParameterError, match="'first_free'"):
        MatchingPolicies(policies=["random", "first_free"])

    @matching.register_policy("first_free", summary="each mentee takes the first free mentor")
    def first_free(problem):
        n_e, n_r = problem.compat.admissible.shape
        mentor_of = np.arange(n_e) % max(n_r, 1)
        return np.where(np.arange(n_e) < n_r, mentor_of, -1), {}

    try:
        study = MatchingPolicies(
            policies=["random", "first_free"], replicates=2, n_mentors=14, n_mentees=12, examples=0
        )
        assert Cadences.from_values(policy="first_free").policy == "first_free"
        result = study.simulate()
        assert set(result.outcomes.arm) == {"random", "first_free"}
        with pytest.raises(InvalidParameterError) as info:
            MatchingPolicies(policies=["random", "second_free"])
        assert "'first_free'" in str(info.value)  # the error lists the registry as it is now
    finally:
        matching.POLICIES.pop("first_free", None)


def test_capacity_has_one_bound():
    from toolkit.experiment import MatchSpec
    from toolkit.matching import MAX_CAPACITY
    from toolkit.studies.matching_policies import Parameters

    assert Parameters.from_values(capacity=MAX_CAPACITY).capacity == MAX_CAPACITY
    for make in (
        lambda c: Parameters.from_values(capacity=c),
        lambda c: MatchSpec("random", capacity=c),
    ):
        with pytest.raises(InvalidParameterError, match=str(MAX_CAPACITY)):
            make(MAX_CAPACITY + 1)


def test_no_study_module_keeps_a_not_available_shim():
    from pathlib import Path

    import toolkit.studies

    folder = Path(toolkit.studies.__file__).parent
    for path in folder.glob("*.py"):
        assert "not available in this version" not in path.read_text(), path.name


@pytest.mark.parametrize("name", CONTENT_STUDIES)
def test_bad_parameter_is_refused_before_a_kernel_starts(name, monkeypatch, tmp_path):
    import papermill
    from typer.testing import CliRunner

    from toolkit.cli import app

    def refuse(*args, **kwargs):
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(papermill, "execute_notebook", refuse)
    result = CliRunner().invoke(app, ["run", name, "-p", "seed=-1", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "'seed'" in result.stderr and not any(tmp_path.iterdir())


# --------------------------------------------------------------------------- matching_policies


def test_matching_policies_from_a_roster_never_shows_names_or_emails(tmp_path):
    from toolkit.runs import run_study

    first = [
        "Zebulon",
        "Philippa",
        "Ingeborg",
        "Caspian",
        "Ottoline",
        "Barnaby",
        "Seraphina",
        "Leopoldine",
        "Thaddeus",
        "Wilhelmina",
        "Ignatius",
        "Rosalind",
    ]
    last = [
        "Quixotewright",
        "Marchbanks",
        "Thistlewaite",
        "Wolstenholme",
        "Farquharson",
        "Rutherglen",
        "Aldcroft",
        "Pemberton",
        "Vexley",
        "Oyelaran",
        "Strathmore",
        "Kilbride",
    ]
    people = [
        (
            f"{'M' if k < 12 else 'E'}{k}",
            "mentor" if k < 12 else "mentee",
            f"{first[k % 12]} {last[(k * 5) % 12]}",
            f"{first[k % 12].lower()}{k}@example.org",
            ["IT", "Sales", "HR", "Finance"][k % 4],
            ["woman", "man"][k % 2],
            # free-text interests, shared by pairs of people so that reasons can cite them
            f"zymurgy{k % 3}quokka;origami{k % 2}marzipan",
        )
        for k in range(22)
    ]
    roster = tmp_path / "people.csv"
    roster.write_text(
        "id,role,name,email,department,gender,interests\n"
        + "".join(",".join(p) + "\n" for p in people),
        encoding="utf-8",
    )
    res = run_study(
        "matching_policies",
        [f"roster={roster}", "replicates=3", "policies=random,optimal", "examples=3"],
        out=tmp_path / "runs",
        progress=False,
    )
    secrets = [w for p in people for w in (*p[2].split(), p[3], "zymurgy", "marzipan")]
    texts = [
        (res.path / "report.html").read_text(),
        (res.path / "findings.json").read_text(),
        (res.path / "manifest.json").read_text(),
        (res.path / "notebook.ipynb").read_text(),
    ]
    texts += [pd.read_parquet(t).to_csv() for t in (res.path / "tables").glob("*.parquet")]
    texts += [t.read_text() for t in (res.path / "tables").glob("*.csv")]
    for text in texts:
        for s in secrets:
            assert s not in text
    examples = pd.read_parquet(res.path / "tables" / "examples.parquet")
    assert len(examples) == 6
    assert examples.mentee.str.fullmatch(r"mentee \d+").all()
    assert examples.mentor.str.fullmatch(r"mentor \d+").all()
    check_report(texts[0])


def test_matching_policies_tables_agree_with_the_pairs(runs):
    from toolkit.studies import matching_policies as study

    run = runs["matching_policies"].path
    summary = pd.read_parquet(run / "tables" / "policies.parquet")
    fairness = pd.read_parquet(run / "tables" / "fairness.parquet")
    gaps = pd.read_parquet(run / "tables" / "fairness_gaps.parquet").set_index("policy")
    assert summary.policy.tolist() == ["random", "optimal", "stable"]
    # optimal maximises the total score of each matching, so its mean compatibility is the highest
    assert summary.set_index("policy").compatibility.idxmax() == "optimal"
    for policy, rows in fairness.groupby("policy", observed=True):
        assert gaps.loc[policy, "completion_gap"] == pytest.approx(
            rows.completion.max() - rows.completion.min()
        )
    assert fairness.groupby("policy", observed=True).pairs.sum().tolist() == [20.0] * 3
    outcomes = pd.read_parquet(run / "tables" / "outcomes.parquet")
    assert not {"mentee_id", "mentor_id"} & set(outcomes.columns)
    assert tuple(study.Parameters.defaults()["policies"]) == study.policies()


# --------------------------------------------------------------------------- checkin_cadence


def test_checkin_cost_per_retained_pair_is_hours_over_completed_pairs(runs):
    run = runs["checkin_cadence"].path
    outcomes = pd.read_parquet(run / "tables" / "outcomes.parquet")
    cost = pd.read_parquet(run / "tables" / "cost_per_retained_pair.parquet").set_index("arm")
    arm = "monthly+coach"
    per_rep = (
        outcomes[outcomes.arm == arm]
        .groupby("replicate")
        .agg(hours=("hours_coordinator", "sum"), done=("completed", "sum"))
    )
    assert cost.loc[arm, "hours_per_retained_pair"] == pytest.approx(
        (per_rep.hours / per_rep.done).mean()
    )
    assert cost.loc["none", "hours_per_retained_pair"] == 0.0
    arms = pd.read_parquet(run / "tables" / "arms.parquet").set_index("arm")
    assert list(arms.index) == [
        "none",
        "monthly+coach",
        "monthly+close",
        "no_meeting_streak+coach",
        "no_meeting_streak+close",
    ]
    assert arms.loc["none", "flags_per_pair"] == 0
    assert arms.loc["monthly+close", "coachings_per_pair"] == 0


def test_checkin_early_warning_counts_match_the_watch_run(runs):
    run = runs["checkin_cadence"].path
    ew = pd.read_parquet(run / "tables" / "early_warning.parquet").set_index("schedule")
    assert list(ew.index) == ["monthly", "no_meeting_streak"]
    assert (ew.n_pairs == 3 * 20).all()
    for r in ew.itertuples():
        assert r.true_positives <= min(r.n_flagged, r.n_closed)
        if r.n_flagged:
            assert r.precision == pytest.approx(r.true_positives / r.n_flagged)


# --------------------------------------------------------------------------- policy_by_cadence


def test_policy_by_cadence_tests_the_interaction_of_every_outcome(runs):
    run = runs["policy_by_cadence"].path
    est = pd.read_parquet(run / "tables" / "estimates.parquet")
    tests = est[est.effect == "interaction"]
    assert set(tests.outcome) == {"completed", "mentee_gain", "mentor_gain", "mean_quality"}
    assert tests.p_value.between(0, 1).all()
    did = est[est.effect == "interaction_contrast"]
    assert set(did.group) == {"optimal:monthly"} and set(did.reference) == {"random:weekly"}
    # the difference in differences equals the cell means' (saturated linear model)
    out = pd.read_parquet(run / "tables" / "outcomes.parquet")
    m = out.groupby(["policy", "cadence"], observed=True).mentee_gain.mean()
    hand = (
        m["optimal", "monthly"]
        - m["optimal", "weekly"]
        - m["random", "monthly"]
        + m["random", "weekly"]
    )
    row = did[did.outcome == "mentee_gain"].iloc[0]
    assert row.estimate == pytest.approx(hand)


# --------------------------------------------------------------------------- design_power


def test_pilot_tables_count_total_pairs_interpolate_the_curve_and_mde_is_z_times_se():
    from toolkit.studies import design_power as study

    p = study.Parameters.from_values(sizes=[40, 80, 120])
    curve = pd.DataFrame(
        {
            "n": [40, 80, 120] * 2,
            "diagnosand": ["power"] * 3 + ["mean_se"] * 3,
            "estimate": [0.3, 0.7, 0.9, 0.2, 0.14, 0.1],
            "mcse": 0.01,
            "n_sims": 100,
            "n_failed": 0,
        }
    )
    power, mde, need = study.pilot_tables(curve, {"effect": 0.25, "mcse": 0.01}, p)
    assert power.pairs_total.tolist() == mde.pairs_total.tolist() == [40, 80, 120]
    assert power.pairs_per_design.tolist() == [20, 40, 60]
    assert need["reached"] and need["from_curve"] == pytest.approx(100.0)
    assert need["normal_approximation"] == pytest.approx(120 * (2.8016 * 0.1 / 0.25) ** 2, rel=1e-3)
    assert mde.mde.tolist() == pytest.approx([0.5603, 0.3922, 0.2802], abs=1e-4)
    assert list(study.diagnosand_table(curve).columns) == ["pairs_total", "mean_se"]


def test_design_power_tables(runs):
    run = runs["design_power"].path
    power = pd.read_parquet(run / "tables" / "power.parquet")
    assert power.pairs_total.tolist() == [20, 40] and (power.sims == 10).all()
    assert ((power.mc_low <= power.power) & (power.power <= power.mc_high)).all()
    curve = pd.read_parquet(run / "tables" / "power_curve.parquet")
    # the population effect is the estimand, so bias and coverage are filled in
    assert curve.loc[curve.diagnosand == "coverage", "estimate"].notna().all()


# --------------------------------------------------------------------------- model_card


def test_model_card_tables(runs):
    from toolkit.behavior import BehaviorModel
    from toolkit.calibration import calibration_targets

    run = runs["model_card"].path
    cal = pd.read_parquet(run / "tables" / "calibration.parquet")
    assert cal.target_id.tolist() == calibration_targets().target_id.tolist()
    params = pd.read_parquet(run / "tables" / "parameters.parquet")
    assert params.parameter.tolist() == BehaviorModel().describe().parameter.tolist()
    findings = json.loads((run / "findings.json").read_text())["findings"]
    tgt = cal[cal.kind == "target"]  # presets are checks, not targets
    assert findings[0].startswith(
        f"At its default parameters the model falls inside the "
        f"published range on {int(tgt.inside.sum())} of {len(tgt)}"
    )


def test_model_card_counts_calibrated_and_assumed_parameters():
    from toolkit.calibration import parameter_summary

    table = pd.DataFrame(
        {
            "source": [
                "calibrated: Eby 2013",
                "assumption",
                "assumption (x; y)",
                "calibrated: DuBois 2011",
            ]
        }
    )
    assert parameter_summary(table) == {
        "parameters": 4,
        "calibrated": 2,
        "assumptions": 2,
        "other": 0,
    }


# --------------------------------------------------------------------------- across plausible models

HEADLINE = re.compile(
    r"^Across the (?P<n>\d+) models consistent with the evidence, .+ in (?P<share>all|\d+%) "
    r"of them; the difference lies between (?P<lo>[+-]\d+\.\d) and (?P<hi>[+-]\d+\.\d) "
    r"[a-z ]*in 90% of them\."
)
SIMULATED_CI = re.compile(
    r"95% CI|95% confidence|confidence interval|p \(Holm\)|Holm-adjusted p"
    r"|\bp [=<] ?0\.\d"
)


@pytest.fixture(scope="module")
def every_run(runs, tiny_run):
    return {**{n: r.path for n, r in runs.items()}, "meeting_cadence": tiny_run.path}


def _texts(saved: dict) -> list[str]:
    return [*saved["findings"], *(x for v in saved["more"].values() for x in v)]


@pytest.mark.parametrize("name", [*ACROSS_STUDIES, "design_power", "model_card"])
def test_no_confidence_interval_or_p_value_beside_a_simulated_contrast(every_run, name):
    """Every rendered findings.json and report.html of the tiny runs."""
    run = every_run[name]
    saved = json.loads((run / "findings.json").read_text(encoding="utf-8"))
    for text in [*_texts(saved), (run / "report.html").read_text(encoding="utf-8")]:
        assert not SIMULATED_CI.search(text), SIMULATED_CI.search(text).group(0)
    if name in ACROSS_STUDIES and name != "checkin_cadence":
        contrasts = [s for s in saved["more"][DEFAULT_ANSWER] if " minus " in s]
        assert contrasts and all("(Monte Carlo error " in s for s in contrasts)


def test_the_report_check_can_fail():
    assert SIMULATED_CI.search("weekly raised completion by 3.0 points (95% CI 1.0 to 5.0)")
    assert SIMULATED_CI.search("a difference (p = 0.02)")
    assert not SIMULATED_CI.search(
        "the difference lies between -3.1 and +2.0 points in 90% of them"
    )
    assert not HEADLINE.match("Weekly raised completion by 3.0 points (95% CI 1.0 to 5.0).")


@pytest.mark.parametrize("name", ACROSS_STUDIES)
def test_every_headline_carries_the_share_of_models_and_the_interval_across_them(every_run, name):
    run = every_run[name]
    saved = json.loads((run / "findings.json").read_text(encoding="utf-8"))
    table = pd.read_parquet(run / "tables" / "across_models.parquet")
    heads = get_study(name).kind(json.loads((run / "manifest.json").read_text())["parameters"])
    assert (
        len(saved["findings"])
        == len(table)
        == len(saved["across_models"])
        == len(heads.headlines())
    )
    for text, row in zip(saved["findings"], table.itertuples(index=False), strict=True):
        m = HEADLINE.match(text)
        assert m, text
        assert int(m["n"]) == row.models == 24
        share = row.share_positive if row.direction == "positive" else row.share_negative
        assert m["share"] == ("all" if share >= 1 else f"{share:.0%}")
        assert float(m["lo"]) == pytest.approx(100 * row.q05, abs=0.051)
        assert float(m["hi"]) == pytest.approx(100 * row.q95, abs=0.051)
        assert row.share_agree == max(row.share_positive, row.share_negative)
        # the Monte Carlo error goes to the detail line, saved beside the findings
        detail = row.detail
        assert detail in saved["more"]["Each verdict with its Monte Carlo error"]
        assert f"Monte Carlo error {100 * row.share_agree_mc_error:.1f} percentage points" in detail
        if row.share_agree_mc_error > 0.02 or not row.mc_small:  # noise is said, not hidden
            assert "Simulation noise is not small" in detail, detail
        assert row.verdict in text and row.verdict in detail
    for key in ("median", "q05", "q95", "share_positive", "share_negative", "share_agree"):
        assert table[f"{key}_mc_error"].ge(0).all()
    answers = pd.read_parquet(run / "tables" / "model_answers.parquet")
    assert answers.groupby("headline").model.nunique().eq(24).all()
    first = answers[answers.headline == 0].estimate
    assert table["median"].iloc[0] == pytest.approx(first.median())


@pytest.mark.parametrize("values", [{"models": "0"}, {"n_models": 0}])
def test_zero_models_are_refused_in_one_sentence(values):
    with pytest.raises(InvalidParameterError) as info:
        get_study("meeting_cadence").parameters.from_values(values)
    msg = str(info.value)
    assert "\n" not in msg and msg.endswith(".") and "n_models" in msg


def test_models_zero_on_the_command_line_exits_2_and_writes_nothing(monkeypatch, tmp_path):
    import papermill
    from typer.testing import CliRunner

    from toolkit.cli import app

    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: 1 / 0)
    result = CliRunner().invoke(
        app, ["run", "meeting_cadence", "-p", "models=0", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "'models'" in result.stderr and not any(tmp_path.iterdir())


def _ensemble_file(tmp_path, rename=None):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from toolkit.behavior import BehaviorModel
    from toolkit.ensemble import Ensemble
    from toolkit.history_matching import prior_sample

    prior = BehaviorModel.priors()
    ens = Ensemble(
        prior_sample(prior, 6, seed=1),
        prior,
        pd.DataFrame({"target_id": ["t"]}),
        {"name": "test"},
        1,
    )
    path = ens.save(tmp_path / "models.parquet")
    if rename:  # a file whose models and metadata name a parameter this toolkit lacks
        table = pq.read_table(path)
        names = [rename.get(c, c) for c in table.column_names]
        meta = dict(table.schema.metadata)
        key = b"toolkit.ensemble"
        info = json.loads(meta[key])
        info["parameters"] = [rename.get(c, c) for c in info["parameters"]]
        meta[key] = json.dumps(info).encode()
        pq.write_table(pa.table(table.columns, names=names).replace_schema_metadata(meta), path)
    return path


def test_an_ensemble_file_is_used_and_one_with_an_unknown_parameter_refused(tmp_path):
    from toolkit.behavior import BehaviorModel

    params = get_study("meeting_cadence").parameters
    good = _ensemble_file(tmp_path)
    assert params.from_values({"models": str(good), "n_models": 6}).n_models == 6
    with pytest.raises(InvalidParameterError, match="'n_models'.*at most the 6 models"):
        params.from_values({"models": str(good), "n_models": 7})
    first = BehaviorModel.priors().parameter.iloc[0]
    (tmp_path / "bad").mkdir()
    bad = _ensemble_file(tmp_path / "bad", rename={first: "meeting_magic"})
    with pytest.raises(InvalidParameterError) as info:
        params.from_values({"models": str(bad)})
    msg = str(info.value)
    assert "\n" not in msg and msg.endswith(".") and "'meeting_magic'" in msg


def test_borderline_only_when_the_share_is_near_a_category_boundary():
    import numpy as np

    from toolkit.sensitivity import summarise_models

    models, reps = np.repeat(np.arange(30), 10), np.tile(np.arange(10), 30)
    clear = pd.DataFrame({"model": models, "replicate": reps, "difference": 0.05 + 0.001 * models})
    ok = summarise_models(clear, boot=50)
    assert ok.verdict == "nearly all plausible models agree" and not ok.borderline
    # 28 of 30 models clearly positive, two whose sign is noise: share 93% to 100% under
    # resampling, within two Monte Carlo errors of 95%
    wobble = np.random.default_rng(0).normal(0.0, 0.05, 10)
    noisy = np.where(models < 2, np.tile(wobble - wobble.mean(), 30), 0.05 + 0.001 * models)
    near = summarise_models(clear.assign(difference=noisy), boot=200)
    assert near.summary["share_agree_mc_error"] > 0
    assert near.borderline and "within two Monte Carlo errors of 95%" in near.borderline_reason


def test_scenario_inputs_are_never_varied_across_models(tmp_path):
    from toolkit.behavior import BehaviorModel
    from toolkit.studies.meeting_cadence import MeetingCadence

    path = _ensemble_file(tmp_path)  # a prior sample: it varies the levers too
    study = MeetingCadence(models=str(path), n_models=6)
    levers = set(BehaviorModel.scenario_inputs())
    assert levers & set(study.held_inputs(study.ensemble.__class__.load(path)))
    assert not levers & set(study.ensemble.parameters) and study.ensemble.parameters
