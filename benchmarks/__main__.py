"""Run every ``benchmarks/bench_*.py`` module and print one table.

Each module defines ``run() -> list[dict]``; a row has at least ``benchmark``,
``seconds`` and ``target`` and may add ``anchor_seconds``, ``ratio``, ``peak_mb``, ``ok``
and ``note``. Memory-sensitive benchmarks run in a fresh process each so peaks do not
mix. ``python -m benchmarks cohort`` runs only modules whose name contains "cohort".
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pandas as pd


def _modules(filters: list[str]) -> list[str]:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    return [n for n in names if not filters or any(f in n for f in filters)]


def _run_one(name: str) -> list[dict]:
    """Run one module in a subprocess (clean peak-memory figures) and collect its rows."""
    code = f"import json, benchmarks.{name} as m; print('@@ROWS@@' + json.dumps(m.run()))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    sys.stderr.write(proc.stderr)
    for line in proc.stdout.splitlines():
        if line.startswith("@@ROWS@@"):
            return json.loads(line[len("@@ROWS@@") :])
        print(line)
    return [
        {
            "benchmark": name,
            "seconds": float("nan"),
            "target": "",
            "ok": False,
            "note": f"failed (exit {proc.returncode})",
        }
    ]


def main(argv: list[str]) -> int:
    rows: list[dict] = []
    for name in _modules(argv):
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows.extend(_run_one(name))
    table = pd.DataFrame(rows)
    with pd.option_context(
        "display.width", 200, "display.max_columns", 20, "display.max_colwidth", 60
    ):
        print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    importlib.invalidate_caches()
    raise SystemExit(main(sys.argv[1:]))
