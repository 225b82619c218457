"""A folder taken whole: the unchanged rerun's fast path.

An unchanged rerun used to establish, thumbnail by thumbnail, what decides that
one is up to date (plan.up_to_date: its record names this source, its size,
mtime and fingerprint; its file is there): about 15 us of Python each on top of
the walk. For a folder that is what it was, the answer is the same for all of
its thumbnails at once. So when every thumbnail of a source folder is up to
date, or was just made, the state keeps the folder's *memo*: a digest of what
decided it (the job's fingerprints and names, each source's absolute path, size
and mtime) and what its thumbnails are (their keys, outputs and sizes). A rerun
whose listing of that folder gives the same digest checks that each output is
still a regular file, from one listing per output folder, and takes the folder
whole: no record read, no name decided, and no stat per thumbnail unless its
entries are wanted (a manifest lists each thumbnail's size).

Why it is safe: the digest covers everything plan.up_to_date compares, and the
state's triggers (state/records.py) let go of a folder's memo whenever one of
its records changes, by whatever writes it. A folder whose names were not
plain (a rename over a collision, a name another spelling of the folder took
first), with a file of several hard links, a failure or a known failure, never
gets a memo; the jobs this is for are those of one local SOURCE folder, without
--force, --adopt, --placeholders or --shard (eligible()); the others plan as
before.
"""

from __future__ import annotations

import array
import hashlib
import json
import os
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple

from .. import storage
from ..formats import from_extension
from ..spec import Entry, Settings, Status
from ..storage import path_bytes
from .names import Taken
from .sources import Source

if TYPE_CHECKING:
    from .state import State

#: Part of every digest: a memo of another version of this module is never
#: taken. Change it with the body's format (encode).
VERSION = b"memo 2"


def entry_hash(row: tuple[object, ...]) -> int:
    """The hash the spool sums per folder of thumbnails for the gallery's page
    digests (outputs/spool.py), of what a card shows: (rank, source, size,
    output, format, width, height, bytes, error, since, preview, placeholder),
    paths as path_bytes. Here so that a memo can keep its folder's sums."""
    return int.from_bytes(hashlib.blake2b(repr(row).encode("utf-8", "surrogateescape"),
                                          digest_size=16).digest(), "little")


#: The sums entry_hash adds up to: modulo 2**128.
MASK = 2**128 - 1


class Body(NamedTuple):
    """A memo's body: its items, and what the spool needs to keep them unmade:
    the outputs' sizes then, the spellings of the sources' folder and the output
    root then, and per output folder (relative) the sum of its items'
    entry_hash, how many items and how many sources."""

    items: list[Item]
    sizes: list[int]
    prefix: str
    root: str
    places: dict[str, tuple[int, int, int]]


class Item(NamedTuple):
    """One thumbnail of a memo, as up_to_date would tell it."""

    name: str  # its source's file name
    target: int  # its place in the job's (size, format) order
    key: str
    output: str  # relative to the output root
    format: str | None
    width: int
    height: int
    preview: bool


def format_of(output: str) -> str:
    """An output's format as entries name it: the table's, else its extension."""
    ext = output.rpartition(".")[2].lower()
    fmt = from_extension(ext)
    return fmt.value if fmt is not None else ext


def eligible(arguments: Sequence[str], settings: Settings, state: State, adopt: bool) -> bool:
    """Whether a job can take folders whole: one local SOURCE folder (its names
    are its own: Taken is bounded) into a local output, nothing forced, adopted,
    shaded or sharded, and no record left from 1.x without its folder."""
    return (len(arguments) == 1 and storage.store(arguments[0]) is storage.LOCAL
            and storage.store(settings.output) is storage.LOCAL
            and storage.LOCAL.is_dir(arguments[0]) and not settings.force and not adopt
            and not settings.placeholders and settings.shard is None and not state.legacy)


