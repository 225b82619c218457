"""What a run returns and what it tells as it goes: the ``JobResult``, whose
``exit_code`` is the one place an outcome becomes an exit status (``ExitCode``),
and the ``Reporter`` hooks (the command line's prints; this one is silent)."""

from __future__ import annotations

import contextlib
import enum
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import ThumbnailerError
from .outputs.report import Tally
from .spec import Entry, Outcome, Status, StopReason


class ExitCode(enum.IntEnum):
    """The exit status a run ends with (``JobResult.exit_code``)."""

    OK = 0  # nothing failed (skips are fine)
    FAILED = 1  # some inputs failed, the rest were done
    USAGE = 2  # bad options or arguments: nothing was done
    HALTED = 3  # stopped early: the output disk or the state is full, read-only or unusable
    PRUNE_REFUSED = 4  # --prune deleted nothing: a SOURCE gave no image, or too much
    OUT_OF_DATE = 5  # --check: some thumbnails are missing, out of date or stale
    DEADLINE = 6  # --deadline reached: images not started are left for the next run
    LOCKED = 75  # another run holds the output folder, or a process the state (EX_TEMPFAIL)
    INTERRUPTED = 130  # Ctrl-C: pending work cancelled, nothing half-written
    TERMINATED = 143  # SIGTERM (cron, systemd): as Ctrl-C


@dataclass
class JobResult:
    """What a run did; ``exit_code`` is the one place an outcome becomes a status."""

    tally: Tally
    seconds: float
    #: Why the run stopped before the end (None: it did not): INTERRUPTED (Ctrl-C),
    #: TERMINATED (SIGTERM), HALTED (full or read-only disk, unusable output folder
    #: or state, engine that cannot start), LOCKED (another run holds the output
    #: folder, or another process the state database), DEADLINE. A plain string
    #: given here ("locked") is taken as its StopReason.
    stop: StopReason | None = None
    pruned: list[str] | None = None  # None: --prune was not asked for, or not run
    #: Seconds spent writing the state (inserts, commits, checkpoints).
    state_seconds: float = 0.0
    #: Why --prune deleted nothing (prune.guard), if it refused.
    prune_refused: str | None = None
    #: With Options.check: thumbnails missing or out of date (and stale ones, with
    #: prune), else None.
    out_of_date: int | None = None
    #: Failed thumbnails of known failures: passed over, and tried again but
    #: failing again (the failure ledger). Neither fails the run unless strict.
    known_failures: int = 0
    repeated_failures: int = 0
    strict: bool = False

    def __post_init__(self) -> None:
        if self.stop is not None:
            self.stop = StopReason(self.stop)

    @property
    def sources(self) -> Counter[Status]:
        """Each source once (an image, a video, a RAW file), by its worst thumbnail:
        FAILED if any failed, else CREATED if any was made, else SKIPPED (up to
        date). ``tally.counts`` counts thumbnails."""
        return self.tally.sources

    @property
    def failures(self) -> Iterator[tuple[str, str]]:
        """(source, reason) of each failed source once, in the order they failed:
        from the entries kept on disk, or (Options.keep_entries off) from a list of
        the failures only; memory does not grow with the library."""
        return self.tally.failures()

    @property
    def new_failures(self) -> int:
        return self.tally.counts[Status.FAILED] - self.known_failures - self.repeated_failures

    @property
    def exit_code(self) -> ExitCode:
        if self.stop is None:
            if self.prune_refused is not None:  # the louder news: a disk may be missing
                return ExitCode.PRUNE_REFUSED
            if self.out_of_date:
                return ExitCode.OUT_OF_DATE
            failed = self.tally.counts[Status.FAILED] if self.strict else self.new_failures
            return ExitCode.FAILED if failed else ExitCode.OK
        return {
            StopReason.INTERRUPTED: ExitCode.INTERRUPTED,
            StopReason.TERMINATED: ExitCode.TERMINATED,
            StopReason.HALTED: ExitCode.HALTED,
            StopReason.LOCKED: ExitCode.LOCKED,
            StopReason.DEADLINE: ExitCode.DEADLINE,
        }[self.stop]


class Reporter:
    """What a run tells as it goes. This one tells nobody anything (for scripts
    that read the JobResult); the command line's prints (console.ConsoleReporter)."""

    def warning(self, message: str) -> None:
        """Something a person may want to know before the run (collisions)."""

    def skipped(self, entry: Entry) -> None:
        """A thumbnail passed over: up to date, or (status failed) a known failure
        not tried again."""

    def tells_skipped(self) -> bool:
        """Whether skipped() wants every up-to-date thumbnail: if not, a folder
        taken whole from its memo is counted, not told entry by entry (a rerun's
        fast path). A subclass that overrides skipped() wants them."""
        return type(self).skipped is not Reporter.skipped

    def planned(self, line: str) -> None:
        """A line of data: with dry_run, what would be made or pruned."""

    def progress(self, total: int | None) -> contextlib.AbstractContextManager[object]:
        """Held while tasks run; ``total`` is None while the walk still finds them."""
        return contextlib.nullcontext()

    def walked(self, total: int) -> None:
        """The walk has ended: ``total`` tasks in all."""

    def outcome(self, outcome: Outcome) -> None:
        """One task's result, as it comes back."""

    def pruned(self, path: str) -> None:
        """A thumbnail --prune deleted."""

    def problem(self, message: str) -> None:
        """The run stopped, or could not start: always worth telling."""

    def error(self, error: ThumbnailerError) -> None:
        """The run could not start or go on because of ``error`` (another run's
        lock, an engine that cannot start, a state that cannot be used): told as
        a problem, ``thumbnailer: <the error>``. The command line's names the
        setting at fault by its flag."""
        self.problem(f"thumbnailer: {error}")

    def summary(self, line: str) -> None:
        """The last line: counts and time."""
