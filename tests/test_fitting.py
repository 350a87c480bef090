"""Fitting a program's own logs: reference table, ABC, misspecification, calibration gate."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from toolkit.ensemble import Ensemble
from toolkit.fitting import (
    FIT_PARAMETERS,
    HELD_OUT,
    ProgramShape,
    _weighted_quantiles,
    abc_posterior,
    calibration_check,
    coverage_gate,
    fit_program,
    gate_false_flag,
    reference_table,
    simulate_programs,
    synthetic_logs,
    write_fit,
)
from toolkit.logs import read_logs, write_logs
from toolkit.summaries import summarise, summary_spec

SHAPE = ProgramShape(cadence=("biweekly",) * 16 + ("weekly",) * 8, observed_weeks=(16,) * 24)
POINTS = 2000
TODAY = dt.date(2027, 1, 1)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    folder = tmp_path_factory.mktemp("cache")
    mp.setenv("RMT_CACHE_DIR", str(folder))
    yield folder
    mp.undo()


def _logs(tmp_path, truth=None, seed=5, stagger=1, tamper=None):
    logs, as_of = synthetic_logs(SHAPE, truth, seed=seed, stagger_weeks=stagger)
    if tamper is not None:
        logs = tamper(logs)
    write_logs(logs, tmp_path / "logs")
    return read_logs(tmp_path / "logs", as_of=dt.date.fromisoformat(as_of), today=TODAY)


@pytest.fixture(scope="module")
def fitted(cache, tmp_path_factory):
    logs = _logs(tmp_path_factory.mktemp("fit"))
    return logs, fit_program(logs, points=POINTS, seed=1, progress=False)


def test_the_reference_table_is_cached_under_its_fingerprint(fitted, cache):
    logs, result = fitted
    ref = result.reference
    assert (cache / "reference" / f"{ref.fingerprint}.parquet").is_file()
    again = reference_table(ref.shape, ref.spec, points=POINTS, seed=1, progress=False)
    pd.testing.assert_frame_equal(again.summaries, ref.summaries, check_dtype=False)
    pd.testing.assert_frame_equal(again.theta, ref.theta, check_dtype=False)
    other = reference_table(ref.shape, ref.spec, points=POINTS, seed=2, cache=False, progress=False)
    assert other.fingerprint != ref.fingerprint
    assert ref.held_out.sum() == HELD_OUT and len(ref.theta) == POINTS + HELD_OUT


def test_the_fingerprint_changes_with_the_held_out_count(fitted):
    """A table cached with another number of held-out programs (200 before) is not reused."""
    from toolkit.fitting import _fingerprint

    ref = fitted[1].reference
    fp = [_fingerprint(ref.shape, ref.spec, ref.prior, POINTS, n, 1) for n in (200, HELD_OUT)]
    assert fp[1] == ref.fingerprint and fp[0] != fp[1]


def test_a_fit_writes_an_ensemble_studies_accept_and_a_report(fitted, tmp_path):
    logs, result = fitted
    assert not result.misspecified
    out = write_fit(result, tmp_path / "fit")
    ens = Ensemble.load(out / "models.parquet")
    assert list(ens.parameters) == list(FIT_PARAMETERS)
    assert len(ens.models) == 400 and len(ens.to_behaviors()) == 400
    page = (out / "report.html").read_text()
    assert "What the fit says" in page and "http" not in page.replace("http-equiv", "")
    params = pd.read_csv(out / "parameters.csv")
    assert (params["q05"] <= params["q50"]).all() and (params["q50"] <= params["q95"]).all()
    assert (params["q05"] >= params["prior_low"]).all()
    assert (params["q95"] <= params["prior_high"]).all()


def test_a_new_fit_to_a_cached_table_reuses_its_checks(fitted, monkeypatch):
    import toolkit.fitting as fitting

    logs, result = fitted

    def recomputed(*args, **kwargs):
        raise AssertionError("the held-out programs were fitted again")

    monkeypatch.setattr(fitting, "_calibration", recomputed)
    again = fit_program(logs, points=POINTS, seed=1, progress=False)
    pd.testing.assert_frame_equal(again.calibration, result.calibration)
    assert again.joint == result.joint
    pd.testing.assert_frame_equal(again.parameters, result.parameters)


def test_a_fit_to_a_cached_table_imports_no_simulator_or_plotting(fitted, cache, tmp_path):
    """A cold fit once the table exists: no engine, matching, cohort generator, scipy or
    matplotlib is imported (they are most of a cold process's time)."""
    import os
    import subprocess
    import sys

    _logs(tmp_path)  # the fixture's logs, written again
    as_of = synthetic_logs(SHAPE, None, seed=5, stagger_weeks=1)[1]
    code = (
        "import sys, datetime as dt\n"
        "from toolkit.fitting import fit_program, write_fit\n"
        "from toolkit.logs import read_logs\n"
        f"logs = read_logs(sys.argv[1], as_of=dt.date.fromisoformat({as_of!r}), "
        f"today=dt.date.fromisoformat({TODAY.isoformat()!r}))\n"
        f"write_fit(fit_program(logs, points={POINTS}, seed=1, progress=False), sys.argv[2])\n"
        "heavy = ('scipy', 'matplotlib', 'toolkit._engine', 'toolkit.matching', 'toolkit.cohort')\n"
        "print(sorted({m for m in sys.modules if m.startswith(heavy)}))\n"
    )
    env = dict(os.environ, RMT_CACHE_DIR=str(cache))
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "logs"), str(tmp_path / "fit")],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert out.stdout.strip() == "[]"
    assert (tmp_path / "fit" / "report.html").is_file()


