import contextlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers import square, square_or_die, square_or_segfault

from thumbnailer.run import _Batches, default_workers, run_tasks


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


def test_an_injected_executor_is_used():
    made = []

    def factory():
        made.append(1)
        return ThreadPoolExecutor(3)

    results = run_tasks(lambda t: t * 2, range(10), on_crash=crashed, executor_factory=factory)
    assert sorted(results) == [n * 2 for n in range(10)]
    assert made == [1]


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


def test_batches_of_an_unsized_stream_keep_the_learnt_size():
    batches = _Batches(iter(range(25)), seconds=0.1, workers=2)
    batches.learn(0.01, 1)
    assert [len(batches.take()) for _ in range(3)] == [10, 10, 5]
