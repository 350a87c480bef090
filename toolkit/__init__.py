"""Reverse-mentoring research toolkit: cohorts, matching, simulation and statistics.

The public API is re-exported here from the public modules, each listed with its names in
``toolkit/__init__.pyi`` (in dependency order: each module depends only on those above
it). Names load on first use (SPEC 1 lazy loading via ``lazy_loader``), so
``import toolkit`` and the ``rmt`` CLI pay only for what they touch. ``toolkit.errors``
documents the exception tree; ``docs/architecture.md`` the layers, tables and seeds.
"""

import lazy_loader as _lazy

from toolkit._version import __version__

# Public modules in dependency order; ``import toolkit.X as m`` gives the module for each.
PUBLIC_MODULES = ("errors", "cohort", "compatibility", "matching", "roster", "program",
                  "behavior", "simulation", "experiment", "calibration", "analysis",
                  "diagnosis", "plots", "sensitivity", "report")

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
__all__ = ["__version__", *(n for n in __all__ if n != "__version__")]
