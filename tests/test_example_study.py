"""The recipe of CONTRIBUTING.md works: a new study (one module, one notebook) written on
the study contract runs through the runner, a sweep and verify. The example lives in
tests/example_study/ and is registered at run time (as a plug-in would be); a study in
toolkit/studies/ is found without registering."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from test_studies import check_report

from toolkit.studies import get_study, list_studies, register, unregister

EXAMPLE = Path(__file__).resolve().parent / "example_study"
TINY = [
    "replicates=2",
    "n_mentors=14",
    "n_mentees=12",
    "short_weeks=8",
    "n_models=6",
    "model_replicates=5",
]


@pytest.fixture
def example(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    monkeypatch.setenv("PYTHONPATH", f"{EXAMPLE}:{__import__('os').environ.get('PYTHONPATH', '')}")
    import program_length

    register(program_length.STUDY)
    yield program_length
    unregister("program_length")
    sys.modules.pop("program_length", None)


def test_example_study_declares_only_its_own_parts(example):
    study = example.ProgramLength(replicates=2, n_mentors=14, n_mentees=12, short_weeks=8)
    assert "program_length" in list_studies()
    assert get_study("program_length").kind is example.ProgramLength
    assert list(study.spec.arms) == ["short", "long"]
    assert study.spec is study.spec  # built once
    assert study.limitations()[0].startswith("The numbers come from a simulation model")


def test_example_study_runs_through_runner_sweep_and_verify(example, tmp_path):
    from toolkit.runs import run_study, run_sweep, verify_run

    run = run_study("program_length", TINY, out=tmp_path, progress=False)
    check_report((run.path / "report.html").read_text(encoding="utf-8"))
    est = pd.read_parquet(run.path / "tables" / "estimates.parquet")
    rows = get_study("program_length").estimates(run.path)
    assert rows.estimate_name.tolist() == ["completion: long vs short (points)"]
    rd = est[est.effect == "risk_difference"].iloc[0]
    assert rows.estimate.iloc[0] == pytest.approx(rd.estimate * 100)

    sweep = run_sweep(
        "program_length",
        ["seed=1,2"],
        base=TINY,
        out=tmp_path,
        workers=1,
        progress=False,
        echo=lambda s: None,
    )
    table = pd.read_parquet(sweep.table)
    assert len(sweep.runs) == 2 and len(table) == 2

    check = verify_run(run.path, progress=False, echo=lambda s: None)
    assert check.identical, check.tables
