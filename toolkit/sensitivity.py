"""A contrast over the ensemble of plausible models: its answer per model, summarised.

Given an experiment (:class:`~toolkit.experiment.ExperimentSpec`), a :class:`Contrast` (arm A
minus arm B on an outcome) and an ensemble of plausible models (``toolkit.ensemble``),
:func:`ensemble_contrast` runs both arms under every model in one stacked pass with common
random numbers. :func:`model_contrasts` gives each model's answer (mean over its replicates,
with its Monte Carlo error); :func:`summarise_models` the median over models, the 90%
interval over models, the share of models above zero, each with its Monte Carlo error, and a
verdict on the share of models that agree on the sign; :func:`spread_drivers` what drives
the spread between models (SALib's PAWN or delta) and :func:`sign_boxes` where the sign flips
(PRIM, EMA Workbench); :func:`headline_sentence` says it in words.

(The Morris screening of a single parameter set's assumptions that this module used to hold
is gone: issue 18 replaced it with findings over the ensemble.)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from toolkit._validation import check_instance, check_int, check_option, check_real, fail
from toolkit.behavior import BehaviorModel
from toolkit.errors import InvalidParameterError
from toolkit.experiment import CONTROL_ARM, Arm, ExperimentSpec, run_experiment
from toolkit.program import ProgramDesign

__all__ = [
    "Contrast",
    "EnsembleFinding",
    "ensemble_contrast",
    "headline_sentence",
    "model_contrasts",
    "model_contrasts_many",
    "sign_boxes",
    "spread_drivers",
    "summarise_models",
]

STATISTICS = ("mean",)
_ID_COLUMNS = ("replicate", "pair_id", "point")

# --------------------------------------------------------------------------- contrast


@dataclass(frozen=True)
class Contrast:
    """Arm ``arm`` minus arm ``reference`` on an ``outcomes`` column.

    The statistic (the mean: a proportion for a bool column such as ``completed``) is
    taken per arm within each replicate and behaviour point; the difference is averaged
    over replicates, with its Monte Carlo standard error (SD over replicates / sqrt(R)).

    >>> Contrast("weekly", "biweekly", "completed").label
    'weekly minus biweekly completed'
    """

    arm: str
    reference: str
    outcome: str
    statistic: str = "mean"

    def __post_init__(self) -> None:
        for name in ("arm", "reference", "outcome"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise fail(name, "Contrast", "a non-empty string", value)
        if self.arm == self.reference:
            raise fail("reference", "Contrast", f"an arm other than {self.arm!r}", self.reference)
        check_option(self.statistic, "statistic", "Contrast", STATISTICS)

    @property
    def label(self) -> str:
        return f"{self.arm} minus {self.reference} {self.outcome}"

    def check(self, spec: ExperimentSpec, columns: Sequence[str] | None = None) -> None:
        """Refuse (one sentence) an arm the spec does not have or an unknown outcome.

        ``columns``: the outcomes table's numeric columns (found with a one-week,
        one-replicate probe run of the two arms when not given).
        """
        arms = spec.arm_names
        for name in ("arm", "reference"):
            if getattr(self, name) not in arms:
                raise fail(
                    name,
                    "Contrast",
                    "one of the experiment's arms (" + ", ".join(repr(a) for a in arms) + ")",
                    getattr(self, name),
                )
        if columns is None:
            columns = _outcome_columns(spec, (self.arm, self.reference))
        if self.outcome not in columns:
            raise fail(
                "outcome",
                "Contrast",
                "a numeric or bool column of the outcomes table (" + ", ".join(columns) + ")",
                self.outcome,
            )

    def per_replicate(self, outcomes: pd.DataFrame) -> pd.DataFrame:
        """The difference per (point, replicate): columns point, replicate, difference."""
        o = outcomes[outcomes["arm"].isin([self.arm, self.reference])]
        keys = [k for k in ("point", "replicate") if k in o.columns]
        values = o[self.outcome].astype("float64")
        stat = values.groupby([o[k] for k in keys] + [o["arm"].astype(str)]).mean()
        wide = stat.unstack("arm")
        diff = (wide[self.arm] - wide[self.reference]).rename("difference")
        out = diff.reset_index()
        if "point" not in out.columns:
            out.insert(0, "point", 0)
        return out

    def summarise(self, outcomes: pd.DataFrame) -> pd.DataFrame:
        """Per point: estimate (mean over replicates), mcse and the replicates used."""
        per = self.per_replicate(outcomes)
        g = per.groupby("point")["difference"]
        n = g.count()
        sd = g.std(ddof=1).fillna(0.0)
        return pd.DataFrame(
            {"estimate": g.mean(), "mcse": sd / np.sqrt(n), "replicates": n}
        ).reset_index()


def _short(design: ProgramDesign) -> ProgramDesign:
    """A one-week version of ``design`` (for a probe run), or the design itself when a
    field of it does not fit into one week."""
    try:
        return replace(
            design,
            duration_weeks=1,
            n_sessions=None,
            cadence="weekly",
            checkins="none",
            no_first_meeting_week=None,
            no_meeting_weeks=None,
        )
    except (InvalidParameterError, TypeError):
        return design


def _outcome_columns(spec: ExperimentSpec, arms: Sequence[str]) -> list[str]:
    """Numeric and bool columns of the outcomes table (a one-week, one-replicate probe)."""
    named = [n for n in spec.arms if n in arms] or list(spec.arms)[:1]
    probe = spec.replace(
        arms={n: Arm(spec.arms[n].match, _short(spec.arms[n].design)) for n in named},
        replicates=1,
        control=CONTROL_ARM in arms,
    )
    o = run_experiment(probe, tables=("outcomes",), progress=False).outcomes
    assert o is not None  # asked for above
    return [
        c
        for c in o.columns
        if c not in _ID_COLUMNS
        and (pd.api.types.is_numeric_dtype(o[c]) or pd.api.types.is_bool_dtype(o[c]))
    ]


def _join(names: Sequence[str]) -> str:
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


# =========================================================================== across models
# Findings over an ensemble of plausible models (issue 18): per-model contrasts, their
# spread, a verdict on the share of models that agree, what drives the spread (SALib's
# delta, Borgonovo 2007) and where the sign flips (PRIM from EMA Workbench; Friedman &
# Fisher 1999; Bryant & Lempert 2010).

AGREEMENT = (("nearly all plausible models agree", 0.95), ("most plausible models agree", 0.75))
CANNOT_TELL = "the evidence cannot tell"
ENSEMBLE_VERDICTS = (*(name for name, _ in AGREEMENT), CANNOT_TELL)
#: Monte Carlo variance of a model's contrast should stay under this share of the
#: variance between models (METHODS: "say under a tenth").
MC_SHARE_LIMIT = 0.1
DRIVER_METHODS = ("delta", "pawn")
_CITATIONS = {
    "delta": "delta: Borgonovo 2007, Reliab Eng Syst Saf 92:771 (SALib, given data)",
    "pawn": "PAWN: Pianosi & Wagener 2015, Environ Model Softw 67:1 (SALib, given data)",
    "S1": "share of spread S1: Plischke, Borgonovo & Smith 2013, Eur J Oper Res "
    "226:536 (SALib, given data)",
}
_PRIM_CITATION = (
    "PRIM: Friedman & Fisher 1999, Stat Comput 9:123; scenario discovery: "
    "Bryant & Lempert 2010, Technol Forecast Soc Change 77:34 (EMA Workbench)"
)


def model_contrasts(outcomes: pd.DataFrame, contrast: Contrast) -> pd.DataFrame:
    """The contrast per model and replicate: columns model, replicate, difference.

    ``outcomes`` is an ensemble run's outcomes table (a ``model`` column); the statistic
    (the mean) is taken per arm within each model and replicate, so with common random
    numbers the difference is the design's effect in that replicate.
    """
    return model_contrasts_many(outcomes, [contrast])[0]


def model_contrasts_many(
    outcomes: pd.DataFrame, contrasts: Sequence[Contrast]
) -> list[pd.DataFrame]:
    """:func:`model_contrasts` of several contrasts of one table, the same numbers as one
    by one: the rows are numbered by (model, replicate, arm) once, and the means per group
    are taken once per outcome column (pandas' grouped mean, in row order), instead of a
    grouping by three columns, one of them turned into strings, per contrast."""
    if "model" not in outcomes.columns:
        raise fail(
            "outcomes",
            "model_contrasts",
            "an outcomes table with a 'model' column (run_experiment(..., models=ensemble))",
            list(outcomes.columns),
        )
    groups = _Groups(outcomes[["model", "replicate", "arm"]])
    means = {
        name: groups.means(outcomes[name]) for name in dict.fromkeys(c.outcome for c in contrasts)
    }
    out = []
    for c in contrasts:
        arm, ref = groups.arm_position(c.arm), groups.arm_position(c.reference)
        keep = (groups.counts[:, arm] > 0) | (groups.counts[:, ref] > 0)
        diff = means[c.outcome][:, arm] - means[c.outcome][:, ref]
        frame = groups.index[keep].to_frame(index=False)
        out.append(frame.assign(difference=diff[keep]))
    return out


def _level(column: pd.Series) -> tuple[Any, pd.Index]:
    """Codes of ``column`` in sorted order of its values (-1: missing) and the values. An
    integer column of a small range is its own code (minus its least value), with every
    value of the range in the index (counts then say which are present); anything else
    goes through ``pd.factorize``, sorted afterwards (sorting while factorizing millions
    of rows is slow)."""
    values = column.to_numpy()
    if values.dtype.kind in "iu" and len(values):
        low, high = int(values.min()), int(values.max())
        if high - low < 10_000_000:
            codes = values - values.dtype.type(low) if low else values
            return codes, pd.Index(np.arange(low, high + 1, dtype=values.dtype), name=column.name)
    k, uniques = pd.factorize(column)
    order = np.argsort(np.asarray(uniques), kind="stable")
    rank = np.empty(len(order) + 1, np.int64)
    rank[order], rank[-1] = np.arange(len(order)), -1  # -1: missing stays -1
    return rank[k], pd.Index(uniques, name=column.name).take(order)


class _Groups:
    """The rows of an outcomes table numbered by (model, replicate, arm): one int64 per
    row, ordered as a sort by model, replicate and arm (-1, in no group, for a row with a
    missing key, as a pandas grouping drops it); the (model, replicate) index of the
    numbers and the row count of every (model, replicate) and arm. Written by hand (a few
    lines over ``pd.factorize``): a pandas grouping by the three columns factorizes and
    sorts them again for every grouping, which took most of an across-model summary."""

    def __init__(self, keys: pd.DataFrame) -> None:
        arm = keys["arm"]
        if not isinstance(arm.dtype, pd.CategoricalDtype):
            arm = arm.astype(str).astype("category")
        self.arms = [str(a) for a in arm.cat.categories]
        (model, models), (rep, reps) = (_level(keys[n]) for n in ("model", "replicate"))
        arm_codes = arm.cat.codes.to_numpy()
        self.width = len(self.arms)
        size = len(models) * len(reps) * self.width
        # in place: every temporary of 13 million rows costs time on a busy machine
        key: Any = model.astype(np.int32 if size < 2**31 - 1 else np.int64)
        key *= len(reps)
        key += rep
        key *= self.width
        key += arm_codes
        missing = (model < 0) | (rep < 0) | (arm_codes < 0)
        if missing.any():
            key[missing] = -1
        self.key = key
        self.index = pd.MultiIndex.from_product([models, reps])
        self.counts = np.bincount(key[key >= 0] if missing.any() else key, minlength=size)
        self.counts = self.counts.reshape(-1, self.width)
        # the group numbers as categories: pandas then groups by them as they are
        self._groups = pd.Categorical.from_codes(self.key, categories=pd.RangeIndex(size))

    def arm_position(self, name: str) -> int:
        """The column of arm ``name``; a one-sentence error when it has no rows."""
        if name not in self.arms or not self.counts[:, self.arms.index(name)].any():
            raise fail("outcomes", "model_contrasts", f"rows of arm {name!r}", "none")
        return self.arms.index(name)

    def means(self, values: pd.Series) -> np.ndarray:
        """(model and replicate) x arm means of ``values`` as float64 (pandas' grouped
        mean, in row order); NaN where a group has no row or only missing values."""
        x = values.astype("float64")
        stat = x.groupby(self._groups, observed=False).mean()
        return stat.to_numpy(np.float64).reshape(-1, self.width)


def _category(share_agree: float) -> str:
    for name, limit in AGREEMENT:
        if share_agree >= limit:
            return name
    return CANNOT_TELL


@dataclass(frozen=True)
class EnsembleFinding:
    """A contrast over an ensemble: per-model estimates, the summary across models with
    the Monte Carlo error of each number, the Monte Carlo check and the verdict.

    ``summary`` keys: models, replicates, median, q05, q95 (the 90% interval over
    models), share_positive, share_negative, share_agree (the larger of the two), and
    ``<key>_mc_error`` for each (the standard deviation over bootstrap resamples of the
    replicates within models; Monte Carlo error, never an interval about programs).
    ``mc_check``: mc_variance (mean over models of the variance of a model's contrast),
    between_variance, share (their ratio), small (share <= 0.1), replicates_needed and
    a sentence. ``verdict`` is one of :data:`ENSEMBLE_VERDICTS`; ``direction`` is
    "positive" or "negative" (the sign most models agree on); ``borderline`` is True
    when the share is within two Monte Carlo errors of a category boundary or the
    category changed under other seeds (:func:`combine_seeds`).
    """

    label: str
    per_model: pd.DataFrame
    summary: dict[str, float]
    mc_check: dict[str, Any]
    verdict: str
    direction: str
    borderline: bool
    borderline_reason: str = ""
    seed_verdicts: tuple[str, ...] = ()

    @property
    def verdict_text(self) -> str:
        """The verdict with its Monte Carlo error, in words."""
        s = self.summary
        side = "above" if self.direction == "positive" else "below"
        text = (
            f"{self.verdict}: {s['share_agree']:.0%} of {int(s['models'])} plausible models "
            f"put the contrast {side} zero (Monte Carlo error "
            f"{100 * s['share_agree_mc_error']:.1f} percentage points)"
        )
        if self.borderline:
            text += f"; borderline ({self.borderline_reason})"
        return text


def summarise_models(
    differences: pd.DataFrame, *, label: str = "", boot: int = 400, seed: int = 0
) -> EnsembleFinding:
    """Summarise a contrast over the models of an ensemble.

    ``differences``: columns model, replicate, difference (:func:`model_contrasts`).
    Per model, the contrast is the mean over replicates. Across models: the median,
    the 90% interval over models (5th and 95th percentiles) and the share of models
    with a positive (and negative) contrast. Monte Carlo error of each comes from
    ``boot`` bootstrap resamples of the replicates, the same resampled replicates in
    every model (common random numbers make a replicate's differences correlated
    across models). Written by hand because the bootstrap is one matrix product
    (models x replicates times replicates x resamples of multinomial counts).

    The verdict is defined on the share of models agreeing on the sign: at least 95%
    "nearly all plausible models agree", at least 75% "most plausible models agree",
    otherwise "the evidence cannot tell"; borderline when within two Monte Carlo
    errors of 75% or 95%.
    """
    owner = "summarise_models"
    need = {"model", "replicate", "difference"}
    if not isinstance(differences, pd.DataFrame) or not need <= set(differences.columns):
        raise fail(
            "differences",
            owner,
            "a DataFrame with columns model, replicate, difference",
            type(differences).__name__,
        )
    if differences.empty:
        raise fail("differences", owner, "at least one model", "an empty table")
    boot = check_int(boot, "boot", owner, low=10, high=100_000)
    twice = differences.duplicated(["model", "replicate"])
    if twice.any():
        raise fail(
            "differences",
            owner,
            "one row per model and replicate",
            differences.loc[twice, ["model", "replicate"]].iloc[0].tolist(),
        )
    wide = differences.pivot(index="model", columns="replicate", values="difference")
    d = wide.to_numpy(float)
    valid = np.isfinite(d)
    if not valid.any(axis=1).all():
        raise fail(
            "differences",
            owner,
            "a finite difference in at least one replicate of every model",
            int(wide.index[~valid.any(axis=1)][0]),
        )
    filled = np.where(valid, d, 0.0)
    n = valid.sum(axis=1)
    est = filled.sum(axis=1) / n
    dev = np.where(valid, d - est[:, None], 0.0)
    var_model = (dev**2).sum(axis=1) / np.maximum(n - 1, 1) / n
    n_models, n_reps = d.shape

    from toolkit import _seeding

    counts = (
        _seeding.rng(seed, "ensemble_bootstrap")
        .multinomial(n_reps, np.full(n_reps, 1 / n_reps), size=boot)
        .T
    )  # replicates x resamples
    with np.errstate(invalid="ignore", divide="ignore"):
        bmeans = (filled @ counts) / (valid.astype(float) @ counts)  # models x resamples
    bmeans = np.where(np.isfinite(bmeans), bmeans, est[:, None])

    def stats(x: np.ndarray) -> dict[str, np.ndarray]:
        pos, neg = (x > 0).mean(axis=0), (x < 0).mean(axis=0)
        q = np.quantile(x, [0.5, 0.05, 0.95], axis=0)
        return {
            "median": q[0],
            "q05": q[1],
            "q95": q[2],
            "share_positive": pos,
            "share_negative": neg,
            "share_agree": np.maximum(pos, neg),
        }

    point = {k: float(v[0]) for k, v in stats(est[:, None]).items()}
    errors = {f"{k}_mc_error": float(np.std(v, ddof=1)) for k, v in stats(bmeans).items()}
    summary = {"models": n_models, "replicates": n_reps, **point, **errors}

    between = float(np.var(est, ddof=1)) if n_models > 1 else 0.0
    mc_var = float(var_model.mean())
    share = mc_var / between if between > 0 else (0.0 if mc_var == 0 else np.inf)
    small = bool(share <= MC_SHARE_LIMIT)
    needed = int(np.ceil(n_reps * share / MC_SHARE_LIMIT)) if np.isfinite(share) else None
    text = (
        f"Monte Carlo variance of a model's contrast is {share:.0%} of the variance "
        "between models: small beside the spread"
        if small
        else f"Monte Carlo variance of a model's contrast is {share:.0%} of the variance "
        "between models, not small: the spread and the share of models are inflated "
        "by simulation noise"
        + (f"; about {needed} replicates would bring it under 10%" if needed else "")
    )
    mc_check = {
        "mc_variance": mc_var,
        "between_variance": between,
        "share": share,
        "small": small,
        "replicates_needed": needed,
        "text": text,
    }

    direction = "positive" if point["share_positive"] >= point["share_negative"] else "negative"
    verdict = _category(point["share_agree"])
    err = errors["share_agree_mc_error"]
    near = [limit for _, limit in AGREEMENT if abs(point["share_agree"] - limit) < 2 * err]
    reason = (
        f"the share {point['share_agree']:.1%} is within two Monte Carlo errors of {near[0]:.0%}"
        if near
        else ""
    )
    per_model = pd.DataFrame(
        {
            "model": wide.index.to_numpy(),
            "estimate": est,
            "mc_se": np.sqrt(var_model),
            "replicates": n,
        }
    )
    return EnsembleFinding(
        label=label,
        per_model=per_model,
        summary=summary,
        mc_check=mc_check,
        verdict=verdict,
        direction=direction,
        borderline=bool(near),
        borderline_reason=reason,
    )


def combine_seeds(findings: Sequence[EnsembleFinding]) -> EnsembleFinding:
    """The first finding, flagged borderline unless every finding (the same contrast run
    under other sampling seeds, five by the standard) has its verdict and direction."""
    findings = list(findings)
    if not findings or not all(isinstance(f, EnsembleFinding) for f in findings):
        raise fail("findings", "combine_seeds", "a non-empty list of EnsembleFinding", findings)
    first = findings[0]
    verdicts = tuple(f"{f.verdict} ({f.direction})" for f in findings)
    same = len(set(verdicts)) == 1
    reasons = [first.borderline_reason] if first.borderline else []
    if not same:
        reasons.append(f"the verdict differs across {len(findings)} seeds: " + "; ".join(verdicts))
    return replace(
        first,
        borderline=bool(reasons),
        borderline_reason="; ".join(reasons),
        seed_verdicts=verdicts,
    )


# --------------------------------------------------------------------------- drivers


def _inputs(
    parameters: pd.DataFrame, estimates: Any, owner: str
) -> tuple[pd.DataFrame, np.ndarray]:
    if not isinstance(parameters, pd.DataFrame) or parameters.shape[1] == 0:
        raise fail(
            "parameters", owner, "a DataFrame with one column per input", type(parameters).__name__
        )
    y = np.asarray(estimates, dtype=float)
    if y.ndim != 1 or len(y) != len(parameters):
        raise fail(
            "estimates",
            owner,
            f"one number per row of parameters ({len(parameters)})",
            f"shape {y.shape}",
        )
    if len(y) < 20:
        raise fail("estimates", owner, "at least 20 models", len(y))
    x = parameters.reset_index(drop=True).astype(float)
    varied = x.columns[x.nunique() > 1]
    return x[varied], y


def _salib(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a SALib analyser without its side effects: it seeds numpy's global generator
    and resets the warning filters; both are put back afterwards, and the notices it
    prints are dropped."""
    import contextlib
    import io

    state = np.random.get_state()  # noqa: NPY002 - restoring what SALib changes
    try:
        # record=True keeps its notices out of sight even after it resets the filters
        with warnings.catch_warnings(record=True), contextlib.redirect_stdout(io.StringIO()):
            return func(*args, **kwargs)
    finally:
        np.random.set_state(state)  # noqa: NPY002


def spread_drivers(
    parameters: pd.DataFrame,
    estimates: Any,
    *,
    method: str = "pawn",
    seed: int = 0,
    resamples: int = 100,
) -> pd.DataFrame:
    """What drives the spread of a contrast between models, from the ensemble itself.

    ``parameters``: one row per model, one column per varied input; ``estimates``: the
    contrast per model. Every method is computed from the given data (the ensemble as
    sampled, not SALib's own design):

    * ``share_of_spread``: the first-order variance share S1 of each input (the share of
      the variance between models it explains on its own), SALib's given-data estimator
      in ``SALib.analyze.delta`` (Plischke, Borgonovo & Smith 2013, Eur J Oper Res
      226:536), with its bootstrap confidence half-width;
    * ``index``: a moment-independent importance, PAWN's median KS statistic
      (``method="pawn"``, Pianosi & Wagener 2015) or Borgonovo's delta
      (``method="delta"``, Borgonovo 2007, raw given-data variant). Delta is much slower
      (measured: about 20 s for 1,000 models and 8 inputs with only 10 resamples on
      this machine), so PAWN is the default.

    Returns one row per varied input, largest index first: parameter, index, index_conf
    (delta only), share_of_spread, share_of_spread_conf, method, citation. An ensemble's
    inputs can be correlated (the evidence ties some together); the indices then
    describe the ensemble as it is, not a causal share.
    """
    owner = "spread_drivers"
    check_option(method, "method", owner, DRIVER_METHODS)
    resamples = check_int(resamples, "resamples", owner, low=2, high=10_000)
    x, y = _inputs(parameters, estimates, owner)
    names = list(x.columns)
    columns = [
        "parameter",
        "index",
        "index_conf",
        "share_of_spread",
        "share_of_spread_conf",
        "method",
        "citation",
    ]
    if not names:  # no input varies across the models: nothing can drive the spread
        return pd.DataFrame(columns=columns)
    problem = {
        "num_vars": len(names),
        "names": names,
        "bounds": np.column_stack([x.min().to_numpy(), x.max().to_numpy()]).tolist(),
    }
    from SALib.analyze import delta, pawn

    from toolkit import _seeding

    s = _seeding.int_seed(seed, "spread_drivers", method) % (2**31 - 1)
    arr = x.to_numpy()
    first = _salib(delta.analyze, problem, arr, y, num_resamples=resamples, seed=s, method="sobol")
    if method == "delta":
        res = _salib(
            delta.analyze, problem, arr, y, num_resamples=resamples, seed=s, method="delta"
        )
        index, conf = res["delta_raw"], res["delta_raw_conf"]
    else:
        res = _salib(pawn.analyze, problem, arr, y, seed=s)
        index, conf = res["median"], np.full(len(names), np.nan)
    out = pd.DataFrame(
        {
            "parameter": names,
            "index": index,
            "index_conf": conf,
            "share_of_spread": np.clip(first["S1"], 0.0, 1.0),
            "share_of_spread_conf": first["S1_conf"],
        }
    )
    out["method"] = method
    out["citation"] = _CITATIONS[method] + "; " + _CITATIONS["S1"]
    return out.sort_values("index", ascending=False, kind="stable", ignore_index=True)


# --------------------------------------------------------------------------- PRIM


def sign_boxes(
    parameters: pd.DataFrame,
    estimates: Any,
    *,
    sign: str | None = None,
    threshold: float = 0.8,
    max_dims: int = 3,
    mass_min: float = 0.05,
    peel_alpha: float = 0.05,
) -> pd.DataFrame:
    """Scenario discovery: a PRIM box over the inputs where the contrast has ``sign``.

    Runs EMA Workbench's PRIM (``ema_workbench.analysis.prim``; Friedman & Fisher 1999;
    Bryant & Lempert 2010) with the cases of interest the models whose contrast has
    ``sign`` ("positive" or "negative"; by default the minority sign: where the answer
    flips). On the peeling trajectory it picks the box of largest coverage among those
    with density >= ``threshold`` and at most ``max_dims`` restricted inputs (the
    densest such box when none reaches the threshold). Returns one row per restricted
    input: parameter, low, high, lower_restricted, upper_restricted, qp (the larger of
    PRIM's quasi-p-values for the two bounds), coverage, density, mass, sign, cases,
    text (the box in plain words). Empty when no model has ``sign``.
    """
    owner = "sign_boxes"
    x, y = _inputs(parameters, estimates, owner)
    if sign is None:
        sign = "positive" if (y > 0).mean() <= (y < 0).mean() else "negative"
    check_option(sign, "sign", owner, ("positive", "negative"))
    threshold = check_real(threshold, "threshold", owner, low=0.0, high=1.0)
    max_dims = check_int(max_dims, "max_dims", owner, low=1, high=max(1, x.shape[1]))
    interest = (y > 0) if sign == "positive" else (y < 0)
    columns = [
        "parameter",
        "low",
        "high",
        "lower_restricted",
        "upper_restricted",
        "qp",
        "coverage",
        "density",
        "mass",
        "sign",
        "cases",
        "text",
    ]
    if not interest.any() or interest.all() or x.shape[1] == 0:
        return pd.DataFrame(columns=columns)
    import logging

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("EMA").setLevel(logging.WARNING)
        from toolkit._imports import load_jsonschema

        load_jsonschema()  # PRIM's module imports Altair: 2 s less without the iri grammar
        from ema_workbench.analysis import prim

        p = prim.Prim(x, interest, threshold=threshold, mass_min=mass_min, peel_alpha=peel_alpha)
        box = p.find_box()
        traj = box.peeling_trajectory
        ok = (traj["res_dim"] <= max_dims) & (traj["res_dim"] >= 1)
        dense = ok & (traj["density"] >= threshold)
        pool = traj[dense] if dense.any() else traj[ok]
        if pool.empty:
            return pd.DataFrame(columns=columns)
        i = int(pool["coverage"].idxmax() if dense.any() else pool["density"].idxmax())
        stats, lims = box.inspect(i, style="data")[0]
    lims.columns = ["min", "max", "qp_low", "qp_high"]
    rows = []
    for name, r in lims.iterrows():
        lo_r, hi_r = r["min"] > x[name].min(), r["max"] < x[name].max()
        if not (lo_r or hi_r):
            continue
        qps = [q for q in (r["qp_low"], r["qp_high"]) if pd.notna(q)]
        rows.append(
            {
                "parameter": name,
                "low": float(r["min"]),
                "high": float(r["max"]),
                "lower_restricted": bool(lo_r),
                "upper_restricted": bool(hi_r),
                "qp": float(max(qps)) if qps else np.nan,
            }
        )
    out = pd.DataFrame(rows, columns=columns[:6])
    out["coverage"], out["density"] = float(stats["coverage"]), float(stats["density"])
    out["mass"], out["sign"], out["cases"] = float(stats["mass"]), sign, int(interest.sum())
    out["text"] = box_text(out)
    return out[columns]


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def box_text(box: pd.DataFrame) -> str:
    """A PRIM box in plain words, each parameter by its label (``BehaviorModel.label``):
    "how well a typical pair fits is above 0.61 and ..." (an input with no label by its
    name)."""
    if box.empty:
        return ""
    parts = []
    for r in box.itertuples(index=False):
        name = BehaviorModel.label(str(r.parameter))
        if r.lower_restricted and r.upper_restricted:
            parts.append(f"{name} is between {_fmt(r.low)} and {_fmt(r.high)}")
        elif r.lower_restricted:
            parts.append(f"{name} is above {_fmt(r.low)}")
        else:
            parts.append(f"{name} is below {_fmt(r.high)}")
    return _join(parts)


# --------------------------------------------------------------------------- sentences


def _pct(x: float) -> str:
    return "all" if x >= 1 else f"{x:.0%}"


def headline_sentence(
    finding: EnsembleFinding,
    *,
    arm: str,
    reference: str,
    more: str,
    less: str,
    unit: str = "points",
    scale: float = 100.0,
    drivers: pd.DataFrame | None = None,
    box: pd.DataFrame | None = None,
    higher_is_better: bool = True,
) -> str:
    """The headline of a contrast over plausible models, in plain words.

    ``more`` / ``less``: the verb phrase for a positive / negative contrast ("keeps more
    pairs", "keeps fewer pairs"); ``scale`` turns the outcome into ``unit`` (100 for a
    proportion in percentage points). ``drivers`` (:func:`spread_drivers`) names the two
    inputs that drive the spread most, in plain words (``BehaviorModel.label``); ``box`` (:func:`sign_boxes`) says where the sign
    flips. No confidence intervals and no p-values: the interval is the spread between
    plausible models.

    >>> import pandas as pd
    >>> f = summarise_models(pd.DataFrame({"model": [0, 0, 1, 1], "replicate": [0, 1] * 2,
    ...                                    "difference": [-0.1, -0.12, -0.05, -0.03]}))
    >>> print(headline_sentence(f, arm="Weekly", reference="biweekly",
    ...       more="keeps more pairs", less="keeps fewer pairs"))  # doctest: +NORMALIZE_WHITESPACE
    Across the 2 models consistent with the evidence, Weekly keeps fewer pairs than
    biweekly in all of them; the difference lies between -10.7 and -4.4 points in 90% of
    them.
    """
    s = finding.summary
    n = int(s["models"])
    positive = finding.direction == "positive"
    share = s["share_positive"] if positive else s["share_negative"]
    lo, hi = scale * s["q05"], scale * s["q95"]
    text = (
        f"Across the {n} models consistent with the evidence, {arm} "
        f"{more if positive else less} than {reference} in {_pct(share)} of them; the "
        f"difference lies between {lo:+.1f} and {hi:+.1f} {unit} in 90% of them."
    )
    names = (
        []
        if drivers is None or drivers.empty
        else [BehaviorModel.label(str(n)) for n in drivers["parameter"][:2]]
    )
    if names:
        what = "Which way it goes" if finding.verdict != AGREEMENT[0][0] else "Its size"
        text += f" {what} depends mostly on {_join(names)}"
        if box is not None and not box.empty:
            flip_positive = box["sign"].iloc[0] == "positive"
            winner = arm if flip_positive == higher_is_better else reference
            text += (
                f": if {box['text'].iloc[0]}, {winner} wins in "
                f"{box['density'].iloc[0]:.0%} of those models"
            )
        text += "."
    return text


def ensemble_contrast(
    spec: ExperimentSpec,
    contrast: Contrast,
    models: Any,
    *,
    seeds: int = 5,
    boot: int = 400,
    progress: bool = True,
) -> EnsembleFinding:
    """A contrast over every model of an ensemble, checked under ``seeds`` sampling seeds.

    Runs the contrast's two arms under every model of ``models`` (an
    :class:`~toolkit.ensemble.Ensemble`) with common random numbers
    (``run_experiment(..., models=...)``), once per seed ``spec.seed, spec.seed + 1,
    ...``, summarises each run with :func:`summarise_models` and combines them with
    :func:`combine_seeds`: the finding of the first seed, flagged borderline when the
    verdict is not the same under all of them.
    """
    owner = "ensemble_contrast"
    check_instance(spec, ExperimentSpec, "spec", owner)
    check_instance(contrast, Contrast, "contrast", owner)
    seeds = check_int(seeds, "seeds", owner, low=1, high=100)
    contrast.check(spec)
    arms = {n: a for n, a in spec.arms.items() if n in (contrast.arm, contrast.reference)}
    run_spec = spec.replace(arms=arms, control=CONTROL_ARM in (contrast.arm, contrast.reference))
    from tqdm.auto import tqdm

    findings = []
    for k in tqdm(range(seeds), desc="seeds", unit="seed", disable=not progress):
        res = run_experiment(
            run_spec.replace(seed=spec.seed + k),
            models=models,
            tables=("outcomes",),
            progress=False,
        )
        findings.append(
            summarise_models(
                model_contrasts(res.outcomes, contrast),
                label=contrast.label,
                boot=boot,
                seed=spec.seed + k,
            )
        )
    return combine_seeds(findings)
