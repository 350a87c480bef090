"""Robustness analysis: one two-arm contrast over every assumption parameter <= 60 s on 2 cores.

Morris screening with 10 trajectories over all of ``BehaviorModel.plausible_ranges()``
(10 x (k + 1) points plus the default), 100 pairs x 26 weeks, 20 replicates per point:
weekly minus biweekly completion, random matching. Every point runs stacked through the
vectorised engine on the same replicates (:func:`toolkit.sensitivity.robustness`).
"""

from __future__ import annotations

import os
import time

from benchmarks._timing import peak_rss_mb
from toolkit.behavior import BehaviorModel
from toolkit.experiment import ExperimentSpec
from toolkit.sensitivity import Contrast, robustness


def run() -> list[dict]:
    spec = ExperimentSpec.from_dict({
        "cohort": {"n_mentors": 120, "n_mentees": 100},
        "arms": {"weekly": {"design": {"cadence": "weekly", "duration_weeks": 26}},
                 "biweekly": {"design": {"cadence": "biweekly", "duration_weeks": 26}}},
        "replicates": 20, "seed": 1})
    contrast = Contrast("weekly", "biweekly", "completed")
    k = len(BehaviorModel.assumptions())
    start = time.perf_counter()
    res = robustness(spec, contrast, method="morris", trajectories=10, seed=1, progress=False)
    seconds = time.perf_counter() - start
    return [{
        "benchmark": f"robustness, Morris 10 trajectories over {k} assumptions "
                     f"({len(res.points)} points), 100 pairs x 26 weeks x 2 arms x 20 replicates",
        "seconds": round(seconds, 2), "target": "<= 60 s (2 cores)", "ok": seconds <= 60,
        "peak_mb": round(peak_rss_mb(), 1),
        "note": f"verdict: {res.verdict}; drivers: {', '.join(res.drivers[:3])}; "
                f"{os.cpu_count()} cores"}]
