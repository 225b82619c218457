"""--placeholders: a ThumbHash, a BlurHash and the dominant colour per source,
in the manifest's sources, kept in the state for reruns, painted by the gallery.

The ThumbHash encoder is checked against the ``thumbhash`` package's (another
implementation of the specification, right for opaque images) and, alpha too,
by decoding it here as the specification says and comparing with the picture.
"""

import base64
import itertools
import json
import math
import sqlite3
import sys

import blurhash
import pytest
import thumbhash as other
from click.testing import CliRunner
from PIL import Image, ImageChops, ImageDraw, ImageStat

from thumbnailer import cli
from thumbnailer.render.placeholders import dominant, placeholder, thumbhash

# --- the encodings ---------------------------------------------------------------------------


def picture(size=(32, 24), seed=0, alpha=False):
    """Soft shapes on a background: what a small thumbnail looks like."""
    rng = __import__("random").Random(seed)
    w, h = size
    im = Image.new("RGBA", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256), 255))
    draw = ImageDraw.Draw(im)
    for _ in range(4):
        x, y = rng.randrange(w), rng.randrange(h)
        draw.ellipse((x - w // 3, y - h // 3, x + w // 3, y + h // 3),
                     fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256),
                           rng.choice([0, 128, 255]) if alpha else 255))
    return im


def decode(text):
    """A ThumbHash to a 32-pixel RGBA image, as the specification decodes it."""
    h = base64.b64decode(text)
    h24, h16 = h[0] | h[1] << 8 | h[2] << 16, h[3] | h[4] << 8
    alpha, wide = h24 >> 23, h16 >> 15
    lx = max(3, (5 if alpha else 7) if wide else h16 & 7)
    ly = max(3, h16 & 7 if wide else (5 if alpha else 7))
    index = 0

    def terms(nx, ny, scale):
        nonlocal index
        ac = []
        for cy in range(ny):
            cx = 0 if cy else 1
            while cx * ny < nx * (ny - cy):
                nibble = h[(6 if alpha else 5) + (index >> 1)] >> ((index & 1) * 4) & 15
                ac.append((nibble / 7.5 - 1) * scale)
                index, cx = index + 1, cx + 1
        return ac

    channels = [((h24 & 63) / 63, terms(lx, ly, (h24 >> 18 & 31) / 31), lx, ly),
                ((h24 >> 6 & 63) / 31.5 - 1, terms(3, 3, (h16 >> 3 & 63) / 63 * 1.25), 3, 3),
                ((h24 >> 12 & 63) / 31.5 - 1, terms(3, 3, (h16 >> 9 & 63) / 63 * 1.25), 3, 3)]
    if alpha:
        channels.append(((h[5] & 15) / 15, terms(5, 5, (h[5] >> 4) / 15), 5, 5))
    w = h_ = 32
    out = Image.new("RGBA", (w, h_))
    for y, x in itertools.product(range(h_), range(w)):
        values = []
        for dc, ac, nx, ny in channels:
            v, j = dc, 0
            for cy in range(ny):
                cx = 0 if cy else 1
                while cx * ny < nx * (ny - cy):
                    v += ac[j] * math.cos(math.pi / w * (x + 0.5) * cx) * math.cos(
                        math.pi / h_ * (y + 0.5) * cy) * 2
                    j, cx = j + 1, cx + 1
            values.append(v)
        lum, p, q, *a = values
        b = lum - 2 / 3 * p
        r = (3 * lum - b + q) / 2
        out.putpixel((x, y), tuple(max(0, min(255, round(255 * c)))
                                   for c in (r, r - q, b, a[0] if a else 1)))
    return out


def difference(a, b):
    return max(ImageStat.Stat(ImageChops.difference(a, b)).mean)


@pytest.mark.parametrize("size", [(32, 24), (24, 32), (32, 32), (32, 9)])
def test_thumbhash_agrees_with_another_implementation(size):
    for seed in range(3):
        im = picture(size, seed)
        rgba = list(im.tobytes())  # row by row, RGBA
        theirs = base64.b64encode(bytes(other.rgba_to_thumb_hash(*size, rgba))).decode()
        assert thumbhash(im) == theirs


