"""Camera RAW test files, made here: DNGs, written as the TIFFs they are.

No RAW sample installs from the package index on every platform (pidng builds a
C extension; rawpy's sdist carries none), and LibRaw reads DNG as it reads any
camera's RAW: a Bayer mosaic (CFA) at 16 bits, the camera's colour matrix, an
Orientation tag, and optionally an embedded preview in IFD0 with the mosaic in
a SubIFD, as Adobe's converter and the cameras that write DNG lay them out.
The mosaic is sampled from an RGB picture, so a developed RAW can be compared
with the picture it was made from.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
from helpers import linear_light
from PIL import Image

#: XYZ (D65) -> linear sRGB: a "camera" whose raw channels are linear sRGB.
_XYZ_TO_SRGB = ((3.2406, -1.5372, -0.4986), (-0.9689, 1.8758, 0.0415),
                (0.0557, -0.2040, 1.0570))

_SHORT, _LONG, _ASCII, _BYTE, _RATIONAL, _SRATIONAL = 3, 4, 2, 1, 5, 10
_SIZES = {_BYTE: 1, _ASCII: 1, _SHORT: 2, _LONG: 4, _RATIONAL: 8, _SRATIONAL: 8}


def mosaic(picture: Image.Image) -> bytes:
    """An RGGB Bayer mosaic of ``picture`` (sRGB, 8 bits) as linear 16-bit samples."""
    linear = linear_light(picture)
    cfa = np.empty(linear.shape[:2])
    cfa[0::2, 0::2] = linear[0::2, 0::2, 0]
    cfa[0::2, 1::2] = linear[0::2, 1::2, 1]
    cfa[1::2, 0::2] = linear[1::2, 0::2, 1]
    cfa[1::2, 1::2] = linear[1::2, 1::2, 2]
    return (cfa * 65535).round().astype("<u2").tobytes()


def write_dng(path: Path, picture: Image.Image, orientation: int = 1,
              preview: Image.Image | None = None, jpeg_preview: bool = True) -> Path:
    """A DNG whose mosaic is sampled from ``picture`` (even width and height), with
    the TIFF ``orientation``; ``preview`` embedded in IFD0 as a JPEG (or as 8-bit
    RGB strips), the mosaic then in a SubIFD."""
    w, h = picture.size
    camera = [(_ASCII, 271, b"thumbnailer\0"), (_ASCII, 272, b"Test DNG\0"),
              (_SHORT, 274, [orientation]), (_BYTE, 50706, [1, 4, 0, 0]),
              (_BYTE, 50707, [1, 1, 0, 0]), (_ASCII, 50708, b"thumbnailer Test DNG\0"),
              (_SRATIONAL, 50721, [(round(v * 10000), 10000) for row in _XYZ_TO_SRGB
                                   for v in row]),
              (_SHORT, 50778, [21]), (_RATIONAL, 50728, [(1, 1)] * 3)]
    raw = [(_LONG, 254, [0]), (_LONG, 256, [w]), (_LONG, 257, [h]), (_SHORT, 258, [16]),
           (_SHORT, 259, [1]), (_SHORT, 262, [32803]), (_SHORT, 277, [1]),
           (_LONG, 278, [h]), (_SHORT, 284, [1]), (_SHORT, 33421, [2, 2]),
           (_BYTE, 33422, [0, 1, 1, 2]), (_LONG, 50717, [65535])]
    raw_data = mosaic(picture)
    if preview is None:
        ifds = [(camera + raw, raw_data)]
    else:
        pw, ph = preview.size
        if jpeg_preview:
            buffer = io.BytesIO()
            preview.convert("RGB").save(buffer, "JPEG", quality=90)
            data, layout = buffer.getvalue(), [(_SHORT, 259, [7]), (_SHORT, 262, [6])]
        else:
            data = preview.convert("RGB").tobytes()
            layout = [(_SHORT, 259, [1]), (_SHORT, 262, [2])]
        ifd0 = [(_LONG, 254, [1]), (_LONG, 256, [pw]), (_LONG, 257, [ph]),
                (_SHORT, 258, [8, 8, 8]), *layout, (_SHORT, 277, [3]), (_LONG, 278, [ph]),
                (_SHORT, 284, [1]), *camera, (_LONG, 330, ["subifd"])]
        ifds = [(ifd0, data), (raw, raw_data)]
    path.write_bytes(_tiff(ifds))
    return path


def _tiff(ifds: list[tuple[list[tuple[int, int, object]], bytes]]) -> bytes:
    """Little-endian TIFF: each IFD with its one strip (273/279 added here); the
    second IFD is IFD0's SubIFD, linked where a value is "subifd"."""
    out = bytearray(b"II*\0" + struct.pack("<I", 8))
    offsets: list[int] = []
    for tags, _ in ifds:  # lay out: IFD, its out-of-line values, its strip
        offsets.append(len(out))
        out += bytes(_ifd_size(tags))
    for k, (tags, strip) in enumerate(ifds):
        strip_at = len(out)
        out += strip
        out += b"\0" * (len(out) % 2)
        entries = sorted([*tags, (_LONG, 273, [strip_at]), (_LONG, 279, [len(strip)])],
                         key=lambda t: t[1])
        entries = [(t, c, [offsets[1] if v == "subifd" else v for v in vals])
                   if isinstance(vals, list) else (t, c, vals) for t, c, vals in entries]
        out[offsets[k]:offsets[k] + _ifd_size(tags)] = _ifd_bytes(entries, offsets[k])
    return bytes(out)


def _ifd_size(tags: list[tuple[int, int, object]]) -> int:
    n = len(tags) + 2
    extra = sum(_padded(len(_values(t, v))) for t, _, v in tags)
    return 2 + 12 * n + 4 + extra + 16  # room for the two strip entries' values


def _ifd_bytes(entries: list[tuple[int, int, object]], at: int) -> bytes:
    head = struct.pack("<H", len(entries))
    extra = bytearray()
    extra_at = at + 2 + 12 * len(entries) + 4
    for kind, code, vals in entries:
        data = _values(kind, vals)
        count = len(data) // _SIZES[kind]
        if len(data) <= 4:
            head += struct.pack("<HHI", code, kind, count) + data.ljust(4, b"\0")
        else:
            head += struct.pack("<HHII", code, kind, count, extra_at + len(extra))
            extra += data + b"\0" * (len(data) % 2)
    body = head + b"\0\0\0\0" + extra  # no next IFD: the preview's mosaic is a SubIFD
    return body.ljust(_ifd_size([e for e in entries if e[1] not in (273, 279)]), b"\0")


def _values(kind: int, vals: object) -> bytes:
    if kind == _ASCII:
        return bytes(vals)  # type: ignore[arg-type]
    items = list(vals)  # type: ignore[call-overload]
    if kind in (_RATIONAL, _SRATIONAL):
        fmt = "<ii" if kind == _SRATIONAL else "<II"
        return b"".join(struct.pack(fmt, *v) for v in items)
    fmt = {_BYTE: "<B", _SHORT: "<H", _LONG: "<I"}[kind]
    return b"".join(struct.pack(fmt, 0 if v == "subifd" else v) for v in items)


def _padded(n: int) -> int:
    return 0 if n <= 4 else n + n % 2
