"""The data flows one way; these tests keep the module imports saying so."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "thumbnailer"

ALLOWED = {
    "spec": set(),
    "formats": {"jxl", "spec"},
    "geometry": {"spec"},
    "atomic": set(),
    # storage picks a path's store; remote (imported only for a URL) is one of them.
    "urls": set(),
    "storage": {"atomic", "lock", "remote", "urls"},
    "remote": {"storage"},
    "kinds": set(),
    "sources": {"kinds", "spec", "storage"},
    "records": {"storage"},
    "ledger": {"spec"},
    "legacy": {"storage"},
    "trouble": {"storage"},
    "sweep": {"records", "storage", "trouble"},
    "state": {"ledger", "legacy", "records", "storage", "sweep", "trouble"},
    "names": {"spec"},
    "checks": {"names", "sources", "spec", "storage"},
    "fresh": {"formats", "records", "sources", "spec", "storage"},
    "plan": {"checks", "fresh", "kinds", "spec", "names", "sources", "records", "state", "storage",
             "formats", "ledger"},
    "draft": {"decode", "geometry"},
    # The desktop cache's needs reach render on its targets: render knows no xdg.
    "decode": {"openers", "spec"},
    "openers": {"jxl", "spec"},
    "jxl": set(),
    "colour": set(),
    "render": {"spec", "colour", "cost", "crop", "decode", "draft", "storage", "formats",
               "geometry", "kinds", "links", "placeholders", "raw", "video"},
    "placeholders": set(),
    "links": {"spec", "storage"},
    "xdg": {"spec"},
    "desktop": {"atomic", "checks", "plan", "sources", "spec", "state", "xdg"},
    "crop": {"spec"},
    "prune": {"plan", "storage"},
    "gallery": {"spec", "spool", "report", "storage", "formats", "urls"},
    "workers": {"budget"},
    "budget": set(),
    "cost": {"budget", "decode", "jxl", "draft", "geometry", "kinds", "raw", "spec", "storage",
             "video"},
    "video": {"decode", "geometry", "hdr", "spec", "storage"},
    "hdr": set(),
    "raw": {"decode", "draft", "geometry", "spec"},
    "run": {"budget", "workers"},
    "engines": set(),
    "spool": {"spec", "storage"},
    "report": {"spec", "spool", "storage", "urls"},
    "lock": set(),
    "markdown": {"spec", "report"},
    "deadline": {"spec"},
    "units": {"spec"},
    "params": {"budget", "formats", "render", "spec", "storage", "units"},
    "job": {"budget", "checks", "cost", "decode", "ledger", "spool", "storage", "deadline",
            "trouble", "engines", "formats", "kinds", "lock", "markdown", "plan", "prune", "render",
            "report", "run", "spec", "gallery", "desktop", "xdg", "__init__"},
    "console": {"report", "spec"},
    "cli": {"console", "job", "params", "spec", "storage", "xdg", "run", "engines",
            "prune", "units", "__init__"},
}


def imports(module):
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    own, external = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level and node.module:
                own.add(node.module)
            elif node.level:  # from . import storage, or from . import __version__
                own.update(a.name if a.name != "__version__" else "__init__"
                           for a in node.names)
            else:
                external.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            external.update(alias.name.split(".")[0] for alias in node.names)
    return own, external


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_modules_import_only_downstream(module):
    own, _ = imports(module)
    assert own <= ALLOWED[module]


@pytest.mark.parametrize("module", sorted(set(ALLOWED) - {"cli", "console", "params"}))
def test_only_the_cli_knows_click_and_tqdm(module):
    _, external = imports(module)
    assert not external & {"click", "tqdm"}


#: Modules that never import Pillow: only the pixel work (render, decode, draft,
#: crop), and the CLI's option types (colours, the pixel limit), do.
NO_PILLOW = ["run", "workers", "engines", "storage", "remote", "plan", "names", "spool",
             "prune", "gallery", "checks",
             "formats", "geometry", "job", "sources", "state", "spec", "report", "lock",
             "records", "ledger", "legacy", "units", "budget", "kinds", "links", "fresh", "jxl",
             "openers", "hdr"]


@pytest.mark.parametrize("module", NO_PILLOW)
def test_only_render_knows_pillow(module):
    _, external = imports(module)
    assert "PIL" not in external


def test_every_module_is_listed():
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    assert modules == set(ALLOWED)


@pytest.mark.parametrize("module", sorted(set(ALLOWED) - {"video"}))
def test_only_video_knows_pyav(module):
    """(video.py imports it only when a video is met: the default path never does.)"""
    _, external = imports(module)
    assert "av" not in external


@pytest.mark.parametrize("module", sorted(set(ALLOWED) - {"jxl", "openers"}))
def test_only_jxl_and_the_openers_know_the_optional_plugins(module):
    """(Each imports its plugin only when a file of its own is met.)"""
    _, external = imports(module)
    assert not external & {"pillow_jxl", "pillow_heif"}


@pytest.mark.parametrize("module", sorted(set(ALLOWED) - {"raw"}))
def test_only_raw_knows_rawpy(module):
    """(raw.py imports it only when a RAW file is met: the default path never does.)"""
    _, external = imports(module)
    assert "rawpy" not in external
    if module not in ("hdr", "video"):  # numpy: RAW mosaics, HDR video frames; lazily
        assert "numpy" not in external


@pytest.mark.parametrize("module", sorted(set(ALLOWED) - {"remote"}))
def test_only_remote_knows_fsspec(module):
    _, external = imports(module)
    assert "fsspec" not in external


@pytest.mark.parametrize("module", sorted(set(ALLOWED) - {"storage", "remote", "cli", "params"}))
def test_only_storage_tells_local_from_remote(module):
    """Everything else asks the path's store; the CLI's option types alone check
    a local path exists while parsing, and let a URL through."""
    source = (PACKAGE / f"{module}.py").read_text()
    assert ("is_url(" not in source and "os.stat(" not in source) or module in {"desktop", "xdg"}
