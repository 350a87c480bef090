"""A contrast over the plausible models: one two-arm contrast under 200 models <= 60 s on 2 cores.

Weekly minus biweekly completion, random matching, 100 pairs x 26 weeks, 10 replicates per
model, under the first 200 models of the committed ensemble, one sampling seed: every model
runs stacked through the vectorised engine on the same replicates
(:func:`toolkit.sensitivity.ensemble_contrast`). (The Morris benchmark this file held went
with the Morris API, issue 18.)
"""

from __future__ import annotations

import os
import time

from benchmarks._timing import peak_rss_mb
from toolkit.experiment import ExperimentSpec
from toolkit.sensitivity import Contrast, ensemble_contrast
from toolkit.studies._common import load_models


def run() -> list[dict]:
    spec = ExperimentSpec.from_dict(
        {
            "cohort": {"n_mentors": 120, "n_mentees": 100},
            "arms": {
                "weekly": {"design": {"cadence": "weekly", "duration_weeks": 26}},
                "biweekly": {"design": {"cadence": "biweekly", "duration_weeks": 26}},
            },
            "replicates": 10,
            "seed": 1,
        }
    )
    models = load_models().take(200)
    start = time.perf_counter()
    f = ensemble_contrast(
        spec, Contrast("weekly", "biweekly", "completed"), models, seeds=1, progress=False
    )
    seconds = time.perf_counter() - start
    return [
        {
            "benchmark": f"ensemble_contrast over {len(models)} plausible models, 100 pairs x 26 "
            "weeks x 2 arms x 10 replicates",
            "seconds": round(seconds, 2),
            "target": "<= 60 s (2 cores)",
            "ok": seconds <= 60,
            "peak_mb": round(peak_rss_mb(), 1),
            "note": f"verdict: {f.verdict}; {os.cpu_count()} cores",
        }
    ]
