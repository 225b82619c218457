"""How render reads files: orientation where the decoder leaves it, decoder errors
never swallowed (--fail-on), the decoder allow-list, Pillow's globals untouched.
Each test here fails on the code before the conformance suite found its bug."""

import io
import random
import struct
import threading
import zlib
from pathlib import Path

import pytest
from helpers import STORE_FOR_ORIENTATION, photo, pixel_bomb_png, quadrants
from PIL import Image, ImageDraw, ImageStat

from thumbnailer.render import render
from thumbnailer.spec import FailOn, Format, Settings, Status, Target, Task


def make(source: Path, out: Path, **settings) -> Task:
    s = Settings(**settings)
    return Task(str(source), (Target(s.sizes[0], str(out / source.stem), s.formats[0]),), s)


def entry_of(task: Task):
    [entry] = render(task).entries
    return entry


def marked(size=(200, 100)) -> Image.Image:
    """A 1-bit picture with one black block at the top left: any turn shows."""
    im = Image.new("1", size, 1)
    ImageDraw.Draw(im).rectangle((0, 0, size[0] // 4, size[1] // 3), fill=0)
    return im


def dark_corner(thumb: Image.Image) -> tuple[int, int]:
    """Which quarter of ``thumb`` is darkest: (0|1, 0|1) as (right?, bottom?)."""
    grey = thumb.convert("L")
    w, h = grey.size
    quarters = {(x, y): grey.crop((x * w // 2, y * h // 2, (x + 1) * w // 2, (y + 1) * h // 2))
                for x in (0, 1) for y in (0, 1)}
    return min(quarters, key=lambda k: ImageStat.Stat(quarters[k]).mean[0])


@pytest.mark.parametrize("compression", ["group4", "tiff_deflate", None])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_tiff_is_turned_upright_once(tmp_path, orientation, compression):
    """libtiff (G4 scans) applies the TIFF Orientation on load and drops the tag;
    it used to be applied a second time (7 of Pillow's 8 g4_orientation files)."""
    method = STORE_FOR_ORIENTATION[orientation]
    stored = marked().transpose(method) if method is not None else marked()
    src = tmp_path / f"o{orientation}.tif"
    stored.save(src, compression=compression, tiffinfo={274: orientation})
    entry = entry_of(make(src, tmp_path / "out"))
    assert entry.status is Status.CREATED, entry.error
    with Image.open(entry.output) as thumb:
        assert thumb.size == (200, 100)
        assert dark_corner(thumb) == (0, 0)


def png_chunks(data: bytes):
    pos = 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        yield pos, length, kind
        pos += 12 + length


def with_broken_idat(path: Path) -> Path:
    """A PNG whose IDAT holds a damaged zlib stream behind a correct CRC, as a
    flipped bit on disk is once a tool has rewritten the chunk."""
    data = bytearray(path.read_bytes())
    for pos, length, kind in png_chunks(bytes(data)):
        if kind == b"IDAT":
            body = bytearray(data[pos + 8:pos + 8 + length])
            body[length // 2] ^= 0x10
            body[length // 2 + 1] ^= 0xFF
            crc = zlib.crc32(b"IDAT" + body) & 0xFFFFFFFF
            data[pos + 8:pos + 12 + length] = bytes(body) + struct.pack(">I", crc)
            break
    path.write_bytes(bytes(data))
    return path


def test_a_png_with_a_broken_data_stream_fails(tmp_path):
    """PNG's getexif() loads the pixels; its error used to be swallowed there and
    the next load() returned a half-decoded image, reported as created."""
    src = with_broken_idat(photo(tmp_path / "broken.png", (300, 200)))
    with pytest.raises(OSError):
        Image.open(src).load()  # the reference cannot read it either
    entry = entry_of(make(src, tmp_path / "out"))
    assert entry.status is Status.FAILED
    assert entry.error.startswith("damaged or unsupported image data")
    assert not (tmp_path / "out").exists()


def test_fail_on_decides_what_broken_data_gives(tmp_path):
    broken = with_broken_idat(photo(tmp_path / "broken.png", (300, 200)))
    whole = photo(tmp_path / "whole.jpg", (600, 400)).read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole[:len(whole) * 2 // 3])
    made = {}
    for level in FailOn:
        for src in (broken, cut):
            made[level, src.stem] = entry_of(make(src, tmp_path / level.value,
                                                  fail_on=level)).status
    assert made == {
        (FailOn.NONE, "broken"): Status.CREATED, (FailOn.NONE, "cut"): Status.CREATED,
        (FailOn.TRUNCATED, "broken"): Status.CREATED, (FailOn.TRUNCATED, "cut"): Status.FAILED,
        (FailOn.ERROR, "broken"): Status.FAILED, (FailOn.ERROR, "cut"): Status.FAILED,
        (FailOn.WARNING, "broken"): Status.FAILED, (FailOn.WARNING, "cut"): Status.FAILED,
    }
    # What was decoded is kept: the top of the cut JPEG is the picture, not grey.
    with Image.open(tmp_path / "none" / "cut.jpg") as thumb:
        top = thumb.convert("RGB").crop((0, 0, thumb.width, thumb.height // 4))
        assert max(hi - lo for lo, hi in top.getextrema()) > 60


def jpeg_with_bad_exif(path: Path) -> Path:
    """A JPEG whose EXIF names a 12-byte tag with 2 bytes left: Pillow warns, the
    pixels are fine."""
    tiff = (b"II*\x00" + struct.pack("<IH", 8, 1) + struct.pack("<HHII", 0x010F, 2, 12, 26)
            + struct.pack("<I", 0) + b"ab")
    photo(path, (300, 200), fmt="JPEG", exif=b"Exif\x00\x00" + tiff)
    return path


def test_fail_on_warning_fails_what_pillow_warns_about(tmp_path):
    src = jpeg_with_bad_exif(tmp_path / "odd.jpg")
    assert entry_of(make(src, tmp_path / "a")).status is Status.CREATED
    entry = entry_of(make(src, tmp_path / "b", fail_on=FailOn.WARNING))
    assert entry.status is Status.FAILED
    assert entry.error.startswith("warning while reading: ")
    clean = photo(tmp_path / "clean.jpg", (300, 200))
    assert entry_of(make(clean, tmp_path / "c", fail_on=FailOn.WARNING)).status \
        is Status.CREATED


def test_a_warning_about_the_file_is_the_sources_whatever_fail_on_says(tmp_path, recwarn):
    """Caught per image always, not only for --fail-on warning: -v shows it with
    the file's name; it never reaches the terminal as Python prints warnings."""
    src = jpeg_with_bad_exif(tmp_path / "odd.jpg")
    outcome = render(make(src, tmp_path / "a"))
    assert [e.status for e in outcome.entries] == [Status.CREATED]
    assert not recwarn.list
    [first, *_] = outcome.warnings  # Pillow's words, which vary by version
    assert entry_of(make(src, tmp_path / "b", fail_on=FailOn.WARNING)).error \
        == f"warning while reading: {first} (Settings.fail_on=error lets warnings pass)"


def test_other_formats_are_refused_by_content_and_named(tmp_path):
    """Image.open tried every plugin: a PCX (or DDS, PSD) file named .gif reached it."""
    src = tmp_path / "scan.gif"
    quadrants((64, 48)).save(src, format="PCX")
    entry = entry_of(make(src, tmp_path / "out"))
    assert entry.status is Status.FAILED
    assert entry.error == ("a PCX file, not a format opened by default: "
                           "Settings.allow_formats=PCX opens it")
    assert entry_of(make(src, tmp_path / "out", allow_formats=("PCX",))).status \
        is Status.CREATED
    assert entry_of(make(src, tmp_path / "all", allow_formats=("ALL",))).status \
        is Status.CREATED
    jpeg_named_png = photo(tmp_path / "photo.png", (64, 48), fmt="JPEG")
    assert entry_of(make(jpeg_named_png, tmp_path / "out")).status is Status.CREATED


def big_icon(path: Path) -> Path:
    """A 256 px ICO whose PNG frame is 64-128 KiB: its header is then also a valid
    TGA header (Pillow's TGA reader checks no signature), as Pillow's pillow.ico is."""
    noise = random.Random(0).randbytes(256 * 100 * 3) + bytes([255, 0, 0]) * 256 * 156
    Image.frombytes("RGB", (256, 256), noise).save(path, sizes=[(256, 256)])
    assert 65536 <= path.stat().st_size < 131072
    return path


@pytest.mark.parametrize("allowed", [(), ("ICO", "TGA"), ("TGA", "ICO"), ("ALL",)])
def test_a_file_is_read_by_its_format_whatever_the_process_registered_first(
        tmp_path, monkeypatch, allowed):
    """Pillow tries plugins in the order they registered. In a process (or a
    forked worker) that imported the TGA plugin before the others, an ICO was
    read as a garbled TGA, or refused as "a TGA file"."""
    src = big_icon(tmp_path / "icon.ico")
    Image.init()
    monkeypatch.setattr(Image, "ID", ["TGA", *(n for n in Image.ID if n != "TGA")])
    with Image.open(src) as naive:
        assert naive.format == "TGA"  # the hazard: Pillow alone now misreads it
    entry = entry_of(make(src, tmp_path / "out", allow_formats=allowed))
    if not allowed:
        assert entry.error == ("a ICO file, not a format opened by default: "
                               "Settings.allow_formats=ICO opens it")
        return
    assert entry.status is Status.CREATED, entry.error
    with Image.open(entry.output) as thumb:
        rgb = thumb.convert("RGB")
        red, green, blue = rgb.getpixel((rgb.width // 2, rgb.height - 3))
        assert red > 245 and green < 10 and blue < 10
        assert ImageStat.Stat(rgb.crop((0, 0, rgb.width, rgb.height // 3))).stddev[1] > 20


def test_an_rgb_png_with_a_transparent_colour_keeps_its_transparency(tmp_path):
    """A tRNS colour key on an RGB or grey PNG: the key colour used to show in
    JPEG thumbnails (format auto took the image as opaque)."""
    im = Image.new("RGB", (64, 64), (0, 255, 52))
    ImageDraw.Draw(im).rectangle((16, 16, 47, 47), fill=(200, 30, 30))
    src = tmp_path / "keyed.png"
    im.save(src, transparency=(0, 255, 52))
    auto = entry_of(make(src, tmp_path / "auto"))
    assert auto.format == "png"
    with Image.open(auto.output) as thumb:
        assert thumb.convert("RGBA").getpixel((2, 2))[3] == 0
    jpeg = entry_of(make(src, tmp_path / "jpeg", formats=(Format.JPEG,)))
    with Image.open(jpeg.output) as thumb:
        assert all(v > 240 for v in thumb.convert("RGB").getpixel((2, 2)))  # white, not green


def test_big_endian_sixteen_bit_greys_are_read(tmp_path):
    """McIdas satellite TIFFs (I;16B) failed with "unexpected error (image has wrong mode)"."""
    src = tmp_path / "sat.tif"
    ramp = Image.linear_gradient("L").resize((300, 100)).convert("I")
    ramp.point(lambda v: v * 256).convert("I;16B").save(src)
    with Image.open(src) as im:
        assert im.mode == "I;16B"
    entry = entry_of(make(src, tmp_path / "out"))
    assert entry.status is Status.CREATED, entry.error
    with Image.open(entry.output) as thumb:
        lo, hi = thumb.convert("L").getextrema()
        assert lo < 30 and hi > 220


def test_render_never_turns_pillows_pixel_limit_off(tmp_path, monkeypatch):
    """It used to set Image.MAX_IMAGE_PIXELS to None around each open and restore
    it: two threads could interleave and leave it off for the whole process."""
    seen = []
    real_open = Image.open

    def watching_open(*args, **kwargs):
        seen.append(Image.MAX_IMAGE_PIXELS)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(Image, "open", watching_open)
    limit = Image.MAX_IMAGE_PIXELS
    good = photo(tmp_path / "good.jpg", (300, 200))
    bomb = pixel_bomb_png(tmp_path / "bomb.png")
    tasks = [make(good, tmp_path / f"g{i}") for i in range(4)] + [make(bomb, tmp_path / "b")]
    threads = [threading.Thread(target=render, args=(t,)) for t in tasks * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen and None not in seen
    assert Image.MAX_IMAGE_PIXELS == limit
    bombed = entry_of(make(bomb, tmp_path / "b2"))
    assert bombed.error == ("40000x40000 is 1,600,000,000 pixels, over the limit of "
                            "178,956,970 (Settings.max_pixels)")


def test_a_larger_pixel_limit_is_honoured_past_pillows_own(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # a caller's own, lower limit
    src = photo(tmp_path / "p.png", (100, 100))  # 10,000 pixels: over 2 x 1000
    assert entry_of(make(src, tmp_path / "a", max_pixels=20_000)).status is Status.CREATED
    refused = entry_of(make(src, tmp_path / "b", max_pixels=5_000))
    assert "over the limit of 5,000 (Settings.max_pixels)" in refused.error


def test_a_photo_opens_without_loading_pillows_other_plugins(tmp_path):
    """Registering all of Pillow's plugins costs about 50 ms per worker; the
    default decoders load theirs as needed (a fresh process, as a worker is)."""
    import subprocess
    import sys

    src = photo(tmp_path / "p.jpg", (300, 200))
    code = (
        "import sys\n"
        "from PIL import Image\n"
        "from thumbnailer.render import render\n"
        "from thumbnailer.spec import Settings, Target, Task\n"
        "opened = []\n"
        "real = Image.open\n"
        "Image.open = lambda *a, **k: opened.append(1) or real(*a, **k)\n"
        "s = Settings()\n"
        f"task = Task({str(src)!r}, (Target(s.sizes[0], {str(tmp_path / 'out' / 'p')!r}),), s)\n"
        "assert not render(task).failed\n"
        "print(len(opened), 'PIL.PsdImagePlugin' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["1", "False"]


def test_the_embedded_srgb_profile_is_the_same_bytes_in_every_process(tmp_path):
    """LittleCMS stamps a profile with the time it is made: thumbnails of ICC-tagged
    images differed between a pool's workers and -w 1 by that second."""
    from PIL import ImageCms

    src = photo(tmp_path / "tagged.jpg", (300, 200),
                icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    entry = entry_of(make(src, tmp_path / "out"))
    with Image.open(entry.output) as thumb:
        embedded = thumb.info["icc_profile"]
    assert ImageCms.ImageCmsProfile(io.BytesIO(embedded)).profile.profile_description
    # The header's dateTimeNumber (bytes 24-35): a fixed 2000-01-01 00:00:00.
    assert embedded[24:36] == struct.pack(">6H", 2000, 1, 1, 0, 0, 0)


@pytest.mark.parametrize("raised, words", [
    (ZeroDivisionError("division by zero"),
     "damaged or unsupported image data (ZeroDivisionError: division by zero)"),
    (NotImplementedError("Unimplemented DXGI format 93"),
     "a variant of its format that Pillow cannot decode (Unimplemented DXGI format 93)"),
    (SyntaxError("APNG contains frame sequence errors"),
     "damaged or unsupported image data (SyntaxError: APNG contains frame sequence errors)"),
    (OSError("broken data stream when reading image file"),
     "damaged or unsupported image data (broken data stream when reading image file)"),
    (EOFError(), "truncated image data (EOFError); Settings.fail_on=none keeps what was decoded"),
])
def test_whatever_a_reader_raises_is_worded_as_the_files_fault(tmp_path, monkeypatch,
                                                                raised, words):
    """Plugins raise anything on a damaged file; these came out as "unexpected
    error (NotImplementedError: ...)" and the like."""
    src = photo(tmp_path / "p.png", (60, 40))

    def load(self):
        raise raised

    monkeypatch.setattr(Image.Image, "load", load)
    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", load)
    assert entry_of(make(src, tmp_path / "out")).error == words
