"""Experiments as data: cohort, arms (matching x design), replicates, seed, control, behaviour.

An :class:`ExperimentSpec` is plain data from the cohort to the arms. It is validated
when built (one sentence per mistake, before anything runs), round-trips through
``to_dict`` / ``from_dict`` and YAML or JSON files unchanged, and has a content
``fingerprint`` that runs, manifests and resumed sweeps key on::

    ExperimentSpec
    ├── cohort      CohortSpec (a synthetic cohort per replicate) | RosterSource (a file)
    ├── arms        {name: Arm}
    │   └── Arm     MatchSpec (policy, weights, capacity, constraints, options) + ProgramDesign
    ├── replicates, seed, control (an unpaired control arm)
    └── behavior    {BehaviorModel parameter: value} overrides of the defaults

Replicates share nothing but the root seed: each draws its own cohort (from a
CohortSpec), its own matchings and its own dynamics streams. Arms within a replicate
share the cohort, the matching of equal match specs and every per-pair random draw, so a
difference between arms is the design's effect, not sampling noise, and two arms with
identical settings give identical tables (common random numbers). All replicates of an
arm are simulated at once, stacked along the pair axis.

>>> from toolkit.experiment import ExperimentSpec, run_experiment
>>> spec = ExperimentSpec.from_dict({
...     "cohort": {"n_mentors": 24, "n_mentees": 20},
...     "arms": {"biweekly": {"design": {"cadence": "biweekly"}},
...              "weekly": {"match": {"policy": "optimal"}, "design": {"cadence": "weekly"}}},
...     "replicates": 3, "seed": 1, "control": True})
>>> res = run_experiment(spec, progress=False)
>>> sorted(res.outcomes["arm"].unique().tolist())
['biweekly', 'control', 'weekly']
>>> ExperimentSpec.from_yaml(spec.to_yaml()) == spec
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, cast

import numpy as np
import pandas as pd

from toolkit import _engine, _seeding
from toolkit._engine import OUTCOME_COLUMNS
from toolkit._pool import check_executor, run_tasks
from toolkit._spec import Spec, check_keys, dumps, loads, nested, read_text, to_plain, tuples
from toolkit._validation import check_bool, check_instance, check_int, check_option, fail
from toolkit.behavior import BehaviorModel
from toolkit.cohort import Cohort, CohortSpec, generate_cohorts
from toolkit.compatibility import Constraints, resolve_weights
from toolkit.ensemble import Ensemble
from toolkit.errors import InvalidParameterError
from toolkit.matching import MAX_CAPACITY, POLICIES, Matching, match
from toolkit.program import ProgramDesign
from toolkit.roster import read_roster
from toolkit.simulation import TABLES, SimulationResult

__all__ = [
    "CONTROL_ARM",
    "Arm",
    "ExperimentResult",
    "ExperimentSpec",
    "OUTCOME_COLUMNS",
    "MatchSpec",
    "RosterSource",
    "run_experiment",
]

CONTROL_ARM = "control"
_OWNER = "run_experiment"


# --------------------------------------------------------------------------- match spec


@dataclass(frozen=True)
class MatchSpec(Spec):
    """How to match: a policy with its weights, capacity, constraints and options.

    Parameters
    ----------
    policy : str or callable
        A policy of :data:`toolkit.matching.POLICIES`, or a callable
        ``policy(cohort, seed) -> Matching | DataFrame`` (a fixed real matching, say). A
        callable is identified by the object itself, never by its name, and a spec that
        holds one cannot be saved as data.
    weights : str, dict or None
        A weight profile name or ``{component: weight}`` (``None``: ``"balanced"``).
    capacity : int in [1, 100]
        The most mentees a mentor may have at once, in the matching and in every
        rematch: the one owner of capacity.
    constraints : Constraints, dict or None
        Hard constraints (see :class:`toolkit.compatibility.Constraints`).
    options : dict
        The policy's own options (``proposer`` for stable, ``shortlist`` and ``fallback``
        for mentee_choice, ``min_score`` for max_participation, ``require`` for diverse);
        an option the policy does not have is refused, listing the ones it has.

    >>> MatchSpec("stable", options={"proposer": "mentor"}, capacity=2).to_dict()["options"]
    {'proposer': 'mentor'}
    """

    policy: str | Callable[[Cohort, int], Any] = "random"
    weights: str | Mapping[str, float] | None = None
    capacity: int = 1
    constraints: Constraints | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        owner = "MatchSpec"
        if callable(self.policy) and not isinstance(self.policy, str):
            given = [
                name
                for name, default in (("weights", None), ("constraints", None))
                if getattr(self, name) is not default
            ]
            if given or self.options:
                raise fail(
                    given[0] if given else "options",
                    owner,
                    "left out when the policy is a callable (it makes the matching itself)",
                    getattr(self, given[0]) if given else self.options,
                )
        elif not isinstance(self.policy, str) or self.policy not in POLICIES:
            raise fail(
                "policy",
                owner,
                "one of " + ", ".join(repr(p) for p in POLICIES) + " or a callable",
                self.policy,
            )
        if self.weights is not None:
            resolve_weights(
                dict(self.weights) if isinstance(self.weights, Mapping) else self.weights, owner
            )
            if isinstance(self.weights, Mapping):
                object.__setattr__(
                    self, "weights", {str(k): float(v) for k, v in self.weights.items()}
                )
        object.__setattr__(
            self, "capacity", check_int(self.capacity, "capacity", owner, low=1, high=MAX_CAPACITY)
        )
        if isinstance(self.constraints, Mapping):
            object.__setattr__(
                self,
                "constraints",
                Constraints.from_dict(self.constraints, "MatchSpec.constraints"),
            )
        elif self.constraints is not None:
            check_instance(
                self.constraints,
                Constraints,
                "constraints",
                owner,
                allowed="a Constraints, a dict of its fields or None",
            )
        if not isinstance(self.options, Mapping):
            raise fail("options", owner, "a mapping of policy options", self.options)
        if isinstance(self.policy, str):
            valid = POLICIES[self.policy].options
            unknown = [k for k in self.options if k not in valid]
            if unknown:
                allowed = ", ".join(repr(k) for k in valid) or "none"
                raise fail(
                    "options",
                    owner,
                    f"options of the {self.policy!r} policy (it has: {allowed})",
                    unknown[0],
                )
        object.__setattr__(self, "options", dict(tuples(dict(self.options))))

    @property
    def is_data(self) -> bool:
        """False when the policy is a callable (the spec cannot be saved as data)."""
        return isinstance(self.policy, str)

    def to_dict(self) -> dict[str, Any]:
        if not self.is_data:
            raise InvalidParameterError(
                f"This MatchSpec holds the callable policy {self.policy!r}, which cannot be "
                "saved as data; use a policy name to save or fingerprint the specification."
            )
        return super().to_dict()

    @classmethod
    def coerce(cls, value: Any, where: str) -> MatchSpec:
        """A MatchSpec from a MatchSpec, a policy name, a callable or a dict of fields."""
        if isinstance(value, MatchSpec):
            return value
        if isinstance(value, str) or callable(value):
            return cls(policy=value)
        return cls.from_dict(value, where)

    def run(self, cohort: Cohort, seed: int) -> Matching | pd.DataFrame:
        """Match ``cohort`` with this spec (``seed`` breaks ties and draws random pairs)."""
        if not isinstance(self.policy, str):  # not data: a callable policy
            return self.policy(cohort, seed)
        return match(
            cohort,
            policy=self.policy,
            weights=cast(Any, self.weights),
            capacity=self.capacity,
            constraints=self.constraints,
            seed=seed,
            **self.options,
        )


def _constraints_from_dict(value: Any, where: str) -> Constraints:
    return value if isinstance(value, Constraints) else Constraints.from_dict(value, where)


MatchSpec._nested = {"constraints": _constraints_from_dict}


# --------------------------------------------------------------------------- arm


@dataclass(frozen=True)
class Arm(Spec):
    """One arm: how pairs are matched and what the program does.

    ``match`` is a :class:`MatchSpec`, a policy name or a callable policy;
    ``design`` a :class:`~toolkit.program.ProgramDesign`.

    >>> from toolkit.program import ProgramDesign
    >>> Arm("optimal", ProgramDesign(cadence="weekly")).match.policy
    'optimal'
    """

    match: MatchSpec | str | Callable[[Cohort, int], Any] = "random"
    design: ProgramDesign = field(default_factory=ProgramDesign)

    _nested: ClassVar[dict] = {"match": MatchSpec.coerce, "design": nested(ProgramDesign)}  # type: ignore[misc]

    def __post_init__(self) -> None:
        if not isinstance(self.match, MatchSpec):
            if not (isinstance(self.match, str) or callable(self.match)):
                raise fail("match", "Arm", "a MatchSpec, a policy name or a callable", self.match)
            object.__setattr__(self, "match", MatchSpec(policy=self.match))
        check_instance(self.design, ProgramDesign, "design", "Arm")


# --------------------------------------------------------------------------- roster source


@dataclass(frozen=True)
class RosterSource(Spec):
    """A real roster file (CSV, see :mod:`toolkit.roster`) as the cohort of every replicate.

    The path must exist when the spec is built; the file is read and validated when the
    experiment runs. :meth:`checksum` identifies its content (the runner records it).
    """

    roster: str

    def __post_init__(self) -> None:
        if not isinstance(self.roster, str | Path) or not str(self.roster):
            raise fail("roster", "RosterSource", "a path to a roster CSV file", self.roster)
        object.__setattr__(self, "roster", str(self.roster))
        if not Path(self.roster).is_file():
            raise fail("roster", "RosterSource", "the path of an existing roster file", self.roster)

    def load(self) -> Cohort:
        return read_roster(self.roster)

    def checksum(self) -> str:
        return hashlib.sha256(Path(self.roster).read_bytes()).hexdigest()


def _cohort_from_plain(value: Any, where: str) -> CohortSpec | RosterSource | Cohort:
    if isinstance(value, CohortSpec | RosterSource | Cohort):
        return value
    if isinstance(value, Mapping) and "roster" in value:
        return RosterSource.from_dict(value, where)
    return CohortSpec.from_dict(value, where)


def _arms_from_plain(value: Any, where: str) -> dict[str, Arm]:
    if not isinstance(value, Mapping):
        raise InvalidParameterError(
            f"The {where!r} entry must be a mapping of arm name to arm; "
            f"got {type(value).__name__} {value!r}."
        )
    out = {}
    for name, arm in value.items():
        if isinstance(arm, Arm):
            out[name] = arm
        else:
            check_keys(arm, Arm, f"{where}.{name}")
            out[name] = Arm.from_dict(arm, f"{where}.{name}")
    return out


# --------------------------------------------------------------------------- experiment spec


@dataclass(frozen=True, kw_only=True)
class ExperimentSpec(Spec):
    """A whole experiment as data. Frozen and validated on construction.

    Parameters
    ----------
    cohort : CohortSpec, RosterSource or Cohort
        A CohortSpec draws a fresh cohort per replicate (its seed replaced by one derived
        from ``seed`` and the replicate number); a RosterSource (or an in-memory Cohort,
        which cannot be saved as data) is the same people in every replicate, with
        independent matchings and dynamics per replicate.
    arms : mapping of name to Arm (or to a ProgramDesign, a (match, design) pair)
    replicates : int >= 1
    seed : root seed; replicate ``r`` uses only streams named by ``r`` under it.
    control : add an unpaired control arm named ``control`` (pre/post surveys only).
    behavior : {parameter: value} overrides of :class:`~toolkit.behavior.BehaviorModel`.
    """

    cohort: CohortSpec | RosterSource | Cohort = field(default_factory=CohortSpec)
    arms: Mapping[str, Arm]
    replicates: int = 100
    seed: int = 0
    control: bool = False
    behavior: Mapping[str, float] = field(default_factory=dict)

    _nested: ClassVar[dict] = {"cohort": _cohort_from_plain, "arms": _arms_from_plain}  # type: ignore[misc]

    def __post_init__(self) -> None:
        owner = "ExperimentSpec"
        check_instance(
            self.cohort,
            (CohortSpec, RosterSource, Cohort),
            "cohort",
            owner,
            allowed="a CohortSpec, a RosterSource or a Cohort",
        )
        object.__setattr__(self, "arms", _check_arms(self.arms, owner))
        object.__setattr__(
            self,
            "replicates",
            check_int(self.replicates, "replicates", owner, low=1, high=10_000_000),
        )
        object.__setattr__(self, "seed", _seeding.check_seed(self.seed, owner))
        object.__setattr__(self, "control", check_bool(self.control, "control", owner))
        if isinstance(self.behavior, BehaviorModel):
            object.__setattr__(self, "behavior", self.behavior.overrides())
        if not isinstance(self.behavior, Mapping):
            raise fail(
                "behavior", owner, "a mapping of BehaviorModel parameter overrides", self.behavior
            )
        valid = list(BehaviorModel().to_dict())
        unknown = [k for k in self.behavior if k not in valid]
        if unknown:
            raise InvalidParameterError(
                f"Unknown key {unknown[0]!r} in ExperimentSpec.behavior; valid keys are "
                f"{', '.join(valid)}."
            )
        model = BehaviorModel(**self.behavior)  # validates every value
        object.__setattr__(
            self, "behavior", {k: getattr(model, k) for k in valid if k in self.behavior}
        )

    @property
    def behavior_model(self) -> BehaviorModel:
        """The BehaviorModel: defaults with this spec's overrides."""
        return BehaviorModel(**self.behavior)

    @property
    def arm_names(self) -> list[str]:
        """Arm names in table order (the control arm last, when there is one)."""
        return list(self.arms) + ([CONTROL_ARM] if self.control else [])

    def to_dict(self) -> dict[str, Any]:
        if isinstance(self.cohort, Cohort):
            raise InvalidParameterError(
                "This ExperimentSpec holds an in-memory Cohort, which cannot be saved as "
                "data; use a CohortSpec or a RosterSource to save or fingerprint it."
            )
        return {
            "cohort": self.cohort.to_dict(),
            "arms": {name: arm.to_dict() for name, arm in self.arms.items()},
            "replicates": self.replicates,
            "seed": self.seed,
            "control": self.control,
            "behavior": to_plain(self.behavior),
        }

    def replace(self, **changes: Any) -> ExperimentSpec:
        """A validated copy with some fields changed."""
        return replace(self, **changes)

    @classmethod
    def from_yaml(cls, text: str) -> ExperimentSpec:
        """From YAML or JSON text (as written by ``to_yaml`` / ``to_json``)."""
        return cls.from_dict(loads(text, "experiment specification"), "experiment")

    @classmethod
    def load(cls, path: str | Path) -> ExperimentSpec:
        """From a ``.yaml``, ``.yml`` or ``.json`` file."""
        return cls.from_yaml(read_text(path, "experiment specification"))

    def save(self, path: str | Path) -> Path:
        """Write the spec as YAML (``.yaml``/``.yml``) or JSON (``.json``), atomically."""
        from toolkit._io import write_text

        p = Path(path)
        fmt = {".yaml": "yaml", ".yml": "yaml", ".json": "json"}.get(p.suffix.lower())
        if fmt is None:
            raise fail("path", "ExperimentSpec.save", "a .yaml, .yml or .json file name", str(path))
        return write_text(dumps(self.to_dict(), fmt), p, formats=(p.suffix,))


