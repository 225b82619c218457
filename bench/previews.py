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


def main() -> None:
    picture = sorted(build({"jpeg12": FULL["jpeg12"]})["jpeg12"].glob("*.jpg"))[1]
    with_preview = make(FOLDER / "with-preview.heic", picture, [512])
    without = make(FOLDER / "without.heic", picture, [])
    with tempfile.TemporaryDirectory() as out:
        settings = Settings(output=out, sizes=(Size(256, 256),))
        warm_up(settings)
        served, used = timed(with_preview, settings, out)
        full, _ = timed(without, settings, out)
    assert used, "the preview was not used"
    print("| 12 MP HEIC to 256 px (median of 7) | time |\n|---|---:|")
    print(f"| from its 512 px preview | {served * 1000:.0f} ms |")
    print(f"| full decode | {full * 1000:.0f} ms |")
    print(f"\n{full / served:.0f}x faster")
    with Image.open(picture) as im:
        im = im.convert("RGB")
        camera = with_exif_thumbnail(FOLDER / "camera.jpg", im,
                                     im.resize((160, 120), Image.Resampling.LANCZOS))
    with tempfile.TemporaryDirectory() as out:
        settings = Settings(output=out, sizes=(Size(64, 64),))
        served, used = timed(camera, settings, out)
        drafted, _ = timed(picture, settings, out)
    assert used, "the EXIF thumbnail was not used"
    print("\n| 12 MP camera JPEG to 64 px (median of 7) | time |\n|---|---:|")
    print(f"| from its 160 x 120 EXIF thumbnail | {served * 1000:.1f} ms |")
    print(f"| a 1/8 draft of the image | {drafted * 1000:.1f} ms |")


if __name__ == "__main__":
    main()
