"""--gallery: a contact sheet of the output folder, as plain HTML pages.

``index.html`` in the output root lists every folder of thumbnails with its
count, and the files that failed, visibly. Each folder gets pages of its own
(``gallery.html``, then ``gallery-2.html`` ...: at most PAGE_CARDS cards each,
so no page grows with the library), with breadcrumbs up to the index, links to
the folders below and to the other pages; the first shows the folder's own
failures (the sources that failed beside those with thumbnails there: a failure
has no output to place it by), bounded as the index's. A folder without
thumbnails has no pages: those a run before left (run_job keeps their folders in
the state) are deleted, if they are this tool's (GENERATOR). A card shows a
thumbnail with its name, dimensions and size, and links the source and every
size. Everything a page needs is inline (CSS, no scripts, no fonts or images
from elsewhere) except the thumbnails themselves, linked by relative URL: the
folder can be zipped, published or opened from disk as is. With --placeholders,
a page has one small script: it paints each thumbnail's ThumbHash behind it
while it loads, and takes it away once it has (a transparent thumbnail must not
show it); without scripts, the page is the same less the placeholders. Pages are
written from the run's spool, a page at a time; an unchanged page is not
rewritten, and with the digests run_job keeps in the state, a folder whose
entries and surroundings are unchanged is not even rendered.
"""

from __future__ import annotations

import hashlib
import html
import os
from collections.abc import Iterable, Iterator

from .. import storage
from .._version import __version__
from ..formats import TABLE
from ..spec import Entry
from ..storage.urls import url_path
from .report import human_bytes, url
from .spool import Spool

GALLERY_NAME = "index.html"
#: In the head of every page this tool writes: how it knows a page is its own, to
#: replace or delete (a page of the person's own under the same name is left).
GENERATOR = b'<meta name="generator" content="thumbnailer">'
#: A folder's pages: gallery.html, gallery-2.html, ...
PAGE_NAME = "gallery"
#: Cards on one page: a page a browser opens at once, whatever the folder.
PAGE_CARDS = 200
#: Failures listed on the index, and on a folder's first page (the manifest has them all).
MAX_FAILURES = 500

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
            margin: 0 0 1rem; background: color-mix(in srgb, var(--bad) 8%, transparent); }
