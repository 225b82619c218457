"""Where each ``--crop`` strategy puts a cover crop's window on real photos:
``python bench/crop.py [--detail]``.

Fourteen photos from scikit-image's and Pillow's packages, each with a subject box
set by eye (tests/crops.py, fetched into the test corpus cache on first use). For a
square, a 16:9 and a 9:16 box (``--fit cover``), it counts the photos whose subject
stays whole in the window, and the mean fraction of the subject's area kept; and the
time to place one window (the window's search on the drafted image, not the decode).
``--detail`` prints the fraction kept per photo.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from crops import PHOTOS, SHAPES, inside, kept, window  # the tests' photos and boxes

from thumbnailer.render.crop import available
from thumbnailer.spec import Crop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detail", action="store_true", help="the fraction kept per photo")
    args = parser.parse_args()
    crops = [c for c in Crop if available(c)]
    print(f"{len(PHOTOS)} photos; whole: subjects kept whole, of {len(PHOTOS)}; "
          "area: mean fraction of the subject kept\n")
    header = "| crop | " + " | ".join(f"{shape} whole | {shape} area" for shape in SHAPES)
    print(header + " | all whole | ms per window |")
    print("|---" * (2 * len(SHAPES) + 3) + "|")
    detail = []
    for crop in crops:
        cells, total, seconds = [], 0, []
        for shape, size in SHAPES.items():
            fractions, whole = [], 0
            for photo in PHOTOS:
                win, spent = window(photo.path, size, crop)
                seconds.append(spent)
                fractions.append(kept(photo.box, win))
                whole += inside(photo.box, win)
                detail.append((crop.value, shape, photo.name, kept(photo.box, win)))
            total += whole
            cells += [str(whole), f"{statistics.mean(fractions):.2f}"]
        ms = statistics.median(seconds) * 1000
        print(f"| {crop.value} | " + " | ".join(cells) + f" | {total} | {ms:.1f} |")
    if args.detail:
        print()
        for crop_name, shape, name, fraction in detail:
            print(f"{crop_name:10} {shape:7} {name:24} {fraction:.2f}")


if __name__ == "__main__":
    main()
