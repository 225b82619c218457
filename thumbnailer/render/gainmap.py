"""Gain maps (Settings.hdr=keep): a JPEG thumbnail of an UltraHDR source is
itself UltraHDR.

An UltraHDR JPEG (Android's Ultra HDR, ISO 21496-1) is an ordinary SDR JPEG
whose MPF segment (CIPA DC-007) indexes a second JPEG after it: the gain map,
a grey (or RGB) picture, usually a quarter of the size, that says how much
brighter each part is on an HDR screen. Its parameters are in the gain map's
own metadata: ``hdrgm:`` XMP (Adobe's, Android's first version) and/or the
ISO 21496-1 APP2 block (what libultrahdr 2 writes); the primary carries the
XMP directory (with the gain map's length) and/or the ISO version block.

No maintained Python binding of libultrahdr installs from wheels (PyPI has
only a one-release pure-Python converter), and the container is small, so it
is written here: the gain map is cut and resized with the thumbnail (same
crop, size ratio and orientation), re-encoded with its metadata segments
copied unchanged (its values still hold: only the geometry changed), and
joined behind the SDR thumbnail with the primary's metadata and a new MPF
index. pyvips' ``uhdrload`` (libultrahdr) checks the result in the tests.

A PQ or HLG still has no map to keep: one is computed (``computed``) from the
HDR luminance its tone mapping had and the SDR picture it made, and joined the
same way.
"""

from __future__ import annotations

import io
import math
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from PIL import Image, ImageFile

from ..geometry import Geometry
from ..read import hdr, heif
from ..read.pillow import TRANSPOSE

_XMP = b"http://ns.adobe.com/xap/1.0/\0"
_ISO = b"urn:iso:std:iso:ts:21496:-1\0"
_MPF = b"MPF\0"
#: Where a Container:Item says its length: the gain map's, in the primary's XMP.
_LENGTH = re.compile(rb'(Item:Semantic="GainMap"[^>]*?Item:Length=")(\d+)(")'
                     rb'|(Item:Length=")(\d+)("[^>]*?Item:Semantic="GainMap")')


@dataclass
class GainMap:
    """A source's gain map: its JPEG (or, from a HEIC, its decoded ``picture``),
    and the metadata segments (whole APPn segments, marker included) the
    thumbnail's primary and gain map carry."""

    jpeg: bytes
    primary_segments: list[bytes]
    map_segments: list[bytes]
    picture: Image.Image | None = None
    #: The map's size as a share of the thumbnail's, for a map made from the
    #: decoded pixels (computed); None: the source's map-to-picture ratio.
    ratio: float | None = None


def _segments(data: bytes, start: int = 0) -> list[tuple[int, int, bytes]]:
    """(offset, marker, payload) of the segments before a JPEG's first scan."""
    out = []
    i = start + 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xDA or marker == 0xD9:
            break
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        out.append((i, marker, data[i + 4:i + 2 + length]))
        i += 2 + length
    return out


def _kept(payload: bytes, marker: int) -> bool:
    """A segment that says how the gain map is applied: XMP (Adobe's hdrgm, or
    Apple's HDRGainMap) or ISO 21496-1."""
    return ((marker == 0xE1 and payload.startswith(_XMP)
             and (b"hdrgm" in payload or b"HDRGainMap" in payload))
            or (marker == 0xE2 and payload.startswith(_ISO)))


def _whole(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def gain_map(readable: str | BinaryIO) -> GainMap | None:
    """The gain map of the source Pillow opened as MPO; None when it has none, or
    one that cannot be read (its thumbnails are then SDR only, as by default)."""
    try:
        if isinstance(readable, str):
            with open(readable, "rb") as f:
                data = f.read()
        else:
            where = readable.tell()
            readable.seek(0)
            data = readable.read()
            readable.seek(where)
        return find(data)
    except (OSError, ValueError, KeyError, IndexError, struct.error):
        return None


#: Apple's gain-map XMP, as its JPEGs carry it (libultrahdr reads it so): the
#: headroom is the most the map brightens, in stops (log2 of the factor).
_APPLE_XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
    'xmlns:HDRGainMap="http://ns.apple.com/HDRGainMap/1.0/">'
    "<HDRGainMap:HDRGainMapVersion>131072</HDRGainMap:HDRGainMapVersion>"
    "<HDRGainMap:HDRGainMapHeadroom>{stops:.6f}</HDRGainMap:HDRGainMapHeadroom>"
    "</rdf:Description></rdf:RDF></x:xmpmeta>")


