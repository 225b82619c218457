"""--report: a run's summary in Markdown, for a person reading a CI job (GitHub
shows $GITHUB_STEP_SUMMARY on the run's page).

It is fed each outcome as it comes back and keeps only what it shows (the
largest outputs, the slowest sources, the first failures), so its memory does not
grow with the library.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..spec import Outcome, Status
from .report import human_bytes

#: Rows of the tables of the largest and the slowest sources.
TOP = 10
#: Rows of the table of failures (the manifest has them all).
FAILURES_SHOWN = 100


class MarkdownReport:
    """What --report shows, collected as the run goes."""

    def __init__(self) -> None:
        self.bytes_written = 0
        self.largest: list[tuple[int, str]] = []  # a min-heap: (bytes, output)
        self.slowest: list[tuple[float, str]] = []  # a min-heap: (seconds, source)
        self.failures: list[tuple[str, str]] = []  # (source, reason), the first ones
        self.failed = 0

    def add(self, outcome: Outcome) -> None:
        for entry in outcome.entries:
            if entry.status is Status.CREATED and entry.bytes is not None:
                self.bytes_written += entry.bytes
                _keep(self.largest, (entry.bytes, entry.output or ""))
        if outcome.failed:
            self.failed += 1
            if len(self.failures) < FAILURES_SHOWN:
                self.failures.append((outcome.source, outcome.error or ""))
        elif outcome.entries:
            _keep(self.slowest, (outcome.seconds, outcome.source))

    def markdown(self, counts: Counter[Status], seconds: float, pruned: Sequence[str] | None,
                 refused: str | None, title: str, known: int = 0, images: str = "") -> str:
        """``known``: failed thumbnails that are known failures, not tried again;
        ``images``: the summary line's count of images (report.images_counted),
        each once, above the table's counts of thumbnails."""
        lines = [f"## {title}", "", *([f"**{images}.**", ""] if images else []),
                 "| thumbnails created | up to date | failed | pruned | bytes written | time |",
                 "|---:|---:|---:|---:|---:|---:|",
                 f"| {counts[Status.CREATED]:,} | {counts[Status.SKIPPED]:,} | "
                 f"{counts[Status.FAILED]:,} | "
                 f"{'not asked' if pruned is None else f'{len(pruned):,}'} | "
                 f"{human_bytes(self.bytes_written)} | {seconds:.1f} s |", ""]
        if refused:
            lines += [f"**Options.prune deleted nothing:** {_cell(refused)}.", ""]
        if known:
            lines += [f"{known:,} of the failed thumbnails are known failures, not tried "
                      "again (`Options.retry_failed` tries them).", ""]
        if self.failures:
            lines += [f"### Failures ({self.failed:,} image{'s' if self.failed != 1 else ''})", "",
                      "| source | reason |", "|---|---|"]
            lines += [f"| `{_cell(source)}` | {_cell(reason)} |"
                      for source, reason in self.failures]
            if self.failed > len(self.failures):
                lines.append(f"| ... and {self.failed - len(self.failures):,} more | |")
            lines.append("")
        if self.largest:
            lines += ["### Largest thumbnails made", "", "| thumbnail | size |", "|---|---:|"]
            lines += [f"| `{_cell(output)}` | {human_bytes(size)} |"
                      for size, output in sorted(self.largest, reverse=True)]
            lines.append("")
        if self.slowest:
            lines += ["### Slowest sources", "", "| source | seconds |", "|---|---:|"]
            lines += [f"| `{_cell(source)}` | {taken:.2f} |"
                      for taken, source in sorted(self.slowest, reverse=True)]
            lines.append("")
        return "\n".join(lines)


def _keep(heap: list[Any], item: Any) -> None:
    """Keep the TOP largest items seen."""
    if len(heap) < TOP:
        heapq.heappush(heap, item)
    elif item > heap[0]:
        heapq.heapreplace(heap, item)


def _cell(text: str) -> str:
    """Text that cannot break a table row (or a code span)."""
    return " ".join(text.split()).replace("|", "\\|").replace("`", "'")