def _check_arms(arms: Any, owner: str) -> dict[str, Arm]:
    if isinstance(arms, ProgramDesign | Arm):
        arms = {"program": arms}
    if not isinstance(arms, Mapping) or not arms:
        raise fail(
            "arms",
            owner,
            "a non-empty mapping of arm name to Arm, (match, design) or ProgramDesign",
            arms,
        )
    out: dict[str, Arm] = {}
    for name, arm in arms.items():
        if not isinstance(name, str) or not name.strip() or name == CONTROL_ARM:
            raise fail(
                "arms",
                owner,
                f"arm names that are non-empty strings other than {CONTROL_ARM!r}",
                name,
            )
        if isinstance(arm, ProgramDesign):
            arm = Arm(design=arm)
        elif isinstance(arm, tuple) and len(arm) == 2:
            arm = Arm(match=arm[0], design=arm[1])
        elif not isinstance(arm, Arm):
            raise fail(
                "arms", owner, "Arm, (match, design) or ProgramDesign values", f"{name}: {arm!r}"
            )
        out[name] = arm
    return out


# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class ExperimentResult(SimulationResult):
    """Tidy tables of all arms and replicates (``replicate`` and ``arm`` columns), plus the
    initial matchings as ``pairs`` (with ``replicate``, ``policy`` and ``matching``
    columns; ``matching`` names the arms that share it)."""

    pairs: pd.DataFrame | None = None
    spec: ExperimentSpec | None = None

    @property
    def arms(self) -> dict[str, Arm]:
        return dict(self.spec.arms) if self.spec else {}

    @property
    def replicates(self) -> int:
        return self.spec.replicates if self.spec else 0


