"""--help: the options under their headings, each once, on one screen's worth of
lines at 80 columns; the details are docs/usage.md's."""

import re

import click
from click.testing import CliRunner

from thumbnailer import cli
from thumbnailer.cli.groups import GROUPS, OTHER

#: A row of an option: two spaces, then its names (and metavar).
ROW = re.compile(r"^  (-[^ ].*?)(?:  |$)")


def help_text(width=80):
    result = CliRunner().invoke(cli.main, ["--help"], terminal_width=width)
    assert result.exit_code == 0
    return result.stdout


def options():
    ctx = click.Context(cli.main)
    help_option = cli.main.get_help_option(ctx)
    return {("help" if p is help_option else p.name): p for p in cli.main.get_params(ctx)
            if isinstance(p, click.Option)}


def test_every_option_is_in_exactly_one_group():
    grouped = [name for names in GROUPS.values() for name in names]
    assert len(grouped) == len(set(grouped)), "an option in two groups"
    assert set(grouped) == set(options()), "an option with no group, or a group entry " \
        "with no option: give each option a heading in thumbnailer/cli/groups.py"


def test_the_headings_come_in_order_and_no_option_is_left_over():
    text = help_text()
    headings = [line[:-1] for line in text.splitlines() if re.fullmatch(r"\S.*:", line)]
    assert headings == [*GROUPS]
    assert f"{OTHER}:" not in text and "\nOptions:" not in text


def test_every_option_is_listed_once_under_its_heading():
    text = help_text()
    listed = {}  # each option's names -> the heading it is under
    heading = None
    for line in text.split("\n\n  Examples:")[0].splitlines():
        if re.fullmatch(r"\S.*:", line):
            heading = line[:-1]
        elif match := ROW.match(line):
            names = frozenset(re.findall(r"(?<![\w-])--?[\w-]+", match[1].split(" [")[0]))
            assert names not in listed, f"{sorted(names)} listed twice"
            listed[names] = heading
    for name, param in options().items():
        names = frozenset(param.opts + param.secondary_opts)
        assert listed.get(names) == next(h for h, ns in GROUPS.items() if name in ns), name
    assert len(listed) == len(options())


def test_the_help_fits_100_lines_of_80_columns():
    text = help_text()
    lines = text.splitlines()
    assert len(lines) <= 100
    assert max(len(line) for line in lines) <= 80


def test_the_help_ends_pointing_to_the_docs():
    assert "docs/usage.md" in help_text().rstrip().splitlines()[-1]


def test_an_option_without_a_group_still_shows(monkeypatch):
    """Help never hides an option: one left out of GROUPS comes last, under its own heading."""
    monkeypatch.setattr(cli.groups, "GROUPS", {h: tuple(n for n in ns if n != "wait")
                                               for h, ns in GROUPS.items()})
    text = help_text()
    assert text.index(f"{OTHER}:") < text.index("  --wait ") < text.index("Examples:")
