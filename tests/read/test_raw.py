"""Camera RAW files through rawpy (the [raw] extra): the embedded preview when it
is the image's and large enough, else LibRaw's half-size or full development;
upright by the RAW's own orientation. The DNGs are made here (tests/dng.py) from
smooth pictures, so each path can be compared with the picture itself.
"""

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from dng import write_dng
from helpers import channel_difference
from PIL import Image

from thumbnailer import cli
from thumbnailer.geometry import Need
from thumbnailer.read import Picture
from thumbnailer.read import raw as raw_reader
from thumbnailer.read.cost import BASE, decode_cost
from thumbnailer.read.kinds import mime_type
from thumbnailer.read.pillow import TRANSPOSE, codec_versions
from thumbnailer.render import render
from thumbnailer.spec import Settings, Size, Target, Task

MARK = (250, 230, 40)


def scene(size=(600, 400)):
    """A smooth gradient with a yellow mark in the top-left corner that shows any turn."""
    w, h = size
    im = Image.merge("RGB", [Image.linear_gradient("L").resize(size),
                             Image.linear_gradient("L").rotate(90).resize(size),
                             Image.new("L", size, 140)])
    im.paste(MARK, (0, 0, w // 4, h // 4))
    return im


def thumb(source, folder, size=128, **settings):
    s = Settings(output=str(folder), sizes=(Size(size, size),), **settings)
    outcome = render(Task(str(source), (Target(Size(size, size), str(folder / "t")),), s))
    assert outcome.error is None, outcome.error
    return outcome.entries[0]


def reference(picture, orientation, size):
    """What the RAW shows, upright, as Pillow's own thumbnail of the picture."""
    upright = picture.transpose(TRANSPOSE[orientation]) if orientation in TRANSPOSE else picture
    upright.thumbnail((size, size), Image.Resampling.LANCZOS)
    return upright


@pytest.mark.parametrize("orientation", [1, 3, 6, 8, 2, 5])
@pytest.mark.parametrize("with_preview", [True, False])
def test_each_path_makes_the_picture_upright(tmp_path, orientation, with_preview):
    """Differential, for the preview and for LibRaw's development: the thumbnail
    against Pillow's thumbnail of the picture the RAW was made from, turned by
    the RAW's orientation (the preview is stored as the sensor lies)."""
    picture = scene()
    preview = picture.resize((450, 300)) if with_preview else None
    dng = write_dng(tmp_path / "p.dng", picture, orientation, preview)
    entry = thumb(dng, tmp_path / "out")
    assert entry.preview is with_preview
    expected = reference(picture, orientation, 128)
    with Image.open(entry.output) as made:
        assert made.size == expected.size
        # The mark sits where the turn puts it, and the rest looks like the picture:
        # LibRaw demosaics and develops with its own white balance and brightness.
        assert channel_difference(made, expected) < 12
        w, h = made.size
        corners = [(4, 4), (w - 5, 4), (4, h - 5), (w - 5, h - 5)]
        marked = [c for c in corners
                  if channel_difference(Image.new("RGB", (1, 1), made.getpixel(c)),
                                        Image.new("RGB", (1, 1), MARK)) < 40]
        assert marked == [c for c in corners if expected.getpixel(c) == MARK]


def develop(path: str, s: Settings) -> Picture:
    return raw_reader.read(path, Need(s.sizes, s.fit, s.upscale), s)


def test_development_is_half_size_when_that_serves_and_full_when_not(tmp_path):
    dng = write_dng(tmp_path / "p.dng", scene())
    half = develop(str(dng), Settings(sizes=(Size(128, 128),)))
    assert (half.image.size, half.size, half.scale, half.preview) == ((300, 200), (600, 400),
                                                                       2.0, False)
    full = develop(str(dng), Settings(sizes=(Size(256, 256),)))  # 256 x 1.5 > 300
    assert full.image.size == (600, 400) and full.scale == 1.0
    with Image.open(thumb(dng, tmp_path / "a").output) as a:
        assert channel_difference(a, reference(scene(), 1, 128)) < 6  # a smooth picture


def test_a_preview_is_drafted_and_serves_only_sizes_it_covers(tmp_path):
    picture = scene((1200, 800))
    dng = write_dng(tmp_path / "p.dng", picture, preview=picture.resize((600, 400)))
    small = develop(str(dng), Settings(sizes=(Size(128, 128),)))
    assert small.preview and small.image.size == (150, 100)  # the JPEG preview at 1/4
    assert small.scale == 8.0
    # The 600x400 preview keeps 390x260 with the gap of 1.5, not 410x274.
    assert develop(str(dng), Settings(sizes=(Size(390, 390),))).preview
    assert not develop(str(dng), Settings(sizes=(Size(410, 410),))).preview
    bitmap = write_dng(tmp_path / "b.dng", picture, preview=picture.resize((600, 400)),
                       jpeg_preview=False)
    assert develop(str(bitmap), Settings(sizes=(Size(128, 128),))).preview


@pytest.mark.parametrize("stale", ["another shape", "blank"])
def test_a_preview_that_is_not_the_images_is_refused(tmp_path, stale):
    """An editor's stale preview: another crop, or a flat placeholder. The mosaic
    is developed instead, and the thumbnail shows the picture, not the preview."""
    picture = scene()
    other = (picture.crop((0, 0, 400, 400)).resize((300, 300)) if stale == "another shape"
             else Image.new("RGB", (450, 300), (128, 128, 128)))
    dng = write_dng(tmp_path / "p.dng", picture, preview=other)
    entry = thumb(dng, tmp_path / "out")
    assert not entry.preview
    with Image.open(entry.output) as made:
        assert made.size == (128, 85) and channel_difference(made, reference(picture, 1, 128)) < 12


def test_the_manifest_says_a_preview_served_and_reruns_keep_it(tmp_path):
    picture = scene()
    folder = tmp_path / "camera"
    folder.mkdir()
    write_dng(folder / "a.dng", picture, preview=picture.resize((450, 300)))
    write_dng(folder / "b.dng", picture)
    args = [str(folder), "-o", str(tmp_path / "out"), "-s", "128", "-w", "1",
            "--manifest", str(tmp_path / "m.json")]
    for run in range(2):
        result = CliRunner().invoke(cli.main, args)
        assert result.exit_code == 0, result.output
        thumbnails = json.loads((tmp_path / "m.json").read_text())["entries"]
        assert {t["source"].rpartition("/")[2]: t.get("preview", False)
                for t in thumbnails} == {"a.dng": True, "b.dng": False}
        assert [t["status"] for t in thumbnails] == ["created" if run == 0 else "skipped"] * 2


def test_bad_raw_files_fail_with_one_clear_line(tmp_path):
    picture = scene()
    folder = tmp_path / "camera"
    folder.mkdir()
    whole = write_dng(folder / "good.dng", picture).read_bytes()
    (folder / "cut.dng").write_bytes(whole[:600])  # the header, then nothing
    (folder / "text.nef").write_bytes(b"not a raw file at all" * 50)
    result = CliRunner().invoke(cli.main, [str(folder), "-o", str(tmp_path / "out"), "-w", "1"])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith(str(folder))]
    assert len(lines) == 2 and "Traceback" not in result.output
    assert f"{folder / 'text.nef'}: not a RAW file LibRaw can read" in lines
    assert any(line.startswith(f"{folder / 'cut.dng'}: ") for line in lines)
    assert (tmp_path / "out" / "good.jpg").exists()
    refused = render(Task(str(folder / "good.dng"), (Target(Size(64, 64), str(tmp_path / "x")),),
                          Settings(max_pixels=1000)))
    assert refused.error == ("600x400 is 240,000 pixels, over the limit of 1,000 "
                             "(Settings.max_pixels)")


def test_without_the_extra_each_raw_file_is_named_with_what_to_install(tmp_path, monkeypatch):
    folder = tmp_path / "camera"
    folder.mkdir()
    write_dng(folder / "IMG_1.DNG", scene())
    scene().save(folder / "IMG_2.JPG")
    monkeypatch.setitem(sys.modules, "rawpy", None)  # import rawpy fails, as without the extra
    result = CliRunner().invoke(cli.main, [str(folder), "-o", str(tmp_path / "out"), "-w", "1"])
    assert result.exit_code == 1 and result.stderr.count("thumbnailer[raw]") == 1
    assert (f"{folder / 'IMG_1.DNG'}: a camera RAW file: reading RAW files needs the optional "
            "extra: pip install 'thumbnailer[raw]'") in result.stderr
    assert (tmp_path / "out" / "IMG_2.jpg").exists()


def test_no_raw_leaves_raw_files_out(tmp_path):
    folder = tmp_path / "camera"
    folder.mkdir()
    write_dng(folder / "IMG_1.NEF", scene())  # LibRaw reads by content, not by name
    result = CliRunner().invoke(cli.main, [str(folder), "-o", str(tmp_path / "o1"), "-w", "1"])
    assert result.exit_code == 0 and result.stderr.startswith("1 image: 1 made (1 thumbnail) in")
    skipped = CliRunner().invoke(cli.main, [str(folder), "-o", str(tmp_path / "o2"), "-w", "1",
                                            "--no-raw"])
    assert "\n0 images in" in skipped.stderr and "no images found" in skipped.stderr
    assert not list((tmp_path / "o2").glob("*.jpg"))


def test_a_raw_and_jpeg_pair_is_named_apart_without_a_warning(tmp_path):
    """A camera's RAW+JPEG: both get a thumbnail, the one the walk meets second
    named apart as the collision rule says (here the JPEG: DNG sorts first), and
    that expected pair is not warned about."""
    folder = tmp_path / "camera"
    folder.mkdir()
    scene().save(folder / "DSC_1.JPG")
    write_dng(folder / "DSC_1.DNG", scene())
    out = tmp_path / "out"
    result = CliRunner().invoke(cli.main, [str(folder), "-o", str(out), "-w", "1",
                                           "--manifest", str(tmp_path / "m.json")])
    assert result.exit_code == 0 and "warning" not in result.stderr
    assert sorted(p.name for p in out.glob("*.jpg")) == ["DSC_1-jpg.jpg", "DSC_1.jpg"]
    assert json.loads((tmp_path / "m.json").read_text())["collisions"]


def test_mime_type_versions_and_cost(tmp_path):
    assert mime_type("/a/IMG_1.CR3") == "image/x-canon-cr3"
    assert mime_type("/a/b.dng") == "image/x-adobe-dng"
    assert any(v.startswith("rawpy ") for v in codec_versions())  # the ledger's judge, --cache-key
    dng = write_dng(tmp_path / "p.dng", scene())
    task = Task(str(dng), (Target(Size(64, 64), str(tmp_path / "t")),), Settings())
    assert decode_cost(task) >= BASE + 600 * 400 * 2  # the mosaic at least


def fresh_run(source, out, then: str, env=None) -> str:
    """What a fresh interpreter prints that runs the CLI in-process (-w 1) from
    ``source`` to ``out``, then the Python lines ``then``."""
    code = ("from thumbnailer.cli import main\n"
            "try:\n"
            f"    main([{str(source)!r}, '-o', {str(out)!r}, '-w', '1'])\n"
            "except SystemExit:\n"
            "    pass\n" + then)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env=env).stdout


