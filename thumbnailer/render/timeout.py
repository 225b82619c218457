"""The time limit of one source (the settings' ``timeout``)."""

from __future__ import annotations

import signal
import threading

from ..read.errors import RenderError


class time_limit:
    """Stop this image after ``seconds``: SIGALRM raises RenderError in the middle
    of the work. Pillow decodes in a Python loop over chunks, so the alarm lands
    between chunks rather than waiting for the whole decode. Signals only reach the
    main thread, so elsewhere (the thread engine, Dask's worker threads) this does
    nothing, and nothing else limits the image there either. On the process pool,
    workers.py's hard limit is the backstop for work stuck where no alarm can land."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds or 0.0
        self.armed = (
            bool(seconds)
            and hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()
        )

    def __enter__(self) -> None:
        if self.armed:
            self.previous = signal.signal(signal.SIGALRM, self._expire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc: object) -> None:
        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)

    def _expire(self, signum: int, frame: object) -> None:
        raise RenderError(f"took longer than {self.seconds:g} s (Settings.timeout)")
