"""A whole run as one library call: ``run_job(sources, settings, options, reporter)``.

It owns everything a run needs beyond making thumbnails: the output lock, the
sweep of a killed run's temporaries, the plan, the engine, ``render`` on every
task, recording each result as it comes back, Ctrl-C, SIGTERM and a full disk,
then prune, the manifest and the gallery. The ``JobResult`` it returns decides
the exit code, in one place. It prints nothing itself: a ``Reporter`` is told
what happens (the command line's prints; the base one is silent).
"""

from __future__ import annotations

import contextlib
import functools
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from ._version import __version__
from .errors import JobError
from .formats import extension
from .outputs.markdown import MarkdownReport
from .outputs.report import (
    Tally,
    images_counted,
    manifest_digest,
    summary_line,
    write_manifest,
)
from .outputs.spool import Spool
from .plan import Plan, plan
from .plan.checks import check, check_side_files
from .plan.prune import DEFAULT_LIMIT, Limit, guard, prune
from .plan.state.ledger import judge
from .plan.state.trouble import StateError, Trouble, moved_aside
from .read import KINDS
from .read.kinds import HDR_MARK
from .result import JobResult, Reporter
from .run import Stop, budget, default_workers, run_tasks, stopping_on
from .run.budget import Budget
from .run.deadline import Deadline
from .run.engines import ENGINES, EngineError, engine
from .spec import Entry, Format, Outcome, Settings, Status, StopReason, Target, Task
from .storage import LOCAL, store
from .storage.lock import Locked
from .watch import Watcher, WatchError


@dataclass(frozen=True)
class Options:
    """How a run goes, beyond what shapes the thumbnails (that is Settings)."""

    workers: int = field(default_factory=default_workers)
    executor: str = "process"  # process, thread or dask (engines.py)
    scheduler: str | None = None  # a Dask scheduler's address
    dry_run: bool = False  # plan and report, write nothing
    #: As dry_run, and the result says whether anything is missing or out of date.
    check: bool = False
    prune: bool = False
    #: The most one prune may delete (None: no limit); a SOURCE with no image
    #: always stops it (prune.guard).
    prune_limit: Limit | None = DEFAULT_LIMIT
    manifest: str | None = None  # path of the JSON manifest to write
    #: Seconds after which no image is started (newest sources first); None: no limit.
    deadline: float | None = None
    report: str | None = None  # path of the Markdown summary to write (outputs/markdown.py)
    report_append: bool = False  # add to it instead ($GITHUB_STEP_SUMMARY is shared)
    gallery: bool = False
    wait: bool = False  # for another run's lock on the output folder
    #: Try known failures again (the failure ledger, plan/state/ledger.py), not only those
    #: whose file, versions or limits changed.
    retry_failed: bool = False
    #: Every failure fails the run (exit 1), known ones too; else only new ones do.
    strict: bool = False
    #: Bytes the images in flight may take (budget.py); None: half of what is
    #: available when the run starts.
    max_memory: int | None = None
    #: Take files found at thumbnails' paths as this tool's own, to replace, and
    #: record them so (after the state was lost, or the output folder copied,
    #: which gives new inodes); else a file this tool cannot prove it made is
    #: never replaced or deleted.
    adopt: bool = False
    #: Keep every entry for JobResult.tally.entries (on disk, in a temporary
    #: database); the command line keeps them only for --manifest and --gallery.
    keep_entries: bool = True
    #: After the run, keep watching the SOURCE folders and make the thumbnails of
    #: what arrives or changes, in batches, until SIGINT or SIGTERM (watch.py; the
    #: ``[watch]`` extra). With prune, what is deleted is pruned, guard and all.
    watch: bool = False
    #: Watch by looking at every folder each second, not by the kernel's events
    #: (network mounts: NFS, SMB, FUSE, where inotify hears nothing); None: so
    #: where a SOURCE is on such a mount (watch.on_network).
    watch_poll: bool | None = None
    #: Seconds a folder must be quiet after its last change before a batch.
    watch_quiet: float = 0.4

    def __post_init__(self) -> None:
        if self.executor not in ENGINES:
            raise JobError(f"Options.executor {self.executor!r} is not an engine; use one of "
                           f"{', '.join(ENGINES)}", setting="executor")
        if self.watch_poll and not self.watch:
            raise JobError("Options.watch_poll is a way to watch: give Options.watch too",
                           setting="watch_poll")
        if self.watch:
            # Each of these tells of a whole job; a batch walks only the folders that
            # changed, and walking the whole library for every photo would not keep up.
            whole = [name for name in ("dry_run", "check", "manifest", "gallery", "report",
                                       "deadline") if getattr(self, name)]
            if whole:
                raise JobError(f"Options.{whole[0]} cannot be used with Options.watch: it "
                               "tells of a whole run, and a watch's batches walk only the "
                               "folders that changed; run it on its own (from cron)",
                               setting=whole[0])


