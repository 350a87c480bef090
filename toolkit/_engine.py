"""The vectorised week-by-week dynamics: the one seam between the specs and the numbers.

Private to the package. :mod:`toolkit.simulation` (one matching, one design) and
:mod:`toolkit.experiment` (arms x replicates) both reach the dynamics only through this
small interface:

- :func:`cohort_features` -- per-person arrays of a cohort, computed once per cohort;
- :func:`matching_positions` -- (mentee, mentor) positions of a matching in its cohort;
- :class:`Stack` -- pair slots of several replicates side by side;
- :func:`run` -- simulate one design on a stack, return the requested tidy tables;
- :func:`control_tables` -- the unpaired control arm of a stack;
- :func:`check_tables` and the vocabularies ``TABLES``, ``INTERVENTIONS``,
  ``EVENT_TYPES``, ``REASONS``.

A *pair slot* belongs to a matched mentee: ``pair_id`` is the mentee's position in
``cohort.mentees``, so the same slot has the same id in every arm of an experiment. A
rematch keeps the slot and changes its mentor.

The loop runs over weeks only; every per-pair step is a numpy operation over all slots of
all stacked replicates. Random draws come per replicate and week from streams keyed by the
replicate number and indexed by mentee position, never by arm or design, so two arms with
identical settings get identical draws (common random numbers). The behaviour parameters
may differ between stacked replicates (one :class:`~toolkit.behavior.BehaviorModel` per
replicate), which is how a robustness analysis runs every sampled point in one pass.
See ``docs/architecture.md`` for the layers, tables and seeds.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
from scipy.special import expit

from toolkit import _seeding
from toolkit._cache import ObjectCache
from toolkit._validation import fail
from toolkit.behavior import BehaviorModel
from toolkit.cohort import Cohort
from toolkit.compatibility import grid_components, pair_components
from toolkit.matching import Matching
from toolkit.program import ProgramDesign, ProgramSchedule, program_schedule

__all__ = [
    "CLOSURE_REASONS",
    "EVENT_TYPES",
    "INTERVENTIONS",
    "REASONS",
    "INACTIVE_AFTER_WEEKS",
    "STATES",
    "TABLES",
    "CohortFeatures",
    "Stack",
    "check_tables",
    "cohort_features",
    "control_tables",
    "likert",
    "matching_positions",
    "run",
]

INTERVENTIONS = ("none", "coach", "rematch", "close")
EVENT_TYPES = ("checkin", "flag", "coach", "rematch", "closure")
# Reasons: of a check-in or a flag (scheduled, low_rating, no_first_meeting,
# no_meeting_streak), of a rematch (new_mentor, no_mentor_available) and of a closure
# (CLOSURE_REASONS: every closure records one).
CLOSURE_REASONS = (
    "low_quality",
    "lost_engagement",
    "missed_contact",
    "outside_event",
    "coordinator_close",
    "declined_rematch",
)
REASONS = (
    "scheduled",
    "low_rating",
    "no_first_meeting",
    "no_meeting_streak",
    "new_mentor",
    "no_mentor_available",
    *CLOSURE_REASONS,
)
_R = {name: i for i, name in enumerate(REASONS)}
_E = {name: i for i, name in enumerate(EVENT_TYPES)}
_I = {name: i for i, name in enumerate(INTERVENTIONS)}
_WEEKS_PER_MONTH = 52 / 12
TABLES = ("weeks", "outcomes", "surveys", "events")


# --------------------------------------------------------------------------- pair features


class CohortFeatures:
    """Per-person arrays of one cohort that the dynamics need, computed once."""

    def __init__(self, cohort: Cohort):
        self.cohort = cohort
        mentees, mentors = cohort.mentees, cohort.mentors
        self.mentee_ids = mentees["participant_id"].to_numpy(dtype=object)
        self.mentor_ids = mentors["participant_id"].to_numpy(dtype=object)
        self.n_mentees, self.n_mentors = len(mentees), len(mentors)
        # Goal weights: each person's goal domains, equally weighted, summing to 1.
        goal_e = cohort.goal_matrix("mentee").astype(float)
        goal_m = cohort.goal_matrix("mentor").astype(float)
        self.goal_e = goal_e / np.maximum(goal_e.sum(1, keepdims=True), 1.0)
        self.goal_m = goal_m / np.maximum(goal_m.sum(1, keepdims=True), 1.0)
        self.skill_e = _columns(mentees, cohort.skill_columns)
        self.skill_m = _columns(mentors, cohort.skill_columns)
        self.lead_e = _columns(mentees, cohort.lead_columns)
        self.lead_m = _columns(mentors, cohort.lead_columns)
        # Availability: a synthetic cohort gives each person's hours relative to the role
        # mean (the BehaviorModel sets the mean hours); a roster's column is real hours.
        self.avail_e = mentees["availability_hours_month"].to_numpy(float)
        self.avail_m = mentors["availability_hours_month"].to_numpy(float)
        spec = cohort.spec
        self.synthetic = spec is not None
        if spec is not None:
            self.avail_e = self.avail_e / spec.mentee_profile.availability_hours_mean
            self.avail_m = self.avail_m / spec.mentor_profile.availability_hours_mean
        # Skill in one's own goal domains: what a mentee (mentor) sets out to learn.
        self.mentee_start = np.einsum("pd,pd->p", self.goal_e, self.skill_e)
        self.mentor_start = np.einsum("pd,pd->p", self.goal_m, self.lead_m)

    @functools.cached_property
    def typical(self) -> dict[str, float]:
        """The cohort's typical value of each similarity component: its mean over the
        possible pairs (what random matching gives in expectation), and the mean
        availability of each role (the reference of 'time pressure').

        Exact over every pair up to 300 people a side; a larger cohort uses an even
        grid of 300 mentees by 300 mentors (90,000 pairs; deterministic, no draws).
        """
        e = np.unique(np.linspace(0, self.n_mentees - 1, min(self.n_mentees, 300)).astype(int))
        m = np.unique(np.linspace(0, self.n_mentors - 1, min(self.n_mentors, 300)).astype(int))
        # every (mentee, mentor) pair of the grid, row-major (the mean is taken in that order)
        names = ("deep_similarity", "surface_similarity", "shared_interests")
        comps = grid_components(self.cohort, e, m, names=names)
        out = {
            k: float(np.mean(np.broadcast_to(comps[k], (len(e), len(m))).astype(float).ravel()))
            for k in names
        }
        out["avail_e"] = float(np.mean(self.avail_e)) if self.n_mentees else 1.0
        out["avail_m"] = float(np.mean(self.avail_m)) if self.n_mentors else 1.0
        return out

    @functools.cached_property
    def id_codes(self) -> tuple[np.ndarray, pd.CategoricalDtype]:
        """Integer codes of (mentee ids, then mentor ids) and their categorical dtype,
        built and validated once per cohort (validating 200,000 categories is not free)."""
        codes, categories = pd.factorize(np.concatenate([self.mentee_ids, self.mentor_ids]))
        return codes.astype(np.int32), pd.CategoricalDtype(categories)

    @functools.cached_property
    def mentee_index(self) -> pd.Index:
        """Mentee ids -> positions (only a pairs frame given by ids needs it)."""
        return pd.Index(self.mentee_ids)

    @functools.cached_property
    def mentor_index(self) -> pd.Index:
        return pd.Index(self.mentor_ids)

    @functools.cached_property
    def arrow_ids(self) -> tuple[Any, Any]:
        """(mentee ids, mentor ids) as Arrow string arrays, or None for a side whose ids
        are not all distinct strings (then only :meth:`positions`' pandas lookup applies)."""
        import pyarrow as pa

        def side(ids: np.ndarray) -> Any:
            if not all(type(i) is str for i in ids) or len(set(ids)) != len(ids):
                return None
            try:
                return pa.array(ids, type=pa.large_string())
            except (UnicodeError, pa.ArrowException):  # e.g. a lone surrogate: no UTF-8
                return None

        return side(self.mentee_ids), side(self.mentor_ids)

    def positions(self, role: str, column: pd.Series) -> np.ndarray:
        """Positions of the ids in ``column`` among this cohort's ``role`` ids (-1 where
        an id is not one of them), as ``pd.Index(ids).get_indexer`` gives them.

        A column of Arrow strings (pandas' default for text) is looked up by Arrow on
        the bytes, several times faster than through Python string objects.
        """
        value_set = self.arrow_ids[0 if role == "mentee" else 1]
        dtype = column.dtype
        if (
            value_set is not None
            and isinstance(dtype, pd.StringDtype)
            and dtype.storage == "pyarrow"
        ):
            import pyarrow as pa
            import pyarrow.compute as pc

            values = pa.chunked_array(pa.array(column.array)).cast(pa.large_string())
            if len(values) == len(value_set) and values.equals(pa.chunked_array([value_set])):
                return np.arange(len(values), dtype=np.intp)  # the ids in cohort order
            found = pc.index_in(values, value_set=value_set, skip_nulls=True)
            return pc.fill_null(found, -1).to_numpy().astype(np.intp)
        index = self.mentee_index if role == "mentee" else self.mentor_index
        return index.get_indexer(column.to_numpy(dtype=object))

    def pair(self, mentee: np.ndarray, mentor: np.ndarray) -> dict[str, np.ndarray]:
        """Compatibility components and learning potentials of pairs (position arrays)."""
        names = ("deep_similarity", "surface_similarity", "shared_interests", "schedule_fit")
        comps = pair_components(self.cohort, mentee, mentor, names=names)
        out = {k: np.asarray(comps[k], dtype=float) for k in names}
        # The level a learner can reach from this partner: the partner's skill in the
        # learner's goal domains (learning closes the gap, so skills stay in [0, 1]).
        # (np.take along the rows: the same C-ordered copies as fancy indexing, cheaper)
        out["mentee_ceiling"] = np.einsum(
            "pd,pd->p", np.take(self.goal_e, mentee, axis=0), np.take(self.skill_m, mentor, axis=0)
        )
        out["mentor_ceiling"] = np.einsum(
            "pd,pd->p", np.take(self.goal_m, mentor, axis=0), np.take(self.lead_e, mentee, axis=0)
        )
        out["avail_e"], out["avail_m"] = self.avail_e[mentee], self.avail_m[mentor]
        for k in ("deep_similarity", "surface_similarity", "shared_interests"):
            out[f"typical_{k}"] = np.full(len(out["avail_e"]), self.typical[k])
        out["typical_avail_e"] = np.full(len(out["avail_e"]), self.typical["avail_e"])
        out["typical_avail_m"] = np.full(len(out["avail_e"]), self.typical["avail_m"])
        out["synthetic"] = np.full(len(out["avail_e"]), float(self.synthetic))
        return out


def _columns(frame: pd.DataFrame, names: list[str]) -> np.ndarray:
    """A (rows x names) float array, column by column (cheaper than ``frame[names]``).

    Column-major, as ``frame[names].to_numpy()`` is: reductions over a row (einsum) then
    add in the same order, so the numbers stay identical to the last bit.
    """
    return np.array([frame[c].to_numpy(float) for c in names]).reshape(len(names), len(frame)).T


_FEATURES = ObjectCache()


def cohort_features(cohort: Cohort) -> CohortFeatures:
    """The per-person arrays of ``cohort`` the dynamics read, computed once per cohort."""
    return _FEATURES.get(cohort, CohortFeatures)


def matching_positions(
    cohort: Cohort, matching: Matching | pd.DataFrame, owner: str
) -> tuple[np.ndarray, np.ndarray]:
    """Mentee and mentor positions (sorted by mentee) of a Matching or pairs frame of
    ``cohort``; ``owner`` names the public function in error messages."""
    feats = cohort_features(cohort)
    if isinstance(matching, Matching):
        # A matching made from this very cohort object needs no content check (hashing
        # the participants table costs more than simulating a small program).
        if matching.compat.cohort is not cohort and (
            (fp := matching.cohort_fingerprint) != cohort.fingerprint
        ):
            raise fail(
                "matching",
                owner,
                f"a matching of this cohort (fingerprint {cohort.fingerprint})",
                f"a matching of cohort {fp}",
            )
        # A Matching of this cohort already holds positions in cohort order: no id
        # lookup, and no need to build its pairs table.
        e_idx, m_idx = matching.mentee_index, matching.mentor_index
        if len(e_idx) and (
            e_idx.min() < 0
            or e_idx.max() >= feats.n_mentees
            or m_idx.min() < 0
            or m_idx.max() >= feats.n_mentors
        ):
            raise fail(
                "matching",
                owner,
                "a Matching whose positions lie in this cohort",
                "positions out of range",
            )
        order = np.argsort(e_idx, kind="stable")
        if _repeats(e_idx[order]):
            raise fail(
                "matching", owner, "a matching with each mentee at most once", "a repeated mentee"
            )
        return e_idx[order].astype(np.int64), m_idx[order].astype(np.int64)
    pairs = matching
    if not isinstance(pairs, pd.DataFrame) or not {"mentee_id", "mentor_id"} <= set(pairs):
        raise fail(
            "matching",
            owner,
            "a Matching or a DataFrame with mentee_id and mentor_id columns",
            type(matching).__name__,
        )
    e_pos = feats.positions("mentee", pairs["mentee_id"])
    m_pos = feats.positions("mentor", pairs["mentor_id"])
    if (e_pos < 0).any():
        bad = pairs["mentee_id"].to_numpy(dtype=object)[e_pos < 0][0]
        raise fail(
            "matching",
            owner,
            "a matching of this cohort (every mentee_id a mentee of it)",
            f"mentee_id {bad}",
        )
    if (m_pos < 0).any():
        bad = pairs["mentor_id"].to_numpy(dtype=object)[m_pos < 0][0]
        raise fail(
            "matching",
            owner,
            "a matching of this cohort (every mentor_id a mentor of it)",
            f"mentor_id {bad}",
        )
    order = np.argsort(e_pos, kind="stable")
    if _repeats(e_pos[order]):
        raise fail(
            "matching", owner, "a matching with each mentee at most once", "a repeated mentee_id"
        )
    return e_pos[order].astype(np.int64), m_pos[order].astype(np.int64)


def _repeats(sorted_positions: np.ndarray) -> bool:
    """Whether a sorted position array holds a value twice (no second sort, as np.unique
    would make).

    >>> _repeats(np.array([0, 2, 2])), _repeats(np.array([0, 1, 5]))
    (True, False)
    """
    return bool(np.any(sorted_positions[1:] == sorted_positions[:-1]))


# --------------------------------------------------------------------------- the stack


@dataclass
class Stack:
    """Pair slots of several replicates side by side (one design)."""

    features: list[CohortFeatures]  # per stacked replicate
    replicates: np.ndarray  # replicate number per stacked replicate
    rep: np.ndarray  # stacked-replicate index per slot
    mentee: np.ndarray  # mentee position within its replicate's cohort
    mentor: np.ndarray  # mentor position within its replicate's cohort
    roots: np.ndarray | None = None  # root seed per stacked replicate (None: the run's seed)
    point: np.ndarray | None = None  # robustness point per stacked replicate (a table column)
    # What does not depend on the arm (see :class:`Shared`): stacks of the same replicates
    # (one per arm of an experiment) may hold the same one, so it is computed once.
    shared: Shared = field(default_factory=lambda: Shared(), repr=False, compare=False)
    _pairs: dict[str, np.ndarray] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _params: tuple[dict, _Params] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def streams(self, seed: int) -> list[tuple[int, int]]:
        """(root seed, stream number) of each stacked replicate's random streams.

        By default replicate ``r`` of a run with root ``seed`` uses stream ``r`` under it;
        with ``roots`` each replicate is stream 0 of its own root, exactly as a
        one-replicate run with that root (how a batch of simulations stays identical to
        the same simulations run one by one).
        """
        if self.roots is None:
            return [(seed, int(r)) for r in self.replicates]
        return [(int(root), 0) for root in self.roots]

    def pair_features(self) -> dict[str, np.ndarray]:
        """Pair features of every slot (:func:`_gather`), computed once per stack: an
        experiment's arms with the same matching run on the same stack. Read-only arrays
        (a caller that changes one copies it first)."""
        if self._pairs is None:
            self._pairs = _gather(self, self.mentee, self.mentor, self.rep)
            for v in self._pairs.values():
                v.setflags(write=False)
        return self._pairs

    @property
    def mentee_offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum([f.n_mentees for f in self.features])])

    @property
    def mentor_offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum([f.n_mentors for f in self.features])])


