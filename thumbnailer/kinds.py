"""What a source is by its name (a still image, a video, a camera RAW file), and
whether the optional extra that reads it is installed. Walking and planning ask
this without importing Pillow or the extras themselves.
"""

from __future__ import annotations

import functools
import importlib.util

#: Videos, walked when PyAV (the [video] extra) is installed: a poster frame each.
VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi")

#: In the fingerprint of a video's thumbnails: the poster rule's version. 2: HDR
#: (PQ, HLG) frames are tone-mapped, so thumbnails made before are made again.
POSTER_MARK = "+poster2"

#: Camera RAW files, read through rawpy (the [raw] extra): walked whether or not
#: it is installed, so that each is named with what to install.
RAW_EXTENSIONS = (".cr2", ".cr3", ".nef", ".nrw", ".arw", ".dng", ".raf", ".orf", ".rw2",
                  ".pef", ".srw")

#: Each format's MIME type (the desktop cache records the source's; Pillow names
#: the still images' own).
MIME = {".mp4": "video/mp4", ".m4v": "video/x-m4v", ".mov": "video/quicktime",
        ".webm": "video/webm", ".mkv": "video/x-matroska", ".avi": "video/x-msvideo",
        ".cr2": "image/x-canon-cr2", ".cr3": "image/x-canon-cr3", ".nef": "image/x-nikon-nef",
        ".nrw": "image/x-nikon-nrw", ".arw": "image/x-sony-arw", ".dng": "image/x-adobe-dng",
        ".raf": "image/x-fuji-raf", ".orf": "image/x-olympus-orf",
        ".rw2": "image/x-panasonic-rw2", ".pef": "image/x-pentax-pef",
        ".srw": "image/x-samsung-srw"}


def is_video(path: str) -> bool:
    """By its name, as the walk chose it."""
    return path.lower().endswith(VIDEO_EXTENSIONS)


def is_raw(path: str) -> bool:
    """By its name, as the walk chose it."""
    return path.lower().endswith(RAW_EXTENSIONS)


def mime_type(path: str) -> str:
    """A video's or RAW file's MIME type by its name ("" for anything else)."""
    return MIME.get(path[path.rfind("."):].lower(), "")


@functools.cache
def videos_readable() -> bool:
    """Whether PyAV (the [video] extra) is installed: found, not imported."""
    return importlib.util.find_spec("av") is not None
