"""The SQLite state: records, an unchanged rerun that writes nothing, crash safety,
mark and sweep, and the migration of 1.x JSON state files."""

import json
import os
import sqlite3
import subprocess
import sys
import textwrap

from thumbnailer.records import Record
from thumbnailer.state import LEGACY_NAME, STATE_NAME, State
from thumbnailer.storage import ANY

RECORD = Record("sub/a.jpg", "/photos/sub/a.jpg", "f" * 16, 123, 456, 256, 171)


def listing(folder):
    return sorted(os.listdir(folder))


def test_records_survive_a_close_and_load(tmp_path):
    state = State(str(tmp_path))
    state.put("sub/a", RECORD, "sub")
    state.close()
    assert listing(tmp_path) == [STATE_NAME]  # no -wal or -shm left at rest
    again = State.load(str(tmp_path))
    assert again.get("sub/a") == RECORD and len(again) == 1
    assert again.folder("sub") == {"sub/a": RECORD} and again.folder("") == {}
    again.close()


def test_a_folder_is_read_alone(tmp_path):
    state = State(str(tmp_path))
    for folder in ("", "a", "a/b", "c"):
        for n in range(3):
            state.put(f"{folder}/{n}".lstrip("/"), RECORD._replace(width=n), folder)
    state.close()
    state = State.load(str(tmp_path))
    assert sorted(state.folder("a")) == ["a/0", "a/1", "a/2"]  # not a/b's
    assert sorted(state.folder("")) == ["0", "1", "2"]
    state.close()


def test_a_missing_foreign_or_damaged_database_means_nothing_is_known(tmp_path):
    assert len(State.load(str(tmp_path))) == 0
    assert listing(tmp_path) == []  # and looking made nothing
    (tmp_path / STATE_NAME).write_bytes(b"\x00garbage, not a database" * 100)
    damaged = State.load(str(tmp_path))
    assert len(damaged) == 0
    damaged.put("a", RECORD)  # and it can be written afresh
    damaged.close()
    assert State.load(str(tmp_path)).get("a") == RECORD
    with sqlite3.connect(tmp_path / STATE_NAME) as db:
        db.execute("PRAGMA user_version=99")
    assert len(State.load(str(tmp_path))) == 0


def test_an_unchanged_run_writes_nothing(tmp_path):
    state = State(str(tmp_path))
    state.put("a", RECORD, "")
    state.close()
    before = os.stat(tmp_path / STATE_NAME), listing(tmp_path)
    again = State.load(str(tmp_path))
    assert again.folder("") == {"a": RECORD} and again.get("a") == RECORD
    again.start_marking()
    again.mark(["a"])
    assert list(again.stale()) == []
    again.close()
    after = os.stat(tmp_path / STATE_NAME), listing(tmp_path)
    assert (before[0].st_ino, before[0].st_mtime_ns, before[1]) == (
        after[0].st_ino, after[0].st_mtime_ns, after[1])


def test_drop_forgets(tmp_path):
    state = State(str(tmp_path))
    state.put("a", RECORD)
    state.drop("a")
    state.drop("never-there")
    assert state.get("a") is None
    state.close()


