"""The host side of studies: plan a run, start its kernel, render, record and verify it,
and sweep a grid of runs. One module per job, read in the order a run takes::

    plan      checked parameters, input checksums, fingerprint, run path (no kernel yet)
    kernel    the one place that starts a kernel (studies via papermill, teaching via nbclient)
    render    report.html from the executed notebook; the study index
    manifest  manifest.json; comparing a re-run's tables (numbers within a stated tolerance)
    run       plan -> kernel -> render -> manifest, into a folder renamed into place
    verify    re-run from a manifest and compare every table
    sweep     a grid of runs through one executor loop (this process, processes or Dask)

The host uses only the public names of :mod:`toolkit.studies` (``get_study``,
``list_studies``, the ``Study`` record and its parameters class); the study side never
imports this package.
"""

from toolkit.runs.manifest import TableCheck, compare_table, read_manifest
from toolkit.runs.plan import Plan, check_parameters, fingerprint, plan_run
from toolkit.runs.render import render_report, write_index
from toolkit.runs.run import RunResult, run_reports, run_study
from toolkit.runs.sweep import SweepResult, expand_grid, run_sweep
from toolkit.runs.verify import VerifyResult, verify_run

__all__ = [
    "Plan",
    "RunResult",
    "SweepResult",
    "TableCheck",
    "VerifyResult",
    "check_parameters",
    "compare_table",
    "expand_grid",
    "fingerprint",
    "plan_run",
    "read_manifest",
    "render_report",
    "run_reports",
    "run_study",
    "run_sweep",
    "verify_run",
    "write_index",
]
