"""Design diagnosis: power against closed forms, diagnosands' meaning, reproducibility across executors."""

from __future__ import annotations

import concurrent.futures as cf
import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.power import TTestIndPower

from toolkit.diagnosis import (
    DIAGNOSANDS,
    ArmContrast,
    DifferenceInMeans,
    TwoArmNormal,
    diagnosands,
    diagnose,
    power_curve,
    simulation_seed,
)
from toolkit.errors import AnalysisInputError, InvalidParameterError


def test_power_matches_statsmodels_closed_form():
    """Student t test, n=30 per arm, d=0.5: simulated power within 3 MCSE of TTestIndPower."""
    d = diagnose(
        TwoArmNormal(n=30, effect=0.5),
        DifferenceInMeans(),
        sims=2000,
        seed=3,
        executor="serial",
        progress=False,
    )
    exact = TTestIndPower().power(effect_size=0.5, nobs1=30, alpha=0.05, ratio=1.0)
    power, mcse = d.value("power"), d.mcse("power")
    assert abs(power - exact) <= 3 * mcse, (
        f"power {power:.4f} vs exact {exact:.4f} (MCSE {mcse:.4f})"
    )
    # the bootstrap MCSE of a proportion agrees with the binomial formula
    assert mcse == pytest.approx(np.sqrt(exact * (1 - exact) / 2000), rel=0.15)
    assert abs(d.value("bias")) <= 3 * d.mcse("bias")
    assert abs(d.value("coverage") - 0.95) <= 3 * d.mcse("coverage")
    assert d.value("mean_se") == pytest.approx(np.sqrt(2 / 30), rel=0.03)
    # significant results exaggerate an underpowered effect
    assert d.value("exaggeration_ratio") > 1
    assert list(d.diagnosands.diagnosand) == list(DIAGNOSANDS)


def test_null_effect_power_is_alpha_and_sign_diagnosands_undefined():
    d = diagnose(
        TwoArmNormal(n=20, effect=0.0),
        DifferenceInMeans(),
        sims=1000,
        seed=1,
        executor="serial",
        progress=False,
    )
    assert abs(d.value("power") - 0.05) <= 3 * d.mcse("power")
    assert np.isnan(d.value("type_s_rate")) and np.isnan(d.value("exaggeration_ratio"))


def test_type_s_and_exaggeration_by_hand():
    sims = pd.DataFrame(
        {
            "estimate": [1.0, -0.5, 3.0, 0.2],
            "se": 1.0,
            "ci_low": [0.1, -1.0, 2.0, -1],
            "ci_high": [2.0, 0.0, 4.0, 1],
            "p_value": [0.01, 0.04, 0.001, 0.5],
        }
    )
    out = diagnosands(sims, estimand=1.0, bootstrap=50).set_index("diagnosand").estimate
    assert out["power"] == 0.75
    assert out["type_s_rate"] == pytest.approx(1 / 3)
    assert out["exaggeration_ratio"] == pytest.approx((1.0 - 0.5 + 3.0) / 3)
    assert out["coverage"] == 0.5
    assert out["rmse"] == pytest.approx(np.sqrt((0 + 2.25 + 4 + 0.64) / 4))


def test_same_seed_same_diagnosands_under_every_executor():
    from distributed import Client, LocalCluster

    design, est = TwoArmNormal(n=25, effect=0.4), DifferenceInMeans()
    kw = {"sims": 120, "seed": 42, "progress": False, "chunk_size": 7}
    serial = diagnose(design, est, executor="serial", **kw)
    proc = diagnose(design, est, executor="process", workers=2, **kw)
    with cf.ThreadPoolExecutor(3) as pool:
        thread = diagnose(design, est, executor=pool, **kw)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        dask = diagnose(design, est, executor=client, **kw)
    for other in (proc, thread, dask):
        pd.testing.assert_frame_equal(serial.diagnosands, other.diagnosands)
        pd.testing.assert_frame_equal(serial.simulations, other.simulations)
    different = diagnose(design, est, executor="serial", **{**kw, "seed": 43})
    assert not serial.simulations.estimate.equals(different.simulations.estimate)


def test_simulation_seed_is_pure():
    assert simulation_seed(1, 5) == simulation_seed(1, 5)
    assert len({simulation_seed(1, i) for i in range(1000)}) == 1000
    assert 0 <= simulation_seed(2**63 - 1, 3) < 2**63


