"""Headless Chromium for the gallery test, installed by the test set-up itself.

The gallery must look right in a real browser, so its test takes a screenshot. On
a machine without Chromium this installs Debian's packages (chromium and
chromium-driver), as the project's set-up promises; if that is impossible the test
fails saying how to install them, rather than skipping into green.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

PACKAGES = ["chromium", "chromium-driver"]


def find() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def find_or_install() -> str:
    found = find()
    if found:
        return found
    # Two xdist workers may both get here (the gallery's tests and the placeholders'):
    # one installs while the other waits, since two apt-gets at once fail on dpkg's lock.
    with open(Path(tempfile.gettempdir()) / "thumbnailer-tests-chromium.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return find() or _install()


def _install() -> str:
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*sudo, "apt-get", "install", "-y", "--no-install-recommends", *PACKAGES]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run([*sudo, "apt-get", "update"], env=env, capture_output=True)
        result = subprocess.run(install, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(
                "headless Chromium is needed for the gallery test and could not be "
                f"installed: run `apt-get install {' '.join(PACKAGES)}`\n{result.stderr[-2000:]}"
            )
    return find() or "chromium"


def screenshot(chromium: str, page: Path, shot: Path, size=(1200, 900)) -> Path:
    """A screenshot of ``page`` (a local file) at ``size``, as a user's browser shows it."""
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--force-device-scale-factor=1", f"--window-size={size[0]},{size[1]}",
         f"--screenshot={shot}", page.resolve().as_uri()],
        capture_output=True, timeout=120, check=True,
    )
    return shot