#: The signals that stop a run (cron and systemd send SIGTERM), and the stop
#: reason each gives.
SIGNALS: dict[int, object] = {signal.SIGINT: StopReason.INTERRUPTED,
                              signal.SIGTERM: StopReason.TERMINATED}


def run_job(sources: Sequence[str], settings: Settings, options: Options | None = None,
            reporter: Reporter | None = None) -> JobResult:
    """Make the thumbnails of ``sources`` as ``settings`` say: the whole run.

    Raises JobError (a ValueError) for a job that cannot run at all (unsafe output
    folder, bad name template, missing SOURCE URL), before anything is touched;
    its ``setting`` names the field at fault, if one is.
    Everything else ends in the JobResult: bad images are failed entries, a full
    disk, a held lock or a state database that cannot be used now a stop reason.
    """
    options = options or Options()
    reporter = reporter or Reporter()
    started = time.monotonic()
    try:
        check(sources, settings)
        check_side_files(sources, options.manifest, options.report)
    except JobError:
        raise
    except ValueError as e:  # a store's own refusal of a path
        raise JobError(str(e)) from None
    if options.watch:
        _can_watch(sources, settings)
    planner: Callable[..., Plan]
    lock_folder = settings.output
    if settings.xdg_cache:
        from .outputs.desktop import plan_desktop
        from .outputs.desktop.xdg import fail_folder, make_private_folder

        planner = functools.partial(plan_desktop, version=__version__)
        lock_folder = fail_folder(settings.output, __version__)  # ours, per the spec
    else:
        judged = functools.cache(lambda: judge(settings, _versions()))
        planner = functools.partial(plan, judge=judged, adopt=options.adopt,
                                    retry_failed=options.retry_failed or settings.force)
    stop = Stop()
    with stopping_on(stop, SIGNALS):
        try:
            if options.dry_run or options.check:  # reads only: no lock, no folder made
                with contextlib.closing(planner(sources, settings, read_only=True,
                                                mark=options.prune)) as job:
                    return _dry_run(job, sources, started, options, reporter)
            if settings.xdg_cache:
                make_private_folder(lock_folder)
            # An object store has no file locks: there, one job per output prefix.
            with store(lock_folder).lock(lock_folder, wait=options.wait), \
                    contextlib.ExitStack() as watching:
                watcher = None
                if options.watch:  # from before the first pass: what arrives meanwhile is seen
                    from .plan.sources import selection

                    watcher = watching.enter_context(Watcher(
                        sources, selection(settings), settings.output, poll=options.watch_poll,
                        quiet=options.watch_quiet))
                with contextlib.closing(planner(sources, settings, mark=options.prune)) as job:
                    result = _run(job, sources, started, options, reporter, stop)
                if watcher is None or result.stop is not None:
                    return result
                return _watch(watcher, planner, sources, settings, options, reporter, stop,
                              result)
        except KeyboardInterrupt:  # while planning or waiting for the lock: nothing made
            reason = StopReason(stop.reason or StopReason.INTERRUPTED)
            reporter.problem(f"{_SAID[reason]} before any image was made")
            return JobResult(Tally(), time.monotonic() - started, reason)
        except Locked as e:
            reporter.error(e)
            return JobResult(Tally(), time.monotonic() - started, StopReason.LOCKED)
        except EngineError as e:
            reporter.error(e)
            return JobResult(Tally(), time.monotonic() - started, StopReason.HALTED)
        except WatchError as e:  # the SOURCE folders cannot be watched
            reporter.error(e)
            return JobResult(Tally(), time.monotonic() - started, StopReason.HALTED)
        except StateError as e:  # while planning: busy, or not a state that can be used
            reporter.error(e)
            return JobResult(Tally(), time.monotonic() - started, e.stop)
        except OSError as e:  # the output folder cannot be made or locked
            reporter.problem(f"thumbnailer: cannot use the output folder {settings.output}: "
                             f"{e.strerror or str(e) or type(e).__name__}")
            return JobResult(Tally(), time.monotonic() - started, StopReason.HALTED)