class Shared:
    """What every arm run on the same stacked replicates shares: computed for the first
    arm, reused by the others.

    The arms of an experiment differ in their matching and design, never in their
    replicates, so these depend only on the replicates (their cohorts and random
    streams), the run's seed and the behaviour models:

    - the static per-pair draws (:func:`_static_draws`);
    - the weekly draws of each purpose (:class:`_Stream`): the generators are built
      once; with ``keep_bytes`` the drawn weeks are kept (read-only) up to that many
      bytes and the next arm replays them, and past the kept weeks it sets the
      generators back to the state where keeping stopped (a fraction of the cost of
      building them from their seed sequences). The numbers are those drawn afresh.
      Only a run of several arms should keep weeks (one arm would only pay memory:
      the default keeps none);
    - the behaviour parameters per stacked replicate (``BehaviorModel.to_dict`` of every
      model, once);
    - the participant-id codes of the tables (:class:`_IdColumn`).

    A stack makes its own when given none. Stacks that share one must have the same
    features (the same objects), replicates and roots: the first stack binds it, and a
    stack of other replicates is refused.
    """

    def __init__(self, keep_bytes: int = 0) -> None:
        self.keep_bytes = keep_bytes  # what may still be kept of drawn weeks
        self._key: tuple | None = None
        self._static: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._streams: dict[tuple[int, str], _Stream] = {}
        self._params: tuple[Any, dict[str, float | np.ndarray]] | None = None
        self._ids: _IdColumn | None = None

    def bind(self, stack: Stack) -> Shared:
        """This object, after checking that ``stack`` has the replicates it was made for."""
        key = (
            tuple(map(id, stack.features)),
            stack.replicates.tobytes(),
            None if stack.roots is None else np.asarray(stack.roots).tobytes(),
        )
        if self._key is None:
            self._key, self._features = key, list(stack.features)  # held: ids stay unique
        elif key != self._key:
            raise ValueError("a Shared setup is for stacks of the same replicates only")
        return self

    def static(self, seed: int, stack: Stack) -> tuple[np.ndarray, np.ndarray]:
        if seed not in self._static:
            start, survey = _static_draws(seed, stack)
            start.setflags(write=False)
            survey.setflags(write=False)
            self._static[seed] = start, survey
        return self._static[seed]

    def stream(
        self, seed: int, stack: Stack, purpose: str, kind: str, offsets: np.ndarray
    ) -> _Stream:
        """The weekly draws of ``purpose`` (one generator per stacked replicate)."""
        key = (seed, purpose)
        if key not in self._streams:
            gens = [
                _seeding.rng(root, "dynamics", number, purpose)
                for root, number in stack.streams(seed)
            ]
            self._streams[key] = _Stream(gens, kind == "normal", offsets, self)
        return self._streams[key]

    def keep(self, nbytes: int) -> bool:
        """Whether ``nbytes`` more of drawn weeks may be kept (then counted as kept)."""
        if nbytes > self.keep_bytes:
            return False
        self.keep_bytes -= nbytes
        return True

    def param_rows(self, behavior: Sequence[BehaviorModel]) -> dict[str, float | np.ndarray]:
        """Each parameter: a float when every stacked replicate has the same value, else
        its values per stacked replicate (kept for the same ``behavior`` object)."""
        if self._params is None or self._params[0] is not behavior:
            rows = [b.to_dict() for b in behavior]
            values: dict[str, float | np.ndarray] = {}
            for name in rows[0]:
                per_replicate = np.array([r[name] for r in rows])
                same = (per_replicate == per_replicate[0]).all()
                values[name] = float(per_replicate[0]) if same else per_replicate
            self._params = behavior, values
        return self._params[1]

    def ids(self, stack: Stack) -> _IdColumn:
        if self._ids is None:
            self._ids = _IdColumn(stack.features)
        return self._ids


