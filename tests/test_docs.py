"""The documentation stays true: the architecture page against the code, the site's
pages against its navigation, and the README's links against the files."""

import re

import pytest
from test_layers import ALLOWED, PACKAGE

ROOT = PACKAGE.parent
DOCS = ROOT / "docs"

ROW = re.compile(r"^\| `(\w+)\.py` \| (.+?) \|(.*)\|$", re.M)


def architecture_rows():
    text = (DOCS / "architecture.md").read_text()
    return {m.group(1): (m.group(2), set(re.findall(r"`(\w+)`", m.group(3))))
            for m in ROW.finditer(text)}


def test_the_architecture_page_lists_every_module():
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    assert set(architecture_rows()) == modules


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_the_architecture_page_says_what_each_module_may_import(module):
    job, may_import = architecture_rows()[module]
    assert job.strip()
    assert may_import == ALLOWED[module]


def test_every_page_is_in_the_site_navigation():
    nav = set(re.findall(r":\s*(\S+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(), re.M))
    assert nav == {p.name for p in DOCS.glob("*.md")}


def test_the_readme_links_to_files_that_exist():
    text = (ROOT / "README.md").read_text()
    targets = {t.split("#")[0] for t in re.findall(r"\]\(([^)#][^)]*)\)", text)
               if "://" not in t}
    assert targets  # the README does link into docs/
    for target in targets:
        assert (ROOT / target).exists(), target


def test_the_readme_stays_a_front_page():
    """The manual lives in docs/; the README keeps the pitch, the two commands, the three
    ways people use it, options at a glance and links."""
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 220
    for heading in ("## Three ways people use it", "## Options at a glance"):
        assert heading in text
