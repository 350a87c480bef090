"""A calibrated watch list: which active pairs may end soon, and what a check-in now is worth.

From what a coordinator can see in the logs at a date (:func:`visible`: weeks since the
last meeting, meetings missed lately and the current run of misses, share held, the last
and lowest check-in rating, the pair's week and planned cadence), :func:`watch_list` gives
each active pair its probability of ending within ``lead_weeks`` weeks, from the fitted
model. The risk model is trained once per program and models (:func:`train_risk`; cached
by fingerprint, and saved by ``rmt fit`` as ``risk.json``), so a watch list is only a
reading of the logs and a prediction:

1. programs of the observed shape are simulated under the fitted models (one program per
   model drawn from the :class:`~toolkit.ensemble.Ensemble`, stacked in one engine
   pass), and the features are read off the simulated logs at every week of every pair
   (person-period data, a discrete-time hazard over the next ``lead_weeks``);
2. a logistic regression of "ends within lead_weeks" on the features is fitted to those
   pair-weeks (iteratively reweighted least squares with a small ridge, in numpy);
3. at a few weeks the same programs are simulated again with a coordinator check-in that
   coaches every active pair in that week (common random numbers: every week before it
   is identical); two regressions on those pair-weeks give the probability without and
   with a check-in now, and the expected change is their difference. Its spread is the
   share of similar simulated pairs (same risk decile) whose ending the check-in
   prevented and the share whose ending it brought forward.

Baselines, built on the same simulated pairs (each turned into a probability by its
bucket's closure rate there): platform health buckets (too early to tell / needs a
check-in / on track), a weighted activity score (deciles), and the 90-day inactivity
rule. :func:`score_risks` gives the Brier score (Brier 1950) and a reliability table of
each on held-out simulated programs (other model draws, another seed, every pair-week).

What a check-in does (``coach_engagement``, ``coach_quality``, ``coach_contact``) is the
model's prior assumption, not fitted: the expected change inherits it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit import _seeding
from toolkit._io import write_text
from toolkit._version import __version__
from toolkit.behavior import BehaviorModel
from toolkit.ensemble import Ensemble
from toolkit.errors import InvalidParameterError
from toolkit.fitting import FIT_PARAMETERS, ProgramShape, simulate_programs
from toolkit.logs import ProgramLogs, ProgramTables

__all__ = [
    "BASELINES",
    "FEATURES",
    "RiskModel",
    "WatchResult",
    "load_risk",
    "risk_fingerprint",
    "score_risks",
    "train_risk",
    "visible",
    "watch_list",
]

FEATURES = (
    "weeks_since_meeting",
    "missed_last3",
    "missed_run",
    "held_share",
    "last_rating",
    "lowest_rating",
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
_CHECKIN_WEEKS = 6  # weeks at which the check-in counterfactual is simulated
_RISK_FORMAT = 2


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
    # the current run of missed meetings: those scheduled after the last one held
    run = np.bincount(mk, weights=(mw > last_met[mk]) & ~held, minlength=size)
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
    low_r = np.full(size, np.inf)
    np.minimum.at(low_r, ck, cr)
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
            "missed_run": run[kp],
            "held_share": (n_held[kp] + 0.5) / (sched[kp] + 1.0),
            "last_rating": np.where(np.isnan(rating), 3.0, rating),
            "lowest_rating": np.where(np.isfinite(low_r[kp]), low_r[kp], 3.0),
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
    """The regressors: the features, and the shapes the model's hazards take in them
    (missed contact weighs only beyond a grace of a few weeks; the gap in units of the
    planned cadence; early weeks)."""
    x = frame[list(FEATURES)].to_numpy(float)
    ws = frame["weeks_since_meeting"].to_numpy(float)
    beyond = np.minimum(np.maximum(ws - 4.0, 0.0), 16.0)
    gap = frame["cadence_gap"].to_numpy(float)
    week = frame["week"].to_numpy(float)
    return np.column_stack(
        [np.ones(len(x)), x, beyond, beyond**2 / 16.0, ws / gap, np.log(week), 1.0 / week]
    )


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
class RiskModel:
    """The trained risk model of a program: coefficients of the probability of ending
    within ``lead_weeks`` (all pair-weeks) and of the same before and after a check-in
    now (the check-in weeks' pairs), the baselines' rates, the check-in's spread by risk
    decile, the held-out scores, and the fingerprint of what it was trained on."""

    beta: np.ndarray
    beta_now: np.ndarray
    beta_cf: np.ndarray
    rule_rates: dict[str, np.ndarray]
    activity_edges: np.ndarray
    decile_edges: np.ndarray
    prevented: np.ndarray
    caused: np.ndarray
    lead_weeks: int
    fingerprint: str = ""
    scores: pd.DataFrame | None = None
    reliability: pd.DataFrame | None = None

    def predict(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        x = _design(frame)
        out = {
            "model": _predict(self.beta, x),
            "before_checkin": _predict(self.beta_now, x),
            "after_checkin": _predict(self.beta_cf, x),
        }
        for name, g in _rule_groups(frame, self.activity_edges).items():
            out[name] = self.rule_rates[name][g]
        return out

    def to_json(self) -> str:
        arrays = {
            k: np.asarray(getattr(self, k)).tolist()
            for k in ("beta", "beta_now", "beta_cf", "decile_edges", "prevented", "caused")
        }
        arrays["activity_edges"] = [
            None if not np.isfinite(v) else float(v) for v in self.activity_edges
        ]
        arrays["decile_edges"] = [
            None if not np.isfinite(v) else float(v) for v in self.decile_edges
        ]
        return json.dumps(
            {
                "format": _RISK_FORMAT,
                "fingerprint": self.fingerprint,
                "lead_weeks": self.lead_weeks,
                "features": list(FEATURES),
                "rule_rates": {k: v.tolist() for k, v in self.rule_rates.items()},
                "scores": None if self.scores is None else self.scores.to_dict("list"),
                "reliability": (
                    None if self.reliability is None else self.reliability.to_dict("list")
                ),
                **arrays,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> RiskModel:
        d = json.loads(text)
        if d.get("format") != _RISK_FORMAT or d.get("features") != list(FEATURES):
            raise InvalidParameterError(
                "The saved risk model was written by another version of the watch list; "
                "delete it (it is retrained on the next rmt watch)."
            )

        def edges(v: list) -> np.ndarray:
            a = np.array([np.nan if x is None else x for x in v], float)
            a[0], a[-1] = -np.inf, np.inf
            return a

        return cls(
            beta=np.asarray(d["beta"], float),
            beta_now=np.asarray(d["beta_now"], float),
            beta_cf=np.asarray(d["beta_cf"], float),
            rule_rates={k: np.asarray(v, float) for k, v in d["rule_rates"].items()},
            activity_edges=edges(d["activity_edges"]),
            decile_edges=edges(d["decile_edges"]),
            prevented=np.asarray(d["prevented"], float),
            caused=np.asarray(d["caused"], float),
            lead_weeks=int(d["lead_weeks"]),
            fingerprint=str(d["fingerprint"]),
            scores=None if d["scores"] is None else pd.DataFrame(d["scores"]),
            reliability=None if d["reliability"] is None else pd.DataFrame(d["reliability"]),
        )


def _checkin_weeks(last: int) -> tuple[int, ...]:
    """The weeks at which the check-in counterfactual is simulated (one run each)."""
    return tuple(int(w) for w in np.unique(np.linspace(2, max(last, 2), _CHECKIN_WEEKS).round()))


def _simulate(
    shape: ProgramShape, models: pd.DataFrame, lead: int, seed: int, *, checkins: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Person-period data of simulated programs: what a coordinator sees of every active
    pair at the end of each of its weeks 1 .. ``shape.horizon`` (outcomes seen to
    ``horizon + lead``), and, when ``checkins``, the same pairs at a few check-in weeks
    with the outcome after a coaching check-in in that week (common random numbers).

    Each simulated program holds the observed pairs repeated to about 250 pairs, so a few
    large programs, not many small ones, carry the simulated pairs.
    """
    from toolkit.fitting import program_cohorts

    repeat = max(1, -(-_PROGRAM_PAIRS // shape.n_pairs))
    cadence = tuple(np.tile(np.asarray(shape.cadence, dtype=object), repeat))
    last = shape.horizon
    sim = ProgramShape(cadence, (last + lead,) * len(cadence), shape.checkins, shape.minutes)
    cohorts = program_cohorts(sim, seed, count=_WATCH_COHORTS)
    base_model = BehaviorModel()
    behaviors = [base_model.replace(**row) for row in models.to_dict("records")]
    run: dict[str, Any] = {"seed": seed, "cohorts": cohorts, "behaviors": behaviors}
    base = simulate_programs(sim, models, **run)
    rows = pd.concat([visible(base, w) for w in range(1, last + 1)], ignore_index=True)
    if not checkins:
        return rows, rows.iloc[:0]
    cf = []
    for w in _checkin_weeks(last):  # one run per check-in week, not per pair
        coached = simulate_programs(sim, models, coach_weeks=(w,), **run)
        g = visible(base, w)
        closed = coached.pairs.set_index(["program", "pair"])["closed_week"]
        g["ends_after"] = closed.reindex(
            pd.MultiIndex.from_frame(g[["program", "pair"]])
        ).to_numpy()
        cf.append(g)
    return rows, pd.concat(cf, ignore_index=True)


def _train(rows: pd.DataFrame, cf: pd.DataFrame, lead: int) -> RiskModel:
    y = _outcome(rows, lead)
    x = _design(rows)
    beta = _logistic(x, y)
    act = _activity(rows)
    edges = np.unique(np.quantile(act, np.linspace(0, 1, 11)))
    edges[0], edges[-1] = -np.inf, np.inf
    rates = {}
    sizes = {"buckets": 3, "activity_score": len(edges) - 1, "ninety_days": 2}
    for name, g in _rule_groups(rows, edges).items():
        n = np.bincount(g, minlength=sizes[name])
        rates[name] = (np.bincount(g, weights=y, minlength=len(n)) + 0.5) / (n + 1.0)
    # the check-in: both regressions on the same pair-weeks, so their difference is the
    # check-in's effect and not a difference of samples
    y_now = _outcome(cf, lead)
    y_cf = _outcome(cf.assign(ends=cf["ends_after"]), lead)
    x_cf = _design(cf)
    beta_now, beta_cf = _logistic(x_cf, y_now), _logistic(x_cf, y_cf)
    p = _predict(beta, x_cf)
    dec_edges = np.unique(np.quantile(p, np.linspace(0, 1, 11)))
    dec_edges[0], dec_edges[-1] = -np.inf, np.inf
    d = np.clip(np.searchsorted(dec_edges, p, side="right") - 1, 0, len(dec_edges) - 2)
    n = np.bincount(d, minlength=len(dec_edges) - 1).astype(float)
    prevented = np.bincount(d, weights=(y_now > y_cf), minlength=len(n)) / np.maximum(n, 1)
    caused = np.bincount(d, weights=(y_now < y_cf), minlength=len(n)) / np.maximum(n, 1)
    return RiskModel(beta, beta_now, beta_cf, rates, edges, dec_edges, prevented, caused, int(lead))


def risk_fingerprint(shape: ProgramShape, models: pd.DataFrame, lead: int, seed: int) -> str:
    """What a trained risk model depends on: the toolkit version, the default model, the
    program's shape (cadences, weeks, check-ins, meeting length), the models, the lead
    and the seed."""
    frame = models[[c for c in models.columns if c in FIT_PARAMETERS]]
    blob = json.dumps(
        {
            "toolkit": __version__,
            "format": _RISK_FORMAT,
            "shape": shape.to_dict(),
            "models": hashlib.sha256(
                pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
                + ",".join(frame.columns).encode()
            ).hexdigest(),
            "lead": int(lead),
            "seed": int(seed),
            "parameters": BehaviorModel().to_dict(),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _risk_cache() -> Path:
    return Path(os.environ.get("RMT_CACHE_DIR", Path.home() / ".cache" / "rmt")) / "watch"


def train_risk(
    shape: ProgramShape,
    models: Ensemble | pd.DataFrame,
    *,
    lead_weeks: int = 8,
    programs: int | None = None,
    seed: int = 0,
    cache: bool = True,
) -> RiskModel:
    """Train the risk model of a program once (for every week of it): ``programs``
    simulated programs of ``shape`` (one per model drawn from ``models``; by default
    enough for about 8,000 simulated pairs) give person-period data for the logistic
    regressions; as many again, from other draws and another seed, score it against the
    baselines (:func:`score_risks`, pooled over the program's weeks).

    The result is cached in ``$RMT_CACHE_DIR/watch/<fingerprint>.json``; ``rmt fit``
    also saves it beside ``models.parquet`` as ``risk.json``.
    """
    frame = models.models if isinstance(models, Ensemble) else pd.DataFrame(models)
    per_program = shape.n_pairs * max(1, -(-_PROGRAM_PAIRS // shape.n_pairs))
    n_prog = programs or max(4, -(-_TRAIN_PAIRS // per_program))
    train = _models_frame(frame, n_prog, seed)
    fp = risk_fingerprint(shape, train, lead_weeks, seed)
    path = _risk_cache() / f"{fp}.json"
    if cache and path.is_file():
        return RiskModel.from_json(path.read_text())
    rows, cf = _simulate(shape, train, lead_weeks, _seeding.int_seed(seed, "watch"), checkins=True)
    risk = _train(rows, cf, lead_weeks)
    test = _models_frame(frame, n_prog, seed + 1)
    held, _ = _simulate(
        shape, test, lead_weeks, _seeding.int_seed(seed, "watch", "held_out"), checkins=False
    )
    scores, reliability = score_risks(risk, held, lead_weeks)
    risk = replace(risk, fingerprint=fp, scores=scores, reliability=reliability)
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(risk.to_json(), path, formats=(".json",))
    return risk


def load_risk(path: str | os.PathLike) -> RiskModel:
    """A risk model saved by ``rmt fit`` (``risk.json``)."""
    return RiskModel.from_json(Path(path).read_text())


def score_risks(
    risk: RiskModel, frame: pd.DataFrame, lead: int, *, bins: int = 10
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
    risk: RiskModel | None = None,
    cache: bool = True,
) -> WatchResult:
    """The active pairs at the end of program week ``week`` (counted from the first
    pair's start), ranked by their probability of ending within ``lead_weeks`` weeks.

    The risk model is trained once per program and models (:func:`train_risk`, cached
    by its fingerprint) and serves every week; ``risk`` passes one already trained (for
    example ``risk.json`` beside ``models.parquet``), used when its fingerprint matches.
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
    if not len(seen):
        raise InvalidParameterError(f"No pair is active at the end of week {week}.")
    shape = ProgramShape.from_logs(logs)
    frame = models.models if isinstance(models, Ensemble) else pd.DataFrame(models)
    if risk is not None:
        per_program = shape.n_pairs * max(1, -(-_PROGRAM_PAIRS // shape.n_pairs))
        n_prog = programs or max(4, -(-_TRAIN_PAIRS // per_program))
        expected = risk_fingerprint(shape, _models_frame(frame, n_prog, seed), lead_weeks, seed)
        if risk.fingerprint != expected:
            risk = None  # trained on other logs, models, lead or version
    if risk is None:
        risk = train_risk(
            shape, frame, lead_weeks=lead_weeks, programs=programs, seed=seed, cache=cache
        )
    assert risk.scores is not None and risk.reliability is not None
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
            "expected_change": pred["after_checkin"] - pred["before_checkin"],
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
    return WatchResult(table, risk.scores, risk.reliability, int(week), int(lead_weeks))
