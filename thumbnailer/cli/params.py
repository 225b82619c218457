"""The command line's parameter types and option callbacks: text to values, with
click's own error for anything else (exit 2, nothing done).

Parsing itself lives in the library (units.py, prune.Limit); these only adapt it
to click, and check what needs Pillow (colours, formats) or the file system
(a local SOURCE exists).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import click

from ..formats import from_extension, row, writable_formats
from ..run.budget import available
from ..spec import DEFAULT_DECODERS, Format
from ..storage import is_url, local_path
from ..units import parse_bytes


class Parsed(click.ParamType):
    """A value a library function parses from text (ValueError says what is wrong)."""

    def __init__(self, name: str, parse: Callable[[str], Any]) -> None:
        self.name, self.parse = name, parse

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> Any:
        try:
            return self.parse(value) if isinstance(value, str) else value
        except ValueError as e:  # the value named once (parse_size's own words name it)
            said = str(e)
            self.fail(said if said.startswith(repr(value)) else f"{value!r}: {said}", param, ctx)


class SourceType(click.ParamType):
    """A local file or folder that exists, or a URL for an object store
    (s3://bucket/photos; checked when the job is planned). file:// URLs are paths."""

    name = "SOURCE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> Any:
        value = local_path(value)
        if is_url(value):  # checked by the job, which asks the store
            return value
        return click.Path(exists=True, path_type=str).convert(value, param, ctx)


def output_folder(ctx: click.Context, param: click.Parameter, value: str) -> str:
    value = local_path(value)
    if is_url(value):
        return value
    return click.Path(file_okay=False, path_type=str).convert(value, param, ctx)


class ShardType(click.ParamType):
    """K/N: the K-th of N parts of the job (1-based)."""

    name = "K/N"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> Any:
        if isinstance(value, tuple):
            return value
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(value))
        if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
            self.fail(f"{value!r} is not a shard: use K/N with 1 <= K <= N, e.g. 2/4",
                      param, ctx)
        return int(m.group(1)), int(m.group(2))


class QualityType(click.IntRange):
    """-q/--quality, 1-100. People type -q for quiet: ``photos -q -o out`` gives
    quality the value "-o", so a value that is no number says where quiet is."""

    def __init__(self) -> None:
        super().__init__(1, 100)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> Any:
        if isinstance(value, str):
            try:
                int(value)
            except ValueError:
                self.fail(f"{value!r} is not a number: -q is --quality (1-100); "
                          "for quiet output use --quiet", param, ctx)
        return super().convert(value, param, ctx)


#: Colours named without Pillow's table (ImageColor gives the same).
_PLAIN = {"white": (255, 255, 255, 255), "black": (0, 0, 0, 255)}


class ColorType(click.ParamType):
    name = "COLOR"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> Any:
        if isinstance(value, tuple):
            return value
        if value.lower() in _PLAIN:  # the default: a run with nothing to make loads no Pillow
            return _PLAIN[value.lower()]
        from PIL import ImageColor

        try:
            rgba = ImageColor.getrgb(value)
        except ValueError:
            self.fail(f"{value!r} is not a colour: use a name, #rrggbb or #rrggbbaa", param, ctx)
        return tuple(rgba) + (255,) * (4 - len(rgba))


class FormatChoice(click.Choice):
    """-f: an output format by its name or by its file extension (``jpg`` for
    ``jpeg``: the files are named .jpg), in any case; the name is what the job
    gets, so the state and the manifest hold that."""

    def __init__(self) -> None:
        super().__init__([f.value for f in Format], case_sensitive=False)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> Any:
        fmt = from_extension(value) if isinstance(value, str) else None
        return super().convert(value if fmt is None else fmt.value, param, ctx)


def allowed_formats(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
                     ) -> tuple[str, ...]:
    """--allow-format: Pillow's format names (any case), or an extension Pillow
    registers for one (tif: TIFF, jp2: JPEG2000), or all. The job gets Pillow's
    names."""
    if not values:
        return ()
    from PIL import Image

    Image.init()
    known = set(Image.OPEN) | set(DEFAULT_DECODERS) | {"ALL"}
    names = []
    for value in values:
        name = value.strip().upper()
        if name not in known:
            name = Image.EXTENSION.get("." + name.lower().lstrip("."), name)
        if name not in known:
            raise click.BadParameter(
                f"{value.strip()!r} is not a format this Pillow reads; use one of: "
                f"{', '.join(sorted(known - set(DEFAULT_DECODERS) - {'ALL'}))} "
                "(or one of their extensions: tga, jp2), or all",
                ctx, param)
        names.append(name)
    return tuple(dict.fromkeys(names))


def check_formats(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
                   ) -> tuple[Format, ...]:
    formats = tuple(dict.fromkeys(Format(v) for v in values))  # repeats are harmless
    for fmt in formats:
        if fmt is not Format.AUTO and fmt not in writable_formats():
            usable = ", ".join(f.value for f in (Format.AUTO, *writable_formats()))
            extra = row(fmt).plugin
            if extra is not None:
                raise click.BadParameter(f"writing {fmt.value.upper()} needs the optional "
                                         f"extra: pip install 'thumbnailer[{extra[1]}]'",
                                         ctx, param)
            raise click.BadParameter(
                f"this Pillow cannot write {fmt.value.upper()} (built without its encoder); "
                f"use one of: {usable}",
                ctx, param,
            )
    return formats


def memory_size(text: str) -> int | None:
    """--max-memory: bytes, or a share of the memory available (None when that
    cannot be read: then no budget)."""
    if text.strip().endswith("%"):
        room = available()
        return None if room is None else parse_bytes(text, whole=room)
    return parse_bytes(text)
