"""Design diagnosis: 1,000 simulations of a 200-pair, 26-week, two-arm study on 2 cores:
<= 5 s with the difference in means, <= 6 s with ``compare_arms``.

Each simulation runs the real simulator through :class:`toolkit.diagnosis.SimulatorDesign`:
a fresh cohort of 200 mentees (and 240 mentors), random matching, both designs (weekly and
biweekly meetings, 26 weeks) with common random numbers, then each pair randomly assigned
to one design, as in a real pilot. Two estimators of the effect on ``mentee_gain``: the
difference in means (t test), and the public :func:`toolkit.analysis.compare_arms` (OLS
with HC2 errors) through :class:`toolkit.diagnosis.ArmContrast`. Default local process
pool with 2 workers.
"""

from __future__ import annotations

import os
import time

from toolkit import ProgramDesign
from toolkit.diagnosis import ArmContrast, DifferenceInMeans, SimulatorDesign, diagnose


def run() -> list[dict]:
    design = SimulatorDesign(
        treatment=ProgramDesign(cadence="weekly"), control=ProgramDesign(cadence="biweekly"), n=200
    )
    estimators = {
        "difference in means": (DifferenceInMeans(outcome="mentee_gain"), 5),
        "compare_arms (OLS, HC2)": (ArmContrast("mentee_gain", options={"cluster": None}), 6),
    }
    rows = []
    for label, (estimator, target) in estimators.items():
        diagnose(design, estimator, sims=10, seed=1, executor="serial", progress=False)  # warm
        start = time.perf_counter()
        d = diagnose(design, estimator, sims=1000, seed=1, workers=2, progress=False)
        seconds = time.perf_counter() - start
        rows.append(
            {
                "benchmark": f"diagnose 1,000 sims, real simulator, 200 pairs x 26 weeks x 2 arms, "
                f"{label}",
                "seconds": round(seconds, 2),
                "target": f"<= {target} s (2 workers)",
                "ok": seconds <= target,
                "note": f"power {d.value('power'):.3f} (MCSE {d.mcse('power'):.3f}); "
                f"{d.diagnosands['n_failed'].iloc[0]} failed; {os.cpu_count()} cores",
            }
        )
    return rows
