"""The command line's words for the library's: the flag that sets each field of
Settings and Options, in one table.

A library error about one setting says which in ``setting`` and names it as
Python does (``Settings.name``, ``Options.wait``); the command line tells the
same message with the flag in its place (``--name``, ``--wait``).
"""

from __future__ import annotations

import dataclasses

from ..errors import ThumbnailerError
from ..job import Options
from ..spec import Settings

#: The flag of every field a person sets on the command line (Options'
#: report_append and keep_entries have none: the command line decides them).
FLAGS = {
    # Settings
    "output": "--output", "sizes": "--size", "formats": "--format", "quality": "--quality",
    "fit": "--fit", "crop": "--crop", "upscale": "--upscale", "background": "--background",
    "keep_metadata": "--keep-metadata", "animated": "--animated",
    "max_frames": "--max-frames", "max_pixels": "--max-pixels",
    "max_file_size": "--max-file-size", "timeout": "--timeout", "fail_on": "--fail-on",
    "allow_formats": "--allow-format", "name": "--name", "include": "--include",
    "exclude": "--exclude", "hidden": "--hidden", "follow_symlinks": "--follow-symlinks",
    "video": "--video", "raw": "--raw", "placeholders": "--placeholders", "force": "--force",
    "shard": "--shard", "xdg_cache": "--xdg-cache",
    # Options
    "workers": "--workers", "executor": "--executor", "scheduler": "--scheduler",
    "dry_run": "--dry-run", "check": "--check", "prune": "--prune",
    "prune_limit": "--prune-limit", "manifest": "--manifest", "deadline": "--deadline",
    "report": "--report", "gallery": "--gallery", "wait": "--wait",
    "retry_failed": "--retry-failed", "strict": "--strict", "max_memory": "--max-memory",
    "adopt": "--adopt",
}

_SETTINGS = frozenset(f.name for f in dataclasses.fields(Settings))
_OPTIONS = frozenset(f.name for f in dataclasses.fields(Options))


def spelled(setting: str) -> str:
    """How the library's messages name a field: ``Settings.name``, ``Options.wait``."""
    if setting in _SETTINGS:
        return f"Settings.{setting}"
    if setting in _OPTIONS:
        return f"Options.{setting}"
    raise KeyError(setting)


def worded(error: Exception) -> str:
    """``str(error)``, with the setting a ThumbnailerError is about named by its flag."""
    message = str(error)
    setting = error.setting if isinstance(error, ThumbnailerError) else None
    if setting is None or setting not in FLAGS:
        return message
    return message.replace(spelled(setting), FLAGS[setting])
