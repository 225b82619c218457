"""--hdr keep for PQ and HLG stills: the JPEG thumbnail is UltraHDR, its gain map
computed from the source's HDR and SDR renditions (render/gainmap.computed).

The sources are made from a known linear-light picture by the standard's
formulas (SMPTE ST 2084's inverse EOTF, BT.2100's HLG, BT.2087's matrix, SDR
white at 203 cd/m2 by BT.2408), with a highlight at 4 times reference white.
The independent reader is libvips' uhdrload (libultrahdr's decoder): the HDR it
rebuilds (uhdr2scRGB, linear, 1.0 = SDR white) is compared with the source's
light boxed down to the thumbnail's size.
"""

import sqlite3
import struct
import zlib
from pathlib import Path

import numpy as np
import pillow_heif
import pytest
import pyvips
from helpers import TO_BT2020, invoke, linear_light, patches
from PIL import Image

from thumbnailer import spec
from thumbnailer.plan.state import STATE_NAME
from thumbnailer.read import hdr

#: The highlight's brightness, in units of SDR white, and where it is (of 640 x 480).
BOOST = 4.0
HIGHLIGHT = (slice(40, 200), slice(400, 600))
#: How far the rebuilt HDR may be from the source's: mean absolute difference
#: over the mean, as tests/render/test_gainmap.py measures a kept map.
WITHIN = 0.05


def picture(size=(640, 480)) -> Image.Image:
    return patches(size)


def light() -> np.ndarray:
    """The known picture as linear BT.709 light, with its highlight."""
    out = linear_light(picture((640, 480)))
    out[HIGHLIGHT] *= BOOST
    return out


def codes(transfer: int) -> np.ndarray:
    """``light()`` as 0-1 code values in BT.2020 and the transfer."""
    bt2020 = np.maximum(light() @ TO_BT2020.T, 0)
    if transfer == hdr.PQ:
        y = (bt2020 * 203 / 10000) ** 0.1593017578125
        return ((0.8359375 + 18.8515625 * y) / (1 + 18.6875 * y)) ** 78.84375
    display = bt2020 * 203 / 1000  # BT.2100's inverse OOTF (gamma 1.2), then its OETF
    yd = np.maximum(display @ np.array([0.2627, 0.6780, 0.0593]), 1e-9)
    scene = display / yd[..., None] ** (0.2 / 1.2)
    a, b, c = 0.17883277, 0.28466892, 0.55991073
    return np.where(scene <= 1 / 12, np.sqrt(3 * scene),
                    a * np.log(np.maximum(12 * scene - b, 1e-9)) + c)


def heic(path: Path, transfer: int) -> Path:
    code = np.round(codes(transfer) * 65535).astype(np.uint16)
    image = pillow_heif.from_bytes(mode="RGB;16", size=(640, 480), data=code.tobytes())
    image.info["nclx_profile"] = {"color_primaries": 9, "transfer_characteristics": transfer,
                                  "matrix_coefficients": 9, "full_range_flag": 1}
    image.save(path, quality=-1, save_bit_depth=10)
    return path


