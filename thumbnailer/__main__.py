"""``python -m thumbnailer`` is the ``thumbnailer`` command."""

from .cli import main

main(prog_name="thumbnailer")
