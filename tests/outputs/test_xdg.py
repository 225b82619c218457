import hashlib
import os
import shutil
import subprocess

import pytest
from PIL import Image

from thumbnailer.outputs.desktop.xdg import (
    cache_root,
    fail_png,
    file_uri,
    read_header,
    thumbnail_name,
)


def glib_uri(path: str) -> str:
    """An independent spelling of g_filename_to_uri, from GLib's own table of the
    bytes a path may keep unescaped (its UNSAFE_PATH column)."""
    keep = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    keep |= set(b"!$&'()*+,-./:=@_~")
    return "file://" + "".join(chr(b) if b in keep else f"%{b:02X}" for b in os.fsencode(path))


def test_the_specs_own_example():
    # Thumbnail Managing Standard, "Thumbnail Saving": the MD5 of this URI.
    assert thumbnail_name("file:///home/jens/photos/me.png") == (
        "c6ee772d9e49320e97ec29a7eb5b1697.png")


NAMES = ["plain.jpg", "with space.jpg", "ünïcödé.jpg", "a#b?c;d.jpg", "[x]{y}|z^`.jpg",
         "keep!$&'()*+,=@~.jpg", "100%.jpg", "tab\there.jpg"]


@pytest.mark.parametrize("name", NAMES)
def test_uris_are_spelled_as_glib_spells_them(tmp_path, name):
    path = str(tmp_path / "dir x" / name)
    assert file_uri(path) == glib_uri(path)
    expected = hashlib.md5(glib_uri(path).encode()).hexdigest() + ".png"
    assert thumbnail_name(file_uri(path)) == expected


def test_non_utf8_names_are_escaped_byte_by_byte(tmp_path):
    path = os.fsdecode(os.fsencode(str(tmp_path)) + b"/caf\xe9.jpg")
    assert file_uri(path).endswith("/caf%E9.jpg")


def test_gio_agrees_when_it_is_installed(tmp_path):
    # GLib's own command, where the machine has it; the table above covers the rest.
    files = []
    for name in NAMES:
        p = tmp_path / name
        p.write_bytes(b"x")
        files.append(p)
    gio = shutil.which("gio")
    for p in files:
        assert file_uri(str(p)) == glib_uri(str(p))
        if gio:
            out = subprocess.run([gio, "info", str(p)], capture_output=True, text=True).stdout
            assert f"uri: {file_uri(str(p))}\n" in out


def test_cache_root_follows_xdg_cache_home_and_ignores_a_relative_one():
    assert cache_root({"XDG_CACHE_HOME": "/c", "HOME": "/h"}) == "/c/thumbnails"
    assert cache_root({"XDG_CACHE_HOME": "rel", "HOME": "/h"}) == "/h/.cache/thumbnails"
    assert cache_root({"HOME": "/h"}) == "/h/.cache/thumbnails"


def test_a_fail_marker_is_a_valid_png_carrying_uri_and_mtime(tmp_path):
    path = tmp_path / "m.png"
    path.write_bytes(fail_png("file:///a%20b.jpg", 1700000000, "thumbnailer 1.0"))
    with Image.open(path) as im:
        im.load()
        assert im.size == (1, 1)
        assert im.text["Thumb::URI"] == "file:///a%20b.jpg"
        assert im.text["Thumb::MTime"] == "1700000000"
    header = read_header(str(path))
    assert header.text["Thumb::URI"] == "file:///a%20b.jpg" and header.width == 1


def test_read_header_refuses_what_is_not_a_png(tmp_path):
    (tmp_path / "x.png").write_bytes(b"GIF89a....")
    assert read_header(str(tmp_path / "x.png")) is None
    assert read_header(str(tmp_path / "missing.png")) is None