# --------------------------------------------------------------------------- running


def _matching_groups(arms: Mapping[str, Arm]) -> tuple[list[MatchSpec], list[str], list[int]]:
    """Distinct match specs (equal specs share one matching), a label each, and each
    arm's group. Data specs are equal by value; callables by identity."""
    specs: list[MatchSpec] = []
    keys: list[Any] = []
    group_of: list[int] = []
    for arm in arms.values():
        m = _match_spec(arm)
        key = m.fingerprint if m.is_data else ("callable", id(m.policy))
        if key not in keys:
            keys.append(key)
            specs.append(m)
        group_of.append(keys.index(key))
    names = list(arms)
    labels = [
        " ".join(n for n, g in zip(names, group_of, strict=True) if g == k)
        for k in range(len(specs))
    ]
    return specs, labels, group_of


def _match_spec(arm: Arm) -> MatchSpec:
    """The arm's matching (``Arm.__post_init__`` made every kind of input a MatchSpec)."""
    assert isinstance(arm.match, MatchSpec)
    return arm.match


def _seed_key(m: MatchSpec) -> str:
    # Matchings draw from a stream named by the policy, so equal policies with other
    # weights or options share their random numbers (common random numbers again).
    return m.policy if isinstance(m.policy, str) else "callable"


def run_experiment(
    experiment: ExperimentSpec | CohortSpec | Cohort | RosterSource,
    arms: Mapping[str, Any] | None = None,
    *,
    replicates: int | None = None,
    seed: int | None = None,
    control: bool | None = None,
    behavior: BehaviorModel | Mapping[str, float] | None = None,
    progress: bool = True,
    tables: Any = (*TABLES, "pairs"),
    replicate_seeds: Sequence[int] | None = None,
    behaviors: Sequence[BehaviorModel] | None = None,
    models: Ensemble | None = None,
    model_streams: str = "common",
    executor: Any = None,
    workers: int | None = None,
    outcome_columns: Sequence[str] | None = None,
) -> ExperimentResult:
    """Simulate every arm of an experiment on every replicate; return tidy tables.

    Call it with an :class:`ExperimentSpec`, or with the spec's fields
    (``run_experiment(cohort, arms, replicates=..., seed=..., control=..., behavior=...)``),
    which builds the same spec.

    Parameters
    ----------
    progress : show a progress bar (tqdm).
    tables : which of ``weeks``, ``outcomes``, ``surveys``, ``events`` and ``pairs`` (the
        starting matchings) to build; the rest are ``None``. Leaving out tables nobody
        reads (a power analysis needs only ``outcomes``) saves most of the table cost.
    replicate_seeds : optional list of root seeds, one per replicate (then the spec's
        seed is not used). Replicate ``r`` is then exactly the one-replicate run with
        ``seed=replicate_seeds[r]`` (but labelled ``r``), so a batch of independent
        simulations runs vectorized with the same numbers as running them one by one.
    behaviors : optional list of behaviour models, each a *point* of a robustness
        analysis. Every point runs on the same replicates (the same cohorts, matchings
        and random draws), all stacked in one pass, and the tables get a ``point``
        column. The spec's own behaviour overrides are then not used.
    models : optional :class:`~toolkit.ensemble.Ensemble` of plausible models. Every arm
        runs under every model on the same replicates (common random numbers: the same
        cohorts, matchings and per-pair draws in every model), stacked as ``behaviors``
        are, and the tables get a ``model`` column (the model's row in the ensemble).
        Each model is the spec's behaviour with the ensemble's parameters set. Models are
        stacked in chunks of at most about five million pair-weeks per arm to bound
        memory; the numbers are those of one pass (each model's draws do not depend on
        the chunk it runs in).
    model_streams : with ``models``, ``"common"`` (the default: the same per-pair draws in
        every model) or ``"independent"``: each model has its own per-pair random streams
        (common random numbers across the arms within a model, not across models; the
        cohorts and starting matchings of a replicate stay shared), so that the Monte Carlo
        errors of different models are nearly independent.
    executor, workers : with ``models``, where the chunks of models run (``toolkit._pool``):
        ``"serial"`` (the default when ``workers`` is None or 1: this process),
        ``"process"`` (the default when ``workers`` > 1: a local pool of ``workers``
        processes, one BLAS thread each, shut down at the end), a
        ``concurrent.futures.Executor`` or a ``dask.distributed.Client`` (left open: they
        are the caller's). A task is one chunk: the spec, the chunk's models and root
        seeds (kilobytes pickled); each worker rebuilds the replicates' cohorts and
        matchings, as every chunk of a serial pass does. The chunks' tables are put
        together in chunk order, so the result is byte-identical to the serial pass.
        Without ``models`` only the serial pass exists.
    outcome_columns : optional names of the outcomes table's columns to keep (among
        :data:`OUTCOME_COLUMNS`; its keys, point or model, replicate, arm and
        pair_id, always stay). With ``models`` every chunk drops the rest before the chunks
        are sent back and put together, so a reader of one outcome moves and holds a
        fraction of the table. None (the default) keeps every column.
    """
    if isinstance(experiment, ExperimentSpec):
        fields_given = {
            "arms": arms,
            "replicates": replicates,
            "seed": seed,
            "control": control,
            "behavior": behavior,
        }
        given = [k for k, v in fields_given.items() if v is not None]
        if given:
            raise fail(
                given[0],
                _OWNER,
                "left out when an ExperimentSpec is given (it holds them)",
                fields_given[given[0]],
            )
        spec = experiment
    else:
        if arms is None:
            raise fail(
                "arms", _OWNER, "a mapping of arm name to Arm (or pass an ExperimentSpec)", arms
            )
        if behavior is not None and not isinstance(behavior, BehaviorModel | Mapping):
            raise fail(
                "behavior",
                _OWNER,
                "a BehaviorModel, a mapping of overrides or None",
                type(behavior).__name__,
            )
        spec = ExperimentSpec(
            cohort=experiment,
            arms=arms,
            replicates=100 if replicates is None else replicates,
            seed=0 if seed is None else seed,
            control=False if control is None else control,
            behavior=(
                behavior.overrides()
                if isinstance(behavior, BehaviorModel)
                else dict(behavior or {})
            ),
        )
    want = _engine.check_tables(tables, _OWNER, (*TABLES, "pairs"))
    keep = _engine.check_outcome_columns(outcome_columns, _OWNER)
    n_reps = spec.replicates
    roots = None
    if replicate_seeds is not None:
        if isinstance(replicate_seeds, int | str) or not len(replicate_seeds):
            raise fail(
                "replicate_seeds", _OWNER, "a non-empty list of seeds or None", replicate_seeds
            )
        roots = np.array(
            [_seeding.check_seed(s, _OWNER, "replicate_seeds") for s in replicate_seeds],
            dtype=np.uint64,
        )
        if replicates is not None and replicates != len(roots):
            raise fail(
                "replicates", _OWNER, f"None or len(replicate_seeds) = {len(roots)}", replicates
            )
        n_reps = len(roots)
        spec = spec.replace(replicates=n_reps)
    pool = _check_pool(executor, workers, models is not None)
    points = None
    if behaviors is not None:
        if (
            isinstance(behaviors, BehaviorModel)
            or not len(behaviors)
            or not all(isinstance(b, BehaviorModel) for b in behaviors)
        ):
            raise fail("behaviors", _OWNER, "a non-empty list of BehaviorModel or None", behaviors)
        points = list(behaviors)
    if models is not None:
        if behaviors is not None:
            raise fail(
                "models",
                _OWNER,
                "left out when 'behaviors' is given (give one of the two)",
                "an Ensemble",
            )
        check_instance(models, Ensemble, "models", _OWNER, allowed="an Ensemble or None")
        if models.other_values().shape[1]:
            raise fail(
                "models",
                _OWNER,
                "an ensemble of BehaviorModel parameters only "
                "(cohort constants are set on the cohort)",
                models.other_values().columns[0],
            )
        check_option(model_streams, "model_streams", _OWNER, ("common", "independent"))
        return _run_models(
            spec,
            want,
            progress,
            roots,
            models.to_behaviors(spec.behavior_model),
            independent=model_streams == "independent",
            pool=pool,
            keep=keep,
        )
    res = _run(spec, want, progress, roots, points)
    return res if keep is None else replace(res, outcomes=_kept(res.outcomes, keep))


