"""plan/memo.py: a folder as it was, taken whole from its memo.

The fast path must decide exactly what the thumbnail-by-thumbnail check decides.
So each case here runs the same change twice, on two copies of one library:
with memos, and with them switched off (memo.eligible returning False), and the
two runs must agree on every count, every entry of the manifest and every file
in the output folder."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import zlib
from pathlib import Path

import pytest
from helpers import invoke, photo

from thumbnailer import Options, Settings, run_job
from thumbnailer import plan as plan_module
from thumbnailer.plan import memo
from thumbnailer.plan.state import STATE_NAME
from thumbnailer.spec import Size


def library(root: Path) -> Path:
    src = root / "photos"
    for n, name in enumerate(["a.jpg", "b.jpg", "c.png"]):
        photo(src / "trip" / name, (64, 48), seed=n)
        photo(src / "home" / "2024" / name, (48, 64), seed=10 + n)
        photo(src / name, (40, 30), seed=20 + n)
    return src


def run(src: Path, out: Path, **settings: object) -> tuple[dict, list, list]:
    """A run with a manifest: its counts, the manifest's entries (less what
    depends on the run's time), and the files of the output folder."""
    manifest = out.parent / f"{out.name}.json"
    result = run_job([str(src)], Settings(output=str(out), **settings),  # type: ignore[arg-type]
                     Options(workers=1, executor="thread", manifest=str(manifest)))
    entries = json.loads(manifest.read_text())["entries"]
    for entry in entries:
        entry.pop("seconds", None)
        if entry.get("error"):  # it names the copy's own paths
            entry["error"] = entry["error"].replace(str(out.parent), "ROOT")
        for key in ("source", "output"):
            if entry.get(key):
                entry[key] = os.path.relpath(entry[key], out.parent)
    files = sorted(os.path.relpath(os.path.join(d, f), out)
                   for d, _, names in os.walk(out) for f in names if f != STATE_NAME)
    counts = {s.value: n for s, n in result.tally.counts.items() if n}
    return ({"thumbnails": counts, "images": {s.value: n for s, n in result.sources.items()
                                              if n}, "exit": int(result.exit_code)},
            entries, files)


def both(tmp_path: Path, change, monkeypatch, **settings: object) -> tuple:
    """The library made, rerun twice (the memos kept, then taken), changed by
    ``change(src, out)``, and run again: with memos and without, the same."""
    results = []
    for name, on in (("with", True), ("without", False)):
        root = tmp_path / name
        src = library(root)
        out = root / "out"
        run(src, out)
        run(src, out)
        if not on:
            monkeypatch.setattr(plan_module, "eligible", lambda *a: False)
        change(src, out)
        results.append(run(src, out, **settings))
        results.append(run(src, out, **settings))  # and once more: settled
        monkeypatch.undo()
    assert results[0][0] == results[2][0], (results[0][0], results[2][0])
    assert results[0][2] == results[2][2], (results[0][2], results[2][2])
    assert results[0] == results[2], [(a, b) for a, b in zip(results[0][1], results[2][1],
                                                             strict=True) if a != b]
    assert results[1] == results[3], "the run after that differs"
    return results[0], results[1]


def test_a_rerun_takes_each_folder_whole(tmp_path, monkeypatch):
    src = library(tmp_path)
    out = tmp_path / "out"
    run(src, out)
    db = sqlite3.connect(out / STATE_NAME)
    assert db.execute("SELECT count(*) FROM memos").fetchone()[0] == 3  # "", trip, home/2024
    db.close()

    def never(*args):
        raise AssertionError("a thumbnail checked one by one")

    monkeypatch.setattr(plan_module, "up_to_date", never)
    counts, entries, _ = run(src, out)
    assert counts == {"thumbnails": {"skipped": 9}, "images": {"skipped": 9}, "exit": 0}
    assert len(entries) == 9 and {e["status"] for e in entries} == {"skipped"}
    assert all(e["bytes"] > 0 and e["width"] and e["height"] for e in entries)


