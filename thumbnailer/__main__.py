"""``python -m thumbnailer`` is the ``thumbnailer`` command."""

from .cli import main

if __name__ == "__main__":  # not when a fork server's worker imports it
    main(prog_name="thumbnailer")
