"""Selection of the best design with a guarantee: KN, screening, scenarios, hours constraint."""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

from toolkit.errors import InvalidParameterError
from toolkit.selection import (
    Selection,
    SyntheticSystem,
    increasing_means,
    kn_h2,
    select_best,
    slippage_means,
)


class Spy:
    """A simulator that records what the procedure asked for (picklable for a pool)."""

    def __init__(self, system):
        self.system, self.calls = system, []

    def __call__(self, designs, scenario, replications):
        self.calls.append(
            (tuple(int(d) for d in designs), int(scenario), tuple(int(r) for r in replications))
        )
        return self.system(designs, scenario, replications)


def _frames_equal(a: Selection, b: Selection, *, simulated: bool = True) -> bool:
    drop = [] if simulated else ["replications_simulated"]
    return (
        a.selected == b.selected
        and a.indistinguishable == b.indistinguishable
        and a.designs.drop(columns=drop).equals(b.designs.drop(columns=drop))
        and a.cells.equals(b.cells)
        and a.stages.equals(b.stages)
        and a.guarantee == b.guarantee
    )


# --- constants --------------------------------------------------------------------------


def test_kn_h2_is_kim_and_nelson_constant():
    k, alpha, n0 = 10, 0.05, 20
    eta = 0.5 * ((2 * alpha / (k - 1)) ** (-2 / (n0 - 1)) - 1)
    assert kn_h2(alpha / (k - 1), n0) == pytest.approx(2 * eta * (n0 - 1))


def test_the_union_bound_counts_cell_pairs_over_scenarios():
    mu = increasing_means(6, 1.0, scenarios=4)
    sel = select_best(
        SyntheticSystem(mu, seed=1),
        range(6),
        delta=0.5,
        scenarios=range(4),
        quantile=0.5,
        n0=10,
        screening=False,
    )
    s, m, k = 2, 4, 6
    assert sel.inputs["order_s"] == s
    assert sel.inputs["kn_beta"] == pytest.approx(0.05 / ((k - 1) * s * (m - s + 1)))
    assert sel.inputs["kn_h2"] == pytest.approx(kn_h2(sel.inputs["kn_beta"], 10))


# --- recovery ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_recovers_a_planted_best_design(seed):
    rng = np.random.default_rng(seed)
    mu = rng.normal(0.0, 1.0, 30)
    best = int(rng.integers(30))
    mu[best] = mu.max() + 1.0
    system = SyntheticSystem(mu, sigma=rng.uniform(0.5, 2.0, 30), correlation=0.6, seed=seed)
    sel = select_best(system, range(30), delta=0.5, n0=10)
    assert sel.selected == best
    assert sel.designs.loc[sel.designs.design == best, "status"].item() == "selected"
    assert sel.guarantee_holds
    assert (
        "at least 0.5 outcome units better than every other eligible design's, the "
        "procedure selects it with probability at least 0.95" in sel.guarantee
    )
    assert "asymptotic in the zone's width for KN++" in sel.guarantee
    assert "no probability is guaranteed" in sel.guarantee


def test_design_ids_are_passed_back_and_minimizing_picks_the_smallest():
    ids = np.array([40, 11, 73, 5])
    means = np.zeros(100)
    means[ids] = [0.0, -2.0, 1.0, 3.0]
    system = SyntheticSystem(means, seed=4)
    assert select_best(system, ids, delta=0.5, n0=10).selected == 5
    assert select_best(system, ids, delta=0.5, n0=10, maximize=False).selected == 11


