"""The study registry: study name -> the module that declares it.

A study is a notebook in ``toolkit/data/studies/<name>.ipynb`` backed by a module here (a
:class:`~toolkit.studies._base.BaseStudy` subclass with its typed ``Parameters``) that
exposes a :class:`Study` record as ``STUDY``. Every module of this package whose name does
not start with ``_`` is a study; modules are imported on first use, so ``rmt --help`` stays
fast. ``CONTRIBUTING.md`` has the recipe for a new study.

>>> from toolkit.studies import list_studies, get_study
>>> "meeting_cadence" in list_studies()
True
>>> get_study("meeting_cadence").parameters.__name__
'Parameters'
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

from toolkit.errors import InvalidParameterError

if TYPE_CHECKING:  # pragma: no cover
    from toolkit.studies._base import Study

__all__ = [
    "STUDY_MODULES",
    "BaseStudy",
    "Headline",
    "Study",
    "StudyParameters",
    "get_study",
    "list_studies",
    "register",
    "unregister",
]

# name -> importable module defining STUDY: every public module of this package (found
# without importing it).
STUDY_MODULES: dict[str, str] = {
    m.name: f"{__name__}.{m.name}"
    for m in pkgutil.iter_modules(__path__)
    if not m.name.startswith("_")
}
# Studies registered at run time (tests, plug-ins): name -> Study record.
_EXTRA: dict[str, Study] = {}


def list_studies() -> list[str]:
    """Names of every registered study, sorted."""
    return sorted({*STUDY_MODULES, *_EXTRA})


def register(study: Study) -> Study:
    """Register a study record at run time (used by tests and plug-ins); returns it."""
    _EXTRA[study.name] = study
    return study


def unregister(name: str) -> None:
    """Remove a study registered with :func:`register` (no error if absent)."""
    _EXTRA.pop(name, None)


def get_study(name: object) -> Study:
    """The :class:`Study` record called ``name``; one sentence listing the studies if unknown."""
    if isinstance(name, str) and name in _EXTRA:
        return _EXTRA[name]
    if not isinstance(name, str) or name not in STUDY_MODULES:
        raise InvalidParameterError(
            f"Unknown study {name!r}; the studies are: {', '.join(list_studies())}."
        )
    return importlib.import_module(STUDY_MODULES[name]).STUDY


def __getattr__(name: str):
    # The contract's public names (toolkit.studies.Study, .StudyParameters and the notebook
    # helpers) load pydantic on first use, not when the CLI lists studies.
    _base = importlib.import_module("toolkit.studies._base")
    if name in _base.__all__:
        return getattr(_base, name)
    raise AttributeError(f"module 'toolkit.studies' has no attribute {name!r}")
