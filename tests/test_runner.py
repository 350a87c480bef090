"""The host side of studies (toolkit.runs): run folders and manifests, failures, safer
defaults, input privacy, deterministic reruns, verify with a tolerance, sweeps (resume;
this process, a process pool and Dask give identical tables), canonical reports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from toolkit import runs
from toolkit._io import sha256_file
from toolkit.errors import (
    InvalidParameterError,
    OutputPathError,
    SchedulerError,
    StudyExecutionError,
)
from toolkit.runs import manifest as manifest_mod
from toolkit.runs import run as run_mod
from toolkit.runs import sweep as sweep_mod
from toolkit.runs import verify as verify_mod

ROOT = Path(__file__).resolve().parents[1]
TINY_SWEEP = [
    "replicates=2",
    "n_mentors=20",
    "n_mentees=16",
    "hours=unmatched",
    "cadences=weekly,biweekly",
    "n_models=20",
    "model_replicates=5",
]


def test_manifest_records_what_must_reproduce(tiny_run):
    m = json.loads((tiny_run.path / "manifest.json").read_text())
    assert m["study"] == "meeting_cadence" and m["run_id"] == tiny_run.path.name
    assert m["fingerprint"].startswith(m["run_id"]) and len(m["fingerprint"]) == 64
    assert m["seed"] == m["parameters"]["seed"] == 0
    assert {"numpy", "pandas", "papermill"} <= set(m["packages"])
    assert set(m["timing"]) == {"wall_seconds", "finished_utc"}
    assert "timing" not in m["reproducible_keys"]
    for rel, digest in m["outputs"].items():
        assert sha256_file(tiny_run.path / rel) == digest
    assert any(k.startswith("tables/") for k in m["outputs"])


def test_same_parameters_find_the_earlier_run(tiny_run, monkeypatch, tiny_params):
    import papermill

    monkeypatch.setattr(papermill, "execute_notebook", _no_kernel)
    monkeypatch.setattr(run_mod, "start_kernel", _no_kernel)
    again = runs.run_study(
        "meeting_cadence",
        tiny_params["meeting_cadence"],
        out=tiny_run.path.parents[1],
        progress=False,
    )
    assert again.skipped and again.path == tiny_run.path


def _no_kernel(*args, **kwargs):
    raise AssertionError("a kernel was started")


def _kernels_left() -> list:
    """Kernel processes this test process started and that still run."""
    import psutil

    return [c for c in psutil.Process().children(recursive=True) if run_mod._is_kernel(c)]


def test_a_run_stops_its_kernel(tiny_run):
    """The runner owns the kernel it launches (papermill neither starts nor stops it)."""
    assert tiny_run.path.is_dir() and _kernels_left() == []


def test_rmt_run_writes_under_runs_unless_told(monkeypatch, tmp_path):
    """Only `rmt reports` writes the canonical reports/: `rmt run` and run_study default
    to runs/."""
    import inspect

    from typer.testing import CliRunner

    from toolkit.cli import app

    assert inspect.signature(runs.run_study).parameters["out"].default == "runs"
    assert inspect.signature(runs.run_sweep).parameters["out"].default == "runs"
    seen = {}

    def fake(name, params, *, out, **kw):
        seen["out"] = out
        return SimpleNamespace(skipped=True, path=Path(out) / name)

    monkeypatch.setattr(runs, "run_study", fake)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["run", "meeting_cadence"])
    assert result.exit_code == 0, result.output
    assert seen["out"] == Path("runs")
    assert runs.plan_run("meeting_cadence").path.parts[:2] == ("runs", "meeting_cadence")


def test_folder_that_is_not_a_run_is_refused(tmp_path, monkeypatch, tiny_params):
    import papermill

    monkeypatch.setattr(papermill, "execute_notebook", _no_kernel)
    monkeypatch.setattr(run_mod, "start_kernel", _no_kernel)
    plan = runs.plan_run("meeting_cadence", tiny_params["meeting_cadence"], out=tmp_path)
    plan.path.mkdir(parents=True)
    (plan.path / "notes.txt").write_text("mine")
    with pytest.raises(OutputPathError, match="is not a run of study meeting_cadence"):
        runs.run_study(
            "meeting_cadence", tiny_params["meeting_cadence"], out=tmp_path, progress=False
        )
    assert (plan.path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("meeting_cadense", "did you mean meeting_cadence?"),
        ("matching_policy", "did you mean matching_policies?"),
        ("zzz", "the studies are: "),
    ],
)
def test_unknown_study_names_a_near_miss(name, words):
    with pytest.raises(InvalidParameterError, match=words.replace("?", r"\?")) as info:
        runs.plan_run(name)
    assert "\n" not in str(info.value)


def test_out_under_proc_or_a_file_is_refused(tmp_path):
    with pytest.raises(OutputPathError, match="under /proc, which holds no files"):
        runs.plan_run("meeting_cadence", out="/proc/rmt-runs")
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(OutputPathError, match="is under .*afile.*which is a file"):
        runs.plan_run("meeting_cadence", out=afile / "runs")
    with pytest.raises(OutputPathError, match="is .*afile.*which is a file"):
        runs.plan_run("meeting_cadence", out=afile)


@pytest.fixture
def failing_study(tmp_path):
    """A test-only study whose second code cell raises."""
    import nbformat
    from pydantic import Field

    from toolkit.studies import Study, StudyParameters, register, unregister

    class FailParams(StudyParameters):
        study = "failing_test"
        size: int = Field(3, ge=1, description="A size.")

    nb = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}
        }
    )
    nb.cells = [
        nbformat.v4.new_code_cell("seed = 0\nsize = 3", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("raise ValueError(f'boom at size {size}')"),
    ]
    path = tmp_path / "failing_test.ipynb"
    nbformat.write(nb, path)
    study = register(
        Study(
            name="failing_test",
            title="Fails",
            question="Does it fail?",
            parameters=FailParams,
            notebook=path,
        )
    )
    yield study
    unregister("failing_test")


def test_failing_cell_leaves_nothing_at_the_run_path(tmp_path, failing_study):
    out = tmp_path / "runs"
    with pytest.raises(StudyExecutionError) as info:
        runs.run_study("failing_test", ["size=5"], out=out, progress=False)
    msg = str(info.value)
    assert "ValueError: boom at size 5" in msg and "cell" in msg and "\n" not in msg
    plan = runs.plan_run("failing_test", ["size=5"], out=out)
    assert not plan.path.exists()
    assert (plan.path.parent / f"failed-{plan.run_id}" / "notebook.ipynb").is_file()
    assert not [p for p in plan.path.parent.iterdir() if p.name.startswith(".tmp")]
    assert _kernels_left() == []


def test_a_roster_run_keeps_the_file_name_and_checksum_never_its_folder(tmp_path):
    """Manifest, executed notebook and report name the roster file, never its folder (a
    home folder names a person); verify finds it by name or with inputs=."""
    from toolkit import CohortSpec, generate_cohort
    from toolkit._io import write_table

    private = tmp_path / "home_of_ada_lovelace"
    private.mkdir()
    roster = private / "people.csv"
    people = generate_cohort(CohortSpec(n_mentors=14, n_mentees=12, seed=4)).participants
    write_table(people.rename(columns={"participant_id": "id"}), roster)
    res = runs.run_study(
        "meeting_cadence",
        ["replicates=2", f"roster={roster}", "cadences=weekly,biweekly"],
        out=tmp_path / "runs",
        progress=False,
    )
    written = {
        p.name: p.read_text()
        for p in res.path.rglob("*")
        if p.is_file() and p.suffix in (".json", ".ipynb", ".html", ".csv")
    }
    assert {"manifest.json", "notebook.ipynb", "report.html"} <= set(written)
    for name, text in written.items():
        assert "home_of_ada_lovelace" not in text, name
        assert str(tmp_path) not in text, name
    m = json.loads(written["manifest.json"])
    assert m["parameters"]["roster"] == "people.csv"
    assert m["inputs"]["roster"] == {"file": "people.csv", "sha256": sha256_file(roster)}
    assert not (res.path / "people.csv").exists()
    with pytest.raises(InvalidParameterError, match="--input roster=PATH"):
        runs.verify_run(res.path, progress=False, echo=lambda m: None)
    check = runs.verify_run(
        res.path, inputs={"roster": roster}, progress=False, echo=lambda m: None
    )
    assert check.passed, {k: str(v) for k, v in check.tables.items()}


def test_verify_passes_on_a_fresh_run_and_names_an_altered_table(tiny_run, tmp_path):
    res = runs.verify_run(tiny_run.path, progress=False, echo=lambda m: None)
    assert res.passed and res.version_notes == []
    assert set(res.tables) >= {"estimates.parquet", "outcomes.parquet"}
    altered = tmp_path / "altered"
    shutil.copytree(tiny_run.path, altered)
    table = altered / "tables" / "arms.parquet"
    frame = pd.read_parquet(table)
    frame.loc[0, "completion"] = frame.loc[0, "completion"] + 0.001
    frame.to_parquet(table, index=False)
    res = runs.verify_run(altered, progress=False, echo=lambda m: None)
    assert not res.passed
    assert str(res.tables["arms.parquet"]) == (
        "differs in 1 cell (largest difference 0.001 in column 'completion')"
    )
    assert str(res.tables["estimates.parquet"]) == "identical"


def test_compare_table_tolerance_is_stated_and_exact_for_integers_and_text(tmp_path):
    base = pd.DataFrame({"x": [1.0, 2.0, 3.0], "n": [1, 2, 3], "arm": ["a", "b", "c"]})
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    base.to_parquet(a)
    noisy = base.assign(x=base.x + [3e-14, -2e-14, 0.0])  # the size of BLAS-order noise
    noisy.to_parquet(b)
    check = manifest_mod.compare_table(a, b)
    assert check.agrees and str(check).startswith(
        "equal within tolerance (largest difference 3e-14"
    )
    beyond = base.assign(x=base.x * (1 + 10 * manifest_mod.RTOL))
    beyond.to_parquet(b)
    assert not manifest_mod.compare_table(a, b).agrees
    base.assign(n=[1, 2, 4]).to_parquet(b)
    assert (
        str(manifest_mod.compare_table(a, b))
        == "differs in 1 cell (exact values differ in column 'n')"
    )
    base.assign(arm=["a", "b", "C"]).to_parquet(b)
    assert manifest_mod.compare_table(a, b).cells == 1


def test_verify_names_differing_versions_first(tiny_run, tmp_path, monkeypatch):
    altered = tmp_path / "old"
    shutil.copytree(tiny_run.path, altered)
    m = json.loads((altered / "manifest.json").read_text())
    m["toolkit_version"], m["packages"]["numpy"] = "0.0.1", "1.0.0"
    (altered / "manifest.json").write_text(json.dumps(m))
    said = []
    monkeypatch.setattr(verify_mod, "run_planned", _stop_here)
    with pytest.raises(_Stopped):
        runs.verify_run(altered, progress=False, echo=said.append)
    import toolkit

    assert said == [
        f"version differs: toolkit 0.0.1 in the manifest, {toolkit.__version__} installed",
        f"version differs: numpy 1.0.0 in the manifest, "
        f"{manifest_mod.installed_versions()['packages']['numpy']} installed",
    ]


class _Stopped(Exception):
    pass


def _stop_here(*args, **kwargs):
    raise _Stopped


_RERUN = """
import sys
from toolkit.runs import run_study
run_study("meeting_cadence", sys.argv[2:], out=sys.argv[1], progress=False)
"""


def test_a_rerun_with_another_blas_thread_count_gives_byte_identical_tables(tmp_path, tiny_params):
    """The kernel pins BLAS threads, so the host's thread settings change no byte."""
    made = []
    for threads in ("1", "2"):
        out = tmp_path / f"threads{threads}"
        env = {
            **os.environ,
            "OPENBLAS_NUM_THREADS": threads,
            "OMP_NUM_THREADS": threads,
            "MKL_NUM_THREADS": threads,
        }
        subprocess.run(
            [sys.executable, "-c", _RERUN, str(out), *tiny_params["meeting_cadence"]],
            env=env,
            check=True,
            capture_output=True,
            cwd=tmp_path,
        )
        (run_dir,) = (out / "meeting_cadence").iterdir()
        made.append(run_dir / "tables")
    a, b = made
    names = sorted(p.name for p in a.iterdir())
    assert names and names == sorted(p.name for p in b.iterdir())
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def _canonical_studies() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "reports").glob("*/manifest.json"))


