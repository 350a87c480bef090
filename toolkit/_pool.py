"""Where independent chunks of work run: this process, a local process pool or Dask.

One convention for every simulation that splits into chunks whose numbers do not depend on
where they run (``diagnosis`` runs simulated data sets, ``experiment`` an ensemble's chunks
of models): ``executor`` is ``"serial"``, ``"process"`` (a local pool of ``workers``
processes, shut down when the work ends), any ``concurrent.futures.Executor`` (kept open:
it is the caller's) or a ``dask.distributed.Client``. Results come back in task order,
whatever order they finish in.

Pool workers started here pin their BLAS and OpenMP pools to one thread
(:func:`worker_setup`: one BLAS thread, no huge-page advice). They are children of the process that made the pool, so
``toolkit.runs.run.stop_children`` (and the SIGKILL to a study kernel's process group)
ends them with it.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Sequence
from typing import Any

from toolkit._validation import fail

__all__ = ["check_executor", "is_dask_client", "worker_setup", "run_tasks"]


def worker_setup() -> None:
    """What a pool worker sets at start: it already shares the cores and does short-lived
    work on large arrays.

    - One BLAS/OpenMP thread (threadpoolctl). Without it every worker's BLAS starts a thread
      per core (oversubscription): measured 43 ms per 200-pair simulation with 2 workers on
      2 cores, 18 ms with it. Dask's nanny sets the same limit for its workers.
    - No transparent-huge-page advice from numpy for large arrays
      (``_set_madvise_hugepage(False)``, the runtime form of ``NUMPY_MADVISE_HUGEPAGE=0``)
      and Arrow's system allocator (``pyarrow.set_memory_pool``): where huge pages are
      granted on advice, every fresh array faulted them in. Measured on design_power's
      power curve (2 workers): system time 25-30 s -> 21-22 s, wall 56-60 s -> 54-56 s.
      Allocation only: the numbers do not change.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    import numpy as np

    multiarray = getattr(getattr(np, "_core", None), "multiarray", None)
    advise = getattr(multiarray, "_set_madvise_hugepage", None)
    if advise is not None:
        advise(False)
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())


def is_dask_client(obj: Any) -> bool:
    """Whether ``obj`` is a ``dask.distributed.Client`` (checked without importing Dask)."""
    return (
        type(obj).__module__.startswith("distributed")
        and hasattr(obj, "submit")
        and hasattr(obj, "gather")
    )


def check_executor(executor: Any, owner: str) -> Any:
    """``executor`` if it is one of the kinds above, else one sentence naming them."""
    if (
        executor in ("process", "serial")
        or is_dask_client(executor)
        or isinstance(executor, cf.Executor)
    ):
        return executor
    raise fail(
        "executor",
        owner,
        "'process', 'serial', a concurrent.futures.Executor or a dask.distributed.Client",
        executor,
    )


def run_tasks(
    func: Callable[..., Any],
    tasks: Sequence[tuple[Any, ...]],
    executor: Any,
    workers: int | None,
    done: Callable[[Any], None] | None = None,
) -> list[Any]:
    """``[func(*task) for task in tasks]`` on ``executor``, in task order; ``done(result)``
    is called as each result arrives (for a progress bar)."""
    if executor == "serial":
        out = []
        for task in tasks:
            out.append(func(*task))
            if done is not None:
                done(out[-1])
        return out
    if is_dask_client(executor):
        from distributed import as_completed

        futs = [executor.submit(func, *task, pure=False) for task in tasks]
        for fut in as_completed(futs):
            if done is not None:
                done(fut.result())
        return [fut.result() for fut in futs]
    own = executor == "process"
    pool = (
        cf.ProcessPoolExecutor(max_workers=workers, initializer=worker_setup) if own else executor
    )
    try:
        cfuts = [pool.submit(func, *task) for task in tasks]
        for cfut in cf.as_completed(cfuts):
            if done is not None:
                done(cfut.result())
        return [cfut.result() for cfut in cfuts]
    finally:
        if own:
            pool.shutdown(cancel_futures=True)
