"""Compatibility of every (mentee, mentor) pair: score components, weights, constraints.

Six components, each in [0, 1] (rows = mentees, columns = mentors):

``complementarity_mentee``
    The mentor's advantage in the mentee's goal (digital) domains: the mean over the
    mentee's goal domains of ``max(mentor skill - mentee skill, 0)``; 0 if no goals.
``complementarity_mentor``
    The mentee's advantage in the mentor's goal (leadership) domains, likewise with the
    ``lead_*`` columns.
``deep_similarity``
    Profile similarity of the Big Five (``trait_*``) and work values (``value_*``):
    ``(1 + cos) / 2`` where ``cos`` is the cosine between the two profiles centred on
    the scales' midpoint 0.5 (the profile correlation of personality research, about
    the neutral point). Two random people score 0.5 on average with the spread the
    traits themselves imply (SD about 0.15 for 11 independent traits); a missing profile
    scores 0.5. Computed on a 0.001 grid (the generator's own resolution) so the dot
    products are exact integers.
``surface_similarity``
    Mean of generation closeness (same = 1, adjacent = 2/3, two apart = 1/3), same
    department and same location (1 same, 0 different, 0.5 if either is unknown).
``shared_interests``
    Jaccard index of the two interest sets (0 if both are empty).
``schedule_fit``
    ``(1 - time-zone gap / 12 h) * min(1, min(availability) / 4 h a month)``.

Every component is an elementwise function of the two people's features (no matrix
reductions in floating point), so :func:`score_components` and :func:`pair_components`
agree bit for bit. The score is the weighted mean of the components under a weight
profile (:data:`WEIGHT_PROFILES`) or user weights; ``surface_difference``
(``1 - surface_similarity``) may also be weighted, which is how ``diversity`` rewards
dissimilar surface traits.

>>> from toolkit import CohortSpec, generate_cohort, compatibility_matrix
>>> cohort = generate_cohort(CohortSpec(n_mentors=4, n_mentees=3, seed=1))
>>> compat = compatibility_matrix(cohort, weights="skills_first")
>>> compat.scores.shape
(3, 4)
>>> bool(((compat.scores >= 0) & (compat.scores <= 1)).all())
True
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from toolkit._cache import ObjectCache
from toolkit._spec import Spec
from toolkit._validation import check_bool, check_option, fail, quote
from toolkit.cohort import GENERATIONS, INTERESTS, TRAITS, WORK_VALUES, Cohort
from toolkit.errors import InvalidParameterError

__all__ = [
    "AVAILABILITY_TARGET_HOURS",
    "COMPONENTS",
    "COMPONENT_PHRASES",
    "ComponentDetails",
    "WEIGHT_PROFILES",
    "WEIGHT_TERMS",
    "Compatibility",
    "Constraints",
    "admissible_mask",
    "compatibility_matrix",
    "component_means",
    "group_codes",
    "pair_components",
    "pair_scores",
    "resolve_weights",
    "score_components",
    "side_weights",
    "weighted_score",
]

COMPONENTS = (
    "complementarity_mentee",
    "complementarity_mentor",
    "deep_similarity",
    "surface_similarity",
    "shared_interests",
    "schedule_fit",
)
# Terms a weight may be put on: the components plus the complement of surface similarity.
WEIGHT_TERMS = (*COMPONENTS, "surface_difference")
# Monthly hours at which availability stops limiting a pair (about one hour a week).
AVAILABILITY_TARGET_HOURS = 4.0

# Deep-level similarity is the strongest antecedent of relationship quality (Eby et al.
# 2013, Psychological Bulletin 139:441: values and personality r = .38-.59); surface
# similarity is weak (Eby et al. 2013; Tuma & Dolan: demographic match not associated),
# and shared interests have no published anchor (an assumption): both weigh a quarter.
WEIGHT_PROFILES: dict[str, dict[str, float]] = {
    "balanced": {
        "complementarity_mentee": 1.0,
        "complementarity_mentor": 1.0,
        "deep_similarity": 1.0,
        "surface_similarity": 0.25,
        "shared_interests": 0.25,
        "schedule_fit": 1.0,
    },
    "skills_first": {
        "complementarity_mentee": 3.0,
        "complementarity_mentor": 2.0,
        "deep_similarity": 1.0,
        "shared_interests": 0.5,
        "schedule_fit": 1.0,
    },
    "similarity_first": {
        "complementarity_mentee": 1.0,
        "complementarity_mentor": 1.0,
        "deep_similarity": 3.0,
        "surface_similarity": 1.0,
        "shared_interests": 2.0,
        "schedule_fit": 1.0,
    },
    "diversity": {
        "complementarity_mentee": 1.5,
        "complementarity_mentor": 1.5,
        "deep_similarity": 1.0,
        "surface_difference": 2.0,
        "shared_interests": 0.5,
        "schedule_fit": 1.0,
    },
}

_GEN_ORDER = ("Silent", *(g for g, _, _ in GENERATIONS), "Gen Alpha")
_DEEP_COLUMNS = tuple(f"trait_{t}" for t in TRAITS) + tuple(f"value_{v}" for v in WORK_VALUES)
_GRID = 1000.0  # deep traits are compared on a 0.001 grid: integer arithmetic is exact
_NO_GOAL = np.float32(2.0)  # a threshold above any skill: max(skill - 2, 0) = 0
_BLOCK_ELEMENTS = 1 << 17  # rows per block chosen so one block's temporaries stay in cache
# Generation closeness by (mentee code * 8 + mentor code), codes 0..6 and 7 = unknown.
_GEN_CODES = 8
_gen_a, _gen_b = np.divmod(np.arange(_GEN_CODES * _GEN_CODES), _GEN_CODES)
_GEN_SIMILARITY = np.where(
    (_gen_a == _GEN_CODES - 1) | (_gen_b == _GEN_CODES - 1),
    0.5,
    1 - np.minimum(np.abs(_gen_a - _gen_b), 3) / 3,
).astype(np.float32)


# --------------------------------------------------------------------------- weights


def resolve_weights(
    weights: str | dict[str, float], owner: str = "compatibility_matrix"
) -> dict[str, float]:
    """Validate a profile name or a ``{term: weight}`` dict; return normalised weights.

    Weights must be finite and >= 0 with a positive sum; terms are :data:`WEIGHT_TERMS`.

    >>> resolve_weights({"deep_similarity": 1, "schedule_fit": 3})["schedule_fit"]
    0.75
    """
    if isinstance(weights, str):
        check_option(weights, "weights", owner, WEIGHT_PROFILES)
        raw = WEIGHT_PROFILES[weights]
    elif isinstance(weights, dict):
        raw = weights
    else:
        raise fail(
            "weights",
            owner,
            "a profile name (" + ", ".join(WEIGHT_PROFILES) + ") or a dict of component weights",
            weights,
        )
    unknown = [k for k in raw if k not in WEIGHT_TERMS]
    if unknown:
        raise fail(
            "weights", owner, "a dict whose keys are among " + ", ".join(WEIGHT_TERMS), unknown[0]
        )
    values = {}
    for key, value in raw.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float | np.number)
            or not np.isfinite(value)
            or value < 0
        ):
            raise fail("weights", owner, "non-negative finite weights", {key: value})
        values[key] = float(value)
    total = sum(values.values())
    if total <= 0:
        raise fail("weights", owner, "weights with a positive sum (not all zero)", raw)
    return {k: values.get(k, 0.0) / total for k in WEIGHT_TERMS}


def side_weights(weights: dict[str, float], side: str) -> dict[str, float]:
    """The weights of one side's own view: what that side gets, not what it gives.

    A mentee's view drops ``complementarity_mentor`` (what the mentor learns) and a
    mentor's view drops ``complementarity_mentee``; if nothing is left, the full weights.
    """
    check_option(side, "side", "side_weights", ("mentee", "mentor"))
    drop = "complementarity_mentor" if side == "mentee" else "complementarity_mentee"
    kept = {k: (0.0 if k == drop else v) for k, v in weights.items()}
    total = sum(kept.values())
    if total <= 0:
        return dict(weights)
    return {k: v / total for k, v in kept.items()}


# --------------------------------------------------------------------------- features


@dataclass(frozen=True)
class _Side:
    """Numeric features of one side, in that side's row order."""

    ids: np.ndarray
    skill: np.ndarray  # (n, D) float32
    lead: np.ndarray  # (n, L) float32
    goal_thr: np.ndarray  # (n, G) float32: own skill in goal domains, 2 elsewhere
    inv_goals: np.ndarray  # (n,) float32: 1 / number of goals (0 if none)
    deep: np.ndarray  # (n, 11) float64 centred profile, integers on the 0.001 grid
    deep_t: np.ndarray  # (n, 11) float64 the same (the other side's operand)
    deep_norm: np.ndarray  # (n,) float64 Euclidean norm of the centred profile
    interests: np.ndarray  # (n, W) uint64 bit masks over cohort.interest_names
    generation: np.ndarray  # (n,) int16 code 0..6, 7 unknown
    generation8: np.ndarray  # (n,) int16 code * 8 (row index into the closeness table)
    department: np.ndarray  # (n,) int32 codes shared by both sides, -1 unknown
    location: np.ndarray  # (n,) int32 codes, -1 unknown
    unknown: np.ndarray  # (n,) bool: department or location unknown
    utc: np.ndarray  # (n,) float32 offset normalised to [-12, 12)
    avail: np.ndarray  # (n,) float32 min(1, availability / target hours)
    interest_inverse: np.ndarray  # float32 1/k for every possible union size k (0 at 0)
    # Unanswered items (a roster's blank cells, listed in its ``unanswered`` column) are
    # left out of their component pair by pair; the flags say whether any item is.
    skill_ans: np.ndarray  # (n, D) float32 1 where the digital skill was answered
    lead_ans: np.ndarray  # (n, L) float32 1 where the leadership skill was answered
    goal_use: np.ndarray  # (n, G) float32 1 on goal domains whose own skill was answered
    deep_ans: np.ndarray  # (n, 11) float64 1 where the trait or value was answered
    deep_sq: np.ndarray  # (n, 11) float64 squares of the centred profile (integers)
    partial_skills: bool = False
    partial_deep: bool = False

    def take(self, idx: Any, column: bool) -> dict[str, np.ndarray]:
        """Rows ``idx``, shaped to broadcast as matrix rows (``column``) or pairs."""
        return {name: self.gather(name, idx, column) for name in _SIDE_FIELDS}

    def gather(self, name: str, idx: Any, column: bool = False) -> Any:
        """One entry of :meth:`take`: rows ``idx`` (a slice or positions) of one field.

        Positions go through ``np.take`` along the rows, which copies the same values as
        fancy indexing ``arr[idx]`` at a fraction of its cost for 2-D fields.
        """
        if name == "interest_inverse":
            return self.interest_inverse
        if name in ("partial_skills", "partial_deep"):
            return np.bool_(getattr(self, name))
        arr = getattr(self, name)
        arr = arr[idx] if isinstance(idx, slice) else np.take(arr, idx, axis=0)
        if not column:
            return arr
        return arr[:, None, :] if arr.ndim == 2 else arr[:, None]


