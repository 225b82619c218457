"""The SQLite state: records, an unchanged rerun that writes nothing, crash safety,
mark and sweep, and the migration of 1.x JSON state files."""

import contextlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from helpers import invoke, photo

from thumbnailer.plan import state as state_module
from thumbnailer.plan.state import LEGACY_NAME, STATE_NAME, State, trouble
from thumbnailer.plan.state.records import Record
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


def test_the_gallerys_folders_are_kept_and_a_state_from_before_knows_none(tmp_path):
    state = State(str(tmp_path))
    state.put("sub/a", RECORD, "sub")
    state.close()
    with sqlite3.connect(tmp_path / STATE_NAME) as db:  # as a state from before the table
        db.execute("DROP TABLE pages")
    db.close()
    state = State.load(str(tmp_path))
    assert state.gallery_folders() == set()
    state.keep_gallery_folders({"", "sub", "sub/\udcff"})  # any bytes a name may hold
    state.close()
    state = State.load(str(tmp_path))
    assert state.gallery_folders() == {"", "sub", "sub/\udcff"}
    state.keep_gallery_folders({"sub", "", "sub/\udcff"})  # the same: nothing is written
    assert not state.dirty
    state.keep_gallery_folders({"sub"})
    state.close()
    assert State.load(str(tmp_path)).gallery_folders() == {"sub"}


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
        from thumbnailer.plan.state.records import Record
        from thumbnailer.plan.state import State
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


# --- busy, damaged, full, unwritable ---------------------------------------------

HOLD = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
if sys.argv[2] == "exclusive":  # as a backup tool or the sqlite3 shell may
    db.execute("BEGIN EXCLUSIVE")
else:  # a plain read transaction, kept open
    db.execute("BEGIN")
    db.execute("SELECT count(*) FROM records").fetchall()
print("held", flush=True)
sys.stdin.read()  # until the test closes our stdin
"""


@contextlib.contextmanager
def held(path, how="exclusive"):
    """Another process holding the database at ``path`` until the block ends."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path), how],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()


@pytest.fixture
def quick(monkeypatch):
    """A busy database is waited for a fraction of a second, not 10 s."""
    monkeypatch.setattr(state_module, "BUSY_SECONDS", 0.3, raising=False)


def recorded(tmp_path, count):
    state = State(str(tmp_path))
    for n in range(count):
        state.put(f"k{n}", RECORD._replace(mtime_ns=n), "")
    state.close()
    return (tmp_path / STATE_NAME).read_bytes()


def test_a_database_another_process_holds_is_busy_not_damaged(tmp_path, quick):
    before = recorded(tmp_path, 3)
    with held(tmp_path / STATE_NAME):
        for read_only in (False, True):  # a run, and --dry-run or --check
            with pytest.raises(state_module.StateBusy) as caught:
                State.load(str(tmp_path), read_only)
            assert str(caught.value) == (
                f"the state database {tmp_path / STATE_NAME} is in use by another process "
                "(waited 0.3 s); nothing was lost: try again later")
            assert caught.value.stop == "locked"
    assert listing(tmp_path) == [STATE_NAME]  # neither deleted nor moved aside
    assert (tmp_path / STATE_NAME).read_bytes() == before
    state = State.load(str(tmp_path))
    assert len(state) == 3
    state.close()


def test_a_reader_holding_the_database_stops_the_first_write_and_close_tries_again(
        tmp_path, quick):
    recorded(tmp_path, 3)
    state = State.load(str(tmp_path))
    with held(tmp_path / STATE_NAME, "read"):
        with pytest.raises(state_module.StateBusy):
            state.put("new", RECORD, "")  # the switch to WAL needs the reader gone
        with pytest.raises(state_module.StateBusy):  # at once, not after another wait
            state.get("k0")
    state.close()  # the reader is gone: what was put is written now
    again = State.load(str(tmp_path))
    assert again.get("new") == RECORD and len(again) == 4
    again.close()


