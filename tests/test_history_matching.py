"""History matching: bad input, executors, the procedure's own guarantee on a toy."""

from __future__ import annotations

import concurrent.futures
import io

import numpy as np
import pandas as pd
import pytest

from toolkit._synthetic import ToySimulator, toy_prior, toy_targets
from toolkit.errors import InvalidParameterError
from toolkit.history_matching import (
    check_prior,
    check_targets,
    history_match,
    implausibility,
    observations,
    prior_sample,
    retained,
)

SIM = ToySimulator(replicates=10, units=10)
TRUTH = np.array([0.55, 2.0, 3.0, 0.2])


def _targets(**kw):
    return toy_targets(TRUTH, seed=3, obs_sd=0.04, **kw)


def test_implausibility_is_the_standard_form():
    obs = observations(check_targets(_targets()))
    sim = pd.DataFrame(
        {"point": [0] * 4, "target_id": obs["target_id"], "value": obs["z"] + 0.1, "mc_var": 0.001}
    )
    got = implausibility(sim, obs).to_numpy()[0]
    want = 0.1 / np.sqrt(obs["v_obs"] + 0.001 + obs["v_md"])
    np.testing.assert_allclose(got, want)
    # interval target: V_obs = ((hi - lo) / 3.92)^2; proportion: p(1-p)/n
    t = _targets()
    assert obs["v_obs"][0] == pytest.approx(((t.high[0] - t.low[0]) / 3.92) ** 2)
    assert obs["v_obs"][1] == pytest.approx(t.observed[1] * (1 - t.observed[1]) / t.n[1])


def test_nan_simulation_is_ruled_out():
    obs = observations(check_targets(_targets()))
    sim = pd.DataFrame(
        {
            "point": [0] * 4,
            "target_id": obs["target_id"],
            "value": [obs["z"][0], np.nan, obs["z"][2], obs["z"][3]],
            "mc_var": 0.0,
        }
    )
    assert np.isinf(implausibility(sim, obs).to_numpy()[0, 1])


def test_prior_sample_deterministic_within_bounds_and_space_filling():
    p = toy_prior()
    a = prior_sample(p, 50, seed=4)
    assert a.equals(prior_sample(p, 50, seed=4))
    assert not a.equals(prior_sample(p, 50, seed=5))
    assert ((a >= p["low"].to_numpy()) & (a <= p["high"].to_numpy())).all().all()
    # a Latin hypercube has one point in each of the 50 strata of every parameter
    strata = np.floor((a - p["low"].to_numpy()) / (p["high"] - p["low"]).to_numpy() * 50)
    assert all(strata[c].nunique() == 50 for c in strata)
    s = prior_sample(p, 50, seed=4, design="sobol")
    assert s.shape == (50, 4)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"low": 0.9}, "low <= high"),
        ({"low": -1.0}, "allowed range"),
        ({"distribution": "normal"}, "distribution"),
    ],
)
def test_bad_prior_is_one_sentence(change, words):
    p = toy_prior()
    for k, v in change.items():
        p.loc[0, k] = v
    with pytest.raises(InvalidParameterError, match=words) as err:
        check_prior(p)
    assert str(err.value).count(". ") == 0 and str(err.value).endswith(".")


def test_unknown_parameter_in_prior():
    p = toy_prior()
    p.loc[0, "parameter"] = "no_such_thing"
    with pytest.raises(InvalidParameterError, match="no_such_thing"):
        check_prior(p)


def test_discrepancy_must_be_stated():
    t = _targets()
    t.loc[2, "discrepancy_sd"] = 0.0
    with pytest.raises(InvalidParameterError, match="toy_closure"):
        check_targets(t)
    t = _targets()
    t.loc[1, "discrepancy_reason"] = " "
    with pytest.raises(InvalidParameterError, match="reason"):
        check_targets(t)


def test_target_without_simulation_is_named():
    t = pd.concat([_targets(), _targets().iloc[[2]].assign(target_id="ghost")], ignore_index=True)
    with pytest.raises(InvalidParameterError, match="'ghost' has no way to be simulated"):
        history_match(toy_prior(), t, SIM, points=20, waves=1, progress=False)


def test_no_survivor_names_the_target():
    t = _targets()
    t.loc[3, "observed"] = 50.0  # far outside anything the toy can produce
    with pytest.raises(InvalidParameterError, match="No model survived.*'toy_approach' on its own"):
        history_match(toy_prior(), t, SIM, points=100, waves=1, progress=False)


