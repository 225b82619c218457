"""--max-memory on many workers over panoramas: ``python bench/memory.py [--workers 16]``.

Makes a folder of large panoramas in the formats whose decodes hold the most
(RGB and RGBA PNG, TIFF, progressive JPEG, WebP: 24-48 MP each, under
bench/corpus/panoramas, made once), then runs the real command over them with
many workers, once per budget, and samples the whole process tree every 10 ms:
the sum of every process's PSS (proportional set size, from
/proc/PID/smaps_rollup: pages the forked workers share with the parent are
counted once). What the images take is that sum less the same sum with the
workers idle (measured by a run over one tiny image). Linux only.

Writes bench/results/memory.json, and prints a Markdown table for
docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from corpus import ROOT, photo
from PIL import Image

RESULTS = Path(__file__).resolve().parent / "results" / "memory.json"
PANORAMAS = ROOT / "panoramas"
#: name -> (size, how it is saved): the decodes that hold the most.
KINDS = {
    "png": ((9000, 3000), {"format": "PNG", "compress_level": 1}),
    "rgba.png": ((8000, 3000), {"format": "PNG", "compress_level": 1}),
    "tif": ((8000, 4000), {"format": "TIFF"}),
    "progressive.jpg": ((12000, 4000), {"format": "JPEG", "quality": 90, "progressive": True}),
    "webp": ((8000, 3000), {"format": "WEBP", "quality": 80}),
}
MB = 1 << 20


def build(count: int) -> Path:
    """``count`` panoramas, the kinds in turn (made once, kept)."""
    PANORAMAS.mkdir(parents=True, exist_ok=True)
    kinds = list(KINDS)
    for n in range(count):
        kind = kinds[n % len(kinds)]
        path = PANORAMAS / f"p{n:02}.{kind}"
        if path.exists():
            continue
        (w, h), save = KINDS[kind]
        print(f"making {path.name}", file=sys.stderr)
        small = photo(n, w // 4, h // 4)  # the costly part is the spectrum: made small
        im = small.resize((w, h), Image.Resampling.BICUBIC)
        noise = np.random.default_rng(n).integers(0, 12, (h, w, 3), dtype=np.uint8)
        im = Image.fromarray(np.asarray(im, dtype=np.uint8) + noise)
        if kind.startswith("rgba"):
            im.putalpha(Image.linear_gradient("L").resize((w, h)))
        im.save(path, **save)
    return PANORAMAS


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("Pss:"))
    except (OSError, StopIteration):
        return 0


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return found


def run(source: Path, out: Path, workers: int, budget: str | None) -> dict:
    """One run of the command: its wall time, the peak of the tree's summed PSS,
    and how many images failed."""
    args = [sys.executable, "-m", "thumbnailer", str(source), "-o", str(out), "-w",
            str(workers), "--force", "-s", "256"]
    if budget:
        args += ["--max-memory", budget]
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak, done = 0, threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, sum(_pss(p) for p in _tree(proc.pid)))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    _, err = proc.communicate()
    done.set()
    sampler.join()
    summary = err.strip().splitlines()[-1] if err.strip() else ""
    seconds = round(time.perf_counter() - started, 1)
    return {"budget": budget, "workers": workers, "seconds": seconds,
            "peak_mb": round(peak / MB), "exit": proc.returncode, "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--count", type=int, default=20, help="panoramas")
    parser.add_argument("--budgets", default="512M,1G,2G,none",
                        help="--max-memory values to run, 'none' for the default")
    opts = parser.parse_args()
    source = build(opts.count)
    out = Path(os.environ.get("TMPDIR", "/tmp")) / "thumbnailer-bench-memory"
    idle_src = out.parent / "thumbnailer-bench-memory-idle"
    idle_src.mkdir(exist_ok=True)
    for n in range(4 * opts.workers):  # enough for the pool to start every worker
        Image.new("RGB", (64, 48), (n, 0, 0)).save(idle_src / f"tiny{n}.jpg")
    # The tree's PSS with every worker started and idle: what the budget does not cover.
    idle = run(idle_src, out / "idle", opts.workers, None)["peak_mb"]
    rows = []
    for budget in opts.budgets.split(","):
        row = run(source, out / budget, opts.workers, None if budget == "none" else budget)
        row["images_mb"] = row["peak_mb"] - idle
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"workers": opts.workers, "panoramas": opts.count,
                                   "idle_mb": idle, "runs": rows}, indent=2) + "\n")
    print(f"{opts.count} panoramas (24-48 MP: PNG, RGBA PNG, TIFF, progressive JPEG, WebP), "
          f"-w {opts.workers}, 2 cores; the tree idle: {idle} MB\n")
    print("| --max-memory | peak of the whole tree | of which images | time | result |")
    print("|---|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['budget'] or 'default (50% available)'} | {r['peak_mb']:,} MB | "
              f"{r['images_mb']:,} MB | {r['seconds']} s | {r['summary']} |")


if __name__ == "__main__":
    main()
