"""Is the Dask client's memory flat in the number of tasks? ``python bench/dask_stream.py``

For each count (default 10,000, 100,000 and 1,000,000), a fresh child process
starts the engine a ``--executor dask`` run starts (a LocalCluster of two
single-threaded worker processes; its scheduler lives in the child, as in the
command), or connects to a cluster already running (``--scheduler``: the child
is the client alone), streams that many real thumbnailer Tasks from a generator into
``run_tasks``, as ``run_job`` streams the plan, and consumes the results. The
work itself is nearly nothing (each task comes back as a failed Outcome), so
what is measured is what the client side holds: the window of batches in
flight, Dask's bookkeeping, and the results on their way.

Reported per count and mode: wall time, tasks per second, and the child's peak
resident memory (VmHWM, exact). Needs the [dask] extra: pip install '.[dask]'. Writes
bench/results/dask-stream.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = """
import functools, json, sys, time
from thumbnailer.run.engines import engine
from thumbnailer.render import failed_outcome
from thumbnailer.run import run_tasks
from thumbnailer.spec import Format, Settings, Size, Target, Task

count, scheduler = int(sys.argv[1]), sys.argv[2] or None
settings = Settings(output="/nowhere")
size = Size(256, 256)

def tasks():
    for n in range(count):  # made as they are taken, as a streamed plan makes them
        folder, name = divmod(n, 100)
        source = f"/photos/{folder:05}/IMG_{name:04}.jpg"
        yield Task(source, (Target(size, f"/nowhere/{folder:05}/IMG_{name:04}", Format.AUTO),),
                   settings)

def peak():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM"))

work = functools.partial(failed_outcome, reason="not made: engine benchmark")
with engine("dask", 2, scheduler) as found:
    started_at_peak = peak()
    started = time.perf_counter()
    done = 0
    for outcome in run_tasks(work, tasks(), found.slots, on_crash=failed_outcome,
                             executor_factory=found.executor_factory,
                             batch_seconds=found.batch_seconds):
        done += 1
    wall = time.perf_counter() - started
print(json.dumps({"tasks": done, "wall": wall, "peak_mb": peak() / 2**20,
                  "peak_at_start_mb": started_at_peak / 2**20}))
"""


def measure(counts: list[int], scheduler: str, env: dict[str, str]) -> list[dict]:
    runs = []
    for count in counts:
        proc = subprocess.run([sys.executable, "-c", CHILD, str(count), scheduler],
                              capture_output=True, text=True, env=env)
        if proc.returncode:
            sys.exit(f"{count} tasks failed: {proc.stderr[-2000:]}")
        run = json.loads(proc.stdout.strip().splitlines()[-1])
        assert run["tasks"] == count, run
        runs.append(run)
        print(f"{count:,} | {run['wall']:.1f} | {count / run['wall']:,.0f} | "
              f"{run['peak_mb']:.0f} | {run['peak_at_start_mb']:.0f}", flush=True)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+",
                        default=[10_000, 100_000, 1_000_000])
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    results: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
                                f"Python {platform.python_version()}"}
    head = "tasks | wall s | tasks/s | peak MB | peak once connected MB"
    print(f"--executor dask (a LocalCluster: its scheduler in the command's process)\n{head}")
    results["local_cluster"] = measure(args.counts, "", env)
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        print(f"--scheduler (a cluster already running: the client alone)\n{head}")
        results["scheduler"] = measure(args.counts, cluster.scheduler_address, env)
    path = HERE / "results" / "dask-stream.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {path}")


if __name__ == "__main__":
    main()
