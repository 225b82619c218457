"""Embedded previews against decoding the image: ``python bench/previews.py``.

Makes, once, two 12 MP HEICs of the same camera-like picture (bench/corpus/heic:
one with a 512 px preview, as phones write them, one without; pillow-heif's
encoder takes about half a minute each), then times render() of a 256 px
thumbnail of each, in this process: the median of 7 runs. Then the same for a
12 MP camera JPEG with a 160 x 120 EXIF thumbnail and without, to 64 px (an
icon: as far as such a thumbnail serves).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from corpus import FULL, ROOT, build
from PIL import Image

from thumbnailer.render import render, warm_up

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from helpers import with_exif_thumbnail  # the tests' camera JPEG writer

from thumbnailer.spec import Settings, Size, Target, Task

FOLDER = ROOT / "heic"


def make(path: Path, picture: Path, previews: list[int]) -> Path:
    import pillow_heif

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(picture) as im:
            pillow_heif.from_pillow(im.convert("RGB")).save(str(path), quality=85,
                                                            thumbnails=previews)
    return path


def timed(source: Path, settings: Settings, out: str) -> tuple[float, bool]:
    runs, preview = [], False
    for n in range(7):
        task = Task(str(source), (Target(settings.sizes[0], f"{out}/t{n}"),), settings)
        started = time.perf_counter()
        outcome = render(task)
        runs.append(time.perf_counter() - started)
        assert outcome.error is None, outcome.error
        preview = outcome.entries[0].preview
    return statistics.median(runs), preview


def compare(title: str, side: int, preview: tuple[str, Path], other: tuple[str, Path]) -> None:
    """Time a thumbnail of ``side`` px of each source and print the two rows."""
    with tempfile.TemporaryDirectory() as out:
        settings = Settings(output=out, sizes=(Size(side, side),))
        warm_up(settings)
        served, used = timed(preview[1], settings, out)
        without, _ = timed(other[1], settings, out)
    assert used, f"{preview[0]}: not used"
    print(f"\n| {title} to {side} px (median of 7) | time |\n|---|---:|")
    print(f"| {preview[0]} | {served * 1000:.1f} ms |\n| {other[0]} | {without * 1000:.1f} ms |")


def main() -> None:
    picture = sorted(build({"jpeg12": FULL["jpeg12"]})["jpeg12"].glob("*.jpg"))[1]
    compare("12 MP HEIC", 256,
            ("from its 512 px preview", make(FOLDER / "with-preview.heic", picture, [512])),
            ("full decode", make(FOLDER / "without.heic", picture, [])))
    with Image.open(picture) as im:
        im = im.convert("RGB")
        camera = with_exif_thumbnail(FOLDER / "camera.jpg", im,
                                     im.resize((160, 120), Image.Resampling.LANCZOS))
    compare("12 MP camera JPEG", 64, ("from its 160 x 120 EXIF thumbnail", camera),
            ("a 1/8 draft of the image", picture))


if __name__ == "__main__":
    main()
