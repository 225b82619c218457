import contextlib
import functools
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import helpers
import pytest
from helpers import (
    die_then_hang,
    leave_mark,
    square,
    square_or_die,
    square_or_segfault,
    warm,
    warmed,
)

from thumbnailer.run import (
    IN_FLIGHT_PER_WORKER,
    Stop,
    _Batches,
    default_workers,
    run_tasks,
    stopping_on,
)


def crashed(task, reason):
    return ("crashed", task, reason)


def test_serial_runs_in_process_in_order():
    seen = []

    def fn(task):  # a closure: would not even pickle, so this proves no pool was used
        seen.append(task)
        return task + 1

    assert list(run_tasks(fn, range(5), 1, on_crash=crashed)) == [1, 2, 3, 4, 5]
    assert seen == [0, 1, 2, 3, 4]


def test_a_process_pool_returns_every_result():
    results = list(run_tasks(square, range(50), 2, on_crash=crashed))
    assert sorted(results) == [n * n for n in range(50)]


@pytest.mark.parametrize("workers", [1, 2])
def test_each_worker_warms_up_before_its_first_task(workers, monkeypatch):
    monkeypatch.setattr(helpers, "WARMED", None)
    results = list(run_tasks(warmed, range(20), workers, on_crash=crashed, warm_up=warm))
    assert len(results) == 20
    assert all(pid == warmed_in for pid, warmed_in in results)
    assert ({pid for pid, _ in results} == {os.getpid()}) == (workers == 1)


def test_an_injected_executor_is_used():
    made = []

    def factory():
        made.append(1)
        return ThreadPoolExecutor(3)

    results = run_tasks(lambda t: t * 2, range(10), on_crash=crashed, executor_factory=factory)
    assert sorted(results) == [n * 2 for n in range(10)]
    assert made == [1]


def test_an_engine_gets_a_bounded_window_from_a_stream_of_any_length():
    # Dask's client, like any executor, holds what was submitted: the stream of
    # tasks is pulled only as the window frees, never all at once.
    pulled, in_flight, most = [0], [0], [0]

    class Counting(ThreadPoolExecutor):
        def submit(self, fn, *args, **kwargs):
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
            future = super().submit(fn, *args, **kwargs)
            future.add_done_callback(lambda _: in_flight.__setitem__(0, in_flight[0] - 1))
            return future

    def stream():
        for n in range(20_000):
            pulled[0] += 1
            yield n

    results = run_tasks(lambda t: t, stream(), 4, on_crash=crashed,
                        executor_factory=lambda: Counting(4), batch_seconds=0.001)
    first = next(results)
    assert pulled[0] < 20_000  # a result came back before the stream was read
    assert sum(results) + first == sum(range(20_000))
    assert most[0] <= 4 * IN_FLIGHT_PER_WORKER  # batches in flight, whatever the length


def test_results_stream_as_they_finish_not_all_at_the_end():
    consumed = []
    with contextlib.closing(run_tasks(square, range(1000), 2, on_crash=crashed)) as results:
        for result in results:
            consumed.append(result)
            if len(consumed) == 3:
                break
    assert len(consumed) == 3


@pytest.mark.parametrize("fn, signal_name", [(square_or_die, "SIGKILL"),
                                             (square_or_segfault, "SIGSEGV")])
def test_a_task_that_kills_its_worker_fails_alone_and_the_run_goes_on(fn, signal_name):
    results = list(run_tasks(fn, range(30), 2, on_crash=crashed))
    assert len(results) == 30
    crashes = [r for r in results if isinstance(r, tuple)]
    assert len(crashes) == 1
    _, task, reason = crashes[0]
    assert task == 13 and signal_name in reason
    assert sorted(r for r in results if not isinstance(r, tuple)) == sorted(
        n * n for n in range(30) if n != 13)


def test_default_workers_is_the_usable_cpus():
    assert default_workers() >= 1


class KilledWorker(Exception):
    """Stands in for distributed.KilledWorker, which run.py recognises by name."""


class PoisonedExecutor(ThreadPoolExecutor):
    """An engine where any batch holding task 13 loses its worker, as Dask reports
    a task whose workers died more often than it retries."""

    def submit(self, fn, *args, **kwargs):
        batch = args[1]
        if 13 in batch:
            return super().submit(_raise_killed)
        return super().submit(fn, *args, **kwargs)


def _raise_killed():
    raise KilledWorker("Attempted to run task on 3 different workers, all died")


def test_an_engine_that_loses_a_batch_retries_it_one_task_at_a_time():
    made = []

    def factory():
        made.append(1)
        return PoisonedExecutor(2)

    results = list(run_tasks(square, range(40), 2, on_crash=crashed, executor_factory=factory))
    assert sorted(r for r in results if isinstance(r, int)) == sorted(
        n * n for n in range(40) if n != 13)
    [crash] = [r for r in results if isinstance(r, tuple)]
    assert crash[:2] == ("crashed", 13) and "KilledWorker" in crash[2]
    assert len(results) == 40  # each task reported once


