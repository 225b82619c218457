"""Find the source images named by the SOURCE arguments."""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field

from ..read.kinds import IMAGE_EXTENSIONS, walked
from ..spec import Settings
from ..storage import Found, store

#: A file to thumbnail, and where it sits relative to the argument that found it.
Source = Found


@dataclass(frozen=True)
class Selection:
    """The walking options (a projection of Settings, so this module needs no images)."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    hidden: bool = False
    follow_symlinks: bool = False
    extensions: frozenset[str] = IMAGE_EXTENSIONS

    def folder(self, name: str, rel: str) -> bool:
        """A folder is entered unless hidden or excluded."""
        if not self.hidden and name.startswith("."):
            return False
        return not (self.exclude and _matches(self.exclude, name, rel))

    def file(self, name: str, rel: str) -> bool:
        """A file is a source if it is not hidden or excluded, has an image name,
        and is included."""
        return (self.folder(name, rel) and is_image_name(name, self.extensions)
                and not (self.include and not _matches(self.include, name, rel)))


def selection(settings: Settings) -> Selection:
    """The walking options of a job."""
    extensions = walked(settings)
    return Selection(settings.include, settings.exclude, settings.hidden,
                     settings.follow_symlinks, extensions)


@dataclass
class WalkCounts:
    """What the walk passed over that a person may want to know about."""

    #: Symlinks to folders, or to files with an image name, not followed.
    symlinks: int = 0
    #: Sources found under each SOURCE argument (one with none may be an empty
    #: mount point: --prune's guard asks).
    found: Counter[str] = field(default_factory=Counter)
    #: Folders that could not be listed, as (path, relative folder, reason): each
    #: is a failure, and its thumbnails are kept from --prune.
    unreadable: list[tuple[str, str, str]] = field(default_factory=list)


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
    sorted), local or on an object store alike.

    Every path is a source of its own, hard links included: a photo linked into
    two album folders belongs in both mirrors (plan links their outputs). A file
    is yielded twice only if named twice: as an argument and inside a walked
    folder, it counts once. ``skip_dirs`` (the output folder) are never entered.
    Symlinks met on the walk (to files or folders) are only followed with
    ``follow_symlinks`` (``counts`` counts the others), and then each real folder
    is entered at most once, so a symlink loop ends. A SOURCE argument that is
    itself a symlink is followed: the user named it.
    """
    counts = counts if counts is not None else WalkCounts()
    names = _Names(selection, counts)
    # Files named as arguments, by (folder, name): met again in a walked folder,
    # or named twice, they are yielded the first time only.
    named = {_entry(arg): False for arg in arguments if not store(arg).is_dir(arg)}
    seen: set[Hashable] = set()
    for arg in arguments:
        for source in store(arg).walk(arg, names, skip_dirs, seen):
            if not named or _first_time(named, source.path):
                counts.found[arg] += 1
                yield source


#: A part of a job to walk again (--watch): a folder relative to the SOURCE
#: folders ("" for their tops and the files named as arguments), and whether its
#: subfolders too.
Scope = tuple[tuple[str, bool], ...]


def walk_scope(
    arguments: Sequence[str],
    scope: Scope,
    selection: Selection = Selection(),
    skip_dirs: Sequence[str] = (),
    counts: WalkCounts | None = None,
) -> Iterator[Source]:
    """``walk`` over the folders of ``scope`` only, as the whole walk would meet
    their files (the same relative paths, each folder's files from the arguments
    in order, so the same names): what a watched folder's change needs, not a
    walk of the whole library. A folder inside a recursive one is walked once."""
    counts = counts if counts is not None else WalkCounts()
    deep = sorted(rel for rel, recursive in scope if recursive)
    chosen = sorted({(rel, recursive) for rel, recursive in scope
                     if not any(_under(rel, top) and (rel, recursive) != (top, True)
                                for top in deep)})
    seen: set[Hashable] = set()
    for rel, recursive in chosen:
        prefix = f"{rel}/" if rel else ""
        names = _Names(selection, counts, prefix, recursive)
        for arg in arguments:
            where = store(arg)
            if not where.is_dir(arg):
                if rel == "" and where.exists(arg):
                    counts.found[arg] += 1
                    yield from where.walk(arg, names, skip_dirs, seen)
                continue
            root = where.join(arg, rel) if rel else arg
            if any(not selection.folder(part, "/".join(rel.split("/")[:i + 1]))
                   for i, part in enumerate(rel.split("/")) if rel) or not where.is_dir(root):
                continue
            for source in where.walk(root, names, skip_dirs, seen):
                counts.found[arg] += 1
                yield source._replace(rel=prefix + source.rel)


def _plain_file(extensions: frozenset[str]) -> Callable[[str, str], bool]:
    """Selection.file without globs or hidden files: the test every file of a
    walk passes through, as one function (a third of it was calls)."""
    def file(name: str, rel: str) -> bool:
        dot = name.rfind(".")
        return dot > 0 and name[0] != "." and name[dot:].lower() in extensions
    return file


def _under(rel: str, top: str) -> bool:
    return top == "" or rel == top or rel.startswith(top + "/")


class _Names:
    """A selection as the stores' walks ask for it, counting what it passes over."""

    def __init__(self, selection: Selection, counts: WalkCounts, prefix: str = "",
                 recursive: bool = True) -> None:
        self.selection, self.counts, self.prefix = selection, counts, prefix
        self.follow_symlinks = selection.follow_symlinks
        self.folder: Callable[[str, str], bool] = selection.folder
        self.file: Callable[[str, str], bool] = selection.file
        if not (selection.include or selection.exclude or selection.hidden):
            self.file = _plain_file(selection.extensions)  # Selection.file, inlined
        if prefix or not recursive:  # a scope's folder: its paths are relative to it
            self.folder = lambda name, rel: recursive and selection.folder(name, prefix + rel)
            self.file = lambda name, rel: selection.file(name, prefix + rel)

    def unreadable(self, path: str, rel: str, reason: str) -> None:
        self.counts.unreadable.append((path, (self.prefix + rel).rstrip("/"), reason))

    def passed(self, name: str, rel: str, is_dir: bool) -> None:
        """Count a symlink not followed, if it would otherwise have been walked."""
        s, rel = self.selection, self.prefix + rel
        if s.folder(name, rel) and (is_dir or is_image_name(name, s.extensions)):
            self.counts.symlinks += 1


def _first_time(named: dict[tuple[Hashable | None, str], bool], path: str) -> bool:
    """False for a file named as an argument that was already yielded; marks it."""
    entry = _entry(path)
    if named.get(entry):
        return False
    if entry in named:
        named[entry] = True
    return True


def _entry(path: str) -> tuple[Hashable | None, str]:
    """A directory entry: its folder's identity and its name."""
    where = store(path)
    folder, name = where.parent(path), path.rstrip(where.sep).rpartition(where.sep)[2]
    return where.folder_identity(folder), name


def hard_link_key(source: Source) -> tuple[int, int, int, int] | None:
    """What makes two paths one file, for a local file with other hard links."""
    st = source.stat
    if getattr(st, "st_nlink", 1) < 2:  # an object's stat has no links
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
