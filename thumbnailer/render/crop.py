"""Where a cover crop's window goes: on the subject rather than in the middle.

``--fit cover`` keeps a window of the box's aspect and cuts the rest. Centred is
right for most photos; these strategies (named after libvips and sharp) slide the
window along the axis that overflows to the part worth keeping:

- entropy: the window whose pixels carry the most information (histogram entropy):
  texture and detail win over sky, walls and studio backdrops.
- attention: the window with the most salient pixels, scored by edges, colour
  saturation and skin tones (the cues libvips' attention strategy uses) and by the
  contrast of each region with its surroundings, weighed towards the centre.
  On the photos of bench/crop.py it keeps at least the subjects center keeps.
- faces: the window that holds the faces OpenCV finds (render/faces.py), or the
  largest of them that fit together; attention where it finds none.

Scoring runs on a copy at most ANALYSIS_SIDE pixels wide, so it costs a few
milliseconds whatever the image size. Ties keep the window nearest the centre, so a
featureless image crops exactly as center does.
"""

from __future__ import annotations

from PIL import Image, ImageChops, ImageFilter, ImageOps

from ..spec import Crop

#: Longest side of the copy the window is chosen on.
ANALYSIS_SIDE = 256
#: Candidate window positions along the overflowing axis.
STEPS = 64

#: How much each cue counts in attention's saliency map. Edges and saturation
#: alone light up grass, wood grain and leaves; the contrast of a region with its
#: surroundings finds objects. Chosen on the photos of bench/crop.py, among the
#: neighbouring weights that all keep as many subjects (docs/performance.md).
WEIGHTS = {"edges": 0.5, "saturation": 0.25, "skin": 0.5, "contrast": 2.0}
#: Columns (rows) weigh 1 - CENTRE_PRIOR * (2 * offset from the centre)^2: 1 in the
#: middle, 0.25 at the edges. Photographers frame their subject; a busy border is
#: less likely to be it.
CENTRE_PRIOR = 0.75

Box = tuple[float, float, float, float]


def place(im: Image.Image, box: Box, crop: Crop, orientation: int = 1) -> Box:
    """``box`` (a window on ``im``, in its pixels) moved along the axis where it is
    smaller than the image, to the best position for ``crop``."""
    if crop is Crop.CENTER:
        return box
    x0, y0, x1, y1 = box
    w, h = im.size
    cw, ch = x1 - x0, y1 - y0
    horizontal = w - cw > 0.5
    if not horizontal and h - ch <= 0.5:
        return box  # the window is the whole image
    room = (w - cw) if horizontal else (h - ch)
    if crop is Crop.FACES:
        from .faces import faces  # the [faces] extra, imported only here

        found = faces(im, orientation)
        if found:
            length = cw if horizontal else ch
            offset = _on_faces(found, 0 if horizontal else 1, length)
            offset = min(max(0.0, offset), room)
            return (offset, y0, offset + cw, y1) if horizontal else (x0, offset, x1, offset + ch)
        crop = Crop.ATTENTION  # no face: the subject is something else
    factor = max(1.0, max(w, h) / ANALYSIS_SIDE)
    small = im.convert("RGB").resize(
        (max(1, round(w / factor)), max(1, round(h / factor))), Image.Resampling.BOX
    )
    span = small.width if horizontal else small.height
    window = min(span, max(1, round((cw if horizontal else ch) / factor)))
    scores = (_entropy_scores if crop is Crop.ENTROPY else _attention_scores)(
        small, window, horizontal
    )
    # Positions are fractions of the room the window has, so the centre (0.5)
    # maps back exactly, whatever the rounding on the small copy.
    offset = _best(scores) * room
    if horizontal:
        return (offset, y0, offset + cw, y1)
    return (x0, offset, x1, offset + ch)


