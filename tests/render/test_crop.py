import pytest
from PIL import Image, ImageDraw

from thumbnailer.render.crop import place
from thumbnailer.spec import Crop

STRATEGIES = [Crop.ENTROPY, Crop.ATTENTION]


@pytest.mark.parametrize("crop", STRATEGIES)
def test_a_featureless_image_keeps_the_centre(crop):
    im = Image.new("RGB", (900, 300), (40, 90, 160))
    assert place(im, (300, 0, 600, 300), crop) == (300, 0, 600, 300)


@pytest.mark.parametrize("crop", STRATEGIES)
def test_a_window_as_big_as_the_image_does_not_move(crop):
    im = Image.new("RGB", (300, 300))
    assert place(im, (0, 0, 300, 300), crop) == (0, 0, 300, 300)


def test_center_never_looks_at_the_pixels():
    im = Image.new("RGB", (900, 300))
    ImageDraw.Draw(im).ellipse((0, 0, 100, 100), fill=(255, 200, 150))
    assert place(im, (300, 0, 600, 300), Crop.CENTER) == (300, 0, 600, 300)


@pytest.mark.parametrize("crop", STRATEGIES)
def test_the_window_slides_vertically_to_a_subject_at_the_top(crop):
    im = Image.new("RGB", (300, 1200), (20, 20, 20))
    draw = ImageDraw.Draw(im)
    for i in range(0, 300, 30):  # a busy, colourful band across the top quarter
        draw.rectangle((i, 10, i + 14, 280), fill=(255, 40 + i // 2, 0))
        draw.rectangle((i + 15, 10, i + 29, 280), fill=(0, 80, 255 - i // 2))
    x0, y0, x1, y1 = place(im, (0, 450, 300, 750), crop)
    assert (x0, x1, y1 - y0) == (0, 300, 300)  # only the overflowing axis moves
    assert y0 < 100


def test_attention_prefers_skin_to_a_flat_colour():
    im = Image.new("RGB", (1200, 300), (90, 90, 90))
    draw = ImageDraw.Draw(im)
    draw.ellipse((50, 50, 250, 250), fill=(224, 172, 140))  # a face-coloured disc, left
    x0, _, x1, _ = place(im, (450, 0, 750, 300), Crop.ATTENTION)
    assert x0 <= 50 and x1 >= 250
