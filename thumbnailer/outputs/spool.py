"""Every entry of a run, on disk, for the outputs written after it.

The manifest lists every thumbnail in a stable order and the gallery groups them
by folder; at a million photos neither can be built in memory. Entries are
appended here as the run goes, to a temporary SQLite database (no journal, no
fsync: it is scratch, gone with the run), and read back sorted, a row at a time;
SQLite sorts on disk past its cache.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
import tempfile
import weakref
from collections.abc import Iterable, Iterator, Sequence

from ..spec import Entry, Status
from ..storage import path_bytes as _b
from ..storage import path_text as _s

_FIELDS = ("source, size, status, output, format, width, height, bytes, error, since, preview, "
           "placeholder")


class Spool:
    """Entries of one run: appended in any order, read back in the manifest's."""

    def __init__(self, size_order: Sequence[str] = ()) -> None:
        #: A size's place in the job's own order (--size 1024 -s 256: 1024 first).
        self.rank = {label: i for i, label in enumerate(size_order)}
        folder = tempfile.mkdtemp(prefix="thumbnailer-entries-")
        # Closed by whichever thread lets go of it last (the finalizer).
        self._db = sqlite3.connect(os.path.join(folder, "entries.sqlite"),
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        # place: the folder of the output (a path or URL), what the gallery groups by;
        # home: the folder of the source, what puts a failure on its folder's page
        self._db.execute("CREATE TABLE entries (seq INTEGER PRIMARY KEY, rank INTEGER, "
                         f"place BLOB, home BLOB, {_FIELDS})")
        self._count = 0
        self._finalizer = weakref.finalize(self, _remove, self._db, folder)

    def add(self, entries: Iterable[Entry]) -> None:
        """Append entries (any number: read and written a batch at a time)."""
        it = iter(entries)
        while batch := list(itertools.islice(it, 10_000)):
            self._add(batch)

    def _add(self, entries: list[Entry]) -> None:
        rows = [(self.rank.get(e.size, len(self.rank)),
                 None if e.output is None else _b(_folder(e.output)), _b(_folder(e.source)),
                 _b(e.source), e.size, e.status.value,
                 None if e.output is None else _b(e.output), e.format, e.width, e.height,
                 e.bytes, None if e.error is None else _b(e.error), e.since, e.preview,
                 e.placeholder)
                for e in entries]
        self._db.executemany(f"INSERT INTO entries (rank, place, home, {_FIELDS}) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        self._count += len(rows)

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Entry]:
        """In the order they came."""
        return self._read("ORDER BY seq")

    def ordered(self) -> Iterator[Entry]:
        """By source, then size in the job's order, then format: equal runs read equal."""
        return self._read("ORDER BY source, rank, size, coalesce(format, '')")

    def by_place(self) -> Iterator[Entry]:
        """The thumbnails there are (made now or up to date), by the folder they
        are in, then as ordered()."""
        return self._read("WHERE place IS NOT NULL AND status != 'failed' "
                          "ORDER BY place, source, rank, size, coalesce(format, '')")

    def places(self) -> list[tuple[str, int]]:
        """Each folder holding thumbnails, with how many sources have some there."""
        self._db.commit()
        return [(_s(place), count) for place, count in self._db.execute(
            "SELECT place, count(DISTINCT source) FROM entries WHERE place IS NOT NULL "
            "AND status != 'failed' GROUP BY place ORDER BY place")]

    def failures(self, limit: int) -> tuple[int, list[tuple[str, str]]]:
        """How many sources failed, and the first ``limit`` of them with a reason."""
        self._db.commit()
        total = self._db.execute("SELECT count(DISTINCT source) FROM entries "
                                 "WHERE status = 'failed'").fetchone()[0]
        first = [(_s(source), _s(error or b"failed")) for source, error in self._db.execute(
            "SELECT source, min(coalesce(error, '')) FROM entries WHERE status = 'failed' "
            "GROUP BY source ORDER BY source LIMIT ?", (limit,))]
        return int(total), first

    def failed_sources(self) -> Iterator[tuple[str, str]]:
        """Each failed source once, with the reason of its first failed entry, in the
        order they failed (SQLite gives a bare column the row of its min())."""
        self._db.commit()
        for source, error, _ in self._db.cursor().execute(
                "SELECT source, error, min(seq) FROM entries WHERE status = 'failed' "
                "GROUP BY source ORDER BY min(seq)"):
            yield _s(source), _s(error or b"failed")

    def failures_by_place(self, limit: int) -> Iterator[tuple[str, int, list[tuple[str, str]]]]:
        """For each folder holding thumbnails beside which sources failed (in places()
        order): how many failed, and the first ``limit`` of them with a reason. A
        failed source is beside the thumbnails of the other sources of its own
        folder (it has no output to place it by)."""
        self._db.commit()
        rows = self._db.cursor().execute(
            "WITH failed AS (SELECT home, source, min(coalesce(error, '')) AS error "
            "FROM entries WHERE status = 'failed' GROUP BY source) "
            "SELECT made.place, failed.source, failed.error FROM failed JOIN "
            "(SELECT DISTINCT home, place FROM entries WHERE place IS NOT NULL "
            "AND status != 'failed' AND home IN (SELECT home FROM failed)) AS made "
            "ON made.home = failed.home ORDER BY made.place, failed.source")
        for place, group in itertools.groupby(rows, key=lambda row: row[0]):
            total, first = 0, list[tuple[str, str]]()
            for _, source, error in group:
                total += 1
                if len(first) < limit:
                    first.append((_s(source), _s(error or b"failed")))
            yield _s(place), total, first

    def _read(self, order: str) -> Iterator[Entry]:
        self._db.commit()
        # A cursor of its own: reading while another read is under way is fine.
        for row in self._db.cursor().execute(f"SELECT {_FIELDS} FROM entries {order}"):
            yield Entry(_s(row[0]), row[1], Status(row[2]),
                        None if row[3] is None else _s(row[3]), row[4], row[5], row[6],
                        row[7], None if row[8] is None else _s(row[8]), row[9], bool(row[10]),
                        row[11])

    def close(self) -> None:
        self._finalizer()


def _folder(path: str) -> str:
    """The folder of a local path or a URL."""
    return path.rpartition("/")[0] if "/" in path else os.path.dirname(path)


def _remove(db: sqlite3.Connection, folder: str) -> None:
    db.close()
    shutil.rmtree(folder, ignore_errors=True)
