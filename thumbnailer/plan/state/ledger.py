"""The failure ledger: a broken source is not decoded again every night.

A row per source that failed for a reason of its own (bad data, a format not
allowed, over a limit, too slow, a decoder that crashed), in the state database
beside the records. Planning passes over a source whose row still holds, and
reports it as a known failure; it is tried again when it may now pass:

- its size or modification time changed (the file was replaced or repaired);
- the *judge* changed: thumbnailer's, Pillow's or a codec's version, or an
  option that decides whether an image passes (limits, --timeout, --fail-on,
  --allow-format);
- --retry-failed, or --force, asks.

Failures that may pass on their own (permission denied, a file that vanished,
out of memory) and failures to write are never put here.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from ...spec import RENDER_VERSION, Settings

#: Made with the records' schema; a database of 2.0 without it has no failures.
SCHEMA = """
CREATE TABLE IF NOT EXISTS failures (
    source BLOB PRIMARY KEY,  -- the absolute path, UTF-8 bytes (storage.path_bytes)
    size INTEGER NOT NULL,  -- the file as it failed
    mtime_ns INTEGER NOT NULL,
    reason TEXT NOT NULL,
    since REAL NOT NULL,  -- when this file, as it is, first failed (Unix time)
    judge TEXT NOT NULL  -- judge(): what decided it
) WITHOUT ROWID;
"""


class Failure(NamedTuple):
    size: int
    mtime_ns: int
    reason: str
    since: float
    judge: str

    def holds(self, size: int, mtime_ns: int, judge: str) -> bool:
        """Whether trying the file again would only fail again: the same file,
        judged the same way."""
        return (self.size, self.mtime_ns, self.judge) == (size, mtime_ns, judge)

    def same_file(self, size: int, mtime_ns: int) -> bool:
        return (self.size, self.mtime_ns) == (size, mtime_ns)

    @property
    def since_text(self) -> str:
        return since_text(self.since)


def since_text(since: float) -> str:
    """A time as the manifest gives it: ISO 8601, UTC, to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since))


def judge(settings: Settings, versions: Sequence[str]) -> str:
    """What decides whether a source fails: the code (``versions``: thumbnailer's,
    Pillow's, its codecs') and the options that refuse or fail an image."""
    parts = [*versions, f"render {RENDER_VERSION}", f"pixels {settings.max_pixels}",
             f"bytes {settings.max_file_size}", f"timeout {settings.timeout}",
             f"fail-on {settings.fail_on.value}",
             f"decoders {sorted(settings.decoders or ('all',))}",
             f"frames {settings.animated and settings.max_frames}"]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def any_in(db: sqlite3.Connection) -> bool:
    """Whether the database holds a failure (one written before the ledger has no table)."""
    try:
        return db.execute("SELECT 1 FROM failures LIMIT 1").fetchone() is not None
    except sqlite3.OperationalError:
        return False


def get(db: sqlite3.Connection, source: bytes) -> Failure | None:
    row = db.execute("SELECT size, mtime_ns, reason, since, judge FROM failures "
                     "WHERE source = ?", (source,)).fetchone()
    return None if row is None else Failure._make(row)


def put(db: sqlite3.Connection, source: bytes, failure: Failure) -> None:
    db.execute("INSERT OR REPLACE INTO failures (source, size, mtime_ns, reason, since, judge)"
               " VALUES (?, ?, ?, ?, ?, ?)", (source, *failure))


def drop(db: sqlite3.Connection, source: bytes) -> None:
    db.execute("DELETE FROM failures WHERE source = ?", (source,))


def sources(db: sqlite3.Connection) -> Iterator[bytes]:
    """Every source in the ledger (few: broken files), read whole first so the
    caller may drop rows as it goes."""
    return iter([row[0] for row in db.execute("SELECT source FROM failures")])
