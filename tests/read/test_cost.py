"""A render's peak memory, estimated from the header, against what render takes."""

import subprocess
import sys

import pytest
from helpers import photo
from PIL import Image

from thumbnailer.read.cost import BASE, decode_cost, worst
from thumbnailer.spec import Settings, Size, Target, Task

MB = 1 << 20


def task(path, side=256, **settings):
    s = Settings(output=str(path.parent / "out"), sizes=(Size(side, side),), **settings)
    return Task(str(path), (Target(Size(side, side), str(path.parent / "out" / path.stem)),), s)


@pytest.fixture(scope="module")
def pano(tmp_path_factory):
    """A 6000 x 2000 picture in the formats whose costs differ."""
    folder = tmp_path_factory.mktemp("pano")
    picture = photo(folder / "pano.png", (6000, 2000), compress_level=1)
    im = Image.open(picture)
    im.save(folder / "pano.jpg", quality=85)
    im.save(folder / "progressive.jpg", quality=85, progressive=True)
    im.convert("RGBA").save(folder / "alpha.png", compress_level=1)
    im.convert("L").save(folder / "grey.png", compress_level=1)
    im.convert("P").save(folder / "palette.png", compress_level=1)
    im.save(folder / "pano.webp", quality=80)
    return folder


def test_pixels_count_at_the_size_they_are_decoded_at(pano):
    png = decode_cost(task(pano / "pano.png")) - BASE
    assert 12e6 * 4 <= png <= 12e6 * 4 * 1.1  # RGB: four bytes a pixel, one copy
    assert decode_cost(task(pano / "alpha.png")) - BASE >= 2 * 12e6 * 4  # + the flattening
    assert decode_cost(task(pano / "grey.png")) - BASE < png / 3  # one byte a pixel
    assert decode_cost(task(pano / "palette.png")) - BASE >= 12e6 * 5  # + its RGB copy
    assert decode_cost(task(pano / "pano.webp")) - BASE >= 4 * 12e6 * 4  # libwebp's buffers
    small = decode_cost(task(pano / "pano.jpg"))  # decoded at 1/8 for 256 px
    assert small < BASE + png / 20
    assert decode_cost(task(pano / "pano.jpg", side=2048)) > small  # a larger scale
    # Progressive: every DCT coefficient, at full size, whatever the scale.
    assert decode_cost(task(pano / "progressive.jpg")) - small >= 12e6 * 3


def test_an_image_refused_unread_or_unreadable_costs_the_base(pano, tmp_path):
    assert decode_cost(task(pano / "pano.png", max_pixels=1000)) == BASE
    (tmp_path / "bad.png").write_bytes(b"not a png")
    assert decode_cost(task(tmp_path / "bad.png")) == BASE
    assert decode_cost(Task(str(pano / "pano.png"), (), Settings())) == BASE


def test_animations_count_their_frames_when_kept(tmp_path):
    frames = [Image.new("RGB", (400, 300), (n * 8, 0, 0)) for n in range(30)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    still = decode_cost(task(tmp_path / "a.gif"))
    moving = decode_cost(task(tmp_path / "a.gif", animated=True))
    assert moving - still >= 30 * 256 * 256 * 4 * 0.9


def test_no_estimate_passes_the_worst_case(pano):
    for name in ("pano.png", "alpha.png", "pano.webp", "progressive.jpg"):
        assert decode_cost(task(pano / name)) <= worst(Settings())
    assert worst(Settings(max_pixels=1000)) < worst(Settings())


# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a child of a
# large test process would start at its parent's peak.
PEAK = """
import sys
from thumbnailer.render import render, warm_up
from thumbnailer.spec import Settings, Size, Target, Task

def peak():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM"))

s = Settings(output=sys.argv[2], sizes=(Size(256, 256),))
warm_up(s)
before = peak()
outcome = render(Task(sys.argv[1], (Target(Size(256, 256), sys.argv[2] + "/x"),), s))
assert outcome.error is None, outcome.error
print(peak() - before)
"""


@pytest.mark.parametrize("name", ["pano.png", "alpha.png", "palette.png", "progressive.jpg",
                                  "pano.webp"])
def test_the_estimate_covers_what_render_really_takes(pano, tmp_path, name):
    """Differential: the peak a real render adds (ru_maxrss, in a fresh process)
    is within the estimate, and the estimate is not wildly above it."""
    ran = subprocess.run([sys.executable, "-c", PEAK, str(pano / name), str(tmp_path)],
                         capture_output=True, text=True, check=True)
    taken = int(ran.stdout)
    estimate = decode_cost(task(pano / name))
    assert taken <= estimate * 1.05, (taken / MB, estimate / MB)
    assert estimate <= 2.5 * taken + BASE, (taken / MB, estimate / MB)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 720p H.264 clip with one keyframe, 4 reference frames and B-frames: its
    poster (at 1 s) is decoded forward from the keyframe, filling the decoder's
    buffer of references."""
    import av

    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    im = Image.open(photo(path.parent / "scene.png", (1280, 720)))
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        stream.options = {"preset": "ultrafast",
                          "x264-params": "keyint=infinite:scenecut=0:ref=4:bframes=3"}
        for i in range(100):
            frame = im.transform(im.size, Image.Transform.AFFINE, (1, 0, i * 4, 0, 1, 0))
            for packet in stream.encode(av.VideoFrame.from_image(frame)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.mark.parametrize("side", [256, 4000])
def test_a_videos_estimate_covers_its_poster(clip, tmp_path, side):
    """The same differential for a video's poster, scaled down in its conversion
    (256) and converted whole (4000). PyAV is imported first: its libraries (17
    MB) are the worker's, once, not each video's."""
    script = PEAK.replace("Size(256, 256)", f"Size({side}, {side})").replace(
        "before = peak()", "import av  # noqa: F401\nbefore = peak()")
    ran = subprocess.run([sys.executable, "-c", script, str(clip), str(tmp_path)],
                         capture_output=True, text=True, check=True)
    taken, estimate = int(ran.stdout), decode_cost(task(clip, side=side))
    assert taken <= estimate * 1.05, (taken / MB, estimate / MB)
    assert estimate <= 2.5 * taken + BASE, (taken / MB, estimate / MB)


def invalid_apng(path):
    """A PNG with an acTL chunk of zero frames: Pillow warns "Invalid APNG" on open."""
    import struct
    import zlib

    photo(path, (64, 48))
    data = path.read_bytes()
    body = struct.pack(">II", 0, 0)
    actl = struct.pack(">I", 8) + b"acTL" + body + struct.pack(">I", zlib.crc32(b"acTL" + body))
    at = 8 + 25  # after the signature and IHDR
    path.write_bytes(data[:at] + actl + data[at:])
    return path


def test_reading_a_header_for_the_budget_says_nothing(tmp_path, recwarn, capfd, monkeypatch):
    """The parent reads headers for --max-memory; whatever their readers say, the
    worker says again with the file's name: here it is dropped, never printed."""
    import ctypes

    from thumbnailer.read import image

    src = invalid_apng(tmp_path / "odd.png")
    with pytest.warns(UserWarning, match="Invalid APNG"):
        Image.open(src).close()
    original, libc = image.memory, ctypes.CDLL(None)

    def memory(*args):
        libc.write(2, b"libpng warning: from C\n", 23)
        return original(*args)

    monkeypatch.setattr(image, "memory", memory)
    capfd.readouterr()
    assert decode_cost(task(src)) > BASE
    assert not recwarn.list
    assert capfd.readouterr().err == ""
