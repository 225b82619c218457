"""When a thumbnail recorded in the state still stands: the one check an
unchanged rerun makes per thumbnail, so it is kept lean (a tuple compare and
one lookup of the output, a stat locally)."""

from __future__ import annotations

from collections.abc import Callable

from .. import storage
from ..formats import from_extension
from ..spec import PREVIEW_MARK, Entry, Status
from .records import Record
from .sources import Source


def up_to_date(
    record: Record | None, source: Source, label: str, fingerprint: str,
    find: Callable[[str], tuple[str, storage.Stat] | None]
) -> Entry | None:
    """The skipped entry when the recorded thumbnail still stands, else None."""
    if (
        record is None
        or (record.fingerprint != fingerprint
            and record.fingerprint != fingerprint + PREVIEW_MARK)
        or record.mtime_ns != source.stat.st_mtime_ns
        or record.size != source.stat.st_size
        or record.source != source.absolute
    ):
        return None
    found = find(record.output)
    if found is None:
        return None
    output, st = found
    ext = output.rpartition(".")[2].lower()
    fmt = from_extension(ext)
    return Entry(
        source.path, label, Status.SKIPPED, output,
        fmt.value if fmt is not None else ext, record.width, record.height, st.st_size,
        preview=record.fingerprint.endswith(PREVIEW_MARK),
    )
