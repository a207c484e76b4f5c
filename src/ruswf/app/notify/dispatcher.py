"""Delivering the event log to webhook subscribers: an outbox read from the log itself.

Each subscription has a cursor (`position`, a notification id). A dispatcher leases a
subscription, reads the log after its cursor, and POSTs each event of a subscribed type,
one at a time, in log order; the cursor moves only once the subscriber answered 2xx, so
an event is never skipped while a subscriber is down or while ruswf restarts. A failure
(no answer, a timeout, a non-2xx status, a refused target) is retried with exponential
back-off and jitter (at least `Retry-After`, when the subscriber sent one), holding back
the events after it. A 410 Gone disables the subscription.

At least once: a process killed after the subscriber accepted an event and before the
cursor moved delivers that event again, with the same `webhook-id` (derived from the
event), so a receiver can drop the duplicate. Several processes can run dispatchers on one
store: the lease lets one deliver a subscription at a time; another takes over when the
lease (`RUSWF_WEBHOOK_LEASE_SECONDS`) of a dead one expires.
"""

from __future__ import annotations

import http.client
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from ruswf.app.notify.targets import Answer, TargetRefusedError, parse, post
from ruswf.app.notify.webhooks import (
    Attempt,
    Subscription,
    WebhookNotFoundError,
    WebhookStore,
    body,
    message_id,
    payload,
)
from ruswf.app.notify.webhooks import signature as sign
from ruswf.app.service import RusApp
from ruswf.app.store.recorders import GAP_GRACE_SECONDS
from ruswf.app.threads import StoppableThread
from ruswf.domain.initiative import Initiative

log = structlog.get_logger("ruswf.webhooks")

BATCH_SIZE = 100
POLL_INTERVAL = 0.1
FLUSH_EVERY = 50
FLUSH_SECONDS = 0.25
USER_AGENT = "ruswf-webhooks/1"


def is_initiative_event(event: object) -> bool:
    return isinstance(event, Initiative.Event | Initiative.Proposed)


