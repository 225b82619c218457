"""The Pillow recipes thumbnailer is measured against, each a whole program:
``python bench/recipes.py NAME SRC OUT SIZE WORKERS``.

- floor:   decode at 1/8 scale and nothing else (the JPEG decode floor)
- best:    a good hand-written recipe: draft, LANCZOS, exif_transpose, q85 save
- classic: ``multiprocessing.Pool.map`` + ``Image.thumbnail`` + save, the usual script
- full:    full decode, then resize
"""

from __future__ import annotations

import os
import sys
from multiprocessing import Pool

from PIL import Image, ImageOps

SIZE = 256
OUT = "."


def _dest(path: str) -> str:
    return os.path.join(OUT, os.path.splitext(os.path.basename(path))[0] + ".jpg")


def _rgb(im: Image.Image) -> Image.Image:
    return im if im.mode in ("RGB", "L") else im.convert("RGB")


def floor(path: str) -> None:
    with Image.open(path) as im:
        im.draft("RGB", (im.width // 8, im.height // 8))
        im.load()


def best(path: str) -> None:
    with Image.open(path) as im:
        im.draft("RGB", (SIZE, SIZE))
        im = ImageOps.exif_transpose(im)
        im = ImageOps.contain(im, (SIZE, SIZE), Image.Resampling.LANCZOS)
        _rgb(im).save(_dest(path), quality=85)


def classic(path: str) -> None:
    with Image.open(path) as im:
        im.thumbnail((SIZE, SIZE))
        _rgb(im).save(_dest(path), quality=85)


def full(path: str) -> None:
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        im = ImageOps.contain(im, (SIZE, SIZE), Image.Resampling.LANCZOS)
        _rgb(im).save(_dest(path), quality=85)


def _init(size: int, out: str) -> None:
    global SIZE, OUT
    SIZE, OUT = size, out


if __name__ == "__main__":
    name, src, out, size, workers = sys.argv[1:6]
    os.makedirs(out, exist_ok=True)
    paths = sorted(os.path.join(src, n) for n in os.listdir(src) if not n.endswith(".json"))
    with Pool(int(workers), _init, (int(size), out)) as pool:
        pool.map(globals()[name], paths)
