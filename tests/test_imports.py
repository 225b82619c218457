"""What an unchanged rerun loads: no Pillow, no reader, no pool (the rerun's
cost is the walk, and a third of a fresh process's start-up was imports)."""

import subprocess
import sys

from helpers import photo

RERUN = """
import runpy, sys
sys.argv = ["thumbnailer", *sys.argv[1:]]
try:
    runpy.run_module("thumbnailer", run_name="__main__")
except SystemExit as e:
    assert not e.code, e.code
loaded = sorted({m.split(".")[0] for m in sys.modules})
print(" ".join(m for m in loaded if m in ("PIL", "numpy", "tqdm", "concurrent", "pillow_heif")
               or m.startswith("thumbnailer.re")))
print(" ".join(m for m in sys.modules if m.startswith(("thumbnailer.render", "thumbnailer.read."))
               and m.rpartition(".")[2] not in ("kinds", "base", "errors")))
"""


def test_an_unchanged_rerun_loads_no_pillow(tmp_path):
    for n in range(3):
        photo(tmp_path / "src" / f"{n}.jpg", (40, 30), seed=n)
    command = [sys.executable, "-c", RERUN, str(tmp_path / "src"), "-o", str(tmp_path / "out"),
               "-w", "2"]
    first = subprocess.run(command, capture_output=True, text=True, check=True)
    assert "PIL" in first.stdout and "thumbnailer.render" in first.stdout  # it made them
    again = subprocess.run(command, capture_output=True, text=True, check=True)
    assert again.stdout.split("\n")[:2] == ["", ""], again.stdout
    assert again.stderr.startswith("3 images: 3 up to date"), again.stderr
