"""Design diagnosis by simulation: power, bias, RMSE, coverage, each with its Monte Carlo error.

A **design** is any picklable callable ``design(seed, n) -> data`` that simulates one data
set from an integer seed (``n`` is the sample size, ``None`` for the design's default).
It may carry the true value it targets as ``design.estimand`` (a number, or a callable of
``n``). An **estimator** is any picklable callable ``estimator(data) -> row`` returning a
mapping (or one-row frame) with ``estimate`` and, where it has them, ``se``, ``ci_low``,
``ci_high`` and ``p_value``. A design may also offer ``design.batch(seeds, n)`` (the data
sets of several seeds at once) and an estimator ``estimator.batch(datasets)`` (their rows);
element ``i`` of each must equal the one-at-a-time call exactly, and chunks then use them.

:func:`diagnose` runs ``sims`` simulations, each from its own seed derived from the root
seed and the simulation's index (never from worker state), so the same seed gives the same
diagnosands serially, on a local process pool (the default) or on a Dask cluster (pass a
``dask.distributed.Client``). The diagnosands follow DeclareDesign; Monte Carlo standard
errors come from a bootstrap over simulations.

>>> from toolkit.diagnosis import TwoArmNormal, DifferenceInMeans, diagnose
>>> d = diagnose(TwoArmNormal(n=50, effect=0.5), DifferenceInMeans(), sims=200, seed=1,
...              executor="serial", progress=False)
>>> round(d.value("power"), 1)
0.7
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, cast

import numpy as np
import pandas as pd
from scipy import stats

from toolkit import _seeding
from toolkit._pool import check_executor, run_tasks
from toolkit._validation import check_bool, check_int, check_real, fail
from toolkit.behavior import BehaviorModel
from toolkit.cohort import CohortSpec
from toolkit.errors import InvalidParameterError, ToolkitError
from toolkit.experiment import ExperimentSpec, run_experiment

__all__ = [
    "DIAGNOSANDS",
    "ArmContrast",
    "DifferenceInMeans",
    "Diagnosis",
    "SimulatorDesign",
    "TwoArmNormal",
    "assurance",
    "diagnosand_table",
    "diagnose",
    "diagnosands",
    "mde_table",
    "power_curve",
    "power_table",
    "required_size",
    "simulation_seed",
    "t_test_power",
]

DIAGNOSANDS = (
    "power",
    "bias",
    "rmse",
    "coverage",
    "mean_estimate",
    "sd_estimate",
    "mean_se",
    "type_s_rate",
    "exaggeration_ratio",
)
ROW_FIELDS = ("estimate", "se", "ci_low", "ci_high", "p_value")


# --------------------------------------------------------------------------- seeds


def simulation_seed(root: int, index: int) -> int:
    """The seed of simulation ``index`` under ``root``: a pure function of both.

    The stream does not depend on the sample size, so a power curve reuses the same
    random numbers at every size (common random numbers make the curve smoother).
    """
    state = _seeding.seed_sequence(root, "diagnose", int(index)).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


# --------------------------------------------------------------------------- built-in designs


@dataclass(frozen=True)
class TwoArmNormal:
    """Two arms of ``n`` units each; outcome ~ Normal(effect * treated, sd).

    The estimand is ``effect`` (difference in means, treatment minus control). A design
    with a closed-form answer, for checking estimators and the machinery itself.
    """

    n: int = 100
    effect: float = 0.0
    sd: float = 1.0

    def __post_init__(self):
        check_int(self.n, "n", "TwoArmNormal", low=2)
        check_real(self.effect, "effect", "TwoArmNormal")
        check_real(self.sd, "sd", "TwoArmNormal", low=0, closed="right")

    @property
    def estimand(self) -> float:
        return self.effect

    def __call__(self, seed: int, n: int | None = None) -> pd.DataFrame:
        n = self.n if n is None else n
        g = np.random.default_rng(seed)
        y = g.normal(0.0, self.sd, 2 * n)
        y[n:] += self.effect
        return pd.DataFrame({"arm": np.repeat(["control", "treatment"], n), "outcome": y})


@dataclass(frozen=True)
class DifferenceInMeans:
    """Difference in means of ``outcome`` between ``treatment`` and ``control`` rows of ``by``.

    Student's pooled-variance t test by default (Welch with ``equal_var=False``); fast
    enough for thousands of simulations, and exact for normal data with equal variances.
    """

    outcome: str = "outcome"
    by: str = "arm"
    treatment: Any = "treatment"
    control: Any = "control"
    alpha: float = 0.05
    equal_var: bool = True

    def _arms(self, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        arm = data[self.by].to_numpy()
        y = data[self.outcome].to_numpy(dtype=float)
        return y[arm == self.treatment], y[arm == self.control]

    def __call__(self, data: pd.DataFrame) -> dict:
        return self._test(*self._arms(data))

    def batch(self, datasets: Sequence[pd.DataFrame]) -> list[dict]:
        """``[self(data) for data in datasets]``: the tests of data sets with the same arm
        sizes run as one call over rows (elementwise steps and per-row means, so the same
        numbers); a data set whose statistic is 0 or whose arm has fewer than two values
        runs on its own, and so does every Welch test (its p-values over an array of
        degrees of freedom can differ from one-at-a-time ones in the last bit)."""
        arms = [self._arms(data) for data in datasets]
        out: list[dict | None] = [None] * len(arms)
        shapes: dict[tuple[int, int], list[int]] = {}
        for k, (a, b) in enumerate(arms):
            if self.equal_var:
                shapes.setdefault((a.size, b.size), []).append(k)
        for (n_a, n_b), ks in shapes.items():
            if len(ks) < 2 or min(n_a, n_b) < 2:
                continue
            a, b = np.stack([arms[k][0] for k in ks]), np.stack([arms[k][1] for k in ks])
            res = stats.ttest_ind(a, b, axis=1, equal_var=self.equal_var)
            est = a.mean(axis=1) - b.mean(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                se = np.abs(est / res.statistic)
            crit = stats.t.ppf(1 - self.alpha / 2, res.df)
            low, high, p = est - crit * se, est + crit * se, np.asarray(res.pvalue)
            for j, k in enumerate(ks):
                if res.statistic[j] != 0:
                    out[k] = {
                        "estimate": est[j],
                        "se": se[j],
                        "ci_low": low[j],
                        "ci_high": high[j],
                        "p_value": float(p[j]),
                    }
        return [row if row is not None else self._test(*arms[k]) for k, row in enumerate(out)]

    def _test(self, a: np.ndarray, b: np.ndarray) -> dict:
        res = stats.ttest_ind(a, b, equal_var=self.equal_var)
        est = a.mean() - b.mean()
        se = (
            abs(est / res.statistic)
            if res.statistic != 0
            else math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        )
        crit = stats.t.ppf(1 - self.alpha / 2, res.df)
        return {
            "estimate": est,
            "se": se,
            "ci_low": est - crit * se,
            "ci_high": est + crit * se,
            "p_value": float(res.pvalue),
        }


@dataclass(frozen=True)
class ArmContrast:
    """Pick one contrast row from :func:`toolkit.analysis.compare_arms` (the public estimator).

    ``effect`` is ``"difference"``, ``"risk_difference"``, ``"odds_ratio"`` or ``"hedges_g"``;
    extra keyword arguments (``cluster``, ``adjust``...) go to ``compare_arms``.
    """

    outcome: str
    group: Any = "treatment"
    reference: Any = "control"
    effect: str = "difference"
    by: str = "arm"
    options: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self, data: pd.DataFrame) -> dict:
        from toolkit.analysis import compare_arms

        res = compare_arms(
            data, self.outcome, by=self.by, reference=self.reference, **dict(self.options)
        )
        # Plain arrays: selecting with pandas costs about a millisecond per simulation.
        hit = np.flatnonzero(
            (res["effect"].to_numpy(object) == self.effect)
            & (res["group"].to_numpy(object) == self.group)
            & (res["reference"].to_numpy(object) == self.reference)
        )
        if len(hit) != 1:
            raise InvalidParameterError(
                f"ArmContrast found {len(hit)} rows for effect {self.effect!r}, group {self.group!r} and "
                f"reference {self.reference!r}; the effects available are {sorted(res.effect.unique())}."
            )
        return {k: res[k].to_numpy()[hit[0]] for k in ROW_FIELDS}


@dataclass(frozen=True)
class SimulatorDesign:
    """A two-arm pilot on the real simulator: ``n`` pairs split at random between two arms.

    Each simulation draws a fresh cohort of ``n`` mentees (and mentors in the template's
    ratio), runs both arms with common random numbers, then assigns half the pairs
    (complete randomisation) to ``treatment`` and the rest to ``control`` and keeps only
    each pair's assigned outcome. This is what a real pilot observes: different pairs in
    different arms. The data are the simulator's ``outcomes`` rows with an ``arm`` column.

    The estimand, the population average effect of ``treatment`` over ``control`` on
    ``outcome``, is not known in closed form; :meth:`population_effect` estimates it from
    both potential outcomes of every pair in a large run, with its Monte Carlo error.

    >>> from toolkit import ProgramDesign
    >>> design = SimulatorDesign(treatment=ProgramDesign(cadence="weekly"),
    ...                          control=ProgramDesign(cadence="biweekly"), n=40)
    >>> data = design(seed=1)
    >>> sorted(data["arm"].value_counts().items())
    [('control', 20), ('treatment', 20)]
    """

    treatment: Any
    control: Any
    n: int = 100
    cohort: Any = None
    behavior: Any = None
    estimand: float | None = None
    # set per instance by __post_init__ (object.__setattr__); not a dataclass field
    _arms: ClassVar[dict[str, Any]]

    def __post_init__(self):
        check_int(self.n, "n", "SimulatorDesign", low=2)
        # Validates both arms (an Arm, a (match, design) pair or a ProgramDesign) now,
        # not at the first simulation.
        object.__setattr__(
            self,
            "_arms",
            ExperimentSpec(arms={"treatment": self.treatment, "comparison": self.control}).arms,
        )
        if self.cohort is not None and not isinstance(self.cohort, CohortSpec):
            raise fail(
                "cohort",
                "SimulatorDesign",
                "a CohortSpec template or None",
                type(self.cohort).__name__,
            )
        if self.behavior is not None and not isinstance(self.behavior, BehaviorModel):
            raise fail(
                "behavior",
                "SimulatorDesign",
                "a BehaviorModel or None",
                type(self.behavior).__name__,
            )
        if self.estimand is not None:
            check_real(self.estimand, "estimand", "SimulatorDesign")

    def _spec(self, n: int, seed: int) -> CohortSpec:
        template = self.cohort or CohortSpec()
        ratio = template.n_mentors / template.n_mentees
        return replace(template, n_mentees=n, n_mentors=max(n, round(n * ratio)), seed=seed)

    def _both_arms(
        self,
        seed: int,
        n: int,
        *,
        replicates: int | None = None,
        replicate_seeds: Sequence[int] | None = None,
    ) -> pd.DataFrame:
        # "control" names run_experiment's unpaired arm, so the comparison design runs
        # as "comparison" and is labelled "control" only in the data handed out.
        spec = ExperimentSpec(
            cohort=self._spec(n, seed),
            arms=self._arms,
            replicates=cast(int, len(replicate_seeds) if replicate_seeds else replicates),
            seed=seed,
            behavior=self.behavior or {},
        )
        return run_experiment(
            spec, progress=False, tables=("outcomes",), replicate_seeds=replicate_seeds
        ).outcomes

    def __call__(self, seed: int, n: int | None = None) -> pd.DataFrame:
        return self.batch([seed], n)[0]

    def batch(self, seeds: Sequence[int], n: int | None = None) -> list[pd.DataFrame]:
        """The data sets of several seeds at once: one vectorized run over replicates.

        Element ``i`` is exactly ``design(seeds[i], n)``; :func:`diagnose` uses this to run
        a chunk of simulations together.
        """
        n = self.n if n is None else check_int(n, "n", "SimulatorDesign", low=2)
        outcomes = self._both_arms(int(seeds[0]), n, replicate_seeds=list(seeds))
        # One pass over all data sets: keep each pair's assigned arm, then cut by replicate.
        rep = outcomes["replicate"].to_numpy()
        pair = outcomes["pair_id"].to_numpy(np.int64)
        in_treatment = outcomes["arm"].to_numpy(object) == "treatment"
        order = np.argsort(rep, kind="stable")
        bounds = np.searchsorted(rep[order], np.arange(len(seeds) + 1))
        treated = np.zeros((len(seeds), int(pair.max(initial=0)) + 1), bool)
        for i, seed in enumerate(seeds):
            pair_ids = np.unique(pair[order[bounds[i] : bounds[i + 1]]])
            treated[
                i, _seeding.rng(int(seed), "diagnose", "assignment").permutation(pair_ids)[: n // 2]
            ] = True
        rows = order[(treated[rep, pair] == in_treatment)[order]]
        kept = outcomes.iloc[rows]
        kept["arm"] = np.where(in_treatment[rows], "treatment", "control")
        kept["replicate"] = np.zeros(len(rows), np.int32)  # each its own one-replicate run
        cuts = np.searchsorted(rep[rows], np.arange(len(seeds) + 1))
        return [kept.iloc[cuts[i] : cuts[i + 1]].reset_index(drop=True) for i in range(len(seeds))]

    def population_effect(
        self, outcome: str, *, n: int = 500, replicates: int = 20, seed: int = 0
    ) -> tuple[float, float]:
        """(estimate, MCSE) of the mean treatment-minus-control difference in ``outcome``.

        Every pair contributes both potential outcomes (common random numbers), so the
        per-replicate mean differences are precise; the MCSE is their standard error.
        """
        outcomes = self._both_arms(seed, n, replicates=replicates)
        if outcome not in outcomes.columns:
            raise fail(
                "outcome",
                "SimulatorDesign.population_effect",
                "one of " + ", ".join(outcomes.columns),
                outcome,
            )
        wide = outcomes.pivot_table(
            index=["replicate", "pair_id"],
            columns="arm",
            values=outcome,
            observed=True,
            aggfunc="first",
        )
        per_rep = (
            (wide["treatment"].astype(float) - wide["comparison"].astype(float))
            .groupby(level="replicate")
            .mean()
        )
        return float(per_rep.mean()), float(per_rep.std(ddof=1) / np.sqrt(len(per_rep)))


# --------------------------------------------------------------------------- running


def _as_row(out: Any) -> dict:
    if isinstance(out, pd.DataFrame):
        if len(out) != 1:
            raise InvalidParameterError(
                f"An estimator must return one row (a mapping or a one-row frame); it returned {len(out)} rows."
            )
        out = out.iloc[0].to_dict()
    elif isinstance(out, pd.Series):
        out = out.to_dict()
    if not isinstance(out, Mapping) or "estimate" not in out:
        raise InvalidParameterError(
            "An estimator must return a mapping with at least an 'estimate' key (and se, ci_low, "
            f"ci_high, p_value where available); got {type(out).__name__}."
        )
    return {k: float(out[k]) if out.get(k) is not None else np.nan for k in ROW_FIELDS}


def _run_chunk(
    design: Callable, estimator: Callable, n: int | None, root: int, indices: Sequence[int]
) -> list[dict]:
    """Run simulations ``indices`` at size ``n``; module level so it pickles."""
    seeds = [simulation_seed(root, i) for i in indices]
    datasets: list[Any] | None = None
    batch = getattr(design, "batch", None)
    if callable(batch) and len(seeds) > 1:
        try:
            datasets = batch(seeds, n)
        except ToolkitError:  # let each simulation succeed or fail on its own below
            datasets = None
    outs: list[Any] | None = None
    estimate_all = getattr(estimator, "batch", None)
    if datasets is not None and callable(estimate_all):
        try:
            outs = estimate_all(datasets)
        except ToolkitError:  # let each estimate succeed or fail on its own below
            outs = None
    rows = []
    for k, i in enumerate(indices):
        row: dict[str, Any] = {"n": n, "sim": int(i), "error": None}
        try:
            data = datasets[k] if datasets is not None else design(seeds[k], n)
            out = outs[k] if outs is not None else estimator(data)
        except ToolkitError as exc:  # an estimator refusing a data set is a result, not a crash
            row.update(dict.fromkeys(ROW_FIELDS, np.nan), error=str(exc))
        else:
            row.update(_as_row(out))  # a broken estimator contract is a crash
        rows.append(row)
    return rows


def _simulate(
    design, estimator, sizes, sims, seed, executor, workers, chunk_size, progress, desc
) -> pd.DataFrame:
    from tqdm.auto import tqdm

    tasks = []
    for n in sizes:
        per = chunk_size or max(1, math.ceil(sims / (4 * (workers or os.cpu_count() or 1))))
        tasks += [(n, list(range(s, min(s + per, sims)))) for s in range(0, sims, per)]
    # Largest sizes first: a pool then ends on the cheap chunks, not with one worker busy on
    # a big one (the order of the results does not matter: the table is sorted below).
    tasks.sort(key=lambda task: -(task[0] or 0))
    bar = tqdm(total=sims * len(sizes), desc=desc, disable=not progress, unit="sim")
    results: list[dict] = []
    try:
        for rows in run_tasks(
            _run_chunk,
            [(design, estimator, n, seed, idx) for n, idx in tasks],
            executor,
            workers,
            done=lambda rows: bar.update(len(rows)),
        ):
            results += rows
    finally:
        bar.close()
    out = pd.DataFrame(results)
    # Completion order differs between executors; sorting makes the table (and so the
    # bootstrap) identical under any of them.
    return out.sort_values(["n", "sim"], na_position="first", kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- diagnosands


def _stats(est, se, lo, hi, p, theta, alpha) -> dict[str, np.ndarray]:
    """Diagnosands over the last axis (vectorized over bootstrap resamples)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        sig = p <= alpha
        out = {
            "power": sig.mean(-1),
            "bias": (est - theta).mean(-1),
            "rmse": np.sqrt(((est - theta) ** 2).mean(-1)),
            "coverage": ((lo <= theta) & (theta <= hi)).mean(-1),
            "mean_estimate": est.mean(-1),
            "sd_estimate": est.std(-1, ddof=1),
            "mean_se": se.mean(-1),
        }
        n_sig = sig.sum(-1)
        if theta == 0 or not np.isfinite(theta):
            nan = np.full(np.shape(n_sig), np.nan)
            out["type_s_rate"], out["exaggeration_ratio"] = nan, nan
        else:
            wrong = (np.sign(est) != np.sign(theta)) & sig
            out["type_s_rate"] = np.where(n_sig > 0, wrong.sum(-1) / np.maximum(n_sig, 1), np.nan)
            out["exaggeration_ratio"] = np.where(
                n_sig > 0, np.where(sig, est / theta, 0.0).sum(-1) / np.maximum(n_sig, 1), np.nan
            )
    return out


