"""Calibration as inference: history matching of a stochastic simulator against targets.

The procedure is history matching (Craig, Goldstein, Seheult & Smith 1997; Vernon,
Goldstein & Bower 2010, Bayesian Analysis 5:619; for stochastic individual-based models
Andrianakis et al. 2015, PLoS Comput Biol 11:e1003968), run on the simulator itself (no
emulator). For target i with observed value z_i, a parameter point x simulated with R
replicates has implausibility

    I_i(x)^2 = (z_i - mean_i(x))^2 / (V_obs,i + V_mc,i(x) + V_md,i)

* ``V_obs``: the target's own uncertainty: a published 95% interval [lo, hi] gives
  z = (lo + hi) / 2 and V_obs = ((hi - lo) / 3.92)^2; a proportion p from n units gives
  p (1 - p) / n; a value with a stated standard deviation gives its square;
* ``V_mc``: the Monte Carlo variance of the simulated mean (s^2 / R), which the simulator
  reports per point and target;
* ``V_md``: the model discrepancy, stated per target with its reason; never zero.

A point is *not ruled out yet* when the ``rank``-th largest I_i(x) is at most ``cutoff``
(3 by Pukelsheim's three-sigma rule; use rank 2 or 3 with many targets). Waves refocus:
wave 1 samples the prior with a space-filling design (Latin hypercube or scrambled Sobol,
:mod:`scipy.stats.qmc`); each later wave samples the same design inside the bounding box
of the points not ruled out so far (widened by ``margin`` of the prior range per side,
kept inside the previous box). With uniform priors every point evaluated in any wave is
uniform over the final box, so the points of all waves that lie in it and are not ruled
out are a uniform sample of the not-ruled-out region (within that box): the ensemble.

The simulator is a callback ``simulate(points, seed) -> DataFrame(point, target_id, value,
mc_var)``; ``points`` holds a ``point`` id column and one column per parameter. Points are
evaluated in chunks of fixed size; chunk ``c`` of wave ``w`` gets the seed named
``("history_matching", w, c)`` under the root seed, and results are put back in chunk
order, so the ensemble is byte-identical under the built-in ``map``, a process pool or a
Dask client. What is written by hand here, and why: the implausibility, the refocusing
and the chunked driver are a few vectorised lines over frames with no maintained
library for a user-supplied stochastic simulator (emulator packages assume a Gaussian
process, which this procedure does not need); sampling uses scipy.

>>> import numpy as np, pandas as pd
>>> from toolkit.behavior import BehaviorModel
>>> prior = BehaviorModel.priors().query("parameter == 'quality_base'")
>>> targets = pd.DataFrame({"target_id": ["q"], "kind": ["value"], "observed": [0.5],
...                         "sd": [0.01], "discrepancy_sd": [0.01],
...                         "discrepancy_reason": ["a closed-form toy"]})
>>> def simulate(points, seed):
...     return pd.DataFrame({"point": points["point"], "target_id": "q",
...                          "value": points["quality_base"], "mc_var": 0.0})
>>> ens = history_match(prior, targets, simulate, points=64, waves=2, seed=1,
...                     progress=False)
>>> bool(ens.models["quality_base"].between(0.44, 0.56).all()), len(ens) > 20
(True, True)
"""

from __future__ import annotations

import builtins
import concurrent.futures
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit import _seeding
from toolkit._validation import check_int, check_option, check_real, fail, quote
from toolkit.ensemble import Ensemble, known_parameters
from toolkit.errors import InvalidParameterError

__all__ = [
    "PROCEDURE",
    "check_prior",
    "check_targets",
    "history_match",
    "implausibility",
    "observations",
    "prior_sample",
    "retained",
]

PROCEDURE = "history matching"
CITATION = (
    "Vernon, Goldstein & Bower 2010, Bayesian Analysis 5:619; Andrianakis et al. "
    "2015, PLoS Comput Biol 11:e1003968"
)
DISTRIBUTIONS = ("uniform",)
DESIGNS = ("lhs", "sobol")
TARGET_KINDS = ("interval", "proportion", "value")
_OWNER = "history_match"
_SIM_COLUMNS = ("point", "target_id", "value", "mc_var")

Simulator = Callable[[pd.DataFrame, int], pd.DataFrame]


# --------------------------------------------------------------------------- inputs


