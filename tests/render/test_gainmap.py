"""--hdr keep: JPEG thumbnails of UltraHDR sources are UltraHDR, checked with an
independent reader (libvips' uhdrload, which is libultrahdr's decoder): it opens
them as UltraHDR, and their HDR rendition is the source's, resized."""

import math
import re
import struct

import corpora
import pytest
import pyvips
from helpers import invoke
from PIL import Image

#: Linear Display P3 to linear sRGB: libultrahdr keeps the base picture in P3,
#: thumbnails are sRGB by default, and uhdr2scRGB gives values in the base's primaries.
P3_TO_SRGB = [[1.2249, -0.2247, 0.0], [-0.0420, 1.0419, 0.0], [-0.0197, -0.0786, 1.0979]]


def ultrahdr(path, size=(800, 600), orientation=None):
    """An UltraHDR JPEG written by libvips: a gradient with a highlight four times
    SDR white in its top right quarter."""
    w, h = size
    xy = pyvips.Image.xyz(w, h)
    x, y = xy[0] / w, xy[1] / h
    highlight = ((x > 0.5) & (y < 0.5)).ifthenelse(3.0, 0.0)
    im = (x * 0.8 + highlight).bandjoin([y * 0.8, (1 - x) * 0.6]).copy(interpretation="scrgb")
    if orientation is not None:
        im.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.uhdrsave(str(path), Q=95)
    return path


def hdr(path):
    return pyvips.Image.uhdrload(str(path)).uhdr2scRGB()


def relative_gap(a, b):
    assert (a.width, a.height) == (b.width, b.height)
    return (a - b).abs().avg() / b.avg()


def test_keep_writes_an_ultrahdr_jpeg_whose_hdr_is_the_sources(tmp_path):
    src = ultrahdr(tmp_path / "src" / "phone.jpg")
    result = invoke(src.parent, "-o", tmp_path / "out", "-s", "200", "--hdr", "keep")
    assert result.exit_code == 0, result.output
    thumb = pyvips.Image.uhdrload(str(tmp_path / "out" / "phone.jpg"))
    assert (thumb.width, thumb.height) == (200, 150)
    gain = pyvips.Image.new_from_buffer(thumb.get("gainmap-data"), "")
    assert (gain.width, gain.height) == (100, 75)  # the source's half, kept
    reference = hdr(src).resize(0.25).recomb(P3_TO_SRGB)
    assert relative_gap(hdr(tmp_path / "out" / "phone.jpg"), reference) < 0.03
    assert hdr(tmp_path / "out" / "phone.jpg").max() > 3  # the highlight is HDR


def test_keep_with_p3_keeps_the_base_gamut_and_the_hdr(tmp_path):
    src = ultrahdr(tmp_path / "src" / "phone.jpg")
    result = invoke(src.parent, "-o", tmp_path / "out", "-s", "200", "--hdr", "keep",
                    "--colour-space", "p3")
    assert result.exit_code == 0, result.output
    assert relative_gap(hdr(tmp_path / "out" / "phone.jpg"), hdr(src).resize(0.25)) < 0.03


def test_the_default_drops_the_gain_map_and_keep_changes_nothing_else(tmp_path):
    src = ultrahdr(tmp_path / "src" / "phone.jpg")
    for flag in ("sdr", "keep"):
        result = invoke(src.parent, "-o", tmp_path / flag, "-s", "200", "--hdr", flag)
        assert result.exit_code == 0, result.output
    plain = (tmp_path / "sdr" / "phone.jpg").read_bytes()
    assert b"MPF\0" not in plain and b"urn:iso:std:iso:ts:21496:-1" not in plain
    with pytest.raises(pyvips.Error):
        pyvips.Image.uhdrload(str(tmp_path / "sdr" / "phone.jpg")).get("gainmap-data")
    with Image.open(tmp_path / "sdr" / "phone.jpg") as a, \
            Image.open(tmp_path / "keep" / "phone.jpg") as b:
        assert a.tobytes() == b.tobytes()  # the same SDR picture, to the bit


