"""Fit the model to a program's own logs: reference table, ABC, and the checks that gate it.

The method (simulation-based inference with a numpy core, no torch):

1. **Reference table** (:func:`reference_table`): ``points`` parameter sets drawn from the
   prior of :data:`FIT_PARAMETERS` (a Latin hypercube, :func:`toolkit.history_matching.
   prior_sample`), each simulated as one whole program of the observed program's shape
   (:class:`ProgramShape`: each pair's planned cadence and weeks observed, check-ins,
   meeting length) and summarised by :func:`toolkit.summaries.summarise`; plus
   :data:`HELD_OUT` programs drawn independently, kept apart for the calibration check.
   All programs of a chunk run stacked in one engine pass (one stacked replicate per
   program, each with its own random streams); the table is cached on disk under its
   fingerprint (toolkit version, shape, prior, points, seed), so it is built once per
   model version and program shape.
2. **Misspecification check** (:func:`misspecification`), before any inference: where each
   observed summary falls in the prior predictive distribution (its quantile among the
   reference table's summaries), and how far the observed summaries lie from their
   nearest simulated neighbours compared with the held-out synthetic programs. A summary
   outside the central 99.8% of the prior predictive, or a nearest-neighbour distance
   beyond the 99th percentile of the held-out programs', means the model cannot produce
   these data: no program-specific claim is made.
3. **ABC rejection with local-linear regression adjustment** (Beaumont, Zhang & Balding
   2002, Genetics 162:2025; :func:`abc_posterior`): summaries scaled by their median
   absolute deviation over the reference table, the ``accept`` nearest programs kept with
   Epanechnikov weights, parameters (on the logit scale of their prior range, so adjusted
   draws stay inside it) regressed on the summaries by weighted least squares and
   adjusted to the observed summaries. Written by hand in numpy (a few batched lines),
   because the adjustment needs a batch of fits at once for the calibration check and
   the ABC packages (pyabc, abcpy) are built around their own samplers and storage.
4. **Simulation-based calibration and expected coverage** (Talts et al. 2018,
   arXiv:1804.06788; :func:`calibration_check`): the held-out programs are fitted as if
   observed; the rank of each true parameter among its posterior draws, and the share
   of true values inside the central 50% and 90% posterior intervals. A parameter whose
   coverage is more than 5 points from nominal is not calibrated: its posterior is not
   reported as a finding about the program, and in the written ensemble it keeps its
   prior (:func:`fit_program`). The gate is :func:`coverage_gate`; the held-out programs
   are fitted a chunk of rows at a time (:func:`_abc_chunks`, at most about 64 MB of
   arrays per chunk), with results identical to one batch: for the example program's
   table (10,000 + 1,000 programs, 24 summaries, 2,000 accepted) the pass's traced peak
   is 48 MB, against 1.3 GB in one batch (``benchmarks/bench_fit.checks_peak``).

**How many held-out programs.** For a perfectly calibrated parameter each held-out
program's true value falls inside its 50% interval with probability 0.5 and inside its
90% interval with 0.9, so the empirical coverages are binomial shares. With
:data:`HELD_OUT` = 1,000 programs their Monte Carlo sd is 1.6 points (50%) and 0.95
points (90%), and the exact chance that the 5-point gate flags a calibrated parameter
(:func:`gate_false_flag`, the two coverages counted jointly) is 0.14% per parameter
(0.139% from the 50% interval, 3e-7 from the 90% one), so at most 1.0% that any of the 7
fitted parameters is flagged (7 x 0.139%, a union bound that holds whatever their
dependence; 0.97% if they were independent). With 200 programs it was 14.7% per
parameter and 67% for any of 7 (if independent): the gate refused calibrated fits by
simulation noise. The gate still catches real miscalibration at 1,000: a parameter whose
true 50% coverage is 0.43 (7 points off) is flagged with probability 0.89, at 0.42 with
0.97; a true 90% coverage of 0.83 with 0.95 (a true coverage exactly 5 points off is
flagged half the time).

The posterior is written as an :class:`toolkit.ensemble.Ensemble` file (``models.parquet``)
that studies and advice accept.

Monte Carlo error of the reference table is part of the posterior's width (each program
in it is one noisy simulation); coverage is measured, not assumed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit import _seeding
from toolkit._io import write_table
from toolkit._version import __version__
from toolkit.behavior import BehaviorModel
from toolkit.ensemble import Ensemble
from toolkit.errors import InvalidParameterError
from toolkit.history_matching import prior_sample
from toolkit.logs import ProgramLogs, ProgramTables, from_simulation
from toolkit.summaries import SUMMARIES, SummarySpec, summarise, summary_spec

# The engine, the cohort generator and the matching (scipy.optimize) are imported where a
# program is simulated, not here: fitting a program once its reference table is cached
# simulates nothing, and a cold ``rmt fit`` should not pay for them.

__all__ = [
    "EXAMPLE_SEED",
    "EXAMPLE_SHAPE",
    "EXAMPLE_TRUTH",
    "FIT_PARAMETERS",
    "HELD_OUT",
    "FitResult",
    "ProgramShape",
    "ReferenceTable",
    "abc_posterior",
    "calibration_check",
    "coverage_gate",
    "example_logs",
    "fit_program",
    "fit_report_html",
    "fit_prior",
    "gate_false_flag",
    "misspecification",
    "program_cohorts",
    "reference_table",
    "simulate_latent",
    "simulate_programs",
    "synthetic_logs",
    "table_checks",
    "write_example_logs",
    "write_fit",
]

#: The parameters a program's logs can speak to: holding meetings (meet_base, meet_gap),
#: what a missed meeting costs (engagement_miss), the closure hazards (closure_base,
#: closure_outside, closure_gap) and the time senior mentees have (mentee_hours_month).
FIT_PARAMETERS = (
    "meet_base",
    "meet_gap",
    "engagement_miss",
    "closure_base",
    "closure_outside",
    "closure_gap",
    "mentee_hours_month",
)
#: Held-out synthetic programs in every reference table (the calibration check's sample;
#: 1,000 so that a calibrated parameter is flagged by the 5-point gate with probability
#: 0.14%, see the module docstring and :func:`gate_false_flag`).
HELD_OUT = 1_000
_COHORTS = 8  # synthetic cohorts the simulated programs rotate through
_CHUNK_PAIR_WEEKS = 1_500_000
_MISFIT_Q = 0.001  # a summary below this prior-predictive quantile (or above 1 - it)
_JOINT_Q = 0.99  # nearest-neighbour distance quantile of held-out programs
_COVERAGE_TOL = 0.05
# memory budget of one chunk of the batched ABC (_abc_chunks): the calibration check
# fits the HELD_OUT programs this many bytes of arrays at a time
_ABC_CHUNK_BYTES = 64 * 2**20
_OWNER = "fit_program"
# The summary statistics' version: bumped when a summary is added or changed, so a cached
# reference table of other summaries is not reused (2: contact_gaps added; 3:
# hazard_regressions added).
_SUMMARIES_VERSION = 3
# The version of the cached checks of a reference table (table_checks): bumped when the
# ABC or the calibration check changes.
_CHECKS_VERSION = 1


def fit_prior(parameters: tuple[str, ...] = FIT_PARAMETERS) -> pd.DataFrame:
    """The prior of the fitted parameters: their rows of :meth:`BehaviorModel.priors`."""
    p = BehaviorModel.priors().set_index("parameter").loc[list(parameters)].reset_index()
    return p


# --------------------------------------------------------------------------- simulation


@dataclass(frozen=True)
class ProgramShape:
    """What a simulated program must look like to compare with the observed one: each
    pair's planned cadence and weeks observed, whether there are check-ins, the length of
    a meeting (minutes)."""

    cadence: tuple[str, ...]
    observed_weeks: tuple[int, ...]
    checkins: bool = True
    minutes: float = 60.0

    @classmethod
    def from_logs(cls, logs: ProgramLogs) -> ProgramShape:
        t = logs.tables()
        return cls(
            cadence=tuple(t.pairs["cadence"]),
            observed_weeks=tuple(int(w) for w in t.pairs["observed_weeks"]),
            checkins=bool(len(t.checkins)),
            minutes=round(float(logs.minutes), 1),
        )

    @property
    def n_pairs(self) -> int:
        return len(self.cadence)

    @property
    def horizon(self) -> int:
        return max(self.observed_weeks)

    def to_dict(self) -> dict:
        return {
            "cadence": list(self.cadence),
            "observed_weeks": list(self.observed_weeks),
            "checkins": self.checkins,
            "minutes": self.minutes,
        }


def program_cohorts(shape: ProgramShape, seed: int, count: int = _COHORTS) -> list[tuple]:
    """A few synthetic cohorts of the program's size, each randomly matched (the program's
    real people are not known to the model); programs rotate through them."""
    from toolkit import _engine
    from toolkit.cohort import CohortSpec, generate_cohort
    from toolkit.matching import match

    n = shape.n_pairs
    out = []
    for k in range(count):
        s = _seeding.int_seed(seed, "fit_cohort", k)
        cohort = generate_cohort(CohortSpec(n_mentors=n + max(n // 5, 1), n_mentees=n, seed=s))
        e_pos, m_pos = _engine.matching_positions(
            cohort, match(cohort, policy="random", seed=s), _OWNER
        )
        out.append((_engine.cohort_features(cohort), e_pos, m_pos))
    return out


def simulate_programs(
    shape: ProgramShape,
    points: pd.DataFrame,
    *,
    seed: int = 0,
    first: int = 0,
    cohorts: list | None = None,
    coach_weeks: tuple[int, ...] = (),
    behaviors: list[BehaviorModel] | None = None,
) -> ProgramTables:
    """Simulate one program of ``shape`` per row of ``points`` (parameter columns set on
    the default :class:`BehaviorModel`); return them stacked as :class:`ProgramTables`
    with ``program`` = row position. Program ``first + k`` uses random stream ``first +
    k`` under ``seed``, so chunks simulated apart equal one pass. All programs and pairs
    of a cadence run in one engine pass: no loop over programs.

    ``behaviors`` may hold the models of ``points`` already built (one per row).
    ``coach_weeks`` replaces the check-in plan with a coordinator check-in in those weeks
    that coaches every active pair (the counterfactual "a check-in now" of
    :mod:`toolkit.watch`); with no plan coaching nothing, the weeks before it run exactly
    as without it (common random numbers: each draw has its own named stream).
    """

    return _run_programs(
        shape,
        points,
        seed=seed,
        first=first,
        cohorts=cohorts,
        coach_weeks=coach_weeks,
        behaviors=behaviors,
    )[0]


def simulate_latent(
    shape: ProgramShape,
    points: pd.DataFrame,
    latent: tuple[str, ...] = ("engagement", "quality"),
    **options,
) -> tuple[ProgramTables, pd.DataFrame]:
    """:func:`simulate_programs` (same ``options``), and what the logs do not show: the
    engine's weekly ``latent`` columns (engagement, quality) for every pair-week (program,
    pair, week), e.g. for an oracle that knows each pair's engagement."""
    return _run_programs(shape, points, latent=tuple(latent), **options)


