"""Every entry of a run, on disk, for the outputs written after it.

The manifest lists every thumbnail in a stable order and the gallery groups them
by folder; at a million photos neither can be built in memory. Entries are
appended here as the run goes, to a temporary SQLite database (no journal, no
fsync: it is scratch, gone with the run), and read back sorted, a row at a time;
SQLite sorts on disk past its cache.

A rerun tells its up-to-date thumbnails one at a time: they are buffered and
inserted a batch at a time (an insert per entry cost 15 us). A folder the plan
took whole from its memo (plan/memo.py) comes as one row, the memo's body and
the outputs' sizes, and its entries are made only if something reads them (a
manifest that changed; a gallery page to render, which makes only the folders
with thumbnails on it): an unchanged rerun with --manifest and --gallery makes
none. The spool also keeps, per folder of thumbnails, a digest of its entries
(order-independent, status aside) and whether any was made now: the gallery
renders only the pages of folders whose digest changed (outputs/gallery.py). A
whole folder adds what its entries would, from its memo's sums.
"""

from __future__ import annotations

import array
import hashlib
import itertools
import json
import os
import shutil
import sqlite3
import tempfile
import weakref
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Any

from ..plan.memo import MASK, Whole, decode, entries_of, entry_hash
from ..spec import Entry, Status
from ..storage import LOCAL
from ..storage import path_bytes as _b
from ..storage import path_text as _s

_FIELDS = ("source, size, status, output, format, width, height, bytes, error, since, preview, "
           "placeholder")


