"""Differential conformance: thumbnailer against a plain reference pipeline
(reference.py), on about 1,060 real files nobody on this project made: Pillow's
own test images, fetched from its sdist on the package index (corpora.py).

The rule, for every file: if the reference cannot read it (or it is over the
pixel limit), thumbnailer fails it with one line saying what is wrong;
otherwise the thumbnail has the reference's size (+-1 px) and format, is within
MAX_MEAN_DIFFERENCE of it, and looks more like it than like any of its flips
and rotations. Through the process pool with the default decoders (any other
format is refused, naming itself), and in-process with every decoder; the two
write the same bytes for every file both make. Then pillow-heif's own test
images (its sdist's), by the same rule, where a PQ or HLG one is to be
tone-mapped (or refused, when damaged).

The figures in docs/conformance.md come from ``pytest -n 0 tests/test_conformance.py -s``.
"""

from __future__ import annotations

import json
from pathlib import Path

import corpora
import pytest
from click.testing import CliRunner
from PIL import Image
from reference import mean_difference, orientation_errors, over_white, reference

from thumbnailer import cli
from thumbnailer.cli.flags import flagged
from thumbnailer.read.kinds import kind_of
from thumbnailer.spec import DEFAULT_DECODERS, DEFAULT_MAX_PIXELS

BOX = 256
#: Mean absolute difference per channel (0-255) allowed between a thumbnail and
#: the reference, both saved as format auto saves them. Measured worst: 3.37
#: (fujifilm.mpo, a JPEG decoded at 1/8 scale with its draft headroom); most
#: files are under 1. An image turned the wrong way or garbled scores 20 to 50.
MAX_MEAN_DIFFERENCE = 4.0

#: Files an older Pillow decodes differently each time (reading memory it never
#: wrote), so no two runs can agree on their bytes; the Pillow that fixed it.
#: Every other file must be byte-identical between the pool and one process.
UNSTABLE_BEFORE = {
    # A tile's JPEG data runs past the tile: 12.x reads uninitialised memory, 13.0
    # raises a decoder error (both runs then fail it alike).
    "tiff_tiled_jpeg_oob_read.tif": (13, 0),
}


@pytest.fixture(scope="module")
def corpus() -> list[Path]:
    """The files Pillow is the reference for: not those another kind's reader
    takes by their name (Pillow's two PDFs: tests/read/test_pdf.py reads them)."""
    files = [path for path in corpora.files(corpora.pillow_images())
             if kind_of(str(path)).reader == "image"]
    assert len(files) > 1000, "the corpus is incomplete"
    return files


@pytest.fixture(scope="module")
def references(corpus):
    return {str(path): reference(path, BOX, DEFAULT_MAX_PIXELS) for path in corpus}


def _run(out: Path, corpus: list[Path], *options: str) -> tuple[dict[str, dict], list[str]]:
    """The CLI over every file of the corpus, named one by one (so each is judged
    by its content, whatever its name): the manifest's entries by source, and the
    lines printed."""
    manifest = out.parent / f"{out.name}.json"
    result = CliRunner().invoke(
        cli.main, [*map(str, corpus), "-o", str(out), "--manifest", str(manifest),
                   "--no-progress", *options], catch_exceptions=False)
    assert result.exit_code == 1, result.output  # the corpus has broken files
    entries = json.loads(manifest.read_text())["entries"]
    assert len(entries) == len(corpus)
    return {e["source"]: e for e in entries}, result.stderr.splitlines()


@pytest.fixture(scope="module")
def pool(tmp_path_factory, corpus):
    """Two worker processes, the default decoders."""
    return _run(tmp_path_factory.mktemp("conformance") / "pool", corpus, "-w", "2")


@pytest.fixture(scope="module")
def in_process(tmp_path_factory, corpus):
    """-w 1, every decoder Pillow has."""
    return _run(tmp_path_factory.mktemp("conformance") / "one", corpus, "-w", "1",
                "--allow-format", "all")


def _judge(entry: dict, ref) -> tuple[str | None, float | None]:
    """What is wrong with thumbnailer's ``entry`` by the reference (None if
    nothing), and the mean difference when both made a thumbnail."""
    if ref.image is None:
        if entry["status"] != "failed":
            return f"made, but the reference refuses it ({ref.reason})", None
        return None, None
    if entry["status"] != "failed" and entry["format"] != ref.saved_as:
        return f"saved as {entry['format']}, the reference as {ref.saved_as}", None
    if entry["status"] == "failed":
        return f"failed ({entry['error']}), but the reference reads it", None
    with Image.open(entry["output"]) as thumb:
        made = over_white(thumb)
    if abs(made.width - ref.image.width) > 1 or abs(made.height - ref.image.height) > 1:
        return f"{made.size}, the reference {ref.image.size}", None
    difference = mean_difference(ref.image, made)
    if difference > MAX_MEAN_DIFFERENCE:
        return f"mean difference {difference:.2f}", difference
    turned = orientation_errors(made, ref.image)
    if turned:
        return f"looks more like the reference after {', '.join(turned)}", difference
    return None, difference


def _refusals_are_words(lines: list[str], entries: dict[str, dict]) -> list[str]:
    """Every failure: one line naming the file, saying what is wrong with it (the
    manifest's reason, in the command line's words)."""
    wrong = []
    for source, entry in entries.items():
        if entry["status"] != "failed":
            continue
        error = entry["error"]
        if "\n" in error or "unexpected error" in error or not error:
            wrong.append(f"{source}: {error!r}")
        if f"{source}: {flagged(error)}" not in lines:
            wrong.append(f"{source}: no line of its own")
    return wrong


