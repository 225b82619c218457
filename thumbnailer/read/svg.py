"""SVG drawings (.svg, and gzipped .svgz), through resvg (resvg-py, the optional
``[svg]`` extra: a Rust renderer in an abi3 wheel), drawn at the size the
thumbnails need, never at the drawing's own size and then shrunk.

The drawing is parsed here first, with Python's expat (which refuses entities
that expand past a fixed factor: the "billion laughs"), and judged before resvg
sees it: its root must be <svg>; it may hold at most MAX_ELEMENTS elements,
counting each <use> as the elements it copies, nested at most MAX_DEPTH deep;
its declared size (width, height and viewBox, in CSS pixels) is an image's size
for Settings.max_pixels, and so is the size it is drawn at. Whatever it would
load from outside itself is dropped: an href that is not a link inside the
drawing (``#id``) or an inline raster image (``data:image/png`` ...) goes, as
do CSS ``@import`` rules (resvg would read a file named by an <image> or
<feImage>, even by a relative name, from the working folder). resvg then draws
the tree written back with its size set to the pixels needed (with the draft
gap, so that the resize after it has room to smooth). Transparency is kept.
Text is drawn in the system's fonts, the generic families (serif, sans-serif...)
as fontconfig chooses them.
"""

from __future__ import annotations

import functools
import io
import math
import re
import shutil
import subprocess
import warnings
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from PIL import Image

from ..geometry import DRAFT_GAPS, Need
from ..spec import Settings
from .base import Picture, Readable
from .errors import RenderError

#: The most elements a drawing may hold (each <use> counting as the elements it
#: copies), and how deep they may nest: beyond, it is refused before drawing.
#: Illustrations and icons hold hundreds to a few thousand; maps and plots of
#: large data sets tens of thousands.
MAX_ELEMENTS = 100_000
MAX_DEPTH = 256
#: Drawn this much larger than the pixels the largest thumbnail needs (as a
#: JPEG is drafted at 1/8), so that the resize after it smooths the edges.
GAP = DRAFT_GAPS[1]

_SVG = "{http://www.w3.org/2000/svg}"
_HREFS = ("href", "{http://www.w3.org/1999/xlink}href")
#: Inline images resvg decodes itself; any other reference is dropped (an inline
#: SVG could name files of its own).
_INLINE = re.compile(r"\s*data:image/(png|jpeg|jpg|gif|webp)[;,]", re.IGNORECASE)
_IMPORT = re.compile(r"@import[^;]*;?", re.IGNORECASE)
#: CSS units in CSS pixels (96 to the inch), as resvg converts them.
_UNITS = {"": 1.0, "px": 1.0, "pt": 4 / 3, "pc": 16.0, "mm": 96 / 25.4, "cm": 96 / 2.54,
          "in": 96.0, "em": 16.0, "ex": 8.0}
_LENGTH = re.compile(r"\s*([+]?[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-z%]*)\s*$")
#: A drawing that says nothing of its size is 100 x 100 (as resvg takes it).
_DEFAULT = 100.0


@dataclass
class Drawing:
    """An SVG parsed and judged: its root, and its size in CSS pixels."""

    root: ET.Element
    width: float
    height: float
    #: The viewBox (x, y, w, h), when it has one.
    view_box: tuple[float, float, float, float] | None


def read(fp: Readable, need: Need, s: Settings, previews: bool = True) -> Picture:
    """The drawing, drawn at the pixels ``need`` asks (with the gap), as RGBA: its
    size is its declared one, rounded up."""
    resvg = _resvg()
    drawing = parse(_data(fp, s))
    size = declared(drawing, s)
    drawn = drawn_size(size, need, s)
    dropped = _sealed(drawing.root)
    if dropped:
        warnings.warn(f"SVG references outside the drawing dropped: {', '.join(dropped[:3])}"
                      + (f" and {len(dropped) - 3} more" if len(dropped) > 3 else ""),
                      stacklevel=2)
    _size_to(drawing, drawn)
    text = ET.tostring(drawing.root, encoding="unicode")
    try:
        png = resvg.svg_to_bytes(svg_string=text, **_families())
    except ValueError as e:
        raise RenderError(f"resvg could not draw this SVG ({e})") from None
    image: Image.Image = Image.open(io.BytesIO(png))
    image.load()
    if image.mode != "RGBA":
        image = image.convert("RGBA")
    return Picture(image, size, size[0] / image.width)


def memory(fp: Readable, need: Need, s: Settings) -> int:
    """The text and its trees (the parse here, resvg's own: about ten times the
    file) and the drawing at the size it is drawn at, four bytes a pixel, four
    times over (resvg's canvas, its PNG, Pillow's copy and the resize's). From
    the root element alone; 0 when it cannot be read or will be refused.
    Measured: an 18 MB SVG of 20,000 paths drawn to 256 px raised the peak RSS
    by 113 MB, estimated at 178 MB."""
    try:
        data = _data(fp, s)
        drawing = _sized(_root(data))
        size = declared(drawing, s)
        w, h = drawn_size(size, need, s)
    except Exception:
        return 0
    return len(data) * 10 + w * h * 16


