"""How a run looks in a terminal: lines on stderr, a tqdm progress bar, data
on stdout. The command line's Reporter, and the only module that prints a run
(cli/__init__.py prints only --cache-key's line).
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator
from typing import Any

import click

from ..errors import ThumbnailerError
from ..outputs.report import failure_line
from ..result import Reporter
from ..spec import Entry, Outcome, Status
from .flags import flagged, worded

#: What a line must not carry to a terminal raw: C0 and C1 controls, DEL, line and
#: paragraph separators, bidi overrides (text that reads backwards), and lone
#: surrogates (bytes of a non-UTF-8 name, as os.fsdecode keeps them).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                     "\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    c = match.group()
    code = ord(c)
    if c in _NAMED:
        return _NAMED[c]
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8: the byte itself
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(line: str) -> str:
    """A line as a terminal may show it: one line, each character that could
    break it, move the cursor or hide text written as ``repr`` would (``\\n``,
    ``\\x1b``), a byte that is not UTF-8 as ``\\xNN``. Backslashes are kept
    as they are (Windows paths)."""
    if line.isascii() and line.isprintable():  # nearly every line: no regex
        return line
    return _UNSAFE.sub(_escape, line)


class ConsoleReporter(Reporter):
    """A run as a person sees it: failures and warnings on stderr (above the
    progress bar while one is drawn), data on stdout, a summary last. --quiet
    leaves only the failures and what stopped the run; --verbose adds a line per
    thumbnail made, skipped or pruned."""

    def __init__(self, quiet: bool = False, verbose: bool = False,
                 progress: bool | None = None) -> None:
        self.quiet, self.verbose = quiet, verbose and not quiet
        self.wanted = progress
        self.bar: Any = None  # a tqdm bar while the tasks run
        self._failed: str | None = None  # the last source told failed on the walk

    def _say(self, message: str) -> None:
        """Every line for stderr comes here: names in it are made printable, and
        the settings the library names are spelled as their flags."""
        message = flagged(printable(message))
        if self.bar is not None:
            self.bar.write(message, file=sys.stderr)
        else:
            click.echo(message, err=True)

    def warning(self, message: str) -> None:
        if not self.quiet:
            self._say(f"warning: {message}")

    def tells_skipped(self) -> bool:
        return self.verbose  # its other lines (failures) never come from a memo

    def skipped(self, entry: Entry) -> None:
        if entry.status is Status.FAILED and entry.since is None:
            # Failed while planning (a --name that gives a bad name for this file):
            # a new failure, one line per source, as render's are.
            if entry.source != self._failed:
                self._failed = entry.source
                self._say(failure_line(entry.source, entry.error or ""))
            return
        if not self.verbose:
            return
        if entry.status is Status.FAILED:
            if entry.source != self._failed:  # one line per source, whatever its sizes
                self._failed = entry.source
                self._say("known failure, not retried: "
                          f"{failure_line(entry.source, entry.error or '')} (since {entry.since})")
        else:
            self._say(f"up to date: {entry.output}")

    def planned(self, line: str) -> None:
        click.echo(printable(line))

    @contextlib.contextmanager
    def progress(self, total: int | None) -> Iterator[None]:
        """tqdm on stderr when asked for, or by default when stderr is a terminal
        (tqdm's own auto-disable rule). Decided before importing tqdm: its import
        is a sixth of the command's start-up, which cron and CI runs, with no
        terminal, never need."""
        if not (self.wanted if self.wanted is not None else sys.stderr.isatty()):
            yield
            return
        from tqdm import tqdm

        tqdm.monitor_interval = 0  # no monitor thread: the pool forks from this process
        with tqdm(total=total, unit="img", file=sys.stderr, leave=False) as bar:
            self.bar = bar
            try:
                yield
            finally:
                self.bar = None

    def walked(self, total: int) -> None:
        """The walk is done: the bar, which counted and showed the rate, gets its end."""
        if self.bar is not None:
            self.bar.total = total
            self.bar.refresh()

    def outcome(self, outcome: Outcome) -> None:
        if self.bar is not None:
            self.bar.update()
        if outcome.failed:
            self._say(failure_line(outcome.source, outcome.error or ""))
        if self.verbose:
            for message in outcome.warnings:
                self._say(f"{outcome.source}: warning: {message}")
            for entry in outcome.entries:
                if entry.status is Status.CREATED:
                    self._say(f"created: {entry.output} ({entry.width}x{entry.height}, "
                              f"{entry.bytes} bytes)")

    def pruned(self, path: str) -> None:
        if self.verbose:
            self._say(f"pruned: {path}")

    def problem(self, message: str) -> None:
        self._say(message)

    def error(self, error: ThumbnailerError) -> None:
        self.problem(f"thumbnailer: {worded(error)}")

    def summary(self, line: str) -> None:
        if not self.quiet:
            self._say(line)