def test_power_curve_rises_with_n_and_shares_seeds():
    curve = power_curve(
        TwoArmNormal(effect=0.5),
        DifferenceInMeans(),
        sizes=[10, 40, 100],
        sims=300,
        executor="serial",
        progress=False,
    )
    power = curve[curve.diagnosand == "power"].set_index("n").estimate
    assert power[10] < power[40] < power[100]
    for n in (10, 40, 100):
        exact = TTestIndPower().power(effect_size=0.5, nobs1=n, alpha=0.05)
        mcse = curve.query("diagnosand == 'power' and n == @n").mcse.iloc[0]
        assert abs(power[n] - exact) <= 3.5 * max(mcse, 0.005)


def test_public_estimator_through_arm_contrast():
    d = diagnose(
        TwoArmNormal(n=40, effect=0.3),
        ArmContrast("outcome"),
        sims=60,
        seed=2,
        executor="serial",
        progress=False,
    )
    sims = d.simulations
    assert sims.error.isna().all() and sims.p_value.between(0, 1).all()
    # same data, same Welch-type HC2 estimate as the hand-written estimator's point estimate
    fast = diagnose(
        TwoArmNormal(n=40, effect=0.3),
        DifferenceInMeans(),
        sims=60,
        seed=2,
        executor="serial",
        progress=False,
    )
    np.testing.assert_allclose(sims.estimate, fast.simulations.estimate)


class _Refuses:
    def __call__(self, data):
        if data.outcome.iloc[0] > 0:
            raise AnalysisInputError("refused.")
        return {"estimate": 1.0}


def test_failed_estimates_are_counted_not_fatal():
    d = diagnose(
        TwoArmNormal(n=5), _Refuses(), sims=50, executor="serial", progress=False, estimand=1.0
    )
    failed = d.diagnosands.n_failed.iloc[0]
    assert 0 < failed < 50 and failed == d.simulations.error.notna().sum()
    assert d.value("bias") == 0.0


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"sims": 1}, r"'sims' parameter of diagnose must be an int >= 2"),
        ({"executor": "gpu"}, r"'executor' parameter of diagnose"),
        ({"seed": -1}, r"'seed' parameter of diagnose"),
        ({"alpha": 1.5}, r"'alpha' parameter of diagnose"),
    ],
)
def test_bad_parameters(kwargs, pattern):
    with pytest.raises(InvalidParameterError, match=pattern):
        diagnose(
            TwoArmNormal(), DifferenceInMeans(), progress=False, **{"executor": "serial", **kwargs}
        )


def test_estimator_must_return_an_estimate():
    with pytest.raises(InvalidParameterError, match="'estimate' key"):
        diagnose(
            TwoArmNormal(), lambda data: {"value": 1}, sims=2, executor="serial", progress=False
        )


# --------------------------------------------------------------------------- the real simulator


def _cadence_design(n=40):
    from toolkit import ProgramDesign
    from toolkit.diagnosis import SimulatorDesign

    return SimulatorDesign(
        treatment=ProgramDesign(cadence="weekly"), control=ProgramDesign(cadence="biweekly"), n=n
    )


def test_simulator_design_splits_pairs_between_arms():
    design = _cadence_design(n=41)
    data = design(seed=3)
    assert len(data) == 41 and data["pair_id"].is_unique
    assert data["arm"].value_counts().to_dict() == {"control": 21, "treatment": 20}
    again = design(seed=3)
    pd.testing.assert_frame_equal(data, again)
    assert not data.equals(design(seed=4))
    # A different size is a different, still balanced, pilot.
    assert design(seed=3, n=10)["arm"].value_counts().to_dict() == {"control": 5, "treatment": 5}


def test_simulator_design_rejects_bad_arms():
    from toolkit import InvalidParameterError
    from toolkit.diagnosis import SimulatorDesign

    with pytest.raises(InvalidParameterError, match="'arms'"):
        SimulatorDesign(treatment="weekly", control=None)
    with pytest.raises(InvalidParameterError, match="'n'"):
        _cadence_design(n=1)


