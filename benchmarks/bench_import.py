"""Start-up cost: ``import toolkit`` and ``rmt --help`` in a fresh interpreter (best of 5).

Targets from the declarative-experiment issue: import <= 0.3 s, ``rmt --help`` <= 0.5 s.
Lazy loading (``lazy_loader.attach_stub``) keeps both to what they touch.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def _best(cmd: list[str], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times)


def run() -> list[dict]:
    bare = _best([sys.executable, "-c", "pass"])
    imp = _best([sys.executable, "-c", "import toolkit"])
    # The console script installed beside this interpreter (Debian's tar ships another
    # program called rmt in /usr/sbin, so PATH lookup is not safe).
    rmt = str(Path(sys.executable).with_name("rmt"))
    help_ = _best([rmt, "--help"])
    return [
        {
            "benchmark": "python -c 'import toolkit' (fresh interpreter, best of 5)",
            "seconds": round(imp, 3),
            "target": "<= 0.3 s",
            "ok": imp <= 0.3,
            "note": f"bare interpreter start {bare:.3f} s",
        },
        {
            "benchmark": "rmt --help (fresh process, best of 5)",
            "seconds": round(help_, 3),
            "target": "<= 0.5 s",
            "ok": help_ <= 0.5,
            "note": "",
        },
    ]
