"""Start a kernel and execute a notebook in it: the one place that does.

Study notebooks run through papermill (it injects the parameters cell and names the
failing cell); teaching notebooks run through nbclient directly (no parameters). Both
start the same kernel the same way:

- the ``python3`` kernel spec, which jupyter_client runs with ``sys.executable``, so the
  kernel imports the same toolkit as the host;
- BLAS and OpenMP pools pinned to one thread inside the kernel before any user code
  (``threadpoolctl``), so a number does not depend on how many cores run a reduction:
  an order-dependent floating-point sum is summed in the same order on every machine;
- the kernel's own start-up warnings silenced (its errors still show);
- stopped at once when its last cell has run (SIGKILL to its process group): everything
  a notebook makes is on disk by then, and a graceful shutdown only waits for the
  interpreter to tear itself down (about a second with pandas and matplotlib loaded).

A study's kernel is launched by :func:`start_kernel` before the host imports papermill
and reads the notebook, so the kernel process boots while the host does that work.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from toolkit._imports import load_jsonschema

__all__ = [
    "KERNEL_NAME",
    "KERNEL_THREADS",
    "CellError",
    "StudyKernel",
    "execute_notebook",
    "execute_study",
    "load_papermill",
    "start_kernel",
]

KERNEL_NAME = "python3"
KERNEL_THREADS = 1
# Runs in the kernel before any cell: load the BLAS libraries numpy and scipy bring
# (scipy's wheels carry their own) and pin every native thread pool to one thread.
_PIN_THREADS = (
    f"__import__('scipy.linalg'); __import__('threadpoolctl').threadpool_limits({KERNEL_THREADS})"
)
# Environment every kernel gets (besides the host's): the same thread counts for libraries
# that read them at start, and inline figures even when the host forces a non-interactive
# backend.
_KERNEL_ENV = {
    "OMP_NUM_THREADS": str(KERNEL_THREADS),
    "OPENBLAS_NUM_THREADS": str(KERNEL_THREADS),
    "MKL_NUM_THREADS": str(KERNEL_THREADS),
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
}
# IPython's history in memory, as nbclient asks for the kernels it starts itself.
_HISTORY = "--HistoryManager.hist_file=:memory:"


def load_papermill() -> Any:
    """papermill (and nbformat, nbclient), imported the host's way; returns the module."""
    load_jsonschema()
    import papermill

    return papermill


def _arguments(setup: str | None = None) -> list[str]:
    lines = _PIN_THREADS + (f"; {setup}" if setup else "")
    return ["--IPKernelApp.log_level=ERROR", f"--IPKernelApp.exec_lines={lines}"]


class CellError(Exception):
    """A cell failed: ``where`` says which cell and the error's first line."""

    def __init__(self, where: str):
        super().__init__(where)
        self.where = where


def cell_location(exc: Exception) -> str:
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = str(getattr(exc, "evalue", exc)).strip().splitlines()
    cell = getattr(exc, "exec_count", None)
    where = f"cell {cell}" if cell is not None else "a cell"
    return f"{where}: {ename}: {evalue[0] if evalue else ''}".rstrip(": ")


class StudyKernel:
    """A study's kernel, launched (not waited for) on construction in folder ``cwd``.

    Its process boots while the host goes on; :meth:`run` executes a study notebook in it
    and :meth:`stop` ends it. Use it as a context manager so it stops on every path.
    """

    def __init__(self, cwd: str | os.PathLike):
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        self._run_sync = run_sync
        self.manager = AsyncKernelManager(kernel_name=KERNEL_NAME)
        run_sync(self.manager.start_kernel)(
            extra_arguments=[*_arguments(), _HISTORY],
            env={**os.environ, **_KERNEL_ENV},
            cwd=os.path.abspath(cwd),
        )

    def run(
        self,
        notebook: str | os.PathLike,
        output: str | os.PathLike,
        parameters: Mapping[str, Any],
        *,
        progress: bool = True,
    ) -> None:
        """Execute a study notebook with ``parameters`` into ``output`` in this kernel.

        Raises :class:`CellError` naming the failing cell; the partial notebook is at
        ``output``.
        """
        papermill = load_papermill()
        try:
            papermill.execute_notebook(
                str(notebook),
                str(output),
                parameters=dict(parameters),
                kernel_name=KERNEL_NAME,
                km=self.manager,  # started here: papermill neither starts nor stops it
                progress_bar=progress,
                log_output=False,
                report_mode=False,
                # one write at the end (a failing run's partial notebook is written too)
                request_save_on_cell_execute=False,
            )
        except papermill.PapermillExecutionError as exc:
            raise CellError(cell_location(exc)) from None

    def stop(self) -> None:
        """Kill the kernel's process group now and remove its connection file."""
        manager = self.manager
        if manager.has_kernel:
            self._run_sync(manager.shutdown_kernel)(now=True)

    def __enter__(self) -> StudyKernel:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.stop()
            return
        with contextlib.suppress(Exception):  # the error under way is the one to report
            self.stop()


def start_kernel(cwd: str | os.PathLike) -> StudyKernel:
    """Launch a study's kernel in folder ``cwd`` (see :class:`StudyKernel`)."""
    return StudyKernel(cwd)


def execute_study(
    notebook: str | os.PathLike,
    output: str | os.PathLike,
    parameters: Mapping[str, Any],
    *,
    cwd: str | os.PathLike,
    progress: bool = True,
    kernel: StudyKernel | None = None,
) -> None:
    """Execute a study notebook with ``parameters`` into ``output`` (working folder ``cwd``)
    in ``kernel`` (launched in ``cwd``), or in a kernel started here; the kernel is stopped
    afterwards either way.

    Raises :class:`CellError` naming the failing cell; the partial notebook is at ``output``.
    """
    with kernel if kernel is not None else start_kernel(cwd) as running:
        running.run(notebook, output, parameters, progress=progress)


def execute_notebook(
    path: str | os.PathLike, *, timeout: int = 300, nb: Any = None, setup: str | None = None
) -> Any:
    """Run a notebook top to bottom in a fresh kernel (working folder: its own folder);
    return the executed notebook node. ``setup``: one more line the kernel runs before
    the first cell (as the thread pinning does)."""
    load_jsonschema()
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4) if nb is None else nb
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=KERNEL_NAME,
        store_widget_state=True,
        extra_arguments=_arguments(setup),
        resources={"metadata": {"path": str(path.parent.resolve())}},
        shutdown_kernel="immediate",
    )
    client.execute(env={**os.environ, **_KERNEL_ENV})
    return nb
