"""A video's poster against a photo: ``python bench/video.py`` (needs the [video] extra).

Makes two 10 s 4K clips once (bench/corpus/video/, a keyframe every 2 s, as
phones write them): an 8-bit H.264 one, and a 10-bit HEVC one tagged HLG and
BT.2020, as phones record HDR, whose poster is tone-mapped (read/hdr.py). Times
render() of each one's 256 px thumbnail against one of a 12 MP camera-like JPEG
of the benchmark corpus, in this process: the median of 7 runs each.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from corpus import FULL, ROOT, build
from PIL import Image, ImageDraw

from thumbnailer.render import render, warm_up
from thumbnailer.spec import Settings, Size, Target, Task

CLIP, HDR_CLIP = ROOT / "video" / "uhd.mp4", ROOT / "video" / "uhd-hlg.mp4"
#: HEVC, 10 bits, HLG and BT.2020 in the stream's colour description.
HLG = {"preset": "ultrafast", "x265-params":
       "colorprim=bt2020:transfer=arib-std-b67:colormatrix=bt2020nc:log-level=error"}


def make_clip(path: Path, seconds: int = 10, fps: int = 30, hdr: bool = False) -> Path:
    import av

    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = 3840, 2160
    base = Image.radial_gradient("L").resize((w, h)).convert("RGB")
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx265" if hdr else "libx264", rate=fps)
        stream.width, stream.height, stream.gop_size = w, h, 2 * fps
        stream.pix_fmt = "yuv420p10le" if hdr else "yuv420p"
        stream.options = HLG if hdr else {"preset": "ultrafast"}
        for i in range(seconds * fps):
            im = base.copy()
            ImageDraw.Draw(im).rectangle((i * 10, 100, i * 10 + 400, 600), fill=(255, 0, 0))
            for packet in stream.encode(av.VideoFrame.from_image(im)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def timed(source: str, settings: Settings, out: str) -> float:
    runs = []
    for n in range(7):
        task = Task(source, (Target(Size(256, 256), f"{out}/t{n}"),), settings)
        started = time.perf_counter()
        outcome = render(task)
        runs.append(time.perf_counter() - started)
        assert outcome.error is None, outcome.error
    return statistics.median(runs)


def main() -> None:
    photo = sorted(build({"jpeg12": FULL["jpeg12"]})["jpeg12"].glob("*.jpg"))[0]
    clip, hdr = make_clip(CLIP), make_clip(HDR_CLIP, hdr=True)
    with tempfile.TemporaryDirectory() as out:
        settings = Settings(output=out, sizes=(Size(256, 256),))
        warm_up(settings)
        video, still = timed(str(clip), settings, out), timed(str(photo), settings, out)
        toned = timed(str(hdr), settings, out)
    print("| source | to 256 px (median of 7) |\n|---|---:|")
    print(f"| 10 s 4K H.264 video (its poster) | {video * 1000:.0f} ms |")
    print(f"| 10 s 4K 10-bit HEVC HLG video (its poster, tone-mapped) | {toned * 1000:.0f} ms |")
    print(f"| 12 MP JPEG | {still * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
