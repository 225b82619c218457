"""PDF documents through PDFium (the [pdf] extra): the first page, drawn on white
at the size the thumbnails need, its page size judged by --max-pixels. The PDFs
are written here: by Pillow, from a picture (so the thumbnail can be compared
with it), and by pypdfium2 (empty pages of any size).
"""

import re
import sys

import pypdfium2 as pdfium
import pytest
from click.testing import CliRunner
from helpers import channel_difference
from PIL import Image
from test_svg import drawing, picture

from thumbnailer import cli
from thumbnailer.geometry import Need
from thumbnailer.read import pdf as pdf_reader
from thumbnailer.read.cost import BASE, decode_cost
from thumbnailer.read.errors import RenderError
from thumbnailer.read.kinds import PDF, kind_of, mime_type
from thumbnailer.read.pillow import codec_versions
from thumbnailer.render import render
from thumbnailer.spec import Fit, Settings, Size, Target, Task


def thumb(source, folder, size=128, **settings):
    s = Settings(output=str(folder), sizes=(Size(size, size),), **settings)
    outcome = render(Task(str(source), (Target(Size(size, size), str(folder / "t")),), s))
    return outcome, outcome.entries[0]


def need(size=256, upscale=False):
    return Need((Size(size, size),), Fit.CONTAIN, upscale)


def empty_pdf(path, size, rotation=0):
    """A PDF of one empty page of ``size`` points."""
    document = pdfium.PdfDocument.new()
    page = document.new_page(*size)
    page.set_rotation(rotation)
    document.save(str(path))
    return path


def test_the_first_page_comes_back_as_the_picture_it_holds(tmp_path):
    """The issue's "done when": within 12/255 of the picture on the first page
    (Pillow writes one page per image, at 72 dpi: 400 x 300 points)."""
    source = tmp_path / "doc.pdf"
    picture().save(source, save_all=True, append_images=[Image.new("RGB", (400, 300), "black")])
    outcome, entry = thumb(source, tmp_path)
    assert outcome.error is None, outcome.error
    with Image.open(entry.output) as made:
        assert made.format == "JPEG" and made.size == (128, 96)
        assert channel_difference(made, picture().resize(made.size, Image.LANCZOS)) < 12


def test_it_is_drawn_at_the_pixels_needed_never_at_its_own_size(tmp_path, monkeypatch):
    asked = []
    real = pdfium.PdfPage.render

    def spy(page, **kwargs):
        asked.append(kwargs["scale"])
        return real(page, **kwargs)

    monkeypatch.setattr(pdfium.PdfPage, "render", spy)
    big = empty_pdf(tmp_path / "big.pdf", (20000, 15000))
    read = pdf_reader.read(str(big), need(256), Settings(max_pixels=500_000_000))
    assert asked == [pytest.approx(384 / 20000)] and read.image.size == (384, 288)
    assert read.size == (20000, 15000) and read.scale == pytest.approx(20000 / 384)
    # A small page: its own size with the gap (the picture is its own at 72 dpi).
    source = tmp_path / "doc.pdf"
    picture().save(source)
    asked.clear()
    read = pdf_reader.read(str(source), need(256), Settings())
    assert asked == [pytest.approx(256 * 1.5 / 400)] and read.size == (400, 300)
    # --upscale: drawn sharp at the size asked.
    asked.clear()
    assert pdf_reader.read(str(source), need(1024, upscale=True), Settings()).image.size == (
        1536, 1152)


def test_max_pixels_judges_the_page_and_the_size_drawn(tmp_path):
    huge = empty_pdf(tmp_path / "huge.pdf", (30000, 30000))
    outcome, _ = thumb(huge, tmp_path)
    assert outcome.error == ("a page of 30000x30000 is 900,000,000 pixels, over the limit of "
                             "178,956,970 (Settings.max_pixels)")
    small = empty_pdf(tmp_path / "small.pdf", (400, 300))
    outcome, _ = thumb(small, tmp_path, size=4000, upscale=True, max_pixels=1_000_000)
    assert outcome.error == ("drawn at 6000x4500 is 27,000,000 pixels, over the limit of "
                             "1,000,000 (Settings.max_pixels)")


def test_a_page_is_drawn_on_white_and_turned_as_shown(tmp_path):
    """An empty page is white paper, not a transparent thumbnail; a page with
    /Rotate 90 is shown turned, as viewers show it."""
    _, entry = thumb(empty_pdf(tmp_path / "blank.pdf", (400, 300)), tmp_path)
    with Image.open(entry.output) as made:
        assert made.format == "JPEG" and made.getextrema() == ((255, 255),) * 3
    source = tmp_path / "doc.pdf"
    picture().save(source)
    document = pdfium.PdfDocument(str(source))
    document[0].set_rotation(90)
    document.save(str(tmp_path / "turned.pdf"))
    document.close()
    _, entry = thumb(tmp_path / "turned.pdf", tmp_path / "t2")
    with Image.open(entry.output) as made:
        turned = picture().transpose(Image.Transpose.ROTATE_270)  # 90 clockwise
        assert made.size == (96, 128)
        assert channel_difference(made, turned.resize(made.size, Image.LANCZOS)) < 12


