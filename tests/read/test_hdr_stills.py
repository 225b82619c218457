"""HDR stills (read/image.py, read/hdr.py): PQ and HLG HEIC, AVIF and PNG
tone-mapped to sRGB by default, through the real command.

The files are made here from a known sRGB picture by the standard's formulas
(tests/helpers.py: BT.2087's matrix, SMPTE ST 2084's inverse EOTF at reference
white 203 cd/m2, BT.2100's HLG OETF and inverse OOTF), so each thumbnail can be
compared with the picture. The metric is helpers.channel_difference: the
largest per-channel mean absolute difference, 0-255.
"""

import json
import sqlite3
import struct
import sys
import zlib

import numpy as np
import pillow_heif
import pytest
from helpers import channel_difference, hlg_code, invoke, patches, pq_code, quadrants
from PIL import Image

from thumbnailer.plan.state import STATE_NAME
from thumbnailer.read import hdr
from thumbnailer.read.kinds import HDR_MARK, hdr_mark

CODES = {hdr.PQ: pq_code, hdr.HLG: hlg_code}
#: How close a thumbnail must come to the picture (issue #24's "done when").
WITHIN = 10.0


def picture(size=(320, 240)) -> Image.Image:
    return patches(size)


def code16(im: Image.Image, transfer: int) -> np.ndarray:
    return np.round(CODES[transfer](im) * 65535).astype(np.uint16)


def heic(path, im, transfer, previews=()):
    """A 10-bit HEVC HEIC tagged BT.2020 and the transfer (nclx 9/transfer/9)."""
    image = pillow_heif.from_bytes(mode="RGB;16", size=im.size, data=code16(im, transfer).tobytes())
    image.info["nclx_profile"] = {"color_primaries": 9, "transfer_characteristics": transfer,
                                  "matrix_coefficients": 9, "full_range_flag": 1}
    image.save(path, quality=-1, save_bit_depth=10, thumbnails=list(previews))
    return path


def avif(path, im, transfer):
    """An 8-bit AVIF of the code values (Pillow writes nclx 1/13/6), its colour
    box then set to BT.2020 and the transfer: the matrix, and so the decoded
    pixels, stay as written."""
    codes = Image.fromarray((code16(im, transfer) >> 8).astype(np.uint8))
    codes.save(path, "AVIF", quality=100, subsampling="4:4:4")
    data = bytearray(path.read_bytes())
    at = data.index(b"colrnclx") + 8
    data[at:at + 4] = struct.pack(">HH", 9, transfer)
    path.write_bytes(bytes(data))
    return path


