"""The documentation stays true: the architecture page against the code, the site's
pages against its navigation, and the README's links against the files."""

import re

from test_layers import PACKAGE, layers, modules

ROOT = PACKAGE.parent
DOCS = ROOT / "docs"

ROW = re.compile(r"^\| `([\w/]+\.py)` \| (.+?) \|$", re.M)
LAYER = re.compile(r"^\| (.+?) \| (`.+) \|$", re.M)


def section(heading):
    text = (DOCS / "architecture.md").read_text()
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_the_architecture_page_lists_every_module():
    rows = {m.group(1): m.group(2) for m in ROW.finditer(section("Modules"))}
    assert set(rows) == set(modules()) - {"__init__.py", "__main__.py"}
    assert all(job.strip() for job in rows.values())


def test_the_architecture_page_draws_the_contracts_layers():
    drawn = [re.findall(r"`(\w+)`", m.group(2)) for m in LAYER.finditer(section("Layers"))]
    assert drawn == layers()


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
