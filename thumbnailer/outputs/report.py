"""What a run tells people and programs: its tally, failure lines, the summary, the
manifest. Returns strings and data; printing is the console reporter's job (the exit
code and the Reporter hooks are in ``result``)."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from ..spec import Entry, Status
from ..storage import store
from ..storage.urls import url_path
from .spool import Spool

if TYPE_CHECKING:
    from ..plan.memo import Whole

#: json's own string encoder (C): what json.dumps(ensure_ascii=False) puts in quotes.
_encode_string = json.encoder.encode_basestring

MANIFEST_VERSION = 1


class Tally:
    """The counts of a run, per thumbnail (``counts``) and per source (``sources``),
    and, with a spool, every entry (kept on disk).

    A source counts once, by the worst of its thumbnails: failed if any failed
    (a partly failed source needs a look, and its line was printed), else created
    if any was made now, else skipped (up to date). The walk tells a source's
    up-to-date thumbnails one after another, so a source is counted when its
    first entry comes and moved if a later one is worse: no set of names that
    grows with the library. A source whose remaining thumbnails are still to
    make (``later``) is counted when its outcome comes instead."""

    def __init__(self, spool: Spool | None = None) -> None:
        self.counts: Counter[Status] = Counter()
        #: Each source once, by its worst status.
        self.sources: Counter[Status] = Counter()
        #: Sources passed over as known failures (a subset of sources[FAILED]).
        self.known_sources = 0
        self.spool = spool
        self._source: str | None = None  # the walk's last source, and its status
        self._status = Status.SKIPPED
        #: (source, reason) of the failed sources, when there is no spool to ask.
        self._failures: list[tuple[str, str]] | None = [] if spool is None else None

    def add(self, entries: Iterable[Entry]) -> None:
        """The entries of one outcome (a source, and the other paths of its file):
        each source in them counted once."""
        entries = tuple(entries)
        worst: dict[str, Entry] = {}
        for entry in entries:
            self.counts[entry.status] += 1
            had = worst.get(entry.source)
            if had is None or _RANK[entry.status] > _RANK[had.status]:
                worst[entry.source] = entry
        for entry in worst.values():
            self.sources[entry.status] += 1
            if entry.status is Status.FAILED and self._failures is not None:
                self._failures.append((entry.source, entry.error or "failed"))
        if self.spool is not None:
            self.spool.add(entries)

    def add_one(self, entry: Entry) -> None:
        """add([entry]) for the walk's up-to-date thumbnails, one by one (a rerun's
        hot path): a source's entries come together."""
        status = entry.status
        self.counts[status] += 1
        if entry.source != self._source:  # a new source: counted, as this entry says
            self._source = entry.source
            self._status = status
            self.sources[status] += 1
            if status is _FAILED:
                self._failed(entry)
        elif status is not self._status and _RANK[status] > _RANK[self._status]:
            self.sources[self._status] -= 1  # a worse entry of the same source
            self.sources[status] += 1
            self._status = status
            if status is _FAILED:
                self._failed(entry)
        if self.spool is not None:
            self.spool.add_one(entry)

    def _failed(self, entry: Entry) -> None:
        if entry.since is not None:
            self.known_sources += 1
        if self._failures is not None:
            self._failures.append((entry.source, entry.error or "failed"))

    def add_whole(self, whole: Whole) -> None:
        """A folder taken whole from its memo: all up to date; its entries kept
        (by the spool, unmade until read) only if a spool keeps entries."""
        self.counts[Status.SKIPPED] += len(whole.items)
        self.sources[Status.SKIPPED] += whole.sources
        self._source = None
        if self.spool is not None:
            self.spool.add_whole(whole)

    def later(self, source: str) -> None:
        """``source``, whose up-to-date thumbnails the walk just told, has others to
        make: it is counted by its outcome, not as up to date."""
        if source == self._source and self._status is Status.SKIPPED:
            self.sources[Status.SKIPPED] -= 1
            self._source = None

    @property
    def thumbnails(self) -> int:
        """How many thumbnails the run made (or, in a dry run, would make)."""
        return self.counts[Status.CREATED]

    @property
    def entries(self) -> Iterator[Entry]:
        """Every entry, in the order they came (none if the run kept none)."""
        return iter(self.spool) if self.spool is not None else iter(())

    def failures(self) -> Iterator[tuple[str, str]]:
        """Each failed source once, with its reason, in the order they failed: read
        from the spool, or (without one) from the list kept of failures only."""
        if self.spool is not None:
            return self.spool.failed_sources()
        return iter(self._failures or ())