def test_every_file_is_made_or_refused_as_the_reference_says(in_process, references):
    entries, lines = in_process
    problems, worst = [], (0.0, "")
    for source, entry in entries.items():
        problem, difference = _judge(entry, references[source])
        if problem:
            problems.append(f"{source}: {problem}")
        if difference is not None and difference > worst[0]:
            worst = (difference, source)
    problems += _refusals_are_words(lines, entries)
    assert not problems, "\n".join(problems)
    made = sum(e["status"] == "created" for e in entries.values())
    print(f"\nconformance, every decoder (-w 1): {len(entries)} files, {made} made, "
          f"{len(entries) - made} refused; worst mean difference {worst[0]:.2f} "
          f"({Path(worst[1]).name})")


def test_the_pool_opens_only_the_default_formats_and_names_the_others(pool, references):
    entries, lines = pool
    problems, refused_formats, other_files = [], set(), 0
    for source, entry in entries.items():
        ref = references[source]
        decoder = "JPEG" if ref.format == "MPO" else ref.format
        if ref.image is None or decoder in DEFAULT_DECODERS:
            problem, _ = _judge(entry, ref)
            if problem:
                problems.append(f"{source}: {problem}")
            continue
        refused_formats.add(decoder)
        other_files += 1
        if entry["status"] != "failed" or f"Settings.allow_formats={decoder}" not in entry["error"]:
            problems.append(f"{source}: a {decoder} file, but {entry['status']}: "
                            f"{entry['error']}")
    problems += _refusals_are_words(lines, entries)
    assert not problems, "\n".join(problems)
    assert {"PSD", "JPEG2000", "DDS", "FITS"} <= refused_formats
    made = sum(e["status"] == "created" for e in entries.values())
    print(f"\nconformance, default decoders (pool of 2): {len(entries)} files, {made} made, "
          f"{len(entries) - made} refused ({other_files} files of {len(refused_formats)} "
          "other formats, each named)")


def test_the_pool_and_one_process_write_the_same_bytes(pool, in_process):
    compared = 0
    pillow = tuple(int(part) for part in Image.__version__.split(".")[:2])
    for source, entry in pool[0].items():
        other = in_process[0][source]
        if pillow < UNSTABLE_BEFORE.get(Path(source).name, (0, 0)):
            continue
        if entry["status"] == "created":
            assert other["status"] == "created", source
            assert Path(entry["output"]).read_bytes() == Path(other["output"]).read_bytes(), \
                source
            compared += 1
    assert compared > 600  # not a vacuous comparison


#: Transfers (H.273) of HDR pictures: PQ and HLG.
HDR_TRANSFERS = (16, 18)
#: The mean difference allowed where a HEIF's embedded preview made the
#: thumbnail: the preview is an encode of its own, at about the thumbnail's
#: size. Measured worst: 4.56 (aux_YCbCr.heic's 512 px preview).
PREVIEW_MAX_DIFFERENCE = 6.0


def _hdr_transfer(path: Path) -> int | None:
    """The PQ or HLG transfer a HEIF's nclx box says, as pillow-heif reads it."""
    import pillow_heif

    try:
        nclx = pillow_heif.open_heif(path).info.get("nclx_profile") or {}
    except Exception:  # a file this pillow-heif cannot open (older ones refuse more):
        nclx = {}  # its first nclx colour box says (ISO/IEC 23008-12 colr)
        head = path.read_bytes()[:1 << 16]
        at = head.find(b"colrnclx")
        if 0 <= at and at + 12 <= len(head):
            nclx = {"transfer_characteristics": int.from_bytes(head[at + 10:at + 12], "big")}
    transfer = nclx.get("transfer_characteristics")
    return transfer if transfer in HDR_TRANSFERS else None


def test_pillow_heifs_images_are_made_or_refused_and_hdr_ones_tone_mapped(tmp_path):
    """pillow-heif's own test images (corpora.py): each SDR one as the reference
    says; each PQ or HLG one either refused in one line where the reference
    cannot read it either, or made and far from the reference, which shows its
    code values as sRGB (flat)."""
    corpus = [p for p in corpora.files(corpora.pillow_heif_images())
              if p.suffix.lower() in (".heic", ".heif", ".hif")]
    assert len(corpus) > 40, "the corpus is incomplete"
    entries, lines = _run(tmp_path / "heif", corpus, "-w", "1")
    problems, hdr_files = [], []
    for path in corpus:
        source, ref = str(path), reference(path, BOX, DEFAULT_MAX_PIXELS)
        entry = entries[source]
        if _hdr_transfer(path) is None:
            problem, difference = _judge(entry, ref)
            if (entry.get("preview") and problem and problem.startswith("mean difference")
                    and difference is not None and difference <= PREVIEW_MAX_DIFFERENCE):
                problem = None
        elif ref.image is None:
            hdr_files.append(path.name)
            problem = None if entry["status"] == "failed" else "made, the reference refuses it"
        else:
            hdr_files.append(path.name)
            with Image.open(entry["output"]) as thumb:
                flat = mean_difference(ref.image, over_white(thumb))
            problem = None if flat > 8 else f"flat: {flat:.2f} from its code values"
        if problem:
            problems.append(f"{source}: {problem}")
    problems += _refusals_are_words(lines, entries)
    assert not problems, "\n".join(problems)
    assert hdr_files, "no PQ or HLG image in the corpus"
    print(f"\nconformance, pillow-heif's images: {len(corpus)} files; PQ/HLG: {hdr_files}")