@pytest.mark.parametrize(("data", "error"), [
    (b"%PDF-1.4\nnothing else", "a damaged PDF (data format error)"),
    (b"plain text, no header", "not a PDF document (no %PDF- header)"),
])
def test_a_broken_document_fails_with_one_clear_line(tmp_path, data, error):
    source = tmp_path / "broken.pdf"
    source.write_bytes(data)
    outcome, _ = thumb(source, tmp_path)
    assert outcome.error == error
    with pytest.raises(RenderError):
        pdf_reader.read(str(source), need(), Settings())
    assert pdf_reader.memory(str(source), need(), Settings()) == 0


def test_a_cut_document_fails_with_one_line(tmp_path):
    """Cut in half (its picture's stream and its cross-reference table gone)."""
    source = tmp_path / "doc.pdf"
    picture().save(source)
    data = source.read_bytes()
    source.write_bytes(data[:len(data) // 2])
    result = CliRunner().invoke(cli.main, [str(source), "-o", str(tmp_path / "out"), "-w", "1"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{source}: a damaged PDF (data format error)" in result.stderr


def test_a_folder_of_a_drawing_and_a_document_end_to_end(tmp_path):
    """The real command over a folder with an SVG, a PDF, an SVGZ and a photo:
    four images, four thumbnails, each the picture it holds."""
    import gzip

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "logo.svg").write_text(drawing())
    (folder / "plan.svgz").write_bytes(gzip.compress(drawing().encode()))
    picture().save(folder / "report.pdf")
    picture().save(folder / "photo.jpg")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli.main, [str(folder), "-o", str(out), "-s", "128", "-w", "1"])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("4 images: 4 made (4 thumbnails) in")
    for name in ("logo.jpg", "plan.jpg", "report.jpg", "photo.jpg"):
        with Image.open(out / name) as made:
            expected = picture().resize(made.size, Image.LANCZOS)
            assert made.size == (128, 96) and channel_difference(made, expected) < 12, name


def test_without_the_extra_a_document_is_named_with_what_to_install(tmp_path, monkeypatch):
    source = tmp_path / "report.pdf"
    picture().save(source)
    monkeypatch.setitem(sys.modules, "pypdfium2", None)  # import fails, as without the extra
    result = CliRunner().invoke(cli.main, [str(source), "-o", str(tmp_path / "out"), "-w", "1"])
    assert result.exit_code == 1 and result.stderr.count("thumbnailer[pdf]") == 1
    assert (f"{source}: a PDF document: reading PDF needs the optional extra: "
            "pip install 'thumbnailer[pdf]'") in result.stderr


def test_the_table_versions_and_cost(tmp_path):
    assert kind_of("a/Report.PDF") is PDF and mime_type("a.pdf") == "application/pdf"
    assert any(re.match(r"pypdfium2 \d", v) for v in codec_versions())  # --cache-key, ledger
    source = tmp_path / "doc.pdf"
    picture().save(source)
    task = Task(str(source), (Target(Size(64, 64), str(tmp_path / "t")),),
                Settings(sizes=(Size(64, 64),)))
    assert decode_cost(task) == BASE + 96 * 72 * 10  # 64 px with the gap, 10 bytes a pixel


def test_a_drawing_beside_its_export_is_named_apart_without_a_warning(tmp_path):
    """logo.svg and the logo.png exported from it, report.pdf and report.jpg: an
    expected pair each, as a camera's RAW+JPEG is."""
    folder = tmp_path / "art"
    folder.mkdir()
    (folder / "logo.svg").write_text(drawing())
    picture().save(folder / "logo.png")
    picture().save(folder / "report.pdf")
    picture().save(folder / "report.jpg")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli.main, [str(folder), "-o", str(out), "-w", "1"])
    assert result.exit_code == 0 and "warning" not in result.stderr, result.stderr
    assert len(list(out.glob("*.jpg"))) == 4


def test_pillows_own_test_pdfs_are_made(tmp_path):
    """The two PDFs in Pillow's test images (corpora.py), left out of the
    conformance suite (Pillow, its reference, reads no PDF): one with a
    duplicate cross-reference entry, one whose trailers refer to each other in
    a loop. Both made, within the timeout."""
    import corpora

    sources = sorted(corpora.pillow_images().glob("*.pdf"))
    assert [p.name for p in sources] == ["duplicate_xref_entry.pdf", "trailer_loop.pdf"]
    out = tmp_path / "out"
    result = CliRunner().invoke(cli.main, [*map(str, sources), "-o", str(out), "-w", "1",
                                           "--timeout", "10"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith("2 images: 2 made (2 thumbnails)")
