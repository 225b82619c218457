"""HDR stills against the plain SDR path: ``python bench/hdr.py``.

Makes, once, four 12 MP HEICs of one camera-like picture (bench/corpus/hdr;
pillow-heif's encoder takes a minute or so each): 8-bit SDR, as a phone's
photo; 10-bit PQ BT.2020 (nclx 9/16/9), the picture encoded by the standard's
formulas (tests/helpers.py) at reference white; each with and without a 512 px
preview. Then times render() of a 256 px thumbnail of each, in this process:
the median of 7 runs, and the share of it the tone mapping itself takes.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from corpus import ROOT, photo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from helpers import pq_code  # the tests' PQ encoder

from thumbnailer.read import hdr
from thumbnailer.render import render, warm_up
from thumbnailer.spec import Settings, Size, Target, Task

FOLDER = ROOT / "hdr"
ROWS = 500  # rows encoded at a time: a 12 MP picture in float64 at once is 0.9 GB


def make(path: Path, pq: bool, previews: list[int]) -> Path:
    import pillow_heif

    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    picture = photo(1000, 4000, 3000)
    if not pq:
        pillow_heif.from_pillow(picture).save(str(path), quality=85, thumbnails=previews)
        return path
    code = np.concatenate([
        np.round(pq_code(picture.crop((0, top, 4000, min(top + ROWS, 3000)))) * 65535)
        .astype(np.uint16) for top in range(0, 3000, ROWS)])
    image = pillow_heif.from_bytes(mode="RGB;16", size=picture.size, data=code.tobytes())
    image.info["nclx_profile"] = {"color_primaries": 9, "transfer_characteristics": 16,
                                  "matrix_coefficients": 9, "full_range_flag": 1}
    image.save(str(path), quality=85, save_bit_depth=10, thumbnails=previews)
    return path


def timed(source: Path, settings: Settings, out: str) -> tuple[float, bool]:
    runs, preview = [], False
    for n in range(7):
        task = Task(str(source), (Target(settings.sizes[0], f"{out}/{source.stem}{n}"),),
                    settings)
        started = time.perf_counter()
        outcome = render(task)
        runs.append(time.perf_counter() - started)
        assert outcome.error is None, outcome.error
        preview = outcome.entries[0].preview
    return statistics.median(runs), preview


def mapping() -> float:
    """The tone mapping alone, of 400 x 300 random 16-bit codes."""
    code = np.random.default_rng(0).integers(0, 65536, (300, 400, 3), dtype=np.uint16)
    hdr.to_sdr(code, hdr.PQ, hdr.BT2020)  # the tables, once
    runs = []
    for _ in range(7):
        started = time.perf_counter()
        hdr.to_sdr(code, hdr.PQ, hdr.BT2020)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    side = 256
    sources = [("8-bit SDR HEIC, full decode", make(FOLDER / "sdr.heic", False, [])),
               ("8-bit SDR HEIC, from its 512 px preview",
                make(FOLDER / "sdr-preview.heic", False, [512])),
               ("10-bit PQ HEIC, full decode", make(FOLDER / "pq.heic", True, [])),
               ("10-bit PQ HEIC, from its 512 px preview",
                make(FOLDER / "pq-preview.heic", True, [512]))]
    with tempfile.TemporaryDirectory() as out:
        settings = Settings(output=out, sizes=(Size(side, side),))
        warm_up(settings)
        print(f"\n| 12 MP HEIC to {side} px (median of 7) | time | preview |\n|---|---:|---|")
        for title, source in sources:
            took, preview = timed(source, settings, out)
            print(f"| {title} | {took * 1000:.0f} ms | {'yes' if preview else 'no'} |")
    print(f"\nthe mapping alone, on the 400 x 300 px a 12 MP picture is boxed down to for "
          f"{side} px: {mapping() * 1000:.1f} ms")


if __name__ == "__main__":
    main()
