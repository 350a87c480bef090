"""Plan a run: the study, its checked parameters, its input files, its fingerprint and path.

A plan is built once per run (and once per grid point of a sweep) in the host process;
everything after it (kernel, render, manifest) reads the plan and checks nothing again.
Parameters are checked here, before any kernel starts, with the study's own declaration
(``Study.parameters``: ``from_values``, ``from_strings``, ``from_file``). Input files
(``Study.inputs``, e.g. a roster) count by content: the fingerprint holds their checksums,
never their paths, and a roster is read once here so its own one-sentence error comes
before a kernel starts.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit._io import sha256_file, sha256_text
from toolkit._spec import canonical_json
from toolkit.errors import InvalidParameterError
from toolkit.runs.limits import (
    MAX_FILE_BYTES,
    MAX_ITEMS,
    MAX_TEXT,
    check_assignments,
    check_sizes,
    read_parameter_file,
    regular_file,
)
from toolkit.runs.resources import available_memory, check_memory, check_out, memory_estimate

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_ITEMS",
    "MAX_TEXT",
    "Plan",
    "available_memory",
    "check_parameters",
    "check_sizes",
    "find_study",
    "fingerprint",
    "input_values",
    "memory_estimate",
    "plan_run",
    "read_parameter_file",
]

RUN_ID_DIGITS = 12


def find_study(name: object) -> Any:
    """The study record called ``name``; an unknown name gets a near miss if there is one.

    >>> find_study("meeting_cadense")
    Traceback (most recent call last):
    ...
    toolkit.errors.InvalidParameterError: Unknown study 'meeting_cadense'; did you mean meeting_cadence? The studies are: advise, checkin_cadence, design_power, matching_policies, meeting_cadence, model_card, policy_by_cadence.
    """
    from toolkit.studies import get_study, list_studies

    names = list_studies()
    if isinstance(name, str) and name not in names:
        near = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        hint = f"; did you mean {near[0]}?" if near else ";"
        sep = " The studies are: " if near else " the studies are: "
        raise InvalidParameterError(f"Unknown study {name!r}{hint}{sep}{', '.join(names)}.")
    return get_study(name)


def _assignments(params: Any) -> list[str]:
    if params is None:
        return []
    if isinstance(params, Mapping):
        return [f"{k}={v}" for k, v in params.items()]
    if isinstance(params, str):
        return [params]
    return list(params)


def check_parameters(
    study: str | Any, params: Any = None, *, file: str | os.PathLike | None = None
) -> Any:
    """Checked parameters of ``study`` (a name or a record) from a parameters object, a
    mapping, ``key=value`` strings and/or a YAML/JSON ``file`` (strings override the file).

    No kernel is started; a bad value is refused with one sentence.
    """
    record = find_study(study) if isinstance(study, str) else study
    cls = record.parameters
    if isinstance(params, cls):
        if file is not None:
            raise InvalidParameterError(
                "Give parameters either as an object or with a file, not both."
            )
        return params
    if file is not None:
        from toolkit.studies import parse_value

        data = read_parameter_file(file, file_what="parameter file (-f)")
        cls.refuse_unknown(data)
        base = {
            k: parse_value(v, cls.model_fields[k].annotation) if isinstance(v, str) else v
            for k, v in data.items()
        }
        return cls.from_strings(check_assignments(_assignments(params), record.name), base=base)
    if params is None:
        return cls()
    if isinstance(params, Mapping) and not all(isinstance(v, str) for v in params.values()):
        for key, value in params.items():
            check_sizes(str(key), value, record.name)
        return cls.from_values(params)
    return cls.from_strings(check_assignments(_assignments(params), record.name))


def _read_inputs(study: Any, params: Any) -> tuple[Any, dict[str, dict[str, Any]]]:
    """Absolute paths for input-file parameters, and each file's name and checksum.

    The roster is read once here (:func:`toolkit.roster.load_roster`) so a bad roster is
    refused with its own sentence before a kernel starts.
    """
    inputs: dict[str, dict[str, Any]] = {}
    changes: dict[str, str] = {}
    changes_sizes: dict[str, tuple[int, int]] = {}
    values = params.to_dict()
    for name in study.inputs:
        value = values.get(name)
        if value is None:
            continue
        p = Path(value).expanduser()
        regular_file(p, f"{name!r} parameter of study {study.name}")
        if name == "roster":
            roles = _read_roster(p).participants["role"].value_counts()
            inputs_sizes = (int(roles.get("mentee", 0)), int(roles.get("mentor", 0)))
            changes_sizes[name] = inputs_sizes
        changes[name] = str(p.resolve())
        inputs[name] = {"file": p.name, "sha256": sha256_file(p), "path": str(p.resolve())}
        if name in changes_sizes:
            inputs[name]["people"] = changes_sizes[name]
    if changes:
        params = type(params).from_values({**values, **changes})
    return params, inputs


def input_values(params: Any, inputs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The parameters as JSON values, each input file named by its file name only.

    What a manifest and a notebook keep: a folder can name a person (a home folder).
    """
    values = params.to_dict()
    for name, meta in inputs.items():
        values[name] = meta["file"]
    return values