class BreaksOnSubmit(ThreadPoolExecutor):
    """A pool found broken when the next batch is sent: a worker died after the last
    wait, so ProcessPoolExecutor.submit raises BrokenProcessPool itself."""

    def __init__(self, refuse_at: int) -> None:
        super().__init__(2)
        self.submitted, self.refuse_at = 0, refuse_at

    def submit(self, fn, *args, **kwargs):
        from concurrent.futures.process import BrokenProcessPool

        self.submitted += 1
        if self.refuse_at and self.submitted >= self.refuse_at:  # broken for good
            raise BrokenProcessPool("A child process terminated abruptly")
        return super().submit(fn, *args, **kwargs)


@pytest.mark.parametrize("refuse_at", [1, 6])  # with nothing in flight, and with some
def test_a_batch_a_broken_pool_refuses_runs_on_the_next_pool(refuse_at):
    pools = []

    def factory():
        pools.append(BreaksOnSubmit(refuse_at if not pools else 0))
        return pools[-1]

    results = list(run_tasks(square, range(40), 2, on_crash=crashed, executor_factory=factory))
    assert sorted(results) == [n * n for n in range(40)]  # none lost, none twice, none failed
    assert len(pools) == 2


def test_any_other_error_of_an_engine_is_not_swallowed():
    def boom(task):
        raise RuntimeError("a bug, not a lost worker")

    with pytest.raises(RuntimeError, match="a bug"):
        list(run_tasks(boom, range(3), 2, on_crash=crashed,
                       executor_factory=lambda: ThreadPoolExecutor(2)))


def test_batches_shrink_as_the_end_nears_when_the_count_is_known():
    batches = _Batches(list(range(100)), seconds=0.1, workers=2)
    batches.learn(0.01, 1)  # 10 ms per task: 10 tasks per 0.1 s batch
    sizes, seen = [], []
    while batch := batches.take():
        sizes.append(len(batch))
        seen.extend(batch)
    assert seen == list(range(100))
    assert sizes[0] == 10
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[-4:] == [1, 1, 1, 1]  # the last four tasks: one per batch


def test_batches_of_a_stream_shrink_as_its_end_comes_in_sight():
    """A walk's tasks are a stream of unknown length: read ahead by twice the
    workers' batches, its end is seen in time to shrink the last batches as a
    list's would (so no worker ends the run alone on a full batch)."""
    def sizes(batches):
        batches.learn(0.01, 1)  # 10 per batch
        found = []
        while batch := batches.take():
            found.append(len(batch))
        return found

    listed = sizes(_Batches(list(range(100)), seconds=0.1, workers=2))
    streamed = sizes(_Batches(iter(range(100)), seconds=0.1, workers=2))
    assert streamed == listed
    assert streamed[-4:] == [1, 1, 1, 1]


def test_a_stream_is_read_ahead_by_twice_the_workers_batches_at_most():
    pulled = []

    def walk():
        for n in range(1000):
            pulled.append(n)
            yield n

    batches = _Batches(walk(), seconds=0.1, workers=2)
    assert batches.take() == [0]  # nothing learnt yet: one task a batch
    assert len(pulled) == 4  # twice two workers' batches of one
    batches.learn(0.01, 1)
    assert batches.take() == list(range(1, 11))
    assert len(pulled) == 4 * 10 + 1  # the horizon, and the one already handed out


def test_without_read_ahead_a_stream_is_taken_a_batch_at_a_time():
    """--deadline's stream decides when it ends: nothing is taken from it
    before it is sent, so no task taken before the time was up starts after."""
    pulled = []

    def walk():
        for n in range(25):
            pulled.append(n)
            yield n

    batches = _Batches(walk(), seconds=0.1, workers=2, read_ahead=False)
    batches.learn(0.01, 1)
    assert batches.take() == list(range(10))
    assert len(pulled) == 10
    assert [len(batches.take()) for _ in range(3)] == [10, 5, 0]


def ran(folder) -> set[int]:
    return {int(p.name) for p in folder.iterdir()}


def consume(make_results, record, interrupt_at=None, signum=signal.SIGINT, signals=None):
    """What the job does: record each result, with signals only setting the stop
    flag. Sends ``signum`` to itself while handling the ``interrupt_at``-th result,
    before recording it. Returns the stop flag."""
    stop = Stop()
    with stopping_on(stop, signals), stop.flag_only_within():
        for n, result in enumerate(make_results(stop)):
            if n == interrupt_at:
                os.kill(os.getpid(), signum)
            record(result)
    return stop


