"""What one task's libraries write to stderr, caught so it can be said with the
task's name instead of on its own.

C libraries (libtiff, libjpeg, libwebp, libheif, FFmpeg, LibRaw) write their
messages to file descriptor 2 themselves, past Python's ``sys.stderr``: a line
such as ``More samples per pixel than can be decoded: 65535`` names no file.
``captured_stderr`` points descriptor 2 at a temporary file while a task runs
and puts it back after, whatever is raised. A file, not a pipe: a pipe that no
one reads fills at 64 KB and blocks the writer. One file per process, kept open
and emptied between tasks: a dup/dup2 pair and a read are microseconds, creating
a file is not. Python-level writes to ``sys.stderr`` in that time are caught too
(``contextlib.redirect_stderr``: an attribute swapped).

Descriptor 2 belongs to the whole process, so it is captured only where one
task runs at a time: a process's main thread (the pool's workers, an in-process
run), or any thread of a process that said it runs one task at a time (the
workers of a local Dask cluster, one thread each: engines.py). Elsewhere (the
thread engine, a Dask cluster of someone else's) it is left alone and nothing
is caught.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import threading
from types import TracebackType

#: The most bytes of one task's stderr kept; the rest is dropped (a decoder that
#: complains once per strip of a huge TIFF would otherwise fill the file).
KEEP_BYTES = 16 << 10
#: The most lines kept, after duplicates are dropped.
KEEP_LINES = 20

#: (pid, descriptor) of this process's file: a forked child gets the parent's
#: descriptor, which shares its offset with the parent's, so it makes its own.
_spool: tuple[int, int] | None = None


#: This process runs one task at a time, on whatever thread (one_task_at_a_time).
_solo = False


def one_task_at_a_time() -> None:
    """Said in a process that runs one task at a time on a thread other than its
    main one (a local Dask worker): its tasks' stderr, and warnings, are theirs."""
    global _solo
    _solo = True


def capturable() -> bool:
    """Whether the task on this thread may have the process's stderr to itself."""
    return _solo or threading.current_thread() is threading.main_thread()


def _file() -> int:
    global _spool
    if _spool is None or _spool[0] != os.getpid():
        fd, name = tempfile.mkstemp(prefix="thumbnailer-stderr-")
        os.unlink(name)  # gone with the process, however it ends
        _spool = (os.getpid(), fd)
    return _spool[1]


class captured_stderr:
    """Within the block, stderr (descriptor 2 and ``sys.stderr``) goes to this
    process's file; ``lines()`` gives what was written so far, one message a
    line, duplicates dropped. Nothing is caught where not capturable(), when
    descriptor 2 is closed (a daemon's), or when no temporary file can be made."""

    def __init__(self) -> None:
        self.active = capturable()
        self._saved = -1  # descriptor 2 as it was, while redirected
        self._fd = -1
        self._text: str | None = None  # what descriptor 2 received, once restored
        self._python = io.StringIO()
        self._redirect = contextlib.redirect_stderr(self._python)

    def __enter__(self) -> captured_stderr:
        if not self.active:
            return self
        _flush()
        try:
            fd = _file()
            saved = os.dup(2)
        except OSError:  # no temporary folder to write in, or descriptor 2 closed:
            self.active = False  # the task is not to fail for that
            return self
        try:
            os.dup2(fd, 2)
        except BaseException:
            os.close(saved)
            raise
        self._fd, self._saved = fd, saved
        self._redirect.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._saved < 0:
            return
        try:
            self._redirect.__exit__(kind, exc, tb)
            _flush()
        finally:
            os.dup2(self._saved, 2)
            os.close(self._saved)
            self._saved = -1
        self._text = self._read()
        if self._text is not None:  # emptied for the next task
            os.ftruncate(self._fd, 0)
            os.lseek(self._fd, 0, os.SEEK_SET)

    def _read(self) -> str | None:
        """What descriptor 2 received so far, None when nothing."""
        end = os.lseek(self._fd, 0, os.SEEK_CUR)  # the offset descriptor 2 shares
        if not end:
            return None
        os.lseek(self._fd, 0, os.SEEK_SET)
        try:
            return os.read(self._fd, min(end, KEEP_BYTES)).decode(errors="replace")
        finally:
            os.lseek(self._fd, end, os.SEEK_SET)  # the next write goes after, not over

    def lines(self) -> tuple[str, ...]:
        """The messages written so far (also inside the block), in order, each once."""
        if self._fd < 0:
            return ()
        text = self._read() if self._saved >= 0 else self._text
        python = self._python.getvalue()[:KEEP_BYTES]
        seen = dict.fromkeys(line.strip() for line in f"{text or ''}\n{python}".splitlines())
        seen.pop("", None)
        return tuple(seen)[:KEEP_LINES]


def _flush() -> None:
    """Python's stderr buffer goes where it was meant to before the descriptor moves."""
    with contextlib.suppress(Exception):
        if sys.stderr is not None:
            sys.stderr.flush()
