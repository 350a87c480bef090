"""Reverse-mentoring research toolkit: cohorts, matching, simulation and statistics.

The public API is re-exported here, module by module in dependency order (each module
depends only on those above it). ``toolkit.errors`` documents the exception tree.
"""
# ruff: noqa: F403, I001  (star re-exports, kept in dependency order rather than alphabetical)

from toolkit._version import __version__ as __version__
from toolkit.errors import *
from toolkit.cohort import *
from toolkit.compatibility import *
from toolkit.matching import *
from toolkit.roster import *
from toolkit.program import *
from toolkit.behavior import *
from toolkit.simulate import *
from toolkit.experiment import *
from toolkit.analysis import *
from toolkit.diagnose import *
from toolkit.plots import *
from toolkit.report import *
# Module names, not objects: ``simulate`` and ``diagnose`` are also functions re-exported
# above, which shadow their modules as attributes of the package.
PUBLIC_MODULES = ("errors", "cohort", "compatibility", "matching", "roster", "program",
                  "behavior", "simulate", "experiment", "analysis", "diagnose", "plots",
                  "report")


def _public_names() -> list[str]:
    import sys

    names = ["__version__"]
    for module in PUBLIC_MODULES:
        names.extend(sys.modules[f"toolkit.{module}"].__all__)
    return names


__all__ = _public_names()
