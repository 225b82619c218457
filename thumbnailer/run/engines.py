"""Where the work runs: this process's pool, threads, or a Dask cluster.

Each engine is an executor factory for ``run_tasks`` plus the number of tasks it
runs at once; ``run_tasks`` does the rest (batches, a bounded window, Ctrl-C). Like
run.py, nothing here knows about images. Dask is imported only when asked for:
the default install never has it, the default path never loads it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, NamedTuple

from ..errors import ThumbnailerError
from .stderr import one_task_at_a_time

if TYPE_CHECKING:
    from concurrent.futures import Executor

ENGINES = ("process", "thread", "dask")

#: Seconds of work per batch on Dask: its scheduler costs about a millisecond per
#: task and a round trip per result, so batches are larger than on a local pool.
#: Measured (300 2 MP JPEGs, 2 workers, whole command): 0.1 s -> 2.85 s, 0.3 s ->
#: 2.53 s, 1.0 s -> 2.62 s (the last batches leave workers idle).
DASK_BATCH_SECONDS = 0.3
#: Messages Dask keeps per connection, and entries per developer log.
DASK_LOG_LENGTH = 20

#: How long to wait for a Dask scheduler to answer before giving up.
CONNECT_TIMEOUT = "10s"


class EngineError(ThumbnailerError):
    """The engine cannot start; the message says why and what to do."""


class Engine(NamedTuple):
    #: None means run_tasks' own process pool (or in-process for one worker).
    executor_factory: Callable[[], Executor] | None
    #: Tasks running at once: what the window of batches in flight is sized by.
    slots: int
    #: Seconds of work per batch (run_tasks' default unless an engine needs more).
    batch_seconds: float = 0.1


@contextlib.contextmanager
def engine(kind: str, workers: int, scheduler: str | None = None) -> Iterator[Engine]:
    """The engine ``kind`` with ``workers`` workers, shut down on exit."""
    if kind == "process":
        yield Engine(None, workers)
    elif kind == "thread":
        from concurrent.futures import ThreadPoolExecutor

        yield Engine(lambda: ThreadPoolExecutor(workers), workers)
    elif kind == "dask":
        with _dask(workers, scheduler) as found:
            yield found
    else:
        raise ValueError(f"unknown engine {kind!r}; use one of {', '.join(ENGINES)}")


@contextlib.contextmanager
def _dask(workers: int, scheduler: str | None) -> Iterator[Engine]:
    """A Client of the scheduler at ``scheduler``, or of a LocalCluster of
    ``workers`` single-threaded worker processes on loopback."""
    import logging  # not at start-up: only a Dask run needs it
    import warnings

    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise EngineError(
            "Options.executor dask needs the optional extra: pip install 'thumbnailer[dask]'",
            setting="executor") from None
    import dask

    # Dask logs to stderr; cron and CI runs must stay silent unless something fails.
    logging.getLogger("distributed").setLevel(logging.ERROR)
    with contextlib.ExitStack() as stack:
        # Dask keeps each connection's last 1,000 messages for its developers; ours
        # carry a batch of tasks each, so memory climbed to a plateau 70 MB up
        # (bench/dask_stream.py). A few are enough to debug with.
        stack.enter_context(dask.config.set({"distributed.admin.low-level-log-length":
                                             DASK_LOG_LENGTH}))
        if scheduler is None:
            with warnings.catch_warnings():
                # Its HTTP server (health checks) takes another port when 8787 is
                # taken, and says so in a warning that would name no file of the run.
                warnings.filterwarnings("ignore", message="Port .* is already in use")
                where = f"a local Dask cluster of {workers}"
                try:
                    cluster = stack.enter_context(LocalCluster(
                        n_workers=workers, threads_per_worker=1, processes=True,
                        host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR,
                    ))
                except OSError as e:  # its workers did not come up in time (TimeoutError), ...
                    raise EngineError(f"cannot start {where}: {str(e) or type(e).__name__}"
                                      ) from None
        else:
            cluster, where = scheduler, f"the Dask scheduler at {scheduler}"
        try:
            client = stack.enter_context(Client(cluster, timeout=CONNECT_TIMEOUT))
        except OSError as e:
            raise EngineError(f"cannot reach {where}: {str(e) or type(e).__name__}") from None
        if scheduler is None:  # our workers, one thread each: their stderr is the task's
            client.run(one_task_at_a_time)
        threads = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values())
        yield Engine(client.get_executor, max(1, threads), DASK_BATCH_SECONDS)