@pytest.mark.parametrize("at", [0, 7, 30])
def test_ctrl_c_in_the_consumer_loses_no_finished_result(tmp_path, at):
    # Batches of many tasks: an interrupt raised in the consumer's own code used to
    # lose the result in hand and the rest of its batch (made, never recorded).
    taken = []
    stop = consume(lambda stop: run_tasks(functools.partial(leave_mark, tmp_path), range(2000),
                                          2, on_crash=crashed, batch_seconds=10, stop=stop),
                   taken.append, interrupt_at=at)
    assert stop.reason == "interrupted"
    assert sorted(taken) == sorted(ran(tmp_path))  # everything that ran was recorded once
    assert len(taken) < 2000  # and the run stopped early
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_during_an_in_process_task_finishes_it_and_starts_no_other(tmp_path):
    taken = []

    def fn(task):
        if task == 3:
            os.kill(os.getpid(), signal.SIGINT)  # arrives mid-task
        return leave_mark(tmp_path, task)

    stop = consume(lambda stop: run_tasks(fn, range(10), 1, on_crash=crashed, stop=stop),
                   taken.append)
    assert stop.reason == "interrupted"
    assert taken == [0, 1, 2, 3] and ran(tmp_path) == {0, 1, 2, 3}


def test_an_interrupt_after_the_last_result_is_still_heard(tmp_path):
    taken = []
    stop = consume(lambda stop: run_tasks(functools.partial(leave_mark, tmp_path), range(5), 2,
                                          on_crash=crashed, stop=stop),
                   taken.append, interrupt_at=4)
    assert stop.reason == "interrupted"  # the caller hears of it: no prune, exit 130
    assert sorted(taken) == [0, 1, 2, 3, 4]


def test_a_stop_set_by_the_consumer_cancels_pending_work(tmp_path):
    taken = []
    stop = Stop()
    for n, result in enumerate(run_tasks(functools.partial(leave_mark, tmp_path), range(2000),
                                         2, on_crash=crashed, batch_seconds=10, stop=stop)):
        if n == 3:
            stop.set("halted")  # a full disk, say
        taken.append(result)
    assert stop.reason == "halted"
    assert sorted(taken) == sorted(ran(tmp_path)) and len(taken) < 2000


def test_a_signal_outside_the_recording_loop_raises_and_a_second_always_does():
    stop = Stop()
    with pytest.raises(KeyboardInterrupt), stopping_on(stop):
        os.kill(os.getpid(), signal.SIGINT)  # a walk or a plan: stop at once
    assert stop.reason == "interrupted"
    reached = []
    stop = Stop()
    with pytest.raises(KeyboardInterrupt), stopping_on(stop), stop.flag_only_within():
        os.kill(os.getpid(), signal.SIGINT)
        reached.append("flagged")
        os.kill(os.getpid(), signal.SIGINT)  # "stop waiting"
        reached.append("not reached")
    assert reached == ["flagged"] and stop.reason == "interrupted"


def test_sigterm_gives_its_own_reason_and_the_old_handler_comes_back(tmp_path):
    def terminate(signum, frame):
        raise AssertionError("replaced while the run records")

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        taken = []
        stop = consume(lambda stop: run_tasks(functools.partial(leave_mark, tmp_path),
                                              range(2000), 2, on_crash=crashed,
                                              batch_seconds=10, stop=stop),
                       taken.append, interrupt_at=5, signum=signal.SIGTERM,
                       signals={signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"})
        assert stop.reason == "terminated"
        assert sorted(taken) == sorted(ran(tmp_path)) and len(taken) < 2000
        assert signal.getsignal(signal.SIGTERM) is terminate
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture
def another_thread():
    """A thread alive in this process, as fsspec's IO loop is after an S3 listing."""
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    yield thread
    stop.set()
    thread.join()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is chosen on Linux")
def test_workers_are_forked_only_when_no_other_thread_could_hold_a_lock(
        another_thread, monkeypatch):
    from thumbnailer.run.workers import context

    assert context().get_start_method() == "forkserver"
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # this thread alone
    assert context().get_start_method() == "fork"


@pytest.mark.parametrize("fn", [square, square_or_die])
def test_a_pool_started_beside_another_thread_works_and_isolates_crashes(another_thread, fn):
    results = list(run_tasks(fn, range(30), 2, on_crash=crashed))
    assert len(results) == 30
    assert sorted(r for r in results if not isinstance(r, tuple)) == sorted(
        n * n for n in range(30) if fn is square or n != 13)


def test_ctrl_c_does_not_wait_for_a_suspect_retried_alone(tmp_path):
    taken = []
    timer = threading.Timer(2.0, os.kill, (os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    try:
        stop = consume(lambda stop: run_tasks(functools.partial(die_then_hang, tmp_path),
                                              range(4), 2, on_crash=crashed, hard_timeout=20,
                                              stop=stop),
                       taken.append)
    finally:
        (tmp_path / "stop").touch()  # let the hung child go
        timer.cancel()
    assert stop.reason == "interrupted"
    assert time.monotonic() - started < 15  # not the 20 s hard limit
    assert 0 not in taken
