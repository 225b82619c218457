"""JPEG shrink-on-load: decode at the smallest DCT scale that still leaves enough pixels.

Decoding is most of a thumbnail's cost, and libjpeg scales in the DCT domain for
almost nothing. Pillow's ``draft`` offers 1/2, 1/4 and 1/8; libjpeg-turbo also
decodes at 3/8 (its 3x3 inverse DCT), which Pillow does not ask for. The gap
between 1/4 and 1/2 is where big thumbnails fall (1024 px of a 4000 px photo),
and a 3/8 decode makes the resize that follows a third cheaper.

HEIF's previews are chosen in heif.py, with the gap and shape checks below.

Camera JPEGs carry an EXIF thumbnail (IFD1, 160x120): for the sizes it keeps
with the widest gap (icons, up to 106 px) and with the image's aspect ratio
within 1% (cameras letterbox it on 3:2 photos: refused), the decoder is pointed
at it instead of at the image. It is stored as the image is, so the image's
orientation applies to it. Decoding it takes 0.15 ms, a 1/8 draft of a 12 MP
photo 5.9 ms.
"""

from __future__ import annotations

import functools
import io
import math
from typing import IO, Any

from PIL import Image, ImageFile, features

from ..geometry import DRAFT_GAPS, draft_eighths

#: A preview's pixels beyond those needed, as a 1/8 JPEG draft keeps.
PREVIEW_GAP = DRAFT_GAPS[1]
#: Set in an image's info when an embedded preview is what will be decoded.
PREVIEW = "thumbnailer-preview"


def draft(im: ImageFile.ImageFile, need: tuple[float, float], previews: bool = True) -> float:
    """Ask the decoder to shrink ``im`` on load as far as keeps ``need`` pixels
    (width, height) with its scale's gap (geometry.draft_eighths decides); returns
    the factor it shrank by (1 when it will not: not a JPEG, or no scale is small
    enough to gain). For a JPEG, its EXIF thumbnail instead where it serves,
    unless not ``previews`` (see the module's text)."""
    w, h = im.size
    if previews and im.format == "JPEG" and (scale := _exif_thumbnail(im, need)):
        return scale
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


def keeps(size: tuple[float, float], need: tuple[float, float]) -> bool:
    """Whether a preview of ``size`` keeps the pixels ``need`` with PREVIEW_GAP."""
    return size[0] >= need[0] * PREVIEW_GAP and size[1] >= need[1] * PREVIEW_GAP


def same_shape(image: tuple[int, int], preview: tuple[int, int]) -> bool:
    """Whether a preview has the image's aspect ratio within 1% (else it is not
    this image's: another crop, a letterboxed one)."""
    (w, h), (pw, ph) = image, preview
    return abs(pw * h - ph * w) <= 0.01 * w * ph


def _exif_thumbnail(im: ImageFile.ImageFile, need: tuple[float, float]) -> float | None:
    """Point the JPEG decoder of ``im`` at its EXIF thumbnail when that serves
    (the module's text); the factor it is smaller by, None when it does not."""
    fp, raw = im.fp, im.info.get("exif")
    if im.mode != "RGB" or len(im.tile) != 1 or not raw or fp is None:
        return None
    try:
        # A copy of the EXIF: IFD1 read into the image's own would be written back
        # with --keep-metadata (and Pillow 12 fails to write it).
        exif = Image.Exif()
        exif.load(raw)
        ifd1 = exif.get_ifd(-1)  # ExifTags.IFD.IFD1
        start, length = int(ifd1[0x0201]), int(ifd1[0x0202])  # JPEGInterchangeFormat(Length)
        tiff = _tiff_header_at(fp)
        fp.seek(tiff + start)
        with Image.open(io.BytesIO(fp.read(length)), formats=["JPEG"]) as thumb:
            (tw, th), mode = thumb.size, thumb.mode
    except Exception:  # none, or not one to trust
        return None
    w, h = im.size
    if mode != "RGB" or not keeps((tw, th), need) or not same_shape((w, h), (tw, th)):
        return None
    tile = im.tile[0]
    extents, offset = (0, 0, tw, th), tiff + start
    moved: Any = (tile._replace(extents=extents, offset=offset) if hasattr(tile, "_replace")
                  else (tile[0], extents, offset, *tile[3:]))
    im.tile, im._size = [moved], (tw, th)
    im.info[PREVIEW] = "exif"
    return float(w / tw)


def _tiff_header_at(fp: IO[bytes]) -> int:
    """Where the EXIF segment's TIFF header is in the file (Pillow does not keep
    it): after the APP1 marker, its length and "Exif\\0\\0"."""
    fp.seek(0)
    head = fp.read(1 << 17)
    at = 2
    while at + 4 <= len(head) and head[at] == 0xFF:
        if head[at + 1] == 0xE1 and head[at + 4:at + 10] == b"Exif\0\0":
            return at + 10
        at += 2 + int.from_bytes(head[at + 2:at + 4], "big")
    raise ValueError("no EXIF segment before the image data")


def served(im: ImageFile.ImageFile, scale: float) -> bool:
    """Whether an embedded preview of ``im`` was decoded, not the image."""
    return scale > 1 and PREVIEW in im.info


def blank(im: Image.Image) -> bool:
    """A preview of one flat colour: a placeholder an editor left, not the image."""
    return all(high - low <= 2 for low, high in _extrema(im))


def _extrema(im: Image.Image) -> list[tuple[int, int]]:
    found = im.getextrema()
    return [found] if isinstance(found[0], (int, float)) else list(found)  # type: ignore[list-item]
