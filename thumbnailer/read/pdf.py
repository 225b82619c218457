"""PDF documents: their first page, through PDFium (pypdfium2, the optional
``[pdf]`` extra, which ships PDFium in its wheels), drawn at the size the
thumbnails need, never at the page's own size and then shrunk.

A page's size is its crop box (what viewers show), turned by its /Rotate, at
72 pixels to the inch (one pixel a point, as libvips and sharp take it); that
size is judged by Settings.max_pixels as an image's is, and so is the size it
is drawn at. The page is drawn on white, as viewers show it, whatever
transparency its content has: a PDF page is paper, and a transparent thumbnail
of a page of black text would be unreadable on a dark background. Annotations
and form fields are drawn, as viewers draw them. PDFium is not thread-safe:
one page is drawn at a time in a process.
"""

from __future__ import annotations

import math
import re
import threading
from typing import Any

from ..geometry import DRAFT_GAPS, Need
from ..spec import Settings
from .base import Picture, Readable
from .errors import RenderError

#: Drawn this much larger than the pixels the largest thumbnail needs, as an SVG is.
GAP = DRAFT_GAPS[1]
_WHITE = (255, 255, 255, 255)
_LOCK = threading.Lock()


def read(fp: Readable, need: Need, s: Settings, previews: bool = True) -> Picture:
    """The first page, drawn at the pixels ``need`` asks (with the gap), as RGB on
    white: its size is the page's in points, rounded up."""
    pdfium = _pdfium()
    with _LOCK:
        document = _open(pdfium, fp)
        try:
            page = _first_page(pdfium, document)
            try:
                size = page_size(page, s)
                factor = drawn_factor(size, need, s)
                try:
                    bitmap = page.render(scale=factor, fill_color=_WHITE, draw_annots=True,
                                         may_draw_forms=True)
                except pdfium.PdfiumError as e:
                    raise RenderError(f"PDFium could not draw the first page ({e})") from None
                image = bitmap.to_pil()
                image.load()
                bitmap.close()
            finally:
                page.close()
        finally:
            document.close()
    if image.mode != "RGB":
        image = image.convert("RGB")
    return Picture(image, size, size[0] / image.width)


def memory(fp: Readable, need: Need, s: Settings) -> int:
    """The page drawn: four bytes a pixel in PDFium's bitmap, three in Pillow's
    copy and again in the resize's (PDFium's objects are in what every task
    holds). 0 when it cannot be read or will be refused."""
    try:
        pdfium = _pdfium()
        with _LOCK:
            document = _open(pdfium, fp)
            try:
                page = _first_page(pdfium, document)
                size = page_size(page, s)
                factor = drawn_factor(size, need, s)
                page.close()
            finally:
                document.close()
    except Exception:
        return 0
    return math.ceil(size[0] * factor) * math.ceil(size[1] * factor) * 10


def page_size(page: Any, s: Settings) -> tuple[int, int]:
    """The page's size in points (pixels at 72 to the inch), turned as it is
    shown, refused over Settings.max_pixels as any image's would be."""
    w, h = page.get_size()  # the crop box, turned by the page's /Rotate
    if not (w > 0 and h > 0 and math.isfinite(w * h)):
        raise RenderError("the PDF's first page has no size")
    size = (max(1, math.ceil(w - 1e-6)), max(1, math.ceil(h - 1e-6)))
    if (refused := s.pixels_refused(*size)) is not None:
        raise RenderError(f"a page of {refused}")
    return size


def drawn_factor(size: tuple[int, int], need: Need, s: Settings) -> float:
    """Pixels a point the page is drawn at: those the largest thumbnail needs,
    with the gap, refused over Settings.max_pixels."""
    w, h = size
    wanted = need.pixels(size)
    factor = max(wanted[0] * GAP / w, wanted[1] * GAP / h)
    drawn = (math.ceil(w * factor), math.ceil(h * factor))
    if (refused := s.pixels_refused(*drawn)) is not None:
        raise RenderError(f"drawn at {refused}")
    return factor


def _open(pdfium: Any, fp: Readable) -> Any:
    if isinstance(fp, str):
        with open(fp, "rb") as f:
            head = f.read(1024)
    else:
        head = fp.read(1024)
        fp.seek(0)
    if b"%PDF-" not in head:
        raise RenderError("not a PDF document (no %PDF- header)")
    try:
        return pdfium.PdfDocument(fp if isinstance(fp, str) else fp.read())
    except pdfium.PdfiumError as e:
        said = re.search(r"PDFium: ([^)]*)", str(e))  # "Failed to load document (PDFium: ...)."
        words = said.group(1).lower() if said else str(e)
        if "password" in words:
            raise RenderError("a password-protected PDF") from None
        raise RenderError(f"a damaged PDF ({words})") from None


def _first_page(pdfium: Any, document: Any) -> Any:
    if len(document) == 0:
        raise RenderError("a PDF with no pages")
    try:
        return document[0]
    except pdfium.PdfiumError as e:
        raise RenderError(f"a damaged PDF: its first page cannot be read ({e})") from None


def _pdfium() -> Any:
    """pypdfium2, imported when a PDF is met (the default path never loads it)."""
    try:
        import pypdfium2
    except ImportError:
        raise RenderError("a PDF document: reading PDF needs the optional extra: "
                          "pip install 'thumbnailer[pdf]'") from None
    return pypdfium2
