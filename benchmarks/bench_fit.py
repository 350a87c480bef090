"""Fitting a program's own logs and the watch list (issue 20's numbers).

- building the reference table for the example program (60 pairs x 26 weeks, 10,000 prior
  programs + :data:`toolkit.fitting.HELD_OUT` held out, progress bar shown): target
  <= 600 s;
- the table's own checks, once per table (the calibration check fitting every held-out
  program, chunked; :func:`checks_peak` gives the traced peak memory of that pass, chunked
  and in one batch);
- fitting the example once the table and its checks exist (misspecification, ABC,
  ensemble): target <= 5 s;
- the watch list for 500 active pairs with the risk model trained once per fit (as
  ``rmt fit`` saves it in risk.json): target <= 2 s; the training is reported beside it;
- the watch list's Brier score against the best rule (held-out simulated programs):
  target <= 0.9 x the best rule.

:func:`contraction` (not part of ``run``) measures each parameter's posterior contraction
and coverage at 20, 50 and 200 pairs x 26 weeks; :func:`cold_fit` times a fresh process
fitting the example to a cached table (wall and CPU seconds); :func:`oracle_brier` scores
the watch list, the rules and an oracle that knows each pair's latent engagement and
quality on held-out simulated programs (the best Brier ratio any watch list could reach).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time

import pandas as pd

from benchmarks._timing import peak_rss_mb


def _example(cache: str):
    os.environ["RMT_CACHE_DIR"] = cache
    from toolkit.fitting import EXAMPLE_SEED, EXAMPLE_SHAPE, EXAMPLE_TRUTH, synthetic_logs
    from toolkit.logs import read_logs, write_logs

    logs, as_of = synthetic_logs(EXAMPLE_SHAPE, EXAMPLE_TRUTH, seed=EXAMPLE_SEED)
    folder = tempfile.mkdtemp()
    write_logs(logs, os.path.join(folder, "logs"))
    return read_logs(
        os.path.join(folder, "logs"), as_of=dt.date.fromisoformat(as_of), today=dt.date(2100, 1, 1)
    )


def run(points: int = 10_000) -> list[dict]:
    from toolkit.fitting import (
        HELD_OUT,
        ProgramShape,
        fit_program,
        reference_table,
        synthetic_logs,
        table_checks,
    )
    from toolkit.logs import read_logs, write_logs
    from toolkit.summaries import summary_spec
    from toolkit.watch import watch_list

    cache = tempfile.mkdtemp()
    logs = _example(cache)
    rows = []
    shape, spec = ProgramShape.from_logs(logs), summary_spec(logs.tables())
    t = time.perf_counter()
    ref = reference_table(shape, spec, points=points, progress=True)
    build = time.perf_counter() - t
    rows.append(
        {
            "benchmark": f"fit: reference table {points} + {HELD_OUT} programs (progress bar)",
            "seconds": build,
            "target": 600,
            "ok": build <= 600,
            "peak_mb": peak_rss_mb(),
        }
    )
    t = time.perf_counter()
    table_checks(ref)
    checks = time.perf_counter() - t
    rows.append(
        {
            "benchmark": f"fit: the table's checks, once per table ({HELD_OUT} held-out "
            "programs fitted, chunked)",
            "seconds": checks,
            "target": float("nan"),
            "ok": True,
            "peak_mb": peak_rss_mb(),
        }
    )
    t = time.perf_counter()
    result = fit_program(logs, points=points, progress=False)
    again = time.perf_counter() - t
    rows.append(
        {
            "benchmark": "fit: a program once the table exists (same process)",
            "seconds": again,
            "target": 5,
            "ok": again <= 5,
        }
    )
    cold = cold_fit(cache, points=points)
    rows.append(
        {
            "benchmark": "fit: a program once the table exists (a fresh process: imports, "
            "logs, fit, report)",
            "seconds": cold["wall"],
            "target": 5,
            "ok": cold["wall"] <= 5,
            "note": f"cpu {cold['cpu']:.2f} s",
        }
    )

    # the watch list for 500 active pairs, from the example's fitted models
    big = ProgramShape(cadence=("biweekly",) * 340 + ("weekly",) * 160, observed_weeks=(26,) * 500)
    dated, as_of = synthetic_logs(big, seed=5)
    folder = tempfile.mkdtemp()
    write_logs(dated, os.path.join(folder, "logs"))
    many = read_logs(
        os.path.join(folder, "logs"), as_of=dt.date.fromisoformat(as_of), today=dt.date(2100, 1, 1)
    )
    from toolkit.watch import train_risk

    t = time.perf_counter()
    risk = train_risk(ProgramShape.from_logs(many), result.ensemble, cache=False)
    train = time.perf_counter() - t
    rows.append(
        {
            "benchmark": "watch: training the risk model for 500 pairs (once per fit, risk.json)",
            "seconds": train,
            "target": float("nan"),
            "ok": True,
        }
    )
    t = time.perf_counter()
    res = watch_list(many, result.ensemble, week=10, risk=risk, cache=False)
    whole = time.perf_counter() - t
    rows.append(
        {
            "benchmark": "watch: rmt watch for 500 pairs with the fit's risk model",
            "seconds": whole,
            "target": 2,
            "ok": whole <= 2,
            "note": f"{len(res.table)} active pairs",
        }
    )
    ex = watch_list(logs, result.ensemble, week=14, cache=False)
    s = ex.scores.set_index("score")["brier"]
    best = s.drop("model").min()
    rows.append(
        {
            "benchmark": "watch: Brier model / best rule (example, all pair-weeks, 8 weeks)",
            "seconds": float("nan"),
            "target": 0.9,
            "ok": s["model"] <= 0.9 * best,
            "note": f"model {s['model']:.5f}, best rule {best:.5f} "
            f"({s.drop('model').idxmin()}), ratio {s['model'] / best:.3f}",
        }
    )
    return rows


def cold_fit(cache: str, points: int = 10_000) -> dict:
    """A fresh Python process fits the example program to the cached reference table of
    ``points`` programs and writes the fit folder (what a cold ``rmt fit`` does before
    its risk model): wall and CPU seconds of the whole process, and of each part."""
    import json
    import subprocess
    import sys

    code = """