@pytest.mark.canonical
@pytest.mark.parametrize("study", _canonical_studies())
def test_verify_passes_on_a_copy_of_each_committed_canonical_report(study, tmp_path):
    copy = tmp_path / study
    shutil.copytree(ROOT / "reports" / study, copy)
    res = runs.verify_run(copy, progress=False, echo=lambda m: None)
    assert res.passed, {k: str(v) for k, v in res.tables.items() if not v.agrees}
    # one cell moved beyond the tolerance is found, counted and measured
    table = sorted((copy / "tables").glob("*.parquet"))[0]
    frame = pd.read_parquet(table)
    col = next(c for c in frame.columns if pd.api.types.is_float_dtype(frame[c]))
    frame.loc[frame.index[0], col] = frame[col].iloc[0] + 0.5
    frame.to_parquet(table, index=False)
    check = manifest_mod.compare_table(table, ROOT / "reports" / study / "tables" / table.name)
    assert not check.agrees and check.cells == 1 and check.column == col
    assert abs(check.largest - 0.5) < 1e-9


def test_sweep_resumes_and_this_process_pool_and_dask_give_identical_tables(tmp_path, monkeypatch):
    grid = ["seed=1,2"]
    local = tmp_path / "local"
    real = sweep_mod._run_plan_here
    calls = []

    def interrupted(plan):
        if calls:
            raise KeyboardInterrupt
        calls.append(plan)
        return real(plan)

    monkeypatch.setattr(sweep_mod, "_run_plan_here", interrupted)
    with pytest.raises(KeyboardInterrupt):
        runs.run_sweep(
            "meeting_cadence",
            grid,
            base=TINY_SWEEP,
            out=local,
            workers=1,
            progress=False,
            echo=lambda m: None,
        )
    monkeypatch.setattr(sweep_mod, "_run_plan_here", real)
    done = [p for p in (local / "meeting_cadence").iterdir() if (p / "manifest.json").exists()]
    assert len(done) == 1
    resumed = runs.run_sweep(
        "meeting_cadence",
        grid,
        base=TINY_SWEEP,
        out=local,
        workers=1,
        progress=False,
        echo=lambda m: None,
    )
    assert (resumed.ran, resumed.skipped) == (1, 1)

    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        remote = runs.run_sweep(
            "meeting_cadence",
            grid,
            base=TINY_SWEEP,
            out=tmp_path / "dask",
            scheduler=cluster.scheduler_address,
            progress=False,
            echo=lambda m: None,
        )
    assert (remote.ran, remote.skipped) == (2, 0)
    said = []
    pool = runs.run_sweep(
        "meeting_cadence",
        grid,
        base=TINY_SWEEP,
        out=tmp_path / "pool",
        workers=(os.cpu_count() or 1) + 3,
        progress=False,
        echo=said.append,
    )
    assert (pool.ran, pool.skipped) == (2, 0)
    capped = [s for s in said if "workers asked" in s]
    assert capped == [
        f"note: {(os.cpu_count() or 1) + 3} workers asked, {os.cpu_count()} cores "
        f"available; using {os.cpu_count()}"
    ]
    for other in (remote, pool):
        for a, b in zip(resumed.runs, other.runs, strict=True):
            assert a.run_id == b.run_id
            tables = sorted(p.name for p in (a.path / "tables").iterdir())
            assert tables == sorted(p.name for p in (b.path / "tables").iterdir())
            for t in tables:
                assert (a.path / "tables" / t).read_bytes() == (
                    b.path / "tables" / t
                ).read_bytes(), t
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
        runs.run_sweep(
            "meeting_cadence",
            ["seed=1,2"],
            base=TINY_SWEEP,
            out=tmp_path,
            scheduler="tcp://127.0.0.1:9",
            timeout=1,
            progress=False,
            echo=lambda m: None,
        )
    assert time.monotonic() - start < 30
    with pytest.raises(SchedulerError, match="neither an address"):
        runs.run_sweep(
            "meeting_cadence",
            ["seed=1,2"],
            base=TINY_SWEEP,
            out=tmp_path,
            scheduler=str(tmp_path / "missing.json"),
            progress=False,
            echo=lambda m: None,
        )


