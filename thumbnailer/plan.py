"""From SOURCE arguments and settings to the list of thumbnails still to make.

Planning decides every output name up front (so collisions are found before any
write), skips what is up to date, and afterwards records what was made.
"""

from __future__ import annotations

import functools
import hashlib
import os
import string
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from . import storage
from .formats import extension, from_extension
from .sources import Source, WalkCounts, selection, walk
from .spec import (
    Entry,
    Format,
    Link,
    Outcome,
    Settings,
    Size,
    Status,
    Target,
    Task,
)
from .state import Record, State

#: How often (seconds) a long run checkpoints its state: on an object store, puts
#: the database back (locally the state commits every few seconds by itself).
CHECKPOINT_SECONDS = 30.0

_TEMPLATE_FIELDS = {"stem", "size", "width", "height"}

#: A --name template with everything but {stem} filled in.
Namer = Callable[..., str]


@dataclass
class Plan:
    """The tasks of a run, what was already up to date, and how collisions were resolved."""

    settings: Settings
    tasks: list[Task]
    skipped: list[Entry]
    collisions: list[str]
    state: State
    #: task source -> (absolute source path, source folder, state key,
    #: fingerprint, format is auto) of each entry its outcome will hold: its
    #: targets, then its links
    _pending: dict[str, tuple[tuple[str, str, str, str, bool], ...]] = field(
        default_factory=dict, repr=False)
    _last_save: float = field(default_factory=time.monotonic, repr=False)
    #: What the walk passed over (symlinks not followed).
    walked: WalkCounts = field(default_factory=WalkCounts)

    @property
    def total(self) -> int:
        """Thumbnails the run will report on: made, skipped or failed."""
        return len(self.skipped) + sum(len(t.targets) + len(t.links) for t in self.tasks)

    def record(self, outcome: Outcome) -> None:
        """Note what a task made in the state; failures are forgotten, never up to date."""
        root = self.settings.output
        for (absolute, folder, key, fingerprint, auto), entry in zip(
                self._pending[outcome.source], outcome.entries, strict=True):
            old = self.state.get(key)
            if entry.status is not Status.CREATED or outcome.signature is None:
                if old is not None and old.fingerprint:  # ours (for --prune), not up to date
                    self.state.put(key, old._replace(fingerprint=""), folder)
                continue
            # The output is root/key, plus the extension for format auto.
            rel = key + os.path.splitext(entry.output or "")[1] if auto else key
            if old is not None and old.output != rel:
                _remove_quietly(storage.join(root, old.output))  # .jpg became .png
            self.state.put(
                key,
                Record(rel, absolute, fingerprint, *outcome.signature,
                       entry.width or 0, entry.height or 0),
                folder,
            )
        if time.monotonic() - self._last_save > CHECKPOINT_SECONDS:
            self.save()

    def save(self) -> None:
        self.state.save()
        self._last_save = time.monotonic()

    def close(self) -> None:
        """The run is over: save, and let go of the state."""
        self.state.close()


def check_template(template: str, sizes: Sequence[Size]) -> None:
    """Refuse a --name template that is malformed, leaves the output root, or gives
    two sizes the same name. Raises ValueError with a reason a person can act on."""
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as e:
        raise ValueError(f"--name {template!r}: {e}") from None
    unknown = fields - _TEMPLATE_FIELDS
    if unknown:
        raise ValueError(
            f"--name {template!r}: unknown field {{{sorted(unknown)[0]}}}; "
            f"use {', '.join('{' + f + '}' for f in sorted(_TEMPLATE_FIELDS))}"
        )
    names = [namer(stem="x") for namer in _namers(template, sizes)]
    for name in names:
        parts = name.split("/")
        if not name or name.startswith("/") or "\\" in name or any(
            p in ("", ".", "..") for p in parts
        ):
            raise ValueError(
                f"--name {template!r} gives {name!r}: it must be a relative path "
                "inside the output folder, without '..' or empty parts"
            )
    if len(set(names)) != len(names):
        raise ValueError(
            f"--name {template!r} gives several sizes the same name: add {{size}}"
        )


def _namers(template: str, sizes: Sequence[Size]) -> list[Namer]:
    """One formatter per size with everything but {stem} filled in, so naming a
    file costs one format call per size."""
    return [functools.partial(template.format, size=size.label, width=size.width or "",
                              height=size.height or "") for size in sizes]


