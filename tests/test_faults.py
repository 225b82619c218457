"""Faults a run must survive: each says what went wrong, loses nothing, and stops
or goes on as it should."""

import errno
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from helpers import image_files, invoke, photo, render_crashing_on, temp_leftovers
from PIL import Image, ImageCms

from thumbnailer.plan import plan
from thumbnailer.read import RenderError, transient
from thumbnailer.render import render
from thumbnailer.run import run_tasks
from thumbnailer.spec import Format, Settings, Size, Target, Task

HOLD_LOCK = """
import sys, time
from thumbnailer.storage.lock import output_lock
with output_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""


@pytest.fixture
def photos(tmp_path):
    src = tmp_path / "photos"
    for i in range(8):
        photo(src / f"p{i}.jpg", (300, 200), seed=i)
    return src



# --- the output disk -------------------------------------------------------------

def failing_save(errno_value, after):
    """Image.save that fails with errno_value from the (after+1)-th call on."""
    original = Image.Image.save
    calls = []

    def save(self, fp, *args, **kwargs):
        calls.append(1)
        if len(calls) > after:
            raise OSError(errno_value, os.strerror(errno_value))
        return original(self, fp, *args, **kwargs)

    return save, calls


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_full_or_read_only_disk_stops_the_run_early(tmp_path, photos, monkeypatch, code):
    save, calls = failing_save(code, after=2)
    monkeypatch.setattr(Image.Image, "save", save)
    out = tmp_path / "out"
    result = invoke(photos, "-o", out, "-w", "1")
    assert result.exit_code == 3
    assert len(calls) == 3  # two made, one failed, then it stopped: not 8 attempts
    assert "stopping early: cannot write" in result.stderr
    assert os.strerror(code) in result.stderr
    assert "the images not attempted are left for the next run" in result.stderr
    assert len(image_files(out)) == 2
    assert temp_leftovers(out) == []


def test_a_write_error_on_one_file_does_not_stop_the_run(tmp_path, photos, monkeypatch):
    save, _ = failing_save(errno.EACCES, after=7)
    monkeypatch.setattr(Image.Image, "save", save)
    result = invoke(photos, "-o", tmp_path / "out", "-w", "1")
    assert result.exit_code == 1
    assert "8 images: 7 made (7 thumbnails), 1 failed in" in result.stderr


def test_an_output_folder_that_cannot_be_made_is_a_clear_error(tmp_path, photos):
    (tmp_path / "file").write_text("not a folder")
    result = invoke(photos, "-o", tmp_path / "file" / "out")
    assert result.exit_code == 3
    assert "cannot use the output folder" in result.stderr
    assert "Traceback" not in result.output


def test_an_output_folder_removed_during_the_run_is_made_again(tmp_path, photos):
    settings = Settings(output=str(tmp_path / "out"))
    job = plan([str(photos)], settings)
    first, *rest = job.tasks
    render(first)
    shutil.rmtree(tmp_path / "out")
    assert all(not render(task).failed for task in rest)


def test_a_decoder_crash_through_the_cli_costs_one_image(tmp_path, photos, monkeypatch):
    # The pool forks from this process, so the workers run this patched render.
    monkeypatch.setattr("thumbnailer.job.render", render_crashing_on)
    photo(photos / "segv.jpg", (300, 200), seed=20)
    photo(photos / "oom.jpg", (300, 200), seed=21)
    manifest = tmp_path / "m.json"
    result = invoke(photos, "-o", tmp_path / "out", "-w", "2", "--manifest", manifest)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert sorted(lines[:-1]) == [
        f"{photos / 'oom.jpg'}: the worker process was killed by SIGKILL while reading this image",
        f"{photos / 'segv.jpg'}: the worker process was killed by SIGSEGV while reading this image",
    ]
    assert lines[-1].startswith("10 images: 8 made (8 thumbnails), 2 failed in")
    assert len(image_files(tmp_path / "out")) == 8
    failed = [e for e in json.loads(manifest.read_text())["entries"] if e["status"] == "failed"]
    assert len(failed) == 2


# --- limits ------------------------------------------------------------------------

def test_max_file_size_refuses_before_opening(tmp_path, photos):
    big = photo(photos / "big.png", (600, 600), seed=9)
    result = invoke(photos, "-o", tmp_path / "out", "-w", "1", "--max-file-size", "50K")
    assert result.exit_code == 1
    assert f"{big}: " in result.stderr and "over the limit of 51,200 (--max-file-size)" \
        in result.stderr


@pytest.mark.parametrize("text", ["0", "12X", "-1", "1.5Q"])
def test_max_file_size_needs_a_byte_count(tmp_path, photos, text):
    result = invoke(photos, "-o", tmp_path / "out", "--max-file-size", text)
    assert result.exit_code == 2 and "number of bytes" in result.stderr


def noise_png(path, side=3000):
    """Noise: to encode it as an optimised 3000 px PNG takes about 1.5 s here, far
    over the limits the tests set, and far over what any other test image takes
    (about 10 ms: a worker loads Pillow's plugins before its first task, so a
    busy machine does not push the first small image over the limit either)."""
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(
        path, compress_level=1)
    return path


def test_timeout_stops_a_slow_image_in_process(tmp_path):
    src = noise_png(tmp_path / "slow.png")
    task = Task(str(src), (Target(Size(3000, 3000), str(tmp_path / "out" / "slow"), Format.PNG),),
                Settings(timeout=0.2, formats=(Format.PNG,)))
    started = time.monotonic()
    outcome = render(task)
    assert outcome.failed and outcome.error == "took longer than 0.2 s (Settings.timeout)"
    assert time.monotonic() - started < 2
    assert temp_leftovers(tmp_path) == []


def test_timeout_through_the_pool_fails_only_the_slow_image(tmp_path, photos):
    noise_png(photos / "slow.png")
    result = invoke(photos, "-o", tmp_path / "out", "-w", "2", "--timeout", "0.5",
                    "-s", "3000", "-f", "png")
    assert result.exit_code == 1
    assert "slow.png: took longer than 0.5 s (--timeout)" in result.stderr
    assert "9 images: 8 made (8 thumbnails), 1 failed in" in result.stderr


def sleep_in_c(task):
    """Stuck where no Python signal handler runs: a blocking C call with SIGALRM masked."""
    if task == 3:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(60)
    return task


def gave_up(task, reason):
    return ("gave up", task, reason)


def test_the_hard_limit_stops_a_task_nothing_else_can(tmp_path):
    started = time.monotonic()
    results = list(run_tasks(sleep_in_c, range(6), 2, on_crash=gave_up, hard_timeout=1))
    assert time.monotonic() - started < 20
    stuck = [r for r in results if isinstance(r, tuple)]
    assert stuck == [("gave up", 3, "took longer than 1 s and was stopped")]
    assert sorted(r for r in results if not isinstance(r, tuple)) == [0, 1, 2, 4, 5]


# --- absurd metadata ---------------------------------------------------------------

def test_a_huge_exif_block_and_bogus_orientation(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 65535  # not an orientation
    exif[0x010E] = "x" * 60_000  # ImageDescription filling the whole APP1 segment
    src = tmp_path / "fat.jpg"
    Image.new("RGB", (300, 200), "red").save(src, exif=exif.tobytes())
    task = Task(str(src), (Target(Size(64, 64), str(tmp_path / "out" / "fat")),),
                Settings(keep_metadata=True))
    outcome = render(task)
    assert not outcome.failed
    with Image.open(outcome.entries[0].output) as thumb:
        assert thumb.size == (64, 43)
        assert thumb.getexif()[0x0112] == 1


def test_a_large_garbage_icc_profile_is_ignored_and_a_metadata_bomb_refused(tmp_path):
    def render_with_profile(name, profile):
        src = tmp_path / name
        Image.new("RGB", (200, 200), "blue").save(src, icc_profile=profile)
        return render(Task(str(src), (Target(Size(64, 64), str(tmp_path / "out" / name)),),
                           Settings()))

    kept = render_with_profile("large.png", os.urandom(512 << 10))
    assert not kept.failed  # the profile is ignored, the picture is kept
    with Image.open(kept.entries[0].output) as thumb:
        assert thumb.getpixel((5, 5))[2] > 200
        profile = ImageCms.ImageCmsProfile(io.BytesIO(thumb.info["icc_profile"]))
        assert "sRGB" in ImageCms.getProfileDescription(profile)  # ours, not the garbage
    bomb = render_with_profile("bomb.png", bytes(64 << 20))  # 64 MB that zlib shrinks to 64 KB
    assert bomb.error == ("refused: a metadata chunk (text or colour profile) is over "
                          "Pillow's size limit")


# --- sources that change under us ----------------------------------------------------

def test_a_source_changed_while_it_was_read_is_made_again(tmp_path, photos):
    settings = Settings(output=str(tmp_path / "out"))
    job = plan([str(photos)], settings)
    outcomes = [render(task) for task in job.tasks]
    time.sleep(0.01)
    photo(photos / "p0.jpg", (300, 200), seed=99)  # changed after it was read
    for outcome in outcomes:
        job.record(outcome)
    job.save()
    again = plan([str(photos)], settings)
    assert [t.source for t in again.tasks] == [str(photos / "p0.jpg")]


def test_a_source_that_vanishes_or_is_truncated_mid_run_is_one_failure(tmp_path, photos):
    settings = Settings(output=str(tmp_path / "out"))
    tasks = plan([str(photos)], settings).tasks  # walked: found, then changed
    os.unlink(photos / "p1.jpg")
    data = (photos / "p2.jpg").read_bytes()
    (photos / "p2.jpg").write_bytes(data[: len(data) // 3])
    outcomes = {o.source: o for o in (render(t) for t in tasks)}
    assert outcomes[str(photos / "p1.jpg")].error == "the file disappeared before it could be read"
    assert outcomes[str(photos / "p2.jpg")].error.startswith("truncated image data")
    assert sum(not o.failed for o in outcomes.values()) == 6
    # A vanished file may come back: not the file's own failure, not in the ledger.
    assert outcomes[str(photos / "p1.jpg")].transient
    assert not outcomes[str(photos / "p2.jpg")].transient


@pytest.mark.parametrize("exc, passes", [
    (PermissionError(13, "denied"), True), (FileNotFoundError(), True), (MemoryError(), True),
    (ConnectionResetError(), True), (TimeoutError(), True), (ValueError("bad data"), False),
    (OSError("broken data stream"), False), (RenderError("took longer than 1 s"), False),
])
def test_failures_that_may_pass_on_their_own_are_told_apart(exc, passes):
    assert transient(exc) is passes
    try:  # as decode wraps what a reader raised, with its cause
        raise RenderError("worded") from exc
    except RenderError as wrapped:
        assert transient(wrapped) is passes


# --- overlapping runs and signals ------------------------------------------------------

def test_a_second_run_on_the_same_output_exits_75(tmp_path, photos):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(out)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = invoke(photos, "-o", out, "-w", "1")
        assert result.exit_code == 75
        assert f"another thumbnailer run is using {out}" in result.stderr
        assert image_files(out) == []
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert invoke(photos, "-o", out, "-w", "1").exit_code == 0  # the kill freed it


def test_wait_runs_after_the_other_run(tmp_path, photos):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(out)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    run = subprocess.Popen([sys.executable, "-m", "thumbnailer", str(photos), "-o", str(out),
                            "--wait", "-w", "1"], stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    assert run.poll() is None and image_files(out) == []  # still waiting
    holder.kill()
    holder.wait()
    holder.stdout.close()
    _, err = run.communicate(timeout=60)
    assert run.returncode == 0 and err.startswith("8 images: 8 made (8 thumbnails) in")


def test_sigterm_stops_cleanly_with_143(tmp_path):
    src = tmp_path / "many"
    src.mkdir()
    noise_png(src / "000.png", side=2000)
    for n in range(1, 40):
        shutil.copyfile(src / "000.png", src / f"{n:03}.png")
    out = tmp_path / "out"
    run = subprocess.Popen([sys.executable, "-m", "thumbnailer", str(src), "-o", str(out),
                            "-w", "2", "-s", "2000", "-f", "png"], stderr=subprocess.PIPE,
                           text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (out.exists() and image_files(out)):
        assert run.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(run.pid, signal.SIGTERM)  # as systemd does: the whole process group
    _, err = run.communicate(timeout=60)
    assert run.returncode == 143
    assert err.startswith("terminated (SIGTERM)")
    assert temp_leftovers(out) == []
    for path in image_files(out):
        with Image.open(path) as im:
            im.load()


# --- names a shell would choke on ---------------------------------------------------

def test_awkward_file_names(tmp_path):
    src = tmp_path / "photos"
    names = ["with space.jpg", "new\nline.jpg", "-leading-dash.jpg", "ünïcödé.jpg"]
    for i, name in enumerate(names):
        photo(src / name, (80, 60), seed=i)
    raw = os.fsencode(src) + b"/bytes-\xff\xfe.jpg"  # not valid UTF-8
    with open(raw, "wb") as f:
        f.write((src / names[0]).read_bytes())
    manifest = tmp_path / "m.json"
    result = invoke(src, "-o", tmp_path / "out", "-w", "2", "--manifest", manifest)
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("5 images: 5 made (5 thumbnails) in")
    data = json.loads(manifest.read_text())
    made = {os.fsencode(e["output"]) for e in data["entries"]}
    assert os.fsencode(tmp_path / "out") + b"/bytes-\xff\xfe.jpg" in made
    assert all(os.path.exists(e["output"]) for e in data["entries"])


def test_very_deep_folders(tmp_path):
    deep = tmp_path / "photos"
    for i in range(60):
        deep = deep / f"d{i}"
    photo(deep / "deep.jpg", (50, 50))
    result = invoke(tmp_path / "photos", "-o", tmp_path / "out", "-w", "1")
    assert result.exit_code == 0
    assert len(image_files(tmp_path / "out")) == 1