def png16(path, im, transfer, cicp=None, before=b""):
    """A 16-bit RGB PNG with a cICP chunk (primaries, transfer, matrix 0, full
    range), which Pillow cannot write; ``before``: chunks ahead of it."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    rows = code16(im, transfer).astype(">u2")
    raw = b"".join(b"\0" + row.tobytes() for row in rows)
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", *im.size, 16, 2, 0, 0, 0))
                     + before + chunk(b"cICP", bytes(cicp or (9, transfer, 0, 1)))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return path


WRITERS = {"heic": heic, "avif": avif, "png": png16}


def thumbnail(tmp_path, source, size=320, *more):
    out = tmp_path / "out"
    result = invoke(source, "-o", out, "-w", "1", "-s", size, "-f", "png", *more)
    assert result.exit_code == 0, result.output
    made = out / f"{source.stem}.png"
    return Image.open(made)


@pytest.mark.parametrize("transfer", [hdr.PQ, hdr.HLG], ids=["pq", "hlg"])
@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_an_hdr_still_comes_back_within_10_of_the_picture_it_was_made_from(
        tmp_path, fmt, transfer):
    known = picture()
    source = WRITERS[fmt](tmp_path / f"a.{fmt}", known, transfer)
    with thumbnail(tmp_path, source) as made:
        assert made.size == known.size
        assert channel_difference(made, known) < WITHIN
    # Shown as its code values (what it was before), it is far off: the bug is visible.
    flat = Image.fromarray((code16(known, transfer) >> 8).astype(np.uint8))
    assert channel_difference(flat, known) > 15


def test_a_large_hdr_still_is_boxed_down_before_its_mapping(tmp_path):
    known = picture((1280, 960))
    source = heic(tmp_path / "big.heic", known, hdr.PQ)
    with thumbnail(tmp_path, source, 160) as made:
        assert made.size == (160, 120)
        assert channel_difference(made, known.resize((160, 120), Image.Resampling.BOX)) < WITHIN
    assert hdr.reduction((1280, 960), (160, 120)) == 5


def test_an_hdr_heic_preview_is_decoded_at_16_bits_and_mapped(tmp_path):
    known = picture((1280, 960))
    source = heic(tmp_path / "p.heic", known, hdr.HLG, previews=[400])
    with thumbnail(tmp_path, source, 160, "--manifest", tmp_path / "m.json") as made:
        assert channel_difference(made, known.resize((160, 120), Image.Resampling.BOX)) < WITHIN
    entry = json.loads((tmp_path / "m.json").read_text())["entries"][0]
    assert entry.get("preview") is True


def test_an_sdr_png_with_a_cicp_chunk_is_left_as_it_is(tmp_path):
    known = picture()
    source = tmp_path / "s.png"
    png16(source, known, hdr.PQ, cicp=(1, 13, 0, 1))  # sRGB's codes: PQ values shown as they are
    with thumbnail(tmp_path, source) as made, Image.open(source) as plain:
        assert channel_difference(made, plain) < 1


def test_a_cicp_chunk_is_found_past_large_chunks_before_it(tmp_path):
    filler = b"tEXt"  # a 100 kB text chunk: the chunk is walked to, not looked for in a head
    text = b"Comment\0" + b"x" * 100_000
    before = (struct.pack(">I", len(text)) + filler + text
              + struct.pack(">I", zlib.crc32(filler + text)))
    source = png16(tmp_path / "t.png", picture(), hdr.HLG, before=before)
    with open(source, "rb") as f:
        assert hdr.png_cicp(f) == (hdr.HLG, 9) and f.tell() == 0


def cicp_profile(transfer: int) -> bytes:
    """Pillow's sRGB profile with a cicp tag (ICC.1 v4.4) saying BT.2020 and
    ``transfer``, as macOS and Chrome tag an HDR picture's profile."""
    from PIL import ImageCms

    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    count = int.from_bytes(profile[128:132], "big")
    for i in range(count):  # the tag table grows by one entry: the data moves 12 bytes on
        at = 136 + 12 * i
        profile[at:at + 4] = (int.from_bytes(profile[at:at + 4], "big") + 12).to_bytes(4, "big")
    tag = b"cicp" + b"\0" * 4 + bytes((9, transfer, 0, 1))
    profile[128:132] = (count + 1).to_bytes(4, "big")
    profile[132 + 12 * count:132 + 12 * count] = b"cicp" + struct.pack(">II", len(profile) + 12,
                                                                       len(tag))
    profile += tag
    profile[:4] = len(profile).to_bytes(4, "big")
    return bytes(profile)


def test_an_icc_profile_with_a_cicp_tag_says_pq_or_hlg():
    from PIL import ImageCms

    plain = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    assert hdr.from_icc(plain) is None
    assert hdr.from_icc(cicp_profile(hdr.PQ)) == (hdr.PQ, 9)
    assert hdr.from_icc(cicp_profile(1)) is None  # BT.709's transfer: SDR


def test_an_image_whose_icc_profile_says_pq_is_tone_mapped(tmp_path):
    """The path JPEG XL takes (libjxl gives HDR pictures such a profile), here
    through an 8-bit PNG, which Pillow writes with a profile."""
    known = picture()
    source = tmp_path / "icc.png"
    Image.fromarray((code16(known, hdr.PQ) >> 8).astype(np.uint8)).save(
        source, icc_profile=cicp_profile(hdr.PQ))
    with thumbnail(tmp_path, source) as made:
        assert channel_difference(made, known) < WITHIN
        assert "icc_profile" not in made.info  # sRGB now: the HDR profile is not passed on


