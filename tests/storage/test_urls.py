"""URL paths and page links, against the standard library's own answers."""

import os
from urllib.parse import quote

import pytest

from thumbnailer.storage.urls import local_link, url_path


@pytest.mark.parametrize("rel", ["a/b_256.jpg", "été/a b.jpg", "a%20b.jpg", "x?y#z.png",
                                 os.fsdecode(b"bad-\xff.jpg"), "", "~/.-_"])
def test_url_path_is_quote(rel):
    assert url_path(rel) == quote(rel, errors="surrogateescape")


@pytest.mark.parametrize("path, folder", [
    ("/photos/2024/a b.jpg", "/thumbs/2024"), ("/thumbs/x/a.jpg", "/thumbs/x"),
    ("/a.jpg", "/thumbs/deep/er"), ("photos/a.jpg", "thumbs"), ("a.jpg", "."),
])
def test_local_link_is_the_quoted_relpath(path, folder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    expected = quote(os.path.relpath(os.path.abspath(path), os.path.abspath(folder)),
                     errors="surrogateescape")
    assert local_link(path, folder) == expected


def test_a_relative_link_follows_the_working_folder(tmp_path, monkeypatch):
    (tmp_path / "one" / "deep").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "one")
    assert local_link("a.jpg", "/") == quote(os.path.relpath(tmp_path / "one" / "a.jpg", "/"))
    monkeypatch.chdir(tmp_path / "one" / "deep")  # the cache must not answer for the old one
    assert local_link("a.jpg", "/") == quote(
        os.path.relpath(tmp_path / "one" / "deep" / "a.jpg", "/"))
