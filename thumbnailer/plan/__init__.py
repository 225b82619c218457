"""From SOURCE arguments and settings to the thumbnails still to make, as a stream.

A plan walks the sources and yields a Task for each source with something to
make, as the walk finds it: names are decided folder by folder (collisions are
found before any write, see names.py), what is up to date is told to
``on_skipped``, and afterwards ``record`` notes what was made. Memory holds one
folder's names and state rows, the tasks in flight, and the files with several
hard links (whose paths are linked from one decode, so they wait for the end
of the walk).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterator, Sequence

from .. import storage
from ..formats import TABLE, extension
from ..read.kinds import hdr_mark, kind_of
from ..spec import (
    PREVIEW_MARK,
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
from .checks import check
from .memo import Draft, Item, Memos, Whole, by_folder, eligible, format_of
from .names import Taken, free_keys, in_shard, is_plain, name_problem, namers, paired, split_name
from .sources import Scope, Source, WalkCounts, hard_link_key, selection, walk, walk_scope
from .state import State
from .state.ledger import Failure, since_text
from .state.records import Record, made_text

#: How often (seconds) a long run checkpoints its state: on an object store, puts
#: the database back (locally the state commits every few seconds by itself).
CHECKPOINT_SECONDS = 30.0

#: What record() needs of each entry an outcome will hold, in order: the absolute
#: source path, its folder, the state key, the fingerprint, whether format auto.
Pending = tuple[tuple[str, str, str, str, bool], ...]


def up_to_date(
    record: Record | None, source: Source, label: str, fingerprint: str,
    find: Callable[[str], tuple[str, storage.Stat] | None]
) -> Entry | None:
    """The skipped entry when the recorded thumbnail still stands, else None: the
    one check an unchanged rerun makes per thumbnail, so it is kept lean (a tuple
    compare and one lookup of the output, a stat locally)."""
    if (
        record is None
        or (record.fingerprint != fingerprint
            and record.fingerprint != fingerprint + PREVIEW_MARK)
        or record.mtime_ns != source.stat.st_mtime_ns
        or record.size != source.stat.st_size
        or record.source != source.absolute
    ):
        return None
    found = find(record.output)
    if found is None:
        return None
    output, st = found
    return Entry(
        source.path, label, Status.SKIPPED, output,
        format_of(output), record.width, record.height, st.st_size,
        preview=record.fingerprint.endswith(PREVIEW_MARK),
    )


class Plan:
    """A job's thumbnails, found as the walk goes. ``stream()`` yields the tasks
    once; ``tasks``, ``skipped`` and ``total`` walk it all into lists, for
    scripts and tests that want the whole plan at once."""

    def __init__(self, settings: Settings, state: State) -> None:
        self.settings = settings
        self.state = state
        #: One line per source renamed because its name was taken.
        self.collisions: list[str] = []
        #: What the walk passed over (symlinks not followed).
        self.walked = WalkCounts()
        #: Thumbnails met so far: up to date, to make, to link.
        self.planned = 0
        #: Told each thumbnail found up to date, and each new collision (a rename
        #: the state does not hold already: not on an unchanged rerun), as the walk
        #: finds them.
        self.on_skipped: Callable[[Entry], None] | None = None
        self.on_collision: Callable[[str], None] | None = None
        #: Told the path of a source some of whose thumbnails were just told up to
        #: date and whose others are to make (Tally.later: counted once, by its outcome).
        self.on_later: Callable[[str], None] | None = None
        #: Told each file left as it is where this tool would have deleted one of its
        #: own (storage.NotOurs): a user's file under an old thumbnail's name.
        self.on_left: Callable[[str], None] | None = None
        self.left: list[str] = []
        #: --adopt: files found at thumbnails' paths are taken as this tool's own
        #: (after the state was lost, or the output folder copied: new inodes).
        self.adopt = False
        #: What a killed last run made and did not live to record (its running
        #: mark's journal, atomic.made_by_killed_run): its own files still.
        self.killed: dict[str, tuple[int, int, int]] = {}
        #: Once true (the run was stopped), the walk ends early.
        self.stop: object = False
        #: Gives the failure ledger's judge (ledger.judge) when failures are kept:
        #: then a source whose failure still holds is passed over, unless
        #: retry_failed. Asked only once a failure is met (versions take ms to read).
        self.judge: Callable[[], str] | None = None
        self.retry_failed = False
        #: Thumbnails of known failures passed over; of known failures tried
        #: again that failed again (neither is a new failure).
        self.known = self.again = 0
        self._pending: dict[str, Pending] = {}
        #: Memos drafted (memo.Draft), by the source whose outcome they wait for.
        self._drafts: dict[str, Draft] = {}
        #: Told each folder taken whole from its memo (memo.Whole), instead of
        #: on_skipped for each of its thumbnails, when set.
        self.on_whole: Callable[[Whole], None] | None = None
        self._signatures: dict[str, tuple[int, int]] = {}  # (size, mtime) when planned
        self._last_save = time.monotonic()
        self._streamed = False
        #: The walk went to the end (a stopped run's did not).
        self.finished = False
        self._whole: tuple[list[Task], list[Entry]] | None = None

    def _generate(self) -> Iterator[Task]:
        """The walk: yields tasks, calls _skip and _collide (subclasses' own)."""
        raise NotImplementedError

    def stream(self) -> Iterator[Task]:
        """The tasks, as the walk finds them; a plan streams once."""
        if self._streamed:
            raise RuntimeError("a plan streams once")
        self._streamed = True
        for task in self._generate():
            self.planned += len(task.targets) + len(task.links)
            yield task
        self.finished = not self.stop

    def gave_nothing(self, sources: Sequence[str]) -> list[str]:
        """The SOURCE arguments that gave no image (prune.guard asks: an empty
        mount point); the walk must have finished."""
        return [s for s in sources if not self.walked.found[s]]

    def stop_walking(self) -> None:
        """End the walk at the next file (the run's stop, or --deadline)."""
        self.stop = True

    def walk_all(self) -> None:
        """Make sure the whole walk was done (what --prune needs to know)."""
        if not self._streamed:
            self._whole_plan()
        if not self.finished:
            raise RuntimeError("the walk did not finish: nothing can be judged stale")

    def _collide(self, message: str, tell: bool = True) -> None:
        self.collisions.append(message)
        if self.on_collision is not None and tell:
            self.on_collision(message)

    def _skip(self, entry: Entry) -> None:
        self.planned += 1
        if self.on_skipped is not None:
            self.on_skipped(entry)

    def _whole_plan(self) -> tuple[list[Task], list[Entry]]:
        if self._whole is None:
            skipped: list[Entry] = []
            told = self.on_skipped

            def keep(entry: Entry) -> None:
                skipped.append(entry)
                if told is not None:
                    told(entry)

            self.on_skipped = keep
            try:
                self._whole = (list(self.stream()), skipped)
            finally:
                self.on_skipped = told
        return self._whole

    @property
    def tasks(self) -> list[Task]:
        return self._whole_plan()[0]

    @property
    def skipped(self) -> list[Entry]:
        return self._whole_plan()[1]

    @property
    def total(self) -> int:
        """Thumbnails the run will report on: made, skipped or failed."""
        self._whole_plan()
        return self.planned

    def record(self, outcome: Outcome) -> tuple[Entry, ...]:
        """Note what a task made in the state (failures are never up to date, and
        go to the ledger); returns the outcome's entries, failures with since when."""
        pending = self._pending.pop(outcome.source)
        entries = outcome.entries
        signature = self._signatures.pop(outcome.source, None)
        if signature is not None and pending:
            entries = self._ledger(outcome, pending[0][0], signature)
        draft = self._drafts.pop(outcome.source, None)
        made: list[tuple[str, Entry] | None] = []
        for (absolute, folder, key, fingerprint, auto), entry in zip(
                pending, outcome.entries, strict=True):
            old = self.state.get(key)
            if entry.status is not Status.CREATED or outcome.signature is None:
                made.append(None)
                if old is not None and old.fingerprint:  # ours (for --prune), not up to date
                    self.state.put(key, old._replace(fingerprint=""), folder)
                continue
            # The output is root/key, plus the extension for format auto.
            rel = key + os.path.splitext(entry.output or "")[1] if auto else key
            made.append((rel, entry))
            if old is not None and old.output != rel:  # .jpg became .png
                self._delete(old.output, old.identity)
            self.state.put(  # the mark: a preview made it (up_to_date)
                key,
                Record(rel, absolute, fingerprint + (PREVIEW_MARK if entry.preview else ""),
                       *outcome.signature, entry.width or 0, entry.height or 0,
                       None if entry.made is None else made_text(entry.made)),
                folder,
            )
        if draft is not None:  # after the records: each put lets go of the folder's memo
            draft.made(outcome.source, outcome.signature, made)
        shade = next((e.placeholder for e in outcome.entries if e.placeholder), None)
        if shade is not None and pending:
            self.state.shade(pending[0][0], pending[0][1], shade)
        if time.monotonic() - self._last_save > CHECKPOINT_SECONDS:
            self.save()
        return entries

    def _delete(self, rel: str, identity: storage.Identity) -> bool:
        """Delete the output ``rel`` if it is still the file this tool made; else
        leave it and say so (once: the record that named it is let go)."""
        root = self.settings.output
        try:
            return storage.store(root).delete(root, rel, identity)
        except (storage.NotOurs, storage.Unsafe) as e:
            self._tell(e.strerror or str(e))
        except OSError:
            pass
        return False

    def _tell(self, message: str) -> None:
        self.left.append(message)
        if self.on_left is not None:
            self.on_left(message)

    def _ledger(self, outcome: Outcome, source: str, signature: tuple[int, int]
                ) -> tuple[Entry, ...]:
        """Keep a failure of the file's own in the ledger, since when this file (as
        it is) first failed; a source made at last leaves it."""
        old = self.state.failure(source)
        if not outcome.failed or outcome.signature is not None:  # read: not the file's fault
            if old is not None and not outcome.failed:
                self.state.forgive(source)
            return outcome.entries
        if outcome.halt or outcome.transient:
            return outcome.entries
        again = old is not None and old.same_file(*signature)
        since = old.since if old is not None and again else time.time()
        assert self.judge is not None
        self.state.fail(source, Failure(*signature, outcome.error or "failed", since,
                                        self.judge()))
        failed = [e for e in outcome.entries if e.status is Status.FAILED]
        self.again += len(failed) if again else 0
        return tuple(e._replace(since=since_text(since)) if e.status is Status.FAILED else e
                     for e in outcome.entries)

    def _known_failure(self, source: Source,
                       pending: list[tuple[Size, Format, str, str, str, Record | None]]) -> bool:
        """Whether ``source`` failed before, as it is, judged as now: then its
        thumbnails are told as known failures, and it is not tried again."""
        if self.judge is None or self.retry_failed or not self.state.failing:
            return False
        failure = self.state.failure(source.absolute)
        st = source.stat
        if failure is None or not failure.holds(st.st_size, st.st_mtime_ns, self.judge()):
            return False
        since = failure.since_text
        for size, fmt, *_ in pending:
            self.known += 1
            self._skip(Entry(source.path, size.label, Status.FAILED,
                             format=None if fmt is Format.AUTO else fmt.value,
                             error=failure.reason, since=since))
        return True

    def save(self) -> None:
        self.state.save()
        self._last_save = time.monotonic()

    def close(self) -> None:
        """The run is over: save, and let go of the state."""
        self.state.close()


def plan(arguments: Sequence[str], settings: Settings, *, read_only: bool = False,
         mark: bool = False, judge: Callable[[], str] | None = None,
         retry_failed: bool = False, adopt: bool = False, scope: Scope | None = None) -> Plan:
    """The plan of a job into an output folder (nothing is walked until it is
    streamed). ``read_only`` (--dry-run) writes nothing where the output is, not
    even a migration of a 1.x state. ``mark`` notes every key the job names, up
    to date or not, for --prune (it costs about 3 us per thumbnail, so only when
    asked). With a ``judge`` (giving ledger.judge's string), failures are kept in the failure
    ledger, and a source whose failure still holds is passed over as a known
    failure unless ``retry_failed``. ``adopt`` takes files found at thumbnails'
    paths as this tool's own (--adopt). A ``scope`` walks only those folders
    (--watch's batch: sources.walk_scope), and ``mark`` then finds stale only
    what they held. Close the plan when done with it.

    Raises ValueError for a job that cannot be run at all (checks.py); per-file
    problems are left for render to report.
    """
    check(arguments, settings)
    state = State.load(settings.output, read_only)
    if mark:
        state.start_marking()
    folder_plan = FolderPlan(arguments, settings, state, read_only, mark)
    folder_plan.scope = scope
    folder_plan.judge, folder_plan.retry_failed = judge, retry_failed
    folder_plan.adopt = adopt and not read_only
    if not read_only:
        folder_plan.killed = storage.store(settings.output).made_by_killed_run(settings.output)
    return folder_plan


class FolderPlan(Plan):
    """A job into an output folder: names from the template, the state's records."""

    def __init__(self, arguments: Sequence[str], settings: Settings, state: State,
                 read_only: bool, mark: bool) -> None:
        super().__init__(settings, state)
        self.arguments = list(arguments)
        self.read_only, self.mark = read_only, mark
        #: Walk only these folders (sources.walk_scope), not the whole job.
        self.scope: Scope | None = None

    def gave_nothing(self, sources: Sequence[str]) -> list[str]:
        """A scope's walk met only its folders: then each SOURCE is asked again
        whether it holds an image at all (a removed folder, an unmounted disk)."""
        if self.scope is None:
            return super().gave_nothing(sources)
        chosen = selection(self.settings)
        return [s for s in sources
                if not storage.store(s).exists(s)
                or next(walk([s], chosen, skip_dirs=[self.settings.output]), None) is None]

    def _owned(self, rows: dict[str, Record], record: Record | None, stem: str, fmt: Format
               ) -> tuple[tuple[str, tuple[int, int, int]], ...]:
        """The files at this thumbnail's paths that this tool made and may replace:
        the one its record names, one another record of the source names at the
        same path (``-f auto`` then ``-f jpeg`` both name a.jpg), and any a killed
        last run made there."""
        owned: dict[str, tuple[int, int, int]] = (
            {} if record is None else {record.output: record.identity})
        for ext in {extension(f) for f in (TABLE if fmt is Format.AUTO else (fmt,))
                    if f is not Format.AUTO}:
            rel = f"{stem}.{ext}"
            for other in (rows.get(stem), rows.get(rel)):
                if other is not None and other.output == rel:
                    owned.setdefault(rel, other.identity)
            if rel in self.killed:
                owned.setdefault(rel, self.killed[rel])
        return tuple(owned.items())

    def _named_before(self, source: Source, keys: Sequence[str]) -> bool:
        """Whether a rename of ``source`` is no news: the state records a thumbnail
        of it at one of these keys (the name it was given before), or the failure
        ledger holds it (it was met, renamed and told, and made nothing). A lookup
        per key, only for a renamed source."""
        return any((record := self.state.get(key)) is not None
                   and record.source == source.absolute for key in keys
                   ) or self.state.failure(source.absolute) is not None

    def _refresh(self, key: str, record: Record, folder: str,
                 find: Callable[[str], tuple[str, storage.Stat] | None]) -> None:
        """Record the identity of an up-to-date thumbnail's file as it is now: once
        for a record from before identities were kept (1.1 trusted its files), and
        for every file under --adopt."""
        found = find(record.output)
        if found is None:
            return
        made = made_text(storage.store(self.settings.output).identity(found[1]))
        if made != record.made:
            self.state.put(key, record._replace(made=made), folder)

    def _generate(self) -> Iterator[Task]:
        settings, state, mark = self.settings, self.state, self.mark
        # Per-size work done once, not once per file: the walk below is the whole
        # cost of an unchanged rerun.
        named = namers(settings.name_template, settings.sizes)
        # A {stem} with a format spec or conversion: each name is checked (names.py).
        checked = not is_plain(settings.name_template)
        # Thumbnails by path: a stat each locally, a listing per folder on a store.
        find = storage.store(settings.output).finder(settings.output)
        # One target per size and format, in that order; each names which size's stem it takes.
        plans = [
            (i, size, fmt, settings.fingerprint(size, fmt), size.label,
             "" if fmt is Format.AUTO else "." + extension(fmt))
            for i, size in enumerate(settings.sizes) for fmt in settings.formats
        ]
        suffixes = [(i, suffix) for i, *_, suffix in plans]
        shard, force = settings.shard, settings.force
        folders = [a for a in self.arguments if storage.store(a).is_dir(a)]
        chosen = selection(settings)

        def recall(spelling: str, names: set[str]) -> None:
            """Name again the files of ``spelling``, a folder of the one SOURCE folder
            whose names were let go, as the walk below did (Taken: ``Sub`` before
            ``sub``)."""
            there = storage.join(folders[0], spelling) if spelling else folders[0]
            for found in walk([there], chosen, skip_dirs=[settings.output]):
                if "/" in found.rel:  # its files come first, then its folders'
                    break
                old_stem, old_ext = split_name(found.rel)
                free_keys(named, "", old_stem, old_ext, names)
                paired(names, old_stem, kind_of(found.path).companion)

        taken = Taken(bounded=len(folders) <= 1, recall=recall if folders else None)
        #: (device, inode, size, mtime) of a file with other hard links -> what its
        #: first path in this job left: its task, held to the end of the walk (None
        #: when it was all up to date), and its up-to-date entries by (size, format).
        firsts: dict[tuple[int, int, int, int],
                     tuple[Task | None, dict[tuple[Size, Format], Entry]]] = {}
        rows_of: str | None = None  # the folder whose records are in rows
        rows: dict[str, Record] = {}
        shades: dict[str, str] = {}  # --placeholders: the folder's, by source
        if self.scope is not None and mark:
            state.protect_all_but(self.scope)
        found = (walk(self.arguments, chosen, skip_dirs=[settings.output], counts=self.walked)
                 if self.scope is None else
                 walk_scope(self.arguments, self.scope, chosen, skip_dirs=[settings.output],
                            counts=self.walked))
        # A folder as it was is taken whole from its memo (memo.py), else planned
        # thumbnail by thumbnail below, and its memo drafted.
        memos = (Memos(settings, state,
                       [f"{fp}\0{suffix}" for *_, fp, _, suffix in plans] + [PREVIEW_MARK],
                       [label for *_, label, _ in plans], [i for i, *_ in plans],
                       {ext: kind_of(ext).mark + hdr_mark(ext) for ext in chosen.extensions},
                       self.read_only, self._drafts)
                 if eligible(self.arguments, settings, state, self.adopt) else None)
        for folder, batch in by_folder(found):
            if self.stop:
                return
            whole = memos.take(folder, batch, taken) if memos is not None else None
            if whole is not None:
                if mark:
                    state.mark([item.key for item in whole.items])
                if self.on_whole is not None:
                    self.planned += len(whole.items)
                    self.on_whole(whole)
                else:
                    for entry in whole.entries():
                        self._skip(entry)
                continue
            draft = memos.draft(folder, batch, taken) if memos is not None else None
            for place, source in enumerate(batch):
                _, _, filename = source.rel.rpartition("/")
                stem, ext = split_name(filename)
                here = taken.of(folder)
                stems, renamed = free_keys(named, folder, stem, ext, here)
                # A phone's Live Photo (IMG_1.HEIC, IMG_1.MOV) or a camera's RAW+JPEG:
                # expected, so kept in the manifest but not warned about.
                kind = kind_of(source.path)
                pair = paired(here, stem, kind.companion)
                if self.stop:
                    return
                problem = checked and next(
                    (f"the Settings.name template gives {name!r} for this file, {why}"
                     for name in (s[len(folder) + bool(folder):] for s in stems)
                     if (why := name_problem(name)) is not None), None)
                if problem:  # this source fails, and nothing is written; the run goes on
                    if draft is not None:
                        draft.spoil()
                    for _, size, fmt, *_ in plans:
                        self._skip(Entry(source.path, size.label, Status.FAILED,
                                         format=None if fmt is Format.AUTO else fmt.value,
                                         error=problem))
                    continue
                # State keys: the output paths, less the extension only for format auto
                # (whose extension is known once the image is seen). Every shard's are
                # marked: --prune keeps what any shard of the job names.
                keys_here = [stems[i] + suffix for i, suffix in suffixes]
                if renamed:  # told when new: not a pair, not the name this source had last time
                    if draft is not None:
                        draft.spoil()
                    self._collide(f"{source.path}: its thumbnail name is taken by another source; "
                                  f"named {stems[0]!r} instead",
                                  tell=not pair and not self._named_before(source, keys_here))
                if mark:
                    state.mark(keys_here)
                if shard is not None and not in_shard(stems[0], shard):
                    continue
                if folder != rows_of:  # one query per source folder
                    rows_of, rows = folder, state.folder(folder)
                    shades = state.placeholders(folder) if settings.placeholders else {}
                # A source without its placeholder yet has its first thumbnail made again.
                shade = shades.get(source.absolute)
                redo = settings.placeholders and shade is None
                pending, done_here, waits = [], {}, []
                rule = kind.mark + hdr_mark(source.path)
                for n, ((i, size, fmt, fingerprint, label, _), key) in enumerate(
                        zip(plans, keys_here, strict=True)):
                    fingerprint += rule  # its reader's own rule: a video's poster, HDR stills
                    record = rows.get(key)
                    if record is None and state.legacy:  # migrated from 1.x: no folder yet
                        record = state.get(key)
                        if record is not None and not self.read_only:
                            state.put(key, record, folder)
                    done = None if force or redo else up_to_date(
                        record, source, label, fingerprint, find
                    )
                    redo = False
                    if done is not None and record is not None and (
                            record.made is None or self.adopt) and not self.read_only:
                        self._refresh(key, record, folder, find)
                    if done is not None:
                        done = done._replace(placeholder=shade) if shade else done
                        self._skip(done)
                        done_here[size, fmt] = done
                        if draft is not None and record is not None:
                            draft.done(place, Item(filename, n, key, record.output, done.format,
                                                   record.width, record.height, done.preview),
                                       done.bytes or 0)
                    else:
                        pending.append((size, fmt, stems[i], key, fingerprint, record))
                        waits.append((n, key))
                inode = hard_link_key(source)
                if inode is not None and draft is not None:
                    draft.spoil()
                if not pending and inode is None:
                    continue  # all up to date: an unchanged rerun, file after file
                if pending and self._known_failure(source, pending):
                    if draft is not None:
                        draft.spoil()
                    continue
                if pending and done_here and self.on_later is not None:
                    self.on_later(source.path)
                targets = tuple(Target(size, storage.join(settings.output, stem), fmt,
                                       root=settings.output,
                                       owned=self._owned(rows, record, stem, fmt),
                                       adopt=self.adopt)
                                for size, fmt, stem, _, _, record in pending)
                # Keys in target order, so record() can zip them with the entries.
                keys = tuple((source.absolute, folder, key, fp, fmt is Format.AUTO)
                             for _, fmt, _, key, fp, _ in pending)
                first = firsts.get(inode) if inode is not None else None
                if first is not None and pending:
                    # Another path of a file met before: link its thumbnails, decode nothing.
                    task, existing = first
                    links = tuple(Link(source.path, t, existing.get((t.size, t.format)))
                                  for t in targets)
                    if task is None:  # the first path was all up to date: a task of links only
                        self._pending[source.path] = keys
                        yield Task(source.path, (), settings, links, source.stat.st_mtime_ns)
                        continue
                    assert inode is not None
                    firsts[inode] = (dataclasses.replace(task, links=task.links + links), existing)
                    self._pending[task.source] += keys
                    continue
                task = (Task(source.path, targets, settings, mtime_ns=source.stat.st_mtime_ns)
                        if pending else None)
                if task is not None:
                    self._pending[source.path] = keys
                    if draft is not None and inode is None:
                        draft.wait(source, place, waits)
                    if self.judge is not None:
                        self._signatures[source.path] = (source.stat.st_size,
                                                         source.stat.st_mtime_ns)
                if inode is not None and first is None:
                    firsts[inode] = (task, done_here)  # held: later paths may add links
                elif task is not None:
                    yield task
            if draft is not None:
                draft.end_walk()
        for path, rel, reason in self.walked.unreadable:
            if mark:
                state.protect(rel)
            self._skip(Entry(path, "", Status.FAILED, error=f"cannot read this folder: {reason}; "
                             "the thumbnails of what it holds are kept"))
        for task, _ in firsts.values():
            if task is not None:
                yield task
