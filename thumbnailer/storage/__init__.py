"""Where files live: local paths and fsspec URLs behind one small interface.

Every file operation of a run (walk, stat, read, write, link, remove, lock) goes
through a :class:`Store`: ``store(path)`` gives :data:`LOCAL` for a local path and
a ``remote.Remote`` for a URL (``s3://bucket/photos``, ``gs://...``,
``memory://``), which needs the optional extra ``[cloud]``. No other module asks
which kind a path is.

**The safety seam.** Every file a run writes, links or deletes inside the output
root goes through :meth:`Store.put`, :meth:`Store.put_link` and
:meth:`Store.delete`, which take the root and a "/"-separated path below it and
check it in one place (docs/guarantees.md, "What thumbnailer never does"):

- the path stays inside the root (no ``..``, no empty or absolute part);
- locally, no folder below the root is a symbolic link: folders are opened one
  by one relative to the one above with ``O_NOFOLLOW`` (the root itself may be a
  link), so a link planted in the output cannot carry a write or a delete
  elsewhere, onto the photos say;
- a file already at the path is replaced or deleted only if it is the one this
  tool wrote: its :class:`Identity` (size, mtime, inode) still matches the one
  recorded when it was written. Anything else raises :class:`NotOurs`.

Local paths keep plain ``os`` calls rather than fsspec's ``LocalFileSystem``: an
unchanged rerun is a walk and one ``stat`` per source and per thumbnail, and
``LocalFileSystem.info`` costs 4x a bare ``os.stat`` (9.7 us against 2.4 us; this
seam adds 0.25 us). The default path never imports fsspec.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import stat as stat_module
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import BinaryIO

from . import urls
from .atomic import (
    _UMASK,
    RUNNING_NAME,
    STARTED,
    TEMP_PREFIX,
    atomic_write,
    journal_line,
    made_by_killed_run,
    writing_in,
)
from .base import (
    ANY,
    Expect,
    Found,
    Identity,
    Names,
    NotOurs,
    ObjectStat,
    Stat,
    Store,
    Unsafe,
    identity_of,
    not_ours,
    parts_of,
)
from .lock import output_lock

# The package's names: the store interface and its values (from base), the local
# store, and the calls on a path's own store.
__all__ = [
    "ANY",
    "check",
    "Expect",
    "Found",
    "Identity",
    "identity_of",
    "is_url",
    "join",
    "LOCAL",
    "Local",
    "local_path",
    "Names",
    "not_ours",
    "NotOurs",
    "ObjectStat",
    "parts_of",
    "path_bytes",
    "path_text",
    "placement",
    "Stat",
    "Store",
    "store",
    "Unsafe",
]


def is_url(path: str) -> bool:
    """A URL for fsspec (``s3://...``): not a local path, not ``file://``."""
    scheme, sep, _ = path.partition("://")
    return bool(sep) and scheme.isidentifier() and scheme.lower() not in ("file", "local")


def path_bytes(path: str) -> bytes:
    """A path as bytes, exactly: a Linux file name need not be UTF-8 (Python keeps
    such bytes as surrogates, which sqlite3 refuses as TEXT), so the databases
    keep paths as surrogate-escaped UTF-8 BLOBs."""
    return path.encode("utf-8", "surrogateescape")


def path_text(data: bytes | str) -> str:
    """Back from path_bytes (a row written by hand may hold TEXT: taken as it is)."""
    return data if isinstance(data, str) else data.decode("utf-8", "surrogateescape")


def local_path(path: str) -> str:
    """``file:///x/y`` -> ``/x/y``, so local files keep plain file I/O; anything
    else unchanged."""
    if path.lower().startswith("file://"):
        from urllib.parse import unquote, urlparse

        return unquote(urlparse(path).path)
    return path


class Local(Store):
    """This machine's file systems, through ``os``."""

    sep = os.sep
    watchable = True

    def join(self, root: str, rel: str) -> str:
        if os.sep == "/" and root:  # os.path.join's result, at a fifth of its cost
            return root + rel if root[-1] == "/" else f"{root}/{rel}"
        return os.path.join(root, rel.replace("/", os.sep))

    def relative(self, path: str, root: str) -> str:
        prefix = os.path.join(root, "")
        if path.startswith(prefix) and ".." not in path:  # the common case, without relpath
            rel = path[len(prefix):]
        else:
            rel = os.path.relpath(path, root)
        return rel.replace(os.sep, "/")

    def canonical(self, path: str) -> str:
        return os.path.realpath(path)

    def folder_identity(self, path: str) -> tuple[int, int] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def parent(self, path: str) -> str:
        return os.path.dirname(path) or "."

    def stat(self, path: str) -> os.stat_result:
        return os.stat(path)

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(path)

    def is_file(self, path: str) -> bool:
        try:
            return stat_module.S_ISREG(os.lstat(path).st_mode)
        except OSError:
            return False

    def read(self, path: str) -> bytes:
        with open(path, "rb") as f:
            return f.read()

    def readable(self, path: str) -> str:
        return path

    def head(self, path: str, size: int) -> bytes:
        with open(path, "rb") as f:
            return f.read(size)

    def made_by_killed_run(self, root: str) -> dict[str, tuple[int, int, int]]:
        return made_by_killed_run(root)

    def write(self, path: str, data: bytes, private: bool = False) -> None:
        self.encode(path, lambda f: f.write(data), private)

    def encode(self, path: str, save: Callable[[BinaryIO], object], private: bool = False) -> int:
        """Into a temporary beside ``path``, renamed into place: no copy in memory."""
        os.makedirs(self.parent(path), mode=0o700 if private else 0o777, exist_ok=True)
        with atomic_write(path, mode=0o600 if private else None) as f:
            save(f)
            return f.tell()

    def remove(self, path: str) -> None:
        os.unlink(path)

    def remove_empty(self, folders: Sequence[str], root: str) -> None:
        for folder in sorted(set(folders), key=len, reverse=True):
            parts = folder.split("/") if folder else []
            while parts:
                try:
                    parts_of("/".join(parts))
                    fd = _open_folder(root, parts[:-1], create=False)
                except OSError:
                    break
                try:
                    os.rmdir(parts[-1], dir_fd=fd)  # fails on a link, or on anything in it
                except OSError:
                    break
                finally:
                    os.close(fd)
                parts.pop()

    def identity(self, st: Stat) -> Identity:
        return identity_of(st)

    def put(self, root: str, rel: str, save: Callable[[BinaryIO], object],
            expect: Expect = None, private: bool = False) -> Identity:
        parts = parts_of(rel)
        fd = _open_folder(root, parts[:-1], create=True, mode=0o700 if private else 0o777)
        try:
            return _settle(fd, root, rel, expect,
                           lambda tmp: _write_temporary(fd, tmp, save, private))
        finally:
            os.close(fd)

    def put_link(self, root: str, existing: str, rel: str, expect: Expect = None) -> Identity:
        """A hard link, or a copy where none can be made (another file system, FAT)."""
        have = parts_of(existing)
        parts = parts_of(rel)
        src = _open_folder(root, have[:-1], create=False)
        try:
            fd = _open_folder(root, parts[:-1], create=True)
            try:
                def link(tmp: str) -> Identity:
                    try:
                        os.link(have[-1], tmp, src_dir_fd=src, dst_dir_fd=fd,
                                follow_symlinks=False)
                    except OSError:
                        import shutil

                        source = os.open(have[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC,
                                         dir_fd=src)
                        with os.fdopen(source, "rb") as reader:
                            return _write_temporary(
                                fd, tmp, lambda f: shutil.copyfileobj(reader, f), False)
                    return identity_of(os.stat(tmp, dir_fd=fd, follow_symlinks=False))

                return _settle(fd, root, rel, expect, link)
            finally:
                os.close(fd)
        finally:
            os.close(src)

    def delete(self, root: str, rel: str, expect: Identity) -> bool:
        parts = parts_of(rel)
        try:
            fd = _open_folder(root, parts[:-1], create=False)
        except FileNotFoundError:
            return False
        try:
            try:
                st = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                return False
            if not stat_module.S_ISREG(st.st_mode) or (
                    expect != ANY and not expect.matches(st)):
                raise NotOurs(errno.EEXIST, not_ours(self.join(root, rel)))
            os.unlink(parts[-1], dir_fd=fd)
            return True
        finally:
            os.close(fd)

    def href(self, path: str, folder: str) -> str | None:
        return urls.local_link(path, folder) if os.path.isfile(path) else None

    def finder(self, root: str) -> Callable[[str], tuple[str, Stat] | None]:
        """An lstat each (cheaper than listing a folder here), and once per folder a
        look that no folder below the root is a link: a file reached through one,
        or a link itself, is not a thumbnail of this tool's (so it is made again,
        and that write is refused, loudly, rather than counted as up to date)."""
        join, lstat, is_link = self.join, os.lstat, stat_module.S_ISLNK
        plain = _plain_folders(root)

        def find(rel: str) -> tuple[str, Stat] | None:
            path = join(root, rel)
            try:
                st = lstat(path)
            except OSError:
                return None
            if is_link(st.st_mode) or not plain(rel.rpartition("/")[0]):
                return None
            return path, st
        return find

    def lister(self, root: str) -> Callable[[str], dict[str, os.DirEntry[str]]] | None:
        """The regular files of a folder below ``root`` in one listing, no stat
        each (a link is not one, nor is a file reached through a linked folder:
        the same rules as finder); {} for a folder that is not there."""
        plain = _plain_folders(root)
        join = self.join

        def files(rel: str) -> dict[str, os.DirEntry[str]]:
            if not plain(rel):
                return {}
            try:
                with os.scandir(join(root, rel) if rel else root) as it:
                    return {e.name: e for e in it if e.is_file(follow_symlinks=False)}
            except OSError:
                return {}
        return files

    def cheap_size(self, path: str) -> int | None:
        try:
            return os.path.getsize(path)
        except OSError:
            return None

    def lock(self, root: str, wait: bool = False) -> contextlib.AbstractContextManager[None]:
        return output_lock(root, wait=wait)

    def writing(self, root: str, marker_folder: str | None = None
                ) -> contextlib.AbstractContextManager[None]:
        return writing_in(root, marker_folder)

    def walk(self, root: str, names: Names, skip: Sequence[str] = (),
             seen: set[Hashable] | None = None) -> Iterator[Found]:
        st = os.stat(root)
        if not stat_module.S_ISDIR(st.st_mode):  # a file, named: taken as it is
            yield Found(root, os.path.basename(root), st, os.path.abspath(root))
            return
        skipped = {self.folder_identity(d) for d in skip} - {None}
        seen = set() if seen is None else seen
        absolute_root = os.path.join(os.path.abspath(root), "")
        follow, folder_wanted, file_wanted = names.follow_symlinks, names.folder, names.file
        slash = os.sep == "/"
        new = tuple.__new__  # a Found without its Python-level __new__ (the rerun's loop)
        stack = [(root, "")]
        while stack:
            folder, rel_folder = stack.pop()
            try:
                st = os.stat(folder)
                ident = (st.st_dev, st.st_ino)
                if ident in skipped or ident in seen:
                    continue
                seen.add(ident)
                with os.scandir(folder) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except FileNotFoundError:
                continue  # gone while we walked
            except OSError as e:  # its thumbnails are kept: its photos are not known gone
                names.unreadable(folder, rel_folder.rstrip("/"), e.strerror or str(e))
                continue
            subdirs = []
            told = False
            for entry in entries:
                name = entry.name
                rel = rel_folder + name
                try:
                    if not follow and entry.is_symlink():
                        # It may point anywhere, even outside the source tree.
                        names.passed(name, rel, entry.is_dir())
                        continue
                    if entry.is_dir():
                        if folder_wanted(name, rel):
                            subdirs.append((entry.path, rel + "/"))
                        continue
                    if not entry.is_file() or not file_wanted(name, rel):
                        continue
                    st = entry.stat()
                except FileNotFoundError:
                    continue  # vanished or a dangling link while we walked
                except OSError as e:  # listed but not searchable (r-- without x), say
                    if not told:
                        told = True
                        names.unreadable(folder, rel_folder.rstrip("/"), e.strerror or str(e))
                    continue
                yield new(Found, (entry.path, rel, st,
                                  absolute_root + (rel if slash else rel.replace("/", os.sep))))
            # depth-first in name order: push reversed so the first name pops first
            stack.extend(reversed(subdirs))


def _plain_folders(root: str) -> Callable[[str], bool]:
    """Whether a folder below ``root`` ("/"-separated, "" for the root) is reached
    through no symbolic link: an lstat per folder, remembered."""
    lstat, is_link = os.lstat, stat_module.S_ISLNK
    safe: set[str] = {""}

    def plain(folder: str) -> bool:
        if folder in safe:
            return True
        parent, _, _ = folder.rpartition("/")
        try:
            if not plain(parent) or is_link(lstat(LOCAL.join(root, folder)).st_mode):
                return False
        except OSError:
            return False
        safe.add(folder)
        return True
    return plain


def _open_folder(root: str, parts: Sequence[str], create: bool, mode: int = 0o777) -> int:
    """A descriptor of the folder ``parts`` below ``root``, opened one part at a
    time relative to the last with O_NOFOLLOW: a symbolic link below the root is
    refused (Unsafe), whatever it points at; the root itself may be a link.
    ``create`` makes missing folders (and the root)."""
    if create:
        os.makedirs(root, mode, exist_ok=True)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for i, part in enumerate(parts):
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, mode, dir_fd=fd)
            try:
                below = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
                                | os.O_CLOEXEC, dir_fd=fd)
            except OSError as e:
                if e.errno in (errno.ELOOP, errno.ENOTDIR) and stat_module.S_ISLNK(
                        os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode):
                    where = os.path.join(root, *parts[:i + 1])
                    raise Unsafe(errno.ELOOP, f"{where} is a symbolic link in the output "
                                 "folder: thumbnailer writes and deletes nothing through one"
                                 ) from None
                raise
            os.close(fd)
            fd = below
        return fd
    except BaseException:
        os.close(fd)
        raise


