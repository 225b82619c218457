import pytest
from helpers import photo, with_exif_thumbnail
from PIL import Image, ImageChops, ImageStat

from thumbnailer import plan as plan_module
from thumbnailer.geometry import DRAFT_GAPS as GAPS
from thumbnailer.read import draft as draft_module
from thumbnailer.read import heif
from thumbnailer.read import image as image_reader
from thumbnailer.read.draft import draft
from thumbnailer.read.errors import StalePreview


def _difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel, 0-255."""
    means = ImageStat.Stat(ImageChops.difference(a, b)).mean
    return sum(means) / len(means)


@pytest.mark.parametrize(("need", "size", "factor"), [
    ((100, 75), (200, 150), 4.0),     # 1/8 would leave no room for LANCZOS
    ((60, 45), (100, 75), 8.0),       # 1/8 with its 1.5 gap
    ((150, 110), (200, 150), 4.0),    # 1/4 with a 1.2 gap
    ((240, 180), (300, 225), 8 / 3),  # between 1/4 and 1/2: 3/8
    ((320, 240), (400, 300), 2.0),    # 3/8 too small with its gap: 1/2
    ((500, 375), (800, 600), 1.0),    # nothing to gain: full size
])
def test_the_smallest_scale_that_keeps_the_gap_is_chosen(tmp_path, need, size, factor):
    with Image.open(photo(tmp_path / "p.jpg", (800, 600))) as im:
        assert draft(im, need) == pytest.approx(factor)
        im.load()
        assert im.size == size
        if factor > 1:
            assert min(size[0] / need[0], size[1] / need[1]) >= GAPS[round(8 / factor)]


@pytest.mark.parametrize("size", [(800, 600), (801, 603), (1003, 757)])
def test_a_three_eighths_decode_is_the_picture_at_three_eighths(tmp_path, size):
    path = photo(tmp_path / "p.jpg", size, quality=95)
    with Image.open(path) as im:
        factor = draft(im, (size[0] * 0.3, size[1] * 0.3))
        im.load()
        drafted = im.copy()
    expected = (-(-3 * size[0] // 8), -(-3 * size[1] // 8))
    assert factor == pytest.approx(8 / 3)
    assert drafted.size == expected
    with Image.open(path) as im:
        reference = im.convert("RGB").resize(expected, Image.Resampling.LANCZOS)
    assert _difference(drafted, reference) < 2.0
    # and not some other picture: a mirrored one is far off
    assert _difference(drafted.transpose(Image.Transpose.FLIP_LEFT_RIGHT), reference) > 10


def test_without_libjpeg_turbo_three_eighths_is_never_asked_for(tmp_path, monkeypatch):
    monkeypatch.setattr(draft_module, "_libjpeg_turbo", lambda: False)
    with Image.open(photo(tmp_path / "p.jpg", (800, 600))) as im:
        assert draft(im, (240, 180)) == 2.0
        im.load()
        assert im.size == (400, 300)


def test_other_formats_are_not_drafted(tmp_path):
    with Image.open(photo(tmp_path / "p.png", (800, 600))) as im:
        assert draft(im, (100, 75)) == 1.0
        im.load()
        assert im.size == (800, 600)


def test_a_progressive_jpeg_decodes_at_three_eighths_too(tmp_path):
    path = photo(tmp_path / "p.jpg", (800, 600), progressive=True, quality=95)
    with Image.open(path) as im:
        draft(im, (240, 180))
        im.load()
        drafted = im.copy()
    with Image.open(path) as im:
        reference = im.convert("RGB").resize((300, 225), Image.Resampling.LANCZOS)
    assert _difference(drafted, reference) < 2.0


@pytest.mark.parametrize(("mode", "save"), [
    ("L", {}),
    ("CMYK", {}),
    ("RGB", {"subsampling": 0}),  # 4:4:4
    ("RGB", {"subsampling": 1}),  # 4:2:2
    ("RGB", {"subsampling": 2}),  # 4:2:0
])
def test_every_kind_of_jpeg_decodes_at_three_eighths(tmp_path, mode, save):
    src = photo(tmp_path / "rgb.png", (801, 603))
    with Image.open(src) as im:
        path = tmp_path / "p.jpg"
        im.convert(mode).save(path, quality=95, **save)
    with Image.open(path) as im:
        assert draft(im, (240, 180)) == pytest.approx(8 / 3)
        im.load()
        drafted = im.copy()
    with Image.open(path) as im:
        reference = im.resize(drafted.size, Image.Resampling.LANCZOS)
    assert drafted.mode == reference.mode == mode
    assert _difference(drafted, reference) < 2.5


# --- HEIF previews ---------------------------------------------------------------------------

def heic(path, picture, **save):
    """A HEIC as a phone writes it: pillow-heif, with previews of the given sizes."""
    import pillow_heif

    pillow_heif.from_pillow(picture).save(str(path), quality=90, **save)
    return path


def _thumb(src, out, side, **settings):
    from thumbnailer.render import render
    from thumbnailer.spec import Settings, Size, Target, Task

    s = Settings(output=str(out), sizes=(Size(side, side),), **settings)
    outcome = render(Task(str(src), (Target(Size(side, side), str(out / src.stem)),), s))
    assert outcome.error is None, outcome.error
    return outcome.entries[0]


@pytest.fixture(scope="module")
def heic_bytes(tmp_path_factory):
    """The two HEICs of ``pictures``, encoded once for the module (about 2 s)."""
    folder = tmp_path_factory.mktemp("heic")
    picture = Image.open(photo(folder / "p.png", (1200, 800))).convert("RGB")
    return (heic(folder / "with.heic", picture, thumbnails=[512]).read_bytes(),
            heic(folder / "without.heic", picture, thumbnails=[]).read_bytes())


@pytest.fixture
def pictures(tmp_path, heic_bytes):
    """The same 1200 x 800 photo as a HEIC with a 512 px preview, and without:
    files of this test's own, which it may move."""
    paths = (tmp_path / "with.heic", tmp_path / "without.heic")
    for path, data in zip(paths, heic_bytes, strict=True):
        path.write_bytes(data)
    return paths


