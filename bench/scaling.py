"""Two workers against one, and what a run costs before its first photo:
``python bench/scaling.py [--rounds 5]``.

On the benchmark's 48 camera-like 12 MP JPEGs (bench/corpus.py), to 256 px at
q85 as bench/run.py runs thumbnailer, whole processes, interleaved rounds:

- ``-w 1`` and ``-w 2`` over the 48 photos: the speed-up of two workers over
  one (the target is 1.90x on 2 cores, at most 5% below perfect scaling);
- ``-w 1`` and ``-w 2`` over one photo: the fixed wall time of a run (start-up,
  imports, the walk, the pool, the first task's warm-up), and by difference the
  wall time per photo.

Needs what bench/run.py builds (the corpus), nothing else. Prints a table and
writes bench/results/scaling.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import corpus  # noqa: E402
from measure import ENV, measure  # noqa: E402

THUMB = [sys.executable, "-m", "thumbnailer"]


def command(src: Path, out: Path, workers: int) -> list[str]:
    """thumbnailer over ``src`` to 256 px JPEGs at q85, as bench/run.py runs it."""
    return [*THUMB, str(src), "-o", str(out), "-s", "256", "-q", "85", "-w", str(workers),
            "-f", "jpeg", "--quiet", "--no-progress"]


def once(src: Path, out: Path, workers: int) -> float:
    shutil.rmtree(out, ignore_errors=True)
    return float(measure([command(src, out, workers)], env=ENV)["wall"])


def scaling(photos: Path, rounds: int) -> dict:
    """-w 1 and -w 2 over ``photos`` and over its first photo alone, interleaved."""
    work = Path(tempfile.mkdtemp(prefix="thumbnailer-scaling-"))
    try:
        one = work / "one"
        one.mkdir()
        first = sorted(photos.glob("*.jpg"))[0]
        shutil.copy(first, one / first.name)
        count = len(list(photos.glob("*.jpg")))
        cases = {("all", 1): photos, ("all", 2): photos, ("one", 1): one, ("one", 2): one}
        for (_, w), src in cases.items():  # warm: the page cache, the bytecode
            once(src, work / "out", w)
        walls: dict[tuple[str, int], list[float]] = {case: [] for case in cases}
        speedups = []
        for _ in range(rounds):
            for case, src in cases.items():
                walls[case].append(once(src, work / "out", case[1]))
            speedups.append(walls["all", 1][-1] / walls["all", 2][-1])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    median = {f"{what} -w {w}": statistics.median(v) for (what, w), v in walls.items()}
    per_photo = {w: (median[f"all -w {w}"] - median[f"one -w {w}"]) / (count - 1) for w in (1, 2)}
    return {"photos": count, "rounds": rounds, "walls": median,
            "speedup": statistics.median(speedups), "speedups": speedups,
            "fixed_s": {w: median[f"one -w {w}"] - per_photo[w] for w in (1, 2)},
            "per_photo_ms": {w: 1000 * per_photo[w] for w in (1, 2)}}


def report(result: dict) -> str:
    """The table docs/performance.md shows, and the speed-up."""
    median, count = result["walls"], result["photos"]
    return "\n".join([
        f"| {count} x 12 MP to 256 px | -w 1 | -w 2 |", "|---|---|---|",
        f"| wall, all photos (s) | {median['all -w 1']:.2f} | {median['all -w 2']:.2f} |",
        f"| wall, one photo (s) | {median['one -w 1']:.3f} | {median['one -w 2']:.3f} |",
        f"| wall per photo (ms) | {result['per_photo_ms'][1]:.1f} | "
        f"{result['per_photo_ms'][2]:.1f} |",
        f"| fixed wall per run (ms) | {1000 * result['fixed_s'][1]:.0f} | "
        f"{1000 * result['fixed_s'][2]:.0f} |",
        f"two workers against one: {result['speedup']:.2f}x (target 1.90x; median of "
        f"{', '.join(f'{s:.2f}' for s in result['speedups'])})"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    photos = corpus.build({"jpeg12": corpus.FULL["jpeg12"]})["jpeg12"]
    result = scaling(photos, args.rounds)
    print(report(result))
    path = HERE / "results" / "scaling.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"results: {path}")


if __name__ == "__main__":
    main()
