"""--watch: what changed in the SOURCE folders, as batches of folders to walk again.

watchdog tells of each change (inotify on Linux; with ``poll``, a look at every
folder each ``poll_interval``, for network mounts where no event comes). A change
is taken in once the folder has been quiet for ``quiet`` seconds and each file
changed is complete: the same size and modification time on two looks, and, where
the observer tells when a file is closed after writing (inotify), closed (a
slow copy keeps its file open; a file left open longer than ``OPEN_GRACE``
seconds unchanged is taken anyway). A batch is the folders to walk again
(``plan.sources.Scope``): a folder's names depend on its other files (collisions),
and its walk is cheap, unlike the whole library's. Names a walk would not take
(hidden, temporary: ``.photo.jpg.~tmp~``, ``photo.jpg.part``) and the output
folder are ignored, so a temporary renamed into place is seen once, by its final
name. This module alone imports watchdog (the ``[watch]`` extra).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Hashable, Sequence
from typing import Any

from .errors import ThumbnailerError
from .plan.sources import Scope, Selection
from .storage import store


class WatchError(ThumbnailerError):
    """The SOURCE folders cannot be watched (inotify's limits)."""


#: Seconds a file may stay open for writing, unchanged, before it is taken anyway
#: (a program that never closes it).
OPEN_GRACE = 5.0

#: A look at a file: (size, mtime_ns), or None when it is not there.
Look = tuple[int, int] | None


#: File systems where inotify hears only this machine's own changes, or none.
NETWORK = frozenset({"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "afs", "ceph", "glusterfs",
                     "lustre", "davfs", "sshfs", "virtiofs"})


def on_network(path: str, mounts: str = "/proc/self/mounts") -> bool:
    """Whether ``path`` is on a network (or FUSE) mount, where only polling sees
    what other machines change; False where the mounts cannot be read."""
    try:
        with open(mounts, encoding="utf-8", errors="replace") as f:
            table = [line.split() for line in f]
    except OSError:
        return False
    real = os.path.realpath(path)
    best, kind = "", ""
    for fields in table:
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        if (real == point or real.startswith(point.rstrip("/") + "/")) and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind in NETWORK or kind.startswith("fuse")


def available() -> bool:
    """Whether watchdog 7 or newer (the ``[watch]`` extra) can be imported: 6,
    the last for Python 3.10, misses batches here."""
    try:
        from watchdog import events
    except ImportError:
        return False
    return hasattr(events, "FileAttribEvent")


class Watcher:
    """The SOURCE folders watched, from ``start()`` to ``close()``; ``batch()``
    gives the folders to walk again, once they are quiet and their files complete."""

    def __init__(self, sources: Sequence[str], selection: Selection, output: str, *,
                 poll: bool | None = False, quiet: float = 0.4, poll_interval: float = 1.0) -> None:
        if poll is None:
            poll = any(on_network(s) for s in sources)
        self.selection, self.poll = selection, poll
        self.quiet, self.poll_interval = quiet, poll_interval
        #: Two looks this far apart, at least, say a file is complete.
        self.settle = min(quiet, 0.25) if not poll else poll_interval
        self.folders = [os.path.abspath(s) for s in sources if os.path.isdir(s)]
        self.files = {os.path.abspath(s) for s in sources if not os.path.isdir(s)}
        self.output = {os.path.abspath(output), os.path.realpath(output)}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._last = 0.0  # when the last event came
        self._scope: set[tuple[str, bool]] = set()
        #: Files changed, by path: (their folder, the last look, since when).
        self._pending: dict[str, tuple[str, Look, float]] = {}
        self._open: set[str] = set()  # written and not closed yet (inotify only)
        self._closes = False
        self._observer: Any = None
        self._roots: dict[str, Hashable | None] = {}

    def start(self) -> None:
        from watchdog import events
        from watchdog.events import (
            DirCreatedEvent,
            DirDeletedEvent,
            DirMovedEvent,
            FileClosedEvent,
            FileCreatedEvent,
            FileDeletedEvent,
            FileModifiedEvent,
            FileMovedEvent,
            FileSystemEventHandler,
        )
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        watcher = self

        class Handler(FileSystemEventHandler):  # type: ignore[misc,unused-ignore]
            def dispatch(self, event: Any) -> None:
                watcher._event(event.event_type, event.is_directory, _text(event.src_path),
                               _text(getattr(event, "dest_path", "")))

        self._observer = (PollingObserver(timeout=self.poll_interval) if self.poll
                          else Observer())
        # Only inotify tells when a file written is closed; elsewhere two looks decide.
        self._closes = type(self._observer).__name__ == "InotifyObserver"
        # Reads (ours too: render opens every source) are not changes.
        kinds = [FileCreatedEvent, FileModifiedEvent, FileMovedEvent, FileDeletedEvent,
                 FileClosedEvent, DirCreatedEvent, DirDeletedEvent, DirMovedEvent]
        # watchdog 7's (Python 3.10 has 6, which says an attribute change as a
        # modification and cannot say that inotify's queue overflowed).
        kinds += [getattr(events, name) for name in ("FileAttribEvent", "EventsLostEvent")
                  if hasattr(events, name)]
        handler = Handler()
        try:
            for folder in self.folders:
                self._roots[folder] = _identity(folder)
                if self._roots[folder] is not None:  # else watched once it is back
                    self._observer.schedule(handler, folder, recursive=True,
                                            event_filter=kinds)
            for parent in sorted({os.path.dirname(f) for f in self.files}):
                self._observer.schedule(handler, parent, recursive=False, event_filter=kinds)
            self._observer.start()
        except OSError as e:  # inotify's limits: watches (one per folder) or instances
            self._observer = None
            raise WatchError(
                f"cannot watch the SOURCE folders: {e.strerror or e}; raise the system's "
                "fs.inotify.max_user_watches (one watch per folder), or use "
                "Options.watch_poll", setting="watch_poll") from None

    def close(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(5)
            self._observer = None

    def __enter__(self) -> Watcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _where(self, path: str) -> tuple[str, str] | None:
        """(the folder relative to the SOURCE folders, the name) of a path a walk
        would take, or None: outside them, in the output folder, hidden or excluded."""
        if any(path == out or path.startswith(out + os.sep) for out in self.output):
            return None
        if path in self.files:
            return "", os.path.basename(path)
        for top in self.folders:
            if path.startswith(top + os.sep):
                rel = path[len(top) + 1:].replace(os.sep, "/")
                break
        else:
            return ("", "") if path in self.folders else None
        parts = rel.split("/")
        for i, part in enumerate(parts[:-1]):
            if not self.selection.folder(part, "/".join(parts[:i + 1])):
                return None
        return "/".join(parts[:-1]), parts[-1]

    def _event(self, kind: str, is_dir: bool, path: str, dest: str) -> None:
        """One watchdog event (in the observer's thread)."""
        now = time.monotonic()
        with self._lock:
            if kind == "events_lost":  # the kernel's queue overflowed: walk everything
                self._scope.add(("", True))
            elif kind == "moved":
                self._change(False, is_dir, path, now)
                self._change(True, is_dir, dest, now)
            elif kind in ("created", "modified", "closed", "attrib", "deleted"):
                if kind == "closed":
                    self._open.discard(path)
                taken = self._change(kind != "deleted", is_dir, path, now)
                if taken and kind in ("created", "modified") and not is_dir and self._closes:
                    self._open.add(path)  # until closed: a copy holds its file open
            else:
                return
            self._last = now
        self._wake.set()

    def _change(self, there: bool, is_dir: bool, path: str, now: float) -> bool:
        """Note a change at ``path`` (now ``there`` or not); whether a walk takes it."""
        where = self._where(path)
        if where is None:
            return False
        folder, name = where
        if is_dir:
            rel = f"{folder}/{name}" if folder and name else folder or name
            if name and not self.selection.folder(name, rel):
                return False
            self._scope.add((rel, True))
            return True
        if not self.selection.file(name, f"{folder}/{name}" if folder else name):
            return False
        self._scope.add((folder, False))
        if there:
            self._pending[path] = (folder, _look(path), now)
        else:
            self._pending.pop(path, None)
            self._open.discard(path)
        return True

    def batch(self, stop: object, wait: float = 0.2) -> Scope | None:
        """The next folders to walk again, once quiet and complete; None once
        ``stop`` is true (it is looked at every ``wait`` seconds)."""
        while not stop:
            # Changes pending: looked at often, so a batch starts soon after its quiet time.
            self._wake.wait(min(wait, self.settle / 4) if self._scope else wait)
            self._wake.clear()
            self._check_roots()
            now = time.monotonic()
            with self._lock:
                if not self._scope or now - self._last < self.quiet:
                    continue
                held = self._growing(now)
                ready = tuple(sorted(s for s in self._scope
                                     if not any(_covers(s, f) for f in held)))
                if not ready:
                    continue
                self._scope.difference_update(ready)
                for path, (folder, *_) in list(self._pending.items()):
                    if any(_covers(s, folder) for s in ready):
                        del self._pending[path]
                        self._open.discard(path)
                return ready
        return None

    def _growing(self, now: float) -> set[str]:
        """The folders of files not complete yet (each looked at again here)."""
        held = set()
        for path, (folder, last, since) in list(self._pending.items()):
            look = _look(path)
            if look != last:
                self._pending[path] = (folder, look, now)
                held.add(folder)
            elif now - since < self.settle or (
                    path in self._open and now - since < OPEN_GRACE):
                held.add(folder)
        return held

    def _check_roots(self) -> None:
        """A SOURCE folder removed and made again (or a disk mounted on it) is
        watched again, and walked whole."""
        for folder, known in self._roots.items():
            now = _identity(folder)
            if now == known:
                continue
            self._roots[folder] = now
            with self._lock:
                self._scope.add(("", True))
                self._last = time.monotonic()
            if now is not None and self._observer is not None:
                self.close()
                self.start()
                return

    @property
    def pending(self) -> int:
        """Changes not batched yet (what memory holds, besides watchdog's watches)."""
        return len(self._scope) + len(self._pending) + len(self._open)


def _covers(scope: tuple[str, bool], folder: str) -> bool:
    rel, below = scope
    return rel == folder or (below and (rel == "" or folder.startswith(rel + "/")))


def _look(path: str) -> Look:
    try:
        st = store(path).stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _identity(folder: str) -> Hashable | None:
    """What the folder is (a folder removed and made again, or a disk mounted on
    it, is another), or None when it is not there."""
    try:
        return store(folder).folder_identity(folder)
    except OSError:
        return None


def _text(path: str | bytes) -> str:
    return os.fsdecode(path)
