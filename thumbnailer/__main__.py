"""``python -m thumbnailer`` is the ``thumbnailer`` command."""

from .cli import command

if __name__ == "__main__":  # not when a fork server's worker imports it
    command()
