"""What a run tells people and programs: its tally, failure lines, the summary, the
manifest. Returns strings and data; printing is the console reporter's job (the exit
code and the Reporter hooks are in ``result``)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, BinaryIO

from ..spec import Entry, Status
from ..storage import store
from ..storage.urls import url_path
from .spool import Spool

MANIFEST_VERSION = 1


class Tally:
    """The counts of a run and, with a spool, every entry (kept on disk)."""

    def __init__(self, spool: Spool | None = None) -> None:
        self.counts: Counter[Status] = Counter()
        self.spool = spool

    def add(self, entries: Iterable[Entry]) -> None:
        entries = tuple(entries)
        for entry in entries:
            self.counts[entry.status] += 1
        if self.spool is not None:
            self.spool.add(entries)

    def add_one(self, entry: Entry) -> None:
        """add([entry]) for the walk's up-to-date thumbnails, one by one (a rerun's
        hot path)."""
        self.counts[entry.status] += 1
        if self.spool is not None:
            self.spool.add((entry,))

    @property
    def entries(self) -> Iterator[Entry]:
        """Every entry, in the order they came (none if the run kept none)."""
        return iter(self.spool) if self.spool is not None else iter(())


def human_bytes(count: int) -> str:
    """1023 bytes, 1.0 KB, 2.5 MB: for the gallery and --report."""
    n = float(count)
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{count} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


def failure_line(source: str, reason: str) -> str:
    """One line per failed input: the path as given, then why."""
    return f"{source}: {reason}"


def summary_line(counts: Counter[Status], seconds: float, *, dry_run: bool = False,
                 pruned: int | None = None, symlinks: int = 0, known: int = 0) -> str:
    """``pruned`` is None when --prune was not asked for; ``symlinks`` counts the
    symlinks the walk did not follow; ``known``, the failed thumbnails that are
    known failures, not tried again."""
    created = "to create" if dry_run else "created"
    prune = ""
    if pruned is not None:
        prune = f", {pruned} {'to prune' if dry_run else 'pruned'}"
    links = ""
    if symlinks:
        links = (f"; {symlinks:,} symlinked {'entry' if symlinks == 1 else 'entries'} "
                 "skipped (Settings.follow_symlinks follows them)")
    return (
        f"{counts[Status.CREATED]} {created}, {counts[Status.SKIPPED]} skipped, "
        f"{counts[Status.FAILED]} failed{f' ({known} known, not retried)' if known else ''}"
        f"{prune} in {seconds:.1f} s{links}"
    )


def manifest(
    entries: Iterable[Entry],
    seconds: float,
    size_order: Sequence[str],
    root: str | None = None,
    pruned: Sequence[str] = (),
    collisions: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The manifest as data (what write_manifest writes, for a list in memory)."""
    spool = Spool(size_order)
    tally = Tally(spool)
    tally.add(entries)
    try:
        return {key: list(value) if isinstance(value, Iterator) else value
                for key, value in _parts(spool, tally.counts, seconds, root, pruned, collisions)}
    finally:
        spool.close()


def write_manifest(path: str, spool: Spool, counts: Counter[Status], seconds: float,
                   root: str | None = None, pruned: Sequence[str] = (),
                   collisions: Sequence[str] | None = None) -> None:
    """Write the manifest, entry by entry, from a run's spool: entries sorted by
    source, size and format, so equal runs give equal files (but for
    ``seconds``); with the output ``root``, a per-source list of outputs for web
    builds (see sources()). UTF-8 JSON; an item holding a file name that is not
    valid UTF-8 (Linux allows any bytes) is written with \\u escapes instead, which
    json.loads and os.fsencode turn back into the exact bytes. Written whole or
    not at all, like a thumbnail."""

    def save(f: BinaryIO) -> None:
        f.write(b"{")
        for n, (key, value) in enumerate(_parts(spool, counts, seconds, root, pruned,
                                                collisions)):
            f.write(b"," if n else b"")
            f.write(b"\n  " + _json(key) + b": ")
            if isinstance(value, Iterator):
                wrote = False
                for item in value:
                    f.write(b",\n    " if wrote else b"[\n    ")
                    f.write(_json(item, indent=4))
                    wrote = True
                f.write(b"\n  ]" if wrote else b"[]")
            else:
                f.write(_json(value, indent=2))
        f.write(b"\n}\n")

    store(path).encode(path, save)


def _parts(spool: Spool, counts: Counter[Status], seconds: float, root: str | None,
           pruned: Sequence[str], collisions: Sequence[str] | None
           ) -> Iterator[tuple[str, Any]]:
    """The manifest's keys in order; long lists as iterators, read from the spool."""
    yield "version", MANIFEST_VERSION
    yield "entries", (e.as_dict() for e in spool.ordered())
    yield "summary", {**{status.value: counts[status] for status in Status},
                      "pruned": len(pruned), "seconds": round(seconds, 3)}
    yield "pruned", list(pruned)
    if root is not None:
        yield "sources", sources(spool.ordered(), root)
    if collisions is not None:
        yield "collisions", list(collisions)


def _json(value: Any, indent: int = 0) -> bytes:
    """One value: a list's item compact on its own line (json's C encoder: an
    indented dump runs in Python, 4x slower at a million entries), anything else
    indented."""
    spacing = {"separators": (", ", ": ")} if indent else {"indent": 2}
    try:
        return json.dumps(value, ensure_ascii=False, **spacing).encode()
    except UnicodeEncodeError:
        return json.dumps(value, **spacing).encode()


def sources(entries: Iterable[Entry], root: str) -> Iterator[dict[str, Any]]:
    """For each source (``entries`` ordered by source), its thumbnails (made now or
    up to date) narrowest first, and a ready ``srcset`` per format with URLs
    relative to the output root: what an ``<img srcset>`` or ``<picture>`` needs."""
    made: list[Entry] = []
    for e in entries:
        if made and e.source != made[0].source:
            yield _source(made, root)
            made = []
        if e.status is not Status.FAILED and e.output is not None:
            made.append(e)
    if made:
        yield _source(made, root)


def _source(made: list[Entry], root: str) -> dict[str, Any]:
    made.sort(key=lambda e: (e.width or 0, e.height or 0, e.format or ""))
    outputs = [{"url": url(e.output or "", root), "size": e.size, "format": e.format,
                "width": e.width, "height": e.height, "bytes": e.bytes} for e in made]
    srcset: dict[str, dict[int, str]] = {}
    for e, o in zip(made, outputs, strict=True):  # one candidate per width: no repeats
        srcset.setdefault(e.format or "", {}).setdefault(e.width or 0, str(o["url"]))
    found: dict[str, Any] = {
        "source": made[0].source,
        "outputs": outputs,
        "srcset": {fmt: ", ".join(f"{u} {w}w" for w, u in widths.items())
                   for fmt, widths in srcset.items()},
    }
    shade = next((e.placeholder for e in made if e.placeholder), None)
    if shade is not None:  # --placeholders
        found["placeholder"] = placeholder_fields(shade)
    return found


def placeholder_fields(shade: str) -> dict[str, str]:
    """A placeholder as Entry keeps it ("thumbhash blurhash #rrggbb"), by name."""
    thumbhash, blurhash, color = shade.split(" ")
    return {"thumbhash": thumbhash, "blurhash": blurhash, "color": color}


def url(path: str, root: str) -> str:
    """A thumbnail's path relative to the output root, as a URL path (quoted)."""
    return url_path(store(root).relative(path, root))
