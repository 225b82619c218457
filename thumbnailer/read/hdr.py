"""HDR video frames (PQ or HLG, BT.2020 primaries: what phones have recorded by
default since 2020) to SDR sRGB pixels, for a poster frame.

Shown as it is, an HLG frame is flat and desaturated and a PQ frame dark: its
code values mean light levels and colours sRGB does not have. FFmpeg's own tone
mapping needs zimg, which PyAV's wheels do not ship; so the conversion is here,
in numpy, on the frame already scaled down to about the thumbnail's size (see
docs/usage.md for what it costs):

- the code values to display light, by ITU-R BT.2100 (PQ's EOTF; HLG's inverse
  OETF, then its OOTF for a 1,000 cd/m2 display, system gamma 1.2);
- HDR reference white (203 cd/m2, ITU-R BT.2408) is taken as SDR white, as
  broadcasters convert: a scene's paper and skin keep their SDR levels;
- BT.2020 primaries to BT.709's (sRGB's), colours outside it clipped;
- luminance above KNEE of white rolled off smoothly towards white (so
  reference white itself ends at 243 of 255, and brighter highlights keep
  their detail; luminance only, so hues keep), then the sRGB curve.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported when an HDR frame is met: not on the default path
    import numpy as np

#: FFmpeg's codes for the transfers (AVColorTransferCharacteristic) and primaries.
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
    """Whether a frame with this transfer (FFmpeg's code) needs tone mapping."""
    return transfer in (PQ, HLG)


def to_sdr(code: np.ndarray, transfer: int, primaries: int | None) -> np.ndarray:
    """``code`` (height x width x 3, 16-bit code values in the transfer's
    encoding) as 8-bit sRGB, ROWS rows at a time: a frame kept at full size (a
    large --size) then needs its 16-bit copy, the result and a bounded scratch,
    not a dozen float copies. Primaries other than BT.2020 (rare in HDR) are
    kept as they are. Raises ImportError without numpy."""
    import numpy as np

    out = np.empty(code.shape, dtype=np.uint8)
    for top in range(0, code.shape[0], ROWS):
        rows = code[top:top + ROWS]
        out[top:top + ROWS] = _mapped(rows.reshape(-1, 3), transfer, primaries).reshape(rows.shape)
    return out


def _mapped(code: np.ndarray, transfer: int, primaries: int | None) -> np.ndarray:
    """N x 3 code values to N x 3 sRGB bytes. The two curves are tables of all
    65,536 codes and levels: exact for 16-bit input, and the whole mapping took
    2.6 times as long with the curves computed per value."""
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
