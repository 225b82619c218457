"""Map a function over tasks, in-process or on a pool, yielding results as they finish.

Nothing here knows about images. The core is ``pool.submit`` and
``concurrent.futures.wait``; the rest is what a real run needs around it:
a bounded number of tasks in flight (memory stays flat at 100,000 tasks),
Ctrl-C that cancels pending work and lets running work finish (so no partial
files), and a worker that dies (segfault, OOM kill) costing only its own task.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Tasks in flight per worker: enough to keep every worker busy, few enough
#: that the parent never holds much of the task list in futures.
IN_FLIGHT_PER_WORKER = 4


def default_workers() -> int:
    """The CPUs this process may use (respects taskset, cgroups' cpusets)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool whose workers ignore Ctrl-C: the parent alone decides how to stop.

    forkserver: workers fork from a clean server process that has already
    imported Pillow, so they start fast and inherit no threads (the progress
    bar's, the pool's own) from the parent.
    """
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["thumbnailer.render"])
    return ProcessPoolExecutor(workers, mp_context=ctx, initializer=_ignore_sigint)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_tasks(
    fn: Callable[[T], R],
    tasks: Iterable[T],
    workers: int = 1,
    *,
    on_crash: Callable[[T, str], R],
    executor_factory: Callable[[], Executor] | None = None,
) -> Iterator[R]:
    """Yield ``fn(task)`` for every task, in the order they finish.

    ``workers=1`` without a factory runs in this process, with no pool at all.
    If a worker process dies, the tasks it may have been running are re-run one
    at a time in a child of their own; the one that kills its child again gets
    ``on_crash(task, reason)`` as its result, and the run goes on with a new pool.
    Use it in a ``with contextlib.closing(...)`` so an interrupted consumer also
    cancels the pool.
    """
    if executor_factory is None and workers <= 1:
        for task in tasks:
            yield fn(task)
        return
    make = executor_factory or (lambda: process_pool(workers))
    window = max(1, workers) * IN_FLIGHT_PER_WORKER
    todo = iter(tasks)
    while True:
        suspects: list[T] = []
        executor = make()
        try:
            in_flight: dict[Future, T] = {}
            _top_up(executor, fn, todo, in_flight, window)
            while in_flight:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    task = in_flight.pop(future)
                    try:
                        yield future.result()
                    except BrokenProcessPool:
                        suspects.append(task)
                if suspects:
                    # The pool is broken: keep what already finished, suspect the rest.
                    for future, task in in_flight.items():
                        if future.done() and not future.cancelled() and not future.exception():
                            yield future.result()
                        else:
                            suspects.append(task)
                    break
                _top_up(executor, fn, todo, in_flight, window)
        finally:
            # On Ctrl-C (or the consumer closing us) pending tasks are cancelled
            # and running ones finish, so no worker is killed halfway through a write.
            executor.shutdown(wait=True, cancel_futures=True)
        if not suspects:
            return
        for task in suspects:
            yield _run_isolated(fn, task, on_crash)


def _top_up(executor, fn, todo, in_flight, window) -> None:
    while len(in_flight) < window:
        task = next(todo, _DONE)
        if task is _DONE:
            return
        in_flight[executor.submit(fn, task)] = task


_DONE = object()


def _run_isolated(fn, task, on_crash):
    """Run one task in a child process of its own, to learn whether it is the one
    that kills its worker."""
    ctx = multiprocessing.get_context("forkserver")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(fn, task, send), daemon=True)
    child.start()
    send.close()
    try:
        result = receive.recv()
    except EOFError:
        child.join()
        return on_crash(task, _death(child.exitcode))
    finally:
        receive.close()
    child.join()
    return result


def _child(fn, task, send) -> None:
    _ignore_sigint()
    send.send(fn(task))
    send.close()


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"the worker process was killed by {name} while reading this image"
    return f"the worker process died (exit code {exitcode}) while reading this image"