def test_robust_selection_takes_the_best_worst_case_not_the_best_average():
    # design 0: best on average but poor in scenario 2; design 1: steady
    mu = np.array([[3.0, 3.0, -1.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [-1.0, 0.5, 0.0]])
    system = SyntheticSystem(mu, correlation=0.5, seed=5)
    sel = select_best(system, range(4), delta=0.5, scenarios=range(3), n0=10)
    assert sel.selected == 1
    assert "worst-case mean outcome over the scenarios" in sel.guarantee
    # on the middle scenario mean (s = 2 of 3) design 0 wins
    assert (
        select_best(system, range(4), delta=0.5, scenarios=range(3), quantile=0.5, n0=10).selected
        == 0
    )


def test_screening_removes_clearly_inferior_designs_before_the_sequential_phase():
    mu = increasing_means(120, 0.5)
    spy = Spy(SyntheticSystem(mu, seed=6))
    sel = select_best(spy, range(120), delta=0.5, n0=10)  # auto: screens from 50 designs
    assert sel.selected == 119
    assert sel.inputs["screening"] == "auto" and "screening" in sel.inputs["parts"]
    screened = sel.designs[sel.designs.status == "screened"]
    assert len(screened) > 60
    assert (screened.replications == 10).all()
    # the sequential phase goes on from the first stage: its next replication is 10
    later = {r for d, _, reps in spy.calls for r in reps if len(d) < 120}
    assert min(later) == 10


def test_screening_off_runs_kn_alone():
    mu = increasing_means(60, 0.5)
    sel = select_best(SyntheticSystem(mu, seed=7), range(60), delta=0.5, n0=10, screening=False)
    assert sel.selected == 59
    assert "screening" not in sel.inputs["parts"]
    assert sel.inputs["kn_beta"] == pytest.approx(0.05 / 59)


# --- the guarantee ----------------------------------------------------------------------


def _failure_rate(
    true_gap: float,
    *,
    delta: float = 0.5,
    alpha: float = 0.2,
    k: int = 5,
    macro: int = 300,
    correlation: float = 0.0,
) -> float:
    mu = slippage_means(k, true_gap)
    sigma = np.linspace(0.7, 1.3, k)  # unequal variances
    wrong = 0
    for seed in range(macro):
        sel = select_best(
            SyntheticSystem(mu, sigma=sigma, correlation=correlation, seed=seed),
            range(k),
            delta=delta,
            alpha=alpha,
            n0=10,
            block=20,
        )
        wrong += sel.selected != k - 1
    return wrong / macro


def _bound(alpha: float, macro: int) -> float:
    """alpha plus 2.33 binomial standard errors (one-sided 1%: the guarantee is a bound)."""
    return alpha + 2.33 * math.sqrt(alpha * (1 - alpha) / macro)


@pytest.mark.slow
@pytest.mark.parametrize("correlation", [0.0, 0.5])
def test_failure_rate_in_the_slippage_configuration_is_at_most_alpha(correlation):
    # least favourable configuration: the best exactly delta above the rest; alpha = 0.2
    # so that 300 macro-replications can see a violation
    rate = _failure_rate(0.5, correlation=correlation)
    assert rate <= _bound(0.2, 300), rate


@pytest.mark.slow
def test_the_failure_rate_check_fails_when_the_indifference_zone_is_violated():
    """The check above can fail: a true gap far below delta breaks the guarantee."""
    rate = _failure_rate(0.05)
    assert rate > _bound(0.2, 300), rate


# --- hours: fixed and stochastic --------------------------------------------------------


def test_designs_whose_fixed_hours_exceed_the_budget_are_never_simulated():
    mu = increasing_means(8, 1.0)  # the best (7) costs too much
    hours = np.array([5, 5, 5, 5, 5, 5, 5, 50.0])
    spy = Spy(SyntheticSystem(mu, seed=8))
    sel = select_best(spy, range(8), delta=0.5, n0=10, budget=40, fixed_hours=hours)
    assert sel.selected == 6
    assert all(7 not in designs for designs, _, _ in spy.calls)
    row = sel.designs.set_index("design").loc[7]
    assert row.status == "over budget" and row.replications == 0


def test_a_budget_no_design_meets_names_the_cheapest_designs_hours():
    hours = np.array([30.0, 12.5, 44.0])
    with pytest.raises(
        InvalidParameterError,
        match=r"cheapest design's coordinator hours "
        r"\(12\.5 for design 1\); got 10\.",
    ) as err:
        select_best(SyntheticSystem(np.zeros(3)), range(3), delta=0.5, budget=10, fixed_hours=hours)
    assert str(err.value).count(". ") == 0  # one sentence


def test_stochastic_hours_constraint_drops_the_infeasible_best():
    mu = increasing_means(6, 1.0, scenarios=2)
    hours = np.full((6, 2), 10.0)
    hours[5, 1] = 14.0  # the best breaks the budget in one scenario
    system = SyntheticSystem(mu, correlation=0.3, seed=9, hours_mean=hours, hours_sd=2.0)
    sel = select_best(
        system,
        range(6),
        delta=0.5,
        scenarios=range(2),
        n0=10,
        budget=12.0,
        simulated_hours=True,
        hours_tolerance=1.0,
    )
    assert sel.selected == 4
    d = sel.designs.set_index("design")
    assert d.loc[5, "status"] == "infeasible"
    assert d.loc[5, "mean_hours"] > 12
    assert sel.cells.query("design == 4").feasibility.eq("feasible").all()
    assert "mean coordinator hours at most 12 - 1 in every scenario" in sel.guarantee
    assert "feasibility" in sel.inputs["parts"]


def _chosen_despite_hours(best_hours: float, macro: int = 200) -> float:
    mu = increasing_means(4, 1.0)
    hours = np.array([10.0, 10.0, 10.0, best_hours])
    chosen = 0
    for seed in range(macro):
        system = SyntheticSystem(mu, seed=seed, hours_mean=hours, hours_sd=2.0)
        sel = select_best(
            system,
            range(4),
            delta=0.5,
            alpha=0.3,
            n0=10,
            budget=12.0,
            simulated_hours=True,
            hours_tolerance=1.0,
            block=20,
        )
        chosen += sel.selected == 3
    return chosen / macro


@pytest.mark.slow
def test_a_best_design_over_budget_by_the_tolerance_is_rarely_chosen():
    # alpha 0.3 split in two: feasibility 0.15 over k - 1 + m = 4 cells -> 0.0375 for the
    # one cell that decides whether design 3 (mean hours budget + tolerance) is chosen
    beta = 0.15 / 4
    bound = beta + 2.33 * math.sqrt(beta * (1 - beta) / 200)
    assert _chosen_despite_hours(13.0) <= bound
    # the check can fail: at mean hours equal to the budget (inside the tolerance) the
    # procedure may go either way, and does
    assert _chosen_despite_hours(12.0) > bound


def test_stochastic_hours_no_design_feasible_is_one_sentence_naming_the_cheapest():
    mu = increasing_means(4, 1.0)
    hours = np.array([20.0, 16.0, 25.0, 30.0])
    system = SyntheticSystem(mu, seed=10, hours_mean=hours, hours_sd=1.0)
    with pytest.raises(
        InvalidParameterError, match=r"the cheapest, design 1, needs 1[56]\.\d+ hours"
    ):
        select_best(
            system,
            range(4),
            delta=0.5,
            n0=10,
            budget=12.0,
            simulated_hours=True,
            hours_tolerance=1.0,
        )


# --- the record, determinism, execution -------------------------------------------------


def test_the_record_tracks_survivors_replications_and_inputs():
    mu = increasing_means(12, 0.4)
    spy = Spy(SyntheticSystem(mu, seed=11))
    sel = select_best(spy, range(12), delta=0.4, n0=10)
    surv = sel.stages.survivors.to_numpy()
    assert (np.diff(surv) <= 0).all() and surv[-1] == 1
    assert sel.survivors_at(0) == tuple(range(12))
    assert sel.survivors_at(int(sel.stages.replication.max())) == (sel.selected,)
    # each design was simulated exactly for the replications the record says it used
    asked = np.zeros(12, dtype=int)
    for designs, _, reps in spy.calls:
        asked[list(designs)] += len(reps)
    assert (asked == sel.designs.replications_simulated.to_numpy()).all()
    assert (sel.designs.replications == sel.designs.replications_simulated).all()  # block 1
    assert sel.total_replications == asked.sum()
    assert sel.inputs["delta"] == 0.4 and sel.inputs["designs"] == list(range(12))
    assert sel.replications.loc[sel.selected] == sel.designs.replications.max()


def test_a_twin_of_the_best_is_indistinguishable_and_a_poor_design_is_not():
    mu = np.array([0.0, 0.0, 3.0, 3.0, -3.0])  # 2 and 3 identical; 4 far below
    sel = select_best(SyntheticSystem(mu, correlation=0.5, seed=12), range(5), delta=0.5, n0=10)
    assert sel.selected in (2, 3)
    assert {2, 3} <= set(sel.indistinguishable)
    assert 4 not in sel.indistinguishable
    d = sel.designs.set_index("design")
    assert d.loc[4, "gap_lower"] >= 0.5 and d.loc[4, "gap"] > 2


def test_same_seed_same_record_and_block_size_changes_only_wasted_simulation():
    mu = increasing_means(15, 0.3, scenarios=3)
    system = SyntheticSystem(mu, correlation=0.4, seed=13)
    args = dict(delta=0.3, scenarios=range(3), n0=10)
    a = select_best(system, range(15), **args)
    assert _frames_equal(a, select_best(system, range(15), **args))
    b = select_best(system, range(15), block=7, **args)
    assert _frames_equal(a, b, simulated=False)
    assert (b.designs.replications_simulated >= a.designs.replications_simulated).all()
    other = select_best(SyntheticSystem(mu, correlation=0.4, seed=14), range(15), **args)
    assert not other.cells.equals(a.cells)


def test_thread_and_process_pools_give_the_serial_record():
    mu = increasing_means(20, 0.3, scenarios=2)
    system = SyntheticSystem(mu, correlation=0.4, seed=15)
    args = dict(delta=0.3, scenarios=range(2), n0=10, block=5, chunk_size=6)
    serial = select_best(system, range(20), **args)
    with ThreadPoolExecutor(2) as pool:
        assert _frames_equal(serial, select_best(system, range(20), mapper=pool.map, **args))
    with ProcessPoolExecutor(2) as pool:
        assert _frames_equal(serial, select_best(system, range(20), mapper=pool.map, **args))


def test_a_replication_cap_says_the_guarantee_does_not_hold():
    mu = slippage_means(6, 0.05)
    sel = select_best(
        SyntheticSystem(mu, seed=16), range(6), delta=0.05, n0=10, max_replications=30
    )
    assert not sel.guarantee_holds and sel.guarantee.startswith("No guarantee")
    assert sel.designs.replications.max() <= 30


def test_a_cap_before_the_sequential_phase_picks_from_the_first_stage():
    mu = increasing_means(60, 0.5)  # screening on; the cap stops the sequential phase early
    sel = select_best(
        SyntheticSystem(mu, seed=17), range(60), delta=0.5, n0=10, max_replications=15
    )
    assert not sel.guarantee_holds
    assert sel.selected == 59


def test_one_design_needs_no_simulation():
    spy = Spy(SyntheticSystem(np.zeros(3)))
    sel = select_best(spy, [2], delta=0.5)
    assert sel.selected == 2 and spy.calls == []


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"delta": 0}, r"'delta' parameter of select_best must be a finite number > 0; got 0\."),
        ({"delta": -1.0}, r"'delta'.*> 0; got -1\.0\."),
        ({"delta": float("nan")}, r"'delta'"),
        ({"delta": 0.5, "alpha": 0}, r"'alpha'.*in the range \(0, 1\); got 0\."),
        ({"delta": 0.5, "alpha": 1.0}, r"'alpha'.*\(0, 1\); got 1\.0\."),
        ({"delta": 0.5, "alpha": 1.5}, r"'alpha'"),
        ({"delta": 0.5, "n0": 1}, r"'n0'.*got 1\."),
        ({"delta": 0.5, "quantile": 1.5}, r"'quantile'"),
        ({"delta": 0.5, "screening": "yes"}, r"'screening'.*True, False or 'auto'"),
        ({"delta": 0.5, "scenarios": []}, r"'scenarios'.*non-empty"),
        ({"delta": 0.5, "simulated_hours": True}, r"'budget'.*positive number"),
        ({"delta": 0.5, "budget": -3}, r"'budget'.*> 0; got -3\."),
        ({"delta": 0.5, "budget": 10, "fixed_hours": [1, 2]}, r"'fixed_hours'.*3 finite"),
        ({"delta": 0.5, "mapper": 3}, r"'mapper'"),
        ({"delta": 0.5, "units": ""}, r"'units'"),
        ({"delta": 0.5, "max_replications": 5}, r"'max_replications'.*>= 20"),
    ],
)
def test_bad_input_is_one_sentence(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        select_best(SyntheticSystem(np.zeros(3)), range(3), **kwargs)


@pytest.mark.parametrize("designs", [[], (), np.array([], dtype=int), [1, 1, 2], "abc", [0.5, 1.5]])
def test_an_empty_or_repeated_design_set_is_refused(designs):
    with pytest.raises(
        InvalidParameterError,
        match=r"'designs' parameter of select_best must "
        r"be a non-empty sequence of distinct integer ids",
    ):
        select_best(SyntheticSystem(np.zeros(3)), designs, delta=0.5)


def test_a_simulator_returning_the_wrong_shape_is_named():
    def bad(designs, scenario, replications):
        return np.zeros((len(replications), len(designs) + 1))

    with pytest.raises(InvalidParameterError, match=r"'simulate' callback.*shape \(3, 20\)"):
        select_best(bad, range(3), delta=0.5)


def test_a_simulator_without_hours_is_named_when_hours_are_simulated():
    with pytest.raises(InvalidParameterError, match=r"pair \(outcomes, hours\)"):
        select_best(
            SyntheticSystem(np.zeros(3)), range(3), delta=0.5, budget=5, simulated_hours=True
        )


def test_kn_without_variance_updating_keeps_the_first_stage_constants_and_says_exact():
    mu = slippage_means(6, 0.5)
    kn = select_best(
        SyntheticSystem(mu, seed=21), range(6), delta=0.5, n0=10, variance_updating=False
    )
    knpp = select_best(SyntheticSystem(mu, seed=21), range(6), delta=0.5, n0=10)
    assert kn.inputs["variance_updating"] is False and knpp.inputs["variance_updating"] is True
    assert "KN++" not in kn.guarantee and "KN++" in knpp.guarantee
    # both start from the same first stage, with the same h^2 there
    assert kn.inputs["kn_h2"] == knpp.inputs["kn_h2"] == pytest.approx(kn_h2(0.05 / 5, 10))


def test_variance_updating_uses_fewer_replications_in_slippage_on_average():
    mu = slippage_means(10, 0.5)
    used = {
        vu: np.mean(
            [
                select_best(
                    SyntheticSystem(mu, seed=s),
                    range(10),
                    delta=0.5,
                    n0=10,
                    variance_updating=vu,
                    block=20,
                ).total_replications
                for s in range(20)
            ]
        )
        for vu in (False, True)
    }
    assert used[True] < used[False], used


# --- BIZ (Frazier 2014), the benchmark's comparison for independent sampling only ----------


def test_biz_comparison_recovers_a_planted_best_and_reads_each_replication_once():
    from benchmarks.bench_selection import biz_independent

    mu = slippage_means(8, 3.0)[:, 0]  # the last system 3 delta = 3 sigma ahead
    for seed in range(5):
        for known in (None, 1.0):
            chosen, used = biz_independent(
                SyntheticSystem(mu, seed=seed), 8, 1.0, 0.05, 10, known_variance=known
            )
            assert chosen == 7
            assert 8 * 10 <= used < 8 * 10 + 200  # first stage, then a few more


def test_biz_comparison_is_not_sure_of_a_best_that_does_not_lead():
    from benchmarks.bench_selection import biz_independent

    # Equal means: BIZ must keep sampling past the first stage before it stops.
    mu = np.zeros(5)
    used = [
        biz_independent(SyntheticSystem(mu, seed=s), 5, 0.5, 0.05, 10, known_variance=1.0)[1]
        for s in range(5)
    ]
    assert min(used) > 5 * 10
