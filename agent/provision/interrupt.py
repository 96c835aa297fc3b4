"""Ctrl-C while resources are created or deleted: stop starting new operations, let the ones in flight finish.

This is how the Pulumi CLI treats SIGINT during `pulumi up`/`destroy` ("^C received; cancelling. If you would like
to terminate immediately, press ^C again.": the operations in flight complete and are recorded in the state, nothing
new starts, the stack's lock is released; a second ^C exits at once). The sandbox runs the program under Pulumi's
mocks inside labctl, where the default KeyboardInterrupt lands in the SDK's asyncio loop (an asyncio traceback) while
its worker threads go on registering resources; `graceful_interrupt` gives it the CLI's behaviour instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator


class Stop:
    """Set by the first Ctrl-C; the work in progress asks `requested` before starting each new operation and counts
    the operations it has started (`operation()`), so the caller can wait for those in flight (`wait_idle`)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._idle = threading.Condition()
        self._in_flight = 0

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def request(self) -> None:
        self._event.set()

    @contextlib.contextmanager
    def operation(self) -> Iterator[None]:
        """One resource operation; raises `Stopped` instead of starting it once a stop is requested."""
        with self._idle:
            if self._event.is_set():
                raise Stopped()
            self._in_flight += 1
        try:
            yield
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def wait_idle(self) -> None:
        """Until every operation started before the stop has ended (each has its own retry deadline)."""
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0)


class Stopped(Exception):
    """An operation not started because Ctrl-C asked to stop."""

    def __str__(self) -> str:
        return "not started: Ctrl-C asked labctl to stop"


@contextlib.contextmanager
def graceful_interrupt(on_first: Callable[[], None], on_second: Callable[[], None]) -> Iterator[Stop]:
    """While the block runs, the first SIGINT requests a stop (`on_first` says so) and the second ends the process
    at once with exit code 130 after `on_second` (what may be half-done, how to resume). Outside the main thread,
    where Python cannot take signals, the block runs with the process's own handling."""
    stop = Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handle(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
        if not stop.requested:
            stop.request()
            on_first()
            return
        on_second()
        sys.stderr.flush()
        # Worker threads may be blocked in a service call that will not return soon; exiting the interpreter would
        # wait for them. The state written so far is what the next `up`/`down` starts from.
        os._exit(130)

    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)
