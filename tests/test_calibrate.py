"""Calibration as inference: `calibrate`, the committed ensemble and `rmt calibrate`."""

from __future__ import annotations

import inspect
import json
import pickle

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from toolkit.calibration import (
    CALIBRATION_SEED,
    TargetSimulator,
    calibrate,
    calibration_prior,
    history_targets,
    load_ensemble,
    stale_inputs,
)
from toolkit.errors import InvalidParameterError

_SMALL = dict(points=12, chunk_size=6, replicates=2, n_mentees=20, n_mentors=24, progress=False)


def _wide_targets() -> pd.DataFrame:
    """The real targets with a huge discrepancy, so a tiny run keeps models."""
    return history_targets().assign(discrepancy_sd=5.0, discrepancy_reason="test: keep every model")


def test_calibrate_same_seed_same_bytes_serial_and_process_pool(tmp_path):
    kw = dict(_SMALL, targets=_wide_targets(), seed=5)
    a = calibrate(out=tmp_path / "a.parquet", **kw)
    calibrate(out=tmp_path / "b.parquet", **kw)
    calibrate(out=tmp_path / "c.parquet", workers=2, **kw)  # a process pool of 2
    blobs = {p: (tmp_path / p).read_bytes() for p in ("a.parquet", "b.parquet", "c.parquet")}
    assert len(set(blobs.values())) == 1
    # (a point whose statistic is undefined in every replicate is ruled out even so)
    assert 1 <= len(a) <= 12 and set(a.parameters) == set(calibration_prior()["parameter"])
    # another seed gives other models
    other = calibrate(**dict(kw, seed=6))
    assert not other.models.equals(a.models)
    # the simulator settings are recorded, so they move the fingerprint
    assert a.procedure["replicates"] == 2 and a.procedure["n_mentees"] == 20
    assert stale_inputs(a) == ["targets", "procedure", "seed"]


def test_target_simulator_is_picklable_and_keeps_global_point_ids():
    from toolkit.history_matching import prior_sample

    sim = pickle.loads(pickle.dumps(TargetSimulator(replicates=2, n_mentees=20, n_mentors=24)))
    pts = prior_sample(calibration_prior(), 2, seed=1)
    pts.insert(0, "point", [40, 41])
    out = sim(pts, 3)
    assert sorted(out["point"].unique()) == [40, 41]
    assert {"value", "mc_var", "target_id"} <= set(out.columns)


def test_committed_ensemble_matches_its_recorded_inputs():
    import pyarrow.parquet as pq

    ens = load_ensemble()
    assert len(ens) >= 500
    assert stale_inputs(ens) == [], "the committed ensemble is stale: run rmt calibrate"
    from importlib import resources

    with resources.as_file(resources.files("toolkit").joinpath("data/ensemble.parquet")) as p:
        meta = json.loads(pq.read_schema(p).metadata[b"toolkit.ensemble"])
    assert meta["fingerprint"] == ens.fingerprint
    assert ens.seed == CALIBRATION_SEED
    assert set(ens.parameters) == set(calibration_prior()["parameter"])


def test_stale_inputs_sees_a_changed_prior():
    ens = load_ensemble()
    from toolkit.ensemble import Ensemble

    prior = ens.prior.copy()
    prior.loc[prior["parameter"] == "meet_base", "high"] = 3.6
    changed = Ensemble(ens.models, prior, ens.targets, ens.procedure, ens.seed)
    assert stale_inputs(changed) == ["prior"]


# --------------------------------------------------------------------------- the command


def _app():
    from toolkit._calibrate_cli import calibrate_command

    app = typer.Typer()
    app.command("calibrate")(calibrate_command)

    @app.callback()
    def _main() -> None:  # keep "calibrate" as a sub-command
        pass

    return app


def _invoke(*args):
    return CliRunner().invoke(_app(), ["calibrate", *map(str, args)])


def test_cli_defaults_are_calibrates():
    from toolkit._calibrate_cli import calibrate_command

    cli = {
        k: v.default.default if hasattr(v.default, "default") else v.default
        for k, v in inspect.signature(calibrate_command).parameters.items()
    }
    lib = {k: v.default for k, v in inspect.signature(calibrate).parameters.items()}
    for name in ("points", "seed", "workers", "waves", "replicates", "timeout"):
        assert cli[name] == lib[name], name


