"""A video's poster against a photo: ``python bench/video.py`` (needs the [video] extra).

Makes two 10 s 4K clips once (bench/corpus/video/, a keyframe every 2 s, as
phones write them): an 8-bit H.264 one, and a 10-bit HEVC one tagged HLG and
BT.2020, as phones record HDR, whose poster is tone-mapped (read/hdr.py). Times
render() of each one's 256 px thumbnail against one of a 12 MP camera-like JPEG
of the benchmark corpus, in this process: the median of 7 runs each.

Then the poster rule's own cost (``--rule`` for this part alone): camera-like
1080p and 4K H.264 clips (a photograph of the corpus's kind panning across the
frame, 30 fps), one with a keyframe every 2 s (10 s long: the tenth, 1 s in, is
30 frames past its keyframe, the mean for that spacing) and one with a single
keyframe (60 s long: the tenth, 6 s in, is 180 frames past it, so MAX_FRAMES
decides). Each poster by the rule (decoding forward to the frame nearest the
tenth) against the keyframe alone (MAX_FRAMES = 1: the rule before it).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from corpus import FULL, ROOT, build, photo
from PIL import Image, ImageDraw

from thumbnailer.read import video
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


def make_camera_clip(path: Path, size: tuple[int, int], seconds: int, gop: int | None,
                     fps: int = 30) -> Path:
    """A photograph of the corpus's kind panning 2 px a frame across the frame,
    back and forth over a tenth of its width, with grain (a sensor's noise,
    sigma 3): a keyframe every ``gop`` frames, or one only (None). x264's
    veryfast preset at CRF 18 (CABAC, deblocking, B-frames): 13 to 15 Mb/s at
    1080p and 55 to 65 at 4K, about what phones record."""
    import av
    import numpy as np

    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    margin = w // 10
    scene = np.asarray(photo(31, w + margin, h), dtype=np.int16)
    rng = np.random.default_rng(0)
    grains = [rng.normal(0, 3, (h, w, 1)).astype(np.int16) for _ in range(7)]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        keys = f"keyint={gop}:min-keyint={gop}" if gop else "keyint=infinite"
        stream.options = {"preset": "veryfast", "crf": "18",
                          "x264-params": f"{keys}:scenecut=0"}
        for i in range(seconds * fps):
            x = abs(i * 2 % (2 * margin) - margin)
            pixels = np.clip(scene[:, x:x + w] + grains[i % 7], 0, 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
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


def keyframe_alone(source: str, settings: Settings, out: str) -> float:
    """timed() by the rule before: MAX_FRAMES = 1 stops at the keyframe (and
    looks at it for content once, a 64 px conversion)."""
    cap, video.MAX_FRAMES = video.MAX_FRAMES, 1
    try:
        return timed(source, settings, out)
    finally:
        video.MAX_FRAMES = cap


def decoded(source: str, settings: Settings, out: str) -> int:
    """The frames the reader decodes for one render of ``source``."""
    count = 0
    real = video._decoded

    def counted(container: Any, stream: Any) -> Iterator[Any]:
        nonlocal count
        for frame in real(container, stream):
            count += 1
            yield frame

    video._decoded = counted
    try:
        outcome = render(Task(source, (Target(Size(256, 256), out),), settings))
        assert outcome.error is None, outcome.error
    finally:
        video._decoded = real
    return count


def rule() -> None:
    """The poster rule against the keyframe alone, on 1080p and 4K clips."""
    clips = [(f"{label}, {keys}",
              make_camera_clip(ROOT / "video" / f"{name}-{tag}.mp4", size, seconds, gop))
             for label, name, size in (("1080p", "hd", (1920, 1080)),
                                       ("4K", "uhd", (3840, 2160)))
             for keys, tag, seconds, gop in (("a keyframe every 2 s (10 s)", "gop60", 10, 60),
                                             ("one keyframe (60 s)", "one", 60, None))]
    cap = video.MAX_FRAMES
    print(f"| clip (H.264, 30 fps) | frames decoded | poster (MAX_FRAMES = {cap}) "
          "| keyframe alone (MAX_FRAMES = 1) |\n|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as out:
        settings = Settings(output=out, sizes=(Size(256, 256),))
        warm_up(settings)
        for n, (label, path) in enumerate(clips):
            frames = decoded(str(path), settings, f"{out}/{n}-count")
            poster = timed(str(path), settings, f"{out}/{n}")
            keyframe = keyframe_alone(str(path), settings, f"{out}/{n}-keyframe")
            print(f"| {label} | {frames} | {poster * 1000:,.0f} ms | {keyframe * 1000:,.0f} ms |")


def against_a_photo() -> None:
    """A 4K clip's poster (and a tone-mapped one's) against a 12 MP JPEG."""
    jpeg = sorted(build({"jpeg12": FULL["jpeg12"]})["jpeg12"].glob("*.jpg"))[0]
    clip, hdr = make_clip(CLIP), make_clip(HDR_CLIP, hdr=True)
    with tempfile.TemporaryDirectory() as out:
        settings = Settings(output=out, sizes=(Size(256, 256),))
        warm_up(settings)
        # Each its own folder: a thumbnail of one name is not written over another's.
        plain, still = timed(str(clip), settings, f"{out}/h264"), timed(str(jpeg), settings,
                                                                           f"{out}/jpeg")
        toned = timed(str(hdr), settings, f"{out}/hlg")
        keyframe = keyframe_alone(str(clip), settings, f"{out}/keyframe")
    print("| source | to 256 px (median of 7) |\n|---|---:|")
    print(f"| 10 s 4K H.264 video (its poster) | {plain * 1000:.0f} ms |")
    print(f"| the same, its keyframe alone (the rule before) | {keyframe * 1000:.0f} ms |")
    print(f"| 10 s 4K 10-bit HEVC HLG video (its poster, tone-mapped) | {toned * 1000:.0f} ms |")
    print(f"| 12 MP JPEG | {still * 1000:.0f} ms |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rule", action="store_true",
                        help="only the poster rule's cost, on 1080p and 4K clips")
    if not parser.parse_args().rule:
        against_a_photo()
    rule()


if __name__ == "__main__":
    main()
