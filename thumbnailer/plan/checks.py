"""What makes a job impossible, found before anything is touched: a bad name
template, an output folder that holds a source, a SOURCE that is not there, an
output that cannot be written, an option whose extra is not installed: each a
JobError naming the setting at fault, which the command line tells as a usage
error (exit 2)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence

from .. import storage
from ..errors import JobError
from ..spec import Crop, Settings
from .names import check_template


def check_output(arguments: Sequence[str], output: str) -> None:
    """Refuse an output root that holds a source: thumbnails could overwrite originals."""
    out = _canonical(output)
    for arg in arguments:
        src = _canonical(arg)
        if src == out or src.startswith(out.rstrip("/" + os.sep) + _sep(out)):
            raise JobError(
                f"the output folder {output!r} contains the source {arg!r}: "
                "thumbnails could overwrite originals; choose another Settings.output",
                setting="output",
            )


def _canonical(path: str) -> str:
    return storage.store(path).canonical(path)


def _sep(path: str) -> str:
    return storage.store(path).sep


def check_side_files(arguments: Sequence[str], manifest: str | None, report: str | None
                     ) -> None:
    """Refuse a --manifest or --report path that is a photo (a SOURCE, or an image
    in a SOURCE folder), and a --manifest path that holds a file this tool did not
    write: neither is ever written over."""
    from .sources import is_image_name  # only when a side file is asked for

    for option, path in (("manifest", manifest), ("report", report)):
        if path is None:
            continue
        real = _canonical(path)
        for arg in arguments:
            src = _canonical(arg)
            if real == src or (real.startswith(src.rstrip(_sep(arg)) + _sep(arg))
                               and is_image_name(real.rpartition(_sep(arg))[2])):
                raise JobError(f"Options.{option} {path!r} is a photo in SOURCE {arg!r}: "
                               "choose another path", setting=option)
    if manifest is None:
        return
    where = storage.store(manifest)
    try:
        head = where.head(manifest, len(MANIFEST_HEAD)) if where.is_file(manifest) else None
    except OSError:
        return  # unreadable: the write will say why it cannot be made
    if head is not None and head != MANIFEST_HEAD:
        raise JobError(f"Options.manifest {manifest!r} is a file thumbnailer did not write: "
                       "it is never written over; choose another path", setting="manifest")


#: How every manifest this tool writes begins (report.write_manifest).
MANIFEST_HEAD = b'{\n  "version": '


def check_sources(arguments: Sequence[str]) -> None:
    """Every SOURCE must name something that is there."""
    for arg in arguments:
        try:
            found = storage.store(arg).exists(arg)
        except OSError as e:  # no fsspec, unknown protocol, unreachable store
            raise JobError(f"SOURCE {arg!r}: {e}") from None
        if not found:
            raise JobError(f"SOURCE {arg!r} does not exist")


def check(arguments: Sequence[str], settings: Settings) -> None:
    """Everything that makes a job impossible, found before anything is touched."""
    check_template(settings.name_template, settings.sizes)
    if settings.placeholders and importlib.util.find_spec("blurhash") is None:
        raise JobError("Settings.placeholders needs the optional extra: "
                       "pip install 'thumbnailer[placeholders]'", setting="placeholders")
    if settings.crop is Crop.FACES and importlib.util.find_spec("cv2") is None:
        raise JobError(f"Settings.crop={settings.crop.value} needs the optional extra: "
                       "pip install 'thumbnailer[faces]'", setting="crop")
    check_output(arguments, settings.output)
    check_sources(arguments)
    try:
        storage.check(settings.output)
    except OSError as e:
        raise JobError(f"Settings.output {settings.output!r}: {e}", setting="output") from None