def check_prior(prior: pd.DataFrame, owner: str = _OWNER) -> pd.DataFrame:
    """Validate a prior table (parameter, distribution, low, high, ...), one sentence per
    mistake: an unknown parameter, an unknown distribution, low > high, a bound outside
    the parameter's allowed range.

    >>> from toolkit.behavior import BehaviorModel
    >>> p = BehaviorModel.priors().query("parameter == 'quality_base'").assign(low=0.9)
    >>> check_prior(p)
    Traceback (most recent call last):
    ...
    toolkit.errors.InvalidParameterError: The 'prior' parameter of history_match must have low <= high for every parameter; got low 0.9 > high 0.65 for 'quality_base'.
    """
    need = ("parameter", "distribution", "low", "high")
    if not isinstance(prior, pd.DataFrame) or not set(need) <= set(prior.columns):
        raise fail(
            "prior",
            owner,
            "a DataFrame with columns " + ", ".join(need),
            type(prior).__name__ if not isinstance(prior, pd.DataFrame) else list(prior.columns),
        )
    if prior.empty:
        raise fail("prior", owner, "a table with at least one parameter", "an empty table")
    if prior["parameter"].duplicated().any():
        raise fail(
            "prior",
            owner,
            "one row per parameter",
            prior.loc[prior["parameter"].duplicated(), "parameter"].iloc[0],
        )
    known = known_parameters()
    for r in prior.itertuples(index=False):  # one row per parameter: a handful of rows
        if r.parameter not in known:
            raise fail(
                "prior",
                owner,
                "rows for BehaviorModel parameters or declared cohort constants",
                r.parameter,
            )
        check_option(r.distribution, f"prior distribution of {r.parameter}", owner, DISTRIBUTIONS)
        lo = check_real(r.low, f"prior low of {r.parameter}", owner)
        hi = check_real(r.high, f"prior high of {r.parameter}", owner)
        if lo > hi:
            raise InvalidParameterError(
                f"The 'prior' parameter of {owner} must have low <= high for every "
                f"parameter; got low {lo:g} > high {hi:g} for {r.parameter!r}."
            )
        a_lo, a_hi = known[r.parameter]
        if (a_lo is not None and lo < a_lo) or (a_hi is not None and hi > a_hi):
            raise InvalidParameterError(
                f"The 'prior' parameter of {owner} must keep each parameter inside its "
                f"allowed range; got [{lo:g}, {hi:g}] for {r.parameter!r}, allowed "
                f"[{a_lo}, {a_hi}]."
            )
    return prior.reset_index(drop=True)


def check_targets(targets: pd.DataFrame, owner: str = _OWNER) -> pd.DataFrame:
    """Validate a target table, one sentence per mistake.

    Columns: ``target_id``, ``kind`` (interval: ``low``, ``high`` a published 95%
    interval; proportion: ``observed`` p and ``n`` units; value: ``observed`` and its
    ``sd``), ``discrepancy_sd`` (> 0: the model is not the world) and
    ``discrepancy_reason``.
    """
    need = ("target_id", "kind", "discrepancy_sd", "discrepancy_reason")
    if not isinstance(targets, pd.DataFrame) or not set(need) <= set(targets.columns):
        raise fail(
            "targets",
            owner,
            "a DataFrame with columns " + ", ".join(need),
            type(targets).__name__
            if not isinstance(targets, pd.DataFrame)
            else list(targets.columns),
        )
    if targets.empty or targets["target_id"].duplicated().any():
        raise fail(
            "targets",
            owner,
            "a non-empty table with one row per target_id",
            "an empty table"
            if targets.empty
            else targets.loc[targets["target_id"].duplicated(), "target_id"].iloc[0],
        )
    kinds = targets["kind"]
    bad = ~kinds.isin(TARGET_KINDS)
    if bad.any():
        raise fail(
            "kind", owner, "one of " + ", ".join(map(repr, TARGET_KINDS)), kinds[bad].iloc[0]
        )
    num = _numeric(targets)
    ids = targets["target_id"].to_numpy()
    needs = {
        "interval": ("low", "high"),
        "proportion": ("observed", "n"),
        "value": ("observed", "sd"),
    }
    for kind, cols in needs.items():
        rows = kinds.to_numpy() == kind
        for c in cols:
            bad = rows & ~np.isfinite(num[c])
            if bad.any():
                raise fail(
                    c, owner, f"a finite number for every {kind} target", f"none for {ids[bad][0]}"
                )
    checks = [
        (kinds.to_numpy() == "interval") & (num["high"] < num["low"]),
        (kinds.to_numpy() == "proportion")
        & ((num["observed"] < 0) | (num["observed"] > 1) | (num["n"] < 1)),
        (kinds.to_numpy() == "value") & (num["sd"] < 0),
    ]
    allowed = [
        "interval targets with low <= high",
        "proportion targets with observed in [0, 1] and n >= 1",
        "value targets with sd >= 0",
    ]
    for bad, text in zip(checks, allowed, strict=True):
        if bad.any():
            raise fail("targets", owner, text, ids[bad][0])
    md = pd.to_numeric(targets["discrepancy_sd"], errors="coerce").to_numpy(float)
    if not (np.isfinite(md) & (md > 0)).all():
        raise fail(
            "discrepancy_sd",
            owner,
            "a stated model discrepancy > 0 for every target (the model is not the world)",
            targets.loc[~(np.isfinite(md) & (md > 0)), "target_id"].iloc[0],
        )
    reasons = targets["discrepancy_reason"]
    empty = ~reasons.map(lambda s: isinstance(s, str) and bool(s.strip()))
    if empty.any():
        raise fail(
            "discrepancy_reason",
            owner,
            "a stated reason for every target's discrepancy",
            targets.loc[empty, "target_id"].iloc[0],
        )
    return targets.reset_index(drop=True)


