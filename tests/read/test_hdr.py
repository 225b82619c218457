"""HDR video posters (read/hdr.py): PQ and HLG frames tone-mapped to sRGB.

The anchors are ITU-R BT.2408's reference levels, which do not depend on how
the mapping is written: HDR reference white is PQ 58% and HLG 75% (203 cd/m2),
an 18% grey card PQ 38% and HLG 38%. The clips are encoded here from an sRGB
picture by the standard's own formulas (BT.2087's matrix the other way, HLG's
OETF and inverse OOTF), so the poster can be compared with the picture.
"""

import av
import numpy as np
import pytest
from helpers import channel_difference, hlg_code
from PIL import Image

from thumbnailer.geometry import Need
from thumbnailer.read import hdr, video
from thumbnailer.render import render
from thumbnailer.spec import Settings, Size, Target, Task

#: Code values of BT.2408's reference levels.
WHITE = {hdr.PQ: 0.5808, hdr.HLG: 0.75}
GREY_CARD = {hdr.PQ: 0.38, hdr.HLG: 0.38}



def poster(path: str, s: Settings) -> Image.Image:
    """The poster frame for the job's sizes, as render asks the reader for it."""
    return video.poster(path, Need(s.sizes, s.fit, s.upscale), s)

def sdr(code, transfer, primaries=hdr.BT2020):
    """The sRGB pixel of one grey or coloured code value."""
    rgb = np.array(code if isinstance(code, tuple) else (code,) * 3, dtype=np.float64)
    code16 = np.round(rgb * 65535).astype(np.uint16).reshape(1, 1, 3)
    return tuple(int(v) for v in hdr.to_sdr(code16, transfer, primaries)[0, 0])


@pytest.mark.parametrize("transfer", [hdr.PQ, hdr.HLG])
def test_reference_white_is_near_white_and_a_grey_card_is_mid_grey(transfer):
    white, card = sdr(WHITE[transfer], transfer), sdr(GREY_CARD[transfer], transfer)
    assert white[0] == white[1] == white[2] and 235 <= white[0] < 255
    # 18% grey is 26 cd/m2 in PQ, 0.128 of reference white: sRGB's 100.
    assert card[0] == card[1] == card[2] and 90 <= card[0] <= 110
    # Shown as it was (the code value as an sRGB level), HLG white is 191, a PQ
    # grey card 97 and PQ white 148: dark and flat.


def test_pq_and_hlg_agree_on_the_reference_levels():
    for levels in (WHITE, GREY_CARD):
        pq, hlg = sdr(levels[hdr.PQ], hdr.PQ), sdr(levels[hdr.HLG], hdr.HLG)
        assert abs(pq[0] - hlg[0]) <= 6, (pq, hlg)


def test_highlights_roll_off_without_clipping_and_in_order():
    nits = [203, 400, 1000, 4000]
    pq = [(n / 10000) ** 0.1593017578125 for n in nits]
    code = [((0.8359375 + 18.8515625 * y) / (1 + 18.6875 * y)) ** 78.84375 for y in pq]
    levels = [sdr(c, hdr.PQ)[1] for c in code]
    assert levels == sorted(levels) and len(set(levels)) == len(levels), levels
    assert levels[0] < 250  # reference white is not pushed to the top


def test_colours_keep_their_hue_and_a_wide_gamut_red_is_clipped_to_srgb_red():
    red2020 = sdr((0.75, 0.0, 0.0), hdr.HLG)
    assert red2020[0] > 200 and red2020[1] < 10 and red2020[2] < 10
    # BT.709 primaries (rare in HDR) are not converted: grey stays grey either way.
    assert sdr(WHITE[hdr.HLG], hdr.HLG, primaries=1) == sdr(WHITE[hdr.HLG], hdr.HLG)