def test_grid_expands_every_combination_in_order():
    sets = runs.expand_grid(
        "meeting_cadence", ["seed=1,2", "cadences=weekly,biweekly;monthly,biweekly"]
    )
    assert [(p.seed, p.cadences) for p in sets] == [
        (1, ("weekly", "biweekly")),
        (1, ("monthly", "biweekly")),
        (2, ("weekly", "biweekly")),
        (2, ("monthly", "biweekly")),
    ]
    with pytest.raises(InvalidParameterError, match="no parameter 'sed'"):
        runs.expand_grid("meeting_cadence", ["sed=1,2"])


def test_canonical_reports_and_index(tmp_path, monkeypatch, tiny_run):
    """make reports: each study into reports/<study>/ (other runs kept) and an index."""
    calls = []

    def fake_run(plan, *, progress):
        calls.append((plan.name, plan.canonical, plan.params == type(plan.params)()))
        shutil.copytree(tiny_run.path, plan.path, dirs_exist_ok=True)
        return runs.RunResult(plan.name, plan.path, "x", "y", wall_seconds=1.0)

    monkeypatch.setattr(run_mod, "run_planned", fake_run)
    index = runs.run_reports(tmp_path, echo=lambda m: None)
    from toolkit.studies import list_studies

    assert calls == [(name, True, True) for name in list_studies()]
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
    run_mod._move_into_place(new, SimpleNamespace(path=target, canonical=True))
    assert json.loads((target / "findings.json").read_text())["findings"] == ["new"]
    assert (other / "manifest.json").is_file() and not new.exists()


