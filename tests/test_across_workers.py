"""A study's ``workers`` (``ModelsGroup``) changes where its across-model run runs, never
what it finds: the across tables are identical with one worker and with two."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from toolkit import experiment
from toolkit.studies._across import across_models, across_table, close_study_pool, study_pool
from toolkit.studies.meeting_cadence import MeetingCadence


def _tables(workers: int) -> list[pd.DataFrame]:
    study = MeetingCadence(
        n_models=6, model_replicates=5, n_mentors=24, n_mentees=20, workers=workers
    )
    result = across_models(study, boot=50)
    return [across_table(result), result.per_model(), *result.differences]


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="two workers need two cores")
def test_across_tables_are_identical_with_one_and_two_workers(monkeypatch):
    monkeypatch.setattr(experiment, "_MODEL_PAIR_WEEKS", 2 * 5 * 20 * 26)  # 3 chunks
    one, two = _tables(1), _tables(2)
    assert len(one[1]) > 0
    for a, b in zip(one, two, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_the_study_pool_is_serial_for_one_worker_and_shared_until_closed():
    assert study_pool(1) == "serial"
    close_study_pool(1)  # nothing to close
    if (os.cpu_count() or 1) >= 2:
        pool = study_pool(2)
        assert study_pool(2) is pool  # the power curve and the across run share it
        assert study_pool(64) is study_pool(os.cpu_count() or 1)  # at most the cores
        assert pool.submit(int, "7").result() == 7
        close_study_pool(2)
        assert study_pool(2) is not pool  # the across run closed it: a new one
        close_study_pool(2)
        with pytest.raises(RuntimeError):
            pool.submit(int, "7")