def test_diagnose_on_the_simulator_finds_the_cadence_effect_without_bias():
    """Weekly meetings hold more meetings than biweekly: a randomised pilot finds it.

    The estimand comes from both potential outcomes of every pair in a large run; the
    difference in means must centre on it within Monte Carlo error at every size, and
    power must grow with the number of pairs (measured after the issue-17 model: 0.52 at 6
    pairs, 1.00 at 160).
    """
    from toolkit.diagnosis import power_curve

    design = _cadence_design(n=40)
    truth, truth_mcse = design.population_effect("meetings_held", n=300, replicates=8, seed=7)
    assert truth > 2 and truth_mcse < 0.2 * truth
    curve = power_curve(
        design,
        DifferenceInMeans(outcome="meetings_held"),
        sizes=[6, 160],
        sims=60,
        seed=2,
        estimand=truth,
        executor="serial",
        progress=False,
    )
    table = curve.set_index(["n", "diagnosand"])
    assert table.loc[(160, "power"), "estimate"] > table.loc[(6, "power"), "estimate"]
    assert table.loc[(160, "power"), "estimate"] > 0.85
    for n in (6, 160):
        bias, bias_mcse = table.loc[(n, "bias"), ["estimate", "mcse"]]
        assert abs(bias) < 4 * bias_mcse + 4 * truth_mcse, (n, bias, bias_mcse)
        assert 0.8 <= table.loc[(n, "coverage"), "estimate"] <= 1.0


def test_simulator_batch_equals_one_by_one_and_results_ignore_chunking():
    """A batch runs vectorized over replicates yet equals the simulations run singly, so
    diagnosands do not depend on the chunk size or the executor."""
    design = _cadence_design(n=30)
    seeds = [11, 5, 2**40 + 3]
    batch = design.batch(seeds)
    for seed, data in zip(seeds, batch, strict=True):
        pd.testing.assert_frame_equal(data, design(seed))
    estimator = DifferenceInMeans(outcome="mentee_gain")
    tables = [
        diagnose(
            design, estimator, sims=12, seed=4, executor="serial", progress=False, chunk_size=size
        ).simulations
        for size in (1, 5, 12)
    ]
    for table in tables[1:]:
        pd.testing.assert_frame_equal(table, tables[0])


class _OneByOne:
    """A design without ``batch``: diagnose then runs each simulation on its own."""

    def __init__(self, design):
        self.design = design

    def __call__(self, seed, n=None):
        return self.design(seed, n)


def test_power_from_the_batched_path_equals_one_by_one_runs():
    """Chunks run as one vectorised batch (cohorts generated together, replicates stacked)
    give every simulation's estimate, and so the power, of the same seeds run singly."""
    design = _cadence_design(n=24)
    for estimator in (
        DifferenceInMeans(outcome="mentee_gain"),
        ArmContrast("mentee_gain", options={"cluster": None}),
    ):
        batched = diagnose(
            design, estimator, sims=8, seed=6, executor="serial", chunk_size=8, progress=False
        )
        single = diagnose(
            _OneByOne(design),
            estimator,
            sims=8,
            seed=6,
            executor="serial",
            chunk_size=8,
            progress=False,
        )
        pd.testing.assert_frame_equal(batched.simulations, single.simulations)
        assert batched.value("power") == single.value("power")


def test_generated_cohorts_know_their_roles_and_interest_names():
    """generate_cohorts sets each cohort's role rows and interest_names without reading the
    columns back (a speed path of the simulated pilots); they equal what reading gives."""
    from toolkit.cohort import Cohort, CohortSpec, generate_cohorts

    for n_e, n_r in ((1, 1), (3, 4), (40, 48)):
        for c in generate_cohorts(CohortSpec(n_mentees=n_e, n_mentors=n_r), [1, 2, 3]):
            fresh = Cohort(participants=c.participants, spec=c.spec)  # reads the columns
            assert c.interest_names == fresh.interest_names
            pd.testing.assert_frame_equal(c.mentors, fresh.mentors, check_exact=True)
            pd.testing.assert_frame_equal(c.mentees, fresh.mentees, check_exact=True)
            assert (c.mentors.role == "mentor").all() and (c.mentees.role == "mentee").all()


def test_greedy_core_equals_the_sequential_greedy():
    """The greedy rounds (which a pilot's random matching runs on random keys) take the
    pairs the sequential greedy takes: value descending, then lower mentee, then lower
    mentor; with ties, inadmissible pairs and mentors of capacity 1 or 2."""
    from toolkit.matching import _greedy_core

    g = np.random.default_rng(0)
    for t in range(300):
        n_e, n_r = (int(k) for k in g.integers(1, 12, 2))
        values = g.integers(0, 3, (n_e, n_r)).astype(np.float32) if t % 2 else g.random((n_e, n_r))
        admissible = np.ones((n_e, n_r), bool) if t % 5 == 0 else g.random((n_e, n_r)) < 0.8
        capacity = g.integers(1, 3, n_r)
        expected, load = np.full(n_e, -1), np.zeros(n_r, int)
        pairs = [(i, j) for i in range(n_e) for j in range(n_r) if admissible[i, j]]
        for i, j in sorted(pairs, key=lambda p: (-float(values[p]), p[0], p[1])):
            if expected[i] < 0 and load[j] < capacity[j]:
                expected[i], load[j] = j, load[j] + 1
        np.testing.assert_array_equal(_greedy_core(values, admissible, capacity), expected)


