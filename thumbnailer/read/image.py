"""The reader of still images: whatever Pillow opens (with the formats allowed),
and the plugged kinds once their plugin is registered (HEIF, JPEG XL).

The order of the steps matters for speed and correctness: open (header only,
allowed decoders) -> refuse oversize -> for JPEG (and HEIF, with previews): the
orientation from the header, then draft (shrink-on-load, or a preview), then
load; for the rest: load, then the orientation the decoder left to apply (some
apply it on load and drop the tag; a PNG's EXIF may follow its pixels).

A PQ or HLG still (HEIC, AVIF, JPEG XL, PNG with a cICP chunk, or any with an
ICC profile's cicp tag) is tone-mapped to sRGB after that, on the decoded
pixels boxed down to about the thumbnails' size (read/hdr.py), by default.
"""

from __future__ import annotations

import contextlib

from PIL import Image, ImageFile

from ..geometry import Need
from ..spec import Hdr, Settings
from . import hdr, heif, jxl
from .base import Picture, Readable
from .draft import PREVIEW, blank, draft, served
from .errors import RenderError, StalePreview
from .kinds import HEIF
from .pillow import head_of, load_pixels, open_image, read_orientation, reading

#: Copies of the decoded pixels the pipeline holds at once, by decoder, measured
#: with ``ru_maxrss`` around one render of a 24 MP panorama in each format
#: (bench/memory.py shows the whole run): PNG, TIFF and baseline JPEG hold one;
#: Pillow's WebP decoder holds four.
COPIES = {"JPEG": 1, "MPO": 1, "PNG": 1, "TIFF": 1, "BMP": 1, "GIF": 1, "WEBP": 4}
#: For any other decoder (HEIF, AVIF, ...: a library's buffer, then Pillow's).
OTHER_COPIES = 2
#: Modes that need no conversion before resizing (others gain a 4-byte copy: so
#: RGBA takes 8 bytes a pixel and a palette image 5, as measured).
PLAIN_MODES = ("RGB", "L", "1")
#: Bytes Pillow keeps per pixel: one for 8-bit single bands, two for 16-bit, four
#: for everything else (RGB too: a pixel is padded to four bytes).
_PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}


def read(fp: Readable, need: Need, s: Settings, previews: bool = True) -> Picture:
    """The image in ``fp``, loaded, drafted as far as ``need`` allows."""
    im = open_image(fp, s)
    try:
        signal = _signal(im, fp)
        if signal is not None:
            return _load_hdr(im, fp, need, s, previews, signal)
        return _load(im, need, s, previews)
    except BaseException:
        im.close()
        raise


#: A still's tone mapping needs numpy; without it, each HDR still fails with this.
NO_NUMPY = "an HDR image (PQ or HLG): tone mapping it needs numpy: pip install 'thumbnailer[hdr]'"


def _signal(im: ImageFile.ImageFile, fp: Readable) -> hdr.Signal | None:
    """The transfer and primaries of a PQ or HLG still, from what its format
    says of them (HEIF's and AVIF's nclx box, PNG's cICP chunk) or else from
    its ICC profile's cicp tag; None for every other image."""
    found = None
    if im.format == HEIF.pillow:
        found = hdr.from_nclx(im.info.get("nclx_profile"))
    elif im.format in ("AVIF", "PNG"):
        with open(fp, "rb") if isinstance(fp, str) else contextlib.nullcontext(fp) as f:
            if im.format == "PNG":
                found = hdr.png_cicp(f)
            else:
                position = f.tell()
                f.seek(0)
                found = hdr.from_boxes(f.read(1 << 16))
                f.seek(position)
    return found or hdr.from_icc(im.info.get("icc_profile"))


def _load_hdr(im: ImageFile.ImageFile, fp: Readable, need: Need, s: Settings, previews: bool,
              signal: hdr.Signal) -> Picture:
    """A PQ or HLG still, tone-mapped: a HEIC of more than 8 bits decoded again
    at 16 (or its preview, as for any HEIC), anything else at the 8 bits
    Pillow's decoder gives; boxed down to keep what ``need`` asks with the
    draft gap, then mapped (with Settings.hdr=keep, each pixel's gain from SDR
    to HDR kept for a gain map). The new image keeps the EXIF and no ICC profile (its
    pixels are sRGB now)."""
    w, h = im.size
    if (refused := s.pixels_refused(w, h)) is not None:
        raise RenderError(refused)
    scale = 1.0
    if _hdr_heif(im):
        orientation = read_orientation(im)
        if previews:
            scale = heif.preview(im, need.pixels((w, h), orientation))
        pixels = heif.pixels16(fp, im.size)
    else:
        load_pixels(im, s.fail_on)
        orientation = read_orientation(im)
        pixels = im
    wanted = need.pixels((w, h), orientation)
    factor = hdr.reduction(im.size, (wanted[0] / scale, wanted[1] / scale))
    try:
        mapped, stops = hdr.still(pixels, signal, factor, gain=s.hdr is Hdr.KEEP)
    except ImportError:
        raise RenderError(NO_NUMPY) from None
    preview = served(im, scale)
    if preview and blank(mapped):
        raise StalePreview("a blank preview")
    if "exif" in im.info:
        mapped.info["exif"] = im.info["exif"]
    if preview:
        mapped.info[PREVIEW] = im.info[PREVIEW]
    im.close()
    return Picture(mapped, (w, h), scale * factor, orientation, preview,
                   Image.MIME.get(im.format or "", ""), stops)


