"""Summary statistics of a program's logs: one function each, on observed and simulated data.

Every statistic reads :class:`toolkit.logs.ProgramTables` (programs in weeks), which is
what both a program's logs (:meth:`toolkit.logs.ProgramLogs.tables`) and a simulation
(:func:`toolkit.logs.from_simulation`) become, so a summary of observed logs and of
simulated tables is computed by the same code; many programs stacked on the ``program``
column are summarised in one vectorised pass (``np.bincount`` group-bys, no loop over
programs). The registry :data:`SUMMARIES` maps a family name to its function:

- ``adherence_by_week``: share of scheduled meetings held, in three equal bins of the
  horizon (``adherence_w1``...);
- ``adherence_by_cadence``: share held per planned cadence (only when the program mixes
  cadences; otherwise it repeats the first family);
- ``missed_runs``: mean over pairs of the longest run of consecutive missed meetings, and
  the share of pairs with a run of two or more;
- ``closure_by_week``: early endings per pair-week at risk in the three bins;
- ``contact_gaps``: the share held of meetings scheduled more than
  :data:`CONTACT_GRACE_WEEKS` weeks after the last meeting held, and the closure hazard
  per pair-week more than that many (and twice that many) weeks after it;
- ``hazard_regressions``: auxiliary-model summaries (per-program least squares): the
  slope of a meeting being held on the weeks beyond the grace since the last one held
  (given the pair's earlier adherence), the slopes of a discrete-time hazard of the
  relationship ending on that gap and on the last rating, and the share of endings in
  a gap recorded as missed contact;
- ``closure_by_reason``: share of endings that were outside events and that were for
  missed contact;
- ``ratings``: mean, standard deviation and share at or below 2 of check-in ratings;
- ``rating_closure``: the share of check-ins followed by an ending within
  :attr:`SummarySpec.lead_weeks` weeks, for ratings at or below 2 minus above 2.

Proportions are smoothed as ``(x + 0.5) / (n + 1)`` (so an empty cell gives 0.5, not
NaN); a program without check-ins has no rating summaries (the spec leaves them out).

>>> import pandas as pd
>>> from toolkit.logs import ProgramTables
>>> t = ProgramTables(
...     pairs=pd.DataFrame({"program": [0, 0], "pair": [0, 1], "cadence": ["weekly"] * 2,
...                         "observed_weeks": [3, 3], "closed_week": [0, 3],
...                         "reason": ["", "missed_contact"]}),
...     meetings=pd.DataFrame({"program": 0, "pair": [0, 0, 0, 1, 1, 1],
...                            "week": [1, 2, 3, 1, 2, 3],
...                            "held": [True, False, True, False, False, False]}),
...     checkins=pd.DataFrame({"program": [], "pair": [], "week": [], "rating": []}))
>>> s = summarise(t, summary_spec(t))
>>> float(s.loc[0, "missed_run_mean"]), float(s.loc[0, "missed_run2_share"])
(2.0, 0.5)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.logs import LOG_CADENCES, ProgramTables

__all__ = ["SUMMARIES", "SummarySpec", "summarise", "summary_spec"]

_LOW_RATING = 2.0
#: Weeks without a meeting before missed contact is counted (the model's default
#: ``contact_grace_weeks``: a month without contact is ordinary).
CONTACT_GRACE_WEEKS = 4


@dataclass(frozen=True)
class SummarySpec:
    """What the summaries of a program look like: its horizon (weeks), the cadences it
    uses, whether it has check-ins and the lead time of the rating-to-closure summary."""

    horizon: int
    cadences: tuple[str, ...]
    checkins: bool
    lead_weeks: int = 8

    @property
    def edges(self) -> np.ndarray:
        """Week-bin edges: bin k holds weeks in (edges[k], edges[k + 1]]."""
        return np.unique(np.round(np.linspace(0, self.horizon, 4)).astype(np.int64))

    def to_dict(self) -> dict:
        return {
            "horizon": self.horizon,
            "cadences": list(self.cadences),
            "checkins": self.checkins,
            "lead_weeks": self.lead_weeks,
        }


def summary_spec(tables: ProgramTables, *, lead_weeks: int = 8) -> SummarySpec:
    """The spec of a program's summaries, read from its tables."""
    cad = tuple(c for c in LOG_CADENCES if c in set(tables.pairs["cadence"]))
    return SummarySpec(
        horizon=int(tables.pairs["observed_weeks"].max()),
        cadences=cad,
        checkins=bool(len(tables.checkins)),
        lead_weeks=lead_weeks,
    )


