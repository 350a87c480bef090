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
procedure (n replications per design, pick the largest sample mean) reaching the same
empirical PCS (target <= 30%). The equal n is found two ways, and the ratio uses the first:

- *empirical search on the same macro-replication design*: for macro-replication ``j`` the
  equal-allocation procedure reads replications ``0..n-1`` of the same synthetic system
  (same seed ``j``, the same random numbers KN read), for every ``n`` up to a cap at once
  (running means); its empirical PCS at ``n`` is the share of the macro-replications whose
  largest running mean after ``n`` replications is the best design's; the equal n is the
  smallest ``n`` whose empirical PCS reaches KN's empirical PCS (a scan over every ``n``,
  since an empirical PCS curve need not be monotone);
- *exact*: with independent normal outputs equal allocation's PCS is one integral,
  ``P(CS) = int phi(z) prod_i Phi(z + (mu_b - mu_i) sqrt(n) / sigma) dz``, computed on a
  grid (no simulation error), and bisection gives the smallest ``n`` reaching KN's
  empirical PCS.

An empirical PCS of 1 is matched at 1 - 1 / (2 * macro) (half a failure).
``BENCH_SELECTION_WORKERS`` (default 1) runs the macro-replications in a process pool; the
figures do not depend on it. ``BENCH_SELECTION_VARIANCE_UPDATING=0`` runs KN without
variance updating (the procedure before KN++), for comparison. ``BENCH_SELECTION_ONLY``
names configurations (comma-separated labels such as ``slippage k=50``, matched exactly).
``BENCH_SELECTION_PROCEDURES=kn,biz`` adds BIZ (Frazier 2014; :func:`biz_independent`) on
the same random numbers, a comparison only: it needs independent sampling across systems,
which ``rmt advise`` (common random numbers) does not have
(``BENCH_SELECTION_BIZ_KNOWN_VARIANCE=1``: BIZ given the true common variance, the case
its bound is proved for).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor

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


def _kn_once(args: tuple) -> tuple[bool, int]:
    """One macro-replication of select_best: (correct, replications used)."""
    means, seed, updating = args
    k = len(means)
    sel = select_best(
        SyntheticSystem(means, sigma=SIGMA, seed=seed),
        np.arange(k),
        delta=DELTA,
        alpha=ALPHA,
        n0=N0,
        block=50,
        variance_updating=updating,
    )
    return bool(sel.selected == int(np.argmax(means))), int(sel.total_replications)


def biz_independent(
    system: SyntheticSystem,
    k: int,
    delta: float,
    alpha: float,
    n0: int,
    known_variance: float | None = None,
) -> tuple[int, int]:
    """BIZ (Frazier 2014, Oper Res 62:926), for comparison only.

    Valid only with **independent** sampling across systems (the paper's setting), so
    ``select_best`` (and ``rmt advise``, which uses common random numbers) cannot use it.
    Frazier proves its PCS bound for known variances with an integer-multiple structure
    (``known_variance``: one common variance, every system sampled alike); with estimated
    variances (the default, as KN++ must) the bound is not proven and the PCS is only
    measured. As read here (the paper's full text could not be read; the steps follow its
    published abstract and public reference code): ``n0`` replications each; then at every
    stage, with ``beta = sum n_x / sum S_x^2`` over the survivors, the weights
    ``q_x ∝ exp(delta beta mean_x)``; stop when ``max q >= P`` (``P`` starts at
    ``1 - alpha``); drop every survivor with ``q_x <= c = 1 - (1 - alpha)^(1/(k-1))`` and
    raise ``P`` to ``P / (1 - sum of the dropped q)`` (the one-at-a-time update, not the
    smaller product form); then sample so that ``n_x`` stays proportional to ``S_x^2``
    (the survivor with the smallest ``n_x / S_x^2`` gets one more). Vectorised over
    systems (running sums read at each system's count); the loop is over stages.
    Returns (selected system, replications used).
    """
    c = 1.0 - (1.0 - alpha) ** (1.0 / (k - 1))
    rows = np.arange(k)
    x = system(rows, 0, np.arange(1024))  # (k, R): replication r is the same as KN's
    cs = np.cumsum(x, axis=1)
    cs2 = np.cumsum(x**2, axis=1)
    n = np.full(k, n0)
    alive = np.ones(k, dtype=bool)
    p = 1.0 - alpha
    while True:
        a = np.flatnonzero(alive)
        if a.size == 1:
            break
        w, w2 = cs[a, n[a] - 1], cs2[a, n[a] - 1]
        if known_variance is None:
            s2 = (w2 - w**2 / n[a]) / (n[a] - 1)
        else:
            s2 = np.full(a.size, float(known_variance))
        beta = n[a].sum() / s2.sum()
        z = delta * beta * w / n[a]
        q = np.exp(z - z.max())
        q /= q.sum()
        if q.max() >= p:
            break
        drop = q <= c
        if drop.any():
            p /= 1.0 - q[drop].sum()
            alive[a[drop]] = False
            a, s2 = a[~drop], s2[~drop]
            if a.size == 1:
                break
        zmin = int(np.argmin(n[a] / s2))
        target = np.ceil(s2 * (n[a][zmin] + 1) / s2[zmin] - 1e-9).astype(np.int64)
        n[a] = np.maximum(target, n[a])
        if n[a].max() > x.shape[1]:
            more = system(rows, 0, np.arange(x.shape[1], max(n.max(), 2 * x.shape[1])))
            cs = np.concatenate([cs, cs[:, -1:] + np.cumsum(more, axis=1)], axis=1)
            cs2 = np.concatenate([cs2, cs2[:, -1:] + np.cumsum(more**2, axis=1)], axis=1)
            x = np.concatenate([x, more], axis=1)
    a = np.flatnonzero(alive)
    return int(a[np.argmax(cs[a, n[a] - 1] / n[a])]), int(n.sum())


