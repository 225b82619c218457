"""A HEIC's embedded preview against a full decode: ``python bench/previews.py``.

Makes, once, two 12 MP HEICs of the same camera-like picture (bench/corpus/heic:
one with a 512 px preview, as phones write them, one without; pillow-heif's
encoder takes about half a minute each), then times render() of a 256 px
thumbnail of each, in this process: the median of 7 runs.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from corpus import FULL, ROOT, build
from PIL import Image

from thumbnailer.render import render, warm_up
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
        task = Task(str(source), (Target(Size(256, 256), f"{out}/t{n}"),), settings)
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


if __name__ == "__main__":
    main()
