"""`rmt advise` core: design space, CRN callback, selection over plausible models, tables,
what-if panel (issue 19)."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest

from toolkit.advice import (
    OUTCOMES,
    AdvicePlan,
    AdviceSimulator,
    advise,
    design_space,
    marginal_cost,
    pareto_front,
    prior_ensemble,
    recommend,
    whatif_chart,
    whatif_data,
)
from toolkit.cohort import CohortSpec
from toolkit.errors import InvalidParameterError, RosterError
from toolkit.matching import POLICIES
from toolkit.program import ProgramDesign
from toolkit.selection import SyntheticSystem, select_best

SMALL = dict(
    pairs=20,
    weeks=16,
    budget=40.0,
    policies=["random", "optimal"],
    cadences=["biweekly", "monthly"],
    minutes=[60],
    checkins=["none", "survey_30_60"],
    actions=["coach", "close"],
)
RUN = dict(seed=3, n0=8, block=5, change_models=24, change_replications=3)


@pytest.fixture(scope="module")
def ensemble():
    return prior_ensemble(24, seed=2)


@pytest.fixture(scope="module")
def small_advice(ensemble):
    return advise(AdvicePlan(**SMALL), ensemble, **RUN)


# --- bad input: one sentence naming the input, the value and what is allowed -------------


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("pairs", 0, "'pairs' parameter of advise must be an int in the range [1, 100000]"),
        ("pairs", -3, "got -3"),
        ("weeks", 0, "'weeks' parameter"),
        ("budget", 0, "'budget' parameter of advise must be a finite number > 0"),
        ("budget", -5.0, "got -5.0"),
        ("availability", math.inf, "'availability' parameter of advise must be a finite number"),
        ("availability", math.nan, "'availability'"),
        ("outcome", "joy", "one of 'completion', 'learning', 'both'"),
        ("delta", 0.0, "'delta' parameter of advise must be a finite number in the range (0, 1)"),
        ("delta", 1.5, "(0, 1)"),
        ("alpha", 1.0, "'alpha' parameter of advise must be a finite number in the range (0, 1)"),
        ("alpha", 0, "(0, 1)"),
    ],
)
def test_bad_plan_is_one_sentence(field, value, words):
    with pytest.raises(InvalidParameterError) as err:
        AdvicePlan(**{field: value})
    msg = str(err.value)
    assert words in msg
    assert msg.count(". ") == 0 and msg.endswith(".") and "\n" not in msg


def test_unknown_policy_lists_the_valid_ones():
    with pytest.raises(InvalidParameterError, match="'policies' parameter") as err:
        AdvicePlan(policies=["random", "telepathy"])
    assert all(repr(p) in str(err.value) for p in POLICIES)
    assert "'telepathy'" in str(err.value)


def test_outcomes_are_the_three_named():
    assert OUTCOMES == ("completion", "learning", "both")
    assert AdvicePlan(outcome="learning").delta == 0.01


def test_roster_with_another_number_of_pairs_is_refused(ensemble, small_cohort):
    with pytest.raises(InvalidParameterError, match=r"roster's number of mentees \(25\)"):
        advise(AdvicePlan(**{**SMALL, "pairs": 30}), ensemble, cohort=small_cohort, **RUN)


def test_a_roster_that_fails_validation_raises_its_own_error(tmp_path):
    from toolkit.roster import read_roster

    bad = tmp_path / "people.csv"
    bad.write_text("name,role\nAda,boss\n")
    with pytest.raises(RosterError):
        read_roster(bad)


# --- design space ------------------------------------------------------------------------


def test_design_space_is_the_product_of_the_registries_without_meaningless_actions():
    plan = AdvicePlan()
    d = design_space(plan)
    per = (
        len(plan.cadences) * len(plan.minutes) * (1 + (len(plan.checkins) - 1) * len(plan.actions))
    )
    assert len(d) == len(POLICIES) * per
    assert (d.loc[d["checkins"] == "none", "on_flag"] == "none").all()
    assert not d.duplicated(["policy", "cadence", "meeting_minutes", "checkins", "on_flag"]).any()
    assert d["design"].tolist() == list(range(len(d)))


def test_fixed_hours_are_planned_checkins_and_filter_the_budget():
    plan = AdvicePlan(
        pairs=30,
        weeks=26,
        budget=40,
        policies=["random"],
        cadences=["weekly"],
        minutes=[30],
        checkins=["none", "monthly", "survey_30_60"],
        actions=["coach"],
    )
    d = design_space(plan, checkin_minutes=15).set_index("checkins")
    # monthly: days 28, 56, ..., 168 -> 6 check-ins; survey: days 30, 90, 150 -> 3.
    assert d.loc["monthly", "fixed_hours"] == 6 * 30 * 0.25 == 45.0
    assert d.loc["survey_30_60", "fixed_hours"] == 3 * 30 * 0.25
    assert d["status"].to_dict() == {
        "none": "eligible",
        "monthly": "over budget",
        "survey_30_60": "eligible",
    }


def test_availability_filters_on_planned_meeting_hours_a_month():
    plan = AdvicePlan(
        availability=3,
        policies=["random"],
        cadences=["weekly", "monthly"],
        minutes=[30, 60],
        checkins=["none"],
    )
    d = design_space(plan)
    hours = dict(
        zip(
            zip(d["cadence"], d["meeting_minutes"], strict=True),
            d["meeting_hours_month"],
            strict=True,
        )
    )
    assert hours[("weekly", 60.0)] == pytest.approx(26 / 26 * 52 / 12)
    over = d.loc[d["status"] == "over availability", ["cadence", "meeting_minutes"]]
    assert over.values.tolist() == [["weekly", 60.0]]


def test_a_budget_no_design_meets_names_the_cheapest_designs_hours(ensemble):
    plan = AdvicePlan(**{**SMALL, "checkins": ["survey_30_60"], "budget": 5.0})
    with pytest.raises(InvalidParameterError) as err:
        advise(plan, ensemble, **RUN)
    msg = str(err.value)
    # 16 weeks: surveys on days 30 and 90 -> 2 per pair, 20 pairs, at the longest check-in
    # of the 8 scenarios (the conservative planned hours).
    minutes = max(b.checkin_minutes for b in ensemble.take(8).to_behaviors())
    hours = 2 * 20 * minutes / 60
    assert (
        "'budget' parameter of advise must be at least the cheapest design's planned "
        f"check-in hours ({hours:.4g} for random matching, biweekly 60-min meetings" in msg
    )
    assert msg.endswith("got 5.0.")


# --- the callback: common random numbers ------------------------------------------------


def _sim(ensemble, plan):
    d = design_space(plan)
    arms = tuple(
        (
            r.policy,
            ProgramDesign(
                duration_weeks=plan.weeks,
                cadence=r.cadence,
                meeting_minutes=r.meeting_minutes,
                checkins=r.checkins,
                on_flag=r.on_flag,
            ),
        )
        for r in d.itertuples()
    )
    return AdviceSimulator(
        arms,
        tuple(ensemble.take(3).to_behaviors()),
        CohortSpec(n_mentors=24, n_mentees=plan.pairs),
        seed=5,
    ), d


def test_replication_numbers_do_not_depend_on_what_else_is_asked(ensemble):
    sim, d = _sim(ensemble, AdvicePlan(**SMALL))
    together = sim.metrics([0, 3, 7], [0, 1, 2], [4, 5])
    alone = sim.metrics([3], [1], [5])
    row = together.query("design == 3 and scenario == 1 and replication == 5")
    assert (
        row[["completion", "learning", "both", "hours"]].to_numpy().tolist()
        == alone[["completion", "learning", "both", "hours"]].to_numpy().tolist()
    )
    out, hours = sim(np.array([0, 3, 7]), 2, np.array([4, 5]))
    panel = together[together["scenario"] == 2]
    assert np.array_equal(out, 100 * panel["completion"].to_numpy().reshape(3, 2))
    assert np.array_equal(hours, panel["hours"].to_numpy().reshape(3, 2))


def test_designs_without_checkins_cost_no_coordinator_hours(ensemble):
    sim, d = _sim(ensemble, AdvicePlan(**SMALL))
    f = sim.metrics(d["design"], [0], [0, 1])
    none = d.loc[d["checkins"] == "none", "design"]
    assert (f.loc[f["design"].isin(none), "hours"] == 0).all()
    assert (f.loc[~f["design"].isin(none), "hours"] > 0).all()
    assert f["completion"].between(0, 1).all()


# --- summaries ---------------------------------------------------------------------------


def test_marginal_cost_by_hand():
    cost, c = marginal_cost([0.60, 0.70, 0.55, 0.65], [5.0, 25.0, 5.0, 3.0], pairs=10)
    assert c == 3
    # design 1: (25 - 3) hours for 10 x (0.70 - 0.65) = 0.5 extra pairs -> 44 h per pair.
    assert cost[1] == pytest.approx(44.0)
    assert np.isnan(cost[0]) and np.isnan(cost[2]) and cost[3] == 0


def test_pareto_front_keeps_only_undominated_designs():
    y = np.array([0.5, 0.6, 0.6, 0.4, 0.7])
    h = np.array([0.0, 10.0, 12.0, 0.0, 30.0])
    assert pareto_front(y, h).tolist() == [True, True, False, False, True]


# --- the advice --------------------------------------------------------------------------


def test_advice_recommends_an_eligible_design_with_sentences(small_advice):
    a = small_advice
    rec, best = a.row(a.recommended), a.row(a.best)
    assert best["selection_status"] == "selected" and a.best == a.selection.selected
    assert rec["status"] == "eligible" and rec["indistinguishable"]
    assert rec["hours_mean"] <= best["hours_mean"]
    assert a.recommended == recommend(
        a.designs["design"],
        a.designs["indistinguishable"],
        a.designs["hours_mean"],
        a.designs["objective"],
        best=a.best,
    )
    lines = a.findings()
    assert lines[0] == f"Recommended design: {rec['label']}."
    assert lines[1] == a.rule_text
    assert "across the 8 plausible models" in lines[2]
    assert "chance of exceeding the budget" in lines[3]
    assert (
        "at least 2 points of completion better than every other eligible design's, the "
        "procedure selects it with probability at least 0.95" in a.selection.guarantee
    )
    assert "not even that the selected design is within 2 of the best" in a.selection.guarantee
    assert a.selection.guarantee in lines
    assert a.change_text in lines


def test_tables_agree_with_the_selection(small_advice):
    a = small_advice
    t = a.designs
    simulated = t["selection_status"].notna()
    assert set(t.loc[simulated, "design"]) == set(a.selection.designs["design"])
    assert t.loc[t["status"] == "eligible", "objective"].notna().all()
    # The recommended design is on the Pareto front or is beaten only inside delta.
    assert t.loc[t["recommended"], "indistinguishable"].all()
    c = t.set_index("design").loc[a.cheapest]
    assert c["hours_mean"] == t["hours_mean"].min()


# --- the recommendation rule: the cheapest design not shown to be delta worse than the best


def test_the_rule_takes_the_cheapest_indistinguishable_design_by_hand():
    ids = [10, 11, 12, 13]
    hours = [31.5, 0.0, 0.0, 40.0]
    objective = [0.80, 0.78, 0.79, 0.81]
    # 11 and 12 both cost 0 hours and are indistinguishable: the better objective wins.
    assert recommend(ids, [True, True, True, True], hours, objective, best=10) == 12
    # A design the data show to be more than delta worse is never recommended.
    assert recommend(ids, [True, True, False, True], hours, objective, best=10) == 11
    # Nothing cheaper that is indistinguishable: the best itself.
    assert recommend(ids, [True, False, False, True], hours, objective, best=10) == 10
    # A design whose hours were not simulated is not a candidate.
    assert recommend(ids, [True, True, True, True], [31.5, np.nan, 5, 0], objective, best=10) == 13
    with pytest.raises(InvalidParameterError, match="'best' parameter of advise"):
        recommend(ids, [True] * 4, hours, objective, best=99)


def _planted(gap: float) -> tuple[int, int]:
    """Design 0 costs 30 hours; design 1 costs none and is ``gap`` (in units of delta = 1)
    worse; design 2 costs none and is 5 delta worse. Returns (selected, recommended)."""
    sel = select_best(
        SyntheticSystem(np.array([1.0, 1.0 - gap, -4.0]), seed=11),
        range(3),
        delta=1.0,
        alpha=0.05,
        n0=20,
        screening=False,
    )
    d = sel.designs
    rec = recommend(
        d["design"], d["indistinguishable"], [30.0, 0.0, 0.0], d["estimate"], best=sel.selected
    )
    return sel.selected, rec


def test_a_cheaper_design_within_delta_of_the_best_is_recommended():
    # Design 1 has the best's mean: whichever of the two is selected, the free one is run.
    selected, rec = _planted(0.0)
    assert rec == 1
    assert selected in (0, 1)


def test_a_cheaper_design_more_than_delta_worse_is_not_recommended():
    # Design 1 is 3 delta worse: the data show it, so the 30-hour best is run.
    selected, rec = _planted(3.0)
    assert selected == 0 and rec == 0


def test_objective_is_the_worst_scenario_mean(ensemble, small_advice):
    a = small_advice
    sim, _ = _sim(ensemble, a.plan)
    rec = a.row(a.recommended)
    assert rec["objective"] <= rec["completion_mean"] + 1e-12
    assert rec["objective"] == pytest.approx(rec["completion_low"])


def test_the_selection_recovers_a_planted_best_design(ensemble):
    # Closing every flagged pair can only lower completion (it ends pairs the model would
    # have kept), and check-ins without action change nothing else: the design without
    # check-ins is best by construction.
    plan = AdvicePlan(
        pairs=20,
        weeks=16,
        budget=100,
        policies=["optimal"],
        cadences=["biweekly"],
        minutes=[60],
        checkins=["none", "monthly"],
        actions=["close"],
        delta=0.02,
    )
    a = advise(plan, ensemble, seed=4, n0=10, block=5, change_models=8, change_replications=2)
    assert a.row(a.best)["checkins"] == "none"
    # It is also the cheapest (no check-ins, no hours), so the rule runs it.
    assert a.recommended == a.best


def test_what_if_panel_data_equals_the_advice_tables(small_advice):
    a = small_advice
    data = whatif_data(a)
    t = a.designs.set_index("design")
    simulated = t["objective"].notna()
    assert data["design"].nunique() == simulated.sum()
    for label, col, scale in [
        ("completion (%)", "completion", 100),
        ("coordinator hours", "hours", 1),
        ("mentee skill gain (points)", "learning", 100),
    ]:
        part = data[data["metric"] == label].set_index("design")
        for stat in ("mean", "low", "high"):
            assert np.array_equal(
                part[stat].to_numpy(), t.loc[part.index, f"{col}_{stat}"].to_numpy() * scale
            )
    assert data.loc[data["recommended"], "design"].unique().tolist() == [a.recommended]


def test_same_seed_same_advice_serially_and_in_a_process_pool(ensemble, small_advice):
    with ProcessPoolExecutor(2) as pool:
        b = advise(AdvicePlan(**SMALL), ensemble, mapper=pool.map, chunk_size=4, **RUN)
    pd.testing.assert_frame_equal(small_advice.designs, b.designs)
    assert small_advice.findings() == b.findings()


@pytest.mark.slow
def test_same_seed_same_advice_on_dask(ensemble, small_advice):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):

        def mapper(f, xs):
            return client.gather(client.map(f, list(xs), pure=False))

        b = advise(AdvicePlan(**SMALL), ensemble, mapper=mapper, chunk_size=4, **RUN)
    pd.testing.assert_frame_equal(small_advice.designs, b.designs)


# --- the what-if page --------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_what_if_page_is_self_contained_and_small(small_advice, tmp_path):
    chart = whatif_chart(small_advice)
    path = tmp_path / "whatif.html"
    chart.save(str(path), inline=True)
    html = path.read_text()
    assert path.stat().st_size <= 5 * 1024 * 1024
    assert "cdn.jsdelivr" not in html and "<script src=" not in html
    spec = chart.to_dict()
    assert {p["name"] for p in spec["params"]} >= {
        "p_policy",
        "p_cadence",
        "p_checkins",
        "p_action",
    }


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium on this machine: the offline rendering of the what-if page is not checked",
)
def test_what_if_page_renders_in_headless_chromium_with_the_network_cut(small_advice, tmp_path):
    path = tmp_path / "whatif.html"
    whatif_chart(small_advice).save(str(path), inline=True)
    out = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--virtual-time-budget=10000",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    dom, source = out.stdout, path.read_text()
    # What only a rendered page has: Vega's SVG view, the axis label of the design the
    # dropdowns start on (the recommended one), and the five dropdowns as <select>s.
    rendered = ['class="marks"', ">your choice = recommended</text>", 'class="vega-bindings"']
    assert not any(r in source for r in rendered)
    assert all(r in dom for r in rendered), out.stderr[-2000:]
    assert dom.count("<select") == 5


# --- the study and `rmt advise` ----------------------------------------------------------


def _cli():
    import typer

    from toolkit._advise_cli import advise as command
    from toolkit.cli import clean_errors

    app = typer.Typer()
    app.command("advise")(clean_errors(command))
    app.command("other")(lambda: None)  # two commands: typer keeps the 'advise' name
    return app


@pytest.mark.parametrize(
    "args, words",
    [
        (["--pairs", "0"], "'pairs' parameter of study advise"),
        (["--weeks", "-2"], "'weeks' parameter of study advise"),
        (["--coordinator-hours", "0"], "'coordinator_hours' parameter of study advise"),
        (["--availability", "inf"], "'availability' parameter of study advise"),
        (["--outcome", "joy"], "'completion', 'learning', 'both'"),
        (["-p", "policies=random,telepathy"], "'telepathy'"),
        (["--delta", "2"], "'delta' parameter of study advise"),
        (["--alpha", "0"], "'alpha' parameter of study advise"),
        (
            ["-p", "checkins=monthly", "--coordinator-hours", "5"],
            "must be at least the cheapest design's planned check-in hours",
        ),
    ],
)
def test_rmt_advise_bad_input_is_one_sentence_exit_2_and_writes_nothing(args, words, tmp_path):
    from typer.testing import CliRunner

    out = tmp_path / "runs"
    result = CliRunner().invoke(_cli(), ["advise", *args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    err = result.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err and err.endswith("."), err
    assert words in err
    assert not out.exists() or not any(out.rglob("*"))


def test_rmt_advise_refuses_a_bad_roster_with_its_own_error(tmp_path):
    from typer.testing import CliRunner

    from toolkit.roster import read_roster

    bad = tmp_path / "people.csv"
    bad.write_text("name,role\nAda,boss\n")
    with pytest.raises(RosterError) as own:
        read_roster(bad)
    result = CliRunner().invoke(
        _cli(), ["advise", "--roster", str(bad), "--out", str(tmp_path / "runs")]
    )
    assert result.exit_code == 2
    assert str(own.value).split(";")[0] in result.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("*"))


@pytest.fixture(scope="module")
def advise_run(tmp_path_factory):
    from tests.conftest import TINY
    from toolkit.runs import run_study

    return run_study("advise", TINY["advise"], out=tmp_path_factory.mktemp("runs"), progress=False)


def test_the_advise_report_is_findings_first_with_the_panel_and_methods(advise_run):
    from tests.test_studies import check_report

    text = (advise_run.path / "report.html").read_text(encoding="utf-8")
    check_report(text)
    findings = json.loads((advise_run.path / "findings.json").read_text())["findings"]
    rec = [f for f in findings if f.startswith("Recommended design: ")]
    assert rec and text.index(rec[0].split(":")[1].strip()[:20]) < text.index('id="whatif"')
    assert text.index('id="findings"') < text.index('id="whatif"') < text.index('id="methods"')
    assert "with probability at least 0.95" in text
    assert "Kim &amp; Nelson" in text
    designs = pd.read_parquet(advise_run.path / "tables" / "designs.parquet")
    panel = pd.read_parquet(advise_run.path / "tables" / "whatif.parquet")
    part = panel[panel["metric"] == "completion (%)"].set_index("design")
    assert np.allclose(
        part["mean"], designs.set_index("design").loc[part.index, "completion_mean"] * 100
    )


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium on this machine: the offline rendering of the advise report is not checked",
)
def test_the_advise_report_renders_offline_in_headless_chromium(advise_run):
    path = advise_run.path / "report.html"
    out = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--virtual-time-budget=10000",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert 'class="marks"' in out.stdout and out.stdout.count("<select") == 5
    assert 'class="marks"' not in path.read_text(encoding="utf-8")


def test_what_would_change_the_advice_says_choose_only_where_the_rival_mostly_wins(small_advice):
    from dataclasses import replace

    box = pd.DataFrame(
        {
            "parameter": ["quality_base"],
            "low": [0.0],
            "high": [0.6],
            "lower_restricted": [False],
            "upper_restricted": [True],
            "qp": [0.01],
            "coverage": [0.9],
            "density": [0.8],
            "mass": [0.3],
            "sign": ["positive"],
            "cases": [20],
            "text": ["quality_base is below 0.6"],
        }
    )
    dense = replace(small_advice, change=box, change_share=20 / 64, change_models=64)
    assert dense.change_text.startswith("If quality_base is below 0.6, choose ")
    assert "in 80% of the plausible models" in dense.change_text
    sparse = replace(dense, change=box.assign(density=0.35))
    assert "choose" not in sparse.change_text
    assert "in no region of the ensemble does it win in most models" in sparse.change_text
    few = replace(dense, change=pd.DataFrame(), change_models=12)
    assert "too few (fewer than 20)" in few.change_text


def test_a_rerun_of_the_advise_study_gives_the_same_bytes(advise_run, tmp_path):
    from tests.conftest import TINY
    from toolkit.runs import run_study

    again = run_study("advise", TINY["advise"], out=tmp_path, progress=False).path
    for name in (
        "notebook.ipynb",
        "report.html",
        "findings.json",
        "figures/whatif.html",
        "figures/pareto.png",
        "tables/designs.parquet",
        "tables/stages.parquet",
    ):
        assert (advise_run.path / name).read_bytes() == (again / name).read_bytes(), name
