"""--colour-space: Display P3 kept for wide-gamut sources, checked against an
independent P3 profile (libvips' built-in one, Compact-ICC-Profiles' sP3C) and
through LittleCMS, never only against our own profile."""

import io

import pytest
import pyvips
from helpers import invoke
from PIL import Image, ImageCms

from thumbnailer.render.colour import keeps_p3, p3_bytes, srgb_bytes
from thumbnailer.spec import ColourSpace, Format, Hdr, Settings, Size

#: Display P3 colours: the first two lie outside sRGB (P3's red and green), the
#: last inside it.
WIDE = [(255, 0, 0), (0, 255, 0), (180, 140, 100)]


def vips_p3() -> bytes:
    """libvips' own Display P3 profile: not made by thumbnailer."""
    im = (pyvips.Image.black(2, 2, bands=3) + 128).cast("uchar").copy(interpretation="srgb")
    return bytes(im.icc_transform("p3", input_profile="srgb").get("icc-profile-data"))


def to_lab(im: Image.Image, profile: bytes) -> Image.Image:
    source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    lab = ImageCms.createProfile("LAB")
    return ImageCms.applyTransform(im.convert("RGB"), ImageCms.buildTransform(
        source, lab, "RGB", "LAB"))


def bands(path, colours=WIDE, size=(300, 100)):
    """Vertical bands of ``colours``, tagged with libvips' Display P3 profile."""
    im = Image.new("RGB", size)
    step = size[0] // len(colours)
    for i, colour in enumerate(colours):
        im.paste(colour, (i * step, 0, (i + 1) * step, size[1]))
    im.save(path, icc_profile=vips_p3())
    return path


def centres(im, count=3):
    step = im.width // count
    return [im.getpixel((i * step + step // 2, im.height // 2)) for i in range(count)]


def lab_gap(thumb_path, source_path):
    """Per band, the largest channel difference (0-255 Lab) between thumbnail and source."""
    with Image.open(thumb_path) as thumb, Image.open(source_path) as src:
        a = centres(to_lab(thumb, thumb.info["icc_profile"]))
        b = centres(to_lab(src.resize(thumb.size), src.info["icc_profile"]))
    return [max(abs(x - y) for x, y in zip(p, q, strict=True)) for p, q in zip(a, b, strict=True)]


def test_our_p3_profile_matches_an_independent_one():
    colours = [(r, g, b) for r in range(0, 256, 51) for g in range(0, 256, 51)
               for b in range(0, 256, 51)]
    im = Image.new("RGB", (len(colours), 1))
    im.putdata(colours)
    ours, theirs = to_lab(im, p3_bytes()), to_lab(im, vips_p3())
    pairs = zip(ours.get_flattened_data(), theirs.get_flattened_data(), strict=True)
    worst = max(max(abs(x - y) for x, y in zip(p, q, strict=True)) for p, q in pairs)
    # 2 of 255 in Lab (about 1 delta E): sP3C clips red's small negative Z to 0;
    # ours keeps it, as Apple's own Display P3 profile does (rXYZ below).
    assert worst <= 2
    red = ImageCms.ImageCmsProfile(io.BytesIO(p3_bytes())).profile.red_colorant[0]
    assert red == pytest.approx((0.5151, 0.2412, -0.0011), abs=2e-4)


def test_the_p3_profile_is_the_same_bytes_every_time():
    assert p3_bytes() == p3_bytes.__wrapped__()
    assert p3_bytes()[24:36] == srgb_bytes()[24:36]  # the fixed date, not the clock's


def test_a_p3_source_keeps_its_gamut_with_colour_space_p3(tmp_path):
    (tmp_path / "src").mkdir()
    src = bands(tmp_path / "src" / "wide.png")
    result = invoke(src.parent, "-o", tmp_path / "p3", "-f", "png", "--colour-space", "p3")
    assert result.exit_code == 0, result.output
    result = invoke(src.parent, "-o", tmp_path / "srgb", "-f", "png")
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "p3" / "wide.png") as thumb:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(thumb.info["icc_profile"]))
        assert ImageCms.getProfileDescription(profile).strip() == "Display P3"
    assert max(lab_gap(tmp_path / "p3" / "wide.png", src)) <= 4
    # The differential: sRGB clips P3's red and green, and leaves the other alone.
    clipped = lab_gap(tmp_path / "srgb" / "wide.png", src)
    assert clipped[0] > 8 and clipped[1] > 8 and clipped[2] <= 4


@pytest.mark.parametrize("profile", [srgb_bytes(), None])
def test_srgb_and_untagged_sources_stay_srgb_with_p3(tmp_path, profile):
    src = tmp_path / "src" / "plain.png"
    src.parent.mkdir()
    Image.new("RGB", (120, 80), (200, 30, 40)).save(
        src, **({"icc_profile": profile} if profile else {}))
    result = invoke(src.parent, "-o", tmp_path / "out", "-f", "png", "--colour-space", "p3")
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "out" / "plain.png") as thumb:
        assert thumb.info.get("icc_profile") == (srgb_bytes() if profile else None)
        assert thumb.getpixel((10, 10)) == (200, 30, 40)


def test_which_profiles_count_as_wide():
    assert keeps_p3(p3_bytes(), "RGB") and keeps_p3(vips_p3(), "RGBA")
    assert not keeps_p3(srgb_bytes(), "RGB")
    assert not keeps_p3(vips_p3(), "L") and not keeps_p3(None, "RGB")
    assert not keeps_p3(b"\0" * 300, "RGB")


def test_the_new_settings_leave_earlier_thumbnails_up_to_date():
    # The fingerprint thumbnailer gave this default before colour_space and hdr existed.
    size = Size(256, 256)
    assert Settings().fingerprint(size, Format.JPEG) == "83a2a1c8fbc7312e"
    plain = Settings().fingerprint(size, Format.JPEG)
    assert Settings(colour_space=ColourSpace.P3).fingerprint(size, Format.JPEG) != plain
    assert Settings(hdr=Hdr.KEEP).fingerprint(size, Format.JPEG) != plain


def test_colour_space_is_a_choice_on_the_command_line(tmp_path):
    result = invoke(tmp_path, "--colour-space", "adobe")
    assert result.exit_code == 2 and "--colour-space" in result.output


def test_a_heic_declaring_p3_by_nclx_is_kept_p3_or_converted_to_srgb(tmp_path):
    import pillow_heif

    (tmp_path / "src").mkdir()
    picture = Image.new("RGB", (300, 100))
    for i, colour in enumerate(WIDE):
        picture.paste(colour, (i * 100, 0, (i + 1) * 100, 100))
    nclx = {"color_primaries": 12, "transfer_characteristics": 13,
            "matrix_coefficients": 6, "full_range_flag": 1}
    pillow_heif.from_pillow(picture).save(str(tmp_path / "src" / "phone.heic"), quality=-1,
                                          nclx_profile=nclx)
    reference = tmp_path / "reference.png"  # the same colours, said with an ICC profile
    picture.save(reference, icc_profile=vips_p3())
    for space in ("p3", "srgb"):
        result = invoke(tmp_path / "src", "-o", tmp_path / space, "-f", "png",
                        "--colour-space", space)
        assert result.exit_code == 0, result.output
    assert max(lab_gap(tmp_path / "p3" / "phone.png", reference)) <= 4
    clipped = lab_gap(tmp_path / "srgb" / "phone.png", reference)
    # sRGB: converted from P3 (not shown as if sRGB), its red and green clipped.
    assert clipped[0] > 8 and clipped[1] > 8 and clipped[2] <= 4
