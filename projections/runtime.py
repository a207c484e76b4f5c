"""Running the projections: catching up with the application's notification log,
rebuilding, status, the embedded runner of `ruswf serve` and the worker of
`ruswf projections run`.

Pull, not push: both stores are followed by polling the notification log (every 0.05 s
by default). SQLite has no subscription, and on PostgreSQL polling needs no LISTEN
connection that can die unnoticed: a failed poll is logged, retried with back-off, and
the connection pool reconnects. Each poll reads the log once for all projections and
applies each projection's part of the batch in that projection's own transaction.

Two follower jobs follow the log: `projections` (every read model) and `ledger` (the audit
ledger's sealer). Every process that runs them (`ruswf serve`, each of its `--workers`,
`ruswf projections run`) contends for each job (`ruswf.app.store.leadership`): one process
leads and runs it, the others stand by and take over when it dies. The tracking tables
keep it exactly-once whoever applies an event; leadership only saves the wasted work.

Notification ids can have gaps (a rolled-back insert uses up its id). A gap right after
a projection's position may instead be an insert that has not committed yet, so an event
after a gap is only applied once it is `gap_grace` seconds old; older gaps are gaps.
"""

from __future__ import annotations

import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from eventsourcing.persistence import PersistenceError, Tracking
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

from projections.annual_cycle import AnnualCycle
from projections.audit_trail import AuditTrail
from projections.base import ReadModel
from projections.board import Board
from projections.lessons import Lessons
from projections.meetings import Meetings
from projections.obligations import Obligations
from projections.queries import Queries
from projections.store import PositionMovedError, PostgresView, SQLiteView, View, ViewSpec
from ruswf.app.audit.ledger import Ledger
from ruswf.app.service import RusApp
from ruswf.app.store.leadership import CONTEND_INTERVAL, leader_job
from ruswf.app.store.recorders import GAP_GRACE_SECONDS
from ruswf.domain.errors import ValidationError

log = structlog.get_logger("ruswf.projections")

READ_MODELS: tuple[type[ReadModel], ...] = (
    AuditTrail,
    Board,
    Meetings,
    AnnualCycle,
    Obligations,
    Lessons,
)
NAMES = tuple(model.name for model in READ_MODELS)

POLL_INTERVAL = 0.05  # seconds between polls: keeps commit-to-view lag low (bench `lag`)
BATCH_SIZE = 500
REBUILD_BATCH_SIZE = 5000
SCRATCH_THRESHOLD = 10_000
"""A projection starting from nothing with at least this many events to apply is built in
a scratch database first (PostgreSQL only; see `Projections.rebuild`)."""
MAX_BACKOFF_SECONDS = 30.0

Progress = Callable[[int, int], None]


class ProjectionError(Exception):
    """The projections cannot run on this application's store."""


def make_view(app: RusApp, spec: ViewSpec) -> View:
    """The view of `spec` on the application's own store (sharing its connection pool)."""
    recorder = app.recorder
    if isinstance(recorder, SQLiteApplicationRecorder):
        return SQLiteView(recorder.datastore, spec, app.name)
    if isinstance(recorder, PostgresApplicationRecorder):
        return PostgresView(recorder.datastore, spec, app.name)
    msg = f"projections need the SQLite or PostgreSQL store, not {type(recorder).__name__}"
    raise ProjectionError(msg)


