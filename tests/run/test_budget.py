"""--max-memory: tasks are admitted while their estimated peaks fit the budget."""

import io
import subprocess
import sys
import threading
import time

import pytest
from click.testing import CliRunner
from PIL import Image

from thumbnailer import cli
from thumbnailer.run import budget, run_tasks
from thumbnailer.run.budget import Budget
from thumbnailer.run.engines import engine


class Meter:
    """What the fake tasks hold at once: each holds its cost while it runs."""

    def __init__(self):
        self.lock = threading.Lock()
        self.now = self.peak = 0
        self.alone = {}  # task -> whether nothing else ran while it did
        self.running = set()

    def task(self, item):
        name, cost = item
        with self.lock:
            self.now += cost
            self.peak = max(self.peak, self.now)
            self.running.add(name)
            self.alone[name] = len(self.running) == 1
        time.sleep(0.02)
        with self.lock:
            if len(self.running) > 1:
                self.alone[name] = False
            self.running.discard(name)
            self.now -= cost
        return name


def crashed(task, reason):
    raise AssertionError(reason)


def run(items, limit, workers=4):
    meter, asked = Meter(), []

    def cost(item):
        asked.append(item[0])
        return item[1]

    with engine("thread", workers) as found:
        done = list(run_tasks(meter.task, items, workers, on_crash=crashed,
                              executor_factory=found.executor_factory, batch_seconds=0.0001,
                              budget=Budget(limit, cost if limit else None)))
    return meter, done, asked


def test_what_runs_at_once_stays_within_the_budget_and_all_is_done():
    items = [(f"t{n}", cost) for n, cost in enumerate([30, 50, 20, 70, 10, 40, 60, 25] * 4)]
    meter, done, _ = run(items, limit=100)
    assert sorted(done) == sorted(name for name, _ in items)
    assert meter.peak <= 100
    unlimited, _, asked = run(items, limit=None)
    assert unlimited.peak > 100  # the same tasks, without a budget, go over it
    assert asked == []  # and nothing is estimated


def test_a_task_bigger_than_the_whole_budget_runs_alone():
    items = [("a", 10), ("b", 10), ("huge", 500), ("c", 10), ("d", 10), ("e", 10)]
    meter, done, _ = run(items, limit=100)
    assert sorted(done) == ["a", "b", "c", "d", "e", "huge"]
    assert meter.alone["huge"]
    assert meter.peak == 500  # itself, and nothing beside it


def test_admission_counts_only_what_may_be_running_at_once():
    """A batch costs its largest task; with 2 slots, the 2 costliest batches in
    flight are what may run at once (queued ones hold nothing yet)."""
    admit = Budget(100, lambda task: task)
    admit.slots = 2
    first, second, third, fourth = [60, 10], [30], [40], [50]
    assert admit.admits(first, alone=False)
    admit.hold("f1", first)
    assert admit.admits(second, alone=False)
    admit.hold("f2", second)
    assert admit.admits(third, alone=False)  # 60 + 40: the 30 waits behind them
    assert not admit.admits(fourth, alone=False)
    assert admit.admits([500], alone=True)
    admit.release("f1")
    assert admit.admits(fourth, alone=False)
    assert admit.in_flight == 30


def test_with_room_for_the_worst_case_nothing_is_estimated():
    assert not budget.needed(limit=10_000, worst_task=1000, slots=8)
    assert budget.needed(limit=10_000, worst_task=1000, slots=16)


def test_the_default_is_half_of_what_is_available():
    room = budget.available()
    assert room is not None and room > 0
    assert abs(budget.default() - room * budget.DEFAULT_SHARE) < 0.05 * room


@pytest.fixture(scope="module")
def big_png_bytes():
    """big.png's bytes, made once for the module (0.7 s: 216 MB of pixels)."""
    buffer = io.BytesIO()
    Image.new("RGB", (9000, 6000), (200, 120, 40)).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


@pytest.fixture
def big_png(tmp_path, big_png_bytes):
    """A 9000 x 6000 PNG (216 MB of pixels in Pillow), quick to write."""
    src = tmp_path / "photos"
    src.mkdir()
    (src / "big.png").write_bytes(big_png_bytes)
    Image.new("RGB", (300, 200), (20, 120, 40)).save(src / "small.png")
    return src


def test_a_worker_that_would_need_more_fails_that_image_as_out_of_memory(big_png, tmp_path):
    """The real command, through the real process pool: each worker's address
    space is limited, so the big image fails, named, and the run goes on; it is
    not a known failure (more memory may make it), and without the limit it is
    made. (A process of its own: a worker's limit counts from what it inherits,
    and a long test session's heap has room to spare in it.)"""
    out = tmp_path / "out"

    def command(*args):
        return subprocess.run([sys.executable, "-m", "thumbnailer", str(big_png), "-o", str(out),
                               "-w", "2", *args], capture_output=True, text=True, timeout=120)

    result = command("--max-memory", "64M")
    assert result.returncode == 1
    assert f"{big_png / 'big.png'}: out of memory: it needs about 2" in result.stderr
    assert "more than --max-memory lets one image take" in result.stderr
    assert (out / "small.jpg").exists() and not (out / "big.jpg").exists()
    again = command()
    assert again.returncode == 0 and again.stderr.startswith(
        "2 images: 1 made (1 thumbnail), 1 up to date in")


@pytest.mark.parametrize("text", ["lots", "0", "150%"])
def test_max_memory_is_an_amount_or_a_share(tmp_path, big_png, text):
    result = CliRunner().invoke(cli.main, [str(big_png), "-o", str(tmp_path / "o"),
                                           "--max-memory", text])
    assert result.exit_code == 2 and "--max-memory" in result.stderr


def test_out_of_memory_says_what_is_left_of_the_budget_not_of_its_slack(monkeypatch):
    """A worker's limit is what it mapped at its start + the budget + ADDRESS_SLACK:
    with --max-memory 200M and 72 MB taken since, 128 MB of the budget are left
    (not 256, the slack counted in: more than the whole budget)."""
    import resource

    from thumbnailer.read import cost
    from thumbnailer.spec import Settings, Size, Target, Task

    start = 1 << 30
    soft = start + (200 << 20) + budget.ADDRESS_SLACK
    monkeypatch.setattr(resource, "getrlimit", lambda _: (soft, resource.RLIM_INFINITY))
    monkeypatch.setattr(resource, "setrlimit", lambda *_: None)
    monkeypatch.setattr(cost, "mapped", lambda: start + (72 << 20))
    monkeypatch.setattr(cost, "decode_cost", lambda task: 420 << 20)
    task = Task("big.png", (Target(Size(64, 64), "out/big", Settings().formats[0]),),
                Settings())
    assert cost.over_limit(task) == ("out of memory: it needs about 420 MB, more than "
                                     "Options.max_memory lets one image take (128 MB of it left)")
