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
whole: no record read, no stat per thumbnail, no name decided.

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

import hashlib
import json
import os
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple

from .. import storage
from ..formats import from_extension
from ..spec import Entry, Settings, Status
from .names import Taken
from .sources import Source

if TYPE_CHECKING:
    from .state import State

#: Part of every digest: a memo of another version of this module is never taken.
VERSION = b"memo 1"


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
                 labels: Sequence[str], rules: dict[str, str], read_only: bool,
                 waiting: dict[str, Draft]) -> None:
        self.state, self.read_only = state, read_only
        self.root = settings.output
        self.labels = list(labels)
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
        if any(s.stat.st_nlink > 1 for s in sources):  # type: ignore[union-attr]
            return None
        h = hashlib.blake2b(self.job)
        h.update("\n".join([f"{s.absolute}\0{s.stat.st_size}\0{s.stat.st_mtime_ns}"
                            for s in sources]).encode("utf-8", "surrogateescape"))
        return h.digest()

    def take(self, folder: str, sources: Sequence[Source], taken: Taken
             ) -> tuple[list[Item], dict[str, dict[str, os.DirEntry[str]]]] | None:
        """The folder's thumbnails if its memo holds, with the listings of the
        output folders that hold them (for entries()), else None."""
        if taken.of(folder):  # names another spelling of the folder took first
            return None
        kept = self.state.memo(folder)
        if kept is None or kept[0] != self.digest(sources):
            return None
        items = decode(kept[1])
        listings: dict[str, dict[str, os.DirEntry[str]]] = {}
        for item in items:
            where, _, name = item.output.rpartition("/")
            files = listings.get(where)
            if files is None:
                files = listings[where] = self.files(where)
            if name not in files:
                return None
        taken.let_go(folder)
        return items, listings

    def draft(self, folder: str, sources: Sequence[Source], taken: Taken) -> Draft | None:
        """A draft of the folder's memo, for the folder about to be planned one
        thumbnail at a time; None where its names are not its own."""
        if taken.of(folder):
            return None
        return Draft(self, folder, sources)

    def entries(self, sources: Sequence[Source], items: list[Item],
                listings: dict[str, dict[str, os.DirEntry[str]]]) -> Iterable[Entry]:
        """A taken folder's entries, as up_to_date gives them (a stat per output)."""
        path = {s.rel.rpartition("/")[2]: s.path for s in sources}
        join, root, labels = storage.LOCAL.join, self.root, self.labels
        for item in items:
            where, _, name = item.output.rpartition("/")
            st = listings[where][name].stat(follow_symlinks=False)
            yield Entry(path[item.name], labels[item.target], Status.SKIPPED,
                        join(root, item.output), item.format, item.width, item.height,
                        st.st_size, preview=item.preview)


class Draft:
    """A folder's memo while it is planned: what was up to date, and the tasks
    whose outcomes are still to come; kept when the last comes made, dropped at
    the first thing that is not."""

    def __init__(self, memos: Memos, folder: str, sources: Sequence[Source]) -> None:
        self.memos, self.folder, self.sources = memos, folder, sources
        self.items: list[tuple[int, Item]] = []  # (source's place, item)
        self.spoiled = False
        self.outstanding = 0
        self.walked = False
        #: source path -> (its place, its signature at the walk, (target, key) each)
        self._tasks: dict[str, tuple[int, tuple[int, int], list[tuple[int, str]]]] = {}

    def spoil(self) -> None:
        self.spoiled = True

    def done(self, place: int, item: Item) -> None:
        self.items.append((place, item))

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
                    entry.height or 0, entry.preview)))
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
        items = [item for _, item in sorted(self.items, key=lambda p: (p[0], p[1].target))]
        state = self.memos.state
        kept = state.memo(self.folder)
        if kept is not None and kept[0] == digest:
            return  # an unchanged rerun writes nothing
        state.keep_memo(self.folder, digest, encode(items))


def encode(items: Sequence[Item]) -> bytes:
    return zlib.compress(json.dumps([list(item) for item in items],
                                    separators=(",", ":")).encode(), 1)


def decode(body: bytes) -> list[Item]:
    return [Item(*fields) for fields in json.loads(zlib.decompress(body))]


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
