"""Colour management: every thumbnail is 8-bit sRGB, and says so; or, with
Settings.colour_space=p3, Display P3 when its source's gamut exceeds sRGB.

A photo tagged with an ICC profile (Display P3 from a phone, Adobe RGB from a
camera, a CMYK scan) is converted through LittleCMS (Pillow's ImageCms) with a
transform built once per profile; the thumbnail then embeds a fixed sRGB profile
(or the Display P3 profile built here: ImageCms makes no profile from primaries).
"""

from __future__ import annotations

import functools
import io
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PIL import Image

if TYPE_CHECKING:
    from PIL import ImageCms


def to_srgb(im: Image.Image, profile: bytes | None, p3: bool = False) -> Image.Image:
    """16-bit and float greys to 8-bit; ICC-tagged and CMYK colour to sRGB (to
    Display P3 with ``p3``: see ``keeps_p3``)."""
    if im.mode.startswith("I"):
        return im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if im.mode == "F":
        return im.point(lambda v: v * 255).convert("L")
    if profile and im.mode in ("RGB", "RGBA", "CMYK"):
        from PIL import ImageCms  # loaded on the first tagged image, not at start-up

        out_mode = "RGBA" if im.mode == "RGBA" else "RGB"
        try:
            converted = ImageCms.applyTransform(im, _transform(profile, im.mode, out_mode, p3))
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            converted = None  # a broken profile: fall back to treating the pixels as untagged
        if converted is not None:
            return converted
    if im.mode == "CMYK":
        return im.convert("RGB")
    return im


def declared(info: dict[Any, Any]) -> bytes | None:
    """The ICC profile an image declares; for a HEIF image that declares its colours
    as nclx instead (Display P3 primaries, 12, with the sRGB curve, 13), the
    Display P3 profile, which says the same."""
    icc = info.get("icc_profile")
    if isinstance(icc, bytes) and icc:
        return icc
    nclx = info.get("nclx_profile")
    if isinstance(nclx, dict) and (nclx.get("color_primaries"),
                                   nclx.get("transfer_characteristics")) == (12, 13):
        return p3_bytes()
    return None


@functools.lru_cache(maxsize=16)
def _transform(profile: bytes, in_mode: str, out_mode: str,
               p3: bool = False) -> ImageCms.ImageCmsTransform:
    """Photos of one folder mostly share a profile: build each transform once."""
    from PIL import ImageCms

    source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    target = ImageCms.ImageCmsProfile(io.BytesIO(p3_bytes())) if p3 else _srgb()
    return ImageCms.buildTransform(source, target, in_mode, out_mode)


#: sRGB's primaries adapted to D50, as ICC colorant tags hold them (x, y).
_SRGB_XY = ((0.6484, 0.3309), (0.3212, 0.5978), (0.1559, 0.0660))


@functools.lru_cache(maxsize=16)
def keeps_p3(profile: bytes | None, mode: str) -> bool:
    """Whether, with Settings.colour_space=p3, a source with this profile becomes
    Display P3: an RGB matrix profile with a primary outside sRGB's triangle
    (Display P3, Adobe RGB, BT.2020, ProPhoto). sRGB, untagged, CMYK and LUT
    profiles stay sRGB: their gamut is sRGB's or cannot be read from primaries."""
    if not profile or mode not in ("RGB", "RGBA"):
        return False
    from PIL import ImageCms

    try:
        cms = ImageCms.ImageCmsProfile(io.BytesIO(profile)).profile
        primaries = [cms.red_primary, cms.green_primary, cms.blue_primary]
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return False
    xys = [(p[1][0], p[1][1]) for p in primaries if p is not None]
    return len(xys) == 3 and any(_outside(xy, _SRGB_XY) for xy in xys)


def _outside(xy: tuple[float, float], triangle: tuple[tuple[float, float], ...],
             slack: float = 0.004) -> bool:
    """Whether ``xy`` lies more than ``slack`` outside ``triangle`` (counter-clockwise)."""
    for (x0, y0), (x1, y1) in zip(triangle, triangle[1:] + triangle[:1], strict=True):
        ex, ey = x1 - x0, y1 - y0
        cross = ex * (xy[1] - y0) - ey * (xy[0] - x0)
        if cross / (ex * ex + ey * ey) ** 0.5 < -slack:
            return True
    return False


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


