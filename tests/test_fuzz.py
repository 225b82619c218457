"""Fuzzing render with damaged images of every format it reads.

The property: whatever the bytes, render returns an outcome (made, or failed
with a one-line reason), never raises, never hangs past its limits, writes only
inside the output folder and leaves no temporary behind.

CI runs THUMBNAILER_FUZZ_EXAMPLES (default 300) cases; a longer run by hand:
THUMBNAILER_FUZZ_EXAMPLES=20000 pytest tests/test_fuzz.py
"""

import io
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from thumbnailer.render import render
from thumbnailer.spec import Settings, Size, Status, Target, Task

EXAMPLES = int(os.environ.get("THUMBNAILER_FUZZ_EXAMPLES", "300"))
Image.init()
#: Every format the walk picks up by default that this Pillow can also write (for seeds).
FORMATS = {fmt: ext for fmt, ext in {
    "JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp", "BMP": ".bmp",
    "TIFF": ".tif", "AVIF": ".avif", "ICO": ".ico", "TGA": ".tga", "PPM": ".ppm", "QOI": ".qoi",
}.items() if fmt in Image.SAVE}


def _seed_image(fmt: str) -> bytes:
    im = Image.linear_gradient("L").resize((64, 48)).convert("RGB")
    if fmt == "PNG":
        im = im.convert("RGBA")
    extra = {}
    if fmt == "JPEG":
        exif = Image.Exif()
        exif[0x0112] = 6
        extra = {"exif": exif.tobytes(), "progressive": True}
    buf = io.BytesIO()
    (im.convert("P") if fmt == "GIF" else im).save(buf, fmt, **extra)
    return buf.getvalue()


SEEDS = {fmt: _seed_image(fmt) for fmt in FORMATS}

flips = st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 7)), max_size=8)


@st.composite
def damaged(draw):
    fmt = draw(st.sampled_from(sorted(FORMATS)))
    data = bytearray(SEEDS[fmt])
    for pos, bit in draw(flips):
        data[pos % len(data)] ^= 1 << bit
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(max_size=64))
    if draw(st.integers(0, 9)) == 0:  # another format's header on this body
        other = SEEDS[draw(st.sampled_from(sorted(FORMATS)))]
        data[:32] = other[:32]
    return fmt, bytes(data)


#: Every decoder, not only the default ones: the seeds include ICO, TGA, PPM, QOI.
LIMITS = Settings(max_pixels=4_000_000, timeout=10, allow_formats=("ALL",))


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(damaged(), st.sampled_from([(Size(32, 32),), (Size(40, None), Size(8, 8))]))
def test_damaged_images_give_an_outcome_never_an_exception(case, sizes):
    fmt, data = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        src = root / f"input{FORMATS[fmt]}"
        src.write_bytes(data)
        out = root / "out"
        task = Task(str(src), tuple(Target(s, str(out / f"t_{s.label}")) for s in sizes),
                    LIMITS)
        outcome = render(task)  # must not raise
        assert len(outcome.entries) == len(sizes)
        for entry in outcome.entries:
            assert entry.status in (Status.CREATED, Status.FAILED)
            if entry.status is Status.FAILED:
                assert entry.error and "\n" not in entry.error
                assert not entry.error.startswith("unexpected error"), entry.error
            else:
                assert Path(entry.output).parent == out and Path(entry.output).exists()
        everything = {p.relative_to(root) for p in root.rglob("*")}
        assert everything <= {Path(src.name), Path("out")} | {
            Path("out") / Path(e.output).name for e in outcome.entries if e.output}
        assert src.read_bytes() == data  # the source is never touched