def _share(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    return (x + 0.5) / (n + 1.0)


class _Index:
    """Integer keys of programs and pairs, shared by every summary."""

    def __init__(self, t: ProgramTables, n: int):
        self.n = n
        self.width = int(t.pairs["pair"].max()) + 1 if len(t.pairs) else 1
        p = t.pairs
        self.pair_key = p["program"].to_numpy(np.int64) * self.width + p["pair"].to_numpy(np.int64)
        size = n * self.width
        self.observed = np.zeros(size, np.int64)
        self.observed[self.pair_key] = p["observed_weeks"].to_numpy(np.int64)
        self.closed = np.zeros(size, np.int64)
        self.closed[self.pair_key] = p["closed_week"].to_numpy(np.int64)
        self.reason = np.full(size, "", dtype=object)
        self.reason[self.pair_key] = p["reason"].to_numpy(object)
        self.cadence = np.full(size, "", dtype=object)
        self.cadence[self.pair_key] = p["cadence"].to_numpy(object)
        self.exists = np.zeros(size, bool)
        self.exists[self.pair_key] = True

    def key(self, frame: pd.DataFrame) -> np.ndarray:
        return frame["program"].to_numpy(np.int64) * self.width + frame["pair"].to_numpy(np.int64)

    def program_of(self, key: np.ndarray) -> np.ndarray:
        return key // self.width


def _bins(week: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.clip(np.searchsorted(edges, week, side="left") - 1, 0, len(edges) - 2)


def adherence_by_week(t: ProgramTables, spec: SummarySpec, ix: _Index) -> dict[str, np.ndarray]:
    edges, nb = spec.edges, len(spec.edges) - 1
    week = t.meetings["week"].to_numpy(np.int64)
    idx = t.meetings["program"].to_numpy(np.int64) * nb + _bins(week, edges)
    held = np.bincount(idx, weights=t.meetings["held"].to_numpy(float), minlength=ix.n * nb)
    sched = np.bincount(idx, minlength=ix.n * nb).astype(float)
    share = _share(held, sched).reshape(ix.n, nb)
    return {f"adherence_w{k + 1}": share[:, k] for k in range(nb)}


def adherence_by_cadence(t: ProgramTables, spec: SummarySpec, ix: _Index) -> dict[str, np.ndarray]:
    if len(spec.cadences) < 2:
        return {}
    nc = len(spec.cadences)
    code = {c: k for k, c in enumerate(spec.cadences)}
    cad = pd.Series(ix.cadence[ix.key(t.meetings)]).map(code).fillna(0).to_numpy(np.int64)
    idx = t.meetings["program"].to_numpy(np.int64) * nc + cad
    held = np.bincount(idx, weights=t.meetings["held"].to_numpy(float), minlength=ix.n * nc)
    sched = np.bincount(idx, minlength=ix.n * nc).astype(float)
    share = _share(held, sched).reshape(ix.n, nc)
    return {f"adherence_{c}": share[:, k] for k, c in enumerate(spec.cadences)}


def missed_runs(t: ProgramTables, spec: SummarySpec, ix: _Index) -> dict[str, np.ndarray]:
    m = t.meetings.sort_values(["program", "pair", "week"], kind="stable")
    key = ix.key(m)
    held = m["held"].to_numpy(bool)
    new_pair = np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, bool)
    run = np.cumsum(held | new_pair)  # a run of misses shares one id
    length = np.bincount(run[~held], minlength=run.max() + 1 if len(run) else 1)
    longest = np.zeros(ix.n * ix.width, np.int64)
    np.maximum.at(longest, key[~held], length[run[~held]])
    has = np.zeros(ix.n * ix.width, bool)
    has[key] = True
    prog = np.arange(ix.n * ix.width) // ix.width
    pairs = np.bincount(prog, weights=has, minlength=ix.n)
    total = np.bincount(prog, weights=longest * has, minlength=ix.n)
    two = np.bincount(prog, weights=(longest >= 2) & has, minlength=ix.n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(pairs > 0, total / np.maximum(pairs, 1), 0.0)
    return {"missed_run_mean": mean, "missed_run2_share": _share(two, pairs)}


def closure_by_week(t: ProgramTables, spec: SummarySpec, ix: _Index) -> dict[str, np.ndarray]:
    edges, nb = spec.edges, len(spec.edges) - 1
    obs = ix.observed[ix.pair_key]
    prog = ix.program_of(ix.pair_key)
    at_risk = np.clip(np.minimum(obs[:, None], edges[None, 1:]) - edges[None, :-1], 0, None)
    risk = np.stack(
        [np.bincount(prog, weights=at_risk[:, k], minlength=ix.n) for k in range(nb)], axis=1
    )
    closed = ix.closed[ix.pair_key]
    was = closed > 0
    idx = prog[was] * nb + _bins(closed[was], edges)
    ends = np.bincount(idx, minlength=ix.n * nb).reshape(ix.n, nb).astype(float)
    hazard = _share(ends, risk)
    return {f"closure_w{k + 1}": hazard[:, k] for k in range(nb)}


def contact_gaps(t: ProgramTables, spec: SummarySpec, ix: _Index) -> dict[str, np.ndarray]:
    """What missed contact does: the share held of meetings scheduled more than
    :data:`CONTACT_GRACE_WEEKS` weeks after the last meeting held, and the closure hazard
    per pair-week at risk more than that many weeks (and more than twice that many)
    after it. Weeks before a pair's first meeting count from its start."""
    size, h = ix.n * ix.width, spec.horizon
    weeks = np.arange(h + 1)
    m = t.meetings
    mk, mw = ix.key(m), m["week"].to_numpy(np.int64)
    held = np.zeros((size, h + 1), bool)
    ok = m["held"].to_numpy(bool) & (mw <= h)
    held[mk[ok], mw[ok]] = True
    last = np.maximum.accumulate(np.where(held, weeks, 0), axis=1)  # last held, week <= w
    # a meeting in week w sees the weeks since the last one held before it
    before = np.clip(mw - 1, 0, h)
    since = (mw - 1) - last[mk, before]
    late = since > CONTACT_GRACE_WEEKS
    prog_m = ix.program_of(mk)
    adherence = _share(
        np.bincount(prog_m, weights=late & m["held"].to_numpy(bool), minlength=ix.n),
        np.bincount(prog_m, weights=late, minlength=ix.n),
    )
    # closure: pair-weeks at risk 1 .. (closed week or observed weeks)
    end = np.where(ix.closed > 0, np.minimum(ix.closed, ix.observed), ix.observed)
    at_risk = ix.exists[:, None] & (weeks[None, :] >= 1) & (weeks[None, :] <= end[:, None])
    gap = weeks[None, :] - last
    ends = np.zeros((size, h + 1), bool)
    c = ix.closed
    closing = np.flatnonzero((c > 0) & (c <= np.minimum(ix.observed, h)) & ix.exists)
    ends[closing, c[closing]] = True
    prog = (np.arange(size) // ix.width)[:, None]
    out = {"adherence_after_gap": adherence}
    for name, cut in (("closure_after_gap", 1), ("closure_after_long_gap", 2)):
        cell = at_risk & (gap > cut * CONTACT_GRACE_WEEKS)
        n = np.bincount(np.broadcast_to(prog, cell.shape)[cell], minlength=ix.n)
        e = np.bincount(np.broadcast_to(prog, cell.shape)[cell & ends], minlength=ix.n)
        out[name] = _share(e.astype(float), n.astype(float))
    return out


def _group_ols(group: np.ndarray, x: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
    """Least-squares coefficients of ``y`` on ``x`` (rows: observations, first column the
    intercept) within each group 0..n-1, in one pass: the cross-products by ``np.bincount``
    and one batched solve. The slopes carry a ridge of one pseudo-observation (centred
    regressors), so a group where a regressor does not vary gets slope 0, not NaN."""
    p = x.shape[1]
    xtx = np.empty((n, p, p))
    for i in range(p):
        for j in range(i, p):
            xtx[:, i, j] = xtx[:, j, i] = np.bincount(group, weights=x[:, i] * x[:, j], minlength=n)
    xty = np.stack([np.bincount(group, weights=x[:, i] * y, minlength=n) for i in range(p)], 1)
    pen = np.eye(p)
    pen[0, 0] = 1e-9  # (almost) unpenalised intercept: the ridge acts on centred slopes
    return np.linalg.solve(xtx + pen[None], xty[..., None])[..., 0]


def hazard_regressions(t: ProgramTables, spec: SummarySpec, ix: _Index) -> dict[str, np.ndarray]:
    """Auxiliary-model summaries (Sisson, Fan & Beaumont 2018, ch. 5: the coefficients of
    a simple model fitted to each data set): per program, by least squares,

    - ``meet_gap_slope``: a scheduled meeting held (0/1) on the weeks since the last one
      held beyond :data:`CONTACT_GRACE_WEEKS` (at most 12) and the share the pair held
      of its earlier meetings (its engagement as the logs show it): the coefficient of the
      gap;
    - ``closure_gap_slope`` and ``closure_rating_slope``: a discrete-time hazard (a
      linear probability per pair-week at risk) of the relationship ending (any reason
      but an outside event) on the weeks since the last meeting held beyond the grace at
      the week's end (at most 16) and the last check-in rating before the week (3 before
      the first): both coefficients;
    - ``missed_contact_in_gap``: of the relationship endings during a gap beyond the
      grace, the share recorded as missed contact.

    Slopes are per week (per rating point), times 100."""
    size, h = ix.n * ix.width, spec.horizon
    weeks = np.arange(h + 1)
    m = t.meetings
    mk, mw = ix.key(m), m["week"].to_numpy(np.int64)
    mheld = m["held"].to_numpy(bool)
    inside = mw <= h
    held = np.zeros((size, h + 1), bool)
    held[mk[mheld & inside], mw[mheld & inside]] = True
    sched = np.zeros((size, h + 1), np.int64)
    np.add.at(sched, (mk[inside], mw[inside]), 1)
    last = np.maximum.accumulate(np.where(held, weeks, 0), axis=1)
    n_sched = np.cumsum(sched, axis=1)
    n_held = np.cumsum(held, axis=1)
    # meetings: gap before the meeting, share held of the pair's earlier meetings
    before = np.clip(mw - 1, 0, h)
    beyond_m = np.clip((mw - 1) - last[mk, before] - CONTACT_GRACE_WEEKS, 0, 12).astype(float)
    earlier = (n_held[mk, before] + 0.5) / (n_sched[mk, before] + 1.0)
    x_m = np.column_stack([np.ones(len(mk)), beyond_m, earlier])
    meet = _group_ols(ix.program_of(mk), x_m, mheld.astype(float), ix.n)
    # closure: pair-weeks at risk 1 .. end, the gap and rating at the start of the week
    end = np.where(ix.closed > 0, np.minimum(ix.closed, ix.observed), ix.observed)
    at_risk = ix.exists[:, None] & (weeks[None, :] >= 1) & (weeks[None, :] <= end[:, None])
    prev = np.r_[0, weeks[:-1]]
    beyond = np.clip(weeks[None, :] - last - CONTACT_GRACE_WEEKS, 0, 16)  # at the week's end
    rating = np.full((size, h + 1), np.nan)
    if spec.checkins and len(t.checkins):
        ck, cw = ix.key(t.checkins), t.checkins["week"].to_numpy(np.int64)
        ok = cw <= h
        rating[ck[ok], cw[ok]] = t.checkins["rating"].to_numpy(float)[ok]
    seen = np.maximum.accumulate(np.where(np.isnan(rating), 0, weeks), axis=1)
    last_rating = rating[np.arange(size)[:, None], seen]
    last_rating = np.where(np.isnan(last_rating), 3.0, last_rating)[:, prev]
    c = ix.closed
    relationship = (c > 0) & (c <= np.minimum(ix.observed, h)) & ix.exists
    relationship &= ix.reason != "outside_event"
    ends = np.zeros((size, h + 1), bool)
    rel = np.flatnonzero(relationship)
    ends[rel, c[rel]] = True
    prog = np.broadcast_to((np.arange(size) // ix.width)[:, None], at_risk.shape)[at_risk]
    x_c = np.column_stack([np.ones(len(prog)), beyond[at_risk].astype(float), last_rating[at_risk]])
    close = _group_ols(prog, x_c, ends[at_risk].astype(float), ix.n)
    in_gap = ends & (beyond > 0)
    gap_keys = np.flatnonzero(in_gap.any(axis=1))
    contact = ix.reason[gap_keys] == "missed_contact"
    gp = gap_keys // ix.width
    return {
        "meet_gap_slope": 100.0 * meet[:, 1],
        "closure_gap_slope": 100.0 * close[:, 1],
        "closure_rating_slope": 100.0 * close[:, 2],
        "missed_contact_in_gap": _share(
            np.bincount(gp, weights=contact, minlength=ix.n),
            np.bincount(gp, minlength=ix.n).astype(float),
        ),
    }


def closure_by_reason(t: ProgramTables, spec: SummarySpec, ix: _Index) -> dict[str, np.ndarray]:
    closed = ix.closed[ix.pair_key] > 0
    prog = ix.program_of(ix.pair_key)
    reason = ix.reason[ix.pair_key]
    n_end = np.bincount(prog, weights=closed, minlength=ix.n)
    out = np.bincount(prog, weights=closed & (reason == "outside_event"), minlength=ix.n)
    gap = np.bincount(prog, weights=closed & (reason == "missed_contact"), minlength=ix.n)
    return {
        "closure_outside_share": _share(out, n_end),
        "closure_missed_contact_share": _share(gap, n_end),
    }


def ratings(t: ProgramTables, spec: SummarySpec, ix: _Index) -> dict[str, np.ndarray]:
    if not spec.checkins:
        return {}
    prog = t.checkins["program"].to_numpy(np.int64)
    r = t.checkins["rating"].to_numpy(float)
    n = np.bincount(prog, minlength=ix.n).astype(float)
    s1 = np.bincount(prog, weights=r, minlength=ix.n)
    s2 = np.bincount(prog, weights=r * r, minlength=ix.n)
    low = np.bincount(prog, weights=r <= _LOW_RATING, minlength=ix.n)
    mean = np.where(n > 0, s1 / np.maximum(n, 1), 3.0)
    var = np.where(n > 1, (s2 - n * mean**2) / np.maximum(n - 1, 1), 0.0)
    return {
        "rating_mean": mean,
        "rating_sd": np.sqrt(np.maximum(var, 0.0)),
        "rating_low_share": _share(low, n),
    }


def rating_closure(t: ProgramTables, spec: SummarySpec, ix: _Index) -> dict[str, np.ndarray]:
    if not spec.checkins:
        return {}
    key = ix.key(t.checkins)
    week = t.checkins["week"].to_numpy(np.int64)
    closed, obs = ix.closed[key], ix.observed[key]
    soon = (closed > week) & (closed <= week + spec.lead_weeks)
    followed = soon | (obs >= week + spec.lead_weeks)  # outcome known (not censored)
    low = t.checkins["rating"].to_numpy(float) <= _LOW_RATING
    prog = ix.program_of(key)

    def rate(mask: np.ndarray) -> np.ndarray:
        m = mask & followed
        return _share(
            np.bincount(prog, weights=m & soon, minlength=ix.n),
            np.bincount(prog, weights=m, minlength=ix.n),
        )

    return {"rating_closure_gap": rate(low) - rate(~low)}


SUMMARIES: dict[str, Callable[[ProgramTables, SummarySpec, _Index], dict[str, np.ndarray]]] = {
    "adherence_by_week": adherence_by_week,
    "adherence_by_cadence": adherence_by_cadence,
    "missed_runs": missed_runs,
    "closure_by_week": closure_by_week,
    "contact_gaps": contact_gaps,
    "hazard_regressions": hazard_regressions,
    "closure_by_reason": closure_by_reason,
    "ratings": ratings,
    "rating_closure": rating_closure,
}


def summarise(
    tables: ProgramTables, spec: SummarySpec, *, n_programs: int | None = None
) -> pd.DataFrame:
    """Every summary of every program in ``tables``: one row per program (index), one
    column per statistic, in registry order."""
    n = tables.n_programs if n_programs is None else n_programs
    ix = _Index(tables, n)
    out: dict[str, np.ndarray] = {}
    for family in SUMMARIES.values():
        out.update(family(tables, spec, ix))
    return pd.DataFrame(out, index=pd.RangeIndex(n, name="program"))
