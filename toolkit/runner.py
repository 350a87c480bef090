"""Former home of the study runner; the host side now lives in :mod:`toolkit.runs`.

Kept so ``from toolkit.runner import run_study`` keeps working while callers move.
"""

from toolkit.runs import (
    RunResult,
    SweepResult,
    VerifyResult,
    check_parameters,
    expand_grid,
    render_report,
    run_reports,
    run_study,
    run_sweep,
    verify_run,
)

__all__ = [
    "RunResult",
    "SweepResult",
    "VerifyResult",
    "check_parameters",
    "expand_grid",
    "render_report",
    "run_reports",
    "run_study",
    "run_sweep",
    "verify_run",
]
