"""Matching policies: one registry, one signature, one result type (:class:`Matching`).

>>> from toolkit import CohortSpec, generate_cohort, match
>>> cohort = generate_cohort(CohortSpec(n_mentors=6, n_mentees=5, seed=3))
>>> m = match(cohort, "stable", weights="skills_first", seed=1)
>>> len(m.pairs), m.metrics["blocking_pairs"]
(5, 0)
>>> sorted(POLICIES)[:3]
['diverse', 'greedy', 'max_participation']

Every policy sees the same :class:`~toolkit.compatibility.Compatibility` (scores,
each side's own view of them, and the admissible mask), a capacity per mentor, a
random generator from the ``("matching", policy)`` stream of the seed, and its own
options; it returns each mentee's mentor position (-1 = unmatched). Mentors may take
up to ``capacity`` mentees. Preferences are strict: ties in a view are broken by the
lower position (earlier in the roster).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

from toolkit import _seeding
from toolkit._validation import (  # MAX_CAPACITY: the one capacity bound, re-exported here
    MAX_CAPACITY,
    check_bool,
    check_int,
    check_option,
    check_real,
    fail,
    quote,
)
from toolkit.cohort import Cohort
from toolkit.compatibility import (
    COMPONENT_PHRASES,
    COMPONENTS,
    Compatibility,
    ComponentDetails,
    Constraints,
    compatibility_matrix,
    component_means,
    group_codes,
    pair_components,
    weighted_score,
)
from toolkit.errors import InfeasibleMatchingError, InsufficientMemoryError, InvalidParameterError

__all__ = [
    "POLICIES",
    "Matching",
    "Policy",
    "deferred_acceptance",
    "match",
    "memory_needed",
    "register_policy",
]

_TOP = np.int64(0x7FFFFFFF)
_INDEX_BITS = 24  # up to 16.7 million people per side in the packed preference keys
_ROW_BLOCK = 1 << 18


# --------------------------------------------------------------------------- preference keys


def _key_matrix(values: np.ndarray, index: np.ndarray, *, index_axis: int) -> np.ndarray:
    """Packed int64 keys: smaller = preferred; value descending, then lower position.

    Values are non-negative float32, whose bit patterns order like the numbers, so the
    key (top - bits) << 24 | position is a strict order without any sort by two keys.
    """
    v = np.ascontiguousarray(values, dtype=np.float32) + np.float32(0)  # -0.0 -> +0.0
    bits = v.view(np.int32).astype(np.int64)
    pos = index[None, :] if index_axis == 1 else index[:, None]
    return ((_TOP - bits) << _INDEX_BITS) | pos


def _preference_lists(values: np.ndarray, acceptable: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's acceptable columns, best first, and how many there are.

    Positions are uint16 when there are at most 65,536 columns (half the memory of
    int32: a 20,000 x 20,000 roster's lists take 0.8 GB), int32 otherwise.
    """
    n_rows, n_cols = values.shape
    lists = np.empty((n_rows, n_cols), np.uint16 if n_cols <= 1 << 16 else np.int32)
    cols = np.arange(n_cols, dtype=np.int64)
    mask = np.int64((1 << _INDEX_BITS) - 1)
    step = max(1, _ROW_BLOCK // max(n_cols, 1))

    def work(start: int) -> None:
        rows = slice(start, min(start + step, n_rows))
        keys = _key_matrix(values[rows], cols, index_axis=1)
        keys[~acceptable[rows]] = np.iinfo(np.int64).max
        keys.sort(axis=1)
        lists[rows] = keys & mask

    starts = range(0, n_rows, step)
    if n_rows * n_cols > 4 * _ROW_BLOCK and (os.cpu_count() or 1) > 1:
        with ThreadPoolExecutor(min(os.cpu_count() or 1, 8)) as pool:
            list(pool.map(work, starts))
    else:
        for start in starts:
            work(start)
    return lists, acceptable.sum(axis=1).astype(np.int64)


def deferred_acceptance(
    proposer_values: np.ndarray,
    receiver_values: np.ndarray,
    acceptable: np.ndarray,
    *,
    proposer_capacity: Any = 1,
    receiver_capacity: Any = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Proposer-optimal stable matching (Gale-Shapley), vectorized over each round.

    ``proposer_values[p, q]`` is how much proposer ``p`` likes receiver ``q`` and
    ``receiver_values[p, q]`` how much ``q`` likes ``p`` (both non-negative; higher is
    better, ties to the lower position); only ``acceptable`` pairs may match. In each
    round every proposer with a free place proposes to its next choices at once, and
    every receiver keeps its best proposers up to its capacity. Returns the matched
    pairs as (proposer positions, receiver positions), sorted by proposer.

    >>> import numpy as np
    >>> p = np.array([[1.0, 0.5], [1.0, 0.5]], np.float32)
    >>> r = np.array([[0.2, 0.9], [0.8, 0.1]], np.float32)
    >>> deferred_acceptance(p, r, np.ones((2, 2), bool))
    (array([0, 1]), array([1, 0]))
    """
    n_p, n_q = acceptable.shape
    cap_p = np.broadcast_to(np.asarray(proposer_capacity, np.int64), (n_p,))
    cap_q = np.broadcast_to(np.asarray(receiver_capacity, np.int64), (n_q,))
    lists, n_acc = _preference_lists(proposer_values, acceptable)
    if (cap_p == 1).all() and (cap_q == 1).all():
        return _deferred_acceptance_one_to_one(lists, n_acc, receiver_values)
    rvals = np.ascontiguousarray(receiver_values, dtype=np.float32)
    ptr = np.zeros(n_p, np.int64)
    held = np.zeros(n_p, np.int64)
    eng_p = np.zeros(0, np.int64)
    eng_q = np.zeros(0, np.int64)
    involved = np.zeros(n_q, bool)
    while True:
        want = np.minimum(cap_p - held, n_acc - ptr)
        active = np.flatnonzero(want > 0)
        if active.size == 0:
            break
        counts = want[active]
        prop_p = np.repeat(active, counts)
        offset = np.arange(prop_p.size) - np.repeat(np.cumsum(counts) - counts, counts)
        prop_q = lists[prop_p, ptr[prop_p] + offset].astype(np.int64)
        ptr[active] += counts
        held[active] += counts
        involved[prop_q] = True
        stay = ~involved[eng_q]
        cand_p = np.concatenate([eng_p[~stay], prop_p])
        cand_q = np.concatenate([eng_q[~stay], prop_q])
        involved[prop_q] = False
        # Receiver's order: value descending, then lower proposer position.
        key = _key_matrix(rvals[cand_p, cand_q][None, :], cand_p, index_axis=1)[0]
        order = np.lexsort((key, cand_q))
        cand_p, cand_q = cand_p[order], cand_q[order]
        first = np.r_[True, cand_q[1:] != cand_q[:-1]]
        start = np.maximum.accumulate(np.where(first, np.arange(cand_q.size), 0))
        keep = (np.arange(cand_q.size) - start) < cap_q[cand_q]
        np.subtract.at(held, cand_p[~keep], 1)
        eng_p = np.concatenate([eng_p[stay], cand_p[keep]])
        eng_q = np.concatenate([eng_q[stay], cand_q[keep]])
    order = np.lexsort((eng_q, eng_p))
    return eng_p[order], eng_q[order]


def _deferred_acceptance_one_to_one(
    lists: np.ndarray, n_acc: np.ndarray, receiver_values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`deferred_acceptance` with every capacity 1, at O(proposals) per round.

    Only the free proposers are touched in a round (the general loop rescans everyone
    and re-sorts every engagement); each receiver keeps one holder and the holder's key.
    The proposer-optimal stable matching does not depend on the order of proposals, so
    the result is the same as the general loop's.
    """
    n_p, n_q = lists.shape
    flat = lists.reshape(-1)
    # Read each proposal's value from the matrix as it comes (no copy of the matrix).
    rvals = np.ascontiguousarray(receiver_values, dtype=np.float32).reshape(-1)
    never = np.iinfo(np.int64).max
    nxt = np.arange(n_p, dtype=np.int64) * n_q  # flat position of each next choice
    end = nxt + n_acc
    holder = np.full(n_q, -1, np.int64)
    held_key = np.full(n_q, never, np.int64)
    best = np.full(n_q, never, np.int64)  # scratch: best new key per receiver
    free = np.flatnonzero(n_acc > 0)
    while free.size:
        pos = nxt[free]
        nxt[free] = pos + 1
        q = flat[pos].astype(np.int64)
        # The receiver's key (smaller = preferred): value descending, then lower position.
        bits = (rvals[free * n_q + q] + np.float32(0)).view(np.int32)  # -0.0 -> +0.0
        key = ((_TOP - bits.astype(np.int64)) << _INDEX_BITS) | free
        np.minimum.at(best, q, key)
        win = (key == best[q]) & (key < held_key[q])  # keys are unique (they hold p)
        best[q] = never
        q_win = q[win]
        dropped = holder[q_win]
        holder[q_win] = free[win]
        held_key[q_win] = key[win]
        free = np.concatenate([free[~win], dropped[dropped >= 0]])
        free = free[nxt[free] < end[free]]  # who has exhausted their list stays single
    recv = np.flatnonzero(holder >= 0)
    prop = holder[recv]
    order = np.argsort(prop)
    return prop[order], recv[order]


# --------------------------------------------------------------------------- the problem


@dataclass(frozen=True)
class Problem:
    """What a policy sees. ``admissible`` already includes the policy's own restrictions."""

    compat: Compatibility
    admissible: np.ndarray
    capacity: np.ndarray
    rng: np.random.Generator
    options: dict[str, Any]


@dataclass(frozen=True)
class Policy:
    """A registered policy: its function, its options with defaults, a one-line summary."""

    name: str
    func: Callable[[Problem], tuple[np.ndarray, dict[int, str]]]
    options: dict[str, Any]
    summary: str
    restrict: Callable[[Compatibility, dict[str, Any]], tuple[str, np.ndarray]] | None = None
    needs: tuple[str, ...] = ("scores",)
    memory: tuple[float, float] = (0.0, 0.0)


POLICIES: dict[str, Policy] = {}


def register_policy(
    name: str,
    *,
    summary: str,
    options: dict[str, Any] | None = None,
    restrict: Callable | None = None,
    needs: tuple[str, ...] = ("scores",),
    memory: tuple[float, float] = (0.0, 0.0),
) -> Callable:
    """Decorator adding ``func(problem) -> (mentor_of, reasons)`` to :data:`POLICIES`.

    ``mentor_of[i]`` is mentee ``i``'s mentor position or -1; ``reasons`` maps unmatched
    mentee positions to a plain-words reason (others get a generic one). ``needs``
    names the :class:`Compatibility` matrices the policy reads ("scores",
    "mentee_view", "mentor_view"); ``match`` computes just those, in one pass.
    ``memory`` is the policy's own working memory beyond those matrices, in bytes: per
    (mentee, mentor) pair and per (mentee, mentor place) pair (places count capacity);
    ``match`` adds it to its estimate before allocating anything.
    """

    def decorate(func: Callable) -> Callable:
        POLICIES[name] = Policy(
            name=name,
            func=func,
            options=dict(options or {}),
            summary=summary,
            restrict=restrict,
            needs=tuple(needs),
            memory=cast(tuple[float, float], tuple(memory)),
        )
        return func

    return decorate


def _assignment(n_e: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    mentor_of = np.full(n_e, -1, np.int64)
    mentor_of[rows] = cols
    return mentor_of


def _greedy_core(values: np.ndarray, admissible: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Greedy (best pair first) matching via rounds of locally dominant pairs.

    A pair that is its mentee's best remaining pair and among its mentor's best
    ``capacity left`` pairs with free mentees is taken by the sequential greedy too,
    so taking all of them at once in each round gives exactly the sequential result.
    Order: value descending, then lower mentee, then lower mentor position.
    """
    n_e, _ = values.shape
    work = (  # read only below: no copy when every pair is admissible
        values.astype(np.float64, copy=False)
        if admissible.all()
        else np.where(admissible, values.astype(np.float64), -np.inf)
    )
    mentor_of = np.full(n_e, -1, np.int64)
    cap_left = capacity.astype(np.int64).copy()
    free = np.asarray(admissible.any(axis=1))
    has_nan = bool(np.isnan(work).any())
    while True:
        rows, cols = np.flatnonzero(free), np.flatnonzero(cap_left > 0)
        if rows.size == 0 or cols.size == 0:
            break
        sub = work if (rows.size, cols.size) == work.shape else work[np.ix_(rows, cols)]
        best = sub.argmax(axis=1)
        best_val = sub[np.arange(rows.size), best]
        live = best_val > -np.inf
        free[rows[~live]] = False  # nothing admissible left for them
        if not live.any():
            break
        prop = np.flatnonzero(live)
        left = cap_left[cols[best[prop]]]
        # A mentor with one place left takes the proposal only if no free mentee ranks
        # above it in the mentor's column: the column's first maximum is the proposer.
        accept = sub.argmax(axis=0)[best[prop]] == prop
        # the others count the mentees ranking above (as every mentor does if any value is
        # NaN, which argmax would rank first)
        more = np.flatnonzero((left > 1) | has_nan)
        if more.size:
            p = prop[more]
            col_vals = sub[:, best[p]]
            better = (col_vals > best_val[p]) | (
                (col_vals == best_val[p]) & (np.arange(rows.size)[:, None] < p[None, :])
            )
            accept[more] = better.sum(axis=0) < left[more]
        i, j = rows[prop[accept]], cols[best[prop[accept]]]
        mentor_of[i] = j
        free[i] = False
        np.subtract.at(cap_left, j, 1)
    return mentor_of


def _assign(
    values: np.ndarray, allowed: np.ndarray, capacity: np.ndarray, *, most_pairs: bool
) -> np.ndarray:
    """Maximum-total assignment over ``allowed`` pairs, mentors replicated by capacity.

    With ``most_pairs`` disallowed pairs cost more than any total can gain, so the
    result first has as many allowed pairs as possible, then the largest total;
    otherwise they count 0 and the result is the maximum-weight matching.
    """
    n_e = values.shape[0]
    if allowed.all():
        matrix = values
    else:
        fill = -(min(n_e, int(capacity.sum())) + 1.0) if most_pairs else 0.0
        matrix = np.where(allowed, values, np.float32(fill))
    from scipy.optimize import linear_sum_assignment  # here: the registry loads without it

    cols_of = np.repeat(np.arange(values.shape[1]), capacity)
    if not np.all(capacity == 1):
        matrix = matrix[:, cols_of]
    rows, cols = linear_sum_assignment(matrix, maximize=True)
    mentors = cols_of[cols]
    ok = allowed[rows, mentors]
    return _assignment(n_e, rows[ok], mentors[ok])


def _max_cardinality(allowed: np.ndarray, capacity: np.ndarray) -> int:
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_bipartite_matching

    if not allowed.any():
        return 0
    graph = csr_matrix(allowed[:, np.repeat(np.arange(allowed.shape[1]), capacity)])
    return int((maximum_bipartite_matching(graph, perm_type="column") >= 0).sum())


# --------------------------------------------------------------------------- policies


# Working memory per pair: float64 keys or values, the greedy float64 copy and its
# submatrix (8 + 8 + 8); the assignment's masked copy (4) and scipy's float64 cost matrix
# over mentor places (8 + 4 per place); preference lists (4) and the shortlist (1).
@register_policy(
    "random",
    summary="uniformly random pairs among admissible ones (baseline)",
    needs=(),
    memory=(24.0, 0.0),
)
def _random(problem: Problem) -> tuple[np.ndarray, dict[int, str]]:
    keys = problem.rng.random(problem.admissible.shape)
    return _greedy_core(keys, problem.admissible, problem.capacity), {}


@register_policy(
    "greedy",
    summary="best-scoring pair first, until no admissible pair is left",
    memory=(24.0, 0.0),
)
def _greedy(problem: Problem) -> tuple[np.ndarray, dict[int, str]]:
    return _greedy_core(problem.compat.scores, problem.admissible, problem.capacity), {}


@register_policy("optimal", summary="maximum total score (Hungarian method)", memory=(4.0, 12.0))
def _optimal(problem: Problem) -> tuple[np.ndarray, dict[int, str]]:
    return _assign(
        problem.compat.scores, problem.admissible, problem.capacity, most_pairs=False
    ), {}


@register_policy(
    "stable",
    options={"proposer": "mentee"},
    needs=("mentee_view", "mentor_view"),
    memory=(4.0, 0.0),
    summary="Gale-Shapley stable matching, each side ranking by its own view",
)
def _stable(problem: Problem) -> tuple[np.ndarray, dict[int, str]]:
    proposer = check_option(
        problem.options["proposer"], "proposer", "match(policy='stable')", ("mentee", "mentor")
    )
    c, a = problem.compat, problem.admissible
    if proposer == "mentee":
        e, r = deferred_acceptance(
            c.mentee_view, c.mentor_view, a, receiver_capacity=problem.capacity
        )
    else:
        r, e = deferred_acceptance(
            c.mentor_view.T, c.mentee_view.T, a.T, proposer_capacity=problem.capacity
        )
    reason = "every admissible partner holds people they prefer (stable matching)"
    mentor_of = _assignment(a.shape[0], e, r)
    return mentor_of, {int(i): reason for i in np.flatnonzero(mentor_of < 0)}


@register_policy(
    "mentee_choice",
    options={"shortlist": 5, "fallback": True},
    needs=("scores", "mentee_view", "mentor_view"),
    memory=(13.0, 12.0),
    summary="mentees rank a shortlist of their top-scoring mentors; "
    "mentee-proposing deferred acceptance on the shortlists, then "
    "(fallback) the best total for those left over",
)
def _mentee_choice(problem: Problem) -> tuple[np.ndarray, dict[int, str]]:
    k = check_int(problem.options["shortlist"], "shortlist", "match(policy='mentee_choice')", low=1)
    c, a = problem.compat, problem.admissible
    n_r = a.shape[1]
    # The coordinator's shortlist: each mentee's k best admissible mentors by score.
    lists, n_acc = _preference_lists(c.scores, a)
    width = min(k, n_r)
    short = np.zeros_like(a)
    rows = np.repeat(np.arange(a.shape[0]), width)
    cols = lists[:, :width].ravel()
    keep = np.tile(np.arange(width), a.shape[0]) < np.repeat(n_acc, width)
    short[rows[keep], cols[keep]] = True
    e, r = deferred_acceptance(
        c.mentee_view, c.mentor_view, short, receiver_capacity=problem.capacity
    )
    mentor_of = _assignment(a.shape[0], e, r)
    check_bool(problem.options["fallback"], "fallback", "match(policy='mentee_choice')")
    left = mentor_of < 0
    if problem.options["fallback"] and left.any():
        # Mentees whose shortlist filled up get the best total among the places left.
        spare = problem.capacity - np.bincount(r, minlength=n_r)
        rest = _assign(
            c.scores[left], a[left] & (spare > 0)[None, :], np.maximum(spare, 1), most_pairs=False
        )
        mentor_of[np.flatnonzero(left)] = rest
    reason = f"every mentor on the mentee's shortlist of {k} preferred other mentees"
    return mentor_of, {int(i): reason for i in np.flatnonzero(mentor_of < 0)}


@register_policy(
    "maximin",
    summary="best worst pair among the largest matchings, then best total",
    memory=(14.0, 21.0),
)
def _maximin(problem: Problem) -> tuple[np.ndarray, dict[int, str]]:
    s, a, cap = problem.compat.scores, problem.admissible, problem.capacity
    target = _max_cardinality(a, cap)
    if target == 0:
        return np.full(s.shape[0], -1, np.int64), {}
    levels = np.unique(s[a])  # ascending; the answer is one of these
    lo, hi = 0, levels.size - 1  # feasible(levels[lo]) holds: all admissible pairs
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _max_cardinality(a & (s >= levels[mid]), cap) == target:
            lo = mid
        else:
            hi = mid - 1
    return _assign(s, a & (s >= levels[lo]), cap, most_pairs=True), {}


@register_policy(
    "max_participation",
    options={"min_score": 0.4},
    memory=(5.0, 12.0),
    summary="most pairs scoring at least min_score, then the best total",
)
def _max_participation(problem: Problem) -> tuple[np.ndarray, dict[int, str]]:
    floor = check_real(
        problem.options["min_score"],
        "min_score",
        "match(policy='max_participation')",
        low=0,
        high=1,
    )
    s, a = problem.compat.scores, problem.admissible
    good = a & (s >= np.float32(floor))
    mentor_of = _assign(s, good, problem.capacity, most_pairs=True)
    reasons = {}
    for i in np.flatnonzero(mentor_of < 0):
        reasons[int(i)] = (
            f"no admissible mentor scores at least min_score={floor:g}"
            if not good[i].any()
            else f"the mentors scoring at least min_score={floor:g} were needed for other mentees"
        )
    return mentor_of, reasons


def _diverse_restriction(compat: Compatibility, options: dict[str, Any]) -> tuple[str, np.ndarray]:
    require = check_option(
        options["require"], "require", "match(policy='diverse')", ("department", "location", "both")
    )
    allowed = np.ones(compat.admissible.shape, bool)
    for attr in ("department", "location"):
        if require in (attr, "both"):
            e, r = group_codes(compat.cohort, attr)
            e, r = e[:, None], r[None, :]
            allowed &= ~((e == r) & (e >= 0))
    return f"diverse(require={require!r})", allowed


@register_policy(
    "diverse",
    options={"require": "department"},
    restrict=_diverse_restriction,
    memory=(6.0, 12.0),
    summary="maximum total score with every pair across departments (or locations, or both)",
)
def _diverse(problem: Problem) -> tuple[np.ndarray, dict[int, str]]:
    return _assign(
        problem.compat.scores, problem.admissible, problem.capacity, most_pairs=False
    ), {}


# --------------------------------------------------------------------------- the result


@dataclass(frozen=True)
class Matching:
    """The result of one policy on one cohort.

    ``pairs``: mentee_id, mentor_id, score, score_<component>..., mentee_rank,
    mentor_rank (1 = the partner is that person's top choice under their own view).
    ``unmatched``: participant_id, role, reason. ``metrics``: a dict of summary
    numbers. ``explain()``: each pair's top reasons in plain words.
    ``cohort_fingerprint`` identifies the cohort the matching belongs to.
    """

    policy: str
    mentee_index: np.ndarray
    mentor_index: np.ndarray
    compat: Compatibility = field(repr=False)
    admissible: np.ndarray = field(repr=False)
    capacity: np.ndarray = field(repr=False)
    seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    reasons: dict[int, str] = field(default_factory=dict, repr=False)
    group_by: str | None = "gender"
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def cohort_fingerprint(self) -> str:
        return self.compat.cohort_fingerprint

    @property
    def weights(self) -> dict[str, float]:
        return self.compat.weights

    @property
    def pairs(self) -> pd.DataFrame:
        if "pairs" not in self._cache:
            self._cache["pairs"] = self._pairs()
        return self._cache["pairs"]

    def _pair_components(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The matched pairs' components and scores (equal to the matrices' entries)."""
        if "pair_components" not in self._cache:
            comps = pair_components(self.compat.cohort, self.mentee_index, self.mentor_index)
            self._cache["pair_components"] = (comps, weighted_score(comps, self.compat.weights))
        return self._cache["pair_components"]

    def _pairs(self) -> pd.DataFrame:
        c, i, j = self.compat, self.mentee_index, self.mentor_index
        comps, scores = self._pair_components()
        frame = pd.DataFrame(
            {
                "mentee_id": c.mentee_ids[i],
                "mentor_id": c.mentor_ids[j],
                "score": scores.astype(float),
            }
        )
        for name in COMPONENTS:
            frame[f"score_{name}"] = comps[name].astype(float)
        view_e, view_r = c.matrices("mentee_view", "mentor_view")
        frame["mentee_rank"] = _ranks(view_e, self.admissible, i, j, by_row=True)
        frame["mentor_rank"] = _ranks(view_r, self.admissible, i, j, by_row=False)
        return frame

    @property
    def unmatched(self) -> pd.DataFrame:
        if "unmatched" not in self._cache:
            self._cache["unmatched"] = self._unmatched()
        return self._cache["unmatched"]

    def _unmatched(self) -> pd.DataFrame:
        c, a = self.compat, self.admissible
        n_e, n_r = a.shape
        places = int(self.capacity.sum())
        load = np.bincount(self.mentor_index, minlength=n_r)
        rows = []
        matched_e = np.zeros(n_e, bool)
        matched_e[self.mentee_index] = True
        for i in np.flatnonzero(~matched_e):
            if not a[i].any():
                why = "no admissible mentor under the constraints"
            elif i in self.reasons:
                why = self.reasons[int(i)]
            elif not (a[i] & (load < self.capacity)).any():
                why = (
                    f"every admissible mentor is at capacity ({n_e} mentees for "
                    f"{places} mentor places)"
                )
            else:
                why = f"not chosen by the {self.policy} policy"
            rows.append((c.mentee_ids[i], "mentee", why))
        free_e = ~matched_e
        for j in np.flatnonzero(load == 0):
            if not a[:, j].any():
                why = "no admissible mentee under the constraints"
            elif not (a[:, j] & free_e).any():
                why = (
                    f"every admissible mentee is matched ({n_e} mentees for {places} mentor places)"
                )
            else:
                why = f"not chosen by the {self.policy} policy"
            rows.append((c.mentor_ids[j], "mentor", why))
        return pd.DataFrame(rows, columns=["participant_id", "role", "reason"])

    @property
    def metrics(self) -> dict[str, Any]:
        if "metrics" not in self._cache:
            self._cache["metrics"] = self._metrics()
        return self._cache["metrics"]

    def _metrics(self) -> dict[str, Any]:
        c, i, j = self.compat, self.mentee_index, self.mentor_index
        n_e, n_r = self.admissible.shape
        scores = self._pair_components()[1].astype(float)
        dept_e, dept_r = (
            codes[k] for codes, k in zip(group_codes(c.cohort, "department"), (i, j), strict=True)
        )
        loc_e, loc_r = (
            codes[k] for codes, k in zip(group_codes(c.cohort, "location"), (i, j), strict=True)
        )
        known_d = (dept_e >= 0) & (dept_r >= 0)
        known_l = (loc_e >= 0) & (loc_r >= 0)
        pairs = self.pairs
        gap, groups = np.nan, {}
        people = c.cohort.mentees
        if self.group_by is not None and self.group_by in people.columns and i.size:
            labels = people[self.group_by].astype(str).to_numpy()[i]
            groups = pd.Series(scores).groupby(labels).mean().to_dict()
            if len(groups) > 1:
                gap = float(max(groups.values()) - min(groups.values()))
        return {
            "policy": self.policy,
            "n_pairs": int(i.size),
            "total_score": float(scores.sum()),
            "mean_score": float(scores.mean()) if i.size else np.nan,
            "min_score": float(scores.min()) if i.size else np.nan,
            "match_rate": float(np.unique(i).size / n_e),
            "mentor_match_rate": float(np.unique(j).size / n_r),
            "blocking_pairs": _blocking_pairs(c, self.admissible, self.capacity, i, j),
            "cross_department_share": (
                float(np.mean(dept_e[known_d] != dept_r[known_d])) if known_d.any() else np.nan
            ),
            "cross_location_share": (
                float(np.mean(loc_e[known_l] != loc_r[known_l])) if known_l.any() else np.nan
            ),
            "score_gap": gap,
            "score_gap_by": self.group_by,
            "group_mean_scores": {str(k): float(v) for k, v in groups.items()},
            "mean_mentee_rank": float(pairs["mentee_rank"].mean()) if i.size else np.nan,
            "mean_mentor_rank": float(pairs["mentor_rank"].mean()) if i.size else np.nan,
        }

    def explain(self, top: int = 2) -> pd.DataFrame:
        """Each pair's ``top`` reasons in plain words: what lifts it above a typical pair.

        A reason is a weighted component on which the pair beats the average admissible
        pair of the cohort, strongest first. A component that is the same for every pair
        (say, personality when the roster has no personality columns) explains nothing and
        is never cited. Returns mentee_id, mentor_id, score and ``reasons`` ("; "-separated).
        """
        top = check_int(top, "top", "Matching.explain", low=1, high=len(COMPONENT_PHRASES))
        c, i, j = self.compat, self.mentee_index, self.mentor_index
        comps = pair_components(c.cohort, i, j)
        terms = [t for t, w in c.weights.items() if w > 0]
        typical = _typical_components(c, self.admissible)
        lift = (
            np.column_stack(
                [c.weights[t] * (_term_value(t, comps) - _term_value(t, typical)) for t in terms]
            )
            if i.size
            else np.zeros((0, len(terms)))
        )
        order = np.argsort(-lift, axis=1, kind="stable")[:, :top]
        details = ComponentDetails(c.cohort)
        reasons = []
        for k in range(i.size):
            chosen = [t for t in order[k] if lift[k, t] > 1e-6]
            reasons.append(
                "; ".join(details.phrase(terms[t], int(i[k]), int(j[k])) for t in chosen)
                or _NO_REASON
            )
        return pd.DataFrame(
            {
                "mentee_id": c.mentee_ids[i],
                "mentor_id": c.mentor_ids[j],
                "score": self.pairs["score"].to_numpy(float),
                "reasons": reasons,
            }
        )


_NO_REASON = "no component stands out above the cohort's typical pair"


def _term_value(term: str, comps: dict[str, Any]) -> Any:
    return 1.0 - comps["surface_similarity"] if term == "surface_difference" else comps[term]


def _typical_components(c: Compatibility, admissible: np.ndarray) -> dict[str, float]:
    """Mean of each component over the admissible pairs (all pairs if none is), computed
    in blocks: the six component matrices of a large roster are never held at once."""
    return component_means(c.cohort, None if admissible.all() else admissible)


def _ranks(
    view: np.ndarray, admissible: np.ndarray, i: np.ndarray, j: np.ndarray, *, by_row: bool
) -> np.ndarray:
    """Rank of each partner in the other's preference list (1 = top), blockwise."""
    out = np.empty(i.size, np.int64)
    length = view.shape[1] if by_row else view.shape[0]
    step = max(1, _ROW_BLOCK // max(length, 1))
    for s in range(0, i.size, step):
        ii, jj = i[s : s + step], j[s : s + step]
        if by_row:
            vals, acc = view[ii], admissible[ii]
            own, pos = view[ii, jj][:, None], jj[:, None]
        else:
            vals, acc = view[:, jj].T, admissible[:, jj].T
            own, pos = view[ii, jj][:, None], ii[:, None]
        idx = np.arange(length)[None, :]
        better = (vals > own) | ((vals == own) & (idx < pos))
        out[s : s + step] = (better & acc).sum(axis=1) + 1
    return out


def _blocking_pairs(
    c: Compatibility, admissible: np.ndarray, capacity: np.ndarray, i: np.ndarray, j: np.ndarray
) -> int:
    """Admissible pairs who both prefer each other to what they have (own views)."""
    n_e, n_r = admissible.shape
    view_e, view_r = c.matrices("mentee_view", "mentor_view")
    never = np.iinfo(np.int64).max
    mentee_pos, mentor_pos = np.arange(n_e), np.arange(n_r)
    cur_e = np.full(n_e, never, np.int64)  # unmatched: any acceptable mentor is better
    if i.size:
        cur_e[i] = _key_matrix(view_e[i, j][None, :], j, index_axis=1)[0]
    worst_r = np.full(n_r, never, np.int64)  # spare capacity: any acceptable mentee
    load = np.bincount(j, minlength=n_r)
    if i.size:
        keys = _key_matrix(view_r[i, j][None, :], i, index_axis=1)[0]
        worst = np.full(n_r, np.iinfo(np.int64).min, np.int64)
        np.maximum.at(worst, j, keys)
        full = load >= capacity
        worst_r[full] = worst[full]
    total = 0
    step = max(1, _ROW_BLOCK // max(n_r, 1))
    for s in range(0, n_e, step):
        rows = slice(s, min(s + step, n_e))
        ke = _key_matrix(view_e[rows], mentor_pos, index_axis=1)
        kr = _key_matrix(view_r[rows], mentee_pos[rows], index_axis=0)
        total += int((admissible[rows] & (ke < cur_e[rows, None]) & (kr < worst_r[None, :])).sum())
    return total


# --------------------------------------------------------------------------- entry point


def _infeasibility(
    compat: Compatibility, admissible: np.ndarray, masks: dict[str, np.ndarray]
) -> str | None:
    """A sentence on who is left without any admissible partner and why, or None."""
    parts = []
    for role, axis, ids, other in (
        ("mentee", 1, compat.mentee_ids, "mentor"),
        ("mentor", 0, compat.mentor_ids, "mentee"),
    ):
        stranded = np.flatnonzero(~admissible.any(axis=axis))
        if stranded.size == 0:
            continue
        causes = []
        for name, allowed in masks.items():
            alone = ~np.asarray(allowed.any(axis=axis))[stranded]
            if alone.any():
                causes.append(f"{name} rules out every {other} for {int(alone.sum())}")
        why = "; ".join(causes) if causes else "the constraints together rule out every " + other
        shown = ", ".join(quote(str(x)) for x in ids[stranded[:5]]) + (
            ", ..." if stranded.size > 5 else ""
        )
        parts.append(
            f"{stranded.size} of {ids.size} {role}s have no admissible {other} ({shown}; {why})"
        )
    if not parts:
        return None
    return (
        "The constraints make some matches impossible: "
        + " and ".join(parts)
        + "; relax them or pass strict=False to leave these people unmatched."
    )


def _check_capacity(capacity: Any, n_r: int) -> np.ndarray:
    if isinstance(capacity, int | np.integer) and not isinstance(capacity, bool):
        return np.full(
            n_r, check_int(capacity, "capacity", "match", low=1, high=MAX_CAPACITY), np.int64
        )
    arr = np.asarray(capacity)
    if (
        arr.ndim != 1
        or arr.size != n_r
        or not np.issubdtype(arr.dtype, np.integer)
        or (arr < 1).any()
        or (arr > MAX_CAPACITY).any()
    ):
        raise fail(
            "capacity",
            "match",
            f"an int in [1, {MAX_CAPACITY}] or {n_r} such ints (one per mentor)",
            capacity,
        )
    return arr.astype(np.int64)


# Memory held per person besides the pair matrices (participants row, features), bytes.
_PERSON_BYTES = 4096


def _available_memory() -> int:
    """Bytes of memory the system can give this process now (psutil's ``available``)."""
    import psutil

    return int(psutil.virtual_memory().available)


def _bytes_text(n: float) -> str:
    return f"{n / 1e9:,.1f} GB" if n >= 1e8 else f"{n / 1e6:,.1f} MB"


def memory_needed(
    policy: str,
    n_mentees: int,
    n_mentors: int,
    *,
    places: int | None = None,
    n_masks: int = 0,
    new_matrices: int | None = None,
    scoring: bool = True,
) -> int:
    """Bytes matching ``n_mentees`` with ``n_mentors`` under ``policy`` needs at its peak.

    The pair matrices the policy reads (float32 each), the admissible mask and one mask per
    active constraint (a byte a pair each), the policy's own working memory (its declared
    ``memory``: per pair and per mentor place, ``places`` = the sum of capacities) and a
    fixed amount per person. For a :class:`Compatibility` already made, pass
    ``scoring=False`` (its masks exist) and ``new_matrices``, the matrices it still lacks.

    >>> round(memory_needed("stable", 20_000, 20_000) / 1e9, 1)  # GB
    5.4
    """
    spec = POLICIES[policy]
    pairs = n_mentees * n_mentors
    per_pair, per_place = spec.memory
    matrices = len(spec.needs) if new_matrices is None else new_matrices
    held = 4 * matrices + ((1 + n_masks) if scoring else 0)
    restrict = 2 if spec.restrict is not None else 0
    total = (
        pairs * (held + restrict + per_pair)
        + n_mentees * (places if places is not None else n_mentors) * per_place
        + (n_mentees + n_mentors) * _PERSON_BYTES
    )
    return int(total)


def _check_memory(
    policy: str,
    n_e: int,
    n_r: int,
    places: int,
    *,
    n_masks: int,
    new_matrices: int | None = None,
    scoring: bool = True,
) -> None:
    """Refuse, before allocating anything, a matching larger than the memory available."""
    kw: dict[str, Any] = {"places": places, "n_masks": n_masks, "scoring": scoring}
    need = memory_needed(policy, n_e, n_r, new_matrices=new_matrices, **kw)
    free = _available_memory()
    if need <= free:
        return
    per_pair = need / max(n_e * n_r, 1)
    fits = int(2 * (0.8 * free / per_pair) ** 0.5)  # people per part, half on each side
    lighter = [
        p
        for p in POLICIES
        if p != policy
        and memory_needed(
            p, n_e, n_r, new_matrices=None if new_matrices is None else len(POLICIES[p].needs), **kw
        )
        <= free
    ]
    other = (
        f", or use the {', '.join(repr(p) for p in lighter[:3])} "
        + ("policy, which needs" if len(lighter) == 1 else "policies, which need")
        + " less memory per pair"
        if lighter
        else ""
    )
    raise InsufficientMemoryError(
        f"Matching {n_e:,} mentees with {n_r:,} mentors under the {policy!r} policy scores "
        f"{n_e * n_r:,} pairs and needs about {_bytes_text(need)} of memory, but "
        f"{_bytes_text(free)} is available; split the roster by department or site and "
        f"match each part separately (parts of up to about {fits:,} people fit){other}."
    )


def _active_masks(cohort: Cohort, constraints: Any) -> int:
    """How many constraint masks scoring ``cohort`` under ``constraints`` will build."""
    try:
        c = (
            constraints
            if isinstance(constraints, Constraints)
            else Constraints(**(constraints or {}))
        )
    except TypeError:
        return 0  # compatibility_matrix gives the one-sentence error
    return (
        int(c.same_department != "allowed")
        + int(bool(c.cross_location))
        + int(bool(c.forbidden_pairs))
        + int(c.reporting_line == "forbidden" and "manager_id" in cohort.participants.columns)
    )


def match(
    source: Cohort | Compatibility,
    policy: str = "optimal",
    *,
    weights: str | dict[str, float] | None = None,
    capacity: Any = 1,
    constraints: Constraints | dict | None = None,
    seed: int = 0,
    strict: bool = True,
    group_by: str | None = "gender",
    **options: Any,
) -> Matching:
    """Match the mentees and mentors of ``source`` under ``policy``.

    ``source`` is a Cohort (scored with ``weights``, default ``"balanced"``, and
    ``constraints``) or a precomputed :class:`Compatibility` (to compare policies on the
    same scores; then give neither). ``capacity`` is the most mentees per mentor (an int
    or one int per mentor). Policy options (``proposer`` for stable, ``shortlist`` for
    mentee_choice, ``min_score`` for max_participation, ``require`` for diverse) are
    keywords. With ``strict`` (default) constraints that leave someone without any
    admissible partner raise :class:`InfeasibleMatchingError`; otherwise those people
    stay unmatched with the reason. ``group_by`` names the mentee column whose groups'
    mean scores give the ``score_gap`` metric.
    """
    if not isinstance(policy, str) or policy not in POLICIES:
        raise fail("policy", "match", "one of " + ", ".join(repr(p) for p in POLICIES), policy)
    spec = POLICIES[policy]
    unknown = [k for k in options if k not in spec.options]
    if unknown:
        allowed = ", ".join(repr(k) for k in spec.options) or "none"
        raise fail(
            unknown[0],
            f"match(policy={policy!r})",
            f"not given (options of this policy: {allowed})",
            options[unknown[0]],
        )
    opts = {**spec.options, **options}
    seed = _seeding.check_seed(seed, "match")
    check_bool(strict, "strict", "match")
    if isinstance(source, Compatibility):
        if weights is not None or constraints is not None:
            raise fail(
                "weights",
                "match",
                "left out when a Compatibility is given (it "
                "already fixes the weights and constraints)",
                weights or constraints,
            )
        compat = source
        n_e, n_r = compat.admissible.shape
        cap = _check_capacity(capacity, n_r)
        missing = [m for m in spec.needs if m not in compat._cache]
        _check_memory(
            policy, n_e, n_r, int(cap.sum()), n_masks=0, new_matrices=len(missing), scoring=False
        )
    elif isinstance(source, Cohort):
        # Validate the capacity and check the memory before the (costly) scoring.
        n_r, n_e = len(source.mentors), len(source.mentees)  # role rows, cached per cohort
        cap = _check_capacity(capacity, n_r)
        _check_memory(policy, n_e, n_r, int(cap.sum()), n_masks=_active_masks(source, constraints))
        compat = compatibility_matrix(
            source, weights=weights or "balanced", constraints=constraints, precompute=spec.needs
        )
    else:
        raise fail("source", "match", "a Cohort or a Compatibility", type(source).__name__)
    cap = _check_capacity(capacity, compat.admissible.shape[1])
    admissible, masks = compat.admissible, dict(compat.constraint_masks)
    if spec.restrict is not None:
        restriction, kept = spec.restrict(compat, opts)
        admissible = admissible & kept
        masks[restriction] = kept
    problem_text = _infeasibility(compat, admissible, masks)
    if strict and problem_text is not None:
        raise InfeasibleMatchingError(problem_text)
    compat.matrices(*spec.needs)  # what the policy reads, in one pass (if not yet there)
    problem = Problem(
        compat=compat,
        admissible=admissible,
        capacity=cap,
        rng=_seeding.rng(seed, "matching", policy),
        options=opts,
    )
    mentor_of, reasons = spec.func(problem)
    rows = np.flatnonzero(mentor_of >= 0)
    cols = mentor_of[rows]
    # A policy must never break the rules: fail loudly rather than return a bad matching.
    if not admissible[rows, cols].all() or (np.bincount(cols, minlength=cap.size) > cap).any():
        raise InvalidParameterError(f"The {policy!r} policy returned an inadmissible matching.")
    return Matching(
        policy=policy,
        mentee_index=rows,
        mentor_index=cols,
        compat=compat,
        admissible=admissible,
        capacity=cap,
        seed=seed,
        options=opts,
        reasons=reasons,
        group_by=group_by,
    )