#: The worse of two statuses decides a source's.
_RANK = {Status.SKIPPED: 0, Status.CREATED: 1, Status.FAILED: 2}
_FAILED = Status.FAILED  # a module global: add_one's test is one lookup


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


def summary_line(tally: Tally, seconds: float, *, dry_run: bool = False,
                 pruned: int | None = None, symlinks: int = 0) -> str:
    """The run's last line, counting images (sources: photos, videos, RAW files,
    each once) and thumbnails: ``3 images: 1 made (4 thumbnails), 2 failed in
    1.2 s``. Only the counts that are not zero are said; ``(N thumbnails)`` is
    every thumbnail written, a partly failed image's too. ``pruned`` (thumbnails
    deleted) is None when --prune was not asked for; ``symlinks`` counts the
    symlinks the walk did not follow."""
    line = images_counted(tally, dry_run=dry_run)
    if pruned is not None:
        line += (f"; {pruned:,} thumbnail{'s' if pruned != 1 else ''} "
                 f"{'to prune' if dry_run else 'pruned'}")
    line += f" in {seconds:.1f} s"
    if symlinks:
        line += (f"; {symlinks:,} symlinked {'entry' if symlinks == 1 else 'entries'} "
                 "skipped (Settings.follow_symlinks follows them)")
    return line


def images_counted(tally: Tally, *, dry_run: bool = False) -> str:
    """``3 images: 1 made (4 thumbnails), 2 failed``: the summary line's counts
    (and --report's)."""
    sources, made = tally.sources, tally.thumbnails
    total = sum(sources.values())
    parts = []
    thumbnails = f"{made:,} thumbnail{'s' if made != 1 else ''}"
    if sources[Status.CREATED]:
        parts.append(f"{sources[Status.CREATED]:,} {'to make' if dry_run else 'made'} "
                     f"({thumbnails})")
    if sources[Status.SKIPPED]:
        parts.append(f"{sources[Status.SKIPPED]:,} up to date")
    if sources[Status.FAILED]:
        notes = []
        if tally.known_sources:
            notes.append(f"{tally.known_sources:,} known, not retried")
        if made and not sources[Status.CREATED]:  # only partly failed images made some
            notes.append(f"{thumbnails} {'to make' if dry_run else 'made'}")
        parts.append(f"{sources[Status.FAILED]:,} failed"
                     + (f" ({'; '.join(notes)})" if notes else ""))
    return f"{total:,} image{'s' if total != 1 else ''}" + (f": {', '.join(parts)}"
                                                              if parts else "")


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
                for key, value in _parts(spool, tally.counts, seconds, root, pruned, collisions,
                                         tally.sources)}
    finally:
        spool.close()