def test_regression_adjustment_narrows_the_posterior_and_keeps_coverage(fitted):
    _, result = fitted
    ref = result.reference
    theta, sums = ref.test
    width = (ref.prior["high"] - ref.prior["low"]).to_numpy()
    out = {}
    for adjust in (False, True):
        draws, w, _ = abc_posterior(ref, sums, adjust=adjust)
        q = _weighted_quantiles(draws, w, (0.05, 0.95))
        out[adjust] = (((q[1] - q[0]) / width).mean(), ((theta >= q[0]) & (theta <= q[1])).mean())
    assert out[True][0] < out[False][0] - 0.03
    assert abs(out[True][1] - 0.9) < 0.05


@pytest.mark.parametrize("rows", [2, 3, 7])
def test_the_chunked_calibration_pass_equals_one_batch(fitted, monkeypatch, rows):
    """The held-out programs fitted a few rows at a time give exactly (bit for bit) what one
    batch gives: posterior draws, weights, distances, the calibration table and the joint
    threshold. 3 rows leave a remainder of one row (1,000 = 333 x 3 + 1), merged into the
    last chunk."""
    import numpy as np

    import toolkit.fitting as fitting

    ref = fitted[1].reference
    _, sums = ref.test
    some = sums[:101]

    def both():
        out = [abc_posterior(ref, some, adjust=a) for a in (True, False)]
        return out, fitting._calibration(ref, None)

    monkeypatch.setattr(fitting, "_abc_rows", lambda *a: 10**9)
    whole, (table, h) = both()
    calls = []
    real = fitting._row_chunks
    monkeypatch.setattr(fitting, "_abc_rows", lambda *a: rows)
    monkeypatch.setattr(fitting, "_row_chunks", lambda n, step: calls.append(n) or real(n, step))
    parts, (table_c, h_c) = both()
    assert calls and all(len(real(n, rows)) >= n // rows > 1 for n in calls)
    for a, b in zip(whole, parts, strict=True):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)
    pd.testing.assert_frame_equal(table, table_c, check_exact=True)
    np.testing.assert_array_equal(h, h_c)


