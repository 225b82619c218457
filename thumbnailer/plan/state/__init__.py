"""The state: what this tool made in an output root, and from what.

An SQLite database (the standard library's ``sqlite3``), one row per thumbnail,
keyed by the output's path without extension (with ``--format auto`` the
extension is only known once the image is seen), with the source folder it came
from indexed, so planning a folder reads that folder's rows in one query and
memory does not grow with the library.

- **An unchanged rerun writes nothing.** The database is opened read-write, but
  nothing is written until something changes. At rest it is in rollback-journal
  mode, which a reader can read without making a file.
- **A kill loses seconds, never the state.** While a run writes, the database is
  in WAL mode, rows are written in batches, and a commit comes every
  COMMIT_SECONDS or COMMIT_ROWS rows; SQLite's own atomic commit means a kill at
  any moment leaves the last commit intact.
- **--prune marks and sweeps** (sweep.py). The keys a job names are marked in a
  temporary table (on disk beside the system's temporaries, not in memory); the
  rows not marked are stale.
- **Object stores.** SQLite needs a local file with locks, so for an output on an
  object store the database is copied into a temporary folder at the start of a
  run and put back, whole, in one PUT at each checkpoint and at the end. Two
  machines share it through the store, one run at a time per output prefix (as
  for the thumbnails themselves).
- **The failure ledger** (ledger.py) is a table of its own beside the records,
  and so are the --placeholders and the folders holding --gallery pages
  (records.py).
- **The JSON state of 1.x** (``.thumbnailer-state.json``, read by legacy.py) is
  migrated on the first run and then removed.
- **Busy is not damage** (trouble.py). A database another process holds is
  waited for BUSY_SECONDS, then the run stops with StateBusy; a full or
  unwritable one stops it with StateUnwritable. Only a file that is not a
  database of ours (not a database, another schema version, or one that fails
  SQLite's quick check) is damaged: it is moved aside and the state starts
  afresh.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Collection, Iterator

from ... import storage
from ...storage import path_bytes as _b
from ...storage import path_text as _s
from . import ledger, legacy, trouble
from . import records as table
from .ledger import Failure
from .records import COLUMNS, COLUMNS_3, LEGACY, SCHEMA, Record, Row, record_of, row_of
from .sweep import Sweep
from .trouble import StateBusy, StateError, StateUnwritable, guarded

__all__ = ["BUSY_SECONDS", "STATE_NAME", "State", "StateBusy", "StateError", "StateUnwritable"]

STATE_NAME = ".thumbnailer-state.sqlite"
LEGACY_NAME = legacy.LEGACY_NAME
#: PRAGMA user_version of the records' SCHEMA; another version means "nothing is
#: known".
SCHEMA_VERSION = 4
#: The schema before records kept the identity of the file made (``made``): its
#: records are kept, the column added on the first run that writes.
SCHEMA_3 = 3

#: Commit after this many seconds or COMMIT_ROWS changed rows, whichever comes first.
COMMIT_SECONDS = 2.0
#: Commit after this many changed rows or COMMIT_SECONDS, whichever comes first.
COMMIT_ROWS = 5000

#: How long a database another process holds (a backup, the sqlite3 shell) is
#: waited for before StateBusy (SQLite's busy timeout).
BUSY_SECONDS = 10.0

_UTF8, _ESCAPE = "utf-8", "surrogateescape"  # paths as path_bytes keeps them
_new = tuple.__new__  # a NamedTuple without its Python-level __new__


class State(Sweep):
    """The records of one output root. Only the parent process reads and writes
    it. Nothing is opened or made until it is needed."""

    def __init__(self, root: str, read_only: bool = False) -> None:
        super().__init__()
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
        self._rows: dict[bytes, Row] = {}  # put, not yet written: one executemany a commit
        self.dirty = False  # changed since the last save (for a store: the last PUT)
        #: Seconds spent writing: inserts, commits, checkpoints (the benchmark's
        #: "cost of the state").
        self.seconds = 0.0
        #: Rows migrated from 1.x whose folder is not known yet: looked up one by one.
        self.legacy = False
        self.failing = False  # the ledger holds a failure: look sources up in it
        self._columns = COLUMNS  # COLUMNS_3 while a database of schema 3 is only read
        #: Why the state cannot be used now (busy, full, unwritable): every guarded
        #: method raises it again at once (trouble.guarded), except close(), which
        #: tries to save once more.
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
        damaged one is moved aside). Raises StateBusy, StateUnwritable."""
        state = cls(root, read_only)
        try:
            state._open_existing()
        except StateError:
            state._let_go()
            raise
        return state

    # --- reading ---------------------------------------------------------------

    def folder(self, folder: str) -> dict[str, Record]:
        """The records of the thumbnails of one source folder, by key."""
        self._flush()
        if self._db is None:
            return {}
        rows = self._db.execute(
            f"SELECT key, {self._columns} FROM records WHERE folder = ?", (_b(folder),)).fetchall()
        try:  # inlined _record: a third of an unchanged rerun's own cost (5.5 -> 4.3 us a row)
            return {k.decode(_UTF8, _ESCAPE): _new(Record, (
                o.decode(_UTF8, _ESCAPE), s.decode(_UTF8, _ESCAPE), f, m, z, w, h, d))
                for k, o, s, f, m, z, w, h, d in rows}
        except AttributeError:  # TEXT in a row written by hand
            return {_s(row[0]): record_of(row[1:]) for row in rows}

    def get(self, key: str) -> Record | None:
        pending = self._rows.get(_b(key))
        if pending is not None:
            return record_of(pending[2:])
        if self._db is None:
            return None
        row = self._db.execute(f"SELECT {self._columns} FROM records WHERE key = ?",
                               (_b(key),)).fetchone()
        return None if row is None else record_of(row)

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
        for row in self._db.execute(f"SELECT key, {self._columns} FROM records ORDER BY key"):
            yield _s(row[0]), record_of(row[1:])

    # --- writing ---------------------------------------------------------------

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

    def drop(self, key: str) -> None:
        self._flush()
        if self.get(key) is None:
            return
        self._writer().execute("DELETE FROM records WHERE key = ?", (_b(key),))
        self._changed_one()

    def placeholders(self, folder: str) -> dict[str, str]:
        """--placeholders: those of one source folder's sources, by absolute path."""
        return table.placeholders_in(self._db, _b(folder)) if self._db is not None else {}

    def shade(self, source: str, folder: str, placeholder: str) -> None:
        self._writer().execute("INSERT OR REPLACE INTO placeholders VALUES (?, ?, ?)",
                               (_b(folder), _b(source), placeholder))
        self._changed_one()

    def forget_orphan_placeholders(self) -> None:
        """Drop the placeholders of sources that no record names any more (--prune).

        It looks for them before it writes, so that a prune that deletes nothing
        writes nothing."""
        self._flush()
        if self._db is not None and table.has_orphans(self._db):
            table.forget_orphans(self._writer())
            self._changed_one()

    def _changed_one(self) -> None:
        """Count one changed row, and commit every COMMIT_SECONDS or COMMIT_ROWS."""
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
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self._rows.values())
            self._rows = {}

    def commit(self) -> None:
        """Make the changes so far durable on this machine."""
        started = time.perf_counter()
        self._flush()
        if self._db is not None and self._writable:
            self._db.commit()
        self.seconds += time.perf_counter() - started
        self._changed = 0
        self._last_commit = time.monotonic()

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
        it go, whatever happens. A state in trouble (busy, full) is tried once
        more; if that fails too, StateError, and what was not written is dropped."""
        was, self.trouble = self.trouble, None
        try:
            self.save()
        finally:
            started = time.perf_counter()
            self._let_go(at_rest=was is None and self.trouble is None)
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

    def failure(self, source: str) -> Failure | None:
        """How ``source`` (its absolute path) failed before, if it did."""
        return ledger.get(self._db, _b(source)) if self.failing and self._db else None

    def fail(self, source: str, failure: Failure) -> None:
        ledger.put(self._writer(), _b(source), failure)
        self.failing = True
        self._changed_one()

    def forgive(self, source: str) -> None:
        """Take ``source`` out of the ledger (it was made, or it is gone)."""
        if self.failure(source) is not None:
            ledger.drop(self._writer(), _b(source))
            self._changed_one()

    def failed_sources(self) -> Iterator[str]:
        """Every source in the ledger (they are few)."""
        found = ledger.sources(self._db) if self.failing and self._db else iter(())
        return (_s(source) for source in found)

    # --- the gallery's folders (records.PAGES) -----------------------------------

    def gallery_folders(self) -> set[str]:
        """The folders (relative to the root) a --gallery run left pages in."""
        return table.pages_in(self._db) if self._db is not None else set()

    def keep_gallery_folders(self, folders: Collection[str]) -> None:
        """Remember ``folders`` as those holding pages now; writes only a change
        (an unchanged rerun writes nothing)."""
        if self.gallery_folders() == set(folders):
            return
        db = self._writer()
        db.execute("DELETE FROM pages")
        db.executemany("INSERT INTO pages VALUES (?)", ((_b(f),) for f in sorted(folders)))
        self._changed_one()

    def page_digests(self) -> dict[str, bytes]:
        """Each folder's digest of what its gallery pages show, as the last run left them."""
        return table.page_digests(self._db) if self._db is not None else {}

    def keep_page_digests(self, digests: dict[str, bytes]) -> None:
        """Remember the folders' page digests; writes only the changed rows (an
        unchanged rerun writes nothing)."""
        had = self.page_digests()
        if had == digests:
            return
        db = self._writer()
        db.executemany("DELETE FROM page_digests WHERE folder = ?",
                       ((_b(f),) for f in had.keys() - digests.keys()))
        db.executemany("INSERT OR REPLACE INTO page_digests VALUES (?, ?)",
                       ((_b(f), d) for f, d in digests.items() if had.get(f) != d))
        self._changed_one()

    def manifest(self, path: str) -> tuple[bytes, int, int] | None:
        """--manifest: the (digest, size, mtime_ns) of the file at ``path`` as a
        run last wrote it."""
        return table.manifest_in(self._db, _b(path)) if self._db is not None else None

    def keep_manifest(self, path: str, digest: bytes, size: int, mtime_ns: int) -> None:
        """Remember the manifest just written at ``path``."""
        self._writer().execute("INSERT OR REPLACE INTO manifests VALUES (?, ?, ?, ?)",
                               (_b(path), digest, size, mtime_ns))
        self._changed_one()

    def memo(self, folder: str) -> tuple[bytes, bytes] | None:
        """A source folder's memo (plan/memo.py): its (digest, body), if kept and
        none of its records changed since."""
        if self._db is None:
            return None
        if self._rows:  # a put not yet written would have let go of it
            self._flush()
        return table.memo_in(self._db, _b(folder))

    def keep_memo(self, folder: str, digest: bytes, body: bytes) -> None:
        """Remember a folder's memo, after its records (whose triggers let go of it)."""
        self._flush()
        self._writer().execute("INSERT OR REPLACE INTO memos VALUES (?, ?, ?)",
                               (_b(folder), digest, body))
        self._changed_one()

    # --- opening ---------------------------------------------------------------

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
        if os.path.islink(self._local):  # SQLite would follow it, and make its target
            raise StateUnwritable(f"{self.path} is a symbolic link, not thumbnailer's state: "
                                  "move it away", errno.ELOOP)
        if os.path.isdir(self._local):  # not ours: never moved, never deleted
            raise StateUnwritable(f"{self.path} is a folder, not thumbnailer's state: "
                                  "move it away", errno.EISDIR)
        if not os.path.exists(self._local):
            self._migrate()
            return
        try:
            self._db = self._connect()
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version == SCHEMA_3:
                self._columns = COLUMNS_3  # until _writer adds the column
            damage = trouble.damage(self._db, SCHEMA_3 if version == SCHEMA_3 else SCHEMA_VERSION)
            if damage is None:
                self.legacy = self._db.execute(
                    "SELECT 1 FROM records WHERE folder = 0 LIMIT 1").fetchone() is not None
                self.failing = ledger.any_in(self._db)
                return
        except sqlite3.DatabaseError as e:
            damage = trouble.damaged(e)
            if damage is None:  # busy, unreadable: not damage (guarded explains)
                self._disconnect()
                raise
        self._disconnect()
        if damage and not self.read_only:  # "": empty; --dry-run: nothing is touched
            self.moved_aside = (trouble.move_aside(self.where, self.path, self._local,
                                                   self._scratch is not None), damage)

    def _disconnect(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

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
        self._db.executescript(SCHEMA + ledger.SCHEMA + table.PLACEHOLDERS + table.PAGES
                               + table.PAGE_DIGESTS + table.MANIFESTS + table.MEMOS)
        if self._columns == COLUMNS_3:  # records of 1.1: their files are trusted as then
            self._db.execute("ALTER TABLE records ADD COLUMN made TEXT")
            self._columns = COLUMNS
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        self._writable = True
        return self._db

    def explain(self, e: BaseException) -> StateError:
        return trouble.explain(e, self.path, BUSY_SECONDS)

    def _migrate(self) -> None:
        """Move the records of a 1.x JSON state file into a new database."""
        found = legacy.read(self.where, self.root)
        try:
            rows = [(_b(key), LEGACY, *row_of(Record(*row))) for key, row in found or ()]
        except (TypeError, AttributeError):  # a record of another shape
            return
        if found is None:
            return
        if self.read_only and self._scratch is None:  # migrate into a temporary copy
            self._scratch = tempfile.mkdtemp(prefix="thumbnailer-state-")
            self._local = os.path.join(self._scratch, STATE_NAME)
        db = self._writer()
        db.executemany(f"INSERT OR REPLACE INTO records (key, folder, {COLUMNS}) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
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


# Every State method that touches SQLite or the disk raises StateError only, and
# at once once the state is in trouble (trouble.py); close() tries once more.
for _name in ("folder", "get", "__len__", "put", "drop", "placeholders", "shade",
              "forget_orphan_placeholders", "commit", "save", "failure", "fail", "forgive",
              "failed_sources", "gallery_folders", "keep_gallery_folders", "page_digests",
              "keep_page_digests", "manifest", "keep_manifest", "memo", "keep_memo",
              "_open_existing"):
    setattr(State, _name, guarded(getattr(State, _name)))
