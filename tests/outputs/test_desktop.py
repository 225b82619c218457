"""--xdg-cache end to end through the CLI, checked against the spec, not our code."""

import hashlib
import os
import stat

import pytest
from click.testing import CliRunner
from helpers import oriented, photo, quadrants
from PIL import Image
from test_xdg import glib_uri

from thumbnailer import __version__, cli
from thumbnailer.outputs.desktop.xdg import fail_png
from thumbnailer.spec import Settings, Size


def md5_name(path) -> str:
    return hashlib.md5(glib_uri(os.path.abspath(path)).encode()).hexdigest() + ".png"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "thumbnails"


@pytest.fixture
def pictures(tmp_path):
    src = tmp_path / "My Pictures"
    photo(src / "a.jpg", (1200, 800))
    photo(src / "b b.png", (300, 600), seed=1, fmt="PNG")
    (src / "trip #1").mkdir()
    oriented(src / "trip #1" / "r.jpg", quadrants((800, 600)), 6)
    return src


def invoke(*args):
    return CliRunner().invoke(cli.main, [str(a) for a in args], catch_exceptions=False)


def test_fills_normal_and_large_with_the_specs_names_and_chunks(cache, pictures):
    result = invoke(pictures, "--xdg-cache", "-w", "1")
    assert result.exit_code == 0 and result.stderr.startswith("3 images: 3 made (6 thumbnails) in")
    for src in pictures.rglob("*.*"):
        st = src.stat()
        for flavour, side in (("normal", 128), ("large", 256)):
            thumb = cache / flavour / md5_name(src)
            with Image.open(thumb) as im:
                assert im.format == "PNG" and max(im.size) == side
                assert im.text["Thumb::URI"] == glib_uri(str(src))
                assert im.text["Thumb::MTime"] == str(int(st.st_mtime))
                assert im.text["Thumb::Size"] == str(st.st_size)
                assert im.text["Thumb::Mimetype"] in ("image/jpeg", "image/png")
            assert stat.S_IMODE(thumb.stat().st_mode) == 0o600
    for folder in (cache, cache / "normal", cache / "large"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    with Image.open(cache / "large" / md5_name(pictures / "trip #1" / "r.jpg")) as im:
        # Stored sideways (600x800) with orientation 6: the thumbnail is upright.
        assert im.size == (256, 192)
        assert (im.text["Thumb::Image::Width"], im.text["Thumb::Image::Height"]) == ("800", "600")
        r, g, b = im.convert("RGB").getpixel((10, 10))
        assert r > 200 and g < 50 and b < 50  # red stays top left


def test_current_thumbnails_are_skipped_and_a_touched_file_is_remade(cache, pictures):
    invoke(pictures, "--xdg-cache", "-w", "1")
    again = invoke(pictures, "--xdg-cache", "-w", "1")
    assert again.stderr.startswith("3 images: 3 up to date in")
    a = pictures / "a.jpg"
    os.utime(a, (a.stat().st_atime, a.stat().st_mtime + 10))
    third = invoke(pictures, "--xdg-cache", "-w", "1")
    assert third.stderr.startswith(
        "3 images: 1 made (2 thumbnails), 2 up to date in")
    with Image.open(cache / "normal" / md5_name(a)) as im:
        assert im.text["Thumb::MTime"] == str(int(a.stat().st_mtime))


def test_an_image_missing_one_flavour_counts_once_as_made(cache, pictures):
    invoke(pictures, "--xdg-cache", "-w", "1")
    (cache / "large" / md5_name(pictures / "a.jpg")).unlink()  # normal is still current
    again = invoke(pictures, "--xdg-cache", "-w", "1")
    assert again.stderr.startswith("3 images: 1 made (1 thumbnail), 2 up to date in")


def test_a_thumbnail_another_program_made_counts_when_its_mtime_matches(cache, pictures):
    a = pictures / "a.jpg"
    (cache / "normal").mkdir(parents=True)
    foreign = cache / "normal" / md5_name(a)
    foreign.write_bytes(fail_png(glib_uri(str(a)), int(a.stat().st_mtime), "GNOME"))
    result = invoke(pictures / "a.jpg", "--xdg-cache", "-w", "1", "-s", "128")
    assert result.stderr.startswith("1 image: 1 up to date in")


def test_a_failure_leaves_the_specs_marker_and_is_not_retried_until_it_changes(
        cache, pictures):
    bad = pictures / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    first = invoke(pictures, "--xdg-cache", "-w", "1")
    assert first.exit_code == 1
    marker = cache / "fail" / f"thumbnailer-{__version__}" / md5_name(bad)
    with Image.open(marker) as im:
        assert im.text["Thumb::URI"] == glib_uri(str(bad))
        assert im.text["Thumb::MTime"] == str(int(bad.stat().st_mtime))
    assert stat.S_IMODE(marker.stat().st_mode) == 0o600
    second = invoke(pictures, "--xdg-cache", "-w", "1")
    assert second.exit_code == 0 and second.stderr.startswith("4 images: 4 up to date in")
    forced = invoke(pictures, "--xdg-cache", "-w", "1", "--force")
    assert forced.exit_code == 1
    photo(bad, (300, 200))  # fixed: a new mtime, so it is tried, and the marker goes
    os.utime(bad, (1, 2_000_000_000))
    fixed = invoke(pictures, "--xdg-cache", "-w", "1")
    assert fixed.exit_code == 0 and fixed.stderr.startswith(
        "4 images: 1 made (2 thumbnails), 3 up to date in")
    assert not marker.exists()


def test_only_the_specs_sizes_and_png(cache, pictures):
    result = invoke(pictures, "--xdg-cache", "-s", "512", "-s", "1024", "-w", "1")
    assert result.exit_code == 0
    assert len(os.listdir(cache / "x-large")) == len(os.listdir(cache / "xx-large")) == 3
    for bad in (["-s", "300"], ["-s", "256x128"], ["-f", "webp"], ["--fit", "cover"]):
        refused = invoke(pictures, "--xdg-cache", *bad)
        assert refused.exit_code == 2, bad


@pytest.mark.parametrize("option", [["-o", "x"], ["--prune"], ["--gallery"], ["--name", "{stem}"],
                                    ["--keep-metadata"]])
def test_options_that_contradict_the_spec_are_usage_errors(cache, pictures, option):
    result = invoke(pictures, "--xdg-cache", *option)
    assert result.exit_code == 2 and "cannot be used with --xdg-cache" in result.stderr
    assert not cache.exists()


def test_without_xdg_cache_home_it_is_under_home(tmp_path, monkeypatch, pictures):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    invoke(pictures / "a.jpg", "--xdg-cache", "-w", "1")
    assert (tmp_path / "home" / ".cache" / "thumbnails" / "normal" / md5_name(
        pictures / "a.jpg")).exists()


def test_settings_refuse_a_cache_job_the_spec_does_not_allow():
    with pytest.raises(ValueError):
        Settings(xdg_cache=True, sizes=(Size(256, 256),))  # format auto
