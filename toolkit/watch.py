"""A calibrated watch list: which active pairs may end soon, and what a check-in now is worth.

From what a coordinator can see in the logs at a date (:func:`visible`: weeks since the
last meeting, meetings missed lately, share held, the last check-in rating, the pair's
week and planned cadence), :func:`watch_list` gives each active pair its probability of
ending within ``lead_weeks`` weeks, from the fitted model:

1. programs of the observed shape are simulated under the fitted models (one program per
   posterior model of the :class:`~toolkit.ensemble.Ensemble`, stacked in one engine
   pass), and the same features are read off the simulated logs at the pairs' weeks;
2. a logistic regression of "ends within lead_weeks" on the features is fitted to those
   simulated pairs (iteratively reweighted least squares with a small ridge, written by
   hand in numpy: a dozen lines, and it must run inside the 2-second budget for 500
   pairs without a fitting library's per-call overhead);
3. the same programs are simulated again with a coordinator check-in that coaches every
   active pair in that week (common random numbers: every week before it is identical),
   and a second regression gives the probability after a check-in now; the expected
   change is the difference. Its spread is the share of similar simulated pairs (same
   risk decile) whose ending the check-in prevented and the share whose ending it
   brought forward (each simulated pair is its own counterfactual).

Baselines, built on the same simulated pairs (each turned into a probability by its
bucket's closure rate there): platform health buckets (too early to tell / needs a
check-in / on track), a weighted activity score (deciles), and the 90-day inactivity
rule. :func:`score_risks` gives the Brier score (Brier 1950) and a reliability table of
each on held-out simulated programs (another seed).

What a check-in does (``coach_engagement``, ``coach_quality``, ``coach_contact``) is the
model's prior assumption, not fitted: the expected change inherits it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit import _seeding
from toolkit.ensemble import Ensemble
from toolkit.errors import InvalidParameterError
from toolkit.fitting import FIT_PARAMETERS, ProgramShape, simulate_programs
from toolkit.logs import ProgramLogs, ProgramTables

__all__ = ["BASELINES", "FEATURES", "WatchResult", "score_risks", "visible", "watch_list"]

FEATURES = (
    "weeks_since_meeting",
    "missed_last3",
    "held_share",
    "last_rating",
    "no_rating",
    "low_rating",
    "week",
    "cadence_gap",
)
#: Rule-based baselines: platform health buckets, a weighted activity score, 90 days.
BASELINES = ("buckets", "activity_score", "ninety_days")
_GAP = {"weekly": 1, "biweekly": 2, "every_3_weeks": 3, "monthly": 4}
_NINETY_DAYS = 13  # weeks
_TRAIN_PAIRS = 8_000  # simulated pairs that train (and, again, score) the risk model
_PROGRAM_PAIRS = 250  # pairs per simulated program (the observed pairs, repeated)
_WATCH_COHORTS = 2


def visible(tables: ProgramTables, week: np.ndarray | int) -> pd.DataFrame:
    """What a coordinator sees of each pair at the end of its own week ``week`` (one value,
    or one per row of ``tables.pairs``), for the pairs still active then.

    Columns: program, pair, the :data:`FEATURES`, and ``ends`` (closed_week, 0 if none
    seen) and ``observed_weeks`` to score outcomes with.
    """
    p = tables.pairs
    at = np.broadcast_to(np.asarray(week, np.int64), (len(p),))
    width = int(p["pair"].max()) + 1
    key_p = p["program"].to_numpy(np.int64) * width + p["pair"].to_numpy(np.int64)
    size = int(key_p.max()) + 1
    at_key = np.zeros(size, np.int64)
    at_key[key_p] = at
    m = tables.meetings
    mk = m["program"].to_numpy(np.int64) * width + m["pair"].to_numpy(np.int64)
    mw = m["week"].to_numpy(np.int64)
    seen = mw <= at_key[mk]
    mk, mw, held = mk[seen], mw[seen], m["held"].to_numpy(bool)[seen]
    sched = np.bincount(mk, minlength=size)
    n_held = np.bincount(mk, weights=held, minlength=size)
    last_met = np.zeros(size, np.int64)
    np.maximum.at(last_met, mk[held], mw[held])
    # the last three scheduled meetings: rank from the end within each pair
    order = np.lexsort((-mw, mk))
    k_sorted = mk[order]
    first = np.r_[True, k_sorted[1:] != k_sorted[:-1]] if len(k_sorted) else np.zeros(0, bool)
    start = np.maximum.accumulate(np.where(first, np.arange(len(k_sorted)), 0))
    rank = np.arange(len(k_sorted)) - start
    recent = rank < 3
    missed3 = np.bincount(k_sorted[recent], weights=~held[order][recent], minlength=size)
    c = tables.checkins
    ck = c["program"].to_numpy(np.int64) * width + c["pair"].to_numpy(np.int64)
    cw = c["week"].to_numpy(np.int64)
    ok = cw <= at_key[ck]
    ck, cw, cr = ck[ok], cw[ok], c["rating"].to_numpy(float)[ok]
    last_w = np.zeros(size, np.int64)
    np.maximum.at(last_w, ck, cw)
    last_r = np.full(size, np.nan)
    is_last = cw == last_w[ck]
    last_r[ck[is_last]] = cr[is_last]
    closed = p["closed_week"].to_numpy(np.int64)
    active = ((closed == 0) | (closed > at)) & (p["observed_weeks"].to_numpy() >= at)
    kp = key_p
    rating = last_r[kp]
    out = pd.DataFrame(
        {
            "program": p["program"].to_numpy(),
            "pair": p["pair"].to_numpy(),
            "weeks_since_meeting": np.minimum(at - last_met[kp], 26).astype(float),
            "missed_last3": missed3[kp],
            "held_share": (n_held[kp] + 0.5) / (sched[kp] + 1.0),
            "last_rating": np.where(np.isnan(rating), 3.0, rating),
            "no_rating": np.isnan(rating).astype(float),
            "low_rating": (rating <= 2).astype(float),
            "week": at.astype(float),
            "cadence_gap": p["cadence"].map(_GAP).to_numpy(float),
            "ends": closed,
            "observed_weeks": p["observed_weeks"].to_numpy(),
        }
    )
    return out[active].reset_index(drop=True)


def _outcome(frame: pd.DataFrame, lead: int) -> np.ndarray:
    w = frame["week"].to_numpy(np.int64)
    e = frame["ends"].to_numpy(np.int64)
    return ((e > w) & (e <= w + lead)).astype(float)


def _design(frame: pd.DataFrame) -> np.ndarray:
    x = frame[list(FEATURES)].to_numpy(float)
    ws = np.minimum(frame["weeks_since_meeting"].to_numpy(float), 12.0)
    return np.column_stack([np.ones(len(x)), x, ws**2 / 12.0])


def _logistic(x: np.ndarray, y: np.ndarray, ridge: float = 1e-3, steps: int = 25) -> np.ndarray:
    """Logistic regression coefficients by iteratively reweighted least squares."""
    mu, sd = x.mean(0), x.std(0)
    sd[0], mu[0] = 1.0, 0.0
    sd = np.where(sd > 0, sd, 1.0)
    z = (x - mu) / sd
    beta = np.zeros(x.shape[1])
    pen = ridge * len(y) * np.eye(x.shape[1])
    pen[0, 0] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(z @ beta)))
        w = np.maximum(p * (1 - p), 1e-9)
        step = np.linalg.solve(z.T @ (z * w[:, None]) + pen, z.T @ (y - p) - pen @ beta)
        beta += step
        if np.abs(step).max() < 1e-8:
            break
    # back to the raw scale
    raw = beta / sd
    raw[0] = beta[0] - (beta[1:] * mu[1:] / sd[1:]).sum()
    return raw


def _predict(beta: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(x @ beta)))


def _bucket(frame: pd.DataFrame) -> np.ndarray:
    """Platform health buckets: 0 too early to tell (first 3 weeks), 1 needs a check-in
    (4+ weeks without a meeting, or a last rating of 2 or less), 2 on track."""
    early = frame["week"].to_numpy() < 4
    needs = (frame["weeks_since_meeting"].to_numpy() >= 4) | (frame["low_rating"].to_numpy() > 0)
    return np.where(early, 0, np.where(needs, 1, 2))


def _activity(frame: pd.DataFrame) -> np.ndarray:
    """A weighted engagement score in [0, 1] as platforms compute them: 50% share of
    meetings held, 30% of the last three held, 20% the last rating (weights by hand)."""
    return (
        0.5 * frame["held_share"].to_numpy()
        + 0.3 * (1 - frame["missed_last3"] / 3)
        + 0.2 * (frame["last_rating"].to_numpy() - 1) / 4
    )


def _rule_groups(frame: pd.DataFrame, edges: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "buckets": _bucket(frame),
        "activity_score": np.clip(
            np.searchsorted(edges, _activity(frame), side="right") - 1, 0, len(edges) - 2
        ),
        "ninety_days": (frame["weeks_since_meeting"].to_numpy() >= _NINETY_DAYS).astype(int),
    }


@dataclass(frozen=True)
class _Risk:
    beta: np.ndarray
    beta_cf: np.ndarray
    rule_rates: dict[str, np.ndarray]
    activity_edges: np.ndarray
    decile_edges: np.ndarray
    prevented: np.ndarray
    caused: np.ndarray

    def predict(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        x = _design(frame)
        out = {"model": _predict(self.beta, x), "after_checkin": _predict(self.beta_cf, x)}
        for name, g in _rule_groups(frame, self.activity_edges).items():
            out[name] = self.rule_rates[name][g]
        return out


def _simulate(
    shape: ProgramShape, own: np.ndarray, models: pd.DataFrame, lead: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features and outcomes of simulated pairs, as (baseline, after a check-in now).

    Each simulated program holds the observed pairs ``repeat`` times over (so that a few
    large programs, not many small ones, carry the simulated pairs); a simulated pair
    stands for an observed pair and is read at that pair's week ``own[i]``. The pairs
    sharing a week run together, once as the program runs and once with a coaching
    check-in in that week (the same random numbers), so the cost is two runs of the
    program whatever the number of distinct weeks.
    """
    from toolkit.behavior import BehaviorModel
    from toolkit.fitting import program_cohorts

    repeat = max(1, -(-_PROGRAM_PAIRS // shape.n_pairs))
    cadence = np.tile(np.asarray(shape.cadence, dtype=object), repeat)
    weeks = np.tile(own, repeat)
    horizon = int(own.max()) + lead
    cohorts = program_cohorts(
        ProgramShape(tuple(cadence), (horizon,) * len(cadence)), seed, count=_WATCH_COHORTS
    )
    base_model = BehaviorModel()
    behaviors = [base_model.replace(**row) for row in models.to_dict("records")]
    frames, cf = [], []
    for w in np.unique(weeks):  # a handful of distinct weeks (pairs' staggered starts)
        idx = np.flatnonzero(weeks == w)
        sub = ProgramShape(
            tuple(cadence[idx]), (horizon,) * len(idx), shape.checkins, shape.minutes
        )
        run: dict[str, Any] = {
            "seed": seed,
            "first": int(w) * 1_000_000,
            "cohorts": cohorts,
            "behaviors": behaviors,
        }
        base = simulate_programs(sub, models, **run)
        coached = simulate_programs(sub, models, coach_weeks=(int(w),), **run)
        f = visible(base, int(w))
        g = f.copy()
        closed = coached.pairs.set_index(["program", "pair"])["closed_week"]
        g["ends"] = closed.reindex(pd.MultiIndex.from_frame(g[["program", "pair"]])).to_numpy()
        frames.append(f)
        cf.append(g)
    return pd.concat(frames, ignore_index=True), pd.concat(cf, ignore_index=True)


def _train(base: pd.DataFrame, cf: pd.DataFrame, lead: int) -> _Risk:
    y, y_cf = _outcome(base, lead), _outcome(cf, lead)
    x = _design(base)
    beta, beta_cf = _logistic(x, y), _logistic(x, y_cf)
    act = _activity(base)
    edges = np.unique(np.quantile(act, np.linspace(0, 1, 11)))
    edges[0], edges[-1] = -np.inf, np.inf
    rates = {}
    sizes = {"buckets": 3, "activity_score": len(edges) - 1, "ninety_days": 2}
    for name, g in _rule_groups(base, edges).items():
        n = np.bincount(g, minlength=sizes[name])
        rates[name] = (np.bincount(g, weights=y, minlength=len(n)) + 0.5) / (n + 1.0)
    p = _predict(beta, x)
    dec_edges = np.unique(np.quantile(p, np.linspace(0, 1, 11)))
    dec_edges[0], dec_edges[-1] = -np.inf, np.inf
    d = np.clip(np.searchsorted(dec_edges, p, side="right") - 1, 0, len(dec_edges) - 2)
    n = np.bincount(d, minlength=len(dec_edges) - 1).astype(float)
    prevented = np.bincount(d, weights=(y > y_cf), minlength=len(n)) / np.maximum(n, 1)
    caused = np.bincount(d, weights=(y < y_cf), minlength=len(n)) / np.maximum(n, 1)
    return _Risk(beta, beta_cf, rates, edges, dec_edges, prevented, caused)


def score_risks(
    risk: _Risk, frame: pd.DataFrame, lead: int, *, bins: int = 10
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Brier score of the model and each baseline on ``frame`` (held-out simulated pairs),
    and a reliability table (predicted probability bins: mean predicted, observed rate,
    pairs)."""
    y = _outcome(frame, lead)
    preds = risk.predict(frame)
    rows, rel = [], []
    for name in ("model", *BASELINES):
        p = preds[name]
        rows.append(
            {
                "score": name,
                "brier": float(np.mean((p - y) ** 2)),
                "pairs": len(y),
                "base_rate": float(y.mean()),
            }
        )
        b = np.minimum((p * bins).astype(int), bins - 1)
        n = np.bincount(b, minlength=bins)
        keep = n > 0
        rel.append(
            pd.DataFrame(
                {
                    "score": name,
                    "bin": np.arange(bins)[keep],
                    "predicted": (np.bincount(b, weights=p, minlength=bins) / np.maximum(n, 1))[
                        keep
                    ],
                    "observed": (np.bincount(b, weights=y, minlength=bins) / np.maximum(n, 1))[
                        keep
                    ],
                    "pairs": n[keep],
                }
            )
        )
    return pd.DataFrame(rows), pd.concat(rel, ignore_index=True)


@dataclass(frozen=True)
class WatchResult:
    """The watch list (one row per active pair, riskiest first), the Brier scores and
    reliability table on held-out simulated programs, and the settings."""

    table: pd.DataFrame
    scores: pd.DataFrame
    reliability: pd.DataFrame
    week: int
    lead_weeks: int


def _why(f: pd.DataFrame) -> list[str]:
    parts = []
    for r in f.itertuples(index=False):
        bits = []
        if r.missed_last3 > 0:
            bits.append(f"{int(r.missed_last3)} of the last 3 meetings missed")
        if r.weeks_since_meeting >= 3:
            bits.append(f"{int(r.weeks_since_meeting)} weeks since a meeting")
        if r.no_rating:
            bits.append("no check-in rating yet")
        elif r.last_rating <= 2:
            bits.append(f"last rating {r.last_rating:g}")
        parts.append("; ".join(bits) if bits else "meeting as planned")
    return parts


def _models_frame(models: Ensemble | pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    frame = models.models if isinstance(models, Ensemble) else pd.DataFrame(models)
    cols = [c for c in frame.columns if c in FIT_PARAMETERS]
    if not cols or len(frame) == 0:
        raise InvalidParameterError(
            "The models for watch_list must be a non-empty ensemble "
            "of the fitted parameters (models.parquet from rmt fit)."
        )
    gen = _seeding.rng(seed, "watch", "models")
    pick = gen.choice(len(frame), size=n, replace=len(frame) < n)
    return frame[cols].iloc[pick].reset_index(drop=True)


def watch_list(
    logs: ProgramLogs,
    models: Ensemble | pd.DataFrame,
    *,
    week: int,
    lead_weeks: int = 8,
    programs: int | None = None,
    seed: int = 0,
) -> WatchResult:
    """The active pairs at the end of program week ``week`` (counted from the first
    pair's start), ranked by their probability of ending within ``lead_weeks`` weeks.

    ``programs`` simulated programs (one per model drawn from ``models``, each holding
    the observed pairs repeated to about 250 pairs; by default enough for about 8,000
    simulated pairs) train the risk model; as many again, on another seed, score it
    against the baselines.
    """
    first = min(logs.pairs["start"])
    as_of = first + dt.timedelta(days=7 * int(week) - 1)
    if week < 1 or as_of > logs.as_of:
        raise InvalidParameterError(
            f"The week for watch_list must be between 1 and {(logs.as_of - first).days // 7 + 1} "
            f"(the logs run to {logs.as_of}); got {week}."
        )
    tables = logs.tables(as_of=as_of)
    own = (
        (
            pd.to_datetime(pd.Series([as_of] * len(tables.pairs)))
            - pd.to_datetime(
                logs.pairs.loc[logs.pairs["start"] <= as_of, "start"].reset_index(drop=True)
            )
        ).dt.days
        // 7
        + 1
    ).to_numpy()
    seen = visible(tables, own)
    shape = ProgramShape(
        tuple(tables.pairs["cadence"]),
        tuple(int(w) for w in own),
        bool(len(logs.checkins)),
        round(float(logs.minutes), 1),
    )
    if not len(seen):
        raise InvalidParameterError(f"No pair is active at the end of week {week}.")
    per_program = shape.n_pairs * max(1, -(-_PROGRAM_PAIRS // shape.n_pairs))
    n_prog = programs or max(4, -(-_TRAIN_PAIRS // per_program))
    train = _models_frame(models, n_prog, seed)
    base, cf = _simulate(shape, own, train, lead_weeks, seed=_seeding.int_seed(seed, "watch"))
    risk = _train(base, cf, lead_weeks)
    test = _models_frame(models, n_prog, seed + 1)
    held, _ = _simulate(
        shape, own, test, lead_weeks, seed=_seeding.int_seed(seed, "watch", "held_out")
    )
    scores, reliability = score_risks(risk, held, lead_weeks)
    pred = risk.predict(seen)
    d = np.clip(
        np.searchsorted(risk.decile_edges, pred["model"], side="right") - 1,
        0,
        len(risk.prevented) - 1,
    )
    labels = np.array(["too early to tell", "needs a check-in", "on track"])
    ids = np.asarray(logs.pair_ids, dtype=object)[seen["pair"].to_numpy()]
    table = pd.DataFrame(
        {
            "pair": ids,
            "pair_week": seen["week"].astype(int),
            "probability": pred["model"],
            "why": _why(seen),
            "expected_change": pred["after_checkin"] - pred["model"],
            "checkin_prevents": risk.prevented[d],
            "checkin_brings_forward": risk.caused[d],
            "bucket": labels[_bucket(seen)],
            "ninety_days": seen["weeks_since_meeting"].to_numpy() >= _NINETY_DAYS,
            "weeks_since_meeting": seen["weeks_since_meeting"].astype(int),
            "missed_last3": seen["missed_last3"].astype(int),
            "last_rating": np.where(seen["no_rating"] > 0, np.nan, seen["last_rating"]),
        }
    )
    table = table.sort_values("probability", ascending=False, kind="stable").reset_index(drop=True)
    return WatchResult(table, scores, reliability, int(week), int(lead_weeks))
