"""Videos: one poster frame, through PyAV (the optional ``[video]`` extra, which
ships FFmpeg in its wheels), handed to render as an upright Pillow image.

The poster is the frame nearest 10% of the duration (the first frame of a clip
under 2 s): a seek to the keyframe at or before that point, then decoding
forward to it, never more than MAX_FRAMES frames. If that frame is blank (black,
or one flat colour: a fade-in, a title card's background), the first frame with
content in the next 10% of the clip is taken instead, if there is one. Only the
frame taken is converted to RGB, scaled down in the conversion. The display
matrix (a phone's portrait video is stored sideways) is applied here, so the
image leaves upright. The pixel limit is checked before anything is decoded,
and the timeout bounds the whole, as for an image.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from itertools import islice
from typing import Any, cast

from PIL import Image, ImageStat

from ..geometry import DRAFT_GAPS, Need
from ..spec import Settings
from . import hdr
from .base import Picture, Readable
from .errors import RenderError

#: Where the poster frame is taken, as a share of the duration.
POSTER_AT = 0.10
#: Clips shorter than this (seconds) give their first frame.
SHORT = 2.0
#: The most frames decoded for one poster, from the keyframe on (the frame
#: nearest POSTER_AT and the search past a blank one together); past it, the
#: last frame decoded is the poster. A keyframe every 2 s at 60 fps, as phones
#: write them, puts the frame wanted at most 119 frames from its keyframe.
MAX_FRAMES = 120
#: A frame is blank when the standard deviation of its luma, on a copy PROBE
#: pixels wide (each pixel the mean of a block of the frame, so grain and
#: compression noise average out), is under BLANK levels of 255. A black frame
#: with noise measures under 1, a photograph 20 to 60; a fade-in passes 8 at
#: about a fifth to a third of its full brightness.
PROBE, BLANK = 64, 8.0
#: Scale the frame down in the conversion only when it is this much too large.
MIN_SHRINK = 1.25

#: Memory (``memory``, measured in docs/performance.md): the pictures a decoder
#: holds besides its references (the one being decoded, those waiting to be
#: shown in order, the two this reader keeps while a blank poster waits for a
#: better one); what each costs besides its pixels (FFmpeg's motion vectors and
#: block types); the bytes a pixel of the conversion to RGB takes (through
#: 16-bit RGB and numpy for HDR).
HELD, SIDE_TABLES, CONVERSION = 5, 1.25, 14
#: H.264's MaxDpbMbs (16x16 blocks) and HEVC's MaxLumaPs (pixels) by level, as
#: FFmpeg numbers levels (H.264's 5.1 is 51, HEVC's 5 is 150).
_H264_DPB = {9: 396, 10: 396, 11: 900, 12: 2376, 13: 2376, 20: 2376, 21: 4752, 22: 8100,
             30: 8100, 31: 18000, 32: 20480, 40: 32768, 41: 32768, 42: 34816, 50: 110400,
             51: 184320, 52: 184320, 60: 696320, 61: 696320, 62: 696320}
_HEVC_PICTURE = {30: 36864, 60: 122880, 63: 245760, 90: 552960, 93: 983040, 120: 2228224,
                 123: 2228224, 150: 8912896, 153: 8912896, 156: 8912896, 180: 35651584,
                 183: 35651584, 186: 35651584}

#: Turning a frame by its display matrix's angle (degrees counterclockwise, as
#: FFmpeg's av_display_rotation_get gives it) makes it upright.
_TURNS = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180,
          270: Image.Transpose.ROTATE_270}

def read(fp: Readable, need: Need, s: Settings, previews: bool = True) -> Picture:
    """The poster frame, upright, scaled down in its conversion to what ``need``
    asks: the picture's size is the frame's as converted."""
    image = poster(fp, need, s)
    return Picture(image, image.size)


def poster(fp: Readable, need: Need, s: Settings) -> Image.Image:
    """The poster frame of a video, upright, as an RGB image."""
    try:
        import av
    except ImportError:
        raise RenderError("a video: reading videos needs the optional extra: "
                          "pip install 'thumbnailer[video]'") from None
    try:
        container = av.open(fp)
    except av.FFmpegError as e:
        raise RenderError(f"not a video FFmpeg can read ({_words(e)})") from e
    with container:
        if not container.streams.video:
            raise RenderError("no video stream (an audio file?)")
        stream = container.streams.video[0]
        stream.thread_type = "SLICE"  # one worker, one core: no frame threads
        stream.codec_context.thread_count = 1
        w, h = stream.codec_context.width, stream.codec_context.height
        if (refused := s.pixels_refused(w, h)) is not None:
            raise RenderError(refused)
        try:
            frame = _poster_frame(container, stream, _poster_time(container, stream))
        except av.FFmpegError as e:
            raise RenderError(f"damaged video data ({_words(e)})") from e
        turn = _TURNS.get(round(getattr(frame, "rotation", 0) or 0) % 360)
        image = _scaled(frame, need, turned=turn in (Image.Transpose.ROTATE_90,
                                                   Image.Transpose.ROTATE_270))
        return image.transpose(turn) if turn is not None else image


def _scaled(frame: Any, need: Need, turned: bool) -> Image.Image:
    """The frame as RGB, scaled down in FFmpeg's conversion as far as keeps the
    pixels the largest size needs with the widest draft gap, as a JPEG draft
    does: converting and resizing a whole 4K frame is most of a poster's cost."""
    w, h = frame.width, frame.height
    size = _converted(w, h, need, turned)
    transfer: int = frame.color_trc or 0
    if not hdr.is_hdr(transfer):
        if size == (w, h):
            image: Image.Image = frame.to_image()
            return image
        return cast(Image.Image, frame.reformat(*size, format="rgb24",
                                                interpolation="AREA").to_image())
    # 16 bits a channel into the tone mapping: 8 would band the shadows.
    scaled = frame.reformat(*size, format="rgb48le", interpolation="AREA")
    try:  # PyAV hands frames to numpy only when it is there: the extra brings it
        import numpy  # noqa: F401  (first: PyAV's own import of it fails less plainly)

        pixels = hdr.to_sdr(scaled.to_ndarray(), transfer, frame.color_primaries)
    except ImportError:
        raise RenderError("an HDR video: tone mapping it needs numpy: "
                          "pip install 'thumbnailer[video]'") from None
    return Image.fromarray(pixels)


