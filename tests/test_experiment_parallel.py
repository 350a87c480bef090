"""An ensemble's chunks of models on local processes: the same bytes as the serial pass.

``run_experiment(..., models=..., executor=..., workers=...)`` runs each chunk of models as
one task (``toolkit._pool``) and puts the chunks' tables together in chunk order. These
tests force several chunks (a small pair-week budget) and compare every table of the
serial pass with the pool's, exactly; they also check that the comparison sees chunks put
together in the wrong order.
"""

from __future__ import annotations

import concurrent.futures as cf

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolkit import experiment
from toolkit.errors import InvalidParameterError
from toolkit.experiment import CONTROL_ARM, run_experiment

TABLES = ("weeks", "outcomes", "surveys", "events")


@pytest.fixture(scope="module")
def cadence():
    """meeting_cadence's across-model spec (as ``_across.across_models`` builds it) at a
    small size, and its first 7 models."""
    from toolkit.studies.meeting_cadence import MeetingCadence

    study = MeetingCadence(n_models=7, model_replicates=5, n_mentors=24, n_mentees=20)
    names = {n for h in study.headlines() for n in (h.arm, h.reference)}
    base = study.ensemble_spec()
    arms = {n: a for n, a in base.arms.items() if n in names}
    spec = base.replace(arms=arms, replicates=5, control=CONTROL_ARM in names)
    return spec.replace(arms={k: spec.arms[k] for k in list(spec.arms)[:4]}), study.ensemble


@pytest.fixture
def chunks_of_two(monkeypatch):
    """Chunks of 2 models (5 replicates x 20 mentees x 26 weeks a model): 4 chunks of 7."""
    monkeypatch.setattr(experiment, "_MODEL_PAIR_WEEKS", 2 * 5 * 20 * 26)


def _run(spec, models, **kw):
    return run_experiment(
        spec,
        models=models,
        tables=(*TABLES, "pairs"),
        progress=False,
        model_streams="independent",
        **kw,
    )


def _assert_same(a, b):
    for table in (*TABLES, "pairs"):
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table), check_exact=True)


def test_two_processes_give_the_serial_tables_exactly(cadence, chunks_of_two):
    spec, models = cadence
    serial = _run(spec, models)
    assert serial.outcomes["model"].nunique() == 7
    _assert_same(serial, _run(spec, models, workers=2))  # a local pool of 2
    with cf.ProcessPoolExecutor(2) as pool:  # the caller's pool, left open
        _assert_same(serial, _run(spec, models, executor=pool))
        assert pool.submit(int, "3").result() == 3


def test_a_thread_pool_and_one_chunk_give_the_serial_tables(cadence, chunks_of_two):
    spec, models = cadence
    serial = _run(spec, models)
    with cf.ThreadPoolExecutor(3) as pool:
        _assert_same(serial, _run(spec, models, executor=pool))
    two = models.take(2)  # one chunk: runs here whatever the executor
    _assert_same(_run(spec, two), _run(spec, two, workers=2))


def test_the_comparison_sees_chunks_put_together_in_another_order(
    cadence, chunks_of_two, monkeypatch
):
    """A planted bug: the chunks' results in completion order, here reversed. The model
    numbers are still right but the rows are out of order, and the check fails."""
    spec, models = cadence
    serial = _run(spec, models)
    run_tasks = experiment.run_tasks
    monkeypatch.setattr(experiment, "run_tasks", lambda *a, **k: list(reversed(run_tasks(*a, **k))))
    with pytest.raises(AssertionError):
        _assert_same(serial, _run(spec, models, workers=2))


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"executor": "threads"}, "'executor' parameter of run_experiment must be 'process'"),
        ({"workers": 0}, "'workers' parameter of run_experiment"),
        ({"workers": 2, "models": None}, "unless 'models' is given"),
        ({"executor": "process", "models": None}, "unless 'models' is given"),
    ],
)
def test_bad_executor_or_workers_is_one_sentence(cadence, kw, match):
    spec, models = cadence
    kw = {"models": models, **kw}
    with pytest.raises(InvalidParameterError, match=match):
        run_experiment(spec, progress=False, **kw)


@given(
    models=st.integers(1, 2000),
    most=st.integers(1, 500),
    workers=st.sampled_from([None, 1, 2, 3, 8]),
    executor=st.sampled_from(["serial", "process"]),
)
def test_chunks_are_within_budget_and_balanced(models, most, workers, executor):
    """At most the budget per chunk, no more chunks than needed unless a pool's workers
    are balanced, and on a pool of ``w`` workers chunks the size of ``w`` equal shares of
    the needed number of chunks rounded up to a multiple of ``w``."""
    size = experiment._chunk_size(models, most, (executor, workers))
    count, needed = -(-models // size), -(-models // most)
    assert 1 <= size <= most and count >= needed
    if executor == "serial" or not workers or needed == 1:
        assert count == needed
    else:
        assert size == -(-models // (-(-needed // workers) * workers))


def _worker_state() -> tuple[bool, str, int]:
    import numpy as np
    import pyarrow as pa
    from threadpoolctl import threadpool_info

    threads = max((p["num_threads"] for p in threadpool_info()), default=1)
    return (
        np._core.multiarray._get_madvise_hugepage(),
        pa.default_memory_pool().backend_name,
        threads,
    )


def test_pool_workers_are_set_up():
    """A local pool's workers: one BLAS thread, no huge-page advice, Arrow's system pool."""
    from toolkit._pool import run_tasks

    assert run_tasks(_worker_state, [()], "process", 1) == [(False, "system", 1)]
