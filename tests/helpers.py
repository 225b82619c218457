"""Images the tests make for themselves, as a user's files would arrive."""

from __future__ import annotations

import faulthandler
import io
import os
import random
import signal
import struct
import time
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageStat

from thumbnailer import cli
from thumbnailer.storage.atomic import TEMP_PREFIX


def invoke(*args):
    """The command line in this process, arguments as strings; exceptions caught
    (a test looks at ``result.exception`` and the output for a traceback)."""
    return CliRunner().invoke(cli.main, [str(a) for a in args])


def photo(path: Path, size=(1200, 900), seed: int = 0, fmt: str | None = None, **save) -> Path:
    """A photo-like picture: gradient, shapes, grain; compresses like a real one."""
    rng = random.Random(seed)
    w, h = size
    im = Image.linear_gradient("L").resize(size).convert("RGB")
    im = Image.merge("RGB", [im.getchannel(0), im.getchannel(1).point(lambda v: 255 - v),
                             Image.new("L", size, rng.randrange(256))])
    draw = ImageDraw.Draw(im)
    for _ in range(25):
        x, y = rng.randrange(w), rng.randrange(h)
        r = rng.randrange(max(2, w // 30), max(3, w // 6))
        draw.ellipse((x - r, y - r, x + r, y + r),
                     fill=tuple(rng.randrange(256) for _ in range(3)))
    im = im.filter(ImageFilter.GaussianBlur(2))
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, format=fmt, **save)
    return path


def quadrants(size=(400, 300)) -> Image.Image:
    """Four flat colours, one per quadrant: any rotation or mirror shows."""
    w, h = size
    im = Image.new("RGB", size)
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, w // 2 - 1, h // 2 - 1), fill=(255, 0, 0))  # top left: red
    draw.rectangle((w // 2, 0, w, h // 2 - 1), fill=(0, 255, 0))  # top right: green
    draw.rectangle((0, h // 2, w // 2 - 1, h), fill=(0, 0, 255))  # bottom left: blue
    draw.rectangle((w // 2, h // 2, w, h), fill=(255, 255, 0))  # bottom right: yellow
    return im


# EXIF orientation -> how to store an upright image so a viewer applying the tag shows it upright.
STORE_FOR_ORIENTATION = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def oriented(path: Path, upright: Image.Image, orientation: int, **save) -> Path:
    """Save ``upright`` as a camera would with EXIF ``orientation``."""
    method = STORE_FOR_ORIENTATION[orientation]
    stored = upright.transpose(method) if method is not None else upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(path, exif=exif.tobytes(), **save)
    return path


def swapped_primaries_profile() -> bytes:
    """A minimal ICC v2 RGB profile whose red and green primaries are swapped.

    An image tagged with it and filled with (255, 0, 0) *means* pure green, so a
    correct conversion to sRGB turns it green, and an ignored profile leaves it red.
    """
    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(x, y, z) -> bytes:
        return b"XYZ " + b"\0" * 4 + s15(x) + s15(y) + s15(z)

    curve = b"curv" + b"\0" * 4 + struct.pack(">I", 1) + struct.pack(">H", int(2.2 * 256)) + b"\0\0"
    text = b"swapped primaries\0"
    desc = (b"desc" + b"\0" * 4 + struct.pack(">I", len(text)) + text
            + b"\0" * 8 + b"\0\0" + b"\0" + b"\0" * 67)
    desc += b"\0" * (-len(desc) % 4)
    srgb_red, srgb_green = (0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971)
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(*srgb_green)),
        (b"gXYZ", xyz(*srgb_red)),
        (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
        (b"cprt", b"text" + b"\0" * 4 + b"CC0\0"),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body + b"\0" * (-len(body) % 4)
    body = struct.pack(">I", len(tags)) + table + data
    header = bytearray(128)
    header[0:4] = struct.pack(">I", 128 + len(body))
    header[8:12] = struct.pack(">I", 0x02100000)
    header[12:16], header[16:20], header[20:24] = b"mntr", b"RGB ", b"XYZ "
    header[36:40] = b"acsp"
    header[68:80] = s15(0.9642) + s15(1.0) + s15(0.8249)
    return bytes(header) + body


def pixel_bomb_png(path: Path, width: int = 40000, height: int = 40000) -> Path:
    """A tiny PNG whose header declares a huge image (a decompression bomb)."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * (width + 1) * 4)  # a few rows; the rest is missing
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
                     + chunk(b"IEND", b""))
    return path


def temp_leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(TEMP_PREFIX)]


def image_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def square(task: int) -> int:
    """A picklable task function for executor tests."""
    return task * task


#: The process that last ran warm(): see warmed().
WARMED: int | None = None


def warm() -> None:
    global WARMED
    WARMED = os.getpid()


def warmed(task: int) -> tuple[int, int | None]:
    """Which process ran the task, and which one had been warmed up in it."""
    return os.getpid(), WARMED


def leave_mark(folder: Path, task: int) -> int:
    """A picklable task that leaves proof it ran (a file named for it), for tests
    that check no finished task goes unreported."""
    (Path(folder) / str(task)).touch()
    return task


def die_then_hang(folder: Path, task: int) -> int:
    """Task 0 kills its pool worker; retried alone, it hangs until ``folder/stop``
    exists (a suspect that may be stuck)."""
    if task == 0:
        if not (Path(folder) / "died").exists():
            (Path(folder) / "died").touch()
            os.kill(os.getpid(), signal.SIGKILL)
        while not (Path(folder) / "stop").exists():
            time.sleep(0.05)
    return task


def square_or_die(task: int) -> int:
    """Like square, but task 13 is killed as an out-of-memory kill would be."""
    if task == 13:
        os.kill(os.getpid(), signal.SIGKILL)
    return task * task


def square_or_segfault(task: int) -> int:
    """Like square, but task 13 segfaults, as a broken decoder would."""
    if task == 13:
        faulthandler.disable()  # inherited from pytest: no crash report for a planned crash
        os.kill(os.getpid(), signal.SIGSEGV)
    return task * task


def render_crashing_on(task):
    """thumbnailer's render, except that a source named *segv* segfaults its worker
    and one named *oom* is killed as the out-of-memory killer would."""
    from thumbnailer.render import render

    name = os.path.basename(task.source)
    if "segv" in name:
        faulthandler.disable()
        os.kill(os.getpid(), signal.SIGSEGV)
    if "oom" in name:
        os.kill(os.getpid(), signal.SIGKILL)
    return render(task)


def with_exif_thumbnail(path, picture, thumbnail, orientation=1):
    """A JPEG as a camera writes it: EXIF with the orientation in IFD0 and a JPEG
    thumbnail in IFD1 (JPEGInterchangeFormat, and its length)."""
    small = io.BytesIO()
    thumbnail.save(small, "JPEG", quality=90)
    data = small.getvalue()
    ifd0 = 8
    ifd1 = ifd0 + 2 + 12 + 4
    at = ifd1 + 2 + 3 * 12 + 4  # the thumbnail, right after IFD1
    tiff = (b"II*\0" + struct.pack("<I", ifd0)
            + struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)
            + struct.pack("<I", ifd1)
            + struct.pack("<H", 3) + struct.pack("<HHIHH", 0x0103, 3, 1, 6, 0)
            + struct.pack("<HHII", 0x0201, 4, 1, at) + struct.pack("<HHII", 0x0202, 4, 1, len(data))
            + struct.pack("<I", 0) + data)
    picture.save(path, "JPEG", quality=92, exif=b"Exif\0\0" + tiff)
    return path


def linear_light(picture: Image.Image) -> np.ndarray:
    """An sRGB picture as linear light, 0-1 a channel (IEC 61966-2-1's curve undone)."""
    v = np.asarray(picture.convert("RGB"), dtype=np.float64) / 255
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def channel_difference(a: Image.Image, b: Image.Image) -> float:
    """The largest mean absolute difference of one channel (0-255), both as RGB."""
    return max(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean)


#: BT.2087: linear BT.709 to linear BT.2020.
TO_BT2020 = np.array([[0.6274, 0.3293, 0.0433], [0.0691, 0.9195, 0.0114],
                      [0.0164, 0.0880, 0.8956]])


def patches(size: tuple[int, int]) -> Image.Image:
    """A grey ramp over skin, sky, foliage, red and greys: the known picture the
    HDR tests encode by the standard's formulas."""
    w, h = size
    im = Image.new("RGB", size, (120, 120, 120))
    ramp = np.tile(np.linspace(0, 255, w).astype(np.uint8)[None, :, None], (h // 3, 1, 3))
    im.paste(Image.fromarray(ramp), (0, 0))
    for i, colour in enumerate([(224, 172, 140), (90, 150, 220), (70, 130, 60), (200, 60, 50),
                                (30, 30, 30), (180, 180, 180)]):
        im.paste(colour, (i * w // 6, h // 3, (i + 1) * w // 6, h))
    return im


def pq_code(picture: Image.Image) -> np.ndarray:
    """An sRGB picture as PQ BT.2020 code values (0-1), its white at HDR
    reference white, 203 cd/m2 (BT.2408): BT.2087's matrix, then SMPTE ST 2084's
    inverse EOTF."""
    y = np.maximum(linear_light(picture) @ TO_BT2020.T * 203 / 10000, 0) ** 0.1593017578125
    return ((0.8359375 + 18.8515625 * y) / (1 + 18.6875 * y)) ** 78.84375


def hlg_code(picture: Image.Image) -> np.ndarray:
    """An sRGB picture as HLG BT.2020 code values (0-1), its white at reference
    white: the display light of a 1,000 cd/m2 display, BT.2100's inverse OOTF
    (system gamma 1.2) and its OETF."""
    display = linear_light(picture) @ TO_BT2020.T * 203 / 1000  # of the 1,000 cd/m2 peak
    yd = np.maximum(display @ np.array([0.2627, 0.6780, 0.0593]), 1e-9)
    scene = display / yd[..., None] ** (0.2 / 1.2)
    a, b, c = 0.17883277, 0.28466892, 0.55991073
    return np.where(scene <= 1 / 12, np.sqrt(3 * scene),
                    a * np.log(np.maximum(12 * scene - b, 1e-9)) + c)