def _load(im: ImageFile.ImageFile, need: Need, s: Settings, previews: bool) -> Picture:
    w, h = im.size
    if (refused := s.pixels_refused(w, h)) is not None:
        raise RenderError(refused)
    if shrinks_on_load(im, previews):
        # draft() works only before the pixels are read, so the orientation
        # comes first; JPEG decoders never apply it themselves.
        orientation = read_orientation(im)
        scale = _shrink(im, need.pixels((w, h), orientation), previews)
        load_pixels(im, s.fail_on)
        if served(im, scale) and blank(im):
            raise StalePreview("a blank preview")
    else:
        # Read the pixels first: some decoders apply the orientation on load and
        # drop the tag (libtiff), and some only find the EXIF after the pixels
        # (PNG's eXIf chunk may follow IDAT). What the loaded image still says
        # is what is left to do.
        load_pixels(im, s.fail_on)
        w, h = im.size
        orientation = read_orientation(im)
        scale = 1.0
    return Picture(im, (w, h), scale, orientation, served(im, scale),
                   Image.MIME.get(im.format or "", ""))


def shrinks_on_load(im: Image.Image, previews: bool = True) -> bool:
    """JPEG (and MPO) decode at 1/2, 3/8, 1/4 or 1/8 scale through draft(); HEIF
    may decode an embedded preview instead (heif.py), unless ``previews`` is off."""
    return im.format in ("JPEG", "MPO") or (previews and im.format == HEIF.pillow)


def _shrink(im: ImageFile.ImageFile, need: tuple[float, float], previews: bool) -> float:
    if im.format == HEIF.pillow:
        return heif.preview(im, need)
    return draft(im, need, previews)


def memory(fp: Readable, need: Need, s: Settings) -> int:
    """The decoded pixels, at the size they are decoded at, times the copies the
    pipeline makes of them (COPIES), plus the resize's buffers and the frames of
    an animation; a progressive JPEG keeps all its DCT coefficients (2 bytes
    each) at full size whatever scale it is decoded at. Reading the header
    opens the file and reads its first kilobytes."""
    try:
        with reading():
            if jxl.recognises(head := head_of(fp)):  # its plugin decodes it all on open
                return jxl.memory(head, s)
            im = open_image(fp, s)
    except Exception:
        return 0
    with im:
        return _pixels(im, need, s)


def _pixels(im: ImageFile.ImageFile, need: Need, s: Settings) -> int:
    w, h = im.size
    if w * h > s.max_pixels:
        return 0  # refused before decoding
    copies = COPIES.get(im.format or "", OTHER_COPIES)
    per_pixel = _PIXEL_BYTES.get(im.mode, 4) * copies + 4 * (im.mode not in PLAIN_MODES)
    if _hdr_heif(im):
        per_pixel = HDR_HEIF_BYTES
    full = w * h
    held = 0
    if shrinks_on_load(im, previews=False):  # a HEIF preview: judged in the worker
        # Sets the decoded size and reads nothing; a preview may be refused once read.
        draft(im, need.pixels((w, h), read_orientation(im)), previews=False)
        if im.info.get("progressive") or im.info.get("progression"):
            held += full * 3  # the coefficients: 2 bytes, 1.5 components with 4:2:0
    decoded = im.size[0] * im.size[1]
    frames = min(getattr(im, "n_frames", 1), s.max_frames) if s.animated else 1
    held += decoded * per_pixel + 2 * box_bytes(s)  # + the resize's buffers
    if frames > 1:  # each kept frame, at the size of the largest thumbnail
        held += frames * box_bytes(s)
    return held


#: Bytes a pixel of a PQ or HLG HEIC of more than 8 bits, decoded at 16 bits
#: and boxed down (_load_hdr): 11.5 measured with ru_maxrss around one render of
#: a 12 MP one to 256 px (bench/hdr.py's), against 8.6 for its SDR twin.
HDR_HEIF_BYTES = 12


def _hdr_heif(im: Image.Image) -> bool:
    """A HEIC decoded again at 16 bits for its tone mapping."""
    return (im.format == HEIF.pillow and im.info.get("bit_depth", 8) > 8
            and hdr.from_nclx(im.info.get("nclx_profile")) is not None)


def box_bytes(s: Settings) -> int:
    """Bytes of the largest thumbnail asked for (a side left open counts as the other)."""
    boxes = [(size.width or size.height or 0, size.height or size.width or 0) for size in s.sizes]
    return max(w * h for w, h in boxes) * 4