def _error(res) -> str:
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, res.output
    return lines[0]


@pytest.mark.parametrize(
    "row, words",
    [
        ("meet_base,3.0,1.0", "low <= high"),
        ("quality_base,0.5,1.5", "inside its allowed range"),
        ("no_such_parameter,0,1", "no_such_parameter"),
    ],
)
def test_cli_refuses_a_bad_prior(tmp_path, row, words):
    f = tmp_path / "prior.csv"
    f.write_text("parameter,low,high\n" + row + "\n")
    out = tmp_path / "e.parquet"
    err = _error(_invoke("--prior", f, "--out", out, "--no-progress"))
    assert words in err
    assert not out.exists()


def test_cli_refuses_a_target_with_no_way_to_simulate_it(tmp_path):
    t = pd.concat([history_targets(), history_targets().head(1).assign(target_id="bogus")])
    f = tmp_path / "targets.csv"
    t.to_csv(f, index=False)
    err = _error(_invoke("--targets", f, "--out", tmp_path / "e.parquet"))
    assert "'bogus' has no way to be simulated" in err


def test_cli_names_the_target_when_no_model_survives(tmp_path):
    t = history_targets()
    t.loc[t["target_id"] == "early_closure", ["low", "high", "discrepancy_sd"]] = [
        0.98,
        0.99,
        0.001,
    ]
    f = tmp_path / "targets.csv"
    t.to_csv(f, index=False)
    out = tmp_path / "e.parquet"
    err = _error(
        _invoke("--targets", f, "--points", 4, "--replicates", 2, "--out", out, "--no-progress")
    )
    assert "No model survived" in err and "'early_closure'" in err
    assert not out.exists()


@pytest.mark.parametrize(
    "args, words",
    [
        (("--points", 0), "points"),
        (("--points", -5), "points"),
        (("--out", "/no/such/folder/e.parquet"), "does not exist"),
        (("--out", "ensemble.csv"), "extension"),
        (("--workers", 0), "workers"),
    ],
)
def test_cli_refuses_bad_options(args, words):
    assert words in _error(_invoke(*args))


def test_cli_writes_an_ensemble_with_progress(tmp_path):
    t = _wide_targets()
    f = tmp_path / "targets.csv"
    t.to_csv(f, index=False)
    out = tmp_path / "e.parquet"
    res = _invoke("--targets", f, "--points", 4, "--replicates", 2, "--out", out)
    assert res.exit_code == 0, res.output
    assert " models kept of 4 points" in res.output
    assert "history matching, wave 1" in res.output  # the progress bar (stderr)
    assert 1 <= len(load_ensemble(out)) <= 4


def test_calibrate_refuses_too_few_replicates():
    with pytest.raises(InvalidParameterError, match="replicates"):
        calibrate(**dict(_SMALL, replicates=1))


def test_model_doc_states_the_committed_ensemble():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "model.md").read_text()
    section = doc[doc.index("### Calibration as inference") : doc.index("### Known limits")]
    ens = load_ensemble()
    assert f"{len(ens):,} models" in section
    kept = ens.summary()
    narrowed = kept.loc[kept["share_of_prior_range"] < 0.8, "parameter"]
    for name in narrowed:
        assert f"`{name}`" in section, name


def test_calibrate_on_a_dask_scheduler_gives_the_same_bytes(tmp_path):
    from distributed import LocalCluster

    kw = dict(_SMALL, targets=_wide_targets(), seed=5)
    calibrate(out=tmp_path / "a.parquet", **kw)
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        calibrate(out=tmp_path / "d.parquet", scheduler=cluster.scheduler_address, **kw)
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "d.parquet").read_bytes()


def test_calibrate_refuses_an_unreachable_scheduler(tmp_path):
    from toolkit.errors import SchedulerError

    with pytest.raises(SchedulerError, match="neither an address"):
        calibrate(**dict(_SMALL, scheduler=str(tmp_path / "none.json")))
    with pytest.raises(SchedulerError, match="could not be reached within 0.5 s"):
        calibrate(**dict(_SMALL, scheduler="tcp://127.0.0.1:9", timeout=0.5))