.failures h2 { color: var(--bad); border: 0; margin: .25rem 0 .5rem; }
.failures li { overflow-wrap: anywhere; }
.crumbs, .below, nav.pages { margin: .5rem 0; }
nav.pages b { padding: 0 .25rem; }
table.folders td { padding: .15rem .75rem .15rem 0; }
table.folders td.n { text-align: right; color: var(--muted); }
"""


def write_gallery(root: str, entries: Spool | Iterable[Entry],
                  title: str = "Thumbnails", left: list[str] | None = None, *,
                  pages: set[str] | None = None,
                  digests: dict[str, bytes] | None = None) -> str:
    """Write the index and every folder's pages for ``entries`` (made, skipped and
    failed: a run's spool, or any entries); return the index's path. A page's
    path that holds a file this tool did not write (a page of its own says so in
    its head: GENERATOR) is left as it is, and said so in ``left``.

    ``pages``: the folders ("/"-separated, relative to the root, "" for the root)
    that held pages before (run_job keeps them in the state); each that has no
    thumbnails among ``entries`` loses its pages (only this tool's). On return it
    holds the folders that have pages now, and those whose pages could not be
    deleted this time (an I/O error): to try again.

    ``digests``: each folder's digest of what its pages show, as the last run left
    them (run_job keeps them in the state): a folder whose digest is the same, none
    of whose thumbnails was made now, and whose pages are all there, is neither
    rendered nor written (an unchanged rerun reads no card). On return it holds
    the digests of the pages there are now."""
    left = [] if left is None else left
    if isinstance(entries, Spool):
        return _write_all(root, entries, title, left, pages, digests)
    spool = Spool()
    try:
        spool.add(entries)
        return _write_all(root, spool, title, left, pages, digests)
    finally:
        spool.close()


def _write_all(root: str, spool: Spool, title: str, left: list[str],
               pages: set[str] | None, digests: dict[str, bytes] | None) -> str:
    where = storage.store(root)
    places = spool.places()
    rel = {place: _rel(where, place, root) for place, _ in places}
    paged = set(rel.values())
    children = _children(paged)
    failed, failures = spool.failures(MAX_FAILURES)
    index = where.join(root, GALLERY_NAME)
    cards_total = sum(count for _, count in places)
    body = [f'<p class="summary">{cards_total} images in {len(places)} folders'
            f"{f', {failed} failed' if failed else ''}</p>",
            *_failures(failed, failures)]
    body.append('<h2>Folders</h2><table class="folders">')
    for place, count in places:
        f = rel[place]
        body.append(f'<tr><td><a href="{_href(_page(f, 1))}">{_e(f + "/" if f else "./")}'
                    f'</a></td><td class="n">{count:,}</td></tr>')
    body.append("</table>")
    _put(where, root, GALLERY_NAME, _html(title, [f"<h1>{_e(title)}</h1>", *body]), left)
    count_of = {rel[place]: -(-count // PAGE_CARDS) for place, count in places}
    # Each folder's failures, on its first page; only where some source failed.
    beside = {} if not failed else {
        rel[place]: _failures(total, first)
        for place, total, first in spool.failures_by_place(MAX_FAILURES)}
    fresh = _digests(where, root, spool, rel, title, paged, children, count_of, beside)
    todo = set(rel) if digests is None else {
        place for place, f in rel.items()
        if fresh[f][1] or digests.get(f) != fresh[f][0]
        or not all(where.exists(where.join(root, _page(f, n)))
                   for n in range(1, count_of[f] + 1))}
    folder: str | None = None
    cards: list[str] = []
    top: list[str] = []
    written = 0
    spoiled: set[str] = set()  # folders with a page left (not this tool's): told again next run
    said = len(left)
    for here, made in _sources_by_folder(spool, rel, todo if len(todo) < len(rel) else None):
        if here != folder:
            if folder is not None:
                _finish(where, root, folder, cards, written, count_of[folder], title, paged,
                        children, top, left)
            if len(left) > said:
                spoiled.add(folder or "")
                said = len(left)
            folder, cards, written, top = here, [], 0, beside.get(here, [])
        cards.append(_card(root, here, made))
        if len(cards) == PAGE_CARDS:
            written += 1
            _write_page(where, root, here, cards, written, count_of[here], title, paged,
                        children.get(here, []), top if written == 1 else [], left)
            cards = []
    if folder is not None:
        _finish(where, root, folder, cards, written, count_of[folder], title, paged, children,
                top, left)
        if len(left) > said:
            spoiled.add(folder)
    if pages is not None:
        kept = set()
        for gone in sorted(pages - paged):
            if not _drop_pages(where, root, gone, 1):
                kept.add(gone)
            elif gone:
                where.remove_empty([gone], root)  # emptied by --prune, but for its pages
        pages.clear()
        pages.update(paged | kept)
    if digests is not None:
        digests.clear()
        digests.update((f, digest) for f, (digest, _) in fresh.items() if f not in spoiled)
    return index


def _digests(where: storage.Store, root: str, spool: Spool, rel: dict[str, str], title: str,
             paged: set[str], children: dict[str, list[str]], count_of: dict[str, int],
             beside: dict[str, list[str]]) -> dict[str, tuple[bytes, bool]]:
    """For each folder with pages: a digest of everything its pages show (its
    entries, as the spool sums them, and what is around them: the title, the
    pages' count, the folders below, which folders above have pages, its
    failures), and whether one of its thumbnails was made now."""
    sums = spool.place_digests()
    # A new release, or a change to how pages look, changes every digest.
    look = (__version__ + _CSS + _SCRIPT).encode()
    found = {}
    for place, f in rel.items():
        parts = f.split("/") if f else []
        above = ["/".join(parts[:depth + 1]) in paged for depth in range(len(parts))]
        context = repr((root, title, f, count_of[f], children.get(f, []), above,
                        beside.get(f, []))).encode("utf-8", "surrogateescape")
        entries, made = sums.get(place, (b"", True))
        found[f] = (hashlib.blake2b(look + entries + context, digest_size=16).digest(), made)
    return found


def _failures(failed: int, failures: list[tuple[str, str]]) -> list[str]:
    """The box of failures (the first of ``failed``), as the index and the folders'
    first pages show it; none when nothing failed."""
    if not failures:
        return []
    box = ['<section class="failures"><h2>Failed</h2><ul>']
    box.extend(f"<li><code>{_e(source)}</code>: {_e(reason)}</li>"
               for source, reason in failures)
    if failed > len(failures):
        box.append(f"<li>and {failed - len(failures):,} more: see the manifest</li>")
    box.append("</ul></section>")
    return box


def _finish(where: storage.Store, root: str, folder: str, cards: list[str], written: int,
            count: int, title: str, paged: set[str], children: dict[str, list[str]],
            top: list[str], left: list[str]) -> None:
    """A folder's last page, and the removal of pages left from a larger run before."""
    if cards or not written:
        written += 1
        _write_page(where, root, folder, cards, written, count, title, paged,
                    children.get(folder, []), top if written == 1 else [], left)
    _drop_pages(where, root, folder, written + 1)


def _drop_pages(where: storage.Store, root: str, folder: str, first: int) -> bool:
    """Delete a folder's pages from page ``first`` on, up to the first number
    with nothing there; a file that is not one of this tool's pages is left.
    False if an error stopped it (a page of this tool's may be left)."""
    n = first
    while True:
        rel = _page(folder, n)
        path = where.join(root, rel)
        try:
            storage.parts_of(rel)  # inside the root (a row of the state may say anything)
            if not where.exists(path):
                return True
            made = where.identity(where.stat(path))
            if _ours(where, path):  # deleted only if still the page just read
                where.delete(root, rel, made)
        except (storage.NotOurs, storage.Unsafe):  # changed since, or through a link
            return True
        except OSError:
            return False
        n += 1


def _write_page(where: storage.Store, root: str, folder: str, cards: list[str], n: int,
                count: int, title: str, paged: set[str], children: list[str],
                top: list[str], left: list[str]) -> None:
    """Page ``n`` of ``count`` of a folder: breadcrumbs, the folders below, the
    folder's failures (``top``, on its first page), cards."""
    parts = folder.split("/") if folder else []
    crumbs = [f'<a href="{"../" * len(parts)}{GALLERY_NAME}">{_e(title)}</a>']
    for depth, name in enumerate(parts):
        ancestor = "/".join(parts[:depth + 1])
        back = "../" * (len(parts) - depth - 1)
        crumbs.append(f'<a href="{back}{PAGE_NAME}.html">{_e(name)}</a>'
                      if ancestor in paged and depth < len(parts) - 1 else _e(name))
    skip = len(folder) + 1 if folder else 0
    below = [f'<a href="{_href(_page(c, 1)[skip:])}">{_e(c[skip:])}/</a>' for c in children]
    nav = _nav(n, count)
    out = [f'<p class="crumbs">{" / ".join(crumbs)}</p>',
           f"<h1>{_e(folder + '/' if folder else './')}</h1>"]
    if below:
        out.append(f'<p class="below">Folders: {" ".join(below)}</p>')
    out.extend([*top, nav, '<div class="grid">', *cards, "</div>", nav])
    _put(where, root, _page(folder, n), _html(f"{folder or '.'} - {title}", out), left)


def _sources_by_folder(spool: Spool, rel: dict[str, str], only: set[str] | None = None
                       ) -> Iterator[tuple[str, list[Entry]]]:
    """(folder relative to the root, one source's thumbnails there), in folder order;
    only in the folders (places) ``only`` if given."""
    made: list[Entry] = []
    key: tuple[str, str] | None = None
    if only is not None and not only:
        return
    for e in spool.by_place(only):
        here = (rel[(e.output or "").rpartition("/")[0]], e.source)
        if here != key and made:
            assert key is not None
            yield key[0], made
            made = []
        key = here
        made.append(e)
    if made and key is not None:
        yield key[0], made


def _children(paged: set[str]) -> dict[str, list[str]]:
    """For each folder with pages, the nearest folders below it with pages."""
    result: dict[str, list[str]] = {}
    for folder in sorted(paged):
        if not folder:
            continue
        parent = folder
        while parent:
            parent = parent.rpartition("/")[0]
            if parent in paged:
                break
        result.setdefault(parent, []).append(folder)
    return result


def _nav(n: int, count: int) -> str:
    if count == 1:
        return ""
    links = [f"<b>{k}</b>" if k == n else f'<a href="{_href(_page("", k))}">{k}</a>'
             for k in range(1, count + 1)]
    prev = f'<a href="{_href(_page("", n - 1))}">&larr; previous</a>' if n > 1 else ""
    nxt = f'<a href="{_href(_page("", n + 1))}">next &rarr;</a>' if n < count else ""
    return f'<nav class="pages">{prev} Page {" ".join(links)} of {count} {nxt}</nav>'


def _page(folder: str, n: int) -> str:
    """A folder's n-th page, relative to the output root."""
    name = f"{PAGE_NAME}.html" if n == 1 else f"{PAGE_NAME}-{n}.html"
    return f"{folder}/{name}" if folder else name


def _href(rel: str) -> str:
    return url_path(rel)


def _rel(where: storage.Store, place: str, root: str) -> str:
    rel = where.relative(place, root)
    return "" if rel in (".", place) and place.rstrip("/") == root.rstrip("/") else rel


#: Paints each img[data-thumbhash] with its ThumbHash (decoded as the ThumbHash
#: specification says; render/placeholders.py encodes it) until the image has loaded.
_SCRIPT = """
function thumbhashURL(text) {
  const h = Uint8Array.from(atob(text), c => c.charCodeAt(0));
  const h24 = h[0] | h[1] << 8 | h[2] << 16, h16 = h[3] | h[4] << 8, alpha = h24 >> 23;
  const wide = h16 >> 15, start = alpha ? 6 : 5;
  const lx = Math.max(3, wide ? (alpha ? 5 : 7) : h16 & 7);
  const ly = Math.max(3, wide ? h16 & 7 : (alpha ? 5 : 7));
  let k = 0;
  const terms = (nx, ny, scale) => {
    const ac = [];
    for (let cy = 0; cy < ny; cy++)
      for (let cx = cy ? 0 : 1; cx * ny < nx * (ny - cy); cx++, k++)
        ac.push((((h[start + (k >> 1)] >> ((k & 1) << 2)) & 15) / 7.5 - 1) * scale);
    return ac;
  };
  const L = terms(lx, ly, ((h24 >> 18) & 31) / 31);
  const P = terms(3, 3, ((h16 >> 3) & 63) / 63 * 1.25);
  const Q = terms(3, 3, ((h16 >> 9) & 63) / 63 * 1.25);
  const A = alpha ? terms(5, 5, (h[5] >> 4) / 15) : [];
  const ratio = (wide ? (alpha ? 5 : 7) : h16 & 7) / (wide ? h16 & 7 : (alpha ? 5 : 7));
  const w = Math.round(ratio > 1 ? 32 : 32 * ratio), hh = Math.round(ratio > 1 ? 32 / ratio : 32);
  const canvas = document.createElement("canvas");
  canvas.width = w; canvas.height = hh;
  const ctx = canvas.getContext("2d"), out = ctx.createImageData(w, hh);
  const sum = (ac, nx, ny, fx, fy) => {
    let v = 0;
    for (let cy = 0, j = 0; cy < ny; cy++)
      for (let cx = cy ? 0 : 1; cx * ny < nx * (ny - cy); cx++, j++)
        v += ac[j] * fx[cx] * fy[cy] * 2;
    return v;
  };
  for (let y = 0, i = 0; y < hh; y++) {
    const fy = [0, 1, 2, 3, 4, 5, 6].map(c => Math.cos(Math.PI / hh * (y + 0.5) * c));
    for (let x = 0; x < w; x++, i += 4) {
      const fx = [0, 1, 2, 3, 4, 5, 6].map(c => Math.cos(Math.PI / w * (x + 0.5) * c));
      const l = (h24 & 63) / 63 + sum(L, lx, ly, fx, fy);
      const p = ((h24 >> 6) & 63) / 31.5 - 1 + sum(P, 3, 3, fx, fy);
      const q = ((h24 >> 12) & 63) / 31.5 - 1 + sum(Q, 3, 3, fx, fy);
      const a = alpha ? (h[5] & 15) / 15 + sum(A, 5, 5, fx, fy) : 1;
      const b = l - 2 / 3 * p, r = (3 * l - b + q) / 2, g = r - q;
      [r, g, b, a].forEach((v, c) => { out.data[i + c] = Math.max(0, Math.min(255, 255 * v)); });
    }
  }
  ctx.putImageData(out, 0, 0);
  return canvas.toDataURL();
}
for (const img of document.querySelectorAll("img[data-thumbhash]")) {
  if (img.complete && img.naturalWidth) continue;
  img.style.background = `url(${thumbhashURL(img.dataset.thumbhash)}) 0 0 / 100% 100%`;
  img.addEventListener("load", () => { img.style.background = ""; });
}
"""


def _html(title: str, body: list[str]) -> bytes:
    script = f"<script>{_SCRIPT}</script>" if any("data-thumbhash" in b for b in body) else ""
    out = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
           GENERATOR.decode(),
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>", *body,
           script, "</body></html>"]
    return ("\n".join(line for line in out if line) + "\n").encode("utf-8", "surrogateescape")