@pytest.mark.parametrize("alpha", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_a_thumbhash_decodes_to_a_blur_of_the_picture(alpha, seed):
    """Round trip: what the hash decodes to has the picture's average and its
    layout: it is much nearer the picture blurred (a ThumbHash keeps some 7 terms
    across, as a 32 px picture shrunk to 4 px) than one flat colour is. With
    alpha, in the alpha channel (colours under clear pixels are anyone's)."""
    im = picture((32, 32), seed, alpha)
    text = thumbhash(im)
    assert len(base64.b64decode(text)) <= 32 and base64.b64decode(text)[2] >> 7 == alpha
    decoded = decode(text)
    ours, theirs = ((decoded.getchannel("A"), im.getchannel("A")) if alpha
                    else (decoded.convert("RGB"), im.convert("RGB")))
    average = tuple(round(v) for v in ImageStat.Stat(theirs).mean)
    assert all(abs(a - b) < 10 for a, b in zip(ImageStat.Stat(ours).mean, average, strict=True))
    blurred = theirs.resize((4, 4), Image.Resampling.BOX).resize((32, 32),
                                                                   Image.Resampling.BICUBIC)
    flat = Image.new(theirs.mode, (32, 32), average if len(average) > 1 else average[0])
    assert difference(ours, blurred) < 0.6 * difference(flat, blurred)


def test_the_blurhash_and_the_dominant_colour():
    im = Image.new("RGBA", (200, 100), (220, 30, 30, 255))
    im.paste((30, 40, 220, 255), (140, 0, 200, 100))  # 30% blue on the right
    thumb, blur, colour = placeholder(im).split(" ")
    assert colour == "#dc1e1e"  # the commonest, not the average (a purple)
    left, right = (blurhash.decode(blur, 20, 10)[5][x] for x in (2, 18))
    assert left[0] > 150 > left[2] and right[2] > right[0]
    assert dominant(Image.new("RGBA", (8, 8), (10, 200, 10, 0))) == (10, 200, 10)  # all clear
    assert thumb == thumbhash(im.resize((32, 16), Image.Resampling.BOX))


# --- through a run ---------------------------------------------------------------------------


def run(*args):
    return CliRunner().invoke(cli.main, [str(a) for a in args])


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    for n, name in enumerate(["a.jpg", "b.png", "sub/c.jpg"]):
        picture((300, 200), seed=n).convert("RGB").save(folder / name)
    return folder


def sources(manifest):
    return {s["source"].rpartition("/")[2]: s.get("placeholder")
            for s in json.loads(manifest.read_text())["sources"]}


def test_the_manifest_gives_each_sources_placeholders_and_reruns_keep_them(tmp_path, photos):
    out, manifest = tmp_path / "out", tmp_path / "m.json"
    args = [photos, "-o", out, "-s", "64", "-s", "200", "-w", "1", "--manifest", manifest]
    first = run(*args, "--placeholders")
    assert first.exit_code == 0, first.output
    found = sources(manifest)
    assert set(found) == {"a.jpg", "b.png", "c.jpg"}
    for shade in found.values():
        assert set(shade) == {"thumbhash", "blurhash", "color"}
        assert shade["color"].startswith("#") and len(shade["color"]) == 7
    with Image.open(out / "a_64.jpg") as smallest:  # made from the smallest thumbnail
        again = placeholder(smallest).split(" ")  # (as written: JPEG's loss aside)
    assert difference(decode(found["a.jpg"]["thumbhash"]), decode(again[0])) < 3
    assert "placeholder" not in json.loads(manifest.read_text())["entries"][0]
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.jpg")}
    again = run(*args, "--placeholders")
    assert again.stderr.startswith("3 images: 3 up to date in")
    assert sources(manifest) == found  # from the state: nothing read or written
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.jpg")} == stamps
    without = run(*args)
    assert without.stderr.startswith("3 images: 3 up to date in")
    assert set(sources(manifest).values()) == {None}


def test_turning_placeholders_on_remakes_one_thumbnail_a_source(tmp_path, photos):
    out, manifest = tmp_path / "out", tmp_path / "m.json"
    args = [photos, "-o", out, "-s", "64", "-s", "200", "-w", "1", "--manifest", manifest]
    assert run(*args).exit_code == 0
    on = run(*args, "--placeholders")
    assert on.stderr.startswith("3 images: 3 made (3 thumbnails) in"), on.stderr
    assert all(sources(manifest).values())
    (photos / "b.png").unlink()
    assert run(*args, "--placeholders", "--prune", "--prune-limit", "100%").exit_code == 0
    with sqlite3.connect(out / ".thumbnailer-state.sqlite") as db:
        kept = {bytes(s).decode().rpartition("/")[2]
                for (s,) in db.execute("SELECT source FROM placeholders")}
    assert kept == {"a.jpg", "c.jpg"}


def test_placeholders_without_the_extra_is_a_usage_error(tmp_path, photos, monkeypatch):
    monkeypatch.setitem(sys.modules, "blurhash", None)
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "blurhash" else real(name, *a))
    result = run(photos, "-o", tmp_path / "out", "--placeholders")
    assert result.exit_code == 2
    assert "--placeholders needs the optional extra: pip install 'thumbnailer[placeholders]'" \
        in result.stderr
    assert not (tmp_path / "out").exists()


def test_the_gallery_paints_the_thumbhash_until_the_thumbnail_loads(tmp_path):
    """In headless Chromium: with the thumbnails gone, the cards show the
    placeholder (red left, blue right); with them there, the thumbnails."""
    from browser import find_or_install, screenshot

    src = tmp_path / "photos"
    src.mkdir()
    im = Image.new("RGB", (400, 300), (230, 30, 30))
    im.paste((40, 60, 230), (200, 0, 400, 300))
    im.save(src / "halves.png")
    out = tmp_path / "out"
    assert run(src, "-o", out, "-w", "1", "-s", "256", "--gallery", "--placeholders",
               "-f", "png").exit_code == 0
    page = (out / "gallery.html").read_text()
    assert "data-thumbhash=" in page and "<script>" in page
    plain = tmp_path / "plain"
    assert run(src, "-o", plain, "-w", "1", "-s", "256", "--gallery", "-f", "png").exit_code == 0
    assert "<script>" not in (plain / "gallery.html").read_text()
    (out / "halves.png").unlink()  # never loads: the placeholder stays
    chromium = find_or_install()
    shot = Image.open(screenshot(chromium, out / "gallery.html", tmp_path / "s.png")).convert("RGB")
    width = shot.width // 4
    small = shot.resize((width, shot.height // 4)).tobytes()
    reds, blues = [], []  # the x of each
    for n, (r, g, b) in enumerate(zip(small[0::3], small[1::3], small[2::3], strict=True)):
        if r > 150 and g < 110 and b < 110:
            reds.append(n % width)
        elif b > 150 and r < 110:
            blues.append(n % width)
    assert len(reds) > 150 and len(blues) > 150, (len(reds), len(blues))  # ~100x75 px each
    assert sum(reds) / len(reds) < sum(blues) / len(blues)  # red on the left
