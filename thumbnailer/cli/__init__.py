"""The command line: click options -> Settings and Options -> run_job -> exit.

This package is the only part of thumbnailer that imports click or tqdm, or
that prints. All three of its modules import click: this one for the command and
its options, params.py for the option types, console.py to print. Only
console.py imports tqdm (the progress bar). This module is the only one that
exits. The run itself is the library's (job.py); this module parses, prints
through a ConsoleReporter, and exits with the code the JobResult decides.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from .._version import __version__
from ..errors import JobError
from ..job import Options, cache_key, run_job
from ..plan.prune import Limit
from ..run import default_workers
from ..run.engines import ENGINES
from ..spec import (
    DEFAULT_DECODERS,
    DEFAULT_MAX_FILE_SIZE,
    DEFAULT_MAX_FRAMES,
    DEFAULT_MAX_PIXELS,
    DEFAULT_TIMEOUT,
    Crop,
    FailOn,
    Fit,
    Format,
    Settings,
)
from ..storage import is_url
from ..units import parse_bytes, parse_duration, parse_size
from .console import ConsoleReporter
from .flags import worded
from .params import (
    ColorType,
    FormatChoice,
    Parsed,
    QualityType,
    ShardType,
    SourceType,
    allowed_formats,
    check_formats,
    memory_size,
    output_folder,
)

EXAMPLES = """\b
Examples:
  thumbnailer ~/Pictures -o ~/thumbs            # a photo folder, 256 px, mirrored tree
  thumbnailer photos -s 320 -s 1024 -f webp     # two sizes from one decode each
  thumbnailer photos --fit cover -s 200x200     # square crops
  thumbnailer photos --quiet --manifest m.json  # cron / CI: silent unless something fails