def test_a_killed_writer_loses_only_what_it_had_not_committed(tmp_path):
    # A child writes 3,000 rows, commits, writes 500 more, and is killed (SIGKILL)
    # before committing them.
    code = textwrap.dedent(f"""
        import os, signal
        from thumbnailer.records import Record
        from thumbnailer.state import State
        state = State({str(tmp_path)!r})
        for n in range(3000):
            state.put(f"k{{n}}", Record("o", "s", "f", n, n, 1, 1), "")
        state.commit()
        for n in range(3000, 3500):
            state.put(f"k{{n}}", Record("o", "s", "f", n, n, 1, 1), "")
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", code], timeout=60)
    assert proc.returncode == -9
    state = State.load(str(tmp_path))
    assert 3000 <= len(state) < 3500
    assert state.get("k2999") == Record("o", "s", "f", 2999, 2999, 1, 1)
    assert state._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    state.close()
    assert listing(tmp_path) == [STATE_NAME]  # the next run leaves it at rest again


def test_mark_and_sweep(tmp_path):
    state = State(str(tmp_path))
    state.put("kept", RECORD._replace(output="kept.jpg"), "")
    state.put("gone", RECORD._replace(output="gone.jpg"), "")
    state.put("twin", RECORD._replace(output="kept.jpg"), "")  # -f auto and -f jpeg
    state.close()
    state = State.load(str(tmp_path))
    state.start_marking()
    state.mark(["kept", "new"])
    assert list(state.stale()) == [("gone", "gone.jpg", False, ANY),
                                   ("twin", "kept.jpg", True, ANY)]
    state.close()


def test_marks_survive_the_switch_to_writing(tmp_path):
    state = State(str(tmp_path))
    state.put("a", RECORD, "")
    state.put("b", RECORD, "")
    state.close()
    state = State.load(str(tmp_path))
    state.start_marking()
    state.mark(["a"])
    state.put("c", RECORD, "")  # the first change reopens nothing: the marks stay
    state.mark(["c"])
    assert [key for key, *_ in state.stale()] == ["b"]
    state.close()


def test_with_nothing_recorded_before_nothing_is_stale(tmp_path):
    # The first run with --prune: marks came before the database existed, so the
    # rows this run wrote must not look unmarked.
    state = State.load(str(tmp_path))
    state.start_marking()
    state.mark(["a"])
    state.put("a", RECORD, "")
    assert list(state.stale()) == []
    state.close()


def legacy(tmp_path, records):
    (tmp_path / LEGACY_NAME).write_text(json.dumps(
        {"version": 2, "records": {k: list(r) for k, r in records.items()}}))


def test_a_json_state_of_1x_is_migrated_then_removed(tmp_path):
    legacy(tmp_path, {"sub/a": RECORD, "b": RECORD._replace(output="b.jpg")})
    state = State.load(str(tmp_path))
    assert state.legacy and state.get("sub/a") == RECORD and len(state) == 2
    assert state.folder("sub") == {}  # folders are not known yet: looked up one by one
    state.put("sub/a", RECORD, "sub")  # as plan does when it meets it
    state.close()
    assert listing(tmp_path) == [STATE_NAME]
    assert State.load(str(tmp_path)).folder("sub") == {"sub/a": RECORD}


def test_a_dry_run_migrates_nothing(tmp_path):
    legacy(tmp_path, {"a": RECORD})
    state = State.load(str(tmp_path), read_only=True)
    assert state.get("a") == RECORD
    state.close()
    assert listing(tmp_path) == [LEGACY_NAME]


def test_a_foreign_json_is_not_migrated(tmp_path):
    (tmp_path / LEGACY_NAME).write_text('{"version": 1, "records": {"a": [1, 2]}}')
    assert len(State.load(str(tmp_path))) == 0


def test_rows_with_text_paths_are_read_as_they_are(tmp_path):
    # A row written by a person or another tool with sqlite3: TEXT, not BLOB.
    state = State(str(tmp_path))
    state.put("sub/a", RECORD, "sub")
    state.close()
    with sqlite3.connect(tmp_path / STATE_NAME) as db:
        db.execute("INSERT INTO records VALUES (CAST('sub' AS BLOB), 'sub/b', 'sub/b.jpg',"
                   " '/p/b.jpg', 'f', 1, 2, 3, 4, NULL)")
    db.close()
    state = State.load(str(tmp_path))
    assert state.folder("sub") == {"sub/a": RECORD,
                                   "sub/b": Record("sub/b.jpg", "/p/b.jpg", "f", 1, 2, 3, 4)}
    state.close()


def test_paths_that_are_not_utf8_are_kept_exactly(tmp_path):
    # Linux file names are bytes; Python keeps the invalid ones as surrogates.
    odd = os.fsdecode(b"bytes-\xff\xfe")
    record = RECORD._replace(output=odd + ".jpg", source="/photos/" + odd + ".jpg")
    state = State(str(tmp_path))
    state.put(odd, record, os.fsdecode(b"f\xff"))
    state.close()
    state = State.load(str(tmp_path))
    assert state.get(odd) == record
    assert state.folder(os.fsdecode(b"f\xff")) == {odd: record}
    state.close()
