"""Write a file so that its final name only ever holds complete contents."""

from __future__ import annotations

import contextlib
import os
import time
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
#: The running mark's first line: b"started <time_ns>" (its journal follows).
STARTED = b"started"


@contextlib.contextmanager
def writing_in(root: str, marker_folder: str | None = None) -> Iterator[None]:
    """Mark ``root`` as being written for the duration. If the mark is already
    there, the last run in it was killed mid-write: remove the temporary files it
    left (the caller holds the output lock, so no other run is writing). A run
    that ends in an exception keeps the mark, so the next one sweeps too. An
    unchanged rerun never calls this, so it still writes nothing. ``marker_folder``
    holds the mark when ``root`` is shared (the desktop cache)."""
    marker = os.path.join(marker_folder or root, RUNNING_NAME)
    if os.path.lexists(marker):
        sweep_temporaries(root)
    os.makedirs(os.path.dirname(marker), exist_ok=True)
    # Kept as it is if there (its journal is a killed run's proof of what it made,
    # made_by_killed_run), never opened through a link planted under its name.
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o666)
    try:
        if os.fstat(fd).st_size == 0:  # when the journal starts: older files are no run's
            os.write(fd, b"%s %d\n" % (STARTED, time.time_ns()))
    finally:
        os.close(fd)
    yield
    with contextlib.suppress(FileNotFoundError):
        os.unlink(marker)


def journal_line(rel: str, made: tuple[int, int, int]) -> bytes:
    """One line of the running mark's journal: a file a run made, as "size
    mtime_ns inode path", the path's bytes in hex (exact, whatever they hold)."""
    size, mtime_ns, ino = made
    return b"%d %d %d %s\n" % (size, mtime_ns, ino,
                                rel.encode("utf-8", "surrogateescape").hex().encode())


def made_by_killed_run(root: str) -> dict[str, tuple[int, int, int]]:
    """The files the last run in ``root`` made, by path below it, if that run was
    killed (its running mark is still there): the proof that they are this tool's
    though the run did not live to record them. Empty if the last run ended."""
    try:
        fd = os.open(os.path.join(root, RUNNING_NAME), os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return {}
    with os.fdopen(fd, "rb") as f:
        lines = f.read().split(b"\n")
    made = {}
    for line in lines:
        fields = line.split(b" ")
        try:
            size, mtime_ns, ino = (int(x) for x in fields[:3])
            rel = bytes.fromhex(fields[3].decode()).decode("utf-8", "surrogateescape")
        except (ValueError, IndexError):
            continue  # the last line of a run killed mid-write, or an empty mark
        made[rel] = (size, mtime_ns, ino)
    return made


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