def test_the_gate_counts_five_points_off_as_within():
    import numpy as np

    n = 1000
    theta = np.zeros((n, 3))
    # parameter j: 550, 551 and 500 of 1,000 inside the 50% interval; 900 inside the 90%
    inside50 = np.arange(n)[:, None] < np.array([550, 551, 500])
    inside90 = np.broadcast_to(np.arange(n)[:, None] < 900, inside50.shape)
    q = np.stack(
        [
            np.where(inside90, -2.0, 1.0),
            np.where(inside50, -1.0, 1.0),
            np.where(inside50, 1.0, 2.0),
            np.where(inside90, 2.0, 3.0),
        ]
    )
    cov50, cov90, ok = coverage_gate(theta, q)
    assert list(cov50) == [0.55, 0.551, 0.5] and list(cov90) == [0.9, 0.9, 0.9]
    assert list(ok) == [True, False, True]


def test_the_docstring_states_the_gates_false_flag_rate():
    import toolkit.fitting as fitting

    off50, off90, either = gate_false_flag(HELD_OUT)
    assert HELD_OUT == 1000 and "HELD_OUT` = 1,000" in fitting.__doc__
    assert f"{either:.2%} per parameter" in fitting.__doc__  # 0.14%
    small = f"{off90:.0e}".replace("e-0", "e-")  # 3e-7
    assert f"({off50:.3%} from the 50% interval, {small} from the 90% one)" in (
        " ".join(fitting.__doc__.split())
    )
    assert f"at most {7 * off50:.1%} that any of the 7" in fitting.__doc__  # 1.0%
    assert either < 0.002 and 1 - (1 - either) ** len(FIT_PARAMETERS) < 0.01
    # at 200 programs the gate flagged a calibrated parameter 14.7% of the time
    assert round(gate_false_flag(200)[2], 3) == 0.147


@pytest.mark.parametrize("programs", [200, HELD_OUT])
def test_a_perfectly_calibrated_posterior_is_flagged_at_the_stated_rate(programs):
    """A toy whose posterior is exactly calibrated (theta ~ N(0, 1), one observation
    x ~ N(theta, 1), posterior N(x / 2, 1 / 2) and its exact quantiles) goes through the gate
    in 1,000 independent replicates of ``programs`` held-out programs x 7 independent
    parameters. The number of flagged parameters is Binomial(7,000, p) with p the stated
    rate (:func:`gate_false_flag`); the test accepts the central region of that
    distribution whose two tails together hold less than 1e-3 (computed below), so a
    correct gate and rate fail it with probability below 1e-3, and a rate off by a third at
    200 programs (or a gate that never flags, or flags 3 times too often at 1,000) fails."""
    import numpy as np
    from scipy.stats import binom, norm

    reps, params = 1000, len(FIT_PARAMETERS)
    p = gate_false_flag(programs)[2]
    trials = reps * params
    lo = int(binom.ppf(5e-4, trials, p))  # P(F < lo) <= 5e-4
    hi = int(binom.isf(5e-4, trials, p))  # P(F > hi) <= 5e-4
    false_failure = binom.cdf(lo - 1, trials, p) + binom.sf(hi, trials, p)
    assert false_failure < 1e-3
    gen = np.random.default_rng(20)
    z = norm.ppf([0.05, 0.25, 0.75, 0.95])[:, None, None]
    flagged = 0
    for _ in range(reps):
        theta = gen.normal(size=(programs, params))
        x = theta + gen.normal(size=theta.shape)
        q = x / 2 + np.sqrt(0.5) * z
        flagged += int((~coverage_gate(theta, q)[2]).sum())
    assert lo <= flagged <= hi, (flagged, lo, hi, trials * p)
    # the acceptance region is narrow enough to tell the stated rate from a wrong one
    if programs == 200:
        assert hi < trials * p * 4 / 3 and lo > trials * p * 2 / 3
    else:
        assert lo >= 1 and hi < trials * p * 3