def test_a_run_over_photos_imports_no_extra(tmp_path):
    """The default path loads no extra: not rawpy (nor numpy, which it needs), PyAV,
    pillow-heif, pillow-jxl-plugin or blurhash. A run over a folder of JPEGs, in a
    fresh interpreter, in-process."""
    folder = tmp_path / "photos"
    folder.mkdir()
    scene().save(folder / "a.jpg")
    printed = fresh_run(folder, tmp_path / "out", (
        "import sys\n"
        "print(sorted(m for m in ('rawpy', 'av', 'numpy', 'pillow_heif', 'pillow_jxl',\n"
        "                         'blurhash') if m in sys.modules))"))
    assert printed.strip() == "[]" and (tmp_path / "out" / "a.jpg").exists()


@pytest.mark.parametrize("users", [None, "3"])  # 3: not this machine's 2 cores
def test_libraw_uses_one_core_and_the_callers_environment_is_left_alone(tmp_path, users):
    """A RAW developed in the caller's own process (-w 1): OpenMP's thread count is
    one (or what the user set), and OMP_NUM_THREADS afterwards is what it was. It
    was left set to 1 in the caller's process, for every OpenMP library it loads
    later. Read from the libgomp rawpy loaded (its wheels carry their own)."""
    dng = write_dng(tmp_path / "p.dng", scene())
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    if users:
        env["OMP_NUM_THREADS"] = users
    printed = fresh_run(dng, tmp_path / "out", (
        "import ctypes, os\n"
        "[gomp] = {line.split()[-1] for line in open('/proc/self/maps') if 'libgomp' in line}\n"
        "print(ctypes.CDLL(gomp).omp_get_max_threads(), os.environ.get('OMP_NUM_THREADS'))"),
        env=env)
    assert printed.split() == [users or "1", str(users)]
    assert (tmp_path / "out" / "p.jpg").exists()