def test_a_file_that_is_not_a_database_is_moved_aside_never_deleted(tmp_path):
    garbage = b"\x00garbage, not a database" * 100
    (tmp_path / STATE_NAME).write_bytes(garbage)
    (tmp_path / (STATE_NAME + "-wal")).write_bytes(b"not a wal either" * 10)
    state = State.load(str(tmp_path))
    assert len(state) == 0
    aside, why = state.moved_aside
    name = os.path.basename(aside)
    assert re.fullmatch(re.escape(STATE_NAME) + r"\.damaged-\d{8}T\d{6}Z", name), name
    assert why == "file is not a database"
    # SQLite drops a -wal that is no WAL when it lets go of the file; whatever of
    # the journal is left goes with the file, and nothing is left for the fresh state.
    assert listing(tmp_path)[0] == name
    assert all(left.startswith(name) for left in listing(tmp_path))
    assert (tmp_path / name).read_bytes() == garbage
    state.put("a", RECORD)  # and the run starts with a fresh state
    state.close()
    assert [n for n in listing(tmp_path) if not n.startswith(name)] == [STATE_NAME]
    assert State.load(str(tmp_path)).get("a") == RECORD


def test_another_version_or_a_failed_check_is_moved_aside(tmp_path):
    recorded(tmp_path, 3)
    with sqlite3.connect(tmp_path / STATE_NAME) as db:
        db.execute("PRAGMA user_version=99")
    db.close()
    kept = (tmp_path / STATE_NAME).read_bytes()
    state = State.load(str(tmp_path))
    assert len(state) == 0 and state.moved_aside[1] == "a database of another version (99)"
    assert [p.read_bytes() for p in tmp_path.iterdir()] == [kept]
    state.close()
    # A database of ours whose pages do not hold together: PRAGMA quick_check says so.
    other = tmp_path / "other"
    other.mkdir()
    recorded(other, 2000)
    data = bytearray((other / STATE_NAME).read_bytes())
    assert data[4096 * 3] == 10  # a leaf page of the records (4 KiB pages)
    data[4096 * 3] = 0x55  # no kind of page at all
    (other / STATE_NAME).write_bytes(data)
    state = State.load(str(other))
    assert len(state) == 0 and state.moved_aside[1].startswith("PRAGMA quick_check: ")
    assert listing(other) == [os.path.basename(state.moved_aside[0])]
    state.close()


def test_an_empty_file_is_a_state_with_nothing_yet_not_damage(tmp_path):
    (tmp_path / STATE_NAME).write_bytes(b"")  # a first run stopped by a full disk
    state = State.load(str(tmp_path))
    assert len(state) == 0 and state.moved_aside is None
    state.put("a", RECORD)
    state.close()
    assert listing(tmp_path) == [STATE_NAME] and State.load(str(tmp_path)).get("a") == RECORD


def test_a_folder_at_the_state_path_is_not_ours_and_is_left_alone(tmp_path):
    (tmp_path / STATE_NAME).mkdir()
    (tmp_path / STATE_NAME / "someone's.txt").write_text("keep me")
    for read_only in (False, True):
        with pytest.raises(state_module.StateUnwritable) as caught:
            State.load(str(tmp_path), read_only)
        assert str(caught.value) == (f"{tmp_path / STATE_NAME} is a folder, not "
                                     "thumbnailer's state: move it away")
        assert caught.value.stop == "halted"
    assert listing(tmp_path) == [STATE_NAME]
    assert (tmp_path / STATE_NAME / "someone's.txt").read_text() == "keep me"


def test_a_full_disk_mid_save_keeps_what_was_committed(tmp_path):
    recorded(tmp_path, 100)
    state = State.load(str(tmp_path))
    state.put("k100", RECORD, "")  # switched to writing
    state.commit()
    pages = state._db.execute("PRAGMA page_count").fetchone()[0]
    state._db.execute(f"PRAGMA max_page_count={pages}")  # SQLITE_FULL from now on
    for n in range(101, 3000):
        state._rows[f"k{n}".encode()] = (f"k{n}".encode(), b"", b"o", b"s", "f", n, n, 1, 1, None)
    with pytest.raises(state_module.StateUnwritable) as caught:
        state.commit()
    assert str(caught.value) == (f"cannot write the state {tmp_path / STATE_NAME}: "
                                 "database or disk is full")
    with pytest.raises(state_module.StateUnwritable):
        state.close()  # tries once more, and lets go
    assert state._db is None
    assert (tmp_path / STATE_NAME).stat().st_size > 0
    again = State.load(str(tmp_path))
    assert len(again) == 101 and again.get("k100") == RECORD
    assert again._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    again.close()


# --- through the command line ------------------------------------------------------


def about_the_state(result):
    """The lines about the state; and no traceback, nothing raised."""
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return [line for line in result.stderr.splitlines() if STATE_NAME in line]


@pytest.fixture
def photos(tmp_path):
    src = tmp_path / "photos"
    for i in range(4):
        photo(src / f"p{i}.jpg", (64, 48), seed=i)
    return src