class _Rows(Mapping[str, Any]):
    """:meth:`_Side.take` of pairs (``column=False``), each field gathered when first read.

    :func:`_components` reads only some fields of each side (a mentee's goals, a mentor's
    skills; the answered-item fields only for a roster with blank cells), so the others
    are never gathered. The values are those of ``take``.
    """

    def __init__(self, side: _Side, idx: np.ndarray):
        self._side, self._idx = side, idx
        self._got: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._got:
            if name not in _SIDE_FIELDS:
                raise KeyError(name)
            self._got[name] = self._side.gather(name, self._idx)
        return self._got[name]

    def __iter__(self) -> Iterator[str]:
        return iter(_SIDE_FIELDS)

    def __len__(self) -> int:
        return len(_SIDE_FIELDS)


# What :meth:`_Side.take` returns: the per-person fields, then the shared ones.
_SIDE_FIELDS = (
    "skill",
    "lead",
    "goal_thr",
    "deep",
    "deep_t",
    "interests",
    "skill_ans",
    "lead_ans",
    "goal_use",
    "deep_ans",
    "deep_sq",
    "inv_goals",
    "deep_norm",
    "generation",
    "generation8",
    "department",
    "location",
    "unknown",
    "utc",
    "avail",
    "interest_inverse",
    "partial_skills",
    "partial_deep",
)


def _codes(cohort: Cohort, column: str) -> np.ndarray:
    """Codes of a text column shared by both sides (-1: missing, empty or unknown)."""
    if column not in cohort.participants.columns:
        return np.full(len(cohort.participants), -1, np.int32)
    # Factorize the raw column, then clean its few distinct values and factorize those:
    # the codes equal factorizing the cleaned column (first appearance keeps its order).
    raw_codes, raw = cohort.factorized(column)
    text = ["" if not isinstance(u, str) and pd.isna(u) else str(u).strip() for u in raw]
    clean_codes, uniques = pd.factorize(np.array(text, dtype=object))
    codes = clean_codes[raw_codes]
    unknown = np.array([u == "" or u.lower() in ("unspecified", "unknown") for u in uniques], bool)
    return np.where(unknown[codes], -1, codes).astype(np.int32)


