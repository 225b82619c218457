"""Output names: the --name template, and collisions between sources.

A source ``SOURCE/sub/IMG_1.JPG`` is named ``sub/<template>`` for each size. Two
sources of one folder may want the same name (``a.jpg`` beside ``a.png``, or
``A.webp`` on a case-insensitive disk); the first in walk order keeps it, the
next gets its extension in the name (``a-png``), then a number. --shard splits a
job by these names.
"""

from __future__ import annotations

import functools
import hashlib
import os
import string
import unicodedata
from collections.abc import Callable, Iterator, Sequence

from ..errors import JobError
from ..spec import Size

_TEMPLATE_FIELDS = {"stem", "size", "width", "height"}

#: A --name template with everything but {stem} filled in: stem -> name.
Namer = Callable[[str], str]

#: Stands for the stem while the rest of a template is filled in: no file name holds it.
_STEM = "\0"


def check_template(template: str, sizes: Sequence[Size]) -> None:
    """Refuse a --name template that is malformed, leaves the output root, or gives
    two sizes the same name. Raises JobError (setting "name") with a reason a person
    can act on."""
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as e:
        raise JobError(f"Settings.name {template!r}: {e}", setting="name") from None
    unknown = fields - _TEMPLATE_FIELDS
    if unknown:
        raise JobError(
            f"Settings.name {template!r}: unknown field {{{sorted(unknown)[0]}}}; "
            f"use {', '.join('{' + f + '}' for f in sorted(_TEMPLATE_FIELDS))}",
            setting="name",
        )
    names = [namer("x") for namer in namers(template, sizes)]
    for name in names:
        if name_problem(name) is not None:
            raise JobError(
                f"Settings.name {template!r} gives {name!r}: it must be a relative path "
                "inside the output folder, without '..' or empty parts",
                setting="name",
            )
    if len(set(names)) != len(names):
        raise JobError(
            f"Settings.name {template!r} gives several sizes the same name: add {{size}}",
            setting="name",
        )


def name_problem(name: str) -> str | None:
    """What is wrong with a name a template gave (relative to its folder), or None:
    it must be a relative "/"-separated path whose parts are neither empty, "."
    nor "..", without a backslash (a separator on Windows and some shares)."""
    parts = name.split("/")
    if name.startswith("/") or ".." in parts:
        return "which is outside the output folder"
    if not name or "\\" in name or any(p in ("", ".") for p in parts):
        return "which is not a usable file name (empty parts, '.' or a backslash)"
    return None


def is_plain(template: str) -> bool:
    """Whether {stem} goes into the template's names as it is (no format spec or
    conversion): then a stem, a file name without "/", cannot make a name leave
    its folder once check_template has passed the template. Otherwise the name
    depends on the stem ({stem:.2} of "..ab" is ".."), and each is checked
    (name_problem)."""
    return all(f != "stem" or (not spec and not conv)
               for _, f, spec, conv in string.Formatter().parse(template))


def namers(template: str, sizes: Sequence[Size]) -> list[Namer]:
    """One namer per size with everything but {stem} filled in. Naming a file
    is the hot path of an unchanged rerun: where {stem} is plain (no format
    spec), the namer joins the stem into the filled-in parts, 4x faster than
    a format call."""
    plain = is_plain(template)
    found = []
    for size in sizes:
        fill = functools.partial(template.format, size=size.label, width=size.width or "",
                                 height=size.height or "")
        if plain:
            found.append(_joiner(fill(stem=_STEM).split(_STEM)))
        else:
            found.append(functools.partial(_by_format, fill))
    return found


def _joiner(parts: list[str]) -> Namer:
    if len(parts) == 2:
        head, tail = parts
        return lambda stem: head + stem + tail
    return lambda stem: stem.join(parts)


def _by_format(fill: Callable[..., str], stem: str) -> str:
    return fill(stem=stem)


def fold(name: str) -> str:
    """A name as collisions compare it: case-folded, and for a name that is not
    ASCII, NFC-normalised too (macOS gives "café" decomposed, most others composed;
    the ASCII test is O(1), so the usual name pays nothing for it)."""
    folded = name.casefold()
    return folded if folded.isascii() else unicodedata.normalize("NFC", folded)