def test_a_busy_state_exits_75_with_one_line_and_loses_nothing(tmp_path, photos, quick):
    out = tmp_path / "out"
    assert invoke(photos, "-o", out, "-w", "1").exit_code == 0
    with held(out / STATE_NAME):
        result = invoke(photos, "-o", out, "-w", "1")
        assert result.exit_code == 75
        assert about_the_state(result) == [
            f"thumbnailer: the state database {out / STATE_NAME} is in use by another "
            "process (waited 0.3 s); nothing was lost: try again later"]
        assert invoke(photos, "-o", out, "--dry-run").exit_code == 75
    again = invoke(photos, "-o", out, "-w", "1")
    assert again.exit_code == 0 and again.stderr.startswith("4 images: 4 up to date in")


def test_a_full_state_exits_3_and_the_next_run_makes_only_what_is_missing(
        tmp_path, photos, monkeypatch):
    out = tmp_path / "out"
    assert invoke(photos, "-o", out, "-w", "1").exit_code == 0
    for i in range(40):  # rows enough to need a page more than the database has
        photo(photos / f"{'a-long-name-' * 8}{i}.jpg", (32, 24), seed=i)
    connect = State._connect

    def full(self):  # SQLITE_FULL as a full disk gives it: the file cannot grow
        db = connect(self)
        db.execute(f"PRAGMA max_page_count={db.execute('PRAGMA page_count').fetchone()[0]}")
        return db

    monkeypatch.setattr(State, "_connect", full)
    result = invoke(photos, "-o", out, "-w", "1")
    assert result.exit_code == 3
    assert about_the_state(result) == [
        f"stopping early: cannot write the state {out / STATE_NAME}: database or disk is "
        "full; what was recorded before is kept, and the next run makes what is missing"]
    monkeypatch.setattr(State, "_connect", connect)  # space again
    again = invoke(photos, "-o", out, "-w", "1")
    assert again.exit_code == 0 and again.stderr.startswith(
        "44 images: 40 made (40 thumbnails), 4 up to date in"), again.stderr


def test_a_folder_at_the_state_path_exits_3_with_one_line(tmp_path, photos):
    out = tmp_path / "out"
    (out / STATE_NAME).mkdir(parents=True)
    result = invoke(photos, "-o", out, "-w", "1")
    assert result.exit_code == 3
    assert about_the_state(result) == result.stderr.splitlines() == [
        f"thumbnailer: {out / STATE_NAME} is a folder, not thumbnailer's state: move it away"]
    assert listing(out / STATE_NAME) == []


def test_a_reader_mid_run_stops_it_with_75_and_what_was_made_is_recorded(
        tmp_path, photos, quick, monkeypatch):
    out = tmp_path / "out"
    assert invoke(photos, "-o", out, "-w", "1").exit_code == 0
    for i in range(4):
        photo(photos / f"new{i}.jpg", (64, 48), seed=10 + i)
    with contextlib.ExitStack() as holding:
        holding.enter_context(held(out / STATE_NAME, "read"))
        met = trouble.Trouble.met

        def released(self, e):  # the reader goes once the run gave up on it
            met(self, e)
            holding.close()

        monkeypatch.setattr(trouble.Trouble, "met", released)
        result = invoke(photos, "-o", out, "-w", "1")
    assert result.exit_code == 75
    assert about_the_state(result) == [
        f"thumbnailer: the state database {out / STATE_NAME} is in use by another "
        "process (waited 0.3 s); nothing was lost: try again later"]
    assert ": 1 made (1 thumbnail)" in result.stderr.splitlines()[-1]  # it stopped there
    again = invoke(photos, "-o", out, "-w", "1")  # the one it made was recorded
    assert again.exit_code == 0 and again.stderr.startswith(
        "8 images: 3 made (3 thumbnails), 5 up to date in")


@pytest.mark.parametrize("error", [trouble.StateError, trouble.StateBusy,
                                   trouble.StateUnwritable])
def test_state_errors_survive_pickling(error: type[trouble.StateError]) -> None:
    """An error crossing a process (a Dask worker, a pool) keeps its line and its
    errno: OSError's own pickling swapped them."""
    import pickle

    copy = pickle.loads(pickle.dumps(error("the state is locked", 5)))
    assert type(copy) is error
    assert (str(copy), copy.errno, copy.stop) == ("the state is locked", 5, error.stop)
