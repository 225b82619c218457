"""The kinds of source thumbnailer reads, in one table: what each is called,
how it is recognised (by its name, or by its content), which optional extra
reads it, and which module of this package is its reader.

Walking and planning ask this table without importing Pillow or any extra;
``thumbnailer.read`` imports a kind's reader when a file of that kind is met.
A new kind is one module beside this one and one row below.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..spec import Settings

#: The file name extensions a still image is walked by, for each default decoder
#: (named files are tried whatever their name; an allowed extra format adds
#: Pillow's own list, below).
DECODER_EXTENSIONS = {
    "JPEG": (".jpg", ".jpeg", ".jpe", ".jfif", ".mpo"),
    "PNG": (".png", ".apng"),
    "GIF": (".gif",),
    "WEBP": (".webp",),
    "TIFF": (".tif", ".tiff"),
    "BMP": (".bmp", ".dib"),
    "AVIF": (".avif",),
    "HEIF": (".heic", ".heif", ".hif"),
    "JXL": (".jxl",),
}

#: The extensions of Pillow's other decoders (Image.registered_extensions() of
#: Pillow 13), walked when their format is allowed. Kept here as data so that
#: walking needs no Pillow; a format missing from it is still read when its files
#: are named on the command line.
OTHER_DECODER_EXTENSIONS = {
    "BLP": (".blp",),
    "BUFR": (".bufr",),
    "CUR": (".cur",),
    "DCX": (".dcx",),
    "DDS": (".dds",),
    "DIB": (".dib",),
    "EPS": (".ps", ".eps"),
    "FITS": (".fit", ".fits"),
    "FLI": (".fli", ".flc"),
    "FTEX": (".ftc", ".ftu"),
    "GBR": (".gbr",),
    "GRIB": (".grib",),
    "HDF5": (".h5", ".hdf"),
    "ICNS": (".icns",),
    "ICO": (".ico",),
    "IM": (".im",),
    "IPTC": (".iim",),
    "JPEG2000": (".jp2", ".j2k", ".jpc", ".jpf", ".jpx", ".j2c"),
    "MPEG": (".mpg", ".mpeg"),
    "MSP": (".msp",),
    "PALM": (".palm",),
    "PCD": (".pcd",),
    "PCX": (".pcx",),
    "PDF": (".pdf",),
    "PIXAR": (".pxr",),
    "PPM": (".pbm", ".pgm", ".ppm", ".pnm", ".pfm"),
    "PSD": (".psd",),
    "QOI": (".qoi",),
    "SGI": (".bw", ".rgb", ".rgba", ".sgi"),
    "SUN": (".ras",),
    "TGA": (".tga", ".icb", ".vda", ".vst"),
    "WMF": (".wmf", ".emf"),
    "XBM": (".xbm",),
    "XPM": (".xpm",),
}

#: Videos, walked when PyAV (the [video] extra) is installed: a poster frame each.
VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi")

#: In the fingerprint of a video's thumbnails: the poster rule's version, so that
#: thumbnails made by an older rule are made again. 2: HDR (PQ, HLG) frames are
#: tone-mapped. 3: the frame nearest a tenth of the duration, not the keyframe
#: at or before it, and past a blank one.
POSTER_MARK = "+poster3"

#: In the fingerprint of the thumbnails of stills in the formats that carry PQ
#: and HLG pictures (HEIF, AVIF, JPEG XL), walked by these names: the HDR rule's
#: version. 1: PQ and HLG stills are tone-mapped (read/hdr.py), so that those
#: made before, shown as their code values, are made again once. Which of them
#: is HDR is known only by reading it: a mark by name costs no read on an
#: unchanged rerun, and leaves JPEG, PNG and every other photo as they are.
HDR_MARK = "+hdr1"
HDR_EXTENSIONS = frozenset((".heic", ".heif", ".hif", ".avif", ".jxl"))

#: Camera RAW files, read through rawpy (the [raw] extra): walked whether or not
#: it is installed, so that each is named with what to install.
RAW_EXTENSIONS = (".cr2", ".cr3", ".nef", ".nrw", ".arw", ".dng", ".raf", ".orf", ".rw2",
                  ".pef", ".srw")


@dataclass(frozen=True, eq=False)  # each kind is one object: equal only to itself
class Kind:
    """One kind of source, and what the rest of the package may know of it."""

    #: As a person says it, in messages.
    name: str
    #: The module of thumbnailer.read that reads it.
    reader: str
    #: The names it is walked by; () for a kind known by its content, which the
    #: walk chooses by the Pillow formats allowed (plan/sources).
    extensions: tuple[str, ...] = ()
    #: The optional extra that reads it, and the module that extra installs.
    extra: str | None = None
    needs: str | None = None
    #: For a kind Pillow reads once a plugin is registered (recognised by content,
    #: after Pillow's own formats): the Pillow format the plugin adds, and the
    #: module of this package that recognises its files and registers the plugin.
    pillow: str | None = None
    plugin: str | None = None
    #: A picture made from something else (a RAW developed, a video's poster):
    #: beside a photo of the same name, it is an expected pair (a camera's RAW+JPEG,
    #: a phone's Live Photo), not a collision to warn about.
    companion: bool = False
    #: Added to the fingerprint of its thumbnails: the version of its own rule.
    mark: str = ""
    #: The Settings flag that has it walked (None: always walked), and whether it
    #: is walked when its extra is missing (each file is then named with what to
    #: install) or left out as if it were not there.
    switch: str | None = None
    walked_when_missing: bool = False
    #: Read by seeking to what it needs (a video's poster frame: a little of a
    #: large file), so the file-size limit does not apply.
    seeks: bool = False
    #: MIME types by extension (Pillow names those of the formats it reads).
    mime: Mapping[str, str] = field(default_factory=dict)


#: A still image in any format Pillow reads (with the format allowed).
IMAGE = Kind("image", "image")
#: HEIC/HEIF through pillow-heif: a phone's photo, often with embedded previews.
HEIF = Kind("HEIC/HEIF image", "image", extra="heif", needs="pillow_heif", pillow="HEIF",
            plugin="heif")
#: JPEG XL through pillow-jxl-plugin, whose decoder applies the orientation itself.
JXL = Kind("JPEG XL image", "image", extra="jxl", needs="pillow_jxl", pillow="JXL",
           plugin="jxl")
RAW = Kind("camera RAW file", "raw", RAW_EXTENSIONS, extra="raw", needs="rawpy", companion=True,
           switch="raw", walked_when_missing=True,
           mime={".cr2": "image/x-canon-cr2", ".cr3": "image/x-canon-cr3",
                 ".nef": "image/x-nikon-nef", ".nrw": "image/x-nikon-nrw",
                 ".arw": "image/x-sony-arw", ".dng": "image/x-adobe-dng",
                 ".raf": "image/x-fuji-raf", ".orf": "image/x-olympus-orf",
                 ".rw2": "image/x-panasonic-rw2", ".pef": "image/x-pentax-pef",
                 ".srw": "image/x-samsung-srw"})
VIDEO = Kind("video", "video", VIDEO_EXTENSIONS, extra="video", needs="av", companion=True,
             mark=POSTER_MARK, switch="video", seeks=True,
             mime={".mp4": "video/mp4", ".m4v": "video/x-m4v", ".mov": "video/quicktime",
                   ".webm": "video/webm", ".mkv": "video/x-matroska",
                   ".avi": "video/x-msvideo"})

KINDS = (IMAGE, HEIF, JXL, RAW, VIDEO)

#: Kinds a Pillow plugin reads, in the order a file Pillow did not take is tried.
PLUGGED = (JXL, HEIF)

_BY_EXTENSION = {ext: kind for kind in KINDS for ext in kind.extensions}


def kind_of(path: str) -> Kind:
    """The kind of the source at ``path`` by its name, as the walk chose it; IMAGE
    for everything known by content (Pillow's formats and the plugged kinds)."""
    return _BY_EXTENSION.get(path[path.rfind("."):].lower(), IMAGE)


def hdr_mark(path: str) -> str:
    """What the fingerprint of the thumbnails of ``path`` adds, besides its
    kind's mark: HDR_MARK for a still in a format that carries PQ and HLG."""
    return HDR_MARK if path[path.rfind("."):].lower() in HDR_EXTENSIONS else ""


def mime_type(path: str) -> str:
    """A source's MIME type by its name ("" when Pillow names it, or nothing does)."""
    ext = path[path.rfind("."):].lower()
    return _BY_EXTENSION.get(ext, IMAGE).mime.get(ext, "")


#: The names still images are walked by with the default decoders.
IMAGE_EXTENSIONS = frozenset(ext for exts in DECODER_EXTENSIONS.values() for ext in exts)


def walked(settings: Settings) -> frozenset[str]:
    """The names a walk with ``settings`` takes: those of the decoders allowed,
    and of the kinds known by name that the settings switch on."""
    return image_extensions(settings.decoders) | frozenset(
        ext for kind in KINDS if kind.switch and getattr(settings, kind.switch)
        and (kind.walked_when_missing or installed(kind))
        for ext in kind.extensions)


def image_extensions(decoders: Sequence[str] | None) -> frozenset[str]:
    """The names still images are walked by with these decoders (None: all of Pillow's)."""
    if decoders is None:
        return IMAGE_EXTENSIONS | {e for exts in OTHER_DECODER_EXTENSIONS.values() for e in exts}
    return IMAGE_EXTENSIONS | {e for name in decoders
                               for e in OTHER_DECODER_EXTENSIONS.get(name, ())}


@functools.cache
def installed(kind: Kind) -> bool:
    """Whether the extra that reads ``kind`` is installed: found, not imported."""
    return kind.needs is None or importlib.util.find_spec(kind.needs) is not None
