"""Sizes, durations and amounts of memory as people type them."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thumbnailer.spec import MAX_SIDE, Size
from thumbnailer.units import parse_bytes, parse_duration, parse_size

sides = st.integers(1, MAX_SIDE)


@given(sides)
def test_a_single_number_is_a_square_box(n):
    assert parse_size(str(n)) == Size(n, n)


@given(st.one_of(st.none(), sides), st.one_of(st.none(), sides))
def test_label_parses_back_to_the_same_size(w, h):
    if w is None and h is None:
        return
    size = Size(w, h)
    assert parse_size(size.label) == size


@pytest.mark.parametrize("text, expected", [
    ("320x200", Size(320, 200)), ("320X200", Size(320, 200)), (" 320 x 200 ", Size(320, 200)),
    ("320x", Size(320, None)), ("x200", Size(None, 200)), ("64\u00d748", Size(64, 48)),
])
def test_spellings(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "x", "0", "-5", "12.5", "abc", "10x10x10", "0x10",
                                  f"{MAX_SIDE + 1}", "256px"])
def test_nonsense_is_refused_with_a_hint(text):
    with pytest.raises(ValueError, match=r"size|between"):
        parse_size(text)


@given(st.text(max_size=12))
def test_any_text_parses_or_raises_value_error(text):
    try:
        size = parse_size(text)
    except ValueError:
        return
    assert size.width or size.height


@pytest.mark.parametrize("text, seconds", [
    ("90", 90), ("90s", 90), ("15m", 900), ("2h", 7200), ("1h30m", 5400), (" 1H 30M ", 5400),
    ("0.5s", 0.5),
])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "0", "0s", "1d", "-5m", "m"])
def test_a_duration_that_is_not_one_is_refused(text):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize("text, amount", [
    ("4000000", 4_000_000), ("512M", 512 << 20), ("512mb", 512 << 20), ("2G", 2 << 30),
    ("1.5GiB", 3 << 29), ("64k", 64 << 10), ("1T", 1 << 40), (" 2 g ", 2 << 30), ("100b", 100),
])
def test_amounts_of_memory_count_in_binary_units(text, amount):
    assert parse_bytes(text) == amount


def test_a_share_is_of_the_whole_it_is_given():
    assert parse_bytes("50%", whole=8 << 30) == 4 << 30
    assert parse_bytes("12.5%", whole=800) == 100
    with pytest.raises(ValueError, match="share"):
        parse_bytes("50%")


@pytest.mark.parametrize("text", ["", "lots", "0", "0G", "-1G", "2X", "0%", "101%", "x%"])
def test_an_amount_that_is_not_one_is_refused(text):
    with pytest.raises(ValueError, match=r"bytes|share|more than"):
        parse_bytes(text, whole=100)
