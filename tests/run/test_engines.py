"""The engines, for real: threads, and Dask clusters on loopback."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from helpers import image_files, photo, square
from PIL import Image

from thumbnailer import cli
from thumbnailer.run import run_tasks
from thumbnailer.run.engines import DASK_LOG_LENGTH, EngineError, engine


def crashed(task, reason):
    return ("crashed", task, reason)


@pytest.fixture
def photos(tmp_path):
    src = tmp_path / "photos"
    for n in range(12):
        photo(src / f"d{n % 3}" / f"p{n:02}.jpg", (600 + 10 * n, 400), seed=n)
    (src / "bad.jpg").write_bytes(b"not a jpeg")
    return src


def invoke(*args):
    return CliRunner().invoke(cli.main, [str(a) for a in args], catch_exceptions=False)


def relative_manifest(path, root):
    """The manifest's entries with outputs relative to their root, for comparing runs."""
    data = json.loads(path.read_text())
    rows = []
    for e in data["entries"]:
        e = dict(e)
        # A failure's "since" is the time it was first seen: runs differ in it.
        assert ("since" in e) == (e["status"] == "failed")
        e.pop("since", None)
        if e["output"]:
            e["output"] = os.path.relpath(e["output"], root)
        rows.append(e)
    return rows, data["sources"], {k: v for k, v in data["summary"].items() if k != "seconds"}


def contents(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in image_files(root)}


def test_the_thread_engine_maps_a_function():
    with engine("thread", 3) as found:
        results = run_tasks(square, range(30), found.slots, on_crash=crashed,
                            executor_factory=found.executor_factory)
        assert sorted(results) == [n * n for n in range(30)]


def test_a_local_dask_cluster_makes_what_the_process_pool_makes(tmp_path, photos):
    job = ["-s", "200", "-s", "64", "-f", "auto", "-f", "webp"]
    local = invoke(photos, "-o", tmp_path / "local", "-w", "2", *job,
                   "--manifest", tmp_path / "local.json")
    dask = invoke(photos, "-o", tmp_path / "dask", "-w", "2", "--executor", "dask", *job,
                  "--manifest", tmp_path / "dask.json")
    assert local.exit_code == dask.exit_code == 1  # bad.jpg, in both
    assert dask.stderr.splitlines()[0] == f"{photos / 'bad.jpg'}: " + (
        "not an image, or in a format Pillow cannot read")
    # One line for bad.jpg and its four thumbnails; the summary counts it once.
    assert len(dask.stderr.splitlines()) == 2
    assert dask.stderr.splitlines()[1].startswith("13 images: 12 made (48 thumbnails), 1 failed")
    assert contents(tmp_path / "dask") == contents(tmp_path / "local")
    assert len(contents(tmp_path / "dask")) == 12 * 4
    assert relative_manifest(tmp_path / "dask.json", tmp_path / "dask") == relative_manifest(
        tmp_path / "local.json", tmp_path / "local")
    # bad.jpg is a known failure now: tried again only when asked, and then on Dask.
    rerun = invoke(photos, "-o", tmp_path / "dask", "--executor", "dask", *job)
    assert rerun.exit_code == 0 and rerun.stderr.splitlines() == [
        rerun.stderr.splitlines()[0]]
    assert rerun.stderr.startswith(
        "13 images: 12 up to date, 1 failed (1 known, not retried) in")
    retried = invoke(photos, "-o", tmp_path / "dask", "--executor", "dask", *job,
                     "--retry-failed")
    assert retried.exit_code == 0  # the same file failing again is not a new failure
    assert retried.stderr.splitlines()[1].startswith(
        "13 images: 12 up to date, 1 failed in")


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as c:
        yield c


def test_an_existing_scheduler_by_address(tmp_path, photos, cluster):
    result = invoke(photos, "-o", tmp_path / "out", "--scheduler", cluster.scheduler_address,
                    "-s", "100")
    assert result.exit_code == 1 and result.stderr.count("\n") == 2  # bad.jpg + summary
    local = invoke(photos, "-o", tmp_path / "local", "-w", "1", "-s", "100")
    assert local.exit_code == 1
    assert contents(tmp_path / "out") == contents(tmp_path / "local")


def test_a_dask_client_keeps_a_short_message_log_while_it_runs(cluster):
    # Dask's default keeps each connection's last 1,000 messages: batches of tasks.
    import dask

    default = dask.config.get("distributed.admin.low-level-log-length")
    with engine("dask", 2, cluster.scheduler_address) as found:
        assert dask.config.get("distributed.admin.low-level-log-length") == DASK_LOG_LENGTH
        assert sorted(run_tasks(square, range(200), found.slots, on_crash=crashed,
                                executor_factory=found.executor_factory)) == [
            n * n for n in range(200)]
        comm = found.executor_factory()._client.scheduler_comm
        assert comm.recent_message_log.maxlen == DASK_LOG_LENGTH
    assert dask.config.get("distributed.admin.low-level-log-length") == default