def _can_watch(sources: Sequence[str], settings: Settings) -> None:
    """What --watch needs, checked before anything is touched."""
    from .watch import available

    if not available():
        raise JobError("Options.watch needs the optional extra: pip install 'thumbnailer[watch]'",
                       setting="watch")
    if settings.xdg_cache:
        raise JobError("Settings.xdg_cache cannot be used with Options.watch: file managers "
                       "make the desktop's thumbnails of new files themselves",
                       setting="xdg_cache")
    urls = [s for s in (*sources, settings.output) if not store(s).watchable]
    if urls:
        raise JobError(f"Options.watch is for local folders: {urls[0]} sends no events; run "
                       "from cron instead", setting="watch")


def _watch(watcher: Watcher, planner: Callable[..., Plan], sources: Sequence[str],
           settings: Settings, options: Options, reporter: Reporter, stop: Stop,
           first: JobResult) -> JobResult:
    """After the first pass, one batch per change (the folders that changed,
    walked again as a run would: plan, render, record, prune), a status line
    each, until a signal. The lock is held throughout (run_job's)."""
    total = Tally()
    _add(total, first.tally)
    started = time.monotonic()
    reporter.summary(f"watching {', '.join(sources)} for new photos (Ctrl-C to stop)")
    while True:
        with stop.flag_only_within():  # a signal here only sets the reason
            scope = watcher.batch(stop)
        if scope is None:
            break
        begun = time.monotonic()
        gone = [s for s in sources if not store(s).exists(s)]
        if gone:  # removed, or a disk unmounted: what it held is not known gone
            reporter.problem(f"thumbnailer: {', '.join(gone)} is gone; its thumbnails are kept "
                             "(nothing pruned), and the watch goes on, for it to come back")
            continue
        try:
            # A signal anywhere in a batch (planning, the pool's start or end, the
            # state's save) only sets the reason: the batch ends as a stopped run does.
            with stop.flag_only_within(), contextlib.closing(planner(
                    sources, settings, mark=options.prune, scope=scope)) as job:
                result = _run(job, sources, begun, options, reporter, stop, batch=True)
        except KeyboardInterrupt:  # a second signal: stop waiting for running work
            break
        _add(total, result.tally)
        if result.stop is not None and result.stop not in _SAID:  # a full disk, a lost state
            return JobResult(total, time.monotonic() - started, result.stop)
        if result.stop is None:
            reporter.summary(batch_line(result))
        if stop:
            break
    reason = StopReason(stop.reason or StopReason.INTERRUPTED)
    reporter.problem(f"{_SAID[reason]}: stopped watching; what was made is kept")
    return JobResult(total, first.seconds + time.monotonic() - started, reason)


def _add(total: Tally, batch: Tally) -> None:
    """A batch's counts into the watch's (its entries are not kept)."""
    total.counts.update(batch.counts)
    total.sources.update(batch.sources)
    total.known_sources += batch.known_sources


def batch_line(result: JobResult, when: float | None = None) -> str:
    """--watch's line for one batch: the time, then what a run's summary says of it."""
    clock = time.strftime("%H:%M:%S", time.localtime(when))
    return f"{clock} " + summary_line(result.tally, result.seconds,
                                      pruned=None if result.pruned is None else len(result.pruned))


def cache_key(settings: Settings) -> str:
    """A key for a CI cache of the output folder: changes with whatever shapes a
    thumbnail (each size's and format's fingerprint) and with the versions of
    thumbnailer, Pillow and its codecs. It says nothing of the sources: CI adds
    a hash of those (GitHub's hashFiles)."""
    import hashlib

    parts = _versions()
    parts += [settings.fingerprint(size, fmt) for size in settings.sizes
              for fmt in settings.formats] + [k.mark for k in KINDS if k.mark] + [HDR_MARK]
    return "thumbnailer-" + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def __getattr__(name: str) -> Callable[[Task], Outcome]:
    """``job.render``, the function the engine runs, imported when first asked
    for (it loads Pillow, which an unchanged rerun never needs); a test may set
    another in its place."""
    if name == "render":
        from .render import render

        return render
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _versions() -> list[str]:
    """thumbnailer's, Pillow's and its codecs' versions."""
    from .read.pillow import codec_versions

    return [__version__, *codec_versions()]


