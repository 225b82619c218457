"""Videos: a poster frame each, upright, through PyAV (the [video] extra).

The clips are written here, with PyAV: each frame a flat colour that says its
index, with a yellow mark in its top-left corner that shows any turn (or, for
the poster's rule, frames painted to say which one was taken).
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


def clip(path, frames=30, fps=10, size=(160, 120), rotation=None, codec="libx264", gop=1,
         paint=picture):
    """A clip of ``frames`` frames, frame i ``paint(i, size)``; a keyframe every
    ``gop`` frames (no more: x264's scene cuts are off)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.gop_size = gop
        if codec == "libx264":
            stream.options = {"x264-params": "scenecut=0"}
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i in range(frames):
            for packet in stream.encode(av.VideoFrame.from_image(paint(i, size))):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def near(a, b, tolerance=12):
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def code(index):
    """A colour that says a frame's index (0 to 511), 32 levels a digit."""
    return tuple(16 + 32 * (index >> shift & 7) for shift in (0, 3, 6))


def index_of(im):
    """The index a frame's colour says, read at its centre (clear of the marks)."""
    pixel = im.getpixel((im.width // 2, im.height // 2))
    return sum(round((v - 16) / 32) << shift for v, shift in zip(pixel, (0, 3, 6), strict=True))


def numbered(index, size, level=1.0):
    """A frame with content: its index's colour, and a white and a black mark
    side by side at the top left; ``level`` dims it (a fade)."""
    w, h = size
    im = Image.new("RGB", size, code(index))
    im.paste((255, 255, 255), (0, 0, w // 4, h // 4))
    im.paste((0, 0, 0), (w // 4, 0, w // 2, h // 4))
    return im if level == 1.0 else Image.eval(im, lambda v: round(v * level))


def flat(index, size):
    """A blank frame: its index's colour alone."""
    return Image.new("RGB", size, code(index))


def keyframes(path):
    with av.open(str(path)) as container:
        return sum(packet.is_keyframe for packet in container.demux(video=0) if packet.size)


@pytest.fixture
def decoded(monkeypatch):
    """The timestamps of the frames the reader decodes, in order."""
    seen = []
    real = video._decoded

    def counted(container, stream):
        for frame in real(container, stream):
            seen.append(frame.pts)
            yield frame

    monkeypatch.setattr(video, "_decoded", counted)
    return seen


ONE = 10_000  # a gop longer than any clip here: one keyframe, at the start


@pytest.mark.parametrize("frames, gop, nearest", [
    (40, 30, 4),  # keyframes at 0 and 3 s; 0.4 s is frame 4
    (43, ONE, 4),  # 0.43 s: frame 4 (0.4 s) is nearer than frame 5
    (47, ONE, 5),  # 0.47 s: frame 5 (0.5 s), past it, is nearer
])
def test_the_poster_is_the_frame_nearest_a_tenth_of_the_duration(tmp_path, frames, gop, nearest):
    """Not the keyframe at or before it (frame 0 here: the old rule)."""
    path = clip(tmp_path / "v.mp4", frames=frames, gop=gop, paint=numbered)
    assert keyframes(path) == (2 if gop == 30 else 1)
    im = poster(str(path), Settings())
    assert im.size == (160, 120) and im.mode == "RGB"
    assert index_of(im) == nearest


def test_a_blank_poster_gives_way_to_the_first_frame_with_content(tmp_path, decoded):
    """A fade-in from black past the tenth (6 s: frame 6, at 0.6 s): frames 0 to
    6 black, frame 7 at 3% of its brightness (still blank), then content."""
    def fade(i, size):
        return numbered(i, size, level=0.0 if i < 7 else 0.03 if i == 7 else 1.0)

    path = clip(tmp_path / "fade.mp4", frames=60, gop=ONE, paint=fade)
    im = poster(str(path), Settings())
    assert index_of(im) == 8
    assert len(decoded) == 9  # frames 0 to 8: none past the one taken


def test_a_clip_blank_throughout_still_gives_the_frame_at_a_tenth(tmp_path, decoded):
    """Each frame one flat colour (its index's): the poster is the frame at 10%
    (frame 6 of 60), after a search of the next 10% (to frame 12) found none."""
    blank = clip(tmp_path / "blank.mp4", frames=60, gop=ONE, paint=flat)
    assert index_of(poster(str(blank), Settings())) == 6
    assert len(decoded) == 14  # frames 0 to 13: 13 is past the search, and ends it
    # Content only after the search's end (frame 12) is not looked for.
    late = clip(tmp_path / "late.mp4", frames=60, gop=ONE,
                paint=lambda i, size: flat(i, size) if i <= 12 else numbered(i, size))
    assert index_of(poster(str(late), Settings())) == 6


def test_decoding_from_the_keyframe_stops_at_max_frames(tmp_path, monkeypatch, decoded):
    """A clip with one keyframe, whose tenth is past the cap: the last frame
    decoded is the poster, and no frame is decoded past the cap."""
    size = (32, 24)
    long = clip(tmp_path / "long.mp4", frames=10 * (video.MAX_FRAMES + 10), size=size,
                gop=ONE, paint=numbered)
    assert index_of(poster(str(long), Settings())) == video.MAX_FRAMES - 1
    assert len(decoded) == video.MAX_FRAMES
    decoded.clear()
    monkeypatch.setattr(video, "MAX_FRAMES", 5)
    assert index_of(poster(str(long), Settings())) == 4 and len(decoded) == 5
    # The search past a blank frame counts too: frame 4 of 40 is the tenth, and
    # the search (to frame 8) stops at the cap, frame 6.
    decoded.clear()
    monkeypatch.setattr(video, "MAX_FRAMES", 7)
    blank = clip(tmp_path / "blank.mp4", frames=40, size=size, gop=ONE, paint=flat)
    assert index_of(poster(str(blank), Settings())) == 4 and len(decoded) == 7


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


def test_the_poster_rule_and_the_display_matrix_together(tmp_path):
    """One keyframe, black past the tenth (frame 4 of 40), stored sideways: the
    first frame with content, upright (the white mark at the top right)."""
    path = clip(tmp_path / "turned.mov", frames=40, gop=ONE, rotation=-90,
                paint=lambda i, size: numbered(i, size) if i > 4 else Image.new("RGB", size))
    im = poster(str(path), Settings())
    assert im.size == (120, 160) and index_of(im) == 5
    assert near(im.getpixel((im.width - 5, 5)), (255, 255, 255))
    assert near(im.getpixel((5, 5)), code(5))


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
    assert result.exit_code == 0 and result.stderr.startswith("2 images: 2 made (2 thumbnails) in")
    assert (out / "IMG_0001.jpg").exists()
    skipped = CliRunner().invoke(cli.main, [str(folder), "-o", str(tmp_path / "o2"), "-w", "1",
                                            "--no-video"])
    assert skipped.stderr.startswith("1 image: 1 made (1 thumbnail) in")
    assert not (tmp_path / "o2" / "IMG_0001.jpg").exists()
    monkeypatch.setattr(kinds, "installed", lambda kind: kind is not kinds.VIDEO)  # no extra
    without = CliRunner().invoke(cli.main, [str(folder), "-o", str(tmp_path / "o3"), "-w", "1"])
    assert without.stderr.startswith("1 image: 1 made (1 thumbnail) in")


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
