"""--gallery: a contact sheet of the output folder, as one self-contained HTML page.

``index.html`` in the output root shows every thumbnail of the run, grouped by
folder, with its name, dimensions and size, a link to the source, and a visible
list of the files that failed. Everything it needs is inline (CSS, no scripts, no
fonts or images from elsewhere) except the thumbnails themselves, which it links
by relative URL: the folder can be zipped, published or opened from disk as is.
"""

from __future__ import annotations

import contextlib
import html
import os
from collections.abc import Iterable
from urllib.parse import unquote

from . import storage
from .formats import TABLE
from .report import url
from .spec import Entry, Status

GALLERY_NAME = "index.html"

#: The thumbnail a card shows: the one whose longest side is nearest this.
SHOWN_SIDE = 256

_CSS = """
:root { color-scheme: light dark; --card: #f4f4f5; --muted: #666; --bad: #b00020; }
@media (prefers-color-scheme: dark) { :root { --card: #26262a; --muted: #aaa; --bad: #ff6b81; } }
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
h2 { font-size: 1.1rem; margin: 2rem 0 .75rem; border-bottom: 1px solid var(--card); }
.summary { color: var(--muted); margin: 0 0 1rem; }
.grid { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); }
figure { margin: 0; padding: .5rem; background: var(--card); border-radius: 6px;
         display: flex; flex-direction: column; }
figure a.shot { display: flex; align-items: center; justify-content: center; height: 200px; }
figure img { max-width: 100%; max-height: 200px; object-fit: contain; }
figcaption { margin-top: .4rem; overflow-wrap: anywhere; }
figcaption .meta { color: var(--muted); font-size: 12px; }
.failures { border: 2px solid var(--bad); border-radius: 6px; padding: .5rem 1rem;
            background: color-mix(in srgb, var(--bad) 8%, transparent); }
.failures h2 { color: var(--bad); border: 0; margin: .25rem 0 .5rem; }
.failures li { overflow-wrap: anywhere; }
"""


def write_gallery(root: str, entries: Iterable[Entry], title: str = "Thumbnails") -> str:
    """Write ``root/index.html`` for ``entries`` (made, skipped and failed); return its path.

    An unchanged page is not rewritten, so an unchanged rerun still writes nothing."""
    page = render_page(root, entries, title).encode("utf-8", "surrogateescape")
    path = storage.join(root, GALLERY_NAME)
    with contextlib.suppress(OSError):
        if storage.read_file(path) == page:
            return path
    storage.write_file(path, page)
    return path


def render_page(root: str, entries: Iterable[Entry], title: str = "Thumbnails") -> str:
    """The page as a string: cards grouped by folder, sorted, then the failures."""
    by_source: dict[str, list[Entry]] = {}
    failures: dict[str, str] = {}
    for e in entries:
        if e.status is Status.FAILED:
            failures.setdefault(e.source, e.error or "failed")
        elif e.output is not None:
            by_source.setdefault(e.source, []).append(e)
    folders: dict[str, list[str]] = {}
    for source, made in by_source.items():
        shown = _shown(made)
        rel = url(shown.output or "", root)
        folder = unquote(rel.rpartition("/")[0], errors="surrogateescape")
        folders.setdefault(folder, []).append(_card(root, source, shown, made))
    count = sum(len(cards) for cards in folders.values())
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="summary">{count} images in {len(folders)} folders'
        f"{f', {len(failures)} failed' if failures else ''}</p>",
    ]
    if failures:
        out.append('<section class="failures"><h2>Failed</h2><ul>')
        for source, reason in sorted(failures.items()):
            out.append(f"<li><code>{_e(source)}</code>: {_e(reason)}</li>")
        out.append("</ul></section>")
    for folder in sorted(folders):
        out.append(f"<h2>{_e(folder + '/' if folder else './')}</h2>")
        out.append('<div class="grid">')
        out.extend(sorted(folders[folder]))
        out.append("</div>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _shown(made: list[Entry]) -> Entry:
    """The thumbnail nearest SHOWN_SIDE; ties go to the widely supported formats."""
    rank = {f.value: r.web_rank for f, r in TABLE.items()}
    return min(made, key=lambda e: (abs(max(e.width or 0, e.height or 0) - SHOWN_SIDE),
                                    rank.get(e.format or "", len(rank)), e.output))


def _card(root: str, source: str, shown: Entry, made: list[Entry]) -> str:
    name = os.path.basename(source)
    src_link = _source_link(root, source)
    img = (f'<img src="{url(shown.output or "", root)}" width="{shown.width}" '
           f'height="{shown.height}" loading="lazy" alt="{_e(name)}">')
    title = f'<a href="{src_link}">{_e(name)}</a>' if src_link else _e(name)
    source_size = storage.store(source).cheap_size(source)
    facts = f"{shown.width}&times;{shown.height} {_e(shown.format or '')}, {_human(shown.bytes)}"
    if source_size is not None:
        facts += f" &middot; source {_human(source_size)}"
    files = " ".join(
        f'<a href="{url(e.output or "", root)}">{e.width}w&nbsp;{_e(e.format or "")}</a>'
        for e in sorted(made, key=lambda e: (e.width or 0, e.format or ""))
    )
    return (f'<figure><a class="shot" href="{src_link or url(shown.output or "", root)}">{img}</a>'
            f'<figcaption>{title}<br><span class="meta">{facts}</span><br>'
            f'<span class="meta files">{files}</span></figcaption></figure>')


def _source_link(root: str, source: str) -> str | None:
    """A relative URL from the page to the source, when the source is a local file."""
    where = storage.store(source)
    return where.href(source, root) if where is storage.store(root) else None


def _human(count: int | None) -> str:
    if count is None:
        return "?"
    n = float(count)
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{count} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


def _e(text: str) -> str:
    return html.escape(text, quote=True)
