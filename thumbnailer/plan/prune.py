"""--prune: make the output folder a mirror of the job, like ``rsync --delete``.

Only files this tool made are candidates, known from the state: a thumbnail
whose record the job no longer names (its source is gone, or no longer selected,
or its size, format or name changed) is deleted, and so are the folders that
become empty by it. Anything else in the output folder is never touched. The
failure ledger forgets sources that are gone.

Before anything is deleted, ``guard`` refuses a prune that looks like an
accident: a SOURCE that gave no image (a disk that did not mount leaves an empty
mount point), or more deleted than ``--prune-limit`` allows.
"""

from __future__ import annotations

import stat as stat_module
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .. import storage
from ..errors import JobError
from . import Plan


@dataclass(frozen=True)
class Limit:
    """--prune-limit: the most one prune may delete, as a share of the thumbnails
    the state knows (``share``, 0.2 for "20%") or as a count."""

    share: float | None = 0.2
    count: int | None = None

    @classmethod
    def parse(cls, text: str) -> Limit:
        """ "20%" or "500"; JobError (a ValueError) for anything else."""
        text = text.strip()
        if text.endswith("%"):
            try:
                share = float(text[:-1])
            except ValueError as e:
                raise JobError(str(e), setting="prune_limit") from None
            if not 0 <= share <= 100:
                raise JobError("a share is from 0% to 100%", setting="prune_limit")
            return cls(share=share / 100)
        if not text.isdigit():
            raise JobError("give a share (20%) or a number of thumbnails (500)",
                           setting="prune_limit")
        return cls(share=None, count=int(text))

    def allows(self, doomed: int, known: int) -> bool:
        if self.count is not None:
            return doomed <= self.count
        return self.share is None or doomed <= self.share * known

    def __str__(self) -> str:
        return f"{self.count}" if self.count is not None else f"{(self.share or 0) * 100:g}%"


#: What --prune-limit is unless given.
DEFAULT_LIMIT = Limit()


class Refusal(NamedTuple):
    """Why a prune would be an accident, and what would allow it if it is not."""

    reason: str
    #: What to run again with, if the person meant it (an empty SOURCE has no
    #: such option: leave it out of the command).
    allow: str | None = None


def guard(job: Plan, sources: Sequence[str], limit: Limit | None) -> Refusal | None:
    """Why pruning ``job`` now would be an accident (None if it would not): a
    SOURCE that gave no image, or more to delete than ``limit`` allows (None:
    no limit). Reads only; call it before prune."""
    job.walk_all()
    empty = job.gave_nothing(sources)
    if empty:
        return Refusal(f"no images were found in {', '.join(empty)} (a disk that did not "
                       "mount leaves an empty folder)")
    if limit is None:
        return None
    doomed, examples = 0, list[str]()
    for _, output, shared, _ in job.state.stale():
        if not shared:
            doomed += 1
            if len(examples) < 3:
                examples.append(output)
    known = len(job.state)
    if limit.allows(doomed, known):
        return None
    return Refusal(f"it would delete {doomed:,} of the {known:,} thumbnails made so far "
                   f"({doomed / max(known, 1):.0%}: {', '.join(examples)}"
                   f"{', ...' if doomed > len(examples) else ''}), more than "
                   f"Options.prune_limit={limit} allows", allow="Options.prune_limit=100%")


def stale(job: Plan) -> list[str]:
    """State keys of the thumbnails ``job`` no longer names, sorted."""
    job.walk_all()
    return [key for key, *_ in job.state.stale()]


def prune(job: Plan, *, dry_run: bool = False) -> list[str]:
    """Delete the stale thumbnails of ``job`` (after its run); return their paths.

    A file is deleted only if it is still the one this tool made (its identity
    when written, storage.Store.delete) at a path inside the output root reached
    through no link; anything else there is left and told (Plan.on_left), and its
    record let go. A record whose file is gone is just forgotten. A path shared
    with a thumbnail the job keeps (``-f auto`` and ``-f jpeg`` name the same
    file) is left alone.
    """
    job.walk_all()
    root = job.settings.output
    where = storage.store(root)
    removed, folders = [], []
    for key, output, shared, made in list(job.state.stale()):  # marked by plan, swept here
        if not shared:
            if dry_run:
                if _still(where, root, output, made):
                    removed.append(where.join(root, output))
            elif job._delete(output, made):
                removed.append(where.join(root, output))
                folders.append(output.rpartition("/")[0])
        if not dry_run:
            job.state.drop(key)
    where.remove_empty(folders, root)  # an object store has no folders to empty
    if not dry_run:
        forget_gone_failures(job)
        job.state.forget_orphan_placeholders()
    return removed


def forget_gone_failures(job: Plan) -> None:
    """Take the sources that are gone out of the failure ledger (a stat each:
    the ledger holds broken files, which are few)."""
    for source in job.state.failed_sources():
        try:
            there = storage.store(source).exists(source)
        except OSError:
            continue  # unreachable now: keep it
        if not there:
            job.state.forgive(source)


def _still(where: storage.Store, root: str, rel: str, made: storage.Identity) -> bool:
    """What --dry-run says prune would delete: the file made, still there as made."""
    try:
        storage.parts_of(rel)
        found = where.finder(root)(rel)
    except OSError:
        return False
    return found is not None and stat_module.S_ISREG(
        getattr(found[1], "st_mode", stat_module.S_IFREG)) and (
        made == storage.ANY or made.matches(found[1]))