def test_difference_in_means_batch_equals_one_at_a_time():
    """DifferenceInMeans.batch (what a chunk of simulated pilots uses) gives exactly the
    rows of calling the estimator on each data set: equal arm sizes (tested together),
    unequal ones, a zero statistic, a one-value arm, and Welch tests (run one at a time)."""
    design = _cadence_design(n=30)
    datasets = design.batch([3, 4, 5, 6])
    normal = TwoArmNormal(n=25, effect=0.3)
    datasets += [normal(seed) for seed in range(6)]
    datasets.append(normal(7).iloc[3:])  # unequal arms
    datasets.append(pd.DataFrame({"arm": ["treatment", "control"] * 3, "outcome": [1.0] * 6}))
    datasets.append(
        pd.DataFrame({"arm": ["treatment"] + ["control"] * 3, "outcome": [1.0, 2, 3, 4]})
    )
    for outcome in ("mentee_gain", "outcome"):
        usable = [d for d in datasets if outcome in d.columns]
        for equal_var in (True, False):
            estimator = DifferenceInMeans(outcome=outcome, equal_var=equal_var)
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # scipy on the constant data set
                batch = pd.DataFrame(estimator.batch(usable))
                single = pd.DataFrame([estimator(d) for d in usable])
            pd.testing.assert_frame_equal(batch, single, check_exact=True)


def test_repeat_number_is_the_group_cumulative_count():
    """The generator's e-mail de-duplication count (every simulated pilot draws a cohort)
    equals pandas' group-by cumulative count, with and without cohort groups."""
    from toolkit.cohort import _repeat_number

    g = np.random.default_rng(0)
    for t in range(100):
        n = int(g.integers(1, 200))
        local = np.array([f"a{int(x)}" for x in g.integers(0, 1 + t % 20, n)], dtype=object)
        group = None if t % 2 else g.integers(0, 4, n)
        keys = [local] if group is None else [group, local]
        expected = pd.Series(local).groupby(keys).cumcount().to_numpy()
        np.testing.assert_array_equal(_repeat_number(local, group), expected)


def test_power_curve_tables_name_the_size_and_keep_the_diagnosand_order():
    """power_table, diagnosand_table, mde_table and required_size read any power_curve table."""
    from toolkit.diagnosis import (
        DIAGNOSANDS,
        DifferenceInMeans,
        TwoArmNormal,
        diagnosand_table,
        mde_table,
        power_curve,
        power_table,
        required_size,
    )

    curve = power_curve(
        TwoArmNormal(n=40, effect=0.5),
        DifferenceInMeans(),
        sizes=[40, 120],
        sims=60,
        estimand=0.5,
        seed=3,
        bootstrap=50,
        executor="serial",
        progress=False,
    )
    power = power_table(curve, size="people")
    rows = curve[curve.diagnosand == "power"]
    assert power.people.tolist() == [40, 120]
    assert power.power.tolist() == rows.estimate.tolist()
    assert ((power.mc_low <= power.power) & (power.power <= power.mc_high)).all()
    wide = diagnosand_table(curve)
    assert list(wide.columns) == ["n", *(d for d in DIAGNOSANDS[1:] if d in set(curve.diagnosand))]
    mde = mde_table(curve, alpha=0.05, power=0.8)
    se = curve[curve.diagnosand == "mean_se"].estimate.to_numpy()
    assert mde.mde.to_numpy() == pytest.approx(2.8016 * se, rel=1e-4)
    # interpolated between the bracketing sizes; the normal approximation at the largest
    table = pd.DataFrame({"n": [40, 80, 120], "power": [0.3, 0.7, 0.9]})
    ses = pd.DataFrame({"n": [40, 80, 120], "mean_se": [0.2, 0.14, 0.1]})
    need = required_size(table, ses, -0.25, alpha=0.05, target_power=0.8)
    assert need["reached"] and need["from_curve"] == pytest.approx(100.0)
    assert need["normal_approximation"] == pytest.approx(120 * (2.8016 * 0.1 / 0.25) ** 2, rel=1e-3)
    never = required_size(table.assign(power=0.1), ses, 0.0, alpha=0.05, target_power=0.8)
    assert never["from_curve"] is None and never["normal_approximation"] == np.inf
