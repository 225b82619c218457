"""The measurements behind two constants of thumbnailer: ``python bench/levers.py``.

- draft gaps (thumbnailer/geometry.py DRAFT_GAPS): for each JPEG DCT scale, how much the
  thumbnail loses against a full decode, after a q85 save, at several ratios of
  drafted size to thumbnail size;
- the filter for a size derived from a larger thumbnail (render/pixels.py): LANCZOS or
  BICUBIC, quality after a q85 save and time;
- the filter for the first resize, from the (drafted) decode: LANCZOS, BICUBIC,
  HAMMING or BILINEAR, each judged against the quality budget (within 0.15 dB of
  the reference's own q85 score) and timed, for 12 MP and 2 MP JPEGs to 256 and
  1024 px, 3 MP PNGs to 256 px, and real files (Pillow's test images);
- JPEG encoder settings (formats.py): time and size of baseline, optimised and
  progressive encodes at each thumbnail size.

Runs on the corpus's unrotated 12 MP JPEGs (``python bench/run.py`` builds it).
"""

from __future__ import annotations

import argparse
import io
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from thumbnailer.read.draft import _decode_at_three_eighths, draft

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import after_q85, psnr, reference_after_q85, reference_of  # noqa: E402

LANCZOS = Image.Resampling.LANCZOS


