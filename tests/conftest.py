"""Shared fixtures. Plots render off-screen; hypothesis stays within CI time."""

from __future__ import annotations

import os

import matplotlib
import pytest
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

settings.register_profile(
    "ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci")


@pytest.fixture(scope="session")
def small_cohort():
    from toolkit import CohortSpec, generate_cohort

    return generate_cohort(CohortSpec(n_mentors=30, n_mentees=25, seed=11))


@pytest.fixture(scope="session")
def large_cohort():
    from toolkit import CohortSpec, generate_cohort

    return generate_cohort(CohortSpec(n_mentors=3000, n_mentees=3000, seed=5))


# Tiny study parameters: every study test runs a kernel, so keep each run to seconds.
# a few plausible models (the studies that run their headlines over the ensemble)
FEW_MODELS = ["n_models=24", "model_replicates=5"]
TINY = {
    "advise": [
        "pairs=20",
        "weeks=16",
        "policies=random,optimal",
        "cadences=biweekly,monthly",
        "minutes=60",
        "checkins=none,survey_30_60",
        "actions=coach,close",
        "n0=8",
        "change_models=24",
    ],
    "meeting_cadence": [
        "replicates=3",
        "n_mentors=24",
        "n_mentees=20",
        "cadences=weekly,biweekly,monthly",
        *FEW_MODELS,
    ],
    "matching_policies": [
        "replicates=3",
        "n_mentors=24",
        "n_mentees=20",
        "policies=random,optimal,stable",
        *FEW_MODELS,
    ],
    "checkin_cadence": [
        "replicates=3",
        "n_mentors=24",
        "n_mentees=20",
        "schedules=none,monthly,no_meeting_streak",
        "actions=coach,close",
        *FEW_MODELS,
    ],
    "policy_by_cadence": [
        "replicates=3",
        "n_mentors=24",
        "n_mentees=20",
        "cadences=weekly,monthly",
        *FEW_MODELS,
    ],
    "design_power": [
        "sizes=20,40",
        "sims=10",
        "effect_pairs=40",
        "effect_replicates=3",
        "workers=1",
        "n_models=4",
        "model_replicates=5",
    ],
    "model_card": [
        "calibration_replicates=3",
        "n_mentors=24",
        "n_mentees=20",
        "n_models=4",
        "model_replicates=5",
        "contrast_pairs=12",
    ],
}


@pytest.fixture(scope="session")
def tiny_params():
    """Tiny parameters (key=value strings) for every registered study."""
    return TINY


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One tiny meeting_cadence run shared by the runner, report and CLI tests."""
    from toolkit.runs import run_study

    out = tmp_path_factory.mktemp("runs")
    return run_study("meeting_cadence", TINY["meeting_cadence"], out=out, progress=False)