def check_output(arguments: Sequence[str], output: str) -> None:
    """Refuse an output root that holds a source: thumbnails could overwrite originals."""
    out = _canonical(output)
    for arg in arguments:
        src = _canonical(arg)
        if src == out or src.startswith(out.rstrip("/" + os.sep) + _sep(out)):
            raise ValueError(
                f"the output folder {output!r} contains the source {arg!r}: "
                "thumbnails could overwrite originals; choose another --output"
            )


def _canonical(path: str) -> str:
    return storage.store(path).canonical(path)


def _sep(path: str) -> str:
    return storage.store(path).sep


def check_sources(arguments: Sequence[str]) -> None:
    """Every SOURCE must name something that is there."""
    for arg in arguments:
        try:
            found = storage.store(arg).exists(arg)
        except OSError as e:  # no fsspec, unknown protocol, unreachable store
            raise ValueError(f"SOURCE {arg!r}: {e}") from None
        if not found:
            raise ValueError(f"SOURCE {arg!r} does not exist")


def check(arguments: Sequence[str], settings: Settings) -> None:
    """Everything that makes a job impossible, found before anything is touched."""
    check_template(settings.name_template, settings.sizes)
    check_output(arguments, settings.output)
    check_sources(arguments)
    try:
        storage.check(settings.output)
    except OSError as e:
        raise ValueError(f"--output {settings.output!r}: {e}") from None


def plan(arguments: Sequence[str], settings: Settings, *, read_only: bool = False,
         mark: bool = False) -> Plan:
    """Walk the sources, name every thumbnail, and keep only those not up to date.
    ``read_only`` (--dry-run) writes nothing where the output is, not even a
    migration of a 1.x state. ``mark`` notes every key the job names, up to date
    or not, for --prune (it costs about 3 us per thumbnail, so only when asked).
    Close the plan when done with it.

    Raises ValueError for a job that cannot be run at all (see check_output and
    check_template); per-file problems are left for render to report.
    """
    check(arguments, settings)
    template = settings.name_template
    state = State.load(settings.output, read_only)
    if mark:
        state.start_marking()
    # Per-size work done once, not once per file: the walk below is the whole
    # cost of an unchanged rerun.
    namers = _namers(template, settings.sizes)
    outputs = _Outputs(settings.output)
    # One target per size and format, in that order; each names which size's stem it takes.
    plans = [
        (i, size, fmt, settings.fingerprint(size, fmt), size.label,
         "" if fmt is Format.AUTO else "." + extension(fmt))
        for i, size in enumerate(settings.sizes) for fmt in settings.formats
    ]
    taken: set[str] = set()
    collisions: list[str] = []
    result = Plan(settings, [], [], collisions, state)
    #: (device, inode, size, mtime) of a file with other hard links -> what its
    #: first path in this job left: the index of its task (None when it was all up
    #: to date), and its up-to-date entries by (size, format).
    firsts: dict[tuple[int, int, int, int],
                 tuple[int | None, dict[tuple[Size, Format], Entry]]] = {}
    rows_of: str | None = None  # the folder whose records are in rows
    rows: dict[str, Record] = {}
    for source in walk(arguments, selection(settings), skip_dirs=[settings.output],
                       counts=result.walked):
        folder, _, filename = source.rel.rpartition("/")
        stem, ext = os.path.splitext(filename)
        stems, renamed = _free_keys(namers, folder, stem, ext, taken)
        if renamed:
            collisions.append(
                f"{source.path}: its thumbnail name is taken by another source; "
                f"named {stems[0]!r} instead"
            )
        # State keys: the output paths, less the extension only for format auto
        # (whose extension is known once the image is seen). Every shard's are
        # marked: --prune keeps what any shard of the job names.
        keys_here = [stems[i] + suffix for i, *_, suffix in plans]
        if mark:
            state.mark(keys_here)
        if settings.shard is not None and not in_shard(stems[0], settings.shard):
            continue
        if folder != rows_of:  # one query per source folder
            rows_of, rows = folder, state.folder(folder)
        pending, done_here = [], {}
        for (i, size, fmt, fingerprint, label, _), key in zip(plans, keys_here, strict=True):
            record = rows.get(key)
            if record is None and state.legacy:  # migrated from 1.x: folder not yet known
                record = state.get(key)
                if record is not None and not read_only:
                    state.put(key, record, folder)
            done = None if settings.force else _up_to_date(
                record, source, label, fingerprint, outputs
            )
            if done is not None:
                result.skipped.append(done)
                done_here[size, fmt] = done
            else:
                pending.append((size, fmt, stems[i], key, fingerprint))
        targets = tuple(Target(size, storage.join(settings.output, stem), fmt)
                        for size, fmt, stem, _, _ in pending)
        keys = tuple((source.absolute, folder, key, fp, fmt is Format.AUTO)
                     for _, fmt, _, key, fp in pending)
        inode = _inode(source)
        first = firsts.get(inode) if inode is not None else None
        if first is not None and pending:
            # Another path of a file met before: link its thumbnails, decode nothing.
            index, existing = first
            links = tuple(Link(source.path, t, existing.get((t.size, t.format)))
                          for t in targets)
            if index is None:  # the first path was all up to date: a task of links only
                result.tasks.append(Task(source.path, (), settings, links))
                result._pending[source.path] = keys
                continue
            task = result.tasks[index]
            result.tasks[index] = Task(task.source, task.targets, settings,
                                       task.links + links)
            result._pending[task.source] += keys
            continue
        if pending:
            # Keys in target order, so record() can zip them with the entries.
            result._pending[source.path] = keys
            result.tasks.append(Task(source.path, targets, settings))
        if inode is not None and first is None:
            firsts[inode] = (len(result.tasks) - 1 if pending else None, done_here)
    return result


