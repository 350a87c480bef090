"""Estimators with honest uncertainty over the toolkit's tidy tables.

Every public function takes a tidy frame (``outcomes``, ``weeks`` or ``surveys``) and
returns a tidy frame with one row per estimate and the columns :data:`RESULT_COLUMNS`:
``analysis, outcome, effect, group, reference, estimate, se, ci_low, ci_high, p_value,
p_value_raw, n, method``. ``p_value`` is adjusted for multiple comparisons where a family
of contrasts is tested (Holm by default), ``p_value_raw`` is the unadjusted one.

Effects (the ``effect`` column) and their scale:

- ``mean`` / ``proportion``: an arm's mean (or share of 1s for a binary outcome);
- ``difference``: difference in means, ``group`` minus ``reference``, outcome units;
- ``hedges_g``: standardized difference (pooled SD, small-sample corrected);
- ``risk_difference``: difference in proportions (0.091 = 9.1 percentage points);
- ``odds_ratio`` / ``hazard_ratio``: ratios, 1 means no difference;
- ``survival``: Kaplan-Meier probability of still being active at the horizon;
- ``logrank``: the log-rank chi-square statistic across all arms;
- ``slope`` / ``slope_difference`` / ``difference_at_end``: trajectories per week;
- ``gain``: mean within-unit post minus pre change;
- ``interaction`` / ``interaction_contrast``: a joint test that one factor's effect depends
  on another, and each difference in differences.

Bad input raises :class:`~toolkit.errors.AnalysisInputError` with one sentence.

>>> import numpy as np, pandas as pd
>>> from toolkit.analysis import compare_arms
>>> g = np.random.default_rng(1)
>>> df = pd.DataFrame({"arm": np.repeat(["random", "optimal"], 100),
...                    "final_quality": np.r_[g.normal(0.5, 0.1, 100), g.normal(0.6, 0.1, 100)]})
>>> res = compare_arms(df, "final_quality", reference="random")
>>> res.loc[res.effect == "difference", ["group", "reference"]].values.tolist()
[['optimal', 'random']]
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from toolkit._validation import fail
from toolkit.errors import AnalysisInputError

__all__ = [
    "RESULT_COLUMNS",
    "AnalysisWarning",
    "EARLY_WARNING_KINDS",
    "compare_arms",
    "at_horizon",
    "cell_means",
    "checkin_warning",
    "closure_reasons",
    "early_warning",
    "interaction_test",
    "km_curves",
    "pre_post",
    "retention",
    "trajectories",
]

RESULT_COLUMNS = (
    "analysis",
    "outcome",
    "effect",
    "group",
    "reference",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "p_value_raw",
    "n",
    "method",
)
ADJUSTMENTS = ("holm", "tukey", "bonferroni", "none")
DEFAULT_MIN_CLUSTERS = 10


class AnalysisWarning(UserWarning):
    """A fit went through but something about it deserves a reader's attention."""


# --------------------------------------------------------------------------- validation


def _check_frame(frame: object, name: str, owner: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise AnalysisInputError(
            f"The {name!r} argument of {owner} must be a pandas DataFrame; got {type(frame).__name__}."
        )
    if frame.empty:
        raise AnalysisInputError(
            f"The {name!r} frame passed to {owner} is empty; it has no rows to estimate from."
        )
    return frame


def _check_column(frame: pd.DataFrame, column: object, param: str, owner: str) -> str:
    if not isinstance(column, str) or column not in frame.columns:
        available = ", ".join(repr(c) for c in frame.columns)
        raise AnalysisInputError(
            f"The {param!r} parameter of {owner} must name a column of the frame; got {column!r}; "
            f"available columns are {available}."
        )
    return column


def _check_adjust(adjust: object, owner: str) -> str:
    if adjust not in ADJUSTMENTS:
        raise AnalysisInputError(
            f"The 'adjust' parameter of {owner} must be one of {', '.join(map(repr, ADJUSTMENTS))}; got {adjust!r}."
        )
    return adjust


def _check_alpha(alpha: object, owner: str) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise AnalysisInputError(
            f"The 'alpha' parameter of {owner} must be a number in (0, 1); got {alpha!r}."
        )
    return float(alpha)


def _levels(frame: pd.DataFrame, by: str, reference: object, owner: str) -> list:
    """Arm levels in analysis order: the reference first, then categorical or sorted order."""
    col = frame[by]
    if isinstance(col.dtype, pd.CategoricalDtype):
        levels = [lv for lv in col.cat.categories if (col == lv).any()]
    else:
        levels = sorted(col.dropna().unique().tolist(), key=str)
    if len(levels) < 2:
        raise AnalysisInputError(
            f"{owner} needs at least two groups in column {by!r} to compare; found "
            f"{len(levels)} ({', '.join(map(repr, levels)) or 'none'})."
        )
    if reference is not None:
        if reference not in levels:
            raise AnalysisInputError(
                f"The 'reference' parameter of {owner} must be one of the groups in {by!r} "
                f"({', '.join(map(repr, levels))}); got {reference!r}."
            )
        levels.remove(reference)
        levels.insert(0, reference)
    return levels


def _is_binary(y: pd.Series) -> bool:
    if y.dtype == bool:
        return True
    vals = pd.unique(y.dropna())
    return len(vals) <= 2 and set(np.asarray(vals, dtype=float).tolist()) <= {0.0, 1.0}


def _numeric(frame: pd.DataFrame, column: str, owner: str) -> np.ndarray:
    try:
        return frame[column].to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        raise AnalysisInputError(
            f"The outcome column {column!r} passed to {owner} must be numeric or 0/1; got dtype "
            f"{frame[column].dtype}."
        ) from None


@contextmanager
def _quiet_statsmodels():
    """Silence warnings that are expected for these fits; anything else still surfaces.

    Cluster-robust covariances with many parameters relative to clusters are rank
    deficient by construction (the contrasts we test remain estimable), and the
    statsmodels formula machinery warns about pandas internals we do not control.
    """
    from statsmodels.tools.sm_exceptions import ValueWarning

    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="covariance of constraints does not have full rank"
        )
        warnings.filterwarnings("ignore", category=ValueWarning)
        warnings.filterwarnings("ignore", category=FutureWarning, module="statsmodels")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="statsmodels")
        yield


# --------------------------------------------------------------------------- clustering


def _cluster_plan(
    frame: pd.DataFrame, cluster: object, min_clusters: int, owner: str
) -> tuple[np.ndarray | None, str]:
    """Cluster codes (or None) and a note for the method column.

    ``"auto"`` clusters on ``replicate`` when it has at least ``min_clusters`` levels, and
    otherwise treats units as independent. With common random numbers the arms share each
    replicate's cohort, so ignoring a few replicates makes contrasts conservative, while
    a cluster-robust variance from a handful of clusters would be badly biased downward.
    """
    if cluster is None:
        return None, "independent units"
    if cluster == "auto":
        if "replicate" not in frame.columns:
            return None, "independent units"
        g = frame["replicate"].nunique()
        if g >= min_clusters:
            return pd.factorize(frame["replicate"])[
                0
            ], f"cluster-robust by replicate ({g} clusters)"
        return None, (
            "independent units"
            if g <= 1
            else f"independent units ({g} replicates < {min_clusters}, not clustered)"
        )
    cols = (
        [cluster]
        if isinstance(cluster, str)
        else list(cluster)
        if isinstance(cluster, Sequence)
        else None
    )
    if not cols:
        raise AnalysisInputError(
            f"The 'cluster' parameter of {owner} must be None, 'auto' or column name(s); got {cluster!r}."
        )
    for c in cols:
        _check_column(frame, c, "cluster", owner)
    codes = (
        pd.factorize(pd.MultiIndex.from_frame(frame[cols]))[0]
        if len(cols) > 1
        else pd.factorize(frame[cols[0]])[0]
    )
    g = int(codes.max()) + 1
    if g < min_clusters:
        raise AnalysisInputError(
            f"Cluster-robust errors by {', '.join(map(repr, cols))} need at least {min_clusters} clusters; "
            f"the data have {g}; pass cluster=None to treat units as independent, or add replicates."
        )
    return codes, f"cluster-robust by {'+'.join(cols)} ({g} clusters)"


# --------------------------------------------------------------------------- adjustment


