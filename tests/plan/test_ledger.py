"""The failure ledger: a broken source fails one run, not every night."""

import json
import os
import re
import sqlite3
import time

import pytest
from click.testing import CliRunner
from helpers import photo

from thumbnailer import cli
from thumbnailer import job as job_module
from thumbnailer.plan import plan
from thumbnailer.plan.state import STATE_NAME, State
from thumbnailer.plan.state.ledger import Failure, judge, since_text
from thumbnailer.spec import Entry, FailOn, Format, Outcome, Settings, Size, Status

VERSIONS = ["thumbnailer 2.0", "Pillow 12.0"]


def invoke(*args):
    return CliRunner().invoke(cli.main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def photos(tmp_path):
    src = tmp_path / "photos"
    photo(src / "a.jpg", (320, 240))
    photo(src / "b.jpg", (300, 200), seed=1)
    (src / "bad.jpg").write_bytes(b"not a jpeg at all")
    return src


@pytest.fixture
def renders(monkeypatch):
    """The sources render is called on, in this process (-w 1)."""
    job = job_module
    real, seen = job.render, []

    def counted(task):
        seen.append(os.path.basename(task.source))
        return real(task)

    monkeypatch.setattr(job, "render", counted)
    return seen


# --- the judge ----------------------------------------------------------------

def test_the_judge_changes_with_the_code_and_with_what_refuses_an_image():
    base = judge(Settings(), VERSIONS)
    assert judge(Settings(), list(VERSIONS)) == base
    assert judge(Settings(), ["thumbnailer 2.0", "Pillow 12.1"]) != base
    assert judge(Settings(), [*VERSIONS, "pillow-heif 1.1"]) != base
    changed = [Settings(max_pixels=1000), Settings(max_file_size=1000), Settings(timeout=5),
               Settings(fail_on=FailOn.NONE), Settings(allow_formats=("PSD",)),
               Settings(allow_formats=("ALL",)), Settings(animated=True)]
    judges = {judge(s, VERSIONS) for s in changed}
    assert len(judges) == len(changed) and base not in judges


def test_what_only_shapes_a_thumbnail_does_not_change_the_judge():
    base = judge(Settings(), VERSIONS)
    for settings in (Settings(quality=50), Settings(sizes=(Size(64, 64),), formats=(Format.WEBP,)),
                     Settings(output="elsewhere"), Settings(max_frames=5)):
        assert judge(settings, VERSIONS) == base


def test_a_failure_holds_for_the_same_file_judged_the_same_way():
    failure = Failure(100, 5, "bad", 0.0, "j")
    assert failure.holds(100, 5, "j")
    assert not failure.holds(101, 5, "j") and not failure.holds(100, 6, "j")
    assert not failure.holds(100, 5, "k") and failure.same_file(100, 5)
    assert since_text(0) == "1970-01-01T00:00:00Z" == failure.since_text


# --- planning and recording ------------------------------------------------------

def _plan(photos, out, retry=False, read_only=False):
    return plan([str(photos)], Settings(output=str(out)), judge=lambda: "j",
                retry_failed=retry, read_only=read_only)


def _fail(job, task, **outcome):
    entries = tuple(Entry(task.source, t.size.label, Status.FAILED, error="why")
                    for t in task.targets)
    return job.record(Outcome(task.source, entries, "why", **outcome))


def test_a_failure_of_the_file_is_kept_and_then_passed_over(photos, tmp_path):
    out = tmp_path / "out"
    job = _plan(photos, out)
    tasks = {os.path.basename(t.source): t for t in job.stream()}
    entries = _fail(job, tasks["bad.jpg"])
    job.close()
    assert entries[0].since is not None and entries[0].status is Status.FAILED
    stamp = time.strptime(entries[0].since, "%Y-%m-%dT%H:%M:%SZ")
    assert abs(time.mktime(stamp) - time.timezone - time.time()) < 60

    again = _plan(photos, out)
    passed = []
    again.on_skipped = passed.append
    assert sorted(os.path.basename(t.source) for t in again.stream()) == ["a.jpg", "b.jpg"]
    assert [(e.status, e.error, e.since) for e in passed] == [
        (Status.FAILED, "why", entries[0].since)]
    assert again.known == 1
    again.close()
    retry = _plan(photos, out, retry=True)
    assert "bad.jpg" in [os.path.basename(t.source) for t in retry.stream()]
    retry.close()


@pytest.mark.parametrize("kind", [{"transient": True}, {"halt": "disk full"},
                                  {"signature": (1, 2)}])
def test_failures_that_are_not_the_files_are_not_kept(photos, tmp_path, kind):
    """Permission denied, out of memory, a full disk, a write that failed: the
    next run tries again."""
    out = tmp_path / "out"
    job = _plan(photos, out)
    tasks = {os.path.basename(t.source): t for t in job.stream()}
    entries = _fail(job, tasks["bad.jpg"], **kind)
    job.close()
    assert entries[0].since is None
    again = _plan(photos, out)
    assert "bad.jpg" in [os.path.basename(t.source) for t in again.stream()]
    assert again.known == 0
    again.close()


def test_a_repeated_failure_keeps_its_since_and_a_changed_file_starts_afresh(photos, tmp_path):
    out = tmp_path / "out"
    job = _plan(photos, out)
    bad = next(t for t in job.stream() if t.source.endswith("bad.jpg"))
    first = _fail(job, bad)[0].since
    job.close()
    state = State.load(str(out))
    state.fail(str(photos / "bad.jpg"),
               state.failure(str(photos / "bad.jpg"))._replace(since=1000.0))
    state.close()
    retry = _plan(photos, out, retry=True)
    bad = next(t for t in retry.stream() if t.source.endswith("bad.jpg"))
    assert _fail(retry, bad)[0].since == since_text(1000.0) and retry.again == 1
    retry.close()
    (photos / "bad.jpg").write_bytes(b"still not a jpeg, longer")
    changed = _plan(photos, out)
    bad = next(t for t in changed.stream() if t.source.endswith("bad.jpg"))
    assert _fail(changed, bad)[0].since >= first and changed.again == 0
    changed.close()


def test_a_source_made_at_last_leaves_the_ledger(photos, tmp_path):
    out = tmp_path / "out"
    assert invoke(photos, "-o", out, "-w", "1").exit_code == 1
    assert State.load(str(out)).failure(str(photos / "bad.jpg")) is not None
    photo(photos / "bad.jpg", (200, 100), seed=5)  # repaired
    result = invoke(photos, "-o", out, "-w", "1")
    assert result.exit_code == 0 and result.stderr.startswith(
        "3 images: 1 made (1 thumbnail), 2 up to date in")
    state = State.load(str(out))
    assert state.failure(str(photos / "bad.jpg")) is None and not list(state.failed_sources())


# --- through the command ----------------------------------------------------------

def test_a_broken_file_fails_one_run_not_every_night(photos, tmp_path, renders):
    out, manifest = tmp_path / "out", tmp_path / "m.json"
    first = invoke(photos, "-o", out, "-w", "1", "--manifest", manifest)
    assert first.exit_code == 1 and f"{photos / 'bad.jpg'}: not an image" in first.stderr
    failed = [e for e in json.loads(manifest.read_text())["entries"] if e["status"] == "failed"]
    assert [e["error"] for e in failed] == ["not an image, or in a format Pillow cannot read"]
    since = failed[0]["since"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", since)
    renders.clear()

    second = invoke(photos, "-o", out, "-w", "1", "--manifest", manifest, "--quiet")
    assert second.exit_code == 0 and second.output == ""  # cron: nothing new, nothing said
    assert renders == []  # not decoded again
    data = json.loads(manifest.read_text())
    assert [(e["status"], e["error"], e["since"]) for e in data["entries"]
            if e["status"] == "failed"] == [("failed", failed[0]["error"], since)]
    assert data["summary"]["failed"] == 1

    third = invoke(photos, "-o", out, "-w", "1", "-v")
    assert third.exit_code == 0
    assert third.stderr.splitlines()[-1].startswith(
        "3 images: 2 up to date, 1 failed (1 known, not retried) in")
    assert (f"known failure, not retried: {photos / 'bad.jpg'}: not an image, or in a format "
            f"Pillow cannot read (since {since})") in third.stderr


def test_strict_fails_the_run_for_known_failures_too(photos, tmp_path, renders):
    out = tmp_path / "out"
    invoke(photos, "-o", out, "-w", "1")
    renders.clear()
    result = invoke(photos, "-o", out, "-w", "1", "--strict")
    assert result.exit_code == 1 and renders == []
    assert "1 failed (1 known, not retried)" in result.stderr


@pytest.mark.parametrize("how", ["--retry-failed", "--force", "a new Pillow",
                                 "a new thumbnailer", "--max-pixels", "a changed file"])
def test_a_known_failure_is_tried_again_when_it_may_now_pass(photos, tmp_path, renders,
                                                              monkeypatch, how):
    out = tmp_path / "out"
    assert invoke(photos, "-o", out, "-w", "1").exit_code == 1
    renders.clear()
    args = []
    if how.startswith("--max"):
        args = [how, "100000000"]
    elif how.startswith("--"):
        args = [how]
    elif how == "a new Pillow":
        monkeypatch.setattr("PIL.__version__", "99.0.0")
    elif how == "a new thumbnailer":
        monkeypatch.setattr(job_module, "__version__", "99.0")
    else:
        (photos / "bad.jpg").write_bytes(b"replaced, and still not a jpeg")
    result = invoke(photos, "-o", out, "-w", "1", *args)
    assert "bad.jpg" in renders
    assert f"{photos / 'bad.jpg'}: not an image" in result.stderr
    assert "known, not retried" not in result.stderr
    # Tried again and failing again, the same file is not news; a changed file is.
    assert result.exit_code == (1 if how == "a changed file" else 0)


def test_check_and_dry_run_count_a_known_failure_as_nothing_to_do(photos, tmp_path):
    out = tmp_path / "out"
    invoke(photos, "-o", out, "-w", "1")
    check = invoke(photos, "-o", out, "--check")
    assert check.exit_code == 0 and check.stdout == ""
    dry = invoke(photos, "-o", out, "--dry-run")
    assert dry.exit_code == 0 and "1 failed (1 known, not retried)" in dry.stderr
    retry = invoke(photos, "-o", out, "--check", "--retry-failed")
    assert retry.exit_code == 5 and "bad.jpg" in retry.stdout


def test_prune_forgets_the_failures_of_sources_that_are_gone(photos, tmp_path):
    out = tmp_path / "out"
    for n in range(8):  # enough thumbnails that one going is within --prune-limit
        photo(photos / f"more{n}.jpg", (60, 40), seed=n)
    invoke(photos, "-o", out, "-w", "1")
    (photos / "bad.jpg").unlink()
    assert list(State.load(str(out)).failed_sources()) == [str(photos / "bad.jpg")]
    result = invoke(photos, "-o", out, "-w", "1", "--prune")
    assert result.exit_code == 0
    assert list(State.load(str(out)).failed_sources()) == []


def test_a_state_made_before_the_ledger_gains_it(photos, tmp_path):
    """A 2.0 database has no failures table: nothing is known failed, and the
    table is added on the first write, with no schema change (nothing remade)."""
    out = tmp_path / "out"
    invoke(photos, "-o", out, "-w", "1")
    db = sqlite3.connect(out / STATE_NAME)
    db.execute("DROP TABLE failures")
    db.commit()
    db.close()
    again = invoke(photos, "-o", out, "-w", "1")
    assert again.exit_code == 1 and again.stderr.splitlines()[-1].startswith(
        "3 images: 2 up to date, 1 failed in")
    third = invoke(photos, "-o", out, "-w", "1")
    assert third.exit_code == 0 and "1 failed (1 known, not retried)" in third.stderr
