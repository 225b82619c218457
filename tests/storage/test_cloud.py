"""Sources and outputs on S3, against a real S3 endpoint on loopback (moto's server)."""

import json
import os
import subprocess
import sys

import pytest
from helpers import image_files, photo

from thumbnailer.plan.state import STATE_NAME

BUCKET = "media"


@pytest.fixture(scope="module")
def s3_env():
    """A moto S3 server on loopback, and the environment that points fsspec at it."""
    from moto.server import ThreadedMotoServer

    # Port 0: the server binds a free port itself. A port probed free and bound
    # later can be taken in between (by another xdist worker's Dask cluster, say),
    # and then start() waits forever for a server that failed in its thread.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1",
           "FSSPEC_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    try:
        yield env
    finally:
        server.stop()


@pytest.fixture
def s3(s3_env, monkeypatch, tmp_path):
    """A fresh bucket holding photos/ (with a folder and a bad file), and the same
    photos on local disk for the reference run."""
    import s3fs

    fs = s3fs.S3FileSystem(endpoint_url=s3_env["FSSPEC_S3_ENDPOINT_URL"], key="testing",
                           secret="testing")
    if fs.exists(BUCKET):
        fs.rm(BUCKET, recursive=True)
    fs.mkdir(BUCKET)
    local = tmp_path / "photos"
    for n in range(6):
        photo(local / ("trip" if n % 2 else "") / f"p{n}.jpg", (500 + 20 * n, 400), seed=n)
    (local / "bad.jpg").write_bytes(b"not a jpeg")
    for p in local.rglob("*.jpg"):
        fs.put_file(str(p), f"{BUCKET}/photos/{p.relative_to(local).as_posix()}")
    fs.invalidate_cache()
    return fs, local


