"""A small stochastic simulator with a known truth, for testing calibration procedures.

Four BehaviorModel parameters drive four targets in closed form (so the truth is known
exactly); each replicate averages ``units`` noisy unit-level draws (normal values and
one Bernoulli proportion), so the simulator has Monte Carlo error like the real model
and a cost knob (``units``) for benchmarks. Not a model of mentoring: a test bench for
:mod:`toolkit.history_matching` (tests, benchmarks and docs use it).

>>> import pandas as pd
>>> sim = ToySimulator(replicates=4, units=10)
>>> pts = pd.DataFrame({"point": [0], "quality_base": [0.55], "meet_base": [2.0],
...                     "closure_engagement": [3.0], "quality_approach": [0.2]})
>>> sim(pts, seed=1)["target_id"].tolist()
['toy_quality', 'toy_meet', 'toy_closure', 'toy_approach']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.behavior import BehaviorModel

__all__ = ["PARAMETERS", "TARGETS", "ToySimulator", "toy_means", "toy_prior", "toy_targets"]

PARAMETERS = ("quality_base", "meet_base", "closure_engagement", "quality_approach")
TARGETS = ("toy_quality", "toy_meet", "toy_closure", "toy_approach")
_SD = np.array([0.1, np.nan, 0.3, 0.1])  # unit-level SD of the normal targets


def toy_prior() -> pd.DataFrame:
    """The BehaviorModel priors of the four parameters."""
    p = BehaviorModel.priors()
    return (
        p[p["parameter"].isin(PARAMETERS)]
        .set_index("parameter")
        .loc[list(PARAMETERS)]
        .reset_index()
    )


def toy_means(x: np.ndarray) -> np.ndarray:
    """The expected value of each target (columns) at each point (rows of ``x``)."""
    q, m, c, a = np.asarray(x, float).T
    return np.column_stack([q + 0.5 * a, 1 / (1 + np.exp(-(m - 1.5))), c * q / 2, a * m])


@dataclass(frozen=True)
class ToySimulator:
    """``simulate(points, seed)`` for history matching: value and mc_var per target."""

    replicates: int = 20
    units: int = 50

    def __call__(self, points: pd.DataFrame, seed: int) -> pd.DataFrame:
        x = points[list(PARAMETERS)].to_numpy(float)
        mu = toy_means(x)
        rng = np.random.default_rng(seed)
        n, r, u = len(x), self.replicates, self.units
        normal = rng.standard_normal((n, r, u, 3)).mean(axis=2)  # n x r x 3
        per_rep = np.empty((n, r, 4))
        per_rep[..., [0, 2, 3]] = mu[:, None, [0, 2, 3]] + _SD[[0, 2, 3]] * normal
        per_rep[..., 1] = (rng.random((n, r, u)) < mu[:, None, 1:2]).mean(axis=2)
        value = per_rep.mean(axis=1)
        mc_var = per_rep.var(axis=1, ddof=1) / r
        return pd.DataFrame(
            {
                "point": np.repeat(points["point"].to_numpy(), 4),
                "target_id": np.tile(TARGETS, n),
                "value": value.ravel(),
                "mc_var": mc_var.ravel(),
            }
        )


def toy_targets(
    truth: np.ndarray,
    seed: int,
    *,
    obs_sd: float = 0.02,
    discrepancy_sd: float = 0.01,
    n: int = 400,
) -> pd.DataFrame:
    """Targets observed from ``truth`` (one value per parameter): each expected value
    plus observation error and discrepancy drawn at the stated sizes. Target 1 is a
    published 95% interval, target 2 a proportion from ``n`` units, 3 and 4 values with
    a stated SD."""
    rng = np.random.default_rng(seed)
    mu = toy_means(np.asarray(truth, float)[None, :])[0]
    md = rng.normal(0, discrepancy_sd, 4)
    z0 = mu[0] + rng.normal(0, obs_sd) + md[0]
    p = float(np.clip(rng.binomial(n, mu[1]) / n + md[1], 0.001, 0.999))
    z2, z3 = mu[2] + rng.normal(0, obs_sd) + md[2], mu[3] + rng.normal(0, obs_sd) + md[3]
    return pd.DataFrame(
        {
            "target_id": list(TARGETS),
            "kind": ["interval", "proportion", "value", "value"],
            "low": [z0 - 1.96 * obs_sd, np.nan, np.nan, np.nan],
            "high": [z0 + 1.96 * obs_sd, np.nan, np.nan, np.nan],
            "observed": [np.nan, p, z2, z3],
            "n": [np.nan, n, np.nan, np.nan],
            "sd": [np.nan, np.nan, obs_sd, obs_sd],
            "discrepancy_sd": [discrepancy_sd] * 4,
            "discrepancy_reason": ["the toy's stated discrepancy (drawn at this size)"] * 4,
        }
    )
