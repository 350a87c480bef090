"""Shared fixtures. Plots render off-screen; hypothesis stays within CI time."""

from __future__ import annotations

import os

import matplotlib
import pytest
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

settings.register_profile("ci", max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")


@pytest.fixture(scope="session")
def small_cohort():
    from toolkit import CohortSpec, generate_cohort

    return generate_cohort(CohortSpec(n_mentors=30, n_mentees=25, seed=11))


@pytest.fixture(scope="session")
def large_cohort():
    from toolkit import CohortSpec, generate_cohort

    return generate_cohort(CohortSpec(n_mentors=3000, n_mentees=3000, seed=5))
