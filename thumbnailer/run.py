"""Map a function over tasks, in-process or on a pool, yielding results as they finish.

Nothing here knows about images. The core is ``pool.submit`` and
``concurrent.futures.wait``; the rest is what a real run needs around it:
a bounded number of tasks in flight (memory stays flat at 100,000 tasks),
Ctrl-C that cancels pending work and lets running work finish (so no partial
files) without losing a finished result on the way to the consumer
(``held_interrupts``), and a worker that dies (segfault, OOM kill) costing only
its own task.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sized
from typing import TYPE_CHECKING, TypeVar

# multiprocessing and concurrent.futures are imported when a pool starts, not
# here: an unchanged rerun (nothing to make) never needs them, and their import
# is a third of the command's start-up.
if TYPE_CHECKING:
    from concurrent.futures import Executor, ProcessPoolExecutor

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


def _context():
    """fork where it is safe and available (Linux, and only this thread running):
    workers start in milliseconds with everything already imported; no second
    interpreter, no resource tracker (measured: 0.30 s -> 0.18 s for a whole
    two-image run). A forked child gets only the forking thread, so a lock another
    thread held (fsspec's IO loop after an S3 listing, Dask's, a caller's) would
    stay locked in it forever: with other threads alive, forkserver instead.
    Elsewhere, the platform's default."""
    import multiprocessing

    if sys.platform.startswith("linux"):
        return multiprocessing.get_context(
            "fork" if threading.active_count() == 1 else "forkserver")
    return multiprocessing.get_context()


def process_pool(workers: int, lifeline=None, hard_timeout: float | None = None
                 ) -> ProcessPoolExecutor:
    """A pool whose workers ignore Ctrl-C (the parent alone decides how to stop),
    take SIGTERM only between tasks, exit by themselves if the parent dies
    (``lifeline``, see run_tasks), and kill themselves if one task outlives
    ``hard_timeout``.

    With no other thread in the parent the workers are forked (see _context): the
    CLI turns off tqdm's monitor thread so that a local run keeps this fast start.
    """
    from concurrent.futures import ProcessPoolExecutor

    global _previous_excepthook
    if sys.version_info < (3, 12) and threading.excepthook is not _quiet_cancel_race:
        _previous_excepthook = threading.excepthook
        threading.excepthook = _quiet_cancel_race
    return ProcessPoolExecutor(workers, mp_context=_context(), initializer=_worker_setup,
                               initargs=(lifeline, hard_timeout))


def _quiet_cancel_race(args) -> None:
    """Python < 3.12: when the workers die (SIGTERM to the process group) after
    pending futures were cancelled, the pool's management thread fails to mark
    the cancelled futures broken and prints a traceback (fixed in 3.12, which
    catches this InvalidStateError itself). Nothing is lost: those tasks were
    cancelled on purpose."""
    import traceback
    from concurrent.futures import InvalidStateError

    if args.exc_type is InvalidStateError and any(
        frame.f_code.co_name == "terminate_broken"
        for frame, _ in traceback.walk_tb(args.exc_traceback)
    ):
        return
    _previous_excepthook(args)


#: The thread exception hook _quiet_cancel_race passes everything else on to.
_previous_excepthook = threading.excepthook


def _worker_setup(lifeline=None, hard_timeout: float | None = None) -> None:
    # Ctrl-C reaches the whole process group: the parent alone decides how to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_after_this_task)
    if hard_timeout:
        threading.Thread(target=_kill_when_stuck, args=(hard_timeout,), daemon=True).start()
    if lifeline is not None:
        reader, writer = lifeline
        writer.close()  # a forked worker holds a copy of the parent's end: drop it
        threading.Thread(target=_exit_with_parent, args=(reader,), daemon=True).start()


def _exit_with_parent(lifeline) -> None:
    """Block on the lifeline; its end of file means the parent is gone (even a
    SIGKILLed parent's pipes are closed by the kernel). Without this a killed
    run's workers would wait forever on a queue no one writes to, holding the
    caller's stderr open. Writes are atomic, so leaving never truncates a file."""
    try:
        lifeline.recv_bytes()
    except (EOFError, OSError):
        pass
    os._exit(1)


#: When the task in hand started (monotonic seconds), 0 when idle; per worker process.
_started = 0.0
#: SIGTERM came while a task was running: leave as soon as it is done.
_stop_requested = False


def _stop_after_this_task(signum, frame) -> None:
    """SIGTERM in a worker (systemd signals the whole group; Python 3.12+ terminates
    the rest of a broken pool): leave now if idle, else after the image in hand, so
    a write is never cut short. Its result is then not reported; the next run
    redoes that image."""
    global _stop_requested
    if not _started:
        os._exit(0)
    _stop_requested = True


def _timed(fn, task):
    """Runs in the worker: note the start, so _kill_when_stuck can see a stuck task."""
    global _started
    _started = time.monotonic()
    try:
        return fn(task)
    finally:
        _started = 0.0
        if _stop_requested:
            os._exit(0)


def _kill_when_stuck(limit: float) -> None:
    """The backstop for a task stuck where nothing else can stop it (inside one long
    C call): kill this worker. The parent sees a broken pool, re-runs the suspects
    one by one under the same limit, and the stuck one is failed with a reason."""
    while True:
        time.sleep(min(1.0, limit / 4))
        if _started and time.monotonic() - _started > limit:
            os.kill(os.getpid(), signal.SIGKILL)


def run_tasks(
    fn: Callable[[T], R],
    tasks: Iterable[T],
    workers: int = 1,
    *,
    on_crash: Callable[[T, str], R],
    executor_factory: Callable[[], Executor] | None = None,
    hard_timeout: float | None = None,
    batch_seconds: float = BATCH_SECONDS,
) -> Generator[R, None, None]:
    """Yield ``fn(task)`` for every task, in the order they finish.

    ``workers=1`` without a factory runs in this process, with no pool at all.
    Workers are forked when this is the only thread, else started from a fork
    server (see _context): then ``fn`` and the tasks must pickle, and a script
    needs the ``if __name__ == "__main__":`` guard.
    If a worker process dies, the tasks it may have been running are re-run one
    at a time in a child of their own; the one that kills its child again gets
    ``on_crash(task, reason)`` as its result, and the run goes on with a new pool.
    On the process pool, a task running longer than ``hard_timeout`` seconds is
    treated the same way (its worker kills itself).
    On Ctrl-C, pending tasks are cancelled and running ones finish: their results
    are still yielded, then KeyboardInterrupt is raised. A consumer interrupted
    in its own code gets the same by throwing the interrupt in (see ``interrupt``).
    A consumer that records results consumes them inside ``held_interrupts()``,
    so that the interrupt never lands between a result and its record.
    """
    if executor_factory is None and workers <= 1:
        for task in tasks:
            _deliver_held()  # in-process: the task in hand finishes, the next one never starts
            yield fn(task)
        return
    window = max(1, workers) * IN_FLIGHT_PER_WORKER
    batches = _Batches(tasks, batch_seconds, workers)
    if executor_factory is not None:
        # Another engine (threads, Dask): it keeps its own workers alive. A batch
        # that lost its worker more often than the engine retries is re-run one
        # task at a time on it, and the task that fails that way again is the one.
        while True:
            suspects = yield from _run_pool(executor_factory(), fn, batches, window)
            if suspects is None:
                return
            for task in suspects:
                _deliver_held()
                yield _run_alone(executor_factory, fn, task, on_crash)
    lifeline, keep_alive = _context().Pipe(duplex=False)
    try:
        while True:
            pool = process_pool(workers, (lifeline, keep_alive), hard_timeout)
            suspects = yield from _run_pool(pool, fn, batches, window)
            if suspects is None:
                return
            for task in suspects:
                _deliver_held()
                yield _run_isolated(fn, task, on_crash, hard_timeout)
    finally:
        keep_alive.close()
        lifeline.close()


def _run_pool(executor, fn, batches: _Batches, window: int):
    """Run tasks on one pool until they are done (returns None) or it breaks
    (returns the tasks that may have been running when it did, maybe none)."""
    from concurrent.futures import FIRST_COMPLETED, as_completed, wait

    in_flight: dict = {}  # future -> its batch of tasks
    ready: deque = deque()  # results back from a worker, not yet handed to the consumer
    try:
        while True:
            _deliver_held()  # a Ctrl-C held while the consumer worked: send nothing more
            refused = _top_up(executor, fn, batches, in_flight, window)
            if not in_flight:
                return [] if refused else None
            with _interruptible():
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            broken = []
            for future in done:
                batch = in_flight.pop(future)
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
                    if future.done() and not future.cancelled() and not future.exception():
                        ready.extend(future.result()[0])
                    else:
                        broken.extend(batch)
            while ready:
                yield ready.popleft()
            if broken:
                return broken
    except KeyboardInterrupt:
        # Cancel what has not started; what is running finishes and is still
        # reported, so its thumbnails are recorded and not made again next time.
        for future in in_flight:
            future.cancel()
        while ready:
            yield ready.popleft()
        for future in as_completed(f for f in in_flight if not f.cancelled()):
            if not future.exception():
                yield from future.result()[0]
        raise
    finally:
        _shutdown(executor)


def _lost_worker(exc: BaseException) -> bool:
    """The worker running a batch died: a broken process pool, or Dask's
    KilledWorker (a task whose workers died more often than it retries)."""
    from concurrent.futures.process import BrokenProcessPool

    return isinstance(exc, BrokenProcessPool) or type(exc).__name__ == "KilledWorker"


def _shutdown(executor) -> None:
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


def _run_alone(executor_factory, fn, task, on_crash):
    """One suspect task in a batch of its own on the engine's executor."""
    executor = executor_factory()
    try:
        future = executor.submit(_run_batch, fn, [task])
        try:
            with _interruptible():
                return future.result()[0][0]
        except Exception as e:
            if not _lost_worker(e):
                raise
            return on_crash(task, f"the worker making it died ({type(e).__name__}: {e})")
    finally:
        _shutdown(executor)


class _Hold:
    """Ctrl-C and SIGTERM while interrupts are held: see held_interrupts."""

    def __init__(self) -> None:
        self.previous: dict = {}  # signal number -> the handler it had (which raises)
        self.pending: tuple | None = None  # (signum, frame) of a signal not yet raised
        self.raised = False  # one was raised: the next one is raised at once
        self.waiting = 0  # inside _interruptible

    def note(self, signum, frame) -> None:
        again = self.pending is not None or self.raised  # a second one: stop waiting
        self.pending = (signum, frame)
        if again or self.waiting:
            self.deliver()

    def deliver(self) -> None:
        if self.pending:
            (signum, frame), self.pending = self.pending, None
            self.raised = True
            self.previous[signum](signum, frame)


_hold: _Hold | None = None


@contextlib.contextmanager
def held_interrupts(signals: Iterable[int] = (signal.SIGINT, signal.SIGTERM)
                    ) -> Iterator[None]:
    """Within this block, a Ctrl-C (or any of ``signals`` whose handler raises, such
    as the CLI's SIGTERM) is raised only where run_tasks waits on its workers, or
    between its in-process tasks; arriving elsewhere, it is held until then. An
    interrupt raised anywhere would be lost work: between a batch coming back and
    its results being handed over, or in the consumer between taking a result and
    recording it, so the next run would make those images again. A second signal
    is raised at once ("stop waiting"), and one still held when the block ends is
    raised there. Outside the main thread (which alone gets signals) it does nothing.
    """
    global _hold
    if threading.current_thread() is not threading.main_thread() or _hold is not None:
        yield
        return
    hold = _Hold()
    for signum in signals:
        handler = signal.getsignal(signum)
        if callable(handler):  # a Python handler; SIG_DFL and SIG_IGN are left alone
            hold.previous[signum] = handler
            signal.signal(signum, hold.note)
    _hold = hold
    try:
        yield
        hold.deliver()
    finally:
        _hold = None
        for signum, handler in hold.previous.items():
            signal.signal(signum, handler)


def _deliver_held() -> None:
    if _hold is not None:
        _hold.deliver()


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """A wait on the workers: the place where a held interrupt is raised."""
    hold = _hold
    if hold is None:
        yield
        return
    hold.waiting += 1
    try:
        hold.deliver()
        yield
    finally:
        hold.waiting -= 1


def interrupt(results: Generator[R, None, None]) -> Iterator[R]:
    """After a KeyboardInterrupt in the consumer's own code, throw it into the
    ``run_tasks`` generator and yield the results of the work that was running."""
    try:
        result = results.throw(KeyboardInterrupt())
        while True:
            yield result
            result = next(results)
    except (KeyboardInterrupt, StopIteration):
        return


def _top_up(executor, fn, batches: _Batches, in_flight: dict, window: int) -> bool:
    """Fill the window; True if the pool refused a batch because it just broke (a
    worker died since the last wait): the batch goes back, for the next pool."""
    while len(in_flight) < window:
        batch = batches.take()
        if not batch:
            return False
        try:
            in_flight[executor.submit(_run_batch, fn, batch)] = batch
        except Exception as e:
            if not _lost_worker(e):
                raise
            batches.put_back(batch)
            return True
    return False


def _run_batch(fn, batch: list) -> tuple[list, float]:
    """Runs in the worker: a few tasks per message, and how long they took."""
    started = time.perf_counter()
    results = [_timed(fn, task) for task in batch]
    return results, time.perf_counter() - started


class _Batches:
    """Cuts the tasks into batches of about BATCH_SECONDS of work, learnt from the
    batches that come back. One message per task costs ProcessPoolExecutor about
    a millisecond of CPU in the parent and the worker, which is a tenth of a 2 MP
    photo's whole work; a batch per ~0.1 s makes it vanish, while big images
    still go one at a time, so progress stays live and Ctrl-C stays prompt.

    When the number of tasks is known, batches shrink as the end nears (guided
    self-scheduling: at most the remaining tasks over twice the workers), so the
    run does not end with one worker busy on a full batch while the others idle.
    """

    def __init__(self, tasks: Iterable, seconds: float = BATCH_SECONDS, workers: int = 1
                 ) -> None:
        self.remaining = len(tasks) if isinstance(tasks, Sized) else None
        self.todo = iter(tasks)
        self.size = 1
        self.seconds = seconds
        self.workers = max(1, workers)
        self.per_task: float | None = None
        self.returned: list[list] = []  # batches a broken pool refused, sent first

    def take(self) -> list:
        if self.returned:
            return self.returned.pop()
        size = self.size
        if self.remaining is not None:
            size = max(1, min(size, self.remaining // (2 * self.workers)))
        batch = list(itertools.islice(self.todo, size))
        if self.remaining is not None:
            self.remaining -= len(batch)
        return batch

    def put_back(self, batch: list) -> None:
        self.returned.append(batch)

    def learn(self, seconds: float, count: int) -> None:
        per_task = seconds / count
        self.per_task = (per_task if self.per_task is None
                         else 0.7 * self.per_task + 0.3 * per_task)
        self.size = max(1, min(MAX_BATCH, int(self.seconds / max(self.per_task, 1e-6))))


def _run_isolated(fn, task, on_crash, hard_timeout=None):
    """Run one task in a child process of its own, to learn whether it is the one
    that kills its worker (or outlives the time limit)."""
    ctx = _context()
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(fn, task, send), daemon=True)
    child.start()
    send.close()
    try:
        with _interruptible():  # Ctrl-C does not wait for a suspect, which may be stuck
            finished = receive.poll(hard_timeout)
        if not finished:
            child.kill()
            child.join()
            return on_crash(task, f"took longer than {hard_timeout:g} s and was stopped")
        result = receive.recv()
    except EOFError:
        child.join()
        return on_crash(task, _death(child.exitcode))
    except KeyboardInterrupt:
        child.kill()  # abandoned, not orphaned: it may hold the output folder's lock open
        child.join()
        raise
    finally:
        receive.close()
    child.join()
    return result


def _child(fn, task, send) -> None:
    _worker_setup()
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
