"""Sources and outputs on object stores and other fsspec file systems: the
``storage.Store`` of a URL, imported only when a run meets one.

What a store must give, and how this one gets it from fsspec:
- listing: one request per folder (walks and up-to-date checks), with each
  object's size and modification time, which the up-to-date check records like
  a local stat; never the whole tree at once, so memory does not grow with it;
- reads: the whole object into memory (an image is decoded whole anyway);
- writes: the encoded bytes in one ``pipe_file``, a single PUT on S3, so an object
  appears whole under its final key or not at all: never partial.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import os
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

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
    not_ours,
    parts_of,
)

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

#: Folder listings a finder keeps: a source folder's thumbnails may lie in a few
#: output folders (a --name of "{size}/{stem}" gives one per size).
FOLDERS_KEPT = 16


class Remote(Store):
    """One fsspec protocol. fsspec reads endpoint and credentials from its config
    and the environment (e.g. FSSPEC_S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID)."""

    def __init__(self, protocol: str) -> None:
        self.protocol = protocol

    @property
    def fs(self) -> AbstractFileSystem:
        return _filesystem(self.protocol, os.getpid())

    def check(self) -> None:
        self.fs  # noqa: B018 - made for its errors

    def join(self, root: str, rel: str) -> str:
        return root.rstrip("/") + "/" + rel

    def relative(self, path: str, root: str) -> str:
        prefix = root.rstrip("/") + "/"
        return path[len(prefix):] if path.startswith(prefix) else path

    def canonical(self, path: str) -> str:
        return path.rstrip("/")

    def folder_identity(self, path: str) -> str:
        return self.canonical(path)

    def parent(self, path: str) -> str:
        return path.rstrip("/").rpartition("/")[0]

    def stat(self, path: str) -> ObjectStat:
        with _store_errors():
            info = self.fs.info(path)
        if info.get("type") == "directory":
            raise IsADirectoryError(path)
        return ObjectStat(_mtime_ns(info), int(info.get("size") or 0), 0, hash(path))

    def exists(self, path: str) -> bool:
        with _store_errors():
            return bool(self.fs.exists(path))

    def is_dir(self, path: str) -> bool:
        with _store_errors():
            return bool(self.fs.isdir(path))

    def is_file(self, path: str) -> bool:
        try:
            return bool(self.fs.isfile(path))
        except Exception:
            return False

    def read(self, path: str) -> bytes:
        with _store_errors():
            return bytes(self.fs.cat_file(path))

    def readable(self, path: str) -> BinaryIO:
        return io.BytesIO(self.read(path))

    def write(self, path: str, data: bytes, private: bool = False) -> None:
        """One PUT of the whole object: it is never visible half-written."""
        with _store_errors():
            self.fs.pipe_file(path, data)


    def remove(self, path: str) -> None:
        with _store_errors():
            self.fs.rm_file(path)

    def put(self, root: str, rel: str, save: Callable[[BinaryIO], object],
            expect: Expect = None, private: bool = False) -> Identity:
        """One PUT, after one look at the key: an object that this tool cannot
        prove it made (by its size: an object has no inode, and its time is the
        server's) is left as it is. A store has no links to follow."""
        path = self.join(root, "/".join(parts_of(rel)))
        buffer = io.BytesIO()
        save(buffer)
        self._claim(path, expect)
        self.write(path, buffer.getvalue(), private)
        return Identity(buffer.tell(), 0, 0)

    def put_link(self, root: str, existing: str, rel: str, expect: Expect = None) -> Identity:
        """A copy (stores have no links), server-side where the store can."""
        source = self.join(root, "/".join(parts_of(existing)))
        path = self.join(root, "/".join(parts_of(rel)))
        self._claim(path, expect)
        with _store_errors():
            self.fs.copy(source, path)
        return Identity(self.stat(path).st_size, 0, 0)

    def delete(self, root: str, rel: str, expect: Identity) -> bool:
        path = self.join(root, "/".join(parts_of(rel)))
        try:
            found = self.stat(path)
        except (FileNotFoundError, IsADirectoryError):
            return False
        if expect != ANY and not expect.matches(found):
            raise NotOurs(errno.EEXIST, not_ours(self.join(root, rel)))
        self.remove(path)
        return True

    def _claim(self, path: str, expect: Expect) -> None:
        try:
            found = self.stat(path)
        except FileNotFoundError:
            return
        except IsADirectoryError:  # a "folder" of keys under this name: not a file
            raise Unsafe(errno.EISDIR, f"{path} is a folder of the output") from None
        if expect is None or (expect != ANY and not expect.matches(found)):
            raise NotOurs(errno.EEXIST, not_ours(path))

    def finder(self, root: str) -> Callable[[str], tuple[str, Stat] | None]:
        """One listing per folder, when the first file of it is looked up; the
        last few folders' are kept (a run meets a folder's files together)."""
        listed: dict[str, dict[str, Stat]] = {}

        def find(rel: str) -> tuple[str, Stat] | None:
            path = self.join(root, rel)
            folder = self.parent(path)
            files = listed.get(folder)
            if files is None:
                if len(listed) >= FOLDERS_KEPT:
                    del listed[next(iter(listed))]  # the oldest
                files = listed[folder] = self._list(folder)[0]
            st = files.get(path)
            return None if st is None else (path, st)
        return find

    def _list(self, folder: str) -> tuple[dict[str, Stat], list[str]]:
        """The files directly in ``folder`` (with their stats) and its subfolders,
        in ``folder``'s own spelling: one request (a page at a time)."""
        fs = self.fs
        try:
            with _store_errors():
                found = fs.ls(folder, detail=True, refresh=True)
        except FileNotFoundError:
            return {}, []
        finally:
            fs.invalidate_cache(folder)  # fsspec would keep every listing: memory
        # Keys in the folder's own spelling (memory:// comes back as memory:///).
        prefix, base = fs._strip_protocol(folder).rstrip("/") + "/", folder.rstrip("/") + "/"
        files: dict[str, Stat] = {}
        folders = []
        for info in found:
            name = info["name"]
            if not name.startswith(prefix):
                continue
            path = base + name[len(prefix):].rstrip("/")
            if info.get("type") == "directory":
                folders.append(path)
            else:
                files[path] = ObjectStat(_mtime_ns(info), int(info.get("size") or 0), 0,
                                         hash(name))
        return files, folders

    def walk(self, root: str, names: Names, skip: Sequence[str] = (),
             seen: set[Hashable] | None = None) -> Iterator[Found]:
        """The local walk's rules and order (a folder's files by name, then its
        folders), one listing per folder: memory holds the folders on the way
        down, never the whole tree."""
        if not self.is_dir(root):  # one object, named: taken as it is
            yield Found(root, root.rstrip("/").rsplit("/", 1)[-1], self.stat(root), root)
            return
        skipped = {self.canonical(s) for s in skip}
        stack = [(root.rstrip("/"), "")]
        while stack:
            folder, rel_folder = stack.pop()
            files, folders = self._list(folder)
            for path, st in sorted(files.items()):
                name = path.rpartition("/")[2]
                if names.file(name, rel_folder + name):
                    yield Found(path, rel_folder + name, st, path)
            subfolders = []
            for path in sorted(folders):
                name = path.rpartition("/")[2]
                if path not in skipped and names.folder(name, rel_folder + name):
                    subfolders.append((path, f"{rel_folder}{name}/"))
            stack.extend(reversed(subfolders))


@functools.lru_cache(maxsize=16)
def _filesystem(protocol: str, pid: int) -> AbstractFileSystem:
    """One file system per protocol and process: an instance made before a fork
    (the planner's) must not be used in the forked workers (s3fs refuses)."""
    try:
        import fsspec
    except ImportError:
        raise OSError(
            f"{protocol}:// paths need the optional extra: pip install 'thumbnailer[cloud]'"
        ) from None
    try:
        return fsspec.filesystem(protocol)
    except (ImportError, ValueError) as e:
        raise OSError(f"cannot use {protocol}:// here: {e}") from None


def _mtime_ns(info: Mapping[str, Any]) -> int:
    """An object's modification time in ns, whatever the store calls it."""
    import datetime  # only for objects: local runs never import it here

    for key in ("mtime", "LastModified", "last_modified", "updated", "created", "modified"):
        value = info.get(key)
        if value is None:
            continue
        if isinstance(value, str):
            try:
                value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
        if isinstance(value, datetime.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=datetime.timezone.utc)
            return round(value.timestamp() * 1_000_000) * 1000
        if isinstance(value, (int, float)):
            return round(value * 1_000_000) * 1000
    return 0


@contextlib.contextmanager
def _store_errors() -> Iterator[None]:
    """A store's own exception types (botocore's, say) become OSError, so callers
    report them like a disk's errors."""
    try:
        yield
    except OSError:
        raise
    except Exception as e:
        raise OSError(f"{type(e).__name__}: {e}") from e
