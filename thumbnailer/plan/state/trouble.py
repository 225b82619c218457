"""What can go wrong with the state database, and what it means for a run.

- **Busy** (StateBusy): another process holds it (a backup, the sqlite3 shell)
  longer than the state waits: "try again later", never damage.
- **Unwritable** (StateUnwritable): a full disk, a read-only one, an immutable
  file, a folder in its place. What was committed stays committed: SQLite rolls
  the failed transaction back.
- **Damaged** (``damage``): not our database (not SQLite, another version,
  failing ``PRAGMA quick_check``): moved aside (``move_aside``), never deleted.

The State raises these from every method that touches SQLite (``guarded``);
job.py turns them into the run's stop reason and one line.
"""

from __future__ import annotations

import errno
import functools
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from ... import storage
from ...errors import ThumbnailerError
from ...spec import StopReason

# SQLite's primary result codes (sqlite3.h) that decide what an error means.
PERM = 3  # access permission denied
BUSY = 5  # another connection holds the database
LOCKED = 6  # a table is locked
READONLY = 8  # an attempt to write a read-only database
IOERR = 10  # a disk I/O error (also when a full disk stops the -shm or -wal growing)
CORRUPT = 11  # the database disk image is malformed
FULL = 13  # the database or the disk is full
CANTOPEN = 14  # the database file cannot be opened
AUTH = 23  # an authorizer refused
NOTADB = 26  # the file is not a database

#: The codes that mean the state cannot be written where it is.
_UNWRITABLE = {PERM, READONLY, IOERR, CANTOPEN, AUTH}

#: The code of each of SQLite's messages, for Pythons before 3.11, whose errors
#: carry no sqlite_errorcode.
_CODES = {
    "database is locked": BUSY,
    "database table is locked": LOCKED,
    "database or disk is full": FULL,
    "database disk image is malformed": CORRUPT,
    "file is not a database": NOTADB,
    "attempt to write a readonly database": READONLY,
    "disk I/O error": IOERR,
    "unable to open database file": CANTOPEN,
}