def _run_programs(
    shape: ProgramShape,
    points: pd.DataFrame,
    *,
    seed: int = 0,
    first: int = 0,
    cohorts: list | None = None,
    coach_weeks: tuple[int, ...] = (),
    behaviors: list[BehaviorModel] | None = None,
    latent: tuple[str, ...] = (),
) -> tuple[ProgramTables, pd.DataFrame]:
    """:func:`simulate_programs`, and the weekly ``latent`` columns of the engine's weeks
    table (program, pair, week and those columns; none when empty)."""
    from toolkit import _engine
    from toolkit.program import ProgramDesign

    cohorts = program_cohorts(shape, seed) if cohorts is None else cohorts
    n_prog = len(points)
    if behaviors is None:
        base = BehaviorModel()
        behaviors = [base.replace(**row) for row in points.to_dict("records")]
    cadence = np.asarray(shape.cadence, dtype=object)
    weeks, events = [], []
    for cad in pd.unique(cadence):
        slots = np.flatnonzero(cadence == cad)  # the pairs (mentee positions) of this cadence
        design = ProgramDesign(
            duration_weeks=shape.horizon,
            cadence=str(cad),
            meeting_minutes=shape.minutes,
            checkins=(
                tuple(coach_weeks) if coach_weeks else "monthly" if shape.checkins else "none"
            ),
            on_flag="coach" if coach_weeks else "none",
            flag_rating=5.0 if coach_weeks else 2.0,
        )
        which = np.arange(first, first + n_prog) % len(cohorts)
        stack = _engine.Stack(
            features=[cohorts[w][0] for w in which],
            replicates=np.arange(first, first + n_prog),
            rep=np.repeat(np.arange(n_prog), len(slots)),
            mentee=np.concatenate([cohorts[w][1][slots] for w in which]),
            mentor=np.concatenate([cohorts[w][2][slots] for w in which]),
        )
        out = _engine.run(
            stack, design, behaviors, seed, "fit", capacity=2, want=("weeks", "events")
        )
        weeks.append(out["weeks"][["replicate", "pair_id", "week", "scheduled", "met", *latent]])
        ev = out["events"]
        events.append(ev[ev["event"].isin(["checkin", "closure"])])
    w = pd.concat(weeks, ignore_index=True)
    e = pd.concat(events, ignore_index=True)
    w["replicate"] = w["replicate"].to_numpy(np.int64) - first
    e["replicate"] = e["replicate"].to_numpy(np.int64) - first
    tables = from_simulation(w, e, cadence=shape.cadence, observed_weeks=shape.observed_weeks)
    if not latent:
        return tables, pd.DataFrame()
    hidden = w[["replicate", "pair_id", "week", *latent]].rename(
        columns={"replicate": "program", "pair_id": "pair"}
    )
    return tables, hidden


