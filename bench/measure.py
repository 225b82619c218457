"""Measuring whole programs: wall time, CPU and peak memory of every process.

Read from /proc while the program runs: each process's VmHWM is its exact peak
resident size, so no peak is missed between samples, and children (pool
workers) are found through /proc/PID/task/*/children. Linux only.
"""

from __future__ import annotations

import os
import subprocess
import time

#: The environment of a run as a user's install makes it: Python keeps its
#: compiled modules (the machines here set PYTHONDONTWRITEBYTECODE, which makes
#: every start recompile thumbnailer).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _children(pid: int) -> list[int]:
    try:
        found = []
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
        return found
    except OSError:
        return []


def _sample(pid: int) -> tuple[float, int] | None:
    """(cpu seconds, peak rss bytes) of one live process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/status") as f:
            hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
    except (OSError, StopIteration, IndexError, ValueError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks, hwm * 1024


def measure(commands: list[list[str]], env: dict[str, str] | None = None) -> dict:
    """Run commands at once: whole-program wall time, CPU, the largest process's
    peak RSS (``rss``), the sum of every process's peak (``rss_total``: an upper
    bound on what the whole command held at once), and stdout of the first."""
    start = time.perf_counter()
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE if n == 0 else subprocess.DEVNULL,
                              stderr=subprocess.PIPE, env=env)
             for n, c in enumerate(commands)]
    seen: dict[int, tuple[float, int]] = {}
    known = {p.pid for p in procs}
    while any(p.poll() is None for p in procs):
        for pid in list(known):
            known.update(_children(pid))
            sample = _sample(pid)
            if sample:
                seen[pid] = sample
        time.sleep(0.005)
    wall = time.perf_counter() - start
    out = procs[0].stdout.read().decode(errors="replace") if procs[0].stdout else ""
    for p in procs:
        err = p.stderr.read().decode(errors="replace") if p.stderr else ""
        if p.returncode:
            raise RuntimeError(f"{commands[0][:3]} failed ({p.returncode}): {err[-500:]}")
    return {"wall": wall, "cpu": sum(c for c, _ in seen.values()),
            "rss": max((r for _, r in seen.values()), default=0),
            "rss_total": sum(r for _, r in seen.values()), "stdout": out}


#: The floor of an unchanged rerun: a fresh Python that imports Pillow, click
#: and tqdm and walks the sources and the outputs with os.scandir, a stat per
#: entry (what any tool that checks mtimes must do at least). Listing the
#: outputs rather than stat-ing each output path one call at a time makes this
#: floor about twice as fast as the one before 2.1 at 10,000 files.
#: ``python -c BARE SOURCE OUTPUT``.
BARE = """
import os, sys, PIL.Image, click, tqdm
def walk(top):
    stack = [top]
    while stack:
        with os.scandir(stack.pop()) as it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                else:
                    e.stat(follow_symlinks=False)
walk(sys.argv[1])
walk(sys.argv[2])
"""
