"""--prune: make the output folder a mirror of the job, like ``rsync --delete``.

Only files this tool made are candidates, known from the state file: a thumbnail
whose record the job no longer names (its source is gone, or no longer selected,
or its size, format or name changed) is deleted, and so are the folders that
become empty by it. Anything else in the output folder is never touched.
"""

from __future__ import annotations

import os
import stat

from . import storage
from .plan import Plan
from .spec import is_remote


def stale(job: Plan) -> list[str]:
    """State keys of the thumbnails ``job`` no longer names, sorted."""
    return sorted(key for key in job.state.records if key not in job.keys)


def prune(job: Plan, *, dry_run: bool = False) -> list[str]:
    """Delete the stale thumbnails of ``job`` (after its run); return their paths.

    A record whose file is gone is just forgotten. A path shared with a thumbnail
    the job keeps (``-f auto`` and ``-f jpeg`` name the same file), outside the
    output root (a tampered state file), or that is no longer a regular file, is
    left alone.
    """
    root = job.settings.output
    remote = is_remote(root)
    if remote:
        present = storage.listing(root)
    kept = {job.state.records[k].output for k in job.state.records if k in job.keys}
    removed, folders = [], set()
    for key in stale(job):
        record = job.state.records[key]
        path = _inside(root, record.output)
        if path is not None and record.output not in kept and (
                path in present if remote else _is_file(path)):
            removed.append(path)
            if not dry_run:
                try:
                    storage.remove(path) if remote else os.unlink(path)
                except FileNotFoundError:
                    removed.pop()
                if not remote:  # an object store has no folders to empty
                    folders.add(os.path.dirname(path))
        if not dry_run:
            job.state.drop(key)
    for folder in sorted(folders, key=len, reverse=True):
        _remove_empty(folder, root)
    return removed


def _inside(root: str, rel: str) -> str | None:
    parts = rel.split("/")
    if not rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
        return None
    return storage.join(root, rel)


def _is_file(path: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _remove_empty(folder: str, root: str) -> None:
    """Remove ``folder`` and its parents while empty, stopping at the output root."""
    root = os.path.normpath(root)
    folder = os.path.normpath(folder)
    while folder != root and folder.startswith(root + os.sep):
        try:
            os.rmdir(folder)  # fails, as it should, on a folder with anything in it
        except OSError:
            return
        folder = os.path.dirname(folder)