class Memos:
    """A job's memos: taken (take) where a folder is as it was, and drafted
    (Draft) where it is planned thumbnail by thumbnail."""

    def __init__(self, settings: Settings, state: State, marks: Sequence[str],
                 labels: Sequence[str], ranks: Sequence[int], rules: dict[str, str],
                 read_only: bool, waiting: dict[str, Draft]) -> None:
        self.state, self.read_only = state, read_only
        self.root = settings.output
        self.labels = list(labels)
        self.ranks = list(ranks)  # each target's size's place in the job's order
        self.job = hashlib.blake2b(json.dumps(
            [VERSION.decode(), settings.name_template, list(marks), self.labels,
             sorted(rules.items())]).encode()).digest()
        lister = storage.LOCAL.lister(self.root)
        assert lister is not None
        self.files = lister
        #: Drafts waiting for their tasks' outcomes, by source path (the plan's).
        self.waiting = waiting

    def digest(self, sources: Sequence[Source]) -> bytes | None:
        """What decides a folder's thumbnails, from its listing; None if a file
        has other hard links (their thumbnails are linked across folders)."""
        # Local sources only (eligible): a stat_result, never a store's ObjectStat.
        stats = [s.stat for s in sources]
        if max([st.st_nlink for st in stats]) > 1:  # type: ignore[union-attr]
            return None
        h = hashlib.blake2b(self.job)
        h.update("\0".join([s.absolute for s in sources]).encode("utf-8", "surrogateescape"))
        h.update(array.array("q", [st.st_size for st in stats]).tobytes())
        h.update(array.array("q", [st.st_mtime_ns for st in stats]).tobytes())
        return h.digest()

    def take(self, folder: str, sources: Sequence[Source], taken: Taken) -> Whole | None:
        """The folder, whole, if its memo holds; else None."""
        if taken.of(folder):  # names another spelling of the folder took first
            return None
        kept = self.state.memo(folder)
        if kept is None or kept[0] != self.digest(sources):
            return None
        try:
            body = decode(kept[1])
        except (ValueError, TypeError, KeyError, zlib.error):  # not a body of ours: no memo
            return None
        items = body.items
        listings: dict[str, dict[str, os.DirEntry[str]]] = {}
        for item in items:
            where, _, name = item.output.rpartition("/")
            files = listings.get(where)
            if files is None:
                files = listings[where] = self.files(where)
            if name not in files:
                return None
        taken.let_go(folder)
        return Whole(prefix_of(sources), self.root, self.labels, self.ranks, body,
                     len(sources), kept[1], listings)

    def draft(self, folder: str, sources: Sequence[Source], taken: Taken) -> Draft | None:
        """A draft of the folder's memo, for the folder about to be planned one
        thumbnail at a time; None where its names are not its own."""
        if taken.of(folder):
            return None
        return Draft(self, folder, sources)


class Whole:
    """A folder taken whole: its up-to-date thumbnails, not yet made entries (a
    caller that keeps them may keep the memo's body instead, and make them only
    if it is asked for them: outputs/spool.py)."""

    def __init__(self, prefix: str, root: str, labels: list[str], ranks: list[int],
                 kept: Body, sources: int, body: bytes,
                 listings: dict[str, dict[str, os.DirEntry[str]]]) -> None:
        #: The sources' folder as the walk spells their paths (a path less its name).
        self.prefix = prefix
        self.root, self.labels, self.ranks, self.sources = root, labels, ranks, sources
        self.items, self.kept = kept.items, kept
        self.body = body  # kept, encoded
        self._listings = listings

    def sizes(self) -> list[int]:
        """Each item's output size in bytes, as a stat gives it now."""
        listings = self._listings
        sizes = []
        for item in self.items:
            where, _, name = item.output.rpartition("/")
            sizes.append(listings[where][name].stat(follow_symlinks=False).st_size)
        return sizes

    def entries(self) -> Iterator[Entry]:
        """The entries, as up_to_date gives them."""
        return entries_of(self.prefix, self.root, self.labels, self.items, self.sizes())

    def place_sums(self, sizes: Sequence[int]) -> dict[str, tuple[int, int, int]]:
        """The gallery's sums per output folder (Body.places), for its outputs of
        ``sizes``: the memo's own when they are as it was made."""
        kept = self.kept
        if (kept.sizes, kept.prefix, kept.root) == (list(sizes), self.prefix, self.root):
            return kept.places
        return place_sums(self.items, sizes, self.prefix, self.root, self.labels, self.ranks)


def place_sums(items: Sequence[Item], sizes: Sequence[int], prefix: str, root: str,
               labels: Sequence[str], ranks: Sequence[int]) -> dict[str, tuple[int, int, int]]:
    """Per output folder (relative): the sum of its items' entry_hash, as the
    spool takes it of each entry, how many items and how many sources."""
    join = storage.LOCAL.join
    places: dict[str, list[int]] = {}
    last = None
    for item, size in zip(items, sizes, strict=True):
        where = item.output.rpartition("/")[0]
        h = entry_hash((ranks[item.target], path_bytes(prefix + item.name),
                        labels[item.target], path_bytes(join(root, item.output)),
                        item.format, item.width, item.height, size, None, None,
                        item.preview, None))
        acc = places.setdefault(where, [0, 0, 0])
        acc[0] = (acc[0] + h) & MASK
        acc[1] += 1
        if (where, item.name) != last:  # a source's items come together
            last = (where, item.name)
            acc[2] += 1
    return {where: (a[0], a[1], a[2]) for where, a in places.items()}


