"""Real runs of the installed command, through a real process pool."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import image_files, temp_leftovers
from PIL import Image

from thumbnailer.storage.atomic import TEMP_PREFIX

SAMPLES = Path(__file__).resolve().parent.parent / "sample_images"
COPIES = 150


def thumbnailer(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "thumbnailer", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


@pytest.fixture
def many(tmp_path):
    """Enough work that a run is still going when we stop it: one noisy PNG, copied."""
    src = tmp_path / "many"
    src.mkdir()
    noise = Image.frombytes("RGB", (1200, 1200), os.urandom(1200 * 1200 * 3))
    noise.save(src / "000.png", compress_level=1)
    for n in range(1, COPIES):
        shutil.copyfile(src / "000.png", src / f"{n:03}.png")
    return src


def wait_for_outputs(out, proc, count=2, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(image_files(out)) >= count if out.exists() else False:
            return
        assert proc.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.01)
    raise AssertionError("no output appeared")


def assert_every_output_is_whole(out):
    for path in image_files(out):
        with Image.open(path) as im:
            im.load()  # a truncated file raises here


def test_the_bundled_samples(tmp_path):
    out = tmp_path / "thumbnails"
    proc = thumbnailer(SAMPLES, "-o", out, "-w", "2")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    names = {p.relative_to(out).as_posix() for p in image_files(out)}
    assert names == {"landscape.jpg", "phone_portrait_exif6.jpg", "logo_transparent.png",
                     "animated_palette.jpg", "sunset.jpg", "print_cmyk.jpg",
                     "travel/2024/coast.jpg", "travel/scan_16bit.jpg"}
    with Image.open(out / "phone_portrait_exif6.jpg") as portrait:
        assert portrait.width < portrait.height
    with Image.open(out / "logo_transparent.png") as logo:
        assert logo.mode == "RGBA"
    assert err.startswith("8 images: 8 made (8 thumbnails) in")


def test_ctrl_c_stops_cleanly_and_the_next_run_finishes(tmp_path, many):
    out = tmp_path / "out"
    proc = thumbnailer(many, "-o", out, "-w", "2", "--no-progress")
    wait_for_outputs(out, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip().splitlines() == [err.strip()] and err.startswith("interrupted")
    assert temp_leftovers(out) == []
    assert_every_output_is_whole(out)
    made = len(image_files(out))
    assert 0 < made < COPIES

    again = thumbnailer(many, "-o", out, "-w", "2")
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0
    # What the interrupted run made was recorded, so it is not made twice.
    left = COPIES - made
    assert err.startswith(f"{COPIES} images: {left} made ({left} thumbnail"
                          f"{'s' if left != 1 else ''}), {made} up to date in")
    assert len(image_files(out)) == COPIES


def test_a_killed_run_leaves_no_truncated_thumbnail_and_the_next_run_finishes(tmp_path, many):
    out = tmp_path / "out"
    proc = thumbnailer(many, "-o", out, "-w", "2", "--no-progress")
    wait_for_outputs(out, proc, count=5)
    proc.kill()
    proc.communicate(timeout=60)
    time.sleep(1)  # let orphaned workers notice and finish what they were writing
    assert_every_output_is_whole(out)

    (out / "sub").mkdir(exist_ok=True)  # as a worker killed mid-write would leave one
    (out / "sub" / f"{TEMP_PREFIX}x1").write_bytes(b"half a png")
    assert (out / ".thumbnailer-running").exists()  # the killed run's mark
    again = thumbnailer(many, "-o", out, "-w", "2")
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert len(image_files(out)) == COPIES
    assert_every_output_is_whole(out)
    assert temp_leftovers(out) == [] and not (out / ".thumbnailer-running").exists()


def contents(root):
    """Every thumbnail under root (not the state file), by relative path: its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in image_files(root)}


@pytest.fixture
def varied(tmp_path):
    """Photos, a transparent PNG, a rotated JPEG and a greyscale one, in folders."""
    from helpers import oriented, photo, quadrants

    src = tmp_path / "varied"
    for n in range(6):
        photo(src / f"f{n % 2}" / f"p{n}.jpg", (900 + 37 * n, 700), seed=n, quality=90)
    oriented(src / "r.jpg", quadrants((640, 480)), 6)
    logo = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    logo.paste((0, 120, 255, 200), (40, 40, 260, 160))
    logo.save(src / "logo.png")
    Image.open(src / "f0" / "p0.jpg").convert("L").save(src / "grey.jpg")
    frames = [Image.new("RGB", (240, 180), (40 * k, 100, 255 - 40 * k)) for k in range(4)]
    frames[0].save(src / "anim.gif", save_all=True, append_images=frames[1:], duration=90)
    return src


JOB = ["-s", "400", "-s", "150", "-s", "48x48", "-f", "auto", "-f", "webp", "--keep-metadata",
       "--animated"]


def test_output_is_byte_stable_across_runs_and_worker_counts(tmp_path, varied):
    runs = {}
    for name, workers in [("one", 1), ("two", 2), ("again", 2)]:
        out = tmp_path / name
        proc = thumbnailer(varied, "-o", out, "-w", workers, *JOB)
        proc.communicate(timeout=120)
        assert proc.returncode == 0
        runs[name] = contents(out)
    assert len(runs["one"]) == 10 * 3 * 2
    with Image.open(tmp_path / "one" / "anim_150.gif") as anim:
        assert anim.n_frames == 4
    assert runs["one"] == runs["two"] == runs["again"]
    # A rerun that finds only some thumbnails missing makes them with the same bytes.
    out = tmp_path / "two"
    for rel in ("f0/p0_150.jpg", "logo_48.webp", "r_400.jpg"):
        (out / rel).unlink()
    proc = thumbnailer(varied, "-o", out, "-w", 2, *JOB)
    _, err = proc.communicate(timeout=120)
    assert err.startswith("10 images: 3 made (3 thumbnails), 7 up to date in")
    assert contents(out) == runs["one"]


def test_shards_together_equal_one_full_run(tmp_path, varied):
    full = tmp_path / "full"
    proc = thumbnailer(varied, "-o", full, "-w", 2, *JOB)
    proc.communicate(timeout=120)
    union, counts = {}, []
    for k in (1, 2, 3):
        out = tmp_path / f"shard{k}"
        proc = thumbnailer(varied, "-o", out, "-w", 2, "--shard", f"{k}/3", *JOB)
        proc.communicate(timeout=120)
        assert proc.returncode == 0
        part = contents(out)
        assert not set(part) & set(union)
        union.update(part)
        counts.append(len(part))
    assert union == contents(full)
    assert all(counts)
