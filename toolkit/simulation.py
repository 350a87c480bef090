"""Simulate one program: one matched cohort, one design -> tidy tables.

``simulate(cohort, matching, design, behavior, seed)`` runs the weekly dynamics (see
``docs/model.md``) and returns a :class:`SimulationResult` with the tidy tables of
``docs/architecture.md``:

- ``weeks``: one row per pair slot and week (replicate, arm, pair_id, week, scheduled, met,
  quality, engagement, mentee_skill, mentor_skill, checkin, flagged, intervention, active);
- ``outcomes``: one row per pair slot (meetings, weeks active, completion, gains,
  satisfaction, hours of mentee, mentor and coordinator);
- ``surveys``: pre/post Likert answers with measurement error, long format (replicate, arm,
  pair_id, participant_id, role, item, phase, value);
- ``events``: check-ins, flags, coaching, rematches and closures with week and reason.

``pair_id`` is the mentee's position in ``cohort.mentees``; a rematch keeps the slot and
changes its mentor (``outcomes.mentor_id`` is the last mentor; ``events`` keeps the history).

>>> from toolkit import CohortSpec, generate_cohort, match, ProgramDesign, simulate
>>> cohort = generate_cohort(CohortSpec(n_mentors=30, n_mentees=25, seed=3))
>>> result = simulate(cohort, match(cohort, policy="random", seed=3), ProgramDesign(), seed=3)
>>> len(result.outcomes), len(result.weeks) == 25 * 26
(25, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from toolkit import _engine, _seeding
from toolkit._engine import CLOSURE_REASONS, EVENT_TYPES, INTERVENTIONS, REASONS, TABLES
from toolkit._validation import check_instance
from toolkit.behavior import BehaviorModel
from toolkit.cohort import Cohort
from toolkit.matching import Matching
from toolkit.program import ProgramDesign

__all__ = [
    "EVENT_TYPES",
    "INTERVENTIONS",
    "CLOSURE_REASONS",
    "REASONS",
    "TABLES",
    "SimulationResult",
    "simulate",
]

_OWNER = "simulate"


@dataclass(frozen=True)
class SimulationResult:
    """Tidy tables of one simulated program (or of stacked replicates and arms).

    A table left out with ``tables=`` is ``None``.
    """

    weeks: pd.DataFrame | None
    outcomes: pd.DataFrame | None
    surveys: pd.DataFrame | None
    events: pd.DataFrame | None
    design: ProgramDesign | None = None
    behavior: BehaviorModel | None = None
    seed: int | None = None
    meta: dict = field(default_factory=dict, repr=False, compare=False)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables that were built, by name."""
        built = {
            "weeks": self.weeks,
            "outcomes": self.outcomes,
            "surveys": self.surveys,
            "events": self.events,
        }
        return {k: v for k, v in built.items() if v is not None}


def simulate(
    cohort: Cohort,
    matching: Matching | pd.DataFrame,
    design: ProgramDesign | None = None,
    behavior: BehaviorModel | None = None,
    seed: int = 0,
    *,
    replicate: int = 0,
    arm: str = "program",
    tables: str | tuple[str, ...] = TABLES,
) -> SimulationResult:
    """Simulate ``design`` on a matched cohort; return the tidy tables.

    ``matching`` is a :class:`toolkit.matching.Matching` of this cohort or a DataFrame with
    ``mentee_id`` and ``mentor_id`` columns. A Matching's capacity (most mentees per
    mentor) also bounds rematches; a frame gives each mentor the largest number of mentees
    it already has (at least 1). ``seed`` is the root seed; ``replicate`` picks the
    replicate stream under it (what :func:`toolkit.experiment.run_experiment` varies).
    ``tables`` selects which of ``weeks``, ``outcomes``, ``surveys``, ``events`` to build
    (the others are ``None``); the numbers in a built table do not depend on the choice.
    """
    check_instance(cohort, Cohort, "cohort", _OWNER)
    design = ProgramDesign() if design is None else design
    check_instance(design, ProgramDesign, "design", _OWNER)
    behavior = BehaviorModel() if behavior is None else behavior
    check_instance(behavior, BehaviorModel, "behavior", _OWNER, allowed="a BehaviorModel or None")
    _seeding.check_seed(seed, _OWNER)
    _seeding.check_seed(replicate, _OWNER, "replicate")
    want = _engine.check_tables(tables, _OWNER)
    e_pos, m_pos = _engine.matching_positions(cohort, matching, _OWNER)
    if isinstance(matching, Matching):
        capacity: int | np.ndarray = matching.capacity
    else:
        capacity = max(int(np.bincount(m_pos).max()) if m_pos.size else 1, 1)
    stack = _engine.Stack(
        features=[_engine.cohort_features(cohort)],
        replicates=np.array([replicate]),
        rep=np.zeros(len(e_pos), np.int64),
        mentee=e_pos,
        mentor=m_pos,
    )
    # A rematch follows the matching's policy: the best-scoring free mentor under its
    # weights (at random for a random matching or a given pairs frame).
    rematch = (
        _engine.rematch_weights(matching.policy, matching.weights)
        if isinstance(matching, Matching)
        else None
    )
    built = _engine.run(
        stack, design, behavior, seed, arm, capacity=capacity, want=want, rematch=rematch
    )
    frames: dict[str, Any] = {k: built.get(k) for k in TABLES}
    return SimulationResult(design=design, behavior=behavior, seed=seed, **frames)
