import ctypes
import io
import os
import random
from pathlib import Path

import pytest
from helpers import (
    oriented,
    photo,
    pixel_bomb_png,
    quadrants,
    swapped_primaries_profile,
    temp_leftovers,
)
from PIL import Image, ImageChops, ImageCms, ImageDraw, ImageStat, features

from thumbnailer.formats import extension, writable_formats
from thumbnailer.geometry import fit_geometry
from thumbnailer.render import render
from thumbnailer.spec import Crop, FailOn, Fit, Format, Settings, Size, Status, Target, Task


def task_for(source, out, settings=None, sizes=None):
    settings = settings or Settings()
    sizes = sizes or settings.sizes
    targets = tuple(Target(s, str(out / f"{source.stem}_{s.label}"), f)
                    for s in sizes for f in settings.formats)
    return Task(str(source), targets, settings)


def only_entry(outcome):
    [entry] = outcome.entries
    return entry


# --- the image pipeline ---------------------------------------------------------

def test_a_large_jpeg_is_shrunk_on_load_not_fully_decoded(tmp_path, monkeypatch):
    src = photo(tmp_path / "big.jpg", (4000, 3000))
    decoded = []
    original = Image.Image.resize

    def spy(self, size, *args, **kwargs):
        decoded.append(self.size)
        return original(self, size, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "resize", spy)
    entry = only_entry(render(task_for(src, tmp_path / "out")))
    assert (entry.width, entry.height) == (256, 192)
    assert decoded and all(w * h <= 4000 * 3000 // 16 for w, h in decoded)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_gives_the_same_upright_thumbnail(tmp_path, orientation):
    upright = quadrants((400, 300))
    src = oriented(tmp_path / f"o{orientation}.png", upright, orientation)
    entry = only_entry(render(task_for(src, tmp_path / "out")))
    with Image.open(entry.output) as thumb:
        assert thumb.size == (256, 192)
        assert "exif" not in thumb.info or thumb.getexif().get(0x0112) in (None, 1)
        assert_quadrants(thumb)


def assert_quadrants(thumb):
    """Red top left, green top right, blue bottom left, yellow bottom right."""
    w, h = thumb.size
    expected = {(w // 4, h // 4): (255, 0, 0), (3 * w // 4, h // 4): (0, 255, 0),
                (w // 4, 3 * h // 4): (0, 0, 255), (3 * w // 4, 3 * h // 4): (255, 255, 0)}
    rgb = thumb.convert("RGB")
    for xy, colour in expected.items():
        assert all(abs(a - b) < 40 for a, b in zip(rgb.getpixel(xy), colour, strict=True)), xy


@pytest.mark.parametrize("orientation", [5, 6, 7, 8])
def test_orientation_is_applied_to_jpegs_through_the_shrink(tmp_path, orientation):
    src = oriented(tmp_path / "o.jpg", quadrants((1600, 1200)), orientation, quality=95)
    entry = only_entry(render(task_for(src, tmp_path / "out")))
    with Image.open(entry.output) as thumb:
        assert thumb.size == (256, 192)
        assert_quadrants(thumb)


def test_bogus_orientation_values_count_as_upright(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 42
    src = tmp_path / "odd.jpg"
    quadrants().save(src, exif=exif.tobytes())
    assert only_entry(render(task_for(src, tmp_path / "out"))).width == 256


def test_transparent_png_to_jpeg_gets_the_background_colour(tmp_path):
    src = tmp_path / "t.png"
    Image.new("RGBA", (100, 100), (255, 0, 0, 0)).save(src)
    s = Settings(formats=(Format.JPEG,), background=(0, 128, 255, 255))
    entry = only_entry(render(task_for(src, tmp_path / "out", s)))
    with Image.open(entry.output) as thumb:
        assert thumb.format == "JPEG"
        r, g, b = thumb.getpixel((50, 50))
        assert abs(r - 0) < 6 and abs(g - 128) < 6 and abs(b - 255) < 6


def test_default_background_is_white_never_black(tmp_path):
    src = tmp_path / "t.png"
    Image.new("LA", (100, 100), (0, 0)).save(src)
    entry = only_entry(render(task_for(src, tmp_path / "out", Settings(formats=(Format.JPEG,)))))
    with Image.open(entry.output) as thumb:
        assert min(thumb.convert("L").getextrema()) > 245


def test_auto_keeps_real_transparency_as_png_and_opaque_alpha_as_jpeg(tmp_path):
    Image.new("RGBA", (60, 60), (255, 0, 0, 120)).save(tmp_path / "see_through.png")
    Image.new("RGBA", (60, 60), (255, 0, 0, 255)).save(tmp_path / "solid.png")
    see = only_entry(render(task_for(tmp_path / "see_through.png", tmp_path / "out")))
    solid = only_entry(render(task_for(tmp_path / "solid.png", tmp_path / "out")))
    assert (see.format, solid.format) == ("png", "jpeg")
    with Image.open(see.output) as thumb:
        assert thumb.mode == "RGBA" and thumb.getpixel((5, 5))[3] == 120


def test_cmyk_comes_out_as_srgb(tmp_path):
    src = tmp_path / "print.jpg"
    Image.new("CMYK", (200, 200), (0, 255, 255, 0)).save(src, quality=95)  # pure red ink
    entry = only_entry(render(task_for(src, tmp_path / "out")))
    with Image.open(entry.output) as thumb:
        assert thumb.mode == "RGB"
        r, g, b = thumb.getpixel((50, 50))
        assert r > 230 and g < 30 and b < 30


def test_an_icc_profile_is_applied_and_the_result_is_tagged_srgb(tmp_path):
    src = tmp_path / "tagged.png"
    Image.new("RGB", (120, 120), (255, 0, 0)).save(src, icc_profile=swapped_primaries_profile())
    entry = only_entry(render(task_for(src, tmp_path / "out", Settings(formats=(Format.PNG,)))))
    with Image.open(entry.output) as thumb:
        r, g, _ = thumb.getpixel((10, 10))
        assert g > 200 and r < 60  # the profile said this "red" is really green
        profile = ImageCms.ImageCmsProfile(io.BytesIO(thumb.info["icc_profile"]))
        assert "sRGB" in ImageCms.getProfileDescription(profile)


def test_a_broken_icc_profile_does_not_cost_the_picture(tmp_path):
    src = tmp_path / "broken.png"
    Image.new("RGB", (50, 50), (255, 0, 0)).save(src, icc_profile=b"\0" * 300)
    entry = only_entry(render(task_for(src, tmp_path / "out")))
    assert entry.status is Status.CREATED


@pytest.mark.parametrize("mode", ["P", "1"])
def test_palette_and_one_bit_images_resample_smoothly(tmp_path, mode):
    checker = Image.new("L", (400, 400))
    checker.putdata([255 * ((x // 2 + y // 2) % 2) for y in range(400) for x in range(400)])
    src = tmp_path / f"checker_{mode}.png"
    checker.convert(mode).save(src)
    entry = only_entry(render(task_for(src, tmp_path / "out", Settings(formats=(Format.PNG,)),
                                       [Size(100, 100)])))
    with Image.open(entry.output) as thumb:
        grey = thumb.convert("L")
        lo, hi = grey.getextrema()
        # A fine checker averages to mid grey; nearest-neighbour would keep black and white.
        assert 90 < lo and hi < 165


def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path):
    src = tmp_path / "deep.png"
    Image.new("I;16", (100, 100), 32768).save(src)
    entry = only_entry(render(task_for(src, tmp_path / "out")))
    with Image.open(entry.output) as thumb:
        assert 120 < thumb.convert("L").getpixel((5, 5)) < 136


@pytest.mark.parametrize("fmt", [Format.JPEG, Format.PNG, Format.WEBP])
@pytest.mark.parametrize("mode", ["RGBX", "LA", "L", "I", "CMYK", "RGBA", "PA", "1"])
def test_every_mode_reaches_every_encoder_in_a_mode_it_takes(tmp_path, mode, fmt):
    src = tmp_path / f"m_{mode}.tiff"
    Image.new("RGB", (60, 40), (200, 100, 50)).convert(mode).save(src)
    entry = only_entry(render(task_for(src, tmp_path / "out", Settings(formats=(fmt,)))))
    assert entry.status is Status.CREATED, entry.error
    with Image.open(entry.output) as thumb:
        assert thumb.size == (60, 40)


def test_first_frame_of_an_animation(tmp_path):
    src = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (80, 80), c) for c in [(255, 0, 0), (0, 0, 255)]]
    frames[0].save(src, save_all=True, append_images=frames[1:])
    entry = only_entry(render(task_for(src, tmp_path / "out")))
    with Image.open(entry.output) as thumb:
        assert thumb.getpixel((10, 10))[0] > 200


def test_several_sizes_from_one_open(tmp_path, monkeypatch):
    src = photo(tmp_path / "p.jpg", (2000, 1500))
    opened = []
    original = Image.open
    monkeypatch.setattr(Image, "open", lambda *a, **k: opened.append(a) or original(*a, **k))
    outcome = render(task_for(src, tmp_path / "out",
                              sizes=[Size(1024, 1024), Size(512, 512), Size(128, None)]))
    assert [(e.width, e.height) for e in outcome.entries] == [(1024, 768), (512, 384), (128, 96)]
    assert len(opened) == 1


def test_sizes_derived_from_a_larger_one_look_like_the_picture_made_directly(tmp_path):
    """512 and 128 are made from the 1024 (render._resize_all): each must be close
    to a LANCZOS of the full decode, not a blurred or shifted copy of it."""
    src = photo(tmp_path / "p.jpg", (2000, 1500), quality=95)
    outcome = render(task_for(src, tmp_path / "out", Settings(formats=(Format.PNG,)),
                              sizes=[Size(1024, 1024), Size(512, 512), Size(128, 128)]))
    with Image.open(src) as im:
        full = im.convert("RGB")
    for entry in outcome.entries:
        with Image.open(entry.output) as thumb:
            direct = full.resize(thumb.size, Image.Resampling.LANCZOS)
            difference = ImageChops.difference(thumb.convert("RGB"), direct)
            assert max(ImageStat.Stat(difference).mean) < 1.5, entry.size
            shifted = ImageChops.difference(thumb.convert("RGB"), direct.transform(
                direct.size, Image.Transform.AFFINE, (1, 0, 2, 0, 1, 0)))
            assert max(ImageStat.Stat(shifted).mean) > max(ImageStat.Stat(difference).mean)


@pytest.mark.parametrize("fmt", [Format.JPEG, Format.PNG, Format.WEBP, Format.AVIF])
def test_each_writable_format_writes_what_it_says(tmp_path, fmt):
    if fmt not in writable_formats():
        pytest.skip(f"this Pillow cannot write {fmt.value}")  # an honest gap, not a pass
    src = photo(tmp_path / "p.jpg", (300, 200))
    entry = only_entry(render(task_for(src, tmp_path / "out", Settings(formats=(fmt,)))))
    assert entry.output.endswith("." + extension(fmt))
    with Image.open(entry.output) as thumb:
        assert thumb.format == {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP",
                                "avif": "AVIF"}[fmt.value]
        assert thumb.size == (256, 171)
    assert entry.bytes == os.path.getsize(entry.output)


def test_metadata_is_stripped_unless_kept_and_then_orientation_is_reset(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "CameraMaker"
    src = tmp_path / "cam.jpg"
    quadrants().save(src, exif=exif.tobytes())
    plain = only_entry(render(task_for(src, tmp_path / "plain")))
    kept = only_entry(render(task_for(src, tmp_path / "kept", Settings(keep_metadata=True))))
    with Image.open(plain.output) as thumb:
        assert dict(thumb.getexif()) == {}
    with Image.open(kept.output) as thumb:
        assert thumb.getexif()[0x010F] == "CameraMaker"
        assert thumb.getexif()[0x0112] == 1
        assert thumb.size == (192, 256)


def test_the_same_input_gives_the_same_bytes(tmp_path):
    src = photo(tmp_path / "p.jpg", (800, 600))
    one = only_entry(render(task_for(src, tmp_path / "one")))
    two = only_entry(render(task_for(src, tmp_path / "two")))
    assert Path(one.output).read_bytes() == Path(two.output).read_bytes()


# --- bad input: one clear reason, nothing written, source untouched ---------------

def truncated_jpeg(path):
    photo(path, (800, 600))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def text_as_jpeg(path):
    path.write_text("just some notes, not a picture\n")


def empty(path):
    path.write_bytes(b"")


def bomb(path):
    pixel_bomb_png(path)


@pytest.mark.parametrize("make, name, reason", [
    (empty, "zero.jpg", "empty file"),
    (truncated_jpeg, "half.jpg", "truncated"),
    (text_as_jpeg, "notes.jpg", "not an image"),
    (bomb, "bomb.png", "over the limit of 178,956,970"),
])
def test_bad_input_gives_one_clear_reason(tmp_path, make, name, reason):
    src = tmp_path / name
    make(src)
    before = src.read_bytes()
    outcome = render(task_for(src, tmp_path / "out", sizes=[Size(64, 64), Size(32, 32)]))
    assert outcome.failed and reason in outcome.error
    assert "\n" not in outcome.error
    assert all(e.status is Status.FAILED and e.output is None for e in outcome.entries)
    assert not (tmp_path / "out").exists() or os.listdir(tmp_path / "out") == []
    assert src.read_bytes() == before


def test_the_pixel_limit_is_exact_and_configurable(tmp_path):
    src = photo(tmp_path / "p.png", (100, 100))
    assert render(task_for(src, tmp_path / "o", Settings(max_pixels=10_000))).error is None
    refused = render(task_for(src, tmp_path / "o", Settings(max_pixels=9_999)))
    assert "100x100 is 10,000 pixels, over the limit of 9,999" in refused.error


def test_a_vanished_source_is_a_failure_not_a_crash(tmp_path):
    outcome = render(task_for(tmp_path / "gone.jpg", tmp_path / "out"))
    assert outcome.failed


def test_a_write_failure_is_reported_and_leaves_no_temporary(tmp_path):
    src = photo(tmp_path / "p.jpg", (100, 100))
    out = tmp_path / "out"
    out.mkdir()
    (out / "p_64.jpg").mkdir()  # a folder where the thumbnail should go
    outcome = render(task_for(src, out, sizes=[Size(64, 64), Size(32, 32)]))
    first, second = outcome.entries
    assert first.status is Status.FAILED and "cannot write" in first.error
    assert second.status is Status.CREATED
    assert outcome.failed
    assert temp_leftovers(tmp_path) == []


# --- what the libraries say: the source's, never the terminal's ----------------------------

def c_stderr(text: bytes) -> None:
    """What libtiff or libjpeg does: write(2, ...) from C, past Python's sys.stderr."""
    libc = ctypes.CDLL(None)
    assert libc.write(2, text, len(text)) == len(text)


@pytest.fixture
def noisy_decoder(monkeypatch):
    """The reader writes a libtiff message to descriptor 2 from C before reading."""
    import thumbnailer.render

    original = thumbnailer.render.read

    def read(*args, **kwargs):
        c_stderr(b"tempfile.tif: Unknown field with tag 50741 (0xc635) encountered.\n")
        return original(*args, **kwargs)

    monkeypatch.setattr(thumbnailer.render, "read", read)


def test_what_a_decoder_writes_to_stderr_is_said_by_the_source(tmp_path, noisy_decoder, capfd):
    src = photo(tmp_path / "scan.jpg", (100, 100))
    before = os.fstat(2).st_ino
    outcome = render(task_for(src, tmp_path / "out"))
    assert only_entry(outcome).status is Status.CREATED
    # libtiff's name for Pillow's in-memory file is not the file's: left out.
    assert outcome.warnings == ("Unknown field with tag 50741 (0xc635) encountered.",)
    assert os.fstat(2).st_ino == before
    assert "Unknown field" not in capfd.readouterr().err


def test_fail_on_warning_fails_a_source_that_only_wrote_to_c_stderr(tmp_path, noisy_decoder):
    src = photo(tmp_path / "scan.jpg", (100, 100))
    outcome = render(task_for(src, tmp_path / "out", Settings(fail_on=FailOn.WARNING)))
    assert outcome.error == ("warning while reading: Unknown field with tag 50741 (0xc635) "
                             "encountered. (Settings.fail_on=error lets warnings pass)")
    assert not (tmp_path / "out").exists()


def test_a_source_that_fails_keeps_what_its_decoder_said(tmp_path, monkeypatch):
    import thumbnailer.render

    def read(*args, **kwargs):
        c_stderr(b"More samples per pixel than can be decoded: 65535\n")
        raise OSError("decoder error -2")

    monkeypatch.setattr(thumbnailer.render, "read", read)
    outcome = render(task_for(photo(tmp_path / "p.tif", (50, 50)), tmp_path / "out"))
    assert outcome.failed
    assert outcome.warnings == ("More samples per pixel than can be decoded: 65535",)


def test_a_clean_source_says_nothing(tmp_path):
    outcome = render(task_for(photo(tmp_path / "p.jpg", (100, 100)), tmp_path / "out"))
    assert outcome.warnings == ()


# --- several formats from one decode ---------------------------------------------------------

def test_every_size_in_every_format_from_one_decode(tmp_path, monkeypatch):
    from PIL import Image as PILImage

    src = photo(tmp_path / "p.jpg", (1200, 900))
    opened = []
    real_open = PILImage.open
    monkeypatch.setattr(PILImage, "open", lambda *a, **k: opened.append(a) or real_open(*a, **k))
    s = Settings(sizes=(Size(320, 320), Size(64, 64)), formats=(Format.WEBP, Format.JPEG))
    outcome = render(task_for(src, tmp_path / "out", s))
    assert len(opened) == 1
    got = {(e.size, e.format): (e.width, e.height) for e in outcome.entries}
    assert got == {("320", "webp"): (320, 240), ("320", "jpeg"): (320, 240),
                   ("64", "webp"): (64, 48), ("64", "jpeg"): (64, 48)}
    for e in outcome.entries:
        with Image.open(e.output) as thumb:
            assert thumb.format == {"webp": "WEBP", "jpeg": "JPEG"}[e.format]
            assert thumb.size == (e.width, e.height)


def test_auto_next_to_webp_keeps_transparency_in_both(tmp_path):
    src = tmp_path / "logo.png"
    im = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    im.paste((255, 0, 0, 255), (50, 25, 150, 75))
    im.save(src)
    s = Settings(sizes=(Size(50, 50),), formats=(Format.AUTO, Format.WEBP))
    outcome = render(task_for(src, tmp_path / "out", s))
    assert sorted(e.format for e in outcome.entries) == ["png", "webp"]
    for e in outcome.entries:
        with Image.open(e.output) as thumb:
            assert thumb.mode == "RGBA" and thumb.getpixel((0, 0))[3] == 0


# --- byte-stable output ----------------------------------------------------------------------

@pytest.mark.parametrize("fmt", [f for f in (Format.JPEG, Format.PNG, Format.WEBP, Format.AVIF,
                                           Format.JXL) if f in writable_formats()])
def test_a_size_made_alone_has_the_same_bytes_as_made_with_the_others(tmp_path, fmt):
    # A rerun may find only the smallest size missing: it must come out byte for byte
    # as it did when the larger sizes it derives from were made with it.
    src = oriented(tmp_path / "p.jpg", Image.open(photo(tmp_path / "u.png", (1800, 2400))), 6)
    s = Settings(sizes=(Size(1024, 1024), Size(512, 512), Size(128, 128)), formats=(fmt,))
    together = render(task_for(src, tmp_path / "all", s))
    alone = render(task_for(src, tmp_path / "one", s, sizes=(Size(128, 128),)))
    by_size = {e.size: Path(e.output).read_bytes() for e in together.entries}
    assert Path(only_entry(alone).output).read_bytes() == by_size["128"]
    again = render(task_for(src, tmp_path / "again", s))
    assert [Path(e.output).read_bytes() for e in again.entries] == [
        Path(e.output).read_bytes() for e in together.entries]


# --- crop: where cover's window goes ---------------------------------------------------------

def subject_on_the_right(path, size=(900, 300)):
    """Flat grey, with a detailed, colourful subject in the right third."""
    w, h = size
    im = Image.new("RGB", size, (128, 128, 128))
    rng = random.Random(7)
    draw = ImageDraw.Draw(im)
    for _ in range(200):
        x, y = rng.randrange(w - w // 3 + 20, w), rng.randrange(h)
        r = rng.randrange(4, 20)
        draw.ellipse((x - r, y - r, x + r, y + r),
                     fill=tuple(rng.randrange(256) for _ in range(3)))
    im.save(path)
    return path


@pytest.mark.parametrize("crop", [Crop.ENTROPY, Crop.ATTENTION])
def test_crop_follows_an_off_centre_subject(tmp_path, crop):
    src = subject_on_the_right(tmp_path / "s.png")
    out = tmp_path / "out"
    centred = only_entry(render(task_for(src, out / "c", Settings(sizes=(Size(100, 100),),
                                                                 fit=Fit.COVER))))
    placed = only_entry(render(task_for(src, out / "p", Settings(sizes=(Size(100, 100),),
                                                                fit=Fit.COVER, crop=crop))))
    with Image.open(centred.output) as c, Image.open(placed.output) as p:
        assert c.size == p.size == (100, 100)
        # The centre window is the flat grey; the placed one shows the subject.
        assert spread(c) < 10
        assert spread(p) > 100


def test_crop_works_in_the_upright_frame_of_a_rotated_photo(tmp_path):
    # Stored sideways (orientation 6): the subject at the upright right is at the stored bottom.
    upright = Image.open(subject_on_the_right(tmp_path / "u.png"))
    src = oriented(tmp_path / "r.jpg", upright, 6, quality=95)
    entry = only_entry(render(task_for(src, tmp_path / "out", Settings(
        sizes=(Size(100, 100),), fit=Fit.COVER, crop=Crop.ENTROPY))))
    with Image.open(entry.output) as p:
        assert p.size == (100, 100) and spread(p) > 100


def spread(im):
    lo, hi = im.convert("L").getextrema()
    return hi - lo


# --- HEIC/HEIF and AVIF input ----------------------------------------------------------------

def heic(path, upright, **save):
    import pillow_heif

    pillow_heif.from_pillow(upright).save(str(path), quality=90, **save)
    return path


def test_heic_is_read_through_the_heif_extra(tmp_path):
    src = heic(tmp_path / "IMG_0001.HEIC", quadrants((800, 600)))
    entry = only_entry(render(task_for(src, tmp_path / "out", Settings(sizes=(Size(200, 200),)))))
    assert entry.status is Status.CREATED
    with Image.open(entry.output) as thumb:
        assert thumb.size == (200, 150)
        r, g, b = thumb.convert("RGB").getpixel((20, 20))
        assert r > 200 and g < 60 and b < 60  # red top left: upright


def test_heic_without_the_extra_names_it(tmp_path):
    # A fresh interpreter where pillow_heif cannot be imported, as after a plain install.
    import subprocess
    import sys

    src = heic(tmp_path / "IMG_0002.heic", quadrants((80, 60)))
    code = ("import sys; sys.modules['pillow_heif'] = None; "
            "from thumbnailer.cli import main; main()")
    proc = subprocess.run([sys.executable, "-c", code, str(src), "-o", str(tmp_path / "out"),
                           "-w", "1"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[0] == (
        f"{src}: HEIC/HEIF image: reading it needs the optional extra, "
        "pip install 'thumbnailer[heif]'")


def test_avif_input_is_read_by_pillow_itself_or_the_upgrade_is_named(tmp_path):
    src = tmp_path / "a.avif"
    settings = Settings(sizes=(Size(100, 100),))
    if features.check("avif"):  # Pillow >= 11.3 wheels
        quadrants((400, 300)).save(src, quality=90)
        entry = only_entry(render(task_for(src, tmp_path / "out", settings)))
        with Image.open(entry.output) as thumb:
            assert thumb.size == (100, 75)
    else:  # an older Pillow: the header says AVIF, the message says what to do
        src.write_bytes(b"\0\0\0\x1cftypavif" + bytes(64))
        entry = only_entry(render(task_for(src, tmp_path / "out", settings)))
        assert entry.error.startswith("AVIF image, and this Pillow cannot read AVIF")


def test_heic_files_are_found_on_the_walk(tmp_path):
    from thumbnailer.plan.sources import Selection, walk

    for name in ("a.HEIC", "b.heif", "c.hif", "d.avif"):
        (tmp_path / name).write_bytes(b"x")
    assert [s.rel for s in walk([str(tmp_path)], Selection())] == [
        "a.HEIC", "b.heif", "c.hif", "d.avif"]


def test_a_rotated_heic_comes_out_upright_once(tmp_path):
    # Phones store HEIC sideways with orientation 6; pillow-heif applies it on decode and
    # resets the EXIF tag, so render must not rotate a second time.
    stored = quadrants((400, 300)).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    src = heic(tmp_path / "o6.heic", stored, exif=exif.tobytes())
    entry = only_entry(render(task_for(src, tmp_path / "out", Settings(sizes=(Size(100, 100),)))))
    with Image.open(entry.output) as thumb:
        assert thumb.size == (100, 75)
        r, g, b = thumb.convert("RGB").getpixel((5, 5))
        assert r > 200 and g < 60 and b < 60


# --- animation -------------------------------------------------------------------------------

FRAME_COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255)]


def animated_gif(path, colours=FRAME_COLOURS, size=(200, 150), durations=None):
    frames = []
    for colour in colours:
        frame = Image.new("RGB", size, colour)
        ImageDraw.Draw(frame).rectangle((10, 10, 60, 60), fill=(255, 255, 255))
        frames.append(frame)
    durations = durations or [100 + 10 * i for i in range(len(colours))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, loop=3)
    return path


def frames_of(path):
    with Image.open(path) as im:
        out = []
        for k in range(getattr(im, "n_frames", 1)):
            im.seek(k)
            out.append((im.convert("RGB").getpixel((im.width - 5, im.height - 5)),
                        im.info.get("duration")))
        return out, im.info.get("loop"), im.size


@pytest.mark.parametrize("fmt, ext", [(Format.AUTO, "gif"), (Format.GIF, "gif"),
                                      (Format.WEBP, "webp")])
def test_animated_keeps_every_frame_its_timing_and_loop(tmp_path, fmt, ext):
    src = animated_gif(tmp_path / "a.gif")
    s = Settings(sizes=(Size(100, 100),), formats=(fmt,), animated=True)
    entry = only_entry(render(task_for(src, tmp_path / "out", s)))
    assert entry.output.endswith("." + ext) and entry.format == ext
    frames, loop, size = frames_of(entry.output)
    assert size == (100, 75) == (entry.width, entry.height)
    assert len(frames) == 5 and loop == 3
    for (pixel, duration), colour, expected in zip(frames, FRAME_COLOURS,
                                                   [100, 110, 120, 130, 140], strict=True):
        assert all(abs(a - b) < 40 for a, b in zip(pixel, colour, strict=True))
        assert duration == expected


def test_max_frames_caps_the_animation(tmp_path):
    src = animated_gif(tmp_path / "a.gif")
    s = Settings(sizes=(Size(50, 50),), formats=(Format.GIF,), animated=True, max_frames=2)
    frames, _, _ = frames_of(only_entry(render(task_for(src, tmp_path / "out", s))).output)
    assert len(frames) == 2


def test_without_animated_or_for_a_still_format_the_first_frame(tmp_path):
    src = animated_gif(tmp_path / "a.gif")
    for s in (Settings(sizes=(Size(50, 50),), formats=(Format.GIF,)),
              Settings(sizes=(Size(50, 50),), formats=(Format.JPEG,), animated=True)):
        entry = only_entry(render(task_for(src, tmp_path / "out" / entry_dir(s), s)))
        frames, _, _ = frames_of(entry.output)
        assert len(frames) == 1
        assert all(abs(a - b) < 40 for a, b in zip(frames[0][0], (255, 0, 0), strict=True))


def entry_dir(s):
    return f"{s.formats[0].value}-{s.animated}"


def test_an_animated_webp_source_keeps_its_alpha(tmp_path):
    src = tmp_path / "a.webp"
    frames = [Image.new("RGBA", (120, 120), (0, 0, 0, 0)) for _ in range(3)]
    for k, frame in enumerate(frames):
        ImageDraw.Draw(frame).ellipse((10 + 20 * k, 10, 60 + 20 * k, 60), fill=(255, 0, 0, 255))
    frames[0].save(src, save_all=True, append_images=frames[1:], duration=80, lossless=True)
    s = Settings(sizes=(Size(60, 60),), formats=(Format.WEBP,), animated=True)
    entry = only_entry(render(task_for(src, tmp_path / "out", s)))
    with Image.open(entry.output) as im:
        assert im.n_frames == 3
        assert im.convert("RGBA").getpixel((37, 17))[3] == 0
        im.seek(2)
        rgba = im.convert("RGBA")
        assert rgba.getpixel((2, 58))[3] == 0  # corner stays transparent
        assert rgba.getpixel((37, 17))[3] == 255  # the disc has moved right


def test_animated_with_auto_and_gif_is_refused():
    with pytest.raises(ValueError, match="already writes animations as GIF"):
        Settings(formats=(Format.AUTO, Format.GIF), animated=True)


@pytest.mark.parametrize("size", [(540, 400), (560, 400), (800, 600), (1001, 755), (400, 540)])
@pytest.mark.parametrize("fit", [Fit.CONTAIN, Fit.COVER, Fit.PAD])
def test_sizes_decoded_at_three_eighths_come_out_whole(tmp_path, size, fit):
    """160 px of these is made from a 3/8-scale decode (read/draft.py): the crop box,
    scaled back, must land inside the smaller decode on both sides."""
    source = photo(tmp_path / "p.jpg", size)
    settings = Settings(sizes=(Size(160, 160),), fit=fit)
    entry = only_entry(render(task_for(source, tmp_path / "out", settings)))
    assert entry.status is Status.CREATED, entry.error
    with Image.open(entry.output) as im, Image.open(source) as original:
        g = fit_geometry(size, Size(160, 160), fit)
        assert im.size == (g.canvas or g.resize)
        reference = original.resize(g.resize, Image.Resampling.LANCZOS, box=g.crop)
        if g.canvas is None:
            diff = [abs(a - b) for a, b in zip(im.convert("RGB").getpixel((50, 50)),
                                               reference.getpixel((50, 50)), strict=True)]
            assert max(diff) < 24


def test_a_targets_text_chunks_and_privacy_are_written_as_asked(tmp_path):
    """What the desktop cache needs reaches render on the target (render knows no
    xdg): literal chunks, chunks of the upright image's facts, a private file."""
    src = oriented(tmp_path / "turned.jpg", quadrants((400, 300)), 6)  # stored 300x400
    s = Settings(formats=(Format.PNG,))
    target = Target(Size(128, 128), str(tmp_path / "cache" / "t"), Format.PNG,
                    text=(("Thumb::URI", "file:///x"),),
                    image_text=(("Thumb::Image::Width", "width"),
                                ("Thumb::Image::Height", "height"),
                                ("Thumb::Mimetype", "mimetype")),
                    private=True)
    [entry] = render(Task(str(src), (target,), s)).entries
    with Image.open(entry.output) as thumb:
        assert thumb.text == {"Thumb::URI": "file:///x", "Thumb::Image::Width": "400",
                              "Thumb::Image::Height": "300", "Thumb::Mimetype": "image/jpeg"}
    assert os.stat(entry.output).st_mode & 0o777 == 0o600
    assert os.stat(tmp_path / "cache").st_mode & 0o777 == 0o700
    plain = render(task_for(src, tmp_path / "plain", s)).entries[0]
    with Image.open(plain.output) as thumb:
        assert thumb.text == {}
