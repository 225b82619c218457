"""The release, in one place: the package, the job's cache key and ``--version`` read it."""

__version__ = "2.0.0"
