"""What a person types for a size, a duration or an amount of memory, read into
numbers: ``256`` or ``320x200``, ``15m`` or ``1h30m``, ``2G`` or ``25%``.

Pure parsing (ValueError with a message for the command line), used by click's
types in cli/ and by scripts that build Settings themselves.
"""

from __future__ import annotations

import re

from .spec import MAX_SIDE, Size

_SIZE_RE = re.compile(r"^\s*(\d*)\s*(?:([xX\u00d7])\s*(\d*))?\s*$")

#: Multipliers of --max-memory's units: binary, as free(1) and ulimit count.
_BYTE_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str) -> Size:
    """Parse ``256``, ``320x200``, ``320x`` or ``x200``; raise ValueError otherwise."""
    m = _SIZE_RE.match(text)
    if not m or not (m.group(1) or m.group(3)):
        raise ValueError(f"{text!r} is not a size: use 256, 320x200, 320x or x200")
    w_text, sep, h_text = m.groups()
    w: int | None
    h: int | None
    if not sep:
        w = h = int(w_text)
    else:
        w = int(w_text) if w_text else None
        h = int(h_text) if h_text else None
    for side in (w, h):
        if side is not None and not 1 <= side <= MAX_SIDE:
            raise ValueError(f"{text!r}: each side must be between 1 and {MAX_SIDE}")
    return Size(w, h)


def parse_duration(text: str) -> float:
    """Seconds from ``90``, ``90s``, ``15m``, ``2h`` or ``1h30m``; ValueError otherwise."""
    text = re.sub(r"\s", "", text.lower())
    if not re.fullmatch(r"(?:\d+(?:\.\d+)?[hms]?)+", text):
        raise ValueError("give a duration: 90s, 15m, 2h or 1h30m")
    parts = re.findall(r"(\d+(?:\.\d+)?)([hms]?)", text)
    seconds = sum(float(n) * {"h": 3600, "m": 60}.get(unit, 1) for n, unit in parts)
    if seconds <= 0:
        raise ValueError("a duration is more than 0")
    return seconds


def parse_bytes(text: str, whole: int | None = None) -> int:
    """Bytes from ``512M``, ``2G``, ``1.5GiB``, ``4000000`` or, given ``whole``,
    a share of it (``50%``); ValueError otherwise."""
    text = text.strip().lower()
    if text.endswith("%"):
        if whole is None:
            raise ValueError("a share (50%) needs something to be a share of")
        share = float(text[:-1]) if re.fullmatch(r"\d+(\.\d+)?", text[:-1]) else -1.0
        if not 0 < share <= 100:
            raise ValueError("a share is more than 0% and at most 100%")
        return int(whole * share / 100)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?|(\d+)\s*b", text)
    if m is None:
        raise ValueError("give a number of bytes: 1048576, 512K, 100M, 1.5G"
                         + (" or a share, such as 50%" if whole is not None else ""))
    if m.group(3) is not None:
        return int(m.group(3))
    amount = int(float(m.group(1)) * _BYTE_UNITS[m.group(2)])
    if amount <= 0:
        raise ValueError("a number of bytes is more than 0")
    return amount
