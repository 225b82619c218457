"""Faces, for ``--crop faces``: OpenCV's Haar cascade (the [faces] extra,
opencv-python-headless, whose wheel ships the cascades) on a small upright copy.

Imported only when a faces crop is placed; the only module that imports cv2 (an
import-linter contract). OpenCV 5 dropped the cascade classifier, hence < 5.
"""

from __future__ import annotations

import functools
from typing import Any

import cv2
import cv2.data
import numpy as np
from PIL import Image

from ..read.pillow import TRANSPOSE

#: Longest side of the copy faces are looked for on: a face a tenth of the
#: picture's width is then about 38 pixels, over the cascade's 24. At 384 and a
#: scale step of 1.2 a search takes 10-40 ms (bench/crop.py); 512 and 1.1 find
#: the same faces on its photos in three times as long.
DETECT_SIDE = 384

Box = tuple[float, float, float, float]


@functools.cache
def _cascade() -> Any:
    """The frontal face cascade, loaded once per process. One thread: the pool
    already runs a worker per core."""
    cv2.setNumThreads(1)
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    if cascade.empty():
        raise RuntimeError("OpenCV's frontal face cascade did not load")
    return cascade


def faces(im: Image.Image, orientation: int = 1) -> list[tuple[Box, Box]]:
    """The faces found on ``im`` (held as the file stores it; ``orientation`` turns
    it upright, since the cascade finds upright faces), largest first: each the
    cascade's box (brows to mouth) and its head (with hair above, chin below), in
    ``im``'s pixels."""
    w, h = im.size
    factor = max(1.0, max(w, h) / DETECT_SIDE)
    small = im.convert("L").resize((max(1, round(w / factor)), max(1, round(h / factor))),
                                   Image.Resampling.BOX)
    method = TRANSPOSE.get(orientation)
    upright = small.transpose(method) if method is not None else small
    found = _cascade().detectMultiScale(np.asarray(upright), scaleFactor=1.2,
                                        minNeighbors=5, minSize=(24, 24))
    boxes = []
    for x, y, fw, fh in (tuple(int(v) for v in f) for f in found):
        face = (x, y, x + fw, y + fh)
        head = (x - 0.25 * fw, y - 0.5 * fh, x + 1.25 * fw, y + 1.25 * fh)
        boxes.append((_box(face, upright.size, orientation, factor),
                       _box(head, upright.size, orientation, factor)))
    return sorted(boxes, key=lambda fh: -(fh[0][2] - fh[0][0]) * (fh[0][3] - fh[0][1]))


def _box(box: Box, size: tuple[int, int], orientation: int, factor: float) -> Box:
    """A box of the upright copy (of ``size``) in the stored axes of the image."""
    x0, y0 = _stored(box[0], box[1], size, orientation)
    x1, y1 = _stored(box[2], box[3], size, orientation)
    return (min(x0, x1) * factor, min(y0, y1) * factor,
            max(x0, x1) * factor, max(y0, y1) * factor)


def _stored(u: float, v: float, size: tuple[int, int], orientation: int) -> tuple[float, float]:
    """A point of the upright copy (of ``size``) in the axes the file stores."""
    w, h = size  # upright
    return {
        2: (w - u, v), 3: (w - u, h - v), 4: (u, h - v), 5: (v, u),
        6: (v, w - u), 7: (h - v, w - u), 8: (h - v, u),
    }.get(orientation, (u, v))
