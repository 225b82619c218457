"""JPEG XL in and out through pillow-jxl-plugin (the [jxl] extra). The files are
written here, with the plugin itself."""

import io
import json
import sys

import pytest
from click.testing import CliRunner
from helpers import quadrants
from PIL import Image, ImageChops, ImageStat

from thumbnailer import cli
from thumbnailer.read import jxl
from thumbnailer.read.cost import BASE, decode_cost
from thumbnailer.render import render
from thumbnailer.spec import Format, Settings, Size, Target, Task

jxl.register()


def encode(im, **params):
    out = io.BytesIO()
    im.save(out, "JXL", num_threads=0, **params)
    return out.getvalue()


@pytest.mark.parametrize("size", [(1, 1), (8, 8), (256, 171), (300, 200), (400, 300),
                                  (1920, 1080), (5000, 3), (3, 5000), (2049, 33), (640, 512),
                                  (123, 456)])
@pytest.mark.parametrize("container", [False, True])
def test_the_size_is_read_from_the_header_as_libjxl_writes_it(size, container):
    """Differential: every way SizeHeader codes a size (multiples of 8, the seven
    ratios, each field width), bare and in a container, against libjxl's encoder."""
    data = encode(Image.new("RGB", size, (10, 20, 30)), effort=1, use_container=container)
    assert jxl.recognises(data[:12])
    assert jxl.size(data[:4096]) == size


def test_a_jxl_source_gives_the_thumbnail_its_png_twin_gives(tmp_path):
    """Lossless JPEG XL and PNG of one picture: the same pixels, so the same
    thumbnail. Its EXIF says to turn it, which JPEG XL readers ignore: the
    orientation is the codestream's, and libjxl applies it."""
    picture = quadrants((400, 300))
    exif = Image.Exif()
    exif[0x0112] = 6
    (tmp_path / "a.jxl").write_bytes(encode(picture, lossless=True, exif=exif.tobytes()))
    with Image.open(tmp_path / "a.jxl") as check:
        assert check.getexif().get(0x0112) == 6
    picture.save(tmp_path / "a.png")
    s = Settings(output=str(tmp_path / "out"), sizes=(Size(128, 128),))
    made = [render(Task(str(tmp_path / name), (Target(Size(128, 128),
                                                      str(tmp_path / "out" / name)),), s))
            for name in ("a.jxl", "a.png")]
    assert all(o.error is None for o in made)
    with Image.open(made[0].entries[0].output) as a, Image.open(made[1].entries[0].output) as b:
        assert a.size == b.size == (128, 96)
        assert max(ImageStat.Stat(ImageChops.difference(a, b)).mean) < 1


def test_the_pixel_limit_refuses_a_jxl_before_the_plugin_decodes_it(tmp_path):
    """A header claiming 65536 x 65536 and no image after it: refused by its size
    (the plugin, which decodes on open, would only have said the data is bad)."""
    (tmp_path / "bomb.jxl").write_bytes(_header(65536, 65536) + b"\0" * 100)
    outcome = render(Task(str(tmp_path / "bomb.jxl"),
                          (Target(Size(64, 64), str(tmp_path / "t")),), Settings()))
    assert outcome.error == ("65536x65536 is 4,294,967,296 pixels, over the limit of "
                             f"{Settings().max_pixels:,} (Settings.max_pixels)")
    task = Task(str(tmp_path / "bomb.jxl"), (Target(Size(64, 64), str(tmp_path / "t")),),
                Settings(max_pixels=10**10))
    assert decode_cost(task) == BASE + 65536 * 65536 * 12  # from the header, not decoded


def _header(width, height):
    """A bare codestream's signature and SizeHeader for a square (ratio 1) image:
    div8 = 0, height - 1 in U32 selector 3 (30 bits), ratio 1."""
    bits = [0] + [1, 1] + [(height - 1) >> i & 1 for i in range(30)] + [1, 0, 0]
    assert width == height
    data = bytearray()
    for k in range(0, len(bits), 8):
        data.append(sum(b << i for i, b in enumerate(bits[k:k + 8])))
    return b"\xff\x0a" + bytes(data)


def test_jxl_output_keeps_alpha_and_is_the_same_bytes_each_run(tmp_path):
    src = tmp_path / "photos"
    src.mkdir()
    quadrants((400, 300)).save(src / "a.png")
    clear = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    clear.paste((200, 50, 50, 255), (100, 100, 200, 200))
    clear.save(src / "b.png")
    runs = []
    for n in range(2):
        out = tmp_path / f"out{n}"
        result = CliRunner().invoke(cli.main, [str(src), "-o", str(out), "-w", "1", "-f", "jxl",
                                               "-s", "128", "--manifest", str(tmp_path / "m.json")])
        assert result.exit_code == 0, result.output
        runs.append({p.name: p.read_bytes() for p in out.glob("*.jxl")})
    assert runs[0] == runs[1] and set(runs[0]) == {"a.jxl", "b.jxl"}
    with Image.open(tmp_path / "out0" / "b.jxl") as b:
        assert b.format == "JXL" and b.mode == "RGBA" and b.size == (128, 128)
        assert b.getpixel((2, 2))[3] == 0 and b.getpixel((64, 64))[3] == 255
    entries = json.loads((tmp_path / "m.json").read_text())["entries"]
    assert {e["format"] for e in entries} == {"jxl"}


def test_without_the_extra_jxl_files_and_output_say_what_to_install(tmp_path, monkeypatch):
    (tmp_path / "a.jxl").write_bytes(encode(quadrants((80, 60))))
    monkeypatch.setitem(sys.modules, "pillow_jxl", None)
    monkeypatch.setitem(sys.modules, "pillow_jxl.JpegXLImagePlugin", None)
    jxl.register.cache_clear()
    monkeypatch.setattr(Image, "OPEN", {k: v for k, v in Image.OPEN.items() if k != "JXL"})
    try:
        result = CliRunner().invoke(cli.main, [str(tmp_path / "a.jxl"), "-o", str(tmp_path / "o"),
                                               "-w", "1"])
        assert result.exit_code == 1
        assert ("a.jxl: JPEG XL image: reading it needs the optional extra, pip install "
                "'thumbnailer[jxl]'") in result.stderr
    finally:
        jxl.register.cache_clear()
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "pillow_jxl" else real(name, *a))
    from thumbnailer.formats import writable_formats

    writable_formats.cache_clear()
    try:
        usage = CliRunner().invoke(cli.main, [str(tmp_path), "-o", str(tmp_path / "o2"),
                                              "-f", "jxl"])
        assert usage.exit_code == 2
        assert "writing JXL needs the optional extra: pip install 'thumbnailer[jxl]'" \
            in usage.stderr
        assert Format.JXL not in writable_formats()
    finally:
        writable_formats.cache_clear()


def test_the_walk_takes_jxl_files(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "a.jxl").write_bytes(encode(quadrants((80, 60))))
    result = CliRunner().invoke(cli.main, [str(tmp_path / "p"), "-o", str(tmp_path / "o"),
                                           "-w", "1"])
    assert result.exit_code == 0 and result.stderr.startswith("1 image: 1 made (1 thumbnail) in")
    with Image.open(tmp_path / "o" / "a.jpg") as made:
        assert made.size == (80, 60)