class Spool:
    """Entries of one run: appended in any order, read back in the manifest's."""

    def __init__(self, size_order: Sequence[str] = (), *, digests: bool = True,
                 stream: bool = True) -> None:
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
        # Folders taken whole (add_whole), their entries not made yet: the first
        # entry's seq, the sources' folder, the memo's body, the outputs' sizes.
        self._db.execute("CREATE TABLE wholes (seq INTEGER PRIMARY KEY, prefix TEXT, "
                         "body BLOB, sizes BLOB, places TEXT)")
        self._wholes = False  # wholes holds rows
        #: For wholes: the output root and the job's labels (each target's size),
        #: and how many sources each place holds (what places() adds to its query).
        self._root, self._labels = "", list[str]()
        self._whole_places: dict[bytes, int] = {}
        self._count = 0
        self._pending: list[Entry] = []
        #: place -> [sum of its rows' hashes mod 2**128, rows]; and the places with
        #: a thumbnail made now (a changed source: its card's source size may differ).
        self._sums: dict[bytes, list[int]] = {}
        self._made: set[bytes] = set()
        self._digests = digests  # only the gallery asks for them
        #: Every row in the order they came: equal for an equal run (the manifest's
        #: "unchanged": run_job leaves the file as it is).
        self._stream = hashlib.blake2b(digest_size=16) if stream else None
        self._finalizer = weakref.finalize(self, _remove, self._db, folder)

    def add(self, entries: Iterable[Entry]) -> None:
        """Append entries (any number: read and written a batch at a time)."""
        self._flush()
        it = iter(entries)
        while batch := list(itertools.islice(it, _BATCH)):
            self._add(batch)

    def add_one(self, entry: Entry) -> None:
        """Append one entry (the rerun's hot path): buffered, inserted in batches."""
        self._pending.append(entry)
        if len(self._pending) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            self._add(batch)

    def add_whole(self, whole: Whole) -> None:
        """A folder taken whole: kept as one row; its entries are made if read."""
        self._flush()
        sizes = whole.sizes()
        self._root, self._labels = whole.root, whole.labels
        places = self._whole_digests(whole, sizes) if self._digests else None
        self._db.execute("INSERT INTO wholes VALUES (?, ?, ?, ?, ?)",
                         (self._count, whole.prefix, whole.body,
                          array.array("q", sizes).tobytes(),
                          None if places is None else json.dumps(
                              [[_s(place), n] for place, n in places.items()])))
        self._wholes = True
        self._count += len(sizes)
        if self._stream is not None:
            self._stream.update(repr((whole.prefix, whole.root, whole.labels, sizes)).encode(
                "utf-8", "surrogateescape") + whole.body)
        for place, n in (places or {}).items():
            self._whole_places[place] = self._whole_places.get(place, 0) + n

    def _whole_digests(self, whole: Whole, sizes: list[int]) -> dict[bytes, int]:
        """Add a whole folder's entries to the places' digests (the same sums _add
        takes entry by entry: the same entries give the same pages' digests however
        their folder came); how many of its sources each place holds."""
        seen: dict[bytes, int] = {}
        for where, (h, n, m) in whole.place_sums(sizes).items():
            place = _b(_folder(LOCAL.join(whole.root, where + "/x" if where else "x")))
            acc = self._sums.setdefault(place, [0, 0])
            acc[0] = (acc[0] + h) & MASK
            acc[1] += n
            seen[place] = seen.get(place, 0) + m
        return seen

    def _materialize(self, only: Collection[bytes] | None = None) -> None:
        """Make the entries of the folders taken whole, in their places in seq:
        all, or those with thumbnails in the places ``only`` (a gallery's pages
        to render: one changed folder of a million photos makes its own)."""
        self._flush()
        if not self._wholes:
            return
        left = 0
        for seq, prefix, body, sizes, places in self._db.execute(
                "SELECT seq, prefix, body, sizes, places FROM wholes ORDER BY seq").fetchall():
            held = [] if places is None else [(_b(p), n) for p, n in json.loads(places)]
            if only is not None and places is not None and not any(p in only for p, _ in held):
                left += 1
                continue
            entries = list(entries_of(prefix, self._root, self._labels, decode(body).items,
                                      array.array("q", sizes).tolist()))
            self._insert(self._rows(entries, seq))
            self._db.execute("DELETE FROM wholes WHERE seq = ?", (seq,))
            for place, n in held:  # now counted by places()' query
                self._whole_places[place] -= n
                if not self._whole_places[place]:
                    del self._whole_places[place]
        self._wholes = left > 0

    def _rows(self, entries: list[Entry], seq: int) -> list[tuple[Any, ...]]:
        return [(seq + n, self.rank.get(e.size, len(self.rank)),
                 None if e.output is None else _b(_folder(e.output)), _b(_folder(e.source)),
                 _b(e.source), e.size, e.status.value,
                 None if e.output is None else _b(e.output), e.format, e.width, e.height,
                 e.bytes, None if e.error is None else _b(e.error), e.since, e.preview,
                 e.placeholder)
                for n, e in enumerate(entries)]

    def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        self._db.executemany(f"INSERT INTO entries (seq, rank, place, home, {_FIELDS}) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def _add(self, entries: list[Entry]) -> None:
        full = self._rows(entries, self._count)
        rows = [row[1:] for row in full]  # what the digests have always been taken over
        if self._stream is not None:
            self._stream.update(repr(rows).encode("utf-8", "surrogateescape"))
        sums, made = self._sums, self._made
        for row in rows if self._digests else ():
            place = row[1]
            if place is None or row[5] == "failed":
                continue
            # rank, source, size, output ... placeholder: what a card shows, not the status
            h = entry_hash((row[0], row[3], row[4], *row[6:]))
            acc = sums.get(place)
            if acc is None:
                sums[place] = [h, 1]
            else:
                acc[0] = (acc[0] + h) & MASK
                acc[1] += 1
            if row[5] == "created":
                made.add(place)
        self._insert(full)
        self._count += len(rows)

    def __len__(self) -> int:
        return self._count + len(self._pending)

    def digest(self) -> bytes | None:
        """A digest of every entry in the order they came (None if not kept)."""
        self._flush()
        if self._stream is None:
            return None
        return self._stream.digest() + self._count.to_bytes(8, "little")

    def place_digests(self) -> dict[str, tuple[bytes, bool]]:
        """Each folder holding thumbnails: a digest of its entries (the same for the
        same entries in any order, whatever their status) and whether one of its
        thumbnails was made now."""
        self._flush()
        return {_s(place): (acc[0].to_bytes(16, "little") + acc[1].to_bytes(8, "little"),
                            place in self._made)
                for place, acc in self._sums.items()}

    def __iter__(self) -> Iterator[Entry]:
        """In the order they came."""
        return self._read("ORDER BY seq")

    def ordered(self) -> Iterator[Entry]:
        """By source, then size in the job's order, then format: equal runs read equal."""
        return self._read("ORDER BY source, rank, size, coalesce(format, '')")

    def ordered_rows(self) -> Iterator[list[tuple[Any, ...]]]:
        """As ordered(), in batches of plain tuples (the fields of Entry, status as
        its text, paths as str): what the manifest's writer formats directly."""
        self._materialize()
        self._db.commit()
        cursor = self._db.cursor().execute(
            f"SELECT {_FIELDS} FROM entries ORDER BY source, rank, size, coalesce(format, '')")
        s = _s
        while rows := cursor.fetchmany(_BATCH):
            yield [(s(r[0]), r[1], r[2], None if r[3] is None else s(r[3]), r[4], r[5], r[6],
                    r[7], None if r[8] is None else s(r[8]), r[9], r[10], r[11]) for r in rows]

    def by_place(self, only: Collection[str] | None = None) -> Iterator[Entry]:
        """The thumbnails there are (made now or up to date), by the folder they
        are in, then as ordered(); only those in the folders ``only`` if given."""
        where = "place IS NOT NULL"
        if only is None or only:
            self._materialize(None if only is None else {_b(place) for place in only})
        if only is not None:
            self._flush()
            self._db.execute("CREATE TEMP TABLE IF NOT EXISTS chosen (place BLOB PRIMARY KEY)")
            self._db.execute("DELETE FROM chosen")
            self._db.executemany("INSERT OR IGNORE INTO chosen VALUES (?)",
                                 ((_b(place),) for place in only))
            where = "place IN (SELECT place FROM chosen)"
        return self._read(f"WHERE {where} AND status != 'failed' "
                          "ORDER BY place, source, rank, size, coalesce(format, '')",
                          whole=False)

    def places(self) -> list[tuple[str, int]]:
        """Each folder holding thumbnails, with how many sources have some there."""
        self._flush()
        self._db.commit()
        counts = dict(self._whole_places)  # a source is in a whole or in entries, not both
        for place, count in self._db.execute(
                "SELECT place, count(DISTINCT source) FROM entries WHERE place IS NOT NULL "
                "AND status != 'failed' GROUP BY place"):
            counts[place] = counts.get(place, 0) + count
        return [(_s(place), counts[place]) for place in sorted(counts)]

    def failures(self, limit: int) -> tuple[int, list[tuple[str, str]]]:
        """How many sources failed, and the first ``limit`` of them with a reason."""
        self._flush()
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
        self._flush()
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
        self._flush()
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

    def _read(self, order: str, whole: bool = True) -> Iterator[Entry]:
        """Entries as ``order`` says; ``whole``: the folders taken whole made first
        (by_place makes those it needs itself)."""
        if whole:
            self._materialize()
        self._flush()
        self._db.commit()
        # A cursor of its own: reading while another read is under way is fine.
        for row in self._db.cursor().execute(f"SELECT {_FIELDS} FROM entries {order}"):
            yield Entry(_s(row[0]), row[1], Status(row[2]),
                        None if row[3] is None else _s(row[3]), row[4], row[5], row[6],
                        row[7], None if row[8] is None else _s(row[8]), row[9], bool(row[10]),
                        row[11])

    def close(self) -> None:
        self._finalizer()


_BATCH = 10_000


def _folder(path: str) -> str:
    """The folder of a local path or a URL."""
    return path.rpartition("/")[0] if "/" in path else os.path.dirname(path)


def _remove(db: sqlite3.Connection, folder: str) -> None:
    db.close()
    shutil.rmtree(folder, ignore_errors=True)
