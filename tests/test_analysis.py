"""Estimators: recovery of known effects, multiplicity control, and one-sentence bad-input errors.

Recovery tests simulate data with a known effect. Where a vectorized computation is exactly
what the estimator computes (checked against the public function on the same data), the
replications are vectorized; at least one recovery test runs the public estimator itself.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from toolkit.analysis import (
    RESULT_COLUMNS,
    compare_arms,
    interaction_test,
    km_curves,
    pre_post,
    retention,
    trajectories,
)
from toolkit.errors import AnalysisInputError


def _mcse(p: float, reps: int) -> float:
    return float(np.sqrt(p * (1 - p) / reps))


def _two_arm(g, n=60, effect=0.3, sd=1.0):
    y = g.normal(0, sd, 2 * n)
    y[n:] += effect
    return pd.DataFrame({"arm": np.repeat(["control", "treatment"], n), "y": y})


# --------------------------------------------------------------------------- recovery


def test_difference_ci_coverage_through_public_estimator():
    """400 fits of compare_arms on two normal arms (n=60 each, true difference 0.3).

    Nominal coverage 95%; MCSE of the coverage at 400 replications is sqrt(.95*.05/400) = 1.09
    points, so the 93-97% band is about +/- 1.8 MCSE.
    """
    g = np.random.default_rng(20240501)
    reps, truth = 400, 0.3
    hits = 0
    for _ in range(reps):
        res = compare_arms(_two_arm(g, effect=truth), "y", reference="control")
        row = res[res.effect == "difference"].iloc[0]
        hits += row.ci_low <= truth <= row.ci_high
    cov = hits / reps
    print(f"coverage {cov:.4f} over {reps} replications")
    assert 0.93 <= cov <= 0.97, f"coverage {cov:.3f} (MCSE {_mcse(0.95, reps):.4f}) outside 93-97%"


def _hc2_diff(y0, y1):
    """Vectorized difference, SE and df that compare_arms computes for two cells (HC2 = s^2/n)."""
    n0, n1 = y0.shape[-1], y1.shape[-1]
    d = y1.mean(-1) - y0.mean(-1)
    se = np.sqrt(y0.var(-1, ddof=1) / n0 + y1.var(-1, ddof=1) / n1)
    return d, se, n0 + n1 - 2


def test_vectorized_difference_is_exactly_compare_arms():
    g = np.random.default_rng(3)
    df = _two_arm(g, n=37)
    y0, y1 = df.y.to_numpy()[:37], df.y.to_numpy()[37:]
    d, se, dfree = _hc2_diff(y0, y1)
    row = compare_arms(df, "y", reference="control").query("effect == 'difference'").iloc[0]
    crit = stats.t.ppf(0.975, dfree)
    assert row.estimate == pytest.approx(d, rel=1e-12)
    assert row.se == pytest.approx(se, rel=1e-10)
    assert row.ci_low == pytest.approx(d - crit * se, rel=1e-10)


def test_difference_coverage_vectorized_4000():
    """4,000 replications, unequal arms and variances (n=40 sd=1 vs n=80 sd=2), true difference 0.5.

    MCSE of the coverage: sqrt(.95*.05/4000) = 0.34 points.
    """
    g = np.random.default_rng(11)
    reps, truth = 4000, 0.5
    y0 = g.normal(0, 1, (reps, 40))
    y1 = g.normal(truth, 2, (reps, 80))
    d, se, dfree = _hc2_diff(y0, y1)
    crit = stats.t.ppf(0.975, dfree)
    cov = np.mean((d - crit * se <= truth) & (truth <= d + crit * se))
    print(f"coverage {cov:.4f} over {reps} replications")
    assert 0.93 <= cov <= 0.97, f"coverage {cov:.4f} (MCSE {_mcse(0.95, reps):.4f})"


def test_holm_familywise_error_under_null():
    """Four arms, no effect, six Holm-adjusted contrasts: FWER <= 5% within MCSE.

    Under the complete null Holm rejects something iff the smallest raw p <= alpha/m, so the
    family-wise error is computed exactly from vectorized raw p-values (4,000 replications,
    MCSE about 0.34 points); the public estimator's decisions are checked on 60 of them.
    """
    g = np.random.default_rng(7)
    reps, k, n = 4000, 4, 30
    y = g.normal(0, 1, (reps, k, n))
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    pmin = np.ones(reps)
    for i, j in pairs:
        d, se, _ = _hc2_diff(y[:, i], y[:, j])
        # one OLS over all k cells: HC2 variances are per cell, residual df is k*n - k
        pmin = np.minimum(pmin, 2 * stats.t.sf(np.abs(d / se), k * n - k))
    any_reject = pmin <= 0.05 / len(pairs)
    fwer = any_reject.mean()
    print(f"Holm FWER {fwer:.4f} over {reps} replications")
    mcse = _mcse(0.05, reps)
    assert fwer <= 0.05 + 2 * mcse, f"FWER {fwer:.4f} > 5% + 2 MCSE ({mcse:.4f})"
    arms = np.repeat([f"a{i}" for i in range(k)], n)
    for r in range(60):
        res = compare_arms(pd.DataFrame({"arm": arms, "y": y[r].ravel()}), "y")
        diffs = res[res.effect == "difference"]
        assert len(diffs) == 6
        assert (diffs.p_value <= 0.05).any() == any_reject[r]


def test_binary_risk_difference_coverage_vectorized():
    """Logistic regression on two cells reduces to the Wald risk difference; 4,000 replications
    at n=200 per arm, p = 0.60 vs 0.70 (true RD 0.10). MCSE 0.34 points."""
    g = np.random.default_rng(5)
    reps, n, p0, p1 = 4000, 200, 0.6, 0.7
    c0, c1 = g.binomial(n, p0, reps), g.binomial(n, p1, reps)
    x0, x1 = c0 / n, c1 / n
    se = np.sqrt(x0 * (1 - x0) / n + x1 * (1 - x1) / n)
    d = x1 - x0
    cov = np.mean(np.abs(d - (p1 - p0)) <= 1.959964 * se)
    print(f"coverage {cov:.4f} over {reps} replications")
    assert 0.93 <= cov <= 0.97, f"coverage {cov:.4f} (MCSE {_mcse(0.95, reps):.4f})"
    # the same numbers from the public estimator on one replication
    y = np.r_[np.arange(n) < c0[0], np.arange(n) < c1[0]].astype(int)
    res = compare_arms(pd.DataFrame({"arm": np.repeat(["a", "b"], n), "done": y}), "done")
    rd = res[res.effect == "risk_difference"].iloc[0]
    assert rd.estimate == pytest.approx(d[0], abs=1e-8)
    assert rd.se == pytest.approx(se[0], rel=1e-5)
    orow = res[res.effect == "odds_ratio"].iloc[0]
    assert orow.estimate == pytest.approx(x1[0] / (1 - x1[0]) / (x0[0] / (1 - x0[0])), rel=1e-6)


def test_cluster_robust_coverage_with_replicate_shocks():
    """Replicate-level shocks shared by both arms plus arm-by-replicate shocks: 400 fits of
    compare_arms clustered by replicate (30 clusters). MCSE 1.09 points at 95%."""
    g = np.random.default_rng(99)
    reps, G, m, truth = 400, 30, 10, 0.2
    hits = 0
    rep = np.tile(np.repeat(np.arange(G), m), 2)
    arm = np.repeat(["control", "treatment"], G * m)
    for _ in range(reps):
        shock = g.normal(0, 0.5, G)[rep] + g.normal(0, 0.3, 2 * G)[rep + G * (arm == "treatment")]
        y = truth * (arm == "treatment") + shock + g.normal(0, 1, 2 * G * m)
        res = compare_arms(
            pd.DataFrame({"replicate": rep, "arm": arm, "y": y}), "y", reference="control"
        )
        row = res[res.effect == "difference"].iloc[0]
        hits += row.ci_low <= truth <= row.ci_high
    assert "cluster-robust by replicate (30 clusters)" in row.method
    cov = hits / reps
    print(f"coverage {cov:.4f} over {reps} replications")
    assert 0.93 <= cov <= 0.97, f"coverage {cov:.3f} (MCSE {_mcse(0.95, reps):.4f})"


def test_pre_post_gain_coverage_vectorized_and_exact():
    """Paired t on post - pre; 4,000 replications of 50 units with true gain 0.4. MCSE 0.34 points."""
    g = np.random.default_rng(8)
    reps, n, truth = 4000, 50, 0.4
    base = g.normal(3, 1, (reps, n))
    post = base + truth + g.normal(0, 0.8, (reps, n))
    gain = post - base
    m, se = gain.mean(-1), gain.std(-1, ddof=1) / np.sqrt(n)
    crit = stats.t.ppf(0.975, n - 1)
    cov = np.mean(np.abs(m - truth) <= crit * se)
    print(f"coverage {cov:.4f} over {reps} replications")
    assert 0.93 <= cov <= 0.97, f"coverage {cov:.4f} (MCSE {_mcse(0.95, reps):.4f})"
    long = pd.concat(
        [
            pd.DataFrame({"pair_id": np.arange(n), "phase": "pre", "value": base[0]}),
            pd.DataFrame({"pair_id": np.arange(n), "phase": "post", "value": post[0]}),
        ]
    )
    row = pre_post(long, by=None).iloc[0]
    assert (
        row.effect == "gain"
        and row.estimate == pytest.approx(m[0])
        and row.se == pytest.approx(se[0])
    )


def test_retention_hazard_ratio_coverage():
    """400 Cox fits: exponential closure times, true hazard ratio 0.6, administrative censoring
    at week 26, 150 pairs per arm. MCSE 1.09 points at 95%."""
    g = np.random.default_rng(12)
    reps, n, hr = 400, 150, 0.6
    arm = np.repeat(["random", "optimal"], n)
    rate = np.where(arm == "optimal", 0.03 * hr, 0.03)
    hits = 0
    for _ in range(reps):
        t = g.exponential(1 / rate)
        df = pd.DataFrame(
            {
                "arm": arm,
                "weeks_active": np.minimum(np.ceil(t), 26),
                "completed": (t > 26).astype(int),
            }
        )
        row = retention(df, reference="random").query("effect == 'hazard_ratio'").iloc[0]
        hits += row.ci_low <= hr <= row.ci_high
    cov = hits / reps
    print(f"coverage {cov:.4f} over {reps} replications")
    # weekly (grouped) times with Efron ties; still within the band
    assert 0.93 <= cov <= 0.97, f"coverage {cov:.3f} (MCSE {_mcse(0.95, reps):.4f})"


# --------------------------------------------------------------------------- shape and content


@pytest.fixture(scope="module")
def outcomes():
    g = np.random.default_rng(1)
    n = 120
    arm = np.repeat(["random", "greedy", "optimal"], n)
    comp = g.random(3 * n) < np.select([arm == "random", arm == "greedy"], [0.55, 0.65], 0.75)
    t = np.where(comp, 26, g.integers(1, 26, 3 * n))
    return pd.DataFrame(
        {
            "replicate": np.tile(np.arange(12), 3 * n // 12),
            "arm": arm,
            "pair_id": np.arange(3 * n),
            "final_quality": g.normal(0.6, 0.1, 3 * n) + 0.05 * (arm == "optimal"),
            "completed": comp.astype(int),
            "weeks_active": t,
        }
    )


def test_compare_arms_tidy_and_ordered(outcomes):
    res = compare_arms(outcomes, "final_quality", reference="random")
    assert tuple(res.columns) == RESULT_COLUMNS
    assert res.effect.tolist() == ["mean"] * 3 + ["difference"] * 3 + ["hedges_g"] * 3
    assert res[res.effect == "mean"].group.tolist() == ["random", "greedy", "optimal"]
    diffs = res[res.effect == "difference"]
    assert diffs.reference.tolist()[:2] == ["random", "random"]
    assert (diffs.p_value >= diffs.p_value_raw).all()
    assert (res.ci_low <= res.estimate).all() and (res.estimate <= res.ci_high).all()
    assert "cluster-robust by replicate (12 clusters)" in res.method.iloc[0]
    means = outcomes.groupby("arm").final_quality.mean()
    assert res.set_index("group").loc["optimal"].query("effect == 'mean'").estimate.iloc[
        0
    ] == pytest.approx(means["optimal"])


def test_tukey_close_to_statsmodels_tukeyhsd(outcomes):
    from statsmodels.stats.multicomp import pairwise_tukeyhsd

    res = compare_arms(outcomes, "final_quality", adjust="tukey", cluster=None)
    ours = res[res.effect == "difference"].set_index(["reference", "group"])
    sm = pairwise_tukeyhsd(outcomes.final_quality, outcomes.arm).summary().data[1:]
    for g1, g2, meandiff, padj, *_ in sm:
        row = ours.loc[(g1, g2)]
        assert row.estimate == pytest.approx(meandiff, abs=1e-3)
        # HC2 versus pooled-variance SEs: close, not identical
        assert row.p_value == pytest.approx(padj, abs=0.03)


def test_binary_rows_and_odds_ratio_direction(outcomes):
    res = compare_arms(outcomes, "completed", reference="random", cluster=None)
    assert set(res.effect) == {"proportion", "risk_difference", "odds_ratio"}
    rd = res[(res.effect == "risk_difference") & (res.group == "optimal")].iloc[0]
    orr = res[(res.effect == "odds_ratio") & (res.group == "optimal")].iloc[0]
    assert (rd.estimate > 0) == (orr.estimate > 1)
    assert orr.ci_low < orr.estimate < orr.ci_high


def test_retention_rows_and_curves(outcomes):
    res = retention(outcomes, reference="random")
    assert res.effect.tolist() == ["survival"] * 3 + ["logrank"] + ["hazard_ratio"] * 3
    km = km_curves(outcomes)
    last = km.groupby("group").survival.last()
    observed = outcomes.groupby("arm").completed.mean()
    # with no censoring before week 26, KM survival at 26 is the completion share
    assert last["optimal"] == pytest.approx(observed["optimal"])
    assert res.query("effect == 'survival' and group == 'optimal'").estimate.iloc[
        0
    ] == pytest.approx(observed["optimal"])


def test_trajectories_recovers_slope_difference():
    g = np.random.default_rng(4)
    P, W = 120, 20
    arm = np.repeat(["a", "b"], P // 2)
    wk = np.arange(1, W + 1)
    slope = 0.01 + 0.01 * (arm == "b")
    q = (
        0.4
        + g.normal(0, 0.05, (P, 1))
        + (slope + g.normal(0, 0.003, P))[:, None] * wk
        + g.normal(0, 0.05, (P, W))
    )
    weeks = pd.DataFrame(
        {
            "replicate": 0,
            "arm": np.repeat(arm, W),
            "pair_id": np.repeat(np.arange(P), W),
            "week": np.tile(wk, P),
            "quality": q.ravel(),
            "active": True,
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = trajectories(weeks)
    row = res[res.effect == "slope_difference"].iloc[0]
    assert row.ci_low <= 0.01 <= row.ci_high
    assert row.ci_high - row.ci_low < 0.01
    assert "random intercept and slope" in row.method


def test_no_warnings_escape_from_cluster_fits(outcomes):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compare_arms(outcomes, "final_quality")
        compare_arms(outcomes, "completed")
        retention(outcomes)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call, pattern",
    [
        (
            lambda o: compare_arms(o, "qualty"),
            r"'outcome'.*got 'qualty'.*available columns are .*'final_quality'",
        ),
        (
            lambda o: compare_arms(o, "final_quality", by="policy"),
            r"'by'.*got 'policy'.*available columns are",
        ),
        (
            lambda o: compare_arms(o[o.arm == "random"], "final_quality"),
            r"at least two groups.*found 1 \('random'\)",
        ),
        (lambda o: compare_arms(o.iloc[:0], "final_quality"), r"empty"),
        (lambda o: compare_arms(o.assign(final_quality=0.5), "final_quality"), r"no variance"),
        (
            lambda o: compare_arms(o, "final_quality", cluster="replicate", min_clusters=20),
            r"at least 20 clusters; the data have 12",
        ),
        (lambda o: compare_arms(o, "final_quality", adjust="sidak"), r"'adjust'.*'holm'"),
        (lambda o: compare_arms(o, "final_quality", reference="best"), r"'reference'.*got 'best'"),
        (
            lambda o: compare_arms(
                o.assign(completed=np.where(o.arm == "random", 0, o.completed)), "completed"
            ),
            r"is 0 for every unit in arm 'random'",
        ),
        (lambda o: compare_arms([1, 2], "y"), r"must be a pandas DataFrame"),
        (lambda o: retention(o.assign(completed=1)), r"No pair .* has the event"),
        (lambda o: retention(o, time="weeks"), r"'time'.*available columns"),
        (lambda o: retention(o[o.arm == "optimal"]), r"at least two groups"),
        (lambda o: trajectories(o, outcome="quality"), r"'outcome'.*got 'quality'"),
        (lambda o: pre_post(o), r"needs either 'pre' and 'post' columns"),
    ],
)
def test_bad_input_is_one_clear_sentence(outcomes, call, pattern):
    with pytest.raises(AnalysisInputError, match=pattern) as info:
        call(outcomes)
    msg = str(info.value)
    assert msg.count("\n") == 0 and msg.endswith(".")


def test_too_few_replicates_auto_does_not_cluster(outcomes):
    few = outcomes.assign(replicate=outcomes.replicate % 3)
    res = compare_arms(few, "final_quality")
    assert "3 replicates < 10, not clustered" in res.method.iloc[0]


# --------------------------------------------------------------------------- closed-form fit

_NUMBERS = ["estimate", "se", "ci_low", "ci_high", "p_value", "p_value_raw"]


def _statsmodels_only(monkeypatch):
    """compare_arms with the closed-form path switched off (every fit through statsmodels)."""
    from toolkit import analysis

    monkeypatch.setattr(analysis, "_closed_form_cells", lambda *args: None)


def _two_arm_data(draw, binary):
    from hypothesis import assume
    from hypothesis import strategies as st

    n0, n1 = draw(st.integers(2, 40)), draw(st.integers(2, 40))
    if binary:
        y = draw(st.lists(st.integers(0, 1), min_size=n0 + n1, max_size=n0 + n1))
        y = np.array(y, dtype=float)
        assume(0 < y[:n0].sum() < n0 and 0 < y[n0:].sum() < n1)
    else:
        # Values on a 0.001 grid, so rounding in the residuals stays far below 1e-10.
        y = (
            np.array(
                draw(st.lists(st.integers(-100_000, 100_000), min_size=n0 + n1, max_size=n0 + n1)),
                dtype=float,
            )
            / 1000
        )
        assume(y[:n0].std() > 0.05 and y[n0:].std() > 0.05)
    order = draw(st.permutations(range(n0 + n1)))
    arm = np.repeat(["control", "treatment"], [n0, n1])[list(order)]
    return pd.DataFrame({"arm": arm, "y": y[list(order)]})


def test_closed_form_two_arm_fit_equals_statsmodels():
    """The closed-form fit (two arms, no clustering) gives the statsmodels numbers, for
    continuous and binary outcomes and whatever the options, to 1e-10."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=60, deadline=None)
    @given(
        data=st.data(),
        binary=st.booleans(),
        adjust=st.sampled_from(["holm", "none", "tukey"]),
        alpha=st.sampled_from([0.05, 0.1, 0.01]),
        reference=st.sampled_from([None, "treatment"]),
    )
    def check(data, binary, adjust, alpha, reference):
        frame = _two_arm_data(data.draw, binary)
        kw = dict(cluster=None, adjust=adjust, alpha=alpha, reference=reference)
        fast = compare_arms(frame, "y", **kw)
        with pytest.MonkeyPatch.context() as mp:
            _statsmodels_only(mp)
            slow = compare_arms(frame, "y", **kw)
        pd.testing.assert_frame_equal(fast.drop(columns=_NUMBERS), slow.drop(columns=_NUMBERS))
        np.testing.assert_allclose(
            fast[_NUMBERS].to_numpy(float), slow[_NUMBERS].to_numpy(float), rtol=1e-10, atol=1e-12
        )

    check()


