"""The JSON state file of 1.x, read once: the first run of 2.x moves its records
into the SQLite state (this package), then removes it."""

from __future__ import annotations

import json
from typing import Any

from ...storage import Store

#: The 1.x state file, in the output root, and the version of its format.
LEGACY_NAME = ".thumbnailer-state.json"
LEGACY_VERSION = 2


def path(where: Store, root: str) -> str:
    return where.join(root, LEGACY_NAME)


def read(where: Store, root: str) -> list[tuple[str, list[Any]]] | None:
    """(key, record fields) of each record in ``root``'s 1.x file; None when
    there is none, or it is of another version or damaged (nothing is known)."""
    try:
        data = json.loads(where.read(path(where, root)))
        if data.get("version") != LEGACY_VERSION:
            return None
        return [(key, list(row)) for key, row in data["records"].items()]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
