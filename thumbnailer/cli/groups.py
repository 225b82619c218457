"""--help in groups: the heading of every option, in one table, and the command
class that writes one section per heading with click's own formatter.

The help says what each option is for in a line or two; docs/usage.md explains
each in full. An option missing from GROUPS still shows, under "Other options",
and tests/cli/test_help.py fails until it is given a group.
"""

from __future__ import annotations

import click

#: Each heading of --help, in order, with its options (click's parameter names)
#: in the order they are shown.
GROUPS: dict[str, tuple[str, ...]] = {
    "Thumbnails": (
        "output", "size", "formats", "quality", "fit", "crop", "colour_space", "hdr",
        "upscale", "background",
        "name", "keep_metadata", "animated", "max_frames", "xdg_cache",
    ),
    "What is read": (
        "include", "exclude", "hidden", "follow_symlinks", "video", "raw", "allow_formats",
    ),
    "Limits": ("max_pixels", "max_file_size", "timeout", "fail_on", "max_memory"),
    "Workers": ("workers", "executor", "scheduler"),
    "Runs and state": (
        "force", "retry_failed", "adopt", "prune", "prune_limit", "wait", "dry_run",
        "watch", "watch_poll",
    ),
    "CI and cron": ("strict", "check", "cache_key", "shard", "deadline", "report"),
    "Manifest, gallery, messages": (
        "manifest", "gallery", "placeholders", "verbose", "quiet", "progress", "version", "help",
    ),
}

#: The widest first column (the option's names and metavar); a longer one puts
#: its help on the next line.
COL_MAX = 24

OTHER = "Other options"


class GroupedCommand(click.Command):
    """A command whose --help lists its options under the headings of GROUPS."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        records = {}
        help_option = self.get_help_option(ctx)
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if isinstance(param, click.Option) and record is not None:
                records["help" if param is help_option else str(param.name)] = record
        grouped = {name for names in GROUPS.values() for name in names}
        sections = [*GROUPS.items(), (OTHER, tuple(n for n in records if n not in grouped))]
        for heading, names in sections:
            # every section's first column as wide, so the help lines up down the page
            rows = [(records[n][0].ljust(COL_MAX), records[n][1]) for n in names if n in records]
            if rows:
                with formatter.section(heading):
                    formatter.write_dl(rows, col_max=COL_MAX)