@pytest.mark.parametrize("case", ["three arms", "clustered", "one unit in an arm", "two arms"])
def test_closed_form_is_used_only_where_it_applies(monkeypatch, case):
    from toolkit import analysis

    calls = []
    real = analysis._fit_cells_statsmodels
    monkeypatch.setattr(
        analysis, "_fit_cells_statsmodels", lambda *args: calls.append(args) or real(*args)
    )
    g = np.random.default_rng(8)
    frame = pd.DataFrame(
        {
            "arm": np.repeat(["a", "b", "c"], 20),
            "y": g.normal(size=60),
            "replicate": np.tile(np.arange(10), 6),
        }
    )
    if case == "three arms":
        compare_arms(frame, "y", cluster=None)
    elif case == "clustered":
        compare_arms(frame[frame.arm != "c"], "y", cluster="replicate")
    elif case == "one unit in an arm":
        compare_arms(frame.iloc[:21], "y", cluster=None)
    else:
        compare_arms(frame[frame.arm != "c"], "y", cluster=None)
        compare_arms(
            frame[frame.arm != "c"].assign(y=lambda f: (f.y > 0).astype(int)), "y", cluster=None
        )
    assert len(calls) == (0 if case == "two arms" else 1)


# --------------------------------------------------------------------------- interaction_test


