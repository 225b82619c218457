"""--watch over hours: ``python bench/watch_soak.py [--minutes 180] [--poll]``.

Starts the real command, ``thumbnailer SRC -o OUT --watch --prune``, over a
library of 1,000 small photos in 20 folders, then, until the time is up, copies
a photo into a random folder every ``--every`` seconds (one in five is a burst of
five, as a phone's sync brings them) and, after the first 100, deletes as many
as arrive (the oldest of a random folder), so the library keeps its size. It times each
photo from landing (the copy's rename into place) to its thumbnail existing,
and samples the watcher's RSS (VmRSS, /proc/PID/status: the watcher only; each
batch's pool comes and goes) each ``--sample`` seconds. At the end, SIGTERM:
the exit status must be 143. Linux only.

Prints the RSS over time and the latency's quantiles; writes
bench/results/watch-soak.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

RESULTS = Path(__file__).resolve().parent / "results" / "watch-soak.json"
FOLDERS = 20


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def picture(path: Path, seed: int) -> None:
    rng = random.Random(seed)
    im = Image.linear_gradient("L").resize((640, 480)).convert("RGB")
    im.paste(tuple(rng.randrange(256) for _ in range(3)), (rng.randrange(600), 0, 640, 80))
    im.save(path, quality=85)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=180.0)
    parser.add_argument("--every", type=float, default=2.0, help="seconds between arrivals")
    parser.add_argument("--sample", type=float, default=30.0, help="seconds between RSS samples")
    parser.add_argument("--poll", action="store_true", help="--watch-poll")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="watch-soak-"))
    src, out, spare = work / "src", work / "out", work / "spare"
    spare.mkdir()
    for n in range(FOLDERS):
        (src / f"album{n:02}").mkdir(parents=True)
    seeds = [spare / f"s{n}.jpg" for n in range(10)]
    for n, path in enumerate(seeds):
        picture(path, n)
    for n in range(1000):
        shutil.copy(seeds[n % 10], src / f"album{n % FOLDERS:02}" / f"old{n}.jpg")
    log = open(work / "watch.err", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "thumbnailer", str(src), "-o", str(out), "--watch", "--prune",
         "--no-progress", "-w", str(args.workers), *(["--watch-poll"] if args.poll else [])],
        stderr=log, stdout=subprocess.DEVNULL)
    while "watching" not in (work / "watch.err").read_text():
        if proc.poll() is not None:
            sys.exit((work / "watch.err").read_text())
        time.sleep(0.1)
    print(f"first pass done; watching {src} (pid {proc.pid}) for {args.minutes:g} min")
    rng = random.Random(1)
    started = time.monotonic()
    end = started + args.minutes * 60
    samples: list[tuple[float, int]] = [(0.0, rss_kib(proc.pid))]
    latencies: list[float] = []
    waiting: dict[Path, float] = {}
    arrived = deleted = 0
    next_sample = started + args.sample
    next_arrival = started
    while time.monotonic() < end:
        now = time.monotonic()
        if now >= next_arrival:
            next_arrival = now + args.every
            for _ in range(5 if rng.random() < 0.2 else 1):
                folder = src / f"album{rng.randrange(FOLDERS):02}"
                name = f"new{arrived}.jpg"
                shutil.copy(rng.choice(seeds), folder / f".{name}.part")  # then into place
                os.rename(folder / f".{name}.part", folder / name)
                waiting[out / folder.name / name] = time.monotonic()
                arrived += 1
            # As many deleted as arrive, after the first 100: the library keeps its
            # size, so what memory holds can be told from what the library holds.
            while arrived - deleted > 100:
                old = sorted((src / f"album{rng.randrange(FOLDERS):02}").glob("*.jpg"),
                             key=lambda p: p.stat().st_mtime_ns)
                if len(old) > 5:
                    old[0].unlink()
                    deleted += 1
        for thumb, landed in list(waiting.items()):
            if thumb.exists():
                latencies.append(time.monotonic() - landed)
                del waiting[thumb]
        if now >= next_sample:
            next_sample += args.sample
            samples.append((now - started, rss_kib(proc.pid)))
            print(f"{(now - started) / 60:7.1f} min  RSS {samples[-1][1] / 1024:6.1f} MiB  "
                  f"{arrived} arrived, {deleted} deleted, {len(waiting)} waiting", flush=True)
        if proc.poll() is not None:
            sys.exit("the watcher ended: " + (work / "watch.err").read_text()[-2000:])
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(60)
    log.close()
    quantiles = statistics.quantiles(latencies, n=20) if len(latencies) > 1 else [0.0] * 19
    result = {
        "minutes": args.minutes, "poll": args.poll, "workers": args.workers,
        "arrived": arrived, "deleted": deleted, "made": len(latencies), "exit": code,
        "latency_s": {"median": statistics.median(latencies) if latencies else None,
                      "p95": quantiles[18], "max": max(latencies, default=None)},
        "rss_kib": samples,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "rss_kib"}, indent=1))
    first, last = samples[1 if len(samples) > 2 else 0][1], samples[-1][1]
    print(f"RSS {first / 1024:.1f} MiB after the first sample, {last / 1024:.1f} MiB at the end")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    shutil.rmtree(work)
    if code != 143:
        sys.exit(f"exit status {code}, not 143")


if __name__ == "__main__":
    main()