class Projections(Queries):
    """Every read model of the application, on the application's store."""

    def __init__(
        self,
        app: RusApp,
        *,
        batch_size: int = BATCH_SIZE,
        gap_grace: float = GAP_GRACE_SECONDS,
        scratch_threshold: int = SCRATCH_THRESHOLD,
    ) -> None:
        """Open the views on `app`'s store, creating (or, on a new schema version,
        recreating) their tables."""
        self.app = app
        self.strategy = app.strategy
        self.batch_size = batch_size
        self.gap_grace = gap_grace
        self.scratch_threshold = scratch_threshold
        self._settled: set[str] = set()  # projections known not to start from nothing
        # The newest position seen per projection (read or applied here). A position
        # only moves forward (a rebuild in this process forgets it; one in another
        # process builds the views itself), so a poll whose head none of them is
        # behind needs no query of the positions.
        self._reached: dict[str, int] = {}
        self.models: dict[str, ReadModel] = {}
        for model_class in READ_MODELS:
            view = make_view(app, model_class.spec(app.strategy))
            view.create_table()
            self.models[model_class.name] = model_class(view, app.strategy)
        self._lock = threading.RLock()
        self._closed = False
        # The audit ledger follows the same log beside the projections (docs/audit.md).
        self.ledger = Ledger(app, batch_size=batch_size, gap_grace=gap_grace)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.models)

    # -- following the log ---------------------------------------------------------------

    def catch_up(
        self,
        names: Iterable[str] | None = None,
        progress: Progress | None = None,
        *,
        wait: float | None = None,
    ) -> int:
        """Apply every new event to the projections (all, or `names`); returns how many
        notifications of the log were applied.

        One catch-up runs at a time in a process. With `wait`, give up (returning 0)
        when another one has not finished within `wait` seconds: the API's reads wait
        for a normal poll (milliseconds) but not for a long catch-up (a first build of a
        large store), and answer from the views as they are.

        On PostgreSQL, projections that start from nothing (a new store's first start
        with history, or a new schema version) while `scratch_threshold` or more events
        wait are built in a scratch database first (see `rebuild`)."""
        chosen = self._chosen(names)
        if not self._lock.acquire(timeout=-1 if wait is None else wait):
            log.info("projections_catch_up_busy", waited=wait)
            return 0
        try:
            applied = 0
            unsettled = [name for name in chosen if name not in self._settled]
            if unsettled and self._builds_in_scratch:
                # Only the first catch-up of each projection can start from nothing: a
                # PostgreSQL rebuild never moves a position back to 0.
                positions = self._positions()
                fresh = [name for name in unsettled if positions.get(name, 0) == 0]
                if fresh and self.head() >= self.scratch_threshold:
                    applied = self._build_in_scratch(fresh, progress)
                self._settled.update(unsettled)
            return applied + self._follow(chosen, progress, self.batch_size)
        finally:
            self._lock.release()

    def rebuild(self, name: str | None = None, progress: Progress | None = None) -> None:
        """Build one projection (or all) again from the whole log.

        On PostgreSQL the projections are built in a scratch SQLite file (statements in
        the process instead of round trips to the server) and swapped in, one
        transaction per projection: readers see the old tables until then. On SQLite
        they are emptied and built in place, in large batches."""
        names = self._chosen(None if name is None else [name])
        with self._lock:
            log.info("projections_rebuilding", projections=list(names), head=self.head())
            if self._builds_in_scratch:
                self._build_in_scratch(names, progress)
            else:
                for chosen in names:
                    self.models[chosen].view.reset()
                    self._reached.pop(chosen, None)
            self._follow(names, progress, REBUILD_BATCH_SIZE)

    def status(self) -> list[dict[str, Any]]:
        """Per projection: name, schema version, position, head of the log and lag (the
        head minus the position: ids can have gaps, so an upper bound of the events behind)."""
        head = self.head()
        positions = self._positions()
        return [
            {
                "name": name,
                "version": model.version,
                "position": positions.get(name, 0),
                "head": head,
                "lag": max(head - positions.get(name, 0), 0),
            }
            for name, model in self.models.items()
        ]

    def head(self) -> int:
        """The notification id of the newest event in the log (0: none)."""
        return int(self.app.recorder.max_notification_id() or 0)

    def close(self) -> None:
        """Stop using the store (the views share the application's connections, which the
        application closes)."""
        self._closed = True

    # -- internals -------------------------------------------------------------------------

    @property
    def _builds_in_scratch(self) -> bool:
        return isinstance(self.app.recorder, PostgresApplicationRecorder)

    def _follow(self, chosen: Sequence[str], progress: Progress | None, batch_size: int) -> int:
        """Apply the log to `chosen` from each one's position, batch by batch, each
        projection's part of a batch in its own transaction."""
        applied = 0
        while True:
            head = self.head()
            if all(self._reached.get(name, 0) >= head for name in chosen):
                break
            positions = self._positions()
            self._reached.update(positions)
            behind = {name: positions.get(name, 0) for name in chosen}
            behind = {name: p for name, p in behind.items() if p < head}
            if not behind:
                break
            batch = self._read(min(behind.values()), batch_size)
            if not batch:
                break  # only a fresh gap ahead: look again at the next poll
            applied_here: set[int] = set()
            for name, position in behind.items():
                part = [item for item in batch if item[1].notification_id > position]
                if not part:
                    continue
                try:
                    positions[name] = self.models[name].process_batch(part, position)
                    self._reached[name] = positions[name]
                except PositionMovedError as moved:
                    # Another runner got there first (or a rebuild reset it).
                    log.debug("projection_position_moved", projection=name, found=moved.found)
                    continue
                applied_here.update(tracking.notification_id for _, tracking in part)
            applied += len(applied_here)
            if progress is not None:
                progress(min(positions.get(name, 0) for name in chosen), head)
        return applied

    def _build_in_scratch(self, names: Sequence[str], progress: Progress | None) -> int:
        """Build `names` from the whole log in a scratch SQLite database, then replace
        their tables with the result; returns how many notifications were applied.

        The scratch file lives in the temporary directory (`TMPDIR`) and is removed
        afterwards; the log is read in batches, so memory does not grow with it."""
        with tempfile.TemporaryDirectory(prefix="ruswf-rebuild-") as directory:
            datastore = SQLiteDatastore(str(Path(directory) / "projections.db"))
            try:
                scratch: dict[str, ReadModel] = {}
                with _scratch_errors(directory):
                    for name in names:
                        model = self.models[name]
                        view = SQLiteView(datastore, model.view.spec, self.app.name)
                        view.create_table()
                        scratch[name] = type(model)(view, self.strategy)
                head = self.head()
                position = applied = 0
                while batch := self._read(position, REBUILD_BATCH_SIZE):
                    with _scratch_errors(directory):
                        for model in scratch.values():
                            model.process_batch(batch, position)
                    position = batch[-1][1].notification_id
                    applied += len(batch)
                    if progress is not None:
                        progress(position, head)
                for name, model in scratch.items():
                    target = self.models[name].view
                    assert isinstance(target, PostgresView)
                    assert isinstance(model.view, SQLiteView)
                    target.replace_from(model.view, position)
            finally:
                datastore.close()
        log.info("projections_built_in_scratch", projections=list(names), position=position)
        return applied

    def _chosen(self, names: Iterable[str] | None) -> tuple[str, ...]:
        if self._closed:
            msg = "the projections are closed"
            raise ProjectionError(msg)
        if names is None:
            return self.names
        chosen = tuple(names)
        for name in chosen:
            if name not in self.models:
                known = ", ".join(self.models)
                raise ValidationError("name", f"unknown projection {name!r} (known: {known})")
        return chosen

    def _positions(self) -> dict[str, int]:
        return next(iter(self.models.values())).view.positions()

    def _read(self, position: int, limit: int) -> list[tuple[Any, Tracking]]:
        """Up to `limit` events after `position`, decoded, stopping at a fresh gap."""
        notifications = self.app.recorder.select_notifications(position + 1, limit)
        now = datetime.now(UTC)
        batch: list[tuple[Any, Tracking]] = []
        previous = position
        for notification in notifications:
            event: Any = self.app.mapper.to_domain_event(notification)
            if notification.id != previous + 1 and (
                (now - event.timestamp).total_seconds() < self.gap_grace
            ):
                log.debug("projection_gap_wait", after=previous, next=notification.id)
                break
            batch.append((event, Tracking(self.app.name, notification.id)))
            previous = notification.id
        return batch


