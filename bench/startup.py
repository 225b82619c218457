"""What a run costs besides its photos, against the best recipe and sharp:
``python bench/startup.py [--rounds 15]``.

thumbnailer's workers do per photo what the best hand-written Pillow recipe
does (docs/performance.md has the profiles); what separates the two on the
benchmark's runs is the fixed cost of a run. Measured here, whole processes,
interleaved rounds, medians:

- one 12 MP photo of the corpus to 256 px, two workers (sharp: two in
  flight): thumbnailer, the best recipe (bench/recipes.py) and sharp 0.35; a
  one-photo run is nearly all fixed cost (start-up, imports, the pool, the
  first photo's warm-up, the exit);
- what the Python programs import before their first photo: a bare
  interpreter, the recipe's Pillow and multiprocessing, click, thumbnailer's
  command, and its command with the renderer (all a first run loads).

With the JPEG scenarios of bench/run.py, ``margins`` says what each speed
target leaves: thumbnailer may take at most the faster peer's wall over the
target, which is that much over the best recipe's own wall, against
thumbnailer's fixed cost over the recipe's measured here.

Needs what bench/run.py builds (the corpus) and installs (sharp). Prints a
table and writes bench/results/startup.json.
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import corpus  # noqa: E402
from measure import ENV  # noqa: E402
from scaling import command  # noqa: E402

PY = sys.executable

IMPORTS = {
    "python alone": "pass",
    "Pillow and multiprocessing (the recipe's)": "import PIL.Image, PIL.ImageOps, "
                                                 "multiprocessing.pool",
    "click": "import click",
    "thumbnailer's command": "import thumbnailer.cli",
    "thumbnailer's command and renderer": "import thumbnailer.cli, thumbnailer.render",
}


def _tools(photo: Path, out: Path) -> dict[str, list[str]]:
    return {
        "thumbnailer": command(photo.parent, out, 2),
        "best recipe": [PY, str(HERE / "recipes.py"), "best", str(photo.parent), str(out),
                        "256", "2"],
        "sharp": ["node", str(HERE / "sharp_thumbs.mjs"), str(out), "256", "2", str(photo)],
    }


def _wall(command: list[str], out: Path | None = None) -> float:
    if out is not None:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()  # sharp writes into an existing folder; the others do not mind
    started = time.perf_counter()
    subprocess.run(command, env=ENV, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def startup(photos: Path, rounds: int) -> dict:
    """One photo with each tool, and each set of imports, interleaved."""
    work = Path(tempfile.mkdtemp(prefix="thumbnailer-startup-"))
    try:
        first = sorted(photos.glob("*.jpg"))[0]
        (work / "one").mkdir()
        photo = Path(shutil.copy(first, work / "one" / first.name))
        out = work / "out"
        tools = _tools(photo, out)
        imports = {name: [PY, "-c", code] for name, code in IMPORTS.items()}
        for command in [*tools.values(), *imports.values()]:  # warm: page cache, bytecode
            _wall(command, out)
        walls: dict[str, list[float]] = {name: [] for name in [*tools, *imports]}
        for r in range(rounds):
            order = list(tools.items()) + list(imports.items())
            order = order[r % len(order):] + order[:r % len(order)]
            for name, command in order:
                walls[name].append(_wall(command, out if name in tools else None))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"rounds": rounds, "one_photo_s": {t: statistics.median(walls[t]) for t in tools},
            "imports_s": {i: statistics.median(walls[i]) for i in imports}}


def margins(result: dict, scenarios: list[dict]) -> list[str]:
    """What each JPEG speed target leaves over the best recipe, in words."""
    targets = {"12 MP JPEG -> 256": 1.10, "2 MP JPEG -> 256": 1.35}
    one = result["one_photo_s"]
    fixed = 1000 * (one["thumbnailer"] - one["best recipe"])
    imports = result["imports_s"]
    extra = 1000 * (imports["thumbnailer's command and renderer"]
                    - imports["Pillow and multiprocessing (the recipe's)"])
    lines = [f"thumbnailer's fixed cost over the best recipe's: {fixed:.0f} ms (one photo); "
             f"of it, imports {extra:.0f} ms"]
    for scenario in scenarios:
        target = targets.get(scenario["name"])
        peer = scenario.get("faster_peer")
        rows = {r["tool"]: r for r in scenario["rows"]}
        best = rows.get("Pillow best recipe (draft, LANCZOS)")
        if target is None or peer is None or best is None:
            continue
        allowed = rows[peer]["wall"] / target
        margin = 1000 * (allowed - best["wall"])
        lines.append(f"{scenario['name']}: {target:.2f}x {peer} allows {allowed:.3f} s, the "
                     f"best recipe takes {best['wall']:.3f} s: {margin:.0f} ms to spare "
                     f"(thumbnailer took {rows['thumbnailer']['wall']:.3f} s)")
    return lines


def report(result: dict) -> str:
    """The table docs/performance.md shows."""
    rows = ["| one 12 MP photo to 256 px, two workers | wall ms |", "|---|---|"]
    rows += [f"| {tool} | {1000 * s:.0f} |" for tool, s in result["one_photo_s"].items()]
    rows += ["| **imports alone** (`python -c ...`) | |"]
    rows += [f"| {name} | {1000 * s:.0f} |" for name, s in result["imports_s"].items()]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    sets = corpus.build({"jpeg12": corpus.FULL["jpeg12"]})
    result = startup(sets["jpeg12"], args.rounds)
    print(report(result))
    full = HERE / "results" / "results-full.json"
    if full.exists():
        for line in margins(result, json.loads(full.read_text())["scenarios"]):
            print(line)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "startup.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
