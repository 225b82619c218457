"""The state file: what this tool made in an output root, and from what.

One JSON file in the output root, read once per run and rewritten (atomically) only
when something changed, so an unchanged rerun writes nothing. Records are keyed by
the output's path without extension, because with ``--format auto`` the extension
is only known once the image is seen.
"""

from __future__ import annotations

import json
from typing import NamedTuple

from . import storage

STATE_NAME = ".thumbnailer-state.json"
STATE_VERSION = 2  # 2: explicit formats key their records with the extension


class Record(NamedTuple):
    """A tuple, not a dataclass: a 100,000-photo library loads 100,000 of them."""

    output: str  # relative to the output root, "/"-separated, with extension
    source: str  # absolute path of the source it was made from
    fingerprint: str  # Settings.fingerprint(size) when it was made
    mtime_ns: int  # the source's modification time then
    size: int  # the source's byte size then
    width: int
    height: int


class State:
    """The records of one output root. Not shared between processes: only the
    parent reads and writes it."""

    def __init__(self, root: str, records: dict[str, Record] | None = None) -> None:
        self.root = root
        self.records: dict[str, Record] = records or {}
        self.dirty = False

    @property
    def path(self) -> str:
        return storage.join(self.root, STATE_NAME)

    @classmethod
    def load(cls, root: str) -> State:
        """Read the state of ``root``; a missing, foreign or damaged file means
        "nothing is known", which only costs regeneration, never a wrong skip."""
        try:
            data = json.loads(storage.read_file(cls(root).path))
            if data.get("version") != STATE_VERSION:
                return cls(root)
            records = {key: Record._make(row) for key, row in data["records"].items()}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return cls(root)
        return cls(root, records)

    def get(self, key: str) -> Record | None:
        return self.records.get(key)

    def put(self, key: str, record: Record) -> None:
        if self.records.get(key) != record:
            self.records[key] = record
            self.dirty = True

    def drop(self, key: str) -> None:
        if self.records.pop(key, None) is not None:
            self.dirty = True

    def save(self) -> None:
        """Write the file if anything changed; sorted, so equal states are equal bytes."""
        if not self.dirty:
            return
        data = {
            "version": STATE_VERSION,
            "records": {k: list(r) for k, r in sorted(self.records.items())},
        }
        storage.write_file(self.path, json.dumps(data, separators=(",", ":")).encode())
        self.dirty = False