def test_without_numpy_an_hdr_still_fails_with_what_to_install(tmp_path, monkeypatch):
    source = png16(tmp_path / "n.png", picture((64, 48)), hdr.PQ)
    monkeypatch.setitem(sys.modules, "numpy", None)
    result = invoke(source, "-o", tmp_path / "out", "-w", "1", "-s", 32)
    assert result.exit_code == 1
    assert ("n.png: an HDR image (PQ or HLG): tone mapping it needs numpy: "
            "pip install 'thumbnailer[hdr]'") in result.stderr


def test_thumbnails_of_hdr_capable_stills_made_before_are_made_again_once(tmp_path):
    """Records made before the mapping have no HDR mark: a HEIC's is made again,
    a JPEG's is not; the rerun after that makes nothing."""
    src = tmp_path / "src"
    src.mkdir()
    heic(src / "a.heic", picture((64, 48)), hdr.PQ)
    picture((64, 48)).save(src / "b.jpg")
    out = tmp_path / "out"
    assert invoke(src, "-o", out, "-w", "1", "-s", 32).exit_code == 0
    assert sorted(p.name for p in out.glob("*.jpg")) == ["a.jpg", "b.jpg"]
    # Drop the mark, as an older version recorded it.
    with sqlite3.connect(out / STATE_NAME) as con:
        marked = con.execute("SELECT count(*) FROM records WHERE fingerprint LIKE ?",
                             (f"%{HDR_MARK}",)).fetchone()[0]
        con.execute("UPDATE records SET fingerprint = replace(fingerprint, ?, '')", (HDR_MARK,))
    assert marked == 1  # the HEIC's only
    again = invoke(src, "-o", out, "-w", "1", "-s", 32)
    assert "1 made" in again.stderr and "1 up to date" in again.stderr, again.stderr
    third = invoke(src, "-o", out, "-w", "1", "-s", 32)
    assert "2 up to date" in third.stderr, third.stderr
    assert hdr_mark("x/IMG_1.HEIC") == hdr_mark("a.avif") == hdr_mark("a.jxl") == HDR_MARK
    assert hdr_mark("b.jpg") == hdr_mark("c.png") == hdr_mark("d.mov") == ""


def test_the_memory_estimate_counts_a_16_bit_decode_for_an_hdr_heic(tmp_path):
    from thumbnailer.geometry import Need
    from thumbnailer.read import image
    from thumbnailer.spec import Settings, Size

    known = picture((640, 480))
    s = Settings(sizes=(Size(64, 64),))
    need = Need(s.sizes, s.fit, s.upscale)
    pq = image.memory(str(heic(tmp_path / "pq.heic", known, hdr.PQ)), need, s)
    pillow_heif.from_pillow(known).save(tmp_path / "sdr.heic", quality=90)
    sdr = image.memory(str(tmp_path / "sdr.heic"), need, s)
    assert pq - sdr == 640 * 480 * (image.HDR_HEIF_BYTES - 8)


@pytest.mark.parametrize("orientation", [3, 6])
def test_an_hdr_heic_is_turned_as_its_sdr_twin_is(tmp_path, orientation):
    """The 16-bit decode applies the HEIF's own turns as the plugin does."""
    known = quadrants((320, 240))
    exif = Image.Exif()
    exif[0x0112] = orientation
    image = pillow_heif.from_bytes(mode="RGB;16", size=known.size,
                                   data=code16(known, hdr.PQ).tobytes())
    image.info["nclx_profile"] = {"color_primaries": 9, "transfer_characteristics": hdr.PQ,
                                  "matrix_coefficients": 9, "full_range_flag": 1}
    image.info["exif"] = exif.tobytes()
    image.save(tmp_path / "hdr.heic", quality=-1, save_bit_depth=10)
    twin = pillow_heif.from_pillow(known)
    twin.info["exif"] = exif.tobytes()
    twin.save(tmp_path / "sdr.heic", quality=95)
    with thumbnail(tmp_path, tmp_path / "hdr.heic") as made, \
            thumbnail(tmp_path, tmp_path / "sdr.heic") as plain:
        assert made.size == plain.size == ((240, 320) if orientation == 6 else (320, 240))
        assert channel_difference(made, plain) < 4
