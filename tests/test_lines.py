"""Every line the command prints names its file: the real command, through a real
process pool, over about 1,060 files nobody on this project made (Pillow's own
test images, corpora.py), whose decoders complain on stderr from C (libtiff) and
through Python warnings (Pillow's plugins).

Without -v, stderr holds only lines that begin with a file of the corpus (a
failure, ``<source>: <reason>``; a collision, ``warning: <source>: ...``) and
the summary, last. The lines about the whole run (``thumbnailer: ...`` when it
cannot start or go on, what stopped it) name no file by nature; this run has
none, and asserting so keeps a stray one from passing as one of them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import corpora
import pytest

#: A message libtiff writes from C (whatever codecs it was built with), and its file.
LIBTIFF = ("oom-225817ca0f8c663be7ab4b9e717b02c661e66834.tif",
           "More samples per pixel than can be decoded: 303169682")


@pytest.fixture(scope="module")
def corpus() -> Path:
    folder = corpora.pillow_images()
    assert len(corpora.files(folder)) > 1000, "the corpus is incomplete"
    return folder


def stderr_of(folder: Path, out: Path, *options: str) -> list[str]:
    """The command's stderr, with Python's warnings shown as a new user's would be
    (an environment that ignores them would make this pass for nothing)."""
    done = subprocess.run([sys.executable, "-m", "thumbnailer", str(folder), "-o", str(out),
                           "-w", "2", *options], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONWARNINGS": "default"})
    assert done.returncode == 1, done.stderr  # the corpus has broken files
    return done.stderr.splitlines()


def unnamed(lines: list[str], corpus: Path, out: Path) -> list[str]:
    """The lines that begin with no file of the corpus (or, with -v, a thumbnail)."""
    sources = {str(p) for p in corpora.files(corpus)}

    def names_a_file(line: str) -> bool:
        head = line.removeprefix("warning: ").split(": ", 1)[0]
        return head in sources or (line.startswith("created: ")
                                   and line.removeprefix("created: ").startswith(f"{out}/"))

    return [line for line in lines if not names_a_file(line)]


def test_without_verbose_every_line_names_a_file_or_is_the_summary(corpus, tmp_path):
    out = tmp_path / "out"
    lines = stderr_of(corpus, out, "-s", "64", "-s", "128", "-f", "jpeg", "-f", "webp")
    *named, summary = lines
    assert unnamed(named, corpus, out) == []
    assert summary[0].isdigit() and "failed" in summary, summary
    assert not any(LIBTIFF[1] in line for line in lines)


def test_quiet_prints_only_lines_that_name_a_file(corpus, tmp_path):
    lines = stderr_of(corpus, tmp_path / "out", "--quiet")
    assert lines and unnamed(lines, corpus, tmp_path / "out") == []


def test_verbose_says_what_libtiff_wrote_naming_the_file(corpus, tmp_path):
    out = tmp_path / "out"
    *lines, _ = stderr_of(corpus, out, "-v")
    assert unnamed(lines, corpus, out) == []
    name, message = LIBTIFF
    assert f"{corpus / name}: warning: {message}" in lines
    # Python warnings, from the workers, with the file's name too.
    assert f"{corpus / 'apng/chunk_multi_actl.png'}: warning: Invalid APNG, will use default " \
        "PNG image if possible" in lines
