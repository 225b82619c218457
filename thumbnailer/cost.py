"""How much memory making a source's thumbnails will take, from its header alone.

--max-memory admits tasks to the workers while these estimates fit its budget
(run.Budget). The estimate is what the decoded pixels occupy in Pillow, at the
size they are decoded at, times the copies the pipeline makes of them. The
figures below were measured with ``ru_maxrss`` around one render of a 24 MP
panorama in each format (bench/memory.py shows the whole run): PNG, TIFF and
baseline JPEG hold one copy; an alpha channel or a mode conversion adds an RGB(A)
copy (so RGBA takes 8 bytes a pixel and a palette image 5, as measured);
Pillow's WebP decoder holds four; a progressive JPEG keeps all its DCT
coefficients (2 bytes each) at full size whatever scale it is decoded at.
Reading a header opens the file and reads its first kilobytes: it is done only
when the budget could be exceeded (see budget.needed).
"""

from __future__ import annotations

from PIL import ImageFile

from . import jxl
from .decode import head_of, open_image, read_orientation, reading, shrinks_on_load
from .draft import draft
from .geometry import in_file_orientation, pixels_needed
from .kinds import is_raw, is_video
from .raw import raw_pixels
from .run.budget import ADDRESS_SLACK, mapped
from .spec import Settings, Task
from .storage import store
from .video import frame_pixels

#: What a task holds besides its pixels: the encoder's buffers, Python objects.
BASE = 8 << 20
#: Copies of the decoded pixels the pipeline holds at once, by decoder.
COPIES = {"JPEG": 1, "MPO": 1, "PNG": 1, "TIFF": 1, "BMP": 1, "GIF": 1, "WEBP": 4}
#: For any other decoder (HEIF, AVIF, ...: a library's buffer, then Pillow's).
OTHER_COPIES = 2
#: Modes that need no conversion before resizing (others gain a 4-byte copy).
PLAIN_MODES = ("RGB", "L", "1")
#: Bytes Pillow keeps per pixel: one for 8-bit single bands, two for 16-bit, four
#: for everything else (RGB too: a pixel is padded to four bytes).
_PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}


def worst(settings: Settings) -> int:
    """The most one task can be estimated at: the largest image the pixel limit
    lets through, with the most copies. (Bigger ones are refused unread.)"""
    copies = max((*COPIES.values(), OTHER_COPIES)) + 1  # 4-byte pixels, + a conversion
    frames = settings.max_frames if settings.animated else 1
    return (BASE + settings.max_pixels * 4 * copies + settings.max_pixels * 3
            + (frames + 2) * _box_bytes(settings))


def decode_cost(task: Task) -> int:
    """Bytes rendering ``task`` is expected to hold at its peak (BASE when the
    header cannot be read: render fails such a file before decoding it)."""
    s = task.settings
    if not task.targets:
        return BASE
    if is_video(task.source):  # the decoded frame, its RGB picture, and a turned copy
        return BASE + min(frame_pixels(task.source), s.max_pixels) * 10
    if is_raw(task.source):
        samples, pixels = raw_pixels(store(task.source).readable(task.source))
        # The mosaic (2 bytes a sample), LibRaw's picture (four 16-bit channels a
        # pixel), its 8-bit RGB output and Pillow's copy, turned: the full
        # development, which a preview or a half-size one only undercuts.
        return BASE + (samples * 2 + pixels * 18 if pixels <= s.max_pixels else 0)
    try:
        with reading():
            readable = store(task.source).readable(task.source)
            if jxl.is_jxl(head := head_of(readable)):  # its plugin decodes it all on open
                w, h = jxl.size(head)
                # The file, the plugin's pixels, Pillow's, and a conversion.
                return BASE + (w * h * 12 if w * h <= s.max_pixels else 0)
            im = open_image(readable, s)
    except Exception:
        return BASE
    with im:
        return BASE + _pixels(im, task, s)


def _pixels(im: ImageFile.ImageFile, task: Task, s: Settings) -> int:
    w, h = im.size
    if w * h > s.max_pixels:
        return 0  # refused before decoding
    copies = COPIES.get(im.format or "", OTHER_COPIES)
    per_pixel = _PIXEL_BYTES.get(im.mode, 4) * copies + 4 * (im.mode not in PLAIN_MODES)
    full = w * h
    held = 0
    if shrinks_on_load(im, previews=False):  # a HEIF preview: judged in the worker
        sizes = list(dict.fromkeys((*s.sizes, *(t.size for t in task.targets))))
        geometries = in_file_orientation((w, h), read_orientation(im), sizes, s.fit, s.upscale)
        # Sets the decoded size and reads nothing; a preview may be refused once read.
        draft(im, pixels_needed((w, h), geometries), previews=False)
        if im.info.get("progressive") or im.info.get("progression"):
            held += full * 3  # the coefficients: 2 bytes, 1.5 components with 4:2:0
    decoded = im.size[0] * im.size[1]
    frames = min(getattr(im, "n_frames", 1), s.max_frames) if s.animated else 1
    held += decoded * per_pixel + 2 * _box_bytes(s)  # + the resize's buffers
    if frames > 1:  # each kept frame, at the size of the largest thumbnail
        held += frames * _box_bytes(s)
    return held


def _box_bytes(s: Settings) -> int:
    """Bytes of the largest thumbnail asked for (a side left open counts as the other)."""
    boxes = [(size.width or size.height or 0, size.height or size.width or 0) for size in s.sizes]
    return max(w * h for w, h in boxes) * 4


def over_limit(task: Task) -> str | None:
    """Why ``task`` failed, when it is memory: this process has an address-space
    limit (--max-memory, set on each pool worker) and the estimate for the task
    is more than the limit leaves. Decoders say so in their own words ("broken
    data stream", "could not create decoder object") when an allocation fails."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    used = mapped()
    if used is None:
        return None
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))  # some decoders allocate at open
    try:
        need = decode_cost(task)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    if need <= soft - used:
        return None
    # The limit is the budget plus ADDRESS_SLACK (for glibc's arenas) over what the
    # worker mapped at its start: what is left of the budget itself leaves the slack out.
    left = max(0, soft - ADDRESS_SLACK - used)
    return (f"out of memory: it needs about {need >> 20:,} MB, more than --max-memory "
            f"lets one image take ({left >> 20:,} MB of it left)")
