"""The measurements behind two constants of thumbnailer: ``python bench/levers.py``.

- draft gaps (thumbnailer/geometry.py DRAFT_GAPS): for each JPEG DCT scale, how much the
  thumbnail loses against a full decode, after a q85 save, at several ratios of
  drafted size to thumbnail size;
- the filter for a size derived from a larger thumbnail (render.py): LANCZOS or
  BICUBIC, quality after a q85 save and time;
- the filter for the first resize, from the drafted decode to 256 px (render.py keeps
  LANCZOS): LANCZOS or BICUBIC, quality after a q85 save and time, for 12 MP and 2 MP;
- JPEG encoder settings (render.py): time and size of baseline, optimised and
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

from thumbnailer.draft import _decode_at_three_eighths, draft

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


def compare_filters(base: Image.Image, box: tuple[int, int], ref: np.ndarray, rounds: int,
                    scores: dict, key) -> None:
    """Resize ``base`` to ``box`` with each filter; append (dB after q85, seconds,
    the reference's own dB after q85) to ``scores[(key, filter name)]``."""
    ref_q = psnr(reference_after_q85(ref), ref)
    for name, resample in FILTERS.items():
        started = time.perf_counter()
        for _ in range(rounds):
            small = base.resize(box, resample)
        seconds = (time.perf_counter() - started) / rounds
        scores.setdefault((key, name), []).append((psnr(after_q85(small), ref), seconds, ref_q))


def print_filters(scores: dict) -> None:
    for (key, name), values in scores.items():
        db, seconds, ref_q = (statistics.mean(v[i] for v in values) for i in range(3))
        print(f"{key} | {name} | {db:.3f} (reference {ref_q:.3f}) | {seconds * 1000:.2f}")


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


def first_resize(sets: dict[str, list[Path]], size: int = 256, rounds: int = 5) -> None:
    print(f"first resize to {size} px | filter | dB vs reference | ms per image")
    scores: dict = {}
    for name, paths in sets.items():
        for path in paths:
            with Image.open(path) as im:
                box = (size, round(size * im.height / im.width))
                draft(im, box)  # as render does
                im.load()
                compare_filters(im, box, reference_of(decoded(path, 8), box), rounds, scores,
                                name)
    print_filters(scores)


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
    args = parser.parse_args()
    paths = []
    for p in sorted((HERE / "corpus" / "jpeg12-48").glob("*.jpg")):
        with Image.open(p) as im:
            if im.getexif().get(0x0112, 1) == 1:
                paths.append(p)
    if not paths:
        sys.exit("no corpus: run python bench/run.py first (it builds bench/corpus)")
    paths = paths[:args.images]
    draft_gaps(paths, [1.1, 1.2, 1.3, 1.5, 1.7])
    print()
    derived(paths, [1024, 512, 256, 128])
    print()
    small = sorted((HERE / "corpus" / "jpeg2-300").glob("*.jpg"))[:args.images * 4]
    first_resize({"12 MP": paths, "2 MP": small})
    print()
    encoders(paths, [1024, 512, 256, 128])


if __name__ == "__main__":
    main()
