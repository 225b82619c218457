"""Why a source cannot be thumbnailed, worded for a person: the error every
reader raises, and the words for whatever else is raised while making one."""

from __future__ import annotations

from ..errors import ThumbnailerError


class RenderError(ThumbnailerError):
    """A reason this image cannot be thumbnailed, already worded for a person."""


class StalePreview(RenderError):
    """An embedded preview selected for decoding turned out not to be the image's
    (draft.py, heif.py): the source is read again, its image itself decoded."""


def describe(exc: BaseException) -> str:
    """One line a person can act on, for any exception met while making a thumbnail."""
    if isinstance(exc, RenderError):
        return str(exc)
    if isinstance(exc, FileNotFoundError):
        return "the file disappeared before it could be read"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, MemoryError):
        return "out of memory while decoding"
    return f"unexpected error ({type(exc).__name__}: {exc})"


#: What may pass on its own: the file's permissions, a file that vanished, a
#: machine short of memory, a network that failed to read it.
_TRANSIENT = (PermissionError, FileNotFoundError, MemoryError, ConnectionError, TimeoutError)


def transient(exc: BaseException) -> bool:
    """Whether a failure may pass on its own, rather than being the file's (the
    failure ledger keeps only the file's): ``exc`` or what caused it."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, _TRANSIENT):
            return True
        cause = cause.__cause__
    return False
