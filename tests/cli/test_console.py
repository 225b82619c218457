"""The terminal's reporter: the progress bar while the walk still finds work."""

import io
import os
import sys

import pytest

from thumbnailer.cli.console import ConsoleReporter
from thumbnailer.cli.flags import flagged


def test_the_bar_counts_while_the_walk_goes_and_gets_a_total_at_its_end(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    reporter = ConsoleReporter(progress=True)
    with reporter.progress(None):
        bar = reporter.bar
        assert bar is not None and bar.total is None  # no total while walking: a count, a rate
        bar.update(3)
        bar.refresh()  # (tqdm draws at most every 0.1 s by itself)
        assert "3img" in err.getvalue().replace(" ", "")  # a count before any total
        reporter.walked(5)
        assert bar.total == 5
    assert reporter.bar is None
    assert "3/5" in err.getvalue()


def test_no_bar_without_a_terminal_unless_asked(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    reporter = ConsoleReporter()
    with reporter.progress(None):
        assert reporter.bar is None
    reporter.walked(5)  # nothing to update: fine


def test_lines_are_made_printable_as_repr_would():
    from thumbnailer.cli.console import printable

    assert printable("photos/a b.jpg: fine") == "photos/a b.jpg: fine"
    assert printable("é/ü.jpg") == "é/ü.jpg"
    assert printable("a\nb\tc\rd\x1b[2J\x7f\x85") == "a\\nb\\tc\\rd\\x1b[2J\\x7f\\x85"
    assert printable("x\u2028y\u2029z\u202e") == "x\\u2028y\\u2029z\\u202e"
    assert printable(os.fsdecode(b"caf\xe9.jpg")) == "caf\\xe9.jpg"
    assert printable("C:\\photos\\a.jpg") == "C:\\photos\\a.jpg"  # backslashes as they are


def test_a_failure_found_while_planning_is_one_line_per_source_even_when_quiet(capsys):
    from thumbnailer.spec import Entry, Status

    reporter = ConsoleReporter(quiet=True)
    for size in ("64", "128"):
        reporter.skipped(Entry("p/..a.jpg", size, Status.FAILED, error="bad name"))
    reporter.skipped(Entry("p/b.jpg", "64", Status.FAILED, error="old", since="2024-01-01"))
    assert capsys.readouterr().err == "p/..a.jpg: bad name\n"


@pytest.mark.parametrize(("quiet", "verbose", "printed"), [
    (False, True, ["p/a.tif: warning: More samples per pixel than can be decoded: 65535",
                   "p/a.tif: warning: a bell \\x07 and\\nsecond line"]),
    (False, False, []),
    (True, True, []),  # --quiet wins
])
def test_what_the_libraries_said_is_one_line_each_naming_the_file_with_verbose(
        capsys, quiet, verbose, printed):
    from thumbnailer.spec import Outcome

    said = ("More samples per pixel than can be decoded: 65535", "a bell \x07 and\nsecond line")
    ConsoleReporter(quiet=quiet, verbose=verbose).outcome(Outcome("p/a.tif", (), warnings=said))
    assert capsys.readouterr().err.splitlines() == printed


@pytest.mark.parametrize(("library", "printed"), [
    ("took longer than 5 s (Settings.timeout)", "took longer than 5 s (--timeout)"),
    ("truncated (EOFError); Settings.fail_on=none keeps what was decoded",
     "truncated (EOFError); --fail-on none keeps what was decoded"),
    ("more than Options.prune_limit=20% allows; run again with Options.prune_limit=100%",
     "more than --prune-limit 20% allows; run again with --prune-limit 100%"),
    ("Options.check: 2 thumbnails are missing", "--check: 2 thumbnails are missing"),
    # A file's name is not a setting, nor is a field the command line does not set.
    ("/photos/Options.prune.jpg: empty file", "/photos/Options.prune.jpg: empty file"),
    ("Settings.prune_limits, Options.keep_entries", "Settings.prune_limits, Options.keep_entries"),
])
def test_the_console_spells_the_librarys_settings_as_flags(library, printed):
    assert flagged(library) == printed