def _on_faces(found: list[tuple[Box, Box]], axis: int, length: float) -> float:
    """Where a window of ``length`` starts along ``axis`` (0: x, 1: y) to show the
    faces (each a face's box and its head's, largest first): centred on the
    faces, moved as little as it takes to hold their heads. All of them if their
    heads fit together, else the largest ones that do; a single head too big for
    the window gets the window centred on its face."""
    faces_lo, faces_hi = found[0][0][axis], found[0][0][axis + 2]
    heads_lo, heads_hi = found[0][1][axis], found[0][1][axis + 2]
    for face, head in found[1:]:
        lo, hi = min(heads_lo, head[axis]), max(heads_hi, head[axis + 2])
        if hi - lo <= length:
            heads_lo, heads_hi = lo, hi
            faces_lo, faces_hi = min(faces_lo, face[axis]), max(faces_hi, face[axis + 2])
    offset = (faces_lo + faces_hi - length) / 2
    if heads_hi - heads_lo <= length:
        offset = min(max(offset, heads_hi - length), heads_lo)
    return offset


def _positions(room: int) -> dict[float, int]:
    """Candidate positions as fractions of the room -> pixel offsets on the copy."""
    steps = max(1, min(STEPS, room))
    return {k / steps: round(room * k / steps) for k in range(steps + 1)}


def _best(scores: dict[float, float]) -> float:
    """The highest-scoring position; among near-equal ones, the most central."""
    top = max(scores.values())
    close = [t for t, v in scores.items() if v >= top - 1e-6 * max(1.0, abs(top))]
    return min(close, key=lambda t: (abs(t - 0.5), t))


def _entropy_scores(small: Image.Image, window: int, horizontal: bool) -> dict[float, float]:
    grey = small.convert("L")
    room = (grey.width if horizontal else grey.height) - window
    scores = {}
    for t, p in _positions(room).items():
        box = (p, 0, p + window, grey.height) if horizontal else (0, p, grey.width, p + window)
        scores[t] = grey.crop(box).entropy()
    return scores


def _attention_scores(small: Image.Image, window: int, horizontal: bool) -> dict[float, float]:
    """Sum of a saliency map over each window, each column (row) weighed by the
    centre prior, from the per-column (row) totals."""
    saliency = _saliency(small).convert("F")
    # Squash the other axis to one pixel: each value is a column's (row's) mean.
    n = saliency.width if horizontal else saliency.height
    line = saliency.resize((n, 1) if horizontal else (1, n), Image.Resampling.BOX)
    prefix = [0.0]
    for i in range(n):
        value = float(line.getpixel((i, 0) if horizontal else (0, i)))  # type: ignore[arg-type]
        off = (i + 0.5) / n - 0.5  # -0.5 at one edge, 0.5 at the other
        prefix.append(prefix[-1] + value * (1.0 - CENTRE_PRIOR * 4 * off * off))
    return {t: prefix[p + window] - prefix[p] for t, p in _positions(n - window).items()}


def _saliency(rgb: Image.Image) -> Image.Image:
    """A greyscale map where bright means "look here": edges, saturation, skin
    (libvips' cues), and centre-surround contrast (what differs from its
    surroundings at the scale of objects, not of texture)."""
    grey = rgb.convert("L")
    if min(rgb.size) >= 3:
        edges = grey.filter(ImageFilter.FIND_EDGES)
        # Pillow leaves a 3x3 filter's border pixels unfiltered: they are not edges.
        edges = ImageOps.expand(edges.crop((1, 1, edges.width - 1, edges.height - 1)), 1, 0)
    else:
        edges = Image.new("L", rgb.size)
    saturation = rgb.convert("HSV").getchannel("S")
    _, cb, cr = rgb.convert("YCbCr").split()
    # Skin tones cluster in a box of the CbCr plane (Chai & Ngan's classic bounds).
    skin = ImageChops.multiply(
        cb.point(lambda v: 255 if 77 <= v <= 127 else 0),
        cr.point(lambda v: 255 if 133 <= v <= 173 else 0),
    )
    side = max(rgb.size)
    fine = rgb.filter(ImageFilter.GaussianBlur(0.01 * side))
    coarse = rgb.filter(ImageFilter.GaussianBlur(0.1 * side))
    contrast = ImageChops.difference(fine, coarse).convert("L")
    cues = [(edges, WEIGHTS["edges"]), (saturation, WEIGHTS["saturation"]),
            (skin, WEIGHTS["skin"]), (contrast, WEIGHTS["contrast"])]
    out = Image.new("L", rgb.size)
    for cue, weight in cues:
        out = ImageChops.add(out, cue.point(lambda v, w=weight: min(255, int(v * w))))
    return out