@contextmanager
def _scratch_errors(directory: str) -> Iterator[None]:
    """Errors of the scratch database as a `ProjectionError` that says where it was and
    what it needs (the usual one: no room left in the temporary directory)."""
    try:
        yield
    except (PersistenceError, sqlite3.Error) as error:
        msg = (
            f"the rebuild's scratch database in {directory} failed: {error}"
            " (it needs about 1 GB per million events: point TMPDIR at a disk with room)"
        )
        raise ProjectionError(msg) from error


def _backoff(interval: float, failures: int) -> float:
    """Seconds to wait after `failures` failures in a row: doubling, at most 30 s."""
    return float(min(interval * 2**failures, MAX_BACKOFF_SECONDS))


def _first_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".splitlines()[0]


def follow(
    projections: Projections, stop: threading.Event, interval: float = POLL_INTERVAL
) -> None:
    """Catch up the projections and seal the ledger every `interval` seconds, in this
    thread, until `stop` is set; errors are logged and retried with exponential back-off,
    so a lost connection or a restarted database only delays them."""

    def step() -> None:
        _log_applied(projections.catch_up(), projections.ledger.seal())

    _poll(step, stop, interval, "projections_catch_up_failed", "projections_recovered")


def follow_projections(
    projections: Projections, stop: threading.Event, interval: float = POLL_INTERVAL
) -> None:
    """The `projections` follower job: catch up every `interval` seconds until `stop`."""

    def step() -> None:
        _log_applied(projections.catch_up(), 0)

    _poll(step, stop, interval, "projections_catch_up_failed", "projections_recovered")


