"""Videos: a poster frame each, upright, through PyAV (the [video] extra).

The clips are written here, with PyAV: each frame a flat colour that says its
index, with a yellow mark in its top-left corner that shows any turn.
"""

import json
import sys

import av
import pytest
from click.testing import CliRunner
from PIL import Image, ImageChops, ImageStat

from thumbnailer import cli
from thumbnailer.geometry import Need
from thumbnailer.read import kinds, video
from thumbnailer.read.cost import BASE, decode_cost
from thumbnailer.read.kinds import mime_type
from thumbnailer.read.video import POSTER_AT
from thumbnailer.render import render
from thumbnailer.spec import Settings, Size, Status, Target, Task

MARK = (255, 255, 0)



def poster(path: str, s: Settings) -> Image.Image:
    """The poster frame for the job's sizes, as render asks the reader for it."""
    return video.poster(path, Need(s.sizes, s.fit, s.upscale), s)

def colour(index):
    return ((index * 8) % 256, 100, 255 - (index * 8) % 256)


def picture(index, size):
    w, h = size
    im = Image.new("RGB", size, colour(index))
    im.paste(MARK, (0, 0, w // 3, h // 3))
    return im


def clip(path, frames=30, fps=10, size=(160, 120), rotation=None, codec="libx264", gop=1):
    """A clip of ``frames`` frames; a keyframe every ``gop`` frames."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.gop_size = gop
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i in range(frames):
            for packet in stream.encode(av.VideoFrame.from_image(picture(i, size))):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def near(a, b, tolerance=12):
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def test_the_poster_is_the_keyframe_at_a_tenth_of_the_duration(tmp_path):
    long = clip(tmp_path / "long.mp4", frames=40)  # 4 s: the frame at 0.4 s
    im = poster(str(long), Settings())
    assert im.size == (160, 120) and im.mode == "RGB"
    assert near(im.getpixel((120, 100)), colour(round(40 * POSTER_AT)))
    sparse = clip(tmp_path / "sparse.mp4", frames=40, gop=30)  # keyframes at 0 and 3 s
    assert near(poster(str(sparse), Settings()).getpixel((120, 100)), colour(0))


def test_a_short_clip_gives_its_first_frame(tmp_path):
    short = clip(tmp_path / "short.webm", frames=15, codec="libvpx")  # 1.5 s, VP8 in WebM
    assert near(poster(str(short), Settings()).getpixel((120, 100)), colour(0))


@pytest.mark.parametrize("rotation, corner", [(-90, "top-right"), (90, "bottom-left"),
                                              (180, "bottom-right")])
def test_the_display_matrix_makes_the_poster_upright(tmp_path, rotation, corner):
    """A phone's portrait video is stored sideways with a display matrix of -90
    (turn clockwise): the mark at the stored top-left must end where the turn puts it."""
    im = poster(str(clip(tmp_path / "turned.mov", rotation=rotation)), Settings())
    assert im.size == ((160, 120) if rotation == 180 else (120, 160))
    w, h = im.size
    spots = {"top-right": (w - 5, 5), "bottom-left": (5, h - 5), "bottom-right": (w - 5, h - 5)}
    assert near(im.getpixel(spots[corner]), MARK)
    assert not near(im.getpixel((5, 5)), MARK)


def test_render_makes_a_thumbnail_of_the_poster_like_one_of_the_same_picture(tmp_path):
    """Differential: the video's thumbnail (its frame scaled down in FFmpeg's
    conversion, as a draft would) against the thumbnail of the whole frame saved
    as a PNG (render's own resize all the way)."""
    video = clip(tmp_path / "v.mp4", frames=40, size=(640, 360), rotation=-90)
    still = tmp_path / "still.png"
    whole = poster(str(video), Settings(sizes=(Size(4000, 4000),)))  # nothing to shrink
    assert whole.size == (360, 640)
    assert poster(str(video), Settings(sizes=(Size(128, 128),))).size == (108, 192)  # x1.5
    whole.save(still)
    s = Settings(output=str(tmp_path / "out"), sizes=(Size(128, 128),))
    made = render(Task(str(video), (Target(Size(128, 128), str(tmp_path / "out" / "v")),), s))
    ref = render(Task(str(still), (Target(Size(128, 128), str(tmp_path / "out" / "s")),), s))
    assert made.error is None and made.entries[0].status is Status.CREATED
    assert (made.entries[0].width, made.entries[0].height) == (72, 128)
    with Image.open(made.entries[0].output) as a, Image.open(ref.entries[0].output) as b:
        # Within the conformance suite's bound for drafts (4.0); measured: 2.0, the same
        # with FFmpeg's area, bicubic, bilinear or Lanczos scaling.
        assert max(ImageStat.Stat(ImageChops.difference(a, b)).mean) < 4.0


def test_limits_and_bad_files_fail_with_a_reason(tmp_path):
    video = clip(tmp_path / "v.mp4", size=(320, 240))
    out = str(tmp_path / "out" / "v")
    small = Settings(output=str(tmp_path / "out"), max_pixels=1000)
    refused = render(Task(str(video), (Target(Size(64, 64), out),), small))
    assert refused.error == ("320x240 is 76,800 pixels, over the limit of 1,000 "
                             "(Settings.max_pixels)")
    (tmp_path / "bad.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    bad = render(Task(str(tmp_path / "bad.mp4"), (Target(Size(64, 64), out),), Settings()))
    assert bad.error.startswith(("not a video FFmpeg can read", "damaged video data",
                                 "no frame could be decoded"))
    assert not bad.transient  # the file's own: the ledger keeps it
    # A large video is not refused by --max-file-size: the poster reads a little of it.
    roomy = Settings(output=str(tmp_path / "out"), max_file_size=1000)
    assert render(Task(str(video), (Target(Size(64, 64), out),), roomy)).error is None


def test_the_walk_takes_videos_only_with_the_extra_and_without_no_video(tmp_path, monkeypatch):
    folder = tmp_path / "phone"
    clip(folder / "IMG_0001.MOV")
    picture(0, (80, 60)).save(folder / "IMG_0002.JPG")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli.main, [str(folder), "-o", str(out), "-w", "1"])
    assert result.exit_code == 0 and result.stderr.startswith("2 created")
    assert (out / "IMG_0001.jpg").exists()
    skipped = CliRunner().invoke(cli.main, [str(folder), "-o", str(tmp_path / "o2"), "-w", "1",
                                            "--no-video"])
    assert skipped.stderr.startswith("1 created")
    assert not (tmp_path / "o2" / "IMG_0001.jpg").exists()
    monkeypatch.setattr(kinds, "installed", lambda kind: kind is not kinds.VIDEO)  # no extra
    without = CliRunner().invoke(cli.main, [str(folder), "-o", str(tmp_path / "o3"), "-w", "1"])
    assert without.stderr.startswith("1 created")


def test_a_named_video_without_the_extra_says_what_to_install(tmp_path, monkeypatch):
    video = clip(tmp_path / "v.mp4")
    monkeypatch.setitem(sys.modules, "av", None)  # import av fails, as without the extra
    result = CliRunner().invoke(cli.main, [str(video), "-o", str(tmp_path / "out"), "-w", "1"])
    assert result.exit_code == 1
    assert (f"{video}: a video: reading videos needs the optional extra: "
            "pip install 'thumbnailer[video]'") in result.stderr


def test_the_desktop_cache_gets_the_video_mime_type_and_costs_count_the_frame(tmp_path):
    assert mime_type("/a/b/C.MOV") == "video/quicktime" and mime_type("/a/b.jpg") == ""
    video = clip(tmp_path / "v.mp4", size=(320, 240))
    task = Task(str(video), (Target(Size(64, 64), str(tmp_path / "v")),), Settings())
    assert decode_cost(task) >= BASE + 320 * 240 * 4


def test_a_live_photos_video_is_named_apart_without_a_warning(tmp_path):
    """A phone's Live Photo is IMG_1.HEIC (here a JPEG) with IMG_1.MOV: both get a
    thumbnail, the video's named apart, and that expected pair is not warned about
    (the manifest still lists it among the collisions)."""
    folder = tmp_path / "phone"
    folder.mkdir()
    picture(0, (80, 60)).save(folder / "IMG_1.JPG")
    clip(folder / "IMG_1.MOV")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli.main, [str(folder), "-o", str(out), "-w", "1",
                                           "--manifest", str(tmp_path / "m.json")])
    assert result.exit_code == 0 and "warning" not in result.stderr
    assert sorted(p.name for p in out.glob("*.jpg")) == ["IMG_1-mov.jpg", "IMG_1.jpg"]
    collisions = json.loads((tmp_path / "m.json").read_text())["collisions"]
    assert collisions == [f"{folder / 'IMG_1.MOV'}: its thumbnail name is taken by another "
                          "source; named 'IMG_1-mov' instead"]
