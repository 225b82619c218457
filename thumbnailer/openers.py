"""Readers Pillow does not ship, registered when a file of theirs is first met
(recognised by content, as Pillow recognises its own): HEIC/HEIF through
pillow-heif (the ``[heif]`` extra), JPEG XL through pillow-jxl-plugin (the
``[jxl]`` extra, jxl.py); and the word for AVIF on a Pillow too old to read it.
Nothing here is imported on the default path until such a file turns up.
"""

from __future__ import annotations

import functools

from . import jxl
from .spec import Settings

#: ISO base media file brands (bytes 8-12 of the file) of HEIF and of AVIF images.
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs",
               b"mif1", b"msf1"}
AVIF_BRANDS = {b"avif", b"avis"}


def opener_for(head: bytes, s: Settings) -> str | None:
    """The Pillow format that reads a file starting with ``head`` (its first
    kilobytes), now registered; None when no opener would help. ValueError says
    what to install, or why the file is refused before anything decodes it."""
    if jxl.is_jxl(head):
        try:
            w, h = jxl.size(head)
        except ValueError as e:
            raise ValueError(f"damaged JPEG XL header ({e})") from None
        refused = s.pixels_refused(w, h)  # the plugin decodes the whole image on open
        if refused is not None:
            raise ValueError(refused)
        if not jxl.register():
            raise ValueError("JPEG XL image: reading it needs the optional extra, "
                             "pip install 'thumbnailer[jxl]'")
        return "JXL"
    if head[4:8] != b"ftyp":
        return None
    brand = head[8:12]
    if brand in AVIF_BRANDS:
        raise ValueError("AVIF image, and this Pillow cannot read AVIF: "
                         "upgrade it (pip install -U 'Pillow>=11.3')")
    if brand not in HEIF_BRANDS:
        return None
    if not _heif_opener():
        raise ValueError("HEIC/HEIF image: reading it needs the optional extra, "
                         "pip install 'thumbnailer[heif]'")
    return "HEIF"


@functools.lru_cache(maxsize=1)
def _heif_opener() -> bool:
    """Register pillow-heif's HEIF opener once per process; False if not installed."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True