def test_the_fast_path_tells_what_the_slow_one_tells(tmp_path, monkeypatch):
    """Nothing changed: the same entries, sizes and all."""
    first, _ = both(tmp_path, lambda src, out: None, monkeypatch)
    assert first[0]["images"] == {"skipped": 9}


@pytest.mark.parametrize("case", [
    "touched", "grew", "added", "removed", "output deleted", "output a link",
    "output folder a link", "hard link", "record changed by another program",
    "collision", "another spelling",
])
def test_a_change_is_seen_as_without_memos(tmp_path, monkeypatch, case):
    def change(src: Path, out: Path) -> None:
        if case == "touched":
            os.utime(src / "trip" / "b.jpg", ns=(1, 1_000_000_000))
        elif case == "grew":
            with open(src / "trip" / "b.jpg", "ab") as f:
                f.write(b"\0")
        elif case == "added":
            photo(src / "trip" / "d.jpg", (30, 30), seed=99)
        elif case == "removed":
            (src / "trip" / "c.png").unlink()
        elif case == "output deleted":
            (out / "trip" / "a.jpg").unlink()
        elif case == "output a link":  # to a file of someone else's: never written through
            (out / "trip" / "a.jpg").unlink()
            (out.parent / "theirs.jpg").write_bytes(b"theirs")
            (out / "trip" / "a.jpg").symlink_to(out.parent / "theirs.jpg")
        elif case == "output folder a link":
            elsewhere = out.parent / "elsewhere"
            shutil.move(out / "trip", elsewhere)
            (out / "trip").symlink_to(elsewhere)
        elif case == "hard link":
            os.link(src / "trip" / "a.jpg", src / "home" / "2024" / "z.jpg")
        elif case == "record changed by another program":  # an older version, a shell
            db = sqlite3.connect(out / STATE_NAME)
            db.execute("UPDATE records SET fingerprint = 'old' WHERE key = ?", (b"trip/b",))
            db.commit()
            db.close()
        elif case == "collision":  # a.JPEG comes after a.jpg: named a-jpeg
            photo(src / "trip" / "a.JPEG", (30, 30), seed=98)
        elif case == "another spelling":  # Trip sorts before trip: its a.jpg takes the name
            photo(src / "Trip" / "a.jpg", (30, 30), seed=97)

    first, _ = both(tmp_path, change, monkeypatch)
    if case == "output a link":
        assert (tmp_path / "with" / "theirs.jpg").read_bytes() == b"theirs"
        assert first[0]["exit"] == 1  # refused, loudly
    elif case != "removed":
        assert first[0]["images"].get("created") or first[0]["images"].get("failed"), first[0]


def test_a_settings_change_is_seen(tmp_path, monkeypatch):
    first, _ = both(tmp_path, lambda src, out: None, monkeypatch, quality=60)
    assert first[0]["thumbnails"] == {"created": 9}
    first, _ = both(tmp_path / "sizes", lambda src, out: None, monkeypatch,
                    sizes=(Size(256, 256), Size(64, 64)))
    assert first[0]["thumbnails"] == {"created": 18}  # two sizes: {stem}_{size} names


def test_a_memo_is_let_go_when_any_record_of_its_folder_changes(tmp_path):
    src = library(tmp_path)
    out = tmp_path / "out"
    run(src, out)
    db = sqlite3.connect(out / STATE_NAME)
    folders = {bytes(f) for f, in db.execute("SELECT folder FROM memos")}
    assert folders == {b"", b"trip", b"home/2024"}
    db.execute("DELETE FROM records WHERE key = ?", (b"home/2024/a",))
    db.execute("INSERT OR REPLACE INTO records SELECT * FROM records WHERE key = ?",
               (b"a",))
    db.commit()
    assert {bytes(f) for f, in db.execute("SELECT folder FROM memos")} == {b"trip"}
    db.close()