def test_the_gain_map_follows_the_orientation_and_the_crop(tmp_path):
    src = ultrahdr(tmp_path / "src" / "turned.jpg", orientation=6)
    result = invoke(src.parent, "-o", tmp_path / "out", "-s", "120x120", "--fit", "cover",
                    "--hdr", "keep")
    assert result.exit_code == 0, result.output
    upright = hdr(src).rot90()  # orientation 6: turned a quarter clockwise to be seen
    side = min(upright.width, upright.height)
    square = upright.crop((upright.width - side) // 2, (upright.height - side) // 2, side, side)
    reference = square.resize(120 / side).recomb(P3_TO_SRGB)
    thumb = hdr(tmp_path / "out" / "turned.jpg")
    assert relative_gap(thumb, reference) < 0.05
    # The highlight (the source's top right) is now bottom right, and HDR there only.
    red = thumb[0]
    assert red.crop(70, 70, 40, 40).avg() > 2.5 and red.crop(10, 10, 40, 40).avg() < 1


def test_a_stereo_mpo_is_no_gain_map(tmp_path):
    (tmp_path / "src").mkdir()
    left, right = Image.new("RGB", (300, 200), "red"), Image.new("RGB", (300, 200), "blue")
    left.save(tmp_path / "src" / "pair.jpg", format="MPO", save_all=True, append_images=[right])
    result = invoke(tmp_path / "src", "-o", tmp_path / "out", "-s", "100", "--hdr", "keep")
    assert result.exit_code == 0, result.output
    data = (tmp_path / "out" / "pair.jpg").read_bytes()
    assert b"MPF\0" not in data
    with Image.open(tmp_path / "out" / "pair.jpg") as thumb:
        assert thumb.getpixel((50, 30))[0] > 200


@pytest.mark.parametrize("args", [["--fit", "pad", "-s", "300"], ["-f", "png", "-s", "200"]])
def test_padded_and_non_jpeg_thumbnails_are_sdr_only(tmp_path, args):
    src = ultrahdr(tmp_path / "src" / "phone.jpg")
    result = invoke(src.parent, "-o", tmp_path / "out", "--hdr", "keep", *args)
    assert result.exit_code == 0, result.output
    [out] = (tmp_path / "out").glob("phone.*")
    assert b"MPF\0" not in out.read_bytes()


# Android's first Ultra HDR files describe the gain map in XMP (hdrgm), not in the
# ISO 21496-1 block libultrahdr 2 writes: the same file, said that way.
PRIMARY_XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    'xmlns:Container="http://ns.google.com/photos/1.0/container/" '
    'xmlns:Item="http://ns.google.com/photos/1.0/container/item/" '
    'xmlns:xmpNote="http://ns.adobe.com/xmp/note/" '
    'xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/" hdrgm:Version="1.0"\n'
    '      xmpNote:HasExtendedXMP="18AC0B6D96A83A7066059E016278C9C8">'
    '<Container:Directory><rdf:Seq>'
    '<rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="Primary" '
    'Item:Mime="image/jpeg"/></rdf:li>'
    '<rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="GainMap"\n'
    '        Item:Mime="image/jpeg"\n        Item:Length="{length}"/></rdf:li>'
    '</rdf:Seq></Container:Directory></rdf:Description></rdf:RDF></x:xmpmeta>')
MAP_XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    'xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/" hdrgm:Version="1.0" '
    'hdrgm:GainMapMin="{low}" hdrgm:GainMapMax="{high}" hdrgm:Gamma="{gamma}" '
    'hdrgm:OffsetSDR="{sdr}" hdrgm:OffsetHDR="{hdr}" hdrgm:HDRCapacityMin="{cap_low}" '
    'hdrgm:HDRCapacityMax="{cap_high}" hdrgm:BaseRenditionIsHDR="False"/>'
    '</rdf:RDF></x:xmpmeta>')


def segment(marker, payload):
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def without(jpeg, *prefixes):
    """``jpeg`` without the header segments whose payload starts with a prefix."""
    out, i = bytearray(jpeg[:2]), 2
    while jpeg[i] == 0xFF and jpeg[i + 1] != 0xDA:
        length = struct.unpack(">H", jpeg[i + 2:i + 4])[0]
        if not jpeg[i + 4:i + 2 + length].startswith(prefixes):
            out += jpeg[i:i + 2 + length]
        i += 2 + length
    return bytes(out + jpeg[i:])


