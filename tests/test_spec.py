import dataclasses
import pickle

import pytest

from thumbnailer.spec import ColourSpace, Crop, Fit, Format, Hdr, Settings, Size


def test_labels():
    assert [Size(256, 256).label, Size(320, 200).label, Size(320, None).label,
            Size(None, 200).label] == ["256", "320x200", "320x", "x200"]


# One changed value per field that shapes the output bytes.
OUTPUT_CHANGES = {
    "quality": 60, "fit": Fit.COVER, "upscale": True,
    "background": (0, 0, 0, 255), "keep_metadata": True, "animated": True, "max_frames": 5,
    "colour_space": ColourSpace.P3, "hdr": Hdr.KEEP,
}
S256 = Size(256, 256)


def test_every_output_field_is_covered_by_this_test():
    marked = {f.name for f in dataclasses.fields(Settings) if f.metadata.get("output")}
    # crop: its own test below; xdg_cache needs other settings to change with it.
    assert marked == set(OUTPUT_CHANGES) | {"crop", "xdg_cache"}


@pytest.mark.parametrize("name, value", OUTPUT_CHANGES.items())
def test_changing_an_output_field_changes_the_fingerprint(name, value):
    base = Settings()
    changed = dataclasses.replace(base, **{name: value})
    assert changed.fingerprint(S256, Format.AUTO) != base.fingerprint(S256, Format.AUTO)


def test_crop_is_part_of_the_fingerprint():
    base = Settings(fit=Fit.COVER)
    changed = dataclasses.replace(base, crop=Crop.ATTENTION)
    assert changed.fingerprint(S256, Format.AUTO) != base.fingerprint(S256, Format.AUTO)


@pytest.mark.parametrize("name, value", {
    "output": "elsewhere", "include": ("*.png",), "exclude": ("raw",), "hidden": True,
    "follow_symlinks": True, "force": True, "name": "{stem}-small", "max_pixels": 10,
    "formats": (Format.AUTO, Format.WEBP),
}.items())
def test_fields_that_do_not_shape_bytes_leave_the_fingerprint_alone(name, value):
    base = Settings()
    changed = dataclasses.replace(base, **{name: value})
    assert changed.fingerprint(S256, Format.AUTO) == base.fingerprint(S256, Format.AUTO)


def test_the_size_and_format_are_part_of_the_fingerprint():
    s = Settings()
    assert s.fingerprint(S256, Format.AUTO) != s.fingerprint(Size(128, 128), Format.AUTO)
    assert s.fingerprint(Size(256, None), Format.AUTO) != s.fingerprint(Size(None, 256),
                                                                      Format.AUTO)
    assert s.fingerprint(S256, Format.AUTO) != s.fingerprint(S256, Format.WEBP)


def test_the_other_sizes_are_part_of_the_fingerprint():
    # Smaller sizes are derived from larger ones: the set of sizes shapes the bytes.
    more = Settings(sizes=(Size(1024, 1024), S256))
    assert more.fingerprint(S256, Format.AUTO) != Settings().fingerprint(S256, Format.AUTO)


@pytest.mark.parametrize("kwargs", [
    {"sizes": ()}, {"sizes": (Size(5, 5), Size(5, 5))}, {"quality": 0}, {"quality": 101},
    {"max_pixels": 0}, {"background": (1, 2, 3)}, {"formats": ()},
    {"formats": (Format.WEBP, Format.WEBP)}, {"formats": (Format.AUTO, Format.JPEG)},
    {"formats": (Format.PNG, Format.AUTO)}, {"crop": Crop.ENTROPY},
])
def test_invalid_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        Settings(**kwargs)


def test_settings_are_frozen_and_picklable():
    s = Settings(sizes=(Size(10, None),), formats=(Format.PNG,))
    assert pickle.loads(pickle.dumps(s)) == s
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.quality = 3


def test_default_name_template_encodes_the_size_only_when_needed():
    assert Settings().name_template == "{stem}"
    assert Settings(sizes=(Size(1, 1), Size(2, 2))).name_template == "{stem}_{size}"
    assert Settings(name="{size}/{stem}").name_template == "{size}/{stem}"
