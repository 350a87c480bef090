"""Reverse-mentoring research toolkit: cohorts, matching, simulation, statistics and studies.

The public API is re-exported here from the public modules, each listed with its names in
``toolkit/__init__.pyi`` (in dependency order: each module depends only on those above
it), plus the run API of the study layer (``run_study``, ``run_sweep``, ``verify_run``,
``get_study``, ``list_studies``). Maintenance helpers (documentation regeneration, number
and HTML formatting, low-level score pieces) stay importable from their modules but are
not top-level names. Names load on first use (SPEC 1 lazy loading via ``lazy_loader``), so
``import toolkit`` and the ``rmt`` CLI pay only for what they touch. ``toolkit.errors``
documents the exception tree; ``docs/architecture.md`` the layers, tables and seeds.
"""

import lazy_loader as _lazy

from toolkit._version import __version__

# Public modules in dependency order; ``import toolkit.X as m`` gives the module for each.
PUBLIC_MODULES = (
    "errors",
    "cohort",
    "compatibility",
    "matching",
    "roster",
    "program",
    "behavior",
    "ensemble",
    "simulation",
    "experiment",
    "history_matching",
    "calibration",
    "analysis",
    "diagnosis",
    "selection",
    "plots",
    "sensitivity",
    "report",
    "logs",
    "summaries",
    "fitting",
    "watch",
    "advice",
)
# The study layer: only these names are top-level (the modules' other names stay there).
STUDY_LAYER = {
    "studies": ("get_study", "list_studies"),
    "runs": ("run_study", "run_sweep", "verify_run"),
}
# Maintenance helpers of public modules that are not top-level names.
NOT_TOP_LEVEL = (
    "parameter_table_markdown",
    "update_model_doc",  # doc regeneration
    "fmt_ci",
    "fmt_number",
    "fmt_p",
    "findings_html",
    "table_html",  # formatting
    "alt_text",
    "figure_html",
    "page",
    "PAGE_CSS",
    "score_components",
    "pair_scores",
    "weighted_score",
    "side_weights",  # scores
    "resolve_weights",
    "admissible_mask",
    "component_means",
    "group_codes",
)

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
__all__ = ["__version__", *(n for n in __all__ if n != "__version__")]