# Display P3: the P3 primaries, the D65 white point and the sRGB transfer curve,
# as an ICC v4 matrix/TRC display profile; built once, the same bytes everywhere.
_P3_PRIMARIES = ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060))
_D65 = (0.3127, 0.3290)
_D50_XYZ = (0.9642, 1.0, 0.8249)
_BRADFORD = ((0.8951, 0.2664, -0.1614), (-0.7502, 1.7135, 0.0367), (0.0389, -0.0685, 1.0296))

_Matrix = Sequence[Sequence[float]]


def _mul(a: _Matrix, b: _Matrix) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(sum(a[i][k] * b[k][j] for k in range(3)) for j in range(3))
                 for i in range(3))


def _inverse(m: _Matrix) -> tuple[tuple[float, ...], ...]:
    (a, b, c), (d, e, f), (g, h, i) = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    return tuple(tuple(v / det for v in row) for row in (
        (e * i - f * h, c * h - b * i, b * f - c * e),
        (f * g - d * i, a * i - c * g, c * d - a * f),
        (d * h - e * g, b * g - a * h, a * e - b * d)))


def _apply(m: _Matrix, v: Sequence[float]) -> tuple[float, float, float]:
    return (m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2],
            m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2],
            m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2])


def _xyz(x: float, y: float) -> tuple[float, float, float]:
    return (x / y, 1.0, (1 - x - y) / y)


def _s15(*values: float) -> bytes:
    return b"".join(struct.pack(">i", round(v * 65536)) for v in values)


def _mluc(text: str) -> bytes:
    body = text.encode("utf-16-be")
    return b"mluc" + bytes(4) + struct.pack(">II2s2sII", 1, 12, b"en", b"US", len(body), 28) + body


@functools.lru_cache(maxsize=1)
def p3_bytes() -> bytes:
    """The Display P3 profile thumbnails embed with Settings.colour_space=p3."""
    white = _xyz(*_D65)
    columns = tuple(_xyz(x, y) for x, y in _P3_PRIMARIES)
    unscaled = tuple(tuple(columns[j][i] for j in range(3)) for i in range(3))
    gains = _apply(_inverse(unscaled), white)  # each primary's share of the white
    to_xyz = tuple(tuple(unscaled[i][j] * gains[j] for j in range(3)) for i in range(3))
    cone_src, cone_dst = _apply(_BRADFORD, white), _apply(_BRADFORD, _D50_XYZ)
    scale = tuple(tuple(cone_dst[i] / cone_src[i] if i == j else 0.0 for j in range(3))
                  for i in range(3))
    chad = _mul(_inverse(_BRADFORD), _mul(scale, _BRADFORD))
    adapted = _mul(chad, to_xyz)  # the colorants as the PCS (D50) sees them
    srgb_curve = (b"para" + bytes(4) + struct.pack(">HH", 3, 0)
                  + _s15(2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045))
    tags = [(b"desc", _mluc("Display P3")), (b"cprt", _mluc("No copyright, use freely")),
            (b"wtpt", b"XYZ " + bytes(4) + _s15(*_D50_XYZ)),
            (b"chad", b"sf32" + bytes(4) + _s15(*(v for row in chad for v in row)))]
    tags += [(sig, b"XYZ " + bytes(4) + _s15(*(adapted[i][j] for i in range(3))))
             for j, sig in enumerate((b"rXYZ", b"gXYZ", b"bXYZ"))]
    offset = 128 + 4 + 12 * (len(tags) + 3)
    table, data = [], b""
    for sig, body in tags:
        table.append(struct.pack(">4sII", sig, offset + len(data), len(body)))
        data += body + bytes(-len(body) % 4)
    curve_at = offset + len(data)
    table += [struct.pack(">4sII", sig, curve_at, len(srgb_curve))
              for sig in (b"rTRC", b"gTRC", b"bTRC")]  # one curve, shared by the three
    data += srgb_curve
    size = offset + len(data)
    header = (struct.pack(">I4sI4s4s4s", size, b"", 0x04300000, b"mntr", b"RGB ", b"XYZ ")
              + _PROFILE_DATE + b"acsp" + bytes(24) + struct.pack(">I", 0)
              + _s15(*_D50_XYZ) + bytes(48))
    return header + struct.pack(">I", len(tags) + 3) + b"".join(table) + data
