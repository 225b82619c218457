"""Real-world image corpora: files nobody on this project made, fetched from the
package index into a cache on first use and never committed.

Pillow ships its own test images (``Tests/images``, about 1,060 files: EXIF and
TIFF orientation sets, truncated and fuzzer-found files, CMYK, 16-bit, palette,
animated, ICC-tagged, and dozens of formats) in its source distribution. The
version is pinned and the archive's SHA-256 checked, so every machine judges the
same files. scikit-image's sample photos come the same way, from its wheel (read as
a zip, never installed). A corpus that cannot be fetched is an error, never a skip.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

#: (package, version, SHA-256 of its sdist): the corpus is these exact bytes.
PILLOW_SDIST = ("pillow", "13.0.0",
                "cdcd1ba258178f7356d74170c9a81ba4eab6a5d55748bc402a5a2a6fe6be3510")
#: pillow-heif's test images (``tests/images``: 8, 10 and 12-bit HEIFs, previews
#: that are not the image's, a PQ one, truncated and corrupted files).
PILLOW_HEIF_SDIST = ("pillow-heif", "1.9.0",
                     "8a13d15106c9dbbd66a65966edee2ee0de3950c18dc3ea42912442cda803ea4c")
#: scikit-image's sample photos (``skimage/data``: astronaut, chelsea, coffee, rocket,
#: ...) come in its wheels: one wheel, pinned by platform and SHA-256, read as a zip
#: (never installed). Its other samples are fetched by pooch at runtime: not used.
SKIMAGE_WHEEL = ("scikit-image", "0.25.2",
                 "a17e17eb8562660cc0d31bb55643a4da996a81944b82c54805c91b3fe66f4824",
                 ["--platform", "manylinux_2_17_x86_64", "--python-version", "3.12",
                  "--implementation", "cp"])

CACHE = Path(os.environ.get("THUMBNAILER_CORPUS_CACHE")
             or Path.home() / ".cache" / "thumbnailer-test-corpora")


def pillow_images() -> Path:
    """The folder of Pillow's ``Tests/images``, fetched once per machine (about
    47 MB; the first fetch takes a minute or two, as pip prepares the sdist)."""
    name, version, sha256 = PILLOW_SDIST
    root = CACHE / f"{name}-{version}"
    images = root / "Tests" / "images"
    done = root / ".complete"
    if done.exists():
        return images
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:  # two test runs share one fetch
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            _fetch(name, version, sha256, root)
            done.touch()
    return images


def pillow_heif_images() -> Path:
    """The folder of pillow-heif's ``tests/images``, fetched once per machine
    (a 17 MB sdist)."""
    name, version, sha256 = PILLOW_HEIF_SDIST
    root = CACHE / f"{name}-{version}"
    done = root / ".complete"
    if not done.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with open(CACHE / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not done.exists():
                _fetch(name, version, sha256, root, folder="tests/images")
                done.touch()
    return root / "tests" / "images"


def _fetch(name: str, version: str, sha256: str, root: Path,
           folder: str = "Tests/images") -> None:
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                   "--no-binary", ":all:", "--dest", tmp, f"{name}=={version}"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
        archives = list(Path(tmp).glob("*.tar.gz"))
        if done.returncode != 0 or len(archives) != 1:
            raise RuntimeError(f"cannot fetch the {name} {version} sdist for the test "
                               f"corpus:\n{done.stderr[-2000:]}")
        digest = hashlib.sha256(archives[0].read_bytes()).hexdigest()
        if digest != sha256:
            raise RuntimeError(f"{archives[0].name}: SHA-256 {digest}, expected {sha256}")
        staging = Path(tmp) / "tree"
        prefix = f"{archives[0].name.removesuffix('.tar.gz')}/{folder}/"
        with tarfile.open(archives[0]) as tar:
            for member in tar.getmembers():
                if not (member.isfile() and member.name.startswith(prefix)):
                    continue
                rel = Path(member.name[len(prefix):])
                if rel.is_absolute() or ".." in rel.parts:
                    continue
                dest = staging / folder / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src, open(dest, "wb") as out:
                    shutil.copyfileobj(src, out)
        shutil.rmtree(root, ignore_errors=True)
        staging.rename(root)


def skimage_images() -> Path:
    """The folder of scikit-image's ``skimage/data`` sample images (PNG and JPEG),
    extracted once per machine from its wheel (15 MB)."""
    name, version, sha256, platform = SKIMAGE_WHEEL
    root = CACHE / f"{name}-{version}-data"
    done = root / ".complete"
    if done.exists():
        return root
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            _fetch_wheel(name, version, sha256, platform, root)
            done.touch()
    return root


def _fetch_wheel(name: str, version: str, sha256: str, platform: list[str],
                 root: Path) -> None:
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                   "--only-binary", ":all:", *platform, "--dest", tmp, f"{name}=={version}"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or len(wheels) != 1:
            raise RuntimeError(f"cannot fetch the {name} {version} wheel for the test "
                               f"corpus:\n{done.stderr[-2000:]}")
        digest = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
        if digest != sha256:
            raise RuntimeError(f"{wheels[0].name}: SHA-256 {digest}, expected {sha256}")
        staging = Path(tmp) / "data"
        staging.mkdir()
        with zipfile.ZipFile(wheels[0]) as wheel:
            for member in wheel.namelist():
                folder, _, base = member.rpartition("/")
                if folder == "skimage/data" and base.endswith((".png", ".jpg")):
                    (staging / base).write_bytes(wheel.read(member))
        shutil.rmtree(root, ignore_errors=True)
        staging.rename(root)


def files(folder: Path) -> list[Path]:
    """Every regular file below ``folder``, in a stable order."""
    return sorted(p for p in folder.rglob("*") if p.is_file())
