"""Real photos with a subject, for judging where ``--crop`` puts a cover crop's window.

Fourteen photos nobody on this project made: scikit-image's sample photos (from its
wheel) and Pillow's test images (from its sdist), both fetched by corpora.py. Each
has a subject box (x0, y0, x1, y1, in the photo's upright pixels) set by looking at
the photo: the face, the cup, the rocket. The window each strategy picks is found
by the path render takes (the reader's draft, the fit, ``render.pixels.placed``),
so the measure is the thumbnail's own crop, not a model of it. tests/render/
test_crop_photos.py asserts on it; bench/crop.py prints it as a table.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from corpora import pillow_images, skimage_images

from thumbnailer.geometry import Need
from thumbnailer.read import read
from thumbnailer.render.pixels import placed, resizable
from thumbnailer.spec import Crop, Fit, Settings, Size

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Photo:
    name: str  # the file's name in its corpus
    corpus: str  # "skimage" or "pillow"
    subject: str  # what the box holds, in words
    box: Box

    @property
    def path(self) -> Path:
        return (skimage_images() if self.corpus == "skimage" else pillow_images()) / self.name


PHOTOS = (
    Photo("astronaut.png", "skimage", "the astronaut's face", (150, 15, 300, 165)),
    Photo("camera.png", "skimage", "the cameraman's head and camera", (150, 60, 330, 200)),
    Photo("chelsea.png", "skimage", "the cat's eyes and nose", (130, 80, 350, 270)),
    Photo("clock_motion.png", "skimage", "the clock", (145, 95, 260, 220)),
    Photo("coffee.png", "skimage", "the cup", (170, 15, 425, 305)),
    Photo("motorcycle_left.png", "skimage", "the motorcycle", (90, 95, 685, 450)),
    Photo("rocket.jpg", "skimage", "the rocket", (300, 125, 340, 410)),
    Photo("hopper.jpg", "pillow", "Grace Hopper's face", (36, 28, 88, 80)),
    Photo("flower.jpg", "pillow", "the blossom", (180, 125, 290, 240)),
    Photo("exif_gps_typeerror.jpg", "pillow", "the aircraft", (0, 130, 730, 380)),
    Photo("tv.rgb", "pillow", "the television set", (150, 40, 500, 420)),
    Photo("exif-72dpi-int.jpg", "pillow", "the summit", (200, 135, 400, 250)),
    Photo("app13-multiple.jpg", "pillow", "the three puppies", (44, 37, 223, 141)),
    Photo("xmp_test.jpg", "pillow", "the mirror and its pouch", (725, 200, 1365, 725)),
)

#: The boxes a cover crop is measured in: a square, a 16:9 landscape, a 9:16 portrait.
SHAPES = {"square": Size(256, 256), "16:9": Size(320, 180), "9:16": Size(180, 320)}


def window(path: Path, size: Size, crop: Crop) -> tuple[Box, float]:
    """The part of the photo (in its pixels) that ``-s size --fit cover --crop crop``
    keeps, found as render finds it; and the seconds its placing took."""
    s = Settings(sizes=(size,), fit=Fit.COVER, crop=crop, allow_formats=("SGI",))  # tv.rgb
    need = Need(s.sizes, s.fit, s.upscale)
    picture = read(str(path), str(path), need, s)
    assert picture.orientation == 1, "the subject boxes are in the stored axes"
    with picture.image as im:
        g = need.geometries(picture.size, picture.orientation)[0]
        start = time.perf_counter()
        if crop is not Crop.CENTER:
            g = placed(resizable(im), picture.scale, g, crop, picture.orientation)
        return g.crop, time.perf_counter() - start


def kept(box: Box, win: Box) -> float:
    """The fraction of ``box``'s area inside ``win``."""
    w = max(0.0, min(box[2], win[2]) - max(box[0], win[0]))
    h = max(0.0, min(box[3], win[3]) - max(box[1], win[1]))
    return w * h / ((box[2] - box[0]) * (box[3] - box[1]))


def inside(box: Box, win: Box, slack: float = 0.5) -> bool:
    """Whether the whole box is in the window (half a pixel of rounding allowed)."""
    return (box[0] >= win[0] - slack and box[1] >= win[1] - slack
            and box[2] <= win[2] + slack and box[3] <= win[3] + slack)
