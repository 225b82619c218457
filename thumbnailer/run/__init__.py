"""Map a function over tasks, in-process or on a pool, yielding results as they finish.

Nothing here knows about images. The core is ``pool.submit`` and
``concurrent.futures.wait``; the rest is what a real run needs around it:
a bounded number of tasks in flight (memory stays flat at 100,000 tasks),
a :class:`Stop` flag (set by Ctrl-C or SIGTERM through ``stopping_on``, or by the
consumer) that cancels pending work and lets running work finish (so no partial
files), with every finished result still handed over, and a worker that dies
(segfault, OOM kill) costing only its own task.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import os
import signal
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sized
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

from .budget import Budget
from .workers import STOP_POLL, STOPPED, Stopped, context, process_pool, run_batch, run_isolated

# multiprocessing and concurrent.futures are imported when a pool starts, not
# here: an unchanged rerun (nothing to make) never needs them, and their import
# is a third of the command's start-up.
if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

T = TypeVar("T")
R = TypeVar("R")

#: Batches in flight per worker: enough to keep every worker busy, few enough
#: that the parent never holds much of the task list in futures.
IN_FLIGHT_PER_WORKER = 2
#: Seconds of work per batch sent to a worker, and the most tasks in one batch.
BATCH_SECONDS = 0.1
MAX_BATCH = 64


def default_workers() -> int:
    """The CPUs this process may use (respects taskset, cgroups' cpusets)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def run_tasks(
    fn: Callable[[T], R],
    tasks: Iterable[T],
    workers: int = 1,
    *,
    on_crash: Callable[[T, str], R],
    executor_factory: Callable[[], Executor] | None = None,
    hard_timeout: float | None = None,
    batch_seconds: float = BATCH_SECONDS,
    stop: Stop | None = None,
    warm_up: Callable[[], object] | None = None,
    budget: Budget[T] | None = None,
    read_ahead: bool = True,
) -> Generator[R, None, None]:
    """Yield ``fn(task)`` for every task, in the order they finish.

    ``workers=1`` without a factory runs in this process, with no pool at all.
    Workers are forked when this is the only thread, else started from a fork
    server (see workers.context): then ``fn`` and the tasks must pickle, and a script
    needs the ``if __name__ == "__main__":`` guard.
    If a worker process dies, the tasks it may have been running are re-run one
    at a time in a child of their own; the one that kills its child again gets
    ``on_crash(task, reason)`` as its result, and the run goes on with a new pool.
    On the process pool, a task running longer than ``hard_timeout`` seconds is
    treated the same way (its worker kills itself).
    Once ``stop`` is set (from a signal handler, see ``stopping_on``, or by the
    consumer), no task starts: pending ones are cancelled, running ones finish
    and their results are still yielded, then the iteration ends. Nothing is
    raised into the consumer, so no result is lost between being yielded and
    being recorded.
    ``warm_up`` runs once in each local worker (and here, for an in-process run)
    before its first task: one-time loading is not charged to a task's timeout.
    With a ``budget``, a batch is sent only while the costs of what may be running
    at once fit it (see Budget), and each worker of the local pool may map only
    about the budget more than it started with.
    Batches shrink as the end of the tasks nears; to see it coming, up to twice
    the workers' batches are taken from ``tasks`` before they are sent, unless
    ``read_ahead`` is off: for a stream that decides as it goes whether a task
    may still start (--deadline's, which counts what it never handed out).
    """
    stop = stop if stop is not None else Stop()
    if executor_factory is None and workers <= 1:
        if warm_up is not None:
            warm_up()
        for task in tasks:
            if stop:  # in-process: the task in hand finished, the next one never starts
                return
            yield fn(task)
        return
    window = max(1, workers) * IN_FLIGHT_PER_WORKER
    batches = _Batches(tasks, batch_seconds, workers, read_ahead)
    if budget is not None:
        budget.slots = max(1, workers)
    if executor_factory is not None:
        # Another engine (threads, Dask): it keeps its own workers alive. A batch
        # that lost its worker more often than the engine retries is re-run one
        # task at a time on it, and the task that fails that way again is the one.
        while True:
            suspects = yield from _run_pool(executor_factory(), fn, batches, window, stop,
                                            budget)
            if suspects is None:
                return
            for task in suspects:
                if stop:
                    return
                result = _run_alone(executor_factory, fn, task, on_crash, stop)
                if result is STOPPED:
                    return
                yield result
    lifeline, keep_alive = context().Pipe(duplex=False)
    try:
        while True:
            pool = process_pool(workers, (lifeline, keep_alive), hard_timeout, warm_up,
                                budget.address_space if budget is not None else None)
            suspects = yield from _run_pool(pool, fn, batches, window, stop, budget)
            if suspects is None:
                return
            for task in suspects:
                if stop:  # a suspect is not started once stopped (SIGTERM breaks the pool)
                    return
                result = run_isolated(fn, task, on_crash, stop, hard_timeout)
                if result is STOPPED:
                    return
                yield result
    finally:
        keep_alive.close()
        lifeline.close()


