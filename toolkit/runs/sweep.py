"""Sweeps: every combination of a parameter grid as its own run, through one executor loop.

The executor is this process (one worker), a local process pool (``workers`` capped at
the number of cores) or a Dask cluster (``scheduler``: an address or a scheduler file);
each gives futures, and one loop collects them. A run depends only on its parameters, so
the executor changes no number. Runs already on disk are skipped, so a sweep resumes.
Grid conventions follow Mesa's ``batch_run`` and DeclareDesign's ``expand_design``: the
first key varies slowest, every result row repeats its parameters.
"""

from __future__ import annotations

import contextlib
import html
import itertools
import json
import math
import os
import re
import shlex
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit._io import replace_text, sha256_text
from toolkit._spec import canonical_json
from toolkit.errors import InvalidParameterError, SchedulerError, StudyExecutionError
from toolkit.runs.plan import Plan, check_assignments, find_study, plan_run
from toolkit.runs.run import (
    RunResult,
    existing_run,
    run_planned,
    run_study,
    stop_children,
)

__all__ = ["SweepResult", "expand_grid", "run_sweep"]


def _is_list(cls: Any, key: str) -> bool:
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
            sep = ";" if _is_list(cls, key) else ","
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


@dataclass(frozen=True)
class SweepResult:
    """The runs of a sweep (in grid order), how many ran now, and the sweep's table and report."""

    study: str
    runs: list[RunResult]
    ran: int
    skipped: int
    table: Path
    report: Path
    grid_keys: list[str] = field(default_factory=list)


_IN_TASK = threading.Event()  # set in a pool worker while it runs a study


def _remote_task(name: str, values: dict[str, Any], out: str) -> str:
    """One run of a sweep in a pool process or on a Dask worker (plans there again).

    In a pool worker a SIGTERM (from the sweep stopping, or from the parent's death)
    raises in the run, which removes its temporary folder; the worker then stops its
    kernel and exits at once (a pool would otherwise wait for its next task).
    """
    _IN_TASK.set()
    try:
        return str(run_study(name, values, out=out, progress=False).path)
    except KeyboardInterrupt as exc:
        if not _POOL_WORKER:
            raise
        stop_children(timeout=5.0)
        os._exit(128 + int(getattr(exc, "signum", signal.SIGTERM)))
    finally:
        _IN_TASK.clear()


_POOL_WORKER = False


def _worker_stop(signum: int, frame: object) -> None:
    if _IN_TASK.is_set():
        from toolkit.runs.run import Interrupted, quiet_and_kill_kernels

        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        quiet_and_kill_kernels()
        raise Interrupted(signum)
    os._exit(128 + signum)  # idle: nothing to clean up


def _worker_init(parent: int) -> None:
    """Set up a pool worker: die with the sweep, leave Ctrl-C to the sweep.

    A Ctrl-C at the terminal reaches every process of its group; the sweep (the parent)
    handles it and stops the workers with SIGTERM, which a worker turns into a clean stop
    of its run. On Linux the kernel sends SIGTERM to the worker when the parent dies
    (``prctl(PR_SET_PDEATHSIG)``, even after a SIGKILL); elsewhere a thread checks the
    parent once a second. The worker's kernels watch the worker the same way (ipykernel's
    parent poller), so no process outlives a killed sweep.
    """
    global _POOL_WORKER
    _POOL_WORKER = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_stop)
    with contextlib.suppress(Exception):
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the line above
        os.kill(os.getpid(), signal.SIGTERM)

    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="rmt-parent-watch", daemon=True).start()


