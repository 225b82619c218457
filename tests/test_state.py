import os
from pathlib import Path

from thumbnailer.state import STATE_NAME, Record, State

RECORD = Record("sub/a.jpg", "/photos/sub/a.jpg", "f" * 16, 123, 456, 256, 171)


def test_records_survive_a_save_and_load(tmp_path):
    state = State(str(tmp_path))
    state.put("sub/a", RECORD)
    state.save()
    assert State.load(str(tmp_path)).get("sub/a") == RECORD


def test_a_missing_or_damaged_file_means_nothing_is_known(tmp_path):
    assert State.load(str(tmp_path)).records == {}
    (tmp_path / STATE_NAME).write_text('{"version": 1, "records": {"a": [1, 2]}}')
    assert State.load(str(tmp_path)).records == {}
    (tmp_path / STATE_NAME).write_bytes(b"\x00garbage")
    assert State.load(str(tmp_path)).records == {}
    (tmp_path / STATE_NAME).write_text('{"version": 999, "records": {}}')
    assert State.load(str(tmp_path)).records == {}


def test_saving_an_unchanged_state_writes_nothing(tmp_path):
    state = State(str(tmp_path))
    state.put("a", RECORD)
    state.save()
    before = os.stat(state.path)
    again = State.load(str(tmp_path))
    again.put("a", RECORD)  # the same record: not a change
    again.save()
    after = os.stat(state.path)
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


def test_equal_states_are_equal_bytes(tmp_path):
    one, two = State(str(tmp_path / "1")), State(str(tmp_path / "2"))
    one.put("b", RECORD)
    one.put("a", RECORD)
    two.put("a", RECORD)
    two.put("b", RECORD)
    one.save()
    two.save()
    assert Path(one.path).read_bytes() == Path(two.path).read_bytes()


def test_drop_forgets(tmp_path):
    state = State(str(tmp_path))
    state.put("a", RECORD)
    state.drop("a")
    state.drop("never-there")
    assert state.get("a") is None