def _biz_once(args: tuple) -> tuple[bool, int]:
    """One macro-replication of BIZ on independent systems: (correct, replications used)."""
    means, seed, _ = args
    k = len(means)
    known = SIGMA**2 if os.environ.get("BENCH_SELECTION_BIZ_KNOWN_VARIANCE") == "1" else None
    chosen, used = biz_independent(
        SyntheticSystem(means, sigma=SIGMA, seed=seed), k, DELTA, ALPHA, N0, known
    )
    return chosen == int(np.argmax(means)), used


def _equal_once(args: tuple) -> np.ndarray:
    """Equal allocation on macro-replication ``seed``'s random numbers: correct after n = 1..cap."""
    means, seed, cap = args
    k = len(means)
    x = SyntheticSystem(means, sigma=SIGMA, seed=seed)(np.arange(k), 0, np.arange(cap))
    running = np.cumsum(x, axis=1)  # (k, cap): the ordering of running sums = of means
    best = int(np.argmax(means))
    return np.argmax(running, axis=0) == best  # (cap,)


def equal_allocation_n_empirical(
    means: np.ndarray, target: float, macro: int, cap: int, pool_map
) -> tuple[int | None, float]:
    """The smallest n whose empirical equal-allocation PCS (same seeds) reaches ``target``."""
    rows = list(pool_map(_equal_once, [(means, seed, cap) for seed in range(macro)]))
    pcs = np.mean(np.vstack(rows), axis=0)  # pcs[n - 1]
    hit = np.flatnonzero(pcs >= target)
    return (int(hit[0]) + 1, float(pcs[hit[0]])) if hit.size else (None, float(pcs.max()))


def one_configuration(
    name: str, means: np.ndarray, macro: int, pool_map=map, procedure: str = "kn"
) -> dict:
    k = len(means)
    updating = os.environ.get("BENCH_SELECTION_VARIANCE_UPDATING", "1") != "0"
    once = _biz_once if procedure == "biz" else _kn_once
    start = time.perf_counter()
    out = list(pool_map(once, [(means, seed, updating) for seed in range(macro)]))
    seconds = time.perf_counter() - start
    correct = sum(c for c, _ in out)
    used = [u for _, u in out]
    pcs = correct / macro
    se = np.sqrt(pcs * (1 - pcs) / macro)
    target = pcs if correct < macro else 1 - 0.5 / macro
    n_exact = equal_allocation_n(means, target)
    n_emp, pcs_emp = equal_allocation_n_empirical(
        means, target, macro, int(np.ceil(1.6 * n_exact)) + 10, pool_map
    )
    n_eq = n_emp if n_emp is not None else n_exact
    mean_used = float(np.mean(used))
    ratio = mean_used / (k * n_eq)
    ok = pcs >= 1 - ALPHA - 0.015 and ratio <= 0.30
    return {
        "benchmark": f"select_best, {name}, k = {k}, {macro} macro-replications",
        "procedure": (
            "BIZ (independent sampling only; not usable by advise)"
            if procedure == "biz"
            else "KN++ (variance updating)"
            if updating
            else "KN"
        ),
        "seconds": round(seconds, 1),
        "target": "PCS >= 0.935; replications <= 30% of equal allocation",
        "ok": bool(ok),
        "pcs": round(pcs, 4),
        "pcs_se": round(float(se), 4),
        "replications_mean": round(mean_used, 1),
        "replications_sd": round(float(np.std(used, ddof=1)), 1),
        "equal_allocation_n": n_eq,
        "equal_allocation_n_exact": n_exact,
        "equal_allocation_empirical_pcs": round(pcs_emp, 4),
        "equal_allocation_total": k * n_eq,
        "ratio": round(ratio, 3),
        "ratio_exact_n": round(mean_used / (k * n_exact), 3),
        "note": (
            f"PCS {pcs:.3f} (se {se:.3f}); {mean_used:.0f} replications vs "
            f"{k * n_eq} for equal allocation ({n_eq} each, empirical search; exact "
            f"{n_exact}) at PCS {target:.4f}: {100 * ratio:.0f}%"
        ),
    }


def run() -> list[dict]:
    macro = int(os.environ.get("BENCH_SELECTION_MACRO", "1000"))
    # comma-separated labels, each matched exactly ("slippage k=50" is not "... k=500")
    only = os.environ.get("BENCH_SELECTION_ONLY", "")
    which = [w.strip() for w in only.split(",") if w.strip()]
    workers = int(os.environ.get("BENCH_SELECTION_WORKERS", "1"))
    procedures = os.environ.get("BENCH_SELECTION_PROCEDURES", "kn").split(",")
    pool = ProcessPoolExecutor(workers) if workers > 1 else None
    pool_map = pool.map if pool is not None else map
    rows = []
    for k in (50, 500):
        for name, make in (("slippage", slippage_means), ("increasing means", increasing_means)):
            label = f"{name} k={k}"
            if which and label not in which:
                continue
            for procedure in procedures:
                rows.append(
                    one_configuration(name, make(k, DELTA)[:, 0], macro, pool_map, procedure)
                )
    if pool is not None:
        pool.shutdown()
    return rows


if __name__ == "__main__":
    import pandas as pd

    with pd.option_context(
        "display.width", 250, "display.max_columns", 20, "display.max_colwidth", 120
    ):
        print(pd.DataFrame(run()).to_string(index=False))