def test_too_few_models_is_one_sentence():
    with pytest.raises(InvalidParameterError, match="fewer than min_models = 10000"):
        history_match(
            toy_prior(), _targets(), SIM, points=200, waves=1, progress=False, min_models=10_000
        )


def test_refocusing_keeps_a_uniform_sample_inside_the_region():
    ens = history_match(toy_prior(), _targets(), SIM, points=1000, waves=2, seed=2, progress=False)
    waves = ens.diagnostics["waves"]
    assert waves[1]["kept_in_wave"] > waves[0]["kept_in_wave"]  # denser where it matters
    box = np.asarray(ens.diagnostics["final_box"])
    prior = toy_prior()[["low", "high"]].to_numpy()
    assert (box[:, 0] >= prior[:, 0]).all() and (box[:, 1] <= prior[:, 1]).all()
    assert len(ens) == waves[1]["kept_so_far"]
    assert ens.procedure["name"] == "history matching"
    # every model is not ruled out (max implausibility <= 3)
    assert max(ens.diagnostics["implausibility_of_models"]) <= 3


def test_same_bytes_under_every_executor(tmp_path):
    from distributed import Client

    kw = dict(points=300, waves=2, chunk_size=50, seed=7, progress=False)
    paths = []
    serial = history_match(toy_prior(), _targets(), SIM, **kw)
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        pooled = history_match(toy_prior(), _targets(), SIM, map=pool, **kw)
    with Client(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
    ) as client:
        dasked = history_match(toy_prior(), _targets(), SIM, map=client, **kw)
    for k, e in enumerate((serial, pooled, dasked)):
        paths.append(e.save(tmp_path / f"e{k}.parquet").read_bytes())
    assert paths[0] == paths[1] == paths[2]


def test_progress_bar_is_shown(capsys):
    history_match(toy_prior(), _targets(), SIM, points=40, waves=1, chunk_size=10, progress=True)
    assert "history matching, wave 1" in capsys.readouterr().err


@pytest.mark.slow
def test_dask_local_cluster_of_two_processes_gives_the_same_bytes(tmp_path):
    from distributed import Client, LocalCluster

    kw = dict(points=200, waves=2, chunk_size=50, seed=9, progress=False)
    serial = history_match(toy_prior(), _targets(), SIM, **kw)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        dasked = history_match(toy_prior(), _targets(), SIM, map=client, **kw)
    a = serial.save(tmp_path / "a.parquet").read_bytes()
    assert dasked.save(tmp_path / "b.parquet").read_bytes() == a


@pytest.mark.slow
def test_synthetic_truth_is_retained_at_least_95_percent():
    """Vernon et al. 2010's guarantee: a truth is not ruled out (3-sigma rule, four
    targets with observation error and discrepancy drawn at their stated sizes)."""
    prior = toy_prior()
    truths = prior_sample(prior, 100, seed=99)
    kept = []
    for k in range(len(truths)):
        targets = toy_targets(truths.iloc[k].to_numpy(), seed=k, obs_sd=0.04)
        try:
            ens = history_match(prior, targets, SIM, points=1000, waves=2, seed=k, progress=False)
        except InvalidParameterError:
            kept.append(False)
            continue
        kept.append(bool(retained(ens, truths.iloc[[k]], SIM, seed=10_000 + k)[0]))
    assert np.mean(kept) >= 0.95, np.mean(kept)


def test_retained_refuses_nothing_silently():
    ens = history_match(toy_prior(), _targets(), SIM, points=500, waves=1, seed=1, progress=False)
    far = pd.DataFrame([[0.45, 1.0, 1.5, 0.1]], columns=ens.parameters)
    assert not retained(ens, far, SIM, seed=1)[0]
    buf = io.StringIO()
    print(ens.summary().round(3), file=buf)
    assert "share_of_prior_range" in buf.getvalue()


def test_dask_workers_get_glibc_thresholds_that_keep_numpy_arrays_off_fresh_mmaps():
    """Dask's nanny sets MALLOC_TRIM_THRESHOLD_, which makes every large temporary a fresh
    mmap (about twice the CPU time per calibration chunk); history_match resets glibc's
    thresholds on the workers. Where the C library is glibc the reset must succeed."""
    import platform

    from toolkit.history_matching import _numpy_friendly_malloc

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt thresholds are a glibc feature")
    assert _numpy_friendly_malloc() is True
