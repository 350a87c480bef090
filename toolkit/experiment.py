"""Experiments: arms (matching policy x program design) over replicates, with common random numbers.

Replicates share nothing but the root seed: each draws its own cohort (when given a
:class:`~toolkit.cohort.CohortSpec`), its own matchings and its own dynamics streams.
Arms within a replicate share the cohort, the matching of their policy and every per-pair
random draw, so a difference between arms is the design's effect, not sampling noise, and
two arms with identical settings give identical tables. All replicates of an arm are
simulated at once, stacked along the pair axis.

>>> from toolkit import CohortSpec, ProgramDesign
>>> from toolkit.experiment import Arm, run_experiment
>>> res = run_experiment(CohortSpec(n_mentors=24, n_mentees=20),
...                      {"biweekly": Arm(design=ProgramDesign()),
...                       "weekly": Arm(design=ProgramDesign(cadence="weekly"))},
...                      replicates=3, seed=1, control=True, progress=False)
>>> sorted(res.outcomes["arm"].unique().tolist())
['biweekly', 'control', 'weekly']
>>> res.outcomes.groupby(["replicate", "arm"], observed=True).size().unique().tolist()
[20]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from toolkit import _seeding
from toolkit._validation import check_int, fail
from toolkit.behavior import BehaviorModel
from toolkit.cohort import Cohort, CohortSpec, generate_cohort
from toolkit.program import ProgramDesign
from toolkit.simulate import (
    TABLES,
    SimulationResult,
    _control_tables,
    _features,
    _matching_positions,
    _run,
    _Stack,
    check_tables,
)

__all__ = ["CONTROL_ARM", "Arm", "ExperimentResult", "run_experiment"]

CONTROL_ARM = "control"
_OWNER = "run_experiment"


@dataclass(frozen=True)
class Arm:
    """One arm: a matching policy and a program design.

    ``policy`` is a policy name of :func:`toolkit.matching.match` or a callable
    ``policy(cohort, seed) -> Matching | DataFrame`` (e.g. a fixed real matching).
    """

    policy: str | Callable[[Cohort, int], Any] = "random"
    design: ProgramDesign = field(default_factory=ProgramDesign)

    def __post_init__(self) -> None:
        if not (isinstance(self.policy, str) or callable(self.policy)):
            raise fail("policy", "Arm", "a matching policy name or a callable", self.policy)
        if not isinstance(self.design, ProgramDesign):
            raise fail("design", "Arm", "a ProgramDesign", type(self.design).__name__)


@dataclass(frozen=True)
class ExperimentResult(SimulationResult):
    """Tidy tables of all arms and replicates (``replicate`` and ``arm`` columns), plus the
    initial matchings as ``pairs`` (with ``replicate`` and ``policy`` columns)."""

    pairs: pd.DataFrame | None = None
    arms: dict[str, Arm] = field(default_factory=dict)
    replicates: int = 0


def _check_arms(arms: Any) -> dict[str, Arm]:
    if isinstance(arms, ProgramDesign | Arm):
        arms = {"program": arms}
    if not isinstance(arms, Mapping) or not arms:
        raise fail("arms", _OWNER, "a non-empty mapping of arm name to Arm, (policy, design) "
                   "or ProgramDesign", arms)
    out: dict[str, Arm] = {}
    for name, arm in arms.items():
        if not isinstance(name, str) or not name or name == CONTROL_ARM:
            raise fail("arms", _OWNER, f"arm names that are non-empty strings other than "
                       f"{CONTROL_ARM!r}", name)
        if isinstance(arm, ProgramDesign):
            arm = Arm(design=arm)
        elif isinstance(arm, tuple) and len(arm) == 2:
            arm = Arm(policy=arm[0], design=arm[1])
        elif not isinstance(arm, Arm):
            raise fail("arms", _OWNER, "Arm, (policy, design) or ProgramDesign values",
                       f"{name}: {arm!r}")
        out[name] = arm
    return out


def _policy_key(policy: Any) -> str:
    return policy if isinstance(policy, str) else getattr(policy, "__name__", repr(policy))


def _matching(cohort: Cohort, policy: Any, seed: int) -> Any:
    if callable(policy):
        return policy(cohort, seed)
    from toolkit.matching import match

    return match(cohort, policy=policy, seed=seed)


def run_experiment(cohort: CohortSpec | Cohort, arms: Any, *, replicates: int | None = None,
                   seed: int = 0, control: bool = False,
                   behavior: BehaviorModel | None = None, progress: bool = True,
                   tables: Any = (*TABLES, "pairs"),
                   replicate_seeds: Any = None) -> ExperimentResult:
    """Simulate every arm on every replicate; return tidy tables for all of them.

    Parameters
    ----------
    cohort : CohortSpec or Cohort
        A spec draws a fresh cohort per replicate (its seed replaced by one derived from
        ``seed`` and the replicate number); a Cohort is reused by every replicate (a
        fixed roster), with independent matchings and dynamics per replicate.
    arms : mapping of name to Arm, (policy, design) or ProgramDesign
    replicates : int >= 1 (default 100)
    seed : root seed; replicate ``r`` uses only streams named by ``r`` under it.
    control : add an unpaired control arm named ``control`` (pre/post surveys only).
    behavior : BehaviorModel (default parameters if None).
    progress : show a progress bar (tqdm).
    tables : which of ``weeks``, ``outcomes``, ``surveys``, ``events`` and ``pairs`` (the
        starting matchings) to build; the rest are ``None``. Leaving out tables nobody
        reads (a power analysis needs only ``outcomes``) saves most of the table cost.
    replicate_seeds : optional list of root seeds, one per replicate (then ``seed`` is not
        used). Replicate ``r`` is then exactly the one-replicate run with
        ``seed=replicate_seeds[r]`` (but labelled ``r``), so a batch of independent
        simulations runs vectorized with the same numbers as running them one by one.
    """
    want = check_tables(tables, _OWNER, (*TABLES, "pairs"))
    arms = _check_arms(arms)
    _seeding.check_seed(seed, _OWNER)
    roots = None
    if replicate_seeds is not None:
        if isinstance(replicate_seeds, int | str) or not len(replicate_seeds):
            raise fail("replicate_seeds", _OWNER, "a non-empty list of seeds or None",
                       replicate_seeds)
        roots = np.array([_seeding.check_seed(s, _OWNER, "replicate_seeds")
                          for s in replicate_seeds], dtype=np.uint64)
        if replicates is not None and replicates != len(roots):
            raise fail("replicates", _OWNER, f"None or len(replicate_seeds) = {len(roots)}",
                       replicates)
        replicates = len(roots)
    replicates = check_int(100 if replicates is None else replicates, "replicates", _OWNER,
                           low=1, high=10_000_000)

    def stream(r: int) -> tuple[int, int]:   # (root seed, stream number) of replicate r
        return (seed, r) if roots is None else (int(roots[r]), 0)
    if not isinstance(control, bool):
        raise fail("control", _OWNER, "True or False", control)
    behavior = BehaviorModel() if behavior is None else behavior
    if not isinstance(behavior, BehaviorModel):
        raise fail("behavior", _OWNER, "a BehaviorModel or None", type(behavior).__name__)
    if not isinstance(cohort, CohortSpec | Cohort):
        raise fail("cohort", _OWNER, "a CohortSpec or a Cohort", type(cohort).__name__)

    from tqdm.auto import tqdm

    names = list(arms) + ([CONTROL_ARM] if control else [])
    policies = {_policy_key(a.policy): a.policy for a in arms.values()}
    bar = tqdm(total=replicates + len(names), desc="experiment", disable=not progress,
               unit="step")

    feats, positions, pair_frames = [], {k: [] for k in policies}, []
    for r in range(replicates):
        root, number = stream(r)
        if isinstance(cohort, Cohort):
            c = cohort
        else:
            c = generate_cohort(replace(cohort, seed=_seeding.int_seed(root, "cohort", number)))
        feats.append(_features(c))
        for key, policy in policies.items():
            m = _matching(c, policy, _seeding.int_seed(root, "matching", number, key))
            positions[key].append(_matching_positions(c, m, _OWNER))
            if "pairs" in want:
                frame = m.pairs if hasattr(m, "pairs") else m
                pair_frames.append(frame.assign(replicate=np.int32(r), policy=key))
        bar.update(1)

    reps = np.arange(replicates)
    parts: dict[str, list[pd.DataFrame]] = {k: [] for k in TABLES if k in want}
    for code, arm in enumerate(arms.values()):
        pos = positions[_policy_key(arm.policy)]
        stack = _Stack(features=feats, replicates=reps, roots=roots,
                       rep=np.concatenate([np.full(len(e), r) for r, (e, _) in enumerate(pos)]),
                       mentee=np.concatenate([e for e, _ in pos]),
                       mentor=np.concatenate([m for _, m in pos]))
        for k, v in _run(stack, arm.design, behavior, seed, (names, code), want).items():
            parts[k].append(v)
        bar.update(1)
    if control:
        stack = _Stack(features=feats, replicates=reps, roots=roots,
                       rep=np.repeat(reps, [f.n_mentees for f in feats]),
                       mentee=np.concatenate([np.arange(f.n_mentees) for f in feats]),
                       mentor=np.zeros(sum(f.n_mentees for f in feats), np.int64))
        for k, v in _control_tables(stack, behavior, seed, (names, len(names) - 1),
                                    want).items():
            parts[k].append(v)
        bar.update(1)
    bar.close()

    out = {k: (pd.concat(parts[k], ignore_index=True) if len(parts[k]) > 1 else parts[k][0])
           if k in parts else None for k in TABLES}
    pairs = pd.concat(pair_frames, ignore_index=True) if "pairs" in want else None
    return ExperimentResult(design=None, behavior=behavior, seed=seed, pairs=pairs, arms=arms,
                            replicates=replicates, **out)
