"""The arithmetic of a thumbnail, apart from the pixel work: plain functions of sizes.

How an image meets a box (fit), what part of it is resized (crop), which sizes are
made from which (the derivation chain), how far a JPEG may shrink on load (the
draft scale), and the same in the file's own orientation. No Pillow here: render
does the pixels, this decides their shapes, and the tests check it without images.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .spec import Fit, Size, Task

#: A smaller size is derived from a larger thumbnail only with this much headroom
#: on each side: the larger one has already been through one resize.
DERIVE_GAP = 1.5

#: How many drafted pixels each output pixel needs on each side, per DCT scale
#: (in eighths), so that LANCZOS after the draft loses nothing visible. At 1/8
#: libjpeg keeps only each block's average, and LANCZOS needs room to undo that
#: softness; the finer scales keep real detail. Measured after a q85 save against
#: a full decode (``python bench/levers.py``): 1/8 loses 0.11 dB at 1.1 and 0.01 dB
#: at 1.5; 1/4, 3/8 and 1/2 lose at most 0.02 dB at 1.2. 1.5 still lets
#: 12 MP -> 256 px decode at 1/8, the decode floor.
DRAFT_GAPS = {1: 1.5, 2: 1.2, 3: 1.2, 4: 1.2}

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Geometry:
    """How to get one thumbnail from a source of a given size."""

    resize: tuple[int, int]  # size of the resized image
    crop: Box  # region of the source that is resized
    canvas: tuple[int, int] | None = None  # pad: final size, image centred on it


def fit_geometry(
    source: tuple[int, int], box: Size, fit: Fit, upscale: bool = False
) -> Geometry:
    """The resize, crop and canvas that fit ``source`` (w, h, upright) to ``box``.

    contain never upscales unless asked; cover crops the overflow centred, and
    without --upscale a source smaller than the box is only cropped to the box's
    aspect; fill stretches to the box; pad contains, then centres on the box.
    With only one side given, every fit scales to that side.
    """
    w, h = source
    full = (0.0, 0.0, float(w), float(h))
    if box.width is None or box.height is None:
        scale = box.width / w if box.width is not None else box.height / h  # type: ignore[operator]
        return Geometry(_scaled(w, h, scale, upscale), full)
    bw, bh = box.width, box.height
    if fit is Fit.FILL:
        return Geometry((bw, bh), full)
    if fit is Fit.COVER:
        aspect = bw / bh
        cw, ch = (h * aspect, float(h)) if w / h > aspect else (float(w), w / aspect)
        x0, y0 = (w - cw) / 2, (h - ch) / 2
        crop = (x0, y0, x0 + cw, y0 + ch)
        if upscale or cw >= bw:
            return Geometry((bw, bh), crop)
        return Geometry((max(1, round(cw)), max(1, round(ch))), crop)
    size = _scaled(w, h, min(bw / w, bh / h), upscale)
    return Geometry(size, full, (bw, bh) if fit is Fit.PAD else None)


def _scaled(w: int, h: int, scale: float, upscale: bool) -> tuple[int, int]:
    if not upscale:
        scale = min(scale, 1.0)
    return max(1, round(w * scale)), max(1, round(h * scale))


def turns(orientation: int) -> bool:
    """Whether an EXIF orientation swaps width and height (5 to 8)."""
    return orientation in (5, 6, 7, 8)


def in_file_orientation(stored: tuple[int, int], orientation: int, sizes: Sequence[Size],
                        fit: Fit, upscale: bool) -> list[Geometry]:
    """Each size's geometry for an image ``stored`` (w, h) as the file holds it, to
    be turned upright by ``orientation`` once small: fitted to the upright picture,
    then expressed in the file's own axes."""
    w, h = stored
    upright = (h, w) if turns(orientation) else (w, h)
    geometries = [fit_geometry(upright, size, fit, upscale) for size in sizes]
    return [swap(g) for g in geometries] if turns(orientation) else geometries


def swap(g: Geometry) -> Geometry:
    """The same geometry with x and y exchanged (for a transposed image)."""
    x0, y0, x1, y1 = g.crop
    return Geometry((g.resize[1], g.resize[0]), (y0, x0, y1, x1), g.canvas)


def moved(g: Geometry, dx: float, dy: float) -> Geometry:
    """``g`` with its crop window shifted (where --crop puts the subject)."""
    x0, y0, x1, y1 = g.crop
    return Geometry(g.resize, (x0 + dx, y0 + dy, x1 + dx, y1 + dy), g.canvas)


