"""Reading sources: one reader per kind of source, and the table that names them.

``kinds.py`` is the table (what each kind is called, how it is recognised, which
extra reads it, which module reads it); each reader is a module here with
``read`` and ``memory`` (base.Reader): ``image`` (whatever Pillow opens: JPEG's
shrink-on-load and EXIF thumbnails in ``draft``, the plugged kinds HEIF and
JPEG XL once ``heif`` or ``jxl`` registers their plugin), ``raw`` and
``video``. ``pillow`` holds what Pillow's readers share: the allowed decoders,
the pixel limit, broken data, warnings, and the words for what a reader raises.

Render calls ``read`` once per source; the memory estimate (``cost``) asks the
same readers. Neither asks what kind a source is: the table answers. Importing
this package imports neither Pillow nor an extra (the walk and the plan use the
table): a reader is imported when a file of its kind is first met.
"""

from __future__ import annotations

import importlib
from typing import cast

from ..geometry import Need
from ..spec import Settings
from .base import Picture, Readable, Reader
from .errors import RenderError, StalePreview, describe, transient
from .kinds import KINDS, Kind, kind_of, mime_type

__all__ = [
    "KINDS", "Kind", "Picture", "Readable", "Reader", "RenderError", "StalePreview",
    "describe", "kind_of", "mime_type", "read", "reader", "transient",
]


def reader(kind: Kind) -> Reader:
    """The reader of ``kind``, imported when a file of that kind is first met."""
    return cast(Reader, importlib.import_module(f"{__name__}.{kind.reader}"))


def read(source: str, fp: Readable, need: Need, s: Settings, previews: bool = True) -> Picture:
    """The picture of ``source`` (read from ``fp``: its path, or its bytes) at the
    smallest size that serves ``need``, by the reader of its kind. An embedded
    preview that turns out not to be the image's is dropped, and the image
    itself decoded (an object's bytes are read again from the start)."""
    kind = kind_of(source)
    try:
        return reader(kind).read(fp, need, s, previews)
    except StalePreview:
        if not previews:
            raise
        if not isinstance(fp, str):
            fp.seek(0)
        return reader(kind).read(fp, need, s, previews=False)
