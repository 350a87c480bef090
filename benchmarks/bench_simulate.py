"""Simulation engine: 100,000 pairs x 52 weeks with all tables <= 0.7 s and <= 2 GB, with
its ratio to the time spent drawing the random numbers alone; 1,000 replicates x 200
pairs x 26 weeks <= 10 s; side by side with an idiomatic Mesa 3 model at 1,000 pairs x 52
weeks (goal >= 50x faster, mean outcomes agreeing within Monte Carlo error)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from benchmarks._timing import best_of, peak_rss_mb
from toolkit import CohortSpec, ProgramDesign, generate_cohort
from toolkit._engine import cohort_features as _features
from toolkit.behavior import BehaviorModel
from toolkit.experiment import Arm, run_experiment
from toolkit.simulation import simulate

OUTCOMES = ("meetings_held", "completed", "final_quality", "mentee_gain")


def _drawing_seconds(run) -> float:
    """Seconds one call of ``run`` spends in the engine's random draws (per-week and
    static), timed by wrapping the drawing functions for that call only."""
    from toolkit import _engine

    spent = [0.0]

    def timed(func):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - start

        return wrapper

    originals = {
        "init": _engine._Draws.__init__,
        "week": _engine._Draws.next_week,
        "static": _engine._static_draws,
    }
    _engine._Draws.__init__ = timed(originals["init"])
    _engine._Draws.next_week = timed(originals["week"])
    _engine._static_draws = timed(originals["static"])
    try:
        run()
    finally:
        _engine._Draws.__init__ = originals["init"]
        _engine._Draws.next_week = originals["week"]
        _engine._static_draws = originals["static"]
    return spent[0]


def _random_pairs(cohort, seed: int) -> pd.DataFrame:
    g = np.random.default_rng(seed)
    mentors = cohort.mentors["participant_id"].to_numpy()
    n = min(len(mentors), len(cohort.mentees))
    return pd.DataFrame(
        {
            "mentee_id": cohort.mentees["participant_id"].to_numpy()[:n],
            "mentor_id": g.permutation(mentors)[:n],
        }
    )


def _fixed(pairs):
    return lambda cohort, seed: pairs


def run() -> list[dict]:
    rows = []
    design52 = ProgramDesign(duration_weeks=52)

    big = generate_cohort(CohortSpec(n_mentors=100_000, n_mentees=100_000, seed=1))
    pairs = _random_pairs(big, 1)
    simulate(big, pairs.iloc[:100], ProgramDesign(duration_weeks=2))  # warm caches
    # Best of 3: the first full-size call also pays the page faults of ~1 GB of fresh
    # memory (about 0.5 s more); the note reports the first call too.
    first = time.perf_counter()
    simulate(big, pairs, design52, seed=1)
    first = time.perf_counter() - first
    seconds, _ = best_of(
        lambda big=big, pairs=pairs: simulate(big, pairs, design52, seed=1), repeat=3
    )
    peak = peak_rss_mb()
    draws = _drawing_seconds(lambda big=big, pairs=pairs: simulate(big, pairs, design52, seed=1))
    rows.append(
        {
            "benchmark": "simulate 100,000 pairs x 52 weeks, all tables",
            "seconds": round(seconds, 3),
            "target": "<= 0.7 s, <= 2 GB",
            "peak_mb": round(peak),
            "ratio": round(seconds / draws, 1),
            "ok": seconds <= 0.7 and peak <= 2048,
            "note": f"best of 3 after a first full-size call of {first:.2f} s; ratio = this "
            f"time / the {draws:.3f} s the same run spends drawing its random "
            "numbers (the engine's own draws, timed inside one run)",
        }
    )
    del big, pairs

    small = generate_cohort(CohortSpec(n_mentors=200, n_mentees=200, seed=2))
    arm = {"default": Arm(_fixed(_random_pairs(small, 2)), ProgramDesign())}
    seconds, _ = best_of(
        lambda: run_experiment(small, arm, replicates=1000, seed=3, progress=False), repeat=2
    )
    rows.append(
        {
            "benchmark": "run_experiment 1,000 reps x 200 pairs x 26 weeks",
            "seconds": round(seconds, 3),
            "target": "<= 10 s",
            "ok": seconds <= 10,
            "note": "one fixed roster and matching; dynamics per replicate",
        }
    )

    try:
        rows.extend(_versus_mesa())
    except Exception as exc:  # keep the engine's rows when the Mesa twin is out of date
        rows.append(
            {
                "benchmark": "numpy vs Mesa 3, 1,000 pairs x 52 weeks",
                "seconds": float("nan"),
                "target": ">= 50x, means within 3 MCSE",
                "ok": False,
                "note": f"Mesa model failed: {type(exc).__name__}: {exc}",
            }
        )
    return rows


def _agreement(ours: pd.DataFrame, theirs: pd.DataFrame) -> tuple[bool, str]:
    """Mean outcomes of the two engines agree within 3 Monte Carlo standard errors."""
    notes, agree = [], True
    for col in OUTCOMES:
        a, c = ours[col].to_numpy(float), theirs[col].to_numpy(float)
        mcse = np.sqrt(a.var(ddof=1) / len(a) + c.var(ddof=1) / len(c))
        z = (a.mean() - c.mean()) / mcse
        agree &= abs(z) < 3
        notes.append(
            f"{col}: numpy {a.mean():.4f} vs mesa {c.mean():.4f} (MCSE of diff "
            f"{mcse:.4f}, z {z:+.2f})"
        )
    return agree, "; ".join(notes)


def _versus_mesa_at(n_pairs: int, runs: int, *, stacked: bool) -> dict:
    """Both engines on the same pairs; ``runs`` independent runs (Mesa one after another;
    ours one after another, or stacked as replicates of one vectorized experiment)."""
    from benchmarks.mesa_model import PairModel

    cohort = generate_cohort(CohortSpec(n_mentors=n_pairs, n_mentees=n_pairs, seed=4))
    pairs = _random_pairs(cohort, 4)
    # Endings' effect on what was learned is not in the Mesa mirror: neutral here.
    design = ProgramDesign(duration_weeks=52)
    b = BehaviorModel(ending_gain_retention=1.0, ending_setback=0.0)
    feats = _features(cohort)
    e = np.arange(n_pairs)
    m = feats.mentor_index.get_indexer(pairs["mentor_id"].to_numpy(dtype=object))
    pf = feats.pair(e, m)
    pf.update(mentee_start=feats.mentee_start[e], mentor_start=feats.mentor_start[m])
    simulate(cohort, pairs.iloc[:10], ProgramDesign(duration_weeks=2))  # warm caches

    start = time.perf_counter()
    if stacked:
        out = run_experiment(
            cohort,
            {"default": Arm(_fixed(pairs), design)},
            replicates=runs,
            seed=10,
            behavior=b,
            progress=False,
            tables=("outcomes",),
        ).outcomes
        ours = [out]
    else:
        ours = [simulate(cohort, pairs, design, b, seed=10 + r).outcomes for r in range(runs)]
    seconds_ours = time.perf_counter() - start
    start = time.perf_counter()
    theirs = [pd.DataFrame(PairModel(pf, design, b, seed=10 + r).run()) for r in range(runs)]
    seconds_mesa = time.perf_counter() - start
    ours_all = pd.concat(ours)
    ours_all = ours_all.assign(completed=ours_all["completed"].astype(float))
    agree, notes = _agreement(ours_all, pd.concat(theirs))
    ratio = seconds_mesa / seconds_ours
    how = f"{runs} replicates stacked in one run_experiment" if stacked else f"{runs} runs each"
    return {
        "benchmark": f"numpy vs Mesa 3, {n_pairs:,} pairs x 52 weeks x {runs} runs "
        f"({'stacked' if stacked else 'one by one'})",
        "seconds": round(seconds_ours, 4),
        "anchor_seconds": round(seconds_mesa, 3),
        "ratio": round(ratio, 1),
        "target": ">= 50x, means within 3 MCSE",
        "ok": bool(ratio >= 50 and agree),
        "note": f"{notes}; {how}; total wall time",
    }


def _versus_mesa() -> list[dict]:
    # The size first; then where a vectorized engine's fixed cost is amortized.
    return [
        _versus_mesa_at(1_000, 5, stacked=False),
        _versus_mesa_at(10_000, 2, stacked=False),
        _versus_mesa_at(1_000, 20, stacked=True),
    ]
