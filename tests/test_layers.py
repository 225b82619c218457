"""The data flows one way. The rule is the import-linter contract in pyproject.toml
([tool.importlinter]): the layers, and which modules alone may import click, tqdm,
Pillow and each optional extra. These tests run it, and keep the rules it cannot say."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "thumbnailer"
ROOT = PACKAGE.parent

try:
    import tomllib
except ImportError:  # Python 3.10: import-linter brings tomli
    import tomli as tomllib


def modules():
    """Every module of the package, by its path below it: "job.py", "storage/remote.py"."""
    return sorted(p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py"))


def contract(contract_id):
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return next(c for c in config["contracts"] if c["id"] == contract_id)


def layers():
    """The layers contract's layers, top first: each a list of module names."""
    return [[m.strip() for m in layer.replace("|", ":").split(":")]
            for layer in contract("layers")["layers"]]


def test_the_import_contracts_hold():
    """``lint-imports``, on this checkout (not an installed copy), as .ci/run runs it."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    done = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()",
         "--no-cache"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize("module", modules())
def test_only_storage_tells_local_from_remote(module):
    """Everything else asks the path's store; the CLI's option types alone check
    a local path exists while parsing, and let a URL through."""
    if module.split("/")[0].removesuffix(".py") in {"storage", "cli"}:
        return
    source = (PACKAGE / module).read_text()
    assert ("is_url(" not in source and "os.stat(" not in source) or module in {
        "outputs/desktop/__init__.py", "outputs/desktop/xdg.py"}