class Dispatcher:
    """One dispatcher of a process. `run_once(now)` delivers what is due now."""

    def __init__(
        self,
        app: RusApp,
        store: WebhookStore,
        *,
        owner: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_workers: int = 4,
    ) -> None:
        self.app = app
        self.store = store
        settings = app.settings
        self.timeout = settings.webhook_timeout
        self.lease = timedelta(seconds=settings.webhook_lease_seconds)
        self.retry_base = settings.webhook_retry_base
        self.retry_max = settings.webhook_retry_max
        self.allow_private = settings.webhook_allow_private
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="ruswf-hook")
        self._busy: dict[str, Future[int]] = {}
        self.finished = threading.Event()
        """Set when a subscription's batch handled events (the runner polls again at once)."""

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def run_once(self, now: datetime | None = None, *, wait: bool = False) -> int:
        """Start delivering, for every subscription due at `now` and not being delivered
        already, the events after its cursor, each subscription in a thread of its own
        (so a slow receiver holds up only itself); returns how many events the batches
        that finished since the last call handled. `wait`: wait for this call's batches."""
        now = now or self._clock()
        handled = self._collect()
        due = [
            s
            for s in self.store.active()
            if (s.next_attempt_at is None or s.next_attempt_at <= now) and s.id not in self._busy
        ]
        if due:
            head = int(self.app.recorder.max_notification_id() or 0)
            for subscription in due:
                if subscription.position < head:
                    future = self._pool.submit(self._drive, subscription)
                    future.add_done_callback(self._finished)
                    self._busy[subscription.id] = future
        if wait:
            for future in list(self._busy.values()):
                future.result()
            handled += self._collect()
        return handled

    def _finished(self, future: Future[int]) -> None:
        if future.result():  # a batch that did nothing (a fresh gap) waits for the poll
            self.finished.set()

    def _collect(self) -> int:
        finished = [key for key, future in self._busy.items() if future.done()]
        return sum(self._busy.pop(key).result() for key in finished)

    # -- one subscription ------------------------------------------------------------------

    def _drive(self, subscription: Subscription) -> int:
        try:
            return self._deliver_batch(subscription)
        except Exception as error:  # a store error: logged, tried again at the next poll
            log.warning(
                "webhook_dispatch_failed",
                webhook=subscription.id,
                error=f"{type(error).__name__}: {error}".splitlines()[0],
            )
            return 0

    def _deliver_batch(self, subscription: Subscription) -> int:
        now = self._clock()
        if not self.store.lease(subscription.id, self.owner, now, now + self.lease):
            return 0
        try:
            return self._deliver_leased(subscription, now)
        finally:
            self.store.release(subscription.id, self.owner)

    def _deliver_leased(self, subscription: Subscription, now: datetime) -> int:
        try:  # read again under the lease: another process may have moved it on
            subscription = self.store.get(subscription.id)
        except WebhookNotFoundError:
            return 0
        waiting = subscription.next_attempt_at is not None and subscription.next_attempt_at > now
        if waiting or subscription.status != "active":
            return 0
        batch = _Batch(self, subscription)
        notifications = self.app.recorder.select_notifications(
            subscription.position + 1, BATCH_SIZE
        )
        previous = subscription.position
        for notification in notifications:
            event: Any = self.app.mapper.to_domain_event(notification)
            if notification.id != previous + 1 and (
                (self._clock() - event.timestamp).total_seconds() < GAP_GRACE_SECONDS
            ):
                break  # a fresh gap: maybe an insert not committed yet
            previous = notification.id
            if not is_initiative_event(event) or not subscription.wants(type(event).__name__):
                batch.skip(notification.id)
                continue
            if not batch.ready():
                break
            attempt = self._attempt(subscription, event, notification.id, batch.attempts)
            if not batch.add(attempt):
                break
        batch.flush()
        return batch.handled

    def _attempt(
        self, subscription: Subscription, event: Any, position: int, attempts: int
    ) -> Attempt:
        """POST the event at `position` (after `attempts` failed attempts)."""
        msg_id = message_id(event)
        data = body(payload(event, position))
        attempt = attempts + 1
        started = self._clock()
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(started.timestamp())),
            "webhook-signature": sign(subscription.secrets_at(started), msg_id, started, data),
        }
        answer: Answer | None = None
        error: str | None = None
        clock = time.monotonic()
        try:
            answer = post(
                parse(subscription.url),
                data.encode(),
                headers,
                timeout=self.timeout,
                allow_private=self.allow_private,
            )
        except TargetRefusedError as refused:
            error = f"target refused: {refused}"
        except (OSError, http.client.HTTPException) as failed:
            error = f"{type(failed).__name__}: {failed}".splitlines()[0]
        duration_ms = int((time.monotonic() - clock) * 1000)
        status = answer.status if answer is not None else None
        retry_at = None
        if status is not None and 200 <= status < 300:
            outcome = "delivered"
        elif status == 410:
            outcome = "gone"
            log.warning("webhook_gone", webhook=subscription.id, position=position)
        else:
            outcome = "failed"
            if status is not None and 300 <= status < 400:
                error = f"redirect to {answer.location if answer else None!r} not followed"
            elif status is not None:
                error = f"HTTP {status}"
            delay = self.backoff(attempt, answer.retry_after if answer is not None else None)
            retry_at = self._clock() + timedelta(seconds=delay)
            log.info(
                "webhook_delivery_failed",
                webhook=subscription.id,
                position=position,
                attempt=attempt,
                error=error,
                retry_in=round(delay, 2),
            )
        return Attempt(
            subscription.id,
            position,
            msg_id,
            type(event).__name__,
            attempt,
            started,
            status,
            outcome,
            error,
            duration_ms,
            retry_at,
        )

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before attempt `attempt + 1`: doubling from `retry_base` up to
        `retry_max`, with full jitter in its upper half; at least `Retry-After`."""
        ceiling = min(self.retry_max, self.retry_base * 2 ** min(attempt - 1, 30))
        delay = random.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            delay = max(delay, min(retry_after, 86_400.0))
        return delay


class _Batch:
    """One lease's deliveries to one subscriber, written in few transactions: the cursor
    and the delivery log are flushed every `FLUSH_EVERY` deliveries (or `FLUSH_SECONDS`),
    at a failure, and at the end. A process killed before a flush delivers those events
    again (same `webhook-id`s)."""

    def __init__(self, dispatcher: Dispatcher, subscription: Subscription) -> None:
        self.dispatcher = dispatcher
        self.subscription = subscription
        self.cursor = subscription.position  # as stored
        self.skipped_to = subscription.position
        self.attempts = subscription.attempts  # failed attempts of the next event
        self.pending: list[Attempt] = []
        self.handled = 0
        self.flushed_at = time.monotonic()
        self.held = True

    def skip(self, position: int) -> None:
        """An event this subscriber does not want: the cursor may pass it."""
        self.skipped_to = position
        self.handled += 1

    def ready(self) -> bool:
        """Before an attempt: the cursor passes the events skipped since the last
        delivery (so a failure that follows does not hold them), unless deliveries wait
        to be flushed (then it passes them with those). False when the cursor moved."""
        if self.skipped_to != self.cursor and not self.pending:
            self._advance_over_skipped()
        return self.held

    def add(self, attempt: Attempt) -> bool:
        """Record an attempt; False when the batch must stop (a failure, or the cursor
        moved under it)."""
        self.pending.append(attempt)
        if attempt.outcome != "delivered":
            self.flush()
            return False
        self.handled += 1
        self.attempts = 0
        if len(self.pending) >= FLUSH_EVERY or time.monotonic() - self.flushed_at > FLUSH_SECONDS:
            self.flush()
        return self.held

    def _advance_over_skipped(self) -> None:
        d = self.dispatcher
        self.held = d.store.advance(
            self.subscription.id, d.owner, self.cursor, self.skipped_to, d._clock() + d.lease
        )
        if self.held:
            self.cursor = self.skipped_to

    def flush(self) -> None:
        d = self.dispatcher
        if not self.held:
            return
        if self.pending:
            last_delivered = [a for a in self.pending if a.outcome == "delivered"]
            self.held = d.store.settle(self.pending, d.owner, self.cursor, d._clock() + d.lease)
            if self.held and last_delivered:
                self.cursor = last_delivered[-1].position
            if not self.held:
                log.info("webhook_cursor_moved", webhook=self.subscription.id)
            failed = self.pending[-1].outcome != "delivered"
            self.pending = []
            self.flushed_at = time.monotonic()
            if failed:  # postponed or disabled (and the lease given up): this batch is over
                self.held = False
                return
        if self.skipped_to > self.cursor:
            self._advance_over_skipped()


class DispatcherRunner:
    """Runs a dispatcher in a daemon thread until stopped. The dispatcher is made in the
    thread (`factory`), so a store that is down at start only delays it."""

    def __init__(
        self, factory: Callable[[], Dispatcher], *, interval: float = POLL_INTERVAL
    ) -> None:
        self.factory = factory
        self.interval = interval
        self.dispatcher: Dispatcher | None = None
        self._loop: StoppableThread | None = None

    def start(self) -> None:
        self._loop = StoppableThread(self._run, "ruswf-webhooks").start()

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                if self.dispatcher is None:
                    self.dispatcher = self.factory()
                    log.info("webhooks_dispatcher_started", owner=self.dispatcher.owner)
                handled = self.dispatcher.run_once()
            except Exception as error:  # the store may be down: try again later
                log.warning("webhooks_poll_failed", error=f"{type(error).__name__}: {error}")
                stop.wait(1.0)
                continue
            if not handled:
                self.dispatcher.finished.wait(self.interval)
                self.dispatcher.finished.clear()

    def stop(self, timeout: float = 15.0) -> None:
        if self._loop is not None:
            self._loop.stop(timeout)
            self._loop = None
        if self.dispatcher is not None:
            self.dispatcher.close()