def prefix_of(sources: Sequence[Source]) -> str:
    """The folder of sources as the walk spells their paths (one's path less its name)."""
    first = sources[0]
    return first.path[:len(first.path) - len(first.rel.rpartition("/")[2])]


def entries_of(prefix: str, root: str, labels: Sequence[str], items: Sequence[Item],
               sizes: Sequence[int]) -> Iterator[Entry]:
    """A taken folder's entries, from what Whole keeps of it."""
    join = storage.LOCAL.join
    for item, size in zip(items, sizes, strict=True):
        yield Entry(prefix + item.name, labels[item.target], Status.SKIPPED,
                    join(root, item.output), item.format, item.width, item.height, size,
                    preview=item.preview)


class Draft:
    """A folder's memo while it is planned: what was up to date, and the tasks
    whose outcomes are still to come; kept when the last comes made, dropped at
    the first thing that is not."""

    def __init__(self, memos: Memos, folder: str, sources: Sequence[Source]) -> None:
        self.memos, self.folder, self.sources = memos, folder, sources
        self.items: list[tuple[int, Item, int]] = []  # (source's place, item, its bytes)
        self.spoiled = False
        self.outstanding = 0
        self.walked = False
        #: source path -> (its place, its signature at the walk, (target, key) each)
        self._tasks: dict[str, tuple[int, tuple[int, int], list[tuple[int, str]]]] = {}

    def spoil(self) -> None:
        self.spoiled = True

    def done(self, place: int, item: Item, size: int) -> None:
        self.items.append((place, item, size))

    def wait(self, source: Source, place: int, targets: list[tuple[int, str]]) -> None:
        """A task of the folder's is out; its outcome comes to made()."""
        self.outstanding += 1
        st = source.stat
        self._tasks[source.path] = (place, (st.st_mtime_ns, st.st_size), targets)
        self.memos.waiting[source.path] = self

    def made(self, source: str, signature: tuple[int, int] | None,
             made: Sequence[tuple[str, Entry] | None]) -> None:
        """A task's outcome: per target, (output, entry) if made, else None."""
        place, walked, targets = self._tasks.pop(source)
        self.outstanding -= 1
        if signature != walked or any(m is None for m in made):
            self.spoiled = True
        elif not self.spoiled:
            name = self.sources[place].rel.rpartition("/")[2]
            for (target, key), found in zip(targets, made, strict=True):
                assert found is not None
                output, entry = found
                self.items.append((place, Item(
                    name, target, key, output, format_of(output), entry.width or 0,
                    entry.height or 0, entry.preview), entry.bytes or 0))
        self.finish()

    def end_walk(self) -> None:
        self.walked = True
        self.finish()

    def finish(self) -> None:
        """Keep the memo once the folder is walked and its last outcome came."""
        if not self.walked or self.outstanding or self.spoiled or self.memos.read_only:
            return
        digest = self.memos.digest(self.sources)
        if digest is None:
            return
        state = self.memos.state
        kept = state.memo(self.folder)
        if kept is not None and kept[0] == digest:
            return  # an unchanged rerun writes nothing
        done = sorted(self.items, key=lambda p: (p[0], p[1].target))
        items, sizes = [item for _, item, _ in done], [size for *_, size in done]
        prefix, memos = prefix_of(self.sources), self.memos
        state.keep_memo(self.folder, digest, encode(Body(
            items, sizes, prefix, memos.root,
            place_sums(items, sizes, prefix, memos.root, memos.labels, memos.ranks))))


def encode(body: Body) -> bytes:
    return zlib.compress(json.dumps({
        "items": [list(item) for item in body.items], "sizes": body.sizes,
        "prefix": body.prefix, "root": body.root,
        "places": {where: [f"{h:x}", n, m] for where, (h, n, m) in body.places.items()},
    }, separators=(",", ":")).encode(), 1)


def decode(body: bytes) -> Body:
    kept = json.loads(zlib.decompress(body))
    return Body([Item(*fields) for fields in kept["items"]], kept["sizes"], kept["prefix"],
                kept["root"], {where: (int(h, 16), n, m)
                               for where, (h, n, m) in kept["places"].items()})


def by_folder(found: Iterable[Source]) -> Iterator[tuple[str, list[Source]]]:
    """The walk's sources, a folder's at a time (a folder's files come together:
    its own before its subfolders'), with the folder ("/"-separated, relative)."""
    folder: str | None = None
    batch: list[Source] = []
    for source in found:
        here = source.rel.rpartition("/")[0]
        if here != folder:
            if batch:
                yield folder or "", batch
            folder, batch = here, []
        batch.append(source)
    if batch:
        yield folder or "", batch
