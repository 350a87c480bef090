"""Choosing the best program design from noisy simulations, with a statistical guarantee.

Ranking and selection: ``k`` designs, each simulated replication by replication; the
procedure asks the simulator only for what it needs and stops when one design is left.
:func:`select_best` runs, in order,

1. **a budget filter**: designs whose coordinator hours are a fixed property of the design
   (``fixed_hours``) and exceed ``budget`` are dropped before anything is simulated;
2. **screening** (optional, for large ``k``): the screen-to-the-best subset step of Nelson,
   Swann, Goldsman & Song (2001, Oper Res 49:950) on a first stage of ``n0`` replications:
   ``i`` is screened out when its mean is below some ``l``'s by more than
   ``(t S_il / sqrt(n0) - delta)^+``, with ``S_il^2`` the variance of the paired differences
   and ``t`` the Bonferroni t quantile (so the step stays valid under common random
   numbers, where the Slepian argument for independent systems does not apply); the
   survivors go on into the sequential phase with the same first stage (no fresh
   restart). The two phases' errors still add: "the best is screened out" and "the best
   is eliminated by ``l``" (which needs the pair's partial sums to leave KN's triangle on
   the wrong side, an event defined whatever else was screened) are events on one
   probability space, so the union bound holds without independence (derived here; Nelson
   et al. 2001 combine screening with a two-stage procedure, not with KN);
3. **the fully sequential procedure KN** (Kim & Nelson 2001, ACM TOMACS 11:251), valid with
   common random numbers and unequal variances: with first-stage size ``n0``, per-comparison
   error ``beta``, ``eta = ((2 beta)^(-2/(n0-1)) - 1) / 2``, ``h^2 = 2 eta (n0 - 1)`` (c = 1),
   ``S_il^2`` the first-stage sample variance of the paired differences ``X_i - X_l`` and
   ``W_il(r) = max(0, (delta / (2 r)) (h^2 S_il^2 / delta^2 - r))``, design ``i`` is dropped
   after ``r`` replications when its mean is below a survivor ``l``'s mean minus
   ``W_il(r)``. With ``k`` designs and one scenario ``beta = alpha / (k - 1)``, KN's own
   constant. By default (``variance_updating=True``) this is **KN++** (Kim & Nelson 2006,
   Oper Res 54:475): ``S_il^2`` and ``h^2`` are recomputed at every stage from all ``r``
   replications, ``h^2`` with ``r - 1`` degrees of freedom (KN++ uses the Sidak
   ``beta = 1 - (1 - alpha)^(1/(k-1))``; the Bonferroni ``alpha / (k - 1)`` kept here is
   slightly smaller, so more conservative, and valid under CRN). KN's guarantee is exact
   for normal outputs; KN++'s is asymptotic (as ``delta -> 0``, Kim & Nelson 2006), so
   its finite-sample PCS is checked by simulation (``benchmarks/bench_selection.py``,
   ``tests/test_selection.py``);
4. **robust selection over scenarios** (Fan, Hong & Zhang 2020, Manag Sci 66:190): with
   ``m`` scenarios (plausible models) a design's objective is its worst-case mean over the
   scenarios (or a stated lower quantile: the ``s``-th smallest scenario mean,
   ``s = max(1, ceil(quantile * m))``). Every (design, scenario) pair is a *cell*; design
   ``i`` is dropped by design ``l`` when each of ``i``'s ``s`` lowest cells is below each of
   ``l``'s ``m - s + 1`` highest cells by the KN rule. If the best design is ``delta``
   better than design ``l``, a wrong elimination needs one particular pair of cells
   (one of the best's ``m - s + 1`` highest, one of ``l``'s ``s`` lowest) whose true
   means are ``delta`` apart to cross the KN boundary the wrong way, so the union bound
   runs over ``(k - 1) s (m - s + 1)`` cell pairs and ``beta = alpha / ((k-1) s (m-s+1))``
   (``(k - 1) m`` for the worst case). *Taken from the paper* (as far as its published
   abstract and conference version, WSC 2013, could be read here; the full text with its
   constants could not): the objective, the worst-case mean over a finite set of
   plausible distributions, and the indifference-zone PCS ``>= 1 - alpha`` for a fully
   sequential procedure. *Derived here*: the cell-by-cell KN comparisons, the union bound
   over cell pairs and its constant ``beta``, and the quantile (``s > 1``) generalisation,
   which is not in the paper. With one scenario it is exactly KN;
5. **a stochastic constraint** (Andradottir & Kim 2010, Nav Res Logist 57:403; with CRN,
   Healey, Andradottir & Kim 2014): coordinator hours that vary by replication must have
   mean at most ``budget`` in every scenario, with tolerance ``epsilon``. Each cell's
   feasibility is checked sequentially on the partial sums of ``hours - budget`` inside the
   same triangular region, ``R(r) = max(0, h_F^2 S^2 / (2 epsilon) - epsilon r / 2)``:
   feasible when the sum is ``<= -R(r)``, infeasible when it is ``>= R(r)``. Only a design
   already declared feasible may eliminate another by its outcome (so a design that later
   proves infeasible cannot have removed the best feasible one). The union bound runs over
   the best desirable design's ``m`` cells and one bad cell of each other design:
   ``beta_F = alpha_F / (k - 1 + m)``.

``alpha`` is split evenly between the parts that run (selection, and screening and the
feasibility check when they run). **What is guaranteed** is the indifference-zone
statement only: *if* the best design's objective is at least ``delta`` above every other
eligible design's, it is selected with probability at least ``1 - alpha`` (exactly for KN
with normal outputs, asymptotically for KN++). With a constraint, eligible means mean hours
at most ``budget - epsilon`` in every scenario; a design over ``budget + epsilon`` in some
scenario is excluded within the same error. When several designs are within ``delta`` of
the best, nothing is guaranteed: the reading "the selected design is within ``delta`` of
the best with probability ``1 - alpha``" (probability of good selection) is not
established for this procedure (Eckman & Henderson 2018, WSC, study when a good-selection
guarantee follows from an indifference-zone one; no such result was found here for KN with
CRN, screening and scenarios), so the record's sentence does not claim it.

The simulator is a callback ``simulate(designs, scenario, replications)`` returning an
array of outcomes of shape ``(len(designs), len(replications))`` (and, with
``simulated_hours=True``, a pair ``(outcomes, hours)`` of that shape). Replication ``r``
must use the same random numbers for every design (common random numbers) and must not
depend on which other designs or replications were asked for: that is what makes the
procedure deterministic and the same serially or in a pool (``mapper``, any ``map``-like
callable that keeps order, such as ``concurrent.futures.Executor.map``).

Why not BIZ (Frazier 2014, Oper Res 62:926), which removes KN's Bonferroni slack for large
``k``: its bound is proved for *independent* normal samples with known variances (an
integer-multiple structure), its weights use each design's own mean rather than paired
differences, and no version valid with common random numbers, scenarios or a stochastic
constraint was found; with estimated variances its bound is not proved either.
``rmt advise`` simulates with common random numbers, so it keeps KN++.
``benchmarks/bench_selection.py`` runs BIZ on independent synthetic systems for comparison.

Written by hand: no maintained Python library implements KN with CRN, robust scenarios and
a stochastic constraint (the ranking-and-selection code in PyMOSO/SimOpt targets other
problem shapes). Every pairwise step is one numpy operation over the surviving cells; the
only Python loop is over stages (replications), which a sequential procedure has by nature.

>>> means = slippage_means(10, delta=0.5)
>>> system = SyntheticSystem(means, sigma=1.0, seed=3)
>>> sel = select_best(system, range(10), delta=0.5, alpha=0.05)
>>> int(sel.selected)
9
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from toolkit import _seeding
from toolkit._validation import check_bool, check_int, check_real, fail, quote
from toolkit.errors import InvalidParameterError

__all__ = [
    "Selection",
    "SyntheticSystem",
    "increasing_means",
    "kn_h2",
    "select_best",
    "slippage_means",
]

OWNER = "select_best"
SCREEN_AUTO_MIN_DESIGNS = 50  # screening="auto" screens from this many designs on


# ---------------------------------------------------------------------------------------
# constants


def kn_h2(beta: float, n0: int) -> float:
    """KN's ``h^2`` for per-comparison error ``beta`` and first-stage size ``n0`` (c = 1).

    ``eta = ((2 beta)^(-2/(n0-1)) - 1) / 2`` and ``h^2 = 2 eta (n0 - 1)``
    (Kim & Nelson 2001, with ``beta = alpha / (k - 1)`` for ``k`` systems).

    >>> round(kn_h2(0.05 / 9, 10), 3)   # k = 10, alpha = 0.05, n0 = 10
    15.464
    """
    eta = 0.5 * ((2.0 * beta) ** (-2.0 / (n0 - 1)) - 1.0)
    return 2.0 * eta * (n0 - 1)


def _order(quantile: float, m: int) -> int:
    """The order statistic ``s`` (1 = worst case) that the quantile names over ``m`` scenarios."""
    return max(1, math.ceil(quantile * m - 1e-12))


# ---------------------------------------------------------------------------------------
# the record


@dataclass(frozen=True)
class Selection:
    """What :func:`select_best` did and found.

    ``selected`` is the chosen design id; ``designs`` one row per design (``design``,
    ``status``: selected / eliminated / screened / over budget / infeasible / survived;
    ``phase`` and ``eliminated_after`` (replications it had when it left), ``replications``
    used by the procedure, ``replications_simulated`` (can exceed ``replications`` with
    ``block > 1``), ``estimate`` (its objective from its replications), ``fixed_hours``,
    ``mean_hours``; ``gap``, the selected design's objective minus this one's on the
    replications they share, ``gap_lower`` its simultaneous lower confidence bound and
    ``indistinguishable``, ``gap_lower < delta``); ``cells`` one row per (design, scenario) with
    mean, sd, mean hours and feasibility; ``stages`` one row per stage (``phase``,
    ``replication``: replications each survivor has had, ``survivors``); ``indistinguishable``
    the designs not shown to be more than ``delta`` worse than the selected one;
    ``guarantee`` a sentence; ``guarantee_holds`` False only when ``max_replications`` cut
    the procedure short; ``inputs`` every input and constant.
    """

    selected: int
    designs: pd.DataFrame
    cells: pd.DataFrame
    stages: pd.DataFrame
    indistinguishable: tuple[int, ...]
    guarantee: str
    guarantee_holds: bool
    inputs: dict[str, Any] = field(default_factory=dict)

    @property
    def replications(self) -> pd.Series:
        """Replications used per design (indexed by design id)."""
        return self.designs.set_index("design")["replications"]

    @property
    def total_replications(self) -> int:
        """Replications used over all designs and scenarios (one per design per scenario)."""
        return int(self.designs["replications"].sum()) * len(self.inputs["scenarios"])

    def survivors_at(self, replication: int) -> tuple[int, ...]:
        """Designs still in the running once the survivors had ``replication`` replications."""
        d = self.designs
        keep = d["status"].isin(["selected", "survived"]) | (d["eliminated_after"] > replication)
        keep &= ~d["status"].eq("over budget")
        return tuple(int(x) for x in d.loc[keep, "design"])


# ---------------------------------------------------------------------------------------
# synthetic systems with known means (tests, benchmarks, teaching)


def slippage_means(k: int, delta: float, *, scenarios: int = 1) -> np.ndarray:
    """The least favourable configuration: the last design ``delta`` above all others (0).

    Shape ``(k, scenarios)``; every scenario has the same means.
    """
    k = check_int(k, "k", "slippage_means", low=1)
    mu = np.zeros((k, scenarios))
    mu[-1] = delta
    return mu


def increasing_means(k: int, delta: float, *, scenarios: int = 1) -> np.ndarray:
    """Monotone increasing means ``mu_i = (i - k + 1) delta``: the best is the last, at 0."""
    k = check_int(k, "k", "increasing_means", low=1)
    mu = (np.arange(k, dtype=float) - (k - 1)) * delta
    return np.repeat(mu[:, None], scenarios, axis=1)


@dataclass(frozen=True, eq=False)
class SyntheticSystem:
    """Normal outputs with known means: ``X_ij(r) = mu_ij + sigma_ij (sqrt(rho) Z_0 + sqrt(1-rho) Z_i)``.

    ``means`` has shape ``(k, m)`` (or ``(k,)`` for one scenario); ``sigma`` is a scalar
    or the same shape; ``correlation`` is the common-random-numbers correlation ``rho``
    between designs within a replication. Replication ``r`` of scenario ``j`` draws from
    the named stream ``(seed, "synthetic", j, r)``, so a design's output never depends on
    which other designs or replications were asked for. With ``hours_mean`` (shape like
    ``means``) the call also returns hours ``hours_mean + hours_sd * Z'`` (a second stream).
    Picklable, so it runs in a process pool.
    """

    means: Any
    sigma: Any = 1.0
    correlation: float = 0.0
    seed: int = 0
    hours_mean: Any = None
    hours_sd: Any = 1.0

    def _grid(self, value: Any) -> np.ndarray:
        """``value`` (a scalar, one per design, or one per cell) on the (k, m) grid."""
        arr = np.asarray(value, dtype=float)
        if arr.ndim == 1:
            arr = arr[:, None]
        return np.broadcast_to(arr, self.mu.shape)

    @property
    def mu(self) -> np.ndarray:
        mu = np.atleast_1d(np.asarray(self.means, dtype=float))
        return mu[:, None] if mu.ndim == 1 else mu

    def __call__(self, designs: np.ndarray, scenario: int, replications: np.ndarray) -> Any:
        mu = self.mu
        k = mu.shape[0]
        designs = np.asarray(designs, dtype=int)
        reps = np.asarray(replications, dtype=int)
        sig = self._grid(self.sigma)[designs, scenario]
        rho = float(self.correlation)
        z = np.empty((len(reps), k + 1))
        zh = np.empty((len(reps), k)) if self.hours_mean is not None else None
        for t, r in enumerate(reps):  # one named stream per replication: CRN by construction
            g = _seeding.rng(self.seed, "synthetic", int(scenario), int(r))
            z[t] = g.standard_normal(k + 1)
            if zh is not None:
                zh[t] = g.standard_normal(k)
        noise = math.sqrt(rho) * z[:, :1] + math.sqrt(1.0 - rho) * z[:, 1:][:, designs]
        out = mu[designs, scenario][:, None] + sig[:, None] * noise.T
        if zh is None:
            return out
        hm = self._grid(self.hours_mean)[designs, scenario]
        hs = self._grid(self.hours_sd)[designs, scenario]
        return out, hm[:, None] + hs[:, None] * zh[:, designs].T


# ---------------------------------------------------------------------------------------
# input checks


def _check_ids(values: Any, name: str) -> np.ndarray:
    allowed = "a non-empty sequence of distinct integer ids"
    if isinstance(values, str | bytes):
        raise fail(name, OWNER, allowed, values)
    try:
        arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values)
    except TypeError:
        raise fail(name, OWNER, allowed, values) from None
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise fail(name, OWNER, allowed, values if arr.size < 20 else f"{arr.size} values")
    if len(np.unique(arr)) != arr.size:
        raise fail(name, OWNER, allowed, values if arr.size < 20 else f"{arr.size} values")
    return arr.astype(np.int64)


def _check_hours(values: Any, k: int) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise fail("fixed_hours", OWNER, f"{k} finite non-negative numbers", values) from None
    if arr.shape != (k,) or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise fail(
            "fixed_hours", OWNER, f"{k} finite non-negative numbers (one per design)", values
        )
    return arr


def _checked_output(
    out: Any, n_designs: int, n_reps: int, want_hours: bool, scenario: int
) -> tuple[np.ndarray, np.ndarray | None]:
    what = "a pair (outcomes, hours)" if want_hours else "an array"
    if want_hours:
        if not (isinstance(out, tuple) and len(out) == 2):
            raise InvalidParameterError(
                f"The 'simulate' callback of {OWNER} must return {what} of shape "
                f"({n_designs}, {n_reps}) with simulated_hours=True; got {type(out).__name__} "
                f"for scenario {scenario}."
            )
        parts: tuple[Any, ...] = tuple(out)
    else:
        parts = (out,)
    arrays = []
    for label, part in zip(("outcomes", "hours"), parts, strict=False):
        arr = np.asarray(part, dtype=float)
        if arr.shape != (n_designs, n_reps) or not np.all(np.isfinite(arr)):
            got = f"shape {arr.shape}" if arr.shape != (n_designs, n_reps) else "non-finite values"
            raise InvalidParameterError(
                f"The 'simulate' callback of {OWNER} must return finite {label} of shape "
                f"({n_designs}, {n_reps}) (designs x replications); got {got} for scenario "
                f"{scenario}."
            )
        arrays.append(arr)
    return arrays[0], (arrays[1] if want_hours else None)


def _call(task: tuple) -> Any:
    """Run one simulator task (a top-level function, so a process pool can pickle it)."""
    simulate, designs, scenario, reps = task
    return simulate(designs, scenario, reps)


# ---------------------------------------------------------------------------------------
# the pairwise steps (vectorised over every surviving cell pair)


def _theta(means: np.ndarray, s: int) -> np.ndarray:
    """Each design's objective: the ``s``-th smallest of its scenario means."""
    return np.sort(means, axis=1)[:, s - 1]


