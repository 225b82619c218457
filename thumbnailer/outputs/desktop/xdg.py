"""The freedesktop.org Thumbnail Managing Standard: where file managers look.

GNOME Files, Dolphin, Thunar, Nemo and others read thumbnails from
``$XDG_CACHE_HOME/thumbnails/<flavour>/<md5 of the file's URI>.png`` and trust one
whose ``Thumb::MTime`` text chunk equals the file's modification time. This module
holds the spec's rules as plain functions (no I/O beyond reading a PNG header and
writing a fail marker), for the planner and for render.

Spec: https://specifications.freedesktop.org/thumbnail-spec/latest/
"""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from typing import NamedTuple
from urllib.parse import quote

from ...spec import XDG_FLAVOURS as FLAVOURS  # size (longest side) -> flavour folder

#: The sizes made when --xdg-cache is given without --size: what file managers ask
#: for at their default zoom levels.
DEFAULT_FLAVOURS = (128, 256)

#: Thumbnails and their folders are private: the spec asks for 0600 and 0700.
FILE_MODE = 0o600
DIR_MODE = 0o700

#: Characters GLib's g_filename_to_uri leaves unescaped in a path (its UNSAFE_PATH
#: set), besides letters, digits and "_.-~": file managers hash the URI as GLib
#: spells it, so the same bytes must be produced here.
_GLIB_SAFE = "!$&'()*+,/:=@"


def cache_root(environ: dict[str, str] | None = None) -> str:
    """``$XDG_CACHE_HOME/thumbnails``, or ``~/.cache/thumbnails`` (the spec's rule:
    an unset or relative XDG_CACHE_HOME is ignored)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(env.get("HOME") or os.path.expanduser("~"), ".cache")
    return os.path.join(base, "thumbnails")


def file_uri(path: str) -> str:
    """The ``file://`` URI of an absolute path, byte for byte as GLib spells it."""
    return "file://" + quote(os.fsencode(os.path.abspath(path)), safe=_GLIB_SAFE)


def thumbnail_name(uri: str) -> str:
    """The file name the spec gives a thumbnail: the MD5 of its URI, in hex."""
    return hashlib.md5(uri.encode("utf-8", "surrogateescape")).hexdigest() + ".png"


def flavour_folder(root: str, side: int) -> str:
    return os.path.join(root, FLAVOURS[side])


def make_private_folder(path: str) -> None:
    """Make ``path`` and the cache folders above it (up to ``thumbnails``) 0700."""
    parent = os.path.dirname(path)
    if os.path.basename(path) != "thumbnails" and not os.path.isdir(parent):
        make_private_folder(parent)
    os.makedirs(path, mode=DIR_MODE, exist_ok=True)


def fail_folder(root: str, version: str) -> str:
    """Where this program records images it could not thumbnail (per the spec,
    one folder per program and version, so a newer version tries again)."""
    return os.path.join(root, "fail", f"thumbnailer-{version}")


class PngHeader(NamedTuple):
    width: int
    height: int
    text: dict[str, str]
    bytes: int


def read_header(path: str, limit: int = 1 << 16) -> PngHeader | None:
    """A PNG's size and its tEXt and uncompressed iTXt chunks before the image
    data, or None if ``path`` is missing or not a PNG. Reads only the header: a
    thumbnail's text chunks come before its pixels."""
    try:
        with open(path, "rb") as f:
            data = f.read(limit)
            nbytes = os.fstat(f.fileno()).st_size
    except OSError:
        return None
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    text: dict[str, str] = {}
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IDAT" or len(body) < length:
            break
        if kind == b"tEXt" and b"\0" in body:
            key, _, value = body.partition(b"\0")
            text[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"iTXt" and b"\0" in body:
            key, _, rest = body.partition(b"\0")
            compressed, rest = rest[:1], rest[2:]
            _lang, _, rest = rest.partition(b"\0")
            _translated, _, value = rest.partition(b"\0")
            if compressed == b"\0":
                text[key.decode("latin-1")] = value.decode("utf-8", "replace")
        pos += 12 + length
    return PngHeader(width, height, text, nbytes)


def is_current(header: PngHeader | None, uri: str, mtime: int) -> bool:
    """The spec's up-to-date rule: the thumbnail is of this URI and its Thumb::MTime
    is the file's modification time (in whole seconds)."""
    return (header is not None and header.text.get("Thumb::URI") == uri
            and header.text.get("Thumb::MTime") == str(mtime))


def thumbnail_text(uri: str, mtime: int, size: int) -> tuple[tuple[str, str], ...]:
    """The text chunks the spec asks for (URI and MTime) and those it suggests that
    are known before the image is read; IMAGE_TEXT names the rest."""
    return (("Thumb::URI", uri), ("Thumb::MTime", str(mtime)), ("Thumb::Size", str(size)),
            ("Software", "thumbnailer"))


#: The suggested chunks that are facts of the (upright) image, filled in by render.
IMAGE_TEXT = (("Thumb::Image::Width", "width"), ("Thumb::Image::Height", "height"),
              ("Thumb::Mimetype", "mimetype"))


def fail_png(uri: str, mtime: int, software: str) -> bytes:
    """A fail marker: a 1x1 transparent PNG carrying the URI and MTime it is about.
    Written by hand (a dozen bytes of pixels) so the planner needs no imaging library."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)  # 1x1, 8-bit RGBA
    texts = b"".join(
        chunk(b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1", "replace"))
        for key, value in (("Thumb::URI", uri), ("Thumb::MTime", str(mtime)),
                           ("Software", software))
    )
    pixels = zlib.compress(b"\0\0\0\0\0")  # filter byte, then one transparent pixel
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + texts + chunk(b"IDAT", pixels)
            + chunk(b"IEND", b""))
