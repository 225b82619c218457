import os
import stat

import pytest

from thumbnailer.storage.atomic import TEMP_PREFIX, atomic_write


def test_writes_the_whole_file_under_its_name(tmp_path):
    target = tmp_path / "a.bin"
    with atomic_write(target) as f:
        f.write(b"hello")
        assert not target.exists()  # nothing under the final name until the end
    assert target.read_bytes() == b"hello"
    assert os.listdir(tmp_path) == ["a.bin"]


def test_a_failure_leaves_no_file_and_no_temporary(tmp_path):
    target = tmp_path / "a.bin"
    with pytest.raises(RuntimeError), atomic_write(target) as f:
        f.write(b"half")
        raise RuntimeError("encoder died")
    assert os.listdir(tmp_path) == []


def test_a_failure_keeps_the_previous_version_intact(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), atomic_write(target) as f:
        f.write(b"new but half")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old"
    assert [p for p in os.listdir(tmp_path) if p.startswith(TEMP_PREFIX)] == []


def test_the_file_gets_ordinary_permissions(tmp_path):
    target = tmp_path / "a.bin"
    with atomic_write(target) as f:
        f.write(b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_a_run_mark_left_by_a_killed_run_makes_the_next_one_sweep(tmp_path):
    from thumbnailer.storage.atomic import RUNNING_NAME, TEMP_PREFIX, writing_in

    root = tmp_path / "out"
    (root / "a" / "b").mkdir(parents=True)
    stale = root / "a" / "b" / f"{TEMP_PREFIX}zz"
    stale.write_bytes(b"partial")
    keep = root / "a" / "photo.jpg"
    keep.write_bytes(b"a thumbnail")
    with writing_in(str(root)):  # no mark: a clean last run, nothing is walked
        assert (root / RUNNING_NAME).exists()
    assert stale.exists() and not (root / RUNNING_NAME).exists()
    (root / RUNNING_NAME).write_bytes(b"")  # as a killed run leaves it
    with writing_in(str(root)):
        pass
    assert not stale.exists() and keep.read_bytes() == b"a thumbnail"


def test_a_run_that_fails_keeps_its_mark(tmp_path):
    import pytest

    from thumbnailer.storage.atomic import RUNNING_NAME, writing_in

    with pytest.raises(RuntimeError), writing_in(str(tmp_path)):
        raise RuntimeError("boom")
    assert (tmp_path / RUNNING_NAME).exists()