def diagnosands(
    simulations: pd.DataFrame,
    *,
    estimand: float,
    alpha: float = 0.05,
    bootstrap: int = 500,
    seed: int = 0,
) -> pd.DataFrame:
    """Diagnosands and bootstrap Monte Carlo standard errors from one table of simulations.

    ``simulations`` has ``estimate, se, ci_low, ci_high, p_value`` per simulation; rows
    where the estimator failed (NaN estimate) are left out and counted in ``n_failed``.
    """
    ok = simulations["estimate"].notna().to_numpy()
    sims = simulations.loc[ok]
    arrays = [sims[c].to_numpy(dtype=float) for c in ROW_FIELDS]
    s = len(sims)
    if s == 0:
        raise InvalidParameterError(
            "Every simulation failed, so there is nothing to diagnose; see the 'error' column."
        )
    theta = float(estimand) if estimand is not None else np.nan
    est, se, lo, hi, p = arrays  # in ROW_FIELDS order
    point = _stats(est, se, lo, hi, p, theta, alpha)
    idx = _seeding.rng(seed, "diagnose", "bootstrap").integers(0, s, size=(bootstrap, s))
    boot = _stats(est[idx], se[idx], lo[idx], hi[idx], p[idx], theta, alpha)
    rows = []
    for name in DIAGNOSANDS:
        b = boot[name]
        b = b[np.isfinite(b)]
        mcse = float(b.std(ddof=1)) if len(b) > 1 and np.isfinite(point[name]) else np.nan
        rows.append(
            {
                "diagnosand": name,
                "estimate": float(point[name]),
                "mcse": mcse,
                "n_sims": s,
                "n_failed": int((~ok).sum()),
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Diagnosis:
    """The result of :func:`diagnose`: the diagnosands and every simulation's estimate."""

    diagnosands: pd.DataFrame
    simulations: pd.DataFrame
    estimand: float | None
    alpha: float

    def value(self, name: str) -> float:
        """One diagnosand's estimate, e.g. ``d.value("power")``."""
        return float(self.diagnosands.set_index("diagnosand").loc[name, "estimate"])

    def mcse(self, name: str) -> float:
        """One diagnosand's Monte Carlo standard error."""
        return float(self.diagnosands.set_index("diagnosand").loc[name, "mcse"])


def _resolve_estimand(design, estimand, n):
    value = estimand if estimand is not None else getattr(design, "estimand", None)
    if callable(value):
        value = value(n)
    if value is None:
        return None
    return check_real(value, "estimand", "diagnose")


def _check_run(
    owner: str,
    *,
    design: Any,
    estimator: Any,
    sims: Any,
    seed: Any,
    alpha: Any,
    bootstrap: Any,
    executor: Any,
    workers: Any,
    chunk_size: Any,
    progress: Any,
) -> dict[str, Any]:
    """The arguments :func:`diagnose` and :func:`power_curve` share, validated once."""
    if not callable(design):
        raise fail("design", owner, "a callable design(seed, n) -> data", design)
    if not callable(estimator):
        raise fail("estimator", owner, "a callable estimator(data) -> row", estimator)
    return {
        "sims": check_int(sims, "sims", owner, low=2),
        "seed": _seeding.check_seed(seed, owner),
        "alpha": check_real(alpha, "alpha", owner, low=0, high=1, closed="neither"),
        "bootstrap": check_int(bootstrap, "bootstrap", owner, low=2),
        "executor": check_executor(executor, owner),
        "workers": None if workers is None else check_int(workers, "workers", owner, low=1),
        "chunk_size": (
            None if chunk_size is None else check_int(chunk_size, "chunk_size", owner, low=1)
        ),
        "progress": check_bool(progress, "progress", owner),
    }


def diagnose(
    design: Callable,
    estimator: Callable,
    *,
    sims: int = 500,
    n: int | None = None,
    estimand: float | Callable | None = None,
    seed: int = 0,
    alpha: float = 0.05,
    bootstrap: int = 500,
    executor: Any = "process",
    workers: int | None = None,
    chunk_size: int | None = None,
    progress: bool = True,
) -> Diagnosis:
    """Diagnose ``design`` analysed by ``estimator`` with ``sims`` simulations.

    ``executor``: ``"process"`` (a local process pool of ``workers``), ``"serial"``, any
    ``concurrent.futures.Executor``, or a ``dask.distributed.Client``. Each task runs a
    chunk of ``chunk_size`` simulations (default: about four chunks per worker). The
    estimand defaults to ``design.estimand``; without one, bias, RMSE, coverage, type-S
    and exaggeration are NaN. Returns a :class:`Diagnosis`.
    """
    owner = "diagnose"
    run = _check_run(
        owner,
        design=design,
        estimator=estimator,
        sims=sims,
        seed=seed,
        alpha=alpha,
        bootstrap=bootstrap,
        executor=executor,
        workers=workers,
        chunk_size=chunk_size,
        progress=progress,
    )
    sims, seed, alpha, bootstrap, executor, workers, chunk_size = (
        run["sims"],
        run["seed"],
        run["alpha"],
        run["bootstrap"],
        run["executor"],
        run["workers"],
        run["chunk_size"],
    )
    if n is not None:
        n = check_int(n, "n", owner, low=1)
    theta = _resolve_estimand(design, estimand, n)
    table = _simulate(
        design, estimator, [n], sims, seed, executor, workers, chunk_size, progress, "diagnose"
    )
    diag = diagnosands(table, estimand=theta, alpha=alpha, bootstrap=bootstrap, seed=seed)
    return Diagnosis(diagnosands=diag, simulations=table, estimand=theta, alpha=alpha)


def power_curve(
    design: Callable,
    estimator: Callable,
    *,
    sizes: Sequence[int],
    sims: int = 500,
    estimand: float | Callable | None = None,
    seed: int = 0,
    alpha: float = 0.05,
    bootstrap: int = 500,
    executor: Any = "process",
    workers: int | None = None,
    chunk_size: int | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Diagnosands over sample sizes: a tidy frame ``n, diagnosand, estimate, mcse, ...``.

    All sizes share one pool; simulation ``i`` uses the same seed at every size.
    ``curve[curve.diagnosand == "power"]`` is the power curve.
    """
    owner = "power_curve"
    if isinstance(sizes, int | str) or not len(sizes):
        raise fail("sizes", owner, "a non-empty list of sample sizes", sizes)
    sizes = [check_int(s, "sizes", owner, low=1) for s in sizes]
    run = _check_run(
        owner,
        design=design,
        estimator=estimator,
        sims=sims,
        seed=seed,
        alpha=alpha,
        bootstrap=bootstrap,
        executor=executor,
        workers=workers,
        chunk_size=chunk_size,
        progress=progress,
    )
    sims, seed, alpha, bootstrap, executor, workers, chunk_size = (
        run["sims"],
        run["seed"],
        run["alpha"],
        run["bootstrap"],
        run["executor"],
        run["workers"],
        run["chunk_size"],
    )
    table = _simulate(
        design, estimator, sizes, sims, seed, executor, workers, chunk_size, progress, "power curve"
    )
    parts = []
    for size in sizes:
        theta = _resolve_estimand(design, estimand, size)
        d = diagnosands(
            table[table.n == size], estimand=theta, alpha=alpha, bootstrap=bootstrap, seed=seed
        )
        parts.append(d.assign(n=size))
    out = pd.concat(parts, ignore_index=True)
    return out[["n", "diagnosand", "estimate", "mcse", "n_sims", "n_failed"]]


# --------------------------------------------------------------------------- assurance


def t_test_power(
    effect: Any, sd_treatment: Any, sd_control: Any, n: Any, *, alpha: float = 0.05
) -> np.ndarray:
    """Power of a two-sided pooled-variance t test of a pilot with ``n`` pairs in total,
    half in each arm, for a true difference ``effect`` and per-pair outcome standard
    deviations ``sd_treatment`` and ``sd_control`` (noncentral t, df = n - 2). Arrays
    broadcast. Counts rejections in either direction.

    >>> float(np.round(t_test_power(0.5, 1.0, 1.0, 128), 2))
    0.8
    """
    d = np.asarray(effect, float)
    n = np.asarray(n, float)
    se = np.sqrt(
        (np.asarray(sd_treatment, float) ** 2 + np.asarray(sd_control, float) ** 2) / (n / 2)
    )
    df = n - 2
    crit = stats.t.ppf(1 - alpha / 2, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        nc = np.where(se > 0, d / np.where(se > 0, se, 1.0), np.sign(d) * np.inf)
    finite = np.isfinite(nc)
    safe = np.where(finite, nc, 0.0)
    power = stats.nct.sf(crit, df, safe) + stats.nct.cdf(-crit, df, safe)
    return np.where(finite, power, np.where(d != 0, 1.0, alpha))


def assurance(
    per_model: pd.DataFrame, sizes: Sequence[int], *, alpha: float = 0.05, target_power: float = 0.8
) -> pd.DataFrame:
    """Assurance of a two-arm pilot at each size: its power averaged over plausible models.

    Assurance is the unconditional probability that the trial succeeds (here: its
    two-sided t test rejects at ``alpha``), power averaged over a distribution of the
    true effect rather than taken at one assumed effect (O'Hagan, Stevens & Campbell
    2005, Pharm Stat 4:187). The distribution here is an ensemble of plausible models,
    each weighted equally: ``per_model`` has one row per model with columns ``effect``
    (its treatment-minus-control difference) and ``sd_treatment``, ``sd_control`` (the
    per-pair outcome standard deviations in each arm); power in each model is
    :func:`t_test_power`.

    Returns per size: n, assurance, mc_error (the standard error of the mean over the
    models: Monte Carlo error of using this many models, not an interval about
    programs), models, share_reaching_target (share of models in which power reaches
    ``target_power``) and power_q05, power_q95 (the spread of power between models).

    Written by hand: it is a mean of closed-form powers over a table of models; no
    library computes assurance over an ensemble of simulation models.

    >>> pm = pd.DataFrame({"effect": [0.0, 0.5], "sd_treatment": 1.0, "sd_control": 1.0})
    >>> a = assurance(pm, [128])
    >>> round(float(a.assurance.iloc[0]), 2)
    0.43
    """
    owner = "assurance"
    need = {"effect", "sd_treatment", "sd_control"}
    if not isinstance(per_model, pd.DataFrame) or not need <= set(per_model.columns):
        raise fail(
            "per_model",
            owner,
            "a DataFrame with columns effect, sd_treatment, sd_control",
            type(per_model).__name__
            if not isinstance(per_model, pd.DataFrame)
            else sorted(per_model.columns),
        )
    if per_model.empty:
        raise fail("per_model", owner, "at least one model", "an empty table")
    if isinstance(sizes, int | str) or not len(sizes):
        raise fail("sizes", owner, "a non-empty list of pilot sizes", sizes)
    grid = np.array([check_int(s, "sizes", owner, low=4) for s in sizes], float)
    alpha = check_real(alpha, "alpha", owner, low=0, high=0.5)
    target_power = check_real(target_power, "target_power", owner, low=0, high=1)
    power = t_test_power(
        per_model["effect"].to_numpy(float)[:, None],
        per_model["sd_treatment"].to_numpy(float)[:, None],
        per_model["sd_control"].to_numpy(float)[:, None],
        grid[None, :],
        alpha=alpha,
    )  # models x sizes
    m = power.shape[0]
    sd = power.std(axis=0, ddof=1) if m > 1 else np.full(len(grid), np.nan)
    return pd.DataFrame(
        {
            "n": grid.astype(int),
            "assurance": power.mean(axis=0),
            "mc_error": sd / np.sqrt(m),
            "models": m,
            "share_reaching_target": (power >= target_power).mean(axis=0),
            "power_q05": np.quantile(power, 0.05, axis=0),
            "power_q95": np.quantile(power, 0.95, axis=0),
        }
    )


# --------------------------------------------------------------------------- power-curve tables


def power_table(curve: pd.DataFrame, *, size: str = "n") -> pd.DataFrame:
    """Power at each size of a :func:`power_curve` table, with its Monte Carlo SE and a 95%
    Monte Carlo interval (clipped to 0-1); ``size`` names the size column.

    >>> curve = pd.DataFrame({"n": [40, 80], "diagnosand": "power", "estimate": [0.5, 0.99],
    ...                       "mcse": [0.05, 0.01], "n_sims": 100, "n_failed": 0})
    >>> power_table(curve).mc_high.tolist()
    [0.598, 1.0]
    """
    p = curve[curve.diagnosand == "power"]
    return pd.DataFrame(
        {
            size: p.n.to_numpy(),
            "power": p.estimate.to_numpy(),
            "mcse": p.mcse.to_numpy(),
            "mc_low": np.clip(p.estimate - 1.96 * p.mcse, 0, 1).to_numpy(),
            "mc_high": np.clip(p.estimate + 1.96 * p.mcse, 0, 1).to_numpy(),
            "sims": p.n_sims.to_numpy(),
            "failed": p.n_failed.to_numpy(),
        }
    )


def diagnosand_table(curve: pd.DataFrame, *, size: str = "n") -> pd.DataFrame:
    """Every diagnosand of a :func:`power_curve` table but power, one row per size, one column
    per diagnosand (in the order of :data:`DIAGNOSANDS`)."""
    rest = curve[curve.diagnosand != "power"]
    wide = rest.pivot(index="n", columns="diagnosand", values="estimate")
    order = [d for d in DIAGNOSANDS if d in wide.columns]
    return wide[order].rename_axis(columns=None).reset_index().rename(columns={"n": size})


def mde_table(curve: pd.DataFrame, *, alpha: float, power: float, size: str = "n") -> pd.DataFrame:
    """Minimum detectable effect at each size of a :func:`power_curve` table: (z_{1-alpha/2} +
    z_{power}) times the mean simulated standard error (the normal approximation), in the
    outcome's units, with its Monte Carlo error."""
    se = curve[curve.diagnosand == "mean_se"]
    mult = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return pd.DataFrame(
        {
            size: se.n.to_numpy(),
            "mean_se": se.estimate.to_numpy(),
            "mde": mult * se.estimate.to_numpy(),
            "mde_mcse": mult * se.mcse.to_numpy(),
        }
    )


def required_size(
    power: pd.DataFrame,
    mde: pd.DataFrame,
    effect: float,
    *,
    alpha: float,
    target_power: float,
    size: str = "n",
) -> dict:
    """The size needed for ``target_power`` to detect ``effect``, from a :func:`power_table`
    and an :func:`mde_table`: read off the simulated curve (linear interpolation between the
    two sizes that bracket it; ``None`` when no size reaches it), and from the normal
    approximation n = n_k (mult * se_k / |effect|)^2 at the largest size simulated."""
    p = power.sort_values(size)
    curve_n = None
    above = np.flatnonzero(p.power.to_numpy() >= target_power)
    if len(above):
        k = int(above[0])
        if k == 0:
            curve_n = float(p[size].iloc[0])
        else:
            x0, x1 = p[size].iloc[k - 1], p[size].iloc[k]
            y0, y1 = p.power.iloc[k - 1], p.power.iloc[k]
            curve_n = (
                float(x0 + (target_power - y0) * (x1 - x0) / (y1 - y0)) if y1 > y0 else float(x1)
            )
    last = mde.iloc[-1]
    mult = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(target_power)
    approx = (
        float(last[size] * (mult * last.mean_se / abs(effect)) ** 2) if effect != 0 else math.inf
    )
    return {
        "target_power": target_power,
        "from_curve": curve_n,
        "reached": curve_n is not None,
        "normal_approximation": approx,
    }
