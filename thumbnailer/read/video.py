"""Videos: one poster frame, through PyAV (the optional ``[video]`` extra, which
ships FFmpeg in its wheels), handed to render as an upright Pillow image.

The frame is the keyframe at or before 10% of the duration (the first frame of
a clip under 2 s): past a fade-in or a black first frame, and cheap, since a
keyframe decodes alone and the seek reads only what it needs. The display
matrix (a phone's portrait video is stored sideways) is applied here, so the
image leaves upright. The pixel limit is checked before anything is decoded,
and the timeout bounds the whole, as for an image.
"""

from __future__ import annotations

import math
from typing import Any, cast

from PIL import Image

from ..geometry import DRAFT_GAPS, Need
from ..spec import Settings
from . import hdr
from .base import Picture, Readable
from .errors import RenderError

#: Where the poster frame is taken, as a share of the duration.
POSTER_AT = 0.10
#: Clips shorter than this (seconds) give their first frame.
SHORT = 2.0
#: Scale the frame down in the conversion only when it is this much too large.
MIN_SHRINK = 1.25

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
            frame = _frame_at(container, stream, _poster_time(container, stream))
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
    upright = (h, w) if turned else (w, h)
    wanted = need.pixels(upright)
    shrink = min(upright[0] / (wanted[0] * DRAFT_GAPS[1]),
                 upright[1] / (wanted[1] * DRAFT_GAPS[1]))
    size = ((max(1, math.ceil(w / shrink)), max(1, math.ceil(h / shrink)))
            if shrink >= MIN_SHRINK else (w, h))
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


def memory(fp: Readable, need: Need, s: Settings) -> int:
    """The decoded frame, its RGB picture, and a turned copy, from the header (0
    when it cannot be read: the video then fails)."""
    try:
        import av

        with av.open(fp) as container:
            context = container.streams.video[0].codec_context
            pixels = int(context.width * context.height)
    except Exception:
        return 0
    return min(pixels, s.max_pixels) * 10


def _poster_time(container: Any, stream: Any) -> float:
    """Seconds from the start where the poster is taken."""
    if stream.duration and stream.time_base:
        seconds = float(stream.duration * stream.time_base)
    elif container.duration:
        seconds = container.duration / 1_000_000  # AV_TIME_BASE
    else:
        return 0.0
    return 0.0 if seconds < SHORT else seconds * POSTER_AT


def _frame_at(container: Any, stream: Any, seconds: float) -> Any:
    """The keyframe at or before ``seconds`` (the first frame if none decodes there)."""
    if seconds > 0:
        start = stream.start_time or 0
        container.seek(start + int(seconds / stream.time_base), stream=stream, backward=True)
        frame = next(container.decode(stream), None)
        if frame is not None:
            return frame
        container.seek(stream.start_time or 0, stream=stream, backward=True)
    frame = next(container.decode(stream), None)
    if frame is None:
        raise RenderError("no frame could be decoded")
    return frame


def _words(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
