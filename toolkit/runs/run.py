"""Run a study: plan -> kernel -> render -> manifest, into a folder renamed into place.

A run of study ``S`` lives in ``<out>/S/<run_id>/`` (``rmt run`` writes under ``runs/``
unless ``--out`` says otherwise; only ``rmt reports`` writes the canonical ``reports/S/``)::

    notebook.ipynb   the executed notebook
    report.html      self-contained report (code hidden, images embedded, no outside requests)
    findings.json    the headline findings the notebook showed
    tables/          tidy tables (Parquet; CSV too for small ones)
    figures/         PNG figures
    manifest.json    study, parameters, fingerprint, seed, versions, input and output checksums

A run is written to a temporary folder and renamed into place, so a failed run leaves
nothing at the run path (its partial notebook is kept in ``failed-<run_id>/``). An input
file reaches the kernel as a link named like the file inside the run folder, removed
before the folder is renamed, so neither the notebook nor the manifest names its folder.

Interruptions: inside :func:`interruptible`, SIGINT (Ctrl-C) and SIGTERM raise
:class:`Interrupted`; the unfinished run's temporary folder is removed on the way out and
:func:`stop_children` ends the kernels and pool workers this process started. Only a
SIGKILL can leave a temporary folder, and it is named ``.unfinished-<run_id>-*``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.errors import OutputPathError, StudyExecutionError
from toolkit.runs.kernel import CellError, execute_study, load_papermill, start_kernel
from toolkit.runs.manifest import MANIFEST, read_manifest, write_manifest
from toolkit.runs.plan import Plan, find_study, plan_run
from toolkit.runs.render import load_exporter, render_report, strip_run_times, write_index

__all__ = [
    "Interrupted",
    "RunResult",
    "existing_run",
    "interruptible",
    "kill_kernels",
    "run_planned",
    "run_reports",
    "run_study",
    "stop_children",
]


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; ``signum`` says which (exit status 128 + signum)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_interrupted(signum: int, frame: object) -> None:
    # Further signals are ignored while the program cleans up after the first one.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    quiet_and_kill_kernels()
    raise Interrupted(signum)


def quiet_and_kill_kernels() -> None:
    """Silence logging (the notebook client may still run in its own thread and report the
    kernel it loses as an error) and kill this process's kernels; the process is ending."""
    import logging

    logging.disable(logging.CRITICAL)
    kill_kernels()


def kill_kernels() -> None:
    """SIGKILL the kernels this process started, at once: the run is abandoned, and a
    kernel still alive when the client cleans up is asked to shut down mid-cell, which
    makes ipykernel log a traceback on the terminal."""
    import psutil

    with contextlib.suppress(psutil.Error):
        for child in psutil.Process().children():
            if _is_kernel(child):
                with contextlib.suppress(psutil.Error):
                    child.kill()


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise :class:`Interrupted` (in the main
    thread); the previous handlers come back afterwards. Elsewhere a no-op."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in saved:
        signal.signal(sig, _raise_interrupted)
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _is_kernel(proc: Any) -> bool:
    try:
        return any("ipykernel" in part for part in proc.cmdline())
    except Exception:
        return False


def stop_children(timeout: float = 10.0) -> None:
    """End every process this one started (kernels, pool workers and theirs): SIGKILL to
    kernels, SIGTERM to other children, then SIGKILL to any process still running after
    ``timeout`` seconds.

    A pool worker stops its own kernel and removes its temporary folder on SIGTERM;
    a kernel started by jupyter_client is in its own session, so a Ctrl-C at the
    terminal never reaches it.
    """
    import psutil

    try:
        me = psutil.Process()
        children = me.children(recursive=True)
    except psutil.Error:
        return
    direct = [c for c in children if c.ppid() == me.pid]
    for child in direct:
        with contextlib.suppress(psutil.Error):
            if _is_kernel(child):  # its work is discarded; a SIGTERM makes it log a
                child.kill()  # traceback while it closes its sockets mid-cell
            else:
                child.terminate()
    _, alive = psutil.wait_procs(direct, timeout=timeout)
    rest = [c for c in children if c.is_running()] + alive
    for child in rest:
        with contextlib.suppress(psutil.Error):
            child.kill()
    psutil.wait_procs(rest, timeout=timeout)