def _numeric(t: pd.DataFrame) -> dict[str, np.ndarray]:
    return {
        c: pd.to_numeric(t[c], errors="coerce").to_numpy(float)
        if c in t
        else np.full(len(t), np.nan)
        for c in ("low", "high", "observed", "n", "sd")
    }


def observations(targets: pd.DataFrame) -> pd.DataFrame:
    """Per target: z (the observed value), v_obs and v_md, from a checked target table.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"target_id": ["a", "b"], "kind": ["interval", "proportion"],
    ...                   "low": [0.1, None], "high": [0.3, None],
    ...                   "observed": [None, 0.5], "n": [None, 100],
    ...                   "discrepancy_sd": [0.01, 0.01], "discrepancy_reason": ["x", "y"]})
    >>> observations(check_targets(t)).round(5).to_dict("list")
    {'target_id': ['a', 'b'], 'z': [0.2, 0.5], 'v_obs': [0.0026, 0.0025], 'v_md': [0.0001, 0.0001]}
    """
    t = targets
    kind = t["kind"].to_numpy()
    num = _numeric(t)
    z = np.where(kind == "interval", (num["low"] + num["high"]) / 2, num["observed"])
    v_obs = np.select(
        [kind == "interval", kind == "proportion"],
        [
            ((num["high"] - num["low"]) / 3.92) ** 2,
            num["observed"] * (1 - num["observed"]) / num["n"],
        ],
        num["sd"] ** 2,
    )
    v_md = pd.to_numeric(t["discrepancy_sd"]).to_numpy(float) ** 2
    return pd.DataFrame(
        {"target_id": t["target_id"].to_numpy(), "z": z, "v_obs": v_obs, "v_md": v_md}
    )


# --------------------------------------------------------------------------- sampling


def _box(prior: pd.DataFrame) -> np.ndarray:
    return prior[["low", "high"]].to_numpy(float)


def prior_sample(
    prior: pd.DataFrame,
    n: int,
    seed: int,
    *,
    design: str = "lhs",
    box: np.ndarray | None = None,
    stream: Sequence[str | int] = (),
) -> pd.DataFrame:
    """A space-filling sample of ``n`` points, uniform over the prior (or over ``box``,
    rows [low, high] per parameter): a Latin hypercube (McKay, Beckman & Conover 1979)
    or scrambled Sobol points (Owen 1998) from :mod:`scipy.stats.qmc`, deterministic for
    a seed. Columns: one per parameter, in the prior's order.

    >>> from toolkit.behavior import BehaviorModel
    >>> p = BehaviorModel.priors().head(3)
    >>> s = prior_sample(p, 8, seed=3)
    >>> s.shape, s.equals(prior_sample(p, 8, seed=3))
    ((8, 3), True)
    """
    from scipy.stats import qmc

    prior = check_prior(prior, "prior_sample")
    n = check_int(n, "n", "prior_sample", low=1, high=100_000_000)
    check_option(design, "design", "prior_sample", DESIGNS)
    bounds = _box(prior) if box is None else np.asarray(box, float)
    d = len(prior)
    gen = _seeding.rng(_seeding.check_seed(seed, "prior_sample"), "prior_sample", *stream)
    if design == "lhs":
        unit = qmc.LatinHypercube(d, rng=gen).random(n)
    else:
        sobol = qmc.Sobol(d, scramble=True, rng=gen)
        m = int(np.ceil(np.log2(n)))
        unit = sobol.random_base2(m)[:n]  # a balanced power-of-two block, cut to n
    values = bounds[:, 0] + unit * (bounds[:, 1] - bounds[:, 0])
    return pd.DataFrame(values, columns=prior["parameter"].tolist())