class _Stream:
    """One purpose's weekly draws for every stacked replicate (positions ``offsets``).

    Week ``t`` is drawn when first asked for, into a new read-only array kept for the next
    arm while the shared budget allows, else into the caller's buffer. The arms ask for
    weeks in order from week 0, so an uncached week is always the first one not kept:
    drawn straight on when the generators stand there, else after setting them back to
    the states saved when keeping stopped (another arm has drawn beyond it).
    """

    def __init__(
        self, gens: list[np.random.Generator], normal: bool, offsets: np.ndarray, shared: Shared
    ):
        self.gens, self.normal, self.off, self.shared = gens, normal, offsets, shared
        self.size = int(offsets[-1])
        self.kept: list[np.ndarray] = []
        self.keeping = True
        self.resume: list[Any] = []  # generator states at week len(kept), once not keeping
        self.drawn = 0  # weeks the generators have drawn
        self.advances = all(type(g.bit_generator) is np.random.PCG64 for g in gens)

    def week(self, t: int, buffer: np.ndarray, needed: bool = True) -> np.ndarray | None:
        """Week ``t``'s draws; None when not ``needed`` and skipped (see below)."""
        if t < len(self.kept):
            return self.kept[t]
        if self.drawn != t:  # past the kept weeks, another arm drew on: back to them
            for g, state in zip(self.gens, self.resume, strict=True):
                g.bit_generator.state = state
            self.drawn = t
        if self.keeping and not self.shared.keep(buffer.nbytes):
            self.keeping = False
            self.resume = [g.bit_generator.state for g in self.gens]
        off = self.off
        if not needed and not self.keeping and not self.normal and self.advances:
            # A week nobody reads: a PCG64 uniform double is one 64-bit output, so
            # advancing each generator by its count leaves it where drawing would.
            for i, g in enumerate(self.gens):
                cast(np.random.PCG64, g.bit_generator).advance(int(off[i + 1] - off[i]))
            self.drawn += 1
            return None
        out = np.empty(self.size) if self.keeping else buffer
        for i, g in enumerate(self.gens):
            if self.normal:
                g.standard_normal(out=out[off[i] : off[i + 1]])
            else:
                g.random(out=out[off[i] : off[i + 1]])
        self.drawn += 1
        if self.keeping:
            out.setflags(write=False)
            self.kept.append(out)
        return out


