"""SIGINT and SIGTERM for the command line.

Outside a sync both end the command at once (``Interrupted``, exit 130 or 143, as a shell reports a
process killed by that signal). During a sync's writes they only ask it to stop: the write under way
finishes, nothing more is written, and the partial report is still printed.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

HANDLED = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """SIGINT or SIGTERM ended the command (a BaseException, like KeyboardInterrupt: no ``except
    Exception`` on the way swallows it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def raising() -> Iterator[None]:
    """Within: SIGINT and SIGTERM raise Interrupted in the main thread."""
    with _handling(_raise):
        yield


class StopRequest:
    """Set by the first SIGINT or SIGTERM while a sync writes; :meth:`may_write` answers False from then on."""

    def __init__(self) -> None:
        self.signum = 0
        self._event = threading.Event()

    def may_write(self) -> bool:
        return not self._event.is_set()

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if not self.signum:
            self.signum = signum
        self._event.set()

    @property
    def exit_code(self) -> int:
        return 128 + self.signum if self.signum else 0

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""


@contextlib.contextmanager
def deferred() -> Iterator[StopRequest]:
    """Within: SIGINT and SIGTERM set the StopRequest instead of raising."""
    stop = StopRequest()
    with _handling(stop):
        yield stop


@contextlib.contextmanager
def _handling(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """``handler`` for SIGINT and SIGTERM within, the previous handlers after. Only the main thread
    may set handlers: elsewhere (a test's worker thread) signals are left as they are."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, handler) for signum in HANDLED}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
