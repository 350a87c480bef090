"""Where a sweep's runs execute: this process, a local process pool or a Dask cluster.

Each executor gives futures (``submit``); the sweep's one loop collects them. A pool
worker dies with the sweep and leaves Ctrl-C to it; a Dask client is reached within the
timeout or refused with one sentence.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from toolkit.errors import InvalidParameterError, SchedulerError, StudyExecutionError
from toolkit.runs.run import run_study, stop_children

__all__ = [
    "Here",
    "check_timeout",
    "executor",
    "ignoring_sigint",
    "remote_task",
    "scheduler_address",
    "worker_count",
]


_IN_TASK = threading.Event()  # set in a pool worker while it runs a study


def remote_task(name: str, values: dict[str, Any], out: str) -> str:
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


class Here:
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
def executor(n: int, scheduler: str | None, timeout: float) -> Iterator[Any]:
    if scheduler:
        client = _connect(scheduler, timeout)
        try:
            yield client
        finally:
            client.close()
    elif n == 1:
        yield Here()
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
def ignoring_sigint() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, saved)
