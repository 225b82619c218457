"""A camera RAW file to 256 px, each way render may take: ``python bench/raw.py``.

Makes, once, three 12 MP DNGs of the same camera-like picture (bench/corpus/raw,
written by tests/dng.py as cameras lay them out): one with a full-size JPEG
preview (Canon, Nikon), one with a 1600 px preview (Sony's are 1616 px), one
with none. Then times render() of a 256 px thumbnail of each, in this process,
against a full decode (LibRaw's whole development, then Pillow's resize: what a
script around rawpy does): the median of 5 runs.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from corpus import FULL, ROOT, build
from PIL import Image

from thumbnailer.render import render, warm_up
from thumbnailer.spec import Settings, Size, Target, Task

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from dng import write_dng  # the tests' DNG writer

FOLDER = ROOT / "raw"


def make(name: str, picture: Path, preview: int | None) -> Path:
    path = FOLDER / name
    if not path.exists():
        FOLDER.mkdir(parents=True, exist_ok=True)
        with Image.open(picture) as im:
            im = im.convert("RGB")
            small = None if preview is None else im.resize(
                (preview, round(preview * im.height / im.width)), Image.Resampling.LANCZOS)
            write_dng(path, im, preview=small)
    return path


def median(work: Callable[[], object]) -> float:
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        work()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    picture = sorted(build({"jpeg12": FULL["jpeg12"]})["jpeg12"].glob("*.jpg"))[1]
    with Image.open(picture) as im:
        full_size = im.width
    sources = {"full-size preview": make("full-preview.dng", picture, full_size),
               "1600 px preview": make("1600-preview.dng", picture, 1600),
               "no preview (half-size development)": make("no-preview.dng", picture, None)}
    with tempfile.TemporaryDirectory() as out:
        settings = Settings(output=out, sizes=(Size(256, 256),))
        warm_up(settings)
        rows = []
        for label, source in sources.items():
            task = Task(str(source), (Target(Size(256, 256), f"{out}/t"),), settings)
            assert render(task).error is None
            rows.append((label, median(lambda task=task: render(task))))

        def whole() -> None:
            import rawpy

            with rawpy.imread(str(sources["1600 px preview"])) as raw:
                im = Image.fromarray(raw.postprocess(use_camera_wb=True))
            im.thumbnail((256, 256), Image.Resampling.LANCZOS)

        rows.append(("full decode (LibRaw's whole development, then a resize)", median(whole)))
    print("| 12 MP DNG to 256 px (median of 5) | time |\n|---|---:|")
    for label, seconds in rows:
        print(f"| {label} | {seconds * 1000:,.0f} ms |")


if __name__ == "__main__":
    main()
