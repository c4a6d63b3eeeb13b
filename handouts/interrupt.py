"""SIGTERM, SIGINT and SIGHUP stop a command cleanly: each is turned into an `Interrupted` exception, so that
every `finally` and `with` on the way out runs (temporary files, the worker processes, the lock), and the command
exits with 128 + the signal's number."""

from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Iterator

SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class Interrupted(BaseException):
    """A signal asked the command to stop. A BaseException, like KeyboardInterrupt: `except Exception` lets it by."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.note = ""           # what was done before it, for the one line the user sees

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


_received: int | None = None


def _raise(signum: int, frame: object) -> None:
    global _received
    if _received is not None:
        return          # a second signal while the first is being cleaned up after: the cleanup is bounded
    _received = signum
    raise Interrupted(signum)


@contextmanager
def raised() -> Iterator[None]:
    """Turn SIGTERM, SIGINT and SIGHUP into `Interrupted` inside the block. After one, later signals are ignored
    for the rest of the process (it is on its way out), so a second one neither hangs nor leaves a traceback."""
    global _received
    _received = None
    previous = {signum: signal.signal(signum, _raise) for signum in SIGNALS}
    try:
        yield
    except KeyboardInterrupt:
        # Something caught the signal's exception and raised KeyboardInterrupt instead (watchfiles does).
        raise Interrupted(_received or signal.SIGINT) from None
    finally:
        # After a signal the process is on its way out, and later ones are ignored by the kernel from here on:
        # while the interpreter shuts down Python puts back the default handlers, so a second SIGINT landing then
        # would end the process by the signal instead of with its exit code (CI saw it). signal.signal() runs any
        # signal still pending through `_raise` first, which drops it.
        for signum, handler in previous.items():
            signal.signal(signum, handler if _received is None else signal.SIG_IGN)
