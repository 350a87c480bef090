"""The toolkit's exception tree, documented in one place.

Every error the toolkit raises on purpose derives from :class:`ToolkitError`, so
callers (and the ``rmt`` CLI, which turns them into exit status 2) can catch one
class::

    ToolkitError
    ├── InvalidParameterError (also ValueError)   a parameter has a bad value or type
    │   ├── RosterError                            a roster file is malformed (names row and column)
    │   └── AnalysisInputError                     an analysis got data it cannot estimate from
    ├── InfeasibleMatchingError (also ValueError)  constraints leave people with no admissible partner
    ├── InsufficientMemoryError (also MemoryError)  a roster too large to match in the memory available
    ├── OutputPathError (also OSError)             an output path cannot be written
    ├── SchedulerError (also ConnectionError)      a Dask scheduler cannot be reached
    └── StudyExecutionError (also RuntimeError)    a study notebook failed in a cell (CLI exit 1)

Messages are one sentence naming the input, the value and what is allowed.
"""

from __future__ import annotations

__all__ = [
    "AnalysisInputError",
    "InfeasibleMatchingError",
    "InsufficientMemoryError",
    "InvalidParameterError",
    "OutputPathError",
    "RosterError",
    "SchedulerError",
    "StudyExecutionError",
    "ToolkitError",
]


class ToolkitError(Exception):
    """Base class of every error the toolkit raises deliberately."""


class InvalidParameterError(ToolkitError, ValueError):
    """A parameter has a value or type outside what is allowed."""


class RosterError(InvalidParameterError):
    """A roster file is malformed; the message names the row and the column.

    ``problems`` lists every problem found (the message shows the first few).
    """

    problems: list[str]


class AnalysisInputError(InvalidParameterError):
    """An estimator got data it cannot estimate from (empty, one arm, no variance...)."""


class InfeasibleMatchingError(ToolkitError, ValueError):
    """Hard constraints leave participants without any admissible partner."""


class InsufficientMemoryError(ToolkitError, MemoryError):
    """Matching would need more memory than is available (refused before allocating)."""


class OutputPathError(ToolkitError, OSError):
    """An output path is a directory, unwritable, or has an unsupported extension."""


class SchedulerError(ToolkitError, ConnectionError):
    """A Dask scheduler (address or scheduler file) cannot be reached within the timeout."""


class StudyExecutionError(ToolkitError, RuntimeError):
    """A study notebook raised in a cell; the message names the cell and its error."""