class _Here:
    """An executor that runs each task in this process when it is submitted."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        try:
            fut.set_result(fn(*args))
        except StudyExecutionError as exc:
            fut.set_exception(exc)
        return fut


def check_timeout(timeout: object) -> float:
    """``timeout`` as seconds: a finite number above 0 (at most a day)."""
    seconds = float(timeout) if isinstance(timeout, int | float) else math.nan
    if isinstance(timeout, bool) or not math.isfinite(seconds) or not 0 < seconds <= 86_400:
        raise InvalidParameterError(
            f"The --timeout of rmt sweep must be a number of seconds above 0 and at most "
            f"86400; got {timeout!r}."
        )
    return seconds


# tcp://HOST:PORT (HOST a name, an IPv4 address or an [IPv6] address), or a Dask
# in-process address (inproc://HOST/PID/N, what LocalCluster(processes=False) gives).
_ADDRESS = re.compile(
    r"^(?:(tcp|tls|ucx|ws|wss)://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+)(:\d{1,5})?/?"
    r"|inproc://[A-Za-z0-9_.:-]+/\d+/\d+)$"
)


def scheduler_address(scheduler: str) -> str:
    """The address of ``scheduler`` (an address, or a scheduler file that names one),
    checked for form: one sentence for anything else, before any connection."""
    from toolkit._validation import quote

    if "://" in scheduler:
        address = scheduler
        where = f"The scheduler address {quote(scheduler)}"
    else:
        p = Path(scheduler)
        try:
            st = p.stat()
            regular = p.is_file() and st.st_size <= 64 * 1024
            text = p.read_text(encoding="utf-8") if regular else ""
            data = json.loads(text) if regular else None
        except OSError:
            data, regular = None, False
        except ValueError:
            raise SchedulerError(
                f"The scheduler file {quote(scheduler)} is not a Dask scheduler file (JSON "
                "with an 'address')."
            ) from None
        if not regular and data is None and not p.exists():
            raise SchedulerError(
                f"The scheduler {quote(scheduler)} is neither an address (tcp://HOST:8786) "
                "nor an existing scheduler file."
            )
        if not isinstance(data, dict) or not isinstance(data.get("address"), str):
            raise SchedulerError(
                f"The scheduler file {quote(scheduler)} is not a Dask scheduler file (JSON "
                "with an 'address')."
            )
        address = data["address"]
        where = f"The address {quote(address)} in the scheduler file {quote(scheduler)}"
    m = _ADDRESS.match(address)
    port = int(m.group(3)[1:]) if m and m.group(3) else 0
    if not m or port > 65535:
        raise SchedulerError(f"{where} is not a Dask address; write it as tcp://HOST:PORT.")
    return address


def _connect(scheduler: str, timeout: float) -> Any:
    """A Dask client of ``scheduler``, reached within ``timeout`` seconds or refused.

    The client is made in a helper thread that the caller waits for at most ``timeout``
    seconds: a listener that accepts the connection but never answers the Dask
    handshake would otherwise hold the client forever.
    """
    from distributed import Client

    address = scheduler_address(scheduler)
    result: dict[str, Any] = {}

    def connect() -> None:
        try:
            result["client"] = Client(address, timeout=timeout, set_as_default=False)
        except BaseException as exc:  # reported in the caller's thread
            result["error"] = exc

    worker = threading.Thread(target=connect, name="rmt-dask-connect", daemon=True)
    worker.start()
    worker.join(timeout)
    if "client" in result:
        return result["client"]
    why = type(result["error"]).__name__ if "error" in result else "no answer"
    raise SchedulerError(
        f"The Dask scheduler {scheduler!r} could not be reached within {timeout:g} s ({why})."
    )


def worker_count(workers: int | None, echo: Callable[[str], None]) -> int:
    """``workers`` (default: the number of cores) capped at the cores; said once if capped."""
    from toolkit._validation import check_int

    cores = os.cpu_count() or 1
    n = check_int(workers if workers is not None else cores, "workers", "rmt sweep", low=1)
    if n > cores:
        echo(f"note: {n} workers asked, {cores} cores available; using {cores}")
    return min(n, cores)


@contextlib.contextmanager
def _executor(n: int, scheduler: str | None, timeout: float) -> Iterator[Any]:
    if scheduler:
        client = _connect(scheduler, timeout)
        try:
            yield client
        finally:
            client.close()
    elif n == 1:
        yield _Here()
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(
            max_workers=n,
            mp_context=mp.get_context("spawn"),
            initializer=_worker_init,
            initargs=(os.getpid(),),
        )
        try:
            yield pool
        except BaseException:
            # Interrupted, or a run failed to plan: stop the workers (each removes its
            # unfinished run) instead of waiting for their runs to end.
            _stop_workers(pool)
            raise
        pool.shutdown(wait=True)


def run_sweep(
    name: str,
    grid: Iterable[str] | Mapping[str, Sequence[Any]],
    *,
    base: Iterable[str] = (),
    out: str | os.PathLike = "runs",
    workers: int | None = None,
    scheduler: str | None = None,
    timeout: float = 10.0,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> SweepResult:
    """Run every parameter set of the grid as its own run; skip those already done.

    Writes ``<out>/<name>/sweeps/<sweep_id>/``: ``sweep.parquet`` (+ CSV, one row per run
    with its parameters and headline estimates) and ``report.html`` with a comparison figure.
    """
    study = find_study(name)
    if scheduler:
        timeout = check_timeout(timeout)
        scheduler_address(scheduler)
    grid = grid if isinstance(grid, Mapping) else check_assignments(grid, study.name)
    sets = expand_grid(study, grid, check_assignments(base, study.name))
    plans = [plan_run(study, p, out=out) for p in sets]
    n = worker_count(workers, echo) if not scheduler else 0
    todo: dict[str, Plan] = {}
    for plan in plans:
        manifest = existing_run(plan)
        if manifest is None or manifest.get("fingerprint") != plan.fingerprint:
            todo.setdefault(plan.run_id, plan)
    if len({p.run_id for p in plans}) < len(plans):
        echo("note: some grid points have identical parameters; each is run once")
    echo(f"sweep of {len(plans)} runs: {len(plans) - len(todo)} already done, {len(todo)} to run")
    failures: list[str] = []
    if todo:
        root = str(Path(out).resolve())
        with _executor(min(n, len(todo)) if n else 0, scheduler, timeout) as pool:
            if isinstance(pool, _Here):  # the plans made above, run in this process
                futures = [pool.submit(_run_plan_here, p) for p in todo.values()]
            else:  # another process plans its run again from the checked values
                # Workers start while SIGINT is ignored, so they start ignoring it (a
                # Ctrl-C at the terminal is for the sweep, which stops them).
                quiet = _ignoring_sigint() if n else contextlib.nullcontext()
                with quiet:
                    futures = [
                        pool.submit(_remote_task, name, p.params.to_dict(), root)
                        for p in todo.values()
                    ]
            for fut in futures:  # each finished run is on disk whatever the order
                try:
                    echo(f"done {fut.result()}")
                except StudyExecutionError as exc:
                    failures.append(str(exc))
    if failures:
        raise StudyExecutionError(
            f"{len(failures)} of {len(todo)} runs of the sweep failed; the first: {failures[0]}"
        )
    runs = [RunResult(name, p.path, p.run_id, p.fingerprint) for p in plans]
    keys = grid_keys(grid)
    table, report = _write_sweep(study, sets, runs, keys, Path(out))
    return SweepResult(name, runs, len(todo), len(plans) - len(todo), table, report, keys)


def _stop_workers(pool: Any, timeout: float = 10.0) -> None:
    """SIGTERM to the pool's worker processes (each stops its kernel and removes its
    unfinished run), SIGKILL to any still running after ``timeout`` seconds.

    ``ProcessPoolExecutor`` has no public way to end its workers before Python 3.14
    (``terminate_workers``); its ``_processes`` mapping is read here, so only processes
    of this pool are touched (not other children of a notebook calling the API).
    """
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.terminate()
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.join(timeout)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout)


@contextlib.contextmanager
def _ignoring_sigint() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, saved)


def _run_plan_here(plan: Plan) -> str:
    return str(run_planned(plan, progress=False).path)


def grid_keys(grid: Iterable[str] | Mapping[str, Any]) -> list[str]:
    """The parameter names a grid varies, in order."""
    if isinstance(grid, Mapping):
        return list(grid)
    return [g.split("=", 1)[0].strip() for g in grid]


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")


def _write_sweep(
    study: Any, sets: list[Any], runs: list[RunResult], keys: list[str], out: Path
) -> tuple[Path, Path]:
    import pandas as pd

    from toolkit._io import write_table
    from toolkit.report import figure_html, page, table_html
    from toolkit.studies import cli_text

    rows, long = [], []
    for params, run in zip(sets, runs, strict=True):
        label = ", ".join(f"{k}={cli_text(getattr(params, k))}" for k in keys)
        row = {"run_id": run.run_id, "label": label}
        row.update({k: cli_text(getattr(params, k)) for k in keys})
        for r in study.estimates(run.path).to_dict("records"):
            s = _slug(str(r["estimate_name"]))
            row[s], row[f"{s}_ci_low"], row[f"{s}_ci_high"] = (
                r["estimate"],
                r["ci_low"],
                r["ci_high"],
            )
            long.append({"label": label, **r})
        rows.append(row)
    table = pd.DataFrame(rows)
    sweep_id = sha256_text(canonical_json([r.fingerprint for r in runs]))[:12]
    folder = out / study.name / "sweeps" / sweep_id
    folder.mkdir(parents=True, exist_ok=True)
    path = write_table(table, folder / "sweep.parquet")
    write_table(table, folder / "sweep.csv")
    esc = html.escape
    figure = ""
    if long:
        import matplotlib.pyplot as plt

        from toolkit.plots import sweep_plot

        fig = sweep_plot(pd.DataFrame(long))
        figure = figure_html(
            fig, "Headline estimates of each run of the sweep, with 95% confidence intervals."
        )
        fig.savefig(folder / "comparison.png", dpi=110, metadata={"Software": None})
        plt.close(fig)
    shown = table.drop(columns=[c for c in table.columns if c.endswith(("_ci_low", "_ci_high"))])
    body = (
        f"<h1>Sweep of {esc(study.title)}</h1><p><strong>Question.</strong> "
        f"{esc(study.question)}</p><p>{len(runs)} runs varying {esc(', '.join(keys))}; each "
        f"run has its own report in <code>{esc(study.name)}/&lt;run_id&gt;/</code>.</p>{figure}"
        + table_html(
            shown, digits=1, caption="One row per run: its parameters and headline estimates"
        )
        + f"<h2>Reproduce this</h2><pre><code>{esc(_sweep_command(study.name, keys, sets))}"
        "</code></pre>"
    )
    report = replace_text(folder / "report.html", page(f"Sweep: {study.title}", body))
    return path, report


def _sweep_command(name: str, keys: list[str], sets: list[Any]) -> str:
    from toolkit.studies import cli_text

    parts = ["rmt", "sweep", name]
    if sets:
        cls = type(sets[0])
        for k in keys:
            sep = ";" if _is_list(cls, k) else ","
            values = list(dict.fromkeys(cli_text(getattr(s, k)) for s in sets))
            parts += ["--grid", f"{k}={sep.join(values)}"]
        for k, v in sets[0].changed().items():
            if k not in keys:
                parts += ["-p", f"{k}={cli_text(v)}"]
    return shlex.join(parts)
