import re

import pytest
from browser import find_or_install, screenshot
from PIL import Image

from thumbnailer.gallery import GALLERY_NAME, render_page, write_gallery
from thumbnailer.spec import Entry, Status


def made(source, output, w=256, h=192, fmt="jpeg", nbytes=1000, status=Status.CREATED):
    return Entry(source, "256", status, output, fmt, w, h, nbytes)


def test_cards_are_grouped_by_folder_sorted_and_linked_relatively(tmp_path):
    root = tmp_path / "out"
    (tmp_path / "photos" / "trip").mkdir(parents=True)
    for name in ("photos/b.jpg", "photos/trip/a.jpg"):
        (tmp_path / name).write_bytes(b"x" * 2048)
    page = render_page(str(root), [
        made(str(tmp_path / "photos/trip/a.jpg"), str(root / "trip/a.jpg")),
        made(str(tmp_path / "photos/b.jpg"), str(root / "b.jpg")),
    ])
    assert page.index("<h2>./</h2>") < page.index("<h2>trip/</h2>")
    assert '<img src="trip/a.jpg" width="256" height="192"' in page
    assert 'href="../photos/trip/a.jpg"' in page  # the source, relative to the page
    assert "2 images in 2 folders" in page and "source 2.0 KB" in page


def test_the_page_is_self_contained():
    page = render_page("out", [made("p/a.jpg", "out/a.jpg")])
    assert "<script" not in page and "<link" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<style>" in page


def test_failures_are_listed_visibly_with_their_reason():
    page = render_page("out", [
        made("p/a.jpg", "out/a.jpg"),
        Entry("p/bad.jpg", "256", Status.FAILED, error="truncated image data"),
        Entry("p/bad.jpg", "64", Status.FAILED, error="truncated image data"),
    ])
    assert page.count("<li>") == 1
    assert '<section class="failures">' in page
    assert "<code>p/bad.jpg</code>: truncated image data" in page
    assert "1 failed" in page


def test_names_are_escaped_and_urls_quoted():
    page = render_page("out", [made('p/<b>&"x.jpg', 'out/<b>&"x #1.jpg')])
    assert "<b>&" not in page
    assert "&lt;b&gt;&amp;&quot;x.jpg" in page
    assert 'src="%3Cb%3E%26%22x%20%231.jpg"' in page


def test_each_source_shows_the_size_nearest_256_and_links_the_others():
    page = render_page("out", [
        made("p/a.jpg", "out/a_1024.webp", 1024, 768, "webp"),
        made("p/a.jpg", "out/a_320.webp", 320, 240, "webp"),
        made("p/a.jpg", "out/a_320.jpg", 320, 240, "jpeg"),
    ])
    assert page.count("<figure>") == 1
    assert '<img src="a_320.jpg"' in page
    assert page.count('href="a_1024.webp"') == 1


def test_write_gallery_writes_index_html_in_the_root(tmp_path):
    path = write_gallery(str(tmp_path / "out"), [made("a.jpg", str(tmp_path / "out/a.jpg"))])
    assert path == str(tmp_path / "out" / GALLERY_NAME)
    assert (tmp_path / "out" / GALLERY_NAME).read_text().startswith("<!doctype html>")


# --- in a real browser -----------------------------------------------------------------------

COLOURS = {"red": (230, 30, 30), "green": (30, 200, 60), "blue": (40, 60, 230)}


@pytest.fixture(scope="module")
def chromium():
    return find_or_install()


def near(pixel, colour, tolerance=40):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=False))


def test_the_gallery_shows_the_thumbnails_in_headless_chromium(tmp_path, chromium):
    from click.testing import CliRunner

    from thumbnailer import cli

    src = tmp_path / "photos"
    for n, (name, colour) in enumerate(COLOURS.items()):
        folder = src / ("" if n == 0 else "more")
        folder.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (400, 300), colour).save(folder / f"{name}.png")
    (src / "broken.jpg").write_bytes(b"not an image")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli.main, [str(src), "-o", str(out), "-w", "1", "-s", "160",
                                           "--gallery"])
    assert result.exit_code == 1  # the broken file
    shot = Image.open(screenshot(chromium, out / GALLERY_NAME, tmp_path / "shot.png"))
    shot = shot.convert("RGB")
    counts = {name: 0 for name in COLOURS}
    bad_border = 0
    half = shot.resize((shot.width // 2, shot.height // 2), Image.Resampling.NEAREST).tobytes()
    for pixel in zip(half[0::3], half[1::3], half[2::3], strict=True):
        for name, colour in COLOURS.items():
            if near(pixel, colour):
                counts[name] += 1
        if near(pixel, (0xB0, 0x00, 0x20), 25):
            bad_border += 1
    # Each 160x120 thumbnail is drawn whole: about 80x60 = 4800 pixels at half scale.
    for name, count in counts.items():
        assert count > 0.8 * 80 * 60, (name, counts)
    assert bad_border > 100  # the failure box is drawn
