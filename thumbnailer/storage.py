"""Sources and outputs on object stores and other fsspec file systems; and the
few file operations (read, write, join) that take either a local path or a URL.

A SOURCE or --output written as a URL (``s3://bucket/photos``, ``gs://...``,
``memory://...``) goes through fsspec, with the optional extra ``[cloud]``; local
paths (and ``file://`` URLs, turned into paths) keep plain file I/O, so the
default path never imports fsspec.

What a store must give, and how this module uses it:
- listing: one recursive ``find`` per SOURCE, with each object's size and
  modification time, which the up-to-date check records like a local stat;
- reads: the whole object into memory (an image is decoded whole anyway);
- writes: the encoded bytes in one ``pipe_file``, a single PUT on S3, so an object
  appears whole under its final key or not at all: never partial.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from .atomic import atomic_write
from .spec import is_remote


class RemoteStat(NamedTuple):
    """The parts of os.stat_result the planner and render use, for an object."""

    st_mtime_ns: int
    st_size: int
    st_dev: int = 0
    st_ino: int = 0

    @property
    def st_mtime(self) -> float:
        return self.st_mtime_ns / 1e9


def join(root: str, rel: str) -> str:
    """``rel`` (relative and "/"-separated, as the state file stores it) under
    ``root``, a local folder in this system's spelling or a URL."""
    if is_remote(root):
        return root.rstrip("/") + "/" + rel
    return os.path.join(root, rel if os.sep == "/" else rel.replace("/", os.sep))


def read_file(path: str) -> bytes:
    """A local file's or an object's bytes; a store's own errors become OSError."""
    if not is_remote(path):
        with open(path, "rb") as f:
            return f.read()
    return read_bytes(path)


def write_file(path: str, data: bytes) -> None:
    """Write so that ``path`` only ever holds complete contents: locally a temporary
    renamed into place, on a store one PUT."""
    if is_remote(path):
        write_bytes(path, data)
        return
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with atomic_write(path) as f:
        f.write(data)


def relative(path: str, root: str) -> str:
    """``path`` below the URL ``root``, "/"-separated."""
    return path[len(root.rstrip("/")) + 1:] if path.startswith(root.rstrip("/") + "/") else path


@functools.lru_cache(maxsize=16)
def _fs(protocol: str, pid: int):
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


def filesystem(url: str):
    """The fsspec file system of ``url`` (one per protocol and process; fsspec
    reads endpoint and credentials from its config and the environment, e.g.
    FSSPEC_S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID)."""
    return _fs(url.partition("://")[0].lower(), os.getpid())


def _mtime_ns(info: dict) -> int:
    """An object's modification time in ns, whatever the store calls it."""
    for key in ("mtime", "LastModified", "last_modified", "updated", "created", "modified"):
        value = info.get(key)
        if value is None:
            continue
        import datetime  # only for objects: local runs never import it here

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


def stat(url: str) -> RemoteStat:
    """Raises FileNotFoundError for a missing object."""
    info = filesystem(url).info(url)
    if info.get("type") == "directory":
        raise IsADirectoryError(url)
    return RemoteStat(_mtime_ns(info), int(info.get("size") or 0), 0, hash(url))


def exists(url: str) -> bool:
    return filesystem(url).exists(url)


def is_dir(url: str) -> bool:
    return filesystem(url).isdir(url)


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


def read_bytes(url: str) -> bytes:
    with _store_errors():
        return filesystem(url).cat_file(url)


def write_bytes(url: str, data: bytes) -> None:
    """One PUT of the whole object: it is never visible half-written."""
    with _store_errors():
        filesystem(url).pipe_file(url, data)


def copy(source: str, url: str) -> None:
    """Copy one object to another on the same store (no links there); the store
    copies it server-side where it can."""
    with _store_errors():
        filesystem(url).copy(source, url)


def remove(url: str) -> None:
    with _store_errors():
        filesystem(url).rm_file(url)


def listing(root: str) -> dict[str, RemoteStat]:
    """Every object under ``root`` (recursively), by URL: one request per page of
    results, instead of one per file."""
    fs = filesystem(root)
    fs.invalidate_cache()  # this process may have written there since it last listed
    try:
        found = fs.find(root, detail=True)
    except FileNotFoundError:
        return {}
    return {fs.unstrip_protocol(path): RemoteStat(_mtime_ns(info), int(info.get("size") or 0),
                                                  0, hash(path))
            for path, info in found.items() if info.get("type") != "directory"}


class Entry(NamedTuple):
    url: str
    rel: str
    stat: RemoteStat


def walk(url: str, skip: Sequence[str] = ()) -> Iterator[Entry]:
    """Every object under ``url`` in name order, or ``url`` itself if it is one;
    objects under a ``skip`` prefix (the output) are left out. Selection by name
    (hidden, globs, extensions) is the caller's."""
    if not is_dir(url):
        yield Entry(url, url.rstrip("/").rsplit("/", 1)[-1], stat(url))
        return
    prefixes = tuple(s.rstrip("/") + "/" for s in skip)
    for path, st in sorted(listing(url).items()):
        if prefixes and path.startswith(prefixes):
            continue
        yield Entry(path, relative(path, url), st)
