"""Millions of photos: ``python bench/million.py [--files N] [--folders M]``.

Makes a synthetic library of N tiny JPEGs (default 1,000,000) in M folders
(default 10,000) and a small one of 10,000, runs thumbnailer over them as a cron
job would (two workers, quiet), and measures, against the scandir walk floor of
measure.BARE (sources and outputs, a stat per entry; timed in the same run,
interleaved):

- the first run, with --manifest and --gallery: wall time, the peak memory of
  the whole command (the sum of every process's peak: parent and workers), and
  the state's own cost (the seconds spent writing the SQLite state: inserts,
  commits, checkpoints);
- the unchanged rerun: wall time against the walk floor, at 10,000 and at N
  files, and peak memory; and twice more with --manifest and --gallery (the
  first writes the manifest, whose statuses changed; the second leaves it);
- a rerun after touching 1% of the sources: how many thumbnails it remade.

The library takes about 4 KB of disk per file (4 GB at a million): the script
says so before it starts, and removes everything at the end (``--keep`` keeps
it). Results go to bench/results/million-<N>.json and are printed as the
table docs/performance.md shows.

The command is the library's run_job (what the CLI calls), run in a child so
the state's seconds can be read from its JobResult; its options are those of
``thumbnailer SRC -o OUT -w 2 --quiet [--manifest M --gallery]``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from measure import BARE, ENV, measure  # noqa: E402

PY = sys.executable

#: One run, as the command does it, printing what the benchmark needs as JSON.
RUN = """
import json, sys, time
from thumbnailer import Options, Settings, run_job
src, out, manifest = sys.argv[1:4]
started = time.perf_counter()
result = run_job([src], Settings(output=out),
                 Options(workers=2, manifest=manifest or None, gallery=bool(manifest),
                         keep_entries=False))
print(json.dumps({"wall": time.perf_counter() - started, "state": result.state_seconds,
                  "counts": {s.value: n for s, n in result.tally.counts.items()},
                  "exit": int(result.exit_code)}))
"""


def make_library(root: Path, files: int, folders: int) -> None:
    """``files`` copies of one tiny JPEG (each its own file), spread over ``folders``."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buffer, "JPEG", quality=80)
    data = buffer.getvalue()
    per = -(-files // folders)
    made = 0
    for f in range(folders):
        folder = root / f"{f // 100:03}" / f"{f % 100:02}"
        folder.mkdir(parents=True, exist_ok=True)
        for n in range(min(per, files - made)):
            with open(folder / f"p{n:04}.jpg", "wb") as out:
                out.write(data)
        made += min(per, files - made)
        if made >= files:
            break


def run(src: Path, out: Path, manifest: Path | None) -> dict:
    """One run of the command (with a manifest: --manifest and --gallery too): its
    own figures, and the whole tree's memory."""
    m = measure([[PY, "-c", RUN, str(src), str(out), str(manifest or "")]], env=ENV)
    result = json.loads(m["stdout"])
    return {**result, "wall_process": m["wall"], "peak_mb": m["rss_total"] / 2**20,
            "largest_mb": m["rss"] / 2**20}


def floor(src: Path, out: Path) -> float:
    return measure([[PY, "-c", BARE, str(src), str(out)]], env=ENV)["wall"]


def reruns(src: Path, out: Path, manifest: Path, rounds: int) -> dict:
    """The unchanged rerun as cron runs it against the walk floor, interleaved over
    ``rounds``; and once with --manifest and --gallery, for its time and memory."""
    ratios, walls, floors, peaks = [], [], [], []
    for _ in range(rounds):
        r = run(src, out, None)
        assert r["counts"].get("created", 0) == 0, r
        b = floor(src, out)
        walls.append(r["wall_process"])
        floors.append(b)
        peaks.append(r["peak_mb"])
        ratios.append(r["wall_process"] / b)
    outputs = run(src, out, manifest)  # the manifest's statuses changed: written
    again = run(src, out, manifest)  # only its seconds would change: left as it is
    return {"wall": statistics.median(walls), "floor": statistics.median(floors),
            "ratio": statistics.median(ratios), "peak_mb": max(peaks),
            "with_outputs_wall": outputs["wall_process"], "with_outputs_peak_mb":
            outputs["peak_mb"], "with_outputs_again_wall": again["wall_process"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1_000_000)
    parser.add_argument("--folders", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=None, help="where to make the libraries")
    parser.add_argument("--keep", action="store_true", help="keep the libraries afterwards")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="thumbnailer-million-", dir=args.work))
    print(f"making {args.files:,} files in {args.folders:,} folders under {work}: about "
          f"{(args.files + 10_000) * 4 * 2 / 2**20:.1f} GB of disk with their thumbnails; "
          "removed at the end" + (" (not: --keep)" if args.keep else ""), flush=True)
    results: dict = {"files": args.files, "folders": args.folders,
                     "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
                                f"Python {platform.python_version()}"}
    try:
        for label, files, folders in (("10k", 10_000, 100), ("big", args.files, args.folders)):
            src, out, manifest = work / f"src-{label}", work / f"out-{label}", work / "m.json"
            started = time.perf_counter()
            make_library(src, files, folders)
            print(f"[{label}] library made in {time.perf_counter() - started:.0f} s", flush=True)
            first = run(src, out, manifest)
            first["floor"] = floor(src, out)
            assert first["counts"].get("created", 0) == files, first
            print(f"[{label}] first run: {first['wall_process']:.1f} s, peak "
                  f"{first['peak_mb']:.0f} MB, state {first['state']:.2f} s "
                  f"({100 * first['state'] / first['wall']:.2f}%)", flush=True)
            again = reruns(src, out, manifest, args.rounds)
            print(f"[{label}] unchanged rerun: {again['wall']:.2f} s against a walk of "
                  f"{again['floor']:.2f} s ({again['ratio']:.2f}x), peak "
                  f"{again['peak_mb']:.0f} MB; with --manifest --gallery "
                  f"{again['with_outputs_wall']:.1f} s, peak "
                  f"{again['with_outputs_peak_mb']:.0f} MB, once more (the manifest left as "
                  f"it is) {again['with_outputs_again_wall']:.1f} s", flush=True)
            touched = 0
            for n, path in enumerate(sorted(src.rglob("*.jpg"))):
                if n % 100 == 0:
                    os.utime(path, ns=(time.time_ns(), time.time_ns()))
                    touched += 1
            after = run(src, out, None)
            print(f"[{label}] after touching {touched:,}: {after['counts'].get('created', 0):,}"
                  f" remade in {after['wall_process']:.1f} s", flush=True)
            results[label] = {"files": files, "first": first, "rerun": again,
                              "touched": touched, "remade": after["counts"].get("created", 0),
                              "manifest_mb": manifest.stat().st_size / 2**20,
                              "state_mb": (out / ".thumbnailer-state.sqlite").stat().st_size
                              / 2**20}
            if not args.keep:
                shutil.rmtree(src)
                shutil.rmtree(out)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    path = HERE / "results" / f"million-{args.files}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {path}")


if __name__ == "__main__":
    main()