def _put(where: storage.Store, root: str, rel: str, page: bytes, left: list[str]) -> None:
    """Write a page unless it is already there as it is (an unchanged rerun writes
    nothing), or a file there is not one of this tool's pages."""
    path = where.join(root, rel)
    try:
        there = where.read(path)
    except OSError:
        there = None
    if there == page:
        return
    try:
        where.put(root, rel, lambda f: f.write(page),
                  None if there is None else storage.ANY if _is_page(there) else None)
    except (storage.NotOurs, storage.Unsafe) as e:
        left.append(e.strerror or str(e))


def _ours(where: storage.Store, path: str) -> bool:
    """Whether ``path`` is a page this tool wrote (it says so in its head)."""
    try:
        return where.is_file(path) and _is_page(where.read(path))
    except OSError:
        return False


def _is_page(data: bytes) -> bool:
    """A page of this tool's: it says so, or (a page of 1.1) has its style sheet."""
    return GENERATOR in data[:1024] or f"<style>{_CSS}</style>".encode() in data


def _shown(made: list[Entry]) -> Entry:
    """The thumbnail nearest SHOWN_SIDE; ties go to the widely supported formats."""
    rank = {f.value: r.web_rank for f, r in TABLE.items()}
    return min(made, key=lambda e: (abs(max(e.width or 0, e.height or 0) - SHOWN_SIDE),
                                    rank.get(e.format or "", len(rank)), e.output))


