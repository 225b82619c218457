"""What catching each source's stderr costs: ``python bench/stderr.py``.

render() points file descriptor 2 at a file of the process's own around each
source (run/stderr.py). This times render() of 10,000 tiny PNGs (16 x 16, the
case where a fixed cost per source shows most) in this process, in alternating
chunks of 100 with the capture and with a stand-in that does nothing, so that
the load of a shared machine falls on both alike: the median over the chunks of
the CPU time per source, each way, and the difference. Then the capture alone,
empty and with one line written.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import timeit
from pathlib import Path

from PIL import Image

import thumbnailer.render
from thumbnailer.render import render, warm_up
from thumbnailer.run.stderr import captured_stderr
from thumbnailer.spec import Settings, Size, Target, Task


class _Nothing:
    """The capture's stand-in: no descriptor moved, nothing said."""

    def __enter__(self) -> _Nothing:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def lines(self) -> tuple[str, ...]:
        return ()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        tiny = Image.new("RGB", (16, 16), (200, 100, 50))
        sources = []
        for n in range(args.files):
            tiny.save(root / f"{n}.png")
            sources.append(root / f"{n}.png")
        settings = Settings(output=str(root / "out"), sizes=(Size(256, 256),))
        warm_up(settings)
        per_source: dict[bool, list[float]] = {True: [], False: []}
        for start in range(0, args.files, args.chunk):
            capture = (start // args.chunk) % 2 == 0
            thumbnailer.render.captured_stderr = captured_stderr if capture else _Nothing  # type: ignore[assignment,misc]
            began = time.process_time()
            for src in sources[start:start + args.chunk]:
                out = root / ("on" if capture else "off") / src.stem
                render(Task(str(src), (Target(Size(256, 256), str(out)),), settings))
            chunk = len(sources[start:start + args.chunk])
            per_source[capture].append((time.process_time() - began) / chunk)
        thumbnailer.render.captured_stderr = captured_stderr  # type: ignore[misc]
    on, off = (statistics.median(per_source[k]) * 1e6 for k in (True, False))
    print(f"{args.files:,} sources of 16 x 16, CPU time per source: "
          f"{off:.0f} us without the capture, {on:.0f} us with it ({on - off:+.1f} us)")

    def empty() -> None:
        with captured_stderr():
            pass

    def one_line() -> None:
        with captured_stderr() as caught:
            os.write(2, b"More samples per pixel than can be decoded: 65535\n")
        caught.lines()

    for name, fn in (("empty", empty), ("one line written", one_line)):
        n = 20_000
        print(f"the capture alone, {name}: {timeit.timeit(fn, number=n) / n * 1e6:.1f} us")


if __name__ == "__main__":
    main()
