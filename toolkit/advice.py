"""Advice: a recommended program design under a coordinator-hours budget.

A program designer states the cohort (``pairs``, ``weeks``, optionally a roster), the
coordinator's budget in hours for the whole program, optionally the hours a month a
(senior) mentee can give, and the outcome to maximise. :func:`advise` then

1. builds the **design space** from the registries (:func:`design_space`): matching
   policies (:data:`toolkit.matching.POLICIES`) x meeting cadences
   (:data:`toolkit.program.CADENCES`) x meeting lengths x check-in schedules
   (:data:`toolkit.program.CHECKIN_PLANS`) x actions on a flag
   (:data:`toolkit.program.FLAG_ACTIONS`); a design without check-ins never flags, so it
   has one action ("none"). Hours that are a fixed property of a design filter directly:
   the *planned* check-in hours (every pair at every planned check-in, at the largest
   ``checkin_minutes`` of the scenarios) against the budget, and the planned meeting hours
   a month against the availability. Hours that depend on what happens (how many pairs
   are still open at a check-in, coaching, rematches and closures a flag triggers) are
   simulated and enter the selection as a stochastic constraint;
2. runs the **selection with a guarantee** (:func:`toolkit.selection.select_best`:
   screening, then Kim & Nelson's fully sequential procedure (KN++, variance updating)
   with common random numbers; the guarantee is the indifference-zone one: the best is
   picked with probability >= 1 - alpha if it leads every other design by delta,
   robust over a finite set of plausible models, Fan, Hong & Zhang 2020, with the hours
   constraint of Andradottir & Kim 2010). The design **recommended** is the cheapest
   design (least mean coordinator hours) the procedure cannot tell from the best it
   selected: not shown to be more than delta worse on the replications they share
   (:func:`recommend`); the selected best is named beside it. The callback
   (:class:`AdviceSimulator`) runs designs x one scenario (a model of the ensemble) x
   replications through :func:`toolkit.experiment.run_experiment`, replication ``r``
   drawing the same cohort, matchings and per-pair random numbers in every design and
   every scenario;
3. evaluates **every eligible design** on the same first ``panel_replications``
   replications of every scenario (all scenarios stacked in one engine pass per chunk of
   designs): completion, learning and coordinator hours with their spread across the
   plausible models, the chance of exceeding the budget, the marginal cost (coordinator
   hours per additional completed pair against the cheapest design, :func:`marginal_cost`)
   and the Pareto set of outcome against hours (:func:`pareto_front`). These tables feed
   the what-if panel (:func:`whatif_chart`) unchanged;
4. says **what would change the advice**: the recommended design and its strongest rival
   run under many models of the ensemble, and a PRIM box
   (:func:`toolkit.sensitivity.sign_boxes`) describes where in the ensemble the rival wins.

Numbers here are Monte Carlo estimates under a model; the spread across scenarios is the
spread across plausible models, not a confidence interval about real programs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from toolkit import _seeding
from toolkit._validation import check_int, check_option, check_real, fail
from toolkit.behavior import BehaviorModel
from toolkit.cohort import Cohort, CohortSpec
from toolkit.ensemble import Ensemble
from toolkit.experiment import Arm, MatchSpec, run_experiment
from toolkit.matching import POLICIES
from toolkit.program import CADENCES, CHECKIN_PLANS, FLAG_ACTIONS, ProgramDesign, program_schedule
from toolkit.selection import Selection, select_best

__all__ = [
    "DEFAULT_DELTA",
    "METRICS",
    "OUTCOMES",
    "Advice",
    "AdvicePlan",
    "AdviceSimulator",
    "advise",
    "check_plan",
    "design_space",
    "marginal_cost",
    "pareto_figure",
    "pareto_front",
    "prior_ensemble",
    "recommend",
    "shortlist_table",
    "whatif_chart",
    "whatif_data",
]

_OWNER = "advise"
# What the selection maximises, per replication (a cohort of pairs):
#   completion: the share of pairs still open at the end of the program;
#   learning:   the mean mentee skill gain per enrolled pair (a pair that closed early
#               keeps what it learned until then);
#   both:       the mean over enrolled pairs of (completed x mentee gain): learning that
#               is counted only when the pair completes.
OUTCOMES = ("completion", "learning", "both")
METRICS = ("completion", "learning", "both", "hours")
_UNITS = {
    "completion": "points of completion",
    "learning": "points of mentee skill gain",
    "both": "points of learning among completed pairs",
}
# The indifference zone in outcome units (outcomes are shares / skill on a 0-1 scale, so
# 0.02 is 2 points). Defaults chosen before looking at any result; set delta to what
# matters to the program.
DEFAULT_DELTA = {"completion": 0.02, "learning": 0.01, "both": 0.01}
DEFAULT_MINUTES = (30.0, 60.0)
# Actions a check-in flag can trigger in the default space: "none" (record and do nothing)
# exists to evaluate warning rules, and as a design it only spends check-in hours.
DEFAULT_ACTIONS = ("coach", "rematch", "close")
_WEEKS_PER_MONTH = 52.0 / 12.0
_ARMS_PER_CALL = 100  # the engine labels arms with int8 codes
_MIN_BOX_MODELS = 20  # sign_boxes needs at least this many models


# --------------------------------------------------------------------------- the plan


def _names(value: Any, name: str, options: Sequence[str]) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not len(value):
        raise fail(name, _OWNER, "a non-empty list of " + ", ".join(map(repr, options)), value)
    for v in value:
        check_option(v, name, _OWNER, options)
    return tuple(dict.fromkeys(value))


@dataclass(frozen=True)
class AdvicePlan:
    """What the program designer asks: validated on construction, one sentence per mistake.

    Parameters
    ----------
    pairs, weeks : ints >= 1 (with a roster, ``pairs`` must be its number of mentees).
    budget : coordinator hours for the whole program (> 0).
    availability : hours a month a (senior) mentee can give (finite, > 0) or None. It
        filters designs whose planned meeting hours a month exceed it, and sets
        ``mentee_hours_month`` in every scenario.
    outcome : one of :data:`OUTCOMES`.
    delta : indifference zone in outcome units, in (0, 1) (default
        :data:`DEFAULT_DELTA` of the outcome); alpha : in (0, 1).
    quantile : 0 selects on the worst case over the scenarios, q in (0, 1) on the
        ``ceil(q m)``-th smallest scenario mean.
    scenarios : how many plausible models (the first of the ensemble) the selection is
        robust over.
    policies, cadences, minutes, checkins, actions : the design space's levels.
    mentors : mentors in a synthetic cohort (default ``ceil(1.2 pairs)``, the toolkit's
        default ratio, so that a rematch can find a free mentor).
    """

    pairs: int = 30
    weeks: int = 26
    budget: float = 40.0
    availability: float | None = None
    outcome: str = "completion"
    delta: float | None = None
    alpha: float = 0.05
    quantile: float = 0.0
    scenarios: int = 8
    policies: tuple[str, ...] = tuple(POLICIES)
    cadences: tuple[str, ...] = CADENCES
    minutes: tuple[float, ...] = DEFAULT_MINUTES
    checkins: tuple[str, ...] = CHECKIN_PLANS
    actions: tuple[str, ...] = DEFAULT_ACTIONS
    mentors: int | None = None

    def __post_init__(self) -> None:
        s = object.__setattr__
        s(self, "pairs", check_int(self.pairs, "pairs", _OWNER, low=1, high=100_000))
        s(self, "weeks", check_int(self.weeks, "weeks", _OWNER, low=1, high=520))
        s(self, "budget", check_real(self.budget, "budget", _OWNER, low=0, closed="neither"))
        if self.availability is not None:
            s(
                self,
                "availability",
                check_real(self.availability, "availability", _OWNER, low=0, closed="neither"),
            )
        check_option(self.outcome, "outcome", _OWNER, OUTCOMES)
        if self.delta is None:
            s(self, "delta", DEFAULT_DELTA[self.outcome])
        s(self, "delta", check_real(self.delta, "delta", _OWNER, low=0, high=1, closed="neither"))
        s(self, "alpha", check_real(self.alpha, "alpha", _OWNER, low=0, high=1, closed="neither"))
        s(
            self,
            "quantile",
            check_real(self.quantile, "quantile", _OWNER, low=0, high=1, closed="left"),
        )
        s(self, "scenarios", check_int(self.scenarios, "scenarios", _OWNER, low=1, high=10_000))
        s(self, "policies", _names(self.policies, "policies", list(POLICIES)))
        s(self, "cadences", _names(self.cadences, "cadences", CADENCES))
        s(self, "checkins", _names(self.checkins, "checkins", CHECKIN_PLANS))
        s(self, "actions", _names(self.actions, "actions", FLAG_ACTIONS))
        if (
            isinstance(self.minutes, str | bytes)
            or not isinstance(self.minutes, Sequence)
            or not len(self.minutes)
        ):
            raise fail(
                "minutes", _OWNER, "a non-empty list of meeting lengths in (0, 240]", self.minutes
            )
        s(
            self,
            "minutes",
            tuple(
                dict.fromkeys(
                    check_real(m, "minutes", _OWNER, low=0, high=240, closed="right")
                    for m in self.minutes
                )
            ),
        )
        if self.mentors is None:
            s(self, "mentors", math.ceil(1.2 * self.pairs))
        s(self, "mentors", check_int(self.mentors, "mentors", _OWNER, low=1, high=10_000_000))

    @property
    def units(self) -> str:
        return _UNITS[self.outcome]


# --------------------------------------------------------------------------- design space


def design_space(plan: AdvicePlan, *, checkin_minutes: float = 15.0) -> pd.DataFrame:
    """Every design of the plan's levels, one row each, with its fixed hours and status.

    Columns: design (id 0..k-1), policy, cadence, meeting_minutes, checkins, on_flag,
    label, meetings_planned (per pair), meeting_hours_month (planned, per pair),
    checkins_planned (per pair), fixed_hours (planned check-in hours for all pairs at
    ``checkin_minutes`` each), status ("eligible", "over availability" or "over budget").

    >>> d = design_space(AdvicePlan(policies=["random"], cadences=["monthly"],
    ...                             minutes=[60], checkins=["none", "monthly"]))
    >>> d[["on_flag", "checkins_planned", "fixed_hours", "status"]].values.tolist()
    [['none', 0, 0.0, 'eligible'], ['coach', 6, 45.0, 'over budget'], \
['rematch', 6, 45.0, 'over budget'], ['close', 6, 45.0, 'over budget']]
    """
    rows = []
    for policy in plan.policies:
        for cadence in plan.cadences:
            for minutes in plan.minutes:
                for checkins in plan.checkins:
                    acts = ("none",) if checkins == "none" else plan.actions
                    for action in acts:
                        rows.append((policy, cadence, minutes, checkins, action))
    d = pd.DataFrame(rows, columns=["policy", "cadence", "meeting_minutes", "checkins", "on_flag"])
    d.insert(0, "design", np.arange(len(d), dtype=np.int64))
    # Schedules depend on (cadence, check-ins) only: a handful of distinct ones.
    sched = {}
    for cadence, checkins in d[["cadence", "checkins"]].drop_duplicates().itertuples(index=False):
        s = program_schedule(
            ProgramDesign(duration_weeks=plan.weeks, cadence=cadence, checkins=checkins)
        )
        sched[(cadence, checkins)] = (int(s.meeting.sum()), int(s.checkin.sum()))
    key = list(zip(d["cadence"], d["checkins"], strict=True))
    d["meetings_planned"] = np.array([sched[k][0] for k in key], dtype=np.int64)
    d["checkins_planned"] = np.array([sched[k][1] for k in key], dtype=np.int64)
    d["meeting_hours_month"] = (
        d["meetings_planned"] / plan.weeks * _WEEKS_PER_MONTH * d["meeting_minutes"] / 60.0
    )
    d["fixed_hours"] = d["checkins_planned"] * plan.pairs * checkin_minutes / 60.0
    d["label"] = (
        d["policy"]
        + " matching, "
        + d["cadence"].str.replace("_", " ")
        + " "
        + d["meeting_minutes"].map(lambda m: f"{m:g}")
        + "-min meetings, "
        + np.where(
            d["checkins"] == "none",
            "no check-ins",
            d["checkins"]
            .str.replace("survey_30_60", "surveys at day 30 then every 60 days")
            .str.replace("monthly", "monthly check-ins")
            + ", "
            + d["on_flag"].map(
                {"coach": "coach", "rematch": "rematch", "close": "close", "none": "do nothing"}
            )
            + " on a flag",
        )
    )
    status = np.full(len(d), "eligible", dtype=object)
    if plan.availability is not None:
        status[d["meeting_hours_month"].to_numpy() > plan.availability + 1e-9] = "over availability"
    status[(status == "eligible") & (d["fixed_hours"].to_numpy() > plan.budget)] = "over budget"
    d["status"] = status
    return d


def _design(row: Any, weeks: int) -> ProgramDesign:
    return ProgramDesign(
        duration_weeks=weeks,
        cadence=row.cadence,
        meeting_minutes=float(row.meeting_minutes),
        checkins=row.checkins,
        on_flag=row.on_flag,
    )


# --------------------------------------------------------------------------- the simulator


def replication_seed(seed: int, replication: int) -> int:
    """The root seed of replication ``r``: the same in every design and every scenario
    (common random numbers), whatever else is simulated with it."""
    return _seeding.int_seed(seed, "advise", "replication", int(replication))


@dataclass(frozen=True)
class AdviceSimulator:
    """The :func:`~toolkit.selection.select_best` callback (picklable, so a process pool
    or Dask can run it).

    ``arms[i]`` is design ``i``'s (policy, ProgramDesign); ``behaviors[j]`` scenario
    ``j``'s model; ``cohort`` a CohortSpec (a fresh cohort per replication) or a Cohort
    (the roster: the same people, new matchings and dynamics per replication). Replication
    ``r`` has root seed :func:`replication_seed` and nothing else, so its numbers do not
    depend on which designs, scenarios or replications are asked for with it.
    """

    arms: tuple[tuple[str, ProgramDesign], ...]
    behaviors: tuple[BehaviorModel, ...]
    cohort: CohortSpec | Cohort
    seed: int = 0
    outcome: str = "completion"

    def metrics(
        self,
        designs: Sequence[int] | np.ndarray,
        scenarios: Sequence[int] | np.ndarray,
        replications: Sequence[int] | np.ndarray,
    ) -> pd.DataFrame:
        """One row per (design, scenario, replication): completion, learning, both, hours.

        All scenarios run stacked in one engine pass per chunk of at most 100 designs.
        """
        designs = np.asarray(designs, dtype=np.int64)
        scenarios = np.asarray(scenarios, dtype=np.int64)
        reps = np.asarray(replications, dtype=np.int64)
        seeds = [replication_seed(self.seed, r) for r in reps]
        behaviors = [self.behaviors[j] for j in scenarios]
        parts = []
        for start in range(0, len(designs), _ARMS_PER_CALL):
            chunk = designs[start : start + _ARMS_PER_CALL]
            arms = {str(i): Arm(MatchSpec(self.arms[i][0]), self.arms[i][1]) for i in chunk}
            res = run_experiment(
                self.cohort,
                arms,
                replicate_seeds=seeds,
                progress=False,
                tables=("outcomes",),
                behaviors=behaviors,
            )
            parts.append(_per_replication(res.outcomes, chunk, len(scenarios), len(reps)))
        values = np.concatenate(parts, axis=1)  # (metric, design, scenario, replication)
        k, m, n = len(designs), len(scenarios), len(reps)
        out = pd.DataFrame(
            {
                "design": np.repeat(designs, m * n),
                "scenario": np.tile(np.repeat(scenarios, n), k),
                "replication": np.tile(reps, k * m),
            }
        )
        for i, name in enumerate(METRICS):
            out[name] = values[i].ravel()
        return out

    def __call__(
        self, designs: np.ndarray, scenario: int, replications: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(outcome in points, coordinator hours), each (designs, replications)."""
        frame = self.metrics(designs, [scenario], replications)
        shape = (len(designs), len(replications))
        # In points (x 100), the units of delta in the selection and its guarantee.
        return (
            100.0 * frame[self.outcome].to_numpy().reshape(shape),
            frame["hours"].to_numpy().reshape(shape),
        )


