"""HDR pictures (PQ or HLG, BT.2020 primaries: what phones have recorded by
default since 2020, in videos and in HEIC, AVIF and JPEG XL stills) to SDR
sRGB pixels, for a video's poster frame and for a still's thumbnails.

Shown as it is, an HLG picture is flat and desaturated and a PQ one dark: its
code values mean light levels and colours sRGB does not have. FFmpeg's own tone
mapping needs zimg, which PyAV's wheels do not ship, and Pillow has none; so
the conversion is here, in numpy, on the picture already scaled down to about
the thumbnail's size (see docs/images.md for what it costs):

- the code values to display light, by ITU-R BT.2100 (PQ's EOTF; HLG's inverse
  OETF, then its OOTF for a 1,000 cd/m2 display, system gamma 1.2);
- HDR reference white (203 cd/m2, ITU-R BT.2408) is taken as SDR white, as
  broadcasters convert: a scene's paper and skin keep their SDR levels;
- BT.2020 primaries to BT.709's (sRGB's), colours outside it clipped;
- luminance above KNEE of white rolled off smoothly towards white (so
  reference white itself ends at 243 of 255, and brighter highlights keep
  their detail; luminance only, so hues keep), then the sRGB curve.

With Settings.hdr=keep, a still's mapping also gives each pixel's gain from
its SDR to its HDR luminance, from which render/gainmap.py makes its
thumbnail's gain map (``gain_map``: numpy is known here only).
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy is imported when an HDR picture is met: not on the default path
    import numpy as np
    from PIL import Image

#: The codes of the transfers and primaries (ITU-T H.273, "CICP": FFmpeg's
#: AVColorTransferCharacteristic, HEIF's and AVIF's nclx, PNG's cICP, ICC's cicp).
PQ, HLG, BT2020 = 16, 18, 9

#: HDR reference white in cd/m2 (BT.2408).
REFERENCE_WHITE = 203.0
#: The display peak assumed for HLG, in cd/m2.
HLG_PEAK = 1000.0
#: The share of SDR white below which luminance is kept as it is.
KNEE = 0.8
#: Rows mapped at a time.
ROWS = 128

#: Linear BT.2020 RGB to linear BT.709 RGB (BT.2087).
TO_BT709 = ((1.6605, -0.5876, -0.0728),
            (-0.1246, 1.1329, -0.0083),
            (-0.0182, -0.1006, 1.1187))
#: Luminance weights of BT.2020 and of BT.709 RGB.
Y2020, Y709 = (0.2627, 0.6780, 0.0593), (0.2126, 0.7152, 0.0722)


def is_hdr(transfer: int | None) -> bool:
    """Whether a picture with this transfer (its H.273 code) needs tone mapping."""
    return transfer in (PQ, HLG)


#: What a source says of its light: (transfer, primaries), H.273's codes.
Signal = tuple[int, int | None]


def from_nclx(nclx: Any) -> Signal | None:
    """The signal of a HEIF's nclx colour box, as pillow-heif gives it (a dict)."""
    if not isinstance(nclx, dict) or not is_hdr(nclx.get("transfer_characteristics")):
        return None
    return nclx["transfer_characteristics"], nclx.get("color_primaries")


def from_cicp(data: bytes) -> Signal | None:
    """The signal of H.273's four bytes (primaries, transfer, matrix, full
    range), as PNG's cICP chunk and ICC's cicp tag hold them."""
    if len(data) < 4 or not is_hdr(data[1]):
        return None
    return data[1], data[0]


def from_boxes(head: bytes) -> Signal | None:
    """The signal of the first nclx colour box (ISO/IEC 23008-12 ``colr``) in
    the first bytes of an ISO BMFF file (an AVIF: Pillow's reader says nothing
    of it). The boxes that describe the items come before their data."""
    at = head.find(b"colrnclx")
    if at < 0 or at + 14 > len(head):
        return None
    primaries, transfer = (int.from_bytes(head[at + i:at + i + 2], "big") for i in (8, 10))
    return (transfer, primaries) if is_hdr(transfer) else None


def from_icc(profile: bytes | None) -> Signal | None:
    """The signal of an ICC profile's ``cicp`` tag (ICC.1 v4.4): how macOS, libjxl
    and Chrome tag a PQ or HLG picture that has a profile. A profile whose curve
    is PQ or HLG without the tag is not recognised."""
    if not profile or len(profile) < 132:
        return None
    count = int.from_bytes(profile[128:132], "big")
    for i in range(min(count, 256)):
        entry = profile[132 + 12 * i:144 + 12 * i]
        if entry[:4] == b"cicp":
            offset = int.from_bytes(entry[4:8], "big")
            return from_cicp(profile[offset + 8:offset + 12])
    return None


