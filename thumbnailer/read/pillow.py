"""Reading with Pillow: everything that can go wrong there, and how; what the
readers of still images (image, heif, jxl) share.

Which decoders may open a file (the allow-list, judged by content), the plugins
of the plugged kinds (HEIF, JPEG XL) registered when a file of theirs is met,
Pillow's pixel limit (raised for max_pixels, never turned off), broken pixel
data (fail_on, decided per image without Pillow's globals), warnings (caught
per image where a process's main thread allows), the orientation the decoder
leaves to apply, and the words for whatever a Pillow reader raises.
"""

from __future__ import annotations

import contextlib
import functools
import io
import warnings
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from PIL import Image, ImageFile, UnidentifiedImageError

from ..run.stderr import capturable
from ..spec import DEFAULT_DECODERS, FailOn, Settings
from . import heif, jxl
from .base import Readable
from .errors import RenderError, describe
from .kinds import JXL, PLUGGED, Kind

#: EXIF orientation -> the transpose that makes the image upright.
TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
ORIENTATION_TAG = 0x0112


def describe_read(exc: BaseException) -> str:
    """Why Pillow could not read an image, from what its reader raised. Plugins
    raise anything on a damaged file (SyntaxError, struct.error, even
    ZeroDivisionError), so everything raised while reading is about the file."""
    if isinstance(exc, (RenderError, FileNotFoundError, PermissionError, MemoryError)):
        return describe(exc)
    if isinstance(exc, UnidentifiedImageError):
        return "not an image, or in a format Pillow cannot read"
    if isinstance(exc, Image.DecompressionBombError):
        return f"refused as a decompression bomb ({exc})"
    if isinstance(exc, ValueError) and "MAX_TEXT_CHUNK" in str(exc):
        return "refused: a metadata chunk (text or colour profile) is over Pillow's size limit"
    if _truncation(exc):
        return (f"truncated image data ({str(exc) or type(exc).__name__}); "
                "Settings.fail_on=none keeps what was decoded")
    if isinstance(exc, NotImplementedError):
        return f"a variant of its format that Pillow cannot decode ({exc})"
    words = str(exc).strip()  # libheif ends its messages with a newline
    if isinstance(exc, OSError) and words:
        detail = words  # Pillow's decoder errors say it in words
    else:
        detail = f"{type(exc).__name__}: {words}" if words else type(exc).__name__
    return f"damaged or unsupported image data ({detail})"


def _truncation(exc: BaseException) -> bool:
    """Data that ends early, as Pillow's readers say it (EOFError, "image file is
    truncated", "Truncated File Read")."""
    return isinstance(exc, EOFError) or (isinstance(exc, OSError) and "truncat" in str(exc).lower())


def head_of(source: Readable) -> bytes:
    """The first kilobytes of ``source`` (a path or an in-memory file), left where it was."""
    if isinstance(source, str):
        with open(source, "rb") as f:
            return f.read(4096)
    position = source.tell()
    head = source.read(4096)
    source.seek(position)
    return head


