"""The command line: click options -> Settings and Options -> run_job -> exit.

This package is the only part of thumbnailer that imports click or tqdm, or
that prints. Its modules import click: this one for the command and its
options, params.py for the option types, groups.py for --help's headings,
console.py to print (flags.py only words the library's errors). Only
console.py imports tqdm (the progress bar). This module is the only one that
exits. The run itself is the library's (job.py); this module parses, prints
through a ConsoleReporter, and exits with the code the JobResult decides.
"""

from __future__ import annotations

import gc
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
    DEFAULT_MAX_FILE_SIZE,
    DEFAULT_MAX_FRAMES,
    DEFAULT_MAX_PIXELS,
    DEFAULT_TIMEOUT,
    ColourSpace,
    Crop,
    FailOn,
    Fit,
    Format,
    Hdr,
    Settings,
)
from ..storage import is_url
from ..units import parse_bytes, parse_duration, parse_size
from .console import ConsoleReporter
from .flags import flagged, worded
from .groups import GroupedCommand
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
  thumbnailer ~/Pictures -o ~/thumbs           # 256 px, folders mirrored
  thumbnailer photos -s 320 -s 1024 -f webp    # two sizes, one decode
  thumbnailer photos --fit cover -s 200x200    # square crops
  thumbnailer photos --quiet --manifest m.json # cron: only failures print

