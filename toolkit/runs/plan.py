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
import errno
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit._io import sha256_file, sha256_text
from toolkit._spec import canonical_json
from toolkit._userfiles import (
    MAX_FILE_BYTES,
    MAX_ITEMS,
    MAX_TEXT,
    check_sizes,
    read_parameter_file,
    regular_file,
)
from toolkit._validation import quote
from toolkit.errors import InsufficientMemoryError, InvalidParameterError, OutputPathError

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
# Memory a study's kernel holds besides its pair matrices (interpreter, numpy, pandas,
# matplotlib, the notebook's tables): measured about 0.4 GB; counted at 0.6 GB.
KERNEL_BYTES = 600 * 2**20


def _short(path: object) -> str:
    """A path as messages show it: quoted, one line, cut after 300 characters."""
    return quote(str(path))


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


def check_assignments(items: Iterable[Any], study: str) -> list[Any]:
    """``key=value`` strings, each refused in one sentence if longer than allowed."""
    items = list(items)
    limit = 4 * MAX_TEXT
    for item in items:
        if isinstance(item, str) and len(item) > limit:
            raise InvalidParameterError(
                f"A parameter of study {study} is {len(item):,} characters long "
                f"({quote(item[:40])}...); at most {limit:,} are allowed."
            )
    return items


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


def available_memory() -> int:
    """Bytes a new kernel may use: the memory the system has available (psutil), lowered
    by this process's address-space limit (``ulimit -v``, inherited by the kernel) and a
    cgroup v2 memory limit, when set."""
    import resource

    import psutil

    limits = [int(psutil.virtual_memory().available)]
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        limits.append(int(soft))
    try:
        cg = Path("/sys/fs/cgroup")
        high = (cg / "memory.max").read_text().strip()
        if high != "max":
            limits.append(int(high) - int((cg / "memory.current").read_text().strip()))
    except (OSError, ValueError):
        pass
    return max(min(limits), 0)


def _people(values: Mapping[str, Any], inputs: Mapping[str, Mapping[str, Any]]) -> tuple[int, int]:
    """(mentees, mentors) of the largest cohort a study's kernel holds at once.

    A roster counts its people; a synthetic cohort its ``n_mentees`` and ``n_mentors``;
    a study of pilot sizes (``sizes``, ``effect_pairs``: pairs) makes cohorts of that many
    mentees and 1.2 times as many mentors (the default cohort's ratio, as
    ``toolkit.diagnosis.SimulatorDesign`` does).
    """
    if "roster" in inputs and "people" in inputs["roster"]:
        n_e, n_r = inputs["roster"]["people"]
        return int(n_e), int(n_r)
    n_e, n_r = int(values.get("n_mentees") or 0), int(values.get("n_mentors") or 0)
    pilots = [int(v) for v in values.get("sizes") or ()] + [int(values.get("effect_pairs") or 0)]
    n = max(pilots)
    return max(n_e, n), max(n_r, round(1.2 * n))


def memory_estimate(params: Any, inputs: Mapping[str, Mapping[str, Any]]) -> tuple[int, int, int]:
    """(bytes, mentees, mentors): the peak memory of a study's kernel, estimated.

    The kernel's own memory (:data:`KERNEL_BYTES`) plus what matching its largest cohort
    needs under the most demanding policy it may use
    (:func:`toolkit.matching.memory_needed`: pair matrices, masks, the policy's working
    memory): the pair matrices are the only part that grows with the square of the cohort.
    """
    from toolkit.matching import POLICIES, memory_needed

    values = params.to_dict()
    n_e, n_r = _people(values, inputs)
    named = [
        v
        for k, v in values.items()
        if (k == "policy" or k.endswith("_policy")) and isinstance(v, str)
    ]
    named += [v for v in values.get("policies") or () if isinstance(v, str)]
    policies = [p for p in named if p in POLICIES] or list(POLICIES)
    pairs = max((memory_needed(p, n_e, n_r) for p in policies), default=0) if n_e and n_r else 0
    return KERNEL_BYTES + pairs, n_e, n_r


