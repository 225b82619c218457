"""HEIC/HEIF images, through pillow-heif (the optional ``[heif]`` extra): a
plugged kind, read by Pillow once the plugin is registered (read/pillow.py
registers it when the first such file turns up, recognised by content).

What differs from any Pillow image is the previews. A phone's HEIC carries
some (a few hundred pixels): pillow-heif's ``draft()`` selects the smallest one
that is a scaled copy of the image (same mode, aspect ratio, crop, orientation
and colour profile; libheif applies none of the image's transforms to a
preview, so one without them is refused). Decoding it instead of a 12 MP image
is some 25 times faster. Here it must also keep the pixels needed with the
widest draft gap, and its aspect ratio must be within 1%; the image reader
refuses a blank one after loading it (draft.blank).

A PQ or HLG HEIC (10 bits or more) is decoded again here at 16 bits for its
tone mapping (read/hdr.py): pillow-heif's Pillow plugin gives 8 bits, too few
for the shadows of a PQ picture. Its preview, when one serves, is decoded the
same way.

AVIF shares the container (ISO BMFF) and is Pillow's own (11.3 and newer): an
AVIF file that no allowed Pillow format took is named, with what to upgrade.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from PIL import ImageFile

from ..spec import Settings
from .base import Readable
from .draft import PREVIEW, PREVIEW_GAP, same_shape
from .errors import StalePreview

#: ISO base media file brands (bytes 8-12 of the file) of HEIF and of AVIF images.
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs",
               b"mif1", b"msf1"}
AVIF_BRANDS = {b"avif", b"avis"}


def recognises(head: bytes) -> bool:
    """Whether a file starting with ``head`` is in the HEIF container (HEIF or AVIF)."""
    return head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS | AVIF_BRANDS


def admit(head: bytes, s: Settings) -> None:
    """ValueError for an AVIF file: Pillow's own, and this Pillow did not read it."""
    if head[8:12] in AVIF_BRANDS:
        raise ValueError("AVIF image, and this Pillow cannot read AVIF: "
                         "upgrade it (pip install -U 'Pillow>=11.3')")


@functools.lru_cache(maxsize=1)
def register() -> bool:
    """Register pillow-heif's HEIF opener once per process; False if not installed."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


#: The auxiliary image in which an iPhone's HEIC holds its HDR gain map.
APPLE_GAIN_MAP = "urn:com:apple:photo:2020:aux:hdrgainmap"


def apple_gain_map(fp: Readable) -> object:
    """The gain map of an iPhone's HEIC (Settings.hdr=keep) as a Pillow image, None
    without one. pillow-heif's Pillow plugin lists auxiliary images but does not
    open them."""
    import pillow_heif

    where = None if isinstance(fp, str) else fp.tell()
    if not isinstance(fp, str):
        fp.seek(0)
    try:
        heif_file = pillow_heif.open_heif(fp)
        ids = (heif_file.info.get("aux") or {}).get(APPLE_GAIN_MAP)
        if not ids:
            return None
        return heif_file.get_aux_image(ids[0]).to_pillow()  # type: ignore[no-untyped-call,unused-ignore]
    finally:
        if where is not None and not isinstance(fp, str):
            fp.seek(where)


def preview(im: ImageFile.ImageFile, need: tuple[float, float]) -> float:
    """Select a preview that keeps ``need`` with PREVIEW_GAP (pillow-heif's draft
    checks the rest); the factor it is smaller by, 1 when there is none."""
    w, h = im.size
    if getattr(im, "n_frames", 1) > 1:  # a sequence (a burst): its frames are decoded whole
        return 1.0
    if im.draft(None, (math.ceil(need[0] * PREVIEW_GAP), math.ceil(need[1] * PREVIEW_GAP))) is None:
        return 1.0
    pw, ph = im.size
    if not same_shape((w, h), (pw, ph)):
        raise StalePreview(f"a {pw}x{ph} preview of a {w}x{h} image")
    im.info[PREVIEW] = "heif"
    return w / pw


def pixels16(fp: Any, size: tuple[int, int]) -> Any:
    """The HDR image in ``fp`` at 16 bits a channel (pillow-heif's image, which
    numpy reads as height x width x 3 or 4): the primary image, or its preview
    of ``size`` when draft() chose one."""
    import pillow_heif

    if not isinstance(fp, str):
        fp.seek(0)
    heif_file = pillow_heif.open_heif(fp, convert_hdr_to_8bit=False)
    image = heif_file[heif_file.primary_index]
    if image.size != size:
        listed = image.info.get("thumbnails")
        for index in range(len(listed) if isinstance(listed, list) else 0):
            preview = image.get_thumbnail(index)
            if preview.size == size:
                return preview
        raise StalePreview(f"no {size[0]}x{size[1]} preview at 16 bits")
    return image
