"""The interface every store implements, and the values it speaks in: a file's
:class:`Identity`, what a stat gives, what a walk finds, and the two refusals of
the safety seam (:class:`NotOurs`, :class:`Unsafe`). The local store (in the
package) and the remote one (``remote``) both build on it; remote imports only
this, so the package's lazy import of remote makes no cycle.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import BinaryIO, NamedTuple, Protocol

from ..errors import ThumbnailerError


class Identity(NamedTuple):
    """What a written file is known by: its size, modification time and inode
    (0 where the store has none: an object store's identity is its size)."""

    size: int
    mtime_ns: int
    ino: int

    def matches(self, st: Stat) -> bool:
        if self.ino == 0 and self.mtime_ns == 0:  # an object: its size is all we have
            return self.size == st.st_size
        return (self.size, self.mtime_ns, self.ino) == (st.st_size, st.st_mtime_ns, st.st_ino)


#: "Whatever is at the path may be replaced": a record from before identities were
#: kept (1.1), --adopt, and files whose kind has its own rule of ownership (the
#: desktop cache's, which the freedesktop spec shares between programs).
ANY = Identity(-1, -1, -1)

#: What a write expects at its path: the identity of the file this tool put there,
#: ANY, or None for "nothing may be there".
Expect = Identity | None


class NotOurs(ThumbnailerError, OSError):
    """A file is where this tool would write or delete, and it cannot prove it made
    it: left as it is."""


class Unsafe(ThumbnailerError, OSError):
    """A path below the output root that a write must not follow: a symbolic link
    (to the photos, say) or a name that leaves the root."""


def identity_of(st: Stat) -> Identity:
    return Identity(st.st_size, st.st_mtime_ns, st.st_ino)


def parts_of(rel: str) -> list[str]:
    """``rel``'s parts; Unsafe if it is empty, absolute, or has an empty, "." or
    ".." part (it would leave the root, or name the root itself)."""
    parts = rel.split("/")
    if not rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise Unsafe(f"{rel!r} is not a path inside the output folder")
    return parts


class ObjectStat(NamedTuple):
    """The parts of os.stat_result the planner and render use, for an object."""

    st_mtime_ns: int
    st_size: int
    st_dev: int = 0
    st_ino: int = 0

    @property
    def st_mtime(self) -> float:
        return self.st_mtime_ns / 1e9


#: What a store's stat gives: enough for the up-to-date check and the size limit.
Stat = os.stat_result | ObjectStat


class Found(NamedTuple):
    """A file a walk found. (A tuple: the walk makes one per file, and it is the
    whole of a rerun's work.)"""

    path: str  # as the user would write it: the argument joined with the relative part
    rel: str  # relative to its root, "/"-separated; the output mirrors it
    stat: Stat
    absolute: str  # the path made absolute (not resolved: links stay links)


class Names(Protocol):
    """Which names a walk takes (the caller's rules: hidden, globs, extensions)."""

    follow_symlinks: bool

    def folder(self, name: str, rel: str) -> bool:
        """Whether to look inside the folder ``rel`` (named ``name``)."""

    def file(self, name: str, rel: str) -> bool:
        """Whether the file ``rel`` is wanted."""

    def passed(self, name: str, rel: str, is_dir: bool) -> None:
        """A symlink not followed."""

    def unreadable(self, path: str, rel: str, reason: str) -> None:
        """The folder ``path`` (``rel``, "" for the root) could not be listed
        whole: what it holds is not known, which is not the same as gone."""


def not_ours(path: str) -> str:
    return (f"{path} is not a file thumbnailer made, or it changed since it was made: "
            "left as it is")


class Store:
    """One file system. The methods a run needs; OSError for every failure."""

    #: What separates a folder from its names in this store's paths.
    sep = "/"
    #: Whether this machine's kernel tells of changes here (--watch): not on an
    #: object store.
    watchable = False

    def check(self) -> None:
        """Raise OSError if this store cannot be used here."""

    def join(self, root: str, rel: str) -> str:
        """``rel`` ("/"-separated, as the state stores it) under ``root``."""
        raise NotImplementedError

    def relative(self, path: str, root: str) -> str:
        """``path`` below ``root``, "/"-separated (a URL path for a web page)."""
        raise NotImplementedError

    def canonical(self, path: str) -> str:
        """One spelling per place, to compare an output root with the sources."""
        raise NotImplementedError

    def folder_identity(self, path: str) -> Hashable | None:
        """What names the folder ``path`` whatever the spelling; None if it is not one."""
        raise NotImplementedError

    def parent(self, path: str) -> str:
        raise NotImplementedError

    def stat(self, path: str) -> Stat:
        """Raises FileNotFoundError for a missing file."""
        raise NotImplementedError

    def exists(self, path: str) -> bool:
        raise NotImplementedError

    def is_dir(self, path: str) -> bool:
        raise NotImplementedError

    def is_file(self, path: str) -> bool:
        """A regular file (not a link to one, not a folder)."""
        raise NotImplementedError

    def read(self, path: str) -> bytes:
        raise NotImplementedError

    def head(self, path: str, size: int) -> bytes:
        """The first ``size`` bytes of ``path`` (what a file begins with says what
        it is)."""
        return self.read(path)[:size]

    def made_by_killed_run(self, root: str) -> dict[str, tuple[int, int, int]]:
        """What the last run in ``root`` made and did not live to record (a store's
        writes are whole objects, recorded as they come: nothing)."""
        return {}

    def readable(self, path: str) -> str | BinaryIO:
        """What Pillow opens: a local path (read lazily, so a draft reads little),
        or an object's bytes in memory (one GET beats many ranged reads)."""
        raise NotImplementedError

    def write(self, path: str, data: bytes, private: bool = False) -> None:
        """``path`` only ever holds complete contents (``private``: owner only)."""
        raise NotImplementedError

    def encode(self, path: str, save: Callable[[BinaryIO], object], private: bool = False) -> int:
        """Write what ``save`` writes to a file object, as :meth:`write` would;
        return the byte count."""
        buffer = io.BytesIO()
        save(buffer)
        self.write(path, buffer.getvalue(), private)
        return buffer.tell()

    def remove(self, path: str) -> None:
        raise NotImplementedError

    def remove_empty(self, folders: Sequence[str], root: str) -> None:
        """Remove these folders (paths relative to ``root``, "/"-separated) and
        their parents while empty, up to ``root``; never through a link."""

    # --- inside an output root: the safety seam ---------------------------------

    def identity(self, st: Stat) -> Identity:
        """The identity of a file found (an object: its size)."""
        return Identity(st.st_size, 0, 0)

    def put(self, root: str, rel: str, save: Callable[[BinaryIO], object],
            expect: Expect = None, private: bool = False) -> Identity:
        """Write what ``save`` writes to ``rel`` below ``root``, whole or not at
        all, making the folders; replace a file there only if ``expect`` says it
        is ours (NotOurs otherwise). Returns the new file's identity."""
        raise NotImplementedError

    def put_link(self, root: str, existing: str, rel: str, expect: Expect = None) -> Identity:
        """Make ``rel`` hold the bytes of ``existing`` (both below ``root``)
        without re-encoding, as :meth:`put` would write it."""
        raise NotImplementedError

    def delete(self, root: str, rel: str, expect: Identity) -> bool:
        """Delete the file ``rel`` below ``root`` if it is still the one ``expect``
        names; False if nothing is there, NotOurs if something else is."""
        raise NotImplementedError

    def href(self, path: str, folder: str) -> str | None:
        """A link (quoted) from a web page in ``folder`` to the file ``path``, where
        a browser can follow one."""
        return None

    def cheap_size(self, path: str) -> int | None:
        """The size of ``path`` where asking costs no request (None otherwise, or
        if it is gone)."""
        return None

    def finder(self, root: str) -> Callable[[str], tuple[str, Stat] | None]:
        """Looks up many files under ``root`` by their "/"-separated relative
        path: (path, stat), or None if there is no such file."""
        raise NotImplementedError

    def lister(self, root: str) -> Callable[[str], dict[str, os.DirEntry[str]]] | None:
        """Lists the regular files of a folder below ``root`` by name, where one
        listing is cheaper than a look-up each (plan/memo.py); None where not."""
        return None

    def lock(self, root: str, wait: bool = False) -> contextlib.AbstractContextManager[None]:
        """Hold ``root`` against other runs (where the store can lock)."""
        return contextlib.nullcontext()

    def writing(self, root: str, marker_folder: str | None = None
                ) -> contextlib.AbstractContextManager[None]:
        """Mark ``root`` as being written, sweeping a killed run's temporaries
        (a store whose writes are whole objects leaves none)."""
        return contextlib.nullcontext()

    def walk(self, root: str, names: Names, skip: Sequence[str] = (),
             seen: set[Hashable] | None = None) -> Iterator[Found]:
        """Every wanted file under ``root`` in name order (depth first), or ``root``
        itself if it is a file; ``skip`` folders (the output) are never entered,
        nor a folder in ``seen`` (updated), so a symlink loop ends."""
        raise NotImplementedError
