"""Studies end to end: each canonical study <= 60 s (kernel start, execution, HTML) and a
sweep of 8 small runs with 2 workers >= 1.6x faster than with 1 (2 cores).

The machine's load average is noted on every row: kernels are separate processes, so
other work on the machine shows directly in these timings.
"""

from __future__ import annotations

import os
import tempfile
import time

from toolkit.runs import run_study, run_sweep
from toolkit.studies import list_studies

SWEEP_GRID = ["seed=1,2,3,4,5,6,7,8"]
SWEEP_BASE = ["replicates=10", "n_mentors=40", "n_mentees=30", "n_models=24", "model_replicates=5"]


def _load() -> str:
    return "load average " + ", ".join(f"{x:.1f}" for x in os.getloadavg())


def run() -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-studies-") as tmp:
        for name in list_studies():
            start = time.perf_counter()
            run_study(name, None, out=tmp, canonical=True, progress=False)
            seconds = time.perf_counter() - start
            rows.append(
                {
                    "benchmark": f"canonical study {name} (kernel, execution, HTML)",
                    "seconds": round(seconds, 2),
                    "target": "<= 60 s (2 cores)",
                    "ok": seconds <= 60,
                    "note": _load(),
                }
            )
        times = {}
        for workers in (1, 2):
            start = time.perf_counter()
            run_sweep(
                "meeting_cadence",
                SWEEP_GRID,
                base=SWEEP_BASE,
                out=os.path.join(tmp, f"sweep{workers}"),
                workers=workers,
                progress=False,
                echo=lambda m: None,
            )
            times[workers] = time.perf_counter() - start
        ratio = times[1] / times[2]
        rows.append(
            {
                "benchmark": "sweep of 8 small meeting_cadence runs, 2 workers vs 1",
                "seconds": round(times[2], 2),
                "anchor_seconds": round(times[1], 2),
                "ratio": round(ratio, 2),
                "target": ">= 1.6x with 2 workers",
                "ok": ratio >= 1.6,
                "note": f"{os.cpu_count()} cores; {_load()}",
            }
        )
    return rows
