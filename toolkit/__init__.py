"""Reverse-mentoring research toolkit: cohorts, matching, simulation and statistics.

The public API is re-exported here; modules are listed in dependency order.
"""

from toolkit._version import __version__
from toolkit.analysis import *  # noqa: F403
from toolkit.analysis import __all__ as _analysis_all
from toolkit.behavior import *  # noqa: F403
from toolkit.behavior import __all__ as _behavior_all
from toolkit.cohort import *  # noqa: F403
from toolkit.cohort import __all__ as _cohort_all
from toolkit.compatibility import *  # noqa: F403
from toolkit.compatibility import __all__ as _compatibility_all
from toolkit.matching import *  # noqa: F403
from toolkit.matching import __all__ as _matching_all
from toolkit.roster import *  # noqa: F403
from toolkit.roster import __all__ as _roster_all
from toolkit.diagnose import *  # noqa: F403
from toolkit.diagnose import __all__ as _diagnose_all
from toolkit.errors import *  # noqa: F403
from toolkit.errors import __all__ as _errors_all
from toolkit.experiment import *  # noqa: F403
from toolkit.experiment import __all__ as _experiment_all
from toolkit.plots import *  # noqa: F403
from toolkit.plots import __all__ as _plots_all
from toolkit.program import *  # noqa: F403
from toolkit.program import __all__ as _program_all
from toolkit.report import *  # noqa: F403
from toolkit.report import __all__ as _report_all
from toolkit.simulate import *  # noqa: F403
from toolkit.simulate import __all__ as _simulate_all

__all__ = ["__version__", *_errors_all, *_cohort_all, *_compatibility_all, *_matching_all, *_roster_all, *_analysis_all, *_diagnose_all, *_plots_all,
           *_report_all, *_program_all, *_behavior_all, *_simulate_all, *_experiment_all]
