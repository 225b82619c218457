"""Camera RAW files (CR2, CR3, NEF, ARW, DNG, RAF, ORF, RW2, ...), through rawpy
(the optional ``[raw]`` extra: LibRaw in its wheels), handed to render as an
upright Pillow image.

Cameras embed a preview: the JPEG they would have written, most at full size.
When it is large enough for every size (the pixels needed, with the widest draft
gap) and is the image's (its aspect ratio within 1% of the sensor's picture, not
one flat colour), it is decoded instead of the mosaic, itself drafted as any JPEG
is. Otherwise LibRaw develops the mosaic: at half size (each 2x2 block of the
mosaic one pixel, no demosaicing) when that keeps the pixels needed, in full
when not. Either way the orientation is the RAW's own (LibRaw's ``flip``); the
preview is stored as the sensor lies, and its own EXIF is not trusted.
"""

from __future__ import annotations

import io
import os
from typing import Any

from PIL import Image

from ..geometry import Need
from ..spec import Settings
from .base import Picture, Readable
from .draft import blank, draft, keeps, same_shape
from .errors import RenderError
from .pillow import TRANSPOSE

#: LibRaw's flip (dcraw's bits: 4 swaps the axes, 2 and 1 mirror) as the EXIF
#: orientation that makes the picture upright.
_ORIENTATION = {0: 1, 1: 2, 3: 3, 2: 4, 4: 5, 6: 6, 7: 7, 5: 8}


def read(fp: Readable, need: Need, s: Settings, previews: bool = True) -> Picture:
    """The picture of the RAW file ``fp`` at the smallest size that serves ``need``,
    upright: its size is the full picture's, upright."""
    rawpy = _rawpy()
    try:
        raw = rawpy.imread(fp)
    except rawpy.LibRawFileUnsupportedError:
        raise RenderError("not a RAW file LibRaw can read") from None
    except rawpy.LibRawError as e:
        raise RenderError(f"damaged RAW data ({_words(e)})") from e
    with raw:
        w, h = raw.sizes.width, raw.sizes.height
        if (refused := s.pixels_refused(w, h)) is not None:
            raise RenderError(refused)
        orientation = _ORIENTATION.get(raw.sizes.flip, 1)
        upright = (h, w) if orientation >= 5 else (w, h)
        sensor_need = need.pixels((w, h), orientation)
        image = _preview(raw, (w, h), sensor_need) if previews else None
        served = image is not None
        if image is None:
            half = keeps((w / 2, h / 2), sensor_need)
            try:
                pixels = raw.postprocess(half_size=half, use_camera_wb=True, output_bps=8,
                                         gamma=(2.4, 12.92), user_flip=0)
            except rawpy.LibRawUnsufficientMemoryError:
                raise MemoryError("LibRaw could not allocate the picture") from None
            except rawpy.LibRawError as e:
                raise RenderError(f"damaged RAW data ({_words(e)})") from e
            image = Image.fromarray(pixels)
    if orientation in TRANSPOSE:
        image = image.transpose(TRANSPOSE[orientation])
    image.info = {}  # LibRaw writes the RAW's orientation into the preview's EXIF: applied
    return Picture(image, upright, upright[0] / image.width, preview=served)


def _preview(raw: Any, size: tuple[int, int], need: tuple[float, float]) -> Image.Image | None:
    """The camera's preview, drafted and loaded, when it passes the checks (the
    module's text); None when there is none or it fails them."""
    rawpy = _rawpy()
    w, h = size
    try:
        thumb = raw.extract_thumb()
    except rawpy.LibRawError:  # none, or a format LibRaw does not unpack
        return None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        try:
            im: Image.Image = Image.open(io.BytesIO(thumb.data))
        except Exception:
            return None
    else:
        im = Image.fromarray(thumb.data)
    pw, ph = im.size
    if not same_shape((w, h), (pw, ph)) or not keeps((pw, ph), need):
        return None
    if im.format == "JPEG":
        draft(im, (need[0] * pw / w, need[1] * ph / h))  # type: ignore[arg-type]
    try:
        im.load()
    except Exception:  # a damaged preview: the mosaic may still be whole
        return None
    if blank(im):
        return None
    return im.convert("RGB")


def memory(fp: Readable, need: Need, s: Settings) -> int:
    """The mosaic (2 bytes a sample), LibRaw's picture (four 16-bit channels a
    pixel), its 8-bit RGB output and Pillow's copy, turned: the full
    development, which a preview or a half-size one only undercuts. From the
    header; 0 when it cannot be read (the RAW then fails)."""
    try:
        rawpy = _rawpy()
        with rawpy.imread(fp) as raw:
            sizes = raw.sizes
            samples, pixels = sizes.raw_width * sizes.raw_height, sizes.width * sizes.height
    except Exception:
        return 0
    return samples * 2 + pixels * 18 if pixels <= s.max_pixels else 0


def _rawpy() -> Any:
    """rawpy, imported when a RAW is met (the default path never loads it). LibRaw
    develops on every core through OpenMP; one worker is to use one core. OpenMP
    (rawpy's own copy of libgomp) reads its thread count once, when it loads: so
    the variable is set for the import only, and the caller's environment (with
    -w 1, this process is the caller's) is left as it was."""
    ours = "OMP_NUM_THREADS" not in os.environ
    if ours:
        os.environ["OMP_NUM_THREADS"] = "1"
    try:
        import rawpy
    except ImportError:
        raise RenderError("a camera RAW file: reading RAW files needs the optional extra: "
                          "pip install 'thumbnailer[raw]'") from None
    finally:
        if ours:
            del os.environ["OMP_NUM_THREADS"]
    return rawpy


def _words(exc: BaseException) -> str:
    return str(exc).strip("b'\"") or type(exc).__name__
