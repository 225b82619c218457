"""thumbnailer: fast, safe batch thumbnails.

The library API, for scripts that do not want the command line: one call runs a
whole job, lock, interrupts and all, as the command does::

    from thumbnailer import Options, Settings, Size, run_job

    result = run_job(["photos"], Settings(output="thumbs", sizes=(Size(256, 256),)),
                     Options(workers=2))
    for source, reason in result.failures:  # each broken file once
        print(source, reason)
    print(result.sources, result.exit_code)  # images by Status; tally.counts: thumbnails

The names below are the public API (docs/api.md); everything else, the
sub-modules included, is internal and may change in any release.
"""

from ._version import __version__
from .errors import JobError, ThumbnailerError
from .job import Options, run_job
from .plan.prune import Limit
from .plan.state.trouble import StateError
from .result import ExitCode, JobResult, Reporter
from .run.engines import EngineError
from .spec import Crop, Entry, FailOn, Fit, Format, Outcome, Settings, Size, Status, StopReason
from .storage.lock import Locked

__all__ = [
    # a whole run, and what it returns
    "run_job", "Settings", "Options", "Reporter", "JobResult", "ExitCode", "StopReason",
    # the values Settings and Options take
    "Size", "Fit", "Crop", "Format", "FailOn", "Limit",
    # what a run hands back: JobResult.tally's entries, the Reporter's outcomes
    "Entry", "Outcome", "Status",
    # the errors
    "ThumbnailerError", "JobError", "Locked", "EngineError", "StateError",
    "__version__",
]
