"""The command line's words for the library's: the flag that sets each field of
Settings and Options, in one table.

A library error about one setting says which in ``setting`` and names it as
Python does (``Settings.name``, ``Options.wait``); the command line tells the
same message with the flag in its place (``--name``, ``--wait``). Every other
line the library words for a person (a source's failure, a refusal, the
summary) names a field the same way, with its value after ``=`` where it gives
one (``Settings.fail_on=none``): the console prints it as ``--fail-on none``
(``flagged``). What a run writes to files (the manifest, the gallery, the
Markdown report) is the library's and keeps its words.
"""

from __future__ import annotations

import re

#: The flag of every field a person sets on the command line (Options'
#: report_append, keep_entries and watch_quiet have none: the command line
#: decides them).
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
    "shard": "--shard", "xdg_cache": "--xdg-cache", "colour_space": "--colour-space",
    "hdr": "--hdr",
    # Options
    "workers": "--workers", "executor": "--executor", "scheduler": "--scheduler",
    "dry_run": "--dry-run", "check": "--check", "prune": "--prune",
    "prune_limit": "--prune-limit", "manifest": "--manifest", "deadline": "--deadline",
    "report": "--report", "gallery": "--gallery", "wait": "--wait",
    "retry_failed": "--retry-failed", "strict": "--strict", "max_memory": "--max-memory",
    "adopt": "--adopt", "watch": "--watch", "watch_poll": "--watch-poll",
}

def worded(error: Exception) -> str:
    """``str(error)`` as the command line tells it: each field named by its flag,
    a value given after ``=`` as the flag's argument (``--crop faces``)."""
    return flagged(str(error))


#: ``Settings.field`` or ``Options.field``, with ``=value`` after it where the
#: text gives one; not a file name's start (``Options.prune.jpg``).
_NAMED = re.compile(r"\b(?:Settings|Options)\.([a-z_]+)\b(?:=([^\s,;:)]+))?(?!\.\w)")


def flagged(text: str) -> str:
    """``text`` with each field the library names spelled as its flag, and the
    value given after it as the flag's argument (``--fail-on none``)."""

    def flag(match: re.Match[str]) -> str:
        name, value = match[1], match[2]
        if name not in FLAGS:
            return match[0]
        return FLAGS[name] if value is None else f"{FLAGS[name]} {value}"

    return _NAMED.sub(flag, text)