import json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
parts = {}
def mark(name, t=[t0, c0]):
    w, c = time.perf_counter(), time.process_time()
    parts[name] = [w - t[0], c - t[1]]
    t[0], t[1] = w, c
from toolkit.fitting import example_logs, fit_program, write_fit
from toolkit.logs import read_logs
mark("imports")
logs = read_logs(example_logs())
mark("read logs")
result = fit_program(logs, points=int(sys.argv[1]), progress=False)
mark("fit")
write_fit(result, sys.argv[2])
mark("write")
print(json.dumps(parts))
"""
    out = tempfile.mkdtemp()
    env = dict(os.environ, RMT_CACHE_DIR=cache)
    before = os.times()
    t = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, str(points), os.path.join(out, "fit")],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    wall = time.perf_counter() - t
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return {"wall": wall, "cpu": cpu, "parts": json.loads(done.stdout.strip().splitlines()[-1])}


def checks_peak(ref, chunked: bool = True) -> dict:
    """Seconds and traced peak memory (tracemalloc, MB above what was allocated before) of
    the calibration pass over ``ref``'s held-out programs: chunked as shipped, or in one
    batch (``chunked=False``, the pass before chunking)."""
    import tracemalloc

    from toolkit import fitting

    budget = fitting._ABC_CHUNK_BYTES
    if not chunked:
        fitting._ABC_CHUNK_BYTES = 2**62
    try:
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        t = time.perf_counter()
        fitting._calibration(ref, None)
        took = time.perf_counter() - t
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
        fitting._ABC_CHUNK_BYTES = budget
    return {"chunked": chunked, "seconds": took, "peak_mb": peak / 2**20}


def contraction(
    sizes: tuple[int, ...] = (20, 50, 200), points: int = 4000, seed: int = 0
) -> pd.DataFrame:
    """Mean posterior 90% width / prior width per parameter, and coverage, on the
    :data:`toolkit.fitting.HELD_OUT` held-out programs of a reference table of ``n`` pairs x 26 weeks (two thirds
    biweekly, one third weekly, monthly check-ins)."""
    from toolkit.fitting import ProgramShape, calibration_check, reference_table
    from toolkit.summaries import SummarySpec

    os.environ.setdefault("RMT_CACHE_DIR", tempfile.mkdtemp())
    out = []
    for n in sizes:
        weekly = n // 3
        shape = ProgramShape(
            cadence=("biweekly",) * (n - weekly) + ("weekly",) * weekly, observed_weeks=(26,) * n
        )
        spec = SummarySpec(26, ("weekly", "biweekly"), True)
        t = time.perf_counter()
        ref = reference_table(shape, spec, points=points, seed=seed, progress=False)
        took = time.perf_counter() - t
        out.append(calibration_check(ref).assign(pairs=n, points=points, build_seconds=took))
    return pd.concat(out, ignore_index=True)


def _person_period(tables, latent: pd.DataFrame, last: int) -> pd.DataFrame:
    """Every active pair-week 1..``last`` as the watch list sees it, with the pair's latent
    engagement and quality at the end of that week (what the logs do not show)."""
    from toolkit.watch import visible

    rows = pd.concat([visible(tables, w) for w in range(1, last + 1)], ignore_index=True)
    hidden = latent.rename(columns={"week": "at"})
    key = rows[["program", "pair"]].assign(at=rows["week"].astype(int))
    joined = key.merge(hidden, on=["program", "pair", "at"], how="left")
    return rows.assign(
        engagement=joined["engagement"].to_numpy(), quality=joined["quality"].to_numpy()
    )


def _oracle_design(frame: pd.DataFrame):
    """The watch list's regressors and the latent state the model's closure hazard reads:
    engagement and quality, their shortfalls below 0.5 (the hazard's terms) and squares."""
    import numpy as np

    from toolkit.watch import _design

    e, q = frame["engagement"].to_numpy(float), frame["quality"].to_numpy(float)
    low_e, low_q = np.maximum(0.5 - e, 0.0), np.maximum(0.5 - q, 0.0)
    return np.column_stack([_design(frame), e, q, low_e, low_q, low_e**2, low_q**2, e * q])


def oracle_brier(
    programs: int = 32, lead: int = 8, seed: int = 0, models: str = "default"
) -> pd.DataFrame:
    """How good could any watch list be? Brier scores on held-out simulated programs of the
    example's shape (pairs repeated to about 250 a program, as the watch list trains) of:
    the watch list's risk model (features the logs hold), the three rules (bucket rates
    learnt on the same training pair-weeks), the base rate, and an **oracle**: the same
    logistic regression given each pair's latent engagement and quality at that week as
    well. ``models``: ``"default"`` (every program at the example's true parameters) or
    ``"prior"`` (each program a prior draw of the fitted parameters). Training and
    held-out programs use other seeds and draws."""
    import numpy as np

    from toolkit import watch as w
    from toolkit.fitting import (
        EXAMPLE_SHAPE,
        EXAMPLE_TRUTH,
        ProgramShape,
        fit_prior,
        program_cohorts,
        simulate_latent,
    )
    from toolkit.history_matching import prior_sample

    shape = EXAMPLE_SHAPE
    repeat = max(1, -(-250 // shape.n_pairs))
    cadence = tuple(np.tile(np.asarray(shape.cadence, dtype=object), repeat))
    last = shape.horizon
    sim = ProgramShape(cadence, (last + lead,) * len(cadence), shape.checkins, shape.minutes)
    sets = {}
    for part, s in (("train", seed), ("held_out", seed + 1)):
        if models == "default":
            points = pd.DataFrame([EXAMPLE_TRUTH] * programs)
        else:
            points = prior_sample(fit_prior(), programs, s, stream=("oracle", part))
        cohorts = program_cohorts(sim, s + 100, count=2)
        tables, latent = simulate_latent(sim, points, seed=s + 200, cohorts=cohorts)
        sets[part] = _person_period(tables, latent, last)
    train, test = sets["train"], sets["held_out"]
    risk = w._train(train, train.assign(ends_after=train["ends"]), lead)
    scores, _ = w.score_risks(risk, test, lead)
    y_train, y_test = w._outcome(train, lead), w._outcome(test, lead)
    beta = w._logistic(_oracle_design(train), y_train)
    p = w._predict(beta, _oracle_design(test))
    oracle = float(np.mean((p - y_test) ** 2))
    base = float(np.mean((y_train.mean() - y_test) ** 2))
    out = pd.concat(
        [
            scores[["score", "brier"]],
            pd.DataFrame({"score": ["oracle_latent", "base_rate"], "brier": [oracle, base]}),
        ],
        ignore_index=True,
    )
    best_rule = scores.loc[scores["score"] != "model", "brier"].min()
    return out.assign(
        ratio_to_best_rule=out["brier"] / best_rule,
        pair_weeks=len(test),
        base_rate=float(y_test.mean()),
        models=models,
    )
