"""One leader per follower job, across every process and machine sharing a store.

A follower job (the projections, the audit ledger's sealer, and later the reminder
schedule and the webhook dispatcher) should run in one process at a time: running it in
two stays correct (each job tracks its position in its own tables, which is what keeps
it exactly-once) but wastes work and contends on the same rows. So every process that
could run a job contends for it with `leader_job(settings, name, job)`:

- a daemon thread tries to take the job's lock (`ruswf.app.store.locks.leader_lock`)
  at once and then every `interval` seconds (1 s);
- the process that gets it runs `job(stop)` in a thread of its own until `stop` is set;
- every `interval` the leader checks that it still holds the lock (on PostgreSQL, a round
  trip on the lock's own connection). When the lock is lost (the connection died, the
  database restarted), it sets `stop` at once, waits for the job to return, and contends
  again; a standby takes over within about `interval` seconds of the lock being freed;
- `stop()` ends the job and gives the lock up, so a standby takes over at its next try.

`is_leader` says whether this process leads now; `current_leaders` in the locks module
says who leads, from any process.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import structlog

from ruswf.app.settings import Settings
from ruswf.app.store.locks import LeaderLock, leader_lock
from ruswf.app.threads import StoppableThread

log = structlog.get_logger("ruswf.leadership")

CONTEND_INTERVAL = 1.0
"""Seconds between tries for the lock (standbys) and checks that it is still held (the
leader): a dead leader is replaced within about this long once its lock is free."""
MAX_CONTEND_BACKOFF = 5.0

Job = Callable[[threading.Event], None]
"""A follower job: runs until the event it is given is set, then returns."""


class LeaderJob:
    """Run `job` in this process only while this process leads `name`."""

    def __init__(
        self, name: str, lock: LeaderLock, job: Job, *, interval: float = CONTEND_INTERVAL
    ) -> None:
        self.name = name
        self.interval = interval
        self._lock = lock
        self._job = job
        self._contending: StoppableThread | None = None
        self._job_run: StoppableThread | None = None
        self._leading = False
        self.since: datetime | None = None
        self.elections = 0
        """How many times this process became the leader (tests and logs)."""

    @property
    def is_leader(self) -> bool:
        """Whether this process holds the job's lock now (as of its last check)."""
        return self._leading

    @property
    def running(self) -> bool:
        """Whether this process is contending (or leading)."""
        return self._contending is not None and self._contending.is_alive()

    def start(self) -> None:
        """Start contending (idempotent)."""
        if self.running:
            return
        self._contending = StoppableThread(self._contend, f"ruswf-leader-{self.name}").start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the job (a batch in progress finishes first) and give the lock up."""
        if self._contending is not None:
            self._contending.stop(timeout)
            self._contending = None

    # -- the contending thread -------------------------------------------------------------

    def _contend(self, stop: threading.Event) -> None:
        failures = 0
        try:
            while not stop.is_set():
                try:
                    self._step()
                except Exception as error:  # the store's drivers raise many kinds
                    failures += 1
                    if self._leading:
                        self._lose("error")
                    if failures == 1 or failures % 30 == 0:
                        log.warning(
                            "leader_contend_failed",
                            job=self.name,
                            error=f"{type(error).__name__}: {error}".splitlines()[0],
                            failures=failures,
                        )
                    stop.wait(min(self.interval * failures, MAX_CONTEND_BACKOFF))
                    continue
                failures = 0
                stop.wait(self.interval)
        finally:
            self._stop_job(timeout=30.0)
            was_leading = self._leading
            self._leading = False
            self._lock.release()
            if was_leading:
                log.info("leader_released", job=self.name, pid=os.getpid())

    def _step(self) -> None:
        if self._leading:
            if not self._lock.held():
                self._lose("lock_lost")
            elif self._job_run is not None and not self._job_run.is_alive():
                log.warning("leader_job_exited", job=self.name)
                self._start_job()  # the job should run as long as we lead: run it again
            return
        if self._job_run is not None and self._job_run.is_alive():
            return  # the job of an earlier term is still finishing its batch
        if self._lock.try_acquire():
            self._leading = True
            self.since = datetime.now(UTC)
            self.elections += 1
            log.info("leader_elected", job=self.name, host=socket.gethostname(), pid=os.getpid())
            self._start_job()

    def _start_job(self) -> None:
        self._job_run = StoppableThread(self._job, f"ruswf-job-{self.name}").start()

    def _lose(self, reason: str) -> None:
        """The lock is gone: stop the job now; contend again once it has returned."""
        self._leading = False
        if self._job_run is not None:
            self._job_run.stopping.set()
        self._lock.release()
        log.warning("leader_lost", job=self.name, reason=reason, pid=os.getpid())

    def _stop_job(self, timeout: float) -> None:
        if self._job_run is not None:
            self._job_run.stop(timeout)
            self._job_run = None


def leader_job(
    settings: Settings, name: str, job: Job, *, interval: float = CONTEND_INTERVAL
) -> LeaderJob:
    """A `LeaderJob` contending for `name` on the store `settings` configure (not
    started: call `start()`)."""
    return LeaderJob(name, leader_lock(settings, name), job, interval=interval)


__all__: Sequence[str] = ("CONTEND_INTERVAL", "Job", "LeaderJob", "leader_job")
