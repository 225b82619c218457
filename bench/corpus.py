"""A deterministic, camera-like benchmark corpus: ``python bench/corpus.py [--quick]``.

Natural photographs have a roughly 1/f amplitude spectrum, sharp object edges,
smooth lens blur and a little sensor noise; so do these. At 12 MP and JPEG
quality 92 they weigh 3-5 MB, like camera files, so the entropy decoder (which
dominates JPEG decoding) does as much work as on real photos.

Sets (under bench/corpus/, rebuilt only when missing):
- jpeg12: 12 MP (4000x3000) JPEGs, a quarter stored sideways with EXIF orientation 6
- jpeg2:  2 MP (1732x1155) JPEGs
- png3:   3 MP (2048x1536) PNGs, half of them RGBA with soft-edged transparency
- tiny:   small JPEGs for the unchanged-rerun benchmark (copies of one file)
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent / "corpus"
FULL = {"jpeg12": 48, "jpeg2": 300, "png3": 40, "tiny": 10_000}
QUICK = {"jpeg12": 8, "jpeg2": 24, "png3": 6, "tiny": 500}


def pink_field(rng: np.random.Generator, h: int, w: int, slope: float = 1.0) -> np.ndarray:
    """Gaussian noise shaped to a 1/f^slope amplitude spectrum, scaled to unit std."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    spectrum = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) / f**slope
    spectrum[0, 0] = 0
    field = np.fft.irfft2(spectrum, s=(h, w)).astype(np.float32)
    return field / field.std()


def photo(seed: int, w: int, h: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    # Low-resolution colour structure, upsampled: cheap, and photos' chroma is smooth.
    sh, sw = h // 4, w // 4
    base = np.stack([pink_field(rng, sh, sw, 1.1) for _ in range(3)], -1)
    mix = np.array([[0.8, 0.5, 0.3], [0.5, 0.8, 0.4], [0.3, 0.4, 0.8]], np.float32)
    base = 118 + 38 * (base @ mix) / 1.5 + rng.uniform(-25, 25, 3).astype(np.float32)
    im = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).resize((w, h), Image.BICUBIC)
    # Objects with hard edges, as in any scene.
    draw = ImageDraw.Draw(im)
    for _ in range(int(rng.integers(30, 60))):
        x, y = rng.integers(0, w), rng.integers(0, h)
        r = int(rng.integers(h // 60, h // 6))
        colour = tuple(int(c) for c in rng.integers(20, 235, 3))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        else:
            pts = [(int(x + rng.integers(-r, r)), int(y + rng.integers(-r, r))) for _ in range(5)]
            draw.polygon(pts, fill=colour)
    im = im.filter(ImageFilter.GaussianBlur(0.8))  # lens
    # Fine texture (1/f, full resolution) and sensor noise on luminance.
    detail = 9 * pink_field(rng, h, w, 0.9) + rng.normal(0, 1.6, (h, w)).astype(np.float32)
    pixels = np.asarray(im, np.float32) + detail[..., None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def build(counts: dict[str, int]) -> dict[str, Path]:
    """Make whatever part of the corpus is missing; returns each set's folder."""
    ROOT.mkdir(parents=True, exist_ok=True)
    folders = {}
    for name, count in counts.items():
        folder = ROOT / f"{name}-{count}"
        folders[name] = folder
        done = folder / "corpus.json"
        if done.exists():
            continue
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        print(f"building {folder.name} ...", flush=True)
        globals()[f"_make_{name}"](folder, count)
        done.write_text(json.dumps({"set": name, "count": count}))
    return folders


def _make_jpeg12(folder: Path, count: int) -> None:
    for i in range(count):
        im = photo(1000 + i, 4000, 3000)
        if i % 4 == 3:  # stored sideways, as a phone held upright does
            exif = Image.Exif()
            exif[0x0112] = 6
            im.transpose(Image.Transpose.ROTATE_90).save(
                folder / f"cam{i:04}.jpg", quality=92, exif=exif.tobytes())
        else:
            im.save(folder / f"cam{i:04}.jpg", quality=92)


def _make_jpeg2(folder: Path, count: int) -> None:
    # Six 2 MP crops from each generated 12 MP scene: distinct files, cheap to make.
    i = 0
    while i < count:
        big = photo(5000 + i, 4000, 3000)
        for x, y in [(0, 0), (1134, 0), (2268, 0), (0, 1155), (1134, 1155), (2268, 1155)]:
            if i < count:
                big.crop((x, y, x + 1732, y + 1155)).save(folder / f"med{i:04}.jpg", quality=92)
                i += 1


def _make_png3(folder: Path, count: int) -> None:
    for i in range(count):
        im = photo(9000 + i, 2048, 1536)
        if i % 2:
            rng = np.random.default_rng(i)
            alpha = pink_field(rng, 1536 // 8, 2048 // 8, 1.6)
            alpha = Image.fromarray(np.clip(128 + 160 * alpha, 0, 255).astype(np.uint8))
            im.putalpha(alpha.resize(im.size, Image.BICUBIC))
        im.save(folder / f"png{i:04}.png")


def _make_tiny(folder: Path, count: int) -> None:
    first = folder / "t00000.jpg"
    photo(7, 320, 240).save(first, quality=85)
    for i in range(1, count):
        sub = folder / f"d{i // 1000:02}"
        sub.mkdir(exist_ok=True)
        shutil.copyfile(first, sub / f"t{i:05}.jpg")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small corpus, for a smoke run")
    build(QUICK if parser.parse_args().quick else FULL)