def png_cicp(f: Any) -> Signal | None:
    """The signal of a PNG's cICP chunk (PNG third edition), which Pillow does
    not read: the chunks before the first IDAT, walked by their lengths from
    the file's start (``f``, left where it was)."""
    position = f.tell()
    try:
        f.seek(8)
        while len(header := f.read(8)) == 8:
            length, kind = int.from_bytes(header[:4], "big"), header[4:]
            if kind in (b"IDAT", b"IEND"):
                return None
            if kind == b"cICP":
                return from_cicp(f.read(4))
            f.seek(length + 4, 1)  # the data and its CRC
        return None
    finally:
        f.seek(position)


def reduction(size: tuple[int, int], need: tuple[float, float]) -> int:
    """The whole factor a decoded still is boxed down by before its mapping:
    as far as keeps ``need`` with the widest draft gap, as a JPEG draft does."""
    from ..geometry import DRAFT_GAPS

    gap = DRAFT_GAPS[1]
    return max(1, math.floor(min(size[0] / (need[0] * gap), size[1] / (need[1] * gap))))


def still(pixels: Any, signal: Signal, factor: int,
          gain: bool = False) -> tuple[Image.Image, np.ndarray | None]:
    """A decoded HDR still as an 8-bit sRGB Pillow image (RGB, or RGBA with its
    alpha kept), ``factor`` times smaller (by box averages of the code values,
    as a video's frame is scaled before its mapping), and with ``gain`` each
    pixel's gain in stops (to_sdr's, for a gain map: Settings.hdr=keep), else
    None. ``pixels`` is a Pillow image (8-bit codes: AVIF, PNG, JPEG XL as
    Pillow decodes them) or anything numpy takes as height x width x 3 or 4
    16-bit codes (a HEIF decoded at 16 bits). Raises ImportError without numpy."""
    import numpy as np
    from PIL import Image

    if isinstance(pixels, Image.Image):
        im = pixels if pixels.mode in ("RGB", "RGBA") else pixels.convert(
            "RGBA" if "A" in pixels.getbands() else "RGB")
        code = np.asarray(im.reduce(factor) if factor > 1 else im)
    else:
        code = _boxed(np.asarray(pixels), factor)
    stops = np.empty(code.shape[:2], dtype=np.float32) if gain else None
    rgb = to_sdr(np.ascontiguousarray(code[..., :3]), *signal, stops=stops)
    if code.shape[2] == 4:
        alpha = code[..., 3] if code.dtype == np.uint8 else (code[..., 3] >> 8).astype(np.uint8)
        return Image.fromarray(np.dstack((rgb, alpha)), "RGBA"), stops
    return Image.fromarray(rgb, "RGB"), stops


#: A computed gain map's offsets (Adobe's gain map specification: OffsetSDR and
#: OffsetHDR), added to both renditions' linear light before their ratio so that
#: black has a finite gain: libultrahdr's 1/64.
OFFSET = 1 / 64
#: The least range of a computed gain map, in stops: a picture with no
#: highlight has about the same gain everywhere, and the encoding divides by it.
LEAST_RANGE = 1 / 64


