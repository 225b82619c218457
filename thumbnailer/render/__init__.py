"""Make the thumbnails of one source: the whole per-source pipeline.

``render(task)`` reads the source once, through the reader of its kind
(thumbnailer.read), at the smallest size its thumbnails need, then makes and
writes each thumbnail: resize (pixels.py), upright, sRGB (colour.py) and padded,
then encoded and written whole or not at all (encode.py), the links of
identical sources last (links.py). It writes files, arms a SIGALRM time limit
(timeout.py) and, on a pool worker, runs under the address-space limit the
worker set; it never raises for a bad source and never prints, so it can run
anywhere: in-process, in a pool, on a cluster. What goes wrong is the source's,
worded for a person, in the Outcome it returns; so is what the libraries say
meanwhile (their warnings, and their stderr, run/stderr.py).
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings

from ..geometry import Need, turns
from ..read import describe, kind_of, mime_type, read, transient
from ..read.cost import over_limit
from ..read.errors import RenderError
from ..read.heif import APPLE_GAIN_MAP
from ..read.pillow import caught_warnings, fail_on_warnings, load_decoders, reading, said
from ..run.stderr import captured_stderr
from ..spec import Crop, Entry, FailOn, Format, Hdr, Outcome, Settings, Status, Task
from ..storage import store
from .colour import declared
from .encode import for_format, save, text
from .gainmap import GainMap, apple_gain_map, computed, finisher, gain_map
from .links import link_all
from .pixels import animate, keeps_animation, placed, resizable, resize_all, upright
from .placeholders import placeholder
from .timeout import time_limit


def warm_up(settings: Settings) -> None:
    """Run once in each worker before its first render: see read.pillow.load_decoders."""
    load_decoders(settings)


def render(task: Task) -> Outcome:
    """Write every target of ``task``; a bad source gives a failed Outcome, not an exception."""
    started = time.perf_counter()
    # The libraries' stderr is the source's to tell (with -v), never the terminal's:
    # captured outside the time limit, so no alarm lands while it is put back.
    stderr = captured_stderr()
    caught: list[warnings.WarningMessage] | None = None
    try:
        with stderr, time_limit(task.settings.timeout), caught_warnings() as caught:
            signature, entries, halt = _render(task, caught, stderr)
        if task.links:
            entries += link_all(task, entries, halt)
        # A write can fail for one size and not another; the first reason stands for the source.
        error = next((e.error for e in entries if e.error), None)
        outcome = Outcome(task.source, entries, error, signature, halt,
                          time.perf_counter() - started)
    except Exception as exc:
        memory = over_limit(task)  # a decoder's words for a failed allocation are its own
        outcome = dataclasses.replace(failed_outcome(task, memory or describe(exc)),
                                      transient=bool(memory) or transient(exc),
                                      seconds=time.perf_counter() - started)
    words = said(caught, stderr.lines())
    return dataclasses.replace(outcome, warnings=words) if words else outcome


def failed_outcome(task: Task, reason: str) -> Outcome:
    """Every target of ``task`` failed for ``reason`` (also used when a worker dies)."""
    failed = tuple(
        Entry(task.source, t.size.label, Status.FAILED, error=reason) for t in task.targets
    ) + tuple(Entry(link.source, link.target.size.label, Status.FAILED, error=reason)
              for link in task.links)
    return Outcome(task.source, failed, reason)


def _render(task: Task, caught: list[warnings.WarningMessage] | None,
            stderr: captured_stderr) -> tuple[tuple[int, int], tuple[Entry, ...], str | None]:
    s = task.settings
    where = store(task.source)
    st = where.stat(task.source)
    if st.st_size == 0:
        raise RenderError("empty file (0 bytes)")
    if st.st_size > s.max_file_size and not kind_of(task.source).seeks:
        raise RenderError(
            f"{st.st_size:,} bytes, over the limit of {s.max_file_size:,} (Settings.max_file_size)"
        )
    if not task.targets:  # only links to thumbnails made before (links.py)
        return (st.st_mtime_ns, st.st_size), (), None
    # Geometry, decode size and derivation chain come from *all* the job's sizes,
    # not only the ones still to make, so a thumbnail's bytes never depend on what
    # happened to be up to date already (byte-stable output).
    need = Need.of(task)
    with reading():  # read after the size check
        readable = where.readable(task.source)
        picture = read(task.source, readable, need, s)
        if s.fail_on is FailOn.WARNING:
            fail_on_warnings(caught, stderr.lines())
    im, scale, orientation = picture.image, picture.scale, picture.orientation
    with im:
        geometries = need.geometries(picture.size, orientation)
        w, h = picture.size
        upright_size = (h, w) if turns(orientation) else (w, h)
        profile = declared(im.info)
        # --hdr keep: an UltraHDR source's gain map, indexed by an MPF segment (Pillow
        # opens those as MPO, or as JPEG when their XMP says hdrgm).
        gain: GainMap | None = None
        if s.hdr is Hdr.KEEP and im.format in ("JPEG", "MPO") and "mp" in im.info:
            gain = gain_map(readable)
        elif s.hdr is Hdr.KEEP and APPLE_GAIN_MAP in (im.info.get("aux") or {}):
            gain = apple_gain_map(readable, im.getexif())  # an iPhone's HEIC
        elif picture.stops is not None:  # a PQ or HLG still read for keep: made here
            gain = computed(picture.stops, im)
        facts = {"width": str(upright_size[0]), "height": str(upright_size[1]),
                 "mimetype": picture.mime or mime_type(task.source)}
        exif = im.getexif() if s.keep_metadata else None
        decoded = resizable(im)
        if s.crop is not Crop.CENTER:
            geometries = [placed(decoded, scale, g, s.crop, orientation) for g in geometries]
        sizes = list(need.sizes)
        wanted = {sizes.index(t.size) for t in task.targets}
        # --placeholders: from the smallest thumbnail, made even when up to date.
        least = min(range(len(sizes)), key=lambda i: math.prod(geometries[i].resize))
        wanted |= {least} if s.placeholders else set()
        made = {}
        for i, small in resize_all(decoded, scale, (0.0, 0.0, float(w), float(h)), geometries,
                                   wanted):
            made[i] = upright(small, orientation, profile, geometries[i], s)
        with reading():
            moving = [t for t in task.targets if keeps_animation(im, t.format, s)]
            if moving:
                animations = animate(im, orientation, geometries,
                                     {sizes.index(t.size) for t in moving}, s)
    shade = placeholder(made[least]) if s.placeholders else None
    entries, halt = [], None
    for target in task.targets:
        if halt:  # no point trying the other sizes on a full or read-only disk
            entries.append(Entry(task.source, target.size.label, Status.FAILED, error=halt))
            continue
        if target in moving:
            frames, durations, loop = animations[sizes.index(target.size)]
            fmt: Format = Format.GIF if target.format is Format.AUTO else target.format
            entry, halt = save(task.source, target, frames[0], fmt, None, None, s,
                               animation=(frames[1:], durations, loop))
        else:
            small, fmt = for_format(made[sizes.index(target.size)], target.format, s)
            i = sizes.index(target.size)
            finish = (finisher(gain, picture.size, geometries[i], orientation, s.quality)
                      if gain is not None and fmt is Format.JPEG else None)
            entry, halt = save(task.source, target, small, fmt, profile, exif, s,
                               text(target, facts), finish=finish)
        if entry.status is Status.CREATED:
            # The manifest says which thumbnails an embedded preview served.
            entry = entry._replace(preview=picture.preview, placeholder=shade)
        entries.append(entry)
    return (st.st_mtime_ns, st.st_size), tuple(entries), halt