def test_a_heic_preview_serves_small_thumbnails_and_looks_like_the_image(pictures, tmp_path):
    """Differential: the thumbnail made from the preview against the one made
    from the full image (the same file without a preview)."""
    with_preview, without = pictures
    served = _thumb(with_preview, tmp_path / "a", 256)
    full = _thumb(without, tmp_path / "b", 256)
    assert served.preview and not full.preview
    assert (served.width, served.height) == (full.width, full.height) == (256, 171)
    with Image.open(served.output) as a, Image.open(full.output) as b:
        # The preview was downscaled and encoded once more: within the conformance
        # suite's bound (4.0), as JPEG drafts are (measured here: 2.5).
        assert _difference(a.convert("RGB"), b.convert("RGB")) < 4.0


def test_a_preview_too_small_for_the_size_with_its_gap_is_not_used(pictures, tmp_path):
    # The 512x340 preview covers 330 (its 220 px height x 1.5 = 330), not 400 (x1.5 = 600).
    assert _thumb(pictures[0], tmp_path / "a", 330).preview
    assert not _thumb(pictures[0], tmp_path / "b", 400).preview


def test_a_blank_preview_is_refused_and_the_image_decoded(pictures, tmp_path, monkeypatch):
    """(A blank preview cannot be written with pillow-heif: the check is made to
    say "blank" here, and blank() itself is tested below.)"""
    monkeypatch.setattr(image_reader, "blank", lambda im: True)
    entry = _thumb(pictures[0], tmp_path / "a", 256)
    assert not entry.preview
    with Image.open(entry.output) as a, Image.open(_thumb(pictures[1], tmp_path / "b",
                                                          256).output) as b:
        assert _difference(a.convert("RGB"), b.convert("RGB")) < 0.5


def test_blank_is_one_flat_colour():
    assert draft_module.blank(Image.new("RGB", (64, 48), (10, 20, 30)))
    assert draft_module.blank(Image.new("L", (64, 48), 7))
    noisy = Image.effect_noise((64, 48), 40).convert("RGB")
    assert not draft_module.blank(noisy)


