"""Selection with a guarantee: empirical PCS and replications against equal allocation.

Synthetic systems with known means (``toolkit.selection.SyntheticSystem``): independent
normal outputs, sigma = 1, first stage n0 = 20, indifference zone delta = sigma / sqrt(n0)
(the choice of Kim & Nelson 2001's experiments), alpha = 0.05, default screening ("auto":
on from 50 designs). Two configurations, each at k = 50 and k = 500:

- slippage (least favourable): the best exactly delta above all others;
- increasing means: mu_i = (i - k + 1) delta, the best delta above the second.

Each runs 1,000 macro-replications (``BENCH_SELECTION_MACRO`` overrides). Reported: the
empirical probability of correct selection with its binomial standard error (target >=
1 - alpha - 1.5 points = 0.935) and the mean replications used, against the equal-allocation
procedure (n replications per design, pick the largest sample mean) with the smallest n
whose exact PCS reaches the same empirical PCS (target <= 30%). With independent normal
outputs that PCS is one integral, ``P(CS) = int phi(z) prod_i Phi(z + (mu_b - mu_i)
sqrt(n) / sigma) dz``, computed on a grid (no simulation error); an empirical PCS of 1 is
matched at 1 - 1 / (2 * macro) (half a failure).
"""

from __future__ import annotations

import os
import time

import numpy as np
from scipy import stats

from toolkit.selection import SyntheticSystem, increasing_means, select_best, slippage_means

ALPHA, N0, SIGMA = 0.05, 20, 1.0
DELTA = SIGMA / np.sqrt(N0)


def equal_allocation_pcs(means: np.ndarray, n: np.ndarray, sigma: float = SIGMA) -> np.ndarray:
    """Exact PCS of equal allocation with ``n`` replications each (independent normals)."""
    z = np.linspace(-9.0, 9.0, 3601)
    gaps = (means.max() - np.delete(means, np.argmax(means)))[None, :, None]  # (1, k-1, 1)
    arg = z[None, None, :] + gaps * np.sqrt(np.asarray(n, dtype=float))[:, None, None] / sigma
    logp = stats.norm.logcdf(arg).sum(axis=1)  # (n, z)
    return np.trapezoid(stats.norm.pdf(z) * np.exp(logp), z, axis=1)


def equal_allocation_n(means: np.ndarray, target: float, sigma: float = SIGMA) -> int:
    """The smallest n per design whose equal-allocation PCS reaches ``target`` (bisection)."""

    def pcs(n: int) -> float:
        return float(equal_allocation_pcs(means, np.array([n]), sigma)[0])

    lo, hi = 0, 1  # pcs(lo) < target <= pcs(hi), with pcs(0) = 1 / k
    while pcs(hi) < target:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if pcs(mid) >= target else (mid, hi)
    return hi


def one_configuration(name: str, means: np.ndarray, macro: int) -> dict:
    k = len(means)
    best = int(np.argmax(means))
    start = time.perf_counter()
    correct, used = 0, []
    for seed in range(macro):
        sel = select_best(
            SyntheticSystem(means, sigma=SIGMA, seed=seed),
            np.arange(k),
            delta=DELTA,
            alpha=ALPHA,
            n0=N0,
            block=50,
        )
        correct += sel.selected == best
        used.append(sel.total_replications)
    seconds = time.perf_counter() - start
    pcs = correct / macro
    se = np.sqrt(pcs * (1 - pcs) / macro)
    target = pcs if correct < macro else 1 - 0.5 / macro
    n_eq = equal_allocation_n(means, target)
    mean_used = float(np.mean(used))
    ratio = mean_used / (k * n_eq)
    ok = pcs >= 1 - ALPHA - 0.015 and ratio <= 0.30
    return {
        "benchmark": f"select_best, {name}, k = {k}, {macro} macro-replications",
        "seconds": round(seconds, 1),
        "target": "PCS >= 0.935; replications <= 30% of equal allocation",
        "ok": bool(ok),
        "pcs": round(pcs, 4),
        "pcs_se": round(float(se), 4),
        "replications_mean": round(mean_used, 1),
        "replications_sd": round(float(np.std(used, ddof=1)), 1),
        "equal_allocation_n": n_eq,
        "equal_allocation_total": k * n_eq,
        "ratio": round(ratio, 3),
        "note": (
            f"PCS {pcs:.3f} (se {se:.3f}); {mean_used:.0f} replications vs "
            f"{k * n_eq} for equal allocation ({n_eq} each) at PCS {target:.4f}: "
            f"{100 * ratio:.0f}%"
        ),
    }


def run() -> list[dict]:
    macro = int(os.environ.get("BENCH_SELECTION_MACRO", "1000"))
    which = os.environ.get("BENCH_SELECTION_ONLY", "")
    rows = []
    for k in (50, 500):
        for name, make in (("slippage", slippage_means), ("increasing means", increasing_means)):
            label = f"{name} k={k}"
            if which and which not in label:
                continue
            rows.append(one_configuration(name, make(k, DELTA)[:, 0], macro))
    return rows


if __name__ == "__main__":
    import pandas as pd

    with pd.option_context(
        "display.width", 250, "display.max_columns", 20, "display.max_colwidth", 120
    ):
        print(pd.DataFrame(run()).to_string(index=False))
