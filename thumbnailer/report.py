"""What a run tells people and programs: failure lines, the summary, the manifest,
the exit code. Returns strings and data; printing is the console reporter's job."""

from __future__ import annotations

import enum
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from .spec import Entry, Status
from .storage import store

MANIFEST_VERSION = 1


class ExitCode(enum.IntEnum):
    OK = 0  # nothing failed (skips are fine)
    FAILED = 1  # some inputs failed, the rest were done
    USAGE = 2  # bad options or arguments: nothing was done
    HALTED = 3  # stopped early: the output disk is full, read-only or unusable
    LOCKED = 75  # another run holds the output folder (EX_TEMPFAIL: try again later)
    INTERRUPTED = 130  # Ctrl-C: pending work cancelled, nothing half-written
    TERMINATED = 143  # SIGTERM (cron, systemd): as Ctrl-C


class Tally:
    """Every entry of a run, as it comes in."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.counts: Counter[Status] = Counter()

    def add(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            self.entries.append(entry)
            self.counts[entry.status] += 1


def failure_line(source: str, reason: str) -> str:
    """One line per failed input: the path as given, then why."""
    return f"{source}: {reason}"


def summary_line(counts: Counter[Status], seconds: float, *, dry_run: bool = False,
                 pruned: int | None = None, symlinks: int = 0) -> str:
    """``pruned`` is None when --prune was not asked for; ``symlinks`` counts the
    symlinks the walk did not follow."""
    created = "to create" if dry_run else "created"
    prune = ""
    if pruned is not None:
        prune = f", {pruned} {'to prune' if dry_run else 'pruned'}"
    links = ""
    if symlinks:
        links = (f"; {symlinks:,} symlinked {'entry' if symlinks == 1 else 'entries'} "
                 "skipped (--follow-symlinks follows them)")
    return (
        f"{counts[Status.CREATED]} {created}, {counts[Status.SKIPPED]} skipped, "
        f"{counts[Status.FAILED]} failed{prune} in {seconds:.1f} s{links}"
    )


def manifest(
    entries: Sequence[Entry],
    seconds: float,
    size_order: Sequence[str],
    root: str | None = None,
    pruned: Sequence[str] = (),
) -> dict[str, Any]:
    """The manifest as data: entries sorted by source, size and format, so equal
    runs give equal files (but for ``seconds``). With the output ``root``, also a
    per-source list of outputs for web builds (see sources())."""
    rank = {label: i for i, label in enumerate(size_order)}
    ordered = sorted(entries, key=lambda e: (e.source, rank.get(e.size, len(rank)), e.size,
                                             e.format or ""))
    counts = Counter(e.status for e in entries)
    data = {
        "version": MANIFEST_VERSION,
        "entries": [e.as_dict() for e in ordered],
        "summary": {
            **{status.value: counts[status] for status in Status},
            "pruned": len(pruned),
            "seconds": round(seconds, 3),
        },
        "pruned": list(pruned),
    }
    if root is not None:
        data["sources"] = sources(ordered, root)
    return data


def sources(entries: Iterable[Entry], root: str) -> list[dict[str, Any]]:
    """For each source, its thumbnails (made now or up to date) narrowest first,
    and a ready ``srcset`` per format with URLs relative to the output root:
    what an ``<img srcset>`` or ``<picture>`` needs."""
    by_source: dict[str, list[Entry]] = {}
    for e in entries:
        if e.status is not Status.FAILED and e.output is not None:
            by_source.setdefault(e.source, []).append(e)
    result = []
    for source, made in sorted(by_source.items()):
        made.sort(key=lambda e: (e.width or 0, e.height or 0, e.format or ""))
        outputs = [{"url": url(e.output or "", root), "size": e.size, "format": e.format,
                    "width": e.width, "height": e.height, "bytes": e.bytes} for e in made]
        srcset: dict[str, dict[int, str]] = {}
        for e, o in zip(made, outputs, strict=True):  # one candidate per width: no repeats
            srcset.setdefault(e.format or "", {}).setdefault(e.width or 0, str(o["url"]))
        result.append({
            "source": source,
            "outputs": outputs,
            "srcset": {fmt: ", ".join(f"{u} {w}w" for w, u in widths.items())
                       for fmt, widths in srcset.items()},
        })
    return result


def url(path: str, root: str) -> str:
    """A thumbnail's path relative to the output root, as a URL path (quoted)."""
    from urllib.parse import quote

    rel = store(root).relative(path, root)
    return quote(rel, errors="surrogateescape")


def write_manifest(path: str, data: dict[str, Any]) -> None:
    """UTF-8 JSON; a file name that is not valid UTF-8 (Linux allows any bytes) is
    written with \\u escapes instead, which json.loads and os.fsencode turn back
    into the exact bytes."""
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        text = json.dumps(data, indent=2).encode()
    store(path).write(path, text + b"\n")
