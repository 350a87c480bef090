"""Helpers for the teaching notebooks shipped in ``toolkit/data/teaching/``.

The notebooks stay thin: the small simulations they run, the interactive widgets, the
exercise checks and the tools that turn solution notebooks into student versions and
HTML all live here. Everything is built on the public ``toolkit`` API only.

- **Small, fixed examples** (cached, so a notebook and its check cells share one run):
  :func:`teaching_cohort`, :func:`policy_table`, :func:`gains_and_losses`,
  :func:`cadence_experiment`, :func:`study_example`, :func:`robustness_example`,
  :func:`try_design`.
- **Views** that draw one static result (``show_*``) and **widgets** that re-run it when a
  slider or drop-down moves (``explore_*``). Calling a ``show_*`` function once with its
  defaults is the static fallback that HTML renderings keep.
- **Exercise checks**: :func:`check_answer` compares an answer with a value computed from
  the toolkit (never a number typed into this file), says whether it is right and gives a
  hint, never the answer. A wrong type or shape gets a sentence, never a traceback.
The package's modules: ``examples`` (the course's constants, matching examples, views
and widgets), ``programs`` (program simulations, the study and robustness examples, the
design test), ``exercises`` (the checks) and ``course`` (the course tools).

- **Course tools**: :func:`build_student_versions` (solution cells, tagged ``solution``,
  become blank answer cells), :func:`execute_notebook` and :func:`render_notebooks`. The
  notebooks ship inside the package (:data:`TEACHING_NOTEBOOKS`), so both work from any
  folder of an installed toolkit; kernels start through :mod:`toolkit.runs.kernel`, pages
  use :func:`toolkit.report.page`.

>>> check_answer("nb1_q3", "b").correct
True
>>> print(check_answer("nb1_q3", ...).message.split(":")[0])
Not yet
>>> print(check_answer("nb1_q3", [1, 2]).message)   # doctest: +ELLIPSIS
Not yet: this answer should be one letter ...
"""

from toolkit.teaching.checks import Feedback, check_answer
from toolkit.teaching.course import (
    ANSWER_TAG,
    CHECK_TAG,
    SOLUTION_TAG,
    assigned_names,
    blank_source,
    build_student_versions,
    course_sessions,
    execute_notebook,
    figure_alt_text,
    render_notebooks,
    student_version,
    teaching_index,
    use_alt_text,
)
from toolkit.teaching.examples import (
    BASELINE,
    BRIEF,
    CADENCE_CHOICES,
    CHECKIN_CHOICES,
    COHORT,
    COURSE_AUDIENCE,
    FLAG_CHOICES,
    OUTCOME_LABELS,
    POLICY_CHOICES,
    PROGRAM_COHORT,
    TEACHING_NOTEBOOKS,
    WEIGHT_CHOICES,
    explore_policies,
    explore_weights,
    gains_and_losses,
    matching,
    policy_table,
    show_policies,
    show_weights,
    teaching_cohort,
    weights_summary,
)
from toolkit.teaching.exercises import EXERCISES, Exercise
from toolkit.teaching.programs import (
    DesignTest,
    NoDesign,
    cadence_experiment,
    explore_program,
    program_summary,
    robustness_example,
    robustness_verdict,
    show_program,
    study_example,
    try_design,
)

__all__ = [
    "ANSWER_TAG",
    "BASELINE",
    "BRIEF",
    "CADENCE_CHOICES",
    "CHECK_TAG",
    "CHECKIN_CHOICES",
    "COHORT",
    "COURSE_AUDIENCE",
    "EXERCISES",
    "FLAG_CHOICES",
    "OUTCOME_LABELS",
    "POLICY_CHOICES",
    "PROGRAM_COHORT",
    "SOLUTION_TAG",
    "TEACHING_NOTEBOOKS",
    "WEIGHT_CHOICES",
    "assigned_names",
    "blank_source",
    "build_student_versions",
    "cadence_experiment",
    "check_answer",
    "course_sessions",
    "DesignTest",
    "execute_notebook",
    "Exercise",
    "explore_policies",
    "explore_program",
    "explore_weights",
    "Feedback",
    "figure_alt_text",
    "gains_and_losses",
    "matching",
    "NoDesign",
    "policy_table",
    "program_summary",
    "render_notebooks",
    "robustness_example",
    "robustness_verdict",
    "show_policies",
    "show_program",
    "show_weights",
    "student_version",
    "study_example",
    "teaching_cohort",
    "teaching_index",
    "try_design",
    "use_alt_text",
    "weights_summary",
]
