"""Set-up for the whole test session."""

from __future__ import annotations

import compileall
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "thumbnailer"


def pytest_configure(config: pytest.Config) -> None:
    """Byte-compile this checkout's package when Python is told not to
    (PYTHONDONTWRITEBYTECODE, common in containers). Hundreds of tests run the
    real command in a fresh interpreter on this checkout (test_attack.py alone,
    100 to 170 times), and without a cache each start compiled every module
    again: a third of that test's CPU time. Here it is done once, before the
    xdist workers start, into the usual __pycache__ folders (ignored by git);
    Python checks each file against its source, so a stale one is never used."""
    if sys.dont_write_bytecode and not hasattr(config, "workerinput"):
        compileall.compile_dir(PACKAGE, quiet=1)
