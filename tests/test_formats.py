"""The output-format table: one row per format, read by render, plan, gallery and cli."""

import io

import pytest
from PIL import Image

from thumbnailer.formats import TABLE, extension, from_extension, row, writable_formats
from thumbnailer.spec import Format


def test_every_concrete_format_has_one_row_and_auto_has_none():
    assert set(TABLE) == set(Format) - {Format.AUTO}
    assert all(r.format is f for f, r in TABLE.items())
    with pytest.raises(KeyError):
        row(Format.AUTO)


@pytest.mark.parametrize("fmt", sorted(TABLE, key=lambda f: f.value))
def test_extensions_name_their_format_and_back(fmt):
    assert from_extension(extension(fmt)) is fmt
    assert from_extension("." + extension(fmt).upper()) is fmt
    assert from_extension("txt") is None


@pytest.mark.parametrize("fmt", writable_formats())
def test_each_row_encodes_what_it_says(fmt):
    """Every mode a row claims is written as is, with the row's own parameters,
    and comes back as that format (alpha kept where the row says so)."""
    r = row(fmt)
    for mode in sorted(r.modes):
        im = Image.new(mode, (40, 30))
        buffer = io.BytesIO()
        im.save(buffer, r.pillow, **r.still(85, im.size))
        with Image.open(buffer) as back:
            assert back.format == r.pillow
            assert ("A" in back.mode or "transparency" in back.info) == (
                "A" in mode and r.alpha)


def test_only_jpeg_lacks_alpha_and_only_gif_and_webp_animate():
    assert {f for f, r in TABLE.items() if not r.alpha} == {Format.JPEG}
    assert {f for f, r in TABLE.items() if r.animation} == {Format.GIF, Format.WEBP}