def _run_pool(executor: Executor, fn: Callable[[T], R], batches: _Batches[T], window: int,
              stop: Stop, budget: Budget[T] | None = None
              ) -> Generator[R, None, list[T] | None]:
    """Run tasks on one pool until they are done or stopped (returns None) or it
    breaks (returns the tasks that may have been running when it did, maybe none)."""
    from concurrent.futures import FIRST_COMPLETED, as_completed, wait

    in_flight: dict[Future[tuple[list[R], float]], list[T]] = {}  # future -> its batch
    budget = budget if budget is not None else Budget(None)
    try:
        while True:
            refused = False if stop else _top_up(executor, fn, batches, in_flight, window,
                                                 budget)
            if not in_flight:
                return [] if refused else None
            if stop:
                break
            # Woken now and then to look at the flag: a signal handler cannot wake a wait.
            done, _ = wait(in_flight, timeout=STOP_POLL, return_when=FIRST_COMPLETED)
            ready, broken = [], []
            for future in done:
                batch = in_flight.pop(future)
                budget.release(future)
                try:
                    results, seconds = future.result()
                except Exception as e:
                    if not _lost_worker(e):
                        raise
                    broken.extend(batch)
                    continue
                batches.learn(seconds, len(batch))
                ready.extend(results)
            if broken:
                # Keep what already finished; suspect everything else.
                for future in list(in_flight):
                    batch = in_flight.pop(future)
                    budget.release(future)
                    if future.done() and not future.cancelled() and not future.exception():
                        ready.extend(future.result()[0])
                    else:
                        broken.extend(batch)
            yield from ready
            if broken:
                return broken
        # Stopped: cancel what has not started; what is running finishes and is
        # still handed over, so its thumbnails are recorded and not made again.
        for future in in_flight:
            future.cancel()
        for future in as_completed(f for f in in_flight if not f.cancelled()):
            if not future.exception():
                yield from future.result()[0]
        return None
    finally:
        _shutdown(executor)


def _lost_worker(exc: BaseException) -> bool:
    """The worker running a batch died: a broken process pool, or Dask's
    KilledWorker (a task whose workers died more often than it retries)."""
    from concurrent.futures.process import BrokenProcessPool

    return isinstance(exc, BrokenProcessPool) or type(exc).__name__ == "KilledWorker"


def _shutdown(executor: Executor) -> None:
    # A pool broken by a worker leaving (on SIGTERM, an idle worker exits at once)
    # stops waiting for the others, though one may still be writing its image.
    # Wait for them here: run_tasks then closes the lifeline, which ends workers
    # at once, and must not cut a write between its last byte and its rename.
    workers = list((getattr(executor, "_processes", None) or {}).values())
    try:
        executor.shutdown(wait=True, cancel_futures=True)
    except TypeError:  # an Executor without cancel_futures (Dask's); pending work is cancelled
        executor.shutdown(wait=True)
    for process in workers:
        with contextlib.suppress(ValueError, OSError):  # already closed or reaped
            process.join()


def _run_alone(executor_factory: Callable[[], Executor], fn: Callable[[T], R], task: T,
               on_crash: Callable[[T, str], R], stop: Stop) -> R | Literal[Stopped.STOPPED]:
    """One suspect task in a batch of its own on the engine's executor
    (STOPPED if the run is stopped first: a suspect may hang)."""
    from concurrent.futures import TimeoutError

    executor = executor_factory()
    try:
        future = executor.submit(run_batch, fn, [task])
        try:
            while True:
                if stop:
                    future.cancel()
                    return STOPPED
                with contextlib.suppress(TimeoutError):
                    return future.result(timeout=STOP_POLL)[0][0]
        except Exception as e:
            if not _lost_worker(e):
                raise
            return on_crash(task, f"the worker making it died ({type(e).__name__}: {e})")
    finally:
        _shutdown(executor)




class Stop:
    """Why a run should stop, if it should: set once (later reasons are ignored),
    by a signal handler (``stopping_on``) or by the consumer. run_tasks looks at
    it between tasks and where it waits, as black's concurrency.py cancels its
    pending tasks on SIGINT."""

    def __init__(self) -> None:
        self.reason: object | None = None
        #: While true (see ``flag_only``), a signal only sets the reason.
        self.flag_only = False

    def set(self, reason: object) -> None:
        if self.reason is None:
            self.reason = reason

    def __bool__(self) -> bool:
        return self.reason is not None

    @contextlib.contextmanager
    def flag_only_within(self) -> Iterator[None]:
        """Around the loop that takes results and records them: there a signal
        must not raise, or the result in hand would be made but never recorded.
        Nested (a watch's batch, run whole within one), it leaves it as it was."""
        before, self.flag_only = self.flag_only, True
        try:
            yield
        finally:
            self.flag_only = before


