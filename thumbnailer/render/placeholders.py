"""--placeholders: what a page shows while a thumbnail loads, made from the
smallest thumbnail of a source. Three, for the three ways sites draw them:

- a ThumbHash (a few dozen bytes, base64): a blurred picture with its aspect
  ratio and alpha, which the gallery paints while its images load;
- a BlurHash (base83), through the ``blurhash`` package (the ``[placeholders]``
  extra), for the many sites and libraries that take that one;
- the dominant colour (``#rrggbb``), for a plain background.

ThumbHash is written here from its specification (evanw/thumbhash): the Python
packages on the index are unmaintained ports (one prints while decoding, one
pins Pillow < 11). A thumbnail is cut down to THUMBHASH_SIDE first, and the
DCT is taken separably, which keeps a source's placeholders to about 3 ms.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from typing import cast

from PIL import Image

#: The longest side the ThumbHash is taken at (the specification allows 100:
#: at most 7 luminance terms are kept, which 32 samples resolve).
THUMBHASH_SIDE = 32
#: The longest side the BlurHash is taken at.
BLURHASH_SIDE = 16
#: The BlurHash's terms across and down.
BLURHASH_TERMS = (4, 3)
#: Colours the dominant one is chosen among (median cut).
PALETTE = 8


def placeholder(im: Image.Image) -> str:
    """``"<thumbhash> <blurhash> #rrggbb"`` for the thumbnail ``im`` (any mode)."""
    small = _fit(im.convert("RGBA"), THUMBHASH_SIDE)
    return " ".join((thumbhash(small), blur(_fit(small, BLURHASH_SIDE)),
                     "#{:02x}{:02x}{:02x}".format(*dominant(small))))


def _pixels(im: Image.Image) -> list[tuple[int, ...]]:
    """Every pixel, row by row (getdata is deprecated from Pillow 13)."""
    flat = getattr(im, "get_flattened_data", None)
    return list(flat() if flat is not None else im.getdata())


def _fit(im: Image.Image, side: int) -> Image.Image:
    if max(im.size) <= side:
        return im
    scale = side / max(im.size)
    return im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))),
                     Image.Resampling.BOX)


def thumbhash(im: Image.Image) -> str:
    """The ThumbHash of an RGBA image of at most 100x100, base64."""
    w, h = im.size
    pixels = _pixels(im)
    alphas = [a / 255 for *_, a in pixels]
    total = sum(alphas)
    average = [sum(al * px[c] / 255 for al, px in zip(alphas, pixels, strict=True)) / total
               if total else 0.0 for c in range(3)]
    has_alpha = total < w * h
    limit = 5 if has_alpha else 7
    lx = max(1, round(limit * w / max(w, h)))
    ly = max(1, round(limit * h / max(w, h)))
    lum, yb, rg = [], [], []
    for al, (r8, g8, b8, _) in zip(alphas, pixels, strict=True):  # atop the average colour
        r = average[0] * (1 - al) + al * r8 / 255
        g = average[1] * (1 - al) + al * g8 / 255
        b = average[2] * (1 - al) + al * b8 / 255
        lum.append((r + g + b) / 3)
        yb.append((r + g) / 2 - b)
        rg.append(r - g)
    channels = [_encode(lum, w, h, max(3, lx), max(3, ly)), _encode(yb, w, h, 3, 3),
                _encode(rg, w, h, 3, 3)]
    if has_alpha:
        channels.append(_encode(alphas, w, h, 5, 5))
    (l_dc, _, l_scale), (p_dc, _, p_scale), (q_dc, _, q_scale) = channels[:3]
    landscape = w > h
    header24 = (round(63 * l_dc) | round(31.5 + 31.5 * p_dc) << 6
                | round(31.5 + 31.5 * q_dc) << 12 | round(31 * l_scale) << 18 | has_alpha << 23)
    header16 = ((ly if landscape else lx) | round(63 * p_scale) << 3
                | round(63 * q_scale) << 9 | landscape << 15)
    out = bytearray([header24 & 255, header24 >> 8 & 255, header24 >> 16,
                     header16 & 255, header16 >> 8])
    if has_alpha:
        a_dc, _, a_scale = channels[3]
        out.append(round(15 * a_dc) | round(15 * a_scale) << 4)
    terms = [round(15 * v) for _, ac, _ in channels for v in ac]
    terms += [0] * (len(terms) % 2)
    out += bytes(low | high << 4 for low, high in zip(terms[::2], terms[1::2], strict=True))
    return base64.b64encode(bytes(out)).decode("ascii")


def _encode(channel: Sequence[float], w: int, h: int, nx: int, ny: int
            ) -> tuple[float, list[float], float]:
    """(DC term, AC terms scaled into 0..1, their scale): the cosine terms with
    cx * ny < nx * (ny - cy), row-major, as ThumbHash orders them."""
    cos_x = [[math.cos(math.pi / w * cx * (x + 0.5)) for x in range(w)] for cx in range(nx)]
    cos_y = [[math.cos(math.pi / h * cy * (y + 0.5)) for y in range(h)] for cy in range(ny)]
    rows = [channel[y * w:(y + 1) * w] for y in range(h)]
    across = [[sum(map(float.__mul__, row, cos_x[cx])) for row in rows] for cx in range(nx)]
    dc, ac = 0.0, []
    for cy in range(ny):
        cx = 0
        while cx * ny < nx * (ny - cy):
            f = sum(map(float.__mul__, across[cx], cos_y[cy])) / (w * h)
            if cx or cy:
                ac.append(f)
            else:
                dc = f
            cx += 1
    scale = max(map(abs, ac), default=0.0)
    return dc, [0.5 + 0.5 / scale * f for f in ac] if scale else ac, scale


def blur(im: Image.Image) -> str:
    """The BlurHash of the picture over black where it is transparent, as sites
    draw it behind an image."""
    import blurhash

    rgb = Image.new("RGB", im.size)
    rgb.paste(im, mask=im.getchannel("A"))
    data = _pixels(rgb)
    rows = [data[y * im.width:(y + 1) * im.width] for y in range(im.height)]
    return str(blurhash.encode(rows, *BLURHASH_TERMS))


def dominant(im: Image.Image) -> tuple[int, int, int]:
    """The commonest of PALETTE median-cut colours of the visible pixels of a
    small RGBA image (the average can be a colour the picture does not have)."""
    pixels = _pixels(im)
    seen = [p[:3] for p in pixels if p[3] >= 128] or [p[:3] for p in pixels]
    strip = Image.new("RGB", (len(seen), 1))
    strip.putdata(seen)
    quantized = strip.quantize(PALETTE, Image.Quantize.MEDIANCUT)
    counts = quantized.getcolors() or [(1, 0)]
    index = cast(int, max(counts, key=lambda c: (c[0], -cast(int, c[1])))[1])  # palette indices
    palette: list[int] = quantized.getpalette() or [0, 0, 0]
    return (palette[3 * index], palette[3 * index + 1], palette[3 * index + 2])