class Taken:
    """The names taken so far, compared folded (see fold: for macOS and Windows
    disks), by output folder, itself folded: ``Sub`` and ``sub`` are one folder
    there, so they share one set. Names of different folders never collide, since
    each starts with its folder: a folder's set holds its names without the folder.

    With at most one SOURCE folder, a folder's names are let go once the walk
    has left it (a folder's subtree comes in one run, in a local walk and in an
    object store's sorted listing alike), so memory holds the names of the
    folders on the current path only, and the spellings of every folder met.
    A folder whose folded path was met before under another spelling (``Sub``,
    then ``café``, then ``sub``: not adjacent in name order) gets the names of
    the earlier spellings back from ``recall(spelling, names)``, which names
    each of that folder's files again, as the walk did. With several SOURCE
    folders the same relative folder comes again from another one, so every
    name is kept."""

    def __init__(self, bounded: bool,
                 recall: Callable[[str, set[str]], None] | None = None) -> None:
        self.bounded = bounded
        self.recall = recall if bounded else None
        self.groups: dict[str, set[str]] = {}
        self.current: str | None = None
        #: Folded folder -> its spellings met, in walk order (only with recall).
        self.spellings: dict[str, list[str]] = {}
        self._folder: str | None = None  # the last folder asked about, and its set
        self._names: set[str] = set()

    def of(self, folder: str) -> set[str]:
        """The taken names of ``folder`` (relative, "/"-separated)."""
        if folder == self._folder:  # the file before's folder: nearly every call
            return self._names
        group = fold(folder)
        if group != self.current:
            if self.bounded:
                here = group + "/"
                self.groups = {g: names for g, names in self.groups.items()
                               if not g or here.startswith(g + "/")}
            self.current = group
        names = self.groups.get(group)
        if self.recall is not None:
            seen = self.spellings.setdefault(group, [])
            if folder not in seen:
                if names is None and seen:  # let go under another spelling: name again
                    names = set()
                    for spelling in seen:
                        self.recall(spelling, names)
                seen.append(folder)
        if names is None:
            names = set()
        self.groups[group] = names
        self._folder, self._names = folder, names
        return names

    def let_go(self, folder: str) -> None:
        """Forget ``folder``'s names, taken whole rather than named one by one
        (plan/memo.py): another spelling of it met later has them recalled."""
        self.groups.pop(fold(folder), None)
        self._folder = None


def free_keys(namers: Sequence[Namer], folder: str, stem: str, ext: str, taken: set[str]
              ) -> tuple[tuple[str, ...], bool]:
    """The first candidate names not taken (case-insensitively): the plain stem,
    then the stem with the source's extension ("a-png"), then numbered
    ("a-png-2", ...). Marks them taken; also says whether the source was renamed.
    ``taken`` is the folder's (see Taken.of), so it holds names without the folder."""
    prefix = folder + "/" if folder else ""
    names = [namer(stem) for namer in namers]  # the plain stem, nearly always free
    folded = [fold(name) for name in names]
    renamed = not taken.isdisjoint(folded)
    if renamed:
        for candidate in _candidates(stem, ext):
            names = [namer(candidate) for namer in namers]
            folded = [fold(name) for name in names]
            if taken.isdisjoint(folded):
                break
        else:  # pragma: no cover
            raise ValueError(f"cannot find a free thumbnail name for {stem!r}")
    taken.update(folded)
    return tuple([prefix + name for name in names]), renamed


def paired(taken: set[str], stem: str, companion: bool) -> bool:
    """Whether a collision over ``stem`` is a pair a camera or a phone makes: a RAW
    or a video (a ``companion``) beside the photo of its name, whichever the walk
    met first. Such a pair is expected, and not warned about. A companion's stem
    is marked in its folder's ``taken`` names (no name holds a NUL)."""
    mark = "\0" + fold(stem)
    if companion:
        taken.add(mark)
        return True
    return mark in taken


def split_name(filename: str) -> tuple[str, str]:
    """os.path.splitext, without its cost for the usual name (it is per file)."""
    dot = filename.rfind(".")
    if dot > 0 and filename[0] != ".":
        return filename[:dot], filename[dot:]
    return os.path.splitext(filename)


def _candidates(stem: str, ext: str) -> Iterator[str]:
    """Names to try, in order, once the plain stem is taken."""
    tag = f"{stem}-{ext.lstrip('.').lower()}" if ext else stem
    yield tag
    for n in range(2, 10_000):
        yield f"{tag}-{n}"


def in_shard(name: str, shard: tuple[int, int]) -> bool:
    """Whether a source (by its output name, unique in the job) is in shard K of N.

    A hash of the name, not a position in the list: adding or removing other
    files moves no source to another shard."""
    k, n = shard
    digest = hashlib.blake2b(name.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % n == k - 1
