"""--hdr keep against the SDR path: ``python bench/gainmap.py``.

Makes, once, a 12 MP UltraHDR JPEG (bench/corpus/gainmap) from the corpus's
camera-like picture: its highlights lifted to four times SDR white in linear
light, written by libvips' uhdrsave (libultrahdr; pyvips-binary 8.18, in the
test extra), which computes the gain map (a quarter of the size). Then times
render() of a 256 px
thumbnail, in this process, the median of 15 interleaved runs: of the
UltraHDR file with --hdr sdr and with --hdr keep, and of its SDR base saved as
a plain JPEG (no gain map, no MPF) at the same quality. Then the same for an
iPhone's 12 MP HEIC with Apple's gain map (pillow-heif's pug.heic, from the tests'
corpus cache), --hdr sdr and keep; and for bench/hdr.py's 12 MP 10-bit PQ HEIC
(no preview), whose gain map keep computes.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyvips
from corpus import FULL, ROOT, build
from hdr import FOLDER as HDR_FOLDER
from hdr import make as make_hdr
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import corpora  # the tests' corpus cache: pillow-heif's test images

from thumbnailer.render import render, warm_up
from thumbnailer.spec import Hdr, Settings, Size, Target, Task

FOLDER = ROOT / "gainmap"
ROUNDS = 15


def make(picture: Path) -> tuple[Path, Path]:
    hdr, plain = FOLDER / "ultrahdr.jpg", FOLDER / "plain.jpg"
    if not hdr.exists():
        FOLDER.mkdir(parents=True, exist_ok=True)
        linear = pyvips.Image.new_from_file(str(picture)).colourspace("scrgb")
        luma = linear[0] * 0.2126 + linear[1] * 0.7152 + linear[2] * 0.0722
        lifted = linear * (1 + 3 * luma ** 4)  # highlights up to 4x SDR white
        lifted.copy(interpretation="scrgb").uhdrsave(str(hdr), Q=90)
        pyvips.Image.uhdrload(str(hdr)).jpegsave(str(plain), Q=90)
    return hdr, plain


def main() -> None:
    picture = sorted(build({"jpeg12": FULL["jpeg12"]})["jpeg12"].glob("*.jpg"))[1]
    hdr, plain = make(picture)
    with Image.open(hdr) as im:
        print(f"UltraHDR source: {im.size[0]}x{im.size[1]}, {hdr.stat().st_size:,} bytes")
    iphone = corpora.pillow_heif_images() / "heif_other" / "pug.heic"
    pq = make_hdr(HDR_FOLDER / "pq.heic", True, [])
    cases = (("plain JPEG (its SDR base)", plain, Hdr.SDR),
             ("UltraHDR, --hdr sdr", hdr, Hdr.SDR),
             ("UltraHDR, --hdr keep", hdr, Hdr.KEEP),
             ("iPhone HEIC, --hdr sdr", iphone, Hdr.SDR),
             ("iPhone HEIC, --hdr keep", iphone, Hdr.KEEP),
             ("10-bit PQ HEIC, --hdr sdr", pq, Hdr.SDR),
             ("10-bit PQ HEIC, --hdr keep (map computed)", pq, Hdr.KEEP))
    runs: list[list[float]] = [[] for _ in cases]
    sizes = [0] * len(cases)
    with tempfile.TemporaryDirectory() as root:
        # Interleaved rounds: on a shared machine, a slow moment hits every case alike.
        for n in range(ROUNDS):
            for k, (_, source, mode) in enumerate(cases):
                settings = Settings(output=f"{root}/{k}", sizes=(Size(256, 256),), hdr=mode)
                if n == 0:
                    warm_up(settings)
                target = Target(settings.sizes[0], f"{root}/{k}/t{n}")
                started = time.perf_counter()
                outcome = render(Task(str(source), (target,), settings))
                runs[k].append(time.perf_counter() - started)
                assert outcome.error is None, outcome.error
                sizes[k] = Path(f"{root}/{k}/t{n}.jpg").stat().st_size
    print(f"\n| 12 MP source to 256 px (median of {ROUNDS}) | time | thumbnail |\n|---|---:|---:|")
    for (title, _, _), times, size in zip(cases, runs, sizes, strict=True):
        print(f"| {title} | {statistics.median(times) * 1000:.1f} ms | {size:,} bytes |")


if __name__ == "__main__":
    main()
