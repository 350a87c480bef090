"""Design diagnosis: 1,000 simulations of a 200-pair, 26-week, two-arm study <= 15 s on 2 cores.

Each simulation generates a 200-pair cohort run under both arms (weekly and biweekly
meetings, common random numbers) for 26 weeks, and analyses ``final_quality`` with the
public estimator :func:`toolkit.analysis.compare_arms` (OLS, HC2 errors) through
:class:`toolkit.diagnose.ArmContrast`, on the default local process pool.

Until ``toolkit.experiment`` lands, the data come from :class:`PanelStandIn` below: a
vectorized pair-week model (meeting held with probability rising with engagement,
quality moving toward fit with each meeting and decaying without one, closure hazard
falling with quality) of the same size and shape as the simulator's ``outcomes`` table.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.diagnose import ArmContrast, diagnose


@dataclass(frozen=True)
class PanelStandIn:
    """200 pairs x 26 weeks under two cadences; returns a tidy ``outcomes`` frame."""

    n: int = 200
    weeks: int = 26
    arms: tuple[tuple[str, int], ...] = (("weekly", 1), ("biweekly", 2))

    def __call__(self, seed: int, n: int | None = None) -> pd.DataFrame:
        n = self.n if n is None else n
        g = np.random.default_rng(seed)
        fit = g.beta(5, 3, n)                      # pair compatibility, shared by both arms
        u_meet = g.random((self.weeks, n))         # common random numbers across arms
        u_close = g.random((self.weeks, n))
        noise = g.normal(0, 0.03, (self.weeks, n))
        parts = []
        for arm, gap in self.arms:
            q = np.full(n, 0.5)
            eng = np.full(n, 0.7)
            active = np.ones(n, bool)
            held = np.zeros(n)
            closed = np.full(n, np.nan)
            for w in range(self.weeks):
                scheduled = (w % gap) == 0
                met = active & scheduled & (u_meet[w] < 0.55 + 0.4 * eng)
                held += met
                q = np.where(met, q + 0.25 * (fit - q), q - 0.01) + noise[w]
                eng = np.clip(eng + np.where(met, 0.05 * (q - 0.5), -0.01 * scheduled), 0, 1)
                close = active & (u_close[w] < 0.02 * np.exp(-3 * (q - 0.5)))
                closed[close] = w + 1
                active &= ~close
            parts.append(pd.DataFrame({
                "replicate": 0, "arm": arm, "pair_id": np.arange(n), "meetings_held": held,
                "weeks_active": np.where(np.isnan(closed), self.weeks, closed),
                "completed": active.astype(int), "closed_week": closed, "final_quality": q}))
        return pd.concat(parts, ignore_index=True)


def run() -> list[dict]:
    design = PanelStandIn()
    estimator = ArmContrast("final_quality", group="weekly", reference="biweekly",
                            options={"cluster": None})
    diagnose(design, estimator, sims=20, seed=1, executor="serial", progress=False)  # warm imports
    start = time.perf_counter()
    d = diagnose(design, estimator, sims=1000, seed=1, workers=2, progress=False)
    seconds = time.perf_counter() - start
    return [{"benchmark": "diagnose 1,000 sims, 200 pairs x 26 weeks x 2 arms (stand-in model)",
             "seconds": round(seconds, 2), "target": "<= 15 s (2 workers)", "ok": seconds <= 15,
             "note": f"power {d.value('power'):.3f} (MCSE {d.mcse('power'):.3f}); {os.cpu_count()} cores"}]