class StateError(ThumbnailerError, OSError):
    """The state cannot be used: ``str()`` is the line to tell, ``stop`` the
    run's stop reason (JobResult.stop)."""

    stop: StopReason = StopReason.HALTED

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(code, message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[type[StateError], tuple[str, int | None]]:
        # OSError pickles its args, (code, message), which are not this
        # __init__'s order: without this a copy would read its code as its message.
        return type(self), (self.message, self.errno)


class StateBusy(StateError):
    """Another process holds the database longer than the state waits: try again later."""

    stop = StopReason.LOCKED


class StateUnwritable(StateError):
    """The state cannot be written: a full or read-only disk, an immutable file,
    a folder in its place."""


def code(e: sqlite3.Error) -> int | None:
    """SQLite's primary result code of an error."""
    found = getattr(e, "sqlite_errorcode", None)
    return found & 0xFF if isinstance(found, int) else _CODES.get(str(e))


def explain(e: BaseException, path: str, waited: float) -> StateError:
    """What an error of SQLite's or the system's, on the state at ``path``, means
    for the run (``waited``: the seconds a busy database was waited for)."""
    if isinstance(e, sqlite3.Error):
        found = code(e)
        if found in (BUSY, LOCKED):
            return StateBusy(f"the state database {path} is in use by another process "
                             f"(waited {waited:g} s); nothing was lost: try again later",
                             errno.EBUSY)
        if found == FULL or (found == IOERR and disk_full(path)):
            return StateUnwritable(f"cannot write the state {path}: database or disk is full",
                                   errno.ENOSPC)
        if found in _UNWRITABLE:
            return StateUnwritable(f"cannot write the state {path}: {e}")
    elif isinstance(e, OSError):
        return StateUnwritable(f"cannot write the state {path}: {e.strerror or e}", e.errno)
    return StateError(f"cannot use the state {path}: {e}")


def disk_full(path: str) -> bool:
    """Whether the disk of ``path`` is full (SQLite says "disk I/O error" when
    its -shm or -wal cannot grow, and does not say why)."""
    try:
        found = os.statvfs(os.path.dirname(path) or ".")
    except (OSError, AttributeError, ValueError):  # gone, a URL; no statvfs (Windows)
        return False
    return found.f_bavail * found.f_frsize < 64 * 1024


class Troubled(Protocol):
    #: Why the state cannot be used now: raised again at once, not waited for again.
    trouble: StateError | None

    def explain(self, e: BaseException) -> StateError: ...


_S = TypeVar("_S", bound=Troubled)
_P = ParamSpec("_P")
_R = TypeVar("_R")


def guarded(method: Callable[Concatenate[_S, _P], _R]) -> Callable[Concatenate[_S, _P], _R]:
    """A method that raises StateError, not SQLite's or the system's own errors;
    once the state is in trouble it raises that again at once (a busy database
    is waited for once, not once a call)."""

    def checked(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        if self.trouble is not None:
            raise self.trouble
        try:
            return method(self, *args, **kwargs)
        except StateError as e:
            self.trouble = e
            raise
        except (sqlite3.DatabaseError, OSError) as e:
            if isinstance(e, sqlite3.DatabaseError) and type(e) not in (
                    sqlite3.DatabaseError, sqlite3.OperationalError):  # a bug of ours
                raise
            self.trouble = self.explain(e)
            raise self.trouble from e

    functools.update_wrapper(checked, method)
    return checked


def rows(owner: Troubled, found: Iterator[_R]) -> Iterator[_R]:
    """Rows read as they are asked for, their errors StateErrors too."""
    try:
        yield from found
    except (sqlite3.OperationalError, OSError) as e:
        if isinstance(e, StateError):
            raise
        owner.trouble = owner.explain(e)
        raise owner.trouble from e


def damage(db: sqlite3.Connection, version: int) -> str | None:
    """Why the database is not a state of ours (of schema ``version``) to use, or
    None; "" if it is empty (0 bytes: a first run stopped by a full disk), which
    is a state with nothing yet, not damage. PRAGMA quick_check, not
    integrity_check: it reads every page too, but skips matching the indexes to
    their tables: 0.24-0.33 s against 0.72-0.81 s at a million rows (a 200 MB
    file), about 1% of that unchanged rerun."""
    found = db.execute("PRAGMA user_version").fetchone()[0]
    if found == 0 and db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is None:
        return ""
    if found != version:
        return f"a database of another version ({found})"
    checked = db.execute("PRAGMA quick_check(1)").fetchone()[0]
    return None if checked == "ok" else f"PRAGMA quick_check: {checked}"


def damaged(e: sqlite3.DatabaseError) -> str | None:
    """Why opening found no database of ours, if that is what ``e`` says (not a
    database, malformed); None if it says something else (busy, unreadable)."""
    if type(e) in (sqlite3.DatabaseError, sqlite3.OperationalError) and code(e) in (
            CORRUPT, NOTADB):
        return str(e)
    return None


def move_aside(where: storage.Store, path: str, local: str, copied: bool) -> str:
    """Rename a damaged database at ``path`` (its file on this machine: ``local``,
    a store's ``copied`` one) to ``<name>.damaged-<UTC time>``, its journal, -wal
    and -shm under the new name too (where sqlite3 finds them); the new name."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = f"{path}.damaged-{stamp}"
    if copied:  # a store: put the copy there under the new name; the local one goes
        with open(local, "rb") as f:
            where.write(aside, f.read())
        os.unlink(local)
        return aside
    for n in range(2, 100):
        if not os.path.lexists(aside):
            break
        aside = f"{path}.damaged-{stamp}-{n}"
    for suffix in ("", "-journal", "-wal", "-shm"):
        if os.path.lexists(local + suffix):
            os.rename(local + suffix, aside + suffix)
    return aside


class Trouble:
    """The first StateError a run meets: it stops the run (``stop``: Stop.set)
    as a full disk does, and is told in one line at the end."""

    def __init__(self, stop: Callable[[StopReason], object]) -> None:
        self.error: StateError | None = None
        self._stop = stop

    def met(self, e: StateError) -> None:
        if self.error is None:
            self.error = e
            self._stop(e.stop)

    def survive(self, call: Callable[[], object]) -> None:
        """``call()``; a StateError it raises is met, not raised."""
        try:
            call()
        except StateError as e:
            self.met(e)

    @property
    def line(self) -> str | None:
        if self.error is None:
            return None
        if self.error.stop is StopReason.LOCKED:  # "try again later": exit 75, as a held lock
            return f"thumbnailer: {self.error}"
        return (f"stopping early: {self.error}; what was recorded before is kept, and the "
                "next run makes what is missing")


def moved_aside(path: str, aside: str, why: str) -> str:
    """The warning a run gives when it moved a damaged state aside."""
    return f"{path} was not a state thumbnailer can use ({why}): moved it aside to {aside}; " \
           "starting afresh"