def apple_gain_map(readable: str | BinaryIO, exif: Image.Exif) -> GainMap | None:
    """An iPhone HEIC's gain map (an auxiliary image) as a JPEG gain map in Apple's
    own form: its headroom from the photo's EXIF maker note, as Apple documents it;
    None when the maker note does not give it, or the map cannot be read."""
    stops = apple_headroom(exif)
    if stops is None:
        return None
    try:
        picture = heif.apple_gain_map(readable)
    except (OSError, ValueError, RuntimeError):
        return None
    if not isinstance(picture, Image.Image):
        return None
    xmp = _whole(0xE1, _XMP + _APPLE_XMP.format(stops=stops).encode())
    return GainMap(b"", [], [xmp], picture.convert("L"))


def apple_headroom(exif: Image.Exif) -> float | None:
    """The headroom, in stops, of an iPhone photo's gain map, from tags 33 and 48
    of Apple's maker note (big-endian signed rationals), by Apple's published rule
    (as libultrahdr reads it from the EXIF when the XMP does not say)."""
    try:
        note = exif.get_ifd(0x8769).get(0x927C)
    except (KeyError, ValueError, TypeError, struct.error):
        return None
    if not isinstance(note, bytes) or not note.startswith(b"Apple iOS\0"):
        return None
    values: dict[int, float] = {}
    try:
        (count,) = struct.unpack(">H", note[14:16])
        for k in range(count):
            tag, kind, _, at = struct.unpack(">HHII", note[16 + 12 * k:28 + 12 * k])
            if tag in (33, 48) and kind == 10:
                numerator, denominator = struct.unpack(">iI", note[at:at + 8])
                if denominator:
                    values[tag] = numerator / denominator
    except struct.error:
        return None
    if not values:
        return None
    m33, m48 = values.get(33, 0.0), values.get(48, 0.0)
    if m33 < 1.0:
        stops = -20.0 * m48 + 1.8 if m48 <= 0.01 else -0.101 * m48 + 1.601
    else:
        stops = -70.0 * m48 + 3.0 if m48 <= 0.01 else -0.303 * m48 + 2.303
    return max(stops, 0.0)


#: A computed map's XMP (Adobe's hdrgm, as Android's first Ultra HDR files): the
#: primary's names the gain map's JPEG in a Container:Directory (its length put
#: in by _with_length); the map's holds the values, in stops but the offsets.
_HDRGM = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
          'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
          'xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/" hdrgm:Version="1.0"{more}')
_PRIMARY_XMP = _HDRGM.format(more=(
    '\n xmlns:Container="http://ns.google.com/photos/1.0/container/"'
    '\n xmlns:Item="http://ns.google.com/photos/1.0/container/item/">'
    "<Container:Directory><rdf:Seq>"
    '<rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="Primary" '
    'Item:Mime="image/jpeg"/></rdf:li>'
    '<rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="GainMap" '
    'Item:Mime="image/jpeg" Item:Length="0"/></rdf:li>'
    "</rdf:Seq></Container:Directory></rdf:Description></rdf:RDF></x:xmpmeta>"))
_MAP_XMP = _HDRGM.format(more=(
    ' hdrgm:GainMapMin="{low:.6f}" hdrgm:GainMapMax="{high:.6f}" hdrgm:Gamma="1.0"'
    ' hdrgm:OffsetSDR="{offset:.6f}" hdrgm:OffsetHDR="{offset:.6f}"'
    ' hdrgm:HDRCapacityMin="0.0" hdrgm:HDRCapacityMax="{capacity:.6f}"'
    ' hdrgm:BaseRenditionIsHDR="False"/></rdf:RDF></x:xmpmeta>'))


