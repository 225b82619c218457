"""What a run says of its images, through the real command: one line per broken
image whatever its sizes and formats, and a summary that counts images once and
thumbnails beside them (issue 23)."""

import json
import re

import pytest
from click.testing import CliRunner
from helpers import photo

from thumbnailer import cli

#: Two sizes in two formats: four thumbnails an image.
JOB = ("-s", "128", "-s", "512", "-f", "jpeg", "-f", "webp")


@pytest.fixture
def photos(tmp_path):
    src = tmp_path / "photos"
    photo(src / "good.jpg", (640, 480))
    (src / "bad.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (src / "sub").mkdir()
    (src / "sub" / "worse.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    return src


def invoke(*args):
    return CliRunner().invoke(cli.main, [str(a) for a in args], catch_exceptions=False)


def failure_lines(result, photos):
    return [line for line in result.stderr.splitlines() if line.startswith(str(photos))]


@pytest.mark.parametrize("engine", [("-w", "1"), ("-w", "2"), ("--executor", "thread")],
                         ids=["in-process", "pool", "threads"])
def test_two_broken_files_are_two_lines_and_two_failed_images(tmp_path, photos, engine):
    manifest = tmp_path / "m.json"
    result = invoke(photos, "-o", tmp_path / "out", *JOB, *engine, "--manifest", manifest)
    assert result.exit_code == 1
    assert sorted(failure_lines(result, photos)) == [
        f"{photos / 'bad.jpg'}: not an image, or in a format Pillow cannot read",
        f"{photos / 'sub' / 'worse.png'}: not an image, or in a format Pillow cannot read"]
    *_, summary = result.stderr.splitlines()
    assert summary.startswith("3 images: 1 made (4 thumbnails), 2 failed in ")
    assert len(result.stderr.splitlines()) == 3  # nothing else
    # The manifest keeps the thumbnails' counts, and counts the images beside.
    counts = json.loads(manifest.read_text())["summary"]
    assert (counts["created"], counts["skipped"], counts["failed"]) == (4, 0, 8)
    assert counts["images"] == {"created": 1, "skipped": 0, "failed": 2}


def test_a_rerun_counts_known_failures_as_images_and_tells_each_once(tmp_path, photos):
    out = tmp_path / "out"
    invoke(photos, "-o", out, *JOB, "-w", "1")
    again = invoke(photos, "-o", out, *JOB, "-w", "1")
    assert again.exit_code == 0
    assert again.stderr.startswith("3 images: 1 up to date, 2 failed (2 known, not retried) in")
    told = invoke(photos, "-o", out, *JOB, "-w", "1", "-v")
    known = [line for line in told.stderr.splitlines() if line.startswith("known failure")]
    assert sorted(line.split(": ")[1] for line in known) == [
        str(photos / "bad.jpg"), str(photos / "sub" / "worse.png")]
    strict = invoke(photos, "-o", out, *JOB, "-w", "1", "--strict")
    assert strict.exit_code == 1  # the exit code still counts as before
    retried = invoke(photos, "-o", out, *JOB, "-w", "1", "--retry-failed")
    assert len(failure_lines(retried, photos)) == 2
    assert retried.stderr.splitlines()[-1].startswith("3 images: 1 up to date, 2 failed in")


def test_an_image_with_thumbnails_to_add_counts_once_as_made(tmp_path, photos):
    out = tmp_path / "out"
    invoke(photos, "-o", out, *JOB, "-w", "1")
    dry = invoke(photos, "-o", out, *JOB, "-f", "png", "--dry-run")
    assert dry.stderr.startswith(
        "3 images: 1 to make (2 thumbnails), 2 failed (2 known, not retried) in")
    check = invoke(photos, "-o", out, *JOB, "-f", "png", "--check")
    assert check.exit_code == 5 and check.stderr.startswith("3 images: 1 to make (2 thumbnails)")
    added = invoke(photos, "-o", out, *JOB, "-f", "png", "-w", "1")
    assert added.stderr.startswith(
        "3 images: 1 made (2 thumbnails), 2 failed (2 known, not retried) in")


def test_a_fresh_dry_run_counts_images_to_make(tmp_path, photos):
    dry = invoke(photos, "-o", tmp_path / "out", *JOB, "--dry-run")
    assert len(dry.stdout.splitlines()) == 12  # a line a thumbnail, as before
    assert re.fullmatch(r"3 images: 3 to make \(12 thumbnails\) in \d+\.\d s\n", dry.stderr)


def test_a_partly_failed_image_is_one_line_and_one_failed_image(tmp_path, photos):
    """One thumbnail of four cannot be written (a file of the user's is at its
    path): the image is one failure line, counts as failed, and the thumbnails
    made are said."""
    out, manifest = tmp_path / "out", tmp_path / "m.json"
    out.mkdir()
    (out / "good_128.webp").write_text("mine")
    result = invoke(photos / "good.jpg", "-o", out, *JOB, "-w", "1", "--manifest", manifest)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{photos / 'good.jpg'}: {out / 'good_128.webp'} is not a file thumbnailer made, or it "
        "changed since it was made: left as it is",
        result.stderr.splitlines()[-1]]
    assert result.stderr.splitlines()[-1].startswith(
        "1 image: 1 failed (3 thumbnails made) in ")
    counts = json.loads(manifest.read_text())["summary"]
    assert (counts["created"], counts["failed"], counts["images"]["failed"]) == (3, 1, 1)


def test_a_name_that_fails_while_planning_is_one_line_whatever_the_sizes(tmp_path):
    src = tmp_path / "photos"
    photo(src / "..ab.jpg", (40, 30))
    photo(src / "cd.jpg", (40, 30), seed=1)
    result = invoke(src, "-o", tmp_path / "out", "--hidden", "--name", "{stem:.2}/{stem}_{size}",
                    *JOB, "-w", "1")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert [line.split(": ")[0] for line in lines[:-1]] == [str(src / "..ab.jpg")]
    assert lines[-1].startswith("2 images: 1 made (4 thumbnails), 1 failed in ")


def test_one_image_is_one_image(tmp_path, photos):
    result = invoke(photos / "good.jpg", "-o", tmp_path / "out", "-w", "1")
    assert result.stderr.startswith("1 image: 1 made (1 thumbnail) in ")
    pruned = invoke(photos / "good.jpg", "-o", tmp_path / "out", "-w", "1", "--prune")
    assert pruned.stderr.startswith("1 image: 1 up to date; 0 thumbnails pruned in ")
