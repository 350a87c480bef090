"""History matching driver: 20,000 prior points, 1 vs 2 worker processes, peak memory.

Runs :func:`toolkit.history_matching.history_match` on the toy simulator of
:mod:`toolkit._synthetic` (four parameters, four targets, 20 replicates of ``units``
unit-level draws per point), so it measures the driver (sampling, chunking, executors,
implausibility, refocusing) and its parallel speed-up, not the real model's targets
(the lead wires those). Targets: the whole procedure <= 600 s on 2 cores, 2 workers
>= 1.6x faster than 1, peak memory <= 4 GB (this process plus the largest worker).
"""

from __future__ import annotations

import concurrent.futures
import os
import resource
import time

import numpy as np

from benchmarks._timing import peak_rss_mb
from toolkit._synthetic import ToySimulator, toy_prior, toy_targets
from toolkit.history_matching import history_match

POINTS = 20_000


def _children_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _cpu(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def run(units: int = 300) -> list[dict]:
    prior = toy_prior()
    targets = toy_targets(np.array([0.55, 2.0, 3.0, 0.2]), seed=3, obs_sd=0.04)
    sim = ToySimulator(replicates=20, units=units)
    kw = dict(points=POINTS, waves=1, chunk_size=250, seed=1, progress=False)
    rows = []
    start, cpu0 = time.perf_counter(), _cpu(resource.RUSAGE_SELF)
    serial = history_match(prior, targets, sim, **kw)
    t1, cpu1 = time.perf_counter() - start, _cpu(resource.RUSAGE_SELF) - cpu0
    start, self0 = time.perf_counter(), _cpu(resource.RUSAGE_SELF)
    kids0 = _cpu(resource.RUSAGE_CHILDREN)
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        pooled = history_match(prior, targets, sim, map=pool, **kw)
    t2 = time.perf_counter() - start
    parent2 = _cpu(resource.RUSAGE_SELF) - self0
    workers2 = _cpu(resource.RUSAGE_CHILDREN) - kids0
    # CPU seconds show the parallel overhead whatever else shares the cores: on an idle
    # 2-core machine the wall time is about max(parent, workers / 2).
    same = serial == pooled
    peak = peak_rss_mb() + _children_peak_mb()
    rows.append({
        "benchmark": f"history matching, {POINTS} points x 4 toy targets "
                     f"(20 replicates x {units} draws), 1 worker", "seconds": round(t1, 2),
        "target": "<= 600 s", "ok": t1 <= 600, "peak_mb": round(peak_rss_mb(), 1),
        "note": f"{len(serial)} models kept"})
    rows.append({
        "benchmark": "history matching, same, 2 worker processes", "seconds": round(t2, 2),
        "target": ">= 1.6x faster than 1 worker", "ok": t1 / t2 >= 1.6 and same,
        "peak_mb": round(peak, 1),
        "note": f"speed-up {t1 / t2:.2f}x (wall); CPU s: serial {cpu1:.1f}, parent "
                f"{parent2:.1f}, workers {workers2:.1f}; same ensemble as 1 worker: {same}; "
                f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"})

    def closed_form(points, seed):   # no simulation cost: the driver's own overhead
        import pandas as pd

        from toolkit._synthetic import TARGETS, toy_means
        mu = toy_means(points[["quality_base", "meet_base", "closure_engagement",
                               "quality_approach"]].to_numpy())
        return pd.DataFrame({"point": np.repeat(points["point"].to_numpy(), 4),
                             "target_id": np.tile(TARGETS, len(points)),
                             "value": mu.ravel(), "mc_var": 0.0})

    start = time.perf_counter()
    history_match(prior, targets, closed_form, **{**kw, "waves": 2})
    t0 = time.perf_counter() - start
    rows.append({"benchmark": f"history matching driver overhead, 2 waves x {POINTS} points, "
                              "closed-form simulator", "seconds": round(t0, 2),
                 "target": "small beside the simulator", "ok": True,
                 "peak_mb": round(peak_rss_mb(), 1), "note": ""})
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
