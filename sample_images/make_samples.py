"""Regenerate the bundled sample images: ``python sample_images/make_samples.py``.

Photo-like pictures drawn with Pillow alone, from a fixed seed, so anyone can
rebuild them and the licence question never arises (they are CC0). Each one
exercises something the tool must get right; see README.md beside this file.
"""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent


def scene(width: int, height: int, seed: int, sun=(255, 214, 120)) -> Image.Image:
    """A landscape: graded sky, a sun, layered hills, grain like a camera's."""
    rng = random.Random(seed)
    sky = Image.linear_gradient("L").resize((width, height))
    top, horizon = (40, 90, 170), (250, 190, 150)
    bands = [
        sky.point(lambda v, a=a, b=b: a + (b - a) * v // 255)
        for a, b in zip(top, horizon, strict=True)
    ]
    im = Image.merge("RGB", bands)
    draw = ImageDraw.Draw(im)
    r = height // 9
    cx, cy = int(width * rng.uniform(0.55, 0.8)), int(height * 0.35)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=sun)
    for layer in range(4):
        base = height * (0.55 + 0.1 * layer)
        shade = (30 + 25 * layer, 70 + 30 * layer - 10 * layer * layer, 40 + 10 * layer)
        points, x = [(0, height)], 0
        y = base
        while x <= width:
            y = min(height, max(height * 0.4, y + rng.uniform(-1, 1) * height * 0.03))
            points.append((x, y))
            x += width // 40
        points.append((width, height))
        draw.polygon(points, fill=shade)
    for _ in range(60):  # trees and rocks
        x, y = rng.randrange(width), rng.randrange(int(height * 0.6), height)
        s = rng.randrange(height // 80, height // 25)
        draw.ellipse((x - s, y - 2 * s, x + s, y), fill=(20, rng.randrange(50, 90), 30))
    im = im.filter(ImageFilter.GaussianBlur(1.2))
    grain = Image.frombytes("L", (width, height), rng.randbytes(width * height))
    grain = grain.point(lambda v: 118 + v // 25)  # +-5 levels around mid grey
    lighter = im.point(lambda v: min(255, v + 6))
    return Image.composite(im, lighter, grain.point(lambda v: 255 if v > 123 else 0))


def up_arrow(im: Image.Image) -> None:
    """Draw a white arrow pointing up, so an upright thumbnail is obvious at a glance."""
    draw = ImageDraw.Draw(im)
    w, h = im.size
    cx, top, bottom = w // 2, h // 5, h * 4 // 5
    head = [(cx, top), (cx - w // 8, top + h // 5), (cx + w // 8, top + h // 5)]
    draw.polygon(head, fill="white")
    draw.rectangle((cx - w // 30, top + h // 5, cx + w // 30, bottom), fill="white")


def main() -> None:
    (HERE / "travel" / "2024").mkdir(parents=True, exist_ok=True)

    scene(2400, 1600, seed=1).save(HERE / "landscape.jpg", quality=88)

    # Stored sideways (landscape pixels) with EXIF orientation 6, as phones do:
    # the thumbnail must come out portrait with the arrow pointing up.
    upright = scene(1200, 1600, seed=2)
    up_arrow(upright)
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(HERE / "phone_portrait_exif6.jpg", quality=88, exif=exif.tobytes())

    # A logo with a transparent background and soft (anti-aliased) edges.
    logo = Image.new("RGBA", (800, 800), (0, 0, 0, 0))
    draw = ImageDraw.Draw(logo)
    draw.ellipse((80, 80, 720, 720), fill=(220, 60, 40, 255))
    draw.ellipse((250, 250, 550, 550), fill=(0, 0, 0, 0))
    draw.rectangle((360, 40, 440, 760), fill=(30, 90, 200, 200))
    logo.filter(ImageFilter.GaussianBlur(1)).save(HERE / "logo_transparent.png", optimize=True)

    # A palette GIF, animated over three frames (the first frame is the thumbnail).
    frames = [
        scene(640, 480, seed=10 + i, sun=(255, 120 + 40 * i, 80))
        .quantize(64, dither=Image.Dither.NONE)
        for i in range(3)
    ]
    frames[0].save(HERE / "animated_palette.gif", save_all=True, append_images=frames[1:],
                   duration=400, loop=0)

    scene(1600, 1000, seed=3, sun=(255, 150, 90)).save(HERE / "sunset.webp", quality=85)

    # CMYK JPEG, as print workflows produce: must come out as correct sRGB.
    scene(1200, 900, seed=4).convert("CMYK").save(HERE / "print_cmyk.jpg", quality=88)

    # Nested folders are mirrored in the output.
    scene(2000, 1500, seed=5).save(HERE / "travel" / "2024" / "coast.jpg", quality=88)
    grey = scene(1000, 800, seed=6).convert("L").resize((1000, 800))
    grey16 = grey.point(lambda v: v * 257, "I").convert("I;16")
    grey16.save(HERE / "travel" / "scan_16bit.png")


if __name__ == "__main__":
    main()