def follow_ledger(
    projections: Projections, stop: threading.Event, interval: float = POLL_INTERVAL
) -> None:
    """The `ledger` follower job: seal new events every `interval` seconds until `stop`."""

    def step() -> None:
        _log_applied(0, projections.ledger.seal())

    _poll(step, stop, interval, "ledger_seal_failed", "ledger_recovered")


def _log_applied(applied: int, sealed: int) -> None:
    if applied:
        log.info("projections_applied", events=applied)
    if sealed:
        log.info("ledger_sealed", events=sealed)


def _poll(
    step: Callable[[], None], stop: threading.Event, interval: float, failed: str, recovered: str
) -> None:
    failures = 0
    while not stop.is_set():
        try:
            step()
        except Exception as error:
            failures += 1
            delay = _backoff(interval, failures)
            log.warning(
                failed, error=_first_line(error), failures=failures, retry_in=round(delay, 2)
            )
            stop.wait(delay)
            continue
        if failures:
            log.info(recovered, failures=failures)
            failures = 0
        stop.wait(interval)


FOLLOWER_JOBS: dict[str, Callable[[Projections, threading.Event, float], None]] = {
    "projections": follow_projections,
    "ledger": follow_ledger,
}
"""The follower jobs over the event log, each led by one process of all those sharing the
store (`ruswf.app.store.leadership`)."""


def _job(
    run: Callable[[Projections, threading.Event, float], None],
    projections: Projections,
    interval: float,
) -> Callable[[threading.Event], None]:
    def job(stop: threading.Event) -> None:
        run(projections, stop, interval)

    return job


class Followers:
    """This process's bid to run the follower jobs (`FOLLOWER_JOBS`): each runs here only
    while this process leads it, among every `ruswf serve` and `ruswf projections run`
    sharing the store; the others stand by and take over when the leader dies."""

    def __init__(
        self,
        projections: Projections,
        *,
        interval: float = POLL_INTERVAL,
        contend_interval: float = CONTEND_INTERVAL,
    ) -> None:
        self.projections = projections
        self.interval = interval
        settings = projections.app.settings
        self.jobs = {
            name: leader_job(
                settings,
                name,
                _job(run, projections, interval),
                interval=contend_interval,
            )
            for name, run in FOLLOWER_JOBS.items()
        }

    @property
    def running(self) -> bool:
        return any(job.running for job in self.jobs.values())

    def leading(self) -> list[str]:
        """The jobs this process leads now."""
        return [name for name, job in self.jobs.items() if job.is_leader]

    def start(self) -> None:
        """Start contending for every job (idempotent)."""
        for job in self.jobs.values():
            job.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the jobs led here (a batch in progress commits first) and give their locks up."""
        for job in self.jobs.values():
            job.stop(timeout)


class EmbeddedRunner(Followers):
    """The follower jobs in daemon threads of the serving process (SQLite needs no second
    process); with several processes on one store only the leader of each job runs it."""

    def start(self) -> None:
        """Start following (idempotent)."""
        if self.running:
            return
        super().start()
        log.info("projections_embedded_started", interval=self.interval)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop following and wait for the threads (a batch in progress commits first)."""
        super().stop(timeout)
        log.info("projections_embedded_stopped")


def run_worker(
    app: RusApp,
    stop: threading.Event,
    *,
    interval: float = POLL_INTERVAL,
    batch_size: int = BATCH_SIZE,
    contend_interval: float = CONTEND_INTERVAL,
) -> None:
    """The worker of `ruswf projections run`: open the projections (retrying while the
    store is unreachable), then lead or stand by for each follower job until `stop` is set."""
    projections: Projections | None = None
    failures = 0
    while projections is None and not stop.is_set():
        try:
            projections = Projections(app, batch_size=batch_size)
        except Exception as error:
            failures += 1
            delay = _backoff(interval, failures)
            log.warning(
                "projections_open_failed", error=_first_line(error), retry_in=round(delay, 2)
            )
            stop.wait(delay)
    if projections is None:
        return
    log.info("projection_worker_started", backend=app.settings.backend, status=projections.status())
    followers = Followers(projections, interval=interval, contend_interval=contend_interval)
    followers.start()
    try:
        stop.wait()
    finally:
        followers.stop()
        projections.close()
        log.info("projection_worker_stopped")
