"""Benchmark thumbnailer against the tools people use: ``python bench/run.py``.

Every tool runs as a whole program with two processes (or two workers), on the
same files, interleaved (A B C A B C ...) over several rounds after an untimed
warm-up; the figure for each tool is the median over rounds of its per-round
speed relative to vipsthumbnail, and to the faster of the two peers users pick
today: sharp (npm, its own libvips) and a pyvips pool (pip, pyvips-binary's
libvips), whichever has the lower median wall time in that scenario. Wall time
is the whole program's; CPU and peak memory cover every process it starts (read
from /proc: VmHWM is each process's exact peak). Quality is PSNR and SSIM
against a full-decode float LANCZOS reference of the same size, next to what
that reference itself scores after a q85 save. Results go to bench/results/
(JSON, table) and docs/chart.png.

Besides the scenarios it measures the unchanged rerun of 10,000 files against
the scandir walk floor, two workers against one (scaling.py) and the fixed cost
of a run against the best recipe and sharp, with what each speed target leaves
(startup.py); ``--million`` then runs million.py at 300,000 and 1,000,000 files:
every figure of docs/performance.md from one command.

Needs: pip install '.[bench]'; apt-get install libvips-tools graphicsmagick imagemagick;
Node 20 with npm for sharp (``--install`` runs the apt-get, ``npm ci`` in bench/node/
and the pip install of pyvips and pyvips-binary).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import corpus  # noqa: E402
from measure import BARE, measure  # noqa: E402
from scaling import report, scaling  # noqa: E402
from startup import margins, startup  # noqa: E402
from startup import report as startup_report  # noqa: E402

PY = sys.executable
THUMB = [PY, "-m", "thumbnailer"]
RECIPES = [PY, str(HERE / "recipes.py")]
APT = ["libvips-tools", "graphicsmagick", "imagemagick"]
PIP = ["pyvips>=3.2", "pyvips-binary>=8.18"]
NODE = HERE / "node"  # package.json and package-lock.json pin sharp
SHARP = "sharp 0.35 (Node, 2 in flight)"
PYVIPS = "pyvips 8.18 pool"
PEERS = (SHARP, PYVIPS)


# --- the tools: each returns the command lines to run at once -------------------

def halves(files: list[str]) -> list[list[str]]:
    return [files[0::2], files[1::2]]


def thumbnailer(src, files, out, sizes, fmt="jpeg"):
    size_args = [a for s in sizes for a in ("-s", str(s))]
    return [[*THUMB, src, "-o", out, *size_args, "-q", "85", "-w", "2", "-f", fmt,
             "--quiet", "--no-progress"]]


def vips(src, files, out, sizes):
    # One vipsthumbnail run per size (it makes one size per run), two processes each.
    runs = []
    for s in sizes:
        pattern = os.path.join(out, f"%s_{s}.jpg[Q=85]")
        runs.append([["vipsthumbnail", "-s", str(s), "-o", pattern, *h] for h in halves(files)])
    return runs


def gm(src, files, out, sizes):
    (s,) = sizes
    # -output-directory is joined with each input path, so run beside the files.
    names = [os.path.basename(f) for f in files]
    return [["env", "-C", src, "gm", "mogrify", "-output-directory", out,
             "-size", f"{2 * s}x{2 * s}", "-auto-orient", "-thumbnail", f"{s}x{s}",
             "-quality", "85", "-format", "jpg", *h]
            for h in halves(names)]


def magick(src, files, out, sizes):
    (s,) = sizes
    return [["/usr/bin/mogrify", "-path", out, "-define", f"jpeg:size={2 * s}x{2 * s}",
             "-auto-orient", "-thumbnail", f"{s}x{s}", "-quality", "85", "-format", "jpg", *h]
            for h in halves(files)]


def sharp(src, files, out, sizes):
    return [["node", str(HERE / "sharp_thumbs.mjs"), out, ",".join(map(str, sizes)), "2",
             *files]]


def pyvips_pool(src, files, out, sizes):
    return [[PY, str(HERE / "pyvips_pool.py"), out, ",".join(map(str, sizes)), "2", *files]]


def recipe(name):
    def command(src, files, out, sizes):
        (s,) = sizes
        return [[*RECIPES, name, src, out, str(s), "2"]]
    command.__name__ = name
    return command


TOOLS = {
    "thumbnailer": thumbnailer,
    "vipsthumbnail": vips,
    SHARP: sharp,
    PYVIPS: pyvips_pool,
    "gm mogrify -size": gm,
    "ImageMagick mogrify -define jpeg:size": magick,
    "Pillow decode floor (1/8, no resize)": recipe("floor"),
    "Pillow best recipe (draft, LANCZOS)": recipe("best"),
    "Pool.map + Image.thumbnail (classic)": recipe("classic"),
    "Pillow full decode then resize": recipe("full"),
}

SCENARIOS = [
    # name, corpus set, sizes, tools
    ("12 MP JPEG -> 256", "jpeg12", [256], list(TOOLS)),
    ("12 MP JPEG -> 1024+512+128", "jpeg12", [1024, 512, 128],
     ["thumbnailer", "vipsthumbnail", *PEERS]),
    ("2 MP JPEG -> 256", "jpeg2", [256],
     ["thumbnailer", "vipsthumbnail", *PEERS, "Pillow decode floor (1/8, no resize)",
      "Pillow best recipe (draft, LANCZOS)", "Pool.map + Image.thumbnail (classic)"]),
    ("3 MP PNG -> 256", "png3", [256],
     ["thumbnailer", "vipsthumbnail", "Pool.map + Image.thumbnail (classic)"]),
]


def run_tool(tool: str, src: Path, out: Path, sizes) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    files = sorted(str(p) for p in src.iterdir() if p.suffix in (".jpg", ".png"))
    commands = TOOLS[tool](str(src), files, str(out), sizes)
    if commands and isinstance(commands[0][0], list):  # several runs one after another
        parts = [measure(c) for c in commands]
        return {"wall": sum(p["wall"] for p in parts), "cpu": sum(p["cpu"] for p in parts),
                "rss": max(p["rss"] for p in parts)}
    return measure(commands)


# --- quality -------------------------------------------------------------------------

def _reference(path: Path, size: tuple[int, int]) -> np.ndarray:
    with Image.open(path) as im:
        return reference_of(ImageOps.exif_transpose(im).convert("RGB"), size)


def reference_of(full: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """A float LANCZOS resize of the full decode, per channel: nothing rounded."""
    return np.stack([np.asarray(full.getchannel(c).convert("F").resize(
        size, Image.Resampling.LANCZOS)) for c in range(3)], -1)


def after_q85(im: Image.Image) -> np.ndarray:
    """What ``im`` looks like once saved as a quality 85 JPEG."""
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85)
    return np.asarray(Image.open(buf).convert("RGB"))


def reference_after_q85(ref: np.ndarray) -> np.ndarray:
    """The reference itself after a q85 save: the bar every tool is held to."""
    return after_q85(Image.fromarray(np.clip(np.rint(ref), 0, 255).astype(np.uint8)))


def psnr(a: np.ndarray, ref: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - ref) ** 2))
    return 10 * math.log10(255**2 / max(mse, 1e-12))


def ssim(a: np.ndarray, ref: np.ndarray, k=8) -> float:
    """Mean SSIM on the luminance, over 8x8 blocks (fine for comparing tools)."""
    def blocks(x):
        y = x[..., :3].astype(np.float64) @ [0.299, 0.587, 0.114]
        h, w = (y.shape[0] // k) * k, (y.shape[1] // k) * k
        return y[:h, :w].reshape(h // k, k, w // k, k).swapaxes(1, 2).reshape(-1, k * k)
    x, y = blocks(a), blocks(ref)
    mx, my = x.mean(1), y.mean(1)
    vx, vy = x.var(1), y.var(1)
    cov = ((x - mx[:, None]) * (y - my[:, None])).mean(1)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    s = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return float(s.mean())


def quality(src: Path, outputs: dict[str, Path], limit: int) -> dict[str, dict]:
    """Each tool's mean PSNR/SSIM, and the reference's own after a q85 save."""
    sources = sorted(p for p in src.iterdir() if p.suffix == ".jpg")[:limit]
    scores: dict[str, list] = {name: [] for name in [*outputs, "reference after q85"]}
    for source in sources:
        ref = None
        for name, out in outputs.items():
            made = next(out.rglob(source.stem + "*.jpg"), None)
            if made is None:
                continue
            with Image.open(made) as im:
                pixels = np.asarray(im.convert("RGB"))
            if ref is None or ref.shape[:2] != pixels.shape[:2]:
                ref = _reference(source, (pixels.shape[1], pixels.shape[0]))
                again = reference_after_q85(ref)
                scores["reference after q85"].append((psnr(again, ref), ssim(again, ref)))
            scores[name].append((psnr(pixels, ref), ssim(pixels, ref)))
    return {name: {"psnr": statistics.mean(p for p, _ in v),
                   "ssim": statistics.mean(s for _, s in v)}
            for name, v in scores.items() if v}


# --- the unchanged rerun -------------------------------------------------------------

def rerun(src: Path, work: Path, rounds: int) -> dict:
    out = work / "rerun"
    shutil.rmtree(out, ignore_errors=True)
    measure([[*THUMB, str(src), "-o", str(out), "-w", "2", "--quiet"]])
    ratios, walls = [], {"thumbnailer": [], "bare": []}
    for _ in range(rounds):
        t = measure([[*THUMB, str(src), "-o", str(out), "-w", "2", "--quiet"]])["wall"]
        b = measure([[PY, "-c", BARE, str(src), str(out)]])["wall"]
        walls["thumbnailer"].append(t)
        walls["bare"].append(b)
        ratios.append(t / b)
    files = sum(1 for _ in src.rglob("*.jpg"))
    return {"files": files, "ratio": statistics.median(ratios),
            **{k: statistics.median(v) for k, v in walls.items()}}


# --- the whole benchmark -------------------------------------------------------------

def versions() -> dict:
    def first_line(cmd, cwd=None):
        try:
            return subprocess.run(cmd, capture_output=True, text=True,
                                  cwd=cwd).stdout.splitlines()[0]
        except (OSError, IndexError):
            return "missing"
    import PIL

    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
                   f"{platform.processor() or platform.platform()}",
        "python": platform.python_version(), "pillow": PIL.__version__,
        "vipsthumbnail": first_line(["vipsthumbnail", "--version"]),
        "graphicsmagick": first_line(["gm", "version"]),
        "imagemagick": first_line(["/usr/bin/mogrify", "-version"]),
        "sharp": first_line(["node", "-p", "const v = require('sharp').versions; "
                             "`sharp ${v.sharp}, libvips ${v.vips}`"], cwd=NODE),
        "pyvips": first_line([PY, "-c", "import pyvips as p; print(f'pyvips {p.__version__}, "
                              "libvips {p.version(0)}.{p.version(1)}.{p.version(2)}')"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark thumbnailer against the C tools.")
    parser.add_argument("--quick", action="store_true", help="small corpus, 2 rounds (smoke test)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", help="run only scenarios whose name contains this (the "
                        "others are kept in the results file)")
    parser.add_argument("--install", action="store_true", help="apt-get install the anchors")
    parser.add_argument("--million", action="store_true",
                        help="then bench/million.py at 300,000 and 1,000,000 files (about 40 "
                             "minutes more, 7.7 GB of disk at the peak)")
    args = parser.parse_args()
    if args.install:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", *APT], check=True)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE, check=True)
        subprocess.run([PY, "-m", "pip", "install", "-q", *PIP], check=True)
    missing = [t for t in ("vipsthumbnail", "gm", "/usr/bin/mogrify", "node")
               if not shutil.which(t)]
    if not (NODE / "node_modules" / "sharp").is_dir():
        missing.append("sharp (npm ci in bench/node)")
    try:
        import pyvips  # noqa: F401
    except (ImportError, OSError):
        missing.append("pyvips with pyvips-binary")
    if missing:
        sys.exit(f"missing anchors: {missing}; run with --install "
                 f"(apt-get install {' '.join(APT)}; npm ci; pip install {' '.join(PIP)})")
    import thumbnailer

    if "site-packages" not in thumbnailer.__file__:
        print("warning: thumbnailer runs from the source tree (an editable install?); with "
              "PYTHONDONTWRITEBYTECODE set it recompiles at every start. For figures to "
              "publish: pip install '.[bench]' in a fresh venv.", file=sys.stderr)
    rounds = 2 if args.quick else args.rounds
    counts = corpus.QUICK if args.quick else corpus.FULL
    wanted = {s[1] for s in SCENARIOS if not args.only or args.only in s[0]}
    if not args.only or "scaling" in args.only or "startup" in args.only:
        wanted.add("jpeg12")
    if not args.only or "rerun" in args.only:
        wanted.add("tiny")
    sets = corpus.build({k: v for k, v in counts.items() if k in wanted})
    results = {"versions": versions(), "rounds": rounds, "scenarios": []}
    work = Path(tempfile.mkdtemp(prefix="thumbnailer-bench-"))
    try:
        for name, set_name, sizes, tools in SCENARIOS:
            if args.only and args.only not in name:
                continue
            src = sets[set_name]
            load = round(os.getloadavg()[0], 1)  # other work on the machine: ratios still hold
            print(f"\n== {name}  ({sum(1 for _ in src.glob('*.*')) - 1} files, {rounds} rounds)",
                  flush=True)
            outs = {t: work / f"{set_name}-{i}" for i, t in enumerate(tools)}
            for tool in tools:  # warm-up: page cache, and catches a broken tool early
                run_tool(tool, src, outs[tool], sizes)
            runs: dict[str, list[dict]] = {t: [] for t in tools}
            for r in range(rounds):
                order = tools[r % len(tools):] + tools[: r % len(tools)]
                for tool in order:
                    runs[tool].append(run_tool(tool, src, outs[tool], sizes))
            rows = []
            peers = [t for t in tools if t in PEERS]
            peer = min(peers, key=lambda t: statistics.median(x["wall"] for x in runs[t]),
                       default=None)
            for tool in tools:
                # Each round's ratio to each anchor, then the median over rounds.
                vs = {a: statistics.median(x["wall"] / t["wall"]
                                           for x, t in zip(runs[a], runs[tool], strict=True))
                      for a in ["vipsthumbnail", *peers]}
                rows.append({"tool": tool, "speed_vs_vips": vs["vipsthumbnail"], "speed_vs": vs,
                             **({"speed_vs_peer": vs[peer]} if peer else {}),
                             "wall": statistics.median(x["wall"] for x in runs[tool]),
                             "cpu": statistics.median(x["cpu"] for x in runs[tool]),
                             "peak_rss_mb": max(x["rss"] for x in runs[tool]) / 2**20})
            if sizes == [256] and set_name == "jpeg12":
                q = quality(src, {t: outs[t] for t in tools if "floor" not in t}, limit=8)
                for row in rows:
                    row.update({k: q[row["tool"]][k] for k in ("psnr", "ssim")}
                               if row["tool"] in q else {})
                results["reference_after_q85"] = q["reference after q85"]
            results["scenarios"].append({
                "name": name, "rows": rows, "faster_peer": peer,
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "loadavg_1min_before": load})
            print_table(name, rows, results.get("reference_after_q85"), peer)
        if not args.only or "rerun" in args.only:
            r = rerun(sets["tiny"], work, rounds)
            results["rerun"] = r
            print(f"\n== unchanged rerun over {r['files']} files: "
                  f"thumbnailer {r['thumbnailer']:.2f} s, the scandir walk floor "
                  f"{r['bare']:.2f} s, ratio {r['ratio']:.2f} (target <= 1.3; a million files: "
                  "python bench/million.py)")
        if not args.only or "scaling" in args.only:
            s = scaling(sets["jpeg12"], rounds)
            results["scaling"] = s
            print(f"\n== two workers against one (bench/scaling.py)\n{report(s)}")
        if not args.only or "startup" in args.only:
            results["startup"] = startup(sets["jpeg12"], 3 * rounds)
            print(f"\n== the fixed cost of a run (bench/startup.py)\n"
                  f"{startup_report(results['startup'])}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    stamp = "quick" if args.quick else "full"
    path = out / f"results-{stamp}.json"
    if args.only and path.exists():  # keep the scenarios not rerun, each with its own date
        old = json.loads(path.read_text())
        fresh = {s["name"]: s for s in results["scenarios"]}
        results["scenarios"] = [fresh.pop(s["name"], s) for s in old["scenarios"]]
        results["scenarios"] += fresh.values()
        for key in ("rerun", "scaling", "startup", "reference_after_q85"):
            results.setdefault(key, old.get(key))
    path.write_text(json.dumps(results, indent=2))
    if results.get("startup"):
        print("\n".join(margins(results["startup"], results["scenarios"])))
    if not args.quick:
        chart(results, HERE.parent / "docs" / "chart.png")
    print(f"\nresults: {out / f'results-{stamp}.json'}")
    if args.million:  # the reruns at the scale of a photo library, each in a child
        for files, folders in ((300_000, 3_000), (1_000_000, 10_000)):
            subprocess.run([PY, str(HERE / "million.py"), "--files", str(files),
                            "--folders", str(folders)], check=True)


def print_table(name, rows, ref, peer) -> None:
    print(f"{'tool':42} {'x vips':>7} {'x peer':>7} {'wall s':>7} {'cpu s':>7} {'peak MB':>8} "
          f"{'PSNR':>7} {'SSIM':>7}")
    for r in sorted(rows, key=lambda r: -r["speed_vs_vips"]):
        q = (f"{r['psnr']:7.2f} {r['ssim']:7.4f}" if "psnr" in r else "")
        print(f"{r['tool']:42} {r['speed_vs_vips']:7.2f} {r.get('speed_vs_peer', math.nan):7.2f} "
              f"{r['wall']:7.2f} {r['cpu']:7.2f} {r['peak_rss_mb']:8.1f} {q}")
    if ref and any("psnr" in r for r in rows):
        print(f"{'(reference after a q85 save)':42} {'':7} {'':7} {'':7} {'':7} {'':8} "
              f"{ref['psnr']:7.2f} {ref['ssim']:7.4f}")
    if peer:
        me = next(r for r in rows if r["tool"] == "thumbnailer")
        print(f"(x peer: against {peer}, the faster peer here.) thumbnailer: " + ", ".join(
            f"{v:.2f}x {a}" for a, v in me["speed_vs"].items()))


def chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = results["scenarios"]
    fig, axes = plt.subplots(len(scenarios), 1, figsize=(8, 1.1 + 0.42 * sum(
        len(s["rows"]) for s in scenarios)), squeeze=False)
    for ax, s in zip(axes[:, 0], scenarios, strict=True):
        # Against the faster peer where the scenario has peers, else vipsthumbnail.
        peer = s.get("faster_peer")
        key = "speed_vs_peer" if peer else "speed_vs_vips"
        rows = sorted(s["rows"], key=lambda r: r[key])
        colours = ["#d62728" if r["tool"] == "thumbnailer" else
                   "#7f7f7f" if r["tool"] == "vipsthumbnail" else
                   "#ff7f0e" if r["tool"] in PEERS else "#1f77b4" for r in rows]
        ax.barh([r["tool"] for r in rows], [r[key] for r in rows], color=colours)
        for i, r in enumerate(rows):
            label = f"{r[key]:.2f}x" + (f"  ({r['speed_vs_vips']:.2f}x vipsthumbnail)"
                                        if peer and r["tool"] != "vipsthumbnail" else "")
            ax.text(r[key] + 0.02, i, label, va="center", fontsize=7)
        ax.axvline(1.0, color="black", lw=0.8)
        ax.set_xlim(0, max(r[key] for r in rows) * 1.45)
        when = (f"\n{s['date']}, load average {s['loadavg_1min_before']} before it"
                if "date" in s else "")
        ax.set_title(f"{s['name']}: relative to "
                     f"{peer.split(' (')[0] if peer else 'vipsthumbnail'}{when}", fontsize=9,
                     loc="left")
        ax.tick_params(labelsize=8)
    axes[-1, 0].set_xlabel("speed relative to the faster of sharp and pyvips (else vipsthumbnail)"
                           "\n2 processes each; higher is faster", fontsize=8)
    v = results["versions"]
    fig.text(0.01, 0.005, f"{v['machine']}; Pillow {v['pillow']}, {v['vipsthumbnail']}, "
             f"{v.get('sharp', '')}, {v.get('pyvips', '')}", fontsize=6)
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