def png16(path: Path, transfer: int) -> Path:
    """A 16-bit PNG with a cICP chunk (BT.2020, the transfer), which Pillow cannot write."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    rows = np.round(codes(transfer) * 65535).astype(">u2")
    raw = b"".join(b"\0" + row.tobytes() for row in rows)
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", 640, 480, 16, 2, 0, 0, 0))
                     + chunk(b"cICP", bytes((9, transfer, 0, 1)))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return path


def avif(path: Path, transfer: int) -> Path:
    """An 8-bit AVIF of the codes, its colour box then set to BT.2020 and the transfer."""
    Image.fromarray(np.round(codes(transfer) * 255).astype(np.uint8)).save(
        path, "AVIF", quality=100, subsampling="4:4:4")
    data = bytearray(path.read_bytes())
    at = data.index(b"colrnclx") + 8
    data[at:at + 4] = struct.pack(">HH", 9, transfer)
    path.write_bytes(bytes(data))
    return path


WRITERS = {"heic": heic, "png": png16, "avif": avif}


def rebuilt(path: Path) -> np.ndarray:
    """The HDR libultrahdr rebuilds from a thumbnail, as height x width x 3."""
    im = pyvips.Image.uhdrload(str(path)).uhdr2scRGB()
    return np.ndarray(buffer=im.write_to_memory(), dtype=np.float32,
                      shape=(im.height, im.width, im.bands))[..., :3]


def boxed(values: np.ndarray, factor: int) -> np.ndarray:
    h, w, c = values.shape
    return values.reshape(h // factor, factor, w // factor, factor, c).mean(axis=(1, 3))


@pytest.mark.parametrize(("fmt", "transfer", "within"), [
    ("heic", hdr.PQ, WITHIN), ("heic", hdr.HLG, WITHIN), ("png", hdr.PQ, WITHIN),
    ("avif", hdr.PQ, 0.08)],  # 8-bit PQ codes: a step is up to 4% of the light
    ids=["heic-pq", "heic-hlg", "png-pq", "avif-pq"])
def test_keep_writes_ultrahdr_whose_hdr_is_the_sources_light(tmp_path, fmt, transfer, within):
    src = WRITERS[fmt](tmp_path / f"hdr.{fmt}", transfer)
    result = invoke(src, "-o", tmp_path / "out", "-s", "160", "--hdr", "keep")
    assert result.exit_code == 0, result.output
    out = tmp_path / "out" / "hdr.jpg"
    thumb = pyvips.Image.uhdrload(str(out))
    assert (thumb.width, thumb.height) == (160, 120)
    gain = pyvips.Image.new_from_buffer(thumb.get("gainmap-data"), "")
    assert (gain.width, gain.height, gain.bands) == (160, 120, 1)  # the thumbnail's own size
    assert thumb.get("gainmap-max-content-boost")[0] > 3  # the highlight's brightest: 3.4
    made, reference = rebuilt(out), boxed(light(), 4)
    assert np.abs(made - reference).mean() / reference.mean() < within
    # Highlights above SDR white come back: the highlight's white end is near 4.
    rows, columns = slice(10, 40), slice(140, 150)  # the grey ramp's top, in the highlight
    assert made[rows, columns].mean() == pytest.approx(reference[rows, columns].mean(), rel=within)
    assert reference[rows, columns].mean() > 3
    with Image.open(out) as sdr:  # while the SDR picture tops out at white
        assert np.asarray(sdr)[rows, columns].mean() > 240


def test_the_primary_is_the_sdr_thumbnail_to_the_byte(tmp_path):
    src = heic(tmp_path / "hdr.heic", hdr.PQ)
    for flag in ("sdr", "keep"):
        result = invoke(src, "-o", tmp_path / flag, "-s", "160", "--hdr", flag)
        assert result.exit_code == 0, result.output
    plain = (tmp_path / "sdr" / "hdr.jpg").read_bytes()
    kept = (tmp_path / "keep" / "hdr.jpg").read_bytes()
    assert b"MPF\0" not in plain and b"hdrgm" not in plain
    scan = plain[plain.index(b"\xff\xda"):]  # the coded picture, to its end
    assert kept.index(scan) < kept.index(b"\xff\xd8", 2)  # in the primary, before the map
    with Image.open(tmp_path / "sdr" / "hdr.jpg") as a, \
            Image.open(tmp_path / "keep" / "hdr.jpg") as b:
        assert a.tobytes() == b.tobytes()


def test_the_computed_map_follows_the_crop_and_the_orientation(tmp_path):
    code = np.round(codes(hdr.PQ) * 65535).astype(np.uint16)
    image = pillow_heif.from_bytes(mode="RGB;16", size=(640, 480), data=code.tobytes())
    image.info["nclx_profile"] = {"color_primaries": 9, "transfer_characteristics": hdr.PQ,
                                  "matrix_coefficients": 9, "full_range_flag": 1}
    exif = Image.Exif()
    exif[0x0112] = 6  # a quarter turn clockwise to be seen
    image.info["exif"] = exif.tobytes()
    image.save(tmp_path / "turned.heic", quality=-1, save_bit_depth=10)
    result = invoke(tmp_path / "turned.heic", "-o", tmp_path / "out", "-s", "120x120",
                    "--fit", "cover", "--hdr", "keep")
    assert result.exit_code == 0, result.output
    made = rebuilt(tmp_path / "out" / "turned.jpg")
    assert made.shape[:2] == (120, 120)
    upright = np.rot90(light(), k=-1)  # 480 x 640, the highlight now on the right, low
    square = upright[80:560]
    reference = boxed(square, 4)
    assert np.abs(made - reference).mean() / reference.mean() < WITHIN
    assert made.max() > 2.5  # the highlight is HDR (at the place the gap above checks)


def test_keep_thumbnails_of_an_older_keep_are_made_again_once(tmp_path, monkeypatch):
    """KEEP_VERSION is in the fingerprint of keep's thumbnails only: those made
    before PQ stills had gain maps are made again once; sdr's stay."""
    src = tmp_path / "src"
    src.mkdir()
    heic(src / "a.heic", hdr.PQ)
    Image.new("RGB", (64, 48), "teal").save(src / "b.jpg")
    out = tmp_path / "out"
    before = spec.Settings().fingerprint(spec.Size(32, 32), spec.Format.JPEG)
    monkeypatch.setattr(spec, "KEEP_VERSION", 1)
    assert spec.Settings().fingerprint(spec.Size(32, 32), spec.Format.JPEG) == before
    assert invoke(src, "-o", out, "-s", 32, "--hdr", "keep").exit_code == 0
    monkeypatch.undo()
    assert b"hdrgm" in (out / "a.jpg").read_bytes()  # made now, so with its map too
    with sqlite3.connect(out / STATE_NAME) as con:
        old = {r[0] for r in con.execute("SELECT fingerprint FROM records")}
    again = invoke(src, "-o", out, "-s", 32, "--hdr", "keep")
    assert "2 made" in again.stderr, again.stderr
    with sqlite3.connect(out / STATE_NAME) as con:
        assert not old & {r[0] for r in con.execute("SELECT fingerprint FROM records")}
    third = invoke(src, "-o", out, "-s", 32, "--hdr", "keep")
    assert "2 up to date" in third.stderr, third.stderr


