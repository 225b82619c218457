"""JPEG XL, in and out, through pillow-jxl-plugin (the optional ``[jxl]`` extra,
libjxl in its wheels; GPL-3.0-or-later, where this project is MIT): a plugged
kind, read by Pillow once the plugin is registered (read/pillow.py registers it
when the first such file turns up, recognised by content); the same
registration gives Pillow its encoder (formats.py has its save parameters).

The plugin decodes the whole image when it opens a file, and reads no header
first, so the size is read here from the codestream's SizeHeader (ISO/IEC
18181-1, section A.4; inside a container, from the ``jxlc`` or first ``jxlp``
box) and the pixel limit refuses a file before libjxl sees it. The plugin's
decoder and encoder use every core by default: a worker is to use one.
"""

from __future__ import annotations

import functools

from ..spec import Settings

#: The two ways a JPEG XL file starts: a bare codestream, or the ISO BMFF container.
CODESTREAM = b"\xff\x0a"
CONTAINER = b"\x00\x00\x00\x0cJXL \r\n\x87\n"
#: Width as a share of height (num, den) for SizeHeader's ratio field 1..7.
_RATIOS = {1: (1, 1), 2: (12, 10), 3: (4, 3), 4: (3, 2), 5: (16, 9), 6: (5, 4), 7: (2, 1)}


def recognises(head: bytes) -> bool:
    """Whether a file starting with ``head`` (12 bytes or more) is JPEG XL."""
    return head.startswith(CODESTREAM) or head.startswith(CONTAINER)


def admit(head: bytes, s: Settings) -> None:
    """ValueError when the header is damaged, or its size is over the pixel
    limit: the plugin decodes the whole image on open, so this is the last
    moment to refuse it."""
    try:
        w, h = size(head)
    except ValueError as e:
        raise ValueError(f"damaged JPEG XL header ({e})") from None
    refused = s.pixels_refused(w, h)
    if refused is not None:
        raise ValueError(refused)


def memory(head: bytes, s: Settings) -> int:
    """Bytes a JPEG XL file starting with ``head`` takes to read: the file, the
    plugin's pixels, Pillow's, and a conversion (0 when it will be refused, or
    its header cannot be read)."""
    try:
        w, h = size(head)
    except ValueError:
        return 0
    return w * h * 12 if w * h <= s.max_pixels else 0


def size(data: bytes) -> tuple[int, int]:
    """(width, height) from the first bytes of a JPEG XL file (a few hundred are
    enough for a container's boxes; ValueError if it is not one)."""
    stream = data if data.startswith(CODESTREAM) else _codestream(data)
    return _size_header(stream[2:])


def _codestream(data: bytes) -> bytes:
    at = 0
    while at + 8 <= len(data):
        length = int.from_bytes(data[at:at + 4], "big")
        kind, body = data[at + 4:at + 8], at + 8
        if length == 1:  # a 64-bit size follows the type
            length, body = int.from_bytes(data[at + 8:at + 16], "big"), at + 16
        if kind == b"jxlc":
            return data[body:]
        if kind == b"jxlp":  # a part of the codestream, after its 4-byte index
            return data[body + 4:]
        if length == 0:
            break
        at += length
    raise ValueError("no JPEG XL codestream in the first bytes")


def _size_header(data: bytes) -> tuple[int, int]:
    bits = _Bits(data)
    small = bits.read(1)
    height = (bits.read(5) + 1) * 8 if small else bits.u32() + 1
    ratio = bits.read(3)
    if ratio:
        num, den = _RATIOS[ratio]
        return height * num // den, height
    width = (bits.read(5) + 1) * 8 if small else bits.u32() + 1
    return width, height


class _Bits:
    """Reads the codestream's fields: bits least significant first."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def read(self, n: int) -> int:
        value = 0
        for i in range(n):
            byte = self.at >> 3
            if byte >= len(self.data):
                raise ValueError("the JPEG XL header ends early")
            value |= (self.data[byte] >> (self.at & 7) & 1) << i
            self.at += 1
        return value

    def u32(self) -> int:
        """SizeHeader's U32(Bits(9), Bits(13), Bits(18), Bits(30))."""
        return self.read((9, 13, 18, 30)[self.read(2)])


@functools.lru_cache(maxsize=1)
def register() -> bool:
    """Register the plugin's opener and encoder with Pillow, once per process,
    its decoder on one thread; False if the extra is not installed."""
    try:
        from pillow_jxl import JpegXLImagePlugin
    except ImportError:
        return False
    JpegXLImagePlugin.DECODE_THREADS = 0  # the plugin's word for one thread
    return True
