"""Cohort generation: 10,000 people <= 1 s; 100,000 <= 5 s and <= 1 GB peak."""

from __future__ import annotations

from benchmarks._timing import best_of, peak_rss_mb
from toolkit import CohortSpec, generate_cohort


def run() -> list[dict]:
    rows = []
    generate_cohort(CohortSpec(n_mentors=10, n_mentees=10, seed=1))  # warm imports
    for n, target in ((10_000, 1.0), (100_000, 5.0)):
        spec = CohortSpec(
            n_mentors=n // 2, n_mentees=n // 2, seed=1, locales=("en_US", "de_DE", "ja_JP", "pt_BR")
        )
        seconds, _ = best_of(lambda spec=spec: generate_cohort(spec), repeat=3)
        peak = peak_rss_mb()
        ok = seconds <= target and (n < 100_000 or peak <= 1024)
        rows.append(
            {
                "benchmark": f"cohort {n:,} people (4 locales)",
                "seconds": round(seconds, 3),
                "target": f"<= {target:g} s" + (", <= 1 GB" if n == 100_000 else ""),
                "peak_mb": round(peak),
                "ok": ok,
            }
        )
    return rows
