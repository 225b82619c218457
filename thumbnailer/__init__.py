"""thumbnailer: fast, safe batch thumbnails.

The library API, for scripts that do not want the command line: one call runs a
whole job, lock, interrupts and all, as the command does::

    from thumbnailer import Options, Settings, Size, run_job

    result = run_job(["photos"], Settings(output="thumbs", sizes=(Size(256, 256),)),
                     Options(workers=2))
    print(result.tally.counts, result.exit_code)
"""

from ._version import __version__
from .geometry import fit_geometry
from .job import Options, cache_key, run_job
from .plan import Plan, plan
from .render import render
from .result import JobResult, Reporter
from .run import default_workers, run_tasks
from .spec import (
    Crop,
    Entry,
    FailOn,
    Fit,
    Format,
    Outcome,
    Settings,
    Size,
    Status,
    Target,
    Task,
)
from .units import parse_size

__all__ = [
    "Crop", "Entry", "FailOn", "Fit", "Format", "Outcome", "Plan", "Settings", "Size", "Status",
    "Target",
    "Task",
    "JobResult", "Options", "Reporter",
    "__version__", "cache_key", "default_workers", "fit_geometry", "parse_size", "plan",
    "render", "run_job", "run_tasks",
]
