import re

import pytest
from browser import find_or_install, screenshot
from helpers import photo
from PIL import Image

from thumbnailer.outputs.gallery import GALLERY_NAME, PAGE_CARDS, write_gallery
from thumbnailer.spec import Entry, Status


def made(source, output, w=256, h=192, fmt="jpeg", nbytes=1000, status=Status.CREATED):
    return Entry(source, "256", status, output, fmt, w, h, nbytes)


def gallery(tmp_path, entries, title="Thumbnails"):
    """Write the gallery of ``entries`` into tmp_path/out; return its pages by name."""
    root = tmp_path / "out"
    write_gallery(str(root), entries, title)
    return {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*.html")}


def test_the_index_lists_folders_and_each_folder_has_its_page(tmp_path):
    root = tmp_path / "out"
    (tmp_path / "photos" / "trip").mkdir(parents=True)
    for name in ("photos/b.jpg", "photos/trip/a.jpg"):
        (tmp_path / name).write_bytes(b"x" * 2048)
    pages = gallery(tmp_path, [
        made(str(tmp_path / "photos/trip/a.jpg"), str(root / "trip/a.jpg")),
        made(str(tmp_path / "photos/b.jpg"), str(root / "b.jpg")),
    ])
    assert sorted(pages) == ["gallery.html", "index.html", "trip/gallery.html"]
    index = pages["index.html"]
    assert index.index('href="gallery.html">./') < index.index('href="trip/gallery.html">trip/')
    assert "2 images in 2 folders" in index and "<figure>" not in index
    trip = pages["trip/gallery.html"]
    assert '<img src="a.jpg" width="256" height="192"' in trip  # relative to its page
    assert 'href="../../photos/trip/a.jpg"' in trip  # the source, relative to the page
    assert 'href="../index.html"' in trip  # the breadcrumb back to the index
    assert "source 2.0 KB" in trip
    assert 'Folders: <a href="trip/gallery.html">trip/</a>' in pages["gallery.html"]


def test_every_page_is_self_contained(tmp_path):
    for page in gallery(tmp_path, [made("p/a.jpg", str(tmp_path / "out/a.jpg"))]).values():
        assert "<script" not in page and "<link" not in page
        assert not re.search(r'(src|href)="(https?:)?//', page)
        assert "<style>" in page


def test_failures_are_listed_visibly_on_the_index_with_their_reason(tmp_path):
    index = gallery(tmp_path, [
        made("p/a.jpg", str(tmp_path / "out/a.jpg")),
        Entry("p/bad.jpg", "256", Status.FAILED, error="truncated image data"),
        Entry("p/bad.jpg", "64", Status.FAILED, error="truncated image data"),
    ])["index.html"]
    assert index.count("<li>") == 1
    assert '<section class="failures">' in index
    assert "<code>p/bad.jpg</code>: truncated image data" in index
    assert "1 failed" in index


def test_names_are_escaped_and_urls_quoted(tmp_path):
    page = gallery(tmp_path, [made('p/<b>&"x.jpg', str(tmp_path / 'out/<b>&"x #1.jpg'))])[
        "gallery.html"]
    assert "<b>&" not in page
    assert "&lt;b&gt;&amp;&quot;x.jpg" in page
    assert 'src="%3Cb%3E%26%22x%20%231.jpg"' in page


def test_each_source_shows_the_size_nearest_256_and_links_the_others(tmp_path):
    out = tmp_path / "out"
    page = gallery(tmp_path, [
        made("p/a.jpg", str(out / "a_1024.webp"), 1024, 768, "webp"),
        made("p/a.jpg", str(out / "a_320.webp"), 320, 240, "webp"),
        made("p/a.jpg", str(out / "a_320.jpg"), 320, 240, "jpeg"),
    ])["gallery.html"]
    assert page.count("<figure>") == 1
    assert '<img src="a_320.jpg"' in page
    assert page.count('href="a_1024.webp"') == 1


def test_a_big_folder_is_paged_and_a_smaller_one_later_loses_the_extra_pages(tmp_path):
    out = tmp_path / "out"
    many = [made(f"p/{n:04}.jpg", str(out / "big" / f"{n:04}.jpg"))
            for n in range(2 * PAGE_CARDS + 50)]
    pages = gallery(tmp_path, many)
    assert [pages[f"big/{name}"].count("<figure>")
            for name in ("gallery.html", "gallery-2.html", "gallery-3.html")] == [
        PAGE_CARDS, PAGE_CARDS, 50]
    second = pages["big/gallery-2.html"]
    assert 'href="gallery.html">&larr; previous' in second
    assert 'href="gallery-3.html">next &rarr;' in second and "Page" in second
    assert "0200.jpg" in second and "0199.jpg" not in second  # in source order
    assert f"{2 * PAGE_CARDS + 50} images in 1 folders" in pages["index.html"]
    pages = gallery(tmp_path, many[:10])
    assert sorted(pages) == ["big/gallery.html", "index.html"]


def test_breadcrumbs_link_the_folders_above_that_have_pages(tmp_path):
    out = tmp_path / "out"
    page = gallery(tmp_path, [made("p/a.jpg", str(out / "a" / "a.jpg")),
                              made("p/c.jpg", str(out / "a" / "b" / "c" / "c.jpg"))])[
        "a/b/c/gallery.html"]
    crumbs = re.search(r'<p class="crumbs">(.*?)</p>', page).group(1)
    assert crumbs == ('<a href="../../../index.html">Thumbnails</a> / '
                      '<a href="../../gallery.html">a</a> / b / c')


def test_an_unchanged_gallery_is_not_rewritten(tmp_path):
    entries = [made("p/a.jpg", str(tmp_path / "out/a.jpg"))]
    gallery(tmp_path, entries)
    pages = sorted((tmp_path / "out").rglob("*.html"))
    before = [(p.stat().st_mtime_ns, p.stat().st_ino) for p in pages]
    gallery(tmp_path, entries)
    assert [(p.stat().st_mtime_ns, p.stat().st_ino) for p in pages] == before


# --- through the command ---------------------------------------------------------------------


def run(src, out, *args):
    """thumbnailer SRC -o OUT --gallery ARGS, small and in this process."""
    from click.testing import CliRunner

    from thumbnailer import cli

    return CliRunner().invoke(cli.main, [str(src), "-o", str(out), "-w", "1", "-s", "64",
                                         "--gallery", *map(str, args)], catch_exceptions=False)


def pages_of(out):
    """Every page under ``out`` (relative name: text)."""
    return {p.relative_to(out).as_posix(): p.read_text() for p in out.rglob("*.html")}


def test_a_folders_first_page_lists_its_own_failures_bounded_like_the_index(
        tmp_path, monkeypatch):
    from thumbnailer.outputs import gallery as module

    monkeypatch.setattr(module, "PAGE_CARDS", 1)  # trip/ gets two pages
    monkeypatch.setattr(module, "MAX_FAILURES", 2)
    src, out = tmp_path / "photos", tmp_path / "out"
    photo(src / "a.jpg", (120, 90))
    photo(src / "trip" / "c.jpg", (120, 90))
    photo(src / "trip" / "d.jpg", (120, 90), seed=1)
    for name in ("bad1.jpg", "bad2.jpg", "bad3.jpg"):
        (src / "trip" / name).write_bytes(b"")
    (src / "allbad").mkdir()
    (src / "allbad" / "x.jpg").write_text("not a picture")
    assert run(src, out).exit_code == 1
    pages = pages_of(out)
    first = pages["trip/gallery.html"]
    assert '<section class="failures">' in first
    assert f"<code>{src}/trip/bad1.jpg</code>: empty file (0 bytes)" in first
    assert f"{src}/trip/bad2.jpg" in first and "bad3.jpg" not in first
    assert "<li>and 1 more: see the manifest</li>" in first
    assert first.index('<section class="failures">') < first.index("<figure>")
    assert "failures" not in pages["trip/gallery-2.html"].split("<body>")[1]  # the first only
    assert '<section class="failures">' not in pages["gallery.html"]  # none of its own
    # A folder whose photos all failed has no thumbnails, so no page: its failures
    # are on the index, with every other.
    assert "allbad" not in "".join(pages) and "allbad/" not in pages["index.html"].split(
        "<h2>Folders</h2>")[1]
    assert f"<code>{src}/allbad/x.jpg</code>" in pages["index.html"]


@pytest.mark.parametrize("prune", [[], ["--prune", "--prune-limit", "100%"]],
                         ids=["gallery", "prune"])
def test_a_folder_emptied_loses_its_pages_and_every_link_to_them(tmp_path, monkeypatch, prune):
    from thumbnailer.outputs import gallery as module

    monkeypatch.setattr(module, "PAGE_CARDS", 1)  # trip/gone/ gets two pages
    src, out = tmp_path / "photos", tmp_path / "out"
    photo(src / "a.jpg", (120, 90))
    photo(src / "trip" / "c.jpg", (120, 90))
    photo(src / "trip" / "gone" / "d.jpg", (120, 90))
    photo(src / "trip" / "gone" / "e.jpg", (120, 90), seed=1)
    assert run(src, out, *prune).exit_code == 0
    gone = ["trip/gone/gallery.html", "trip/gone/gallery-2.html"]
    assert set(gone) <= set(pages_of(out))
    assert 'href="trip/gone/gallery.html"' in pages_of(out)["index.html"]
    # A SOURCE that gives no image (a disk that did not mount) takes no page away.
    (src.parent / "away").mkdir()
    src.rename(src.parent / "away" / "photos")
    src.mkdir()
    run(src, out, *prune)
    assert set(gone) <= set(pages_of(out))
    src.rmdir()
    (src.parent / "away" / "photos").rename(src)
    for name in ("d.jpg", "e.jpg"):
        (src / "trip" / "gone" / name).unlink()
    (src / "trip" / "gone").rmdir()
    assert run(src, out, *prune).exit_code == 0
    pages = pages_of(out)
    assert sorted(pages) == ["gallery.html", "index.html", "trip/gallery.html"]
    assert not any("gone/" in page for page in pages.values())  # no link to a page gone
    if prune:  # its thumbnails were pruned: the folder went with its pages
        assert not (out / "trip" / "gone").exists()
    else:  # its thumbnails stay without --prune; the pages showing them go
        assert (out / "trip" / "gone" / "d.jpg").exists()


def test_a_page_of_the_users_own_is_never_overwritten_nor_deleted(tmp_path, monkeypatch):
    from thumbnailer.outputs import gallery as module

    monkeypatch.setattr(module, "PAGE_CARDS", 1)  # mine/ gets two pages
    src, out = tmp_path / "photos", tmp_path / "out"
    photo(src / "a.jpg", (120, 90))
    photo(src / "mine" / "c.jpg", (120, 90))
    photo(src / "mine" / "d.jpg", (120, 90), seed=1)
    own = b"<!doctype html><title>My trip</title><p>written by hand</p>\n"
    theirs = [out / "mine" / "gallery.html", out / "else" / "gallery.html",  # else/: no thumbnail
              out / "index.html"]  # their own index: the folders' pages go all the same
    for path in theirs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(own)
    first = run(src, out)
    assert first.exit_code == 0
    assert f"{out}/mine/gallery.html is not a file thumbnailer made" in first.stderr
    assert (out / "mine" / "gallery-2.html").exists()  # the tool's own second page
    assert [path.read_bytes() for path in theirs] == [own] * 3
    for name in ("c.jpg", "d.jpg"):
        (src / "mine" / name).unlink()
    assert run(src, out, "--prune", "--prune-limit", "100%").exit_code == 0
    assert not (out / "mine" / "gallery-2.html").exists()  # the tool's page went
    assert [path.read_bytes() for path in theirs] == [own] * 3  # theirs stay


def test_an_unchanged_rerun_keeps_every_page_and_its_failures(tmp_path):
    src, out = tmp_path / "photos", tmp_path / "out"
    photo(src / "a.jpg", (120, 90))
    photo(src / "trip" / "c.jpg", (120, 90))
    (src / "trip" / "bad.jpg").write_bytes(b"")
    assert run(src, out).exit_code == 1
    pages = sorted(out.rglob("*.html"))
    kept = [*pages, out / ".thumbnailer-state.sqlite"]  # the state too: nothing is written
    before = [(p.stat().st_ino, p.stat().st_mtime_ns) for p in kept]
    for again in ([], ["--prune"]):
        run(src, out, *again)
        assert sorted(out.rglob("*.html")) == pages
        assert [(p.stat().st_ino, p.stat().st_mtime_ns) for p in kept] == before
    assert "bad.jpg</code>: empty file (0 bytes)" in (out / "trip" / "gallery.html").read_text()


def counting_cards(monkeypatch):
    """Count the cards rendered (by the folder they are on) from here on."""
    from thumbnailer.outputs import gallery as module

    rendered: list[str] = []
    card = module._card

    def counted(root, folder, made):
        rendered.append(folder)
        return card(root, folder, made)

    monkeypatch.setattr(module, "_card", counted)
    return rendered


def stamps(paths):
    return [(p.stat().st_ino, p.stat().st_mtime_ns) for p in paths]


def test_an_unchanged_rerun_renders_no_card(tmp_path, monkeypatch):
    src, out = tmp_path / "photos", tmp_path / "out"
    for folder in ("a", "b"):
        photo(src / folder / "x.jpg", (120, 90))
    rendered = counting_cards(monkeypatch)
    assert run(src, out).exit_code == 0
    assert sorted(rendered) == ["a", "b"]
    pages = sorted(out.rglob("*.html"))
    before = stamps(pages)
    rendered.clear()
    assert run(src, out).exit_code == 0
    assert rendered == []  # nothing read from the spool, nothing rendered
    assert stamps(pages) == before


def test_a_changed_folder_rewrites_only_its_pages_and_the_index(tmp_path, monkeypatch):
    from thumbnailer.outputs import gallery as module

    monkeypatch.setattr(module, "PAGE_CARDS", 1)  # a page per photo: b/ grows a page
    src, out = tmp_path / "photos", tmp_path / "out"
    for folder in ("a", "b", "c"):
        photo(src / folder / "x.jpg", (120, 90))
    photo(src / "b" / "y.jpg", (120, 90), seed=1)
    assert run(src, out).exit_code == 0
    others = [out / "a" / "gallery.html", out / "c" / "gallery.html"]
    kept = stamps(others)
    first_of_b = (out / "b" / "gallery.html").read_text()
    assert "of 2" in first_of_b
    photo(src / "b" / "z.jpg", (120, 90), seed=2)
    rendered = counting_cards(monkeypatch)
    assert run(src, out).exit_code == 0
    assert rendered == ["b"] * 3  # b/'s three cards, nobody else's
    assert stamps(others) == kept
    assert "of 3" in (out / "b" / "gallery.html").read_text()  # its nav: a page more
    assert (out / "b" / "gallery-3.html").exists()
    assert "5 images in 3 folders" in (out / "index.html").read_text()


def test_a_remade_thumbnail_renders_its_folder_again(tmp_path, monkeypatch):
    src, out = tmp_path / "photos", tmp_path / "out"
    photo(src / "a" / "x.jpg", (120, 90))
    assert run(src, out).exit_code == 0
    from thumbnailer.outputs.report import human_bytes

    was = (src / "a" / "x.jpg").stat().st_size
    photo(src / "a" / "x.jpg", (120, 90), seed=3)  # the same name and size, other pixels
    size = (src / "a" / "x.jpg").stat().st_size
    assert human_bytes(size) != human_bytes(was)
    rendered = counting_cards(monkeypatch)
    assert run(src, out).exit_code == 0
    assert rendered == ["a"]  # its card shows the source's size: rendered again
    assert f"source {human_bytes(size)}" in (out / "a" / "gallery.html").read_text()


def test_a_deleted_page_is_written_again_and_an_edited_one_kept_until_its_folder_changes(
        tmp_path):
    src, out = tmp_path / "photos", tmp_path / "out"
    photo(src / "a" / "x.jpg", (120, 90))
    photo(src / "b" / "x.jpg", (120, 90))
    assert run(src, out).exit_code == 0
    (out / "a" / "gallery.html").unlink()
    edited = (out / "b" / "gallery.html").read_text().replace("</h1>", "</h1><p>mine</p>")
    (out / "b" / "gallery.html").write_text(edited)
    assert run(src, out).exit_code == 0
    assert "x.jpg" in (out / "a" / "gallery.html").read_text()  # missing: written again
    assert (out / "b" / "gallery.html").read_text() == edited  # trusted: its digest is the same
    photo(src / "b" / "y.jpg", (120, 90), seed=1)
    assert run(src, out).exit_code == 0
    assert "<p>mine</p>" not in (out / "b" / "gallery.html").read_text()  # b/ changed


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
    counts = {name: 0 for name in COLOURS}
    for page in (out / "gallery.html", out / "more" / "gallery.html"):
        for name, count in colours(chromium, page, tmp_path / "shot.png").items():
            counts[name] += count
    # Each 160x120 thumbnail is drawn whole: about 80x60 = 4800 pixels at half scale.
    for name, count in counts.items():
        assert count > 0.8 * 80 * 60, (name, counts)
    index = colours(chromium, out / GALLERY_NAME, tmp_path / "index.png", ("bad",))
    assert index["bad"] > 100  # the failure box is drawn on the index


def colours(chromium, page, shot_path, names=tuple(COLOURS)):
    """Pixels of each named colour in a screenshot of ``page``, at half scale."""
    wanted = {**COLOURS, "bad": (0xB0, 0x00, 0x20)}
    shot = Image.open(screenshot(chromium, page, shot_path)).convert("RGB")
    half = shot.resize((shot.width // 2, shot.height // 2), Image.Resampling.NEAREST).tobytes()
    counts = dict.fromkeys(names, 0)
    for pixel in zip(half[0::3], half[1::3], half[2::3], strict=True):
        for name in names:
            if near(pixel, wanted[name], 25 if name == "bad" else 40):
                counts[name] += 1
    return counts
