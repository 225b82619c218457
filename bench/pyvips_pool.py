"""pyvips, as a user writes it, as an anchor of bench/run.py:
``python bench/pyvips_pool.py OUT SIZES JOBS FILE...``.

A multiprocessing pool of JOBS workers, each on one libvips thread
(VIPS_CONCURRENCY=1), as thumbnailer's ``-w JOBS`` runs JOBS single-threaded
workers. SIZES is comma-separated; each size is its own ``thumbnail`` from the
file (libvips's shrink-on-load; it turns EXIF-rotated photos upright), saved as
OUT/<stem>_<size>.jpg at Q=85. pyvips is imported in the workers only, so no
libvips thread exists when the pool forks.
"""

from __future__ import annotations

import os
import sys
from multiprocessing import Pool
from pathlib import Path

os.environ["VIPS_CONCURRENCY"] = "1"


def make(job: tuple[str, str, list[int]]) -> None:
    import pyvips

    file, out, sizes = job
    for size in sizes:
        image = pyvips.Image.thumbnail(file, size, height=size, size="down")
        image.jpegsave(os.path.join(out, f"{Path(file).stem}_{size}.jpg"), Q=85)


if __name__ == "__main__":
    out, sizes, jobs, *files = sys.argv[1:]
    px = [int(s) for s in sizes.split(",")]
    with Pool(int(jobs)) as pool:
        for _ in pool.imap_unordered(make, [(f, out, px) for f in files]):
            pass
