"""The one way ruswf runs a job beside a process's main work: a daemon thread with its
own stop event (the reminder schedule, the webhook dispatcher, a leader's contending
loop and the follower job it leads)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Self

Loop = Callable[[threading.Event], None]
"""Runs until the event it is given is set, then returns."""


class StoppableThread:
    """A daemon thread running `loop(stop)`; `stop()` sets `stop` and waits for the loop
    to return (a batch in progress finishes first)."""

    def __init__(self, loop: Loop, name: str) -> None:
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=loop, args=(self.stopping,), name=name, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float) -> None:
        """Ask the loop to stop and wait up to `timeout` seconds for it to return."""
        self.stopping.set()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout)
