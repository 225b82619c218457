"""Capturing what C libraries write to file descriptor 2 around one task
(run/stderr.py): caught, put back whatever happens, one file per process."""

import ctypes
import os
import sys
import threading

import pytest

from thumbnailer.run import stderr as capture
from thumbnailer.run.stderr import captured_stderr

libc = ctypes.CDLL(None)


def c_write(text: bytes) -> None:
    """What a decoder does: write(2, ...) from C, past Python's sys.stderr."""
    assert libc.write(2, text, len(text)) == len(text)


def where_fd2_points() -> tuple[int, int]:
    st = os.fstat(2)
    return st.st_dev, st.st_ino


def test_a_c_write_to_fd_2_is_caught_and_fd_2_put_back():
    before = where_fd2_points()
    with captured_stderr() as caught:
        c_write(b"More samples per pixel than can be decoded: 65535\n")
        c_write(b"More samples per pixel than can be decoded: 65535\n")
        os.write(2, b"tempfile.tif: WEBP compression support is not configured.\n")
        assert caught.lines()[0].startswith("More samples")  # readable inside, too
        c_write(b"after a look\n")  # goes after what was read, not over it
        assert where_fd2_points() != before
    assert where_fd2_points() == before
    assert caught.lines() == ("More samples per pixel than can be decoded: 65535",
                              "tempfile.tif: WEBP compression support is not configured.",
                              "after a look")


def test_python_writes_to_sys_stderr_are_caught_too():
    with captured_stderr() as caught:
        print("a plugin's print", file=sys.stderr)
    assert caught.lines() == ("a plugin's print",)


def test_fd_2_is_put_back_after_an_exception():
    before = where_fd2_points()
    caught = captured_stderr()
    with pytest.raises(RuntimeError), caught:
        c_write(b"said before dying\n")
        raise RuntimeError("the decoder gave up")
    assert where_fd2_points() == before
    assert caught.lines() == ("said before dying",)
    c_write(b"")  # still writable


def test_one_file_per_process_emptied_between_tasks():
    with captured_stderr() as first:
        c_write(b"first task\n")
    fd = capture._file()
    with captured_stderr() as second:
        pass
    with captured_stderr() as third:
        c_write(b"third task\n")
    assert capture._file() == fd
    assert (first.lines(), second.lines(), third.lines()) == (("first task",), (), ("third task",))


def test_a_forked_child_uses_a_file_of_its_own():
    with captured_stderr():
        pass
    parent = capture._file()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its file is not the parent's, and its text its own
        try:
            with captured_stderr() as caught:
                c_write(b"from the child\n")
            ok = capture._file() != parent and caught.lines() == ("from the child",)
            os.write(write, b"ok" if ok else b"no")
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 2) == b"ok"
    os.close(read)
    with captured_stderr() as caught:
        pass
    assert caught.lines() == ()


def test_long_output_is_kept_bounded():
    with captured_stderr() as caught:
        for n in range(5000):
            c_write(f"strip {n}: bad data\n".encode())
    assert len(caught.lines()) == capture.KEEP_LINES


def test_nothing_is_captured_off_the_main_thread():
    """Descriptor 2 is the whole process's: a thread must not move it."""
    seen = []

    def work():
        before = where_fd2_points()
        with captured_stderr() as caught:
            seen.append(where_fd2_points() == before)
        seen.append(caught.lines())

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [True, ()]


def test_without_a_temporary_folder_nothing_is_caught_and_nothing_fails(monkeypatch, tmp_path):
    """A read-only or missing TMPDIR must not fail every source."""
    import tempfile

    monkeypatch.setattr(capture, "_spool", None)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))
    before = where_fd2_points()
    with captured_stderr() as caught:
        assert where_fd2_points() == before
    assert (caught.active, caught.lines()) == (False, ())