def gain_map(stops: np.ndarray) -> tuple[Image.Image, float, float]:
    """A gain map (Settings.hdr=keep) from a still's gains in stops (still's):
    a grey picture of them scaled between their least and greatest (gamma 1),
    and those two. One channel: the mapping scales luminance only, so the ratio
    of HDR to SDR is the same in each channel but where one clipped, and a
    grey map is a third of a colour one's size."""
    import numpy as np
    from PIL import Image

    low = float(stops.min())
    high = max(float(stops.max()), low + LEAST_RANGE)
    code = np.clip((stops - low) * (255 / (high - low)) + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(code, "L"), low, high


def _boxed(code: np.ndarray, factor: int) -> np.ndarray:
    """16-bit codes averaged in ``factor`` x ``factor`` boxes (the last row and
    column of boxes filled out by the edge's pixels), a band of rows at a time:
    integer sums, the rows of a box first (they are contiguous), then its
    columns; a third of the time of a float mean over both at once."""
    import numpy as np

    if factor == 1:
        return code
    h, w, c = code.shape
    wide = -(-w // factor)
    total = np.uint32 if factor * factor * 65535 < 2**32 else np.uint64
    out = np.empty((-(-h // factor), wide, c), dtype=np.uint16)
    for top in range(0, h, factor * ROWS):
        band = code[top:top + factor * ROWS]
        tall = -(-band.shape[0] // factor) * factor - band.shape[0]
        if wide * factor > w or tall:
            band = np.pad(band, ((0, tall), (0, wide * factor - w), (0, 0)), mode="edge")
        rows = band.reshape(band.shape[0] // factor, factor, -1).sum(axis=1, dtype=total)
        sums = rows.reshape(rows.shape[0], wide, factor, c).sum(axis=2, dtype=total)
        out[top // factor:top // factor + sums.shape[0]] = (
            (sums + factor * factor // 2) // (factor * factor))
    return out


def to_sdr(code: np.ndarray, transfer: int, primaries: int | None,
           stops: np.ndarray | None = None) -> np.ndarray:
    """``code`` (height x width x 3, code values in the transfer's encoding:
    16-bit, or 8-bit where a decoder gives no more) as 8-bit sRGB, ROWS rows at
    a time: a picture kept at full size (a large --size) then needs its 16-bit
    copy, the result and a bounded scratch, not a dozen float copies. Primaries
    other than BT.2020 (rare in HDR) are kept as they are. ``stops`` (height x
    width floats), when given, is filled with each pixel's gain: log2 of the
    HDR luminance over the SDR one (linear, BT.709 primaries, in units of SDR
    white; each plus OFFSET), the SDR's taken before its 8-bit rounding, so
    that the map is as smooth as the picture. Raises ImportError without
    numpy."""
    import numpy as np

    if code.dtype == np.uint8:  # 8-bit codes to 16-bit ones: 255 becomes 65535
        code = code.astype(np.uint16) * np.uint16(257)
    out = np.empty(code.shape, dtype=np.uint8)
    for top in range(0, code.shape[0], ROWS):
        rows = code[top:top + ROWS]
        y = None if stops is None else stops[top:top + ROWS].reshape(-1)
        out[top:top + ROWS] = _mapped(rows.reshape(-1, 3), transfer, primaries,
                                      y).reshape(rows.shape)
    return out


def _mapped(code: np.ndarray, transfer: int, primaries: int | None,
            y: np.ndarray | None = None) -> np.ndarray:
    """N x 3 code values to N x 3 sRGB bytes (and their gains into ``y``). The
    two curves are tables of all 65,536 codes and levels: exact for
    16-bit input, and the whole mapping took 2.6 times as long with the curves
    computed per value."""
    import numpy as np

    light = _decoding(transfer)[code]
    if transfer == HLG:  # the OOTF, system gamma 1.2, on the scene's luminance
        ys = np.maximum(light @ np.array(Y2020, dtype=np.float32), 1e-6)
        light *= (np.power(ys, np.float32(0.2)) * np.float32(HLG_PEAK / REFERENCE_WHITE))[:, None]
    if primaries in (BT2020, None, 2):  # 2: unspecified, which HDR means to be BT.2020
        light = light @ np.array(TO_BT709, dtype=np.float32).T
    np.maximum(light, 0.0, out=light)
    luminance = light @ np.array(Y709, dtype=np.float32)
    light *= (_roll_off(luminance) / np.maximum(luminance, 1e-6))[:, None]
    np.minimum(light, 1.0, out=light)
    if y is not None:
        sdr = light @ np.array(Y709, dtype=np.float32)
        y[:] = np.log2((luminance + OFFSET) / (sdr + OFFSET))
    light *= 65535
    light += 0.5
    srgb: np.ndarray = _encoding()[light.astype(np.uint16)]
    return srgb


@functools.cache
def _decoding(transfer: int) -> np.ndarray:
    """Each 16-bit code's light: display light in units of reference white
    (PQ's EOTF), or HLG's scene light (its inverse OETF) before the OOTF."""
    import numpy as np

    e = np.arange(65536, dtype=np.float64) / 65535
    if transfer == PQ:
        m1, m2, c1, c2, c3 = 0.1593017578125, 78.84375, 0.8359375, 18.8515625, 18.6875
        p = np.power(e, 1.0 / m2)
        light = 10000.0 * np.power(np.maximum(p - c1, 0.0) / (c2 - c3 * p), 1.0 / m1)
        light /= REFERENCE_WHITE
    else:
        a, b, c = 0.17883277, 0.28466892, 0.55991073
        light = np.where(e <= 0.5, e * e / 3.0, (np.exp((np.maximum(e, 0.5) - c) / a) + b) / 12.0)
    table: np.ndarray = light.astype(np.float32)
    return table


@functools.cache
def _encoding() -> np.ndarray:
    """sRGB's curve (IEC 61966-2-1) as bytes, for linear light in 65,536 steps."""
    import numpy as np

    v = np.arange(65536, dtype=np.float64) / 65535
    curve = np.where(v <= 0.0031308, v * 12.92, 1.055 * np.power(v, 1.0 / 2.4) - 0.055)
    table: np.ndarray = np.round(curve * 255).astype(np.uint8)
    return table


def _roll_off(y: np.ndarray) -> np.ndarray:
    """Luminance kept below KNEE, then bent towards 1 (reached only at infinity),
    with the same slope at the knee: a smooth shoulder, no clipped highlights."""
    import numpy as np

    over = np.maximum(y - KNEE, 0.0) / (1.0 - KNEE)
    rolled: np.ndarray = np.where(y <= KNEE, y, KNEE + (1.0 - KNEE) * over / (1.0 + over))
    return rolled
