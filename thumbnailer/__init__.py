"""thumbnailer: fast, safe batch thumbnails.

The library API, for scripts that do not want the command line::

    from thumbnailer import Settings, Size, plan, render

    job = plan(["photos"], Settings(output="thumbs", sizes=(Size(256, 256),)))
    for task in job.tasks:
        outcome = render(task)
"""

__version__ = "1.1.0"

from .geometry import fit_geometry
from .plan import Plan, plan
from .render import render
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
    parse_size,
)

__all__ = [
    "Crop", "Entry", "FailOn", "Fit", "Format", "Outcome", "Plan", "Settings", "Size", "Status",
    "Target",
    "Task",
    "__version__", "default_workers", "fit_geometry", "parse_size", "plan", "render", "run_tasks",
]
