"""The host side of a study run (issue 16): refusing a bad parameter <= 1 s; a study's
overhead (end to end minus the time its cells ran) <= kernel start + 2 s; no module of
the study layer's host side over 400 lines.

Refusal is timed as a user sees it: a fresh ``rmt`` process (interpreter start, imports,
checking) until it exits with status 2; best of 3. Kernel start is a fresh kernel running
one empty cell (the same start-up, thread pinning included, and the same stop as a study's
kernel), its client's imports loaded before the clock starts. The
study is ``meeting_cadence`` at small sizes; its cells' own time is read from papermill's
per-cell durations before the runner strips them. The study is timed twice: in this
process (its host imports already loaded by the kernel-start measurement) and in a fresh
process timed from outside, as ``rmt run`` is (interpreter start and host imports count).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TINY = [
    "replicates=3",
    "n_mentors=24",
    "n_mentees=20",
    "cadences=weekly,biweekly,monthly",
    "n_models=24",
    "model_replicates=5",
]
HOST_MODULES = (
    "runs/limits.py",
    "runs/resources.py",
    "runs/plan.py",
    "runs/kernel.py",
    "runs/render.py",
    "runs/manifest.py",
    "runs/run.py",
    "runs/verify.py",
    "runs/grid.py",
    "runs/executors.py",
    "runs/sweep_report.py",
    "runs/sweep.py",
    "runs/__init__.py",
    "teaching/__init__.py",
    "teaching/examples.py",
    "teaching/programs.py",
    "teaching/exercises.py",
    "teaching/checks.py",
    "teaching/course.py",
    "report.py",
    "cli.py",
    "_run_cli.py",
    "_teaching_cli.py",
)


def _load() -> str:
    return "load average " + ", ".join(f"{x:.1f}" for x in os.getloadavg())


def _refusal_seconds() -> float:
    rmt = str(Path(sys.executable).parent / "rmt")
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        proc = subprocess.run(
            [rmt, "run", "meeting_cadence", "-p", "replicates=0"], capture_output=True, text=True
        )
        best = min(best, time.perf_counter() - start)
        assert proc.returncode == 2 and proc.stderr.startswith("error: "), proc.stderr
    return best


def _kernel_start_seconds(folder: Path) -> float:
    from toolkit.runs.kernel import execute_notebook, load_jsonschema

    load_jsonschema()  # the host's way, before nbformat imports jsonschema
    import nbclient  # noqa: F401  # imported before the clock starts: the kernel is timed
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass")])
    path = folder / "empty.ipynb"
    nbformat.write(nb, path)
    start = time.perf_counter()
    execute_notebook(path)
    return time.perf_counter() - start


def _study_seconds(folder: Path) -> tuple[float, float]:
    """(end to end, the cells' own execution time) of one small study run."""
    from toolkit.runs import run as run_module
    from toolkit.runs import run_study

    cells = []
    original = run_module.strip_run_times

    def measure_then_strip(path):
        import nbformat  # here, not before the run: the host imports it its own way

        nb = nbformat.read(str(path), as_version=4)
        cells.append(sum(c.metadata.get("papermill", {}).get("duration") or 0.0 for c in nb.cells))
        original(path)

    run_module.strip_run_times = measure_then_strip
    try:
        start = time.perf_counter()
        run_study("meeting_cadence", TINY, out=folder, progress=False)
        total = time.perf_counter() - start
    finally:
        run_module.strip_run_times = original
    return total, cells[0]


def _fresh_study_seconds(folder: Path) -> tuple[float, float]:
    """(end to end, cell time) of the same run in a fresh process, timed from outside as a
    user of ``rmt run`` waits for it: interpreter start and every host import included."""
    code = (
        "import sys; from pathlib import Path; from benchmarks.bench_host import _study_seconds; "
        "print('@@', _study_seconds(Path(sys.argv[1]))[1])"
    )
    root = str(Path(__file__).resolve().parents[1])
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, str(folder)], capture_output=True, text=True, cwd=root
    )
    total = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-2000:]
    cells = float(proc.stdout.split("@@")[-1])
    return total, cells


def run() -> list[dict]:
    rows = []
    refusal = _refusal_seconds()
    rows.append(
        {
            "benchmark": "rmt run refusing a bad parameter (fresh process, best of 3)",
            "seconds": round(refusal, 2),
            "target": "<= 1 s",
            "ok": refusal <= 1.0,
            "note": _load(),
        }
    )
    with tempfile.TemporaryDirectory(prefix="bench-host-") as tmp:
        kernel = _kernel_start_seconds(Path(tmp))
        total, cells = _study_seconds(Path(tmp))
        fresh_total, fresh_cells = _fresh_study_seconds(Path(tmp) / "fresh")
    overhead = total - cells
    rows.append(
        {
            "benchmark": "kernel start (fresh kernel, one empty cell)",
            "seconds": round(kernel, 2),
            "target": "reference",
            "note": _load(),
        }
    )
    rows.append(
        {
            "benchmark": "meeting_cadence (small) overhead: end to end minus cell time",
            "seconds": round(overhead, 2),
            "anchor_seconds": round(total, 2),
            "target": f"<= kernel start + 2 s = {kernel + 2:.2f} s",
            "ok": overhead <= kernel + 2.0,
            "note": f"cells ran {cells:.2f} s; {_load()}",
        }
    )
    fresh = fresh_total - fresh_cells
    rows.append(
        {
            "benchmark": "same, in a fresh process timed from outside (imports included)",
            "seconds": round(fresh, 2),
            "anchor_seconds": round(fresh_total, 2),
            "target": f"<= kernel start + 2 s = {kernel + 2:.2f} s",
            "ok": fresh <= kernel + 2.0,
            "note": f"cells ran {fresh_cells:.2f} s; {_load()}",
        }
    )
    root = Path(__file__).resolve().parents[1] / "toolkit"
    sizes = {
        m: len((root / m).read_text().splitlines()) for m in HOST_MODULES if (root / m).is_file()
    }
    largest = max(sizes, key=lambda m: sizes[m])
    host = {m: n for m, n in sizes.items() if m not in ("report.py", "cli.py")}
    biggest_host = max(host, key=lambda m: host[m])
    rows.append(
        {
            "benchmark": f"largest host-side study-layer module ({biggest_host})",
            "seconds": float("nan"),
            "target": "<= 400 lines",
            "ok": host[biggest_host] <= 400,
            "note": f"{host[biggest_host]} lines; also largest listed: {largest} {sizes[largest]}",
        }
    )
    return rows
