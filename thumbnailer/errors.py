"""The one base class of every error thumbnailer raises, and ``JobError``.

A library caller catches them all with one ``except ThumbnailerError`` and lets
anything else (a bug, a KeyboardInterrupt) through. Each error keeps the built-in
base its own catchers rely on too: ``JobError`` is a ValueError, the state's and
the storage's refusals are OSErrors, ``Locked`` is a RuntimeError.

An error about one setting says which in ``setting`` (the field's name), and its
message names it as Python does, ``Settings.name`` or ``Options.wait``: never as
the command line's flag, which the command line puts in its place (cli/flags.py).

This module imports nothing of the package: every layer may raise from it.
"""

from __future__ import annotations


class ThumbnailerError(Exception):
    """Something thumbnailer refused or could not do; ``str()`` is the reason,
    worded for a person."""

    #: The Settings or Options field the error is about ("name", "max_memory"),
    #: if it is about one.
    setting: str | None = None

    def __init__(self, *args: object, setting: str | None = None) -> None:
        super().__init__(*args)
        self.setting = setting


class JobError(ThumbnailerError, ValueError):
    """The job cannot run at all (a setting out of range, unsafe output folder, bad
    name template, missing SOURCE URL): found before anything is touched; the
    message says why."""