#: How a stop by signal is told.
_SAID = {StopReason.INTERRUPTED: "interrupted", StopReason.TERMINATED: "terminated (SIGTERM)"}


def _tally(job: Plan, options: Options) -> Tally:
    """Counts, and every entry on disk when the manifest, the gallery or the
    caller needs them."""
    keep = options.keep_entries or options.manifest or options.gallery
    return Tally(Spool([s.label for s in job.settings.sizes], digests=bool(options.gallery),
                       stream=bool(options.manifest)) if keep else None)


def _manifest(job: Plan, path: str, tally: Tally, seconds: float, pruned: Sequence[str],
              trouble: Trouble) -> None:
    """Write the manifest, unless the file there is the one a run before wrote
    (its size and mtime, as the state keeps them) and this run's would differ
    only in summary.seconds: then it is left as it is, seconds and all (an
    unchanged rerun of a million photos reads and writes no line)."""
    assert tally.spool is not None
    digest = manifest_digest(tally.spool, job.settings.output, pruned, job.collisions)
    where = store(path)
    local = digest is not None and where is LOCAL  # a store's file is always written
    key = where.canonical(path) if local else path
    if local:
        try:
            had = job.state.manifest(key)
        except StateError as e:
            trouble.met(e)
            had = None
        if had is not None and had[0] == digest:
            try:
                st = where.stat(path)
            except OSError:
                pass
            else:
                if (st.st_size, st.st_mtime_ns) == had[1:]:
                    return
    write_manifest(path, tally.spool, tally.counts, seconds, root=job.settings.output,
                   pruned=pruned, collisions=job.collisions, images=tally.sources)
    if local and digest is not None:
        try:
            st = where.stat(path)
        except OSError:
            return
        trouble.survive(functools.partial(job.state.keep_manifest, key, digest, st.st_size,
                                          st.st_mtime_ns))


def _listen(job: Plan, sources: Sequence[str], reporter: Reporter, tally: Tally) -> None:
    """What the walk finds besides tasks: up-to-date thumbnails and collisions."""
    add, tell = tally.add_one, reporter.skipped

    def skipped(entry: Entry) -> None:
        add(entry)
        tell(entry)

    job.on_skipped = skipped
    if not reporter.tells_skipped():
        job.on_whole = tally.add_whole
    job.on_later = tally.later
    job.on_collision = reporter.warning
    job.on_left = reporter.warning


def _after_walk(job: Plan, sources: Sequence[str], reporter: Reporter) -> None:
    if job.planned == 0:
        reporter.warning(f"no images found in {', '.join(sources)}")


def _dry_run(job: Plan, sources: Sequence[str], started: float, options: Options,
             reporter: Reporter) -> JobResult:
    tally = _tally(job, options)
    _listen(job, sources, reporter, tally)
    if options.check:  # the question is whether anything is to make: renames are no answer
        job.on_collision = None
    for task in job.stream():
        entries = []  # added together: each source counted once
        for target in task.targets:
            if target.format is Format.AUTO:
                ext = "{jpg,png,gif}" if task.settings.animated else "{jpg,png}"
            else:
                ext = extension(target.format)
            reporter.planned(f"{task.source} -> {target.stem}.{ext}")
            entries.append(_planned(task.source, target))
        for link in task.links:
            reporter.planned(f"{link.source} -> {link.target.stem}.* (a link: same file "
                             f"as {task.source})")
            entries.append(_planned(link.source, link.target))
        tally.add(entries)
    _after_walk(job, sources, reporter)
    refused = _guard(job, sources, options, reporter)
    pruned = prune(job, dry_run=True) if options.prune and refused is None else None
    for path in pruned or ():
        reporter.planned(f"prune: {path}")
    reporter.summary(summary_line(tally, time.monotonic() - started, dry_run=True,
                                  pruned=None if pruned is None else len(pruned),
                                  symlinks=job.walked.symlinks))
    out_of_date = None
    if options.check:
        out_of_date = tally.counts[Status.CREATED] + len(pruned or ())
        if out_of_date:
            reporter.problem(f"thumbnailer: Options.check: {out_of_date} thumbnail"
                             f"{'s are' if out_of_date != 1 else ' is'} missing, out of date "
                             "or stale")
    return JobResult(tally, time.monotonic() - started, pruned=pruned, prune_refused=refused,
                     out_of_date=out_of_date, known_failures=job.known, strict=options.strict)


