"""What every reader takes and gives: the protocol a kind of source implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Protocol

from ..geometry import Need
from ..spec import Settings

if TYPE_CHECKING:
    from PIL import Image

#: What a reader reads: a local path, or an object's bytes in memory.
Readable = str | IO[bytes]


@dataclass
class Picture:
    """A source read: its pixels, loaded, ``scale`` times smaller than the
    picture's ``size`` (w, h, in the axes the pixels are held in), and the EXIF
    ``orientation`` left to apply to them (render turns the small thumbnails,
    which is cheaper than turning the decoded image)."""

    image: Image.Image
    size: tuple[int, int]
    scale: float = 1.0
    orientation: int = 1
    #: An embedded preview was decoded instead of the image (the manifest says so).
    preview: bool = False
    #: The source's MIME type, where the reader knows it.
    mime: str = ""
    #: A PQ or HLG still's gain from its SDR to its HDR rendition, per pixel, in
    #: stops (a numpy array of the pixels' height x width: read/hdr.py's
    #: to_sdr), kept for its gain map (Settings.hdr=keep).
    stops: Any = None


class Reader(Protocol):
    """A kind of source's reader: a module of this package (kinds.Kind.reader)."""

    def read(self, fp: Readable, need: Need, s: Settings, previews: bool = True) -> Picture:
        """The picture at the smallest size that serves ``need``, refused (RenderError)
        over the settings' limits before anything large is decoded. ``previews``
        off: decode the image itself, never an embedded preview."""
        ...

    def memory(self, fp: Readable, need: Need, s: Settings) -> int:
        """Bytes reading it holds at its peak, from its header alone, beyond what
        every task holds; 0 when it will be refused, or the header cannot be read
        (it then fails before it decodes anything)."""
        ...