def _converted(w: int, h: int, need: Need, turned: bool) -> tuple[int, int]:
    """The size a w x h frame is converted to RGB at (see _scaled)."""
    upright = (h, w) if turned else (w, h)
    wanted = need.pixels(upright)
    shrink = min(upright[0] / (wanted[0] * DRAFT_GAPS[1]),
                 upright[1] / (wanted[1] * DRAFT_GAPS[1]))
    return ((max(1, math.ceil(w / shrink)), max(1, math.ceil(h / shrink)))
            if shrink >= MIN_SHRINK else (w, h))


def memory(fp: Readable, need: Need, s: Settings) -> int:
    """The decoder's pictures and the RGB conversion, from the header (0 when it
    cannot be read: the video then fails). Decoding forward from a keyframe
    fills the decoder's buffer of reference pictures, so the estimate is that
    buffer at its fullest, not one frame."""
    try:
        import av

        with av.open(fp) as container:
            context = container.streams.video[0].codec_context
            w, h = int(context.width), int(context.height)
            # The level is read by PyAV 18 and newer; under 17 it is not known,
            # and the estimate takes the most reference pictures (16).
            name, layout = context.name, context.format
            level = int(getattr(context, "level", 0) or 0)
            depth = (sum(c.width * c.height * ((c.bits + 7) // 8)
                         for c in av.VideoFormat(layout.name, w, h).components) / (w * h)
                     if layout is not None else 3.0)
    except Exception:
        return 0
    if w * h > s.max_pixels:
        return 0  # refused before it is decoded
    pictures = _references(name, level, w, h) + HELD
    converted = max(math.prod(_converted(w, h, need, turned)) for turned in (False, True))
    return round(w * h * depth * SIDE_TABLES * pictures + converted * CONVERSION)


def _references(codec: str, level: int, w: int, h: int) -> int:
    """The most reference pictures a stream of this codec, level and size may
    keep, as H.264 (Table A-1) and HEVC (A.4.2) bound them; 16 when not known."""
    if codec == "h264" and level in _H264_DPB:
        return max(1, min(16, _H264_DPB[level] // (-(-w // 16) * -(-h // 16))))
    if codec == "hevc" and level in _HEVC_PICTURE:
        most, size = _HEVC_PICTURE[level], w * h
        return (16 if size <= most // 4 else 12 if size <= most // 2
                else 8 if size <= most * 3 // 4 else 6)
    return 16


def _poster_time(container: Any, stream: Any) -> float:
    """Seconds from the start where the poster is taken."""
    if stream.duration and stream.time_base:
        seconds = float(stream.duration * stream.time_base)
    elif container.duration:
        seconds = container.duration / 1_000_000  # AV_TIME_BASE
    else:
        return 0.0
    return 0.0 if seconds < SHORT else seconds * POSTER_AT


def _poster_frame(container: Any, stream: Any, seconds: float) -> Any:
    """The frame nearest ``seconds`` from the start, or the first frame with
    content after it when it is blank (the first frame if none decodes there)."""
    if seconds > 0:
        start, base = stream.start_time or 0, stream.time_base
        container.seek(start + int(seconds / base), stream=stream, backward=True)
        frame = _chosen(_decoded(container, stream), start + round(seconds / base),
                        start + round(seconds * 2 / base), _frame_span(stream))
        if frame is not None:
            return frame
        container.seek(stream.start_time or 0, stream=stream, backward=True)
    frame = next(_decoded(container, stream), None)
    if frame is None:
        raise RenderError("no frame could be decoded")
    return frame


def _chosen(frames: Iterator[Any], at: int, until: int, span: int) -> Any:
    """Of ``frames`` (decoded from a keyframe on), the one nearest ``at``, or
    when it is blank the first with content up to ``until`` (timestamps in the
    stream's time base), decoding at most MAX_FRAMES; None if none decodes. One
    frame is held at a time, two while a blank one waits for a better one."""
    frames = islice(frames, MAX_FRAMES)
    poster = None
    for frame in frames:
        poster = frame
        # Nearest when the next frame, half a frame on, would be past ``at``.
        if frame.pts is None or frame.pts + (frame.duration or span) / 2 >= at:
            break
    if poster is None or not _blank(poster):
        return poster
    for frame in frames:
        if frame.pts is not None and frame.pts > until:
            break
        if not _blank(frame):
            return frame
    return poster


def _blank(frame: Any) -> bool:
    """Whether a frame is blank: black, or one flat colour (see BLANK)."""
    w, h = frame.width, frame.height
    probe = frame.to_image(width=PROBE, height=max(1, round(PROBE * h / w)),
                           interpolation="AREA").convert("L")
    return ImageStat.Stat(probe).stddev[0] < BLANK


def _frame_span(stream: Any) -> int:
    """A frame's duration in the stream's time base, from its rate, for frames
    that do not say (0 when the rate is not known either)."""
    rate = stream.guessed_rate or stream.average_rate
    return round(1 / (rate * stream.time_base)) if rate and stream.time_base else 0


def _decoded(container: Any, stream: Any) -> Iterator[Any]:
    """The stream's frames, decoded from where the container stands."""
    yield from container.decode(stream)


def _words(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