def scaled_box(box: Box, scale: float, size: tuple[int, int]) -> Box:
    """A crop box of the original in the pixels of an image shrunk by ``scale``
    (of ``size``). Float rounding must not put an edge a hair past the shrunk
    image (Pillow refuses that)."""
    x0, y0, x1, y1 = (c / scale for c in box)
    return (max(0.0, x0), max(0.0, y0), min(x1, size[0]), min(y1, size[1]))


@dataclass(frozen=True)
class Need:
    """What a decode must serve: the thumbnails of every size of the job, fitted
    as the settings say. Every size, not only those still to make, so that a
    thumbnail's bytes never depend on what happened to be up to date."""

    sizes: tuple[Size, ...]
    fit: Fit
    upscale: bool

    @classmethod
    def of(cls, task: Task) -> Need:
        """The job's sizes, then any of the task's own (in a job's tasks they are
        the same), each once, in order: render indexes its thumbnails by them."""
        s = task.settings
        sizes = tuple(dict.fromkeys((*s.sizes, *(t.size for t in task.targets))))
        return cls(sizes, s.fit, s.upscale)

    def geometries(self, stored: tuple[int, int], orientation: int = 1) -> list[Geometry]:
        """Each size's geometry for a picture held as ``stored`` (w, h), which
        ``orientation`` (EXIF's) turns upright: see in_file_orientation."""
        return in_file_orientation(stored, orientation, self.sizes, self.fit, self.upscale)

    def pixels(self, stored: tuple[int, int], orientation: int = 1) -> tuple[float, float]:
        """The pixels (w, h, in the axes ``stored`` is held in) that the largest
        thumbnail resizes from: what a reader must keep when it decodes small.
        Every reader asks this, and only this."""
        return pixels_needed(stored, self.geometries(stored, orientation))


def pixels_needed(source: tuple[int, int], geometries: Sequence[Geometry]) -> tuple[float, float]:
    """How many source pixels (w, h) the largest geometry resizes from, at the
    source's own scale: what a shrink on load must keep."""
    w, h = source
    return (max(g.resize[0] * w / (g.crop[2] - g.crop[0]) for g in geometries),
            max(g.resize[1] * h / (g.crop[3] - g.crop[1]) for g in geometries))


def draft_eighths(size: tuple[int, int], need: tuple[float, float],
                  three_eighths: bool) -> int | None:
    """The smallest JPEG DCT scale, in eighths (1, 2, 3 or 4), that still keeps
    ``need`` pixels with its gap; None when no scale below the full size is small
    enough to gain. 3/8 only when the decoder can (``three_eighths``)."""
    w, h = size
    for eighths in (1, 2, 3, 4):
        if eighths == 3 and not three_eighths:
            continue
        gap = DRAFT_GAPS[eighths]
        if (math.ceil(w * eighths / 8) >= need[0] * gap
                and math.ceil(h * eighths / 8) >= need[1] * gap):
            return eighths
    return None


def derivation(geometries: Sequence[Geometry], whole: Box,
               wanted: set[int]) -> list[tuple[int, int | None]]:
    """Which sizes to make, largest first, each with the index of the size it is
    resized from (None: from the decoded image). A smaller size showing the whole
    frame (crop == ``whole``) is made from the smallest larger whole-frame size
    that keeps DERIVE_GAP of headroom: 1024 -> 512 -> 128 costs a fraction of
    three resizes of a 1500 px decode. The chain is decided over all geometries,
    not only the wanted ones, so a wanted size always has the same base (and the
    same bytes): an unwanted base is made, not saved, when a wanted size needs it."""
    order = sorted(range(len(geometries)),
                   key=lambda i: (-geometries[i].resize[0] * geometries[i].resize[1], i))
    parent: dict[int, int | None] = {}
    chain: list[int] = []  # whole-frame geometries so far, largest first
    for i in order:
        geo = geometries[i]
        parent[i] = None
        if geo.crop == whole:
            roomy = [j for j in chain if geometries[j].resize[0] >= DERIVE_GAP * geo.resize[0]
                     and geometries[j].resize[1] >= DERIVE_GAP * geo.resize[1]]
            if roomy:
                parent[i] = min(roomy, key=lambda j: (geometries[j].resize[0], j))
            chain.append(i)
    needed: set[int] = set()
    for start in wanted:
        k: int | None = start
        while k is not None and k not in needed:
            needed.add(k)
            k = parent[k]
    return [(i, parent[i]) for i in order if i in needed]
