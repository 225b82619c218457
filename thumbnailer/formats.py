"""One table of the output formats: everything thumbnailer knows about each.

A row says what Pillow calls the encoder, the file extension, the modes it
writes as they are, whether it holds alpha and animation, how to check that this
Pillow has it (or which optional extra), how widely browsers show it, and the
save parameters. Render, the plan, the gallery and the command line all read
it, so a new format is one row. Nothing here imports Pillow until
``writable_formats`` asks it what this build can encode.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .spec import Format

#: JPEG XL's encoder effort (1-9; libjxl's default is 7). 256 px thumbnails of
#: camera photos at quality 85: 3 gives 35.6 dB (PSNR) in 19 ms, 5 gives 38.0 dB
#: in 23 ms with 12% more bytes, 7 gives 38.4 dB in 38 ms.
JXL_EFFORT = 5


@dataclass(frozen=True)
class OutputFormat:
    format: Format
    pillow: str  # Pillow's name for the encoder
    extension: str  # without the dot
    modes: frozenset[str]  # what the encoder writes as is; anything else is converted first
    alpha: bool
    animation: bool
    #: The name for PIL.features.check, or None when Pillow always has it.
    feature: str | None
    #: How widely browsers show it: the gallery shows the lowest of equal sizes.
    web_rank: int
    #: Save parameters of a still image: (quality, thumbnail size) -> Pillow's keywords.
    still: Callable[[int, tuple[int, int]], dict[str, Any]]
    #: Extra save parameters of an animation (besides frames, durations and loop).
    moving: Callable[[int], dict[str, Any]] = lambda quality: {}
    #: The optional extra whose Pillow plugin writes it (its module, its name).
    plugin: tuple[str, str] | None = None


def _jpeg(quality: int, size: tuple[int, int]) -> dict[str, Any]:
    # Baseline, and Huffman tables optimised only below 512 px, where they save 3-8%
    # of the file for little time; at 1024 px optimising saves 1% for 2.4x the encode
    # time, and progressive 5% for 6.6x (docs/performance.md).
    return {"quality": quality, "optimize": max(size) < 512}


def _jxl(quality: int, size: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    # One thread (a worker is to use one core), and so deterministic bytes.
    return {"quality": quality, "effort": JXL_EFFORT, "num_threads": 1}


def _quality(quality: int, size: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    return {"quality": quality}


TABLE: dict[Format, OutputFormat] = {row.format: row for row in (
    OutputFormat(Format.JPEG, "JPEG", "jpg", frozenset({"L", "RGB"}), alpha=False,
                 animation=False, feature="jpg", web_rank=0, still=_jpeg),
    OutputFormat(Format.PNG, "PNG", "png", frozenset({"L", "LA", "RGB", "RGBA"}), alpha=True,
                 animation=False, feature="zlib", web_rank=0,
                 still=lambda quality, size: {"optimize": True}),
    # WebP and AVIF have no greyscale.
    OutputFormat(Format.WEBP, "WEBP", "webp", frozenset({"RGB", "RGBA"}), alpha=True,
                 animation=True, feature="webp", web_rank=1, still=_quality, moving=_quality),
    OutputFormat(Format.AVIF, "AVIF", "avif", frozenset({"RGB", "RGBA"}), alpha=True,
                 animation=False, feature="avif", web_rank=2, still=_quality),
    # Pillow quantises to a palette on save. Animated frames are whole, so each
    # replaces the last (disposal 2).
    OutputFormat(Format.GIF, "GIF", "gif", frozenset({"L", "RGB", "RGBA"}), alpha=True,
                 animation=True, feature=None, web_rank=0,
                 still=lambda quality, size: {}, moving=lambda quality: {"disposal": 2}),
    # Safari and Chrome behind a flag, in 2026: the gallery shows it last.
    OutputFormat(Format.JXL, "JXL", "jxl", frozenset({"L", "LA", "RGB", "RGBA"}), alpha=True,
                 animation=False, feature=None, web_rank=3, still=_jxl,
                 plugin=("pillow_jxl", "jxl")),
)}


@functools.lru_cache(maxsize=1)
def writable_formats() -> tuple[Format, ...]:
    """The output formats this Pillow build (and the extras installed) can encode."""
    from PIL import features

    return tuple(f for f, r in TABLE.items()
                 if (r.feature is None or features.check(r.feature))
                 and (r.plugin is None or importlib.util.find_spec(r.plugin[0]) is not None))


def row(fmt: Format) -> OutputFormat:
    """The row of a concrete format (format auto is resolved per image first)."""
    return TABLE[fmt]


def extension(fmt: Format) -> str:
    return TABLE[fmt].extension


def from_extension(ext: str) -> Format | None:
    """The format a thumbnail's file extension says (``jpg`` -> JPEG), or None."""
    return _BY_EXTENSION.get(ext.lower().lstrip("."))


#: (A dict: an unchanged rerun asks once per thumbnail.)
_BY_EXTENSION = {row.extension: fmt for fmt, row in TABLE.items()}
