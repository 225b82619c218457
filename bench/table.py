"""Print bench results as docs/performance.md's markdown tables:
``python bench/table.py [bench/results/results-full.json]``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

TARGETS = {  # scenario -> thumbnailer's target, relative to vipsthumbnail (issues 6, 25)
    "12 MP JPEG -> 256": 1.30,
    "12 MP JPEG -> 1024+512+128": 2.4,
    "2 MP JPEG -> 256": 1.7,
    "3 MP PNG -> 256": 1.0,
}
PEER_TARGETS = {  # relative to the faster of sharp and the pyvips pool (issue 25)
    "12 MP JPEG -> 256": 1.10,
    "2 MP JPEG -> 256": 1.35,
}


def main(path: Path) -> None:
    results = json.loads(path.read_text())
    v = results["versions"]
    print(f"Measured on {v['machine']}; Python {v['python']}, Pillow {v['pillow']}, "
          f"{v['vipsthumbnail']}, {v['graphicsmagick'].split(' http')[0]}, "
          f"{v['imagemagick'].split(' https')[0].removeprefix('Version: ')}, "
          f"{v.get('sharp', 'no sharp')}, {v.get('pyvips', 'no pyvips')}; "
          f"{results['rounds']} interleaved rounds, medians.\n")
    ref = results.get("reference_after_q85")
    for scenario in results["scenarios"]:
        name = scenario["name"]
        targets = [f"{TARGETS[name]:.2f}x vipsthumbnail"] if name in TARGETS else []
        targets += [f"{PEER_TARGETS[name]:.2f}x the faster peer"] if name in PEER_TARGETS else []
        when = (f"; {scenario['date']}, load average {scenario['loadavg_1min_before']} "
                "on 2 CPUs" if "date" in scenario else "")
        print(f"**{name}**" + (f" (target: {', '.join(targets)}{when})" if targets else
                               f" ({when[2:]})" if when else "") + "\n")
        quality = any("psnr" in r for r in scenario["rows"])
        peer = scenario.get("faster_peer")
        head = "| tool | x vipsthumbnail |" + (f" x {peer.split(' (')[0]} |" if peer else "")
        print(head + " wall s | CPU s | largest process MB |" + (" PSNR dB | SSIM |" if quality
                                                                  else ""))
        print("|---" * (5 + bool(peer) + 2 * quality) + "|")
        for r in sorted(scenario["rows"], key=lambda r: -r["speed_vs_vips"]):
            tool = f"**{r['tool']}**" if r["tool"] == "thumbnailer" else r["tool"]
            line = (f"| {tool} | {r['speed_vs_vips']:.2f} |"
                    + (f" {r['speed_vs_peer']:.2f} |" if peer else "")
                    + f" {r['wall']:.2f} | {r['cpu']:.2f} | {r['peak_rss_mb']:.0f} |")
            if quality:
                line += (f" {r['psnr']:.2f} | {r['ssim']:.4f} |" if "psnr" in r else " | |")
            print(line)
        if quality and ref:
            print(f"| *full-decode reference after a q85 save* |{' |' * (4 + bool(peer))} "
                  f"{ref['psnr']:.2f} "
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