def test_parameters_whose_coverage_fails_keep_their_prior(fitted):
    logs, result = fitted
    # with very few accepted programs the adjustment overfits and intervals are too narrow
    narrow = fit_program(logs, points=POINTS, seed=1, accept=20, progress=False)
    failed = list(narrow.calibration.loc[~narrow.calibration["calibrated"], "parameter"])
    assert failed, "20 accepted programs of 2000 should give overconfident intervals"
    lo = narrow.reference.prior.set_index("parameter")["low"]
    hi = narrow.reference.prior.set_index("parameter")["high"]
    for name in failed:
        values = narrow.ensemble.models[name]
        # prior draws spread over the prior range, unlike the narrow posterior
        assert values.quantile(0.95) - values.quantile(0.05) > 0.7 * (hi[name] - lo[name])
        assert not narrow.parameters.set_index("parameter").loc[name, "pinned"]


@pytest.mark.slow
def test_recovery_known_parameters_are_covered_at_the_rate_the_check_says(fitted):
    """Fresh programs from known parameter sets (drawn from the prior, apart from the
    reference table and its held-out programs): their 90% intervals contain the truth at
    the rate the calibration check reported."""
    from toolkit.history_matching import prior_sample

    _, result = fitted
    ref = result.reference
    calib = calibration_check(ref)
    programs = 150
    truth = prior_sample(ref.prior, programs, seed=99, stream=("recovery",))
    tables = simulate_programs(ref.shape, truth, seed=77, first=50_000)
    sums = summarise(tables, ref.spec, n_programs=programs).to_numpy()
    draws, w, _ = abc_posterior(ref, sums)
    q = _weighted_quantiles(draws, w, (0.05, 0.95))
    t = truth.to_numpy()
    inside = (q[0] <= t) & (t <= q[1])
    # pooled over parameters; the binomial SE of a pooled rate of 150 x 7 is about 1 point,
    # and the check's own rate (1,000 programs x 7) under half a point
    assert abs(inside.mean() - calib["coverage_90"].mean()) < 0.05, (inside.mean(0), calib)


