import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from thumbnailer.storage.lock import LOCK_NAME, Locked, output_lock

HOLD = """
import sys, time
from thumbnailer.storage.lock import output_lock
with output_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_second_holder_is_refused_with_a_reason(tmp_path):
    with output_lock(str(tmp_path)), pytest.raises(Locked, match="another thumbnailer run"):
        with output_lock(str(tmp_path)):
            pass


def test_the_lock_is_released_on_exit(tmp_path):
    with output_lock(str(tmp_path)):
        pass
    with output_lock(str(tmp_path)):
        pass


def test_wait_blocks_until_the_holder_is_done(tmp_path):
    events = []

    def later():
        with output_lock(str(tmp_path), wait=True):
            events.append("second in")

    with output_lock(str(tmp_path)):
        waiter = threading.Thread(target=later)
        waiter.start()
        time.sleep(0.3)
        events.append("first out")
    waiter.join(10)
    assert events == ["first out", "second in"]


def test_waiting_with_wait_true(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    started = time.monotonic()
    threading.Timer(0.5, holder.terminate).start()
    with output_lock(str(tmp_path), wait=True):
        assert time.monotonic() - started >= 0.4
    holder.wait()
    holder.stdout.close()


def test_a_lock_left_by_a_killed_run_never_blocks(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(Locked):
        with output_lock(str(tmp_path)):
            pass
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    holder.stdout.close()
    assert (tmp_path / LOCK_NAME).exists()  # the file stays; the lock does not
    with output_lock(str(tmp_path)):
        pass
