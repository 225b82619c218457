"""Find the source images named by the SOURCE arguments."""

from __future__ import annotations

import fnmatch
import os
import stat as stat_module
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from .spec import DECODER_EXTENSIONS, OTHER_DECODER_EXTENSIONS, Settings, is_remote

if TYPE_CHECKING:
    from .storage import RemoteStat

#: Extensions walked by default: those of the decoders opened by default.
#: (Explicitly named files are tried whatever their extension.)
IMAGE_EXTENSIONS = frozenset(ext for exts in DECODER_EXTENSIONS.values() for ext in exts)


def extensions_for(decoders: Sequence[str] | None) -> frozenset[str]:
    """The names walked for these decoders (None: all of Pillow's)."""
    if decoders is None:
        return IMAGE_EXTENSIONS | {e for exts in OTHER_DECODER_EXTENSIONS.values() for e in exts}
    return IMAGE_EXTENSIONS | {e for name in decoders
                               for e in OTHER_DECODER_EXTENSIONS.get(name, ())}


class Source(NamedTuple):
    """A file to thumbnail, and where it sits relative to the argument that found it.
    (A tuple: the walk makes one per file, and it is the whole of a rerun's work.)"""

    path: str  # as the user would write it: the argument joined with the relative part
    rel: str  # relative to its root, "/"-separated; the output mirrors it
    stat: os.stat_result | RemoteStat
    absolute: str  # the path made absolute (not resolved: links stay links)


@dataclass(frozen=True)
class Selection:
    """The walking options (a projection of Settings, so this module needs no images)."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    hidden: bool = False
    follow_symlinks: bool = False
    extensions: frozenset[str] = IMAGE_EXTENSIONS


def selection(settings: Settings) -> Selection:
    """The walking options of a job."""
    return Selection(settings.include, settings.exclude, settings.hidden,
                     settings.follow_symlinks, extensions_for(settings.decoders))


@dataclass
class WalkCounts:
    """What the walk passed over that a person may want to know about."""

    #: Symlinks to folders, or to files with an image name, not followed.
    symlinks: int = 0


def _matches(patterns: Sequence[str], name: str, rel: str) -> bool:
    """Case-insensitive glob match: a pattern with "/" sees the relative path,
    otherwise just the name (so ``*.jpg`` matches at any depth)."""
    name, rel = name.lower(), rel.lower()
    for pattern in patterns:
        pattern = pattern.lower()
        if fnmatch.fnmatchcase(rel if "/" in pattern else name, pattern):
            return True
    return False


def is_image_name(name: str, extensions: frozenset[str] = IMAGE_EXTENSIONS) -> bool:
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in extensions


def walk(
    arguments: Sequence[str],
    selection: Selection = Selection(),
    skip_dirs: Sequence[str] = (),
    counts: WalkCounts | None = None,
) -> Iterator[Source]:
    """Yield each source path once, in a stable order (arguments in order, names
    sorted).

    Every path is a source of its own, hard links included: a photo linked into
    two album folders belongs in both mirrors (plan links their outputs). A file
    is yielded twice only if named twice: as an argument and inside a walked
    folder, it counts once. ``skip_dirs`` (the output folder) are never entered.
    Symlinks met on the walk (to files or folders) are only followed with
    ``follow_symlinks`` (``counts`` counts the others), and then each real folder
    is entered at most once, so a symlink loop ends. A SOURCE argument that is
    itself a symlink is followed: the user named it.
    """
    skip = {_identity(d) for d in skip_dirs if not is_remote(d)}
    skip.discard(None)
    counts = counts if counts is not None else WalkCounts()
    # Files named as arguments, by (folder, name): met again in a walked folder,
    # or named twice, they are yielded the first time only.
    named = {_entry(arg): False for arg in arguments
             if not is_remote(arg) and not _is_dir(os.stat(arg))}
    seen_dirs: set[tuple[int, int]] = set()
    for arg in arguments:
        if is_remote(arg):
            yield from _walk_remote(arg, selection, skip_dirs)
            continue
        st = os.stat(arg)
        if not _is_dir(st):
            if _first_time(named, arg):
                yield Source(arg, os.path.basename(arg), st, os.path.abspath(arg))
            continue
        for source in _walk_dir(arg, selection, skip, seen_dirs, counts):
            if not named or _first_time(named, source.path):
                yield source


def _first_time(named: dict, path: str) -> bool:
    """False for a file named as an argument that was already yielded; marks it."""
    entry = _entry(path)
    if named.get(entry):
        return False
    if entry in named:
        named[entry] = True
    return True


def _entry(path: str) -> tuple[tuple[int, int] | None, str]:
    """A directory entry: its folder's identity and its name."""
    return _identity(os.path.dirname(path) or "."), os.path.basename(path)


def _walk_dir(root, selection, skip, seen_dirs, counts: WalkCounts) -> Iterator[Source]:
    absolute_root = os.path.join(os.path.abspath(root), "")
    stack = [(root, "")]
    while stack:
        folder, rel_folder = stack.pop()
        ident = _identity(folder)
        if ident is None or ident in skip or ident in seen_dirs:
            continue
        seen_dirs.add(ident)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue  # unreadable folder: nothing in it can be a source
        subdirs = []
        for entry in entries:
            name = entry.name
            if not selection.hidden and name.startswith("."):
                continue
            rel = f"{rel_folder}{name}"
            if selection.exclude and _matches(selection.exclude, name, rel):
                continue
            try:
                if not selection.follow_symlinks and entry.is_symlink():
                    # It may point anywhere, even outside the source tree.
                    if is_image_name(name, selection.extensions) or entry.is_dir():
                        counts.symlinks += 1
                    continue
                if entry.is_dir():
                    subdirs.append((entry.path, rel + "/"))
                    continue
                if not entry.is_file() or not is_image_name(name, selection.extensions):
                    continue
                if selection.include and not _matches(selection.include, name, rel):
                    continue
                st = entry.stat()
            except OSError:
                continue  # vanished or a dangling link while we walked
            yield Source(entry.path, rel, st, absolute_root + rel.replace("/", os.sep))
        # depth-first in name order: push reversed so the first name pops first
        stack.extend(reversed(subdirs))


def _walk_remote(url: str, selection: Selection, skip_dirs: Sequence[str]) -> Iterator[Source]:
    """A SOURCE on an object store: the same selection rules, over one listing."""
    from . import storage

    for entry in storage.walk(url, skip=[d for d in skip_dirs if is_remote(d)]):
        if entry.url == url:  # the SOURCE is one object, named: taken as it is
            yield Source(url, entry.rel, entry.stat, url)
            continue
        parts = entry.rel.split("/")
        if not selection.hidden and any(p.startswith(".") for p in parts):
            continue
        if selection.exclude and any(
            _matches(selection.exclude, part, "/".join(parts[:i + 1]))
            for i, part in enumerate(parts)
        ):
            continue
        name = parts[-1]
        if not is_image_name(name, selection.extensions):
            continue
        if selection.include and not _matches(selection.include, name, entry.rel):
            continue
        yield Source(entry.url, entry.rel, entry.stat, entry.url)


def _is_dir(st: os.stat_result) -> bool:
    return stat_module.S_ISDIR(st.st_mode)


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)
