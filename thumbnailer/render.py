"""Make the thumbnails of one source image: the whole per-image pipeline.

``render(task)`` is a pure function of the task (source path, targets, settings):
it writes the thumbnails and returns an Outcome. It never raises for a bad image
and never prints, so it can run anywhere: in-process, in a pool, on a cluster.

The order of the steps matters for speed and correctness:
open (header only, allowed decoders) -> refuse oversize -> for JPEG: orientation
from the header, draft (shrink-on-load), load; for the rest: load, then the
orientation the decoder left to apply -> resize from the crop box -> transpose
the small image -> colour to sRGB -> pad -> alpha -> atomic save. Every error
while reading is the file's, worded for a person; none is swallowed (decode.py
does the reading; geometry.py the arithmetic; formats.py knows the encoders).
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import importlib.util
import math
import time
import warnings
from collections.abc import Iterator, Sequence
from typing import cast

from PIL import Image, ImageFile, features

from .colour import srgb_bytes, to_srgb
from .cost import over_limit
from .decode import (
    ORIENTATION_TAG,
    TRANSPOSE,
    RenderError,
    StalePreview,
    caught_warnings,
    describe,
    fail_on_warnings,
    load_decoders,
    load_pixels,
    open_image,
    read_orientation,
    reading,
    shrinks_on_load,
    time_limit,
    transient,
)
from .draft import blank, draft, served
from .formats import TABLE, row
from .geometry import (
    Box,
    Geometry,
    derivation,
    in_file_orientation,
    moved,
    pixels_needed,
    scaled_box,
    turns,
)
from .kinds import is_raw, is_video, mime_type
from .links import link_all
from .placeholders import placeholder
from .raw import Developed, develop
from .spec import (
    Crop,
    Entry,
    FailOn,
    Format,
    Outcome,
    Settings,
    Status,
    Target,
    Task,
)
from .storage import NotOurs, Unsafe, placement, store
from .video import poster

#: Resize first by an integer factor down to this gap, then LANCZOS the rest
#: (Pillow: >= 3.0 is indistinguishable from a full LANCZOS in most cases).
REDUCING_GAP = 3.0

def warm_up(settings: Settings) -> None:
    """Run once in each worker before its first render: see decode.load_decoders."""
    load_decoders(settings)


def render(task: Task) -> Outcome:
    """Write every target of ``task``; a bad image gives a failed Outcome, not an exception."""
    started = time.perf_counter()
    try:
        with time_limit(task.settings.timeout), caught_warnings() as caught:
            try:
                signature, entries, halt = _render(task, caught)
            except StalePreview:  # not the image's: decode the image itself
                signature, entries, halt = _render(task, caught, previews=False)
        if task.links:
            entries += link_all(task, entries, halt)
        # A write can fail for one size and not another; the first reason stands for the source.
        error = next((e.error for e in entries if e.error), None)
        return Outcome(task.source, entries, error, signature, halt,
                       time.perf_counter() - started)
    except Exception as exc:
        memory = over_limit(task)  # a decoder's words for a failed allocation are its own
        return dataclasses.replace(failed_outcome(task, memory or describe(exc)),
                                   transient=bool(memory) or transient(exc),
                                   seconds=time.perf_counter() - started)


def failed_outcome(task: Task, reason: str) -> Outcome:
    """Every target of ``task`` failed for ``reason`` (also used when a worker dies)."""
    failed = tuple(
        Entry(task.source, t.size.label, Status.FAILED, error=reason) for t in task.targets
    ) + tuple(Entry(link.source, link.target.size.label, Status.FAILED, error=reason)
              for link in task.links)
    return Outcome(task.source, failed, reason)


@functools.lru_cache(maxsize=1)
def writable_formats() -> tuple[Format, ...]:
    """The output formats this Pillow build (and the extras installed) can encode."""
    return tuple(f for f, r in TABLE.items()
                 if (r.feature is None or features.check(r.feature))
                 and (r.plugin is None or importlib.util.find_spec(r.plugin[0]) is not None))


def _render(task: Task, caught: list[warnings.WarningMessage] | None, previews: bool = True
            ) -> tuple[tuple[int, int], tuple[Entry, ...], str | None]:
    s = task.settings
    where = store(task.source)
    st = where.stat(task.source)
    if st.st_size == 0:
        raise RenderError("empty file (0 bytes)")
    video = is_video(task.source)  # a poster frame: a seek reads a little of a large file
    developed: Developed | None = None
    if st.st_size > s.max_file_size and not video:
        raise RenderError(
            f"{st.st_size:,} bytes, over the limit of {s.max_file_size:,} (--max-file-size)"
        )
    if not task.targets:  # only links to thumbnails made before (links.py)
        return (st.st_mtime_ns, st.st_size), (), None
    with reading():  # read after the size check
        readable = where.readable(task.source)
        # A poster or a developed RAW is a loaded image, upright: nothing left to
        # draft, load or turn.
        if is_raw(task.source):
            developed = develop(readable, s, previews)
            im = cast(ImageFile.ImageFile, developed.image)
        elif video:
            im = cast(ImageFile.ImageFile, poster(readable, s))
        else:
            im = open_image(readable, s)
    with im:
        original = im
        w, h = developed.size if developed else im.size
        if (refused := s.pixels_refused(w, h)) is not None:
            raise RenderError(refused)
        # Geometry, draft and derivation chain come from *all* the job's sizes, not
        # only the ones still to make, so a thumbnail's bytes never depend on what
        # happened to be up to date already (byte-stable output).
        sizes = list(dict.fromkeys((*s.sizes, *(t.size for t in task.targets))))
        with reading():
            if shrinks_on_load(im, previews):
                # draft() works only before the pixels are read, so the geometry
                # comes first; JPEG decoders never apply the orientation themselves.
                orientation = read_orientation(im)
                geometries = in_file_orientation((w, h), orientation, sizes, s.fit, s.upscale)
                scale = draft(im, pixels_needed((w, h), geometries), previews)
                load_pixels(im, s.fail_on)
                if served(im, scale) and blank(im):
                    raise StalePreview("a blank preview")
            else:
                # Read the pixels first: some decoders apply the orientation on
                # load and drop the tag (libtiff), and some only find the EXIF
                # after the pixels (PNG's eXIf chunk may follow IDAT). What the
                # loaded image still says is what is left to do.
                load_pixels(im, s.fail_on)
                if not developed:
                    w, h = im.size
                orientation = read_orientation(im)
                geometries = in_file_orientation((w, h), orientation, sizes, s.fit, s.upscale)
                scale = developed.scale if developed else 1.0
            if s.fail_on is FailOn.WARNING:
                fail_on_warnings(caught)
        upright = (h, w) if turns(orientation) else (w, h)
        profile = im.info.get("icc_profile")
        facts = {"width": str(upright[0]), "height": str(upright[1]),
                 "mimetype": Image.MIME.get(im.format or "", "") or mime_type(task.source)}
        exif = im.getexif() if s.keep_metadata else None
        decoded = _resizable(im)
        if s.crop is not Crop.CENTER:
            geometries = [_placed(decoded, scale, g, s.crop) for g in geometries]
        wanted = {sizes.index(t.size) for t in task.targets}
        # --placeholders: from the smallest thumbnail, made even when up to date.
        least = min(range(len(sizes)), key=lambda i: math.prod(geometries[i].resize))
        wanted |= {least} if s.placeholders else set()
        made = {}
        for i, small in _resize_all(decoded, scale, (0.0, 0.0, float(w), float(h)), geometries,
                                    wanted):
            made[i] = _upright(small, orientation, profile, geometries[i], s)
        with reading():
            moving = [t for t in task.targets if _keeps_animation(original, t.format, s)]
            if moving:
                animations = _animate(original, orientation, geometries,
                                      {sizes.index(t.size) for t in moving}, s)
    shade = placeholder(made[least]) if s.placeholders else None
    # The manifest says which thumbnails an embedded preview served.
    preview = developed.preview if developed else served(im, scale)
    entries, halt = [], None
    for target in task.targets:
        if halt:  # no point trying the other sizes on a full or read-only disk
            entries.append(Entry(task.source, target.size.label, Status.FAILED, error=halt))
            continue
        if target in moving:
            frames, durations, loop = animations[sizes.index(target.size)]
            fmt: Format = Format.GIF if target.format is Format.AUTO else target.format
            entry, halt = _save(task.source, target, frames[0], fmt, None, None, s,
                                animation=(frames[1:], durations, loop))
        else:
            small, fmt = _for_format(made[sizes.index(target.size)], target.format, s)
            entry, halt = _save(task.source, target, small, fmt, profile, exif, s,
                                _text(target, facts))
        if entry.status is Status.CREATED:
            entry = entry._replace(preview=preview, placeholder=shade)
        entries.append(entry)
    return (st.st_mtime_ns, st.st_size), tuple(entries), halt


def _keeps_animation(im: Image.Image, fmt: Format, s: Settings) -> bool:
    return (s.animated and getattr(im, "n_frames", 1) > 1
            and (fmt is Format.AUTO or row(fmt).animation))


def _animate(im: Image.Image, orientation: int, geometries: list[Geometry], indices: set[int],
             s: Settings) -> dict[int, tuple[list[Image.Image], list[int], int]]:
    """Every frame (up to max_frames), resized for each size index in ``indices``:
    index -> (frames, durations in ms, loop count). Frames are read one at a time,
    fully composited (Pillow applies each frame's disposal), so only the small
    frames are kept. GIF and WebP have no shrink-on-load: each frame is decoded
    whole, and the time limit bounds a long animation."""
    count = min(getattr(im, "n_frames", 1), s.max_frames)
    resized: dict[int, list[Image.Image]] = {i: [] for i in indices}
    durations = []
    for k in range(count):
        im.seek(k)
        durations.append(int(im.info.get("duration") or 100))
        frame = im.convert("RGBA")
        for i in indices:
            g = geometries[i]
            small = frame.resize(g.resize, Image.Resampling.LANCZOS, box=g.crop,
                                 reducing_gap=REDUCING_GAP)
            resized[i].append(_upright(small, orientation, None, g, s))
    loop = int(im.info.get("loop", 0) or 0)
    return {i: (frames, durations, loop) for i, frames in resized.items()}


def _placed(im: Image.Image, scale: float, g: Geometry, crop: Crop) -> Geometry:
    """Move a cover crop's window to where the picture's subject is (crop.py)."""
    from .crop import place  # only for --crop entropy|attention

    x0, y0, _, _ = place(im, scaled_box(g.crop, scale, im.size), crop)
    return moved(g, x0 * scale - g.crop[0], y0 * scale - g.crop[1])


def _resize_all(im: Image.Image, scale: float, full: Box, geometries: Sequence[Geometry],
                wanted: set[int]) -> Iterator[tuple[int, Image.Image]]:
    """Yield (index, resized image) for each wanted geometry, each made from the
    decoded image or from a larger thumbnail as geometry.derivation decides."""
    made: dict[int, Image.Image] = {}
    for i, parent in derivation(geometries, full, wanted):
        geo = geometries[i]
        if parent is None:
            base, box = im, scaled_box(geo.crop, scale, im.size)
            resample = Image.Resampling.LANCZOS
        else:
            # The base is a LANCZOS thumbnail, already band-limited: BICUBIC from it
            # scores within 0.01 dB of LANCZOS and takes 30% less time (levers.py).
            base, box = made[parent], None
            resample = Image.Resampling.BICUBIC
        made[i] = small = base.resize(geo.resize, resample, box=box,
                                      reducing_gap=REDUCING_GAP)
        if i in wanted:
            yield i, small


def _resizable(im: Image.Image) -> Image.Image:
    """Modes whose resize would be nearest-neighbour (palette, 1-bit) become smooth
    ones; a transparent colour key (PNG tRNS on RGB or grey) becomes real alpha."""
    if "transparency" in im.info and im.mode in ("1", "L", "RGB"):
        return im.convert("RGBA" if im.mode == "RGB" else "LA")
    if im.mode.startswith("I;16"):  # big-endian and other 16-bit layouts resize as I
        return im.convert("I")
    if im.mode == "1":
        return im.convert("L")
    if im.mode == "P":
        return im.convert("RGBA" if im.has_transparency_data else "RGB")
    if im.mode == "PA":
        return im.convert("RGBA")
    if im.mode in ("LAB", "HSV", "YCbCr"):
        return im.convert("RGB")
    return im


def _upright(im: Image.Image, orientation: int, profile: bytes | None, geo: Geometry,
            s: Settings) -> Image.Image:
    """Upright, sRGB and padded: everything that does not depend on the format."""
    if orientation in TRANSPOSE:
        im = im.transpose(TRANSPOSE[orientation])
    im = to_srgb(im, profile)
    if geo.canvas is not None:
        canvas = Image.new("RGBA", geo.canvas, s.background)
        offset = ((geo.canvas[0] - im.width) // 2, (geo.canvas[1] - im.height) // 2)
        canvas.alpha_composite(im.convert("RGBA"), offset)
        im = canvas
    return im


def _for_format(im: Image.Image, fmt: Format, s: Settings) -> tuple[Image.Image, Format]:
    """Alpha settled and the mode the encoder takes: returns (image, format), with
    format auto resolved to JPEG or PNG."""
    low = im.getchannel("A").getextrema()[0] if im.mode in ("RGBA", "LA") else 255
    translucent = isinstance(low, (int, float)) and low < 255
    if fmt is Format.AUTO:
        fmt = Format.PNG if translucent else Format.JPEG
    encoder = row(fmt)
    if translucent and not encoder.alpha:
        background = Image.new("RGBA", im.size, (*s.background[:3], 255))
        background.alpha_composite(im.convert("RGBA"))
        im = background
    grey = im.mode in ("L", "LA")
    if translucent and encoder.alpha:
        wanted = "LA" if grey else "RGBA"
    else:
        wanted = "L" if grey else "RGB"
    if wanted not in encoder.modes:  # WebP and AVIF have no greyscale
        wanted = {"L": "RGB", "LA": "RGBA"}[wanted]
    if im.mode != wanted:
        im = im.convert(wanted)
    return im, fmt


#: Write errors that will hit every other image too: stop the run instead of
#: failing 100,000 images one by one.
_HALTING = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


def _text(target: Target, facts: dict[str, str]) -> dict[str, str]:
    """The target's PNG text chunks, with the image's facts filled in (an unknown
    one, such as the MIME type of an unusual format, is left out)."""
    chunks = dict(target.text)
    for key, fact in target.image_text:
        if facts.get(fact):
            chunks[key] = facts[fact]
    return chunks


def _save(source: str, target: Target, im: Image.Image, fmt: Format, profile: bytes | None,
          exif: Image.Exif | None, s: Settings, chunks: dict[str, str] | None = None,
          animation: tuple[list[Image.Image], list[int], int] | None = None
          ) -> tuple[Entry, str | None]:
    """Encode and write one thumbnail; returns (entry, reason to halt the run or None).
    ``animation`` is (the frames after ``im``, durations, loop) for an animated one."""
    encoder = row(fmt)
    output = f"{target.stem}.{encoder.extension}"
    if animation is not None:
        rest, durations, loop = animation
        params = {"save_all": True, "append_images": rest, "duration": durations,
                  "loop": loop, **encoder.moving(s.quality)}
    else:
        params = encoder.still(s.quality, im.size)
    if profile and im.mode in ("RGB", "RGBA"):
        # The pixels are sRGB now; say so, since the source declared a profile.
        params["icc_profile"] = srgb_bytes()
    if exif is not None:
        exif[ORIENTATION_TAG] = 1  # the pixels are upright now
        params["exif"] = exif.tobytes()
    if chunks:  # the desktop cache's spec chunks, say
        from PIL import PngImagePlugin

        info = PngImagePlugin.PngInfo()
        for key, value in chunks.items():
            info.add_text(key, value)
        params["pnginfo"] = info
    where, root, rel, expect = placement(output, target.root, target.owned, target.adopt)
    try:  # whole or absent: a temporary moved into place, or one PUT; never over a stranger
        made = where.put(root, rel, lambda f: im.save(f, format=encoder.pillow, **params),
                         expect, target.private)
    except (NotOurs, Unsafe) as e:  # refused: this file only, nothing written
        return Entry(source, target.size.label, Status.FAILED, error=e.strerror), None
    except OSError as e:
        reason = f"cannot write {output}: {e.strerror or e}"
        if e.errno in (errno.EEXIST, errno.ENOTDIR):
            reason = _file_in_the_way(output) or reason
        halt = reason if e.errno in _HALTING else None
        return Entry(source, target.size.label, Status.FAILED, error=reason), halt
    entry = Entry(source, target.size.label, Status.CREATED, output, fmt.value,
                  im.width, im.height, made.size, made=made)
    return entry, None


def _file_in_the_way(output: str) -> str | None:
    """Why ``output`` cannot be written when a folder it needs is a file: most
    often the old thumbnail of a source file that became a folder of its name
    (src/a.jpg made out/a.jpg; now src/a.jpg/b.jpg wants out/a.jpg/b.jpg).
    Nothing is deleted here: --prune removes that file once no source names it,
    and only if this tool made it."""
    where = store(output)
    folder = where.parent(output)
    while True:
        if where.is_file(folder):
            return (f"cannot write {output}: {folder} is a file where a folder must be; "
                    "if it is an old thumbnail (its source is now a folder), run with "
                    "--prune to remove it")
        up = where.parent(folder)
        if up == folder:
            return None
        folder = up