def computed(stops: Any, sdr: Image.Image) -> GainMap | None:
    """The gain map of a PQ or HLG still (Settings.hdr=keep), from each pixel's
    gain in stops from its SDR rendition ``sdr`` to its HDR one (read/hdr.py:
    one grey channel), made at the thumbnail's own size; its parameters in
    Adobe's hdrgm XMP, which Android's Ultra HDR takes up. None for a
    translucent picture (its JPEG is flattened onto the background, whose gain
    the map does not know)."""
    if sdr.mode != "RGB":
        return None
    picture, low, high = hdr.gain_map(stops)
    xmp = _MAP_XMP.format(low=low, high=high, offset=hdr.OFFSET,
                          capacity=max(high, hdr.LEAST_RANGE))
    return GainMap(b"", [_whole(0xE1, _XMP + _PRIMARY_XMP.encode())],
                   [_whole(0xE1, _XMP + xmp.encode())], picture, ratio=1.0)


def finisher(gain: GainMap, full: tuple[int, int], geo: Geometry, orientation: int,
             quality: int) -> Callable[[bytes], bytes] | None:
    """What makes one encoded SDR thumbnail UltraHDR (for encode.save), or None
    where the gain map cannot follow: a padded thumbnail (its margins have no
    gain), or a gain map Pillow cannot decode."""
    if geo.canvas is not None:
        return None
    try:
        small = cut(gain, full, geo, orientation)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return lambda sdr: join(sdr, gain, small, quality)


def find(data: bytes) -> GainMap | None:
    """The gain map of an UltraHDR JPEG; None for any other JPEG (an MPO's second
    picture that is not a gain map, say a stereo pair's other eye)."""
    if not data.startswith(b"\xff\xd8"):
        return None
    primary = _segments(data)
    mpf = next(((at, p) for at, m, p in primary if m == 0xE2 and p.startswith(_MPF)), None)
    if mpf is None:
        return None
    offset, payload = mpf
    base = offset + 4 + len(_MPF)  # MPF offsets count from its TIFF header
    try:
        entries = _mp_entries(payload[len(_MPF):])
    except (struct.error, ValueError):
        return None
    if len(entries) < 2:
        return None
    size, start = entries[1]
    jpeg = data[base + start:base + start + size]
    if not jpeg.startswith(b"\xff\xd8"):
        return None
    mine = [_whole(m, p) for _, m, p in _segments(jpeg) if _kept(p, m)]
    if not mine:
        return None
    theirs = [_whole(m, p) for _, m, p in primary if _kept(p, m)]
    return GainMap(jpeg, theirs, mine)


