"""How much memory making a source's thumbnails will take, from its header alone.

The process pool admits tasks to the workers while these estimates fit its
memory budget (run/budget.py). Each kind's reader gives its own estimate
(``memory``: what its decoded pixels occupy, at the size they are decoded at,
times the copies the pipeline makes of them; read/image.py has the figures
measured); this adds what every task holds. Reading a header opens the file
and reads its first kilobytes: it is done only when the budget could be
exceeded (see budget.needed).
"""

from __future__ import annotations

from ..geometry import Need
from ..run.budget import ADDRESS_SLACK, mapped
from ..run.stderr import captured_stderr
from ..spec import Settings, Task
from ..storage import store
from . import reader
from .image import COPIES, OTHER_COPIES, box_bytes
from .kinds import kind_of
from .pillow import caught_warnings

#: What a task holds besides its pixels: the encoder's buffers, Python objects.
BASE = 8 << 20


def worst(settings: Settings) -> int:
    """The most one task can be estimated at: the largest image the pixel limit
    lets through, with the most copies. (Bigger ones are refused unread.)"""
    copies = max((*COPIES.values(), OTHER_COPIES)) + 1  # 4-byte pixels, + a conversion
    frames = settings.max_frames if settings.animated else 1
    return (BASE + settings.max_pixels * 4 * copies + settings.max_pixels * 3
            + (frames + 2) * box_bytes(settings))


def decode_cost(task: Task) -> int:
    """Bytes rendering ``task`` is expected to hold at its peak (BASE when the
    header cannot be read: render fails such a file before decoding it)."""
    s = task.settings
    if not task.targets:
        return BASE
    try:
        readable = store(task.source).readable(task.source)
    except Exception:
        return BASE
    # What a header's reader says (a warning, libtiff on stderr) is said again,
    # with the file's name, when the worker reads it: here it is dropped.
    with captured_stderr(), caught_warnings():
        return BASE + reader(kind_of(task.source)).memory(readable, Need.of(task), s)


def over_limit(task: Task) -> str | None:
    """Why ``task`` failed, when it is memory: this process has an address-space
    limit (--max-memory, set on each pool worker) and the estimate for the task
    is more than the limit leaves. Decoders say so in their own words ("broken
    data stream", "could not create decoder object") when an allocation fails."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    used = mapped()
    if used is None:
        return None
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))  # some decoders allocate at open
    try:
        need = decode_cost(task)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    if need <= soft - used:
        return None
    # The limit is the budget plus ADDRESS_SLACK (for glibc's arenas) over what the
    # worker mapped at its start: what is left of the budget itself leaves the slack out.
    left = max(0, soft - ADDRESS_SLACK - used)
    return (f"out of memory: it needs about {need >> 20:,} MB, more than Options.max_memory "
            f"lets one image take ({left >> 20:,} MB of it left)")