def fingerprint(study: str, params: Any, inputs: Mapping[str, Mapping[str, Any]]) -> str:
    """sha256 of the canonical JSON of the study, its parameters and its input checksums.

    Input files count by content (their checksum), not by path or name.
    """
    values = params.to_dict()
    for name in inputs:
        values[name] = None
    payload = {
        "study": study,
        "parameters": values,
        "inputs": {k: v["sha256"] for k, v in sorted(inputs.items())},
    }
    return sha256_text(canonical_json(payload))


@dataclass(frozen=True)
class Plan:
    """Everything a run needs, decided once: study record, checked parameters, input files
    (name, checksum, absolute path), fingerprint, run id and run path."""

    study: Any
    params: Any
    inputs: dict[str, dict[str, Any]]
    fingerprint: str
    run_id: str
    path: Path
    canonical: bool

    @property
    def name(self) -> str:
        return str(self.study.name)

    def recorded_parameters(self) -> dict[str, Any]:
        """The parameters as a manifest and the notebook keep them (input files by name)."""
        return input_values(self.params, self.inputs)


def plan_run(
    study: str | Any,
    params: Any = None,
    *,
    out: str | os.PathLike = "runs",
    canonical: bool = False,
    file: str | os.PathLike | None = None,
) -> Plan:
    """Check everything about a run before any kernel starts; return its :class:`Plan`."""
    record = find_study(study) if isinstance(study, str) else study
    root = Path(out)
    check_out(root)
    checked = check_parameters(record, params, file=file)
    for key, value in checked.to_dict().items():
        check_sizes(key, value, record.name)
    checked, inputs = _read_inputs(record, checked)
    check_memory(record.name, checked, inputs)
    fp = fingerprint(record.name, checked, inputs)
    run_id = fp[:RUN_ID_DIGITS]
    path = root / record.name if canonical else root / record.name / run_id
    return Plan(record, checked, inputs, fp, run_id, path, canonical)


_TOLD: set[tuple[str, int, int]] = set()  # rosters whose warnings this process has printed


def _read_roster(path: Path) -> Any:
    """The roster's cohort; its notes and warnings printed on stderr as ``note: ...`` and
    ``warning: ...`` lines, once per file (and version) per process."""
    import sys

    from toolkit._validation import one_line
    from toolkit.roster import load_roster

    reading = load_roster(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _TOLD:
        _TOLD.add(key)
        lines = [f"note: {one_line(n)}" for n in reading.notes]
        lines += [f"warning: {one_line(w)}" for w in reading.warnings]
        for line in lines:
            print(line, file=sys.stderr)
    return reading.cohort
