"""--max-memory: how much memory the images in flight may take.

Adding workers multiplies the memory a run needs, and a folder of panoramas
on a machine with many cores is how batch tools run a machine out of memory.
The run admits a task to the workers only while the estimated peaks (read/cost.py)
of what may be running at once fit this budget; a task bigger than the whole
budget runs alone. Each worker process of the pool also gets an address-space
limit of about the budget, so a decode that runs away (an estimate that was
wrong, a decoder bug) fails that image as "out of memory" instead of taking the
machine down.

The default is half the memory available when the run starts: MemAvailable
from /proc/meminfo, or less when a cgroup (a container, a systemd unit's
MemoryMax) allows less.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

#: The share of the memory available that --max-memory defaults to.
DEFAULT_SHARE = 0.5
#: What a worker may map beyond the budget before its limit bites: glibc's
#: per-thread arenas reserve address space they never touch.
ADDRESS_SLACK = 128 << 20


def available() -> int | None:
    """Bytes this process could still use: the system's MemAvailable, capped by
    its cgroup's limit less its usage; None where neither can be read."""
    found = []
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError):
        pass
    cgroup = _cgroup_room()
    if cgroup is not None:
        found.append(cgroup)
    if not found and hasattr(os, "sysconf"):
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, ValueError):
            pass
    return min(found) if found else None


def _cgroup_room() -> int | None:
    """memory.max - memory.current of this process's cgroup (v2), if limited."""
    try:
        with open("/proc/self/cgroup") as f:
            path = next(line.split(":", 2)[2].strip() for line in f if line.startswith("0::"))
        folder = os.path.join("/sys/fs/cgroup", path.lstrip("/"))
        with open(os.path.join(folder, "memory.max")) as f:
            limit = f.read().strip()
        if limit == "max":
            return None
        with open(os.path.join(folder, "memory.current")) as f:
            return max(0, int(limit) - int(f.read()))
    except (OSError, ValueError, StopIteration):
        return None


def mapped() -> int | None:
    """The address space this process has mapped (Linux: VmSize), what its
    RLIMIT_AS is measured against; None elsewhere."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    except (OSError, StopIteration, ValueError):
        return None


def default() -> int | None:
    """--max-memory when it is not given: DEFAULT_SHARE of what is available."""
    room = available()
    return None if room is None else int(room * DEFAULT_SHARE)


def needed(limit: int, worst_task: int, slots: int) -> bool:
    """Whether admitting tasks by their estimates can make a difference: not when
    even ``slots`` tasks of the worst estimate fit (then no header is read)."""
    return worst_task * slots > limit


class Budget(Generic[T]):
    """Admission by cost: a batch is sent only while the costs of the batches
    that may be running at once fit ``limit``. A batch costs its largest task
    (a worker runs a batch's tasks one after another), and at most ``slots``
    batches run at once, so what may be running is the ``slots`` costliest of
    those in flight (queued ones hold no memory yet). A batch bigger than the
    whole limit is sent when nothing else is in flight, and runs alone. With no
    limit, everything is admitted and ``cost`` is never called."""

    def __init__(self, limit: int | None, cost: Callable[[T], int] | None = None,
                 address_space: int | None = None) -> None:
        self.limit, self.cost = limit, cost
        #: What each worker of the local pool may map beyond what it started with.
        self.address_space = address_space
        self.slots = 1  # set by run_tasks: the workers
        self._held: dict[object, int] = {}  # in flight -> its cost
        self._known: dict[int, tuple[list[T], int]] = {}  # batches costed, not yet held

    def _of(self, batch: list[T]) -> int:
        known = self._known.get(id(batch))
        if known is not None and known[0] is batch:  # the same batch, put back
            return known[1]
        assert self.cost is not None
        return max(self.cost(task) for task in batch)

    def admits(self, batch: list[T], alone: bool) -> bool:
        if self.limit is None or self.cost is None:
            return True
        cost = self._of(batch)
        self._known[id(batch)] = (batch, cost)  # for hold(), or the next try: read once
        running = sorted((*self._held.values(), cost), reverse=True)[:self.slots]
        return alone or sum(running) <= self.limit

    def hold(self, future: object, batch: list[T]) -> None:
        if self.limit is not None and self.cost is not None:
            self._held[future] = self._known.pop(id(batch))[1]

    def release(self, future: object) -> None:
        self._held.pop(future, None)

    @property
    def in_flight(self) -> int:
        """The sum of the costs of the batches in flight."""
        return sum(self._held.values())
