"""Print bench results as docs/performance.md's markdown tables:
``python bench/table.py [bench/results/results-full.json]``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

TARGETS = {  # scenario -> thumbnailer's target, relative to vipsthumbnail (issue 6)
    "12 MP JPEG -> 256": 1.30,
    "12 MP JPEG -> 1024+512+128": 2.2,
    "2 MP JPEG -> 256": 1.7,
    "3 MP PNG -> 256": 1.0,
}


def main(path: Path) -> None:
    results = json.loads(path.read_text())
    v = results["versions"]
    print(f"Measured on {v['machine']}; Python {v['python']}, Pillow {v['pillow']}, "
          f"{v['vipsthumbnail']}, {v['graphicsmagick'].split(' http')[0]}, "
          f"{v['imagemagick'].split(' https')[0].removeprefix('Version: ')}; "
          f"{results['rounds']} interleaved rounds, medians.\n")
    ref = results.get("reference_after_q85")
    for scenario in results["scenarios"]:
        name = scenario["name"]
        target = TARGETS.get(name)
        print(f"**{name}**" + (f" (target: {target:.2f}x)" if target else "") + "\n")
        quality = any("psnr" in r for r in scenario["rows"])
        head = "| tool | x vipsthumbnail | wall s | CPU s | largest process MB |"
        print(head + (" PSNR dB | SSIM |" if quality else ""))
        print("|---" * (5 + 2 * quality) + "|")
        for r in sorted(scenario["rows"], key=lambda r: -r["speed_vs_vips"]):
            tool = f"**{r['tool']}**" if r["tool"] == "thumbnailer" else r["tool"]
            line = (f"| {tool} | {r['speed_vs_vips']:.2f} | {r['wall']:.2f} | {r['cpu']:.2f} "
                    f"| {r['peak_rss_mb']:.0f} |")
            if quality:
                line += (f" {r['psnr']:.2f} | {r['ssim']:.4f} |" if "psnr" in r else " | |")
            print(line)
        if quality and ref:
            print(f"| *full-decode reference after a q85 save* | | | | | {ref['psnr']:.2f} "
                  f"| {ref['ssim']:.4f} |")
        print()
    if "rerun" in results:
        r = results["rerun"]
        print(f"**Unchanged rerun over {r['files']:,} files** (target: at most 1.5x the bare "
              f"walk): thumbnailer {r['thumbnailer']:.2f} s, bare Python stat walk "
              f"{r['bare']:.2f} s, ratio {r['ratio']:.2f}.")


if __name__ == "__main__":
    default = Path(__file__).resolve().parent / "results" / "results-full.json"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
