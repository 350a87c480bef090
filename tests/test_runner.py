"""The study runner: run folders and manifests, failures, verify, sweeps (resume; local
pool and Dask give identical tables), canonical reports and the index."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from toolkit import runner
from toolkit.errors import OutputPathError, SchedulerError, StudyExecutionError

TINY_SWEEP = ["replicates=2", "n_mentors=20", "n_mentees=16", "hours=unmatched",
              "cadences=weekly,biweekly", "n_models=20", "model_replicates=5"]


def test_manifest_records_what_must_reproduce(tiny_run):
    m = json.loads((tiny_run.path / "manifest.json").read_text())
    assert m["study"] == "meeting_cadence" and m["run_id"] == tiny_run.path.name
    assert m["fingerprint"].startswith(m["run_id"]) and len(m["fingerprint"]) == 64
    assert m["seed"] == m["parameters"]["seed"] == 0
    assert {"numpy", "pandas", "papermill"} <= set(m["packages"])
    assert set(m["timing"]) == {"wall_seconds", "finished_utc"}
    assert "timing" not in m["reproducible_keys"]
    for rel, digest in m["outputs"].items():
        assert runner._sha256(tiny_run.path / rel) == digest
    assert any(k.startswith("tables/") for k in m["outputs"])


def test_same_parameters_find_the_earlier_run(tiny_run, monkeypatch, tiny_params):
    import papermill

    monkeypatch.setattr(papermill, "execute_notebook", _no_kernel)
    again = runner.run_study("meeting_cadence", tiny_params["meeting_cadence"],
                             out=tiny_run.path.parents[1], progress=False)
    assert again.skipped and again.path == tiny_run.path


def _no_kernel(*args, **kwargs):
    raise AssertionError("a kernel was started")


def test_folder_that_is_not_a_run_is_refused(tmp_path, monkeypatch, tiny_params):
    import papermill

    monkeypatch.setattr(papermill, "execute_notebook", _no_kernel)
    plan = runner._plan("meeting_cadence", tiny_params["meeting_cadence"], tmp_path, False)
    plan.path.mkdir(parents=True)
    (plan.path / "notes.txt").write_text("mine")
    with pytest.raises(OutputPathError, match="is not a run of study meeting_cadence"):
        runner.run_study("meeting_cadence", tiny_params["meeting_cadence"], out=tmp_path,
                         progress=False)
    assert (plan.path / "notes.txt").read_text() == "mine"


@pytest.fixture
def failing_study(tmp_path):
    """A test-only study whose second code cell raises."""
    import nbformat
    from pydantic import Field

    from toolkit.studies import Study, StudyParameters, register, unregister

    class FailParams(StudyParameters):
        study = "failing_test"
        size: int = Field(3, ge=1, description="A size.")

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                           "display_name": "Python 3"}})
    nb.cells = [nbformat.v4.new_code_cell("seed = 0\nsize = 3", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("raise ValueError(f'boom at size {size}')")]
    path = tmp_path / "failing_test.ipynb"
    nbformat.write(nb, path)
    study = register(Study(name="failing_test", title="Fails", question="Does it fail?",
                           parameters=FailParams, notebook=path))
    yield study
    unregister("failing_test")


def test_failing_cell_leaves_nothing_at_the_run_path(tmp_path, failing_study):
    out = tmp_path / "runs"
    with pytest.raises(StudyExecutionError) as info:
        runner.run_study("failing_test", ["size=5"], out=out, progress=False)
    msg = str(info.value)
    assert "ValueError: boom at size 5" in msg and "cell" in msg and "\n" not in msg
    plan = runner._plan("failing_test", ["size=5"], out, False)
    assert not plan.path.exists()
    assert (plan.path.parent / f"failed-{plan.run_id}" / "notebook.ipynb").is_file()
    assert not [p for p in plan.path.parent.iterdir() if p.name.startswith(".tmp")]


def test_verify_passes_on_a_fresh_run_and_names_an_altered_table(tiny_run, tmp_path):
    res = runner.verify_run(tiny_run.path, progress=False, echo=lambda m: None)
    assert res.identical and res.version_notes == []
    assert set(res.tables) >= {"estimates.parquet", "outcomes.parquet"}
    altered = tmp_path / "altered"
    shutil.copytree(tiny_run.path, altered)
    table = altered / "tables" / "arms.parquet"
    frame = pd.read_parquet(table)
    frame.loc[0, "completion"] = frame.loc[0, "completion"] + 0.001
    frame.to_parquet(table, index=False)
    res = runner.verify_run(altered, progress=False, echo=lambda m: None)
    assert not res.identical
    assert res.tables["arms.parquet"] == "differs in 1 cell"
    assert res.tables["estimates.parquet"] == "identical"


def test_verify_names_differing_versions_first(tiny_run, tmp_path, monkeypatch):
    altered = tmp_path / "old"
    shutil.copytree(tiny_run.path, altered)
    m = json.loads((altered / "manifest.json").read_text())
    m["toolkit_version"], m["packages"]["numpy"] = "0.0.1", "1.0.0"
    (altered / "manifest.json").write_text(json.dumps(m))
    said = []
    monkeypatch.setattr(runner, "run_study", _stop_here)
    with pytest.raises(_Stopped):
        runner.verify_run(altered, progress=False, echo=said.append)
    assert said == ["version differs: toolkit 0.0.1 in the manifest, 0.1.0 installed",
                    f"version differs: numpy 1.0.0 in the manifest, "
                    f"{runner.installed_versions()['packages']['numpy']} installed"]


class _Stopped(Exception):
    pass


def _stop_here(*args, **kwargs):
    raise _Stopped


def test_sweep_resumes_and_serial_pool_and_dask_give_identical_tables(tmp_path, monkeypatch):
    grid = ["seed=1,2"]
    local = tmp_path / "local"
    real = runner._sweep_task
    calls = []

    def interrupted(*args):
        if calls:
            raise KeyboardInterrupt
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(runner, "_sweep_task", interrupted)
    with pytest.raises(KeyboardInterrupt):
        runner.run_sweep("meeting_cadence", grid, base=TINY_SWEEP, out=local, workers=1,
                         progress=False, echo=lambda m: None)
    monkeypatch.setattr(runner, "_sweep_task", real)
    done = [p for p in (local / "meeting_cadence").iterdir() if (p / "manifest.json").exists()]
    assert len(done) == 1
    resumed = runner.run_sweep("meeting_cadence", grid, base=TINY_SWEEP, out=local, workers=1,
                               progress=False, echo=lambda m: None)
    assert (resumed.ran, resumed.skipped) == (1, 1)

    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        remote = runner.run_sweep("meeting_cadence", grid, base=TINY_SWEEP, out=tmp_path / "dask",
                                  scheduler=cluster.scheduler_address, progress=False,
                                  echo=lambda m: None)
    assert (remote.ran, remote.skipped) == (2, 0)
    # the local process pool (two spawned workers when there are two cores)
    pool = runner.run_sweep("meeting_cadence", grid, base=TINY_SWEEP, out=tmp_path / "pool",
                            workers=2, progress=False, echo=lambda m: None)
    assert (pool.ran, pool.skipped) == (2, 0)
    for other in (remote, pool):
        for a, b in zip(resumed.runs, other.runs, strict=True):
            assert a.run_id == b.run_id
            tables = sorted(p.name for p in (a.path / "tables").iterdir())
            assert tables == sorted(p.name for p in (b.path / "tables").iterdir())
            for t in tables:
                assert (a.path / "tables" / t).read_bytes() == (b.path / "tables" / t).read_bytes(), t
    sweep = pd.read_parquet(resumed.table)
    assert sweep["seed"].tolist() == ["1", "2"] and len(sweep.columns) > 4
    assert sweep.equals(pd.read_parquet(remote.table))
    assert sweep.equals(pd.read_parquet(pool.table))
    text = resumed.report.read_text()
    assert "<img" in text and 'alt="' in text and "rmt sweep meeting_cadence" in text


def test_unreachable_scheduler_fails_fast(tmp_path):
    import time

    start = time.monotonic()
    with pytest.raises(SchedulerError, match="could not be reached within 1 s"):
        runner.run_sweep("meeting_cadence", ["seed=1,2"], base=TINY_SWEEP, out=tmp_path,
                         scheduler="tcp://127.0.0.1:9", timeout=1, progress=False,
                         echo=lambda m: None)
    assert time.monotonic() - start < 30
    with pytest.raises(SchedulerError, match="neither an address"):
        runner.run_sweep("meeting_cadence", ["seed=1,2"], base=TINY_SWEEP, out=tmp_path,
                         scheduler=str(tmp_path / "missing.json"), progress=False,
                         echo=lambda m: None)


def test_grid_expands_every_combination_in_order():
    sets = runner.expand_grid("meeting_cadence", ["seed=1,2", "cadences=weekly,biweekly;monthly,biweekly"])
    assert [(p.seed, p.cadences) for p in sets] == [
        (1, ("weekly", "biweekly")), (1, ("monthly", "biweekly")),
        (2, ("weekly", "biweekly")), (2, ("monthly", "biweekly"))]


def test_canonical_reports_and_index(tmp_path, monkeypatch, tiny_run):
    """make reports: each study into reports/<study>/ (other runs kept) and an index."""
    calls = []

    def fake_run(name, params, *, out, canonical, progress, **kw):
        calls.append((name, params, canonical))
        target = Path(out) / name
        shutil.copytree(tiny_run.path, target, dirs_exist_ok=True)
        return runner.RunResult(name, target, "x", "y", wall_seconds=1.0)

    monkeypatch.setattr(runner, "run_study", fake_run)
    index = runner.run_reports(tmp_path, echo=lambda m: None)
    from toolkit.studies import list_studies

    assert calls == [(name, None, True) for name in list_studies()]
    text = index.read_text()
    assert 'href="meeting_cadence/report.html"' in text
    findings = json.loads((tiny_run.path / "findings.json").read_text())["findings"]
    assert findings[0].replace("'", "&#x27;") in text


def test_canonical_run_replaces_itself_and_keeps_other_runs(tmp_path, tiny_run):
    """The canonical swap moves only the run's own files."""
    target = tmp_path / "meeting_cadence"
    shutil.copytree(tiny_run.path, target)
    other = target / "0123456789ab"
    shutil.copytree(tiny_run.path, other)
    new = tmp_path / ".tmp-new"
    shutil.copytree(tiny_run.path, new)
    (new / "findings.json").write_text('{"findings": ["new"]}')
    runner._replace_canonical(new, target)
    assert json.loads((target / "findings.json").read_text())["findings"] == ["new"]
    assert (other / "manifest.json").is_file() and not new.exists()