def _guard(job: Plan, sources: Sequence[str], options: Options, reporter: Reporter
           ) -> str | None:
    """Why --prune must delete nothing this time (told), or None."""
    if not options.prune:
        return None
    refused = guard(job, sources, options.prune_limit)
    if refused is None:
        return None
    hint = f"; if that is what you want, run again with {refused.allow}" if refused.allow else ""
    reporter.problem(f"thumbnailer: Options.prune deleted nothing: {refused.reason}{hint}")
    return refused.reason


def _run(job: Plan, sources: Sequence[str], started: float, options: Options,
         reporter: Reporter, stop: Stop, batch: bool = False) -> JobResult:
    """The run of a plan; a ``batch`` (--watch's) tells no summary: its caller
    tells its own line."""
    tally = _tally(job, options)
    _listen(job, sources, reporter, tally)
    job.stop = stop  # the walk ends early too once the run is stopped
    if job.state.moved_aside is not None:
        reporter.warning(moved_aside(job.state.path, *job.state.moved_aside))
    summary = MarkdownReport() if options.report else None
    # The state cannot be written now (another process holds it, a full disk): the
    # run stops, what it made is kept, and recorded as far as the state takes it.
    trouble = Trouble(stop.set)

    def take(outcome: Outcome) -> None:
        try:
            entries = job.record(outcome)
        except StateError as e:
            trouble.met(e)
            entries = outcome.entries
        tally.add(entries)
        if summary is not None:
            summary.add(outcome)
        reporter.outcome(outcome)

    timeout = job.settings.timeout
    halt: str | None = None  # why the run cannot usefully go on (a full disk)
    tasks = job.stream()
    clock = None
    if options.deadline is not None:
        clock = Deadline(started + options.deadline, job.stop_walking)
        tasks = clock.newest_first(tasks)
    # The engine starts only when there is work: an unchanged rerun walks to the
    # end here and never starts a pool, let alone a cluster.
    first = next(tasks, None)
    try:
        with contextlib.ExitStack() as stack:
            if first is not None:
                # Pillow and the readers load only now: an unchanged rerun never needs them.
                from .render import failed_outcome, warm_up

                # As the module's attribute: a test's replacement, else __getattr__'s.
                render: Callable[[Task], Outcome] = sys.modules[__name__].render

                output = job.settings.output
                stack.enter_context(store(output).writing(output, _marker_folder(job.settings)))
                # Recorded before the running mark goes: its journal is the proof that
                # what was made is this tool's until the state holds it, so a state that
                # cannot be saved (StateError) keeps the mark, for the next run to read.
                stack.callback(job.save)
                found = stack.enter_context(engine(options.executor, options.workers,
                                                   options.scheduler))
                stack.enter_context(reporter.progress(None))
                results = run_tasks(render, _counted(first, tasks, reporter), found.slots,
                                    on_crash=failed_outcome,
                                    executor_factory=found.executor_factory,
                                    hard_timeout=timeout * 2 + 10 if timeout else None,
                                    batch_seconds=found.batch_seconds, stop=stop,
                                    warm_up=functools.partial(warm_up, job.settings),
                                    budget=_budget(job.settings, options, found.slots),
                                    # no task taken early, to start after the deadline
                                    read_ahead=clock is None)
                stack.enter_context(contextlib.closing(results))
                try:
                    # A signal only sets the flag here: run_tasks cancels what has not
                    # started and hands over what was running, and every result is recorded.
                    with stop.flag_only_within():
                        for outcome in results:
                            take(outcome)
                            if outcome.halt and halt is None:
                                halt = outcome.halt
                                stop.set(StopReason.HALTED)
                except KeyboardInterrupt:  # a second signal: stop waiting for running work
                    pass
                except StateError as e:  # the walk's, through run_tasks
                    trouble.met(e)
    except StateError as e:  # the state could not take the last records: the mark stays
        trouble.met(e)
    trouble.survive(job.save)
    if stop.reason in _SAID:
        said = StopReason(stop.reason)
        trouble.survive(job.close)
        reporter.problem(f"{_SAID[said]}: pending images cancelled; what was made "
                         "is kept, and the next run finishes the job")
        if trouble.line:
            reporter.problem(trouble.line)
        return JobResult(tally, time.monotonic() - started, said)
    if halt is not None:
        reporter.problem(f"stopping early: {halt}; the images not attempted are left for "
                         "the next run")
    elif not batch:
        _after_walk(job, sources, reporter)
    if clock is not None and clock.left:
        reporter.problem(f"Options.deadline reached: {clock.left:,} images not started, left for "
                         "the next run")
    pruned, refused = None, None
    if options.prune and not stop and job.finished:  # a complete walk knows the mirror
        try:
            refused = _guard(job, sources, options, reporter)
            pruned = prune(job) if refused is None else None
        except StateError as e:
            trouble.met(e)
        for path in pruned or ():
            reporter.pruned(path)
    trouble.survive(job.save)
    seconds = time.monotonic() - started
    if options.manifest and tally.spool is not None:
        _manifest(job, options.manifest, tally, seconds, pruned or (), trouble)
    if options.gallery and tally.spool is not None:
        from .outputs.gallery import write_gallery  # only when asked: html and urllib cost start-up

        left: list[str] = []
        # The folders that held pages (the state keeps them): one without thumbnails
        # now loses its pages only if the run saw the whole job (walked to the end,
        # nothing left for later, no SOURCE empty, as a disk that did not mount).
        try:
            had: set[str] | None = job.state.gallery_folders()
        except StateError as e:
            trouble.met(e)
            had = None
        complete = (had is not None and job.finished and not stop
                    and not (clock is not None and clock.left)
                    and all(job.walked.found[s] for s in sources))
        pages = set(had or ()) if complete else set()
        # Each folder's digest of its pages: those unchanged are not even rendered.
        digests: dict[str, bytes] | None = None
        if had is not None:
            try:
                digests = job.state.page_digests()
            except StateError as e:
                trouble.met(e)
        write_gallery(job.settings.output, tally.spool, f"Thumbnails of {', '.join(sources)}",
                      left, pages=pages, digests=digests)
        if had is not None:
            trouble.survive(functools.partial(job.state.keep_gallery_folders,
                                              pages if complete else pages | had))
        if digests is not None:
            trouble.survive(functools.partial(job.state.keep_page_digests, digests))
        for message in left:
            reporter.warning(message)
    trouble.survive(job.close)
    if trouble.line:
        reporter.problem(trouble.line)
    if summary is not None and options.report:
        text = summary.markdown(tally.counts, seconds, pruned, refused,
                                f"Thumbnails of {', '.join(sources)}", known=job.known,
                                images=images_counted(tally))
        if options.report_append:
            with open(options.report, "a", encoding="utf-8") as f:
                f.write(text + "\n")
        else:
            store(options.report).write(options.report, text.encode())
    if not batch:
        reporter.summary(summary_line(tally, seconds,
                                      pruned=None if pruned is None else len(pruned),
                                      symlinks=job.walked.symlinks))
    reason = (StopReason(stop.reason) if stop
              else StopReason.DEADLINE if clock is not None and clock.left else None)
    return JobResult(tally, seconds, reason, pruned, job.state.seconds, refused,
                     known_failures=job.known, repeated_failures=job.again,
                     strict=options.strict)


def _budget(settings: Settings, options: Options, slots: int) -> Budget[Task] | None:
    """--max-memory: admission by estimated cost when the worst case would not
    fit (else no header is read twice), and each local worker's address space."""
    from .read.cost import decode_cost, worst

    limit = options.max_memory if options.max_memory is not None else budget.default()
    if limit is None:
        return None
    admit = budget.needed(limit, worst(settings), slots)
    space = limit + budget.ADDRESS_SLACK if options.executor == "process" else None
    return Budget(limit if admit else None, decode_cost if admit else None, space)


def _counted(first: Task, rest: Iterator[Task], reporter: Reporter) -> Iterator[Task]:
    """The tasks, telling the reporter how many there were once the walk ends."""
    yield first
    count = 1
    for task in rest:
        count += 1
        yield task
    reporter.walked(count)


def _marker_folder(settings: Settings) -> str | None:
    """The desktop cache is shared: our run marker goes in our own fail folder."""
    if settings.xdg_cache:
        from .outputs.desktop.xdg import fail_folder

        return fail_folder(settings.output, __version__)
    return None


def _planned(source: str, target: Target) -> Entry:
    return Entry(source, target.size.label, Status.CREATED, target.stem, target.format.value)
