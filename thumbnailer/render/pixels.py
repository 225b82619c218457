"""The pixel work of a thumbnail, in the order render does it: modes that resize
smoothly, the resizes (each size from the decoded image or from a larger
thumbnail, as geometry.derivation decides), the subject-aware crop, then the
small image turned upright, in sRGB and padded; and the frames of an animation.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from PIL import Image

from ..formats import row
from ..geometry import Box, Geometry, derivation, moved, scaled_box
from ..read.pillow import TRANSPOSE
from ..spec import Crop, Format, Settings
from .colour import to_srgb

#: Resize first by an integer factor down to this gap, then LANCZOS the rest
#: (Pillow: >= 3.0 is indistinguishable from a full LANCZOS in most cases).
REDUCING_GAP = 3.0


def resizable(im: Image.Image) -> Image.Image:
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


def resize_all(im: Image.Image, scale: float, full: Box, geometries: Sequence[Geometry],
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


def placed(im: Image.Image, scale: float, g: Geometry, crop: Crop,
           orientation: int = 1) -> Geometry:
    """Move a cover crop's window to where the picture's subject is (crop.py);
    ``orientation`` turns ``im`` upright (faces are found upright)."""
    from .crop import place  # only for the subject-aware crops

    x0, y0, _, _ = place(im, scaled_box(g.crop, scale, im.size), crop, orientation)
    return moved(g, x0 * scale - g.crop[0], y0 * scale - g.crop[1])


def upright(im: Image.Image, orientation: int, profile: bytes | None, geo: Geometry,
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


def keeps_animation(im: Image.Image, fmt: Format, s: Settings) -> bool:
    return (s.animated and getattr(im, "n_frames", 1) > 1
            and (fmt is Format.AUTO or row(fmt).animation))


def animate(im: Image.Image, orientation: int, geometries: list[Geometry], indices: set[int],
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
            resized[i].append(upright(small, orientation, None, g, s))
    loop = int(im.info.get("loop", 0) or 0)
    return {i: (frames, durations, loop) for i, frames in resized.items()}