def _factorial(effect: float, reps: int = 12, binary: bool = False, seed: int = 5) -> pd.DataFrame:
    """2 policies x 3 cadences x ``reps`` replicates x 20 units; ``effect`` is added to the
    (optimal, monthly) cell only, so it is exactly the difference in differences."""
    g = np.random.default_rng(seed)
    rows = []
    base = {"weekly": 0.0, "biweekly": 0.3, "monthly": 0.5}
    for r in range(reps):
        for pol, a in (("random", 0.0), ("optimal", 0.4)):
            for cad, b in base.items():
                mu = a + b + (effect if (pol, cad) == ("optimal", "monthly") else 0.0)
                y = (g.random(20) < 0.2 + mu / 2) if binary else mu + g.normal(0, 1, 20)
                rows.append(pd.DataFrame({"replicate": r, "policy": pol, "cadence": cad, "y": y}))
    return pd.concat(rows, ignore_index=True)


def test_interaction_contrasts_equal_the_cell_means_difference_in_differences():
    df = _factorial(0.8)
    res = interaction_test(df, "y", factors=["policy", "cadence"], references=["random", "weekly"])
    m = df.groupby(["policy", "cadence"])["y"].mean()
    for cad in ("biweekly", "monthly"):
        did = m["optimal", cad] - m["optimal", "weekly"] - m["random", cad] + m["random", "weekly"]
        row = res[(res.effect == "interaction_contrast") & (res.group == f"optimal:{cad}")].iloc[0]
        assert row.estimate == pytest.approx(did, abs=1e-10)
        assert row.reference == "random:weekly" and row.ci_low < row.estimate < row.ci_high
    test = res.iloc[0]
    assert test.effect == "interaction" and test.p_value < 1e-3
    assert "F(2, 11)" in test.method and "cluster-robust by replicate (12 clusters)" in test.method