# --------------------------------------------------------------------------- implausibility


def implausibility(simulated: pd.DataFrame, obs: pd.DataFrame) -> pd.DataFrame:
    """I_i(x) per point (rows, sorted) and target (columns, in the targets' order).

    A target the simulator could not compute at a point (value NaN) counts as infinitely
    implausible there: a model that cannot produce the statistic is not consistent with
    its observation.
    """
    sim = simulated.merge(obs, on="target_id", how="inner", validate="many_to_one")
    i = np.abs(sim["z"] - sim["value"]) / np.sqrt(
        sim["v_obs"] + sim["mc_var"].clip(lower=0) + sim["v_md"]
    )
    i = i.fillna(np.inf)
    wide = pd.Series(
        i.to_numpy(),
        index=pd.MultiIndex.from_arrays([sim["point"].to_numpy(), sim["target_id"].to_numpy()]),
    ).unstack()
    return wide.reindex(columns=obs["target_id"].tolist()).fillna(np.inf).sort_index()


def _kth_largest(values: np.ndarray, rank: int) -> np.ndarray:
    rank = min(rank, values.shape[1])
    return -np.partition(-values, rank - 1, axis=1)[:, rank - 1]


# --------------------------------------------------------------------------- driver


@dataclass(frozen=True)
class _ChunkTask:
    """One chunk's simulation: picklable, so a process pool or Dask can run it."""

    simulate: Simulator

    def __call__(self, job: tuple[int, pd.DataFrame, int]) -> pd.DataFrame:
        _, frame, seed = job
        out = self.simulate(frame, seed)
        if not isinstance(out, pd.DataFrame) or not set(_SIM_COLUMNS) <= set(out.columns):
            raise InvalidParameterError(
                "The 'simulate' callback of history_match must return a DataFrame with "
                f"columns {', '.join(_SIM_COLUMNS)}; got "
                f"{quote(list(out.columns) if isinstance(out, pd.DataFrame) else type(out).__name__)}."
            )
        return out[list(_SIM_COLUMNS)]


def _chunk_seed(root: int, wave: int, chunk: int) -> int:
    a, b = _seeding.seed_sequence(root, "history_matching", wave, chunk).generate_state(
        2, dtype=np.uint32
    )
    return int((int(a) << 31) ^ int(b)) & _seeding.MAX_SEED


# glibc mallopt parameters and the values its dynamic thresholds would settle at.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_BYTES, _TRIM_BYTES = 32 * 1024 * 1024, 64 * 1024 * 1024