def decoded(path: Path, eighths: int) -> Image.Image:
    im = Image.open(path)
    if eighths == 3:
        _decode_at_three_eighths(im)
    elif eighths < 8:
        im.draft(None, (im.width * eighths // 8, im.height * eighths // 8))
    im.load()
    return im


FILTERS = {"LANCZOS": LANCZOS, "BICUBIC": Image.Resampling.BICUBIC}
#: The first resize may also be judged with these (softer and cheaper).
FIRST_FILTERS = {**FILTERS, "HAMMING": Image.Resampling.HAMMING,
                 "BILINEAR": Image.Resampling.BILINEAR}
#: The quality bar: within this many dB of the reference's own q85 score.
BUDGET = 0.15


def compare_filters(base: Image.Image, box: tuple[int, int], ref: np.ndarray, rounds: int,
                    scores: dict, key, filters: dict = FILTERS,
                    gap: float | None = None) -> None:
    """Resize ``base`` to ``box`` with each filter (and render's reducing gap);
    append (dB after q85, seconds, the reference's own dB after q85) to
    ``scores[(key, filter name)]``."""
    ref_q = psnr(reference_after_q85(ref), ref)
    for name, resample in filters.items():
        started = time.perf_counter()
        for _ in range(rounds):
            small = base.resize(box, resample, reducing_gap=gap)
        seconds = (time.perf_counter() - started) / rounds
        scores.setdefault((key, name), []).append((psnr(after_q85(small), ref), seconds, ref_q))


def print_filters(scores: dict) -> None:
    for (key, name), values in scores.items():
        db, seconds, ref_q = (statistics.mean(v[i] for v in values) for i in range(3))
        print(f"{key} | {name} | {db:.3f} (reference {ref_q:.3f}) | {seconds * 1000:.2f}")


def print_budget(scores: dict) -> None:
    """Each filter's margin over the bar (reference - BUDGET): the mean, and the
    worst single image; and its time against LANCZOS's."""
    print("set | filter | dB vs reference, mean | worst image | ms | time vs LANCZOS | inside")
    for (key, name), values in scores.items():
        margins = [db - ref_q for db, _, ref_q in values]
        seconds = statistics.mean(v[1] for v in values)
        lanczos = statistics.mean(v[1] for v in scores[(key, "LANCZOS")])
        mean, worst = statistics.mean(margins), min(margins)
        print(f"{key} | {name} | {mean:+.3f} | {worst:+.3f} | {seconds * 1000:.2f} | "
              f"{seconds / lanczos:.2f} | {'yes' if mean >= -BUDGET else 'no'}")


def draft_gaps(paths: list[Path], ratios: list[float]) -> None:
    fulls = [decoded(p, 8) for p in paths]
    print("dB against a full decode, after a q85 save, by drafted/thumbnail ratio")
    print("scale | " + " | ".join(f"{r:g}" for r in ratios))
    for eighths in (1, 2, 3, 4):
        ims = [decoded(p, eighths) for p in paths]
        row = []
        for ratio in ratios:
            losses = []
            for im, full in zip(ims, fulls, strict=True):
                size = (math.floor(im.width / ratio), math.floor(im.height / ratio))
                ref = reference_of(full, size)
                losses.append(psnr(after_q85(im.resize(size, LANCZOS)), ref)
                              - psnr(after_q85(full.resize(size, LANCZOS)), ref))
            row.append(f"{statistics.mean(losses):+.3f}")
        print(f"{eighths}/8 | " + " | ".join(row), flush=True)


def derived(paths: list[Path], chain: list[int], rounds: int = 3) -> None:
    """Each size of ``chain`` after the first is made from the one before it."""
    print("derived size | filter | dB vs reference | ms per image")
    scores: dict = {}
    for path in paths:
        im = decoded(path, 3)
        full = decoded(path, 8)
        parent = im.resize((chain[0], round(chain[0] * im.height / im.width)), LANCZOS)
        for size in chain[1:]:
            box = (size, round(size * im.height / im.width))
            compare_filters(parent, box, reference_of(full, box), rounds, scores, size)
            parent = parent.resize(box, LANCZOS)
    print_filters(scores)


def first_resize(sets: dict[str, tuple[list[Path], int]], rounds: int = 5) -> None:
    """The resize from the decode (JPEGs drafted as render drafts them), with
    render's reducing gap, judged against the quality budget."""
    from thumbnailer.render.pixels import REDUCING_GAP

    print("first resize: set | filter | dB vs reference | ms per image")
    scores: dict = {}
    for name, (paths, size) in sets.items():
        for path in paths:
            with Image.open(path) as im:
                box = (size, round(size * im.height / im.width))
                if im.format == "JPEG":
                    draft(im, box)  # as render does
                im.load()
                base = im.convert("RGB")
                with Image.open(path) as full:
                    ref = reference_of(full.convert("RGB"), box)
                compare_filters(base, box, ref, rounds, scores, name, FIRST_FILTERS,
                                REDUCING_GAP)
    print_filters(scores)
    print()
    print_budget(scores)


def real_files() -> dict[str, tuple[list[Path], int]]:
    """Photos and pictures nobody here made: the RGB JPEGs (at least 400 px) and
    PNGs (300 px) of Pillow's test images, as the conformance tests fetch them
    (from the package index, into a cache)."""
    sys.path.insert(0, str(HERE.parent / "tests"))
    from corpora import pillow_images

    def usable(path: Path, side: int) -> bool:
        try:
            with Image.open(path) as im:
                if im.mode != "RGB" or min(im.size) < side or im.getexif().get(0x0112, 1) != 1:
                    return False
                im.load()
                return True
        except Exception:
            return False

    folder = pillow_images()
    jpegs = [p for p in sorted(folder.glob("*.jp*g")) + sorted(folder.glob("*.mpo"))
             if usable(p, 400)]
    pngs = [p for p in sorted(folder.glob("*.png")) if usable(p, 300)]
    return {f"Pillow's {len(jpegs)} JPEGs to 256": (jpegs, 256),
            f"Pillow's {len(pngs)} PNGs to 256": (pngs, 256)}


def encoders(paths: list[Path], sizes: list[int], rounds: int = 5) -> None:
    print("size | settings | ms per image | KiB")
    base = [decoded(p, 4) for p in paths]
    for size in sizes:
        smalls = [im.resize((size, round(size * im.height / im.width)), LANCZOS) for im in base]
        for name, params in [("baseline", {}), ("optimize", {"optimize": True}),
                             ("progressive", {"progressive": True})]:
            best, kib = math.inf, 0.0
            for _ in range(rounds):
                started, total = time.perf_counter(), 0
                for im in smalls:
                    buf = io.BytesIO()
                    im.save(buf, "JPEG", quality=85, **params)
                    total += buf.tell()
                best = min(best, time.perf_counter() - started)
                kib = total / len(smalls) / 1024
            print(f"{size} | {name} | {best / len(smalls) * 1000:.2f} | {kib:.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--only", choices=["draft", "derived", "first", "encoders"],
                        help="print one table")
    args = parser.parse_args()
    paths = []
    for p in sorted((HERE / "corpus" / "jpeg12-48").glob("*.jpg")):
        with Image.open(p) as im:
            if im.getexif().get(0x0112, 1) == 1:
                paths.append(p)
    if not paths:
        sys.exit("no corpus: run python bench/run.py first (it builds bench/corpus)")
    paths = paths[:args.images]
    small = sorted((HERE / "corpus" / "jpeg2-300").glob("*.jpg"))[:args.images * 4]
    pngs = sorted((HERE / "corpus" / "png3-40").glob("*.png"))[:args.images]
    tables = {
        "draft": lambda: draft_gaps(paths, [1.1, 1.2, 1.3, 1.5, 1.7]),
        "derived": lambda: derived(paths, [1024, 512, 256, 128]),
        "first": lambda: first_resize({
            "12 MP to 256": (paths, 256), "12 MP to 1024": (paths, 1024),
            "2 MP to 256": (small, 256), "2 MP to 1024": (small, 1024),
            "3 MP PNG to 256": (pngs, 256), **real_files()}),
        "encoders": lambda: encoders(paths, [1024, 512, 256, 128]),
    }
    for name, table in tables.items():
        if args.only in (None, name):
            table()
            print()


if __name__ == "__main__":
    main()
