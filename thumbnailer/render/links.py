"""The thumbnails of a source's other paths (its hard links), made from its own:
a source reached by several paths is decoded once (sources.hard_link_key).
"""

from __future__ import annotations

from ..spec import Entry, Status, Task
from ..storage import NotOurs, Unsafe, placement


def link_all(task: Task, entries: tuple[Entry, ...], halt: str | None) -> tuple[Entry, ...]:
    """The thumbnails of the task's other paths (hard links of its source): each a
    hard link of the thumbnail of the same size and format, byte for byte; a copy
    where no link can be made (an object store, another file system)."""
    made = {(t.size, t.format): e for t, e in zip(task.targets, entries, strict=True)
            if e.status is Status.CREATED}
    error = next((e.error for e in entries if e.error), None)
    linked = []
    for link in task.links:
        label = link.target.size.label
        origin = link.existing or made.get((link.target.size, link.target.format))
        if origin is None or origin.output is None or halt:
            reason = halt or error or "its thumbnail from another path was not made"
            linked.append(Entry(link.source, label, Status.FAILED, error=reason))
            continue
        output = f"{link.target.stem}.{origin.output.rpartition('.')[2]}"
        target = link.target
        where, root, rel, expect = placement(output, target.root, target.owned, target.adopt)
        try:
            linked_as = where.put_link(root, where.relative(origin.output, root), rel, expect)
        except (NotOurs, Unsafe) as e:
            linked.append(Entry(link.source, label, Status.FAILED, error=e.strerror))
            continue
        except OSError as e:
            linked.append(Entry(link.source, label, Status.FAILED,
                                error=f"cannot write {output}: {e.strerror or e}"))
            continue
        linked.append(origin._replace(source=link.source, status=Status.CREATED,
                                      output=output, error=None, made=linked_as))
    return tuple(linked)