# --------------------------------------------------------------------------- reference table


@dataclass(frozen=True)
class ReferenceTable:
    """Prior simulations of one program shape: parameters ``theta`` (rows = programs),
    their ``summaries``, which rows are held out, and the fingerprint of the inputs."""

    theta: pd.DataFrame
    summaries: pd.DataFrame
    held_out: np.ndarray
    prior: pd.DataFrame
    spec: SummarySpec
    shape: ProgramShape
    fingerprint: str
    seed: int

    @property
    def train(self) -> tuple[np.ndarray, np.ndarray]:
        keep = ~self.held_out
        return self.theta.to_numpy(float)[keep], self.summaries.to_numpy(float)[keep]

    @property
    def test(self) -> tuple[np.ndarray, np.ndarray]:
        return (
            self.theta.to_numpy(float)[self.held_out],
            self.summaries.to_numpy(float)[self.held_out],
        )


def _cache_dir() -> Path:
    return Path(os.environ.get("RMT_CACHE_DIR", Path.home() / ".cache" / "rmt")) / "reference"


def _fingerprint(
    shape: ProgramShape,
    spec: SummarySpec,
    prior: pd.DataFrame,
    points: int,
    held_out: int,
    seed: int,
) -> str:
    blob = json.dumps(
        {
            "toolkit": __version__,
            "shape": shape.to_dict(),
            "spec": spec.to_dict(),
            "summaries": [*SUMMARIES, _SUMMARIES_VERSION],
            "prior": prior[["parameter", "distribution", "low", "high"]].to_dict("records"),
            "points": points,
            "held_out": held_out,
            "seed": seed,
            "parameters": BehaviorModel().to_dict(),
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def reference_table(
    shape: ProgramShape,
    spec: SummarySpec,
    *,
    points: int = 10_000,
    held_out: int = HELD_OUT,
    seed: int = 0,
    prior: pd.DataFrame | None = None,
    cache: bool = True,
    progress: bool = True,
) -> ReferenceTable:
    """Simulate ``points`` prior draws and ``held_out`` independent ones as programs of
    ``shape``; return (and cache) their parameters and summaries.

    The cache file is ``$RMT_CACHE_DIR/reference/<fingerprint>.parquet`` (default
    ``~/.cache/rmt``); any change of toolkit version, default model, shape, prior, size or
    seed gives another fingerprint.
    """
    prior = fit_prior() if prior is None else prior
    fp = _fingerprint(shape, spec, prior, points, held_out, seed)
    path = _cache_dir() / f"{fp}.parquet"
    names = list(prior["parameter"])
    if cache and path.is_file():
        frame = pd.read_parquet(path)
        theta = frame[[f"theta:{n}" for n in names]].set_axis(names, axis=1)
        sums = frame[[c for c in frame.columns if c.startswith("sum:")]]
        sums = sums.set_axis([c[4:] for c in sums.columns], axis=1)
        return ReferenceTable(
            theta, sums, frame["held_out"].to_numpy(bool), prior, spec, shape, fp, seed
        )
    train = prior_sample(prior, points, seed, stream=("fit", "train"))
    test = prior_sample(prior, held_out, seed, stream=("fit", "held_out"))
    theta = pd.concat([train, test], ignore_index=True)
    cohorts = program_cohorts(shape, seed)
    chunk = max(1, _CHUNK_PAIR_WEEKS // max(shape.n_pairs * shape.horizon, 1))
    starts = range(0, len(theta), chunk)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="reference table", unit="chunk")
    parts = []
    for s in starts:
        rows = theta.iloc[s : s + chunk]
        tables = simulate_programs(shape, rows, seed=seed, first=s, cohorts=cohorts)
        parts.append(summarise(tables, spec, n_programs=len(rows)))
    sums = pd.concat(parts, ignore_index=True)
    flag = np.r_[np.zeros(points, bool), np.ones(held_out, bool)]
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        frame = pd.concat([theta.add_prefix("theta:"), sums.add_prefix("sum:")], axis=1)
        frame["held_out"] = flag
        write_table(frame, path)
    return ReferenceTable(theta, sums, flag, prior, spec, shape, fp, seed)


# --------------------------------------------------------------------------- ABC


def _scale(summaries: np.ndarray) -> np.ndarray:
    med = np.median(summaries, axis=0)
    mad = 1.4826 * np.median(np.abs(summaries - med), axis=0)
    sd = summaries.std(axis=0)
    return np.where(mad > 0, mad, np.where(sd > 0, sd, 1.0))


def _logit_box(theta: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    u = np.clip((theta - lo) / (hi - lo), 1e-6, 1 - 1e-6)
    return np.log(u / (1 - u))


def _expit_box(z: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return lo + (hi - lo) / (1 + np.exp(-z))


def abc_posterior(
    ref: ReferenceTable, observed: np.ndarray, *, accept: int | None = None, adjust: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posterior draws for each row of ``observed`` (B x summaries).

    Returns ``(draws, weights, distance)``: draws B x accept x parameters (regression-
    adjusted unless ``adjust=False``), Epanechnikov weights B x accept, and each row's
    acceptance distance (the ``accept``-th nearest scaled distance). Batched over rows
    (one matrix product and one batched solve per chunk of rows, :func:`_abc_chunks`);
    each row's result does not depend on the chunking.
    """
    parts = list(_abc_chunks(ref, observed, accept=accept, adjust=adjust))
    return (
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
        np.concatenate([p[3] for p in parts]),
    )


def _abc_rows(n_train: int, k: int, n_sums: int, n_params: int) -> int:
    """Rows of ``observed`` per chunk so that the batched ABC's arrays stay within
    :data:`_ABC_CHUNK_BYTES`: per row, three float64 rows of distances to the ``n_train``
    programs, and over the ``k`` accepted programs the regression's design (three arrays
    of ``n_sums + 1`` columns) and six of ``n_params`` (draws, their logits, residuals and
    the quantiles' sort)."""
    per_row = 8 * (3 * n_train + k * (3 * (n_sums + 1) + 6 * n_params + 2))
    return max(1, _ABC_CHUNK_BYTES // per_row)


def _row_chunks(n: int, step: int) -> list[slice]:
    """Consecutive slices of ``n`` rows, ``step`` (at least 2) at a time. No slice holds a
    single row of several: BLAS computes a one-row matrix product with another kernel
    (a matrix-vector product) whose last bits differ, and each row's result must not
    depend on the chunking.

    >>> [(s.start, s.stop) for s in _row_chunks(7, 3)]
    [(0, 3), (3, 7)]
    >>> [(s.start, s.stop) for s in _row_chunks(1, 3)]
    [(0, 1)]
    """
    step = max(2, step)
    starts = list(range(0, n, step))
    if len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    return [slice(a, b) for a, b in zip(starts, [*starts[1:], n], strict=True)]


def _abc_chunks(
    ref: ReferenceTable, observed: np.ndarray, *, accept: int | None = None, adjust: bool = True
):
    """:func:`abc_posterior` chunk by chunk: yields ``(rows, draws, weights, distance)``
    for consecutive slices ``rows`` of ``observed``, so a caller that reduces each chunk
    (the calibration check over the held-out programs) keeps its memory bounded."""
    theta, sums = ref.train
    obs = np.atleast_2d(np.asarray(observed, float))
    k = min(accept or max(200, len(theta) // 5), len(theta))
    scale = _scale(sums)
    z_ref = sums / scale
    ref2 = (z_ref**2).sum(1)[None, :]
    lo = ref.prior["low"].to_numpy(float)
    hi = ref.prior["high"].to_numpy(float)
    for rows in _row_chunks(len(obs), _abc_rows(len(theta), k, sums.shape[1], theta.shape[1])):
        z_obs = obs[rows] / scale
        d2 = (z_obs**2).sum(1)[:, None] + ref2 - 2.0 * z_obs @ z_ref.T
        dist = np.sqrt(np.maximum(d2, 0.0))
        del d2
        idx = np.argpartition(dist, k - 1, axis=1)[:, :k]
        d = np.take_along_axis(dist, idx, axis=1)
        del dist
        h = d.max(axis=1, keepdims=True) * (1 + 1e-9) + 1e-12
        w = 1.0 - (d / h) ** 2
        y = _logit_box(theta[idx], lo, hi)  # B x k x p
        if adjust:
            x = z_ref[idx] - z_obs[:, None, :]  # B x k x s
            xd = np.concatenate([np.ones(x.shape[:2] + (1,)), x], axis=2)
            del x
            xtw = np.swapaxes(xd * w[..., None], 1, 2)  # B x (s+1) x k
            a = xtw @ xd
            ridge = 1e-6 * np.trace(a, axis1=1, axis2=2)[:, None, None] * np.eye(a.shape[1])
            beta = np.linalg.solve(a + ridge, xtw @ y)  # B x (s+1) x p
            del xtw
            # residuals around the fit at the observed summaries, widened for the degrees
            # of freedom the regression used (effective sample size of the weights)
            k_eff = w.sum(1) ** 2 / (w**2).sum(1)
            widen = np.sqrt(k_eff / np.maximum(k_eff - xd.shape[2], 1.0))[:, None, None]
            y = beta[:, :1, :] + widen * (y - xd @ beta)
        yield rows, _expit_box(y, lo, hi), w, h[:, 0]


def _weighted_quantiles(
    draws: np.ndarray, weights: np.ndarray, qs: tuple[float, ...]
) -> np.ndarray:
    """Quantiles of weighted draws: B x k x p, weights B x k -> len(qs) x B x p."""
    order = np.argsort(draws, axis=1)
    sd = np.take_along_axis(draws, order, axis=1)
    sw = np.take_along_axis(np.broadcast_to(weights[..., None], draws.shape), order, axis=1)
    cw = np.cumsum(sw, axis=1)
    cw = (cw - 0.5 * sw) / cw[:, -1:, :]
    out = []
    for q in qs:
        pos = (cw < q).sum(axis=1).clip(1, draws.shape[1] - 1)
        lo_i, hi_i = pos - 1, pos
        c_lo = np.take_along_axis(cw, lo_i[:, None, :], 1)[:, 0]
        c_hi = np.take_along_axis(cw, hi_i[:, None, :], 1)[:, 0]
        v_lo = np.take_along_axis(sd, lo_i[:, None, :], 1)[:, 0]
        v_hi = np.take_along_axis(sd, hi_i[:, None, :], 1)[:, 0]
        t = np.clip((q - c_lo) / np.where(c_hi > c_lo, c_hi - c_lo, 1.0), 0.0, 1.0)
        out.append(v_lo + t * (v_hi - v_lo))
    return np.stack(out)


def coverage_gate(theta: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The calibration gate: ``theta`` (programs x parameters) the true values, ``q``
    (4 x programs x parameters) their posterior 5%, 25%, 75% and 95% quantiles. Returns
    the empirical coverage of the central 50% and 90% intervals per parameter and whether
    both are within 5 points of nominal ("within" includes 5 points exactly: 550 of 1,000
    is 0.55, not 0.55 + 4e-17)."""
    cov50 = ((theta >= q[1]) & (theta <= q[2])).mean(axis=0)
    cov90 = ((theta >= q[0]) & (theta <= q[3])).mean(axis=0)
    tol = _COVERAGE_TOL + 1e-9
    ok = (np.abs(cov50 - 0.5) <= tol) & (np.abs(cov90 - 0.9) <= tol)
    return cov50, cov90, ok


def gate_false_flag(programs: int = HELD_OUT) -> tuple[float, float, float]:
    """Exact chance that the gate (:func:`coverage_gate`) flags a perfectly calibrated
    parameter checked on ``programs`` held-out programs: (50% interval off, 90% interval
    off, either). Each program's true value falls inside the 50% interval with probability
    0.5, inside the 90% but not the 50% with 0.4, outside with 0.1 (a trinomial), so the
    two coverages are counted jointly rather than as independent binomials."""
    from scipy.stats import binom

    tol = _COVERAGE_TOL + 1e-9
    n = programs
    a = np.arange(n + 1)
    p_in50 = binom.pmf(a, n, 0.5)
    ok50 = np.abs(a / n - 0.5) <= tol
    ok90 = np.abs(a / n - 0.9) <= tol
    off50 = float(p_in50[~ok50].sum())
    off90 = float(binom.pmf(a, n, 0.9)[~ok90].sum())
    # given x inside the 50% interval, inside the 90% one: x + Bin(n - x, 0.4 / 0.5)
    passed = 0.0
    for x in np.flatnonzero(ok50):
        b = np.arange(n - x + 1)
        inside90 = np.abs((x + b) / n - 0.9) <= tol
        passed += p_in50[x] * binom.pmf(b[inside90], n - x, 0.8).sum()
    return off50, off90, float(1.0 - passed)


def calibration_check(ref: ReferenceTable, *, accept: int | None = None) -> pd.DataFrame:
    """SBC ranks and expected coverage on the held-out programs, per parameter.

    Columns: parameter, programs, coverage_50, coverage_90, rank_chi2_p (chi-square test of
    uniform SBC ranks in 10 bins), contraction (mean posterior 90% width / prior width),
    calibrated (both coverages within 5 points of nominal).
    """
    return _calibration(ref, accept)[0]


def _calibration(ref: ReferenceTable, accept: int | None) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`calibration_check`'s table and the held-out programs' acceptance distances
    (the joint misspecification check's reference), from one batched ABC pass."""
    from scipy.stats import chisquare

    theta, sums = ref.test
    qs, ranks, h_parts = [], [], []
    for rows, draws, w, h in _abc_chunks(ref, sums, accept=accept):
        qs.append(_weighted_quantiles(draws, w, (0.05, 0.25, 0.75, 0.95)))
        below = draws < theta[rows][:, None, :]
        ranks.append((w[..., None] * below).sum(1) / w.sum(1)[:, None])
        h_parts.append(h)
        del draws, below
    q = np.concatenate(qs, axis=1)
    rank = np.concatenate(ranks)
    h_test = np.concatenate(h_parts)
    bins = np.minimum((rank * 10).astype(int), 9)
    p_rank = [
        float(chisquare(np.bincount(bins[:, j], minlength=10)).pvalue)
        for j in range(theta.shape[1])
    ]
    width = (ref.prior["high"] - ref.prior["low"]).to_numpy(float)
    contraction = ((q[3] - q[0]) / width).mean(axis=0)
    cov50, cov90, ok = coverage_gate(theta, q)
    table = pd.DataFrame(
        {
            "parameter": list(ref.prior["parameter"]),
            "programs": len(theta),
            "coverage_50": cov50,
            "coverage_90": cov90,
            "rank_chi2_p": p_rank,
            "contraction": contraction,
            "calibrated": ok,
        }
    )
    return table, h_test


def table_checks(
    ref: ReferenceTable, *, accept: int | None = None, cache: bool = True
) -> tuple[pd.DataFrame, float]:
    """What a reference table says about itself, whatever program is fitted to it: the
    calibration table (:func:`calibration_check`) and the joint misspecification
    threshold (the 99th percentile of the held-out programs' acceptance distances).

    Cached beside the table (``<fingerprint>.checks-<accept>.json``), so fitting a new
    program to a cached table does not fit the held-out programs again; the JSON
    round trip of the numbers is exact.
    """
    path = _cache_dir() / f"{ref.fingerprint}.checks{_CHECKS_VERSION}-{accept or 'auto'}.json"
    if cache and path.is_file():
        saved = json.loads(path.read_text())
        return pd.DataFrame(saved["calibration"]), float(saved["threshold"])
    calib, h_test = _calibration(ref, accept)
    threshold = float(np.quantile(h_test, _JOINT_Q))
    if cache:
        from toolkit._io import write_text

        path.parent.mkdir(parents=True, exist_ok=True)
        blob = {"calibration": calib.to_dict("list"), "threshold": threshold}
        write_text(json.dumps(blob), path, formats=(".json",))
    return calib, threshold


def misspecification(
    ref: ReferenceTable,
    observed: np.ndarray,
    *,
    accept: int | None = None,
    threshold: float | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Where each observed summary falls in the prior predictive, and the joint check.

    Returns (per-summary table: summary, observed, prior q01, q50, q99, quantile, outside;
    joint dict: distance, threshold, outside). A summary is outside when its prior-
    predictive quantile is below 0.001 or above 0.999; the joint check compares the
    observed acceptance distance with the 99th percentile of the held-out programs'
    (``threshold``, when :func:`table_checks` has it already).
    """
    _, sums = ref.train
    obs = np.asarray(observed, float)
    below = (sums < obs).mean(axis=0)
    equal = (sums == obs).mean(axis=0)
    quant = below + 0.5 * equal
    table = pd.DataFrame(
        {
            "summary": list(ref.summaries.columns),
            "observed": obs,
            "prior_q01": np.quantile(sums, 0.01, axis=0),
            "prior_q50": np.quantile(sums, 0.5, axis=0),
            "prior_q99": np.quantile(sums, 0.99, axis=0),
            "quantile": quant,
            "outside": (quant < _MISFIT_Q) | (quant > 1 - _MISFIT_Q),
        }
    )
    if threshold is None:
        _, test = ref.test
        chunks = _abc_chunks(ref, test, accept=accept, adjust=False)
        h_test = np.concatenate([h for _, _, _, h in chunks])
        threshold = float(np.quantile(h_test, _JOINT_Q))
    _, _, h_obs = abc_posterior(ref, obs, accept=accept, adjust=False)
    joint = {
        "distance": float(h_obs[0]),
        "threshold": threshold,
        "outside": bool(h_obs[0] > threshold),
    }
    return table, joint


# --------------------------------------------------------------------------- a program's fit


@dataclass(frozen=True)
class FitResult:
    """A program's fit: parameters (prior, posterior 5/50/95%, contraction, coverage,
    calibrated, pinned), summaries (observed, prior predictive, posterior predictive,
    outside), the calibration table, the joint misspecification check, the posterior
    draws, the ensemble (None when the model cannot reproduce the data) and plain
    sentences saying what may be claimed."""

    parameters: pd.DataFrame
    summaries: pd.DataFrame
    calibration: pd.DataFrame
    joint: dict
    posterior: pd.DataFrame
    ensemble: Ensemble | None
    messages: tuple[str, ...]
    reference: ReferenceTable

    @property
    def misspecified(self) -> bool:
        return bool(self.summaries["outside"].any() or self.joint["outside"])


def fit_program(
    logs: ProgramLogs,
    *,
    points: int = 10_000,
    seed: int = 0,
    accept: int | None = None,
    models: int = 400,
    cache: bool = True,
    progress: bool = True,
) -> FitResult:
    """Fit the model to one program's logs (see the module for the method and its checks).

    ``models`` is the number of posterior draws written to the ensemble (resampled by
    their ABC weights with the seed stream ``("fit", "resample")``). Parameters whose
    coverage check fails keep their prior in the ensemble; when the misspecification
    check fails no ensemble is made.
    """
    tables = logs.tables()
    spec = summary_spec(tables)
    shape = ProgramShape.from_logs(logs)
    if shape.n_pairs < 1:
        raise InvalidParameterError("The logs hold no pair that started by their last date.")
    ref = reference_table(shape, spec, points=points, seed=seed, cache=cache, progress=progress)
    observed = summarise(tables, spec).to_numpy(float)[0]
    calib, threshold = table_checks(ref, accept=accept, cache=cache)
    misfit, joint = misspecification(ref, observed, accept=accept, threshold=threshold)
    draws, w, _ = abc_posterior(ref, observed, accept=accept)
    names = list(ref.prior["parameter"])
    lo = ref.prior["low"].to_numpy(float)
    hi = ref.prior["high"].to_numpy(float)
    q = _weighted_quantiles(draws, w, (0.05, 0.5, 0.95))[:, 0, :]
    contraction = (q[2] - q[0]) / (hi - lo)
    calibrated = calib["calibrated"].to_numpy(bool)
    params = pd.DataFrame(
        {
            "parameter": names,
            "prior_low": lo,
            "prior_high": hi,
            "q05": q[0],
            "q50": q[1],
            "q95": q[2],
            "contraction": contraction,
            "coverage_50": calib["coverage_50"].to_numpy(),
            "coverage_90": calib["coverage_90"].to_numpy(),
            "calibrated": calibrated,
            "pinned": calibrated & (contraction <= 0.5),
        }
    )
    gen = _seeding.rng(seed, "fit", "resample")
    p = w[0] / w[0].sum()
    pick = gen.choice(len(p), size=models, replace=True, p=p)
    post = pd.DataFrame(draws[0, pick], columns=names)
    # posterior predictive: the accepted programs' summaries, weighted
    _, sums = ref.train
    dist_idx = _nearest(ref, observed, w.shape[1])
    pp = sums[dist_idx]
    pp_q = np.quantile(pp, [0.05, 0.5, 0.95], axis=0)
    misfit = misfit.assign(posterior_q05=pp_q[0], posterior_q50=pp_q[1], posterior_q95=pp_q[2])
    messages = []
    ensemble = None
    if misfit["outside"].any() or joint["outside"]:
        bad = list(misfit.loc[misfit["outside"], "summary"])
        why = (
            f"the observed {', '.join(bad)} lie outside what the model produces"
            if bad
            else "the observed summaries together lie farther from every simulated program "
            "than 99% of synthetic programs do"
        )
        messages.append(
            f"The model cannot reproduce these logs ({why}); no claim about this "
            "program is made and no models file is written."
        )
    else:
        # independent uniform draws over the prior box (prior_sample would be a Latin
        # hypercube, but it imports scipy.stats, a second of a cold fit, for 400 draws)
        fill = _seeding.rng(seed, "fit", "prior_fill").uniform(lo, hi, size=(models, len(lo)))
        for j, (name, ok) in enumerate(zip(names, calibrated, strict=True)):
            if not ok:
                post[name] = fill[:, j]
        ensemble = Ensemble(
            post,
            prior=ref.prior,
            targets=pd.DataFrame({"target_id": list(ref.summaries.columns), "observed": observed}),
            procedure={
                "name": "abc_regression",
                "points": points,
                "accept": int(w.shape[1]),
                "reference": ref.fingerprint,
                "held_out": int(ref.held_out.sum()),
                "uncalibrated_kept_prior": [
                    n for n, ok in zip(names, calibrated, strict=True) if not ok
                ],
            },
            seed=seed,
            diagnostics={"calibration": calib.to_dict("records"), "joint": joint},
        )
        pinned = list(params.loc[params["pinned"], "parameter"])
        loose = [n for n in names if n not in pinned]
        messages.append(
            "The logs pin down "
            + (", ".join(pinned) if pinned else "none of the fitted inputs")
            + " (posterior 90% range at most half the prior's, "
            "with calibrated coverage); "
            + (", ".join(loose) if loose else "none")
            + " stay close to their priors or are not calibrated."
        )
        if not calibrated.all():
            messages.append(
                "Coverage on held-out synthetic programs is off by more than 5 "
                "points for "
                + ", ".join(n for n, ok in zip(names, calibrated, strict=True) if not ok)
                + "; those inputs keep their prior in the models file."
            )
    return FitResult(params, misfit, calib, joint, post, ensemble, tuple(messages), ref)


def _nearest(ref: ReferenceTable, observed: np.ndarray, k: int) -> np.ndarray:
    _, sums = ref.train
    scale = _scale(sums)
    d = np.sqrt((((sums - observed) / scale) ** 2).sum(axis=1))
    return np.argpartition(d, k - 1)[:k]


def synthetic_logs(
    shape: ProgramShape,
    truth: dict[str, float] | None = None,
    *,
    seed: int = 0,
    start: str = "2026-01-05",
    stagger_weeks: int = 4,
) -> tuple[dict[str, pd.DataFrame], str]:
    """Dated logs of one synthetic program of ``shape`` simulated from ``truth`` (fitted
    parameters set on the default model; the defaults when None), with pair starts
    staggered over ``stagger_weeks`` weeks. The shape's observed weeks are shortened by
    each pair's stagger, so the logs end on one date. Returns (logs, as-of date as
    ISO text). Its own cohorts (seed stream ``"synthetic_logs"``), not the reference
    table's.
    """
    import datetime as dt

    from toolkit.logs import to_logs

    truth = {n: getattr(BehaviorModel(), n) for n in FIT_PARAMETERS} | dict(truth or {})
    gen = _seeding.rng(seed, "synthetic_logs", "stagger")
    lag = (
        gen.integers(0, stagger_weeks, size=shape.n_pairs)
        if stagger_weeks > 1
        else np.zeros(shape.n_pairs, np.int64)
    )
    seen = tuple(int(w) for w in np.asarray(shape.observed_weeks) - lag)
    cut = ProgramShape(shape.cadence, seen, shape.checkins, shape.minutes)
    cohorts = program_cohorts(
        ProgramShape(shape.cadence, shape.observed_weeks), _seeding.int_seed(seed, "synthetic_logs")
    )
    sim = ProgramShape(shape.cadence, shape.observed_weeks, shape.checkins, shape.minutes)
    tables = simulate_programs(
        sim,
        pd.DataFrame([truth]),
        seed=_seeding.int_seed(seed, "synthetic_logs", "run"),
        cohorts=cohorts,
    )
    tables = _cut(tables, np.asarray(cut.observed_weeks))
    first = dt.date.fromisoformat(start)
    starts = [first + dt.timedelta(weeks=int(k)) for k in lag]
    as_of = first + dt.timedelta(days=7 * (shape.horizon - 1) + 6)
    return to_logs(tables, start=starts, minutes=shape.minutes), as_of.isoformat()


def _cut(tables: ProgramTables, seen: np.ndarray) -> ProgramTables:
    """Tables cut at each pair's observed weeks (endings after the cut are not seen)."""
    p = tables.pairs.copy()
    limit = seen[p["pair"].to_numpy()]
    closed = p["closed_week"].to_numpy()
    hidden = closed > limit
    p["closed_week"] = np.where(hidden, 0, closed)
    p["reason"] = np.where(hidden, "", p["reason"])
    p["observed_weeks"] = np.where(
        closed > 0,
        np.where(hidden, limit, closed),
        np.minimum(p["observed_weeks"].to_numpy(), limit),
    )
    obs = p["observed_weeks"].to_numpy()
    m = tables.meetings[tables.meetings["week"].to_numpy() <= obs[tables.meetings["pair"]]]
    c = tables.checkins[tables.checkins["week"].to_numpy() <= obs[tables.checkins["pair"]]]
    return ProgramTables(p, m.reset_index(drop=True), c.reset_index(drop=True))


#: The example program of ``synthetic_data/program_logs/``: 60 pairs over 26 weeks, 40
#: meeting biweekly and 20 weekly, with monthly check-ins, simulated at the default model
#: (:data:`EXAMPLE_TRUTH`) by ``synthetic_logs(EXAMPLE_SHAPE, seed=EXAMPLE_SEED)``.
EXAMPLE_SHAPE = ProgramShape(
    cadence=("biweekly",) * 40 + ("weekly",) * 20, observed_weeks=(26,) * 60
)
EXAMPLE_SEED = 20
EXAMPLE_TRUTH = {n: getattr(BehaviorModel(), n) for n in FIT_PARAMETERS}


def write_example_logs(folder: str | os.PathLike) -> Path:
    """Write the example program's logs (see :data:`EXAMPLE_SHAPE`) to ``folder``."""
    from toolkit.logs import write_logs

    logs, _ = synthetic_logs(EXAMPLE_SHAPE, EXAMPLE_TRUTH, seed=EXAMPLE_SEED)
    return write_logs(logs, folder)


def example_logs(folder: str | os.PathLike | None = None) -> Path:
    """The folder of the example program's logs: the repository's
    ``synthetic_data/program_logs`` when the package runs from a checkout, otherwise the
    same files written by :func:`write_example_logs` into ``folder`` (default: the cache
    folder, ``$RMT_CACHE_DIR/program_logs``)."""
    here = Path(__file__).resolve().parents[1] / "synthetic_data" / "program_logs"
    if folder is None and (here / "pairs.csv").is_file():
        return here
    target = Path(folder) if folder is not None else _cache_dir().parent / "program_logs"
    if not (target / "pairs.csv").is_file():
        write_example_logs(target)
    return target


def _figure_html(result: FitResult) -> str:
    """Observed summaries against the prior and posterior predictive ranges, as inline SVG
    (a few lines and dots: drawn directly, so the report needs no plotting library and a
    cold ``rmt fit`` does not import matplotlib)."""
    import html

    s = result.summaries
    # each summary on the scale of its prior predictive 1%-99% range
    lo, hi = s["prior_q01"].to_numpy(), s["prior_q99"].to_numpy()
    span = np.where(hi > lo, hi - lo, 1.0)

    def u(col: str) -> np.ndarray:
        return np.clip((s[col].to_numpy() - lo) / span, -0.1, 1.1)

    left, width, row, top = 210, 380, 18, 34

    def x(v: float) -> float:  # -0.1 .. 1.1 along the axis
        return left + width * (v + 0.1) / 1.2

    height = top + row * len(s) + 30
    parts = [
        f'<svg width="{left + width + 20}" '
        f'height="{height}" font-family="sans-serif" font-size="11" role="img" '
        'aria-label="observed summaries against what the model produces">',
        '<rect x="10" y="6" width="14" height="6" fill="#cccccc"/>'
        '<text x="28" y="13">prior predictive 1-99%</text>'
        '<rect x="180" y="7" width="14" height="4" fill="#4477aa"/>'
        '<text x="198" y="13">posterior predictive 5-95%</text>'
        '<circle cx="385" cy="10" r="3.5" fill="black"/><text x="393" y="13">observed</text>',
    ]
    for k, (name, o, p05, p95) in enumerate(
        zip(s["summary"], u("observed"), u("posterior_q05"), u("posterior_q95"), strict=True)
    ):
        y = top + row * k
        parts.append(
            f'<text x="{left - 6}" y="{y + 4}" text-anchor="end">{html.escape(str(name))}</text>'
            f'<line x1="{x(0):.1f}" x2="{x(1):.1f}" y1="{y}" y2="{y}" stroke="#cccccc" '
            'stroke-width="6"/>'
            f'<line x1="{x(p05):.1f}" x2="{x(p95):.1f}" y1="{y}" y2="{y}" stroke="#4477aa" '
            'stroke-width="3"/>'
            f'<circle cx="{x(o):.1f}" cy="{y}" r="3.5" fill="black"/>'
        )
    axis = top + row * len(s)
    parts.append(
        f'<text x="{left + width / 2}" y="{axis + 12}" text-anchor="middle">position within '
        "the prior predictive range (0 = its 1% point, 1 = its 99% point)</text></svg>"
    )
    return "".join(parts)


def fit_report_html(result: FitResult) -> str:
    """The fit report: what may be claimed, parameters, summaries, calibration (plain HTML
    through :mod:`toolkit.report`, nothing loaded from the internet)."""
    from toolkit.report import findings_html, table_html

    params = result.parameters.assign(
        prior=[
            f"{a:.3g} to {b:.3g}"
            for a, b in zip(
                result.parameters["prior_low"], result.parameters["prior_high"], strict=True
            )
        ]
    )
    joint = result.joint
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Fit to your program's logs"
        "</title><style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd}"
        "</style></head><body><h1>The model fitted to your program's logs</h1>",
        findings_html(result.messages, title="What the fit says"),
        "<h2>Can the model reproduce your logs?</h2>",
        "<p>Each summary of your logs against what the model produces before fitting (prior "
        "predictive) and after (posterior predictive). A summary outside the prior "
        "predictive, or summaries jointly farther from every simulated program than 99% of "
        f"synthetic programs (distance {joint['distance']:.2f}, threshold "
        f"{joint['threshold']:.2f}), mean the model cannot produce these data.</p>",
        _figure_html(result),
        table_html(
            result.summaries,
            digits=3,
            columns=[
                "summary",
                "observed",
                "prior_q01",
                "prior_q50",
                "prior_q99",
                "quantile",
                "posterior_q05",
                "posterior_q95",
                "outside",
            ],
        ),
        "<h2>What the logs say about the model's uncertain inputs</h2>",
        "<p>contraction: the posterior 90% range as a share of the prior range (1 = the logs "
        f"say nothing). coverage: the share of {int(result.reference.held_out.sum()):,} held-out "
        "synthetic programs whose true "
        "value fell inside the 50% and 90% intervals; a parameter is calibrated when both "
        "are within 5 points of nominal.</p>",
        table_html(
            params,
            digits=3,
            columns=[
                "parameter",
                "prior",
                "q05",
                "q50",
                "q95",
                "contraction",
                "coverage_50",
                "coverage_90",
                "calibrated",
                "pinned",
            ],
        ),
        "<h2>Method</h2><p>Approximate Bayesian computation: rejection with local-linear "
        "regression adjustment (Beaumont, Zhang &amp; Balding 2002) on a reference table of "
        f"{int((~result.reference.held_out).sum())} prior simulations of a program of your "
        "shape (reference " + result.reference.fingerprint + "); simulation-based calibration"
        " (Talts et al. 2018) on held-out synthetic programs. Monte Carlo error of the "
        "reference table is part of the posterior width.</p></body></html>",
    ]
    return "".join(parts)


def write_fit(result: FitResult, out: str | os.PathLike) -> Path:
    """Write a fit to folder ``out``, all or nothing: ``report.html``, ``parameters.csv``,
    ``summaries.csv``, ``calibration.csv`` and, only when the model can reproduce the
    logs, ``models.parquet`` (the posterior as an ensemble)."""
    from toolkit._io import staged_folder, write_text

    with staged_folder(out, what="fit folder") as stage:
        write_table(result.parameters, stage / "parameters.csv")
        write_table(result.summaries, stage / "summaries.csv")
        write_table(result.calibration, stage / "calibration.csv")
        write_text(fit_report_html(result), stage / "report.html", formats=(".html",))
        if result.ensemble is not None:
            result.ensemble.save(stage / "models.parquet")
    if result.ensemble is None:  # no stale models from an earlier fit into the same folder
        (Path(out) / "models.parquet").unlink(missing_ok=True)
    return Path(out)