def thumbnailer(env, *args):
    return subprocess.run([sys.executable, "-m", "thumbnailer", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300)


def s3_contents(fs, prefix):
    fs.invalidate_cache()
    return {path[len(prefix) + 1:]: fs.cat_file(path) for path in fs.find(prefix)
            if not path.rsplit("/", 1)[-1].startswith(".")}


def local_contents(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in image_files(root)}


def comparable(manifest_path, root, sources_root):
    """A manifest with sources and outputs relative to their roots."""
    data = json.loads(manifest_path.read_text())

    def rel(path, base):
        base = str(base).rstrip("/")
        return path[len(base) + 1:] if path and path.startswith(base) else path

    # A failure's "since" is the time it was first seen: runs differ in it.
    assert all(("since" in e) == (e["status"] == "failed") for e in data["entries"])
    entries = [{**{k: v for k, v in e.items() if k != "since"},
                "source": rel(e["source"], sources_root), "output": rel(e["output"], root)}
               for e in data["entries"]]
    sources = [{**s, "source": rel(s["source"], sources_root)} for s in data["sources"]]
    return entries, sources


JOB = ["-s", "160", "-s", "48", "-f", "auto", "-f", "webp", "-w", "2"]


def test_s3_to_s3_makes_what_a_local_run_makes(s3, s3_env, tmp_path):
    fs, local = s3
    remote = thumbnailer(s3_env, f"s3://{BUCKET}/photos", "-o", f"s3://{BUCKET}/thumbs", *JOB,
                         "--manifest", tmp_path / "remote.json")
    here = thumbnailer(s3_env, local, "-o", tmp_path / "thumbs", *JOB,
                       "--manifest", tmp_path / "local.json")
    assert remote.returncode == here.returncode == 1, remote.stderr  # bad.jpg in both
    assert remote.stderr.splitlines()[0] == (
        f"s3://{BUCKET}/photos/bad.jpg: not an image, or in a format Pillow cannot read")
    made = s3_contents(fs, f"{BUCKET}/thumbs")
    assert made == local_contents(tmp_path / "thumbs") and len(made) == 6 * 4
    assert comparable(tmp_path / "remote.json", f"s3://{BUCKET}/thumbs",
                      f"s3://{BUCKET}/photos") == comparable(
        tmp_path / "local.json", tmp_path / "thumbs", local)


def test_an_unchanged_rerun_on_s3_writes_nothing_and_a_changed_object_is_remade(s3, s3_env):
    fs, local = s3
    args = [f"s3://{BUCKET}/photos", "-o", f"s3://{BUCKET}/thumbs", "-s", "64", "-w", "2"]
    thumbnailer(s3_env, *args)
    state = f"{BUCKET}/thumbs/{STATE_NAME}"
    fs.invalidate_cache()
    before = fs.info(state)["LastModified"]
    again = thumbnailer(s3_env, *args)
    assert again.stderr.splitlines()[-1].startswith("7 images: 6 up to date, 1 failed")
    fs.invalidate_cache()
    assert fs.info(state)["LastModified"] == before  # not even the state was written
    photo(local / "p0.jpg", (300, 300), seed=99)  # a new version of one object
    fs.put_file(str(local / "p0.jpg"), f"{BUCKET}/photos/p0.jpg")
    third = thumbnailer(s3_env, *args)
    assert third.stderr.splitlines()[-1].startswith(
        "7 images: 1 made (1 thumbnail), 5 up to date")


def test_prune_deletes_objects_whose_source_is_gone(s3, s3_env):
    fs, _ = s3
    args = [f"s3://{BUCKET}/photos", "-o", f"s3://{BUCKET}/thumbs", "-s", "64", "-w", "1"]
    thumbnailer(s3_env, *args)
    fs.rm_file(f"{BUCKET}/photos/trip/p1.jpg")
    result = thumbnailer(s3_env, *args, "--prune")
    assert "; 1 thumbnail pruned in" in result.stderr.splitlines()[-1]
    assert "trip/p1.jpg" not in s3_contents(fs, f"{BUCKET}/thumbs")
    assert "trip/p3.jpg" in s3_contents(fs, f"{BUCKET}/thumbs")


def test_local_sources_to_s3_and_s3_sources_to_local(s3, s3_env, tmp_path):
    fs, local = s3
    up = thumbnailer(s3_env, local, "-o", f"s3://{BUCKET}/up", "-s", "64", "-w", "2")
    down = thumbnailer(s3_env, f"s3://{BUCKET}/photos", "-o", tmp_path / "down", "-s", "64",
                       "-w", "2")
    assert up.returncode == down.returncode == 1
    assert s3_contents(fs, f"{BUCKET}/up") == local_contents(tmp_path / "down")


def test_a_dask_cluster_reads_and_writes_s3_as_a_local_run_does(s3, s3_env, tmp_path):
    fs, local = s3
    remote = thumbnailer(s3_env, f"s3://{BUCKET}/photos", "-o", f"s3://{BUCKET}/thumbs", *JOB,
                         "--executor", "dask", "--manifest", tmp_path / "remote.json")
    here = thumbnailer(s3_env, local, "-o", tmp_path / "thumbs", *JOB,
                       "--manifest", tmp_path / "local.json")
    assert remote.returncode == here.returncode == 1, remote.stderr
    assert s3_contents(fs, f"{BUCKET}/thumbs") == local_contents(tmp_path / "thumbs")
    assert comparable(tmp_path / "remote.json", f"s3://{BUCKET}/thumbs",
                      f"s3://{BUCKET}/photos") == comparable(
        tmp_path / "local.json", tmp_path / "thumbs", local)


def test_a_missing_object_or_bucket_is_a_usage_error(s3, s3_env, tmp_path):
    result = thumbnailer(s3_env, f"s3://{BUCKET}/nothing-here", "-o", tmp_path / "o")
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_without_the_cloud_extra_a_url_names_it(tmp_path, s3_env):
    code = ("import sys; sys.modules['fsspec'] = None; "
            "from thumbnailer.cli import main; main()")
    result = subprocess.run([sys.executable, "-c", code, f"s3://{BUCKET}/photos", "-o",
                             str(tmp_path / "o")], capture_output=True, text=True, env=s3_env)
    assert result.returncode == 2
    assert "pip install 'thumbnailer[cloud]'" in result.stderr


def test_a_gallery_and_a_dry_run_on_s3(s3, s3_env):
    fs, _ = s3
    args = [f"s3://{BUCKET}/photos", "-o", f"s3://{BUCKET}/thumbs", "-s", "64", "-w", "1"]
    dry = thumbnailer(s3_env, *args, "--dry-run")
    assert f"s3://{BUCKET}/photos/p0.jpg -> s3://{BUCKET}/thumbs/p0.{{jpg,png}}" in dry.stdout
    assert not fs.exists(f"{BUCKET}/thumbs")
    thumbnailer(s3_env, *args, "--gallery")
    index = fs.cat_file(f"{BUCKET}/thumbs/index.html").decode()
    assert "bad.jpg</code>" in index and 'href="trip/gallery.html"' in index
    trip = fs.cat_file(f"{BUCKET}/thumbs/trip/gallery.html").decode()
    assert '<img src="p1.jpg"' in trip
    for page in (index, trip):
        assert 'href="s3://' not in page  # a browser cannot follow s3:// links


def test_xdg_cache_refuses_urls(s3_env, tmp_path):
    result = thumbnailer(s3_env, f"s3://{BUCKET}/photos", "--xdg-cache")
    assert result.returncode == 2 and "--xdg-cache is for local files" in result.stderr


def test_join_spells_a_stored_path_for_its_root():
    from thumbnailer import storage

    assert storage.join("s3://media/thumbs/", "a/b.jpg") == "s3://media/thumbs/a/b.jpg"
    assert storage.join("out", "a/b.jpg") == os.path.join("out", "a", "b.jpg")


def test_hard_linked_local_sources_are_copied_on_the_store(s3, s3_env, tmp_path):
    """An object store has no links: the thumbnail of the second path is a copy,
    made on the store from the first, not a second decode."""
    fs, local = s3
    os.link(local / "p0.jpg", local / "trip" / "p0-again.jpg")
    up = thumbnailer(s3_env, local, "-o", f"s3://{BUCKET}/linked", "-s", "64", "-w", "1",
                     "--manifest", tmp_path / "m.json")
    assert up.returncode == 1, up.stderr  # bad.jpg
    made = s3_contents(fs, f"{BUCKET}/linked")
    assert made["trip/p0-again.jpg"] == made["p0.jpg"]
    entries = {e["source"]: e for e in json.loads((tmp_path / "m.json").read_text())["entries"]}
    again = entries[str(local / "trip" / "p0-again.jpg")]
    assert again["status"] == "created"
    assert again["output"] == f"s3://{BUCKET}/linked/trip/p0-again.jpg"


def test_a_damaged_state_on_s3_is_moved_aside_not_deleted(s3, s3_env):
    fs, _ = s3
    garbage = b"\x00not a database" * 100
    fs.pipe_file(f"{BUCKET}/thumbs/{STATE_NAME}", garbage)
    result = thumbnailer(s3_env, f"s3://{BUCKET}/photos", "-o", f"s3://{BUCKET}/thumbs",
                         "-w", "1")
    assert result.returncode == 1, result.stderr  # bad.jpg
    fs.invalidate_cache()
    aside = [p for p in fs.ls(f"{BUCKET}/thumbs") if ".damaged-" in p]
    assert len(aside) == 1 and fs.cat_file(aside[0]) == garbage
    assert f"moved it aside to s3://{aside[0]}" in result.stderr
    again = thumbnailer(s3_env, f"s3://{BUCKET}/photos", "-o", f"s3://{BUCKET}/thumbs",
                        "-w", "1")
    assert "7 images: 6 up to date, 1 failed" in again.stderr  # the fresh state was put back
