import os

import pytest

from thumbnailer.plan.sources import Selection, walk


def touch(root, *names):
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def rels(arguments, selection=None, skip=()):
    selection = selection or Selection()
    return [s.rel for s in walk([str(a) for a in arguments], selection, [str(d) for d in skip])]


def test_walks_recursively_in_a_stable_order_and_only_images(tmp_path):
    touch(tmp_path, "b.jpg", "a.PNG", "notes.txt", "sub/c.webp", "sub/deeper/d.Jpeg", "e.gif")
    assert rels([tmp_path]) == ["a.PNG", "b.jpg", "e.gif", "sub/c.webp", "sub/deeper/d.Jpeg"]


def test_source_paths_are_the_argument_joined_with_the_relative_path(tmp_path):
    touch(tmp_path, "sub/c.jpg")
    [source] = walk([str(tmp_path)])
    assert source.path == os.path.join(str(tmp_path), "sub", "c.jpg")


def test_hidden_files_and_folders_are_skipped_unless_asked(tmp_path):
    touch(tmp_path, ".hidden.jpg", ".cache/x.jpg", "seen.jpg")
    assert rels([tmp_path]) == ["seen.jpg"]
    assert rels([tmp_path], Selection(hidden=True)) == [".hidden.jpg", "seen.jpg", ".cache/x.jpg"]


def test_include_narrows_case_insensitively(tmp_path):
    touch(tmp_path, "IMG_1.JPG", "img_2.jpg", "other.png", "sub/IMG_3.jpg")
    assert rels([tmp_path], Selection(include=("img_*",))) == ["IMG_1.JPG", "img_2.jpg",
                                                               "sub/IMG_3.jpg"]
    assert rels([tmp_path], Selection(include=("sub/*",))) == ["sub/IMG_3.jpg"]


def test_exclude_skips_files_and_whole_folders(tmp_path):
    touch(tmp_path, "keep.jpg", "drop.JPG", "raw/a.jpg", "raw/b.jpg")
    assert rels([tmp_path], Selection(exclude=("DROP.*", "raw"))) == ["keep.jpg"]


def test_the_output_folder_inside_a_source_is_never_entered(tmp_path):
    touch(tmp_path, "a.jpg", "thumbs/a.jpg")
    assert rels([tmp_path], skip=[tmp_path / "thumbs"]) == ["a.jpg"]


def test_an_explicit_file_is_taken_whatever_its_extension(tmp_path):
    touch(tmp_path, "scan.dat")
    [source] = walk([str(tmp_path / "scan.dat")])
    assert source.rel == "scan.dat"


def test_the_same_file_named_twice_is_walked_once(tmp_path):
    touch(tmp_path, "sub/a.jpg")
    assert rels([tmp_path, tmp_path / "sub", tmp_path / "sub" / "a.jpg"]) == ["sub/a.jpg"]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks on this platform")
def test_symlinked_folders_are_followed_only_when_asked_and_loops_end(tmp_path):
    touch(tmp_path, "photos/a.jpg", "elsewhere/b.jpg")
    os.symlink(tmp_path / "elsewhere", tmp_path / "photos" / "link")
    os.symlink(tmp_path / "photos", tmp_path / "photos" / "loop")  # a cycle
    assert rels([tmp_path / "photos"]) == ["a.jpg"]
    followed = rels([tmp_path / "photos"], Selection(follow_symlinks=True))
    assert followed == ["a.jpg", "link/b.jpg"]


def test_a_symlinked_file_is_followed_only_when_asked(tmp_path):
    touch(tmp_path, "outside/secret.jpg", "photos/a.jpg")
    os.symlink(tmp_path / "outside" / "secret.jpg", tmp_path / "photos" / "b.jpg")
    assert rels([tmp_path / "photos"]) == ["a.jpg"]
    assert rels([tmp_path / "photos"], Selection(follow_symlinks=True)) == ["a.jpg", "b.jpg"]


def test_a_symlink_named_as_source_is_followed(tmp_path):
    touch(tmp_path, "real/a.jpg")
    os.symlink(tmp_path / "real", tmp_path / "link")
    assert rels([tmp_path / "link"]) == ["a.jpg"]


def test_a_dangling_symlink_is_passed_by(tmp_path):
    (tmp_path / "photos").mkdir()
    os.symlink(tmp_path / "missing.jpg", tmp_path / "photos" / "gone.jpg")
    assert rels([tmp_path / "photos"]) == []
