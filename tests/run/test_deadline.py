"""--deadline: newest sources first, nothing started once the time is up."""

import os
import time

from click.testing import CliRunner
from helpers import photo

from thumbnailer import cli
from thumbnailer import job as job_module
from thumbnailer.run.deadline import Deadline
from thumbnailer.spec import Settings, Task


def tasks(mtimes):
    return [Task(f"/p/{n}.jpg", (), Settings(), mtime_ns=m) for n, m in enumerate(mtimes)]


def test_the_newest_go_first_and_ties_keep_the_walk_order():
    clock = Deadline(time.monotonic() + 60, lambda: None)
    got = [t.source for t in clock.newest_first(iter(tasks([5, 9, 1, 9])))]
    assert got == ["/p/1.jpg", "/p/3.jpg", "/p/0.jpg", "/p/2.jpg"] and clock.left == 0


def test_a_deadline_met_during_the_walk_ends_the_walk():
    stopped = []
    clock = Deadline(time.monotonic() - 1, lambda: stopped.append(True))
    assert list(clock.newest_first(iter(tasks([1, 2, 3])))) == []
    assert stopped == [True] and clock.left == 1  # found before the walk was told to end


def test_a_run_stops_starting_images_at_the_deadline_and_the_next_carries_on(
        tmp_path, monkeypatch):
    photos, out = tmp_path / "photos", tmp_path / "out"
    for n in range(6):
        photo(photos / f"p{n}.jpg", (60, 40), seed=n)
        os.utime(photos / f"p{n}.jpg", ns=(n * 10**9, n * 10**9))  # p5 is the newest
    job = job_module
    render = job.render

    def slow(task):
        time.sleep(0.5)
        return render(task)

    monkeypatch.setattr(job, "render", slow)
    result = CliRunner().invoke(cli.main, [str(photos), "-o", str(out), "-w", "1",
                                           "--deadline", "1.2s"])
    # Started at about 0, 0.5 and 1.0 s; at 1.5 s the time is up.
    assert result.exit_code == 6, result.output
    assert sorted(p.name for p in out.glob("*.jpg")) == ["p3.jpg", "p4.jpg", "p5.jpg"]
    assert "--deadline reached: 3 images not started, left for the next run" in result.stderr
    monkeypatch.setattr(job, "render", render)
    again = CliRunner().invoke(cli.main, [str(photos), "-o", str(out), "-w", "1"])
    assert again.exit_code == 0
    assert "6 images: 3 made (3 thumbnails), 3 up to date in" in again.stderr


def test_a_deadline_is_a_duration(tmp_path):
    (tmp_path / "p").mkdir()
    result = CliRunner().invoke(cli.main, [str(tmp_path / "p"), "-o", str(tmp_path / "o"),
                                           "--deadline", "soon"])
    assert result.exit_code == 2 and "give a duration" in result.stderr


def test_a_deadline_run_takes_no_task_ahead_of_time(tmp_path, monkeypatch):
    """run_tasks reads a stream ahead to shrink the last batches; a task read
    before the time is up would start after it, uncounted: off with --deadline."""
    photos = tmp_path / "photos"
    for n in range(3):
        photo(photos / f"p{n}.jpg", (60, 40), seed=n)
    asked, original = [], job_module.run_tasks

    def run_tasks(*args, **kwargs):
        asked.append(kwargs["read_ahead"])
        return original(*args, **kwargs)

    monkeypatch.setattr(job_module, "run_tasks", run_tasks)
    for extra in (["--deadline", "1h"], []):
        result = CliRunner().invoke(cli.main, [str(photos), "-o", str(tmp_path / str(extra)),
                                               "-w", "2", "--executor", "thread", *extra])
        assert result.exit_code == 0, result.output
    assert asked == [False, True]