def hlg_clip(path, picture: Image.Image, frames=3, dark=0):
    """A 10-bit H.264 clip, losslessly coded, tagged HLG / BT.2020 as phones tag
    theirs: ``dark`` black frames, then ``picture``; one keyframe, at the start."""
    def coded(im):
        code = np.round(hlg_code(im) * 65535).astype(np.uint16)
        return av.VideoFrame.from_ndarray(code, format="rgb48le").reformat(
            format="yuv420p10le", dst_colorspace=9, dst_color_range="MPEG")  # 9: BT.2020

    frame, black = coded(picture), coded(Image.new("RGB", picture.size))
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = picture.width, picture.height, "yuv420p10le"
        stream.gop_size = frames
        stream.options = {"qp": "0", "x264-params": "scenecut=0:colorprim=bt2020:"
                          "transfer=arib-std-b67:colormatrix=bt2020nc"}
        for i in range(frames):
            shown = black if i < dark else frame
            shown.pts = i  # one frame object shown again: its time said each time
            for packet in stream.encode(shown):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def scene(size=(320, 180)):
    """Skin, sky, foliage and greys: every level under the roll-off's knee."""
    im = Image.new("RGB", size, (120, 120, 120))
    w, h = size
    for i, colour in enumerate([(224, 172, 140), (90, 150, 220), (70, 130, 60), (200, 60, 50),
                                (30, 30, 30), (180, 180, 180)]):
        im.paste(colour, (i * w // 6, h // 3, (i + 1) * w // 6, h))
    return im


def test_an_hlg_clip_gives_the_picture_it_was_made_from(tmp_path):
    """A differential round trip: the picture, through HLG and H.264 and back."""
    picture = scene()
    video = hlg_clip(tmp_path / "hlg.mp4", picture)
    with av.open(str(video)) as container:
        frame = next(container.decode(video=0))
        assert (frame.color_trc, frame.color_primaries) == (hdr.HLG, hdr.BT2020)
        flat = frame.to_image()  # what the poster was before: the code values as sRGB
    made = poster(str(video), Settings(sizes=(Size(320, 320),)))
    assert made.size == picture.size
    assert channel_difference(made, picture) < 3.0
    assert channel_difference(flat, picture) > 15.0  # the bug this mends is visible


def test_an_hdr_clip_that_starts_black_gives_its_first_frame_with_content(tmp_path):
    """3 s, one keyframe, black to frame 4 (the tenth is frame 3): the poster is
    frame 5, found past the blank ones and tone-mapped as any HDR poster."""
    picture = scene()
    video = hlg_clip(tmp_path / "hlg.mp4", picture, frames=30, dark=5)
    made = poster(str(video), Settings(sizes=(Size(320, 320),)))
    assert channel_difference(made, picture) < 3.0


def test_render_makes_an_hdr_posters_thumbnail(tmp_path):
    """Through render, scaled down in FFmpeg's conversion (16 bits a channel)."""
    video = hlg_clip(tmp_path / "hlg.mp4", scene((640, 360)))
    s = Settings(sizes=(Size(96, 96),))
    [entry] = render(Task(str(video), (Target(Size(96, 96), str(tmp_path / "t")),), s)).entries
    assert entry.error is None, entry.error
    with Image.open(entry.output) as thumb:
        expected = scene((640, 360))
        expected.thumbnail((96, 96), Image.Resampling.LANCZOS)
        assert thumb.size == expected.size
        assert channel_difference(thumb, expected) < 4.0


@pytest.mark.parametrize("old_mark", ["", "+poster2"])
def test_video_thumbnails_made_by_the_old_poster_rule_are_made_again(tmp_path, monkeypatch,
                                                                     old_mark):
    """Those of HDR clips were wrong (before "+poster2"), as were those of clips
    whose keyframe before the tenth was not the frame there (before "+poster3"),
    and neither is known without opening the clip: so every video's thumbnails
    are remade, once, and photos' are not."""
    import dataclasses

    from click.testing import CliRunner

    from thumbnailer import cli
    from thumbnailer import plan as plan_module
    from thumbnailer.read import kinds

    folder, out = tmp_path / "phone", tmp_path / "out"
    folder.mkdir()
    hlg_clip(folder / "IMG_0001.MOV", scene((160, 90)))
    scene((160, 90)).save(folder / "IMG_0002.JPG")
    run = [str(folder), "-o", str(out), "-w", "1"]
    old = dataclasses.replace(kinds.VIDEO, mark=old_mark)  # the old rule
    monkeypatch.setattr(plan_module, "kind_of",
                        lambda path: old if kinds.kind_of(path) is kinds.VIDEO
                        else kinds.kind_of(path))
    assert CliRunner().invoke(cli.main, run).stderr.startswith("2 images: 2 made (2 thumbnails) in")
    monkeypatch.undo()
    again = CliRunner().invoke(cli.main, run)
    assert again.stderr.startswith("2 images: 1 made (1 thumbnail), 1 up to date in"), again.stderr
    assert CliRunner().invoke(cli.main, run).stderr.startswith("2 images: 2 up to date in")


def test_without_numpy_an_hdr_clip_says_what_to_install(tmp_path, monkeypatch):
    import sys

    from thumbnailer.read import RenderError

    video = hlg_clip(tmp_path / "hlg.mp4", scene((160, 90)))
    monkeypatch.setitem(sys.modules, "numpy", None)  # PyAV without numpy
    with pytest.raises(RenderError, match=r"^an HDR video: tone mapping it needs numpy: "
                                          r"pip install 'thumbnailer\[video\]'$"):
        poster(str(video), Settings(sizes=(Size(64, 64),)))


def test_a_frame_taller_than_a_chunk_is_mapped_as_its_rows_alone_are():
    code = np.random.default_rng(0).integers(0, 65536, (hdr.ROWS * 2 + 7, 5, 3), dtype=np.uint16)
    whole = hdr.to_sdr(code, hdr.HLG, hdr.BT2020)
    rows = np.concatenate([hdr.to_sdr(code[i:i + 1], hdr.HLG, hdr.BT2020)
                           for i in range(code.shape[0])])
    assert whole.dtype == np.uint8 and whole.shape == code.shape
    assert np.array_equal(whole, rows)