def _card(root: str, folder: str, made: list[Entry]) -> str:
    """One source's card, on its folder's page (links relative to that page)."""
    source, shown = made[0].source, _shown(made)
    where = storage.store(root)
    page_dir = where.join(root, folder) if folder else root
    name = os.path.basename(source)
    src_link = _source_link(page_dir, source)
    shade = next((e.placeholder for e in made if e.placeholder), None)  # --placeholders
    painted = f' data-thumbhash="{_e(shade.split(" ")[0])}"' if shade else ""
    img = (f'<img src="{url(shown.output or "", page_dir)}" width="{shown.width}" '
           f'height="{shown.height}" loading="lazy" alt="{_e(name)}"{painted}>')
    title = f'<a href="{src_link}">{_e(name)}</a>' if src_link else _e(name)
    source_size = storage.store(source).cheap_size(source)
    facts = f"{shown.width}&times;{shown.height} {_e(shown.format or '')}, {_human(shown.bytes)}"
    if source_size is not None:
        facts += f" &middot; source {_human(source_size)}"
    files = " ".join(
        f'<a href="{url(e.output or "", page_dir)}">{e.width}w&nbsp;{_e(e.format or "")}</a>'
        for e in sorted(made, key=lambda e: (e.width or 0, e.format or ""))
    )
    link = src_link or url(shown.output or "", page_dir)
    return (f'<figure><a class="shot" href="{link}">{img}</a>'
            f'<figcaption>{title}<br><span class="meta">{facts}</span><br>'
            f'<span class="meta files">{files}</span></figcaption></figure>')


def _source_link(root: str, source: str) -> str | None:
    """A relative URL from the page to the source, when the source is a local file."""
    where = storage.store(source)
    return where.href(source, root) if where is storage.store(root) else None


def _human(count: int | None) -> str:
    return "?" if count is None else human_bytes(count)


def _e(text: str) -> str:
    return html.escape(text, quote=True)
