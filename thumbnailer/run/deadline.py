"""--deadline: the newest sources first, and no image started once the time is up."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from ..spec import Task


class Deadline:
    """Walks the whole plan first, then gives its tasks newest source first until
    ``at`` (a time.monotonic() time); run_tasks finishes what is in flight then.
    It holds the tasks still to do (not the library's files): the price of
    choosing which go first. If the time is up during the walk, ``stop_walk``
    ends it."""

    def __init__(self, at: float, stop_walk: Callable[[], object]) -> None:
        self.at, self.stop_walk = at, stop_walk
        self.left = 0  # tasks not started when the time was up

    def newest_first(self, tasks: Iterator[Task]) -> Iterator[Task]:
        todo: list[Task] = []
        for task in tasks:
            if time.monotonic() >= self.at:
                self.stop_walk()
                self.left = len(todo) + 1
                return
            todo.append(task)
        todo.sort(key=lambda t: t.mtime_ns, reverse=True)  # stable: walk order among equals
        for n, task in enumerate(todo):
            if time.monotonic() >= self.at:
                self.left = len(todo) - n
                return
            yield task