def _adjust(
    t: np.ndarray,
    p_raw: np.ndarray,
    se: np.ndarray,
    df: float,
    k_groups: int,
    adjust: str,
    alpha: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Adjusted p-values and CI half-width multipliers for one family of contrasts.

    Holm p-values are paired with Bonferroni simultaneous intervals (the tightest simple
    intervals consistent with a Holm-controlled family); Tukey uses the studentized range
    on the model's own (possibly cluster-robust) standard errors.
    """
    from statsmodels.stats.multitest import multipletests

    m = len(t)
    dist = _dist(df)
    if m <= 1 or adjust == "none":
        return p_raw.copy(), np.full(m, dist.ppf(1 - alpha / 2))
    if adjust == "tukey":
        q = stats.studentized_range(k_groups, df if np.isfinite(df) else np.inf)
        p = np.minimum(1.0, q.sf(np.abs(t) * np.sqrt(2)))
        return p, np.full(m, q.ppf(1 - alpha) / np.sqrt(2))
    method = "holm" if adjust == "holm" else "bonferroni"
    p = multipletests(p_raw, alpha=alpha, method=method)[1]
    return p, np.full(m, dist.ppf(1 - alpha / (2 * m)))


class _dist:
    """t with ``df`` degrees of freedom (normal when ``df`` is infinite): the same numbers as
    a frozen ``stats.t(df)``, without the cost of freezing (a millisecond per call)."""

    def __init__(self, df: float):
        self.df = df

    def ppf(self, q):
        return stats.t.ppf(q, self.df) if np.isfinite(self.df) else stats.norm.ppf(q)

    def sf(self, x):
        return stats.t.sf(x, self.df) if np.isfinite(self.df) else stats.norm.sf(x)


def _ci_note(adjust: str, m: int) -> str:
    if m <= 1 or adjust == "none":
        return "" if adjust == "none" or m <= 1 else ""
    return {
        "holm": "Holm-adjusted p, Bonferroni simultaneous CI",
        "bonferroni": "Bonferroni-adjusted p and CI",
        "tukey": "Tukey-adjusted p and CI",
    }[adjust]


def _frame(rows: list[dict]) -> pd.DataFrame:
    # Column by column (a missing entry is NaN): the same frame as building it from the
    # row dicts and then selecting the columns, in a fraction of the time.
    out = pd.DataFrame({c: [r.get(c, np.nan) for r in rows] for c in RESULT_COLUMNS})
    out["n"] = out["n"].astype("Int64")
    return out


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


# --------------------------------------------------------------------------- compare_arms


def compare_arms(
    outcomes: pd.DataFrame,
    outcome: str,
    *,
    by: str = "arm",
    reference: object = None,
    adjust: str = "holm",
    alpha: float = 0.05,
    cluster: object = "auto",
    min_clusters: int = DEFAULT_MIN_CLUSTERS,
    kind: str = "auto",
) -> pd.DataFrame:
    """Means per arm and all pairwise contrasts of ``outcome``, with 95% CIs.

    Continuous outcomes: OLS on arm indicators (the coefficients are the arm means) with
    HC2 errors, or cluster-robust (CR1, t with G-1 df) errors when units cluster; pairwise
    differences and Hedges g. Binary outcomes (0/1 or bool): logistic regression on arm
    indicators, reported as proportions, risk differences (delta method) and odds ratios.

    Contrasts are ``group`` minus ``reference`` where ``reference`` comes earlier in the
    arm order (the ``reference`` argument first, then categorical or sorted order).
    ``cluster``: ``"auto"`` (by ``replicate`` when it has ``min_clusters`` or more levels),
    ``None``, or column name(s). ``adjust``: ``"holm"``, ``"tukey"``, ``"bonferroni"``, ``"none"``.
    """
    owner = "compare_arms"
    frame = _check_frame(outcomes, "outcomes", owner)
    _check_column(frame, outcome, "outcome", owner)
    _check_column(frame, by, "by", owner)
    adjust = _check_adjust(adjust, owner)
    alpha = _check_alpha(alpha, owner)
    if kind not in ("auto", "continuous", "binary"):
        raise AnalysisInputError(
            f"The 'kind' parameter of {owner} must be one of 'auto', 'continuous', 'binary'; got {kind!r}."
        )
    y_all = _numeric(frame, outcome, owner)
    keep = np.isfinite(y_all) & frame[by].notna().to_numpy()
    if not keep.any():
        raise AnalysisInputError(
            f"The outcome column {outcome!r} passed to {owner} has no non-missing values."
        )
    if not keep.all():  # (copying every column of a frame costs more than the fit)
        frame = frame.loc[keep]
    y = y_all[keep]
    levels = _levels(frame, by, reference, owner)
    if np.nanstd(y) == 0:
        raise AnalysisInputError(
            f"The outcome {outcome!r} passed to {owner} has no variance (every value is {y[0]:g}); "
            "there is nothing to compare."
        )
    binary = _is_binary(frame[outcome]) if kind == "auto" else kind == "binary"
    codes = pd.Categorical(frame[by], categories=levels).codes
    clusters, cluster_note = _cluster_plan(frame, cluster, min_clusters, owner)
    if binary:
        return _compare_binary(
            y, codes, levels, clusters, cluster_note, outcome, adjust, alpha, owner, by
        )
    return _compare_continuous(y, codes, levels, clusters, cluster_note, outcome, adjust, alpha)


def _fit_cells(y: np.ndarray, codes: np.ndarray, k: int, clusters: np.ndarray | None, family: str):
    """Fit y on k cell indicators; returns params, covariance and inference df."""
    closed = _closed_form_cells(y, codes, k, clusters, family)
    if closed is not None:
        return closed
    return _fit_cells_statsmodels(y, codes, k, clusters, family)


def _closed_form_cells(
    y: np.ndarray, codes: np.ndarray, k: int, clusters: np.ndarray | None, family: str
):
    """The statsmodels fit of two cells without clustering, in closed form (or None).

    With cell indicators as the only regressors every leverage is 1/n_g, so OLS gives the
    cell means and HC2 the variances ``sum of squared residuals / (n_g (n_g - 1))`` (no
    covariance between cells), with n - k residual df; the saturated logistic model gives
    ``logit(p_g)`` with variances ``1 / (n_g p_g (1 - p_g))``. The same numbers as the
    fits (to rounding) at a fraction of the cost, which matters in a power analysis
    running thousands of them. Applies to two arms, no clusters, two or more units per
    arm; everything else goes to statsmodels.
    """
    if clusters is not None or k != 2:
        return None
    n = np.bincount(codes, minlength=k)
    if (n < 2).any():
        return None
    sums = np.bincount(codes, weights=y, minlength=k)
    if family == "ols":
        mean = sums / n
        ss = np.bincount(codes, weights=(y - mean[codes]) ** 2, minlength=k)
        return mean, np.diag(ss / (n * (n - 1.0))), float(len(y) - k)
    p = sums / n  # compare_arms has refused arms whose outcome is all 0 or all 1
    return np.log(p / (1 - p)), np.diag(1.0 / (n * p * (1 - p))), np.inf


def _fit_cells_statsmodels(
    y: np.ndarray, codes: np.ndarray, k: int, clusters: np.ndarray | None, family: str
):
    """The general fit: OLS (HC2 or CR1) or logistic regression on k cell indicators."""
    import statsmodels.api as sm

    X = np.zeros((len(y), k))
    X[np.arange(len(y)), codes] = 1.0
    model = sm.OLS(y, X) if family == "ols" else sm.Logit(y, X)
    fit_kw = {} if family == "ols" else {"disp": 0, "method": "newton", "maxiter": 100}
    with _quiet_statsmodels():
        if clusters is not None:
            res = model.fit(cov_type="cluster", cov_kwds={"groups": clusters}, use_t=True, **fit_kw)
            df = float(len(np.unique(clusters)) - 1)
        elif family == "ols":
            res = model.fit(cov_type="HC2", use_t=True)
            df = float(res.df_resid)
        else:
            res = model.fit(**fit_kw)
            df = np.inf
    return np.asarray(res.params), np.asarray(res.cov_params()), df


def _pairs(k: int) -> list[tuple[int, int]]:
    # (reference index, group index): the earlier level is the reference.
    return list(itertools.combinations(range(k), 2))


def _contrast_rows(
    est: np.ndarray,
    se: np.ndarray,
    df: float,
    k: int,
    adjust: str,
    alpha: float,
    pairs,
    levels,
    base: dict,
    effect: str,
    n: np.ndarray,
    method: str,
    log_scale: bool = False,
) -> list[dict]:
    dist = _dist(df)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = est / se
    p_raw = 2 * dist.sf(np.abs(t))
    p_adj, mult = _adjust(t, p_raw, se, df, k, adjust, alpha)
    rows = []
    for c, (i, j) in enumerate(pairs):
        lo, hi = est[c] - mult[c] * se[c], est[c] + mult[c] * se[c]
        e = est[c]
        if log_scale:
            e, lo, hi = np.exp(e), np.exp(lo), np.exp(hi)
        rows.append(
            {
                **base,
                "effect": effect,
                "group": levels[j],
                "reference": levels[i],
                "estimate": e,
                "se": se[c],
                "ci_low": lo,
                "ci_high": hi,
                "p_value": p_adj[c],
                "p_value_raw": p_raw[c],
                "n": int(n[i] + n[j]),
                "method": _join(method, _ci_note(adjust, len(pairs))),
            }
        )
    return rows


def _compare_continuous(y, codes, levels, clusters, cluster_note, outcome, adjust, alpha):
    k = len(levels)
    params, cov, df = _fit_cells(y, codes, k, clusters, "ols")
    n = np.bincount(codes, minlength=k)
    base = {"analysis": "compare_arms", "outcome": outcome}
    crit = _dist(df).ppf(1 - alpha / 2)
    se_mean = np.sqrt(np.diag(cov))
    err = "HC2" if clusters is None else "CR1"
    rows = [
        {
            **base,
            "effect": "mean",
            "group": levels[a],
            "reference": None,
            "estimate": params[a],
            "se": se_mean[a],
            "ci_low": params[a] - crit * se_mean[a],
            "ci_high": params[a] + crit * se_mean[a],
            "n": int(n[a]),
            "method": f"OLS cell means, {err} errors, {cluster_note}",
        }
        for a in range(k)
    ]
    pairs = _pairs(k)
    est = np.array([params[j] - params[i] for i, j in pairs])
    se = np.array([np.sqrt(max(cov[i, i] + cov[j, j] - 2 * cov[i, j], 0.0)) for i, j in pairs])
    rows += _contrast_rows(
        est,
        se,
        df,
        k,
        adjust,
        alpha,
        pairs,
        levels,
        base,
        "difference",
        n,
        f"OLS difference in means, {err} errors, {cluster_note}",
    )
    rows += _hedges_rows(y, codes, n, pairs, levels, base, alpha, rows[k:])
    return _frame(rows)


def _hedges_rows(y, codes, n, pairs, levels, base, alpha, diff_rows) -> list[dict]:
    """Hedges g with the large-sample normal CI (Hedges & Olkin 1985)."""
    z = stats.norm.ppf(1 - alpha / 2)
    rows = []
    for (i, j), drow in zip(pairs, diff_rows, strict=True):
        yi, yj = y[codes == i], y[codes == j]
        ni, nj = len(yi), len(yj)
        if ni < 2 or nj < 2:
            continue
        sp = np.sqrt(((ni - 1) * yi.var(ddof=1) + (nj - 1) * yj.var(ddof=1)) / (ni + nj - 2))
        if sp == 0:
            continue
        corr = 1 - 3 / (4 * (ni + nj) - 9)
        g = corr * (yj.mean() - yi.mean()) / sp
        se = np.sqrt((ni + nj) / (ni * nj) + g**2 / (2 * (ni + nj)))
        rows.append(
            {
                **base,
                "effect": "hedges_g",
                "group": levels[j],
                "reference": levels[i],
                "estimate": g,
                "se": se,
                "ci_low": g - z * se,
                "ci_high": g + z * se,
                "p_value": drow["p_value"],
                "p_value_raw": drow["p_value_raw"],
                "n": ni + nj,
                "method": "Hedges g (pooled SD, small-sample corrected), normal CI; "
                "p-value of the difference in means",
            }
        )
    return rows


def _compare_binary(y, codes, levels, clusters, cluster_note, outcome, adjust, alpha, owner, by):
    k = len(levels)
    n = np.bincount(codes, minlength=k)
    ones = np.bincount(codes, weights=y, minlength=k)
    for a in range(k):
        if ones[a] in (0, n[a]):
            raise AnalysisInputError(
                f"The binary outcome {outcome!r} passed to {owner} is {int(ones[a] > 0)} for every unit in "
                f"{by} {levels[a]!r}, so logistic regression cannot estimate its odds; pool arms or add units."
            )
    beta, cov, df = _fit_cells(y, codes, k, clusters, "logit")
    p = 1 / (1 + np.exp(-beta))
    base = {"analysis": "compare_arms", "outcome": outcome}
    dist = _dist(df)
    crit = dist.ppf(1 - alpha / 2)
    se_b = np.sqrt(np.diag(cov))
    err = "ML" if clusters is None else "CR1"
    rows = []
    for a in range(k):
        lo, hi = beta[a] - crit * se_b[a], beta[a] + crit * se_b[a]
        rows.append(
            {
                **base,
                "effect": "proportion",
                "group": levels[a],
                "reference": None,
                "estimate": p[a],
                "se": p[a] * (1 - p[a]) * se_b[a],
                "ci_low": 1 / (1 + np.exp(-lo)),
                "ci_high": 1 / (1 + np.exp(-hi)),
                "n": int(n[a]),
                "method": f"logistic regression, logit-scale CI, {err} errors, {cluster_note}",
            }
        )
    pairs = _pairs(k)
    grad = p * (1 - p)
    rd = np.array([p[j] - p[i] for i, j in pairs])
    rd_se = np.array(
        [
            np.sqrt(
                max(
                    grad[i] ** 2 * cov[i, i]
                    + grad[j] ** 2 * cov[j, j]
                    - 2 * grad[i] * grad[j] * cov[i, j],
                    0.0,
                )
            )
            for i, j in pairs
        ]
    )
    rows += _contrast_rows(
        rd,
        rd_se,
        df,
        k,
        adjust,
        alpha,
        pairs,
        levels,
        base,
        "risk_difference",
        n,
        f"logistic regression, risk difference by delta method, {err} errors, {cluster_note}",
    )
    lor = np.array([beta[j] - beta[i] for i, j in pairs])
    lor_se = np.array([np.sqrt(max(cov[i, i] + cov[j, j] - 2 * cov[i, j], 0.0)) for i, j in pairs])
    rows += _contrast_rows(
        lor,
        lor_se,
        df,
        k,
        adjust,
        alpha,
        pairs,
        levels,
        base,
        "odds_ratio",
        n,
        f"logistic regression odds ratio (se on log scale), {err} errors, {cluster_note}",
        log_scale=True,
    )
    return _frame(rows)


# --------------------------------------------------------------------------- interaction


def interaction_test(
    outcomes: pd.DataFrame,
    outcome: str,
    *,
    factors: Sequence[str],
    references: Sequence[object] | None = None,
    scale: str = "additive",
    alpha: float = 0.05,
    cluster: object = "auto",
    min_clusters: int = DEFAULT_MIN_CLUSTERS,
) -> pd.DataFrame:
    """Does the effect of one factor depend on the other? A two-factor interaction test.

    Fits ``outcome ~ A + B + A:B`` with treatment coding (the first level of each factor,
    or ``references``, is the baseline) and tests all ``A:B`` terms jointly with a Wald
    test: an F test for the linear model (HC2 errors, or cluster-robust CR1 with G-1
    denominator df when units cluster, as in :func:`compare_arms`), a chi-square test for
    the logit. ``scale="additive"`` fits a linear model (for a binary outcome: the linear
    probability model, so the interaction is on the risk-difference scale, the one a
    program compares); ``scale="logit"`` fits a logistic model (log-odds scale; binary
    outcomes only).

    Returns one ``interaction`` row (``estimate`` is the F or chi-square statistic,
    ``se`` empty, ``p_value`` the joint test's, ``method`` gives the df) and one
    ``interaction_contrast`` row per ``A:B`` term: the difference-in-differences
    ``(a, b) - (a, b0) - (a0, b) + (a0, b0)`` with its 95% CI (unadjusted), where
    ``group`` is ``"a:b"`` and ``reference`` is ``"a0:b0"``.

    >>> import numpy as np, pandas as pd
    >>> g = np.random.default_rng(0)
    >>> df = pd.DataFrame({"policy": np.tile(["random", "optimal"], 200),
    ...                    "cadence": np.repeat(["weekly", "monthly"], 200)})
    >>> df["y"] = g.normal(0, 1, 400) + 2.0 * ((df.policy == "optimal") & (df.cadence == "monthly"))
    >>> res = interaction_test(df, "y", factors=["policy", "cadence"],
    ...                        references=["random", "weekly"])
    >>> res.loc[0, "effect"], bool(res.loc[0, "p_value"] < 0.001)
    ('interaction', True)
    >>> res.loc[1, ["group", "reference"]].tolist()
    ['optimal:monthly', 'random:weekly']
    """
    import statsmodels.api as sm

    owner = "interaction_test"
    frame = _check_frame(outcomes, "outcomes", owner)
    _check_column(frame, outcome, "outcome", owner)
    if isinstance(factors, str) or not isinstance(factors, Sequence) or len(factors) != 2:
        raise AnalysisInputError(
            f"The 'factors' parameter of {owner} must be a list of two column names; got {factors!r}."
        )
    for f in factors:
        _check_column(frame, f, "factors", owner)
    if factors[0] == factors[1]:
        raise AnalysisInputError(
            f"The 'factors' parameter of {owner} must name two different columns; got {list(factors)!r}."
        )
    refs = [None, None] if references is None else list(references)
    if len(refs) != 2:
        raise AnalysisInputError(
            f"The 'references' parameter of {owner} must be None or one level per factor; got {references!r}."
        )
    if scale not in ("additive", "logit"):
        raise AnalysisInputError(
            f"The 'scale' parameter of {owner} must be one of 'additive', 'logit'; got {scale!r}."
        )
    alpha = _check_alpha(alpha, owner)
    y_all = _numeric(frame, outcome, owner)
    keep = (
        np.isfinite(y_all)
        & frame[factors[0]].notna().to_numpy()
        & frame[factors[1]].notna().to_numpy()
    )
    frame, y = frame.loc[keep], y_all[keep]
    if scale == "logit" and not _is_binary(frame[outcome]):
        raise AnalysisInputError(
            f"The 'scale' parameter of {owner} can be 'logit' only for a 0/1 outcome; {outcome!r} is not binary."
        )
    if y.size == 0 or np.nanstd(y) == 0:
        raise AnalysisInputError(
            f"The outcome {outcome!r} passed to {owner} has no variance; there is nothing to test."
        )
    levels = [_levels(frame, f, r, owner) for f, r in zip(factors, refs, strict=True)]
    codes = [
        pd.Categorical(frame[f], categories=lv).codes for f, lv in zip(factors, levels, strict=True)
    ]
    ka, kb = len(levels[0]), len(levels[1])
    cells = pd.crosstab(codes[0], codes[1]).reindex(
        index=range(ka), columns=range(kb), fill_value=0
    )
    if (cells.to_numpy() == 0).any():
        raise AnalysisInputError(
            f"{owner} needs every combination of {factors[0]!r} and {factors[1]!r} in the data; "
            f"{int((cells.to_numpy() == 0).sum())} combination(s) have no rows."
        )
    n = len(y)
    da = np.zeros((n, ka - 1))
    da[codes[0] > 0, codes[0][codes[0] > 0] - 1] = 1.0
    db = np.zeros((n, kb - 1))
    db[codes[1] > 0, codes[1][codes[1] > 0] - 1] = 1.0
    inter = np.einsum("ni,nj->nij", da, db).reshape(n, -1)
    X = np.column_stack([np.ones(n), da, db, inter])
    q = inter.shape[1]
    first = 1 + (ka - 1) + (kb - 1)
    clusters, cluster_note = _cluster_plan(frame, cluster, min_clusters, owner)
    model = sm.OLS(y, X) if scale == "additive" else sm.Logit(y, X)
    fit_kw = {} if scale == "additive" else {"disp": 0, "method": "newton", "maxiter": 100}
    with _quiet_statsmodels():
        if clusters is not None:
            res = model.fit(cov_type="cluster", cov_kwds={"groups": clusters}, use_t=True, **fit_kw)
            df = float(len(np.unique(clusters)) - 1)
        elif scale == "additive":
            res = model.fit(cov_type="HC2", use_t=True)
            df = float(res.df_resid)
        else:
            res = model.fit(**fit_kw)
            df = np.inf
        R = np.zeros((q, X.shape[1]))
        R[np.arange(q), first + np.arange(q)] = 1.0
        wald = res.wald_test(R, use_f=scale == "additive", scalar=True)
    stat = float(np.squeeze(wald.statistic))
    p = float(np.squeeze(wald.pvalue))
    fit_name = (
        ("OLS (linear probability)" if _is_binary(frame[outcome]) else "OLS")
        if scale == "additive"
        else "logit"
    )
    errors = (
        cluster_note if clusters is not None else ("HC2" if scale == "additive" else "model-based")
    )
    test = f"joint Wald F({q}, {df:g})" if scale == "additive" else f"joint Wald chi-square({q})"
    note = (
        f"; {q} terms but only {int(df) + 1} clusters: the test is unreliable"
        if clusters is not None and q >= df + 1
        else ""
    )
    label = f"{factors[0]} x {factors[1]}"
    rows = [
        {
            "analysis": owner,
            "outcome": outcome,
            "effect": "interaction",
            "group": label,
            "reference": None,
            "estimate": stat,
            "se": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "p_value": p,
            "p_value_raw": p,
            "n": n,
            "method": f"{fit_name} {factors[0]}*{factors[1]}, {test}, {errors}{note}",
        }
    ]
    params, cov = np.asarray(res.params), np.asarray(res.cov_params())
    dist = stats.t(df) if np.isfinite(df) else stats.norm()
    crit = dist.ppf(1 - alpha / 2)
    base_label = f"{levels[0][0]}:{levels[1][0]}"
    for k in range(q):
        i, j = divmod(k, kb - 1)
        est, se = params[first + k], float(np.sqrt(cov[first + k, first + k]))
        p_k = float(2 * dist.sf(abs(est / se))) if se > 0 else np.nan
        rows.append(
            {
                "analysis": owner,
                "outcome": outcome,
                "effect": "interaction_contrast",
                "group": f"{levels[0][i + 1]}:{levels[1][j + 1]}",
                "reference": base_label,
                "estimate": est,
                "se": se,
                "ci_low": est - crit * se,
                "ci_high": est + crit * se,
                "p_value": p_k,
                "p_value_raw": p_k,
                "n": int(cells.iloc[[0, i + 1], [0, j + 1]].to_numpy().sum()),
                "method": f"{fit_name} difference in differences "
                f"({'log-odds' if scale == 'logit' else 'outcome units'}), {errors}, unadjusted",
            }
        )
    return _frame(rows)


# --------------------------------------------------------------------------- retention


def cell_means(outcomes: pd.DataFrame, outcome: str, *, factors: Sequence[str]) -> pd.DataFrame:
    """Mean (or proportion) of ``outcome`` in every cell of a two-factor design with its 95%
    interval (``ci_low``/``ci_high``): :func:`compare_arms`' level rows on the cells, so with its
    errors (HC2, or clustered by replicate). One row per cell: the two factors' levels,
    ``effect`` (mean or proportion), ``estimate``, ``ci_low``, ``ci_high``, ``n``.

    >>> df = pd.DataFrame({"a": ["x", "x", "y", "y"] * 5, "b": ["u", "v"] * 10,
    ...                    "y": [1.0, 2.0, 3.0, 4.0] * 5 + np.arange(20) / 100})
    >>> cell_means(df, "y", factors=["a", "b"])[["a", "b"]].values.tolist()
    [['x', 'u'], ['x', 'v'], ['y', 'u'], ['y', 'v']]
    """
    first, second = factors
    cell = outcomes[first].astype(str) + "\x1f" + outcomes[second].astype(str)
    res = compare_arms(outcomes.assign(cell=cell), outcome, by="cell", adjust="none")
    levels = res[res.effect.isin(["mean", "proportion"])]
    parts = levels.group.astype(str).str.split("\x1f", n=1, expand=True)
    return levels.assign(**{first: parts[0].to_numpy(), second: parts[1].to_numpy()})[
        [first, second, "effect", "estimate", "ci_low", "ci_high", "n"]
    ].reset_index(drop=True)


def _survival_inputs(outcomes, time, event, by, owner):
    frame = _check_frame(outcomes, "outcomes", owner)
    _check_column(frame, time, "time", owner)
    _check_column(frame, by, "by", owner)
    if event is None:
        if "completed" not in frame.columns:
            raise AnalysisInputError(
                f"{owner} derives the closure event from the 'completed' column, which the frame lacks; "
                f"pass event=<0/1 column>; available columns are {', '.join(map(repr, frame.columns))}."
            )
        ev = 1.0 - _numeric(frame, "completed", owner)
        event_name = "closed early (not completed)"
    else:
        _check_column(frame, event, "event", owner)
        ev = _numeric(frame, event, owner)
        event_name = event
    t = _numeric(frame, time, owner)
    keep = np.isfinite(t) & np.isfinite(ev) & frame[by].notna().to_numpy()
    if not keep.any():
        raise AnalysisInputError(
            f"The time column {time!r} passed to {owner} has no non-missing values."
        )
    if not set(np.unique(ev[keep]).tolist()) <= {0.0, 1.0}:
        raise AnalysisInputError(
            f"The event passed to {owner} must be 0/1 (1 = the pair closed); got other values."
        )
    if np.any(t[keep] < 0):
        raise AnalysisInputError(
            f"The time column {time!r} passed to {owner} must be >= 0; it has negative values."
        )
    return frame.loc[keep], t[keep], ev[keep], event_name


def km_curves(
    outcomes: pd.DataFrame,
    *,
    time: str = "weeks_active",
    event: str | None = None,
    by: str = "arm",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Kaplan-Meier curves per group: ``group, time, survival, ci_low, ci_high, n_risk, n_events``.

    The event defaults to "closed early" (``1 - completed``); each curve starts at time 0
    with survival 1. Pointwise CIs use the log-log transform of the Greenwood variance.
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    owner = "km_curves"
    alpha = _check_alpha(alpha, owner)
    frame, t, ev, _ = _survival_inputs(outcomes, time, event, by, owner)
    z = stats.norm.ppf(1 - alpha / 2)
    parts = []
    for level in sorted(frame[by].unique().tolist(), key=str):
        m = (frame[by] == level).to_numpy()
        with _quiet_statsmodels():
            sf = SurvfuncRight(t[m], ev[m])
        s, se = np.asarray(sf.surv_prob), np.asarray(sf.surv_prob_se)
        lo, hi = _loglog_ci(s, se, z)
        parts.append(
            pd.DataFrame(
                {
                    "group": level,
                    "time": np.r_[0.0, sf.surv_times],
                    "survival": np.r_[1.0, s],
                    "ci_low": np.r_[1.0, lo],
                    "ci_high": np.r_[1.0, hi],
                    "n_risk": np.r_[m.sum(), sf.n_risk],
                    "n_events": np.r_[0, sf.n_events],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _loglog_ci(s, se, z):
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = np.log(-np.log(s))
        w = z * se / (s * np.abs(np.log(s)))
        lo, hi = np.exp(-np.exp(ll + w)), np.exp(-np.exp(ll - w))
    full = s >= 1.0
    lo, hi = np.where(full, 1.0, lo), np.where(full, 1.0, hi)
    zero = s <= 0.0
    return np.where(zero, 0.0, lo), np.where(zero, 0.0, hi)


def retention(
    outcomes: pd.DataFrame,
    *,
    time: str = "weeks_active",
    event: str | None = None,
    by: str = "arm",
    reference: object = None,
    horizon: float | None = None,
    adjust: str = "holm",
    alpha: float = 0.05,
    cluster: object = "auto",
    min_clusters: int = DEFAULT_MIN_CLUSTERS,
) -> pd.DataFrame:
    """Retention by arm: Kaplan-Meier survival at ``horizon``, log-rank test, Cox hazard ratios.

    ``time`` is weeks until closure or the end of follow-up; the event defaults to
    "closed early" (``1 - completed``). Rows: ``survival`` per arm at ``horizon`` (default:
    the largest time observed), one ``logrank`` row (estimate = chi-square statistic over
    all arms), and ``hazard_ratio`` for each pair of arms (Cox, Efron ties; robust sandwich
    errors clustered like :func:`compare_arms` when clustering applies). A hazard ratio
    below 1 means fewer early closures than the reference.
    """
    from statsmodels.duration.hazard_regression import PHReg
    from statsmodels.duration.survfunc import survdiff

    owner = "retention"
    adjust = _check_adjust(adjust, owner)
    alpha = _check_alpha(alpha, owner)
    frame, t, ev, event_name = _survival_inputs(outcomes, time, event, by, owner)
    levels = _levels(frame, by, reference, owner)
    if ev.sum() == 0:
        raise AnalysisInputError(
            f"No pair in the data passed to {owner} has the event ({event_name}); hazards cannot be estimated."
        )
    codes = pd.Categorical(frame[by], categories=levels).codes
    k = len(levels)
    n = np.bincount(codes, minlength=k)
    clusters, cluster_note = _cluster_plan(frame, cluster, min_clusters, owner)
    base = {"analysis": "retention", "outcome": event_name}
    horizon = float(t.max()) if horizon is None else float(horizon)
    curves = km_curves(frame.assign(_ev=ev), time=time, event="_ev", by=by, alpha=alpha)
    rows = []
    for a, level in enumerate(levels):
        c = curves[curves.group == level]
        idx = np.searchsorted(c.time.to_numpy(), horizon, side="right") - 1
        r = c.iloc[idx]
        rows.append(
            {
                **base,
                "effect": "survival",
                "group": level,
                "reference": None,
                "estimate": r.survival,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "n": int(n[a]),
                "method": f"Kaplan-Meier at {time} = {horizon:g}, log-log CI",
            }
        )
    with _quiet_statsmodels():
        chisq, p_lr = survdiff(t, ev.astype(int), codes)
    rows.append(
        {
            **base,
            "effect": "logrank",
            "group": "all",
            "reference": None,
            "estimate": float(chisq),
            "p_value": float(p_lr),
            "p_value_raw": float(p_lr),
            "n": int(n.sum()),
            "method": f"log-rank test, chi-square with {k - 1} df",
        }
    )
    # Cox model on indicators of all non-reference arms.
    X = np.zeros((len(t), k - 1))
    for a in range(1, k):
        X[codes == a, a - 1] = 1.0
    for a in range(k):
        if ev[codes == a].sum() == 0:
            raise AnalysisInputError(
                f"No pair in {by} {levels[a]!r} has the event ({event_name}), so its hazard ratio is "
                f"not estimable (it would be 0); report survival and the log-rank test instead."
            )
    with _quiet_statsmodels():
        model = PHReg(t, X, status=ev, ties="efron")
        res = model.fit(groups=clusters) if clusters is not None else model.fit()
    beta = np.r_[0.0, np.asarray(res.params)]
    V = np.zeros((k, k))
    V[1:, 1:] = np.asarray(res.cov_params())
    pairs = _pairs(k)
    est = np.array([beta[j] - beta[i] for i, j in pairs])
    se = np.array([np.sqrt(max(V[i, i] + V[j, j] - 2 * V[i, j], 0.0)) for i, j in pairs])
    err = "robust sandwich" if clusters is not None else "model-based"
    rows += _contrast_rows(
        est,
        se,
        np.inf,
        k,
        adjust,
        alpha,
        pairs,
        levels,
        base,
        "hazard_ratio",
        n,
        f"Cox proportional hazards (Efron ties), {err} errors, {cluster_note}",
        log_scale=True,
    )
    return _frame(rows)


# --------------------------------------------------------------------------- trajectories


def trajectories(
    weeks: pd.DataFrame,
    *,
    outcome: str = "quality",
    by: str = "arm",
    time: str = "week",
    unit: Sequence[str] = ("replicate", "arm", "pair_id"),
    reference: object = None,
    slopes: str | bool = "auto",
    adjust: str = "holm",
    alpha: float = 0.05,
    active_only: bool = True,
) -> pd.DataFrame:
    """Linear trajectories of a weekly measure by arm with a linear mixed model.

    Model: ``outcome ~ arm + arm:time`` with a random intercept per unit (the pair, keyed
    by the ``unit`` columns that exist) and, when identifiable (``slopes="auto"``: at least
    three distinct times per unit on average and a converged fit), a random slope on time.
    Rows: ``slope`` per arm (outcome units per ``time`` unit), ``slope_difference`` and
    ``difference_at_end`` (predicted difference at the last time) for each pair of arms.
    """
    from statsmodels.regression.mixed_linear_model import MixedLM
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    owner = "trajectories"
    frame = _check_frame(weeks, "weeks", owner)
    _check_column(frame, outcome, "outcome", owner)
    _check_column(frame, by, "by", owner)
    _check_column(frame, time, "time", owner)
    adjust = _check_adjust(adjust, owner)
    alpha = _check_alpha(alpha, owner)
    if slopes not in ("auto", True, False):
        raise AnalysisInputError(
            f"The 'slopes' parameter of {owner} must be 'auto', True or False; got {slopes!r}."
        )
    if active_only and "active" in frame.columns:
        frame = frame[frame["active"].astype(bool)]
    unit_cols = [c for c in unit if c in frame.columns]
    if not unit_cols:
        raise AnalysisInputError(
            f"The 'unit' parameter of {owner} must name at least one column identifying a pair; got {tuple(unit)!r}; "
            f"available columns are {', '.join(map(repr, frame.columns))}."
        )
    y = _numeric(frame, outcome, owner)
    tt = _numeric(frame, time, owner)
    keep = np.isfinite(y) & np.isfinite(tt) & frame[by].notna().to_numpy()
    if not keep.any():
        raise AnalysisInputError(
            f"The outcome column {outcome!r} passed to {owner} has no non-missing values."
        )
    frame, y, tt = frame.loc[keep], y[keep], tt[keep]
    levels = _levels(frame, by, reference, owner)
    if np.std(y) == 0:
        raise AnalysisInputError(
            f"The outcome {outcome!r} passed to {owner} has no variance; there is no trajectory to fit."
        )
    if np.std(tt) == 0:
        raise AnalysisInputError(
            f"The time column {time!r} passed to {owner} has a single value; slopes need several times."
        )
    codes = pd.Categorical(frame[by], categories=levels).codes
    groups = (
        pd.factorize(pd.MultiIndex.from_frame(frame[unit_cols]))[0]
        if len(unit_cols) > 1
        else pd.factorize(frame[unit_cols[0]])[0]
    )
    k = len(levels)
    X = np.zeros((len(y), 2 * k))
    X[np.arange(len(y)), codes] = 1.0
    X[np.arange(len(y)), k + codes] = tt
    n_units = np.array([len(np.unique(groups[codes == a])) for a in range(k)])
    per_unit = len(y) / (groups.max() + 1)
    want_slopes = slopes is True or (slopes == "auto" and per_unit >= 3)
    note = ""
    res = None
    for use_slopes in [True, False] if want_slopes else [False]:
        exog_re = (
            np.column_stack([np.ones(len(y)), tt - tt.mean()])
            if use_slopes
            else np.ones((len(y), 1))
        )
        # A variance estimate on the boundary (zero) is a legitimate REML answer, not a
        # failure; only a fit that did not converge or has no finite SEs is refused.
        with _quiet_statsmodels(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=ConvergenceWarning)
            try:
                fit = MixedLM(y, X, groups, exog_re=exog_re).fit(reml=True, method=["lbfgs"])
            except (np.linalg.LinAlgError, ValueError):
                fit = None
        if fit is not None and fit.converged and np.all(np.isfinite(fit.bse_fe)):
            res, note = (
                fit,
                (
                    "random intercept and slope per pair"
                    if use_slopes
                    else "random intercept per pair"
                ),
            )
            if want_slopes and not use_slopes:
                note += " (random slopes not identifiable: fit did not converge)"
            break
    if res is None:
        raise AnalysisInputError(
            f"The mixed model for {outcome!r} in {owner} did not converge even with random intercepts only; "
            "the data have too little within-pair variation over time."
        )
    fe = np.asarray(res.fe_params)
    V = np.asarray(res.cov_params())[: 2 * k, : 2 * k]
    z = stats.norm.ppf(1 - alpha / 2)
    base = {"analysis": "trajectories", "outcome": outcome}
    method = f"linear mixed model (REML), {note}, Wald z"
    rows = []
    for a in range(k):
        s, se = fe[k + a], np.sqrt(V[k + a, k + a])
        p = 2 * stats.norm.sf(abs(s / se))
        rows.append(
            {
                **base,
                "effect": "slope",
                "group": levels[a],
                "reference": None,
                "estimate": s,
                "se": se,
                "ci_low": s - z * se,
                "ci_high": s + z * se,
                "p_value": p,
                "p_value_raw": p,
                "n": int(n_units[a]),
                "method": method,
            }
        )
    pairs = _pairs(k)
    t_end = float(tt.max())
    for effect, weights in (("slope_difference", (0.0, 1.0)), ("difference_at_end", (1.0, t_end))):
        est, se = [], []
        for i, j in pairs:
            L = np.zeros(2 * k)
            L[j], L[i] = weights[0], -weights[0]
            L[k + j], L[k + i] = weights[1], -weights[1]
            est.append(L @ fe)
            se.append(np.sqrt(max(L @ V @ L, 0.0)))
        label = (
            method
            if effect == "slope_difference"
            else f"{method}; predicted difference at {time} {t_end:g}"
        )
        rows += _contrast_rows(
            np.array(est),
            np.array(se),
            np.inf,
            k,
            adjust,
            alpha,
            pairs,
            levels,
            base,
            effect,
            n_units,
            label,
        )
    return _frame(rows)


# --------------------------------------------------------------------------- pre_post


def pre_post(
    surveys: pd.DataFrame,
    *,
    pre: str = "pre",
    post: str = "post",
    by: str | None = "arm",
    phase: str = "phase",
    value: str = "value",
    id_cols: Sequence[str] | None = None,
    reference: object = None,
    adjust: str = "holm",
    alpha: float = 0.05,
    cluster: object = "auto",
    min_clusters: int = DEFAULT_MIN_CLUSTERS,
    label: str | None = None,
) -> pd.DataFrame:
    """Paired pre/post gains: mean gain per group (paired t CI) and contrasts of gains.

    Accepts a wide frame with ``pre`` and ``post`` columns, or a long frame whose ``phase``
    column holds the labels ``pre`` and ``post`` and whose ``value`` column holds the
    score; long frames are paired on ``id_cols`` (default: every other column). Rows:
    ``gain`` per group (H0: no change), then the :func:`compare_arms` rows for the gain
    when ``by`` has two or more groups.
    """
    owner = "pre_post"
    frame = _check_frame(surveys, "surveys", owner)
    adjust = _check_adjust(adjust, owner)
    alpha = _check_alpha(alpha, owner)
    wide = _pre_post_wide(frame, pre, post, phase, value, id_cols, owner)
    name = label or (
        value if phase in frame.columns and value in frame.columns else f"{post} - {pre}"
    )
    gain = wide["_post"].to_numpy(float) - wide["_pre"].to_numpy(float)
    ok = np.isfinite(gain)
    wide, gain = wide.loc[ok].assign(gain=gain[ok]), gain[ok]
    if len(gain) < 2:
        raise AnalysisInputError(
            f"{owner} needs at least two units with both a pre and a post value; found {len(gain)}."
        )
    if by is not None:
        _check_column(wide, by, "by", owner)
    groups = (
        [(None, np.ones(len(gain), bool))]
        if by is None
        else [
            (lv, (wide[by] == lv).to_numpy())
            for lv in sorted(wide[by].dropna().unique().tolist(), key=str)
        ]
    )
    base = {"analysis": "pre_post", "outcome": name}
    rows = []
    for level, m in groups:
        g = gain[m]
        nn = len(g)
        mean, sd = g.mean(), g.std(ddof=1) if nn > 1 else np.nan
        se = sd / np.sqrt(nn)
        if nn < 2 or not np.isfinite(se):
            continue
        crit = stats.t.ppf(1 - alpha / 2, nn - 1)
        p = 2 * stats.t.sf(abs(mean / se), nn - 1) if se > 0 else (1.0 if mean == 0 else 0.0)
        rows.append(
            {
                **base,
                "effect": "gain",
                "group": "all" if level is None else level,
                "reference": None,
                "estimate": mean,
                "se": se,
                "ci_low": mean - crit * se,
                "ci_high": mean + crit * se,
                "p_value": p,
                "p_value_raw": p,
                "n": nn,
                "method": "paired t (post minus pre)",
            }
        )
    out = _frame(rows)
    if by is not None and len(groups) >= 2 and np.std(gain) > 0:
        contrasts = compare_arms(
            wide,
            "gain",
            by=by,
            reference=reference,
            adjust=adjust,
            alpha=alpha,
            cluster=cluster,
            min_clusters=min_clusters,
            kind="continuous",
        )
        contrasts = contrasts[contrasts.effect != "mean"].assign(analysis="pre_post", outcome=name)
        out = pd.concat([out, contrasts], ignore_index=True)
    return out


def _pre_post_wide(frame, pre, post, phase, value, id_cols, owner) -> pd.DataFrame:
    if pre in frame.columns and post in frame.columns:
        return frame.assign(_pre=_numeric(frame, pre, owner), _post=_numeric(frame, post, owner))
    if phase not in frame.columns or value not in frame.columns:
        raise AnalysisInputError(
            f"{owner} needs either {pre!r} and {post!r} columns (wide) or {phase!r} and {value!r} columns (long); "
            f"available columns are {', '.join(map(repr, frame.columns))}."
        )
    labels = set(frame[phase].dropna().unique().tolist())
    if not {pre, post} <= labels:
        raise AnalysisInputError(
            f"The {phase!r} column passed to {owner} must contain {pre!r} and {post!r}; "
            f"it contains {', '.join(map(repr, sorted(labels, key=str)))}."
        )
    keys = (
        list(id_cols)
        if id_cols is not None
        else [c for c in frame.columns if c not in (phase, value)]
    )
    for c in keys:
        _check_column(frame, c, "id_cols", owner)
    sub = frame[frame[phase].isin([pre, post])]
    if sub.duplicated(keys + [phase]).any():
        raise AnalysisInputError(
            f"The surveys passed to {owner} have several {phase!r} rows per unit for id_cols {keys!r}; "
            "name the columns that identify one respondent's measurement in id_cols."
        )
    wide = sub.pivot(index=keys, columns=phase, values=value).reset_index()
    wide.columns.name = None
    return wide.rename(columns={pre: "_pre", post: "_post"})


# --------------------------------------------------------------------------- early warning

EARLY_WARNING_KINDS = ("weeks_since_meeting", "no_first_meeting", "rating")


def _group_labels(frame: pd.DataFrame, by: list[str]) -> np.ndarray:
    """Each row's group: its ``by`` values as strings joined by "|" (zeros without
    ``by``), as one vectorised string concatenation rather than a join per row."""
    if not by:
        return np.zeros(len(frame), dtype=object)
    first, *rest = (frame[k].astype(str) for k in by)
    joined = first.str.cat(list(rest), sep="|") if rest else first
    return joined.to_numpy(dtype=object)


def early_warning(
    weeks: pd.DataFrame,
    outcomes: pd.DataFrame,
    rules: Mapping[str, tuple],
    *,
    events: pd.DataFrame | None = None,
    at: Any = "every_week",
    by: Sequence[str] = ("arm",),
) -> pd.DataFrame:
    """SECONDARY table: how often each rule ever flags a pair that later closes.

    A pair counts as flagged if the rule fired at *any* evaluated week, so this table has
    an exposure bias: a pair open longer is evaluated more often and is flagged
    eventually even by a rule that carries no information (a long-lived pair that never
    closes piles up chances to be flagged), which makes precision look no better than
    the base rate. Judge a rule by :func:`checkin_warning` (per check-in, person-period:
    sensitivity, specificity, LR+, PPV at a stated lead time, time-dependent AUC).

    ``rules`` maps a rule name to ``(kind, threshold)``: ``("weeks_since_meeting", k)``
    fires when a pair has held no meeting for ``k`` weeks or more (the meeting log);
    ``("no_first_meeting", w)`` fires at week ``w`` for a pair with no meeting yet;
    ``("rating", r)`` fires at a check-in whose survey rating is ``<= r`` (needs
    ``events`` with check-in ratings). A rule is evaluated at the weeks ``at``
    (``"every_week"``, ``"checkins"`` = the weeks of planned check-ins in ``events``, or
    a list of week numbers) while the pair is open; an alarm counts only before the
    closure week. Evaluate on a design whose flags change nothing (``on_flag="none"``),
    so the rule does not alter the outcome it predicts.

    Returns one row per group of ``by`` and rule: n_pairs, n_closed (early), base_rate,
    n_flagged, true_positives, sensitivity, precision, median_lead_weeks (closure week
    minus first alarm week, over true positives).
    """
    owner = "early_warning"
    weeks = _check_frame(weeks, "weeks", owner)
    outcomes = _check_frame(outcomes, "outcomes", owner)
    if not isinstance(rules, Mapping) or not rules:
        raise fail("rules", owner, "a non-empty mapping of rule name to (kind, threshold)", rules)
    for name, rule in rules.items():
        if (
            not isinstance(rule, tuple | list)
            or len(rule) != 2
            or rule[0] not in EARLY_WARNING_KINDS
            or isinstance(rule[1], bool)
            or not isinstance(rule[1], int | float)
        ):
            raise fail(
                "rules",
                owner,
                "(kind, threshold) pairs with kind one of " + ", ".join(EARLY_WARNING_KINDS),
                f"{name}: {rule!r}",
            )
        if rule[0] == "rating" and events is None:
            raise fail(
                "events", owner, "the events table (check-in ratings) for a rating rule", None
            )
    keys = ["replicate", *by, "pair_id"]
    for col in (*keys, "week", "met", "active"):
        _check_column(weeks, col, "weeks", owner)
    for col in (*keys, "completed", "closed_week"):
        _check_column(outcomes, col, "outcomes", owner)
    w = weeks[[*keys, "week", "met", "active"]].sort_values([*keys, "week"]).copy()
    for k in by:
        w[k] = w[k].astype(object)
    pair = w.groupby(keys, sort=False, observed=True).ngroup().to_numpy()
    met = w["met"].to_numpy(bool)
    week = w["week"].to_numpy(int)
    # weeks since the last meeting at the end of each week (the meeting log)
    last = np.where(met, week, 0)
    last = pd.Series(last).groupby(pair).cummax().to_numpy()
    since = week - last
    held = pd.Series(met.astype(int)).groupby(pair).cumsum().to_numpy()
    if isinstance(at, str) and at == "every_week":
        when = np.ones(len(w), bool)
    elif isinstance(at, str) and at == "checkins":
        if events is None:
            raise fail("events", owner, "the events table when at='checkins'", None)
        ck = events[(events["event"] == "checkin") & (events["reason"] == "scheduled")]
        when = np.isin(week, np.unique(ck["week"].to_numpy(int)))
    else:
        try:
            when = np.isin(week, np.asarray(list(at), dtype=int))
        except (TypeError, ValueError):
            raise fail(
                "at", owner, "'every_week', 'checkins' or a list of week numbers", at
            ) from None
    o = outcomes[[*keys, "completed", "closed_week"]].copy()
    for k in by:
        o[k] = o[k].astype(object)
    first = w.groupby(keys, sort=False, observed=True).head(1)[keys].reset_index(drop=True)
    first["_pair"] = np.arange(len(first))
    o = first.merge(o, on=keys, how="left")
    closed = ~o["completed"].to_numpy(bool)
    closed_week = o["closed_week"].astype("float").fillna(np.inf).to_numpy()
    # the group of each pair (same for every rule)
    group = _group_labels(o, list(by))
    rows = []
    for name, (kind, threshold) in rules.items():
        if kind == "weeks_since_meeting":
            fires = since >= threshold
        elif kind == "no_first_meeting":
            fires = (week == int(threshold)) & (held == 0)
        else:
            assert events is not None  # a rating rule without events was refused above
            ck = events[(events["event"] == "checkin") & events["rating"].notna()]
            ck = ck[[*keys, "week", "rating"]].copy()
            for k in by:
                ck[k] = ck[k].astype(object)
            low = ck[ck["rating"] <= threshold][[*keys, "week"]].assign(_low=True)
            fires = (
                w[[*keys, "week"]]
                .merge(low, on=[*keys, "week"], how="left")["_low"]
                .fillna(False)
                .to_numpy(bool)
            )
        alarm = fires & when & w["active"].to_numpy(bool) & (week < closed_week[pair])
        first_alarm = np.full(len(o), np.inf)
        np.minimum.at(first_alarm, pair[alarm], week[alarm])
        flagged = np.isfinite(first_alarm)
        for g in pd.unique(group):
            sel = group == g
            tp = flagged & closed & sel
            lead = closed_week[tp] - first_alarm[tp]
            n_flag, n_closed = int((flagged & sel).sum()), int((closed & sel).sum())
            row = {k: o.loc[sel, k].iloc[0] for k in by}
            row.update(
                {
                    "rule": name,
                    "n_pairs": int(sel.sum()),
                    "n_closed": n_closed,
                    "base_rate": n_closed / sel.sum(),
                    "n_flagged": n_flag,
                    "true_positives": int(tp.sum()),
                    "sensitivity": tp.sum() / n_closed if n_closed else np.nan,
                    "precision": tp.sum() / n_flag if n_flag else np.nan,
                    "median_lead_weeks": float(np.median(lead)) if lead.size else np.nan,
                }
            )
            rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- per check-in

CHECKIN_RULE_KINDS = ("rating", "weeks_since_meeting", "random")


def _scheduled_checkins(
    events: pd.DataFrame, outcomes: pd.DataFrame, by: Sequence[str], owner: str
) -> pd.DataFrame:
    """Planned check-ins of open pairs with their rating, week and closure week."""
    keys = ["replicate", *by, "pair_id"]
    for col in (*keys, "week", "event", "reason", "rating"):
        _check_column(events, col, "events", owner)
    for col in (*keys, "closed_week"):
        _check_column(outcomes, col, "outcomes", owner)
    ck = events[
        (events["event"].astype(str) == "checkin") & (events["reason"].astype(str) == "scheduled")
    ][[*keys, "week", "rating"]]
    o = outcomes[[*keys, "closed_week"]]
    ck = ck.assign(**{k: ck[k].astype(object) for k in by})
    o = o.assign(**{k: o[k].astype(object) for k in by})
    return ck.merge(o, on=keys, how="left", validate="many_to_one")


def _auc(marker: np.ndarray, case: np.ndarray) -> float:
    """P(marker of a case > marker of a control), ties counted one half (Mann-Whitney)."""
    n1, n0 = int(case.sum()), int((~case).sum())
    if not n1 or not n0:
        return np.nan
    ranks = stats.rankdata(marker)
    return float((ranks[case].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _since_meeting_at(
    weeks: pd.DataFrame, ck: pd.DataFrame, keys: list[str], by: list[str], owner: str
) -> np.ndarray:
    """Weeks since the last meeting held (or the start) at the end of each check-in week."""
    for col in (*keys, "week", "met"):
        _check_column(weeks, col, "weeks", owner)
    w = weeks[[*keys, "week", "met"]].sort_values([*keys, "week"])
    w = w.assign(**{k: w[k].astype(object) for k in by})
    pair = w.groupby(keys, sort=False, observed=True).ngroup().to_numpy()
    week = w["week"].to_numpy(int)
    last = pd.Series(np.where(w["met"].to_numpy(bool), week, 0)).groupby(pair).cummax()
    w = w.assign(_since=week - last.to_numpy())
    return (
        ck[[*keys, "week"]]
        .merge(w[[*keys, "week", "_since"]], on=[*keys, "week"], how="left")["_since"]
        .to_numpy(float)
    )


def checkin_warning(
    events: pd.DataFrame,
    outcomes: pd.DataFrame,
    rules: Mapping[str, tuple],
    *,
    lead_weeks: int = 8,
    by: Sequence[str] = ("arm",),
    seed: int = 0,
    weeks: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """How well each rule warns of closure, per planned check-in (person-period).

    Every planned check-in of a pair still open is one observation; it is *positive* when
    the pair closes within ``lead_weeks`` weeks after it (weeks ``week + 1`` to ``week +
    lead_weeks``). ``rules`` maps a name to ``("rating", r)`` (the check-in's survey
    rating is ``<= r``), ``("weeks_since_meeting", k)`` (the meeting log shows no meeting
    for ``k`` weeks or more at the check-in; needs ``weeks``) or ``("random", p)`` (flags each check-in with probability
    ``p``, drawn from a named stream of ``seed``: a rule with no information, whose LR+ is
    1 up to sampling error, the reference for the others).

    Returns one row per group of ``by`` and rule: n_checkins, n_positive, n_flagged,
    sensitivity (flagged share of positives), specificity (unflagged share of
    negatives), lr_positive (sensitivity / (1 - specificity)), ppv (positive share of
    flagged), base_rate, auc and lead_weeks. ``auc`` is the time-dependent AUC of the
    rule's marker (the rating, lower = riskier; the random draw) in the
    cumulative/dynamic sense of Heagerty, Lumley & Pepe (2000, Biometrics 56:337): cases
    close within the lead time, controls stay open past it, pooled over check-in weeks.
    Evaluate on a design whose flags change nothing (``on_flag="none"``).

    Written by hand (counts and a rank-sum AUC): the person-period layout is the toolkit's,
    and the computation is a few vectorised counts per group.
    """
    from toolkit import _seeding
    from toolkit._validation import check_int

    owner = "checkin_warning"
    events = _check_frame(events, "events", owner)
    outcomes = _check_frame(outcomes, "outcomes", owner)
    lead = check_int(lead_weeks, "lead_weeks", owner, low=1, high=520)
    if not isinstance(rules, Mapping) or not rules:
        raise fail("rules", owner, "a non-empty mapping of rule name to (kind, threshold)", rules)
    for name, rule in rules.items():
        if (
            not isinstance(rule, tuple | list)
            or len(rule) != 2
            or rule[0] not in CHECKIN_RULE_KINDS
            or isinstance(rule[1], bool)
            or not isinstance(rule[1], int | float)
            or (rule[0] == "random" and not 0 <= rule[1] <= 1)
        ):
            raise fail(
                "rules",
                owner,
                "(kind, threshold) pairs with kind 'rating' (a Likert "
                "threshold), 'weeks_since_meeting' or 'random' (a probability in "
                "[0, 1])",
                f"{name}: {rule!r}",
            )
        if rule[0] == "weeks_since_meeting" and weeks is None:
            raise fail("weeks", owner, "the weeks table for a weeks_since_meeting rule", None)
    by = list(by)
    ck = _scheduled_checkins(events, outcomes, by, owner)
    since = (
        _since_meeting_at(
            _check_frame(weeks, "weeks", owner), ck, ["replicate", *by, "pair_id"], by, owner
        )
        if weeks is not None
        else None
    )
    week = ck["week"].to_numpy(float)
    closed = ck["closed_week"].astype("float").fillna(np.inf).to_numpy()
    positive = (closed > week) & (closed <= week + lead)
    control = closed > week + lead
    rating = ck["rating"].to_numpy(float)
    group = _group_labels(ck, by)
    rows = []
    for name, (kind, threshold) in rules.items():
        if kind == "rating":
            marker = -rating
            fires = rating <= threshold
        elif kind == "weeks_since_meeting":
            marker = since
            fires = since >= threshold
        else:
            marker = _seeding.rng(seed, "checkin_warning", name).random(len(ck))
            fires = marker < threshold
        for g in pd.unique(group):
            sel = group == g
            pos, neg, fl = positive & sel, control & sel, fires & sel
            tp, fp = int((fl & pos).sum()), int((fl & neg).sum())
            n_pos, n_neg = int(pos.sum()), int(neg.sum())
            sens = tp / n_pos if n_pos else np.nan
            spec = 1 - fp / n_neg if n_neg else np.nan
            row = {k: ck.loc[sel, k].iloc[0] for k in by}
            with np.errstate(divide="ignore", invalid="ignore"):
                lr = sens / (1 - spec) if n_neg and spec < 1 else np.nan
            row.update(
                {
                    "rule": name,
                    "lead_weeks": lead,
                    "n_checkins": int(sel.sum()),
                    "n_positive": n_pos,
                    "n_flagged": int(fl.sum()),
                    "true_positives": tp,
                    "sensitivity": sens,
                    "specificity": spec,
                    "lr_positive": lr,
                    "ppv": tp / (tp + fp) if tp + fp else np.nan,
                    "base_rate": n_pos / (n_pos + n_neg) if n_pos + n_neg else np.nan,
                    "auc": _auc(marker[pos | neg], pos[pos | neg]) if (pos | neg).any() else np.nan,
                }
            )
            rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- horizons


def at_horizon(
    outcomes: pd.DataFrame,
    horizon: int,
    *,
    durations: Mapping[str, int],
    by: str = "arm",
    weeks: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Designs of different length compared over the same weeks 1..``horizon``.

    ``durations`` gives each group's (arm's) program length in weeks; a horizon longer
    than any of them is refused (a design cannot be observed past its end). Per group:
    n_pairs, horizon, open_at_horizon (share still open after week ``horizon``: for a
    design of exactly that length, its completion), closed_by_horizon, pair_weeks_at_risk
    (open pair-weeks in 1..horizon), closures_per_100_pair_weeks, and with ``weeks``
    meetings_by_horizon (mean meetings held in weeks 1..horizon per pair).

    >>> import pandas as pd
    >>> o = pd.DataFrame({"arm": ["a", "a", "b"], "closed_week": pd.array([3, pd.NA, 10],
    ...                   dtype="Int16")})
    >>> at_horizon(o, 5, durations={"a": 5, "b": 12})["open_at_horizon"].tolist()
    [0.5, 1.0]
    """
    from toolkit._validation import check_int

    owner = "at_horizon"
    outcomes = _check_frame(outcomes, "outcomes", owner)
    h = check_int(horizon, "horizon", owner, low=1, high=520)
    by = _check_column(outcomes, by, "by", owner)
    _check_column(outcomes, "closed_week", "outcomes", owner)
    if not isinstance(durations, Mapping):
        raise fail(
            "durations",
            owner,
            "a mapping of each group of " + repr(by) + " to its program length in weeks",
            durations,
        )
    levels = pd.unique(outcomes[by].astype(object))
    missing = [g for g in levels if g not in durations]
    if missing:
        raise fail(
            "durations",
            owner,
            "a length for every group of " + repr(by),
            f"no length for {missing[0]!r}",
        )
    short = [g for g in levels if durations[g] < h]
    if short:
        raise fail(
            "horizon",
            owner,
            f"at most the shortest design's length "
            f"({min(durations[g] for g in levels)} weeks, {short[0]!r})",
            h,
        )
    closed = outcomes["closed_week"].astype("float").fillna(np.inf).to_numpy()
    grp = outcomes[by].astype(object).to_numpy()
    at_risk = np.where(closed <= h, closed, h)  # open weeks in 1..h, the closure week included
    rows = []
    for g in levels:
        sel = grp == g
        n = int(sel.sum())
        k = int((closed[sel] <= h).sum())
        risk = float(at_risk[sel].sum())
        rows.append(
            {
                by: g,
                "horizon": h,
                "n_pairs": n,
                "open_at_horizon": 1 - k / n,
                "closed_by_horizon": k / n,
                "pair_weeks_at_risk": risk,
                "closures_per_100_pair_weeks": 100 * k / risk if risk else np.nan,
            }
        )
    out = pd.DataFrame(rows)
    if weeks is not None:
        weeks = _check_frame(weeks, "weeks", owner)
        for col in (by, "week", "met"):
            _check_column(weeks, col, "weeks", owner)
        w = weeks[weeks["week"].to_numpy() <= h]
        held = w.groupby(w[by].astype(object), observed=True)["met"].sum()
        out["meetings_by_horizon"] = [
            held.get(g, 0) / n for g, n in zip(out[by], out["n_pairs"], strict=True)
        ]
    return out


def closure_reasons(
    events: pd.DataFrame, *, reasons: Sequence[str] | None = None, by: Sequence[str] = ("arm",)
) -> pd.DataFrame:
    """Closures by recorded reason: count and share of each group's closures.

    ``reasons`` keeps only some reasons (each must be one of
    :data:`toolkit.simulation.CLOSURE_REASONS`); shares stay shares of all closures.
    """
    from toolkit._engine import CLOSURE_REASONS

    owner = "closure_reasons"
    events = _check_frame(events, "events", owner)
    by = list(by)
    for col in (*by, "event", "reason"):
        _check_column(events, col, "events", owner)
    if reasons is not None:
        if isinstance(reasons, str):
            reasons = [reasons]
        bad = [r for r in reasons if r not in CLOSURE_REASONS]
        if bad:
            raise fail(
                "reasons", owner, "closure reasons among " + ", ".join(CLOSURE_REASONS), bad[0]
            )
    c = events[events["event"].astype(str) == "closure"]
    c = c.assign(reason=c["reason"].astype(str), **{k: c[k].astype(object) for k in by})
    counts = c.groupby([*by, "reason"]).size().rename("closures").reset_index()
    total = counts.groupby(by)["closures"].transform("sum") if by else counts["closures"].sum()
    counts["share"] = counts["closures"] / total
    if reasons is not None:
        counts = counts[counts["reason"].isin(list(reasons))]
    return counts.reset_index(drop=True)