_CANONICAL_FILES = ("notebook.ipynb", "report.html", "findings.json", "tables", "figures", MANIFEST)


@dataclass(frozen=True)
class RunResult:
    """Where a run is, its id and fingerprint, and whether it was found rather than run."""

    study: str
    path: Path
    run_id: str
    fingerprint: str
    skipped: bool = False
    wall_seconds: float = 0.0


def existing_run(plan: Plan) -> dict[str, Any] | None:
    """The manifest already at the run path (None if the path is free); refuses a folder
    that is not a run of this study."""
    p = plan.path
    if not p.exists():
        return None
    if not p.is_dir():
        raise OutputPathError(
            f"The run path {str(p)!r} is an existing file, not a run of study {plan.name}."
        )
    manifest = read_manifest(p)
    if manifest is None:
        if plan.canonical and not any((p / f).exists() for f in _CANONICAL_FILES):
            return None  # the study's folder holding only other runs
        if not plan.canonical and not any(p.iterdir()):
            return None  # an empty folder
        raise OutputPathError(
            f"The output folder {str(p)!r} exists and is not a run of study "
            f"{plan.name} (no readable manifest.json); choose another --out."
        )
    if manifest.get("study") != plan.name:
        raise OutputPathError(
            f"The output folder {str(p)!r} holds a run of study "
            f"{manifest.get('study')!r}, not {plan.name!r}; choose another --out."
        )
    return manifest


def _make_parent(path: Path) -> Path:
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        # named so a folder left by a SIGKILL says what it is
        tmp = Path(tempfile.mkdtemp(prefix=f".unfinished-{path.name}-", dir=parent))
    except OSError as exc:
        raise OutputPathError(
            f"The output folder {str(parent)!r} cannot be written: "
            f"{(exc.strerror or str(exc)).lower()}."
        ) from None
    from toolkit._io import folder_mode

    tmp.chmod(folder_mode())  # mkdtemp makes it private; a run folder is as readable as any
    return tmp


def _link_inputs(plan: Plan, folder: Path) -> dict[str, Any]:
    """Link each input file into ``folder`` under its own name; the kernel's parameters
    then name the file, never its folder."""
    values = plan.recorded_parameters()
    for meta in plan.inputs.values():
        link = folder / meta["file"]
        try:
            link.symlink_to(meta["path"])
        except OSError:  # file systems without links: a private copy, removed afterwards
            shutil.copyfile(meta["path"], link)
    return values


def _unlink_inputs(plan: Plan, folder: Path) -> None:
    for meta in plan.inputs.values():
        (folder / meta["file"]).unlink(missing_ok=True)


def _move_into_place(tmp: Path, plan: Plan) -> None:
    path = plan.path
    if not path.exists():
        os.replace(tmp, path)
        return
    old = Path(tempfile.mkdtemp(prefix=f".old-{path.name}-", dir=path.parent))
    if plan.canonical:  # keep other runs stored beneath the study's canonical folder
        for entry in _CANONICAL_FILES:
            if (path / entry).exists():
                os.replace(path / entry, old / entry)
        for entry in _CANONICAL_FILES:
            if (tmp / entry).exists():
                os.replace(tmp / entry, path / entry)
        shutil.rmtree(tmp, ignore_errors=True)
    else:  # --force over an earlier run
        os.replace(path, old / "run")
        os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)


def _in_background(work: Callable[[], object]) -> Any:
    """Start ``work`` in a daemon thread (joined by the caller when it needs the result).

    Its errors are left to the caller's own later call of the same loader, which raises
    them where they matter (a run that fails anyway never waits for this thread)."""
    import threading

    def quietly() -> None:
        with contextlib.suppress(Exception):
            work()

    thread = threading.Thread(
        target=quietly, name=f"rmt-{getattr(work, '__name__', 'work')}", daemon=True
    )
    thread.start()
    return thread


