"""A study's ``workers`` (``ModelsGroup``) changes where its across-model run runs, never
what it finds: the across tables are identical with one worker and with two."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from toolkit import experiment
from toolkit.studies._across import across_models, across_table
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
