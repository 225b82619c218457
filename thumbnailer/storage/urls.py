"""URL paths for the manifest and the gallery: quoting, and links from a page to a file."""

from __future__ import annotations

import functools
import os
import re

#: Characters urllib.parse.quote leaves as they are: a path of only these needs no quoting.
_UNQUOTED = re.compile(r"[A-Za-z0-9_.~/-]*").fullmatch


def url_path(rel: str) -> str:
    """A "/"-separated relative path as a URL path: quoted (surrogates as their
    bytes), at a third of quote's cost for the usual name that needs none."""
    if _UNQUOTED(rel):
        return rel
    from urllib.parse import quote

    return quote(rel, errors="surrogateescape")


def local_link(path: str, folder: str) -> str:
    """A link (quoted) from a web page in the local ``folder`` to the local file
    ``path``: relative, or an absolute file URL on another drive (Windows)."""
    head, name = os.path.split(path)
    relative = os.path.isabs(head) and os.path.isabs(folder)
    try:  # relpath costs 24 us; a gallery page asks it for each card of one folder
        rel_dir = _relative_folder(head, folder, "" if relative else os.getcwd())
    except ValueError:
        from pathlib import Path

        return Path(os.path.abspath(path)).as_uri()
    return url_path(name if rel_dir == "." else f"{rel_dir}/{name}")


@functools.lru_cache(maxsize=64)
def _relative_folder(folder: str, start: str, cwd: str) -> str:
    """``folder`` relative to ``start``, "/"-separated (``cwd``: what relative ones
    are relative to, part of the cache's key)."""
    return os.path.relpath(os.path.join(cwd, folder), os.path.join(cwd, start)).replace(
        os.sep, "/")