@pytest.mark.parametrize("body", [b"", b"not zlib", zlib.compress(b"[1, 2]"),
                                  zlib.compress(b'{"items": 1}')])
def test_a_memo_that_is_not_ours_is_no_memo(tmp_path, body):
    """A body of another format with the same digest (a damaged row, a version
    that forgot to change memo.VERSION) is passed over, not a traceback."""
    src = library(tmp_path)
    out = tmp_path / "out"
    run(src, out)
    db = sqlite3.connect(out / STATE_NAME)
    db.execute("UPDATE memos SET body = ?", (body,))
    db.commit()
    db.close()
    counts, _, _ = run(src, out)
    assert counts == {"thumbnails": {"skipped": 9}, "images": {"skipped": 9}, "exit": 0}


def test_verbose_tells_every_thumbnail_up_to_date(tmp_path):
    src = library(tmp_path)
    out = tmp_path / "out"
    run(src, out)
    result = invoke(src, "-o", out, "-w", "1", "-v")
    assert result.exit_code == 0
    told = [line for line in result.stdout.splitlines() + result.stderr.splitlines()
            if "up to date" in line and "images" not in line]
    assert len(told) == 9, result.output


def test_a_dry_run_takes_memos_and_keeps_none(tmp_path):
    src = library(tmp_path)
    out = tmp_path / "out"
    run(src, out)
    db = sqlite3.connect(out / STATE_NAME)
    db.execute("DELETE FROM memos WHERE folder = ?", (b"trip",))
    db.commit()
    db.close()
    before = os.stat(out / STATE_NAME).st_mtime_ns
    result = invoke(src, "-o", out, "--dry-run")
    assert result.exit_code == 0 and "9 up to date" in result.stderr, result.stderr
    assert os.stat(out / STATE_NAME).st_mtime_ns == before
    db = sqlite3.connect(out / STATE_NAME)
    assert db.execute("SELECT count(*) FROM memos").fetchone()[0] == 2
    db.close()


def test_the_memo_body_round_trips_any_name():
    items = [memo.Item("caf\u00e9 \udcff\n.jpg", 0, "k", "o/caf\u00e9.jpg", "jpeg", 1, 2, True)]
    body = memo.Body(items, [123], "/p/\udcff/", "/out", {"o": (2**127 + 5, 1, 1)})
    assert memo.decode(memo.encode(body)) == body


@pytest.mark.parametrize("resized", [False, True])
def test_a_whole_folder_sums_as_its_entries_would(tmp_path, resized):
    """The gallery's page digests from a folder taken whole (the memo's sums, or,
    once an output changed size, each entry hashed) equal those of its entries
    told one by one: an unchanged rerun renders no page, whichever way it came."""
    from thumbnailer.outputs.spool import Spool

    src = library(tmp_path)
    out = tmp_path / "out"
    run(src, out)
    if resized:
        with open(out / "trip" / "a.jpg", "ab") as f:
            f.write(b"\0")
    job = plan_module.plan([str(src)], Settings(output=str(out)))
    wholes = []
    job.on_whole = wholes.append
    assert job.tasks == [] and len(wholes) == 3
    by_whole, by_entry = Spool(["256"]), Spool(["256"])
    for whole in wholes:
        by_whole.add_whole(whole)
        by_entry.add(list(whole.entries()))
    assert by_whole.place_digests() == by_entry.place_digests()
    assert by_whole.places() == by_entry.places()
    # A gallery rendering one folder's pages makes that folder's entries only.
    trip = str(out / "trip")
    assert list(by_whole.by_place({trip})) == list(by_entry.by_place({trip}))
    assert by_whole._wholes and by_whole.places() == by_entry.places()
    assert list(by_whole.ordered()) == list(by_entry.ordered())  # the rest made when read
    assert not by_whole._wholes and by_whole.places() == by_entry.places()
    job.close()