def _gather(
    stack: Stack, mentee: np.ndarray, mentor: np.ndarray, rep: np.ndarray
) -> dict[str, np.ndarray]:
    """Pair features for slots of possibly different replicates: one call per cohort, over
    its distinct (mentee, mentor) pairs only (the models of an ensemble run stack the same
    replicates, and so the same pairs, many times; every feature is a function of the
    pair alone, so the values are those of computing each slot)."""
    out: dict[str, np.ndarray] = {}
    for sel in _cohort_groups(stack, rep):
        f = stack.features[rep[sel[0]]]
        key = mentee[sel] * f.n_mentors + mentor[sel]
        if not np.all(key[1:] > key[:-1]):
            distinct, back = np.unique(key, return_inverse=True)
            part = f.pair(distinct // f.n_mentors, distinct % f.n_mentors)
            part = {k: v[back] for k, v in part.items()}
        else:  # already distinct and sorted (one replicate): np.unique would keep it as is
            part = f.pair(mentee[sel], mentor[sel])
        for k, v in part.items():
            if len(sel) == len(rep):  # the only group: its rows are every slot, in order
                out[k] = v
            else:
                out.setdefault(k, np.empty(len(rep)))[sel] = v
    return out


class _Draws:
    """Per-replicate, per-week random numbers for each *purpose*, indexed by position.

    Each purpose (holding a meeting, closing, the quality step, the check-in rating, a
    rematch's chemistry, the mentor pool's order, accepting a rematch) has its own stream
    per replicate, and only the purposes a design reads are drawn. Arms that read the
    same purpose see the same numbers week by week (common random numbers), whatever
    else they read. The streams belong to the stack's :class:`Shared` setup, so the next
    arm on the same replicates replays the weeks it kept instead of drawing them again.
    """

    def __init__(self, seed: int, stack: Stack, purposes: dict[str, str]):
        e_off, m_off = stack.mentee_offsets, stack.mentor_offsets
        shared = stack.shared.bind(stack)
        self.streams = {
            p: shared.stream(seed, stack, p, k, m_off if k == "mentor_uniform" else e_off)
            for p, k in purposes.items()
        }
        self.buffers = {p: np.empty(st.size) for p, st in self.streams.items()}
        self.arrays: dict[str, np.ndarray] = {}
        self.t = 0

    def next_week(self, skip: tuple[str, ...] = ()) -> None:
        """Draw the next week; uniform purposes in ``skip`` are not read this week, so
        their generators are only moved past its numbers (reading one then fails)."""
        for purpose, stream in self.streams.items():
            drawn = stream.week(self.t, self.buffers[purpose], purpose not in skip)
            self.arrays[purpose] = drawn  # type: ignore[assignment]
        self.t += 1

    def __getitem__(self, purpose: str) -> np.ndarray:
        return self.arrays[purpose]

    def slots(self, purpose: str, gi: np.ndarray | None) -> np.ndarray:
        """The week's draws of ``purpose`` for every slot (``gi``: slot rows; None when
        the slots are exactly the rows, which saves a gather per purpose and week)."""
        return self.arrays[purpose] if gi is None else self.arrays[purpose][gi]


def _static_draws(seed: int, stack: Stack) -> tuple[np.ndarray, np.ndarray]:
    """Per-mentee-position draws fixed for the whole run: start values and survey errors."""
    start, survey = [], []
    for (root, number), f in zip(stack.streams(seed), stack.features, strict=True):
        g = _seeding.rng(root, "pairs", number)
        start.append(g.standard_normal((f.n_mentees, 3)))  # chemistry, engagement, perceived
        survey.append(g.standard_normal((f.n_mentees, 7)))  # survey errors
    return np.concatenate(start), np.concatenate(survey)


# --------------------------------------------------------------------------- dynamics

# A pair that has held no meeting for this many weeks while formally open is
# "inactive but open" in the weeks table (three missed biweekly meetings).
INACTIVE_AFTER_WEEKS = 6
STATES = ("active", "inactive_open", "closed")


def _fit_fixed(
    b: _Params, design: ProgramDesign, f: dict[str, np.ndarray], chemistry: np.ndarray
) -> np.ndarray:
    """The part of a pair's fit fixed at matching: actual profile similarity measured from
    the cohort's typical value (so ``quality_base`` is the fit of a typical pair), the
    pair's unobserved chemistry and the lever effects (scenario inputs)."""
    return (
        b.quality_base
        + b.quality_deep * (f["deep_similarity"] - f["typical_deep_similarity"])
        + b.quality_surface * (f["surface_similarity"] - f["typical_surface_similarity"])
        + b.quality_interests * (f["shared_interests"] - f["typical_shared_interests"])
        + b.quality_chemistry_sd * chemistry
        + b.quality_training * design.mentor_training
        + b.quality_agenda * design.structured_agenda
    )


def _fit(fixed: np.ndarray, b: _Params, perceived: np.ndarray) -> np.ndarray:
    """The quality a pair tends to: its fixed part plus what perceived similarity adds
    (perceived similarity grows with contact, so fit does too)."""
    return np.clip(fixed + b.quality_perceived * (perceived - 0.5), 0.0, 1.0)


def _start_perceived(b: _Params, f: dict[str, np.ndarray], z: np.ndarray) -> np.ndarray:
    """Perceived similarity at the start: part of the actual deep-level similarity (from
    the typical value) and the pair's own impression (Montoya et al. 2008)."""
    return np.clip(
        0.5
        + b.perceived_actual * (f["deep_similarity"] - f["typical_deep_similarity"])
        + b.perceived_sd * z,
        0.0,
        1.0,
    )


def _availability(b: _Params, f: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(Monthly hours of the scarcer partner, time pressure in [0, 1]).

    A synthetic cohort's availability is relative to the role mean, scaled by the
    BehaviorModel's mean hours; a roster's is real hours. Time pressure (the intake
    characteristic that shifts the outside-event hazard) is how far the scarcer partner's
    availability falls below their role's cohort mean.
    """
    syn = f["synthetic"] > 0
    hours = np.minimum(
        f["avail_e"] * np.where(syn, b.mentee_hours_month, 1.0),
        f["avail_m"] * np.where(syn, b.mentor_hours_month, 1.0),
    )
    relative = np.minimum(
        f["avail_e"] / np.maximum(f["typical_avail_e"], 1e-9),
        f["avail_m"] / np.maximum(f["typical_avail_m"], 1e-9),
    )
    return hours, np.clip(1.0 - relative, 0.0, 1.0)


def engagement_step(
    b: _Params | BehaviorModel,
    met: np.ndarray,
    missed: np.ndarray,
    quality: np.ndarray,
    overload: np.ndarray,
    meeting_hours: float,
    lever_meeting: float | np.ndarray = 0.0,
) -> np.ndarray:
    """The week's change in engagement (before bounding to [0, 1]).

    A held meeting of ``h`` hours adds ``h * (engagement_contact + engagement_meeting *
    (quality - quality_base) - engagement_overload * overload)`` plus the levers' per-meeting
    gain; a missed one costs ``engagement_miss * h``. ``quality_base`` is the fit of a pair
    with the cohort's typical similarity, so a meeting at typical quality gains
    ``engagement_contact * h >= 0``: no meeting is harmful by construction.
    """
    return (
        met
        * (
            meeting_hours
            * (
                b.engagement_contact
                + b.engagement_meeting * (quality - b.quality_base)
                - b.engagement_overload * overload
            )
            + lever_meeting
        )
        - missed * b.engagement_miss * meeting_hours
    )


def outside_probability(b: _Params, pressure: np.ndarray) -> np.ndarray:
    """The weekly probability of an outside event (``closure_outside``, raised by time
    pressure): fixed for a pair, so the weekly loop computes it once per pair."""
    return expit(b.closure_outside + b.closure_outside_pressure * pressure)


def closure_step(
    b: _Params,
    quality: np.ndarray,
    engagement: np.ndarray,
    gap: np.ndarray,
    pressure: np.ndarray,
    u: np.ndarray,
    *,
    p_out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Which pairs close this week and why (codes into REASONS), from one uniform each.

    Two competing weekly hazards: an outside event (a move, a change of role, workload;
    ``closure_outside``, raised by time pressure) and the relationship's own ending
    (``closure_base`` plus terms for quality and engagement below 0.5 and for missed
    contact beyond the grace period). A pair closes when ``u`` falls below the combined
    probability; ``u`` below the outside-event probability is an outside event, otherwise
    the reason is the relationship term that raised the hazard most (or lowered it least).
    ``p_out`` is :func:`outside_probability` of ``b`` and ``pressure`` when the caller
    already holds it (it changes only when a pair changes). Reasons are worked out for the
    closing pairs only; a pair that does not close has reason -1.
    """
    if p_out is None:
        p_out = outside_probability(b, pressure)
    t_quality = np.subtract(0.5, quality)
    t_quality *= b.closure_quality
    t_engagement = np.subtract(0.5, engagement)
    t_engagement *= b.closure_engagement
    t_gap = np.multiply(gap, b.closure_gap, dtype=float)
    # p_rel = expit(closure_base + (t_quality + t_engagement + t_gap)), from its logit
    logit = np.add(t_quality, t_engagement)
    logit += t_gap
    logit += b.closure_base
    stay_out = np.subtract(1.0, p_out)
    # closes: u < 1 - (1 - p_out) * (1 - p_rel), decided as with scipy's expit (_below)
    threshold = _expit_close(logit, np.empty(len(u)))
    np.subtract(1.0, threshold, out=threshold)
    threshold *= stay_out
    np.subtract(1.0, threshold, out=threshold)
    stay_out = np.broadcast_to(stay_out, u.shape)
    closes = _below(u, threshold, lambda i: 1.0 - (1.0 - expit(logit[i])) * stay_out[i])
    at = np.flatnonzero(closes)
    tq, te, tg = t_quality[at], t_engagement[at], t_gap[at]
    # The first largest term (as argmax over the three would pick), without stacking them.
    why = np.where(te > tq, np.int8(_R["lost_engagement"]), np.int8(_R["low_quality"]))
    why[tg > np.maximum(tq, te)] = _R["missed_contact"]
    why[u[at] < np.broadcast_to(p_out, u.shape)[at]] = _R["outside_event"]
    reason = np.full(len(u), -1, np.int8)
    reason[at] = why
    return closes, reason


# Below this distance from a threshold computed with :func:`_expit_close`, :func:`_below`
# recomputes the threshold with scipy's expit. The two differ by a few units in the last
# place (about 1e-16 on a probability), so 1e-9 leaves a margin of seven orders of magnitude.
_NEAR = 1e-9


def _expit_close(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` with numpy's vectorised exp, into ``out``: several times faster
    than scipy's expit and within a few units in the last place of it, but not always
    equal to the last bit (numpy's exp rounds differently from the C library's). Only a
    comparison made by :func:`_below` may use it."""
    np.negative(x, out=out)
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1.0
    return np.divide(1.0, out, out=out)


def _below(u: np.ndarray, close: np.ndarray, exact: Any) -> np.ndarray:
    """``u < threshold`` where ``close`` is the threshold up to :data:`_NEAR` and
    ``exact(rows)`` computes it exactly for those rows (with scipy's expit).

    Where ``u`` is farther than ``_NEAR`` from ``close``, ``close`` decides as the exact
    threshold would; the rare rows within it are decided by ``exact``. So the result is
    the comparison with the exact threshold, bit for bit.

    >>> from scipy.special import expit
    >>> x, u = np.array([0.0, 0.0, 2.0]), np.array([0.5, np.nextafter(0.5, 0), 0.9])
    >>> _below(u, _expit_close(x, np.empty(3)), lambda i: expit(x[i])).tolist()
    [False, True, False]
    """
    below = u < close
    gap = np.subtract(u, close)
    near = np.flatnonzero(np.abs(gap, out=gap) <= _NEAR)
    if near.size:
        below[near] = u[near] < exact(near)
    return below


def _start_quality(b: _Params, target: np.ndarray) -> np.ndarray:
    """Quality at the first meeting: part of the way from neutral (0.5) to fit."""
    return 0.5 + b.quality_start_weight * (target - 0.5)


def _start_engagement(b: _Params, design: ProgramDesign, z: np.ndarray) -> np.ndarray:
    e = (
        b.engagement_base
        + b.engagement_sd * z
        + b.engagement_goals * design.goal_setting
        + b.engagement_recognition * design.recognition
    )
    return np.clip(e, 0.0, 1.0)


def _overload(recent_hours: np.ndarray, avail_floor: np.ndarray) -> np.ndarray:
    """Realised monthly contact hours over the scarcer partner's availability, beyond 1.

    A state of the recent past (bounded by what a pair can hold), not a drain that
    grows every week. Agenda preparation is not load: it is done alone, whenever it
    suits, and competes for no shared calendar slot (it counts in the mentee's hours).
    ``avail_floor`` is :func:`_avail_floor` of the availability (fixed for a pair).
    """
    return np.maximum(recent_hours * _WEEKS_PER_MONTH / avail_floor - 1.0, 0.0)


def _avail_floor(avail: np.ndarray) -> np.ndarray:
    """Monthly hours that overload is judged against: availability, at least half an hour."""
    return np.maximum(avail, 0.5)


def _purposes(design: ProgramDesign, sched: ProgramSchedule) -> dict[str, str]:
    """The random draws a design reads (see :class:`_Draws`)."""
    purposes = {"meet": "uniform", "close": "uniform", "quality": "normal"}
    if sched.checkin.any() or design.has_triggers:
        purposes["rating"] = "normal"
    if design.on_flag == "rematch" and (sched.checkin.any() or design.has_triggers):
        purposes.update(
            {
                "chemistry": "normal",
                "perceived": "normal",
                "mentor_key": "mentor_uniform",
                "accept": "uniform",
            }
        )
    return purposes


class _Params:
    """Behaviour parameters by name: a float where all stacked replicates share it, an
    array over slots where they differ (numpy broadcasting does the rest)."""

    def __init__(self, values: Mapping[str, float | np.ndarray]):
        self.__dict__.update(values)

    if TYPE_CHECKING:  # attributes are the parameter names, set at run time

        def __getattr__(self, name: str) -> Any: ...

    def at(self, slots: np.ndarray) -> _Params:
        """The parameters of a subset of slots."""
        return _Params(
            {k: v[slots] if isinstance(v, np.ndarray) else v for k, v in self.__dict__.items()}
        )


def _params(behavior: BehaviorModel | Sequence[BehaviorModel], stack: Stack) -> _Params:
    if isinstance(behavior, BehaviorModel):
        return _Params(behavior.to_dict())
    if len(behavior) != len(stack.features):
        raise ValueError(f"{len(behavior)} behaviour models for {len(stack.features)} replicates")
    rows = stack.shared.bind(stack).param_rows(behavior)
    if stack._params is None or stack._params[0] is not rows:  # once per stack and models
        per_slot = {k: v[stack.rep] if isinstance(v, np.ndarray) else v for k, v in rows.items()}
        for v in per_slot.values():
            if isinstance(v, np.ndarray):
                v.setflags(write=False)  # shared by every arm run on this stack
        stack._params = rows, _Params(per_slot)
    return stack._params[1]


def rematch_weights(policy: Any, weights: Any = None) -> dict[str, float] | None:
    """How a rematch chooses under a matching policy: None (at random among free mentors)
    for ``random`` or a callable policy, else the policy's compatibility weights (the
    free mentor with the best score under them). What :func:`run`'s ``rematch`` takes.

    >>> rematch_weights("random") is None
    True
    """
    from toolkit.compatibility import resolve_weights

    if not isinstance(policy, str) or policy == "random":
        return None
    if weights is not None and not isinstance(weights, str):
        weights = dict(weights)
    return resolve_weights("balanced" if weights is None else weights, "rematch")


def run(
    stack: Stack,
    design: ProgramDesign,
    behavior: BehaviorModel | Sequence[BehaviorModel],
    seed: int,
    arm: Any,
    *,
    capacity: int | np.ndarray = 1,
    want: tuple[str, ...] = TABLES,
    rematch: dict[str, float] | None = None,
) -> dict[str, pd.DataFrame]:
    """Simulate one design on stacked replicates; return the tables named in ``want``.

    ``behavior`` is one model for every replicate or one per stacked replicate;
    ``capacity`` is the most mentees a mentor may have at once, one number or one per
    stacked mentor (rematches honour it). ``rematch`` is how a rematch picks the new
    mentor among the mentors with free capacity: None at random, or the program's
    matching weights (:func:`rematch_weights`), when the best-scoring free mentor is
    chosen. The mechanism is documented in docs/model.md.
    """
    b = _params(behavior, stack)
    sched = program_schedule(design)
    n, n_weeks = len(stack.rep), design.duration_weeks
    e_off, m_off = stack.mentee_offsets, stack.mentor_offsets
    gi = e_off[stack.rep] + stack.mentee  # row of each slot in the draw arrays
    static_start, static_survey = stack.shared.bind(stack).static(seed, stack)
    draws = _Draws(seed, stack, _purposes(design, sched))
    rows = None if np.array_equal(gi, np.arange(e_off[-1])) else gi  # every mentee matched
    coordinating = "rating" in draws.streams

    feats = stack.pair_features()  # read-only: shared by every arm run on this stack
    fixed = _fit_fixed(b, design, feats, static_start[gi, 0])
    perceived = _start_perceived(b, feats, static_start[gi, 2])
    target = _fit(fixed, b, perceived)
    quality = _start_quality(b, target)
    engagement = _start_engagement(b, design, static_start[gi, 1])
    start_engagement = engagement.copy()
    avail, pressure = _availability(b, feats)
    misfit = 1.0 - feats["schedule_fit"]
    # Fixed for a pair until a rematch changes it: computed once, not every week.
    avail_floor = _avail_floor(avail)
    misfit_term = b.meet_misfit * misfit
    p_out = outside_probability(b, pressure)
    mentee_ceiling, mentor_ceiling = feats["mentee_ceiling"].copy(), feats["mentor_ceiling"].copy()

    mentor_g = m_off[stack.rep] + stack.mentor  # global mentor index per slot
    mentee_skill = np.concatenate([f.mentee_start for f in stack.features])[gi]
    mentee_skill0 = mentee_skill.copy()
    mentor_level = np.concatenate([f.mentor_start for f in stack.features])
    mentor_level0 = mentor_level.copy()
    load = np.bincount(mentor_g, minlength=m_off[-1])
    rep_of_mentor = np.repeat(np.arange(len(stack.features)), [f.n_mentors for f in stack.features])
    first_mentor_g = mentor_g.copy()

    active = np.ones(n, dtype=bool)  # formally open
    since_meet = np.zeros(n, dtype=np.int32)  # weeks since the last meeting held (or start)
    recent_hours = np.zeros(n)  # realised weekly contact hours, smoothed
    meetings = np.zeros(n, dtype=np.int32)
    weeks_active = np.zeros(n, dtype=np.int32)
    closed_week = np.zeros(n, dtype=np.int32)  # 0 = not closed
    ended = np.zeros(n, dtype=bool)  # closed by the pair or the coordinator
    mentor_gain = np.zeros(n)
    hours = {k: np.zeros(n) for k in ("mentee", "mentor", "coordinator")}
    if design.mentor_training:
        hours["mentor"] += b.training_hours
    quality_sum = np.zeros(n)

    # Contact works by the hour: a meeting of h hours moves quality, engagement and
    # missed-meeting losses as h one-hour meetings would (the quality step compounds),
    # so two cadences with equal monthly hours differ only through calendar time since
    # contact (meet_gap, closure_gap beyond contact_grace_weeks) and through learning's
    # diminishing returns to meeting length (learn_minutes_elasticity).
    meeting_hours = design.meeting_minutes / 60.0
    minutes_factor = meeting_hours**b.learn_minutes_elasticity
    rate_e = (
        b.learn_mentee
        * minutes_factor
        * (1 + b.learn_goals * design.goal_setting)
        * (1 + b.learn_agenda * design.structured_agenda)
        * (1 + b.learn_training * design.mentor_training)
    )
    rate_m = b.learn_mentor * minutes_factor * (1 + b.learn_goals * design.goal_setting)
    perceive_step = 1.0 - (1.0 - b.perceived_growth) ** meeting_hours
    per_hour_approach = b.quality_approach * (1 - b.quality_virtual_penalty * design.virtual)
    approach = 1.0 - (1.0 - per_hour_approach) ** meeting_hours
    step_sd = b.quality_noise_sd * np.sqrt(meeting_hours)
    meet_shift = (
        b.meet_base + b.meet_virtual * design.virtual + b.meet_agenda * design.structured_agenda
    )
    lever_meeting = b.engagement_lever_meeting * (design.goal_setting + design.recognition)
    prep_hours = b.agenda_prep_minutes / 60.0 * design.structured_agenda
    memory = 1.0 / np.maximum(b.load_memory_weeks, 1.0)

    recorder = _WeekRecorder(n, n_weeks, keep="weeks" in want)
    step = np.empty(n)  # scratch for the in-place weekly updates
    scratch = np.empty(n)  # scratch of _put
    active_bits = np.empty(n, np.int64)  # _bits(active), set at the start of each week
    met_bits = np.empty(n, np.int64)  # _bits(met), set in each meeting week
    mentor_skill = mentor_level[
        mentor_g
    ]  # kept equal to it (changes only at meetings and rematches)
    events: list[tuple] = []  # (week, slots, event, reasons, rating, mentor, new_mentor)

    def log(week, slots, event, reason, rating=None, mentor=None, new_mentor=None):
        if len(slots):
            k = len(slots)
            events.append(
                (
                    np.full(k, week, np.int16),
                    slots,
                    np.full(k, _E[event], np.int8),
                    np.broadcast_to(np.asarray(reason, np.int8), (k,)),
                    np.full(k, np.nan) if rating is None else rating.astype(float),
                    mentor_g[slots] if mentor is None else mentor,
                    np.full(k, -1) if new_mentor is None else new_mentor,
                )
            )

    for t in range(n_weeks):
        week = t + 1
        # Meetings: scheduled by the cadence, held with a probability that rises with
        # engagement and falls with realised overload, schedule misfit and calendar
        # time since the last meeting held (beyond the grace period).
        scheduled = active & sched.meeting[t]
        # A week in which no pair has a meeting scheduled (every other week of a biweekly
        # design) skips every step that only a held or missed meeting changes: with no
        # meeting those steps add exact zeros, so skipping them changes no number. The
        # week's draws are made all the same (common random numbers), except that the
        # meeting uniforms, read by nobody, are skipped by advancing their generators.
        meeting_week = bool(scheduled.any())
        draws.next_week(skip=() if meeting_week else ("meet",))
        rec = recorder.week(t)
        rec["active"][...] = active
        weeks_active += active
        _bits(active, active_bits)

        if meeting_week:
            gap = np.maximum(since_meet - b.contact_grace_weeks, 0.0)
            overload = _overload(recent_hours, avail_floor)
            logit = (
                meet_shift
                + b.meet_engagement * (engagement - 0.5)
                - b.meet_overload * overload
                - misfit_term
                - b.meet_gap * gap
            )
            u_meet = draws.slots("meet", rows)
            p_meet = _expit_close(logit, step)  # met: u < expit(logit), see _below
            met = scheduled & _below(u_meet, p_meet, lambda i, x=logit: expit(x[i]))
            missed = scheduled & ~met
            _bits(met, met_bits)

            # Perceived similarity grows with contact, and fit with it (``target`` is
            # unchanged in a week without meetings); quality moves toward fit at a meeting.
            # (Updates are in place, restricted to the pairs concerned by _put: the same
            # numbers as np.where over the whole array, without its temporaries.)
            np.subtract(1.0, perceived, out=step)
            step *= perceive_step
            step += perceived
            _put(perceived, step, met_bits, scratch)
            target = _fit(fixed, b, perceived)
            moved = quality + approach * (target - quality) + step_sd * draws.slots("quality", rows)
        else:
            met = missed = scheduled  # nobody: all False
        # Quality decays toward the floor every week (a held meeting then overrides it).
        np.subtract(quality, b.quality_floor, out=step)
        step *= b.quality_decay
        np.subtract(quality, step, out=step)
        _put(quality, step, active_bits, scratch)
        if meeting_week:
            _put(quality, np.clip(moved, 0.0, 1.0, out=moved), met_bits, scratch)

            # Two-way learning at held meetings, closing part of the gap to the partner.
            gain_e = rate_e * quality * np.maximum(mentee_ceiling - mentee_skill, 0)
            gain_e += mentee_skill
            _put(mentee_skill, gain_e, met_bits, scratch)
            gap_m = np.maximum(mentor_ceiling - mentor_skill, 0)
            gain_m = rate_m * quality * gap_m
            gain_bits = gain_m.view(np.int64)
            np.bitwise_and(gain_bits, met_bits, out=gain_bits)  # 0.0 where none was held
            mentor_level += np.bincount(mentor_g, weights=gain_m, minlength=len(mentor_level))
            np.take(mentor_level, mentor_g, out=mentor_skill)
            mentor_gain += gain_m

            # Engagement: up with good meetings and levers, down with missed meetings and
            # with meetings held while overloaded (per hour); bounded in [0, 1].
            engagement = np.clip(
                engagement
                + engagement_step(b, met, missed, quality, overload, meeting_hours, lever_meeting),
                0.0,
                1.0,
            )
            meetings += met
            hours["mentee"] += met * (meeting_hours + prep_hours)
            hours["mentor"] += met * meeting_hours
        since_meet += active
        if meeting_week:
            since_meet *= ~met  # 0 where a meeting was held
        np.multiply(met, meeting_hours, out=step)
        step -= recent_hours
        step *= memory
        step += recent_hours
        _put(recent_hours, step, active_bits, scratch)
        np.add(quality_sum, quality, out=step)
        _put(quality_sum, step, active_bits, scratch)

        # Closure: an outside event, or the relationship's own ending (hazard falling with
        # quality and engagement, rising with calendar time since contact). Each closure
        # records its reason.
        gap = np.maximum(since_meet - b.contact_grace_weeks, 0.0)
        ends, why = closure_step(
            b, quality, engagement, gap, pressure, draws.slots("close", rows), p_out=p_out
        )
        ends &= active
        _close(ends, active, closed_week, week, load, mentor_g)
        ended |= ends
        log(week, np.flatnonzero(ends), "closure", why[ends])

        if coordinating:
            flagged, fl, fl_reason, checkin = _checkins(
                design,
                b,
                sched,
                t,
                week,
                active,
                meetings,
                since_meet,
                quality,
                engagement,
                draws.slots("rating", rows),
                log,
                hours,
            )
            if fl.size and design.on_flag == "coach":
                bf = b.at(fl)
                engagement[fl] = np.clip(engagement[fl] + bf.coach_engagement, 0.0, 1.0)
                quality[fl] += bf.coach_quality * (target[fl] - quality[fl])
                # reconnected: part of the missed contact beyond the grace period is forgiven
                excess = np.maximum(since_meet[fl] - bf.contact_grace_weeks, 0.0)
                since_meet[fl] -= np.rint(bf.coach_contact * excess).astype(np.int32)
                hours["coordinator"][fl] += bf.coach_hours
                hours["mentee"][fl] += bf.coach_participant_hours
                hours["mentor"][fl] += bf.coach_participant_hours
                log(week, fl, "coach", fl_reason)
            elif fl.size and design.on_flag == "close":
                _close(flagged, active, closed_week, week, load, mentor_g)
                ended |= flagged
                hours["coordinator"][fl] += b.at(fl).close_hours
                log(week, fl, "closure", _R["coordinator_close"])
            elif fl.size and design.on_flag == "rematch":  # from mentors with free capacity
                # What an ending does to willingness: some mentees decline a new mentor.
                declines = draws["accept"][gi[fl]] >= b.at(fl).rematch_acceptance
                gone_by_choice = fl[declines]
                if gone_by_choice.size:
                    mask = np.zeros(n, bool)
                    mask[gone_by_choice] = True
                    _close(mask, active, closed_week, week, load, mentor_g)
                    ended |= mask
                    log(week, gone_by_choice, "closure", _R["declined_rematch"])
                willing = fl[~declines]
                new = (
                    willing
                    if not willing.size
                    else _draw_mentors(
                        willing, stack.rep, load, capacity, rep_of_mentor, draws["mentor_key"]
                    )
                    if rematch is None
                    else _choose_mentors(
                        stack, willing, load, capacity, rep_of_mentor, draws["mentor_key"], rematch
                    )
                )
                ok, gone = willing[new >= 0], willing[new < 0]
                log(week, gone, "rematch", _R["no_mentor_available"])
                if ok.size:
                    new_g = new[new >= 0]
                    log(week, ok, "rematch", _R["new_mentor"], new_mentor=new_g)
                    np.subtract.at(load, mentor_g[ok], 1)
                    np.add.at(load, new_g, 1)
                    mentor_g[ok] = new_g
                    mentor_skill[ok] = mentor_level[new_g]
                    new_pos = new_g - m_off[stack.rep[ok]]
                    nf = _gather(stack, stack.mentee[ok], new_pos, stack.rep[ok])
                    bo = b.at(ok)
                    fixed[ok] = _fit_fixed(bo, design, nf, draws["chemistry"][gi[ok]])
                    perceived[ok] = _start_perceived(bo, nf, draws["perceived"][gi[ok]])
                    target = _fit(fixed, b, perceived)
                    quality[ok] = _start_quality(bo, target[ok])
                    engagement[ok] = start_engagement[ok]
                    avail[ok], pressure[ok] = _availability(bo, nf)
                    avail_floor[ok] = _avail_floor(avail[ok])
                    p_out[ok] = outside_probability(bo, pressure[ok])
                    recent_hours[ok] = 0.0
                    misfit[ok] = 1.0 - nf["schedule_fit"]
                    misfit_term[ok] = bo.meet_misfit * misfit[ok]
                    mentee_ceiling[ok], mentor_ceiling[ok] = (
                        nf["mentee_ceiling"],
                        nf["mentor_ceiling"],
                    )
                    since_meet[ok] = 0
                    hours["coordinator"][ok] += bo.rematch_hours
            if fl.size:
                rec["intervention"][fl] = _I[design.on_flag]
            rec["checkin"][...], rec["flagged"][...] = checkin, flagged

        rec["scheduled"][...], rec["met"][...] = scheduled, met
        rec["quality"][...], rec["engagement"][...] = quality, engagement
        rec["mentee_skill"][...] = mentee_skill
        rec["mentor_skill"][...] = mentor_skill
        # the pair's state at the end of the week: 1 inactive but open, 2 closed
        state_t = rec["state"]
        np.greater_equal(since_meet, INACTIVE_AFTER_WEEKS, out=state_t, casting="unsafe")
        state_t &= active
        state_t |= np.left_shift(~active, 1, dtype=np.int8)
        recorder.end_week(t)

    # What an early ending does to what was learned: part of the gain fades, and an
    # abrupt ending can leave a setback (so a gain can be negative).
    mentee_gain = mentee_skill - mentee_skill0
    mentee_gain = np.where(
        ended, b.ending_gain_retention * mentee_gain - b.ending_setback, mentee_gain
    )
    mentor_gain = np.where(
        ended, b.ending_gain_retention * mentor_gain - b.ending_setback, mentor_gain
    )
    mentee_post = np.clip(mentee_skill0 + mentee_gain, 0.0, 1.0)
    mentor_post = np.clip(
        mentor_level[first_mentor_g]
        - np.where(
            ended,
            (1 - b.ending_gain_retention)
            * (mentor_level[first_mentor_g] - mentor_level0[first_mentor_g])
            + b.ending_setback,
            0.0,
        ),
        0.0,
        1.0,
    )
    state = {
        "meetings": meetings,
        "perceived": perceived,
        "weeks_active": weeks_active,
        "closed_week": closed_week,
        "quality": quality,
        "quality_mean": quality_sum / np.maximum(weeks_active, 1),
        "mentee_gain": mentee_gain,
        "mentor_gain": mentor_gain,
        "mentee_skill0": mentee_skill0,
        "mentee_skill": mentee_post,
        "mentor_level0": mentor_level0[first_mentor_g],
        "mentor_level": mentor_post,
        "mentor_g": mentor_g,
        "first_mentor_g": first_mentor_g,
        "hours": hours,
        "survey": np.take(static_survey, gi, axis=0),
        "ended": ended,
    }
    return _tables(stack, design, b, arm, recorder.columns, events, state, want)


def _bits(mask: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``mask`` as the int64 operand of :func:`_put`: all bits set where it holds, else 0.

    >>> _bits(np.array([True, False]), np.empty(2, np.int64))
    array([-1,  0])
    """
    return np.subtract(0, mask, out=out, dtype=np.int64)


def _put(dst: np.ndarray, src: np.ndarray, bits: np.ndarray, scratch: np.ndarray) -> None:
    """``dst[mask] = src[mask]`` in place, for float64 arrays and ``bits = _bits(mask)``.

    A select on the numbers' bit patterns (``dst ^= (dst ^ src) & bits``), so each value
    is copied exactly, with no branch: a masked ufunc (``where=``), ``np.copyto`` or
    ``np.where`` over a mask of mixed values costs several times more.

    >>> d, mask = np.array([1.0, -0.0, 3.0]), np.array([False, True, True])
    >>> _put(d, np.array([9.0, 0.0, -0.0]), _bits(mask, np.empty(3, np.int64)), np.empty(3))
    >>> d.tolist(), np.signbit(d).tolist()
    ([1.0, 0.0, -0.0], [False, False, True])
    """
    d, w = dst.view(np.int64), scratch.view(np.int64)
    np.bitwise_xor(d, src.view(np.int64), out=w)
    w &= bits
    d ^= w


_WEEK_COLUMNS: dict[str, type] = {
    "scheduled": np.bool_,
    "met": np.bool_,
    "checkin": np.bool_,
    "flagged": np.bool_,
    "active": np.bool_,
    "quality": np.float32,
    "engagement": np.float32,
    "mentee_skill": np.float32,
    "mentor_skill": np.float32,
    "intervention": np.int8,
    "state": np.int8,
}


class _WeekRecorder:
    """The weeks table's columns, recorded week by week.

    A week's values go into one row of a small week-major buffer (contiguous writes into
    memory that stays warm); every ``block`` weeks the buffer is copied into pair-major
    columns ``(pairs, weeks)``, which are already in the table's row order (pair, then
    week), so the table takes them without a copy. Each column's memory is touched once
    and no full-size transpose is made. ``keep=False`` (no weeks table wanted) keeps no
    columns. Buffer rows a week does not write are zero (intervention is reset weekly).
    """

    def __init__(self, n: int, n_weeks: int, *, keep: bool = True, block: int = 13):
        self.n_weeks, self.start = n_weeks, 0
        self.block = max(min(block, n_weeks), 1)
        self.buffer: dict[str, np.ndarray] = {
            k: np.zeros((self.block, n), dt) for k, dt in _WEEK_COLUMNS.items()
        }
        self.columns: dict[str, np.ndarray] = (
            {k: np.empty((n, n_weeks), dt) for k, dt in _WEEK_COLUMNS.items()} if keep else {}
        )

    def week(self, t: int) -> dict[str, np.ndarray]:
        """The buffer rows week ``t`` (0-based) writes, one per column."""
        row = {k: b[t - self.start] for k, b in self.buffer.items()}
        row["intervention"][...] = 0
        return row

    def end_week(self, t: int) -> None:
        """Copy the buffer into the columns when it is full or the run ends."""
        if t + 1 - self.start < self.block and t + 1 < self.n_weeks:
            return
        used = t + 1 - self.start
        for k, column in self.columns.items():
            column[:, self.start : t + 1] = self.buffer[k][:used].T
        self.start = t + 1


def _checkins(
    design: ProgramDesign,
    b: _Params,
    sched: ProgramSchedule,
    t: int,
    week: int,
    active: np.ndarray,
    meetings: np.ndarray,
    since_meet: np.ndarray,
    quality: np.ndarray,
    engagement: np.ndarray,
    rating_noise: np.ndarray,
    log: Any,
    hours: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Check-ins of one week: who is contacted, what the coordinator sees, who is flagged.

    At a planned check-in the coordinator sees a survey rating (relationship quality and
    engagement, with error) and the meeting log (weeks since the last meeting, meetings
    held); ``design.flag_rule`` says which of them flags a pair. Trigger rules read the
    log every week. Returns (flagged mask, flagged slots, their reasons, check-in mask).
    """
    trig_first = active & (week == design.no_first_meeting_week) & (meetings == 0)
    trig_gap = active & (since_meet == (design.no_meeting_weeks or -1))
    planned = active & sched.checkin[t]
    checkin = planned | trig_first | trig_gap
    seen = b.rating_quality_weight * quality + (1 - b.rating_quality_weight) * engagement
    rating = likert(seen, rating_noise, b.rating_noise_sd)
    low_rating = planned & (rating <= design.flag_rating) & (design.flag_rule != "log")
    log_gap = planned & (since_meet >= design.flag_gap_weeks) & (design.flag_rule != "rating")
    flagged = low_rating | log_gap | trig_first | trig_gap
    ck = np.flatnonzero(checkin)
    ck_reason = np.where(
        planned[ck],
        _R["scheduled"],
        np.where(trig_gap[ck], _R["no_meeting_streak"], _R["no_first_meeting"]),
    )
    log(week, ck, "checkin", ck_reason, rating=np.where(planned[ck], rating[ck], np.nan))
    fl = np.flatnonzero(flagged)
    fl_reason = np.where(
        trig_gap[fl] | log_gap[fl],
        _R["no_meeting_streak"],
        np.where(trig_first[fl], _R["no_first_meeting"], _R["low_rating"]),
    )
    log(week, fl, "flag", fl_reason, rating=np.where(planned[fl], rating[fl], np.nan))
    hours["coordinator"] += checkin * b.checkin_minutes / 60.0
    hours["mentee"] += planned * b.survey_minutes / 60.0
    hours["mentor"] += planned * b.survey_minutes / 60.0
    return flagged, fl, fl_reason, checkin


def _close(
    mask: np.ndarray,
    active: np.ndarray,
    closed_week: np.ndarray,
    week: int,
    load: np.ndarray,
    mentor_g: np.ndarray,
) -> None:
    """Close the pairs in ``mask`` (in place) and free their mentors' capacity."""
    active &= ~mask
    closed_week[mask] = week
    np.subtract.at(load, mentor_g[mask], 1)


def _choose_mentors(
    stack: Stack,
    slots: np.ndarray,
    load: np.ndarray,
    capacity: int | np.ndarray,
    rep_of_mentor: np.ndarray,
    key: np.ndarray,
    weights: dict[str, float],
    shortlist: int = 256,
) -> np.ndarray:
    """New mentor (global index, or -1) for each slot: the program's matching policy
    applied to the flagged mentees and the mentors with free capacity of their replicate.

    Each replicate's candidates are its free mentors, at most ``shortlist`` of them in
    the week's random order (a bound on memory for very large cohorts; every free
    mentor when there are fewer). Each slot takes its best-scoring candidate under the
    policy's weights; when more slots want a mentor than it has free places, the pairs
    with the higher score win and the others take their next choice (rounds in which
    every unplaced mentee proposes to its next choice and a place once given is kept;
    each round one vectorised step). Written by
    hand: :func:`toolkit.matching.match` solves a whole cohort, not a few flagged mentees
    against the free places of many stacked replicates at once.
    """
    from toolkit.compatibility import weighted_score

    free = np.maximum(capacity - load, 0)
    cand = np.flatnonzero(free > 0)
    order = np.lexsort((key[cand], rep_of_mentor[cand]))
    cand = cand[order]
    c_rep = rep_of_mentor[cand]
    first = np.searchsorted(c_rep, c_rep, side="left")
    cand = cand[(np.arange(len(cand)) - first) < shortlist]
    c_rep = rep_of_mentor[cand]
    s_rep = stack.rep[slots]
    # candidate pairs (slot, mentor) within a replicate
    lo = np.searchsorted(c_rep, s_rep, side="left")
    hi = np.searchsorted(c_rep, s_rep, side="right")
    count = hi - lo
    pair_slot = np.repeat(np.arange(len(slots)), count)
    pair_mentor = cand[
        np.repeat(lo, count) + (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count))
    ]
    out = np.full(len(slots), -1, dtype=np.int64)
    if not len(pair_slot):
        return out
    m_off = stack.mentor_offsets
    score = np.empty(len(pair_slot))
    reps = s_rep[pair_slot]
    for idx in _cohort_groups(stack, reps):
        comps = pair_components(
            stack.features[reps[idx[0]]].cohort,
            stack.mentee[slots[pair_slot[idx]]],
            pair_mentor[idx] - m_off[reps[idx]],
        )
        score[idx] = weighted_score(comps, weights)
    # sort each slot's candidates best first (ties: the week's random mentor order)
    o = np.lexsort((key[pair_mentor], -score, pair_slot))
    pair_slot, pair_mentor, score = pair_slot[o], pair_mentor[o], score[o]
    start = np.searchsorted(pair_slot, np.arange(len(slots)), side="left")
    n_cand = np.bincount(pair_slot, minlength=len(slots))
    nxt = np.zeros(len(slots), dtype=np.int64)  # next choice of each slot
    places = free.copy()
    while True:
        want = np.flatnonzero((out < 0) & (nxt < n_cand))
        if not want.size:
            break
        at = start[want] + nxt[want]
        m, sc = pair_mentor[at], score[at]
        # each mentor accepts its best proposers up to its free places
        o = np.lexsort((want, -sc, m))
        want, m = want[o], m[o]
        rank = np.arange(len(m)) - np.searchsorted(m, m, side="left")
        take = rank < places[m]
        out[want[take]] = m[take]
        np.subtract.at(places, m[take], 1)
        nxt[want[~take]] += 1
    return out


def _cohort_groups(stack: Stack, reps: np.ndarray) -> list[np.ndarray]:
    """Row indices of ``reps`` grouped by the cohort object of their replicate."""
    groups: dict[int, list[int]] = {}
    for r in np.unique(reps):
        groups.setdefault(id(stack.features[r]), []).append(int(r))
    return [np.flatnonzero(np.isin(reps, rs)) for rs in groups.values()]


def _draw_mentors(
    slots: np.ndarray,
    rep: np.ndarray,
    load: np.ndarray,
    capacity: int | np.ndarray,
    rep_of_mentor: np.ndarray,
    key: np.ndarray,
) -> np.ndarray:
    """New mentor (global index, or -1) for each slot, drawn within its replicate.

    Every free capacity unit of every mentor is a candidate; candidates are ordered at
    random within each replicate (the week's mentor keys) and handed out in slot order,
    so no mentor goes over capacity. Vectorized: group offsets, no loop over slots.
    """
    free = np.maximum(capacity - load, 0)
    units = np.repeat(np.arange(len(load)), free)
    order = np.lexsort((key[units], rep_of_mentor[units]))
    units = units[order]
    n_reps = int(max(rep.max(), rep_of_mentor.max())) + 1
    unit_count = np.bincount(rep_of_mentor[units], minlength=n_reps)
    unit_start = np.concatenate([[0], np.cumsum(unit_count)])[:-1]
    slot_rep = rep[slots]
    slot_order = np.argsort(slot_rep, kind="stable")
    sorted_rep = slot_rep[slot_order]
    slot_start = np.searchsorted(sorted_rep, sorted_rep, side="left")
    rank = np.arange(len(slots)) - slot_start
    ok = rank < unit_count[sorted_rep]
    out = np.full(len(slots), -1, dtype=np.int64)
    out[slot_order[ok]] = units[unit_start[sorted_rep[ok]] + rank[ok]]
    return out


# --------------------------------------------------------------------------- tables


def _arm_column(n: int, arm: str | tuple[list[str], int]) -> pd.Categorical:
    """A categorical arm column: ``arm`` is a name, or (all arm names, this arm's code)."""
    names, code = ([arm], 0) if isinstance(arm, str) else arm
    return pd.Categorical.from_codes(np.full(n, code, np.int8), categories=list(names))


def _tables(
    stack: Stack,
    design: ProgramDesign,
    b: _Params,
    arm: Any,
    rec: dict[str, np.ndarray],
    events: list[tuple],
    s: dict[str, Any],
    want: tuple[str, ...] = TABLES,
) -> dict[str, pd.DataFrame]:
    """The tables in ``want`` (building the others costs time callers may not need)."""
    replicate = stack.replicates[stack.rep]
    out: dict[str, pd.DataFrame] = {}
    if "weeks" in want:
        out["weeks"] = _weeks_frame(stack, design.duration_weeks, arm, rec)
    ids = stack.shared.bind(stack).ids(stack)
    mentee_id = ids.mentee(stack.mentee_offsets[stack.rep] + stack.mentee)
    z = s["survey"]
    # What an ending does to satisfaction: both sides rate lower after an early ending.
    felt = s["quality"] - s["ended"] * b.ending_satisfaction / 4.0
    sat_e = likert(felt, z[:, 4], b.satisfaction_noise_sd)
    sat_m = likert(felt, z[:, 5], b.satisfaction_noise_sd)
    support = likert(s["quality"], z[:, 6], b.support_noise_sd)
    if "outcomes" in want:
        out["outcomes"] = _outcomes_frame(
            stack, replicate, arm, ids, mentee_id, s, sat_e, sat_m, support
        )
    if "surveys" in want:
        out["surveys"] = _survey_frame(
            replicate,
            arm,
            stack.mentee,
            mentee_id,
            ids.mentor(s["first_mentor_g"]),
            ids.mentor(s["mentor_g"]),
            skill=(s["mentee_skill0"], s["mentee_skill"]),
            lead=(s["mentor_level0"], s["mentor_level"]),
            post=(sat_e, sat_m, support),
            z=z,
            b=b,
            point=_point(stack, lambda p: p).get("point"),
        )
    if "events" in want:
        out["events"] = _events_frame(stack, replicate, arm, ids, events)
    return out


def _point(stack: Stack, expand: Any) -> dict[str, np.ndarray]:
    """The ``point`` column (robustness runs only), per slot expanded to a table's rows."""
    if stack.point is None:
        return {}
    return {"point": expand(stack.point[stack.rep].astype(np.int32))}


def _weeks_frame(stack: Stack, n_weeks: int, arm: Any, rec: dict[str, np.ndarray]) -> pd.DataFrame:
    """The weeks table from :class:`_WeekRecorder` columns (pairs x weeks, C order: their
    ravel is the table's row order, without a copy)."""
    n = len(stack.rep)
    replicate = stack.replicates[stack.rep]
    arm_cat = _arm_column(n * n_weeks, arm)
    return pd.DataFrame(
        {
            **_point(stack, lambda p: np.repeat(p, n_weeks)),
            "replicate": np.repeat(replicate.astype(np.int32), n_weeks),
            "arm": arm_cat,
            "pair_id": np.repeat(stack.mentee.astype(np.int32), n_weeks),
            "week": np.tile(np.arange(1, n_weeks + 1, dtype=np.int16), n),
            **{
                k: rec[k].ravel()
                for k in (
                    "scheduled",
                    "met",
                    "quality",
                    "engagement",
                    "mentee_skill",
                    "mentor_skill",
                    "checkin",
                    "flagged",
                )
            },
            "intervention": pd.Categorical.from_codes(
                rec["intervention"].ravel(), categories=list(INTERVENTIONS)
            ),
            "active": rec["active"].ravel(),
            "state": pd.Categorical.from_codes(rec["state"].ravel(), categories=list(STATES)),
        },
        copy=False,
    )  # keep one block per column: consolidating 5 million rows costs time


#: Columns of the outcomes table after its keys (point or model, replicate, arm, pair_id),
#: in order; ``run_experiment(outcome_columns=...)`` keeps a selection of them.
OUTCOME_COLUMNS = (
    "mentee_id",
    "mentor_id",
    "meetings_held",
    "weeks_active",
    "completed",
    "closed_week",
    "final_quality",
    "mean_quality",
    "mentee_gain",
    "mentor_gain",
    "satisfaction_mentee",
    "satisfaction_mentor",
    "support_mentee",
    "hours_mentee",
    "hours_mentor",
    "hours_coordinator",
    "perceived_similarity",
)


def check_outcome_columns(columns: Any, owner: str) -> tuple[str, ...] | None:
    """Validate an ``outcome_columns=`` selection: None or names of :data:`OUTCOME_COLUMNS`."""
    if columns is None:
        return None
    chosen = (columns,) if isinstance(columns, str) else columns
    try:
        chosen = tuple(dict.fromkeys(chosen))
    except TypeError:
        raise fail("outcome_columns", owner, "a list of column names or None", columns) from None
    unknown = [c for c in chosen if c not in OUTCOME_COLUMNS]
    if unknown:
        raise fail(
            "outcome_columns", owner, "names among " + ", ".join(OUTCOME_COLUMNS), unknown[0]
        )
    return chosen


def _outcomes_frame(
    stack: Stack,
    replicate: np.ndarray,
    arm: Any,
    ids: _IdColumn,
    mentee_id: pd.Categorical,
    s: dict[str, Any],
    sat_e: np.ndarray,
    sat_m: np.ndarray,
    support: np.ndarray,
) -> pd.DataFrame:
    n = len(stack.rep)
    closed = s["closed_week"] > 0
    return pd.DataFrame(
        {
            **_point(stack, lambda p: p),
            "replicate": replicate.astype(np.int32),
            "arm": _arm_column(n, arm),
            "pair_id": stack.mentee.astype(np.int32),
            "mentee_id": mentee_id,
            "mentor_id": ids.mentor(s["mentor_g"]),
            "meetings_held": s["meetings"],
            "weeks_active": s["weeks_active"],
            "completed": ~closed,
            "closed_week": pd.arrays.IntegerArray(s["closed_week"].astype(np.int16), ~closed),
            "final_quality": s["quality"],
            "mean_quality": s["quality_mean"],
            "mentee_gain": s["mentee_gain"],
            "mentor_gain": s["mentor_gain"],
            "satisfaction_mentee": sat_e,
            "satisfaction_mentor": sat_m,
            "support_mentee": support,
            "hours_mentee": s["hours"]["mentee"],
            "hours_mentor": s["hours"]["mentor"],
            "hours_coordinator": s["hours"]["coordinator"],
            "perceived_similarity": s["perceived"],
        }
    )


def _events_frame(
    stack: Stack, replicate: np.ndarray, arm: Any, ids: _IdColumn, events: list[tuple]
) -> pd.DataFrame:
    if events:
        cols = [np.concatenate(c) for c in zip(*events, strict=True)]
        week, slot, ev, reason, rating, mentor, new = cols
        order = np.lexsort((ev, slot, week))
        week, slot, ev, reason, rating, mentor, new = (c[order] for c in cols)
    else:
        week = slot = ev = reason = mentor = new = np.zeros(0, np.int64)
        rating = np.zeros(0)
    new_id = ids.mentor(new)
    return pd.DataFrame(
        {
            **_point(stack, lambda p: p[slot]),
            "replicate": replicate[slot].astype(np.int32),
            "arm": _arm_column(len(slot), arm),
            "pair_id": stack.mentee[slot].astype(np.int32),
            "week": week.astype(np.int16),
            "event": pd.Categorical.from_codes(ev.astype(np.int8), categories=list(EVENT_TYPES)),
            "reason": pd.Categorical.from_codes(reason.astype(np.int8), categories=list(REASONS)),
            "rating": rating,
            "mentor_id": ids.mentor(mentor),
            "new_mentor_id": new_id,
        }
    )


class _IdColumn:
    """Participant ids of stacked cohorts as a categorical column built from integer codes.

    Stacked replicates reuse the same ids, so categories stay small and building a
    million-row id column costs an integer gather rather than a million string copies.
    """

    def __init__(self, features: list[CohortFeatures]):
        first = features[0]
        if all(f is first for f in features):
            # One cohort in every stacked replicate (a fixed roster, a single run): its
            # cached codes, tiled; the same categories factorize would find.
            base, self.dtype = first.id_codes
            k = len(features)
            codes = np.concatenate(
                [np.tile(base[: first.n_mentees], k), np.tile(base[first.n_mentees :], k)]
            )
        else:
            ids = [f.mentee_ids for f in features] + [f.mentor_ids for f in features]
            codes, categories = pd.factorize(np.concatenate(ids))
            # One dtype, validated once: from_codes with categories= re-validates per call.
            self.dtype = pd.CategoricalDtype(categories)
        self.codes = np.append(codes.astype(np.int32), -1)  # index -1 -> missing
        self.n_mentees = sum(f.n_mentees for f in features)

    def _column(self, idx: np.ndarray) -> pd.Categorical:
        return pd.Categorical.from_codes(self.codes[idx], dtype=self.dtype)

    def mentee(self, idx: np.ndarray) -> pd.Categorical:
        """Ids of stacked mentee positions."""
        return self._column(np.asarray(idx, dtype=np.int64))

    def mentor(self, idx: np.ndarray) -> pd.Categorical:
        """Ids of stacked (global) mentor positions; -1 gives a missing id."""
        idx = np.asarray(idx, dtype=np.int64)
        return self._column(np.where(idx >= 0, idx + self.n_mentees, -1))


def _concat_cat(parts: list[pd.Categorical]) -> pd.Categorical:
    """Concatenate categoricals that share their categories (codes only)."""
    return pd.Categorical.from_codes(np.concatenate([p.codes for p in parts]), dtype=parts[0].dtype)


def _survey_frame(
    replicate,
    arm,
    pair_id,
    mentee_id,
    first_mentor,
    last_mentor,
    *,
    skill,
    lead,
    post,
    z,
    b,
    point=None,
) -> pd.DataFrame:
    """Long pre/post Likert answers; ``post`` is None for an unpaired control arm."""
    parts = [
        (mentee_id, "mentee", "digital_skill", "pre", likert(skill[0], z[:, 0], b.skill_noise_sd)),
        (mentee_id, "mentee", "digital_skill", "post", likert(skill[1], z[:, 1], b.skill_noise_sd)),
    ]
    if post is not None:
        parts += [
            (
                first_mentor,
                "mentor",
                "leadership_skill",
                "pre",
                likert(lead[0], z[:, 2], b.skill_noise_sd),
            ),
            (
                first_mentor,
                "mentor",
                "leadership_skill",
                "post",
                likert(lead[1], z[:, 3], b.skill_noise_sd),
            ),
            (mentee_id, "mentee", "satisfaction", "post", post[0]),
            (last_mentor, "mentor", "satisfaction", "post", post[1]),
            (mentee_id, "mentee", "support", "post", post[2]),
        ]
    n = len(mentee_id)
    k = len(parts)

    def column(position: int, names: list[str]) -> pd.Categorical:
        codes = np.repeat(np.array([names.index(str(p[position])) for p in parts], np.int8), n)
        return pd.Categorical.from_codes(codes, categories=names)

    return pd.DataFrame(
        {
            **({} if point is None else {"point": np.tile(point, k)}),
            "replicate": np.tile(replicate.astype(np.int32), k),
            "arm": _arm_column(n * k, arm),
            "pair_id": np.tile(pair_id.astype(np.int32), k),
            "participant_id": _concat_cat([p[0] for p in parts]),
            "role": column(1, ["mentee", "mentor"]),
            "item": column(2, ["digital_skill", "leadership_skill", "satisfaction", "support"]),
            "phase": column(3, ["pre", "post"]),
            "value": np.concatenate([p[4] for p in parts]).astype(np.int8),
        }
    )


def control_tables(
    stack: Stack,
    behavior: BehaviorModel | Sequence[BehaviorModel],
    seed: int,
    arm: Any,
    *,
    want: tuple[str, ...] = TABLES,
) -> dict[str, pd.DataFrame]:
    """An unpaired control arm: the same mentees, no mentor, pre/post surveys only."""
    b = _params(behavior, stack)
    shared = stack.shared.bind(stack)
    _, static_survey = shared.static(seed, stack)
    gi = stack.mentee_offsets[stack.rep] + stack.mentee
    ids = shared.ids(stack)
    mentee_ids = ids.mentee(gi)
    skill = np.concatenate([f.mentee_start for f in stack.features])[gi]
    replicate = stack.replicates[stack.rep]
    n = len(gi)
    surveys = _survey_frame(
        replicate,
        arm,
        stack.mentee,
        mentee_ids,
        None,
        None,
        skill=(skill, skill),
        lead=None,
        post=None,
        z=np.take(static_survey, gi, axis=0),
        b=b,
        point=_point(stack, lambda p: p).get("point"),
    )
    zeros = np.zeros(n)
    outcomes = pd.DataFrame(
        {
            **_point(stack, lambda p: p),
            "replicate": replicate.astype(np.int32),
            "arm": _arm_column(n, arm),
            "pair_id": stack.mentee.astype(np.int32),
            "mentee_id": mentee_ids,
            "mentor_id": ids.mentor(np.full(n, -1)),
            "meetings_held": np.zeros(n, np.int32),
            "weeks_active": np.zeros(n, np.int32),
            "completed": np.zeros(n, bool),
            "closed_week": pd.array([pd.NA] * n, dtype="Int16"),
            "final_quality": np.full(n, np.nan),
            "mean_quality": np.full(n, np.nan),
            "mentee_gain": zeros,
            "mentor_gain": zeros,
            "satisfaction_mentee": pd.array([pd.NA] * n, dtype="Int8"),
            "satisfaction_mentor": pd.array([pd.NA] * n, dtype="Int8"),
            "support_mentee": pd.array([pd.NA] * n, dtype="Int8"),
            "hours_mentee": zeros,
            "hours_mentor": zeros,
            "hours_coordinator": zeros,
            "perceived_similarity": np.full(n, np.nan),
        }
    )
    built = {"outcomes": outcomes, "surveys": surveys}
    return {k: v for k, v in built.items() if k in want}


def check_tables(tables: Any, owner: str, allowed: tuple[str, ...] = TABLES) -> tuple[str, ...]:
    """Validate a ``tables=`` selection: a non-empty subset of ``allowed``."""
    if isinstance(tables, str):
        tables = (tables,)
    try:
        chosen = tuple(dict.fromkeys(tables))
    except TypeError:
        raise fail("tables", owner, "a list of table names", tables) from None
    if not chosen or any(t not in allowed for t in chosen):
        raise fail("tables", owner, "a non-empty selection of " + ", ".join(allowed), tables)
    return chosen


def likert(latent: np.ndarray, noise: np.ndarray, sd: Any) -> np.ndarray:
    """Five-point Likert response to a latent value in [0, 1] with error (int8)."""
    return np.clip(np.rint(1.0 + 4.0 * latent + sd * noise), 1, 5).astype(np.int8)
