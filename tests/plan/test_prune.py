import contextlib
import dataclasses
import os
import shutil
import sqlite3

import pytest
from helpers import image_files, photo

from thumbnailer.plan import plan
from thumbnailer.plan.prune import Limit, guard, prune, stale
from thumbnailer.plan.state import STATE_NAME
from thumbnailer.render import render
from thumbnailer.spec import Format, Settings, Size


def make(sources, settings):
    """Plan, render and record, step by step as run_job does; returns the plan."""
    job = plan([str(s) for s in sources], settings, mark=True)
    for task in job.tasks:
        job.record(render(task))
    job.save()
    return job


@pytest.fixture
def library(tmp_path):
    src = tmp_path / "photos"
    photo(src / "a.jpg", (300, 200))
    photo(src / "trip" / "b.jpg", (200, 300), seed=1)
    photo(src / "trip" / "deep" / "c.jpg", (200, 200), seed=2)
    return src


@pytest.fixture
def settings(tmp_path):
    return Settings(output=str(tmp_path / "out"), sizes=(Size(64, 64),))


def files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_a_deleted_source_loses_its_thumbnail_and_the_folders_left_empty(
        tmp_path, library, settings):
    make([library], settings).close()
    out = tmp_path / "out"
    os.unlink(library / "trip" / "b.jpg")
    (library / "trip" / "deep" / "c.jpg").unlink()
    job = make([library], settings)
    assert sorted(stale(job)) == ["trip/b", "trip/deep/c"]
    removed = prune(job)
    job.close()
    assert sorted(removed) == [str(out / "trip" / "b.jpg"), str(out / "trip" / "deep" / "c.jpg")]
    assert files(out) == [STATE_NAME, "a.jpg"]
    assert not (out / "trip").exists()  # both folders emptied by the prune
    assert stale(plan([str(library)], settings, mark=True)) == []  # and forgotten


def test_files_it_did_not_make_are_never_touched(tmp_path, library, settings):
    make([library], settings).close()
    out = tmp_path / "out"
    (out / "trip" / "README.txt").write_text("mine")
    (out / "stray.jpg").write_bytes(b"also mine")
    os.unlink(library / "trip" / "b.jpg")
    prune(make([library], settings))
    assert (out / "trip" / "README.txt").read_text() == "mine"
    assert (out / "stray.jpg").exists()
    assert not (out / "trip" / "b.jpg").exists()


def test_unselected_sources_and_dropped_formats_are_pruned(tmp_path, library, settings):
    both = dataclasses.replace(settings, formats=(Format.AUTO, Format.WEBP))
    make([library], both).close()
    narrower = dataclasses.replace(settings, exclude=("trip",))
    job = make([library], narrower)
    removed = prune(job)
    job.close()
    out = tmp_path / "out"
    assert files(out) == [STATE_NAME, "a.jpg"]
    assert len(removed) == 5  # b and c in two formats, a.webp


def test_dry_run_lists_and_keeps_everything(tmp_path, library, settings):
    make([library], settings).close()
    os.unlink(library / "a.jpg")
    before = files(tmp_path / "out")
    job = plan([str(library)], settings, read_only=True, mark=True)
    assert prune(job, dry_run=True) == [str(tmp_path / "out" / "a.jpg")]
    assert files(tmp_path / "out") == before
    assert job.state.get("a") is not None
    job.close()
    assert files(tmp_path / "out") == before


def test_a_file_shared_with_a_kept_thumbnail_is_kept(tmp_path, library, settings):
    # -f auto and then -f jpeg name the same file a.jpg under two state keys.
    make([library], settings).close()
    job = make([library], dataclasses.replace(settings, formats=(Format.JPEG,)))
    removed = prune(job)
    assert removed == []
    assert (tmp_path / "out" / "a.jpg").exists()


def test_a_tampered_state_cannot_reach_outside_the_output(tmp_path, library, settings):
    make([library], settings).close()
    victim = tmp_path / "victim.jpg"
    victim.write_bytes(b"precious")
    with contextlib.closing(sqlite3.connect(tmp_path / "out" / STATE_NAME)) as db, db:
        added = db.execute("INSERT INTO records SELECT CAST('evil' AS BLOB), folder, "
                           "CAST('../victim.jpg' AS BLOB), source, fingerprint, mtime_ns, "
                           "size, width, height, made FROM records WHERE key = CAST('a' AS BLOB)")
        assert added.rowcount == 1
    prune(make([library], settings))
    assert victim.read_bytes() == b"precious"


def test_a_failed_source_stays_known_so_its_old_thumbnail_can_be_pruned(
        tmp_path, library, settings):
    make([library], settings).close()
    (library / "a.jpg").write_bytes(b"now broken")
    job = make([library], settings)
    assert (tmp_path / "out" / "a.jpg").exists()  # the old thumbnail stays on failure
    assert [t.source for t in plan([str(library)], settings).tasks] == [str(library / "a.jpg")]
    os.unlink(library / "a.jpg")
    job = make([library], settings)
    assert prune(job) == [str(tmp_path / "out" / "a.jpg")]


def test_a_shard_never_prunes_another_shards_thumbnails(tmp_path, library, settings):
    make([library], settings).close()  # a full run first, into the same folder
    before = files(tmp_path / "out")
    for k in (1, 2):
        assert prune(make([library], dataclasses.replace(settings, shard=(k, 2)))) == []
    assert files(tmp_path / "out") == before


