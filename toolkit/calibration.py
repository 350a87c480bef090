"""The model against the literature: every target of the calibration table, simulated.

:func:`calibration_targets` reads the table shipped with the package
(``toolkit/data/calibration_targets.csv``: quantity, statistic, published range, population,
source, how to check). :func:`simulate_targets` measures every *statistical* target for
many behaviour models (parameter points) in one stacked pass; :func:`calibration_report`
is its one-point view with the published ranges. The preset definitions (Hartford, BBBS,
Mentorloop, Guider) are *checks* of the presets, not targets of the model: they are
reported with ``kind == "check"``.

Statistics are computed per (point, replicate) with vectorised group-bys over the stacked
tables; ``value`` is their mean over replicates and ``mc_var`` the Monte Carlo variance of
that mean (the variance across replicates over their number). Monte Carlo error is the
simulation's, never a confidence interval about programs.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources

import numpy as np
import pandas as pd

from toolkit._validation import check_int, fail
from toolkit.behavior import BehaviorModel
from toolkit.cohort import CohortSpec
from toolkit.experiment import Arm, ExperimentSpec, run_experiment
from toolkit.program import ProgramDesign, preset, program_schedule

__all__ = ["CHECKS", "SCREEN_LEAD_WEEKS", "calibration_report", "calibration_targets",
           "simulate_targets"]

_CADENCES = ("weekly", "every_3_weeks", "monthly")
CHECKS = ("cadence_hartford", "cadence_bbbs", "cadence_mentorloop", "inactivity_close")
# The rating-screen target: a planned monthly check-in's rating <= 2 on a one-year design
# whose flags change nothing, against closure within this many weeks of the check-in.
SCREEN_LEAD_WEEKS = 12
_SCREEN_RATING = 2.0
_OWNER = "simulate_targets"
# Points per stacked run: bounds memory (a chunk of 400 points at 100 mentees holds about
# 80,000 pair slots per arm).
_CHUNK = 400


def calibration_targets() -> pd.DataFrame:
    """The calibration table shipped with the package (a copy of calibration_targets.csv)."""
    with resources.files("toolkit").joinpath("data/calibration_targets.csv").open() as fh:
        return pd.read_csv(fh)


def _arms() -> dict[str, Arm]:
    arms = {"default": Arm("random", ProgramDesign())}
    arms.update({c: Arm("random", ProgramDesign(cadence=c)) for c in _CADENCES})
    arms["year"] = Arm("random", ProgramDesign(duration_weeks=52, checkins="monthly",
                                               flag_rating=_SCREEN_RATING, on_flag="none"))
    return arms


def _group_corr(keys: np.ndarray, x: np.ndarray, y: np.ndarray, n_groups: int) -> np.ndarray:
    """Pearson r of x and y within each group (keys 0..n_groups-1), from group sums."""
    ok = np.isfinite(x) & np.isfinite(y)
    k, x, y = keys[ok], x[ok], y[ok]
    def s(v):
        return np.bincount(k, weights=v, minlength=n_groups)
    n = s(np.ones_like(x))
    mx, my = s(x) / np.maximum(n, 1), s(y) / np.maximum(n, 1)
    cov = s(x * y) / np.maximum(n, 1) - mx * my
    vx = s(x * x) / np.maximum(n, 1) - mx ** 2
    vy = s(y * y) / np.maximum(n, 1) - my ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.sqrt(vx * vy)
    return np.where((vx > 1e-12) & (vy > 1e-12) & (n > 2), r, np.nan)


def _group_mean(keys: np.ndarray, x: np.ndarray, n_groups: int) -> np.ndarray:
    n = np.bincount(keys, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.bincount(keys, weights=x, minlength=n_groups) / n


def _hedges(keys: np.ndarray, treated: np.ndarray, y: np.ndarray, n_groups: int) -> np.ndarray:
    """Hedges g (treated minus control, pooled SD, small-sample corrected) per group."""
    out = []
    for t in (True, False):
        k, v = keys[treated == t], y[treated == t]
        n = np.bincount(k, minlength=n_groups).astype(float)
        m = np.bincount(k, weights=v, minlength=n_groups) / np.maximum(n, 1)
        ss = np.bincount(k, weights=v * v, minlength=n_groups) - n * m ** 2
        out.append((n, m, ss))
    (n1, m1, ss1), (n0, m0, ss0) = out
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = np.sqrt((ss1 + ss0) / (n1 + n0 - 2))
        return (m1 - m0) / pooled * (1 - 3 / (4 * (n1 + n0) - 9))


def _chunk_stats(res, n_points: int, n_reps: int) -> dict[str, np.ndarray]:
    """Every statistical target per (point, replicate): arrays of n_points * n_reps."""
    g = n_points * n_reps
    out = res.outcomes
    arm = out["arm"].cat.codes.to_numpy()
    names = list(out["arm"].cat.categories)
    key = out["point"].to_numpy(np.int64) * n_reps + out["replicate"].to_numpy(np.int64)
    d = arm == names.index("default")
    stats: dict[str, np.ndarray] = {}
    kd = key[d]
    mq = out["mean_quality"].to_numpy(float)
    stats["deep_similarity_quality"] = _group_corr(
        kd, out["perceived_similarity"].to_numpy(float)[d], mq[d], g)
    # actual profile components of each matched pair, from the starting matchings
    pairs = res.pairs
    idx = pd.MultiIndex.from_arrays([pairs["replicate"].to_numpy(np.int64),
                                     pairs["mentee_id"].astype(str).to_numpy()])
    look = pd.MultiIndex.from_arrays([out["replicate"].to_numpy(np.int64)[d],
                                      out["mentee_id"].astype(str).to_numpy()[d]])
    pos = idx.get_indexer(look)
    deep = pairs["score_deep_similarity"].to_numpy(float)[pos]
    surface = pairs["score_surface_similarity"].to_numpy(float)[pos]
    stats["actual_vs_perceived_similarity"] = _group_corr(kd, deep, mq[d], g)
    stats["surface_weaker_than_deep"] = _group_corr(kd, surface, mq[d], g)
    paired = np.isin(arm, [names.index(a) for a in ("default", *_CADENCES)])
    stats["frequency_support"] = _group_corr(
        key[paired], out["meetings_held"].to_numpy(float)[paired],
        out["support_mentee"].to_numpy(float, na_value=np.nan)[paired], g)
    stats["quality_satisfaction"] = _group_corr(
        kd, out["final_quality"].to_numpy(float)[d],
        out["satisfaction_mentee"].to_numpy(float, na_value=np.nan)[d], g)
    closed = ~out["completed"].to_numpy(bool)
    stats["early_closure"] = _group_mean(kd, closed[d].astype(float), g)
    stats["premature_closure_programs"] = stats["early_closure"]
    y = arm == names.index("year")
    stats["closure_within_12_months_star"] = _group_mean(key[y], closed[y].astype(float), g)
    ev = res.events
    ev_arm = ev["arm"].cat.codes.to_numpy()
    ev_key = ev["point"].to_numpy(np.int64) * n_reps + ev["replicate"].to_numpy(np.int64)
    is_close = (ev["event"] == "closure").to_numpy() & (ev_arm == names.index("default"))
    outside = (ev["reason"] == "outside_event").to_numpy()
    stats["closure_mentor_attributed_star"] = _group_mean(
        ev_key[is_close], outside[is_close].astype(float), g)
    # rating screen, per planned check-in (person-period) of the one-year arm
    ck = ((ev["event"] == "checkin") & (ev["reason"] == "scheduled")).to_numpy() & (
        ev_arm == names.index("year"))
    cw = ev["week"].to_numpy(np.int64)[ck]
    low = ev["rating"].to_numpy(float)[ck] <= _SCREEN_RATING
    yo = out[y]
    slot = pd.MultiIndex.from_arrays([key[y], yo["pair_id"].to_numpy(np.int64)])
    cpos = slot.get_indexer(pd.MultiIndex.from_arrays(
        [ev_key[ck], ev["pair_id"].to_numpy(np.int64)[ck]]))
    cweek = yo["closed_week"].to_numpy(float, na_value=np.inf)[cpos]
    soon = (cweek > cw) & (cweek <= cw + SCREEN_LEAD_WEEKS)
    kk = ev_key[ck]
    stats["rating_screen_sensitivity"] = _group_mean(kk[soon], low[soon].astype(float), g)
    stats["rating_screen_specificity"] = _group_mean(kk[~soon], (~low[~soon]).astype(float), g)
    sv = res.surveys
    post = ((sv["item"] == "digital_skill") & (sv["phase"] == "post")).to_numpy()
    s_arm = sv["arm"].cat.codes.to_numpy()[post]
    s_key = (sv["point"].to_numpy(np.int64) * n_reps + sv["replicate"].to_numpy(np.int64))[post]
    keep = np.isin(s_arm, [names.index("default"), names.index("control")])
    stats["mentoring_effect"] = _hedges(s_key[keep], s_arm[keep] == names.index("default"),
                                        sv["value"].to_numpy(float)[post][keep], g)
    return stats


def simulate_targets(behaviors: Sequence[BehaviorModel], *, replicates: int = 2,
                     n_mentees: int = 100, n_mentors: int = 120, seed: int = 2024
                     ) -> pd.DataFrame:
    """Every statistical target of the calibration table for many behaviour models.

    All points run on the same replicates (cohorts, random matchings and random draws:
    common random numbers) in stacked :func:`toolkit.experiment.run_experiment` passes of
    at most 400 points each. Returns one row per (point, target): point (position in
    ``behaviors``), target_id, value (mean over replicates of the per-replicate
    statistic), mc_var (Monte Carlo variance of that mean: the variance over replicates
    divided by their number; NaN with one replicate).

    Arms: ``default`` (random matching, biweekly, 26 weeks), weekly, every 3 weeks and
    monthly (the frequency-support target pools them with the default), ``year`` (52
    weeks with monthly check-ins whose flags change nothing: the 12-month closure and the
    per-check-in rating screen) and an unpaired control (the mentoring effect).
    """
    if isinstance(behaviors, BehaviorModel) or not len(behaviors) or not all(
            isinstance(b, BehaviorModel) for b in behaviors):
        raise fail("behaviors", _OWNER, "a non-empty list of BehaviorModel", behaviors)
    check_int(replicates, "replicates", _OWNER, low=1, high=10_000)
    spec = ExperimentSpec(cohort=CohortSpec(n_mentors=n_mentors, n_mentees=n_mentees),
                          arms=_arms(), replicates=replicates, seed=seed, control=True)
    frames = []
    for start in range(0, len(behaviors), _CHUNK):
        chunk = list(behaviors[start:start + _CHUNK])
        res = run_experiment(spec, progress=False, behaviors=chunk,
                             tables=("outcomes", "surveys", "events", "pairs"))
        stats = _chunk_stats(res, len(chunk), replicates)
        for target, per in stats.items():
            per = per.reshape(len(chunk), replicates)
            n = np.isfinite(per).sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                value = np.nanmean(per, axis=1) if per.size else per
                var = (np.nanvar(per, axis=1, ddof=1) / n) if replicates > 1 else np.full(
                    len(chunk), np.nan)
            frames.append(pd.DataFrame({"point": np.arange(start, start + len(chunk)),
                                        "target_id": target, "value": value,
                                        "mc_var": var}))
    return (pd.concat(frames, ignore_index=True).sort_values(["point", "target_id"],
                                                             kind="stable")
            .reset_index(drop=True))


def calibration_report(behavior: BehaviorModel | None = None, *, replicates: int = 12,
                       n_mentees: int = 100, n_mentors: int = 120, seed: int = 2024
                       ) -> pd.DataFrame:
    """One model against the calibration table: a one-point view of :func:`simulate_targets`.

    Returns one row per row of the table: target_id, statistic, low, high, simulated,
    mcse, inside, how, kind. ``kind`` is ``target`` (a statistic of the model, with its
    Monte Carlo standard error) or ``check`` (a preset's definition against its source;
    ``low`` and ``high`` are the source's value). Two targets are comparisons: surface and
    actual-profile similarity must also correlate with quality less than perceived
    similarity does.
    """
    behavior = BehaviorModel() if behavior is None else behavior
    sim = simulate_targets([behavior], replicates=replicates, n_mentees=n_mentees,
                           n_mentors=n_mentors, seed=seed).set_index("target_id")
    rows = []
    for t in calibration_targets().itertuples(index=False):
        low, high = t.low, t.high
        if t.target_id in CHECKS:
            value, inside, low, high = _preset_value(t.target_id, t.point)
            mcse, kind = 0.0, "check"
        else:
            value = float(sim.loc[t.target_id, "value"])
            mcse = float(np.sqrt(sim.loc[t.target_id, "mc_var"]))
            inside = bool(low <= value <= high)
            if t.target_id in ("surface_weaker_than_deep", "actual_vs_perceived_similarity"):
                inside = inside and value < sim.loc["deep_similarity_quality", "value"]
            kind = "target"
        rows.append({"target_id": t.target_id, "statistic": t.statistic, "low": low,
                     "high": high, "simulated": value, "mcse": mcse, "inside": inside,
                     "how": t.how_to_check, "kind": kind})
    return pd.DataFrame(rows)


def _preset_value(target_id: str, point: float) -> tuple[float, bool, float, float]:
    """The preset's figure in the target's unit, whether it matches the source, low, high."""
    if target_id == "cadence_hartford":
        weeks = program_schedule(preset("hartford")).meeting_week_numbers()
        ok = len(weeks) == point and set(np.diff(weeks).tolist()) == {3}
        return float(len(weeks)), ok, point, point
    if target_id == "cadence_bbbs":
        weeks = program_schedule(preset("bbbs_checkins")).checkin_week_numbers()
        gaps = sorted(set(np.diff(weeks).tolist()))
        value = float(gaps[0]) if len(gaps) == 1 else np.nan
        return value, value == point and weeks[0] == point, point, point
    if target_id == "cadence_mentorloop":
        s = program_schedule(preset("mentorloop_surveys", duration_weeks=52))
        days = np.array(s.checkin_days)
        ok = (days[0] == 30 and set(np.diff(days).tolist()) == {60}
              and s.checkin_week_numbers() == np.ceil(days / 7).astype(int).tolist())
        return float(days[0]), bool(ok and days[0] == point), point, point
    if target_id == "inactivity_close":
        d = preset("guider_inactivity")
        # 90 days + 7 days grace; a weekly model acts at the first week boundary after it,
        # so the closure day must lie in [97, 104).
        days = 7 * d.no_meeting_weeks
        return float(days), bool(97 <= days < 104 and d.on_flag == "close"), 97.0, 103.0
    raise KeyError(target_id)
