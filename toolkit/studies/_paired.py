"""Paired contrasts between the arms of one simulated experiment (common random numbers):
per-replicate paired differences and the marginal cost of an additional completed pair, each
with its Monte Carlo error (simulation noise, never an interval about programs).

Written by hand over pandas/numpy because ``toolkit.analysis.compare_arms`` fits a model per
contrast and reports sampling intervals; here every replicate is a paired comparison and the
only uncertainty is Monte Carlo error.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "average_cost",
    "marginal_cost",
    "marginal_sentences",
    "paired_contrasts",
    "paired_report",
]


def paired_contrasts(outcomes: pd.DataFrame, reference: str, names: dict[str, str]) -> pd.DataFrame:
    """Every arm minus ``reference`` on each outcome of ``names``: the mean over replicates
    of the per-replicate difference of arm means (common random numbers make each
    replicate a paired comparison), with its Monte Carlo SE (SD over replicates /
    sqrt(R); NaN with one replicate). ``ci_low``/``ci_high`` are estimate -/+ 1.96 Monte
    Carlo SE: simulation noise only, named so for the sweep table. Completion's effect is
    ``risk_difference``, the others' ``difference``."""
    arm = outcomes["arm"].astype(str)
    parts = []
    for outcome in names:
        means = (
            outcomes[outcome]
            .astype("float64")
            .groupby([arm, outcomes["replicate"]])
            .mean()
            .unstack("replicate")
        )
        diff = means.drop(index=reference) - means.loc[reference]
        r = diff.notna().sum(axis=1)
        est, se = diff.mean(axis=1), diff.std(axis=1, ddof=1) / np.sqrt(r)
        parts.append(
            pd.DataFrame(
                {
                    "group": diff.index.astype(str),
                    "reference": reference,
                    "outcome": outcome,
                    "effect": "risk_difference" if outcome == "completed" else "difference",
                    "estimate": est.to_numpy(),
                    "mc_se": se.to_numpy(),
                    "ci_low": (est - 1.96 * se).to_numpy(),
                    "ci_high": (est + 1.96 * se).to_numpy(),
                    "replicates": r.to_numpy(),
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    for c in ("group", "reference"):
        out[c] = out[c].astype("string")
    return out


def average_cost(outcomes: pd.DataFrame, arms: Any) -> pd.DataFrame:
    """Per arm (in the order of ``arms``): coordinator hours per completed ("retained") pair,
    the mean over replicates of (coordinator hours) / (completed pairs), with its Monte Carlo
    SE (an AVERAGE cost; :func:`marginal_cost` is the cost of an additional pair)."""
    per_rep = outcomes.groupby(["arm", "replicate"], sort=False).agg(
        hours=("hours_coordinator", "sum"), retained=("completed", "sum")
    )
    ratio = per_rep.hours / per_rep.retained.where(per_rep.retained > 0)
    cost = ratio.groupby(level="arm", sort=False)
    out = pd.DataFrame(
        {
            "hours_per_retained_pair": cost.mean(),
            "mc_se": cost.std(ddof=1) / np.sqrt(cost.count()),
            "replicates": cost.count(),
        }
    )
    return out.reindex(arms).rename_axis("arm").reset_index()


def marginal_cost(
    outcomes: pd.DataFrame, baseline: str = "none", *, boot: int = 400, seed: int = 0
) -> pd.DataFrame:
    """Coordinator hours per ADDITIONAL completed pair, each arm against ``baseline`` (no
    check-ins): (extra coordinator hours) / (extra completed pairs), both summed per
    replicate and averaged over replicates (a ratio of means). NaN when the arm completes
    no more pairs than the baseline (no additional pair to pay for). Monte Carlo error:
    the SD over ``boot`` bootstrap resamples of the replicates (one matrix product of
    multinomial counts; simulation noise, not an interval about programs)."""
    from toolkit import _seeding

    arm = outcomes["arm"].astype(str)
    per = (
        outcomes.assign(arm=arm)
        .groupby(["arm", "replicate"])
        .agg(hours=("hours_coordinator", "sum"), done=("completed", "sum"))
    )
    hours, done = per["hours"].unstack("replicate"), per["done"].unstack("replicate")
    d_hours = (hours.drop(index=baseline) - hours.loc[baseline]).to_numpy(float)
    d_done = (done.drop(index=baseline) - done.loc[baseline]).to_numpy(float)
    reps = d_hours.shape[1]
    counts = (
        _seeding.rng(seed, "checkin_cadence", "marginal_cost")
        .multinomial(reps, np.full(reps, 1 / reps), size=boot)
        .T
        / reps
    )  # replicates x resamples
    mean_h, mean_d = d_hours.mean(axis=1), d_done.mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(mean_d > 0, mean_h / mean_d, np.nan)
        boot_ratio = np.where((d_done @ counts) > 0, (d_hours @ counts) / (d_done @ counts), np.nan)
    ok = np.isfinite(boot_ratio)
    kept = np.where(ok, boot_ratio, 0.0)
    n_ok = ok.sum(axis=1)
    mean_b = kept.sum(axis=1) / np.maximum(n_ok, 1)
    mc = np.where(
        n_ok > 1,
        np.sqrt(((kept - mean_b[:, None]) ** 2 * ok).sum(axis=1) / np.maximum(n_ok - 1, 1)),
        np.nan,
    )
    return pd.DataFrame(
        {
            "arm": hours.drop(index=baseline).index.astype(str),
            "extra_hours_per_replicate": mean_h,
            "extra_completed_per_replicate": mean_d,
            "hours_per_additional_completed_pair": ratio,
            "mc_error": np.where(np.isfinite(ratio), mc, np.nan),
        }
    )


def marginal_sentences(marginal: pd.DataFrame, labels: dict[str, str]) -> list[str]:
    """:func:`marginal_cost` in words: the hours per additional completed pair of every arm
    that completes more pairs than no check-ins, then the arms that complete no more."""
    from toolkit.report import fmt_number
    from toolkit.studies._words import cap

    m, out = marginal.set_index("arm"), []
    paid = m[np.isfinite(m.hours_per_additional_completed_pair)]
    if len(paid):
        words = "; ".join(
            f"{labels[a]} {fmt_number(r.hours_per_additional_completed_pair, 1)} "
            f"(Monte Carlo error {fmt_number(r.mc_error, 1)})"
            for a, r in paid.iterrows()
        )
        out.append(
            "Coordinator hours per additional completed pair, against no check-ins "
            f"(marginal, not average): {words}."
        )
    none = [labels[a] for a in m.index.difference(paid.index, sort=False)]
    if none:
        out.append(
            f"{cap(', '.join(none))} completed no more pairs than no check-ins, so there is no "
            "additional completed pair to pay for."
        )
    return out


def paired_report(
    estimates: pd.DataFrame, labels: dict[str, str], names: dict[str, str]
) -> pd.DataFrame:
    """:func:`paired_contrasts` readable (text cells): arm (``labels``), outcome (``names``),
    difference and Monte Carlo SE, risk differences in percentage points."""
    from toolkit.report import fmt_number

    scale = np.where(estimates.effect == "risk_difference", 100.0, 1.0)
    digits = [1 if e == "risk_difference" else 3 for e in estimates.effect]
    return pd.DataFrame(
        {
            "arm": estimates.group.map(lambda g: labels.get(g, g)).to_numpy(),
            "outcome": [
                names[o] + (" (points)" if e == "risk_difference" else "")
                for o, e in zip(estimates.outcome, estimates.effect, strict=True)
            ],
            "difference": [
                fmt_number(v, d) for v, d in zip(estimates.estimate * scale, digits, strict=True)
            ],
            "Monte Carlo SE": [
                fmt_number(v, d + 1) for v, d in zip(estimates.mc_se * scale, digits, strict=True)
            ],
        }
    )