def _per_replication(outcomes: pd.DataFrame, designs: np.ndarray, m: int, n: int) -> np.ndarray:
    """(4, designs, scenarios, replications) means/sums from one outcomes table."""
    arm_pos = {str(d): i for i, d in enumerate(designs)}
    arm = outcomes["arm"]
    code = np.asarray(pd.Categorical(arm).categories.map(arm_pos))[pd.Categorical(arm).codes]
    point = outcomes["point"].to_numpy(np.int64)
    rep = outcomes["replicate"].to_numpy(np.int64)
    cell = (code * m + point) * n + rep
    size = len(designs) * m * n
    count = np.bincount(cell, minlength=size)
    completed = outcomes["completed"].to_numpy(float)
    gain = outcomes["mentee_gain"].to_numpy(float)
    sums = [
        np.bincount(cell, weights=w, minlength=size) for w in (completed, gain, completed * gain)
    ]
    hours = np.bincount(cell, weights=outcomes["hours_coordinator"].to_numpy(float), minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.stack([*(s / count for s in sums), hours])
    return out.reshape(4, len(designs), m, n)


# --------------------------------------------------------------------------- summaries


def marginal_cost(completion: Any, hours: Any, pairs: int) -> tuple[np.ndarray, int]:
    """Coordinator hours per additional completed pair, against the cheapest design.

    ``completion`` (shares) and ``hours`` (program totals) are per-design means. The
    cheapest design has the least hours (ties: the higher completion). For design ``d``
    the marginal cost is ``(hours_d - hours_c) / (pairs (completion_d - completion_c))``;
    NaN when ``d`` completes no more pairs than the cheapest (it buys nothing), 0 for
    the cheapest itself. Returns (costs, position of the cheapest).

    >>> cost, c = marginal_cost([0.7, 0.8, 0.75], [0.0, 10.0, 12.0], 20)
    >>> c, cost.round(2).tolist()
    (0, [0.0, 5.0, 12.0])
    """
    comp = np.asarray(completion, float)
    hrs = np.asarray(hours, float)
    c = int(np.lexsort((-comp, hrs))[0])
    extra = pairs * (comp - comp[c])
    with np.errstate(invalid="ignore", divide="ignore"):
        cost = np.where(extra > 0, (hrs - hrs[c]) / extra, np.nan)
    cost[c] = 0.0
    return cost, c


def pareto_front(outcome: Any, hours: Any) -> np.ndarray:
    """True for designs no other design beats on both outcome (higher) and hours (lower).

    A design is dominated when another has outcome >= and hours <= with one strict.
    One (k, k) comparison, fine for the few hundred designs of an advice.

    >>> pareto_front([0.7, 0.8, 0.75, 0.8], [0.0, 10.0, 12.0, 11.0]).tolist()
    [True, True, False, False]
    """
    y = np.asarray(outcome, float)
    h = np.asarray(hours, float)
    ge = (y[:, None] >= y[None, :]) & (h[:, None] <= h[None, :])
    strict = (y[:, None] > y[None, :]) | (h[:, None] < h[None, :])
    return np.asarray(~(ge & strict).any(axis=0))


def recommend(design: Any, indistinguishable: Any, hours: Any, objective: Any, best: int) -> int:
    """The design to run: the cheapest one the selection cannot tell from the selected best.

    ``best`` is the design :func:`~toolkit.selection.select_best` selected; a design is a
    candidate when it is flagged ``indistinguishable`` from it (not shown to be more than
    delta worse on the replications they share; the best itself always is) and its mean
    coordinator ``hours`` are known. The recommendation is the candidate with the least
    mean hours, if that is strictly less than the best's (ties: the higher ``objective``,
    then the smaller design id); otherwise the best itself. The selection's guarantee is
    about the best, not about this design: the rule trades at most what the data cannot
    show to exceed delta for the hours saved.

    >>> recommend([1, 2, 3], [True, True, False], [31.5, 0.0, 0.0], [0.80, 0.79, 0.60], best=1)
    2
    >>> recommend([1, 2, 3], [True, False, True], [31.5, 0.0, 40.0], [0.80, 0.79, 0.78], best=1)
    1
    """
    ids = np.asarray(design, dtype=np.int64)
    ind = np.asarray(indistinguishable, dtype=bool)
    hrs = np.asarray(hours, dtype=float)
    obj = np.asarray(objective, dtype=float)
    at = np.flatnonzero(ids == best)
    if at.size != 1:
        raise fail("best", _OWNER, "one of the designs' ids", best)
    ok = ind & np.isfinite(hrs) & np.isfinite(obj)
    ok[at[0]] = False
    cheaper = ok & (hrs < hrs[at[0]]) if np.isfinite(hrs[at[0]]) else ok
    if not cheaper.any():
        return int(best)
    pos = np.flatnonzero(cheaper)
    order = np.lexsort((ids[pos], -obj[pos], hrs[pos]))
    return int(ids[pos[order[0]]])


def _objective(cell_means: np.ndarray, quantile: float) -> np.ndarray:
    """Worst-case (quantile 0) or ceil(q m)-th smallest scenario mean, per design row."""
    m = cell_means.shape[1]
    s = max(1, math.ceil(quantile * m))
    return np.sort(cell_means, axis=1)[:, s - 1]


def summarise_panel(frame: pd.DataFrame, plan: AdvicePlan) -> pd.DataFrame:
    """Per design: each metric's mean over scenarios and replications, its lowest and
    highest scenario mean (the spread across plausible models), the Monte Carlo standard
    error of the mean, the selection objective, and the chance that a program's
    coordinator hours exceed the budget (the share of simulated programs over it)."""
    g = frame.groupby(["design", "scenario"], sort=True)
    cell = g[list(METRICS)].mean()
    designs = cell.index.get_level_values(0).unique()
    m = cell.index.get_level_values(1).nunique()
    out = pd.DataFrame({"design": designs.to_numpy()})
    for name in METRICS:
        v = cell[name].to_numpy().reshape(len(designs), m)
        out[f"{name}_mean"] = v.mean(axis=1)
        out[f"{name}_low"] = v.min(axis=1)
        out[f"{name}_high"] = v.max(axis=1)
    per = frame.groupby("design", sort=True)
    n = per.size().to_numpy()
    for name in METRICS:
        out[f"{name}_mcse"] = per[name].std(ddof=1).to_numpy() / np.sqrt(n)
    out["objective"] = _objective(
        cell[plan.outcome].to_numpy().reshape(len(designs), m), plan.quantile
    )
    out["hours_worst"] = out["hours_high"]
    over = (frame["hours"] > plan.budget).astype(float)
    out["p_over_budget"] = over.groupby(frame["design"], sort=True).mean().to_numpy()
    out["programs"] = n
    return out


# --------------------------------------------------------------------------- the advice


def _which(quantile: float) -> str:
    return "worst case" if quantile == 0 else f"{quantile:g}-quantile"


def pct(x: float) -> str:
    """A share in points with one decimal: 0.8412 -> '84.1'."""
    return f"{100 * x:.1f}"


@dataclass(frozen=True)
class Advice:
    """What :func:`advise` found.

    ``designs`` one row per design of the space (ids, levels, label, fixed hours, status
    before simulation, the selection's status and replications, and for every simulated
    design the panel's metrics: ``{metric}_mean/_low/_high/_mcse``, ``objective``,
    ``p_over_budget``, ``marginal_cost``, ``pareto``, ``indistinguishable``);
    ``selection`` the :class:`~toolkit.selection.Selection`; ``best`` the design the
    selection chose, ``recommended`` the design to run (:func:`recommend`: the cheapest
    design not shown to be more than delta worse than ``best``; often ``best`` itself) and
    ``rival`` design ids; ``change`` the PRIM box (:func:`~toolkit.sensitivity.sign_boxes`) where the
    rival wins, ``change_share`` the share of models in which it wins; ``models`` the
    ensemble's parameters of the scenarios; ``inputs`` everything that shaped the result.
    """

    plan: AdvicePlan
    designs: pd.DataFrame
    selection: Selection
    recommended: int
    rival: int | None
    change: pd.DataFrame
    change_share: float
    change_models: int
    models: pd.DataFrame
    cheapest: int
    best: int
    inputs: dict[str, Any] = field(default_factory=dict)

    def row(self, design: int) -> pd.Series:
        return self.designs.set_index("design").loc[design]

    @property
    def change_text(self) -> str:
        """What would change the advice, in plain words."""
        if self.rival is None:
            return "No other design within the budget is left to compare with."
        rec, riv = self.row(self.recommended), self.row(self.rival)
        what = _UNITS[self.plan.outcome].replace("points of ", "")
        if self.change_models < _MIN_BOX_MODELS:
            return (
                f"The strongest rival ({riv['label']}) reaches a higher {what} in "
                f"{self.change_share:.0%} of {self.change_models} plausible models, too "
                f"few (fewer than {_MIN_BOX_MODELS}) to say where in the ensemble."
            )
        if self.change.empty:
            if self.change_share == 0:
                return (
                    f"In none of the {self.change_models} plausible models tried does the "
                    f"strongest rival ({riv['label']}) reach a higher {what} than the "
                    "recommended design."
                )
            return (
                f"The strongest rival ({riv['label']}) reaches a higher {what} in "
                f"{self.change_share:.0%} of {self.change_models} plausible models, "
                "scattered with no region of the ensemble to describe."
            )
        b = self.change.iloc[0]
        if b["density"] < 0.5:  # PRIM found no region where the rival mostly wins
            return (
                f"The strongest rival ({riv['label']}) reaches a higher mean {what} in "
                f"{int(b['cases'])} of {self.change_models} plausible models, and in no "
                f"region of the ensemble does it win in most models (the densest, where "
                f"{b['text']}, has it winning in {b['density']:.0%})."
            )
        return (
            f"If {b['text']}, choose {riv['label']} instead: there it reaches a higher "
            f"mean {what} than {rec['label']} in {b['density']:.0%} of the plausible "
            f"models (overall it does in {int(b['cases'])} of {self.change_models}; the "
            f"region holds {b['coverage']:.0%} of those; the recommendation rests on the "
            f"{_which(self.plan.quantile)} over {len(self.models)} models)."
        )

    @property
    def rule_text(self) -> str:
        """The recommendation rule applied to this advice, in plain words."""
        assert self.plan.delta is not None  # resolved when the plan is built
        zone = f"{100 * self.plan.delta:g} {self.plan.units}"
        if self.recommended == self.best:
            return (
                "It is the design the selection procedure chose as best; no design the "
                f"procedure cannot tell from it (not shown to be more than {zone} worse) "
                "needs fewer coordinator hours."
            )
        b, r = self.row(self.best), self.row(self.recommended)
        return (
            f"Rule: run the cheapest design the selection procedure cannot tell from the "
            f"design it chose as best. The chosen best is {b['label']} (expected "
            f"completion {pct(b['completion_mean'])}%, {b['hours_mean']:.1f} coordinator "
            f"hours); the recommended design was not shown to be more than {zone} worse "
            f"than it and needs {b['hours_mean'] - r['hours_mean']:.1f} fewer coordinator "
            "hours. The guarantee below is about the chosen best, not about this design."
        )

    def findings(self) -> list[str]:
        """The page's first lines, in plain words."""
        p, r = self.plan, self.row(self.recommended)
        lines = [
            f"Recommended design: {r['label']}.",
            self.rule_text,
            (
                f"Expected completion {pct(r['completion_mean'])}% (from "
                f"{pct(r['completion_low'])}% to {pct(r['completion_high'])}% across the "
                f"{len(self.models)} plausible models); mentee skill gain "
                f"{pct(r['learning_mean'])} points (from {pct(r['learning_low'])} to "
                f"{pct(r['learning_high'])})."
            ),
            (
                f"Coordinator hours: {r['hours_mean']:.1f} on average for {p.pairs} pairs over "
                f"{p.weeks} weeks (up to {r['hours_high']:.1f} in the least favourable model), "
                f"against a budget of {p.budget:g}; the chance of exceeding the budget is "
                f"{r['p_over_budget']:.0%} ({int(r['programs'])} simulated programs)."
            ),
        ]
        others = [i for i in self.selection.indistinguishable if i != self.best]
        assert p.delta is not None  # resolved when the plan is built
        if others:
            labels = self.designs.set_index("design").loc[others[:5], "label"].tolist()
            more = f" and {len(others) - 5} more" if len(others) > 5 else ""
            lines.append(
                f"Statistically indistinguishable from the chosen best (not shown to be more "
                f"than {100 * p.delta:g} {p.units} worse): " + "; ".join(labels) + more + "."
            )
        else:
            lines.append(
                f"Every other design was shown to be more than {100 * p.delta:g} {p.units} "
                "worse than the chosen best."
            )
        lines.append(self.change_text)
        lines.append(self.selection.guarantee)
        return lines


def prior_ensemble(n: int = 16, seed: int = 0) -> Ensemble:
    """A *development* ensemble: ``n`` points of a Latin hypercube over the prior.

    Not plausible models (nothing was matched against evidence); for tests and for
    running :func:`advise` before a calibrated ensemble exists. Cohort constants are not
    varied.
    """
    from toolkit.history_matching import prior_sample

    prior = BehaviorModel.priors()
    models = prior_sample(prior, n, seed)
    return Ensemble(
        models,
        prior,
        pd.DataFrame({"target_id": ["none"]}),
        {"name": "prior sample (development only)", "n": int(n)},
        int(seed),
    )


def check_plan(plan: AdvicePlan, models: Ensemble) -> pd.DataFrame:
    """The design space of ``plan`` under ``models``'s first scenarios, refusing (one
    sentence) a plan whose budget or availability no design meets: what can be checked
    before anything is simulated."""
    behaviors = _scenario_behaviors(models.take(min(plan.scenarios, len(models))), plan)
    space = design_space(plan, checkin_minutes=max(b.checkin_minutes for b in behaviors))
    if not space["status"].eq("eligible").any():
        _no_design(space, plan)
    return space


def _scenario_behaviors(models: Ensemble, plan: AdvicePlan) -> list[BehaviorModel]:
    out = models.to_behaviors()
    if plan.availability is not None:
        out = [b.replace(mentee_hours_month=plan.availability) for b in out]
    return out


def _map(mapper: Callable | None, func: Callable, items: list) -> list:
    return list((mapper or map)(func, items))


@dataclass(frozen=True)
class _PanelTask:
    sim: AdviceSimulator
    scenarios: tuple[int, ...]
    replications: tuple[int, ...]

    def __call__(self, designs: np.ndarray) -> pd.DataFrame:
        return self.sim.metrics(designs, self.scenarios, self.replications)


def advise(
    plan: AdvicePlan,
    models: Ensemble,
    *,
    cohort: Cohort | None = None,
    seed: int = 0,
    n0: int = 20,
    block: int = 10,
    panel_replications: int | None = None,
    change_models: int = 200,
    change_replications: int = 10,
    max_replications: int | None = None,
    mapper: Callable | None = None,
    chunk_size: int | None = 50,
) -> Advice:
    """Recommend a design for ``plan`` over the plausible ``models`` (an Ensemble).

    ``cohort`` is a roster (the same people in every replication; ``plan.pairs`` must be
    its number of mentees), else a synthetic cohort of ``plan.pairs`` mentees and
    ``plan.mentors`` mentors is drawn per replication. The selection is robust over the
    first ``plan.scenarios`` models; ``n0`` is its first-stage size, ``block`` how many
    replications each call simulates ahead (decisions do not depend on it).
    ``panel_replications`` (default ``n0``) replications of every scenario evaluate every
    eligible design for the tables and the what-if panel (replications 0.., the same
    random numbers as the selection's first stage). ``change_models`` models (the first
    of the ensemble) x ``change_replications`` replications compare the recommended design
    with its strongest rival. ``mapper`` is any order-keeping ``map`` (a process pool's,
    or for Dask ``lambda f, xs: client.gather(client.map(f, list(xs)))``); the result is
    the same whatever it is.
    """
    from toolkit.sensitivity import sign_boxes

    if not isinstance(plan, AdvicePlan):
        raise fail("plan", _OWNER, "an AdvicePlan", type(plan).__name__)
    if not isinstance(models, Ensemble):
        raise fail("models", _OWNER, "an Ensemble of plausible models", type(models).__name__)
    seed = _seeding.check_seed(seed, _OWNER)
    n0 = check_int(n0, "n0", _OWNER, low=2, high=100_000)
    panel_n = (
        n0
        if panel_replications is None
        else check_int(panel_replications, "panel_replications", _OWNER, low=2, high=100_000)
    )
    change_models = check_int(change_models, "change_models", _OWNER, low=2, high=1_000_000)
    change_replications = check_int(
        change_replications, "change_replications", _OWNER, low=1, high=100_000
    )
    if cohort is not None:
        if not isinstance(cohort, Cohort):
            raise fail(
                "cohort", _OWNER, "a Cohort (a validated roster) or None", type(cohort).__name__
            )
        if len(cohort.mentees) != plan.pairs:
            raise fail(
                "pairs",
                _OWNER,
                f"the roster's number of mentees ({len(cohort.mentees)}) when a roster is given",
                plan.pairs,
            )
    m = min(plan.scenarios, len(models))
    scen_models = models.take(m)
    assert plan.delta is not None  # resolved with the plan
    behaviors = _scenario_behaviors(scen_models, plan)
    checkin_minutes = max(b.checkin_minutes for b in behaviors)
    space = design_space(plan, checkin_minutes=checkin_minutes)
    eligible = space["status"].eq("eligible").to_numpy()
    if not eligible.any():
        return _no_design(space, plan)
    sim = AdviceSimulator(
        arms=tuple((r.policy, _design(r, plan.weeks)) for r in space.itertuples(index=False)),
        behaviors=tuple(behaviors),
        cohort=cohort
        if cohort is not None
        else CohortSpec(n_mentors=plan.mentors or plan.pairs, n_mentees=plan.pairs),
        seed=seed,
        outcome=plan.outcome,
    )
    ids = space.loc[eligible, "design"].to_numpy()
    sel = select_best(
        sim,
        ids,
        delta=100.0 * plan.delta,
        alpha=plan.alpha,
        scenarios=range(m),
        quantile=plan.quantile,
        n0=n0,
        budget=plan.budget,
        fixed_hours=space.loc[eligible, "fixed_hours"].to_numpy(),
        simulated_hours=True,
        max_replications=max_replications,
        block=block,
        mapper=mapper,
        chunk_size=chunk_size,
        units=plan.units,
    )

    # The panel: every eligible design on replications 0..panel_n-1 of every scenario.
    task = _PanelTask(sim, tuple(range(m)), tuple(range(panel_n)))
    pieces = [ids[i : i + _ARMS_PER_CALL] for i in range(0, len(ids), _ARMS_PER_CALL)]
    panel = pd.concat(_map(mapper, task, pieces), ignore_index=True)
    summary = summarise_panel(panel, plan)
    cost, c = marginal_cost(summary["completion_mean"], summary["hours_mean"], plan.pairs)
    summary["marginal_cost"] = cost
    summary["pareto"] = pareto_front(summary["objective"], summary["hours_mean"])
    cheapest = int(summary["design"].iloc[c])

    chosen = sel.designs[
        [
            "design",
            "status",
            "phase",
            "replications",
            "estimate",
            "mean_hours",
            "gap",
            "gap_lower",
            "indistinguishable",
        ]
    ].rename(
        columns={
            "status": "selection_status",
            "estimate": "selection_estimate",
            "mean_hours": "selection_mean_hours",
        }
    )
    table = space.merge(chosen, on="design", how="left").merge(summary, on="design", how="left")
    table["indistinguishable"] = table["indistinguishable"].fillna(False).astype(bool)
    rec = recommend(
        table["design"],
        table["indistinguishable"],
        table["hours_mean"],
        table["objective"],
        best=int(sel.selected),
    )
    table["selected_best"] = table["design"].eq(sel.selected)
    table["recommended"] = table["design"].eq(rec)

    # The strongest rival: the best panel objective among the other designs the
    # selection did not find infeasible on hours.
    ok = (
        table["objective"].notna()
        & ~table["recommended"]
        & ~table["selection_status"].isin(["infeasible", "over budget"])
    )
    rival = int(table.loc[table.loc[ok, "objective"].idxmax(), "design"]) if ok.any() else None
    change, share, n_change = pd.DataFrame(), 0.0, 0
    if rival is not None and len(models) >= 2:
        ch_models = models.take(min(change_models, len(models)))
        n_change = len(ch_models)
        ch_sim = AdviceSimulator(
            arms=sim.arms,
            behaviors=tuple(_scenario_behaviors(ch_models, plan)),
            cohort=sim.cohort,
            seed=seed,
            outcome=plan.outcome,
        )
        frame = ch_sim.metrics([rec, rival], range(n_change), range(change_replications))
        v = frame.groupby(["design", "scenario"], sort=False)[plan.outcome].mean()
        diff = v.loc[rival].to_numpy() - v.loc[rec].to_numpy()
        share = float((diff > 0).mean())
        params = ch_models.models.loc[:, ch_models.models.nunique() > 1]
        if n_change >= _MIN_BOX_MODELS and params.shape[1]:
            change = sign_boxes(params, diff, sign="positive")
    inputs = {
        "seed": seed,
        "n0": n0,
        "block": block,
        "panel_replications": panel_n,
        "change_models": n_change,
        "change_replications": change_replications,
        "scenarios": m,
        "checkin_minutes": checkin_minutes,
        "ensemble": models.procedure.get("name", ""),
        "ensemble_fingerprint": models.fingerprint,
        "cohort": "roster"
        if cohort is not None
        else f"synthetic ({plan.pairs} mentees, {plan.mentors} mentors, drawn per replication)",
    }
    return Advice(
        plan=plan,
        designs=table,
        selection=sel,
        recommended=rec,
        rival=rival,
        change=change,
        change_share=share,
        change_models=n_change,
        models=scen_models.models,
        cheapest=cheapest,
        best=int(sel.selected),
        inputs=inputs,
    )


def _no_design(space: pd.DataFrame, plan: AdvicePlan) -> NoReturn:
    over = space[space["status"].eq("over budget")]
    if over.empty:  # everything over availability
        j = space["meeting_hours_month"].idxmin()
        raise fail(
            "availability",
            _OWNER,
            "at least the lightest design's planned meeting "
            f"hours a month ({space.at[j, 'meeting_hours_month']:.3g} for "
            f"{space.at[j, 'label']})",
            plan.availability,
        )
    j = over["fixed_hours"].idxmin()
    raise fail(
        "budget",
        _OWNER,
        "at least the cheapest design's planned check-in hours "
        f"({space.at[j, 'fixed_hours']:.4g} for {space.at[j, 'label']})",
        plan.budget,
    )


# --------------------------------------------------------------------------- what-if panel

_PANEL_METRICS = {
    "completion": ("completion (%)", 100.0),
    "learning": ("mentee skill gain (points)", 100.0),
    "hours": ("coordinator hours", 1.0),
}


def whatif_data(advice: Advice) -> pd.DataFrame:
    """The what-if panel's data: one row per (simulated design, metric) with mean, low,
    high (the spread across plausible models), exactly the advice table's numbers scaled
    to the panel's units (completion and learning in points, hours as they are)."""
    t = advice.designs[advice.designs["objective"].notna()]
    parts = []
    for name, (label, scale) in _PANEL_METRICS.items():
        parts.append(
            pd.DataFrame(
                {
                    "design": t["design"].to_numpy(),
                    "policy": t["policy"].to_numpy(),
                    "cadence": t["cadence"].to_numpy(),
                    "minutes": t["meeting_minutes"].to_numpy(),
                    "checkins": t["checkins"].to_numpy(),
                    "action": t["on_flag"].to_numpy(),
                    "label": t["label"].to_numpy(),
                    "recommended": t["recommended"].to_numpy(),
                    "metric": label,
                    "mean": t[f"{name}_mean"].to_numpy() * scale,
                    "low": t[f"{name}_low"].to_numpy() * scale,
                    "high": t[f"{name}_high"].to_numpy() * scale,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def whatif_chart(advice: Advice) -> Any:
    """An Altair chart: dropdowns for policy, cadence, meeting length, check-in schedule and
    action; for the chosen design and the recommended one, completion, learning and
    coordinator hours (points: mean; bars: lowest to highest plausible model). Self-
    contained data (no server); save with ``chart.save(path, inline=True)``."""
    import altair as alt

    data = whatif_data(advice)
    rec = advice.row(advice.recommended)

    def pick(name: str, field_name: str, value: Any, options: list) -> Any:
        return alt.param(
            name=name, value=value, bind=alt.binding_select(options=options, name=field_name + " ")
        )

    levels = advice.designs[advice.designs["objective"].notna()]
    params = [
        pick("p_policy", "policy", rec["policy"], sorted(levels["policy"].unique())),
        pick("p_cadence", "cadence", rec["cadence"], list(dict.fromkeys(levels["cadence"]))),
        pick(
            "p_minutes",
            "meeting minutes",
            float(rec["meeting_minutes"]),
            sorted(float(x) for x in levels["meeting_minutes"].unique()),
        ),
        pick("p_checkins", "check-ins", rec["checkins"], list(dict.fromkeys(levels["checkins"]))),
        pick(
            "p_action", "action on a flag", rec["on_flag"], list(dict.fromkeys(levels["on_flag"]))
        ),
    ]
    chosen = (
        "datum.policy == p_policy && datum.cadence == p_cadence && "
        "datum.minutes == p_minutes && datum.checkins == p_checkins && "
        "(datum.action == p_action || datum.checkins == 'none')"
    )
    base = (
        alt.Chart(data)
        .transform_filter(f"datum.recommended || ({chosen})")
        .transform_calculate(
            role=f"({chosen}) ? (datum.recommended ? 'your choice = "
            "recommended' : 'your choice') : 'recommended'"
        )
    )
    y = alt.Y("role:N", title=None, sort=["your choice", "recommended"])
    tip = [
        alt.Tooltip("label:N", title="design"),
        alt.Tooltip("mean:Q", format=".1f"),
        alt.Tooltip("low:Q", format=".1f", title="lowest model"),
        alt.Tooltip("high:Q", format=".1f", title="highest model"),
    ]
    bars = base.mark_rule(strokeWidth=3, opacity=0.5).encode(
        x=alt.X("low:Q", title=None, scale=alt.Scale(zero=False)),
        x2="high:Q",
        y=y,
        color=alt.Color("role:N", legend=None),
    )
    points = base.mark_point(filled=True, size=90).encode(
        x="mean:Q", y=y, color="role:N", tooltip=tip
    )
    chart = (
        alt.layer(bars, points)
        .properties(width=230, height=70)
        .facet(
            facet=alt.Facet("metric:N", title=None, sort=[v[0] for v in _PANEL_METRICS.values()]),
            columns=3,
        )
        .resolve_scale(x="independent")
        .add_params(*params)
        .properties(
            usermeta={"embedOptions": {"actions": False}},  # no links to the online editor
            title=alt.Title(
                "What if: your choice beside the recommended design",
                subtitle=(
                    "Points: mean over the plausible models; bars: lowest to highest model. "
                    "A design outside the budget or availability is not shown."
                ),
            ),
        )
    )
    return chart


# --------------------------------------------------------------------------- Pareto figure


def pareto_figure(advice: Advice) -> Any:
    """Matplotlib figure: each simulated design's selection objective against its mean
    coordinator hours; the Pareto set joined by a line, the recommended design marked, the
    budget as a vertical line. The figure carries ``alt_text`` (as toolkit.plots figures)."""
    import matplotlib.pyplot as plt

    from toolkit.plots import PALETTE, set_theme

    set_theme()
    t = advice.designs[advice.designs["objective"].notna()]
    p = advice.plan
    fig, ax = plt.subplots(figsize=(7.5, 5))
    ax.scatter(
        t["hours_mean"], 100 * t["objective"], s=14, color="#999999", label="design", zorder=2
    )
    front = t[t["pareto"]].sort_values("hours_mean")
    ax.plot(
        front["hours_mean"],
        100 * front["objective"],
        "-o",
        color=PALETTE[0],
        ms=5,
        label="Pareto set",
        zorder=3,
    )
    rec = advice.row(advice.recommended)
    ax.scatter(
        [rec["hours_mean"]],
        [100 * rec["objective"]],
        s=140,
        marker="*",
        color=PALETTE[5],
        label="recommended",
        zorder=4,
    )
    ax.axvline(p.budget, color="#555555", ls="--", lw=1, label="budget")
    ylab = f"{_which(p.quantile)} {p.outcome} over plausible models (points)"
    ax.set_xlabel("mean coordinator hours for the program")
    ax.set_ylabel(ylab)
    ax.legend(loc="best", fontsize=8)
    fig.suptitle("Outcome against coordinator hours")
    fig.alt_text = (  # type: ignore[attr-defined]  # read by toolkit.plots.alt_text
        f"Scatter plot of {len(t)} designs: {ylab} against mean coordinator "
        f"hours; {len(front)} designs form the Pareto set, from "
        f"{front['hours_mean'].min():.1f} to {front['hours_mean'].max():.1f} hours; "
        f"the recommended design ({rec['label']}) is at "
        f"{rec['hours_mean']:.1f} hours and {100 * rec['objective']:.1f} points; "
        f"dashed line: the budget of {p.budget:g} hours."
    )
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- the shortlist


def _role(recommended: bool, best: bool, indistinguishable: bool) -> str:
    """A design's role in the shortlist."""
    if recommended:
        return "recommended (chosen best)" if best else "recommended"
    if best:
        return "chosen best"
    return "indistinguishable" if indistinguishable else "Pareto set"


def shortlist_table(advice: Advice) -> pd.DataFrame:
    """The shortlist of an :class:`Advice`, readable: the recommended design, the chosen best,
    the designs indistinguishable from the chosen best and the Pareto set, each with its
    outcome and spread, hours, chance over budget and marginal cost."""
    from toolkit.report import fmt_number

    t = advice.designs
    best = t["selected_best"]
    keep = t["recommended"] | best | t["indistinguishable"] | t["pareto"].fillna(False).astype(bool)
    t = t[keep & t["objective"].notna()].sort_values(
        ["objective", "hours_mean"], ascending=[False, True]
    )

    def pts(x: Any) -> str:
        return fmt_number(100 * x, 1)

    return pd.DataFrame(
        {
            "design": t["label"].to_numpy(),
            "role": [
                _role(r, b, i)
                for r, b, i in zip(
                    t["recommended"], best[t.index], t["indistinguishable"], strict=True
                )
            ],
            "completion % (lowest-highest model)": [
                f"{pts(m)} ({pts(lo)}-{pts(hi)})"
                for m, lo, hi in zip(
                    t["completion_mean"], t["completion_low"], t["completion_high"], strict=True
                )
            ],
            "skill gain (points)": [pts(m) for m in t["learning_mean"]],
            "coordinator hours": [fmt_number(h, 1) for h in t["hours_mean"]],
            "chance over budget": [f"{p:.0%}" for p in t["p_over_budget"]],
            "hours per extra completed pair": [
                "cheapest" if d == advice.cheapest else "-" if pd.isna(c) else fmt_number(c, 1)
                for d, c in zip(t["design"], t["marginal_cost"], strict=True)
            ],
        }
    )