def _allow_pillow_limit(max_pixels: int) -> None:
    """Pillow warns between 1x and 2x its global MAX_IMAGE_PIXELS and refuses above
    2x; our own check runs right after the header, at exactly --max-pixels. When
    --max-pixels is above Pillow's refusal point, raise the global to match. Only
    ever raised, never turned off and restored per image: threads sharing the
    process cannot interleave into leaving it off."""
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and 2 * limit < max_pixels:
        Image.MAX_IMAGE_PIXELS = -(-max_pixels // 2)


class reading:
    """Anything raised while Pillow reads the file (opening, pixels, metadata,
    frames) is about the file: say so in words, whatever its type."""

    def __enter__(self) -> None:
        pass

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if isinstance(exc, Exception) and not isinstance(exc, RenderError):
            raise RenderError(describe_read(exc)) from exc


def open_image(fp: Readable, s: Settings) -> ImageFile.ImageFile:
    """Open ``fp`` (header only) with the allowed decoders: judged by content, not name."""
    _allow_pillow_limit(s.max_pixels)
    try:
        try:
            return Image.open(fp, formats=_formats(s))
        except UnidentifiedImageError:
            # HEIF, JPEG XL or AVIF: add what reads it, or say what is missing.
            name = _plugged(head_of(fp), s)
            if name is None or (s.decoders is not None and name not in s.decoders):
                raise RenderError(_unopened(fp, s)) from None
        try:  # JPEG XL only ever here: its plugin decodes the whole image on open
            return Image.open(fp, formats=_formats(s) if name == "HEIF" else [name])
        except UnidentifiedImageError:
            raise RenderError(_unopened(fp, s)) from None
    except Image.DecompressionBombError:
        # Pillow refuses above twice its limit, which is at least --max-pixels.
        w, h = _header_size(fp, s)
        raise RenderError(s.pixels_refused(w, h) or "refused as a decompression bomb") from None


def _plugged(head: bytes, s: Settings) -> str | None:
    """The Pillow format of a plugged kind (kinds.PLUGGED) that reads a file
    starting with ``head`` (its first kilobytes), its plugin now registered; None
    when none recognises it. RenderError says what to install, or why the file is
    refused before anything decodes it."""
    for kind in PLUGGED:
        module = _PLUGINS[kind]
        if not module.recognises(head):
            continue
        try:
            module.admit(head, s)
        except ValueError as e:
            raise RenderError(str(e)) from None
        if not module.register():
            raise RenderError(f"{kind.name}: reading it needs the optional extra, "
                              f"pip install 'thumbnailer[{kind.extra}]'")
        return kind.pillow
    return None


#: The plugged kinds' modules: each recognises its files, admits or refuses one
#: from its header, and registers its plugin with Pillow.
_PLUGINS: dict[Kind, Any] = {kind: {"heif": heif, "jxl": jxl}[kind.plugin or ""]
                             for kind in PLUGGED}


def register_encoder(module: str) -> None:
    """Register the Pillow plugin an output format's extra installs (``module``,
    formats.OutputFormat.plugin) before its first save: the plugins of the
    plugged kinds write as well as read."""
    for kind in PLUGGED:
        if kind.needs == module:
            _PLUGINS[kind].register()


def _header_size(fp: Readable, s: Settings) -> tuple[int, int]:
    """The size in the header of a file Pillow refused as a decompression bomb,
    read by the plugin that refused it, without Pillow's check (which lives in
    Image.open) and without touching its global limit."""
    with open(fp, "rb") if isinstance(fp, str) else contextlib.nullcontext(fp) as f:
        f.seek(0)
        prefix = f.read(16)
        for name in _formats(s):
            factory, accept = Image.OPEN[name]
            if accept is not None and not accept(prefix):
                continue
            f.seek(0)
            try:
                return factory(f, getattr(f, "name", "")).size
            except Exception:
                continue
    raise RenderError("refused as a decompression bomb")


def load_decoders(s: Settings) -> None:
    """Register the decoders ``s`` allows now, once per worker: the first image
    would otherwise pay for the imports (40 ms here, several times that on a busy
    machine) and could fail a tight --timeout that only its own work should count."""
    _formats(s)


def _formats(s: Settings) -> list[str]:
    """The allowed decoders this Pillow has, in the order they are tried (see
    _in_order). The default list is only signature-checked formats; its plugins
    load as Pillow needs them (registering all of Pillow's costs 50 ms per worker)."""
    if s.decoders is None or not set(s.decoders) <= set(DEFAULT_DECODERS):
        Image.init()
    else:
        Image.preinit()  # JPEG, PNG, GIF, BMP: what Image.open itself registers first
    if s.decoders is None:  # all, but JPEG XL: see open_image
        return _in_order(n for n in Image.ID if n != "JXL")
    return _in_order(n for n in s.decoders if n != "JXL" and (n in Image.OPEN or _ships(n)))


def _in_order(names: Iterable[str]) -> list[str]:
    """``names`` with the formats Pillow takes without a signature check (IM, IMT,
    IPTC, PCD, SPIDER, TGA) last. Left to itself, Pillow tries formats in the
    order their plugins registered, which depends on what the process imported
    first (a caller's, or what a forked worker inherits), and TGA reads a large
    ICO as a garbled palette image: so a file's reader would depend on history.
    Found on Pillow's own pillow.ico, read as TGA in one CI run of the
    conformance suite."""
    names = list(names)
    loose = sorted(n for n in names if n in Image.OPEN and Image.OPEN[n][1] is None)
    return [n for n in names if n not in loose] + loose


@functools.cache
def _ships(name: str) -> bool:
    """Whether this Pillow has the plugin of a default decoder not yet registered
    (AVIF came in 11.3; HEIF is pillow-heif's, present once registered)."""
    import importlib.util

    module = {"WEBP": "WebP", "TIFF": "Tiff", "AVIF": "Avif"}.get(name)
    return module is not None and importlib.util.find_spec(f"PIL.{module}ImagePlugin") is not None


def _unopened(fp: Readable, s: Settings) -> str:
    """Why no allowed decoder took the file: a format that is not allowed, named
    by opening the header with every plugin (Pillow's header parsers are Python;
    no decoder of a format that is not allowed ever runs), or no image at all."""
    if isinstance(fp, io.BytesIO):
        fp.seek(0)
    Image.init()
    try:
        with Image.open(fp, formats=_in_order(Image.ID)) as im:
            name = im.format
    except Exception:
        return "not an image, or in a format Pillow cannot read"
    return f"a {name} file, not a format opened by default: Settings.allow_formats={name} opens it"


def load_pixels(im: ImageFile.ImageFile, fail_on: FailOn) -> None:
    """Read the pixels. A decoder error fails the image unless ``fail_on`` says to
    keep what was decoded (the rest of the canvas stays as allocated). Decided per
    image, without Pillow's global LOAD_TRUNCATED_IMAGES, which threads share."""
    try:
        im.load()
    except (OSError, EOFError) as exc:
        keep = fail_on is FailOn.NONE or (fail_on is FailOn.TRUNCATED and not _truncation(exc))
        if not keep or _pixels(im) is None:
            raise
        im.tile = []  # what the decoder wrote stays; Pillow would decode again otherwise
        im.load()


def _pixels(im: Image.Image) -> object:
    """The image's pixel memory, if the decoder got as far as making it."""
    if hasattr(im, "_im"):  # Pillow >= 11
        return im._im
    return getattr(im, "im", None)


class caught_warnings:
    """Warnings raised while this image is made: said with its name (Outcome.warnings,
    shown by -v), counted by --fail-on warning, never printed by Python. Python's
    warning filters are process-wide before 3.14, and catching them per image from
    several threads would tangle them. So they are caught only where one task runs
    at a time (run.stderr.capturable: the process pool, -w 1, a local Dask
    cluster); in any other thread (the thread engine, a Dask cluster of someone
    else's) Pillow's and our warnings are silenced for the whole process, once."""

    def __enter__(self) -> list[warnings.WarningMessage] | None:
        self.inner: warnings.catch_warnings[list[warnings.WarningMessage]] | None = None
        if not capturable():
            _silence_in_threads()
            return None
        self.inner = warnings.catch_warnings(record=True)
        caught = self.inner.__enter__()
        warnings.simplefilter("always")
        return caught

    def __exit__(self, *exc: Any) -> None:
        if self.inner is not None:
            self.inner.__exit__(*exc)


@functools.lru_cache(maxsize=1)
def _silence_in_threads() -> None:
    warnings.filterwarnings("ignore", module=r"(PIL|thumbnailer)(\.|$)")


#: Warnings that say nothing about the file being read: Python's own (a file some
#: other code left open, deprecations) and Pillow's size warning (--max-pixels
#: judges sizes).
_NOT_ABOUT_THE_FILE = (ResourceWarning, DeprecationWarning, PendingDeprecationWarning,
                       Image.DecompressionBombWarning)


#: The name Pillow gives libtiff for the file it decodes, which libtiff puts
#: before its messages: it is not the file's name, so it is left out.
_LIBTIFF_NAME = "tempfile.tif: "


def said(caught: list[warnings.WarningMessage] | None,
         stderr: tuple[str, ...] = ()) -> tuple[str, ...]:
    """What the libraries said about the file, each once: the warnings in
    ``caught`` about it, then the lines decoders wrote to stderr (run.stderr)."""
    return tuple(dict.fromkeys(
        [str(w.message).strip() for w in caught or ()
         if not issubclass(w.category, _NOT_ABOUT_THE_FILE)]
        + [line.removeprefix(_LIBTIFF_NAME) for line in stderr]))


def fail_on_warnings(caught: list[warnings.WarningMessage] | None,
                     stderr: tuple[str, ...] = ()) -> None:
    """--fail-on warning: the first warning about the file raised while reading it
    fails the image, or else the first line a decoder wrote to stderr."""
    if caught is None:
        raise RenderError("Settings.fail_on=warning needs worker processes or "
                          "Options.workers=1: threads cannot tell their warnings apart")
    for message in said(caught, stderr)[:1]:
        raise RenderError(f"warning while reading: {message} "
                          "(Settings.fail_on=error lets warnings pass)")


def read_orientation(im: Image.Image) -> int:
    """The EXIF orientation left to apply; anything bogus counts as upright. A JPEG
    XL's is in its codestream, which libjxl applies; its EXIF's is to be ignored."""
    if im.format == JXL.pillow:
        return 1
    try:
        value = im.getexif().get(ORIENTATION_TAG, 1)
    except Exception as exc:  # an EXIF block that does not parse: a warning, not a failure
        warnings.warn(f"unreadable EXIF ({exc})", stacklevel=2)
        return 1
    return value if isinstance(value, int) and value in TRANSPOSE else 1


def codec_versions() -> list[str]:
    """Pillow's version and its codecs': what else shapes a thumbnail's bytes."""
    import importlib.metadata

    from PIL import __version__ as pillow
    from PIL import features

    found = [f"Pillow {pillow}"] + [
        f"{codec} {features.version(codec)}"
        for codec in ("jpg", "zlib", "webp", "avif", "libtiff", "jpg_2000", "littlecms2")]
    for extra in ("pillow-heif", "av", "rawpy", "pillow-jxl-plugin"):  # when they are there
        try:
            found.append(f"{extra} {importlib.metadata.version(extra)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    return found
