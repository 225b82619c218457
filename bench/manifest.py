"""The manifest writer's cost per entry: ``python bench/manifest.py [--entries N]``.

Fills a run's spool with N entries (default 1,000,000: one size of N sources in
folders of 100, as a rerun tells them) and times report.write_manifest over it,
with the output root (so the ``sources`` list too), a few rounds; prints
microseconds per entry. The spool's own filling is timed apart (the run pays it
as the walk goes).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections import Counter

from thumbnailer.outputs.report import write_manifest
from thumbnailer.outputs.spool import Spool
from thumbnailer.spec import Entry, Status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    root = "/library/thumbnails"
    spool = Spool(["256"], digests=False)
    started = time.perf_counter()
    for n in range(args.entries):
        folder = f"{n // 10_000:03}/{n // 100 % 100:02}"
        spool.add_one(Entry(f"/library/photos/{folder}/p{n % 100:04}.jpg", "256",
                            Status.SKIPPED, f"{root}/{folder}/p{n % 100:04}.jpg", "jpeg",
                            64, 48, 1234))
    len(spool.places())  # flushed and committed
    filled = time.perf_counter() - started
    times = []
    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "manifest.json")
        for _ in range(args.rounds):
            started = time.perf_counter()
            write_manifest(path, spool, Counter({Status.SKIPPED: args.entries}), 1.0, root=root,
                           images=Counter({Status.SKIPPED: args.entries}))
            times.append(time.perf_counter() - started)
        size = os.path.getsize(path)
    spool.close()
    us = 1e6 / args.entries
    print(f"{args.entries:,} entries: spool filled at {filled * us:.2f} us an entry; "
          f"write_manifest {statistics.median(times) * us:.2f} us an entry "
          f"(median of {args.rounds}; {size / 2**20:.0f} MB; load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
