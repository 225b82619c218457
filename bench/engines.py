"""What an engine costs: ``python bench/engines.py [--rounds N] [--quick]``.

The same command on the same corpus with each --executor, two workers each, timed
as whole processes in interleaved rounds (A B C D, B C D A, ...), medians:

- process: the default pool (fork, batches)
- thread: a thread pool in the command's process
- dask (LocalCluster): the command starts a local cluster of 2 worker processes
- dask (--scheduler): the same cluster already running, as on a real cluster, so
  only the engine's per-task overhead shows, not its start-up

Needs the [dask] extra: pip install '.[bench,dask]'. Writes
bench/results/engines-<full|quick>.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import corpus

HERE = Path(__file__).resolve().parent
THUMB = [sys.executable, "-m", "thumbnailer"]

SETS = [("2 MP JPEG -> 256", "jpeg2"), ("12 MP JPEG -> 256", "jpeg12")]


def commands(scheduler: str) -> dict[str, list[str]]:
    common = ["-s", "256", "-w", "2", "--quiet", "--no-progress", "--force"]
    return {
        "process": [*common],
        "thread": [*common, "--executor", "thread"],
        "dask (LocalCluster)": [*common, "--executor", "dask"],
        "dask (--scheduler)": [*common, "--scheduler", scheduler],
    }


def run(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{cmd} failed: {proc.stderr[-500:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    from distributed import LocalCluster

    sets = corpus.build(corpus.QUICK if args.quick else corpus.FULL)
    results = {"python": sys.version.split()[0], "rounds": args.rounds, "scenarios": []}
    work = Path(tempfile.mkdtemp(prefix="thumbnailer-engines-"))
    try:
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          host="127.0.0.1", dashboard_address=None) as cluster:
            engines = commands(cluster.scheduler_address)
            for name, set_name in SETS:
                src = sets[set_name]
                count = sum(1 for p in src.iterdir() if p.suffix == ".jpg")
                times: dict[str, list[float]] = {e: [] for e in engines}
                names = list(engines)
                for e in names:  # warm-up
                    run([*THUMB, str(src), "-o", str(work / e), *engines[e]])
                for r in range(args.rounds):
                    for e in names[r % len(names):] + names[: r % len(names)]:
                        times[e].append(run([*THUMB, str(src), "-o", str(work / e),
                                             *engines[e]]))
                # Fixed cost: the same command on one image (imports, pool or
                # cluster start, connecting), so the steady rate can be told apart.
                one = work / f"one-{set_name}"
                one.mkdir()
                shutil.copy(next(p for p in sorted(src.iterdir()) if p.suffix == ".jpg"), one)
                fixed = {e: statistics.median(
                    run([*THUMB, str(one), "-o", str(work / f"o1-{e}"), *engines[e]])
                    for _ in range(args.rounds)) for e in names}
                base = times["process"]
                rows = [{"engine": e,
                         "wall": statistics.median(t),
                         "images_per_s": count / statistics.median(t),
                         "vs_process": statistics.median(b / x for b, x in zip(base, t,
                                                                                strict=True)),
                         "fixed_s": fixed[e],
                         "steady_images_per_s": (count - 1) / max(
                             1e-9, statistics.median(t) - fixed[e])}
                        for e, t in times.items()]
                results["scenarios"].append({"name": name, "images": count, "rows": rows})
                print(f"\n== {name} ({count} images, {args.rounds} rounds, 2 workers)")
                print(f"{'engine':22} {'wall s':>7} {'img/s':>7} {'x process':>9} "
                      f"{'fixed s':>8} {'steady img/s':>13}")
                for row in rows:
                    print(f"{row['engine']:22} {row['wall']:7.2f} {row['images_per_s']:7.1f} "
                          f"{row['vs_process']:9.2f} {row['fixed_s']:8.2f} "
                          f"{row['steady_images_per_s']:13.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = HERE / "results" / f"engines-{'quick' if args.quick else 'full'}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nresults: {out}")


if __name__ == "__main__":
    main()
