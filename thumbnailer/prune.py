"""--prune: make the output folder a mirror of the job, like ``rsync --delete``.

Only files this tool made are candidates, known from the state: a thumbnail
whose record the job no longer names (its source is gone, or no longer selected,
or its size, format or name changed) is deleted, and so are the folders that
become empty by it. Anything else in the output folder is never touched.
"""

from __future__ import annotations

import stat as stat_module

from . import storage
from .plan import Plan


def stale(job: Plan) -> list[str]:
    """State keys of the thumbnails ``job`` no longer names, sorted."""
    job.walk_all()
    return [key for key, _, _ in job.state.stale()]


def prune(job: Plan, *, dry_run: bool = False) -> list[str]:
    """Delete the stale thumbnails of ``job`` (after its run); return their paths.

    A record whose file is gone is just forgotten. A path shared with a thumbnail
    the job keeps (``-f auto`` and ``-f jpeg`` name the same file), outside the
    output root (a tampered state), or that is no longer a regular file, is left
    alone.
    """
    job.walk_all()
    root = job.settings.output
    where = storage.store(root)
    find = where.finder(root)  # a stat each locally, a listing per folder on a store
    removed, folders = [], []
    for key, output, shared in job.state.stale():  # marked by plan, swept here
        path = _inside(where, root, output)
        if path is not None and not shared and _is_file(find(output)):
            removed.append(path)
            if not dry_run:
                try:
                    where.remove(path)
                except FileNotFoundError:
                    removed.pop()
                folders.append(where.parent(path))
        if not dry_run:
            job.state.drop(key)
    where.remove_empty(folders, root)  # an object store has no folders to empty
    return removed


def _is_file(found: tuple[str, storage.Stat] | None) -> bool:
    """A regular file (an object always is: a finder lists no folders as files)."""
    return found is not None and stat_module.S_ISREG(
        getattr(found[1], "st_mode", stat_module.S_IFREG))


def _inside(where: storage.Store, root: str, rel: str) -> str | None:
    parts = rel.split("/")
    if not rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
        return None
    return where.join(root, rel)