@contextlib.contextmanager
def stopping_on(stop: Stop, signals: dict[int, object] | None = None) -> Iterator[Stop]:
    """Within this block, each of ``signals`` (signal number -> reason; by default
    Ctrl-C, as "interrupted") sets the reason of ``stop``, and raises
    KeyboardInterrupt too unless ``stop.flag_only`` (nothing is lost by stopping
    a walk or a plan at once). A second one always raises: the person wants to
    stop waiting for running work. Handlers can only be set from the main
    thread; elsewhere this does nothing."""
    signals = {signal.SIGINT: "interrupted"} if signals is None else signals
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: object) -> None:
        if stop or not stop.flag_only:
            stop.set(signals[signum])
            raise KeyboardInterrupt
        stop.set(signals[signum])

    previous = {signum: signal.signal(signum, handler) for signum in signals}
    try:
        yield stop
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _top_up(executor: Executor, fn: Callable[[T], R], batches: _Batches[T],
            in_flight: dict[Future[tuple[list[R], float]], list[T]], window: int,
            budget: Budget[T]) -> bool:
    """Fill the window, as far as the budget admits; True if the pool refused a
    batch because it just broke (a worker died since the last wait): the batch
    goes back, for the next pool."""
    while len(in_flight) < window:
        batch = batches.take()
        if not batch:
            return False
        if not budget.admits(batch, alone=not in_flight):
            batches.put_back(batch)  # first in line once something finishes
            return False
        try:
            future = executor.submit(run_batch, fn, batch)
        except Exception as e:
            if not _lost_worker(e):
                raise
            batches.put_back(batch)
            return True
        in_flight[future] = batch
        budget.hold(future, batch)
    return False


class _Batches(Generic[T]):
    """Cuts the tasks into batches of about BATCH_SECONDS of work, learnt from the
    batches that come back. One message per task costs ProcessPoolExecutor about
    a millisecond of CPU in the parent and the worker, which is a tenth of a 2 MP
    photo's whole work; a batch per ~0.1 s makes it vanish, while big images
    still go one at a time, so progress stays live and Ctrl-C stays prompt.

    As the end nears, batches shrink (guided self-scheduling: at most the
    remaining tasks over twice the workers), so the run does not end with one
    worker busy on a full batch while the others idle: at 12 MP, two photos of
    40 ms each, the second worker stood idle for 60 ms at the end of a 1.2 s run.
    The end of a stream (a walk) is seen by reading ahead of it by as many tasks
    as that rule looks at (twice the workers' batches, at most 128 per worker),
    unless ``read_ahead`` is off: then only a sized list of tasks shrinks.
    """

    def __init__(self, tasks: Iterable[T], seconds: float = BATCH_SECONDS, workers: int = 1,
                 read_ahead: bool = True) -> None:
        self.todo = iter(tasks)
        #: Tasks taken from ``todo`` and not yet handed out; ``ended``: todo is empty.
        self.ahead: collections.deque[T] = collections.deque()
        self.ended = False
        self.read_ahead = read_ahead or isinstance(tasks, Sized)  # a list is all in hand
        self.size = 1
        self.seconds = seconds
        self.workers = max(1, workers)
        self.per_task: float | None = None
        self.returned: list[list[T]] = []  # batches a broken pool refused, sent first

    def take(self) -> list[T]:
        if self.returned:
            return self.returned.pop()
        size = self.size
        if self.read_ahead:
            # Enough in hand to tell whether fewer than twice the workers' batches remain.
            horizon = 2 * self.workers * size
            if not self.ended and len(self.ahead) < horizon:
                wanted = horizon - len(self.ahead)
                self.ahead.extend(itertools.islice(self.todo, wanted))
                self.ended = len(self.ahead) < horizon
            if self.ended:
                size = max(1, min(size, len(self.ahead) // (2 * self.workers)))
            return [self.ahead.popleft() for _ in range(min(size, len(self.ahead)))]
        return list(itertools.islice(self.todo, size))

    def put_back(self, batch: list[T]) -> None:
        self.returned.append(batch)

    def learn(self, seconds: float, count: int) -> None:
        per_task = seconds / count
        self.per_task = (per_task if self.per_task is None
                         else 0.7 * self.per_task + 0.3 * per_task)
        self.size = max(1, min(MAX_BATCH, int(self.seconds / max(self.per_task, 1e-6))))