def _inode(source: Source) -> tuple[int, int, int, int] | None:
    """What makes two paths one file, for a local file with other hard links."""
    st = source.stat
    if getattr(st, "st_nlink", 1) < 2:  # an object's stat has no links
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def in_shard(name: str, shard: tuple[int, int]) -> bool:
    """Whether a source (by its output name, unique in the job) is in shard K of N.

    A hash of the name, not a position in the list: adding or removing other
    files moves no source to another shard."""
    k, n = shard
    digest = hashlib.blake2b(name.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % n == k - 1


def _keys_for(namers: Sequence[Namer], folder: str, stem: str) -> tuple[str, ...]:
    if folder:
        return tuple(f"{folder}/{namer(stem=stem)}" for namer in namers)
    return tuple(namer(stem=stem) for namer in namers)


def _candidates(stem: str, ext: str) -> Iterator[str]:
    """Names to try, in order; lazily, as the plain stem is nearly always free."""
    yield stem
    tag = f"{stem}-{ext.lstrip('.').lower()}" if ext else stem
    yield tag
    for n in range(2, 10_000):
        yield f"{tag}-{n}"


def _free_keys(namers: Sequence[Namer], folder: str, stem: str, ext: str, taken: set[str]
               ) -> tuple[tuple[str, ...], bool]:
    """The first candidate names not taken (case-insensitively, for macOS and
    Windows shares): the plain stem, then the stem with the source's extension
    ("a-png"), then numbered ("a-png-2", ...). Marks them taken; also says whether
    the source was renamed."""
    for n, candidate in enumerate(_candidates(stem, ext)):
        keys = _keys_for(namers, folder, candidate)
        folded = [k.casefold() for k in keys]
        if not any(k in taken for k in folded):
            taken.update(folded)
            return keys, n > 0
    raise ValueError(f"cannot find a free thumbnail name for {stem!r}")  # pragma: no cover


class _Outputs:
    """Stats thumbnails by path: one stat each locally; on an object store, one
    listing of the output prefix up front instead of a request per thumbnail."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.store = storage.store(root)
        self.listed = self.store.listing(root)

    def find(self, rel: str) -> tuple[str, storage.Stat] | None:
        """(path, stat) of the thumbnail stored as ``rel``, or None if it is gone."""
        path = self.store.join(self.root, rel)
        st = self.listed.get(path) if self.listed is not None else self._stat(path)
        return None if st is None else (path, st)

    def _stat(self, path: str) -> storage.Stat | None:
        try:
            return self.store.stat(path)
        except OSError:
            return None


def _up_to_date(
    record: Record | None, source: Source, label: str, fingerprint: str, outputs: _Outputs
) -> Entry | None:
    """The skipped entry when the recorded thumbnail still stands, else None."""
    if (
        record is None
        or record.fingerprint != fingerprint
        or record.mtime_ns != source.stat.st_mtime_ns
        or record.size != source.stat.st_size
        or record.source != source.absolute
    ):
        return None
    found = outputs.find(record.output)
    if found is None:
        return None
    output, st = found
    ext = output.rpartition(".")[2].lower()
    fmt = from_extension(ext)
    return Entry(
        source.path, label, Status.SKIPPED, output,
        fmt.value if fmt is not None else ext, record.width, record.height, st.st_size,
    )


def _remove_quietly(path: str) -> None:
    try:
        storage.store(path).remove(path)
    except OSError:
        pass