def placement(output: str, root: str, owned: Iterable[tuple[str, tuple[int, int, int]]],
              adopt: bool) -> tuple[Store, str, str, Expect]:
    """Where a thumbnail's ``output`` goes through the seam: its store, its root
    (the output's own folder when none is given), its path below the root, and
    what may be at that path already (Target.owned, Target.adopt)."""
    where = store(output)
    root = root or where.parent(output)
    rel = where.relative(output, root)
    if adopt:
        return where, root, rel, ANY
    found = dict(owned).get(rel)
    return where, root, rel, None if found is None else Identity(*found)


def _settle(fd: int, root: str, rel: str, expect: Expect, make: Callable[[str], Identity]
            ) -> Identity:
    """Make a temporary in the folder ``fd`` (``make(name)`` gives its identity),
    move it into place at ``rel`` (_into_place) and note it in the journal; the
    temporary never outlives a failure."""
    tmp = TEMP_PREFIX + os.urandom(8).hex()
    try:
        made = make(tmp)
        _into_place(fd, tmp, rel.rpartition("/")[2], expect, root, rel)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=fd)
        raise
    _journal(root, rel, made)
    return made


def _write_temporary(fd: int, tmp: str, save: Callable[[BinaryIO], object], private: bool
                     ) -> Identity:
    """The new file ``tmp`` in the folder ``fd``, holding what ``save`` writes, with
    the usual permissions (0600 if ``private``); its identity."""
    out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                  0o600, dir_fd=fd)
    with os.fdopen(out, "wb") as f:
        save(f)
        f.flush()
        os.fchmod(f.fileno(), 0o600 if private else 0o666 & ~_UMASK)
        return identity_of(os.fstat(f.fileno()))