def _mp_entries(tiff: bytes) -> list[tuple[int, int]]:
    """(size, offset) of each MP entry of an MPF segment's TIFF structure."""
    endian = {b"MM": ">", b"II": "<"}[tiff[:2]]
    (ifd,) = struct.unpack(endian + "I", tiff[4:8])
    (count,) = struct.unpack(endian + "H", tiff[ifd:ifd + 2])
    for k in range(count):
        tag, _, n, value = struct.unpack(endian + "HHII", tiff[ifd + 2 + 12 * k:ifd + 14 + 12 * k])
        if tag == 0xB002:
            return [struct.unpack(endian + "II", tiff[value + 16 * j + 4:value + 16 * j + 12])
                    for j in range(n // 16)]
    raise ValueError("no MP entries")


def cut(gain: GainMap, full: tuple[int, int], geo: Geometry, orientation: int) -> Image.Image:
    """The gain map's part of one thumbnail: the same crop of the picture, at the
    source's ratio of map to picture, turned as the thumbnail is."""
    with (gain.picture.copy() if gain.picture is not None
          else Image.open(io.BytesIO(gain.jpeg))) as m:
        mw, mh = m.size
        fx, fy = mw / full[0], mh / full[1]
        rx, ry = (fx, fy) if gain.ratio is None else (gain.ratio, gain.ratio)
        size = (max(1, math.ceil(geo.resize[0] * rx)), max(1, math.ceil(geo.resize[1] * ry)))
        x0, y0, x1, y1 = geo.crop
        # Decoded at the smallest DCT scale that keeps twice the pixels the crop
        # needs (the primary's draft rule), not whole: a phone's map is 3 MP.
        cw, ch = max((x1 - x0) * fx, 1e-6), max((y1 - y0) * fy, 1e-6)
        if isinstance(m, ImageFile.ImageFile):
            m.draft(m.mode, (math.ceil(mw * size[0] * 2 / cw),
                             math.ceil(mh * size[1] * 2 / ch)))
        dx, dy = m.size[0] / mw, m.size[1] / mh
        box = (x0 * fx * dx, y0 * fy * dy, x1 * fx * dx, y1 * fy * dy)
        small: Image.Image = m.resize(size, Image.Resampling.LANCZOS, box=box)
        icc = m.info.get("icc_profile")
    if orientation in TRANSPOSE:
        small = small.transpose(TRANSPOSE[orientation])
    if icc:
        small.info["icc_profile"] = icc
    return small


def join(sdr: bytes, gain: GainMap, small: Image.Image, quality: int) -> bytes:
    """The UltraHDR JPEG: ``sdr`` (the thumbnail as encoded) with the primary's
    gain-map metadata and an MPF index, then ``small`` encoded with its own."""
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=quality, icc_profile=small.info.get("icc_profile"))
    encoded = out.getvalue()
    map_jpeg = encoded[:2] + b"".join(gain.map_segments) + encoded[2:]
    primary_meta = b"".join(_with_length(seg, len(map_jpeg)) for seg in gain.primary_segments)
    at = _after_app(sdr)
    head, tail = sdr[:at] + primary_meta, sdr[at:]
    mpf_size = len(_mpf(0, 0, 0))  # its size is fixed: the offsets come after it
    primary_size = len(head) + mpf_size + len(tail)
    mpf_base = len(head) + 4 + len(_MPF)
    return head + _mpf(primary_size, len(map_jpeg), primary_size - mpf_base) + tail + map_jpeg


def _after_app(jpeg: bytes) -> int:
    """Where new segments go: after SOI and the JFIF and EXIF segments leading it."""
    at = 2
    for offset, marker, payload in _segments(jpeg):
        if marker == 0xE0 or (marker == 0xE1 and payload.startswith(b"Exif")):
            at = offset + 4 + len(payload)
        else:
            break
    return at


#: A pointer to extended XMP (Pixel phones keep depth maps there): not copied.
_EXTENDED = re.compile(rb'\s*xmpNote:HasExtendedXMP="[^"]*"')


def _with_length(segment: bytes, length: int) -> bytes:
    """The primary's XMP with the gain map's new length in its Container:Directory,
    and without a pointer to extended XMP, which is not copied."""
    if not segment[4:].startswith(_XMP):
        return segment

    def put(match: re.Match[bytes]) -> bytes:
        if match[1] is not None:
            return match[1] + str(length).encode() + match[3]
        return match[4] + str(length).encode() + match[6]

    payload = _EXTENDED.sub(b"", _LENGTH.sub(put, segment[4:]))
    return _whole(0xE1, payload)


def _mpf(primary_size: int, map_size: int, map_offset: int) -> bytes:
    """An MPF APP2 segment (CIPA DC-007) indexing the primary and the gain map."""
    entries = (struct.pack(">IIIHH", 0x030000, primary_size, 0, 0, 0)  # baseline primary
               + struct.pack(">IIIHH", 0, map_size, map_offset, 0, 0))
    ifd = struct.pack(">H", 3) + b"".join((
        struct.pack(">HHI4s", 0xB000, 7, 4, b"0100"),
        struct.pack(">HHII", 0xB001, 4, 1, 2),
        struct.pack(">HHII", 0xB002, 7, len(entries), 8 + 2 + 3 * 12 + 4),
    )) + struct.pack(">I", 0)
    return _whole(0xE2, _MPF + b"MM\0\x2a" + struct.pack(">I", 8) + ifd + entries)