def _kept(outcomes: pd.DataFrame | None, keep: tuple[str, ...] | None) -> pd.DataFrame | None:
    """The outcomes table with its keys and the ``keep`` columns only (None: all of them)."""
    if outcomes is None or keep is None:
        return outcomes
    drop = [c for c in OUTCOME_COLUMNS if c not in keep]
    return outcomes.drop(columns=drop)


def _check_pool(executor: Any, workers: Any, models: bool) -> tuple[Any, int | None]:
    """(executor, workers) checked: the executor defaults to a local pool when ``workers``
    > 1, else this process; anything but the serial pass needs ``models``."""
    if workers is not None:
        workers = check_int(workers, "workers", _OWNER, low=1)
    if executor is None:
        executor = "process" if workers is not None and workers > 1 else "serial"
    executor = check_executor(executor, _OWNER)
    if executor != "serial" and not models:
        raise fail(
            "executor",
            _OWNER,
            "'serial' (workers None or 1) unless 'models' is given (an ensemble's chunks "
            "are what runs in parallel)",
            executor if isinstance(executor, str) else type(executor).__name__,
        )
    return executor, workers


# One stacked pass of an ensemble holds at most about this many pair-weeks per arm
# (the same budget robustness analyses use for their points).
_MODEL_PAIR_WEEKS = 5_000_000


