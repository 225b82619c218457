"""The table of kinds: what each kind is, which reader reads it, what a walk
takes; and that the rest of the package asks the table, never a kind."""

import importlib
import re
from pathlib import Path

import pytest
from helpers import photo

from thumbnailer import read
from thumbnailer.read import kinds
from thumbnailer.render import render
from thumbnailer.spec import Format, Settings, Size, Status, Target, Task

PACKAGE = Path(read.__file__).resolve().parent.parent


@pytest.mark.parametrize(("name", "kind"), [
    ("a/IMG_1.JPG", kinds.IMAGE), ("b.heic", kinds.IMAGE), ("c.jxl", kinds.IMAGE),
    ("d.CR3", kinds.RAW), ("e.dng", kinds.RAW), ("f.MOV", kinds.VIDEO), ("g.mkv", kinds.VIDEO),
    ("no-extension", kinds.IMAGE), ("odd.name.png", kinds.IMAGE),
])
def test_a_source_is_known_by_its_name_or_is_an_image(name, kind):
    # HEIF and JPEG XL are known by content: the image reader opens them, plugged.
    assert kinds.kind_of(name) is kind


def test_every_kind_has_a_reader_and_every_plugged_kind_a_plugin():
    for kind in kinds.KINDS:
        reader = read.reader(kind)
        assert callable(reader.read) and callable(reader.memory), kind.name
        if kind.pillow:
            assert kind in kinds.PLUGGED
            plugin = importlib.import_module(f"thumbnailer.read.{kind.plugin}")
            assert all(callable(getattr(plugin, f)) for f in ("recognises", "admit", "register"))


def test_the_walk_takes_the_kinds_the_settings_switch_on(monkeypatch):
    taken = kinds.walked(Settings())
    assert {".jpg", ".heic", ".jxl", ".mov", ".dng"} <= taken and ".psd" not in taken
    assert ".psd" in kinds.walked(Settings(allow_formats=("PSD",)))
    assert ".mov" not in kinds.walked(Settings(video=False))
    assert ".dng" not in kinds.walked(Settings(raw=False))
    # Without PyAV, videos are not walked; without rawpy, RAW files are (each is
    # then named with what to install).
    monkeypatch.setattr(kinds, "installed", lambda kind: kind.needs is None)
    taken = kinds.walked(Settings())
    assert ".mov" not in taken and ".dng" in taken


def test_mime_types_come_from_the_table_where_pillow_does_not_say():
    assert kinds.mime_type("x/IMG_1.MOV") == "video/quicktime"
    assert kinds.mime_type("a.NEF") == "image/x-nikon-nef"
    assert kinds.mime_type("a.jpg") == ""  # Pillow names it once the file is open


#: Names that test for one kind of source, outside read/.
_KIND_TESTS = re.compile(r"\b(is_video|is_raw|is_jxl|is_heif|kinds\.(IMAGE|HEIF|JXL|RAW|VIDEO)"
                         r"|import[^\n]*\b(IMAGE|HEIF|JXL|RAW|VIDEO)\b)")


def test_render_the_plan_and_the_job_ask_the_table_not_a_kind():
    for folder in ("render", "plan", "outputs", "run", "storage", "cli"):
        for module in (PACKAGE / folder).rglob("*.py"):
            assert not _KIND_TESTS.search(module.read_text()), module
    for module in ("job.py", "read/cost.py", "read/__init__.py"):
        assert not _KIND_TESTS.search((PACKAGE / module).read_text()), module


def test_one_source_through_render_enters_its_reader_once(tmp_path, monkeypatch):
    """Three sizes, two formats: one read, one open of the file, one load."""
    from thumbnailer.read import image, pillow

    calls = {"read": 0, "open": 0, "load": 0}

    def counted(name, real):
        def call(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)
        return call

    monkeypatch.setattr(image, "read", counted("read", image.read))
    monkeypatch.setattr(image, "open_image", counted("open", image.open_image))
    monkeypatch.setattr(image, "load_pixels", counted("load", pillow.load_pixels))
    src = photo(tmp_path / "p.jpg", (1200, 900))
    sizes = (Size(512, 512), Size(256, 256), Size(64, 64))
    settings = Settings(sizes=sizes)
    targets = tuple(Target(s, str(tmp_path / "out" / f"p_{s.label}"), f)
                    for s in sizes for f in (Format.JPEG, Format.WEBP))
    outcome = render(Task(str(src), targets, settings))
    assert [e.status for e in outcome.entries] == [Status.CREATED] * 6
    assert calls == {"read": 1, "open": 1, "load": 1}
