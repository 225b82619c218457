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
def atomic_write(path: str | os.PathLike[str], mode: int | None = None) -> Iterator[BinaryIO]:
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


def atomic_link(existing: str, path: str) -> bool:
    """Make ``path`` a hard link of ``existing`` (same bytes, no second copy),
    replacing whatever ``path`` was in one rename; where no link can be made
    (another file system, FAT, a link-count limit), an atomic copy. Returns
    whether it linked."""
    import shutil

    tmp = os.path.join(os.path.dirname(path) or ".", TEMP_PREFIX + os.urandom(8).hex())
    try:
        os.link(existing, tmp)
    except OSError:
        with open(existing, "rb") as src, atomic_write(path) as out:
            shutil.copyfileobj(src, out)
        return False
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return True


def _read_umask() -> int:
    # Read once: os.umask can only be read by setting it, which is not thread-safe.
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: mkstemp makes 0600 files; thumbnails get the ordinary permissions instead.
_UMASK = _read_umask()


#: Present in an output folder while a run writes there; left behind only by a run
#: that was killed (kill -9, power loss), telling the next run to sweep.
RUNNING_NAME = ".thumbnailer-running"


@contextlib.contextmanager
def writing_in(root: str, marker_folder: str | None = None) -> Iterator[None]:
    """Mark ``root`` as being written for the duration. If the mark is already
    there, the last run in it was killed mid-write: remove the temporary files it
    left (the caller holds the output lock, so no other run is writing). A run
    that ends in an exception keeps the mark, so the next one sweeps too. An
    unchanged rerun never calls this, so it still writes nothing. ``marker_folder``
    holds the mark when ``root`` is shared (the desktop cache)."""
    marker = os.path.join(marker_folder or root, RUNNING_NAME)
    if os.path.exists(marker):
        sweep_temporaries(root)
    os.makedirs(os.path.dirname(marker), exist_ok=True)
    with open(marker, "wb"):
        pass
    yield
    with contextlib.suppress(FileNotFoundError):
        os.unlink(marker)


def sweep_temporaries(root: str) -> list[str]:
    """Remove every temporary file this tool left under ``root``; returns their paths."""
    removed = []
    for folder, _, files in os.walk(root):
        for name in files:
            if name.startswith(TEMP_PREFIX):
                path = os.path.join(folder, name)
                with contextlib.suppress(OSError):
                    os.unlink(path)
                    removed.append(path)
    return removed
