"""Colour management: every thumbnail is 8-bit sRGB, and says so.

A photo tagged with an ICC profile (Display P3 from a phone, Adobe RGB from a
camera, a CMYK scan) is converted through LittleCMS (Pillow's ImageCms) with a
transform built once per profile; the thumbnail then embeds a fixed sRGB profile.
"""

from __future__ import annotations

import functools
import io
import struct
from typing import TYPE_CHECKING

from PIL import Image

if TYPE_CHECKING:
    from PIL import ImageCms


def to_srgb(im: Image.Image, profile: bytes | None) -> Image.Image:
    """16-bit and float greys to 8-bit; ICC-tagged and CMYK colour to sRGB."""
    if im.mode.startswith("I"):
        return im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if im.mode == "F":
        return im.point(lambda v: v * 255).convert("L")
    if profile and im.mode in ("RGB", "RGBA", "CMYK"):
        from PIL import ImageCms  # loaded on the first tagged image, not at start-up

        out_mode = "RGBA" if im.mode == "RGBA" else "RGB"
        try:
            converted = ImageCms.applyTransform(im, _transform(profile, im.mode, out_mode))
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            converted = None  # a broken profile: fall back to treating the pixels as untagged
        if converted is not None:
            return converted
    if im.mode == "CMYK":
        return im.convert("RGB")
    return im


@functools.lru_cache(maxsize=16)
def _transform(profile: bytes, in_mode: str, out_mode: str) -> ImageCms.ImageCmsTransform:
    """Photos of one folder mostly share a profile: build each transform once."""
    from PIL import ImageCms

    source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    return ImageCms.buildTransform(source, _srgb(), in_mode, out_mode)


@functools.lru_cache(maxsize=1)
def _srgb() -> ImageCms.ImageCmsProfile:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


#: The creation date written into the embedded sRGB profile. LittleCMS stamps the
#: time a profile is made, which made thumbnails of ICC-tagged images differ by
#: the second their worker started (found by the conformance suite).
_PROFILE_DATE = struct.pack(">6H", 2000, 1, 1, 0, 0, 0)


@functools.lru_cache(maxsize=1)
def srgb_bytes() -> bytes:
    """The sRGB profile as embedded in thumbnails: the same bytes in every process."""
    data = bytearray(_srgb().tobytes())
    data[24:36] = _PROFILE_DATE  # the header's dateTimeNumber
    return bytes(data)