def test_interaction_test_is_null_when_the_cell_means_are_additive():
    cells = [
        ("random", "weekly", 0.0),
        ("random", "monthly", 1.0),
        ("optimal", "weekly", 2.0),
        ("optimal", "monthly", 3.0),
    ]
    noise = np.array([-1.0, 1.0, -0.5, 0.5, 0.25, -0.25])
    df = pd.concat(
        [pd.DataFrame({"policy": p, "cadence": c, "y": mu + noise}) for p, c, mu in cells]
    )
    res = interaction_test(df, "y", factors=["policy", "cadence"], references=["random", "weekly"])
    assert res.iloc[0].estimate == pytest.approx(0.0, abs=1e-12)
    assert res.iloc[0].p_value == pytest.approx(1.0)
    assert "HC2" in res.iloc[0].method


def test_interaction_on_the_logit_scale_is_the_log_odds_difference_in_differences():
    df = _factorial(0.3, binary=True)
    res = interaction_test(
        df, "y", factors=["policy", "cadence"], references=["random", "weekly"], scale="logit"
    )
    p = df.groupby(["policy", "cadence"])["y"].mean()
    logit = np.log(p / (1 - p))
    did = (
        logit["optimal", "monthly"]
        - logit["optimal", "weekly"]
        - logit["random", "monthly"]
        + logit["random", "weekly"]
    )
    row = res[res.group == "optimal:monthly"].iloc[0]
    assert row.estimate == pytest.approx(did, rel=1e-6)
    assert "chi-square(2)" in res.iloc[0].method
    additive = interaction_test(
        df, "y", factors=["policy", "cadence"], references=["random", "weekly"]
    )
    assert "linear probability" in additive.iloc[0].method


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"factors": ["policy"]}, "a list of two column names"),
        ({"factors": ["policy", "policy"]}, "two different columns"),
        ({"factors": ["policy", "nope"]}, "must name a column"),
        ({"factors": ["policy", "cadence"], "scale": "probit"}, "'additive', 'logit'"),
        ({"factors": ["policy", "cadence"], "scale": "logit"}, "only for a 0/1 outcome"),
        ({"factors": ["policy", "cadence"], "references": ["random"]}, "one level per factor"),
    ],
)
def test_interaction_test_bad_input(kwargs, pattern):
    with pytest.raises(AnalysisInputError, match=pattern):
        interaction_test(_factorial(0.0, reps=2), "y", **kwargs)


def test_interaction_test_needs_every_cell():
    df = _factorial(0.0, reps=2)
    df = df[~((df.policy == "optimal") & (df.cadence == "monthly"))]
    with pytest.raises(AnalysisInputError, match="1 combination"):
        interaction_test(df, "y", factors=["policy", "cadence"])
