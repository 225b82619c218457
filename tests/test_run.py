import contextlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers import square, square_or_die, square_or_segfault

from thumbnailer.run import default_workers, run_tasks


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
