"""The one base class of every error thumbnailer raises.

A library caller catches them all with one ``except ThumbnailerError`` and lets
anything else (a bug, a KeyboardInterrupt) through. Each error keeps the built-in
base its own catchers rely on too: ``JobError`` is a ValueError, the state's and
the storage's refusals are OSErrors, ``Locked`` is a RuntimeError.

This module imports nothing of the package: every layer may raise from it.
"""

from __future__ import annotations


class ThumbnailerError(Exception):
    """Something thumbnailer refused or could not do; ``str()`` is the reason,
    worded for a person."""
