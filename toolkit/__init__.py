"""Reverse-mentoring research toolkit: cohorts, matching, simulation and statistics.

The public API is re-exported here; modules are listed in dependency order.
"""

from toolkit._version import __version__
from toolkit.cohort import *  # noqa: F403
from toolkit.cohort import __all__ as _cohort_all
from toolkit.errors import *  # noqa: F403
from toolkit.errors import __all__ as _errors_all

__all__ = ["__version__", *_errors_all, *_cohort_all]