def _gb(n: float) -> str:
    return f"{n / 2**30:,.1f} GB"


def check_memory(study: str, params: Any, inputs: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse, before a kernel starts, a study whose estimated peak memory
    (:func:`memory_estimate`) is more than :func:`available_memory`; says the sizes and
    how large a cohort fits."""
    need, n_e, n_r = memory_estimate(params, inputs)
    free = available_memory()
    if need <= free:
        return
    room = free - KERNEL_BYTES
    per_pair = (need - KERNEL_BYTES) / max(n_e * n_r, 1)
    fits = int((room / per_pair) ** 0.5) if room > 0 and per_pair > 0 else 0
    what = "the roster" if "roster" in inputs else "n_mentees and n_mentors"
    hint = (
        f"lower {what} (about {fits:,} of each fit)"
        if fits >= 2
        else "free memory (close other programs)"
    )
    raise InsufficientMemoryError(
        f"Study {study} with {n_e:,} mentees and {n_r:,} mentors needs about {_gb(need)} of "
        f"memory at its peak, but {_gb(free)} is available; {hint}, or run it on a machine "
        "with more memory."
    )


def _check_out(out: Path) -> None:
    """Refuse an output folder under a file or in a place that accepts no folders (/proc),
    and prove the place writable by creating (and removing) a temporary folder in the
    nearest folder that exists: nothing else is created before a run starts."""
    try:
        _check_out_path(out)
    except OSError as exc:
        if isinstance(exc, OutputPathError):
            raise
        if exc.errno == errno.ENAMETOOLONG:
            why = f"its name is {len(str(out)):,} characters long, more than the file system allows"
        else:
            why = (exc.strerror or type(exc).__name__).lower()
        raise OutputPathError(f"The output folder {_short(out)} cannot be used: {why}.") from None


def _check_out_path(out: Path) -> None:
    current = out
    while not current.exists() and current != current.parent:
        current = current.parent
    if current.exists() and not current.is_dir():
        what = "is" if current == out else "is under"
        raise OutputPathError(
            f"The output folder {str(out)!r} {what} {str(current)!r}, which is "
            "a file, not a folder."
        )
    resolved = out.resolve()
    if resolved.parts[:2] in (("/", "proc"), ("/", "sys"), ("/", "dev")):
        raise OutputPathError(
            f"The output folder {str(out)!r} is under /{resolved.parts[1]}, "
            "which holds no files; choose another --out."
        )
    try:
        path_max = os.pathconf(current, "PC_PATH_MAX")
    except (AttributeError, ValueError, OSError):  # no pathconf (Windows), or no limit
        path_max = 1 << 30
    if len(str(resolved)) + 64 > path_max:
        raise OutputPathError(
            f"The output folder {_short(out)} is {len(str(resolved)):,} characters long; the "
            "file system allows too few more for the run's files; choose a shorter --out."
        )
    try:
        probe = tempfile.mkdtemp(prefix=".rmt-probe-", dir=current)
    except OSError as exc:
        raise OutputPathError(
            f"The output folder {_short(out)} cannot be written: no folder can be created in "
            f"{_short(current)} ({(exc.strerror or type(exc).__name__).lower()})."
        ) from None
    os.rmdir(probe)


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
    _check_out(root)
    checked = check_parameters(record, params, file=file)
    for key, value in checked.to_dict().items():
        check_sizes(key, value, record.name)
    checked, inputs = _read_inputs(record, checked)
    check_memory(record.name, checked, inputs)
    fp = fingerprint(record.name, checked, inputs)
    run_id = fp[:RUN_ID_DIGITS]
    path = root / record.name if canonical else root / record.name / run_id
    return Plan(record, checked, inputs, fp, run_id, path, canonical)