def test_a_plan_that_did_not_mark_cannot_be_pruned(tmp_path, library, settings):
    # Without marks every record would look stale: refuse rather than delete them all.
    make([library], settings).close()
    job = plan([str(library)], settings)
    with pytest.raises(RuntimeError, match="mark=True"):
        prune(job)
    job.close()
    assert len(image_files(tmp_path / "out")) == 3


def test_the_guard_refuses_a_source_that_gave_no_image(tmp_path, library, settings):
    empty = tmp_path / "mnt"
    empty.mkdir()  # what a disk that did not mount leaves
    make([library], settings).close()
    job = make([library, empty], settings)
    assert guard(job, [str(library), str(empty)], None) == (
        f"no images were found in {empty} (a disk that did not mount leaves an empty folder)",
        None)  # no option allows it: leave the SOURCE out
    assert guard(job, [str(library)], None) is None  # by SOURCE, as given to plan
    job.close()


def test_the_guard_counts_what_would_go_against_the_limit(tmp_path, library, settings):
    make([library], settings).close()
    (library / "trip" / "b.jpg").unlink()
    job = make([library], settings)
    assert guard(job, [str(library)], None) is None
    assert guard(job, [str(library)], Limit(share=1 / 3)) is None  # 1 of 3
    refused = guard(job, [str(library)], Limit(share=0.2))
    assert refused == ("it would delete 1 of the 3 thumbnails made so far (33%: trip/b.jpg), "
                       "more than Options.prune_limit=20% allows", "Options.prune_limit=100%")
    assert guard(job, [str(library)], Limit(share=None, count=1)) is None
    assert "Options.prune_limit=0 allows" in guard(job, [str(library)],
                                             Limit(share=None, count=0)).reason
    assert (library / "trip").exists() and len(prune(job)) == 1  # the guard deleted nothing
    job.close()


@pytest.mark.parametrize("text, limit", [("20%", Limit(0.2)), ("100%", Limit(1.0)),
                                         ("0%", Limit(0.0)), ("500", Limit(None, 500)),
                                         (" 7 ", Limit(None, 7))])
def test_a_limit_is_a_share_or_a_count(text, limit):
    assert Limit.parse(text) == limit and Limit.parse(str(limit)) == limit


@pytest.mark.parametrize("text", ["", "x", "101%", "-1", "1.5", "%"])
def test_a_limit_that_is_neither_is_refused(text):
    with pytest.raises(ValueError):
        Limit.parse(text)


def scoped(sources, settings, scope):
    """A --watch batch: plan only the folders of ``scope``, render, record, save."""
    job = plan([str(s) for s in sources], settings, mark=True, scope=scope)
    for task in job.tasks:
        job.record(render(task))
    job.save()
    return job


def test_a_scoped_plan_prunes_only_within_its_folders(tmp_path, library, settings):
    out = tmp_path / "out"
    with contextlib.closing(make([library], settings)):
        pass
    (library / "a.jpg").unlink()
    (library / "trip" / "b.jpg").unlink()
    with contextlib.closing(scoped([library], settings, (("trip", False),))) as job:
        assert job.tasks == []  # deep/c.jpg is not walked: below a folder not recursive
        assert stale(job) == ["trip/b"]  # a.jpg is gone too, but outside the scope
        assert prune(job) == [str(out / "trip" / "b.jpg")]
    assert files(out) == [STATE_NAME, "a.jpg", "trip/deep/c.jpg"]
    with contextlib.closing(scoped([library], settings, (("", False),))) as job:
        assert stale(job) == ["a"]


def test_a_recursive_scope_takes_a_whole_folder_removed(tmp_path, library, settings):
    out = tmp_path / "out"
    with contextlib.closing(make([library], settings)):
        pass
    shutil.rmtree(library / "trip")
    with contextlib.closing(scoped([library], settings, (("trip", True),))) as job:
        assert stale(job) == ["trip/b", "trip/deep/c"]
        assert guard(job, [str(library)], Limit(share=1.0)) is None  # a.jpg still there
        prune(job)
    assert files(out) == [STATE_NAME, "a.jpg"]


def test_a_scoped_plan_names_as_the_whole_walk_did(tmp_path, settings):
    """Two SOURCE folders with the same file name: the scope walks both, in order,
    and gives the second the renamed name the whole walk gave it."""
    one, two = tmp_path / "one", tmp_path / "two"
    photo(one / "x.jpg", (100, 80))
    photo(two / "x.jpg", (100, 80), seed=1)
    with contextlib.closing(make([one, two], settings)):
        pass
    first = files(tmp_path / "out")
    assert first == [STATE_NAME, "x-jpg.jpg", "x.jpg"]  # the second one renamed
    photo(two / "x.jpg", (90, 80), seed=2)  # changed
    with contextlib.closing(scoped([one, two], settings, (("", False),))) as job:
        assert [t.source for t in job.tasks] == [str(two / "x.jpg")]
        assert job.collisions  # the same rename as before
        assert stale(job) == []
    assert files(tmp_path / "out") == first


def test_the_guard_of_a_scoped_plan_asks_each_source_again(tmp_path, library, settings):
    with contextlib.closing(make([library], settings)):
        pass
    for p in library.rglob("*.jpg"):
        p.unlink()
    with contextlib.closing(scoped([library], settings, (("", True),))) as job:
        refused = guard(job, [str(library)], Limit(share=1.0))
        assert refused is not None and "no images were found" in refused.reason