def run_planned(
    plan: Plan, *, force: bool = False, progress: bool = True, keep_failed: bool = True
) -> RunResult:
    """Execute a :class:`~toolkit.runs.plan.Plan` (see :func:`run_study`); with
    ``keep_failed=False`` a failing run keeps nothing and its message names no folder."""
    existing = existing_run(plan)
    if existing is not None and not (plan.canonical or force):
        if existing.get("fingerprint") == plan.fingerprint:
            return RunResult(plan.name, plan.path, plan.run_id, plan.fingerprint, skipped=True)
        raise OutputPathError(
            f"The run folder {str(plan.path)!r} holds a run of study "
            f"{plan.name} with other parameters; remove it or run with --force."
        )
    notebook = Path(plan.study.notebook)
    if not notebook.is_file():
        raise OutputPathError(f"The notebook of study {plan.name} is missing: {str(notebook)!r}.")
    tmp = _make_parent(plan.path)
    start = time.perf_counter()
    try:
        (tmp / "tables").mkdir()
        (tmp / "figures").mkdir()
        parameters = _link_inputs(plan, tmp)
        try:
            with start_kernel(tmp) as kernel:  # boots while the host loads what it needs
                load_papermill()
                exporter = _in_background(load_exporter)  # while the cells run
                execute_study(
                    notebook,
                    tmp / "notebook.ipynb",
                    parameters,
                    cwd=tmp,
                    progress=progress,
                    kernel=kernel,
                )
            exporter.join()
        except CellError as exc:
            if "KeyboardInterrupt" in exc.where:  # the kernel got the Ctrl-C too
                raise Interrupted(signal.SIGINT) from None
            if not keep_failed:
                raise StudyExecutionError(f"Study {plan.name} failed in {exc.where}.") from None
            _unlink_inputs(plan, tmp)
            failed = plan.path.parent / f"failed-{plan.run_id}"
            shutil.rmtree(failed, ignore_errors=True)
            os.replace(tmp, failed)
            raise StudyExecutionError(
                f"Study {plan.name} failed in {exc.where}. The partial notebook is in "
                f"{failed / 'notebook.ipynb'}."
            ) from None
        _unlink_inputs(plan, tmp)
        strip_run_times(tmp / "notebook.ipynb")
        render_report(tmp / "notebook.ipynb", tmp / "report.html", plan.study, run_id=plan.run_id)
        wall = time.perf_counter() - start
        write_manifest(tmp, plan, notebook, wall)
        _move_into_place(tmp, plan)
        shutil.rmtree(plan.path.parent / f"failed-{plan.run_id}", ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return RunResult(plan.name, plan.path, plan.run_id, plan.fingerprint, wall_seconds=wall)


def run_study(
    name: str,
    params: Any = None,
    *,
    out: str | os.PathLike = "runs",
    file: str | os.PathLike | None = None,
    canonical: bool = False,
    force: bool = False,
    progress: bool = True,
    echo: Callable[[str], None] | None = None,
) -> RunResult:
    """Run study ``name`` with ``params``; return where the run is.

    ``params``: the study's parameters object, a mapping, or ``key=value`` strings
    (``file``: YAML or JSON, overridden by the strings). Everything is checked before a
    kernel starts (:class:`~toolkit.errors.InvalidParameterError`). A run with the same
    fingerprint already at ``<out>/<name>/<run_id>`` is found and returned
    (``skipped=True``) unless ``force``; ``canonical`` writes to ``<out>/<name>/`` and
    always runs. A failing cell raises :class:`~toolkit.errors.StudyExecutionError`,
    leaves nothing at the run path and keeps the partial notebook in ``failed-<run_id>/``.
    """
    plan = plan_run(name, params, out=out, canonical=canonical, file=file)
    return run_planned(plan, force=force, progress=progress)


def run_reports(
    out: str | os.PathLike = "reports",
    studies: Sequence[str] | None = None,
    *,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> Path:
    """Run every registered study (or ``studies``) at its defaults into ``<out>/<study>/``
    and write ``<out>/index.html`` (listing every study); returns the index path."""
    from toolkit.studies import list_studies

    names = list(studies) if studies else list_studies()
    plans = [plan_run(n, None, out=out, canonical=True) for n in names]
    for plan in plans:
        echo(f"running {plan.name} ...")
        res = run_planned(plan, progress=progress)
        echo(f"wrote {res.path / 'report.html'} ({res.wall_seconds:.1f} s)")
    return write_index(out, [find_study(n) for n in list_studies()])
