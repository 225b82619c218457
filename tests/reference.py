"""The plain reference pipeline the conformance suite judges thumbnailer by.

Written the obvious way, with no shortcut thumbnailer takes (no shrink-on-load, no
derived sizes, no reducing gap): open, load every pixel, ``exif_transpose`` after
the load, ICC to sRGB, a contain-fit LANCZOS resize of the full decode, alpha over
white, saved as format auto saves it (JPEG q85 when opaque, PNG when not).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageCms, ImageOps, ImageStat

TRANSPOSES = tuple(Image.Transpose)  # the seven flips and rotations
Image.init()  # every plugin, in Pillow's order, whatever was opened before


try:  # HEIC/HEIF files are read by the [heif] extra, which the tests install
    import pillow_heif
except ImportError:  # pragma: no cover
    pillow_heif = None
else:
    pillow_heif.register_heif_opener()


def _signed_first() -> list[str]:
    """Pillow's formats, those it recognises by a signature before those it takes
    on trust (TGA reads a large ICO): else what a file is would depend on which
    plugin this test process happened to register first."""
    trusting = [name for name in Image.ID if Image.OPEN[name][1] is None]
    return [name for name in Image.ID if name not in trusting] + sorted(trusting)


@dataclass
class Reference:
    image: Image.Image | None  # RGB over white, thumbnail size; None when refused
    format: str | None  # what Pillow says the file is (None: not an image to Pillow)
    reason: str | None = None  # why the reference refused it
    saved_as: str | None = None  # "jpeg" or "png", as format auto chooses


def reference(path, box: int, max_pixels: int) -> Reference:
    """The reference thumbnail of ``path`` in a ``box`` x ``box`` contain fit."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = Image.open(path, formats=_signed_first())  # its bomb check: the limit's twin
            with im:
                fmt = im.format
                if im.width * im.height > max_pixels:
                    return Reference(None, fmt, "over the pixel limit")
                im.load()
                try:
                    im = ImageOps.exif_transpose(im)
                except Exception:  # a broken EXIF block says nothing about the pixels
                    pass
                small = _thumbnail(_srgb(im), box)
                translucent = small.getchannel("A").getextrema()[0] < 255
                image = over_white(small)
                if not translucent:  # as the JPEG encoder leaves it
                    image = _saved(image, "JPEG", quality=85)
                return Reference(image, fmt, saved_as="png" if translucent else "jpeg")
    except Image.DecompressionBombError:
        return Reference(None, None, "over the pixel limit")
    except Exception as exc:
        return Reference(None, locals().get("fmt"), f"{type(exc).__name__}: {exc}")


def _srgb(im: Image.Image) -> Image.Image:
    """Every mode to RGBA, colour through its ICC profile when it has one."""
    profile = im.info.get("icc_profile")
    if im.mode.startswith("I"):  # 16-bit and 32-bit greys: the top 8 bits
        im = im.convert("I").point(lambda v: v / 256).convert("L")
    elif im.mode == "F":
        im = im.point(lambda v: v * 255).convert("L")
    if profile and im.mode in ("RGB", "RGBA", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            srgb = ImageCms.createProfile("sRGB")
            im = ImageCms.profileToProfile(im, source, srgb,
                                           outputMode="RGBA" if im.mode == "RGBA" else "RGB")
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # a broken profile: the pixels as they are
    return im.convert("RGBA")


def _thumbnail(im: Image.Image, box: int) -> Image.Image:
    if im.width > box or im.height > box:
        im = ImageOps.contain(im, (box, box), Image.Resampling.LANCZOS)
    return im


def _saved(im: Image.Image, fmt: str, **params) -> Image.Image:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **params)
    with Image.open(buffer) as saved:
        return saved.convert("RGB")


def over_white(im: Image.Image) -> Image.Image:
    """An RGB picture of ``im`` as it looks on a white page."""
    page = Image.new("RGBA", im.size, (255, 255, 255, 255))
    page.alpha_composite(im.convert("RGBA"))
    return page.convert("RGB")


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel, 0-255, ``b`` resized to ``a`` if need be."""
    if a.size != b.size:
        b = b.resize(a.size, Image.Resampling.BILINEAR)
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def orientation_errors(thumb: Image.Image, upright: Image.Image) -> list[str]:
    """The flips and rotations of ``upright`` that ``thumb`` looks more like than
    like ``upright`` itself (a tie, on a symmetric picture, is not an error)."""
    own = mean_difference(thumb, upright)
    return [t.name for t in TRANSPOSES
            if mean_difference(thumb, upright.transpose(t)) + 0.5 < own]
