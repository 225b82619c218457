"""Encoding and writing one thumbnail: alpha settled and the mode the encoder
takes (formats.py says what each takes), the colour profile, EXIF and PNG text
it carries, and the write through the storage seam: whole or absent, never
over a file thumbnailer did not make.
"""

from __future__ import annotations

import errno
import io
from collections.abc import Callable

from PIL import Image

from ..formats import row
from ..read.pillow import ORIENTATION_TAG, register_encoder
from ..spec import ColourSpace, Entry, Format, Settings, Status, Target
from ..storage import NotOurs, Unsafe, placement, store
from .colour import keeps_p3, p3_bytes, srgb_bytes


def for_format(im: Image.Image, fmt: Format, s: Settings) -> tuple[Image.Image, Format]:
    """Alpha settled and the mode the encoder takes: returns (image, format), with
    format auto resolved to JPEG or PNG."""
    low = im.getchannel("A").getextrema()[0] if im.mode in ("RGBA", "LA") else 255
    translucent = isinstance(low, (int, float)) and low < 255
    if fmt is Format.AUTO:
        fmt = Format.PNG if translucent else Format.JPEG
    encoder = row(fmt)
    if translucent and not encoder.alpha:
        background = Image.new("RGBA", im.size, (*s.background[:3], 255))
        background.alpha_composite(im.convert("RGBA"))
        im = background
    grey = im.mode in ("L", "LA")
    if translucent and encoder.alpha:
        wanted = "LA" if grey else "RGBA"
    else:
        wanted = "L" if grey else "RGB"
    if wanted not in encoder.modes:  # WebP and AVIF have no greyscale
        wanted = {"L": "RGB", "LA": "RGBA"}[wanted]
    if im.mode != wanted:
        im = im.convert(wanted)
    return im, fmt


#: Write errors that will hit every other image too: stop the run instead of
#: failing 100,000 images one by one.
_HALTING = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


def text(target: Target, facts: dict[str, str]) -> dict[str, str]:
    """The target's PNG text chunks, with the image's facts filled in (an unknown
    one, such as the MIME type of an unusual format, is left out)."""
    chunks = dict(target.text)
    for key, fact in target.image_text:
        if facts.get(fact):
            chunks[key] = facts[fact]
    return chunks


def save(source: str, target: Target, im: Image.Image, fmt: Format, profile: bytes | None,
          exif: Image.Exif | None, s: Settings, chunks: dict[str, str] | None = None,
          animation: tuple[list[Image.Image], list[int], int] | None = None,
          finish: Callable[[bytes], bytes] | None = None) -> tuple[Entry, str | None]:
    """Encode and write one thumbnail; returns (entry, reason to halt the run or None).
    ``animation`` is (the frames after ``im``, durations, loop) for an animated one;
    ``finish`` turns the encoded bytes into the file's (a gain map joined on)."""
    encoder = row(fmt)
    if encoder.plugin is not None:  # an extra's encoder: registered with its reader
        register_encoder(encoder.plugin[0])
    output = f"{target.stem}.{encoder.extension}"
    if animation is not None:
        rest, durations, loop = animation
        params = {"save_all": True, "append_images": rest, "duration": durations,
                  "loop": loop, **encoder.moving(s.quality)}
    else:
        params = encoder.still(s.quality, im.size)
    if profile and im.mode in ("RGB", "RGBA"):
        # The pixels are sRGB (or Display P3) now; say so, since the source declared a profile.
        p3 = s.colour_space is ColourSpace.P3 and keeps_p3(profile, im.mode)
        params["icc_profile"] = p3_bytes() if p3 else srgb_bytes()
    if exif is not None:
        exif[ORIENTATION_TAG] = 1  # the pixels are upright now
        params["exif"] = exif.tobytes()
    if chunks:  # the desktop cache's spec chunks, say
        from PIL import PngImagePlugin

        info = PngImagePlugin.PngInfo()
        for key, value in chunks.items():
            info.add_text(key, value)
        params["pnginfo"] = info
    where, root, rel, expect = placement(output, target.root, target.owned, target.adopt)
    try:  # whole or absent: a temporary moved into place, or one PUT; never over a stranger
        if finish is None:
            made = where.put(root, rel, lambda f: im.save(f, format=encoder.pillow, **params),
                             expect, target.private)
        else:
            encoded = io.BytesIO()
            im.save(encoded, format=encoder.pillow, **params)
            whole = finish(encoded.getvalue())
            made = where.put(root, rel, lambda f: f.write(whole), expect, target.private)
    except (NotOurs, Unsafe) as e:  # refused: this file only, nothing written
        return Entry(source, target.size.label, Status.FAILED, error=e.strerror), None
    except OSError as e:
        reason = f"cannot write {output}: {e.strerror or e}"
        if e.errno in (errno.EEXIST, errno.ENOTDIR):
            reason = _file_in_the_way(output) or reason
        halt = reason if e.errno in _HALTING else None
        return Entry(source, target.size.label, Status.FAILED, error=reason), halt
    entry = Entry(source, target.size.label, Status.CREATED, output, fmt.value,
                  im.width, im.height, made.size, made=made)
    return entry, None


def _file_in_the_way(output: str) -> str | None:
    """Why ``output`` cannot be written when a folder it needs is a file: most
    often the old thumbnail of a source file that became a folder of its name
    (src/a.jpg made out/a.jpg; now src/a.jpg/b.jpg wants out/a.jpg/b.jpg).
    Nothing is deleted here: --prune removes that file once no source names it,
    and only if this tool made it."""
    where = store(output)
    folder = where.parent(output)
    while True:
        if where.is_file(folder):
            return (f"cannot write {output}: {folder} is a file where a folder must be; "
                    "if it is an old thumbnail (its source is now a folder), run with "
                    "Options.prune to remove it")
        up = where.parent(folder)
        if up == folder:
            return None
        folder = up