def xmp_ultrahdr(path):
    """An UltraHDR JPEG with XMP metadata only (and a little-endian MPF index)."""
    iso, xmp, mpf = b"urn:iso:std:iso:ts:21496:-1\0", b"http://ns.adobe.com/xap/1.0/\0", b"MPF\0"
    source = ultrahdr(path.parent / "iso" / path.name)
    vips = pyvips.Image.uhdrload(str(source))
    data = source.read_bytes()
    split = data.index(b"\xff\xd8\xff", 4)
    log2 = [math.log2(vips.get(f"gainmap-{k}-content-boost")[0]) for k in ("min", "max")]
    values = {"low": log2[0], "high": log2[1], "gamma": vips.get("gainmap-gamma")[0],
              "sdr": vips.get("gainmap-offset-sdr")[0], "hdr": vips.get("gainmap-offset-hdr")[0],
              "cap_low": math.log2(vips.get("gainmap-hdr-capacity-min")),
              "cap_high": math.log2(vips.get("gainmap-hdr-capacity-max"))}
    gain = without(data[split:], iso)
    gain = gain[:2] + segment(0xE1, xmp + MAP_XMP.format(**values).encode()) + gain[2:]
    stripped = without(data[:split], iso, mpf)
    head = stripped[:2] + segment(0xE1, xmp + PRIMARY_XMP.format(length=len(gain)).encode())
    mpf_len = 2 + 2 + 4 + 8 + 2 + 36 + 4 + 32
    size = len(head) + mpf_len + len(stripped) - 2
    entries = (struct.pack("<IIIHH", 0x030000, size, 0, 0, 0)
               + struct.pack("<IIIHH", 0, len(gain), size - (len(head) + 8), 0, 0))
    ifd = (struct.pack("<H", 3) + struct.pack("<HHI4s", 0xB000, 7, 4, b"0100")
           + struct.pack("<HHII", 0xB001, 4, 1, 2) + struct.pack("<HHII", 0xB002, 7, 32, 50)
           + struct.pack("<I", 0))
    index = segment(0xE2, mpf + b"II*\0" + struct.pack("<I", 8) + ifd + entries)
    assert len(index) == mpf_len
    path.write_bytes(head + index + stripped[2:] + gain)
    return path


def test_android_xmp_ultrahdr_is_kept_with_its_directory_updated(tmp_path):
    src = xmp_ultrahdr(tmp_path / "src" / "pixel.jpg")
    assert b"urn:iso" not in src.read_bytes()
    reference = hdr(src)  # libultrahdr reads the XMP-only source: it is well made
    result = invoke(src.parent, "-o", tmp_path / "out", "-s", "200", "--hdr", "keep",
                    "--colour-space", "p3", "--exclude", "iso")
    assert result.exit_code == 0, result.output
    out = tmp_path / "out" / "pixel.jpg"
    assert relative_gap(hdr(out), reference.resize(0.25)) < 0.03
    data = out.read_bytes()
    assert b"urn:iso" not in data and data.count(b"hdrgm:Version") == 2
    assert b"HasExtendedXMP" not in data  # the extension is not copied: nor its pointer
    length = int(re.search(rb'Item:Length="(\d+)"', data)[1])
    assert data[-length:].startswith(b"\xff\xd8") and data.endswith(b"\xff\xd9")
    assert data.find(b"\xff\xd8\xff", 4) == len(data) - length