def _generation_codes(factorized: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Position of each value of a column (its :meth:`Cohort.factorized`) in
    :data:`_GEN_ORDER` (-1 if none), as ``pd.Index(_GEN_ORDER).get_indexer(column.fillna("")
    .astype(str))``: looked up once per distinct value."""
    codes, distinct = factorized
    text = ["" if not isinstance(u, str) and pd.isna(u) else str(u) for u in distinct]
    return pd.Index(_GEN_ORDER).get_indexer(pd.Index(text, dtype=object))[codes]


def _bitmasks(factorized: tuple[np.ndarray, np.ndarray], names: tuple[str, ...]) -> np.ndarray:
    """Bit k set where the ';'-list holds ``names[k]`` (exact items, as cohort membership).

    ``factorized`` is a column's :meth:`Cohort.factorized` (missing = empty); each distinct
    text is split once.
    """
    bit = {name: 1 << k for k, name in enumerate(names)}
    codes, distinct = factorized
    masks = np.zeros(len(distinct), np.int64)
    for row, text in enumerate(distinct):
        mask = 0
        if isinstance(text, str):
            for item in text.split(";"):
                mask |= bit.get(item, 0)
        masks[row] = mask
    return masks[codes]


def _interest_words(
    factorized: tuple[np.ndarray, np.ndarray], names: tuple[str, ...]
) -> np.ndarray:
    """(rows, W) uint64 bit masks: bit k of the row set where its ';'-list holds names[k].

    ``factorized`` is a column's :meth:`Cohort.factorized`; each distinct value is split
    once, as text (missing = empty). As many 64-bit words as the vocabulary needs: one for
    the generator's interests, more for a real roster whose people wrote many different ones.
    """
    codes, distinct = factorized
    bit = {name: 1 << k for k, name in enumerate(names)}
    masks = []
    for value in distinct:
        mask = 0
        text = "" if not isinstance(value, str) and pd.isna(value) else str(value)
        for item in text.split(";"):
            mask |= bit.get(item, 0)
        masks.append(mask)
    n_words = max(1, -(-len(names) // 64))
    full = (1 << 64) - 1
    out = np.zeros((len(distinct), n_words), np.uint64)
    for w in range(n_words):
        out[:, w] = np.array([(m >> (64 * w)) & full for m in masks], dtype=np.uint64)
    return out[codes]


def _inverse_table(most: int) -> np.ndarray:
    """float32 ``1 / k`` for k = 0..most (0 at 0): the same entries whatever ``most`` is."""
    return np.concatenate([[0.0], 1.0 / np.arange(1, max(most, 32) + 1)]).astype(np.float32)


def _unpack(masks: np.ndarray, n: int) -> np.ndarray:
    return ((masks[:, None] >> np.arange(n)) & 1).astype(bool)


_FEATURE_CACHE = ObjectCache()


def _features(cohort: Cohort) -> tuple[_Side, _Side]:
    """Features of (mentees, mentors), computed once per cohort (they depend only on it)."""
    return _FEATURE_CACHE.get(cohort, _compute_features)


def _compute_features(cohort: Cohort) -> tuple[_Side, _Side]:
    """Each column is read and converted once for all participants, then split by role
    (every conversion is elementwise, so this equals converting each side's rows)."""
    people = cohort.participants
    columns = people.columns
    missing = [
        c
        for c in ("participant_id", "role", *cohort.skill_columns, *cohort.lead_columns)
        if c not in columns
    ]
    if missing:
        raise InvalidParameterError(
            f"The cohort's participants table lacks the column {missing[0]!r} that "
            "compatibility scoring needs."
        )
    n_all = len(people)
    role = people["role"].to_numpy(object)
    n_skill = len(cohort.skill_columns)
    # Column by column: selecting a list of columns costs more than reading each.
    numbers = np.column_stack(
        [people[c].to_numpy(np.float64) for c in (*cohort.skill_columns, *cohort.lead_columns)]
    ).astype(np.float32)
    deep_all = np.column_stack(
        [people[c].to_numpy(float) if c in columns else np.full(n_all, 0.5) for c in _DEEP_COLUMNS]
    )
    deep_all = np.round(np.clip(deep_all, 0, 1) * _GRID) - _GRID / 2  # centred on 0.5
    unanswered = (
        _unpack(
            _bitmasks(
                cohort.factorized("unanswered"),
                (*cohort.skill_columns, *cohort.lead_columns, *_DEEP_COLUMNS),
            ),
            n_skill + len(cohort.lead_columns) + len(_DEEP_COLUMNS),
        )
        if "unanswered" in columns
        else None
    )
    answered = (
        ~unanswered
        if unanswered is not None
        else np.ones((n_all, n_skill + len(cohort.lead_columns) + len(_DEEP_COLUMNS)), bool)
    )
    n_lead = len(cohort.lead_columns)
    skill_ans_all = answered[:, :n_skill]
    lead_ans_all = answered[:, n_skill : n_skill + n_lead]
    deep_ans_all = answered[:, n_skill + n_lead :]
    partial_skills = not (skill_ans_all.all() and lead_ans_all.all())
    partial_deep = not deep_ans_all.all()
    deep_all = np.where(deep_ans_all, deep_all, 0.0)  # an unanswered item adds nothing
    goal_masks = (
        {
            name: _bitmasks(cohort.factorized("goal_domains"), domains)
            for name, domains in (
                ("mentee", cohort.digital_domains),
                ("mentor", cohort.leadership_domains),
            )
        }
        if "goal_domains" in columns
        else None
    )
    interests_all = (
        _interest_words(cohort.factorized("interests"), cohort.interest_names)
        if "interests" in columns
        else np.zeros((n_all, 1), np.uint64)
    )
    most = int(np.bitwise_count(interests_all).sum(axis=1).max(initial=0))
    interest_inverse = _inverse_table(
        max(2 * most, len(cohort.digital_domains), len(cohort.leadership_domains))
    )
    generation_all = (
        _generation_codes(cohort.factorized("generation"))
        if "generation" in columns
        else np.full(n_all, -1)
    )
    generation_all = np.where(generation_all < 0, _GEN_CODES - 1, generation_all).astype(np.int16)
    department_all, location_all = _codes(cohort, "department"), _codes(cohort, "location")
    utc_all = (
        people["utc_offset"].to_numpy(np.float64) if "utc_offset" in columns else np.zeros(n_all)
    )
    utc_all = ((utc_all + 12.0) % 24.0 - 12.0).astype(np.float32)
    avail_all = (
        people["availability_hours_month"].to_numpy(np.float64)
        if "availability_hours_month" in columns
        else np.full(n_all, AVAILABILITY_TARGET_HOURS)
    )
    avail_all = np.minimum(avail_all / AVAILABILITY_TARGET_HOURS, 1.0).astype(np.float32)
    ids_all = people["participant_id"].astype(str).to_numpy(object)
    sides = []
    for name in ("mentee", "mentor"):
        rows = np.flatnonzero(role == name)
        skill, lead = numbers[rows, :n_skill], numbers[rows, n_skill:]
        domains = cohort.digital_domains if name == "mentee" else cohort.leadership_domains
        goals = _unpack(
            goal_masks[name][rows] if goal_masks is not None else np.zeros(rows.size, np.int64),
            len(domains),
        )
        own = skill if name == "mentee" else lead
        own_ans = (skill_ans_all if name == "mentee" else lead_ans_all)[rows]
        if partial_skills:
            # An unanswered skill teaches nothing (it stays below any threshold) and an
            # unanswered own skill drops its goal domain; the pair's count of domains
            # where both answered divides the sum.
            teach = lead_ans_all[rows] if name == "mentee" else skill_ans_all[rows]
            if name == "mentee":
                lead = np.where(teach, lead, np.float32(-_NO_GOAL)).astype(np.float32)
            else:
                skill = np.where(teach, skill, np.float32(-_NO_GOAL)).astype(np.float32)
        goal_use = (goals & own_ans).astype(np.float32)
        goal_thr = np.where(goals & own_ans, own, _NO_GOAL).astype(np.float32)
        n_goals = goals.sum(axis=1)
        inv_goals = np.where(n_goals > 0, 1.0 / np.maximum(n_goals, 1), 0.0).astype(np.float32)
        deep = deep_all[rows]
        generation = generation_all[rows]
        department, location = department_all[rows], location_all[rows]

        sides.append(
            _Side(
                ids=ids_all[rows],
                skill=skill,
                lead=lead,
                goal_thr=goal_thr,
                inv_goals=inv_goals,
                deep=deep,
                deep_t=deep,
                deep_norm=np.sqrt((deep * deep).sum(axis=1)),
                interests=interests_all[rows],
                generation=generation,
                generation8=generation * _GEN_CODES,
                department=department,
                location=location,
                unknown=(department < 0) | (location < 0),
                utc=utc_all[rows],
                avail=avail_all[rows],
                interest_inverse=interest_inverse,
                skill_ans=skill_ans_all[rows].astype(np.float32),
                lead_ans=lead_ans_all[rows].astype(np.float32),
                goal_use=goal_use,
                deep_ans=deep_ans_all[rows].astype(np.float64),
                deep_sq=deep * deep,
                partial_skills=partial_skills,
                partial_deep=partial_deep,
            )
        )
    return sides[0], sides[1]


def group_codes(cohort: Cohort, attribute: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of ``department`` or ``location`` for (mentees, mentors).

    Equal codes mean the same group; -1 means unknown (never the same as anyone).
    """
    check_option(attribute, "attribute", "group_codes", ("department", "location"))
    mentees, mentors = _features(cohort)
    return getattr(mentees, attribute), getattr(mentors, attribute)


def weighted_score(components: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """The compatibility score: the weighted mean of ``components`` (float32).

    Bit-identical to the entries of :attr:`Compatibility.scores` for the same pairs.
    """
    return _weighted(components, weights)


# --------------------------------------------------------------------------- components


def _advantage(teacher: np.ndarray, thr: np.ndarray, inv: np.ndarray) -> np.ndarray:
    """Mean positive advantage over goal domains; same op order for matrix and pairs."""
    acc = np.maximum(teacher[..., 0] - thr[..., 0], np.float32(0))
    for d in range(1, thr.shape[-1]):
        acc += np.maximum(teacher[..., d] - thr[..., d], np.float32(0))
    acc *= inv
    return acc


def _same(a: np.ndarray, b: np.ndarray, unknown: bool) -> np.ndarray:
    """1 if equal, 0 if different, 0.5 if either is unknown (-1)."""
    out = (a == b).astype(np.float32)
    if unknown:  # only pay for the mask when some value is unknown
        out = np.where((a < 0) | (b < 0), np.float32(0.5), out)
    return out


def _pair_dot(a: np.ndarray, b: np.ndarray, matrix: bool) -> np.ndarray:
    """Row-by-row dot products of ``a`` and ``b``: a (rows x mentors) block or one per pair."""
    if matrix:
        return a[:, 0, :] @ b[0].T
    return np.einsum("ij,ij->i", a, b)


def _pair_count(a: np.ndarray, b: np.ndarray, matrix: bool) -> np.ndarray:
    """How many items both flag (0/1 float32 arrays): exact small integers, as indices."""
    return np.rint(_pair_dot(a.astype(np.float64), b.astype(np.float64), matrix)).astype(np.intp)


def _components(
    e: Mapping[str, Any], r: Mapping[str, Any], names: Collection[str] = COMPONENTS
) -> dict[str, np.ndarray]:
    """The components ``names`` (all by default) for broadcastable mentee features ``e`` and
    mentor features ``r``. Each component is computed on its own from the features, so a
    subset has the same values, bit for bit, as the same entries of the full set."""
    matrix = e["deep"].ndim == 3  # a block of rows against every mentor, or pairs
    out: dict[str, np.ndarray] = {}
    if "complementarity_mentee" in names or "complementarity_mentor" in names:
        out.update(_complementarity(e, r, matrix))
    if "deep_similarity" in names:
        out["deep_similarity"] = _deep_similarity(e, r, matrix)
    if "surface_similarity" in names:
        unknown = bool(e["unknown"].any()) or bool(r["unknown"].any())
        gen = _GEN_SIMILARITY[e["generation8"] + r["generation"]]
        out["surface_similarity"] = (
            gen
            + _same(e["department"], r["department"], unknown)
            + _same(e["location"], r["location"], unknown)
        ) / np.float32(3)
    if "shared_interests" in names:
        out["shared_interests"] = _shared_interests(e, r)
    if "schedule_fit" in names:
        # Offsets are normalised to [-12, 12) per person, so the gap needs no modulo.
        gap = np.abs(e["utc"] - r["utc"])
        gap = np.minimum(gap, np.float32(24) - gap)
        out["schedule_fit"] = (np.float32(1) - gap * np.float32(1 / 12)) * np.minimum(
            e["avail"], r["avail"]
        )
    return {k: out[k] for k in COMPONENTS if k in names}


def _complementarity(
    e: Mapping[str, Any], r: Mapping[str, Any], matrix: bool
) -> dict[str, np.ndarray]:
    if e["partial_skills"]:
        # Divide by the number of goal domains where both people answered.
        inv = e["interest_inverse"]
        comp_e = _advantage(
            r["skill"], e["goal_thr"], inv[_pair_count(e["goal_use"], r["skill_ans"], matrix)]
        )
        comp_r = _advantage(
            e["lead"], r["goal_thr"], inv[_pair_count(e["lead_ans"], r["goal_use"], matrix)]
        )
    else:
        comp_e = _advantage(r["skill"], e["goal_thr"], e["inv_goals"])
        comp_r = _advantage(e["lead"], r["goal_thr"], r["inv_goals"])
    return {"complementarity_mentee": comp_e, "complementarity_mentor": comp_r}


def _deep_similarity(e: Mapping[str, Any], r: Mapping[str, Any], matrix: bool) -> np.ndarray:
    # Cosine of the centred profiles: the dot product of integer vectors is exact in
    # float64 in any summation order, and the division is elementwise, so a matrix
    # block and a list of pairs give the same bits.
    if matrix:
        dot = e["deep"][:, 0, :] @ r["deep_t"][0].T
    else:
        dot = np.einsum("ij,ij->i", e["deep"], r["deep_t"])
    if e["partial_deep"]:
        # Unanswered items are left out pair by pair: each norm runs over the items both
        # people answered (integer sums, exact in any order).
        norms = np.sqrt(_pair_dot(e["deep_sq"], r["deep_ans"], matrix)) * np.sqrt(
            _pair_dot(e["deep_ans"], r["deep_sq"], matrix)
        )
    else:
        norms = e["deep_norm"] * r["deep_norm"]
    cos = np.where(norms > 0, dot / np.where(norms > 0, norms, 1.0), 0.0)
    return ((1.0 + np.clip(cos, -1.0, 1.0)) * 0.5).astype(np.float32)


def _shared_interests(e: Mapping[str, Any], r: Mapping[str, Any]) -> np.ndarray:
    # Jaccard index on the interest bit masks, word by word (integer counts: exact).
    ie, ir = e["interests"], r["interests"]
    inter = np.bitwise_count(ie[..., 0] & ir[..., 0])
    union = np.bitwise_count(ie[..., 0] | ir[..., 0])
    if ie.shape[-1] > 1:
        inter, union = inter.astype(np.int32), union.astype(np.int32)
        for w in range(1, ie.shape[-1]):
            inter += np.bitwise_count(ie[..., w] & ir[..., w])
            union += np.bitwise_count(ie[..., w] | ir[..., w])
    return inter.astype(np.float32) * e["interest_inverse"][union]


def _weighted(
    comps: dict[str, np.ndarray],
    weights: dict[str, float],
    out: np.ndarray | None = None,
    scratch: np.ndarray | None = None,
) -> np.ndarray:
    """Weighted mean of the terms in a fixed order (identical for matrix and pairs).

    Written into ``out`` (a new array if None) with ``scratch`` for each term, so a
    matrix block needs no temporaries; the float32 operations and their order are the
    same whichever way it is called.
    """
    shape = np.broadcast_shapes(*(c.shape for c in comps.values()))
    if out is None:
        out = np.empty(shape, np.float32)
    if scratch is None:
        scratch = np.empty(shape, np.float32)
    first = True
    for term in WEIGHT_TERMS:
        w = weights.get(term, 0.0)
        if w == 0.0:
            continue
        w32 = np.float32(w)
        part = out if first else scratch
        if term == "surface_difference":
            np.multiply(w32, comps["surface_similarity"], out=part)
            np.subtract(w32, part, out=part)
        else:
            np.multiply(w32, comps[term], out=part)
        if not first:
            np.add(out, part, out=out)
        first = False
    # The normalised weights sum to 1 up to rounding: keep the score within [0, 1].
    return np.minimum(out, np.float32(1), out=out)


def _blocked(
    cohort: Cohort, weight_sets: list[dict[str, float]], keep_components: bool
) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """Weighted matrices (and optionally the components) over row blocks, on threads."""
    mentees, mentors = _features(cohort)
    n_e, n_r = len(mentees.ids), len(mentors.ids)
    outs = [np.empty((n_e, n_r), np.float32) for _ in weight_sets]
    comps_out = {c: np.empty((n_e, n_r), np.float32) for c in COMPONENTS} if keep_components else {}
    r = mentors.take(slice(None), column=False)
    r = {k: v[None, ...] for k, v in r.items()}
    step = max(1, _BLOCK_ELEMENTS // max(n_r, 1))

    def work(start: int) -> None:
        rows = slice(start, min(start + step, n_e))
        comps = _components(mentees.take(rows, column=True), r)
        scratch = np.empty((rows.stop - rows.start, n_r), np.float32)
        for out, weights in zip(outs, weight_sets, strict=True):
            _weighted(comps, weights, out=out[rows], scratch=scratch)
        for name, out in comps_out.items():
            out[rows] = comps[name]

    starts = range(0, n_e, step)
    workers = min(os.cpu_count() or 1, 8)
    if workers > 1 and n_e * n_r > 4 * _BLOCK_ELEMENTS:
        # numpy releases the GIL inside ufunc loops, so row blocks run in parallel. Each
        # block's small matrix product must not start BLAS threads of its own: with the
        # pool that oversubscribes the cores (measured 0.75 s -> 0.38 s at 5,000^2 on
        # two cores). The product is exact integer arithmetic, so the result is the same.
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
            list(pool.map(work, starts))
    else:
        for start in starts:
            work(start)
    return outs, comps_out


def component_means(cohort: Cohort, mask: np.ndarray | None = None) -> dict[str, float]:
    """Mean of each component over the pairs where ``mask`` is True (every pair if it is
    None or selects none), computed block by block: no (mentees x mentors) matrix is held.

    Each block's sums are kept apart and added in block order, so the result does not
    depend on the threads.
    """
    _check_cohort(cohort, "component_means")
    mentees, mentors = _features(cohort)
    n_e, n_r = len(mentees.ids), len(mentors.ids)
    if mask is not None and not mask.any():
        mask = None
    r = {k: v[None, ...] for k, v in mentors.take(slice(None), column=False).items()}
    step = max(1, _BLOCK_ELEMENTS // max(n_r, 1))
    starts = range(0, n_e, step)
    sums = np.zeros((len(starts), len(COMPONENTS)))

    def work(k: int) -> None:
        rows = slice(starts[k], min(starts[k] + step, n_e))
        comps = _components(mentees.take(rows, column=True), r)
        for c, name in enumerate(COMPONENTS):
            block = np.broadcast_to(comps[name], (rows.stop - rows.start, n_r))
            sums[k, c] = (
                block.sum(dtype=np.float64)
                if mask is None
                else block[mask[rows]].sum(dtype=np.float64)
            )

    workers = min(os.cpu_count() or 1, 8)
    if workers > 1 and n_e * n_r > 4 * _BLOCK_ELEMENTS:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
            list(pool.map(work, range(len(starts))))
    else:
        for k in range(len(starts)):
            work(k)
    count = n_e * n_r if mask is None else int(mask.sum())
    total = sums.sum(axis=0)
    return {name: float(total[c] / count) for c, name in enumerate(COMPONENTS)}


def score_components(cohort: Cohort) -> dict[str, np.ndarray]:
    """Every component as a float32 (n_mentees, n_mentors) matrix.

    Rows follow ``cohort.mentees``, columns ``cohort.mentors``.
    """
    _check_cohort(cohort, "score_components")
    _, comps = _blocked(cohort, [], keep_components=True)
    return comps


def _positions(idx: Any, n: int, name: str, owner: str) -> np.ndarray:
    arr = np.asarray(idx)
    if arr.ndim != 1 or not (arr.size == 0 or np.issubdtype(arr.dtype, np.integer)):
        raise fail(name, owner, "a 1-D array of integer positions", idx)
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise fail(name, owner, f"positions in [0, {n - 1}]", idx)
    return arr.astype(np.intp)


def pair_components(
    cohort: Cohort, mentee_idx: Any, mentor_idx: Any, *, names: Collection[str] = COMPONENTS
) -> dict[str, np.ndarray]:
    """The components of the pairs ``(mentees[mentee_idx[k]], mentors[mentor_idx[k]])``.

    Positions index ``cohort.mentees`` / ``cohort.mentors``; the values equal the
    corresponding entries of :func:`score_components` exactly. ``names`` (default: all
    of :data:`COMPONENTS`) computes only those components, with the same values.
    """
    _check_cohort(cohort, "pair_components")
    mentees, mentors = _features(cohort)
    i = _positions(mentee_idx, len(mentees.ids), "mentee_idx", "pair_components")
    j = _positions(mentor_idx, len(mentors.ids), "mentor_idx", "pair_components")
    if i.shape != j.shape:
        raise fail(
            "mentor_idx",
            "pair_components",
            f"the same length as mentee_idx ({i.size})",
            f"length {j.size}",
        )
    return _components(
        _Rows(mentees, i), _Rows(mentors, j), _component_names(names, "pair_components")
    )


def _component_names(names: Any, owner: str) -> tuple[str, ...]:
    if isinstance(names, str) or not all(n in COMPONENTS for n in names):
        raise fail("names", owner, "a sequence of names among " + ", ".join(COMPONENTS), names)
    return tuple(names)


def grid_components(
    cohort: Cohort, mentee_idx: Any, mentor_idx: Any, *, names: Collection[str] = COMPONENTS
) -> dict[str, np.ndarray]:
    """The components of every pair of the grid ``mentees[mentee_idx] x mentors[mentor_idx]``,
    each broadcastable to a (len(mentee_idx), len(mentor_idx)) matrix.

    Row-major, the values equal :func:`pair_components` of the repeated mentee and tiled
    mentor positions exactly; the grid is computed by broadcasting rows against columns
    (as :func:`score_components` does), without copying every pair's features. ``names``
    (default: all of :data:`COMPONENTS`) computes only those components.
    """
    _check_cohort(cohort, "grid_components")
    mentees, mentors = _features(cohort)
    i = _positions(mentee_idx, len(mentees.ids), "mentee_idx", "grid_components")
    j = _positions(mentor_idx, len(mentors.ids), "mentor_idx", "grid_components")
    r = {k: v[None, ...] for k, v in mentors.take(j, column=False).items()}
    return _components(mentees.take(i, column=True), r, _component_names(names, "grid_components"))


def pair_scores(
    cohort: Cohort,
    mentee_idx: Any,
    mentor_idx: Any,
    *,
    weights: str | dict[str, float] = "balanced",
) -> np.ndarray:
    """Weighted scores of arbitrary pairs, equal to the matching entries of ``compatibility_matrix``."""
    w = resolve_weights(weights, "pair_scores")
    return _weighted(pair_components(cohort, mentee_idx, mentor_idx), w)


def _check_cohort(cohort: Any, owner: str) -> None:
    if not isinstance(cohort, Cohort):
        raise fail(
            "cohort", owner, "a Cohort (from generate_cohort or read_roster)", type(cohort).__name__
        )
    n_mentors, n_mentees = len(cohort.mentors), len(cohort.mentees)  # cached per cohort
    if not n_mentees or not n_mentors:
        raise InvalidParameterError(
            f"The 'cohort' parameter of {owner} must have at least one mentor and one "
            f"mentee; got {n_mentors} mentors and {n_mentees} mentees."
        )


# --------------------------------------------------------------------------- constraints


@dataclass(frozen=True)
class Constraints(Spec):
    """Hard constraints on who may be paired (all validated).

    Parameters
    ----------
    same_department : "allowed" | "forbidden" | "required"
        Whether a mentee and mentor of the same department may (must) be paired. An
        unknown department never counts as the same.
    cross_location : bool
        Require mentee and mentor to be in different locations.
    forbidden_pairs : sequence of (id, id)
        Explicit pairs that must not be matched (either order of mentee and mentor id).
    reporting_line : "forbidden" | "allowed"
        With a ``manager_id`` column, forbid pairing anyone with a person in their chain
        of managers (the usual rule: no mentoring across one's own reporting line).
    """

    same_department: str = "allowed"
    cross_location: bool = False
    forbidden_pairs: tuple[tuple[str, str], ...] = ()
    reporting_line: str = "forbidden"

    def __post_init__(self) -> None:
        owner = "Constraints"
        check_option(
            self.same_department, "same_department", owner, ("allowed", "forbidden", "required")
        )
        object.__setattr__(
            self, "cross_location", check_bool(self.cross_location, "cross_location", owner)
        )
        check_option(self.reporting_line, "reporting_line", owner, ("forbidden", "allowed"))
        try:
            pairs = tuple((str(a), str(b)) for a, b in self.forbidden_pairs)
        except (TypeError, ValueError):
            raise fail(
                "forbidden_pairs", owner, "a sequence of (id, id) pairs", self.forbidden_pairs
            ) from None
        object.__setattr__(self, "forbidden_pairs", pairs)


def _constraint_masks(
    cohort: Cohort, constraints: Constraints, features: tuple[_Side, _Side] | None = None
) -> dict[str, np.ndarray]:
    """One boolean 'allowed' matrix per active constraint, named for messages."""
    people = cohort.participants
    mentees, mentors = features or _features(cohort)
    n_e, n_r = len(mentees.ids), len(mentors.ids)
    masks: dict[str, np.ndarray] = {}
    if constraints.same_department != "allowed":
        if "department" not in people.columns:
            raise InvalidParameterError(
                f"The constraint same_department={constraints.same_department!r} needs a "
                "department column, which the participants table lacks."
            )
        de, dr = mentees.department[:, None], mentors.department[None, :]
        same = (de == dr) & (de >= 0)
        name = f"same_department={constraints.same_department!r}"
        masks[name] = ~same if constraints.same_department == "forbidden" else same
    if constraints.cross_location:
        if "location" not in people.columns:
            raise InvalidParameterError(
                "The constraint cross_location=True needs a location column, which the "
                "participants table lacks."
            )
        le, lr = mentees.location[:, None], mentors.location[None, :]
        masks["cross_location=True"] = ~((le == lr) & (le >= 0))
    if constraints.forbidden_pairs:
        pos_e = pd.Index(mentees.ids)
        pos_r = pd.Index(mentors.ids)
        allowed = np.ones((n_e, n_r), bool)
        for a, b in constraints.forbidden_pairs:
            if a in pos_e and b in pos_r:
                allowed[pos_e.get_loc(a), pos_r.get_loc(b)] = False
            elif b in pos_e and a in pos_r:
                allowed[pos_e.get_loc(b), pos_r.get_loc(a)] = False
            else:
                raise InvalidParameterError(
                    f"The forbidden pair ({quote(a)}, {quote(b)}) must name one mentee and one mentor "
                    "of the cohort; it does not."
                )
        masks["forbidden_pairs"] = allowed
    if constraints.reporting_line == "forbidden" and "manager_id" in people.columns:
        masks["reporting_line"] = _reporting_line_allowed(people, mentees.ids, mentors.ids)
    return masks


def _reporting_line_allowed(
    people: pd.DataFrame, mentee_ids: np.ndarray, mentor_ids: np.ndarray
) -> np.ndarray:
    """False where one person is in the other's chain of managers (vectorized by depth)."""
    ids = pd.Index(people["participant_id"].astype(str))
    manager = people["manager_id"].fillna("").astype(str).str.strip()
    parent = ids.get_indexer(manager)  # -1 where no manager or one outside the roster
    pos_e = pd.Index(mentee_ids).get_indexer(ids)  # participant -> mentee position or -1
    pos_r = pd.Index(mentor_ids).get_indexer(ids)
    allowed = np.ones((len(mentee_ids), len(mentor_ids)), bool)
    person = np.arange(len(ids))
    current = parent.copy()
    for _ in range(len(ids)):  # depth bound also stops manager cycles
        live = current >= 0
        if not live.any():
            break
        who, boss = person[live], current[live]
        for a, b in ((who, boss), (boss, who)):
            e, r = pos_e[a], pos_r[b]
            ok = (e >= 0) & (r >= 0)
            allowed[e[ok], r[ok]] = False
        current = np.where(live, parent[np.maximum(current, 0)], -1)
    return allowed


def admissible_mask(cohort: Cohort, constraints: Constraints | None = None) -> np.ndarray:
    """Boolean (n_mentees, n_mentors): True where the pair satisfies every constraint."""
    _check_cohort(cohort, "admissible_mask")
    constraints = _check_constraints(constraints, "admissible_mask")
    mentees, mentors = _features(cohort)
    mask = np.ones((len(mentees.ids), len(mentors.ids)), bool)
    for allowed in _constraint_masks(cohort, constraints, (mentees, mentors)).values():
        mask &= allowed
    return mask


def _check_constraints(constraints: Any, owner: str) -> Constraints:
    if constraints is None:
        return Constraints()
    if isinstance(constraints, dict):
        return Constraints(**constraints)
    if not isinstance(constraints, Constraints):
        raise fail(
            "constraints", owner, "a Constraints, a dict of its fields, or None", constraints
        )
    return constraints


# --------------------------------------------------------------------------- the result

MATRICES = ("scores", "mentee_view", "mentor_view")


@dataclass(frozen=True)
class Compatibility:
    """Scores of every (mentee, mentor) pair under one weighting and set of constraints.

    ``scores`` is the weighted score; ``mentee_view`` / ``mentor_view`` are each side's
    own view (:func:`side_weights`), used for preferences; ``admissible`` marks pairs
    allowed by the constraints. Rows follow ``mentee_ids``, columns ``mentor_ids``.
    The three matrices are computed when first used (:meth:`matrices` computes several
    in one pass) and then kept; their values do not depend on when that happens.
    """

    admissible: np.ndarray
    mentee_ids: np.ndarray
    mentor_ids: np.ndarray
    weights: dict[str, float]
    constraints: Constraints
    cohort: Cohort = field(repr=False)
    constraint_masks: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def cohort_fingerprint(self) -> str:
        return self.cohort.fingerprint

    def matrices(self, *names: str) -> tuple[np.ndarray, ...]:
        """The named matrices (of :data:`MATRICES`); the missing ones in one pass."""
        for name in names:
            check_option(name, "name", "Compatibility.matrices", MATRICES)
        missing = [n for n in dict.fromkeys(names) if n not in self._cache]
        if missing:
            sets = {
                "scores": self.weights,
                "mentee_view": side_weights(self.weights, "mentee"),
                "mentor_view": side_weights(self.weights, "mentor"),
            }
            outs, _ = _blocked(self.cohort, [sets[n] for n in missing], keep_components=False)
            self._cache.update(zip(missing, outs, strict=True))
        return tuple(self._cache[n] for n in names)

    @property
    def scores(self) -> np.ndarray:
        return self.matrices("scores")[0]

    @property
    def mentee_view(self) -> np.ndarray:
        return self.matrices("mentee_view")[0]

    @property
    def mentor_view(self) -> np.ndarray:
        return self.matrices("mentor_view")[0]

    @property
    def components(self) -> dict[str, np.ndarray]:
        """The component matrices (computed on first use, then kept)."""
        if "components" not in self._cache:
            self._cache["components"] = score_components(self.cohort)
        return self._cache["components"]

    def pair_components(self, mentee_idx: Any, mentor_idx: Any) -> dict[str, np.ndarray]:
        return pair_components(self.cohort, mentee_idx, mentor_idx)


def compatibility_matrix(
    cohort: Cohort,
    *,
    weights: str | dict[str, float] = "balanced",
    constraints: Constraints | dict | None = None,
    precompute: Any = MATRICES,
) -> Compatibility:
    """Score every (mentee, mentor) pair of ``cohort``; see the module docstring.

    ``weights`` is a :data:`WEIGHT_PROFILES` name or a ``{term: weight}`` dict (terms
    from :data:`WEIGHT_TERMS`, non-negative, not all zero). ``precompute`` names the
    matrices (of :data:`MATRICES`) computed now, in one pass; the others are computed
    on first use (``match`` asks only for what its policy needs).
    """
    _check_cohort(cohort, "compatibility_matrix")
    w = resolve_weights(weights, "compatibility_matrix")
    constraints = _check_constraints(constraints, "compatibility_matrix")
    if isinstance(precompute, str) or not all(p in MATRICES for p in precompute):
        raise fail(
            "precompute",
            "compatibility_matrix",
            "a sequence of names among " + ", ".join(MATRICES),
            precompute,
        )
    mentees, mentors = _features(cohort)
    masks = _constraint_masks(cohort, constraints, (mentees, mentors))
    mask = np.ones((len(mentees.ids), len(mentors.ids)), bool)
    for allowed in masks.values():
        mask &= allowed
    compat = Compatibility(
        admissible=mask,
        mentee_ids=mentees.ids,
        mentor_ids=mentors.ids,
        weights=w,
        constraints=constraints,
        cohort=cohort,
        constraint_masks=masks,
    )
    if precompute:
        compat.matrices(*precompute)
    return compat


# Plain words for each weighted term, the start of every explanation of a pair.
COMPONENT_PHRASES = {
    "complementarity_mentee": "the mentor is ahead in what the mentee wants to learn",
    "complementarity_mentor": "the mentee is strong in the leadership skills the mentor wants",
    "deep_similarity": "similar work values and personality",
    "surface_similarity": "similar background",
    "surface_difference": "different backgrounds that widen both views",
    "shared_interests": "shared interests",
    "schedule_fit": "compatible schedules",
}


def private_interest_labels(cohort: Cohort) -> dict[str, str]:
    """``{label: text}`` of the interests people wrote themselves (outside the generator's
    :data:`~toolkit.cohort.INTERESTS` categories), as explanations name them.

    An explanation names such an interest ``interest #k`` (k counts the cohort's own
    interests in sorted order), never its text; a caller allowed to show it (``rmt match
    --include-names``) replaces the labels with this table.
    """
    names = cohort.interest_names
    known = len(INTERESTS)
    return {f"interest #{k + 1}": text for k, text in enumerate(names[known:])}


def reveal_interests(text: str, labels: dict[str, str]) -> str:
    """``text`` with each ``interest #k`` label replaced by the interest it stands for."""
    return re.sub(r"interest #\d+", lambda m: labels.get(m.group(), m.group()), text)


class ComponentDetails:
    """Concrete words for why a component lifts a pair: the domain, the shared interests,
    the time-zone gap (what :meth:`toolkit.matching.Matching.explain` says).

    Free text never leaves the roster: a shared interest is named by its category when
    it is one of the generator's :data:`~toolkit.cohort.INTERESTS`, else by an index
    (``interest #3``, see :func:`private_interest_labels`). Where a component rests on
    part of the items (a roster's unanswered cells are left out), the words say on how
    many.
    """

    def __init__(self, cohort: Cohort) -> None:
        self.cohort = cohort
        self.e, self.r = _features(cohort)
        self.mentees, self.mentors = cohort.mentees, cohort.mentors

    @staticmethod
    def _domain(adv: np.ndarray, columns: list[str]) -> str:
        best = int(np.argmax(adv))
        return columns[best].split("_", 1)[1].replace("_", " ")

    def _interest(self, k: int) -> str:
        known = len(INTERESTS)
        return self.cohort.interest_names[k] if k < known else f"interest #{k - known + 1}"

    def phrase(self, term: str, i: int, j: int) -> str:
        base = COMPONENT_PHRASES[term]
        e, r = self.e, self.r
        if term == "complementarity_mentee":
            adv = np.maximum(r.skill[j] - e.goal_thr[i], 0)
            part = self._part(e.goal_use[i], r.skill_ans[j], e.partial_skills, "goal domains")
            return base + (
                f" ({self._domain(adv, self.cohort.skill_columns)}{part})" if adv.max() > 0 else ""
            )
        if term == "complementarity_mentor":
            adv = np.maximum(e.lead[i] - r.goal_thr[j], 0)
            part = self._part(r.goal_use[j], e.lead_ans[i], e.partial_skills, "goal domains")
            return base + (
                f" ({self._domain(adv, self.cohort.lead_columns)}{part})" if adv.max() > 0 else ""
            )
        if term == "deep_similarity":
            both = int(np.rint((e.deep_ans[i] * r.deep_ans[j]).sum()))
            return base + (
                f" (on the {both} of {len(_DEEP_COLUMNS)} items both answered; "
                "the others are left out)"
                if e.partial_deep
                else ""
            )
        if term == "shared_interests":
            names = [
                self._interest(64 * w + b)
                for w, both in enumerate((e.interests[i] & r.interests[j]).tolist())
                for b in range(64)
                if both >> b & 1
            ]
            return base + (": " + ", ".join(names) if names else "")
        if term == "surface_similarity":
            same = [
                a
                for a in ("department", "location")
                if getattr(e, a)[i] >= 0 and getattr(e, a)[i] == getattr(r, a)[j]
            ]
            if e.generation[i] == r.generation[j] and e.generation[i] < 7:
                same.append("generation")
            return ("same " + " and ".join(same)) if same else base
        if term == "schedule_fit":
            gap = abs(float(e.utc[i]) - float(r.utc[j]))
            gap = min(gap, 24 - gap)
            return base + (f" (time zones {gap:g} h apart)" if gap else " (same time zone)")
        return base

    @staticmethod
    def _part(goals: np.ndarray, answered: np.ndarray, partial: bool, what: str) -> str:
        """'; on 2 of 3 goal domains both answered' when unanswered items were left out."""
        if not partial:
            return ""
        total = int(np.rint(goals.sum()))
        both = int(np.rint((goals * answered).sum()))
        return f"; on {both} of {total} {what} both answered" if both < total else ""
