import pytest
from helpers import photo
from PIL import Image, ImageChops, ImageStat

from thumbnailer import draft as draft_module
from thumbnailer.draft import draft
from thumbnailer.geometry import DRAFT_GAPS as GAPS


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