def test_a_dask_worker_killed_mid_run_loses_no_image_and_counts_none_twice(tmp_path, cluster):
    from distributed import Client

    src = tmp_path / "many"
    noise = Image.frombytes("RGB", (1400, 1400), os.urandom(1400 * 1400 * 3))
    src.mkdir()
    noise.save(src / "00.png", compress_level=1)
    for n in range(1, 40):  # the same bytes: encoded once (0.25 s each), copied
        shutil.copyfile(src / "00.png", src / f"{n:02}.png")
    out = tmp_path / "out"
    manifest = tmp_path / "m.json"
    run = subprocess.Popen(
        [sys.executable, "-m", "thumbnailer", str(src), "-o", str(out), "-s", "300",
         "--scheduler", cluster.scheduler_address, "--manifest", str(manifest)],
        stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out.exists() and len(image_files(out)) >= 3):
        assert run.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    with Client(cluster.scheduler_address) as client:
        pids = client.run(os.getpid)
        victim = sorted(pids.values())[0]
        os.kill(victim, signal.SIGKILL)  # the nanny restarts it; its tasks go elsewhere
    _, err = run.communicate(timeout=180)
    assert run.returncode == 0, err
    assert len(image_files(out)) == 40
    entries = json.loads(manifest.read_text())["entries"]
    assert sorted(e["source"] for e in entries) == sorted(str(p) for p in src.iterdir())
    assert {e["status"] for e in entries} == {"created"}
    assert len(image_files(out)) == len(list(src.iterdir()))
    with Client(cluster.scheduler_address) as client:
        assert victim not in client.run(os.getpid).values()  # it really died


def test_an_unreachable_scheduler_is_one_line_and_exit_3(tmp_path, photos, monkeypatch):
    monkeypatch.setattr("thumbnailer.run.engines.CONNECT_TIMEOUT", "1s")
    result = invoke(photos, "-o", tmp_path / "out", "--scheduler", "tcp://127.0.0.1:9")
    assert result.exit_code == 3
    assert result.stderr.startswith("thumbnailer: cannot reach the Dask scheduler at "
                                    "tcp://127.0.0.1:9")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_cluster_that_does_not_start_is_one_line_naming_it(tmp_path, photos, monkeypatch):
    """Seen at a load of 10: the local cluster timed out starting, and the run said
    "cannot use the output folder ...:" with nothing after (a TimeoutError has no
    message), though the folder was fine."""
    import distributed

    def slow(*args, **kwargs):
        raise TimeoutError()

    monkeypatch.setattr(distributed, "LocalCluster", slow)
    result = invoke(photos, "-o", tmp_path / "out", "--executor", "dask", "-w", "2")
    assert result.exit_code == 3
    assert result.stderr == ("thumbnailer: cannot start a local Dask cluster of 2: "
                             "TimeoutError\n"), result.stderr


def test_scheduler_with_another_executor_is_a_usage_error(tmp_path, photos):
    result = invoke(photos, "-o", tmp_path / "out", "--executor", "thread",
                    "--scheduler", "tcp://x:1")
    assert result.exit_code == 2 and "--scheduler is for --executor dask" in result.stderr


def test_without_the_extra_dask_is_a_usage_error_naming_it(tmp_path, photos, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "distributed" else real(name, *a))
    result = invoke(photos, "-o", tmp_path / "out", "--executor", "dask")
    assert result.exit_code == 2 and "pip install 'thumbnailer[dask]'" in result.stderr
    with pytest.raises(EngineError, match=r"thumbnailer\[dask\]"):
        monkeypatch.setitem(sys.modules, "distributed", None)
        with engine("dask", 1):
            pass


def test_the_default_path_never_imports_dask(tmp_path, photos):
    code = ("import sys\n"
            "from thumbnailer.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code, str(photos), "-o", str(tmp_path / "o"),
                           "-w", "2"], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "[]"
    assert "12 made (12 thumbnails)" in proc.stderr


def test_an_unchanged_rerun_starts_no_cluster(tmp_path, photos, monkeypatch):
    (photos / "bad.jpg").unlink()  # a failed image is tried again, which needs an engine
    invoke(photos, "-o", tmp_path / "out", "-w", "1")
    monkeypatch.setattr("thumbnailer.job.engine", None)  # any use would raise TypeError
    result = invoke(photos, "-o", tmp_path / "out", "--executor", "dask")
    assert result.stderr.startswith("12 images: 12 up to date in")


def test_a_local_dask_clusters_workers_say_what_their_decoders_wrote_naming_the_file(
        tmp_path, capfd, recwarn):
    """Our own cluster's workers run one task at a time, on a thread: each task's
    stderr is still its own (run/stderr.py), shown with -v, never printed raw. And
    Dask's warning that port 8787 is taken (by another cluster) is not printed."""
    import socket

    import corpora

    tif = corpora.pillow_images() / "oom-225817ca0f8c663be7ab4b9e717b02c661e66834.tif"
    said = f"{tif}: warning: More samples per pixel than can be decoded: 303169682"
    capfd.readouterr()
    with socket.socket() as taken:
        try:
            taken.bind(("", 8787))
            taken.listen()
        except OSError:
            pass  # taken already, as it should be for this test
        result = invoke(tif, "-o", tmp_path / "out", "-w", "1", "--executor", "dask", "-v")
    assert said in result.stderr.splitlines()
    assert "More samples" not in capfd.readouterr().err  # not from the worker, raw
    assert not [w for w in recwarn.list if "already in use" in str(w.message)]