def test_a_rerun_gives_the_same_notebook_and_report_bytes(tmp_path):
    """Execution timestamps, temporary paths and papermill's random cell id are not
    part of the result: two runs of the same parameters give identical files (the
    manifest differs only in its timing block)."""
    import json

    from tests.conftest import TINY
    from toolkit.runner import run_study

    tiny = list(TINY["policy_by_cadence"])  # a few plausible models (conftest)
    a = run_study("policy_by_cadence", tiny, out=tmp_path / "a", progress=False).path
    b = run_study("policy_by_cadence", tiny, out=tmp_path / "b", progress=False).path
    for name in ("notebook.ipynb", "report.html", "findings.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    ma, mb = (json.loads((p / "manifest.json").read_text()) for p in (a, b))
    ma.pop("timing"), mb.pop("timing")
    assert ma == mb


def test_reports_for_one_study_still_index_every_study(tmp_path, monkeypatch):
    """`rmt reports --study X` re-runs X only; the index keeps listing all studies."""
    from types import SimpleNamespace

    from toolkit.studies import get_study, list_studies

    def fake_run(name, params, *, out, canonical, progress):
        return SimpleNamespace(path=out / name, wall_seconds=0.0)

    monkeypatch.setattr(runner, "run_study", fake_run)
    index = runner.run_reports(tmp_path, ["model_card"], progress=False, echo=lambda _: None)
    text = index.read_text()
    for name in list_studies():
        assert get_study(name).title in text, name
