"""Worker threads for many independent probe fits: how many, and their results in order.

:func:`howsure.probes.sweep.layer_sweep` fits one probe per ``(layer, position, fold)``.
At a hidden size of a few hundred each fit takes milliseconds and threads only add
overhead; from :data:`PARALLEL_MIN_FEATURES` features on, each fit spends its time in
numpy and BLAS calls that release the GIL, so fits on worker threads (each with
single-threaded BLAS) run side by side and give results identical to a serial run.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from joblib import cpu_count
from sklearn import config_context, get_config

__all__ = ["MAX_AUTO_JOBS", "PARALLEL_MIN_FEATURES", "check_n_jobs", "map_in_order", "n_workers"]

PARALLEL_MIN_FEATURES = 2048
"""Number of features from which :func:`n_workers` uses more than one thread by default."""

MAX_AUTO_JOBS = 8
"""At most this many worker threads by default (each holds its own fold copies)."""

T = TypeVar("T")


def check_n_jobs(n_jobs: Any) -> int | None:
    """Return ``n_jobs`` when it is None, -1 or an int >= 1.

    Raises
    ------
    TypeError
        ``n_jobs`` is not None or an int (a bool is not one here).
    ValueError
        ``n_jobs`` is 0 or below -1.
    """
    hint = "n_jobs must be None (automatic), -1 (one per core) or an int >= 1"
    if n_jobs is None:
        return None
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral):
        raise TypeError(f"{hint}; got {n_jobs!r}")
    if n_jobs != -1 and n_jobs < 1:
        raise ValueError(f"{hint}; got {n_jobs!r}")
    return int(n_jobs)


def n_workers(n_jobs: int | None, *, n_features: int, n_tasks: int) -> int:
    """Worker threads for ``n_tasks`` fits on up to ``n_features`` features.

    Parameters
    ----------
    n_jobs : int or None
        None: 1 below :data:`PARALLEL_MIN_FEATURES` features, else one per available
        core, at most :data:`MAX_AUTO_JOBS`; -1: one per available core; else itself.
    n_features : int
        The largest number of features of any fit.
    n_tasks : int
        Number of fits; never more workers than fits.

    Returns
    -------
    int
        At least 1.
    """
    if n_jobs is None:
        if n_features < PARALLEL_MIN_FEATURES:
            return 1
        want = min(cpu_count(), MAX_AUTO_JOBS)
    else:
        want = cpu_count() if n_jobs == -1 else n_jobs
    return max(1, min(want, n_tasks))


def map_in_order(fn: Callable[[int], T], n_tasks: int, *, workers: int) -> Iterator[T]:
    """Yield ``fn(0), fn(1), ..., fn(n_tasks - 1)`` in order, on ``workers`` threads.

    With one worker the calls run inline, one at a time, as they are consumed. Else all
    tasks are queued at once (run first-in, first-out) on a thread pool, each under the
    caller's scikit-learn config (which is per thread). An exception in a task is raised
    when its result is reached; closing the generator (``contextlib.closing``) cancels
    the tasks not yet started and waits for the running ones.

    Parameters
    ----------
    fn : callable taking an int
        The task; must be safe to run on several threads at once.
    n_tasks : int
    workers : int

    Yields
    ------
    result
        ``fn(i)`` for ``i`` in ``range(n_tasks)``.
    """
    if workers <= 1:
        yield from map(fn, range(n_tasks))
        return
    config = get_config()

    def task(i: int) -> T:
        with config_context(**config):
            return fn(i)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="howsure-fit") as pool:
        futures = [pool.submit(task, i) for i in range(n_tasks)]
        try:
            for future in futures:
                yield future.result()
        finally:
            for future in futures:
                future.cancel()