\b
Every option can also be set as THUMBNAILER_<OPTION>, e.g. THUMBNAILER_WORKERS=4,
THUMBNAILER_SIZE="256 1024" (repeatable options split on spaces).
Exit codes: 0 ok, 1 new failures (any failure with --strict), 2 usage error, 3 stopped
early (output disk full or read-only), 4 --prune refused, 5 --check found work, 6
--deadline reached, 75 output folder in use by another run, 130 interrupted, 143
terminated.
"""

#: --report given without a file: $GITHUB_STEP_SUMMARY's.
GITHUB_SUMMARY = "$GITHUB_STEP_SUMMARY"


@click.command(
    epilog=EXAMPLES,
    context_settings={
        "auto_envvar_prefix": "THUMBNAILER",
        "show_default": True,
        "help_option_names": ["-h", "--help"],
        "max_content_width": 100,
    },
)
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...", type=SourceType())
@click.option("-o", "--output", default="thumbnails", metavar="DIR|URL",
              callback=output_folder,
              help="Output root; thumbnails mirror each source folder's structure. "
                   "A URL (s3://bucket/thumbs) writes to an object store.")
@click.option("-s", "--size", multiple=True, type=Parsed("SIZE", parse_size), default=["256"],
              help="Box to fit: 256, 320x200, 320x (width only), x200. Repeatable.")
@click.option("-w", "--workers", type=click.IntRange(min=1), default=default_workers,
              show_default="CPUs this process may use",
              help="Worker processes; 1 runs in-process with no pool.")
@click.option("--executor", type=click.Choice(ENGINES), default="process",
              help="Where images are made: this machine's worker processes, threads, or a "
                   "Dask cluster (pip install 'thumbnailer[dask]').")
@click.option("--scheduler", metavar="ADDRESS",
              help="With --executor dask: the scheduler, e.g. tcp://host:8786. Without it, a "
                   "local Dask cluster of --workers processes is started.")
@click.option("-f", "--format", "formats", multiple=True, default=["auto"],
              envvar="THUMBNAILER_FORMAT",
              callback=check_formats, type=FormatChoice(),
              help="auto: JPEG when opaque, PNG when the thumbnail has transparency. "
                   "Repeatable: every size in every format, from one decode. "
                   "jpg means jpeg.")
@click.option("-q", "--quality", type=QualityType(), default=85,
              help="Encoder quality for JPEG, WebP and AVIF.")
@click.option("--fit", type=click.Choice([f.value for f in Fit]), default="contain",
              help="contain: inside the box; cover: fill it, crop the overflow; "
                   "fill: stretch; pad: contain, then pad to the box.")
@click.option("--crop", type=click.Choice([c.value for c in Crop]), default="center",
              help="Which part --fit cover keeps: the centre, the busiest part (entropy), "
                   "or the most salient: edges, colour, skin (attention).")
@click.option("--upscale/--no-upscale", default=False,
              help="Enlarge images smaller than the box (contain, cover, pad).")
@click.option("--background", type=ColorType(), default="white",
              help="Flattens transparency for JPEG, and fills pad's margins.")
@click.option("--max-pixels", type=click.IntRange(min=1), default=DEFAULT_MAX_PIXELS,
              help="Refuse larger images before decoding them (decompression bombs).")
@click.option("--max-file-size", type=Parsed("BYTES", parse_bytes), default=DEFAULT_MAX_FILE_SIZE,
              show_default="1G", help="Refuse larger source files before opening them.")
@click.option("--timeout", type=click.FloatRange(min=0), default=DEFAULT_TIMEOUT,
              metavar="SECONDS", help="Stop and fail an image that takes longer; 0: no limit.")
@click.option("--fail-on", type=click.Choice([f.value for f in FailOn]), default="error",
              help="When broken pixel data fails an image: none keeps whatever decoded; "
                   "truncated fails data that ends early; error also fails corrupt data; "
                   "warning also fails files Pillow warns about (corrupt EXIF, ...).")
@click.option("--allow-format", "allow_formats", multiple=True, metavar="NAME",
              callback=allowed_formats,
              help="Also open this Pillow format (PSD, JPEG2000, ICO, TGA, PPM, ..., or all; "
                   "an extension names its format: jp2, tif). "
                   f"By default only {', '.join(DEFAULT_DECODERS)}. Repeatable.")
@click.option("--animated", is_flag=True,
              help="Keep animation in GIF and WebP outputs (format auto writes animations as "
                   "GIF); otherwise animated images give their first frame.")
@click.option("--max-frames", type=click.IntRange(min=1), default=DEFAULT_MAX_FRAMES,
              help="With --animated: keep at most this many frames.")
@click.option("--keep-metadata", is_flag=True,
              help="Keep EXIF (orientation reset to upright); by default it is stripped.")
@click.option("--name", metavar="TEMPLATE",
              help="Output name without extension; fields {stem} {size} {width} {height}. "
                   "[default: {stem} for one size, {stem}_{size} for several]")
@click.option("--include", multiple=True, metavar="GLOB",
              help="Only image files matching (case-insensitive). Repeatable.")
@click.option("--exclude", multiple=True, metavar="GLOB",
              help="Skip files and folders matching (case-insensitive). Repeatable.")
@click.option("--hidden", is_flag=True, help="Also walk hidden files and folders.")
@click.option("--follow-symlinks", is_flag=True,
              help="Follow symlinks met on the walk, to files and folders (each real "
                   "folder once, loops are safe).")
@click.option("--video/--no-video", default=True,
              help="With the [video] extra installed, walk videos too (mp4, mov, m4v, webm, mkv, "
                   "avi): a poster frame each, the one nearest 10% of the duration, or if "
                   "that one is blank (black, one flat colour) the first with content in the "
                   "next 10%.")
@click.option("--raw/--no-raw", default=True,
              help="Walk camera RAW files (CR2, CR3, NEF, ARW, DNG, RAF, ORF, RW2, ...): their "
                   "embedded preview, else LibRaw's; needs the [raw] extra.")
@click.option("--manifest", metavar="FILE.json", type=click.Path(dir_okay=False, path_type=str),
              help="Write a JSON manifest of every thumbnail and the summary.")
@click.option("--xdg-cache", is_flag=True,
              help="Fill the desktop's thumbnail cache (freedesktop.org spec: GNOME Files, "
                   "Dolphin, Thunar) instead of an output folder: PNG, sizes 128 256 512 "
                   "1024 [default: 128 and 256].")
@click.option("--gallery", is_flag=True,
              help="Write index.html in the output folder: a self-contained contact sheet "
                   "of every thumbnail, grouped by folder, with the failures listed.")
@click.option("--placeholders", is_flag=True,
              help="Add to the manifest's sources a ThumbHash, a BlurHash and the dominant "
                   "colour of each, from its smallest thumbnail; the gallery shows them while "
                   "its images load. Needs the [placeholders] extra.")
@click.option("--force", is_flag=True, help="Regenerate even what is up to date.")
@click.option("--prune", is_flag=True,
              help="After a complete run, delete thumbnails this tool made that the job no "
                   "longer names (source gone or unselected, size or format dropped), and "
                   "folders left empty. Nothing else in the output folder is touched. "
                   "Nothing is deleted if a SOURCE gave no image (a disk that did not "
                   "mount) or more would go than --prune-limit allows: exit 4.")
@click.option("--prune-limit", type=Parsed("LIMIT", Limit.parse), default="20%",
              show_default=True,
              help="The most one --prune may delete: a share of the thumbnails made so far "
                   "(20%) or a number (500); 100% allows anything.")
@click.option("--max-memory", type=Parsed("SIZE", memory_size), default="50%",
              show_default="50% of the memory available",
              help="Memory the images being made may take (2G, 512M, or a share of what is "
                   "available, 25%): images go to the workers only while their estimated "
                   "needs fit, one bigger than all of it goes alone, and a worker that "
                   "needs more fails that image as out of memory.")
@click.option("--adopt", is_flag=True,
              help="Take files already at thumbnails' paths as thumbnailer's own: replace "
                   "them when they need making, and --prune them when stale. Only after "
                   "the state was lost or the output folder copied (new inodes); "
                   "otherwise a file it cannot prove it made is never replaced or deleted.")
@click.option("--retry-failed", is_flag=True,
              help="Try again the sources that failed before. Without it, a known failure "
                   "is tried again only when its file changes or thumbnailer, Pillow or a "
                   "limit (--max-pixels, --timeout, ...) does.")
@click.option("--strict", is_flag=True,
              help="Exit 1 for any failure, known ones too; by default only new failures "
                   "do (a broken file fails one run, not every night).")
@click.option("--shard", type=ShardType(),
              help="Make only part K of N of the job (a stable split by name), for N "
                   "parallel CI jobs; their outputs together equal one full run.")
@click.option("-n", "--dry-run", is_flag=True,
              help="Print what would be made (stdout); write nothing.")
@click.option("--report", "report", is_flag=False, flag_value=GITHUB_SUMMARY, default=None,
              metavar="FILE.md",
              help="Write a Markdown summary: counts, bytes written, the largest thumbnails, "
                   "the slowest sources, the failures. Without FILE.md, add it to "
                   "$GITHUB_STEP_SUMMARY (GitHub Actions shows it on the run's page).")
@click.option("--deadline", type=Parsed("DURATION", parse_duration),
              help="Stop starting images after this long (15m, 2h, 90s): newest sources "
                   "first, images in progress finish and are recorded, exit 6; the next "
                   "run carries on.")
@click.option("--cache-key", is_flag=True,
              help="For CI: print a key for caching the output folder (the settings' "
                   "fingerprint and the versions of thumbnailer, Pillow and its codecs) "
                   "and exit; add a hash of the sources to it.")
@click.option("--check", is_flag=True,
              help="For CI: write nothing, list the thumbnails missing or out of date "
                   "(stdout; with --prune, the stale ones too), and exit 5 if there are "
                   "any, 0 if all are up to date.")
@click.option("--wait", is_flag=True,
              help="If another run is using the output folder, wait for it instead of "
                   "exiting with code 75.")
@click.option("-v", "--verbose", is_flag=True, help="Also a line per thumbnail made or skipped.")
@click.option("--quiet", is_flag=True, help="Print only failures. (-q is --quality.)")
@click.option("--progress/--no-progress", default=None, show_default="on when stderr is a terminal",
              help="Progress bar on stderr.")
@click.version_option(__version__, "-V", "--version", prog_name="thumbnailer")
def main(sources: tuple[str, ...], **opts: Any) -> None:
    """Make thumbnails of every image in SOURCE (files and folders, walked recursively)."""
    ctx = click.get_current_context()
    fields: dict[str, Any] = dict(
        output=opts["output"], sizes=tuple(opts["size"]), formats=opts["formats"],
        quality=opts["quality"], fit=Fit(opts["fit"]), crop=Crop(opts["crop"]),
        upscale=opts["upscale"], background=opts["background"],
        keep_metadata=opts["keep_metadata"], animated=opts["animated"],
        max_frames=opts["max_frames"], max_pixels=opts["max_pixels"],
        max_file_size=opts["max_file_size"], timeout=opts["timeout"] or None,
        fail_on=FailOn(opts["fail_on"]), allow_formats=opts["allow_formats"], name=opts["name"],
        include=opts["include"], exclude=opts["exclude"], hidden=opts["hidden"],
        follow_symlinks=opts["follow_symlinks"], video=opts["video"], raw=opts["raw"],
        force=opts["force"], shard=opts["shard"], placeholders=opts["placeholders"],
        xdg_cache=opts["xdg_cache"],
    )
    if opts["xdg_cache"]:
        fields.update(_xdg_settings(ctx, sources))
    try:
        settings = Settings(**fields)
    except ValueError as e:
        raise click.UsageError(worded(e)) from None
    report, append = opts["report"], False
    if report == GITHUB_SUMMARY:
        report, append = os.environ.get("GITHUB_STEP_SUMMARY"), True
        if not report:
            raise click.UsageError("--report without a file needs $GITHUB_STEP_SUMMARY "
                                   "(set by GitHub Actions); give a file: --report FILE.md")
    if opts["cache_key"]:
        click.echo(cache_key(settings))
        return
    options = Options(workers=opts["workers"], executor=_executor(ctx, opts),
                      scheduler=opts["scheduler"], dry_run=opts["dry_run"],
                      check=opts["check"],
                      prune=opts["prune"], prune_limit=opts["prune_limit"],
                      manifest=opts["manifest"], gallery=opts["gallery"],
                      report=report, report_append=append, deadline=opts["deadline"],
                      wait=opts["wait"], retry_failed=opts["retry_failed"], adopt=opts["adopt"],
                      strict=opts["strict"], max_memory=opts["max_memory"],
                      keep_entries=False)
    reporter = ConsoleReporter(quiet=opts["quiet"], verbose=opts["verbose"],
                               progress=opts["progress"])
    try:
        result = run_job(sources, settings, options, reporter)
    except JobError as e:  # found before anything was touched
        raise click.UsageError(worded(e)) from None
    sys.exit(result.exit_code)


def _given(ctx: click.Context, name: str) -> bool:
    """Whether the user set this option (on the command line or in the environment)."""
    return ctx.get_parameter_source(name) not in (None, click.core.ParameterSource.DEFAULT)


def _executor(ctx: click.Context, opts: dict[str, Any]) -> str:
    """The engine to use: --scheduler means Dask; checked, with the extra it needs,
    before anything is planned."""
    executor: str = opts["executor"]
    if opts["scheduler"]:
        if not _given(ctx, "executor"):
            executor = "dask"
        elif executor != "dask":
            raise click.UsageError(f"--scheduler is for --executor dask, not {executor}")
    if opts["fail_on"] == FailOn.WARNING.value and executor != "process":
        raise click.UsageError(f"--fail-on warning needs --executor process: Python's "
                               f"warnings cannot be told apart between {executor} threads")
    if executor == "dask":
        import importlib.util

        if importlib.util.find_spec("distributed") is None:
            raise click.UsageError(
                "--executor dask needs the optional extra: pip install 'thumbnailer[dask]'")
    return executor


def _xdg_settings(ctx: click.Context, sources: tuple[str, ...]) -> dict[str, Any]:
    """--xdg-cache: the spec decides where, what size and format; refuse options
    that would contradict it, and give the spec's values (sizes and format only
    where the user did not choose)."""
    from ..outputs.desktop.xdg import DEFAULT_FLAVOURS, cache_root

    given = sorted(n for n in ("output", "name", "prune", "gallery", "keep_metadata")
                   if _given(ctx, n))
    if given:
        raise click.UsageError(f"--{given[0].replace('_', '-')} cannot be used with --xdg-cache "
                               "(the cache's layout is fixed by the freedesktop.org spec)")
    if any(is_url(source) for source in sources):
        raise click.UsageError("--xdg-cache is for local files: file managers show those")
    spec: dict[str, Any] = {"output": cache_root()}
    if not _given(ctx, "size"):
        spec["sizes"] = tuple(parse_size(str(side)) for side in DEFAULT_FLAVOURS)
    if not _given(ctx, "formats"):
        spec["formats"] = (Format.PNG,)
    return spec


if __name__ == "__main__":  # pragma: no cover
    main()