def _dominated(
    means: np.ndarray,
    cand: np.ndarray,
    elim: np.ndarray,
    s: int,
    gather: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> np.ndarray:
    """Which of designs ``cand`` some design in ``elim`` beats, cell pair by cell pair.

    ``means`` is (designs, m) over local design positions; design ``i`` is beaten by ``l``
    when, for each of ``i``'s ``s`` lowest cells ``a`` and each of ``l``'s ``m - s + 1``
    highest cells ``b``, ``mean_b - margin_ab > mean_a`` (``gather(a_cells, b_cells)``
    returns the margins of every pair of the two flat index arrays as a matrix).
    """
    if cand.size == 0 or elim.size == 0:
        return np.zeros(cand.size, dtype=bool)
    m = means.shape[1]
    order = np.argsort(means, axis=1, kind="stable")
    low = cand[:, None] * m + order[cand, :s]  # (c, s) local cell ids
    high = elim[:, None] * m + order[elim, s - 1 :]  # (e, m - s + 1)
    flat = means.ravel()
    margin = gather(low.ravel(), high.ravel()).reshape(low.shape + high.shape)
    beats = (flat[high][None, None] - margin > flat[low][:, :, None, None]).all(axis=(1, 3))
    beats &= cand[:, None] != elim[None, :]
    return beats.any(axis=1)


def _pair_variances(first: np.ndarray) -> np.ndarray:
    """Sample variances of every paired cell difference over the rows of ``first``."""
    cov = np.atleast_2d(np.cov(first, rowvar=False))
    d = np.diag(cov)
    return np.maximum(d[:, None] + d[None, :] - 2.0 * cov, 0.0)


class _KN:
    """KN's continuation region over the cells of the designs that entered the sequential phase.

    ``A[a, b] = h^2 S_ab^2 / (2 delta)``, so ``W_ab(r) = max(0, A[a, b] / r - delta / 2)``.
    Without variance updating (KN, Kim & Nelson 2001) ``S^2`` and ``h^2`` come from the
    first ``n0`` replications and never change. With it (KN++, Kim & Nelson 2006, Oper Res
    54:475) both are recomputed at every stage from all ``r`` replications so far:
    ``S_ab^2(r)`` the sample variance of the paired differences and ``h^2`` with ``r - 1``
    degrees of freedom (running sums of cross-products over the live cells only, compacted
    as designs leave; one outer product a stage).
    """

    def __init__(self, run, first, m, beta, delta, updating):
        self.run, self.m, self.beta, self.delta = run, m, beta, delta
        self.updating = bool(updating)
        n0, dm = first.shape
        self.h2 = kn_h2(beta, n0)
        self.design = np.repeat(np.arange(len(run)), m)  # local design of each cell
        self.A0 = self.h2 * _pair_variances(first) / (2.0 * delta)
        other = self.design[:, None] != self.design[None, :]
        amax = float(self.A0[other].max()) if len(run) > 1 else 0.0
        self.end = math.floor(2.0 * amax / delta) + 1  # KN's last stage (fixed variances)
        self.amin0 = np.where(other, self.A0, np.inf).reshape(len(run), m, dm).min(axis=(1, 2))
        self.r = n0
        self.cells = np.arange(dm)  # local ids of the cells kept (live designs)
        self.last_amin: np.ndarray | None = None
        self.pos = np.arange(dm)  # local cell id -> row of the compact arrays
        if self.updating:
            self.centre = first.mean(axis=0)
            z = first - self.centre
            self.zsum = z.sum(axis=0)
            self.cross = z.T @ z
            self.live_block = self._block()

    def _block(self) -> np.ndarray:
        """``A`` between every pair of kept cells, from the running sums (KN++)."""
        r = self.r
        zbar = self.zsum / r
        dg = np.diag(self.cross)
        ss = self.cross * -2.0
        ss += dg[:, None]
        ss += dg[None, :]
        ss -= r * (zbar[:, None] - zbar[None, :]) ** 2
        np.maximum(ss, 0.0, out=ss)
        ss *= self.h2 / ((r - 1) * 2.0 * self.delta)
        return ss

    def update(self, y, offset, g, live, sign):
        """Bring the live cells' ``S^2`` and ``h^2`` to ``r = g - offset`` replications (KN++)."""
        r = g - offset
        if not self.updating or r <= self.r:
            return
        keep = np.repeat(live, self.m)[self.cells]
        if not keep.all():  # compact the running sums to the live cells
            self.cells, self.centre = self.cells[keep], self.centre[keep]
            self.zsum, self.cross = self.zsum[keep], self.cross[np.ix_(keep, keep)]
            self.pos[self.cells] = np.arange(len(self.cells))
        for t in range(self.r, r):  # one row a stage
            z = y[offset + t][self.run, :].reshape(-1)[self.cells] * sign - self.centre
            self.zsum += z
            self.cross += np.outer(z, z)
        self.r = r
        self.h2 = kn_h2(self.beta, r)
        self.live_block = self._block()
        self.last_amin = None

    def margin(self, r: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """``W_ab(r)`` for cell index arrays (local cell ids), for :func:`_dominated`."""

        def w(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            if self.updating:
                out = self.live_block[np.ix_(self.pos[a], self.pos[b])]
            else:
                out = self.A0[np.ix_(a, b)]
            out *= 1.0 / r
            out -= self.delta / 2.0
            return np.maximum(out, 0.0, out=out)

        return w

    def amin(self) -> np.ndarray:
        """Per local design, its smallest ``A`` against the cells of the other designs
        (live ones with updating; ``inf`` for a design not kept)."""
        if not self.updating:
            return self.amin0
        d = len(self.run)
        dc = self.design[self.cells]
        blk = np.where(dc[:, None] != dc[None, :], self.live_block, np.inf)
        low = np.full(d, np.inf)
        np.minimum.at(low, dc, blk.min(axis=1))
        self.last_amin = low
        return low

    def all_zero(self, r: int, live: np.ndarray) -> bool:
        """True when every ``W`` between the ``live`` designs is 0 (the triangle has closed)."""
        if not self.updating:
            return r >= self.end
        keep = np.repeat(live, self.m)[self.cells]
        dc = self.design[self.cells][keep]
        if (dc == dc[0]).all():
            return True
        # max A >= every live design's smallest A (computed this stage): a cheap "not yet"
        low = self.last_amin
        if low is not None and 2.0 * float(np.max(low[live], initial=0.0)) / self.delta >= r:
            return False
        blk = self.live_block if keep.all() else self.live_block[np.ix_(keep, keep)]
        top = float(np.where(dc[:, None] != dc[None, :], blk, 0.0).max())
        return 2.0 * top / self.delta < r


# ---------------------------------------------------------------------------------------
# the procedure


class _Sampler:
    """Asks the simulator for blocks of replications and keeps every used value.

    All designs still running have had the same replications, 0..frontier-1, so one
    block call per scenario serves all of them (split into ``chunk_size`` pieces).
    """

    def __init__(self, simulate, ids, m_scen, scenarios, want_hours, mapper, chunk_size):
        self.simulate, self.ids, self.scenarios = simulate, ids, scenarios
        self.want_hours, self.mapper, self.chunk = want_hours, mapper, chunk_size
        k, m = len(ids), m_scen
        self.y = np.full((64, k, m), np.nan)
        self.h: np.ndarray | None = np.full((64, k, m), np.nan) if want_hours else None
        self.frontier = 0
        self.simulated = np.zeros(k, dtype=np.int64)

    def _grow(self, need: int) -> None:
        if need <= self.y.shape[0]:
            return
        cap = max(need, 2 * self.y.shape[0])
        pad = np.full((cap - self.y.shape[0], *self.y.shape[1:]), np.nan)
        self.y = np.concatenate([self.y, pad])
        if self.h is not None:
            self.h = np.concatenate([self.h, pad.copy()])

    def extend(self, alive: np.ndarray, count: int) -> None:
        """Simulate replications frontier..frontier+count-1 for designs ``alive``."""
        pos = np.flatnonzero(alive)
        reps = np.arange(self.frontier, self.frontier + count, dtype=np.int64)
        chunk = self.chunk or len(pos)
        pieces = [pos[i : i + chunk] for i in range(0, len(pos), chunk)]
        tasks = [
            (self.simulate, self.ids[p], int(sc), reps) for sc in self.scenarios for p in pieces
        ]
        results = list(self.mapper(_call, tasks))
        self._grow(self.frontier + count)
        sl = slice(self.frontier, self.frontier + count)
        t = 0
        for j, sc in enumerate(self.scenarios):
            for p in pieces:
                out, hours = _checked_output(results[t], len(p), count, self.want_hours, int(sc))
                self.y[sl, p, j] = out.T
                if hours is not None and self.h is not None:
                    self.h[sl, p, j] = hours.T
                t += 1
        self.simulated[pos] += count
        self.frontier += count


def _check_inputs(
    designs,
    delta,
    alpha,
    scenarios,
    quantile,
    n0,
    screening,
    budget,
    fixed_hours,
    simulated_hours,
    hours_tolerance,
    max_replications,
    block,
    mapper,
    chunk_size,
    simulate,
    units,
    variance_updating,
):
    if not callable(simulate):
        raise fail(
            "simulate",
            OWNER,
            "a callable simulate(designs, scenario, replications)",
            type(simulate).__name__,
        )
    ids = _check_ids(designs, "designs")
    scen = _check_ids(scenarios, "scenarios")
    out: dict[str, Any] = {
        "ids": ids,
        "scenarios": scen,
        "delta": check_real(delta, "delta", OWNER, low=0, closed="right"),
        "alpha": check_real(alpha, "alpha", OWNER, low=0, high=1, closed="neither"),
        "quantile": check_real(quantile, "quantile", OWNER, low=0, high=1),
        "n0": check_int(n0, "n0", OWNER, low=2, high=100_000),
        "block": check_int(block, "block", OWNER, low=1, high=1_000_000),
        "simulated_hours": check_bool(simulated_hours, "simulated_hours", OWNER),
        "variance_updating": check_bool(variance_updating, "variance_updating", OWNER),
    }
    if screening not in (True, False, "auto") or isinstance(screening, np.bool_):
        raise fail("screening", OWNER, "True, False or 'auto'", screening)
    out["screening"] = screening
    out["budget"] = (
        None if budget is None else check_real(budget, "budget", OWNER, low=0, closed="right")
    )
    if (fixed_hours is not None or out["simulated_hours"]) and out["budget"] is None:
        raise fail(
            "budget",
            OWNER,
            "a positive number when fixed_hours or simulated_hours is given",
            budget,
        )
    out["fixed_hours"] = None if fixed_hours is None else _check_hours(fixed_hours, len(ids))
    if hours_tolerance is None:
        out["hours_tolerance"] = None if out["budget"] is None else 0.05 * out["budget"]
    else:
        out["hours_tolerance"] = check_real(
            hours_tolerance, "hours_tolerance", OWNER, low=0, closed="right"
        )
    out["max_replications"] = (
        None
        if max_replications is None
        else check_int(max_replications, "max_replications", OWNER, low=out["n0"])
    )
    if mapper is not None and not callable(mapper):
        raise fail(
            "mapper",
            OWNER,
            "a map-like callable (builtins.map, Executor.map) or None",
            type(mapper).__name__,
        )
    out["mapper"] = builtins.map if mapper is None else mapper
    if not isinstance(units, str) or not units.strip():
        raise fail("units", OWNER, "a non-empty string naming the outcome's units", units)
    out["chunk_size"] = (
        None if chunk_size is None else check_int(chunk_size, "chunk_size", OWNER, low=1)
    )
    return out


def select_best(
    simulate: Callable[..., Any],
    designs: Iterable[int],
    *,
    delta: float,
    alpha: float = 0.05,
    scenarios: Iterable[int] = (0,),
    quantile: float = 0.0,
    n0: int = 20,
    screening: bool | str = "auto",
    budget: float | None = None,
    fixed_hours: Any = None,
    simulated_hours: bool = False,
    hours_tolerance: float | None = None,
    max_replications: int | None = None,
    block: int = 1,
    mapper: Callable | None = None,
    chunk_size: int | None = None,
    units: str = "outcome units",
    maximize: bool = True,
    variance_updating: bool = True,
) -> Selection:
    """Select the design with the best (worst-case) mean outcome; picks it w.p. >= ``1 - alpha`` if it leads by ``delta``.

    ``simulate(designs, scenario, replications)`` returns outcomes of shape
    ``(len(designs), len(replications))`` (with ``simulated_hours=True`` a pair
    ``(outcomes, hours)``), replication ``r`` using the same random numbers for every
    design. ``designs`` are integer ids passed back to ``simulate``; ``scenarios`` the
    integer scenario (plausible-model) ids. ``delta`` is the indifference zone in outcome
    units, ``alpha`` in (0, 1). ``quantile`` 0 selects on the worst case over scenarios;
    ``q`` in (0, 1] on the ``ceil(q m)``-th smallest scenario mean. ``screening``: True,
    False, or ``"auto"`` (screen when there are at least 50 designs after the budget
    filter). ``fixed_hours`` (one per design) drop designs over ``budget`` before anything
    is simulated; ``simulated_hours`` adds the stochastic constraint (mean hours <=
    ``budget`` in every scenario, tolerance ``hours_tolerance``, default 5% of the budget).
    ``block`` replications are simulated per call (decisions are identical for every
    ``block``; only wasted simulation of designs eliminated mid-block changes);
    ``mapper`` is a map-like callable that keeps order (``map``, ``Executor.map``,
    ``Client.map`` wrapped to gather); ``max_replications`` caps each design's
    replications (the guarantee then no longer holds and the record says so).
    ``maximize=False`` selects the smallest mean. ``variance_updating`` (default True) runs
    KN++ (variances and ``h^2`` updated every stage; asymptotically valid) instead of KN
    (first-stage variances; exactly valid for normal outputs).

    Raises :class:`~toolkit.errors.InvalidParameterError` on bad input, and when no design
    meets the budget (naming the cheapest design's hours).
    """
    c = _check_inputs(
        designs,
        delta,
        alpha,
        scenarios,
        quantile,
        n0,
        screening,
        budget,
        fixed_hours,
        simulated_hours,
        hours_tolerance,
        max_replications,
        block,
        mapper,
        chunk_size,
        simulate,
        units,
        variance_updating,
    )
    ids, scen, delta, alpha, n0 = c["ids"], c["scenarios"], c["delta"], c["alpha"], c["n0"]
    k, m = len(ids), len(scen)
    s = _order(c["quantile"], m)
    sign = 1.0 if check_bool(maximize, "maximize", OWNER) else -1.0
    budget, eps, want_h = c["budget"], c["hours_tolerance"], c["simulated_hours"]

    status = np.array(["survived"] * k, dtype=object)
    phase = np.array([""] * k, dtype=object)
    elim_after = np.full(k, -1, dtype=np.int64)
    alive = np.ones(k, dtype=bool)

    # 1. designs whose hours are fixed: filtered directly
    if c["fixed_hours"] is not None:
        over = c["fixed_hours"] > budget
        if over.all():
            j = int(np.argmin(c["fixed_hours"]))
            raise InvalidParameterError(
                f"The 'budget' parameter of {OWNER} must be at least the cheapest design's "
                f"coordinator hours ({c['fixed_hours'][j]:.4g} for design {ids[j]}); got "
                f"{quote(budget)}."
            )
        status[over], phase[over], alive[over] = "over budget", "budget filter", False
        elim_after[over] = 0

    d0 = int(alive.sum())
    screen = (d0 >= SCREEN_AUTO_MIN_DESIGNS) if c["screening"] == "auto" else c["screening"]
    screen = bool(screen) and d0 > 1
    parts = ["selection"] + (["screening"] * screen) + (["feasibility"] * want_h)
    a_part = alpha / len(parts)

    sampler = _Sampler(simulate, ids, m, scen, want_h, c["mapper"], c["chunk_size"])
    cap = c["max_replications"]
    stages: list[tuple[str, int, int]] = [("budget filter", 0, d0)]

    # feasibility state per cell: 0 undetermined, 1 feasible, -1 infeasible
    feas = np.zeros((k, m), dtype=np.int8) if want_h else np.ones((k, m), dtype=np.int8)
    hsum = np.zeros((k, m))
    hF2 = kn_h2(a_part / (d0 - 1 + m), n0) if want_h else 0.0
    s2h = None

    def leave(mask: np.ndarray, why: str, ph: str, g: int) -> None:
        status[mask], phase[mask], elim_after[mask] = why, ph, g
        alive[mask] = False

    def feasibility(g: int) -> None:
        if not want_h:
            return
        und = (feas == 0) & alive[:, None]
        if not und.any():
            return
        assert s2h is not None and budget is not None  # set before the first check
        rad = np.maximum(hF2 * s2h / (2.0 * eps) - eps * g / 2.0, 0.0)
        dsum = hsum - g * budget
        feas[und & (dsum <= -rad)] = 1
        feas[und & (dsum > -rad) & (dsum >= rad)] = -1
        bad = alive & (feas == -1).any(axis=1)
        if bad.any():
            leave(bad, "infeasible", "feasibility", g)

    def feasible_design() -> np.ndarray:
        return (feas == 1).all(axis=1)

    def no_design_meets_budget() -> InvalidParameterError:
        ran = sampler.simulated > 0
        mean_h = np.where(ran[:, None], hsum / np.maximum(sampler.simulated, 1)[:, None], np.inf)
        worst = mean_h.max(axis=1)
        j = int(np.argmin(worst))
        return InvalidParameterError(
            f"The 'budget' parameter of {OWNER} must be met by at least one design, but every "
            f"design's coordinator hours exceed it (the cheapest, design {ids[j]}, needs "
            f"{worst[j]:.4g} hours on average in its worst scenario); got {quote(budget)}."
        )

    g = 0  # replications every running design has had
    used = np.zeros(k, dtype=np.int64)
    xsum = np.zeros((k, m))
    offset = 0  # first replication of the sequential phase
    constants: dict[str, Any] = {"order_s": s, "alpha_each": a_part, "parts": parts}
    kn = None  # sequential-phase state once started
    capped = False
    block_n = c["block"]

    def add(count_to: int) -> None:
        """Bring every running design to ``count_to`` replications (simulating ahead)."""
        nonlocal g
        while g < count_to:
            if sampler.frontier <= g:
                want = max(block_n, count_to - g)
                if cap is not None:
                    want = min(want, cap - sampler.frontier)
                sampler.extend(alive, want)
            y = sampler.y[g] * sign
            xsum[alive] += y[alive] if g >= offset else 0.0
            if want_h and sampler.h is not None:
                hsum[alive] += sampler.h[g][alive]
            used[alive] += 1
            g += 1

    if d0 == 1 and not want_h:
        pass
    else:
        add(n0)
        if want_h and sampler.h is not None:
            s2h = np.var(sampler.h[:n0], axis=0, ddof=1)
        feasibility(g)
        stages.append(("first stage", g, int(alive.sum())))

        # 2. screening on the first stage (Nelson, Swann, Goldsman & Song 2001, Bonferroni)
        if screen:
            run = np.flatnonzero(alive)
            d = len(run)
            beta = a_part / max((d - 1) * s * (m - s + 1), 1)
            t = float(stats.t.ppf(1.0 - beta, n0 - 1))
            first = sampler.y[:n0][:, run, :].reshape(n0, d * m) * sign
            s2 = _pair_variances(first)
            wscreen = np.maximum(t * np.sqrt(s2 / n0) - delta, 0.0)
            means = first.mean(axis=0).reshape(d, m)
            elim = np.flatnonzero(feasible_design()[run])
            out = _dominated(means, np.arange(d), elim, s, lambda a, b: wscreen[np.ix_(a, b)])
            leave(run[out], "screened", "screening", g)
            constants.update(screen_t=t, screen_beta=beta, screened_designs=d)
            stages.append(("screening", g, int(alive.sum())))
            # the sequential phase goes on from the same first stage (no fresh restart):
            # the two phases' errors are events on one probability space and add

        # 3. fully sequential phase (KN, robust over scenarios, constrained)
        while True:
            if alive.sum() == 0:
                raise no_design_meets_budget()
            if alive.sum() == 1 and feasible_design()[alive].all():
                break
            r = g - offset
            if r < n0:
                if cap is not None and g >= cap:
                    capped = True
                    break
                add(g + 1)
                feasibility(g)
                continue
            if kn is None:
                run = np.flatnonzero(alive)
                d = len(run)
                beta = a_part / max((d - 1) * s * (m - s + 1), 1)
                first = sampler.y[offset : offset + n0][:, run, :].reshape(n0, d * m) * sign
                kn = _KN(run, first, m, beta, delta, c["variance_updating"])
                constants.update(
                    kn_beta=beta,
                    kn_h2=kn.h2,
                    kn_designs=d,
                    kn_last_stage=kn.end,
                    kn_variance_updating=c["variance_updating"],
                )
            run = kn.run
            live = alive[run]
            loc = np.flatnonzero(live)
            kn.update(sampler.y, offset, g, live, sign)
            means = xsum[run] / r
            theta = _theta(means, s)
            elig = loc[feasible_design()[run][loc]]
            if elig.size and loc.size > 1:
                top = np.sort(theta[elig])[::-1]
                best_l = elig[np.argmax(theta[elig])]
                top_excl = np.where(loc == best_l, top[1] if top.size > 1 else -np.inf, top[0])
                wmin = np.maximum(kn.amin()[loc] / r - delta / 2.0, 0.0)
                cand = loc[theta[loc] < top_excl - wmin]
                out = _dominated(means, cand, elig, s, kn.margin(r))
                if out.any():
                    leave(run[cand[out]], "eliminated", "sequential", g)
            n_alive = int(alive.sum())
            if n_alive == 0:
                raise no_design_meets_budget()
            stages.append(("sequential", g, n_alive))
            undetermined = alive & ~feasible_design()
            if n_alive == 1 and not undetermined.any():
                break
            if kn.all_zero(r, alive[run]) and not undetermined.any():
                break  # every W is 0: ties left; the best mean wins below
            if cap is not None and g >= cap:
                capped = True
                break
            add(g + 1)
            feasibility(g)

    # the decision
    run_all = np.flatnonzero(alive)
    if run_all.size == 0:
        raise no_design_meets_budget()
    fd = feasible_design()
    pool = run_all[fd[run_all]] if fd[run_all].any() else run_all
    if g > offset:  # the sequential phase's own replications
        theta_pool = _theta(xsum[pool] / (g - offset), s)
    else:  # stopped by max_replications before it began: the first stage
        theta_pool = (
            _theta(sign * sampler.y[: max(g, 1), pool, :].mean(axis=0), s)
            if g
            else np.zeros(len(pool))
        )
    winner = int(pool[np.argmax(theta_pool)])  # first index among exact ties
    status[winner], phase[winner] = "selected", phase[winner] or "sequential"
    rest = alive.copy()
    rest[winner] = False
    status[rest], phase[rest] = "survived", "sequential"

    # 4. the record
    ind = _indistinguishable(sampler.y, used, winner, s, delta, alpha, sign, status)
    return _record(
        ids,
        scen,
        sampler,
        used,
        status,
        phase,
        elim_after,
        ind,
        winner,
        s,
        sign,
        stages,
        constants,
        c,
        capped,
        units,
        hsum,
        feas,
        d0,
    )


def _indistinguishable(
    y: np.ndarray,
    used: np.ndarray,
    winner: int,
    s: int,
    delta: float,
    alpha: float,
    sign: float,
    status: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Designs not shown to be more than ``delta`` worse than the selected one.

    On the replications design ``i`` shares with the selected design (its first ``n_i``):
    ``gap`` estimates ``theta_selected - theta_i``; ``gap_lower`` is the smallest lower
    one-sided t bound of ``mu_b - mu_a`` over ``i``'s ``s`` lowest cells ``a`` and the
    selected design's ``m - s + 1`` highest cells ``b``, Bonferroni over every cell pair
    (``(k - 1) m^2`` comparisons at level ``alpha``, since the cells are picked from the
    data). Because ``theta_i <= max_a mu_a`` and ``theta_selected >= min_b mu_b``, it is a
    lower bound on ``theta_selected - theta_i``; ``i`` is indistinguishable when it is below
    ``delta``. A description after the fact, not part of the guarantee (the selected design
    was chosen from the same data). Computed with matrix products over masked
    replications, no loop over designs.
    """
    k, m = y.shape[1], y.shape[2]
    eligible = np.isin(status, ["selected", "survived", "eliminated", "screened"]) & (used > 0)
    ind = np.zeros(k, dtype=bool)
    ind[winner] = True
    gap = np.full(k, np.nan)
    gap_lower = np.full(k, np.nan)
    others = np.flatnonzero(eligible & (np.arange(k) != winner))
    if used[winner] > 0:
        gap[winner] = 0.0
    if others.size == 0:
        return ind, gap, gap_lower
    o = len(others)
    rmax = int(used[others].max())
    ysel = y[:rmax, winner, :] * sign  # (R, m)
    centre = ysel.mean()
    ysel = ysel - centre
    ya = y[:rmax, others, :] * sign - centre  # (R, o, m)
    mask = (np.arange(rmax)[:, None] < used[others][None, :]).astype(float)  # (R, o)
    ya = np.where(mask[:, :, None] > 0, ya, 0.0).reshape(rmax, -1)  # (R, o*m)
    mk = np.repeat(mask, m, axis=1)  # (R, o*m)
    n = used[others].astype(float)
    nn = np.repeat(n, m)[:, None]  # (o*m, 1)
    sum_b = mk.T @ ysel  # (o*m, m): sum of Y_b over i's replications
    sum_b2 = mk.T @ ysel**2
    sum_ab = ya.T @ ysel
    sum_a = ya.sum(axis=0)[:, None]
    sum_a2 = (ya**2).sum(axis=0)[:, None]
    mean_diff = (sum_b - sum_a) / nn  # (o*m, m): mean of Y_b - Y_a
    ss = sum_b2 - 2.0 * sum_ab + sum_a2 - nn * mean_diff**2
    var = np.maximum(ss, 0.0) / (nn - 1.0)
    t = stats.t.ppf(1.0 - alpha / (o * m * m), n - 1.0)  # (o,)
    lower = mean_diff - np.repeat(t, m)[:, None] * np.sqrt(var / nn)
    lower = lower.reshape(o, m, m)  # [design, cell a of i, cell b of winner]
    mean_a = (sum_a[:, 0] / nn[:, 0]).reshape(o, m)
    mean_b = (sum_b / nn).reshape(o, m, m)[:, 0, :]  # winner's means on i's replications
    gap[others] = np.sort(mean_b, axis=1)[:, s - 1] - np.sort(mean_a, axis=1)[:, s - 1]
    low = np.argsort(mean_a, axis=1, kind="stable")[:, :s]  # (o, s)
    high = np.argsort(mean_b, axis=1, kind="stable")[:, s - 1 :]  # (o, m-s+1)
    rows = np.arange(o)[:, None, None]
    gap_lower[others] = lower[rows, low[:, :, None], high[:, None, :]].min(axis=(1, 2))
    ind[others] = gap_lower[others] < delta
    return ind, gap, gap_lower


def _record(
    ids,
    scen,
    sampler,
    used,
    status,
    phase,
    elim_after,
    ind,
    winner,
    s,
    sign,
    stages,
    constants,
    c,
    capped,
    units,
    hsum,
    feas,
    d0,
) -> Selection:
    k, m = len(ids), len(scen)
    y = sampler.y
    mask = np.arange(y.shape[0])[:, None] < used[None, :]  # (R, k)
    vals = np.where(mask[:, :, None], y, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        cnt = mask.sum(axis=0)
        mean = np.where(
            cnt[:, None] > 0, np.nansum(vals, axis=0) / np.maximum(cnt, 1)[:, None], np.nan
        )
        sd = np.sqrt(np.nansum((vals - mean[None]) ** 2, axis=0) / np.maximum(cnt - 1, 1)[:, None])
        sd = np.where(cnt[:, None] > 1, sd, np.nan)
        hmean = (
            (hsum / np.maximum(cnt, 1)[:, None])
            if c["simulated_hours"]
            else np.full((k, m), np.nan)
        )
        hmean = np.where(cnt[:, None] > 0, hmean, np.nan)
    theta = np.sort(mean * sign, axis=1)[:, s - 1] * sign
    feas_word = np.array(["infeasible", "undetermined", "feasible"], dtype=object)[feas + 1]
    if not c["simulated_hours"]:
        feas_word[:] = "not checked"
    cells = pd.DataFrame(
        {
            "design": np.repeat(ids, m),
            "scenario": np.tile(scen, k),
            "replications": np.repeat(used, m),
            "mean": mean.ravel(),
            "sd": sd.ravel(),
            "mean_hours": hmean.ravel(),
            "feasibility": feas_word.ravel(),
        }
    )
    designs = pd.DataFrame(
        {
            "design": ids,
            "status": status.astype(str),
            "phase": phase.astype(str),
            "eliminated_after": elim_after,
            "replications": used,
            "replications_simulated": sampler.simulated,
            "estimate": theta,
            "fixed_hours": (
                c["fixed_hours"] if c["fixed_hours"] is not None else np.full(k, np.nan)
            ),
            "mean_hours": np.where(
                cnt > 0, np.where(np.isnan(hmean), -np.inf, hmean).max(axis=1), np.nan
            ),
            "gap": ind[1],
            "gap_lower": ind[2],
            "indistinguishable": ind[0],
        }
    )
    stage_frame = pd.DataFrame(stages, columns=["phase", "replication", "survivors"])
    delta, alpha = c["delta"], c["alpha"]
    objective = (
        "mean outcome"
        if m == 1
        else "worst-case mean outcome over the scenarios"
        if s == 1
        else f"{s}-th lowest of the {m} scenario means"
    )
    guarantee = (
        f"If one design's {objective} is at least {delta:g} {units} better than every "
        f"other eligible design's, the procedure selects it with probability at least "
        f"{1 - alpha:g}"
    )
    if c["simulated_hours"]:
        guarantee += (
            f" (eligible: mean coordinator hours at most {c['budget']:g} - "
            f"{c['hours_tolerance']:g} in every scenario; a design above {c['budget']:g} + "
            f"{c['hours_tolerance']:g} in some scenario is excluded within the same error)"
        )
    guarantee += (
        " (indifference-zone guarantee"
        + (
            ", asymptotic in the zone's width for KN++ with its variance updating"
            if c["variance_updating"]
            else ""
        )
        + f"). If designs are closer than {delta:g}, no probability is guaranteed, "
        f"not even that the selected design is within {delta:g} of the best."
    )
    if capped:
        guarantee = (
            f"No guarantee: the procedure was stopped at max_replications = "
            f"{c['max_replications']} before it could separate the designs; the "
            f"selected design has the best estimated {objective}."
        )
    inputs = {
        "designs": [int(x) for x in ids],
        "scenarios": [int(x) for x in scen],
        "delta": delta,
        "alpha": alpha,
        "quantile": c["quantile"],
        "n0": c["n0"],
        "screening": c["screening"],
        "budget": c["budget"],
        "fixed_hours": None if c["fixed_hours"] is None else c["fixed_hours"].tolist(),
        "simulated_hours": c["simulated_hours"],
        "hours_tolerance": c["hours_tolerance"],
        "max_replications": c["max_replications"],
        "block": c["block"],
        "variance_updating": c["variance_updating"],
        "maximize": sign > 0,
        "units": units,
        "designs_after_budget_filter": d0,
        **constants,
    }
    return Selection(
        selected=int(ids[winner]),
        designs=designs,
        cells=cells,
        stages=stage_frame,
        indistinguishable=tuple(int(x) for x in ids[ind[0]]),
        guarantee=guarantee,
        guarantee_holds=not capped,
        inputs=inputs,
    )
