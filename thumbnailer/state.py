"""The state: what this tool made in an output root, and from what.

An SQLite database (``sqlite3``), one row per thumbnail keyed by the output's
path without extension (with ``--format auto`` the extension is only known once
the image is seen), its source folder indexed: planning a folder reads its rows
in one query, and memory does not grow with the library.

- **An unchanged rerun writes nothing.** Nothing is written until something
  changes, and at rest the database is in rollback-journal mode, which can be
  read without making a file.
- **A kill loses seconds, never the state.** While a run writes: WAL mode, rows
  written in batches, a commit every COMMIT_SECONDS or COMMIT_ROWS rows.
- **--prune marks and sweeps**: the keys a job names go to a temporary table (on
  disk); the rows not marked are stale.
- **Object stores**: SQLite needs a local file, so a store's database is copied
  to a temporary folder for the run and put back whole, in one PUT, at each
  checkpoint and at the end; machines share it through the store, one run at a
  time per output prefix.
- **The failure ledger** (ledger.py) is a table of its own, beside the records,
  and so are --placeholders' (records.py).
- **The JSON state of 1.x** (legacy.py) is migrated on the first run, then removed.
- **Busy is not damage.** Another process holding the database (a backup, the
  sqlite3 shell) is waited for BUSY_SECONDS, then StateBusy ends the run ("try
  again later"). Only a file that is not our database (not SQLite, another
  version, failing ``PRAGMA quick_check``) is damaged, and it is moved aside,
  never deleted. A full disk or a state that cannot be written is StateUnwritable;
  what was committed before stays committed (SQLite rolls the failed transaction
  back). The State methods that touch SQLite raise only these StateErrors.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Concatenate, ParamSpec, TypeVar

from . import ledger, legacy, storage
from . import records as table
from .ledger import Failure
from .records import COLUMNS, LEGACY, SCHEMA, Record, Row, record_of, row_of
from .storage import path_bytes as _b
from .storage import path_text as _s

STATE_NAME = ".thumbnailer-state.sqlite"
LEGACY_NAME = legacy.LEGACY_NAME
SCHEMA_VERSION = 3  # PRAGMA user_version of the records' SCHEMA; another means "nothing is known"

#: Commit after this long or this many changed rows; --prune's marks, this many at once.
COMMIT_SECONDS, COMMIT_ROWS, MARK_BATCH = 2.0, 5000, 2000

#: How long a database another process holds (a backup, the sqlite3 shell) is
#: waited for before the run gives up with StateBusy (SQLite's busy timeout).
BUSY_SECONDS = 10.0

_UTF8, _ESCAPE = "utf-8", "surrogateescape"  # paths as path_bytes keeps them
_new = tuple.__new__  # a NamedTuple without its Python-level __new__

# SQLite's primary result codes (sqlite3.h) that decide what an error means, and
# their messages, for Pythons before 3.11 (no sqlite_errorcode).
_BUSY, _LOCKED, _IOERR, _CORRUPT, _FULL, _NOTADB = 5, 6, 10, 11, 13, 26
_UNWRITABLE = {3, 8, _IOERR, 14, 23}  # PERM, READONLY, IOERR, CANTOPEN, AUTH
_CODES = {"database is locked": _BUSY, "database table is locked": _LOCKED,
          "database or disk is full": _FULL, "database disk image is malformed": _CORRUPT,
          "file is not a database": _NOTADB, "attempt to write a readonly database": 8,
          "disk I/O error": _IOERR, "unable to open database file": 14}


class StateError(OSError):
    """The state cannot be used: ``str()`` is the line to tell, ``stop`` the
    run's stop reason (JobResult.stop)."""

    stop = "halted"

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(code, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class StateBusy(StateError):
    """Another process holds the database longer than BUSY_SECONDS: try again later."""

    stop = "locked"


class StateUnwritable(StateError):
    """The state cannot be written: a full or read-only disk, an immutable file,
    a folder in its place."""


def _code(e: sqlite3.Error) -> int | None:
    """SQLite's primary result code of an error."""
    code = getattr(e, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else _CODES.get(str(e))


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _guarded(method: Callable[Concatenate[State, _P], _R]
             ) -> Callable[Concatenate[State, _P], _R]:
    """A State method that raises StateError, not SQLite's or the system's own
    errors; once the state is in trouble it raises that again at once (a busy
    database is waited for once, not once a call)."""

    def guarded(self: State, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        if self.trouble is not None:
            raise self.trouble
        try:
            return method(self, *args, **kwargs)
        except StateError as e:
            self.trouble = e
            raise
        except (sqlite3.OperationalError, OSError) as e:
            self.trouble = self._error(e)
            raise self.trouble from e
        except sqlite3.DatabaseError as e:
            if type(e) is not sqlite3.DatabaseError:  # integrity, programming: a bug of ours
                raise
            self.trouble = self._error(e)
            raise self.trouble from e

    functools.update_wrapper(guarded, method)
    return guarded


class State:
    """The records of one output root. Only the parent process reads and writes
    it. Nothing is opened or made until it is needed."""

    def __init__(self, root: str, read_only: bool = False) -> None:
        self.root = root
        #: Write nothing where the output is (--dry-run): a 1.x file is migrated
        #: into a temporary database, and the database is opened read-only.
        self.read_only = read_only
        self.where = storage.store(root)
        self._db: sqlite3.Connection | None = None
        self._writable = False
        self._local: str | None = None  # the database file on this machine
        self._scratch: str | None = None  # the temporary folder of a store's copy
        self._changed = 0  # rows changed since the last commit
        self._last_commit = time.monotonic()
        self._marks: list[tuple[bytes]] = []
        self._rows: dict[bytes, Row] = {}  # put, not yet written: one executemany a commit
        self._marking = False  # the temporary table exists
        self.marking = False  # the job marks every key it names (start_marking)
        self._unmarked = False  # a mark came before there was a database to hold it
        self.dirty = False  # changed since the last save (for a store: the last PUT)
        #: Seconds spent writing: inserts, commits, checkpoints (the benchmark's
        #: "cost of the state").
        self.seconds = 0.0
        #: Rows migrated from 1.x whose folder is not known yet: looked up one by one.
        self.legacy = False
        self.failing = False  # the ledger holds a failure: look sources up in it
        #: Why the state cannot be used now (busy, unwritable): raised again at
        #: once by every method but close(), which tries to save once more.
        self.trouble: StateError | None = None
        #: (where, why) when a damaged file was found and moved aside at load.
        self.moved_aside: tuple[str, str] | None = None

    @property
    def path(self) -> str:
        return self.where.join(self.root, STATE_NAME)

    @classmethod
    def load(cls, root: str, read_only: bool = False) -> State:
        """The state of ``root``; a missing, foreign or damaged database means
        "nothing is known", which only costs regeneration, never a wrong skip (a
        damaged one is moved aside: ``moved_aside``). Raises StateBusy when
        another process holds the database, StateUnwritable when it cannot be
        used at all (a folder in its place)."""
        state = cls(root, read_only)
        try:
            state._open_existing()
        except StateError:
            state._let_go()
            raise
        return state

    # --- reading ---------------------------------------------------------------

    @_guarded
    def folder(self, folder: str) -> dict[str, Record]:
        """The records of the thumbnails of one source folder, by key."""
        self._flush()
        if self._db is None:
            return {}
        rows = self._db.execute(
            f"SELECT key, {COLUMNS} FROM records WHERE folder = ?", (_b(folder),)).fetchall()
        try:  # inlined _record: a third of an unchanged rerun's own cost (5.5 -> 4.3 us a row)
            return {k.decode(_UTF8, _ESCAPE): _new(Record, (
                o.decode(_UTF8, _ESCAPE), s.decode(_UTF8, _ESCAPE), f, m, z, w, h))
                for k, o, s, f, m, z, w, h in rows}
        except AttributeError:  # TEXT in a row written by hand
            return {_s(row[0]): record_of(row[1:]) for row in rows}

    @_guarded
    def get(self, key: str) -> Record | None:
        pending = self._rows.get(_b(key))
        if pending is not None:
            return record_of(pending[2:])
        if self._db is None:
            return None
        row = self._db.execute(f"SELECT {COLUMNS} FROM records WHERE key = ?",
                               (_b(key),)).fetchone()
        return None if row is None else record_of(row)

    @_guarded
    def __len__(self) -> int:
        self._flush()
        if self._db is None:
            return 0
        return int(self._db.execute("SELECT count(*) FROM records").fetchone()[0])

    def items(self) -> Iterator[tuple[str, Record]]:
        """Every record, by key order (for tests and tools; a run never needs all)."""
        self._flush()
        if self._db is None:
            return
        for row in self._db.execute(f"SELECT key, {COLUMNS} FROM records ORDER BY key"):
            yield _s(row[0]), record_of(row[1:])

    # --- writing ---------------------------------------------------------------

    @_guarded
    def put(self, key: str, record: Record, folder: str | None = None) -> None:
        """Remember ``record``, made from a source in ``folder``. This writes: a
        caller that may have nothing new compares first (an unchanged rerun must
        write nothing)."""
        started = time.perf_counter()
        blob = _b(key)
        self._rows[blob] = (blob, LEGACY if folder is None else _b(folder), *row_of(record))
        if not self._writable:  # the first change: a state that cannot be written, or is
            self._writer()  # busy, stops the run at its first image, not after all of them
        self.seconds += time.perf_counter() - started
        self._changed_one()

    @_guarded
    def drop(self, key: str) -> None:
        self._flush()
        if self.get(key) is None:
            return
        self._writer().execute("DELETE FROM records WHERE key = ?", (_b(key),))
        self._changed_one()

    @_guarded
    def placeholders(self, folder: str) -> dict[str, str]:
        """--placeholders: those of one source folder's sources, by absolute path."""
        return table.placeholders_in(self._db, _b(folder)) if self._db is not None else {}

    @_guarded
    def shade(self, source: str, folder: str, placeholder: str) -> None:
        self._writer().execute("INSERT OR REPLACE INTO placeholders VALUES (?, ?, ?)",
                               (_b(folder), _b(source), placeholder))
        self._changed_one()

    @_guarded
    def forget_orphan_placeholders(self) -> None:
        """(Reads first: a prune that deletes nothing writes nothing.)"""
        self._flush()
        if self._db is not None and table.has_orphans(self._db):
            table.forget_orphans(self._writer())
            self._changed_one()

    def _changed_one(self) -> None:  # commits every COMMIT_SECONDS or COMMIT_ROWS
        self.dirty = True
        self._changed += 1
        if (self._changed >= COMMIT_ROWS
                or time.monotonic() - self._last_commit > COMMIT_SECONDS):
            self.commit()

    def _flush(self) -> None:
        """Write the rows put since the last flush, in one statement."""
        if self._rows:  # kept until written: a busy database is tried again at close()
            self._writer().executemany(
                f"INSERT OR REPLACE INTO records (key, folder, {COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", self._rows.values())
            self._rows = {}

    @_guarded
    def commit(self) -> None:
        """Make the changes so far durable on this machine."""
        started = time.perf_counter()
        self._flush()
        if self._db is not None and self._writable:
            self._db.commit()
        self.seconds += time.perf_counter() - started
        self._changed = 0
        self._last_commit = time.monotonic()

    @_guarded
    def save(self) -> None:
        """A checkpoint: commit, and on an object store put the database back."""
        self.commit()
        if self.dirty and self._scratch is not None and not self.read_only:
            started = time.perf_counter()
            self._publish()
            self.seconds += time.perf_counter() - started
        self.dirty = False

    def close(self) -> None:
        """The end of a run: save, leave the database in its at-rest mode, and let
        go, whatever happens. A state in trouble (busy, full) is tried once more;
        if that fails too, StateError, and what was not written is dropped."""
        trouble, self.trouble = self.trouble, None
        saved = False
        try:
            self.save()
            saved = True
        finally:
            started = time.perf_counter()
            self._let_go(at_rest=saved and trouble is None)
            self.seconds += time.perf_counter() - started

    def _let_go(self, at_rest: bool = False) -> None:
        self._rows.clear()
        self._marks.clear()
        self.dirty = False
        if self._db is not None:
            # A run that wrote, or one that found the database as a killed run left
            # it, leaves it in rollback mode, which the next reader can read
            # without making a file (if it cannot, the WAL is left: no harm).
            if at_rest:
                with contextlib.suppress(sqlite3.Error):
                    if self._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                        self._db.execute("PRAGMA journal_mode=DELETE")
            self._db.close()
            self._db = None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    # --- the failure ledger (ledger.py) -----------------------------------------

    @_guarded
    def failure(self, source: str) -> Failure | None:
        """How ``source`` (its absolute path) failed before, if it did."""
        return ledger.get(self._db, _b(source)) if self.failing and self._db else None

    @_guarded
    def fail(self, source: str, failure: Failure) -> None:
        ledger.put(self._writer(), _b(source), failure)
        self.failing = True
        self._changed_one()

    @_guarded
    def forgive(self, source: str) -> None:
        """Take ``source`` out of the ledger (it was made, or it is gone)."""
        if self.failure(source) is not None:
            ledger.drop(self._writer(), _b(source))
            self._changed_one()

    @_guarded
    def failed_sources(self) -> Iterator[str]:
        """Every source in the ledger (they are few)."""
        found = ledger.sources(self._db) if self.failing and self._db else iter(())
        return (_s(source) for source in found)

    # --- mark and sweep (--prune) ----------------------------------------------

    def start_marking(self) -> None:
        """Say that every key the job names will be marked (for --prune): a sweep
        without marks would find every row stale."""
        self.marking = True

    @_guarded
    def mark(self, keys: Iterable[str]) -> None:
        """Note that the job names these keys (whether or not they are up to date)."""
        if self._db is None:
            self._unmarked = True  # nothing recorded before this run: nothing is stale
            return
        self._marks.extend((_b(k),) for k in keys)
        if len(self._marks) >= MARK_BATCH:
            self._flush_marks()

    def _flush_marks(self) -> None:
        if self._db is None:
            return
        if not self._marking:
            self._db.execute("CREATE TEMP TABLE IF NOT EXISTS seen (key BLOB PRIMARY KEY) "
                             "WITHOUT ROWID")
            self._marking = True
        self._db.executemany("INSERT OR IGNORE INTO temp.seen VALUES (?)", self._marks)
        self._marks.clear()
        if not self._writable:
            self._db.commit()  # not to hold a transaction open that switching to WAL needs

    @_guarded
    def stale(self) -> Iterator[tuple[str, str, bool]]:
        """(key, output, whether a marked row names the same output) of every row
        not marked, by key: what --prune forgets, and deletes unless shared."""
        if not self.marking:
            raise RuntimeError("nothing was marked: plan the job with mark=True first")
        self._flush()
        if self._db is None or self._unmarked:
            return iter(())
        self._flush_marks()
        return self._read((_s(key), _s(output), bool(shared)) for key, output, shared in
                          self._db.execute(
            "SELECT r.key, r.output, r.output IN (SELECT k.output FROM records k "
            "JOIN temp.seen s ON s.key = k.key) FROM records r "
            "WHERE r.key NOT IN (SELECT key FROM temp.seen) ORDER BY r.key"))

    def _read(self, rows: Iterator[_R]) -> Iterator[_R]:
        """Rows read as they are asked for, their errors StateErrors too."""
        try:
            yield from rows
        except (sqlite3.OperationalError, OSError) as e:
            if isinstance(e, StateError):
                raise
            self.trouble = self._error(e)
            raise self.trouble from e

    # --- opening ---------------------------------------------------------------

    @_guarded
    def _open_existing(self) -> None:
        """Open the database if there is one (reading writes nothing), else
        migrate a 1.x file."""
        if self._scratch is None and self.where is not storage.LOCAL:
            self._scratch = tempfile.mkdtemp(prefix="thumbnailer-state-")
            local = os.path.join(self._scratch, STATE_NAME)
            with contextlib.suppress(OSError):
                data = self.where.read(self.path)
                with open(local, "wb") as f:
                    f.write(data)
            self._local = local
        elif self._local is None:
            self._local = self.path
        if os.path.isdir(self._local):  # not ours: never moved, never deleted
            raise StateUnwritable(f"{self.path} is a folder, not thumbnailer's state: "
                                  "move it away", errno.EISDIR)
        if not os.path.exists(self._local):
            self._migrate()
            return
        damage = None
        try:
            self._db = self._connect()
            if self._db.execute("PRAGMA user_version").fetchone()[0] == 0 and self._db.execute(
                    "SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is None:
                self._db.close()  # empty (0 bytes: a first run stopped by a full disk):
                self._db = None  # a state with nothing yet, not damage
                return
            damage = self._damage(self._db)
            if damage is None:
                self.legacy = self._db.execute(
                    "SELECT 1 FROM records WHERE folder = 0 LIMIT 1").fetchone() is not None
                self.failing = ledger.any_in(self._db)
        except sqlite3.DatabaseError as e:
            if type(e) not in (sqlite3.DatabaseError, sqlite3.OperationalError) or _code(e) not in (
                    _CORRUPT, _NOTADB):  # busy, unreadable: not damage (_guarded tells)
                if self._db is not None:
                    self._db.close()
                    self._db = None
                raise
            damage = str(e)
        if damage is None:
            return
        if self._db is not None:
            self._db.close()
            self._db = None
        if not self.read_only:  # --dry-run: nothing is known, and nothing is touched
            self._move_aside(damage)

    @staticmethod
    def _damage(db: sqlite3.Connection) -> str | None:
        """Why the database is not a state of ours to use, or None. PRAGMA
        quick_check, not integrity_check: it reads every page too,
        but skips matching the indexes to their tables: 0.24-0.33 s against
        0.72-0.81 s at a million rows (171 MB), 1% of that unchanged rerun."""
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            return f"a database of another version ({version})"
        checked = db.execute("PRAGMA quick_check(1)").fetchone()[0]
        return None if checked == "ok" else f"PRAGMA quick_check: {checked}"

    def _connect(self) -> sqlite3.Connection:
        """Read-write where the file allows (a read-write connection that only
        reads writes nothing, and keeps the marks' temporary table when the run
        starts writing), else read-only (a read-only mount, --dry-run there)."""
        assert self._local is not None
        from urllib.parse import quote

        uri = f"file:{quote(self._local)}"
        wait = BUSY_SECONDS  # read now: tests lower it
        if self.read_only and self._scratch is None:
            db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=wait)
            db.execute("PRAGMA temp_store=FILE")
            return db
        try:
            db = sqlite3.connect(f"{uri}?mode=rwc" if not os.path.exists(self._local)
                                 else f"{uri}?mode=rw", uri=True, isolation_level="DEFERRED",
                                 timeout=wait)
        except sqlite3.OperationalError:
            db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=wait)
        db.execute("PRAGMA temp_store=FILE")  # --prune's marks: on disk, not in memory
        return db

    def _writer(self) -> sqlite3.Connection:
        """The connection, switched to WAL (and the schema made) on the first change."""
        if self._db is not None and self._writable:
            return self._db
        if self._local is None:
            self._open_existing()
            if self._db is not None and self._writable:  # a migration just made it
                return self._db
        assert self._local is not None
        if self._db is None:
            os.makedirs(os.path.dirname(self._local) or ".", exist_ok=True)
            self._db = self._connect()
        self._db.commit()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoints, never torn
        self._db.executescript(SCHEMA + ledger.SCHEMA + table.PLACEHOLDERS)
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        self._writable = True
        return self._db

    def _move_aside(self, why: str) -> None:
        """A database of another version, or not a database: rename it (and its
        journal, -wal and -shm, under the new name, where sqlite3 finds them) to
        ``.thumbnailer-state.sqlite.damaged-<UTC time>`` and start afresh (the
        thumbnails are still there, and this run simply remakes them)."""
        assert self._local is not None
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        aside = f"{self.path}.damaged-{stamp}"
        if self._scratch is not None:  # a store: put a copy there, the local one goes
            with open(self._local, "rb") as f:
                self.where.write(aside, f.read())
            os.unlink(self._local)
        else:
            for n in range(2, 100):
                if not os.path.lexists(aside):
                    break
                aside = f"{self.path}.damaged-{stamp}-{n}"
            for suffix in ("", "-journal", "-wal", "-shm"):
                if os.path.lexists(self._local + suffix):
                    os.rename(self._local + suffix, aside + suffix)
        self.moved_aside = (aside, why)

    def _error(self, e: BaseException) -> StateError:
        """What an error of SQLite's or the system's means for the run."""
        if isinstance(e, sqlite3.Error):
            code = _code(e)
            if code in (_BUSY, _LOCKED):
                return StateBusy(f"the state database {self.path} is in use by another "
                                 f"process (waited {BUSY_SECONDS:g} s); nothing was lost: "
                                 "try again later", errno.EBUSY)
            if code == _FULL or (code == _IOERR and self._disk_full()):
                return StateUnwritable(f"cannot write the state {self.path}: database or "
                                       "disk is full", errno.ENOSPC)
            if code in _UNWRITABLE:
                return StateUnwritable(f"cannot write the state {self.path}: {e}")
            return StateError(f"cannot use the state {self.path}: {e}")
        if isinstance(e, OSError):
            return StateUnwritable(f"cannot write the state {self.path}: {e.strerror or e}",
                                   e.errno)
        return StateError(f"cannot use the state {self.path}: {e}")

    def _disk_full(self) -> bool:
        """Whether the disk of the database is full (SQLite says "disk I/O error"
        when its -shm or -wal cannot grow, and does not say why)."""
        try:
            found = os.statvfs(os.path.dirname(self._local or self.path) or ".")
        except (OSError, AttributeError):  # gone; no statvfs (Windows)
            return False
        return found.f_bavail * found.f_frsize < 64 * 1024

    def _migrate(self) -> None:
        """Move the records of a 1.x JSON state file into a new database."""
        found = legacy.read(self.where, self.root)
        try:
            rows = [(_b(key), LEGACY, *row_of(Record._make(row))) for key, row in found or ()]
        except (TypeError, AttributeError):  # a record of another shape
            return
        if found is None:
            return
        if self.read_only and self._scratch is None:  # migrate into a temporary copy
            self._scratch = tempfile.mkdtemp(prefix="thumbnailer-state-")
            self._local = os.path.join(self._scratch, STATE_NAME)
        db = self._writer()
        db.executemany(f"INSERT OR REPLACE INTO records (key, folder, {COLUMNS}) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        db.commit()
        self.legacy = bool(rows)
        if self.read_only:
            return
        self.dirty = True
        self.save()  # on a store: put the database there before the old file goes
        with contextlib.suppress(OSError):
            self.where.remove(legacy.path(self.where, self.root))

    def _publish(self) -> None:
        """Put a store's database back, whole, in one PUT, in its at-rest mode."""
        assert self._db is not None and self._local is not None
        self._db.execute("PRAGMA journal_mode=DELETE")
        with open(self._local, "rb") as f:
            self.where.write(self.path, f.read())
        self._db.execute("PRAGMA journal_mode=WAL")