def write_manifest(path: str, spool: Spool, counts: Counter[Status], seconds: float,
                   root: str | None = None, pruned: Sequence[str] = (),
                   collisions: Sequence[str] | None = None,
                   images: Counter[Status] | None = None) -> None:
    """Write the manifest, entry by entry, from a run's spool: entries sorted by
    source, size and format, so equal runs give equal files (but for
    ``seconds``); with the output ``root``, a per-source list of outputs for web
    builds (see sources()); with ``images`` (Tally.sources), the summary counts
    images too. UTF-8 JSON; an item holding a file name that is not
    valid UTF-8 (Linux allows any bytes) is written with \\u escapes instead, which
    json.loads and os.fsencode turn back into the exact bytes. Written whole or
    not at all, like a thumbnail."""

    def save(f: BinaryIO) -> None:
        f.write(b'{\n  "version": ' + _json(MANIFEST_VERSION) + b',\n  "entries": ')
        # One sorted read gives both lists: the sources' lines wait in a scratch
        # file while the entries' are written (a second sort cost as much as the first).
        with tempfile.TemporaryFile() as later:
            _lines(spool, f, later if root is not None else None, root)
            rest = [(key, value) for key, value in _parts(
                spool, counts, seconds, root, pruned, collisions, images, entries=False)
                if key not in ("version", "entries")]
            for key, value in rest:
                f.write(b",\n  " + _json(key) + b": ")
                if key == "sources":
                    later.seek(0)
                    shutil.copyfileobj(later, f, 1 << 20)
                else:
                    f.write(_json(value, indent=2))
        f.write(b"\n}\n")

    store(path).encode(path, save)


def manifest_digest(spool: Spool, root: str | None, pruned: Sequence[str],
                    collisions: Sequence[str] | None) -> bytes | None:
    """What write_manifest would write, but for ``seconds``, as a digest: the
    spool's entries in the order they came (the counts follow from them), and the
    rest of the file's inputs. None if the spool keeps no digest."""
    entries = spool.digest()
    if entries is None:
        return None
    rest = repr((MANIFEST_VERSION, "lines 2", root, list(pruned), collisions))
    return hashlib.blake2b(entries + rest.encode("utf-8", "surrogateescape"),
                           digest_size=16).digest()


def _parts(spool: Spool, counts: Counter[Status], seconds: float, root: str | None,
           pruned: Sequence[str], collisions: Sequence[str] | None,
           images: Counter[Status] | None = None, *, entries: bool = True
           ) -> Iterator[tuple[str, Any]]:
    """The manifest's keys in order; long lists as iterators, read from the spool.
    The summary's counts are of thumbnails; "images" (added in 1.x, version 1
    still: a new field, none changed) counts each source once, by its worst."""
    yield "version", MANIFEST_VERSION
    yield "entries", (e.as_dict() for e in spool.ordered()) if entries else iter(())
    summary: dict[str, Any] = {**{status.value: counts[status] for status in Status},
                               "pruned": len(pruned), "seconds": round(seconds, 3)}
    if images is not None:
        summary["images"] = {status.value: images[status] for status in Status}
    yield "summary", summary
    yield "pruned", list(pruned)
    if root is not None:
        yield "sources", sources(spool.ordered(), root) if entries else iter(())
    if collisions is not None:
        yield "collisions", list(collisions)


def _lines(spool: Spool, f: BinaryIO, later: BinaryIO | None, root: str | None) -> None:
    """The entries' list to ``f`` and (with the output ``root``) the sources' to
    ``later``, from one sorted read of the spool's rows: each line formatted
    from the row's values (no dict, no Entry), as json.dumps(ensure_ascii=False,
    separators=(", ", ": ")) would write it, a batch joined and encoded at once.
    A line whose text is not valid UTF-8 (a surrogate-escaped file name) is
    written ASCII-escaped, as json.dumps(ensure_ascii=True) would."""
    link = _linker(root) if root is not None else None
    out: list[str] = []
    side: list[str] = []
    made: list[tuple[Any, ...]] = []
    first = second = True
    for batch in spool.ordered_rows():
        for row in batch:
            if made and row[0] != made[0][0]:
                assert link is not None
                side.append(_source_line(made, link, _q))
                made = []
            out.append(_entry_line(row, _q))
            if link is not None and row[2] != "failed" and row[3] is not None:
                made.append(row)
        first = _put_lines(f, out, first)
        if later is not None:
            second = _put_lines(later, side, second)
        out, side = [], []
    if made:
        assert link is not None
        side.append(_source_line(made, link, _q))
        second = _put_lines(later, side, second) if later else second
    f.write(b"[]" if first else b"\n  ]")
    if later is not None:
        later.write(b"[]" if second else b"\n  ]")