def parse(data: bytes) -> Drawing:
    """The drawing in ``data``, refused (RenderError) when it is not an SVG, or
    holds more than MAX_ELEMENTS elements or nests deeper than MAX_DEPTH."""
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
    count = depth = 0
    root: ET.Element | None = None
    try:
        for chunk in _chunks(data):
            parser.feed(chunk)
            for event, element in _events(parser):
                if event == "end":
                    depth -= 1
                    continue
                if root is None:
                    root = _svg_root(element)
                count, depth = count + 1, depth + 1
                if count > MAX_ELEMENTS:
                    raise RenderError(_too_many(""))
                if depth > MAX_DEPTH:
                    raise RenderError(f"SVG elements nested deeper than {MAX_DEPTH}")
        parser.close()
    except ET.ParseError as e:
        raise RenderError(f"not a well-formed SVG ({e})") from None
    if root is None:
        raise RenderError("not an SVG drawing (no elements)")
    expanded = copies(root)
    if expanded > MAX_ELEMENTS:
        raise RenderError(_too_many(", counting what <use> copies"))
    return _sized(root)


def copies(root: ET.Element) -> int:
    """How many elements the drawing holds once each <use> is replaced by what it
    links to (MAX_ELEMENTS + 1 as soon as it is more): a few <use> of <use> can
    copy an element billions of times. A link that loops counts once."""
    ids = {e.get("id"): e for e in root.iter() if e.get("id")}
    counted: dict[int, int] = {}
    open_: set[int] = set()

    def count(element: ET.Element, depth: int) -> int:
        key = id(element)
        if key in counted:
            return counted[key]
        if key in open_ or depth > MAX_DEPTH:
            return 1
        open_.add(key)
        total = 1
        for child in element:
            total += count(child, depth + 1)
            if total > MAX_ELEMENTS:
                break
        if element.tag in (f"{_SVG}use", "use"):
            href = next((element.get(h) for h in _HREFS if element.get(h)), "") or ""
            target = ids.get(href.strip()[1:]) if href.strip().startswith("#") else None
            if target is not None:
                total += count(target, depth + 1)
        open_.discard(key)
        counted[key] = total = min(total, MAX_ELEMENTS + 1)
        return total

    return count(root, 0)


def declared(drawing: Drawing, s: Settings) -> tuple[int, int]:
    """The drawing's own size in whole pixels, refused over Settings.max_pixels as
    any image's would be (it is not allocated: it judges the source)."""
    size = (max(1, math.ceil(drawing.width - 1e-6)), max(1, math.ceil(drawing.height - 1e-6)))
    if (refused := s.pixels_refused(*size)) is not None:
        raise RenderError(refused)
    return size


def drawn_size(size: tuple[int, int], need: Need, s: Settings) -> tuple[int, int]:
    """The pixels the drawing is drawn at: those the largest thumbnail needs, with
    the gap (more than its own size only with Settings.upscale, or by the gap),
    refused over Settings.max_pixels."""
    w, h = size
    wanted = need.pixels(size)
    factor = max(wanted[0] * GAP / w, wanted[1] * GAP / h)
    drawn = (max(1, math.ceil(w * factor - 1e-6)), max(1, math.ceil(h * factor - 1e-6)))
    if (refused := s.pixels_refused(*drawn)) is not None:
        raise RenderError(f"drawn at {refused}")
    return drawn


def _sized(root: ET.Element) -> Drawing:
    """The drawing's size: width and height in CSS units; a missing or relative
    one from the viewBox (keeping its aspect when the other is given), else 100."""
    box = _view_box(root.get("viewBox"))
    width, height = _length(root.get("width")), _length(root.get("height"))
    if box is not None:
        if width is None and height is None:
            width, height = box[2], box[3]
        elif width is None:
            width = height * box[2] / box[3]  # type: ignore[operator]
        elif height is None:
            height = width * box[3] / box[2]
    width = _DEFAULT if width is None else width
    height = _DEFAULT if height is None else height
    if not (0 < width < math.inf and 0 < height < math.inf):
        raise RenderError("the SVG's size is zero or not a number")
    return Drawing(root, width, height, box)


def _length(value: str | None) -> float | None:
    """A width or height in CSS pixels; None when absent, relative (%) or unparsable."""
    if value is None or not (m := _LENGTH.match(value.lower())) or m.group(2) not in _UNITS:
        return None
    return float(m.group(1)) * _UNITS[m.group(2)]