\b
Any option can be set as THUMBNAILER_<OPTION>: THUMBNAILER_SIZE="256 1024".
Exit codes: 0 ok, 1 new failures, 2 usage error, 3 disk full or read-only,
4 --prune refused, 5 --check found work, 6 --deadline, 75 output in use,
130 interrupted, 143 terminated.
Every option explained in full: docs/usage.md
"""

#: --report given without a file: $GITHUB_STEP_SUMMARY's.
GITHUB_SUMMARY = "$GITHUB_STEP_SUMMARY"


# The help says what each option is for; docs/usage.md explains each in full.
@click.command(
    cls=GroupedCommand,
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
              help="Output root; or a URL: s3://bucket/thumbs.")
@click.option("-s", "--size", multiple=True, type=Parsed("SIZE", parse_size), default=["256"],
              help="Box to fit: 256, 320x200, 320x, x200. Repeatable.")
@click.option("-w", "--workers", type=click.IntRange(min=1), default=default_workers,
              metavar="N", show_default="the CPUs it may use",
              help="Worker processes; 1: in-process.")
@click.option("--executor", type=click.Choice(ENGINES), default="process",
              help="Worker processes, threads, or a Dask cluster ([dask] extra).")
@click.option("--scheduler", metavar="ADDRESS",
              help="Dask scheduler: tcp://host:8786.")
@click.option("-f", "--format", "formats", multiple=True, default=["auto"],
              envvar="THUMBNAILER_FORMAT",
              callback=check_formats, type=FormatChoice(),
              help="jpg means jpeg; auto: JPEG, or PNG with transparency. Repeatable.")
@click.option("-q", "--quality", type=QualityType(), default=85, metavar="N",
              help="Encoder quality.")
@click.option("--fit", type=click.Choice([f.value for f in Fit]), default="contain",
              help="contain: fit inside; cover: fill, crop; "
                   "fill: stretch; pad: contain, pad.")
@click.option("--crop", type=click.Choice([c.value for c in Crop]), default="center",
              help="What cover keeps: centre, busiest part, most salient, faces "
                   "([faces] extra).")
@click.option("--colour-space", type=click.Choice([c.value for c in ColourSpace]),
              default="srgb", show_default=False,
              help="p3: wide-gamut sources stay P3. [default: srgb]")
@click.option("--hdr", type=click.Choice([h.value for h in Hdr]), default="sdr",
              show_default=False, help="keep: HDR as UltraHDR JPEGs. [default: sdr]")
@click.option("--upscale/--no-upscale", default=False, show_default=False,
              help="Enlarge images smaller than the box.")
@click.option("--background", type=ColorType(), default="white",
              help="Behind alpha; pad's margins.")
@click.option("--max-pixels", type=click.IntRange(min=1), default=DEFAULT_MAX_PIXELS,
              metavar="N", help="Refuse more pixels.")
@click.option("--max-file-size", type=Parsed("BYTES", parse_bytes), default=DEFAULT_MAX_FILE_SIZE,
              show_default="1G", help="Refuse larger files.")
@click.option("--timeout", type=click.FloatRange(min=0), default=DEFAULT_TIMEOUT,
              metavar="SECONDS", help="Per image; 0: no limit.")
@click.option("--fail-on", type=click.Choice([f.value for f in FailOn]), default="error",
              help="When broken data fails an image.")
@click.option("--allow-format", "allow_formats", multiple=True, metavar="NAME",
              callback=allowed_formats,
              help="Also open this Pillow format, or all. Repeatable.")
@click.option("--animated", is_flag=True,
              help="Keep animation in GIF and WebP outputs.")
@click.option("--max-frames", type=click.IntRange(min=1), default=DEFAULT_MAX_FRAMES,
              metavar="N", help="Frames --animated keeps.")
@click.option("--keep-metadata", is_flag=True,
              help="Keep EXIF (turned upright); else stripped.")
@click.option("--name", metavar="TEMPLATE",
              help="Output name: {stem} {size} {width} {height}. "
                   "[default: {stem}, or {stem}_{size}]")
@click.option("--include", multiple=True, metavar="GLOB",
              help="Only image files matching. Repeatable.")
@click.option("--exclude", multiple=True, metavar="GLOB",
              help="Skip files and folders matching. Repeatable.")
@click.option("--hidden", is_flag=True, help="Also walk hidden files and folders.")
@click.option("--follow-symlinks", is_flag=True,
              help="Follow symlinks on the walk (loops are safe).")
@click.option("--video/--no-video", default=True, show_default=False,
              help="Walk videos ([video] extra). [default: on]")
@click.option("--raw/--no-raw", default=True, show_default=False,
              help="Walk camera RAW files ([raw] extra). [default: on]")
@click.option("--manifest", metavar="FILE.json", type=click.Path(dir_okay=False, path_type=str),
              help="Write a JSON manifest of every thumbnail.")
@click.option("--xdg-cache", is_flag=True,
              help="Fill the desktop's thumbnail cache, not a folder.")
@click.option("--gallery", is_flag=True,
              help="Write index.html, a contact sheet of thumbnails.")
@click.option("--placeholders", is_flag=True,
              help="ThumbHash, BlurHash and colour of each source in the manifest "
                   "([placeholders] extra).")
@click.option("--force", is_flag=True, help="Regenerate even what is up to date.")
@click.option("--prune", is_flag=True,
              help="Delete its thumbnails the job no longer names; none (exit 4) "
                   "if a SOURCE gave no image or more than --prune-limit would go.")
@click.option("--prune-limit", type=Parsed("LIMIT", Limit.parse), default="20%",
              show_default=True,
              help="Most --prune deletes: 20%, 500.")
@click.option("--max-memory", type=Parsed("SIZE", memory_size), default="50%",
              help="Memory for images: 2G, 25%.")
@click.option("--adopt", is_flag=True,
              help="Take files at thumbnails' paths as its own.")
@click.option("--retry-failed", is_flag=True,
              help="Try the sources that failed before again.")
@click.option("--strict", is_flag=True,
              help="Exit 1 for known failures too, not only new ones.")
@click.option("--shard", type=ShardType(),
              help="Make only part K of N, for N parallel jobs.")
@click.option("-n", "--dry-run", is_flag=True,
              help="Print what would be made; write nothing.")
@click.option("--report", "report", is_flag=False, flag_value=GITHUB_SUMMARY, default=None,
              metavar="FILE.md",
              help="Markdown summary (no file: $GITHUB_STEP_SUMMARY).")
@click.option("--deadline", type=Parsed("DURATION", parse_duration),
              help="Start no image after this long (15m, 2h): exit 6.")
@click.option("--cache-key", is_flag=True,
              help="For CI: print a key for caching the output, exit.")
@click.option("--check", is_flag=True,
              help="For CI: list what is out of date, exit 5 if any.")
@click.option("--wait", is_flag=True,
              help="Wait for a run using the output folder.")
@click.option("--watch", is_flag=True,
              help="Then watch SOURCE; make new photos' thumbnails.")
@click.option("--watch-poll", is_flag=True,
              help="--watch by polling (else only on network mounts).")
@click.option("-v", "--verbose", is_flag=True, help="Also a line per thumbnail made or skipped.")
@click.option("--quiet", is_flag=True, help="Print only failures. (-q is --quality.)")
@click.option("--progress/--no-progress", default=None, show_default=False,
              help="Progress bar on stderr. [default: on a terminal]")
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
        xdg_cache=opts["xdg_cache"], colour_space=ColourSpace(opts["colour_space"]),
        hdr=Hdr(opts["hdr"]),
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
    try:
        options = _options(ctx, opts, report, append)
    except JobError as e:  # options that do not go together (--watch and --manifest)
        raise click.UsageError(flagged(worded(e))) from None
    reporter = ConsoleReporter(quiet=opts["quiet"], verbose=opts["verbose"],
                               progress=opts["progress"])
    try:
        result = run_job(sources, settings, options, reporter)
    except JobError as e:  # found before anything was touched
        raise click.UsageError(flagged(worded(e))) from None
    sys.exit(result.exit_code)


def command() -> None:
    """The ``thumbnailer`` command (the console script, ``python -m thumbnailer``):
    main() in a process of its own, whose garbage collector it may therefore tune.
    A library caller's process is not touched: run_job never does this."""
    # What is loaded by now (modules, classes, functions: most of the heap) lives as
    # long as the process. Frozen, it is out of the collector's sight: a full
    # collection during a long run does not walk it, forked workers do not write to
    # its pages, and the exit does not scan it (13 ms of a one-photo run's 194).
    gc.freeze()
    try:
        main(prog_name="thumbnailer")
    finally:
        gc.freeze()  # the run's own objects too, since the process ends now (5 ms more)


def _options(ctx: click.Context, opts: dict[str, Any], report: str | None, append: bool
             ) -> Options:
    """The run's Options; JobError for options that do not go together."""
    return Options(workers=opts["workers"], executor=_executor(ctx, opts),
                   scheduler=opts["scheduler"], dry_run=opts["dry_run"],
                   check=opts["check"],
                   prune=opts["prune"], prune_limit=opts["prune_limit"],
                   manifest=opts["manifest"], gallery=opts["gallery"],
                   report=report, report_append=append, deadline=opts["deadline"],
                   wait=opts["wait"], retry_failed=opts["retry_failed"], adopt=opts["adopt"],
                   strict=opts["strict"], max_memory=opts["max_memory"],
                   keep_entries=False, watch=opts["watch"] or opts["watch_poll"],
                   watch_poll=True if opts["watch_poll"] else None)


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
