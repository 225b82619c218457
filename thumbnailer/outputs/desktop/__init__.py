"""--xdg-cache: plan a job into the desktop's shared thumbnail cache.

Unlike an output folder, the cache has no state file of ours: the spec's own rule
decides what is up to date (the thumbnail's Thumb::URI and Thumb::MTime), so a
thumbnail made by GNOME counts as made, and ours count for GNOME. Names come from
the spec too (the MD5 of the file's URI), so there are no collisions. An image that
fails gets the spec's fail marker, and is not tried again until it changes (or
with --force); one that later succeeds loses its marker.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence

from ...plan import Plan
from ...plan.checks import check
from ...plan.sources import selection, walk
from ...plan.state import State
from ...spec import Entry, Format, Outcome, Settings, Status, Target, Task
from ...storage.atomic import atomic_write
from .xdg import (
    DIR_MODE,
    FILE_MODE,
    IMAGE_TEXT,
    fail_folder,
    fail_png,
    file_uri,
    flavour_folder,
    is_current,
    read_header,
    thumbnail_name,
    thumbnail_text,
)


class DesktopPlan(Plan):
    """A Plan whose record() keeps the spec's fail markers instead of a state."""

    def __init__(self, arguments: Sequence[str], settings: Settings, version: str) -> None:
        super().__init__(settings, State(settings.output))  # a state never opened
        self.arguments = list(arguments)
        self.version = version

    def _generate(self) -> Iterator[Task]:
        settings, root = self.settings, self.settings.output
        fails = fail_folder(root, self.version)
        # The cache's sizes are squares (Settings checks): width is the flavour's side.
        folders = [(size, size.label, flavour_folder(root, size.width or 0))
                   for size in settings.sizes]
        for source in walk(self.arguments, selection(settings), skip_dirs=[root],
                           counts=self.walked):
            uri = file_uri(source.absolute)
            name = thumbnail_name(uri)
            mtime = int(source.stat.st_mtime)
            text = thumbnail_text(uri, mtime, source.stat.st_size)
            if not settings.force and is_current(read_header(os.path.join(fails, name)),
                                                 uri, mtime):
                reason = (f"failed before (marker {os.path.join(fails, name)}); "
                          "Settings.force tries again")
                for _, label, _ in folders:
                    self._skip(Entry(source.path, label, Status.SKIPPED, error=reason))
                continue
            targets = []
            for size, label, folder in folders:
                path = os.path.join(folder, name)
                header = None if settings.force else read_header(path)
                if header is not None and is_current(header, uri, mtime):
                    self._skip(Entry(source.path, label, Status.SKIPPED, path, "png",
                                     header.width, header.height, header.bytes))
                else:
                    # The spec names each file (an MD5 of the URI) and shares the
                    # cache between programs: one there is replaced, as they do.
                    targets.append(Target(size, path[:-4], Format.PNG, text,
                                          IMAGE_TEXT, private=True, adopt=True))
            if targets and len(targets) < len(folders) and self.on_later is not None:
                self.on_later(source.path)  # counted once, by its outcome
            if targets:
                yield Task(source.path, tuple(targets), settings,
                           mtime_ns=source.stat.st_mtime_ns)

    def record(self, outcome: Outcome) -> tuple[Entry, ...]:
        """The spec's own failure record: a fail marker, which the walk reads."""
        uri = file_uri(outcome.source)
        marker = os.path.join(fail_folder(self.settings.output, self.version),
                              thumbnail_name(uri))
        if not outcome.failed:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(marker)
            return outcome.entries
        mtime = _mtime(outcome.source)
        if outcome.halt or outcome.transient or mtime is None:
            return outcome.entries  # not the file's fault, or it is gone: nothing to remember
        os.makedirs(os.path.dirname(marker), mode=DIR_MODE, exist_ok=True)
        with atomic_write(marker, mode=FILE_MODE) as f:
            f.write(fail_png(uri, mtime, _software(self.version)))
        return outcome.entries

    def save(self) -> None:
        """Nothing to save: the cache's files are their own record."""


def plan_desktop(arguments: Sequence[str], settings: Settings, version: str, *,
                 read_only: bool = False, mark: bool = False) -> DesktopPlan:
    """Plan a job into the cache: the flavours whose cached thumbnail is not
    current. (The cache's files are their own record, so planning only ever
    reads and --prune does not apply: ``read_only`` and ``mark`` are accepted for
    the same call as plan's.)"""
    check(arguments, settings)
    return DesktopPlan(arguments, settings, version)


def _mtime(path: str) -> int | None:
    try:
        return int(os.stat(path).st_mtime)
    except OSError:
        return None


def _software(version: str) -> str:
    return f"thumbnailer {version}"