def _into_place(fd: int, tmp: str, name: str, expect: Expect, root: str, rel: str) -> None:
    """Move the finished temporary ``tmp`` to ``name`` (both in the folder ``fd``,
    ``rel`` below ``root``) if what is there may be replaced: nothing (a hard link
    makes the name only if it is free, atomically), the file ``expect`` names, or
    one this very run made (a retry after a worker crashed, say: the journal)."""
    if expect is None:
        try:
            os.link(tmp, name, src_dir_fd=fd, dst_dir_fd=fd, follow_symlinks=False)
            os.unlink(tmp, dir_fd=fd)
            return
        except FileExistsError:
            pass
        except OSError:  # no hard links here (FAT, some network shares): look, then rename
            pass
    path = os.path.join(root, rel)
    try:
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        os.rename(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        return
    if stat_module.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, f"{path} is a folder")
    regular = stat_module.S_ISREG(st.st_mode)
    if not (expect == ANY or (regular and expect is not None and expect.matches(st))
            or (regular and _made_by_this_run(root, rel, st))):
        raise NotOurs(errno.EEXIST, not_ours(path))
    os.rename(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)


def _made_by_this_run(root: str, rel: str, st: os.stat_result) -> bool:
    """Whether the running mark's journal says a run made this file as it is. Only
    a file changed since the mark was first made is looked up (the mark's first
    line says when), so a folder of files from before costs no reading."""
    try:
        fd = os.open(os.path.join(root, RUNNING_NAME), os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as f:
        first = f.readline().split()
        if len(first) != 2 or first[0] != STARTED or not first[1].isdigit() \
                or st.st_mtime_ns < int(first[1]):
            return False
        line = journal_line(rel, identity_of(st))
        return any(found == line for found in f)


def _journal(root: str, rel: str, made: Identity) -> None:
    """Note a file just made in the running mark (atomic.RUNNING_NAME), if a run is
    writing: should the run be killed before it records the file, the next run
    still knows the file is its own (atomic.made_by_killed_run)."""
    try:
        fd = os.open(os.path.join(root, RUNNING_NAME),
                     os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return  # no run is marked as writing here (a script calling render)
    try:
        os.write(fd, journal_line(rel, made))
    except OSError:
        pass
    finally:
        os.close(fd)


#: The local file systems; the store of every path that is not a URL.
LOCAL = Local()


def store(path: str) -> Store:
    """The store that holds ``path``."""
    if not is_url(path):
        return LOCAL
    return _remote(path.partition("://")[0].lower())


@functools.lru_cache(maxsize=16)
def _remote(protocol: str) -> Store:
    from .remote import Remote  # only for URLs: local runs never import it

    return Remote(protocol)


def check(path: str) -> None:
    """Raise OSError if ``path``'s store cannot be used here (no fsspec, an
    unknown protocol), before anything is touched."""
    store(path).check()


# Module-level shorthands for the common calls, each on the path's own store.

def join(root: str, rel: str) -> str:
    return store(root).join(root, rel)