def _view_box(value: str | None) -> tuple[float, float, float, float] | None:
    try:
        x, y, w, h = (float(v) for v in (value or "").replace(",", " ").split())
    except ValueError:
        return None
    return (x, y, w, h) if w > 0 and h > 0 and math.isfinite(w * h) else None


def _size_to(drawing: Drawing, drawn: tuple[int, int]) -> None:
    """Set the root's size to ``drawn``, keeping what it shows: a viewBox of its
    own size when it has none (its units are CSS pixels). Where its size and
    viewBox have the same shape, the viewBox fills the canvas exactly (rounding
    to whole pixels must not leave a transparent hairline at an edge)."""
    root = drawing.root
    root.set("width", str(drawn[0]))
    root.set("height", str(drawn[1]))
    box = drawing.view_box
    if box is None:
        root.set("viewBox", f"0 0 {drawing.width!r} {drawing.height!r}")
        root.set("preserveAspectRatio", "none")
    elif math.isclose(box[2] / box[3], drawing.width / drawing.height, rel_tol=0.01):
        root.set("preserveAspectRatio", "none")


def _sealed(root: ET.Element) -> list[str]:
    """Drop every reference out of the drawing (the module's text): what was dropped."""
    dropped = []
    for element in root.iter():
        for name in _HREFS:
            value = element.get(name)
            if value is not None and not value.strip().startswith("#") and not _INLINE.match(value):
                del element.attrib[name]
                dropped.append(value.strip()[:60] or "(empty)")
        css = element.text if element.tag in (f"{_SVG}style", "style") else None
        if css and "@import" in css.lower():
            dropped += [m.group(0)[:60] for m in _IMPORT.finditer(css)]
            element.text = _IMPORT.sub("", css)
    return dropped


def _svg_root(element: ET.Element) -> ET.Element:
    if element.tag not in (f"{_SVG}svg", "svg"):
        name = element.tag.rpartition("}")[2]
        raise RenderError(f"not an SVG drawing (its root element is <{name}>)")
    return element


def _root(data: bytes) -> ET.Element:
    """The root element alone, with its attributes (for the memory estimate)."""
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start",))
    for chunk in _chunks(data):
        parser.feed(chunk)
        for _, element in _events(parser):
            return _svg_root(element)
    raise RenderError("not an SVG drawing (no elements)")


def _events(parser: ET.XMLPullParser[ET.Element]) -> Iterator[tuple[str, ET.Element]]:
    """The parser's start and end events (asked for no others)."""
    return cast(Iterator[tuple[str, ET.Element]], parser.read_events())


def _chunks(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), 1 << 16):
        yield data[start:start + (1 << 16)]


def _data(fp: Readable, s: Settings) -> bytes:
    """The file's bytes, inflated when gzipped (.svgz), refused when they inflate
    past Settings.max_file_size (a gzip bomb)."""
    if isinstance(fp, str):
        with open(fp, "rb") as f:
            data = f.read()
    else:
        data = fp.read()
    if data[:2] != b"\x1f\x8b":
        return data
    inflate = zlib.decompressobj(wbits=31)
    try:
        out = inflate.decompress(data, s.max_file_size + 1)
    except zlib.error as e:
        raise RenderError(f"broken gzip data in an .svgz ({e})") from None
    if len(out) > s.max_file_size:
        raise RenderError(f"an .svgz that inflates past {s.max_file_size:,} bytes "
                          "(Settings.max_file_size)")
    if not inflate.eof:
        raise RenderError("broken gzip data in an .svgz (cut short)")
    return out


def _too_many(counting: str) -> str:
    return (f"an SVG of more than {MAX_ELEMENTS:,} elements{counting}: too costly to draw "
            "(the limit of the [svg] reader)")


@functools.cache
def _families() -> dict[str, str]:
    """The fonts this system gives the generic families, as fontconfig chooses
    them, for resvg: its own choices are Windows' and macOS's (Times New Roman,
    Arial...), and where those are missing it draws no text at all. The default
    (text naming no font, or none installed) is serif, as a browser's is. Asked
    once a process; empty where there is no fontconfig (resvg's choices stand)."""
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return {}
    chosen = {}
    for generic, option in (("serif", "serif_family"), ("sans-serif", "sans_serif_family"),
                            ("monospace", "monospace_family"), ("cursive", "cursive_family"),
                            ("fantasy", "fantasy_family")):
        try:
            family = subprocess.run([fc_match, "-f", "%{family[0]}", generic], check=True,
                                    capture_output=True, text=True, timeout=5).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            continue
        if family:
            chosen[option] = family
    if "serif_family" in chosen:
        chosen["font_family"] = chosen["serif_family"]
    return chosen


def _resvg() -> Any:
    """resvg-py, imported when an SVG is met (the default path never loads it)."""
    try:
        import resvg_py
    except ImportError:
        raise RenderError("an SVG image: drawing SVG needs the optional extra: "
                          "pip install 'thumbnailer[svg]'") from None
    return resvg_py