def test_the_gains_are_one_below_the_knee_and_the_highlights_above(tmp_path):
    """read/hdr.py keeps each pixel's gain (stops) for keep only: none where the
    tone mapping leaves luminance as it is (below 0.8 of white), about log2(4)
    in the highlight, whose SDR tops out at white."""
    from thumbnailer.geometry import Need
    from thumbnailer.read import image

    src = heic(tmp_path / "hdr.heic", hdr.PQ)
    for flag, kept in ((spec.Hdr.SDR, False), (spec.Hdr.KEEP, True)):
        s = spec.Settings(sizes=(spec.Size(64, 64),), hdr=flag)
        picture = image.read(str(src), Need(s.sizes, s.fit, s.upscale), s)
        assert (picture.stops is not None) is kept
    h, w = picture.stops.shape
    assert (w, h) == picture.image.size
    f = round(picture.scale)  # the box the codes were averaged in; whole boxes only
    rgb = boxed(light()[:480 // f * f, :640 // f * f], f)
    y = rgb @ np.array([0.2126, 0.7152, 0.0722])
    stops = picture.stops[:y.shape[0], :y.shape[1]]
    # Where no channel clips: a red at 4x white (R 2.3) clips though its luminance is
    # 0.63, and there its one gain is the luminance's (a paler red on an HDR screen).
    unclipped = (y < 0.7) & (rgb.max(axis=2) < 0.95)
    assert np.abs(stops[unclipped]).max() < 0.02
    assert stops[(y < 0.7) & (rgb.max(axis=2) > 1.5)].min() > 0.5
    bright = y > 3  # the highlight's light ramp, 3 to 3.4 times white
    assert bright.any() and np.all(np.abs(stops[bright] - np.log2(y[bright])) < 0.1)