def test_pillows_ultrahdr_sample_without_its_gain_map_is_left_sdr(tmp_path):
    """Pillow's ultrahdr.jpg is a Pixel photo's header (XMP directory, MPF) with
    the pictures cut off: the gain map it points to is not there."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "ultrahdr.jpg").write_bytes(
        (corpora.pillow_images() / "ultrahdr.jpg").read_bytes())
    for flag in ("sdr", "keep"):
        result = invoke(tmp_path / "src", "-o", tmp_path / flag, "--hdr", flag,
                        "--fail-on", "none")
        assert result.exit_code == 0, result.output
    made = (tmp_path / "keep" / "ultrahdr.jpg").read_bytes()
    assert made == (tmp_path / "sdr" / "ultrahdr.jpg").read_bytes()


def test_an_object_stores_bytes_give_the_same_gain_map_and_keep_their_place(tmp_path):
    import io

    from thumbnailer.render.gainmap import gain_map

    src = ultrahdr(tmp_path / "phone.jpg", size=(200, 100))
    held = io.BytesIO(src.read_bytes())  # what storage.readable gives for a URL
    held.seek(123)
    from_path, from_bytes = gain_map(str(src)), gain_map(held)
    assert from_path is not None and from_path == from_bytes and held.tell() == 123
    assert from_path.jpeg.startswith(b"\xff\xd8") and from_path.map_segments


def test_an_iphone_heics_gain_map_becomes_an_apple_jpeg_gain_map(tmp_path):
    """pillow-heif's pug.heic is an iPhone photo with Apple's gain map (an auxiliary
    image). The headroom written is checked against libultrahdr's own reading of
    the photo's EXIF maker note, in a copy of the thumbnail that says none."""
    (tmp_path / "src").mkdir()
    source = corpora.pillow_heif_images() / "heif_other" / "pug.heic"
    (tmp_path / "src" / "pug.heic").write_bytes(source.read_bytes())
    result = invoke(tmp_path / "src", "-o", tmp_path / "out", "--hdr", "keep")
    assert result.exit_code == 0, result.output
    out = tmp_path / "out" / "pug.jpg"
    thumb = pyvips.Image.uhdrload(str(out))
    assert (thumb.width, thumb.height) == (256, 192)
    gain = pyvips.Image.new_from_buffer(thumb.get("gainmap-data"), "")
    assert (gain.width, gain.height) == (128, 96)  # the iPhone's half-size map, kept
    ours = thumb.get("gainmap-max-content-boost")[0]
    assert hdr(out).max() > 1.2  # brighter than SDR white (1.0) somewhere
    # The same file with the photo's EXIF instead of the headroom: libultrahdr's value.
    import pillow_heif

    exif = pillow_heif.open_heif(str(source)).info["exif"]
    exif = exif if exif.startswith(b"Exif\0\0") else b"Exif\0\0" + exif
    data = re.sub(rb"<HDRGainMap:HDRGainMapHeadroom>[^<]*</HDRGainMap:HDRGainMapHeadroom>",
                  b"", out.read_bytes())
    told = tmp_path / "told.jpg"
    told.write_bytes(data[:2] + segment(0xE1, exif) + data[2:])
    theirs = pyvips.Image.uhdrload(str(told)).get("gainmap-max-content-boost")[0]
    assert ours == pytest.approx(theirs, rel=1e-4) and ours > 1


def test_sdr_leaves_an_iphone_heic_without_its_gain_map(tmp_path):
    (tmp_path / "src").mkdir()
    source = corpora.pillow_heif_images() / "heif_other" / "pug.heic"
    (tmp_path / "src" / "pug.heic").write_bytes(source.read_bytes())
    result = invoke(tmp_path / "src", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert b"MPF\0" not in (tmp_path / "out" / "pug.jpg").read_bytes()


@pytest.mark.parametrize("hdr_flag", ["sdr", "keep"])
def test_animated_does_not_take_a_gain_map_for_a_second_frame(tmp_path, hdr_flag):
    src = ultrahdr(tmp_path / "src" / "phone.jpg")
    result = invoke(src.parent, "-o", tmp_path / "out", "-s", "200", "--animated",
                    "--hdr", hdr_flag)
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "out" / "phone.jpg") as thumb:
        assert thumb.size == (200, 150)


def test_a_samsung_heic_gain_map_is_not_kept_and_costs_nothing(tmp_path):
    """pillow-heif's aux_YCbCr.heic has Samsung's gain map, whose parameters
    pillow-heif does not expose: its thumbnail is the SDR one, to the byte."""
    (tmp_path / "src").mkdir()
    source = corpora.pillow_heif_images() / "heif_special" / "aux_YCbCr.heic"
    (tmp_path / "src" / "galaxy.heic").write_bytes(source.read_bytes())
    for flag in ("sdr", "keep"):
        result = invoke(tmp_path / "src", "-o", tmp_path / flag, "--hdr", flag)
        assert result.exit_code == 0, result.output
    made = (tmp_path / "keep" / "galaxy.jpg").read_bytes()
    assert made == (tmp_path / "sdr" / "galaxy.jpg").read_bytes()
