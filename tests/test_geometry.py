"""The arithmetic of thumbnails, without images (geometry.py)."""

import pytest

from thumbnailer.geometry import (
    DERIVE_GAP,
    DRAFT_GAPS,
    Geometry,
    derivation,
    draft_eighths,
    fit_geometry,
    in_file_orientation,
    pixels_needed,
    scaled_box,
    swap,
)
from thumbnailer.spec import Fit, Size


@pytest.mark.parametrize("src, box, fit, upscale, resize, canvas", [
    ((4000, 3000), Size(256, 256), Fit.CONTAIN, False, (256, 192), None),
    ((3000, 4000), Size(256, 256), Fit.CONTAIN, False, (192, 256), None),
    ((100, 50), Size(256, 256), Fit.CONTAIN, False, (100, 50), None),  # never upscales
    ((100, 50), Size(256, 256), Fit.CONTAIN, True, (256, 128), None),
    ((4000, 3000), Size(300, 100), Fit.CONTAIN, False, (133, 100), None),
    ((4000, 3000), Size(200, None), Fit.COVER, False, (200, 150), None),  # one side: scale
    ((4000, 3000), Size(None, 30), Fit.FILL, False, (40, 30), None),
    ((4000, 3000), Size(100, 100), Fit.FILL, False, (100, 100), None),
    ((40, 30), Size(100, 100), Fit.FILL, False, (100, 100), None),
    ((4000, 3000), Size(100, 100), Fit.PAD, False, (100, 75), (100, 100)),
    ((40, 30), Size(100, 100), Fit.PAD, False, (40, 30), (100, 100)),
    ((4000, 3000), Size(100, 100), Fit.COVER, False, (100, 100), None),
])
def test_fit_geometry(src, box, fit, upscale, resize, canvas):
    g = fit_geometry(src, box, fit, upscale)
    assert g.resize == resize
    assert g.canvas == canvas


def test_cover_crops_the_overflow_centred():
    g = fit_geometry((4000, 3000), Size(100, 100), Fit.COVER)
    assert g.crop == (500.0, 0.0, 3500.0, 3000.0)
    tall = fit_geometry((3000, 4000), Size(200, 100), Fit.COVER)
    assert tall.crop == (0.0, 1250.0, 3000.0, 2750.0)


def test_cover_without_upscale_crops_a_small_source_to_the_box_aspect():
    g = fit_geometry((80, 40), Size(100, 100), Fit.COVER)
    assert g.resize == (40, 40) and g.crop == (20.0, 0.0, 60.0, 40.0)
    assert fit_geometry((80, 40), Size(100, 100), Fit.COVER, upscale=True).resize == (100, 100)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_geometry_in_the_files_axes_fits_the_upright_picture(orientation):
    """A 4000x3000 file stored sideways (5-8) is a 3000x4000 picture."""
    [g] = in_file_orientation((4000, 3000), orientation, [Size(256, 256)], Fit.CONTAIN, False)
    upright = fit_geometry((3000, 4000) if orientation >= 5 else (4000, 3000), Size(256, 256),
                           Fit.CONTAIN)
    assert (swap(g) if orientation >= 5 else g) == upright
    assert g.resize == (256, 192)  # in the file's own axes, whichever way it is turned


def test_swap_twice_is_the_same_geometry():
    g = Geometry((30, 20), (1.0, 2.0, 31.0, 22.0), (40, 40))
    assert swap(g) == Geometry((20, 30), (2.0, 1.0, 22.0, 31.0), (40, 40))
    assert swap(swap(g)) == g


def test_a_crop_box_in_drafted_pixels_never_passes_the_edge():
    assert scaled_box((0.0, 0.0, 4000.0, 3000.0), 8.0, (500, 375)) == (0.0, 0.0, 500.0, 375.0)
    # 8/3 of 1000 is not exact: the far edge is clamped to the drafted size.
    assert scaled_box((0.0, 0.0, 1000.0, 1000.0), 8 / 3, (375, 375))[2:] == (375, 375)


def test_pixels_needed_is_the_largest_geometrys_source_pixels():
    geometries = [fit_geometry((4000, 3000), Size(s, s), Fit.CONTAIN) for s in (1024, 256)]
    assert pixels_needed((4000, 3000), geometries) == (1024.0, 768.0)
    [cover] = [fit_geometry((4000, 3000), Size(100, 100), Fit.COVER)]
    assert pixels_needed((4000, 3000), [cover]) == (100 * 4000 / 3000, 100.0)


@pytest.mark.parametrize("size, need, three, eighths", [
    ((4000, 3000), (256, 192), True, 1),  # 500x375 >= 1.5 x 256x192
    ((4000, 3000), (1024, 768), True, 3),  # 1500x1125 >= 1.2 x 1024x768, 1/4 is too small
    ((4000, 3000), (1024, 768), False, 4),  # no 3/8 without libjpeg-turbo
    ((4000, 3000), (1800, 1350), True, None),  # 1/2 is 2000x1500 < 1.2x: decode it whole
    ((2000, 1500), (256, 192), True, 2),  # 250x188 at 1/8 is under 1.5x; 1/4 is 500x375
])
def test_the_draft_scale_keeps_its_gap(size, need, three, eighths):
    assert draft_eighths(size, need, three) == eighths
    if eighths is not None:
        kept = (-(-size[0] * eighths // 8), -(-size[1] * eighths // 8))
        assert kept[0] >= need[0] * DRAFT_GAPS[eighths] and kept[1] >= need[1] * DRAFT_GAPS[eighths]


def test_smaller_sizes_derive_from_the_smallest_roomy_larger_one():
    whole = (0.0, 0.0, 4000.0, 3000.0)
    g = [fit_geometry((4000, 3000), Size(s, s), Fit.CONTAIN) for s in (128, 1024, 512, 400)]
    plan = derivation(g, whole, wanted={0, 1, 2, 3})
    # 400 comes from 1024 (512 is under 1.5 x 400); 128 from 400, the smallest roomy one.
    assert plan == [(1, None), (2, 1), (3, 1), (0, 3)]
    for i, parent in plan:
        if parent is not None:
            assert g[parent].resize[0] >= DERIVE_GAP * g[i].resize[0]


def test_an_unwanted_base_is_still_made_so_bytes_do_not_depend_on_what_is_wanted():
    whole = (0.0, 0.0, 4000.0, 3000.0)
    g = [fit_geometry((4000, 3000), Size(s, s), Fit.CONTAIN) for s in (1024, 128)]
    assert derivation(g, whole, wanted={1}) == [(0, None), (1, 0)]
    assert derivation(g, whole, wanted={0}) == [(0, None)]


def test_a_cropped_size_is_never_derived_from_another():
    whole = (0.0, 0.0, 4000.0, 3000.0)
    g = [fit_geometry((4000, 3000), Size(1024, 1024), Fit.CONTAIN),
         fit_geometry((4000, 3000), Size(100, 100), Fit.COVER)]
    assert derivation(g, whole, wanted={0, 1}) == [(0, None), (1, None)]
