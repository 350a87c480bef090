"""What the machine must offer before a kernel starts: the memory a study will need at its
peak (estimated from its largest cohort and the most demanding matching policy it may
use) and a writable output folder (probed by creating a temporary folder in it).
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from toolkit.errors import InsufficientMemoryError, OutputPathError
from toolkit.runs.limits import shown_path

__all__ = ["KERNEL_BYTES", "available_memory", "check_memory", "check_out", "memory_estimate"]

# Memory a study's kernel holds besides its pair matrices (interpreter, numpy, pandas,
# matplotlib, the notebook's tables): measured about 0.4 GB; counted at 0.6 GB.
KERNEL_BYTES = 600 * 2**20


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


def check_out(out: Path) -> None:
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
        raise OutputPathError(
            f"The output folder {shown_path(out)} cannot be used: {why}."
        ) from None


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
            f"The output folder {shown_path(out)} is {len(str(resolved)):,} characters long; the "
            "file system allows too few more for the run's files; choose a shorter --out."
        )
    try:
        probe = tempfile.mkdtemp(prefix=".rmt-probe-", dir=current)
    except OSError as exc:
        raise OutputPathError(
            f"The output folder {shown_path(out)} cannot be written: no folder can be created in "
            f"{shown_path(current)} ({(exc.strerror or type(exc).__name__).lower()})."
        ) from None
    os.rmdir(probe)