def _put_lines(f: BinaryIO, lines: list[str], first: bool) -> bool:
    """Write ``lines`` as items of a list begun (``first``: not yet) in ``f``;
    whether the list is still empty."""
    if not lines:
        return first
    text = ",\n    ".join(lines)
    try:
        data = text.encode()
    except UnicodeEncodeError:  # a name that is not UTF-8: those lines ASCII-escaped
        data = ",\n    ".join(_ascii(item) for item in lines).encode()
    f.write((b"[\n    " if first else b",\n    ") + data)
    return False


def _ascii(line: str) -> str:
    """A line whose text may hold surrogates, with json's ASCII escapes instead."""
    try:
        line.encode()
        return line
    except UnicodeEncodeError:
        return json.dumps(json.loads(line), separators=(", ", ": "))


def _q(text: str | None) -> str:
    return "null" if text is None else _encode_string(text)


def _n(number: int | None) -> str:
    return "null" if number is None else str(number)


def _entry_line(row: tuple[Any, ...], q: Any) -> str:
    """One entry (as Entry.as_dict() would give it): source, size, status, output,
    format, width, height, bytes, error, since and preview only when set."""
    source, size, status, output, fmt, width, height, size_bytes, error, since, preview = row[:11]
    line = (f'{{"source": {q(source)}, "size": {q(size)}, "status": "{status}", '
            f'"output": {q(output)}, "format": {q(fmt)}, "width": {_n(width)}, '
            f'"height": {_n(height)}, "bytes": {_n(size_bytes)}, "error": {q(error)}')
    if since is not None:
        line += f', "since": {q(since)}'
    if preview:
        line += ', "preview": true'
    return line + "}"


def _source_line(made: list[tuple[Any, ...]], link: Callable[[str], str],
                 q: Callable[[str | None], str]) -> str:
    """One source's item of ``sources`` (as _source() gives it), from its rows."""
    if len(made) > 1:
        made.sort(key=lambda r: (r[5] or 0, r[6] or 0, r[4] or ""))
    outputs = []
    srcset: dict[str, dict[int, str]] = {}
    for r in made:
        url = link(r[3])
        outputs.append(f'{{"url": {q(url)}, "size": {q(r[1])}, "format": {q(r[4])}, '
                       f'"width": {_n(r[5])}, "height": {_n(r[6])}, "bytes": {_n(r[7])}}}')
        srcset.setdefault(r[4] or "", {}).setdefault(r[5] or 0, url)
    sets = ", ".join(f'{q(fmt)}: {q(", ".join(f"{u} {w}w" for w, u in widths.items()))}'
                     for fmt, widths in srcset.items())
    line = (f'{{"source": {q(made[0][0])}, "outputs": [{", ".join(outputs)}], '
            f'"srcset": {{{sets}}}')
    shade = next((r[11] for r in made if r[11]), None)
    if shade is not None:  # --placeholders
        thumbhash, blurhash, color = shade.split(" ")
        line += (f', "placeholder": {{"thumbhash": {q(thumbhash)}, "blurhash": {q(blurhash)}, '
                 f'"color": {q(color)}}}')
    return line + "}"


def _linker(root: str) -> Callable[[str], str]:
    """url(path, root), its folder's part worked out once per folder (quoting
    each character alone, a folder's URL is the same whatever the name after it)."""
    where = store(root)
    folders: dict[str, str | None] = {}

    def link(path: str) -> str:
        head, slash, name = path.rpartition("/")
        base = folders.get(head, "")
        if base == "":
            rel = where.relative(f"{head}/_", root) if slash else ""
            base = folders[head] = rel[:-1] if rel.endswith("/_") or rel == "_" else None
        if base is None:
            return url_path(where.relative(path, root))
        return url_path(base + name) if base else url_path(name)

    return link


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