def test_a_preview_of_another_shape_is_refused():
    """pillow-heif's draft checks the aspect ratio to the pixel; this is the 1%
    rule the preview must also meet, whoever selected it."""

    class Picture:
        format, size = "HEIF", (1200, 800)

        def draft(self, mode, size):
            self.size = (512, 384)  # 4:3, not 3:2
            return "RGB", (0, 0, 512, 384)

    with pytest.raises(StalePreview, match="512x384 preview of a 1200x800"):
        heif.preview(Picture(), (256, 171))


def test_a_turned_heics_preview_carries_the_turn_and_comes_out_upright(tmp_path):
    """A phone's HEIC is stored sideways with a turn (irot) on the image and on its
    preview. libheif applies a preview's own transforms, not the image's, so
    pillow-heif takes a preview only when both have the same ones (one without
    would also fail the aspect rule above); here it does, and the thumbnail is
    upright."""
    stored = Image.new("RGB", (600, 400), (200, 0, 0))
    stored.paste((255, 255, 0), (0, 0, 200, 133))
    exif = Image.Exif()
    exif[0x0112] = 6
    src = heic(tmp_path / "o6.heic", stored, exif=exif.tobytes(), thumbnails=[256])
    entry = _thumb(src, tmp_path / "out", 128)
    assert entry.preview and (entry.width, entry.height) == (85, 128)
    with Image.open(entry.output) as thumb:
        assert thumb.convert("RGB").getpixel((80, 5))[:2] > (200, 200)  # the mark: top right


def test_the_manifest_says_what_a_preview_made_and_a_new_preview_rule_remakes_it(pictures,
                                                                                  tmp_path,
                                                                                  monkeypatch):
    import json

    from click.testing import CliRunner

    from thumbnailer import cli

    folder = tmp_path / "phone"
    folder.mkdir()
    pictures[0].rename(folder / "IMG_1.HEIC")
    pictures[1].rename(folder / "IMG_2.HEIC")
    out, manifest = tmp_path / "out", tmp_path / "m.json"

    def run():
        result = CliRunner().invoke(cli.main, [str(folder), "-o", str(out), "-w", "1",
                                               "--manifest", str(manifest)])
        assert result.exit_code == 0, result.output
        entries = json.loads(manifest.read_text())["entries"]
        return result.stderr, {e["source"].rsplit("/", 1)[1]: e for e in entries}

    said, entries = run()
    assert said.startswith("2 images: 2 made (2 thumbnails) in")
    assert entries["IMG_1.HEIC"]["preview"] is True and "preview" not in entries["IMG_2.HEIC"]
    said, entries = run()  # up to date: still said, from the state
    assert said.startswith("2 images: 2 up to date in") and entries["IMG_1.HEIC"]["preview"] is True
    # A new rule: recorded, and checked.
    monkeypatch.setattr(plan_module, "PREVIEW_MARK", "+preview2")
    said, _ = run()
    # Only what a preview made:
    assert said.startswith("2 images: 1 made (1 thumbnail), 1 up to date in")


def test_a_heif_sequence_is_decoded_whole(tmp_path):
    """A burst or animation in one HEIF: frames and previews are not paired up."""
    import pillow_heif

    frames = [Image.new("RGB", (600, 400), (40 * n, 0, 0)) for n in range(3)]
    burst = pillow_heif.from_pillow(frames[0])
    for frame in frames[1:]:
        burst.add_from_pillow(frame)
    burst.save(str(tmp_path / "burst.heic"), quality=90, thumbnails=[256])
    pillow_heif.register_heif_opener()
    with Image.open(tmp_path / "burst.heic") as im:
        assert im.n_frames == 3
        assert heif.preview(im, (100, 66)) == 1.0 and im.size == (600, 400)


# --- camera JPEGs' EXIF thumbnails -----------------------------------------------------------

@pytest.fixture
def camera(tmp_path):
    """A 1200 x 900 photo with its 160 x 120 EXIF thumbnail, and without one."""
    picture = Image.open(photo(tmp_path / "p.png", (1200, 900))).convert("RGB")
    return (with_exif_thumbnail(tmp_path / "with.jpg", picture, picture.resize((160, 120))),
            photo_as_jpeg(picture, tmp_path / "without.jpg"))


def photo_as_jpeg(picture, path):
    picture.save(path, "JPEG", quality=92)
    return path


