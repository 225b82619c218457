"""Output names: the --name template, and collisions between sources.

A source ``SOURCE/sub/IMG_1.JPG`` is named ``sub/<template>`` for each size. Two
sources of one folder may want the same name (``a.jpg`` beside ``a.png``, or
``A.webp`` on a case-insensitive disk); the first in walk order keeps it, the
next gets its extension in the name (``a-png``), then a number.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Callable, Iterator, Sequence

from .spec import Size

_TEMPLATE_FIELDS = {"stem", "size", "width", "height"}

#: A --name template with everything but {stem} filled in.
Namer = Callable[..., str]


def check_template(template: str, sizes: Sequence[Size]) -> None:
    """Refuse a --name template that is malformed, leaves the output root, or gives
    two sizes the same name. Raises ValueError with a reason a person can act on."""
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as e:
        raise ValueError(f"--name {template!r}: {e}") from None
    unknown = fields - _TEMPLATE_FIELDS
    if unknown:
        raise ValueError(
            f"--name {template!r}: unknown field {{{sorted(unknown)[0]}}}; "
            f"use {', '.join('{' + f + '}' for f in sorted(_TEMPLATE_FIELDS))}"
        )
    names = [namer(stem="x") for namer in namers(template, sizes)]
    for name in names:
        parts = name.split("/")
        if not name or name.startswith("/") or "\\" in name or any(
            p in ("", ".", "..") for p in parts
        ):
            raise ValueError(
                f"--name {template!r} gives {name!r}: it must be a relative path "
                "inside the output folder, without '..' or empty parts"
            )
    if len(set(names)) != len(names):
        raise ValueError(
            f"--name {template!r} gives several sizes the same name: add {{size}}"
        )


def namers(template: str, sizes: Sequence[Size]) -> list[Namer]:
    """One formatter per size with everything but {stem} filled in, so naming a
    file costs one format call per size."""
    return [functools.partial(template.format, size=size.label, width=size.width or "",
                              height=size.height or "") for size in sizes]


class Taken:
    """The names taken so far, case-insensitively (for macOS and Windows disks),
    by source folder: names of different folders never collide, since each
    starts with its folder.

    With at most one SOURCE folder, a folder's names are let go once the walk
    has left it (a folder's subtree comes in one run, in a local walk and in an
    object store's sorted listing alike), so memory holds the names of the
    folders on the current path only. With several SOURCE folders the same
    relative folder comes again from another one, so every name is kept."""

    def __init__(self, bounded: bool) -> None:
        self.bounded = bounded
        self.groups: dict[str, set[str]] = {}
        self.current: str | None = None

    def of(self, folder: str) -> set[str]:
        """The taken names of ``folder`` (relative, "/"-separated)."""
        group = folder.casefold()
        if group != self.current:
            if self.bounded:
                here = group + "/"
                self.groups = {g: names for g, names in self.groups.items()
                               if not g or here.startswith(g + "/")}
            self.current = group
        return self.groups.setdefault(group, set())


def free_keys(namers: Sequence[Namer], folder: str, stem: str, ext: str, taken: set[str]
              ) -> tuple[tuple[str, ...], bool]:
    """The first candidate names not taken (case-insensitively): the plain stem,
    then the stem with the source's extension ("a-png"), then numbered
    ("a-png-2", ...). Marks them taken; also says whether the source was renamed."""
    for n, candidate in enumerate(_candidates(stem, ext)):
        keys = _keys_for(namers, folder, candidate)
        folded = [k.casefold() for k in keys]
        if not any(k in taken for k in folded):
            taken.update(folded)
            return keys, n > 0
    raise ValueError(f"cannot find a free thumbnail name for {stem!r}")  # pragma: no cover


def _keys_for(namers: Sequence[Namer], folder: str, stem: str) -> tuple[str, ...]:
    if folder:
        return tuple(f"{folder}/{namer(stem=stem)}" for namer in namers)
    return tuple(namer(stem=stem) for namer in namers)


def _candidates(stem: str, ext: str) -> Iterator[str]:
    """Names to try, in order; lazily, as the plain stem is nearly always free."""
    yield stem
    tag = f"{stem}-{ext.lstrip('.').lower()}" if ext else stem
    yield tag
    for n in range(2, 10_000):
        yield f"{tag}-{n}"
