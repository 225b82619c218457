"""Write a file so that its final name only ever holds complete contents."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import BinaryIO

#: Every temporary file this tool makes starts with this, so a killed run's
#: leftovers are recognisable (and never mistaken for thumbnails).
TEMP_PREFIX = ".thumbnailer-tmp-"


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: int | None = None) -> Iterator[BinaryIO]:
    """Yield a binary file in the target folder; rename it to ``path`` on success.

    The temporary lives beside the target so the rename is atomic (same file
    system), and is removed if the body raises, even on KeyboardInterrupt. The
    file gets ``mode``, or by default the usual permissions (0666 less the umask).
    """
    import tempfile  # only when something is written: an unchanged rerun writes nothing

    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.chmod(tmp, 0o666 & ~_UMASK if mode is None else mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read_umask() -> int:
    # Read once: os.umask can only be read by setting it, which is not thread-safe.
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: mkstemp makes 0600 files; thumbnails get the ordinary permissions instead.
_UMASK = _read_umask()
