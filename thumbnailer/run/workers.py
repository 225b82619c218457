"""The worker processes of a pool: how they start, how they stop, and how a
suspect task runs alone.

Started by fork where that is safe (milliseconds, everything imported), they
ignore Ctrl-C (the parent alone decides how to stop), take SIGTERM only between
tasks, leave when the parent dies, and kill themselves when one task outlives
the hard time limit, so the parent can tell which task it was.
"""

from __future__ import annotations

import enum
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, cast

from .budget import mapped

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing.connection import Connection
    from multiprocessing.context import DefaultContext, ForkContext, ForkServerContext

T = TypeVar("T")
R = TypeVar("R")
#: The pipe whose end of file tells workers the parent is gone: (reader, writer).
Lifeline = tuple["Connection", "Connection"]

#: Seconds between looks at the stop flag while waiting on workers: a signal
#: handler cannot wake a wait.
STOP_POLL = 0.1

class Stopped(enum.Enum):
    """What a suspect run alone gives when the run was stopped before it finished."""

    STOPPED = "stopped"


STOPPED: Final = Stopped.STOPPED


def context() -> DefaultContext | ForkContext | ForkServerContext:
    """fork where it is safe and available (Linux, and only this thread running):
    workers start in milliseconds with everything already imported; no second
    interpreter, no resource tracker (measured: 0.30 s -> 0.18 s for a whole
    two-image run). A forked child gets only the forking thread, so a lock another
    thread held (fsspec's IO loop after an S3 listing, Dask's, a caller's) would
    stay locked in it forever: with other threads alive, forkserver instead.
    Elsewhere, the platform's default."""
    import multiprocessing

    if sys.platform.startswith("linux"):
        if threading.active_count() == 1:
            return multiprocessing.get_context("fork")
        return multiprocessing.get_context("forkserver")
    return cast("DefaultContext", multiprocessing.get_context())


def process_pool(workers: int, lifeline: Lifeline | None = None,
                 hard_timeout: float | None = None,
                 warm_up: Callable[[], object] | None = None,
                 address_space: int | None = None) -> ProcessPoolExecutor:
    """A pool whose workers ignore Ctrl-C (the parent alone decides how to stop),
    take SIGTERM only between tasks, exit by themselves if the parent dies
    (``lifeline``, see run_tasks), and kill themselves if one task outlives
    ``hard_timeout``. Each runs ``warm_up`` once before its first task, and may
    then map at most ``address_space`` bytes more (RLIMIT_AS): an allocation past
    it fails with MemoryError in that task, instead of the kernel's OOM killer
    choosing a process.

    With no other thread in the parent the workers are forked (see context): the
    CLI turns off tqdm's monitor thread so that a local run keeps this fast start.
    """
    from concurrent.futures import ProcessPoolExecutor

    global _previous_excepthook
    if sys.version_info < (3, 12) and threading.excepthook is not _quiet_cancel_race:
        _previous_excepthook = threading.excepthook
        threading.excepthook = _quiet_cancel_race
    initargs: tuple[Any, ...] = (lifeline, hard_timeout, warm_up, address_space)
    return ProcessPoolExecutor(workers, mp_context=context(), initializer=_worker_setup,
                               initargs=initargs)


def _quiet_cancel_race(args: threading.ExceptHookArgs) -> None:
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


def _worker_setup(lifeline: Lifeline | None = None, hard_timeout: float | None = None,
                  warm_up: Callable[[], object] | None = None,
                  address_space: int | None = None) -> None:
    # Ctrl-C reaches the whole process group: the parent alone decides how to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_after_this_task)
    if hard_timeout:
        threading.Thread(target=_kill_when_stuck, args=(hard_timeout,), daemon=True).start()
    if lifeline is not None:
        reader, writer = lifeline
        writer.close()  # a forked worker holds a copy of the parent's end: drop it
        threading.Thread(target=_exit_with_parent, args=(reader,), daemon=True).start()
    if warm_up is not None:
        warm_up()
    if address_space is not None:
        limit_address_space(address_space)


def limit_address_space(extra: int) -> None:
    """Let this process map at most ``extra`` bytes more than it has now (Linux:
    VmSize, which counts what threads and libraries have reserved)."""
    import resource

    size = mapped()
    if size is None:
        return  # not Linux: no limit rather than a wrong one
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + extra
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _exit_with_parent(lifeline: Connection) -> None:
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


def _stop_after_this_task(signum: int, frame: object) -> None:
    """SIGTERM in a worker (systemd signals the whole group; Python 3.12+ terminates
    the rest of a broken pool): leave now if idle, else after the image in hand, so
    a write is never cut short. Its result is then not reported; the next run
    redoes that image."""
    global _stop_requested
    if not _started:
        os._exit(0)
    _stop_requested = True


def _timed(fn: Callable[[T], R], task: T) -> R:
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


def run_batch(fn: Callable[[T], R], batch: list[T]) -> tuple[list[R], float]:
    """Runs in the worker: a few tasks per message, and how long they took."""
    started = time.perf_counter()
    results = [_timed(fn, task) for task in batch]
    return results, time.perf_counter() - started


def run_isolated(fn: Callable[[T], R], task: T, on_crash: Callable[[T, str], R], stop: object,
                 hard_timeout: float | None = None) -> R | Literal[Stopped.STOPPED]:
    """Run one task in a child process of its own, to learn whether it is the one
    that kills its worker (or outlives the time limit); STOPPED once ``stop`` is
    true (the suspect may be stuck: it is not waited for)."""
    ctx = context()
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(fn, task, send), daemon=True)
    child.start()
    send.close()
    deadline = None if hard_timeout is None else time.monotonic() + hard_timeout
    try:
        while not receive.poll(STOP_POLL):
            if stop or (deadline is not None and time.monotonic() > deadline):
                # Killed, not orphaned: it may hold the output folder's lock open.
                child.kill()
                child.join()
                if stop:
                    return STOPPED
                return on_crash(task, f"took longer than {hard_timeout:g} s and was stopped")
        result: R = receive.recv()
    except EOFError:
        child.join()
        return on_crash(task, _death(child.exitcode))
    except KeyboardInterrupt:  # a second Ctrl-C: stop waiting, leave no orphan
        child.kill()
        child.join()
        raise
    finally:
        receive.close()
    child.join()
    return result


def _child(fn: Callable[[T], R], task: T, send: Connection) -> None:
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