def _run_models(
    spec: ExperimentSpec,
    want: tuple[str, ...],
    progress: bool,
    roots: np.ndarray | None,
    behaviors: list[BehaviorModel],
    *,
    independent: bool = False,
    pool: tuple[Any, int | None] = ("serial", None),
    keep: tuple[str, ...] | None = None,
) -> ExperimentResult:
    """Every arm under every model, in chunks of models, the ``point`` column renamed
    ``model`` (numbered across chunks). ``independent``: model ``m``'s replicate ``r`` draws
    from its own root seed (derived from the replicate's stream and ``m``, so the numbers do
    not depend on the chunks). ``pool``: (executor, workers) running the chunks
    (``toolkit._pool.run_tasks``; results in chunk order). ``keep``: the outcomes columns
    each chunk keeps (None: all)."""
    from tqdm.auto import tqdm

    n_mentees = (
        spec.cohort.n_mentees
        if isinstance(spec.cohort, CohortSpec)
        else len(spec.cohort.mentees)
        if isinstance(spec.cohort, Cohort)
        else 1000
    )  # a roster file is read in the run: a generous guess
    weeks = max(a.design.duration_weeks for a in spec.arms.values())
    per_model = max(1, spec.replicates * n_mentees * weeks)
    chunk = _chunk_size(len(behaviors), max(1, _MODEL_PAIR_WEEKS // per_model), pool)
    starts = range(0, len(behaviors), chunk)
    # one chunk runs here: sending it to a pool would only add the copying
    executor, workers = pool if len(starts) > 1 else ("serial", None)
    tasks = [
        (
            spec,
            want if start == 0 else tuple(k for k in want if k != "pairs"),
            progress and len(starts) == 1,
            roots,
            behaviors[start : start + chunk],
            start,
            _model_roots(spec, roots, start, min(chunk, len(behaviors) - start))
            if independent
            else None,
            keep,
        )
        for start in starts
    ]
    bar = tqdm(
        total=len(tasks), desc="models", unit="chunk", disable=not progress or len(tasks) == 1
    )
    try:
        results = run_tasks(_run_chunk, tasks, executor, workers, done=lambda _: bar.update(1))
    finally:
        bar.close()
    first = results[0]
    parts: dict[str, list[pd.DataFrame]] = {
        k: [getattr(res, k) for res in results] for k in TABLES if k in want
    }
    out: dict[str, Any] = {k: _by_arm_and_model(parts[k]) if k in parts else None for k in TABLES}
    return ExperimentResult(
        design=None,
        behavior=spec.behavior_model,
        seed=first.seed,
        pairs=first.pairs,
        spec=first.spec,
        **out,
    )


def _chunk_size(models: int, most: int, pool: tuple[Any, int | None]) -> int:
    """Models per chunk: at most ``most`` (the memory budget), the chunks as equal as they
    can be, and on a pool of ``w`` workers the needed number of chunks rounded up to a
    multiple of ``w`` before sharing the models out, so that the workers end together
    instead of one running a last chunk alone (the numbers do not depend on the chunks)."""
    count = -(-models // most)
    executor, workers = pool
    if executor != "serial" and count > 1 and workers:
        count = -(-count // workers) * workers
    return max(1, -(-models // count))


def _run_chunk(
    spec: ExperimentSpec,
    want: tuple[str, ...],
    progress: bool,
    roots: np.ndarray | None,
    part: list[BehaviorModel],
    start: int,
    point_roots: np.ndarray | None,
    keep: tuple[str, ...] | None = None,
) -> ExperimentResult:
    """One chunk of models (the ones numbered from ``start``): :func:`_run` with the
    ``point`` column of its tables renamed ``model`` and numbered across chunks, and only
    the ``keep`` columns of the outcomes (None: all). A pure function of its arguments, so
    it runs in any process."""
    res = _run(spec, want, progress, roots, part, point_roots=point_roots)
    res = replace(res, outcomes=_kept(res.outcomes, keep))
    frames = {}
    for k in TABLES:
        frame = getattr(res, k)
        if frame is not None:
            frame = frame.rename(columns={"point": "model"})
            if start:
                frame["model"] += np.int32(start)
        frames[k] = frame
    return replace(res, **frames)


def _by_arm_and_model(chunks: list[pd.DataFrame]) -> pd.DataFrame:
    """The chunks' rows in one canonical order whatever the chunks: by arm, then model,
    then the engine's own order within them (what a stable sort of their concatenation by
    arm and model gives).

    Each chunk holds its arms one after the other and models of its own, above those of
    the chunks before it; so the rows of an arm are that arm's block of every chunk in
    turn, each block sorted by model (a stable sort of the block; the outcomes and weeks
    blocks already are). One concatenation of the blocks, not a sort and a reordering
    copy of the whole table.
    """
    codes = [c["arm"].cat.codes.to_numpy() for c in chunks]
    if any(np.any(np.diff(k) < 0) for k in codes):  # arms not in blocks: sort it all
        return pd.concat(chunks, ignore_index=True).sort_values(
            ["arm", "model"], kind="stable", ignore_index=True
        )
    blocks = []
    for arm in range(len(chunks[0]["arm"].cat.categories)):
        for chunk, k in zip(chunks, codes, strict=True):
            lo, hi = np.searchsorted(k, [arm, arm + 1])
            block = chunk.iloc[lo:hi]
            model = block["model"].to_numpy()
            if np.any(np.diff(model) < 0):
                block = block.take(np.argsort(model, kind="stable"))
            blocks.append(block)
    return pd.concat(blocks, ignore_index=True)


def _model_roots(spec: ExperimentSpec, roots: np.ndarray | None, start: int, n: int) -> np.ndarray:
    """Root seeds (models x replicates) of models ``start .. start + n - 1`` when every
    model has its own per-pair streams."""
    base = (
        [(spec.seed, r) for r in range(spec.replicates)]
        if roots is None
        else [(int(x), 0) for x in roots]
    )
    return np.array(
        [
            [_seeding.int_seed(root, "model", number, m) for root, number in base]
            for m in range(start, start + n)
        ],
        dtype=np.uint64,
    )


# The arms of one stacked pass replay the weekly draws the first arm made (instead of
# drawing them again) up to this many bytes of kept draws; past it they draw afresh. A
# chunk of an ensemble run keeps about 40 MB per purpose (5 million pair-weeks): the
# three purposes of a design without check-ins fit.
_KEEP_DRAW_BYTES = 160 * 2**20

# Replicate cohorts of a CohortSpec are generated this many participants at a time.
_COHORT_BATCH_PARTICIPANTS = 200_000


def _cohorts(
    spec: ExperimentSpec, n_reps: int, stream: Callable[[int], tuple[int, int]]
) -> list[Cohort]:
    """The cohort of each replicate: a fixed one (a Cohort or a roster), or one drawn per
    replicate from the CohortSpec, generated in batches (the same numbers as one by one)."""
    if isinstance(spec.cohort, Cohort):
        return [spec.cohort] * n_reps
    if isinstance(spec.cohort, RosterSource):
        return [spec.cohort.load()] * n_reps
    seeds = [
        _seeding.int_seed(root, "cohort", number) for root, number in map(stream, range(n_reps))
    ]
    per = max(1, _COHORT_BATCH_PARTICIPANTS // spec.cohort.n_participants)
    out: list[Cohort] = []
    for start in range(0, n_reps, per):
        out += generate_cohorts(spec.cohort, seeds[start : start + per])
    return out


def _run(
    spec: ExperimentSpec,
    want: tuple[str, ...],
    progress: bool,
    roots: np.ndarray | None,
    points: list[BehaviorModel] | None,
    point_roots: np.ndarray | None = None,
) -> ExperimentResult:
    from tqdm.auto import tqdm

    n_reps, seed = spec.replicates, spec.seed

    def stream(r: int) -> tuple[int, int]:  # (root seed, stream number) of replicate r
        return (seed, r) if roots is None else (int(roots[r]), 0)

    names = spec.arm_names
    match_specs, labels, group_of = _matching_groups(spec.arms)
    cohorts = _cohorts(spec, n_reps, stream)
    bar = tqdm(total=n_reps + len(names), desc="experiment", disable=not progress, unit="step")

    feats: list[Any] = []
    positions: list[list[Any]] = [[] for _ in match_specs]
    pair_frames: list[pd.DataFrame] = []
    for r in range(n_reps):
        root, number = stream(r)
        c = cohorts[r]
        feats.append(_engine.cohort_features(c))
        for k, m in enumerate(match_specs):
            matching = m.run(c, _seeding.int_seed(root, "matching", number, _seed_key(m)))
            positions[k].append(_engine.matching_positions(c, matching, _OWNER))
            if "pairs" in want:
                frame = matching.pairs if isinstance(matching, Matching) else matching
                pair_frames.append(
                    frame.assign(replicate=np.int32(r), policy=_seed_key(m), matching=labels[k])
                )
        bar.update(1)

    n_points = 1 if points is None else len(points)
    behavior: BehaviorModel | list[BehaviorModel] = (
        spec.behavior_model if points is None else [b for b in points for _ in range(n_reps)]
    )
    reps = np.tile(np.arange(n_reps), n_points)
    point = None if points is None else np.repeat(np.arange(n_points), n_reps)
    stack_feats = feats * n_points
    stack_roots = (
        point_roots.ravel()
        if point_roots is not None
        else None
        if roots is None
        else np.tile(roots, n_points)
    )
    # Every arm runs on the same replicates: what does not depend on the arm (static
    # draws, weekly draws, parameters, ids) is set up once, and the pair features once
    # per matching (arms with equal match specs run on the same stack).
    shared = _engine.Shared(keep_bytes=_KEEP_DRAW_BYTES if len(spec.arms) > 1 else 0)
    stacks: dict[int, _engine.Stack] = {}
    parts: dict[str, list[pd.DataFrame]] = {k: [] for k in TABLES if k in want}
    for code, (arm, group) in enumerate(zip(spec.arms.values(), group_of, strict=True)):
        if group not in stacks:
            pos = positions[group] * n_points
            stacks[group] = _engine.Stack(
                features=stack_feats,
                replicates=reps,
                roots=stack_roots,
                point=point,
                rep=np.concatenate([np.full(len(e), i) for i, (e, _) in enumerate(pos)]),
                mentee=np.concatenate([e for e, _ in pos]),
                mentor=np.concatenate([m for _, m in pos]),
                shared=shared,
            )
        stack = stacks[group]
        built = _engine.run(
            stack,
            arm.design,
            behavior,
            seed,
            (names, code),
            capacity=_match_spec(arm).capacity,
            want=want,
            rematch=_engine.rematch_weights(_match_spec(arm).policy, _match_spec(arm).weights),
        )
        for table, v in built.items():
            parts[table].append(v)
        bar.update(1)
    if spec.control:
        stack = _engine.Stack(
            features=stack_feats,
            replicates=reps,
            roots=stack_roots,
            point=point,
            rep=np.repeat(np.arange(len(stack_feats)), [f.n_mentees for f in stack_feats]),
            mentee=np.concatenate([np.arange(f.n_mentees) for f in stack_feats]),
            mentor=np.zeros(sum(f.n_mentees for f in stack_feats), np.int64),
            shared=shared,
        )
        built = _engine.control_tables(stack, behavior, seed, (names, len(names) - 1), want=want)
        for table, v in built.items():
            parts[table].append(v)
        bar.update(1)
    bar.close()

    out: dict[str, Any] = {
        k: (pd.concat(parts[k], ignore_index=True) if len(parts[k]) > 1 else parts[k][0])
        if k in parts
        else None
        for k in TABLES
    }
    pairs = pd.concat(pair_frames, ignore_index=True) if "pairs" in want else None
    return ExperimentResult(
        design=None, behavior=spec.behavior_model, seed=seed, pairs=pairs, spec=spec, **out
    )
