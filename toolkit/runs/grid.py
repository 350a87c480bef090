"""A sweep's grid: the parameter sets of every combination, checked against the study.

Grid conventions follow Mesa's ``batch_run`` and DeclareDesign's ``expand_design``: the
first key varies slowest, every result row repeats its parameters.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from toolkit.errors import InvalidParameterError
from toolkit.runs.plan import find_study

__all__ = ["expand_grid", "grid_keys", "is_list_parameter"]


def is_list_parameter(cls: Any, key: str) -> bool:
    from toolkit.studies import is_list_annotation

    return bool(is_list_annotation(cls.model_fields[key].annotation))


def _known(cls: Any, key: str) -> None:
    if key not in cls.model_fields:
        cls.from_strings([f"{key}="])  # the study's own sentence for an unknown name


def _axes(study: Any, grid: Iterable[str] | Mapping[str, Sequence[Any]]) -> dict[str, list[str]]:
    cls = study.parameters
    axes: dict[str, list[str]] = {}
    if isinstance(grid, Mapping):
        for key, values in grid.items():
            _known(cls, key)
            values = (
                [values] if isinstance(values, str) or not isinstance(values, Iterable) else values
            )
            axes[key] = [v if isinstance(v, str) else json.dumps(v) for v in values]
    else:
        for item in grid:
            if "=" not in item:
                raise InvalidParameterError(
                    f"A --grid of study {study.name} is key=v1,v2; got {item!r}."
                )
            key, values = (s.strip() for s in item.split("=", 1))
            _known(cls, key)
            sep = ";" if is_list_parameter(cls, key) else ","
            axes[key] = [v.strip() for v in values.split(sep) if v.strip()]
    for key, vals in axes.items():
        if not vals:
            raise InvalidParameterError(
                f"The grid of study {study.name} gives no values for {key!r}."
            )
    return axes


def expand_grid(
    study: str | Any, grid: Iterable[str] | Mapping[str, Sequence[Any]], base: Iterable[str] = ()
) -> list[Any]:
    """Every combination of the grid's values (first key slowest), checked.

    ``grid`` holds ``key=v1,v2`` strings (for a list-valued parameter separate the values
    with ``;``: ``cadences=weekly,biweekly;weekly,monthly``) or a mapping of key to values.
    """
    record = find_study(study) if isinstance(study, str) else study
    axes = _axes(record, grid)
    base = list(base)
    return [
        record.parameters.from_strings(
            base + [f"{k}={v}" for k, v in zip(axes, combo, strict=True)]
        )
        for combo in itertools.product(*axes.values())
    ]


def grid_keys(grid: Iterable[str] | Mapping[str, Any]) -> list[str]:
    """The parameter names a grid varies, in order."""
    if isinstance(grid, Mapping):
        return list(grid)
    return [g.split("=", 1)[0].strip() for g in grid]
