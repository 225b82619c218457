"""The records table of the state: one row per thumbnail made, and the Record
it reads back as; and the placeholders table, one row per source (the
package opens the database; ledger.py is its other table)."""

from __future__ import annotations

import sqlite3
from typing import NamedTuple

from ...storage import ANY, Identity
from ...storage import path_bytes as _b
from ...storage import path_text as _s

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    -- A folder's rows side by side (a folder is read in one range scan, not a
    -- lookup per row); paths are UTF-8 bytes, surrogate-escaped (path_bytes).
    folder NOT NULL,  -- the source's folder, relative to its SOURCE; 0 if migrated
    key BLOB NOT NULL UNIQUE,
    output BLOB NOT NULL,
    source BLOB NOT NULL,
    fingerprint TEXT NOT NULL,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    made TEXT,  -- the file's identity when written, "size mtime_ns inode"; NULL: before 2.2
    PRIMARY KEY (folder, key)
) WITHOUT ROWID;
"""

COLUMNS = "output, source, fingerprint, mtime_ns, size, width, height, made"
#: The same, read from a database of the schema before ``made`` (user_version 3).
COLUMNS_3 = "output, source, fingerprint, mtime_ns, size, width, height, NULL"
#: A row to write: key, folder (or LEGACY), then the Record's fields.
Row = tuple[bytes, "bytes | int", bytes, bytes, str, int, int, int, int, "str | None"]
LEGACY = 0  # the folder of a row migrated from 1.x: not known yet


class Record(NamedTuple):
    """One thumbnail as made (a tuple: a folder's worth are read at a time)."""

    output: str  # relative to the output root, "/"-separated, with extension
    source: str  # absolute path of the source it was made from
    #: Settings.fingerprint(size, fmt) when it was made, with PREVIEW_MARK or
    #: POSTER_MARK appended; "" when a remake did not make it (the row kept, so
    #: that --prune knows the file for ours).
    fingerprint: str
    mtime_ns: int  # the source's modification time then
    size: int  # the source's byte size then
    width: int
    height: int
    #: The thumbnail file's identity when this tool wrote it (made_text); None in a
    #: record from before identities were kept, whose file is trusted as it was.
    made: str | None = None

    @property
    def identity(self) -> Identity:
        """What the file must still be for this tool to replace or delete it."""
        return identity(self.made)


def identity(made: str | None) -> Identity:
    """The identity a ``made`` column holds (ANY for NULL: a record of 1.1)."""
    if made is None:
        return ANY
    size, mtime_ns, ino = (int(x) for x in made.split())
    return Identity(size, mtime_ns, ino)


def made_text(made: tuple[int, int, int]) -> str:
    size, mtime_ns, ino = made
    return f"{size} {mtime_ns} {ino}"


def record_of(row: tuple[bytes, bytes, str, int, int, int, int, str | None]) -> Record:
    """A Record from its columns, as read back."""
    return Record(_s(row[0]), _s(row[1]), *row[2:])


def row_of(record: Record) -> tuple[bytes, bytes, str, int, int, int, int, str | None]:
    """The columns of a Record, to write."""
    return (_b(record.output), _b(record.source), *record[2:])


#: --placeholders: each source's (render/placeholders.py), by its folder as the records
#: are (a folder's are read at once) and its absolute path.
PLACEHOLDERS = """
CREATE TABLE IF NOT EXISTS placeholders (
    folder NOT NULL,
    source BLOB NOT NULL,
    placeholder TEXT NOT NULL,
    PRIMARY KEY (folder, source)
) WITHOUT ROWID;
"""


def placeholders_in(db: sqlite3.Connection, folder: bytes) -> dict[str, str]:
    """The placeholders of one source folder's sources, by absolute path."""
    try:
        rows = db.execute("SELECT source, placeholder FROM placeholders WHERE folder = ?",
                          (folder,)).fetchall()
    except sqlite3.OperationalError:  # a database from before --placeholders: none
        return {}
    return {_s(source): text for source, text in rows}


_ORPHANS = "FROM placeholders WHERE source NOT IN (SELECT source FROM records)"


def has_orphans(db: sqlite3.Connection) -> bool:
    """Whether some placeholders are of sources with no thumbnail recorded."""
    try:
        return db.execute(f"SELECT 1 {_ORPHANS} LIMIT 1").fetchone() is not None
    except sqlite3.OperationalError:  # a database from before --placeholders: none
        return False


def forget_orphans(db: sqlite3.Connection) -> None:
    """Drop those placeholders (--prune)."""
    db.execute(f"DELETE {_ORPHANS}")


#: --gallery: the folders of the output root that hold its pages ("/"-separated,
#: relative to the root, "" for the root itself), so that a later run finds those
#: of a folder left without thumbnails, and deletes them.
PAGES = """
CREATE TABLE IF NOT EXISTS pages (
    folder BLOB PRIMARY KEY
) WITHOUT ROWID;
"""


#: --gallery: each folder's digest of what its pages show (outputs/gallery.py), so
#: that a rerun renders only the folders whose digest changed.
PAGE_DIGESTS = """
CREATE TABLE IF NOT EXISTS page_digests (
    folder BLOB PRIMARY KEY,
    digest BLOB NOT NULL
) WITHOUT ROWID;
"""


#: --manifest: each manifest file a run wrote, with the digest of what it holds
#: (report.manifest_digest) and the file's size and mtime as written: a rerun that
#: would write the same leaves it as it is.
MANIFESTS = """
CREATE TABLE IF NOT EXISTS manifests (
    path BLOB PRIMARY KEY,
    digest BLOB NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL
) WITHOUT ROWID;
"""


#: Each source folder whose thumbnails were all up to date or made, with the
#: digest of what decided it (plan/memo.py: the settings, the folder's listing)
#: and what its thumbnails are: a rerun whose listing gives the same digest takes
#: the folder whole, without a record or a stat per thumbnail. The triggers let
#: go of a folder's memo whenever one of its records changes, whatever writes
#: it (a run of another version, the sqlite3 shell), so a memo never outlives
#: the records it was made from.
MEMOS = """
-- A rowid table: a body (about 1 kB for 100 photos) stays on its page beside
-- others; a WITHOUT ROWID row that size spills into an overflow page of its own
-- (5 MB for 1,000 folders instead of about 1).
CREATE TABLE IF NOT EXISTS memos (
    folder BLOB PRIMARY KEY,
    digest BLOB NOT NULL,
    body BLOB NOT NULL
);
CREATE TRIGGER IF NOT EXISTS memo_insert BEFORE INSERT ON records BEGIN
    DELETE FROM memos WHERE folder = NEW.folder;
    DELETE FROM memos WHERE folder = (SELECT folder FROM records WHERE key = NEW.key);
END;
CREATE TRIGGER IF NOT EXISTS memo_update BEFORE UPDATE ON records BEGIN
    DELETE FROM memos WHERE folder = OLD.folder;
    DELETE FROM memos WHERE folder = NEW.folder;
END;
CREATE TRIGGER IF NOT EXISTS memo_delete BEFORE DELETE ON records BEGIN
    DELETE FROM memos WHERE folder = OLD.folder;
END;
"""


def memo_in(db: sqlite3.Connection, folder: bytes) -> tuple[bytes, bytes] | None:
    """A folder's (digest, body) as last kept, if any."""
    try:
        row = db.execute("SELECT digest, body FROM memos WHERE folder = ?",
                         (folder,)).fetchone()
    except sqlite3.OperationalError:  # a database from before the table: none known
        return None
    return None if row is None else (bytes(row[0]), bytes(row[1]))


def manifest_in(db: sqlite3.Connection, path: bytes) -> tuple[bytes, int, int] | None:
    """A manifest's (digest, size, mtime_ns) as last written, if known."""
    try:
        row = db.execute("SELECT digest, size, mtime_ns FROM manifests WHERE path = ?",
                         (path,)).fetchone()
    except sqlite3.OperationalError:  # a database from before the table: none known
        return None
    return None if row is None else (bytes(row[0]), int(row[1]), int(row[2]))


def page_digests(db: sqlite3.Connection) -> dict[str, bytes]:
    """Each folder's page digest."""
    try:
        return {_s(folder): bytes(digest)
                for folder, digest in db.execute("SELECT folder, digest FROM page_digests")}
    except sqlite3.OperationalError:  # a database from before the table: none known
        return {}


def pages_in(db: sqlite3.Connection) -> set[str]:
    """The folders holding gallery pages."""
    try:
        return {_s(folder) for folder, in db.execute("SELECT folder FROM pages")}
    except sqlite3.OperationalError:  # a database from before the table: none known
        return set()