def _numpy_friendly_malloc() -> bool:
    """Undo what a Dask worker's default environment does to the engine's speed.

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``
    (``distributed.nanny.pre-spawn-environ``). Setting any glibc threshold turns off its
    dynamic mmap threshold, so every array above 128 KiB is a fresh mmap whose pages
    fault in again on each use: a calibration chunk then takes about twice the CPU time.
    This sets the thresholds glibc would otherwise have reached. Returns whether it could
    (glibc only; elsewhere nothing changes). Numbers are unaffected.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, _TRIM_BYTES)
    )


def _run_chunks(
    task: _ChunkTask, jobs: list[tuple[int, pd.DataFrame, int]], mapper: Any, bar: Any
) -> list[pd.DataFrame]:
    """Results in job order under any executor (the bar moves as chunks finish)."""
    if mapper is None or mapper is builtins.map:
        out = []
        for r in builtins.map(task, jobs):
            out.append(r)
            bar.update(1)
        return out
    if hasattr(mapper, "submit") and hasattr(mapper, "gather"):  # a dask.distributed Client
        from distributed import as_completed

        mapper.run(_numpy_friendly_malloc)  # on every worker the client has now
        futures = mapper.map(task, jobs, pure=False)
        for _ in as_completed(futures, loop=mapper.loop):  # this client, default or not
            bar.update(1)
        return mapper.gather(futures)
    if isinstance(mapper, concurrent.futures.Executor):
        futures = [mapper.submit(task, j) for j in jobs]
        for _ in concurrent.futures.as_completed(futures):
            bar.update(1)
        return [f.result() for f in futures]
    if callable(mapper):
        out = []
        for r in mapper(task, jobs):
            out.append(r)
            bar.update(1)
        return out
    raise fail(
        "map",
        _OWNER,
        "None, the built-in map, a concurrent.futures executor, a Dask "
        "client or a map-like callable",
        type(mapper).__name__,
    )


def _evaluate(
    points: pd.DataFrame,
    simulate: Simulator,
    obs: pd.DataFrame,
    seed: int,
    wave: int,
    chunk_size: int,
    mapper: Any,
    progress: bool,
) -> pd.DataFrame:
    from tqdm.auto import tqdm

    starts = range(0, len(points), chunk_size)
    jobs = [
        (c, points.iloc[s : s + chunk_size], _chunk_seed(seed, wave, c))
        for c, s in enumerate(starts)
    ]
    with tqdm(
        total=len(jobs),
        desc=f"history matching, wave {wave + 1}",
        unit="chunk",
        disable=not progress,
    ) as bar:
        parts = _run_chunks(_ChunkTask(simulate), jobs, mapper, bar)
    sim = pd.concat(parts, ignore_index=True)
    missing = [t for t in obs["target_id"] if t not in set(sim["target_id"])]
    if missing:
        raise InvalidParameterError(
            f"The target {quote(missing[0])} has no way to be simulated: the 'simulate' "
            "callback of history_match returned no value for it (it returned "
            f"{', '.join(map(quote, sorted(set(sim['target_id']))))})."
        )
    return implausibility(sim, obs).reindex(points["point"].to_numpy()).fillna(np.inf)


def history_match(
    prior: pd.DataFrame,
    targets: pd.DataFrame,
    simulate: Simulator,
    *,
    points: int = 20_000,
    waves: int = 2,
    cutoff: float = 3.0,
    rank: int = 1,
    design: str = "lhs",
    margin: float = 0.1,
    chunk_size: int = 250,
    seed: int = 0,
    map: Any = None,
    progress: bool = True,
    min_models: int = 1,
) -> Ensemble:
    """Keep the prior points the targets do not rule out; return them as an Ensemble.

    Parameters
    ----------
    prior : the prior table (see :meth:`BehaviorModel.priors`); uniform priors only.
    targets : the target table (see :func:`check_targets`).
    simulate : ``simulate(points, seed) -> DataFrame(point, target_id, value, mc_var)``,
        ``mc_var`` the Monte Carlo variance of the simulated mean. Must be picklable
        (a module-level function) to run in a process pool or on Dask.
    points : points evaluated per wave; waves : 1 (the prior only) or more (refocusing).
    cutoff, rank : a point is kept when its ``rank``-th largest implausibility is at most
        ``cutoff`` (rank 1: the maximum).
    design : ``"lhs"`` or ``"sobol"``; margin : share of the prior range each refocused
        box is widened by per side; chunk_size : points per simulator call (the unit of
        work and of seeding: the same chunk size gives the same bytes under any executor).
    map : None or the built-in ``map`` (in this process), a ``concurrent.futures``
        executor, a ``dask.distributed.Client`` or any ``map(func, jobs)`` callable.
    min_models : refuse (one sentence) an ensemble with fewer models (500 in real use).

    Raises :class:`~toolkit.errors.InvalidParameterError` when no point survives, naming
    the targets that ruled everything out.
    """
    prior = check_prior(prior)
    targets = check_targets(targets)
    if not callable(simulate):
        raise fail("simulate", _OWNER, "a callable simulate(points, seed)", type(simulate).__name__)
    points = check_int(points, "points", _OWNER, low=1, high=100_000_000)
    waves = check_int(waves, "waves", _OWNER, low=1, high=20)
    cutoff = check_real(cutoff, "cutoff", _OWNER, low=0.0, closed="neither")
    rank = check_int(rank, "rank", _OWNER, low=1, high=len(targets))
    check_option(design, "design", _OWNER, DESIGNS)
    margin = check_real(margin, "margin", _OWNER, low=0.0, high=1.0)
    chunk_size = check_int(chunk_size, "chunk_size", _OWNER, low=1, high=10_000_000)
    seed = _seeding.check_seed(seed, _OWNER)
    min_models = check_int(min_models, "min_models", _OWNER, low=1)
    obs = observations(targets)
    names = prior["parameter"].tolist()
    full = _box(prior)
    box = full.copy()
    frames, scores, reports = [], [], []
    for w in range(waves):
        sample = prior_sample(prior, points, seed, design=design, box=box, stream=("wave", w))
        sample.insert(0, "point", np.arange(w * points, (w + 1) * points, dtype=np.int64))
        wide = _evaluate(sample, simulate, obs, seed, w, chunk_size, map, progress)
        frames.append(sample)
        scores.append(wide.to_numpy(float))
        allx = pd.concat(frames, ignore_index=True)
        alli = np.concatenate(scores)
        inside = (
            (allx[names].to_numpy() >= box[:, 0]) & (allx[names].to_numpy() <= box[:, 1])
        ).all(axis=1)
        keep = inside & (_kth_largest(alli, rank) <= cutoff)
        reports.append(
            {
                "wave": w + 1,
                "points": points,
                "box": box.tolist(),
                "kept_in_wave": int((_kth_largest(scores[-1], rank) <= cutoff).sum()),
                "kept_so_far": int(keep.sum()),
                "ruled_out_by": dict(
                    zip(
                        obs["target_id"],
                        (scores[-1] > cutoff).mean(axis=0).round(6).tolist(),
                        strict=True,
                    )
                ),
            }
        )
        if not keep.any():
            _no_survivor(scores[-1], obs, cutoff, points, w)
        if w + 1 < waves:
            kept = allx.loc[keep, names].to_numpy()
            width = full[:, 1] - full[:, 0]
            new = np.column_stack(
                [kept.min(axis=0) - margin * width, kept.max(axis=0) + margin * width]
            )
            box = np.column_stack(
                [np.maximum(new[:, 0], box[:, 0]), np.minimum(new[:, 1], box[:, 1])]
            )
    models = allx.loc[keep, names].reset_index(drop=True)
    if len(models) < min_models:
        raise InvalidParameterError(
            f"History matching kept {len(models)} models, fewer than min_models = "
            f"{min_models}; evaluate more points per wave or more waves."
        )
    procedure = {
        "name": PROCEDURE,
        "citation": CITATION,
        "points_per_wave": points,
        "waves": waves,
        "cutoff": cutoff,
        "rank": rank,
        "design": design,
        "margin": margin,
        "chunk_size": chunk_size,
        "implausibility": "|z - mean| / sqrt(V_obs + V_mc + V_md)",
    }
    diagnostics = {
        "waves": reports,
        "final_box": box.tolist(),
        "implausibility_of_models": _kth_largest(alli[keep], rank).round(6).tolist(),
    }
    return Ensemble(models, prior, targets, procedure, seed, diagnostics)


def _no_survivor(wide: np.ndarray, obs: pd.DataFrame, cutoff: float, n: int, wave: int) -> None:
    share = (wide > cutoff).mean(axis=0)
    ids = obs["target_id"].to_numpy()
    culprits = ids[share >= 1.0]
    if len(culprits):
        why = (
            "ruled out by the target"
            + ("s " if len(culprits) > 1 else " ")
            + ", ".join(map(quote, culprits))
            + " on its own"
        )
    else:
        order = np.argsort(-share, kind="stable")[:2]
        why = (
            "ruled out by the targets together (most often by "
            + ", ".join(f"{quote(ids[k])} at {share[k]:.0%} of points" for k in order)
            + ")"
        )
    raise InvalidParameterError(
        f"No model survived history matching: all {n} points of wave {wave + 1} were {why} "
        f"at implausibility above {cutoff:g}; widen the prior, check the target or state "
        "a larger model discrepancy."
    )


def retained(
    ensemble: Ensemble, points: pd.DataFrame, simulate: Simulator, seed: int
) -> np.ndarray:
    """Whether each of ``points`` (parameter columns) would be kept by the procedure that
    built ``ensemble``: inside its final box and not ruled out by its targets. The check
    of the procedure's guarantee (a truth is retained about 95% of the time or more)."""
    proc = ensemble.procedure
    obs = observations(check_targets(ensemble.targets, "retained"))
    names = ensemble.parameters
    frame = points[names].reset_index(drop=True)
    frame.insert(0, "point", np.arange(len(frame), dtype=np.int64))
    wide = _evaluate(frame, simulate, obs, seed, 10_000, proc["chunk_size"], None, False)
    box = np.asarray(ensemble.diagnostics["final_box"], float)
    x = frame[names].to_numpy()
    inside = ((x >= box[:, 0]) & (x <= box[:, 1])).all(axis=1)
    return inside & (_kth_largest(wide.to_numpy(float), proc["rank"]) <= proc["cutoff"])
