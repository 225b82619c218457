import os
import stat

import pytest

from thumbnailer.atomic import TEMP_PREFIX, atomic_write


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
