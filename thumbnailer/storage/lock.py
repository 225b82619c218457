"""One run per output root at a time (overlapping cron jobs must not fight).

An advisory ``flock`` on a file in the output root: the kernel drops it when the
holding process ends, however it ends, so a lock left by a killed run never
blocks anyone. (flock works on local file systems and on NFSv4; where it is not
supported the run goes on without the guarantee rather than refusing to work.)
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator

from ..errors import ThumbnailerError

LOCK_NAME = ".thumbnailer.lock"


class Locked(ThumbnailerError, RuntimeError):
    """Another run holds the output root."""


@contextlib.contextmanager
def output_lock(root: str, wait: bool = False) -> Iterator[None]:
    """Hold the output root for the duration; raise Locked if another run holds it
    (or, with ``wait``, block until it is free)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no locking available
        yield
        return
    os.makedirs(root, exist_ok=True)
    # The file is never written: an unchanged rerun must write nothing at all. Never
    # through a link planted under its name (O_CREAT would make the link's target).
    fd = os.open(os.path.join(root, LOCK_NAME), os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise Locked(
                f"another thumbnailer run is using {root}; try again later, or use Options.wait",
                setting="wait") from None
        except OSError as e:
            if e.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                raise
        yield
    finally:
        os.close(fd)  # closing releases the lock