def _reorganisation(logs):
    """A mass ending the model has no mechanism for: in week 6 a reorganisation ends
    two thirds of the pairs at once (and their meetings stop)."""
    pairs, meetings, checkins = (
        logs["pairs"].copy(),
        logs["meetings"].copy(),
        logs["checkins"].copy(),
    )
    hit = pairs.index[: 2 * len(pairs) // 3]
    end = (pd.to_datetime(pairs.loc[hit, "start"]) + pd.Timedelta(days=7 * 5 + 6)).dt.date
    keep_end = pairs.loc[hit, "end"].isna() | (pd.to_datetime(pairs.loc[hit, "end"]).dt.date > end)
    rows = hit[keep_end.to_numpy()]
    pairs.loc[rows, "end"] = end[keep_end].to_numpy()
    pairs.loc[rows, "reason"] = "outside_event"
    last = pairs.set_index("pair")["end"]
    meetings = meetings[
        [
            last[p] is None or pd.isna(last[p]) or d <= last[p]
            for p, d in zip(meetings["pair"], meetings["date"], strict=True)
        ]
    ]
    checkins = checkins[
        [
            last[p] is None or pd.isna(last[p]) or d <= last[p]
            for p, d in zip(checkins["pair"], checkins["date"], strict=True)
        ]
    ]
    return {"pairs": pairs, "meetings": meetings, "checkins": checkins}


def test_a_program_the_model_cannot_produce_is_flagged_and_nothing_is_claimed(
    cache, tmp_path, fitted
):
    logs = _logs(tmp_path, tamper=_reorganisation)
    result = fit_program(logs, points=POINTS, seed=1, progress=False)
    assert result.misspecified
    assert result.ensemble is None
    out = tmp_path / "fit"
    (out).mkdir()
    (out / "models.parquet").write_text("stale")
    write_fit(result, out)
    assert not (out / "models.parquet").exists()
    page = (out / "report.html").read_text()
    assert "cannot reproduce these logs" in page and "no claim about this program" in page
    assert "pin down" not in page


def test_the_example_program_reads_and_summarises():
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "synthetic_data" / "program_logs"
    logs = read_logs(example, today=TODAY)
    shape = ProgramShape.from_logs(logs)
    assert shape.n_pairs == 60 and shape.horizon == 26
    s = summarise(logs.tables(), summary_spec(logs.tables()))
    assert s.notna().all().all()
    total = sum(f.stat().st_size for f in example.iterdir())
    assert total < 200_000


# --------------------------------------------------------------------------- the CLI


def _cli():
    import typer

    from toolkit._fit_cli import fit, watch
    from toolkit.cli import clean_errors

    app = typer.Typer()
    app.command("fit")(clean_errors(fit))
    app.command("watch")(clean_errors(watch))
    return app


def test_rmt_fit_on_a_platform_export_writes_no_name_or_email_anywhere(cache, tmp_path):
    import shutil

    from typer.testing import CliRunner

    from tests.test_logs import MAPPING, _platform_export

    logs = tmp_path / "logs"
    shutil.copytree(Path(__file__).resolve().parents[1] / "synthetic_data" / "program_logs", logs)
    _platform_export(logs)
    import yaml

    (tmp_path / "map.yaml").write_text(yaml.safe_dump(MAPPING))
    runner = CliRunner()
    out = tmp_path / "fit"
    res = runner.invoke(
        _cli(),
        [
            "fit",
            str(logs),
            "--out",
            str(out),
            "--map",
            str(tmp_path / "map.yaml"),
            "--points",
            "1000",
        ],
    )
    assert res.exit_code == 0, res.output
    assert (out / "models.parquet").is_file() and (out / "report.html").is_file()
    watch_out = tmp_path / "watch"
    res = runner.invoke(
        _cli(),
        [
            "watch",
            str(logs),
            "--week",
            "14",
            "--models",
            str(out / "models.parquet"),
            "--map",
            str(tmp_path / "map.yaml"),
            "--out",
            str(watch_out),
        ],
    )
    assert res.exit_code == 0, res.output
    texts = [res.output]
    for folder in (out, watch_out):
        for f in folder.iterdir():
            data = f.read_bytes()
            if f.suffix == ".parquet":
                data = pd.read_parquet(f).to_csv().encode() + data
            texts.append(data.decode("utf-8", errors="replace"))
    blob = "\n".join(texts)
    for secret in ("Lovelace", "Hopper", "hopper@", "Grace", "Ada ", "compiler"):
        assert secret not in blob


def test_rmt_fit_on_bad_logs_exits_2_with_every_problem_and_writes_nothing(tmp_path):
    import shutil

    from typer.testing import CliRunner

    logs = tmp_path / "logs"
    shutil.copytree(Path(__file__).resolve().parents[1] / "synthetic_data" / "program_logs", logs)
    (logs / "checkins.csv").write_text(
        (logs / "checkins.csv").read_text().replace(",3.0\n", ",6.0\n", 2)
    )
    out = tmp_path / "fit"
    res = CliRunner().invoke(_cli(), ["fit", str(logs), "--out", str(out)])
    assert res.exit_code == 2
    assert res.output.count("\n") == 1 and "The logs have 2 problems" in res.output
    assert not out.exists()


def test_simulate_latent_is_simulate_programs_with_the_hidden_state():
    from toolkit.fitting import fit_prior, simulate_latent
    from toolkit.history_matching import prior_sample

    shape = ProgramShape(cadence=("weekly",) * 6 + ("biweekly",) * 4, observed_weeks=(8,) * 10)
    points = prior_sample(fit_prior(), 3, seed=2)
    tables = simulate_programs(shape, points, seed=4)
    same, latent = simulate_latent(shape, points, seed=4)
    for name in ("pairs", "meetings", "checkins"):
        pd.testing.assert_frame_equal(getattr(same, name), getattr(tables, name))
    assert list(latent.columns) == ["program", "pair", "week", "engagement", "quality"]
    assert latent["engagement"].between(0, 1).all() and latent["quality"].between(0, 1).all()
    # every meeting of the logs has its pair-week in the hidden state
    keys = latent.set_index(["program", "pair", "week"]).index
    meet = pd.MultiIndex.from_frame(tables.meetings[["program", "pair", "week"]])
    assert meet.isin(keys).all()
