"""--prune's mark and sweep in the state (the package's State takes it in): the keys
a job names go to a temporary table (on disk, not in memory), and the rows not
marked are stale."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator

from ...storage import Identity
from ...storage import path_bytes as _b
from ...storage import path_text as _s
from .records import COLUMNS, identity
from .trouble import StateError, guarded, rows

MARK_BATCH = 2000  # marks written at once


class Sweep:
    """Mark and sweep, over the State's connection."""

    _db: sqlite3.Connection | None
    _writable: bool
    _columns: str
    trouble: StateError | None

    def __init__(self) -> None:
        self._marks: list[tuple[bytes]] = []
        self._marking = False  # the temporary table exists
        self.marking = False  # the job marks every key it names (start_marking)
        self._unmarked = False  # a mark came before there was a database to hold it

    def _flush(self) -> None:
        raise NotImplementedError

    def explain(self, e: BaseException) -> StateError:
        raise NotImplementedError

    def start_marking(self) -> None:
        """Say that every key the job names will be marked (for --prune): a sweep
        without marks would find every row stale."""
        self.marking = True

    @guarded
    def mark(self, keys: Iterable[str]) -> None:
        """Note that the job names these keys (whether or not they are up to date)."""
        if self._db is None:
            self._unmarked = True  # nothing recorded before this run: nothing is stale
            return
        self._marks.extend((_b(k),) for k in keys)
        if len(self._marks) >= MARK_BATCH:
            self._flush_marks()

    @guarded
    def protect(self, folder: str) -> None:
        """Mark every row of a source in ``folder`` or below ("": all), as if the job
        named it: a folder that could not be listed still holds what it held, as
        far as anyone knows, and --prune must not take its thumbnails."""
        if self._db is None:
            return
        self._flush()
        self._flush_marks()
        if not folder:
            self._db.execute("INSERT OR IGNORE INTO temp.seen SELECT key FROM records")
        else:
            top = _b(folder)
            self._db.execute("INSERT OR IGNORE INTO temp.seen SELECT key FROM records "
                             "WHERE folder = ? OR (folder >= ? AND folder < ?)",
                             (top, top + b"/", top + b"0"))  # "0" sorts right after "/"
        if not self._writable:
            self._db.commit()

    @guarded
    def protect_all_but(self, folders: Iterable[tuple[str, bool]]) -> None:
        """Mark every row but those of sources in these folders (each with its
        subfolders, or not): a job that walks only part of itself (--watch's
        batch) can find stale only what it walked."""
        if self._db is None:
            return
        self.protect("")
        for folder, below in folders:
            top = _b(folder)
            if below and not folder:
                self._db.execute("DELETE FROM temp.seen")
            elif below:
                self._db.execute("DELETE FROM temp.seen WHERE key IN (SELECT key FROM records "
                                 "WHERE folder = ? OR (folder >= ? AND folder < ?))",
                                 (top, top + b"/", top + b"0"))
            else:
                self._db.execute("DELETE FROM temp.seen WHERE key IN (SELECT key FROM records "
                                 "WHERE folder = ?)", (top,))
        if not self._writable:
            self._db.commit()

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

    @guarded
    def stale(self) -> Iterator[tuple[str, str, bool, Identity]]:
        """(key, output, whether a marked row names the same output, the identity of
        the file when made) of every row not marked, by key: what --prune forgets,
        and deletes unless shared or no longer the file made."""
        if not self.marking:
            raise RuntimeError("nothing was marked: plan the job with mark=True first")
        self._flush()
        if self._db is None or self._unmarked:
            return iter(())
        self._flush_marks()
        made = "r.made" if self._columns == COLUMNS else "NULL"
        return rows(self, ((_s(key), _s(output), bool(shared), identity(m))
                           for key, output, shared, m in self._db.execute(
            "SELECT r.key, r.output, r.output IN (SELECT k.output FROM records k "
            f"JOIN temp.seen s ON s.key = k.key), {made} FROM records r "
            "WHERE r.key NOT IN (SELECT key FROM temp.seen) ORDER BY r.key")))
