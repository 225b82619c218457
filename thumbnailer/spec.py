"""The vocabulary every other module speaks: settings, sizes, tasks and outcomes.

Everything here is frozen and picklable, because tasks and outcomes cross process
boundaries. Nothing here does I/O.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .errors import JobError

#: Bumped whenever render() would produce different bytes for the same settings,
#: so that every existing thumbnail is regenerated once. 3: TIFFs turned by their
#: decoder were turned twice, and PNG colour keys (tRNS) showed in JPEGs.
RENDER_VERSION = 3
#: In the fingerprint of Hdr.KEEP thumbnails only: the version of what keep
#: writes. 2: PQ and HLG stills get a gain map computed from their HDR and SDR
#: renditions, so their keep thumbnails made before (SDR only) are made again.
KEEP_VERSION = 2

#: Pillow's own hard stop (twice its warning threshold): lets real panoramas of
#: about 16000 x 11000 through, refuses decompression bombs before decoding.
DEFAULT_MAX_PIXELS = 178_956_970

#: Source files larger than this are refused before they are opened. 1 GiB lets
#: any camera file and most scans through.
DEFAULT_MAX_FILE_SIZE = 1 << 30

#: Seconds one image may take before it is stopped and recorded as failed: far
#: above what any real image needs (a 179 MP PNG takes a few seconds).
DEFAULT_TIMEOUT = 120.0

#: Frames of an animation kept with --animated: a few minutes of a typical GIF.
DEFAULT_MAX_FRAMES = 1000

#: Largest side a thumbnail may ask for; anything bigger is a typo, not a thumbnail.
MAX_SIDE = 16384


class Fit(str, enum.Enum):
    """How an image meets a box (names follow sharp)."""

    CONTAIN = "contain"  # inside the box, aspect kept
    COVER = "cover"  # fills the box, overflow cropped (centred)
    FILL = "fill"  # stretched to the box
    PAD = "pad"  # contained, then padded to the box with the background


class Crop(str, enum.Enum):
    """Which window --fit cover keeps (names follow sharp and libvips)."""

    CENTER = "center"
    ENTROPY = "entropy"  # the busiest window (most information)
    ATTENTION = "attention"  # the most salient: edges, colour, skin, contrast; centred
    FACES = "faces"  # the faces OpenCV finds (the [faces] extra), else attention


class ColourSpace(str, enum.Enum):
    """The colours a thumbnail holds: sRGB always, or Display P3 for wide-gamut sources."""

    SRGB = "srgb"
    P3 = "p3"  # sources whose gamut exceeds sRGB keep it, as Display P3; the rest sRGB


class Hdr(str, enum.Enum):
    """What becomes of a source's HDR (an UltraHDR JPEG's gain map)."""

    SDR = "sdr"  # the SDR picture only
    KEEP = "keep"  # JPEG outputs of an HDR source carry a gain map (UltraHDR)


class Format(str, enum.Enum):
    AUTO = "auto"  # JPEG when opaque, PNG when the thumbnail has transparency
    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    AVIF = "avif"
    GIF = "gif"  # 256 colours, 1-bit transparency: for animations (--animated)
    JXL = "jxl"  # JPEG XL, with the [jxl] extra


class FailOn(str, enum.Enum):
    """How bad the pixel data must be before an image is failed (names follow sharp
    and libvips). Each level fails what the levels before it fail, and more."""

    NONE = "none"  # keep whatever could be decoded
    TRUNCATED = "truncated"  # fail data that ends early; keep what a corrupt stream gave
    ERROR = "error"  # fail any decoder error; harmless warnings pass
    WARNING = "warning"  # also fail on any warning while reading (corrupt EXIF, ...)


#: The decoders (Pillow format names) opened by default: photo and web formats.
#: JPEG covers MPO (camera JPEGs with a multi-picture segment); HEIF needs the
#: [heif] extra. Anything else needs --allow-format: Pillow's other plugins
#: (PSD, JPEG 2000, DDS, FITS, ...) are where its security fixes keep landing.
DEFAULT_DECODERS = ("JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP", "AVIF", "HEIF", "JXL")

#: --allow-format all: every decoder this Pillow has.
ALL_DECODERS = "ALL"

#: Appended to a thumbnail's recorded fingerprint when an embedded preview made
#: it: such a thumbnail stays up to date while this rule stands; a new rule for
#: choosing previews changes the mark, and remakes them.
PREVIEW_MARK = "+preview1"


class Status(str, enum.Enum):
    CREATED = "created"
    SKIPPED = "skipped"
    FAILED = "failed"


class StopReason(str, enum.Enum):
    """Why a run stopped before the end (``JobResult.stop``). Each is its own
    string: ``str()``, ``format()`` and JSON give the value, as before."""

    INTERRUPTED = "interrupted"  # Ctrl-C: pending work cancelled, nothing half-written
    TERMINATED = "terminated"  # SIGTERM (cron, systemd): as Ctrl-C
    #: A full or read-only disk, an unusable output folder or state, an engine that
    #: cannot start.
    HALTED = "halted"
    #: Another run holds the output folder, or another process the state database.
    LOCKED = "locked"
    DEADLINE = "deadline"  # Options.deadline reached: images not started are left

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, order=True)
class Size:
    """A bounding box; ``None`` on one side means "only the other side counts"."""

    width: int | None
    height: int | None

    @property
    def label(self) -> str:
        """The spelling used in file names and the manifest: 256, 320x200, 320x, x200."""
        if self.width == self.height:
            return str(self.width)
        return f"{self.width or ''}x{self.height or ''}"

    def __str__(self) -> str:
        return self.label


#: The freedesktop.org thumbnail flavours: longest side -> cache folder.
XDG_FLAVOURS = {128: "normal", 256: "large", 512: "x-large", 1024: "xx-large"}

#: Marks a settings field that changes the pixels or bytes of a thumbnail.
_SHAPES = {"output": True}
#: An output field added later: counted only when it is not its default, so
#: adding it left every thumbnail made before it up to date.
_NEWER = {"output": True, "newer": True}


@dataclass(frozen=True)
class Settings:
    """One job, fully described. The CLI builds it from flags; scripts build it directly.

    Fields marked as output fields feed the fingerprint that decides whether an
    existing thumbnail is up to date.
    """

    output: str = "thumbnails"
    sizes: tuple[Size, ...] = (Size(256, 256),)
    #: Every size is written in every format, all from one decode. Not an output
    #: field: each thumbnail's fingerprint takes its own format (adding one leaves
    #: the others up to date).
    formats: tuple[Format, ...] = (Format.AUTO,)
    quality: int = field(default=85, metadata=_SHAPES)
    fit: Fit = field(default=Fit.CONTAIN, metadata=_SHAPES)
    crop: Crop = field(default=Crop.CENTER, metadata=_SHAPES)
    upscale: bool = field(default=False, metadata=_SHAPES)
    #: RGBA; used to flatten transparency into formats without it, and for pad.
    background: tuple[int, int, int, int] = field(default=(255, 255, 255, 255), metadata=_SHAPES)
    keep_metadata: bool = field(default=False, metadata=_SHAPES)
    #: Keep animation (GIF and WebP outputs); otherwise the first frame.
    animated: bool = field(default=False, metadata=_SHAPES)
    #: With ``animated``: frames kept, the rest dropped.
    max_frames: int = field(default=DEFAULT_MAX_FRAMES, metadata=_SHAPES)
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    #: Seconds one image may take; None for no limit.
    timeout: float | None = DEFAULT_TIMEOUT
    #: When broken pixel data fails an image. Not an output field: it decides
    #: whether a thumbnail is made, not how it looks, and failures are never
    #: recorded as up to date, so a looser level retries them.
    fail_on: FailOn = FailOn.ERROR
    #: Pillow formats opened besides DEFAULT_DECODERS ("ALL": every one).
    allow_formats: tuple[str, ...] = ()
    #: Output name without extension; fields {stem}, {size}, {width}, {height}.
    #: None means "{stem}" for one size and "{stem}_{size}" for several.
    name: str | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    hidden: bool = False
    follow_symlinks: bool = False
    #: Walk videos too, when the [video] extra is installed (--no-video: not).
    video: bool = True
    #: Walk camera RAW files (--no-raw: not); without the [raw] extra each is
    #: named with what to install.
    raw: bool = True
    #: --placeholders: a ThumbHash, a BlurHash and the dominant colour per source.
    placeholders: bool = False
    force: bool = False
    #: (K, N): make only the K-th of N deterministic parts of the job (1-based).
    shard: tuple[int, int] | None = None
    #: Write into the freedesktop.org thumbnail cache (``output`` is its root):
    #: PNG, contain, the spec's sizes, names and text chunks.
    xdg_cache: bool = field(default=False, metadata=_SHAPES)
    #: ColourSpace.P3: wide-gamut sources keep their colours (Display P3 profile).
    colour_space: ColourSpace = field(default=ColourSpace.SRGB, metadata=_NEWER)
    #: Hdr.KEEP: JPEG thumbnails of HDR sources are UltraHDR (a gain-map source's
    #: map kept; a PQ or HLG still's computed).
    hdr: Hdr = field(default=Hdr.SDR, metadata=_NEWER)

    def __post_init__(self) -> None:
        """Refuse settings no job can run with: a JobError (a ValueError) naming
        the field in ``setting``."""
        if not self.sizes:
            raise JobError("at least one size is needed", setting="sizes")
        if len(set(self.sizes)) != len(self.sizes):
            raise JobError("the same size is given twice", setting="sizes")
        if not self.formats:
            raise JobError("at least one format is needed", setting="formats")
        if len(set(self.formats)) != len(self.formats):
            raise JobError("the same format is given twice", setting="formats")
        if Format.AUTO in self.formats and ({Format.JPEG, Format.PNG} & set(self.formats)):
            raise JobError(
                "format auto already writes JPEG or PNG: combine it only with webp or avif",
                setting="formats",
            )
        if self.animated and Format.AUTO in self.formats and Format.GIF in self.formats:
            raise JobError("with animated, format auto already writes animations as GIF: "
                           "combine it with webp or avif, not gif", setting="formats")
        if self.max_frames < 1:
            raise JobError("max_frames must be at least 1", setting="max_frames")
        if self.crop is not Crop.CENTER and self.fit is not Fit.COVER:
            raise JobError(f"crop {self.crop.value} only applies to fit cover", setting="crop")
        if not 1 <= self.quality <= 100:
            raise JobError("quality must be between 1 and 100", setting="quality")
        if self.max_pixels < 1 or self.max_file_size < 1:
            raise JobError("max_pixels and max_file_size must be positive",
                           setting="max_pixels" if self.max_pixels < 1 else "max_file_size")
        if self.timeout is not None and self.timeout <= 0:
            raise JobError("timeout must be positive (None for no limit)", setting="timeout")
        if self.shard is not None and not 1 <= self.shard[0] <= self.shard[1]:
            raise JobError("shard K/N needs 1 <= K <= N", setting="shard")
        if self.xdg_cache:
            self._check_xdg()
        if len(self.background) != 4:
            raise JobError("background must be an RGBA tuple", setting="background")
        if any(f != f.upper() for f in self.allow_formats):
            raise JobError("allow_formats takes Pillow's format names in capitals (PSD)",
                           setting="allow_formats")

    def _check_xdg(self) -> None:
        flavours = ", ".join(str(side) for side in XDG_FLAVOURS)
        for size in self.sizes:
            if size.width != size.height or size.width not in XDG_FLAVOURS:
                raise JobError(f"the thumbnail cache has sizes {flavours} only, not {size}",
                               setting="sizes")
        if self.formats != (Format.PNG,):
            raise JobError("the thumbnail cache holds PNG only", setting="formats")
        if self.fit is not Fit.CONTAIN or self.upscale:
            raise JobError("the thumbnail cache takes fit contain, without upscaling",
                           setting="fit" if self.fit is not Fit.CONTAIN else "upscale")

    @property
    def decoders(self) -> tuple[str, ...] | None:
        """The Pillow formats render may open; None for all of them."""
        if ALL_DECODERS in self.allow_formats:
            return None
        return tuple(dict.fromkeys((*DEFAULT_DECODERS, *self.allow_formats)))

    @property
    def name_template(self) -> str:
        if self.name is not None:
            return self.name
        return "{stem}" if len(self.sizes) == 1 else "{stem}_{size}"

    def pixels_refused(self, width: int, height: int) -> str | None:
        """Why max_pixels refuses a picture of this size (None when it does not)."""
        if width * height <= self.max_pixels:
            return None
        return (f"{width}x{height} is {width * height:,} pixels, over the limit of "
                f"{self.max_pixels:,} (Settings.max_pixels)")

    def fingerprint(self, size: Size, fmt: Format) -> str:
        """A short hash of everything that shapes the bytes of one thumbnail.

        Only output fields count, so changing walking options or the worker count
        never invalidates thumbnails, and adding a size or a format leaves the
        others alone. All sizes count too: a smaller size is derived from a larger
        one, so its bytes depend on which larger sizes are made.
        """
        shaping = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.metadata.get("output")
            and not (f.metadata.get("newer") and getattr(self, f.name) == f.default)
        }
        shaping["size"] = [size.width, size.height]
        shaping["format"] = fmt.value
        shaping["sizes"] = [[s.width, s.height] for s in self.sizes]
        shaping["render_version"] = RENDER_VERSION
        if self.crop is Crop.ATTENTION:  # its saliency changed (2): remake only those
            shaping["attention_version"] = 2
        if self.hdr is Hdr.KEEP:  # what keep writes changed: remake those made with keep
            shaping["keep_version"] = KEEP_VERSION
        blob = json.dumps(shaping, sort_keys=True, default=_jsonable)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _jsonable(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"cannot fingerprint {value!r}")


@dataclass(frozen=True)
class Target:
    """One thumbnail to make: its size, format, and where it goes less the
    extension (with format auto the extension depends on the image)."""

    size: Size
    stem: str  # path of the output without extension
    format: Format = Format.AUTO
    #: PNG text chunks to write, (key, value), as they are.
    text: tuple[tuple[str, str], ...] = ()
    #: PNG text chunks whose value is a fact of the upright source image, (key,
    #: "width" | "height" | "mimetype"): render fills them in once it has read it.
    image_text: tuple[tuple[str, str], ...] = ()
    #: A file for its owner's eyes only (0600, in 0700 folders): a per-user cache.
    private: bool = False
    #: The output root that ``stem`` lies in: every write is checked against it
    #: (storage.Store.put). Empty: the stem's own folder is taken as the root.
    root: str = ""
    #: The files at this thumbnail's possible paths (below ``root``) that this tool
    #: made and may replace, with their identity when made (storage.Identity, or
    #: storage.ANY): anything else found at the path is left as it is.
    owned: tuple[tuple[str, tuple[int, int, int]], ...] = ()
    #: --adopt: whatever is at the path is taken as this tool's own and replaced.
    adopt: bool = False


@dataclass(frozen=True)
class Task:
    """One source image and every thumbnail still to make from it (one decode)."""

    source: str
    targets: tuple[Target, ...]
    settings: Settings
    #: Thumbnails of other paths of the same file (hard links): linked, not decoded again.
    links: tuple[Link, ...] = ()
    #: The source's modification time as the walk saw it (--deadline: newest first).
    mtime_ns: int = 0


@dataclass(frozen=True)
class Link:
    """A thumbnail for another path of a task's source file (a hard link: same
    device, inode, size and mtime). It is a hard link of the thumbnail of the same
    size and format made from the task's source, or of ``existing``, that one's
    up-to-date thumbnail from an earlier run; a copy where no link can be made."""

    source: str
    target: Target
    existing: Entry | None = None


class Entry(NamedTuple):
    """The fate of one thumbnail: one row of the manifest. (A tuple: a rerun of a
    large library makes one per photo and size.)"""

    source: str
    size: str
    status: Status
    output: str | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None
    bytes: int | None = None
    error: str | None = None
    #: A failure of the source itself: since when it fails, as it is (ISO 8601,
    #: UTC; see plan/state/ledger.py). Absent from the manifest's other entries.
    since: str | None = None
    #: Made from the preview embedded in the source (a HEIF's or a RAW's), not
    #: from the image: in the manifest only when true.
    preview: bool = False
    #: --placeholders: the source's "thumbhash blurhash #rrggbb" (render/placeholders.py),
    #: which the manifest gives once per source, in its sources.
    placeholder: str | None = None
    #: The identity of the file written (size, mtime_ns, inode), to record as the
    #: proof that this tool made it; not in the manifest.
    made: tuple[int, int, int] | None = None

    def as_dict(self) -> dict[str, Any]:
        d = self._asdict()
        d["status"] = self.status.value
        if self.since is None:
            del d["since"]
        if not self.preview:
            del d["preview"]
        del d["placeholder"]
        del d["made"]
        return d


@dataclass(frozen=True)
class Outcome:
    """What render() returns for one source: an entry per target, and one reason
    when the source failed as a whole."""

    source: str
    entries: tuple[Entry, ...]
    error: str | None = None
    #: (mtime_ns, size) of the source as stat'ed *before* it was read: what the
    #: thumbnails were made from. Recorded for the up-to-date check, so a source
    #: that changes while it is being read is made again next time.
    signature: tuple[int, int] | None = None
    #: Set when the run cannot usefully go on (the output disk is full or became
    #: read-only): the reason, worded for a person.
    halt: str | None = None
    #: How long render took, in the worker (--report's slowest files).
    seconds: float = 0.0
    #: The failure may pass on its own (permission denied, the file vanished,
    #: out of memory): kept out of the failure ledger.
    transient: bool = False
    #: What the libraries said while the source was made: Python warnings about
    #: the file and the lines decoders and encoders wrote to stderr (-v shows them).
    warnings: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.error is not None