def test_an_exif_thumbnail_serves_icons_and_looks_like_the_image(camera, tmp_path):
    """Differential: the 64 px thumbnail from the EXIF thumbnail against the one
    from the image (the same picture without one); 106 px is as far as 160 x 120
    serves with the gap, 107 px is decoded from the image."""
    with_thumbnail, without = camera
    served = _thumb(with_thumbnail, tmp_path / "a", 64)
    full = _thumb(without, tmp_path / "b", 64)
    assert served.preview and not full.preview
    with Image.open(served.output) as a, Image.open(full.output) as b:
        assert a.size == b.size == (64, 48)
        assert _difference(a, b) < 4.0  # the conformance suite's bound for drafts
    assert _thumb(with_thumbnail, tmp_path / "c", 106).preview
    assert not _thumb(with_thumbnail, tmp_path / "d", 107).preview
    with Image.open(with_thumbnail) as im:
        assert draft(im, (40, 30)) == 7.5 and im.size == (160, 120)
        im.load()
        assert im.size == (160, 120)
    with Image.open(with_thumbnail) as im:
        assert draft(im, (40, 30), previews=False) == 8.0  # the image, at 1/8


@pytest.mark.parametrize("stale", ["letterboxed", "blank"])
def test_an_exif_thumbnail_that_is_not_the_images_is_refused(tmp_path, stale):
    """A camera letterboxes its 4:3 thumbnail on a 3:2 photo; an editor leaves a
    flat one. Either way the image is decoded, and the thumbnail shows it."""
    picture = Image.open(photo(tmp_path / "p.png", (1200, 800))).convert("RGB")
    if stale == "letterboxed":
        thumb = Image.new("RGB", (160, 120))
        thumb.paste(picture.resize((160, 107)), (0, 6))
    else:
        picture = picture.resize((1200, 900))
        thumb = Image.new("RGB", (160, 120), (90, 90, 90))
    src = with_exif_thumbnail(tmp_path / "s.jpg", picture, thumb)
    entry = _thumb(src, tmp_path / "out", 64)
    plain = _thumb(photo_as_jpeg(picture, tmp_path / "plain.jpg"), tmp_path / "ref", 64)
    assert not entry.preview
    with Image.open(entry.output) as made, Image.open(plain.output) as reference:
        assert made.size == reference.size and _difference(made, reference) < 1.0


def test_an_exif_thumbnail_takes_the_images_orientation(tmp_path):
    """Stored as the image is (sideways, orientation 6): turned with it."""
    picture = Image.open(photo(tmp_path / "p.png", (1200, 900))).convert("RGB")
    src = with_exif_thumbnail(tmp_path / "s.jpg", picture, picture.resize((160, 120)), 6)
    exif = Image.Exif()
    exif[0x0112] = 6
    picture.save(tmp_path / "plain.jpg", "JPEG", quality=92, exif=exif)
    entry = _thumb(src, tmp_path / "out", 64)
    plain = _thumb(tmp_path / "plain.jpg", tmp_path / "ref", 64)
    assert entry.preview and not plain.preview
    with Image.open(entry.output) as made, Image.open(plain.output) as reference:
        assert made.size == reference.size == (48, 64)
        assert _difference(made, reference) < 4.0
        assert _difference(made, reference.transpose(Image.Transpose.ROTATE_180)) > 10


def test_keeping_metadata_does_not_copy_the_exif_thumbnail(tmp_path):
    """The lookup reads IFD1 from a copy of the EXIF. Read into the image's own,
    it went along to --keep-metadata's writing, where Pillow 12 fails on it
    ("argument out of range": every such JPEG failed on Python 3.10's Pillow)."""
    picture = Image.open(photo(tmp_path / "p.png", (1200, 900))).convert("RGB")
    src = with_exif_thumbnail(tmp_path / "s.jpg", picture, picture.resize((160, 120)), 6)
    entry = _thumb(src, tmp_path / "out", 64, keep_metadata=True)
    assert entry.preview
    with Image.open(entry.output) as made:
        exif = made.getexif()
        assert exif.get(0x0112) == 1  # kept, with the orientation reset
        assert not exif.get_ifd(-1)  # and no thumbnail of the source's
