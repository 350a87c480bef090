"""Public names of the toolkit, module by module (read by lazy_loader and type checkers).

Generated from each public module's ``__all__``; tests/test_package.py checks it.
"""

# ruff: noqa: F401, I001

from ._version import __version__ as __version__

from .errors import (
    AnalysisInputError,
    InfeasibleMatchingError,
    InvalidParameterError,
    OutputPathError,
    RosterError,
    ToolkitError,
)
from .cohort import (
    Cohort,
    CohortSpec,
    DEFAULT_DEPARTMENTS,
    DIGITAL_DOMAINS,
    GENERATIONS,
    INTERESTS,
    LEADERSHIP_DOMAINS,
    RoleProfile,
    TRAITS,
    WORK_MODES,
    WORK_VALUES,
    generate_cohort,
)
from .compatibility import (
    AVAILABILITY_TARGET_HOURS,
    COMPONENTS,
    COMPONENT_PHRASES,
    Compatibility,
    ComponentDetails,
    Constraints,
    WEIGHT_PROFILES,
    WEIGHT_TERMS,
    admissible_mask,
    compatibility_matrix,
    group_codes,
    pair_components,
    pair_scores,
    resolve_weights,
    score_components,
    side_weights,
    weighted_score,
)
from .matching import (
    Matching,
    POLICIES,
    Policy,
    deferred_acceptance,
    match,
    register_policy,
)
from .roster import (
    ROSTER_DEFAULTS,
    read_forbidden_pairs,
    read_roster,
    roster_to_cohort,
)
from .program import (
    CADENCES,
    CHECKIN_PLANS,
    FLAG_ACTIONS,
    FLAG_RULES,
    LIKERT_MAX,
    LIKERT_MIN,
    PRESETS,
    ProgramDesign,
    ProgramSchedule,
    preset,
    program_schedule,
)
from .behavior import (
    BehaviorModel,
)
from .simulation import (
    EVENT_TYPES,
    INTERVENTIONS,
    REASONS,
    SimulationResult,
    TABLES,
    simulate,
)
from .experiment import (
    Arm,
    CONTROL_ARM,
    ExperimentResult,
    ExperimentSpec,
    MatchSpec,
    RosterSource,
    run_experiment,
)
from .calibration import (
    calibration_report,
    calibration_targets,
)
from .analysis import (
    AnalysisWarning,
    EARLY_WARNING_KINDS,
    RESULT_COLUMNS,
    compare_arms,
    early_warning,
    interaction_test,
    km_curves,
    pre_post,
    retention,
    trajectories,
)
from .diagnosis import (
    ArmContrast,
    DIAGNOSANDS,
    Diagnosis,
    DifferenceInMeans,
    SimulatorDesign,
    TwoArmNormal,
    diagnosands,
    diagnose,
    power_curve,
    simulation_seed,
)
from .plots import (
    PALETTE,
    alt_text,
    calibration_plot,
    forest_plot,
    interaction_plot,
    km_plot,
    power_curve_plot,
    score_distribution_plot,
    set_theme,
    tradeoff_plot,
    trajectory_plot,
)
from .report import (
    DIFFERENCE_EFFECTS,
    RATIO_EFFECTS,
    findings_html,
    fmt_ci,
    fmt_number,
    fmt_p,
    sentence,
    sentences,
    table_html,
)

from . import errors, cohort, compatibility, matching, roster, program, behavior, simulation, experiment, calibration, analysis, diagnosis, plots, report