def test_a_rerun_gives_the_same_notebook_and_report_bytes(tmp_path):
    """Execution timestamps, temporary paths and papermill's random cell id are not
    part of the result: two runs of the same parameters give identical files (the
    manifest differs only in its timing block)."""
    from tests.conftest import TINY

    tiny = list(TINY["policy_by_cadence"])  # a few plausible models (conftest)
    a = runs.run_study("policy_by_cadence", tiny, out=tmp_path / "a", progress=False).path
    b = runs.run_study("policy_by_cadence", tiny, out=tmp_path / "b", progress=False).path
    for name in ("notebook.ipynb", "report.html", "findings.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    ma, mb = (json.loads((p / "manifest.json").read_text()) for p in (a, b))
    ma.pop("timing"), mb.pop("timing")
    assert ma == mb


def test_reports_for_one_study_still_index_every_study(tmp_path, monkeypatch):
    """`rmt reports --study X` re-runs X only; the index keeps listing all studies."""
    from toolkit.studies import get_study, list_studies

    def fake_run(plan, *, progress):
        return SimpleNamespace(path=plan.path, wall_seconds=0.0)

    monkeypatch.setattr(run_mod, "run_planned", fake_run)
    index = runs.run_reports(tmp_path, ["model_card"], progress=False, echo=lambda _: None)
    text = index.read_text()
    for name in list_studies():
        assert get_study(name).title in text, name
