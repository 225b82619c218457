"""An SVG drawing and a PDF page to 256 px: ``python bench/vector.py``.

Makes, once (bench/corpus/vector), an SVG of 2,000 shapes (circles, rectangles,
curves with gradients, some text) declaring 1600 x 1200 px, the same declaring
20000 x 20000, and an A4 PDF holding a 300 dpi scan (a 2480 x 3508 JPEG). Then
times render() of a 256 px thumbnail of each, in this process, against what a
script does: resvg at the drawing's own size, and PDFium at 200 dpi (pdf2image's
default), then Pillow's resize. The median of 7 runs.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from corpus import ROOT
from PIL import Image, ImageDraw, ImageFilter

from thumbnailer.render import render, warm_up
from thumbnailer.spec import Settings, Size, Target, Task

FOLDER = ROOT / "vector"


def drawing(size: tuple[int, int]) -> str:
    rng = random.Random(7)
    shapes = ['<defs><linearGradient id="g"><stop offset="0" stop-color="#08c"/>'
              '<stop offset="1" stop-color="#fc0"/></linearGradient></defs>',
              '<rect width="1600" height="1200" fill="url(#g)"/>']
    for i in range(2000):
        x, y, r = rng.uniform(0, 1600), rng.uniform(0, 1200), rng.uniform(4, 60)
        colour = f"#{rng.randrange(1 << 24):06x}"
        if i % 3 == 0:
            shapes.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{colour}" '
                          'fill-opacity="0.6"/>')
        elif i % 3 == 1:
            shapes.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{r * 2:.1f}" height="{r:.1f}" '
                          f'fill="{colour}" stroke="#000" stroke-width="1"/>')
        else:
            shapes.append(f'<path d="M{x:.1f},{y:.1f} q{r:.1f},{-r:.1f} {2 * r:.1f},0 '
                          f't{2 * r:.1f},0" fill="none" stroke="{colour}" stroke-width="3"/>')
    shapes += [f'<text x="40" y="{100 + 120 * i}" font-size="80" font-family="sans-serif">'
               f"Line {i} of text</text>" for i in range(8)]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size[0]}" height="{size[1]}" '
            f'viewBox="0 0 1600 1200">{"".join(shapes)}</svg>')


def make() -> dict[str, Path]:
    FOLDER.mkdir(parents=True, exist_ok=True)
    paths = {"svg": FOLDER / "shapes.svg", "svg-huge": FOLDER / "shapes-20000.svg",
             "pdf": FOLDER / "scan-a4.pdf"}
    paths["svg"].write_text(drawing((1600, 1200)))
    paths["svg-huge"].write_text(drawing((20000, 20000)))
    if not paths["pdf"].exists():
        rng = random.Random(3)
        page = Image.new("RGB", (2480, 3508), (250, 248, 240))
        draw = ImageDraw.Draw(page)
        for line in range(60):  # lines of "text": dark strokes of random lengths
            y = 200 + line * 52
            x = 200
            while x < 2200:
                w = rng.randrange(40, 220)
                draw.rectangle((x, y, min(x + w, 2280), y + 28), fill=(30, 30, 40))
                x += w + 30
        page = page.filter(ImageFilter.GaussianBlur(1.2))
        page.save(paths["pdf"], resolution=300.0, quality=85)
    return paths


def median(work: Callable[[], object]) -> float:
    runs = []
    for _ in range(7):
        started = time.perf_counter()
        work()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    import pypdfium2
    import resvg_py

    paths = make()
    rows = []
    with tempfile.TemporaryDirectory() as out:
        settings = Settings(output=out, sizes=(Size(256, 256),), max_pixels=500_000_000)
        warm_up(settings)
        for label, key in (("SVG, 2,000 shapes and text, 1600 x 1200", "svg"),
                           ("the same SVG declaring 20000 x 20000", "svg-huge"),
                           ("PDF, A4 page of a 300 dpi scan", "pdf")):
            task = Task(str(paths[key]), (Target(Size(256, 256), f"{out}/{key}"),), settings)
            assert render(task).error is None
            rows.append((label, median(lambda task=task: render(task))))

        def whole_svg() -> None:
            png = resvg_py.svg_to_bytes(svg_path=str(paths["svg"]))
            import io

            im = Image.open(io.BytesIO(png))
            im.thumbnail((256, 256), Image.Resampling.LANCZOS)

        def whole_pdf() -> None:
            document = pypdfium2.PdfDocument(str(paths["pdf"]))
            im = document[0].render(scale=200 / 72).to_pil()
            im.thumbnail((256, 256), Image.Resampling.LANCZOS)
            document.close()

        rows.append(("the SVG drawn at its own size by resvg, then a resize", median(whole_svg)))
        rows.append(("the PDF page drawn at 200 dpi by PDFium, then a resize", median(whole_pdf)))
    print("| to 256 px (median of 7) | time |\n|---|---:|")
    for label, seconds in rows:
        print(f"| {label} | {seconds * 1000:,.0f} ms |")


if __name__ == "__main__":
    main()
