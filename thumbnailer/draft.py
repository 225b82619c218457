"""JPEG shrink-on-load: decode at the smallest DCT scale that still leaves enough pixels.

Decoding is most of a thumbnail's cost, and libjpeg scales in the DCT domain for
almost nothing. Pillow's ``draft`` offers 1/2, 1/4 and 1/8; libjpeg-turbo also
decodes at 3/8 (its 3x3 inverse DCT), which Pillow does not ask for. The gap
between 1/4 and 1/2 is where big thumbnails fall (1024 px of a 4000 px photo),
and a 3/8 decode makes the resize that follows a third cheaper.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from PIL import ImageFile, features

from .geometry import draft_eighths


def draft(im: ImageFile.ImageFile, need: tuple[float, float]) -> float:
    """Ask the decoder to shrink ``im`` on load as far as keeps ``need`` pixels
    (width, height) with its scale's gap (geometry.draft_eighths decides); returns
    the factor it shrank by (1 when it will not: not a JPEG, or no scale is small
    enough to gain)."""
    w, h = im.size
    eighths = draft_eighths((w, h), need, _three_eighths_possible(im))
    if eighths is None:
        return 1.0
    if eighths == 3:
        _decode_at_three_eighths(im)
        return 8 / 3  # on both sides: the rounded-up size is not the scale
    scale = 8 // eighths
    # Pillow picks the largest power of two <= min(w // rw, h // rh), and
    # w // (w // scale) lies in [scale, 2 * scale): this asks for exactly ``scale``.
    result = im.draft(None, (w // scale, h // scale))
    if result is None:
        return 1.0
    return w / result[1][2]


def _three_eighths_possible(im: ImageFile.ImageFile) -> bool:
    """Only libjpeg-turbo is known to honour a 3/8 request; another libjpeg would
    write a width Pillow does not expect."""
    return (im.format == "JPEG" and len(im.tile) == 1 and not im.decoderconfig
            and _libjpeg_turbo())


def _decode_at_three_eighths(im: ImageFile.ImageFile) -> None:
    """Set ``im`` up as Pillow's own draft does for 1/2: the tile's extent, the
    size, and the decoder's ``scale`` argument, which Pillow passes to libjpeg as
    scale_denom with scale_num 1; libjpeg-turbo rounds 1/3 up to 3/8."""
    tile = im.tile[0]
    size = (math.ceil(im.width * 3 / 8), math.ceil(im.height * 3 / 8))  # libjpeg's rounding
    extents = (0, 0, *size)
    # A named tuple since Pillow 11, a plain one before.
    scaled: Any = (tile._replace(extents=extents) if hasattr(tile, "_replace")
                   else (tile[0], extents, *tile[2:]))
    im.tile = [scaled]
    im._size = size
    im.decoderconfig = (3, 0)


@functools.cache
def _libjpeg_turbo() -> bool:
    return bool(features.check_feature("libjpeg_turbo"))
